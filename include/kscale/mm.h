/* SPDX-License-Identifier: MIT */
/*
 * mm: an address space, modelled on Linux 6.18 include/linux/mm_types.h
 * (struct mm_struct, struct vm_area_struct), kernel/fork.c (mm_alloc(),
 * mmget(), mmput(), mmgrab(), mmdrop()) and mm/mmap.c (exit_mmap()).
 *
 * A struct ks_mm holds VMAs, each a range of KS_PAGE_SIZE pages that really
 * hold memory: ks_mm_map() allocates and touches every page through ks_mem
 * (type "mm_page"; the mm itself is "mm_struct", VMAs "vm_area_struct" and
 * their page tables "mm_pgtable"), as MAP_POPULATE would, so freeing an
 * address space is real work whose speed depends on where it runs.
 *
 * Two counts, as in the kernel:
 *  - mm_users: the users of the address space (every thread with it as
 *    its ->mm, plus temporary users of ks_mmget()). The last ks_mmput()
 *    runs exit_mmap(): every page is freed, MMF_OOM_SKIP is set, every VMA
 *    is removed; then it drops the users' mm_count reference.
 *  - mm_count: references to the struct itself (ks_mmgrab()); mm_users > 0
 *    holds one. The last ks_mmdrop() frees the struct.
 *
 * mmap_lock is a reader/writer lock (ks_rwsem, lock class "mmap_lock").
 * Pages are freed under it taken for read by both the OOM reaper and
 * exit_mmap()'s first stage, concurrently: each page slot is taken with an
 * atomic exchange, so two zaps never free a page twice (the kernel's page
 * table lock plays that part).
 *
 * Owners (beyond the kernel). Besides mm_users the mm counts the thread
 * groups that use it and are not dying (KS_MM_OWNERS: maintained by the task
 * layer on clone, on SIGKILL or group exit, and when a group's last thread
 * leaves the mm). It lets task_will_free_mem()'s "does a live process share
 * this mm?" be answered in O(1) rather than by walking every process, as
 * Shakeel Butt asked of process_mrelease in June 2021.
 *
 * Threads. Every function may be called from any thread (no RCU
 * registration needed) unless its Context says otherwise.
 */
#ifndef KSCALE_MM_H
#define KSCALE_MM_H

#include <kscale/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ks_topo;
struct ks_lockstat;
struct ks_mem;
struct ks_mm; /* opaque: an address space */

/** Size of one modelled page. */
#define KS_PAGE_SIZE 4096UL

/* VMA flags (vm_flags), as the kernel's VM_* bits mean them. */
#define KS_VM_SHARED  (1u << 0) /* MAP_SHARED (shmem when anonymous) */
#define KS_VM_LOCKED  (1u << 1) /* mlock()ed */
#define KS_VM_HUGETLB (1u << 2) /* hugetlbfs: the OOM reaper skips it */
#define KS_VM_PFNMAP  (1u << 3) /* remap_pfn_range(): the OOM reaper skips it */
#define KS_VM_ALL     (KS_VM_SHARED | KS_VM_LOCKED | KS_VM_HUGETLB | KS_VM_PFNMAP)

/* mm flags (mm->flags, MMF_*). */
#define KS_MMF_OOM_SKIP  (1u << 0) /* reaped or exit_mmap() done: skip it */
#define KS_MMF_UNSTABLE  (1u << 1) /* the reaper unmapped part of it */
#define KS_MMF_REAP_QUEUED (1u << 2) /* on the oom_reaper's list */

/**
 * struct ks_mm_opts - options of ks_mm_create(); {0} gives defaults.
 * @topo:  topology (NULL: ks_topo_default()); must outlive the mm.
 * @locks: lock_stat registry for "mmap_lock" (NULL: uncounted).
 * @mem:   accounting domain for pages and structures (NULL: a private domain
 *         owned by the mm, destroyed with it); must outlive the mm.
 */
struct ks_mm_opts {
	const struct ks_topo *topo;
	struct ks_lockstat *locks;
	struct ks_mem *mem;
};

/**
 * struct ks_vma_info - what ks_mm_for_each_vma() shows of a VMA.
 * @start, @end: the range, page aligned (end exclusive).
 * @vm_flags:    KS_VM_* bits.
 * @file:        the mapped file's path, or NULL for anonymous memory; valid
 *               during the callback only.
 * @resident:    pages still present (not yet zapped).
 */
struct ks_vma_info {
	unsigned long start;
	unsigned long end;
	unsigned int vm_flags;
	const char *file;
	size_t resident;
};

/**
 * struct ks_mm_stats - counts of one mm.
 * @users, @count:  mm_users and mm_count now.
 * @owners:         thread groups using it and not dying (KS_MM_OWNERS).
 * @flags:          KS_MMF_* bits.
 * @nr_vmas:        VMAs mapped.
 * @resident:       pages present, all VMAs.
 * @anon_resident:  of those, in private anonymous VMAs (MM_ANONPAGES).
 * @pages_freed:    cumulative pages freed by zaps (reaper and exit).
 */
struct ks_mm_stats {
	int users;
	int count;
	int owners;
	unsigned int flags;
	size_t nr_vmas;
	size_t resident;
	size_t anon_resident;
	uint64_t pages_freed;
};

/**
 * ks_mm_create() - a new, empty address space (mm_alloc()): mm_users 1,
 * mm_count 1, owners 0.
 * @opts: options (NULL: defaults). @out: receives the mm.
 * Context: any thread; may sleep.
 * Return: 0; -EINVAL for NULL @out; -ENOMEM; -ENOSPC when the lock_stat
 * registry is full; errors of ks_mem_type_get().
 */
int ks_mm_create(const struct ks_mm_opts *opts, struct ks_mm **out);

/**
 * ks_mmget() - take an mm_users reference (mmget()); the caller must hold
 * one already (or a task_lock()ed ->mm, see task.h).
 * Return: 0; -EINVAL for NULL or an mm whose users reached zero.
 */
int ks_mmget(struct ks_mm *mm);

/**
 * ks_mmget_not_zero() - mmget_not_zero(): take a users reference unless
 * exit_mmap() has begun.
 * Return: 1 taken; 0 when users is zero; -EINVAL for NULL.
 */
int ks_mmget_not_zero(struct ks_mm *mm);

/**
 * ks_mmput() - drop an mm_users reference (mmput()). The last one runs
 * exit_mmap() in the caller: frees every page and VMA, sets
 * KS_MMF_OOM_SKIP, then drops mm_count (which may free the struct).
 * Context: may sleep (takes mmap_lock for write).
 * Return: 0; -EINVAL for NULL or users already zero (a double put).
 */
int ks_mmput(struct ks_mm *mm);

/**
 * ks_mmgrab() - take an mm_count reference (mmgrab()): the struct stays,
 * its memory may go. Return: 0; -EINVAL for NULL or a count at zero.
 */
int ks_mmgrab(struct ks_mm *mm);

/**
 * ks_mmdrop() - drop an mm_count reference (mmdrop()); the last frees the
 * struct. Return: 0; -EINVAL for NULL or a count at zero.
 */
int ks_mmdrop(struct ks_mm *mm);

/**
 * ks_mm_stats() - snapshot the counts. Context: any thread holding a
 * reference (users or count). Return: 0; -EINVAL for NULL arguments.
 */
int ks_mm_stats(const struct ks_mm *mm, struct ks_mm_stats *out);

/**
 * ks_mm_flags() - the KS_MMF_* bits (test_bit(MMF_*, &mm->flags)).
 * Return: the bits (>= 0); -EINVAL for NULL.
 */
int ks_mm_flags(const struct ks_mm *mm);

/**
 * ks_mm_set_flags() - atomically set KS_MMF_* bits (set_bit()).
 * Return: the bits before (>= 0); -EINVAL for NULL or unknown bits.
 */
int ks_mm_set_flags(struct ks_mm *mm, unsigned int bits);

/**
 * ks_mm_map() - map and populate @len bytes (mmap(MAP_POPULATE)): a new
 * VMA at the next free address, every page allocated and written.
 * @mm:       the mm (caller holds a users reference).
 * @len:      bytes, > 0, rounded up to pages; at most 1 TiB.
 * @vm_flags: KS_VM_* bits.
 * @file:     path of the mapped file (copied), or NULL for anonymous memory.
 * @start:    receives the VMA's start (may be NULL).
 *
 * Context: may sleep; takes mmap_lock for write.
 * Return: 0; -EINVAL for NULL @mm, @len 0 or too big, unknown @vm_flags, an
 * empty @file or one longer than 4095 bytes; -ESRCH after exit_mmap()
 * began (users zero); -ENOMEM (nothing is left mapped).
 */
int ks_mm_map(struct ks_mm *mm, size_t len, unsigned int vm_flags, const char *file,
	      unsigned long *start);

/**
 * ks_mm_unmap() - munmap() the whole VMA that starts at @start, freeing its
 * pages. Context: takes mmap_lock for write.
 * Return: 0; -EINVAL for NULL @mm or no VMA starting at @start.
 */
int ks_mm_unmap(struct ks_mm *mm, unsigned long start);

/**
 * ks_mm_for_each_vma() - call @fn on every VMA in address order (the VMA
 * iterator of show_map(), proc_map_files_readdir()).
 * @fn: returns 0 to go on; a nonzero return stops the walk and is returned.
 *      It runs with mmap_lock held for read: it must not call into @mm
 *      except ks_mm_stats() and ks_mm_flags().
 * Context: takes mmap_lock for read.
 * Return: 0 after a full walk; @fn's nonzero return; -EINVAL for NULL @mm
 * or @fn.
 */
int ks_mm_for_each_vma(struct ks_mm *mm, int (*fn)(const struct ks_vma_info *vma, void *arg),
		       void *arg);

/* ---- mmap_lock ---------------------------------------------------------- */

/** ks_mmap_read_lock() - mmap_read_lock(). Return: 0; -EINVAL for NULL. */
int ks_mmap_read_lock(struct ks_mm *mm);

/**
 * ks_mmap_read_trylock() - mmap_read_trylock() (the oom_reaper's attempt).
 * Return: 1 taken; 0 busy (a writer holds or waits); -EINVAL for NULL.
 */
int ks_mmap_read_trylock(struct ks_mm *mm);

/**
 * ks_mmap_read_lock_killable() - mmap_read_lock_killable(): wait for the
 * lock unless the caller is "killed" meanwhile.
 * @fatal: called while waiting (at least once per millisecond); nonzero
 *         means a fatal signal is pending for the caller. NULL: never.
 * Return: 0 with the lock held; -EINTR when @fatal said so before the lock
 * was taken; -EINVAL for NULL @mm.
 */
int ks_mmap_read_lock_killable(struct ks_mm *mm, int (*fatal)(void *arg), void *arg);

/** ks_mmap_read_unlock() - Return: 0; -EINVAL for NULL. */
int ks_mmap_read_unlock(struct ks_mm *mm);
/** ks_mmap_write_lock() - Return: 0; -EINVAL for NULL. */
int ks_mmap_write_lock(struct ks_mm *mm);
/** ks_mmap_write_unlock() - Return: 0; -EINVAL for NULL. */
int ks_mmap_write_unlock(struct ks_mm *mm);

/**
 * ks_mm_zap() - free the pages of the VMAs @want selects, leaving the VMAs
 * mapped (unmap_page_range() as __oom_reap_task_mm() uses it).
 * @mm:        the mm; the caller holds mmap_lock (read or write) and a
 *             reference (users or count).
 * @want:      called per VMA with mmap_lock held; nonzero selects it.
 *             NULL: every VMA.
 * @arg:       for @want.
 * @max_pages: stop after freeing this many pages (0: no limit), so a caller
 *             can model a slow CPU by zapping in slices.
 *
 * Concurrent zaps of the same pages (reaper and exit) each free a page at
 * most once.
 * Context: the caller holds mmap_lock; does not sleep.
 * Return: pages freed (>= 0); -EINVAL for NULL @mm.
 */
long ks_mm_zap(struct ks_mm *mm, int (*want)(const struct ks_vma_info *vma, void *arg),
	       void *arg, size_t max_pages);

/* ---- owners (beyond the kernel; maintained by the task layer) ----------- */

/**
 * ks_mm_owners_add() - add @delta (+1 or -1) to the count of live thread
 * groups using @mm. The task layer calls it when a group starts using the
 * mm (a new process, or clone with CLONE_VM without CLONE_THREAD: +1), and
 * when a group stops being a live user (it is killed or starts a group
 * exit, or, if it never was, its last thread leaves the mm: -1), exactly
 * once each.
 * Return: the new count (>= 0); -EINVAL for NULL @mm, @delta not +-1, or a
 * count that would go negative (nothing changes).
 */
int ks_mm_owners_add(struct ks_mm *mm, int delta);

/** ks_mm_owners() - the live owner count. Return: >= 0; -EINVAL for NULL. */
int ks_mm_owners(const struct ks_mm *mm);

#ifdef __cplusplus
}
#endif

#endif /* KSCALE_MM_H */
