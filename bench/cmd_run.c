// SPDX-License-Identifier: MIT
/*
 * `kscale-bench run WORKLOAD ...`: check everything, open the outputs, then
 * measure, print the table and write the files.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kb.h"

int kb_measure(const struct kb_plan *p, struct kb_result **out)
{
	bool tty = isatty(STDERR_FILENO);
	struct kb_result *r = calloc(p->nr_cells ? p->nr_cells : 1, sizeof(*r));
	int ret;

	*out = r;
	if (!r)
		return -ENOMEM;
	ret = kb_run_plan(p, r, tty ? kb_progress_stderr : NULL, NULL);
	if (tty)
		kb_progress_done();
	return ret;
}

void kb_results_free(struct kb_result *r, size_t n)
{
	for (size_t i = 0; r && i < n; i++)
		kb_result_fini(&r[i]);
	free(r);
}

size_t kb_results_failed(const struct kb_result *r, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += r[i].err != 0;
	return k;
}

static const char run_usage[] =
	"usage: kscale-bench run WORKLOAD [options]\n"
	"  --strategy a,b|all       strategies to compare (default all)\n"
	"  --threads 1,2,4|1-16|all thread counts (default 1,2,4,... up to the CPUs)\n"
	"  --duration S             seconds measured per cell (default 5)\n"
	"  --warmup S               seconds run and discarded first (default 1)\n"
	"  --repeat R               measure each cell R times (default 1)\n"
	"  --topology T             real | synthetic:STR | xml:FILE (default real)\n"
	"  --param k=v1,v2          a workload parameter; several values sweep it\n"
	"  --json F                 write every sample as JSON (docs/bench.md)\n"
	"  --format native|gbench   the JSON shape; gbench suits google/benchmark's compare.py\n"
	"  --csv F                  one line per cell, snake_case header\n"
	"  --plot F.svg             ops/s against threads (gnuplot)\n"
	"  --rcu-queues percpu|shared  call_rcu queues: one per CPU as the kernel's\n"
	"                           (default) or liburcu's single shared one\n";

int kb_execute(struct kb_plan *plan, const struct kb_run_opts *o, struct kb_report_ctx *ctx,
	       kb_present_fn present, void *arg)
{
	struct kb_outputs out;
	struct kb_result *res = NULL;
	struct kb_err e = {{0}};
	int ret, status = KB_EXIT_FAILED;

	if (kb_outputs_open(&out, o, &e))
		return kb_usage_error(&e);
	ret = ks_rcu_set_queues(o->rcu_queues);
	if (ret) {
		kb_errf(&e, ret, "--rcu-queues: %s", strerror(-ret));
		fprintf(stderr, "kscale-bench: %s\n", e.msg);
		kb_outputs_abort(&out);
		return KB_EXIT_FAILED;
	}
	ret = kb_measure(plan, &res);
	if (ret) {
		kb_errf(&e, ret, "measuring failed: %s", strerror(-ret));
	} else {
		ret = present(arg, res, plan->nr_cells, ctx);
		fflush(stdout);
		if (ret)
			kb_errf(&e, ret, "printing the results failed: %s", strerror(-ret));
		else
			ret = kb_outputs_write(&out, ctx, res, plan->nr_cells, &e);
	}
	if (ret)
		fprintf(stderr, "kscale-bench: %s\n", e.msg);
	else if (!kb_results_failed(res, plan->nr_cells))
		status = KB_EXIT_OK;
	kb_outputs_abort(&out);
	ks_rcu_set_queues(KS_RCU_QUEUES_SHARED);
	json_decref(ctx->suite);
	ctx->suite = NULL;
	kb_results_free(res, plan->nr_cells);
	return status;
}

static int present_table(void *arg, const struct kb_result *r, size_t n, struct kb_report_ctx *ctx)
{
	return kb_table_print(stdout, r, n);
}

int kb_cmd_run(int argc, char **argv)
{
	struct kb_run_opts o;
	struct kb_err e = {{0}};
	struct kb_plan plan = {0};
	struct kb_sweep sweep = {0};
	const struct kb_workload *w;
	int status;

	if (kb_registry_check(&e) || kb_cli_parse(argc, argv, false, &o, &e))
		return kb_usage_error(&e);
	if (o.help) {
		fputs(run_usage, stdout);
		return KB_EXIT_OK;
	}
	w = kb_workload_find(o.workload);
	if (!w) {
		kb_errf(&e, -ENOENT, "unknown workload '%s' (kscale-bench list shows them)",
			o.workload);
		return kb_usage_error(&e);
	}
	if (kb_plan_init(&plan, o.topology, &e))
		return kb_usage_error(&e);
	plan.duration_s = o.duration_s;
	plan.warmup_s = o.warmup_s;
	plan.repeat = o.repeat;
	{
		struct kb_plan_req req = {
			.w = w,
			.strategies = o.strategies,
			.threads = o.threads,
			.params = o.params,
			.nr_params = o.nr_params,
			.duration_s = o.duration_s,
			.warmup_s = o.warmup_s,
		};
		struct kb_report_ctx ctx = {
			.plan = &plan,
			.argc = argc,
			.argv = argv,
			.sweeps = &sweep,
			.nr_sweeps = 1,
		};

		if (kb_plan_add(&plan, &req, &sweep, &e))
			status = kb_usage_error(&e);
		else
			status = kb_execute(&plan, &o, &ctx, present_table, NULL);
	}
	kb_plan_fini(&plan);
	kb_sweep_fini(&sweep);
	return status;
}
