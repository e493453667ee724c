// SPDX-License-Identifier: MIT
/*
 * mem under concurrency: threads labelled with distinct CPUs of a 256-CPU
 * topology (and two unlabelled ones, which share per-CPU slots with whoever
 * else the scheduler puts there) create their types concurrently, allocate
 * and free on every path while a reader sums the counters and prints the
 * table, and a fault injected into the middle of it all fails exactly one
 * allocation. At the end every count equals what the threads did.
 */
#define _GNU_SOURCE
#include "ks_test.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RING 64
#define FAIL_AT 20000

struct obj_ref {
	void *p;
	size_t size;
	struct ks_mem_type *type;
};

struct worker {
	struct ks_mem *mem;
	int cpu; /* -1: unlabelled */
	int id;
	int *stop;
	pthread_t th;
	int err; /* no cmocka assertions off the main thread */
	struct ks_mem_type *shared, *own;
	struct obj_ref ring[RING];
	/* What this thread did, per type: [0] shared, [1] own. */
	uint64_t allocs[2], frees[2], bytes[2], freed_bytes[2];
	uint64_t failed;
};

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	uint64_t seed = 0x9e3779b97f4a7c15ull * (w->id + 1);
	char name[32];

	if (w->cpu >= 0 && ks_cpu_set_current(w->cpu))
		w->err = 1;
	/* Get-or-create races with every other thread on "shared". */
	snprintf(name, sizeof(name), "own%d", w->id);
	if (ks_mem_type_get(w->mem, "shared", 64, &w->shared) ||
	    ks_mem_type_get(w->mem, name, 32, &w->own)) {
		w->err = 2;
		return NULL;
	}
	while (!__atomic_load_n(w->stop, __ATOMIC_RELAXED)) {
		uint64_t r = rnd(&seed);
		struct obj_ref *o = &w->ring[r % RING];
		int t = (r >> 8) & 1;

		if (o->p) {
			if (ks_mem_free(o->type, o->p, o->size)) {
				w->err = 3;
				return NULL;
			}
			w->frees[o->type == w->own]++;
			w->freed_bytes[o->type == w->own] += o->size;
			o->p = NULL;
			continue;
		}
		o->type = t ? w->own : w->shared;
		o->size = 1 + ((r >> 16) % 512);
		switch ((r >> 32) % 4) {
		case 0:
			o->p = ks_mem_alloc(o->type, o->size);
			break;
		case 1:
			o->p = ks_mem_zalloc(o->type, o->size);
			break;
		case 2:
			o->p = ks_mem_alloc_node(o->type, o->size, -1);
			break;
		default:
			o->p = ks_mem_alloc_aligned(o->type, o->size, 64);
			break;
		}
		if (!o->p) {
			w->failed++;
			continue;
		}
		/* Write it all: ASan checks the size, TSan the ownership. */
		memset(o->p, w->id, o->size);
		w->allocs[t]++;
		w->bytes[t] += o->size;
	}
	return NULL;
}

static void *read_stats(void *arg)
{
	struct worker *w = arg;
	struct ks_mem_type_stats st[64];
	uint64_t last = 0;
	FILE *null = fopen("/dev/null", "w");
	size_t n;

	while (!__atomic_load_n(w->stop, __ATOMIC_RELAXED)) {
		uint64_t allocs = 0;
		uint64_t total;

		if (ks_mem_read(w->mem, st, KS_ARRAY_SIZE(st), &n) ||
		    ks_mem_totals(w->mem, NULL, &total) ||
		    (null && ks_mem_print(w->mem, null))) {
			w->err = 4;
			break;
		}
		for (size_t i = 0; i < n && i < KS_ARRAY_SIZE(st); i++)
			allocs += st[i].allocs;
		/* Cumulative counters never go backwards. */
		if (allocs < last)
			w->err = 5;
		last = allocs;
	}
	if (null)
		fclose(null);
	return NULL;
}

static void test_concurrent_accounting(void **state)
{
	struct ks_test_env e;
	int nr = ks_test_stress_threads() + 2, stop = 0;
	struct worker *w = calloc(nr + 1, sizeof(*w));
	struct timespec ts;
	double secs = ks_test_stress_seconds();
	uint64_t sum[2][4] = { { 0 } }, failed = 0, attempts = 0;
	struct ks_mem_type_stats st;

	assert_non_null(w);
	ks_test_env_init(&e, "synthetic:pack:4 numa:2 core:16 pu:2");
	/* Armed from the start: exactly one of all allocations must fail. */
	assert_int_equal(ks_mem_fail_nth(e.mem, FAIL_AT), 0);
	for (int i = 0; i <= nr; i++) {
		w[i].mem = e.mem;
		w[i].id = i;
		w[i].stop = &stop;
		/* Distinct CPUs spread over packages; the last two unlabelled. */
		w[i].cpu = i < nr - 2 ? (i * 37) % 256 : -1;
		assert_int_equal(pthread_create(&w[i].th, NULL, i < nr ? work : read_stats,
						&w[i]), 0);
	}
	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i <= nr; i++) {
		pthread_join(w[i].th, NULL);
		assert_int_equal(w[i].err, 0);
	}

	for (int i = 0; i < nr; i++) {
		for (int t = 0; t < 2; t++) {
			sum[t][0] += w[i].allocs[t];
			sum[t][1] += w[i].frees[t];
			sum[t][2] += w[i].bytes[t];
			sum[t][3] += w[i].freed_bytes[t];
			attempts += w[i].allocs[t];
		}
		failed += w[i].failed;
		/* Every thread got the same "shared" type. */
		assert_ptr_equal(w[i].shared, w[0].shared);
		assert_ptr_not_equal(w[i].own, w[0].shared);
		assert_int_equal(ks_mem_type_read(w[i].own, &st), 0);
		assert_int_equal(st.allocs, w[i].allocs[1]);
		assert_int_equal(st.frees, w[i].frees[1]);
		assert_int_equal(st.bytes_allocated, w[i].bytes[1]);
		assert_int_equal(st.live_bytes, (int64_t)(w[i].bytes[1] - w[i].freed_bytes[1]));
	}
	attempts += failed;
	assert_int_equal(failed, attempts >= FAIL_AT ? 1 : 0);
	assert_int_equal(ks_mem_type_read(w[0].shared, &st), 0);
	assert_int_equal(st.allocs, sum[0][0]);
	assert_int_equal(st.frees, sum[0][1]);
	assert_int_equal(st.bytes_allocated, sum[0][2]);
	assert_int_equal(st.live_objs, (int64_t)(sum[0][0] - sum[0][1]));
	assert_int_equal(st.live_bytes, (int64_t)(sum[0][2] - sum[0][3]));
	print_message("stress_mem: %d threads, %llu allocations, %llu frees, %llu failed\n",
		      nr, (unsigned long long)(sum[0][0] + sum[1][0]),
		      (unsigned long long)(sum[0][1] + sum[1][1]), (unsigned long long)failed);

	/* The main thread frees what is left, on another CPU than the allocation. */
	assert_int_equal(ks_cpu_set_current(3), 0);
	for (int i = 0; i < nr; i++)
		for (int j = 0; j < RING; j++)
			if (w[i].ring[j].p)
				assert_int_equal(ks_mem_free(w[i].ring[j].type, w[i].ring[j].p,
							     w[i].ring[j].size), 0);
	assert_int_equal(ks_cpu_set_current(-1), 0);
	free(w);
	ks_test_env_fini(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_concurrent_accounting),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
