// SPDX-License-Identifier: MIT
/*
 * The runner: will-it-scale's mechanics (antonblanchard/will-it-scale main.c)
 * with a thread per CPU of a ks_topo.
 *
 * For each repeat of a cell: a fresh ks_lockstat and ks_mem (nothing is
 * global: two cells never see each other's counts), the workload's setup,
 * N threads each bound to CPU i of the topology (only labelled on synthetic
 * and XML topologies), their thread_init, then a start gate so they begin
 * together. Each thread keeps its operation count in its own 256-byte slot
 * (will-it-scale's MAX_CACHELINE_SIZE: no two counters share a line even with
 * 128-byte lines or the adjacent-line prefetcher) and publishes it with a
 * relaxed store; the main thread reads the slots once a second. Threads stop
 * when a flag is set, never by pthread_cancel. The warm-up is measured and
 * thrown away: lock and memory counts are taken as deltas from its end.
 *
 * Where we differ from will-it-scale: the sampling clock is read for every
 * sample, so a late wake-up does not inflate a second; the figure is the
 * median of the samples, not their mean; threads are bound in topology order
 * (SMT siblings first: will-it-scale's -m) because a ks_topo CPU is a PU.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kb.h"

#define KB_SLOT_SIZE 256

struct kb_slot {
	_Alignas(KB_SLOT_SIZE) uint64_t ops; /* written by its thread only */
};

struct run;

struct worker {
	struct run *run;
	int idx;
	pthread_t tid;
	bool created;
	clockid_t cpuclock;
	bool have_cpuclock;
	void *tstate;
	/* written by the worker, read by main after pthread_join() */
	int err;
	const char *where;
	uint64_t begin_ns, end_ns; /* one-shot: around its op */
	uint64_t cpu_ns;	   /* one-shot: CPU time of its op */
};

struct run {
	const struct kb_workload *w;
	const struct ks_topo *topo;
	void *state;
	struct kb_slot *slots;
	struct worker *workers;
	int n;

	/* the start gate, and how a failing worker wakes the sampler */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int ready;
	bool go;

	int stop;   /* __atomic: set once, read by every worker each op */
	int failed; /* __atomic: some worker failed */
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* CLOCK_MONOTONIC itself: the start gate's condition variable waits on it. */
static uint64_t now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static void worker_fail(struct worker *wk, int err, const char *where)
{
	struct run *run = wk->run;

	wk->err = err;
	wk->where = where;
	__atomic_store_n(&run->failed, 1, __ATOMIC_RELEASE);
	pthread_mutex_lock(&run->mu);
	pthread_cond_broadcast(&run->cv);
	pthread_mutex_unlock(&run->mu);
}

/* Arrive at the gate and wait until main opens it. */
static void gate_wait(struct run *run)
{
	pthread_mutex_lock(&run->mu);
	run->ready++;
	pthread_cond_broadcast(&run->cv);
	while (!run->go)
		pthread_cond_wait(&run->cv, &run->mu);
	pthread_mutex_unlock(&run->mu);
}

static void worker_loop(struct worker *wk)
{
	struct run *run = wk->run;
	long (*op)(void *) = run->w->op;
	struct kb_slot *slot = &run->slots[wk->idx];
	void *ts = wk->tstate;
	uint64_t ops = 0;

	/*
	 * The stop flag is read-only until the end, so its line stays shared
	 * in every cache and the check costs a hit, not a transfer.
	 */
	while (!__atomic_load_n(&run->stop, __ATOMIC_RELAXED)) {
		long r = op(ts);

		if (r <= 0) {
			worker_fail(wk, r < 0 ? (int)r : -EINVAL,
				    r < 0 ? "op" : "op returned 0 operations");
			break;
		}
		ops += (uint64_t)r;
		__atomic_store_n(&slot->ops, ops, __ATOMIC_RELAXED);
	}
}

static void worker_once(struct worker *wk)
{
	struct run *run = wk->run;
	uint64_t cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	long r;

	wk->begin_ns = now_ns();
	r = run->w->op(wk->tstate);
	wk->end_ns = now_ns();
	wk->cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
	if (r <= 0)
		worker_fail(wk, r < 0 ? (int)r : -EINVAL,
			    r < 0 ? "op" : "op returned 0 operations");
	else
		__atomic_store_n(&run->slots[wk->idx].ops, (uint64_t)r, __ATOMIC_RELAXED);
}

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	struct run *run = wk->run;
	bool inited = false;
	int ret;

	/* > 0 means labelled but not bound: a synthetic or XML topology. */
	ret = ks_topo_bind_thread(run->topo, wk->idx);
	if (ret < 0) {
		worker_fail(wk, ret, "binding to its CPU");
	} else if (run->w->thread_init) {
		ret = run->w->thread_init(run->state, wk->idx, &wk->tstate);
		if (ret < 0)
			worker_fail(wk, ret, "thread_init");
		else
			inited = true;
	} else {
		inited = true;
	}
	gate_wait(run);
	if (inited && !__atomic_load_n(&run->stop, __ATOMIC_ACQUIRE)) {
		if (run->w->one_shot)
			worker_once(wk);
		else
			worker_loop(wk);
	}
	if (inited && run->w->thread_fini)
		run->w->thread_fini(wk->tstate);
	return NULL;
}

/* Sleep until @deadline_ns or until a worker fails. */
static void wait_until(struct run *run, uint64_t deadline_ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(deadline_ns / 1000000000ull),
		.tv_nsec = (long)(deadline_ns % 1000000000ull),
	};

	pthread_mutex_lock(&run->mu);
	while (!__atomic_load_n(&run->failed, __ATOMIC_ACQUIRE) && now_ns() < deadline_ns)
		pthread_cond_timedwait(&run->cv, &run->mu, &ts);
	pthread_mutex_unlock(&run->mu);
}

/* ---- snapshots ------------------------------------------------------------- */

struct snap {
	uint64_t t_ns;
	uint64_t *ops;	  /* per thread */
	uint64_t *cpu_ns; /* per thread */
	struct ks_lock_class_stats locks[KB_MAX_LOCK_CLASSES];
	size_t nr_locks;
	int64_t live_bytes;
	uint64_t bytes_allocated;
};

static int snap_alloc(struct snap *s, int n)
{
	memset(s, 0, sizeof(*s));
	s->ops = calloc(n, sizeof(*s->ops));
	s->cpu_ns = calloc(n, sizeof(*s->cpu_ns));
	return s->ops && s->cpu_ns ? 0 : -ENOMEM;
}

static void snap_free(struct snap *s)
{
	free(s->ops);
	free(s->cpu_ns);
}

static void snap_take(struct snap *s, struct run *run, struct ks_lockstat *ls, struct ks_mem *mem)
{
	size_t n = 0;

	s->t_ns = now_ns();
	for (int i = 0; i < run->n; i++) {
		s->ops[i] = __atomic_load_n(&run->slots[i].ops, __ATOMIC_RELAXED);
		if (run->workers[i].have_cpuclock)
			s->cpu_ns[i] = clock_ns(run->workers[i].cpuclock);
	}
	if (ks_lockstat_read(ls, s->locks, KB_MAX_LOCK_CLASSES, &n))
		n = 0;
	s->nr_locks = n < KB_MAX_LOCK_CLASSES ? n : KB_MAX_LOCK_CLASSES;
	if (ks_mem_totals(mem, &s->live_bytes, &s->bytes_allocated))
		s->live_bytes = 0, s->bytes_allocated = 0;
}

static const struct ks_lock_class_stats *lock_find(const struct ks_lock_class_stats *l, size_t n,
						   const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(l[i].name, name))
			return &l[i];
	return NULL;
}

/* @out = @cur - @prev, class by class (a class born in between counts from 0). */
static size_t lock_delta(const struct snap *cur, const struct snap *prev,
			 struct ks_lock_class_stats *out)
{
	for (size_t i = 0; i < cur->nr_locks; i++) {
		const struct ks_lock_class_stats *c = &cur->locks[i];
		const struct ks_lock_class_stats *p =
			lock_find(prev->locks, prev->nr_locks, c->name);

		out[i] = *c;
		if (!p)
			continue;
		out[i].acquisitions -= p->acquisitions;
		out[i].contentions -= p->contentions;
		out[i].bounces -= p->bounces;
		out[i].wait_ns -= p->wait_ns;
		out[i].hold_ns -= p->hold_ns;
	}
	return cur->nr_locks;
}

/* Add the counts of @d into the run totals @tot (matching classes by name). */
static void lock_accumulate(struct kb_result *r, const struct ks_lock_class_stats *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct ks_lock_class_stats *t = NULL;

		for (size_t j = 0; j < r->nr_locks && !t; j++)
			if (!strcmp(r->locks[j].name, d[i].name))
				t = &r->locks[j];
		if (!t) {
			if (r->nr_locks == KB_MAX_LOCK_CLASSES)
				continue;
			t = &r->locks[r->nr_locks++];
			memset(t, 0, sizeof(*t));
			memcpy(t->name, d[i].name, sizeof(t->name));
			t->scope = d[i].scope;
		}
		t->acquisitions += d[i].acquisitions;
		t->contentions += d[i].contentions;
		t->bounces += d[i].bounces;
		t->wait_ns += d[i].wait_ns;
		t->hold_ns += d[i].hold_ns;
		t->wait_max_ns =
			d[i].wait_max_ns > t->wait_max_ns ? d[i].wait_max_ns : t->wait_max_ns;
		t->hold_max_ns =
			d[i].hold_max_ns > t->hold_max_ns ? d[i].hold_max_ns : t->hold_max_ns;
	}
}

/*
 * Record the interval @prev..@cur as one sample of repeat @rep.
 * @t0_ns is when the measurement began; @dt_ns overrides the interval's
 * length (one-shot samples last as long as the slowest thread).
 */
static int record_sample(struct kb_result *r, int rep, const struct snap *cur,
			 const struct snap *prev, uint64_t t0_ns, uint64_t dt_ns)
{
	struct kb_sample *s;
	int n = r->nr_threads;

	if (r->nr_samples == r->cap_samples) {
		size_t cap = r->cap_samples ? r->cap_samples * 2 : 16;
		struct kb_sample *ns = realloc(r->samples, cap * sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		r->samples = ns;
		r->cap_samples = cap;
	}
	s = &r->samples[r->nr_samples];
	memset(s, 0, sizeof(*s));
	s->per_thread_ops = calloc(n, sizeof(*s->per_thread_ops));
	s->locks = calloc(KB_MAX_LOCK_CLASSES, sizeof(*s->locks));
	if (!s->per_thread_ops || !s->locks) {
		free(s->per_thread_ops);
		free(s->locks);
		return -ENOMEM;
	}
	r->nr_samples++;
	s->repeat = rep;
	s->dt_s = dt_ns / 1e9;
	s->t_s = (cur->t_ns - t0_ns) / 1e9;
	for (int i = 0; i < n; i++) {
		s->per_thread_ops[i] = cur->ops[i] - prev->ops[i];
		s->ops += s->per_thread_ops[i];
		s->cpu_ns += (double)(cur->cpu_ns[i] - prev->cpu_ns[i]);
		r->thread_ops[i] += s->per_thread_ops[i];
	}
	s->ops_per_sec = s->dt_s > 0 ? s->ops / s->dt_s : NAN;
	s->nr_locks = lock_delta(cur, prev, s->locks);
	s->bytes_allocated = cur->bytes_allocated - prev->bytes_allocated;
	s->live_bytes = cur->live_bytes;

	r->ops += s->ops;
	r->elapsed_s += s->dt_s;
	r->bytes_allocated += s->bytes_allocated;
	lock_accumulate(r, s->locks, s->nr_locks);
	return 0;
}

/* ---- one repeat -------------------------------------------------------------- */

static void cell_fail(struct kb_result *r, int err, int rep, const char *fmt, const char *what,
		      int thread)
{
	char where[128];

	if (r->err)
		return;
	r->err = err < 0 ? err : -EIO;
	if (thread >= 0)
		snprintf(where, sizeof(where), "thread %d: %s", thread, what);
	else
		snprintf(where, sizeof(where), "%s", what);
	if (fmt)
		snprintf(r->errmsg, sizeof(r->errmsg), "repeat %d: %s: %s", rep + 1, where, fmt);
	else
		snprintf(r->errmsg, sizeof(r->errmsg), "repeat %d: %s: %s", rep + 1, where,
			 strerror(-r->err));
}

static int run_init(struct run *run, const struct kb_plan *p, const struct kb_plan_cell *c)
{
	pthread_condattr_t ca;

	memset(run, 0, sizeof(*run));
	run->w = c->w;
	run->topo = p->topo;
	run->n = c->threads;
	run->slots = aligned_alloc(KB_SLOT_SIZE, (size_t)run->n * sizeof(*run->slots));
	run->workers = calloc(run->n, sizeof(*run->workers));
	if (!run->slots || !run->workers) {
		free(run->slots);
		free(run->workers);
		return -ENOMEM;
	}
	memset(run->slots, 0, (size_t)run->n * sizeof(*run->slots));
	pthread_mutex_init(&run->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&run->cv, &ca);
	pthread_condattr_destroy(&ca);
	return 0;
}

static void run_fini(struct run *run)
{
	pthread_cond_destroy(&run->cv);
	pthread_mutex_destroy(&run->mu);
	free(run->slots);
	free(run->workers);
}

static void open_gate(struct run *run)
{
	pthread_mutex_lock(&run->mu);
	run->go = true;
	pthread_cond_broadcast(&run->cv);
	pthread_mutex_unlock(&run->mu);
}

/* Start every worker and wait until all are at the gate; false if one failed. */
static bool start_workers(struct run *run, struct kb_result *r, int rep)
{
	int created = 0;

	for (int i = 0; i < run->n; i++) {
		struct worker *wk = &run->workers[i];
		int ret;

		wk->run = run;
		wk->idx = i;
		ret = pthread_create(&wk->tid, NULL, worker_main, wk);
		if (ret) {
			cell_fail(r, -ret, rep, NULL, "pthread_create", i);
			break;
		}
		wk->created = true;
		wk->have_cpuclock = !pthread_getcpuclockid(wk->tid, &wk->cpuclock);
		created++;
	}
	pthread_mutex_lock(&run->mu);
	while (run->ready < created)
		pthread_cond_wait(&run->cv, &run->mu);
	pthread_mutex_unlock(&run->mu);
	return created == run->n && !__atomic_load_n(&run->failed, __ATOMIC_ACQUIRE);
}

static void stop_workers(struct run *run)
{
	__atomic_store_n(&run->stop, 1, __ATOMIC_RELEASE);
	open_gate(run);
	for (int i = 0; i < run->n; i++)
		if (run->workers[i].created)
			pthread_join(run->workers[i].tid, NULL);
}

/* The loop measurement: warm-up, then a sample a second. */
static int measure_loop(const struct kb_plan_cell *c, struct run *run, struct kb_result *r, int rep,
			struct ks_lockstat *ls, struct ks_mem *mem, struct kb_rep *out)
{
	struct snap a, b, *prev = &a, *cur = &b;
	uint64_t t0, end, gate;
	int ret = 0;

	if (snap_alloc(&a, run->n) || snap_alloc(&b, run->n)) {
		snap_free(&a);
		snap_free(&b);
		return -ENOMEM;
	}
	open_gate(run);
	gate = now_ns();
	wait_until(run, gate + (uint64_t)(c->warmup_s * 1e9));
	snap_take(prev, run, ls, mem);
	t0 = prev->t_ns;
	end = t0 + (uint64_t)(c->duration_s * 1e9);
	for (uint64_t k = 1; !ret && prev->t_ns < end; k++) {
		uint64_t next = t0 + k * 1000000000ull;
		struct snap *tmp;

		if (__atomic_load_n(&run->failed, __ATOMIC_ACQUIRE))
			break;
		wait_until(run, next < end ? next : end);
		if (__atomic_load_n(&run->failed, __ATOMIC_ACQUIRE))
			break;
		snap_take(cur, run, ls, mem);
		ret = record_sample(r, rep, cur, prev, t0, cur->t_ns - prev->t_ns);
		out->ops += r->samples[r->nr_samples - 1].ops;
		out->cpu_ns += r->samples[r->nr_samples - 1].cpu_ns;
		tmp = prev;
		prev = cur;
		cur = tmp;
	}
	out->elapsed_s = (prev->t_ns - t0) / 1e9;
	out->thread_wall_ns = out->elapsed_s * 1e9 * run->n;
	stop_workers(run);
	snap_free(&a);
	snap_free(&b);
	return ret;
}

/* The one-shot measurement: one op per thread, one sample. */
static int measure_once(struct run *run, struct kb_result *r, int rep, struct ks_lockstat *ls,
			struct ks_mem *mem, struct kb_rep *out)
{
	struct snap before, after;
	uint64_t first = UINT64_MAX, last = 0;
	int ret;

	if (snap_alloc(&before, run->n) || snap_alloc(&after, run->n)) {
		snap_free(&before);
		snap_free(&after);
		return -ENOMEM;
	}
	snap_take(&before, run, ls, mem);
	open_gate(run);
	for (int i = 0; i < run->n; i++)
		pthread_join(run->workers[i].tid, NULL);
	for (int i = 0; i < run->n; i++) {
		struct worker *wk = &run->workers[i];

		wk->created = false; /* joined */
		first = wk->begin_ns < first ? wk->begin_ns : first;
		last = wk->end_ns > last ? wk->end_ns : last;
		out->thread_wall_ns += (double)(wk->end_ns - wk->begin_ns);
		out->cpu_ns += (double)wk->cpu_ns;
	}
	snap_take(&after, run, ls, mem);
	/* Threads are gone: their CPU clocks are too. Use what each measured. */
	for (int i = 0; i < run->n; i++) {
		before.cpu_ns[i] = 0;
		after.cpu_ns[i] = run->workers[i].cpu_ns;
	}
	if (last < first)
		last = first;
	after.t_ns = before.t_ns + (last - first);
	ret = record_sample(r, rep, &after, &before, before.t_ns, last - first);
	if (!ret) {
		out->ops = r->samples[r->nr_samples - 1].ops;
		out->elapsed_s = (last - first) / 1e9;
	}
	snap_free(&before);
	snap_free(&after);
	return ret;
}

static int collect_report(const struct kb_workload *w, void *state, struct kb_result *r, int rep,
			  struct kb_rep *out)
{
	struct kb_series series[KB_MAX_SERIES];
	size_t nr = 0;
	int ret = 0;

	if (!w->report)
		return 0;
	memset(series, 0, sizeof(series));
	ret = w->report(state, &out->metrics, series, KB_MAX_SERIES, &nr);
	if (nr > KB_MAX_SERIES)
		nr = KB_MAX_SERIES;
	if (!ret && nr) {
		struct kb_series_rec *ns = realloc(r->series, (r->nr_series + nr) * sizeof(*ns));

		if (ns) {
			r->series = ns;
			for (size_t i = 0; i < nr; i++) {
				ns[r->nr_series].repeat = rep;
				ns[r->nr_series].s = series[i];
				r->nr_series++;
			}
			return 0;
		}
		ret = -ENOMEM;
	}
	for (size_t i = 0; i < KB_MAX_SERIES; i++)
		kb_series_free(&series[i]);
	return ret;
}

static int run_repeat(const struct kb_plan *p, const struct kb_plan_cell *c, int rep,
		      struct kb_result *r)
{
	const struct kb_workload *w = c->w;
	struct kb_rep *out = &r->reps[rep];
	struct ks_lockstat *ls = NULL;
	struct ks_mem *mem = NULL;
	void *state = NULL;
	struct run run;
	/* Workloads may keep a pointer to it until teardown (see ops_done). */
	struct kb_cell cell = {
		.workload = w->name,
		.strategy = c->strategy,
		.nr_threads = c->threads,
		.topo = p->topo,
		.params = &c->pv,
	};
	int ret;

	memset(out, 0, sizeof(*out));
	ret = ks_lockstat_create(p->topo, &ls);
	if (!ret)
		ret = ks_mem_create(p->topo, &mem);
	if (ret) {
		cell_fail(r, ret, rep, NULL, "creating lockstat and mem", -1);
		goto out_stats;
	}
	cell.locks = ls;
	cell.mem = mem;
	ret = w->setup ? w->setup(&cell, &state) : 0;
	if (ret < 0) {
		cell_fail(r, ret, rep, NULL, "setup", -1);
		ret = 0;
		goto out_stats;
	}
	ret = run_init(&run, p, c);
	if (ret)
		goto out_teardown;
	run.state = state;
	/* Setup's own locking is not part of the measurement. */
	ks_lockstat_reset(ls);

	if (!start_workers(&run, r, rep))
		stop_workers(&run);
	else if (w->one_shot)
		ret = measure_once(&run, r, rep, ls, mem, out);
	else
		ret = measure_loop(c, &run, r, rep, ls, mem, out);
	for (int i = 0; i < run.n; i++) {
		struct worker *wk = &run.workers[i];

		if (wk->err)
			cell_fail(r, wk->err, rep, NULL, wk->where, i);
		cell.ops_done += __atomic_load_n(&run.slots[i].ops, __ATOMIC_RELAXED);
	}
	if (!ret && !r->err) {
		int rr = collect_report(w, state, r, rep, out);

		if (rr == -ENOMEM)
			ret = rr;
		else if (rr < 0)
			cell_fail(r, rr, rep, NULL, "report (invariant check)", -1);
	}
	r->nr_reps = rep + 1;
	run_fini(&run);
out_teardown:
	if (w->teardown)
		w->teardown(state);
out_stats:
	if (mem) {
		long leaked = ks_mem_destroy(mem);

		if (leaked > 0) {
			char msg[64];

			snprintf(msg, sizeof(msg), "%ld objects still live in ks_mem", leaked);
			cell_fail(r, -EUCLEAN, rep, msg, "teardown", -1);
		}
	}
	ks_lockstat_destroy(ls);
	return ret;
}

/* Per metric, the median of its values over the repeats. */
static void metrics_median(struct kb_result *r)
{
	double v[256];

	memset(&r->metrics, 0, sizeof(r->metrics));
	if (!r->nr_reps)
		return;
	for (int i = 0; i < r->reps[0].metrics.n; i++) {
		const char *name = r->reps[0].metrics.m[i].name;
		size_t n = 0;

		for (int k = 0; k < r->nr_reps && n < KS_ARRAY_SIZE(v); k++)
			for (int j = 0; j < r->reps[k].metrics.n; j++)
				if (!strcmp(r->reps[k].metrics.m[j].name, name))
					v[n++] = r->reps[k].metrics.m[j].value;
		kb_metric_set(&r->metrics, name, kb_median(v, n));
	}
}

static int result_init(const struct kb_plan *p, const struct kb_plan_cell *c, struct kb_result *r)
{
	r->cell = c;
	r->nr_threads = c->threads;
	r->thread_ops = calloc(c->threads, sizeof(*r->thread_ops));
	r->reps = calloc(p->repeat, sizeof(*r->reps));
	return r->thread_ops && r->reps ? 0 : -ENOMEM;
}

struct exec_key {
	int group;
	size_t combo;
	int threads;
	size_t idx;
};

static int cmp_exec(const void *a, const void *b)
{
	const struct exec_key *x = a, *y = b;

	if (x->group != y->group)
		return x->group < y->group ? -1 : 1;
	if (x->combo != y->combo)
		return x->combo < y->combo ? -1 : 1;
	if (x->threads != y->threads)
		return x->threads < y->threads ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

/*
 * The order cells are measured in differs from the order they are reported
 * in. Repeats are the outer loop, and within one parameter set every
 * strategy runs at a thread count before the next count: the cells a ratio
 * compares run back to back, and a cell's repeats are spread over the whole
 * run, so a burst of load on a shared machine hits every strategy alike
 * instead of one cell.
 */
int kb_run_plan(const struct kb_plan *p, struct kb_result *out, kb_progress_fn progress, void *parg)
{
	struct exec_key *order = calloc(p->nr_cells ? p->nr_cells : 1, sizeof(*order));
	size_t step = 0, steps = p->nr_cells * (size_t)p->repeat;
	int ret = order ? 0 : -ENOMEM;

	for (size_t i = 0; !ret && i < p->nr_cells; i++) {
		const struct kb_plan_cell *c = &p->cells[i];

		order[i] = (struct exec_key){c->group, c->combo, c->threads, i};
		ret = result_init(p, c, &out[i]);
	}
	if (!ret)
		qsort(order, p->nr_cells, sizeof(*order), cmp_exec);
	for (int rep = 0; !ret && rep < p->repeat; rep++) {
		for (size_t k = 0; !ret && k < p->nr_cells; k++) {
			size_t i = order[k].idx;

			step++;
			if (out[i].err)
				continue; /* a failed cell's later repeats are skipped */
			if (progress)
				progress(parg, step - 1, steps, &p->cells[i], rep, p->repeat);
			ret = run_repeat(p, &p->cells[i], rep, &out[i]);
		}
	}
	free(order);
	for (size_t i = 0; i < p->nr_cells; i++) {
		metrics_median(&out[i]);
		kb_result_derive(&out[i]);
	}
	kb_results_relate(out, p->nr_cells);
	return ret;
}

void kb_result_fini(struct kb_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nr_samples; i++) {
		free(r->samples[i].per_thread_ops);
		free(r->samples[i].locks);
	}
	free(r->samples);
	for (size_t i = 0; i < r->nr_series; i++)
		kb_series_free(&r->series[i].s);
	free(r->series);
	free(r->reps);
	free(r->thread_ops);
	memset(r, 0, sizeof(*r));
}
