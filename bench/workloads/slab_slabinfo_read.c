// SPDX-License-Identifier: MIT
/*
 * slabinfo-read: full reads of /proc/slabinfo (the model) with --param
 * caches=N root caches on the list while --param churners background
 * threads replace random caches (destroy one anywhere in the list, create
 * one at its head), pausing churn_us microseconds between replacements. The strategies are the
 * seq_file iterators: "reseek" (the kernel's: every 4 KiB chunk walks from
 * the list head to its position) and "cursor" (a cursor entry in the list,
 * as /proc/<pid>/mounts since Linux 5.8). The slab strategy is --param
 * slab=lists-4.11 (or percache-4.10, whose list also holds memcg children).
 *
 * One op is one full pass, read with --param bufsize byte reads. Metrics per
 * pass: missing and duplicate rows (checked against the list by cache
 * identity), list entries visited, chunks, rows. report() fails a cursor
 * cell that ever missed or repeated a row.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <kscale/slab.h>

#include "workload.h"

#define SIR_MAX_CHURNERS 16

struct sir;

struct sir_churner {
	struct sir *st;
	int idx;
	pthread_t t;
	bool started;
};

struct sir {
	const struct kb_cell *cell;
	struct ks_slab_sys *s;
	struct ks_mem_type *type;
	struct ks_kmem_cache **c;
	uint64_t caches, churners, churn_us, bufsize;
	bool registered;
	int stop;
	int churn_err;
	struct sir_churner ch[SIR_MAX_CHURNERS];
	/* sums over passes */
	uint64_t passes, missing, duplicates, visits, chunks, rows, read_ns;
};

struct sir_thread {
	struct sir *st;
	struct ks_slabinfo *f;
	char *buf;
	bool registered;
};

static const char *const sir_strategies[] = { "reseek", "cursor", NULL };

static const struct kb_param_def sir_params[] = {
	{ "caches", "2000", "root caches on the list" },
	{ "churners", "1", "background threads creating and destroying caches (0..16)" },
	{ "churn_us", "100", "pause between two changes of a churner, microseconds" },
	{ "bufsize", "1048576", "bytes asked by each read()" },
	{ "slab", "lists-4.11", "slab strategy whose list is read" },
	{ NULL, NULL, NULL },
};

/*
 * A churner replaces random caches of its share of the list: destroy one
 * (wherever it is), create a new one (at the head, as create_cache() adds),
 * as transient cgroups' caches come and go.
 */
static void *sir_churn(void *arg)
{
	struct sir_churner *me = arg;
	struct sir *st = me->st;
	uint64_t seed = 0x2545f4914f6cdd1dull + (uint64_t)me->idx, k = 0;
	uint64_t share = (st->caches + st->churners - 1 - (uint64_t)me->idx) / st->churners;
	char name[48];
	int r = 0;

	ks_rcu_register_thread();
	while (share && !__atomic_load_n(&st->stop, __ATOMIC_ACQUIRE)) {
		uint64_t i;
		struct timespec ts = { 0, (long)st->churn_us * 1000 };

		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		i = (seed % share) * st->churners + (uint64_t)me->idx;
		if ((r = ks_kmem_cache_destroy(st->c[i])))
			break;
		st->c[i] = NULL;
		snprintf(name, sizeof(name), "churn%d_%llu", me->idx, (unsigned long long)k++);
		if ((r = ks_kmem_cache_create(st->s, name, 96, 0, 0, &st->c[i])))
			break;
		if (st->churn_us)
			nanosleep(&ts, NULL);
	}
	if (r)
		__atomic_store_n(&st->churn_err, r, __ATOMIC_RELEASE);
	ks_rcu_unregister_thread();
	return NULL;
}

static void sir_teardown(void *state);

static int sir_setup(const struct kb_cell *c, void **state)
{
	struct ks_slab_opts o = { 0 };
	struct ks_mem_type *type;
	const char *slab;
	struct sir *st;
	char name[32];
	int r;

	r = ks_mem_type_get(c->mem, "bench_slabinfo_read", sizeof(*st), &type);
	if (r)
		return r;
	st = ks_mem_zalloc(type, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->cell = c;
	st->type = type;
	*state = st;
	if ((r = kb_param_u64(c, "caches", &st->caches)) ||
	    (r = kb_param_u64(c, "churners", &st->churners)) ||
	    (r = kb_param_u64(c, "churn_us", &st->churn_us)) ||
	    (r = kb_param_u64(c, "bufsize", &st->bufsize)) ||
	    (r = kb_param_str(c, "slab", &slab)))
		goto err;
	r = -EINVAL;
	if (!st->caches || st->caches > 1000000 || st->churners > SIR_MAX_CHURNERS ||
	    !st->bufsize || st->bufsize > (1u << 24) || st->churn_us > 1000000)
		goto err;
	st->registered = ks_rcu_register_thread() == 0;
	o.topo = c->topo;
	o.locks = c->locks;
	o.mem = c->mem;
	if ((r = ks_slab_create(slab, &o, &st->s)))
		goto err;
	st->c = ks_mem_zalloc(type, st->caches * sizeof(*st->c));
	if (!st->c) {
		r = -ENOMEM;
		goto err;
	}
	for (uint64_t i = 0; i < st->caches; i++) {
		snprintf(name, sizeof(name), "cache%llu", (unsigned long long)i);
		if ((r = ks_kmem_cache_create(st->s, name, 32 + 8 * (i % 64), 0, 0, &st->c[i])))
			goto err;
	}
	for (uint64_t i = 0; i < st->churners; i++) {
		st->ch[i].st = st;
		st->ch[i].idx = (int)i;
		if (pthread_create(&st->ch[i].t, NULL, sir_churn, &st->ch[i])) {
			r = -EAGAIN;
			goto err;
		}
		st->ch[i].started = true;
	}
	return 0;
err:
	sir_teardown(st);
	*state = NULL;
	return r;
}

static int sir_thread_init(void *state, int thread, void **tstate)
{
	struct sir *st = state;
	struct sir_thread *t = ks_mem_zalloc(st->type, sizeof(*t));
	int r;

	(void)thread;
	if (!t)
		return -ENOMEM;
	t->st = st;
	t->registered = ks_rcu_register_thread() == 0;
	t->buf = ks_mem_alloc(st->type, st->bufsize);
	r = t->buf ? ks_slabinfo_open(st->s, st->cell->strategy, &t->f) : -ENOMEM;
	if (r) {
		if (t->buf)
			ks_mem_free(st->type, t->buf, st->bufsize);
		if (t->registered)
			ks_rcu_unregister_thread();
		ks_mem_free(st->type, t, sizeof(*t));
		return r;
	}
	*tstate = t;
	return 0;
}

static long sir_op(void *tstate)
{
	struct sir_thread *t = tstate;
	struct sir *st = t->st;
	struct ks_slabinfo_pass p;
	uint64_t t0 = ks_clock_ns();
	ssize_t n;
	int r;

	if ((r = ks_slabinfo_rewind(t->f)))
		return r;
	while ((n = ks_slabinfo_read(t->f, t->buf, st->bufsize)) > 0)
		;
	if (n < 0)
		return n;
	if ((r = ks_slabinfo_last_pass(t->f, &p)))
		return r;
	__atomic_add_fetch(&st->read_ns, ks_clock_ns() - t0, __ATOMIC_RELAXED);
	__atomic_add_fetch(&st->passes, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&st->missing, p.missing, __ATOMIC_RELAXED);
	__atomic_add_fetch(&st->duplicates, p.duplicates, __ATOMIC_RELAXED);
	__atomic_add_fetch(&st->visits, p.visits, __ATOMIC_RELAXED);
	__atomic_add_fetch(&st->chunks, p.chunks, __ATOMIC_RELAXED);
	__atomic_add_fetch(&st->rows, p.rows, __ATOMIC_RELAXED);
	return 1;
}

static void sir_thread_fini(void *tstate)
{
	struct sir_thread *t = tstate;
	struct sir *st = t->st;

	ks_slabinfo_close(t->f);
	ks_mem_free(st->type, t->buf, st->bufsize);
	if (t->registered)
		ks_rcu_unregister_thread();
	ks_mem_free(st->type, t, sizeof(*t));
}

static int sir_report(void *state, struct kb_metrics *m, struct kb_series *series,
		      size_t max_series, size_t *nr_series)
{
	struct sir *st = state;
	double n = st->passes ? (double)st->passes : 1;

	(void)series;
	(void)max_series;
	*nr_series = 0;
	kb_metric_set(m, "passes", (double)st->passes);
	kb_metric_set(m, "read_ms", (double)st->read_ns / 1e6 / n);
	kb_metric_set(m, "missing_per_read", (double)st->missing / n);
	kb_metric_set(m, "duplicates_per_read", (double)st->duplicates / n);
	kb_metric_set(m, "visits_per_read", (double)st->visits / n);
	kb_metric_set(m, "chunks_per_read", (double)st->chunks / n);
	kb_metric_set(m, "rows_per_read", (double)st->rows / n);
	if (__atomic_load_n(&st->churn_err, __ATOMIC_ACQUIRE))
		return __atomic_load_n(&st->churn_err, __ATOMIC_ACQUIRE);
	if (!strcmp(st->cell->strategy, "cursor") && (st->missing || st->duplicates))
		return -EUCLEAN;
	return 0;
}

static void sir_teardown(void *state)
{
	struct sir *st = state;

	if (!st)
		return;
	__atomic_store_n(&st->stop, 1, __ATOMIC_RELEASE);
	for (uint64_t i = 0; i < SIR_MAX_CHURNERS; i++)
		if (st->ch[i].started)
			pthread_join(st->ch[i].t, NULL);
	if (st->c) {
		for (uint64_t i = 0; i < st->caches; i++)
			if (st->c[i])
				ks_kmem_cache_destroy(st->c[i]);
		ks_mem_free(st->type, st->c, st->caches * sizeof(*st->c));
	}
	ks_slab_destroy(st->s);
	if (st->registered)
		ks_rcu_unregister_thread();
	ks_mem_free(st->type, st, sizeof(*st));
}

static const struct kb_suite_entry sir_suite[] = {
	{
		.strategies = "all",
		.threads = "1",
		.params = "caches=1000,4000",
		.duration_s = 1,
		.headline = "full slabinfo read under churn: cursor vs reseek",
		.base = "reseek",
		.target = "cursor",
	},
	{ 0 },
};

static const struct kb_workload sir_workload = {
	.name = "slabinfo-read",
	.summary = "full /proc/slabinfo reads under cache churn: time, missing and duplicate rows",
	.subsystem = "slab",
	.strategies = sir_strategies,
	.params = sir_params,
	.setup = sir_setup,
	.thread_init = sir_thread_init,
	.op = sir_op,
	.thread_fini = sir_thread_fini,
	.report = sir_report,
	.teardown = sir_teardown,
	.suite = sir_suite,
};
KB_WORKLOAD_REGISTER(sir_workload)
