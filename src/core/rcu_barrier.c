// SPDX-License-Identifier: MIT
/*
 * rcu_barrier models on liburcu, and per-CPU call_rcu workers.
 *
 * "kernel" models rcu_barrier() in kernel/rcu/tree.c (Linux 5.10 and
 * mainline alike): rcu_seq_snap(&barrier_sequence), mutex_lock(&barrier_mutex),
 * early return when rcu_seq_done(), else rcu_seq_start(), entrain a callback
 * on every CPU and wait for them, rcu_seq_end(). Our "entrain and wait" is
 * liburcu 0.13's rcu_barrier() (src/urcu-call-rcu-impl.h), which queues a
 * completion on every call_rcu worker and waits for all of them.
 *
 * "waitq" is the wait-queue variant SeongJae Park proposed in the seed
 * thread ("[PATCH v3 0/1] net: Reduce rcu_barrier() contentions from
 * 'unshare(CLONE_NEWNET)'", Dec 2020): beyond the kernel.
 *
 * This file and core/rcu.c are the only ones that talk to liburcu.
 */
#if defined(KS_URCU_FLAVOR_mb)
#define RCU_MB
#elif defined(KS_URCU_FLAVOR_signal)
#define RCU_SIGNAL
#else
#define RCU_MEMBARRIER
#endif
#include <urcu.h>

#include <kscale/rcu_barrier.h>
#include <kscale/lock.h>
#include <kscale/mem.h>
#include <kscale/percpu.h>
#include <kscale/topo.h>

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum barrier_impl { IMPL_NATIVE, IMPL_KERNEL, IMPL_WAITQ };

static const struct ks_strategy_info impls[] = {
	[IMPL_NATIVE] = { "native",
			  "liburcu 0.13 rcu_barrier(): a completion on every call_rcu worker, no mutex, no sequence",
			  "urcu/userspace-rcu v0.13.2 src/urcu-call-rcu-impl.h rcu_barrier()" },
	[IMPL_KERNEL] = { "kernel",
			  "one barrier mutex and a barrier sequence; early return when a full barrier started after the snapshot",
			  "kernel/rcu/tree.c rcu_barrier(), Linux 5.10" },
	[IMPL_WAITQ] = { "waitq",
			 "barrier sequence without the mutex queue: wait for it to pass the snapshot, one runner at a time",
			 "SeongJae Park, [PATCH v3 0/1] net: Reduce rcu_barrier() contentions, Dec 2020 (beyond the kernel)" },
};

/* rcu_seq from kernel/rcu/rcu.h: two low state bits, counter above. */
#define SEQ_STATE_MASK 3u

/* Callbacks queued, per CPU: the call_rcu path touches no shared line. */
struct barrier_pcpu {
	uint64_t callbacks;
};

struct ks_rcu_barrier {
	enum barrier_impl impl;
	struct ks_mem_type *type; /* NULL: malloc */
	unsigned int gp_delay_us;
	int nr_cpus;
	int nr_workers;
	struct call_rcu_data **workers;
	pthread_t *tids;
	struct ks_percpu *pcpu;

	struct ks_mutex barrier_mutex; /* "kernel": rcu_state.barrier_mutex */
	/*
	 * rcu_state.barrier_sequence. 32 bits so that "waitq" can sleep on it
	 * with a futex; compared with wrap-around arithmetic as ULONG_CMP_GE.
	 */
	unsigned int seq ks_cacheline_aligned;
	int inside; /* callers in ks_rcu_barrier_wait() now */

	/* Counters: a barrier is milliseconds long, atomics are cheap here. */
	uint64_t calls, executed, early, waiters, max_waiting;
	uint64_t wait_ns, wait_max_ns, mutex_wait_ns, grace_periods, errors;
};

const struct ks_strategy_info *ks_rcu_barrier_impls(size_t *n)
{
	if (n)
		*n = KS_ARRAY_SIZE(impls);
	return impls;
}

static void counter_max(uint64_t *p, uint64_t v)
{
	uint64_t old = __atomic_load_n(p, __ATOMIC_RELAXED);

	while (old < v &&
	       !__atomic_compare_exchange_n(p, &old, v, false, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED))
		;
}

static void counter_add(uint64_t *p, uint64_t v)
{
	__atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}

static void sleep_us(unsigned int us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* The checks every entry point that may block makes before blocking. */
static int may_block(struct ks_rcu_barrier *b)
{
	int ret = 0;

	if (!ks_rcu_thread_registered())
		ret = -EPERM;
	else if (ks_rcu_in_callback() || ks_rcu_read_depth() > 0)
		ret = -EDEADLK;
	if (ret && b)
		counter_add(&b->errors, 1);
	return ret;
}

/* Memory of the instance: through ks_mem when the options gave a domain. */
static void *inst_zalloc(struct ks_mem_type *type, size_t size)
{
	void *p;

	if (!type) {
		/* The instance has cache-line aligned fields. */
		p = aligned_alloc(KS_CACHELINE, (size + KS_CACHELINE - 1) & ~(size_t)(KS_CACHELINE - 1));
	} else {
		p = ks_mem_alloc_aligned(type, size, KS_CACHELINE);
	}
	if (p)
		memset(p, 0, size);
	return p;
}

static void inst_free(struct ks_mem_type *type, void *p, size_t size)
{
	if (!p)
		return;
	if (type)
		ks_mem_free(type, p, size);
	else
		free(p);
}

/* Stop the workers created so far and free the instance. */
static void free_instance(struct ks_rcu_barrier *b)
{
	for (int i = 0; b->workers && i < b->nr_workers && b->workers[i]; i++) {
		/*
		 * call_rcu_data_free() stops the thread and waits for it to
		 * say so, but liburcu 0.13 never joins it: we do, so that no
		 * thread outlives its instance.
		 */
		call_rcu_data_free(b->workers[i]);
		pthread_join(b->tids[i], NULL);
	}
	ks_percpu_free(b->pcpu);
	inst_free(b->type, b->workers, (size_t)b->nr_workers * sizeof(*b->workers));
	inst_free(b->type, b->tids, (size_t)b->nr_workers * sizeof(*b->tids));
	ks_mutex_destroy(&b->barrier_mutex);
	inst_free(b->type, b, sizeof(*b));
}

int ks_rcu_barrier_create(const char *impl, const struct ks_rcu_barrier_opts *opts,
			  struct ks_rcu_barrier **out)
{
	static const struct ks_rcu_barrier_opts defaults;
	struct ks_lock_class *cls = NULL;
	struct ks_mem_type *type = NULL;
	const struct ks_topo *t;
	struct ks_rcu_barrier *b;
	unsigned int cap;
	int i, ret;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!opts)
		opts = &defaults;
	if (!impl)
		impl = "kernel";
	for (i = 0; i < (int)KS_ARRAY_SIZE(impls); i++)
		if (!strcmp(impl, impls[i].name))
			break;
	if (i == (int)KS_ARRAY_SIZE(impls))
		return -EINVAL;
	t = opts->topo ? opts->topo : ks_topo_default();
	if (!t)
		return -EINVAL;
	if (opts->locks) {
		ret = ks_lock_class_get(opts->locks, "rcu_barrier_mutex", KS_LOCK_GLOBAL, &cls);
		if (ret)
			return ret;
	}

	if (opts->mem) {
		ret = ks_mem_type_get(opts->mem, "rcu_barrier", sizeof(*b), &type);
		if (ret)
			return ret;
	}
	b = inst_zalloc(type, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->type = type;
	b->impl = (enum barrier_impl)i;
	b->gp_delay_us = opts->gp_delay_us;
	b->nr_cpus = ks_topo_nr_cpus(t);
	cap = opts->max_workers ? opts->max_workers : KS_RCU_BARRIER_MAX_WORKERS;
	b->nr_workers = b->nr_cpus < (int)cap ? b->nr_cpus : (int)cap;
	ks_mutex_init(&b->barrier_mutex, cls);
	b->workers = inst_zalloc(type, (size_t)b->nr_workers * sizeof(*b->workers));
	b->tids = inst_zalloc(type, (size_t)b->nr_workers * sizeof(*b->tids));
	ret = ks_percpu_alloc(t, sizeof(struct barrier_pcpu), &b->pcpu);
	if (!b->workers || !b->tids || ret)
		goto fail;
	/*
	 * One worker per CPU like create_all_cpu_call_rcu_data(), but our CPUs
	 * are the topology's, not the machine's: the workers are unbound
	 * (cpu_affinity -1), since a synthetic CPU has nothing to bind to.
	 */
	for (i = 0; i < b->nr_workers; i++) {
		b->workers[i] = create_call_rcu_data(0, -1);
		if (!b->workers[i])
			goto fail;
		b->tids[i] = get_call_rcu_thread(b->workers[i]);
	}
	*out = b;
	return 0;
fail:
	free_instance(b);
	return -ENOMEM;
}

int ks_rcu_barrier_destroy(struct ks_rcu_barrier *b)
{
	int ret;

	if (!b)
		return 0;
	if (__atomic_load_n(&b->inside, __ATOMIC_ACQUIRE))
		return -EBUSY;
	/* Every callback queued on our workers runs before they stop. */
	ret = may_block(b);
	if (ret)
		return ret;
	ret = ks_rcu_barrier();
	if (ret)
		return ret;
	free_instance(b);
	return 0;
}

int ks_rcu_barrier_call_rcu(struct ks_rcu_barrier *b, struct ks_rcu_head *head,
			    ks_rcu_callback_t fn)
{
	struct call_rcu_data *prev;
	struct barrier_pcpu *pc;
	int cpu, ret;

	if (!b || !head || !fn)
		return -EINVAL;
	cpu = ks_percpu_this_cpu(b->pcpu);
	/*
	 * liburcu's call_rcu() queues on the calling thread's call_rcu_data
	 * when one is set: point it at this CPU's worker for the call and
	 * put back what was there (a worker's own data, when a callback calls
	 * us), so ks_call_rcu() keeps doing the registration checks and the
	 * sanitizer annotations.
	 */
	prev = get_thread_call_rcu_data();
	set_thread_call_rcu_data(b->workers[cpu % b->nr_workers]);
	ret = ks_call_rcu(head, fn);
	set_thread_call_rcu_data(prev);
	if (ret == 0) {
		pc = ks_percpu_ptr(b->pcpu, cpu);
		__atomic_fetch_add(&pc->callbacks, 1, __ATOMIC_RELAXED);
	}
	return ret;
}

/* One full barrier: what the kernel does between rcu_seq_start and _end. */
static int run_barrier(struct ks_rcu_barrier *b)
{
	int ret = ks_rcu_barrier();

	if (ret)
		return ret;
	if (b->gp_delay_us)
		sleep_us(b->gp_delay_us);
	counter_add(&b->executed, 1);
	counter_add(&b->grace_periods, 1);
	return 0;
}

static unsigned int seq_snap(const unsigned int *sp)
{
	return (__atomic_load_n(sp, __ATOMIC_ACQUIRE) + 2 * SEQ_STATE_MASK + 1) & ~SEQ_STATE_MASK;
}

static bool seq_done_val(unsigned int cur, unsigned int s)
{
	return (int)(cur - s) >= 0;
}

static unsigned int seq_endval(unsigned int cur)
{
	return (cur | SEQ_STATE_MASK) + 1;
}

static int barrier_native(struct ks_rcu_barrier *b)
{
	unsigned int cur;
	int ret;

	ret = run_barrier(b);
	if (ret)
		return ret;
	/* No sequence in liburcu: count executions in the same encoding. */
	cur = __atomic_load_n(&b->seq, __ATOMIC_RELAXED);
	while (!__atomic_compare_exchange_n(&b->seq, &cur, cur + 4, false, __ATOMIC_RELEASE,
					    __ATOMIC_RELAXED))
		;
	return 0;
}

static int barrier_kernel(struct ks_rcu_barrier *b)
{
	unsigned int s = seq_snap(&b->seq);
	uint64_t t0 = ks_clock_ns();
	int ret;

	if (ks_mutex_trylock(&b->barrier_mutex) != 1) {
		counter_add(&b->waiters, 1);
		ks_mutex_lock(&b->barrier_mutex);
	}
	counter_add(&b->mutex_wait_ns, ks_clock_ns() - t0);
	/* Someone ran a full barrier after our snapshot: it covered us. */
	if (seq_done_val(__atomic_load_n(&b->seq, __ATOMIC_ACQUIRE), s)) {
		counter_add(&b->early, 1);
		ks_mutex_unlock(&b->barrier_mutex);
		return 0;
	}
	__atomic_store_n(&b->seq, b->seq + 1, __ATOMIC_RELEASE); /* rcu_seq_start */
	ret = run_barrier(b);
	__atomic_store_n(&b->seq, seq_endval(b->seq), __ATOMIC_RELEASE); /* rcu_seq_end */
	ks_mutex_unlock(&b->barrier_mutex);
	return ret;
}

static void seq_wait(unsigned int *sp, unsigned int val)
{
	syscall(SYS_futex, sp, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void seq_wake_all(unsigned int *sp)
{
	syscall(SYS_futex, sp, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static int barrier_waitq(struct ks_rcu_barrier *b)
{
	unsigned int s = seq_snap(&b->seq);
	bool waited = false;
	int ret;

	for (;;) {
		unsigned int cur = __atomic_load_n(&b->seq, __ATOMIC_ACQUIRE);

		if (seq_done_val(cur, s)) {
			counter_add(&b->early, 1);
			return 0;
		}
		/*
		 * Idle: become the one caller running the next barrier by
		 * moving the sequence to "in progress" (rcu_seq_start done
		 * with a compare-and-swap instead of under the mutex).
		 */
		if (!(cur & SEQ_STATE_MASK)) {
			if (!__atomic_compare_exchange_n(&b->seq, &cur, cur + 1, false,
							 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
				continue;
			ret = run_barrier(b);
			__atomic_store_n(&b->seq, seq_endval(cur + 1), __ATOMIC_RELEASE);
			seq_wake_all(&b->seq);
			return ret;
		}
		/* A barrier is running: sleep until the sequence moves. */
		if (!waited) {
			waited = true;
			counter_add(&b->waiters, 1);
		}
		seq_wait(&b->seq, cur);
	}
}

int ks_rcu_barrier_wait(struct ks_rcu_barrier *b)
{
	uint64_t t0, dt;
	int ret, in;

	if (!b)
		return -EINVAL;
	ret = may_block(b);
	if (ret)
		return ret;
	in = __atomic_add_fetch(&b->inside, 1, __ATOMIC_ACQ_REL);
	counter_max(&b->max_waiting, (uint64_t)in);
	t0 = ks_clock_ns();
	switch (b->impl) {
	case IMPL_NATIVE:
		ret = barrier_native(b);
		break;
	case IMPL_KERNEL:
		ret = barrier_kernel(b);
		break;
	default:
		ret = barrier_waitq(b);
		break;
	}
	dt = ks_clock_ns() - t0;
	if (ret == 0) {
		counter_add(&b->calls, 1);
		counter_add(&b->wait_ns, dt);
		counter_max(&b->wait_max_ns, dt);
	} else {
		counter_add(&b->errors, 1);
	}
	__atomic_sub_fetch(&b->inside, 1, __ATOMIC_RELEASE);
	return ret;
}

int ks_rcu_barrier_synchronize(struct ks_rcu_barrier *b)
{
	int ret;

	if (!b)
		return -EINVAL;
	ret = may_block(b);
	if (ret)
		return ret;
	ret = ks_rcu_synchronize();
	if (ret) {
		counter_add(&b->errors, 1);
		return ret;
	}
	if (b->gp_delay_us)
		sleep_us(b->gp_delay_us);
	counter_add(&b->grace_periods, 1);
	return 0;
}

int ks_rcu_barrier_stats(const struct ks_rcu_barrier *b, struct ks_rcu_barrier_stats *out)
{
	int cpu;

	if (!b || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->calls = __atomic_load_n(&b->calls, __ATOMIC_RELAXED);
	out->executed = __atomic_load_n(&b->executed, __ATOMIC_RELAXED);
	out->early = __atomic_load_n(&b->early, __ATOMIC_RELAXED);
	out->waiters = __atomic_load_n(&b->waiters, __ATOMIC_RELAXED);
	out->max_waiting = __atomic_load_n(&b->max_waiting, __ATOMIC_RELAXED);
	out->wait_ns = __atomic_load_n(&b->wait_ns, __ATOMIC_RELAXED);
	out->wait_max_ns = __atomic_load_n(&b->wait_max_ns, __ATOMIC_RELAXED);
	out->mutex_wait_ns = __atomic_load_n(&b->mutex_wait_ns, __ATOMIC_RELAXED);
	out->grace_periods = __atomic_load_n(&b->grace_periods, __ATOMIC_RELAXED);
	out->errors = __atomic_load_n(&b->errors, __ATOMIC_RELAXED);
	for (cpu = 0; cpu < b->nr_cpus; cpu++) {
		const struct barrier_pcpu *pc = ks_percpu_ptr(b->pcpu, cpu);

		out->callbacks += __atomic_load_n(&pc->callbacks, __ATOMIC_RELAXED);
	}
	out->workers = b->nr_workers;
	return 0;
}

unsigned int ks_rcu_barrier_sequence(const struct ks_rcu_barrier *b)
{
	return b ? __atomic_load_n(&b->seq, __ATOMIC_ACQUIRE) : 0;
}

const char *ks_rcu_barrier_impl_name(const struct ks_rcu_barrier *b)
{
	return b ? impls[b->impl].name : NULL;
}
