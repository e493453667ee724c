// SPDX-License-Identifier: MIT
/*
 * Remote frees under load, for every strategy and above all for the per-CPU
 * range ones: threads labelled with CPUs of a 64-CPU topology allocate pids
 * at depth 0..2, swap them through a shared exchange so that most frees
 * happen on another CPU than the allocation, look up random numbers, and
 * now and then move ns_last_pid or ask for a set_tid. Every number handed
 * out must be unique in its namespace at that moment (an ownership table
 * per level), and a lookup must return a pid carrying the number asked for.
 */
#include "ks_test.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define TOPO_64 "synthetic:pack:2 numa:2 core:8 pu:2"
#define LEVELS 3
#define NS_PID_MAX 65536
#define XCHG 512

struct shared {
	struct ks_pid_space *s;
	struct ks_pid_ns *ns[LEVELS];
	uint8_t *owned[LEVELS]; /* [NS_PID_MAX]: 1 while a pid holds the number */
	struct ks_pid *xchg[XCHG];
	double seconds;
	int pid_max; /* <= NS_PID_MAX, every level */
	int failures; /* atomic */
	uint64_t ops; /* atomic */
};

struct worker {
	struct shared *sh;
	int cpu;
	uint64_t rnd;
	pthread_t th;
};

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void note_failure(struct shared *sh)
{
	__atomic_fetch_add(&sh->failures, 1, __ATOMIC_RELAXED);
}

/* Claim every number of @pid; a second owner is a duplicate. */
static void claim(struct shared *sh, struct ks_pid *pid, int level)
{
	for (int l = 0; l <= level; l++) {
		int nr = ks_pid_nr_ns(pid, sh->ns[l]);

		if (nr < 1 || nr >= sh->pid_max ||
		    __atomic_exchange_n(&sh->owned[l][nr], 1, __ATOMIC_ACQ_REL))
			note_failure(sh);
	}
}

static void release(struct shared *sh, struct ks_pid *pid)
{
	int level = ks_pid_level(pid);

	for (int l = 0; l <= level; l++) {
		int nr = ks_pid_nr_ns(pid, sh->ns[l]);

		if (nr > 0 && nr < sh->pid_max)
			__atomic_store_n(&sh->owned[l][nr], 0, __ATOMIC_RELEASE);
	}
	if (ks_pid_free(pid))
		note_failure(sh);
}

static void *work(void *arg)
{
	struct worker *w = arg;
	struct shared *sh = w->sh;
	uint64_t end = ks_clock_ns() + (uint64_t)(sh->seconds * 1e9), n = 0;

	ks_cpu_set_current(w->cpu);
	if (ks_rcu_register_thread())
		note_failure(sh);
	do { /* at least one pass, however late this thread starts */
		uint64_t r = rnd(&w->rnd);
		int level = (int)(r % LEVELS), ret;
		struct ks_pid *pid, *old, *p = NULL;

		for (int i = 0; i < 64; i++, n++) {
			r = rnd(&w->rnd);
			if (r % 97 == 0) {
				int tid = 300 + (int)((r >> 32) % (uint64_t)(sh->pid_max - 300));

				ret = ks_pid_alloc(sh->ns[0], &tid, 1, KS_PID_ALLOC_PRIVILEGED, &pid);
				if (ret == -EEXIST)
					continue;
				level = 0;
			} else {
				ret = ks_pid_alloc(sh->ns[level], NULL, 0, 0, &pid);
			}
			if (ret == -EAGAIN)
				continue;
			if (ret) {
				note_failure(sh);
				continue;
			}
			claim(sh, pid, level);
			old = __atomic_exchange_n(&sh->xchg[(r >> 8) % XCHG], pid, __ATOMIC_ACQ_REL);
			if (old)
				release(sh, old);
			if (r % 1009 == 0)
				ks_pid_ns_set_last_pid(sh->ns[2], (int)((r >> 40) % 1000), true);

			ks_rcu_read_lock();
			{
				int nr = 1 + (int)((r >> 20) % (uint64_t)(sh->pid_max - 1));

				if (!ks_pid_lookup(sh->ns[0], nr, &p) && ks_pid_nr_ns(p, sh->ns[0]) != nr)
					note_failure(sh);
				nr = ks_pid_find_ge(sh->ns[1], nr, &p);
				if (nr > 0 && ks_pid_nr_ns(p, sh->ns[1]) != nr)
					note_failure(sh);
			}
			ks_rcu_read_unlock();
		}
	} while (ks_clock_ns() < end);
	__atomic_fetch_add(&sh->ops, n, __ATOMIC_RELAXED);
	ks_rcu_unregister_thread();
	return NULL;
}

static void run_strategy(const char *strategy, double seconds, int pid_max)
{
	struct ks_pid_opts o = { 0 };
	struct ks_test_env env;
	struct shared sh;
	int nthreads = ks_test_stress_threads();
	struct worker *w = calloc(nthreads, sizeof(*w));
	struct ks_pid *init[LEVELS];

	assert_non_null(w);
	memset(&sh, 0, sizeof(sh));
	sh.seconds = seconds;
	sh.pid_max = pid_max;
	ks_test_env_init(&env, TOPO_64);
	o.topo = env.topo;
	o.locks = env.locks;
	o.mem = env.mem;
	o.pid_max = pid_max;
	assert_int_equal(ks_pid_space_create(strategy, &o, &sh.s), 0);
	assert_int_equal(ks_pid_ns_root(sh.s, &sh.ns[0]), 0);
	for (int l = 0; l < LEVELS; l++) {
		sh.owned[l] = calloc(NS_PID_MAX, 1);
		assert_non_null(sh.owned[l]);
		if (l) {
			assert_int_equal(ks_pid_ns_create(sh.ns[l - 1], &sh.ns[l]), 0);
			assert_int_equal(ks_pid_ns_set_pid_max(sh.ns[l], pid_max), 0);
		}
		assert_int_equal(ks_pid_alloc(sh.ns[l], NULL, 0, 0, &init[l]), 0);
		claim(&sh, init[l], l);
	}
	for (int i = 0; i < nthreads; i++) {
		w[i].sh = &sh;
		w[i].cpu = (i * 8 + i / 8) % 64;
		w[i].rnd = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1);
		assert_int_equal(pthread_create(&w[i].th, NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < nthreads; i++)
		pthread_join(w[i].th, NULL);
	for (int i = 0; i < XCHG; i++) {
		if (sh.xchg[i])
			release(&sh, sh.xchg[i]);
	}
	{
		struct ks_pid_range_stats rs;

		if (!ks_pid_ns_range_stats(sh.ns[0], &rs))
			print_message("%s pid_max %d: %llu ops; root: %llu carves, %llu adoptions, "
				      "%llu retires, %llu steals\n",
				      strategy, pid_max, (unsigned long long)sh.ops,
				      (unsigned long long)rs.carves, (unsigned long long)rs.adoptions,
				      (unsigned long long)rs.retires, (unsigned long long)rs.steals);
	}
	assert_int_equal(sh.failures, 0);
	assert_true(sh.ops > 0);
	assert_int_equal(ks_pid_space_destroy(sh.s), 0);
	for (int l = 0; l < LEVELS; l++)
		free(sh.owned[l]);
	free(w);
	ks_test_env_fini(&env);
}

static void test_remote_frees(void **state)
{
	size_t n = 0;
	const struct ks_strategy_info *info = ks_pid_strategies(&n);

	assert_int_equal(ks_rcu_register_thread(), 0);
	for (size_t i = 0; i < n; i++)
		run_strategy(info[i].name, ks_test_stress_seconds() / (double)n, NS_PID_MAX);
	assert_int_equal(ks_rcu_unregister_thread(), 0);
}

/*
 * A small, populated id space for the range strategies: XCHG live pids
 * over 16 ranges leave no empty slot, so carving adopts detached ranges
 * while remote frees, set_tid and steals hit them, and pcpu-range moves a
 * range's lock under frees waiting for the old one.
 */
static void test_populated(void **state)
{
	(void)state;
	assert_int_equal(ks_rcu_register_thread(), 0);
	run_strategy("pcpu-range", ks_test_stress_seconds() / 4, 4096);
	run_strategy("pcpu-lockfree", ks_test_stress_seconds() / 4, 4096);
	assert_int_equal(ks_rcu_unregister_thread(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_remote_frees),
		cmocka_unit_test(test_populated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
