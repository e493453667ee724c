// SPDX-License-Identifier: MIT
#include "ks_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

const char *const ks_test_topologies[] = {
	"synthetic:pu:1",
	"synthetic:core:2 pu:1",
	"synthetic:pack:2 numa:2 core:8 pu:2",
	"synthetic:pack:4 numa:2 core:16 pu:2",
};
const size_t ks_test_nr_topologies = KS_ARRAY_SIZE(ks_test_topologies);

void ks_test_env_init(struct ks_test_env *e, const char *topo_spec)
{
	memset(e, 0, sizeof(*e));
	assert_int_equal(ks_topo_create(topo_spec, &e->topo), 0);
	assert_int_equal(ks_lockstat_create(e->topo, &e->locks), 0);
	assert_int_equal(ks_mem_create(e->topo, &e->mem), 0);
}

void ks_test_assert_mem_balanced(const struct ks_mem *m)
{
	struct ks_mem_type_stats st[256];
	size_t n = 0;

	assert_int_equal(ks_mem_read(m, st, KS_ARRAY_SIZE(st), &n), 0);
	for (size_t i = 0; i < n && i < KS_ARRAY_SIZE(st); i++) {
		if (st[i].live_objs || st[i].live_bytes)
			fail_msg("ks_mem type %s: %lld objects, %lld bytes still live",
				 st[i].name, (long long)st[i].live_objs,
				 (long long)st[i].live_bytes);
	}
}

void ks_test_env_fini(struct ks_test_env *e)
{
	ks_test_assert_mem_balanced(e->mem);
	assert_int_equal(ks_mem_destroy(e->mem), 0);
	ks_lockstat_destroy(e->locks);
	ks_topo_destroy(e->topo);
	memset(e, 0, sizeof(*e));
}

int ks_test_stress_threads(void)
{
	const char *s = getenv("KS_STRESS_THREADS");
	int n = s ? atoi(s) : 8;

	return n > 0 ? n : 8;
}

double ks_test_stress_seconds(void)
{
	const char *s = getenv("KS_STRESS_SECONDS");
	double d = s ? atof(s) : 2.0;

	return d > 0 ? d : 2.0;
}

int ks_test_run(const char *cmd, char *out, size_t len)
{
	FILE *p = popen(cmd, "r");
	size_t used = 0;
	int st;

	if (!p)
		return -1;
	if (out && len) {
		size_t r;

		while (used + 1 < len &&
		       (r = fread(out + used, 1, len - 1 - used, p)) > 0)
			used += r;
		out[used] = '\0';
	}
	/* drain whatever did not fit */
	{
		char sink[4096];

		while (fread(sink, 1, sizeof(sink), p) > 0)
			;
	}
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}
