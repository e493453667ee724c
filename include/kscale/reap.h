/* SPDX-License-Identifier: MIT */
/*
 * reap: freeing a killed process's memory, modelled on Linux 6.18
 * mm/oom_kill.c (process_mrelease(), task_will_free_mem(),
 * __task_will_free_mem(), process_shares_mm(), __oom_reap_task_mm(),
 * oom_reap_task_mm(), oom_reap_task(), oom_reaper()) and kernel/pid.c
 * (pidfd_open(), pidfd_get_task()).
 *
 * A struct ks_reap is a reaping context over one struct ks_tasks: a table of
 * pidfds (small integers, as a process's descriptors), the safety-check
 * strategy (ks_reap_strategies()), lock_stat classes, counters, and the
 * victims and killer threads of the workload API below.
 *
 * process_mrelease(pidfd, flags) (Suren Baghdasaryan, Linux 5.15, seed
 * 003) frees a dying process's anonymous memory from the caller's context.
 * Before it may, task_will_free_mem() must say that nobody else still needs
 * the mm: the kernel answers by walking every process on the machine
 * whenever mm_users > 1 (always for a multi-threaded victim), which Shakeel
 * Butt pointed out costs much with tens of thousands of processes.
 *
 * Safety-check strategies (the @check option):
 *  - "scan"      the kernel's task_will_free_mem(): for_each_process() with
 *                process_shares_mm(); counts the processes visited.
 *  - "mm-owners" beyond the kernel: the mm's count of live thread groups
 *                using it (ks_mm_owners(), kept by the task layer) answers
 *                in O(1) for a killed victim (0 owners: no live sharer).
 *
 * Killer strategies (ks_reap_killers(), for ks_reap_kill()):
 *  - "wait-exit"  SIGKILL, then wait until the victim's own exit freed it.
 *  - "mrelease"   SIGKILL, then process_mrelease() from the killer.
 *  - "oom-reaper" SIGKILL, then queue to the context's single reaper thread
 *                 (the oom_reaper kthread): after a delay (OOM_REAPER_DELAY,
 *                 2 s by default) up to MAX_OOM_REAP_RETRIES (10)
 *                 mmap_read_trylock() attempts HZ/10 apart, then
 *                 MMF_OOM_SKIP either way.
 *  - "lmkd-pool"  AOSP lmkd reaper.cpp: a pool of 2 threads, each does
 *                 SIGKILL then process_mrelease(); when both are busy the
 *                 caller (lmkd's main loop) kills without reaping.
 *
 * Errno order of process_mrelease() (Linux 6.18):
 *   -EINVAL flags != 0 (before the descriptor is looked at);
 *   -EBADF  not a pidfd (closed, negative, or a descriptor of another kind);
 *   -ESRCH  the task is gone, or no thread of it still has an mm;
 *   -EINVAL task_will_free_mem() false (not dying, dumping core, or the mm
 *           is shared with a live process), unless MMF_OOM_SKIP is already
 *           set: then 0 (the work was done);
 *   -EINTR  the caller was "killed" while waiting for mmap_lock;
 *   -EAGAIN part of the address space could not be released (an mmu
 *           notifier refused a nonblocking invalidation; injectable);
 *   0       reaped: MMF_UNSTABLE set. Like the kernel (6.6 to 6.18),
 *           process_mrelease() does not set MMF_OOM_SKIP itself: exit_mmap()
 *           does, and finds the reaped pages already gone (each page is
 *           freed once), and a second call reaps nothing and returns 0, or
 *           -ESRCH once the victim left exit_mm().
 *
 * What is reaped (__oom_reap_task_mm() since Linux 5.18): every VMA except
 * KS_VM_HUGETLB and KS_VM_PFNMAP ones, and of those only anonymous or
 * non-shared ones. KS_VM_LOCKED (mlocked) VMAs ARE reaped, as the kernel
 * has done since Hugh Dickins' munlock rework (a213e5cf71cb, 5.18), which
 * replaced the can_madv_lru_vma() test (that skipped VM_LOCKED) by the
 * VM_HUGETLB|VM_PFNMAP test.
 *
 * Threads. Every function needs a thread registered with
 * ks_rcu_register_thread() unless its Context says otherwise; all may be
 * called concurrently.
 */
#ifndef KSCALE_REAP_H
#define KSCALE_REAP_H

#include <kscale/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ks_topo;
struct ks_lockstat;
struct ks_mem;
struct ks_mm;
struct ks_task;
struct ks_tasks;
struct ks_reap;        /* opaque: a reaping context */
struct ks_reap_victim; /* opaque: a workload victim process */

/* ks_pidfd_open() flags: the kernel's values (PIDFD_NONBLOCK, PIDFD_THREAD). */
#define KS_PIDFD_NONBLOCK 04000  /* O_NONBLOCK: accepted, no effect here */
#define KS_PIDFD_THREAD   0200   /* O_EXCL: refer to one thread */

/** Default oom_reaper delay after the kill (mm/oom_kill.c OOM_REAPER_DELAY). */
#define KS_OOM_REAPER_DELAY_MS 2000
/** mm/oom_kill.c MAX_OOM_REAP_RETRIES. */
#define KS_MAX_OOM_REAP_RETRIES 10
/** Sleep between oom_reaper attempts: schedule_timeout_idle(HZ/10). */
#define KS_OOM_REAP_RETRY_MS 100
/** AOSP lmkd reaper.cpp THREAD_POOL_SIZE. */
#define KS_LMKD_POOL_SIZE 2
/** ks_reap_opts.oom_reaper_delay_ms value meaning "no delay". */
#define KS_REAP_NO_DELAY (-1)

/**
 * struct ks_reap_opts - options of ks_reap_create(); {0} gives defaults.
 * @topo:   topology (NULL: ks_topo_default()); must outlive the context.
 * @locks:  lock_stat registry (NULL: uncounted). Classes "pidfd_lock" (the
 *          descriptor table) and "oom_reaper_lock" (the reaper's list).
 * @mem:    accounting domain for the context's own structures (NULL: the
 *          task list's, ks_tasks_mem()); must outlive the context.
 * @check:  safety-check strategy, a name of ks_reap_strategies() (NULL:
 *          "scan").
 * @max_pidfds: size of the descriptor table (0: 1024).
 * @oom_reaper_delay_ms: the oom-reaper killer's delay after a kill (0:
 *          KS_OOM_REAPER_DELAY_MS; KS_REAP_NO_DELAY: none).
 * @oom_reap_retries: most mmap_read_trylock() attempts (0:
 *          KS_MAX_OOM_REAP_RETRIES).
 * @oom_reap_retry_ms: sleep between attempts (0: KS_OOM_REAP_RETRY_MS).
 * @lmkd_pool_size: reaper threads of the lmkd-pool killer (0:
 *          KS_LMKD_POOL_SIZE); at most 64.
 */
struct ks_reap_opts {
	const struct ks_topo *topo;
	struct ks_lockstat *locks;
	struct ks_mem *mem;
	const char *check;
	unsigned int max_pidfds;
	int oom_reaper_delay_ms;
	unsigned int oom_reap_retries;
	unsigned int oom_reap_retry_ms;
	unsigned int lmkd_pool_size;
};

/**
 * struct ks_reap_stats - cumulative counters of a context.
 * @mrelease_calls:  ks_process_mrelease() / ks_reap_mrelease_task() calls.
 * @mrelease_ok:     of those, returning 0.
 * @checks:          safety checks run (task_will_free_mem()).
 * @scans:           of those, that walked the process list.
 * @scan_visits:     processes visited by all walks.
 * @pages_reaped:    pages freed by reaping (mrelease and the oom reaper).
 * @oom_reaper_runs: victims the oom reaper thread handled.
 * @oom_reaper_retries: its failed trylock/reap attempts.
 * @oom_reaper_gave_up: victims it gave up on after every retry.
 * @lmkd_kill_only:  lmkd-pool kills done without reaping (pool busy).
 * @pidfds_open:     descriptors open now.
 */
struct ks_reap_stats {
	uint64_t mrelease_calls;
	uint64_t mrelease_ok;
	uint64_t checks;
	uint64_t scans;
	uint64_t scan_visits;
	uint64_t pages_reaped;
	uint64_t oom_reaper_runs;
	uint64_t oom_reaper_retries;
	uint64_t oom_reaper_gave_up;
	uint64_t lmkd_kill_only;
	int64_t pidfds_open;
};

/**
 * ks_reap_strategies() - the safety-check strategies ("scan", "mm-owners").
 * @n: receives the count (may be NULL).
 * Context: any thread.
 * Return: the static table.
 */
const struct ks_strategy_info *ks_reap_strategies(size_t *n);

/**
 * ks_reap_killers() - the killer strategies ("wait-exit", "mrelease",
 * "oom-reaper", "lmkd-pool").
 * @n: receives the count (may be NULL).
 * Context: any thread.
 * Return: the static table.
 */
const struct ks_strategy_info *ks_reap_killers(size_t *n);

/**
 * ks_reap_create() - a reaping context over @tasks.
 * @tasks: the task list; must outlive the context.
 * @opts:  options (NULL: defaults).
 * @out:   receives the context.
 * Context: a registered RCU thread; may sleep. No thread is started until a
 * killer needs one.
 * Return: 0; -EINVAL for NULL @tasks or @out, or an @lmkd_pool_size above
 * 64; -ENOENT for an unknown @check; -ENOMEM; -ENOSPC when the lock_stat
 * registry is full; errors of ks_mem_type_get().
 */
int ks_reap_create(struct ks_tasks *tasks, const struct ks_reap_opts *opts, struct ks_reap **out);

/**
 * ks_reap_destroy() - stop the context's threads, close every pidfd, free.
 * @r: the context.
 * Context: a registered RCU thread; sleeps (joins the reaper threads).
 * Return: 0; -EINVAL for NULL; -EBUSY while a victim of the context exists
 * (ks_reap_victim_destroy() them first; nothing is freed).
 */
int ks_reap_destroy(struct ks_reap *r);

/** ks_reap_check() - the safety-check strategy's name; NULL for NULL. */
const char *ks_reap_check(const struct ks_reap *r);

/**
 * ks_reap_stats() - snapshot the counters.
 * Context: any thread.
 * Return: 0; -EINVAL for NULL arguments.
 */
int ks_reap_stats(const struct ks_reap *r, struct ks_reap_stats *out);

/* ---- pidfds ------------------------------------------------------------- */

/**
 * ks_pidfd_open() - pidfd_open(pid, flags): a descriptor of the context's
 * table referring to the process numbered @pid in the task list's namespace.
 * It keeps a reference on the struct pid (not the task): once the process
 * is reaped, calls through it give -ESRCH. Descriptors 0, 1 and 2 of the
 * table are taken by files that are not pidfds (stdin, stdout, stderr, as
 * in a process), so passing them gives -EBADF; pidfds start at 3.
 * @r:     the context.
 * @pid:   a tgid (or, with KS_PIDFD_THREAD, any tid).
 * @flags: 0, KS_PIDFD_NONBLOCK, KS_PIDFD_THREAD.
 * Context: takes "pidfd_lock".
 * Return: the descriptor (>= 0); -EINVAL for NULL @r, unknown @flags or
 * @pid <= 0; -ESRCH when no such task (or it was released); -ENOENT when
 * @pid is a thread that is not a group leader and KS_PIDFD_THREAD is not
 * given (Linux 6.18 pidfd_prepare(); earlier kernels gave -EINVAL); -EMFILE
 * when the table is full; -ENOMEM; -EPERM for an unregistered thread.
 */
int ks_pidfd_open(struct ks_reap *r, int pid, unsigned int flags);

/**
 * ks_pidfd_open_task() - ks_pidfd_open() of @task's tid (pidfd_prepare() on
 * task_pid(@task), as clone(CLONE_PIDFD) does).
 * @r: the context. @task: held by the caller. @flags: as ks_pidfd_open().
 * Return: as ks_pidfd_open(); -EINVAL also for NULL @task or a task of
 * another task list.
 */
int ks_pidfd_open_task(struct ks_reap *r, struct ks_task *task, unsigned int flags);

/**
 * ks_pidfd_close() - close(pidfd): drop the descriptor and its pid
 * reference.
 * Context: takes "pidfd_lock".
 * Return: 0; -EINVAL for NULL @r; -EBADF when @fd is not an open
 * descriptor of the table.
 */
int ks_pidfd_close(struct ks_reap *r, int fd);

/**
 * ks_pidfd_get_task() - pidfd_get_task(): the task @fd refers to, with a
 * reference (ks_task_put() it): the group leader, or the thread for a
 * KS_PIDFD_THREAD descriptor.
 * Return: 0; -EBADF when @fd is not a pidfd; -ESRCH when the task was
 * released; -EINVAL for NULL @r or @out; -EPERM for an unregistered thread.
 */
int ks_pidfd_get_task(struct ks_reap *r, int fd, struct ks_task **out);

/* ---- process_mrelease ---------------------------------------------------- */

/**
 * ks_process_mrelease() - process_mrelease(pidfd, flags) from the caller.
 * @r:     the context.
 * @pidfd: a descriptor of ks_pidfd_open().
 * @flags: must be 0.
 * Context: a registered RCU thread; takes mmap_lock for read (may sleep
 * waiting for it); frees pages in the caller.
 * Return: see the errno order above: 0; -EINVAL (@flags, not dying, core
 * dump, shared with a live process; also NULL @r); -EBADF; -ESRCH; -EINTR
 * (never here: no fatal callback); -EAGAIN; -EPERM for an unregistered
 * thread.
 */
int ks_process_mrelease(struct ks_reap *r, int pidfd, unsigned int flags);

/**
 * ks_process_mrelease_killable() - ks_process_mrelease() whose caller may
 * be "killed" while it waits for mmap_lock (mmap_read_lock_killable()).
 * @fatal: called while waiting (see ks_mmap_read_lock_killable()); nonzero
 *         means a fatal signal is pending for the caller. NULL: never.
 * @arg:   for @fatal.
 * Return: as ks_process_mrelease(), with -EINTR when @fatal said so before
 * the lock was taken (nothing is reaped).
 */
int ks_process_mrelease_killable(struct ks_reap *r, int pidfd, unsigned int flags,
				 int (*fatal)(void *arg), void *arg);

/**
 * ks_reap_mrelease_task() - process_mrelease() on @task without a pidfd
 * (as if through a pidfd of @task's group): every step after
 * pidfd_get_task().
 * @r: the context. @task: held by the caller. @flags: must be 0.
 * Return: as ks_process_mrelease() without -EBADF; -ESRCH also when @task
 * was released; -EINVAL also for NULL @task or a task of another list.
 */
int ks_reap_mrelease_task(struct ks_reap *r, struct ks_task *task, unsigned int flags);

/**
 * ks_reap_will_free_mem() - task_will_free_mem(@task) with the context's
 * check strategy, on the mm find_lock_task_mm() finds for @task.
 * @r:      the context.
 * @task:   held by the caller.
 * @visits: receives the processes the check visited (0 for "mm-owners" and
 *          for the mm_users <= 1 shortcut); may be NULL.
 * Context: a registered RCU thread; the scan runs under an RCU read-side
 * section.
 * Return: 1 the mm will be freed (reaping is allowed); 0 not; -ESRCH when
 * no thread of @task has an mm; -EINVAL for NULL @r or @task; -EPERM for an
 * unregistered thread.
 */
int ks_reap_will_free_mem(struct ks_reap *r, struct ks_task *task, int *visits);

/**
 * ks_reap_oom_reap_task() - one attempt of the oom_reaper on @mm
 * (oom_reap_task_mm()): mmap_read_trylock(), then, unless MMF_OOM_SKIP is
 * set, __oom_reap_task_mm(). It does not set MMF_OOM_SKIP (oom_reap_task()
 * does after its last attempt: the caller's job).
 * @r:  the context. @mm: the victim's mm; the caller holds a reference.
 * Context: does not wait for mmap_lock.
 * Return: 0 done (or nothing to do); -EAGAIN when the lock was busy or part
 * could not be released (retry); -EINVAL for NULL arguments.
 */
int ks_reap_oom_reap_task(struct ks_reap *r, struct ks_mm *mm);

/**
 * ks_reap_fail_notifier() - fault injection: the next @nr VMAs that a reap
 * would unmap fail mmu_notifier_invalidate_range_start_nonblock() (they are
 * left mapped, and the reap returns -EAGAIN). 0 cancels.
 * Context: any thread.
 * Return: 0; -EINVAL for NULL @r.
 */
int ks_reap_fail_notifier(struct ks_reap *r, unsigned int nr);

/* ---- workload: victims and killers --------------------------------------- */

/* Who freed a victim's last anonymous page (struct ks_reap_result.freed_by). */
enum ks_reap_freer {
	KS_REAP_FREER_NONE = 0,  /* not yet */
	KS_REAP_FREER_EXIT,      /* the victim's own exit */
	KS_REAP_FREER_KILLER,    /* process_mrelease() from ks_reap_kill()'s caller */
	KS_REAP_FREER_OOM_REAPER,/* the context's oom_reaper thread */
	KS_REAP_FREER_LMKD,      /* an lmkd-pool reaper thread */
};

/**
 * struct ks_reap_victim_opts - a victim process for ks_reap_victim_create().
 * @bytes:       anonymous private memory, split evenly over the VMAs whose
 *               kind is anonymous private (others get the same share); > 0.
 * @nr_vmas:     VMAs (0: 1); at most 4096.
 * @vm_flags:    KS_VM_* of each VMA, @nr_vmas entries (NULL: all 0, i.e.
 *               anonymous private). VMAs with KS_VM_SHARED, KS_VM_HUGETLB
 *               or KS_VM_PFNMAP are file mappings (a shared file,
 *               hugetlbfs, a device), as in the kernel, so they are not in
 *               MM_ANONPAGES and the reaper leaves them.
 * @nr_threads:  threads of the process (0: 1), all sharing the mm (so
 *               mm_users = @nr_threads); at most 1024.
 * @stall_ms:    after the kill the victim sleeps uninterruptibly this long
 *               before it starts exiting.
 * @speed_pct:   the victim's CPU speed in percent (0 or >= 100: full
 *               speed). Below 100 its exit first zaps its memory itself in
 *               slices of @slice_pages under mmap_read_lock, sleeping after
 *               each slice (100 - speed) / speed times the slice's time.
 * @slice_pages: pages per slice (0: 256).
 */
struct ks_reap_victim_opts {
	size_t bytes;
	unsigned int nr_vmas;
	const unsigned int *vm_flags;
	unsigned int nr_threads;
	unsigned int stall_ms;
	unsigned int speed_pct;
	size_t slice_pages;
};

/**
 * struct ks_reap_result - what happened to one victim.
 * @killer:        the killer strategy's name (static), NULL before a kill.
 * @kill_ns:       ks_clock_ns() at the kill.
 * @freed_ns:      from the kill to the moment its anonymous memory was seen
 *                 all freed (MM_ANONPAGES 0), 0 if not yet.
 * @exited_ns:     from the kill to the end of its exit (every thread exited,
 *                 reaped, mm gone), 0 if not yet.
 * @freed_by:      enum ks_reap_freer.
 * @mrelease_ret:  what the reap of the killer returned (0 when none ran).
 * @scan_visits:   processes visited by that reap's safety check.
 * @pages_total:   pages mapped at creation (all VMAs).
 * @pages_reaped:  pages freed by reaping (killer, reaper).
 * @pages_exit:    pages freed by the victim (its slices and exit_mmap()).
 * @reaped:        nonzero when some reaper ran on it (0 for lmkd kill-only).
 */
struct ks_reap_result {
	const char *killer;
	uint64_t kill_ns;
	uint64_t freed_ns;
	uint64_t exited_ns;
	int freed_by;
	int mrelease_ret;
	uint64_t scan_visits;
	size_t pages_total;
	size_t pages_reaped;
	size_t pages_exit;
	int reaped;
};

/**
 * ks_reap_victim_create() - a new process of @opts->nr_threads threads
 * whose mm is populated as @opts says, and a victim thread (a pthread of
 * the context) that will run its exit once it is killed.
 * @r: the context. @opts: the victim. @out: receives it.
 * Context: a registered RCU thread; may sleep (populates memory).
 * Return: 0; -EINVAL for NULL arguments, @bytes 0 or bad counts or flags;
 * -ENOMEM; -EAGAIN when no pid or thread could be had; errors of
 * ks_task_clone() and ks_mm_map() (nothing is left behind).
 */
int ks_reap_victim_create(struct ks_reap *r, const struct ks_reap_victim_opts *opts,
			  struct ks_reap_victim **out);

/** ks_reap_victim_task() - the victim's group leader (no reference); NULL for NULL. */
struct ks_task *ks_reap_victim_task(const struct ks_reap_victim *v);

/**
 * ks_reap_victim_mm() - the victim's mm (no reference: valid until
 * ks_reap_victim_destroy(), the victim holds an mm_count reference); NULL
 * for NULL.
 */
struct ks_mm *ks_reap_victim_mm(const struct ks_reap_victim *v);

/**
 * ks_reap_kill() - kill @v with killer strategy @killer.
 * @r: the context. @v: a victim of @r not killed before.
 * @killer: a name of ks_reap_killers().
 *
 * "wait-exit" returns once the victim exited; "mrelease" once the caller's
 * process_mrelease() returned (its result is in the victim's result);
 * "oom-reaper" once queued; "lmkd-pool" once a pool thread took it or, all
 * busy, once the caller killed it (no reap).
 * Context: a registered RCU thread; may sleep; may start the reaper threads.
 * Return: 0; -EINVAL for NULL arguments or a victim of another context;
 * -ENOENT for an unknown @killer; -EALREADY when @v was killed before;
 * -ENOMEM or -EAGAIN when a reaper thread could not be started (nothing
 * killed).
 */
int ks_reap_kill(struct ks_reap *r, struct ks_reap_victim *v, const char *killer);

/**
 * ks_reap_victim_wait() - wait until @v has exited and was reaped, and its
 * memory freed, and every reaper is done with it.
 * @v: the victim. @res: receives its result (may be NULL).
 * @timeout_ms: 0: forever.
 * Context: sleeps.
 * Return: 0; -ETIMEDOUT; -EINVAL for NULL @v; -ESRCH when @v was never
 * killed.
 */
int ks_reap_victim_wait(struct ks_reap_victim *v, struct ks_reap_result *res,
			unsigned int timeout_ms);

/**
 * ks_reap_victim_result() - a snapshot of @v's result so far.
 * Context: any thread.
 * Return: 0; -EINVAL for NULL arguments.
 */
int ks_reap_victim_result(const struct ks_reap_victim *v, struct ks_reap_result *res);

/**
 * ks_reap_victim_destroy() - end @v: a victim never killed is killed and
 * left to exit by itself ("wait-exit"); then wait for it as
 * ks_reap_victim_wait() and free it.
 * Context: a registered RCU thread; sleeps.
 * Return: 0; -EINVAL for NULL.
 */
int ks_reap_victim_destroy(struct ks_reap_victim *v);

#ifdef __cplusplus
}
#endif

#endif /* KSCALE_REAP_H */
