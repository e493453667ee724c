/* SPDX-License-Identifier: MIT */
/*
 * What idr-relock (Linux 6.18) and idr-once (Linux 7.0) share: a struct idr
 * per namespace (lib/idr.c: a radix tree with IDR_FREE tags plus the cyclic
 * cursor idr_next), one global pidmap_lock guarding every namespace's IDR and
 * pid_allocated, idr_preload()'s per-CPU node pools, lookups, free_pid() and
 * the ns_last_pid cursor. The two differ only in alloc_pid().
 */
#ifndef KSCALE_SRC_PID_IDR_H
#define KSCALE_SRC_PID_IDR_H

#include "pid/pid_internal.h"
#include "pid/radix.h"

/* lib/idr.c struct idr (idr_base is 0 for pids and left out). */
struct ks_idr {
	struct ks_radix rt;
	unsigned int next; /* idr_next: READ_ONCE/WRITE_ONCE */
};

struct ks_idr_space {
	/* static __cacheline_aligned_in_smp DEFINE_SPINLOCK(pidmap_lock) */
	struct ks_spinlock pidmap_lock ks_cacheline_aligned;
	struct ks_radix_preloads preloads;
	struct ks_mem_type *node_type; /* "idr_node" (radix_tree_node) */
	struct ks_mem_type *idr_type;  /* "idr": struct ks_idr per namespace */
	/*
	 * pidfs (6.18 fs/pidfs.c pidfs_add_pid()): every pid gets a u64 inode
	 * number from a counter under pidmap_lock. The kernel also inserts the
	 * pid into an rb-tree keyed by ino there (rb_find_add_rcu() under
	 * pidmap_lock_seq); kscale keeps only the counter: the tree's nodes are
	 * embedded in struct pid and allocate nothing, and a stand-in that
	 * allocates would overcharge idr-relock. idr-once (7.0) takes pidfs
	 * out of the lock (per-CPU cookies, an rhashtable) and skips this.
	 */
	bool pidfs_under_lock;
	uint64_t ino_next;
};

static inline struct ks_idr_space *ks_idr_space(const struct ks_pid_space *s)
{
	return s->priv;
}

static inline struct ks_idr *ks_idr_of(const struct ks_pid_ns *ns)
{
	return ns->priv;
}

/* idr_get_cursor() / idr_set_cursor() */
static inline unsigned int ks_idr_get_cursor(const struct ks_idr *idr)
{
	return __atomic_load_n(&idr->next, __ATOMIC_RELAXED);
}

static inline void ks_idr_set_cursor(struct ks_idr *idr, unsigned int v)
{
	__atomic_store_n(&idr->next, v, __ATOMIC_RELAXED);
}

/* A radix context drawing on @pl (this CPU's locked preload pool). */
static inline struct ks_radix_ctx ks_idr_ctx(struct ks_idr_space *is,
					     struct ks_radix_preload *pl)
{
	struct ks_radix_ctx ctx = { .type = is->node_type, .preload = pl };

	return ctx;
}

/*
 * idr_alloc(): lowest free id in [@start, @end - 1] (@end <= 0: INT_MAX),
 * storing a NULL placeholder. Return: the id, -ENOSPC, -ENOMEM.
 */
int ks_idr_alloc(struct ks_idr *idr, struct ks_radix_ctx *ctx, int start, int end);
/*
 * idr_alloc_cyclic(): from the cursor, wrapping once to @start on -ENOSPC;
 * cursor = id + 1 on success, untouched on error.
 */
int ks_idr_alloc_cyclic(struct ks_idr *idr, struct ks_radix_ctx *ctx, int start,
			int end);


/* Shared ops. */
int ks_idr_space_init(struct ks_pid_space *s, bool pidfs_under_lock);
void ks_idr_space_fini(struct ks_pid_space *s);
int ks_idr_ns_init(struct ks_pid_ns *ns);
void ks_idr_ns_fini(struct ks_pid_ns *ns);
void ks_idr_free(struct ks_pid *pid);
struct ks_pid *ks_idr_lookup(struct ks_pid_ns *ns, int nr);
struct ks_pid *ks_idr_find_ge(struct ks_pid_ns *ns, int *nr);
int ks_idr_last_pid(const struct ks_pid_ns *ns);
void ks_idr_set_last_pid(struct ks_pid_ns *ns, int last_pid);
void ks_idr_disable(struct ks_pid_ns *ns);

/*
 * The out_free path under pidmap_lock: remove levels @from..level of @pid
 * (idr_remove()). Caller holds pidmap_lock.
 */
void ks_idr_remove_levels(struct ks_pid *pid, int from);
/*
 * The publication under pidmap_lock (caller holds it): -ENOMEM when the
 * innermost namespace's init is dead; else pidfs (when under the lock),
 * idr_replace() innermost to root and pid_allocated++ per level.
 */
int ks_idr_publish_locked(struct ks_idr_space *is, struct ks_radix_ctx *ctx,
			  struct ks_pid *pid);

#endif /* KSCALE_SRC_PID_IDR_H */
