// SPDX-License-Identifier: MIT
/*
 * inode-churn through the runner: every cell of both strategies succeeds
 * (report() fails a cell unless every counted operation evicted one inode,
 * and the runner fails it if any ks_mem object is left), two inode list
 * acquisitions per eviction, no dlock bounce while inodes die where they
 * were born, and bad parameters fail setup.
 */
#include "ks_test.h"

#include "kb.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static double metric(const struct kb_result *r, const char *name)
{
	for (int i = 0; i < r->metrics.n; i++)
		if (!strcmp(r->metrics.m[i].name, name))
			return r->metrics.m[i].value;
	fail_msg("metric %s missing", name);
	return 0;
}

static struct kb_result *run(const char *params, struct kb_plan *p, struct kb_sweep *s)
{
	struct kb_err e = {{0}};
	struct kb_plan_req req = {
		.w = kb_workload_find("inode-churn"),
		.strategies = "all",
		.threads = "2",
		.param_list = params,
		.duration_s = 0.3,
		.warmup_s = 0.05,
	};
	struct kb_result *r;

	assert_non_null(req.w);
	assert_int_equal(kb_plan_init(p, ks_test_topologies[2], &e), 0);
	p->repeat = 1;
	assert_int_equal(kb_plan_add(p, &req, s, &e), 0);
	r = calloc(p->nr_cells, sizeof(*r));
	assert_non_null(r);
	assert_int_equal(kb_run_plan(p, r, NULL, NULL), 0);
	return r;
}

static void done(struct kb_plan *p, struct kb_sweep *s, struct kb_result *r)
{
	for (size_t i = 0; i < p->nr_cells; i++)
		kb_result_fini(&r[i]);
	free(r);
	kb_plan_fini(p);
	kb_sweep_fini(s);
}

static void test_cells(void **state)
{
	struct kb_plan p;
	struct kb_sweep s = {0};
	struct kb_result *r = run("batch=16;dentries=0,1;remote=0,50", &p, &s);

	assert_int_equal(p.nr_cells, 8);
	for (size_t i = 0; i < p.nr_cells; i++) {
		const char *strategy = p.cells[i].strategy;
		char params[128];
		double acq;

		assert_true(kb_params_format(&p.cells[i].pv, params, sizeof(params)) > 0);
		if (r[i].err)
			fail_msg("%s %s: %s", strategy, params, r[i].errmsg);
		assert_true(r[i].ops > 0);
		assert_true(r[i].ops % 16 == 0); /* whole batches */
		acq = metric(&r[i], "inode_list_acquisitions_per_eviction");
		/* add + del; the threads' own directories add a few */
		assert_true(acq >= 2.0 && acq < 2.01);
		if (!strcmp(strategy, "dlock") && metric(&r[i], "evictions") > 0 &&
		    strstr(params, "remote=0"))
			assert_true(metric(&r[i], "inode_list_bounces_per_eviction") == 0);
	}
	done(&p, &s, r);
}

static void test_bad_params(void **state)
{
	static const char *const bad[] = {"batch=0", "batch=65537", "dentries=2", "remote=101"};

	for (size_t b = 0; b < KS_ARRAY_SIZE(bad); b++) {
		struct kb_plan p;
		struct kb_sweep s = {0};
		struct kb_result *r = run(bad[b], &p, &s);

		for (size_t i = 0; i < p.nr_cells; i++)
			assert_int_equal(r[i].err, -EINVAL);
		done(&p, &s, r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cells),
		cmocka_unit_test(test_bad_params),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
