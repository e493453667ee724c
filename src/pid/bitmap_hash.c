// SPDX-License-Identifier: MIT
/*
 * bitmap-hash: the pid allocator of Linux up to 4.14.
 * Models kernel/pid.c alloc_pidmap(), set_last_pid(), free_pidmap(),
 * next_pidmap(), alloc_pid(), free_pid(), find_pid_ns(), find_ge_pid() and
 * pidhash_init(), Linux 4.14 (replaced in 4.15 by 95846ecf9dac "pid: replace
 * pid bitmap implementation with IDR API" and "pid: remove pidhash").
 *
 * Per namespace: 128 bitmap pages of 32768 bits (PIDMAP_ENTRIES for
 * PID_MAX_LIMIT 4194304), allocated on first use and never freed, each with
 * an atomic nr_free; numbers are taken with a lockless test-and-set and
 * last_pid is moved forward with a cmpxchg loop that never moves it back
 * (pid_before()). One global hash of every level of every pid, chained
 * through a link per level (4.14's struct upid.pid_chain, here in the
 * strategy's per-level block of struct ks_pid), serves lookups under RCU.
 * The global "pidmap_lock" guards only the hash (and page installation):
 * one acquisition per alloc (publication) and one per free, at any depth.
 *
 * Where it differs from Linux 6.18 numbering (flag KS_PID_NUMBERING_4_14):
 *  - the search starts at last_pid + 1 and wraps to RESERVED_PIDS (300),
 *    never to 1, even while last_pid is below 300 (6.18 wraps to 1 then);
 *  - when last_pid == 300 the wrap gives up (4.14's "last == offset" break)
 *    and a first pass that starts mid-page rescans that page once more;
 *  - ns_last_pid reads last_pid itself: 0 in a namespace that never
 *    allocated (6.18 reads the IDR cursor - 1, i.e. -1);
 *  - pid_max is the namespace's (6.14+), read once per allocation, where
 *    4.14 had one global pid_max;
 *  - set_tid (clone3, 5.5) did not exist: it is the exact bit's
 *    test-and-set here, -EEXIST when taken, not moving last_pid;
 *  - 4.14 took pidmap_lock with interrupts off (spin_lock_irq); there are
 *    no interrupts here.
 * The hash has 4096 buckets: pidhash_init()'s alloc_large_system_hash()
 * limit, reached on machines with 1 GiB or more; hash_long(nr + ns) is
 * hash_64() with GOLDEN_RATIO_64 (include/linux/hash.h).
 */
#include <errno.h>
#include <string.h>

#include "pid/pid_internal.h"

#define BH_BITS_PER_PAGE 32768 /* PAGE_SIZE * 8 */
#define BH_PAGE_BYTES (BH_BITS_PER_PAGE / 8)
#define BH_MASK (BH_BITS_PER_PAGE - 1)
#define BH_PIDMAP_ENTRIES ((KS_PID_MAX_LIMIT + BH_BITS_PER_PAGE - 1) / BH_BITS_PER_PAGE)
#define BH_HASH_SHIFT 12
#define BH_GOLDEN_RATIO_64 0x61C8864680B583EBull

/* struct upid's pid_chain, with the number and namespace it hashes. */
struct bh_link {
	struct bh_link *next;
	struct bh_link **pprev;
	int nr;
	struct ks_pid_ns *ns;
	struct ks_pid *pid;
};

struct bh_pidmap {
	int nr_free; /* atomic_t */
	uint64_t *page;
};

struct bh_ns {
	struct bh_pidmap pidmap[BH_PIDMAP_ENTRIES];
	int last_pid; /* cmpxchg'd */
};

struct bh_space {
	struct ks_spinlock pidmap_lock;
	struct bh_link **hash; /* [1 << BH_HASH_SHIFT] hlist heads (RCU) */
	struct ks_mem_type *space_type, *ns_type, *page_type, *hash_type;
};

static unsigned int pid_hashfn(int nr, const struct ks_pid_ns *ns)
{
	uint64_t v = (uint64_t)(unsigned long)nr + (uint64_t)(uintptr_t)ns;

	return (unsigned int)((v * BH_GOLDEN_RATIO_64) >> (64 - BH_HASH_SHIFT));
}

static struct bh_link *link_of(struct ks_pid *pid, int i)
{
	return ks_pid_upid_priv(pid, i);
}

/* hlist_add_head_rcu(), under pidmap_lock. */
static void hash_add(struct bh_link **head, struct bh_link *l)
{
	struct bh_link *first = *head;

	l->next = first;
	l->pprev = head;
	if (first)
		first->pprev = &l->next;
	__atomic_store_n(head, l, __ATOMIC_RELEASE);
}

/* hlist_del_rcu(), under pidmap_lock: l->next stays for readers on @l. */
static void hash_del(struct bh_link *l)
{
	struct bh_link *next = l->next;

	__atomic_store_n(l->pprev, next, __ATOMIC_RELEASE);
	if (next)
		next->pprev = l->pprev;
}

/* Install a zeroed page if the map has none (outside the lock, as 4.14). */
static uint64_t *map_page(struct bh_space *bs, struct bh_ns *bns, struct bh_pidmap *map)
{
	uint64_t *page = __atomic_load_n(&map->page, __ATOMIC_ACQUIRE);

	if (page)
		return page;
	page = ks_mem_zalloc(bs->page_type, BH_PAGE_BYTES);
	if (!page)
		return NULL;
	if (map == &bns->pidmap[0])
		page[0] = 1; /* pid 0 is reserved; nr_free was set to match */
	ks_spin_lock(&bs->pidmap_lock);
	if (!map->page) {
		__atomic_store_n(&map->page, page, __ATOMIC_RELEASE);
		page = NULL;
	}
	ks_spin_unlock(&bs->pidmap_lock);
	if (page)
		ks_mem_free(bs->page_type, page, BH_PAGE_BYTES);
	return __atomic_load_n(&map->page, __ATOMIC_ACQUIRE);
}

static bool test_and_set(uint64_t *page, int off)
{
	uint64_t bit = 1ull << (off & 63);

	return __atomic_fetch_or(&page[off >> 6], bit, __ATOMIC_ACQ_REL) & bit;
}

static int find_next(const uint64_t *page, int off, bool zero)
{
	while (off < BH_BITS_PER_PAGE) {
		uint64_t w = __atomic_load_n(&page[off >> 6], __ATOMIC_RELAXED);

		if (zero)
			w = ~w;
		w >>= off & 63;
		if (w)
			return off + __builtin_ctzll(w);
		off = (off | 63) + 1;
	}
	return BH_BITS_PER_PAGE;
}

/* If we started walking pids at @base, is @a seen before @b? */
static bool pid_before(int base, int a, int b)
{
	return (unsigned int)(a - base) < (unsigned int)(b - base);
}

/* Move last_pid to @pid unless a racing allocator moved it further. */
static void set_last_pid(struct bh_ns *bns, int base, int pid)
{
	int prev, seen = base;

	/* a failed cmpxchg leaves the value it found in @seen */
	do {
		prev = seen;
		__atomic_compare_exchange_n(&bns->last_pid, &seen, pid, false,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	} while (prev != seen && pid_before(base, seen, pid));
}

static int alloc_pidmap(struct bh_space *bs, struct bh_ns *bns, int pid_max)
{
	int last = __atomic_load_n(&bns->last_pid, __ATOMIC_RELAXED);
	int pid = last + 1, offset, max_scan, m;

	if (pid >= pid_max)
		pid = KS_PID_RESERVED;
	offset = pid & BH_MASK;
	m = pid / BH_BITS_PER_PAGE;
	/* a first page entered mid-way is scanned a second time from 0 */
	max_scan = (pid_max + BH_BITS_PER_PAGE - 1) / BH_BITS_PER_PAGE - !offset;
	for (int i = 0; i <= max_scan; i++) {
		struct bh_pidmap *map = &bns->pidmap[m];
		uint64_t *page = map_page(bs, bns, map);

		if (!page)
			return -ENOMEM;
		if (__atomic_load_n(&map->nr_free, __ATOMIC_RELAXED)) {
			for (;;) {
				if (!test_and_set(page, offset)) {
					__atomic_fetch_sub(&map->nr_free, 1, __ATOMIC_RELAXED);
					set_last_pid(bns, last, pid);
					return pid;
				}
				offset = find_next(page, offset, true);
				if (offset >= BH_BITS_PER_PAGE)
					break;
				pid = m * BH_BITS_PER_PAGE + offset;
				if (pid >= pid_max)
					break;
			}
		}
		if (m < (pid_max - 1) / BH_BITS_PER_PAGE) {
			m++;
			offset = 0;
		} else {
			m = 0;
			offset = KS_PID_RESERVED;
			if (last == offset)
				break;
		}
		pid = m * BH_BITS_PER_PAGE + offset;
	}
	return -EAGAIN;
}

/* set_tid: the exact number. */
static int set_pidmap(struct bh_space *bs, struct bh_ns *bns, int nr)
{
	struct bh_pidmap *map = &bns->pidmap[nr / BH_BITS_PER_PAGE];
	uint64_t *page = map_page(bs, bns, map);

	if (!page)
		return -ENOMEM;
	if (test_and_set(page, nr & BH_MASK))
		return -EEXIST;
	__atomic_fetch_sub(&map->nr_free, 1, __ATOMIC_RELAXED);
	return nr;
}

static void free_pidmap(struct bh_ns *bns, int nr)
{
	struct bh_pidmap *map = &bns->pidmap[nr / BH_BITS_PER_PAGE];
	uint64_t *page = __atomic_load_n(&map->page, __ATOMIC_ACQUIRE);

	__atomic_fetch_and(&page[(nr & BH_MASK) >> 6], ~(1ull << (nr & 63)), __ATOMIC_RELEASE);
	__atomic_fetch_add(&map->nr_free, 1, __ATOMIC_RELAXED);
}

/* The next set bit after @last, or -1. */
static int next_pidmap(struct bh_ns *bns, unsigned int last)
{
	int offset, m;

	if (last >= KS_PID_MAX_LIMIT - 1)
		return -1;
	offset = (last + 1) & BH_MASK;
	for (m = (last + 1) / BH_BITS_PER_PAGE; m < BH_PIDMAP_ENTRIES; m++, offset = 0) {
		uint64_t *page = __atomic_load_n(&bns->pidmap[m].page, __ATOMIC_ACQUIRE);

		if (!page)
			continue;
		offset = find_next(page, offset, false);
		if (offset < BH_BITS_PER_PAGE)
			return m * BH_BITS_PER_PAGE + offset;
	}
	return -1;
}

/* Release the numbers of levels @from..level (4.14's out_free loop). */
static void free_levels(struct ks_pid *pid, int from)
{
	for (int i = from; i <= pid->level; i++) {
		if (pid->numbers[i].nr > 0)
			free_pidmap(pid->numbers[i].ns->priv, pid->numbers[i].nr);
	}
}

static int bh_publish(struct ks_pid *pid)
{
	struct bh_space *bs = pid->space->priv;
	struct ks_pid_ns *ns = pid->numbers[pid->level].ns;

	ks_spin_lock(&bs->pidmap_lock);
	if (!ks_pidns_adding(ns)) {
		ks_spin_unlock(&bs->pidmap_lock);
		free_levels(pid, 0);
		return -ENOMEM;
	}
	for (int i = pid->level; i >= 0; i--) {
		struct bh_link *l = link_of(pid, i);

		l->nr = pid->numbers[i].nr;
		l->ns = pid->numbers[i].ns;
		l->pid = pid;
		hash_add(&bs->hash[pid_hashfn(l->nr, l->ns)], l);
		ks_pidns_inc_allocated(l->ns);
	}
	ks_spin_unlock(&bs->pidmap_lock);
	return 0;
}

static int bh_alloc(struct ks_pid *pid, const struct ks_pid_req *req)
{
	struct bh_space *bs = pid->space->priv;
	int level = pid->level;
	int i, nr;

	for (i = 0; i <= level; i++)
		pid->numbers[i].nr = 0;
	/* innermost first, as alloc_pid() walks tmp = tmp->parent */
	for (i = level; i >= 0; i--) {
		struct ks_pid_ns *ns = pid->numbers[i].ns;
		int pid_max = ks_pidns_pid_max(ns);

		if (level - i < req->set_tid_size) {
			int tid = req->set_tid[level - i];

			nr = ks_pid_check_tid(ns, tid, pid_max, req->privileged);
			if (!nr)
				nr = set_pidmap(bs, ns->priv, tid);
		} else {
			nr = alloc_pidmap(bs, ns->priv, pid_max);
		}
		if (nr < 0) {
			free_levels(pid, i + 1);
			return nr;
		}
		pid->numbers[i].nr = nr;
	}
	if (req->publish)
		return bh_publish(pid);
	return 0;
}

static void bh_abort(struct ks_pid *pid)
{
	free_levels(pid, 0);
}

static void bh_free(struct ks_pid *pid)
{
	struct bh_space *bs = pid->space->priv;

	ks_spin_lock(&bs->pidmap_lock);
	for (int i = 0; i <= pid->level; i++) {
		hash_del(link_of(pid, i));
		ks_pidns_dec_allocated(pid->numbers[i].ns);
	}
	ks_spin_unlock(&bs->pidmap_lock);
	free_levels(pid, 0);
}

/* find_pid_ns(): walk the chain under RCU. */
static struct ks_pid *bh_lookup(struct ks_pid_ns *ns, int nr)
{
	struct bh_space *bs = ns->space->priv;
	struct bh_link *l;

	l = __atomic_load_n(&bs->hash[pid_hashfn(nr, ns)], __ATOMIC_ACQUIRE);
	for (; l; l = __atomic_load_n(&l->next, __ATOMIC_ACQUIRE)) {
		if (l->nr == nr && l->ns == ns)
			return l->pid;
	}
	return NULL;
}

/* find_ge_pid(): a hash lookup per candidate, next_pidmap() between. */
static struct ks_pid *bh_find_ge(struct ks_pid_ns *ns, int *nr)
{
	int n = *nr;

	do {
		struct ks_pid *pid = bh_lookup(ns, n);

		if (pid) {
			*nr = n;
			return pid;
		}
		n = next_pidmap(ns->priv, n);
	} while (n > 0);
	return NULL;
}

static int bh_last_pid(const struct ks_pid_ns *ns)
{
	const struct bh_ns *bns = ns->priv;

	return __atomic_load_n(&bns->last_pid, __ATOMIC_RELAXED);
}

static void bh_set_last_pid(struct ks_pid_ns *ns, int last)
{
	struct bh_ns *bns = ns->priv;

	__atomic_store_n(&bns->last_pid, last, __ATOMIC_RELAXED);
}

static void bh_disable(struct ks_pid_ns *ns)
{
	struct bh_space *bs = ns->space->priv;

	ks_spin_lock(&bs->pidmap_lock);
	ks_pidns_clear_adding(ns);
	ks_spin_unlock(&bs->pidmap_lock);
}

static int bh_ns_init(struct ks_pid_ns *ns)
{
	struct bh_space *bs = ns->space->priv;
	struct bh_ns *bns = ks_mem_zalloc(bs->ns_type, sizeof(*bns));

	if (!bns)
		return -ENOMEM;
	for (int m = 0; m < BH_PIDMAP_ENTRIES; m++)
		bns->pidmap[m].nr_free = BH_BITS_PER_PAGE;
	bns->pidmap[0].nr_free = BH_BITS_PER_PAGE - 1; /* pid 0 */
	ns->priv = bns;
	return 0;
}

static void bh_ns_fini(struct ks_pid_ns *ns)
{
	struct bh_space *bs = ns->space->priv;
	struct bh_ns *bns = ns->priv;

	if (!bns)
		return;
	for (int m = 0; m < BH_PIDMAP_ENTRIES; m++) {
		if (bns->pidmap[m].page)
			ks_mem_free(bs->page_type, bns->pidmap[m].page, BH_PAGE_BYTES);
	}
	ks_mem_free(bs->ns_type, bns, sizeof(*bns));
	ns->priv = NULL;
}

static void bh_space_fini(struct ks_pid_space *s)
{
	struct bh_space *bs = s->priv;

	if (!bs)
		return;
	if (bs->hash)
		ks_mem_free(bs->hash_type, bs->hash, sizeof(*bs->hash) << BH_HASH_SHIFT);
	ks_spin_destroy(&bs->pidmap_lock);
	ks_mem_free(bs->space_type, bs, sizeof(*bs));
	s->priv = NULL;
}

static int bh_space_init(struct ks_pid_space *s)
{
	struct ks_lock_class *cls;
	struct ks_mem_type *t;
	struct bh_space *bs;
	int ret;

	ret = ks_pid_space_mem_type(s, "pidmap", sizeof(struct bh_ns), &t);
	if (ret)
		return ret;
	bs = ks_mem_zalloc(t, sizeof(*bs));
	if (!bs)
		return -ENOMEM;
	bs->space_type = t;
	bs->ns_type = t;
	s->priv = bs;
	ret = ks_pid_space_mem_type(s, "pidmap_page", BH_PAGE_BYTES, &bs->page_type);
	if (!ret)
		ret = ks_pid_space_mem_type(s, "pid_hash", sizeof(*bs->hash) << BH_HASH_SHIFT,
					    &bs->hash_type);
	if (!ret)
		ret = ks_pid_space_lock_class(s, "pidmap_lock", KS_LOCK_GLOBAL, &cls);
	if (!ret)
		ret = ks_spin_init(&bs->pidmap_lock, cls);
	if (!ret) {
		bs->hash = ks_mem_zalloc(bs->hash_type, sizeof(*bs->hash) << BH_HASH_SHIFT);
		if (!bs->hash)
			ret = -ENOMEM;
	}
	if (ret)
		bh_space_fini(s);
	return ret;
}

const struct ks_pid_ops ks_pid_bitmap_hash_ops = {
	.info = {
		.name = "bitmap-hash",
		.summary = "4.14: per-namespace bitmap pages, lockless test-and-set and "
			   "cmpxchg'd last_pid; one global hash under pidmap_lock",
		.source = "kernel/pid.c alloc_pidmap(), alloc_pid(), find_pid_ns(), Linux 4.14",
	},
	.flags = KS_PID_NUMBERING_4_14,
	.upid_priv = sizeof(struct bh_link),
	.space_init = bh_space_init,
	.space_fini = bh_space_fini,
	.ns_init = bh_ns_init,
	.ns_fini = bh_ns_fini,
	.alloc = bh_alloc,
	.publish = bh_publish,
	.abort = bh_abort,
	.free = bh_free,
	.lookup = bh_lookup,
	.find_ge = bh_find_ge,
	.last_pid = bh_last_pid,
	.set_last_pid = bh_set_last_pid,
	.disable = bh_disable,
};
