/* SPDX-License-Identifier: MIT */
/*
 * Internal structures of the task layer: task_struct, signal_struct,
 * files_struct, fdtable and struct file as the kernel lays them out, cut
 * down to what kscale models.
 */
#ifndef KSCALE_TASK_INTERNAL_H
#define KSCALE_TASK_INTERNAL_H

#include "mm/mm_internal.h"

#include <kscale/lock.h>
#include <kscale/mem.h>
#include <kscale/mm.h>
#include <kscale/percpu.h>
#include <kscale/pid.h>
#include <kscale/rcu.h>
#include <kscale/task.h>
#include <kscale/topo.h>

#include <stdbool.h>
#include <stddef.h>

/*
 * An RCU-safe doubly linked list (list_add_tail_rcu(), list_del_rcu()):
 * writers hold the list's lock; readers follow ->next under RCU. A removed
 * node keeps its ->next so a reader standing on it can go on.
 */
struct ks_rlist {
	struct ks_rlist *next, *prev;
};

static inline void ks_rlist_init(struct ks_rlist *h)
{
	__atomic_store_n(&h->next, h, __ATOMIC_RELAXED);
	h->prev = h;
}

static inline void ks_rlist_add_tail(struct ks_rlist *n, struct ks_rlist *h)
{
	struct ks_rlist *prev = h->prev;

	__atomic_store_n(&n->next, h, __ATOMIC_RELAXED);
	n->prev = prev;
	h->prev = n;
	__atomic_store_n(&prev->next, n, __ATOMIC_RELEASE); /* publish */
}

static inline void ks_rlist_del(struct ks_rlist *n)
{
	struct ks_rlist *next = __atomic_load_n(&n->next, __ATOMIC_RELAXED);

	next->prev = n->prev;
	__atomic_store_n(&n->prev->next, next, __ATOMIC_RELEASE);
}

static inline struct ks_rlist *ks_rlist_next(const struct ks_rlist *n)
{
	return __atomic_load_n(&n->next, __ATOMIC_ACQUIRE);
}

/* struct file: a refcounted open file, RCU-freed (SLAB_TYPESAFE_BY_RCU). */
struct ks_file {
	long f_count;
	unsigned int f_mode;
	size_t len;
	struct ks_tasks *t;
	struct ks_rcu_head rcu;
	char path[];
};

/*
 * struct fdtable: one allocation holding the header, the fd array and the
 * open_fds bitmap; replaced (and RCU-freed) when it grows.
 */
struct ks_fdtable {
	unsigned int max_fds;
	struct ks_file **fd;      /* slots: atomic pointers */
	unsigned long *open_fds;  /* under file_lock */
	struct ks_tasks *t;
	struct ks_rcu_head rcu;
};

/* struct files_struct. */
struct ks_files {
	int count;               /* atomic */
	struct ks_spinlock file_lock;
	struct ks_fdtable *fdt;  /* RCU-published, replaced under file_lock */
	unsigned int next_fd;    /* under file_lock */
	int nr_fds;              /* atomic: open descriptors */
	struct ks_tasks *t;
	struct ks_rcu_head rcu;
};

/* signal->flags */
#define KS_SIG_GROUP_EXIT (1u << 0) /* SIGNAL_GROUP_EXIT */
#define KS_SIG_COREDUMP   (1u << 1) /* core_state != NULL */
#define KS_SIG_KILLED     (1u << 2) /* SIGKILL pending on every thread */

/* struct signal_struct: what the threads of a group share. */
struct ks_signal {
	int count;             /* atomic: task structs pointing here */
	struct ks_spinlock siglock;
	struct ks_rlist thread_head; /* under tasklist_lock + siglock; RCU readers */
	int nr_threads;        /* under siglock: threads not yet exited (live) */
	int nr_listed;         /* atomic: threads on the list (not released) */
	int nr_mm;             /* atomic: threads not past exit_mm(); +1 under siglock */
	unsigned int flags;    /* atomic KS_SIG_* */
	bool mm_owner;         /* under siglock: counted in owner_mm's owners */
	struct ks_mm *owner_mm;
	struct ks_task *leader;
};

/* task_struct flags */
#define KS_TF_LEADER  KS_TASK_LEADER
#define KS_TF_EXITING KS_TASK_EXITING
#define KS_TF_ZOMBIE  KS_TASK_ZOMBIE
#define KS_TF_DEAD    KS_TASK_DEAD

struct ks_task {
	int usage;              /* atomic */
	unsigned int flags;     /* atomic KS_TF_* */
	int tid;
	int tgid;
	int exit_code;
	struct ks_tasks *t;
	struct ks_pid *pid;
	struct ks_signal *sig;
	struct ks_task *group_leader;
	struct ks_spinlock alloc_lock; /* task_lock(): ->mm, ->files */
	struct ks_mm *mm;
	struct ks_files *files;
	struct ks_rlist tasks;       /* process list (leaders) */
	struct ks_rlist thread_node; /* signal->thread_head */
	void *hook_data[KS_TASK_MAX_HOOKS];
	struct ks_rcu_head rcu;
};

struct ks_tasks_hookset {
	struct ks_task_hooks ops;
	void *arg;
};

struct ks_tasks {
	const struct ks_topo *topo;
	struct ks_lockstat *locks;
	struct ks_mem *mem;
	bool own_mem;
	struct ks_pid_space *own_space;
	struct ks_pid_ns *ns;
	unsigned int nr_open;

	struct ks_mem_type *t_tasks, *t_task, *t_signal, *t_files, *t_fdtable, *t_file;
	struct ks_lock_class *c_tasklist, *c_file, *c_alloc, *c_siglock;
	struct ks_mm_cache mm_cache; /* for copy_mm() */

	struct ks_spinlock tasklist_lock;
	struct ks_rlist procs; /* init_task.tasks */

	struct ks_tasks_hookset hooks[KS_TASK_MAX_HOOKS];
	int nr_hooks; /* atomic; frozen once a task exists */
	bool started; /* under tasklist_lock */

	/* counts: under tasklist_lock, read atomically */
	int64_t processes, threads, zombies;
	uint64_t forks, exits, releases;
	/*
	 * Per-CPU counts of files tables and open files (the kernel's nr_files
	 * is a percpu_counter): open and close touch no shared line. Atomic
	 * adds, as threads labelled with one CPU share its copy.
	 */
	struct ks_percpu *pcpu;
	int64_t task_structs; /* atomic: not yet freed */
};

struct ks_tasks_pcpu {
	int64_t files_tables;
	int64_t open_files;
};

#define KS_TASKS_COUNT(t, field, v)                                                                \
	__atomic_add_fetch(&((struct ks_tasks_pcpu *)ks_percpu_this((t)->pcpu))->field, (v),       \
			   __ATOMIC_RELAXED)

int64_t ks_tasks_sum(const struct ks_tasks *t, size_t offset);
#define KS_TASKS_SUM(t, field) ks_tasks_sum((t), offsetof(struct ks_tasks_pcpu, field))

/* files.c */
int ks_files_new(struct ks_tasks *t, struct ks_files **out);
int ks_files_dup(struct ks_files *old, struct ks_files **out);
void ks_files_get(struct ks_files *f);
void ks_files_put(struct ks_files *f);

#endif /* KSCALE_TASK_INTERNAL_H */
