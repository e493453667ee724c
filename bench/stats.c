// SPDX-License-Identifier: MIT
/*
 * The figures derived from samples: the median (will-it-scale averages, but
 * one slow second on a shared machine moves an average and not a median),
 * ck's fairness, scaling efficiency and will-it-scale's linear column.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kb.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double kb_median(double *v, size_t n)
{
	if (!v || !n)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Models ck's regressions/ck_spinlock/benchmark/throughput.h "deviation". */
double kb_fairness(const uint64_t *per_thread, int n, uint64_t *min, uint64_t *max)
{
	double mean = 0, var = 0;
	uint64_t lo = UINT64_MAX, hi = 0;

	if (!per_thread || n <= 0) {
		if (min)
			*min = 0;
		if (max)
			*max = 0;
		return NAN;
	}
	for (int i = 0; i < n; i++) {
		mean += (double)per_thread[i];
		lo = per_thread[i] < lo ? per_thread[i] : lo;
		hi = per_thread[i] > hi ? per_thread[i] : hi;
	}
	mean /= n;
	for (int i = 0; i < n; i++)
		var += ((double)per_thread[i] - mean) * ((double)per_thread[i] - mean);
	var /= n;
	if (min)
		*min = lo;
	if (max)
		*max = hi;
	return mean > 0 ? sqrt(var) / mean * 100.0 : NAN;
}

double kb_efficiency(double ops_per_sec, int threads, double one_thread_ops_per_sec)
{
	if (threads <= 0 || !(one_thread_ops_per_sec > 0) || isnan(ops_per_sec))
		return NAN;
	return ops_per_sec / threads / one_thread_ops_per_sec;
}

static double per_op(uint64_t count, uint64_t ops)
{
	return ops ? (double)count / (double)ops : NAN;
}

void kb_result_derive(struct kb_result *r)
{
	double *v;
	uint64_t acq = 0, cont = 0, bounces = 0;

	r->ops_per_sec = r->ops_per_sec_per_thread = NAN;
	r->efficiency = r->linear = r->fairness_pct = NAN;
	r->lock_acq_per_op = r->lock_contentions_per_op = r->lock_bounces_per_op = NAN;
	r->bytes_allocated_per_op = r->cpu_ns_per_op = r->cpu_utilization = NAN;
	if (r->err || !r->nr_samples)
		return;
	v = malloc(r->nr_samples * sizeof(*v));
	if (v) {
		for (size_t i = 0; i < r->nr_samples; i++)
			v[i] = r->samples[i].ops_per_sec;
		r->ops_per_sec = kb_median(v, r->nr_samples);
		free(v);
	}
	r->ops_per_sec_per_thread = r->ops_per_sec / r->nr_threads;
	r->fairness_pct =
		kb_fairness(r->thread_ops, r->nr_threads, &r->fairness_min, &r->fairness_max);
	/* The table's lock columns: the shared locks, the ones that do not scale. */
	for (size_t i = 0; i < r->nr_locks; i++) {
		if (r->locks[i].scope != KS_LOCK_GLOBAL)
			continue;
		acq += r->locks[i].acquisitions;
		cont += r->locks[i].contentions;
		bounces += r->locks[i].bounces;
	}
	r->lock_acq_per_op = per_op(acq, r->ops);
	r->lock_contentions_per_op = per_op(cont, r->ops);
	r->lock_bounces_per_op = per_op(bounces, r->ops);
	r->bytes_allocated_per_op = per_op(r->bytes_allocated, r->ops);
	/*
	 * On a shared machine ops/s depends on how much CPU the threads got;
	 * CPU time per operation does not, and still shows what contention
	 * costs. It is gbench's cpu_time.
	 */
	{
		double cpu = 0;

		for (size_t i = 0; i < r->nr_samples; i++)
			cpu += r->samples[i].cpu_ns;
		r->cpu_ns_per_op = r->ops ? cpu / (double)r->ops : NAN;
		r->cpu_utilization =
			r->elapsed_s > 0 ? cpu / (r->elapsed_s * 1e9 * r->nr_threads) : NAN;
	}
}

static bool same_params(const struct kb_param_values *a, const struct kb_param_values *b)
{
	if (a->n != b->n)
		return false;
	for (int i = 0; i < a->n; i++)
		if (strcmp(a->name[i], b->name[i]) || strcmp(a->value[i], b->value[i]))
			return false;
	return true;
}

void kb_results_relate(struct kb_result *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct kb_plan_cell *c = r[i].cell;
		const struct kb_result *one = NULL;

		r[i].efficiency = r[i].linear = NAN;
		if (r[i].err)
			continue;
		for (size_t j = 0; j < n && !one; j++) {
			const struct kb_plan_cell *d = r[j].cell;

			if (!r[j].err && d->threads == 1 && d->w == c->w &&
			    !strcmp(d->strategy, c->strategy) && same_params(&d->pv, &c->pv))
				one = &r[j];
		}
		if (!one)
			continue;
		r[i].efficiency = kb_efficiency(r[i].ops_per_sec, c->threads, one->ops_per_sec);
		r[i].linear = one->ops_per_sec * c->threads;
	}
}
