// SPDX-License-Identifier: MIT
/*
 * mem: exact per-type accounting on 1..256-CPU topologies, fault injection,
 * bad input, the slabinfo-like table, and the version strings that name the
 * allocator. Every test that takes a topology runs once per synthetic
 * topology (the prestate) and ends with the leak oracle.
 */
#define _GNU_SOURCE
#include "ks_test.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *topo_of(void **state)
{
	return *state;
}

static struct ks_mem_type_stats stats_of(const struct ks_mem_type *type)
{
	struct ks_mem_type_stats st;

	assert_int_equal(ks_mem_type_read(type, &st), 0);
	return st;
}

static void assert_stats(const struct ks_mem_type *type, int64_t live, int64_t live_bytes,
			 uint64_t allocs, uint64_t frees, uint64_t bytes, uint64_t failed)
{
	struct ks_mem_type_stats st = stats_of(type);

	assert_int_equal(st.live_objs, live);
	assert_int_equal(st.live_bytes, live_bytes);
	assert_int_equal(st.allocs, allocs);
	assert_int_equal(st.frees, frees);
	assert_int_equal(st.bytes_allocated, bytes);
	assert_int_equal(st.failed, failed);
}

/* Allocations and frees balance to zero; every count is exact on the way. */
static void test_balance(void **state)
{
	struct ks_test_env e;
	struct ks_mem_type *type;
	void *p[100];
	uint64_t bytes = 0;

	ks_test_env_init(&e, topo_of(state));
	assert_int_equal(ks_mem_type_get(e.mem, "balance", 64, &type), 0);
	assert_stats(type, 0, 0, 0, 0, 0, 0);
	for (int i = 0; i < 100; i++) {
		p[i] = ks_mem_alloc(type, 1 + i * 7);
		assert_non_null(p[i]);
		memset(p[i], 0xa5, 1 + i * 7);
		bytes += 1 + i * 7;
	}
	assert_stats(type, 100, bytes, 100, 0, bytes, 0);
	for (int i = 0; i < 50; i++)
		assert_int_equal(ks_mem_free(type, p[i], 1 + i * 7), 0);
	{
		uint64_t freed = 0;

		for (int i = 0; i < 50; i++)
			freed += 1 + i * 7;
		assert_stats(type, 50, bytes - freed, 100, 50, bytes, 0);
	}
	for (int i = 50; i < 100; i++)
		assert_int_equal(ks_mem_free(type, p[i], 1 + i * 7), 0);
	assert_stats(type, 0, 0, 100, 100, bytes, 0);
	ks_test_env_fini(&e);
}

/* Two types count separately; totals add them; get-or-create finds by name. */
static void test_types_separate(void **state)
{
	struct ks_test_env e;
	struct ks_mem_type *a, *b, *again;
	struct ks_mem_type_stats st[4];
	void *pa[3], *pb[5];
	int64_t live;
	uint64_t total;
	size_t n;

	ks_test_env_init(&e, topo_of(state));
	assert_int_equal(ks_mem_type_get(e.mem, "pid", 128, &a), 0);
	assert_int_equal(ks_mem_type_get(e.mem, "dentry", 192, &b), 0);
	assert_ptr_not_equal(a, b);
	assert_int_equal(ks_mem_type_get(e.mem, "pid", 999, &again), 0);
	assert_ptr_equal(a, again);
	for (int i = 0; i < 3; i++)
		assert_non_null(pa[i] = ks_mem_alloc(a, 128));
	for (int i = 0; i < 5; i++)
		assert_non_null(pb[i] = ks_mem_zalloc(b, 192));
	assert_stats(a, 3, 384, 3, 0, 384, 0);
	assert_stats(b, 5, 960, 5, 0, 960, 0);
	assert_int_equal(ks_mem_totals(e.mem, &live, &total), 0);
	assert_int_equal(live, 384 + 960);
	assert_int_equal(total, 384 + 960);
	assert_int_equal(ks_mem_totals(e.mem, NULL, NULL), 0);

	assert_int_equal(ks_mem_read(e.mem, st, 4, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(st[0].name, "pid");
	assert_int_equal(st[0].objsize, 128); /* the first size given wins */
	assert_string_equal(st[1].name, "dentry");
	assert_int_equal(st[1].live_objs, 5);
	/* A short array still reports the full count. */
	assert_int_equal(ks_mem_read(e.mem, st, 1, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(ks_mem_read(e.mem, NULL, 0, &n), 0);
	assert_int_equal(n, 2);

	for (int i = 0; i < 3; i++)
		assert_int_equal(ks_mem_free(a, pa[i], 128), 0);
	for (int i = 0; i < 5; i++) {
		for (int j = 0; j < 192; j++)
			assert_int_equal(((unsigned char *)pb[i])[j], 0);
		assert_int_equal(ks_mem_free(b, pb[i], 192), 0);
	}
	ks_test_env_fini(&e);
}

struct cpu_arg {
	struct ks_mem_type *type;
	int cpu;
	void *p;
	size_t size;
};

static void *alloc_on_cpu(void *arg)
{
	struct cpu_arg *a = arg;

	/* No cmocka assertion off the main thread: the test checks a->p. */
	if (ks_cpu_set_current(a->cpu) == 0)
		a->p = ks_mem_alloc(a->type, a->size);
	return NULL;
}

/*
 * Counters are per CPU and summed on read: whatever CPU the allocation and the
 * free are made on (the last CPU of a 256-CPU topology, CPUs beyond the
 * topology that wrap, a free on another CPU than the allocation), the sums are
 * exact.
 */
static void test_percpu_slots(void **state)
{
	struct ks_test_env e;
	struct ks_mem_type *type;
	struct cpu_arg a;
	pthread_t th;
	int nr;
	void **p;

	ks_test_env_init(&e, topo_of(state));
	nr = ks_topo_nr_cpus(e.topo);
	assert_int_equal(ks_mem_type_get(e.mem, "slots", 32, &type), 0);

	/* A thread labelled CPU 255 (a real slot on 256 CPUs, wrapped otherwise). */
	a = (struct cpu_arg){ .type = type, .cpu = 255, .size = 40 };
	assert_int_equal(pthread_create(&th, NULL, alloc_on_cpu, &a), 0);
	pthread_join(th, NULL);
	assert_non_null(a.p);
	assert_stats(type, 1, 40, 1, 0, 40, 0);

	/* One allocation on every CPU, freed on the "next" CPU. */
	p = calloc(nr, sizeof(*p));
	assert_non_null(p);
	for (int cpu = 0; cpu < nr; cpu++) {
		assert_int_equal(ks_cpu_set_current(cpu), 0);
		assert_non_null(p[cpu] = ks_mem_alloc(type, 32));
	}
	assert_stats(type, 1 + nr, 40 + 32 * nr, 1 + nr, 0, 40 + 32 * nr, 0);
	for (int cpu = 0; cpu < nr; cpu++) {
		assert_int_equal(ks_cpu_set_current((cpu + 1) % nr), 0);
		assert_int_equal(ks_mem_free(type, p[cpu], 32), 0);
	}
	/* A label past the topology wraps onto a slot and still counts. */
	assert_int_equal(ks_cpu_set_current(KS_MAX_CPUS - 1), 0);
	assert_int_equal(ks_mem_free(type, a.p, 40), 0);
	assert_int_equal(ks_cpu_set_current(-1), 0);
	assert_stats(type, 0, 0, 1 + nr, 1 + nr, 40 + 32 * nr, 0);
	free(p);
	ks_test_env_fini(&e);
}

/* Node placement, alignment and zeroing give usable memory and count it. */
static void test_node_aligned_zero(void **state)
{
	struct ks_test_env e;
	struct ks_mem_type *type;
	size_t aligns[] = { 1, 8, 64, 4096 };
	int nodes;

	ks_test_env_init(&e, topo_of(state));
	nodes = ks_topo_nr_nodes(e.topo);
	assert_int_equal(ks_mem_type_get(e.mem, "placed", 100, &type), 0);
	for (int node = -1; node < nodes; node++) {
		char *p = ks_mem_alloc_node(type, 100, node);

		assert_non_null(p);
		memset(p, 1, 100);
		assert_int_equal(ks_mem_free(type, p, 100), 0);
	}
	for (size_t i = 0; i < KS_ARRAY_SIZE(aligns); i++) {
		/* 48 bytes aligned to 64 is another size class than 48 alone. */
		char *p = ks_mem_alloc_aligned(type, 48, aligns[i]);

		assert_non_null(p);
		assert_int_equal((uintptr_t)p % aligns[i], 0);
		memset(p, 2, 48);
		assert_int_equal(ks_mem_free(type, p, 48), 0);
	}
	assert_stats(type, 0, 0, nodes + 1 + 4, nodes + 1 + 4, 100 * (nodes + 1) + 48 * 4, 0);
	ks_test_env_fini(&e);
}

/* fail_nth fails exactly the nth allocation once; fail_every from the nth on. */
static void test_fault_injection(void **state)
{
	struct ks_test_env e;
	struct ks_mem_type *a, *b;
	void *p[8];

	ks_test_env_init(&e, topo_of(state));
	assert_int_equal(ks_mem_type_get(e.mem, "fa", 16, &a), 0);
	assert_int_equal(ks_mem_type_get(e.mem, "fb", 16, &b), 0);

	/* The countdown spans the domain's types; bad input does not count. */
	assert_int_equal(ks_mem_fail_nth(e.mem, 3), 0);
	assert_non_null(p[0] = ks_mem_alloc(a, 16));
	assert_null(ks_mem_alloc(a, 0));
	assert_non_null(p[1] = ks_mem_alloc(b, 16));
	assert_null(ks_mem_alloc(a, 16)); /* the 3rd */
	for (int i = 2; i < 8; i++)
		assert_non_null(p[i] = ks_mem_alloc(a, 16));
	assert_stats(a, 7, 112, 7, 0, 112, 2); /* failed: the injected one and size 0 */
	assert_stats(b, 1, 16, 1, 0, 16, 0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(ks_mem_free(i == 1 ? b : a, p[i], 16), 0);

	/* 1 = the very next one; zalloc, node and aligned paths count too. */
	assert_int_equal(ks_mem_fail_nth(e.mem, 1), 0);
	assert_null(ks_mem_zalloc(a, 16));
	assert_non_null(p[0] = ks_mem_alloc_node(a, 16, 0));
	assert_int_equal(ks_mem_fail_nth(e.mem, 2), 0);
	assert_non_null(p[1] = ks_mem_alloc_node(a, 16, -1));
	assert_null(ks_mem_alloc_aligned(a, 16, 64));
	assert_non_null(p[2] = ks_mem_alloc_aligned(a, 16, 64));
	for (int i = 0; i < 3; i++)
		assert_int_equal(ks_mem_free(a, p[i], 16), 0);

	/* Disarming before the nth leaves every allocation alone. */
	assert_int_equal(ks_mem_fail_nth(e.mem, 2), 0);
	assert_int_equal(ks_mem_fail_nth(e.mem, 0), 0);
	for (int i = 0; i < 4; i++)
		assert_non_null(p[i] = ks_mem_alloc(a, 16));
	for (int i = 0; i < 4; i++)
		assert_int_equal(ks_mem_free(a, p[i], 16), 0);

	/* fail_every(3): two succeed, then all fail until disarmed. */
	assert_int_equal(ks_mem_fail_every(e.mem, 3), 0);
	assert_non_null(p[0] = ks_mem_alloc(a, 16));
	assert_non_null(p[1] = ks_mem_alloc(b, 16));
	for (int i = 0; i < 10; i++)
		assert_null(ks_mem_alloc(i & 1 ? a : b, 16));
	assert_int_equal(ks_mem_fail_every(e.mem, 0), 0);
	assert_non_null(p[2] = ks_mem_alloc(a, 16));
	assert_int_equal(ks_mem_free(a, p[0], 16), 0);
	assert_int_equal(ks_mem_free(b, p[1], 16), 0);
	assert_int_equal(ks_mem_free(a, p[2], 16), 0);
	assert_int_equal(stats_of(a).failed, 2 + 1 + 1 + 5);
	assert_int_equal(stats_of(b).failed, 5);

	/* Re-arming fail_nth while fail_every is armed replaces it. */
	assert_int_equal(ks_mem_fail_every(e.mem, 1), 0);
	assert_int_equal(ks_mem_fail_nth(e.mem, 2), 0);
	assert_non_null(p[0] = ks_mem_alloc(a, 16));
	assert_null(ks_mem_alloc(a, 16));
	assert_non_null(p[1] = ks_mem_alloc(a, 16));
	assert_int_equal(ks_mem_free(a, p[0], 16), 0);
	assert_int_equal(ks_mem_free(a, p[1], 16), 0);

	assert_int_equal(ks_mem_fail_nth(NULL, 1), -EINVAL);
	assert_int_equal(ks_mem_fail_every(NULL, 1), -EINVAL);
	ks_test_env_fini(&e);
}

/* Every bad argument is refused, counted where there is a type, never fatal. */
static void test_bad_input(void **state)
{
	struct ks_test_env e;
	struct ks_mem_type *type, *t2;
	struct ks_mem_type_stats st;
	char name[64];
	size_t n;
	int nodes;
	void *p;

	ks_test_env_init(&e, topo_of(state));
	nodes = ks_topo_nr_nodes(e.topo);
	assert_int_equal(ks_mem_create(NULL, NULL), -EINVAL);
	assert_int_equal(ks_mem_destroy(NULL), -EINVAL);

	/* Names: NULL, empty, 47 chars fits, 48 does not, blanks break the table. */
	type = (struct ks_mem_type *)0x1;
	assert_int_equal(ks_mem_type_get(NULL, "x", 1, &type), -EINVAL);
	assert_null(type);
	assert_int_equal(ks_mem_type_get(e.mem, NULL, 1, &type), -EINVAL);
	assert_int_equal(ks_mem_type_get(e.mem, "x", 1, NULL), -EINVAL);
	assert_int_equal(ks_mem_type_get(e.mem, "", 1, &type), -EINVAL);
	assert_int_equal(ks_mem_type_get(e.mem, "two words", 1, &type), -EINVAL);
	assert_int_equal(ks_mem_type_get(e.mem, "tab\t", 1, &type), -EINVAL);
	memset(name, 'n', sizeof(name));
	name[KS_MEM_TYPE_NAME_MAX] = '\0';
	assert_int_equal(ks_mem_type_get(e.mem, name, 1, &type), -EINVAL);
	name[KS_MEM_TYPE_NAME_MAX - 1] = '\0';
	assert_int_equal(ks_mem_type_get(e.mem, name, 1, &type), 0);
	assert_int_equal(stats_of(type).objsize, 1);
	assert_int_equal(strlen(stats_of(type).name), KS_MEM_TYPE_NAME_MAX - 1);

	/* Allocations: NULL type, size 0 or over 1 GiB, bad node, bad align. */
	assert_null(ks_mem_alloc(NULL, 8));
	assert_null(ks_mem_zalloc(NULL, 8));
	assert_null(ks_mem_alloc_node(NULL, 8, 0));
	assert_null(ks_mem_alloc_aligned(NULL, 8, 8));
	assert_null(ks_mem_alloc(type, 0));
	assert_null(ks_mem_alloc(type, (1ul << 30) + 1));
	assert_null(ks_mem_zalloc(type, SIZE_MAX));
	assert_null(ks_mem_alloc_node(type, 8, -2));
	assert_null(ks_mem_alloc_node(type, 8, nodes));
	assert_null(ks_mem_alloc_aligned(type, 8, 0));
	assert_null(ks_mem_alloc_aligned(type, 8, 3));
	assert_null(ks_mem_alloc_aligned(type, 8, 48));
	assert_null(ks_mem_alloc_aligned(type, 8, (size_t)1 << 31));
	st = stats_of(type);
	assert_int_equal(st.failed, 9);
	assert_int_equal(st.allocs, 0);

	/* Frees: NULL type, NULL pointer ignored, size 0 or wrong: refused, kept. */
	assert_non_null(p = ks_mem_alloc(type, 24));
	assert_int_equal(ks_mem_free(NULL, p, 24), -EINVAL);
	assert_int_equal(ks_mem_free(type, NULL, 24), 0);
	assert_int_equal(ks_mem_free(type, NULL, 0), 0);
	assert_int_equal(ks_mem_free(type, p, 0), -EINVAL);
	assert_int_equal(ks_mem_free(type, p, (1ul << 30) + 1), -EINVAL);
	if (strcmp(ks_mem_backend(), "libc") == 0) {
		/* libc's usable size lets a larger size be caught (exact under ASan). */
		assert_int_equal(ks_mem_free(type, p, 1u << 20), -EINVAL);
	}
	assert_int_equal(stats_of(type).live_objs, 1);
	assert_int_equal(ks_mem_free(type, p, 24), 0);

	/* Readers. */
	assert_int_equal(ks_mem_type_read(NULL, &st), -EINVAL);
	assert_int_equal(ks_mem_type_read(type, NULL), -EINVAL);
	assert_int_equal(ks_mem_read(NULL, &st, 1, &n), -EINVAL);
	assert_int_equal(ks_mem_read(e.mem, &st, 1, NULL), -EINVAL);
	assert_int_equal(ks_mem_read(e.mem, NULL, 1, &n), -EINVAL);
	assert_int_equal(ks_mem_totals(NULL, NULL, NULL), -EINVAL);
	assert_int_equal(ks_mem_print(NULL, stdout), -EINVAL);
	assert_int_equal(ks_mem_print(e.mem, NULL), -EINVAL);

	/* 256 types fit, the 257th does not; existing names are still found. */
	for (int i = 1; i < 256; i++) {
		snprintf(name, sizeof(name), "type%d", i);
		assert_int_equal(ks_mem_type_get(e.mem, name, i, &t2), 0);
	}
	assert_int_equal(ks_mem_read(e.mem, NULL, 0, &n), 0);
	assert_int_equal(n, 256);
	t2 = (struct ks_mem_type *)0x1;
	assert_int_equal(ks_mem_type_get(e.mem, "type256", 1, &t2), -ENOSPC);
	assert_null(t2);
	assert_int_equal(ks_mem_type_get(e.mem, "type255", 1, &t2), 0);
	assert_non_null(t2);
	ks_test_env_fini(&e);
}

/* ks_mem_destroy() counts what was left live, without freeing it. */
static void test_destroy_counts_live(void **state)
{
	struct ks_test_env e;
	struct ks_mem *m;
	struct ks_mem_type *a, *b;
	void *p[3];

	ks_test_env_init(&e, topo_of(state));
	assert_int_equal(ks_mem_create(e.topo, &m), 0);
	assert_int_equal(ks_mem_type_get(m, "left", 8, &a), 0);
	assert_int_equal(ks_mem_type_get(m, "right", 8, &b), 0);
	assert_non_null(p[0] = ks_mem_alloc(a, 8));
	assert_non_null(p[1] = ks_mem_alloc(a, 8));
	assert_non_null(p[2] = ks_mem_alloc(b, 8));
	assert_int_equal(ks_mem_free(a, p[1], 8), 0);
	assert_int_equal(ks_mem_destroy(m), 2);
	/* The objects are the owner's: with either backend free() takes them. */
	free(p[0]);
	free(p[2]);

	assert_int_equal(ks_mem_create(e.topo, &m), 0);
	assert_int_equal(ks_mem_destroy(m), 0);
	ks_test_env_fini(&e);
}

/* The table has one header and one row per type, and its numbers are the stats. */
static void test_print_parses(void **state)
{
	struct ks_test_env e;
	struct ks_mem_type *a, *b;
	char *buf = NULL, *line, *save = NULL;
	size_t len = 0;
	int rows = 0;
	FILE *f;
	void *p[4];

	ks_test_env_init(&e, topo_of(state));
	assert_int_equal(ks_mem_type_get(e.mem, "proc_inode", 680, &a), 0);
	assert_int_equal(ks_mem_type_get(e.mem, "pid", 112, &b), 0);
	for (int i = 0; i < 3; i++)
		assert_non_null(p[i] = ks_mem_alloc(a, 680));
	assert_non_null(p[3] = ks_mem_alloc(b, 100));
	assert_int_equal(ks_mem_free(a, p[2], 680), 0);
	assert_null(ks_mem_alloc(b, 0));

	f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(ks_mem_print(e.mem, f), 0);
	fclose(f);

	line = strtok_r(buf, "\n", &save);
	assert_non_null(line);
	assert_non_null(strstr(line, "active_objs"));
	assert_true(line[0] == '#');
	while ((line = strtok_r(NULL, "\n", &save))) {
		char name[64];
		long long live, lbytes;
		unsigned long long objsize, allocs, frees, bytes, failed;

		assert_int_equal(sscanf(line, "%63s %lld %llu %lld %llu %llu %llu %llu", name,
					&live, &objsize, &lbytes, &allocs, &frees, &bytes,
					&failed), 8);
		if (strcmp(name, "proc_inode") == 0) {
			assert_int_equal(live, 2);
			assert_int_equal(objsize, 680);
			assert_int_equal(lbytes, 1360);
			assert_int_equal(allocs, 3);
			assert_int_equal(frees, 1);
			assert_int_equal(bytes, 2040);
			assert_int_equal(failed, 0);
		} else {
			assert_string_equal(name, "pid");
			assert_int_equal(live, 1);
			assert_int_equal(objsize, 112);
			assert_int_equal(lbytes, 100);
			assert_int_equal(failed, 1);
		}
		rows++;
	}
	assert_int_equal(rows, 2);
	free(buf);

	/* A stream that cannot be written to gives -EIO. */
	f = fopen("/dev/full", "w");
	if (f) {
		setvbuf(f, NULL, _IONBF, 0);
		assert_int_equal(ks_mem_print(e.mem, f), -EIO);
		fclose(f);
	}
	assert_int_equal(ks_mem_free(a, p[0], 680), 0);
	assert_int_equal(ks_mem_free(a, p[1], 680), 0);
	assert_int_equal(ks_mem_free(b, p[3], 100), 0);
	ks_test_env_fini(&e);
}

/* The backend and dependency strings name what the library was built with. */
static void test_backend_and_versions(void **state)
{
	char buf[256], small[8];
	const char *be = ks_mem_backend();
	int n;

	assert_non_null(be);
	assert_true(strcmp(be, "libc") == 0 || strncmp(be, "jemalloc 5.", 11) == 0);
	assert_string_equal(ks_version(), KS_VERSION_STRING);

	n = ks_dependency_versions(buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(n, strlen(buf));
	assert_non_null(strstr(buf, "liburcu-"));
	assert_non_null(strstr(buf, ks_rcu_flavor()));
	assert_non_null(strstr(buf, "hwloc 2."));
	assert_non_null(strstr(buf, be));
	assert_int_equal(ks_dependency_versions(small, sizeof(small)), -ENOSPC);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_int_equal(ks_dependency_versions(NULL, 10), -EINVAL);
	assert_int_equal(ks_dependency_versions(buf, 0), -EINVAL);
}

/* A NULL topology means the real machine. */
static void test_default_topology(void **state)
{
	struct ks_mem *m;
	struct ks_mem_type *type;
	void *p;

	assert_int_equal(ks_mem_create(NULL, &m), 0);
	assert_int_equal(ks_mem_type_get(m, "real", 8, &type), 0);
	assert_non_null(p = ks_mem_alloc(type, 8));
	assert_int_equal(ks_mem_free(type, p, 8), 0);
	ks_test_assert_mem_balanced(m);
	assert_int_equal(ks_mem_destroy(m), 0);
}

/* Register each topology-dependent test once per ks_test_topologies entry. */
int main(void)
{
	static const struct {
		const char *name;
		CMUnitTestFunction fn;
	} per_topo[] = {
		{ "balance", test_balance },
		{ "types_separate", test_types_separate },
		{ "percpu_slots", test_percpu_slots },
		{ "node_aligned_zero", test_node_aligned_zero },
		{ "fault_injection", test_fault_injection },
		{ "bad_input", test_bad_input },
		{ "destroy_counts_live", test_destroy_counts_live },
		{ "print_parses", test_print_parses },
	};
	size_t nr = KS_ARRAY_SIZE(per_topo) * ks_test_nr_topologies + 2, i = 0;
	struct CMUnitTest *tests = calloc(nr, sizeof(*tests));
	char **names = calloc(nr, sizeof(*names));
	int ret;

	if (!tests || !names)
		return 1;
	for (size_t f = 0; f < KS_ARRAY_SIZE(per_topo); f++) {
		for (size_t t = 0; t < ks_test_nr_topologies; t++, i++) {
			if (asprintf(&names[i], "%s [%s]", per_topo[f].name,
				     ks_test_topologies[t]) < 0)
				return 1;
			tests[i] = (struct CMUnitTest){
				.name = names[i],
				.test_func = per_topo[f].fn,
				.initial_state = (void *)ks_test_topologies[t],
			};
		}
	}
	tests[i++] = (struct CMUnitTest)cmocka_unit_test(test_backend_and_versions);
	tests[i++] = (struct CMUnitTest)cmocka_unit_test(test_default_topology);
	ret = _cmocka_run_group_tests("test_mem", tests, nr, NULL, NULL);
	for (i = 0; i < nr; i++)
		free(names[i]);
	free(names);
	free(tests);
	return ret;
}
