// SPDX-License-Identifier: MIT
/*
 * The network namespace model: setup_net()/put_net()/cleanup_net() from
 * net/core/net_namespace.c and the fqdir life cycle of
 * net/ipv4/inet_fragment.c (Linux 5.10 and later), with the fqdir free
 * step delegated to the strategy (per_object.c, batched.c, ...).
 */
#include "internal.h"

#include <kscale/topo.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct reclaim_ops *const strategies[] = {
	&ks_reclaim_per_object_ops,
	&ks_reclaim_batched_ops,
	&ks_reclaim_batched_delayed_ops,
	&ks_reclaim_refcount_ops,
};

const struct ks_strategy_info *ks_reclaim_strategies(size_t *n)
{
	static const struct ks_strategy_info infos[] = {
		{ "per-object", "fqdir_work_fn per fqdir on system_wq: table destroy, rcu_barrier(), free",
		  "net/ipv4/inet_fragment.c fqdir_work_fn(), Linux 5.3-5.10" },
		{ "batched", "table destroy per fqdir, then one fqdir_free_fn: llist_del_all, one rcu_barrier() per batch",
		  "0b9b24140681 inet: frags: batch fqdir destroy works (SeongJae Park), Linux 5.11" },
		{ "batched-delayed", "batched, with the free work delayed (HZ) to gather more fqdirs per barrier",
		  "Eric Dumazet, inet: frags: delay fqdir_free_fn(), Apr 2024" },
		{ "refcount", "each fqdir counts its pending callbacks; the last frees it and drops the netns: no barrier",
		  "beyond the kernel (kscale)" },
	};

	if (n)
		*n = KS_ARRAY_SIZE(infos);
	return infos;
}

static void add64(int64_t *p, int64_t v)
{
	__atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}

static size_t fqdir_bytes(const struct ks_reclaim *r)
{
	return sizeof(struct fqdir) + r->buckets * sizeof(struct frag_queue *);
}

int64_t ks_reclaim_netns_bytes(const struct ks_reclaim *r)
{
	if (!r)
		return -EINVAL;
	return (int64_t)(sizeof(struct ks_netns) + r->netns_bytes +
			 r->fqdirs * (fqdir_bytes(r) + r->frags * sizeof(struct frag_queue)));
}

static void poison(void *p, size_t len)
{
#ifndef NDEBUG
	memset(p, 0x6b, len);
#else
	(void)p;
	(void)len;
#endif
}

/* ---- fragment queues ------------------------------------------------- */

/*
 * inet_frag_destroy_rcu(): runs after a grace period on a call_rcu worker
 * and dereferences the fqdir (q->fqdir->f in the kernel): the reason the
 * fqdir must outlive it.
 */
static void frag_free_rcu(struct ks_rcu_head *head)
{
	struct frag_queue *fq = ks_container_of(head, struct frag_queue, rcu);
	struct ks_reclaim *r = fq->r;
	struct fqdir *f = fq->fqdir;

	if (fq->magic != FRAG_MAGIC || f->magic != FQDIR_MAGIC) {
		/*
		 * The fqdir was freed under us: the strategy broke its
		 * promise. Count it and leak the queue rather than free twice.
		 */
		stat_inc(&r->poison_hits);
		return;
	}
	fq->magic = POISON_MAGIC;
	poison(fq, sizeof(*fq));
	ks_mem_free(r->t_frag, fq, sizeof(*fq));
	add64(&r->pending_bytes, -(int64_t)sizeof(*fq));
	stat_inc(&r->frags_freed);
	/* Last access to the fqdir: a release the freeing side acquires. */
	if (r->ops == &ks_reclaim_refcount_ops)
		ks_reclaim_fqdir_put(r, f);
	else
		__atomic_fetch_sub(&f->cb_pending, 1, __ATOMIC_RELEASE);
}

/*
 * rhashtable_free_and_destroy(&fqdir->rhashtable, inet_frags_free_cb):
 * every queue still hashed is destroyed, i.e. freed with call_rcu().
 * Readers cannot reach the table any more (cleanup_net unlinked the
 * namespace and waited for a grace period), but the queues themselves are
 * still freed through RCU as inet_frag_destroy() always does.
 */
void ks_reclaim_fqdir_destroy_table(struct ks_reclaim *r, struct fqdir *f)
{
	for (unsigned int b = 0; b < f->nr_buckets; b++) {
		struct frag_queue *fq = f->hash[b], *next;

		ks_rcu_assign_pointer(f->hash[b], NULL);
		for (; fq; fq = next) {
			next = fq->next;
			if (r->ops == &ks_reclaim_refcount_ops)
				__atomic_fetch_add(&f->refs, 1, __ATOMIC_RELAXED);
			else
				__atomic_fetch_add(&f->cb_pending, 1, __ATOMIC_RELAXED);
			if (ks_rcu_barrier_call_rcu(r->barrier, &fq->rcu, frag_free_rcu)) {
				/* Cannot happen from our registered workers; do not leak. */
				if (r->ops == &ks_reclaim_refcount_ops)
					__atomic_fetch_sub(&f->refs, 1, __ATOMIC_RELAXED);
				else
					__atomic_fetch_sub(&f->cb_pending, 1, __ATOMIC_RELAXED);
				ks_mem_free(r->t_frag, fq, sizeof(*fq));
				add64(&r->pending_bytes, -(int64_t)sizeof(*fq));
			}
		}
	}
}

/* ---- fqdirs and namespaces --------------------------------------------- */

/*
 * Debug builds: instead of freeing a namespace header, poison it, mark it
 * freed and park it in the domain's quarantine, so that a put through a
 * stale pointer finds NET_FREED_MAGIC rather than reused memory (KASAN's
 * quarantine, mm/kasan/quarantine.c, does this for every slab object; we go
 * beyond the kernel's refcount_t, which only catches puts before the free).
 * The ring is FIFO by ticket: the slot a free lands in holds the header
 * freed @quar_cap frees earlier, the oldest, and that one is really freed.
 * Two frees racing for one slot (tickets @quar_cap apart) each swap
 * atomically, so each displaced header is freed exactly once.
 */
static void quarantine_put(struct ks_reclaim *r, struct ks_netns *ns)
{
	struct ks_netns *old;
	uint64_t t;

	poison(ns, sizeof(*ns));
	ns->magic = NET_FREED_MAGIC;
	ns->r = r;
	ns->count = 0;
	t = __atomic_fetch_add(&r->quar_next, 1, __ATOMIC_RELAXED);
	old = __atomic_exchange_n(&r->quar[t % r->quar_cap], ns, __ATOMIC_ACQ_REL);
	if (old) {
		ks_mem_free(r->t_net, old, sizeof(*old));
		stat_inc(&r->quar_evicted);
	} else {
		add64(&r->quarantined, 1);
	}
}

/* ks_reclaim_destroy(): really free every header still in quarantine. */
static void quarantine_release(struct ks_reclaim *r)
{
	if (!r->quar)
		return;
	for (unsigned int i = 0; i < r->quar_cap; i++) {
		struct ks_netns *ns = __atomic_exchange_n(&r->quar[i], NULL, __ATOMIC_ACQ_REL);

		if (ns) {
			ks_mem_free(r->t_net, ns, sizeof(*ns));
			add64(&r->quarantined, -1);
		}
	}
	ks_mem_free(r->t_quar, r->quar, r->quar_cap * sizeof(*r->quar));
	r->quar = NULL;
}

static void net_free(struct ks_reclaim *r, struct ks_netns *ns)
{
	ks_mem_free(r->t_payload, ns->payload, r->netns_bytes);
	if (reclaim_quarantine && r->quar) {
		quarantine_put(r, ns);
	} else {
		ns->magic = POISON_MAGIC;
		ks_mem_free(r->t_net, ns, sizeof(*ns));
	}
	/* Freed as far as the model goes: quarantine is outside pending_bytes. */
	add64(&r->pending_bytes, -(int64_t)(sizeof(*ns) + r->netns_bytes));
	stat_inc(&r->netns_freed);
	/*
	 * Last: ks_reclaim_drain() returns once it reads 0 here (acquire), so
	 * the caller sees this free complete, counts and quarantine included,
	 * even when a call_rcu worker did it ("refcount").
	 */
	__atomic_fetch_sub(&r->pending_netns, 1, __ATOMIC_RELEASE);
}

void ks_reclaim_fqdir_free(struct ks_reclaim *r, struct fqdir *f)
{
	struct ks_netns *net = f->net;

	if (__atomic_exchange_n(&f->state, OBJ_FREED, __ATOMIC_ACQ_REL) == OBJ_FREED) {
		stat_inc(&r->double_frees);
		return;
	}
	/* Pairs with the release in frag_free_rcu(): every callback is done. */
	if (r->ops != &ks_reclaim_refcount_ops &&
	    __atomic_load_n(&f->cb_pending, __ATOMIC_ACQUIRE) != 0) {
		/* Freeing now would be the use-after-free: count it and leak. */
		stat_inc(&r->early_frees);
		return;
	}
	ks_mem_free(r->t_hash, f->hash, f->nr_buckets * sizeof(*f->hash));
	f->magic = POISON_MAGIC;
	poison(f, sizeof(*f));
	ks_mem_free(r->t_fqdir, f, sizeof(*f));
	add64(&r->pending_bytes, -(int64_t)fqdir_bytes(r));
	stat_inc(&r->fqdirs_freed);
	/* "refcount": the last fqdir frees the namespace it kept alive. */
	if (r->ops == &ks_reclaim_refcount_ops &&
	    __atomic_sub_fetch(&net->fq_refs, 1, __ATOMIC_ACQ_REL) == 0)
		net_free(r, net);
}

void ks_reclaim_fqdir_put(struct ks_reclaim *r, struct fqdir *f)
{
	if (__atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) == 0)
		ks_reclaim_fqdir_free(r, f);
}

int ks_reclaim_barrier(struct ks_reclaim *r)
{
	return ks_rcu_barrier_wait(r->barrier);
}

void ks_reclaim_free_batch(struct ks_reclaim *r)
{
	struct llnode *n = ll_del_all(&r->fqdir_free_list), *next;

	if (!n)
		return;
	/* "We need to make sure all ongoing call_rcu(..., inet_frag_destroy_rcu)
	 * have completed, since they need to dereference fqdir." */
	ks_reclaim_barrier(r);
	stat_inc(&r->free_batches);
	for (; n; n = next) {
		next = n->next;
		ks_reclaim_fqdir_free(r, ks_container_of(n, struct fqdir, free_node));
	}
}

static void fqdir_free_fn(struct rwork *w)
{
	ks_reclaim_free_batch(ks_container_of(w, struct ks_reclaim, free_work));
}

void ks_reclaim_fqdir_queue_free(struct ks_reclaim *r, struct fqdir *f, uint64_t delay_ns)
{
	/* Only the push that finds the list empty queues the free work. */
	if (!ll_add(&f->free_node, &r->fqdir_free_list))
		return;
	if (delay_ns)
		rwq_queue_delayed(r->system_wq, &r->free_work, fqdir_free_fn, delay_ns);
	else
		rwq_queue(r->system_wq, &r->free_work, fqdir_free_fn);
}

static void fqdir_release_unused(struct ks_reclaim *r, struct fqdir *f)
{
	for (unsigned int b = 0; b < f->nr_buckets; b++) {
		struct frag_queue *fq = f->hash[b], *next;

		for (; fq; fq = next) {
			next = fq->next;
			ks_mem_free(r->t_frag, fq, sizeof(*fq));
		}
	}
	ks_mem_free(r->t_hash, f->hash, f->nr_buckets * sizeof(*f->hash));
	ks_mem_free(r->t_fqdir, f, sizeof(*f));
}

/* fqdir_init() plus some inet_frag_create(): a populated table. */
static struct fqdir *fqdir_init(struct ks_reclaim *r, struct ks_netns *net, unsigned int idx)
{
	struct fqdir *f = ks_mem_zalloc(r->t_fqdir, sizeof(*f));

	if (!f)
		return NULL;
	f->magic = FQDIR_MAGIC;
	f->r = r;
	f->net = net;
	f->nr_buckets = r->buckets;
	f->refs = 1;
	f->hash = ks_mem_zalloc(r->t_hash, r->buckets * sizeof(*f->hash));
	if (!f->hash) {
		ks_mem_free(r->t_fqdir, f, sizeof(*f));
		return NULL;
	}
	for (unsigned int i = 0; i < r->frags; i++) {
		struct frag_queue *fq = ks_mem_zalloc(r->t_frag, sizeof(*fq));
		unsigned int b;

		if (!fq) {
			fqdir_release_unused(r, f);
			return NULL;
		}
		fq->magic = FRAG_MAGIC;
		fq->r = r;
		fq->fqdir = f;
		fq->key = ((uint64_t)idx << 32) | i;
		b = (unsigned int)(fq->key * 0x9e3779b97f4a7c15ull >> 40) % f->nr_buckets;
		fq->next = f->hash[b];
		f->hash[b] = fq;
	}
	return f;
}

int ks_netns_create(struct ks_reclaim *r, struct ks_netns **out)
{
	struct ks_netns *ns;
	unsigned int i;

	if (!r || !out)
		return -EINVAL;
	*out = NULL;
	ns = ks_mem_zalloc(r->t_net, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	ns->payload = ks_mem_alloc(r->t_payload, r->netns_bytes);
	if (!ns->payload)
		goto nomem;
	/* Real memory: touch it, as the kernel's objects are written. */
	memset(ns->payload, 0x5a, r->netns_bytes);
	for (i = 0; i < r->fqdirs; i++) {
		ns->fqdir[i] = fqdir_init(r, ns, i);
		if (!ns->fqdir[i])
			goto nomem;
	}
	ns->magic = NET_MAGIC;
	ns->r = r;
	ns->count = 1;
	ns->fq_refs = (long)r->fqdirs + 1;
	/* setup_net(): list_add_tail_rcu(&net->list, &net_namespace_list). */
	ks_rwsem_write_lock(&r->net_rwsem);
	ns->prev = r->net_list.prev;
	ns->next = &r->net_list;
	ks_rcu_assign_pointer(r->net_list.prev->next, ns);
	r->net_list.prev = ns;
	ks_rwsem_write_unlock(&r->net_rwsem);
	__atomic_fetch_add(&r->live_netns, 1, __ATOMIC_RELAXED);
	stat_inc(&r->netns_created);
	*out = ns;
	return 0;
nomem:
	for (i = 0; i < r->fqdirs; i++)
		if (ns->fqdir[i])
			fqdir_release_unused(r, ns->fqdir[i]);
	if (ns->payload)
		ks_mem_free(r->t_payload, ns->payload, r->netns_bytes);
	ks_mem_free(r->t_net, ns, sizeof(*ns));
	return -ENOMEM;
}

int ks_netns_get(struct ks_netns *ns)
{
	long c;

	if (!ns)
		return -EINVAL;
	/* A header in quarantine (debug builds): freed, so no reference. */
	if (__atomic_load_n(&ns->magic, __ATOMIC_RELAXED) == NET_FREED_MAGIC)
		return -ENOENT;
	c = __atomic_load_n(&ns->count, __ATOMIC_RELAXED);
	do {
		if (c <= 0)
			return -ENOENT;
	} while (!__atomic_compare_exchange_n(&ns->count, &c, c + 1, true, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	return 0;
}

/*
 * cleanup_net(): one batch. The kernel also runs pre_exit/exit/exit_batch
 * of every pernet_operations under pernet_ops_rwsem; fqdirs are the only
 * per-netns state we model.
 */
static void cleanup_net(struct rwork *w)
{
	struct ks_reclaim *r = ks_container_of(w, struct ks_reclaim, cleanup_work);
	struct llnode *n = ll_del_all(&r->cleanup_list);
	struct ks_netns *exit_list = NULL, *ns, *next;
	unsigned int i;

	if (!n)
		return;
	for (; n; n = n->next) {
		ns = ks_container_of(n, struct ks_netns, cleanup_node);
		ns->exit_next = exit_list;
		exit_list = ns;
	}
	/* Unlink from net_namespace_list under net_rwsem (list_del_rcu). */
	ks_rwsem_write_lock(&r->net_rwsem);
	for (ns = exit_list; ns; ns = ns->exit_next) {
		ks_rcu_assign_pointer(ns->prev->next, ns->next);
		ns->next->prev = ns->prev;
	}
	ks_rwsem_write_unlock(&r->net_rwsem);
	/* fqdir_pre_exit(): no new queues, readers see the fqdir dead. */
	for (ns = exit_list; ns; ns = ns->exit_next)
		for (i = 0; i < r->fqdirs; i++)
			__atomic_store_n(&ns->fqdir[i]->dead, 1, __ATOMIC_RELEASE);
	/* "Make sure all pre_exit methods complete before exit": one per batch. */
	ks_rcu_barrier_synchronize(r->barrier);
	/* exit methods: fqdir_exit() for every fqdir. */
	for (ns = exit_list; ns; ns = ns->exit_next)
		for (i = 0; i < r->fqdirs; i++)
			r->ops->fqdir_exit(r, ns->fqdir[i]);
	stat_inc(&r->cleanup_batches);
	if (!r->ops->net_barrier) {
		/* "refcount": the namespaces go when their last fqdir goes. */
		for (ns = exit_list; ns; ns = next) {
			next = ns->exit_next;
			if (__atomic_sub_fetch(&ns->fq_refs, 1, __ATOMIC_ACQ_REL) == 0)
				net_free(r, ns);
		}
		return;
	}
	/* "Ensure there are no outstanding rcu callbacks using this network
	 * namespace": one rcu_barrier() per batch, then net_free(). */
	ks_reclaim_barrier(r);
	for (ns = exit_list; ns; ns = next) {
		next = ns->exit_next;
		net_free(r, ns);
	}
}

int ks_netns_put(struct ks_reclaim *r, struct ks_netns **nsp)
{
	struct ks_netns *ns;
	long c;

	if (!r || !nsp)
		return -EINVAL;
	ns = __atomic_exchange_n(nsp, NULL, __ATOMIC_ACQ_REL);
	if (!ns) {
		stat_inc(&r->double_frees);
		return -EALREADY;
	}
	if (ns->r != r) {
		*nsp = ns;
		return -EINVAL;
	}
	/* A stale pointer to a freed namespace still in quarantine. */
	if (__atomic_load_n(&ns->magic, __ATOMIC_RELAXED) == NET_FREED_MAGIC) {
		stat_inc(&r->double_frees);
		return -EALREADY;
	}
	/* refcount_dec_and_test() that refuses to go below zero, as refcount_t. */
	c = __atomic_load_n(&ns->count, __ATOMIC_RELAXED);
	do {
		if (c <= 0) {
			stat_inc(&r->double_frees);
			return -EALREADY;
		}
	} while (!__atomic_compare_exchange_n(&ns->count, &c, c - 1, true, __ATOMIC_ACQ_REL,
					      __ATOMIC_RELAXED));
	if (c > 1)
		return 0;
	/* __put_net(): the last reference. */
	__atomic_fetch_sub(&r->live_netns, 1, __ATOMIC_RELAXED);
	add64(&r->pending_bytes, ks_reclaim_netns_bytes(r));
	add64(&r->pending_netns, 1);
	stat_inc(&r->netns_put);
	if (ll_add(&ns->cleanup_node, &r->cleanup_list))
		rwq_queue(r->netns_wq, &r->cleanup_work, cleanup_net);
	return 0;
}

long ks_reclaim_lookup(struct ks_reclaim *r, uint64_t key, uint64_t *found)
{
	struct ks_netns *ns;
	long visited = 0;
	uint64_t hits = 0;
	int ret;

	if (!r)
		return -EINVAL;
	ret = ks_rcu_read_lock();
	if (ret)
		return ret;
	for (ns = ks_rcu_dereference(r->net_list.next); ns != &r->net_list;
	     ns = ks_rcu_dereference(ns->next)) {
		if (ns->magic != NET_MAGIC) {
			visited = -EFAULT;
			break;
		}
		for (unsigned int i = 0; i < r->fqdirs; i++) {
			struct fqdir *f = ns->fqdir[i];

			if (f->magic != FQDIR_MAGIC) {
				visited = -EFAULT;
				goto out;
			}
			/* inet_frag_find() refuses a dead fqdir. */
			if (__atomic_load_n(&f->dead, __ATOMIC_ACQUIRE))
				continue;
			for (unsigned int b = 0; b < f->nr_buckets; b++) {
				struct frag_queue *fq;

				for (fq = ks_rcu_dereference(f->hash[b]); fq;
				     fq = ks_rcu_dereference(fq->next)) {
					if (fq->magic != FRAG_MAGIC) {
						visited = -EFAULT;
						goto out;
					}
					visited++;
					hits += fq->key == key;
				}
			}
		}
	}
out:
	ks_rcu_read_unlock();
	if (found)
		*found = hits;
	return visited;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { 0, (long)ms * 1000000 };

	nanosleep(&ts, NULL);
}

/* Whether the calling thread may wait for frees (checked before any change). */
static int drain_check(const struct ks_reclaim *r)
{
	if (!r)
		return -EINVAL;
	if (!ks_rcu_thread_registered())
		return -EPERM;
	/* Frees wait for callbacks and grace periods: ours would never end. */
	if (ks_rcu_in_callback() || ks_rcu_read_depth() > 0)
		return -EDEADLK;
	return 0;
}

/*
 * Wait until every namespace put so far is freed. Every object a put
 * namespace owns is counted in pending_bytes until it is freed (fragment
 * queues by their callbacks), so waiting for it to reach zero needs no
 * barrier of its own: the count of barriers stays the strategy's. Poll,
 * since the work is spread over three kinds of threads.
 */
static int wait_freed(struct ks_reclaim *r)
{
	int64_t last = -1;
	unsigned int still = 0;

	for (;;) {
		int64_t bytes = __atomic_load_n(&r->pending_bytes, __ATOMIC_ACQUIRE);
		bool busy = rwq_busy(r->netns_wq) > 0 || rwq_busy(r->system_wq) > 0;

		if (!busy && bytes <= 0 &&
		    __atomic_load_n(&r->pending_netns, __ATOMIC_ACQUIRE) <= 0)
			return 0;
		/*
		 * Nothing queued and nothing moving for 2 s: what is left was
		 * leaked on purpose after an early free or a poisoned callback.
		 */
		still = (!busy && bytes == last) ? still + 1 : 0;
		if (still > 2000)
			return -EIO;
		last = bytes;
		sleep_ms(1);
	}
}

int ks_reclaim_drain(struct ks_reclaim *r)
{
	int ret = drain_check(r);

	return ret ? ret : wait_freed(r);
}

int ks_reclaim_flush(struct ks_reclaim *r)
{
	int ret = drain_check(r);

	/* A refused flush must not end the measurement. */
	if (ret)
		return ret;
	__atomic_store_n(&r->flushing, 1, __ATOMIC_RELEASE);
	return wait_freed(r);
}

int64_t ks_reclaim_pending_bytes(const struct ks_reclaim *r)
{
	if (!r)
		return -EINVAL;
	return __atomic_load_n(&r->pending_bytes, __ATOMIC_RELAXED);
}

int ks_reclaim_stats(const struct ks_reclaim *r, struct ks_reclaim_stats *out)
{
	if (!r || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
#define LD(x) __atomic_load_n(&r->x, __ATOMIC_RELAXED)
	out->netns_created = LD(netns_created);
	out->netns_put = LD(netns_put);
	out->netns_freed = LD(netns_freed);
	out->fqdirs_freed = LD(fqdirs_freed);
	out->frags_freed = LD(frags_freed);
	out->pending_bytes = LD(pending_bytes);
	out->pending_netns = LD(pending_netns);
	out->cleanup_batches = LD(cleanup_batches);
	out->free_batches = LD(free_batches);
	out->poison_hits = LD(poison_hits);
	out->early_frees = LD(early_frees);
	out->double_frees = LD(double_frees);
	out->quarantine_cap = r->quar ? r->quar_cap : 0;
	out->quarantined = LD(quarantined);
	out->quarantine_evicted = LD(quar_evicted);
#undef LD
	rwq_counts(r->system_wq, &out->wq_queued, &out->wq_executed, &out->wq_max_depth);
	{
		uint64_t md;

		rwq_counts(r->netns_wq, &out->ordered_queued, &out->ordered_executed, &md);
	}
	return ks_rcu_barrier_stats(r->barrier, &out->barrier);
}

int ks_reclaim_create(const char *strategy, const struct ks_reclaim_opts *opts,
		      struct ks_reclaim **out)
{
	struct ks_rcu_barrier_opts bo = { 0 };
	struct ks_lock_class *cls_rwsem = NULL, *cls_pool = NULL;
	const struct reclaim_ops *ops = NULL;
	struct ks_mem_type *t_self;
	const struct ks_topo *t;
	struct ks_reclaim *r;
	int nr_cpus, wq_workers, ret;
	size_t i;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!strategy || !opts || !opts->mem || opts->fqdirs > KS_RECLAIM_MAX_FQDIRS ||
	    opts->quarantine > KS_RECLAIM_MAX_QUARANTINE)
		return -EINVAL;
	for (i = 0; i < KS_ARRAY_SIZE(strategies); i++)
		if (!strcmp(strategy, strategies[i]->name))
			ops = strategies[i];
	if (!ops)
		return -EINVAL;
	t = opts->topo ? opts->topo : ks_topo_default();
	if (!t)
		return -EINVAL;
	nr_cpus = ks_topo_nr_cpus(t);
	if (opts->locks) {
		ret = ks_lock_class_get(opts->locks, "net_rwsem", KS_LOCK_GLOBAL, &cls_rwsem);
		if (!ret)
			ret = ks_lock_class_get(opts->locks, "worker_pool_lock", KS_LOCK_GLOBAL,
						&cls_pool);
		if (ret)
			return ret;
	}
	/* The domain and its workqueues are accounted like everything else. */
	ret = ks_mem_type_get(opts->mem, "reclaim", sizeof(*r), &t_self);
	if (ret)
		return ret;
	r = ks_mem_alloc_aligned(t_self, sizeof(*r), KS_CACHELINE);
	if (!r)
		return -ENOMEM;
	memset(r, 0, sizeof(*r));
	r->t_self = t_self;
	r->ops = ops;
	r->mem = opts->mem;
	r->fqdirs = opts->fqdirs ? opts->fqdirs : 4;
	r->frags = opts->frags;
	r->buckets = opts->buckets ? opts->buckets : 16;
	r->netns_bytes = opts->netns_bytes ? opts->netns_bytes : 300 * 1024;
	r->delay_ns = (uint64_t)(opts->delay_ms ? opts->delay_ms : 1000) * 1000000u;
	r->net_list.next = r->net_list.prev = &r->net_list;
	ks_rwsem_init(&r->net_rwsem, cls_rwsem);
	ret = ks_mem_type_get(r->mem, "net", sizeof(struct ks_netns), &r->t_net);
	if (!ret)
		ret = ks_mem_type_get(r->mem, "net_payload", r->netns_bytes, &r->t_payload);
	if (!ret)
		ret = ks_mem_type_get(r->mem, "fqdir", sizeof(struct fqdir), &r->t_fqdir);
	if (!ret)
		ret = ks_mem_type_get(r->mem, "fqdir_hash", r->buckets * sizeof(void *),
				      &r->t_hash);
	if (!ret)
		ret = ks_mem_type_get(r->mem, "inet_frag_queue", sizeof(struct frag_queue),
				      &r->t_frag);
	if (ret)
		goto fail;
	if (reclaim_quarantine) {
		r->quar_cap = opts->quarantine ? opts->quarantine : KS_RECLAIM_QUARANTINE;
		ret = ks_mem_type_get(r->mem, "netns_quarantine",
				      r->quar_cap * sizeof(*r->quar), &r->t_quar);
		if (ret)
			goto fail;
		r->quar = ks_mem_zalloc(r->t_quar, r->quar_cap * sizeof(*r->quar));
		if (!r->quar) {
			ret = -ENOMEM;
			goto fail;
		}
	}
	bo.topo = t;
	bo.locks = opts->locks;
	bo.gp_delay_us = opts->gp_delay_us;
	bo.max_workers = opts->rcu_workers;
	bo.mem = opts->mem;
	ret = ks_rcu_barrier_create(opts->barrier ? opts->barrier : "kernel", &bo, &r->barrier);
	if (ret)
		goto fail;
	wq_workers = opts->wq_workers ? (int)opts->wq_workers :
		     (nr_cpus < KS_RECLAIM_MAX_WQ_WORKERS ? nr_cpus : KS_RECLAIM_MAX_WQ_WORKERS);
	ret = rwq_create(wq_workers, nr_cpus, cls_pool, r->t_self, &r->system_wq);
	if (ret)
		goto fail;
	ret = rwq_create(1, nr_cpus, cls_pool, r->t_self, &r->netns_wq); /* netns_wq: ordered */
	if (ret)
		goto fail;
	*out = r;
	return 0;
fail:
	rwq_destroy(r->system_wq);
	if (r->barrier && ks_rcu_barrier_destroy(r->barrier))
		ret = ret ? ret : -EBUSY;
	quarantine_release(r);
	ks_rwsem_destroy(&r->net_rwsem);
	ks_mem_free(t_self, r, sizeof(*r));
	return ret ? ret : -ENOMEM;
}

int ks_reclaim_destroy(struct ks_reclaim *r)
{
	int ret;

	if (!r)
		return 0;
	if (__atomic_load_n(&r->live_netns, __ATOMIC_ACQUIRE) > 0)
		return -EBUSY;
	ret = ks_reclaim_flush(r);
	if (ret)
		return ret;
	rwq_destroy(r->netns_wq);
	rwq_destroy(r->system_wq);
	ret = ks_rcu_barrier_destroy(r->barrier);
	quarantine_release(r);
	ks_rwsem_destroy(&r->net_rwsem);
	ks_mem_free(r->t_self, r, sizeof(*r));
	return ret;
}
