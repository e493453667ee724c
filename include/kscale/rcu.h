/* SPDX-License-Identifier: MIT */
/*
 * rcu: a thin layer over liburcu, so that the flavour (the CMake cache
 * variable KS_URCU_FLAVOR, default memb) is chosen in one file.
 *
 * Every thread that enters a read-side section or calls synchronize must be
 * registered. A struct ks_rcu_head is embedded in objects freed after a grace
 * period, as the kernel's struct rcu_head is.
 *
 * Under ThreadSanitizer (which cannot see liburcu's uninstrumented grace
 * periods) the layer adds happens-before annotations from every read-side
 * unlock to the end of every later grace period, and from call_rcu() to its
 * callback, so TSan checks the users of RCU rather than reporting liburcu.
 */
#ifndef KSCALE_RCU_H
#define KSCALE_RCU_H

#include <kscale/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Embed in an object to free it with ks_call_rcu(). Private contents. */
struct ks_rcu_head {
	void *priv[3];
};

typedef void (*ks_rcu_callback_t)(struct ks_rcu_head *head);

/**
 * ks_rcu_register_thread() - make the calling thread an RCU reader.
 * Return: 0; -EALREADY when it is registered already.
 */
int ks_rcu_register_thread(void);

/**
 * ks_rcu_unregister_thread() - Return: 0; -EINVAL when not registered;
 * -EBUSY inside a read-side section.
 */
int ks_rcu_unregister_thread(void);

/** ks_rcu_thread_registered() - whether the calling thread is registered. */
bool ks_rcu_thread_registered(void);

/**
 * ks_rcu_read_lock() - enter a read-side section (nestable).
 * ks_rcu_read_unlock() - leave it.
 * Context: a registered thread. Return: 0; -EPERM for an unregistered thread
 * (debug builds also print the misuse once); unlock returns -EINVAL when not
 * in a section.
 */
int ks_rcu_read_lock(void);
int ks_rcu_read_unlock(void);

/** ks_rcu_read_depth() - nesting depth of the calling thread's section. */
int ks_rcu_read_depth(void);

/**
 * ks_rcu_synchronize() - wait for a grace period.
 * Context: a registered thread outside any read-side section; sleeps.
 * Return: 0; -EDEADLK inside a read-side section (it would never end);
 * -EPERM for an unregistered thread.
 */
int ks_rcu_synchronize(void);

/**
 * ks_call_rcu() - run @fn(@head) after a grace period, on a call_rcu worker.
 * Context: any registered thread, read-side sections included.
 * Return: 0; -EINVAL for NULL arguments; -EPERM for an unregistered thread.
 */
int ks_call_rcu(struct ks_rcu_head *head, ks_rcu_callback_t fn);

/**
 * ks_rcu_barrier() - wait until every callback queued by ks_call_rcu() before
 * this call has run (liburcu's rcu_barrier()).
 * Context: a registered thread; not inside a read-side section and not from
 * a callback (both would deadlock in the kernel).
 * Return: 0; -EDEADLK inside a read-side section or a callback; -EPERM for
 * an unregistered thread.
 */
int ks_rcu_barrier(void);

/** ks_rcu_in_callback() - true while the calling thread runs an RCU callback. */
bool ks_rcu_in_callback(void);

/** ks_rcu_flavor() - "memb", "mb" or "signal". */
const char *ks_rcu_flavor(void);

/**
 * enum ks_rcu_queues - where ks_call_rcu() queues its callbacks.
 * @KS_RCU_QUEUES_SHARED: liburcu's default: one queue and one worker thread
 *                        for the whole process; every ks_call_rcu() writes
 *                        the queue's shared tail.
 * @KS_RCU_QUEUES_PERCPU: one queue and one worker per CPU the OS reports
 *                        (sysconf(_SC_NPROCESSORS_CONF)), chosen by the
 *                        CPU the caller runs on (sched_getcpu()), as the
 *                        kernel queues call_rcu() on the calling CPU's
 *                        rcu_data (kernel/rcu/tree.c __call_rcu_common()).
 *                        Workers are not pinned (a restricted cpuset must
 *                        not kill the process). Real CPUs, not ks_topo's:
 *                        with a synthetic topology the OS's CPUs count.
 */
enum ks_rcu_queues {
	KS_RCU_QUEUES_SHARED = 0,
	KS_RCU_QUEUES_PERCPU = 1,
};

/**
 * ks_rcu_set_queues() - switch every later ks_call_rcu() of the process to
 * @mode. Callbacks already queued still run (leaving per-CPU mode moves
 * them to the shared queue); ks_rcu_barrier() waits for every queue. A
 * thread-specific queue (rcu_barrier.h's per-CPU worker model) still takes
 * precedence for its threads.
 * Every worker, the shared one included (liburcu would otherwise create it
 * at the first ks_call_rcu(), from whatever thread that is), is created
 * here if missing and inherits the calling thread's CPU affinity: call this
 * from a thread not bound to one CPU (a benchmark's main thread before it
 * binds its workers), or the workers run where that thread may.
 * Context: any thread outside a read-side section and outside a callback;
 * process-wide; serialised internally; may sleep (a grace period when
 * leaving per-CPU mode).
 * Return: 0 (also when already in @mode); -EINVAL for an unknown @mode;
 * -EDEADLK inside a read-side section or a callback; -ENOMEM when a worker
 * could not be created (the mode is then unchanged).
 */
int ks_rcu_set_queues(enum ks_rcu_queues mode);

/** ks_rcu_queues() - the current mode, and in *@nr_queues (may be NULL)
 * the number of queues (1 when shared). */
enum ks_rcu_queues ks_rcu_queues(int *nr_queues);

/**
 * ks_rcu_dereference() / ks_rcu_assign_pointer() - load a pointer under RCU
 * (dependency-ordered) / publish one (release), as in the kernel.
 */
#define ks_rcu_dereference(p) __atomic_load_n(&(p), __ATOMIC_CONSUME)
#define ks_rcu_assign_pointer(p, v) __atomic_store_n(&(p), (v), __ATOMIC_RELEASE)

#ifdef __cplusplus
}
#endif

#endif /* KSCALE_RCU_H */
