/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the pid workloads (bench/workloads/pid_*.c): the list of
 * strategies, RCU registration of the runner's threads, and a pid space with
 * a chain of nested namespaces, each with its init (pid 1) alive, as
 * `kscale-bench pid-replay` builds one.
 */
#ifndef KSCALE_BENCH_WORKLOADS_PID_COMMON_H
#define KSCALE_BENCH_WORKLOADS_PID_COMMON_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "workload.h"

static const char *const pidw_strategies[] = {
	"idr-relock", "idr-once", "bitmap-hash", "xarray", "pcpu-range", "pcpu-lockfree", NULL,
};

/* Register the calling thread with RCU if needed; true if we did. */
static inline bool pidw_rcu_enter(void)
{
	return ks_rcu_register_thread() == 0;
}

static inline void pidw_rcu_exit(bool registered)
{
	if (registered)
		ks_rcu_unregister_thread();
}

struct pidw_env {
	struct ks_pid_space *space;
	int depth;
	struct ks_pid_ns *ns[KS_PID_MAX_LEVEL + 1]; /* [0] root .. [depth] leaf */
	struct ks_pid *init[KS_PID_MAX_LEVEL + 1];  /* pid 1 of ns[i] */
};

static inline void pidw_env_destroy(struct pidw_env *e)
{
	bool reg;

	if (!e->space)
		return;
	reg = pidw_rcu_enter();
	ks_pid_space_destroy(e->space);
	pidw_rcu_exit(reg);
	e->space = NULL;
}

/*
 * pidw_env_create() - a space of @c's strategy, topology, lock_stat and
 * memory domain (@locks/@mem override them when not NULL), with @depth
 * namespaces below the root; @pid_max (0: default) applies to every level.
 */
static inline int pidw_env_create(const struct kb_cell *c, int depth, int pid_max,
				  struct ks_lockstat *locks, struct ks_mem *mem,
				  struct pidw_env *e)
{
	struct ks_pid_opts o = {
		.topo = c->topo,
		.locks = locks ? locks : c->locks,
		.mem = mem ? mem : c->mem,
	};
	bool reg;
	int ret;

	memset(e, 0, sizeof(*e));
	if (depth < 0 || depth > KS_PID_MAX_LEVEL)
		return -EINVAL;
	e->depth = depth;
	reg = pidw_rcu_enter();
	ret = ks_pid_space_create(c->strategy, &o, &e->space);
	if (ret)
		goto out;
	ret = ks_pid_ns_root(e->space, &e->ns[0]);
	for (int i = 0; !ret && i <= depth; i++) {
		if (i)
			ret = ks_pid_ns_create(e->ns[i - 1], &e->ns[i]);
		if (!ret && pid_max)
			ret = ks_pid_ns_set_pid_max(e->ns[i], pid_max);
		if (!ret)
			ret = ks_pid_alloc(e->ns[i], NULL, 0, 0, &e->init[i]);
	}
out:
	pidw_rcu_exit(reg);
	if (ret)
		pidw_env_destroy(e);
	return ret;
}

/* The per-thread state of every pid workload. */
struct pidw_thread {
	void *state;   /* the cell's */
	uint64_t rnd;  /* pidw_rand() state */
	bool registered;
};

static inline int pidw_thread_init(void *state, int thread, void **tstate)
{
	struct pidw_thread *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->state = state;
	t->rnd = 0x9E3779B97F4A7C15ull * (uint64_t)(thread + 1);
	t->registered = pidw_rcu_enter();
	*tstate = t;
	return 0;
}

static inline void pidw_thread_fini(void *tstate)
{
	struct pidw_thread *t = tstate;

	pidw_rcu_exit(t->registered);
	free(t);
}

/* xorshift64*: per-thread random numbers without a shared state. */
static inline uint64_t pidw_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

#endif /* KSCALE_BENCH_WORKLOADS_PID_COMMON_H */
