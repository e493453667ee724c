// SPDX-License-Identifier: MIT
/*
 * lock: spinlocks, mutexes and rwsems with lock_stat-style counters per class.
 *
 * The statistics model the kernel's lock_stat (kernel/locking/lockdep.c
 * __lock_contended(), __lock_acquired(), lock_release_holdtime(); see
 * Documentation/locking/lockstat.rst, Linux 6.18): a lock is first tried; only
 * when that fails is a contention counted and the clock read, as the kernel's
 * LOCK_CONTENDED() macro (include/linux/lockdep.h) does, and as jemalloc's
 * malloc_mutex_lock() / malloc_mutex_lock_slow() (src/mutex.c) do for its
 * mutex_prof counters. A bounce is an acquisition on another CPU than the
 * previous one (the kernel's acq-bounces, jemalloc's n_owner_switches); the
 * last CPU lives in the lock itself and is written under it.
 *
 * Counters are per CPU, as the kernel's cpu_lock_stats are, but per CPU of the
 * registry's topology (a label, on synthetic topologies), and a registry
 * belongs to one measurement. Where we differ from the kernel: contention
 * bounces (con-bounces) are not kept, and the hold time of an rwsem's readers
 * is not measured (see ks_rwsem_read_lock()).
 */
#define _GNU_SOURCE /* pthread_rwlockattr_setkind_np() */
#include <kscale/lock.h>
#include <kscale/percpu.h>
#include <kscale/topo.h>
#include "core/lock_internal.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef KS_LOCKSTAT_ENABLED
#define KS_LOCKSTAT_ENABLED 1
#endif

/*
 * jemalloc's config_stats pattern: a constant instead of #ifdef, so the
 * uncounted build still compiles every counting line and the optimiser drops
 * them. With it false, a lock is its bare fast path.
 */
/* The rwsem's opaque storage holds a pthread_rwlock_t (see lock.h). */
_Static_assert(sizeof(pthread_rwlock_t) <= sizeof(((struct ks_rwsem *)0)->rw),
	       "ks_rwsem storage too small for pthread_rwlock_t");
_Static_assert(_Alignof(pthread_rwlock_t) <= _Alignof(long long),
	       "ks_rwsem storage under-aligned for pthread_rwlock_t");
static inline pthread_rwlock_t *rwl(struct ks_rwsem *l)
{
	return (pthread_rwlock_t *)(void *)&l->rw;
}

static const bool config_lockstat = KS_LOCKSTAT_ENABLED;

#define KS_LOCK_CLASSES_MAX 64

/* One CPU's counters for one class; ks_percpu gives each its own line. */
struct ks_lockstat_cpu {
	uint64_t acquisitions;
	uint64_t contentions;
	uint64_t bounces;
	uint64_t wait_ns;
	uint64_t wait_max_ns;
	uint64_t hold_ns;
	uint64_t hold_max_ns;
};

struct ks_lock_class {
	struct ks_percpu *pcpu; /* struct ks_lockstat_cpu per CPU */
	int nr_cpus;
	enum ks_lock_scope scope;
	char name[KS_LOCK_CLASS_NAME_MAX];
};

struct ks_lockstat {
	const struct ks_topo *topo;
	/* Serialises class creation only; never taken by a lock operation. */
	pthread_mutex_t mu;
	/*
	 * Classes are appended, never moved or removed, and published by a
	 * release store of nr_classes: readers need no mutex.
	 */
	size_t nr_classes;
	struct ks_lock_class classes[KS_LOCK_CLASSES_MAX];
};

static const char *const scope_names[] = {
	[KS_LOCK_GLOBAL] = "global",
	[KS_LOCK_PERCPU] = "percpu",
	[KS_LOCK_OBJECT] = "object",
};

const char *ks_lock_scope_name(enum ks_lock_scope scope)
{
	if ((unsigned int)scope >= KS_ARRAY_SIZE(scope_names))
		return NULL;
	return scope_names[scope];
}

bool ks_lockstat_enabled(void)
{
	return config_lockstat;
}

uint64_t ks_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * The lock_stat clock. Hold time needs two clock reads per acquisition even
 * when uncontended; clock_gettime() costs ~37 ns on this project's VMs while
 * the TSC costs ~16 ns, and every strategy pays it per lock trip, so a cheap
 * clock keeps lock-heavy baselines from being penalised by the measurement
 * itself. Ticks are converted to ns with a factor calibrated once against
 * CLOCK_MONOTONIC (constant_tsc is assumed; a negative delta is clamped).
 */
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
static double tick_ns = 1.0;
static pthread_once_t tick_once = PTHREAD_ONCE_INIT;

static void tick_calibrate(void)
{
	uint64_t t0 = ks_clock_ns(), c0 = __rdtsc(), t1, c1;

	do {
		t1 = ks_clock_ns();
	} while (t1 - t0 < 2000000); /* 2 ms */
	c1 = __rdtsc();
	if (c1 > c0)
		tick_ns = (double)(t1 - t0) / (double)(c1 - c0);
}

static inline uint64_t lock_clock(void)
{
	return __rdtsc();
}

static inline uint64_t ticks_to_ns(uint64_t from, uint64_t to)
{
	return to > from ? (uint64_t)((double)(to - from) * tick_ns) : 0;
}
#else
static pthread_once_t tick_once = PTHREAD_ONCE_INIT;

static void tick_calibrate(void)
{
}

static inline uint64_t lock_clock(void)
{
	return ks_clock_ns();
}

static inline uint64_t ticks_to_ns(uint64_t from, uint64_t to)
{
	return to > from ? to - from : 0;
}
#endif

/* ---- registry ----------------------------------------------------------- */

int ks_lockstat_create(const struct ks_topo *t, struct ks_lockstat **out)
{
	struct ks_lockstat *ls;
	int ret;

	if (!out)
		return -EINVAL;
	*out = NULL;
	pthread_once(&tick_once, tick_calibrate);
	if (!t)
		t = ks_topo_default();
	/* hwloc could not even describe this machine: it ran out of memory. */
	if (!t)
		return -ENOMEM;
	/* Registry bookkeeping, not a measured object: plain calloc. */
	ls = calloc(1, sizeof(*ls));
	if (!ls)
		return -ENOMEM;
	ret = pthread_mutex_init(&ls->mu, NULL);
	if (ret) {
		free(ls);
		return -ret;
	}
	ls->topo = t;
	*out = ls;
	return 0;
}

void ks_lockstat_destroy(struct ks_lockstat *ls)
{
	if (!ls)
		return;
	for (size_t i = 0; i < ls->nr_classes; i++)
		ks_percpu_free(ls->classes[i].pcpu);
	pthread_mutex_destroy(&ls->mu);
	free(ls);
}

static size_t published_classes(const struct ks_lockstat *ls)
{
	/* Acquire: pairs with the release in ks_lock_class_get(), so a class's
	 * name, scope and counters are seen initialised. */
	return __atomic_load_n(&ls->nr_classes, __ATOMIC_ACQUIRE);
}

int ks_lock_class_get(struct ks_lockstat *ls, const char *name,
		      enum ks_lock_scope scope, struct ks_lock_class **out)
{
	struct ks_lock_class *c;
	size_t len, n;
	int ret = 0;

	if (!ls || !name || !out || !ks_lock_scope_name(scope))
		return -EINVAL;
	*out = NULL;
	len = strnlen(name, KS_LOCK_CLASS_NAME_MAX);
	if (len == 0 || len >= KS_LOCK_CLASS_NAME_MAX)
		return -EINVAL;

	pthread_mutex_lock(&ls->mu);
	n = ls->nr_classes; /* only written under ls->mu */
	for (size_t i = 0; i < n; i++) {
		c = &ls->classes[i];
		if (strcmp(c->name, name))
			continue;
		if (c->scope != scope)
			ret = -EINVAL;
		else
			*out = c;
		goto unlock;
	}
	if (n == KS_LOCK_CLASSES_MAX) {
		ret = -ENOSPC;
		goto unlock;
	}
	c = &ls->classes[n];
	ret = ks_percpu_alloc(ls->topo, sizeof(struct ks_lockstat_cpu), &c->pcpu);
	if (ret)
		goto unlock;
	c->nr_cpus = ks_percpu_nr(c->pcpu);
	c->scope = scope;
	memcpy(c->name, name, len + 1);
	/* Release: publishes the initialised class to lockless readers. */
	__atomic_store_n(&ls->nr_classes, n + 1, __ATOMIC_RELEASE);
	*out = c;
unlock:
	pthread_mutex_unlock(&ls->mu);
	return ret;
}

static uint64_t stat_load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* Sum CPUs @lo..@hi-1 of @c into @st (max of the maxima). */
static void class_sum(const struct ks_lock_class *c, int lo, int hi,
		      struct ks_lock_class_stats *st)
{
	memset(st, 0, sizeof(*st));
	memcpy(st->name, c->name, sizeof(st->name));
	st->scope = c->scope;
	/*
	 * Relaxed: a snapshot taken while locks run is a sum of values each
	 * CPU had at some point, as /proc/lock_stat is.
	 */
	for (int cpu = lo; cpu < hi; cpu++) {
		const struct ks_lockstat_cpu *s = ks_percpu_ptr(c->pcpu, cpu);
		uint64_t v;

		st->acquisitions += stat_load(&s->acquisitions);
		st->contentions += stat_load(&s->contentions);
		st->bounces += stat_load(&s->bounces);
		st->wait_ns += stat_load(&s->wait_ns);
		st->hold_ns += stat_load(&s->hold_ns);
		v = stat_load(&s->wait_max_ns);
		if (v > st->wait_max_ns)
			st->wait_max_ns = v;
		v = stat_load(&s->hold_max_ns);
		if (v > st->hold_max_ns)
			st->hold_max_ns = v;
	}
}

int ks_lockstat_read(const struct ks_lockstat *ls,
		     struct ks_lock_class_stats *out, size_t max, size_t *n)
{
	size_t nr;

	if (!ls || !n || (!out && max))
		return -EINVAL;
	nr = published_classes(ls);
	for (size_t i = 0; i < nr && i < max; i++)
		class_sum(&ls->classes[i], 0, ls->classes[i].nr_cpus, &out[i]);
	*n = nr;
	return 0;
}

int ks_lock_class_read_cpu(const struct ks_lock_class *cls, int cpu,
			   struct ks_lock_class_stats *out)
{
	if (!cls || !out || cpu < 0 || cpu >= cls->nr_cpus)
		return -EINVAL;
	class_sum(cls, cpu, cpu + 1, out);
	return 0;
}

int ks_lockstat_reset(struct ks_lockstat *ls)
{
	size_t nr;

	if (!ls)
		return -EINVAL;
	nr = published_classes(ls);
	for (size_t i = 0; i < nr; i++) {
		const struct ks_lock_class *c = &ls->classes[i];

		for (int cpu = 0; cpu < c->nr_cpus; cpu++) {
			uint64_t *s = ks_percpu_ptr(c->pcpu, cpu);

			/* Relaxed: counting threads may race; each word is exact. */
			for (size_t k = 0; k < sizeof(struct ks_lockstat_cpu) / sizeof(*s); k++)
				__atomic_store_n(&s[k], 0, __ATOMIC_RELAXED);
		}
	}
	return 0;
}

/* ---- counting (only reached when config_lockstat && cls) ---------------- */

static struct ks_lockstat_cpu *stat_slot(const struct ks_lock_class *c, int cpu)
{
	/* What ks_percpu_this() would pick; the CPU is already at hand. */
	return ks_percpu_ptr(c->pcpu, cpu % c->nr_cpus);
}

/*
 * Relaxed read-modify-write: several unlabelled threads may share a slot,
 * but no ordering with the lock is needed, and the line stays on this CPU.
 */
static void stat_add(uint64_t *p, uint64_t v)
{
	__atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}

static void stat_max(uint64_t *p, uint64_t v)
{
	uint64_t cur = __atomic_load_n(p, __ATOMIC_RELAXED);

	/* Relaxed: a maximum needs atomicity, not ordering. */
	while (v > cur && !__atomic_compare_exchange_n(p, &cur, v, true,
						       __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

/* The fast path failed: count a contention and start the wait clock. */
static uint64_t stat_contended(const struct ks_lock_class *c, int cpu)
{
	/* Clock first, so the wait covers the moment the count is visible. */
	uint64_t t0 = lock_clock();

	stat_add(&stat_slot(c, cpu)->contentions, 1);
	return t0;
}

/*
 * Called with the lock held. @wait_t0 is stat_contended()'s clock, or 0 for an
 * uncontended acquisition; @acquired_ns, if not NULL, receives the start of
 * the hold time (the only case the clock is read without contention).
 */
static void stat_acquired(const struct ks_lock_class *c, int cpu, bool bounced,
			  uint64_t wait_t0, uint64_t *acquired_ns)
{
	struct ks_lockstat_cpu *s = stat_slot(c, cpu);
	uint64_t now = 0;

	if (wait_t0 || acquired_ns)
		now = lock_clock();
	stat_add(&s->acquisitions, 1);
	if (bounced)
		stat_add(&s->bounces, 1);
	if (wait_t0) {
		uint64_t w = ticks_to_ns(wait_t0, now);

		stat_add(&s->wait_ns, w);
		stat_max(&s->wait_max_ns, w);
	}
	if (acquired_ns)
		*acquired_ns = now;
}

/* Called with the lock still held, just before it is released. */
static void stat_released(const struct ks_lock_class *c, uint64_t acquired_ns)
{
	struct ks_lockstat_cpu *s = stat_slot(c, ks_cpu_current());
	uint64_t hold = ticks_to_ns(acquired_ns, lock_clock());

	stat_add(&s->hold_ns, hold);
	stat_max(&s->hold_max_ns, hold);
}

/* For exclusive locks: last_cpu is only touched by the holder. */
static bool bounce_exclusive(int *last_cpu, int cpu)
{
	int prev = *last_cpu;

	if (prev == cpu)
		return false;
	*last_cpu = cpu;
	return prev >= 0; /* -1: first acquisition, nothing moved */
}

/*
 * For an rwsem: readers hold it together, so last_cpu is an atomic. The
 * exchange orders the updates, so each change of CPU is counted once; the
 * plain load skips the locked instruction when nothing moved.
 */
static bool bounce_shared(int *last_cpu, int cpu)
{
	int prev;

	/* Relaxed: last_cpu is a statistic; the rwlock orders the data. */
	if (__atomic_load_n(last_cpu, __ATOMIC_RELAXED) == cpu)
		return false;
	prev = __atomic_exchange_n(last_cpu, cpu, __ATOMIC_RELAXED);
	return prev != cpu && prev >= 0;
}

/* ---- spinlock ----------------------------------------------------------- */

/*
 * Spinning policy. A poll that finds the lock held waits `backoff` PAUSEs,
 * doubling up to KS_SPIN_BACKOFF_MAX so that waiters stop hammering the line
 * the holder needs (Anderson's exponential backoff, as ck_backoff_eb()).
 * After KS_SPIN_YIELD_POLLS polls (some 2,300 PAUSEs, tens of microseconds:
 * far longer than any critical section we protect) the holder is most likely
 * preempted, which userspace cannot prevent the way spin_lock() disables
 * preemption, so the waiter yields its CPU to it instead of burning the slice.
 */
#define KS_SPIN_BACKOFF_MAX 256u
#define KS_SPIN_YIELD_POLLS 16u

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	/* No portable pause: at least keep the compiler re-reading the lock. */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
#endif
}

static bool spin_try(struct ks_spinlock *l)
{
	/* Acquire: pairs with the release in ks_spin_unlock(), so the
	 * previous holder's critical section happens before ours. */
	return !__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE);
}

static void spin_slow(struct ks_spinlock *l)
{
	unsigned int backoff = 1, polls = 0;

	for (;;) {
		/* Relaxed: only a hint; the exchange below decides. Reading
		 * keeps the line shared until the holder's release. */
		while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED)) {
			for (unsigned int i = 0; i < backoff; i++)
				cpu_relax();
			if (backoff < KS_SPIN_BACKOFF_MAX)
				backoff <<= 1;
			if (++polls == KS_SPIN_YIELD_POLLS) {
				polls = 0;
				sched_yield();
			}
		}
		if (spin_try(l))
			return;
	}
}

int ks_spin_init(struct ks_spinlock *l, struct ks_lock_class *cls)
{
	if (!l)
		return -EINVAL;
	memset(l, 0, sizeof(*l));
	l->last_cpu = -1;
	l->cls = cls;
	return 0;
}

int ks_spin_lock(struct ks_spinlock *l)
{
	uint64_t t0 = 0;
	int cpu;

	if (!l)
		return -EINVAL;
	if (!(config_lockstat && l->cls)) {
		if (!spin_try(l))
			spin_slow(l);
		return 0;
	}
	cpu = ks_cpu_current();
	if (!spin_try(l)) {
		t0 = stat_contended(l->cls, cpu);
		spin_slow(l);
	}
	stat_acquired(l->cls, cpu, bounce_exclusive(&l->last_cpu, cpu), t0,
		      &l->acquired_ns);
	return 0;
}

int ks_spin_trylock(struct ks_spinlock *l)
{
	int cpu;

	if (!l)
		return -EINVAL;
	/* Relaxed: a held lock is not written to (queued_spin_trylock()). */
	if (__atomic_load_n(&l->locked, __ATOMIC_RELAXED) || !spin_try(l))
		return 0;
	if (config_lockstat && l->cls) {
		cpu = ks_cpu_current();
		stat_acquired(l->cls, cpu, bounce_exclusive(&l->last_cpu, cpu), 0,
			      &l->acquired_ns);
	}
	return 1;
}

int ks_spin_unlock(struct ks_spinlock *l)
{
	/* Relaxed: only a misuse check; a holder's own acquire set it. */
	if (!l || !__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
		return -EINVAL;
	if (config_lockstat && l->cls)
		stat_released(l->cls, l->acquired_ns);
	/* Release: our critical section happens before the next holder's. */
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
	return 0;
}

int ks_spin_destroy(struct ks_spinlock *l)
{
	if (!l)
		return -EINVAL;
	/* Acquire: pairs with the last unlock's release, so the caller may
	 * free the lock without racing with that store. */
	if (__atomic_load_n(&l->locked, __ATOMIC_ACQUIRE))
		return -EBUSY;
	return 0;
}

/* ---- mutex and rwsem: pthread locks, counted the same way --------------- */

/*
 * The three ways of taking a pthread lock. Every helper below switches on a
 * constant op, so each public function inlines to its own pthread calls.
 */
enum pt_op { PT_MUTEX, PT_READ, PT_WRITE };

/* All have acquire semantics on success, and release for unlock (POSIX). */
static int pt_try(void *lk, enum pt_op op)
{
	switch (op) {
	case PT_MUTEX:
		return pthread_mutex_trylock(lk);
	case PT_READ:
		return pthread_rwlock_tryrdlock(lk);
	default:
		return pthread_rwlock_trywrlock(lk);
	}
}

static int pt_wait(void *lk, enum pt_op op)
{
	switch (op) {
	case PT_MUTEX:
		return pthread_mutex_lock(lk);
	case PT_READ:
		return pthread_rwlock_rdlock(lk);
	default:
		return pthread_rwlock_wrlock(lk);
	}
}

static int pt_unlock(void *lk, enum pt_op op)
{
	return op == PT_MUTEX ? pthread_mutex_unlock(lk) : pthread_rwlock_unlock(lk);
}

/* A mutex has one holder; an rwsem may have several readers at once. */
static bool pt_bounce(enum pt_op op, int *last_cpu, int cpu)
{
	return op == PT_MUTEX ? bounce_exclusive(last_cpu, cpu) : bounce_shared(last_cpu, cpu);
}

/* @acquired_ns is NULL for readers: their hold time is not measured. */
static int pt_lock(void *lk, enum pt_op op, struct ks_lock_class *cls,
		   int *last_cpu, uint64_t *acquired_ns)
{
	uint64_t t0 = 0;
	int cpu, ret;

	if (!(config_lockstat && cls))
		return -pt_wait(lk, op); /* acquire */
	cpu = ks_cpu_current();
	/* Try first: only a failed try counts a contention and reads the
	 * clock, as LOCK_CONTENDED() does. */
	ret = pt_try(lk, op); /* acquire on success */
	if (ret == EBUSY) {
		t0 = stat_contended(cls, cpu);
		ret = pt_wait(lk, op); /* acquire */
	}
	if (ret)
		return -ret;
	stat_acquired(cls, cpu, pt_bounce(op, last_cpu, cpu), t0, acquired_ns);
	return 0;
}

static int pt_trylock(void *lk, enum pt_op op, struct ks_lock_class *cls,
		      int *last_cpu, uint64_t *acquired_ns)
{
	int cpu, ret;

	ret = pt_try(lk, op); /* acquire on success */
	if (ret == EBUSY)
		return 0; /* a failed try is neither a contention nor counted */
	if (ret)
		return -ret;
	if (config_lockstat && cls) {
		cpu = ks_cpu_current();
		stat_acquired(cls, cpu, pt_bounce(op, last_cpu, cpu), 0, acquired_ns);
	}
	return 1;
}

static int pt_release(void *lk, enum pt_op op, struct ks_lock_class *cls,
		      uint64_t acquired_ns)
{
	if (config_lockstat && cls && op != PT_READ)
		stat_released(cls, acquired_ns);
	return -pt_unlock(lk, op); /* release */
}

/* Held by anyone, the caller included, an exclusive try fails. */
static int pt_busy(void *lk, enum pt_op op)
{
	int ret = pt_try(lk, op);

	if (ret)
		return ret == EBUSY ? -EBUSY : -ret;
	pt_unlock(lk, op);
	return 0;
}

int ks_mutex_init(struct ks_mutex *l, struct ks_lock_class *cls)
{
	if (!l)
		return -EINVAL;
	memset(l, 0, sizeof(*l));
	l->last_cpu = -1;
	l->cls = cls;
	return -pthread_mutex_init(&l->m, NULL);
}

int ks_mutex_lock(struct ks_mutex *l)
{
	if (!l)
		return -EINVAL;
	return pt_lock(&l->m, PT_MUTEX, l->cls, &l->last_cpu, &l->acquired_ns);
}

int ks_mutex_trylock(struct ks_mutex *l)
{
	if (!l)
		return -EINVAL;
	return pt_trylock(&l->m, PT_MUTEX, l->cls, &l->last_cpu, &l->acquired_ns);
}

int ks_mutex_unlock(struct ks_mutex *l)
{
	if (!l)
		return -EINVAL;
	return pt_release(&l->m, PT_MUTEX, l->cls, l->acquired_ns);
}

int ks_mutex_destroy(struct ks_mutex *l)
{
	int ret;

	if (!l)
		return -EINVAL;
	ret = pt_busy(&l->m, PT_MUTEX);
	return ret ? ret : -pthread_mutex_destroy(&l->m);
}

/* ---- rwsem -------------------------------------------------------------- */

int ks_rwsem_init(struct ks_rwsem *l, struct ks_lock_class *cls)
{
	pthread_rwlockattr_t attr;
	int ret;

	if (!l)
		return -EINVAL;
	memset(l, 0, sizeof(*l));
	l->last_cpu = -1;
	l->cls = cls;
	ret = pthread_rwlockattr_init(&attr);
	if (ret)
		return -ret;
	/*
	 * A waiting writer holds back new readers, as a waiting writer on the
	 * kernel's rw_semaphore does (kernel/locking/rwsem.c: readers queue
	 * behind waiters); glibc's default would let readers starve writers.
	 * Like the kernel's rwsem, a reader must not re-take it recursively.
	 */
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	ret = pthread_rwlock_init(rwl(l), &attr);
	pthread_rwlockattr_destroy(&attr);
	return -ret;
}

/*
 * Readers share the lock, so a reader's hold time has no single start to
 * keep in the lock: only acquisitions, contentions, wait time and bounces
 * are counted for readers (the kernel keeps read-holdtime per held_lock,
 * which lives in the task; we have no per-task lock stack).
 */
int ks_rwsem_read_lock(struct ks_rwsem *l)
{
	if (!l)
		return -EINVAL;
	return pt_lock(rwl(l), PT_READ, l->cls, &l->last_cpu, NULL);
}

int ks_rwsem_read_trylock(struct ks_rwsem *l)
{
	if (!l)
		return -EINVAL;
	return pt_trylock(rwl(l), PT_READ, l->cls, &l->last_cpu, NULL);
}

int ks_rwsem_read_unlock(struct ks_rwsem *l)
{
	if (!l)
		return -EINVAL;
	return pt_release(rwl(l), PT_READ, l->cls, 0);
}

int ks_rwsem_write_lock(struct ks_rwsem *l)
{
	if (!l)
		return -EINVAL;
	return pt_lock(rwl(l), PT_WRITE, l->cls, &l->last_cpu, &l->acquired_ns);
}

int ks_rwsem_write_trylock(struct ks_rwsem *l)
{
	if (!l)
		return -EINVAL;
	return pt_trylock(rwl(l), PT_WRITE, l->cls, &l->last_cpu, &l->acquired_ns);
}

int ks_rwsem_write_unlock(struct ks_rwsem *l)
{
	if (!l)
		return -EINVAL;
	return pt_release(rwl(l), PT_WRITE, l->cls, l->acquired_ns);
}

int ks_rwsem_destroy(struct ks_rwsem *l)
{
	int ret;

	if (!l)
		return -EINVAL;
	/* Readers or a writer: a write try fails. */
	ret = pt_busy(rwl(l), PT_WRITE);
	return ret ? ret : -pthread_rwlock_destroy(rwl(l));
}
