// SPDX-License-Identifier: MIT
/*
 * call-rcu-only: the negative control. Tejun Heo's PATCHSET v1 patch 0002,
 * "slab: remove synchronous rcu_barrier() call in memcg cache release path",
 * replaced the rcu_barrier() before freeing released caches with a plain
 * call_rcu() per cache; v2 dropped it as incorrect ("0002 ... was incorrect
 * and dropped", the seed). Everything else is lists-4.11.
 *
 * Why it is wrong: a SLAB_TYPESAFE_BY_RCU cache frees its slabs with RCU
 * callbacks that read the kmem_cache. call_rcu() orders a callback only
 * after callbacks queued earlier on the same CPU; slab-free callbacks
 * sitting on another CPU's list may run after the cache is freed. The model
 * keeps such caches in quarantine and counts the late callbacks
 * (late_rcu_callbacks, unsafe_cache_frees). Not in the benchmark suite.
 */
#include "slab_internal.h"

const struct slab_ops ks_slab_call_rcu_only = {
	.info = { "call-rcu-only", NULL, NULL },
	.memcg_caches = true,
	.memcg_online = ks_lists_online,
	.memcg_offline = ks_lists_offline,
	.memcg_free = ks_lists_free,
	.release_caches = ks_kcache_release_call_rcu,
};
