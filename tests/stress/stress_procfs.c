// SPDX-License-Identifier: MIT
/*
 * procfs under concurrency, once per layout x inode list: mutators run
 * processes whose threads come and go, open and close descriptors and call
 * unshare(CLONE_FILES), and whose whole groups exit and are reaped, while
 * walkers do `find /proc` (readdir + lstat of every entry, not into net/)
 * and lsof (readdir of every fd/ and readlink of each entry). Checks: no
 * walk lists a thread whose exit had completed before the listing began;
 * lookups of those threads' /proc/<tid> fail; errors are only the
 * documented races (-ENOENT for what vanished, -ENOTDIR for a directory a
 * layout turned into a link); at the end nothing is cached, and every
 * ks_mem type balances (ASan: nothing freed twice; TSan: no race).
 */
#include "ks_test.h"

#include <kscale/procfs.h>
#include <kscale/rcu.h>
#include <kscale/task.h>
#include <kscale/topo.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_THREADS 6
#define MAX_DEAD 65536
/* stop making and ending threads before pid numbers could wrap (pid_max >= 32768) */
#define MAX_EXITS 20000
#define NR_MUTATORS 2
#define NR_WALKERS 2

struct shared {
	struct ks_test_env env;
	struct ks_tasks *t;
	struct ks_procfs *fs;
	int stop;
	int dead[MAX_DEAD];	/* tids whose exit completed, in order */
	int nr_dead;		/* published with release */
	long walks, entries, lsof_links, bad, stale_seen, exits, unshares, opens;
};

struct worker {
	pthread_t th;
	struct shared *s;
	int id;
	unsigned int seed;
};

static void bad(struct shared *s, const char *what, int r)
{
	if (__atomic_fetch_add(&s->bad, 1, __ATOMIC_RELAXED) < 5)
		fprintf(stderr, "stress_procfs: %s: %d\n", what, r);
}

static bool was_dead_before(struct shared *s, int nr_dead, int tid)
{
	for (int i = 0; i < nr_dead; i++)
		if (s->dead[i] == tid)
			return true;
	return false;
}

static void mark_dead(struct shared *s, int tid)
{
	int n = __atomic_load_n(&s->nr_dead, __ATOMIC_RELAXED);

	if (n >= MAX_DEAD)
		return;
	s->dead[n] = tid; /* one writer at a time: see mutate() */
	__atomic_store_n(&s->nr_dead, n + 1, __ATOMIC_RELEASE);
}

/* ---- walkers -------------------------------------------------------------- */

struct walk {
	struct shared *s;
	int nr_dead; /* dead tids known before the walk of a task/ began */
	int depth;
	bool in_task;
	char buf[4096 + 1];
};

static int walk_fn(const char *name, unsigned int type, uint64_t ino, struct ks_procfs_ent *ent,
		   void *arg);

static void walk_dir(struct walk *w, struct ks_procfs_ent *ent, bool task_dir)
{
	bool saved = w->in_task;
	int saved_dead = w->nr_dead, r;

	w->in_task = task_dir;
	if (task_dir)
		w->nr_dead = __atomic_load_n(&w->s->nr_dead, __ATOMIC_ACQUIRE);
	w->depth++;
	r = ks_procfs_readdir(ent, walk_fn, w);
	w->depth--;
	if (r < 0 && r != -ENOENT) /* > 0: stopped by walk_fn */
		bad(w->s, "readdir", r);
	w->in_task = saved;
	w->nr_dead = saved_dead;
}

static int walk_fn(const char *name, unsigned int type, uint64_t ino, struct ks_procfs_ent *ent,
		   void *arg)
{
	struct walk *w = arg;
	struct ks_procfs_stat st;
	int r;

	(void)ino;
	__atomic_add_fetch(&w->s->entries, 1, __ATOMIC_RELAXED);
	if (w->in_task && was_dead_before(w->s, w->nr_dead, atoi(name)))
		__atomic_add_fetch(&w->s->stale_seen, 1, __ATOMIC_RELAXED);
	r = ks_procfs_stat(ent, &st);
	if (r)
		bad(w->s, "stat", r);
	if (type == KS_PROCFS_DT_LNK) {
		r = ks_procfs_readlink(ent, w->buf, sizeof(w->buf));
		if (r < 0 && r != -ENOENT)
			bad(w->s, "readlink", r);
	} else if (type == KS_PROCFS_DT_DIR && strcmp(name, "net") && w->depth < 8) {
		walk_dir(w, ent, !strcmp(name, "task"));
	}
	return __atomic_load_n(&w->s->stop, __ATOMIC_RELAXED) ? 1 : 0;
}

static void *walker(void *arg)
{
	struct worker *wk = arg;
	struct shared *s = wk->s;
	struct ks_procfs_ent *root;
	struct walk *w = calloc(1, sizeof(*w));

	ks_rcu_register_thread();
	ks_cpu_set_current(wk->id);
	w->s = s;
	do { /* at least one pass, however late this thread starts */
		if (ks_procfs_root(s->fs, &root)) {
			bad(s, "root", -1);
			break;
		}
		/* the root's listing: leaders only, none already reaped */
		walk_dir(w, root, true);
		ks_procfs_put(root);
		__atomic_add_fetch(&s->walks, 1, __ATOMIC_RELAXED);
	} while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED));
	free(w);
	ks_rcu_unregister_thread();
	return NULL;
}

/* ---- mutators ------------------------------------------------------------- */

struct proc {
	struct ks_task *th[MAX_THREADS];
	int nr;
};

static pthread_mutex_t dead_lock = PTHREAD_MUTEX_INITIALIZER;

static void exit_thread(struct shared *s, struct proc *p, int i)
{
	int tid = ks_task_tid(p->th[i]);
	struct ks_procfs_ent *root, *ent;
	char name[16];
	int r;

	r = ks_task_exit(p->th[i], 0);
	if (r)
		bad(s, "exit", r);
	ks_task_put(p->th[i]);
	p->th[i] = p->th[--p->nr];
	pthread_mutex_lock(&dead_lock);
	mark_dead(s, tid);
	pthread_mutex_unlock(&dead_lock);
	/* its exit completed: /proc/<tid> is gone */
	if (!ks_procfs_root(s->fs, &root)) {
		snprintf(name, sizeof(name), "%d", tid);
		r = ks_procfs_lookup(root, name, &ent);
		if (r != -ENOENT) {
			bad(s, "lookup of an exited thread", r);
			if (!r)
				ks_procfs_put(ent);
		}
		ks_procfs_put(root);
	}
	__atomic_add_fetch(&s->exits, 1, __ATOMIC_RELAXED);
}

static void proc_new(struct shared *s, struct proc *p)
{
	int r = ks_task_clone(s->t, NULL, 0, &p->th[0]);

	p->nr = r ? 0 : 1;
	if (r)
		bad(s, "clone process", r);
}

static void proc_end(struct shared *s, struct proc *p)
{
	int tgid, r;

	if (!p->nr)
		return;
	tgid = ks_task_tgid(p->th[0]);
	ks_task_kill(p->th[0]);
	while (p->nr > 1)
		exit_thread(s, p, 1);
	r = ks_task_exit(p->th[0], 0);
	if (r)
		bad(s, "leader exit", r);
	while ((r = ks_task_reap(p->th[0], NULL)) == -EAGAIN)
		;
	if (r)
		bad(s, "reap", r);
	ks_task_put(p->th[0]);
	p->nr = 0;
	pthread_mutex_lock(&dead_lock);
	mark_dead(s, tgid);
	pthread_mutex_unlock(&dead_lock);
}

static void mutate(struct shared *s, struct proc *p, unsigned int *seed)
{
	int op = rand_r(seed) % 64, fd, i, r;
	struct ks_task *th;

	if (__atomic_load_n(&s->exits, __ATOMIC_RELAXED) >= MAX_EXITS && op < 16)
		op = 16 + op; /* churn of descriptors only from here on */
	if (!p->nr) {
		proc_new(s, p);
		return;
	}
	i = rand_r(seed) % p->nr;
	if (op < 16 && p->nr < MAX_THREADS) {
		r = ks_task_clone(s->t, p->th[i], KS_CLONE_VM | KS_CLONE_THREAD | KS_CLONE_FILES, &th);
		if (r)
			bad(s, "clone thread", r);
		else
			p->th[p->nr++] = th;
	} else if (op < 32) {
		r = ks_task_open(p->th[i], "/tmp/stress", op & 1 ? KS_O_RDWR : KS_O_RDONLY, &fd);
		if (r)
			bad(s, "open", r);
		__atomic_add_fetch(&s->opens, 1, __ATOMIC_RELAXED);
	} else if (op < 44) {
		fd = ks_task_next_fd(p->th[i], rand_r(seed) % 8, NULL);
		if (fd >= 0) {
			r = ks_task_close(p->th[i], fd);
			if (r && r != -EBADF)
				bad(s, "close", r);
		}
	} else if (op < 48) {
		r = ks_task_unshare_files(p->th[i]);
		if (r)
			bad(s, "unshare", r);
		__atomic_add_fetch(&s->unshares, 1, __ATOMIC_RELAXED);
	} else if (op < 62) {
		if (i && __atomic_load_n(&s->exits, __ATOMIC_RELAXED) < MAX_EXITS)
			exit_thread(s, p, i);
	} else if (__atomic_load_n(&s->exits, __ATOMIC_RELAXED) < MAX_EXITS) {
		proc_end(s, p);
	}
}

static void *mutator(void *arg)
{
	struct worker *wk = arg;
	struct shared *s = wk->s;
	struct proc p = { 0 };

	ks_rcu_register_thread();
	ks_cpu_set_current(wk->id);
	do /* at least one pass, however late this thread starts */
		mutate(s, &p, &wk->seed);
	while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED));
	proc_end(s, &p);
	ks_rcu_unregister_thread();
	return NULL;
}

static void test_stress(void **state)
{
	struct shared *s = calloc(1, sizeof(*s));
	const char *spec = *state, *slash = strchr(spec, '/');
	struct ks_tasks_opts to = { 0 };
	struct ks_procfs_opts po = { 0 };
	struct worker w[NR_MUTATORS + NR_WALKERS];
	struct ks_procfs_stats st;
	char layout[32];
	uint64_t end;

	assert_non_null(s);
	snprintf(layout, sizeof(layout), "%.*s", (int)(slash - spec), spec);
	ks_test_env_init(&s->env, ks_test_topologies[2]);
	to.topo = s->env.topo;
	to.locks = s->env.locks;
	to.mem = s->env.mem;
	assert_int_equal(ks_tasks_create(&to, &s->t), 0);
	po.tasks = s->t;
	po.inode_list = slash + 1;
	po.topo = s->env.topo;
	po.locks = s->env.locks;
	po.mem = s->env.mem;
	po.hash_bits = 10;
	assert_int_equal(ks_procfs_create(layout, &po, &s->fs), 0);
	for (int i = 0; i < NR_MUTATORS + NR_WALKERS; i++) {
		w[i].s = s;
		w[i].id = i * 17;
		w[i].seed = 1234u + (unsigned int)i;
		assert_int_equal(pthread_create(&w[i].th, NULL, i < NR_MUTATORS ? mutator : walker,
						&w[i]),
				 0);
	}
	end = ks_clock_ns() + (uint64_t)(ks_test_stress_seconds() * 1e9);
	while (ks_clock_ns() < end)
		usleep(10000);
	__atomic_store_n(&s->stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < NR_MUTATORS + NR_WALKERS; i++)
		pthread_join(w[i].th, NULL);
	print_message("%s: %ld walks, %ld entries, %ld exits, %ld unshares, %ld opens\n", spec,
		      s->walks, s->entries, s->exits, s->unshares, s->opens);
	assert_int_equal(s->bad, 0);
	assert_int_equal(s->stale_seen, 0);
	assert_true(s->walks > 0);
	/* every process reaped and no walker left: nothing is cached */
	assert_int_equal(ks_procfs_stats(s->fs, &st), 0);
	assert_int_equal(st.dentries, 0);
	assert_int_equal(st.inodes, 0);
	assert_int_equal(ks_procfs_destroy(s->fs), 0);
	assert_int_equal(ks_tasks_destroy(s->t), 0);
	assert_int_equal(ks_rcu_barrier(), 0);
	assert_int_equal(ks_rcu_barrier(), 0);
	ks_test_env_fini(&s->env);
	free(s);
}

#define P(s) cmocka_unit_test_prestate(test_stress, (void *)s)

int main(void)
{
	const struct CMUnitTest tests[] = {
		P("stock/global"),   P("stock/dlock"),	     P("symlink/global"),
		P("symlink/dlock"),  P("uncached-fd/global"), P("uncached-fd/dlock"),
	};
	int r;

	if (ks_rcu_register_thread())
		return 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	ks_rcu_unregister_thread();
	return r;
}
