// SPDX-License-Identifier: MIT
/*
 * procfs-lsof: lsof(1)-like readers on a process whose threads come and go
 * and whose descriptors open and close ("More practically, lsof(1) does it
 * too, it just takes longer", Mahoney 2018).
 *
 * Setup builds the process of procfs-find (T threads, N descriptors). One
 * operation is one lsof pass: readdir /proc/<pid>/fd and readlink every
 * entry; with --param lsof_tasks=1 (default) also readdir task/ and do the
 * same in every task/<tid>/fd (lsof -K). Before each of its passes,
 * harness thread 0 changes the process: one non-leader thread exits and a
 * new one is cloned (proc_flush_pid() of the old one), and
 * --param churn_fds descriptors are closed and reopened (their fd/<n>
 * dentries then fail tid_fd_revalidate() on the next lookup and are
 * replaced). report():
 *   lookups, lookups_per_sec   names looked up by all readers, from the
 *                              first pass to the report (warm-up included)
 *   revalidation_failures      cached dentries d_revalidate said were stale
 *   readlink_enoent            links that vanished between readdir and
 *                              readlink (a descriptor closed meanwhile)
 *   objects_retained           dentries live at the end (the cache the
 *                              readers leave behind), with inodes and bytes
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "procfs_common.h"

struct plsof {
	const struct kb_cell *cell;
	struct procw_env env;
	uint64_t tasks, churn_fds, rev_before;
	/* atomics */
	uint64_t start_ns, lookups, enoent;
	/* harness thread 0 only */
	uint64_t next_victim, next_fd, swaps;
};

static const struct kb_param_def plsof_params[] = {
	PROCW_PARAMS_COMMON,
	{"lsof_tasks", "1", "1: also read every task/<tid>/fd (lsof -K), 0: /proc/<pid>/fd only"},
	{"churn_fds", "4", "descriptors closed and reopened before each pass of thread 0"},
	{NULL, NULL, NULL},
};

static void plsof_teardown(void *state)
{
	struct plsof *l = state;

	if (!l)
		return;
	procw_env_destroy(&l->env);
	free(l);
}

static int plsof_setup(const struct kb_cell *c, void **state)
{
	struct plsof *l = calloc(1, sizeof(*l));
	struct ks_procfs_stats st;
	int r;

	if (!l)
		return -ENOMEM;
	l->cell = c;
	r = kb_param_u64(c, "lsof_tasks", &l->tasks);
	if (!r)
		r = kb_param_u64(c, "churn_fds", &l->churn_fds);
	if (!r && (l->tasks > 1 || l->churn_fds > PROCW_MAX_FDS))
		r = -EINVAL;
	if (!r)
		r = procw_env_create(c, &l->env);
	if (!r && l->churn_fds > l->env.fds)
		r = -EINVAL;
	if (!r)
		r = procw_env_stats(&l->env, &st);
	if (r) {
		plsof_teardown(l);
		return r;
	}
	l->rev_before = st.revalidate_failures;
	*state = l;
	return 0;
}

static int plsof_mutate(struct plsof *l)
{
	struct procw_proc *p = &l->env.proc;
	int r = 0, fd;

	if (p->nr > 1) {
		int i = 1 + (int)(l->next_victim++ % (uint64_t)(p->nr - 1));

		r = procw_exit_thread(p, i);
		if (!r)
			r = ks_task_clone(l->env.tasks, p->leader,
					  KS_CLONE_VM | KS_CLONE_THREAD | KS_CLONE_FILES,
					  &p->threads[i]);
		l->swaps += !r;
	}
	for (uint64_t k = 0; !r && k < l->churn_fds; k++) {
		fd = (int)(l->next_fd++ % l->env.fds);
		r = ks_task_close(p->leader, fd);
		if (!r)
			r = ks_task_open(p->leader, "/tmp/procw/reopened", KS_O_RDWR, &fd);
	}
	return r;
}

static long plsof_op(void *tstate)
{
	struct procw_thread *t = tstate;
	struct plsof *l = t->state;
	struct procw_lsof res = {0};
	uint64_t zero = 0;
	int r = 0;

	/* the first pass of any thread starts the clock of lookups_per_sec */
	if (!__atomic_load_n(&l->start_ns, __ATOMIC_RELAXED))
		__atomic_compare_exchange_n(&l->start_ns, &zero, ks_clock_ns(), false,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	if (t->idx == 0)
		r = plsof_mutate(l);
	if (!r)
		r = procw_lsof(&l->env, l->tasks != 0, &res);
	if (r)
		return r;
	__atomic_fetch_add(&l->lookups, res.lookups, __ATOMIC_RELAXED);
	__atomic_fetch_add(&l->enoent, res.enoent, __ATOMIC_RELAXED);
	return 1;
}

static int plsof_report(void *state, struct kb_metrics *m, struct kb_series *series,
			size_t max_series, size_t *nr_series)
{
	struct plsof *l = state;
	struct ks_procfs_stats st;
	uint64_t start = __atomic_load_n(&l->start_ns, __ATOMIC_RELAXED);
	double s = start ? (double)(ks_clock_ns() - start) / 1e9 : 0;
	int r;

	*nr_series = 0;
	r = procw_env_stats(&l->env, &st);
	if (r)
		return r;
	kb_metric_set(m, "lookups", (double)l->lookups);
	kb_metric_set(m, "lookups_per_sec", s > 0 ? (double)l->lookups / s : 0);
	kb_metric_set(m, "revalidation_failures", (double)(st.revalidate_failures - l->rev_before));
	kb_metric_set(m, "readlink_enoent", (double)l->enoent);
	kb_metric_set(m, "thread_swaps", (double)l->swaps);
	kb_metric_set(m, "objects_retained", (double)st.dentries);
	kb_metric_set(m, "inodes_retained", (double)st.inodes);
	kb_metric_set(m, "bytes_retained", (double)st.bytes);
	return 0;
}

static const struct kb_workload plsof_workload = {
	.name = "procfs-lsof",
	.summary = "lsof-like fd/ readers while threads and descriptors come and go",
	.subsystem = "procfs",
	.strategies = procw_layouts,
	.params = plsof_params,
	.setup = plsof_setup,
	.thread_init = procw_thread_init,
	.op = plsof_op,
	.thread_fini = procw_thread_fini,
	.report = plsof_report,
	.teardown = plsof_teardown,
};
KB_WORKLOAD_REGISTER(plsof_workload)
