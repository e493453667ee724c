// SPDX-License-Identifier: MIT
/*
 * An address space: mm_struct with its VMAs and their pages, mm_users and
 * mm_count, mmap_lock, and the page zap that the OOM reaper and exit_mmap()
 * share. Models kernel/fork.c mm_alloc(), mmget(), mmput(), mmgrab(),
 * mmdrop(), mm/mmap.c exit_mmap() and mm/memory.c unmap_page_range(),
 * Linux 6.18. The owner count is beyond the kernel (see mm.h).
 */
#include "mm/mm_internal.h"

#include <kscale/lock.h>
#include <kscale/mem.h>
#include <kscale/mm.h>
#include <kscale/topo.h>

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#define KS_MM_MAX_LEN (1UL << 40) /* 1 TiB */
#define KS_MM_FILE_MAX 4095
/* where the first VMA goes, as mmap_base leaves the low pages unmapped */
#define KS_MM_BASE 0x10000UL

/*
 * A VMA: one range and its "page table", an array with one slot per page.
 * The list is ordered by address and changes only under mmap_lock for
 * write; slots are emptied by atomic exchange under mmap_lock for read.
 */
struct ks_vma {
	struct ks_vma *next;
	unsigned long start;
	unsigned long end;
	unsigned int vm_flags;
	size_t nr_pages;
	size_t resident; /* atomic */
	void **pages;    /* "mm_pgtable" */
	size_t file_len; /* 0: anonymous */
	char file[];     /* the path, allocated with the VMA */
};

struct ks_mm {
	int mm_users;        /* atomic */
	int mm_count;        /* atomic */
	int owners;          /* atomic (KS_MM_OWNERS) */
	unsigned int flags;  /* atomic, KS_MMF_* */
	struct ks_rwsem mmap_lock;
	struct ks_vma *vmas; /* under mmap_lock */
	size_t nr_vmas;      /* written under mmap_lock for write, read atomically */
	unsigned long next_addr;
	size_t resident;      /* atomic */
	size_t anon_resident; /* atomic */
	uint64_t pages_freed; /* atomic */
	struct ks_mem *mem;
	bool own_mem;
	struct ks_mem_type *t_mm, *t_vma, *t_pgtable, *t_page;
};

static bool vma_is_anon_private(const struct ks_vma *vma)
{
	return !vma->file_len && !(vma->vm_flags & KS_VM_SHARED);
}

static size_t vma_size(const struct ks_vma *vma)
{
	return sizeof(*vma) + (vma->file_len ? vma->file_len + 1 : 0);
}

static void vma_info(const struct ks_vma *vma, struct ks_vma_info *info)
{
	info->start = vma->start;
	info->end = vma->end;
	info->vm_flags = vma->vm_flags;
	info->file = vma->file_len ? vma->file : NULL;
	info->resident = __atomic_load_n(&vma->resident, __ATOMIC_RELAXED);
}

int ks_mm_cache_init(const struct ks_mm_opts *opts, struct ks_mm_cache *c)
{
	int r = 0;

	if (!opts || !c || !opts->mem)
		return -EINVAL;
	memset(c, 0, sizeof(*c));
	c->mem = opts->mem;
	if (opts->locks)
		r = ks_lock_class_get(opts->locks, "mmap_lock", KS_LOCK_OBJECT, &c->cls);
	if (!r)
		r = ks_mem_type_get(c->mem, "mm_struct", sizeof(struct ks_mm), &c->t_mm);
	if (!r)
		r = ks_mem_type_get(c->mem, "vm_area_struct", sizeof(struct ks_vma), &c->t_vma);
	if (!r)
		r = ks_mem_type_get(c->mem, "mm_pgtable", sizeof(void *), &c->t_pgtable);
	if (!r)
		r = ks_mem_type_get(c->mem, "mm_page", KS_PAGE_SIZE, &c->t_page);
	return r;
}

/* mm_alloc() + mm_init(): users 1, count 1, no VMA. */
int ks_mm_create_cached(const struct ks_mm_cache *c, struct ks_mm **out)
{
	struct ks_mm *mm = ks_mem_zalloc(c->t_mm, sizeof(*mm));

	if (!mm)
		return -ENOMEM;
	mm->t_mm = c->t_mm;
	mm->t_vma = c->t_vma;
	mm->t_pgtable = c->t_pgtable;
	mm->t_page = c->t_page;
	mm->mem = c->mem;
	ks_rwsem_init(&mm->mmap_lock, c->cls);
	mm->mm_users = 1;
	mm->mm_count = 1;
	mm->next_addr = KS_MM_BASE;
	*out = mm;
	return 0;
}

int ks_mm_create(const struct ks_mm_opts *opts, struct ks_mm **out)
{
	static const struct ks_mm_opts defaults;
	struct ks_mm_opts o;
	struct ks_mm_cache c;
	bool own_mem = false;
	int r;

	if (!out)
		return -EINVAL;
	o = opts ? *opts : defaults;
	if (!o.topo)
		o.topo = ks_topo_default();
	if (!o.topo)
		return -EINVAL;
	if (!o.mem) {
		r = ks_mem_create(o.topo, &o.mem);
		if (r)
			return r;
		own_mem = true;
	}
	r = ks_mm_cache_init(&o, &c);
	if (!r)
		r = ks_mm_create_cached(&c, out);
	if (r) {
		if (own_mem)
			ks_mem_destroy(o.mem);
		return r;
	}
	(*out)->own_mem = own_mem;
	return 0;
}

/* Increment @v unless it is zero (atomic_inc_not_zero()). */
static bool inc_not_zero(int *v)
{
	int c = __atomic_load_n(v, __ATOMIC_RELAXED);

	while (c > 0)
		if (__atomic_compare_exchange_n(v, &c, c + 1, false, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return true;
	return false;
}

/* Decrement @v unless it is zero; *@last tells whether it reached zero. */
static int dec_checked(int *v, bool *last)
{
	int c = __atomic_load_n(v, __ATOMIC_RELAXED);

	while (c > 0)
		if (__atomic_compare_exchange_n(v, &c, c - 1, false, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED)) {
			*last = c == 1;
			return 0;
		}
	return -EINVAL;
}

int ks_mmget(struct ks_mm *mm)
{
	if (!mm)
		return -EINVAL;
	return inc_not_zero(&mm->mm_users) ? 0 : -EINVAL;
}

int ks_mmget_not_zero(struct ks_mm *mm)
{
	if (!mm)
		return -EINVAL;
	return inc_not_zero(&mm->mm_users);
}

int ks_mmgrab(struct ks_mm *mm)
{
	if (!mm)
		return -EINVAL;
	return inc_not_zero(&mm->mm_count) ? 0 : -EINVAL;
}

static void free_vma(struct ks_mm *mm, struct ks_vma *vma)
{
	ks_mem_free(mm->t_pgtable, vma->pages, vma->nr_pages * sizeof(void *));
	ks_mem_free(mm->t_vma, vma, vma_size(vma));
}

/* __mmdrop(): the struct goes (and the private accounting domain with it). */
static void mm_free(struct ks_mm *mm)
{
	struct ks_mem *mem = mm->mem;
	bool own = mm->own_mem;

	ks_rwsem_destroy(&mm->mmap_lock);
	ks_mem_free(mm->t_mm, mm, sizeof(*mm));
	if (own)
		ks_mem_destroy(mem);
}

int ks_mmdrop(struct ks_mm *mm)
{
	bool last;
	int r;

	if (!mm)
		return -EINVAL;
	r = dec_checked(&mm->mm_count, &last);
	if (!r && last)
		mm_free(mm);
	return r;
}

/*
 * Free the present pages of @vma, each slot taken by exchange so that a
 * concurrent zap of the same VMA never frees a page twice (the page table
 * lock's part in zap_pte_range()). Stops after @budget pages (0: none left
 * to give; the caller passes SIZE_MAX for no limit).
 */
static size_t zap_vma(struct ks_mm *mm, struct ks_vma *vma, size_t budget)
{
	size_t i, freed = 0;

	for (i = 0; i < vma->nr_pages && freed < budget; i++) {
		void *page;

		if (!__atomic_load_n(&vma->pages[i], __ATOMIC_RELAXED))
			continue;
		page = __atomic_exchange_n(&vma->pages[i], NULL, __ATOMIC_ACQ_REL);
		if (!page)
			continue;
		ks_mem_free(mm->t_page, page, KS_PAGE_SIZE);
		freed++;
	}
	if (freed) {
		__atomic_sub_fetch(&vma->resident, freed, __ATOMIC_RELAXED);
		__atomic_sub_fetch(&mm->resident, freed, __ATOMIC_RELAXED);
		if (vma_is_anon_private(vma))
			__atomic_sub_fetch(&mm->anon_resident, freed, __ATOMIC_RELAXED);
		__atomic_add_fetch(&mm->pages_freed, freed, __ATOMIC_RELAXED);
	}
	return freed;
}

long ks_mm_zap(struct ks_mm *mm, int (*want)(const struct ks_vma_info *vma, void *arg), void *arg,
	       size_t max_pages)
{
	size_t budget = max_pages ? max_pages : SIZE_MAX, freed = 0;
	struct ks_vma *vma;

	if (!mm)
		return -EINVAL;
	for (vma = mm->vmas; vma && freed < budget; vma = vma->next) {
		if (want) {
			struct ks_vma_info info;

			vma_info(vma, &info);
			if (!want(&info, arg))
				continue;
		}
		freed += zap_vma(mm, vma, budget - freed);
	}
	return (long)freed;
}

/*
 * exit_mmap() as Linux 6.1+: unmap every page with mmap_lock held for read,
 * so an OOM reaper holding it for read too may be zapping the same VMAs;
 * set MMF_OOM_SKIP; then take it for write and tear the VMAs down.
 */
static void exit_mmap(struct ks_mm *mm)
{
	struct ks_vma *vma, *next;

	ks_rwsem_read_lock(&mm->mmap_lock);
	ks_mm_zap(mm, NULL, NULL, 0);
	ks_rwsem_read_unlock(&mm->mmap_lock);
	/* the memory is gone: hide the mm from the reapers before teardown */
	__atomic_fetch_or(&mm->flags, KS_MMF_OOM_SKIP, __ATOMIC_RELEASE);

	ks_rwsem_write_lock(&mm->mmap_lock);
	vma = mm->vmas;
	mm->vmas = NULL;
	__atomic_store_n(&mm->nr_vmas, 0, __ATOMIC_RELAXED);
	ks_rwsem_write_unlock(&mm->mmap_lock);

	for (; vma; vma = next) {
		next = vma->next;
		zap_vma(mm, vma, SIZE_MAX); /* nothing left; kept for safety */
		free_vma(mm, vma);
	}
}

int ks_mmput(struct ks_mm *mm)
{
	bool last;
	int r;

	if (!mm)
		return -EINVAL;
	r = dec_checked(&mm->mm_users, &last);
	if (r || !last)
		return r;
	exit_mmap(mm);
	return ks_mmdrop(mm);
}

int ks_mm_stats(const struct ks_mm *mm, struct ks_mm_stats *out)
{
	if (!mm || !out)
		return -EINVAL;
	out->users = __atomic_load_n(&mm->mm_users, __ATOMIC_RELAXED);
	out->count = __atomic_load_n(&mm->mm_count, __ATOMIC_RELAXED);
	out->owners = __atomic_load_n(&mm->owners, __ATOMIC_RELAXED);
	out->flags = __atomic_load_n(&mm->flags, __ATOMIC_ACQUIRE);
	out->nr_vmas = __atomic_load_n(&mm->nr_vmas, __ATOMIC_RELAXED);
	out->resident = __atomic_load_n(&mm->resident, __ATOMIC_RELAXED);
	out->anon_resident = __atomic_load_n(&mm->anon_resident, __ATOMIC_RELAXED);
	out->pages_freed = __atomic_load_n(&mm->pages_freed, __ATOMIC_RELAXED);
	return 0;
}

int ks_mm_flags(const struct ks_mm *mm)
{
	if (!mm)
		return -EINVAL;
	return (int)__atomic_load_n(&mm->flags, __ATOMIC_ACQUIRE);
}

int ks_mm_set_flags(struct ks_mm *mm, unsigned int bits)
{
	unsigned int all = KS_MMF_OOM_SKIP | KS_MMF_UNSTABLE | KS_MMF_REAP_QUEUED;

	if (!mm || (bits & ~all))
		return -EINVAL;
	return (int)__atomic_fetch_or(&mm->flags, bits, __ATOMIC_ACQ_REL);
}

int ks_mm_map(struct ks_mm *mm, size_t len, unsigned int vm_flags, const char *file,
	      unsigned long *start)
{
	size_t flen = 0, nr, i, size;
	struct ks_vma *vma, **link;
	int r = 0;

	if (!mm || !len || len > KS_MM_MAX_LEN || (vm_flags & ~KS_VM_ALL))
		return -EINVAL;
	if (file) {
		flen = strnlen(file, KS_MM_FILE_MAX + 1);
		if (!flen || flen > KS_MM_FILE_MAX)
			return -EINVAL;
	}
	if (!__atomic_load_n(&mm->mm_users, __ATOMIC_ACQUIRE))
		return -ESRCH;
	nr = (len + KS_PAGE_SIZE - 1) / KS_PAGE_SIZE;
	size = sizeof(*vma) + (flen ? flen + 1 : 0);
	vma = ks_mem_zalloc(mm->t_vma, size);
	if (!vma)
		return -ENOMEM;
	vma->nr_pages = nr;
	vma->vm_flags = vm_flags;
	vma->file_len = flen;
	if (flen)
		memcpy(vma->file, file, flen + 1);
	vma->pages = ks_mem_zalloc(mm->t_pgtable, nr * sizeof(void *));
	if (!vma->pages) {
		ks_mem_free(mm->t_vma, vma, size);
		return -ENOMEM;
	}
	/*
	 * Populate before inserting (MAP_POPULATE faults pages in after the
	 * VMA is in; doing it first keeps a failed map from leaving anything
	 * behind and keeps mmap_lock short).
	 */
	for (i = 0; i < nr; i++) {
		void *page = ks_mem_alloc(mm->t_page, KS_PAGE_SIZE);

		if (!page) {
			r = -ENOMEM;
			break;
		}
		memset(page, 0x5a, KS_PAGE_SIZE); /* touch: the memory is real */
		vma->pages[i] = page;
	}
	vma->resident = i;
	if (r)
		goto out_free;

	ks_rwsem_write_lock(&mm->mmap_lock);
	if (!__atomic_load_n(&mm->mm_users, __ATOMIC_ACQUIRE)) {
		ks_rwsem_write_unlock(&mm->mmap_lock);
		r = -ESRCH;
		goto out_free;
	}
	vma->start = mm->next_addr;
	vma->end = vma->start + nr * KS_PAGE_SIZE;
	mm->next_addr = vma->end + KS_PAGE_SIZE; /* a guard gap between VMAs */
	for (link = &mm->vmas; *link; link = &(*link)->next)
		;
	*link = vma;
	__atomic_store_n(&mm->nr_vmas, mm->nr_vmas + 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&mm->resident, nr, __ATOMIC_RELAXED);
	if (vma_is_anon_private(vma))
		__atomic_add_fetch(&mm->anon_resident, nr, __ATOMIC_RELAXED);
	if (start)
		*start = vma->start;
	ks_rwsem_write_unlock(&mm->mmap_lock);
	return 0;

out_free:
	for (i = 0; i < nr; i++)
		ks_mem_free(mm->t_page, vma->pages[i], KS_PAGE_SIZE);
	free_vma(mm, vma);
	return r;
}

int ks_mm_unmap(struct ks_mm *mm, unsigned long start)
{
	struct ks_vma *vma, **link;

	if (!mm)
		return -EINVAL;
	ks_rwsem_write_lock(&mm->mmap_lock);
	for (link = &mm->vmas; (vma = *link); link = &vma->next)
		if (vma->start == start)
			break;
	if (!vma) {
		ks_rwsem_write_unlock(&mm->mmap_lock);
		return -EINVAL;
	}
	*link = vma->next;
	__atomic_store_n(&mm->nr_vmas, mm->nr_vmas - 1, __ATOMIC_RELAXED);
	/* no zap can run: they hold mmap_lock for read */
	zap_vma(mm, vma, SIZE_MAX);
	ks_rwsem_write_unlock(&mm->mmap_lock);
	free_vma(mm, vma);
	return 0;
}

int ks_mm_for_each_vma(struct ks_mm *mm, int (*fn)(const struct ks_vma_info *vma, void *arg),
		       void *arg)
{
	struct ks_vma_info info;
	struct ks_vma *vma;
	int r = 0;

	if (!mm || !fn)
		return -EINVAL;
	ks_rwsem_read_lock(&mm->mmap_lock);
	for (vma = mm->vmas; vma && !r; vma = vma->next) {
		vma_info(vma, &info);
		r = fn(&info, arg);
	}
	ks_rwsem_read_unlock(&mm->mmap_lock);
	return r;
}

int ks_mmap_read_lock(struct ks_mm *mm)
{
	return mm ? ks_rwsem_read_lock(&mm->mmap_lock) : -EINVAL;
}

int ks_mmap_read_trylock(struct ks_mm *mm)
{
	return mm ? ks_rwsem_read_trylock(&mm->mmap_lock) : -EINVAL;
}

/*
 * mmap_read_lock_killable(): the kernel sleeps in the rwsem's wait queue
 * and is woken by the signal; here the waiter polls, asking @fatal between
 * tries, at least once per millisecond.
 */
int ks_mmap_read_lock_killable(struct ks_mm *mm, int (*fatal)(void *arg), void *arg)
{
	const struct timespec pause = { .tv_sec = 0, .tv_nsec = 100 * 1000 };
	unsigned int tries = 0;

	if (!mm)
		return -EINVAL;
	for (;;) {
		if (ks_rwsem_read_trylock(&mm->mmap_lock) == 1)
			return 0;
		if (fatal && fatal(arg))
			return -EINTR;
		if (!fatal) /* never killed: a plain sleeping wait */
			return ks_rwsem_read_lock(&mm->mmap_lock);
		if (++tries < 64)
			continue;
		nanosleep(&pause, NULL);
	}
}

int ks_mmap_read_unlock(struct ks_mm *mm)
{
	return mm ? ks_rwsem_read_unlock(&mm->mmap_lock) : -EINVAL;
}

int ks_mmap_write_lock(struct ks_mm *mm)
{
	return mm ? ks_rwsem_write_lock(&mm->mmap_lock) : -EINVAL;
}

int ks_mmap_write_unlock(struct ks_mm *mm)
{
	return mm ? ks_rwsem_write_unlock(&mm->mmap_lock) : -EINVAL;
}

int ks_mm_owners_add(struct ks_mm *mm, int delta)
{
	int c;

	if (!mm || (delta != 1 && delta != -1))
		return -EINVAL;
	c = __atomic_load_n(&mm->owners, __ATOMIC_RELAXED);
	do {
		if (c + delta < 0)
			return -EINVAL;
	} while (!__atomic_compare_exchange_n(&mm->owners, &c, c + delta, false, __ATOMIC_ACQ_REL,
					      __ATOMIC_RELAXED));
	return c + delta;
}

int ks_mm_owners(const struct ks_mm *mm)
{
	if (!mm)
		return -EINVAL;
	return __atomic_load_n(&mm->owners, __ATOMIC_ACQUIRE);
}
