// SPDX-License-Identifier: MIT
/*
 * slab under stress, for every strategy: cgroups created and removed,
 * allocations and frees (some after their cgroup went offline) from many
 * labelled CPUs, root caches created and destroyed, and slabinfo read with
 * both iterators, all at once. The cursor iterator must never miss or repeat
 * a row; at the end every object, cache and cgroup is accounted for and the
 * leak oracle holds. Meant for TSan (label "concurrent").
 */
#include "ks_test.h"

#include <errno.h>
#include <kscale/slab.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NR_ROOTS 6
#define NR_SLOTS 16
#define HELD 64

struct shared {
	struct ks_slab_sys *s;
	struct ks_kmem_cache *c[NR_ROOTS];
	uint64_t slot[NR_SLOTS]; /* published cgroup ids, 0 = empty */
	int stop;
	int nr_cpus;
	uint64_t cursor_bad, passes[2], allocs, enoent;
};

struct worker {
	struct shared *sh;
	int id;
	pthread_t t;
};

static int stopped(struct shared *sh)
{
	return __atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE);
}

static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void *cgroup_churn(void *arg)
{
	struct worker *w = arg;
	struct shared *sh = w->sh;
	uint64_t seed = 0x9e3779b9u + (uint64_t)w->id;

	ks_rcu_register_thread();
	ks_cpu_set_current(w->id % sh->nr_cpus);
	while (!stopped(sh)) {
		int i = (int)(rnd(&seed) % NR_SLOTS);
		uint64_t old = __atomic_exchange_n(&sh->slot[i], 0, __ATOMIC_ACQ_REL), id;

		if (old)
			assert_int_equal(ks_memcg_remove(sh->s, old), 0);
		if (!ks_memcg_create(sh->s, KS_MEMCG_ROOT, &id))
			__atomic_store_n(&sh->slot[i], id, __ATOMIC_RELEASE);
	}
	ks_rcu_unregister_thread();
	return NULL;
}

static void *alloc_free(void *arg)
{
	struct worker *w = arg;
	struct shared *sh = w->sh;
	struct {
		int c;
		void *p;
	} held[HELD] = { { 0, NULL } };
	uint64_t seed = 0x1234567u * (uint64_t)(w->id + 1), n = 0, enoent = 0;

	ks_rcu_register_thread();
	ks_cpu_set_current(w->id % sh->nr_cpus);
	while (!stopped(sh)) {
		int h = (int)(rnd(&seed) % HELD);
		int c = (int)(rnd(&seed) % NR_ROOTS);
		uint64_t cg = __atomic_load_n(&sh->slot[rnd(&seed) % NR_SLOTS], __ATOMIC_ACQUIRE);
		int r;

		if (held[h].p) {
			assert_int_equal(ks_kmem_cache_free(sh->c[held[h].c], held[h].p), 0);
			held[h].p = NULL;
		}
		r = ks_kmem_cache_alloc(sh->c[c], rnd(&seed) % 4 ? cg : KS_MEMCG_ROOT, &held[h].p);
		if (r == -ENOENT) {
			enoent++; /* the cgroup went away meanwhile */
			held[h].p = NULL;
			continue;
		}
		assert_int_equal(r, 0);
		memset(held[h].p, 0xa5, 8);
		held[h].c = c;
		n++;
	}
	for (int h = 0; h < HELD; h++)
		if (held[h].p)
			assert_int_equal(ks_kmem_cache_free(sh->c[held[h].c], held[h].p), 0);
	__atomic_add_fetch(&sh->allocs, n, __ATOMIC_RELAXED);
	__atomic_add_fetch(&sh->enoent, enoent, __ATOMIC_RELAXED);
	ks_rcu_unregister_thread();
	return NULL;
}

static void *root_churn(void *arg)
{
	struct worker *w = arg;
	struct shared *sh = w->sh;
	struct ks_kmem_cache *c;
	char name[32];
	int k = 0;

	ks_rcu_register_thread();
	ks_cpu_set_current(w->id % sh->nr_cpus);
	while (!stopped(sh)) {
		snprintf(name, sizeof(name), "churn%d", k++ % 50);
		assert_int_equal(ks_kmem_cache_create(sh->s, name, 40, 0,
						      k % 3 ? 0 : KS_SLAB_TYPESAFE_BY_RCU, &c), 0);
		assert_int_equal(ks_kmem_cache_destroy(c), 0);
	}
	ks_rcu_unregister_thread();
	return NULL;
}

static void *reader(void *arg)
{
	struct worker *w = arg;
	struct shared *sh = w->sh;
	bool cursor = w->id % 2;
	struct ks_slabinfo *fi;
	struct ks_slabinfo_pass p;
	char buf[4096];
	ssize_t n;

	ks_rcu_register_thread();
	ks_cpu_set_current(w->id % sh->nr_cpus);
	assert_int_equal(ks_slabinfo_open(sh->s, cursor ? "cursor" : "reseek", &fi), 0);
	while (!stopped(sh)) {
		assert_int_equal(ks_slabinfo_rewind(fi), 0);
		while ((n = ks_slabinfo_read(fi, buf, (size_t)(w->id * 97 % 4096) + 1)) > 0)
			;
		assert_int_equal(n, 0);
		assert_int_equal(ks_slabinfo_last_pass(fi, &p), 0);
		if (cursor && (p.missing || p.duplicates))
			__atomic_add_fetch(&sh->cursor_bad, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&sh->passes[cursor], 1, __ATOMIC_RELAXED);
	}
	ks_slabinfo_close(fi);
	ks_rcu_unregister_thread();
	return NULL;
}

static void test_stress(void **state)
{
	const char *strategy = *state;
	int nthreads = ks_test_stress_threads();
	double secs = ks_test_stress_seconds() / 5;
	struct ks_slab_opts o = { 0 };
	struct ks_slab_stats st;
	struct ks_test_env e;
	struct shared sh;
	struct worker *w;
	char name[16];
	int r;

	if (nthreads < 6)
		nthreads = 6;
	r = ks_rcu_register_thread();
	assert_true(r == 0 || r == -EALREADY);
	memset(&sh, 0, sizeof(sh));
	ks_test_env_init(&e, "synthetic:pack:2 numa:2 core:8 pu:2");
	o.topo = e.topo;
	o.locks = e.locks;
	o.mem = e.mem;
	o.rcu_batch = 4;
	assert_int_equal(ks_slab_create(strategy, &o, &sh.s), 0);
	sh.nr_cpus = ks_topo_nr_cpus(e.topo);
	for (int i = 0; i < NR_ROOTS; i++) {
		snprintf(name, sizeof(name), "root%d", i);
		assert_int_equal(ks_kmem_cache_create(sh.s, name, 24 + 100 * (size_t)i, 0,
						      i == 1 ? KS_SLAB_TYPESAFE_BY_RCU : 0,
						      &sh.c[i]), 0);
	}
	w = calloc((size_t)nthreads, sizeof(*w));
	assert_non_null(w);
	for (int i = 0; i < nthreads; i++) {
		void *(*fn)(void *) = i == 0 ? cgroup_churn : i == 1 ? root_churn :
				      i < 4 ? reader : alloc_free;

		w[i].sh = &sh;
		w[i].id = i;
		assert_int_equal(pthread_create(&w[i].t, NULL, fn, &w[i]), 0);
	}
	{
		struct timespec ts = { (time_t)secs, (long)((secs - (time_t)secs) * 1e9) };

		nanosleep(&ts, NULL);
	}
	__atomic_store_n(&sh.stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < nthreads; i++)
		pthread_join(w[i].t, NULL);
	free(w);
	for (int i = 0; i < NR_SLOTS; i++)
		if (sh.slot[i])
			assert_int_equal(ks_memcg_remove(sh.s, sh.slot[i]), 0);
	assert_int_equal(ks_slab_flush(sh.s), 0);
	assert_int_equal(ks_slab_stats(sh.s, &st), 0);
	assert_int_equal(st.objs_live, 0);
	assert_int_equal(st.memcgs_online, 0);
	assert_int_equal(st.memcgs_dying, 0);
	assert_int_equal(st.child_caches, 0);
	assert_int_equal(st.offlines, st.releases);
	assert_int_equal(sh.cursor_bad, 0);
	assert_true(sh.allocs > 0);
	assert_true(sh.passes[0] > 0 && sh.passes[1] > 0);
	if (strcmp(strategy, "call-rcu-only")) {
		assert_int_equal(st.unsafe_cache_frees, 0);
		assert_int_equal(st.late_rcu_callbacks, 0);
	}
	for (int i = 0; i < NR_ROOTS; i++)
		assert_int_equal(ks_kmem_cache_destroy(sh.c[i]), 0);
	ks_slab_destroy(sh.s);
	ks_test_env_fini(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate(test_stress, "percache-4.10"),
		cmocka_unit_test_prestate(test_stress, "lists-4.11"),
		cmocka_unit_test_prestate(test_stress, "objcg-5.9"),
		cmocka_unit_test_prestate(test_stress, "objcg-5.14"),
		cmocka_unit_test_prestate(test_stress, "call-rcu-only"),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
