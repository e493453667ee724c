// SPDX-License-Identifier: MIT
/*
 * pcpu-range: Mateusz Guzik's per-CPU range sketch, "[PATCH 0/3] further
 * damage-control lack of clone scalability", LKML, 24 Nov 2025 (never
 * merged; the kernel's nearest relatives are get_next_ino()'s per-CPU
 * batches and the removed percpu_ida). See pid_range.h for the leaves and
 * the directory.
 *
 * Locks: every CPU has one "pcpu_range_lock" (scope percpu), Guzik's "every
 * CPU could have its own pidmap_lock". A range points to the lock of the CPU
 * that carved (or last adopted) it. An allocation takes the calling CPU's
 * lock ONCE for every level and for the publication when every level has a
 * number left in its current range (the common case); a free takes the
 * lock of the CPU that owns each level's range (a remote free takes a
 * remote lock), once per run of levels with the same owner. Carving (or
 * adopting a detached, partly used range) takes the namespace's
 * "pid_range_lock" once per range, i.e. once per 256 allocations per level
 * in an empty id space and once per (256 - live) in a populated one;
 * retiring is a cmpxchg-free store to the range's own slot (pid_range.h).
 * Adoption moves the range's lock to the adopting CPU (pr_adopt()); every
 * other taker re-checks it (range_lock()).
 *
 * Ordering guarantee (instead of the kernel's global cyclic order): within
 * a namespace, a CPU hands out strictly increasing numbers from its current
 * range (consecutive ones unless set_tid took some or, in an adopted range,
 * they are still live), ranges are carved or adopted in
 * increasing order of their position cyclically over [1 or 300, pid_max),
 * and a number, once freed, is not handed out automatically again until the
 * carve cursor has gone once around the whole id space (or the namespace is
 * so full that an allocation steals a free number from another range; only
 * then can a number come back early). Two CPUs' numbers interleave in no
 * particular order.
 *
 * Beyond the sketch: set_tid and ns_last_pid take a slow path (the slot of
 * the wanted number, a detached one-number range if it is empty); when no
 * slot is free, allocation steals a free number from any range, so -EAGAIN
 * means every number below pid_max is taken, as in the kernel.
 * ns->pid_allocated: only its PIDNS_ADDING bit is used; a shared live count
 * written by every allocation is exactly the cache line the design avoids.
 */
#include <errno.h>
#include <string.h>

#include "pid/pid_internal.h"
#include "pid/pid_range.h"

static void bm_set(uint64_t *bm, int off)
{
	uint64_t w = __atomic_load_n(&bm[off >> 6], __ATOMIC_RELAXED);

	__atomic_store_n(&bm[off >> 6], w | (1ull << (off & 63)), __ATOMIC_RELAXED);
}

static void bm_clear(uint64_t *bm, int off)
{
	uint64_t w = __atomic_load_n(&bm[off >> 6], __ATOMIC_RELAXED);

	__atomic_store_n(&bm[off >> 6], w & ~(1ull << (off & 63)), __ATOMIC_RELAXED);
}

/* Under r->lock: retire @r if nobody hands out from it and it is empty. */
static void maybe_retire(struct kpr_range *r)
{
	if (r->detached && !r->used && !r->dead) {
		r->dead = true;
		kpr_retire(r->dir, r);
	}
}

/*
 * Lock @r's lock, given that @held (or NULL) is held and is released if it is
 * not @r's. An adopter moves r->lock while holding the old one (pr_adopt()),
 * so the pointer read is stable once the lock it names is held.
 */
static struct ks_spinlock *range_lock(struct kpr_range *r, struct ks_spinlock *held)
{
	for (;;) {
		struct ks_spinlock *l = __atomic_load_n(&r->lock, __ATOMIC_ACQUIRE);

		if (l == held)
			return held;
		if (held)
			ks_spin_unlock(held);
		ks_spin_lock(l);
		held = l;
	}
}

struct pr_adopter {
	struct ks_spinlock *lock; /* the adopting CPU's, held */
	int cpu;
};

/*
 * kpr_adopt callback, under the adopting CPU's lock, the directory lock and
 * RCU: take over a detached range that still has a free number at or after
 * @from. Its lock is another CPU's (or ours): only a trylock, so two CPU
 * locks are never waited for at once; a busy one is skipped.
 */
static bool pr_adopt(struct kpr_range *r, int from, int pid_max, void *arg)
{
	struct pr_adopter *a = arg;
	struct ks_spinlock *l = __atomic_load_n(&r->lock, __ATOMIC_ACQUIRE);
	int lim = kpr_limit(r, pid_max);
	bool ok = false;

	/*
	 * A full range is passed over without touching its lock's line (the
	 * bitmap's words are read atomically; the check is repeated locked).
	 */
	if (kpr_next_zero(r->bitmap, from, lim) >= lim)
		return false;
	if (l != a->lock && ks_spin_trylock(l) != 1)
		return false;
	/* adopters hold the directory lock: nobody else moves r->lock now */
	if (!r->dead && r->detached && kpr_next_zero(r->bitmap, from, lim) < lim) {
		r->detached = false;
		r->next = (uint16_t)from;
		r->owner = a->cpu;
		__atomic_store_n(&r->lock, a->lock, __ATOMIC_RELEASE);
		ok = true;
	}
	if (l != a->lock)
		ks_spin_unlock(l);
	return ok;
}

/* Under the CPU's lock: the next number of its current range, or 0. */
static int fast_alloc(struct kpr_ns *pns, int cpu, int pid_max)
{
	struct kpr_cur *c = &pns->cur[cpu];
	struct kpr_range *r = c->r;
	int lim, off;

	if (!r)
		return 0;
	lim = kpr_limit(r, pid_max);
	off = kpr_next_zero(r->bitmap, r->next, lim);
	if (off >= lim) {
		/* exhausted: nobody hands out from it again */
		r->next = r->hi;
		r->detached = true;
		c->r = NULL;
		maybe_retire(r);
		return 0;
	}
	bm_set(r->bitmap, off);
	r->next = off + 1;
	r->used++;
	return r->base + off;
}

/* Take a free number anywhere in the namespace (it is nearly full). */
static int steal(struct kpr_ns *pns, int pid_max)
{
	int nslots = (pid_max + KPR_SIZE - 1) >> KPR_SHIFT;
	int min = __atomic_load_n(&pns->dir.wrapped, __ATOMIC_RELAXED) ?
			  KPR_RESERVED_PIDS : 1;
	int nr = 0;

	ks_rcu_read_lock();
	for (int slot = 0; slot < nslots && !nr; slot++) {
		struct kpr_range *r = kpr_range_of(&pns->dir, slot ? slot << KPR_SHIFT : 1);
		struct ks_spinlock *held;
		int lo, off, lim;

		if (!r)
			continue;
		held = range_lock(r, NULL);
		if (!r->dead) {
			lo = min - r->base > r->lo ? min - r->base : r->lo;
			lim = kpr_limit(r, pid_max);
			off = kpr_next_zero(r->bitmap, lo, lim);
			if (off < lim) {
				bm_set(r->bitmap, off);
				r->used++;
				nr = r->base + off;
			}
		}
		ks_spin_unlock(held);
	}
	ks_rcu_read_unlock();
	if (nr)
		kpr_note_steal(&pns->dir);
	return nr ? nr : -EAGAIN;
}

/* The current range ran out: carve a new one (the CPU's lock is not held). */
static int slow_alloc(struct kpr_space *sp, struct kpr_ns *pns, int cpu, int pid_max)
{
	struct kpr_cpu *pc = sp->cpu[cpu];
	struct kpr_range *fresh = kpr_range_new(&pns->dir);
	int nr, ret = -EAGAIN;

	if (!fresh)
		return -ENOMEM;
	ks_spin_lock(&pc->lock);
	/* another thread on this CPU may have carved meanwhile */
	nr = fast_alloc(pns, cpu, pid_max);
	if (!nr) {
		struct pr_adopter a = { .lock = &pc->lock, .cpu = cpu };
		const struct kpr_adopt adopt = { .fn = pr_adopt, .arg = &a };
		struct kpr_range *got;

		fresh->lock = &pc->lock;
		fresh->owner = cpu;
		ret = kpr_carve(&pns->dir, fresh, pid_max, &adopt, &got);
		if (!ret) {
			pns->cur[cpu].r = got;
			if (got == fresh)
				fresh = NULL;
			nr = fast_alloc(pns, cpu, pid_max);
			if (!nr) /* cannot happen: we hold the range's lock */
				ret = -EAGAIN;
		}
	}
	ks_spin_unlock(&pc->lock);
	if (fresh)
		kpr_range_free_now(&pns->dir, fresh);
	if (nr)
		return nr;
	if (ret == -EAGAIN)
		return steal(pns, pid_max);
	return ret;
}

/* set_tid: take exactly @nr. */
static int tid_alloc(struct kpr_space *sp, struct kpr_ns *pns, int cpu, int nr, int pid_max)
{
	struct kpr_cpu *pc = sp->cpu[cpu];
	int off = nr & (KPR_SIZE - 1);
	struct kpr_range *fresh = NULL;
	int ret;

	for (;;) {
		struct kpr_range *r;

		ks_rcu_read_lock();
		r = kpr_range_of(&pns->dir, nr);
		if (r) {
			struct ks_spinlock *held = range_lock(r, NULL);

			if (!r->dead) {
				if (kpr_test(r->bitmap, off)) {
					ret = -EEXIST;
				} else {
					bm_set(r->bitmap, off);
					r->used++;
					ret = nr;
				}
				ks_spin_unlock(held);
				ks_rcu_read_unlock();
				break;
			}
			ks_spin_unlock(held);
		}
		ks_rcu_read_unlock();
		if (!fresh) {
			fresh = kpr_range_new(&pns->dir);
			if (!fresh)
				return -ENOMEM;
			fresh->lock = &pc->lock;
		}
		ks_spin_lock(&pc->lock);
		ret = kpr_carve_at(&pns->dir, fresh, nr, pid_max);
		if (!ret) {
			bm_set(fresh->bitmap, off);
			fresh->used = 1;
			fresh = NULL;
			ret = nr;
		}
		ks_spin_unlock(&pc->lock);
		if (ret != -EEXIST)
			break;
		/* a range appeared in the slot meanwhile: look again */
	}
	if (fresh)
		kpr_range_free_now(&pns->dir, fresh);
	return ret;
}

/*
 * Release the numbers of @pid (levels with nr > 0), taking each owner's lock
 * once per run of levels it owns.
 */
static void release(struct ks_pid *pid)
{
	struct ks_spinlock *held = NULL;

	for (int i = 0; i <= pid->level; i++) {
		struct kpr_ns *pns = pid->numbers[i].ns->priv;
		int nr = pid->numbers[i].nr;
		int off = nr & (KPR_SIZE - 1);
		/* our number pins the range: it cannot retire under us */
		struct kpr_range *r = kpr_range_of(&pns->dir, nr);

		if (nr <= 0 || !r)
			continue;
		held = range_lock(r, held);
		__atomic_store_n(&r->pids[off], NULL, __ATOMIC_RELEASE);
		bm_clear(r->bitmap, off);
		r->used--;
		/*
		 * A failed first fork: the namespace has no init, so its next
		 * pid must be 1 again, on any CPU (6.18 resets the IDR cursor
		 * to 0): retire the empty range and carve from slot 0 again.
		 * r->lock is its owner's, so the owner's current pointer may be
		 * changed here.
		 */
		if (!r->used &&
		    !__atomic_load_n(&pid->numbers[i].ns->child_reaper, __ATOMIC_ACQUIRE)) {
			if (!r->detached) {
				if (pns->cur[r->owner].r == r)
					pns->cur[r->owner].r = NULL;
				r->detached = true;
				r->next = r->hi;
			}
			kpr_reset_cursor(&pns->dir);
		}
		maybe_retire(r);
	}
	if (held)
		ks_spin_unlock(held);
}

/* Under any CPU's range lock (disable() takes them all). */
static int publish_locked(struct ks_pid *pid)
{
	if (!ks_pidns_adding(pid->numbers[pid->level].ns))
		return -ENOMEM;
	for (int i = 0; i <= pid->level; i++) {
		struct kpr_ns *pns = pid->numbers[i].ns->priv;
		int nr = pid->numbers[i].nr;
		struct kpr_range *r = kpr_range_of(&pns->dir, nr);

		__atomic_store_n(&r->pids[nr & (KPR_SIZE - 1)], pid, __ATOMIC_RELEASE);
	}
	return 0;
}

static int pr_publish(struct ks_pid *pid)
{
	struct kpr_space *sp = pid->space->priv;
	struct kpr_cpu *pc = sp->cpu[kpr_this_cpu(sp)];
	int ret;

	ks_spin_lock(&pc->lock);
	ret = publish_locked(pid);
	ks_spin_unlock(&pc->lock);
	if (ret)
		release(pid);
	return ret;
}

static int pr_alloc(struct ks_pid *pid, const struct ks_pid_req *req)
{
	struct kpr_space *sp = pid->space->priv;
	int cpu = kpr_this_cpu(sp);
	struct kpr_cpu *pc = sp->cpu[cpu];
	int level = pid->level;
	uint64_t slow = 0;
	int i, ret;

	/* set_tid is validated before any lock, as Linux 7.0 does */
	ret = kpr_check_tids(pid, req);
	if (ret)
		return ret;

	/* the common case: one lock trip for every level and the publication */
	ks_spin_lock(&pc->lock);
	for (i = level; i >= 0; i--) {
		struct ks_pid_ns *ns = pid->numbers[i].ns;
		int nr = 0;

		if (level - i >= req->set_tid_size)
			nr = fast_alloc(ns->priv, cpu, ks_pidns_pid_max(ns));
		if (nr)
			pid->numbers[i].nr = nr;
		else
			slow |= 1ull << i;
	}
	if (!slow && req->publish) {
		ret = publish_locked(pid);
		ks_spin_unlock(&pc->lock);
		if (ret)
			release(pid);
		return ret;
	}
	ks_spin_unlock(&pc->lock);

	for (i = level; i >= 0; i--) {
		struct ks_pid_ns *ns = pid->numbers[i].ns;
		int pid_max = ks_pidns_pid_max(ns);

		if (!(slow & (1ull << i)))
			continue;
		if (level - i < req->set_tid_size)
			ret = tid_alloc(sp, ns->priv, cpu, req->set_tid[level - i], pid_max);
		else
			ret = slow_alloc(sp, ns->priv, cpu, pid_max);
		if (ret < 0) {
			release(pid);
			return ret;
		}
		pid->numbers[i].nr = ret;
	}
	if (req->publish)
		return pr_publish(pid);
	return 0;
}

static void pr_free(struct ks_pid *pid)
{
	release(pid);
}

static void pr_set_last_pid(struct ks_pid_ns *ns, int last)
{
	struct kpr_space *sp = ns->space->priv;
	int cpu = kpr_this_cpu(sp);
	struct kpr_cpu *pc = sp->cpu[cpu];
	struct kpr_ns *pns = ns->priv;
	struct kpr_range *r;

	/* the caller's CPU drops its range so its next fork starts at @last+1 */
	ks_spin_lock(&pc->lock);
	r = pns->cur[cpu].r;
	if (r) {
		r->detached = true;
		r->next = r->hi;
		pns->cur[cpu].r = NULL;
		maybe_retire(r);
	}
	kpr_set_last(&pns->dir, last);
	ks_spin_unlock(&pc->lock);
}

static void pr_disable(struct ks_pid_ns *ns)
{
	struct kpr_space *sp = ns->space->priv;

	__atomic_fetch_and(&ns->pid_allocated, ~KS_PIDNS_ADDING, __ATOMIC_SEQ_CST);
	/* wait out publications that checked the bit under a CPU's lock */
	for (int cpu = 0; cpu < sp->nr_cpus; cpu++) {
		struct kpr_cpu *pc = sp->cpu[cpu];

		ks_spin_lock(&pc->lock);
		ks_spin_unlock(&pc->lock);
	}
}

const struct ks_pid_ops ks_pid_pcpu_range_ops = {
	.info = {
		.name = "pcpu-range",
		.summary = "per-CPU ranges of 256 numbers carved cyclically from a radix "
			   "directory, partly used ones adopted; one per-CPU lock per alloc; "
			   "no global cyclic order",
		.source = "Mateusz Guzik, LKML 24 Nov 2025 \"further damage-control lack "
			  "of clone scalability\" (sketch, not merged)",
	},
	.flags = KS_PID_NUMBERING_RANGES,
	.upid_priv = 0,
	.space_init = kpr_space_init,
	.space_fini = kpr_space_fini,
	.ns_init = kpr_ns_init,
	.ns_fini = kpr_ns_fini,
	.alloc = pr_alloc,
	.publish = pr_publish,
	.abort = pr_free,
	.free = pr_free,
	.lookup = kpr_ns_lookup,
	.find_ge = kpr_ns_find_ge,
	.last_pid = kpr_ns_last_pid,
	.set_last_pid = pr_set_last_pid,
	.disable = pr_disable,
	.range_stats = kpr_ns_range_stats,
};
