/* SPDX-License-Identifier: MIT */
/*
 * lock internals for tests: one CPU slot's counters, so a test can check
 * that a thread labelled CPU 255 counts into slot 255. Not a public API.
 */
#ifndef KSCALE_CORE_LOCK_INTERNAL_H
#define KSCALE_CORE_LOCK_INTERNAL_H

#include <kscale/lock.h>

/**
 * ks_lock_class_read_cpu() - the counters of one CPU slot of @cls.
 * @cls: a class. @cpu: 0..nr-1 of its registry's topology. @out: receives
 * them (name and scope filled in as by ks_lockstat_read()).
 *
 * Context: any thread. Return: 0; -EINVAL for NULL arguments or @cpu out of
 * range.
 */
int ks_lock_class_read_cpu(const struct ks_lock_class *cls, int cpu,
			   struct ks_lock_class_stats *out);

#endif
