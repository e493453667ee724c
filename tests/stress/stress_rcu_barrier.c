// SPDX-License-Identifier: MIT
/*
 * Stress: threads labelled with CPUs of a 64-CPU topology queue callbacks
 * and call the barrier concurrently. After each barrier, every callback the
 * caller queued before it must have run (completeness, from any worker),
 * and for "kernel"/"waitq" barriers executed never exceed calls. Runs under
 * TSan: the callback's write and the caller's read must be ordered by the
 * barrier alone.
 */
#include "ks_test.h"

#include <kscale/rcu_barrier.h>

#include <pthread.h>
#include <string.h>
#include <time.h>

#define PER_ROUND 4

struct item {
	struct ks_rcu_head head;
	int ran; /* plain: written by the callback, read after the barrier */
};

struct worker {
	struct ks_rcu_barrier *b;
	pthread_t th;
	int cpu;
	double seconds;
	uint64_t rounds, missed;
	int err;
};

static void item_fn(struct ks_rcu_head *h)
{
	ks_container_of(h, struct item, head)->ran = 1;
}

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	struct item items[PER_ROUND];
	uint64_t end;

	ks_cpu_set_current(w->cpu);
	ks_rcu_register_thread();
	end = ks_clock_ns() + (uint64_t)(w->seconds * 1e9);
	while (ks_clock_ns() < end) {
		for (int i = 0; i < PER_ROUND; i++) {
			items[i].ran = 0;
			ks_cpu_set_current((w->cpu + i * 7) % 64);
			if (ks_rcu_barrier_call_rcu(w->b, &items[i].head, item_fn))
				w->err = 1;
		}
		ks_cpu_set_current(w->cpu);
		if (ks_rcu_barrier_wait(w->b))
			w->err = 1;
		for (int i = 0; i < PER_ROUND; i++)
			w->missed += !items[i].ran;
		w->rounds++;
	}
	ks_rcu_unregister_thread();
	return NULL;
}

static void stress_impl(void **state)
{
	const char *impl = *state;
	int nr = ks_test_stress_threads();
	struct ks_rcu_barrier_opts o = { 0 };
	struct ks_rcu_barrier_stats st;
	struct ks_rcu_barrier *b;
	struct ks_test_env e;
	struct worker w[64];
	uint64_t rounds = 0;

	if (nr > 64)
		nr = 64;
	ks_test_env_init(&e, "synthetic:pack:2 numa:2 core:8 pu:2");
	o.topo = e.topo;
	o.locks = e.locks;
	o.mem = e.mem;
	o.max_workers = 16;
	assert_int_equal(ks_rcu_barrier_create(impl, &o, &b), 0);
	memset(w, 0, sizeof(w));
	for (int i = 0; i < nr; i++) {
		w[i].b = b;
		w[i].cpu = (i * 8) % 64;
		w[i].seconds = ks_test_stress_seconds() / 3;
		assert_int_equal(pthread_create(&w[i].th, NULL, worker_fn, &w[i]), 0);
	}
	for (int i = 0; i < nr; i++) {
		pthread_join(w[i].th, NULL);
		assert_int_equal(w[i].err, 0);
		assert_int_equal(w[i].missed, 0);
		rounds += w[i].rounds;
	}
	assert_int_equal(ks_rcu_barrier_stats(b, &st), 0);
	assert_int_equal(st.calls, rounds);
	assert_int_equal(st.callbacks, rounds * PER_ROUND);
	assert_true(st.executed >= 1);
	if (strcmp(impl, "native"))
		assert_true(st.executed + st.early == st.calls);
	else
		assert_int_equal(st.executed, st.calls);
	assert_int_equal(ks_rcu_barrier_destroy(b), 0);
	ks_test_env_fini(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate(stress_impl, "native"),
		cmocka_unit_test_prestate(stress_impl, "kernel"),
		cmocka_unit_test_prestate(stress_impl, "waitq"),
	};

	ks_rcu_register_thread();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
