// SPDX-License-Identifier: MIT
/*
 * dcache under concurrency, once per inode list strategy: walkers look paths
 * up (RCU lookup, revalidation, instantiate on miss) while other threads
 * invalidate whole subtrees (as proc_flush_pid() does at thread exit), kill
 * always-deleted entries, churn bare inodes, prune the LRU and iterate the
 * superblock inode list. Checks: every dentry a walker gets is live, named
 * and under the right parent; at the end the counts balance and every
 * ks_mem type is back to zero (ASan sees use-after-free, TSan races).
 */
#include "ks_test.h"

#include <kscale/dcache.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NR_DIRS 16
#define NR_FILES 24

struct shared {
	struct ks_test_env env;
	struct ks_dcache *dc;
	struct ks_dentry *root;
	int stop;
	unsigned int gen[NR_DIRS]; /* bumped when a dir's entries go stale */
	long walks, invalidations, churned, bad, iterations;
	int nr_cpus;
	/* inodes alive throughout: every iteration must see each exactly once */
	struct ks_inode *stable[32];
};

static struct shared *g_shared; /* for the d_op callbacks */

/*
 * pid_revalidate()-like: an entry remembers its directory's generation in
 * its private pointer and is stale once the generation moved. Odd entries
 * answer -ECHILD under RCU, as tid_fd_revalidate() does.
 */
static int st_revalidate(struct ks_dentry *d, unsigned int flags, void *priv)
{
	uintptr_t v = (uintptr_t)priv;
	int dir = (int)(v >> 33), odd = (int)((v >> 32) & 1);
	unsigned int gen = (unsigned int)v;

	if ((flags & KS_LOOKUP_RCU) && odd)
		return -ECHILD;
	/* with a reference, it must be live */
	if (!(flags & KS_LOOKUP_RCU) && ks_d_count(d) <= 0)
		return -EIO;
	return __atomic_load_n(&g_shared->gen[dir], __ATOMIC_RELAXED) == gen;
}

static const struct ks_dentry_operations file_ops = {.d_revalidate = st_revalidate};

/* net/-like entries: never kept */
static int always_delete(const struct ks_dentry *d, void *priv)
{
	return 1;
}

static const struct ks_dentry_operations volatile_ops = {.d_delete = always_delete};

struct mk {
	unsigned int mode;
	const struct ks_dentry_operations *ops;
	void *priv;
};

static int mk_create(void *arg, struct ks_dentry *parent, struct ks_dentry *d)
{
	struct mk *m = arg;
	struct ks_inode *inode;
	int r;

	r = ks_inode_new(ks_d_dcache(parent), m->mode, NULL, &inode);
	if (r)
		return r;
	r = ks_d_add(d, inode, m->ops, m->priv);
	if (r)
		ks_iput(inode);
	return r;
}

static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static bool check(struct shared *s, struct ks_dentry *d, struct ks_dentry *parent, const char *name)
{
	if (ks_d_count(d) <= 0 || !ks_d_inode(d) || ks_d_parent(d) != parent ||
	    strcmp(ks_d_name(d), name)) {
		__atomic_fetch_add(&s->bad, 1, __ATOMIC_RELAXED);
		return false;
	}
	return true;
}

struct thr {
	struct shared *s;
	int id;
	int role;
	pthread_t t;
};

enum { WALKER, KILLER, VOLATILE, CHURN, PRUNER, ITERATOR, NR_ROLES };

struct iter {
	struct shared *s;
	long n;
	int seen[32];
};

static int count_fn(struct ks_inode *inode, void *arg)
{
	struct iter *it = arg;

	it->n++;
	for (int i = 0; i < 32; i++)
		if (it->s->stable[i] == inode)
			it->seen[i]++;
	return ks_inode_ino(inode) ? 0 : -1;
}

static void walk_once(struct shared *s, uint64_t *x)
{
	struct mk dir = {.mode = KS_S_IFDIR | 0555};
	struct mk file = {.mode = KS_S_IFREG | 0444, .ops = &file_ops};
	struct ks_dentry *p, *fd, *f;
	char pn[16], fn[16];
	int i = rnd(x) % NR_DIRS, j = rnd(x) % NR_FILES;

	snprintf(pn, sizeof(pn), "%d", i);
	if (ks_d_lookup_or_create(s->root, pn, mk_create, &dir, &p) < 0)
		goto bad;
	check(s, p, s->root, pn);
	if (ks_d_lookup_or_create(p, "fd", mk_create, &dir, &fd) < 0)
		goto bad_p;
	check(s, fd, p, "fd");
	snprintf(fn, sizeof(fn), "%d", j);
	file.priv = (void *)(((uintptr_t)i << 33) | ((uintptr_t)(j & 1) << 32) |
			     __atomic_load_n(&s->gen[i], __ATOMIC_RELAXED));
	if (ks_d_lookup_or_create(fd, fn, mk_create, &file, &f) < 0)
		goto bad_fd;
	check(s, f, fd, fn);
	ks_dput(f);
	/* a plain cached lookup of a sibling: hit or miss, never garbage */
	snprintf(fn, sizeof(fn), "%d", (j + 1) % NR_FILES);
	if (!ks_d_lookup(fd, fn, &f)) {
		check(s, f, fd, fn);
		ks_dput(f);
	}
	/* an entry killed at every last put, recreated by racing walkers */
	if (!(rnd(x) & 7)) {
		struct mk v = {.mode = KS_S_IFREG, .ops = &volatile_ops};

		if (ks_d_lookup_or_create(fd, "net", mk_create, &v, &f) < 0)
			goto bad_fd;
		check(s, f, fd, "net");
		ks_dput(f);
	}
	ks_dput(fd);
	ks_dput(p);
	__atomic_fetch_add(&s->walks, 1, __ATOMIC_RELAXED);
	return;
bad_fd:
	ks_dput(fd);
bad_p:
	ks_dput(p);
bad:
	__atomic_fetch_add(&s->bad, 1, __ATOMIC_RELAXED);
}

static void *run(void *arg)
{
	struct thr *t = arg;
	struct shared *s = t->s;
	uint64_t x = 0x9e3779b97f4a7c15ull * (t->id + 1);

	ks_rcu_register_thread();
	ks_cpu_set_current((t->id * 37) % s->nr_cpus);
	do { /* at least one pass, however late this thread starts */
		switch (t->role) {
		case WALKER:
			walk_once(s, &x);
			break;
		case KILLER: {
			/* proc_flush_pid(): drop a whole /<n> subtree */
			struct ks_dentry *p;
			char pn[16];

			int i = (int)(rnd(&x) % NR_DIRS);

			if (rnd(&x) & 1) {
				/* the task changed: its entries fail revalidation */
				__atomic_fetch_add(&s->gen[i], 1, __ATOMIC_RELAXED);
				walk_once(s, &x);
				break;
			}
			snprintf(pn, sizeof(pn), "%d", i);
			if (!ks_d_lookup(s->root, pn, &p)) {
				if (ks_d_invalidate(p))
					__atomic_fetch_add(&s->bad, 1, __ATOMIC_RELAXED);
				ks_dput(p);
				__atomic_fetch_add(&s->invalidations, 1, __ATOMIC_RELAXED);
			}
			walk_once(s, &x);
			break;
		}
		case VOLATILE: {
			struct mk m = {.mode = KS_S_IFREG, .ops = &volatile_ops};
			struct ks_dentry *d;

			if (ks_d_lookup_or_create(s->root, "net", mk_create, &m, &d) >= 0) {
				check(s, d, s->root, "net");
				ks_dput(d);
			}
			break;
		}
		case CHURN: {
			struct ks_inode *inode;

			if (!ks_inode_new(s->dc, KS_S_IFREG, NULL, &inode)) {
				ks_iput(inode);
				__atomic_fetch_add(&s->churned, 1, __ATOMIC_RELAXED);
			}
			walk_once(s, &x);
			break;
		}
		case PRUNER:
			ks_dcache_prune(s->dc, -1, 16);
			walk_once(s, &x);
			break;
		case ITERATOR: {
			struct iter it = {.s = s};

			if (ks_dcache_for_each_inode(s->dc, count_fn, &it) || it.n < 33)
				__atomic_fetch_add(&s->bad, 1, __ATOMIC_RELAXED);
			for (int i = 0; i < 32; i++)
				if (it.seen[i] != 1)
					__atomic_fetch_add(&s->bad, 1, __ATOMIC_RELAXED);
			__atomic_fetch_add(&s->iterations, 1, __ATOMIC_RELAXED);
			walk_once(s, &x);
			break;
		}
		}
	} while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED));
	ks_rcu_unregister_thread();
	return NULL;
}

static void stress(void **state)
{
	const char *strategy = *state;
	int nr = ks_test_stress_threads();
	double secs = ks_test_stress_seconds();
	struct ks_dcache_opts o = {0};
	struct ks_dcache_stats st;
	struct thr *t;
	struct shared s;
	struct timespec ts;

	if (nr < NR_ROLES)
		nr = NR_ROLES;
	memset(&s, 0, sizeof(s));
	g_shared = &s;
	ks_test_env_init(&s.env, ks_test_topologies[2]);
	s.nr_cpus = ks_topo_nr_cpus(s.env.topo);
	o.topo = s.env.topo;
	o.locks = s.env.locks;
	o.mem = s.env.mem;
	o.hash_bits = 6; /* long chains: lookups race with unlinks */
	assert_int_equal(ks_dcache_create(strategy, &o, &s.dc), 0);
	assert_int_equal(ks_d_root(s.dc, &s.root), 0);
	for (int i = 0; i < 32; i++) {
		ks_cpu_set_current(i * 2 % s.nr_cpus); /* spread over the dlock lists */
		assert_int_equal(ks_inode_new(s.dc, KS_S_IFREG, NULL, &s.stable[i]), 0);
	}
	ks_cpu_set_current(-1);
	t = calloc(nr, sizeof(*t));
	assert_non_null(t);
	for (int i = 0; i < nr; i++) {
		t[i].s = &s;
		t[i].id = i;
		t[i].role = i < NR_ROLES ? i : WALKER;
		assert_int_equal(pthread_create(&t[i].t, NULL, run, &t[i]), 0);
	}
	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
	__atomic_store_n(&s.stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < nr; i++)
		pthread_join(t[i].t, NULL);
	free(t);

	assert_int_equal(s.bad, 0);
	assert_true(s.walks > 0);
	assert_true(s.iterations > 0);
	for (int i = 0; i < 32; i++)
		assert_int_equal(ks_iput(s.stable[i]), 0);
	assert_int_equal(ks_dcache_stats(s.dc, &st), 0);
	assert_int_equal((int64_t)(st.inode_allocs - st.evictions), st.inodes);
	print_message("%s: %ld walks, %ld invalidations, %llu revalidation failures, "
		      "%ld churned inodes, %ld inode list walks, %llu dentries killed, %lld live\n",
		      strategy, s.walks, s.invalidations,
		      (unsigned long long)st.revalidate_failures, s.churned, s.iterations,
		      (unsigned long long)st.dentries_killed, (long long)st.dentries);
	assert_true(st.revalidate_failures > 0);
	assert_true(ks_shrink_dcache_parent(s.root) >= 0);
	assert_int_equal(ks_dcache_stats(s.dc, &st), 0);
	assert_int_equal(st.dentries, 1);
	assert_int_equal(st.inodes, 1);
	assert_int_equal(ks_dput(s.root), 0);
	assert_int_equal(ks_dcache_destroy(s.dc), 0);
	ks_test_env_fini(&s.env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate(stress, (void *)"global"),
		cmocka_unit_test_prestate(stress, (void *)"dlock"),
	};
	int r;

	if (ks_rcu_register_thread())
		return 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	ks_rcu_unregister_thread();
	return r;
}
