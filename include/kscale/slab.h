/* SPDX-License-Identifier: MIT */
/*
 * slab: kmem_caches under memory cgroups, and /proc/slabinfo.
 *
 * A struct ks_slab_sys is one slab allocator with one memory cgroup tree:
 * kmem_caches (name, object size, alignment, flags) whose objects come from
 * slabs of ks_mem memory through per-CPU object caches, a global cache list
 * under "slab_mutex", and memory cgroups created, removed (offline) and
 * released under "cgroup_mutex". Objects allocated on behalf of a cgroup are
 * charged to it. How cgroups and caches meet is the strategy:
 *
 *  - "percache-4.10": Linux 4.10. A child cache per (root cache, memcg),
 *    created on the first allocation, all on the one slab_caches list.
 *    Offline walks every cache and waits a grace period under cgroup_mutex;
 *    release walks every cache again and waits an rcu_barrier(): O(N) per
 *    cgroup, O(N^2) for a teardown.
 *  - "lists-4.11": Tejun Heo's series (v4.11): slab_root_caches and a list
 *    of caches per memcg; deactivation and destruction are queued with
 *    call_rcu() and a work item, one rcu_barrier() per batch.
 *  - "objcg-5.9": Roman Gushchin's controller (v5.9): no per-memcg caches;
 *    every object carries an obj_cgroup and is charged in bytes; offline
 *    reparents the obj_cgroup to the parent.
 *  - "objcg-5.14": the same with separate caches for accounted allocations
 *    (kmalloc-cg-*, Linux 5.14), the fix for the 5.9 hackbench regression.
 *  - "call-rcu-only": negative control. Tejun's v1, which freed memcg caches
 *    with a bare call_rcu() instead of rcu_barrier(): unsafe for
 *    KS_SLAB_TYPESAFE_BY_RCU caches; the stats count each slab-free callback
 *    that read a freed kmem_cache (kept in quarantine, so nothing is
 *    actually corrupted).
 *
 * ks_slabinfo_*() produce /proc/slabinfo (version 2.1) through a model of
 * fs/seq_file.c: reads of at most one 4 KiB page each, positioned either by
 * re-seeking from the list head ("reseek", the kernel's) or by a cursor
 * entry kept in the list ("cursor").
 *
 * Threads that allocate, free, remove cgroups or read slabinfo must be
 * registered with ks_rcu_register_thread().
 */
#ifndef KSCALE_SLAB_H
#define KSCALE_SLAB_H

#include <kscale/types.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ks_topo;
struct ks_lockstat;
struct ks_mem;
struct ks_slab_sys;   /* opaque */
struct ks_kmem_cache; /* opaque: a root cache */
struct ks_slabinfo;   /* opaque: an open /proc/slabinfo */

/* Cache flags. */
/** Align objects to a cache line (SLAB_HWCACHE_ALIGN). */
#define KS_SLAB_HWCACHE_ALIGN 0x1u
/**
 * Slabs are freed only after an RCU grace period (SLAB_TYPESAFE_BY_RCU,
 * formerly SLAB_DESTROY_BY_RCU): a reader may still look at a freed object,
 * so the cache must outlive every pending slab-free callback.
 */
#define KS_SLAB_TYPESAFE_BY_RCU 0x2u
#define KS_SLAB_FLAGS_ALL (KS_SLAB_HWCACHE_ALIGN | KS_SLAB_TYPESAFE_BY_RCU)

/** Longest cache name (excluding the NUL). */
#define KS_SLAB_NAME_MAX 63
/** The root memory cgroup: allocations charged to nobody. */
#define KS_MEMCG_ROOT 0

/**
 * struct ks_slab_opts - options of ks_slab_create(); {0} gives defaults.
 * @topo:  topology whose CPUs index the per-CPU caches (NULL: the real one).
 * @locks: lock_stat registry (NULL: a private one).
 * @mem:   memory accounting domain (NULL: a private one).
 * @slab_order: every slab is 4096 << @slab_order bytes, 0..3 (default 0).
 * @cpu_cache_objs: objects per per-CPU cache, 0 = 16, at most 256.
 * @sysfs_nodes_per_cache: modelled sysfs/kernfs nodes per cache (0 = 30,
 *         the count of /sys/kernel/slab/<cache>/ files on Linux 6.18).
 * @rcu_batch: slab-free RCU callbacks a CPU holds before handing them to
 *         RCU (0 = 16); see docs/slab.md, "why a late callback shows".
 */
struct ks_slab_opts {
	const struct ks_topo *topo;
	struct ks_lockstat *locks;
	struct ks_mem *mem;
	unsigned int slab_order;
	unsigned int cpu_cache_objs;
	unsigned int sysfs_nodes_per_cache;
	unsigned int rcu_batch;
};

/**
 * struct ks_slab_stats - what every strategy reports, cumulative unless
 * marked "now" or "peak".
 * @root_caches:      root caches now.
 * @child_caches:     per-memcg caches now (active and dying).
 * @caches_peak:      peak of root + child caches.
 * @memcgs_online:    cgroups now online (not counting the root).
 * @memcgs_dying:     cgroups removed but not yet released.
 * @offlines, @releases: cgroups offlined / released.
 * @offline_visits:   list entries visited by offline (css_offline) paths.
 * @release_visits:   list entries visited by release (css_free) paths.
 * @create_visits:    entries visited creating cgroups and caches (e.g.
 *                    resizing every root's memcg_caches array).
 * @sync_gp:          synchronous grace periods and barriers waited.
 * @sync_gp_cgroup_mutex: of which with cgroup_mutex held.
 * @rcu_barriers:     rcu_barrier()s among @sync_gp.
 * @async_rcu:        call_rcu()s queued to deactivate or free caches.
 * @sysfs_nodes:      modelled sysfs nodes now; @sysfs_nodes_peak its peak.
 * @objs_live:        objects allocated and not freed, now.
 * @slabs_live:       slabs now; @slab_bytes their bytes.
 * @meta_bytes:       bytes of kmem_cache, per-CPU caches, arrays, memcg and
 *                    obj_cgroup structures now (slabs excluded).
 * @late_rcu_callbacks: slab-free RCU callbacks that found their kmem_cache
 *                    already freed (only "call-rcu-only" makes any).
 * @unsafe_cache_frees: kmem_caches freed while slab-free callbacks were
 *                    still pending.
 * @slabinfo_reads:   read() calls on slabinfo files; @slabinfo_visits list
 *                    entries they visited.
 */
struct ks_slab_stats {
	uint64_t root_caches;
	uint64_t child_caches;
	uint64_t caches_peak;
	uint64_t memcgs_online;
	uint64_t memcgs_dying;
	uint64_t offlines;
	uint64_t releases;
	uint64_t offline_visits;
	uint64_t release_visits;
	uint64_t create_visits;
	uint64_t sync_gp;
	uint64_t sync_gp_cgroup_mutex;
	uint64_t rcu_barriers;
	uint64_t async_rcu;
	uint64_t sysfs_nodes;
	uint64_t sysfs_nodes_peak;
	int64_t objs_live;
	int64_t slabs_live;
	int64_t slab_bytes;
	int64_t meta_bytes;
	uint64_t late_rcu_callbacks;
	uint64_t unsafe_cache_frees;
	uint64_t slabinfo_reads;
	uint64_t slabinfo_visits;
};

/**
 * ks_slab_strategies() - the strategies ks_slab_create() accepts.
 * @n: receives the number of entries.
 *
 * Context: any. Return: a static array, or NULL (with *@n untouched) for a
 * NULL @n.
 */
const struct ks_strategy_info *ks_slab_strategies(size_t *n);

/**
 * ks_slab_create() - a slab allocator with its cgroup tree.
 * @strategy: a name from ks_slab_strategies().
 * @opts:     options, or NULL for the defaults.
 * @out:      receives the system.
 *
 * Context: any thread; may sleep; starts one worker thread.
 * Return: 0; -EINVAL for a NULL @strategy or @out or an option out of
 * range; -ENOENT for an unknown strategy; -ENOMEM; -EAGAIN when the worker
 * thread could not be started.
 */
int ks_slab_create(const char *strategy, const struct ks_slab_opts *opts,
		   struct ks_slab_sys **out);

/**
 * ks_slab_destroy() - flush all pending work, then free everything: caches,
 * live objects, cgroups. Handles into @s become invalid. NULL is ignored.
 * @s: the system; every slabinfo file on it closed.
 *
 * Context: any thread outside an RCU read-side section (an unregistered one
 * is registered for the call); sleeps.
 */
void ks_slab_destroy(struct ks_slab_sys *s);

/**
 * ks_slab_strategy() - the strategy name @s was created with.
 * @s: the system.
 *
 * Context: any. Return: the name, or NULL for a NULL @s.
 */
const char *ks_slab_strategy(const struct ks_slab_sys *s);

/**
 * ks_slab_flush() - wait until deferred work is done: RCU callbacks,
 * deactivation and destruction work, and the RCU callbacks it queued.
 * @s: the system.
 *
 * Context: a registered RCU thread outside a read-side section; sleeps.
 * Return: 0; -EINVAL for NULL @s; -EPERM for an unregistered thread;
 * -EDEADLK inside a read-side section or an RCU callback.
 */
int ks_slab_flush(struct ks_slab_sys *s);

/**
 * ks_slab_stats() - snapshot the counters.
 * @s: the system. @out: receives them.
 *
 * Context: any thread; lockless (a concurrent change may be half seen).
 * Return: 0; -EINVAL for NULL arguments.
 */
int ks_slab_stats(const struct ks_slab_sys *s, struct ks_slab_stats *out);

/* ---- caches ----------------------------------------------------------- */

/**
 * ks_kmem_cache_create() - create a root cache (kmem_cache_create()).
 * @s:     the system.
 * @name:  1..KS_SLAB_NAME_MAX characters, no whitespace, unique in @s.
 * @size:  object size, 1 .. ks_kmem_cache_max_size(@s).
 * @align: 0 (default, 8) or a power of two up to 4096.
 * @flags: KS_SLAB_* flags.
 * @out:   receives the cache.
 *
 * Unlike the kernel, which only warns about a duplicate name under
 * CONFIG_DEBUG_VM, a duplicate is refused.
 *
 * Context: a registered RCU thread; takes slab_mutex; may sleep.
 * Return: 0; -EINVAL for NULL arguments, a bad name, @size 0 or too big for
 * a slab, a bad @align or unknown @flags; -EPERM for a thread not
 * registered with RCU; -EEXIST for a duplicate name; -ENOMEM.
 */
int ks_kmem_cache_create(struct ks_slab_sys *s, const char *name, size_t size,
			 size_t align, unsigned int flags,
			 struct ks_kmem_cache **out);

/**
 * ks_kmem_cache_max_size() - the largest object size @s accepts (a slab
 * less its header).
 * @s: the system.
 *
 * Context: any. Return: the size in bytes, or -EINVAL for NULL.
 */
long ks_kmem_cache_max_size(const struct ks_slab_sys *s);

/**
 * ks_kmem_cache_destroy() - destroy a root cache and its per-memcg caches
 * (kmem_cache_destroy()).
 * @c: the cache.
 *
 * As the kernel keeps a cache that still has objects ("Slab cache still has
 * objects"), a cache with live objects, in it or in any of its per-memcg
 * caches, is kept unchanged and -EBUSY returned. On success @c is invalid.
 *
 * Context: a registered RCU thread outside a read-side section; takes
 * slab_mutex; may wait for an RCU barrier. As in the kernel, nobody may
 * allocate from @c meanwhile.
 * Return: 0; -EINVAL for NULL; -EPERM for an unregistered thread; -EBUSY
 * while objects are live.
 */
int ks_kmem_cache_destroy(struct ks_kmem_cache *c);

/**
 * ks_kmem_cache_alloc() - allocate an object, charged to cgroup @memcg.
 * @c:     the root cache.
 * @memcg: a cgroup id from ks_memcg_create(), or KS_MEMCG_ROOT for none.
 * @out:   receives the object.
 *
 * Under the per-memcg strategies, the first allocation of a cgroup from @c
 * creates its child cache (synchronously here; a work item in the kernel).
 *
 * Context: a registered RCU thread. The object comes from the calling CPU's
 * cache (ks_cpu_current()).
 * Return: 0; -EINVAL for NULL arguments; -EPERM for an unregistered
 * thread; -ENOENT when @memcg is not an online cgroup; -ENOMEM.
 */
int ks_kmem_cache_alloc(struct ks_kmem_cache *c, uint64_t memcg, void **out);

/**
 * ks_kmem_cache_free() - free an object of @c (kmem_cache_free()).
 * @c:   the root cache it was allocated from.
 * @obj: the object; NULL is ignored.
 *
 * Context: a registered RCU thread. May release a dying cgroup (its release
 * work then runs on the worker).
 * Return: 0; -EINVAL for a NULL @c, an object of another cache of the same
 * system, an address that is not an object's start, or an object that is
 * not allocated (a double free); -EPERM for an unregistered thread. Nothing
 * changes on error. @obj must come from a cache of the same system (the
 * slab header is found by masking its address).
 */
int ks_kmem_cache_free(struct ks_kmem_cache *c, void *obj);

/**
 * ks_kmem_cache_shrink() - give empty slabs back and drain the per-CPU
 * caches of @c and its children (kmem_cache_shrink()).
 * Context: a registered RCU thread; takes slab_mutex.
 * Return: 0; -EINVAL for NULL; -EPERM for an unregistered thread.
 */
int ks_kmem_cache_shrink(struct ks_kmem_cache *c);

/**
 * struct ks_kmem_cache_info - one root cache, its children summed in.
 */
struct ks_kmem_cache_info {
	char name[KS_SLAB_NAME_MAX + 1];
	size_t object_size; /* as created */
	size_t size;        /* per object in a slab, with alignment */
	unsigned int flags;
	unsigned int objs_per_slab;
	uint64_t children;  /* per-memcg caches now */
	int64_t active_objs;
	int64_t num_objs;
	int64_t slabs;
};

/**
 * ks_kmem_cache_info() - describe @c, its children and twin summed in.
 * @c: the cache. @out: receives the description.
 *
 * Context: any thread; takes slab_mutex. Return: 0; -EINVAL for NULL.
 */
int ks_kmem_cache_info(struct ks_kmem_cache *c, struct ks_kmem_cache_info *out);

/* ---- memory cgroups --------------------------------------------------- */

/**
 * ks_memcg_create() - create a cgroup (mkdir).
 * @s:      the system.
 * @parent: the parent's id (KS_MEMCG_ROOT for the root).
 * @out:    receives the new id; ids are never reused.
 *
 * Context: a registered RCU thread; takes cgroup_mutex.
 * Return: 0; -EINVAL for NULL arguments; -EPERM for an unregistered
 * thread; -ENOENT when @parent is not online; -ENOSPC when 65535 cgroups already hold a kmem cache id
 * (MEMCG_CACHES_MAX_SIZE, per-memcg strategies); -ENOMEM.
 */
int ks_memcg_create(struct ks_slab_sys *s, uint64_t parent, uint64_t *out);

/**
 * ks_memcg_remove() - remove a cgroup (rmdir): offline it now, release it
 * when nothing it was charged for is left.
 * @s: the system. @id: the cgroup.
 *
 * Context: a registered RCU thread outside a read-side section; takes
 * cgroup_mutex and, per strategy, waits for grace periods under it.
 * Return: 0; -EINVAL for NULL @s or the root; -EPERM for an unregistered
 * thread; -EDEADLK inside an RCU read-side section; -ENOENT for an id
 * that is not online (never created, or removed already); -EBUSY when it
 * has online children.
 */
int ks_memcg_remove(struct ks_slab_sys *s, uint64_t id);

/**
 * struct ks_memcg_stats - one cgroup's charges (hierarchical, like
 * memory.kmem.usage_in_bytes: a parent includes its children).
 * @online:       false once removed.
 * @objs:         objects charged now.
 * @bytes:        bytes charged now: whole slabs under the per-memcg
 *                strategies, object sizes under objcg-*.
 * @child_caches: per-memcg caches it owns now.
 */
struct ks_memcg_stats {
	bool online;
	int64_t objs;
	int64_t bytes;
	uint64_t child_caches;
};

/**
 * ks_memcg_stats() - read a cgroup's charges.
 * @s: the system. @id: a cgroup not yet released. @out: receives them.
 *
 * Context: a registered RCU thread.
 * Return: 0; -EINVAL for NULL arguments; -EPERM for an unregistered
 * thread; -ENOENT once the cgroup has been released (or never existed).
 */
int ks_memcg_stats(struct ks_slab_sys *s, uint64_t id, struct ks_memcg_stats *out);

/* ---- /proc/slabinfo --------------------------------------------------- */

/** The two header lines of /proc/slabinfo version 2.1, with newlines. */
extern const char ks_slabinfo_header[];

/**
 * ks_slabinfo_iterators() - the iterators ks_slabinfo_open() accepts:
 * "reseek" and "cursor".
 * @n: receives the count.
 *
 * Context: any. Return: a static array, or NULL for NULL @n.
 */
const struct ks_strategy_info *ks_slabinfo_iterators(size_t *n);

/**
 * ks_slabinfo_open() - open /proc/slabinfo.
 * @s:    the system.
 * @iter: "reseek", "cursor", or NULL for "reseek".
 * @out:  receives the file.
 *
 * Context: a registered RCU thread.
 * Return: 0; -EINVAL for NULL @s or @out; -ENOENT for an unknown @iter;
 * -EPERM for an unregistered thread; -ENOMEM. Close every file before
 * ks_slab_destroy().
 */
int ks_slabinfo_open(struct ks_slab_sys *s, const char *iter,
		     struct ks_slabinfo **out);

/**
 * ks_slabinfo_read() - read(2): copy up to @len bytes from the current
 * position. Each call fills at most one seq_file buffer (4096 bytes while
 * every row fits), as the kernel's seq_read_iter() does.
 * @f: the file. @buf: destination. @len: its size.
 *
 * Context: a registered RCU thread; takes slab_mutex per call.
 * Return: bytes copied, 0 at the end of the file; -EINVAL for NULL @f, or
 * NULL @buf with @len > 0; -EPERM for an unregistered thread; -ENOMEM.
 */
ssize_t ks_slabinfo_read(struct ks_slabinfo *f, char *buf, size_t len);

/**
 * ks_slabinfo_rewind() - lseek(fd, 0, SEEK_SET): the next read starts a new
 * pass, whose checks start over.
 * @f: the file.
 *
 * Context: the thread using @f. Return: 0; -EINVAL for NULL.
 */
int ks_slabinfo_rewind(struct ks_slabinfo *f);

/**
 * struct ks_slabinfo_pass - the checks of the last completed pass (from
 * offset 0 to end of file).
 * @rows:       rows read.
 * @missing:    caches alive for the whole pass but not shown.
 * @duplicates: rows shown more than once.
 * @chunks:     read() calls that filled the buffer (start() calls).
 * @visits:     list entries stepped over (start, next, children).
 */
struct ks_slabinfo_pass {
	uint64_t rows;
	uint64_t missing;
	uint64_t duplicates;
	uint64_t chunks;
	uint64_t visits;
};

/**
 * ks_slabinfo_last_pass() - the checks of the last completed pass.
 * @f: the file. @out: receives them.
 *
 * Context: the thread using @f.
 * Return: 0; -EINVAL for NULL arguments; -ENODATA when no pass has ended.
 */
int ks_slabinfo_last_pass(const struct ks_slabinfo *f, struct ks_slabinfo_pass *out);

/**
 * ks_slabinfo_close() - close @f; NULL is ignored.
 * @f: the file.
 *
 * Context: a registered RCU thread; takes slab_mutex when a cursor is linked.
 */
void ks_slabinfo_close(struct ks_slabinfo *f);

/**
 * struct ks_slabinfo_row - one parsed row of /proc/slabinfo 2.1.
 */
struct ks_slabinfo_row {
	char name[KS_SLAB_NAME_MAX + 1];
	unsigned long active_objs, num_objs;
	unsigned int objsize, objperslab, pagesperslab;
	unsigned int limit, batchcount, sharedfactor;
	unsigned long active_slabs, num_slabs, sharedavail;
};

/**
 * ks_slabinfo_parse_row() - parse one row (with or without its newline).
 * @line: the row. @out: receives the fields.
 *
 * Context: any. Return: 0; -EINVAL for NULL arguments or a line that is not
 * a row (the header, too few or too many fields, missing ":", "tunables"
 * or "slabdata" literals, a number out of range); -ENAMETOOLONG for a name
 * over KS_SLAB_NAME_MAX.
 */
int ks_slabinfo_parse_row(const char *line, struct ks_slabinfo_row *out);

#ifdef __cplusplus
}
#endif

#endif /* KSCALE_SLAB_H */
