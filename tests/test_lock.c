// SPDX-License-Identifier: MIT
/*
 * lock and lock_stat: counts checked against known sequences.
 *
 * Every counting test body runs for each kind of acquisition (spin, mutex,
 * rwsem-write, rwsem-read) through a small adapter, as ck's validate.h runs
 * one body over every spinlock.
 */
#include "ks_test.h"
#include "core/lock_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* ---- one adapter per kind of acquisition -------------------------------- */

union any_lock {
	struct ks_spinlock spin;
	struct ks_mutex mutex;
	struct ks_rwsem rwsem;
};

struct lock_kind {
	const char *name;
	int (*init)(union any_lock *l, struct ks_lock_class *cls);
	int (*lock)(union any_lock *l);    /* the acquisition under test */
	int (*trylock)(union any_lock *l);
	int (*unlock)(union any_lock *l);
	int (*excl)(union any_lock *l);    /* an exclusive hold, to block @lock */
	int (*excl_unlock)(union any_lock *l);
	int (*destroy)(union any_lock *l);
	bool hold_time;                    /* hold time is measured */
};

static int spin_init(union any_lock *l, struct ks_lock_class *c) { return ks_spin_init(&l->spin, c); }
static int spin_lock(union any_lock *l) { return ks_spin_lock(&l->spin); }
static int spin_trylock(union any_lock *l) { return ks_spin_trylock(&l->spin); }
static int spin_unlock(union any_lock *l) { return ks_spin_unlock(&l->spin); }
static int spin_destroy(union any_lock *l) { return ks_spin_destroy(&l->spin); }
static int mutex_init(union any_lock *l, struct ks_lock_class *c) { return ks_mutex_init(&l->mutex, c); }
static int mutex_lock(union any_lock *l) { return ks_mutex_lock(&l->mutex); }
static int mutex_trylock(union any_lock *l) { return ks_mutex_trylock(&l->mutex); }
static int mutex_unlock(union any_lock *l) { return ks_mutex_unlock(&l->mutex); }
static int mutex_destroy(union any_lock *l) { return ks_mutex_destroy(&l->mutex); }
static int rw_init(union any_lock *l, struct ks_lock_class *c) { return ks_rwsem_init(&l->rwsem, c); }
static int rw_wlock(union any_lock *l) { return ks_rwsem_write_lock(&l->rwsem); }
static int rw_wtrylock(union any_lock *l) { return ks_rwsem_write_trylock(&l->rwsem); }
static int rw_wunlock(union any_lock *l) { return ks_rwsem_write_unlock(&l->rwsem); }
static int rw_rlock(union any_lock *l) { return ks_rwsem_read_lock(&l->rwsem); }
static int rw_rtrylock(union any_lock *l) { return ks_rwsem_read_trylock(&l->rwsem); }
static int rw_runlock(union any_lock *l) { return ks_rwsem_read_unlock(&l->rwsem); }
static int rw_destroy(union any_lock *l) { return ks_rwsem_destroy(&l->rwsem); }

static const struct lock_kind kinds[] = {
	{ "spin", spin_init, spin_lock, spin_trylock, spin_unlock,
	  spin_lock, spin_unlock, spin_destroy, true },
	{ "mutex", mutex_init, mutex_lock, mutex_trylock, mutex_unlock,
	  mutex_lock, mutex_unlock, mutex_destroy, true },
	{ "rwsem-write", rw_init, rw_wlock, rw_wtrylock, rw_wunlock,
	  rw_wlock, rw_wunlock, rw_destroy, true },
	{ "rwsem-read", rw_init, rw_rlock, rw_rtrylock, rw_runlock,
	  rw_wlock, rw_wunlock, rw_destroy, false },
};

static const struct lock_kind *kind_of(void **state)
{
	for (size_t i = 0; i < KS_ARRAY_SIZE(kinds); i++)
		if (!strcmp(kinds[i].name, (const char *)*state))
			return &kinds[i];
	fail_msg("unknown lock kind %s", (const char *)*state);
	return NULL;
}

/* ---- helpers ------------------------------------------------------------ */

static struct ks_lock_class_stats read_class(struct ks_lockstat *ls, const char *name)
{
	struct ks_lock_class_stats st[64];
	size_t n = 0;

	assert_int_equal(ks_lockstat_read(ls, st, KS_ARRAY_SIZE(st), &n), 0);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(st[i].name, name))
			return st[i];
	fail_msg("no lock class %s", name);
	return st[0];
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000u, .tv_nsec = ns % 1000000000u };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* A counting environment on @topo with one class "test_lock" and a lock. */
struct fixture {
	struct ks_test_env env;
	struct ks_lock_class *cls;
	union any_lock lock;
	const struct lock_kind *k;
};

static bool fixture_init(struct fixture *f, void **state, const char *topo)
{
	if (!ks_lockstat_enabled())
		return false;
	f->k = kind_of(state);
	ks_test_env_init(&f->env, topo);
	assert_int_equal(ks_lock_class_get(f->env.locks, "test_lock", KS_LOCK_GLOBAL, &f->cls), 0);
	assert_int_equal(f->k->init(&f->lock, f->cls), 0);
	return true;
}

static void fixture_fini(struct fixture *f)
{
	assert_int_equal(f->k->destroy(&f->lock), 0);
	assert_int_equal(ks_cpu_set_current(-1), 0);
	ks_test_env_fini(&f->env);
}

/* ---- counting against known sequences ----------------------------------- */

static void test_same_cpu(void **state)
{
	enum { N = 1000 };
	struct fixture f;
	struct ks_lock_class_stats st;

	if (!fixture_init(&f, state, "synthetic:core:2 pu:1"))
		skip();
	assert_int_equal(ks_cpu_set_current(1), 0);
	for (int i = 0; i < N; i++) {
		assert_int_equal(f.k->lock(&f.lock), 0);
		assert_int_equal(f.k->unlock(&f.lock), 0);
	}
	st = read_class(f.env.locks, "test_lock");
	assert_int_equal(st.acquisitions, N);
	assert_int_equal(st.bounces, 0);
	assert_int_equal(st.contentions, 0);
	assert_int_equal(st.wait_ns, 0);
	assert_int_equal(st.wait_max_ns, 0);
	assert_int_equal(st.scope, KS_LOCK_GLOBAL);
	/* All of it in CPU 1's slot, none in CPU 0's. */
	assert_int_equal(ks_lock_class_read_cpu(f.cls, 1, &st), 0);
	assert_int_equal(st.acquisitions, N);
	assert_int_equal(ks_lock_class_read_cpu(f.cls, 0, &st), 0);
	assert_int_equal(st.acquisitions, 0);
	fixture_fini(&f);
}

static void test_bounces(void **state)
{
	/* 0->1, 1->0, 0->5, 5->0, 0->63: five moves; repeats are not bounces. */
	static const int seq[] = { 0, 0, 1, 1, 1, 0, 5, 5, 0, 63 };
	enum { ALT = 101 };
	struct fixture f;
	struct ks_lock_class_stats st;

	if (!fixture_init(&f, state, "synthetic:pack:2 numa:2 core:8 pu:2"))
		skip();
	for (size_t i = 0; i < KS_ARRAY_SIZE(seq); i++) {
		assert_int_equal(ks_cpu_set_current(seq[i]), 0);
		assert_int_equal(f.k->lock(&f.lock), 0);
		assert_int_equal(f.k->unlock(&f.lock), 0);
	}
	st = read_class(f.env.locks, "test_lock");
	assert_int_equal(st.acquisitions, KS_ARRAY_SIZE(seq));
	assert_int_equal(st.bounces, 5);

	/* Alternating 0/1 after a reset: every acquisition but the first one
	 * moves (the lock last ran on CPU 63, so the first one moves too). */
	assert_int_equal(ks_lockstat_reset(f.env.locks), 0);
	for (int i = 0; i < ALT; i++) {
		assert_int_equal(ks_cpu_set_current(i & 1), 0);
		assert_int_equal(f.k->lock(&f.lock), 0);
		assert_int_equal(f.k->unlock(&f.lock), 0);
	}
	st = read_class(f.env.locks, "test_lock");
	assert_int_equal(st.acquisitions, ALT);
	assert_int_equal(st.bounces, ALT);
	assert_int_equal(st.contentions, 0);
	/* Bounces are counted where the lock arrives: 51 on CPU 0, 50 on 1. */
	assert_int_equal(ks_lock_class_read_cpu(f.cls, 0, &st), 0);
	assert_int_equal(st.bounces, (ALT + 1) / 2);
	assert_int_equal(ks_lock_class_read_cpu(f.cls, 1, &st), 0);
	assert_int_equal(st.bounces, ALT / 2);
	fixture_fini(&f);
}

struct waiter {
	struct fixture *f;
	pthread_barrier_t *start;
	int ret;
};

static void *waiter_fn(void *arg)
{
	struct waiter *w = arg;

	ks_cpu_set_current(1);
	pthread_barrier_wait(w->start);
	w->ret = w->f->k->lock(&w->f->lock);
	if (!w->ret)
		w->ret = w->f->k->unlock(&w->f->lock);
	return NULL;
}

static void test_contention(void **state)
{
	const uint64_t held_ns = 5 * 1000 * 1000;
	struct fixture f;
	struct ks_lock_class_stats st;
	pthread_barrier_t start;
	struct waiter w = { .f = &f, .start = &start };
	pthread_t th;
	uint64_t deadline;

	if (!fixture_init(&f, state, "synthetic:core:2 pu:1"))
		skip();
	assert_int_equal(ks_cpu_set_current(0), 0);
	assert_int_equal(pthread_barrier_init(&start, NULL, 2), 0);
	assert_int_equal(f.k->excl(&f.lock), 0);
	assert_int_equal(pthread_create(&th, NULL, waiter_fn, &w), 0);
	pthread_barrier_wait(&start);
	/*
	 * The contention is counted, and the wait clock started, before the
	 * waiter blocks: once we see it, the waiter is waiting for us.
	 */
	deadline = ks_clock_ns() + 30ull * 1000 * 1000 * 1000;
	do {
		st = read_class(f.env.locks, "test_lock");
		if (st.contentions)
			break;
		sleep_ns(100 * 1000);
	} while (ks_clock_ns() < deadline);
	assert_int_equal(st.contentions, 1);
	sleep_ns(held_ns);
	assert_int_equal(f.k->excl_unlock(&f.lock), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(w.ret, 0);
	pthread_barrier_destroy(&start);

	st = read_class(f.env.locks, "test_lock");
	assert_int_equal(st.acquisitions, 2);
	assert_int_equal(st.contentions, 1);
	assert_int_equal(st.bounces, 1); /* CPU 0, then CPU 1 */
	assert_true(st.wait_ns >= held_ns);
	assert_int_equal(st.wait_max_ns, st.wait_ns);
	/* Counted on the waiter's CPU. */
	assert_int_equal(ks_lock_class_read_cpu(f.cls, 1, &st), 0);
	assert_int_equal(st.contentions, 1);
	assert_true(st.wait_ns >= held_ns);
	fixture_fini(&f);
}

static void test_hold_time(void **state)
{
	const uint64_t held_ns = 2 * 1000 * 1000;
	struct fixture f;
	struct ks_lock_class_stats st;

	if (!fixture_init(&f, state, "synthetic:pu:1"))
		skip();
	assert_int_equal(f.k->lock(&f.lock), 0);
	sleep_ns(held_ns);
	assert_int_equal(f.k->unlock(&f.lock), 0);
	assert_int_equal(f.k->lock(&f.lock), 0);
	assert_int_equal(f.k->unlock(&f.lock), 0);
	st = read_class(f.env.locks, "test_lock");
	assert_int_equal(st.acquisitions, 2);
	if (f.k->hold_time) {
		assert_true(st.hold_max_ns >= held_ns);
		assert_true(st.hold_ns >= st.hold_max_ns);
	} else {
		/* Readers' hold time is not measured (see lock.h). */
		assert_int_equal(st.hold_ns, 0);
		assert_int_equal(st.hold_max_ns, 0);
	}
	fixture_fini(&f);
}

static void test_trylock(void **state)
{
	struct fixture f;
	struct ks_lock_class_stats st;

	if (!fixture_init(&f, state, "synthetic:core:2 pu:1"))
		skip();
	assert_int_equal(f.k->excl(&f.lock), 0);
	assert_int_equal(f.k->trylock(&f.lock), 0);
	st = read_class(f.env.locks, "test_lock");
	assert_int_equal(st.acquisitions, 1); /* the hold, not the failed try */
	assert_int_equal(st.contentions, 0);  /* a try never waits */
	assert_int_equal(f.k->excl_unlock(&f.lock), 0);

	assert_int_equal(f.k->trylock(&f.lock), 1);
	st = read_class(f.env.locks, "test_lock");
	assert_int_equal(st.acquisitions, 2);
	assert_int_equal(f.k->destroy(&f.lock), -EBUSY);
	assert_int_equal(f.k->unlock(&f.lock), 0);
	fixture_fini(&f);
}

static void test_destroy_held(void **state)
{
	struct fixture f;

	if (!ks_lockstat_enabled()) {
		/* Not a counting test: run it on an uncounted lock. */
		f.k = kind_of(state);
		assert_int_equal(f.k->init(&f.lock, NULL), 0);
	} else {
		assert_true(fixture_init(&f, state, "synthetic:pu:1"));
	}
	assert_int_equal(f.k->lock(&f.lock), 0);
	assert_int_equal(f.k->destroy(&f.lock), -EBUSY);
	assert_int_equal(f.k->unlock(&f.lock), 0);
	if (ks_lockstat_enabled()) {
		fixture_fini(&f);
	} else {
		assert_int_equal(f.k->destroy(&f.lock), 0);
	}
}

/* An uncounted lock (NULL class) works and counts nowhere. */
static void test_null_class(void **state)
{
	const struct lock_kind *k = kind_of(state);
	struct ks_test_env env;
	struct ks_lock_class *cls;
	struct ks_lock_class_stats st;
	union any_lock l;

	ks_test_env_init(&env, "synthetic:core:2 pu:1");
	assert_int_equal(ks_lock_class_get(env.locks, "unused", KS_LOCK_OBJECT, &cls), 0);
	assert_int_equal(k->init(&l, NULL), 0);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(k->lock(&l), 0);
		assert_int_equal(k->unlock(&l), 0);
		assert_int_equal(k->trylock(&l), 1);
		assert_int_equal(k->unlock(&l), 0);
	}
	assert_int_equal(k->excl(&l), 0);
	assert_int_equal(k->trylock(&l), 0);
	assert_int_equal(k->excl_unlock(&l), 0);
	assert_int_equal(k->destroy(&l), 0);
	st = read_class(env.locks, "unused");
	assert_int_equal(st.acquisitions, 0);
	assert_int_equal(st.hold_ns, 0);
	ks_test_env_fini(&env);
}

/* ---- the registry ------------------------------------------------------- */

static void test_reset(void **state)
{
	struct ks_test_env env;
	struct ks_lock_class *a;
	struct ks_spinlock l;
	struct ks_lock_class_stats st;
	size_t n = 0;

	if (!ks_lockstat_enabled())
		skip();
	ks_test_env_init(&env, "synthetic:core:2 pu:1");
	assert_int_equal(ks_lock_class_get(env.locks, "a_lock", KS_LOCK_PERCPU, &a), 0);
	assert_int_equal(ks_spin_init(&l, a), 0);
	for (int i = 0; i < 4; i++) {
		ks_cpu_set_current(i & 1);
		ks_spin_lock(&l);
		sleep_ns(1000);
		ks_spin_unlock(&l);
	}
	st = read_class(env.locks, "a_lock");
	assert_int_equal(st.acquisitions, 4);
	assert_int_equal(st.bounces, 3);
	assert_true(st.hold_ns > 0);
	assert_int_equal(ks_lockstat_reset(env.locks), 0);
	st = read_class(env.locks, "a_lock");
	assert_string_equal(st.name, "a_lock");
	assert_int_equal(st.scope, KS_LOCK_PERCPU);
	assert_int_equal(st.acquisitions + st.contentions + st.bounces + st.wait_ns +
			 st.wait_max_ns + st.hold_ns + st.hold_max_ns, 0);
	assert_int_equal(ks_lockstat_read(env.locks, NULL, 0, &n), 0);
	assert_int_equal(n, 1);
	/* Counting goes on after a reset. */
	ks_spin_lock(&l);
	ks_spin_unlock(&l);
	assert_int_equal(read_class(env.locks, "a_lock").acquisitions, 1);
	assert_int_equal(ks_spin_destroy(&l), 0);
	ks_cpu_set_current(-1);
	ks_test_env_fini(&env);
}

static void test_class_separation(void **state)
{
	struct ks_test_env env;
	struct ks_lock_class *a, *b, *a2;
	struct ks_mutex ma;
	struct ks_spinlock sb;

	if (!ks_lockstat_enabled())
		skip();
	ks_test_env_init(&env, "synthetic:core:2 pu:1");
	assert_int_equal(ks_lock_class_get(env.locks, "pidmap_lock", KS_LOCK_GLOBAL, &a), 0);
	assert_int_equal(ks_lock_class_get(env.locks, "d_lock", KS_LOCK_OBJECT, &b), 0);
	assert_int_equal(ks_lock_class_get(env.locks, "pidmap_lock", KS_LOCK_GLOBAL, &a2), 0);
	assert_ptr_equal(a, a2);
	assert_ptr_not_equal(a, b);
	assert_int_equal(ks_mutex_init(&ma, a), 0);
	assert_int_equal(ks_spin_init(&sb, b), 0);
	for (int i = 0; i < 3; i++) {
		ks_mutex_lock(&ma);
		ks_mutex_unlock(&ma);
	}
	for (int i = 0; i < 5; i++) {
		ks_spin_lock(&sb);
		ks_spin_unlock(&sb);
	}
	assert_int_equal(read_class(env.locks, "pidmap_lock").acquisitions, 3);
	assert_int_equal(read_class(env.locks, "d_lock").acquisitions, 5);
	assert_int_equal(read_class(env.locks, "d_lock").scope, KS_LOCK_OBJECT);

	/* Two registries never see each other's counts. */
	{
		struct ks_lockstat *other;
		struct ks_lock_class *oa;
		struct ks_mutex om;

		assert_int_equal(ks_lockstat_create(env.topo, &other), 0);
		assert_int_equal(ks_lock_class_get(other, "pidmap_lock", KS_LOCK_GLOBAL, &oa), 0);
		assert_ptr_not_equal(oa, a);
		assert_int_equal(ks_mutex_init(&om, oa), 0);
		ks_mutex_lock(&om);
		ks_mutex_unlock(&om);
		assert_int_equal(read_class(other, "pidmap_lock").acquisitions, 1);
		assert_int_equal(read_class(env.locks, "pidmap_lock").acquisitions, 3);
		assert_int_equal(ks_mutex_destroy(&om), 0);
		ks_lockstat_destroy(other);
	}
	assert_int_equal(ks_mutex_destroy(&ma), 0);
	assert_int_equal(ks_spin_destroy(&sb), 0);
	ks_test_env_fini(&env);
}

static void test_class_errors(void **state)
{
	char name[KS_LOCK_CLASS_NAME_MAX + 1];
	struct ks_test_env env;
	struct ks_lock_class *c, *first;
	struct ks_lock_class_stats st[8];
	size_t n = 0;

	ks_test_env_init(&env, "synthetic:pu:1");
	/* Scope mismatch. */
	assert_int_equal(ks_lock_class_get(env.locks, "x_lock", KS_LOCK_GLOBAL, &first), 0);
	c = (void *)1;
	assert_int_equal(ks_lock_class_get(env.locks, "x_lock", KS_LOCK_PERCPU, &c), -EINVAL);
	assert_null(c);
	/* Bad scopes. */
	assert_int_equal(ks_lock_class_get(env.locks, "y", (enum ks_lock_scope)3, &c), -EINVAL);
	assert_int_equal(ks_lock_class_get(env.locks, "y", (enum ks_lock_scope)-1, &c), -EINVAL);
	/* Name lengths: 1..47. */
	assert_int_equal(ks_lock_class_get(env.locks, "", KS_LOCK_GLOBAL, &c), -EINVAL);
	memset(name, 'n', sizeof(name));
	name[KS_LOCK_CLASS_NAME_MAX] = '\0'; /* 48 characters */
	assert_int_equal(ks_lock_class_get(env.locks, name, KS_LOCK_GLOBAL, &c), -EINVAL);
	name[KS_LOCK_CLASS_NAME_MAX - 1] = '\0'; /* 47 */
	assert_int_equal(ks_lock_class_get(env.locks, name, KS_LOCK_GLOBAL, &c), 0);
	assert_int_equal(ks_lock_class_get(env.locks, "a", KS_LOCK_GLOBAL, &c), 0);

	/* Fill up to 64 classes; the 65th is refused, existing ones found. */
	for (int i = 3; i < 64; i++) {
		snprintf(name, sizeof(name), "class_%d", i);
		assert_int_equal(ks_lock_class_get(env.locks, name, KS_LOCK_OBJECT, &c), 0);
	}
	c = (void *)1;
	assert_int_equal(ks_lock_class_get(env.locks, "one_too_many", KS_LOCK_OBJECT, &c), -ENOSPC);
	assert_null(c);
	assert_int_equal(ks_lock_class_get(env.locks, "x_lock", KS_LOCK_GLOBAL, &c), 0);
	assert_ptr_equal(c, first);
	/* A short read says how many there are and writes only @max. */
	memset(st, 0xa5, sizeof(st));
	assert_int_equal(ks_lockstat_read(env.locks, st, 2, &n), 0);
	assert_int_equal(n, 64);
	assert_string_equal(st[0].name, "x_lock");
	assert_int_equal((unsigned char)st[2].name[0], 0xa5); /* untouched */
	ks_test_env_fini(&env);
}

static void test_null_args(void **state)
{
	struct ks_test_env env;
	struct ks_lock_class *c;
	struct ks_lock_class_stats st;
	size_t n;

	ks_test_env_init(&env, "synthetic:pu:1");
	assert_int_equal(ks_lockstat_create(env.topo, NULL), -EINVAL);
	ks_lockstat_destroy(NULL);
	assert_int_equal(ks_lock_class_get(NULL, "a", KS_LOCK_GLOBAL, &c), -EINVAL);
	assert_int_equal(ks_lock_class_get(env.locks, NULL, KS_LOCK_GLOBAL, &c), -EINVAL);
	assert_int_equal(ks_lock_class_get(env.locks, "a", KS_LOCK_GLOBAL, NULL), -EINVAL);
	assert_int_equal(ks_lockstat_read(NULL, &st, 1, &n), -EINVAL);
	assert_int_equal(ks_lockstat_read(env.locks, &st, 1, NULL), -EINVAL);
	assert_int_equal(ks_lockstat_read(env.locks, NULL, 1, &n), -EINVAL);
	assert_int_equal(ks_lockstat_reset(NULL), -EINVAL);
	assert_int_equal(ks_lock_class_read_cpu(NULL, 0, &st), -EINVAL);
	assert_int_equal(ks_lock_class_get(env.locks, "a", KS_LOCK_GLOBAL, &c), 0);
	assert_int_equal(ks_lock_class_read_cpu(c, 0, NULL), -EINVAL);
	assert_int_equal(ks_lock_class_read_cpu(c, 1, &st), -EINVAL);
	assert_int_equal(ks_lock_class_read_cpu(c, -1, &st), -EINVAL);

	assert_int_equal(ks_spin_init(NULL, c), -EINVAL);
	assert_int_equal(ks_spin_lock(NULL), -EINVAL);
	assert_int_equal(ks_spin_trylock(NULL), -EINVAL);
	assert_int_equal(ks_spin_unlock(NULL), -EINVAL);
	assert_int_equal(ks_spin_destroy(NULL), -EINVAL);
	assert_int_equal(ks_mutex_init(NULL, c), -EINVAL);
	assert_int_equal(ks_mutex_lock(NULL), -EINVAL);
	assert_int_equal(ks_mutex_trylock(NULL), -EINVAL);
	assert_int_equal(ks_mutex_unlock(NULL), -EINVAL);
	assert_int_equal(ks_mutex_destroy(NULL), -EINVAL);
	assert_int_equal(ks_rwsem_init(NULL, c), -EINVAL);
	assert_int_equal(ks_rwsem_read_lock(NULL), -EINVAL);
	assert_int_equal(ks_rwsem_read_trylock(NULL), -EINVAL);
	assert_int_equal(ks_rwsem_read_unlock(NULL), -EINVAL);
	assert_int_equal(ks_rwsem_write_lock(NULL), -EINVAL);
	assert_int_equal(ks_rwsem_write_trylock(NULL), -EINVAL);
	assert_int_equal(ks_rwsem_write_unlock(NULL), -EINVAL);
	assert_int_equal(ks_rwsem_destroy(NULL), -EINVAL);

	/* Releasing a spinlock nobody holds is refused, not absorbed. */
	{
		struct ks_spinlock l;

		assert_int_equal(ks_spin_init(&l, c), 0);
		assert_int_equal(ks_spin_unlock(&l), -EINVAL);
		assert_int_equal(ks_spin_destroy(&l), 0);
	}
	ks_test_env_fini(&env);
}

static void test_scope_names(void **state)
{
	assert_string_equal(ks_lock_scope_name(KS_LOCK_GLOBAL), "global");
	assert_string_equal(ks_lock_scope_name(KS_LOCK_PERCPU), "percpu");
	assert_string_equal(ks_lock_scope_name(KS_LOCK_OBJECT), "object");
	assert_null(ks_lock_scope_name((enum ks_lock_scope)3));
	assert_null(ks_lock_scope_name((enum ks_lock_scope)-1));
}

/* Built without counting, a counted lock works and counts nothing. */
static void test_compiled_out(void **state)
{
	struct ks_test_env env;
	struct ks_lock_class *c;
	struct ks_lock_class_stats st;
	struct ks_mutex m;

	if (ks_lockstat_enabled())
		skip();
	ks_test_env_init(&env, "synthetic:core:2 pu:1");
	assert_int_equal(ks_lock_class_get(env.locks, "off_lock", KS_LOCK_GLOBAL, &c), 0);
	assert_int_equal(ks_mutex_init(&m, c), 0);
	for (int i = 0; i < 4; i++) {
		ks_cpu_set_current(i & 1);
		assert_int_equal(ks_mutex_lock(&m), 0);
		assert_int_equal(ks_mutex_unlock(&m), 0);
	}
	ks_cpu_set_current(-1);
	st = read_class(env.locks, "off_lock");
	assert_int_equal(st.acquisitions + st.bounces + st.hold_ns, 0);
	assert_int_equal(ks_mutex_destroy(&m), 0);
	ks_test_env_fini(&env);
}

static void test_clock(void **state)
{
	uint64_t a = ks_clock_ns();

	sleep_ns(1000 * 1000);
	assert_true(ks_clock_ns() - a >= 1000 * 1000);
}

/* ---- topologies: a thread labelled with the last CPU counts in its slot -- */

struct labelled {
	struct ks_spinlock *l;
	int cpu;
};

static void *labelled_fn(void *arg)
{
	struct labelled *t = arg;

	ks_cpu_set_current(t->cpu);
	for (int i = 0; i < 7; i++) {
		ks_spin_lock(t->l);
		ks_spin_unlock(t->l);
	}
	return NULL;
}

static void test_topologies(void **state)
{
	if (!ks_lockstat_enabled())
		skip();
	for (size_t i = 0; i < ks_test_nr_topologies; i++) {
		struct ks_test_env env;
		struct ks_lock_class *c;
		struct ks_lock_class_stats st;
		struct ks_spinlock l;
		struct labelled t;
		pthread_t th;
		int nr;

		ks_test_env_init(&env, ks_test_topologies[i]);
		nr = ks_topo_nr_cpus(env.topo);
		assert_true(nr >= 1);
		assert_int_equal(ks_lock_class_get(env.locks, "topo_lock", KS_LOCK_GLOBAL, &c), 0);
		assert_int_equal(ks_spin_init(&l, c), 0);
		t = (struct labelled){ .l = &l, .cpu = nr - 1 };
		assert_int_equal(pthread_create(&th, NULL, labelled_fn, &t), 0);
		assert_int_equal(pthread_join(th, NULL), 0);
		assert_int_equal(ks_lock_class_read_cpu(c, nr - 1, &st), 0);
		assert_int_equal(st.acquisitions, 7);
		assert_int_equal(ks_lock_class_read_cpu(c, nr, &st), -EINVAL);
		/* A label past the topology wraps modulo its CPU count. */
		t.cpu = nr;
		assert_int_equal(pthread_create(&th, NULL, labelled_fn, &t), 0);
		assert_int_equal(pthread_join(th, NULL), 0);
		assert_int_equal(ks_lock_class_read_cpu(c, 0, &st), 0);
		assert_int_equal(st.acquisitions, nr == 1 ? 14 : 7);
		st = read_class(env.locks, "topo_lock");
		assert_int_equal(st.acquisitions, 14);
		assert_int_equal(st.bounces, 1);
		assert_int_equal(ks_spin_destroy(&l), 0);
		ks_test_env_fini(&env);
	}
}

#define PER_KIND(fn)                                          \
	cmocka_unit_test_prestate(fn, (void *)"spin"),        \
	cmocka_unit_test_prestate(fn, (void *)"mutex"),       \
	cmocka_unit_test_prestate(fn, (void *)"rwsem-write"), \
	cmocka_unit_test_prestate(fn, (void *)"rwsem-read")

int main(void)
{
	const struct CMUnitTest tests[] = {
		PER_KIND(test_same_cpu),
		PER_KIND(test_bounces),
		PER_KIND(test_contention),
		PER_KIND(test_hold_time),
		PER_KIND(test_trylock),
		PER_KIND(test_destroy_held),
		PER_KIND(test_null_class),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_class_separation),
		cmocka_unit_test(test_class_errors),
		cmocka_unit_test(test_null_args),
		cmocka_unit_test(test_scope_names),
		cmocka_unit_test(test_compiled_out),
		cmocka_unit_test(test_clock),
		cmocka_unit_test(test_topologies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
