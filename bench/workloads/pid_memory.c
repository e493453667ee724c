// SPDX-License-Identifier: MIT
/*
 * pid-memory: bytes per live pid, from ks_mem, with --param live pids in a
 * root namespace of pid_max --param pid_max (default 4194304). The pids are
 * allocated at setup by one thread; with --param churn=N, N extra rounds of
 * (allocate one, free the oldest) first move the numbers through the id
 * space as a long-running machine would. One-shot op: a find_ge walk that
 * checks the count. Metrics: bytes_per_pid (every type of the space) and
 * index_bytes_per_pid (all but struct pid itself: the IDR, XArray, bitmap
 * pages, hash, ranges).
 */
#include "pid_common.h"

struct memory {
	struct pidw_env env;
	struct ks_mem *mem;
	uint64_t live;
};

static const struct kb_param_def memory_params[] = {
	{ "live", "10000", "live pids" },
	{ "pid_max", "4194304", "pid_max of the namespace" },
	{ "churn", "0", "alloc-one/free-oldest rounds before measuring" },
	{ NULL, NULL, NULL },
};

static void memory_teardown(void *state)
{
	struct memory *mm = state;

	pidw_env_destroy(&mm->env);
	free(mm);
}

static int fill(struct memory *mm, uint64_t churn)
{
	struct ks_pid **ring = calloc(mm->live, sizeof(*ring));
	uint64_t head = 0;
	int ret = 0;

	if (!ring)
		return -ENOMEM;
	for (uint64_t i = 0; i < mm->live + churn && !ret; i++) {
		if (i >= mm->live)
			ks_pid_free(ring[head]);
		ret = ks_pid_alloc(mm->env.ns[0], NULL, 0, 0, &ring[head]);
		head = (head + 1) % mm->live;
	}
	free(ring);
	return ret;
}

static int memory_setup(const struct kb_cell *c, void **state)
{
	struct memory *mm = calloc(1, sizeof(*mm));
	uint64_t pid_max = 0, churn = 0;
	bool reg;
	int ret;

	if (!mm)
		return -ENOMEM;
	ret = kb_param_u64(c, "live", &mm->live);
	if (!ret)
		ret = kb_param_u64(c, "pid_max", &pid_max);
	if (!ret)
		ret = kb_param_u64(c, "churn", &churn);
	if (!ret && (mm->live < 1 || pid_max > KS_PID_MAX_LIMIT || mm->live + 301 > pid_max))
		ret = -EINVAL;
	if (!ret)
		ret = pidw_env_create(c, 0, (int)pid_max, NULL, NULL, &mm->env);
	if (ret) {
		free(mm);
		return ret;
	}
	mm->mem = c->mem;
	reg = pidw_rcu_enter();
	ret = fill(mm, churn);
	/* let the grace periods of churned pids end: count live memory only */
	if (!ret)
		ret = ks_rcu_barrier();
	pidw_rcu_exit(reg);
	if (ret) {
		memory_teardown(mm);
		return ret;
	}
	*state = mm;
	return 0;
}

static long memory_op(void *tstate)
{
	struct pidw_thread *t = tstate;
	uint64_t seen = 0;
	int nr = 0;

	ks_rcu_read_lock();
	while ((nr = ks_pid_find_ge(((struct memory *)t->state)->env.ns[0], nr, NULL)) > 0) {
		seen++;
		nr++;
	}
	ks_rcu_read_unlock();
	return seen == ((struct memory *)t->state)->live + 1 ? 1 : -EIO;
}

static int memory_report(void *state, struct kb_metrics *m, struct kb_series *series,
			 size_t max_series, size_t *nr_series)
{
	struct memory *mm = state;
	struct ks_mem_type_stats st[64];
	struct ks_pid_stats ps;
	int64_t pid_bytes = 0;
	size_t n = 0;
	int ret;

	*nr_series = 0;
	ret = ks_pid_stats(mm->env.space, &ps);
	if (!ret)
		ret = ks_mem_read(mm->mem, st, KS_ARRAY_SIZE(st), &n);
	if (ret)
		return ret;
	for (size_t i = 0; i < n && i < KS_ARRAY_SIZE(st); i++) {
		if (!strcmp(st[i].name, "pid"))
			pid_bytes = st[i].live_bytes;
	}
	kb_metric_set(m, "live", (double)ps.live);
	kb_metric_set(m, "bytes", (double)ps.bytes);
	kb_metric_set(m, "bytes_per_pid", (double)ps.bytes / (double)ps.live);
	kb_metric_set(m, "index_bytes_per_pid", (double)(ps.bytes - pid_bytes) / (double)ps.live);
	return 0;
}

static const struct kb_workload pid_memory = {
	.name = "pid-memory",
	.summary = "bytes per live pid (ks_mem) at --param live, pid_max 4194304",
	.subsystem = "pid",
	.strategies = pidw_strategies,
	.params = memory_params,
	.setup = memory_setup,
	.thread_init = pidw_thread_init,
	.op = memory_op,
	.thread_fini = pidw_thread_fini,
	.report = memory_report,
	.teardown = memory_teardown,
	.one_shot = true,
};
KB_WORKLOAD_REGISTER(pid_memory)
