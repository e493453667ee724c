// SPDX-License-Identifier: MIT
/*
 * pid-spawn: will-it-scale's threadspawn1 (pthread_create + pthread_join in
 * a loop, Guzik's benchmark in "[PATCH 0/3] further damage-control lack of
 * clone scalability") reduced to its pid traffic: every operation allocates a
 * pid in the leaf of a chain of --param depth nested namespaces (what
 * alloc_pid() does for clone), publishes it, looks it up (find_pid_ns), and
 * frees it (free_pid() from release_task()). Shared-lock acquisitions and
 * bounces per op come from the harness's lock_stat.
 *
 * A real machine is never empty: --param live pids (default 1000, like a
 * busy server's processes) are spread evenly over every level's number space
 * at setup, each level's ns_last_pid set before each allocation. Without them
 * the radix-tree strategies would collapse their tree to one node on every
 * free and rebuild its whole height on the next allocation (delete_node()
 * shrinks the tree as the kernel's does), a cost no running kernel pays: its
 * live processes keep the upper levels allocated, and threadspawn then costs
 * about one leaf per cursor position, as in the kernel. live=0 gives the
 * empty namespaces.
 *
 * After the measurement, report() measures the reuse distance on a separate
 * space: allocations between the free of a number and the same number being
 * handed out again, with the allocations spread round-robin over the cell's
 * thread count of CPUs and --param reuse_live pids kept alive (FIFO), in a
 * root namespace of pid_max --param reuse_pid_max.
 */
#include "pid_common.h"

struct spawn {
	struct pidw_env env;
	int nr_threads;
	uint64_t reuse_pid_max, reuse_live, live;
	int64_t base_live; /* pids live after setup: the inits and the population */
	struct ks_pid_range_stats base_ranges; /* summed over levels, after setup */
	const char *strategy;
	const struct ks_topo *topo;
};

static const struct kb_param_def spawn_params[] = {
	{ "depth", "0", "namespace depth of the allocating task (0..32)" },
	{ "live", "1000", "pids kept alive, spread over every level's number space (a busy machine)" },
	{ "reuse_pid_max", "32768", "pid_max of the reuse-distance measurement" },
	{ "reuse_live", "64", "pids kept alive during the reuse-distance measurement" },
	{ NULL, NULL, NULL },
};

/*
 * Range strategies: their counts summed over every level of the cell's
 * chain. Return 0, or -EOPNOTSUPP for the other strategies.
 */
static int range_counts(const struct pidw_env *e, struct ks_pid_range_stats *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (int i = 0; i <= e->depth; i++) {
		struct ks_pid_range_stats rs;
		int ret = ks_pid_ns_range_stats(e->ns[i], &rs);

		if (ret)
			return ret;
		sum->carves += rs.carves;
		sum->adoptions += rs.adoptions;
		sum->retires += rs.retires;
		sum->steals += rs.steals;
	}
	return 0;
}

/*
 * Spread sp->live pids over the number space of every level: before each
 * allocation, every level's ns_last_pid is moved to the next stride.
 */
static int populate(struct spawn *sp)
{
	struct pidw_env *e = &sp->env;
	struct ks_pid_ns *leaf = e->ns[e->depth];
	struct ks_pid_stats st;
	bool reg = pidw_rcu_enter();
	int ret = 0;

	for (uint64_t k = 0; !ret && k < sp->live; k++) {
		struct ks_pid *pid;

		for (int i = 0; !ret && i <= e->depth; i++) {
			int max = ks_pid_ns_pid_max(e->ns[i]);
			uint64_t stride = (uint64_t)(max - KS_PID_RESERVED) / (sp->live + 1);

			ret = ks_pid_ns_set_last_pid(e->ns[i],
						     KS_PID_RESERVED + (int)(stride * (k + 1)), true);
		}
		if (!ret)
			ret = ks_pid_alloc(leaf, NULL, 0, 0, &pid);
	}
	if (!ret)
		ret = ks_pid_stats(e->space, &st);
	if (!ret)
		sp->base_live = (int64_t)st.live;
	if (!ret)
		range_counts(e, &sp->base_ranges);
	pidw_rcu_exit(reg);
	return ret;
}

static int spawn_setup(const struct kb_cell *c, void **state)
{
	struct spawn *sp = calloc(1, sizeof(*sp));
	uint64_t depth;
	int ret;

	if (!sp)
		return -ENOMEM;
	ret = kb_param_u64(c, "depth", &depth);
	if (!ret)
		ret = kb_param_u64(c, "reuse_pid_max", &sp->reuse_pid_max);
	if (!ret)
		ret = kb_param_u64(c, "reuse_live", &sp->reuse_live);
	if (!ret)
		ret = kb_param_u64(c, "live", &sp->live);
	if (!ret && (depth > KS_PID_MAX_LEVEL || sp->reuse_live < 1 || sp->live > 100000 ||
		     sp->reuse_pid_max > KS_PID_MAX_LIMIT))
		ret = -EINVAL;
	if (!ret)
		ret = pidw_env_create(c, (int)depth, 0, NULL, NULL, &sp->env);
	if (!ret) {
		ret = populate(sp);
		if (ret)
			pidw_env_destroy(&sp->env);
	}
	if (ret) {
		free(sp);
		return ret;
	}
	sp->nr_threads = c->nr_threads;
	sp->strategy = c->strategy;
	sp->topo = c->topo;
	*state = sp;
	return 0;
}

static long spawn_op(void *tstate)
{
	struct pidw_thread *t = tstate;
	struct spawn *sp = t->state;
	struct ks_pid_ns *leaf = sp->env.ns[sp->env.depth];
	struct ks_pid *pid, *found = NULL;
	int ret, nr;

	ret = ks_pid_alloc(leaf, NULL, 0, 0, &pid);
	if (ret)
		return ret;
	nr = ks_pid_nr_ns(pid, leaf);
	ks_rcu_read_lock();
	ret = ks_pid_lookup(leaf, nr, &found);
	ks_rcu_read_unlock();
	if (!ret && found != pid)
		ret = -EIO; /* a lookup returned another pid: an invariant broke */
	if (ks_pid_free(pid) && !ret)
		ret = -EIO;
	return ret ? ret : 1;
}

/* Reuse distance: see the top of the file. */
static int measure_reuse(struct spawn *sp, struct kb_metrics *m)
{
	const struct kb_cell c = { .strategy = sp->strategy, .topo = sp->topo };
	struct ks_lockstat *locks = NULL;
	struct ks_mem *mem = NULL;
	int64_t *freed_at = NULL;
	struct ks_pid **fifo = NULL;
	uint64_t live = sp->reuse_live, n, head = 0, count = 0, seq;
	uint64_t min = UINT64_MAX, sum = 0, reuses = 0;
	int cpus = sp->nr_threads > 0 ? sp->nr_threads : 1;
	int pid_max = (int)sp->reuse_pid_max;
	struct pidw_env e = { 0 };
	bool reg = pidw_rcu_enter();
	int ret;

	ret = ks_lockstat_create(sp->topo, &locks);
	if (!ret)
		ret = ks_mem_create(sp->topo, &mem);
	if (!ret)
		ret = pidw_env_create(&c, 0, pid_max, locks, mem, &e);
	if (ret)
		goto out;
	freed_at = malloc(sizeof(*freed_at) * (size_t)pid_max);
	fifo = calloc(live, sizeof(*fifo));
	if (!freed_at || !fifo) {
		ret = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < pid_max; i++)
		freed_at[i] = -1;
	n = 4 * (uint64_t)pid_max;
	for (seq = 0; seq < n; seq++) {
		struct ks_pid *pid;
		int nr;

		ks_cpu_set_current((int)(seq % (uint64_t)cpus));
		ret = ks_pid_alloc(e.ns[0], NULL, 0, 0, &pid);
		if (ret)
			break;
		nr = ks_pid_nr_ns(pid, e.ns[0]);
		if (freed_at[nr] >= 0) {
			uint64_t d = seq - (uint64_t)freed_at[nr];

			min = d < min ? d : min;
			sum += d;
			reuses++;
		}
		if (count == live) {
			struct ks_pid *old = fifo[head];

			freed_at[ks_pid_nr_ns(old, e.ns[0])] = (int64_t)seq;
			ks_pid_free(old);
			count--;
		}
		fifo[head] = pid;
		head = (head + 1) % live;
		count++;
	}
	ks_cpu_set_current(-1);
	kb_metric_set(m, "reuse_allocs", (double)seq);
	kb_metric_set(m, "reuse_count", (double)reuses);
	kb_metric_set(m, "reuse_distance_min", reuses ? (double)min : -1);
	kb_metric_set(m, "reuse_distance_mean", reuses ? (double)sum / (double)reuses : -1);
out:
	pidw_env_destroy(&e);
	free(freed_at);
	free(fifo);
	if (mem)
		ks_mem_destroy(mem);
	ks_lockstat_destroy(locks);
	pidw_rcu_exit(reg);
	return ret;
}

static int spawn_report(void *state, struct kb_metrics *m, struct kb_series *series,
			size_t max_series, size_t *nr_series)
{
	struct spawn *sp = state;
	struct ks_pid_stats st;
	int ret;

	*nr_series = 0;
	ret = ks_pid_stats(sp->env.space, &st);
	if (ret)
		return ret;
	/* every op freed its pid: only the inits and the population are left */
	if ((int64_t)st.live != sp->base_live)
		return -EIO;
	kb_metric_set(m, "live", (double)sp->live);
	kb_metric_set(m, "depth", sp->env.depth);
	{
		struct ks_pid_range_stats rs;

		/* how the measured ops got their ranges (all levels, setup excluded) */
		if (!range_counts(&sp->env, &rs)) {
			kb_metric_set(m, "range_carves", (double)(rs.carves - sp->base_ranges.carves));
			kb_metric_set(m, "range_adoptions",
				      (double)(rs.adoptions - sp->base_ranges.adoptions));
			kb_metric_set(m, "range_steals", (double)(rs.steals - sp->base_ranges.steals));
		}
	}
	return measure_reuse(sp, m);
}

static void spawn_teardown(void *state)
{
	struct spawn *sp = state;

	pidw_env_destroy(&sp->env);
	free(sp);
}

static const struct kb_suite_entry spawn_suite[] = {
	{ "all", "1,2", "depth=0", 2.0, "pcpu-range vs idr-relock", "idr-relock", "pcpu-range" },
	{ "all", "1,2", "depth=4", 2.0, "pcpu-range vs idr-relock", "idr-relock", "pcpu-range" },
	{ NULL, NULL, NULL, 0, NULL, NULL, NULL },
};

static const struct kb_workload pid_spawn = {
	.name = "pid-spawn",
	.summary = "alloc+publish+lookup+free of a pid at --param depth (threadspawn)",
	.subsystem = "pid",
	.strategies = pidw_strategies,
	.params = spawn_params,
	.setup = spawn_setup,
	.thread_init = pidw_thread_init,
	.op = spawn_op,
	.thread_fini = pidw_thread_fini,
	.report = spawn_report,
	.teardown = spawn_teardown,
	.suite = spawn_suite,
};
KB_WORKLOAD_REGISTER(pid_spawn)
