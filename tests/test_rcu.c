// SPDX-License-Identifier: MIT
/*
 * rcu: registration, read-side nesting, the misuse the layer refuses (and
 * liburcu would not), call_rcu and barrier, and that neither a callback nor a
 * grace period completes while a reader that predates it is still inside its
 * section. Objects are ks_mem allocations, so every test ends with the leak
 * oracle.
 */
#define _GNU_SOURCE
#include "ks_test.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int load(const int *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

static void store(int *p, int v)
{
	__atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}

static void wait_for(const int *p, int v)
{
	while (load(p) != v)
		sleep_ms(1);
}

static void test_register(void **state)
{
	assert_false(ks_rcu_thread_registered());
	assert_int_equal(ks_rcu_unregister_thread(), -EINVAL);
	assert_int_equal(ks_rcu_register_thread(), 0);
	assert_true(ks_rcu_thread_registered());
	assert_int_equal(ks_rcu_register_thread(), -EALREADY);
	assert_int_equal(ks_rcu_read_lock(), 0);
	assert_int_equal(ks_rcu_unregister_thread(), -EBUSY);
	assert_int_equal(ks_rcu_read_unlock(), 0);
	assert_int_equal(ks_rcu_unregister_thread(), 0);
	assert_false(ks_rcu_thread_registered());
	assert_int_equal(ks_rcu_unregister_thread(), -EINVAL);
	/* Again, after a full cycle. */
	assert_int_equal(ks_rcu_register_thread(), 0);
	assert_int_equal(ks_rcu_synchronize(), 0);
	assert_int_equal(ks_rcu_unregister_thread(), 0);
}

/* An unregistered thread may not read, wait or queue (debug builds print once). */
static void never_cb(struct ks_rcu_head *head)
{
	fail_msg("callback of a refused ks_call_rcu() ran");
}

static void test_unregistered(void **state)
{
	struct ks_rcu_head h;

	assert_false(ks_rcu_thread_registered());
	assert_int_equal(ks_rcu_read_lock(), -EPERM);
	assert_int_equal(ks_rcu_read_lock(), -EPERM);
	assert_int_equal(ks_rcu_read_depth(), 0);
	assert_int_equal(ks_rcu_read_unlock(), -EINVAL);
	assert_int_equal(ks_rcu_synchronize(), -EPERM);
	assert_int_equal(ks_rcu_barrier(), -EPERM);
	assert_int_equal(ks_call_rcu(&h, never_cb), -EPERM);
	assert_false(ks_rcu_in_callback());
}

static void test_nesting_and_deadlocks(void **state)
{
	assert_int_equal(ks_rcu_register_thread(), 0);
	assert_int_equal(ks_rcu_read_depth(), 0);
	for (int i = 1; i <= 3; i++) {
		assert_int_equal(ks_rcu_read_lock(), 0);
		assert_int_equal(ks_rcu_read_depth(), i);
	}
	/* Waiting for a grace period inside a section would never return. */
	assert_int_equal(ks_rcu_synchronize(), -EDEADLK);
	assert_int_equal(ks_rcu_barrier(), -EDEADLK);
	for (int i = 2; i >= 0; i--) {
		assert_int_equal(ks_rcu_read_unlock(), 0);
		assert_int_equal(ks_rcu_read_depth(), i);
		if (i > 0) {
			assert_int_equal(ks_rcu_synchronize(), -EDEADLK);
			assert_int_equal(ks_rcu_barrier(), -EDEADLK);
		}
	}
	assert_int_equal(ks_rcu_read_unlock(), -EINVAL);
	assert_int_equal(ks_rcu_read_depth(), 0);
	assert_int_equal(ks_rcu_synchronize(), 0);
	assert_int_equal(ks_rcu_barrier(), 0);
	assert_false(ks_rcu_in_callback());
	assert_string_equal(ks_rcu_flavor(), KS_URCU_FLAVOR);
	assert_int_equal(ks_rcu_unregister_thread(), 0);
}

/* An object freed by its callback, which also reports what it saw. */
struct obj {
	struct ks_rcu_head rcu;
	struct ks_mem_type *type;
	int *ran;            /* incremented when the callback runs */
	int barrier_rc;      /* what ks_rcu_barrier() returned inside the callback */
	int in_cb, registered, chained;
	struct obj **report; /* where to copy the results before freeing */
	struct obj *next;    /* queued from the callback, if set */
};

static void obj_free_cb(struct ks_rcu_head *head)
{
	struct obj *o = ks_container_of(head, struct obj, rcu);

	__atomic_fetch_add(o->ran, 1, __ATOMIC_SEQ_CST);
	ks_mem_free(o->type, o, sizeof(*o));
}

static void obj_probe_cb(struct ks_rcu_head *head)
{
	struct obj *o = ks_container_of(head, struct obj, rcu);

	o->in_cb = ks_rcu_in_callback();
	o->registered = ks_rcu_thread_registered();
	o->barrier_rc = ks_rcu_barrier();
	/* A callback is a registered reader and may queue more callbacks. */
	if (o->next) {
		int rl = ks_rcu_read_lock();

		o->chained = ks_call_rcu(&o->next->rcu, obj_free_cb) == 0 && rl == 0;
		if (rl == 0)
			ks_rcu_read_unlock();
	}
	/* Hand the results to the test; it frees the object after reading. */
	__atomic_store_n(o->report, o, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(o->ran, 1, __ATOMIC_SEQ_CST);
}

static void test_call_rcu_and_barrier(void **state)
{
	struct ks_test_env e;
	struct ks_mem_type *type;
	int ran = 0;

	ks_test_env_init(&e, "synthetic:core:2 pu:1");
	assert_int_equal(ks_mem_type_get(e.mem, "rcu_obj", sizeof(struct obj), &type), 0);
	assert_int_equal(ks_rcu_register_thread(), 0);
	assert_int_equal(ks_call_rcu(NULL, obj_free_cb), -EINVAL);

	for (int i = 0; i < 100; i++) {
		struct obj *o = ks_mem_zalloc(type, sizeof(*o));

		assert_non_null(o);
		o->type = type;
		o->ran = &ran;
		assert_int_equal(ks_call_rcu(&o->rcu, NULL), -EINVAL);
		/* Queueing from inside a read-side section is allowed. */
		assert_int_equal(ks_rcu_read_lock(), 0);
		assert_int_equal(ks_call_rcu(&o->rcu, obj_free_cb), 0);
		assert_int_equal(ks_rcu_read_unlock(), 0);
	}
	assert_int_equal(ks_rcu_barrier(), 0);
	/* The barrier waited for every callback queued before it. */
	assert_int_equal(load(&ran), 100);
	assert_int_equal(ks_rcu_unregister_thread(), 0);
	ks_test_env_fini(&e);
}

/* From a callback, barrier is refused (-EDEADLK) rather than hanging or skipped. */
/* Per-CPU callback queues: switching, errors, callbacks survive a switch. */
struct qcb {
	struct ks_rcu_head rcu;
	int *ran;
	int set_rc; /* ks_rcu_set_queues() from inside the callback */
	bool probe;
};

static void queue_cb(struct ks_rcu_head *head)
{
	struct qcb *q = ks_container_of(head, struct qcb, rcu);

	if (q->probe)
		q->set_rc = ks_rcu_set_queues(KS_RCU_QUEUES_SHARED);
	__atomic_fetch_add(q->ran, 1, __ATOMIC_SEQ_CST);
}

static void *queue_from_thread(void *arg)
{
	struct qcb *q = arg;

	ks_rcu_register_thread();
	for (int i = 0; i < 500; i++)
		ks_call_rcu(&q[i].rcu, queue_cb);
	ks_rcu_unregister_thread();
	return NULL;
}

static void test_percpu_queues(void **state)
{
	enum { N = 1000 };
	struct qcb *q = calloc(3 * N, sizeof(*q));
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);
	pthread_t th;
	int ran = 0, nr = 0;

	assert_non_null(q);
	for (int i = 0; i < 3 * N; i++)
		q[i].ran = &ran;
	assert_int_equal(ks_rcu_register_thread(), 0);
	assert_int_equal(ks_rcu_queues(&nr), KS_RCU_QUEUES_SHARED);
	assert_int_equal(nr, 1);
	assert_int_equal(ks_rcu_set_queues((enum ks_rcu_queues)7), -EINVAL);
	assert_int_equal(ks_rcu_read_lock(), 0);
	assert_int_equal(ks_rcu_set_queues(KS_RCU_QUEUES_PERCPU), -EDEADLK);
	assert_int_equal(ks_rcu_read_unlock(), 0);

	assert_int_equal(ks_rcu_set_queues(KS_RCU_QUEUES_PERCPU), 0);
	assert_int_equal(ks_rcu_set_queues(KS_RCU_QUEUES_PERCPU), 0); /* already */
	assert_int_equal(ks_rcu_queues(&nr), KS_RCU_QUEUES_PERCPU);
	assert_int_equal(nr, ncpu > 0 ? ncpu : 1);
	/* queued here and from another thread (maybe another CPU) */
	for (int i = 0; i < N / 2; i++)
		assert_int_equal(ks_call_rcu(&q[i].rcu, queue_cb), 0);
	assert_int_equal(pthread_create(&th, NULL, queue_from_thread, &q[N / 2]), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(ks_rcu_barrier(), 0);
	assert_int_equal(load(&ran), N);
	/* a callback may not switch (it runs on a worker being freed) */
	q[N].probe = true;
	q[N].set_rc = 1;
	assert_int_equal(ks_call_rcu(&q[N].rcu, queue_cb), 0);
	assert_int_equal(ks_rcu_barrier(), 0);
	assert_int_equal(q[N].set_rc, -EDEADLK);
	assert_int_equal(ks_rcu_queues(NULL), KS_RCU_QUEUES_PERCPU);
	/* pending callbacks survive leaving per-CPU mode (moved to the shared queue) */
	for (int i = N + 1; i < 2 * N; i++)
		assert_int_equal(ks_call_rcu(&q[i].rcu, queue_cb), 0);
	assert_int_equal(ks_rcu_set_queues(KS_RCU_QUEUES_SHARED), 0);
	assert_int_equal(ks_rcu_queues(&nr), KS_RCU_QUEUES_SHARED);
	assert_int_equal(nr, 1);
	for (int i = 2 * N; i < 3 * N; i++)
		assert_int_equal(ks_call_rcu(&q[i].rcu, queue_cb), 0);
	assert_int_equal(ks_rcu_barrier(), 0);
	assert_int_equal(load(&ran), 3 * N);
	assert_int_equal(ks_rcu_unregister_thread(), 0);
	free(q);
	(void)state;
}

static void test_barrier_from_callback(void **state)
{
	struct ks_test_env e;
	struct ks_mem_type *type;
	struct obj *o, *seen = NULL;
	int ran = 0, chained_ran = 0;

	ks_test_env_init(&e, "synthetic:core:2 pu:1");
	assert_int_equal(ks_mem_type_get(e.mem, "rcu_probe", sizeof(struct obj), &type), 0);
	assert_int_equal(ks_rcu_register_thread(), 0);
	o = ks_mem_zalloc(type, sizeof(*o));
	assert_non_null(o);
	o->type = type;
	o->ran = &ran;
	o->barrier_rc = 1;
	o->report = &seen;
	o->next = ks_mem_zalloc(type, sizeof(*o));
	assert_non_null(o->next);
	o->next->type = type;
	o->next->ran = &chained_ran;
	assert_int_equal(ks_call_rcu(&o->rcu, obj_probe_cb), 0);
	assert_int_equal(ks_rcu_barrier(), 0);
	assert_int_equal(load(&ran), 1);
	assert_ptr_equal(__atomic_load_n(&seen, __ATOMIC_SEQ_CST), o);
	assert_int_equal(o->barrier_rc, -EDEADLK);
	assert_true(o->in_cb);
	assert_true(o->registered);
	assert_true(o->chained);
	/*
	 * The chained callback was queued while the first barrier was under
	 * way, possibly after its completion marker: a second barrier waits
	 * for it.
	 */
	assert_int_equal(ks_rcu_barrier(), 0);
	assert_int_equal(load(&chained_ran), 1);
	assert_false(ks_rcu_in_callback());
	assert_int_equal(ks_mem_free(type, o, sizeof(*o)), 0);
	assert_int_equal(ks_rcu_unregister_thread(), 0);
	ks_test_env_fini(&e);
}

/*
 * A grace period waits for a reader that was already inside its section:
 * neither the callback nor a barrier nor a synchronize completes before the
 * reader unlocks. Each party records a sequence number when it finishes; the
 * reader takes its number *before* unlocking, so any finisher that RCU
 * wrongly let through before the unlock would hold a smaller number.
 */
struct order {
	struct ks_rcu_head rcu;
	int seq;          /* next sequence number */
	int reader_in;    /* the reader is inside its section */
	int release;      /* tells the reader to leave */
	int unlock_seq;   /* the reader's number, taken just before unlocking */
	int cb_seq;
	int cb_saw_release;
	int rc_reader;
	int cpu;
};

static int next_seq(struct order *o)
{
	return __atomic_add_fetch(&o->seq, 1, __ATOMIC_SEQ_CST);
}

static void *reader(void *arg)
{
	struct order *o = arg;

	ks_cpu_set_current(o->cpu);
	o->rc_reader = ks_rcu_register_thread();
	if (o->rc_reader == 0)
		o->rc_reader = ks_rcu_read_lock();
	store(&o->reader_in, 1);
	if (o->rc_reader)
		return NULL;
	wait_for(&o->release, 1);
	store(&o->unlock_seq, next_seq(o));
	ks_rcu_read_unlock();
	ks_rcu_unregister_thread();
	return NULL;
}

static void order_cb(struct ks_rcu_head *head)
{
	struct order *o = ks_container_of(head, struct order, rcu);

	store(&o->cb_saw_release, load(&o->release));
	store(&o->cb_seq, next_seq(o));
}

/* A thread that registers, waits with @wait, and records when it finished. */
struct waiter {
	struct order *o;
	int (*wait)(void);
	int rc, seq;
	pthread_t th;
};

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;

	w->rc = ks_rcu_register_thread();
	if (w->rc == 0)
		w->rc = w->wait();
	store(&w->seq, next_seq(w->o));
	ks_rcu_unregister_thread();
	return NULL;
}

static void test_grace_period_waits_for_reader(void **state)
{
	struct ks_test_env e;
	struct order o = { .cpu = 255 };
	struct waiter barrier = { .o = &o, .wait = ks_rcu_barrier };
	struct waiter sync = { .o = &o, .wait = ks_rcu_synchronize };
	pthread_t r;

	ks_test_env_init(&e, "synthetic:pack:4 numa:2 core:16 pu:2");
	assert_int_equal(ks_rcu_register_thread(), 0);
	assert_int_equal(pthread_create(&r, NULL, reader, &o), 0);
	wait_for(&o.reader_in, 1);
	assert_int_equal(o.rc_reader, 0);

	assert_int_equal(ks_call_rcu(&o.rcu, order_cb), 0);
	assert_int_equal(pthread_create(&barrier.th, NULL, wait_thread, &barrier), 0);
	assert_int_equal(pthread_create(&sync.th, NULL, wait_thread, &sync), 0);
	/* Several of liburcu's 10 ms worker polls: nothing may finish. */
	sleep_ms(100);
	assert_int_equal(load(&o.cb_seq), 0);
	assert_int_equal(load(&barrier.seq), 0);
	assert_int_equal(load(&sync.seq), 0);

	store(&o.release, 1);
	pthread_join(r, NULL);
	pthread_join(barrier.th, NULL);
	pthread_join(sync.th, NULL);
	assert_int_equal(barrier.rc, 0);
	assert_int_equal(sync.rc, 0);
	assert_int_equal(o.unlock_seq, 1);
	assert_true(o.cb_seq > o.unlock_seq);
	assert_true(sync.seq > o.unlock_seq);
	/* The barrier also waited for the callback itself. */
	assert_true(barrier.seq > o.cb_seq);
	assert_true(o.cb_saw_release);
	assert_int_equal(ks_rcu_unregister_thread(), 0);
	ks_test_env_fini(&e);
}

static void *exit_registered(void *arg)
{
	/* Exits without unregistering, the second one inside a section. */
	ks_rcu_register_thread();
	if (arg)
		ks_rcu_read_lock();
	return NULL;
}

/* A thread that exits registered is unregistered for it: later grace periods end. */
static void test_exit_while_registered(void **state)
{
	pthread_t th;

	assert_int_equal(ks_rcu_register_thread(), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pthread_create(&th, NULL, exit_registered, i ? &th : NULL), 0);
		pthread_join(th, NULL);
		assert_int_equal(ks_rcu_synchronize(), 0);
	}
	assert_int_equal(ks_rcu_unregister_thread(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register),
		cmocka_unit_test(test_unregistered),
		cmocka_unit_test(test_nesting_and_deadlocks),
		cmocka_unit_test(test_call_rcu_and_barrier),
		cmocka_unit_test(test_barrier_from_callback),
		cmocka_unit_test(test_percpu_queues),
		cmocka_unit_test(test_grace_period_waits_for_reader),
		cmocka_unit_test(test_exit_while_registered),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
