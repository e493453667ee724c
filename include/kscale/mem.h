/* SPDX-License-Identifier: MIT */
/*
 * mem: allocation with per-type accounting, like /proc/slabinfo.
 *
 * A struct ks_mem is an accounting domain (one per measurement, like a
 * ks_lockstat). Within it, a type ("pid", "dentry", "proc_inode") counts live
 * objects and bytes, and cumulative allocations, frees and bytes allocated;
 * counters are per-CPU and summed on read, so accounting adds no shared cache
 * line to a hot path. Memory comes from jemalloc (an arena per NUMA node where
 * the machine has more than one, so ks_mem_alloc_node() places memory) in
 * normal builds, and from libc malloc in sanitizer builds, where ASan and TSan
 * must see every allocation. Debian's jemalloc is not prefixed: linking kscale
 * with it replaces malloc() for the whole process.
 *
 * Frees are sized (the caller passes the size it allocated, as with the
 * kernel's kmem_cache_free() knowing its cache), so the accounting is exact
 * without a header per object.
 */
#ifndef KSCALE_MEM_H
#define KSCALE_MEM_H

#include <kscale/types.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ks_topo;
struct ks_mem;      /* opaque accounting domain */
struct ks_mem_type; /* opaque, owned by its domain */

#define KS_MEM_TYPE_NAME_MAX 48

/** struct ks_mem_type_stats - one type's counts, summed over CPUs. */
struct ks_mem_type_stats {
	char name[KS_MEM_TYPE_NAME_MAX];
	size_t objsize;          /* the size given at ks_mem_type_get() */
	int64_t live_objs;       /* allocated and not yet freed */
	int64_t live_bytes;
	uint64_t allocs;         /* cumulative */
	uint64_t frees;
	uint64_t bytes_allocated; /* cumulative */
	uint64_t failed;         /* allocations that returned NULL */
};

/**
 * ks_mem_create() - a new accounting domain.
 * @t:   topology for per-CPU counters and node placement (NULL: default).
 * @out: receives the domain.
 * Return: 0; -EINVAL for NULL @out; -ENOMEM.
 */
int ks_mem_create(const struct ks_topo *t, struct ks_mem **out);

/**
 * ks_mem_destroy() - free the domain and its types. Objects still live are
 * not freed (they belong to their owner) but are counted: the return value is
 * the number of live objects left, so a caller can report leaks.
 * Return: >= 0, or -EINVAL for NULL.
 */
long ks_mem_destroy(struct ks_mem *m);

/**
 * ks_mem_type_get() - find or create type @name.
 * @objsize: the nominal object size (for the table; allocations may differ).
 * Context: any thread; takes the domain's internal mutex (not a hot path).
 * Return: 0; -EINVAL for NULL arguments or a name empty or over 47 chars;
 * (names are 1..47 printable characters without blanks, so the table splits
 * on spaces); -ENOSPC past 256 types; -ENOMEM.
 */
int ks_mem_type_get(struct ks_mem *m, const char *name, size_t objsize,
		    struct ks_mem_type **out);

/**
 * ks_mem_alloc() - allocate @size bytes accounted to @type, on the calling
 * CPU's node. ks_mem_zalloc() zeroes them. ks_mem_alloc_node() places them on
 * NUMA node @node (-1: local). ks_mem_alloc_aligned() aligns to @align (a
 * power of two).
 *
 * Context: any thread. Never takes a shared lock.
 * Return: the memory, or NULL for a NULL @type, @size 0 or over 1 GiB, a bad
 * @node or @align, an injected failure (ks_mem_fail_nth()) or real ENOMEM.
 */
void *ks_mem_alloc(struct ks_mem_type *type, size_t size);
void *ks_mem_zalloc(struct ks_mem_type *type, size_t size);
void *ks_mem_alloc_node(struct ks_mem_type *type, size_t size, int node);
void *ks_mem_alloc_aligned(struct ks_mem_type *type, size_t size, size_t align);

/**
 * ks_mem_free() - free @p, which was allocated from @type with @size bytes.
 * NULL @p is ignored. Return: 0; -EINVAL for NULL @type, @size 0, or a @size
 * that does not match the allocation where the backend can tell (always under
 * ASan/TSan; with jemalloc or glibc only a size larger than the object): the
 * object is then left allocated, never freed with the wrong size.
 */
int ks_mem_free(struct ks_mem_type *type, void *p, size_t size);

/**
 * ks_mem_read() - snapshot every type.
 * @out: array of @max; @n receives the number of types.
 * Return: 0, or -EINVAL for NULL @m or @n, or NULL @out with @max > 0.
 */
int ks_mem_read(const struct ks_mem *m, struct ks_mem_type_stats *out,
		size_t max, size_t *n);

/**
 * ks_mem_type_read() - snapshot one type. Return: 0 or -EINVAL.
 */
int ks_mem_type_read(const struct ks_mem_type *type,
		     struct ks_mem_type_stats *out);

/**
 * ks_mem_totals() - live bytes and cumulative bytes allocated over all types.
 * Either pointer may be NULL. Return: 0 or -EINVAL for NULL @m.
 */
int ks_mem_totals(const struct ks_mem *m, int64_t *live_bytes,
		  uint64_t *bytes_allocated);

/**
 * ks_mem_print() - write a /proc/slabinfo-like table: name, live objects,
 * object size, live bytes, allocations, frees.
 * Return: 0, -EINVAL for NULL arguments, -EIO when writing failed.
 */
int ks_mem_print(const struct ks_mem *m, FILE *f);

/**
 * ks_mem_fail_nth() - fault injection: make the @nth next allocation in @m
 * (1 = the very next) return NULL, then allocate normally again; 0 disarms.
 * ks_mem_fail_every() makes every allocation from the @nth on fail until
 * disarmed with 0.
 * Return: 0 or -EINVAL for NULL @m.
 */
int ks_mem_fail_nth(struct ks_mem *m, uint64_t nth);
int ks_mem_fail_every(struct ks_mem *m, uint64_t nth);

/** ks_mem_backend() - "jemalloc 5.3.0-..." or "libc". */
const char *ks_mem_backend(void);

#ifdef __cplusplus
}
#endif

#endif /* KSCALE_MEM_H */
