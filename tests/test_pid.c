// SPDX-License-Identifier: MIT
/*
 * The pid subsystem's semantic tests: every body runs once per strategy of
 * ks_pid_strategies() (the cmocka array is built at run time, so a strategy
 * added later inherits every test). Bodies about the kernel's numbering
 * (shared/research/pid.md section 7, measured on Linux 6.18) apply to the
 * strategies flagged KS_PID_KERNEL_NUMBERING and are skipped for the others,
 * whose order is documented with them. Every test ends with the leak oracle.
 */
#include "ks_test.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- fixture --------------------------------------------------------------- */

struct fx {
	struct ks_test_env e;
	const char *strategy;
	unsigned int flags;
	struct ks_pid_space *s;
	struct ks_pid_ns *root;
};

#define TOPO_2CPU "synthetic:core:2 pu:1"

static void fx_init_opts(struct fx *f, void **state, const char *topo, int pid_max)
{
	struct ks_pid_opts o = { 0 };

	memset(f, 0, sizeof(*f));
	f->strategy = *state;
	f->flags = (unsigned int)ks_pid_strategy_flags(f->strategy);
	ks_test_env_init(&f->e, topo);
	o.topo = f->e.topo;
	o.locks = f->e.locks;
	o.mem = f->e.mem;
	o.pid_max = pid_max;
	assert_int_equal(ks_pid_space_create(f->strategy, &o, &f->s), 0);
	assert_int_equal(ks_pid_ns_root(f->s, &f->root), 0);
}

static void fx_init(struct fx *f, void **state)
{
	fx_init_opts(f, state, TOPO_2CPU, 0);
}

static void fx_fini(struct fx *f)
{
	assert_int_equal(ks_pid_space_destroy(f->s), 0);
	ks_test_env_fini(&f->e);
}

static bool kernel_numbering(const struct fx *f)
{
	return f->flags & KS_PID_KERNEL_NUMBERING;
}

/* Allocate in @ns; return the innermost number or -errno. */
static int alloc_nr(struct ks_pid_ns *ns, struct ks_pid **out)
{
	struct ks_pid *pid = NULL;
	int err = ks_pid_alloc(ns, NULL, 0, 0, &pid);

	if (err)
		return err;
	if (out)
		*out = pid;
	return ks_pid_nr_ns(pid, ns);
}

/* "fork and reap": allocate, free, return the number. */
static int fork_nr(struct ks_pid_ns *ns)
{
	struct ks_pid *pid = NULL;
	int nr = alloc_nr(ns, &pid);

	if (nr > 0)
		assert_int_equal(ks_pid_free(pid), 0);
	return nr;
}

static int tid_alloc(struct ks_pid_ns *ns, const int *tids, size_t n, struct ks_pid **out)
{
	struct ks_pid *pid = NULL;
	int err = ks_pid_alloc(ns, tids, n, KS_PID_ALLOC_PRIVILEGED, &pid);

	if (err)
		return err;
	if (out)
		*out = pid;
	return ks_pid_nr_ns(pid, ns);
}

/* A child of @parent with its init (pid 1) allocated. */
static struct ks_pid_ns *child_with_init(struct ks_pid_ns *parent, struct ks_pid **init)
{
	struct ks_pid_ns *ns;

	assert_int_equal(ks_pid_ns_create(parent, &ns), 0);
	assert_int_equal(alloc_nr(ns, init), 1);
	return ns;
}

static bool visible(struct ks_pid_ns *ns, int nr, struct ks_pid *want)
{
	struct ks_pid *p = NULL;
	int err;

	ks_rcu_read_lock();
	err = ks_pid_lookup(ns, nr, &p);
	ks_rcu_read_unlock();
	if (err)
		return false;
	if (want)
		assert_ptr_equal(p, want);
	return true;
}

/* Live (published) pids of @ns, by a find_ge walk. */
static int count_live(struct ks_pid_ns *ns)
{
	int n = 0, nr = 0, got;

	ks_rcu_read_lock();
	while ((got = ks_pid_find_ge(ns, nr, NULL)) > 0) {
		n++;
		nr = got + 1;
	}
	ks_rcu_read_unlock();
	return n;
}

static int64_t live(const struct fx *f)
{
	struct ks_pid_stats st;

	assert_int_equal(ks_pid_stats(f->s, &st), 0);
	return st.live;
}

/* ---- strategy-independent rules ------------------------------------------ */

static void test_strategies(void **state)
{
	const struct ks_strategy_info *info;
	size_t n = 0;

	info = ks_pid_strategies(&n);
	assert_non_null(info);
	assert_true(n >= 1);
	for (size_t i = 0; i < n; i++) {
		assert_non_null(info[i].summary);
		assert_non_null(info[i].source);
		assert_true(ks_pid_strategy_flags(info[i].name) >= 0);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(info[i].name, info[j].name);
	}
	assert_int_equal(ks_pid_strategy_flags(NULL), -EINVAL);
	assert_int_equal(ks_pid_strategy_flags("no-such"), -ENOENT);
	assert_non_null(ks_pid_strategies(NULL));
	/* a space of each strategy comes and goes without a trace */
	{
		struct fx f;

		fx_init(&f, state);
		fx_fini(&f);
	}
}

static void test_bad_input(void **state)
{
	struct ks_pid_opts o = { 0 };
	struct ks_pid_space *s2;
	struct ks_pid_ns *ns = NULL;
	struct ks_pid *pid = NULL;
	struct ks_pid_stats st;
	struct fx f;
	int tids[KS_PID_MAX_LEVEL + 1] = { 1 };

	fx_init(&f, state);
	assert_int_equal(ks_pid_space_create(NULL, NULL, &s2), -EINVAL);
	assert_int_equal(ks_pid_space_create(f.strategy, NULL, NULL), -EINVAL);
	assert_int_equal(ks_pid_space_create("no-such", NULL, &s2), -ENOENT);
	o.topo = f.e.topo;
	o.mem = f.e.mem;
	o.locks = f.e.locks;
	o.nr_cpus = -1;
	assert_int_equal(ks_pid_space_create(f.strategy, &o, &s2), -EINVAL);
	o.nr_cpus = KS_MAX_CPUS + 1;
	assert_int_equal(ks_pid_space_create(f.strategy, &o, &s2), -EINVAL);
	o.nr_cpus = 0;
	o.pid_max = 300;
	assert_int_equal(ks_pid_space_create(f.strategy, &o, &s2), -EINVAL);
	o.pid_max = KS_PID_MAX_LIMIT + 1;
	assert_int_equal(ks_pid_space_create(f.strategy, &o, &s2), -EINVAL);
	assert_int_equal(ks_pid_space_destroy(NULL), -EINVAL);
	assert_null(ks_pid_space_strategy(NULL));
	assert_string_equal(ks_pid_space_strategy(f.s), f.strategy);
	assert_int_equal(ks_pid_stats(NULL, &st), -EINVAL);
	assert_int_equal(ks_pid_stats(f.s, NULL), -EINVAL);
	assert_int_equal(ks_pid_ns_root(NULL, &ns), -EINVAL);
	assert_int_equal(ks_pid_ns_root(f.s, NULL), -EINVAL);
	assert_int_equal(ks_pid_ns_create(NULL, &ns), -EINVAL);
	assert_int_equal(ks_pid_ns_create(f.root, NULL), -EINVAL);
	assert_int_equal(ks_pid_ns_level(NULL), -EINVAL);
	assert_int_equal(ks_pid_ns_parent(NULL, &ns), -EINVAL);
	assert_int_equal(ks_pid_ns_parent(f.root, &ns), -ENOENT);
	assert_int_equal(ks_pid_ns_pid_max(NULL), -EINVAL);
	assert_int_equal(ks_pid_ns_set_pid_max(NULL, 1000), -EINVAL);
	assert_int_equal(ks_pid_ns_pid_max_bounds(NULL, NULL, NULL), -EINVAL);
	assert_int_equal(ks_pid_ns_last_pid(NULL), -EINVAL);
	assert_int_equal(ks_pid_ns_set_last_pid(NULL, 5, true), -EINVAL);
	assert_int_equal(ks_pid_ns_disable(NULL), -EINVAL);
	assert_int_equal(ks_pid_alloc(NULL, NULL, 0, 0, &pid), -EINVAL);
	assert_int_equal(ks_pid_alloc(f.root, NULL, 0, 0, NULL), -EINVAL);
	assert_int_equal(ks_pid_alloc(f.root, NULL, 0, 0x80, &pid), -EINVAL);
	/* clone3's set_tid misuse: NULL with a size, a size of 0, > 32 */
	assert_int_equal(ks_pid_alloc(f.root, NULL, 1, KS_PID_ALLOC_PRIVILEGED, &pid), -EINVAL);
	assert_int_equal(ks_pid_alloc(f.root, tids, 0, KS_PID_ALLOC_PRIVILEGED, &pid), -EINVAL);
	assert_int_equal(ks_pid_alloc(f.root, tids, 33, KS_PID_ALLOC_PRIVILEGED, &pid), -EINVAL);
	/* more entries than levels */
	assert_int_equal(ks_pid_alloc(f.root, tids, 2, KS_PID_ALLOC_PRIVILEGED, &pid), -EINVAL);
	assert_int_equal(ks_pid_publish(NULL), -EINVAL);
	assert_int_equal(ks_pid_free(NULL), -EINVAL);
	assert_int_equal(ks_pid_get(NULL), -EINVAL);
	assert_int_equal(ks_pid_put(NULL), -EINVAL);
	assert_int_equal(ks_pid_lookup(NULL, 1, &pid), -EINVAL);
	assert_int_equal(ks_pid_lookup(f.root, 0, &pid), -EINVAL);
	assert_int_equal(ks_pid_lookup(f.root, 1, NULL), -EINVAL);
	assert_int_equal(ks_pid_lookup_get(NULL, 1, &pid), -EINVAL);
	assert_int_equal(ks_pid_lookup_get(f.root, -3, &pid), -EINVAL);
	assert_int_equal(ks_pid_find_ge(NULL, 1, NULL), -EINVAL);
	assert_int_equal(ks_pid_find_ge(f.root, -1, NULL), -EINVAL);
	/* readers must be inside a read-side section */
	assert_int_equal(ks_pid_lookup(f.root, 1, &pid), -EPERM);
	assert_int_equal(ks_pid_find_ge(f.root, 1, NULL), -EPERM);
	assert_int_equal(ks_pid_nr_ns(NULL, f.root), -EINVAL);
	assert_int_equal(ks_pid_level(NULL), -EINVAL);
	assert_int_equal(ks_pid_ns_of(NULL, &ns), -EINVAL);
	assert_int_equal(alloc_nr(f.root, &pid), 1);
	assert_int_equal(ks_pid_nr_ns(pid, NULL), -EINVAL);
	assert_int_equal(ks_pid_ns_of(pid, NULL), -EINVAL);
	assert_int_equal(ks_pid_free(pid), 0);
	fx_fini(&f);
}

static void test_pid_max_bounds(void **state)
{
	for (size_t t = 0; t < ks_test_nr_topologies; t++) {
		struct ks_pid_ns *child;
		struct fx f;
		int cpus, def, min, max;

		fx_init_opts(&f, state, ks_test_topologies[t], 0);
		cpus = ks_topo_nr_cpus(f.e.topo);
		def = 1024 * cpus > 32768 ? 1024 * cpus : 32768;
		min = 8 * cpus > 301 ? 8 * cpus : 301;
		assert_int_equal(ks_pid_ns_pid_max(f.root), def);
		assert_int_equal(ks_pid_ns_pid_max_bounds(f.s, &min, &max), 0);
		assert_int_equal(min, 8 * cpus > 301 ? 8 * cpus : 301);
		assert_int_equal(max, KS_PID_MAX_LIMIT);
		assert_int_equal(ks_pid_ns_set_pid_max(f.root, min - 1), -EINVAL);
		assert_int_equal(ks_pid_ns_set_pid_max(f.root, min), 0);
		assert_int_equal(ks_pid_ns_pid_max(f.root), min);
		assert_int_equal(ks_pid_ns_set_pid_max(f.root, KS_PID_MAX_LIMIT), 0);
		assert_int_equal(ks_pid_ns_set_pid_max(f.root, KS_PID_MAX_LIMIT + 1), -EINVAL);
		assert_int_equal(ks_pid_ns_set_pid_max(f.root, 32768), 0);
		/* a new namespace starts at PID_MAX_LIMIT, not its parent's value */
		assert_int_equal(ks_pid_ns_create(f.root, &child), 0);
		assert_int_equal(ks_pid_ns_pid_max(child), KS_PID_MAX_LIMIT);
		fx_fini(&f);
	}
	/* opts.nr_cpus overrides the topology's count */
	{
		struct ks_pid_opts o = { .nr_cpus = 256 };
		struct ks_test_env e;
		struct ks_pid_space *s;
		struct ks_pid_ns *root;
		int min;

		ks_test_env_init(&e, TOPO_2CPU);
		o.topo = e.topo;
		o.mem = e.mem;
		o.locks = e.locks;
		assert_int_equal(ks_pid_space_create(*state, &o, &s), 0);
		ks_pid_ns_root(s, &root);
		assert_int_equal(ks_pid_ns_pid_max(root), 262144);
		ks_pid_ns_pid_max_bounds(s, &min, NULL);
		assert_int_equal(min, 2048);
		assert_int_equal(ks_pid_space_destroy(s), 0);
		ks_test_env_fini(&e);
	}
	/* NULL options: private topology/lockstat/mem owned by the space */
	{
		struct ks_pid_space *s;

		assert_int_equal(ks_pid_space_create(*state, NULL, &s), 0);
		assert_int_equal(ks_pid_space_destroy(s), 0);
	}
}

static void test_levels(void **state)
{
	struct ks_pid_ns *ns[KS_PID_MAX_LEVEL + 1], *extra, *other, *parent;
	struct ks_pid *pid = NULL, *inits[KS_PID_MAX_LEVEL + 1] = { 0 };
	struct fx f;

	fx_init(&f, state);
	ns[0] = f.root;
	assert_int_equal(alloc_nr(f.root, &inits[0]), 1);
	for (int l = 1; l <= KS_PID_MAX_LEVEL; l++) {
		assert_int_equal(ks_pid_ns_create(ns[l - 1], &ns[l]), 0);
		assert_int_equal(ks_pid_ns_level(ns[l]), l);
		assert_int_equal(ks_pid_ns_parent(ns[l], &parent), 0);
		assert_ptr_equal(parent, ns[l - 1]);
		/* the first pid of every namespace is 1 */
		assert_int_equal(alloc_nr(ns[l], &inits[l]), 1);
	}
	/* level 33 does not exist */
	assert_int_equal(ks_pid_ns_create(ns[KS_PID_MAX_LEVEL], &extra), -ENOSPC);
	assert_int_equal(alloc_nr(ns[KS_PID_MAX_LEVEL], &pid), 2);
	assert_int_equal(ks_pid_level(pid), KS_PID_MAX_LEVEL);
	for (int l = 0; l <= KS_PID_MAX_LEVEL; l++) {
		int nr = ks_pid_nr_ns(pid, ns[l]);

		assert_true(nr > 0);
		assert_true(visible(ns[l], nr, pid));
	}
	/* numbers innermost..root: level l's init has l + 1 at the root */
	assert_int_equal(ks_pid_nr_ns(inits[5], f.root), 6);
	/* a namespace the pid is not in */
	assert_int_equal(ks_pid_ns_create(f.root, &other), 0);
	assert_int_equal(ks_pid_nr_ns(pid, other), 0);
	assert_int_equal(ks_pid_nr_ns(inits[0], ns[1]), 0);
	assert_int_equal(ks_pid_ns_of(pid, &parent), 0);
	assert_ptr_equal(parent, ns[KS_PID_MAX_LEVEL]);
	/* set_tid at the deepest level: at most 32 entries (clone3) */
	{
		int tids[KS_PID_MAX_LEVEL + 1];

		for (int i = 0; i <= KS_PID_MAX_LEVEL; i++)
			tids[i] = 700;
		assert_int_equal(tid_alloc(ns[KS_PID_MAX_LEVEL], tids, 33, NULL), -EINVAL);
		assert_int_equal(tid_alloc(ns[KS_PID_MAX_LEVEL], tids, 32, &pid), 700);
		assert_int_equal(ks_pid_nr_ns(pid, ns[1]), 700);
		assert_true(ks_pid_nr_ns(pid, f.root) > 0);
		assert_int_equal(ks_pid_free(pid), 0);
	}
	fx_fini(&f);
}

static void test_unique_lookup_find_ge(void **state)
{
	enum { N = 700 };
	struct ks_pid *pids[N];
	struct ks_pid_ns *ns;
	struct ks_pid *init = NULL, *p = NULL;
	static char seen[KS_PID_MAX_LIMIT / 8];
	struct fx f;
	int nr, prev;

	fx_init(&f, state);
	ns = child_with_init(f.root, &init);
	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < N; i++) {
		nr = alloc_nr(ns, &pids[i]);
		assert_true(nr > 1 && nr < KS_PID_MAX_LIMIT);
		assert_false(seen[nr / 8] & (1 << (nr % 8)));
		seen[nr / 8] |= 1 << (nr % 8);
		assert_true(visible(ns, nr, pids[i]));
		assert_true(visible(f.root, ks_pid_nr_ns(pids[i], f.root), pids[i]));
	}
	/* free every other one: gone from every level at once */
	for (int i = 0; i < N; i += 2) {
		int inner = ks_pid_nr_ns(pids[i], ns), outer = ks_pid_nr_ns(pids[i], f.root);

		assert_int_equal(ks_pid_free(pids[i]), 0);
		assert_false(visible(ns, inner, NULL));
		assert_false(visible(f.root, outer, NULL));
		seen[inner / 8] &= ~(1 << (inner % 8));
	}
	/* find_ge walks exactly the live numbers, ascending */
	ks_rcu_read_lock();
	prev = 0;
	for (nr = 0;; nr++) {
		int got = ks_pid_find_ge(ns, nr, &p);

		if (got == -ENOENT)
			break;
		assert_true(got >= nr && got > prev);
		assert_true(seen[got / 8] & (1 << (got % 8)) || got == 1);
		assert_int_equal(ks_pid_nr_ns(p, ns), got);
		for (int k = prev + 1; k < got; k++)
			assert_false(k != 1 && (seen[k / 8] & (1 << (k % 8))));
		prev = got;
		nr = got;
	}
	assert_int_equal(ks_pid_find_ge(ns, KS_PID_MAX_LIMIT + 5, NULL), -ENOENT);
	ks_rcu_read_unlock();
	/* lookup_get takes a reference */
	assert_int_equal(ks_pid_lookup_get(ns, ks_pid_nr_ns(pids[1], ns), &p), 0);
	assert_ptr_equal(p, pids[1]);
	assert_int_equal(ks_pid_put(p), 0);
	assert_int_equal(ks_pid_lookup_get(ns, 999999, &p), -ENOENT);
	assert_int_equal(live(&f), N / 2 + 1);
	fx_fini(&f); /* frees what is live */
}

static void test_publish_window(void **state)
{
	struct ks_pid *pid = NULL, *p = NULL;
	struct fx f;
	int nr;

	fx_init(&f, state);
	assert_int_equal(alloc_nr(f.root, NULL), 1);
	assert_int_equal(ks_pid_alloc(f.root, NULL, 0, KS_PID_ALLOC_NOPUBLISH, &pid), 0);
	nr = ks_pid_nr_ns(pid, f.root);
	assert_true(nr > 1);
	/* a placeholder: invisible to lookup and find_ge */
	assert_false(visible(f.root, nr, NULL));
	ks_rcu_read_lock();
	assert_int_equal(ks_pid_find_ge(f.root, nr, NULL), -ENOENT);
	ks_rcu_read_unlock();
	assert_int_equal(ks_pid_publish(pid), 0);
	assert_true(visible(f.root, nr, pid));
	ks_rcu_read_lock();
	assert_int_equal(ks_pid_find_ge(f.root, 2, &p), nr);
	ks_rcu_read_unlock();
	assert_ptr_equal(p, pid);
	assert_int_equal(ks_pid_publish(pid), -EINVAL); /* published already */
	assert_int_equal(ks_pid_free(pid), 0);
	/* an unpublished pid can be freed: its number is released */
	assert_int_equal(ks_pid_alloc(f.root, NULL, 0, KS_PID_ALLOC_NOPUBLISH, &pid), 0);
	nr = ks_pid_nr_ns(pid, f.root);
	assert_int_equal(ks_pid_get(pid), 0);
	assert_int_equal(ks_pid_free(pid), 0);
	assert_int_equal(ks_pid_publish(pid), -EINVAL); /* freed */
	assert_int_equal(ks_pid_free(pid), -ENOENT);
	assert_int_equal(ks_pid_put(pid), 0);
	if (kernel_numbering(&f)) {
		assert_int_equal(ks_pid_ns_set_last_pid(f.root, nr - 1, true), 0);
		assert_int_equal(fork_nr(f.root), nr);
	}
	assert_int_equal(live(&f), 1);
	/* an unpublished pid keeps the space: destroy refuses, then works */
	assert_int_equal(ks_pid_alloc(f.root, NULL, 0, KS_PID_ALLOC_NOPUBLISH, &pid), 0);
	assert_int_equal(ks_pid_space_destroy(f.s), -EBUSY);
	assert_int_equal(ks_pid_free(pid), 0);
	fx_fini(&f);
}

static void test_set_tid(void **state)
{
	struct ks_pid_ns *ns, *fresh, *fresh2;
	struct ks_pid *init = NULL, *pid = NULL, *a = NULL, *b = NULL;
	struct fx f;
	int t[2];

	fx_init(&f, state);
	ns = child_with_init(f.root, &init);
	assert_int_equal(ks_pid_ns_set_pid_max(ns, 400), 0);
	/* free number below pid_max: granted */
	t[0] = 250;
	assert_int_equal(tid_alloc(ns, t, 1, &a), 250);
	/* taken: EEXIST (and for the last valid number too) */
	assert_int_equal(tid_alloc(ns, t, 1, NULL), -EEXIST);
	t[0] = 399;
	assert_int_equal(tid_alloc(ns, t, 1, &b), 399);
	assert_int_equal(tid_alloc(ns, t, 1, NULL), -EEXIST);
	/* out of range */
	t[0] = 0;
	assert_int_equal(tid_alloc(ns, t, 1, NULL), -EINVAL);
	t[0] = 400;
	assert_int_equal(tid_alloc(ns, t, 1, NULL), -EINVAL);
	t[0] = -5;
	assert_int_equal(tid_alloc(ns, t, 1, NULL), -EINVAL);
	/* more entries than levels */
	{
		int t3[3] = { 260, 261, 262 };

		assert_int_equal(tid_alloc(ns, t3, 3, NULL), -EINVAL);
	}
	/* no privilege */
	t[0] = 260;
	assert_int_equal(ks_pid_alloc(ns, t, 1, 0, &pid), -EPERM);
	/* tid{252, outer 1 (live)} -> EEXIST, and 252 is not leaked */
	t[0] = 252;
	t[1] = 1;
	assert_int_equal(tid_alloc(ns, t, 2, NULL), -EEXIST);
	assert_false(visible(ns, 252, NULL));
	assert_int_equal(tid_alloc(ns, t, 1, &pid), 252);
	assert_int_equal(ks_pid_free(pid), 0);
	/* a namespace without init accepts only 1 */
	assert_int_equal(ks_pid_ns_create(f.root, &fresh), 0);
	t[0] = 5;
	assert_int_equal(tid_alloc(fresh, t, 1, NULL), -EINVAL);
	/* tid{1, 777}: inner 1, outer 777 */
	t[0] = 1;
	t[1] = 777;
	assert_int_equal(tid_alloc(fresh, t, 2, &pid), 1);
	assert_int_equal(ks_pid_nr_ns(pid, f.root), 777);
	t[0] = 7; /* with init alive: fine */
	assert_int_equal(tid_alloc(fresh, t, 1, NULL), 7);
	/* tid{1, outer 1 (live)} -> EEXIST; next plain fork is pid 1 inside */
	assert_int_equal(ks_pid_ns_create(f.root, &fresh2), 0);
	t[0] = 1;
	t[1] = 1;
	assert_int_equal(tid_alloc(fresh2, t, 2, NULL), -EEXIST);
	assert_int_equal(alloc_nr(fresh2, NULL), 1);
	if (kernel_numbering(&f))
		assert_int_equal(ks_pid_ns_last_pid(ns), 1); /* set_tid moves no cursor */
	fx_fini(&f);
}

static void test_last_pid_rw(void **state)
{
	struct ks_pid_ns *ns;
	struct ks_pid *init = NULL;
	struct fx f;
	int max;

	fx_init(&f, state);
	ns = child_with_init(f.root, &init);
	max = ks_pid_ns_pid_max(ns);
	assert_int_equal(ks_pid_ns_set_last_pid(ns, 5, false), -EPERM);
	assert_int_equal(ks_pid_ns_set_last_pid(ns, -1, true), -EINVAL);
	assert_int_equal(ks_pid_ns_set_last_pid(ns, max + 1, true), -EINVAL);
	assert_int_equal(ks_pid_ns_set_last_pid(ns, max, true), 0);
	assert_int_equal(ks_pid_ns_set_last_pid(ns, 0, true), 0);
	assert_int_equal(ks_pid_ns_set_last_pid(ns, 99, true), 0);
	if (kernel_numbering(&f)) {
		assert_int_equal(ks_pid_ns_last_pid(ns), 99);
		assert_int_equal(fork_nr(ns), 100);
		assert_int_equal(ks_pid_ns_last_pid(ns), 100);
	}
	fx_fini(&f);
}

static void test_exhaustion(void **state)
{
	struct ks_pid **held = NULL;
	struct ks_pid_ns *ns;
	struct ks_pid *init = NULL, *pid = NULL;
	struct fx f;
	int n = 0, nr, max = 400;

	fx_init(&f, state);
	ns = child_with_init(f.root, &init);
	assert_int_equal(ks_pid_ns_set_pid_max(ns, max), 0);
	held = calloc(max, sizeof(*held));
	assert_non_null(held);
	/* hold everything the strategy hands out until -EAGAIN */
	while ((nr = alloc_nr(ns, &pid)) > 0) {
		assert_true(nr < max);
		assert_true(n < max);
		held[n++] = pid;
	}
	assert_int_equal(nr, -EAGAIN);
	assert_int_equal(alloc_nr(ns, NULL), -EAGAIN); /* stays exhausted */
	assert_true(n >= 100);                          /* 300..399 at least */
	/* one freed number >= 300 comes back (the cursor has passed 300) */
	{
		int k = n - 1;

		while (k > 0 && ks_pid_nr_ns(held[k], ns) < KS_PID_RESERVED)
			k--;
		nr = ks_pid_nr_ns(held[k], ns);
		assert_true(nr >= KS_PID_RESERVED);
		assert_int_equal(ks_pid_free(held[k]), 0);
		assert_int_equal(alloc_nr(ns, &held[k]), nr);
	}
	assert_int_equal(alloc_nr(ns, NULL), -EAGAIN);
	/* the outer namespace is not exhausted */
	assert_true(alloc_nr(f.root, NULL) > 0);
	for (int i = 0; i < n; i++)
		assert_int_equal(ks_pid_free(held[i]), 0);
	free(held);
	fx_fini(&f);
}

static void test_dead_init(void **state)
{
	struct ks_pid_ns *ns, *ns2;
	struct ks_pid *init = NULL, *a = NULL, *init2 = NULL;
	struct ks_pid_stats before, after;
	struct fx f;
	int t[1] = { 1 };

	fx_init(&f, state);
	ns = child_with_init(f.root, &init);
	assert_true(alloc_nr(ns, &a) > 1);
	/* init exits: the namespace refuses new pids with -ENOMEM */
	assert_int_equal(ks_pid_free(init), 0);
	ks_pid_stats(f.s, &before);
	assert_int_equal(alloc_nr(ns, NULL), -ENOMEM);
	assert_int_equal(tid_alloc(ns, t, 1, NULL), -ENOMEM);
	ks_pid_stats(f.s, &after);
	assert_int_equal(after.live, before.live);
	assert_int_equal(after.pid_objs, before.pid_objs);
	/* nothing left behind: only @a is live, at both levels */
	assert_int_equal(count_live(f.root), 1);
	assert_int_equal(count_live(ns), 1);
	/* live pids stay */
	assert_true(visible(ns, ks_pid_nr_ns(a, ns), a));
	/* disable without init dying */
	ns2 = child_with_init(f.root, &init2);
	assert_int_equal(ks_pid_ns_disable(ns2), 0);
	assert_int_equal(alloc_nr(ns2, NULL), -ENOMEM);
	/* the deferred publication refuses too, and releases its numbers */
	{
		struct ks_pid_ns *ns3;
		struct ks_pid *init3 = NULL, *p = NULL;

		ns3 = child_with_init(f.root, &init3);
		assert_int_equal(ks_pid_alloc(ns3, NULL, 0, KS_PID_ALLOC_NOPUBLISH, &p), 0);
		assert_int_equal(ks_pid_ns_disable(ns3), 0);
		assert_int_equal(ks_pid_publish(p), -ENOMEM);
		assert_int_equal(ks_pid_free(init3), 0);
	}
	fx_fini(&f);
}

static void test_lower_pid_max(void **state)
{
	struct ks_pid_ns *ns;
	struct ks_pid *init = NULL, *pid = NULL;
	struct fx f;
	int t[1] = { 5001 };

	fx_init(&f, state);
	ns = child_with_init(f.root, &init);
	assert_int_equal(tid_alloc(ns, t, 1, &pid), 5001);
	assert_int_equal(ks_pid_ns_set_pid_max(ns, 400), 0);
	assert_true(visible(ns, 5001, pid));
	assert_true(alloc_nr(ns, NULL) < 400);
	assert_int_equal(ks_pid_free(pid), 0);
	assert_false(visible(ns, 5001, NULL));
	fx_fini(&f);
}

static void test_refcount_rcu(void **state)
{
	struct ks_pid_stats st;
	struct ks_pid *pid = NULL;
	struct fx f;

	fx_init(&f, state);
	assert_int_equal(alloc_nr(f.root, &pid), 1);
	assert_int_equal(ks_pid_get(pid), 0);
	assert_int_equal(ks_pid_free(pid), 0);
	/* double free: an error, nothing changes */
	assert_int_equal(ks_pid_free(pid), -ENOENT);
	ks_rcu_barrier();
	/* our reference keeps the memory: the numbers are still readable */
	assert_int_equal(ks_pid_nr_ns(pid, f.root), 1);
	ks_pid_stats(f.s, &st);
	assert_int_equal(st.pid_objs, 1);
	assert_int_equal(st.live, 0);
	/* destroy refuses while a struct pid is referenced */
	assert_int_equal(ks_pid_space_destroy(f.s), -EBUSY);
	assert_int_equal(ks_pid_put(pid), 0);
	ks_pid_stats(f.s, &st);
	assert_int_equal(st.pid_objs, 0);
	assert_int_equal(st.allocs, 1);
	assert_int_equal(st.frees, 1);
	assert_true(st.bytes > 0);
	assert_int_equal(st.nr_namespaces, 1);
	/* free inside a read-side section: the pid stays valid until its end */
	assert_true(alloc_nr(f.root, &pid) > 0);
	ks_rcu_read_lock();
	assert_int_equal(ks_pid_free(pid), 0);
	assert_int_equal(ks_pid_free(pid), -ENOENT);
	assert_true(ks_pid_nr_ns(pid, f.root) > 0);
	ks_rcu_read_unlock();
	fx_fini(&f);
}

static void *unregistered_thread(void *arg)
{
	struct ks_pid_ns *ns = arg;
	struct ks_pid *pid = NULL;
	long err = ks_pid_alloc(ns, NULL, 0, 0, &pid);

	return (void *)err;
}

static void test_unregistered_thread(void **state)
{
	pthread_t th;
	void *ret;
	struct fx f;

	fx_init(&f, state);
	assert_int_equal(pthread_create(&th, NULL, unregistered_thread, f.root), 0);
	pthread_join(th, &ret);
	assert_int_equal((long)ret, -EPERM);
	assert_int_equal(live(&f), 0);
	fx_fini(&f);
}

/*
 * Fault injection: fail the n-th allocation of an allocation at depth 2 for
 * every n until one succeeds; each failure is -ENOMEM with nothing left
 * behind, and the next allocation works.
 */
static void test_enomem_paths(void **state)
{
	struct ks_pid_ns *l1, *l2, *l3;
	struct ks_pid *i1 = NULL, *i2 = NULL, *pid = NULL;
	struct ks_pid_stats st0, st;
	struct fx f;
	int n, err, nomem = 0;

	/*
	 * mode 0/1: fail the n-th / every allocation from the n-th on; on CPU
	 * 0, whose idr_preload() pool the fixture filled, and on CPU 1, whose
	 * pool is empty, so that radix node allocation fails under the lock.
	 */
	for (int mode = 0; mode < 4; mode++) {
		for (n = 1; n < 40; n++) {
			ks_cpu_set_current(0);
			fx_init(&f, state);
			l1 = child_with_init(f.root, &i1);
			l2 = child_with_init(l1, &i2);
			/* a fresh namespace: its first pid needs new tree nodes */
			assert_int_equal(ks_pid_ns_create(l2, &l3), 0);
			ks_pid_stats(f.s, &st0);
			ks_cpu_set_current(mode / 2);
			if (mode % 2)
				ks_mem_fail_every(f.e.mem, n);
			else
				ks_mem_fail_nth(f.e.mem, n);
			err = ks_pid_alloc(l3, NULL, 0, 0, &pid);
			ks_mem_fail_nth(f.e.mem, 0);
			ks_mem_fail_every(f.e.mem, 0);
			ks_cpu_set_current(0);
			if (err) {
				nomem++;
				assert_int_equal(err, -ENOMEM);
				ks_pid_stats(f.s, &st);
				assert_int_equal(st.live, st0.live);
				assert_int_equal(st.pid_objs, st0.pid_objs);
				assert_int_equal(count_live(l3), 0);
				assert_int_equal(count_live(l2), 1);
				assert_int_equal(count_live(l1), 2);
				assert_int_equal(count_live(f.root), 2);
				/*
				 * Works again, and the namespace's first pid is
				 * still 1 (6.18 resets the cursor of a namespace
				 * whose first fork failed), whatever CPU the
				 * failed attempt ran on (here CPU mode / 2, the
				 * retry on CPU 0).
				 */
				err = alloc_nr(l3, &pid);
				if (err != 1)
					fail_msg("first pid of a namespace after its first fork "
						 "failed on CPU %d: %d, not 1", mode / 2, err);
			}
			fx_fini(&f);
		}
	}
	assert_true(nomem >= 2);
	ks_cpu_set_current(-1);
	/* namespace and space creation under failure */
	for (n = 1; n < 16; n++) {
		struct ks_pid_opts o = { 0 };
		struct ks_pid_space *s = NULL;
		struct ks_test_env e;
		struct ks_pid_ns *root, *child;

		ks_test_env_init(&e, TOPO_2CPU);
		o.topo = e.topo;
		o.mem = e.mem;
		o.locks = e.locks;
		ks_mem_fail_nth(e.mem, n);
		err = ks_pid_space_create(*state, &o, &s);
		ks_mem_fail_nth(e.mem, 0);
		if (!err) {
			ks_pid_ns_root(s, &root);
			ks_mem_fail_nth(e.mem, 1);
			err = ks_pid_ns_create(root, &child);
			ks_mem_fail_nth(e.mem, 0);
			assert_int_equal(err, -ENOMEM);
			assert_int_equal(ks_pid_space_destroy(s), 0);
		} else {
			assert_int_equal(err, -ENOMEM);
		}
		ks_test_env_fini(&e);
	}
}

/* ---- the kernel's numbering (research/pid.md section 7) ---------------- */

#define NEED_KERNEL_NUMBERING(f)                                              \
	do {                                                                  \
		if (!kernel_numbering(f)) {                                   \
			fx_fini(f);                                           \
			skip(); /* this strategy documents another order */   \
		}                                                             \
	} while (0)

static void test_kn_sequence(void **state)
{
	struct ks_pid_ns *ns;
	struct ks_pid *init = NULL, *a = NULL, *b = NULL;
	struct fx f;

	fx_init(&f, state);
	NEED_KERNEL_NUMBERING(&f);
	assert_int_equal(ks_pid_ns_create(f.root, &ns), 0);
	assert_int_equal(ks_pid_ns_last_pid(ns), -1); /* cursor 0 */
	assert_int_equal(alloc_nr(ns, &init), 1);
	/* C1: forks 2, 3, 4, no reuse of freed ids */
	assert_int_equal(fork_nr(ns), 2);
	assert_int_equal(fork_nr(ns), 3);
	assert_int_equal(fork_nr(ns), 4);
	assert_int_equal(ks_pid_ns_last_pid(ns), 4);
	/* C4: last(99) -> 100 */
	ks_pid_ns_set_last_pid(ns, 99, true);
	assert_int_equal(fork_nr(ns), 100);
	assert_int_equal(ks_pid_ns_last_pid(ns), 100);
	/* C5: last(299) -> 300, 301 */
	ks_pid_ns_set_last_pid(ns, 299, true);
	assert_int_equal(fork_nr(ns), 300);
	assert_int_equal(fork_nr(ns), 301);
	/* D1, D2 */
	ks_pid_ns_set_last_pid(ns, 300, true);
	assert_int_equal(fork_nr(ns), 301);
	assert_int_equal(fork_nr(ns), 302);
	ks_pid_ns_set_last_pid(ns, 2, true);
	assert_int_equal(fork_nr(ns), 3);
	/* C6: last(0) with 1 live and 2 free -> 2 */
	ks_pid_ns_set_last_pid(ns, 0, true);
	assert_int_equal(fork_nr(ns), 2);
	/* C11: last(pid_max) -> lowest free >= 300 */
	ks_pid_ns_set_last_pid(ns, ks_pid_ns_pid_max(ns), true);
	assert_int_equal(alloc_nr(ns, &a), 300);
	assert_int_equal(alloc_nr(ns, &b), 301);
	ks_pid_ns_set_last_pid(ns, ks_pid_ns_pid_max(ns), true);
	assert_int_equal(fork_nr(ns), 302);
	/* C12: last(999), max(400) -> 300 is live now, so 302 */
	ks_pid_ns_set_last_pid(ns, 999, true);
	ks_pid_ns_set_pid_max(ns, 400);
	assert_int_equal(fork_nr(ns), 302);
	/* C13: max 400, last(397) -> 398, 399, then wrap to 300.. (302 free) */
	ks_pid_free(a);
	ks_pid_free(b);
	ks_pid_ns_set_last_pid(ns, 397, true);
	assert_int_equal(fork_nr(ns), 398);
	assert_int_equal(fork_nr(ns), 399);
	assert_int_equal(fork_nr(ns), 300);
	assert_int_equal(fork_nr(ns), 301);
	fx_fini(&f);
}

static void test_kn_full_ns(void **state)
{
	struct ks_pid *held[100], *init = NULL, *p = NULL;
	struct ks_pid_ns *ns;
	struct fx f;
	int t[1] = { 250 };

	fx_init(&f, state);
	NEED_KERNEL_NUMBERING(&f);
	ns = child_with_init(f.root, &init);
	ks_pid_ns_set_pid_max(ns, 400);
	/* C14: last(299), hold: exactly 300..399, then EAGAIN */
	ks_pid_ns_set_last_pid(ns, 299, true);
	for (int i = 0; i < 100; i++)
		assert_int_equal(alloc_nr(ns, &held[i]), 300 + i);
	assert_int_equal(alloc_nr(ns, NULL), -EAGAIN);
	assert_int_equal(ks_pid_ns_last_pid(ns), 399);
	/* C18: tid{250} free -> 250, ns_last_pid unchanged */
	assert_int_equal(tid_alloc(ns, t, 1, &p), 250);
	assert_int_equal(ks_pid_ns_last_pid(ns), 399);
	ks_pid_free(p);
	/* C16: last(0) -> 2 (ids < 300 reachable while cursor <= 300) */
	ks_pid_ns_set_last_pid(ns, 0, true);
	assert_int_equal(fork_nr(ns), 2);
	/* C17: free 350, last(398) -> 350 */
	ks_pid_free(held[50]);
	ks_pid_ns_set_last_pid(ns, 398, true);
	assert_int_equal(alloc_nr(ns, &held[50]), 350);
	/* case 18: cursor <= 300 and [cursor, pid_max) full -> wraps to 1.. */
	for (int i = 0; i < 40; i++) {
		t[0] = 260 + i;
		assert_int_equal(tid_alloc(ns, t, 1, NULL), 260 + i);
	}
	ks_pid_ns_set_last_pid(ns, 259, true);
	assert_int_equal(fork_nr(ns), 2);
	fx_fini(&f);
}

static void test_kn_nested_rollback(void **state)
{
	struct ks_pid_ns *l1, *l2;
	struct ks_pid *i1 = NULL, *i2 = NULL, *held[100], *p = NULL;
	struct fx f;

	fx_init(&f, state);
	NEED_KERNEL_NUMBERING(&f);
	l1 = child_with_init(f.root, &i1);
	ks_pid_ns_set_pid_max(l1, 400);
	l2 = child_with_init(l1, &i2);
	assert_int_equal(ks_pid_nr_ns(i2, l1), 2);
	assert_int_equal(ks_pid_ns_last_pid(l2), 1);
	/* fill L1 */
	ks_pid_ns_set_last_pid(l1, 299, true);
	for (int i = 0; i < 100; i++)
		assert_int_equal(alloc_nr(l1, &held[i]), 300 + i);
	/* C34: the fork fails in L1; L2 took 2 and gave it back, cursor moved */
	assert_int_equal(alloc_nr(l2, NULL), -EAGAIN);
	assert_int_equal(ks_pid_ns_last_pid(l2), 2);
	assert_false(visible(l2, 2, NULL));
	/* C35: after one L1 id is freed, the next fork is L2 pid 3 */
	ks_pid_free(held[10]);
	assert_int_equal(alloc_nr(l2, &p), 3);
	assert_int_equal(ks_pid_nr_ns(p, l1), 310);
	fx_fini(&f);
}

static void test_kn_first_fork_fails(void **state)
{
	struct ks_pid_ns *l1;
	struct ks_pid *p = NULL;
	struct fx f;
	int t[2] = { 1, 1 };

	fx_init(&f, state);
	NEED_KERNEL_NUMBERING(&f);
	assert_int_equal(alloc_nr(f.root, &p), 1);
	/* D7/D8: the first fork of a new namespace fails; the next gets 1 */
	assert_int_equal(ks_pid_ns_create(f.root, &l1), 0);
	assert_int_equal(tid_alloc(l1, t, 2, NULL), -EEXIST);
	assert_int_equal(alloc_nr(l1, NULL), 1);
	fx_fini(&f);
}

/* Lock round trips per alloc+free, read from the lock_stat registry. */
static uint64_t acquisitions(const struct fx *f, const char *name)
{
	struct ks_lock_class_stats st[64];
	size_t n = 0;

	ks_lockstat_read(f->e.locks, st, KS_ARRAY_SIZE(st), &n);
	for (size_t i = 0; i < n && i < KS_ARRAY_SIZE(st); i++)
		if (!strcmp(st[i].name, name))
			return st[i].acquisitions;
	return 0;
}

static void test_lock_trips(void **state)
{
	struct ks_pid_ns *ns[5];
	struct ks_pid *init = NULL, *pid = NULL;
	struct fx f;
	const char *cls;
	uint64_t a0, a1, a2;

	fx_init(&f, state);
	if (!ks_lockstat_enabled()) {
		fx_fini(&f);
		skip();
	}
	ns[0] = f.root;
	assert_int_equal(alloc_nr(f.root, &init), 1);
	for (int l = 1; l < 5; l++)
		ns[l] = child_with_init(ns[l - 1], &init);
	cls = !strcmp(f.strategy, "xarray") ? "xa_lock" : "pidmap_lock";
	for (int depth = 0; depth < 5; depth++) {
		int alloc_trips, free_trips;

		a0 = acquisitions(&f, cls);
		assert_true(alloc_nr(ns[depth], &pid) > 0);
		a1 = acquisitions(&f, cls);
		assert_int_equal(ks_pid_free(pid), 0);
		a2 = acquisitions(&f, cls);
		if (!strcmp(f.strategy, "idr-relock")) {
			alloc_trips = depth + 2;
			free_trips = 1;
		} else if (!strcmp(f.strategy, "idr-once")) {
			alloc_trips = 1;
			free_trips = 1;
		} else if (!strcmp(f.strategy, "xarray")) {
			alloc_trips = 2 * (depth + 1);
			free_trips = depth + 1;
		} else {
			continue; /* strategies of their own design: docs/pid.md */
		}
		assert_int_equal(a1 - a0, alloc_trips);
		assert_int_equal(a2 - a1, free_trips);
	}
	fx_fini(&f);
}

/* ---- registration ------------------------------------------------------ */

struct body {
	const char *name;
	CMUnitTestFunction fn;
};

static const struct body bodies[] = {
	{ "strategies", test_strategies },
	{ "bad_input", test_bad_input },
	{ "pid_max_bounds", test_pid_max_bounds },
	{ "levels", test_levels },
	{ "unique_lookup_find_ge", test_unique_lookup_find_ge },
	{ "publish_window", test_publish_window },
	{ "set_tid", test_set_tid },
	{ "last_pid_rw", test_last_pid_rw },
	{ "exhaustion", test_exhaustion },
	{ "dead_init", test_dead_init },
	{ "lower_pid_max", test_lower_pid_max },
	{ "refcount_rcu", test_refcount_rcu },
	{ "unregistered_thread", test_unregistered_thread },
	{ "enomem_paths", test_enomem_paths },
	{ "kn_sequence", test_kn_sequence },
	{ "kn_full_ns", test_kn_full_ns },
	{ "kn_nested_rollback", test_kn_nested_rollback },
	{ "kn_first_fork_fails", test_kn_first_fork_fails },
	{ "lock_trips", test_lock_trips },
};

int main(void)
{
	const struct ks_strategy_info *info;
	struct CMUnitTest *tests;
	size_t n, k = 0;
	int ret;

	ks_rcu_register_thread();
	info = ks_pid_strategies(&n);
	tests = calloc(n * KS_ARRAY_SIZE(bodies), sizeof(*tests));
	for (size_t s = 0; s < n; s++) {
		for (size_t b = 0; b < KS_ARRAY_SIZE(bodies); b++) {
			char *name = malloc(96);

			snprintf(name, 96, "%s/%s", bodies[b].name, info[s].name);
			tests[k].name = name;
			tests[k].test_func = bodies[b].fn;
			tests[k].initial_state = (void *)info[s].name;
			k++;
		}
	}
	ret = _cmocka_run_group_tests("pid", tests, k, NULL, NULL);
	for (size_t i = 0; i < k; i++)
		free((void *)tests[i].name);
	free(tests);
	ks_rcu_unregister_thread();
	return ret;
}
