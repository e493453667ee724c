// SPDX-License-Identifier: MIT
/*
 * Many threads, each labelled with a CPU of a 64-CPU synthetic topology,
 * allocate, free, look up and walk pids at random in three nested
 * namespaces with small pid_max values (so numbers wrap and are reused
 * quickly), and now and then move ns_last_pid, for every strategy. Checked: a live number is never handed out
 * twice in a namespace (an owner table per namespace, claimed with a CAS
 * after allocation and released before the free), and a lookup or find_ge
 * never returns a pid whose number in that namespace is not the one asked
 * for. Runs under TSan (label "concurrent").
 */
#include "ks_test.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NR_NS 3
#define HELD_MAX 24
static const int ns_pid_max[NR_NS] = { 1024, 1024, 600 };

struct shared {
	struct ks_pid_ns *ns[NR_NS];
	struct ks_pid **owner[NR_NS]; /* [nr] = the live pid holding nr */
	int stop;
	uint64_t ops, dup, wrong;
};

struct worker {
	pthread_t th;
	int cpu;
	unsigned int seed;
	struct shared *sh;
	struct ks_pid *held[HELD_MAX];
	int nheld;
};

static unsigned int rnd(unsigned int *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/* Claim the pid's number at every level of the namespaces we watch. */
static void claim(struct shared *sh, struct ks_pid *pid)
{
	for (int i = 0; i < NR_NS; i++) {
		int nr = ks_pid_nr_ns(pid, sh->ns[i]);
		struct ks_pid *none = NULL;

		if (nr <= 0)
			continue;
		if (nr >= ns_pid_max[i] ||
		    !__atomic_compare_exchange_n(&sh->owner[i][nr], &none, pid, false,
						 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			__atomic_fetch_add(&sh->dup, 1, __ATOMIC_RELAXED);
	}
}

static void release(struct shared *sh, struct ks_pid *pid)
{
	for (int i = 0; i < NR_NS; i++) {
		int nr = ks_pid_nr_ns(pid, sh->ns[i]);

		if (nr > 0 && nr < ns_pid_max[i])
			__atomic_store_n(&sh->owner[i][nr], NULL, __ATOMIC_RELEASE);
	}
}

static void drop_one(struct worker *w, int k)
{
	struct ks_pid *pid = w->held[k];

	release(w->sh, pid);
	assert_int_equal(ks_pid_free(pid), 0);
	w->held[k] = w->held[--w->nheld];
}

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	struct shared *sh = w->sh;
	uint64_t ops = 0;

	ks_cpu_set_current(w->cpu);
	ks_rcu_register_thread();
	do { /* at least one pass, however late this thread is scheduled */
		unsigned int r = rnd(&w->seed);
		int which = r % NR_NS;
		struct ks_pid_ns *ns = sh->ns[which];
		struct ks_pid *pid;

		if ((r >> 12) % 64 == 0) {
			/* ns_last_pid written while others allocate (no lock) */
			ks_pid_ns_set_last_pid(ns, rnd(&w->seed) % ns_pid_max[which], true);
			ops++;
			continue;
		}
		switch ((r >> 4) % 4) {
		case 0: /* alloc */
			if (w->nheld == HELD_MAX) {
				drop_one(w, rnd(&w->seed) % w->nheld);
				break;
			}
			if (!ks_pid_alloc(ns, NULL, 0, 0, &pid)) {
				claim(sh, pid);
				w->held[w->nheld++] = pid;
			}
			break;
		case 1: /* free */
			if (w->nheld)
				drop_one(w, rnd(&w->seed) % w->nheld);
			break;
		case 2: { /* lookup */
			int nr = 1 + rnd(&w->seed) % (ns_pid_max[which] - 1);

			ks_rcu_read_lock();
			if (!ks_pid_lookup(ns, nr, &pid) && ks_pid_nr_ns(pid, ns) != nr)
				__atomic_fetch_add(&sh->wrong, 1, __ATOMIC_RELAXED);
			ks_rcu_read_unlock();
			break;
		}
		default: { /* find_ge */
			int nr = rnd(&w->seed) % ns_pid_max[which], got;

			ks_rcu_read_lock();
			got = ks_pid_find_ge(ns, nr, &pid);
			if (got > 0 && (got < nr || ks_pid_nr_ns(pid, ns) != got))
				__atomic_fetch_add(&sh->wrong, 1, __ATOMIC_RELAXED);
			ks_rcu_read_unlock();
			break;
		}
		}
		ops++;
	} while (!__atomic_load_n(&sh->stop, __ATOMIC_RELAXED));
	while (w->nheld)
		drop_one(w, w->nheld - 1);
	__atomic_fetch_add(&sh->ops, ops, __ATOMIC_RELAXED);
	ks_rcu_unregister_thread();
	return NULL;
}

static void stress_strategy(void **state)
{
	const char *strategy = *state;
	int nthreads = ks_test_stress_threads();
	double secs = ks_test_stress_seconds();
	struct ks_pid_opts o = { 0 };
	struct ks_test_env e;
	struct ks_pid_space *s;
	struct ks_pid *inits[NR_NS];
	struct worker *w;
	struct shared sh;
	int ncpu;

	memset(&sh, 0, sizeof(sh));
	ks_test_env_init(&e, "synthetic:pack:2 numa:2 core:8 pu:2");
	ncpu = ks_topo_nr_cpus(e.topo);
	o.topo = e.topo;
	o.locks = e.locks;
	o.mem = e.mem;
	o.pid_max = ns_pid_max[0];
	assert_int_equal(ks_pid_space_create(strategy, &o, &s), 0);
	ks_pid_ns_root(s, &sh.ns[0]);
	for (int i = 1; i < NR_NS; i++) {
		assert_int_equal(ks_pid_ns_create(sh.ns[i - 1], &sh.ns[i]), 0);
		assert_int_equal(ks_pid_ns_set_pid_max(sh.ns[i], ns_pid_max[i]), 0);
	}
	for (int i = 0; i < NR_NS; i++) {
		sh.owner[i] = calloc(ns_pid_max[i], sizeof(*sh.owner[i]));
		assert_int_equal(ks_pid_alloc(sh.ns[i], NULL, 0, 0, &inits[i]), 0);
		claim(&sh, inits[i]);
	}
	w = calloc(nthreads, sizeof(*w));
	for (int i = 0; i < nthreads; i++) {
		w[i].cpu = (i * 7) % ncpu;
		w[i].seed = 0x9e3779b9u * (i + 1);
		w[i].sh = &sh;
		assert_int_equal(pthread_create(&w[i].th, NULL, worker_fn, &w[i]), 0);
	}
	{
		struct timespec ts = { (time_t)secs, (long)((secs - (time_t)secs) * 1e9) };

		nanosleep(&ts, NULL);
	}
	__atomic_store_n(&sh.stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < nthreads; i++)
		pthread_join(w[i].th, NULL);
	fprintf(stderr, "%s: %d threads, %llu ops\n", strategy, nthreads,
		(unsigned long long)sh.ops);
	assert_int_equal(sh.dup, 0);
	assert_int_equal(sh.wrong, 0);
	assert_true(sh.ops > 0);
	for (int i = NR_NS - 1; i >= 0; i--) {
		release(&sh, inits[i]);
		assert_int_equal(ks_pid_free(inits[i]), 0);
	}
	for (int i = 0; i < NR_NS; i++) {
		for (int nr = 0; nr < ns_pid_max[i]; nr++)
			assert_null(sh.owner[i][nr]);
		free(sh.owner[i]);
	}
	free(w);
	assert_int_equal(ks_pid_space_destroy(s), 0);
	ks_test_env_fini(&e);
}

int main(void)
{
	const struct ks_strategy_info *info;
	struct CMUnitTest *tests;
	size_t n;
	int ret;

	ks_rcu_register_thread();
	info = ks_pid_strategies(&n);
	tests = calloc(n, sizeof(*tests));
	for (size_t i = 0; i < n; i++) {
		tests[i].name = info[i].name;
		tests[i].test_func = stress_strategy;
		tests[i].initial_state = (void *)info[i].name;
	}
	ret = _cmocka_run_group_tests("stress_pid", tests, n, NULL, NULL);
	free(tests);
	ks_rcu_unregister_thread();
	return ret;
}
