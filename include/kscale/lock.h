/* SPDX-License-Identifier: MIT */
/*
 * lock: spinlocks, mutexes and reader/writer locks with lock_stat-style
 * statistics per lock class, as the kernel's lockdep/lock_stat keeps them.
 *
 * A lock class ("pidmap_lock", "s_inode_list_lock") belongs to a struct
 * ks_lockstat registry. A registry is created per measurement (the harness
 * gives one to every subsystem it creates, through the subsystem's options),
 * so two runs in one process never see each other's counts.
 *
 * Per class and per CPU, the registry counts: acquisitions, contentions (the
 * lock was held when we tried), wait time (only read on the contended path),
 * hold time, and bounces: the lock was acquired on a different CPU than the
 * previous acquisition, i.e. its cache line moved. The last CPU is kept inside
 * the lock and updated under it, and counters are per-CPU, so counting creates
 * no shared cache line of its own. The scope says what the lock protects:
 * KS_LOCK_GLOBAL (one for the whole subsystem, like pidmap_lock),
 * KS_LOCK_PERCPU (one per CPU), KS_LOCK_OBJECT (one per object, like a
 * dentry's d_lock).
 *
 * Counting is compiled in with the CMake option KS_LOCKSTAT (default ON) and
 * costs nothing when off; a lock initialised with a NULL class is never
 * counted.
 */
#ifndef KSCALE_LOCK_H
#define KSCALE_LOCK_H

#include <kscale/types.h>
#include <pthread.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ks_topo;
struct ks_lockstat;   /* opaque registry of lock classes */
struct ks_lock_class; /* opaque, owned by its registry */

enum ks_lock_scope {
	KS_LOCK_GLOBAL = 0,
	KS_LOCK_PERCPU = 1,
	KS_LOCK_OBJECT = 2,
};

/** ks_lock_scope_name() - "global", "percpu", "object", or NULL if invalid. */
const char *ks_lock_scope_name(enum ks_lock_scope scope);

#define KS_LOCK_CLASS_NAME_MAX 48

/**
 * struct ks_lock_class_stats - one class's counts, summed over CPUs.
 * Times are in nanoseconds.
 */
struct ks_lock_class_stats {
	char name[KS_LOCK_CLASS_NAME_MAX];
	enum ks_lock_scope scope;
	uint64_t acquisitions;
	uint64_t contentions;
	uint64_t bounces;
	uint64_t wait_ns;
	uint64_t wait_max_ns;
	uint64_t hold_ns;
	uint64_t hold_max_ns;
};

/**
 * ks_lockstat_create() - a registry of lock classes with per-CPU counters.
 * @t:   topology giving the counter slots (NULL: ks_topo_default()).
 * @out: receives the registry.
 *
 * Return: 0; -EINVAL for NULL @out; -ENOMEM.
 */
int ks_lockstat_create(const struct ks_topo *t, struct ks_lockstat **out);

/**
 * ks_lockstat_destroy() - free the registry and its classes. Every lock of
 * its classes must be dead (ks_*_destroy() or never used again). NULL ignored.
 */
void ks_lockstat_destroy(struct ks_lockstat *ls);

/**
 * ks_lock_class_get() - find or create the class @name in @ls.
 * @ls: registry. @name: 1..47 characters. @scope: what one lock protects.
 * @out: receives the class (owned by @ls).
 *
 * Context: any thread (takes the registry's internal mutex; not for hot paths).
 * Return: 0; -EINVAL for NULL arguments, an empty or too long name, a bad
 * scope, or an existing class of that name with another scope; -ENOSPC when
 * the registry holds 64 classes; -ENOMEM.
 */
int ks_lock_class_get(struct ks_lockstat *ls, const char *name,
		      enum ks_lock_scope scope, struct ks_lock_class **out);

/**
 * ks_lockstat_read() - snapshot every class (sums over CPUs).
 * @out: array of @max entries; @n receives the number of classes (which may
 * exceed @max: then only @max are written).
 * Return: 0, or -EINVAL for NULL @ls or @n, or NULL @out with @max > 0.
 */
int ks_lockstat_read(const struct ks_lockstat *ls,
		     struct ks_lock_class_stats *out, size_t max, size_t *n);

/** ks_lockstat_reset() - zero every counter. Return: 0 or -EINVAL. */
int ks_lockstat_reset(struct ks_lockstat *ls);

/** ks_lockstat_enabled() - whether counting was compiled in. */
bool ks_lockstat_enabled(void);

/* ---- locks ------------------------------------------------------------
 * The structures are public so that locks can be embedded in objects; their
 * fields are private. Every function returns 0, or -EINVAL for a NULL lock (a
 * NULL class at init is allowed and means "uncounted"). Unlocking a spinlock
 * nobody holds returns -EINVAL and leaves it intact. The mutex and rwsem
 * functions also pass pthread's errors through as negative errno (-EDEADLK
 * when the calling thread already holds a mutex, -EPERM when it unlocks one it
 * does not hold, -EAGAIN when an rwsem has too many readers).
 *
 * lock_stat's clock is the TSC on x86 (calibrated once against
 * CLOCK_MONOTONIC), about 16 ns a read on this project's VMs; a counted
 * acquisition reads it twice (hold time). Compare strategies within one build;
 * for absolute ops/s, build with -DKS_LOCKSTAT=OFF.
 */

/** A test-and-test-and-set spinlock that yields after a bounded spin. */
struct ks_spinlock {
	/* private: */
	int locked;
	int last_cpu;
	struct ks_lock_class *cls;
	uint64_t acquired_ns;
};

int ks_spin_init(struct ks_spinlock *l, struct ks_lock_class *cls);
int ks_spin_lock(struct ks_spinlock *l);
/** ks_spin_trylock() - Return: 1 when taken, 0 when busy, -EINVAL for NULL. */
int ks_spin_trylock(struct ks_spinlock *l);
int ks_spin_unlock(struct ks_spinlock *l);
/** ks_spin_destroy() - Return: 0, -EBUSY if held, -EINVAL for NULL. */
int ks_spin_destroy(struct ks_spinlock *l);

/** A sleeping mutex (pthread_mutex_t). */
struct ks_mutex {
	/* private: */
	pthread_mutex_t m;
	int last_cpu;
	struct ks_lock_class *cls;
	uint64_t acquired_ns;
};

int ks_mutex_init(struct ks_mutex *l, struct ks_lock_class *cls);
int ks_mutex_lock(struct ks_mutex *l);
/** ks_mutex_trylock() - Return: 1 when taken, 0 when busy, -EINVAL for NULL. */
int ks_mutex_trylock(struct ks_mutex *l);
int ks_mutex_unlock(struct ks_mutex *l);
/** ks_mutex_destroy() - Return: 0, -EBUSY if held, -EINVAL for NULL. */
int ks_mutex_destroy(struct ks_mutex *l);

/**
 * A reader/writer semaphore (pthread_rwlock_t), for mmap_lock-like locks.
 * Readers and writers are counted as acquisitions of the same class; hold
 * time is counted for writers only.
 */
struct ks_rwsem {
	/* private: a pthread_rwlock_t, kept opaque so that this header compiles
	 * under strict -std=c11, where glibc does not declare the type. */
	union {
		unsigned char bytes[64];
		long long align;
	} rw;
	int last_cpu;
	struct ks_lock_class *cls;
	uint64_t acquired_ns;
};

int ks_rwsem_init(struct ks_rwsem *l, struct ks_lock_class *cls);
int ks_rwsem_read_lock(struct ks_rwsem *l);
/** Return: 1 when taken, 0 when busy, -EINVAL for NULL. */
int ks_rwsem_read_trylock(struct ks_rwsem *l);
int ks_rwsem_read_unlock(struct ks_rwsem *l);
int ks_rwsem_write_lock(struct ks_rwsem *l);
/** Return: 1 when taken, 0 when busy, -EINVAL for NULL. */
int ks_rwsem_write_trylock(struct ks_rwsem *l);
int ks_rwsem_write_unlock(struct ks_rwsem *l);
/** ks_rwsem_destroy() - Return: 0, -EBUSY if held, -EINVAL for NULL. */
int ks_rwsem_destroy(struct ks_rwsem *l);

/** ks_clock_ns() - CLOCK_MONOTONIC in nanoseconds (vDSO; ~20 ns). */
uint64_t ks_clock_ns(void);

#ifdef __cplusplus
}
#endif

#endif /* KSCALE_LOCK_H */
