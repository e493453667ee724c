// SPDX-License-Identifier: MIT
/*
 * reap-scan: the cost of process_mrelease()'s safety check as the machine
 * fills up (Shakeel Butt on the process_reap thread, June 2021: "it is
 * traversing all the processes on the machine ... tens of thousands of
 * processes on big machines").
 *
 * The machine holds --param procs processes (each with an empty mm, so
 * 100,000 build in about a second). One of them is the victim: killed and
 * not yet exited, with its mm shared so that mm_users > 1 -- by a second
 * thread (--param sharing=threads, any multi-threaded process) or by a
 * vfork-like CLONE_VM process that is killed too (sharing=clone-vm). Then
 * task_will_free_mem() cannot answer from mm_users and must find out
 * whether a live process shares the mm:
 *
 *   scan       mm/oom_kill.c task_will_free_mem(), Linux 6.18: for_each_process()
 *              under rcu_read_lock(), process_shares_mm() on each -- O(procs).
 *   mm-owners  beyond the kernel: the mm counts its live owner processes, so
 *              the answer is one read -- O(1).
 *
 * One op is a batch of checks on the victim (at least 1, and at least 1 ms
 * of them), each answering "yes, it will free its memory". The workload
 * times its checks itself: check_ns_mean is the time of one check; the
 * runner's cpu ns/op is the same from CPU time.
 */
#include "workload.h"

#include <kscale/reap.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_NS 1000000ull

static const char *const strategies[] = { "scan", "mm-owners", NULL };

static const struct kb_param_def params[] = {
	{ "procs", "10000", "processes on the machine, the victim included (2 to 1000000)" },
	{ "sharing", "threads", "how the victim's mm gets mm_users > 1: threads or clone-vm" },
	{ NULL, NULL, NULL },
};

struct rs {
	const struct kb_cell *cell;
	uint64_t procs;
	bool clone_vm;
	struct ks_tasks *tasks;
	struct ks_reap *reap;
	struct ks_task **task; /* every task we hold, in creation order */
	size_t nr_task;
	struct ks_task *victim;
	uint64_t checks, check_ns, visited, wrong; /* atomics */
};

static void hold(struct rs *rs, struct ks_task *t)
{
	rs->task[rs->nr_task++] = t;
}

static void teardown(void *state)
{
	struct rs *rs = state;
	bool reg;

	if (!rs)
		return;
	reg = ks_rcu_register_thread() == 0;
	/* threads first (they release themselves), then every leader */
	for (size_t i = rs->nr_task; i-- > 0;)
		ks_task_exit(rs->task[i], 0);
	for (size_t i = 0; i < rs->nr_task; i++) {
		if (ks_task_flags(rs->task[i]) & KS_TASK_LEADER)
			ks_task_reap(rs->task[i], NULL);
		ks_task_put(rs->task[i]);
	}
	if (rs->reap)
		ks_reap_destroy(rs->reap);
	if (rs->tasks)
		ks_tasks_destroy(rs->tasks);
	if (reg)
		ks_rcu_unregister_thread();
	free(rs->task);
	free(rs);
}

/* The victim sits in the middle of the task list, the sharer at its end. */
static int populate(struct rs *rs)
{
	struct ks_task *t;
	int ret = 0;

	for (uint64_t i = 0; !ret && i < rs->procs - rs->clone_vm; i++) {
		ret = ks_task_clone(rs->tasks, NULL, 0, &t);
		if (ret)
			break;
		hold(rs, t);
		if (i == (rs->procs - rs->clone_vm) / 2) {
			rs->victim = t;
			ret = ks_task_clone(rs->tasks, t,
					    rs->clone_vm ? KS_CLONE_VM : KS_CLONE_VM | KS_CLONE_THREAD,
					    &t);
			if (ret)
				break;
			hold(rs, t);
			if (rs->clone_vm)
				ret = ks_task_kill(t);
		}
	}
	return ret ?: ks_task_kill(rs->victim);
}

static int setup(const struct kb_cell *c, void **state)
{
	struct ks_tasks_opts to = { 0 };
	struct ks_reap_opts ro = { 0 };
	const char *sharing;
	struct rs *rs;
	bool reg;
	int ret;

	rs = calloc(1, sizeof(*rs));
	if (!rs)
		return -ENOMEM;
	rs->cell = c;
	ret = kb_param_u64(c, "procs", &rs->procs);
	ret = ret ?: kb_param_str(c, "sharing", &sharing);
	if (!ret && (rs->procs < 2 || rs->procs > 1000000))
		ret = -EINVAL;
	if (!ret && strcmp(sharing, "threads") && strcmp(sharing, "clone-vm"))
		ret = -EINVAL;
	if (ret) {
		free(rs);
		return ret;
	}
	rs->clone_vm = !strcmp(sharing, "clone-vm");
	rs->task = calloc(rs->procs + 1, sizeof(*rs->task));
	if (!rs->task) {
		free(rs);
		return -ENOMEM;
	}
	reg = ks_rcu_register_thread() == 0;
	to.topo = c->topo;
	to.locks = c->locks;
	to.mem = c->mem;
	ret = ks_tasks_create(&to, &rs->tasks);
	/* room for every pid, the way a big machine raises kernel.pid_max */
	if (!ret && rs->procs + 1000 > (uint64_t)ks_pid_ns_pid_max(ks_tasks_pid_ns(rs->tasks)))
		ret = ks_pid_ns_set_pid_max(ks_tasks_pid_ns(rs->tasks), (int)(rs->procs + 1000));
	ro.topo = c->topo;
	ro.locks = c->locks;
	ro.mem = c->mem;
	ro.check = c->strategy;
	ret = ret ?: ks_reap_create(rs->tasks, &ro, &rs->reap);
	ret = ret ?: populate(rs);
	if (reg)
		ks_rcu_unregister_thread();
	if (ret) {
		teardown(rs);
		return ret;
	}
	*state = rs;
	return 0;
}

static int thread_init(void *state, int thread, void **tstate)
{
	int ret = ks_rcu_register_thread();

	(void)thread;
	*tstate = state;
	return ret == -EALREADY ? 0 : ret;
}

static long op(void *tstate)
{
	struct rs *rs = tstate;
	uint64_t t0 = ks_clock_ns(), t = t0, visited = 0, wrong = 0;
	long n = 0;

	do {
		int visits = 0;
		int rc = ks_reap_will_free_mem(rs->reap, rs->victim, &visits);

		if (rc < 0)
			return rc;
		wrong += rc != 1;
		visited += (uint64_t)visits;
		n++;
		t = ks_clock_ns();
	} while (t - t0 < BATCH_NS);
	__atomic_fetch_add(&rs->checks, (uint64_t)n, __ATOMIC_RELAXED);
	__atomic_fetch_add(&rs->check_ns, t - t0, __ATOMIC_RELAXED);
	__atomic_fetch_add(&rs->visited, visited, __ATOMIC_RELAXED);
	__atomic_fetch_add(&rs->wrong, wrong, __ATOMIC_RELAXED);
	return n;
}

static void thread_fini(void *tstate)
{
	(void)tstate;
	ks_rcu_unregister_thread();
}

static int report(void *state, struct kb_metrics *m, struct kb_series *series, size_t max_series,
		  size_t *nr_series)
{
	struct rs *rs = state;
	struct ks_tasks_stats ts;
	double checks = (double)rs->checks;

	(void)series;
	(void)max_series;
	*nr_series = 0;
	/* every check must have said "it will free its memory" */
	if (rs->wrong || rs->checks != rs->cell->ops_done)
		return -EUCLEAN;
	if (ks_tasks_stats(rs->tasks, &ts))
		return -EINVAL;
	kb_metric_set(m, "procs", (double)ts.processes);
	kb_metric_set(m, "checks", checks);
	kb_metric_set(m, "check_ns_mean", checks ? (double)rs->check_ns / checks : 0);
	kb_metric_set(m, "procs_visited_per_check", checks ? (double)rs->visited / checks : 0);
	kb_metric_set(m, "ns_per_proc_visited",
		      rs->visited ? (double)rs->check_ns / (double)rs->visited : 0);
	return 0;
}

static const struct kb_suite_entry suite[] = {
	/* 10,000 processes build in a fraction of a second; the ratio grows with procs */
	{ "scan,mm-owners", "1", "procs=10000", 1, "safety checks/s at 10,000 processes: mm-owners vs scan",
	  "scan", "mm-owners" },
	{ 0 },
};

static const struct kb_workload reap_scan = {
	.name = "reap-scan",
	.summary = "process_mrelease()'s safety check against N processes: scan vs mm-owners",
	.subsystem = "reap",
	.strategies = strategies,
	.params = params,
	.setup = setup,
	.thread_init = thread_init,
	.op = op,
	.thread_fini = thread_fini,
	.report = report,
	.teardown = teardown,
	.suite = suite,
};
KB_WORKLOAD_REGISTER(reap_scan);
