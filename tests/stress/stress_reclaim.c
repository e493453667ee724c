// SPDX-License-Identifier: MIT
/*
 * Stress: producers labelled with CPUs of a 64-CPU topology create and tear
 * down namespaces with populated fragment tables while readers traverse
 * every namespace's tables under RCU, for every strategy and every barrier.
 * Readers must never reach a poisoned object (-EFAULT), no callback may find
 * its fqdir freed, nothing may be freed early or twice, and everything is
 * freed after the drain. Producers hold back when 32 namespaces are waiting,
 * so per-object's backlog stays small enough to drain within the test.
 * Debug and TSan builds run with a small quarantine of freed namespace
 * headers, so that frees racing for its slots (call_rcu workers under
 * "refcount") evict from it concurrently.
 */
#include "ks_test.h"

#include <kscale/reclaim.h>

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

struct worker {
	struct ks_reclaim *r;
	pthread_t th;
	int cpu;
	bool reader;
	uint64_t end_ns;
	uint64_t ops;
	long err;
};

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	struct timespec ms = { 0, 1000000 };

	ks_cpu_set_current(w->cpu);
	ks_rcu_register_thread();
	while (ks_clock_ns() < w->end_ns && !w->err) {
		if (w->reader) {
			long v = ks_reclaim_lookup(w->r, w->ops & 7, NULL);

			if (v < 0)
				w->err = v;
		} else {
			struct ks_reclaim_stats st;
			struct ks_netns *ns;
			int ret;

			ks_reclaim_stats(w->r, &st);
			if (st.pending_netns > 32) {
				nanosleep(&ms, NULL);
				continue;
			}
			ret = ks_netns_create(w->r, &ns);
			if (!ret && (w->ops & 3) == 0) {
				/* Another holder, as a socket holds its netns. */
				ret = ks_netns_get(ns);
				if (!ret) {
					struct ks_netns *second = ns;

					ret = ks_netns_put(w->r, &second);
				}
			}
			if (!ret)
				ret = ks_netns_put(w->r, &ns);
			if (ret)
				w->err = ret;
		}
		w->ops++;
	}
	ks_rcu_unregister_thread();
	return NULL;
}

static void stress_one(const char *strategy, const char *barrier, double seconds)
{
	int nr = ks_test_stress_threads();
	struct ks_reclaim_opts o = { 0 };
	struct ks_reclaim_stats st;
	struct ks_reclaim *r;
	struct ks_test_env e;
	struct worker w[64];
	uint64_t made = 0;

	if (nr > 64)
		nr = 64;
	if (nr < 2)
		nr = 2;
	ks_test_env_init(&e, "synthetic:pack:2 numa:2 core:8 pu:2");
	o.topo = e.topo;
	o.locks = e.locks;
	o.mem = e.mem;
	o.barrier = barrier;
	o.fqdirs = 4;
	o.frags = 8;
	o.buckets = 4;
	o.netns_bytes = 4096;
	o.delay_ms = 50;
	o.wq_workers = 8;
	o.rcu_workers = 8;
	o.quarantine = 16;
	assert_int_equal(ks_reclaim_create(strategy, &o, &r), 0);
	memset(w, 0, sizeof(w));
	for (int i = 0; i < nr; i++) {
		w[i].r = r;
		w[i].cpu = (i * 8 + i / 8) % 64;
		w[i].reader = i & 1;
		w[i].end_ns = ks_clock_ns() + (uint64_t)(seconds * 1e9);
		assert_int_equal(pthread_create(&w[i].th, NULL, worker_fn, &w[i]), 0);
	}
	for (int i = 0; i < nr; i++) {
		pthread_join(w[i].th, NULL);
		if (w[i].err)
			fail_msg("%s/%s: %s thread %d: %ld", strategy, barrier,
				 w[i].reader ? "reader" : "producer", i, w[i].err);
		if (!w[i].reader)
			made += w[i].ops;
	}
	assert_int_equal(ks_reclaim_drain(r), 0);
	assert_int_equal(ks_reclaim_stats(r, &st), 0);
	assert_true(made >= 1);
	assert_int_equal(st.netns_created, st.netns_freed);
	assert_int_equal(st.fqdirs_freed, st.netns_freed * 4);
	assert_int_equal(st.frags_freed, st.netns_freed * 4 * 8);
	assert_int_equal(st.pending_bytes, 0);
	assert_int_equal(st.poison_hits, 0);
	assert_int_equal(st.early_frees, 0);
	assert_int_equal(st.double_frees, 0);
	/* Every freed header is in quarantine or was evicted from it, once. */
	if (st.quarantine_cap) {
		assert_int_equal(st.quarantine_cap, 16);
		assert_true(st.quarantined >= 0 && st.quarantined <= 16);
		assert_int_equal((uint64_t)st.quarantined + st.quarantine_evicted,
				 st.netns_freed);
	}
	if (!strcmp(strategy, "refcount"))
		assert_int_equal(st.barrier.calls, 0);
	assert_int_equal(ks_reclaim_destroy(r), 0);
	ks_test_env_fini(&e);
}

static void stress_strategy(void **state)
{
	static const char *const barriers[] = { "native", "kernel", "waitq" };

	for (size_t i = 0; i < KS_ARRAY_SIZE(barriers); i++)
		stress_one(*state, barriers[i], ks_test_stress_seconds() / 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate(stress_strategy, "per-object"),
		cmocka_unit_test_prestate(stress_strategy, "batched"),
		cmocka_unit_test_prestate(stress_strategy, "batched-delayed"),
		cmocka_unit_test_prestate(stress_strategy, "refcount"),
	};

	ks_rcu_register_thread();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
