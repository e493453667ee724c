/* SPDX-License-Identifier: MIT */
/*
 * How many entries a `find /proc/<pid>` visits (readdir + lstat, symlinks not
 * followed, net/ not descended), as a function of the entry tables and of
 * T threads, N open descriptors and M file-backed mappings. Shared by the
 * procfs workloads (their `expected_entries` metric), by
 * tests/oracle/oracle_procfs_count.c (which feeds it the running kernel's
 * tables and compares with a real walk) and by docs/procfs.md.
 *
 * Nothing here is a constant of a kernel: the table sizes come in as
 * arguments, read at run time from the real /proc or from the model's tables.
 *
 * In /proc/<tgid> (fs/proc/base.c tgid_base_stuff[]) a walk visits the
 * directory itself, its E_g entries, the fixed subdirectories' contents F_g
 * (attr/ and ns/: whatever is neither fd, fdinfo, map_files, task nor net),
 * N entries in fd/ and N in fdinfo/ (proc_readfd_common()), M in map_files/
 * (proc_map_files_readdir()), and T thread directories in task/. A thread
 * directory (tid_base_stuff[]) is itself, E_t entries, F_t in its attr/ and
 * ns/, and fd/ + fdinfo/ (2N, all threads sharing one files table). So
 *
 *   stock:   D = 1 + (E_g + F_g + M + 2N) + T * (1 + E_t + F_t + 2N)
 *
 * With Mahoney's symlinks (RFC 3-5/5, 2018) task/<tgid>'s fd, fdinfo, ns,
 * net and attr are links to the tgid's own directories (1 + E_t: the links
 * are still entries, their targets are not walked again), and a non-leader
 * that shares the leader's files table has fd and fdinfo links, so only a
 * thread with a table of its own (after unshare(CLONE_FILES)) walks its own
 * fd/ and fdinfo/:
 *
 *   symlink: D = 1 + (E_g + F_g + M + 2N) + (1 + E_t) + (T - 1) * (1 + E_t + F_t)
 *                + sum over unshared non-leaders of 2 N_i
 */
#ifndef KSCALE_BENCH_WORKLOADS_PROCFS_FORMULA_H
#define KSCALE_BENCH_WORKLOADS_PROCFS_FORMULA_H

#include <stdint.h>

/**
 * struct procfs_tables - sizes of the entry tables a walk depends on.
 * @tgid_entries: entries listed in /proc/<tgid> (E_g: 54 on Linux 6.18.44
 *                with this machine's config).
 * @tgid_fixed:   entries below its fixed subdirectories, attr/ and ns/ (F_g).
 * @tid_entries:  entries listed in /proc/<tgid>/task/<tid> (E_t: 47 there).
 * @tid_fixed:    entries below its attr/ and ns/ (F_t).
 */
struct procfs_tables {
	uint64_t tgid_entries;
	uint64_t tgid_fixed;
	uint64_t tid_entries;
	uint64_t tid_fixed;
};

/* b_g: what /proc/<tgid> holds besides fd/, fdinfo/, map_files/ and task/. */
static inline uint64_t procfs_base_tgid(const struct procfs_tables *t)
{
	return t->tgid_entries + t->tgid_fixed;
}

/* b_t: one thread directory besides its fd/ and fdinfo/ (itself included). */
static inline uint64_t procfs_base_tid(const struct procfs_tables *t)
{
	return 1 + t->tid_entries + t->tid_fixed;
}

/* Entries of a stock walk of /proc/<pid>, /proc/<pid> itself included. */
static inline uint64_t procfs_expected_stock(const struct procfs_tables *t, uint64_t threads,
					     uint64_t fds, uint64_t vmas)
{
	return 1 + procfs_base_tgid(t) + vmas + 2 * fds + threads * (procfs_base_tid(t) + 2 * fds);
}

/*
 * Entries of a walk in the symlink layout, every thread sharing the leader's
 * files table except @unshared_fds: the sum of the table sizes of the
 * non-leaders that unshared (0 when none did).
 */
static inline uint64_t procfs_expected_symlink(const struct procfs_tables *t, uint64_t threads,
					       uint64_t fds, uint64_t vmas, uint64_t unshared_fds)
{
	if (!threads)
		return 1 + procfs_base_tgid(t) + vmas + 2 * fds;
	return 1 + procfs_base_tgid(t) + vmas + 2 * fds + 1 + t->tid_entries +
	       (threads - 1) * procfs_base_tid(t) + 2 * unshared_fds;
}

#endif /* KSCALE_BENCH_WORKLOADS_PROCFS_FORMULA_H */
