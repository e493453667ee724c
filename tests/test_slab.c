// SPDX-License-Identifier: MIT
/*
 * slab: caches, objects, cgroups and what each strategy counts. Every body
 * runs for every strategy (the prestate is the strategy name) and ends with
 * the leak oracle. Expectations that differ by design (child caches exist
 * only under the per-memcg strategies, the negative control is unsafe) are
 * stated with the reason where they branch.
 */
#include "ks_test.h"

#include <errno.h>
#include <kscale/slab.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct fx {
	struct ks_test_env e;
	struct ks_slab_sys *s;
	const char *strategy;
};

static void fx_init(struct fx *f, void **state, const char *topo)
{
	struct ks_slab_opts o = { 0 };
	int r = ks_rcu_register_thread();

	assert_true(r == 0 || r == -EALREADY);
	ks_cpu_set_current(0);
	f->strategy = *state;
	ks_test_env_init(&f->e, topo);
	o.topo = f->e.topo;
	o.locks = f->e.locks;
	o.mem = f->e.mem;
	assert_int_equal(ks_slab_create(f->strategy, &o, &f->s), 0);
}

static void fx_fini(struct fx *f)
{
	ks_slab_destroy(f->s);
	ks_test_env_fini(&f->e);
	ks_cpu_set_current(0);
}

static bool memcg_caches(const char *strategy)
{
	return !strncmp(strategy, "percache", 8) || !strncmp(strategy, "lists", 5) ||
	       !strcmp(strategy, "call-rcu-only");
}

static struct ks_slab_stats stats(struct ks_slab_sys *s)
{
	struct ks_slab_stats st;

	assert_int_equal(ks_slab_stats(s, &st), 0);
	return st;
}

static void test_strategies_and_bad_create(void **state)
{
	struct ks_slab_opts bad = { 0 };
	const struct ks_strategy_info *info;
	struct ks_slab_sys *s = NULL;
	size_t n = 0;
	bool found = false;

	info = ks_slab_strategies(&n);
	assert_non_null(info);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < n; i++) {
		assert_non_null(info[i].summary);
		assert_non_null(info[i].source);
		if (!strcmp(info[i].name, *state))
			found = true;
	}
	assert_true(found);
	assert_null(ks_slab_strategies(NULL));
	assert_int_equal(ks_slab_create(NULL, NULL, &s), -EINVAL);
	assert_int_equal(ks_slab_create(*state, NULL, NULL), -EINVAL);
	assert_int_equal(ks_slab_create("linux-0.01", NULL, &s), -ENOENT);
	bad.slab_order = 4;
	assert_int_equal(ks_slab_create(*state, &bad, &s), -EINVAL);
	bad.slab_order = 0;
	bad.cpu_cache_objs = 257;
	assert_int_equal(ks_slab_create(*state, &bad, &s), -EINVAL);
	assert_null(s);
	/* NULL options: private topology, lock_stat and memory domain */
	assert_true(ks_rcu_register_thread() <= 0);
	assert_int_equal(ks_slab_create(*state, NULL, &s), 0);
	assert_string_equal(ks_slab_strategy(s), *state);
	ks_slab_destroy(s);
	ks_slab_destroy(NULL);
	assert_int_equal(ks_slab_flush(NULL), -EINVAL);
	assert_int_equal(ks_slab_stats(NULL, NULL), -EINVAL);
}

static void test_cache_bad_input(void **state)
{
	struct ks_kmem_cache *c = NULL, *d = NULL;
	char longname[80];
	struct fx f;
	long max;

	fx_init(&f, state, "synthetic:core:2 pu:1");
	max = ks_kmem_cache_max_size(f.s);
	assert_true(max > 3000 && max < 4096);
	assert_int_equal(ks_kmem_cache_max_size(NULL), -EINVAL);
	assert_int_equal(ks_kmem_cache_create(NULL, "a", 8, 0, 0, &c), -EINVAL);
	assert_int_equal(ks_kmem_cache_create(f.s, NULL, 8, 0, 0, &c), -EINVAL);
	assert_int_equal(ks_kmem_cache_create(f.s, "a", 8, 0, 0, NULL), -EINVAL);
	assert_int_equal(ks_kmem_cache_create(f.s, "", 8, 0, 0, &c), -EINVAL);
	assert_int_equal(ks_kmem_cache_create(f.s, "a b", 8, 0, 0, &c), -EINVAL);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	assert_int_equal(ks_kmem_cache_create(f.s, longname, 8, 0, 0, &c), -EINVAL);
	assert_int_equal(ks_kmem_cache_create(f.s, "a", 0, 0, 0, &c), -EINVAL);
	assert_int_equal(ks_kmem_cache_create(f.s, "a", (size_t)max + 1, 0, 0, &c), -EINVAL);
	assert_int_equal(ks_kmem_cache_create(f.s, "a", (size_t)1 << 40, 0, 0, &c), -EINVAL);
	assert_int_equal(ks_kmem_cache_create(f.s, "a", 8, 3, 0, &c), -EINVAL);
	assert_int_equal(ks_kmem_cache_create(f.s, "a", 8, 8192, 0, &c), -EINVAL);
	assert_int_equal(ks_kmem_cache_create(f.s, "a", 8, 0, 0x100, &c), -EINVAL);
	assert_int_equal(ks_kmem_cache_create(f.s, "a", (size_t)max, 0, 0, &c), 0);
	assert_int_equal(ks_kmem_cache_create(f.s, "a", 8, 0, 0, &d), -EEXIST);
	assert_int_equal(stats(f.s).root_caches, strcmp(f.strategy, "objcg-5.14") ? 1 : 2);
	assert_int_equal(ks_kmem_cache_destroy(c), 0);
	assert_int_equal(ks_kmem_cache_destroy(NULL), -EINVAL);
	/* the name is free again */
	assert_int_equal(ks_kmem_cache_create(f.s, "a", 8, 64, KS_SLAB_HWCACHE_ALIGN, &c), 0);
	{
		struct ks_kmem_cache_info in;

		assert_int_equal(ks_kmem_cache_info(c, &in), 0);
		assert_int_equal(in.size, 64);
		assert_int_equal(ks_kmem_cache_info(NULL, &in), -EINVAL);
	}
	assert_int_equal(ks_kmem_cache_destroy(c), 0);
	/* fault injection: nothing is left behind */
	assert_int_equal(ks_mem_fail_nth(f.e.mem, 1), 0);
	assert_int_equal(ks_kmem_cache_create(f.s, "b", 8, 0, 0, &c), -ENOMEM);
	assert_int_equal(stats(f.s).root_caches, 0);
	fx_fini(&f);
}

static void test_objects(void **state)
{
	struct ks_kmem_cache *c, *d;
	struct ks_kmem_cache_info in;
	void *obj[300], *x;
	struct fx f;

	fx_init(&f, state, "synthetic:core:2 pu:1");
	assert_int_equal(ks_kmem_cache_create(f.s, "objs", 100, 0, 0, &c), 0);
	assert_int_equal(ks_kmem_cache_create(f.s, "other", 100, 0, 0, &d), 0);
	for (int i = 0; i < 300; i++) {
		ks_cpu_set_current(i % 2);
		assert_int_equal(ks_kmem_cache_alloc(c, KS_MEMCG_ROOT, &obj[i]), 0);
		memset(obj[i], i, 100);
		for (int j = 0; j < i; j++)
			assert_ptr_not_equal(obj[i], obj[j]);
	}
	assert_int_equal(stats(f.s).objs_live, 300);
	assert_int_equal(ks_kmem_cache_info(c, &in), 0);
	assert_int_equal(in.object_size, 100);
	assert_true(in.active_objs >= 300 && in.active_objs <= in.num_objs);
	/* objects keep their contents */
	for (int i = 0; i < 300; i++)
		assert_int_equal(((unsigned char *)obj[i])[99], (unsigned char)i);
	/* destroy with live objects: refused, cache kept */
	assert_int_equal(ks_kmem_cache_destroy(c), -EBUSY);
	assert_int_equal(ks_kmem_cache_info(c, &in), 0);
	/* bad frees change nothing */
	assert_int_equal(ks_kmem_cache_free(d, obj[0]), -EINVAL);
	assert_int_equal(ks_kmem_cache_free(c, (char *)obj[0] + 1), -EINVAL);
	assert_int_equal(ks_kmem_cache_free(NULL, obj[0]), -EINVAL);
	assert_int_equal(ks_kmem_cache_free(c, NULL), 0);
	for (int i = 0; i < 300; i++) {
		ks_cpu_set_current((i + 1) % 2);
		assert_int_equal(ks_kmem_cache_free(c, obj[i]), 0);
	}
	/* double free */
	assert_int_equal(ks_kmem_cache_free(c, obj[7]), -EINVAL);
	assert_int_equal(stats(f.s).objs_live, 0);
	assert_int_equal(ks_kmem_cache_shrink(c), 0);
	assert_int_equal(ks_kmem_cache_shrink(NULL), -EINVAL);
	assert_int_equal(ks_kmem_cache_info(c, &in), 0);
	assert_int_equal(in.active_objs, 0);
	assert_int_equal(in.slabs, 0);
	assert_int_equal(ks_kmem_cache_alloc(NULL, 0, &x), -EINVAL);
	assert_int_equal(ks_kmem_cache_alloc(c, 0, NULL), -EINVAL);
	assert_int_equal(ks_kmem_cache_alloc(c, 12345, &x), -ENOENT);
	/* injected allocation failure: -ENOMEM, nothing lost */
	assert_int_equal(ks_mem_fail_nth(f.e.mem, 1), 0);
	assert_int_equal(ks_kmem_cache_alloc(c, 0, &x), -ENOMEM);
	assert_int_equal(ks_kmem_cache_destroy(c), 0);
	assert_int_equal(ks_kmem_cache_destroy(d), 0);
	fx_fini(&f);
}

/* A child cache appears on first allocation and goes after release. */
static void test_child_cache_lifecycle(void **state)
{
	struct ks_memcg_stats ms;
	struct ks_kmem_cache *c;
	struct ks_slab_stats st;
	uint64_t cg, cg2;
	void *a, *b;
	struct fx f;
	bool per = memcg_caches(*state);

	fx_init(&f, state, "synthetic:core:2 pu:1");
	assert_int_equal(ks_kmem_cache_create(f.s, "dentry", 192, 0, 0, &c), 0);
	assert_int_equal(ks_memcg_create(f.s, KS_MEMCG_ROOT, &cg), 0);
	assert_int_equal(ks_memcg_create(f.s, KS_MEMCG_ROOT, &cg2), 0);
	assert_int_not_equal(cg, cg2);
	st = stats(f.s);
	assert_int_equal(st.memcgs_online, 2);
	assert_int_equal(st.child_caches, 0);
	assert_int_equal(ks_kmem_cache_alloc(c, cg, &a), 0);
	assert_int_equal(ks_kmem_cache_alloc(c, cg, &b), 0);
	st = stats(f.s);
	assert_int_equal(st.child_caches, per ? 1 : 0);
	assert_int_equal(st.sysfs_nodes, 30 * (st.root_caches + st.child_caches));
	assert_int_equal(ks_memcg_stats(f.s, cg, &ms), 0);
	assert_true(ms.online);
	assert_int_equal(ms.objs, 2);
	assert_true(ms.bytes >= 2 * 192);
	assert_int_equal(ms.child_caches, per ? 1 : 0);
	assert_int_equal(ks_memcg_stats(f.s, cg2, &ms), 0);
	assert_int_equal(ms.objs, 0);
	/* destroying the root while the child has objects: refused */
	assert_int_equal(ks_kmem_cache_destroy(c), -EBUSY);
	assert_int_equal(ks_kmem_cache_free(c, a), 0);
	assert_int_equal(ks_kmem_cache_free(c, b), 0);
	assert_int_equal(ks_memcg_stats(f.s, cg, &ms), 0);
	assert_int_equal(ms.objs, 0);
	assert_int_equal(ks_memcg_remove(f.s, cg), 0);
	assert_int_equal(ks_memcg_remove(f.s, cg), -ENOENT);
	assert_int_equal(ks_kmem_cache_alloc(c, cg, &a), -ENOENT);
	assert_int_equal(ks_slab_flush(f.s), 0);
	st = stats(f.s);
	assert_int_equal(st.child_caches, 0);
	assert_int_equal(st.memcgs_dying, 0);
	assert_int_equal(st.releases, 1);
	assert_int_equal(st.sysfs_nodes, 30 * st.root_caches);
	assert_int_equal(ks_memcg_stats(f.s, cg, &ms), -ENOENT);
	assert_int_equal(ks_memcg_remove(f.s, cg), -ENOENT);
	assert_int_equal(ks_memcg_remove(f.s, KS_MEMCG_ROOT), -EINVAL);
	assert_int_equal(ks_memcg_remove(NULL, cg2), -EINVAL);
	assert_int_equal(ks_memcg_remove(f.s, 999), -ENOENT);
	assert_int_equal(ks_memcg_create(f.s, 999, &cg), -ENOENT);
	assert_int_equal(ks_memcg_create(f.s, 0, NULL), -EINVAL);
	assert_int_equal(ks_memcg_stats(f.s, 0, NULL), -EINVAL);
	assert_int_equal(ks_kmem_cache_destroy(c), 0);
	/* cg2 is still online when the system goes: nothing leaks */
	fx_fini(&f);
}

/*
 * Objects freed after offline are still accounted: to the dying cgroup
 * under the per-memcg strategies, to the parent under objcg-*, which
 * releases the dying cgroup at once.
 */
static void test_free_after_offline(void **state)
{
	struct ks_memcg_stats ms;
	struct ks_kmem_cache *c;
	uint64_t p, ch, x;
	void *obj[40];
	struct fx f;
	bool per = memcg_caches(*state);

	fx_init(&f, state, "synthetic:core:2 pu:1");
	assert_int_equal(ks_kmem_cache_create(f.s, "inode", 600, 0, 0, &c), 0);
	assert_int_equal(ks_memcg_create(f.s, KS_MEMCG_ROOT, &p), 0);
	assert_int_equal(ks_memcg_create(f.s, p, &ch), 0);
	assert_int_equal(ks_memcg_remove(f.s, p), -EBUSY);
	for (int i = 0; i < 40; i++)
		assert_int_equal(ks_kmem_cache_alloc(c, ch, &obj[i]), 0);
	assert_int_equal(ks_memcg_stats(f.s, p, &ms), 0);
	assert_int_equal(ms.objs, 40);
	assert_int_equal(ks_memcg_remove(f.s, ch), 0);
	assert_int_equal(ks_memcg_create(f.s, ch, &x), -ENOENT);
	assert_int_equal(ks_slab_flush(f.s), 0);
	if (per) {
		/* the dying cgroup is pinned by its charged slabs */
		assert_int_equal(stats(f.s).memcgs_dying, 1);
		assert_int_equal(ks_memcg_stats(f.s, ch, &ms), 0);
		assert_false(ms.online);
		assert_int_equal(ms.objs, 40);
	} else {
		/* reparented: released at once */
		assert_int_equal(stats(f.s).memcgs_dying, 0);
		assert_int_equal(ks_memcg_stats(f.s, ch, &ms), -ENOENT);
	}
	for (int i = 0; i < 20; i++)
		assert_int_equal(ks_kmem_cache_free(c, obj[i]), 0);
	assert_int_equal(ks_memcg_stats(f.s, p, &ms), 0);
	assert_int_equal(ms.objs, 20);
	for (int i = 20; i < 40; i++)
		assert_int_equal(ks_kmem_cache_free(c, obj[i]), 0);
	assert_int_equal(ks_slab_flush(f.s), 0);
	assert_int_equal(ks_memcg_stats(f.s, p, &ms), 0);
	assert_int_equal(ms.objs, 0);
	assert_int_equal(ms.bytes, 0);
	assert_int_equal(stats(f.s).memcgs_dying, 0);
	assert_int_equal(stats(f.s).child_caches, 0);
	assert_int_equal(ks_memcg_remove(f.s, p), 0);
	assert_int_equal(ks_slab_flush(f.s), 0);
	assert_int_equal(stats(f.s).releases, 2);
	assert_int_equal(ks_kmem_cache_destroy(c), 0);
	fx_fini(&f);
}

/* What the seed counts: list entries per offline/release, grace periods. */
static void test_walk_counts(void **state)
{
	enum { R = 4, M = 3 };
	struct ks_kmem_cache *c[R];
	struct ks_slab_stats st;
	uint64_t cg[M];
	void *obj[M][R];
	struct fx f;
	char name[16];

	fx_init(&f, state, "synthetic:core:2 pu:1");
	for (int i = 0; i < R; i++) {
		snprintf(name, sizeof(name), "root%d", i);
		assert_int_equal(ks_kmem_cache_create(f.s, name, 64, 0, 0, &c[i]), 0);
	}
	for (int m = 0; m < M; m++) {
		assert_int_equal(ks_memcg_create(f.s, 0, &cg[m]), 0);
		for (int i = 0; i < R; i++)
			assert_int_equal(ks_kmem_cache_alloc(c[i], cg[m], &obj[m][i]), 0);
	}
	st = stats(f.s);
	for (int m = 0; m < M; m++)
		for (int i = 0; i < R; i++)
			assert_int_equal(ks_kmem_cache_free(c[i], obj[m][i]), 0);
	assert_int_equal(ks_memcg_remove(f.s, cg[0]), 0);
	assert_int_equal(ks_slab_flush(f.s), 0);
	st = stats(f.s);
	if (!strcmp(f.strategy, "percache-4.10")) {
		/* two walks of slab_caches: R roots + M * R children */
		assert_int_equal(st.offline_visits, 2 * (R + M * R));
		/* release walks whatever is on slab_caches then */
		assert_int_equal(st.release_visits, R + M * R);
		assert_int_equal(st.sync_gp_cgroup_mutex, 1);
	} else if (memcg_caches(f.strategy)) {
		assert_int_equal(st.offline_visits, R);
		assert_int_equal(st.release_visits, R);
		assert_int_equal(st.sync_gp_cgroup_mutex, 0);
		assert_int_equal(st.async_rcu, R + (strcmp(f.strategy, "call-rcu-only") ? 0 : R));
	} else {
		assert_int_equal(st.offline_visits, 1);
		assert_int_equal(st.release_visits, 0);
		assert_int_equal(st.sync_gp_cgroup_mutex, 0);
	}
	assert_int_equal(st.child_caches, memcg_caches(f.strategy) ? (M - 1) * R : 0);
	for (int m = 1; m < M; m++)
		assert_int_equal(ks_memcg_remove(f.s, cg[m]), 0);
	assert_int_equal(ks_slab_flush(f.s), 0);
	st = stats(f.s);
	assert_int_equal(st.child_caches, 0);
	assert_int_equal(st.releases, M);
	assert_int_equal(st.offlines, M);
	assert_int_equal(st.memcgs_online, 0);
	assert_true(st.caches_peak >= (uint64_t)R);
	if (memcg_caches(f.strategy))
		assert_int_equal(st.sysfs_nodes_peak, 30 * (R + M * R));
	for (int i = 0; i < R; i++)
		assert_int_equal(ks_kmem_cache_destroy(c[i]), 0);
	fx_fini(&f);
}

/*
 * SLAB_TYPESAFE_BY_RCU: the cache outlives every slab-free callback. The
 * slab is freed on CPU 1, the cache released from CPU 0 (the worker). Only
 * the negative control frees the cache first, and only when there are two
 * CPUs: on one CPU every callback is on the same list, in order.
 */
static void typesafe_on(void **state, const char *topo)
{
	struct ks_kmem_cache *c;
	struct ks_slab_stats st;
	uint64_t cg;
	void *obj, *root_obj;
	struct fx f;
	int ncpu;
	bool bad;

	fx_init(&f, state, topo);
	ncpu = ks_topo_nr_cpus(f.e.topo);
	bad = !strcmp(f.strategy, "call-rcu-only") && ncpu > 1;
	assert_int_equal(ks_kmem_cache_create(f.s, "sighand", 2000, 0,
					      KS_SLAB_TYPESAFE_BY_RCU, &c), 0);
	assert_int_equal(ks_memcg_create(f.s, 0, &cg), 0);
	ks_cpu_set_current(1);
	assert_int_equal(ks_kmem_cache_alloc(c, cg, &obj), 0);
	assert_int_equal(ks_kmem_cache_alloc(c, 0, &root_obj), 0);
	ks_cpu_set_current(0);
	assert_int_equal(ks_memcg_remove(f.s, cg), 0);
	assert_int_equal(ks_slab_flush(f.s), 0);
	ks_cpu_set_current(1);
	/* the last object of the dying cgroup: its slab goes through RCU */
	assert_int_equal(ks_kmem_cache_free(c, obj), 0);
	assert_int_equal(ks_kmem_cache_free(c, root_obj), 0);
	assert_int_equal(ks_kmem_cache_shrink(c), 0);
	ks_cpu_set_current(0);
	/*
	 * Wait for the release (a grace period and the worker) without
	 * flushing CPU 1's pending slab-free callbacks, as a busy machine
	 * would not have run them yet.
	 */
	for (int i = 0; i < 5000 && stats(f.s).releases < 1; i++) {
		struct timespec ts = { 0, 1000000 };

		nanosleep(&ts, NULL);
	}
	assert_int_equal(stats(f.s).releases, 1);
	assert_int_equal(ks_kmem_cache_destroy(c), 0);
	assert_int_equal(ks_slab_flush(f.s), 0);
	st = stats(f.s);
	if (getenv("KS_DEBUG"))
		fprintf(stderr, "%s %s: barriers %lu unsafe %lu late %lu releases %lu children %lu\n",
			f.strategy, topo, (unsigned long)st.rcu_barriers,
			(unsigned long)st.unsafe_cache_frees, (unsigned long)st.late_rcu_callbacks,
			(unsigned long)st.releases, (unsigned long)st.child_caches);
	if (bad) {
		assert_true(st.unsafe_cache_frees >= 1);
		assert_true(st.late_rcu_callbacks >= 1);
	} else {
		assert_int_equal(st.unsafe_cache_frees, 0);
		assert_int_equal(st.late_rcu_callbacks, 0);
	}
	if (!strcmp(f.strategy, "percache-4.10"))
		assert_true(st.rcu_barriers >= 2); /* release and destroy */
	assert_int_equal(st.slabs_live, 0);
	fx_fini(&f);
}

static void test_typesafe_by_rcu(void **state)
{
	typesafe_on(state, "synthetic:pu:1");
	typesafe_on(state, "synthetic:core:2 pu:1");
	typesafe_on(state, "synthetic:pack:2 numa:2 core:8 pu:2");
}

/* Accounting balances with many cgroups and caches, on 256 CPUs. */
static void test_accounting_balances(void **state)
{
	enum { R = 5, M = 6, PER = 20 };
	struct ks_kmem_cache *c[R];
	void *obj[M][R][PER];
	struct ks_memcg_stats ms;
	struct ks_slab_stats st;
	uint64_t cg[M];
	struct fx f;
	char name[16];

	fx_init(&f, state, "synthetic:pack:4 numa:2 core:16 pu:2");
	for (int i = 0; i < R; i++) {
		snprintf(name, sizeof(name), "k%d", i);
		assert_int_equal(ks_kmem_cache_create(f.s, name, 16 << i, 0,
						      i == 2 ? KS_SLAB_TYPESAFE_BY_RCU : 0, &c[i]), 0);
	}
	for (int m = 0; m < M; m++)
		assert_int_equal(ks_memcg_create(f.s, m ? cg[m / 2] : 0, &cg[m]), 0);
	for (int m = 0; m < M; m++)
		for (int i = 0; i < R; i++)
			for (int k = 0; k < PER; k++) {
				ks_cpu_set_current((m * 37 + k * 11) % 256);
				assert_int_equal(ks_kmem_cache_alloc(c[i], cg[m], &obj[m][i][k]), 0);
			}
	assert_int_equal(stats(f.s).objs_live, M * R * PER);
	/* hierarchical: cg[0] includes every descendant */
	assert_int_equal(ks_memcg_stats(f.s, cg[0], &ms), 0);
	assert_int_equal(ms.objs, M * R * PER);
	/* remove leaves first, with objects live */
	for (int m = M - 1; m >= 3; m--)
		assert_int_equal(ks_memcg_remove(f.s, cg[m]), 0);
	for (int m = 0; m < M; m++)
		for (int i = 0; i < R; i++)
			for (int k = 0; k < PER; k++) {
				ks_cpu_set_current((m * 13 + k * 7) % 256);
				assert_int_equal(ks_kmem_cache_free(c[i], obj[m][i][k]), 0);
			}
	for (int m = 2; m >= 0; m--)
		assert_int_equal(ks_memcg_remove(f.s, cg[m]), 0);
	assert_int_equal(ks_slab_flush(f.s), 0);
	st = stats(f.s);
	assert_int_equal(st.objs_live, 0);
	assert_int_equal(st.memcgs_online, 0);
	assert_int_equal(st.memcgs_dying, 0);
	assert_int_equal(st.child_caches, 0);
	assert_int_equal(st.releases, M);
	for (int i = 0; i < R; i++)
		assert_int_equal(ks_kmem_cache_destroy(c[i]), 0);
	assert_int_equal(ks_slab_flush(f.s), 0);
	st = stats(f.s);
	assert_int_equal(st.slabs_live, 0);
	assert_int_equal(st.sysfs_nodes, 0);
	assert_int_equal(st.unsafe_cache_frees, 0);
	fx_fini(&f);
}

#define PER_STRATEGY(fn)                                                     \
	cmocka_unit_test_prestate(fn, "percache-4.10"),                      \
	cmocka_unit_test_prestate(fn, "lists-4.11"),                         \
	cmocka_unit_test_prestate(fn, "objcg-5.9"),                          \
	cmocka_unit_test_prestate(fn, "objcg-5.14"),                         \
	cmocka_unit_test_prestate(fn, "call-rcu-only")

int main(void)
{
	const struct CMUnitTest tests[] = {
		PER_STRATEGY(test_strategies_and_bad_create),
		PER_STRATEGY(test_cache_bad_input),
		PER_STRATEGY(test_objects),
		PER_STRATEGY(test_child_cache_lifecycle),
		PER_STRATEGY(test_free_after_offline),
		PER_STRATEGY(test_walk_counts),
		PER_STRATEGY(test_typesafe_by_rcu),
		PER_STRATEGY(test_accounting_balances),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
