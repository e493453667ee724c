// SPDX-License-Identifier: MIT
/*
 * lists-4.11: Tejun Heo, "slab: make memcg slab destruction scalable"
 * (v2, January 2017; merged in Linux 4.11: 510ded33e075 "slab: implement
 * slab_root_caches list", 01fb58bcba63 "slab: remove synchronous
 * synchronize_sched() from memcg cache deactivation path", "slab: remove
 * synchronous rcu_barrier() call in memcg cache release path" as async
 * batching, "slab: remove slub sysfs interface files early for empty memcg
 * caches").
 *
 * Offline walks slab_root_caches only and, for each child of the cgroup,
 * disables caching and queues the rest with call_rcu(): after the grace
 * period a work item shrinks the cache and, when empty, removes its sysfs
 * directory. Release walks the cgroup's own kmem_caches list. A
 * SLAB_TYPESAFE_BY_RCU cache waits on slab_caches_to_rcu_destroy for one
 * rcu_barrier() per batch, on the worker. Nothing waits under cgroup_mutex.
 */
#include "slab_internal.h"

int ks_lists_online(struct ks_slab_sys *s, struct memcg *cg)
{
	int r = ks_kmemcg_id_alloc(s, cg, false);

	if (!r)
		KS_STORE(&cg->kmem_online, 1);
	return r;
}

/* kmemcg_deactivate_workfn(): shrink, and drop sysfs if empty. */
static void deact_workfn(struct kwork *w)
{
	struct kcache *c = ks_container_of(w, struct kcache, work);
	struct ks_slab_sys *s = c->sys;
	struct memcg *cg = c->memcg;

	ks_mutex_lock(&s->slab_mutex);
	ks_kcache_shrink(c);
	if (ks_kcache_empty(c))
		ks_kcache_sysfs_remove(s, c);
	ks_mutex_unlock(&s->slab_mutex);
	ks_memcg_put(cg); /* css_put(): may release @cg, and free @c later */
}

/* kmemcg_deactivate_rcufn(): from RCU to the memcg_kmem_cache workqueue. */
static void deact_rcufn(struct ks_rcu_head *h)
{
	struct kcache *c = ks_container_of(h, struct kcache, rcu);
	struct ks_slab_sys *s = c->sys;

	ks_queue_work(s, &c->work);
	ks_slab_cb_done(s);
}

/* memcg_deactivate_kmem_caches() (4.11); cgroup_mutex held. */
void ks_lists_offline(struct ks_slab_sys *s, struct memcg *cg)
{
	int idx = cg->kmemcg_id;

	ks_mutex_lock(&s->slab_mutex);
	KS_STORE(&cg->kmem_online, 0);
	for (struct ks_list *l = s->slab_root_caches.next; l != &s->slab_root_caches;
	     l = l->next) {
		struct kcache *root = ks_list_entry(l, struct klink, node)->owner;
		struct memcg_cache_array *a;
		struct kcache *c;

		if (!root)
			continue;
		KS_ADD(&s->offline_visits, 1);
		a = root->memcg_caches;
		c = idx < a->size ? a->entries[idx] : NULL;
		if (!c)
			continue;
		/* __kmemcg_cache_deactivate() -> slab_deactivate_memcg_cache_rcu_sched() */
		ks_kcache_deactivate(c);
		if (!root->dying) { /* else kmem_cache_destroy() takes it */
			ks_memcg_get(cg);
			c->work.fn = deact_workfn;
			ks_list_init(&c->work.entry);
			KS_ADD(&s->async_rcu, 1);
			ks_slab_call_rcu(s, &c->rcu, deact_rcufn);
		}
		__atomic_store_n(&a->entries[idx], NULL, __ATOMIC_RELEASE);
	}
	ks_mutex_unlock(&s->slab_mutex);
	ks_kmemcg_id_free(s, cg);
}

/* memcg_destroy_kmem_caches() (4.11): only the cgroup's own list. */
void ks_lists_free(struct ks_slab_sys *s, struct memcg *cg)
{
	struct ks_list release, *l, *n;
	bool need_barrier = false;

	ks_list_init(&release);
	ks_mutex_lock(&s->slab_mutex);
	for (l = cg->kmem_caches.next; l != &cg->kmem_caches; l = n) {
		struct kcache *c = ks_list_entry(l, struct kcache, kmem_caches_node);

		n = l->next;
		KS_ADD(&s->release_visits, 1);
		if (ks_kcache_take_child(s, c, &release) > 0)
			need_barrier = true;
	}
	ks_mutex_unlock(&s->slab_mutex);
	s->ops->release_caches(s, &release, need_barrier);
}

const struct slab_ops ks_slab_lists_4_11 = {
	.info = { "lists-4.11", NULL, NULL },
	.memcg_caches = true,
	.memcg_online = ks_lists_online,
	.memcg_offline = ks_lists_offline,
	.memcg_free = ks_lists_free,
	.release_caches = ks_kcache_release_batched,
};
