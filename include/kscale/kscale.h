/* SPDX-License-Identifier: MIT */
/*
 * kscale: Linux kernel subsystems whose scalability breaks on big machines,
 * rebuilt in userspace so that the kernel's algorithm (the baseline) and the
 * better designs can be measured side by side.
 *
 * This umbrella header includes every public header. Conventions, for every
 * function in every header:
 *  - errors are negative errno values (0 or a count on success);
 *  - NULL inputs and out-of-range values are errors, never crashes;
 *  - option structs are zero-initialisable: {0} selects the defaults;
 *  - no liburcu, hwloc or jemalloc header is ever included from here.
 */
#ifndef KSCALE_KSCALE_H
#define KSCALE_KSCALE_H

#include <kscale/version.h>
#include <kscale/types.h>
#include <kscale/topo.h>
#include <kscale/percpu.h>
#include <kscale/lock.h>
#include <kscale/mem.h>
#include <kscale/rcu.h>

#include <kscale/rcu_barrier.h>
#include <kscale/pid.h>
#include <kscale/dcache.h>
#include <kscale/procfs.h>
#include <kscale/mm.h>
#include <kscale/task.h>
#include <kscale/reap.h>
#include <kscale/slab.h>
#include <kscale/reclaim.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * ks_version() - the library's version string, e.g. "0.1.0".
 *
 * Context: any. Return: a static string.
 */
const char *ks_version(void);

/**
 * ks_dependency_versions() - versions of the libraries kscale was built with.
 * @buf: where to write "liburcu-memb 0.13.2, hwloc 2.9.0, jemalloc 5.3.0".
 * @len: size of @buf in bytes.
 *
 * Context: any.
 * Return: the length written (excluding the NUL), -EINVAL if @buf is NULL or
 * @len is 0, -ENOSPC if the text did not fit (it is truncated).
 */
int ks_dependency_versions(char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* KSCALE_KSCALE_H */
