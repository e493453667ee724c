// SPDX-License-Identifier: MIT
/*
 * Memory cgroups as the slab code sees them: a tree created and removed
 * under cgroup_mutex, css reference counting with a kill (percpu_ref_kill),
 * release after a grace period on the worker (kernel/cgroup/cgroup.c
 * css_release() -> css_free_rcu_fn() -> css_free_work_fn()), hierarchical
 * charges (mm/page_counter.c), kmemcg ids and the per-root memcg_caches
 * arrays (mm/memcontrol.c, mm/slab_common.c v4.10), and obj_cgroups
 * (mm/memcontrol.c v5.9).
 */
#include "slab_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ---- the id table: cgroup_idr ----------------------------------------- */

static size_t table_bytes(size_t cap)
{
	return sizeof(struct memcg_table) + cap * sizeof(struct memcg *);
}

static void table_free_rcu(struct ks_rcu_head *h)
{
	struct memcg_table *t = ks_container_of(h, struct memcg_table, rcu);
	struct ks_slab_sys *s = t->sys;

	ks_mem_free(s->t_table, t, table_bytes(t->cap));
	ks_slab_cb_done(s);
}

/* idr_lock held */
static int table_set(struct ks_slab_sys *s, uint64_t id, struct memcg *cg)
{
	struct memcg_table *t = s->table;

	if (id >= t->cap) {
		size_t cap = t->cap * 2;
		struct memcg_table *nt;

		while (cap <= id)
			cap *= 2;
		nt = ks_mem_zalloc(s->t_table, table_bytes(cap));
		if (!nt)
			return -ENOMEM;
		nt->sys = s;
		nt->cap = cap;
		memcpy(nt->slot, t->slot, t->cap * sizeof(struct memcg *));
		ks_rcu_assign_pointer(s->table, nt);
		ks_slab_call_rcu(s, &t->rcu, table_free_rcu);
		t = nt;
	}
	ks_rcu_assign_pointer(t->slot[id], cg);
	return 0;
}

/* RCU read lock held (or cgroup_mutex, for the table's writers' sake). */
struct memcg *ks_memcg_lookup(struct ks_slab_sys *s, uint64_t id)
{
	struct memcg_table *t = ks_rcu_dereference(s->table);

	if (id == KS_MEMCG_ROOT)
		return s->root_memcg;
	return id < t->cap ? ks_rcu_dereference(t->slot[id]) : NULL;
}

/* ---- css references ---------------------------------------------------- */

bool ks_memcg_tryget_online(struct memcg *cg)
{
	int64_t v = __atomic_load_n(&cg->refcnt, __ATOMIC_RELAXED);

	while (!(v & KS_MEMCG_DEAD)) {
		if (__atomic_compare_exchange_n(&cg->refcnt, &v, v + 1, false, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return true;
	}
	return false;
}

void ks_memcg_get(struct memcg *cg)
{
	__atomic_add_fetch(&cg->refcnt, 1, __ATOMIC_RELAXED);
}

static void css_free_work_fn(struct kwork *w)
{
	struct memcg *cg = ks_container_of(w, struct memcg, free_work);
	struct ks_slab_sys *s = cg->sys;
	struct memcg *parent = cg->parent;

	s->ops->memcg_free(s, cg);
	KS_ADD(&s->releases, 1);
	KS_ADD(&s->memcgs_dying, -1);
	cg->sys = NULL;
	ks_mem_free(s->t_memcg, cg, sizeof(*cg));
	if (parent)
		ks_memcg_put(parent);
}

static void css_free_rcu_fn(struct ks_rcu_head *h)
{
	struct memcg *cg = ks_container_of(h, struct memcg, rcu);
	struct ks_slab_sys *s = cg->sys;

	ks_queue_work(s, &cg->free_work);
	ks_slab_cb_done(s);
}

/* css_put(); the last reference of a killed css releases it. */
void ks_memcg_put(struct memcg *cg)
{
	int64_t v = __atomic_sub_fetch(&cg->refcnt, 1, __ATOMIC_ACQ_REL);
	struct ks_slab_sys *s = cg->sys;

	if (v != KS_MEMCG_DEAD)
		return;
	/* css_release(): unpublish the id, free after a grace period. */
	ks_spin_lock(&s->idr_lock);
	table_set(s, cg->id, NULL);
	ks_spin_unlock(&s->idr_lock);
	ks_slab_call_rcu(s, &cg->rcu, css_free_rcu_fn);
}

/* page_counter_charge(): the cgroup and every ancestor but the root. */
void ks_memcg_charge(struct memcg *cg, int64_t objs, int64_t bytes)
{
	for (; cg && cg->parent; cg = cg->parent) {
		if (objs)
			KS_ADD(&cg->objs, objs);
		if (bytes)
			KS_ADD(&cg->bytes, bytes);
	}
}

/* ---- kmemcg ids and memcg_caches arrays -------------------------------- */

static size_t array_bytes(int size)
{
	return sizeof(struct memcg_cache_array) + (size_t)size * sizeof(struct kcache *);
}

static void array_free_rcu(struct ks_rcu_head *h)
{
	struct memcg_cache_array *a = ks_container_of(h, struct memcg_cache_array, rcu);
	struct ks_slab_sys *s = a->sys;

	ks_mem_free(s->t_array, a, array_bytes(a->size));
	ks_slab_cb_done(s);
}

/*
 * memcg_update_all_caches(): grow every root's array. v4.10 walks the whole
 * slab_caches list, skipping children; v4.11 walks slab_root_caches.
 */
static int update_all_caches(struct ks_slab_sys *s, int size, bool all_caches)
{
	struct ks_list *head = all_caches ? &s->slab_caches : &s->slab_root_caches;
	int r = 0;

	ks_mutex_lock(&s->slab_mutex);
	for (struct ks_list *l = head->next; l != head; l = l->next) {
		struct kcache *c = ks_list_entry(l, struct klink, node)->owner;
		struct memcg_cache_array *old, *a;

		if (!c)
			continue;
		KS_ADD(&s->create_visits, 1);
		if (!kcache_is_root(c) || !c->memcg_caches)
			continue;
		old = c->memcg_caches;
		a = ks_mem_zalloc(s->t_array, array_bytes(size));
		if (!a) {
			r = -ENOMEM;
			break;
		}
		a->sys = s;
		a->size = size;
		memcpy(a->entries, old->entries, (size_t)old->size * sizeof(struct kcache *));
		ks_rcu_assign_pointer(c->memcg_caches, a);
		ks_slab_call_rcu(s, &old->rcu, array_free_rcu);
	}
	if (!r)
		s->memcg_nr_cache_ids = size;
	ks_mutex_unlock(&s->slab_mutex);
	return r;
}

/* memcg_alloc_cache_id(); cgroup_mutex held. */
int ks_kmemcg_id_alloc(struct ks_slab_sys *s, struct memcg *cg, bool all_caches)
{
	int id = -1;

	for (int w = 0; w < s->kmemcg_ida_words && id < 0; w++)
		if (~s->kmemcg_ida[w])
			id = w * 64 + __builtin_ctzl(~s->kmemcg_ida[w]);
	if (id < 0 || id >= KS_MEMCG_CACHES_MAX)
		return -ENOSPC;
	if (id >= s->memcg_nr_cache_ids) {
		int size = 2 * (id + 1);

		if (size < KS_MEMCG_CACHES_MIN)
			size = KS_MEMCG_CACHES_MIN;
		else if (size > KS_MEMCG_CACHES_MAX)
			size = KS_MEMCG_CACHES_MAX;
		if (update_all_caches(s, size, all_caches))
			return -ENOMEM;
	}
	s->kmemcg_ida[id / 64] |= 1ul << (id % 64);
	KS_STORE(&cg->kmemcg_id, id);
	return 0;
}

/* memcg_free_cache_id(); cgroup_mutex held. */
void ks_kmemcg_id_free(struct ks_slab_sys *s, struct memcg *cg)
{
	int id = cg->kmemcg_id;

	if (id < 0)
		return;
	s->kmemcg_ida[id / 64] &= ~(1ul << (id % 64));
	KS_STORE(&cg->kmemcg_id, -1);
}

/* cache_from_memcg_idx(); RCU read lock held. */
struct kcache *ks_memcg_cache_lookup(struct kcache *root, struct memcg *cg)
{
	struct memcg_cache_array *a = ks_rcu_dereference(root->memcg_caches);
	int idx = KS_LOAD(&cg->kmemcg_id);

	if (idx < 0 || idx >= a->size)
		return NULL;
	return __atomic_load_n(&a->entries[idx], __ATOMIC_ACQUIRE);
}

/*
 * memcg_kmem_get_cache() + memcg_create_kmem_cache(): the child of @root
 * for @cg, created under slab_mutex on first use (a work item in the
 * kernel, synchronous here). Falls back to @root when @cg went offline.
 */
struct kcache *ks_memcg_cache_get(struct ks_slab_sys *s, struct kcache *root,
				  struct memcg *cg, bool serial_name)
{
	char name[KS_CHILD_NAME_MAX];
	struct memcg_cache_array *a;
	struct kcache *c = ks_memcg_cache_lookup(root, cg);
	int idx;

	if (c)
		return c;
	ks_mutex_lock(&s->slab_mutex);
	/*
	 * "The memory cgroup could have been offlined while the cache
	 * creation work was pending." kmem_online is cleared under
	 * slab_mutex before the id is freed, so the id read after it is good.
	 */
	if (!KS_LOAD(&cg->kmem_online) || root->dying) {
		ks_mutex_unlock(&s->slab_mutex);
		return root;
	}
	idx = KS_LOAD(&cg->kmemcg_id);
	if (idx < 0) {
		ks_mutex_unlock(&s->slab_mutex);
		return root;
	}
	a = root->memcg_caches;
	c = a->entries[idx];
	if (c) {
		ks_mutex_unlock(&s->slab_mutex);
		return c;
	}
	ks_kcache_child_name(name, sizeof(name), root, cg, serial_name);
	c = ks_kcache_new(s, name, root->object_size, root->align, root->flags, root, cg);
	if (!c) {
		ks_mutex_unlock(&s->slab_mutex);
		return root;
	}
	ks_kcache_link(s, c);
	ks_list_add(&c->kmem_caches_node, &cg->kmem_caches);
	KS_ADD(&cg->nr_caches, 1);
	__atomic_store_n(&a->entries[idx], c, __ATOMIC_RELEASE);
	ks_mutex_unlock(&s->slab_mutex);
	return c;
}

/* ---- obj_cgroup (5.9) -------------------------------------------------- */

static void objcg_free_rcu(struct ks_rcu_head *h)
{
	struct obj_cgroup *objcg = ks_container_of(h, struct obj_cgroup, rcu);
	struct ks_slab_sys *s = objcg->sys;

	ks_mem_free(s->t_objcg, objcg, sizeof(*objcg));
	ks_slab_cb_done(s);
}

/* obj_cgroup_release(): drops the reference on the cgroup it points to. */
void ks_obj_cgroup_put(struct obj_cgroup *objcg)
{
	struct ks_slab_sys *s = objcg->sys;
	struct memcg *cg;

	if (__atomic_sub_fetch(&objcg->refcnt, 1, __ATOMIC_ACQ_REL))
		return;
	ks_spin_lock(&s->css_set_lock);
	cg = objcg->memcg;
	ks_list_del(&objcg->list);
	ks_spin_unlock(&s->css_set_lock);
	ks_memcg_put(cg);
	ks_slab_call_rcu(s, &objcg->rcu, objcg_free_rcu);
}

/* memcg_online_kmem() (5.9): obj_cgroup_alloc(). cgroup_mutex held. */
int ks_objcg_online(struct ks_slab_sys *s, struct memcg *cg)
{
	struct obj_cgroup *objcg = ks_mem_zalloc(s->t_objcg, sizeof(*objcg));

	if (!objcg)
		return -ENOMEM;
	objcg->sys = s;
	objcg->refcnt = 1;
	objcg->memcg = cg;
	/* It references @cg without a css ref while @cg is online, as 5.9. */
	ks_spin_lock(&s->css_set_lock);
	ks_list_add(&objcg->list, &cg->objcg_list);
	ks_spin_unlock(&s->css_set_lock);
	ks_rcu_assign_pointer(cg->objcg, objcg);
	KS_STORE(&cg->kmem_online, 1);
	return 0;
}

/* memcg_reparent_objcgs() (5.9); cgroup_mutex held. */
void ks_objcg_offline(struct ks_slab_sys *s, struct memcg *cg)
{
	struct memcg *parent = cg->parent;
	struct obj_cgroup *objcg = cg->objcg;
	struct ks_list *l;

	KS_STORE(&cg->kmem_online, 0);
	ks_rcu_assign_pointer(cg->objcg, NULL);
	ks_spin_lock(&s->css_set_lock);
	KS_ADD(&s->offline_visits, 1);
	__atomic_store_n(&objcg->memcg, parent, __ATOMIC_RELEASE);
	ks_memcg_get(parent);
	ks_list_del(&objcg->list);
	for (l = cg->objcg_list.next; l != &cg->objcg_list; l = l->next) {
		struct obj_cgroup *it = ks_list_entry(l, struct obj_cgroup, list);

		KS_ADD(&s->offline_visits, 1);
		ks_memcg_get(parent);
		__atomic_store_n(&it->memcg, parent, __ATOMIC_RELEASE);
		ks_memcg_put(cg);
	}
	/* list_splice(&memcg->objcg_list, &parent->objcg_list) */
	while (!ks_list_empty(&cg->objcg_list)) {
		l = cg->objcg_list.next;
		ks_list_del(l);
		ks_list_add(l, &parent->objcg_list);
	}
	ks_list_add(&objcg->list, &parent->objcg_list);
	ks_spin_unlock(&s->css_set_lock);
	/* percpu_ref_kill(&objcg->refcnt) */
	ks_obj_cgroup_put(objcg);
}

/* ---- system setup and teardown ---------------------------------------- */

static struct memcg *memcg_new(struct ks_slab_sys *s, struct memcg *parent, uint64_t id)
{
	struct memcg *cg = ks_mem_zalloc(s->t_memcg, sizeof(*cg));

	if (!cg)
		return NULL;
	cg->id = id;
	cg->sys = s;
	cg->parent = parent;
	cg->refcnt = 1;
	cg->online = 1;
	cg->kmemcg_id = -1;
	ks_list_init(&cg->kmem_caches);
	ks_list_init(&cg->objcg_list);
	ks_list_init(&cg->free_work.entry);
	cg->free_work.fn = css_free_work_fn;
	snprintf(cg->name, sizeof(cg->name), "cg%llu", (unsigned long long)id);
	return cg;
}

int ks_memcg_sys_init(struct ks_slab_sys *s)
{
	s->table = ks_mem_zalloc(s->t_table, table_bytes(64));
	if (!s->table)
		return -ENOMEM;
	s->table->sys = s;
	s->table->cap = 64;
	s->kmemcg_ida_words = (KS_MEMCG_CACHES_MAX + 63) / 64;
	s->kmemcg_ida = ks_mem_zalloc(s->t_table, (size_t)s->kmemcg_ida_words * 8);
	if (!s->kmemcg_ida)
		return -ENOMEM;
	s->root_memcg = memcg_new(s, NULL, KS_MEMCG_ROOT);
	if (!s->root_memcg)
		return -ENOMEM;
	s->next_memcg_id = 1;
	return 0;
}

static void memcg_drop(struct ks_slab_sys *s, struct memcg *cg)
{
	while (!ks_list_empty(&cg->objcg_list)) {
		struct obj_cgroup *o = ks_list_entry(cg->objcg_list.next, struct obj_cgroup, list);

		ks_list_del(&o->list);
		ks_mem_free(s->t_objcg, o, sizeof(*o));
	}
	ks_mem_free(s->t_memcg, cg, sizeof(*cg));
}

void ks_memcg_sys_fini(struct ks_slab_sys *s)
{
	if (s->table) {
		for (size_t i = 0; i < s->table->cap; i++)
			if (s->table->slot[i])
				memcg_drop(s, s->table->slot[i]);
		ks_mem_free(s->t_table, s->table, table_bytes(s->table->cap));
	}
	if (s->kmemcg_ida)
		ks_mem_free(s->t_table, s->kmemcg_ida, (size_t)s->kmemcg_ida_words * 8);
	if (s->root_memcg)
		memcg_drop(s, s->root_memcg);
}

/* ---- the public cgroup API ------------------------------------------- */

int ks_memcg_create(struct ks_slab_sys *s, uint64_t parent, uint64_t *out)
{
	struct memcg *p, *cg;
	int r;

	if (!s || !out)
		return -EINVAL;
	if (!ks_rcu_thread_registered())
		return -EPERM;
	ks_mutex_lock(&s->cgroup_mutex);
	ks_rcu_read_lock();
	p = ks_memcg_lookup(s, parent);
	ks_rcu_read_unlock();
	if (!p || !KS_LOAD(&p->online)) {
		ks_mutex_unlock(&s->cgroup_mutex);
		return -ENOENT;
	}
	cg = memcg_new(s, p, s->next_memcg_id);
	if (!cg) {
		ks_mutex_unlock(&s->cgroup_mutex);
		return -ENOMEM;
	}
	r = s->ops->memcg_online(s, cg);
	if (!r) {
		ks_spin_lock(&s->idr_lock);
		r = table_set(s, cg->id, cg);
		ks_spin_unlock(&s->idr_lock);
		if (r && s->ops->objcg) {
			ks_spin_lock(&s->css_set_lock);
			ks_list_del(&cg->objcg->list);
			ks_spin_unlock(&s->css_set_lock);
			ks_mem_free(s->t_objcg, cg->objcg, sizeof(*cg->objcg));
		} else if (r) {
			ks_kmemcg_id_free(s, cg);
		}
	}
	if (r) {
		ks_mem_free(s->t_memcg, cg, sizeof(*cg));
		ks_mutex_unlock(&s->cgroup_mutex);
		return r;
	}
	s->next_memcg_id++;
	ks_memcg_get(p); /* a css pins its parent until css_free */
	p->nr_online_children++;
	KS_ADD(&s->memcgs_online, 1);
	ks_mutex_unlock(&s->cgroup_mutex);
	*out = cg->id;
	return 0;
}

/*
 * rmdir: kill_css() then offline_css() under cgroup_mutex
 * (css_killed_work_fn()), then the base reference is put.
 */
int ks_memcg_remove(struct ks_slab_sys *s, uint64_t id)
{
	struct memcg *cg;

	if (!s || id == KS_MEMCG_ROOT)
		return -EINVAL;
	if (!ks_rcu_thread_registered())
		return -EPERM;
	if (ks_rcu_read_depth())
		return -EDEADLK;
	ks_mutex_lock(&s->cgroup_mutex);
	ks_rcu_read_lock();
	cg = ks_memcg_lookup(s, id);
	ks_rcu_read_unlock();
	if (!cg || !KS_LOAD(&cg->online)) {
		ks_mutex_unlock(&s->cgroup_mutex);
		return -ENOENT;
	}
	if (cg->nr_online_children) {
		ks_mutex_unlock(&s->cgroup_mutex);
		return -EBUSY;
	}
	KS_STORE(&cg->online, 0);
	__atomic_fetch_or(&cg->refcnt, KS_MEMCG_DEAD, __ATOMIC_ACQ_REL);
	cg->parent->nr_online_children--;
	KS_ADD(&s->memcgs_online, -1);
	KS_ADD(&s->memcgs_dying, 1);
	s->ops->memcg_offline(s, cg);
	KS_ADD(&s->offlines, 1);
	ks_mutex_unlock(&s->cgroup_mutex);
	ks_memcg_put(cg);
	return 0;
}

int ks_memcg_stats(struct ks_slab_sys *s, uint64_t id, struct ks_memcg_stats *out)
{
	struct memcg *cg;

	if (!s || !out)
		return -EINVAL;
	if (!ks_rcu_thread_registered())
		return -EPERM;
	ks_rcu_read_lock();
	cg = ks_memcg_lookup(s, id);
	if (!cg) {
		ks_rcu_read_unlock();
		return -ENOENT;
	}
	out->online = KS_LOAD(&cg->online);
	out->objs = KS_LOAD(&cg->objs);
	out->bytes = KS_LOAD(&cg->bytes);
	out->child_caches = KS_LOAD(&cg->nr_caches);
	ks_rcu_read_unlock();
	return 0;
}
