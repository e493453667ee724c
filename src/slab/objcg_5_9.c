// SPDX-License-Identifier: MIT
/*
 * objcg-5.9: Roman Gushchin, "The new cgroup slab memory controller" (v7,
 * merged in Linux 5.9: f2fe7b09a52b "mm: memcg/slab: charge individual slab
 * objects instead of pages", 9855609bde03 "mm: memcg/slab: use a single set
 * of kmem_caches for all accounted allocations", 10befea91b61 "mm:
 * memcg/slab: use a single set of kmem_caches for all allocations").
 *
 * There are no per-memcg caches. A slab that holds an accounted object gets
 * a vector of obj_cgroup pointers (page->obj_cgroups); each object is
 * charged obj_full_size() bytes to its obj_cgroup's cgroup and holds a
 * reference on the obj_cgroup. Offline reparents the obj_cgroup to the
 * parent (memcg_reparent_objcgs()), so the dying cgroup is released at once
 * and later frees uncharge the parent. Accounted and unaccounted objects
 * share slabs: the 5.9 layout the kernel test robot's hackbench regression
 * (-62.4%) was bisected to.
 */
#include "slab_internal.h"

int ks_objcg_strategy_online(struct ks_slab_sys *s, struct memcg *cg)
{
	return ks_objcg_online(s, cg);
}

void ks_objcg_strategy_offline(struct ks_slab_sys *s, struct memcg *cg)
{
	ks_objcg_offline(s, cg);
}

/* mem_cgroup_css_free(): no caches to destroy. */
void ks_objcg_strategy_free(struct ks_slab_sys *s, struct memcg *cg)
{
	(void)s;
	(void)cg;
}

const struct slab_ops ks_slab_objcg_5_9 = {
	.info = { "objcg-5.9", NULL, NULL },
	.objcg = true,
	.memcg_online = ks_objcg_strategy_online,
	.memcg_offline = ks_objcg_strategy_offline,
	.memcg_free = ks_objcg_strategy_free,
	.release_caches = ks_kcache_release_batched,
};
