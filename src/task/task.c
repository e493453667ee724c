// SPDX-License-Identifier: MIT
/*
 * Processes and threads: the task list under tasklist_lock with RCU
 * readers, copy_process(), do_exit() with exit_mm()/exit_files()/
 * exit_notify(), release_task() (threads release themselves, the leader is
 * released last by its parent's wait), SIGKILL to a group, and the task
 * lookups procfs and the reaper use. Models kernel/fork.c, kernel/exit.c,
 * kernel/signal.c and kernel/pid.c (attach_pid(), pid_task()), Linux 6.18.
 */
#include "task/task_internal.h"

#include <errno.h>
#include <string.h>

/* ---- the task list ------------------------------------------------------ */

static int get_types(struct ks_tasks *t)
{
	int r;

	r = ks_mem_type_get(t->mem, "task_struct", sizeof(struct ks_task), &t->t_task);
	if (!r)
		r = ks_mem_type_get(t->mem, "signal_struct", sizeof(struct ks_signal), &t->t_signal);
	if (!r)
		r = ks_mem_type_get(t->mem, "files_struct", sizeof(struct ks_files), &t->t_files);
	if (!r)
		r = ks_mem_type_get(t->mem, "fdtable", sizeof(struct ks_fdtable), &t->t_fdtable);
	if (!r)
		r = ks_mem_type_get(t->mem, "file", sizeof(struct ks_file), &t->t_file);
	return r;
}

static int get_classes(struct ks_tasks *t)
{
	int r;

	if (!t->locks)
		return 0;
	r = ks_lock_class_get(t->locks, "tasklist_lock", KS_LOCK_GLOBAL, &t->c_tasklist);
	if (!r)
		r = ks_lock_class_get(t->locks, "file_lock", KS_LOCK_OBJECT, &t->c_file);
	if (!r)
		r = ks_lock_class_get(t->locks, "alloc_lock", KS_LOCK_OBJECT, &t->c_alloc);
	if (!r)
		r = ks_lock_class_get(t->locks, "siglock", KS_LOCK_OBJECT, &t->c_siglock);
	return r;
}

static void tasks_free(struct ks_tasks *t)
{
	struct ks_mem *mem = t->mem;
	bool own = t->own_mem;

	if (t->own_space)
		ks_pid_space_destroy(t->own_space);
	ks_spin_destroy(&t->tasklist_lock);
	ks_percpu_free(t->pcpu);
	ks_mem_free(t->t_tasks, t, sizeof(*t));
	if (own)
		ks_mem_destroy(mem);
}

int ks_tasks_create(const struct ks_tasks_opts *opts, struct ks_tasks **out)
{
	static const struct ks_tasks_opts defaults;
	const struct ks_topo *topo;
	struct ks_mem_type *t_tasks;
	struct ks_mem *mem;
	struct ks_tasks *t;
	bool own_mem = false;
	int r;

	if (!out)
		return -EINVAL;
	if (!opts)
		opts = &defaults;
	if (opts->pid_strategy && ks_pid_strategy_flags(opts->pid_strategy) < 0)
		return -ENOENT;
	if (!ks_rcu_thread_registered())
		return -EPERM;
	topo = opts->topo ? opts->topo : ks_topo_default();
	if (!topo)
		return -EINVAL;
	mem = opts->mem;
	if (!mem) {
		r = ks_mem_create(topo, &mem);
		if (r)
			return r;
		own_mem = true;
	}
	r = ks_mem_type_get(mem, "tasks", sizeof(*t), &t_tasks);
	if (r)
		goto out_mem;
	t = ks_mem_zalloc(t_tasks, sizeof(*t));
	if (!t) {
		r = -ENOMEM;
		goto out_mem;
	}
	t->t_tasks = t_tasks;
	t->topo = topo;
	t->locks = opts->locks;
	t->mem = mem;
	t->own_mem = own_mem;
	t->nr_open = opts->nr_open ? opts->nr_open : 1048576;
	ks_rlist_init(&t->procs);
	r = get_types(t);
	if (!r)
		r = get_classes(t);
	if (!r)
		r = ks_percpu_alloc(topo, sizeof(struct ks_tasks_pcpu), &t->pcpu);
	if (!r) {
		struct ks_mm_opts mo = { .topo = topo, .locks = t->locks, .mem = mem };

		r = ks_mm_cache_init(&mo, &t->mm_cache);
	}
	ks_spin_init(&t->tasklist_lock, t->c_tasklist);
	if (r)
		goto out_t;
	t->ns = opts->pid_ns;
	if (!t->ns) {
		struct ks_pid_opts po = { .topo = topo, .locks = opts->locks, .mem = mem };

		r = ks_pid_space_create(opts->pid_strategy ? opts->pid_strategy : "idr-relock",
					&po, &t->own_space);
		if (!r)
			r = ks_pid_ns_root(t->own_space, &t->ns);
		if (r)
			goto out_t;
	}
	*out = t;
	return 0;

out_t:
	t->own_mem = false;
	tasks_free(t);
out_mem:
	if (own_mem)
		ks_mem_destroy(mem);
	return r;
}

int ks_tasks_destroy(struct ks_tasks *t)
{
	int64_t prev = -1, now;

	if (!t)
		return -EINVAL;
	if (!ks_rcu_thread_registered())
		return -EPERM;
	if (ks_rcu_read_depth() > 0)
		return -EDEADLK;
	if (__atomic_load_n(&t->threads, __ATOMIC_ACQUIRE))
		return -EBUSY;
	/* a task struct's free may queue its leader's: wait until it settles */
	for (;;) {
		ks_rcu_barrier();
		now = __atomic_load_n(&t->task_structs, __ATOMIC_ACQUIRE);
		if (!now)
			break;
		if (now == prev)
			return -EBUSY;
		prev = now;
	}
	if (KS_TASKS_SUM(t, files_tables) || KS_TASKS_SUM(t, open_files))
		return -EBUSY;
	if (t->own_mem) {
		/* an mm made here lives in the private domain destroyed below */
		struct ks_mem_type_stats ms;

		if (!ks_mem_type_read(t->mm_cache.t_mm, &ms) && ms.live_objs)
			return -EBUSY;
	}
	tasks_free(t);
	return 0;
}

int ks_tasks_add_hooks(struct ks_tasks *t, const struct ks_task_hooks *hooks, void *arg, int *id)
{
	int r = 0, n;

	if (!t || !hooks)
		return -EINVAL;
	ks_spin_lock(&t->tasklist_lock);
	n = t->nr_hooks;
	if (t->started) {
		r = -EBUSY;
	} else if (n >= KS_TASK_MAX_HOOKS) {
		r = -ENOSPC;
	} else {
		t->hooks[n].ops = *hooks;
		t->hooks[n].arg = arg;
		__atomic_store_n(&t->nr_hooks, n + 1, __ATOMIC_RELEASE);
		if (id)
			*id = n;
	}
	ks_spin_unlock(&t->tasklist_lock);
	return r;
}

struct ks_pid_ns *ks_tasks_pid_ns(const struct ks_tasks *t)
{
	return t ? t->ns : NULL;
}

struct ks_mem *ks_tasks_mem(const struct ks_tasks *t)
{
	return t ? t->mem : NULL;
}

int ks_tasks_stats(const struct ks_tasks *t, struct ks_tasks_stats *out)
{
	if (!t || !out)
		return -EINVAL;
	out->processes = __atomic_load_n(&t->processes, __ATOMIC_RELAXED);
	out->threads = __atomic_load_n(&t->threads, __ATOMIC_RELAXED);
	out->zombies = __atomic_load_n(&t->zombies, __ATOMIC_RELAXED);
	out->files_tables = KS_TASKS_SUM(t, files_tables);
	out->open_files = KS_TASKS_SUM(t, open_files);
	out->forks = __atomic_load_n(&t->forks, __ATOMIC_RELAXED);
	out->exits = __atomic_load_n(&t->exits, __ATOMIC_RELAXED);
	out->releases = __atomic_load_n(&t->releases, __ATOMIC_RELAXED);
	return 0;
}

int64_t ks_tasks_sum(const struct ks_tasks *t, size_t offset)
{
	int i, n = ks_percpu_nr(t->pcpu);
	int64_t sum = 0;

	for (i = 0; i < n; i++)
		sum += __atomic_load_n((int64_t *)((char *)ks_percpu_ptr(t->pcpu, i) + offset),
				       __ATOMIC_RELAXED);
	return sum;
}

/* Counter updates under tasklist_lock, read lock-free by ks_tasks_stats(). */
#define STAT_ADD(t, field, v) __atomic_store_n(&(t)->field, (t)->field + (v), __ATOMIC_RELAXED)

/* ---- references ---------------------------------------------------------- */

static bool task_get_not_zero(struct ks_task *task)
{
	int c = __atomic_load_n(&task->usage, __ATOMIC_RELAXED);

	while (c > 0)
		if (__atomic_compare_exchange_n(&task->usage, &c, c + 1, false, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return true;
	return false;
}

int ks_task_get(struct ks_task *task)
{
	if (!task)
		return -EINVAL;
	return task_get_not_zero(task) ? 0 : -EINVAL;
}

static void signal_put(struct ks_tasks *t, struct ks_signal *sig)
{
	if (__atomic_sub_fetch(&sig->count, 1, __ATOMIC_ACQ_REL))
		return;
	ks_spin_destroy(&sig->siglock);
	ks_mem_free(t->t_signal, sig, sizeof(*sig));
}

/* delayed_put_task_struct() -> __put_task_struct(): after a grace period. */
static void task_free_rcu(struct ks_rcu_head *head)
{
	struct ks_task *task = ks_container_of(head, struct ks_task, rcu);
	struct ks_tasks *t = task->t;
	struct ks_task *leader = task->group_leader;
	int i, n = __atomic_load_n(&t->nr_hooks, __ATOMIC_ACQUIRE);

	for (i = 0; i < n; i++)
		if (t->hooks[i].ops.free)
			t->hooks[i].ops.free(task, t->hooks[i].arg);
	ks_pid_put(task->pid);
	signal_put(t, task->sig);
	ks_spin_destroy(&task->alloc_lock);
	ks_mem_free(t->t_task, task, sizeof(*task));
	__atomic_sub_fetch(&t->task_structs, 1, __ATOMIC_RELEASE);
	if (leader != task)
		ks_task_put(leader); /* a thread pins its leader's struct */
}

int ks_task_put(struct ks_task *task)
{
	int c;

	if (!task)
		return -EINVAL;
	if (!ks_rcu_thread_registered())
		return -EPERM; /* the last put queues an RCU callback */
	c = __atomic_load_n(&task->usage, __ATOMIC_RELAXED);
	do {
		if (c <= 0)
			return -EINVAL;
	} while (!__atomic_compare_exchange_n(&task->usage, &c, c - 1, false, __ATOMIC_ACQ_REL,
					      __ATOMIC_RELAXED));
	if (c == 1)
		ks_call_rcu(&task->rcu, task_free_rcu); /* registered: cannot fail */
	return 0;
}

/* ---- clone ---------------------------------------------------------------- */

static bool group_dying(const struct ks_signal *sig)
{
	return __atomic_load_n(&sig->flags, __ATOMIC_ACQUIRE) & (KS_SIG_GROUP_EXIT | KS_SIG_KILLED);
}

static int new_signal(struct ks_tasks *t, struct ks_signal **out)
{
	struct ks_signal *sig = ks_mem_zalloc(t->t_signal, sizeof(*sig));

	if (!sig)
		return -ENOMEM;
	sig->count = 1;
	ks_spin_init(&sig->siglock, t->c_siglock);
	ks_rlist_init(&sig->thread_head);
	*out = sig;
	return 0;
}

/* copy_mm(): share with KS_CLONE_VM (mmget()), else a new empty mm. */
static int copy_mm(struct ks_tasks *t, struct ks_task *parent, unsigned long flags,
		   struct ks_mm **out)
{
	struct ks_mm *mm;

	if (!(flags & KS_CLONE_VM))
		return ks_mm_create_cached(&t->mm_cache, out);
	ks_spin_lock(&parent->alloc_lock);
	mm = parent->mm;
	if (mm)
		ks_mmget(mm);
	ks_spin_unlock(&parent->alloc_lock);
	if (!mm)
		return -ESRCH;
	*out = mm;
	return 0;
}

/* copy_files(): share with KS_CLONE_FILES, else dup_fd(). */
static int copy_files(struct ks_tasks *t, struct ks_task *parent, unsigned long flags,
		      struct ks_files **out)
{
	struct ks_files *f;
	int r;

	if (!parent)
		return ks_files_new(t, out);
	ks_spin_lock(&parent->alloc_lock);
	f = parent->files;
	if (f)
		ks_files_get(f);
	ks_spin_unlock(&parent->alloc_lock);
	if (!f)
		return -ESRCH;
	if (flags & KS_CLONE_FILES) {
		*out = f;
		return 0;
	}
	r = ks_files_dup(f, out);
	ks_files_put(f);
	return r;
}

int ks_task_clone(struct ks_tasks *t, struct ks_task *parent, unsigned long flags,
		  struct ks_task **out)
{
	const unsigned long known = KS_CLONE_VM | KS_CLONE_FILES | KS_CLONE_THREAD;
	bool thread = flags & KS_CLONE_THREAD;
	struct ks_signal *sig = NULL;
	struct ks_task *task;
	struct ks_pid *pid;
	int r;

	if (!t || !out || (flags & ~known) || (!parent && flags) ||
	    (thread && !(flags & KS_CLONE_VM)) || (parent && parent->t != t))
		return -EINVAL;
	if (!ks_rcu_thread_registered())
		return -EPERM;
	if (parent && ((__atomic_load_n(&parent->flags, __ATOMIC_ACQUIRE) & KS_TF_EXITING) ||
		       group_dying(parent->sig)))
		return -ESRCH;

	task = ks_mem_zalloc(t->t_task, sizeof(*task));
	if (!task)
		return -ENOMEM;
	task->t = t;
	task->usage = 2; /* the caller's, and the one release_task() drops */
	ks_spin_init(&task->alloc_lock, t->c_alloc);
	__atomic_add_fetch(&t->task_structs, 1, __ATOMIC_RELAXED);
	/* an early free must not run hooks (none ran yet) nor touch the pid */

	if (thread) {
		sig = parent->sig;
		__atomic_add_fetch(&sig->count, 1, __ATOMIC_RELAXED);
		task->group_leader = parent->group_leader;
	} else {
		r = new_signal(t, &sig);
		if (r)
			goto out_task;
		task->group_leader = task;
		task->flags = KS_TF_LEADER;
	}
	task->sig = sig;
	r = copy_mm(t, parent, flags, &task->mm);
	if (r)
		goto out_sig;
	r = copy_files(t, parent, flags, &task->files);
	if (r)
		goto out_mm;
	r = ks_pid_alloc(t->ns, NULL, 0, 0, &pid);
	if (r)
		goto out_files;
	ks_pid_get(pid); /* task->thread_pid, dropped when the struct goes */
	task->pid = pid;
	task->tid = ks_pid_nr_ns(pid, t->ns);
	task->tgid = thread ? task->group_leader->tgid : task->tid;

	ks_spin_lock(&t->tasklist_lock);
	ks_spin_lock(&sig->siglock);
	/* copy_process() rechecks under the locks: a kill may have raced us */
	if (parent && ((__atomic_load_n(&parent->flags, __ATOMIC_ACQUIRE) & KS_TF_EXITING) ||
		       group_dying(parent->sig))) {
		ks_spin_unlock(&sig->siglock);
		ks_spin_unlock(&t->tasklist_lock);
		r = -ESRCH;
		goto out_pid;
	}
	if (!thread) {
		sig->leader = task;
		sig->mm_owner = true;
		sig->owner_mm = task->mm;
		ks_mm_owners_add(task->mm, 1);
		ks_rlist_add_tail(&task->tasks, &t->procs);
		STAT_ADD(t, processes, 1);
	} else {
		task_get_not_zero(task->group_leader);
	}
	ks_rlist_add_tail(&task->thread_node, &sig->thread_head);
	sig->nr_threads++;
	__atomic_add_fetch(&sig->nr_mm, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&sig->nr_listed, 1, __ATOMIC_RELAXED);
	ks_spin_unlock(&sig->siglock);
	t->started = true;
	STAT_ADD(t, threads, 1);
	STAT_ADD(t, forks, 1);
	ks_pid_set_task(pid, task); /* attach_pid() */
	ks_spin_unlock(&t->tasklist_lock);
	*out = task;
	return 0;

out_pid:
	ks_pid_free(pid);
	ks_pid_put(pid);
out_files:
	ks_files_put(task->files);
out_mm:
	ks_mmput(task->mm);
out_sig:
	if (thread)
		__atomic_sub_fetch(&sig->count, 1, __ATOMIC_RELAXED);
	else
		signal_put(t, sig);
out_task:
	ks_spin_destroy(&task->alloc_lock);
	ks_mem_free(t->t_task, task, sizeof(*task));
	__atomic_sub_fetch(&t->task_structs, 1, __ATOMIC_RELEASE);
	return r;
}

/* ---- exit ------------------------------------------------------------------ */

/* The group stops being a live owner of its mm; exactly once, under siglock. */
static void drop_mm_owner_locked(struct ks_signal *sig)
{
	if (!sig->mm_owner)
		return;
	sig->mm_owner = false;
	ks_mm_owners_add(sig->owner_mm, -1);
}

/* exit_mm(): the thread's mm reference goes; its group may stop owning it. */
static void exit_mm(struct ks_task *task)
{
	struct ks_signal *sig = task->sig;
	struct ks_mm *mm;

	ks_spin_lock(&task->alloc_lock);
	mm = task->mm;
	__atomic_store_n(&task->mm, NULL, __ATOMIC_RELEASE);
	ks_spin_unlock(&task->alloc_lock);
	if (!mm)
		return;
	/*
	 * The group's last thread to leave stops its ownership unless a kill
	 * did already. Only that thread takes siglock, so exit_mm() takes no
	 * lock the kernel's does not (beyond task_lock()). A clone adding a
	 * thread cannot race the count to zero: it checks PF_EXITING under
	 * siglock, and do_exit() passed siglock after setting it. We are still
	 * a user until the mmput() below, so owner_mm is alive here.
	 */
	if (!__atomic_sub_fetch(&sig->nr_mm, 1, __ATOMIC_ACQ_REL)) {
		ks_spin_lock(&sig->siglock);
		drop_mm_owner_locked(sig);
		ks_spin_unlock(&sig->siglock);
	}
	ks_mmput(mm);
}

/* exit_files(): early in do_exit(), so a zombie's fd/ is empty. */
static void exit_files(struct ks_task *task)
{
	struct ks_files *f;

	ks_spin_lock(&task->alloc_lock);
	f = task->files;
	ks_rcu_assign_pointer(task->files, NULL);
	ks_spin_unlock(&task->alloc_lock);
	if (f)
		ks_files_put(f);
}

/*
 * __exit_signal() + __unhash_process(): off the thread and process lists,
 * the pid detached. Called with tasklist_lock held.
 */
static void unhash_locked(struct ks_task *task)
{
	struct ks_tasks *t = task->t;
	struct ks_signal *sig = task->sig;
	bool leader = task->group_leader == task;

	ks_spin_lock(&sig->siglock);
	ks_rlist_del(&task->thread_node);
	__atomic_sub_fetch(&sig->nr_listed, 1, __ATOMIC_RELAXED);
	ks_spin_unlock(&sig->siglock);
	if (leader) {
		ks_rlist_del(&task->tasks);
		STAT_ADD(t, processes, -1);
		STAT_ADD(t, zombies, -1);
	}
	ks_pid_set_task(task->pid, NULL); /* detach_pid() */
	__atomic_fetch_and(&task->flags, ~KS_TF_ZOMBIE, __ATOMIC_RELAXED);
	__atomic_fetch_or(&task->flags, KS_TF_DEAD, __ATOMIC_RELEASE);
	STAT_ADD(t, threads, -1);
	STAT_ADD(t, releases, 1);
}

/* The rest of release_task(), with no lock held. */
static void release_task_unlocked(struct ks_task *task)
{
	struct ks_tasks *t = task->t;
	int i, n = __atomic_load_n(&t->nr_hooks, __ATOMIC_ACQUIRE);

	ks_pid_free(task->pid); /* free_pid(): the number goes */
	for (i = 0; i < n; i++)
		if (t->hooks[i].ops.release)
			t->hooks[i].ops.release(task, t->hooks[i].arg);
	ks_task_put(task); /* put_task_struct_rcu_user() */
}

int ks_task_exit(struct ks_task *task, int code)
{
	struct ks_tasks *t;
	struct ks_signal *sig;
	bool leader;
	int i, n;

	if (!task)
		return -EINVAL;
	if (!ks_rcu_thread_registered())
		return -EPERM;
	/* exit_signals(): PF_EXITING, once */
	if (__atomic_fetch_or(&task->flags, KS_TF_EXITING, __ATOMIC_ACQ_REL) & KS_TF_EXITING)
		return -ESRCH;
	t = task->t;
	sig = task->sig;
	leader = task->group_leader == task;
	ks_spin_lock(&sig->siglock);
	sig->nr_threads--;
	ks_spin_unlock(&sig->siglock);

	exit_mm(task);
	exit_files(task);
	n = __atomic_load_n(&t->nr_hooks, __ATOMIC_ACQUIRE);
	for (i = 0; i < n; i++)
		if (t->hooks[i].ops.exit)
			t->hooks[i].ops.exit(task, t->hooks[i].arg);

	/* exit_notify(): the leader waits as a zombie; a thread self-reaps */
	ks_spin_lock(&t->tasklist_lock);
	task->exit_code = code;
	STAT_ADD(t, exits, 1);
	if (leader) {
		__atomic_fetch_or(&task->flags, KS_TF_ZOMBIE, __ATOMIC_RELEASE);
		STAT_ADD(t, zombies, 1);
	} else {
		unhash_locked(task);
	}
	ks_spin_unlock(&t->tasklist_lock);
	if (!leader)
		release_task_unlocked(task);
	return 0;
}

int ks_task_reap(struct ks_task *leader, int *code)
{
	struct ks_tasks *t;
	unsigned int f;
	int r = 0;

	if (!leader || leader->group_leader != leader)
		return -EINVAL;
	if (!ks_rcu_thread_registered())
		return -EPERM;
	t = leader->t;
	ks_spin_lock(&t->tasklist_lock);
	f = __atomic_load_n(&leader->flags, __ATOMIC_ACQUIRE);
	if (f & KS_TF_DEAD)
		r = -ECHILD;
	else if (!(f & KS_TF_ZOMBIE) || __atomic_load_n(&leader->sig->nr_listed,
							 __ATOMIC_RELAXED) > 1)
		r = -EAGAIN; /* delay_group_leader() */
	else
		unhash_locked(leader);
	ks_spin_unlock(&t->tasklist_lock);
	if (r)
		return r;
	if (code)
		*code = leader->exit_code;
	release_task_unlocked(leader);
	return 0;
}

int ks_task_kill(struct ks_task *task)
{
	struct ks_signal *sig;
	int r = 0;

	if (!task)
		return -EINVAL;
	sig = task->sig;
	ks_spin_lock(&sig->siglock);
	if (!sig->nr_threads || (__atomic_load_n(&task->flags, __ATOMIC_ACQUIRE) & KS_TF_DEAD)) {
		r = -ESRCH;
	} else {
		/* complete_signal(): SIGKILL on every thread, SIGNAL_GROUP_EXIT */
		__atomic_fetch_or(&sig->flags, KS_SIG_KILLED | KS_SIG_GROUP_EXIT,
				  __ATOMIC_RELEASE);
		drop_mm_owner_locked(sig);
	}
	ks_spin_unlock(&sig->siglock);
	return r;
}

int ks_task_set_coredump(struct ks_task *task, int on)
{
	if (!task)
		return -EINVAL;
	if (__atomic_load_n(&task->flags, __ATOMIC_ACQUIRE) & KS_TF_DEAD)
		return -ESRCH;
	if (on)
		__atomic_fetch_or(&task->sig->flags, KS_SIG_COREDUMP, __ATOMIC_RELEASE);
	else
		__atomic_fetch_and(&task->sig->flags, ~KS_SIG_COREDUMP, __ATOMIC_RELEASE);
	return 0;
}

/* ---- lookups --------------------------------------------------------------- */

int ks_tasks_for_each_process(struct ks_tasks *t, int (*fn)(struct ks_task *leader, void *arg),
			      void *arg)
{
	struct ks_rlist *n;
	int r = 0;

	if (!t || !fn)
		return -EINVAL;
	if (ks_rcu_read_lock())
		return -EPERM;
	for (n = ks_rlist_next(&t->procs); n != &t->procs && !r; n = ks_rlist_next(n))
		r = fn(ks_container_of(n, struct ks_task, tasks), arg);
	ks_rcu_read_unlock();
	return r;
}

int ks_tasks_next_tgid(struct ks_tasks *t, int nr, struct ks_task **out)
{
	struct ks_task *task;
	struct ks_pid *pid;
	int r;

	if (!t || !out || nr < 0)
		return -EINVAL;
	if (ks_rcu_read_lock())
		return -EPERM;
	for (;;) {
		r = ks_pid_find_ge(t->ns, nr, &pid);
		if (r < 0) {
			r = -ENOENT;
			break;
		}
		task = ks_pid_task(pid);
		if (task && task->group_leader == task && task_get_not_zero(task)) {
			*out = task;
			break;
		}
		nr = r + 1;
	}
	ks_rcu_read_unlock();
	return r;
}

int ks_task_find(struct ks_tasks *t, int nr, struct ks_task **out)
{
	struct ks_task *task = NULL;
	struct ks_pid *pid;
	int r;

	if (!t || !out || nr < 1)
		return -EINVAL;
	if (ks_rcu_read_lock())
		return -EPERM;
	r = ks_pid_lookup(t->ns, nr, &pid);
	if (!r)
		task = ks_pid_task(pid);
	r = task && task_get_not_zero(task) ? 0 : -ESRCH;
	ks_rcu_read_unlock();
	if (!r)
		*out = task;
	return r;
}

int ks_task_from_pid(struct ks_pid *pid, int get, struct ks_task **out)
{
	struct ks_task *task;
	int r = 0;

	if (!pid || !out)
		return -EINVAL;
	if (!get) {
		if (ks_rcu_read_depth() <= 0)
			return -EPERM;
		task = ks_pid_task(pid);
		if (!task)
			return -ESRCH;
		*out = task;
		return 0;
	}
	if (ks_rcu_read_lock())
		return -EPERM;
	task = ks_pid_task(pid);
	if (!task || !task_get_not_zero(task))
		r = -ESRCH;
	ks_rcu_read_unlock();
	if (!r)
		*out = task;
	return r;
}

struct ks_pid *ks_task_pid(const struct ks_task *task)
{
	return task ? task->pid : NULL;
}

int ks_task_tid(const struct ks_task *task)
{
	return task ? task->tid : -EINVAL;
}

int ks_task_tgid(const struct ks_task *task)
{
	return task ? task->tgid : -EINVAL;
}

int ks_task_flags(const struct ks_task *task)
{
	unsigned int f, s;

	if (!task)
		return -EINVAL;
	f = __atomic_load_n(&task->flags, __ATOMIC_ACQUIRE);
	s = __atomic_load_n(&task->sig->flags, __ATOMIC_ACQUIRE);
	if (s & KS_SIG_KILLED)
		f |= KS_TASK_SIGKILL;
	if (s & KS_SIG_GROUP_EXIT)
		f |= KS_TASK_GROUP_EXIT;
	if (s & KS_SIG_COREDUMP)
		f |= KS_TASK_COREDUMP;
	return (int)f;
}

struct ks_tasks *ks_task_tasks(const struct ks_task *task)
{
	return task ? task->t : NULL;
}

int ks_task_leader(struct ks_task *task, struct ks_task **out)
{
	if (!task || !out)
		return -EINVAL;
	/* the thread pins its leader's struct, so the count is not zero */
	task_get_not_zero(task->group_leader);
	*out = task->group_leader;
	return 0;
}

int ks_task_nr_threads(const struct ks_task *task)
{
	if (!task)
		return -EINVAL;
	return __atomic_load_n(&task->sig->nr_listed, __ATOMIC_RELAXED);
}

int ks_task_next_thread(struct ks_task *task, struct ks_task *prev, struct ks_task **out)
{
	struct ks_signal *sig;
	struct ks_rlist *n;
	int r = -ENOENT;

	if (!task || !out || (prev && prev->sig != task->sig))
		return -EINVAL;
	sig = task->sig;
	if (ks_rcu_read_lock())
		return -EPERM;
	if (prev && (__atomic_load_n(&prev->flags, __ATOMIC_ACQUIRE) & KS_TF_DEAD)) {
		r = -EAGAIN;
		goto out;
	}
	n = ks_rlist_next(prev ? &prev->thread_node : &sig->thread_head);
	for (; n != &sig->thread_head; n = ks_rlist_next(n)) {
		struct ks_task *th = ks_container_of(n, struct ks_task, thread_node);

		if (task_get_not_zero(th)) {
			*out = th;
			r = 0;
			break;
		}
	}
out:
	ks_rcu_read_unlock();
	return r;
}

void **ks_task_hook_data(struct ks_task *task, int id)
{
	if (!task || id < 0 || id >= __atomic_load_n(&task->t->nr_hooks, __ATOMIC_ACQUIRE))
		return NULL;
	return &task->hook_data[id];
}

/* ---- mm -------------------------------------------------------------------- */

int ks_task_mm(struct ks_task *task, struct ks_mm **out)
{
	struct ks_mm *mm;

	if (!task || !out)
		return -EINVAL;
	/* get_task_mm() */
	ks_spin_lock(&task->alloc_lock);
	mm = task->mm;
	if (mm)
		ks_mmget(mm);
	ks_spin_unlock(&task->alloc_lock);
	if (!mm)
		return -ESRCH;
	*out = mm;
	return 0;
}

int ks_task_find_mm(struct ks_task *task, struct ks_mm **out)
{
	struct ks_signal *sig;
	struct ks_mm *mm = NULL;
	struct ks_rlist *n;

	if (!task || !out)
		return -EINVAL;
	sig = task->sig;
	if (ks_rcu_read_lock())
		return -EPERM;
	/* find_lock_task_mm(): for_each_thread() under RCU, task_lock() each */
	for (n = ks_rlist_next(&sig->thread_head); n != &sig->thread_head && !mm;
	     n = ks_rlist_next(n)) {
		struct ks_task *th = ks_container_of(n, struct ks_task, thread_node);

		ks_spin_lock(&th->alloc_lock);
		mm = th->mm;
		if (mm)
			ks_mmgrab(mm);
		ks_spin_unlock(&th->alloc_lock);
	}
	ks_rcu_read_unlock();
	if (!mm)
		return -ESRCH;
	*out = mm;
	return 0;
}

const struct ks_mm *ks_task_mm_peek(const struct ks_task *task)
{
	const struct ks_signal *sig;
	const struct ks_rlist *n;
	const struct ks_mm *mm = NULL;
	bool locked;

	if (!task)
		return NULL;
	sig = task->sig;
	locked = !ks_rcu_read_lock();
	if (!locked) /* not registered: only the task itself is safe to read */
		return __atomic_load_n(&task->mm, __ATOMIC_ACQUIRE);
	for (n = ks_rlist_next(&sig->thread_head); n != &sig->thread_head && !mm;
	     n = ks_rlist_next(n))
		mm = __atomic_load_n(&ks_container_of(n, struct ks_task, thread_node)->mm,
				     __ATOMIC_ACQUIRE);
	ks_rcu_read_unlock();
	return mm;
}
