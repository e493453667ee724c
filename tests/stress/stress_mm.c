// SPDX-License-Identifier: MIT
/*
 * mm under concurrency: reaper-style zaps (mmap_lock for read, anonymous
 * VMAs only, in slices) race exit_mmap() of the last ks_mmput(), users
 * come and go (ks_mmget_not_zero()/ks_mmput(), map and unmap under their
 * reference), and the owner count moves. Checks: every page is freed once
 * (ASan: no double free; the leak oracle: none left), an exited mm has
 * nothing resident and KS_MMF_OOM_SKIP set, and pages freed equal pages
 * mapped.
 */
#include "ks_test.h"

#include <kscale/mm.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <time.h>

struct shared {
	struct ks_test_env env;
	pthread_mutex_t slot_lock;
	struct ks_mm *cur; /* under slot_lock */
	int stop;
	int nr_cpus;
	long zaps, zapped, maps, unmaps, eintr, puts_last;
	uint64_t mapped_pages; /* pages mapped by users, atomic */
};

struct worker {
	pthread_t t;
	struct shared *s;
	int id;
	int role;
	unsigned int seed;
};

enum { ROLE_REAPER, ROLE_USER, ROLE_OWNER };

/* The current mm with an mm_count reference, or NULL. */
static struct ks_mm *grab_current(struct shared *s)
{
	struct ks_mm *mm;

	pthread_mutex_lock(&s->slot_lock);
	mm = s->cur;
	if (mm)
		assert_int_equal(ks_mmgrab(mm), 0);
	pthread_mutex_unlock(&s->slot_lock);
	return mm;
}

static int reapable(const struct ks_vma_info *v, void *arg)
{
	(void)arg;
	/* __oom_reap_task_mm(): private anonymous, not mlocked/hugetlb/PFN */
	return !v->file && !(v->vm_flags & (KS_VM_SHARED | KS_VM_LOCKED | KS_VM_HUGETLB |
					   KS_VM_PFNMAP));
}

static int fatal_stop(void *arg)
{
	struct shared *s = arg;

	return __atomic_load_n(&s->stop, __ATOMIC_RELAXED);
}

static void reaper(struct worker *w, struct ks_mm *mm)
{
	struct shared *s = w->s;
	long n, total = 0;
	int r;

	if (rand_r(&w->seed) & 1)
		r = ks_mmap_read_trylock(mm) == 1 ? 0 : -EBUSY;
	else
		r = ks_mmap_read_lock_killable(mm, fatal_stop, s);
	if (r == -EINTR)
		__atomic_add_fetch(&s->eintr, 1, __ATOMIC_RELAXED);
	if (r)
		return;
	if (!(ks_mm_flags(mm) & KS_MMF_OOM_SKIP)) {
		ks_mm_set_flags(mm, KS_MMF_UNSTABLE);
		do {
			n = ks_mm_zap(mm, reapable, NULL, 1 + rand_r(&w->seed) % 8);
			assert_true(n >= 0);
			total += n;
		} while (n > 0);
	}
	ks_mmap_read_unlock(mm);
	__atomic_add_fetch(&s->zaps, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->zapped, total, __ATOMIC_RELAXED);
}

static void user(struct worker *w, struct ks_mm *mm)
{
	static const unsigned int kinds[] = { 0, KS_VM_SHARED, KS_VM_LOCKED, KS_VM_HUGETLB };
	struct shared *s = w->s;
	struct ks_mm_stats st;
	unsigned long start;
	size_t pages;
	int r;

	if (ks_mmget_not_zero(mm) != 1)
		return;
	pages = 1 + rand_r(&w->seed) % 4;
	r = ks_mm_map(mm, pages * KS_PAGE_SIZE, kinds[rand_r(&w->seed) % 4],
		      rand_r(&w->seed) % 3 ? NULL : "/lib/x.so", &start);
	assert_int_equal(r, 0);
	__atomic_add_fetch(&s->maps, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->mapped_pages, pages, __ATOMIC_RELAXED);
	if (rand_r(&w->seed) & 1) {
		assert_int_equal(ks_mm_unmap(mm, start), 0);
		__atomic_add_fetch(&s->unmaps, 1, __ATOMIC_RELAXED);
	}
	assert_int_equal(ks_mm_stats(mm, &st), 0);
	assert_true(st.users >= 1);
	if (rand_r(&w->seed) & 1) {
		/* a sharer comes and goes (clone CLONE_VM, then its exit) */
		assert_true(ks_mm_owners_add(mm, 1) >= 1);
		assert_true(ks_mm_owners_add(mm, -1) >= 0);
	}
	assert_int_equal(ks_mmput(mm), 0);
}

static void *run(void *arg)
{
	struct worker *w = arg;
	struct shared *s = w->s;

	ks_rcu_register_thread();
	ks_cpu_set_current((w->id * 7) % s->nr_cpus);
	do { /* at least one pass, however late this thread starts */
		struct ks_mm *mm = grab_current(s);

		if (!mm)
			continue;
		if (w->role == ROLE_REAPER)
			reaper(w, mm);
		else
			user(w, mm);
		assert_int_equal(ks_mmdrop(mm), 0);
	} while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED));
	ks_rcu_unregister_thread();
	return NULL;
}

/* A new mm with a few VMAs of every kind, one owner. */
static struct ks_mm *new_mm(struct shared *s, unsigned int *seed)
{
	static const unsigned int kinds[] = { 0, KS_VM_SHARED, KS_VM_LOCKED, KS_VM_PFNMAP };
	struct ks_mm_opts o = { .topo = s->env.topo, .locks = s->env.locks, .mem = s->env.mem };
	struct ks_mm *mm;
	int i;

	assert_int_equal(ks_mm_create(&o, &mm), 0);
	for (i = 0; i < 6; i++) {
		size_t pages = 4 + rand_r(seed) % 16;

		assert_int_equal(ks_mm_map(mm, pages * KS_PAGE_SIZE, kinds[i % 4],
					   i == 5 ? "/bin/sh" : NULL, NULL), 0);
		__atomic_add_fetch(&s->mapped_pages, pages, __ATOMIC_RELAXED);
	}
	assert_int_equal(ks_mm_owners_add(mm, 1), 1);
	return mm;
}

/* The owner drops its users reference; check the exited mm once quiet. */
static void retire(struct shared *s, struct ks_mm *mm)
{
	struct ks_mm_stats st;

	assert_int_equal(ks_mmgrab(mm), 0);
	assert_true(ks_mm_owners_add(mm, -1) >= 0);
	assert_int_equal(ks_mmput(mm), 0);
	/* exit_mmap() runs in whoever dropped the last user: wait for it */
	for (;;) {
		assert_int_equal(ks_mm_stats(mm, &st), 0);
		/* the fields are read one by one: users first, then the rest */
		if (!st.users && (st.flags & KS_MMF_OOM_SKIP) && !st.nr_vmas)
			break;
		sched_yield();
	}
	assert_int_equal(st.users, 0);
	assert_int_equal(st.nr_vmas, 0);
	assert_int_equal(st.resident, 0);
	assert_int_equal(st.anon_resident, 0);
	assert_int_equal(ks_mmdrop(mm), 0);
}

static void test_reap_vs_exit(void **state)
{
	struct shared s;
	struct worker *w;
	int i, nr = ks_test_stress_threads();
	double secs = ks_test_stress_seconds();
	unsigned int seed = 1;
	uint64_t end, rounds = 0;
	struct ks_mem_type_stats ms[64];
	size_t n, k;
	uint64_t page_allocs = 0, page_frees = 0;

	(void)state;
	if (nr < 3)
		nr = 3;
	memset(&s, 0, sizeof(s));
	ks_test_env_init(&s.env, ks_test_topologies[2]);
	s.nr_cpus = ks_topo_nr_cpus(s.env.topo);
	pthread_mutex_init(&s.slot_lock, NULL);
	s.cur = new_mm(&s, &seed);
	w = calloc(nr, sizeof(*w));
	assert_non_null(w);
	for (i = 0; i < nr; i++) {
		w[i].s = &s;
		w[i].id = i;
		w[i].role = i % 2 ? ROLE_REAPER : ROLE_USER;
		w[i].seed = 1000 + i;
		assert_int_equal(pthread_create(&w[i].t, NULL, run, &w[i]), 0);
	}
	end = ks_clock_ns() + (uint64_t)(secs * 1e9);
	while (ks_clock_ns() < end) {
		struct ks_mm *old, *mm = new_mm(&s, &seed);

		pthread_mutex_lock(&s.slot_lock);
		old = s.cur;
		s.cur = mm;
		pthread_mutex_unlock(&s.slot_lock);
		retire(&s, old);
		rounds++;
		{
			const struct timespec ts = { 0, 2 * 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
	}
	__atomic_store_n(&s.stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < nr; i++)
		pthread_join(w[i].t, NULL);
	retire(&s, s.cur);
	free(w);
	pthread_mutex_destroy(&s.slot_lock);

	assert_int_equal(ks_mem_read(s.env.mem, ms, 64, &n), 0);
	for (k = 0; k < n && k < 64; k++)
		if (!strcmp(ms[k].name, "mm_page")) {
			page_allocs = ms[k].allocs;
			page_frees = ms[k].frees;
		}
	assert_int_equal(page_allocs, s.mapped_pages);
	assert_int_equal(page_frees, s.mapped_pages);
	print_message("rounds %llu zaps %ld zapped %ld maps %ld unmaps %ld eintr %ld\n",
		      (unsigned long long)rounds, s.zaps, s.zapped, s.maps, s.unmaps, s.eintr);
	assert_true(rounds > 0);
	ks_test_env_fini(&s.env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reap_vs_exit),
	};
	int r;

	if (ks_rcu_register_thread())
		return 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	ks_rcu_unregister_thread();
	return r;
}
