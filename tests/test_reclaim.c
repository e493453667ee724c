// SPDX-License-Identifier: MIT
/*
 * reclaim: every strategy frees every object exactly once, never before its
 * callbacks ran, takes the barriers its kernel version takes, and rejects
 * bad input. One body per test, registered for every strategy.
 */
#include "ks_test.h"

#include <kscale/reclaim.h>

#include "reclaim/internal.h" /* the poison test plays a broken strategy */

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#define NR_NS 12
#define FQDIRS 4
#define FRAGS 6

static const char *const barriers[] = { "native", "kernel", "waitq" };

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static int setup_reg(void **state)
{
	(void)state;
	ks_rcu_register_thread();
	return 0;
}

static int teardown_reg(void **state)
{
	(void)state;
	ks_rcu_unregister_thread();
	return 0;
}

static void opts_for(struct ks_reclaim_opts *o, const struct ks_test_env *e, const char *barrier)
{
	int nr = ks_topo_nr_cpus(e->topo);

	memset(o, 0, sizeof(*o));
	o->topo = e->topo;
	o->locks = e->locks;
	o->mem = e->mem;
	o->barrier = barrier;
	o->fqdirs = FQDIRS;
	o->frags = FRAGS;
	o->buckets = 4;
	o->netns_bytes = 8192;
	o->delay_ms = 30;
	o->wq_workers = nr < 6 ? (unsigned int)nr : 6;
	o->rcu_workers = 6;
}

static void test_strategies_listed(void **state)
{
	size_t n = 0;
	const struct ks_strategy_info *s = ks_reclaim_strategies(&n);

	(void)state;
	assert_int_equal(n, 4);
	assert_string_equal(s[0].name, "per-object");
	assert_string_equal(s[1].name, "batched");
	assert_string_equal(s[2].name, "batched-delayed");
	assert_string_equal(s[3].name, "refcount");
	for (size_t i = 0; i < n; i++)
		assert_non_null(s[i].source);
}

/*
 * Create and tear down namespaces on every topology and barrier: all freed
 * once, none early, and the barrier count is the strategy's own.
 */
static void test_lifecycle(void **state)
{
	const char *strategy = *state;

	for (size_t t = 0; t < ks_test_nr_topologies; t++) {
		for (size_t bi = 0; bi < KS_ARRAY_SIZE(barriers); bi++) {
			struct ks_reclaim_opts o;
			struct ks_reclaim_stats st;
			struct ks_netns *ns[NR_NS];
			struct ks_reclaim *r;
			struct ks_test_env e;
			uint64_t found = 0;

			ks_test_env_init(&e, ks_test_topologies[t]);
			opts_for(&o, &e, barriers[bi]);
			assert_int_equal(ks_reclaim_create(strategy, &o, &r), 0);
			for (int i = 0; i < NR_NS; i++) {
				ks_cpu_set_current(i % ks_topo_nr_cpus(e.topo));
				assert_int_equal(ks_netns_create(r, &ns[i]), 0);
			}
			ks_cpu_set_current(-1);
			/* Readers see every queue; key 1 of fqdir 0 once per namespace. */
			assert_int_equal(ks_reclaim_lookup(r, 1, &found), NR_NS * FQDIRS * FRAGS);
			assert_int_equal(found, NR_NS);
			for (int i = 0; i < NR_NS; i++) {
				assert_int_equal(ks_netns_put(r, &ns[i]), 0);
				assert_null(ns[i]);
			}
			assert_true(ks_reclaim_pending_bytes(r) > 0);
			assert_int_equal(ks_reclaim_drain(r), 0);
			assert_int_equal(ks_reclaim_lookup(r, 1, &found), 0);
			assert_int_equal(ks_reclaim_stats(r, &st), 0);
			assert_int_equal(st.netns_created, NR_NS);
			assert_int_equal(st.netns_put, NR_NS);
			assert_int_equal(st.netns_freed, NR_NS);
			assert_int_equal(st.fqdirs_freed, NR_NS * FQDIRS);
			assert_int_equal(st.frags_freed, NR_NS * FQDIRS * FRAGS);
			assert_int_equal(st.pending_bytes, 0);
			assert_int_equal(st.pending_netns, 0);
			assert_int_equal(st.poison_hits, 0);
			assert_int_equal(st.early_frees, 0);
			assert_int_equal(st.double_frees, 0);
			assert_true(st.cleanup_batches >= 1 && st.cleanup_batches <= NR_NS);
			assert_int_equal(st.ordered_executed, st.ordered_queued);
			assert_int_equal(st.wq_executed, st.wq_queued);
			assert_int_equal(st.barrier.grace_periods - st.barrier.executed,
					 st.cleanup_batches);
			if (!strcmp(strategy, "per-object")) {
				/* One barrier per fqdir, one per cleanup batch. */
				assert_int_equal(st.barrier.calls,
						 NR_NS * FQDIRS + st.cleanup_batches);
				assert_int_equal(st.free_batches, 0);
			} else if (!strcmp(strategy, "refcount")) {
				assert_int_equal(st.barrier.calls, 0);
				assert_int_equal(st.free_batches, 0);
			} else {
				assert_true(st.free_batches >= 1);
				assert_int_equal(st.barrier.calls,
						 st.free_batches + st.cleanup_batches);
			}
			assert_int_equal(ks_reclaim_destroy(r), 0);
			ks_test_env_fini(&e);
		}
	}
}

/* A domain on 2 CPUs with NR_NS namespaces created and put. */
static struct ks_reclaim *churned(struct ks_test_env *e, const char *strategy,
				  unsigned int delay_ms)
{
	struct ks_netns *ns[NR_NS];
	struct ks_reclaim_opts o;
	struct ks_reclaim *r;

	ks_test_env_init(e, "synthetic:core:2 pu:1");
	opts_for(&o, e, "kernel");
	o.delay_ms = delay_ms;
	assert_int_equal(ks_reclaim_create(strategy, &o, &r), 0);
	for (int i = 0; i < NR_NS; i++)
		assert_int_equal(ks_netns_create(r, &ns[i]), 0);
	for (int i = 0; i < NR_NS; i++)
		assert_int_equal(ks_netns_put(r, &ns[i]), 0);
	return r;
}

/* The delayed free work holds fqdirs for its delay, then frees in one batch. */
static void test_delay_holds(void **state)
{
	const char *strategy = *state;
	struct ks_reclaim_stats st;
	struct ks_test_env e;
	struct ks_reclaim *r = churned(&e, strategy, 400);

	sleep_ms(150);
	assert_int_equal(ks_reclaim_stats(r, &st), 0);
	if (!strcmp(strategy, "batched-delayed"))
		assert_int_equal(st.fqdirs_freed, 0);
	assert_int_equal(ks_reclaim_drain(r), 0);
	assert_int_equal(ks_reclaim_stats(r, &st), 0);
	assert_int_equal(st.fqdirs_freed, NR_NS * FQDIRS);
	if (!strcmp(strategy, "batched-delayed"))
		assert_int_equal(st.free_batches, 1);
	assert_int_equal(ks_reclaim_destroy(r), 0);
	ks_test_env_fini(&e);
}

/* Flush frees a backlog in batches, whatever the strategy. */
static void test_flush(void **state)
{
	const char *strategy = *state;
	struct ks_reclaim_stats st;
	struct ks_test_env e;
	/* A delay the flush must not wait for. */
	struct ks_reclaim *r = churned(&e, strategy, 60000);

	assert_int_equal(ks_reclaim_flush(r), 0);
	assert_int_equal(ks_reclaim_stats(r, &st), 0);
	assert_int_equal(st.netns_freed, NR_NS);
	assert_int_equal(st.fqdirs_freed, NR_NS * FQDIRS);
	assert_int_equal(st.early_frees + st.poison_hits + st.double_frees, 0);
	assert_int_equal(ks_reclaim_flush(NULL), -EINVAL);
	assert_int_equal(ks_reclaim_destroy(r), 0);
	ks_test_env_fini(&e);
}

/*
 * A broken strategy, played by hand: the fqdir looks freed (poisoned) while
 * callbacks of its queues are still pending. Every such callback must see
 * the poison, count it and leave the queue alone rather than touch it.
 */
static void test_poison_detected(void **state)
{
	struct frag_queue *saved[FRAGS];
	struct ks_reclaim_opts o;
	struct ks_reclaim_stats st;
	struct ks_reclaim *r;
	struct ks_test_env e;
	struct ks_netns *ns;
	struct fqdir *f;
	int n = 0;

	(void)state;
	ks_test_env_init(&e, "synthetic:core:2 pu:1");
	opts_for(&o, &e, "kernel");
	assert_int_equal(ks_reclaim_create("per-object", &o, &r), 0);
	assert_int_equal(ks_netns_create(r, &ns), 0);
	f = ns->fqdir[0];
	for (unsigned int b = 0; b < f->nr_buckets; b++)
		for (struct frag_queue *fq = f->hash[b]; fq; fq = fq->next)
			saved[n++] = fq;
	assert_int_equal(n, FRAGS);
	f->magic = POISON_MAGIC;
	ks_reclaim_fqdir_destroy_table(r, f);
	assert_int_equal(ks_rcu_barrier_wait(r->barrier), 0);
	assert_int_equal(ks_reclaim_stats(r, &st), 0);
	assert_int_equal(st.poison_hits, FRAGS);
	assert_int_equal(st.frags_freed, 0);
	/* Undo the damage so that the namespace tears down normally. */
	for (int i = 0; i < n; i++)
		ks_mem_free(r->t_frag, saved[i], sizeof(*saved[i]));
	f->magic = FQDIR_MAGIC;
	f->cb_pending = 0;
	__atomic_fetch_sub(&r->pending_bytes, (int64_t)(FRAGS * sizeof(struct frag_queue)),
			   __ATOMIC_RELAXED);
	assert_int_equal(ks_netns_put(r, &ns), 0);
	assert_int_equal(ks_reclaim_drain(r), 0);
	assert_int_equal(ks_reclaim_stats(r, &st), 0);
	assert_int_equal(st.fqdirs_freed, FQDIRS);
	assert_int_equal(st.early_frees, 0);
	assert_int_equal(ks_reclaim_destroy(r), 0);
	ks_test_env_fini(&e);
}

static int64_t net_live_objs(const struct ks_reclaim *r)
{
	struct ks_mem_type_stats ts;

	assert_int_equal(ks_mem_type_read(r->t_net, &ts), 0);
	return ts.live_objs;
}

/* Release builds have no quarantine: nothing to test, nothing to leak. */
static bool quarantine_compiled_out(struct ks_reclaim *r, struct ks_test_env *e)
{
	struct ks_reclaim_stats st;

	assert_int_equal(ks_reclaim_stats(r, &st), 0);
	if (st.quarantine_cap)
		return false;
	assert_int_equal(ks_reclaim_destroy(r), 0);
	ks_test_env_fini(e);
	return true;
}

/*
 * A put through a stale pointer after the namespace was really freed: the
 * header is in quarantine, so the put is refused with -EALREADY and counted,
 * a get with -ENOENT, and nothing else moves (ASan would report any access
 * to freed memory). The domain goes on working, and destroy releases the
 * quarantine so the leak oracle finds every type at zero.
 */
static void test_stale_put(void **state)
{
	const char *strategy = *state;
	struct ks_netns *ns, *other, *stale, *copy;
	struct ks_reclaim_opts o;
	struct ks_reclaim_stats st;
	struct ks_reclaim *r;
	struct ks_test_env e;
	uint64_t found = 0;

	ks_test_env_init(&e, "synthetic:core:2 pu:1");
	opts_for(&o, &e, "kernel");
	assert_int_equal(ks_reclaim_create(strategy, &o, &r), 0);
	if (quarantine_compiled_out(r, &e))
		skip();
	assert_int_equal(ks_netns_create(r, &ns), 0);
	assert_int_equal(ks_netns_create(r, &other), 0);
	stale = ns;
	assert_int_equal(ks_netns_put(r, &ns), 0);
	/* Wait until cleanup_net (or, under refcount, its last fqdir) freed it. */
	assert_int_equal(ks_reclaim_flush(r), 0);
	assert_int_equal(ks_reclaim_stats(r, &st), 0);
	assert_int_equal(st.quarantine_cap, KS_RECLAIM_QUARANTINE);
	assert_int_equal(st.netns_freed, 1);
	assert_int_equal(st.quarantined, 1);
	assert_int_equal(st.pending_bytes, 0);
	assert_int_equal(st.double_frees, 0);
	/* Quarantined headers are outside pending_bytes but still live in "net". */
	assert_int_equal(net_live_objs(r), 2);

	for (int i = 0; i < 2; i++) {
		copy = stale;
		assert_int_equal(ks_netns_put(r, &copy), -EALREADY);
		assert_null(copy);
	}
	assert_int_equal(ks_netns_get(stale), -ENOENT);
	assert_int_equal(ks_reclaim_stats(r, &st), 0);
	assert_int_equal(st.double_frees, 2);
	assert_int_equal(st.netns_put, 1);
	assert_int_equal(st.netns_freed, 1);
	assert_int_equal(st.pending_bytes, 0);
	assert_int_equal(st.pending_netns, 0);
	assert_int_equal(st.quarantined, 1);

	/* Nothing corrupted: the other namespace is intact and tears down. */
	assert_int_equal(ks_reclaim_lookup(r, 1, &found), FQDIRS * FRAGS);
	assert_int_equal(found, 1);
	assert_int_equal(ks_netns_put(r, &other), 0);
	assert_int_equal(ks_reclaim_drain(r), 0);
	assert_int_equal(ks_reclaim_stats(r, &st), 0);
	assert_int_equal(st.netns_freed, 2);
	assert_int_equal(st.fqdirs_freed, 2 * FQDIRS);
	assert_int_equal(st.frags_freed, 2 * FQDIRS * FRAGS);
	assert_int_equal(st.quarantined, 2);
	assert_int_equal(st.double_frees, 2);
	assert_int_equal(st.poison_hits + st.early_frees, 0);
	assert_int_equal(ks_reclaim_destroy(r), 0);
	ks_test_env_fini(&e);
}

/*
 * The quarantine is bounded and FIFO: with room for QUAR headers, freeing
 * NR_NS namespaces one after another keeps exactly the last QUAR (stale
 * puts of those are still caught) and really frees the oldest.
 */
#define QUAR 4
static void test_quarantine_bounded(void **state)
{
	const char *strategy = *state;
	struct ks_netns *ns[NR_NS], *stale[NR_NS];
	struct ks_reclaim_opts o;
	struct ks_reclaim_stats st;
	struct ks_reclaim *r;
	struct ks_test_env e;

	ks_test_env_init(&e, "synthetic:core:2 pu:1");
	opts_for(&o, &e, "kernel");
	o.quarantine = QUAR;
	assert_int_equal(ks_reclaim_create(strategy, &o, &r), 0);
	if (quarantine_compiled_out(r, &e))
		skip();
	for (int i = 0; i < NR_NS; i++) {
		assert_int_equal(ks_netns_create(r, &ns[i]), 0);
		stale[i] = ns[i];
	}
	for (int i = 0; i < NR_NS; i++) {
		assert_int_equal(ks_netns_put(r, &ns[i]), 0);
		assert_int_equal(ks_reclaim_flush(r), 0);
		assert_int_equal(ks_reclaim_stats(r, &st), 0);
		assert_int_equal(st.quarantined, i + 1 < QUAR ? i + 1 : QUAR);
		assert_int_equal(st.quarantine_evicted, i + 1 > QUAR ? i + 1 - QUAR : 0);
		/* Live namespaces plus the quarantine, never more. */
		assert_int_equal(net_live_objs(r), NR_NS - (i + 1) + st.quarantined);
	}
	assert_int_equal(st.quarantine_cap, QUAR);
	for (int i = NR_NS - QUAR; i < NR_NS; i++)
		assert_int_equal(ks_netns_put(r, &stale[i]), -EALREADY);
	assert_int_equal(ks_reclaim_stats(r, &st), 0);
	assert_int_equal(st.double_frees, QUAR);
	assert_int_equal(st.netns_freed, NR_NS);
	assert_int_equal(st.pending_bytes, 0);
	assert_int_equal(ks_reclaim_destroy(r), 0);
	ks_test_env_fini(&e);
}

static void *unregistered_lookup(void *arg)
{
	return (void *)(intptr_t)ks_reclaim_lookup(arg, 0, NULL);
}

/* Waiting for frees where it would wait for itself, or unregistered. */
struct refused {
	struct ks_rcu_head head;
	struct ks_reclaim *r;
	int drain, flush, destroy;
};

static void wait_all(struct refused *c)
{
	c->drain = ks_reclaim_drain(c->r);
	c->flush = ks_reclaim_flush(c->r);
	c->destroy = ks_reclaim_destroy(c->r);
}

static void refused_cb(struct ks_rcu_head *head)
{
	wait_all(ks_container_of(head, struct refused, head));
}

static void *refused_thread(void *arg)
{
	wait_all(arg);
	return NULL;
}

/*
 * With every namespace put, drain, flush and destroy are refused from a
 * callback or a read-side section (-EDEADLK: the kernel would deadlock) and
 * from an unregistered thread (-EPERM), and a refused call changes nothing:
 * the domain is not flushed, not freed, and still drains afterwards.
 */
static void assert_waits_refused(struct ks_reclaim *r)
{
	struct refused c = { .r = r };
	pthread_t th;

	assert_int_equal(ks_rcu_barrier_call_rcu(r->barrier, &c.head, refused_cb), 0);
	assert_int_equal(ks_rcu_barrier_wait(r->barrier), 0);
	assert_int_equal(c.drain, -EDEADLK);
	assert_int_equal(c.flush, -EDEADLK);
	assert_int_equal(c.destroy, -EDEADLK);
	assert_int_equal(ks_rcu_read_lock(), 0);
	wait_all(&c);
	assert_int_equal(ks_rcu_read_unlock(), 0);
	assert_int_equal(c.drain, -EDEADLK);
	assert_int_equal(c.flush, -EDEADLK);
	assert_int_equal(c.destroy, -EDEADLK);
	assert_int_equal(pthread_create(&th, NULL, refused_thread, &c), 0);
	pthread_join(th, NULL);
	assert_int_equal(c.drain, -EPERM);
	assert_int_equal(c.flush, -EPERM);
	assert_int_equal(c.destroy, -EPERM);
	assert_int_equal(__atomic_load_n(&r->flushing, __ATOMIC_ACQUIRE), 0);
}

static void test_bad_input(void **state)
{
	const char *strategy = *state;
	struct ks_reclaim_opts o;
	struct ks_reclaim_stats st;
	struct ks_netns *ns, *copy;
	struct ks_reclaim *r = NULL, *r2;
	struct ks_test_env e;
	pthread_t th;
	void *ret;

	ks_test_env_init(&e, "synthetic:core:2 pu:1");
	opts_for(&o, &e, NULL);
	assert_int_equal(ks_reclaim_create(strategy, &o, NULL), -EINVAL);
	assert_int_equal(ks_reclaim_create(NULL, &o, &r), -EINVAL);
	assert_int_equal(ks_reclaim_create("nope", &o, &r), -EINVAL);
	assert_int_equal(ks_reclaim_create(strategy, NULL, &r), -EINVAL);
	o.mem = NULL;
	assert_int_equal(ks_reclaim_create(strategy, &o, &r), -EINVAL);
	o.mem = e.mem;
	o.fqdirs = KS_RECLAIM_MAX_FQDIRS + 1;
	assert_int_equal(ks_reclaim_create(strategy, &o, &r), -EINVAL);
	o.fqdirs = FQDIRS;
	o.barrier = "nope";
	assert_int_equal(ks_reclaim_create(strategy, &o, &r), -EINVAL);
	o.barrier = NULL;
	o.quarantine = KS_RECLAIM_MAX_QUARANTINE + 1;
	assert_int_equal(ks_reclaim_create(strategy, &o, &r), -EINVAL);
	o.quarantine = 0;
	assert_null(r);
	assert_int_equal(ks_reclaim_create(strategy, &o, &r), 0);
	assert_int_equal(ks_reclaim_create(strategy, &o, &r2), 0);

	assert_int_equal(ks_netns_create(NULL, &ns), -EINVAL);
	assert_int_equal(ks_netns_create(r, NULL), -EINVAL);
	assert_int_equal(ks_netns_get(NULL), -EINVAL);
	assert_int_equal(ks_netns_put(NULL, &ns), -EINVAL);
	assert_int_equal(ks_netns_put(r, NULL), -EINVAL);
	assert_int_equal(ks_reclaim_lookup(NULL, 0, NULL), -EINVAL);
	assert_int_equal(ks_reclaim_drain(NULL), -EINVAL);
	assert_int_equal(ks_reclaim_pending_bytes(NULL), -EINVAL);
	assert_int_equal(ks_reclaim_netns_bytes(NULL), -EINVAL);
	assert_int_equal(ks_reclaim_stats(NULL, &st), -EINVAL);
	assert_int_equal(ks_reclaim_stats(r, NULL), -EINVAL);

	/* Allocation failure at every step of setup_net leaves nothing. */
	for (uint64_t nth = 1; nth <= 1 + 1 + 2 + FRAGS; nth++) {
		assert_int_equal(ks_mem_fail_nth(e.mem, nth), 0);
		ns = NULL;
		assert_int_equal(ks_netns_create(r, &ns), -ENOMEM);
		assert_null(ns);
	}
	assert_int_equal(ks_mem_fail_nth(e.mem, 0), 0);

	assert_int_equal(ks_netns_create(r, &ns), 0);
	/* A namespace of another domain. */
	assert_int_equal(ks_netns_put(r2, &ns), -EINVAL);
	assert_non_null(ns);
	/* Live namespaces: the domain cannot go. */
	assert_int_equal(ks_reclaim_destroy(r), -EBUSY);
	/* Readers must be registered. */
	assert_int_equal(pthread_create(&th, NULL, unregistered_lookup, r), 0);
	pthread_join(th, &ret);
	assert_int_equal((intptr_t)ret, -EPERM);
	/* Drain from a read-side section would wait for itself. */
	assert_int_equal(ks_rcu_read_lock(), 0);
	assert_int_equal(ks_reclaim_drain(r), -EDEADLK);
	assert_int_equal(ks_rcu_read_unlock(), 0);

	/* Two references, then one put too many through the same pointer. */
	assert_int_equal(ks_netns_get(ns), 0);
	copy = ns;
	assert_int_equal(ks_netns_put(r, &ns), 0);
	assert_int_equal(ks_netns_put(r, &ns), -EALREADY);
	assert_int_equal(ks_netns_put(r, &copy), 0);
	assert_waits_refused(r);
	assert_int_equal(ks_reclaim_drain(r), 0);
	assert_int_equal(ks_reclaim_stats(r, &st), 0);
	assert_int_equal(st.double_frees, 1);
	assert_int_equal(st.netns_freed, 1);
	assert_int_equal(st.early_frees, 0);
	assert_int_equal(ks_reclaim_destroy(r), 0);
	assert_int_equal(ks_reclaim_destroy(r2), 0);
	assert_int_equal(ks_reclaim_destroy(NULL), 0);
	ks_test_env_fini(&e);
}

#define EACH(fn) \
	cmocka_unit_test_prestate(fn, "per-object"), cmocka_unit_test_prestate(fn, "batched"), \
	cmocka_unit_test_prestate(fn, "batched-delayed"), cmocka_unit_test_prestate(fn, "refcount")

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strategies_listed),
		EACH(test_lifecycle),
		EACH(test_delay_holds),
		EACH(test_flush),
		cmocka_unit_test(test_poison_detected),
		EACH(test_bad_input),
		EACH(test_stale_put),
		EACH(test_quarantine_bounded),
	};

	return cmocka_run_group_tests(tests, setup_reg, teardown_reg);
}
