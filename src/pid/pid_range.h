/* SPDX-License-Identifier: MIT */
/*
 * Per-CPU pid ranges: the leaves and the directory shared by the pcpu-range
 * and pcpu-lockfree strategies. Private to src/pid/.
 *
 * This is Mateusz Guzik's sketch from "[PATCH 0/3] further damage-control
 * lack of clone scalability" (LKML, 24 Nov 2025): "special casing the last
 * level of a (quasi)radix tree", where the datum "is a pointer to a struct
 * containing a spinlock, bitmap and array of pids" covering "say 250
 * entries", and the pid is the radix index (prefix) plus the offset. The
 * kernel never merged it; the details below (the directory, the cyclic
 * carve cursor, detaching and retiring, stealing when the space is full) are
 * ours.
 *
 * A namespace owns a directory of KPR_SLOTS slots, one per aligned block of
 * KPR_SIZE numbers, split into KPR_NR_CHUNKS lazily allocated chunks (the
 * top level of the radix). A slot is empty or points to a range (a leaf). A
 * CPU "carves" a range by claiming the next empty slot after the namespace's
 * carve cursor, which moves cyclically over [0, pid_max), so a slot -- and so
 * a number -- comes back only after the cursor went once around the id
 * space. Inside a range, numbers are handed out in increasing order and each
 * at most once per carving (the hand-out cursor never goes back). A range is
 * "detached" from its CPU when it is exhausted (or on an ns_last_pid write)
 * and retired -- its slot emptied, its memory freed after an RCU grace
 * period -- once it is detached and holds no live number.
 * Until then the carve cursor, passing its slot, may hand it to another
 * CPU (adoption: its free numbers are handed out again, the live ones
 * skipped).
 *
 * Lookups are lockless: slot -> range -> pids[off] under RCU; pids[off] is
 * NULL until the pid is published, so a half-built pid is invisible.
 *
 * Locking: a slot is filled only by a cmpxchg from empty (carving) and
 * emptied only by the range's retirer, so retiring takes no lock. pcpu-range
 * carves under the directory lock ("pid_range_lock", scope global: shared
 * by every CPU, like the xa_lock Guzik's sketch goes to "to get space"):
 * one acquisition per range carved or adopted per namespace level.
 * pcpu-lockfree carves without it (kpr_carve_lockless()). set_tid's slot
 * and ns_last_pid writes take it in both. The order is: a CPU's range lock,
 * then the directory lock; a second CPU's lock only by trylock (pcpu-range's
 * adoption, see struct kpr_adopt), so no CPU ever waits for two.
 */
#ifndef KSCALE_SRC_PID_PID_RANGE_H
#define KSCALE_SRC_PID_PID_RANGE_H

#include <kscale/kscale.h>

struct ks_pid;
struct ks_pid_ns;
struct ks_pid_space;
struct ks_pid_range_stats;

#define KPR_SHIFT 8
#define KPR_SIZE (1 << KPR_SHIFT)	/* numbers per range */
#define KPR_WORDS (KPR_SIZE / 64)
#define KPR_LIMIT 4194304		/* PID_MAX_LIMIT on 64-bit */
#define KPR_SLOTS (KPR_LIMIT >> KPR_SHIFT)
#define KPR_CHUNK_SHIFT 8
#define KPR_CHUNK (1 << KPR_CHUNK_SHIFT) /* slots per directory chunk */
#define KPR_NR_CHUNKS (KPR_SLOTS / KPR_CHUNK)
#define KPR_RESERVED_PIDS 300		/* include/linux/pid.h RESERVED_PIDS */

/* pcpu-lockfree packs the range's hand-out cursor, live count and flags. */
#define KPR_ST_USED_MASK 0xffffu
#define KPR_ST_NEXT_SHIFT 16
#define KPR_ST_NEXT_MASK (0x1ffu << KPR_ST_NEXT_SHIFT)
#define KPR_ST_DETACHED (1u << 30)
#define KPR_ST_DEAD (1u << 31)

struct kpr_dir;

struct kpr_range {
	struct kpr_dir *dir;
	struct ks_mem_type *type;	/* to free it, even after its namespace */
	/* pcpu-range: the lock of the CPU that carved the range. */
	struct ks_spinlock *lock;
	int owner;		/* the CPU whose current range it was carved as */
	int base;		/* first number of the block */
	int slot;
	uint16_t lo, hi;	/* numbers base+lo .. base+hi-1 may be handed out */
	/* pcpu-range, under *lock: */
	uint16_t next;		/* next offset the owner hands out */
	uint16_t used;		/* numbers taken (placeholders included) */
	bool detached;		/* no CPU hands out from it any more */
	bool dead;		/* retired: slot emptied, freed after a GP */
	/* pcpu-lockfree: next | used | DETACHED | DEAD, see KPR_ST_* */
	uint32_t state;
	uint64_t bitmap[KPR_WORDS];	/* taken numbers */
	struct ks_pid *pids[KPR_SIZE];	/* published pids (RCU) */
	struct ks_rcu_head rcu;
};

struct kpr_stats {
	uint64_t carves;	/* empty slots filled with a new range */
	uint64_t adoptions;	/* detached, partly used ranges taken over */
	uint64_t retires;
	uint64_t steals;
};

struct kpr_dir {
	struct kpr_range **chunks[KPR_NR_CHUNKS];
	struct ks_spinlock lock;	/* pid_range_lock: carving (pcpu-range), set_tid, ns_last_pid */
	/* atomics: */
	int cursor;		/* next slot to try when carving */
	bool wrapped;		/* numbers below KPR_RESERVED_PIDS are skipped */
	int hint;		/* ns_last_pid write + 1, or -1 (written under lock) */
	struct kpr_stats st;
	struct ks_mem_type *range_type;
	struct ks_mem_type *chunk_type;
};

/* Per CPU of a space: its range lock, and pcpu-lockfree's publications. */
struct kpr_cpu {
	struct ks_spinlock lock; /* pcpu_range_lock */
	int publishing;          /* pcpu-lockfree: publications in flight */
};

/* A CPU's current range in one namespace. */
struct kpr_cur {
	struct kpr_range *r;
} ks_cacheline_aligned;

/* ns->priv of both range strategies. */
struct kpr_ns {
	struct kpr_dir dir;
	struct kpr_cur *cur; /* [nr_cpus] */
};

/* s->priv of both range strategies. */
struct kpr_space {
	struct ks_percpu *cpus; /* struct kpr_cpu */
	struct kpr_cpu **cpu;   /* [nr_cpus]: the copies, looked up once */
	int nr_cpus;
	struct ks_lock_class *dir_cls;
	struct ks_mem_type *ns_type, *cur_type, *range_type, *chunk_type;
};

/* The calling thread's CPU index, as ks_percpu_this() computes it. */
static inline int kpr_this_cpu(const struct kpr_space *sp)
{
	return ks_cpu_current() % sp->nr_cpus;
}

/* The ops both strategies share. */
int kpr_space_init(struct ks_pid_space *s);
void kpr_space_fini(struct ks_pid_space *s);
int kpr_ns_init(struct ks_pid_ns *ns);
void kpr_ns_fini(struct ks_pid_ns *ns);
struct ks_pid *kpr_ns_lookup(struct ks_pid_ns *ns, int nr);
struct ks_pid *kpr_ns_find_ge(struct ks_pid_ns *ns, int *nr);
int kpr_ns_last_pid(const struct ks_pid_ns *ns);
struct ks_pid_req;
/* Zero @pid's numbers and check its set_tid entries (Linux 7.0 does it first). */
int kpr_check_tids(struct ks_pid *pid, const struct ks_pid_req *req);
/* Count a steal in the directory's statistics. */
void kpr_note_steal(struct kpr_dir *d);

int kpr_dir_init(struct kpr_dir *d, struct ks_mem_type *range_type,
		 struct ks_mem_type *chunk_type, struct ks_lock_class *cls);
/* Frees every range and chunk; no reader may remain. */
void kpr_dir_fini(struct kpr_dir *d);

/* The range holding @nr, or NULL (RCU, or the range's lock, protects it). */
struct kpr_range *kpr_range_of(const struct kpr_dir *d, int nr);
/* Lookup under RCU: the published pid numbered @nr, or NULL. */
struct ks_pid *kpr_lookup(const struct kpr_dir *d, int nr);
/* The published pid with the smallest number >= @nr, or NULL; *@found = nr. */
struct ks_pid *kpr_find_ge(const struct kpr_dir *d, int nr, int *found);

/* A zeroed range, allocated outside any lock. NULL on -ENOMEM. */
struct kpr_range *kpr_range_new(struct kpr_dir *d);
void kpr_range_free_now(struct kpr_dir *d, struct kpr_range *r);

/*
 * Adopting a partly used range. A range is detached when its CPU is done
 * with it, but it stays in its slot while any of its numbers is live; on a
 * machine whose long-lived processes are spread over the id space (what the
 * cursor's laps leave behind), nearly every slot holds such a range and an
 * empty one may not exist at all. So carving, at each occupied slot it
 * passes, offers the range to @fn, which takes it over for the calling CPU
 * (it becomes that CPU's current range, handing out its free numbers in
 * increasing order from @from) and returns true, or returns false when the
 * range is not detached, is dead, has no free number at or after @from
 * below @pid_max, or cannot be taken now. This is ours, not the sketch's.
 */
struct kpr_adopt {
	bool (*fn)(struct kpr_range *r, int from, int pid_max, void *arg);
	void *arg;
};

/*
 * kpr_carve() - give the calling CPU its next range: the first slot at or
 * after the carve cursor, cyclically, whose window below @pid_max is not
 * empty and which is either empty (@fresh is installed there) or holds a
 * range @adopt takes over. The hand-out cursor then moves past that slot,
 * so a freed number comes back only after the cursor went once around.
 * Under the directory lock ("pid_range_lock").
 * Return: 0 and *@out (@fresh, its base/lo/hi/next set, or the adopted
 * range), -EAGAIN when no slot qualifies, -ENOMEM when a directory chunk
 * could not be allocated.
 */
int kpr_carve(struct kpr_dir *d, struct kpr_range *fresh, int pid_max,
	      const struct kpr_adopt *adopt, struct kpr_range **out);
/* kpr_carve() without the directory lock (cmpxchg on the slot). */
int kpr_carve_lockless(struct kpr_dir *d, struct kpr_range *fresh, int pid_max,
		       const struct kpr_adopt *adopt, struct kpr_range **out);
/*
 * kpr_carve_at() - install @r at the slot of @nr if that slot is empty, as a
 * detached range (set_tid's slow path). Return 0, -EEXIST when the slot
 * holds a range, -ENOMEM.
 */
int kpr_carve_at(struct kpr_dir *d, struct kpr_range *r, int nr, int pid_max);
/* Empty @r's slot and free it after a grace period. */
void kpr_retire(struct kpr_dir *d, struct kpr_range *r);
/*
 * A namespace without init lost its only number (a failed first fork):
 * carving starts again at slot 0, so its next pid is 1 on any CPU (6.18
 * resets the IDR cursor to 0).
 */
void kpr_reset_cursor(struct kpr_dir *d);
/* ns_last_pid: write moves the carve cursor; read is its number - 1. */
void kpr_set_last(struct kpr_dir *d, int last);
int kpr_get_last(struct kpr_dir *d);
/* ops->range_stats of both range strategies. */
void kpr_ns_range_stats(const struct ks_pid_ns *ns, struct ks_pid_range_stats *out);

/* Bitmap helpers for a range's bitmap (plain, under a lock). */
static inline bool kpr_test(const uint64_t *bm, int off)
{
	return (__atomic_load_n(&bm[off >> 6], __ATOMIC_RELAXED) >> (off & 63)) & 1;
}

/* End of the offsets @r may hand out below @pid_max (pid_max may have moved). */
static inline int kpr_limit(const struct kpr_range *r, int pid_max)
{
	int lim = pid_max - r->base;

	return lim < r->hi ? (lim < 0 ? 0 : lim) : r->hi;
}

/* First zero bit in [from, to), or @to. Relaxed loads. */
int kpr_next_zero(const uint64_t *bm, int from, int to);

#endif /* KSCALE_SRC_PID_PID_RANGE_H */
