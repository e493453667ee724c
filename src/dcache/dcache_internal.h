/* SPDX-License-Identifier: MIT */
/*
 * Private to src/dcache: the objects behind the opaque handles of
 * <kscale/dcache.h> and the ops table of the superblock inode list
 * strategies (one file each: inode_list_global.c, inode_list_dlock.c).
 */
#ifndef KSCALE_DCACHE_INTERNAL_H
#define KSCALE_DCACHE_INTERNAL_H

#include <kscale/dcache.h>
#include <kscale/lock.h>
#include <kscale/mem.h>
#include <kscale/percpu.h>
#include <kscale/rcu.h>
#include <kscale/topo.h>

#define KS_READ_ONCE(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define KS_WRITE_ONCE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

/* A doubly linked list, as include/linux/list.h. */
struct ks_list {
	struct ks_list *next, *prev;
};

static inline void ks_list_init(struct ks_list *h)
{
	h->next = h;
	h->prev = h;
}

static inline bool ks_list_empty(const struct ks_list *h)
{
	return KS_READ_ONCE(h->next) == h;
}

static inline void ks_list_add_between(struct ks_list *n, struct ks_list *prev,
				       struct ks_list *next)
{
	n->next = next;
	n->prev = prev;
	next->prev = n;
	KS_WRITE_ONCE(prev->next, n);
}

static inline void ks_list_add(struct ks_list *n, struct ks_list *h)
{
	ks_list_add_between(n, h, h->next);
}

static inline void ks_list_add_tail(struct ks_list *n, struct ks_list *h)
{
	ks_list_add_between(n, h->prev, h);
}

/*
 * Unlink @n but leave n->next as it was: d_walk() may resume from a killed
 * child through its next pointer (dentry_unlist() in fs/dcache.c keeps it
 * valid for that reason).
 */
static inline void ks_list_del_keep_next(struct ks_list *n)
{
	n->next->prev = n->prev;
	KS_WRITE_ONCE(n->prev->next, n->next);
	n->prev = NULL;
}

static inline void ks_list_del_init(struct ks_list *n)
{
	n->next->prev = n->prev;
	KS_WRITE_ONCE(n->prev->next, n->next);
	ks_list_init(n);
}

/* ---- superblock inode list strategies -------------------------------- */

/*
 * An inode's node on the superblock list. @head is the per-CPU list it sits
 * on for `dlock` (dlock_list_node.head), unused by `global`.
 */
struct ks_ilist_node {
	struct ks_list list;
	void *head;
};

struct ks_inode_list_ops {
	const char *name; /* the text is in super.c strategy_infos[] */
	/* Set dc->ilist up (lock classes come from dc->locks). */
	int (*init)(struct ks_dcache *dc);
	void (*fini)(struct ks_dcache *dc);
	/* inode_sb_list_add() / inode_sb_list_del(). */
	void (*add)(struct ks_dcache *dc, struct ks_inode *inode);
	void (*del)(struct ks_dcache *dc, struct ks_inode *inode);
	/* Visit every inode with a list lock held; stop on nonzero. */
	int (*for_each)(struct ks_dcache *dc, int (*fn)(struct ks_inode *, void *), void *arg);
};

extern const struct ks_inode_list_ops ks_inode_list_global;
extern const struct ks_inode_list_ops ks_inode_list_dlock;

/* ---- objects ------------------------------------------------------------ */

/* The kernel's DNAME_INLINE_LEN on 64-bit: longer names go to "dentry_name". */
#define KS_DNAME_INLINE_LEN 40

/* d_flags, under d_lock (DCACHE_* in include/linux/dcache.h). */
#define KS_DCACHE_LRU_LIST 0x1u	     /* on the LRU or a shrink list */
#define KS_DCACHE_SHRINK_LIST 0x2u   /* on a private shrink list */
#define KS_DCACHE_REFERENCED 0x4u    /* used since it went on the LRU */
#define KS_DCACHE_DENTRY_KILLED 0x8u /* unlisted from its parent */
#define KS_DCACHE_MAY_FREE 0x10u     /* killed while on a shrink list */

struct ks_dentry {
	/*
	 * The lockref: bit 0 mirrors d_lock being held, the high 32 bits are
	 * the count (negative: dead). The lockless paths compare-and-swap the
	 * whole word only while bit 0 is clear, as lib/lockref.c's
	 * CMPXCHG_LOOP does with the spinlock embedded in the word; d_lock
	 * itself is a ks_spinlock so that lock_stat counts it.
	 */
	uint64_t d_lockref;
	struct ks_spinlock d_lock;
	unsigned int d_flags;
	uint32_t d_hash;
	struct ks_dentry *d_parent; /* immutable (no rename here) */
	struct ks_dcache *d_sb;
	struct ks_inode *d_inode;
	struct ks_dentry *d_hnext;   /* hash chain, RCU-walked */
	struct ks_dentry **d_hpprev; /* NULL when unhashed */
	struct ks_list d_child;	     /* in d_parent->d_subdirs */
	struct ks_list d_subdirs;
	struct ks_list d_lru; /* LRU or shrink list */
	const struct ks_dentry_operations *d_op;
	void *d_fsdata;
	int d_node; /* NUMA node: which LRU list */
	unsigned int d_name_len;
	char *d_name;
	struct ks_rcu_head d_rcu;
	char d_iname[KS_DNAME_INLINE_LEN];
};

#define KS_I_FREEING 0x1u

struct ks_inode {
	struct ks_spinlock i_lock;
	int i_count;
	unsigned int i_state; /* under i_lock */
	unsigned int i_mode;
	uint64_t i_ino;
	struct ks_dcache *i_sb;
	struct ks_dentry *i_dentry; /* its one alias, under i_lock */
	void *i_private;
	struct ks_ilist_node i_sb_list;
	struct ks_dcache_link i_user;
	struct ks_rwsem i_rwsem; /* directories only */
	struct ks_rcu_head i_rcu;
};

struct ks_hash_bucket {
	struct ks_spinlock lock;
	struct ks_dentry *first;
};

/* One NUMA node's LRU list (struct list_lru_one). */
struct ks_lru_node {
	struct ks_spinlock lock;
	struct ks_list list;
	long nr;
} ks_cacheline_aligned;

/* Per-CPU counters; several threads may share a CPU label: atomics. */
struct ks_dcache_pcpu {
	int64_t nr_dentry;
	int64_t nr_inodes;
	uint64_t lookups;
	uint64_t hits;
	uint64_t reval_fail;
	uint64_t creations;
	uint64_t killed;
	uint64_t evictions;
	uint64_t inode_allocs;
	uint64_t last_ino; /* get_next_ino()'s per-CPU last_ino */
};

struct ks_dcache {
	const struct ks_inode_list_ops *ilops;
	void *ilist;
	const struct ks_topo *topo;
	struct ks_lockstat *locks;
	struct ks_mem *mem;
	bool own_mem;
	int nr_cpus;
	int nr_nodes;
	struct ks_mem_type *t_dcache, *t_dentry, *t_name, *t_inode, *t_hash, *t_lru, *t_ilist;
	struct ks_lock_class *c_d_lock, *c_hash, *c_lru, *c_i_lock, *c_i_rwsem;
	unsigned int hash_bits;
	struct ks_hash_bucket *hash;
	struct ks_lru_node *lru;
	struct ks_percpu *pcpu;
	uint64_t shared_last_ino;
	struct ks_dentry *root;
	const struct ks_super_operations *s_op;
	void *fs_info;
};

static inline void ks_dcache_count(struct ks_dcache *dc, size_t off, int64_t v)
{
	char *p = ks_percpu_this(dc->pcpu);

	__atomic_fetch_add((int64_t *)(p + off), v, __ATOMIC_RELAXED);
}
#define KS_DC_COUNT(dc, field, v) ks_dcache_count(dc, offsetof(struct ks_dcache_pcpu, field), v)

/* dcache.c, for super.c: the root dentry (d_make_root()) and teardown. */
int ks_dcache_d_alloc_root(struct ks_dcache *dc, struct ks_dentry **out);
long ks_dcache_shrink_root(struct ks_dcache *dc);
int ks_dcache_kill_root(struct ks_dcache *dc);

#endif /* KSCALE_DCACHE_INTERNAL_H */
