// SPDX-License-Identifier: MIT
/*
 * The radix tree with IDR_FREE tags under idr-relock, idr-once and xarray.
 * Models lib/radix-tree.c (idr_get_free(), radix_tree_node_alloc(),
 * radix_tree_extend(), delete_node(), radix_tree_shrink(), idr_preload()) and
 * lib/xarray.c (xas_find(), xas_alloc()), Linux 6.18. See radix.h.
 */
#include "pid/radix.h"

#include <errno.h>
#include <string.h>

#define ALL_FREE (~0ULL)

static unsigned long node_span(unsigned int shift)
{
	return (unsigned long)KS_RADIX_SLOTS << shift;
}

/* The height a tree needs for @index: the smallest shift covering it. */
static unsigned int shift_for(unsigned long index)
{
	unsigned int shift = 0;

	while (index >= node_span(shift))
		shift += KS_RADIX_SHIFT;
	return shift;
}

static void node_init(struct ks_radix_node *n, struct ks_mem_type *type)
{
	memset(n, 0, sizeof(*n));
	n->type = type;
	n->free = ALL_FREE;
}

struct ks_radix_node *ks_radix_node_new(struct ks_mem_type *type)
{
	struct ks_radix_node *n = ks_mem_alloc(type, sizeof(*n));

	if (n)
		node_init(n, type);
	return n;
}

void ks_radix_node_drop(struct ks_radix_node *n)
{
	if (n)
		ks_mem_free(n->type, n, sizeof(*n));
}

static void node_free_rcu(struct ks_rcu_head *head)
{
	ks_radix_node_drop(ks_container_of(head, struct ks_radix_node, rcu));
}

/* Readers may still walk @n: free it after a grace period. */
static void node_retire(struct ks_radix_node *n)
{
	if (ks_call_rcu(&n->rcu, node_free_rcu)) {
		ks_rcu_synchronize();
		ks_radix_node_drop(n);
	}
}

/*
 * radix_tree_node_alloc() with GFP_ATOMIC under the caller's lock: the
 * spare from outside the lock first (xas->xa_alloc), then the allocator,
 * then the preloaded pool.
 */
static struct ks_radix_node *node_get(struct ks_radix_ctx *ctx)
{
	struct ks_radix_node *n = ctx->spare;

	if (n) {
		ctx->spare = NULL;
		node_init(n, ctx->type);
		return n;
	}
	n = ks_radix_node_new(ctx->type);
	if (n)
		return n;
	if (ctx->preload && ctx->preload->nr) {
		n = ctx->preload->nodes;
		ctx->preload->nodes = n->parent;
		ctx->preload->nr--;
		node_init(n, ctx->type);
	}
	return n;
}

/* Give back nodes reserved but not used: to the pool when it has room. */
static void node_put_back(struct ks_radix_ctx *ctx, struct ks_radix_node *n)
{
	struct ks_radix_preload *pl = ctx->preload;

	if (pl && pl->nr < KS_RADIX_PRELOAD_SIZE) {
		n->parent = pl->nodes;
		pl->nodes = n;
		pl->nr++;
	} else {
		ks_radix_node_drop(n);
	}
}

static struct ks_radix_node *load_slot(const struct ks_radix_node *n, int i)
{
	return __atomic_load_n((struct ks_radix_node *const *)&n->slots[i],
			       __ATOMIC_ACQUIRE);
}

static void store_slot(struct ks_radix_node *n, int i, void *v)
{
	__atomic_store_n(&n->slots[i], v, __ATOMIC_RELEASE);
}

static int slot_of(const struct ks_radix_node *n, unsigned long index)
{
	return (index >> n->shift) & (KS_RADIX_SLOTS - 1);
}

/* ---- allocation (writer side, under the caller's lock) ---------------- */

/*
 * The lowest free index in [@start, @max] below @n (which covers
 * [@base, @base + span)), or -1. idr_get_free()'s descent: skip slots whose
 * IDR_FREE bit is clear; an absent child is entirely free.
 */
static long node_find_free(const struct ks_radix_node *n, unsigned long base,
			   unsigned long start, unsigned long max)
{
	unsigned int first = start > base ? (start - base) >> n->shift : 0;
	uint64_t bits;

	if (first >= KS_RADIX_SLOTS)
		return -1;
	bits = n->free & (ALL_FREE << first);
	while (bits) {
		int i = __builtin_ctzll(bits);
		unsigned long cbase = base + ((unsigned long)i << n->shift);
		unsigned long lo = start > cbase ? start : cbase;
		const struct ks_radix_node *child;
		long r;

		if (cbase > max)
			return -1;
		if (!n->shift)
			return (long)cbase;
		child = n->slots[i];
		if (!child)
			return (long)lo;
		r = node_find_free(child, cbase, lo, max);
		if (r >= 0)
			return r;
		bits &= bits - 1;
	}
	return -1;
}

static long find_free(const struct ks_radix *r, unsigned long start,
		      unsigned long max)
{
	const struct ks_radix_node *n = r->node;
	unsigned long cap;
	long id;

	if (start > max)
		return -1;
	if (!n)
		return (long)start;
	cap = node_span(n->shift) - 1;
	if (start > cap)
		return (long)start;
	id = node_find_free(n, 0, start, max < cap ? max : cap);
	if (id >= 0)
		return id;
	/* everything above the tree's reach is free: radix_tree_extend() */
	return max > cap ? (long)cap + 1 : -1;
}

/* Nodes an insertion at @index may need: exact when the tree is tall enough
 * (the common case: 0), an upper bound when it must grow. */
static int nodes_needed(const struct ks_radix *r, unsigned long index)
{
	const struct ks_radix_node *n = r->node;
	unsigned int shift = shift_for(index);

	if (!n)
		return shift / KS_RADIX_SHIFT + 1;
	if (n->shift < shift)
		return (shift - n->shift) / KS_RADIX_SHIFT + shift / KS_RADIX_SHIFT + 1;
	while (n->shift) {
		const struct ks_radix_node *child = n->slots[slot_of(n, index)];

		if (!child)
			return n->shift / KS_RADIX_SHIFT;
		n = child;
	}
	return 0;
}

/* Clear IDR_FREE upwards while nodes become full. */
static void mark_full_up(struct ks_radix_node *n)
{
	while (!n->free && n->parent) {
		n->parent->free &= ~(1ULL << n->offset);
		n = n->parent;
	}
}

/* Set IDR_FREE upwards (a slot below became free). */
static void mark_free_up(struct ks_radix_node *n)
{
	while (n->parent) {
		uint64_t bit = 1ULL << n->offset;

		if (n->parent->free & bit)
			break;
		n->parent->free |= bit;
		n = n->parent;
	}
}

/* Insert @entry at free @index with the reserved nodes @pool[*used..]. */
static void insert(struct ks_radix *r, unsigned long index, void *entry,
		   struct ks_radix_node **pool, int *used)
{
	unsigned int want = shift_for(index);
	struct ks_radix_node *n = r->node;
	int i;

	if (!n) {
		n = pool[(*used)++];
		n->shift = want;
		__atomic_store_n(&r->node, n, __ATOMIC_RELEASE);
	}
	/* radix_tree_extend(): new roots above, the old root in slot 0 */
	while (n->shift < want) {
		struct ks_radix_node *top = pool[(*used)++];

		top->shift = n->shift + KS_RADIX_SHIFT;
		top->count = 1;
		top->slots[0] = n;
		if (!n->free)
			top->free &= ~1ULL;
		n->parent = top;
		n->offset = 0;
		__atomic_store_n(&r->node, top, __ATOMIC_RELEASE);
		n = top;
	}
	while (n->shift) {
		struct ks_radix_node *child;

		i = slot_of(n, index);
		child = n->slots[i];
		if (!child) {
			child = pool[(*used)++];
			child->shift = n->shift - KS_RADIX_SHIFT;
			child->parent = n;
			child->offset = i;
			n->count++;
			store_slot(n, i, child);
		}
		n = child;
	}
	i = slot_of(n, index);
	store_slot(n, i, entry);
	n->free &= ~(1ULL << i);
	n->count++;
	mark_full_up(n);
}

int ks_radix_alloc(struct ks_radix *r, unsigned long start, unsigned long max,
		   void *entry, struct ks_radix_ctx *ctx, unsigned long *id)
{
	struct ks_radix_node *pool[2 * (64 / KS_RADIX_SHIFT + 1)];
	int need, got, used = 0;
	long found;

	found = find_free(r, start, max);
	if (found < 0)
		return -ENOSPC;
	/*
	 * Take every node the insertion needs before changing anything, so
	 * that -ENOMEM leaves the tree as it was (the kernel may leave empty
	 * nodes behind; the numbers are the same).
	 */
	need = nodes_needed(r, (unsigned long)found);
	for (got = 0; got < need; got++) {
		pool[got] = node_get(ctx);
		if (!pool[got]) {
			while (got--)
				node_put_back(ctx, pool[got]);
			return -ENOMEM;
		}
	}
	insert(r, (unsigned long)found, entry, pool, &used);
	while (used < got)
		node_put_back(ctx, pool[used++]);
	*id = (unsigned long)found;
	return 0;
}

/* The leaf covering @index, or NULL (writer side). */
static struct ks_radix_node *leaf_of(const struct ks_radix *r, unsigned long index)
{
	struct ks_radix_node *n = r->node;

	if (!n || index > node_span(n->shift) - 1)
		return NULL;
	while (n && n->shift)
		n = n->slots[slot_of(n, index)];
	return n;
}

bool ks_radix_allocated(const struct ks_radix *r, unsigned long index)
{
	const struct ks_radix_node *n = leaf_of(r, index);

	return n && !(n->free & (1ULL << slot_of(n, index)));
}

int ks_radix_replace(struct ks_radix *r, unsigned long index, void *entry)
{
	struct ks_radix_node *n = leaf_of(r, index);

	if (!n || (n->free & (1ULL << slot_of(n, index))))
		return -ENOENT;
	store_slot(n, slot_of(n, index), entry);
	return 0;
}

/*
 * radix_tree_shrink(): while the root has a single child in slot 0, that
 * child becomes the root. Readers still on the old root see NULL beyond the
 * child's reach, which is right: nothing is there.
 */
static void shrink(struct ks_radix *r)
{
	struct ks_radix_node *n = r->node;

	while (n && n->shift && n->count == 1 && n->slots[0]) {
		struct ks_radix_node *child = n->slots[0];

		child->parent = NULL;
		__atomic_store_n(&r->node, child, __ATOMIC_RELEASE);
		node_retire(n);
		n = child;
	}
}

int ks_radix_remove(struct ks_radix *r, unsigned long index)
{
	struct ks_radix_node *n = leaf_of(r, index);
	int i;

	if (!n)
		return -ENOENT;
	i = slot_of(n, index);
	if (n->free & (1ULL << i))
		return -ENOENT;
	store_slot(n, i, NULL);
	n->free |= 1ULL << i;
	n->count--;
	mark_free_up(n);
	/* delete_node(): empty nodes leave the tree, freed after a GP */
	while (!n->count) {
		struct ks_radix_node *parent = n->parent;

		if (!parent) {
			__atomic_store_n(&r->node, NULL, __ATOMIC_RELEASE);
			node_retire(n);
			return 0;
		}
		store_slot(parent, n->offset, NULL);
		parent->count--;
		node_retire(n);
		n = parent;
	}
	shrink(r);
	return 0;
}

/* ---- readers (under RCU) ---------------------------------------------- */

void *ks_radix_lookup(const struct ks_radix *r, unsigned long index)
{
	const struct ks_radix_node *n = __atomic_load_n(&r->node, __ATOMIC_ACQUIRE);

	if (!n || index > node_span(n->shift) - 1)
		return NULL;
	while (n->shift) {
		n = load_slot(n, slot_of(n, index));
		if (!n)
			return NULL;
	}
	return load_slot(n, slot_of(n, index));
}

static void *node_find_present(const struct ks_radix_node *n, unsigned long base,
			       unsigned long start, unsigned long *index)
{
	unsigned int first = start > base ? (start - base) >> n->shift : 0;

	for (unsigned int i = first; i < KS_RADIX_SLOTS; i++) {
		unsigned long cbase = base + ((unsigned long)i << n->shift);
		void *v = load_slot(n, i);

		if (!v)
			continue;
		if (!n->shift) {
			*index = cbase;
			return v;
		}
		v = node_find_present(v, cbase, start > cbase ? start : cbase, index);
		if (v)
			return v;
	}
	return NULL;
}

void *ks_radix_find_ge(const struct ks_radix *r, unsigned long *index)
{
	const struct ks_radix_node *n = __atomic_load_n(&r->node, __ATOMIC_ACQUIRE);

	if (!n || *index > node_span(n->shift) - 1)
		return NULL;
	return node_find_present(n, 0, *index, index);
}

static void node_destroy(struct ks_radix_node *n)
{
	if (n->shift) {
		for (int i = 0; i < KS_RADIX_SLOTS; i++)
			if (n->slots[i])
				node_destroy(n->slots[i]);
	}
	ks_radix_node_drop(n);
}

void ks_radix_destroy(struct ks_radix *r)
{
	if (r->node)
		node_destroy(r->node);
	r->node = NULL;
}

/* ---- idr_preload() ----------------------------------------------------- */

int ks_radix_preloads_create(const struct ks_topo *t, struct ks_mem_type *type,
			     struct ks_lock_class *cls, struct ks_radix_preloads *p)
{
	int err, nr;

	p->type = type;
	err = ks_percpu_alloc(t, sizeof(struct ks_radix_preload), &p->pcpu);
	if (err)
		return err;
	nr = ks_percpu_nr(p->pcpu);
	for (int cpu = 0; cpu < nr; cpu++) {
		struct ks_radix_preload *pl = ks_percpu_ptr(p->pcpu, cpu);

		ks_spin_init(&pl->lock, cls);
	}
	return 0;
}

void ks_radix_preloads_destroy(struct ks_radix_preloads *p)
{
	int nr;

	if (!p->pcpu)
		return;
	nr = ks_percpu_nr(p->pcpu);
	for (int cpu = 0; cpu < nr; cpu++) {
		struct ks_radix_preload *pl = ks_percpu_ptr(p->pcpu, cpu);

		while (pl->nodes) {
			struct ks_radix_node *n = pl->nodes;

			pl->nodes = n->parent;
			ks_radix_node_drop(n);
		}
		ks_spin_destroy(&pl->lock);
	}
	ks_percpu_free(p->pcpu);
	p->pcpu = NULL;
}

struct ks_radix_preload *ks_radix_preload(struct ks_radix_preloads *p)
{
	struct ks_radix_preload *pl = ks_percpu_this(p->pcpu);

	/*
	 * __radix_tree_preload(): fill this CPU's pool with GFP_KERNEL; the
	 * kernel drops the local lock around each allocation, we allocate
	 * while holding it (the pool is this CPU's, nobody else waits).
	 */
	ks_spin_lock(&pl->lock);
	while (pl->nr < KS_RADIX_PRELOAD_SIZE) {
		struct ks_radix_node *n = ks_radix_node_new(p->type);

		if (!n)
			break; /* idr_preload() ignores the failure */
		n->parent = pl->nodes;
		pl->nodes = n;
		pl->nr++;
	}
	return pl;
}

void ks_radix_preload_end(struct ks_radix_preload *pl)
{
	ks_spin_unlock(&pl->lock);
}
