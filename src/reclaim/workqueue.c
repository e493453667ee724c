// SPDX-License-Identifier: MIT
/*
 * A reduced model of kernel/workqueue.c: a pool of worker threads taking
 * work items from one queue under the pool lock (worker_pool->lock), with
 * the PENDING bit semantics of queue_work() (queueing a pending item is a
 * no-op; the bit is cleared just before the function runs, so it may queue
 * itself again) and delayed work (queue_delayed_work(): the item becomes
 * runnable after its delay, as its timer would fire).
 *
 * system_wq is a pool with one worker per CPU; the kernel's pools are
 * concurrency-managed and start more workers when one sleeps, up to
 * max_active, which we model by a fixed pool large enough that a sleeping
 * fqdir_work_fn does not stop the others. netns_wq is ordered: one worker.
 * A work item never runs on two workers at once: one queued again while it
 * runs is taken aside and run again when that execution ends, as the kernel
 * hands it to the worker already executing it (find_worker_executing_work()).
 * This matters for "batched": its one free work is queued again as soon as
 * it starts, and must not run twice in parallel.
 */
#include "internal.h"

#include <kscale/topo.h>

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/*
 * One per worker. Under the pool lock: the item it executes and one item
 * queued again meanwhile, as the kernel's busy_hash. The item may be freed
 * by its own function, so nothing is kept in it.
 */
struct rworker {
	struct rwq *wq;
	pthread_t th;
	int cpu;
	struct rwork *current;
	struct rwork *deferred;
};

struct rwq {
	struct ks_spinlock lock; /* worker_pool->lock */
	struct rwork *head, *tail;
	struct rwork *delayed;   /* unsorted: a handful at most */
	unsigned int wake_seq;   /* futex the idle workers sleep on */
	int stop;
	int nr_threads, nr_cpus;
	long depth, running;
	uint64_t queued, executed, max_depth;
	struct ks_mem_type *type;
	int nr_workers;          /* allocated */
	struct rworker *workers;
};

/* find_worker_executing_work() */
static int executing(const struct rwq *wq, const struct rwork *w)
{
	for (int i = 0; i < wq->nr_threads; i++)
		if (wq->workers[i].current == w)
			return i;
	return -1;
}

static void wake(struct rwq *wq, int n)
{
	syscall(SYS_futex, &wq->wake_seq, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

static void enqueue_locked(struct rwq *wq, struct rwork *w, bool count)
{
	w->next = NULL;
	if (wq->tail)
		wq->tail->next = w;
	else
		wq->head = w;
	wq->tail = w;
	wq->depth++;
	if ((uint64_t)wq->depth > wq->max_depth)
		wq->max_depth = (uint64_t)wq->depth;
	wq->queued += count;
	__atomic_store_n(&wq->wake_seq, wq->wake_seq + 1, __ATOMIC_RELEASE);
}

/* Move expired delayed items to the queue; return ns to the next one. */
static uint64_t run_timers_locked(struct rwq *wq, uint64_t now)
{
	struct rwork **pp = &wq->delayed, *w;
	uint64_t next = UINT64_MAX;

	while ((w = *pp)) {
		if (w->due_ns <= now || wq->stop) {
			*pp = w->next;
			enqueue_locked(wq, w, true);
		} else {
			if (w->due_ns - now < next)
				next = w->due_ns - now;
			pp = &w->next;
		}
	}
	return next;
}

static void *worker_fn(void *arg)
{
	struct rworker *me = arg;
	struct rwq *wq = me->wq;
	int j;

	ks_cpu_set_current(me->cpu);
	ks_rcu_register_thread();
	ks_spin_lock(&wq->lock);
	for (;;) {
		uint64_t next = run_timers_locked(wq, ks_clock_ns());
		struct rwork *w = wq->head;

		if (w) {
			rwork_fn fn = w->fn; /* read under the lock it was set under */

			wq->head = w->next;
			if (!wq->head)
				wq->tail = NULL;
			wq->depth--;
			j = executing(wq, w);
			if (j >= 0) {
				/* Still PENDING; runs after the current execution. */
				wq->workers[j].deferred = w;
				continue;
			}
			me->current = w;
			wq->running++;
			/* Cleared before the function runs, as in process_one_work(). */
			__atomic_store_n(&w->pending, 0, __ATOMIC_RELEASE);
			ks_spin_unlock(&wq->lock);
			fn(w);
			ks_spin_lock(&wq->lock);
			me->current = NULL;
			wq->running--;
			wq->executed++;
			if (me->deferred) {
				enqueue_locked(wq, me->deferred, false);
				me->deferred = NULL;
				wake(wq, 1);
			}
			continue;
		}
		if (wq->stop && !wq->delayed)
			break;
		{
			unsigned int seq = wq->wake_seq;
			struct timespec ts, *tp = NULL;

			if (next != UINT64_MAX) {
				ts.tv_sec = (time_t)(next / 1000000000u);
				ts.tv_nsec = (long)(next % 1000000000u);
				tp = &ts;
			}
			ks_spin_unlock(&wq->lock);
			syscall(SYS_futex, &wq->wake_seq, FUTEX_WAIT_PRIVATE, seq, tp, NULL, 0);
			ks_spin_lock(&wq->lock);
		}
	}
	ks_spin_unlock(&wq->lock);
	ks_rcu_unregister_thread();
	return NULL;
}

int rwq_create(int nr_threads, int nr_cpus, struct ks_lock_class *cls, struct ks_mem_type *type,
	       struct rwq **out)
{
	struct rwq *wq;
	int i;

	if (!out || !type || nr_threads < 1 || nr_cpus < 1)
		return -EINVAL;
	wq = ks_mem_zalloc(type, sizeof(*wq));
	if (!wq)
		return -ENOMEM;
	ks_spin_init(&wq->lock, cls);
	wq->nr_cpus = nr_cpus;
	wq->type = type;
	wq->workers = ks_mem_zalloc(type, (size_t)nr_threads * sizeof(*wq->workers));
	if (!wq->workers) {
		ks_mem_free(type, wq, sizeof(*wq));
		return -ENOMEM;
	}
	wq->nr_workers = nr_threads;
	for (i = 0; i < nr_threads; i++) {
		struct rworker *wk = &wq->workers[i];

		wk->wq = wq;
		wk->cpu = i % nr_cpus;
		if (pthread_create(&wk->th, NULL, worker_fn, wk))
			break;
		wq->nr_threads++;
	}
	if (wq->nr_threads < nr_threads) {
		rwq_destroy(wq);
		return -ENOMEM;
	}
	*out = wq;
	return 0;
}

void rwq_destroy(struct rwq *wq)
{
	int i;

	if (!wq)
		return;
	ks_spin_lock(&wq->lock);
	wq->stop = 1;
	__atomic_store_n(&wq->wake_seq, wq->wake_seq + 1, __ATOMIC_RELEASE);
	ks_spin_unlock(&wq->lock);
	wake(wq, INT_MAX);
	for (i = 0; i < wq->nr_threads; i++)
		pthread_join(wq->workers[i].th, NULL);
	ks_spin_destroy(&wq->lock);
	ks_mem_free(wq->type, wq->workers, (size_t)wq->nr_workers * sizeof(*wq->workers));
	ks_mem_free(wq->type, wq, sizeof(*wq));
}

static bool queue(struct rwq *wq, struct rwork *w, rwork_fn fn, uint64_t delay_ns)
{
	int zero = 0;

	if (!__atomic_compare_exchange_n(&w->pending, &zero, 1, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_RELAXED))
		return false;
	ks_spin_lock(&wq->lock);
	w->fn = fn;
	if (delay_ns) {
		w->due_ns = ks_clock_ns() + delay_ns;
		w->next = wq->delayed;
		wq->delayed = w;
		/* Idle workers recompute their timeout. */
		__atomic_store_n(&wq->wake_seq, wq->wake_seq + 1, __ATOMIC_RELEASE);
	} else {
		enqueue_locked(wq, w, true);
	}
	ks_spin_unlock(&wq->lock);
	wake(wq, delay_ns ? INT_MAX : 1);
	return true;
}

bool rwq_queue(struct rwq *wq, struct rwork *w, rwork_fn fn)
{
	return queue(wq, w, fn, 0);
}

bool rwq_queue_delayed(struct rwq *wq, struct rwork *w, rwork_fn fn, uint64_t delay_ns)
{
	return queue(wq, w, fn, delay_ns);
}

void rwq_counts(const struct rwq *wq, uint64_t *queued, uint64_t *executed,
		uint64_t *max_depth)
{
	struct rwq *m = (struct rwq *)wq;

	ks_spin_lock(&m->lock);
	*queued = m->queued;
	*executed = m->executed;
	*max_depth = m->max_depth;
	ks_spin_unlock(&m->lock);
}

long rwq_busy(const struct rwq *wq)
{
	struct rwq *m = (struct rwq *)wq;
	long n;

	ks_spin_lock(&m->lock);
	n = m->depth + m->running;
	for (struct rwork *w = m->delayed; w; w = w->next)
		n++;
	ks_spin_unlock(&m->lock);
	return n;
}
