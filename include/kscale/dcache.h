/* SPDX-License-Identifier: MIT */
/*
 * dcache: a dentry cache and an inode list on one superblock, modelled on
 * Linux 6.18 fs/dcache.c, fs/inode.c, lib/lockref.c and mm/list_lru.c.
 *
 * A struct ks_dcache is one superblock: its root dentry, its dentries (name,
 * parent, children, a hash keyed by (parent, name) with a lock per bucket,
 * lock-free lookup under RCU, a lockref each), a dentry LRU with one list and
 * lock per NUMA node (list_lru), and its inodes on the superblock inode list.
 * The inode list is the part whose algorithm is selectable by name
 * (ks_dcache_strategies()): `global` is Linux's one list under
 * s_inode_list_lock, `dlock` is Waiman Long's per-CPU dlock list.
 *
 * Inodes follow procfs's rules (fs/proc/inode.c): an inode has exactly one
 * dentry and lives exactly as long as it (drop_inode is generic_delete_inode:
 * when its dentry is killed, the inode is evicted at once). Every object is
 * allocated through ks_mem (types "dentry", "dentry_name", "proc_inode",
 * "dcache_hash", "list_lru", "inode_list", "dcache"; the `dlock` list heads
 * and the per-CPU counters come from ks_percpu, unaccounted), and dentries and inodes
 * are freed after an RCU grace period, as the kernel's dentry_free() and
 * i_callback() do. The kernel's sizes for the same objects (measured with
 * /proc/slabinfo on Linux 6.18.44) are KS_KERNEL_DENTRY_SIZE and
 * KS_KERNEL_PROC_INODE_SIZE; ks_dcache_stats() reports both.
 *
 * The user of the dcache (procfs, a test) supplies dentry operations
 * (d_revalidate, d_delete, d_release) with a private pointer per dentry, an
 * evict_inode hook per superblock, a private pointer per inode, and a list
 * node per inode it may use freely (procfs keeps its per-pid inode lists on
 * it, as fs/proc does with proc_inode.sibling_inodes).
 *
 * References. Every function that takes a dentry needs the caller to hold a
 * reference to it (from ks_d_root(), a lookup, ks_d_alloc() or ks_dget()).
 * A dentry found with no reference (count 0: it sits unused on the LRU) or
 * dead (killed, waiting for its grace period) gives -EINVAL, so a double put
 * is reported rather than corrupting the count; memory already freed cannot
 * be checked (AddressSanitizer catches that).
 *
 * Threads. Every function needs a thread registered with
 * ks_rcu_register_thread(); the functions that may free objects
 * (ks_dput(), ks_iput(), ks_d_invalidate(), ks_shrink_dcache_parent(),
 * ks_dcache_prune()) may be called inside an RCU read-side section (frees
 * are deferred with ks_call_rcu()); ks_dcache_create() and
 * ks_dcache_destroy() may not.
 */
#ifndef KSCALE_DCACHE_H
#define KSCALE_DCACHE_H

#include <kscale/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ks_topo;
struct ks_lockstat;
struct ks_mem;
struct ks_dcache; /* opaque: one superblock and its dentry cache */
struct ks_dentry; /* opaque */
struct ks_inode;  /* opaque */

/** Longest name of a dentry, as the kernel's NAME_MAX. */
#define KS_NAME_MAX 255

/* Slab slot sizes on Linux 6.18.44 (x86-64, SLUB), from /proc/slabinfo. */
#define KS_KERNEL_DENTRY_SIZE 192
#define KS_KERNEL_PROC_INODE_SIZE 696

/* Flags passed to d_revalidate. */
#define KS_LOOKUP_RCU 0x1 /* called under RCU, without a reference */

/**
 * struct ks_dentry_operations - what the user of the dcache decides.
 * @d_revalidate: called on every cached lookup hit. First with KS_LOOKUP_RCU
 *	(inside an RCU read-side section, no reference held: it must not sleep
 *	or free); returning -ECHILD there asks to be called again with a
 *	reference held and flags 0 (as fs/proc/fd.c tid_fd_revalidate() does).
 *	Return 1 when the dentry is still valid, 0 when it is stale (the
 *	dcache then invalidates it and the lookup misses), or another negative
 *	errno, which the lookup returns. NULL: always valid.
 * @d_delete: called when the last reference goes; nonzero means "do not
 *	keep it on the LRU, kill it now" (pid_delete_dentry()). NULL: keep.
 * @d_release: called once when the dentry is killed, before its grace
 *	period (to drop what @priv holds). An RCU lookup may still call
 *	d_revalidate with this @priv until a grace period has passed, so
 *	free it with ks_call_rcu(), as the kernel's d_release users do.
 *	NULL: nothing.
 *
 * @priv is the pointer given to ks_d_add() for this dentry (d_fsdata).
 */
struct ks_dentry_operations {
	int (*d_revalidate)(struct ks_dentry *dentry, unsigned int flags, void *priv);
	int (*d_delete)(const struct ks_dentry *dentry, void *priv);
	void (*d_release)(struct ks_dentry *dentry, void *priv);
};

/**
 * struct ks_super_operations - per-superblock hooks.
 * @evict_inode: called when an inode is evicted, after it left the
 *	superblock's inode list and before its grace period (as
 *	proc_evict_inode() drops the pid and unlinks sibling_inodes). @ipriv is
 *	the inode's private pointer, @fs_info the superblock's. NULL: nothing.
 */
struct ks_super_operations {
	void (*evict_inode)(struct ks_inode *inode, void *ipriv, void *fs_info);
};

/**
 * struct ks_dcache_opts - options of ks_dcache_create(); {0} gives defaults.
 * @topo:      topology for per-CPU lists and counters and for the LRU's NUMA
 *             nodes (NULL: ks_topo_default()). Must outlive the dcache.
 * @locks:     lock_stat registry for the lock classes (NULL: uncounted).
 * @mem:       accounting domain (NULL: a private domain owned by the
 *             dcache, destroyed with it).
 * @hash_bits: log2 of the number of hash buckets, 4..24 (0: 14).
 * @s_op:      superblock hooks (NULL: none).
 * @fs_info:   passed to @s_op hooks.
 */
struct ks_dcache_opts {
	const struct ks_topo *topo;
	struct ks_lockstat *locks;
	struct ks_mem *mem;
	unsigned int hash_bits;
	const struct ks_super_operations *s_op;
	void *fs_info;
};

/**
 * struct ks_dcache_stats - counts of one dcache, summed over CPUs.
 * @dentries:        dentries allocated and not yet killed (nr_dentry).
 * @dentries_unused: of those, on the LRU with no reference (nr_unused).
 * @inodes:          inodes on the superblock's inode list.
 * @bytes:           our live bytes in the dcache's ks_mem types (objects
 *                   waiting for a grace period included; the types are
 *                   shared by every dcache of one ks_mem domain).
 * @kernel_bytes:    what @dentries and @inodes occupy in the kernel's slabs
 *                   (KS_KERNEL_DENTRY_SIZE and KS_KERNEL_PROC_INODE_SIZE).
 * @dentry_size:     sizeof our dentry; @inode_size likewise.
 * @lookups:         cached lookups (ks_d_lookup() and the first step of
 *                   ks_d_lookup_or_create()); @lookup_hits of them found a
 *                   valid dentry.
 * @revalidate_failures: d_revalidate said stale (0).
 * @creations:       dentries instantiated by ks_d_lookup_or_create().
 * @dentries_killed: cumulative dentries killed (__dentry_kill()).
 * @evictions:       cumulative inodes evicted.
 * @inode_allocs:    cumulative inodes allocated.
 */
struct ks_dcache_stats {
	int64_t dentries;
	int64_t dentries_unused;
	int64_t inodes;
	int64_t bytes;
	int64_t kernel_bytes;
	size_t dentry_size;
	size_t inode_size;
	uint64_t lookups;
	uint64_t lookup_hits;
	uint64_t revalidate_failures;
	uint64_t creations;
	uint64_t dentries_killed;
	uint64_t evictions;
	uint64_t inode_allocs;
};

/**
 * ks_dcache_strategies() - the superblock inode list strategies.
 * @n: receives the number of entries (may be NULL).
 *
 * Context: any. Return: a static array of name, summary and source.
 */
const struct ks_strategy_info *ks_dcache_strategies(size_t *n);

/**
 * ks_dcache_create() - a superblock with its root dentry and root inode.
 * @strategy: inode list strategy name ("global", "dlock"); NULL: "global".
 * @opts:     options (NULL: all defaults).
 * @out:      receives the dcache.
 *
 * Context: a registered RCU thread outside read-side sections; may sleep.
 * Return: 0; -EINVAL for NULL @out or @hash_bits outside 4..24; -ENOENT for
 * an unknown @strategy; -EPERM for a thread not registered with RCU;
 * -EDEADLK inside an RCU read-side section; -ENOMEM; errors of ks_lock_class_get() (-ENOSPC
 * when the lock_stat registry is full) and ks_mem_type_get().
 */
int ks_dcache_create(const char *strategy, const struct ks_dcache_opts *opts,
		     struct ks_dcache **out);

/**
 * ks_dcache_destroy() - shrink every dentry and free the superblock
 * (shrink_dcache_for_umount()). Nothing but the dcache itself may hold a
 * reference to a dentry or an inode of it; then every dentry and inode is
 * killed, a barrier waits for their grace periods and everything is freed.
 * @dc: the dcache.
 *
 * Context: a registered RCU thread outside any read-side section; sleeps.
 * Return: 0; -EINVAL for NULL; -EPERM for a thread not registered with RCU;
 * -EBUSY when a dentry or inode is still
 * referenced (the unused ones are freed, the dcache stays usable);
 * -EDEADLK inside an RCU read-side section.
 */
int ks_dcache_destroy(struct ks_dcache *dc);

/**
 * ks_dcache_strategy() - the inode list strategy name of @dc, or NULL.
 */
const char *ks_dcache_strategy(const struct ks_dcache *dc);

/**
 * ks_dcache_stats() - snapshot the counts.
 * Context: any thread. Return: 0; -EINVAL for NULL arguments.
 */
int ks_dcache_stats(const struct ks_dcache *dc, struct ks_dcache_stats *out);

/**
 * ks_dcache_nr_nodes() - number of LRU lists (NUMA nodes of the topology).
 * Context: any thread.
 * Return: >= 1, or -EINVAL for NULL.
 */
int ks_dcache_nr_nodes(const struct ks_dcache *dc);

/**
 * ks_dcache_lru_count() - unused dentries on NUMA node @node's LRU list.
 * Context: any thread (a racy snapshot, as list_lru_count_node()).
 * Return: the count; -EINVAL for NULL @dc or @node out of range.
 */
long ks_dcache_lru_count(const struct ks_dcache *dc, int node);

/**
 * ks_dcache_prune() - reclaim up to @nr_to_scan LRU entries of NUMA node
 * @node, as the superblock shrinker does (prune_dcache_sb(): referenced
 * dentries get a second chance, dentries in use are dropped from the LRU,
 * the rest are killed with their inodes).
 * @dc: dcache. @node: 0..nr_nodes-1, or -1 for every node. @nr_to_scan: > 0.
 *
 * Context: a registered RCU thread. Return: the number of dentries killed;
 * -EINVAL for NULL @dc, a bad @node or @nr_to_scan 0; -EPERM for a thread
 * not registered with RCU.
 */
long ks_dcache_prune(struct ks_dcache *dc, int node, unsigned long nr_to_scan);

/**
 * ks_dcache_for_each_inode() - call @fn on every inode on the superblock's
 * inode list (evict_inodes()-style iteration): `global` holds
 * s_inode_list_lock across the whole walk, `dlock` holds one per-CPU list's
 * lock at a time. Inodes added or removed concurrently may or may not be
 * seen; every inode present throughout the walk is seen exactly once.
 * @fn: called with a list lock held: it must not call into this dcache.
 *      A nonzero return stops the walk and is returned.
 *
 * Context: a registered RCU thread. Return: 0 after a full walk; @fn's
 * nonzero return; -EINVAL for NULL @dc or @fn.
 */
int ks_dcache_for_each_inode(struct ks_dcache *dc, int (*fn)(struct ks_inode *inode, void *arg),
			     void *arg);

/* ---- dentries ---------------------------------------------------------- */

/**
 * ks_d_root() - a new reference to the root dentry.
 * Context: a registered RCU thread; lockless (lockref).
 * Return: 0; -EINVAL for NULL arguments; -EPERM for a thread not registered
 * with RCU.
 */
int ks_d_root(struct ks_dcache *dc, struct ks_dentry **out);

/**
 * ks_dget() - take one more reference (dget(): lockref_get()).
 * Context: a registered RCU thread; lockless unless d_lock is held elsewhere.
 * Return: 0; -EINVAL for NULL or a dentry with no reference or dead; -EPERM
 * for a thread not registered with RCU.
 */
int ks_dget(struct ks_dentry *dentry);

/**
 * ks_dput() - drop a reference (dput(): fast_dput(), retain_dentry(),
 * __dentry_kill()). At zero, the dentry stays cached on its node's LRU when
 * it is hashed and d_delete does not object; otherwise it is killed (with its
 * inode), which drops the reference it held on its parent, and so on up.
 * Context: a registered RCU thread, read-side sections allowed; takes d_lock,
 * lru_lock, hash bucket, i_lock and s_inode_list_lock when it kills; calls
 * d_delete, d_release and evict_inode.
 * Return: 0; -EINVAL for NULL or a dentry with no reference (a double put)
 * or dead, or for the root's last reference (the dcache's own); -EPERM for a
 * thread not registered with RCU.
 */
int ks_dput(struct ks_dentry *dentry);

/**
 * ks_d_lookup() - find a cached child of @parent (d_lookup() under RCU,
 * then d_revalidate, then lockref_get_not_dead()); a stale hit is
 * invalidated (d_invalidate()) and reported as a miss.
 * @parent: a directory dentry the caller holds. @name: the child's name.
 * @out: receives a new reference.
 *
 * Context: a registered RCU thread; lock-free on a hit (RCU + lockref), calls
 * d_revalidate.
 * Return: 0; -ENOENT when no valid child of that name is cached; -EINVAL for
 * NULL arguments, an empty name, ".", "..", a name with '/', or a @parent
 * with no reference or dead; -ENAMETOOLONG past KS_NAME_MAX; -EPERM for a
 * thread not registered with RCU; another negative errno from d_revalidate.
 */
int ks_d_lookup(struct ks_dentry *parent, const char *name, struct ks_dentry **out);

/**
 * typedef ks_d_create_fn - instantiate a new dentry for ks_d_lookup_or_create().
 * Called with @parent's directory lock held and @dentry negative and
 * unhashed; it allocates an inode (ks_inode_new()) and calls ks_d_add(), or
 * returns a negative errno (the dentry is then put, and that errno returned).
 */
typedef int (*ks_d_create_fn)(void *arg, struct ks_dentry *parent, struct ks_dentry *dentry);

/**
 * ks_d_lookup_or_create() - look a name up, instantiating it on a miss:
 * what fs/proc does on lookup and, in proc_fill_cache(), on readdir
 * (d_hash_and_lookup(); on a miss d_alloc_parallel() and the instantiate
 * callback). The miss path runs under @parent's inode lock ("i_rwsem"), so
 * two threads never create the same name twice; the kernel takes i_rwsem
 * shared and serialises equal names in d_alloc_parallel()'s in-lookup hash,
 * we take it exclusive (simpler; cached hits never touch it).
 * @parent: a directory the caller holds. @name: as for ks_d_lookup().
 * @create: the instantiate callback. @arg: its first argument.
 * @out: receives a new reference.
 *
 * Context: a registered RCU thread outside read-side sections (the miss path
 * sleeps on i_rwsem); calls @create with it held.
 * Return: 0 when found cached, 1 when created; the errors of ks_d_lookup()
 * but -ENOENT; -EINVAL for NULL @create or a @parent without an inode;
 * -ENOMEM; -ENOTDIR when @parent's inode is not a directory; the callback's
 * negative errno; -EIO when it returned 0 without calling ks_d_add().
 */
int ks_d_lookup_or_create(struct ks_dentry *parent, const char *name, ks_d_create_fn create,
			  void *arg, struct ks_dentry **out);

/**
 * ks_d_alloc() - a new negative, unhashed child of @parent with one
 * reference (d_alloc(): it joins @parent's children and pins @parent).
 * Context: a registered RCU thread; takes @parent's d_lock.
 * Return: 0; the name errors of ks_d_lookup(); -EINVAL for a bad @parent or
 * one without an inode; -ENOTDIR when @parent is not a directory; -EPERM
 * for a thread not registered with RCU; -ENOMEM.
 */
int ks_d_alloc(struct ks_dentry *parent, const char *name, struct ks_dentry **out);

/**
 * ks_d_add() - attach @inode to the negative dentry @dentry and hash it
 * (d_add()). The inode's reference passes to the dentry on success; on error
 * it stays with the caller. Beyond the kernel, a hashed dentry of the same
 * (parent, name) is refused, since the kernel relies on its callers for that.
 * @ops: dentry operations (NULL: none), kept by pointer. @priv: d_fsdata.
 *
 * Context: a registered RCU thread; takes i_lock, d_lock, a hash bucket lock.
 * Return: 0; -EINVAL for NULL @dentry or @inode, a dentry with no reference,
 * dead, already positive or already hashed (or invalidated), an inode of
 * another dcache or already attached, or the root; -EEXIST when the name is
 * taken; -EPERM for a thread not registered with RCU.
 */
int ks_d_add(struct ks_dentry *dentry, struct ks_inode *inode,
	     const struct ks_dentry_operations *ops, void *priv);

/**
 * ks_d_invalidate() - unhash @dentry and shrink every unused dentry below it
 * (d_invalidate(): __d_drop() then shrink_dcache_parent()). Dentries still
 * referenced below stay until their last put, which then kills them.
 * Context: a registered RCU thread; as ks_dput() for every dentry it kills.
 * Return: 0 (also when already unhashed, as the root always is); -EINVAL for
 * NULL or a dentry with no reference or dead; -EPERM for a thread not
 * registered with RCU.
 */
int ks_d_invalidate(struct ks_dentry *dentry);

/**
 * ks_shrink_dcache_parent() - kill every unused dentry below @parent
 * (shrink_dcache_parent(): d_walk() + select_collect(), then
 * shrink_dentry_list()), repeating until none is left to take.
 * Context: a registered RCU thread; as ks_dput() for every dentry it kills.
 * Return: the number of dentries killed; -EINVAL as ks_d_invalidate().
 */
long ks_shrink_dcache_parent(struct ks_dentry *parent);

/* Accessors: the caller holds a reference (or is in a d_op callback). */
/** ks_d_name() - the name ("/" for the root), or NULL for NULL. */
const char *ks_d_name(const struct ks_dentry *dentry);
/** ks_d_parent() - the parent (itself for the root; no reference), or NULL. */
struct ks_dentry *ks_d_parent(const struct ks_dentry *dentry);
/** ks_d_inode() - the inode (no reference), or NULL when negative or NULL. */
struct ks_inode *ks_d_inode(const struct ks_dentry *dentry);
/** ks_d_fsdata() - the private pointer given to ks_d_add(), or NULL. */
void *ks_d_fsdata(const struct ks_dentry *dentry);
/** ks_d_count() - the reference count (negative when dead); -EINVAL for NULL. */
int ks_d_count(const struct ks_dentry *dentry);
/** ks_d_unhashed() - 1 unhashed, 0 hashed, -EINVAL for NULL. */
int ks_d_unhashed(const struct ks_dentry *dentry);
/** ks_d_lru_node() - the NUMA node whose LRU it goes to; -EINVAL for NULL. */
int ks_d_lru_node(const struct ks_dentry *dentry);
/** ks_d_dcache() - the dcache of @dentry, or NULL. */
struct ks_dcache *ks_d_dcache(const struct ks_dentry *dentry);

/* ---- inodes ------------------------------------------------------------ */

/** Mode bits understood by the dcache (others are kept, not interpreted). */
#define KS_S_IFDIR 0040000
#define KS_S_IFREG 0100000
#define KS_S_IFLNK 0120000
#define KS_S_IFMT 0170000

/**
 * ks_inode_new() - allocate an inode and put it on the superblock's inode
 * list (new_inode(): alloc_inode() + inode_sb_list_add(); i_ino from
 * get_next_ino()'s per-CPU batches). It has one reference, which ks_d_add()
 * hands to a dentry; ks_iput() drops it.
 * @dc: dcache. @mode: file type and permission bits. @ipriv: private
 * pointer (ks_inode_private()). @out: receives the inode.
 *
 * Context: a registered RCU thread; takes s_inode_list_lock (`global`) or
 * this CPU's list lock (`dlock`).
 * Return: 0; -EINVAL for NULL @dc or @out or a @mode without a file type;
 * -EPERM for a thread not registered with RCU; -ENOMEM.
 */
int ks_inode_new(struct ks_dcache *dc, unsigned int mode, void *ipriv, struct ks_inode **out);

/**
 * ks_igrab() - take a reference unless the inode is being evicted (igrab()).
 * Context: the caller guarantees the inode's memory (a reference, its own
 * list under its lock, or an RCU read-side section).
 * Return: 0; -ENOENT when it is being evicted; -EINVAL for NULL.
 */
int ks_igrab(struct ks_inode *inode);

/**
 * ks_iput() - drop an inode reference (iput()). The last one evicts it:
 * inode_sb_list_del(), evict_inode hook, free after a grace period.
 * Context: a registered RCU thread, read-side sections allowed; the last
 * reference takes i_lock and the inode list lock, and calls evict_inode.
 * Return: 0; -EINVAL for NULL or an inode with no reference; -EPERM for a
 * thread not registered with RCU.
 */
int ks_iput(struct ks_inode *inode);

/**
 * ks_d_find_any_alias() - a new reference to the inode's dentry
 * (d_find_any_alias()).
 * @inode: an inode the caller holds a reference to. @out: the dentry.
 * Context: a registered RCU thread; takes i_lock.
 * Return: 0; -ENOENT when the inode has no dentry; -EINVAL for NULL; -EPERM
 * for a thread not registered with RCU.
 */
int ks_d_find_any_alias(struct ks_inode *inode, struct ks_dentry **out);

/** ks_inode_ino() - inode number (0 for NULL). */
uint64_t ks_inode_ino(const struct ks_inode *inode);
/** ks_inode_mode() - mode (0 for NULL). */
unsigned int ks_inode_mode(const struct ks_inode *inode);
/** ks_inode_private() - the pointer given to ks_inode_new(), or NULL. */
void *ks_inode_private(const struct ks_inode *inode);
/** ks_inode_dcache() - the dcache of @inode, or NULL. */
struct ks_dcache *ks_inode_dcache(const struct ks_inode *inode);

/**
 * struct ks_dcache_link - a list node in every inode, free for the user of
 * the dcache (procfs's per-pid inode lists). The dcache never touches it
 * after ks_inode_new() zeroes it.
 */
struct ks_dcache_link {
	struct ks_dcache_link *next, *prev;
};
/** ks_inode_user_link() - the inode's user list node, or NULL for NULL. */
struct ks_dcache_link *ks_inode_user_link(struct ks_inode *inode);
/** ks_inode_from_user_link() - the inode owning @link, or NULL for NULL. */
struct ks_inode *ks_inode_from_user_link(struct ks_dcache_link *link);

#ifdef __cplusplus
}
#endif

#endif /* KSCALE_DCACHE_H */
