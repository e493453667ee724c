// SPDX-License-Identifier: MIT
/*
 * memcg-churn: the seed's teardown. Each thread creates its share of
 * --param cgroups=N cgroups; each cgroup allocates --param objs objects from
 * each of --param caches=K root caches (under the per-memcg strategies that
 * makes N*K child caches). Then every cgroup is removed while its objects
 * are live (transient cgroups leave near-empty caches behind), the objects
 * are freed (reclaim), and the deferred work is flushed. The teardown -
 * remove, free, flush - is timed inside op() (teardown_s); op() as a whole
 * also builds. Tejun Heo's "slab: make memcg slab destruction scalable"
 * (January 2017) reports this running for half a day at 10^5 caches.
 *
 * Metrics: teardown_s (mean over samples) and teardown_max_s, caches_peak,
 * cgroup_mutex hold time (total per sample and max, from lock_stat), list
 * entries visited per offline and per release, synchronous grace periods
 * under cgroup_mutex per cgroup, peak sysfs-like nodes, and bytes per
 * cgroup at the peak (slabs plus metadata). report() fails the cell if any
 * object, cache or cgroup is left.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <kscale/slab.h>

#include "workload.h"

#define CHURN_MAX_CACHES 256

struct churn {
	const struct kb_cell *cell;
	struct ks_slab_sys *s;
	struct ks_mem_type *type;
	struct ks_kmem_cache *c[CHURN_MAX_CACHES];
	uint64_t cgroups, caches, rcu_caches, objs;
	bool registered;
	/* results, summed over samples and threads */
	uint64_t samples;
	uint64_t teardown_ns, teardown_max_ns, build_ns;
	int64_t peak_bytes, base_bytes;
};

struct churn_thread {
	struct churn *ch;
	uint64_t ncg;
	uint64_t *ids;
	void **obj;
	bool registered;
};

static const char *const churn_strategies[] = {
	"percache-4.10", "lists-4.11", "objcg-5.9", "objcg-5.14", NULL,
};

static const struct kb_param_def churn_params[] = {
	{ "cgroups", "256", "cgroups created and torn down per sample (split over threads)" },
	{ "caches", "16", "root caches each cgroup allocates from (1..256)" },
	{ "rcu_caches", "0", "how many of them are SLAB_TYPESAFE_BY_RCU" },
	{ "objs", "1", "objects per cgroup per cache" },
	{ NULL, NULL, NULL },
};

static int64_t footprint(struct ks_slab_sys *s)
{
	struct ks_slab_stats st;

	if (ks_slab_stats(s, &st))
		return 0;
	return st.slab_bytes + st.meta_bytes;
}

static void churn_teardown(void *state);

static int churn_setup(const struct kb_cell *c, void **state)
{
	struct ks_slab_opts o = { 0 };
	struct ks_mem_type *type;
	struct churn *ch;
	char name[32];
	int r;

	r = ks_mem_type_get(c->mem, "bench_memcg_churn", sizeof(*ch), &type);
	if (r)
		return r;
	ch = ks_mem_zalloc(type, sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	ch->cell = c;
	ch->type = type;
	*state = ch;
	if ((r = kb_param_u64(c, "cgroups", &ch->cgroups)) ||
	    (r = kb_param_u64(c, "caches", &ch->caches)) ||
	    (r = kb_param_u64(c, "rcu_caches", &ch->rcu_caches)) ||
	    (r = kb_param_u64(c, "objs", &ch->objs)))
		goto err;
	r = -EINVAL;
	if (!ch->cgroups || ch->cgroups > 65000 || !ch->caches ||
	    ch->caches > CHURN_MAX_CACHES || ch->rcu_caches > ch->caches || !ch->objs ||
	    ch->objs > 1000)
		goto err;
	ch->registered = ks_rcu_register_thread() == 0;
	o.topo = c->topo;
	o.locks = c->locks;
	o.mem = c->mem;
	r = ks_slab_create(c->strategy, &o, &ch->s);
	if (r)
		goto err;
	for (uint64_t i = 0; i < ch->caches; i++) {
		snprintf(name, sizeof(name), "root%llu", (unsigned long long)i);
		r = ks_kmem_cache_create(ch->s, name, 64 + 32 * (i % 8), 0,
					 i < ch->rcu_caches ? KS_SLAB_TYPESAFE_BY_RCU : 0, &ch->c[i]);
		if (r)
			goto err;
	}
	ch->base_bytes = footprint(ch->s);
	return 0;
err:
	churn_teardown(ch);
	*state = NULL;
	return r;
}

static int churn_thread_init(void *state, int thread, void **tstate)
{
	struct churn *ch = state;
	int n = ch->cell->nr_threads > 0 ? ch->cell->nr_threads : 1;
	struct churn_thread *t = ks_mem_zalloc(ch->type, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->ch = ch;
	t->ncg = ch->cgroups / (uint64_t)n + ((uint64_t)thread < ch->cgroups % (uint64_t)n);
	t->registered = ks_rcu_register_thread() == 0;
	t->ids = ks_mem_zalloc(ch->type, (t->ncg + 1) * sizeof(*t->ids));
	t->obj = ks_mem_zalloc(ch->type, (t->ncg * ch->caches * ch->objs + 1) * sizeof(void *));
	if (!t->ids || !t->obj) {
		if (t->ids)
			ks_mem_free(ch->type, t->ids, (t->ncg + 1) * sizeof(*t->ids));
		if (t->obj)
			ks_mem_free(ch->type, t->obj,
				    (t->ncg * ch->caches * ch->objs + 1) * sizeof(void *));
		ks_mem_free(ch->type, t, sizeof(*t));
		return -ENOMEM;
	}
	*tstate = t;
	return 0;
}

static long churn_op(void *tstate)
{
	struct churn_thread *t = tstate;
	struct churn *ch = t->ch;
	uint64_t t0, t1, t2, k = 0;
	int64_t fp;
	int r;

	t0 = ks_clock_ns();
	for (uint64_t i = 0; i < t->ncg; i++) {
		r = ks_memcg_create(ch->s, KS_MEMCG_ROOT, &t->ids[i]);
		if (r)
			return r;
		for (uint64_t c = 0; c < ch->caches; c++)
			for (uint64_t o = 0; o < ch->objs; o++) {
				r = ks_kmem_cache_alloc(ch->c[c], t->ids[i], &t->obj[k++]);
				if (r)
					return r;
			}
	}
	t1 = ks_clock_ns();
	fp = footprint(ch->s) - ch->base_bytes;
	/* the transient cgroups go, leaving their caches behind */
	for (uint64_t i = 0; i < t->ncg; i++) {
		r = ks_memcg_remove(ch->s, t->ids[i]);
		if (r)
			return r;
	}
	/* reclaim frees the objects: the caches empty and are destroyed */
	k = 0;
	for (uint64_t i = 0; i < t->ncg; i++)
		for (uint64_t c = 0; c < ch->caches; c++)
			for (uint64_t o = 0; o < ch->objs; o++) {
				r = ks_kmem_cache_free(ch->c[c], t->obj[k++]);
				if (r)
					return r;
			}
	r = ks_slab_flush(ch->s);
	if (r)
		return r;
	t2 = ks_clock_ns();
	__atomic_add_fetch(&ch->samples, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&ch->teardown_ns, t2 - t1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&ch->build_ns, t1 - t0, __ATOMIC_RELAXED);
	{
		uint64_t old = __atomic_load_n(&ch->teardown_max_ns, __ATOMIC_RELAXED);

		while (t2 - t1 > old &&
		       !__atomic_compare_exchange_n(&ch->teardown_max_ns, &old, t2 - t1, false,
						    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			;
	}
	{
		int64_t old = __atomic_load_n(&ch->peak_bytes, __ATOMIC_RELAXED);

		while (fp > old &&
		       !__atomic_compare_exchange_n(&ch->peak_bytes, &old, fp, false,
						    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			;
	}
	return 1;
}

static void churn_thread_fini(void *tstate)
{
	struct churn_thread *t = tstate;
	struct churn *ch = t->ch;

	ks_mem_free(ch->type, t->ids, (t->ncg + 1) * sizeof(*t->ids));
	ks_mem_free(ch->type, t->obj, (t->ncg * ch->caches * ch->objs + 1) * sizeof(void *));
	if (t->registered)
		ks_rcu_unregister_thread();
	ks_mem_free(ch->type, t, sizeof(*t));
}

static int churn_report(void *state, struct kb_metrics *m, struct kb_series *series,
			size_t max_series, size_t *nr_series)
{
	struct churn *ch = state;
	struct ks_lock_class_stats ls[64];
	struct ks_slab_stats st;
	uint64_t n = ch->samples ? ch->samples : 1;
	size_t nls = 0;

	(void)series;
	(void)max_series;
	*nr_series = 0;
	if (ks_slab_stats(ch->s, &st))
		return -EINVAL;
	kb_metric_set(m, "teardown_s", (double)ch->teardown_ns / 1e9 / (double)n);
	kb_metric_set(m, "teardown_max_s", (double)ch->teardown_max_ns / 1e9);
	kb_metric_set(m, "build_s", (double)ch->build_ns / 1e9 / (double)n);
	kb_metric_set(m, "caches", (double)(ch->cgroups * ch->caches));
	kb_metric_set(m, "caches_peak", (double)st.caches_peak);
	kb_metric_set(m, "sysfs_nodes_peak", (double)st.sysfs_nodes_peak);
	kb_metric_set(m, "bytes_per_cgroup", (double)ch->peak_bytes / (double)ch->cgroups);
	if (st.offlines) {
		kb_metric_set(m, "offline_visits_per_cgroup",
			      (double)st.offline_visits / (double)st.offlines);
		kb_metric_set(m, "sync_gp_cgroup_mutex_per_cgroup",
			      (double)st.sync_gp_cgroup_mutex / (double)st.offlines);
	}
	if (st.releases)
		kb_metric_set(m, "release_visits_per_cgroup",
			      (double)st.release_visits / (double)st.releases);
	kb_metric_set(m, "rcu_barriers", (double)st.rcu_barriers / (double)n);
	if (!ks_lockstat_read(ch->cell->locks, ls, KS_ARRAY_SIZE(ls), &nls)) {
		for (size_t i = 0; i < nls && i < KS_ARRAY_SIZE(ls); i++) {
			if (!strcmp(ls[i].name, "cgroup_mutex")) {
				kb_metric_set(m, "cgroup_mutex_hold_ms",
					      (double)ls[i].hold_ns / 1e6 / (double)n);
				kb_metric_set(m, "cgroup_mutex_hold_max_ms",
					      (double)ls[i].hold_max_ns / 1e6);
			} else if (!strcmp(ls[i].name, "slab_mutex")) {
				kb_metric_set(m, "slab_mutex_hold_ms",
					      (double)ls[i].hold_ns / 1e6 / (double)n);
			}
		}
	}
	/* everything torn down really went */
	if (st.objs_live || st.memcgs_online || st.memcgs_dying || st.child_caches ||
	    st.unsafe_cache_frees)
		return -EUCLEAN;
	return 0;
}

static void churn_teardown(void *state)
{
	struct churn *ch = state;

	if (!ch)
		return;
	if (ch->s) {
		for (uint64_t i = 0; i < ch->caches; i++)
			if (ch->c[i])
				ks_kmem_cache_destroy(ch->c[i]);
		ks_slab_destroy(ch->s);
	}
	if (ch->registered)
		ks_rcu_unregister_thread();
	ks_mem_free(ch->type, ch, sizeof(*ch));
}

static const struct kb_suite_entry churn_suite[] = {
	{
		.strategies = "percache-4.10,lists-4.11,objcg-5.9",
		.threads = "1",
		.params = "cgroups=256,1024;caches=16",
		.duration_s = 1,
		.headline = "teardown at 4k and 16k caches: lists-4.11 vs percache-4.10",
		.base = "percache-4.10",
		.target = "lists-4.11",
	},
	{ 0 },
};

static const struct kb_workload churn_workload = {
	.name = "memcg-churn",
	.summary = "create cgroups that allocate from K caches, remove them, time the teardown",
	.subsystem = "slab",
	.strategies = churn_strategies,
	.params = churn_params,
	.setup = churn_setup,
	.thread_init = churn_thread_init,
	.op = churn_op,
	.thread_fini = churn_thread_fini,
	.report = churn_report,
	.teardown = churn_teardown,
	.one_shot = true,
	.suite = churn_suite,
};
KB_WORKLOAD_REGISTER(churn_workload)
