// SPDX-License-Identifier: MIT
/*
 * pid-iterate: a full find_ge_pid() walk of the root namespace, as
 * /proc readdir (next_tgid()) and ps do: from 0, take the next pid >= n,
 * keep it if it is a thread-group leader, continue at its number + 1.
 * --param procs processes of 1 + --param threads pids each are allocated at
 * setup (leader first); the walk visits every pid and keeps the leaders, so
 * procs=10000 is 95846ecf9dac's "10,000 processes" and procs=1
 * threads=100000 is Foster's "one process with 100,000 threads". One walk
 * per op, repeated for the duration: ops/s is walks/s, and walk_ns_mean/min
 * are the time per walk.
 */
#include "pid_common.h"

struct iterate {
	struct pidw_env env;
	uint64_t procs, threads, total;
	uint8_t *leader; /* [pid_max]: the workload's stand-in for pid->tasks */
	int pid_max;
	uint64_t walks, walk_ns, walk_ns_min; /* atomics */
};

static const struct kb_param_def iterate_params[] = {
	{ "procs", "10000", "processes (thread-group leaders)" },
	{ "threads", "0", "extra threads per process" },
	{ "pid_max", "4194304", "pid_max of the namespace" },
	{ NULL, NULL, NULL },
};

static void iterate_teardown(void *state)
{
	struct iterate *it = state;

	pidw_env_destroy(&it->env);
	free(it->leader);
	free(it);
}

static int iterate_setup(const struct kb_cell *c, void **state)
{
	struct iterate *it = calloc(1, sizeof(*it));
	uint64_t pid_max = 0;
	struct ks_pid *pid;
	bool reg;
	int ret;

	if (!it)
		return -ENOMEM;
	ret = kb_param_u64(c, "procs", &it->procs);
	if (!ret)
		ret = kb_param_u64(c, "threads", &it->threads);
	if (!ret)
		ret = kb_param_u64(c, "pid_max", &pid_max);
	if (!ret && (it->procs < 1 || pid_max > KS_PID_MAX_LIMIT ||
		     it->procs * (1 + it->threads) + 301 > pid_max))
		ret = -EINVAL;
	if (!ret)
		ret = pidw_env_create(c, 0, (int)pid_max, NULL, NULL, &it->env);
	if (ret) {
		free(it);
		return ret;
	}
	it->pid_max = (int)pid_max;
	it->total = it->procs * (1 + it->threads);
	it->walk_ns_min = UINT64_MAX;
	it->leader = calloc((size_t)pid_max, 1);
	if (!it->leader) {
		iterate_teardown(it);
		return -ENOMEM;
	}
	it->leader[1] = 1; /* the init */
	reg = pidw_rcu_enter();
	for (uint64_t p = 0; p < it->procs && !ret; p++) {
		for (uint64_t t = 0; t <= it->threads && !ret; t++) {
			ret = ks_pid_alloc(it->env.ns[0], NULL, 0, 0, &pid);
			if (!ret && !t)
				it->leader[ks_pid_nr_ns(pid, it->env.ns[0])] = 1;
		}
	}
	pidw_rcu_exit(reg);
	if (ret) {
		iterate_teardown(it);
		return ret;
	}
	*state = it;
	return 0;
}

static long iterate_op(void *tstate)
{
	struct pidw_thread *t = tstate;
	struct iterate *it = t->state;
	uint64_t seen = 0, leaders = 0, t0 = ks_clock_ns(), dt, min;
	int nr = 0;

	ks_rcu_read_lock();
	for (;;) {
		nr = ks_pid_find_ge(it->env.ns[0], nr, NULL);
		if (nr < 0)
			break;
		seen++;
		leaders += it->leader[nr];
		nr++;
	}
	ks_rcu_read_unlock();
	dt = ks_clock_ns() - t0;
	if (nr != -ENOENT || seen != it->total + 1 || leaders != it->procs + 1)
		return -EIO;
	__atomic_fetch_add(&it->walks, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&it->walk_ns, dt, __ATOMIC_RELAXED);
	min = __atomic_load_n(&it->walk_ns_min, __ATOMIC_RELAXED);
	while (dt < min && !__atomic_compare_exchange_n(&it->walk_ns_min, &min, dt, false,
							 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	return 1;
}

static int iterate_report(void *state, struct kb_metrics *m, struct kb_series *series,
			  size_t max_series, size_t *nr_series)
{
	struct iterate *it = state;

	*nr_series = 0;
	kb_metric_set(m, "pids", (double)(it->total + 1));
	kb_metric_set(m, "walks", (double)it->walks);
	if (it->walks) {
		kb_metric_set(m, "walk_ns_mean", (double)it->walk_ns / (double)it->walks);
		kb_metric_set(m, "walk_ns_min", (double)it->walk_ns_min);
	}
	return 0;
}

static const struct kb_workload pid_iterate = {
	.name = "pid-iterate",
	.summary = "full find_ge_pid() walk keeping leaders (/proc readdir, ps)",
	.subsystem = "pid",
	.strategies = pidw_strategies,
	.params = iterate_params,
	.setup = iterate_setup,
	.thread_init = pidw_thread_init,
	.op = iterate_op,
	.thread_fini = pidw_thread_fini,
	.report = iterate_report,
	.teardown = iterate_teardown,
};
KB_WORKLOAD_REGISTER(pid_iterate)
