/* SPDX-License-Identifier: MIT */
/*
 * Private to src/procfs: the mount, the per-pid inode list (struct pid's
 * inodes and lock in the kernel), the encoding of an entry's kind in its
 * dentry's d_fsdata, and the ops table of the layouts (one file each:
 * layout_stock.c, layout_symlink.c, layout_uncached_fd.c).
 */
#ifndef KSCALE_PROCFS_INTERNAL_H
#define KSCALE_PROCFS_INTERNAL_H

#include <kscale/dcache.h>
#include <kscale/lock.h>
#include <kscale/mem.h>
#include <kscale/percpu.h>
#include <kscale/procfs.h>
#include <kscale/rcu.h>
#include <kscale/task.h>

/*
 * What an entry is. Stored in d_fsdata as an integer (kind | index << 8 |
 * flags), so that instantiating an entry allocates nothing beyond its dentry
 * and inode: an fd number or a mapping range is parsed back from the name.
 */
enum pf_kind {
	PF_ROOT = 0,	/* the root: no d_fsdata */
	PF_PID,		/* /proc/<n>: tgid_base_stuff */
	PF_TID,		/* /proc/<n>/task/<tid>: tid_base_stuff */
	PF_TASK,	/* task/ */
	PF_FD,		/* fd/ */
	PF_FDINFO,	/* fdinfo/ */
	PF_MAPFILES,	/* map_files/ */
	PF_ATTR,	/* attr/ */
	PF_NS,		/* ns/ */
	PF_NET,		/* net/ */
	PF_REG,		/* a file of a table (index: its table entry) */
	PF_LNK,		/* cwd, root, exe */
	PF_FDLINK,	/* fd/<n> */
	PF_FDINFOFILE,	/* fdinfo/<n> */
	PF_MAPLINK,	/* map_files/<start>-<end> */
	PF_NSLINK,	/* ns/<x> (index in the ns table) */
	PF_NETENT,	/* an entry of net/: never retained */
	PF_ATTRFILE,	/* attr/<x> (index in the attr table) */
	PF_NR_KINDS,
};

#define PF_FLAG_LAYOUT_LINK (1u << 16) /* a directory replaced by a link */
#define PF_FLAG_UNDER_TID (1u << 17)	/* table files of a PF_TID directory */

static inline unsigned int pf_mk(unsigned int kind, unsigned int idx, unsigned int flags)
{
	return kind | (idx & 0xff) << 8 | flags;
}

static inline unsigned int pf_kind_of(const void *code)
{
	return (unsigned int)((uintptr_t)code & 0xff);
}

static inline unsigned int pf_idx_of(const void *code)
{
	return (unsigned int)(((uintptr_t)code >> 8) & 0xff);
}

static inline unsigned int pf_flags_of(const void *code)
{
	return (unsigned int)((uintptr_t)code & ~(uintptr_t)0xffff);
}

struct ks_procfs;

/*
 * struct pf_layout - what a layout decides.
 * @is_link:  NULL (never) or whether directory @dkind (PF_TASK, PF_FD...) of the pid
 *            directory of kind @pkind (PF_PID or PF_TID) for @task is a
 *            symlink. May take references; never under RCU.
 * @target:   NULL (no links) or the link's target, for readlink (returns its length or -errno).
 * @retain:   whether an unused entry of @kind is kept cached (d_delete).
 */
struct pf_layout {
	int (*is_link)(struct ks_task *task, unsigned int pkind, unsigned int dkind);
	int (*target)(struct ks_task *task, unsigned int pkind, unsigned int dkind, char *buf,
		      size_t len);
	bool (*retain)(unsigned int kind);
};

extern const struct pf_layout pf_layout_stock;
extern const struct pf_layout pf_layout_symlink;
extern const struct pf_layout pf_layout_uncached_fd;

/* Shared by the layouts: the task's files table is its leader's (both live). */
int pf_shares_files_with_leader(struct ks_task *task);
/* snprintf that reports -ERANGE instead of truncating. */
int pf_print(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Per-CPU counters of a mount. */
struct pf_counters {
	uint64_t lookups;
	uint64_t instantiations;
	uint64_t readdirs;
	uint64_t emitted;
	uint64_t revalidate_failures;
	uint64_t flushes;
	uint64_t flushed;
};

/*
 * struct pf_pid - the kernel's struct pid as procfs uses it: a counted
 * reference on the pid (every proc inode of the task holds one, as
 * proc_pid_make_inode() does get_pid()), and the list of the task's pid
 * directory inodes (pid->inodes under pid->lock, which proc_flush_pid()
 * walks). Hung from the task's hook slot, which holds one reference.
 */
struct pf_pid {
	int refs;
	struct ks_pid *pid;
	struct ks_procfs *fs;
	struct ks_mem_type *type;
	struct ks_spinlock lock;
	struct ks_dcache_link inodes;	/* not yet flushed */
	struct ks_dcache_link flushed;	/* flushed, still alive (in use) */
	struct ks_rcu_head rcu;
};

struct ks_procfs {
	const struct pf_layout *layout;
	struct ks_tasks *tasks;
	struct ks_dcache *dc;
	struct ks_dentry *root;	/* /proc, held for the mount's life */
	struct ks_mem *mem;
	struct ks_mem_type *t_fs;
	struct ks_mem_type *t_pid;
	struct ks_lock_class *c_pid_lock;
	struct ks_percpu *pcpu;
	int hook_id;
};

#endif /* KSCALE_PROCFS_INTERNAL_H */
