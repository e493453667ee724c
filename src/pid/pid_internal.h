/* SPDX-License-Identifier: MIT */
/*
 * Private to src/pid/: the structures core.c shares with the strategies, and
 * the ops table every strategy implements.
 *
 * Division of labour. core.c owns what every strategy shares, as kernel/pid.c
 * and kernel/pid_namespace.c do around the IDR: struct ks_pid (numbers[]
 * innermost at numbers[level], root at numbers[0]; refcount; RCU-delayed
 * release), namespaces (levels, pid_max, child_reaper), argument checks,
 * statistics, and the dispatch. A strategy owns its per-namespace structures
 * (IDR, XArray, bitmap pages, ranges), its per-space structures (a global
 * hash, per-CPU ranges) and ALL of its locking: idr-relock takes the global
 * pidmap_lock once per level and again to publish, idr-once once, xarray one
 * xa_lock per namespace, bitmap-hash sets bits without a lock and takes one
 * global hash lock, pcpu-range takes per-CPU locks. core.c never takes a
 * strategy's lock; it calls the ops below, each of which is complete (it takes
 * and drops the locks it needs).
 *
 * Where the kernel keeps ns->pid_allocated (live count | PIDNS_ADDING) under
 * pidmap_lock, struct ks_pid_ns has the field and the helpers
 * ks_pidns_*allocated*() below implement the kernel's transitions; a strategy
 * calls them under whatever lock it uses for that namespace (or keeps its own
 * equivalent and leaves the field alone, saying so).
 */
#ifndef KSCALE_SRC_PID_INTERNAL_H
#define KSCALE_SRC_PID_INTERNAL_H

#include <kscale/pid.h>
#include <kscale/lock.h>
#include <kscale/mem.h>
#include <kscale/rcu.h>
#include <kscale/topo.h>
#include <kscale/percpu.h>

/* include/linux/pid_namespace.h: PIDNS_ADDING = 1U << 31. */
#define KS_PIDNS_ADDING (1u << 31)

/* ks_pid_ns.child_reaper of the root: an init that needs no pid. */
#define KS_PID_BOOT_REAPER ((struct ks_pid *)(uintptr_t)1)

/* struct ks_pid.state */
enum ks_pid_state {
	KS_PID_UNPUBLISHED = 0, /* numbers held by placeholders */
	KS_PID_PUBLISHED = 1,   /* visible to lookups */
	KS_PID_FREED = 2,       /* numbers released (or being released) */
};

/* One number of a pid (struct upid). */
struct ks_upid {
	int nr;
	struct ks_pid_ns *ns;
};

/*
 * struct ks_pid - struct pid without the task lists (kscale has no tasks).
 * Allocated with ks_pid_alloc_size(level, ops->upid_priv) bytes from the
 * space's "pid" ks_mem type; after numbers[level + 1] come level + 1 blocks
 * of ops->upid_priv bytes for the strategy (ks_pid_upid_priv()), e.g. a hash
 * chain link per level for bitmap-hash as 4.14's struct upid had.
 */
struct ks_pid {
	int count;                /* refcount_t count; atomic */
	int level;                /* innermost level */
	int state;                /* enum ks_pid_state; atomic */
	struct ks_pid_space *space;
	uint64_t ino;             /* pidfs inode number (idr-relock, idr-once) */
	struct ks_rcu_head rcu;   /* delayed_put_pid() */
	void *task;               /* pid->tasks[PIDTYPE_PID]: ks_pid_set_task() */
	struct ks_upid numbers[]; /* [0] root .. [level] innermost */
};

struct ks_pid_ns {
	struct ks_pid_space *space;
	struct ks_pid_ns *parent;  /* NULL for the root */
	int level;
	int pid_max;               /* READ_ONCE()/WRITE_ONCE(): __atomic relaxed */
	/*
	 * The published pid whose innermost number is 1 in this namespace; set
	 * once by core after publication, read lock-free (the kernel reads
	 * tmp->child_reaper in alloc_pid() without pidmap_lock). Only compared
	 * with NULL and with a pid being freed, never dereferenced. The root
	 * starts with KS_PID_BOOT_REAPER: like init_pid_ns, its init exists
	 * from boot, so the "pid 1 first" rules concern nested namespaces.
	 */
	struct ks_pid *child_reaper;
	/*
	 * Live pids | KS_PIDNS_ADDING, as the kernel's ns->pid_allocated.
	 * Protected by the strategy's lock for this namespace.
	 */
	unsigned int pid_allocated;
	void *priv;                /* the strategy's per-namespace state */
	struct ks_pid_ns *next;    /* the space's list, for destroy (ns_lock) */
};

/* What ks_pid_alloc() asks of a strategy (arguments already checked). */
struct ks_pid_req {
	const int *set_tid;  /* NULL or entries [0]=innermost .. */
	int set_tid_size;    /* 0..level+1 */
	bool privileged;     /* KS_PID_ALLOC_PRIVILEGED */
	bool publish;        /* publish too (no KS_PID_ALLOC_NOPUBLISH) */
};

/*
 * struct ks_pid_ops - one strategy. Every hook is required unless marked
 * optional. "Under RCU" means the caller is in a read-side section.
 */
struct ks_pid_ops {
	struct ks_strategy_info info;
	unsigned int flags;   /* KS_PID_KERNEL_NUMBERING, ... */
	size_t upid_priv;     /* bytes per level appended to struct ks_pid */

	/* Per-space state into s->priv (global lock, hash, per-CPU data). */
	int (*space_init)(struct ks_pid_space *s);
	/* Free it; every namespace has had ns_fini() already. */
	void (*space_fini)(struct ks_pid_space *s);
	/* Per-namespace state into ns->priv; ns->pid_allocated is preset to
	 * KS_PIDNS_ADDING, ns->pid_max and ns->level set. Return 0/-ENOMEM. */
	int (*ns_init)(struct ks_pid_ns *ns);
	/* Free it (no pid is left in the namespace). */
	void (*ns_fini)(struct ks_pid_ns *ns);

	/*
	 * alloc - fill pid->numbers[i].nr for i = level..0 (numbers[i].ns is
	 * set by core) as the modelled alloc_pid() does: set_tid entries
	 * first, validated with ks_pid_check_tid() at the point the modelled
	 * kernel validates them, then automatic numbers. When req->publish,
	 * also publish (ks_pidns_adding() check -> -ENOMEM, then make every
	 * level visible) where the modelled kernel does. On error every
	 * number taken is released again (cursors may stay moved).
	 * Return 0, -EINVAL, -EPERM, -EEXIST, -EAGAIN, -ENOMEM.
	 */
	int (*alloc)(struct ks_pid *pid, const struct ks_pid_req *req);
	/*
	 * publish - a pid alloc()ed without publish: check that the innermost
	 * namespace still accepts pids (-ENOMEM, after releasing every
	 * number: nothing left behind), count it in pid_allocated, make every
	 * level visible. Return 0 or -ENOMEM.
	 */
	int (*publish)(struct ks_pid *pid);
	/* abort - release the numbers of an unpublished pid. */
	void (*abort)(struct ks_pid *pid);
	/*
	 * free - free_pid(): release the numbers of a published pid at every
	 * level at once, with the pid_allocated transitions
	 * (ks_pidns_dec_allocated()). core then call_rcu()s the reference.
	 */
	void (*free)(struct ks_pid *pid);
	/* lookup - under RCU: the published pid @nr of @ns, or NULL. */
	struct ks_pid *(*lookup)(struct ks_pid_ns *ns, int nr);
	/*
	 * find_ge - under RCU: the published pid with the smallest number >=
	 * *nr in @ns, its number stored in *nr; NULL when none.
	 */
	struct ks_pid *(*find_ge)(struct ks_pid_ns *ns, int *nr);
	/* last_pid - ns_last_pid as read (-1 before any allocation). */
	int (*last_pid)(const struct ks_pid_ns *ns);
	/* set_last_pid - ns_last_pid written (0..pid_max, checked by core). */
	void (*set_last_pid)(struct ks_pid_ns *ns, int last_pid);
	/* disable - disable_pid_allocation(): clear KS_PIDNS_ADDING. */
	void (*disable)(struct ks_pid_ns *ns);
	/* range_stats - optional (range strategies): ks_pid_ns_range_stats(). */
	void (*range_stats)(const struct ks_pid_ns *ns, struct ks_pid_range_stats *out);
};

/*
 * The strategies, in ks_pid_strategies() order: src/pid/strategies.h lists
 * them (X-macro KS_PID_STRATEGY(ident)); each file defines
 * const struct ks_pid_ops ks_pid_<ident>_ops.
 */
#define KS_PID_STRATEGY(ident) extern const struct ks_pid_ops ks_pid_##ident##_ops;
#include "pid/strategies.h"
#undef KS_PID_STRATEGY

struct ks_pid_space {
	const struct ks_pid_ops *ops;
	const struct ks_topo *topo;
	struct ks_lockstat *locks;
	struct ks_mem *mem;
	struct ks_lockstat *own_locks; /* created when opts->locks was NULL */
	struct ks_mem *own_mem;        /* created when opts->mem was NULL */
	int nr_cpus;                   /* topology's or opts->nr_cpus */
	int pid_max_min, pid_max_max;  /* write bounds of pid_max */
	struct ks_mem_type *pid_type;  /* "pid" */
	struct ks_mem_type *types[8];  /* types summed by ks_pid_stats() */
	int nr_types;
	struct ks_mutex ns_lock;       /* namespace list; not a hot path */
	bool ns_lock_ready;
	struct ks_pid_ns *root;
	struct ks_pid_ns *namespaces;  /* every namespace, newest first */
	int nr_namespaces;
	struct ks_percpu *pcpu;        /* struct ks_pid_pcpu_stats per CPU */
	void *priv;                    /* the strategy's per-space state */
};

/* ---- helpers core.c provides to strategies ---------------------------- */

/* Bytes of a struct ks_pid at @level with @upid_priv bytes per level. */
static inline size_t ks_pid_alloc_size(int level, size_t upid_priv)
{
	return sizeof(struct ks_pid) +
	       (size_t)(level + 1) * (sizeof(struct ks_upid) + upid_priv);
}

/* The strategy's block for level @i of @pid (ops->upid_priv bytes). */
static inline void *ks_pid_upid_priv(struct ks_pid *pid, int i)
{
	char *base = (char *)&pid->numbers[pid->level + 1];

	return base + (size_t)i * pid->space->ops->upid_priv;
}

/* READ_ONCE(ns->pid_max). */
static inline int ks_pidns_pid_max(const struct ks_pid_ns *ns)
{
	return __atomic_load_n(&ns->pid_max, __ATOMIC_RELAXED);
}

/* The namespace accepts new pids (ns->pid_allocated & PIDNS_ADDING). */
static inline bool ks_pidns_adding(const struct ks_pid_ns *ns)
{
	return __atomic_load_n(&ns->pid_allocated, __ATOMIC_RELAXED) & KS_PIDNS_ADDING;
}

/* Publication counted a pid: upid->ns->pid_allocated++. */
static inline void ks_pidns_inc_allocated(struct ks_pid_ns *ns)
{
	__atomic_store_n(&ns->pid_allocated,
			 __atomic_load_n(&ns->pid_allocated, __ATOMIC_RELAXED) + 1,
			 __ATOMIC_RELAXED);
}

/*
 * free_pid()'s switch (--ns->pid_allocated): when only PIDNS_ADDING is
 * left, the namespace's first process went away before it was set up as
 * init (a failed first fork), so the namespace is dead: pid_allocated = 0.
 */
static inline void ks_pidns_dec_allocated(struct ks_pid_ns *ns)
{
	unsigned int v = __atomic_load_n(&ns->pid_allocated, __ATOMIC_RELAXED) - 1;

	if (v == KS_PIDNS_ADDING)
		v = 0;
	__atomic_store_n(&ns->pid_allocated, v, __ATOMIC_RELAXED);
}

/* disable_pid_allocation(): ns->pid_allocated &= ~PIDNS_ADDING. */
static inline void ks_pidns_clear_adding(struct ks_pid_ns *ns)
{
	__atomic_store_n(&ns->pid_allocated,
			 __atomic_load_n(&ns->pid_allocated, __ATOMIC_RELAXED) &
				 ~KS_PIDNS_ADDING,
			 __ATOMIC_RELAXED);
}

/*
 * ks_pid_check_tid() - alloc_pid()'s checks of one set_tid entry @tid for
 * namespace @ns, in the kernel's order: tid < 1 || tid >= @pid_max -> -EINVAL;
 * tid != 1 && !ns->child_reaper -> -EINVAL; !@privileged -> -EPERM.
 * Strategies call it where the kernel they model does (6.18: per level
 * between allocations; 7.0: all levels before taking the lock).
 */
int ks_pid_check_tid(const struct ks_pid_ns *ns, int tid, int pid_max,
		     bool privileged);

/*
 * ks_pid_space_mem_type() - find or create ks_mem type @name in the space's
 * domain and count its live bytes in ks_pid_stats().bytes.
 * Return 0, -ENOSPC (more than 8 types), or ks_mem_type_get()'s errors.
 */
int ks_pid_space_mem_type(struct ks_pid_space *s, const char *name,
			  size_t objsize, struct ks_mem_type **out);

/* ks_pid_space_lock_class() - ks_lock_class_get() in the space's registry. */
int ks_pid_space_lock_class(struct ks_pid_space *s, const char *name,
			    enum ks_lock_scope scope, struct ks_lock_class **out);

#endif /* KSCALE_SRC_PID_INTERNAL_H */
