// SPDX-License-Identifier: MIT
/*
 * procfs semantics, one body per layout x inode list: entry tables, nlink
 * and fd/ size, stale paths of an exited thread, closed descriptors,
 * unshare(CLONE_FILES), readdir instantiation, teardown to baseline, walk
 * counts against the formulas, bad input. Every test ends with the leak
 * oracle.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <kscale/dcache.h>
#include <kscale/mem.h>
#include <kscale/mm.h>
#include <kscale/procfs.h>
#include <kscale/rcu.h>
#include <kscale/task.h>

#include "ks_test.h"

struct penv {
	struct ks_test_env env;
	struct ks_tasks *t;
	struct ks_procfs *fs;
	char layout[32];
	const char *ilist;
};

/* state: "layout/inode_list" */
static void penv_init(struct penv *e, void **state)
{
	const char *s = *state;
	const char *slash = strchr(s, '/');
	struct ks_tasks_opts to = { 0 };
	struct ks_procfs_opts po = { 0 };

	memset(e, 0, sizeof(*e));
	snprintf(e->layout, sizeof(e->layout), "%.*s", (int)(slash - s), s);
	e->ilist = slash + 1;
	ks_test_env_init(&e->env, ks_test_topologies[1]);
	to.topo = e->env.topo;
	to.locks = e->env.locks;
	to.mem = e->env.mem;
	assert_int_equal(ks_tasks_create(&to, &e->t), 0);
	po.tasks = e->t;
	po.inode_list = e->ilist;
	po.topo = e->env.topo;
	po.locks = e->env.locks;
	po.mem = e->env.mem;
	po.hash_bits = 10;
	assert_int_equal(ks_procfs_create(e->layout, &po, &e->fs), 0);
}

static void penv_fini(struct penv *e)
{
	struct ks_procfs_stats st;

	assert_int_equal(ks_procfs_stats(e->fs, &st), 0);
	assert_int_equal(st.dentries, 0);
	assert_int_equal(st.inodes, 0);
	assert_int_equal(ks_procfs_destroy(e->fs), 0);
	assert_int_equal(ks_tasks_destroy(e->t), 0);
	assert_int_equal(ks_rcu_barrier(), 0);
	assert_int_equal(ks_rcu_barrier(), 0);
	ks_test_env_fini(&e->env);
}

static bool is_symlink(const struct penv *e)
{
	return !strcmp(e->layout, "symlink");
}

static struct ks_procfs_stats pstats(struct penv *e)
{
	struct ks_procfs_stats st;

	assert_int_equal(ks_procfs_stats(e->fs, &st), 0);
	return st;
}

/* A process: leader + @threads-1 threads sharing files, @fds files, @vmas mappings. */
struct proc {
	struct ks_task *th[16];
	int nr;
};

static void proc_create(struct penv *e, struct proc *p, int threads, int fds, int vmas)
{
	struct ks_mm *mm;
	char path[64];
	int fd;

	memset(p, 0, sizeof(*p));
	assert_true(threads >= 1 && threads <= 16);
	assert_int_equal(ks_task_clone(e->t, NULL, 0, &p->th[0]), 0);
	p->nr = 1;
	if (vmas) {
		assert_int_equal(ks_task_mm(p->th[0], &mm), 0);
		for (int i = 0; i < vmas; i++) {
			snprintf(path, sizeof(path), "/usr/lib/lib%d.so", i);
			assert_int_equal(ks_mm_map(mm, KS_PAGE_SIZE, 0, path, NULL), 0);
		}
		ks_mmput(mm);
	}
	for (int i = 0; i < fds; i++) {
		snprintf(path, sizeof(path), "/tmp/file%d", i);
		assert_int_equal(ks_task_open(p->th[0], path, i & 1 ? KS_O_RDWR : KS_O_RDONLY, &fd), 0);
		assert_int_equal(fd, i);
	}
	while (p->nr < threads) {
		assert_int_equal(ks_task_clone(e->t, p->th[0],
					       KS_CLONE_VM | KS_CLONE_THREAD | KS_CLONE_FILES,
					       &p->th[p->nr]),
				 0);
		p->nr++;
	}
}

/* SIGKILL, every thread exits (leader first), reap, drop references. */
static void proc_exit_all(struct proc *p)
{
	int r;

	ks_task_kill(p->th[0]);
	for (int i = 0; i < p->nr; i++) {
		r = ks_task_exit(p->th[i], 0);
		assert_true(r == 0 || r == -ESRCH);
		if (i)
			assert_int_equal(ks_task_put(p->th[i]), 0);
	}
	assert_int_equal(ks_task_reap(p->th[0], NULL), 0);
	assert_int_equal(ks_task_put(p->th[0]), 0);
	p->nr = 0;
}

/* Walk a '/'-separated path from the root, never following links. */
static int lookup_path(struct penv *e, const char *path, struct ks_procfs_ent **out)
{
	struct ks_procfs_ent *cur, *next;
	char buf[256], *save = NULL, *tok;
	int r;

	assert_int_equal(ks_procfs_root(e->fs, &cur), 0);
	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		r = ks_procfs_lookup(cur, tok, &next);
		assert_int_equal(ks_procfs_put(cur), 0);
		if (r)
			return r;
		cur = next;
	}
	*out = cur;
	return 0;
}

static int path_type(struct penv *e, const char *path)
{
	struct ks_procfs_ent *ent;
	struct ks_procfs_stat st;
	int r = lookup_path(e, path, &ent);

	if (r)
		return r;
	assert_int_equal(ks_procfs_stat(ent, &st), 0);
	assert_int_equal(ks_procfs_put(ent), 0);
	return (int)st.type;
}

/* ---- listing ------------------------------------------------------------ */

struct listing {
	char names[128][32];
	unsigned int types[128];
	int n;
};

static int list_fn(const char *name, unsigned int type, uint64_t ino, struct ks_procfs_ent *ent,
		   void *arg)
{
	struct listing *l = arg;
	struct ks_procfs_stat st;

	/* readdir's d_ino equals lstat's st_ino while cached (proc_fill_cache()) */
	assert_int_equal(ks_procfs_stat(ent, &st), 0);
	assert_int_equal(st.ino, ino);
	assert_int_equal(st.type, type);
	if (l->n < 128) {
		snprintf(l->names[l->n], sizeof(l->names[0]), "%s", name);
		l->types[l->n] = type;
	}
	l->n++;
	return 0;
}

static int list_path(struct penv *e, const char *path, struct listing *l)
{
	struct ks_procfs_ent *ent;
	int r = lookup_path(e, path, &ent);

	memset(l, 0, sizeof(*l));
	if (r)
		return r;
	r = ks_procfs_readdir(ent, list_fn, l);
	assert_int_equal(ks_procfs_put(ent), 0);
	return r;
}

static int listing_find(const struct listing *l, const char *name)
{
	for (int i = 0; i < l->n && i < 128; i++)
		if (!strcmp(l->names[i], name))
			return i;
	return -1;
}

/*
 * The listing equals the table: same names in the same order, same types
 * except the directories that @linked names (layout symlinks).
 */
static void assert_table(const struct listing *l, enum ks_procfs_table_id id, const char *linked)
{
	size_t n;
	const struct ks_procfs_entry_info *t = ks_procfs_table(id, &n);
	char key[40];

	assert_non_null(t);
	assert_int_equal(l->n, (int)n);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(l->names[i], t[i].name);
		snprintf(key, sizeof(key), " %s ", t[i].name);
		if (linked && strstr(linked, key))
			assert_int_equal(l->types[i], KS_PROCFS_DT_LNK);
		else
			assert_int_equal(l->types[i], t[i].type);
	}
}

static void test_tables(void **state)
{
	struct penv e;
	struct proc p;
	struct listing l;
	char path[64];
	int tgid, tid;
	size_t n;

	penv_init(&e, state);
	proc_create(&e, &p, 2, 3, 1);
	tgid = ks_task_tgid(p.th[0]);
	tid = ks_task_tid(p.th[1]);

	/* sizes from the research note (this machine's 6.18 config) */
	assert_non_null(ks_procfs_table(KS_PROCFS_TGID, &n));
	assert_int_equal(n, 54);
	assert_non_null(ks_procfs_table(KS_PROCFS_TID, &n));
	assert_int_equal(n, 47);
	assert_non_null(ks_procfs_table(KS_PROCFS_ATTR, &n));
	assert_int_equal(n, 6);
	assert_non_null(ks_procfs_table(KS_PROCFS_NS, &n));
	assert_int_equal(n, 10);
	assert_null(ks_procfs_table(KS_PROCFS_NR_TABLES, &n));
	assert_null(ks_procfs_table(KS_PROCFS_TGID, NULL));

	/* /proc lists leaders only */
	assert_int_equal(list_path(&e, "", &l), 0);
	assert_int_equal(l.n, 1);
	snprintf(path, sizeof(path), "%d", tgid);
	assert_string_equal(l.names[0], path);

	assert_int_equal(list_path(&e, path, &l), 0);
	assert_table(&l, KS_PROCFS_TGID, NULL);
	snprintf(path, sizeof(path), "%d/attr", tgid);
	assert_int_equal(list_path(&e, path, &l), 0);
	assert_table(&l, KS_PROCFS_ATTR, NULL);
	snprintf(path, sizeof(path), "%d/ns", tgid);
	assert_int_equal(list_path(&e, path, &l), 0);
	assert_table(&l, KS_PROCFS_NS, NULL);

	/* task/<tgid>: the leader's own thread dir */
	snprintf(path, sizeof(path), "%d/task/%d", tgid, tgid);
	assert_int_equal(list_path(&e, path, &l), 0);
	assert_table(&l, KS_PROCFS_TID, is_symlink(&e) ? " fd fdinfo ns net attr " : NULL);
	/* task/<tid>: a thread sharing the leader's files */
	snprintf(path, sizeof(path), "%d/task/%d", tgid, tid);
	assert_int_equal(list_path(&e, path, &l), 0);
	assert_table(&l, KS_PROCFS_TID, is_symlink(&e) ? " fd fdinfo " : NULL);
	snprintf(path, sizeof(path), "%d/task/%d/attr", tgid, tid);
	assert_int_equal(list_path(&e, path, &l), 0);
	assert_table(&l, KS_PROCFS_ATTR, NULL);

	/* /proc/<tid> of a non-leader resolves; its task/ lists the group */
	snprintf(path, sizeof(path), "%d", tid);
	assert_int_equal(list_path(&e, path, &l), 0);
	assert_table(&l, KS_PROCFS_TGID, is_symlink(&e) ? " task fd fdinfo " : NULL);
	snprintf(path, sizeof(path), "%d/task", tid);
	if (is_symlink(&e)) {
		struct ks_procfs_ent *ent;
		char buf[64], want[64];

		assert_int_equal(list_path(&e, path, &l), -ENOTDIR);
		assert_int_equal(lookup_path(&e, path, &ent), 0);
		snprintf(want, sizeof(want), "../%d/task", tgid);
		assert_int_equal(ks_procfs_readlink(ent, buf, sizeof(buf)), (int)strlen(want));
		assert_string_equal(buf, want);
		assert_int_equal(ks_procfs_put(ent), 0);
		snprintf(path, sizeof(path), "%d/task/%d/fd", tgid, tid);
		assert_int_equal(lookup_path(&e, path, &ent), 0);
		assert_int_equal(ks_procfs_readlink(ent, buf, sizeof(buf)), 8);
		assert_string_equal(buf, "../../fd");
		assert_int_equal(ks_procfs_put(ent), 0);
	} else {
		assert_int_equal(list_path(&e, path, &l), 0);
		assert_int_equal(l.n, 2);
	}

	/* fd, fdinfo, map_files contents; ns link targets */
	snprintf(path, sizeof(path), "%d/fd", tgid);
	assert_int_equal(list_path(&e, path, &l), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.names[2], "2");
	snprintf(path, sizeof(path), "%d/map_files", tgid);
	assert_int_equal(list_path(&e, path, &l), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.types[0], KS_PROCFS_DT_LNK);
	{
		struct ks_procfs_ent *ent;
		char buf[64];

		snprintf(path, sizeof(path), "%d/map_files/%s", tgid, l.names[0]);
		assert_int_equal(lookup_path(&e, path, &ent), 0);
		assert_true(ks_procfs_readlink(ent, buf, sizeof(buf)) > 0);
		assert_string_equal(buf, "/usr/lib/lib0.so");
		assert_int_equal(ks_procfs_put(ent), 0);
		snprintf(path, sizeof(path), "%d/ns/pid_for_children", tgid);
		assert_int_equal(lookup_path(&e, path, &ent), 0);
		assert_true(ks_procfs_readlink(ent, buf, sizeof(buf)) > 0);
		assert_int_equal(strncmp(buf, "pid:[", 5), 0);
		assert_int_equal(ks_procfs_put(ent), 0);
		snprintf(path, sizeof(path), "%d/fd/1", tgid);
		assert_int_equal(lookup_path(&e, path, &ent), 0);
		assert_int_equal(ks_procfs_readlink(ent, buf, sizeof(buf)), 10);
		assert_string_equal(buf, "/tmp/file1");
		assert_int_equal(ks_procfs_readlink(ent, buf, 4), -ERANGE);
		assert_int_equal(ks_procfs_put(ent), 0);
	}
	proc_exit_all(&p);
	penv_fini(&e);
}

static void test_nlink_size(void **state)
{
	struct penv e;
	struct proc p;
	struct ks_procfs_ent *ent;
	struct ks_procfs_stat st;
	char path[64];
	int tgid, tid;

	penv_init(&e, state);
	proc_create(&e, &p, 3, 4, 0);
	tgid = ks_task_tgid(p.th[0]);
	tid = ks_task_tid(p.th[1]);

	snprintf(path, sizeof(path), "%d", tgid);
	assert_int_equal(lookup_path(&e, path, &ent), 0);
	assert_int_equal(ks_procfs_stat(ent, &st), 0);
	assert_int_equal(st.nlink, 9);
	assert_int_equal(st.type, KS_PROCFS_DT_DIR);
	assert_int_equal(ks_procfs_put(ent), 0);

	snprintf(path, sizeof(path), "%d/task", tgid);
	assert_int_equal(lookup_path(&e, path, &ent), 0);
	assert_int_equal(ks_procfs_stat(ent, &st), 0);
	assert_int_equal(st.nlink, 2 + 3);
	assert_int_equal(ks_procfs_put(ent), 0);

	snprintf(path, sizeof(path), "%d/task/%d", tgid, tid);
	assert_int_equal(lookup_path(&e, path, &ent), 0);
	assert_int_equal(ks_procfs_stat(ent, &st), 0);
	/* 2 + attr fd fdinfo net ns; symlink: fd, fdinfo are links */
	assert_int_equal(st.nlink, is_symlink(&e) ? 5 : 7);
	assert_int_equal(ks_procfs_put(ent), 0);

	snprintf(path, sizeof(path), "%d/fd", tgid);
	assert_int_equal(lookup_path(&e, path, &ent), 0);
	assert_int_equal(ks_procfs_stat(ent, &st), 0);
	assert_int_equal(st.size, 4);
	assert_int_equal(ks_procfs_put(ent), 0);
	assert_int_equal(ks_task_close(p.th[1], 3), 0);
	assert_int_equal(lookup_path(&e, path, &ent), 0);
	assert_int_equal(ks_procfs_stat(ent, &st), 0);
	assert_int_equal(st.size, 3);
	assert_int_equal(ks_procfs_put(ent), 0);

	/* fd link mode from f_mode: O_RDONLY 0500, O_RDWR 0700 */
	snprintf(path, sizeof(path), "%d/fd/0", tgid);
	assert_int_equal(lookup_path(&e, path, &ent), 0);
	assert_int_equal(ks_procfs_stat(ent, &st), 0);
	assert_int_equal(st.mode, KS_S_IFLNK | 0500);
	assert_int_equal(st.nlink, 1);
	assert_int_equal(ks_procfs_put(ent), 0);
	snprintf(path, sizeof(path), "%d/fd/1", tgid);
	assert_int_equal(lookup_path(&e, path, &ent), 0);
	assert_int_equal(ks_procfs_stat(ent, &st), 0);
	assert_int_equal(st.mode, KS_S_IFLNK | 0700);
	assert_int_equal(ks_procfs_put(ent), 0);

	proc_exit_all(&p);
	penv_fini(&e);
}

/* ---- walks --------------------------------------------------------------- */

struct walk {
	uint64_t entries;
};

/* find /proc/<pid>: readdir + lstat, no symlinks followed, net/ not descended. */
static int walk_fn(const char *name, unsigned int type, uint64_t ino, struct ks_procfs_ent *ent,
		   void *arg)
{
	struct walk *w = arg;
	struct ks_procfs_stat st;

	(void)ino;
	w->entries++;
	assert_int_equal(ks_procfs_stat(ent, &st), 0);
	if (type == KS_PROCFS_DT_DIR && strcmp(name, "net"))
		assert_int_equal(ks_procfs_readdir(ent, walk_fn, w), 0);
	return 0;
}

static uint64_t walk_pid(struct penv *e, int pid)
{
	struct ks_procfs_ent *ent;
	struct walk w = { 1 };
	char path[16];

	snprintf(path, sizeof(path), "%d", pid);
	assert_int_equal(lookup_path(e, path, &ent), 0);
	assert_int_equal(ks_procfs_readdir(ent, walk_fn, &w), 0);
	assert_int_equal(ks_procfs_put(ent), 0);
	return w.entries;
}

/* E_g + F_g and 1 + E_t + F_t from the tables (70 and 64 on 6.18 here). */
static uint64_t base_tgid(void)
{
	size_t g, a, ns;

	ks_procfs_table(KS_PROCFS_TGID, &g);
	ks_procfs_table(KS_PROCFS_ATTR, &a);
	ks_procfs_table(KS_PROCFS_NS, &ns);
	return g + a + ns;
}

static uint64_t base_tid(void)
{
	size_t t, a, ns;

	ks_procfs_table(KS_PROCFS_TID, &t);
	ks_procfs_table(KS_PROCFS_ATTR, &a);
	ks_procfs_table(KS_PROCFS_NS, &ns);
	return 1 + t + a + ns;
}

static uint64_t expected_entries(const struct penv *e, uint64_t T, uint64_t N, uint64_t M)
{
	size_t et;

	ks_procfs_table(KS_PROCFS_TID, &et);
	if (is_symlink(e)) /* leader's task/<tgid>: all five are links */
		return 1 + base_tgid() + M + 2 * N + (1 + et) + (T - 1) * base_tid();
	return 1 + base_tgid() + M + 2 * N + T * (base_tid() + 2 * N);
}

/*
 * A walk allocates nothing beyond what it instantiates: between @a and @b,
 * only the types in @allowed (" name name ") made allocations.
 */
struct memsnap {
	struct ks_mem_type_stats st[256];
	size_t n;
};

static void mem_snap(struct penv *e, struct memsnap *m)
{
	assert_int_equal(ks_mem_read(e->env.mem, m->st, 256, &m->n), 0);
	assert_true(m->n <= 256);
}

static void assert_allocs_only(const struct memsnap *a, const struct memsnap *b,
			       const char *allowed)
{
	char key[64];

	for (size_t i = 0; i < b->n; i++) {
		uint64_t before = 0;

		for (size_t j = 0; j < a->n; j++)
			if (!strcmp(a->st[j].name, b->st[i].name))
				before = a->st[j].allocs;
		snprintf(key, sizeof(key), " %s ", b->st[i].name);
		if (b->st[i].allocs != before && !strstr(allowed, key))
			fail_msg("type %s: %llu allocations during a walk", b->st[i].name,
				 (unsigned long long)(b->st[i].allocs - before));
	}
}

static void test_walk_counts(void **state)
{
	static const int shapes[][3] = { { 1, 0, 0 }, { 2, 3, 1 }, { 4, 5, 2 }, { 8, 16, 3 } };
	struct penv e;
	struct proc p;
	struct ks_procfs_stats s0, s1, s2;
	struct memsnap *m0 = malloc(sizeof(*m0)), *m1 = malloc(sizeof(*m1));
	uint64_t n, expect;

	penv_init(&e, state);
	assert_int_equal(base_tgid(), 70);
	assert_int_equal(base_tid(), 64);
	for (size_t i = 0; i < KS_ARRAY_SIZE(shapes); i++) {
		int T = shapes[i][0], N = shapes[i][1], M = shapes[i][2];

		proc_create(&e, &p, T, N, M);
		s0 = pstats(&e);
		mem_snap(&e, m0);
		n = walk_pid(&e, ks_task_tgid(p.th[0]));
		mem_snap(&e, m1);
		assert_allocs_only(m0, m1, " dentry dentry_name proc_inode proc_pid ");
		expect = expected_entries(&e, (uint64_t)T, (uint64_t)N, (uint64_t)M);
		if (!strcmp(e.layout, "stock"))
			assert_int_equal(expect, 1 + 70 + M + 2 * N + T * (64 + 2 * N));
		assert_int_equal(n, expect);
		s1 = pstats(&e);
		/* everything visited is retained (net/ not walked), but uncached-fd's fd entries */
		if (!strcmp(e.layout, "uncached-fd"))
			assert_int_equal(s1.dentries - s0.dentries,
					 (int64_t)(n - 2 * (uint64_t)N * (uint64_t)(T + 1)));
		else
			assert_int_equal(s1.dentries - s0.dentries, (int64_t)n);
		assert_int_equal(s1.inodes - s1.dentries, s0.inodes - s0.dentries);
		/* a warm walk visits the same and creates nothing new (but uncached) */
		mem_snap(&e, m0);
		assert_int_equal(walk_pid(&e, ks_task_tgid(p.th[0])), n);
		mem_snap(&e, m1);
		assert_allocs_only(m0, m1,
				   strcmp(e.layout, "uncached-fd") ? "" : " dentry dentry_name proc_inode ");
		s2 = pstats(&e);
		assert_int_equal(s2.dentries, s1.dentries);
		if (strcmp(e.layout, "uncached-fd"))
			assert_int_equal(s2.instantiations, s1.instantiations);
		/*
		 * /proc/<tid> of every other thread: stock repeats the whole
		 * group under each (the T^2 of the seed); symlink lists the
		 * thread's own entries with task, fd, fdinfo as links.
		 */
		for (int j = 1; j < T; j++)
			assert_int_equal(walk_pid(&e, ks_task_tid(p.th[j])),
					 is_symlink(&e) ? base_tgid() + 1 + (uint64_t)M : n);
		/* nothing outlives the process once reaped */
		proc_exit_all(&p);
		s2 = pstats(&e);
		assert_int_equal(s2.dentries, 0);
		assert_int_equal(s2.inodes, 0);
	}
	free(m0);
	free(m1);
	penv_fini(&e);
}

/* readdir alone instantiates one dentry and inode per fd (proc_fill_cache()). */
static void test_readdir_instantiates(void **state)
{
	struct penv e;
	struct proc p;
	struct ks_procfs_stats s0, s1;
	struct listing l;
	char path[32];

	penv_init(&e, state);
	proc_create(&e, &p, 1, 40, 0);
	snprintf(path, sizeof(path), "%d/fd", ks_task_tgid(p.th[0]));
	assert_int_equal(list_path(&e, path, &l), 0); /* instantiates /proc/<pid> and fd/ */
	s0 = pstats(&e);
	/* memory pressure (prune_dcache_sb()) empties the cache */
	for (int i = 0; i < 4 && s0.dentries; i++) {
		assert_true(ks_dcache_prune(ks_procfs_dcache(e.fs), -1, 1000) >= 0);
		s0 = pstats(&e);
	}
	assert_int_equal(s0.dentries, 0);
	assert_int_equal(list_path(&e, path, &l), 0);
	assert_int_equal(l.n, 40);
	s1 = pstats(&e);
	if (!strcmp(e.layout, "uncached-fd"))
		assert_int_equal(s1.dentries, 2);
	else
		assert_int_equal(s1.dentries, 2 + 40);
	assert_int_equal(s1.inodes, s1.dentries);
	assert_true(s1.emitted >= 80);
	proc_exit_all(&p);
	penv_fini(&e);
}

/* ---- lifetime -------------------------------------------------------------- */

static void test_stale_thread(void **state)
{
	struct penv e;
	struct proc p;
	struct ks_procfs_ent *held, *ent;
	struct ks_procfs_stat st;
	struct ks_procfs_stats s0, s1;
	struct listing l;
	char path[64];
	int tgid, tid;

	penv_init(&e, state);
	proc_create(&e, &p, 3, 2, 0);
	tgid = ks_task_tgid(p.th[0]);
	tid = ks_task_tid(p.th[2]);
	s0 = pstats(&e);
	(void)s0;
	walk_pid(&e, tgid);
	walk_pid(&e, tid);
	snprintf(path, sizeof(path), "%d/task/%d", tgid, tid);
	assert_int_equal(lookup_path(&e, path, &held), 0);
	s0 = pstats(&e);

	/* thread exit releases it: its subtrees are flushed at once */
	assert_int_equal(ks_task_exit(p.th[2], 0), 0);
	assert_int_equal(ks_task_put(p.th[2]), 0);
	p.nr = 2;
	s1 = pstats(&e);
	assert_true(s1.dentries < s0.dentries);
	assert_true(s1.flushes >= 1);

	/* stale paths: ENOENT; held dirfd: lookup/readdir ENOENT, fstat OK */
	assert_int_equal(lookup_path(&e, path, &ent), -ENOENT);
	snprintf(path, sizeof(path), "%d", tid);
	assert_int_equal(lookup_path(&e, path, &ent), -ENOENT);
	assert_int_equal(ks_procfs_lookup(held, "stat", &ent), -ENOENT);
	assert_int_equal(ks_procfs_lookup(held, "fd", &ent), -ENOENT);
	assert_int_equal(ks_procfs_readdir(held, list_fn, &l), -ENOENT);
	assert_int_equal(ks_procfs_stat(held, &st), 0);
	assert_int_equal(st.type, KS_PROCFS_DT_DIR);
	assert_int_equal(ks_procfs_put(held), 0);
	/*
	 * Exactly what a walk of the two threads left leaves: its /proc/<tid>
	 * and task/<tid> subtrees went with the exit (proc_flush_pid()).
	 */
	s1 = pstats(&e);
	if (!strcmp(e.layout, "uncached-fd"))
		assert_int_equal(s1.dentries, (int64_t)(expected_entries(&e, 2, 2, 0) - 2 * 2 * 3));
	else
		assert_int_equal(s1.dentries, (int64_t)expected_entries(&e, 2, 2, 0));

	/* task/ lists the two left */
	snprintf(path, sizeof(path), "%d/task", tgid);
	assert_int_equal(list_path(&e, path, &l), 0);
	assert_int_equal(l.n, 2);

	/* what stays is exactly a walk of the remaining group */
	proc_exit_all(&p);
	s1 = pstats(&e);
	assert_int_equal(s1.dentries, 0);
	penv_fini(&e);
}

static void test_closed_fd(void **state)
{
	struct penv e;
	struct proc p;
	struct ks_procfs_ent *ent;
	char path[64], buf[64];
	int tgid, fd;

	penv_init(&e, state);
	proc_create(&e, &p, 2, 3, 0);
	tgid = ks_task_tgid(p.th[0]);
	snprintf(path, sizeof(path), "%d/fd/1", tgid);
	assert_int_equal(lookup_path(&e, path, &ent), 0);
	assert_int_equal(ks_procfs_put(ent), 0);
	snprintf(path, sizeof(path), "%d/fdinfo/1", tgid);
	assert_int_equal(path_type(&e, path), KS_PROCFS_DT_REG);
	assert_int_equal(ks_task_close(p.th[0], 1), 0);
	assert_int_equal(ks_task_close(p.th[0], 1), -EBADF);
	snprintf(path, sizeof(path), "%d/fd/1", tgid);
	assert_int_equal(lookup_path(&e, path, &ent), -ENOENT);
	snprintf(path, sizeof(path), "%d/fdinfo/1", tgid);
	assert_int_equal(lookup_path(&e, path, &ent), -ENOENT);
	/* a reused number shows the new file and mode */
	assert_int_equal(ks_task_open(p.th[1], "/tmp/new", KS_O_RDONLY, &fd), 0);
	assert_int_equal(fd, 1);
	snprintf(path, sizeof(path), "%d/fd/1", tgid);
	assert_int_equal(lookup_path(&e, path, &ent), 0);
	assert_int_equal(ks_procfs_readlink(ent, buf, sizeof(buf)), 8);
	assert_string_equal(buf, "/tmp/new");
	/* held across a close: readlink says ENOENT */
	assert_int_equal(ks_task_close(p.th[0], 1), 0);
	assert_int_equal(ks_procfs_readlink(ent, buf, sizeof(buf)), -ENOENT);
	assert_int_equal(ks_procfs_put(ent), 0);
	proc_exit_all(&p);
	penv_fini(&e);
}

static void test_unshare(void **state)
{
	struct penv e;
	struct proc p;
	struct listing l;
	char path[64];
	int tgid, c, fd;

	penv_init(&e, state);
	proc_create(&e, &p, 3, 2, 0);
	tgid = ks_task_tgid(p.th[0]);
	c = ks_task_tid(p.th[1]);
	snprintf(path, sizeof(path), "%d/task/%d/fd", tgid, c);
	assert_int_equal(path_type(&e, path), is_symlink(&e) ? KS_PROCFS_DT_LNK : KS_PROCFS_DT_DIR);
	snprintf(path, sizeof(path), "%d/fd", c);
	assert_int_equal(path_type(&e, path), is_symlink(&e) ? KS_PROCFS_DT_LNK : KS_PROCFS_DT_DIR);

	/* C unshares, the leader closes 1 and opens 2..; C opens its own */
	assert_int_equal(ks_task_unshare_files(p.th[1]), 0);
	assert_int_equal(ks_task_close(p.th[0], 1), 0);
	assert_int_equal(ks_task_open(p.th[0], "/tmp/leader", KS_O_RDONLY, &fd), 0);
	assert_int_equal(fd, 1);
	assert_int_equal(ks_task_open(p.th[0], "/tmp/leader2", KS_O_RDONLY, &fd), 0);
	assert_int_equal(fd, 2);
	assert_int_equal(ks_task_open(p.th[1], "/tmp/c", KS_O_RDONLY, &fd), 0);
	assert_int_equal(fd, 2);
	assert_int_equal(ks_task_open(p.th[1], "/tmp/c3", KS_O_RDONLY, &fd), 0);
	assert_int_equal(fd, 3);

	/* a re-lookup gives C a real directory with its own table */
	snprintf(path, sizeof(path), "%d/task/%d/fd", tgid, c);
	assert_int_equal(path_type(&e, path), KS_PROCFS_DT_DIR);
	assert_int_equal(list_path(&e, path, &l), 0);
	assert_int_equal(l.n, 4);
	assert_int_equal(listing_find(&l, "3"), 3);
	snprintf(path, sizeof(path), "%d/fd", c);
	assert_int_equal(path_type(&e, path), KS_PROCFS_DT_DIR);
	assert_int_equal(list_path(&e, path, &l), 0);
	assert_int_equal(l.n, 4);
	{
		struct ks_procfs_ent *ent;
		char buf[64];

		snprintf(path, sizeof(path), "%d/fd/1", c);
		assert_int_equal(lookup_path(&e, path, &ent), 0);
		assert_int_equal(ks_procfs_readlink(ent, buf, sizeof(buf)), 10);
		assert_string_equal(buf, "/tmp/file1"); /* kept though the leader closed it */
		assert_int_equal(ks_procfs_put(ent), 0);
	}
	snprintf(path, sizeof(path), "%d/fd", tgid);
	assert_int_equal(list_path(&e, path, &l), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(listing_find(&l, "3"), -1);
	/* the third thread still shares the leader's table */
	snprintf(path, sizeof(path), "%d/task/%d/fd", tgid, ks_task_tid(p.th[2]));
	assert_int_equal(path_type(&e, path), is_symlink(&e) ? KS_PROCFS_DT_LNK : KS_PROCFS_DT_DIR);

	/* the leader unshares too: every thread gets a directory */
	assert_int_equal(ks_task_unshare_files(p.th[0]), 0);
	assert_int_equal(path_type(&e, path), KS_PROCFS_DT_DIR);
	assert_int_equal(list_path(&e, path, &l), 0);
	assert_int_equal(l.n, 3);
	proc_exit_all(&p);
	penv_fini(&e);
}

/* The leader exits first (pthread_exit in main): see layout_symlink.c. */
static void test_leader_exits_first(void **state)
{
	struct penv e;
	struct proc p;
	struct listing l;
	struct ks_procfs_ent *ent;
	char path[64];
	int tgid, c;

	penv_init(&e, state);
	proc_create(&e, &p, 2, 3, 0);
	tgid = ks_task_tgid(p.th[0]);
	c = ks_task_tid(p.th[1]);
	walk_pid(&e, tgid);
	assert_int_equal(ks_task_exit(p.th[0], 0), 0);
	assert_int_equal(ks_task_reap(p.th[0], NULL), -EAGAIN);

	snprintf(path, sizeof(path), "%d/task", tgid);
	assert_int_equal(list_path(&e, path, &l), 0);
	assert_int_equal(l.n, 2);
	snprintf(path, sizeof(path), "%d/fd", tgid);
	assert_int_equal(list_path(&e, path, &l), 0);
	assert_int_equal(l.n, 0);
	snprintf(path, sizeof(path), "%d/cwd", tgid);
	assert_int_equal(lookup_path(&e, path, &ent), 0);
	{
		char buf[16];

		assert_int_equal(ks_procfs_readlink(ent, buf, sizeof(buf)), -ENOENT);
	}
	assert_int_equal(ks_procfs_put(ent), 0);
	/* the thread's fd/ shows its table (a directory in every layout now) */
	snprintf(path, sizeof(path), "%d/task/%d/fd", tgid, c);
	assert_int_equal(path_type(&e, path), KS_PROCFS_DT_DIR);
	assert_int_equal(list_path(&e, path, &l), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(ks_task_exit(p.th[1], 0), 0);
	assert_int_equal(ks_task_put(p.th[1]), 0);
	assert_int_equal(ks_task_reap(p.th[0], NULL), 0);
	assert_int_equal(ks_task_put(p.th[0]), 0);
	assert_int_equal(pstats(&e).dentries, 0);
	penv_fini(&e);
}

/* Path walks follow the layout's links and resolve to the shared directories. */
static void test_walk_follow(void **state)
{
	struct penv e;
	struct proc p;
	struct ks_procfs_ent *root, *a, *b;
	struct ks_procfs_stat st;
	struct listing l;
	char path[300];
	int tgid, tid;

	penv_init(&e, state);
	proc_create(&e, &p, 2, 3, 0);
	tgid = ks_task_tgid(p.th[0]);
	tid = ks_task_tid(p.th[1]);
	assert_int_equal(ks_procfs_root(e.fs, &root), 0);

	snprintf(path, sizeof(path), "%d/task", tid);
	assert_int_equal(ks_procfs_walk(root, path, KS_PROCFS_FOLLOW, &a), 0);
	assert_int_equal(ks_procfs_stat(a, &st), 0);
	assert_int_equal(st.type, KS_PROCFS_DT_DIR);
	snprintf(path, sizeof(path), "/%d/task/", tgid);
	assert_int_equal(ks_procfs_walk(root, path, 0, &b), 0);
	/* symlink: the very same directory; stock: a duplicate */
	if (is_symlink(&e))
		assert_ptr_equal(a, b);
	else
		assert_ptr_not_equal(a, b);
	assert_int_equal(ks_procfs_put(b), 0);
	assert_int_equal(ks_procfs_readdir(a, list_fn, memset(&l, 0, sizeof(l))), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(ks_procfs_put(a), 0);

	/* without FOLLOW the last component stays a link */
	snprintf(path, sizeof(path), "%d/task/%d/fd", tgid, tid);
	assert_int_equal(ks_procfs_walk(root, path, 0, &a), 0);
	assert_int_equal(ks_procfs_stat(a, &st), 0);
	assert_int_equal(st.type, is_symlink(&e) ? KS_PROCFS_DT_LNK : KS_PROCFS_DT_DIR);
	assert_int_equal(ks_procfs_put(a), 0);
	assert_int_equal(ks_procfs_walk(root, path, KS_PROCFS_FOLLOW, &a), 0);
	assert_int_equal(ks_procfs_readdir(a, list_fn, memset(&l, 0, sizeof(l))), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(ks_procfs_put(a), 0);
	/* through a link in the middle */
	snprintf(path, sizeof(path), "%d/task/%d/fd/2", tgid, tid);
	assert_int_equal(ks_procfs_walk(root, path, 0, &a), 0);
	assert_int_equal(ks_procfs_put(a), 0);

	/* ".", "..", the root's "..", empty components */
	snprintf(path, sizeof(path), "./%d//task/../../%d/./status", tgid, tgid);
	assert_int_equal(ks_procfs_walk(root, path, 0, &a), 0);
	assert_string_equal(ks_procfs_name(a), "status");
	assert_int_equal(ks_procfs_walk(a, "../../..", 0, &b), 0);
	assert_ptr_equal(b, root);
	assert_int_equal(ks_procfs_put(b), 0);
	assert_int_equal(ks_procfs_walk(a, "", 0, &b), 0);
	assert_ptr_equal(b, a);
	assert_int_equal(ks_procfs_put(b), 0);
	assert_int_equal(ks_procfs_walk(a, "x", 0, &b), -ENOTDIR);
	assert_int_equal(ks_procfs_put(a), 0);

	/* links out of the mount, errors */
	snprintf(path, sizeof(path), "%d/fd/0", tgid);
	assert_int_equal(ks_procfs_walk(root, path, KS_PROCFS_FOLLOW, &a), -EXDEV);
	snprintf(path, sizeof(path), "%d/cwd/x", tgid);
	assert_int_equal(ks_procfs_walk(root, path, 0, &a), -EXDEV);
	snprintf(path, sizeof(path), "%d/nope/x", tgid);
	assert_int_equal(ks_procfs_walk(root, path, 0, &a), -ENOENT);
	memset(path, 'a', sizeof(path) - 1);
	path[sizeof(path) - 1] = 0;
	assert_int_equal(ks_procfs_walk(root, path, 0, &a), -ENAMETOOLONG);
	assert_int_equal(ks_procfs_walk(root, "1", 2, &a), -EINVAL);
	assert_int_equal(ks_procfs_walk(NULL, "1", 0, &a), -EINVAL);
	assert_int_equal(ks_procfs_walk(root, NULL, 0, &a), -EINVAL);
	assert_int_equal(ks_procfs_walk(root, "1", 0, NULL), -EINVAL);
	assert_int_equal(ks_procfs_put(root), 0);
	proc_exit_all(&p);
	penv_fini(&e);
}

/* -ENOMEM at every allocation of a cold walk: an error, never a leak or a crash. */
static int tolerant_fn(const char *name, unsigned int type, uint64_t ino, struct ks_procfs_ent *ent,
		       void *arg)
{
	int r;

	(void)ino;
	(void)arg;
	if (type == KS_PROCFS_DT_DIR && strcmp(name, "net")) {
		r = ks_procfs_readdir(ent, tolerant_fn, NULL);
		if (r)
			return r;
	}
	return 0;
}

static void test_enomem(void **state)
{
	struct penv e;
	struct proc p;
	struct ks_procfs_ent *root, *pid;
	char name[16];
	int failures = 0, r;

	penv_init(&e, state);
	proc_create(&e, &p, 2, 2, 1);
	snprintf(name, sizeof(name), "%d", ks_task_tgid(p.th[0]));
	for (uint64_t nth = 1; nth < 1400; nth += 5) {
		assert_int_equal(ks_procfs_root(e.fs, &root), 0);
		assert_int_equal(ks_mem_fail_nth(e.env.mem, nth), 0);
		r = ks_procfs_lookup(root, name, &pid);
		if (!r) {
			r = ks_procfs_readdir(pid, tolerant_fn, NULL);
			assert_int_equal(ks_procfs_put(pid), 0);
		}
		assert_int_equal(ks_mem_fail_nth(e.env.mem, 0), 0);
		assert_true(r == 0 || r == -ENOMEM);
		failures += r == -ENOMEM;
		assert_int_equal(ks_procfs_put(root), 0);
		/* start cold again */
		for (int i = 0; i < 8 && pstats(&e).dentries; i++)
			assert_true(ks_dcache_prune(ks_procfs_dcache(e.fs), -1, 100000) >= 0);
		assert_int_equal(pstats(&e).dentries, 0);
	}
	assert_true(failures > 0);
	proc_exit_all(&p);
	penv_fini(&e);
}

/* ---- bad input ---------------------------------------------------------- */

static void test_bad_input(void **state)
{
	struct penv e;
	struct proc p;
	struct ks_procfs_ent *root, *ent, *f;
	struct ks_procfs_opts po = { 0 };
	struct ks_procfs_stat st;
	struct ks_procfs *fs2;
	struct listing l;
	char path[64], buf[8];
	size_t n;

	penv_init(&e, state);
	assert_non_null(ks_procfs_strategies(&n));
	assert_int_equal(n, 3);
	assert_string_equal(ks_procfs_layout(e.fs), e.layout);
	assert_null(ks_procfs_layout(NULL));
	assert_null(ks_procfs_dcache(NULL));
	assert_non_null(ks_procfs_dcache(e.fs));
	po.tasks = e.t;
	assert_int_equal(ks_procfs_create("nope", &po, &fs2), -ENOENT);
	assert_int_equal(ks_procfs_create(NULL, NULL, &fs2), -EINVAL);
	assert_int_equal(ks_procfs_create(NULL, &po, NULL), -EINVAL);
	po.hash_bits = 99;
	assert_int_equal(ks_procfs_create(NULL, &po, &fs2), -EINVAL);
	po.hash_bits = 0;
	po.inode_list = "nope";
	assert_int_equal(ks_procfs_create(NULL, &po, &fs2), -ENOENT);
	po.tasks = NULL;
	assert_int_equal(ks_procfs_create(NULL, &po, &fs2), -EINVAL);
	assert_int_equal(ks_procfs_destroy(NULL), -EINVAL);
	assert_int_equal(ks_procfs_stats(NULL, NULL), -EINVAL);
	assert_int_equal(ks_procfs_root(NULL, &root), -EINVAL);

	proc_create(&e, &p, 2, 1, 0);
	/* tasks exist: a second mount cannot register its hooks */
	po.tasks = e.t;
	po.inode_list = NULL;
	po.mem = e.env.mem;
	assert_int_equal(ks_procfs_create(NULL, &po, &fs2), -EBUSY);
	/* destroy refuses while tasks live */
	assert_int_equal(ks_procfs_destroy(e.fs), -EBUSY);

	assert_int_equal(ks_procfs_root(e.fs, &root), 0);
	assert_int_equal(ks_procfs_lookup(root, "", &ent), -EINVAL);
	assert_int_equal(ks_procfs_lookup(root, ".", &ent), -EINVAL);
	assert_int_equal(ks_procfs_lookup(root, "..", &ent), -EINVAL);
	assert_int_equal(ks_procfs_lookup(root, "1/2", &ent), -EINVAL);
	assert_int_equal(ks_procfs_lookup(root, "self", &ent), -ENOENT);
	assert_int_equal(ks_procfs_lookup(root, "-1", &ent), -ENOENT);
	assert_int_equal(ks_procfs_lookup(root, "0", &ent), -ENOENT);
	assert_int_equal(ks_procfs_lookup(root, "99999", &ent), -ENOENT);
	assert_int_equal(ks_procfs_lookup(root, "99999999999999", &ent), -ENOENT);
	assert_int_equal(ks_procfs_lookup(NULL, "1", &ent), -EINVAL);
	assert_int_equal(ks_procfs_lookup(root, NULL, &ent), -EINVAL);
	assert_int_equal(ks_procfs_lookup(root, "1", NULL), -EINVAL);
	assert_int_equal(ks_procfs_readdir(root, NULL, NULL), -EINVAL);
	assert_int_equal(ks_procfs_readdir(NULL, list_fn, NULL), -EINVAL);
	assert_int_equal(ks_procfs_readlink(root, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(ks_procfs_stat(NULL, &st), -EINVAL);
	assert_int_equal(ks_procfs_stat(root, NULL), -EINVAL);
	assert_int_equal(ks_procfs_put(NULL), -EINVAL);
	assert_int_equal(ks_procfs_dup(NULL), -EINVAL);
	assert_null(ks_procfs_name(NULL));
	assert_string_equal(ks_procfs_name(root), "proc");
	assert_int_equal(ks_procfs_put(root), 0);

	snprintf(path, sizeof(path), "%d/status", ks_task_tgid(p.th[0]));
	assert_int_equal(lookup_path(&e, path, &f), 0);
	assert_int_equal(ks_procfs_lookup(f, "x", &ent), -ENOTDIR);
	assert_int_equal(ks_procfs_readdir(f, list_fn, NULL), -ENOTDIR);
	assert_int_equal(ks_procfs_readlink(f, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(ks_procfs_dup(f), 0);
	assert_int_equal(ks_procfs_put(f), 0);
	assert_int_equal(ks_procfs_put(f), 0);
	snprintf(path, sizeof(path), "%d/fd/01", ks_task_tgid(p.th[0]));
	assert_int_equal(lookup_path(&e, path, &ent), -ENOENT);
	snprintf(path, sizeof(path), "%d/fd/7", ks_task_tgid(p.th[0]));
	assert_int_equal(lookup_path(&e, path, &ent), -ENOENT);
	snprintf(path, sizeof(path), "%d/map_files/0-1", ks_task_tgid(p.th[0]));
	assert_int_equal(lookup_path(&e, path, &ent), -ENOENT);
	snprintf(path, sizeof(path), "%d/nope", ks_task_tgid(p.th[0]));
	assert_int_equal(lookup_path(&e, path, &ent), -ENOENT);
	/* task/<other group's tid> is not found */
	snprintf(path, sizeof(path), "%d/task/99999", ks_task_tgid(p.th[0]));
	assert_int_equal(lookup_path(&e, path, &ent), -ENOENT);
	/* net/ entries: visited, never retained */
	{
		struct ks_procfs_stats s0 = pstats(&e), s1;

		snprintf(path, sizeof(path), "%d/net", ks_task_tgid(p.th[0]));
		assert_int_equal(list_path(&e, path, &l), 0);
		assert_true(l.n > 10);
		s1 = pstats(&e);
		assert_true(s1.dentries <= s0.dentries + 2); /* /proc/<pid> and net/ */
	}
	/* an entry still held: -EBUSY, the mount stays usable */
	snprintf(path, sizeof(path), "%d/attr/current", ks_task_tgid(p.th[0]));
	assert_int_equal(lookup_path(&e, path, &f), 0);
	proc_exit_all(&p);
	assert_int_equal(ks_procfs_destroy(e.fs), -EBUSY);
	assert_int_equal(ks_procfs_stat(f, &st), 0);
	assert_int_equal(ks_procfs_root(e.fs, &root), 0);
	assert_int_equal(ks_procfs_readdir(root, list_fn, memset(&l, 0, sizeof(l))), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(ks_procfs_put(root), 0);
	assert_int_equal(ks_procfs_put(f), 0);
	penv_fini(&e);
}

#define P(fn, s) cmocka_unit_test_prestate(fn, (void *)s)
#define ALL(fn)                                                                            \
	P(fn, "stock/global"), P(fn, "stock/dlock"), P(fn, "symlink/global"),              \
		P(fn, "symlink/dlock"), P(fn, "uncached-fd/global"), P(fn, "uncached-fd/dlock")

int main(void)
{
	const struct CMUnitTest tests[] = {
		ALL(test_tables),     ALL(test_nlink_size), ALL(test_walk_counts),
		ALL(test_readdir_instantiates), ALL(test_stale_thread), ALL(test_closed_fd),
		ALL(test_unshare),    ALL(test_leader_exits_first), ALL(test_bad_input), ALL(test_enomem), ALL(test_walk_follow),
	};
	int r;

	if (ks_rcu_register_thread())
		return 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	ks_rcu_unregister_thread();
	return r;
}
