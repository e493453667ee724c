// SPDX-License-Identifier: MIT
/*
 * rcu_barrier models: completeness (every callback queued before a barrier
 * has run when it returns), the kernel's sharing rule, per-CPU workers that
 * follow the topology, and bad input.
 */
#include "ks_test.h"

#include <kscale/rcu_barrier.h>

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

struct cb {
	struct ks_rcu_head head;
	int *ran;
	int slow_ms;
};

static void cb_fn(struct ks_rcu_head *h)
{
	struct cb *c = ks_container_of(h, struct cb, head);

	if (c->slow_ms)
		sleep_ms(c->slow_ms);
	__atomic_fetch_add(c->ran, 1, __ATOMIC_RELEASE);
}

static int setup_reg(void **state)
{
	(void)state;
	ks_rcu_register_thread();
	return 0;
}

static int teardown_reg(void **state)
{
	(void)state;
	ks_rcu_unregister_thread();
	return 0;
}

static void test_impls_listed(void **state)
{
	size_t n = 0;
	const struct ks_strategy_info *s = ks_rcu_barrier_impls(&n);

	(void)state;
	assert_int_equal(n, 3);
	assert_string_equal(s[0].name, "native");
	assert_string_equal(s[1].name, "kernel");
	assert_string_equal(s[2].name, "waitq");
}

/* Every callback queued before the barrier, from every CPU, has run. */
static void test_complete(void **state)
{
	const char *impl = *state;

	for (size_t t = 0; t < ks_test_nr_topologies; t++) {
		struct ks_rcu_barrier_opts o = { 0 };
		struct ks_rcu_barrier_stats st;
		struct ks_rcu_barrier *b;
		struct ks_test_env e;
		struct cb cbs[16];
		int ran = 0, nr;

		ks_test_env_init(&e, ks_test_topologies[t]);
		o.topo = e.topo;
		o.locks = e.locks;
		o.mem = e.mem;
		o.max_workers = 8;
		assert_int_equal(ks_rcu_barrier_create(impl, &o, &b), 0);
		nr = ks_topo_nr_cpus(e.topo);
		for (int i = 0; i < 16; i++) {
			cbs[i].ran = &ran;
			/* The last one is slow: a barrier that does not wait fails. */
			cbs[i].slow_ms = i == 15 ? 30 : 0;
			ks_cpu_set_current(i % nr);
			assert_int_equal(ks_rcu_barrier_call_rcu(b, &cbs[i].head, cb_fn), 0);
		}
		ks_cpu_set_current(-1);
		assert_int_equal(ks_rcu_barrier_wait(b), 0);
		assert_int_equal(__atomic_load_n(&ran, __ATOMIC_ACQUIRE), 16);
		assert_int_equal(ks_rcu_barrier_stats(b, &st), 0);
		assert_int_equal(st.calls, 1);
		assert_int_equal(st.executed, 1);
		assert_int_equal(st.callbacks, 16);
		assert_int_equal(st.workers, nr < 8 ? nr : 8);
		assert_int_equal(ks_rcu_barrier_sequence(b), 4);
		assert_string_equal(ks_rcu_barrier_impl_name(b), impl);
		assert_int_equal(ks_rcu_barrier_destroy(b), 0);
		ks_test_env_fini(&e);
	}
}

/* One worker per CPU: a 6-CPU and a 40-CPU machine differ. */
static void test_workers_follow_topology(void **state)
{
	const char *specs[] = { "synthetic:core:6 pu:1", "synthetic:pack:2 core:20 pu:1" };
	const int want[] = { 6, 40 };

	(void)state;
	for (int i = 0; i < 2; i++) {
		struct ks_rcu_barrier_opts o = { 0 };
		struct ks_rcu_barrier_stats st;
		struct ks_rcu_barrier *b;
		struct ks_test_env e;

		ks_test_env_init(&e, specs[i]);
		o.topo = e.topo;
		assert_int_equal(ks_rcu_barrier_create("native", &o, &b), 0);
		assert_int_equal(ks_rcu_barrier_stats(b, &st), 0);
		assert_int_equal(st.workers, want[i]);
		assert_int_equal(ks_rcu_barrier_destroy(b), 0);
		ks_test_env_fini(&e);
	}
}

struct caller {
	struct ks_rcu_barrier *b;
	int ret;
	pthread_t th;
};

static void *caller_fn(void *arg)
{
	struct caller *c = arg;

	ks_rcu_register_thread();
	c->ret = ks_rcu_barrier_wait(c->b);
	ks_rcu_unregister_thread();
	return NULL;
}

/*
 * Callers that arrive while a barrier runs need one that starts after
 * their snapshot: "kernel" and "waitq" run exactly one more for all of
 * them (kernel/rcu/tree.c's rule), "native" runs one each.
 */
static void test_sharing_rule(void **state)
{
	const char *impl = *state;
	struct ks_rcu_barrier_opts o = { 0 };
	struct ks_rcu_barrier_stats st;
	struct ks_rcu_barrier *b;
	struct ks_test_env e;
	struct caller first, late[3];

	ks_test_env_init(&e, "synthetic:core:2 pu:1");
	o.topo = e.topo;
	o.locks = e.locks;
	o.mem = e.mem;
	o.gp_delay_us = 150000; /* a barrier long enough to arrive during it */
	assert_int_equal(ks_rcu_barrier_create(impl, &o, &b), 0);
	first.b = b;
	assert_int_equal(pthread_create(&first.th, NULL, caller_fn, &first), 0);
	if (strcmp(impl, "native")) {
		while (!(ks_rcu_barrier_sequence(b) & 3))
			sleep_ms(1);
	} else {
		sleep_ms(20);
	}
	for (int i = 0; i < 3; i++) {
		late[i].b = b;
		assert_int_equal(pthread_create(&late[i].th, NULL, caller_fn, &late[i]), 0);
	}
	pthread_join(first.th, NULL);
	for (int i = 0; i < 3; i++) {
		pthread_join(late[i].th, NULL);
		assert_int_equal(late[i].ret, 0);
	}
	assert_int_equal(first.ret, 0);
	assert_int_equal(ks_rcu_barrier_stats(b, &st), 0);
	assert_int_equal(st.calls, 4);
	if (!strcmp(impl, "native")) {
		assert_int_equal(st.executed, 4);
		assert_int_equal(st.early, 0);
	} else {
		assert_int_equal(st.executed, 2);
		assert_int_equal(st.early, 2);
		assert_true(st.waiters >= 3);
		assert_int_equal(ks_rcu_barrier_sequence(b), 8);
	}
	assert_true(st.max_waiting >= 2);
	assert_true(st.wait_ns >= 4 * 100000000ull);
	assert_int_equal(ks_rcu_barrier_destroy(b), 0);
	ks_test_env_fini(&e);
}

struct from_cb {
	struct ks_rcu_head head;
	struct ks_rcu_barrier *b;
	int ret, sync_ret, done;
};

static void barrier_from_cb(struct ks_rcu_head *h)
{
	struct from_cb *f = ks_container_of(h, struct from_cb, head);

	f->ret = ks_rcu_barrier_wait(f->b);
	f->sync_ret = ks_rcu_barrier_synchronize(f->b);
	__atomic_store_n(&f->done, 1, __ATOMIC_RELEASE);
}

static void *unregistered_fn(void *arg)
{
	struct caller *c = arg;

	c->ret = ks_rcu_barrier_wait(c->b);
	return NULL;
}

static void test_bad_input(void **state)
{
	const char *impl = *state;
	struct ks_rcu_barrier_opts o = { 0 };
	struct ks_rcu_barrier_stats st;
	struct ks_rcu_barrier *b = NULL;
	struct ks_test_env e;
	struct from_cb f = { 0 };
	struct caller c = { 0 };
	int ran = 0;
	struct cb one = { .ran = &ran };

	ks_test_env_init(&e, "synthetic:core:2 pu:1");
	o.topo = e.topo;
	assert_int_equal(ks_rcu_barrier_create(impl, &o, NULL), -EINVAL);
	assert_int_equal(ks_rcu_barrier_create("nope", &o, &b), -EINVAL);
	assert_null(b);
	assert_int_equal(ks_rcu_barrier_wait(NULL), -EINVAL);
	assert_int_equal(ks_rcu_barrier_synchronize(NULL), -EINVAL);
	assert_int_equal(ks_rcu_barrier_stats(NULL, &st), -EINVAL);
	assert_int_equal(ks_rcu_barrier_destroy(NULL), 0);
	assert_int_equal(ks_rcu_barrier_create(impl, &o, &b), 0);
	assert_int_equal(ks_rcu_barrier_call_rcu(b, NULL, cb_fn), -EINVAL);
	assert_int_equal(ks_rcu_barrier_call_rcu(b, &one.head, NULL), -EINVAL);
	assert_int_equal(ks_rcu_barrier_stats(b, NULL), -EINVAL);

	/* Inside a read-side section: the barrier would never end. */
	assert_int_equal(ks_rcu_read_lock(), 0);
	assert_int_equal(ks_rcu_barrier_wait(b), -EDEADLK);
	assert_int_equal(ks_rcu_barrier_synchronize(b), -EDEADLK);
	assert_int_equal(ks_rcu_barrier_destroy(b), -EDEADLK);
	/* call_rcu is fine there. */
	assert_int_equal(ks_rcu_barrier_call_rcu(b, &one.head, cb_fn), 0);
	assert_int_equal(ks_rcu_read_unlock(), 0);

	/* From a callback: the barrier would wait for itself. */
	f.b = b;
	assert_int_equal(ks_rcu_barrier_call_rcu(b, &f.head, barrier_from_cb), 0);
	assert_int_equal(ks_rcu_barrier_wait(b), 0);
	assert_int_equal(__atomic_load_n(&f.done, __ATOMIC_ACQUIRE), 1);
	assert_int_equal(f.ret, -EDEADLK);
	assert_int_equal(f.sync_ret, -EDEADLK);
	assert_int_equal(ran, 1);

	/* An unregistered thread. */
	c.b = b;
	assert_int_equal(pthread_create(&c.th, NULL, unregistered_fn, &c), 0);
	pthread_join(c.th, NULL);
	assert_int_equal(c.ret, -EPERM);

	assert_int_equal(ks_rcu_barrier_stats(b, &st), 0);
	assert_true(st.errors >= 5);
	assert_int_equal(ks_rcu_barrier_synchronize(b), 0);
	assert_int_equal(ks_rcu_barrier_stats(b, &st), 0);
	assert_true(st.grace_periods >= 2);
	assert_int_equal(ks_rcu_barrier_destroy(b), 0);
	ks_test_env_fini(&e);
}

#define EACH(fn) \
	cmocka_unit_test_prestate(fn, "native"), cmocka_unit_test_prestate(fn, "kernel"), \
	cmocka_unit_test_prestate(fn, "waitq")

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_impls_listed),
		EACH(test_complete),
		cmocka_unit_test(test_workers_follow_topology),
		EACH(test_sharing_rule),
		EACH(test_bad_input),
	};

	return cmocka_run_group_tests(tests, setup_reg, teardown_reg);
}
