// SPDX-License-Identifier: MIT
/*
 * rcu: a thin layer over liburcu 0.13, so that the flavour is chosen here and
 * nowhere else (the compile definition KS_URCU_FLAVOR_<name>, set from the
 * CMake cache variable KS_URCU_FLAVOR).
 *
 * What the layer adds to liburcu:
 *  - Misuse is refused with an errno instead of hanging or silently doing
 *    nothing: a read-side section on an unregistered thread (-EPERM), a
 *    grace-period wait inside a read-side section (-EDEADLK: the grace
 *    period could never end), rcu_barrier() from a callback (-EDEADLK: in
 *    the kernel, rcu_barrier() from a callback waits for itself; liburcu
 *    0.13 prints an error and returns *without waiting* when it notices a
 *    read-side section, and does not notice callbacks at all).
 *  - struct ks_rcu_head hides liburcu's struct rcu_head, so no public header
 *    includes liburcu (the user's callback is kept beside it, and a
 *    trampoline marks the callback's thread as "in a callback").
 *  - Under ThreadSanitizer, happens-before annotations for the grace periods
 *    TSan cannot see (see "ThreadSanitizer" below).
 *
 * We call liburcu's exported functions rather than its inline _LGPL_SOURCE
 * fast paths: kscale is MIT, and inlining liburcu's LGPL read-side code into
 * our objects would put them under the LGPL. A read-side section therefore
 * costs two calls into liburcu plus a TLS update here.
 */
#define _GNU_SOURCE
#include <kscale/rcu.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#if defined(KS_URCU_FLAVOR_memb)
#include <urcu/urcu-memb.h>
#define KS_URCU_FLAVOR_NAME "memb"
#define URCU(fn) urcu_memb_##fn
#elif defined(KS_URCU_FLAVOR_mb)
#include <urcu/urcu-mb.h>
#define KS_URCU_FLAVOR_NAME "mb"
#define URCU(fn) urcu_mb_##fn
#elif defined(KS_URCU_FLAVOR_signal)
#include <urcu/urcu-signal.h>
#define KS_URCU_FLAVOR_NAME "signal"
#define URCU(fn) urcu_signal_##fn
#else
#error "define KS_URCU_FLAVOR_memb, KS_URCU_FLAVOR_mb or KS_URCU_FLAVOR_signal"
#endif

/*
 * ThreadSanitizer. liburcu is not instrumented, so TSan sees neither a grace
 * period nor the hand-off of a callback to a call_rcu worker, and would report
 * every reader's access to an object as racing with its later free. The
 * annotations below model RCU's guarantee as happens-before edges:
 *
 *  - Every outermost ks_rcu_read_unlock() releases on gp_sync before leaving
 *    the section; every ks_rcu_synchronize() acquires gp_sync after the grace
 *    period has ended. RCU guarantees that a section which began before the
 *    grace period ended before it finished, so its release was recorded
 *    before the acquire and all its accesses happen before whatever the
 *    updater does next (the free). The edge also covers sections that began
 *    during the grace period and ended before it did: an over-approximation,
 *    which can hide a race but never reports a false one.
 *  - ks_call_rcu() releases on the head after storing the callback; the
 *    trampoline acquires the head (the caller's updates, e.g. unlinking, are
 *    visible to the callback) and gp_sync (liburcu's worker waited for a
 *    grace period before calling it, so the same argument as above holds).
 *  - The trampoline releases on cb_sync after the user callback returns, and
 *    ks_rcu_barrier() acquires cb_sync (and gp_sync) after liburcu's barrier:
 *    everything a callback queued before the barrier did, the barrier's
 *    caller may rely on.
 *  - liburcu's rcu_barrier() callocs a completion and one work item per
 *    worker, and the workers free them: TSan sees the calloc (its
 *    interceptor) and the free, but not the uninstrumented hand-off between,
 *    and reports a race inside liburcu. The barrier call runs with the
 *    thread's memory accesses ignored, so those allocations are recorded
 *    without an owner and their free races with nothing.
 * The sync objects are the addresses of two constants: only their addresses
 * matter to TSan, so this adds no mutable state.
 */
#ifdef KS_TSAN
#include <sanitizer/tsan_interface.h>
/* Exported by the TSan runtime (it is how ANNOTATE_IGNORE_* work); no header. */
void __tsan_ignore_thread_begin(void);
void __tsan_ignore_thread_end(void);
#define tsan_acquire(addr) __tsan_acquire((void *)(addr))
#define tsan_release(addr) __tsan_release((void *)(addr))
#define tsan_ignore_begin() __tsan_ignore_thread_begin()
#define tsan_ignore_end() __tsan_ignore_thread_end()
#else
#define tsan_acquire(addr) ((void)(addr))
#define tsan_release(addr) ((void)(addr))
#define tsan_ignore_begin() ((void)0)
#define tsan_ignore_end() ((void)0)
#endif
static const char gp_sync;
static const char cb_sync;

/*
 * What ks_rcu_head holds: liburcu's head (a queue link and its function) and
 * the user's callback. may_alias: the storage is declared as
 * struct ks_rcu_head in the user's object and accessed as this.
 */
struct __attribute__((may_alias)) rcu_head_impl {
	struct rcu_head urcu;
	ks_rcu_callback_t fn;
};
_Static_assert(sizeof(struct rcu_head) <= 2 * sizeof(void *),
	       "liburcu's rcu_head must fit in two of ks_rcu_head's pointers");
_Static_assert(sizeof(struct rcu_head_impl) <= sizeof(struct ks_rcu_head),
	       "ks_rcu_head too small");
_Static_assert(_Alignof(struct rcu_head_impl) <= _Alignof(struct ks_rcu_head),
	       "ks_rcu_head under-aligned");

/* The calling thread's RCU state. */
struct rcu_self {
	bool registered; /* by ks_rcu_register_thread(), or a call_rcu worker */
	bool worker;     /* a liburcu call_rcu worker: registered by liburcu */
	int depth;       /* read-side nesting */
	int in_callback; /* running a ks_call_rcu() callback */
};
static __thread struct rcu_self self;

/*
 * A thread that exits while registered would leave liburcu's registry
 * pointing at its freed TLS, and the next grace period would read it; a
 * thread-specific key's destructor unregisters it instead. The key is created
 * once and never changes.
 */
static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;
static bool exit_key_ok;

static void rcu_thread_exit(void *arg)
{
	if (!self.registered || self.worker)
		return;
	if (self.depth > 0) {
		self.depth = 0;
		tsan_release(&gp_sync);
		URCU(read_unlock)();
	}
	URCU(unregister_thread)();
	self.registered = false;
}

static void exit_key_init(void)
{
	exit_key_ok = pthread_key_create(&exit_key, rcu_thread_exit) == 0;
}

int ks_rcu_register_thread(void)
{
	if (self.registered)
		return -EALREADY;
	pthread_once(&exit_key_once, exit_key_init);
	URCU(register_thread)();
	self.registered = true;
	self.depth = 0;
	/* Any non-NULL value makes the destructor run at thread exit. */
	if (exit_key_ok)
		pthread_setspecific(exit_key, &self);
	return 0;
}

int ks_rcu_unregister_thread(void)
{
	if (!self.registered)
		return -EINVAL;
	/* A call_rcu worker belongs to liburcu, which registered it. */
	if (self.depth > 0 || self.worker)
		return -EBUSY;
	URCU(unregister_thread)();
	self.registered = false;
	if (exit_key_ok)
		pthread_setspecific(exit_key, NULL);
	return 0;
}

bool ks_rcu_thread_registered(void)
{
	return self.registered;
}

/*
 * The one message the library prints: an unregistered reader is a bug that a
 * test may hit in a thread it did not expect, and -EPERM alone is easy to
 * ignore. Debug builds say it once per process on stderr; the flag is the only
 * state written here and only ever goes from 0 to 1.
 */
static void warn_unregistered(void)
{
#ifndef NDEBUG
	static int warned;

	if (!__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED))
		fputs("kscale: ks_rcu_read_lock() from a thread not registered with "
		      "ks_rcu_register_thread(): -EPERM\n", stderr);
#endif
}

int ks_rcu_read_lock(void)
{
	if (!self.registered) {
		warn_unregistered();
		return -EPERM;
	}
	/* liburcu nests too, but only the outermost level needs to tell it. */
	if (self.depth++ == 0)
		URCU(read_lock)();
	return 0;
}

int ks_rcu_read_unlock(void)
{
	if (self.depth <= 0)
		return -EINVAL;
	if (--self.depth == 0) {
		/* Before the unlock, so the grace period that waits for it sees it. */
		tsan_release(&gp_sync);
		URCU(read_unlock)();
	}
	return 0;
}

int ks_rcu_read_depth(void)
{
	return self.depth;
}

int ks_rcu_synchronize(void)
{
	if (!self.registered)
		return -EPERM;
	if (self.depth > 0)
		return -EDEADLK;
	URCU(synchronize_rcu)();
	tsan_acquire(&gp_sync);
	return 0;
}

/* Runs on a liburcu call_rcu worker after a grace period. */
static void rcu_trampoline(struct rcu_head *rh)
{
	struct rcu_head_impl *h = ks_container_of(rh, struct rcu_head_impl, urcu);
	ks_rcu_callback_t fn;

	tsan_acquire(h);
	tsan_acquire(&gp_sync);
	/*
	 * liburcu registered this worker itself (call_rcu_thread()), so
	 * callbacks may enter read-side sections and queue more callbacks.
	 */
	self.registered = true;
	self.worker = true;
	fn = h->fn;
	self.in_callback++;
	fn((struct ks_rcu_head *)h); /* may free h */
	self.in_callback--;
	tsan_release(&cb_sync);
}

int ks_call_rcu(struct ks_rcu_head *head, ks_rcu_callback_t fn)
{
	struct rcu_head_impl *h = (struct rcu_head_impl *)head;

	if (!head || !fn)
		return -EINVAL;
	if (!self.registered)
		return -EPERM;
	h->fn = fn;
	tsan_release(h);
	URCU(call_rcu)(&h->urcu, rcu_trampoline);
	return 0;
}

int ks_rcu_barrier(void)
{
	if (!self.registered)
		return -EPERM;
	/*
	 * From a callback, the barrier would wait for the worker running it
	 * to reach the barrier's own completion, queued behind this very
	 * callback: the kernel deadlocks there, liburcu would too.
	 */
	if (self.depth > 0 || self.in_callback)
		return -EDEADLK;
	tsan_ignore_begin();
	URCU(barrier)();
	tsan_ignore_end();
	tsan_acquire(&cb_sync);
	tsan_acquire(&gp_sync);
	return 0;
}

bool ks_rcu_in_callback(void)
{
	return self.in_callback > 0;
}

/*
 * Per-CPU callback queues. liburcu's create_all_cpu_call_rcu_data() would
 * pin each worker to its CPU and abort the process when the cpuset forbids
 * one; so the workers are created here unpinned and installed with
 * set_cpu_call_rcu_data(), and liburcu's call_rcu() then picks the queue of
 * sched_getcpu() (urcu-call-rcu-impl.h get_call_rcu_data()).
 */
static pthread_mutex_t queues_lock = PTHREAD_MUTEX_INITIALIZER;
static struct call_rcu_data **cpu_queues; /* [nr_cpu_queues], under queues_lock */
static int nr_cpu_queues;

static void free_cpu_queues(struct call_rcu_data **q, int n)
{
	for (int i = 0; i < n; i++) {
		pthread_t tid;

		if (!q[i])
			continue;
		tid = URCU(get_call_rcu_thread)(q[i]);
		/*
		 * Moves the leftovers to the default queue and waits for the
		 * worker to stop, but liburcu 0.13 never joins it: we do.
		 */
		URCU(call_rcu_data_free)(q[i]);
		pthread_join(tid, NULL);
	}
	free(q);
}

static int queues_on(void)
{
	long n = sysconf(_SC_NPROCESSORS_CONF);
	struct call_rcu_data **q;
	int i, ret = 0;

	if (n < 1)
		n = 1;
	q = calloc((size_t)n, sizeof(*q));
	if (!q)
		return -ENOMEM;
	for (i = 0; i < n && !ret; i++) {
		q[i] = URCU(create_call_rcu_data)(0, -1);
		if (!q[i])
			ret = -ENOMEM;
	}
	for (i = 0; i < n && !ret; i++)
		if (URCU(set_cpu_call_rcu_data)(i, q[i]))
			ret = -ENOMEM;
	if (ret) {
		/* undo: a caller may already have queued on an installed one */
		for (int j = 0; j < i; j++)
			URCU(set_cpu_call_rcu_data)(j, NULL);
		URCU(synchronize_rcu)();
		free_cpu_queues(q, (int)n);
		return ret;
	}
	cpu_queues = q;
	nr_cpu_queues = (int)n;
	return 0;
}

static void queues_off(void)
{
	for (int i = 0; i < nr_cpu_queues; i++)
		URCU(set_cpu_call_rcu_data)(i, NULL);
	/* call_rcu() looks its queue up inside a read-side section */
	URCU(synchronize_rcu)();
	free_cpu_queues(cpu_queues, nr_cpu_queues);
	cpu_queues = NULL;
	nr_cpu_queues = 0;
}

int ks_rcu_set_queues(enum ks_rcu_queues mode)
{
	int ret = 0;

	if (mode != KS_RCU_QUEUES_SHARED && mode != KS_RCU_QUEUES_PERCPU)
		return -EINVAL;
	if (self.depth > 0 || self.in_callback)
		return -EDEADLK;
	/*
	 * liburcu creates the shared queue's worker at the first call_rcu(),
	 * and a new thread inherits its creator's CPU affinity: created by a
	 * worker bound to CPU 1, it would run on CPU 1 only, competing with
	 * that worker while other CPUs idle. Create it here, from the caller
	 * (documented: an unbound thread), in either mode.
	 */
	URCU(get_default_call_rcu_data)();
	pthread_mutex_lock(&queues_lock);
	if (mode == KS_RCU_QUEUES_PERCPU && !cpu_queues)
		ret = queues_on();
	else if (mode == KS_RCU_QUEUES_SHARED && cpu_queues)
		queues_off();
	pthread_mutex_unlock(&queues_lock);
	return ret;
}

enum ks_rcu_queues ks_rcu_queues(int *nr_queues)
{
	enum ks_rcu_queues mode;

	pthread_mutex_lock(&queues_lock);
	mode = cpu_queues ? KS_RCU_QUEUES_PERCPU : KS_RCU_QUEUES_SHARED;
	if (nr_queues)
		*nr_queues = cpu_queues ? nr_cpu_queues : 1;
	pthread_mutex_unlock(&queues_lock);
	return mode;
}

const char *ks_rcu_flavor(void)
{
	return KS_URCU_FLAVOR_NAME;
}
