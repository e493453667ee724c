// SPDX-License-Identifier: MIT
/*
 * percache-4.10: memcg kmem caches as Linux 4.10 kept them.
 *
 * Models mm/slab_common.c memcg_deactivate_kmem_caches() and
 * memcg_destroy_kmem_caches(), mm/memcontrol.c memcg_online_kmem() /
 * memcg_offline_kmem() and mm/slub.c __kmem_cache_shrink(s, deactivate),
 * Linux 4.10 (with 89e364db71fb, "slub: move synchronize_sched out of
 * slab_mutex on shrink").
 *
 * Every cache, root or child, is on the one slab_caches list. Offline walks
 * that list twice (disable per-CPU caching, then shrink) with one
 * synchronize_sched() between, under cgroup_mutex; release walks it again to
 * find the cgroup's caches and waits one rcu_barrier() if any of them is
 * SLAB_TYPESAFE_BY_RCU. A teardown of M cgroups of k caches each therefore
 * visits about 3 * M * (R + M * k) / 2 list entries: O(N^2) in N caches.
 */
#include "slab_internal.h"

/* The next root of slab_caches after @l with a child at @idx, counting. */
static struct kcache *next_child(struct ks_slab_sys *s, struct ks_list **l, int idx,
				 struct memcg_cache_array **arr)
{
	for (; *l != &s->slab_caches; *l = (*l)->next) {
		struct kcache *c = ks_list_entry(*l, struct klink, node)->owner;
		struct memcg_cache_array *a;

		if (!c)
			continue;
		KS_ADD(&s->offline_visits, 1);
		if (!kcache_is_root(c) || !c->memcg_caches)
			continue;
		a = c->memcg_caches;
		if (idx < a->size && a->entries[idx]) {
			*arr = a;
			return a->entries[idx];
		}
	}
	return NULL;
}

static int percache_online(struct ks_slab_sys *s, struct memcg *cg)
{
	int r = ks_kmemcg_id_alloc(s, cg, true);

	if (!r)
		KS_STORE(&cg->kmem_online, 1);
	return r;
}

/* memcg_offline_kmem() -> memcg_deactivate_kmem_caches(); cgroup_mutex held. */
static void percache_offline(struct ks_slab_sys *s, struct memcg *cg)
{
	struct memcg_cache_array *a;
	struct ks_list *l;
	struct kcache *ch;
	int idx = cg->kmemcg_id;

	ks_mutex_lock(&s->slab_mutex);
	KS_STORE(&cg->kmem_online, 0); /* kmem_state = KMEM_ALLOCATED */
	/* SLUB: cpu_partial = min_partial = 0 for every child of @cg */
	for (l = s->slab_caches.next; (ch = next_child(s, &l, idx, &a)); l = l->next)
		ks_kcache_deactivate(ch);
	ks_mutex_unlock(&s->slab_mutex);
	/* "kmem_cache->cpu_partial is checked locklessly": wait for readers */
	ks_slab_synchronize(s, true);

	ks_mutex_lock(&s->slab_mutex);
	for (l = s->slab_caches.next; (ch = next_child(s, &l, idx, &a)); l = l->next) {
		ks_kcache_shrink(ch);
		__atomic_store_n(&a->entries[idx], NULL, __ATOMIC_RELEASE);
	}
	ks_mutex_unlock(&s->slab_mutex);
	ks_kmemcg_id_free(s, cg);
}

/* memcg_free_kmem() -> memcg_destroy_kmem_caches(); on the worker. */
static void percache_free(struct ks_slab_sys *s, struct memcg *cg)
{
	struct ks_list release, *l, *n;
	bool need_barrier = false;

	ks_list_init(&release);
	ks_mutex_lock(&s->slab_mutex);
	for (l = s->slab_caches.next; l != &s->slab_caches; l = n) {
		struct kcache *c = ks_list_entry(l, struct klink, node)->owner;

		n = l->next;
		if (!c)
			continue;
		KS_ADD(&s->release_visits, 1);
		if (kcache_is_root(c) || c->memcg != cg)
			continue;
		/* "all its caches must be empty by now": BUG_ON() in 4.10;
		 * kmem_caches_node is bookkeeping only in 4.10 */
		if (ks_kcache_take_child(s, c, &release) > 0)
			need_barrier = true;
	}
	ks_mutex_unlock(&s->slab_mutex);
	s->ops->release_caches(s, &release, need_barrier);
}

const struct slab_ops ks_slab_percache_4_10 = {
	.info = { "percache-4.10", NULL, NULL },
	.memcg_caches = true,
	.slabinfo_all = true,
	.memcg_online = percache_online,
	.memcg_offline = percache_offline,
	.memcg_free = percache_free,
	.release_caches = ks_kcache_release_sync,
};
