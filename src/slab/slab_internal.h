/* SPDX-License-Identifier: MIT */
/*
 * Private to src/slab/: the structures every strategy shares, the strategy
 * ops table, and the helpers of slab.c, memcg.c and slabinfo.c.
 *
 * Names follow the kernel's (mm/slab.h, mm/slab_common.c, mm/memcontrol.c)
 * where a structure or field has a kernel counterpart, so that a reader can
 * put the two side by side.
 */
#ifndef KS_SLAB_INTERNAL_H
#define KS_SLAB_INTERNAL_H

#include <kscale/slab.h>
#include <kscale/lock.h>
#include <kscale/mem.h>
#include <kscale/percpu.h>
#include <kscale/rcu.h>
#include <kscale/topo.h>
#include <pthread.h>
#include <semaphore.h>

/* ---- a doubly linked list, as include/linux/list.h ---------------------- */
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
	return h->next == h;
}

static inline void ks_list__add(struct ks_list *n, struct ks_list *prev, struct ks_list *next)
{
	next->prev = n;
	n->next = next;
	n->prev = prev;
	prev->next = n;
}

/* list_add(): after @h, i.e. at the head, as create_cache() adds caches. */
static inline void ks_list_add(struct ks_list *n, struct ks_list *h)
{
	ks_list__add(n, h, h->next);
}

static inline void ks_list_add_tail(struct ks_list *n, struct ks_list *h)
{
	ks_list__add(n, h->prev, h);
}

static inline void ks_list_del(struct ks_list *n)
{
	n->next->prev = n->prev;
	n->prev->next = n->next;
	ks_list_init(n);
}

#define ks_list_entry(p, type, member) ks_container_of(p, type, member)

/* ---- objects and limits ---------------------------------------------- */
#define KS_PAGE_SIZE 4096u
#define KS_SLAB_MAX_ORDER 3
#define KS_SLAB_MAGIC 0x534c414247414d45ull   /* a live slab */
#define KS_KCACHE_MAGIC 0x6b6d656du         /* a live kmem_cache */
#define KS_KCACHE_POISON 0xdeadcac4u        /* a freed one, in quarantine */
#define KS_CHILD_NAME_MAX 128
#define KS_MEMCG_CACHES_MIN 4      /* MEMCG_CACHES_MIN_SIZE */
#define KS_MEMCG_CACHES_MAX 65535  /* MEMCG_CACHES_MAX_SIZE */
#define KS_KERNFS_NODE_SIZE 136    /* kernfs_node_cache objsize, Linux 6.18 [M] */
#define KS_MEMCG_DEAD (1ll << 62)  /* percpu_ref killed: tryget_online fails */

struct kcache;
struct memcg;
struct ks_slab_sys;

/* A list entry that knows its cache; owner NULL marks a slabinfo cursor. */
struct klink {
	struct ks_list node;
	struct kcache *owner;
};

/* A deferred work item, run on the system's worker (a workqueue model). */
struct kwork {
	struct ks_list entry;
	void (*fn)(struct kwork *w);
	bool queued;
};

/* SLAB's array_cache: a CPU's stack of free objects. */
struct cpu_cache {
	struct ks_spinlock lock; /* kmem_cache_cpu.lock */
	unsigned int n;
	void *obj[];
};

/*
 * A slab: header at the start of a (4096 << order)-byte block aligned to its
 * size, so that an object finds its slab by masking (virt_to_slab()). The
 * free objects are an index stack (mm/slab.c's freelist array), so a freed
 * object's memory is never written: what SLAB_TYPESAFE_BY_RCU readers need.
 */
struct slab {
	uint64_t magic;
	struct slab *self;
	struct kcache *cache;
	struct ks_list lru;      /* partial or full list of the cache */
	unsigned int inuse;      /* objects not on the free stack */
	unsigned int nfree;      /* entries on the free stack */
	int list;                /* SLAB_LIST_* */
	uint16_t *freeidx;       /* the free stack */
	unsigned long *bitmap;   /* objects handed to a caller */
	struct obj_cgroup **objcgs; /* objcg-*: page->obj_cgroups */
	struct ks_rcu_head rcu;
	struct slab *rcu_next;   /* on a CPU's pending slab-free list */
};

enum { SLAB_LIST_NONE, SLAB_LIST_PARTIAL, SLAB_LIST_FULL };

/* memcg_cache_array: a root's per-memcg children, indexed by kmemcg_id. */
struct memcg_cache_array {
	struct ks_rcu_head rcu;
	struct ks_slab_sys *sys;
	int size;
	struct kcache *entries[];
};

struct kcache {
	uint32_t magic;
	struct ks_slab_sys *sys;
	char name[KS_CHILD_NAME_MAX];
	size_t object_size;      /* as asked */
	size_t size;             /* stride in the slab */
	size_t align;
	unsigned int flags;
	unsigned int objs_per_slab;
	size_t hdr_size;
	unsigned int bitmap_words;
	uint64_t serial;         /* creation order, never reused */
	uint64_t gen;            /* sys->root_gen when created (roots) */

	struct kcache *root;     /* itself for a root cache */
	struct memcg *memcg;     /* owner of a per-memcg cache, else NULL */
	bool cg_twin;            /* objcg-5.14: the kmalloc-cg-* of root */
	struct kcache *twin;

	struct klink list;       /* sys->slab_caches */
	struct klink root_link;  /* sys->slab_root_caches (roots) */
	struct ks_list children; /* root: memcg_params.children */
	struct ks_list children_node;
	struct ks_list kmem_caches_node; /* memcg->kmem_caches (4.11) */
	struct ks_list release_node;     /* a release batch */
	struct memcg_cache_array *memcg_caches; /* root, RCU */

	/* kmem_cache_node: one node in this model */
	struct ks_spinlock list_lock;
	struct ks_list partial, full;
	int64_t nr_slabs;        /* under list_lock; read racily by slabinfo */
	int64_t nr_free;         /* free objects in slabs */
	unsigned int nr_empty;   /* empty slabs kept on partial */
	unsigned int min_partial;
	int deactivated;         /* cpu_partial = min_partial = 0 */
	int dying;               /* root: memcg_params.dying (4.11) */

	struct ks_percpu *cpu;   /* struct cpu_cache */
	unsigned int cpu_cap;

	void *sysfs;             /* modelled /sys/kernel/slab/<name>/ */
	unsigned int sysfs_nodes;

	int64_t rcu_pending;     /* slab-free RCU callbacks not yet run */
	struct ks_rcu_head rcu;
	struct kwork work;       /* 4.11 deactivation */
};

/* struct obj_cgroup (5.9): what an object is charged to. */
struct obj_cgroup {
	int64_t refcnt;
	struct memcg *memcg;     /* RCU; the parent after reparenting */
	struct ks_list list;     /* memcg->objcg_list */
	struct ks_rcu_head rcu;
	struct ks_slab_sys *sys;
};

struct memcg {
	uint64_t id;
	struct ks_slab_sys *sys;
	struct memcg *parent;
	int64_t refcnt;          /* css ref; KS_MEMCG_DEAD once killed */
	int online;
	int kmem_online;         /* kmem_state == KMEM_ONLINE */
	int kmemcg_id;
	int nr_online_children;  /* cgroup_mutex */
	struct ks_list kmem_caches;  /* 4.11: its caches, slab_mutex */
	uint64_t nr_caches;          /* slab_mutex */
	struct obj_cgroup *objcg;    /* 5.9, RCU */
	struct ks_list objcg_list;   /* 5.9: objcgs pointing here */
	int64_t objs, bytes;         /* charged, hierarchical */
	struct ks_rcu_head rcu;
	struct kwork free_work;
	char name[24];
};

struct memcg_table {
	struct ks_rcu_head rcu;
	struct ks_slab_sys *sys;
	size_t cap;
	struct memcg *slot[];
};

/* A CPU's slab-free RCU callbacks not yet handed to RCU (rcu_data). */
struct rcu_cpu {
	struct ks_spinlock lock;
	struct slab *head;
	unsigned int n;
};

/* Per-CPU counters of the system. */
struct sys_pcpu {
	int64_t objs;
};

/* ---- the strategy ops table ------------------------------------------ */
struct slab_ops {
	struct ks_strategy_info info;
	bool memcg_caches;        /* a child cache per (root, memcg) */
	bool objcg;               /* per-object obj_cgroup charging */
	bool cg_twins;            /* separate caches for accounted objects */
	bool slabinfo_all;        /* slabinfo walks slab_caches, not roots */
	/* cgroup online (css_online), with cgroup_mutex. */
	int (*memcg_online)(struct ks_slab_sys *s, struct memcg *cg);
	/* cgroup offline (css_offline), with cgroup_mutex. */
	void (*memcg_offline)(struct ks_slab_sys *s, struct memcg *cg);
	/* cgroup release (css_free), on the worker. */
	void (*memcg_free)(struct ks_slab_sys *s, struct memcg *cg);
	/*
	 * Free the caches on @release (unlinked, empty); @need_barrier if one
	 * is SLAB_TYPESAFE_BY_RCU. Called without slab_mutex; @cgroup_mutex
	 * says whether the caller holds it.
	 */
	void (*release_caches)(struct ks_slab_sys *s, struct ks_list *release,
			       bool need_barrier);
};

extern const struct slab_ops ks_slab_percache_4_10;
extern const struct slab_ops ks_slab_lists_4_11;
extern const struct slab_ops ks_slab_objcg_5_9;
extern const struct slab_ops ks_slab_objcg_5_14;
extern const struct slab_ops ks_slab_call_rcu_only;

/* ---- the system ------------------------------------------------------- */
struct ks_slab_sys {
	const struct slab_ops *ops;
	const struct ks_topo *topo;
	struct ks_topo *own_topo;
	struct ks_lockstat *locks, *own_locks;
	struct ks_mem *mem, *own_mem;
	struct ks_mem_type *t_sys, *t_cache, *t_slab, *t_cpu, *t_array, *t_memcg,
		*t_objcg, *t_kernfs, *t_table, *t_vec, *t_seq;

	struct ks_lock_class *c_slab_mutex, *c_cgroup_mutex, *c_list_lock,
		*c_cpu, *c_rcu, *c_wq, *c_idr, *c_css_set;
	bool locks_inited;
	struct ks_mutex slab_mutex;
	struct ks_mutex cgroup_mutex;
	struct ks_spinlock idr_lock;     /* cgroup_idr_lock: the id table */
	struct ks_spinlock css_set_lock; /* objcg lists */

	unsigned int slab_order;
	size_t slab_bytes;
	unsigned int cpu_cache_objs;
	unsigned int sysfs_per_cache;
	unsigned int rcu_batch;
	int nr_cpus;

	/* slab_mutex */
	struct ks_list slab_caches;      /* every cache */
	struct ks_list slab_root_caches; /* roots */
	uint64_t next_serial;
	uint64_t root_gen;
	int memcg_nr_cache_ids;
	unsigned long *kmemcg_ida;       /* cgroup_mutex */
	int kmemcg_ida_words;
	struct ks_list to_rcu_destroy;   /* slab_caches_to_rcu_destroy */
	struct kwork rcu_destroy_work;

	/* cgroups */
	struct memcg *root_memcg;
	struct memcg_table *table;       /* RCU; written under idr_lock */
	uint64_t next_memcg_id;          /* cgroup_mutex */

	/* the worker */
	struct ks_spinlock wq_lock;
	struct ks_list wq;
	sem_t wq_sem;
	pthread_t worker;
	bool worker_started;
	int wq_stop;
	int64_t wq_pending;
	uint64_t wq_queued, wq_done;     /* work items ever queued / done */

	struct ks_percpu *rcu_cpu;       /* struct rcu_cpu */
	struct ks_percpu *pcpu;          /* struct sys_pcpu */
	int64_t cb_pending;              /* our call_rcu()s not yet run */

	struct ks_list quarantine;       /* freed caches (call-rcu-only) */
	struct ks_spinlock quarantine_lock;

	/* counters (atomics) */
	uint64_t n_roots, n_children, caches_peak;
	int64_t memcgs_online, memcgs_dying;
	uint64_t offlines, releases, offline_visits, release_visits, create_visits;
	uint64_t sync_gp, sync_gp_cgm, rcu_barriers, async_rcu;
	int64_t sysfs_nodes;
	uint64_t sysfs_nodes_peak;
	int64_t slabs_live;
	uint64_t late_callbacks, unsafe_frees;
	uint64_t slabinfo_reads, slabinfo_visits;
};

/* atomics, relaxed unless a comment says otherwise */
#define KS_ADD(p, v) __atomic_add_fetch((p), (v), __ATOMIC_RELAXED)
#define KS_LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define KS_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

static inline void ks_slab_peak(uint64_t *peak, uint64_t now)
{
	uint64_t old = KS_LOAD(peak);

	while (now > old &&
	       !__atomic_compare_exchange_n(peak, &old, now, false, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED))
		;
}

static inline bool kcache_is_root(const struct kcache *c)
{
	return c->root == c;
}

/* slab.c */
struct kcache *ks_kcache_new(struct ks_slab_sys *s, const char *name, size_t size,
			     size_t align, unsigned int flags, struct kcache *root,
			     struct memcg *memcg);
void ks_kcache_link(struct ks_slab_sys *s, struct kcache *c);
void ks_kcache_unlink(struct ks_slab_sys *s, struct kcache *c);
void ks_kcache_free(struct ks_slab_sys *s, struct kcache *c);
void ks_kcache_sysfs_remove(struct ks_slab_sys *s, struct kcache *c);
void *ks_kcache_alloc_obj(struct kcache *c, struct slab **slabp, unsigned int *idxp);
void ks_kcache_free_obj(struct kcache *c, struct slab *sl, void *obj);
void ks_kcache_shrink(struct kcache *c);
bool ks_kcache_empty(struct kcache *c);
void ks_kcache_deactivate(struct kcache *c);
int ks_kcache_shutdown(struct ks_slab_sys *s, struct kcache *c);
int ks_kcache_take_child(struct ks_slab_sys *s, struct kcache *c, struct ks_list *release);
void ks_kcache_release_sync(struct ks_slab_sys *s, struct ks_list *release, bool need_barrier);
void ks_kcache_release_batched(struct ks_slab_sys *s, struct ks_list *release,
			       bool need_barrier);
void ks_kcache_release_call_rcu(struct ks_slab_sys *s, struct ks_list *release,
				bool need_barrier);
void ks_kcache_stats(struct kcache *c, int64_t *active, int64_t *total, int64_t *slabs);
void ks_kcache_child_name(char *buf, size_t len, const struct kcache *root,
			  const struct memcg *cg, bool serial);

/* rcu helpers in slab.c */
int ks_slab_synchronize(struct ks_slab_sys *s, bool cgroup_mutex_held);
int ks_slab_rcu_barrier(struct ks_slab_sys *s, bool cgroup_mutex_held);
int ks_slab_call_rcu(struct ks_slab_sys *s, struct ks_rcu_head *h, ks_rcu_callback_t fn);
void ks_slab_cb_done(struct ks_slab_sys *s);
void ks_slab_flush_cpu_rcu(struct ks_slab_sys *s, int cpu);
void ks_queue_work(struct ks_slab_sys *s, struct kwork *w);
void ks_flush_memcg_workqueue(struct ks_slab_sys *s);

/* memcg.c */
int ks_memcg_sys_init(struct ks_slab_sys *s);
void ks_memcg_sys_fini(struct ks_slab_sys *s);
struct memcg *ks_memcg_lookup(struct ks_slab_sys *s, uint64_t id);
bool ks_memcg_tryget_online(struct memcg *cg);
void ks_memcg_get(struct memcg *cg);
void ks_memcg_put(struct memcg *cg);
void ks_memcg_charge(struct memcg *cg, int64_t objs, int64_t bytes);
int ks_kmemcg_id_alloc(struct ks_slab_sys *s, struct memcg *cg, bool all_caches);
void ks_kmemcg_id_free(struct ks_slab_sys *s, struct memcg *cg);
struct kcache *ks_memcg_cache_lookup(struct kcache *root, struct memcg *cg);
struct kcache *ks_memcg_cache_get(struct ks_slab_sys *s, struct kcache *root,
				  struct memcg *cg, bool serial_name);
void ks_obj_cgroup_put(struct obj_cgroup *objcg);
int ks_objcg_online(struct ks_slab_sys *s, struct memcg *cg);
void ks_objcg_offline(struct ks_slab_sys *s, struct memcg *cg);

/* lists_4_11.c, shared with call_rcu_only.c */
int ks_lists_online(struct ks_slab_sys *s, struct memcg *cg);
void ks_lists_offline(struct ks_slab_sys *s, struct memcg *cg);
void ks_lists_free(struct ks_slab_sys *s, struct memcg *cg);

/* objcg_5_9.c, shared with objcg_5_14.c */
int ks_objcg_strategy_online(struct ks_slab_sys *s, struct memcg *cg);
void ks_objcg_strategy_offline(struct ks_slab_sys *s, struct memcg *cg);
void ks_objcg_strategy_free(struct ks_slab_sys *s, struct memcg *cg);

/* slabinfo.c */
void ks_slabinfo_sys_fini(struct ks_slab_sys *s);

#endif /* KS_SLAB_INTERNAL_H */
