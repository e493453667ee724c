// SPDX-License-Identifier: MIT
/*
 * slab-alloc: kmem_cache_alloc()/kmem_cache_free() throughput per thread.
 * Each thread has its own cgroup; each op allocates --param batch objects
 * of --param size bytes, --param charged percent of them charged to the
 * thread's cgroup (the others to nobody), then frees them. Per-memcg
 * strategies send charged objects to the cgroup's child cache and charge
 * whole slabs; objcg-5.9 charges each object and mixes charged and
 * uncharged objects in one set of caches; objcg-5.14 gives charged objects
 * caches of their own (kmalloc-cg-*), the fix for the hackbench regression
 * the kernel test robot bisected to 5.9's single set of caches.
 */
#include <errno.h>
#include <kscale/slab.h>

#include "workload.h"

#define SA_MAX_BATCH 1024

struct sa {
	const struct kb_cell *cell;
	struct ks_slab_sys *s;
	struct ks_mem_type *type;
	struct ks_kmem_cache *c;
	uint64_t size, batch, charged;
	bool registered;
};

struct sa_thread {
	struct sa *st;
	uint64_t cg;
	uint64_t seq;
	void *obj[SA_MAX_BATCH];
	bool registered;
};

static const char *const sa_strategies[] = {
	"percache-4.10", "lists-4.11", "objcg-5.9", "objcg-5.14", NULL,
};

static const struct kb_param_def sa_params[] = {
	{ "size", "64", "object size in bytes" },
	{ "batch", "16", "objects allocated, then freed, per op (1..1024)" },
	{ "charged", "100", "percent of objects charged to the thread's cgroup" },
	{ NULL, NULL, NULL },
};

static void sa_teardown(void *state);

static int sa_setup(const struct kb_cell *c, void **state)
{
	struct ks_slab_opts o = { 0 };
	struct ks_mem_type *type;
	struct sa *st;
	int r;

	r = ks_mem_type_get(c->mem, "bench_slab_alloc", sizeof(*st), &type);
	if (r)
		return r;
	st = ks_mem_zalloc(type, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->cell = c;
	st->type = type;
	*state = st;
	if ((r = kb_param_u64(c, "size", &st->size)) ||
	    (r = kb_param_u64(c, "batch", &st->batch)) ||
	    (r = kb_param_u64(c, "charged", &st->charged)))
		goto err;
	r = -EINVAL;
	if (!st->batch || st->batch > SA_MAX_BATCH || st->charged > 100 || !st->size)
		goto err;
	st->registered = ks_rcu_register_thread() == 0;
	o.topo = c->topo;
	o.locks = c->locks;
	o.mem = c->mem;
	if ((r = ks_slab_create(c->strategy, &o, &st->s)))
		goto err;
	if ((r = ks_kmem_cache_create(st->s, "kmalloc", st->size, 0, 0, &st->c)))
		goto err;
	return 0;
err:
	sa_teardown(st);
	*state = NULL;
	return r;
}

static int sa_thread_init(void *state, int thread, void **tstate)
{
	struct sa *st = state;
	struct sa_thread *t = ks_mem_alloc_aligned(st->type, sizeof(*t), KS_CACHELINE);
	int r;

	(void)thread;
	if (!t)
		return -ENOMEM;
	t->st = st;
	t->seq = 0;
	t->registered = ks_rcu_register_thread() == 0;
	r = ks_memcg_create(st->s, KS_MEMCG_ROOT, &t->cg);
	if (r) {
		if (t->registered)
			ks_rcu_unregister_thread();
		ks_mem_free(st->type, t, sizeof(*t));
		return r;
	}
	*tstate = t;
	return 0;
}

static long sa_op(void *tstate)
{
	struct sa_thread *t = tstate;
	struct sa *st = t->st;
	uint64_t n = st->batch;
	int r;

	for (uint64_t i = 0; i < n; i++) {
		/* a fixed pattern, so every strategy sees the same mix */
		bool charge = (t->seq++ * 37 % 100) < st->charged;

		r = ks_kmem_cache_alloc(st->c, charge ? t->cg : KS_MEMCG_ROOT, &t->obj[i]);
		if (r)
			return r;
	}
	for (uint64_t i = n; i-- > 0;) {
		r = ks_kmem_cache_free(st->c, t->obj[i]);
		if (r)
			return r;
	}
	return (long)n;
}

static void sa_thread_fini(void *tstate)
{
	struct sa_thread *t = tstate;
	struct sa *st = t->st;

	ks_memcg_remove(st->s, t->cg);
	if (t->registered)
		ks_rcu_unregister_thread();
	ks_mem_free(st->type, t, sizeof(*t));
}

static int sa_report(void *state, struct kb_metrics *m, struct kb_series *series,
		     size_t max_series, size_t *nr_series)
{
	struct sa *st = state;
	struct ks_slab_stats ss;

	(void)series;
	(void)max_series;
	*nr_series = 0;
	if (ks_slab_stats(st->s, &ss))
		return -EINVAL;
	kb_metric_set(m, "child_caches_peak", (double)(ss.caches_peak - 1));
	kb_metric_set(m, "slab_bytes", (double)ss.slab_bytes);
	/* every object allocated was freed */
	return ss.objs_live ? -EUCLEAN : 0;
}

static void sa_teardown(void *state)
{
	struct sa *st = state;

	if (!st)
		return;
	if (st->s) {
		ks_slab_flush(st->s);
		if (st->c)
			ks_kmem_cache_destroy(st->c);
		ks_slab_destroy(st->s);
	}
	if (st->registered)
		ks_rcu_unregister_thread();
	ks_mem_free(st->type, st, sizeof(*st));
}

static const struct kb_suite_entry sa_suite[] = {
	{
		.strategies = "all",
		.threads = "1",
		.params = "charged=0,100",
		.duration_s = 1,
		.headline = "charged alloc/free: objcg-5.9 vs percache-4.10",
		.base = "percache-4.10",
		.target = "objcg-5.9",
	},
	{ 0 },
};

static const struct kb_workload sa_workload = {
	.name = "slab-alloc",
	.summary = "kmem_cache alloc/free throughput with and without memcg charging",
	.subsystem = "slab",
	.strategies = sa_strategies,
	.params = sa_params,
	.setup = sa_setup,
	.thread_init = sa_thread_init,
	.op = sa_op,
	.thread_fini = sa_thread_fini,
	.report = sa_report,
	.teardown = sa_teardown,
	.suite = sa_suite,
};
KB_WORKLOAD_REGISTER(sa_workload)
