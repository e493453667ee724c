// SPDX-License-Identifier: MIT
/*
 * reap-latency: how soon a killed process's memory comes back, per killer.
 *
 * The machine holds --param procs processes; --param victims of them, spread
 * through the task list, hold --param size_mb of anonymous memory each
 * (ks_reap_victim_create(): populated at setup, --param vmas VMAs,
 * --param victim_threads threads sharing the mm). A killed victim sleeps
 * uninterruptibly for --param stall_ms and then exits on a CPU running at
 * --param speed_pct of full speed: Suren Baghdasaryan's motivation for
 * process_reap (June 2021) -- "uninterruptible sleep", "OPP level of the
 * core". A killer (each measuring thread is one; they share the victims)
 * kills one victim every --param interval_ms with the strategy, a killer of
 * ks_reap_killers():
 *
 *   wait-exit   SIGKILL and wait for the exit (no process_mrelease()).
 *   mrelease    SIGKILL, then process_mrelease(pidfd, 0) from the killer
 *               (mm/oom_kill.c, Linux 5.15).
 *   oom-reaper  SIGKILL, then the kernel's oom_reaper thread: 2 s after the
 *               kill (OOM_REAPER_DELAY), up to 10 mmap_read_trylock()
 *               attempts HZ/10 apart. The delay is the kernel's and it is
 *               the point: the reaper is a safety net, not a fast path.
 *   lmkd-pool   Android lmkd's reaper (reaper.cpp): two threads that kill
 *               and process_mrelease(); the killer kills without reaping
 *               when both are busy.
 *
 * "Memory freed" is the moment the victim's last anonymous page was seen
 * gone, whoever freed it (struct ks_reap_result). One-shot: op() kills every
 * victim it takes and returns when the memory of each is back, so ops/s is
 * victims freed per second. Series: each victim's latency at its kill time,
 * and the memory of killed victims not yet freed, sampled every 5 ms.
 */
#include "workload.h"

#include <kscale/reap.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SAMPLE_NS 5000000ull
#define POLL_NS 200000ull

static const struct kb_param_def params[] = {
	{ "size_mb", "64", "anonymous memory per victim, MiB (1 to 65536)" },
	{ "procs", "100", "processes on the machine, victims included (up to 1000000)" },
	{ "victims", "8", "processes killed, each holding size_mb" },
	{ "victim_threads", "1", "threads per victim (above 1: mm_users > 1, the full scan)" },
	{ "vmas", "1", "VMAs per victim (1 to 4096)" },
	{ "stall_ms", "1000", "a killed victim sleeps uninterruptibly this long before exiting" },
	{ "speed_pct", "100", "the victim's CPU speed in percent while it exits (1 to 100)" },
	{ "interval_ms", "100", "time between two kills of one killer" },
	{ "check", "scan", "process_mrelease()'s safety check: scan or mm-owners" },
	{ NULL, NULL, NULL },
};

struct rl {
	const struct kb_cell *cell;
	uint64_t size_mb, procs, nr_victims, victim_threads, vmas, stall_ms, speed_pct, interval_ms;
	struct ks_tasks *tasks;
	struct ks_reap *reap;
	struct ks_task **others; /* the processes that are not victims */
	size_t nr_others;
	struct ks_reap_victim **v;
	size_t nr_v;
	int *taken_by; /* [victim]: 1 + the killer thread that took it (atomic) */
	uint64_t next_victim; /* atomic */
	uint64_t t0_ns;       /* atomic: the first op's start */

	pthread_t sampler;
	bool sampler_running;
	int sampler_stop;
	double *t_s, *bytes;
	size_t n, cap;
};

struct killer {
	struct rl *rl;
	int id;
	bool registered;
};

static void sleep_until(uint64_t at_ns)
{
	struct timespec ts = { (time_t)(at_ns / 1000000000ull), (long)(at_ns % 1000000000ull) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* Memory of killed victims still mapped, one point of the series. */
static void sample(struct rl *rl)
{
	uint64_t t0 = __atomic_load_n(&rl->t0_ns, __ATOMIC_ACQUIRE);
	double pending = 0;

	if (!t0)
		return;
	for (size_t i = 0; i < rl->nr_v; i++) {
		struct ks_reap_result res;
		struct ks_mm_stats st;

		if (ks_reap_victim_result(rl->v[i], &res) || !res.kill_ns ||
		    ks_mm_stats(ks_reap_victim_mm(rl->v[i]), &st))
			continue;
		pending += (double)st.anon_resident * KS_PAGE_SIZE;
	}
	if (rl->n == rl->cap) {
		size_t cap = rl->cap ? 2 * rl->cap : 1024;
		double *a = realloc(rl->t_s, cap * sizeof(*a));
		double *b = a ? realloc(rl->bytes, cap * sizeof(*b)) : NULL;

		if (a)
			rl->t_s = a;
		if (!b)
			return;
		rl->bytes = b;
		rl->cap = cap;
	}
	rl->t_s[rl->n] = (double)(ks_clock_ns() - t0) / 1e9;
	rl->bytes[rl->n++] = pending;
}

static void *sampler_fn(void *arg)
{
	struct rl *rl = arg;

	while (!__atomic_load_n(&rl->sampler_stop, __ATOMIC_ACQUIRE)) {
		sample(rl);
		sleep_until(ks_clock_ns() + SAMPLE_NS);
	}
	return NULL;
}

static void stop_sampler(struct rl *rl)
{
	if (!rl->sampler_running)
		return;
	__atomic_store_n(&rl->sampler_stop, 1, __ATOMIC_RELEASE);
	pthread_join(rl->sampler, NULL);
	rl->sampler_running = false;
}

static void teardown(void *state)
{
	struct rl *rl = state;
	bool reg;

	if (!rl)
		return;
	stop_sampler(rl);
	reg = ks_rcu_register_thread() == 0;
	/* a victim still stalled is waited for: its exit frees the rest */
	for (size_t i = 0; i < rl->nr_v; i++)
		ks_reap_victim_destroy(rl->v[i]);
	for (size_t i = 0; i < rl->nr_others; i++) {
		ks_task_exit(rl->others[i], 0);
		ks_task_reap(rl->others[i], NULL);
		ks_task_put(rl->others[i]);
	}
	if (rl->reap)
		ks_reap_destroy(rl->reap);
	if (rl->tasks)
		ks_tasks_destroy(rl->tasks);
	if (reg)
		ks_rcu_unregister_thread();
	free(rl->others);
	free(rl->v);
	free(rl->taken_by);
	free(rl->t_s);
	free(rl->bytes);
	free(rl);
}

static int parse(const struct kb_cell *c, struct rl *rl, const char **check)
{
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
	uint64_t ram_mb = pages > 0 && psz > 0 ? (uint64_t)pages * (uint64_t)psz >> 20 : 0;
	int ret;

	ret = kb_param_u64(c, "size_mb", &rl->size_mb);
	ret = ret ?: kb_param_u64(c, "procs", &rl->procs);
	ret = ret ?: kb_param_u64(c, "victims", &rl->nr_victims);
	ret = ret ?: kb_param_u64(c, "victim_threads", &rl->victim_threads);
	ret = ret ?: kb_param_u64(c, "vmas", &rl->vmas);
	ret = ret ?: kb_param_u64(c, "stall_ms", &rl->stall_ms);
	ret = ret ?: kb_param_u64(c, "speed_pct", &rl->speed_pct);
	ret = ret ?: kb_param_u64(c, "interval_ms", &rl->interval_ms);
	ret = ret ?: kb_param_str(c, "check", check);
	if (ret)
		return ret;
	if (rl->size_mb < 1 || rl->size_mb > 65536 || rl->nr_victims < 1 ||
	    rl->procs < rl->nr_victims || rl->procs > 1000000 || rl->victim_threads < 1 ||
	    rl->victim_threads > 1024 || rl->vmas < 1 || rl->vmas > 4096 ||
	    rl->vmas > rl->size_mb << 8 || rl->speed_pct < 1 || rl->speed_pct > 100 ||
	    rl->stall_ms > 3600000 || rl->interval_ms > 3600000)
		return -EINVAL;
	/* the victims' memory must fit in half the RAM: the machine must survive */
	if (ram_mb && rl->size_mb * rl->nr_victims > ram_mb / 2)
		return -ENOMEM;
	return 0;
}

/* Victims spread evenly through the task list, the others around them. */
static int populate(struct rl *rl)
{
	struct ks_reap_victim_opts vo = {
		.bytes = (size_t)rl->size_mb << 20,
		.nr_vmas = (unsigned int)rl->vmas,
		.nr_threads = (unsigned int)rl->victim_threads,
		.stall_ms = (unsigned int)rl->stall_ms,
		.speed_pct = (unsigned int)rl->speed_pct,
	};
	uint64_t pids = rl->procs + rl->nr_victims * (rl->victim_threads - 1) + 1000;
	struct ks_pid_ns *ns = ks_tasks_pid_ns(rl->tasks);
	int ret = 0;

	/* room for every pid, as a big machine raises kernel.pid_max */
	if (pids > (uint64_t)ks_pid_ns_pid_max(ns))
		ret = ks_pid_ns_set_pid_max(ns, (int)pids);
	for (uint64_t i = 0; !ret && i < rl->procs; i++) {
		if (rl->nr_v < rl->nr_victims && i * rl->nr_victims >= rl->nr_v * rl->procs) {
			ret = ks_reap_victim_create(rl->reap, &vo, &rl->v[rl->nr_v]);
			rl->nr_v += !ret;
		} else {
			ret = ks_task_clone(rl->tasks, NULL, 0, &rl->others[rl->nr_others]);
			rl->nr_others += !ret;
		}
	}
	return ret;
}

static int setup(const struct kb_cell *c, void **state)
{
	struct ks_tasks_opts to = { .topo = c->topo, .locks = c->locks, .mem = c->mem };
	struct ks_reap_opts ro = { .topo = c->topo, .locks = c->locks, .mem = c->mem };
	struct rl *rl;
	bool reg;
	int ret;

	rl = calloc(1, sizeof(*rl));
	if (!rl)
		return -ENOMEM;
	rl->cell = c;
	ret = parse(c, rl, &ro.check);
	if (ret) {
		free(rl);
		return ret;
	}
	rl->v = calloc(rl->nr_victims, sizeof(*rl->v));
	rl->taken_by = calloc(rl->nr_victims, sizeof(*rl->taken_by));
	rl->others = calloc(rl->procs - rl->nr_victims + 1, sizeof(*rl->others));
	if (!rl->v || !rl->taken_by || !rl->others) {
		teardown(rl);
		return -ENOMEM;
	}
	reg = ks_rcu_register_thread() == 0;
	ret = ks_tasks_create(&to, &rl->tasks);
	ret = ret ?: ks_reap_create(rl->tasks, &ro, &rl->reap);
	ret = ret ?: populate(rl);
	if (reg)
		ks_rcu_unregister_thread();
	if (!ret) {
		ret = -pthread_create(&rl->sampler, NULL, sampler_fn, rl);
		rl->sampler_running = !ret;
	}
	if (ret) {
		teardown(rl);
		return ret;
	}
	*state = rl;
	return 0;
}

static int thread_init(void *state, int thread, void **tstate)
{
	struct killer *k = calloc(1, sizeof(*k));

	if (!k)
		return -ENOMEM;
	k->rl = state;
	k->id = thread;
	k->registered = ks_rcu_register_thread() == 0;
	*tstate = k;
	return 0;
}

static long op(void *tstate)
{
	struct killer *k = tstate;
	struct rl *rl = k->rl;
	const char *killer = rl->cell->strategy;
	uint64_t zero = 0, next = ks_clock_ns();
	long done = 0;

	__atomic_compare_exchange_n(&rl->t0_ns, &zero, next, false, __ATOMIC_ACQ_REL,
				    __ATOMIC_RELAXED);
	for (;;) {
		uint64_t i = __atomic_fetch_add(&rl->next_victim, 1, __ATOMIC_RELAXED);
		int ret;

		if (i >= rl->nr_v)
			break;
		if (done)
			sleep_until(next);
		next = ks_clock_ns() + rl->interval_ms * 1000000ull;
		__atomic_store_n(&rl->taken_by[i], k->id + 1, __ATOMIC_RELAXED);
		ret = ks_reap_kill(rl->reap, rl->v[i], killer);
		if (ret)
			return ret;
		done++;
	}
	/* the killer is done when the memory of its victims is back */
	for (size_t i = 0; i < rl->nr_v; i++) {
		struct ks_reap_result res;

		if (__atomic_load_n(&rl->taken_by[i], __ATOMIC_RELAXED) != k->id + 1)
			continue;
		while (!ks_reap_victim_result(rl->v[i], &res) && !res.freed_ns)
			sleep_until(ks_clock_ns() + POLL_NS);
	}
	return done;
}

static void thread_fini(void *tstate)
{
	struct killer *k = tstate;

	if (k->registered)
		ks_rcu_unregister_thread();
	free(k);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest rank: the smallest value with at least q of the values <= it. */
static double quantile(const double *sorted, size_t n, double q)
{
	size_t k = (size_t)(q * (double)n + 0.999999);

	if (!n)
		return 0;
	if (k < 1)
		k = 1;
	return sorted[(k > n ? n : k) - 1];
}

struct tally {
	size_t n;
	uint64_t by[KS_REAP_FREER_LMKD + 1];
	uint64_t rc_ok, rc_esrch, rc_einval, rc_eagain, rc_other;
	uint64_t t_first, t_last, scan_visits, pages_reaped, pages_exit;
	double sum;
};

static void tally_rc(struct tally *t, const struct ks_reap_result *res)
{
	switch (res->mrelease_ret) {
	case 0:
		t->rc_ok += res->reaped != 0;
		break;
	case -ESRCH:
		t->rc_esrch++;
		break;
	case -EINVAL:
		t->rc_einval++;
		break;
	case -EAGAIN:
		t->rc_eagain++;
		break;
	default:
		t->rc_other++;
		break;
	}
}

/* One victim's result into the tally and the latency series; -EUCLEAN if broken. */
static int add_result(struct rl *rl, const struct ks_reap_result *res, struct tally *t,
		      double *lat, double *rate, struct kb_series *s)
{
	double mb = (double)rl->size_mb * 1048576.0 / 1e6;
	uint64_t freed_at = res->kill_ns + res->freed_ns;

	if (!res->freed_ns || res->freed_by < KS_REAP_FREER_EXIT ||
	    res->freed_by > KS_REAP_FREER_LMKD)
		return -EUCLEAN;
	lat[t->n] = (double)res->freed_ns / 1e6;
	rate[t->n] = mb / ((double)res->freed_ns / 1e9);
	t->sum += lat[t->n];
	t->by[res->freed_by]++;
	/* process_mrelease() runs for these killers only (lmkd: unless kill-only) */
	if (!strcmp(rl->cell->strategy, "mrelease") || !strcmp(rl->cell->strategy, "lmkd-pool"))
		tally_rc(t, res);
	t->scan_visits += res->scan_visits;
	t->pages_reaped += res->pages_reaped;
	t->pages_exit += res->pages_exit;
	if (res->kill_ns < t->t_first)
		t->t_first = res->kill_ns;
	if (freed_at > t->t_last)
		t->t_last = freed_at;
	t->n++;
	return s ? kb_series_add(s, (double)(res->kill_ns - rl->t0_ns) / 1e9, lat[t->n - 1]) : 0;
}

static int report(void *state, struct kb_metrics *m, struct kb_series *series, size_t max_series,
		  size_t *nr_series)
{
	struct rl *rl = state;
	struct tally t = { .t_first = UINT64_MAX };
	double *lat = calloc(rl->nr_v + 1, sizeof(*lat));
	double *rate = calloc(rl->nr_v + 1, sizeof(*rate));
	double mb = (double)rl->size_mb * 1048576.0 / 1e6;
	struct ks_reap_stats st;
	int ret = 0;

	*nr_series = 0;
	stop_sampler(rl);
	sample(rl); /* the end: nothing left */
	if (!lat || !rate) {
		free(lat);
		free(rate);
		return -ENOMEM;
	}
	if (max_series >= 2) {
		series[0].name = "reap_latency_ms";
		series[0].unit = "ms";
		series[1].name = "killed_unfreed_bytes";
		series[1].unit = "bytes";
		*nr_series = 2;
	}
	for (size_t i = 0; i < rl->nr_v && !ret; i++) {
		struct ks_reap_result res;
		struct ks_mm_stats ms;

		ret = ks_reap_victim_result(rl->v[i], &res);
		if (ret || !res.kill_ns)
			continue;
		/* a killed victim's anonymous memory must be gone */
		ret = ks_mm_stats(ks_reap_victim_mm(rl->v[i]), &ms);
		if (!ret && ms.anon_resident)
			ret = -EUCLEAN;
		ret = ret ?: add_result(rl, &res, &t, lat, rate, *nr_series ? &series[0] : NULL);
	}
	for (size_t i = 0; *nr_series && i < rl->n && !ret; i++)
		ret = kb_series_add(&series[1], rl->t_s[i], rl->bytes[i]);
	ret = ret ?: ks_reap_stats(rl->reap, &st);
	/* every victim killed was freed; no errno process_mrelease() does not document */
	if (!ret && (t.n != rl->cell->ops_done || t.rc_other))
		ret = -EUCLEAN;
	if (!ret) {
		qsort(lat, t.n, sizeof(*lat), cmp_double);
		qsort(rate, t.n, sizeof(*rate), cmp_double);
		kb_metric_set(m, "victims_freed", (double)t.n);
		kb_metric_set(m, "reap_latency_ms_median", quantile(lat, t.n, 0.5));
		kb_metric_set(m, "reap_latency_ms_p99", quantile(lat, t.n, 0.99));
		kb_metric_set(m, "reap_latency_ms_min", t.n ? lat[0] : 0);
		kb_metric_set(m, "reap_latency_ms_max", t.n ? lat[t.n - 1] : 0);
		kb_metric_set(m, "reap_latency_ms_mean", t.n ? t.sum / (double)t.n : 0);
		kb_metric_set(m, "freed_mb_per_s_median", quantile(rate, t.n, 0.5));
		kb_metric_set(m, "freed_mb_per_s_total",
			      t.t_last > t.t_first ?
				      mb * (double)t.n / ((double)(t.t_last - t.t_first) / 1e9) :
				      0);
		kb_metric_set(m, "all_freed_s",
			      t.t_last > rl->t0_ns ? (double)(t.t_last - rl->t0_ns) / 1e9 : 0);
		kb_metric_set(m, "freed_by_exit", (double)t.by[KS_REAP_FREER_EXIT]);
		kb_metric_set(m, "freed_by_killer", (double)t.by[KS_REAP_FREER_KILLER]);
		kb_metric_set(m, "freed_by_reaper",
			      (double)(t.by[KS_REAP_FREER_OOM_REAPER] + t.by[KS_REAP_FREER_LMKD]));
		kb_metric_set(m, "mrelease_ok", (double)t.rc_ok);
		kb_metric_set(m, "mrelease_esrch", (double)t.rc_esrch);
		kb_metric_set(m, "mrelease_einval", (double)t.rc_einval);
		kb_metric_set(m, "mrelease_eagain", (double)t.rc_eagain);
		kb_metric_set(m, "scan_visits_per_reap",
			      st.mrelease_calls ? (double)t.scan_visits / (double)st.mrelease_calls : 0);
		kb_metric_set(m, "pages_reaped", (double)t.pages_reaped);
		kb_metric_set(m, "pages_freed_by_exit", (double)t.pages_exit);
		kb_metric_set(m, "kills_without_reap", (double)st.lmkd_kill_only);
		kb_metric_set(m, "oom_reaper_retries", (double)st.oom_reaper_retries);
	}
	free(lat);
	free(rate);
	return ret;
}

static const struct kb_suite_entry suite[] = {
	/*
	 * A victim stalled 1 s in D state. wait-exit gets its memory back when
	 * the stall ends (and waits for each exit before the next kill);
	 * mrelease as soon as the killer has unmapped it. The headline is
	 * victims freed per second; reap_latency_ms_median is in the metrics.
	 */
	{ "wait-exit,mrelease", "1", "size_mb=64;victims=3;stall_ms=1000;interval_ms=50", 0,
	  "victims freed/s, victim stalled 1 s: mrelease vs wait-exit", "wait-exit", "mrelease" },
	{ 0 },
};

static const char *const strategies[] = { "wait-exit", "mrelease", "oom-reaper", "lmkd-pool",
					  NULL };

static const struct kb_workload reap_latency = {
	.name = "reap-latency",
	.summary = "kill victims and time until their memory is back, per killer",
	.subsystem = "reap",
	.strategies = strategies,
	.params = params,
	.setup = setup,
	.thread_init = thread_init,
	.op = op,
	.thread_fini = thread_fini,
	.report = report,
	.teardown = teardown,
	.one_shot = true,
	.suite = suite,
};
KB_WORKLOAD_REGISTER(reap_latency);
