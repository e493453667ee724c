// SPDX-License-Identifier: MIT
/*
 * procfs-exit: the teardown of Mahoney's report ("When a huge task exits,
 * now the system is more or less unresponsive for about eight minutes. All
 * CPUs are pinned [...] made worse by every CPU contending on the super's
 * inode list lock"), and Waiman Long's exit microbenchmark for the dlock
 * list ("creates a large number of threads, attachs many inodes to them in
 * procfs and then exits").
 *
 * Setup builds the process of procfs-find (T, N, M; layout = --strategy,
 * --param inode_list), walks /proc/<pid> once so every pair exists, and
 * SIGKILLs the group (ks_task_kill()). Lock counts are reset after setup.
 * One-shot op: the harness threads share the modelled threads' exits, as
 * the CPUs of a machine run the exiting threads: harness thread i calls
 * ks_task_exit() on modelled threads 1 + i, 1 + i + W, ... (each releases
 * itself: release_task() -> proc_flush_pid() of its task/<tid> and
 * /proc/<tid> directories); harness thread 0 also exits the leader first
 * and reaps it last (the parent's wait: its /proc/<tgid> tree goes then).
 *
 * report():
 *   teardown_ns             first exit's start to the reap's end
 *   objects_freed           dentries + inodes freed (dcache counts)
 *   objects_freed_per_sec
 *   longest_stretch_ns      the longest single ks_task_exit() or
 *                           ks_task_reap() call: the model never yields
 *                           inside one, so it is the longest time a CPU
 *                           spends in do_exit()/release_task() without a
 *                           cond_resched() -- the soft-lockup proxy
 *   inode_list_*, lru_*, task_dir_*: acquisitions, contentions and
 *                           bounces per object freed of s_inode_list_lock,
 *                           lru_lock and d_lock (every tid directory is a
 *                           child of the one task/ dentry, whose d_lock each
 *                           flush takes to unlist it; lock_stat counts by
 *                           class, so task_dir_* is every dentry's d_lock)
 * The cell fails unless every object of the process is gone when the reap
 * returns (the counts are back to what they were before the walk).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "procfs_common.h"

struct pexit {
	const struct kb_cell *cell;
	struct procw_env env;
	int64_t dentries_before_walk, inodes_before_walk;
	int64_t dentries_walked, inodes_walked;
	/* atomics */
	uint64_t start_ns, end_ns, longest_ns;
	int err;
};

static void pexit_teardown(void *state)
{
	struct pexit *x = state;

	if (!x)
		return;
	procw_env_destroy(&x->env);
	free(x);
}

static int pexit_setup(const struct kb_cell *c, void **state)
{
	struct pexit *x = calloc(1, sizeof(*x));
	struct procw_walk w = {0};
	struct ks_procfs_stats st;
	int r;

	if (!x)
		return -ENOMEM;
	x->cell = c;
	x->start_ns = UINT64_MAX;
	r = procw_env_create(c, &x->env);
	if (!r)
		r = procw_env_stats(&x->env, &st);
	if (!r) {
		x->dentries_before_walk = st.dentries;
		x->inodes_before_walk = st.inodes;
		r = procw_find(&x->env, &w);
	}
	if (!r)
		r = procw_env_stats(&x->env, &st);
	if (!r) {
		x->dentries_walked = st.dentries;
		x->inodes_walked = st.inodes;
		r = ks_task_kill(x->env.proc.leader);
	}
	if (r) {
		pexit_teardown(x);
		return r;
	}
	*state = x;
	return 0;
}

static void atomic_max(uint64_t *p, uint64_t v)
{
	uint64_t o = __atomic_load_n(p, __ATOMIC_RELAXED);

	while (o < v &&
	       !__atomic_compare_exchange_n(p, &o, v, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

static void atomic_min(uint64_t *p, uint64_t v)
{
	uint64_t o = __atomic_load_n(p, __ATOMIC_RELAXED);

	while (o > v &&
	       !__atomic_compare_exchange_n(p, &o, v, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

static long pexit_op(void *tstate)
{
	struct procw_thread *t = tstate;
	struct pexit *x = t->state;
	struct procw_proc *p = &x->env.proc;
	int w = x->cell->nr_threads, r = 0;
	uint64_t t0, t1, longest = 0, start = ks_clock_ns();

	atomic_min(&x->start_ns, start);
	/*
	 * Modelled thread j is run by harness thread j % W; thread 0 starts
	 * with the leader, whose do_exit() (SIGKILL reaches it too) leaves a
	 * zombie until the reap.
	 */
	for (int i = t->idx; !r && i < p->nr; i += w) {
		t0 = ks_clock_ns();
		r = procw_exit_thread(p, i);
		t1 = ks_clock_ns();
		longest = t1 - t0 > longest ? t1 - t0 : longest;
	}
	if (!r && t->idx == 0) {
		t0 = ks_clock_ns();
		r = procw_reap(p);
		t1 = ks_clock_ns();
		longest = t1 - t0 > longest ? t1 - t0 : longest;
		atomic_max(&x->end_ns, t1);
	}
	atomic_max(&x->longest_ns, longest);
	if (r) {
		__atomic_store_n(&x->err, r, __ATOMIC_RELAXED);
		return r;
	}
	return 1;
}

/* kb_metric_set() keeps the name pointer: names are static strings */
static void lock_metrics(struct kb_metrics *m, const struct ks_lock_class_stats *c,
			 const char *const names[3], double objects)
{
	kb_metric_set(m, names[0], (double)c->acquisitions);
	kb_metric_set(m, names[1], (double)c->contentions);
	kb_metric_set(m, names[2], objects > 0 ? (double)c->bounces / objects : 0);
}

static const char *const inode_list_names[3] = {"inode_list_acquisitions", "inode_list_contentions",
						"inode_list_bounces_per_object"};
static const char *const lru_names[3] = {"lru_acquisitions", "lru_contentions",
					 "lru_bounces_per_object"};
static const char *const task_dir_names[3] = {"task_dir_acquisitions", "task_dir_contentions",
					      "task_dir_bounces_per_object"};

static int pexit_report(void *state, struct kb_metrics *m, struct kb_series *series,
			size_t max_series, size_t *nr_series)
{
	struct pexit *x = state;
	struct ks_lock_class_stats cls[64];
	struct ks_procfs_stats st;
	double freed, ns;
	size_t n = 0;
	int r;

	*nr_series = 0;
	r = procw_env_stats(&x->env, &st);
	if (r)
		return r;
	freed = (double)(x->dentries_walked - st.dentries) + (double)(x->inodes_walked - st.inodes);
	ns = x->end_ns > x->start_ns ? (double)(x->end_ns - x->start_ns) : 0;
	kb_metric_set(m, "pairs_walked", (double)(x->dentries_walked - x->dentries_before_walk));
	kb_metric_set(m, "teardown_ns", ns);
	kb_metric_set(m, "objects_freed", freed);
	kb_metric_set(m, "objects_freed_per_sec", ns > 0 ? freed * 1e9 / ns : 0);
	kb_metric_set(m, "longest_stretch_ns", (double)x->longest_ns);
	if (!ks_lockstat_read(x->cell->locks, cls, 64, &n)) {
		for (size_t i = 0; i < n && i < 64; i++) {
			if (!strcmp(cls[i].name, "s_inode_list_lock"))
				lock_metrics(m, &cls[i], inode_list_names, freed);
			else if (!strcmp(cls[i].name, "lru_lock"))
				lock_metrics(m, &cls[i], lru_names, freed);
			else if (!strcmp(cls[i].name, "d_lock"))
				lock_metrics(m, &cls[i], task_dir_names, freed);
		}
	}
	if (x->err)
		return x->err;
	/* nothing outlives the process once it is reaped */
	return st.dentries == x->dentries_before_walk && st.inodes == x->inodes_before_walk
		       ? 0
		       : -EUCLEAN;
}

static const struct kb_suite_entry pexit_suite[] = {
	{
		.strategies = "all",
		.threads = "1,2",
		.params = "proc_threads=64;proc_fds=256;proc_vmas=16;inode_list=global,dlock",
		.headline = "symlink vs stock (exits/s)",
		.base = "stock",
		.target = "symlink",
	},
	{0},
};

static const struct kb_workload pexit_workload = {
	.name = "procfs-exit",
	.summary = "a walked T-thread process exits at once: teardown time, lock traffic",
	.subsystem = "procfs",
	.strategies = procw_layouts,
	.params = procw_params,
	.setup = pexit_setup,
	.thread_init = procw_thread_init,
	.op = pexit_op,
	.thread_fini = procw_thread_fini,
	.report = pexit_report,
	.teardown = pexit_teardown,
	.one_shot = true,
	.suite = pexit_suite,
};
KB_WORKLOAD_REGISTER(pexit_workload)
