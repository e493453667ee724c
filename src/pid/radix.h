/* SPDX-License-Identifier: MIT */
/*
 * A 64-way radix tree with an IDR_FREE tag per slot: the data structure under
 * the kernel's IDR (lib/idr.c, lib/radix-tree.c) and, since Linux 4.20 where
 * the radix tree became the XArray (lib/xarray.c), under the XArray too. One
 * implementation therefore serves idr-relock, idr-once and xarray; what
 * differs between them is the API on top (cursor rules, limits, errors) and
 * where nodes come from (idr_preload()'s per-CPU pool, or the XArray
 * dropping its lock to allocate).
 *
 * - Slots hold entries; an allocated slot may hold NULL (the IDR's NULL entry,
 *   the XArray's XA_ZERO_ENTRY): a placeholder, allocated but invisible to
 *   ks_radix_lookup() and ks_radix_find_ge().
 * - Each node has a bit per slot saying "there is a free index below" (the
 *   IDR_FREE tag), so the lowest free index >= start is found in
 *   O(64 * log64 n) bit operations (idr_get_free()).
 * - Readers (lookup, find_ge) take no lock: they must be inside an RCU
 *   read-side section; nodes are freed with ks_call_rcu().
 * - Writers are serialised by the caller's lock.
 *
 * Deviation: the kernel stores a lone entry at index 0 directly in the root;
 * here every entry lives in a leaf node.
 *
 * Cost to know when reading benchmarks: like delete_node() and
 * radix_tree_shrink(), a remove frees every node it empties and shrinks the
 * height while the root has one child in slot 0. In a namespace that holds
 * only its init and one pid that is allocated and freed in a loop, every
 * allocation therefore rebuilds the path to the cursor (measured: 4.76 node
 * allocations per alloc+free at pid_max 32768), each freed with call_rcu().
 * The kernel does the same in that state; a namespace with live pids spread
 * over its range keeps its upper nodes and churns about one leaf per 64
 * allocations (Wilcox: "only 1.6% of xa_alloc() calls result in calling
 * slab").
 */
#ifndef KSCALE_SRC_PID_RADIX_H
#define KSCALE_SRC_PID_RADIX_H

#include <kscale/lock.h>
#include <kscale/mem.h>
#include <kscale/rcu.h>
#include <kscale/percpu.h>

#define KS_RADIX_SHIFT 6
#define KS_RADIX_SLOTS (1 << KS_RADIX_SHIFT)
/*
 * RADIX_TREE_PRELOAD_SIZE = RADIX_TREE_MAX_PATH * 2 - 1 with 64-bit indexes
 * (lib/radix-tree.c): what idr_preload() keeps per CPU.
 */
#define KS_RADIX_PRELOAD_SIZE 21

struct ks_radix_node {
	unsigned char shift;  /* 0 for a leaf */
	unsigned char offset; /* slot in parent */
	unsigned char count;  /* allocated slots (leaf) or child nodes */
	struct ks_radix_node *parent;
	struct ks_mem_type *type;
	uint64_t free;        /* IDR_FREE: bit i set = a free index below slot i */
	struct ks_rcu_head rcu;
	void *slots[KS_RADIX_SLOTS];
};

/* struct radix_tree_root: the top node, published with release. */
struct ks_radix {
	struct ks_radix_node *node;
};

/* One CPU's idr_preload() pool (struct radix_tree_preload). */
struct ks_radix_preload {
	/* local_lock_t radix_tree_preloads.lock: held from preload to end */
	struct ks_spinlock lock;
	int nr;
	struct ks_radix_node *nodes; /* chained through ->parent */
};

struct ks_radix_preloads {
	struct ks_percpu *pcpu; /* struct ks_radix_preload per CPU */
	struct ks_mem_type *type;
};

/*
 * Where the nodes of one modification come from, in the kernel's order:
 * @spare (allocated by the caller outside its lock: xas_nomem()), then the
 * allocator (kmem_cache_alloc(GFP_ATOMIC|__GFP_NOWARN) inside the lock, as
 * radix_tree_node_alloc() and xas_alloc() try first), then @preload's pool.
 */
struct ks_radix_ctx {
	struct ks_mem_type *type;
	struct ks_radix_preload *preload;
	struct ks_radix_node *spare;
};

static inline void ks_radix_init(struct ks_radix *r)
{
	r->node = NULL;
}

/*
 * ks_radix_alloc() - the lowest free index in [@start, @max], which gets
 * @entry (NULL: a placeholder). idr_alloc_u32() over idr_get_free().
 * Return: 0 with *@id set; -ENOSPC when [@start, @max] is full; -ENOMEM
 * (nothing changed).
 */
int ks_radix_alloc(struct ks_radix *r, unsigned long start, unsigned long max,
		   void *entry, struct ks_radix_ctx *ctx, unsigned long *id);

/* ks_radix_allocated() - writer side: whether @index is allocated. */
bool ks_radix_allocated(const struct ks_radix *r, unsigned long index);

/*
 * ks_radix_replace() - store @entry at allocated @index (idr_replace()).
 * Return: 0, or -ENOENT when @index is not allocated.
 */
int ks_radix_replace(struct ks_radix *r, unsigned long index, void *entry);

/*
 * ks_radix_remove() - free @index (idr_remove()); empty nodes go after a
 * grace period. Return: 0, or -ENOENT when @index was not allocated.
 */
int ks_radix_remove(struct ks_radix *r, unsigned long index);

/* ks_radix_lookup() - under RCU: the entry at @index, NULL if none/placeholder. */
void *ks_radix_lookup(const struct ks_radix *r, unsigned long index);

/*
 * ks_radix_find_ge() - under RCU: the first non-NULL entry at an index >=
 * *@index, which gets its index (idr_get_next(), xa_find()). NULL if none.
 */
void *ks_radix_find_ge(const struct ks_radix *r, unsigned long *index);

/* ks_radix_destroy() - free every node at once (no reader may remain). */
void ks_radix_destroy(struct ks_radix *r);

/* ks_radix_node_new() - a node for ctx->spare, allocated outside any lock. */
struct ks_radix_node *ks_radix_node_new(struct ks_mem_type *type);
/* ks_radix_node_drop() - free an unused spare node. NULL ignored. */
void ks_radix_node_drop(struct ks_radix_node *n);

/*
 * Per-CPU preload pools. ks_radix_preload() is idr_preload(): lock this CPU's
 * pool and top it up to KS_RADIX_PRELOAD_SIZE nodes outside the caller's lock
 * (failures ignored, as the kernel ignores them); ks_radix_preload_end() is
 * idr_preload_end().
 */
int ks_radix_preloads_create(const struct ks_topo *t, struct ks_mem_type *type,
			     struct ks_lock_class *cls, struct ks_radix_preloads *p);
void ks_radix_preloads_destroy(struct ks_radix_preloads *p);
struct ks_radix_preload *ks_radix_preload(struct ks_radix_preloads *p);
void ks_radix_preload_end(struct ks_radix_preload *pl);

#endif /* KSCALE_SRC_PID_RADIX_H */
