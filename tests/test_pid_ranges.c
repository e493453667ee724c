// SPDX-License-Identifier: MIT
/*
 * Per-CPU range behaviour of pcpu-range and pcpu-lockfree (src/pid/
 * pid_range.h): consecutive numbers per CPU, one range per CPU on 256 CPUs,
 * retirement of exhausted empty ranges, remote frees, reuse postponement,
 * stealing when the namespace is full, set_tid's slow path, ns_last_pid, and
 * the lock trips of an allocation at depth 3. Every test body runs for both
 * strategies; tests/test_pid.c covers the rules every strategy keeps.
 */
#include "ks_test.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define TOPO_1 "synthetic:pu:1"
#define TOPO_2 "synthetic:core:2 pu:1"
#define TOPO_256 "synthetic:pack:4 numa:2 core:16 pu:2"

struct rt {
	struct ks_test_env env;
	struct ks_pid_space *s;
	struct ks_pid_ns *root;
	const char *strategy;
};

static void rt_init(struct rt *t, void **state, const char *topo, int pid_max)
{
	struct ks_pid_opts o = { 0 };

	memset(t, 0, sizeof(*t));
	t->strategy = *state;
	ks_test_env_init(&t->env, topo);
	assert_int_equal(ks_rcu_register_thread(), 0);
	o.topo = t->env.topo;
	o.locks = t->env.locks;
	o.mem = t->env.mem;
	o.pid_max = pid_max;
	assert_int_equal(ks_pid_space_create(t->strategy, &o, &t->s), 0);
	assert_int_equal(ks_pid_ns_root(t->s, &t->root), 0);
	ks_cpu_set_current(0);
}

static void rt_fini(struct rt *t)
{
	ks_cpu_set_current(-1);
	assert_int_equal(ks_pid_space_destroy(t->s), 0);
	assert_int_equal(ks_rcu_unregister_thread(), 0);
	ks_test_env_fini(&t->env);
}

/* Allocate on CPU @cpu in @ns; return the number in @ns (or -errno). */
static int alloc_on(struct rt *t, struct ks_pid_ns *ns, int cpu, struct ks_pid **out)
{
	struct ks_pid *pid;
	int ret;

	ks_cpu_set_current(cpu);
	ret = ks_pid_alloc(ns, NULL, 0, 0, &pid);
	if (ret)
		return ret;
	if (out)
		*out = pid;
	return ks_pid_nr_ns(pid, ns);
}

static int64_t live_ranges(struct rt *t)
{
	struct ks_mem_type_stats st[64];
	size_t n = 0;

	assert_int_equal(ks_rcu_barrier(), 0);
	assert_int_equal(ks_mem_read(t->env.mem, st, KS_ARRAY_SIZE(st), &n), 0);
	for (size_t i = 0; i < n && i < KS_ARRAY_SIZE(st); i++) {
		if (!strcmp(st[i].name, "pid_range"))
			return st[i].live_objs;
	}
	return 0;
}

static uint64_t lock_acq(struct rt *t, const char *name)
{
	struct ks_lock_class_stats st[64];
	size_t n = 0;

	assert_int_equal(ks_lockstat_read(t->env.locks, st, KS_ARRAY_SIZE(st), &n), 0);
	for (size_t i = 0; i < n && i < KS_ARRAY_SIZE(st); i++) {
		if (!strcmp(st[i].name, name))
			return st[i].acquisitions;
	}
	return 0;
}

static bool lockfree(const struct rt *t)
{
	return !strcmp(t->strategy, "pcpu-lockfree");
}

/* A CPU hands out consecutive numbers; another CPU carves the next range. */
static void test_consecutive_per_cpu(void **state)
{
	struct rt t;

	rt_init(&t, state, TOPO_2, 0);
	assert_int_equal(alloc_on(&t, t.root, 0, NULL), 1);
	assert_int_equal(alloc_on(&t, t.root, 0, NULL), 2);
	assert_int_equal(alloc_on(&t, t.root, 1, NULL), 256);
	assert_int_equal(alloc_on(&t, t.root, 0, NULL), 3);
	assert_int_equal(alloc_on(&t, t.root, 1, NULL), 257);
	assert_int_equal(alloc_on(&t, t.root, 1, NULL), 258);
	assert_int_equal(live_ranges(&t), 2);
	rt_fini(&t);
}

/* 256 CPUs: each carves its own range, in carving order. */
static void test_256_cpus(void **state)
{
	struct ks_pid *pids[256];
	struct rt t;

	rt_init(&t, state, TOPO_256, 0);
	for (int cpu = 0; cpu < 256; cpu++) {
		int nr = alloc_on(&t, t.root, cpu, &pids[cpu]);

		assert_int_equal(nr, cpu ? cpu * 256 : 1);
	}
	for (int cpu = 255; cpu >= 0; cpu--)
		assert_int_equal(alloc_on(&t, t.root, cpu, NULL), cpu ? cpu * 256 + 1 : 2);
	assert_int_equal(ks_rcu_read_lock(), 0);
	for (int cpu = 0; cpu < 256; cpu++) {
		struct ks_pid *p = NULL;

		assert_int_equal(ks_pid_lookup(t.root, cpu ? cpu * 256 : 1, &p), 0);
		assert_ptr_equal(p, pids[cpu]);
	}
	assert_int_equal(ks_rcu_read_unlock(), 0);
	assert_int_equal(live_ranges(&t), 256);
	rt_fini(&t);
}

/* An exhausted range is retired once it is empty. */
static void test_retire(void **state)
{
	struct ks_pid *pids[255];
	struct rt t;

	rt_init(&t, state, TOPO_1, 0);
	for (int i = 0; i < 255; i++)
		assert_int_equal(alloc_on(&t, t.root, 0, &pids[i]), i + 1);
	/* exhausted but not yet known to be: still the CPU's range */
	for (int i = 1; i < 255; i++)
		assert_int_equal(ks_pid_free(pids[i]), 0);
	assert_int_equal(live_ranges(&t), 1);
	/* the next alloc detaches it (pid 1 still live) and carves slot 1 */
	assert_int_equal(alloc_on(&t, t.root, 0, &pids[1]), 256);
	assert_int_equal(live_ranges(&t), 2);
	/* freeing its last number retires it */
	assert_int_equal(ks_pid_free(pids[0]), 0);
	assert_int_equal(live_ranges(&t), 1);
	assert_int_equal(ks_rcu_read_lock(), 0);
	assert_int_equal(ks_pid_find_ge(t.root, 0, NULL), 256);
	assert_int_equal(ks_rcu_read_unlock(), 0);
	rt_fini(&t);
}

/* A free on another CPU: the number goes, is not handed out again soon. */
static void test_remote_free(void **state)
{
	struct ks_pid *a = NULL, *b = NULL, *p = NULL;
	uint64_t before;
	struct rt t;

	rt_init(&t, state, TOPO_2, 0);
	assert_int_equal(alloc_on(&t, t.root, 0, &a), 1);
	assert_int_equal(alloc_on(&t, t.root, 0, &b), 2);
	before = lock_acq(&t, "pcpu_range_lock");
	ks_cpu_set_current(1);
	assert_int_equal(ks_pid_free(b), 0);
	/* pcpu-range takes CPU 0's lock from CPU 1; pcpu-lockfree none */
	assert_int_equal(lock_acq(&t, "pcpu_range_lock") - before, lockfree(&t) ? 0 : 1);
	assert_int_equal(ks_rcu_read_lock(), 0);
	assert_int_equal(ks_pid_lookup(t.root, 2, &p), -ENOENT);
	assert_int_equal(ks_rcu_read_unlock(), 0);
	assert_int_equal(alloc_on(&t, t.root, 0, NULL), 3);
	rt_fini(&t);
}

/* Numbers come back only after the carve cursor went around the space. */
static void test_reuse_postponed(void **state)
{
	enum { PID_MAX = 1024, LIVE = 16, N = 4 * PID_MAX };
	struct ks_pid *fifo[LIVE];
	int freed_at[PID_MAX];
	int min = N, reuses = 0;
	struct rt t;

	for (int i = 0; i < PID_MAX; i++)
		freed_at[i] = -1;
	rt_init(&t, state, TOPO_2, PID_MAX);
	/* the init stays: freeing pid 1 would disable the namespace */
	assert_int_equal(alloc_on(&t, t.root, 0, NULL), 1);
	for (int seq = 0; seq < N; seq++) {
		int nr = alloc_on(&t, t.root, seq % 2, &fifo[seq % LIVE]);

		assert_in_range(nr, 1, PID_MAX - 1);
		if (freed_at[nr] >= 0) {
			reuses++;
			if (seq - freed_at[nr] < min)
				min = seq - freed_at[nr];
		}
		if (seq + 1 >= LIVE) {
			struct ks_pid *old = fifo[(seq + 1) % LIVE];

			freed_at[ks_pid_nr_ns(old, t.root)] = seq + 1;
			assert_int_equal(ks_pid_free(old), 0);
		}
	}
	assert_true(reuses > 0);
	/* a lap is pid_max - 300 numbers; two CPUs hold two ranges' worth */
	assert_true(min >= PID_MAX - 300 - 2 * 256 - LIVE);
	for (int i = 1; i < LIVE; i++)
		assert_int_equal(ks_pid_free(fifo[(N + i) % LIVE]), 0);
	rt_fini(&t);
}

/* A full namespace: every number is reachable (steals), then -EAGAIN. */
static void test_exhaust_and_steal(void **state)
{
	enum { PID_MAX = 1024 };
	struct ks_pid *pids[PID_MAX] = { 0 };
	struct ks_pid *p = NULL;
	int n = 0, nr;
	struct rt t;

	rt_init(&t, state, TOPO_2, PID_MAX);
	while ((nr = alloc_on(&t, t.root, n % 2, &p)) > 0) {
		assert_in_range(nr, 1, PID_MAX - 1);
		assert_null(pids[nr]);
		pids[nr] = p;
		n++;
	}
	assert_int_equal(nr, -EAGAIN);
	assert_int_equal(n, PID_MAX - 1);
	/* a free number at or above 300 is found again */
	assert_int_equal(ks_pid_free(pids[500]), 0);
	assert_int_equal(alloc_on(&t, t.root, 1, &pids[500]), 500);
	/* below 300 it is not, once the cursor wrapped (as in Linux 6.18) */
	assert_int_equal(ks_pid_free(pids[100]), 0);
	pids[100] = NULL;
	assert_int_equal(alloc_on(&t, t.root, 0, NULL), -EAGAIN);
	rt_fini(&t);
}

/* set_tid in an empty slot, in a live range, and taken. */
static void test_set_tid(void **state)
{
	struct ks_pid *a = NULL, *b = NULL, *p = NULL;
	int tid;
	struct rt t;

	rt_init(&t, state, TOPO_2, 0);
	assert_int_equal(alloc_on(&t, t.root, 0, NULL), 1);
	tid = 5000;
	assert_int_equal(ks_pid_alloc(t.root, &tid, 1, KS_PID_ALLOC_PRIVILEGED, &a), 0);
	assert_int_equal(ks_pid_nr_ns(a, t.root), 5000);
	tid = 5001;
	assert_int_equal(ks_pid_alloc(t.root, &tid, 1, KS_PID_ALLOC_PRIVILEGED, &b), 0);
	assert_int_equal(ks_pid_alloc(t.root, &tid, 1, KS_PID_ALLOC_PRIVILEGED, &p), -EEXIST);
	tid = 1;
	assert_int_equal(ks_pid_alloc(t.root, &tid, 1, KS_PID_ALLOC_PRIVILEGED, &p), -EEXIST);
	assert_int_equal(ks_rcu_read_lock(), 0);
	assert_int_equal(ks_pid_lookup(t.root, 5001, &p), 0);
	assert_ptr_equal(p, b);
	assert_int_equal(ks_pid_find_ge(t.root, 2, NULL), 5000);
	assert_int_equal(ks_rcu_read_unlock(), 0);
	/* the set_tid range is detached: it goes with its last number */
	assert_int_equal(live_ranges(&t), 2);
	assert_int_equal(ks_pid_free(a), 0);
	assert_int_equal(ks_pid_free(b), 0);
	assert_int_equal(live_ranges(&t), 1);
	/* the automatic numbers were not disturbed */
	assert_int_equal(alloc_on(&t, t.root, 0, NULL), 2);
	rt_fini(&t);
}

/* ns_last_pid moves the caller's next number. */
static void test_last_pid(void **state)
{
	struct rt t;

	rt_init(&t, state, TOPO_2, 0);
	assert_int_equal(alloc_on(&t, t.root, 0, NULL), 1);
	assert_int_equal(ks_pid_ns_set_last_pid(t.root, 999, true), 0);
	assert_int_equal(ks_pid_ns_last_pid(t.root), 999);
	assert_int_equal(alloc_on(&t, t.root, 0, NULL), 1000);
	assert_int_equal(alloc_on(&t, t.root, 0, NULL), 1001);
	/* another CPU carves after it */
	assert_int_equal(alloc_on(&t, t.root, 1, NULL), 1024);
	rt_fini(&t);
}

/* Depth 3: one per-CPU lock trip per alloc and per free, no global lock. */
static void test_depth_lock_trips(void **state)
{
	struct ks_pid_ns *ns = NULL, *parent;
	uint64_t cpu0, dir0;
	struct ks_pid *p = NULL;
	struct rt t;

	rt_init(&t, state, TOPO_2, 0);
	parent = t.root;
	assert_int_equal(alloc_on(&t, parent, 0, NULL), 1);
	for (int l = 1; l <= 3; l++) {
		assert_int_equal(ks_pid_ns_create(parent, &ns), 0);
		assert_int_equal(alloc_on(&t, ns, 0, NULL), 1);
		parent = ns;
	}
	assert_int_equal(alloc_on(&t, ns, 0, &p), 2);
	assert_int_equal(ks_pid_nr_ns(p, t.root), 5);
	assert_int_equal(ks_pid_free(p), 0);
	cpu0 = lock_acq(&t, "pcpu_range_lock");
	dir0 = lock_acq(&t, "pid_range_lock");
	for (int i = 0; i < 10; i++) {
		assert_int_equal(alloc_on(&t, ns, 0, &p), 3 + i);
		assert_int_equal(ks_pid_free(p), 0);
	}
	assert_int_equal(lock_acq(&t, "pcpu_range_lock") - cpu0, lockfree(&t) ? 0 : 20);
	assert_int_equal(lock_acq(&t, "pid_range_lock") - dir0, 0);
	rt_fini(&t);
}

/* Carving: pcpu-range takes pid_range_lock once per range, pcpu-lockfree never. */
static void test_carve_locks(void **state)
{
	struct ks_pid *p = NULL;
	uint64_t before;
	struct rt t;

	rt_init(&t, state, TOPO_1, 0);
	assert_int_equal(alloc_on(&t, t.root, 0, NULL), 1);
	before = lock_acq(&t, "pid_range_lock");
	/* 1..255 are in the first range: 2560 more need exactly 10 carves */
	for (int i = 0; i < 2560; i++) {
		assert_int_equal(alloc_on(&t, t.root, 0, &p), 2 + i);
		assert_int_equal(ks_pid_free(p), 0);
	}
	assert_int_equal(lock_acq(&t, "pid_range_lock") - before, lockfree(&t) ? 0 : 10);
	/* every exhausted range was retired without the lock */
	assert_int_equal(live_ranges(&t), 2);
	rt_fini(&t);
}

/* A failed first fork of a new namespace: its next pid is 1 again. */
static void test_first_fork_fails(void **state)
{
	enum { PID_MAX = 400 };
	struct ks_pid *last = NULL;
	struct ks_pid_ns *l1;
	struct rt t;
	int nr;

	rt_init(&t, state, TOPO_2, PID_MAX);
	while ((nr = alloc_on(&t, t.root, 0, &last)) > 0)
		;
	assert_int_equal(nr, -EAGAIN);
	assert_int_equal(ks_pid_ns_create(t.root, &l1), 0);
	/* l1 hands out 1, the root has nothing left: rolled back */
	assert_int_equal(alloc_on(&t, l1, 0, NULL), -EAGAIN);
	assert_int_equal(ks_pid_free(last), 0);
	assert_int_equal(alloc_on(&t, l1, 0, NULL), 1);
	rt_fini(&t);
}

/*
 * A populated id space: one live pid in every range, so no slot is empty.
 * Allocation adopts the detached ranges in cursor order and hands out their
 * free numbers, skipping the live ones: no steal, no new carve, and
 * pid_range_lock (pcpu-range) once per adopted range, not once per fork.
 */
static void test_adopt_populated(void **state)
{
	enum { PID_MAX = 8192, KEEP = 7, M = 4000 };
	struct ks_pid_range_stats before, after;
	static struct ks_pid *pids[PID_MAX];
	int last[2] = { 0, 0 };
	uint64_t locks;
	struct rt t;

	memset(pids, 0, sizeof(pids));
	rt_init(&t, state, TOPO_2, PID_MAX);
	for (int nr = 1; nr < PID_MAX; nr++)
		assert_int_equal(alloc_on(&t, t.root, 0, &pids[nr]), nr);
	for (int nr = 2; nr < PID_MAX; nr++) {
		if (nr % 256 != KEEP) {
			assert_int_equal(ks_pid_free(pids[nr]), 0);
			pids[nr] = NULL;
		}
	}
	assert_int_equal(live_ranges(&t), PID_MAX / 256);
	assert_int_equal(ks_pid_ns_range_stats(t.root, &before), 0);
	assert_int_equal(before.carves, PID_MAX / 256);
	locks = lock_acq(&t, "pid_range_lock");
	/* the cursor wrapped: slot 0 is below 300, slot 1 starts at 300 */
	assert_int_equal(alloc_on(&t, t.root, 0, &pids[300]), 300);
	assert_int_equal(alloc_on(&t, t.root, 1, &pids[512]), 512);
	last[0] = 300;
	last[1] = 512;
	for (int i = 2; i < M; i++) {
		struct ks_pid *p = NULL;
		int cpu = i % 2, nr = alloc_on(&t, t.root, cpu, &p);

		assert_in_range(nr, 300, PID_MAX - 1);
		assert_null(pids[nr]); /* never a live number */
		assert_true(nr % 256 != KEEP);
		assert_true(nr > last[cpu]); /* per CPU increasing within the lap */
		last[cpu] = nr;
		pids[nr] = p;
	}
	assert_int_equal(ks_pid_ns_range_stats(t.root, &after), 0);
	assert_int_equal(after.steals, before.steals);
	assert_int_equal(after.carves, before.carves);
	/* 255 free numbers per range (fewer in slot 1): about M / 255 ranges */
	assert_in_range(after.adoptions - before.adoptions, M / 255, M / 255 + 3);
	assert_int_equal(lock_acq(&t, "pid_range_lock") - locks,
			 lockfree(&t) ? 0 : after.adoptions - before.adoptions);
	for (int nr = 1; nr < PID_MAX; nr++)
		if (pids[nr])
			assert_int_equal(ks_pid_free(pids[nr]), 0);
	/* every detached range retired; the two CPUs' current ones stay */
	assert_int_equal(live_ranges(&t), 2);
	rt_fini(&t);
}

/* Counting and arguments of ks_pid_ns_range_stats(). */
static void test_range_stats_args(void **state)
{
	struct ks_pid_range_stats st;
	struct ks_pid_space *s;
	struct ks_pid_ns *root;
	struct ks_pid_opts o = { 0 };
	struct rt t;

	rt_init(&t, state, TOPO_1, 0);
	assert_int_equal(ks_pid_ns_range_stats(NULL, &st), -EINVAL);
	assert_int_equal(ks_pid_ns_range_stats(t.root, NULL), -EINVAL);
	assert_int_equal(ks_pid_ns_range_stats(t.root, &st), 0);
	assert_int_equal(st.carves + st.adoptions + st.retires + st.steals, 0);
	assert_int_equal(alloc_on(&t, t.root, 0, NULL), 1);
	assert_int_equal(ks_pid_ns_range_stats(t.root, &st), 0);
	assert_int_equal(st.carves, 1);
	/* a strategy without ranges */
	o.topo = t.env.topo;
	o.locks = t.env.locks;
	o.mem = t.env.mem;
	assert_int_equal(ks_pid_space_create("idr-relock", &o, &s), 0);
	assert_int_equal(ks_pid_ns_root(s, &root), 0);
	assert_int_equal(ks_pid_ns_range_stats(root, &st), -EOPNOTSUPP);
	assert_int_equal(ks_pid_space_destroy(s), 0);
	rt_fini(&t);
}

#define BOTH(fn)                                                  \
	cmocka_unit_test_prestate(fn, (void *)"pcpu-range"),      \
	cmocka_unit_test_prestate(fn, (void *)"pcpu-lockfree")

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_consecutive_per_cpu),
		BOTH(test_256_cpus),
		BOTH(test_retire),
		BOTH(test_remote_free),
		BOTH(test_reuse_postponed),
		BOTH(test_exhaust_and_steal),
		BOTH(test_set_tid),
		BOTH(test_last_pid),
		BOTH(test_depth_lock_trips),
		BOTH(test_first_fork_fails),
		BOTH(test_carve_locks),
		BOTH(test_adopt_populated),
		BOTH(test_range_stats_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
