// SPDX-License-Identifier: MIT
/*
 * pid-lookup: find_pid_ns() of random live numbers, as kill(2), /proc/<pid>
 * and pidfd_open() do. --param live pids are allocated at setup in the root
 * namespace of pid_max --param pid_max; every op does 64 lookups under RCU
 * and checks each one found the pid it expects.
 */
#include "pid_common.h"

#define LOOKUP_BATCH 64

struct lookup {
	struct pidw_env env;
	struct ks_pid **pids;
	int *nrs;
	uint64_t live;
};

static const struct kb_param_def lookup_params[] = {
	{ "live", "10000", "live pids to look up among" },
	{ "pid_max", "4194304", "pid_max of the namespace" },
	{ NULL, NULL, NULL },
};

static void lookup_teardown(void *state)
{
	struct lookup *lk = state;

	pidw_env_destroy(&lk->env);
	free(lk->pids);
	free(lk->nrs);
	free(lk);
}

static int lookup_setup(const struct kb_cell *c, void **state)
{
	struct lookup *lk = calloc(1, sizeof(*lk));
	uint64_t pid_max = 0;
	bool reg;
	int ret;

	if (!lk)
		return -ENOMEM;
	ret = kb_param_u64(c, "live", &lk->live);
	if (!ret)
		ret = kb_param_u64(c, "pid_max", &pid_max);
	if (!ret && (lk->live < 1 || pid_max > KS_PID_MAX_LIMIT || lk->live + 301 > pid_max))
		ret = -EINVAL;
	if (!ret)
		ret = pidw_env_create(c, 0, (int)pid_max, NULL, NULL, &lk->env);
	if (ret) {
		free(lk);
		return ret;
	}
	lk->pids = calloc(lk->live, sizeof(*lk->pids));
	lk->nrs = calloc(lk->live, sizeof(*lk->nrs));
	if (!lk->pids || !lk->nrs) {
		lookup_teardown(lk);
		return -ENOMEM;
	}
	reg = pidw_rcu_enter();
	for (uint64_t i = 0; i < lk->live && !ret; i++) {
		ret = ks_pid_alloc(lk->env.ns[0], NULL, 0, 0, &lk->pids[i]);
		if (!ret)
			lk->nrs[i] = ks_pid_nr_ns(lk->pids[i], lk->env.ns[0]);
	}
	pidw_rcu_exit(reg);
	if (ret) {
		lookup_teardown(lk);
		return ret;
	}
	*state = lk;
	return 0;
}

static long lookup_op(void *tstate)
{
	struct pidw_thread *t = tstate;
	struct lookup *lk = t->state;
	long ret = LOOKUP_BATCH;

	ks_rcu_read_lock();
	for (int i = 0; i < LOOKUP_BATCH; i++) {
		uint64_t k = pidw_rand(&t->rnd) % lk->live;
		struct ks_pid *p = NULL;

		if (ks_pid_lookup(lk->env.ns[0], lk->nrs[k], &p) || p != lk->pids[k])
			ret = -EIO;
	}
	ks_rcu_read_unlock();
	return ret;
}

static int lookup_report(void *state, struct kb_metrics *m, struct kb_series *series,
			 size_t max_series, size_t *nr_series)
{
	struct lookup *lk = state;

	*nr_series = 0;
	kb_metric_set(m, "live", (double)lk->live);
	kb_metric_set(m, "pid_max", ks_pid_ns_pid_max(lk->env.ns[0]));
	return 0;
}

static const struct kb_workload pid_lookup = {
	.name = "pid-lookup",
	.summary = "random find_pid_ns() among --param live pids (64 per op)",
	.subsystem = "pid",
	.strategies = pidw_strategies,
	.params = lookup_params,
	.setup = lookup_setup,
	.thread_init = pidw_thread_init,
	.op = lookup_op,
	.thread_fini = pidw_thread_fini,
	.report = lookup_report,
	.teardown = lookup_teardown,
};
KB_WORKLOAD_REGISTER(pid_lookup)
