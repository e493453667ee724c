/* SPDX-License-Identifier: MIT */
/*
 * Private to src/reclaim/: the workqueue model, the netns/fqdir objects and
 * the strategy ops table.
 */
#ifndef KSCALE_RECLAIM_INTERNAL_H
#define KSCALE_RECLAIM_INTERNAL_H

#include <kscale/reclaim.h>
#include <kscale/lock.h>
#include <kscale/mem.h>
#include <kscale/rcu.h>

#include <pthread.h>

/* ---- lock-free list, as include/linux/llist.h ------------------------- */
struct llnode {
	struct llnode *next;
};

/* llist_add(): return true when the list was empty before. */
static inline bool ll_add(struct llnode *n, struct llnode **head)
{
	struct llnode *first = __atomic_load_n(head, __ATOMIC_RELAXED);

	do {
		n->next = first;
	} while (!__atomic_compare_exchange_n(head, &first, n, true, __ATOMIC_RELEASE,
					      __ATOMIC_RELAXED));
	return first == NULL;
}

/* llist_del_all() */
static inline struct llnode *ll_del_all(struct llnode **head)
{
	return __atomic_exchange_n(head, NULL, __ATOMIC_ACQUIRE);
}

/* ---- workqueue model (kernel/workqueue.c, much reduced) ---------------- */
struct rwork;
typedef void (*rwork_fn)(struct rwork *w);

struct rwork {
	struct rwork *next;
	rwork_fn fn;
	uint64_t due_ns;  /* delayed work: when it becomes runnable */
	int pending;      /* WORK_STRUCT_PENDING: queued and not yet started */
};

struct rwq;

/*
 * rwq_create() - a pool of @nr_threads workers (system_wq: one per CPU; an
 * ordered queue: 1), allocated from @type. Workers register with RCU and
 * label themselves with CPU i % nr_cpus.
 */
int rwq_create(int nr_threads, int nr_cpus, struct ks_lock_class *cls, struct ks_mem_type *type,
	       struct rwq **out);
/* Run everything queued (delayed work included), stop the workers, free. */
void rwq_destroy(struct rwq *wq);
/* queue_work(): false when @w was pending already. */
bool rwq_queue(struct rwq *wq, struct rwork *w, rwork_fn fn);
/* queue_delayed_work(): runnable @delay_ns from now. */
bool rwq_queue_delayed(struct rwq *wq, struct rwork *w, rwork_fn fn, uint64_t delay_ns);
void rwq_counts(const struct rwq *wq, uint64_t *queued, uint64_t *executed,
		uint64_t *max_depth);
/* Items queued or running now. */
long rwq_busy(const struct rwq *wq);

/* ---- objects ------------------------------------------------------------ */
#define FQDIR_MAGIC 0x66716469u /* "fqdi" */
#define FRAG_MAGIC 0x66726167u  /* "frag" */
#define NET_MAGIC 0x6e657473u   /* "nets" */
#define POISON_MAGIC 0x6b6b6b6bu /* POISON_FREE, include/linux/poison.h */
#define NET_FREED_MAGIC 0x6e657466u /* "netf": a namespace header in quarantine */

/*
 * The netns quarantine (netns.c) catches a put through a stale pointer after
 * the namespace was freed. It is a debug feature: on without NDEBUG, and in
 * ThreadSanitizer builds (RelWithDebInfo, so NDEBUG) so that TSan checks its
 * concurrent paths; release builds compile it out through the constant, as
 * jemalloc's config_* flags do, so the off build still compiles.
 */
#if defined(__SANITIZE_THREAD__)
#define RECLAIM_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RECLAIM_TSAN 1
#endif
#endif
#if !defined(NDEBUG) || defined(RECLAIM_TSAN)
static const bool reclaim_quarantine = true;
#else
static const bool reclaim_quarantine = false;
#endif

struct frag_queue {
	unsigned int magic;
	struct ks_reclaim *r;
	struct frag_queue *next; /* hash chain, RCU */
	struct fqdir *fqdir;
	uint64_t key;
	struct ks_rcu_head rcu;
};

enum { OBJ_LIVE = 0, OBJ_FREED = 1 };

struct fqdir {
	unsigned int magic;
	int dead;                  /* fqdir_pre_exit() */
	int state;                 /* OBJ_LIVE / OBJ_FREED: double-free check */
	struct ks_reclaim *r;
	struct ks_netns *net;
	unsigned int nr_buckets;
	struct frag_queue **hash;  /* buckets, RCU chains */
	long cb_pending;           /* fragment callbacks queued, not yet run */
	long refs;                 /* "refcount": 1 + cb_pending */
	struct rwork destroy_work; /* fqdir_work_fn */
	struct llnode free_node;   /* fqdir_free_list */
};

struct ks_netns {
	unsigned int magic;
	long count;                /* passive+active refs collapsed: put_net() */
	long fq_refs;              /* "refcount": fqdirs not yet freed + 1 */
	struct ks_reclaim *r;
	void *payload;
	struct ks_netns *next, *prev; /* net_namespace_list, next is RCU */
	struct llnode cleanup_node;   /* cleanup_list */
	struct ks_netns *exit_next;   /* net_exit_list of one batch */
	struct fqdir *fqdir[KS_RECLAIM_MAX_FQDIRS];
};

struct reclaim_ops {
	const char *name;
	/* fqdir_exit(): called by cleanup_net after the batch's grace period. */
	void (*fqdir_exit)(struct ks_reclaim *r, struct fqdir *f);
	/* Whether cleanup_net ends with rcu_barrier() before net_free(). */
	bool net_barrier;
};

extern const struct reclaim_ops ks_reclaim_per_object_ops;
extern const struct reclaim_ops ks_reclaim_batched_ops;
extern const struct reclaim_ops ks_reclaim_batched_delayed_ops;
extern const struct reclaim_ops ks_reclaim_refcount_ops;

struct ks_reclaim {
	const struct reclaim_ops *ops;
	struct ks_mem *mem;
	struct ks_mem_type *t_net, *t_payload, *t_fqdir, *t_hash, *t_frag, *t_self;
	struct ks_rcu_barrier *barrier;
	struct rwq *system_wq;
	struct rwq *netns_wq;
	unsigned int fqdirs, frags, buckets;
	size_t netns_bytes;
	uint64_t delay_ns;

	struct ks_rwsem net_rwsem;
	struct ks_netns net_list; /* sentinel of net_namespace_list */

	struct llnode *cleanup_list ks_cacheline_aligned;
	struct rwork cleanup_work;
	struct llnode *fqdir_free_list ks_cacheline_aligned;
	struct rwork free_work;

	int flushing; /* ks_reclaim_flush(): the measurement is over */

	/*
	 * Quarantine of freed namespace headers: a ring of @quar_cap slots
	 * (NULL when compiled out); a free takes the next ticket and swaps
	 * its header into slot ticket % @quar_cap, really freeing the one it
	 * displaces, the oldest. Lock-free: frees run on call_rcu workers
	 * ("refcount") as well as on netns_wq.
	 */
	struct ks_netns **quar;
	struct ks_mem_type *t_quar;
	unsigned int quar_cap;
	uint64_t quar_next ks_cacheline_aligned;
	int64_t quarantined;
	uint64_t quar_evicted;
	int64_t pending_bytes ks_cacheline_aligned;
	int64_t pending_netns;
	long live_netns;
	uint64_t netns_created, netns_put, netns_freed, fqdirs_freed, frags_freed;
	uint64_t cleanup_batches, free_batches;
	uint64_t poison_hits, early_frees, double_frees;
};

/* Shared by the strategies (netns.c). */
void ks_reclaim_fqdir_destroy_table(struct ks_reclaim *r, struct fqdir *f);
void ks_reclaim_fqdir_free(struct ks_reclaim *r, struct fqdir *f);
void ks_reclaim_fqdir_put(struct ks_reclaim *r, struct fqdir *f);
/* fqdir_free_fn(): take the list, one barrier, free the batch. */
void ks_reclaim_free_batch(struct ks_reclaim *r);
/* llist_add() on fqdir_free_list; the first push queues fqdir_free_fn. */
void ks_reclaim_fqdir_queue_free(struct ks_reclaim *r, struct fqdir *f, uint64_t delay_ns);
int ks_reclaim_barrier(struct ks_reclaim *r);

static inline void stat_inc(uint64_t *p)
{
	__atomic_fetch_add(p, 1, __ATOMIC_RELAXED);
}

#endif /* KSCALE_RECLAIM_INTERNAL_H */
