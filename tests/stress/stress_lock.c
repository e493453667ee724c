// SPDX-License-Identifier: MIT
/*
 * Stress: threads labelled with distinct CPUs hammer one lock protecting a
 * plain counter. The counter must equal the sum of the threads' increments
 * (mutual exclusion), and the class's acquisitions must equal the operations
 * done (no count lost with many CPUs' slots in play). Runs under TSan.
 */
#include "ks_test.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum kind { SPIN, MUTEX, RWSEM };

struct stress {
	enum kind kind;
	struct ks_spinlock spin;
	struct ks_mutex mutex;
	struct ks_rwsem rwsem;
	uint64_t counter; /* plain: only ever touched under the lock */
	bool stop;
	pthread_barrier_t start;
};

struct worker {
	struct stress *s;
	pthread_t th;
	int cpu;
	uint64_t ops;    /* acquisitions made */
	uint64_t writes; /* increments of the counter */
	bool went_back;  /* a reader saw the counter decrease */
} ks_cacheline_aligned;

static void lock_excl(struct stress *s, uint64_t i)
{
	/* Every 8th acquisition tries first, so trylock is counted too. */
	bool try = (i & 7) == 7;

	switch (s->kind) {
	case SPIN:
		if (!try || ks_spin_trylock(&s->spin) != 1)
			ks_spin_lock(&s->spin);
		break;
	case MUTEX:
		if (!try || ks_mutex_trylock(&s->mutex) != 1)
			ks_mutex_lock(&s->mutex);
		break;
	case RWSEM:
		if (!try || ks_rwsem_write_trylock(&s->rwsem) != 1)
			ks_rwsem_write_lock(&s->rwsem);
		break;
	}
}

static void unlock_excl(struct stress *s)
{
	switch (s->kind) {
	case SPIN:
		ks_spin_unlock(&s->spin);
		break;
	case MUTEX:
		ks_mutex_unlock(&s->mutex);
		break;
	case RWSEM:
		ks_rwsem_write_unlock(&s->rwsem);
		break;
	}
}

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	struct stress *s = w->s;
	uint64_t seen = 0;

	ks_cpu_set_current(w->cpu);
	pthread_barrier_wait(&s->start);
	do {
		if (s->kind == RWSEM && (w->ops & 3)) {
			/* Three reads for one write: readers run together. */
			if ((w->ops & 7) == 7 && ks_rwsem_read_trylock(&s->rwsem) == 1)
				;
			else
				ks_rwsem_read_lock(&s->rwsem);
			if (s->counter < seen)
				w->went_back = true;
			seen = s->counter;
			ks_rwsem_read_unlock(&s->rwsem);
		} else {
			lock_excl(s, w->ops);
			s->counter++;
			unlock_excl(s);
			w->writes++;
		}
		w->ops++;
		/* Relaxed: the stop flag orders nothing; join does. */
	} while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED));
	return NULL;
}

static void test_stress(void **state)
{
	const char *name = *state;
	struct ks_test_env env;
	struct ks_lock_class *cls;
	struct ks_lock_class_stats st[4];
	struct stress *s;
	struct worker *w;
	uint64_t ops = 0, writes = 0;
	double secs = ks_test_stress_seconds();
	struct timespec ts = { .tv_sec = (time_t)secs,
			       .tv_nsec = (long)((secs - (time_t)secs) * 1e9) };
	size_t n = 0;
	int nr_threads = ks_test_stress_threads();

	ks_test_env_init(&env, "synthetic:pack:4 numa:2 core:16 pu:2");
	if (nr_threads > ks_topo_nr_cpus(env.topo))
		nr_threads = ks_topo_nr_cpus(env.topo); /* keep labels distinct */
	s = calloc(1, sizeof(*s));
	w = calloc(nr_threads, sizeof(*w));
	assert_non_null(s);
	assert_non_null(w);
	s->kind = !strcmp(name, "spin") ? SPIN : !strcmp(name, "mutex") ? MUTEX : RWSEM;
	assert_int_equal(ks_lock_class_get(env.locks, name, KS_LOCK_GLOBAL, &cls), 0);
	assert_int_equal(ks_spin_init(&s->spin, cls), 0);
	assert_int_equal(ks_mutex_init(&s->mutex, cls), 0);
	assert_int_equal(ks_rwsem_init(&s->rwsem, cls), 0);
	assert_int_equal(pthread_barrier_init(&s->start, NULL, nr_threads + 1), 0);

	for (int i = 0; i < nr_threads; i++) {
		/* Spread the labels over the topology: CPUs in different
		 * packages and nodes, as pinned threads would be. */
		w[i].s = s;
		w[i].cpu = i * (ks_topo_nr_cpus(env.topo) / nr_threads);
		assert_int_equal(pthread_create(&w[i].th, NULL, worker_fn, &w[i]), 0);
	}
	pthread_barrier_wait(&s->start);
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	__atomic_store_n(&s->stop, true, __ATOMIC_RELAXED);
	for (int i = 0; i < nr_threads; i++) {
		assert_int_equal(pthread_join(w[i].th, NULL), 0);
		assert_false(w[i].went_back);
		assert_true(w[i].ops >= 1);
		ops += w[i].ops;
		writes += w[i].writes;
	}

	assert_int_equal(s->counter, writes);
	assert_int_equal(ks_lockstat_read(env.locks, st, KS_ARRAY_SIZE(st), &n), 0);
	assert_int_equal(n, 1);
	if (ks_lockstat_enabled()) {
		assert_int_equal(st[0].acquisitions, ops);
		/* Each thread acquired at least once, on its own CPU. */
		if (nr_threads > 1)
			assert_true(st[0].bounces >= 1);
		assert_true(st[0].bounces <= st[0].acquisitions);
		assert_true(st[0].contentions <= st[0].acquisitions);
		assert_true(st[0].wait_max_ns <= st[0].wait_ns);
		assert_true(st[0].hold_max_ns <= st[0].hold_ns);
		print_message("%s: %d threads, %llu ops, %llu contentions, %llu bounces\n",
			      name, nr_threads, (unsigned long long)ops,
			      (unsigned long long)st[0].contentions,
			      (unsigned long long)st[0].bounces);
	} else {
		assert_int_equal(st[0].acquisitions, 0);
	}

	assert_int_equal(ks_spin_destroy(&s->spin), 0);
	assert_int_equal(ks_mutex_destroy(&s->mutex), 0);
	assert_int_equal(ks_rwsem_destroy(&s->rwsem), 0);
	pthread_barrier_destroy(&s->start);
	free(w);
	free(s);
	ks_test_env_fini(&env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate(test_stress, (void *)"spin"),
		cmocka_unit_test_prestate(test_stress, (void *)"mutex"),
		cmocka_unit_test_prestate(test_stress, (void *)"rwsem"),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
