/* SPDX-License-Identifier: MIT */
/*
 * rcu_barrier: models of rcu_barrier() on top of liburcu, and per-CPU
 * call_rcu workers that follow a topology.
 *
 * A struct ks_rcu_barrier is an instance (no global state): it owns one
 * liburcu call_rcu worker per CPU of its topology (capped, see
 * @max_workers), a barrier implementation chosen by name, and counters.
 *
 *  - "native": liburcu 0.13's rcu_barrier(). No global mutex, no sequence:
 *    every caller queues a completion on every call_rcu worker (its own and
 *    everyone else's) and waits for all of them. Its floor is one worker poll
 *    (10 ms), even when idle.
 *  - "kernel": Linux's rcu_barrier() (kernel/rcu/tree.c) on top of native:
 *    snapshot the barrier sequence, take the one barrier mutex
 *    ("rcu_barrier_mutex", the kernel's rcu_state.barrier_mutex), return at
 *    once if a full barrier started and ended after the snapshot, else run
 *    one (sequence start, native barrier, sequence end) holding the mutex.
 *  - "waitq": SeongJae Park's suggestion in the seed thread (Dec 2020, beyond
 *    the kernel): the same sequence, but callers wait for it to pass their
 *    snapshot on a wait queue instead of queueing on the mutex; one caller at
 *    a time runs the barrier. A caller whose barrier has already happened is
 *    never held behind a newer one.
 *
 * The cost of a grace period is a knob (@gp_delay_us): each barrier executed
 * and each ks_rcu_barrier_synchronize() sleeps that long after liburcu's own
 * wait, modelling a machine whose grace periods are that much slower (the
 * kernel's rcu_barrier() waits for at least one grace period on every CPU
 * with callbacks). Callers of "kernel" hold the mutex through the sleep.
 */
#ifndef KSCALE_RCU_BARRIER_H
#define KSCALE_RCU_BARRIER_H

#include <kscale/types.h>
#include <kscale/rcu.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ks_topo;
struct ks_lockstat;
struct ks_rcu_barrier; /* opaque */

/** Default cap on call_rcu workers per instance (threads on the real box). */
#define KS_RCU_BARRIER_MAX_WORKERS 64

/**
 * struct ks_rcu_barrier_opts - zero-initialisable options.
 * @topo:        CPUs: one call_rcu worker each (NULL: ks_topo_default()).
 * @locks:       lock_stat registry for "rcu_barrier_mutex" (NULL: uncounted).
 * @gp_delay_us: extra cost of a grace period, slept in every barrier
 *               executed and every ks_rcu_barrier_synchronize(); 0 = none.
 * @max_workers: cap on call_rcu workers (0: KS_RCU_BARRIER_MAX_WORKERS);
 *               CPU i uses worker i % workers.
 * @mem:         accounting domain for the instance (type "rcu_barrier");
 *               NULL: plain malloc, unaccounted.
 */
struct ks_rcu_barrier_opts {
	const struct ks_topo *topo;
	struct ks_lockstat *locks;
	unsigned int gp_delay_us;
	unsigned int max_workers;
	struct ks_mem *mem;
};

/**
 * struct ks_rcu_barrier_stats - counts since creation. Times in ns.
 * @calls:          barrier calls that returned 0.
 * @executed:       full barriers run (native: == @calls).
 * @early:          callers served by a barrier someone else ran (kernel:
 *                  found the sequence done after taking the mutex; waitq:
 *                  woken with their snapshot passed).
 * @waiters:        callers that had to wait for another caller (mutex
 *                  contended, or slept on the wait queue).
 * @max_waiting:    most callers inside the barrier at once.
 * @wait_ns:        total time callers spent in the barrier, start to return.
 * @wait_max_ns:    longest single call.
 * @mutex_wait_ns:  of @wait_ns, time spent acquiring the barrier mutex.
 * @grace_periods:  grace periods waited for: one per ks_rcu_barrier_synchronize()
 *                  and one per barrier executed (liburcu's workers run one
 *                  synchronize_rcu() per batch, which the completion joins).
 * @callbacks:      callbacks queued through ks_rcu_barrier_call_rcu().
 * @errors:         calls refused (-EDEADLK, -EPERM).
 * @workers:        call_rcu worker threads of this instance.
 */
struct ks_rcu_barrier_stats {
	uint64_t calls;
	uint64_t executed;
	uint64_t early;
	uint64_t waiters;
	uint64_t max_waiting;
	uint64_t wait_ns;
	uint64_t wait_max_ns;
	uint64_t mutex_wait_ns;
	uint64_t grace_periods;
	uint64_t callbacks;
	uint64_t errors;
	int workers;
};

/**
 * ks_rcu_barrier_impls() - the implementations ("native", "kernel",
 * "waitq"), each with a one-line summary and its source.
 * @n: receives the count (may be NULL).
 * Context: any. Return: a static array.
 */
const struct ks_strategy_info *ks_rcu_barrier_impls(size_t *n);

/**
 * ks_rcu_barrier_create() - create a barrier model and its call_rcu workers.
 * @impl: "native", "kernel" or "waitq" (NULL: "kernel").
 * @opts: options (NULL: all defaults).
 * @out:  receives the instance.
 * Context: any thread; starts threads; may sleep.
 * Return: 0; -EINVAL for NULL @out, an unknown @impl or no topology;
 * -ENOMEM (also when liburcu cannot create a worker); -ENOSPC when @mem
 * has no room for another type.
 */
int ks_rcu_barrier_create(const char *impl, const struct ks_rcu_barrier_opts *opts,
			  struct ks_rcu_barrier **out);

/**
 * ks_rcu_barrier_destroy() - wait for every callback queued on the
 * instance's workers, stop and join them, free the instance.
 * @b: instance (NULL ignored).
 * Context: a registered RCU thread outside any read-side section and not
 * from a callback; no barrier call on @b may be in progress.
 * Return: 0; -EBUSY when a barrier call is in progress (nothing freed);
 * -EDEADLK / -EPERM as ks_rcu_barrier_wait() (nothing freed).
 */
int ks_rcu_barrier_destroy(struct ks_rcu_barrier *b);

/**
 * ks_rcu_barrier_call_rcu() - ks_call_rcu() on the worker of the calling
 * thread's CPU (ks_cpu_current()), so callbacks spread over the topology's
 * workers as the kernel's per-CPU callback lists do.
 * @b: instance. @head: embedded head. @fn: callback.
 * Context: a registered RCU thread; read-side sections and callbacks included.
 * Return: 0; -EINVAL for NULL arguments; -EPERM for an unregistered thread.
 */
int ks_rcu_barrier_call_rcu(struct ks_rcu_barrier *b, struct ks_rcu_head *head,
			    ks_rcu_callback_t fn);

/**
 * ks_rcu_barrier_wait() - wait until every callback queued (by any thread, on
 * any worker) before this call has run, with the instance's implementation.
 * @b: instance.
 * Context: a registered RCU thread; sleeps.
 * Return: 0; -EINVAL for NULL @b; -EDEADLK inside a read-side section or
 * from an RCU callback (a deadlock in the kernel; liburcu would print and
 * return without waiting); -EPERM for an unregistered thread.
 */
int ks_rcu_barrier_wait(struct ks_rcu_barrier *b);

/**
 * ks_rcu_barrier_synchronize() - ks_rcu_synchronize() plus @gp_delay_us,
 * counted as a grace period of this instance.
 * @b: instance.
 * Context: a registered RCU thread outside read-side sections; sleeps.
 * Return: 0; -EINVAL for NULL @b; -EDEADLK inside a read-side section or a
 * callback; -EPERM for an unregistered thread.
 */
int ks_rcu_barrier_synchronize(struct ks_rcu_barrier *b);

/**
 * ks_rcu_barrier_stats() - snapshot the counters.
 * @b: instance. @out: receives them.
 * Context: any. Return: 0; -EINVAL for NULL arguments.
 */
int ks_rcu_barrier_stats(const struct ks_rcu_barrier *b, struct ks_rcu_barrier_stats *out);

/**
 * ks_rcu_barrier_sequence() - the barrier sequence (kernel/waitq; native
 * counts barriers executed in the same encoding). Low two bits: a barrier
 * is in progress when non-zero, as rcu_seq in kernel/rcu/rcu.h.
 * @b: instance.
 * Context: any. Return: the value, or 0 for NULL @b.
 */
unsigned int ks_rcu_barrier_sequence(const struct ks_rcu_barrier *b);

/**
 * ks_rcu_barrier_impl_name() - the implementation's name.
 * @b: instance.
 * Context: any. Return: "native", "kernel" or "waitq"; NULL for NULL @b.
 */
const char *ks_rcu_barrier_impl_name(const struct ks_rcu_barrier *b);

#ifdef __cplusplus
}
#endif

#endif /* KSCALE_RCU_BARRIER_H */
