/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the cmocka tests: include after <cmocka.h>'s prerequisites.
 */
#ifndef KSCALE_TESTS_KS_TEST_H
#define KSCALE_TESTS_KS_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <kscale/kscale.h>

/* Topologies every topology-dependent test runs on (1, 2, 64, 256 CPUs). */
extern const char *const ks_test_topologies[];
extern const size_t ks_test_nr_topologies;

/*
 * A per-test environment: a topology, a lock_stat registry and a memory
 * domain. ks_test_env_fini() asserts that every ks_mem type is back to zero
 * live objects and bytes: the leak oracle every test ends with.
 */
struct ks_test_env {
	struct ks_topo *topo;
	struct ks_lockstat *locks;
	struct ks_mem *mem;
};
void ks_test_env_init(struct ks_test_env *e, const char *topo_spec);
void ks_test_env_fini(struct ks_test_env *e);
/* Assert that every type of @m has zero live objects and bytes. */
void ks_test_assert_mem_balanced(const struct ks_mem *m);

/* Number of threads for stress tests: KS_STRESS_THREADS or 8. */
int ks_test_stress_threads(void);
/* Seconds for stress tests: KS_STRESS_SECONDS or 2 (scaled down under TSan). */
double ks_test_stress_seconds(void);

/* Run a shell command, capture stdout+stderr into @out (may be NULL). */
int ks_test_run(const char *cmd, char *out, size_t len);

#endif
