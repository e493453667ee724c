/* SPDX-License-Identifier: MIT */
/*
 * task: processes (thread groups) and threads, their files tables and their
 * address spaces, modelled on Linux 6.18 kernel/fork.c (copy_process(),
 * copy_files(), copy_mm()), kernel/exit.c (do_exit(), exit_notify(),
 * release_task(), wait_task_zombie()), kernel/signal.c (SIGKILL delivery:
 * complete_signal(), SIGNAL_GROUP_EXIT), fs/file.c (alloc_fd(), fd_install(),
 * close_fd(), dup_fd(), unshare_fd(), expand_files()) and kernel/pid.c
 * (attach_pid(), detach_pid(), pid_task()).
 *
 * A struct ks_tasks is one machine's task list: its pid namespace (from the
 * pid subsystem, with any of its strategies), tasklist_lock, and every task.
 * A struct ks_task is one thread (task_struct). Modelled tasks are passive
 * objects: a caller "runs" a thread by calling functions on it (open a file,
 * exit). Any caller thread may act on any task.
 *
 * Lifetime, as in the kernel:
 *  - ks_task_clone() makes a thread; it holds a pid of the machine's
 *    namespace (attach_pid(): ks_task_from_pid() finds it) and is on the task
 *    list until it is released.
 *  - ks_task_exit() is do_exit() for one thread: PF_EXITING, exit_mm()
 *    (the thread's mm reference goes), exit_files() (so a zombie's fd/ is
 *    empty), the exit hooks, exit_notify(). A thread that is not the group
 *    leader then releases itself (release_task(): unhash, free its pid, the
 *    release hooks: where procfs's proc_flush_pid() runs). The leader stays
 *    a zombie until every other thread is released and ks_task_reap() (the
 *    parent's wait) releases it: the leader is released last.
 *  - ks_task_kill() is SIGKILL to the group: a fatal signal pending on every
 *    thread and SIGNAL_GROUP_EXIT; the threads still exit only when a caller
 *    calls ks_task_exit() on them (a killed task that "sleeps" has not freed
 *    anything yet: the situation process_mrelease() is for).
 *  - A released task's struct stays while references remain (ks_task_get(),
 *    ks_task_put()); functions on it then give -ESRCH.
 *
 * Files. A files table (files_struct) is shared by clone with KS_CLONE_FILES
 * and copied otherwise (dup_fd(): the open files are shared objects, each
 * with its own count); ks_task_unshare_files() is unshare(CLONE_FILES).
 * Descriptors are allocated lowest-first under the table's file_lock and
 * looked up lock-free under RCU (the fd array is replaced and RCU-freed when
 * it grows, as expand_fdtable()).
 *
 * Memory. Every object is allocated through ks_mem (types "task_struct",
 * "files_struct", "fdtable", "file", "signal_struct"), and every lock takes
 * a lock_stat class named as the kernel's ("tasklist_lock", "file_lock",
 * "alloc_lock", "siglock").
 *
 * Threads. Every function needs a thread registered with
 * ks_rcu_register_thread() and may be called concurrently on the same or
 * different tasks, unless its Context says otherwise.
 */
#ifndef KSCALE_TASK_H
#define KSCALE_TASK_H

#include <kscale/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ks_topo;
struct ks_lockstat;
struct ks_mem;
struct ks_pid;
struct ks_pid_ns;
struct ks_mm;
struct ks_tasks; /* opaque: a machine's task list */
struct ks_task;  /* opaque: a thread */

/* ks_task_clone() flags: the kernel's CLONE_* values. */
#define KS_CLONE_VM     0x00000100 /* share the parent's mm */
#define KS_CLONE_FILES  0x00000400 /* share the parent's files table */
#define KS_CLONE_THREAD 0x00010000 /* same thread group; needs KS_CLONE_VM */

/* ks_task_open() flags: the kernel's O_ACCMODE values. */
#define KS_O_RDONLY 0
#define KS_O_WRONLY 1
#define KS_O_RDWR   2

/* f_mode bits reported for an open descriptor. */
#define KS_FMODE_READ  0x1
#define KS_FMODE_WRITE 0x2

/* ks_task_flags() bits. */
#define KS_TASK_LEADER     (1u << 0) /* thread-group leader */
#define KS_TASK_EXITING    (1u << 1) /* PF_EXITING: do_exit() began */
#define KS_TASK_ZOMBIE     (1u << 2) /* EXIT_ZOMBIE: exited, not released */
#define KS_TASK_DEAD       (1u << 3) /* released (EXIT_DEAD, unhashed) */
#define KS_TASK_SIGKILL    (1u << 4) /* fatal_signal_pending() */
#define KS_TASK_GROUP_EXIT (1u << 5) /* signal->flags & SIGNAL_GROUP_EXIT */
#define KS_TASK_COREDUMP   (1u << 6) /* signal->core_state != NULL */

/** Most hook sets one ks_tasks takes. */
#define KS_TASK_MAX_HOOKS 4

/** Longest path of an open file, as the kernel's PATH_MAX less the NUL. */
#define KS_PATH_MAX 4095

/**
 * struct ks_tasks_opts - options of ks_tasks_create(); {0} gives defaults.
 * @topo:         topology (NULL: ks_topo_default()); must outlive the tasks.
 * @locks:        lock_stat registry (NULL: uncounted).
 * @mem:          accounting domain (NULL: a private one, destroyed with it);
 *                also given to the pid space and to every mm created here.
 * @pid_ns:       the namespace new tasks get pids in (NULL: a new pid space
 *                of @pid_strategy, owned by the tasks, whose root is used).
 * @pid_strategy: pid strategy of that space (NULL: "idr-relock").
 * @nr_open:      most descriptors per table, as fs.nr_open (0: 1048576).
 */
struct ks_tasks_opts {
	const struct ks_topo *topo;
	struct ks_lockstat *locks;
	struct ks_mem *mem;
	struct ks_pid_ns *pid_ns;
	const char *pid_strategy;
	unsigned int nr_open;
};

/**
 * struct ks_tasks_stats - counts of one task list.
 * @processes: thread groups on the list (zombies included).
 * @threads:   tasks on the list (nr_threads).
 * @zombies:   exited tasks not yet released.
 * @files_tables, @open_files: live files_structs and open files.
 * @forks, @exits, @releases: cumulative clones, do_exit()s, release_task()s.
 */
struct ks_tasks_stats {
	int64_t processes;
	int64_t threads;
	int64_t zombies;
	int64_t files_tables;
	int64_t open_files;
	uint64_t forks;
	uint64_t exits;
	uint64_t releases;
};

/**
 * struct ks_task_hooks - what a layer above (procfs, reap) is told.
 * @exit:    do_exit() of @task, after exit_mm() and exit_files(), before
 *           exit_notify(); runs in the caller of ks_task_exit().
 * @release: release_task() of @task, after it left the task list and its pid
 *           was freed, with no lock held (proc_flush_pid() runs here). It
 *           runs in whoever released it: the exiting thread itself, or the
 *           caller of ks_task_reap() for a leader.
 * @free:    the task's last reference went; drop what the hook keeps in
 *           the task's hook slot. Runs after a grace period, in a call_rcu
 *           callback: it must not sleep.
 * Any member may be NULL. @arg is the pointer given with the hooks.
 */
struct ks_task_hooks {
	void (*exit)(struct ks_task *task, void *arg);
	void (*release)(struct ks_task *task, void *arg);
	void (*free)(struct ks_task *task, void *arg);
};

/**
 * ks_tasks_create() - an empty task list.
 * @opts: options (NULL: defaults). @out: receives it.
 * Context: a registered RCU thread outside read-side sections.
 * Return: 0; -EINVAL for NULL @out; -ENOENT for an unknown @pid_strategy;
 * -EPERM for an unregistered thread; -ENOMEM; -ENOSPC when the lock_stat
 * registry is full; errors of ks_pid_space_create().
 */
int ks_tasks_create(const struct ks_tasks_opts *opts, struct ks_tasks **out);

/**
 * ks_tasks_destroy() - free an empty task list (and its own pid space).
 * Context: a registered RCU thread outside read-side sections; sleeps (waits
 * for pending RCU frees).
 * Return: 0; -EINVAL for NULL; -EBUSY while any task is on the list or any
 * task struct is still referenced, or, with a private accounting domain, an
 * mm made for its tasks is still referenced (nothing is freed); -EPERM;
 * -EDEADLK inside a read-side section.
 */
int ks_tasks_destroy(struct ks_tasks *t);

/**
 * ks_tasks_add_hooks() - register a hook set, before the first task exists.
 * @hooks: copied. @arg: passed to every hook. @id: receives the hook set's
 * index (for ks_task_hook_data()); may be NULL.
 * Context: a registered RCU thread.
 * Return: 0; -EINVAL for NULL @t or @hooks; -EBUSY once a task was created;
 * -ENOSPC past KS_TASK_MAX_HOOKS.
 */
int ks_tasks_add_hooks(struct ks_tasks *t, const struct ks_task_hooks *hooks, void *arg, int *id);

/** ks_tasks_pid_ns() - the namespace tasks get pids in; NULL for NULL. */
struct ks_pid_ns *ks_tasks_pid_ns(const struct ks_tasks *t);

/** ks_tasks_mem() - the accounting domain; NULL for NULL. */
struct ks_mem *ks_tasks_mem(const struct ks_tasks *t);

/** ks_tasks_stats() - snapshot. Return: 0; -EINVAL for NULL arguments. */
int ks_tasks_stats(const struct ks_tasks *t, struct ks_tasks_stats *out);

/**
 * ks_tasks_for_each_process() - call @fn on every thread-group leader on the
 * list (for_each_process() under rcu_read_lock()); zombies included.
 * @fn: runs inside an RCU read-side section with no reference taken: it must
 *      not sleep or call functions that may; nonzero stops the walk.
 * Return: 0 after a full walk; @fn's nonzero return; -EINVAL for NULL @t or
 * @fn; -EPERM for an unregistered thread.
 */
int ks_tasks_for_each_process(struct ks_tasks *t, int (*fn)(struct ks_task *leader, void *arg),
			      void *arg);

/**
 * ks_tasks_next_tgid() - the thread-group leader with the smallest tgid >=
 * @nr in the machine's namespace (next_tgid() of /proc readdir).
 * @out: receives a reference (ks_task_put() it).
 * Return: its tgid (>= 1); -ENOENT when none; -EINVAL for NULL arguments or
 * @nr < 0; -EPERM for an unregistered thread.
 */
int ks_tasks_next_tgid(struct ks_tasks *t, int nr, struct ks_task **out);

/* ---- tasks -------------------------------------------------------------- */

/**
 * ks_task_clone() - a new thread (copy_process()).
 * @t:      the task list.
 * @parent: the task calling clone, holding a reference; NULL makes a new
 *          process with an empty mm and an empty files table (a child of
 *          the machine's init).
 * @flags:  KS_CLONE_* (0 with @parent NULL). Without KS_CLONE_VM the child
 *          gets a new empty mm (fork() followed by exec(): address spaces
 *          are not copied); with it, the child shares @parent's mm
 *          (mmget()), and without KS_CLONE_THREAD it is a new process using
 *          the same mm (vfork-like; a new owner of the mm). Without
 *          KS_CLONE_FILES the files table is copied (dup_fd()).
 * @out:    receives the new task with one reference for the caller.
 *
 * Context: a registered RCU thread outside read-side sections.
 * Return: 0; -EINVAL for NULL @t or @out, unknown @flags, flags with a NULL
 * @parent, KS_CLONE_THREAD without KS_CLONE_VM, or a @parent of another
 * task list; -ESRCH when @parent is exiting or dead (its group has a fatal
 * signal pending or it began do_exit()); -EAGAIN when the namespace has no
 * free pid; -ENOMEM; -EPERM for an unregistered thread.
 */
int ks_task_clone(struct ks_tasks *t, struct ks_task *parent, unsigned long flags,
		  struct ks_task **out);

/**
 * ks_task_exit() - do_exit() of one thread (see the lifetime rules above).
 * @task: the thread, which the caller holds a reference to.
 * @code: exit code (kept for ks_task_reap()).
 * Context: a registered RCU thread outside read-side sections; may run the
 * exit and release hooks, and exit_mmap() when it drops the last mm user.
 * Return: 0; -EINVAL for NULL; -ESRCH when @task already began do_exit();
 * -EPERM for an unregistered thread.
 */
int ks_task_exit(struct ks_task *task, int code);

/**
 * ks_task_kill() - SIGKILL to @task's thread group (complete_signal()): a
 * fatal signal pending on every thread, SIGNAL_GROUP_EXIT, and the group is
 * no longer a live owner of its mm. Nothing exits by itself.
 * Return: 0 (also when already killed); -EINVAL for NULL; -ESRCH when @task
 * was released (its pid is gone) or the group has no thread left that has
 * not exited.
 */
int ks_task_kill(struct ks_task *task);

/**
 * ks_task_set_coredump() - mark @task's group as dumping core (on != 0) or
 * not (signal->core_state), as a core dump in progress makes
 * task_will_free_mem() false.
 * Return: 0; -EINVAL for NULL; -ESRCH for a released task.
 */
int ks_task_set_coredump(struct ks_task *task, int on);

/**
 * ks_task_reap() - the parent's wait() for the group of @leader
 * (wait_task_zombie() then release_task() of the leader).
 * @leader: the group leader, held by the caller.
 * @code:   receives the leader's exit code (may be NULL).
 * Context: a registered RCU thread outside read-side sections; runs the
 * release hooks.
 * Return: 0 reaped; -EAGAIN while the leader has not exited or other
 * threads of the group are not yet released (WNOHANG would return 0);
 * -ECHILD when already reaped; -EINVAL for NULL or a task that is not a
 * group leader; -EPERM for an unregistered thread.
 */
int ks_task_reap(struct ks_task *leader, int *code);

/** ks_task_get() - take a reference. Return: 0; -EINVAL for NULL or a count at 0. */
int ks_task_get(struct ks_task *task);
/**
 * ks_task_put() - drop a reference; the last one frees the task after a
 * grace period (delayed_put_task_struct()).
 * Return: 0; -EINVAL for NULL or a count already zero (a double put); -EPERM
 * for an unregistered thread (nothing changes: the last put queues a
 * call_rcu callback).
 */
int ks_task_put(struct ks_task *task);

/**
 * ks_task_find() - find_get_task_by_vpid(): the task whose pid is @nr in
 * the machine's namespace, with a reference.
 * Return: 0; -ESRCH when none (or released); -EINVAL for NULL arguments or
 * @nr < 1; -EPERM for an unregistered thread.
 */
int ks_task_find(struct ks_tasks *t, int nr, struct ks_task **out);

/**
 * ks_task_from_pid() - pid_task(pid, PIDTYPE_PID): the task attached to
 * @pid, or -ESRCH once it was released.
 * @out: receives the task. Inside a read-side section with @get 0 it stays
 *       valid until the section ends; with @get nonzero a reference is
 *       taken (get_pid_task()) and no section is needed.
 * Return: 0; -ESRCH; -EINVAL for NULL arguments; -EPERM for @get 0 outside
 * a read-side section.
 */
int ks_task_from_pid(struct ks_pid *pid, int get, struct ks_task **out);

/**
 * ks_task_pid() - the thread's pid (task->thread_pid), valid while the
 * caller holds the task (the task keeps a reference on it until freed).
 * Return: the pid; NULL for NULL.
 */
struct ks_pid *ks_task_pid(const struct ks_task *task);

/** ks_task_tid() - the thread's number in the machine's namespace; -EINVAL for NULL. */
int ks_task_tid(const struct ks_task *task);
/** ks_task_tgid() - the group's number (the leader's tid); -EINVAL for NULL. */
int ks_task_tgid(const struct ks_task *task);
/** ks_task_flags() - the KS_TASK_* bits now; -EINVAL for NULL. */
int ks_task_flags(const struct ks_task *task);
/** ks_task_tasks() - the task list of @task; NULL for NULL. */
struct ks_tasks *ks_task_tasks(const struct ks_task *task);

/**
 * ks_task_leader() - the group leader (task->group_leader), with a
 * reference. Return: 0; -EINVAL for NULL arguments.
 */
int ks_task_leader(struct ks_task *task, struct ks_task **out);

/**
 * ks_task_nr_threads() - threads of @task's group not yet released
 * (signal->nr_threads counts live ones; this is the length of the thread
 * list /proc/<pid>/task shows). Return: >= 0; -EINVAL for NULL.
 */
int ks_task_nr_threads(const struct ks_task *task);

/**
 * ks_task_next_thread() - walk the group's thread list (next_thread()):
 * @prev NULL gives the group's first thread (the leader while it is
 * listed), else the thread after @prev.
 * @out: receives a reference.
 * Return: 0; -ENOENT at the end (or when the group is empty); -EAGAIN when
 * @prev has left the list (restart from the start); -EINVAL for NULL
 * @task or @out, or @prev of another group; -EPERM for an unregistered
 * thread.
 */
int ks_task_next_thread(struct ks_task *task, struct ks_task *prev, struct ks_task **out);

/**
 * ks_task_hook_data() - the slot of hook set @id on @task (for the layer's
 * own per-task data, e.g. procfs's per-pid inode list). Atomic pointer.
 * Return: the slot address; NULL for NULL @task or a bad @id.
 */
void **ks_task_hook_data(struct ks_task *task, int id);

/* ---- mm ----------------------------------------------------------------- */

/**
 * ks_task_mm() - get_task_mm(): @task's mm with an mm_users reference
 * (ks_mmput() it). Return: 0; -ESRCH when it has none (after exit_mm());
 * -EINVAL for NULL arguments.
 */
int ks_task_mm(struct ks_task *task, struct ks_mm **out);

/**
 * ks_task_find_mm() - find_lock_task_mm() + mmgrab(): the mm of the first
 * thread of @task's group that still has one, with an mm_count reference
 * (ks_mmdrop() it). Return: 0; -ESRCH when no thread has an mm (a zombie);
 * -EINVAL for NULL arguments; -EPERM for an unregistered thread.
 */
int ks_task_find_mm(struct ks_task *task, struct ks_mm **out);

/**
 * ks_task_mm_peek() - the mm of the first thread of @task's group that has
 * one, for comparison only (process_shares_mm()); no reference, never
 * dereference it. Context: inside a read-side section or holding @task.
 * Return: the pointer, or NULL.
 */
const struct ks_mm *ks_task_mm_peek(const struct ks_task *task);

/* ---- files -------------------------------------------------------------- */

/**
 * ks_task_open() - open @path (a name only: nothing is opened on the host)
 * on the lowest free descriptor of @task's table (alloc_fd() + fd_install()).
 * @oflags: KS_O_RDONLY, KS_O_WRONLY or KS_O_RDWR. @fd: receives it.
 * Context: takes the table's file_lock; may grow the table.
 * Return: 0; -EINVAL for NULL arguments, bad @oflags or an empty @path;
 * -ENAMETOOLONG past KS_PATH_MAX; -EMFILE when the table is at nr_open;
 * -ESRCH when @task has no files table (it exited); -ENOMEM; -EPERM for an
 * unregistered thread.
 */
int ks_task_open(struct ks_task *task, const char *path, int oflags, int *fd);

/**
 * ks_task_close() - close_fd(). Return: 0; -EBADF when @fd is not open
 * (closing a closed descriptor) or negative; -EINVAL for NULL; -ESRCH when
 * @task has no files table; -EPERM for an unregistered thread.
 */
int ks_task_close(struct ks_task *task, int fd);

/**
 * ks_task_unshare_files() - unshare(CLONE_FILES): a private copy of the
 * table when it is shared (nothing changes otherwise).
 * Return: 0; -EINVAL for NULL; -ESRCH when @task exited; -ENOMEM; -EPERM for
 * an unregistered thread.
 */
int ks_task_unshare_files(struct ks_task *task);

/**
 * ks_task_next_fd() - the lowest open descriptor >= @fd of @task's table
 * (task_lookup_next_fdget_rcu(), used by proc_readfd_common()).
 * @f_mode: receives KS_FMODE_* of that file (may be NULL).
 * Context: lock-free (RCU inside).
 * Return: the descriptor (>= @fd); -ENOENT when none (also after
 * exit_files()); -EINVAL for NULL @task or @fd < 0; -EPERM for an
 * unregistered thread.
 */
int ks_task_next_fd(struct ks_task *task, int fd, unsigned int *f_mode);

/**
 * ks_task_fd_path() - the path and mode of descriptor @fd (what readlink of
 * /proc/<pid>/fd/<fd> and tid_fd_revalidate() read).
 * @buf, @len: receives the path, NUL-terminated (may be NULL/0 to test only).
 * @f_mode:    receives KS_FMODE_* (may be NULL).
 * Context: lock-free (RCU inside).
 * Return: the path's length; -ENOENT when @fd is not open (or the table is
 * gone); -ERANGE when @len is too small (nothing written); -EINVAL for NULL
 * @task, @fd < 0, or NULL @buf with @len > 0; -EPERM for an unregistered
 * thread.
 */
int ks_task_fd_path(struct ks_task *task, int fd, char *buf, size_t len, unsigned int *f_mode);

/**
 * ks_task_nr_fds() - open descriptors in @task's table (the st_size of
 * /proc/<pid>/fd). Return: >= 0 (0 after exit_files()); -EINVAL for NULL;
 * -EPERM for an unregistered thread.
 */
int ks_task_nr_fds(struct ks_task *task);

/**
 * ks_task_files_id() - the identity of @task's files table, for comparison
 * only (task->files == leader->files); NULL after exit_files() or for NULL.
 */
const void *ks_task_files_id(const struct ks_task *task);

#ifdef __cplusplus
}
#endif

#endif /* KSCALE_TASK_H */
