/* SPDX-License-Identifier: MIT */
/*
 * reclaim: deferred destruction of objects that must outlive every RCU
 * callback that may reference them, modelled on network namespace teardown
 * (net/core/net_namespace.c cleanup_net(), net/ipv4/inet_fragment.c).
 *
 * A struct ks_reclaim is one "kernel": a strategy for freeing fqdirs, an
 * rcu_barrier model (kscale/rcu_barrier.h) with per-CPU call_rcu workers, a
 * system_wq-like pool of workers, an ordered single-threaded netns_wq, and a
 * list of live namespaces readers traverse under RCU.
 *
 * A namespace (struct ks_netns) owns @netns_bytes of payload (the seed's
 * ~300 KB of sockets and per-CPU state) and @fqdirs fragment-queue
 * directories (the kernel has one each for IPv4, IPv6, nf_defrag_ipv6 and
 * 6LoWPAN), each a hash table of @frags fragment queues. Fragment queues are
 * freed with call_rcu() and their callback dereferences the fqdir, so the
 * fqdir may be freed only after those callbacks ran: that is what the
 * strategies do differently.
 *
 *  - "per-object": Linux 5.3-5.10, one fqdir_work_fn per fqdir on system_wq:
 *    destroy the table, rcu_barrier(), free.
 *  - "batched": Linux 5.11 (0b9b24140681 "inet: frags: batch fqdir destroy
 *    works"): table destroy stays concurrent; the fqdir goes on a lock-free
 *    list whose first push queues one fqdir_free_fn that takes the whole
 *    list, calls rcu_barrier() once and frees the batch.
 *  - "batched-delayed": Eric Dumazet, "inet: frags: delay fqdir_free_fn()"
 *    (Apr 2024): the free work is queued with a delay (HZ) to gather more.
 *  - "refcount": beyond the kernel: every fqdir counts its pending
 *    callbacks, the last one frees it and drops a reference on the
 *    namespace, so neither fqdir teardown nor cleanup_net needs a barrier.
 *
 * Teardown of a namespace always runs as cleanup_net() does: ks_netns_put()
 * of the last reference pushes it on a lock-free list and the first push
 * queues the cleanup work on the ordered netns_wq; the work takes every
 * namespace queued so far (a batch), unlinks them, runs one synchronize_rcu
 * for the batch, calls fqdir_exit() on every fqdir and, except under
 * "refcount", one rcu_barrier() before freeing the namespaces.
 *
 * Memory is real (ks_mem types "net", "net_payload", "fqdir", "fqdir_hash",
 * "inet_frag_queue"); ks_reclaim_pending_bytes() is the memory of namespaces
 * that were put but not yet freed: the seed's falling "available memory".
 *
 * Debug builds (no NDEBUG) poison fqdirs and fragment queues when freeing
 * them, and every callback checks the fqdir it dereferences: a callback
 * that finds poison is counted in @poison_hits (and, under ASan, is a
 * use-after-free report).
 *
 * Debug builds, and ThreadSanitizer builds so that TSan checks it, also keep
 * the headers of freed namespaces in a per-domain quarantine (FIFO, the last
 * @quarantine freed): a put or get through a stale pointer to one of them is
 * refused with a documented error instead of touching freed memory. The
 * oldest header is really freed when the quarantine is full, and all of them
 * by ks_reclaim_destroy(). Quarantined headers are not in pending_bytes (the
 * model freed them); they stay live in the ks_mem type "net", and the ring in
 * "netns_quarantine". Release builds have no quarantine and no cost.
 */
#ifndef KSCALE_RECLAIM_H
#define KSCALE_RECLAIM_H

#include <kscale/types.h>
#include <kscale/rcu_barrier.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ks_topo;
struct ks_lockstat;
struct ks_mem;
struct ks_reclaim; /* opaque */
struct ks_netns;   /* opaque */

/** Most fqdirs a namespace may have; the kernel has four. */
#define KS_RECLAIM_MAX_FQDIRS 8
/** Default cap on system_wq workers. */
#define KS_RECLAIM_MAX_WQ_WORKERS 64
/** Debug builds: freed namespace headers quarantined by default. */
#define KS_RECLAIM_QUARANTINE 4096
/** Largest @quarantine accepted. */
#define KS_RECLAIM_MAX_QUARANTINE (1u << 20)

/**
 * struct ks_reclaim_opts - zero-initialisable options.
 * @topo:         topology (NULL: ks_topo_default()).
 * @locks:        lock_stat registry (NULL: uncounted).
 * @mem:          accounting domain (required).
 * @barrier:      "native", "kernel" or "waitq" (NULL: "kernel").
 * @gp_delay_us:  cost of a grace period, see kscale/rcu_barrier.h.
 * @delay_ms:     "batched-delayed": delay of the free work (0: 1000, HZ).
 * @wq_workers:   system_wq workers (0: one per CPU, at most
 *                KS_RECLAIM_MAX_WQ_WORKERS).
 * @rcu_workers:  cap on call_rcu workers (0: KS_RCU_BARRIER_MAX_WORKERS).
 * @fqdirs:       fqdirs per namespace, 1..KS_RECLAIM_MAX_FQDIRS (0: 4).
 * @frags:        fragment queues per fqdir (0: none, as in the seed).
 * @buckets:      hash buckets per fqdir (0: 16).
 * @netns_bytes:  payload per namespace (0: 300 KiB; use 1 for "almost none").
 * @quarantine:   debug builds: freed namespace headers kept to catch stale
 *                puts, 1..KS_RECLAIM_MAX_QUARANTINE (0: KS_RECLAIM_QUARANTINE);
 *                checked but unused in release builds.
 */
struct ks_reclaim_opts {
	const struct ks_topo *topo;
	struct ks_lockstat *locks;
	struct ks_mem *mem;
	const char *barrier;
	unsigned int gp_delay_us;
	unsigned int delay_ms;
	unsigned int wq_workers;
	unsigned int rcu_workers;
	unsigned int fqdirs;
	unsigned int frags;
	unsigned int buckets;
	size_t netns_bytes;
	unsigned int quarantine;
};

/**
 * struct ks_reclaim_stats - counts since creation.
 * @netns_created, @netns_put, @netns_freed: namespaces.
 * @fqdirs_freed, @frags_freed: objects freed.
 * @pending_bytes: memory of put namespaces not yet freed (now).
 * @pending_netns: namespaces put and not yet freed (now).
 * @cleanup_batches: cleanup_net() runs.
 * @free_batches: fqdir_free_fn() runs (batched strategies).
 * @wq_queued, @wq_executed, @wq_max_depth: system_wq items.
 * @ordered_queued, @ordered_executed: netns_wq items.
 * @poison_hits: callbacks that found their fqdir freed (must be 0).
 * @early_frees: fqdirs freed with callbacks still pending (must be 0).
 * @double_frees: objects found freed already when freeing, and puts
 *                refused with -EALREADY (0 unless the caller misuses the API).
 * @quarantine_cap: freed namespace headers the quarantine holds at most
 *                (0: release build, no quarantine).
 * @quarantined:  freed namespace headers held in quarantine now (not in
 *                @pending_bytes; live in ks_mem type "net").
 * @quarantine_evicted: headers really freed because the quarantine was full.
 * @barrier: the rcu_barrier model's counters.
 */
struct ks_reclaim_stats {
	uint64_t netns_created, netns_put, netns_freed;
	uint64_t fqdirs_freed, frags_freed;
	int64_t pending_bytes;
	int64_t pending_netns;
	uint64_t cleanup_batches, free_batches;
	uint64_t wq_queued, wq_executed, wq_max_depth;
	uint64_t ordered_queued, ordered_executed;
	uint64_t poison_hits, early_frees, double_frees;
	uint64_t quarantine_cap;
	int64_t quarantined;
	uint64_t quarantine_evicted;
	struct ks_rcu_barrier_stats barrier;
};

/**
 * ks_reclaim_strategies() - "per-object", "batched", "batched-delayed",
 * "refcount", with summary and source. @n: receives the count (may be NULL).
 * Context: any. Return: a static array.
 */
const struct ks_strategy_info *ks_reclaim_strategies(size_t *n);

/**
 * ks_reclaim_create() - create a reclaim domain and start its workers.
 * @strategy: a name from ks_reclaim_strategies().
 * @opts:     options; @opts->mem is required.
 * @out:      receives the domain.
 * Context: any thread; starts threads; may sleep.
 * Return: 0; -EINVAL for NULL arguments, NULL @opts->mem, an unknown
 * strategy or barrier, @fqdirs over KS_RECLAIM_MAX_FQDIRS or @quarantine
 * over KS_RECLAIM_MAX_QUARANTINE, no default topology, or a lock class of
 * the same name registered in @opts->locks with another scope; -ENOSPC when
 * @opts->locks has no room for another lock class or @opts->mem for another
 * type; -ENOMEM (also when a worker thread cannot be started).
 */
int ks_reclaim_create(const char *strategy, const struct ks_reclaim_opts *opts,
		      struct ks_reclaim **out);

/**
 * ks_reclaim_destroy() - flush (ks_reclaim_flush()) until every put
 * namespace is freed, stop the workers, release the quarantine, free the
 * domain. Destroying a domain twice is a use-after-free (as
 * kmem_cache_destroy() twice): the domain holds no record of its own end.
 * @r: domain (NULL ignored).
 * Context: a registered RCU thread outside read-side sections and callbacks.
 * Return: 0; -EBUSY when namespaces are still live (not put; nothing is
 * freed); -EDEADLK / -EPERM / -EIO as ks_reclaim_flush() (nothing freed).
 */
int ks_reclaim_destroy(struct ks_reclaim *r);

/**
 * ks_netns_create() - create a namespace (setup_net()): payload, fqdirs
 * and their fragment queues, linked on the namespace list with one
 * reference held by the caller.
 * @r: domain. @out: receives the namespace.
 * Context: any thread; takes "net_rwsem" for writing.
 * Return: 0; -EINVAL for NULL arguments; -ENOMEM (nothing left allocated).
 */
int ks_netns_create(struct ks_reclaim *r, struct ks_netns **out);

/**
 * ks_netns_get() - take another reference (get_net()).
 * @ns: namespace.
 * Context: any thread holding a reference.
 * Return: 0; -EINVAL for NULL; -ENOENT when its count already reached 0,
 * or (debug builds) @ns is a stale pointer to a freed namespace still in
 * quarantine.
 */
int ks_netns_get(struct ks_netns *ns);

/**
 * ks_netns_put() - drop the reference in *@nsp and clear *@nsp; the last
 * reference queues the namespace for cleanup_net (put_net()).
 * @r:   domain it was created in.
 * @nsp: the caller's pointer to the namespace.
 * Context: any thread. Never sleeps.
 * Return: 0; -EINVAL for NULL @r or @nsp or a namespace of another domain
 * (*@nsp is left as it was); -EALREADY for a put too many: *@nsp is NULL
 * (already put through this pointer), the count was already 0 (a put
 * through a stale copy while the namespace is being torn down), or (debug
 * builds) the namespace was freed and its header is still in quarantine.
 * On -EALREADY *@nsp is cleared, nothing else changes and @double_frees
 * counts it. A stale put after the header left the quarantine (more than
 * @quarantine namespaces freed since), or in a release build, is a
 * use-after-free, as in the kernel.
 */
int ks_netns_put(struct ks_reclaim *r, struct ks_netns **nsp);

/**
 * ks_reclaim_lookup() - an RCU reader: walk every live namespace's fqdirs
 * and fragment queues under ks_rcu_read_lock(), checking each object's
 * magic (as a packet looking up its reassembly queue would).
 * @r: domain. @key: fragment key to look for. @found: receives how many
 * queues matched (may be NULL).
 * Context: a registered RCU thread.
 * Return: the number of fragment queues visited (>= 0); -EINVAL for NULL
 * @r; -EPERM for an unregistered thread; -EFAULT when a poisoned object was
 * reached (a freed object still visible to readers: a bug).
 */
long ks_reclaim_lookup(struct ks_reclaim *r, uint64_t key, uint64_t *found);

/**
 * ks_reclaim_drain() - wait until every namespace put so far is freed.
 * @r: domain.
 * Context: a registered RCU thread outside read-side sections and callbacks;
 * sleeps (a "batched-delayed" domain waits for its delay).
 * Return: 0; -EINVAL for NULL; -EDEADLK / -EPERM as ks_rcu_barrier_wait();
 * -EIO when memory stays pending with nothing left to run for 2 s: objects
 * a broken strategy freed early or found poisoned were leaked on purpose
 * (see @early_frees, @poison_hits), so the domain cannot drain.
 */
int ks_reclaim_drain(struct ks_reclaim *r);

/**
 * ks_reclaim_flush() - end a run: from now on fqdirs still waiting are
 * freed in batches, one barrier per batch, whatever the strategy (a
 * "per-object" backlog of thousands of fqdirs would otherwise take a barrier
 * each), and a "batched-delayed" free work is queued without delay; then
 * wait as ks_reclaim_drain(). Not part of any measurement: the strategy's
 * counts after it are no longer its own.
 * @r: domain.
 * Context: as ks_reclaim_drain().
 * Return: as ks_reclaim_drain(); when refused (-EINVAL, -EPERM, -EDEADLK)
 * nothing changes and the measurement goes on.
 */
int ks_reclaim_flush(struct ks_reclaim *r);

/**
 * ks_reclaim_pending_bytes() - memory of put namespaces not yet freed.
 * @r: domain.
 * Context: any; cheap (one load). Return: bytes, or -EINVAL for NULL @r.
 */
int64_t ks_reclaim_pending_bytes(const struct ks_reclaim *r);

/**
 * ks_reclaim_stats() - snapshot the counters.
 * @r:   domain.
 * @out: receives them.
 * Context: any thread; takes each workqueue's pool lock briefly.
 * Return: 0; -EINVAL for NULL arguments.
 */
int ks_reclaim_stats(const struct ks_reclaim *r, struct ks_reclaim_stats *out);

/**
 * ks_reclaim_netns_bytes() - memory one namespace holds (payload, fqdirs,
 * tables, fragment queues, struct).
 * @r: domain.
 * Context: any. Return: bytes, or -EINVAL for NULL @r.
 */
int64_t ks_reclaim_netns_bytes(const struct ks_reclaim *r);

#ifdef __cplusplus
}
#endif

#endif /* KSCALE_RECLAIM_H */
