// SPDX-License-Identifier: MIT
/*
 * objcg-5.14: objcg-5.9 plus separate caches for accounted allocations.
 * Models Waiman Long, "mm: memcg/slab: create a new set of kmalloc-cg-<n>
 * caches" (494c1dfe855e, Linux 5.14), the fix for the hackbench regression
 * of 10befea91b61: accounted objects come from a twin cache ("<name>(cg)",
 * as kmalloc-cg-64 beside kmalloc-64), so unaccounted objects never share a
 * slab, a per-CPU cache or an obj_cgroup vector with accounted ones.
 */
#include "slab_internal.h"

const struct slab_ops ks_slab_objcg_5_14 = {
	.info = { "objcg-5.14", NULL, NULL },
	.objcg = true,
	.cg_twins = true,
	.memcg_online = ks_objcg_strategy_online,
	.memcg_offline = ks_objcg_strategy_offline,
	.memcg_free = ks_objcg_strategy_free,
	.release_caches = ks_kcache_release_batched,
};
