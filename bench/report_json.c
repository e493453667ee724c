// SPDX-License-Identifier: MIT
/*
 * JSON reporters (jansson): kscale's own format, documented in docs/bench.md,
 * and google/benchmark's shape (src/json_reporter.cc) so that its
 * tools/compare.py reads our results unchanged.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kb.h"

/* JSON has no NaN: a figure that does not exist is null. */
static json_t *num(double v)
{
	return isnan(v) || isinf(v) ? json_null() : json_real(v);
}

static json_t *u64(uint64_t v)
{
	return json_integer((json_int_t)v);
}

static double per_opd(double v, uint64_t ops)
{
	return ops ? v / (double)ops : NAN;
}

static double per_op(uint64_t count, uint64_t ops)
{
	return per_opd((double)count, ops);
}

static json_t *params_obj(const struct kb_param_values *pv)
{
	json_t *o = json_object();

	for (int i = 0; i < pv->n; i++)
		json_object_set_new(o, pv->name[i], json_string(pv->value[i]));
	return o;
}

/*
 * Lock classes: acquisitions, contentions and bounces per operation; wait
 * and hold times as totals over the interval (the maxima since setup).
 */
static json_t *locks_arr(const struct ks_lock_class_stats *l, size_t n, uint64_t ops, bool totals)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++) {
		const char *scope = ks_lock_scope_name(l[i].scope);
		json_t *o = json_object();

		json_object_set_new(o, "class", json_string(l[i].name));
		json_object_set_new(o, "scope", json_string(scope ? scope : "unknown"));
		json_object_set_new(o, "acquisitions", num(per_op(l[i].acquisitions, ops)));
		json_object_set_new(o, "contentions", num(per_op(l[i].contentions, ops)));
		json_object_set_new(o, "bounces", num(per_op(l[i].bounces, ops)));
		if (totals) {
			json_object_set_new(o, "acquisitions_total", u64(l[i].acquisitions));
			json_object_set_new(o, "contentions_total", u64(l[i].contentions));
			json_object_set_new(o, "bounces_total", u64(l[i].bounces));
		}
		json_object_set_new(o, "wait_ns", u64(l[i].wait_ns));
		json_object_set_new(o, "hold_ns", u64(l[i].hold_ns));
		json_object_set_new(o, "wait_max_ns", u64(l[i].wait_max_ns));
		json_object_set_new(o, "hold_max_ns", u64(l[i].hold_max_ns));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *sample_obj(const struct kb_sample *s, int nr_threads)
{
	json_t *o = json_object(), *pt = json_array();

	for (int i = 0; i < nr_threads; i++)
		json_array_append_new(pt, u64(s->per_thread_ops[i]));
	json_object_set_new(o, "repeat", json_integer(s->repeat));
	json_object_set_new(o, "t_s", num(s->t_s));
	json_object_set_new(o, "dt_s", num(s->dt_s));
	json_object_set_new(o, "ops", u64(s->ops));
	json_object_set_new(o, "ops_per_sec", num(s->ops_per_sec));
	json_object_set_new(o, "per_thread_ops", pt);
	json_object_set_new(o, "cpu_ns", num(s->cpu_ns));
	json_object_set_new(o, "locks", locks_arr(s->locks, s->nr_locks, s->ops, false));
	json_object_set_new(o, "bytes_allocated", u64(s->bytes_allocated));
	json_object_set_new(o, "live_bytes", json_integer(s->live_bytes));
	return o;
}

static json_t *run_obj(const struct kb_result *r)
{
	const struct kb_plan_cell *c = r->cell;
	json_t *o = json_object(), *m = json_object(), *ser = json_array(), *smp = json_array();

	json_object_set_new(o, "workload", json_string(c->w->name));
	json_object_set_new(o, "subsystem", json_string(c->w->subsystem ? c->w->subsystem : ""));
	json_object_set_new(o, "strategy", json_string(c->strategy));
	json_object_set_new(o, "threads", json_integer(c->threads));
	json_object_set_new(o, "params", params_obj(&c->pv));
	json_object_set_new(o, "one_shot", json_boolean(c->w->one_shot));
	json_object_set_new(o, "duration_s", num(c->duration_s));
	json_object_set_new(o, "warmup_s", num(c->warmup_s));
	json_object_set_new(o, "repeat", json_integer(r->nr_reps));
	json_object_set_new(o, "status", json_string(r->err ? "failed" : "ok"));
	json_object_set_new(o, "error", r->err ? json_string(r->errmsg) : json_null());
	json_object_set_new(o, "ops", u64(r->ops));
	json_object_set_new(o, "elapsed_s", num(r->elapsed_s));
	json_object_set_new(o, "ops_per_sec", num(r->ops_per_sec));
	json_object_set_new(o, "ops_per_sec_per_thread", num(r->ops_per_sec_per_thread));
	json_object_set_new(o, "efficiency", num(r->efficiency));
	json_object_set_new(o, "linear", num(r->linear));
	json_object_set_new(o, "fairness_pct", num(r->fairness_pct));
	json_object_set_new(o, "fairness_min_ops", u64(r->fairness_min));
	json_object_set_new(o, "fairness_max_ops", u64(r->fairness_max));
	json_object_set_new(o, "cpu_ns_per_op", num(r->cpu_ns_per_op));
	json_object_set_new(o, "cpu_utilization", num(r->cpu_utilization));
	json_object_set_new(o, "lock_acq_per_op", num(r->lock_acq_per_op));
	json_object_set_new(o, "lock_contentions_per_op", num(r->lock_contentions_per_op));
	json_object_set_new(o, "lock_bounces_per_op", num(r->lock_bounces_per_op));
	json_object_set_new(o, "bytes_allocated_per_op", num(r->bytes_allocated_per_op));
	json_object_set_new(o, "locks", locks_arr(r->locks, r->nr_locks, r->ops, true));
	for (int i = 0; i < r->metrics.n; i++)
		json_object_set_new(m, r->metrics.m[i].name, num(r->metrics.m[i].value));
	json_object_set_new(o, "metrics", m);
	for (size_t i = 0; i < r->nr_series; i++) {
		const struct kb_series *s = &r->series[i].s;
		json_t *t = json_array(), *v = json_array();

		for (size_t k = 0; k < s->n; k++) {
			json_array_append_new(t, num(s->t_s[k]));
			json_array_append_new(v, num(s->value[k]));
		}
		json_array_append_new(ser, json_pack("{s:s, s:s, s:i, s:o, s:o}", "name",
						     s->name ? s->name : "", "unit",
						     s->unit ? s->unit : "", "repeat",
						     r->series[i].repeat, "t_s", t, "value", v));
	}
	json_object_set_new(o, "series", ser);
	for (size_t i = 0; i < r->nr_samples; i++)
		json_array_append_new(smp, sample_obj(&r->samples[i], r->nr_threads));
	json_object_set_new(o, "samples", smp);
	return o;
}

static int dump(json_t *root, FILE *f)
{
	int ret;

	if (!root)
		return -ENOMEM;
	ret = json_dumpf(root, f, JSON_INDENT(1) | JSON_REAL_PRECISION(10));
	json_decref(root);
	if (!ret)
		fputc('\n', f);
	return ret || ferror(f) ? -EIO : 0;
}

int kb_json_write(FILE *f, const struct kb_report_ctx *ctx, const struct kb_result *r, size_t n)
{
	json_t *root = json_object(), *runs = json_array();

	json_object_set_new(root, "context", kb_context_json(ctx));
	for (size_t i = 0; i < n; i++)
		json_array_append_new(runs, run_obj(&r[i]));
	json_object_set_new(root, "runs", runs);
	if (ctx->suite)
		json_object_set(root, "suite", ctx->suite);
	return dump(root, f);
}

/* ---- google/benchmark ------------------------------------------------------------ */

int kb_gbench_name(const struct kb_result *r, char *buf, size_t len)
{
	const struct kb_plan_cell *c = r->cell;
	int n = snprintf(buf, len, "%s/%s/threads:%d", c->w->name, c->strategy, c->threads);

	for (int i = 0; i < c->pv.n && n >= 0 && (size_t)n < len; i++)
		n += snprintf(buf + n, len - n, "/%s=%s", c->pv.name[i], c->pv.value[i]);
	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

/* Sum of the shared (global) lock counts and bytes over one repeat's samples. */
struct rep_counts {
	uint64_t ops, acq, cont, bounces, bytes;
};

static struct rep_counts rep_counts(const struct kb_result *r, int rep)
{
	struct rep_counts c = {0};

	for (size_t i = 0; i < r->nr_samples; i++) {
		const struct kb_sample *s = &r->samples[i];

		if (s->repeat != rep)
			continue;
		c.ops += s->ops;
		c.bytes += s->bytes_allocated;
		for (size_t k = 0; k < s->nr_locks; k++) {
			if (s->locks[k].scope != KS_LOCK_GLOBAL)
				continue;
			c.acq += s->locks[k].acquisitions;
			c.cont += s->locks[k].contentions;
			c.bounces += s->locks[k].bounces;
		}
	}
	return c;
}

static json_t *gbench_entry(const char *name, const char *run_name, int family, int instance,
			    const struct kb_result *r)
{
	json_t *o = json_object();

	json_object_set_new(o, "name", json_string(name));
	json_object_set_new(o, "family_index", json_integer(family));
	json_object_set_new(o, "per_family_instance_index", json_integer(instance));
	json_object_set_new(o, "run_name", json_string(run_name));
	json_object_set_new(o, "repetitions", json_integer(r->nr_reps));
	json_object_set_new(o, "threads", json_integer(r->cell->threads));
	return o;
}

/* The time fields in gbench's order, then the counters (extra keys are allowed). */
static void gbench_times(json_t *o, uint64_t iterations, double real_ns, double cpu_ns,
			 double items_per_second, double acq, double cont, double bounces,
			 double bytes)
{
	json_object_set_new(o, "iterations", u64(iterations));
	json_object_set_new(o, "real_time", num(real_ns));
	json_object_set_new(o, "cpu_time", num(cpu_ns));
	json_object_set_new(o, "time_unit", json_string("ns"));
	json_object_set_new(o, "items_per_second", num(items_per_second));
	json_object_set_new(o, "lock_acq_per_op", num(acq));
	json_object_set_new(o, "lock_contentions_per_op", num(cont));
	json_object_set_new(o, "lock_bounces_per_op", num(bounces));
	json_object_set_new(o, "bytes_allocated_per_op", num(bytes));
}

/*
 * One "iteration" entry per repeat and a "median" aggregate. gbench's
 * semantics: iterations is the total over threads, real_time the summed
 * per-thread wall time over iterations (the time one operation takes as seen
 * by one thread), cpu_time likewise with CPU time. Our aggregate is our
 * figure, the median over every per-second sample of every repeat, so it
 * exists for a single repeat too.
 */
static void gbench_result(json_t *arr, const struct kb_result *r, int family, int instance)
{
	char name[1024], agg[1100];
	double *cpu;
	size_t nc = 0;

	kb_gbench_name(r, name, sizeof(name));
	if (r->err) {
		json_t *o = gbench_entry(name, name, family, instance, r);

		json_object_set_new(o, "run_type", json_string("iteration"));
		json_object_set_new(o, "repetition_index", json_integer(0));
		json_object_set_new(o, "error_occurred", json_true());
		json_object_set_new(o, "error_message", json_string(r->errmsg));
		json_object_set_new(o, "iterations", json_integer(0));
		json_object_set_new(o, "real_time", json_real(0));
		json_object_set_new(o, "cpu_time", json_real(0));
		json_object_set_new(o, "time_unit", json_string("ns"));
		json_array_append_new(arr, o);
		return;
	}
	for (int k = 0; k < r->nr_reps; k++) {
		const struct kb_rep *rep = &r->reps[k];
		struct rep_counts c = rep_counts(r, k);
		json_t *o = gbench_entry(name, name, family, instance, r);

		json_object_set_new(o, "run_type", json_string("iteration"));
		json_object_set_new(o, "repetition_index", json_integer(k));
		gbench_times(o, rep->ops, per_opd(rep->thread_wall_ns, rep->ops),
			     per_opd(rep->cpu_ns, rep->ops),
			     rep->elapsed_s > 0 ? rep->ops / rep->elapsed_s : NAN,
			     per_op(c.acq, c.ops), per_op(c.cont, c.ops), per_op(c.bounces, c.ops),
			     per_op(c.bytes, c.ops));
		json_array_append_new(arr, o);
	}
	cpu = calloc(r->nr_samples ? r->nr_samples : 1, sizeof(*cpu));
	for (size_t i = 0; cpu && i < r->nr_samples; i++)
		if (r->samples[i].ops)
			cpu[nc++] = r->samples[i].cpu_ns / r->samples[i].ops;
	snprintf(agg, sizeof(agg), "%s_median", name);
	{
		json_t *o = gbench_entry(agg, name, family, instance, r);

		json_object_set_new(o, "run_type", json_string("aggregate"));
		json_object_set_new(o, "aggregate_name", json_string("median"));
		json_object_set_new(o, "aggregate_unit", json_string("time"));
		gbench_times(o, r->nr_samples,
			     r->ops_per_sec > 0 ? r->cell->threads * 1e9 / r->ops_per_sec : NAN,
			     cpu ? kb_median(cpu, nc) : NAN, r->ops_per_sec, r->lock_acq_per_op,
			     r->lock_contentions_per_op, r->lock_bounces_per_op,
			     r->bytes_allocated_per_op);
		json_array_append_new(arr, o);
	}
	free(cpu);
}

int kb_gbench_write(FILE *f, const struct kb_report_ctx *ctx, const struct kb_result *r, size_t n)
{
	json_t *root = json_object(), *arr = json_array();
	int family = -1, instance = 0;

	json_object_set_new(root, "context", kb_context_json(ctx));
	for (size_t i = 0; i < n; i++) {
		const struct kb_plan_cell *c = r[i].cell, *p = i ? r[i - 1].cell : NULL;

		/* A family is a workload, strategy and parameter set; threads vary within. */
		if (!p || p->w != c->w || strcmp(p->strategy, c->strategy) ||
		    p->combo != c->combo) {
			family++;
			instance = 0;
		}
		gbench_result(arr, &r[i], family, instance++);
	}
	json_object_set_new(root, "benchmarks", arr);
	return dump(root, f);
}
