// SPDX-License-Identifier: MIT
/*
 * The engine of `kscale-bench pid-replay` (bench/pid_replay.c), on every pid
 * strategy: trace syntax, NSpid order, EAGAIN, errors naming the line.
 * tests/sh/test_pid_replay.sh replays kernel-recorded traces through the CLI.
 */
#include "ks_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pid_replay.h"

static int run(const char *strategy, const int *pid_max, int n, const char *trace,
	       char **out, char *err)
{
	FILE *in = fmemopen((void *)trace, strlen(trace), "r");
	size_t len;
	FILE *o = open_memstream(out, &len);
	int ret;

	assert_non_null(in);
	assert_non_null(o);
	err[0] = '\0';
	ret = kb_pid_replay(strategy, pid_max, n, in, o, "t", err, 256);
	fclose(in);
	fclose(o);
	return ret;
}

static void test_replay_basic(void **state)
{
	const char *s = *state;
	int pm[2] = { 400, 1000 };
	char err[256], *out;
	int a, b, c, d;

	/* two levels: outer init 1, inner init 2 outside / 1 inside */
	assert_int_equal(run(s, pm, 2, "# hi\n\nA\nA trailing words\n", &out, err), 0);
	assert_int_equal(strncmp(out, "# hi\n\n", 6), 0);
	assert_int_equal(sscanf(out + 6, "A %d %d\nA %d %d\n", &a, &b, &c, &d), 4);
	assert_true(a > 2 && b > 1 && c > 2 && d > 1);
	assert_true(a != c && b != d);
	if (ks_pid_strategy_flags(s) & KS_PID_KERNEL_NUMBERING)
		assert_string_equal(out + 6, "A 3 2\nA 4 3\n");
	free(out);

	/* free by innermost number (last field), printed outermost first */
	assert_int_equal(run(s, pm, 2, "A\nF 999 2\n", &out, err), 0);
	assert_int_equal(sscanf(out, "A %d %d\nF %d %d\n", &a, &b, &c, &d), 4);
	assert_int_equal(a, c);
	assert_int_equal(b, d);
	free(out);
}

static void test_replay_eagain(void **state)
{
	const char *s = *state;
	int pm[1] = { 301 };
	char err[256], *out, *trace;
	size_t len = 0;

	/* 302 allocations in a namespace of 301 numbers (one is init) */
	trace = malloc(4 * 400);
	for (int i = 0; i < 302; i++)
		len += sprintf(trace + len, "A\n");
	assert_int_equal(run(s, pm, 1, trace, &out, err), 0);
	assert_non_null(strstr(out, "A EAGAIN\n"));
	if (ks_pid_strategy_flags(s) & KS_PID_KERNEL_NUMBERING) {
		/* 2..300 succeed, then the namespace is full */
		assert_non_null(strstr(out, "A 300\nA EAGAIN\n"));
	}
	free(out);
	free(trace);
}

static void test_replay_errors(void **state)
{
	const char *s = *state;
	int pm[1] = { 400 }, bad[1] = { 300 };
	char err[256], *out;

	assert_int_equal(run(s, pm, 1, "A\n# x\nF 399999\n", &out, err), 2);
	assert_non_null(strstr(err, "t:3: F 399999"));
	free(out);
	assert_int_equal(run(s, pm, 1, "A\nX\n", &out, err), 2);
	assert_non_null(strstr(err, "t:2: X"));
	free(out);
	assert_int_equal(run(s, pm, 1, "F\n", &out, err), 2);
	assert_non_null(strstr(err, "t:1"));
	free(out);
	assert_int_equal(run(s, pm, 1, "F abc\n", &out, err), 2);
	free(out);
	assert_int_equal(run(s, bad, 1, "A\n", &out, err), 2);
	free(out);
	assert_int_equal(run("no-such", pm, 1, "A\n", &out, err), 2);
	assert_non_null(strstr(err, "no-such"));
	free(out);
	assert_int_equal(run(s, pm, 0, "A\n", &out, err), 2);
	free(out);
	/* a double free is a free of a number that is not live */
	if (ks_pid_strategy_flags(s) & KS_PID_KERNEL_NUMBERING) {
		assert_int_equal(run(s, pm, 1, "A\nF 2\nF 2\n", &out, err), 2);
		assert_non_null(strstr(err, "t:3"));
		free(out);
	}
}

int main(void)
{
	static const CMUnitTestFunction fns[] = { test_replay_basic, test_replay_eagain,
						  test_replay_errors };
	static const char *const names[] = { "basic", "eagain", "errors" };
	const struct ks_strategy_info *info;
	struct CMUnitTest *tests;
	size_t n, k = 0;
	int ret;

	info = ks_pid_strategies(&n);
	tests = calloc(n * KS_ARRAY_SIZE(fns), sizeof(*tests));
	for (size_t s = 0; s < n; s++) {
		for (size_t b = 0; b < KS_ARRAY_SIZE(fns); b++) {
			char *name = malloc(96);

			snprintf(name, 96, "%s/%s", names[b], info[s].name);
			tests[k].name = name;
			tests[k].test_func = fns[b];
			tests[k].initial_state = (void *)info[s].name;
			k++;
		}
	}
	ret = _cmocka_run_group_tests("pid_replay", tests, k, NULL, NULL);
	for (size_t i = 0; i < k; i++)
		free((void *)tests[i].name);
	free(tests);
	return ret;
}
