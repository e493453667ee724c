/* SPDX-License-Identifier: MIT */
/*
 * For the task layer: the lock class and memory types of an mm, resolved
 * once, so that fork() (copy_mm() -> mm_alloc()) takes no registry mutex.
 */
#ifndef KSCALE_MM_INTERNAL_H
#define KSCALE_MM_INTERNAL_H

#include <kscale/mm.h>

struct ks_mem_type;
struct ks_lock_class;

struct ks_mm_cache {
	struct ks_mem *mem;
	struct ks_lock_class *cls; /* "mmap_lock", or NULL: uncounted */
	struct ks_mem_type *t_mm, *t_vma, *t_pgtable, *t_page;
};

/*
 * ks_mm_cache_init() - resolve @opts (whose @mem must be set) into @c.
 * Return: 0; -EINVAL for NULL arguments or no @opts->mem; errors of
 * ks_lock_class_get() and ks_mem_type_get().
 */
int ks_mm_cache_init(const struct ks_mm_opts *opts, struct ks_mm_cache *c);

/* ks_mm_create_cached() - ks_mm_create() from a resolved cache: 0 or -ENOMEM. */
int ks_mm_create_cached(const struct ks_mm_cache *c, struct ks_mm **out);

#endif /* KSCALE_MM_INTERNAL_H */
