/* SPDX-License-Identifier: MIT */
/*
 * The contract between kscale-bench's runner and its workloads.
 *
 * A workload is one file in bench/workloads/ that fills a struct kb_workload
 * and registers it with KB_WORKLOAD_REGISTER(). It has will-it-scale's
 * testcase() shape: the runner owns threads, pinning, the start gate, warm-up,
 * timing and sampling; the workload owns a per-cell setup (create the
 * subsystem with the cell's strategy and parameters), a per-thread setup, and
 * one operation that the runner calls in a loop until told to stop. Workloads
 * never print, never exit and keep no global state: everything lives in the
 * state they return.
 *
 * A cell is one (workload, strategy, thread count, parameter values, repeat).
 */
#ifndef KSCALE_BENCH_WORKLOAD_H
#define KSCALE_BENCH_WORKLOAD_H

#include <kscale/kscale.h>

struct kb_cell;

/** A parameter a workload accepts with --param name=value. */
struct kb_param_def {
	const char *name;
	const char *def;  /* default value, as text */
	const char *help; /* one line */
};
/*
 * A parameter whose default is a number (u64 with suffix, or a decimal)
 * accepts only numbers: kscale-bench rejects "--param n=abc" as bad input
 * before running anything. Values never contain ',' (it separates a sweep)
 * or ';' (it separates parameters in a suite entry).
 */

/** What the runner hands to a workload for one cell. */
struct kb_cell {
	const char *workload;
	const char *strategy;
	int nr_threads;
	const struct ks_topo *topo;
	struct ks_lockstat *locks; /* pass to the subsystem's options */
	struct ks_mem *mem;        /* likewise */
	/* private to the runner: the parameter values of this cell */
	const void *params;
	/*
	 * Set by the runner before it calls report(): the sum of what op()
	 * returned on every thread, warm-up included. The cell lives from
	 * setup to teardown, so a workload may keep the pointer setup gets
	 * and check in report() that its structure holds exactly the
	 * operations the runner counted.
	 */
	uint64_t ops_done;
};

/**
 * kb_param_str() / kb_param_u64() / kb_param_double() - a parameter of this
 * cell (its --param value, else the workload's default).
 * Return: 0; -ENOENT for a name the workload did not declare; -EINVAL when
 * the text is not a number (u64 accepts suffixes k, m, g as powers of 1000,
 * e.g. "64k").
 */
int kb_param_str(const struct kb_cell *c, const char *name, const char **out);
int kb_param_u64(const struct kb_cell *c, const char *name, uint64_t *out);
int kb_param_double(const struct kb_cell *c, const char *name, double *out);

/** Extra named figures a workload reports for a cell (e.g. "entries"). */
#define KB_MAX_METRICS 32
struct kb_metrics {
	int n;
	struct {
		const char *name; /* snake_case, static string */
		double value;
	} m[KB_MAX_METRICS];
};

/** kb_metric_set() - set or replace metric @name. Return 0 or -ENOSPC. */
int kb_metric_set(struct kb_metrics *m, const char *name, double value);

/**
 * A time series a workload may record (e.g. memory waiting to be freed,
 * sampled every 100 ms); written to the JSON run and drawable by --plot.
 */
struct kb_series {
	const char *name; /* snake_case */
	const char *unit; /* "bytes", "ns", ... */
	size_t n, cap;
	double *t_s;   /* seconds since the measurement started */
	double *value;
};
/*
 * report() gets up to max_series zeroed series: it sets name and unit of the
 * first *nr_series and adds points; the runner frees the arrays afterwards.
 */
/** kb_series_add() - append a point (grows the arrays). Return 0 or -ENOMEM. */
int kb_series_add(struct kb_series *s, double t_s, double value);

struct kb_workload {
	const char *name;    /* "pid-spawn" */
	const char *summary; /* one line for `kscale-bench list` */
	const char *subsystem; /* "core", "pid", "procfs", ... */

	/* The strategies it compares, NULL-terminated. */
	const char *const *strategies;
	/* Parameters, terminated by an entry with a NULL name. */
	const struct kb_param_def *params;

	/*
	 * Cell setup, on the runner's thread: create the subsystem with
	 * c->strategy, c->locks, c->mem and the parameters. Return 0 or
	 * -errno (the cell is reported as failed with that error).
	 */
	int (*setup)(const struct kb_cell *c, void **state);
	/* Per-thread setup, on the measuring thread, already pinned. */
	int (*thread_init)(void *state, int thread, void **tstate);
	/*
	 * One operation. Return the number of operations it did (>= 1; a
	 * batched op may do several) or -errno to fail the cell.
	 */
	long (*op)(void *tstate);
	void (*thread_fini)(void *tstate);
	/*
	 * After the measurement, before teardown: fill extra metrics and
	 * series, check invariants (return -errno if one broke: the cell is
	 * reported failed, not as a number). Optional.
	 */
	int (*report)(void *state, struct kb_metrics *m, struct kb_series *series,
		      size_t max_series, size_t *nr_series);
	void (*teardown)(void *state);

	/*
	 * One-shot workloads (a teardown, a full walk) set this: the runner
	 * calls op once per thread per sample instead of looping for the
	 * duration, and ops/s is computed from the time it took.
	 */
	bool one_shot;

	/* The entries `kscale-bench suite` runs for this workload. */
	const struct kb_suite_entry *suite;
};

/*
 * One line of the suite: a workload run with these settings. A workload's
 * `suite` array ends with an entry whose `strategies` is NULL ({ 0 }).
 * Thread counts above the topology's CPUs are dropped (an entry with none
 * left is skipped); a duration_s of 0 means 5 s; the warm-up is a fifth of
 * the duration, at most 1 s; --duration-scale scales both.
 */
struct kb_suite_entry {
	const char *strategies; /* "all" or "a,b" */
	const char *threads;    /* "1,2" */
	const char *params;     /* "depth=0" or NULL; ';' separates several */
	double duration_s;
	const char *headline;   /* the comparison it prints: "percpu vs atomic" */
	const char *base;       /* strategy used as the denominator of ratios */
	const char *target;     /* strategy used as the numerator */
};

/** Register a workload at load time (called by KB_WORKLOAD_REGISTER). */
void kb_workload_register(const struct kb_workload *w);
#define KB_WORKLOAD_REGISTER(w)                                              \
	__attribute__((constructor)) static void kb_register_##w(void)       \
	{                                                                    \
		kb_workload_register(&(w));                                  \
	}

/** kb_workload_find() - by name, or NULL. */
const struct kb_workload *kb_workload_find(const char *name);
/** kb_workloads() - all registered, sorted by subsystem then name. */
const struct kb_workload *const *kb_workloads(size_t *n);

#endif /* KSCALE_BENCH_WORKLOAD_H */
