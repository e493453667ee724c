/* SPDX-License-Identifier: MIT */
/*
 * kscale-bench internals: the pieces between the command line and the
 * reporters. Data flows one way:
 *
 *   cli (kb_run_opts) -> plan (kb_plan: cells) -> runner (kb_result per cell)
 *     -> stats (figures derived from samples) -> reporters (table, CSV,
 *        JSON, gbench JSON, gnuplot)
 *
 * Every function here returns 0 or a negative errno, and functions that take
 * user input also write one line saying what was wrong into a struct kb_err,
 * which main.c prints as "kscale-bench: <line>" before exiting with status 2.
 * Only main.c exits.
 */
#ifndef KSCALE_BENCH_KB_H
#define KSCALE_BENCH_KB_H

#include <stdio.h>
#include <jansson.h>
#include "workload.h"

/* Exit statuses of every command. */
#define KB_EXIT_OK 0
#define KB_EXIT_FAILED 1 /* a cell failed, or an output could not be written */
#define KB_EXIT_USAGE 2	 /* bad input: nothing was run, nothing was written */

/* One line of explanation for a bad input. */
struct kb_err {
	char msg[512];
};
/* kb_errf() - format @e's message; returns @ret so callers can `return kb_errf()`. */
int kb_errf(struct kb_err *e, int ret, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- parsing (params.c) -------------------------------------------------- */

/*
 * kb_parse_u64() - a decimal count, with an optional suffix k, m or g
 * (powers of 1000, either case). Return: 0; -EINVAL for NULL arguments,
 * empty text, a sign, garbage or an overflow.
 */
int kb_parse_u64(const char *s, uint64_t *out);
/* kb_parse_double() - a finite decimal number. Return: 0 or -EINVAL. */
int kb_parse_double(const char *s, double *out);
/* kb_is_number() - whether @s parses as a u64 (with suffix) or a double. */
bool kb_is_number(const char *s);

/*
 * kb_threads_parse() - a thread list: "1,2,4", "1-16", "all" (1..@nr_cpus),
 * or a mix ("1,4-8"). The result is sorted and without repeats.
 * @out: array of @max entries; @n receives the count.
 * Return: 0; -EINVAL with @e filled for an empty list or element, garbage,
 * 0, a negative count, a reversed range or a count above @nr_cpus; -E2BIG
 * when more than @max distinct counts result.
 */
int kb_threads_parse(const char *s, int nr_cpus, int *out, int max, int *n, struct kb_err *e);
/*
 * kb_threads_default() - powers of two up to @nr_cpus, then @nr_cpus:
 * runtest.py's 1..nr_cpus would be hours on a big machine.
 */
int kb_threads_default(int nr_cpus, int *out, int max);

/* Most parameters a workload declares, values one --param may sweep. */
#define KB_MAX_PARAMS 16
#define KB_MAX_VALUES 64

/*
 * The parameter values of one cell: what struct kb_cell's private `params`
 * points to. One value per parameter the workload declares.
 */
struct kb_param_values {
	int n;
	const char *name[KB_MAX_PARAMS];
	const char *value[KB_MAX_PARAMS];
};

/*
 * A sweep: for every declared parameter, the values to try (its default
 * when not given). Values point into @buf, which the sweep owns.
 */
struct kb_sweep {
	const struct kb_workload *w;
	int n;
	struct {
		const char *name;
		int given;
		int nv;
		const char *v[KB_MAX_VALUES];
	} p[KB_MAX_PARAMS];
	char *bufs[KB_MAX_PARAMS * 2];
	int nr_bufs;
};

/* kb_sweep_init() - every declared parameter of @w at its default. */
int kb_sweep_init(struct kb_sweep *s, const struct kb_workload *w, struct kb_err *e);
/*
 * kb_sweep_add() - apply one "k=v1,v2" argument. Return: 0; -EINVAL with
 * @e filled for a missing '=', a name @w does not declare, a name given
 * twice, an empty value, or a non-number for a parameter whose default is a
 * number; -E2BIG past KB_MAX_VALUES values; -ENOMEM.
 */
int kb_sweep_add(struct kb_sweep *s, const char *arg, struct kb_err *e);
/* kb_sweep_add_list() - several arguments separated by ';' (suite entries). */
int kb_sweep_add_list(struct kb_sweep *s, const char *list, struct kb_err *e);
/* kb_sweep_count() - number of value combinations (cartesian product). */
size_t kb_sweep_count(const struct kb_sweep *s);
/* kb_sweep_get() - combination @idx (0..count-1; the last parameter varies fastest). */
int kb_sweep_get(const struct kb_sweep *s, size_t idx, struct kb_param_values *out);
void kb_sweep_fini(struct kb_sweep *s);

/* kb_params_format() - "k=v;k2=v2" into @buf (empty when none). */
int kb_params_format(const struct kb_param_values *pv, char *buf, size_t len);

/* kb_series_free() - free a series' arrays (the runner owns them). */
void kb_series_free(struct kb_series *s);

/* ---- registry (registry.c) ----------------------------------------------- */

/*
 * kb_registry_check() - whether every constructor-time registration was
 * kept (no duplicate names, no overflow). Return: 0 or -EEXIST / -ENOSPC
 * with @e filled.
 */
int kb_registry_check(struct kb_err *e);
/* kb_workload_has_strategy() - whether @w compares strategy @name. */
bool kb_workload_has_strategy(const struct kb_workload *w, const char *name);
/* kb_workload_nr_strategies() - length of @w's strategy list. */
int kb_workload_nr_strategies(const struct kb_workload *w);

/* ---- plan (plan.c) -------------------------------------------------------- */

#define KB_MAX_THREAD_COUNTS 4096
#define KB_MAX_STRATEGIES 32

/* One cell of the plan, measured `repeat` times. */
struct kb_plan_cell {
	const struct kb_workload *w;
	const char *strategy;
	int threads;
	int group;    /* which kb_plan_add() call made it */
	size_t combo; /* index of the parameter combination in its sweep */
	struct kb_param_values pv;
	double duration_s;
	double warmup_s;
};

struct kb_plan {
	struct ks_topo *topo; /* owned */
	double duration_s;    /* defaults for the cells */
	double warmup_s;
	int repeat;
	struct kb_plan_cell *cells;
	size_t nr_cells, cap;
	int nr_groups;
};

/* What `run` and `suite` ask the planner for: one workload's part. */
struct kb_plan_req {
	const struct kb_workload *w;
	const char *strategies;	   /* "all", "a,b" or NULL (all) */
	const char *threads;	   /* list, or NULL for kb_threads_default() */
	const char *const *params; /* "k=v1,v2" arguments */
	int nr_params;
	const char *param_list; /* or "k=v;k2=v" (suite), NULL */
	double duration_s;	/* <= 0: the plan's */
	double warmup_s;	/* < 0: the plan's */
};

/* kb_plan_init() - empty plan on topology @spec ("real", "synthetic:..."). */
int kb_plan_init(struct kb_plan *p, const char *spec, struct kb_err *e);
/*
 * kb_plan_add() - append @r's cells: parameter combinations outermost, then
 * strategies, then thread counts. @sweep receives @r's parameters and must
 * outlive the plan: the cells point at its values (kb_sweep_fini() it after
 * kb_plan_fini()). Return: 0; -EINVAL (or another errno) with @e filled for
 * an unknown strategy, a bad thread list or parameter.
 */
int kb_plan_add(struct kb_plan *p, const struct kb_plan_req *r, struct kb_sweep *sweep,
		struct kb_err *e);
void kb_plan_fini(struct kb_plan *p);

/* kb_strategies_parse() - "all" / "a,b" into @out (max KB_MAX_STRATEGIES). */
int kb_strategies_parse(const struct kb_workload *w, const char *s, const char **out, int *n,
			struct kb_err *e);

/* ---- results (runner.c, stats.c) ----------------------------------------- */

#define KB_MAX_LOCK_CLASSES 64
#define KB_MAX_SERIES 16

/*
 * Lock counts (struct ks_lock_class_stats) in results are deltas over an
 * interval, except wait_max_ns and hold_max_ns: maxima since setup.
 */

/* One sample: one second of a loop cell, or one repeat of a one-shot cell. */
struct kb_sample {
	int repeat;
	double t_s;  /* end, seconds since the measurement of its repeat began */
	double dt_s; /* its length */
	uint64_t ops;
	double ops_per_sec;
	uint64_t *per_thread_ops;
	double cpu_ns; /* CPU time of all measuring threads in the sample */
	struct ks_lock_class_stats *locks;
	size_t nr_locks;
	uint64_t bytes_allocated; /* during the sample */
	int64_t live_bytes;	  /* at its end */
};

/* One repeat's totals (gbench's "iteration" entries). */
struct kb_rep {
	uint64_t ops;
	double elapsed_s;
	double thread_wall_ns; /* summed over threads */
	double cpu_ns;	       /* summed over threads */
	struct kb_metrics metrics;
};

struct kb_series_rec {
	int repeat;
	struct kb_series s;
};

struct kb_result {
	const struct kb_plan_cell *cell;
	int err;	  /* 0, or -errno when the cell failed */
	char errmsg[256]; /* what failed, with the errno's text */
	int nr_threads;

	struct kb_sample *samples;
	size_t nr_samples, cap_samples;
	struct kb_rep *reps;
	int nr_reps;
	struct kb_series_rec *series;
	size_t nr_series;

	/* totals over every sample of every repeat */
	uint64_t ops;
	double elapsed_s;
	uint64_t bytes_allocated;
	uint64_t *thread_ops;
	struct ks_lock_class_stats locks[KB_MAX_LOCK_CLASSES];
	size_t nr_locks;
	struct kb_metrics metrics; /* per metric, the median over repeats */

	/* figures (kb_result_derive, kb_results_relate) */
	double ops_per_sec; /* median over samples and repeats */
	double ops_per_sec_per_thread;
	double efficiency; /* NaN when no 1-thread cell */
	double linear;	   /* NaN when no 1-thread cell */
	double fairness_pct;
	uint64_t fairness_min, fairness_max;
	double cpu_ns_per_op;	/* CPU time of the measuring threads per op */
	double cpu_utilization; /* their CPU time / (threads x elapsed): < 1 on a busy machine */
	double lock_acq_per_op; /* locks of scope global, summed */
	double lock_contentions_per_op;
	double lock_bounces_per_op;
	double bytes_allocated_per_op;
};

/* ---- runner (runner.c) ----------------------------------------------------- */

/* Called before each measurement (step of steps) when progress is shown (isatty(2)). */
typedef void (*kb_progress_fn)(void *arg, size_t step, size_t steps, const struct kb_plan_cell *c,
			       int repeat, int nr_repeats);

/*
 * kb_run_plan() - measure every cell of @p `p->repeat` times into @out
 * (p->nr_cells results, zeroed by the caller, in plan order), then derive
 * the figures. Execution order: repeats outermost, then, within a plan_add
 * group and parameter combination, thread counts, then strategies. A failure
 * of a cell itself (setup, thread_init, op, report, leaked objects) is not an
 * error of this function: it sets that result's err and errmsg, and the
 * cell's later repeats are skipped.
 * Return: 0, or -ENOMEM when the runner itself could not allocate.
 */
int kb_run_plan(const struct kb_plan *p, struct kb_result *out, kb_progress_fn progress,
		void *parg);
void kb_result_fini(struct kb_result *r);

/* ---- statistics (stats.c) ------------------------------------------------- */

/* kb_median() - median of @n values (sorts @v in place); NaN for n == 0. */
double kb_median(double *v, size_t n);
/*
 * kb_fairness() - ck's deviation: population standard deviation of the
 * per-thread counts over their mean, in percent (0 for one thread); also
 * the smallest and largest count. NaN when the mean is 0.
 */
double kb_fairness(const uint64_t *per_thread, int n, uint64_t *min, uint64_t *max);
/* kb_efficiency() - per-thread rate over the 1-thread per-thread rate (NaN if unknown). */
double kb_efficiency(double ops_per_sec, int threads, double one_thread_ops_per_sec);
/* kb_result_derive() - the figures of one result from its samples and totals. */
void kb_result_derive(struct kb_result *r);
/*
 * kb_results_relate() - efficiency and linear: against the 1-thread result of
 * the same workload, strategy and parameters, where one succeeded.
 */
void kb_results_relate(struct kb_result *r, size_t n);

/* ---- context and outputs (context.c, output.c, report_*.c) --------------- */

/* What the reporters need besides the results. */
struct kb_report_ctx {
	const struct kb_plan *plan;
	int argc;
	char **argv;
	const struct kb_sweep *sweeps; /* the sweeps the plan came from */
	size_t nr_sweeps;
	json_t *suite; /* suite only: the headline comparisons, or NULL */
};

/* kb_context_json() - google/benchmark's context plus kscale's facts. */
json_t *kb_context_json(const struct kb_report_ctx *ctx);

/*
 * An output file written all at once: kb_out_open() creates a temporary
 * file beside @path (so a bad path is found before anything runs);
 * kb_out_commit() renames it over @path; kb_out_abort() removes it.
 */
struct kb_out {
	char *path;
	char *tmp;
	FILE *f;
};
int kb_out_open(struct kb_out *o, const char *path, struct kb_err *e);
int kb_out_commit(struct kb_out *o, struct kb_err *e);
void kb_out_abort(struct kb_out *o);

enum kb_format {
	KB_FORMAT_NATIVE = 0,
	KB_FORMAT_GBENCH = 1,
};

/* kb_table_print() - the human table (aligned columns). */
int kb_table_print(FILE *f, const struct kb_result *r, size_t n);
/* kb_csv_write() - long form, header of [a-z_,] only. */
int kb_csv_write(FILE *f, const struct kb_result *r, size_t n);
/* kb_json_write() - the native format (docs/bench.md). */
int kb_json_write(FILE *f, const struct kb_report_ctx *ctx, const struct kb_result *r, size_t n);
/* kb_gbench_write() - google/benchmark's JSON shape. */
int kb_gbench_write(FILE *f, const struct kb_report_ctx *ctx, const struct kb_result *r, size_t n);
/* kb_gbench_name() - "workload/strategy/threads:N[/k=v...]". */
int kb_gbench_name(const struct kb_result *r, char *buf, size_t len);

/* kb_gnuplot_find() - whether a gnuplot executable is on $PATH. */
bool kb_gnuplot_find(void);
/*
 * kb_plot_write() - ops/s against threads, one line per strategy (and swept
 * parameter values), with the linear lines dashed, into @o; and when the
 * results carry series, value against time into @series_o (may be NULL).
 * Return: 0; -EIO with @e filled when gnuplot failed.
 */
int kb_plot_write(struct kb_out *o, struct kb_out *series_o, const struct kb_result *r, size_t n,
		  struct kb_err *e);
/* kb_results_have_series() - whether any result carries a series. */
bool kb_results_have_series(const struct kb_result *r, size_t n);
/* kb_series_path() - "F-series.svg" for "F.svg" (malloc'ed). */
char *kb_series_path(const char *plot_path);

/*
 * A table for people: every column as wide as its widest cell, text columns
 * (bit i of @left) aligned left, numbers right.
 */
struct kb_grid {
	int nc;
	size_t nr, cap; /* rows, the header included */
	char **cells;	/* nr rows of nc strings */
	unsigned left;
};
int kb_grid_init(struct kb_grid *g, int nc, const char *const *hdr, unsigned left);
/* kb_grid_add() - append a row of nc strings (copied). Return 0 or -ENOMEM. */
int kb_grid_add(struct kb_grid *g, const char *const *row);
int kb_grid_print(const struct kb_grid *g, FILE *f);
void kb_grid_fini(struct kb_grid *g);

/* kb_fmt_num() - a value in a fixed width-free form for tables ("-" for NaN). */
const char *kb_fmt_num(char *buf, size_t len, double v, int decimals);
/* kb_fmt_si() - 1.23M style for the suite table. */
const char *kb_fmt_si(char *buf, size_t len, double v);

/* ---- commands (cli.c, cmd_*.c) -------------------------------------------- */

#define KB_MAX_PARAM_ARGS 64

struct kb_run_opts {
	const char *workload;
	const char *strategies; /* NULL: all */
	const char *threads;	/* NULL: kb_threads_default() */
	double duration_s;
	double warmup_s;
	int repeat;
	const char *topology;
	const char *params[KB_MAX_PARAM_ARGS];
	int nr_params;
	const char *json, *csv, *plot;
	enum kb_format format;
	double duration_scale; /* suite */
	enum ks_rcu_queues rcu_queues; /* ks_call_rcu()'s queues while measuring */
	/* run: the operand; suite: NULL for all, or --workload "a,b" */
	bool help;
};

/*
 * kb_cli_parse() - the options of `run` (@suite false: one WORKLOAD operand)
 * or `suite` (@suite true: no operand, --duration-scale). Defaults: duration
 * 5 s, warm-up 1 s, repeat 1, topology real, native format, per-CPU RCU
 * callback queues (as the kernel's).
 * Return: 0, or -EINVAL with @e filled.
 */
int kb_cli_parse(int argc, char **argv, bool suite, struct kb_run_opts *o, struct kb_err *e);

/*
 * kb_suite_workloads_check() - every name of the comma-separated @list is a
 * registered workload. Return: 0, or -EINVAL with @e filled.
 */
int kb_suite_workloads_check(const char *list, struct kb_err *e);

/*
 * The output files of one command, opened (as temporary files) before
 * anything runs and committed at the end.
 */
struct kb_outputs {
	struct kb_out json, csv, plot;
	enum kb_format format;
};
int kb_outputs_open(struct kb_outputs *o, const struct kb_run_opts *opts, struct kb_err *e);
/* kb_outputs_write() - write and commit every open output. 0 or -errno with @e. */
int kb_outputs_write(struct kb_outputs *o, const struct kb_report_ctx *ctx,
		     const struct kb_result *r, size_t n, struct kb_err *e);
void kb_outputs_abort(struct kb_outputs *o);

/*
 * kb_measure() - run every cell of @p (progress on stderr when it is a
 * terminal) into *@out, an array of p->nr_cells results.
 * Return: 0 or -ENOMEM.
 */
int kb_measure(const struct kb_plan *p, struct kb_result **out);
void kb_results_free(struct kb_result *r, size_t n);
/* kb_results_failed() - how many cells failed. */
size_t kb_results_failed(const struct kb_result *r, size_t n);

/*
 * kb_execute() - what run and suite share once the plan is made: open the
 * outputs (a bad path is bad input), measure, let @present print the results
 * (it may set ctx->suite, which kb_execute() frees), write the outputs.
 * Return: the exit status.
 */
typedef int (*kb_present_fn)(void *arg, const struct kb_result *r, size_t n,
			     struct kb_report_ctx *ctx);
int kb_execute(struct kb_plan *plan, const struct kb_run_opts *o, struct kb_report_ctx *ctx,
	       kb_present_fn present, void *arg);

/* kb_progress_stderr() - the progress line, for kb_run_plan() (isatty(2) only). */
void kb_progress_stderr(void *arg, size_t step, size_t steps, const struct kb_plan_cell *c,
			int repeat, int nr_repeats);
/* kb_progress_done() - erase the progress line. */
void kb_progress_done(void);

/* kb_usage_error() - print "kscale-bench: <msg>" and return KB_EXIT_USAGE. */
int kb_usage_error(const struct kb_err *e);

int kb_cmd_list(int argc, char **argv);
int kb_cmd_run(int argc, char **argv);
int kb_cmd_suite(int argc, char **argv);
int kb_cmd_help(int argc, char **argv);

#endif /* KSCALE_BENCH_KB_H */
