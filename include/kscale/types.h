/* SPDX-License-Identifier: MIT */
/*
 * Types shared by every subsystem.
 */
#ifndef KSCALE_TYPES_H
#define KSCALE_TYPES_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Size of a cache line; per-CPU data and hot counters are aligned to it. */
#define KS_CACHELINE 64
#define ks_cacheline_aligned __attribute__((aligned(KS_CACHELINE)))

/**
 * struct ks_strategy_info - one selectable strategy of a subsystem.
 * @name:    the name used to select it at run time ("idr-relock").
 * @summary: one line saying what it is.
 * @source:  the kernel file and function, patch or thread it models or comes
 *           from ("kernel/pid.c alloc_pid(), Linux 6.18").
 *
 * Every subsystem exports ks_<sub>_strategies(size_t *n) returning a static
 * array of these; the same text feeds the README and docs tables.
 */
struct ks_strategy_info {
	const char *name;
	const char *summary;
	const char *source;
};

/** Return the number of elements of a true array. */
#define KS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/** container_of, as in the kernel. */
#define ks_container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

#ifdef __cplusplus
}
#endif

#endif /* KSCALE_TYPES_H */
