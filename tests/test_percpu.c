// SPDX-License-Identifier: MIT
/* percpu: one zeroed, cache-line-aligned copy per CPU on 1..256-CPU topologies. */
#include "ks_test.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

static void test_copies_per_topology(void **state)
{
	for (size_t i = 0; i < ks_test_nr_topologies; i++) {
		struct ks_topo *t = NULL;
		struct ks_percpu *p = NULL;
		int nr;

		assert_int_equal(ks_topo_create(ks_test_topologies[i], &t), 0);
		nr = ks_topo_nr_cpus(t);
		assert_int_equal(ks_percpu_alloc(t, 24, &p), 0);
		assert_int_equal(ks_percpu_nr(p), nr);
		for (int c = 0; c < nr; c++) {
			unsigned char *a = ks_percpu_ptr(p, c);

			assert_non_null(a);
			assert_int_equal((uintptr_t)a % KS_CACHELINE, 0);
			for (int b = 0; b < 24; b++)
				assert_int_equal(a[b], 0);
			/* Write the whole object: ASan catches overlap/overflow. */
			memset(a, c & 0xff, 24);
			for (int d = 0; d < c && d < 4; d++) {
				unsigned char *o = ks_percpu_ptr(p, d);
				intptr_t dist = a > o ? a - o : o - a;

				/* Neighbours never share a cache line. */
				assert_true(dist >= KS_CACHELINE);
			}
		}
		for (int c = 0; c < nr; c++)
			assert_int_equal(*(unsigned char *)ks_percpu_ptr(p, c), c & 0xff);
		assert_null(ks_percpu_ptr(p, nr));
		assert_null(ks_percpu_ptr(p, -1));
		ks_percpu_free(p);
		ks_topo_destroy(t);
	}
}

static void test_this_follows_label(void **state)
{
	struct ks_topo *t = NULL;
	struct ks_percpu *p = NULL;

	assert_int_equal(ks_topo_create("synthetic:pack:4 numa:2 core:16 pu:2", &t), 0);
	assert_int_equal(ks_percpu_alloc(t, 8, &p), 0);
	assert_int_equal(ks_cpu_set_current(200), 0);
	assert_ptr_equal(ks_percpu_this(p), ks_percpu_ptr(p, 200));
	assert_int_equal(ks_percpu_this_cpu(p), 200);
	/* A label beyond the copy count wraps rather than overflowing. */
	assert_int_equal(ks_cpu_set_current(256 + 3), 0);
	assert_ptr_equal(ks_percpu_this(p), ks_percpu_ptr(p, 3));
	assert_int_equal(ks_cpu_set_current(-1), 0);
	assert_non_null(ks_percpu_this(p));
	ks_percpu_free(p);
	ks_topo_destroy(t);
}

static void test_default_topology_and_bad_input(void **state)
{
	struct ks_percpu *p = (struct ks_percpu *)0x1;

	assert_int_equal(ks_percpu_alloc(NULL, 64, &p), 0);
	assert_int_equal(ks_percpu_nr(p), ks_topo_nr_cpus(ks_topo_default()));
	ks_percpu_free(p);
	assert_int_equal(ks_percpu_alloc(NULL, 64, NULL), -EINVAL);
	assert_int_equal(ks_percpu_alloc(NULL, 0, &p), -EINVAL);
	assert_null(p);
	assert_int_equal(ks_percpu_alloc(NULL, (1u << 20) + 1, &p), -EINVAL);
	assert_int_equal(ks_percpu_nr(NULL), -EINVAL);
	assert_null(ks_percpu_ptr(NULL, 0));
	assert_null(ks_percpu_this(NULL));
	assert_int_equal(ks_percpu_this_cpu(NULL), -EINVAL);
	ks_percpu_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copies_per_topology),
		cmocka_unit_test(test_this_follows_label),
		cmocka_unit_test(test_default_topology_and_bad_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
