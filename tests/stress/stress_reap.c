// SPDX-License-Identifier: MIT
/*
 * Reaping under concurrency, once per safety-check strategy ("scan",
 * "mm-owners"):
 *  - killer workers create victims (1-3 threads, some stalled, some on a
 *    slow CPU, some that exit at once so reaping races exit_mmap()) and
 *    kill them with every killer, two at a time, so process_mrelease() from
 *    the killer, the lmkd pool and the oom_reaper thread race the victims'
 *    own exits. Checks: each victim's memory is freed exactly once
 *    (pages_freed == pages mapped, reaped + exit == total).
 *  - sharer workers keep a live process P whose killed CLONE_VM child S is
 *    asked to be reaped over and over while a helper thread clones CLONE_VM
 *    sharers of P and kills and exits them. While P lives the answer must
 *    be -EINVAL and nothing may be freed (the O(1) owners count must stay
 *    right as sharers come and go); once P is killed and the sharers are
 *    gone, S is reaped.
 * Everything balances at the end (leak oracle).
 */
#include "reap_env.h"

#include <kscale/mm.h>
#include <kscale/reap.h>
#include <kscale/task.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PG KS_PAGE_SIZE

struct shared {
	struct reap_env e;
	uint64_t end_ns;
	long victims, sharer_rounds, sharers_made, refused;
};

struct worker {
	pthread_t th;
	struct shared *s;
	unsigned int seed;
	int id;
};

static void kill_round(struct worker *w)
{
	static const unsigned int kinds[] = { 0, KS_VM_LOCKED, KS_VM_SHARED, KS_VM_HUGETLB };
	const struct ks_strategy_info *k;
	struct ks_reap_victim *v[2];
	size_t nk;
	int i;

	k = ks_reap_killers(&nk);
	for (i = 0; i < 2; i++) {
		struct ks_reap_victim_opts vo = {
			.bytes = (size_t)(8 + rand_r(&w->seed) % 56) * 4 * PG,
			.nr_vmas = 4,
			.vm_flags = kinds,
			.nr_threads = 1 + (unsigned int)rand_r(&w->seed) % 3,
			.stall_ms = (unsigned int)rand_r(&w->seed) % 3,
			.speed_pct = rand_r(&w->seed) % 2 ? 100 : 50,
			.slice_pages = 8,
		};

		assert_int_equal(ks_reap_victim_create(w->s->e.r, &vo, &v[i]), 0);
	}
	for (i = 0; i < 2; i++)
		assert_int_equal(ks_reap_kill(w->s->e.r, v[i], k[rand_r(&w->seed) % nk].name), 0);
	for (i = 0; i < 2; i++) {
		struct ks_reap_result res;
		struct ks_mm_stats st;

		assert_int_equal(ks_reap_victim_wait(v[i], &res, 0), 0);
		assert_true(res.freed_ns > 0);
		assert_int_equal(ks_mm_stats(ks_reap_victim_mm(v[i]), &st), 0);
		assert_int_equal(st.pages_freed, res.pages_total); /* each page once */
		assert_int_equal(st.resident, 0);
		assert_int_equal(res.pages_exit + res.pages_reaped, res.pages_total);
		assert_true(res.mrelease_ret == 0 || res.mrelease_ret == -ESRCH ||
			    res.mrelease_ret == -EINVAL);
		assert_int_equal(ks_reap_victim_destroy(v[i]), 0);
		__atomic_fetch_add(&w->s->victims, 1, __ATOMIC_RELAXED);
	}
}

struct cloner {
	struct shared *s;
	struct ks_task *parent;
	int stop;
	unsigned int seed;
};

/* CLONE_VM sharers of the live parent come and go. */
static void *cloner_main(void *arg)
{
	struct cloner *c = arg;

	ks_rcu_register_thread();
	do { /* at least one pass, however late this thread starts */
		struct ks_task *sh;

		if (ks_task_clone(c->s->e.t, c->parent, KS_CLONE_VM, &sh))
			continue;
		__atomic_fetch_add(&c->s->sharers_made, 1, __ATOMIC_RELAXED);
		if (rand_r(&c->seed) % 2)
			ks_task_kill(sh);
		assert_int_equal(ks_task_exit(sh, 0), 0);
		assert_int_equal(ks_task_reap(sh, NULL), 0);
		assert_int_equal(ks_task_put(sh), 0);
	} while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE));
	ks_rcu_unregister_thread();
	return NULL;
}

static void sharer_round(struct worker *w)
{
	struct shared *s = w->s;
	struct cloner c = { .s = s, .seed = w->seed };
	struct ks_task *child;
	struct ks_mm_stats st;
	struct ks_mm *mm;
	pthread_t th;
	int i, fd;

	assert_int_equal(ks_task_clone(s->e.t, NULL, 0, &c.parent), 0);
	assert_int_equal(ks_task_mm(c.parent, &mm), 0);
	assert_int_equal(ks_mm_map(mm, 32 * PG, 0, NULL, NULL), 0);
	assert_int_equal(ks_task_clone(s->e.t, c.parent, KS_CLONE_VM, &child), 0);
	fd = ks_pidfd_open_task(s->e.r, child, 0);
	assert_true(fd >= 3);
	assert_int_equal(ks_task_kill(child), 0);
	assert_int_equal(pthread_create(&th, NULL, cloner_main, &c), 0);
	for (i = 0; i < 50; i++) {
		/* the parent lives: never reap */
		assert_int_equal(ks_process_mrelease(s->e.r, fd, 0), -EINVAL);
		__atomic_fetch_add(&s->refused, 1, __ATOMIC_RELAXED);
	}
	assert_int_equal(ks_mm_stats(mm, &st), 0);
	assert_int_equal(st.anon_resident, 32);
	__atomic_store_n(&c.stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	assert_int_equal(ks_task_kill(c.parent), 0);
	assert_int_equal(ks_process_mrelease(s->e.r, fd, 0), 0);
	assert_int_equal(ks_mm_stats(mm, &st), 0);
	assert_int_equal(st.anon_resident, 0);
	assert_int_equal(ks_mmput(mm), 0);
	assert_int_equal(ks_pidfd_close(s->e.r, fd), 0);
	assert_int_equal(ks_task_exit(child, 9), 0);
	assert_int_equal(ks_task_reap(child, NULL), 0);
	assert_int_equal(ks_task_put(child), 0);
	assert_int_equal(ks_task_exit(c.parent, 9), 0);
	assert_int_equal(ks_task_reap(c.parent, NULL), 0);
	assert_int_equal(ks_task_put(c.parent), 0);
	__atomic_fetch_add(&s->sharer_rounds, 1, __ATOMIC_RELAXED);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	ks_rcu_register_thread();
	ks_cpu_set_current(w->id);
	do { /* at least one pass, however late this thread starts */
		if (w->id % 2)
			sharer_round(w);
		else
			kill_round(w);
	} while (ks_clock_ns() < w->s->end_ns);
	ks_rcu_unregister_thread();
	return NULL;
}

static void test_stress(void **state)
{
	struct ks_reap_opts ro = { .oom_reaper_delay_ms = 2, .oom_reap_retry_ms = 1 };
	struct worker w[4];
	struct shared s;
	int i, nr = ks_test_stress_threads();

	if (nr > 4)
		nr = 4;
	if (nr < 2)
		nr = 2;
	memset(&s, 0, sizeof(s));
	reap_env_init(&s.e, ks_test_topologies[2], *state, &ro);
	s.end_ns = ks_clock_ns() + (uint64_t)(ks_test_stress_seconds() * 1e9 / 2);
	for (i = 0; i < nr; i++) {
		w[i] = (struct worker){ .s = &s, .id = i, .seed = 1234u + (unsigned int)i };
		assert_int_equal(pthread_create(&w[i].th, NULL, worker_main, &w[i]), 0);
	}
	for (i = 0; i < nr; i++)
		pthread_join(w[i].th, NULL);
	assert_true(s.victims > 0);
	assert_true(s.sharer_rounds > 0);
	print_message("stress_reap (%s): %ld victims, %ld sharer rounds, %ld sharers, %ld refusals\n",
		      (const char *)*state, s.victims, s.sharer_rounds, s.sharers_made, s.refused);
	reap_env_fini(&s.e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate(test_stress, (void *)"scan"),
		cmocka_unit_test_prestate(test_stress, (void *)"mm-owners"),
	};

	if (ks_rcu_register_thread())
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
