// SPDX-License-Identifier: MIT
/*
 * The range directory shared by pcpu-range and pcpu-lockfree: carving ranges
 * cyclically over the id space, retiring them, and lockless lookup and
 * find_ge. See pid_range.h for the design and its source (Guzik's sketch).
 */
#include <errno.h>
#include <string.h>

#include "pid/pid_internal.h"
#include "pid/pid_range.h"

int kpr_dir_init(struct kpr_dir *d, struct ks_mem_type *range_type,
		 struct ks_mem_type *chunk_type, struct ks_lock_class *cls)
{
	memset(d, 0, sizeof(*d));
	d->hint = -1;
	d->range_type = range_type;
	d->chunk_type = chunk_type;
	return ks_spin_init(&d->lock, cls);
}

void kpr_dir_fini(struct kpr_dir *d)
{
	for (int c = 0; c < KPR_NR_CHUNKS; c++) {
		struct kpr_range **chunk = d->chunks[c];

		if (!chunk)
			continue;
		for (int i = 0; i < KPR_CHUNK; i++) {
			if (chunk[i])
				kpr_range_free_now(d, chunk[i]);
		}
		ks_mem_free(d->chunk_type, chunk, KPR_CHUNK * sizeof(void *));
		d->chunks[c] = NULL;
	}
	ks_spin_destroy(&d->lock);
}

static struct kpr_range *slot_load(const struct kpr_dir *d, int slot)
{
	struct kpr_range **chunk;

	chunk = __atomic_load_n(&d->chunks[slot >> KPR_CHUNK_SHIFT], __ATOMIC_ACQUIRE);
	if (!chunk)
		return NULL;
	return __atomic_load_n(&chunk[slot & (KPR_CHUNK - 1)], __ATOMIC_ACQUIRE);
}

struct kpr_range *kpr_range_of(const struct kpr_dir *d, int nr)
{
	if (nr <= 0 || nr >= KPR_LIMIT)
		return NULL;
	return slot_load(d, nr >> KPR_SHIFT);
}

struct ks_pid *kpr_lookup(const struct kpr_dir *d, int nr)
{
	struct kpr_range *r = kpr_range_of(d, nr);

	if (!r)
		return NULL;
	return __atomic_load_n(&r->pids[nr & (KPR_SIZE - 1)], __ATOMIC_ACQUIRE);
}

struct ks_pid *kpr_find_ge(const struct kpr_dir *d, int nr, int *found)
{
	if (nr < 1)
		nr = 1;
	for (int slot = nr >> KPR_SHIFT; slot < KPR_SLOTS; slot++) {
		struct kpr_range **chunk;
		struct kpr_range *r;
		int off;

		chunk = __atomic_load_n(&d->chunks[slot >> KPR_CHUNK_SHIFT], __ATOMIC_ACQUIRE);
		if (!chunk) {
			/* skip the whole missing chunk */
			slot |= KPR_CHUNK - 1;
			continue;
		}
		r = __atomic_load_n(&chunk[slot & (KPR_CHUNK - 1)], __ATOMIC_ACQUIRE);
		if (!r)
			continue;
		off = (slot << KPR_SHIFT) >= nr ? 0 : nr & (KPR_SIZE - 1);
		/* the bitmap is a superset of the published pids: walk its bits */
		while (off < KPR_SIZE) {
			uint64_t w = __atomic_load_n(&r->bitmap[off >> 6], __ATOMIC_RELAXED);
			struct ks_pid *p;

			w >>= off & 63;
			if (!w) {
				off = (off | 63) + 1;
				continue;
			}
			off += __builtin_ctzll(w);
			p = __atomic_load_n(&r->pids[off], __ATOMIC_ACQUIRE);
			if (p) {
				*found = (slot << KPR_SHIFT) + off;
				return p;
			}
			off++;
		}
	}
	return NULL;
}

int kpr_next_zero(const uint64_t *bm, int from, int to)
{
	while (from < to) {
		uint64_t w = ~__atomic_load_n(&bm[from >> 6], __ATOMIC_RELAXED);

		w >>= from & 63;
		if (w) {
			from += __builtin_ctzll(w);
			return from < to ? from : to;
		}
		from = (from | 63) + 1;
	}
	return to;
}

struct kpr_range *kpr_range_new(struct kpr_dir *d)
{
	struct kpr_range *r = ks_mem_zalloc(d->range_type, sizeof(*r));

	if (r) {
		r->dir = d;
		r->type = d->range_type;
	}
	return r;
}

void kpr_range_free_now(struct kpr_dir *d, struct kpr_range *r)
{
	ks_mem_free(r->type, r, sizeof(*r));
}

static void range_free_rcu(struct ks_rcu_head *h)
{
	struct kpr_range *r = ks_container_of(h, struct kpr_range, rcu);

	kpr_range_free_now(r->dir, r);
}

/* The numbers of block @slot that may be handed out now: [*lo, *hi). */
static bool slot_window(const struct kpr_dir *d, int slot, int pid_max, int *lo, int *hi)
{
	int base = slot << KPR_SHIFT;
	int min = __atomic_load_n(&d->wrapped, __ATOMIC_RELAXED) ? KPR_RESERVED_PIDS : 1;
	int l = min > base ? min - base : 0;
	int h = pid_max - base;

	if (h > KPR_SIZE)
		h = KPR_SIZE;
	if (l >= h)
		return false;
	*lo = l;
	*hi = h;
	return true;
}

/* The chunk of @slot, allocated and installed (cmpxchg) if missing. */
static struct kpr_range **chunk_get(struct kpr_dir *d, int slot)
{
	struct kpr_range ***pc = &d->chunks[slot >> KPR_CHUNK_SHIFT];
	struct kpr_range **chunk = __atomic_load_n(pc, __ATOMIC_ACQUIRE), **none = NULL;

	if (chunk)
		return chunk;
	/*
	 * At most KPR_NR_CHUNKS times per namespace, so allocating here (under
	 * the directory lock for pcpu-range, GFP_ATOMIC-like) is off the hot
	 * path; a racing installer wins and we free ours.
	 */
	chunk = ks_mem_zalloc(d->chunk_type, KPR_CHUNK * sizeof(void *));
	if (!chunk)
		return NULL;
	if (!__atomic_compare_exchange_n(pc, &none, chunk, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		ks_mem_free(d->chunk_type, chunk, KPR_CHUNK * sizeof(void *));
		chunk = none;
	}
	return chunk;
}

/*
 * Fill @r for @slot, handing out from @next, then claim the empty slot with
 * a cmpxchg: the range is complete before anyone can see it. False when the
 * slot is taken.
 */
static bool install(struct kpr_range **chunk, struct kpr_range *r, int slot, int lo,
		    int hi, int next, bool detached)
{
	struct kpr_range *none = NULL;

	r->base = slot << KPR_SHIFT;
	r->slot = slot;
	r->lo = lo;
	r->hi = hi;
	r->next = next;
	r->detached = detached;
	r->state = ((uint32_t)next << KPR_ST_NEXT_SHIFT) | (detached ? KPR_ST_DETACHED : 0);
	return __atomic_compare_exchange_n(&chunk[slot & (KPR_CHUNK - 1)], &none, r, false,
					   __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}

/* Where a range of @slot with window [lo, hi) starts handing out. */
static int first_offset(const struct kpr_dir *d, int slot, int lo, int hi, bool locked)
{
	int hint = locked ? __atomic_load_n(&d->hint, __ATOMIC_RELAXED) : -1;

	if (hint >= 0 && hint >> KPR_SHIFT == slot &&
	    (hint & (KPR_SIZE - 1)) > lo && (hint & (KPR_SIZE - 1)) < hi)
		return hint & (KPR_SIZE - 1);
	return lo;
}

/*
 * One pass over the slots from the cursor, cyclically. @locked: under
 * d->lock, where an ns_last_pid hint may apply; otherwise lock-free. An
 * empty slot gets @fresh; a slot holding a detached range is offered to
 * @adopt (NULL: never), which takes it over when it still has a free
 * number at or after the offset it is given. *@out is the range the caller
 * now hands out from.
 */
static int carve(struct kpr_dir *d, struct kpr_range *fresh, int pid_max, bool locked,
		 const struct kpr_adopt *adopt, struct kpr_range **out)
{
	int nslots = (pid_max + KPR_SIZE - 1) >> KPR_SHIFT;
	int cursor = __atomic_load_n(&d->cursor, __ATOMIC_RELAXED);
	int slot = cursor, lo, hi, ret = -EAGAIN;

	/* a detached range may be retired (and freed) while we look at it */
	ks_rcu_read_lock();
	/* every slot once, plus the one visited again after the wrap */
	for (int tries = 0; tries <= nslots + 1; tries++, slot++) {
		struct kpr_range **chunk, *r;

		if (slot >= nslots) {
			slot = 0;
			__atomic_store_n(&d->wrapped, true, __ATOMIC_RELAXED);
			if (locked)
				__atomic_store_n(&d->hint, -1, __ATOMIC_RELAXED);
		}
		if (!slot_window(d, slot, pid_max, &lo, &hi))
			continue;
		r = slot_load(d, slot);
		if (r) {
			int from = first_offset(d, slot, lo, hi, locked);

			if (!adopt || !adopt->fn(r, from > r->lo ? from : r->lo, pid_max, adopt->arg))
				continue;
			__atomic_fetch_add(&d->st.adoptions, 1, __ATOMIC_RELAXED);
		} else {
			chunk = chunk_get(d, slot);
			if (!chunk) {
				ret = -ENOMEM;
				break;
			}
			if (!install(chunk, fresh, slot, lo, hi,
				     first_offset(d, slot, lo, hi, locked), false))
				continue;
			r = fresh;
			__atomic_fetch_add(&d->st.carves, 1, __ATOMIC_RELAXED);
		}
		if (locked)
			__atomic_store_n(&d->hint, -1, __ATOMIC_RELAXED);
		/* forward only; a racing carver may have moved it already */
		__atomic_compare_exchange_n(&d->cursor, &cursor, slot + 1, false,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
		*out = r;
		ret = 0;
		break;
	}
	ks_rcu_read_unlock();
	return ret;
}

int kpr_carve(struct kpr_dir *d, struct kpr_range *fresh, int pid_max,
	      const struct kpr_adopt *adopt, struct kpr_range **out)
{
	int ret;

	ks_spin_lock(&d->lock);
	ret = carve(d, fresh, pid_max, true, adopt, out);
	ks_spin_unlock(&d->lock);
	return ret;
}

int kpr_carve_lockless(struct kpr_dir *d, struct kpr_range *fresh, int pid_max,
		       const struct kpr_adopt *adopt, struct kpr_range **out)
{
	/* an ns_last_pid write is pending: let the lock apply it */
	if (__atomic_load_n(&d->hint, __ATOMIC_RELAXED) >= 0)
		return kpr_carve(d, fresh, pid_max, adopt, out);
	return carve(d, fresh, pid_max, false, adopt, out);
}

int kpr_carve_at(struct kpr_dir *d, struct kpr_range *r, int nr, int pid_max)
{
	int slot = nr >> KPR_SHIFT;
	int base = slot << KPR_SHIFT;
	int hi = pid_max - base > KPR_SIZE ? KPR_SIZE : pid_max - base;
	struct kpr_range **chunk;
	int ret = 0;

	ks_spin_lock(&d->lock);
	chunk = chunk_get(d, slot);
	if (!chunk)
		ret = -ENOMEM;
	/* detached and exhausted: it only holds what set_tid puts in it */
	else if (!install(chunk, r, slot, base ? 0 : 1, hi, hi, true))
		ret = -EEXIST;
	else
		__atomic_fetch_add(&d->st.carves, 1, __ATOMIC_RELAXED);
	ks_spin_unlock(&d->lock);
	return ret;
}

void kpr_retire(struct kpr_dir *d, struct kpr_range *r)
{
	/*
	 * Only the retirer may empty a slot that holds a range, and carvers
	 * only fill empty ones (cmpxchg): no lock needed.
	 */
	__atomic_store_n(&d->chunks[r->slot >> KPR_CHUNK_SHIFT][r->slot & (KPR_CHUNK - 1)],
			 NULL, __ATOMIC_RELEASE);
	__atomic_fetch_add(&d->st.retires, 1, __ATOMIC_RELAXED);
	ks_call_rcu(&r->rcu, range_free_rcu);
}

void kpr_reset_cursor(struct kpr_dir *d)
{
	ks_spin_lock(&d->lock);
	__atomic_store_n(&d->cursor, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&d->wrapped, false, __ATOMIC_RELAXED);
	ks_spin_unlock(&d->lock);
}

void kpr_set_last(struct kpr_dir *d, int last)
{
	ks_spin_lock(&d->lock);
	__atomic_store_n(&d->cursor, (last + 1) >> KPR_SHIFT, __ATOMIC_RELAXED);
	__atomic_store_n(&d->hint, last + 1, __ATOMIC_RELAXED);
	/* 6.18: pid_min is RESERVED_PIDS once the cursor is past it */
	__atomic_store_n(&d->wrapped, last + 1 > KPR_RESERVED_PIDS, __ATOMIC_RELAXED);
	ks_spin_unlock(&d->lock);
}

int kpr_get_last(struct kpr_dir *d)
{
	int hint = __atomic_load_n(&d->hint, __ATOMIC_RELAXED);

	if (hint >= 0)
		return hint - 1;
	return (__atomic_load_n(&d->cursor, __ATOMIC_RELAXED) << KPR_SHIFT) - 1;
}

void kpr_ns_range_stats(const struct ks_pid_ns *ns, struct ks_pid_range_stats *out)
{
	const struct kpr_dir *d = &((const struct kpr_ns *)ns->priv)->dir;

	out->carves = __atomic_load_n(&d->st.carves, __ATOMIC_RELAXED);
	out->adoptions = __atomic_load_n(&d->st.adoptions, __ATOMIC_RELAXED);
	out->retires = __atomic_load_n(&d->st.retires, __ATOMIC_RELAXED);
	out->steals = __atomic_load_n(&d->st.steals, __ATOMIC_RELAXED);
}

struct ks_pid *kpr_ns_lookup(struct ks_pid_ns *ns, int nr)
{
	struct kpr_ns *pns = ns->priv;

	return kpr_lookup(&pns->dir, nr);
}

struct ks_pid *kpr_ns_find_ge(struct ks_pid_ns *ns, int *nr)
{
	struct kpr_ns *pns = ns->priv;

	return kpr_find_ge(&pns->dir, *nr, nr);
}

int kpr_ns_last_pid(const struct ks_pid_ns *ns)
{
	struct kpr_ns *pns = ns->priv;

	return kpr_get_last(&pns->dir);
}

int kpr_ns_init(struct ks_pid_ns *ns)
{
	struct kpr_space *sp = ns->space->priv;
	struct kpr_ns *pns = ks_mem_zalloc(sp->ns_type, sizeof(*pns));
	size_t cur_bytes = sp->nr_cpus * sizeof(struct kpr_cur);
	int ret = -ENOMEM;

	if (!pns)
		return -ENOMEM;
	pns->cur = ks_mem_alloc_aligned(sp->cur_type, cur_bytes, KS_CACHELINE);
	if (pns->cur) {
		memset(pns->cur, 0, cur_bytes);
		ret = kpr_dir_init(&pns->dir, sp->range_type, sp->chunk_type, sp->dir_cls);
		if (!ret) {
			ns->priv = pns;
			return 0;
		}
		ks_mem_free(sp->cur_type, pns->cur, cur_bytes);
	}
	ks_mem_free(sp->ns_type, pns, sizeof(*pns));
	return ret;
}

void kpr_ns_fini(struct ks_pid_ns *ns)
{
	struct kpr_space *sp = ns->space->priv;
	struct kpr_ns *pns = ns->priv;

	if (!pns)
		return;
	kpr_dir_fini(&pns->dir);
	ks_mem_free(sp->cur_type, pns->cur, sp->nr_cpus * sizeof(struct kpr_cur));
	ks_mem_free(sp->ns_type, pns, sizeof(*pns));
	ns->priv = NULL;
}

void kpr_space_fini(struct ks_pid_space *s)
{
	struct kpr_space *sp = s->priv;

	if (!sp)
		return;
	if (sp->cpu) {
		for (int cpu = 0; cpu < sp->nr_cpus; cpu++)
			ks_spin_destroy(&sp->cpu[cpu]->lock);
		ks_mem_free(sp->ns_type, sp->cpu, sp->nr_cpus * sizeof(*sp->cpu));
	}
	ks_percpu_free(sp->cpus);
	ks_mem_free(sp->ns_type, sp, sizeof(*sp));
	s->priv = NULL;
}

int kpr_space_init(struct ks_pid_space *s)
{
	struct ks_mem_type *ns_type;
	struct ks_lock_class *cpu_cls;
	struct kpr_space *sp;
	int ret;

	/* the space's own block is counted with the namespaces' */
	ret = ks_pid_space_mem_type(s, "pid_range_ns", sizeof(struct kpr_ns), &ns_type);
	if (ret)
		return ret;
	sp = ks_mem_zalloc(ns_type, sizeof(*sp));
	if (!sp)
		return -ENOMEM;
	sp->ns_type = ns_type;
	s->priv = sp;
	ret = ks_pid_space_mem_type(s, "pid_range_pcpu", sizeof(struct kpr_cur), &sp->cur_type);
	if (!ret)
		ret = ks_pid_space_mem_type(s, "pid_range", sizeof(struct kpr_range),
					    &sp->range_type);
	if (!ret)
		ret = ks_pid_space_mem_type(s, "pid_range_dir", KPR_CHUNK * sizeof(void *),
					    &sp->chunk_type);
	if (!ret)
		ret = ks_pid_space_lock_class(s, "pcpu_range_lock", KS_LOCK_PERCPU, &cpu_cls);
	if (!ret)
		ret = ks_pid_space_lock_class(s, "pid_range_lock", KS_LOCK_GLOBAL, &sp->dir_cls);
	if (!ret)
		ret = ks_percpu_alloc(s->topo, sizeof(struct kpr_cpu), &sp->cpus);
	if (ret) {
		kpr_space_fini(s);
		return ret;
	}
	sp->nr_cpus = ks_percpu_nr(sp->cpus);
	sp->cpu = ks_mem_zalloc(sp->ns_type, sp->nr_cpus * sizeof(*sp->cpu));
	if (!sp->cpu) {
		kpr_space_fini(s);
		return -ENOMEM;
	}
	for (int cpu = 0; cpu < sp->nr_cpus; cpu++) {
		sp->cpu[cpu] = ks_percpu_ptr(sp->cpus, cpu);
		ks_spin_init(&sp->cpu[cpu]->lock, cpu_cls);
	}
	return 0;
}

int kpr_check_tids(struct ks_pid *pid, const struct ks_pid_req *req)
{
	int level = pid->level;

	for (int i = level; i >= 0; i--) {
		struct ks_pid_ns *ns = pid->numbers[i].ns;
		int ret;

		pid->numbers[i].nr = 0;
		if (level - i < req->set_tid_size) {
			ret = ks_pid_check_tid(ns, req->set_tid[level - i],
					       ks_pidns_pid_max(ns), req->privileged);
			if (ret)
				return ret;
		}
	}
	return 0;
}

void kpr_note_steal(struct kpr_dir *d)
{
	__atomic_fetch_add(&d->st.steals, 1, __ATOMIC_RELAXED);
}
