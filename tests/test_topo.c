// SPDX-License-Identifier: MIT
/* topo: real, synthetic (1, 2, 64, 256 CPUs, several NUMA nodes) and XML. */
#define _GNU_SOURCE
#include "ks_test.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct shape {
	const char *spec;
	int cpus, cores, nodes, packages;
};

static const struct shape shapes[] = {
	{ "synthetic:pu:1", 1, 1, 1, 1 },
	{ "synthetic:core:2 pu:1", 2, 2, 1, 1 },
	{ "synthetic:pack:2 numa:2 core:8 pu:2", 64, 32, 4, 2 },
	{ "synthetic:pack:4 numa:2 core:16 pu:2", 256, 128, 8, 4 },
	/* the bare form, without the prefix */
	{ "pack:2 numa:2 core:8 pu:2", 64, 32, 4, 2 },
};

static void test_synthetic_shapes(void **state)
{
	for (size_t i = 0; i < KS_ARRAY_SIZE(shapes); i++) {
		const struct shape *s = &shapes[i];
		struct ks_topo *t = NULL;
		int per_node[64] = { 0 };

		assert_int_equal(ks_topo_create(s->spec, &t), 0);
		assert_int_equal(ks_topo_nr_cpus(t), s->cpus);
		assert_int_equal(ks_topo_nr_cores(t), s->cores);
		assert_int_equal(ks_topo_nr_nodes(t), s->nodes);
		assert_int_equal(ks_topo_nr_packages(t), s->packages);
		assert_false(ks_topo_is_real(t));
		for (int c = 0; c < s->cpus; c++) {
			int n = ks_topo_cpu_node(t, c);
			int k = ks_topo_cpu_core(t, c);
			int p = ks_topo_cpu_package(t, c);

			assert_in_range(n, 0, s->nodes - 1);
			assert_in_range(k, 0, s->cores - 1);
			assert_in_range(p, 0, s->packages - 1);
			per_node[n]++;
			/* Topology order: CPUs fill a node before the next. */
			if (c > 0)
				assert_true(ks_topo_cpu_node(t, c - 1) <= n);
		}
		for (int n = 0; n < s->nodes; n++)
			assert_int_equal(per_node[n], s->cpus / s->nodes);
		ks_topo_destroy(t);
	}
}

static void test_smt_siblings_adjacent(void **state)
{
	struct ks_topo *t = NULL;

	assert_int_equal(ks_topo_create("synthetic:pack:4 numa:2 core:16 pu:2", &t), 0);
	/* pu:2 -> CPUs 2k and 2k+1 are the two threads of core k. */
	for (int c = 0; c < 256; c += 2)
		assert_int_equal(ks_topo_cpu_core(t, c), ks_topo_cpu_core(t, c + 1));
	assert_int_not_equal(ks_topo_cpu_core(t, 1), ks_topo_cpu_core(t, 2));
	/* Node 0 is package 0, node 7 package 3. */
	assert_int_equal(ks_topo_cpu_package(t, 0), 0);
	assert_int_equal(ks_topo_cpu_package(t, 255), 3);
	assert_int_equal(ks_topo_cpu_node(t, 255), 7);
	ks_topo_destroy(t);
}

static void test_distances(void **state)
{
	struct ks_topo *t = NULL;

	assert_int_equal(ks_topo_create("synthetic:pack:4 numa:2 core:16 pu:2", &t), 0);
	for (int a = 0; a < 8; a++) {
		assert_int_equal(ks_topo_distance(t, a, a), 10);
		for (int b = 0; b < 8; b++)
			assert_int_equal(ks_topo_distance(t, a, b), ks_topo_distance(t, b, a));
	}
	/* Synthetic topologies carry no SLIT: package rule. */
	assert_int_equal(ks_topo_distance(t, 0, 1), 20);
	assert_int_equal(ks_topo_distance(t, 0, 2), 30);
	assert_int_equal(ks_topo_distance(t, 0, 8), -EINVAL);
	assert_int_equal(ks_topo_distance(t, -1, 0), -EINVAL);
	ks_topo_destroy(t);
}

static void test_real_machine(void **state)
{
	struct ks_topo *t = NULL;
	const struct ks_topo *d;
	char buf[256];
	int n = (int)sysconf(_SC_NPROCESSORS_ONLN);

	assert_int_equal(ks_topo_create("real", &t), 0);
	assert_true(ks_topo_is_real(t));
	assert_true(ks_topo_nr_cpus(t) >= 1);
	/* hwloc sees the allowed CPUs, which is at most what is online. */
	assert_true(ks_topo_nr_cpus(t) <= n);
	assert_true(ks_topo_describe(t, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "real"));
	d = ks_topo_default();
	assert_non_null(d);
	assert_int_equal(ks_topo_nr_cpus(d), ks_topo_nr_cpus(t));
	ks_topo_destroy(t);
	/* NULL means the real machine too. */
	assert_int_equal(ks_topo_create(NULL, &t), 0);
	assert_true(ks_topo_is_real(t));
	ks_topo_destroy(t);
}

static void test_xml_roundtrip(void **state)
{
	char dir[] = "/tmp/ks_topo_XXXXXX";
	char path[512], cmd[1024], spec[600];
	struct ks_topo *t = NULL;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.xml", dir);
	/* hwloc's own tool writes the XML of a synthetic 16-CPU machine. */
	snprintf(cmd, sizeof(cmd),
		 "lstopo-no-graphics --if synthetic --input 'pack:2 core:4 pu:2' %s 2>&1", path);
	if (ks_test_run(cmd, NULL, 0) != 0) {
		rmdir(dir);
		skip();
	}
	snprintf(spec, sizeof(spec), "xml:%s", path);
	assert_int_equal(ks_topo_create(spec, &t), 0);
	assert_int_equal(ks_topo_nr_cpus(t), 16);
	assert_int_equal(ks_topo_nr_cores(t), 8);
	assert_int_equal(ks_topo_nr_packages(t), 2);
	assert_false(ks_topo_is_real(t));
	assert_string_equal(ks_topo_spec(t), spec);
	ks_topo_destroy(t);
	unlink(path);
	rmdir(dir);
}

static void test_bad_input(void **state)
{
	struct ks_topo *t = (struct ks_topo *)0x1;
	char buf[8];

	assert_int_equal(ks_topo_create("real", NULL), -EINVAL);
	assert_int_equal(ks_topo_create("synthetic:", &t), -EINVAL);
	assert_null(t);
	assert_int_equal(ks_topo_create("synthetic:pack:x core:2", &t), -EINVAL);
	assert_int_equal(ks_topo_create("synthetic:bogus:3", &t), -EINVAL);
	assert_int_equal(ks_topo_create("nonsense", &t), -EINVAL);
	assert_int_equal(ks_topo_create("xml:", &t), -EINVAL);
	assert_int_equal(ks_topo_create("xml:/nonexistent/t.xml", &t), -ENOENT);
	assert_int_equal(ks_topo_create("synthetic:pack:8 core:32 pu:32", &t), -E2BIG);
	assert_int_equal(ks_topo_nr_cpus(NULL), -EINVAL);
	assert_int_equal(ks_topo_nr_cores(NULL), -EINVAL);
	assert_int_equal(ks_topo_nr_nodes(NULL), -EINVAL);
	assert_int_equal(ks_topo_nr_packages(NULL), -EINVAL);
	assert_int_equal(ks_topo_cpu_node(NULL, 0), -EINVAL);
	assert_int_equal(ks_topo_describe(NULL, buf, sizeof(buf)), -EINVAL);
	assert_false(ks_topo_is_real(NULL));
	assert_null(ks_topo_spec(NULL));
	assert_int_equal(ks_topo_bind_thread(NULL, 0), -EINVAL);

	assert_int_equal(ks_topo_create("synthetic:core:2 pu:1", &t), 0);
	assert_int_equal(ks_topo_cpu_node(t, 2), -EINVAL);
	assert_int_equal(ks_topo_cpu_core(t, -1), -EINVAL);
	assert_int_equal(ks_topo_cpu_package(t, 99), -EINVAL);
	assert_int_equal(ks_topo_bind_thread(t, 2), -EINVAL);
	assert_int_equal(ks_topo_describe(t, buf, 0), -EINVAL);
	assert_int_equal(ks_topo_describe(t, buf, sizeof(buf)), -ENOSPC);
	ks_topo_destroy(t);
	ks_topo_destroy(NULL);
}

struct bind_arg {
	const struct ks_topo *t;
	int cpu, rc, seen;
};

static void *bind_thread(void *p)
{
	struct bind_arg *a = p;

	a->rc = ks_topo_bind_thread(a->t, a->cpu);
	a->seen = ks_cpu_current();
	return NULL;
}

static void test_bind_and_current(void **state)
{
	struct ks_topo *syn = NULL, *real = NULL;
	struct bind_arg a;
	pthread_t th;

	assert_int_equal(ks_topo_create("synthetic:pack:4 numa:2 core:16 pu:2", &syn), 0);
	/* A synthetic CPU is a label: 255 works on a 2-core box. */
	a = (struct bind_arg){ .t = syn, .cpu = 255 };
	assert_int_equal(pthread_create(&th, NULL, bind_thread, &a), 0);
	pthread_join(th, NULL);
	assert_int_equal(a.rc, 1);
	assert_int_equal(a.seen, 255);
	/* The label is per thread: this thread is untouched. */
	assert_int_equal(ks_cpu_set_current(-1), 0);
	assert_true(ks_cpu_current() >= 0);
	assert_int_equal(ks_cpu_set_current(7), 0);
	assert_int_equal(ks_cpu_current(), 7);
	assert_int_equal(ks_cpu_set_current(-2), -EINVAL);
	assert_int_equal(ks_cpu_current(), 7);
	assert_int_equal(ks_cpu_set_current(-1), 0);

	assert_int_equal(ks_topo_create("real", &real), 0);
	a = (struct bind_arg){ .t = real, .cpu = ks_topo_nr_cpus(real) - 1 };
	assert_int_equal(pthread_create(&th, NULL, bind_thread, &a), 0);
	pthread_join(th, NULL);
	assert_int_equal(a.rc, 0);
	assert_int_equal(a.seen, ks_topo_nr_cpus(real) - 1);
	ks_topo_destroy(real);
	ks_topo_destroy(syn);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_synthetic_shapes),
		cmocka_unit_test(test_smt_siblings_adjacent),
		cmocka_unit_test(test_distances),
		cmocka_unit_test(test_real_machine),
		cmocka_unit_test(test_xml_roundtrip),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_bind_and_current),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
