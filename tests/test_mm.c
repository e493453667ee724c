// SPDX-License-Identifier: MIT
/*
 * mm: address spaces (map/populate/unmap, zap, exit_mmap, mm_users and
 * mm_count, the killable mmap_lock, owners), on synthetic topologies.
 */
#include "ks_test.h"

#include <kscale/mm.h>

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <time.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#define TOPO(state) (ks_test_topologies[(uintptr_t)*(state)])

struct mmenv {
	struct ks_test_env env;
	struct ks_mm *mm;
};

static void mm_init(struct mmenv *e, const char *topo)
{
	struct ks_mm_opts o = {0};

	memset(e, 0, sizeof(*e));
	ks_test_env_init(&e->env, topo);
	o.topo = e->env.topo;
	o.locks = e->env.locks;
	o.mem = e->env.mem;
	assert_int_equal(ks_mm_create(&o, &e->mm), 0);
}

static struct ks_mm_stats mstats(const struct ks_mm *mm)
{
	struct ks_mm_stats st;

	assert_int_equal(ks_mm_stats(mm, &st), 0);
	return st;
}

static int64_t live_type(struct ks_mem *m, const char *name)
{
	struct ks_mem_type_stats st[64];
	size_t n, i;

	assert_int_equal(ks_mem_read(m, st, 64, &n), 0);
	for (i = 0; i < n && i < 64; i++)
		if (!strcmp(st[i].name, name))
			return st[i].live_objs;
	return 0;
}

static void test_bad_args(void **state)
{
	struct mmenv e;
	struct ks_mm_stats st;
	unsigned long start;

	(void)state;
	mm_init(&e, ks_test_topologies[0]);
	assert_int_equal(ks_mm_create(NULL, NULL), -EINVAL);
	assert_int_equal(ks_mmget(NULL), -EINVAL);
	assert_int_equal(ks_mmget_not_zero(NULL), -EINVAL);
	assert_int_equal(ks_mmput(NULL), -EINVAL);
	assert_int_equal(ks_mmgrab(NULL), -EINVAL);
	assert_int_equal(ks_mmdrop(NULL), -EINVAL);
	assert_int_equal(ks_mm_stats(NULL, &st), -EINVAL);
	assert_int_equal(ks_mm_stats(e.mm, NULL), -EINVAL);
	assert_int_equal(ks_mm_flags(NULL), -EINVAL);
	assert_int_equal(ks_mm_set_flags(NULL, KS_MMF_OOM_SKIP), -EINVAL);
	assert_int_equal(ks_mm_set_flags(e.mm, 1u << 7), -EINVAL);
	assert_int_equal(ks_mm_map(NULL, 4096, 0, NULL, &start), -EINVAL);
	assert_int_equal(ks_mm_map(e.mm, 0, 0, NULL, &start), -EINVAL);
	assert_int_equal(ks_mm_map(e.mm, (1UL << 40) + 1, 0, NULL, &start), -EINVAL);
	assert_int_equal(ks_mm_map(e.mm, 4096, 1u << 9, NULL, &start), -EINVAL);
	assert_int_equal(ks_mm_map(e.mm, 4096, 0, "", &start), -EINVAL);
	{
		char longp[4097];

		memset(longp, 'a', sizeof(longp) - 1);
		longp[4096] = 0;
		assert_int_equal(ks_mm_map(e.mm, 4096, 0, longp, &start), -EINVAL);
		longp[4095] = 0;
		assert_int_equal(ks_mm_map(e.mm, 4096, 0, longp, &start), 0);
		assert_int_equal(ks_mm_unmap(e.mm, start), 0);
	}
	assert_int_equal(ks_mm_unmap(NULL, 0), -EINVAL);
	assert_int_equal(ks_mm_unmap(e.mm, 12345), -EINVAL);
	assert_int_equal(ks_mm_for_each_vma(NULL, NULL, NULL), -EINVAL);
	assert_int_equal(ks_mm_for_each_vma(e.mm, NULL, NULL), -EINVAL);
	assert_int_equal(ks_mmap_read_lock(NULL), -EINVAL);
	assert_int_equal(ks_mmap_read_trylock(NULL), -EINVAL);
	assert_int_equal(ks_mmap_read_lock_killable(NULL, NULL, NULL), -EINVAL);
	assert_int_equal(ks_mmap_read_unlock(NULL), -EINVAL);
	assert_int_equal(ks_mmap_write_lock(NULL), -EINVAL);
	assert_int_equal(ks_mmap_write_unlock(NULL), -EINVAL);
	assert_int_equal(ks_mm_zap(NULL, NULL, NULL, 0), -EINVAL);
	assert_int_equal(ks_mm_owners_add(NULL, 1), -EINVAL);
	assert_int_equal(ks_mm_owners_add(e.mm, 2), -EINVAL);
	assert_int_equal(ks_mm_owners_add(e.mm, 0), -EINVAL);
	assert_int_equal(ks_mm_owners_add(e.mm, -1), -EINVAL); /* would go negative */
	assert_int_equal(ks_mm_owners(e.mm), 0);
	assert_int_equal(ks_mm_owners(NULL), -EINVAL);
	assert_int_equal(ks_mmput(e.mm), 0);
	ks_test_env_fini(&e.env);
}

struct walk {
	unsigned long starts[8];
	size_t resident[8];
	int n;
	int files;
};

static int walk_fn(const struct ks_vma_info *v, void *arg)
{
	struct walk *w = arg;

	w->starts[w->n] = v->start;
	w->resident[w->n] = v->resident;
	if (v->file)
		w->files++;
	w->n++;
	return 0;
}

static int anon_only(const struct ks_vma_info *v, void *arg)
{
	(void)arg;
	return !v->file && !(v->vm_flags & KS_VM_SHARED);
}

static void test_map_zap_unmap(void **state)
{
	struct mmenv e;
	struct ks_mm_stats st;
	unsigned long a, b, c;
	struct walk w = {0};

	mm_init(&e, TOPO(state));
	assert_int_equal(ks_mm_map(e.mm, 3 * KS_PAGE_SIZE + 1, 0, NULL, &a), 0);
	assert_int_equal(ks_mm_map(e.mm, KS_PAGE_SIZE, KS_VM_SHARED, NULL, &b), 0);
	assert_int_equal(ks_mm_map(e.mm, 2 * KS_PAGE_SIZE, 0, "/lib/libc.so", &c), 0);
	assert_true(a < b && b < c);
	assert_int_equal(a % KS_PAGE_SIZE, 0);
	st = mstats(e.mm);
	assert_int_equal(st.nr_vmas, 3);
	assert_int_equal(st.resident, 7);
	assert_int_equal(st.anon_resident, 4);
	assert_int_equal(live_type(e.env.mem, "mm_page"), 7);
	assert_int_equal(ks_mm_for_each_vma(e.mm, walk_fn, &w), 0);
	assert_int_equal(w.n, 3);
	assert_int_equal(w.files, 1);
	assert_int_equal(w.starts[0], a);
	assert_int_equal(w.starts[2], c);
	assert_int_equal(w.resident[0], 4);

	/* zap: filter and a page budget */
	assert_int_equal(ks_mmap_read_lock(e.mm), 0);
	assert_int_equal(ks_mm_zap(e.mm, anon_only, NULL, 3), 3);
	assert_int_equal(ks_mm_zap(e.mm, anon_only, NULL, 0), 1);
	assert_int_equal(ks_mm_zap(e.mm, anon_only, NULL, 0), 0);
	assert_int_equal(ks_mmap_read_unlock(e.mm), 0);
	st = mstats(e.mm);
	assert_int_equal(st.resident, 3);
	assert_int_equal(st.anon_resident, 0);
	assert_int_equal(st.pages_freed, 4);
	assert_int_equal(st.nr_vmas, 3);

	assert_int_equal(ks_mm_unmap(e.mm, b), 0);
	assert_int_equal(ks_mm_unmap(e.mm, b), -EINVAL);
	st = mstats(e.mm);
	assert_int_equal(st.nr_vmas, 2);
	assert_int_equal(st.resident, 2);
	assert_int_equal(ks_mm_set_flags(e.mm, KS_MMF_UNSTABLE), 0);
	assert_int_equal(ks_mm_flags(e.mm), KS_MMF_UNSTABLE);

	/* last mmput: exit_mmap(), but mm_count keeps the struct */
	assert_int_equal(ks_mmgrab(e.mm), 0);
	assert_int_equal(ks_mmput(e.mm), 0);
	st = mstats(e.mm);
	assert_int_equal(st.users, 0);
	assert_int_equal(st.count, 1);
	assert_int_equal(st.nr_vmas, 0);
	assert_int_equal(st.resident, 0);
	assert_true(st.flags & KS_MMF_OOM_SKIP);
	assert_int_equal(live_type(e.env.mem, "mm_page"), 0);
	assert_int_equal(ks_mmget(e.mm), -EINVAL);
	assert_int_equal(ks_mmget_not_zero(e.mm), 0);
	assert_int_equal(ks_mmput(e.mm), -EINVAL);
	assert_int_equal(ks_mm_map(e.mm, 4096, 0, NULL, NULL), -ESRCH);
	assert_int_equal(ks_mmdrop(e.mm), 0);
	ks_test_env_fini(&e.env);
}

static void test_counts(void **state)
{
	struct mmenv e;
	struct ks_mm_stats st;

	mm_init(&e, TOPO(state));
	st = mstats(e.mm);
	assert_int_equal(st.users, 1);
	assert_int_equal(st.count, 1);
	assert_int_equal(ks_mmget(e.mm), 0);
	assert_int_equal(ks_mmget_not_zero(e.mm), 1);
	assert_int_equal(mstats(e.mm).users, 3);
	assert_int_equal(ks_mm_owners_add(e.mm, 1), 1);
	assert_int_equal(ks_mm_owners_add(e.mm, 1), 2);
	assert_int_equal(ks_mm_owners_add(e.mm, -1), 1);
	assert_int_equal(ks_mm_owners(e.mm), 1);
	assert_int_equal(ks_mm_map(e.mm, 8 * KS_PAGE_SIZE, KS_VM_LOCKED, NULL, NULL), 0);
	assert_int_equal(ks_mmput(e.mm), 0);
	assert_int_equal(ks_mmput(e.mm), 0);
	assert_int_equal(mstats(e.mm).resident, 8);
	assert_int_equal(ks_mmput(e.mm), 0); /* the last: struct freed */
	ks_test_env_fini(&e.env);
}

static int fatal_after(void *arg)
{
	int *n = arg;

	return ++*n >= 5;
}

static void test_killable(void **state)
{
	struct mmenv e;
	int calls = 0;

	(void)state;
	mm_init(&e, ks_test_topologies[1]);
	assert_int_equal(ks_mmap_read_lock_killable(e.mm, NULL, NULL), 0);
	assert_int_equal(ks_mmap_read_trylock(e.mm), 1);
	assert_int_equal(ks_mmap_read_unlock(e.mm), 0);
	assert_int_equal(ks_mmap_read_unlock(e.mm), 0);
	assert_int_equal(ks_mmap_write_lock(e.mm), 0);
	assert_int_equal(ks_mmap_read_trylock(e.mm), 0);
	assert_int_equal(ks_mmap_read_lock_killable(e.mm, fatal_after, &calls), -EINTR);
	assert_int_equal(calls, 5);
	assert_int_equal(ks_mmap_write_unlock(e.mm), 0);
	calls = 0;
	assert_int_equal(ks_mmap_read_lock_killable(e.mm, fatal_after, &calls), 0);
	assert_int_equal(calls, 0);
	assert_int_equal(ks_mmap_read_unlock(e.mm), 0);
	assert_int_equal(ks_mmput(e.mm), 0);
	ks_test_env_fini(&e.env);
}

static void test_default_opts(void **state)
{
	struct ks_mm *mm;

	(void)state;
	assert_int_equal(ks_mm_create(NULL, &mm), 0);
	assert_int_equal(ks_mm_map(mm, 5 * KS_PAGE_SIZE, 0, NULL, NULL), 0);
	assert_int_equal(ks_mmput(mm), 0); /* frees its own domain too (ASan checks) */
}


static int stop_second(const struct ks_vma_info *v, void *arg)
{
	int *n = arg;

	return ++*n == 2 ? -77 : 0;
}

static void test_walk_stop_and_enomem(void **state)
{
	struct mmenv e;
	struct ks_mm_stats st;
	unsigned long start;
	uint64_t nth;
	int n = 0, r;

	mm_init(&e, TOPO(state));
	assert_int_equal(ks_mm_map(e.mm, KS_PAGE_SIZE, 0, NULL, NULL), 0);
	assert_int_equal(ks_mm_map(e.mm, KS_PAGE_SIZE, 0, NULL, NULL), 0);
	assert_int_equal(ks_mm_map(e.mm, KS_PAGE_SIZE, 0, NULL, NULL), 0);
	assert_int_equal(ks_mm_for_each_vma(e.mm, stop_second, &n), -77);
	assert_int_equal(n, 2);
	/* each allocation of a map may fail: nothing is left mapped */
	for (nth = 1;; nth++) {
		assert_int_equal(ks_mem_fail_nth(e.env.mem, nth), 0);
		r = ks_mm_map(e.mm, 5 * KS_PAGE_SIZE, 0, "/f", &start);
		ks_mem_fail_nth(e.env.mem, 0);
		if (!r)
			break;
		assert_int_equal(r, -ENOMEM);
		st = mstats(e.mm);
		assert_int_equal(st.nr_vmas, 3);
		assert_int_equal(st.resident, 3);
		assert_int_equal(live_type(e.env.mem, "mm_page"), 3);
		assert_int_equal(live_type(e.env.mem, "vm_area_struct"), 3);
	}
	assert_int_equal(nth, 8); /* the VMA, its page table, five pages */
	assert_int_equal(mstats(e.mm).resident, 8);
	assert_int_equal(ks_mm_map(e.mm, 1UL << 40, 0, NULL, NULL), -ENOMEM); /* too much */
	assert_int_equal(mstats(e.mm).nr_vmas, 4);
	assert_int_equal(ks_mmput(e.mm), 0);
	ks_test_env_fini(&e.env);
}

/* Two zappers on the same pages (the reaper and exit): each page freed once. */
struct zapper {
	struct ks_mm *mm;
	long freed;
	pthread_barrier_t *go;
	int cpu;
};

static void *zap_thread(void *arg)
{
	struct zapper *z = arg;
	long n;

	ks_cpu_set_current(z->cpu);
	pthread_barrier_wait(z->go);
	assert_int_equal(ks_mmap_read_lock(z->mm), 0);
	while ((n = ks_mm_zap(z->mm, NULL, NULL, 3)) > 0)
		z->freed += n;
	assert_int_equal(ks_mmap_read_unlock(z->mm), 0);
	return NULL;
}

static void test_concurrent_zaps(void **state)
{
	struct mmenv e;
	struct zapper z[4];
	pthread_t th[4];
	pthread_barrier_t go;
	long total = 0;
	int i, round;

	mm_init(&e, TOPO(state));
	for (round = 0; round < 20; round++) {
		assert_int_equal(ks_mm_map(e.mm, 64 * KS_PAGE_SIZE, 0, NULL, NULL), 0);
		assert_int_equal(ks_mm_map(e.mm, 64 * KS_PAGE_SIZE, KS_VM_SHARED, NULL, NULL), 0);
		pthread_barrier_init(&go, NULL, 4);
		for (i = 0; i < 4; i++) {
			z[i] = (struct zapper){ .mm = e.mm, .go = &go, .cpu = i * 5 };
			assert_int_equal(pthread_create(&th[i], NULL, zap_thread, &z[i]), 0);
		}
		for (i = 0; i < 4; i++) {
			pthread_join(th[i], NULL);
			total += z[i].freed;
		}
		pthread_barrier_destroy(&go);
		assert_int_equal(total, 128 * (round + 1));
		assert_int_equal(mstats(e.mm).resident, 0);
		assert_int_equal(mstats(e.mm).pages_freed, 128 * (round + 1));
	}
	assert_int_equal(mstats(e.mm).nr_vmas, 40); /* zaps leave the VMAs */
	assert_int_equal(ks_mmput(e.mm), 0);
	ks_test_env_fini(&e.env);
}

/* A writer elsewhere holds mmap_lock: the killable reader gives up or waits. */
struct holder {
	struct ks_mm *mm;
	int release_after_ms;
	int held;
};

static void *hold_write(void *arg)
{
	struct holder *h = arg;
	struct timespec ts = { 0, (long)h->release_after_ms * 1000 * 1000 };

	assert_int_equal(ks_mmap_write_lock(h->mm), 0);
	__atomic_store_n(&h->held, 1, __ATOMIC_RELEASE);
	nanosleep(&ts, NULL);
	assert_int_equal(ks_mmap_write_unlock(h->mm), 0);
	return NULL;
}

struct deadline {
	uint64_t at;
	int calls;
	uint64_t max_gap, last;
};

static int fatal_at(void *arg)
{
	struct deadline *d = arg;
	uint64_t now = ks_clock_ns();

	if (d->last && now - d->last > d->max_gap)
		d->max_gap = now - d->last;
	d->last = now;
	d->calls++;
	return now >= d->at;
}

static void test_killable_cross_thread(void **state)
{
	struct mmenv e;
	struct holder h;
	struct deadline d;
	pthread_t th;

	(void)state;
	mm_init(&e, ks_test_topologies[1]);
	/* killed while the writer holds it for 200 ms: -EINTR after ~20 ms */
	h = (struct holder){ .mm = e.mm, .release_after_ms = 200 };
	assert_int_equal(pthread_create(&th, NULL, hold_write, &h), 0);
	while (!__atomic_load_n(&h.held, __ATOMIC_ACQUIRE))
		sched_yield();
	d = (struct deadline){ .at = ks_clock_ns() + 20 * 1000 * 1000 };
	assert_int_equal(ks_mmap_read_lock_killable(e.mm, fatal_at, &d), -EINTR);
	assert_true(d.calls > 10);
	pthread_join(th, NULL);
	/* not killed: it waits for the writer and gets the lock */
	h = (struct holder){ .mm = e.mm, .release_after_ms = 10 };
	assert_int_equal(pthread_create(&th, NULL, hold_write, &h), 0);
	while (!__atomic_load_n(&h.held, __ATOMIC_ACQUIRE))
		sched_yield();
	d = (struct deadline){ .at = UINT64_MAX };
	assert_int_equal(ks_mmap_read_lock_killable(e.mm, fatal_at, &d), 0);
	assert_true(d.calls > 0);
	assert_int_equal(ks_mmap_read_unlock(e.mm), 0);
	pthread_join(th, NULL);
	assert_int_equal(ks_mmput(e.mm), 0);
	ks_test_env_fini(&e.env);
}

static void test_create_errors(void **state)
{
	struct ks_test_env env;
	struct ks_lock_class *cls;
	struct ks_mm_opts o = {0};
	struct ks_lock_class_stats st[64];
	struct ks_mm *mm;
	char name[32];
	size_t n, i;
	int k;

	(void)state;
	ks_test_env_init(&env, ks_test_topologies[0]);
	o.topo = env.topo;
	o.locks = env.locks;
	o.mem = env.mem;
	assert_int_equal(ks_mm_create(&o, &mm), 0);
	assert_int_equal(ks_mm_map(mm, KS_PAGE_SIZE, 0, NULL, NULL), 0);
	assert_int_equal(ks_mmput(mm), 0);
	assert_int_equal(ks_lockstat_read(env.locks, st, 64, &n), 0);
	for (i = 0; i < n && strcmp(st[i].name, "mmap_lock"); i++)
		;
	assert_true(i < n);
	if (ks_lockstat_enabled())
		assert_true(st[i].acquisitions >= 3); /* map, exit_mmap read and write */
	ks_lockstat_destroy(env.locks);
	/* a full lock_stat registry: -ENOSPC, nothing allocated */
	assert_int_equal(ks_lockstat_create(env.topo, &env.locks), 0);
	for (k = 0; k < 64; k++) {
		snprintf(name, sizeof(name), "c%d", k);
		assert_int_equal(ks_lock_class_get(env.locks, name, KS_LOCK_OBJECT, &cls), 0);
	}
	o.locks = env.locks;
	assert_int_equal(ks_mm_create(&o, &mm), -ENOSPC);
	/* allocation failures */
	o.locks = NULL;
	assert_int_equal(ks_mem_fail_nth(env.mem, 1), 0); /* the mm_struct */
	assert_int_equal(ks_mm_create(&o, &mm), -ENOMEM);
	ks_mem_fail_nth(env.mem, 0);
	ks_test_env_fini(&env);
}

#define T(fn)                                                                                      \
	cmocka_unit_test_prestate(fn, (void *)0), cmocka_unit_test_prestate(fn, (void *)1),        \
		cmocka_unit_test_prestate(fn, (void *)2), cmocka_unit_test_prestate(fn, (void *)3)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_args),
		T(test_map_zap_unmap),
		T(test_counts),
		cmocka_unit_test(test_killable),
		T(test_walk_stop_and_enomem),
		T(test_concurrent_zaps),
		cmocka_unit_test(test_killable_cross_thread),
		cmocka_unit_test(test_create_errors),
		cmocka_unit_test(test_default_opts),
	};
	int r;

	if (ks_rcu_register_thread())
		return 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	ks_rcu_unregister_thread();
	return r;
}
