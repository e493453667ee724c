// SPDX-License-Identifier: MIT
/*
 * bitmap-hash: the Linux 4.14 numbering rules where they differ from 6.18
 * (src/pid/bitmap_hash.c), its lock trips, and the hash lookup with
 * unpublished pids. tests/test_pid.c covers the rules every strategy keeps.
 */
#include "ks_test.h"

#include <errno.h>
#include <string.h>

struct bt {
	struct ks_test_env env;
	struct ks_pid_space *s;
	struct ks_pid_ns *root;
};

static void bt_init(struct bt *t, const char *topo, int pid_max)
{
	struct ks_pid_opts o = { 0 };

	memset(t, 0, sizeof(*t));
	ks_test_env_init(&t->env, topo);
	assert_int_equal(ks_rcu_register_thread(), 0);
	o.topo = t->env.topo;
	o.locks = t->env.locks;
	o.mem = t->env.mem;
	o.pid_max = pid_max;
	assert_int_equal(ks_pid_space_create("bitmap-hash", &o, &t->s), 0);
	assert_int_equal(ks_pid_ns_root(t->s, &t->root), 0);
}

static void bt_fini(struct bt *t)
{
	assert_int_equal(ks_pid_space_destroy(t->s), 0);
	assert_int_equal(ks_rcu_unregister_thread(), 0);
	ks_test_env_fini(&t->env);
}

static int alloc_nr(struct ks_pid_ns *ns, struct ks_pid **out)
{
	struct ks_pid *pid;
	int ret = ks_pid_alloc(ns, NULL, 0, 0, &pid);

	if (ret)
		return ret;
	if (out)
		*out = pid;
	return ks_pid_nr_ns(pid, ns);
}

static uint64_t lock_acq(struct bt *t, const char *name)
{
	struct ks_lock_class_stats st[64];
	size_t n = 0;

	assert_int_equal(ks_lockstat_read(t->env.locks, st, KS_ARRAY_SIZE(st), &n), 0);
	for (size_t i = 0; i < n && i < KS_ARRAY_SIZE(st); i++) {
		if (!strcmp(st[i].name, name))
			return st[i].acquisitions;
	}
	return 0;
}

/* last_pid reads 0 before the first pid, then the last number. */
static void test_sequence(void **state)
{
	struct bt t;

	for (size_t i = 0; i < ks_test_nr_topologies; i++) {
		bt_init(&t, ks_test_topologies[i], 0);
		assert_int_equal(ks_pid_ns_last_pid(t.root), 0);
		assert_int_equal(alloc_nr(t.root, NULL), 1);
		assert_int_equal(alloc_nr(t.root, NULL), 2);
		assert_int_equal(ks_pid_ns_last_pid(t.root), 2);
		assert_int_equal(ks_pid_ns_set_last_pid(t.root, 299, true), 0);
		assert_int_equal(alloc_nr(t.root, NULL), 300);
		assert_int_equal(alloc_nr(t.root, NULL), 301);
		bt_fini(&t);
	}
}

/* Wrap to RESERVED_PIDS, never to 1 (6.18 wraps to 1 below 300). */
static void test_wrap_to_300(void **state)
{
	struct bt t;
	int n = 0, nr;

	bt_init(&t, "synthetic:core:2 pu:1", 400);
	assert_int_equal(alloc_nr(t.root, NULL), 1);
	assert_int_equal(ks_pid_ns_set_last_pid(t.root, 397, true), 0);
	assert_int_equal(alloc_nr(t.root, NULL), 398);
	assert_int_equal(alloc_nr(t.root, NULL), 399);
	assert_int_equal(alloc_nr(t.root, NULL), 300);
	/* fill [300, 400): 98 more */
	while ((nr = alloc_nr(t.root, NULL)) > 0)
		n++;
	assert_int_equal(nr, -EAGAIN);
	assert_int_equal(n, 97);
	/* 6.18 would wrap to 1 from a cursor <= 300 and give 2; 4.14 fails */
	assert_int_equal(ks_pid_ns_set_last_pid(t.root, 299, true), 0);
	assert_int_equal(alloc_nr(t.root, NULL), -EAGAIN);
	/* from below 300 the scan still walks up: 2..299 are reachable */
	assert_int_equal(ks_pid_ns_set_last_pid(t.root, 0, true), 0);
	assert_int_equal(alloc_nr(t.root, NULL), 2);
	bt_fini(&t);
}

/* set_tid takes the exact bit and leaves last_pid alone. */
static void test_set_tid(void **state)
{
	struct ks_pid *p;
	struct bt t;
	int tid = 250;

	bt_init(&t, "synthetic:pu:1", 0);
	assert_int_equal(alloc_nr(t.root, NULL), 1);
	assert_int_equal(ks_pid_alloc(t.root, &tid, 1, KS_PID_ALLOC_PRIVILEGED, &p), 0);
	assert_int_equal(ks_pid_nr_ns(p, t.root), 250);
	assert_int_equal(ks_pid_alloc(t.root, &tid, 1, KS_PID_ALLOC_PRIVILEGED, &p), -EEXIST);
	assert_int_equal(ks_pid_ns_last_pid(t.root), 1);
	assert_int_equal(alloc_nr(t.root, NULL), 2);
	bt_fini(&t);
}

/* Unpublished pids hold their bit but are not in the hash. */
static void test_unpublished(void **state)
{
	struct ks_pid *a, *b, *p;
	struct bt t;

	bt_init(&t, "synthetic:pu:1", 0);
	assert_int_equal(alloc_nr(t.root, NULL), 1);
	assert_int_equal(ks_pid_alloc(t.root, NULL, 0, KS_PID_ALLOC_NOPUBLISH, &a), 0);
	assert_int_equal(alloc_nr(t.root, &b), 3);
	assert_int_equal(ks_rcu_read_lock(), 0);
	assert_int_equal(ks_pid_lookup(t.root, 2, &p), -ENOENT);
	assert_int_equal(ks_pid_find_ge(t.root, 2, &p), 3);
	assert_ptr_equal(p, b);
	assert_int_equal(ks_rcu_read_unlock(), 0);
	assert_int_equal(ks_pid_publish(a), 0);
	assert_int_equal(ks_rcu_read_lock(), 0);
	assert_int_equal(ks_pid_find_ge(t.root, 2, &p), 2);
	assert_ptr_equal(p, a);
	assert_int_equal(ks_rcu_read_unlock(), 0);
	bt_fini(&t);
}

/* One pidmap_lock trip per alloc and per free, whatever the depth. */
static void test_lock_trips(void **state)
{
	struct ks_pid_ns *ns = NULL, *parent;
	struct ks_pid *p = NULL;
	uint64_t before;
	struct bt t;

	bt_init(&t, "synthetic:core:2 pu:1", 0);
	parent = t.root;
	assert_int_equal(alloc_nr(parent, NULL), 1);
	for (int l = 1; l <= 4; l++) {
		assert_int_equal(ks_pid_ns_create(parent, &ns), 0);
		assert_int_equal(alloc_nr(ns, NULL), 1);
		parent = ns;
	}
	before = lock_acq(&t, "pidmap_lock");
	for (int i = 0; i < 10; i++) {
		assert_int_equal(alloc_nr(ns, &p), 2 + i);
		assert_int_equal(ks_pid_nr_ns(p, t.root), 6 + i);
		assert_int_equal(ks_pid_free(p), 0);
	}
	assert_int_equal(lock_acq(&t, "pidmap_lock") - before, 20);
	bt_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sequence),
		cmocka_unit_test(test_wrap_to_300),
		cmocka_unit_test(test_set_tid),
		cmocka_unit_test(test_unpublished),
		cmocka_unit_test(test_lock_trips),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
