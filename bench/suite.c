// SPDX-License-Identifier: MIT
/*
 * `kscale-bench suite`: every registered workload's suite entries, one plan,
 * one summary table with the headline ratio of each comparison. A ratio from
 * one process run is the figure that means something on a noisy machine
 * (jemalloc's test/include/test/bench.h compare_funcs() does the same), so
 * both strategies of a comparison are measured in the same run, side by side.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kb.h"

#define KB_MAX_SUITE_ENTRIES 256

struct entry {
	const struct kb_workload *w;
	const struct kb_suite_entry *e;
	size_t first, end; /* its cells in the plan */
};

static const char suite_usage[] =
	"usage: kscale-bench suite [options]\n"
	"  --duration-scale X       scale every entry's duration (default 1)\n"
	"  --workload W[,W...]      only these workloads' entries (default all)\n"
	"  --topology T             real | synthetic:STR | xml:FILE (default real)\n"
	"  --json F                 every run and the summary as JSON\n"
	"  --format native|gbench   the JSON shape\n"
	"  --csv F                  one line per cell\n"
	"  --rcu-queues percpu|shared  call_rcu queues (default percpu, as the kernel's)\n";

/*
 * An entry's thread counts that this topology has: "1,2" on one CPU becomes
 * "1", so the suite runs anywhere. Return: 0; -ERANGE when no count is left;
 * -EINVAL with @e filled for a malformed list.
 */
static int fit_threads(const char *list, int nr_cpus, char *buf, size_t len, struct kb_err *e)
{
	int t[256], n = 0;
	size_t used = 0;
	int ret;

	ret = kb_threads_parse(list ? list : "1", KS_MAX_CPUS, t, KS_ARRAY_SIZE(t), &n, e);
	if (ret)
		return ret;
	buf[0] = '\0';
	for (int i = 0; i < n && t[i] <= nr_cpus; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%d", used ? "," : "", t[i]);
	return used ? 0 : -ERANGE;
}

/* Whether @name is one of the comma-separated @list (NULL: all). */
static bool in_list(const char *list, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = list; p && *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n == len && !strncmp(p, name, len))
			return true;
		p = end ? end + 1 : NULL;
	}
	return !list;
}

int kb_suite_workloads_check(const char *list, struct kb_err *e)
{
	char name[128];

	for (const char *p = list; p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n == 0 || n >= sizeof(name))
			return kb_errf(e, -EINVAL, "--workload '%s': expected names separated by commas",
				       list);
		memcpy(name, p, n);
		name[n] = '\0';
		if (!kb_workload_find(name))
			return kb_errf(e, -EINVAL, "--workload: unknown workload '%s' (see kscale-bench list)",
				       name);
		p = end ? end + 1 : NULL;
	}
	return 0;
}

static int plan_suite(struct kb_plan *plan, const struct kb_run_opts *o, struct entry *ent,
		      size_t *nr_ent, struct kb_sweep *sweeps, struct kb_err *e)
{
	const struct kb_workload *const *w;
	size_t nw, k = 0;
	int nr_cpus = ks_topo_nr_cpus(plan->topo);

	w = kb_workloads(&nw);
	for (size_t i = 0; i < nw; i++) {
		if (!in_list(o->workload, w[i]->name))
			continue;
		for (const struct kb_suite_entry *s = w[i]->suite; s && s->strategies; s++) {
			char threads[1024];
			double d = (s->duration_s > 0 ? s->duration_s : 5) * o->duration_scale;
			struct kb_plan_req req = {
				.w = w[i],
				.strategies = s->strategies,
				.threads = threads,
				.param_list = s->params,
				.duration_s = d,
				/* a fifth of the duration, at most the run default */
				.warmup_s = d / 5 < 1 ? d / 5 : 1,
			};
			int ret;

			if (k == KB_MAX_SUITE_ENTRIES)
				return kb_errf(e, -E2BIG, "more than %d suite entries",
					       KB_MAX_SUITE_ENTRIES);
			ret = fit_threads(s->threads, nr_cpus, threads, sizeof(threads), e);
			if (ret == -ERANGE)
				continue; /* needs more CPUs than there are */
			if (ret)
				return kb_errf(e, ret,
					       "suite entry of workload '%s': bad thread list",
					       w[i]->name);
			ent[k].w = w[i];
			ent[k].e = s;
			ent[k].first = plan->nr_cells;
			ret = kb_plan_add(plan, &req, &sweeps[k], e);
			ent[k].end = plan->nr_cells;
			k++;
			if (ret) {
				char why[sizeof(e->msg)];

				*nr_ent = k;
				memcpy(why, e->msg, sizeof(why));
				return kb_errf(e, ret, "suite entry of workload '%s': %s",
					       w[i]->name, why);
			}
		}
	}
	*nr_ent = k;
	return 0;
}

static const struct kb_result *find(const struct kb_result *r, const struct entry *en, size_t combo,
				    int threads, const char *strategy)
{
	for (size_t i = en->first; i < en->end; i++)
		if (r[i].cell->combo == combo && r[i].cell->threads == threads && strategy &&
		    !strcmp(r[i].cell->strategy, strategy))
			return &r[i];
	return NULL;
}

/*
 * The parameters of a cell that differ from its workload's defaults: what the
 * suite entry chose. The full set is in the JSON and CSV.
 */
static void params_chosen(const struct kb_workload *w, const struct kb_param_values *pv,
			  char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < pv->n; i++) {
		const char *def = NULL;
		int n;

		for (const struct kb_param_def *d = w->params; d && d->name; d++)
			if (!strcmp(d->name, pv->name[i]))
				def = d->def;
		if (def && !strcmp(def, pv->value[i]))
			continue;
		n = snprintf(buf + used, len - used, "%s%s=%s", used ? ";" : "", pv->name[i],
			     pv->value[i]);
		if (n < 0 || (size_t)n >= len - used)
			return;
		used += (size_t)n;
	}
}

/* One row per parameter combination and thread count of each entry. */
static int summarize(const struct kb_result *r, const struct entry *ent, size_t nr_ent,
		     struct kb_grid *g, json_t *js)
{
	static const char *const hdr[] = {"workload", "params", "threads", "ops/s", "headline"};
	int ret = kb_grid_init(g, 5, hdr, 1u << 0 | 1u << 1 | 1u << 3 | 1u << 4);

	for (size_t k = 0; !ret && k < nr_ent; k++) {
		const struct entry *en = &ent[k];

		for (size_t i = en->first; !ret && i < en->end; i++) {
			const struct kb_plan_cell *c = r[i].cell;
			const struct kb_result *base, *target;
			char params[512], chosen[512], threads[16], ops[1024] = "", head[256], num[32];
			const char *row[5];
			double ratio = NAN;
			bool first = true;

			/* the first strategy's cell of this (combo, threads) leads the row */
			for (size_t j = en->first; j < i && first; j++)
				first = !(r[j].cell->combo == c->combo &&
					  r[j].cell->threads == c->threads);
			if (!first)
				continue;
			for (size_t j = i; j < en->end; j++) {
				size_t used = strlen(ops);

				if (r[j].cell->combo != c->combo ||
				    r[j].cell->threads != c->threads)
					continue;
				snprintf(ops + used, sizeof(ops) - used, "%s%s %7s",
					 used ? "  " : "", r[j].cell->strategy,
					 r[j].err ? "FAILED"
						  : kb_fmt_si(num, sizeof(num), r[j].ops_per_sec));
			}
			base = find(r, en, c->combo, c->threads, en->e->base);
			target = find(r, en, c->combo, c->threads, en->e->target);
			if (base && target && !base->err && !target->err && base->ops_per_sec > 0)
				ratio = target->ops_per_sec / base->ops_per_sec;
			if (!isnan(ratio))
				snprintf(head, sizeof(head), "%s: %.*fx",
					 en->e->headline ? en->e->headline : "ratio",
					 ratio < 10 ? 2 : 1, ratio);
			else
				snprintf(head, sizeof(head), "%s: -",
					 en->e->headline ? en->e->headline : "ratio");
			params_chosen(en->w, &c->pv, chosen, sizeof(chosen));
			kb_params_format(&c->pv, params, sizeof(params));
			snprintf(threads, sizeof(threads), "%d", c->threads);
			row[0] = en->w->name;
			row[1] = *chosen ? chosen : "defaults";
			row[2] = threads;
			row[3] = ops;
			row[4] = head;
			ret = kb_grid_add(g, row);
			json_array_append_new(
				js,
				json_pack("{s:s, s:s, s:i, s:s?, s:s?, s:s?, s:o, s:o, s:o}",
					  "workload", en->w->name, "params", params, "threads",
					  c->threads, "headline", en->e->headline, "base",
					  en->e->base, "target", en->e->target, "base_ops_per_sec",
					  base && !base->err ? json_real(base->ops_per_sec)
							     : json_null(),
					  "target_ops_per_sec",
					  target && !target->err ? json_real(target->ops_per_sec)
								 : json_null(),
					  "ratio", isnan(ratio) ? json_null() : json_real(ratio)));
		}
	}
	return ret;
}

struct suite_view {
	const struct entry *ent;
	size_t nr_ent;
};

static int present_suite(void *arg, const struct kb_result *r, size_t n, struct kb_report_ctx *ctx)
{
	const struct suite_view *v = arg;
	struct kb_grid g = {0};
	int ret;

	ctx->suite = json_array();
	ret = summarize(r, v->ent, v->nr_ent, &g, ctx->suite);
	if (!ret)
		ret = kb_grid_print(&g, stdout);
	kb_grid_fini(&g);
	for (size_t i = 0; !ret && i < n; i++)
		if (r[i].err)
			printf("FAILED %s %s threads=%d: %s\n", r[i].cell->w->name,
			       r[i].cell->strategy, r[i].cell->threads, r[i].errmsg);
	return ret;
}

int kb_cmd_suite(int argc, char **argv)
{
	struct kb_run_opts o;
	struct kb_err e = {{0}};
	struct kb_plan plan = {0};
	struct kb_sweep *sweeps = NULL;
	struct entry *ent = NULL;
	size_t nr_ent = 0;
	int status;

	if (kb_registry_check(&e) || kb_cli_parse(argc, argv, true, &o, &e))
		return kb_usage_error(&e);
	if (o.help) {
		fputs(suite_usage, stdout);
		return KB_EXIT_OK;
	}
	if (kb_plan_init(&plan, o.topology, &e))
		return kb_usage_error(&e);
	sweeps = calloc(KB_MAX_SUITE_ENTRIES, sizeof(*sweeps));
	ent = calloc(KB_MAX_SUITE_ENTRIES, sizeof(*ent));
	if (!sweeps || !ent) {
		kb_errf(&e, -ENOMEM, "out of memory");
		status = kb_usage_error(&e);
	} else if (plan_suite(&plan, &o, ent, &nr_ent, sweeps, &e)) {
		status = kb_usage_error(&e);
	} else {
		struct suite_view v = {.ent = ent, .nr_ent = nr_ent};
		struct kb_report_ctx ctx = {
			.plan = &plan,
			.argc = argc,
			.argv = argv,
			.sweeps = sweeps,
			.nr_sweeps = nr_ent,
		};

		status = kb_execute(&plan, &o, &ctx, present_suite, &v);
	}
	kb_plan_fini(&plan);
	for (size_t i = 0; sweeps && i < KB_MAX_SUITE_ENTRIES; i++)
		kb_sweep_fini(&sweeps[i]);
	free(sweeps);
	free(ent);
	return status;
}
