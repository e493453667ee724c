// SPDX-License-Identifier: MIT
/*
 * counter: the smallest scalability problem there is, to prove the harness
 * measures a real effect before it measures the subsystems.
 *
 * atomic: one shared 64-bit counter on its own cache line, incremented with an
 *   atomic add from every thread: atomic_long_inc() on one atomic_long_t
 *   (include/linux/atomic/atomic-long.h), the shape of every shared statistic
 *   before it was made per-CPU. Every increment moves the line to the
 *   incrementing CPU.
 * percpu: one counter per CPU (ks_percpu: each on its own line), the calling
 *   thread's CPU's slot incremented, the total summed over CPUs on read: as
 *   kernel/fork.c counts processes (__this_cpu_inc(process_counts) in
 *   copy_process(), summed by nr_processes()), and as lib/percpu_counter.c's
 *   __percpu_counter_sum() reads. this_cpu_inc() finds its CPU's copy for
 *   free (one %gs-relative instruction); a measuring thread keeps its CPU
 *   label for life, so it looks its slot up once, in thread_init, to stay as
 *   cheap. Beyond the kernel: the increment is a relaxed atomic add rather
 *   than a plain per-CPU add, because two threads labelled with the same CPU
 *   (more threads than CPUs) must still count exactly; with one thread per CPU
 *   the line is never shared, so it costs the kernel's increment plus the
 *   lock prefix.
 *
 * report() checks the invariant: the counter holds exactly the operations the
 * runner counted (struct kb_cell's ops_done).
 */
#include <errno.h>
#include <string.h>

#include "workload.h"

struct counter {
	const struct kb_cell *cell;
	bool percpu;
	uint64_t batch;
	struct ks_mem_type *type;
	uint64_t *shared;	 /* atomic: one cache line of its own */
	struct ks_percpu *slots; /* percpu: a uint64_t per CPU */
};

/* Per thread: where its increments go. Read-only after thread_init. */
struct counter_thread {
	struct counter *ctr;
	uint64_t *target;
};

static const char *const counter_strategies[] = {"atomic", "percpu", NULL};

static const struct kb_param_def counter_params[] = {
	{"batch", "1", "increments per call of op (amortises the runner's loop)"},
	{NULL, NULL, NULL},
};

static int counter_setup(const struct kb_cell *c, void **state)
{
	struct ks_mem_type *type;
	struct counter *ctr;
	uint64_t batch;
	int ret;

	ret = kb_param_u64(c, "batch", &batch);
	if (ret)
		return ret;
	if (!batch || batch > 1000000)
		return -EINVAL;
	ret = ks_mem_type_get(c->mem, "counter", sizeof(*ctr), &type);
	if (ret)
		return ret;
	ctr = ks_mem_zalloc(type, sizeof(*ctr));
	if (!ctr)
		return -ENOMEM;
	ctr->cell = c;
	ctr->type = type;
	ctr->batch = batch;
	ctr->percpu = !strcmp(c->strategy, "percpu");
	if (ctr->percpu) {
		ret = ks_percpu_alloc(c->topo, sizeof(uint64_t), &ctr->slots);
	} else {
		ctr->shared = ks_mem_alloc_aligned(type, KS_CACHELINE, KS_CACHELINE);
		if (ctr->shared)
			memset(ctr->shared, 0, KS_CACHELINE);
		else
			ret = -ENOMEM;
	}
	if (ret) {
		ks_mem_free(type, ctr, sizeof(*ctr));
		return ret;
	}
	*state = ctr;
	return 0;
}

/* On the measuring thread, already labelled with its CPU. */
static int counter_thread_init(void *state, int thread, void **tstate)
{
	struct counter *ctr = state;
	struct counter_thread *t;

	t = ks_mem_alloc_aligned(ctr->type, sizeof(*t), KS_CACHELINE);
	if (!t)
		return -ENOMEM;
	t->ctr = ctr;
	t->target = ctr->percpu ? ks_percpu_this(ctr->slots) : ctr->shared;
	*tstate = t;
	return 0;
}

/*
 * Both strategies are the same loop; only the target differs: the one shared
 * line, or this CPU's own. The add is unordered, as atomic_long_inc() is.
 */
static long counter_op(void *tstate)
{
	struct counter_thread *t = tstate;
	uint64_t batch = t->ctr->batch;

	for (uint64_t i = 0; i < batch; i++)
		__atomic_fetch_add(t->target, 1, __ATOMIC_RELAXED);
	return (long)batch;
}

static void counter_thread_fini(void *tstate)
{
	struct counter_thread *t = tstate;

	ks_mem_free(t->ctr->type, t, sizeof(*t));
}

static uint64_t counter_total(const struct counter *ctr)
{
	uint64_t sum = 0;
	int n;

	if (!ctr->percpu)
		return __atomic_load_n(ctr->shared, __ATOMIC_RELAXED);
	n = ks_percpu_nr(ctr->slots);
	for (int cpu = 0; cpu < n; cpu++)
		sum += __atomic_load_n((uint64_t *)ks_percpu_ptr(ctr->slots, cpu),
				       __ATOMIC_RELAXED);
	return sum;
}

static int counter_report(void *state, struct kb_metrics *m, struct kb_series *series,
			  size_t max_series, size_t *nr_series)
{
	struct counter *ctr = state;
	uint64_t total = counter_total(ctr);

	*nr_series = 0;
	kb_metric_set(m, "counter_total", (double)total);
	kb_metric_set(m, "ops_done", (double)ctr->cell->ops_done);
	/* Every increment the runner counted is in the counter, and nothing else. */
	return total == ctr->cell->ops_done ? 0 : -EUCLEAN;
}

static void counter_teardown(void *state)
{
	struct counter *ctr = state;

	if (!ctr)
		return;
	ks_percpu_free(ctr->slots);
	if (ctr->shared)
		ks_mem_free(ctr->type, ctr->shared, KS_CACHELINE);
	ks_mem_free(ctr->type, ctr, sizeof(*ctr));
}

static const struct kb_suite_entry counter_suite[] = {
	{
		.strategies = "all",
		.threads = "1,2",
		.duration_s = 3,
		.headline = "percpu vs atomic",
		.base = "atomic",
		.target = "percpu",
	},
	{0},
};

static const struct kb_workload counter_workload = {
	.name = "counter",
	.summary = "one shared atomic counter against a counter per CPU",
	.subsystem = "core",
	.strategies = counter_strategies,
	.params = counter_params,
	.setup = counter_setup,
	.thread_init = counter_thread_init,
	.op = counter_op,
	.thread_fini = counter_thread_fini,
	.report = counter_report,
	.teardown = counter_teardown,
	.suite = counter_suite,
};
KB_WORKLOAD_REGISTER(counter_workload)
