// SPDX-License-Identifier: MIT
/*
 * reap: pidfds, process_mrelease()'s errno order and effects, the safety
 * check's walk, and every killer on a stalled victim. Every body runs for
 * both safety-check strategies ("scan", "mm-owners").
 */
#include "reap_env.h"

#include <kscale/mm.h>
#include <kscale/reap.h>
#include <kscale/task.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define STRAT(state) ((const char *)*(state))
#define PG KS_PAGE_SIZE

#define renv reap_env

static void renv_init(struct renv *e, const char *check, const struct ks_reap_opts *ro)
{
	reap_env_init(e, ks_test_topologies[1], check, ro);
}

#define renv_fini reap_env_fini

/* A process with one VMA per entry of @flags, @pages pages each. */
static struct ks_task *process(struct renv *e, const unsigned int *flags, int n, size_t pages)
{
	struct ks_task *p;
	struct ks_mm *mm;
	int i;

	assert_int_equal(ks_task_clone(e->t, NULL, 0, &p), 0);
	assert_int_equal(ks_task_mm(p, &mm), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(ks_mm_map(mm, pages * PG, flags[i],
					   (flags[i] & ~KS_VM_LOCKED) ? "/f" : NULL, NULL), 0);
	assert_int_equal(ks_mmput(mm), 0);
	return p;
}

/* do_exit() of every listed thread, then the parent's wait. */
static void finish(struct ks_task **thr, int n)
{
	int i;

	for (i = n; i-- > 0;) {
		int ret = ks_task_exit(thr[i], 0);

		assert_true(ret == 0 || ret == -ESRCH);
	}
	assert_int_equal(ks_task_reap(thr[0], NULL), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(ks_task_put(thr[i]), 0);
}

static struct ks_mm_stats mstats(struct ks_mm *mm)
{
	struct ks_mm_stats st;

	assert_int_equal(ks_mm_stats(mm, &st), 0);
	return st;
}

struct vma_res {
	size_t resident[8];
	int n;
};

static int collect(const struct ks_vma_info *vma, void *arg)
{
	struct vma_res *v = arg;

	v->resident[v->n++] = vma->resident;
	return 0;
}

static void test_registries(void **state)
{
	const struct ks_strategy_info *s;
	struct ks_reap_opts ro = { 0 };
	struct ks_reap *r;
	struct renv e;
	size_t n, i;

	s = ks_reap_strategies(&n);
	assert_int_equal(n, 2);
	assert_string_equal(s[0].name, "scan");
	assert_string_equal(s[1].name, "mm-owners");
	s = ks_reap_killers(&n);
	assert_int_equal(n, 4);
	for (i = 0; i < n; i++)
		assert_non_null(s[i].summary);
	renv_init(&e, STRAT(state), NULL);
	assert_int_equal(ks_reap_create(NULL, NULL, &r), -EINVAL);
	assert_int_equal(ks_reap_create(e.t, NULL, NULL), -EINVAL);
	ro.check = "nope";
	assert_int_equal(ks_reap_create(e.t, &ro, &r), -ENOENT);
	ro.check = NULL;
	ro.lmkd_pool_size = 65;
	assert_int_equal(ks_reap_create(e.t, &ro, &r), -EINVAL);
	assert_int_equal(ks_reap_destroy(NULL), -EINVAL);
	assert_null(ks_reap_check(NULL));
	assert_int_equal(ks_reap_stats(e.r, NULL), -EINVAL);
	assert_int_equal(ks_reap_will_free_mem(e.r, NULL, NULL), -EINVAL);
	assert_int_equal(ks_reap_oom_reap_task(e.r, NULL), -EINVAL);
	assert_int_equal(ks_reap_fail_notifier(NULL, 1), -EINVAL);
	assert_int_equal(ks_reap_mrelease_task(e.r, NULL, 0), -EINVAL);
	assert_int_equal(ks_process_mrelease(NULL, 3, 0), -EINVAL);
	assert_int_equal(ks_reap_kill(e.r, NULL, "mrelease"), -EINVAL);
	assert_int_equal(ks_reap_victim_create(e.r, NULL, NULL), -EINVAL);
	assert_int_equal(ks_reap_victim_wait(NULL, NULL, 0), -EINVAL);
	assert_int_equal(ks_reap_victim_destroy(NULL), -EINVAL);
	renv_fini(&e);
}

static void test_pidfd(void **state)
{
	struct ks_reap_opts ro = { .max_pidfds = 5 };
	struct ks_task *p, *th, *got;
	unsigned int anon = 0;
	struct renv e;
	int fd, fd2, tfd;

	renv_init(&e, STRAT(state), &ro);
	p = process(&e, &anon, 1, 1);
	assert_int_equal(ks_task_clone(e.t, p, KS_CLONE_VM | KS_CLONE_THREAD, &th), 0);

	assert_int_equal(ks_pidfd_open(e.r, ks_task_tgid(p), 0x1), -EINVAL);
	assert_int_equal(ks_pidfd_open(e.r, 0, 0), -EINVAL);
	assert_int_equal(ks_pidfd_open(e.r, -1, 0), -EINVAL);
	assert_int_equal(ks_pidfd_open(e.r, 99999, 0), -ESRCH);
	/* a thread that is not a leader: -ENOENT without PIDFD_THREAD (6.18) */
	assert_int_equal(ks_pidfd_open(e.r, ks_task_tid(th), 0), -ENOENT);
	assert_int_equal(ks_pidfd_open_task(e.r, th, 0), -ENOENT);
	tfd = ks_pidfd_open(e.r, ks_task_tid(th), KS_PIDFD_THREAD);
	assert_true(tfd >= 3);
	assert_int_equal(ks_pidfd_get_task(e.r, tfd, &got), 0);
	assert_ptr_equal(got, th);
	ks_task_put(got);

	fd = ks_pidfd_open(e.r, ks_task_tgid(p), KS_PIDFD_NONBLOCK);
	assert_true(fd >= 3 && fd != tfd);
	assert_int_equal(ks_pidfd_get_task(e.r, fd, &got), 0);
	assert_ptr_equal(got, p);
	ks_task_put(got);
	/* the table is full at 5: 3 reserved + 2 */
	assert_int_equal(ks_pidfd_open_task(e.r, p, 0), -EMFILE);
	assert_int_equal(ks_pidfd_get_task(e.r, 0, &got), -EBADF);
	assert_int_equal(ks_pidfd_get_task(e.r, -1, &got), -EBADF);
	assert_int_equal(ks_pidfd_get_task(e.r, 4096, &got), -EBADF);
	assert_int_equal(ks_pidfd_close(e.r, tfd), 0);
	assert_int_equal(ks_pidfd_close(e.r, tfd), -EBADF);
	assert_int_equal(ks_pidfd_close(e.r, 2), -EBADF);
	assert_int_equal(ks_pidfd_get_task(e.r, tfd, &got), -EBADF);

	/* a pidfd keeps the pid: stale after the process is reaped */
	{
		struct ks_task *thr[2] = { p, th };

		finish(thr, 2);
	}
	assert_int_equal(ks_pidfd_get_task(e.r, fd, &got), -ESRCH);
	assert_int_equal(ks_process_mrelease(e.r, fd, 0), -ESRCH);
	fd2 = ks_pidfd_open(e.r, 99998, 0);
	assert_int_equal(fd2, -ESRCH);
	assert_int_equal(ks_pidfd_close(e.r, fd), 0);
	renv_fini(&e);
}

static int always_fatal(void *arg)
{
	(*(int *)arg)++;
	return 1;
}

static void test_mrelease_errno_order(void **state)
{
	const unsigned int kinds[] = { 0, KS_VM_SHARED, KS_VM_LOCKED, KS_VM_HUGETLB, KS_VM_PFNMAP,
				       0 };
	struct ks_task *p;
	struct ks_mm *mm;
	struct vma_res vr = { 0 };
	struct ks_mm_stats st;
	struct ks_reap_stats rs;
	int fd, fatal_calls = 0;
	struct renv e;

	renv_init(&e, STRAT(state), NULL);
	p = process(&e, kinds, 6, 4);
	fd = ks_pidfd_open_task(e.r, p, 0);
	assert_true(fd >= 3);
	assert_int_equal(ks_task_mm(p, &mm), 0);

	/* flags first, even with a bad descriptor */
	assert_int_equal(ks_process_mrelease(e.r, -1, 1), -EINVAL);
	assert_int_equal(ks_process_mrelease(e.r, fd, 1), -EINVAL);
	assert_int_equal(ks_reap_mrelease_task(e.r, p, 1), -EINVAL);
	/* not a pidfd */
	assert_int_equal(ks_process_mrelease(e.r, -1, 0), -EBADF);
	assert_int_equal(ks_process_mrelease(e.r, 1, 0), -EBADF);
	assert_int_equal(ks_process_mrelease(e.r, fd + 1, 0), -EBADF);
	/* alive, not killed */
	assert_int_equal(ks_process_mrelease(e.r, fd, 0), -EINVAL);
	assert_int_equal(ks_reap_will_free_mem(e.r, p, NULL), 0);
	/* killed but dumping core */
	assert_int_equal(ks_task_set_coredump(p, 1), 0);
	assert_int_equal(ks_task_kill(p), 0);
	assert_int_equal(ks_process_mrelease(e.r, fd, 0), -EINVAL);
	assert_int_equal(ks_task_set_coredump(p, 0), 0);
	/* the caller is killed while waiting for mmap_lock: nothing reaped */
	assert_int_equal(ks_mmap_write_lock(mm), 0);
	assert_int_equal(ks_process_mrelease_killable(e.r, fd, 0, always_fatal, &fatal_calls),
			 -EINTR);
	assert_int_equal(ks_mmap_write_unlock(mm), 0);
	assert_true(fatal_calls >= 1);
	assert_int_equal(mstats(mm).anon_resident, 3 * 4); /* anon, locked, anon */
	/* an mmu notifier refuses one VMA: -EAGAIN, that VMA stays */
	assert_int_equal(ks_reap_fail_notifier(e.r, 1), 0);
	assert_int_equal(ks_process_mrelease(e.r, fd, 0), -EAGAIN);
	st = mstats(mm);
	assert_int_equal(st.anon_resident, 4);
	assert_true(st.flags & KS_MMF_UNSTABLE);
	/* now everything reapable goes */
	assert_int_equal(ks_process_mrelease(e.r, fd, 0), 0);
	st = mstats(mm);
	assert_int_equal(st.anon_resident, 0);
	assert_true(st.flags & KS_MMF_UNSTABLE);
	assert_false(st.flags & KS_MMF_OOM_SKIP); /* as the kernel: exit_mmap() sets it */
	assert_int_equal(ks_mm_for_each_vma(mm, collect, &vr), 0);
	assert_int_equal(vr.n, 6);
	assert_int_equal(vr.resident[0], 0);
	assert_int_equal(vr.resident[1], 4); /* shared file: left to reclaim */
	assert_int_equal(vr.resident[2], 0); /* mlocked: reaped since 5.18 */
	assert_int_equal(vr.resident[3], 4); /* hugetlb */
	assert_int_equal(vr.resident[4], 4); /* pfnmap */
	assert_int_equal(vr.resident[5], 0);
	/* a second call: nothing left, still 0 */
	assert_int_equal(ks_process_mrelease(e.r, fd, 0), 0);
	/* MMF_OOM_SKIP set: 0 (work done) */
	ks_mm_set_flags(mm, KS_MMF_OOM_SKIP);
	assert_int_equal(ks_process_mrelease(e.r, fd, 0), 0);
	assert_int_equal(ks_mmput(mm), 0);
	/* exited, not waited for: no thread has an mm */
	assert_int_equal(ks_task_exit(p, 9), 0);
	assert_int_equal(ks_process_mrelease(e.r, fd, 0), -ESRCH);
	assert_int_equal(ks_reap_mrelease_task(e.r, p, 0), -ESRCH);
	assert_int_equal(ks_task_reap(p, NULL), 0);
	assert_int_equal(ks_process_mrelease(e.r, fd, 0), -ESRCH);
	assert_int_equal(ks_reap_mrelease_task(e.r, p, 0), -ESRCH);
	assert_int_equal(ks_task_put(p), 0);
	assert_int_equal(ks_pidfd_close(e.r, fd), 0);
	assert_int_equal(ks_reap_stats(e.r, &rs), 0);
	assert_int_equal(rs.pages_reaped, 3 * 4);
	assert_int_equal(rs.pidfds_open, 0);
	renv_fini(&e);
}

/* A killed vfork-like child shares its mm with its live parent. */
static void test_shared_mm(void **state)
{
	unsigned int anon = 0;
	struct ks_task *parent, *child, *other[5];
	struct ks_mm *mm;
	int fd, visits = -1, i;
	bool scan = !strcmp(STRAT(state), "scan");
	struct renv e;

	renv_init(&e, STRAT(state), NULL);
	for (i = 0; i < 5; i++)
		other[i] = process(&e, &anon, 1, 1);
	parent = process(&e, &anon, 1, 8);
	assert_int_equal(ks_task_clone(e.t, parent, KS_CLONE_VM, &child), 0);
	assert_int_equal(ks_task_mm(parent, &mm), 0);
	assert_int_equal(ks_mm_owners(mm), 2);
	fd = ks_pidfd_open_task(e.r, child, 0);
	assert_true(fd >= 3);
	assert_int_equal(ks_task_kill(child), 0);
	/* the model holds the child in exit: the live parent forbids the reap */
	assert_int_equal(ks_reap_will_free_mem(e.r, child, &visits), 0);
	if (scan) /* the walk stops at the first live sharer */
		assert_true(visits >= 1 && visits <= 7);
	else
		assert_int_equal(visits, 0);
	assert_int_equal(ks_process_mrelease(e.r, fd, 0), -EINVAL);
	assert_int_equal(mstats(mm).anon_resident, 8);
	/* the parent dies too: now it may */
	assert_int_equal(ks_task_kill(parent), 0);
	assert_int_equal(ks_reap_will_free_mem(e.r, child, &visits), 1);
	assert_int_equal(visits, scan ? 7 : 0);
	assert_int_equal(ks_process_mrelease(e.r, fd, 0), 0);
	assert_int_equal(mstats(mm).anon_resident, 0);
	assert_int_equal(ks_mmput(mm), 0);
	assert_int_equal(ks_pidfd_close(e.r, fd), 0);
	finish(&child, 1);
	finish(&parent, 1);
	for (i = 0; i < 5; i++)
		finish(&other[i], 1);
	renv_fini(&e);
}

/* mm_users <= 1 never walks; a multi-threaded victim pays the whole walk. */
static void test_scan_visits(void **state)
{
	unsigned int anon = 0;
	struct ks_task *other[20], *single, *multi[3];
	bool scan = !strcmp(STRAT(state), "scan");
	struct ks_reap_stats rs;
	int visits = -1, i;
	struct renv e;

	renv_init(&e, STRAT(state), NULL);
	for (i = 0; i < 20; i++)
		other[i] = process(&e, &anon, 1, 1);
	single = process(&e, &anon, 1, 2);
	multi[0] = process(&e, &anon, 1, 2);
	for (i = 1; i < 3; i++)
		assert_int_equal(ks_task_clone(e.t, multi[0], KS_CLONE_VM | KS_CLONE_THREAD,
					       &multi[i]), 0);
	assert_int_equal(ks_task_kill(single), 0);
	assert_int_equal(ks_task_kill(multi[0]), 0);
	assert_int_equal(ks_reap_will_free_mem(e.r, single, &visits), 1);
	assert_int_equal(visits, 0);
	assert_int_equal(ks_reap_will_free_mem(e.r, multi[0], &visits), 1);
	assert_int_equal(visits, scan ? 22 : 0); /* every process, itself included */
	assert_int_equal(ks_reap_stats(e.r, &rs), 0);
	assert_int_equal(rs.scans, scan ? 1 : 0);
	assert_int_equal(rs.scan_visits, scan ? 22 : 0);
	assert_int_equal(ks_reap_mrelease_task(e.r, multi[0], 0), 0);
	assert_int_equal(ks_reap_mrelease_task(e.r, single, 0), 0);
	finish(multi, 3);
	finish(&single, 1);
	for (i = 0; i < 20; i++)
		finish(&other[i], 1);
	renv_fini(&e);
}

/* Each killer on a stalled, slow, multi-threaded victim frees everything once. */
static void test_killers(void **state)
{
	const unsigned int kinds[] = { 0, KS_VM_LOCKED, KS_VM_SHARED, 0 };
	struct ks_reap_opts ro = { .oom_reaper_delay_ms = 20, .oom_reap_retry_ms = 5 };
	const struct ks_strategy_info *k;
	const int want[] = { KS_REAP_FREER_EXIT, KS_REAP_FREER_KILLER, KS_REAP_FREER_OOM_REAPER,
			     KS_REAP_FREER_LMKD };
	struct renv e;
	size_t n, i;

	renv_init(&e, STRAT(state), &ro);
	k = ks_reap_killers(&n);
	for (i = 0; i < n; i++) {
		struct ks_reap_victim_opts vo = { .bytes = 4 * 64 * PG, .nr_vmas = 4,
						  .vm_flags = kinds, .nr_threads = 3,
						  .stall_ms = 300, .speed_pct = 50,
						  .slice_pages = 16 };
		struct ks_reap_victim *v;
		struct ks_reap_result res;
		struct ks_mm_stats st;

		assert_int_equal(ks_reap_victim_create(e.r, &vo, &v), 0);
		assert_non_null(ks_reap_victim_task(v));
		assert_int_equal(ks_reap_victim_wait(v, NULL, 0), -ESRCH);
		assert_int_equal(ks_reap_kill(e.r, v, "nope"), -ENOENT);
		assert_int_equal(ks_reap_kill(e.r, v, k[i].name), 0);
		assert_int_equal(ks_reap_kill(e.r, v, k[i].name), -EALREADY);
		assert_int_equal(ks_reap_victim_wait(v, &res, 0), 0);
		assert_string_equal(res.killer, k[i].name);
		assert_true(res.freed_ns > 0);
		assert_true(res.exited_ns > 0);
		assert_int_equal(res.freed_by, want[i]);
		assert_int_equal(res.pages_total, 256);
		if (want[i] == KS_REAP_FREER_EXIT) {
			assert_int_equal(res.pages_reaped, 0);
		} else {
			assert_int_equal(res.pages_reaped, 192); /* all but the shared VMA */
			assert_true(res.freed_ns < res.exited_ns);
		}
		if (want[i] == KS_REAP_FREER_KILLER || want[i] == KS_REAP_FREER_LMKD)
			assert_int_equal(res.mrelease_ret, 0);
		/* nothing freed twice: the mm freed exactly what it had */
		st = mstats(ks_reap_victim_mm(v));
		assert_int_equal(st.pages_freed, 256);
		assert_int_equal(st.resident, 0);
		assert_int_equal(res.pages_exit + res.pages_reaped, 256);
		assert_int_equal(ks_reap_victim_destroy(v), 0);
	}
	renv_fini(&e);
}

/* lmkd: when the pool is busy, the main loop kills without reaping. */
static void test_lmkd_busy(void **state)
{
	struct ks_reap_opts ro = { .lmkd_pool_size = 1 };
	struct ks_reap_victim_opts vo = { .bytes = 32 * PG, .stall_ms = 20 };
	struct ks_reap_victim *v1, *v2;
	struct ks_reap_result r1, r2;
	struct ks_reap_stats rs;
	struct renv e;

	renv_init(&e, STRAT(state), &ro);
	assert_int_equal(ks_reap_victim_create(e.r, &vo, &v1), 0);
	assert_int_equal(ks_reap_victim_create(e.r, &vo, &v2), 0);
	/* the pool thread blocks on v1's mmap_lock */
	assert_int_equal(ks_mmap_write_lock(ks_reap_victim_mm(v1)), 0);
	assert_int_equal(ks_reap_kill(e.r, v1, "lmkd-pool"), 0);
	assert_int_equal(ks_reap_kill(e.r, v2, "lmkd-pool"), 0);
	assert_int_equal(ks_reap_victim_wait(v2, &r2, 0), 0);
	assert_int_equal(ks_reap_victim_wait(v1, &r1, 50), -ETIMEDOUT);
	assert_int_equal(ks_mmap_write_unlock(ks_reap_victim_mm(v1)), 0);
	assert_int_equal(ks_reap_victim_wait(v1, &r1, 0), 0);
	assert_int_equal(r2.reaped, 0);
	assert_int_equal(r2.freed_by, KS_REAP_FREER_EXIT);
	assert_int_equal(r1.reaped, 1);
	assert_int_equal(ks_reap_stats(e.r, &rs), 0);
	assert_int_equal(rs.lmkd_kill_only, 1);
	assert_int_equal(ks_reap_victim_destroy(v1), 0);
	assert_int_equal(ks_reap_victim_destroy(v2), 0);
	renv_fini(&e);
}

/* The oom_reaper gives up after its retries and sets MMF_OOM_SKIP anyway. */
static void test_oom_reaper_gives_up(void **state)
{
	struct ks_reap_opts ro = { .oom_reaper_delay_ms = KS_REAP_NO_DELAY, .oom_reap_retries = 3,
				   .oom_reap_retry_ms = 2 };
	struct ks_reap_victim_opts vo = { .bytes = 16 * PG, .stall_ms = 100 };
	struct ks_reap_victim *v, *v2;
	struct ks_reap_result res;
	struct ks_reap_stats rs;
	struct renv e;

	renv_init(&e, STRAT(state), &ro);
	assert_int_equal(ks_reap_victim_create(e.r, &vo, &v), 0);
	assert_int_equal(ks_mmap_write_lock(ks_reap_victim_mm(v)), 0);
	assert_int_equal(ks_reap_oom_reap_task(e.r, ks_reap_victim_mm(v)), -EAGAIN);
	assert_int_equal(ks_reap_kill(e.r, v, "oom-reaper"), 0);
	for (;;) {
		assert_int_equal(ks_reap_stats(e.r, &rs), 0);
		if (rs.oom_reaper_gave_up)
			break;
		usleep(1000);
	}
	assert_true(ks_mm_flags(ks_reap_victim_mm(v)) & KS_MMF_OOM_SKIP);
	assert_int_equal(rs.oom_reaper_retries, 3);
	assert_int_equal(ks_mmap_write_unlock(ks_reap_victim_mm(v)), 0);
	assert_int_equal(ks_reap_victim_wait(v, &res, 0), 0);
	assert_int_equal(res.freed_by, KS_REAP_FREER_EXIT);
	/* a victim never killed is killed by destroy; destroy waits for it */
	assert_int_equal(ks_reap_victim_create(e.r, &vo, &v2), 0);
	assert_int_equal(ks_reap_destroy(e.r), -EBUSY);
	assert_int_equal(ks_reap_victim_destroy(v2), 0);
	assert_int_equal(ks_reap_victim_destroy(v), 0);
	renv_fini(&e);
}

/* The same reap on every synthetic topology (1, 2, 64, 256 CPUs). */
static void test_topologies(void **state)
{
	size_t k;

	for (k = 0; k < ks_test_nr_topologies; k++) {
		unsigned int anon = 0;
		struct ks_task *p, *th;
		struct reap_env e;
		int visits = -1;

		reap_env_init(&e, ks_test_topologies[k], STRAT(state), NULL);
		ks_cpu_set_current((int)k);
		p = process(&e, &anon, 1, 8);
		assert_int_equal(ks_task_clone(e.t, p, KS_CLONE_VM | KS_CLONE_THREAD, &th), 0);
		assert_int_equal(ks_task_kill(p), 0);
		assert_int_equal(ks_reap_will_free_mem(e.r, p, &visits), 1);
		assert_int_equal(visits, strcmp(STRAT(state), "scan") ? 0 : 1);
		assert_int_equal(ks_reap_mrelease_task(e.r, p, 0), 0);
		{
			struct ks_task *thr[2] = { p, th };

			finish(thr, 2);
		}
		reap_env_fini(&e);
	}
	ks_cpu_set_current(0);
}

#define BOTH(fn)                                                                                   \
	cmocka_unit_test_prestate(fn, (void *)"scan"),                                             \
		cmocka_unit_test_prestate(fn, (void *)"mm-owners")

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_registries),		 BOTH(test_pidfd),
		BOTH(test_mrelease_errno_order), BOTH(test_shared_mm),
		BOTH(test_scan_visits),		 BOTH(test_killers),
		BOTH(test_lmkd_busy),		 BOTH(test_oom_reaper_gives_up),
		BOTH(test_topologies),
	};

	if (ks_rcu_register_thread())
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
