// SPDX-License-Identifier: MIT
/*
 * The slab allocator every strategy shares: kmem_caches, slabs, per-CPU
 * object caches, shrink/deactivate/shutdown, RCU-deferred slab freeing, the
 * worker that runs deferred work, and the public cache API.
 *
 * The allocator itself is a small SLAB (mm/slab.c, Linux 4.10): per-CPU
 * array caches refilled and flushed in batches of half their size from one
 * node's partial/full slab lists under list_lock. Memcg deactivation follows
 * SLUB (mm/slub.c __kmem_cache_shrink(s, deactivate), v4.10): caching is
 * disabled (cpu_partial = min_partial = 0), then, after a grace period, the
 * per-CPU caches are drained and empty slabs given back.
 */
#include "slab_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* ---- RCU helpers: every synchronous wait is real and counted ----------- */

int ks_slab_synchronize(struct ks_slab_sys *s, bool cgroup_mutex_held)
{
	int r = ks_rcu_synchronize();

	KS_ADD(&s->sync_gp, 1);
	if (cgroup_mutex_held)
		KS_ADD(&s->sync_gp_cgm, 1);
	return r;
}

/*
 * rcu_barrier(): every CPU's pending callbacks, including the slab-free
 * callbacks a CPU still holds (rcu_cpu), must have run when it returns, as
 * the kernel's entrains a barrier callback behind every CPU's list.
 */
int ks_slab_rcu_barrier(struct ks_slab_sys *s, bool cgroup_mutex_held)
{
	int r;

	for (int cpu = 0; cpu < s->nr_cpus; cpu++)
		ks_slab_flush_cpu_rcu(s, cpu);
	r = ks_rcu_barrier();
	KS_ADD(&s->sync_gp, 1);
	KS_ADD(&s->rcu_barriers, 1);
	if (cgroup_mutex_held)
		KS_ADD(&s->sync_gp_cgm, 1);
	return r;
}

int ks_slab_call_rcu(struct ks_slab_sys *s, struct ks_rcu_head *h, ks_rcu_callback_t fn)
{
	int r;

	__atomic_add_fetch(&s->cb_pending, 1, __ATOMIC_RELEASE);
	r = ks_call_rcu(h, fn);
	if (r) {
		/* Only an unregistered thread gets here: the entry points check. */
		__atomic_sub_fetch(&s->cb_pending, 1, __ATOMIC_RELEASE);
	}
	return r;
}

/* The last thing a callback of ours does: it may not touch @s after it. */
void ks_slab_cb_done(struct ks_slab_sys *s)
{
	__atomic_sub_fetch(&s->cb_pending, 1, __ATOMIC_RELEASE);
}

/* rcu_free_slab(): give a SLAB_TYPESAFE_BY_RCU slab back after a GP. */
static void rcu_free_slab(struct ks_rcu_head *h)
{
	struct slab *sl = ks_container_of(h, struct slab, rcu);
	struct kcache *c = sl->cache;
	struct ks_slab_sys *s = c->sys;

	/*
	 * The kernel's callback reads the cache (its order, its node): a cache
	 * freed before this callback ran is a use after free. Ours is kept in
	 * quarantine with a poisoned magic, so the read is safe and counted.
	 */
	if (__atomic_load_n(&c->magic, __ATOMIC_ACQUIRE) != KS_KCACHE_MAGIC)
		KS_ADD(&s->late_callbacks, 1);
	sl->magic = 0;
	ks_mem_free(s->t_slab, sl, s->slab_bytes);
	KS_ADD(&s->slabs_live, -1);
	/* Last access to @c: once zero, the cache may be freed. */
	__atomic_sub_fetch(&c->rcu_pending, 1, __ATOMIC_RELEASE);
	ks_slab_cb_done(s);
}

void ks_slab_flush_cpu_rcu(struct ks_slab_sys *s, int cpu)
{
	struct rcu_cpu *rc = ks_percpu_ptr(s->rcu_cpu, cpu);
	struct slab *head;

	ks_spin_lock(&rc->lock);
	head = rc->head;
	rc->head = NULL;
	rc->n = 0;
	ks_spin_unlock(&rc->lock);
	while (head) {
		struct slab *next = head->rcu_next;

		ks_slab_call_rcu(s, &head->rcu, rcu_free_slab);
		head = next;
	}
}

/*
 * A CPU's slab-free callbacks wait on its own list until rcu_batch of them
 * accumulate or a barrier runs. The kernel gives no order between callbacks
 * of different CPUs (an idle or lazy CPU runs its list much later); holding
 * them makes that freedom visible deterministically, see docs/slab.md.
 */
static void queue_slab_rcu(struct ks_slab_sys *s, struct slab *sl)
{
	int cpu = ks_percpu_this_cpu(s->rcu_cpu);
	struct rcu_cpu *rc = ks_percpu_ptr(s->rcu_cpu, cpu);
	bool flush;

	__atomic_add_fetch(&sl->cache->rcu_pending, 1, __ATOMIC_RELAXED);
	ks_spin_lock(&rc->lock);
	sl->rcu_next = rc->head;
	rc->head = sl;
	flush = ++rc->n >= s->rcu_batch;
	ks_spin_unlock(&rc->lock);
	if (flush)
		ks_slab_flush_cpu_rcu(s, cpu);
}

/* ---- the worker: one ordered workqueue (max_active 1) ------------------ */

void ks_queue_work(struct ks_slab_sys *s, struct kwork *w)
{
	ks_spin_lock(&s->wq_lock);
	if (w->queued) {
		ks_spin_unlock(&s->wq_lock);
		return;
	}
	w->queued = true;
	ks_list_add_tail(&w->entry, &s->wq);
	s->wq_queued++;
	__atomic_add_fetch(&s->wq_pending, 1, __ATOMIC_RELEASE);
	ks_spin_unlock(&s->wq_lock);
	sem_post(&s->wq_sem);
}

static void *worker_main(void *arg)
{
	struct ks_slab_sys *s = arg;

	ks_rcu_register_thread();
	/* kworkers of an unbound queue run anywhere; ours says CPU 0. */
	ks_cpu_set_current(0);
	for (;;) {
		struct kwork *w = NULL;
		int stop;

		while (sem_wait(&s->wq_sem) && errno == EINTR)
			;
		ks_spin_lock(&s->wq_lock);
		if (!ks_list_empty(&s->wq)) {
			w = ks_list_entry(s->wq.next, struct kwork, entry);
			ks_list_del(&w->entry);
			w->queued = false;
		}
		stop = s->wq_stop;
		ks_spin_unlock(&s->wq_lock);
		if (w) {
			w->fn(w); /* may free @w */
			__atomic_add_fetch(&s->wq_done, 1, __ATOMIC_RELEASE);
			__atomic_sub_fetch(&s->wq_pending, 1, __ATOMIC_RELEASE);
		} else if (stop) {
			break;
		}
	}
	ks_rcu_unregister_thread();
	return NULL;
}

/*
 * flush_memcg_workqueue() (4.11+): one barrier, so that every deactivation
 * callback queued so far has queued its work, then wait for the work queued
 * so far. Later work is not waited for: under churn there is always some.
 */
void ks_flush_memcg_workqueue(struct ks_slab_sys *s)
{
	uint64_t snap;

	ks_slab_rcu_barrier(s, false);
	ks_spin_lock(&s->wq_lock);
	snap = s->wq_queued;
	ks_spin_unlock(&s->wq_lock);
	while (__atomic_load_n(&s->wq_done, __ATOMIC_ACQUIRE) < snap) {
		struct timespec ts = { 0, 20000 };

		nanosleep(&ts, NULL);
	}
}

/* ---- slabs ------------------------------------------------------------ */

static inline struct slab *obj_to_slab(const struct ks_slab_sys *s, const void *obj)
{
	return (struct slab *)((uintptr_t)obj & ~(uintptr_t)(s->slab_bytes - 1));
}

static inline void *slab_obj(const struct kcache *c, struct slab *sl, unsigned int idx)
{
	return (char *)sl + c->hdr_size + (size_t)idx * c->size;
}

static inline unsigned int slab_idx(const struct kcache *c, struct slab *sl, const void *obj)
{
	return (unsigned int)(((const char *)obj - (char *)sl - c->hdr_size) / c->size);
}

/* Geometry: how many objects of @size fit a slab with their header. */
static size_t slab_hdr_size(unsigned int n, size_t align, unsigned int *words)
{
	size_t h = sizeof(struct slab) + (size_t)n * sizeof(uint16_t);

	*words = (n + 63) / 64;
	h = (h + 7) & ~(size_t)7;
	h += (size_t)*words * sizeof(unsigned long);
	return (h + align - 1) & ~(align - 1);
}

static int cache_geometry(struct ks_slab_sys *s, struct kcache *c)
{
	unsigned int n, words;
	size_t hdr;

	c->size = (c->object_size + c->align - 1) & ~(c->align - 1);
	n = (unsigned int)((s->slab_bytes - sizeof(struct slab)) / c->size);
	if (n > 65535)
		n = 65535;
	for (; n > 0; n--) {
		hdr = slab_hdr_size(n, c->align, &words);
		if (hdr + (size_t)n * c->size <= s->slab_bytes)
			break;
	}
	if (!n)
		return -EINVAL;
	c->objs_per_slab = n;
	c->hdr_size = hdr;
	c->bitmap_words = words;
	return 0;
}

/* new_slab(): memory for a slab, charged to the owner of a memcg cache. */
static struct slab *new_slab(struct kcache *c)
{
	struct ks_slab_sys *s = c->sys;
	struct slab *sl = ks_mem_alloc_aligned(s->t_slab, s->slab_bytes, s->slab_bytes);
	unsigned int n = c->objs_per_slab;

	if (!sl)
		return NULL;
	memset(sl, 0, c->hdr_size);
	sl->magic = KS_SLAB_MAGIC;
	sl->self = sl;
	sl->cache = c;
	sl->freeidx = (uint16_t *)(sl + 1);
	sl->bitmap = (unsigned long *)((char *)sl + ((sizeof(struct slab) +
			(size_t)n * sizeof(uint16_t) + 7) & ~(size_t)7));
	for (unsigned int i = 0; i < n; i++)
		sl->freeidx[i] = (uint16_t)(n - 1 - i);
	sl->nfree = n;
	ks_list_init(&sl->lru);
	KS_ADD(&s->slabs_live, 1);
	if (c->memcg) {
		/* memcg_charge_slab(): whole pages, and a css reference each. */
		ks_memcg_get(c->memcg);
		ks_memcg_charge(c->memcg, 0, (int64_t)s->slab_bytes);
	}
	return sl;
}

/* discard_slab(): called without list_lock. */
static void discard_slab(struct kcache *c, struct slab *sl)
{
	struct ks_slab_sys *s = c->sys;
	struct memcg *cg = c->memcg;

	if (sl->objcgs) {
		ks_mem_free(s->t_vec, sl->objcgs,
			    (size_t)c->objs_per_slab * sizeof(struct obj_cgroup *));
		sl->objcgs = NULL;
	}
	if (c->flags & KS_SLAB_TYPESAFE_BY_RCU) {
		queue_slab_rcu(s, sl);
	} else {
		sl->magic = 0;
		ks_mem_free(s->t_slab, sl, s->slab_bytes);
		KS_ADD(&s->slabs_live, -1);
	}
	if (cg) {
		ks_memcg_charge(cg, 0, -(int64_t)s->slab_bytes);
		ks_memcg_put(cg); /* may release the cgroup: last */
	}
}

/* Take one object from the slab lists; list_lock held. */
static void *slab_get_obj(struct kcache *c, int *err)
{
	struct slab *sl;
	unsigned int idx;

	if (!ks_list_empty(&c->partial)) {
		sl = ks_list_entry(c->partial.next, struct slab, lru);
	} else {
		sl = new_slab(c);
		if (!sl) {
			*err = -ENOMEM;
			return NULL;
		}
		KS_ADD(&c->nr_slabs, 1);
		KS_ADD(&c->nr_free, (int64_t)c->objs_per_slab);
		sl->list = SLAB_LIST_PARTIAL;
		ks_list_add(&sl->lru, &c->partial);
		c->nr_empty++;
	}
	if (sl->inuse == 0)
		c->nr_empty--;
	idx = sl->freeidx[--sl->nfree];
	sl->inuse++;
	KS_ADD(&c->nr_free, -1);
	if (!sl->nfree) {
		ks_list_del(&sl->lru);
		ks_list_add(&sl->lru, &c->full);
		sl->list = SLAB_LIST_FULL;
	}
	return slab_obj(c, sl, idx);
}

/*
 * Put @n objects back into their slabs; list_lock not held. Empty slabs are
 * kept up to min_partial (SLUB's MIN_PARTIAL), others are discarded.
 */
static void slab_put_objs(struct kcache *c, void **objs, unsigned int n)
{
	struct ks_slab_sys *s = c->sys;
	struct slab *discard = NULL;

	ks_spin_lock(&c->list_lock);
	for (unsigned int i = 0; i < n; i++) {
		struct slab *sl = obj_to_slab(s, objs[i]);

		sl->freeidx[sl->nfree++] = (uint16_t)slab_idx(c, sl, objs[i]);
		sl->inuse--;
		KS_ADD(&c->nr_free, 1);
		if (sl->list == SLAB_LIST_FULL) {
			ks_list_del(&sl->lru);
			ks_list_add(&sl->lru, &c->partial);
			sl->list = SLAB_LIST_PARTIAL;
		}
		if (sl->inuse)
			continue;
		if (KS_LOAD(&c->deactivated) || c->nr_empty >= c->min_partial) {
			ks_list_del(&sl->lru);
			sl->list = SLAB_LIST_NONE;
			KS_ADD(&c->nr_slabs, -1);
			KS_ADD(&c->nr_free, -(int64_t)c->objs_per_slab);
			sl->rcu_next = discard;
			discard = sl;
		} else {
			c->nr_empty++;
		}
	}
	ks_spin_unlock(&c->list_lock);
	while (discard) {
		struct slab *next = discard->rcu_next;

		discard_slab(c, discard);
		discard = next;
	}
}

/* Give every empty slab back (the tail of __kmem_cache_shrink()). */
static void slab_discard_empty(struct kcache *c)
{
	struct slab *discard = NULL;
	struct ks_list *l, *n;

	ks_spin_lock(&c->list_lock);
	for (l = c->partial.next; l != &c->partial; l = n) {
		struct slab *sl = ks_list_entry(l, struct slab, lru);

		n = l->next;
		if (sl->inuse)
			continue;
		ks_list_del(&sl->lru);
		sl->list = SLAB_LIST_NONE;
		KS_ADD(&c->nr_slabs, -1);
		KS_ADD(&c->nr_free, -(int64_t)c->objs_per_slab);
		c->nr_empty--;
		sl->rcu_next = discard;
		discard = sl;
	}
	ks_spin_unlock(&c->list_lock);
	while (discard) {
		struct slab *next = discard->rcu_next;

		discard_slab(c, discard);
		discard = next;
	}
}

/* ---- per-CPU caches --------------------------------------------------- */

static int cpu_refill(struct kcache *c, struct cpu_cache *cc)
{
	unsigned int batch = c->cpu_cap / 2 ? c->cpu_cap / 2 : 1;
	int err = 0;

	ks_spin_lock(&c->list_lock);
	while (cc->n < batch) {
		void *obj = slab_get_obj(c, &err);

		if (!obj)
			break;
		cc->obj[cc->n++] = obj;
	}
	ks_spin_unlock(&c->list_lock);
	return cc->n ? 0 : err;
}

/* cache_flusharray(): the oldest half goes back to the slabs. */
static void cpu_flush(struct kcache *c, struct cpu_cache *cc, unsigned int n)
{
	slab_put_objs(c, cc->obj, n);
	memmove(cc->obj, cc->obj + n, (cc->n - n) * sizeof(void *));
	cc->n -= n;
}

static void cpu_drain_all(struct kcache *c)
{
	for (int cpu = 0; cpu < c->sys->nr_cpus; cpu++) {
		struct cpu_cache *cc = ks_percpu_ptr(c->cpu, cpu);

		ks_spin_lock(&cc->lock);
		if (cc->n)
			cpu_flush(c, cc, cc->n);
		ks_spin_unlock(&cc->lock);
	}
}

void *ks_kcache_alloc_obj(struct kcache *c, struct slab **slabp, unsigned int *idxp)
{
	struct ks_slab_sys *s = c->sys;
	void *obj = NULL;
	struct slab *sl;
	unsigned int idx;
	int err = 0;

	if (!KS_LOAD(&c->deactivated)) {
		struct cpu_cache *cc = ks_percpu_this(c->cpu);

		ks_spin_lock(&cc->lock);
		if (cc->n || !cpu_refill(c, cc))
			obj = cc->obj[--cc->n];
		ks_spin_unlock(&cc->lock);
	} else {
		ks_spin_lock(&c->list_lock);
		obj = slab_get_obj(c, &err);
		ks_spin_unlock(&c->list_lock);
	}
	if (!obj)
		return NULL;
	sl = obj_to_slab(s, obj);
	idx = slab_idx(c, sl, obj);
	__atomic_fetch_or(&sl->bitmap[idx / 64], 1ul << (idx % 64), __ATOMIC_RELAXED);
	KS_ADD(&((struct sys_pcpu *)ks_percpu_this(s->pcpu))->objs, 1);
	if (slabp)
		*slabp = sl;
	if (idxp)
		*idxp = idx;
	return obj;
}

void ks_kcache_free_obj(struct kcache *c, struct slab *sl, void *obj)
{
	struct ks_slab_sys *s = c->sys;

	(void)sl;
	KS_ADD(&((struct sys_pcpu *)ks_percpu_this(s->pcpu))->objs, -1);
	if (!KS_LOAD(&c->deactivated)) {
		struct cpu_cache *cc = ks_percpu_this(c->cpu);

		ks_spin_lock(&cc->lock);
		if (cc->n == c->cpu_cap)
			cpu_flush(c, cc, c->cpu_cap / 2 ? c->cpu_cap / 2 : 1);
		cc->obj[cc->n++] = obj;
		ks_spin_unlock(&cc->lock);
		return;
	}
	slab_put_objs(c, &obj, 1);
}

void ks_kcache_shrink(struct kcache *c)
{
	cpu_drain_all(c);
	slab_discard_empty(c);
}

bool ks_kcache_empty(struct kcache *c)
{
	return KS_LOAD(&c->nr_slabs) == 0;
}

void ks_kcache_deactivate(struct kcache *c)
{
	ks_spin_lock(&c->list_lock);
	c->min_partial = 0;
	ks_spin_unlock(&c->list_lock);
	KS_STORE(&c->deactivated, 1);
}

/* __kmem_cache_shutdown(): -EBUSY while objects are live. */
int ks_kcache_shutdown(struct ks_slab_sys *s, struct kcache *c)
{
	(void)s;
	ks_kcache_shrink(c);
	return ks_kcache_empty(c) ? 0 : -EBUSY;
}

void ks_kcache_stats(struct kcache *c, int64_t *active, int64_t *total, int64_t *slabs)
{
	int64_t ns = KS_LOAD(&c->nr_slabs);
	int64_t nf = KS_LOAD(&c->nr_free);
	int64_t tot = ns * c->objs_per_slab;

	*slabs += ns;
	*total += tot;
	*active += tot - nf < 0 ? 0 : tot - nf;
}

/* ---- kmem_cache objects ---------------------------------------------- */

void ks_kcache_child_name(char *buf, size_t len, const struct kcache *root,
			  const struct memcg *cg, bool serial)
{
	/* 4.10: "%s(%d:%s)" with the css id; 4.11: "%s(%llu:%s)" serial_nr. */
	if (serial)
		snprintf(buf, len, "%s(%llu:%s)", root->name, (unsigned long long)cg->id,
			 cg->name);
	else
		snprintf(buf, len, "%s(%d:%s)", root->name, (int)cg->id, cg->name);
}

struct kcache *ks_kcache_new(struct ks_slab_sys *s, const char *name, size_t size,
			     size_t align, unsigned int flags, struct kcache *root,
			     struct memcg *memcg)
{
	struct kcache *c = ks_mem_zalloc(s->t_cache, sizeof(*c));
	size_t cpusz = sizeof(struct cpu_cache) + s->cpu_cache_objs * sizeof(void *);
	int i;

	if (!c)
		return NULL;
	c->sys = s;
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->object_size = size;
	c->align = align;
	c->flags = flags;
	c->root = root ? root : c;
	c->memcg = memcg;
	c->min_partial = 5;
	c->cpu_cap = s->cpu_cache_objs;
	ks_list_init(&c->list.node);
	ks_list_init(&c->root_link.node);
	c->list.owner = c;
	c->root_link.owner = c;
	ks_list_init(&c->children);
	ks_list_init(&c->children_node);
	ks_list_init(&c->kmem_caches_node);
	ks_list_init(&c->release_node);
	ks_list_init(&c->partial);
	ks_list_init(&c->full);
	if (cache_geometry(s, c))
		goto err_free;
	if (ks_spin_init(&c->list_lock, s->c_list_lock))
		goto err_free;
	if (ks_percpu_alloc(s->topo, cpusz, &c->cpu))
		goto err_free;
	for (i = 0; i < s->nr_cpus; i++)
		ks_spin_init(&((struct cpu_cache *)ks_percpu_ptr(c->cpu, i))->lock, s->c_cpu);
	if (s->ops->memcg_caches && !root) {
		size_t n = (size_t)s->memcg_nr_cache_ids;
		struct memcg_cache_array *a = ks_mem_zalloc(s->t_array, sizeof(*a) +
							    n * sizeof(struct kcache *));

		if (!a)
			goto err_cpu;
		a->sys = s;
		a->size = (int)n;
		c->memcg_caches = a;
	}
	if (s->sysfs_per_cache) {
		/* sysfs_slab_add(): a directory of attribute files. */
		c->sysfs = ks_mem_zalloc(s->t_kernfs,
					 (size_t)s->sysfs_per_cache * KS_KERNFS_NODE_SIZE);
		if (!c->sysfs)
			goto err_arr;
		c->sysfs_nodes = s->sysfs_per_cache;
		ks_slab_peak(&s->sysfs_nodes_peak,
			     (uint64_t)KS_ADD(&s->sysfs_nodes, (int64_t)c->sysfs_nodes));
	}
	c->magic = KS_KCACHE_MAGIC;
	return c;
err_arr:
	if (c->memcg_caches)
		ks_mem_free(s->t_array, c->memcg_caches, sizeof(struct memcg_cache_array) +
			    (size_t)c->memcg_caches->size * sizeof(struct kcache *));
err_cpu:
	for (i = 0; i < s->nr_cpus; i++)
		ks_spin_destroy(&((struct cpu_cache *)ks_percpu_ptr(c->cpu, i))->lock);
	ks_percpu_free(c->cpu);
err_free:
	ks_mem_free(s->t_cache, c, sizeof(*c));
	return NULL;
}

/* Link a new cache; slab_mutex held. */
void ks_kcache_link(struct ks_slab_sys *s, struct kcache *c)
{
	uint64_t n;

	c->serial = ++s->next_serial;
	ks_list_add(&c->list.node, &s->slab_caches);
	if (kcache_is_root(c)) {
		c->gen = ++s->root_gen;
		ks_list_add(&c->root_link.node, &s->slab_root_caches);
		n = KS_ADD(&s->n_roots, 1) + KS_LOAD(&s->n_children);
	} else {
		ks_list_add(&c->children_node, &c->root->children);
		n = KS_ADD(&s->n_children, 1) + KS_LOAD(&s->n_roots);
	}
	ks_slab_peak(&s->caches_peak, n);
}

/* Unlink a cache from the global lists; slab_mutex held. */
void ks_kcache_unlink(struct ks_slab_sys *s, struct kcache *c)
{
	ks_list_del(&c->list.node);
	if (kcache_is_root(c)) {
		ks_list_del(&c->root_link.node);
		s->root_gen++;
		KS_ADD(&s->n_roots, -1);
	} else {
		ks_list_del(&c->children_node);
		KS_ADD(&s->n_children, -1);
	}
}

void ks_kcache_sysfs_remove(struct ks_slab_sys *s, struct kcache *c)
{
	if (!c->sysfs)
		return;
	ks_mem_free(s->t_kernfs, c->sysfs, (size_t)c->sysfs_nodes * KS_KERNFS_NODE_SIZE);
	KS_ADD(&s->sysfs_nodes, -(int64_t)c->sysfs_nodes);
	c->sysfs = NULL;
	c->sysfs_nodes = 0;
}

/* Free the slabs of a cache regardless of live objects (system teardown). */
static void kcache_drop_slabs(struct ks_slab_sys *s, struct kcache *c)
{
	struct ks_list *lists[2] = { &c->partial, &c->full };

	for (int i = 0; i < 2; i++) {
		while (!ks_list_empty(lists[i])) {
			struct slab *sl = ks_list_entry(lists[i]->next, struct slab, lru);

			ks_list_del(&sl->lru);
			if (sl->objcgs)
				ks_mem_free(s->t_vec, sl->objcgs, (size_t)c->objs_per_slab *
					    sizeof(struct obj_cgroup *));
			sl->magic = 0;
			ks_mem_free(s->t_slab, sl, s->slab_bytes);
			KS_ADD(&s->slabs_live, -1);
		}
	}
	KS_STORE(&c->nr_slabs, 0);
	KS_STORE(&c->nr_free, 0);
}

static void kcache_free_now(struct ks_slab_sys *s, struct kcache *c)
{
	ks_kcache_sysfs_remove(s, c);
	for (int i = 0; i < s->nr_cpus; i++)
		ks_spin_destroy(&((struct cpu_cache *)ks_percpu_ptr(c->cpu, i))->lock);
	ks_percpu_free(c->cpu);
	c->cpu = NULL;
	if (c->memcg_caches) {
		ks_mem_free(s->t_array, c->memcg_caches, sizeof(struct memcg_cache_array) +
			    (size_t)c->memcg_caches->size * sizeof(struct kcache *));
		c->memcg_caches = NULL;
	}
	ks_spin_destroy(&c->list_lock);
}

/*
 * slab_kmem_cache_release(). A cache freed while slab-free callbacks for it
 * are pending is what the kernel would turn into a use after free; here it
 * goes to quarantine, poisoned, so that the late callback can be counted.
 */
void ks_kcache_free(struct ks_slab_sys *s, struct kcache *c)
{
	kcache_free_now(s, c);
	if (__atomic_load_n(&c->rcu_pending, __ATOMIC_ACQUIRE)) {
		KS_ADD(&s->unsafe_frees, 1);
		__atomic_store_n(&c->magic, KS_KCACHE_POISON, __ATOMIC_RELEASE);
		ks_spin_lock(&s->quarantine_lock);
		ks_list_add(&c->release_node, &s->quarantine);
		ks_spin_unlock(&s->quarantine_lock);
		return;
	}
	c->magic = 0;
	ks_mem_free(s->t_cache, c, sizeof(*c));
}

/*
 * shutdown_cache() of a memcg's cache, slab_mutex held: unlink it onto
 * @release. Return: 1 if it is SLAB_TYPESAFE_BY_RCU (a barrier is due), 0,
 * or -EBUSY when objects are live (the kernel's BUG_ON()).
 */
int ks_kcache_take_child(struct ks_slab_sys *s, struct kcache *c, struct ks_list *release)
{
	if (ks_kcache_shutdown(s, c))
		return -EBUSY;
	ks_list_del(&c->kmem_caches_node);
	KS_ADD(&c->memcg->nr_caches, -1);
	ks_kcache_unlink(s, c);
	ks_list_add_tail(&c->release_node, release);
	return !!(c->flags & KS_SLAB_TYPESAFE_BY_RCU);
}

/* do_kmem_cache_release() of v4.10: one synchronous barrier, then free. */
void ks_kcache_release_sync(struct ks_slab_sys *s, struct ks_list *release, bool need_barrier)
{
	if (need_barrier)
		ks_slab_rcu_barrier(s, false);
	while (!ks_list_empty(release)) {
		struct kcache *c = ks_list_entry(release->next, struct kcache, release_node);

		ks_list_del(&c->release_node);
		ks_kcache_free(s, c);
	}
}

/* slab_caches_to_rcu_destroy_workfn(): one barrier for the whole batch. */
static void rcu_destroy_workfn(struct kwork *w)
{
	struct ks_slab_sys *s = ks_container_of(w, struct ks_slab_sys, rcu_destroy_work);
	struct ks_list batch;

	ks_list_init(&batch);
	ks_mutex_lock(&s->slab_mutex);
	if (!ks_list_empty(&s->to_rcu_destroy)) {
		batch = s->to_rcu_destroy;
		batch.next->prev = &batch;
		batch.prev->next = &batch;
		ks_list_init(&s->to_rcu_destroy);
	}
	ks_mutex_unlock(&s->slab_mutex);
	if (ks_list_empty(&batch))
		return;
	ks_kcache_release_sync(s, &batch, true);
}

/* shutdown_cache() of v4.11..: typesafe caches wait for a batched barrier. */
void ks_kcache_release_batched(struct ks_slab_sys *s, struct ks_list *release,
			       bool need_barrier)
{
	bool queue = false;

	(void)need_barrier;
	while (!ks_list_empty(release)) {
		struct kcache *c = ks_list_entry(release->next, struct kcache, release_node);

		ks_list_del(&c->release_node);
		if (c->flags & KS_SLAB_TYPESAFE_BY_RCU) {
			/* sysfs_slab_unlink() happens at once in the kernel. */
			ks_kcache_sysfs_remove(s, c);
			ks_mutex_lock(&s->slab_mutex);
			ks_list_add_tail(&c->release_node, &s->to_rcu_destroy);
			ks_mutex_unlock(&s->slab_mutex);
			queue = true;
		} else {
			ks_kcache_free(s, c);
		}
	}
	if (queue)
		ks_queue_work(s, &s->rcu_destroy_work);
}

static void kcache_free_rcu(struct ks_rcu_head *h)
{
	struct kcache *c = ks_container_of(h, struct kcache, rcu);
	struct ks_slab_sys *s = c->sys;

	ks_kcache_free(s, c);
	ks_slab_cb_done(s);
}

/*
 * Tejun's v1 "slab: remove synchronous rcu_barrier() call in memcg cache
 * release path": each cache freed by its own call_rcu(). Callbacks queued
 * on this CPU run before it; those other CPUs hold do not.
 */
void ks_kcache_release_call_rcu(struct ks_slab_sys *s, struct ks_list *release,
				bool need_barrier)
{
	(void)need_barrier;
	ks_slab_flush_cpu_rcu(s, ks_percpu_this_cpu(s->rcu_cpu));
	while (!ks_list_empty(release)) {
		struct kcache *c = ks_list_entry(release->next, struct kcache, release_node);

		ks_list_del(&c->release_node);
		ks_kcache_sysfs_remove(s, c);
		KS_ADD(&s->async_rcu, 1);
		ks_slab_call_rcu(s, &c->rcu, kcache_free_rcu);
	}
}

/* ---- the system ------------------------------------------------------- */

static const struct slab_ops *const strategies[] = {
	&ks_slab_percache_4_10, &ks_slab_lists_4_11, &ks_slab_objcg_5_9,
	&ks_slab_objcg_5_14, &ks_slab_call_rcu_only,
};

static const struct ks_strategy_info strategy_info[] = {
	{ "percache-4.10",
	  "a cache per (root, memcg) on one slab_caches list; offline and release walk every cache",
	  "mm/slab_common.c memcg_deactivate_kmem_caches(), memcg_destroy_kmem_caches(), Linux 4.10" },
	{ "lists-4.11",
	  "slab_root_caches and per-memcg cache lists; deactivation by call_rcu, batched rcu_barrier",
	  "Tejun Heo, \"slab: make memcg slab destruction scalable\", Linux 4.11 (510ded33e075, 01fb58bcba63)" },
	{ "objcg-5.9",
	  "no per-memcg caches; objects carry an obj_cgroup, reparented on offline",
	  "Roman Gushchin, \"The new cgroup slab memory controller\", Linux 5.9 (10befea91b61)" },
	{ "objcg-5.14",
	  "objcg-5.9 with separate caches for accounted objects (kmalloc-cg-*)",
	  "Waiman Long, \"mm: memcg/slab: create a new set of kmalloc-cg-<n> caches\", Linux 5.14 (494c1dfe855e)" },
	{ "call-rcu-only",
	  "negative control: memcg caches freed by a bare call_rcu(), unsafe for TYPESAFE_BY_RCU",
	  "Tejun Heo, PATCHSET v1 0002 \"slab: remove synchronous rcu_barrier() call in memcg cache release path\" (dropped)" },
};

const struct ks_strategy_info *ks_slab_strategies(size_t *n)
{
	if (!n)
		return NULL;
	*n = KS_ARRAY_SIZE(strategy_info);
	return strategy_info;
}

const char *ks_slab_strategy(const struct ks_slab_sys *s)
{
	return s ? s->ops->info.name : NULL;
}

static int sys_types(struct ks_slab_sys *s)
{
	struct {
		const char *name;
		size_t size;
		struct ks_mem_type **t;
	} types[] = {
		{ "kmem_cache", sizeof(struct kcache), &s->t_cache },
		{ "slab", s->slab_bytes, &s->t_slab },
		{ "memcg_cache_array", sizeof(struct memcg_cache_array), &s->t_array },
		{ "mem_cgroup", sizeof(struct memcg), &s->t_memcg },
		{ "obj_cgroup", sizeof(struct obj_cgroup), &s->t_objcg },
		{ "kernfs_node", KS_KERNFS_NODE_SIZE, &s->t_kernfs },
		{ "memcg_idr", sizeof(struct memcg_table), &s->t_table },
		{ "obj_cgroups_vec", sizeof(void *), &s->t_vec },
		{ "seq_file", KS_PAGE_SIZE, &s->t_seq },
	};
	struct {
		const char *name;
		enum ks_lock_scope scope;
		struct ks_lock_class **c;
	} classes[] = {
		{ "slab_mutex", KS_LOCK_GLOBAL, &s->c_slab_mutex },
		{ "cgroup_mutex", KS_LOCK_GLOBAL, &s->c_cgroup_mutex },
		{ "kmem_cache_node.list_lock", KS_LOCK_OBJECT, &s->c_list_lock },
		{ "kmem_cache_cpu.lock", KS_LOCK_PERCPU, &s->c_cpu },
		/* The kernel disables irqs for its per-CPU callback lists; with
		 * rcu_nocbs they are under nocb_lock. */
		{ "rcu_data.nocb_lock", KS_LOCK_PERCPU, &s->c_rcu },
		{ "worker_pool.lock", KS_LOCK_GLOBAL, &s->c_wq },
		{ "cgroup_idr_lock", KS_LOCK_GLOBAL, &s->c_idr },
		{ "css_set_lock", KS_LOCK_GLOBAL, &s->c_css_set },
	};
	int r;

	for (size_t i = 0; i < KS_ARRAY_SIZE(types); i++) {
		r = ks_mem_type_get(s->mem, types[i].name, types[i].size, types[i].t);
		if (r)
			return r;
	}
	for (size_t i = 0; i < KS_ARRAY_SIZE(classes); i++) {
		r = ks_lock_class_get(s->locks, classes[i].name, classes[i].scope,
				      classes[i].c);
		if (r)
			return r;
	}
	return 0;
}

static void sys_free(struct ks_slab_sys *s);

int ks_slab_create(const char *strategy, const struct ks_slab_opts *opts,
		   struct ks_slab_sys **out)
{
	static const struct ks_slab_opts defaults;
	const struct slab_ops *ops = NULL;
	struct ks_slab_sys *s;
	int r, i;

	if (!strategy || !out)
		return -EINVAL;
	if (!opts)
		opts = &defaults;
	if (opts->slab_order > KS_SLAB_MAX_ORDER || opts->cpu_cache_objs > 256 ||
	    opts->sysfs_nodes_per_cache > 4096 || opts->rcu_batch > 65536)
		return -EINVAL;
	for (size_t k = 0; k < KS_ARRAY_SIZE(strategies); k++)
		if (!strcmp(strategies[k]->info.name, strategy))
			ops = strategies[k];
	if (!ops)
		return -ENOENT;
	{
		const struct ks_topo *topo = opts->topo ? opts->topo : ks_topo_default();
		struct ks_lockstat *own_locks = NULL;
		struct ks_mem *own_mem = NULL, *mem = opts->mem;
		struct ks_mem_type *t_sys;

		if (!topo)
			return -EINVAL;
		if (!opts->locks && (r = ks_lockstat_create(topo, &own_locks)))
			return r;
		if (!mem && (r = ks_mem_create(topo, &own_mem))) {
			ks_lockstat_destroy(own_locks);
			return r;
		}
		if (!mem)
			mem = own_mem;
		r = ks_mem_type_get(mem, "slab_sys", sizeof(*s), &t_sys);
		s = r ? NULL : ks_mem_zalloc(t_sys, sizeof(*s));
		if (!s) {
			if (own_mem)
				ks_mem_destroy(own_mem);
			ks_lockstat_destroy(own_locks);
			return r ? r : -ENOMEM;
		}
		s->t_sys = t_sys;
		s->topo = topo;
		s->own_locks = own_locks;
		s->locks = opts->locks ? opts->locks : own_locks;
		s->own_mem = own_mem;
		s->mem = mem;
	}
	s->ops = ops;
	s->nr_cpus = ks_topo_nr_cpus(s->topo);
	s->slab_order = opts->slab_order;
	s->slab_bytes = (size_t)KS_PAGE_SIZE << s->slab_order;
	s->cpu_cache_objs = opts->cpu_cache_objs ? opts->cpu_cache_objs : 16;
	s->sysfs_per_cache = opts->sysfs_nodes_per_cache ? opts->sysfs_nodes_per_cache : 30;
	s->rcu_batch = opts->rcu_batch ? opts->rcu_batch : 16;
	ks_list_init(&s->slab_caches);
	ks_list_init(&s->slab_root_caches);
	ks_list_init(&s->to_rcu_destroy);
	ks_list_init(&s->wq);
	ks_list_init(&s->quarantine);
	s->rcu_destroy_work.fn = rcu_destroy_workfn;
	ks_list_init(&s->rcu_destroy_work.entry);

	r = sys_types(s);
	if (r)
		goto err;
	ks_mutex_init(&s->slab_mutex, s->c_slab_mutex);
	ks_mutex_init(&s->cgroup_mutex, s->c_cgroup_mutex);
	ks_spin_init(&s->idr_lock, s->c_idr);
	ks_spin_init(&s->css_set_lock, s->c_css_set);
	ks_spin_init(&s->wq_lock, s->c_wq);
	ks_spin_init(&s->quarantine_lock, NULL);
	s->locks_inited = true;
	r = ks_percpu_alloc(s->topo, sizeof(struct rcu_cpu), &s->rcu_cpu);
	if (r)
		goto err;
	for (i = 0; i < s->nr_cpus; i++)
		ks_spin_init(&((struct rcu_cpu *)ks_percpu_ptr(s->rcu_cpu, i))->lock, s->c_rcu);
	r = ks_percpu_alloc(s->topo, sizeof(struct sys_pcpu), &s->pcpu);
	if (r)
		goto err;
	r = ks_memcg_sys_init(s);
	if (r)
		goto err;
	if (sem_init(&s->wq_sem, 0, 0)) {
		r = -EAGAIN;
		goto err;
	}
	if (pthread_create(&s->worker, NULL, worker_main, s)) {
		sem_destroy(&s->wq_sem);
		r = -EAGAIN;
		goto err;
	}
	s->worker_started = true;
	*out = s;
	return 0;
err:
	sys_free(s);
	return r;
}

int ks_slab_flush(struct ks_slab_sys *s)
{
	if (!s)
		return -EINVAL;
	if (!ks_rcu_thread_registered())
		return -EPERM;
	for (;;) {
		bool idle = true;
		int r;

		for (int cpu = 0; cpu < s->nr_cpus; cpu++)
			ks_slab_flush_cpu_rcu(s, cpu);
		r = ks_rcu_barrier();
		if (r)
			return r;
		while (__atomic_load_n(&s->wq_pending, __ATOMIC_ACQUIRE) > 0) {
			struct timespec ts = { 0, 20000 };

			nanosleep(&ts, NULL);
		}
		for (int cpu = 0; cpu < s->nr_cpus; cpu++) {
			struct rcu_cpu *rc = ks_percpu_ptr(s->rcu_cpu, cpu);

			ks_spin_lock(&rc->lock);
			if (rc->n)
				idle = false;
			ks_spin_unlock(&rc->lock);
		}
		if (idle && !__atomic_load_n(&s->cb_pending, __ATOMIC_ACQUIRE) &&
		    !__atomic_load_n(&s->wq_pending, __ATOMIC_ACQUIRE))
			return 0;
	}
}

static void sys_free(struct ks_slab_sys *s)
{
	if (s->worker_started) {
		ks_spin_lock(&s->wq_lock);
		s->wq_stop = 1;
		ks_spin_unlock(&s->wq_lock);
		sem_post(&s->wq_sem);
		pthread_join(s->worker, NULL);
		sem_destroy(&s->wq_sem);
	}
	/* Every cache, with whatever it still holds. */
	while (!ks_list_empty(&s->slab_caches)) {
		struct ks_list *l = s->slab_caches.next;
		struct kcache *c = ks_list_entry(l, struct klink, node)->owner;

		if (!c) { /* a slabinfo cursor left open */
			ks_list_del(l);
			continue;
		}
		ks_list_del(l);
		kcache_drop_slabs(s, c);
		kcache_free_now(s, c);
		ks_mem_free(s->t_cache, c, sizeof(*c));
	}
	while (!ks_list_empty(&s->quarantine)) {
		struct kcache *c = ks_list_entry(s->quarantine.next, struct kcache, release_node);

		ks_list_del(&c->release_node);
		ks_mem_free(s->t_cache, c, sizeof(*c));
	}
	ks_memcg_sys_fini(s);
	if (s->rcu_cpu) {
		for (int i = 0; i < s->nr_cpus; i++)
			ks_spin_destroy(&((struct rcu_cpu *)ks_percpu_ptr(s->rcu_cpu, i))->lock);
		ks_percpu_free(s->rcu_cpu);
	}
	ks_percpu_free(s->pcpu);
	if (s->locks_inited) {
		ks_mutex_destroy(&s->slab_mutex);
		ks_mutex_destroy(&s->cgroup_mutex);
		ks_spin_destroy(&s->idr_lock);
		ks_spin_destroy(&s->css_set_lock);
		ks_spin_destroy(&s->wq_lock);
		ks_spin_destroy(&s->quarantine_lock);
	}
	{
		struct ks_mem *own_mem = s->own_mem;
		struct ks_lockstat *own_locks = s->own_locks;

		ks_mem_free(s->t_sys, s, sizeof(*s));
		if (own_mem)
			ks_mem_destroy(own_mem);
		if (own_locks)
			ks_lockstat_destroy(own_locks);
	}
}

void ks_slab_destroy(struct ks_slab_sys *s)
{
	bool reg;

	if (!s)
		return;
	/* Pending callbacks point into @s: they must all have run. */
	reg = ks_rcu_register_thread() == 0;
	ks_slab_flush(s);
	sys_free(s);
	if (reg)
		ks_rcu_unregister_thread();
}

int ks_slab_stats(const struct ks_slab_sys *s, struct ks_slab_stats *out)
{
	struct ks_mem_type *meta[7];
	int64_t objs = 0;

	if (!s || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->root_caches = KS_LOAD(&s->n_roots);
	out->child_caches = KS_LOAD(&s->n_children);
	out->caches_peak = KS_LOAD(&s->caches_peak);
	out->memcgs_online = (uint64_t)KS_LOAD(&s->memcgs_online);
	out->memcgs_dying = (uint64_t)KS_LOAD(&s->memcgs_dying);
	out->offlines = KS_LOAD(&s->offlines);
	out->releases = KS_LOAD(&s->releases);
	out->offline_visits = KS_LOAD(&s->offline_visits);
	out->release_visits = KS_LOAD(&s->release_visits);
	out->create_visits = KS_LOAD(&s->create_visits);
	out->sync_gp = KS_LOAD(&s->sync_gp);
	out->sync_gp_cgroup_mutex = KS_LOAD(&s->sync_gp_cgm);
	out->rcu_barriers = KS_LOAD(&s->rcu_barriers);
	out->async_rcu = KS_LOAD(&s->async_rcu);
	out->sysfs_nodes = (uint64_t)KS_LOAD(&s->sysfs_nodes);
	out->sysfs_nodes_peak = KS_LOAD(&s->sysfs_nodes_peak);
	for (int i = 0; i < s->nr_cpus; i++)
		objs += KS_LOAD(&((struct sys_pcpu *)ks_percpu_ptr(s->pcpu, i))->objs);
	out->objs_live = objs;
	out->slabs_live = KS_LOAD(&s->slabs_live);
	out->slab_bytes = out->slabs_live * (int64_t)s->slab_bytes;
	meta[0] = s->t_cache;
	meta[1] = s->t_array;
	meta[2] = s->t_memcg;
	meta[3] = s->t_objcg;
	meta[4] = s->t_kernfs;
	meta[5] = s->t_table;
	meta[6] = s->t_vec;
	for (size_t i = 0; i < KS_ARRAY_SIZE(meta); i++) {
		struct ks_mem_type_stats st;

		if (!ks_mem_type_read(meta[i], &st))
			out->meta_bytes += st.live_bytes;
	}
	/* per-CPU caches: one cache-line-rounded copy per CPU per cache */
	out->meta_bytes += (int64_t)(out->root_caches + out->child_caches) * s->nr_cpus *
		(int64_t)((sizeof(struct cpu_cache) + s->cpu_cache_objs * sizeof(void *) +
			   KS_CACHELINE - 1) & ~(size_t)(KS_CACHELINE - 1));
	out->late_rcu_callbacks = KS_LOAD(&s->late_callbacks);
	out->unsafe_cache_frees = KS_LOAD(&s->unsafe_frees);
	out->slabinfo_reads = KS_LOAD(&s->slabinfo_reads);
	out->slabinfo_visits = KS_LOAD(&s->slabinfo_visits);
	return 0;
}

/* ---- the public cache API -------------------------------------------- */

long ks_kmem_cache_max_size(const struct ks_slab_sys *s)
{
	unsigned int words;

	if (!s)
		return -EINVAL;
	return (long)(s->slab_bytes - slab_hdr_size(1, 8, &words));
}

static bool name_ok(const char *name)
{
	size_t n = strlen(name);

	if (!n || n > KS_SLAB_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] <= ' ' || (unsigned char)name[i] >= 0x7f)
			return false;
	return true;
}

/* slab_mutex held */
static struct kcache *find_root(struct ks_slab_sys *s, const char *name)
{
	for (struct ks_list *l = s->slab_root_caches.next; l != &s->slab_root_caches;
	     l = l->next) {
		struct kcache *c = ks_list_entry(l, struct klink, node)->owner;

		if (c && !strcmp(c->name, name))
			return c;
	}
	return NULL;
}

int ks_kmem_cache_create(struct ks_slab_sys *s, const char *name, size_t size,
			 size_t align, unsigned int flags, struct ks_kmem_cache **out)
{
	char twin_name[KS_SLAB_NAME_MAX + 1];
	struct kcache *c, *twin = NULL;
	long max;

	if (!s || !name || !out || !name_ok(name) || (flags & ~KS_SLAB_FLAGS_ALL))
		return -EINVAL;
	max = ks_kmem_cache_max_size(s);
	if (!size || size > (size_t)max)
		return -EINVAL;
	if (align & (align - 1) || align > 4096)
		return -EINVAL;
	if (!ks_rcu_thread_registered())
		return -EPERM;
	if (align < 8)
		align = 8;
	if ((flags & KS_SLAB_HWCACHE_ALIGN) && align < KS_CACHELINE)
		align = KS_CACHELINE;
	{
		struct kcache probe = { .object_size = size, .align = align };

		if (cache_geometry(s, &probe))
			return -EINVAL;
	}
	/* kmalloc-cg-<n> beside kmalloc-<n>: "<name>(cg)". */
	snprintf(twin_name, sizeof(twin_name), "%.*s(cg)", KS_SLAB_NAME_MAX - 4, name);
	ks_mutex_lock(&s->slab_mutex);
	if (find_root(s, name) || (s->ops->cg_twins && find_root(s, twin_name))) {
		ks_mutex_unlock(&s->slab_mutex);
		return -EEXIST;
	}
	c = ks_kcache_new(s, name, size, align, flags, NULL, NULL);
	if (c && s->ops->cg_twins) {
		twin = ks_kcache_new(s, twin_name, size, align, flags, NULL, NULL);
		if (!twin) {
			kcache_free_now(s, c);
			ks_mem_free(s->t_cache, c, sizeof(*c));
			c = NULL;
		}
	}
	if (!c) {
		ks_mutex_unlock(&s->slab_mutex);
		return -ENOMEM;
	}
	ks_kcache_link(s, c);
	if (twin) {
		twin->cg_twin = true;
		c->twin = twin;
		ks_kcache_link(s, twin);
	}
	ks_mutex_unlock(&s->slab_mutex);
	*out = (struct ks_kmem_cache *)c;
	return 0;
}

/*
 * get_obj_cgroup_from_current() (5.9): the cgroup's obj_cgroup, or the
 * nearest ancestor's while it is being reparented. RCU read lock held.
 */
static struct obj_cgroup *get_obj_cgroup(struct ks_slab_sys *s, struct memcg *cg)
{
	for (; cg && cg != s->root_memcg; cg = cg->parent) {
		struct obj_cgroup *objcg = ks_rcu_dereference(cg->objcg);
		int64_t v;

		if (!objcg)
			continue;
		v = __atomic_load_n(&objcg->refcnt, __ATOMIC_RELAXED);
		while (v > 0) {
			if (__atomic_compare_exchange_n(&objcg->refcnt, &v, v + 1, false,
							__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
				return objcg;
		}
	}
	return NULL;
}

/* obj_full_size(): what an object costs its cgroup. */
static inline int64_t obj_full_size(const struct kcache *c)
{
	return (int64_t)(c->size + sizeof(struct obj_cgroup *));
}

/* memcg_slab_post_alloc_hook(): the vector is made on first need. */
static int objcg_attach(struct kcache *c, struct slab *sl, unsigned int idx,
			struct obj_cgroup *objcg)
{
	struct obj_cgroup **vec = __atomic_load_n(&sl->objcgs, __ATOMIC_ACQUIRE);

	if (!vec) {
		size_t sz = (size_t)c->objs_per_slab * sizeof(*vec);
		struct obj_cgroup **nv = ks_mem_zalloc(c->sys->t_vec, sz);

		if (!nv)
			return -ENOMEM;
		if (__atomic_compare_exchange_n(&sl->objcgs, &vec, nv, false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			vec = nv;
		else
			ks_mem_free(c->sys->t_vec, nv, sz);
	}
	__atomic_store_n(&vec[idx], objcg, __ATOMIC_RELAXED);
	ks_memcg_charge(ks_rcu_dereference(objcg->memcg), 1, obj_full_size(c));
	return 0;
}

int ks_kmem_cache_alloc(struct ks_kmem_cache *cache, uint64_t memcg, void **out)
{
	struct kcache *c = (struct kcache *)cache;
	struct ks_slab_sys *s;
	struct memcg *cg = NULL;
	struct kcache *t = c;
	struct slab *sl;
	unsigned int idx;
	void *obj;

	if (!c || !out)
		return -EINVAL;
	if (!ks_rcu_thread_registered())
		return -EPERM;
	s = c->sys;
	ks_rcu_read_lock();
	if (memcg != KS_MEMCG_ROOT) {
		cg = ks_memcg_lookup(s, memcg);
		if (!cg || !ks_memcg_tryget_online(cg)) {
			ks_rcu_read_unlock();
			return -ENOENT;
		}
	}
	if (!cg) {
		obj = ks_kcache_alloc_obj(c, NULL, NULL);
	} else if (s->ops->memcg_caches) {
		/* memcg_kmem_get_cache(): the child, created on first use */
		t = ks_memcg_cache_get(s, c, cg, s->ops != &ks_slab_percache_4_10);
		obj = ks_kcache_alloc_obj(t, NULL, NULL);
		if (obj && t->memcg)
			ks_memcg_charge(t->memcg, 1, 0);
	} else {
		struct obj_cgroup *objcg = get_obj_cgroup(s, cg);

		if (s->ops->cg_twins && objcg)
			t = c->twin;
		obj = ks_kcache_alloc_obj(t, &sl, &idx);
		if (obj && objcg && objcg_attach(t, sl, idx, objcg)) {
			ks_kcache_free_obj(t, sl, obj);
			obj = NULL;
		}
		if (!obj && objcg)
			ks_obj_cgroup_put(objcg);
	}
	if (cg)
		ks_memcg_put(cg);
	ks_rcu_read_unlock();
	if (!obj)
		return -ENOMEM;
	*out = obj;
	return 0;
}

int ks_kmem_cache_free(struct ks_kmem_cache *cache, void *obj)
{
	struct kcache *c = (struct kcache *)cache;
	struct ks_slab_sys *s;
	struct kcache *sc;
	struct slab *sl;
	unsigned long bit, old;
	ptrdiff_t off;
	unsigned int idx;
	struct obj_cgroup **vec;

	if (!c)
		return -EINVAL;
	if (!obj)
		return 0;
	if (!ks_rcu_thread_registered())
		return -EPERM;
	s = c->sys;
	sl = obj_to_slab(s, obj);
	if (sl->magic != KS_SLAB_MAGIC || sl->self != sl)
		return -EINVAL;
	sc = sl->cache;
	if (sc->root != c && sc->root != c->twin)
		return -EINVAL; /* freeing into the wrong cache */
	off = (char *)obj - (char *)sl - (ptrdiff_t)sc->hdr_size;
	if (off < 0 || off % (ptrdiff_t)sc->size)
		return -EINVAL;
	idx = (unsigned int)(off / (ptrdiff_t)sc->size);
	if (idx >= sc->objs_per_slab)
		return -EINVAL;
	bit = 1ul << (idx % 64);
	old = __atomic_fetch_and(&sl->bitmap[idx / 64], ~bit, __ATOMIC_RELAXED);
	if (!(old & bit))
		return -EINVAL; /* not allocated: a double free */

	ks_rcu_read_lock();
	/*
	 * Load the vector once: another CPU may be installing it with a cmpxchg
	 * (objcg_attach()), so every access to sl->objcgs must be atomic.
	 */
	vec = __atomic_load_n(&sl->objcgs, __ATOMIC_ACQUIRE);
	if (vec) {
		/* memcg_slab_free_hook() */
		struct obj_cgroup *objcg = __atomic_exchange_n(&vec[idx], NULL,
							       __ATOMIC_RELAXED);

		if (objcg) {
			ks_memcg_charge(ks_rcu_dereference(objcg->memcg), -1, -obj_full_size(sc));
			ks_obj_cgroup_put(objcg);
		}
	}
	if (sc->memcg)
		ks_memcg_charge(sc->memcg, -1, 0);
	ks_kcache_free_obj(sc, sl, obj);
	ks_rcu_read_unlock();
	return 0;
}

int ks_kmem_cache_shrink(struct ks_kmem_cache *cache)
{
	struct kcache *c = (struct kcache *)cache;
	struct ks_slab_sys *s;

	if (!c)
		return -EINVAL;
	if (!ks_rcu_thread_registered())
		return -EPERM;
	s = c->sys;
	ks_mutex_lock(&s->slab_mutex);
	ks_kcache_shrink(c);
	if (c->twin)
		ks_kcache_shrink(c->twin);
	for (struct ks_list *l = c->children.next; l != &c->children; l = l->next)
		ks_kcache_shrink(ks_list_entry(l, struct kcache, children_node));
	ks_mutex_unlock(&s->slab_mutex);
	return 0;
}

/*
 * kmem_cache_destroy(): every child and the twin must be empty, or nothing
 * happens. Children of dying cgroups go with their root, as
 * shutdown_memcg_caches() takes them.
 */
int ks_kmem_cache_destroy(struct ks_kmem_cache *cache)
{
	struct kcache *c = (struct kcache *)cache;
	struct ks_slab_sys *s;
	struct ks_list release;
	bool busy = false;
	struct ks_list *l;

	if (!c)
		return -EINVAL;
	if (!ks_rcu_thread_registered())
		return -EPERM;
	s = c->sys;
	/*
	 * flush_memcg_workqueue() (92ee383f6daa, v4.18, fixing a race 4.11
	 * had): deactivation callbacks and work still hold children; wait
	 * for them before looking.
	 */
	if (s->ops->memcg_caches && s->ops != &ks_slab_percache_4_10) {
		bool children;

		ks_mutex_lock(&s->slab_mutex);
		c->dying = 1;
		children = !ks_list_empty(&c->children);
		ks_mutex_unlock(&s->slab_mutex);
		/*
		 * A child's deactivation holds its cgroup, whose release is
		 * what unlinks the child: with no child left, none is pending
		 * and the barrier (unconditional in the kernel) is skipped.
		 */
		if (children)
			ks_flush_memcg_workqueue(s);
	}
	ks_list_init(&release);
	ks_mutex_lock(&s->slab_mutex);
	if (ks_kcache_shutdown(s, c) || (c->twin && ks_kcache_shutdown(s, c->twin)))
		busy = true;
	for (l = c->children.next; !busy && l != &c->children; l = l->next)
		if (ks_kcache_shutdown(s, ks_list_entry(l, struct kcache, children_node)))
			busy = true;
	if (busy) {
		c->dying = 0;
		ks_mutex_unlock(&s->slab_mutex);
		return -EBUSY;
	}
	while (!ks_list_empty(&c->children)) {
		struct kcache *ch = ks_list_entry(c->children.next, struct kcache, children_node);

		if (ch->memcg) {
			ks_list_del(&ch->kmem_caches_node);
			KS_ADD(&ch->memcg->nr_caches, -1);
		}
		ks_kcache_unlink(s, ch);
		ks_list_add_tail(&ch->release_node, &release);
	}
	if (c->twin) {
		ks_kcache_unlink(s, c->twin);
		ks_list_add_tail(&c->twin->release_node, &release);
	}
	ks_kcache_unlink(s, c);
	ks_list_add_tail(&c->release_node, &release);
	ks_mutex_unlock(&s->slab_mutex);
	s->ops->release_caches(s, &release, c->flags & KS_SLAB_TYPESAFE_BY_RCU);
	return 0;
}

int ks_kmem_cache_info(struct ks_kmem_cache *cache, struct ks_kmem_cache_info *out)
{
	struct kcache *c = (struct kcache *)cache;
	struct ks_slab_sys *s;

	if (!c || !out)
		return -EINVAL;
	s = c->sys;
	memset(out, 0, sizeof(*out));
	ks_mutex_lock(&s->slab_mutex);
	snprintf(out->name, sizeof(out->name), "%.63s", c->name);
	out->object_size = c->object_size;
	out->size = c->size;
	out->flags = c->flags;
	out->objs_per_slab = c->objs_per_slab;
	ks_kcache_stats(c, &out->active_objs, &out->num_objs, &out->slabs);
	if (c->twin)
		ks_kcache_stats(c->twin, &out->active_objs, &out->num_objs, &out->slabs);
	for (struct ks_list *l = c->children.next; l != &c->children; l = l->next) {
		ks_kcache_stats(ks_list_entry(l, struct kcache, children_node),
				&out->active_objs, &out->num_objs, &out->slabs);
		out->children++;
	}
	ks_mutex_unlock(&s->slab_mutex);
	return 0;
}
