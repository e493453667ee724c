// SPDX-License-Identifier: MIT
/*
 * pcpu-lockfree: per-CPU ranges (pcpu-range's leaves and directory, see
 * pid_range.h) with lock-free allocation and free inside a range. This goes
 * beyond the kernel and beyond Guzik's sketch, which ends with "Hell, this
 * can probably be made lockless to further speed it up if need be"
 * (LKML, 24 Nov 2025): here it is.
 *
 * A range's hand-out cursor, live count and DETACHED/DEAD flags share one
 * 32-bit word (KPR_ST_*). Allocation reserves the next offset with one
 * cmpxchg of that word and claims the bit with one atomic or (the bitmap
 * arbitrates with set_tid and steals); a free, local or remote, is an atomic
 * and on the bitmap and an atomic decrement of the word: no lock at all, so
 * a free on another CPU costs a cache-line transfer, not a lock round trip.
 * Whoever moves a DETACHED range's count to zero retires it (cmpxchg to
 * DEAD), so exactly one thread does. The per-CPU "pcpu_range_lock" is taken
 * only to replace the CPU's range (about once per 256 allocations per
 * level, uncontended) and for ns_last_pid; carving claims a directory slot
 * with a cmpxchg and moves the namespace's carve cursor with another, so no
 * global lock is taken at any depth (the cursor's cache line still moves
 * once per carve: the shared traffic left); set_tid's slot and ns_last_pid
 * take the directory's "pid_range_lock".
 *
 * The current range pointer is read under RCU (ranges are freed after a
 * grace period). Publication checks PIDNS_ADDING between an increment and a
 * decrement of a per-CPU "publishing" count; disable clears the bit and
 * waits for every CPU's count to drain (Dekker with seq_cst), which gives
 * what pidmap_lock gives the kernel: no pid is published after disable().
 *
 * Numbering and ordering: exactly pcpu-range's (see pcpu_range.c).
 */
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "pid/pid_internal.h"
#include "pid/pid_range.h"

static uint32_t st_next(uint32_t s)
{
	return (s & KPR_ST_NEXT_MASK) >> KPR_ST_NEXT_SHIFT;
}

static bool bit_test_and_set(uint64_t *bm, int off)
{
	uint64_t bit = 1ull << (off & 63);

	return __atomic_fetch_or(&bm[off >> 6], bit, __ATOMIC_ACQ_REL) & bit;
}

static void bit_clear(uint64_t *bm, int off)
{
	__atomic_fetch_and(&bm[off >> 6], ~(1ull << (off & 63)), __ATOMIC_RELEASE);
}

/* The count reached zero on a detached range: one thread retires it. */
static void try_retire(struct kpr_range *r, uint32_t s)
{
	if ((s & KPR_ST_DETACHED) && !(s & KPR_ST_DEAD) && !(s & KPR_ST_USED_MASK) &&
	    __atomic_compare_exchange_n(&r->state, &s, s | KPR_ST_DEAD, false,
					__ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		kpr_retire(r->dir, r);
}

/* Drop one live number of @r. */
static void range_put(struct kpr_range *r)
{
	try_retire(r, __atomic_sub_fetch(&r->state, 1, __ATOMIC_ACQ_REL));
}

/* Count one more live number unless @r is dead. */
static bool range_get(struct kpr_range *r)
{
	uint32_t s = __atomic_load_n(&r->state, __ATOMIC_RELAXED);

	do {
		if (s & KPR_ST_DEAD)
			return false;
	} while (!__atomic_compare_exchange_n(&r->state, &s, s + 1, false, __ATOMIC_ACQ_REL,
					      __ATOMIC_RELAXED));
	return true;
}

/* No CPU hands out from @r any more. */
static void range_detach(struct kpr_range *r)
{
	try_retire(r, __atomic_or_fetch(&r->state, KPR_ST_DETACHED, __ATOMIC_ACQ_REL));
}

/*
 * Take the next number of @r lock-free. Return it, 0 when @r is exhausted
 * (or detached: the caller goes to the slow path).
 */
static int range_take(struct kpr_range *r, int pid_max)
{
	int lim = kpr_limit(r, pid_max);
	uint32_t s = __atomic_load_n(&r->state, __ATOMIC_RELAXED);

	for (;;) {
		uint32_t off = st_next(s);

		if ((s & (KPR_ST_DETACHED | KPR_ST_DEAD)) || off >= (uint32_t)lim)
			return 0;
		/* an adopted range: skip the numbers still live from before */
		off = (uint32_t)kpr_next_zero(r->bitmap, (int)off, lim);
		if (off >= (uint32_t)lim)
			return 0;
		/* reserve the offset and count it live in one cmpxchg */
		if (!__atomic_compare_exchange_n(&r->state, &s,
						 ((s & ~KPR_ST_NEXT_MASK) |
						  ((off + 1) << KPR_ST_NEXT_SHIFT)) + 1,
						 false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			continue;
		if (!bit_test_and_set(r->bitmap, (int)off))
			return r->base + (int)off;
		/* set_tid or a steal took it first: skip it */
		range_put(r);
		s = __atomic_load_n(&r->state, __ATOMIC_RELAXED);
	}
}

/*
 * kpr_adopt callback (lock-free carving, under RCU): take over a detached
 * range with a free number at or after @from. The cmpxchg that clears
 * DETACHED and resets the hand-out cursor races with try_retire()'s
 * cmpxchg to DEAD and with other adopters: exactly one wins. A thread that
 * still holds the range as its CPU's former current one (threads sharing a
 * CPU index) may take a number from it after the adoption: numbers stay
 * unique (the state word and the bitmap arbitrate), only that thread's
 * per-CPU order is not kept.
 */
static bool pl_adopt(struct kpr_range *r, int from, int pid_max, void *arg)
{
	int lim = kpr_limit(r, pid_max);
	uint32_t s = __atomic_load_n(&r->state, __ATOMIC_ACQUIRE);

	do {
		if (!(s & KPR_ST_DETACHED) || (s & KPR_ST_DEAD) ||
		    kpr_next_zero(r->bitmap, from, lim) >= lim)
			return false;
	} while (!__atomic_compare_exchange_n(&r->state, &s,
					      (s & ~(KPR_ST_DETACHED | KPR_ST_NEXT_MASK)) |
						      ((uint32_t)from << KPR_ST_NEXT_SHIFT),
					      false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
	__atomic_store_n(&r->owner, *(int *)arg, __ATOMIC_RELAXED);
	return true;
}

static int fast_alloc(struct kpr_ns *pns, int cpu, int pid_max)
{
	struct kpr_range *r;
	int nr = 0;

	ks_rcu_read_lock();
	r = __atomic_load_n(&pns->cur[cpu].r, __ATOMIC_ACQUIRE);
	if (r)
		nr = range_take(r, pid_max);
	ks_rcu_read_unlock();
	return nr;
}

static int steal(struct kpr_ns *pns, int pid_max)
{
	int nslots = (pid_max + KPR_SIZE - 1) >> KPR_SHIFT;
	int min = __atomic_load_n(&pns->dir.wrapped, __ATOMIC_RELAXED) ?
			  KPR_RESERVED_PIDS : 1;
	int nr = 0;

	ks_rcu_read_lock();
	for (int slot = 0; slot < nslots && !nr; slot++) {
		struct kpr_range *r = kpr_range_of(&pns->dir, slot ? slot << KPR_SHIFT : 1);
		int off, lim;

		if (!r)
			continue;
		lim = kpr_limit(r, pid_max);
		off = min - r->base > r->lo ? min - r->base : r->lo;
		while ((off = kpr_next_zero(r->bitmap, off, lim)) < lim) {
			if (bit_test_and_set(r->bitmap, off)) {
				off++;
				continue;
			}
			if (range_get(r))
				nr = r->base + off;
			else
				bit_clear(r->bitmap, off);
			break;
		}
	}
	ks_rcu_read_unlock();
	if (nr)
		kpr_note_steal(&pns->dir);
	return nr ? nr : -EAGAIN;
}

static int slow_alloc(struct kpr_space *sp, struct kpr_ns *pns, int cpu, int pid_max)
{
	struct kpr_cpu *pc = sp->cpu[cpu];
	struct kpr_range *fresh = kpr_range_new(&pns->dir);
	int nr, ret = -EAGAIN;

	if (!fresh)
		return -ENOMEM;
	ks_spin_lock(&pc->lock);
	nr = fast_alloc(pns, cpu, pid_max);
	if (!nr) {
		struct kpr_range *old = pns->cur[cpu].r;

		if (old) {
			__atomic_store_n(&pns->cur[cpu].r, NULL, __ATOMIC_RELEASE);
			range_detach(old);
		}
		const struct kpr_adopt adopt = { .fn = pl_adopt, .arg = &cpu };
		struct kpr_range *got;

		fresh->owner = cpu;
		ret = kpr_carve_lockless(&pns->dir, fresh, pid_max, &adopt, &got);
		if (!ret) {
			nr = range_take(got, pid_max);
			__atomic_store_n(&pns->cur[cpu].r, got, __ATOMIC_RELEASE);
			if (got == fresh)
				fresh = NULL;
			/* a steal or set_tid emptied the adopted range first */
			if (!nr)
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
			if (bit_test_and_set(r->bitmap, off)) {
				ret = -EEXIST;
			} else if (range_get(r)) {
				ret = nr;
			} else {
				bit_clear(r->bitmap, off);
				ret = -EAGAIN; /* dead: its slot empties, try again */
			}
			ks_rcu_read_unlock();
			if (ret != -EAGAIN)
				break;
			sched_yield();
			continue;
		}
		ks_rcu_read_unlock();
		if (!fresh) {
			fresh = kpr_range_new(&pns->dir);
			if (!fresh)
				return -ENOMEM;
		}
		ks_spin_lock(&pc->lock);
		/* bit and count are set before the range becomes visible */
		fresh->bitmap[off >> 6] = 1ull << (off & 63);
		ret = kpr_carve_at(&pns->dir, fresh, nr, pid_max);
		ks_spin_unlock(&pc->lock);
		if (!ret) {
			__atomic_fetch_add(&fresh->state, 1, __ATOMIC_ACQ_REL);
			fresh = NULL;
			ret = nr;
			break;
		}
		fresh->bitmap[off >> 6] = 0;
		if (ret != -EEXIST)
			break;
	}
	if (fresh)
		kpr_range_free_now(&pns->dir, fresh);
	return ret;
}

/*
 * A namespace without init dropped a number (a failed first fork, rare): if
 * the owner's range is now empty, unhook and retire it and carve from slot
 * 0 again, under the owner's lock that guards its current pointer.
 */
static void unborn_put(struct kpr_space *sp, struct kpr_ns *pns, struct kpr_range *r)
{
	int owner = __atomic_load_n(&r->owner, __ATOMIC_RELAXED);
	struct kpr_cpu *pc = sp->cpu[owner];
	uint32_t s;

	/* an adopter may have moved it meanwhile: then cur[owner] is not r */
	ks_spin_lock(&pc->lock);
	s = __atomic_load_n(&r->state, __ATOMIC_ACQUIRE);
	if (pns->cur[owner].r == r && !(s & (KPR_ST_USED_MASK | KPR_ST_DETACHED))) {
		__atomic_store_n(&pns->cur[owner].r, NULL, __ATOMIC_RELEASE);
		range_detach(r);
		kpr_reset_cursor(&pns->dir);
	}
	ks_spin_unlock(&pc->lock);
}

/* Release every number of @pid: no lock, local or remote (but see above). */
static void release(struct ks_pid *pid)
{
	/* once our number is put, the range may retire: RCU keeps it */
	ks_rcu_read_lock();
	for (int i = 0; i <= pid->level; i++) {
		struct kpr_ns *pns = pid->numbers[i].ns->priv;
		int nr = pid->numbers[i].nr;
		struct kpr_range *r = kpr_range_of(&pns->dir, nr);

		if (nr <= 0 || !r)
			continue;
		__atomic_store_n(&r->pids[nr & (KPR_SIZE - 1)], NULL, __ATOMIC_RELEASE);
		bit_clear(r->bitmap, nr & (KPR_SIZE - 1));
		range_put(r);
		/* a failed first fork: pid 1 comes again (see pcpu_range.c) */
		if (!__atomic_load_n(&pid->numbers[i].ns->child_reaper, __ATOMIC_ACQUIRE))
			unborn_put(pid->space->priv, pns, r);
	}
	ks_rcu_read_unlock();
}

static int pl_publish(struct ks_pid *pid)
{
	struct kpr_space *sp = pid->space->priv;
	struct kpr_cpu *pc = sp->cpu[kpr_this_cpu(sp)];
	int ret = 0;

	__atomic_fetch_add(&pc->publishing, 1, __ATOMIC_SEQ_CST);
	if (!(__atomic_load_n(&pid->numbers[pid->level].ns->pid_allocated, __ATOMIC_SEQ_CST) &
	      KS_PIDNS_ADDING)) {
		ret = -ENOMEM;
	} else {
		for (int i = 0; i <= pid->level; i++) {
			struct kpr_ns *pns = pid->numbers[i].ns->priv;
			int nr = pid->numbers[i].nr;
			struct kpr_range *r = kpr_range_of(&pns->dir, nr);

			__atomic_store_n(&r->pids[nr & (KPR_SIZE - 1)], pid, __ATOMIC_RELEASE);
		}
	}
	__atomic_fetch_sub(&pc->publishing, 1, __ATOMIC_RELEASE);
	if (ret)
		release(pid);
	return ret;
}

static int pl_alloc(struct ks_pid *pid, const struct ks_pid_req *req)
{
	struct kpr_space *sp = pid->space->priv;
	int cpu = kpr_this_cpu(sp);
	int level = pid->level;
	int i, ret;

	ret = kpr_check_tids(pid, req);
	if (ret)
		return ret;
	for (i = level; i >= 0; i--) {
		struct ks_pid_ns *ns = pid->numbers[i].ns;
		int pid_max = ks_pidns_pid_max(ns);

		if (level - i < req->set_tid_size) {
			ret = tid_alloc(sp, ns->priv, cpu, req->set_tid[level - i], pid_max);
		} else {
			ret = fast_alloc(ns->priv, cpu, pid_max);
			if (!ret)
				ret = slow_alloc(sp, ns->priv, cpu, pid_max);
		}
		if (ret < 0) {
			release(pid);
			return ret;
		}
		pid->numbers[i].nr = ret;
	}
	return req->publish ? pl_publish(pid) : 0;
}

static void pl_set_last_pid(struct ks_pid_ns *ns, int last)
{
	struct kpr_space *sp = ns->space->priv;
	int cpu = kpr_this_cpu(sp);
	struct kpr_cpu *pc = sp->cpu[cpu];
	struct kpr_ns *pns = ns->priv;
	struct kpr_range *r;

	ks_spin_lock(&pc->lock);
	r = pns->cur[cpu].r;
	if (r) {
		__atomic_store_n(&pns->cur[cpu].r, NULL, __ATOMIC_RELEASE);
		range_detach(r);
	}
	kpr_set_last(&pns->dir, last);
	ks_spin_unlock(&pc->lock);
}

static void pl_disable(struct ks_pid_ns *ns)
{
	struct kpr_space *sp = ns->space->priv;

	__atomic_fetch_and(&ns->pid_allocated, ~KS_PIDNS_ADDING, __ATOMIC_SEQ_CST);
	/* wait out publications that may have seen the bit set */
	for (int cpu = 0; cpu < sp->nr_cpus; cpu++) {
		struct kpr_cpu *pc = sp->cpu[cpu];

		while (__atomic_load_n(&pc->publishing, __ATOMIC_SEQ_CST))
			sched_yield();
	}
}

const struct ks_pid_ops ks_pid_pcpu_lockfree_ops = {
	.info = {
		.name = "pcpu-lockfree",
		.summary = "pcpu-range's ranges with lock-free alloc and free (cmpxchg "
			   "inside the range); locks only to carve; beyond the kernel",
		.source = "kscale, from Guzik's \"this can probably be made lockless\" "
			  "(LKML 24 Nov 2025); not in any kernel",
	},
	.flags = KS_PID_NUMBERING_RANGES,
	.upid_priv = 0,
	.space_init = kpr_space_init,
	.space_fini = kpr_space_fini,
	.ns_init = kpr_ns_init,
	.ns_fini = kpr_ns_fini,
	.alloc = pl_alloc,
	.publish = pl_publish,
	.abort = release,
	.free = release,
	.lookup = kpr_ns_lookup,
	.find_ge = kpr_ns_find_ge,
	.last_pid = kpr_ns_last_pid,
	.set_last_pid = pl_set_last_pid,
	.disable = pl_disable,
	.range_stats = kpr_ns_range_stats,
};
