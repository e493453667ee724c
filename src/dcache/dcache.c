// SPDX-License-Identifier: MIT
/*
 * Dentries: allocation, the (parent, name) hash, RCU lookup, the lockref,
 * dput with retain/kill, the per-node LRU, d_walk and the shrinkers.
 * Models fs/dcache.c (d_alloc(), d_add(), __d_lookup_rcu(), fast_dput(),
 * retain_dentry(), lock_for_kill(), __dentry_kill(), d_walk(),
 * select_collect(), shrink_dentry_list(), shrink_dcache_parent(),
 * d_invalidate(), prune_dcache_sb() with dentry_lru_isolate()) and
 * lib/lockref.c, Linux 6.18.
 *
 * Lock order, as in the kernel: i_lock -> d_lock(parent) -> d_lock(child)
 * -> {hash bucket lock, lru_lock}. The LRU walker takes d_lock with a
 * trylock because it already holds lru_lock.
 *
 * Where we go beyond or differ from the kernel, it is said where it happens:
 * the hash table is per superblock (the kernel's dentry_hashtable is global),
 * there are no negative dentries in the cache, no renames and no mounts, so
 * rename_lock and the d_seq retries are not modelled.
 */
#include "dcache/dcache_internal.h"

#include <errno.h>
#include <sched.h>
#include <string.h>

/* ---- lockref (lib/lockref.c) ------------------------------------------- */

#define LR_LOCKED 1ull
#define LR_SHIFT 32
#define LR_DEAD (-128) /* lockref_mark_dead() */

static inline int lr_count(uint64_t v)
{
	return (int32_t)(uint32_t)(v >> LR_SHIFT);
}

static inline uint64_t lr_with_count(uint64_t v, int count)
{
	return (v & 0xffffffffull) | ((uint64_t)(uint32_t)count << LR_SHIFT);
}

/*
 * CMPXCHG_LOOP: while the lock is free, add @delta to the count with one
 * compare-and-swap, provided the old count is at least @min. Gives up after
 * 100 failed swaps (as the kernel does) or when the lock is held or the
 * count too low; the caller then takes d_lock. Returns true when done.
 */
static bool lockref_cmpxchg(struct ks_dentry *d, int delta, int min)
{
	uint64_t old = __atomic_load_n(&d->d_lockref, __ATOMIC_RELAXED);
	int retry = 100;

	while (!(old & LR_LOCKED)) {
		int c = lr_count(old);

		if (c < min)
			return false;
		if (__atomic_compare_exchange_n(&d->d_lockref, &old, lr_with_count(old, c + delta),
						false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			return true;
		if (!--retry)
			break;
	}
	return false;
}

static void d_lock(struct ks_dentry *d)
{
	ks_spin_lock(&d->d_lock);
	/* From here on, no lockless swap can succeed until d_unlock(). */
	__atomic_fetch_or(&d->d_lockref, LR_LOCKED, __ATOMIC_ACQUIRE);
}

static bool d_trylock(struct ks_dentry *d)
{
	if (ks_spin_trylock(&d->d_lock) != 1)
		return false;
	__atomic_fetch_or(&d->d_lockref, LR_LOCKED, __ATOMIC_ACQUIRE);
	return true;
}

static void d_unlock(struct ks_dentry *d)
{
	__atomic_fetch_and(&d->d_lockref, ~LR_LOCKED, __ATOMIC_RELEASE);
	ks_spin_unlock(&d->d_lock);
}

/* Under d_lock: no swap can race, a plain atomic add keeps the lock bit. */
static inline int d_count(const struct ks_dentry *d)
{
	return lr_count(__atomic_load_n(&d->d_lockref, __ATOMIC_ACQUIRE));
}

static inline void d_count_add(struct ks_dentry *d, int delta)
{
	__atomic_fetch_add(&d->d_lockref, (uint64_t)(int64_t)delta << LR_SHIFT, __ATOMIC_RELAXED);
}

static inline void d_mark_dead(struct ks_dentry *d)
{
	d_count_add(d, LR_DEAD - d_count(d));
}

/* lockref_get_not_dead(): a reference unless the dentry is dead. */
static bool lockref_get_not_dead(struct ks_dentry *d)
{
	bool ok;

	if (lockref_cmpxchg(d, 1, 0))
		return true;
	d_lock(d);
	ok = d_count(d) >= 0;
	if (ok)
		d_count_add(d, 1);
	d_unlock(d);
	return ok;
}

/* ---- small helpers -------------------------------------------------------- */

static inline bool d_unhashed(const struct ks_dentry *d)
{
	return __atomic_load_n(&d->d_hpprev, __ATOMIC_ACQUIRE) == NULL;
}

static inline bool d_is_dir(const struct ks_dentry *d)
{
	struct ks_inode *inode = __atomic_load_n(&d->d_inode, __ATOMIC_ACQUIRE);

	return inode && (inode->i_mode & KS_S_IFMT) == KS_S_IFDIR;
}

/* full_name_hash() salted with the parent, as the kernel salts it. */
static uint32_t d_name_hash(const struct ks_dentry *parent, const char *name, size_t len)
{
	uint64_t h = (uint64_t)(uintptr_t)parent * 0x9e3779b97f4a7c15ull;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)name[i]) * 0x100000001b3ull;
	return (uint32_t)(h ^ (h >> 32));
}

static struct ks_hash_bucket *d_hash_bucket(const struct ks_dcache *dc, uint32_t h)
{
	return &dc->hash[(h * 0x61c88647u) >> (32 - dc->hash_bits)];
}

/*
 * The checks every dentry argument gets: the caller must hold a reference.
 * Reading the count of a dentry freed long ago is beyond help (ASan), but a
 * double put, or a put on a dentry killed within this grace period, is seen.
 */
static int d_check(const struct ks_dentry *d)
{
	if (!d)
		return -EINVAL;
	if (!ks_rcu_thread_registered())
		return -EPERM;
	return d_count(d) > 0 ? 0 : -EINVAL;
}

static int d_check_name(const char *name, size_t *len)
{
	size_t n;

	if (!name)
		return -EINVAL;
	n = strnlen(name, KS_NAME_MAX + 1);
	if (n == 0 || strchr(name, '/'))
		return -EINVAL;
	if (n > KS_NAME_MAX)
		return -ENAMETOOLONG;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	*len = n;
	return 0;
}

/* A parent the caller holds, a valid name, somewhere to put the result. */
static int d_check_args(const struct ks_dentry *parent, const char *name, struct ks_dentry **out,
			size_t *len)
{
	int r = d_check(parent);

	if (!r && !out)
		r = -EINVAL;
	return r ? r : d_check_name(name, len);
}

/* ---- LRU (mm/list_lru.c, one list_lru_one per NUMA node) ---------------- */

static void d_lru_add(struct ks_dentry *d)
{
	struct ks_lru_node *l = &d->d_sb->lru[d->d_node];

	__atomic_fetch_or(&d->d_flags, KS_DCACHE_LRU_LIST, __ATOMIC_RELAXED);
	ks_spin_lock(&l->lock);
	ks_list_add_tail(&d->d_lru, &l->list);
	KS_WRITE_ONCE(l->nr, l->nr + 1);
	ks_spin_unlock(&l->lock);
}

static void d_lru_del(struct ks_dentry *d)
{
	struct ks_lru_node *l = &d->d_sb->lru[d->d_node];

	__atomic_fetch_and(&d->d_flags, ~KS_DCACHE_LRU_LIST, __ATOMIC_RELAXED);
	ks_spin_lock(&l->lock);
	ks_list_del_init(&d->d_lru);
	KS_WRITE_ONCE(l->nr, l->nr - 1);
	ks_spin_unlock(&l->lock);
}

static void d_shrink_add(struct ks_dentry *d, struct ks_list *list)
{
	__atomic_fetch_or(&d->d_flags, KS_DCACHE_LRU_LIST | KS_DCACHE_SHRINK_LIST, __ATOMIC_RELAXED);
	ks_list_add_tail(&d->d_lru, list);
}

static void d_shrink_del(struct ks_dentry *d)
{
	__atomic_fetch_and(&d->d_flags, ~(KS_DCACHE_LRU_LIST | KS_DCACHE_SHRINK_LIST), __ATOMIC_RELAXED);
	ks_list_del_init(&d->d_lru);
}

/* to_shrink_list(): under d_lock, move an unused dentry to @list. */
static void to_shrink_list(struct ks_dentry *d, struct ks_list *list)
{
	if (d->d_flags & KS_DCACHE_SHRINK_LIST)
		return;
	if (d->d_flags & KS_DCACHE_LRU_LIST)
		d_lru_del(d);
	d_shrink_add(d, list);
}

/* ---- hash (hlist_bl with a lock per bucket) ------------------------------- */

/*
 * The first dentry of (parent, name) in its chain. A dead one (killed, not
 * yet unhashed: __dentry_kill() marks it dead before ___d_drop()) is skipped
 * when @live_only, so that d_add() of its successor is not refused.
 */
static struct ks_dentry *d_hash_find(struct ks_dcache *dc, const struct ks_dentry *parent,
				     const char *name, size_t len, uint32_t h, bool live_only)
{
	struct ks_hash_bucket *b = d_hash_bucket(dc, h);
	struct ks_dentry *d;

	for (d = ks_rcu_dereference(b->first); d; d = ks_rcu_dereference(d->d_hnext)) {
		if (d->d_hash != h || d->d_parent != parent)
			continue;
		if (d->d_name_len != len || memcmp(d->d_name, name, len))
			continue;
		if (live_only && d_count(d) < 0)
			continue;
		return d;
	}
	return NULL;
}

/* __d_drop() under d_lock: readers still walking past us keep d_hnext. */
static void d_drop(struct ks_dentry *d)
{
	struct ks_hash_bucket *b;
	struct ks_dentry **pprev, *next;

	if (d_unhashed(d))
		return;
	b = d_hash_bucket(d->d_sb, d->d_hash);
	ks_spin_lock(&b->lock);
	pprev = d->d_hpprev;
	next = d->d_hnext;
	__atomic_store_n(pprev, next, __ATOMIC_RELEASE);
	if (next)
		__atomic_store_n(&next->d_hpprev, pprev, __ATOMIC_RELAXED);
	__atomic_store_n(&d->d_hpprev, NULL, __ATOMIC_RELEASE);
	ks_spin_unlock(&b->lock);
}

/* ---- freeing ---------------------------------------------------------- */

static void d_free_rcu(struct ks_rcu_head *head)
{
	struct ks_dentry *d = ks_container_of(head, struct ks_dentry, d_rcu);
	struct ks_dcache *dc = d->d_sb;

	if (d->d_name != d->d_iname)
		ks_mem_free(dc->t_name, d->d_name, d->d_name_len + 1);
	ks_spin_destroy(&d->d_lock);
	ks_mem_free(dc->t_dentry, d, sizeof(*d));
}

/* dentry_free(): RCU walkers may still be looking at it. */
static void dentry_free(struct ks_dentry *d)
{
	if (ks_call_rcu(&d->d_rcu, d_free_rcu))
		d_free_rcu(&d->d_rcu); /* unreachable: callers checked registration */
}

/*
 * __dentry_kill() on a locked dentry with count 0, after lock_for_kill().
 * Returns the parent, locked, when this put its count to zero, else NULL;
 * @killed says whether @d died (it lives on if found during lock_for_kill).
 */
static struct ks_dentry *dentry_kill(struct ks_dentry *d, long *killed)
{
	struct ks_dcache *dc = d->d_sb;
	struct ks_inode *inode = d->d_inode;
	struct ks_dentry *parent = d->d_parent;
	bool can_free;

	/*
	 * lock_for_kill(): i_lock nests outside d_lock, so trylock or retry.
	 * While d_lock is dropped another thread may find it, or kill and free
	 * it: RCU keeps the memory, the count says what happened.
	 */
	if (inode && ks_spin_trylock(&inode->i_lock) != 1) {
		ks_rcu_read_lock();
		d_unlock(d);
		ks_spin_lock(&inode->i_lock);
		d_lock(d);
		if (d_count(d) != 0) {
			ks_spin_unlock(&inode->i_lock);
			d_unlock(d);
			ks_rcu_read_unlock();
			return NULL; /* found again, or killed by someone else */
		}
		ks_rcu_read_unlock();
	}

	d_mark_dead(d);
	(*killed)++;
	if ((d->d_flags & (KS_DCACHE_LRU_LIST | KS_DCACHE_SHRINK_LIST)) == KS_DCACHE_LRU_LIST)
		d_lru_del(d);
	d_drop(d);
	/* dentry_unlink_inode(): the alias goes under i_lock and d_lock. */
	if (inode) {
		inode->i_dentry = NULL;
		__atomic_store_n(&d->d_inode, NULL, __ATOMIC_RELEASE);
	}
	d_unlock(d);
	if (inode) {
		ks_spin_unlock(&inode->i_lock);
		ks_iput(inode);
	}
	if (d->d_op && d->d_op->d_release)
		d->d_op->d_release(d, d->d_fsdata);

	/* dentry_unlist() under the parent's lock, then ours. */
	if (parent != d)
		d_lock(parent);
	d_lock(d);
	if (parent != d)
		ks_list_del_keep_next(&d->d_child);
	__atomic_fetch_or(&d->d_flags, KS_DCACHE_DENTRY_KILLED, __ATOMIC_RELAXED);
	can_free = !(d->d_flags & KS_DCACHE_SHRINK_LIST);
	if (!can_free)
		__atomic_fetch_or(&d->d_flags, KS_DCACHE_MAY_FREE, __ATOMIC_RELAXED); /* its shrink list frees it */
	d_unlock(d);
	KS_DC_COUNT(dc, nr_dentry, -1);
	KS_DC_COUNT(dc, killed, 1);
	if (can_free)
		dentry_free(d);
	if (parent == d)
		return NULL;
	d_count_add(parent, -1);
	if (d_count(parent) > 0) {
		d_unlock(parent);
		return NULL;
	}
	return parent;
}

/*
 * retain_dentry() under d_lock with count 0: keep it cached on the LRU,
 * unless it is unhashed or d_delete wants it gone.
 */
static bool retain_dentry(struct ks_dentry *d)
{
	if (d_unhashed(d))
		return false;
	if (d->d_op && d->d_op->d_delete && d->d_op->d_delete(d, d->d_fsdata))
		return false;
	if (!(d->d_flags & KS_DCACHE_LRU_LIST))
		d_lru_add(d);
	else if (!(d->d_flags & KS_DCACHE_REFERENCED))
		__atomic_fetch_or(&d->d_flags, KS_DCACHE_REFERENCED, __ATOMIC_RELAXED);
	return true;
}

int ks_dput(struct ks_dentry *d)
{
	int r = d_check(d);
	long n = 0;

	if (r)
		return r;
	/* fast_dput(): most puts leave a count above zero, without d_lock. */
	if (lockref_cmpxchg(d, -1, 2))
		return 0;
	d_lock(d);
	if (d_count(d) <= 0 || (d == d->d_sb->root && d_count(d) <= 1)) {
		/* A double put, or the superblock's own reference to its root. */
		d_unlock(d);
		return -EINVAL;
	}
	d_count_add(d, -1);
	if (d_count(d) > 0) {
		d_unlock(d);
		return 0;
	}
	while (d) {
		if (retain_dentry(d)) {
			d_unlock(d);
			break;
		}
		d = dentry_kill(d, &n);
	}
	return 0;
}

int ks_dget(struct ks_dentry *d)
{
	int r = d_check(d);

	if (r)
		return r;
	if (lockref_cmpxchg(d, 1, 1))
		return 0;
	d_lock(d);
	r = d_count(d) > 0 ? 0 : -EINVAL;
	if (!r)
		d_count_add(d, 1);
	d_unlock(d);
	return r;
}

/* ---- allocation and instantiation ---------------------------------------- */

static struct ks_dentry *d_alloc_common(struct ks_dcache *dc, const char *name, size_t len)
{
	struct ks_dentry *d = ks_mem_zalloc(dc->t_dentry, sizeof(*d));
	int cpu;

	if (!d)
		return NULL;
	if (len < KS_DNAME_INLINE_LEN) {
		d->d_name = d->d_iname;
	} else {
		d->d_name = ks_mem_alloc(dc->t_name, len + 1);
		if (!d->d_name) {
			ks_mem_free(dc->t_dentry, d, sizeof(*d));
			return NULL;
		}
	}
	memcpy(d->d_name, name, len);
	d->d_name[len] = '\0';
	d->d_name_len = len;
	d->d_lockref = lr_with_count(0, 1);
	ks_spin_init(&d->d_lock, dc->c_d_lock);
	ks_list_init(&d->d_subdirs);
	ks_list_init(&d->d_lru);
	d->d_sb = dc;
	/* list_lru puts an object on the node of its memory: the local node. */
	cpu = ks_cpu_current() % dc->nr_cpus;
	d->d_node = ks_topo_cpu_node(dc->topo, cpu);
	if (d->d_node < 0 || d->d_node >= dc->nr_nodes)
		d->d_node = 0;
	KS_DC_COUNT(dc, nr_dentry, 1);
	return d;
}

/* d_make_root(): the root is its own parent and is never hashed. */
int ks_dcache_d_alloc_root(struct ks_dcache *dc, struct ks_dentry **out)
{
	struct ks_dentry *d = d_alloc_common(dc, "/", 1);

	if (!d)
		return -ENOMEM;
	d->d_parent = d;
	*out = d;
	return 0;
}

int ks_d_alloc(struct ks_dentry *parent, const char *name, struct ks_dentry **out)
{
	struct ks_dentry *d;
	size_t len = 0;
	int r;

	r = d_check_args(parent, name, out, &len);
	if (r)
		return r;
	if (!__atomic_load_n(&parent->d_inode, __ATOMIC_ACQUIRE))
		return -EINVAL;
	if (!d_is_dir(parent))
		return -ENOTDIR;
	d = d_alloc_common(parent->d_sb, name, len);
	if (!d)
		return -ENOMEM;
	d->d_hash = d_name_hash(parent, name, len);
	d->d_parent = parent;
	d_lock(parent);
	d_count_add(parent, 1); /* __dget_dlock(): a child pins its parent */
	ks_list_add(&d->d_child, &parent->d_subdirs);
	d_unlock(parent);
	*out = d;
	return 0;
}

int ks_d_add(struct ks_dentry *d, struct ks_inode *inode, const struct ks_dentry_operations *ops,
	     void *priv)
{
	struct ks_hash_bucket *b;
	int r = d_check(d);

	if (r)
		return r;
	if (!inode || inode->i_sb != d->d_sb || d == d->d_sb->root)
		return -EINVAL;
	ks_spin_lock(&inode->i_lock);
	if (inode->i_dentry || __atomic_load_n(&inode->i_count, __ATOMIC_RELAXED) <= 0 ||
	    (inode->i_state & KS_I_FREEING)) {
		ks_spin_unlock(&inode->i_lock);
		return -EINVAL;
	}
	d_lock(d);
	if (d->d_inode || !d_unhashed(d) || (d->d_flags & KS_DCACHE_DENTRY_KILLED)) {
		r = -EINVAL;
		goto out;
	}
	b = d_hash_bucket(d->d_sb, d->d_hash);
	ks_spin_lock(&b->lock);
	if (d_hash_find(d->d_sb, d->d_parent, d->d_name, d->d_name_len, d->d_hash, true)) {
		ks_spin_unlock(&b->lock);
		r = -EEXIST;
		goto out;
	}
	/* __d_instantiate(): everything a lockless reader needs, then publish. */
	d->d_op = ops;
	d->d_fsdata = priv;
	inode->i_dentry = d;
	__atomic_store_n(&d->d_inode, inode, __ATOMIC_RELEASE);
	/* __d_rehash(): hlist_bl_add_head_rcu(). */
	d->d_hnext = b->first;
	if (b->first)
		__atomic_store_n(&b->first->d_hpprev, &d->d_hnext, __ATOMIC_RELAXED);
	__atomic_store_n(&d->d_hpprev, &b->first, __ATOMIC_RELEASE);
	ks_rcu_assign_pointer(b->first, d);
	ks_spin_unlock(&b->lock);
out:
	d_unlock(d);
	ks_spin_unlock(&inode->i_lock);
	return r;
}

/* ---- lookup --------------------------------------------------------------- */

int ks_d_lookup(struct ks_dentry *parent, const char *name, struct ks_dentry **out)
{
	struct ks_dcache *dc;
	struct ks_dentry *d;
	size_t len = 0;
	uint32_t h;
	int r, rv = 1;

	r = d_check_args(parent, name, out, &len);
	if (r)
		return r;
	dc = parent->d_sb;
	h = d_name_hash(parent, name, len);
	KS_DC_COUNT(dc, lookups, 1);

	/* __d_lookup_rcu(): no lock, no store until we have the dentry. */
	ks_rcu_read_lock();
	d = d_hash_find(dc, parent, name, len, h, false);
	if (!d) {
		ks_rcu_read_unlock();
		return -ENOENT;
	}
	if (d->d_op && d->d_op->d_revalidate)
		rv = d->d_op->d_revalidate(d, KS_LOOKUP_RCU, d->d_fsdata);
	/* legitimize: lockref_get_not_dead() while RCU keeps it in memory */
	if (!lockref_get_not_dead(d)) {
		ks_rcu_read_unlock();
		return -ENOENT;
	}
	ks_rcu_read_unlock();
	if (d_unhashed(d)) {
		/* invalidated while we looked: as __d_lookup()'s recheck */
		ks_dput(d);
		return -ENOENT;
	}
	if (rv == -ECHILD)
		rv = d->d_op->d_revalidate(d, 0, d->d_fsdata);
	if (rv == 0) {
		/* lookup_fast(): stale; d_invalidate() and look up afresh */
		KS_DC_COUNT(dc, reval_fail, 1);
		ks_d_invalidate(d);
		ks_dput(d);
		return -ENOENT;
	}
	if (rv < 0) {
		ks_dput(d);
		return rv;
	}
	KS_DC_COUNT(dc, hits, 1);
	*out = d;
	return 0;
}

int ks_d_lookup_or_create(struct ks_dentry *parent, const char *name, ks_d_create_fn create,
			  void *arg, struct ks_dentry **out)
{
	struct ks_inode *dir;
	struct ks_dentry *d;
	int r;

	r = d_check(parent);
	if (!r && (!create || !out))
		r = -EINVAL;
	if (r)
		return r;
	dir = __atomic_load_n(&parent->d_inode, __ATOMIC_ACQUIRE);
	if (!dir)
		return -EINVAL;
	if ((dir->i_mode & KS_S_IFMT) != KS_S_IFDIR)
		return -ENOTDIR;
	r = ks_d_lookup(parent, name, out);
	if (r != -ENOENT)
		return r;

	/* lookup_slow(): the directory lock orders creators of one name. */
	ks_rwsem_write_lock(&dir->i_rwsem);
	r = ks_d_lookup(parent, name, out);
	if (r != -ENOENT)
		goto unlock;
	r = ks_d_alloc(parent, name, &d);
	if (r)
		goto unlock;
	r = create(arg, parent, d);
	if (!r && !__atomic_load_n(&d->d_inode, __ATOMIC_ACQUIRE))
		r = -EIO;
	if (r < 0) {
		ks_dput(d);
		goto unlock;
	}
	KS_DC_COUNT(parent->d_sb, creations, 1);
	*out = d;
	r = 1;
unlock:
	ks_rwsem_write_unlock(&dir->i_rwsem);
	return r;
}

/* ---- d_walk, shrinking, invalidation --------------------------------- */

struct select_data {
	struct ks_dentry *start;
	struct ks_list dispose;
	long found;
};

/* select_collect(): under the dentry's d_lock (and its parent's). */
static void select_collect(struct select_data *data, struct ks_dentry *d)
{
	int c = d_count(d);

	if (d->d_flags & KS_DCACHE_SHRINK_LIST) {
		data->found++; /* someone else's shrink list: wait for it */
	} else if (c == 0) {
		to_shrink_list(d, &data->dispose);
		data->found++;
	} else if (c < 0) {
		data->found++; /* being killed */
	}
}

/*
 * d_walk(): visit every descendant of @parent, holding the parent's and the
 * child's d_lock; descend holding only the child's. Going back up, RCU
 * keeps the child in memory and a killed child's next pointer leads on to
 * the first live sibling.
 */
static void d_walk(struct ks_dentry *parent, struct select_data *data)
{
	struct ks_dentry *this_parent = parent, *d;
	struct ks_list *next;

	d_lock(this_parent);
repeat:
	next = this_parent->d_subdirs.next;
resume:
	while (next != &this_parent->d_subdirs) {
		d = ks_container_of(next, struct ks_dentry, d_child);
		next = next->next;
		d_lock(d);
		select_collect(data, d);
		if (!ks_list_empty(&d->d_subdirs)) {
			d_unlock(this_parent);
			this_parent = d;
			goto repeat;
		}
		d_unlock(d);
	}
	ks_rcu_read_lock();
ascend:
	if (this_parent != parent) {
		struct ks_dentry *child = this_parent;

		this_parent = child->d_parent;
		d_unlock(child);
		d_lock(this_parent);
		do {
			next = child->d_child.next;
			if (next == &this_parent->d_subdirs)
				goto ascend;
			child = ks_container_of(next, struct ks_dentry, d_child);
		} while (__atomic_load_n(&child->d_flags, __ATOMIC_RELAXED) & KS_DCACHE_DENTRY_KILLED);
		ks_rcu_read_unlock();
		goto resume;
	}
	ks_rcu_read_unlock();
	d_unlock(this_parent);
}

/*
 * shrink_kill(): kill @d (locked, count 0) and every ancestor whose count
 * that drops to zero — a subtree being shrunk goes whole, without the
 * retain check dput() would make.
 */
static long shrink_kill(struct ks_dentry *d)
{
	long n = 0;

	/* A parent on another shrink list is killed too; its owner frees it. */
	while (d)
		d = dentry_kill(d, &n);
	return n;
}

/* shrink_dentry_list(): kill what is on @list, if still unused. */
static long shrink_dentry_list(struct ks_list *list)
{
	long n = 0;

	while (!ks_list_empty(list)) {
		struct ks_dentry *d = ks_container_of(list->next, struct ks_dentry, d_lru);
		int c;

		d_lock(d);
		c = d_count(d);
		d_shrink_del(d);
		if (c != 0) {
			/* found again (c > 0), or killed by someone else (c < 0) */
			bool can_free = c < 0 && (d->d_flags & KS_DCACHE_MAY_FREE);

			d_unlock(d);
			if (can_free)
				dentry_free(d);
			continue;
		}
		n += shrink_kill(d);
	}
	return n;
}

static long shrink_parent(struct ks_dentry *parent)
{
	long total = 0;

	for (;;) {
		struct select_data data = {.start = parent};

		ks_list_init(&data.dispose);
		d_walk(parent, &data);
		if (!ks_list_empty(&data.dispose)) {
			total += shrink_dentry_list(&data.dispose);
			continue;
		}
		if (!data.found)
			break;
		/* Others are killing some of ours: let them finish. */
		sched_yield();
	}
	return total;
}

long ks_shrink_dcache_parent(struct ks_dentry *parent)
{
	int r = d_check(parent);

	return r ? r : shrink_parent(parent);
}

int ks_d_invalidate(struct ks_dentry *d)
{
	int r = d_check(d);

	if (r)
		return r;
	d_lock(d);
	if (d_unhashed(d)) {
		d_unlock(d);
		return 0;
	}
	d_drop(d);
	d_unlock(d);
	shrink_parent(d);
	return 0;
}

long ks_dcache_shrink_root(struct ks_dcache *dc)
{
	return shrink_parent(dc->root);
}

int ks_dcache_kill_root(struct ks_dcache *dc)
{
	struct ks_dentry *root = dc->root;
	long n = 0;

	d_lock(root);
	if (d_count(root) != 1 || !ks_list_empty(&root->d_subdirs)) {
		d_unlock(root);
		return -EBUSY;
	}
	d_count_add(root, -1);
	dentry_kill(root, &n);
	dc->root = NULL;
	return 0;
}

/* ---- prune_dcache_sb() ---------------------------------------------------- */

/* dentry_lru_isolate(), for one node: move up to @nr victims to @dispose. */
static void lru_isolate(struct ks_lru_node *l, unsigned long nr, struct ks_list *dispose)
{
	ks_spin_lock(&l->lock);
	while (nr-- && !ks_list_empty(&l->list)) {
		struct ks_dentry *d = ks_container_of(l->list.next, struct ks_dentry, d_lru);

		if (!d_trylock(d)) {
			/* LRU_SKIP: its lock nests outside ours */
			ks_list_del_init(&d->d_lru);
			ks_list_add_tail(&d->d_lru, &l->list);
			continue;
		}
		if (d_count(d) > 0) {
			/* in use: drop it from the LRU lazily (d_lru_isolate()) */
			ks_list_del_init(&d->d_lru);
			KS_WRITE_ONCE(l->nr, l->nr - 1);
			__atomic_fetch_and(&d->d_flags, ~KS_DCACHE_LRU_LIST, __ATOMIC_RELAXED);
		} else if (d->d_flags & KS_DCACHE_REFERENCED) {
			/* LRU_ROTATE: a second chance */
			__atomic_fetch_and(&d->d_flags, ~KS_DCACHE_REFERENCED, __ATOMIC_RELAXED);
			ks_list_del_init(&d->d_lru);
			ks_list_add_tail(&d->d_lru, &l->list);
		} else {
			/* d_lru_shrink_move() */
			ks_list_del_init(&d->d_lru);
			KS_WRITE_ONCE(l->nr, l->nr - 1);
			__atomic_fetch_or(&d->d_flags, KS_DCACHE_SHRINK_LIST, __ATOMIC_RELAXED);
			ks_list_add_tail(&d->d_lru, dispose);
		}
		d_unlock(d);
	}
	ks_spin_unlock(&l->lock);
}

long ks_dcache_prune(struct ks_dcache *dc, int node, unsigned long nr_to_scan)
{
	long freed = 0;
	int n;

	if (!dc || node < -1 || node >= dc->nr_nodes || !nr_to_scan)
		return -EINVAL;
	if (!ks_rcu_thread_registered())
		return -EPERM;
	for (n = 0; n < dc->nr_nodes; n++) {
		struct ks_list dispose;

		if (node >= 0 && n != node)
			continue;
		ks_list_init(&dispose);
		lru_isolate(&dc->lru[n], nr_to_scan, &dispose);
		freed += shrink_dentry_list(&dispose);
	}
	return freed;
}

/* ---- accessors ------------------------------------------------------------ */

const char *ks_d_name(const struct ks_dentry *d)
{
	return d ? d->d_name : NULL;
}

struct ks_dentry *ks_d_parent(const struct ks_dentry *d)
{
	return d ? d->d_parent : NULL;
}

struct ks_inode *ks_d_inode(const struct ks_dentry *d)
{
	return d ? __atomic_load_n(&d->d_inode, __ATOMIC_ACQUIRE) : NULL;
}

void *ks_d_fsdata(const struct ks_dentry *d)
{
	return d ? d->d_fsdata : NULL;
}

int ks_d_count(const struct ks_dentry *d)
{
	return d ? d_count(d) : -EINVAL;
}

int ks_d_unhashed(const struct ks_dentry *d)
{
	return d ? d_unhashed(d) : -EINVAL;
}

int ks_d_lru_node(const struct ks_dentry *d)
{
	return d ? d->d_node : -EINVAL;
}

struct ks_dcache *ks_d_dcache(const struct ks_dentry *d)
{
	return d ? d->d_sb : NULL;
}

int ks_d_find_any_alias(struct ks_inode *inode, struct ks_dentry **out)
{
	struct ks_dentry *d;
	int r = -ENOENT;

	if (!inode || !out)
		return -EINVAL;
	if (!ks_rcu_thread_registered())
		return -EPERM;
	ks_spin_lock(&inode->i_lock);
	d = inode->i_dentry;
	/* __d_find_any_alias(): the alias is unlinked under i_lock, so alive */
	if (d && lockref_get_not_dead(d)) {
		*out = d;
		r = 0;
	}
	ks_spin_unlock(&inode->i_lock);
	return r;
}
