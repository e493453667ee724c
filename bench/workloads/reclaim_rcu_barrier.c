// SPDX-License-Identifier: MIT
/*
 * rcu-barrier: N threads call the barrier concurrently, each first queueing
 * --param callbacks call_rcu()s on its CPU's worker (the background the
 * barrier must wait for). One operation is one barrier call. Compares
 * liburcu's barrier ("native": every caller pays a full pass) with the
 * kernel's (one mutex, callers share a barrier that started after their
 * snapshot) and the wait-queue variant. Counts include the warm-up.
 */
#include "workload.h"

#include <kscale/rcu_barrier.h>

#include <errno.h>
#include <stdlib.h>

static const char *const impls[] = { "native", "kernel", "waitq", NULL };

static const struct kb_param_def params[] = {
	{ "callbacks", "8", "call_rcu()s each caller queues before its barrier" },
	{ "gp_delay_us", "0", "extra cost of a grace period, slept in every barrier executed" },
	{ "rcu_workers", "0", "cap on call_rcu workers (0: one per CPU, at most 64)" },
	{ NULL, NULL, NULL },
};

struct bar {
	struct ks_rcu_barrier *b;
	uint64_t callbacks;
	uint64_t ran;
};

struct bar_item {
	struct ks_rcu_head head;
	struct bar *s;
};

struct bar_thread {
	struct bar *s;
	bool registered;
	struct bar_item *items;
};

static void item_fn(struct ks_rcu_head *h)
{
	struct bar_item *it = ks_container_of(h, struct bar_item, head);

	__atomic_fetch_add(&it->s->ran, 1, __ATOMIC_RELAXED);
}

static int setup(const struct kb_cell *cell, void **state)
{
	struct ks_rcu_barrier_opts o = { 0 };
	uint64_t gp, workers;
	struct bar *s;
	int ret;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	ret = kb_param_u64(cell, "callbacks", &s->callbacks);
	ret = ret ?: kb_param_u64(cell, "gp_delay_us", &gp);
	ret = ret ?: kb_param_u64(cell, "rcu_workers", &workers);
	if (!ret && (s->callbacks > 1024 || gp > 10000000 || workers > 4096))
		ret = -EINVAL;
	if (!ret) {
		o.topo = cell->topo;
		o.locks = cell->locks;
		o.gp_delay_us = (unsigned int)gp;
		o.max_workers = (unsigned int)workers;
		o.mem = cell->mem;
		ret = ks_rcu_barrier_create(cell->strategy, &o, &s->b);
	}
	if (ret) {
		free(s);
		return ret;
	}
	*state = s;
	return 0;
}

static int thread_init(void *state, int thread, void **tstate)
{
	struct bar *s = state;
	struct bar_thread *t = calloc(1, sizeof(*t));

	(void)thread;
	if (!t)
		return -ENOMEM;
	t->s = s;
	t->items = calloc(s->callbacks ? s->callbacks : 1, sizeof(*t->items));
	if (!t->items) {
		free(t);
		return -ENOMEM;
	}
	t->registered = ks_rcu_register_thread() == 0;
	*tstate = t;
	return 0;
}

static long op(void *tstate)
{
	struct bar_thread *t = tstate;
	int ret;

	/* The previous barrier returned: every item's callback has run. */
	for (uint64_t i = 0; i < t->s->callbacks; i++) {
		t->items[i].s = t->s;
		ret = ks_rcu_barrier_call_rcu(t->s->b, &t->items[i].head, item_fn);
		if (ret)
			return ret;
	}
	ret = ks_rcu_barrier_wait(t->s->b);
	return ret ? ret : 1;
}

static void thread_fini(void *tstate)
{
	struct bar_thread *t = tstate;

	if (t->registered)
		ks_rcu_unregister_thread();
	free(t->items);
	free(t);
}

static int report(void *state, struct kb_metrics *m, struct kb_series *series, size_t max_series,
		  size_t *nr_series)
{
	struct bar *s = state;
	struct ks_rcu_barrier_stats st;
	int ret = ks_rcu_barrier_stats(s->b, &st);

	(void)series;
	(void)max_series;
	*nr_series = 0;
	if (ret)
		return ret;
	/* Every barrier returned after its caller's callbacks: all have run. */
	if (__atomic_load_n(&s->ran, __ATOMIC_RELAXED) != st.callbacks)
		return -EUCLEAN;
	kb_metric_set(m, "barrier_ms_mean", st.calls ? (double)st.wait_ns / st.calls / 1e6 : 0);
	kb_metric_set(m, "barrier_ms_max", (double)st.wait_max_ns / 1e6);
	kb_metric_set(m, "barriers_executed", (double)st.executed);
	kb_metric_set(m, "callers_per_barrier", st.executed ? (double)st.calls / st.executed : 0);
	kb_metric_set(m, "early_fraction", st.calls ? (double)st.early / st.calls : 0);
	kb_metric_set(m, "waiters_fraction", st.calls ? (double)st.waiters / st.calls : 0);
	kb_metric_set(m, "mutex_wait_ms_mean",
		      st.calls ? (double)st.mutex_wait_ns / st.calls / 1e6 : 0);
	kb_metric_set(m, "max_waiting", (double)st.max_waiting);
	kb_metric_set(m, "rcu_workers", (double)st.workers);
	return 0;
}

static void teardown(void *state)
{
	struct bar *s = state;
	bool reg;

	if (!s)
		return;
	reg = ks_rcu_register_thread() == 0;
	ks_rcu_barrier_destroy(s->b);
	if (reg)
		ks_rcu_unregister_thread();
	free(s);
}

static const struct kb_workload rcu_barrier_wl = {
	.name = "rcu-barrier",
	.summary = "concurrent rcu_barrier() callers over call_rcu traffic: latency and sharing",
	.subsystem = "reclaim",
	.strategies = impls,
	.params = params,
	.setup = setup,
	.thread_init = thread_init,
	.op = op,
	.thread_fini = thread_fini,
	.report = report,
	.teardown = teardown,
};
KB_WORKLOAD_REGISTER(rcu_barrier_wl);
