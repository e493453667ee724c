// SPDX-License-Identifier: MIT
/*
 * reap: pidfds and process_mrelease(2), modelled on Linux 6.18
 * mm/oom_kill.c (process_mrelease(), task_will_free_mem(),
 * __task_will_free_mem(), process_shares_mm(), __oom_reap_task_mm(),
 * oom_reap_task_mm()) and kernel/pid.c + kernel/fork.c (pidfd_open(),
 * pidfd_prepare(), pidfd_get_task()).
 */
#include "reap_internal.h"

#include <kscale/pid.h>
#include <kscale/rcu.h>

#include <errno.h>
#include <string.h>

static const struct ks_strategy_info checks[] = {
	{ "scan", "task_will_free_mem(): for_each_process() + process_shares_mm() when mm_users > 1",
	  "mm/oom_kill.c task_will_free_mem(), Linux 5.15-6.18" },
	{ "mm-owners",
	  "O(1): the mm's count of live thread groups using it (beyond the kernel)",
	  "Shakeel Butt, re: [PATCH 1/1] mm: introduce process_reap system call, 2021-06-30" },
};

static const struct ks_strategy_info killers[] = {
	{ "wait-exit", "SIGKILL, then wait for the victim's own exit to free its memory",
	  "kernel/signal.c, kernel/exit.c do_exit() -> exit_mm() -> mmput()" },
	{ "mrelease", "SIGKILL, then process_mrelease(pidfd, 0) from the killer",
	  "mm/oom_kill.c process_mrelease(), Linux 5.15 (884a7e5964e0)" },
	{ "oom-reaper",
	  "SIGKILL, then one reaper thread: OOM_REAPER_DELAY, up to 10 mmap_read_trylock() tries HZ/10 apart",
	  "mm/oom_kill.c queue_oom_reaper(), oom_reaper(), oom_reap_task()" },
	{ "lmkd-pool", "2 threads: SIGKILL + process_mrelease(); all busy: kill without reaping",
	  "AOSP system/memory/lmkd reaper.cpp (Reaper::async_kill)" },
};

const struct ks_strategy_info *ks_reap_strategies(size_t *n)
{
	if (n)
		*n = KS_ARRAY_SIZE(checks);
	return checks;
}

const struct ks_strategy_info *ks_reap_killers(size_t *n)
{
	if (n)
		*n = KS_ARRAY_SIZE(killers);
	return killers;
}

static void add64(uint64_t *c, uint64_t v)
{
	__atomic_fetch_add(c, v, __ATOMIC_RELAXED);
}

static int get_classes(struct ks_reap *r, struct ks_lockstat *ls, struct ks_lock_class **pidfd,
		       struct ks_lock_class **oom)
{
	int ret;

	*pidfd = *oom = NULL;
	if (!ls)
		return 0;
	ret = ks_lock_class_get(ls, "pidfd_lock", KS_LOCK_OBJECT, pidfd);
	if (!ret)
		ret = ks_lock_class_get(ls, "oom_reaper_lock", KS_LOCK_GLOBAL, oom);
	(void)r;
	return ret;
}

int ks_reap_create(struct ks_tasks *tasks, const struct ks_reap_opts *opts, struct ks_reap **out)
{
	struct ks_reap_opts o = { 0 };
	struct ks_lock_class *c_pidfd, *c_oom;
	struct ks_mem_type *t_reap, *t_fdt, *t_victim;
	pthread_condattr_t ca;
	struct ks_reap *r;
	struct ks_mem *mem;
	int ret, check = -1;
	size_t i;

	if (!tasks || !out)
		return -EINVAL;
	if (opts)
		o = *opts;
	if (o.lmkd_pool_size > MAX_POOL)
		return -EINVAL;
	if (!o.check)
		o.check = "scan";
	for (i = 0; i < KS_ARRAY_SIZE(checks); i++)
		if (!strcmp(o.check, checks[i].name))
			check = (int)i;
	if (check < 0)
		return -ENOENT;
	mem = o.mem ? o.mem : ks_tasks_mem(tasks);
	ret = ks_mem_type_get(mem, "reap", sizeof(*r), &t_reap);
	if (!ret)
		ret = ks_mem_type_get(mem, "pidfd_table", sizeof(struct pidfd_slot), &t_fdt);
	if (!ret)
		ret = ks_mem_type_get(mem, "reap_victim", reap_victim_objsize, &t_victim);
	if (!ret)
		ret = get_classes(NULL, o.locks, &c_pidfd, &c_oom);
	if (ret)
		return ret;
	r = ks_mem_zalloc(t_reap, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->tasks = tasks;
	r->mem = mem;
	r->t_reap = t_reap;
	r->t_fdt = t_fdt;
	r->t_victim = t_victim;
	r->check = (enum reap_check)check;
	r->max_fds = o.max_pidfds ? o.max_pidfds : 1024;
	if (r->max_fds < RESERVED_FDS + 1)
		r->max_fds = RESERVED_FDS + 1;
	r->fdt = ks_mem_zalloc(t_fdt, r->max_fds * sizeof(*r->fdt));
	if (!r->fdt) {
		ks_mem_free(t_reap, r, sizeof(*r));
		return -ENOMEM;
	}
	r->delay_ms = o.oom_reaper_delay_ms == 0 ? KS_OOM_REAPER_DELAY_MS :
		      o.oom_reaper_delay_ms < 0 ? 0 : o.oom_reaper_delay_ms;
	r->retries = o.oom_reap_retries ? o.oom_reap_retries : KS_MAX_OOM_REAP_RETRIES;
	r->retry_ms = o.oom_reap_retry_ms ? o.oom_reap_retry_ms : KS_OOM_REAP_RETRY_MS;
	r->pool_size = o.lmkd_pool_size ? o.lmkd_pool_size : KS_LMKD_POOL_SIZE;
	ks_spin_init(&r->pidfd_lock, c_pidfd);
	ks_spin_init(&r->oom_reaper_lock, c_oom);
	pthread_mutex_init(&r->wq_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->wq, &ca);
	pthread_condattr_destroy(&ca);
	r->oom_tail = &r->oom_head;
	r->lmkd_tail = &r->lmkd_head;
	*out = r;
	return 0;
}

int ks_reap_destroy(struct ks_reap *r)
{
	unsigned int fd;

	if (!r)
		return -EINVAL;
	pthread_mutex_lock(&r->wq_lock);
	if (r->nr_victims) {
		pthread_mutex_unlock(&r->wq_lock);
		return -EBUSY;
	}
	pthread_mutex_unlock(&r->wq_lock);
	reap_victims_stop(r);
	for (fd = RESERVED_FDS; fd < r->max_fds; fd++)
		if (r->fdt[fd].pid)
			ks_pid_put(r->fdt[fd].pid);
	ks_spin_destroy(&r->pidfd_lock);
	ks_spin_destroy(&r->oom_reaper_lock);
	pthread_cond_destroy(&r->wq);
	pthread_mutex_destroy(&r->wq_lock);
	ks_mem_free(r->t_fdt, r->fdt, r->max_fds * sizeof(*r->fdt));
	ks_mem_free(r->t_reap, r, sizeof(*r));
	return 0;
}

const char *ks_reap_check(const struct ks_reap *r)
{
	return r ? checks[r->check].name : NULL;
}

int ks_reap_stats(const struct ks_reap *r, struct ks_reap_stats *out)
{
	if (!r || !out)
		return -EINVAL;
	out->mrelease_calls = __atomic_load_n(&r->mrelease_calls, __ATOMIC_RELAXED);
	out->mrelease_ok = __atomic_load_n(&r->mrelease_ok, __ATOMIC_RELAXED);
	out->checks = __atomic_load_n(&r->checks, __ATOMIC_RELAXED);
	out->scans = __atomic_load_n(&r->scans, __ATOMIC_RELAXED);
	out->scan_visits = __atomic_load_n(&r->scan_visits, __ATOMIC_RELAXED);
	out->pages_reaped = __atomic_load_n(&r->pages_reaped, __ATOMIC_RELAXED);
	out->oom_reaper_runs = __atomic_load_n(&r->oom_runs, __ATOMIC_RELAXED);
	out->oom_reaper_retries = __atomic_load_n(&r->oom_retries, __ATOMIC_RELAXED);
	out->oom_reaper_gave_up = __atomic_load_n(&r->oom_gave_up, __ATOMIC_RELAXED);
	out->lmkd_kill_only = __atomic_load_n(&r->lmkd_kill_only, __ATOMIC_RELAXED);
	out->pidfds_open = __atomic_load_n(&r->pidfds_open, __ATOMIC_RELAXED);
	return 0;
}

/* ---- pidfds ------------------------------------------------------------- */

/*
 * pidfd_prepare() (kernel/fork.c, 6.18): the pid must still have a task
 * (-ESRCH once reaped) and, without PIDFD_THREAD, be a thread-group leader's
 * (-ENOENT since pidfs; -EINVAL before). Then install it on the lowest free
 * descriptor, as get_unused_fd_flags(). Consumes @pid's reference.
 */
static int pidfd_install(struct ks_reap *r, struct ks_pid *pid, unsigned int flags)
{
	struct ks_task *task;
	unsigned int fd;
	int ret;

	ret = ks_task_from_pid(pid, 1, &task);
	if (!ret) {
		if (!(flags & KS_PIDFD_THREAD) && !(ks_task_flags(task) & KS_TASK_LEADER))
			ret = -ENOENT;
		ks_task_put(task);
	}
	if (ret) {
		ks_pid_put(pid);
		return ret;
	}
	ks_spin_lock(&r->pidfd_lock);
	for (fd = RESERVED_FDS; fd < r->max_fds && r->fdt[fd].pid; fd++)
		;
	if (fd < r->max_fds) {
		r->fdt[fd].pid = pid;
		r->fdt[fd].flags = flags;
	}
	ks_spin_unlock(&r->pidfd_lock);
	if (fd == r->max_fds) {
		ks_pid_put(pid);
		return -EMFILE;
	}
	__atomic_fetch_add(&r->pidfds_open, 1, __ATOMIC_RELAXED);
	return (int)fd;
}

/* Models kernel/pid.c pidfd_open(), Linux 6.18. */
int ks_pidfd_open(struct ks_reap *r, int nr, unsigned int flags)
{
	struct ks_pid *pid;
	int ret;

	if (!r || (flags & ~(KS_PIDFD_NONBLOCK | KS_PIDFD_THREAD)) || nr <= 0)
		return -EINVAL;
	ret = ks_pid_lookup_get(ks_tasks_pid_ns(r->tasks), nr, &pid); /* find_get_pid() */
	if (ret)
		return ret == -ENOENT ? -ESRCH : ret;
	return pidfd_install(r, pid, flags);
}

int ks_pidfd_open_task(struct ks_reap *r, struct ks_task *task, unsigned int flags)
{
	struct ks_pid *pid;
	int ret;

	if (!r || !task || ks_task_tasks(task) != r->tasks ||
	    (flags & ~(KS_PIDFD_NONBLOCK | KS_PIDFD_THREAD)))
		return -EINVAL;
	pid = ks_task_pid(task);
	ret = ks_pid_get(pid);
	if (ret)
		return ret == -EINVAL ? -ESRCH : ret;
	return pidfd_install(r, pid, flags);
}

int ks_pidfd_close(struct ks_reap *r, int fd)
{
	struct ks_pid *pid = NULL;

	if (!r)
		return -EINVAL;
	if (fd < RESERVED_FDS || (unsigned int)fd >= r->max_fds)
		return -EBADF;
	ks_spin_lock(&r->pidfd_lock);
	pid = r->fdt[fd].pid;
	r->fdt[fd].pid = NULL;
	ks_spin_unlock(&r->pidfd_lock);
	if (!pid)
		return -EBADF;
	__atomic_fetch_sub(&r->pidfds_open, 1, __ATOMIC_RELAXED);
	ks_pid_put(pid);
	return 0;
}

/* Models kernel/pid.c pidfd_get_task(): fdget() + pidfd_pid() + get_pid_task(). */
int ks_pidfd_get_task(struct ks_reap *r, int fd, struct ks_task **out)
{
	struct ks_pid *pid = NULL;
	int ret;

	if (!r || !out)
		return -EINVAL;
	if (fd < RESERVED_FDS || (unsigned int)fd >= r->max_fds)
		return -EBADF; /* not open, or a file that is not a pidfd */
	ks_spin_lock(&r->pidfd_lock);
	pid = r->fdt[fd].pid;
	if (pid && ks_pid_get(pid))
		pid = NULL;
	ks_spin_unlock(&r->pidfd_lock);
	if (!pid)
		return -EBADF;
	/*
	 * PIDTYPE_TGID for a process pidfd: its pid is a leader's (checked at
	 * open), whose task stays attached until the group is reaped.
	 */
	ret = ks_task_from_pid(pid, 1, out);
	ks_pid_put(pid);
	return ret;
}

/* ---- task_will_free_mem() ------------------------------------------------ */

/* Models __task_will_free_mem(): dying and not dumping core. */
static bool task_dying(const struct ks_task *t)
{
	int f = ks_task_flags(t);

	if (f < 0 || (f & KS_TASK_COREDUMP))
		return false;
	if (f & KS_TASK_GROUP_EXIT)
		return true;
	/* thread_group_empty() && PF_EXITING */
	return (f & KS_TASK_EXITING) && ks_task_nr_threads(t) == 1;
}

struct scan {
	const struct ks_mm *mm;
	int tgid;
	int visits;
	int ret;
};

/* The for_each_process() body of task_will_free_mem(). */
static int scan_one(struct ks_task *p, void *arg)
{
	struct scan *s = arg;

	s->visits++;
	if (ks_task_mm_peek(p) != s->mm) /* process_shares_mm() */
		return 0;
	if (ks_task_tgid(p) == s->tgid) /* same_thread_group() */
		return 0;
	if (!task_dying(p)) {
		s->ret = 0;
		return 1;
	}
	return 0;
}

/* Models mm/oom_kill.c task_will_free_mem(); "mm-owners" replaces the walk. */
static int will_free_mem(struct ks_reap *r, struct ks_task *task, struct ks_mm *mm, int *visits)
{
	struct scan s = { .mm = mm, .tgid = ks_task_tgid(task), .ret = 1 };
	struct ks_mm_stats st;
	int ret;

	*visits = 0;
	add64(&r->checks, 1);
	if (!task_dying(task))
		return 0;
	if (ks_mm_flags(mm) & KS_MMF_OOM_SKIP)
		return 0; /* the reaper or exit_mmap() got there first */
	ret = ks_mm_stats(mm, &st);
	if (ret)
		return ret;
	if (st.users <= 1)
		return 1;
	/*
	 * Beyond the kernel: a killed group is no live owner, so 0 owners
	 * means no live process uses the mm and none can start to (clone
	 * needs a live parent using it). A group dying without a kill (a
	 * single thread in do_exit()) still counts itself until exit_mm():
	 * that rare case falls back to the walk.
	 */
	if (r->check == CHECK_MM_OWNERS && (ks_task_flags(task) & KS_TASK_GROUP_EXIT))
		return ks_mm_owners(mm) == 0;
	add64(&r->scans, 1);
	ret = ks_tasks_for_each_process(r->tasks, scan_one, &s);
	add64(&r->scan_visits, (uint64_t)s.visits);
	*visits = s.visits;
	return ret < 0 ? ret : s.ret;
}

int ks_reap_will_free_mem(struct ks_reap *r, struct ks_task *task, int *visits)
{
	struct ks_mm *mm;
	int v = 0, ret;

	if (!r || !task)
		return -EINVAL;
	ret = ks_task_find_mm(task, &mm);
	if (ret)
		return ret;
	ret = will_free_mem(r, task, mm, &v);
	ks_mmdrop(mm);
	if (visits)
		*visits = v;
	return ret;
}

/* ---- __oom_reap_task_mm() ------------------------------------------------ */

struct reap_walk {
	struct ks_reap *r;
	bool ok;
};

/* mmu_notifier_invalidate_range_start_nonblock(), with injected failures. */
static bool notifier_fails(struct ks_reap *r)
{
	unsigned int n = __atomic_load_n(&r->fail_notifier, __ATOMIC_RELAXED);

	while (n && !__atomic_compare_exchange_n(&r->fail_notifier, &n, n - 1, false,
						 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	return n != 0;
}

/*
 * The VMA filter of __oom_reap_task_mm() (Linux 5.18+): skip VM_HUGETLB and
 * VM_PFNMAP; reap anonymous or non-shared VMAs (shmem and shared file
 * mappings are left to reclaim). VM_LOCKED is no longer skipped since
 * a213e5cf71cb ("mm/munlock: delete munlock_vma_pages_all(), allow
 * oomreap").
 */
static int reapable(const struct ks_vma_info *vma, void *arg)
{
	struct reap_walk *w = arg;

	if (vma->vm_flags & (KS_VM_HUGETLB | KS_VM_PFNMAP))
		return 0;
	if (vma->vm_flags & KS_VM_SHARED)
		return 0;
	if (notifier_fails(w->r)) {
		w->ok = false; /* remember, go on with the next VMA */
		return 0;
	}
	return 1;
}

/* Models __oom_reap_task_mm(); the caller holds mmap_lock for read. */
static bool oom_reap_mm_locked(struct ks_reap *r, struct ks_mm *mm, size_t *pages)
{
	struct reap_walk w = { .r = r, .ok = true };
	long n;

	ks_mm_set_flags(mm, KS_MMF_UNSTABLE);
	n = ks_mm_zap(mm, reapable, &w, 0);
	if (n > 0) {
		add64(&r->pages_reaped, (uint64_t)n);
		if (pages)
			*pages += (size_t)n;
	}
	return w.ok;
}

/* Models oom_reap_task_mm(): trylock, skip a finished mm, reap. */
int reap_oom_reap_mm(struct ks_reap *r, struct ks_mm *mm, size_t *pages)
{
	bool ok = true;

	if (ks_mmap_read_trylock(mm) != 1)
		return -EAGAIN;
	if (!(ks_mm_flags(mm) & KS_MMF_OOM_SKIP))
		ok = oom_reap_mm_locked(r, mm, pages);
	ks_mmap_read_unlock(mm);
	return ok ? 0 : -EAGAIN;
}

int ks_reap_oom_reap_task(struct ks_reap *r, struct ks_mm *mm)
{
	if (!r || !mm)
		return -EINVAL;
	return reap_oom_reap_mm(r, mm, NULL);
}

int ks_reap_fail_notifier(struct ks_reap *r, unsigned int nr)
{
	if (!r)
		return -EINVAL;
	__atomic_store_n(&r->fail_notifier, nr, __ATOMIC_RELAXED);
	return 0;
}

/* ---- process_mrelease() -------------------------------------------------- */

/* Models process_mrelease() after pidfd_get_task(), Linux 6.18. */
int reap_mrelease_task(struct ks_reap *r, struct ks_task *task, int (*fatal)(void *), void *arg,
		       struct mrelease_out *o)
{
	struct mrelease_out dummy;
	struct ks_mm *mm;
	int ret, will;

	if (!o)
		o = &dummy;
	o->visits = 0;
	o->pages = 0;
	/* find_lock_task_mm() + mmgrab(): no thread with an mm left -> -ESRCH */
	ret = ks_task_find_mm(task, &mm);
	if (ret)
		return ret;
	will = will_free_mem(r, task, mm, &o->visits);
	if (will < 0) {
		ret = will;
	} else if (!will) {
		/* an error only if the work has not been done already */
		if (!(ks_mm_flags(mm) & KS_MMF_OOM_SKIP))
			ret = -EINVAL;
	} else if (ks_mmap_read_lock_killable(mm, fatal, arg)) {
		ret = -EINTR;
	} else {
		/* MMF_OOM_SKIP again under the lock: exit_mmap() sets it */
		if (!(ks_mm_flags(mm) & KS_MMF_OOM_SKIP) && !oom_reap_mm_locked(r, mm, &o->pages))
			ret = -EAGAIN;
		ks_mmap_read_unlock(mm);
	}
	ks_mmdrop(mm);
	if (!ret)
		add64(&r->mrelease_ok, 1);
	return ret;
}

int ks_process_mrelease_killable(struct ks_reap *r, int pidfd, unsigned int flags,
				 int (*fatal)(void *arg), void *arg)
{
	struct ks_task *task;
	int ret;

	if (!r)
		return -EINVAL;
	add64(&r->mrelease_calls, 1);
	if (flags)
		return -EINVAL; /* before the descriptor is looked at */
	ret = ks_pidfd_get_task(r, pidfd, &task);
	if (ret)
		return ret;
	ret = reap_mrelease_task(r, task, fatal, arg, NULL);
	ks_task_put(task);
	return ret;
}

int ks_process_mrelease(struct ks_reap *r, int pidfd, unsigned int flags)
{
	return ks_process_mrelease_killable(r, pidfd, flags, NULL, NULL);
}

int ks_reap_mrelease_task(struct ks_reap *r, struct ks_task *task, unsigned int flags)
{
	int f;

	if (!r || !task || ks_task_tasks(task) != r->tasks)
		return -EINVAL;
	add64(&r->mrelease_calls, 1);
	if (flags)
		return -EINVAL;
	f = ks_task_flags(task);
	if (f < 0 || (f & KS_TASK_DEAD))
		return -ESRCH; /* get_pid_task() after release_task() */
	return reap_mrelease_task(r, task, NULL, NULL, NULL);
}
