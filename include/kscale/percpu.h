/* SPDX-License-Identifier: MIT */
/*
 * percpu: one object per CPU of a topology, like the kernel's alloc_percpu().
 *
 * The topology must outlive the allocation. Every CPU's copy starts on its own cache line (KS_CACHELINE), is zeroed, and
 * is allocated on the CPU's NUMA node through ks_mem's node arenas where the
 * machine has more than one node. Copies of neighbouring CPUs never share a
 * line, so per-CPU counters do not create the traffic they are meant to avoid.
 */
#ifndef KSCALE_PERCPU_H
#define KSCALE_PERCPU_H

#include <kscale/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ks_topo;
struct ks_percpu; /* opaque */

/**
 * ks_percpu_alloc() - allocate one zeroed object of @size bytes per CPU.
 * @t:    topology (NULL: ks_topo_default()); the copy count is its nr_cpus.
 * @size: bytes per CPU, 1..1 MiB; rounded up to a multiple of KS_CACHELINE.
 * @out:  receives the allocation; free it with ks_percpu_free().
 *
 * Context: any thread; may sleep.
 * Return: 0; -EINVAL for NULL @out, @size 0 or over 1 MiB, or no default
 * topology; -ENOMEM.
 */
int ks_percpu_alloc(const struct ks_topo *t, size_t size, struct ks_percpu **out);

/** ks_percpu_free() - free every copy; NULL is ignored. */
void ks_percpu_free(struct ks_percpu *p);

/** ks_percpu_nr() - number of copies, or -EINVAL for NULL. */
int ks_percpu_nr(const struct ks_percpu *p);

/**
 * ks_percpu_ptr() - CPU @cpu's copy.
 * Return: the copy, or NULL for a NULL @p or @cpu outside 0..nr-1.
 */
void *ks_percpu_ptr(const struct ks_percpu *p, int cpu);

/**
 * ks_percpu_this() - the calling thread's copy: that of ks_cpu_current()
 * modulo the copy count (so an unlabelled thread still gets a valid copy).
 *
 * Context: any thread; the caller serialises access to the copy itself (with
 * a per-CPU lock, or because only the thread labelled with that CPU uses it).
 * Return: the copy, or NULL for a NULL @p.
 */
void *ks_percpu_this(const struct ks_percpu *p);

/** ks_percpu_this_cpu() - the index ks_percpu_this() uses; -EINVAL for NULL. */
int ks_percpu_this_cpu(const struct ks_percpu *p);

#ifdef __cplusplus
}
#endif

#endif /* KSCALE_PERCPU_H */
