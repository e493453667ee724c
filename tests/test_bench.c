// SPDX-License-Identifier: MIT
/*
 * kscale-bench's pieces without the binary: the parsers (thread lists, u64
 * suffixes, parameters and sweeps), the statistics (median, ck's fairness,
 * efficiency, linear), the registry's order, the reporters' shapes, and the
 * runner on workloads made to succeed, fail, leak and run once.
 */
#include "ks_test.h"

#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "command.h"
#include "kb.h"

/* ---- workloads only this test registers ------------------------------------ */

static const char *const two_strategies[] = {"good", "bad", NULL};

static const struct kb_param_def test_params[] = {
	{"batch", "1", "a count"},
	{"mode", "fast", "a word"},
	{"ratio", "0.5", "a decimal"},
	{NULL, NULL, NULL},
};

/*
 * "good" counts every op in a shared counter under a global spinlock, and
 * allocates and frees 64 bytes per op, so lock and memory figures have
 * something to count; it reports the counter matches the runner's count; "bad" fails the way the
 * parameter `mode` says: op (after a few operations), setup, report, or leak (an object left in
 * ks_mem).
 */
struct tw_state {
	const struct kb_cell *cell;
	bool bad;
	char mode[16];
	uint64_t ops;
	struct ks_mem_type *type;
	void *leak;
	struct ks_spinlock lock;
};

static int tw_setup(const struct kb_cell *c, void **state)
{
	struct ks_lock_class *cls;
	struct tw_state *s;
	const char *mode;

	if (kb_param_str(c, "mode", &mode))
		return -EINVAL;
	if (!strcmp(c->strategy, "bad") && !strcmp(mode, "setup"))
		return -ENOSPC;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cell = c;
	s->bad = !strcmp(c->strategy, "bad");
	snprintf(s->mode, sizeof(s->mode), "%s", mode);
	if (ks_mem_type_get(c->mem, "tw_object", 64, &s->type) ||
	    ks_lock_class_get(c->locks, "tw_lock", KS_LOCK_GLOBAL, &cls) ||
	    ks_spin_init(&s->lock, cls)) {
		free(s);
		return -ENOMEM;
	}
	if (s->bad && !strcmp(mode, "leak"))
		s->leak = ks_mem_alloc(s->type, 64);
	*state = s;
	return 0;
}

static int tw_thread_init(void *state, int thread, void **tstate)
{
	*tstate = state;
	return 0;
}

static long tw_op(void *tstate)
{
	struct tw_state *s = tstate;
	uint64_t n;
	void *p;

	if (s->bad) {
		n = __atomic_add_fetch(&s->ops, 1, __ATOMIC_RELAXED);
		return !strcmp(s->mode, "op") && n > 1000 ? -ENOMEM : 1;
	}
	ks_spin_lock(&s->lock);
	__atomic_store_n(&s->ops, s->ops + 1, __ATOMIC_RELAXED); /* report() reads it */
	ks_spin_unlock(&s->lock);
	p = ks_mem_alloc(s->type, 64);
	if (!p)
		return -ENOMEM;
	ks_mem_free(s->type, p, 64);
	return 1;
}

static int tw_report(void *state, struct kb_metrics *m, struct kb_series *series, size_t max_series,
		     size_t *nr_series)
{
	struct tw_state *s = state;

	kb_metric_set(m, "ops_seen", (double)s->ops);
	series[0].name = "ops_seen";
	series[0].unit = "ops";
	kb_series_add(&series[0], 0, 0);
	kb_series_add(&series[0], 1, (double)s->ops);
	*nr_series = 1;
	if (s->bad && !strcmp(s->mode, "report"))
		return -EUCLEAN;
	return s->ops == s->cell->ops_done ? 0 : -EUCLEAN;
}

/*
 * The objects "leak" mode leaves in ks_mem on purpose: the runner must notice
 * them; the test frees them afterwards so LeakSanitizer does not.
 */
static void *leaked[64];
static int nr_leaked;

static void tw_teardown(void *state)
{
	struct tw_state *s = state;

	if (s->leak && nr_leaked < (int)KS_ARRAY_SIZE(leaked))
		leaked[nr_leaked++] = s->leak;
	ks_spin_destroy(&s->lock);
	free(s);
}

/* The same workload as a loop and as a one-shot. */
#define TEST_WORKLOAD(var, wname, once)                                                            \
	static const struct kb_workload var = {                                                    \
		.name = wname,                                                                     \
		.summary = "test only",                                                            \
		.subsystem = "zzz",                                                                \
		.strategies = two_strategies,                                                      \
		.params = test_params,                                                             \
		.setup = tw_setup,                                                                 \
		.thread_init = tw_thread_init,                                                     \
		.op = tw_op,                                                                       \
		.report = tw_report,                                                               \
		.teardown = tw_teardown,                                                           \
		.one_shot = once,                                                                  \
	};                                                                                         \
	KB_WORKLOAD_REGISTER(var)

TEST_WORKLOAD(test_loop_workload, "zz-test-loop", false)
TEST_WORKLOAD(test_once_workload, "aa-test-once", true)

static const struct kb_workload test_first_workload = {
	.name = "zz-first",
	.summary = "test only: sorts first by subsystem",
	.subsystem = "aaa",
	.strategies = two_strategies,
	.op = tw_op,
};
KB_WORKLOAD_REGISTER(test_first_workload)

static int test_cmd_main(int argc, char **argv)
{
	return argc == 2 && !strcmp(argv[1], "ok") ? 0 : 2;
}

static const struct kb_command test_cmd_b = {
	.name = "zz-test-b",
	.usage = "zz-test-b ok",
	.summary = "test only",
	.main = test_cmd_main,
};
KB_COMMAND_REGISTER(test_cmd_b)

static const struct kb_command test_cmd_a = {
	.name = "zz-test-a",
	.usage = "zz-test-a ok",
	.summary = "test only",
	.main = test_cmd_main,
};
KB_COMMAND_REGISTER(test_cmd_a)

/* ---- thread lists ------------------------------------------------------------ */

static void assert_threads(const char *s, int nr_cpus, const int *want, int nwant)
{
	int out[KB_MAX_THREAD_COUNTS], n = -1;
	struct kb_err e = {{0}};

	assert_int_equal(kb_threads_parse(s, nr_cpus, out, KB_MAX_THREAD_COUNTS, &n, &e), 0);
	assert_int_equal(n, nwant);
	for (int i = 0; i < n; i++)
		assert_int_equal(out[i], want[i]);
}

static void test_threads_good(void **st)
{
	static const int a[] = {1, 2, 4}, b[] = {1, 2, 4, 8}, d[] = {1, 4, 5, 6, 16};
	int range[16];

	for (int i = 0; i < 16; i++)
		range[i] = i + 1;
	assert_threads("1,2,4", 4, a, 3);
	assert_threads("1-16", 16, range, 16);
	assert_threads("all", 16, range, 16);
	assert_threads("all", 1, range, 1);
	assert_threads("4,1,2,2,8,4", 8, b, 4); /* sorted, without repeats */
	assert_threads("16,4-6,1", 16, d, 5);
	assert_threads("3-3", 3, (const int[]){3}, 1);
}

static void test_threads_bad(void **st)
{
	static const char *const bad[] = {
		"",	"0",  "-1",  "abc", "1,", ",1",	 "1,,2", "2-1",	  "17",
		"1-17", "1-", "1-x", "1 2", " 1", "1.5", "0-4",	 "all,1", "99999999999999999999",
		"1;2",
	};
	int out[KB_MAX_THREAD_COUNTS], n;

	for (size_t i = 0; i < KS_ARRAY_SIZE(bad); i++) {
		struct kb_err e = {{0}};

		n = -1;
		assert_int_equal(kb_threads_parse(bad[i], 16, out, KB_MAX_THREAD_COUNTS, &n, &e),
				 -EINVAL);
		assert_int_equal(n, -1);
		assert_true(strlen(e.msg) > 0);
	}
	/* more counts than room */
	{
		struct kb_err e = {{0}};

		assert_int_equal(kb_threads_parse("1-16", 16, out, 8, &n, &e), -E2BIG);
		assert_int_equal(kb_threads_parse(NULL, 16, out, 8, &n, &e), -EINVAL);
	}
}

static void test_threads_default(void **st)
{
	int out[64];
	int n;

	n = kb_threads_default(64, out, 64);
	assert_int_equal(n, 7);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[6], 64);
	n = kb_threads_default(6, out, 64);
	assert_int_equal(n, 4);
	assert_int_equal(out[2], 4);
	assert_int_equal(out[3], 6);
	n = kb_threads_default(1, out, 64);
	assert_int_equal(n, 1);
	assert_int_equal(out[0], 1);
	assert_int_equal(kb_threads_default(0, out, 64), -EINVAL);
}

/* ---- numbers ----------------------------------------------------------------- */

static void test_u64_suffixes(void **st)
{
	static const struct {
		const char *s;
		uint64_t v;
	} good[] = {
		{"0", 0},
		{"64k", 64000},
		{"64K", 64000},
		{"2m", 2000000},
		{"3G", 3000000000ull},
		{"18446744073709551615", UINT64_MAX},
		{"18446744073709551k", 18446744073709551000ull},
	};
	static const char *const bad[] = {
		"",
		"k",
		"-1",
		"+1",
		"1kb",
		"1.5k",
		" 1",
		"1 ",
		"0x10",
		"18446744073709551616",
		"18446744073709552k",
		"20000000000g",
		"1t",
	};
	uint64_t v;

	for (size_t i = 0; i < KS_ARRAY_SIZE(good); i++) {
		v = 42;
		assert_int_equal(kb_parse_u64(good[i].s, &v), 0);
		assert_true(v == good[i].v);
	}
	for (size_t i = 0; i < KS_ARRAY_SIZE(bad); i++)
		assert_int_equal(kb_parse_u64(bad[i], &v), -EINVAL);
	assert_int_equal(kb_parse_u64(NULL, &v), -EINVAL);
	assert_int_equal(kb_parse_u64("1", NULL), -EINVAL);
}

static void test_double_parse(void **st)
{
	double d;

	assert_int_equal(kb_parse_double("0.25", &d), 0);
	assert_true(d == 0.25);
	assert_int_equal(kb_parse_double("1e3", &d), 0);
	assert_true(d == 1000);
	assert_int_equal(kb_parse_double("nan", &d), -EINVAL);
	assert_int_equal(kb_parse_double("inf", &d), -EINVAL);
	assert_int_equal(kb_parse_double("1s", &d), -EINVAL);
	assert_int_equal(kb_parse_double("", &d), -EINVAL);
	assert_int_equal(kb_parse_double(" 1", &d), -EINVAL);
	assert_true(kb_is_number("64k"));
	assert_true(kb_is_number("-0.5"));
	assert_false(kb_is_number("fast"));
}

/* ---- parameters and sweeps ---------------------------------------------------- */

static void test_params_sweep(void **st)
{
	const struct kb_workload *w = kb_workload_find("zz-test-loop");
	struct kb_sweep s;
	struct kb_err e = {{0}};
	struct kb_param_values pv;
	char buf[256];

	assert_non_null(w);
	assert_int_equal(kb_sweep_init(&s, w, &e), 0);
	assert_int_equal(kb_sweep_count(&s), 1);
	assert_int_equal(kb_sweep_get(&s, 0, &pv), 0);
	assert_int_equal(pv.n, 3);
	assert_string_equal(pv.value[0], "1");
	assert_string_equal(pv.value[1], "fast");

	assert_int_equal(kb_sweep_add(&s, "batch=1,2,64k", &e), 0);
	assert_int_equal(kb_sweep_count(&s), 3);
	assert_int_equal(kb_sweep_add_list(&s, "mode=a,b;ratio=0.25", &e), 0);
	assert_int_equal(kb_sweep_count(&s), 6);
	/* the last parameter varies fastest: (1,a) (1,b) (2,a) ... */
	assert_int_equal(kb_sweep_get(&s, 3, &pv), 0);
	assert_string_equal(pv.value[0], "2");
	assert_string_equal(pv.value[1], "b");
	assert_string_equal(pv.value[2], "0.25");
	assert_int_equal(kb_sweep_get(&s, 5, &pv), 0);
	assert_string_equal(pv.value[0], "64k");
	assert_int_equal(kb_sweep_get(&s, 6, &pv), -EINVAL);
	assert_int_equal(kb_params_format(&pv, buf, sizeof(buf)), 27);
	assert_string_equal(buf, "batch=64k;mode=b;ratio=0.25");
	assert_int_equal(kb_params_format(&pv, buf, 8), -ENOSPC);
	kb_sweep_fini(&s);
}

static void test_params_bad(void **st)
{
	static const char *const bad[] = {
		"nope=1",   "batch=x", "batch=", "batch=1,,2", "batch=1,",
		"batch=,1", "=1",      "batch",	 "ratio=fast",
	};
	const struct kb_workload *w = kb_workload_find("zz-test-loop");

	for (size_t i = 0; i < KS_ARRAY_SIZE(bad); i++) {
		struct kb_sweep s;
		struct kb_err e = {{0}};

		assert_int_equal(kb_sweep_init(&s, w, &e), 0);
		assert_int_equal(kb_sweep_add(&s, bad[i], &e), -EINVAL);
		assert_true(strlen(e.msg) > 0);
		kb_sweep_fini(&s);
	}
	{
		struct kb_sweep s;
		struct kb_err e = {{0}};

		assert_int_equal(kb_sweep_init(&s, w, &e), 0);
		assert_int_equal(kb_sweep_add(&s, "mode=x", &e), 0);	   /* a word takes words */
		assert_int_equal(kb_sweep_add(&s, "mode=y", &e), -EINVAL); /* given twice */
		kb_sweep_fini(&s);
	}
}

static void test_params_cell(void **st)
{
	struct kb_param_values pv = {
		.n = 3,
		.name = {"batch", "mode", "ratio"},
		.value = {"64k", "fast", "0.5"},
	};
	struct kb_cell c = {.params = &pv};
	const char *str;
	uint64_t u;
	double d;

	assert_int_equal(kb_param_u64(&c, "batch", &u), 0);
	assert_true(u == 64000);
	assert_int_equal(kb_param_str(&c, "mode", &str), 0);
	assert_string_equal(str, "fast");
	assert_int_equal(kb_param_double(&c, "ratio", &d), 0);
	assert_true(d == 0.5);
	assert_int_equal(kb_param_u64(&c, "mode", &u), -EINVAL);
	assert_int_equal(kb_param_u64(&c, "nope", &u), -ENOENT);
	assert_int_equal(kb_param_str(&c, "nope", &str), -ENOENT);
	assert_int_equal(kb_param_str(NULL, "mode", &str), -EINVAL);
	assert_int_equal(kb_param_str(&c, NULL, &str), -EINVAL);
}

static void test_metrics_series(void **st)
{
	struct kb_metrics m = {0};
	struct kb_series s = {0};
	static const char *const names[KB_MAX_METRICS] = {
		"m0",  "m1",  "m2",  "m3",  "m4",  "m5",  "m6",	 "m7",	"m8",  "m9",  "m10",
		"m11", "m12", "m13", "m14", "m15", "m16", "m17", "m18", "m19", "m20", "m21",
		"m22", "m23", "m24", "m25", "m26", "m27", "m28", "m29", "m30", "m31",
	};

	assert_int_equal(kb_metric_set(&m, "a", 1), 0);
	assert_int_equal(kb_metric_set(&m, "a", 2), 0);
	assert_int_equal(m.n, 1);
	assert_true(m.m[0].value == 2);
	memset(&m, 0, sizeof(m));
	for (int i = 0; i < KB_MAX_METRICS; i++)
		assert_int_equal(kb_metric_set(&m, names[i], i), 0);
	assert_int_equal(kb_metric_set(&m, "one_more", 1), -ENOSPC);
	assert_int_equal(kb_metric_set(NULL, "x", 1), -EINVAL);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(kb_series_add(&s, i * 0.1, i), 0);
	assert_int_equal(s.n, 1000);
	assert_true(s.value[999] == 999);
	kb_series_free(&s);
	assert_int_equal(s.n, 0);
	assert_int_equal(kb_series_add(NULL, 0, 0), -EINVAL);
}

/* ---- statistics ------------------------------------------------------------------ */

static void test_median(void **st)
{
	double a[] = {5, 1, 3}, b[] = {4, 1, 3, 2}, c[] = {7};

	assert_true(kb_median(a, 3) == 3);
	assert_true(kb_median(b, 4) == 2.5);
	assert_true(kb_median(c, 1) == 7);
	assert_true(isnan(kb_median(c, 0)));
	assert_true(isnan(kb_median(NULL, 3)));
}

static void test_fairness(void **st)
{
	uint64_t eq[] = {100, 100, 100, 100}, two[] = {1, 3}, zero[] = {0, 0}, one[] = {9};
	uint64_t mn, mx;

	assert_true(kb_fairness(eq, 4, &mn, &mx) == 0);
	assert_true(mn == 100 && mx == 100);
	/* mean 2, population stddev 1: ck prints 50% */
	assert_true(fabs(kb_fairness(two, 2, &mn, &mx) - 50.0) < 1e-9);
	assert_true(mn == 1 && mx == 3);
	assert_true(kb_fairness(one, 1, &mn, &mx) == 0);
	assert_true(isnan(kb_fairness(zero, 2, &mn, &mx)));
	assert_true(isnan(kb_fairness(NULL, 2, &mn, &mx)));
}

static void test_efficiency(void **st)
{
	assert_true(fabs(kb_efficiency(200, 2, 100) - 1.0) < 1e-12);
	assert_true(fabs(kb_efficiency(150, 2, 100) - 0.75) < 1e-12);
	assert_true(fabs(kb_efficiency(400, 8, 100) - 0.5) < 1e-12);
	assert_true(isnan(kb_efficiency(100, 2, NAN)));
	assert_true(isnan(kb_efficiency(100, 2, 0)));
	assert_true(isnan(kb_efficiency(100, 0, 100)));
}

static void test_relate(void **st)
{
	const struct kb_workload *w = kb_workload_find("zz-test-loop");
	struct kb_plan_cell cells[4] = {
		{.w = w, .strategy = "good", .threads = 1},
		{.w = w, .strategy = "good", .threads = 4},
		{.w = w, .strategy = "bad", .threads = 1},
		{.w = w, .strategy = "bad", .threads = 2},
	};
	struct kb_result r[4] = {{0}};

	for (int i = 0; i < 4; i++) {
		r[i].cell = &cells[i];
		r[i].ops_per_sec = 100.0 * (i + 1);
	}
	r[2].err = -EIO; /* no 1-thread figure for "bad" */
	kb_results_relate(r, 4);
	assert_true(fabs(r[0].efficiency - 1.0) < 1e-12);
	assert_true(fabs(r[1].efficiency - 200.0 / 4 / 100.0) < 1e-12);
	assert_true(fabs(r[1].linear - 400.0) < 1e-12);
	assert_true(isnan(r[2].efficiency));
	assert_true(isnan(r[3].efficiency));
	assert_true(isnan(r[3].linear));
}

/* ---- registry ---------------------------------------------------------------------- */

static void test_registry_sorted(void **st)
{
	const struct kb_workload *const *w;
	struct kb_err e = {{0}};
	size_t n;

	assert_int_equal(kb_registry_check(&e), 0);
	w = kb_workloads(&n);
	assert_true(n >= 4);
	for (size_t i = 1; i < n; i++) {
		int c = strcmp(w[i - 1]->subsystem, w[i]->subsystem);

		assert_true(c < 0 || (c == 0 && strcmp(w[i - 1]->name, w[i]->name) < 0));
	}
	/* "zz-first" sorts first by its subsystem, "aa-test-once" last-but-one by its */
	assert_string_equal(w[0]->name, "zz-first");
	assert_string_equal(w[n - 2]->name, "aa-test-once");
	assert_string_equal(w[n - 1]->name, "zz-test-loop");
	assert_non_null(kb_workload_find("counter"));
	assert_null(kb_workload_find("nope"));
	assert_null(kb_workload_find(NULL));
	assert_true(kb_workload_has_strategy(w[0], "bad"));
	assert_false(kb_workload_has_strategy(w[0], "ugly"));
	assert_int_equal(kb_workload_nr_strategies(w[0]), 2);
}

static void test_commands(void **st)
{
	const struct kb_command *const *c;
	const struct kb_command *x;
	char *argv[] = {"zz-test-a", "ok", NULL};
	size_t n;

	size_t a = 0, b = 0;

	/* Subsystems register their own commands (pid-replay): find ours. */
	c = kb_commands(&n);
	assert_true(n >= 2);
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(c[i]->name, "zz-test-a"))
			a = i + 1;
		if (!strcmp(c[i]->name, "zz-test-b"))
			b = i + 1;
		if (i)	/* sorted by name */
			assert_true(strcmp(c[i - 1]->name, c[i]->name) < 0);
	}
	assert_true(a && b && a < b);
	x = kb_command_find("zz-test-b");
	assert_ptr_equal(x, &test_cmd_b);
	assert_int_equal(x->main(2, argv), 0);
	assert_null(kb_command_find("run")); /* built-ins are not extra commands */
	assert_null(kb_command_find(NULL));
}

/* ---- plan and runner ---------------------------------------------------------------- */

/* Plan @w on a synthetic 4-CPU topology and run it; @out gets the results. */
static void plan_run(const char *workload, const char *strategies, const char *threads,
		     const char *params, int repeat, struct kb_plan *p, struct kb_sweep *s,
		     struct kb_result **out)
{
	struct kb_err e = {{0}};
	struct kb_plan_req req = {
		.w = kb_workload_find(workload),
		.strategies = strategies,
		.threads = threads,
		.param_list = params,
		.duration_s = 0.3,
		.warmup_s = 0.05,
	};

	assert_non_null(req.w);
	assert_int_equal(kb_plan_init(p, "synthetic:pack:1 core:4 pu:1", &e), 0);
	p->repeat = repeat;
	assert_int_equal(kb_plan_add(p, &req, s, &e), 0);
	*out = calloc(p->nr_cells, sizeof(**out));
	assert_non_null(*out);
	assert_int_equal(kb_run_plan(p, *out, NULL, NULL), 0);
}

static void plan_done(struct kb_plan *p, struct kb_sweep *s, struct kb_result *r)
{
	for (size_t i = 0; i < p->nr_cells; i++)
		kb_result_fini(&r[i]);
	free(r);
	kb_plan_fini(p);
	kb_sweep_fini(s);
}

static void test_plan_order(void **st)
{
	struct kb_plan p;
	struct kb_sweep s = {0};
	struct kb_err e = {{0}};
	struct kb_plan_req req = {
		.w = kb_workload_find("counter"),
		.strategies = "percpu,atomic,percpu",
		.threads = "2,1",
		.param_list = "batch=1,8",
	};

	assert_int_equal(kb_plan_init(&p, "synthetic:pack:1 core:4 pu:1", &e), 0);
	assert_int_equal(kb_plan_add(&p, &req, &s, &e), 0);
	/* 2 batches x 2 strategies (the repeat dropped) x 2 thread counts */
	assert_int_equal(p.nr_cells, 8);
	assert_string_equal(p.cells[0].strategy, "percpu");
	assert_int_equal(p.cells[0].threads, 1);
	assert_int_equal(p.cells[1].threads, 2);
	assert_string_equal(p.cells[2].strategy, "atomic");
	assert_string_equal(p.cells[4].pv.value[0], "8");
	assert_true(p.cells[0].duration_s == 5 && p.cells[0].warmup_s == 0);
	kb_plan_fini(&p);
	kb_sweep_fini(&s);

	/* bad input leaves no half-built plan behind (ASan checks the frees) */
	req.strategies = "percpu,nope";
	assert_int_equal(kb_plan_init(&p, "synthetic:pack:1 core:4 pu:1", &e), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(kb_plan_add(&p, &req, &s, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "nope"));
	req.strategies = NULL;
	req.threads = "5";
	assert_int_equal(kb_plan_add(&p, &req, &s, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "4 CPUs"));
	kb_plan_fini(&p);
	kb_sweep_fini(&s);
	assert_int_equal(kb_plan_init(&p, "synthetic:not a topology", &e), -EINVAL);
}

struct seen {
	int n;
	char what[16][32];
};

static void record_progress(void *arg, size_t step, size_t steps, const struct kb_plan_cell *c,
			    int repeat, int nr_repeats)
{
	struct seen *s = arg;

	assert_int_equal(step, (size_t)s->n);
	assert_int_equal(steps, 8);
	assert_int_equal(nr_repeats, 2);
	snprintf(s->what[s->n++], sizeof(s->what[0]), "%d %s %d", repeat, c->strategy, c->threads);
}

/* Repeats outermost, strategies innermost: a ratio's two cells run back to back. */
static void test_run_order(void **st)
{
	static const char *const want[] = {
		"0 atomic 1", "0 percpu 1", "0 atomic 2", "0 percpu 2",
		"1 atomic 1", "1 percpu 1", "1 atomic 2", "1 percpu 2",
	};
	struct kb_plan p;
	struct kb_sweep s = {0};
	struct kb_err e = {{0}};
	struct kb_result r[4] = {{0}};
	struct seen seen = {0};
	struct kb_plan_req req = {
		.w = kb_workload_find("counter"),
		.threads = "1,2",
		.duration_s = 0.05,
	};

	assert_int_equal(kb_plan_init(&p, "synthetic:pack:1 core:4 pu:1", &e), 0);
	p.repeat = 2;
	assert_int_equal(kb_plan_add(&p, &req, &s, &e), 0);
	assert_int_equal(p.nr_cells, 4);
	assert_int_equal(kb_run_plan(&p, r, record_progress, &seen), 0);
	assert_int_equal(seen.n, 8);
	for (int i = 0; i < 8; i++)
		assert_string_equal(seen.what[i], want[i]);
	/* results stay in plan order: strategy, then threads */
	assert_string_equal(r[1].cell->strategy, "atomic");
	assert_int_equal(r[1].cell->threads, 2);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(r[i].err, 0);
		assert_int_equal(r[i].nr_reps, 2);
		kb_result_fini(&r[i]);
	}
	kb_plan_fini(&p);
	kb_sweep_fini(&s);
}

static void test_run_counter(void **st)
{
	struct kb_plan p;
	struct kb_sweep s = {0};
	struct kb_result *r;

	plan_run("counter", "all", "1,2,4", "batch=4", 1, &p, &s, &r);
	for (size_t i = 0; i < p.nr_cells; i++) {
		uint64_t sum = 0;

		assert_int_equal(r[i].err, 0);
		assert_true(r[i].nr_samples >= 1);
		assert_true(r[i].ops > 0);
		assert_true(r[i].ops % 4 == 0); /* batches of 4 */
		/* (a thread may get no CPU in 0.3 s on a loaded 2-CPU box: no > 0 check) */
		for (int t = 0; t < r[i].nr_threads; t++)
			sum += r[i].thread_ops[t];
		assert_true(sum == r[i].ops);
		assert_true(r[i].ops_per_sec > 0);
		assert_false(isnan(r[i].efficiency));
		assert_int_equal(r[i].metrics.n, 2);
		/* the counter's own total equals what the runner counted */
		assert_true(r[i].metrics.m[0].value == r[i].metrics.m[1].value);
		assert_true(r[i].bytes_allocated_per_op == 0);
	}
	plan_done(&p, &s, r);
}

static void test_run_loop_samples(void **st)
{
	struct kb_plan p;
	struct kb_sweep s = {0};
	struct kb_result *r;

	plan_run("zz-test-loop", "good", "2", NULL, 2, &p, &s, &r);
	assert_int_equal(p.nr_cells, 1);
	assert_int_equal(r[0].err, 0);
	assert_int_equal(r[0].nr_reps, 2);
	/* 0.3 s is one partial sample per repeat, scaled to a rate */
	assert_int_equal(r[0].nr_samples, 2);
	for (size_t i = 0; i < r[0].nr_samples; i++) {
		const struct kb_sample *x = &r[0].samples[i];

		assert_int_equal(x->repeat, (int)i);
		assert_true(x->dt_s >= 0.29 && x->dt_s < 1.0);
		assert_true(fabs(x->ops_per_sec - x->ops / x->dt_s) < 1e-6 * x->ops_per_sec);
		assert_true(x->per_thread_ops[0] + x->per_thread_ops[1] == x->ops);
	}
	/* one acquisition of the global tw_lock and 64 bytes per operation */
	assert_int_equal(r[0].nr_locks, 1);
	assert_string_equal(r[0].locks[0].name, "tw_lock");
	assert_int_equal(r[0].locks[0].scope, KS_LOCK_GLOBAL);
	if (ks_lockstat_enabled()) {
		assert_true(fabs(r[0].lock_acq_per_op - 1.0) < 0.05);
		assert_true(r[0].lock_bounces_per_op <= r[0].lock_acq_per_op);
		assert_true(r[0].lock_contentions_per_op <= r[0].lock_acq_per_op);
	}
	assert_true(fabs(r[0].bytes_allocated_per_op - 64.0) < 64.0 * 0.05);
	for (size_t i = 0; i < r[0].nr_samples; i++)
		assert_true(r[0].samples[i].live_bytes <= 64 * 2); /* one in flight per thread */
	assert_int_equal(r[0].nr_series, 2);			   /* one per repeat */
	assert_int_equal(r[0].series[1].repeat, 1);
	assert_int_equal(r[0].series[0].s.n, 2);
	plan_done(&p, &s, r);
}

static void test_run_one_shot(void **st)
{
	struct kb_plan p;
	struct kb_sweep s = {0};
	struct kb_result *r;

	plan_run("aa-test-once", "good", "1,4", NULL, 3, &p, &s, &r);
	for (size_t i = 0; i < p.nr_cells; i++) {
		assert_int_equal(r[i].err, 0);
		/* one op per thread per repeat, one sample per repeat */
		assert_int_equal(r[i].nr_samples, 3);
		assert_true(r[i].ops == (uint64_t)(3 * r[i].nr_threads));
		assert_true(r[i].ops_per_sec > 0);
	}
	plan_done(&p, &s, r);
}

static void test_run_failures(void **st)
{
	static const struct {
		const char *mode;
		int err;
		const char *where;
	} cases[] = {
		{"op", -ENOMEM, "op"},
		{"setup", -ENOSPC, "setup"},
		{"report", -EUCLEAN, "report"},
		{"leak", -EUCLEAN, "live"},
	};

	for (size_t k = 0; k < KS_ARRAY_SIZE(cases); k++) {
		struct kb_plan p;
		struct kb_sweep s = {0};
		struct kb_result *r;
		char param[32];

		snprintf(param, sizeof(param), "mode=%s", cases[k].mode);
		plan_run("zz-test-loop", "good,bad", "1,2", param, 2, &p, &s, &r);
		assert_int_equal(p.nr_cells, 4);
		assert_int_equal(kb_results_failed(r, p.nr_cells), 2);
		for (size_t i = 0; i < p.nr_cells; i++) {
			bool bad = !strcmp(r[i].cell->strategy, "bad");

			assert_int_equal(r[i].err, bad ? cases[k].err : 0);
			if (!bad)
				continue;
			assert_non_null(strstr(r[i].errmsg, cases[k].where));
			/* a failed cell is not a number */
			assert_true(isnan(r[i].ops_per_sec));
			assert_true(isnan(r[i].efficiency));
			/* and its repeats stop at the first failure */
			assert_true(r[i].nr_reps <= 1);
		}
		plan_done(&p, &s, r);
	}
	while (nr_leaked)
		free(leaked[--nr_leaked]);
}

/* ---- reporters ------------------------------------------------------------------------- */

static void test_reporters(void **st)
{
	struct kb_plan p;
	struct kb_sweep s = {0};
	struct kb_result *r;
	char line[1024], name[256];
	regex_t re;
	FILE *f;
	json_t *root, *runs, *bench;
	json_error_t jerr;
	char *argv[] = {"run", "zz-test-loop", NULL};
	struct kb_report_ctx ctx = {.argc = 2, .argv = argv};

	plan_run("zz-test-loop", "good,bad", "1,2", "mode=op;batch=1,2", 1, &p, &s, &r);
	ctx.plan = &p;
	ctx.sweeps = &s;
	ctx.nr_sweeps = 1;

	f = tmpfile();
	assert_int_equal(kb_csv_write(f, r, p.nr_cells), 0);
	rewind(f);
	assert_non_null(fgets(line, sizeof(line), f));
	line[strcspn(line, "\n")] = '\0';
	assert_int_equal(regcomp(&re, "^[a-z_,]+$", REG_EXTENDED | REG_NOSUB), 0);
	assert_int_equal(regexec(&re, line, 0, NULL, 0), 0);
	regfree(&re);
	for (size_t i = 0; i < p.nr_cells; i++)
		assert_non_null(fgets(line, sizeof(line), f));
	assert_null(fgets(line, sizeof(line), f));
	fclose(f);

	f = tmpfile();
	assert_int_equal(kb_json_write(f, &ctx, r, p.nr_cells), 0);
	rewind(f);
	root = json_loadf(f, 0, &jerr);
	fclose(f);
	assert_non_null(root);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(root, "context"),
							    "json_schema_version")),
			 1);
	runs = json_object_get(root, "runs");
	assert_int_equal(json_array_size(runs), p.nr_cells);
	for (size_t i = 0; i < p.nr_cells; i++) {
		json_t *run = json_array_get(runs, i);
		bool failed = r[i].err != 0;

		assert_string_equal(json_string_value(json_object_get(run, "status")),
				    failed ? "failed" : "ok");
		assert_true(json_is_null(json_object_get(run, "ops_per_sec")) == failed);
		assert_true(json_is_array(json_object_get(run, "samples")));
		assert_true(json_is_object(json_object_get(run, "params")));
		if (!strcmp(r[i].cell->strategy, "good")) {
			json_t *lock = json_array_get(json_object_get(run, "locks"), 0);

			assert_string_equal(json_string_value(json_object_get(lock, "class")),
					    "tw_lock");
			assert_string_equal(json_string_value(json_object_get(lock, "scope")),
					    "global");
			assert_true(json_is_number(json_object_get(lock, "acquisitions")));
			assert_true(json_is_number(json_object_get(lock, "bounces")));
			assert_true(json_is_integer(json_object_get(lock, "wait_ns")));
		}
	}
	json_decref(root);

	f = tmpfile();
	assert_int_equal(kb_gbench_write(f, &ctx, r, p.nr_cells), 0);
	rewind(f);
	root = json_loadf(f, 0, &jerr);
	fclose(f);
	assert_non_null(root);
	bench = json_object_get(root, "benchmarks");
	/* good: an iteration and a median per cell; bad: one error entry per cell */
	assert_int_equal(json_array_size(bench), 4 * 2 + 4);
	assert_int_equal(kb_gbench_name(&r[0], name, sizeof(name)), 53);
	assert_string_equal(name, "zz-test-loop/good/threads:1/batch=1/mode=op/ratio=0.5");
	assert_string_equal(json_string_value(json_object_get(json_array_get(bench, 1), "name")),
			    "zz-test-loop/good/threads:1/batch=1/mode=op/ratio=0.5_median");
	json_decref(root);

	f = tmpfile();
	assert_int_equal(kb_table_print(f, r, p.nr_cells), 0);
	fclose(f);

	/* both plots, the scaling one and the series one, when gnuplot is there */
	if (kb_gnuplot_find()) {
		char dir[] = "/tmp/kb_plot_XXXXXX", path[256], *sp;
		struct kb_out po, so;
		struct kb_err pe = {{0}};

		assert_non_null(mkdtemp(dir));
		snprintf(path, sizeof(path), "%s/p.svg", dir);
		sp = kb_series_path(path);
		assert_true(kb_results_have_series(r, p.nr_cells));
		assert_int_equal(kb_out_open(&po, path, &pe), 0);
		assert_int_equal(kb_out_open(&so, sp, &pe), 0);
		assert_int_equal(kb_plot_write(&po, &so, r, p.nr_cells, &pe), 0);
		assert_int_equal(kb_out_commit(&so, &pe), 0);
		assert_int_equal(kb_out_commit(&po, &pe), 0);
		for (int k = 0; k < 2; k++) {
			char buf[4096];
			size_t got;

			f = fopen(k ? sp : path, "r");
			assert_non_null(f);
			got = fread(buf, 1, sizeof(buf) - 1, f);
			buf[got] = '\0';
			fclose(f);
			assert_non_null(strstr(buf, "<svg"));
			assert_int_equal(unlink(k ? sp : path), 0);
		}
		free(sp);
		assert_int_equal(rmdir(dir), 0);
	}
	plan_done(&p, &s, r);
}

static void test_out_files(void **st)
{
	char dir[] = "/tmp/kb_test_XXXXXX", path[256];
	struct kb_out o;
	struct kb_err e = {{0}};

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/r.json", dir);
	assert_int_equal(kb_out_open(&o, path, &e), 0);
	fputs("{}\n", o.f);
	assert_int_not_equal(access(path, F_OK), 0); /* not there until committed */
	assert_int_equal(kb_out_commit(&o, &e), 0);
	assert_int_equal(access(path, F_OK), 0);

	assert_int_equal(kb_out_open(&o, path, &e), 0);
	fputs("half", o.f);
	kb_out_abort(&o);
	{
		char buf[16] = "";
		FILE *f = fopen(path, "r");

		assert_non_null(f);
		assert_non_null(fgets(buf, sizeof(buf), f));
		fclose(f);
		assert_string_equal(buf, "{}\n"); /* the old file, untouched */
	}
	/* a symlink is written through, never replaced (think /dev/stdout) */
	{
		char link[300], buf[16] = "";
		struct stat sb;
		FILE *f;

		snprintf(link, sizeof(link), "%s/link.json", dir);
		assert_int_equal(symlink(path, link), 0);
		assert_int_equal(kb_out_open(&o, link, &e), 0);
		fputs("new\n", o.f);
		assert_int_equal(kb_out_commit(&o, &e), 0);
		assert_int_equal(lstat(link, &sb), 0);
		assert_true(S_ISLNK(sb.st_mode));
		f = fopen(path, "r");
		assert_non_null(f);
		assert_non_null(fgets(buf, sizeof(buf), f));
		fclose(f);
		assert_string_equal(buf, "new\n");
		assert_int_equal(unlink(link), 0);
	}
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0); /* no temporary file left behind */

	assert_int_equal(kb_out_open(&o, "/nonexistent-dir/r.json", &e), -ENOENT);
	assert_non_null(strstr(e.msg, "/nonexistent-dir/r.json"));
	assert_int_equal(kb_out_open(&o, "/tmp", &e), -EISDIR);
	assert_int_equal(kb_out_open(&o, "", &e), -EINVAL);
	{
		char *sp = kb_series_path("out/r.svg");

		assert_string_equal(sp, "out/r-series.svg");
		free(sp);
		sp = kb_series_path("plot");
		assert_string_equal(sp, "plot-series.svg");
		free(sp);
	}
}

static void test_cli(void **st)
{
	struct kb_run_opts o;
	struct kb_err e = {{0}};
	char *good[] = {"run",	    "--threads", "1,2",	    "counter", "--param",
			"batch=2",  "--param",	 "batch=3", "--json",  "x.json",
			"--format", "gbench",	 NULL};
	char *bad_dur[] = {"run", "counter", "--duration", "0", NULL};
	char *two[] = {"run", "a", "b", NULL};
	char *suite[] = {"suite", "--duration-scale", "0.5", NULL};
	char *suite_bad[] = {"suite", "--threads", "1", NULL};

	assert_int_equal(kb_cli_parse(12, good, false, &o, &e), 0);
	assert_string_equal(o.workload, "counter");
	assert_string_equal(o.threads, "1,2");
	assert_int_equal(o.nr_params, 2);
	assert_int_equal(o.format, KB_FORMAT_GBENCH);
	assert_true(o.duration_s == 5 && o.warmup_s == 1 && o.repeat == 1);
	assert_string_equal(good[3], "counter"); /* argv stays as typed */
	assert_int_equal(kb_cli_parse(4, bad_dur, false, &o, &e), -EINVAL);
	assert_int_equal(kb_cli_parse(3, two, false, &o, &e), -EINVAL);
	assert_int_equal(kb_cli_parse(3, suite, true, &o, &e), 0);
	assert_true(o.duration_scale == 0.5);
	assert_int_equal(kb_cli_parse(3, suite_bad, true, &o, &e), -EINVAL);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads_good),
		cmocka_unit_test(test_threads_bad),
		cmocka_unit_test(test_threads_default),
		cmocka_unit_test(test_u64_suffixes),
		cmocka_unit_test(test_double_parse),
		cmocka_unit_test(test_params_sweep),
		cmocka_unit_test(test_params_bad),
		cmocka_unit_test(test_params_cell),
		cmocka_unit_test(test_metrics_series),
		cmocka_unit_test(test_median),
		cmocka_unit_test(test_fairness),
		cmocka_unit_test(test_efficiency),
		cmocka_unit_test(test_relate),
		cmocka_unit_test(test_registry_sorted),
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_plan_order),
		cmocka_unit_test(test_run_order),
		cmocka_unit_test(test_run_counter),
		cmocka_unit_test(test_run_loop_samples),
		cmocka_unit_test(test_run_one_shot),
		cmocka_unit_test(test_run_failures),
		cmocka_unit_test(test_reporters),
		cmocka_unit_test(test_out_files),
		cmocka_unit_test(test_cli),
	};
	/* clang-format on */

	return cmocka_run_group_tests(tests, NULL, NULL);
}
