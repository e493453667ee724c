// SPDX-License-Identifier: MIT
/*
 * dcache: every test body runs once per superblock inode list strategy
 * ("global", "dlock"); topology-dependent ones on 1, 2, 64 and 256 CPUs.
 */
#include "ks_test.h"

#include <kscale/dcache.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define STRAT(state) ((const char *)*(state))

/* ---- helpers ------------------------------------------------------------ */

struct fs {
	struct ks_test_env env;
	struct ks_dcache *dc;
	struct ks_dentry *root;
	long evicted;
};

static void evict_hook(struct ks_inode *inode, void *ipriv, void *fs_info)
{
	struct fs *f = fs_info;

	f->evicted++;
	(void)inode;
	(void)ipriv;
}

static const struct ks_super_operations sops = {.evict_inode = evict_hook};

static void fs_init_opts(struct fs *f, const char *strategy, const char *topo,
			 unsigned int hash_bits)
{
	struct ks_dcache_opts o = {0};

	memset(f, 0, sizeof(*f));
	ks_test_env_init(&f->env, topo);
	o.topo = f->env.topo;
	o.locks = f->env.locks;
	o.mem = f->env.mem;
	o.hash_bits = hash_bits;
	o.s_op = &sops;
	o.fs_info = f;
	assert_int_equal(ks_dcache_create(strategy, &o, &f->dc), 0);
	assert_int_equal(ks_d_root(f->dc, &f->root), 0);
}

static void fs_init(struct fs *f, const char *strategy)
{
	fs_init_opts(f, strategy, ks_test_topologies[1], 0);
}

static struct ks_dcache_stats stats(struct fs *f)
{
	struct ks_dcache_stats st;

	assert_int_equal(ks_dcache_stats(f->dc, &st), 0);
	return st;
}

static void fs_fini(struct fs *f)
{
	struct ks_dcache_stats st;

	/* everything unused goes; then only the root is left */
	assert_true(ks_shrink_dcache_parent(f->root) >= 0);
	st = stats(f);
	assert_int_equal(st.dentries, 1);
	assert_int_equal(st.inodes, 1);
	assert_int_equal(st.dentries_unused, 0);
	assert_int_equal(ks_dput(f->root), 0);
	assert_int_equal(ks_dcache_destroy(f->dc), 0);
	ks_test_env_fini(&f->env);
}

struct mk {
	unsigned int mode;
	const struct ks_dentry_operations *ops;
	void *priv;
	int calls;
};

static int mk_create(void *arg, struct ks_dentry *parent, struct ks_dentry *d)
{
	struct mk *m = arg;
	struct ks_inode *inode;
	int r;

	m->calls++;
	r = ks_inode_new(ks_d_dcache(parent), m->mode, m->priv, &inode);
	if (r)
		return r;
	r = ks_d_add(d, inode, m->ops, m->priv);
	if (r)
		ks_iput(inode);
	return r;
}

static struct ks_dentry *get(struct ks_dentry *parent, const char *name, unsigned int mode)
{
	struct mk m = {.mode = mode};
	struct ks_dentry *d = NULL;

	assert_true(ks_d_lookup_or_create(parent, name, mk_create, &m, &d) >= 0);
	return d;
}

/* ---- tests ------------------------------------------------------------ */

static void test_strategies_and_bad_create(void **state)
{
	struct ks_dcache_opts o = {0};
	struct ks_dcache *dc = NULL;
	struct ks_test_env env;
	const struct ks_strategy_info *s;
	size_t n = 0, i;
	bool found = false;

	s = ks_dcache_strategies(&n);
	assert_int_equal(n, 2);
	for (i = 0; i < n; i++) {
		assert_true(strlen(s[i].summary) > 10 && strlen(s[i].source) > 10);
		found |= !strcmp(s[i].name, STRAT(state));
	}
	assert_true(found);
	assert_true(strstr(s[1].source, "59.17 s -> 18.90 s") != NULL);
	assert_true(strstr(s[0].source, "600-700,000 inodes/s") != NULL);

	ks_test_env_init(&env, ks_test_topologies[0]);
	o.topo = env.topo;
	o.locks = env.locks;
	o.mem = env.mem;
	assert_int_equal(ks_dcache_create(STRAT(state), &o, NULL), -EINVAL);
	assert_int_equal(ks_dcache_create("nope", &o, &dc), -ENOENT);
	o.hash_bits = 3;
	assert_int_equal(ks_dcache_create(STRAT(state), &o, &dc), -EINVAL);
	o.hash_bits = 25;
	assert_int_equal(ks_dcache_create(STRAT(state), &o, &dc), -EINVAL);
	o.hash_bits = 4;
	assert_int_equal(ks_dcache_create(STRAT(state), &o, &dc), 0);
	assert_string_equal(ks_dcache_strategy(dc), STRAT(state));
	assert_int_equal(ks_dcache_destroy(NULL), -EINVAL);
	assert_int_equal(ks_dcache_stats(NULL, NULL), -EINVAL);
	assert_int_equal(ks_dcache_stats(dc, NULL), -EINVAL);
	assert_int_equal(ks_dcache_destroy(dc), 0);
	/* defaults: own ks_mem domain, default topology */
	assert_int_equal(ks_dcache_create(STRAT(state), NULL, &dc), 0);
	assert_int_equal(ks_dcache_destroy(dc), 0);
	ks_test_env_fini(&env);
}

static void test_lookup_create_and_account(void **state)
{
	for (size_t t = 0; t < ks_test_nr_topologies; t++) {
		struct ks_dentry *a, *a2, *b;
		struct ks_dcache_stats st;
		struct mk m = {.mode = KS_S_IFREG | 0444};
		struct fs f;

		fs_init_opts(&f, STRAT(state), ks_test_topologies[t], 0);
		assert_int_equal(ks_d_lookup(f.root, "a", &a), -ENOENT);
		assert_int_equal(ks_d_lookup_or_create(f.root, "a", mk_create, &m, &a), 1);
		assert_int_equal(m.calls, 1);
		assert_int_equal(ks_d_lookup_or_create(f.root, "a", mk_create, &m, &a2), 0);
		assert_int_equal(m.calls, 1);
		assert_ptr_equal(a, a2);
		assert_int_equal(ks_d_count(a), 2);
		assert_string_equal(ks_d_name(a), "a");
		assert_ptr_equal(ks_d_parent(a), f.root);
		assert_int_equal(ks_d_unhashed(a), 0);
		b = get(f.root, "b", KS_S_IFDIR | 0555);
		assert_true(ks_inode_ino(ks_d_inode(a)) != ks_inode_ino(ks_d_inode(b)));
		assert_int_equal(ks_inode_mode(ks_d_inode(b)), KS_S_IFDIR | 0555);
		/* a file is no directory */
		assert_int_equal(ks_d_lookup_or_create(a, "x", mk_create, &m, &a2), -ENOTDIR);
		assert_int_equal(ks_d_alloc(a, "x", &a2), -ENOTDIR);

		st = stats(&f);
		assert_int_equal(st.dentries, 3); /* root, a, b */
		assert_int_equal(st.inodes, 3);
		assert_int_equal(st.kernel_bytes, 3 * (192 + 696));
		assert_true(st.bytes > 0);
		assert_int_equal(st.creations, 2);
		assert_true(st.lookup_hits >= 1);
		assert_int_equal(st.dentries_unused, 0);

		assert_int_equal(ks_dput(a), 0);
		assert_int_equal(ks_dput(a), 0);
		assert_int_equal(ks_dput(b), 0);
		st = stats(&f);
		/* retained at count 0 on the LRU, inodes too */
		assert_int_equal(st.dentries, 3);
		assert_int_equal(st.dentries_unused, 2);
		assert_int_equal(ks_d_lookup(f.root, "a", &a), 0);
		assert_int_equal(ks_dput(a), 0);
		assert_int_equal(f.evicted, 0);
		fs_fini(&f);
		assert_int_equal(f.evicted, 3);
	}
}

static void test_bad_names_and_args(void **state)
{
	char longname[KS_NAME_MAX + 2];
	struct ks_dentry *d;
	struct ks_inode *inode;
	struct mk m = {.mode = KS_S_IFREG};
	struct fs f;

	fs_init(&f, STRAT(state));
	memset(longname, 'x', sizeof(longname));
	longname[KS_NAME_MAX + 1] = '\0';
	assert_int_equal(ks_d_lookup(f.root, "", &d), -EINVAL);
	assert_int_equal(ks_d_lookup(f.root, "a/b", &d), -EINVAL);
	assert_int_equal(ks_d_lookup(f.root, ".", &d), -EINVAL);
	assert_int_equal(ks_d_lookup(f.root, "..", &d), -EINVAL);
	assert_int_equal(ks_d_lookup(f.root, NULL, &d), -EINVAL);
	assert_int_equal(ks_d_lookup(f.root, "a", NULL), -EINVAL);
	assert_int_equal(ks_d_lookup(NULL, "a", &d), -EINVAL);
	assert_int_equal(ks_d_lookup(f.root, longname, &d), -ENAMETOOLONG);
	assert_int_equal(ks_d_lookup_or_create(f.root, longname, mk_create, &m, &d), -ENAMETOOLONG);
	assert_int_equal(ks_d_lookup_or_create(f.root, "a/", mk_create, &m, &d), -EINVAL);
	assert_int_equal(ks_d_lookup_or_create(f.root, "a", NULL, &m, &d), -EINVAL);
	assert_int_equal(ks_d_alloc(f.root, "", &d), -EINVAL);
	longname[KS_NAME_MAX] = '\0'; /* exactly NAME_MAX: fine */
	d = get(f.root, longname, KS_S_IFREG);
	assert_string_equal(ks_d_name(d), longname);
	assert_int_equal(ks_dput(d), 0);

	assert_int_equal(ks_inode_new(NULL, KS_S_IFREG, NULL, &inode), -EINVAL);
	assert_int_equal(ks_inode_new(f.dc, 0644, NULL, &inode), -EINVAL);
	assert_int_equal(ks_inode_new(f.dc, KS_S_IFREG, NULL, NULL), -EINVAL);
	assert_int_equal(ks_iput(NULL), -EINVAL);
	assert_int_equal(ks_igrab(NULL), -EINVAL);
	assert_int_equal(ks_d_add(NULL, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(ks_d_add(f.root, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(ks_d_find_any_alias(NULL, &d), -EINVAL);
	assert_int_equal(ks_dget(NULL), -EINVAL);
	assert_int_equal(ks_dput(NULL), -EINVAL);
	assert_int_equal(ks_d_invalidate(NULL), -EINVAL);
	assert_int_equal(ks_shrink_dcache_parent(NULL), -EINVAL);
	assert_int_equal(ks_dcache_prune(NULL, 0, 1), -EINVAL);
	assert_int_equal(ks_dcache_prune(f.dc, 99, 1), -EINVAL);
	assert_int_equal(ks_dcache_prune(f.dc, 0, 0), -EINVAL);
	assert_int_equal(ks_dcache_lru_count(f.dc, -1), -EINVAL);
	assert_int_equal(ks_dcache_for_each_inode(f.dc, NULL, NULL), -EINVAL);
	assert_int_equal(ks_d_root(NULL, &d), -EINVAL);
	assert_null(ks_d_name(NULL));
	assert_int_equal(ks_d_count(NULL), -EINVAL);

	/* d_add refusals: positive dentry, name taken, inode of another alias */
	assert_int_equal(ks_inode_new(f.dc, KS_S_IFREG, NULL, &inode), 0);
	d = get(f.root, "taken", KS_S_IFREG);
	assert_int_equal(ks_d_add(d, inode, NULL, NULL), -EINVAL);
	assert_int_equal(ks_dput(d), 0);
	assert_int_equal(ks_d_alloc(f.root, "taken", &d), 0);
	assert_int_equal(ks_d_add(d, inode, NULL, NULL), -EEXIST);
	assert_int_equal(ks_dput(d), 0); /* negative, unhashed: killed */
	assert_int_equal(ks_iput(inode), 0);
	fs_fini(&f);
}

static void test_hash_collisions(void **state)
{
	struct ks_dentry *dirs[3], *d;
	char name[64];
	struct fs f;
	int p, i;

	fs_init_opts(&f, STRAT(state), ks_test_topologies[1], 4); /* 16 buckets */
	for (p = 0; p < 3; p++) {
		snprintf(name, sizeof(name), "dir%d", p);
		dirs[p] = get(f.root, name, KS_S_IFDIR | 0555);
	}
	/* the same names under three parents, short and external (> 40) */
	for (p = 0; p < 3; p++)
		for (i = 0; i < 200; i++) {
			snprintf(name, sizeof(name),
				 i % 2 ? "n%d" : "a-name-longer-than-the-inline-forty-bytes-%d", i);
			d = get(dirs[p], name, KS_S_IFREG);
			assert_int_equal(ks_dput(d), 0);
		}
	assert_int_equal(stats(&f).dentries, 1 + 3 + 600);
	for (p = 0; p < 3; p++)
		for (i = 0; i < 200; i++) {
			snprintf(name, sizeof(name),
				 i % 2 ? "n%d" : "a-name-longer-than-the-inline-forty-bytes-%d", i);
			assert_int_equal(ks_d_lookup(dirs[p], name, &d), 0);
			assert_ptr_equal(ks_d_parent(d), dirs[p]);
			assert_string_equal(ks_d_name(d), name);
			assert_int_equal(ks_dput(d), 0);
		}
	assert_int_equal(ks_d_lookup(dirs[0], "n1000", &d), -ENOENT);
	for (p = 0; p < 3; p++)
		assert_int_equal(ks_dput(dirs[p]), 0);
	fs_fini(&f);
}

/* ---- revalidation and d_delete ------------------------------------------ */

struct rv {
	int valid;  /* what d_revalidate answers */
	int echild; /* answer -ECHILD under RCU */
	int rcu_calls, ref_calls, releases, deletes;
	int kill_at_zero;
};

static int rv_revalidate(struct ks_dentry *d, unsigned int flags, void *priv)
{
	struct rv *v = priv;

	if (flags & KS_LOOKUP_RCU) {
		__atomic_fetch_add(&v->rcu_calls, 1, __ATOMIC_RELAXED);
		if (v->echild)
			return -ECHILD;
	} else {
		__atomic_fetch_add(&v->ref_calls, 1, __ATOMIC_RELAXED);
	}
	return v->valid;
}

static int rv_delete(const struct ks_dentry *d, void *priv)
{
	struct rv *v = priv;

	v->deletes++;
	return v->kill_at_zero;
}

static void rv_release(struct ks_dentry *d, void *priv)
{
	((struct rv *)priv)->releases++;
}

static const struct ks_dentry_operations rv_ops = {
	.d_revalidate = rv_revalidate,
	.d_delete = rv_delete,
	.d_release = rv_release,
};

static void test_revalidate_failure_relookup(void **state)
{
	struct rv v = {.valid = 1};
	struct mk m = {.mode = KS_S_IFREG, .ops = &rv_ops, .priv = &v};
	struct ks_dentry *d, *d2;
	uint64_t ino;
	struct fs f;

	fs_init(&f, STRAT(state));
	assert_int_equal(ks_d_lookup_or_create(f.root, "fd", mk_create, &m, &d), 1);
	ino = ks_inode_ino(ks_d_inode(d));
	assert_int_equal(ks_dput(d), 0);
	assert_int_equal(v.deletes, 1);
	assert_int_equal(ks_d_lookup(f.root, "fd", &d), 0);
	assert_int_equal(v.rcu_calls, 1);
	assert_int_equal(v.ref_calls, 0);
	assert_int_equal(ks_dput(d), 0);
	/* -ECHILD under RCU: asked again with a reference */
	v.echild = 1;
	assert_int_equal(ks_d_lookup(f.root, "fd", &d), 0);
	assert_int_equal(v.ref_calls, 1);
	assert_int_equal(ks_dput(d), 0);
	/* stale: the lookup misses, the old one dies, a re-lookup creates */
	v.valid = 0;
	assert_int_equal(ks_d_lookup(f.root, "fd", &d), -ENOENT);
	assert_int_equal(stats(&f).revalidate_failures, 1);
	assert_int_equal(v.releases, 1);
	assert_int_equal(f.evicted, 1);
	assert_int_equal(stats(&f).dentries, 1);
	v.valid = 1;
	assert_int_equal(ks_d_lookup_or_create(f.root, "fd", mk_create, &m, &d), 1);
	assert_true(ks_inode_ino(ks_d_inode(d)) != ino);
	/* stale while someone holds it: unhashed, lives until the last put */
	v.valid = 0;
	v.echild = 0;
	assert_int_equal(ks_d_lookup_or_create(f.root, "fd", mk_create, &m, &d2), 1);
	assert_true(d2 != d);
	assert_int_equal(ks_d_unhashed(d), 1);
	assert_int_equal(ks_d_count(d), 1);
	assert_int_equal(ks_dput(d), 0); /* unhashed: killed at once */
	assert_int_equal(stats(&f).dentries, 2);
	/* an error other than 0 or -ECHILD goes to the caller */
	v.valid = -EIO;
	assert_int_equal(ks_d_lookup(f.root, "fd", &d), -EIO);
	v.valid = 1;
	/* d_delete says kill: nothing kept at count zero */
	v.kill_at_zero = 1;
	assert_int_equal(ks_dput(d2), 0);
	assert_int_equal(stats(&f).dentries, 1);
	assert_int_equal(stats(&f).inodes, 1);
	assert_int_equal(v.releases, 3);
	fs_fini(&f);
}

/* ---- invalidation and shrinking ------------------------------------------ */

/* A tree below @parent: @fan children per level, @depth levels. */
static long build(struct ks_dentry *parent, int depth, int fan)
{
	char name[16];
	long n = 0;

	for (int i = 0; i < fan; i++) {
		struct ks_dentry *d;

		snprintf(name, sizeof(name), "e%d", i);
		d = get(parent, name, depth > 1 ? KS_S_IFDIR | 0555 : KS_S_IFREG | 0444);
		n++;
		if (depth > 1)
			n += build(d, depth - 1, fan);
		assert_int_equal(ks_dput(d), 0);
	}
	return n;
}

static void test_invalidate_subtree(void **state)
{
	struct ks_dentry *top, *mid, *leaf, *d;
	struct ks_dcache_stats st;
	long n;
	struct fs f;

	fs_init(&f, STRAT(state));
	top = get(f.root, "123", KS_S_IFDIR | 0555);
	n = build(top, 3, 4);
	assert_int_equal(n, 4 + 16 + 64);
	assert_int_equal(stats(&f).dentries, 1 + 1 + n);
	/* hold one leaf deep down */
	assert_int_equal(ks_d_lookup(top, "e1", &mid), 0);
	assert_int_equal(ks_d_lookup(mid, "e2", &d), 0);
	assert_int_equal(ks_d_lookup(d, "e3", &leaf), 0);
	assert_int_equal(ks_dput(d), 0);
	assert_int_equal(ks_dput(mid), 0);

	assert_int_equal(ks_d_invalidate(top), 0);
	assert_int_equal(ks_d_unhashed(top), 1);
	assert_int_equal(ks_d_lookup(f.root, "123", &d), -ENOENT);
	st = stats(&f);
	/* root, top, and the held leaf with its two ancestors */
	assert_int_equal(st.dentries, 5);
	assert_int_equal(st.inodes, 5);
	assert_int_equal(f.evicted, n - 3);
	/* invalidating again is a no-op */
	assert_int_equal(ks_d_invalidate(top), 0);
	assert_int_equal(ks_dput(top), 0); /* unhashed: goes once unpinned */
	assert_int_equal(stats(&f).dentries, 5);
	/* the leaf is still hashed: kept on the LRU at count 0, as Linux does */
	assert_int_equal(ks_dput(leaf), 0);
	assert_int_equal(stats(&f).dentries, 5);
	assert_true(ks_dcache_prune(f.dc, -1, 100) >= 1);
	assert_int_equal(stats(&f).dentries, 1);
	assert_int_equal(stats(&f).inodes, 1);
	fs_fini(&f);
}

static void test_shrink_dcache_parent(void **state)
{
	struct ks_dentry *top, *held;
	long n;
	struct fs f;

	fs_init(&f, STRAT(state));
	top = get(f.root, "t", KS_S_IFDIR | 0555);
	n = build(top, 4, 3);
	assert_int_equal(n, 3 + 9 + 27 + 81);
	assert_int_equal(ks_d_lookup(top, "e0", &held), 0);
	/* everything unused below top goes, held and top stay */
	assert_int_equal(ks_shrink_dcache_parent(top), n - 1);
	assert_int_equal(stats(&f).dentries, 3);
	assert_int_equal(ks_d_unhashed(held), 0);
	assert_int_equal(ks_shrink_dcache_parent(top), 0);
	assert_int_equal(ks_dput(held), 0);
	assert_int_equal(ks_shrink_dcache_parent(top), 1);
	assert_int_equal(ks_dput(top), 0);
	assert_int_equal(ks_shrink_dcache_parent(f.root), 1);
	assert_int_equal(stats(&f).dentries, 1);
	assert_int_equal(stats(&f).dentries_unused, 0);
	/* the whole tree again, then the superblock goes with it */
	top = get(f.root, "t", KS_S_IFDIR | 0555);
	build(top, 3, 3);
	assert_int_equal(ks_dput(top), 0);
	fs_fini(&f);
}

/* ---- LRU per NUMA node ---------------------------------------------------- */

static void test_lru_per_node(void **state)
{
	for (size_t t = 0; t < ks_test_nr_topologies; t++) {
		struct fs f;
		int nodes, cpus, node;
		long expect[64] = {0};
		char name[32];

		fs_init_opts(&f, STRAT(state), ks_test_topologies[t], 0);
		nodes = ks_dcache_nr_nodes(f.dc);
		cpus = ks_topo_nr_cpus(f.env.topo);
		assert_int_equal(nodes, ks_topo_nr_nodes(f.env.topo));
		assert_true(nodes <= 64);
		/* one dentry born on every CPU */
		for (int c = 0; c < cpus; c++) {
			struct ks_dentry *d;

			assert_int_equal(ks_cpu_set_current(c), 0);
			snprintf(name, sizeof(name), "cpu%d", c);
			d = get(f.root, name, KS_S_IFREG);
			node = ks_topo_cpu_node(f.env.topo, c);
			assert_int_equal(ks_d_lru_node(d), node);
			expect[node]++;
			assert_int_equal(ks_dput(d), 0);
		}
		ks_cpu_set_current(-1);
		for (node = 0; node < nodes; node++)
			assert_int_equal(ks_dcache_lru_count(f.dc, node), expect[node]);
		assert_int_equal(stats(&f).dentries_unused, cpus);
		/* pruning one node leaves the others alone */
		node = nodes - 1;
		assert_int_equal(ks_dcache_prune(f.dc, node, 1u << 20), expect[node]);
		assert_int_equal(ks_dcache_lru_count(f.dc, node), 0);
		assert_int_equal(stats(&f).dentries, 1 + cpus - expect[node]);
		/* a referenced dentry gets a second chance */
		if (nodes > 1) {
			struct ks_dentry *d;

			assert_int_equal(ks_d_lookup(f.root, "cpu0", &d), 0);
			assert_int_equal(ks_dput(d), 0);
			/* one pass over the list: cpu0 rotates, the rest go */
			assert_int_equal(ks_dcache_prune(f.dc, 0, expect[0]), expect[0] - 1);
			assert_int_equal(ks_dcache_lru_count(f.dc, 0), 1);
			assert_int_equal(ks_dcache_prune(f.dc, 0, 1), 1);
		}
		fs_fini(&f);
	}
}

/* ---- references: double put, dead dentries, busy teardown ----------- */

static void test_double_put_and_dead(void **state)
{
	struct rv v = {.valid = 1, .kill_at_zero = 1};
	struct mk m = {.mode = KS_S_IFDIR, .ops = &rv_ops, .priv = &v};
	struct ks_dentry *d, *x;
	struct ks_inode *inode;
	struct fs f;

	fs_init(&f, STRAT(state));
	/* the superblock's own reference to the root cannot be put */
	assert_int_equal(ks_dput(f.root), 0);
	assert_int_equal(ks_dput(f.root), -EINVAL);
	assert_int_equal(ks_d_count(f.root), 1);
	assert_int_equal(ks_d_root(f.dc, &f.root), 0);
	d = get(f.root, "kept", KS_S_IFREG);
	assert_int_equal(ks_dput(d), 0);
	/* on the LRU with count 0: a second put is refused, nothing breaks */
	assert_int_equal(ks_dput(d), -EINVAL);
	assert_int_equal(ks_dget(d), -EINVAL);
	assert_int_equal(ks_d_count(d), 0);
	assert_int_equal(stats(&f).dentries, 2);

	/* a dead dentry, still in memory thanks to RCU */
	assert_int_equal(ks_d_lookup_or_create(f.root, "dying", mk_create, &m, &d), 1);
	inode = ks_d_inode(d);
	assert_int_equal(ks_rcu_read_lock(), 0);
	assert_int_equal(ks_dput(d), 0);
	assert_true(ks_d_count(d) < 0);
	assert_int_equal(ks_dput(d), -EINVAL);
	assert_int_equal(ks_dget(d), -EINVAL);
	assert_int_equal(ks_d_lookup(d, "x", &x), -EINVAL);
	assert_int_equal(ks_d_lookup_or_create(d, "x", mk_create, &m, &x), -EINVAL);
	assert_int_equal(ks_d_alloc(d, "x", &x), -EINVAL);
	assert_int_equal(ks_d_invalidate(d), -EINVAL);
	assert_int_equal(ks_shrink_dcache_parent(d), -EINVAL);
	assert_int_equal(ks_d_add(d, inode, NULL, NULL), -EINVAL);
	assert_int_equal(ks_igrab(inode), -ENOENT); /* being evicted */
	assert_int_equal(ks_dcache_destroy(f.dc), -EDEADLK);
	{
		struct ks_dcache *other = NULL;

		assert_int_equal(ks_dcache_create(STRAT(state), NULL, &other), -EDEADLK);
		assert_null(other);
	}
	assert_int_equal(ks_rcu_read_unlock(), 0);
	fs_fini(&f);
}

static void test_destroy_busy_and_alias(void **state)
{
	struct ks_dentry *d, *alias;
	struct ks_inode *inode, *loose;
	int mark = 7;
	struct fs f;

	fs_init(&f, STRAT(state));
	d = get(f.root, "busy", KS_S_IFREG);
	inode = ks_d_inode(d);
	assert_int_equal(ks_d_find_any_alias(inode, &alias), 0);
	assert_ptr_equal(alias, d);
	assert_int_equal(ks_dput(alias), 0);
	assert_int_equal(ks_igrab(inode), 0);
	assert_int_equal(ks_iput(inode), 0);
	assert_int_equal(ks_dput(f.root), 0);
	assert_int_equal(ks_dcache_destroy(f.dc), -EBUSY);
	assert_int_equal(ks_dput(d), 0);
	/* an inode without a dentry also keeps the superblock busy */
	assert_int_equal(ks_inode_new(f.dc, KS_S_IFREG, &mark, &loose), 0);
	assert_ptr_equal(ks_inode_private(loose), &mark);
	assert_ptr_equal(ks_inode_dcache(loose), f.dc);
	assert_int_equal(ks_d_find_any_alias(loose, &alias), -ENOENT);
	assert_ptr_equal(ks_inode_from_user_link(ks_inode_user_link(loose)), loose);
	assert_int_equal(ks_dcache_destroy(f.dc), -EBUSY);
	assert_int_equal(ks_iput(loose), 0);
	assert_int_equal(ks_d_root(f.dc, &f.root), 0);
	fs_fini(&f);
}

/* ---- the superblock inode list ----------------------------------------- */

struct walk {
	long n;
	uint64_t xor ;
	int stop_at;
};

static int walk_fn(struct ks_inode *inode, void *arg)
{
	struct walk *w = arg;

	w->n++;
	w->xor ^= ks_inode_ino(inode);
	return w->stop_at && w->n == w->stop_at ? 42 : 0;
}

static void test_inode_list_walk(void **state)
{
	for (size_t t = 0; t < ks_test_nr_topologies; t++) {
		struct walk w = {0};
		uint64_t xor = ks_inode_ino(NULL);
		struct ks_dentry *d;
		char name[16];
		struct fs f;
		int cpus;

		fs_init_opts(&f, STRAT(state), ks_test_topologies[t], 0);
		cpus = ks_topo_nr_cpus(f.env.topo);
		xor ^= ks_inode_ino(ks_d_inode(f.root));
		for (int i = 0; i < 300; i++) {
			ks_cpu_set_current((i * 7) % cpus);
			snprintf(name, sizeof(name), "i%d", i);
			d = get(f.root, name, KS_S_IFREG);
			xor ^= ks_inode_ino(ks_d_inode(d));
			assert_int_equal(ks_dput(d), 0);
		}
		/* evict a third from other CPUs than they were born on */
		for (int i = 0; i < 300; i += 3) {
			ks_cpu_set_current((i * 5 + 1) % cpus);
			snprintf(name, sizeof(name), "i%d", i);
			assert_int_equal(ks_d_lookup(f.root, name, &d), 0);
			xor ^= ks_inode_ino(ks_d_inode(d));
			assert_int_equal(ks_d_invalidate(d), 0);
			assert_int_equal(ks_dput(d), 0);
		}
		ks_cpu_set_current(-1);
		assert_int_equal(ks_dcache_for_each_inode(f.dc, walk_fn, &w), 0);
		assert_int_equal(w.n, 1 + 200);
		assert_int_equal(w.n, stats(&f).inodes);
		assert_true(w.xor == xor);
		w.n = 0;
		w.stop_at = 10;
		assert_int_equal(ks_dcache_for_each_inode(f.dc, walk_fn, &w), 42);
		assert_int_equal(w.n, 10);
		/* inode numbers are unique */
		assert_int_equal(stats(&f).evictions, 100);
		fs_fini(&f);
	}
}

/* ---- fault injection: every -ENOMEM path ---------------------------------- */

static void test_enomem_everywhere(void **state)
{
	struct ks_test_env env;
	int successes = 0;

	ks_test_env_init(&env, ks_test_topologies[2]);
	for (uint64_t nth = 1; successes < 2 && nth < 200; nth++) {
		struct ks_dcache_opts o = {.topo = env.topo, .locks = env.locks, .mem = env.mem};
		struct mk m = {.mode = KS_S_IFDIR | 0555};
		struct ks_dcache *dc = NULL;
		struct ks_dentry *root, *d, *e;
		char longname[80];
		int r;

		memset(longname, 'L', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = '\0';
		assert_int_equal(ks_mem_fail_nth(env.mem, nth), 0);
		r = ks_dcache_create(STRAT(state), &o, &dc);
		if (r) {
			assert_int_equal(r, -ENOMEM);
			ks_test_assert_mem_balanced(env.mem);
			continue;
		}
		assert_int_equal(ks_d_root(dc, &root), 0);
		r = ks_d_lookup_or_create(root, "a", mk_create, &m, &d);
		if (r == 1) {
			r = ks_d_lookup_or_create(d, longname, mk_create, &m, &e);
			if (r == 1) {
				successes++;
				assert_int_equal(ks_dput(e), 0);
			} else {
				assert_int_equal(r, -ENOMEM);
			}
			assert_int_equal(ks_dput(d), 0);
		} else {
			assert_int_equal(r, -ENOMEM);
		}
		assert_int_equal(ks_dput(root), 0);
		assert_int_equal(ks_mem_fail_nth(env.mem, 0), 0);
		assert_int_equal(ks_dcache_destroy(dc), 0);
		ks_test_assert_mem_balanced(env.mem);
	}
	assert_int_equal(successes, 2);
	ks_test_env_fini(&env);
}

static void test_lockstat_classes(void **state)
{
	struct ks_lock_class_stats cls[64];
	size_t n = 0;
	bool seen_list = false, seen_d = false, seen_lru = false, seen_hash = false;
	struct ks_dentry *d;
	struct fs f;

	fs_init(&f, STRAT(state));
	d = get(f.root, "x", KS_S_IFREG);
	assert_int_equal(ks_d_invalidate(d), 0);
	assert_int_equal(ks_dput(d), 0);
	d = get(f.root, "y", KS_S_IFREG);
	assert_int_equal(ks_dput(d), 0);
	assert_int_equal(ks_lockstat_read(f.env.locks, cls, 64, &n), 0);
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(cls[i].name, "s_inode_list_lock")) {
			seen_list = true;
			assert_int_equal(cls[i].scope, !strcmp(STRAT(state), "global")
							       ? KS_LOCK_GLOBAL
							       : KS_LOCK_PERCPU);
			if (ks_lockstat_enabled())
				assert_true(cls[i].acquisitions >= 3); /* root, x add+del, y */
		}
		seen_d |= !strcmp(cls[i].name, "d_lock");
		seen_lru |= !strcmp(cls[i].name, "lru_lock");
		seen_hash |= !strcmp(cls[i].name, "dcache_hash_bucket");
	}
	assert_true(seen_list && seen_d && seen_lru && seen_hash);
	fs_fini(&f);
}

/* ---- the procfs hooks: proc_flush_pid() built on the public API ---------- */

/* A "struct pid" with its inode list (pid->inodes under pid->lock). */
struct fake_pid {
	pthread_mutex_t lock;
	struct ks_dcache_link inodes; /* circular, head of the user links */
	int evicted;
};

static void pid_evict(struct ks_inode *inode, void *ipriv, void *fs_info)
{
	struct fake_pid *pid = ipriv;
	struct ks_dcache_link *l = ks_inode_user_link(inode);

	if (!pid)
		return;
	/* proc_evict_inode(): off the pid's list under pid->lock */
	pthread_mutex_lock(&pid->lock);
	l->prev->next = l->next;
	l->next->prev = l->prev;
	pid->evicted++;
	pthread_mutex_unlock(&pid->lock);
}

static const struct ks_super_operations pid_sops = {.evict_inode = pid_evict};

struct pid_mk {
	struct fake_pid *pid;
};

/* proc_pid_make_base_inode(): a pid directory inode joins pid->inodes */
static int pid_create(void *arg, struct ks_dentry *parent, struct ks_dentry *d)
{
	struct fake_pid *pid = ((struct pid_mk *)arg)->pid;
	struct ks_dcache_link *l;
	struct ks_inode *inode;
	int r;

	r = ks_inode_new(ks_d_dcache(parent), KS_S_IFDIR | 0555, pid, &inode);
	if (r)
		return r;
	l = ks_inode_user_link(inode);
	pthread_mutex_lock(&pid->lock);
	l->next = pid->inodes.next;
	l->prev = &pid->inodes;
	pid->inodes.next->prev = l;
	pid->inodes.next = l;
	pthread_mutex_unlock(&pid->lock);
	r = ks_d_add(d, inode, NULL, NULL);
	if (r)
		ks_iput(inode); /* evict unlinks it */
	return r;
}

/*
 * proc_flush_pid() -> proc_invalidate_siblings_dcache(): for every inode on
 * the pid's list, igrab(), d_find_any_alias(), d_invalidate(), dput(), iput().
 */
static void flush_pid(struct fake_pid *pid)
{
	for (;;) {
		struct ks_inode *inode = NULL;
		struct ks_dentry *d;

		pthread_mutex_lock(&pid->lock);
		for (struct ks_dcache_link *l = pid->inodes.next; l != &pid->inodes; l = l->next)
			if (!ks_igrab(ks_inode_from_user_link(l))) {
				inode = ks_inode_from_user_link(l);
				break;
			}
		pthread_mutex_unlock(&pid->lock);
		if (!inode)
			return;
		if (!ks_d_find_any_alias(inode, &d)) {
			assert_int_equal(ks_d_invalidate(d), 0);
			assert_int_equal(ks_dput(d), 0);
		}
		assert_int_equal(ks_iput(inode), 0); /* the last: evict unlinks it */
	}
}

static void test_flush_pid_via_user_links(void **state)
{
	struct ks_dcache_opts o = {0};
	struct fake_pid pid = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct pid_mk pm = {.pid = &pid};
	struct ks_dentry *root, *tgid, *task, *tid, *d;
	struct ks_test_env env;
	struct ks_dcache *dc;
	struct ks_dcache_stats st;

	pid.inodes.next = pid.inodes.prev = &pid.inodes;
	ks_test_env_init(&env, ks_test_topologies[1]);
	o.topo = env.topo;
	o.locks = env.locks;
	o.mem = env.mem;
	o.s_op = &pid_sops;
	assert_int_equal(ks_dcache_create(STRAT(state), &o, &dc), 0);
	assert_int_equal(ks_d_root(dc, &root), 0);
	/* /42 and /42/task/42 are both on pid 42's list, as in fs/proc */
	assert_int_equal(ks_d_lookup_or_create(root, "42", pid_create, &pm, &tgid), 1);
	task = get(tgid, "task", KS_S_IFDIR | 0555);
	assert_int_equal(ks_d_lookup_or_create(task, "42", pid_create, &pm, &tid), 1);
	assert_int_equal(build(tid, 2, 5), 5 + 25);
	assert_int_equal(build(tgid, 2, 4), 4 + 16);
	assert_int_equal(ks_dput(tid), 0);
	assert_int_equal(ks_dput(task), 0);
	assert_int_equal(ks_dput(tgid), 0);
	assert_int_equal(ks_dcache_stats(dc, &st), 0);
	assert_int_equal(st.dentries, 1 + 1 + 1 + 1 + 30 + 20);

	flush_pid(&pid);
	assert_int_equal(pid.evicted, 2);
	assert_ptr_equal(pid.inodes.next, &pid.inodes);
	assert_int_equal(ks_d_lookup(root, "42", &d), -ENOENT);
	assert_int_equal(ks_dcache_stats(dc, &st), 0);
	assert_int_equal(st.dentries, 1);
	assert_int_equal(st.inodes, 1);
	assert_int_equal(ks_dput(root), 0);
	assert_int_equal(ks_dcache_destroy(dc), 0);
	ks_test_env_fini(&env);
}

#define T(fn)                                                                                      \
	cmocka_unit_test_prestate(fn, (void *)"global"),                                           \
		cmocka_unit_test_prestate(fn, (void *)"dlock")

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_strategies_and_bad_create),
		T(test_lookup_create_and_account),
		T(test_bad_names_and_args),
		T(test_hash_collisions),
		T(test_revalidate_failure_relookup),
		T(test_invalidate_subtree),
		T(test_shrink_dcache_parent),
		T(test_lru_per_node),
		T(test_double_put_and_dead),
		T(test_destroy_busy_and_alias),
		T(test_inode_list_walk),
		T(test_enomem_everywhere),
		T(test_lockstat_classes),
		T(test_flush_pid_via_user_links),
	};
	int r;

	if (ks_rcu_register_thread())
		return 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	ks_rcu_unregister_thread();
	return r;
}
