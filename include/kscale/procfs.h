/* SPDX-License-Identifier: MIT */
/*
 * procfs: the per-process part of /proc on the dcache, modelled on Linux
 * 6.18 fs/proc/base.c, fs/proc/fd.c, fs/proc/inode.c and fs/proc/root.c.
 *
 * A struct ks_procfs is one proc mount: a superblock (a ks_dcache with the
 * inode list strategy named in the options) over one ks_tasks. Its root
 * lists the thread-group leaders (proc_pid_readdir(), next_tgid()), yet
 * /proc/<tid> of any thread resolves (proc_pid_lookup():
 * find_task_by_pid_ns()). Below a pid directory are the entries of
 * tgid_base_stuff[] (/proc/<tgid>) or tid_base_stuff[] (task/<tid>), with
 * the attr/, ns/, net/, fd/, fdinfo/, map_files/ and task/ subdirectories.
 * As in the kernel, entries are instantiated (a dentry and a fresh inode
 * each) on lookup and on readdir (proc_fill_cache()), every directory inode
 * has exactly one dentry (51f0885e5415), and a proc inode lives exactly as
 * long as its dentry.
 *
 * Layouts (ks_procfs_strategies()) decide which directories exist for
 * which paths:
 *  - `stock`: Linux 6.18, every directory instantiated for every path that
 *    reaches it (a walk of /proc/<pid> costs
 *    1 + (E_g + F_g + M + 2N) + T (1 + E_t + F_t + 2N) objects).
 *  - `symlink`: Jeff Mahoney's RFC "procfs: reduce duplication by using
 *    symlinks" patches 3-5/5 (LKML, 2018-04-23, never merged):
 *    /proc/<tid>/task of a non-leader is a link to "../<tgid>/task"; fd,
 *    fdinfo, ns, net and attr of /proc/<tgid>/task/<tgid> are links to
 *    "../../fd" etc.; a non-leader whose files table is the leader's gets fd
 *    and fdinfo links to "../../fd" and "../../fdinfo" (in task/<tid>) or
 *    "../<tgid>/fd" (in /proc/<tid>), which fail revalidation once the
 *    tables differ (either side called unshare(CLONE_FILES)), so a re-lookup
 *    gives a real directory. When the leader has exited first (its files
 *    table is gone: the kernel shows an empty /proc/<tgid>/fd), a thread
 *    that still has a table gets a real fd/ directory: the link is only
 *    made while task->files == leader->files with both non-NULL, so a
 *    thread's fd/ never shows a table that is not its own.
 *  - `uncached-fd`: beyond the kernel; stock, but fd/ and fdinfo/ entries
 *    are never retained (d_delete always says kill, as /proc/<pid>/net
 *    entries since 1fde6f21d90f), so a walk instantiates each one only for
 *    as long as the walker holds it. See docs/procfs.md.
 *
 * net/ holds a fixed table of file names (the running kernel's
 * /proc/self/net top level, modelled as empty files and directories): its
 * entries fail revalidation and are deleted as soon as their last
 * reference goes (proc_net_d_revalidate(), 1fde6f21d90f, c6c75deda813):
 * walked, never retained. The counts in docs/procfs.md do not descend
 * into it.
 *
 * Entries (struct ks_procfs_ent) are dentry references: each lookup or
 * readdir callback gives one (ks_procfs_put() drops it). A cached entry is
 * revalidated on every lookup step: pid_revalidate() (the task must not
 * have been released), tid_fd_revalidate() (-ECHILD under RCU, then with a
 * reference: descriptor N must still be open in the task's table; mode
 * refreshed from f_mode), and the symlink layout's files-table check. A
 * stale entry is invalidated and the lookup instantiates afresh or says
 * -ENOENT. Entries of released tasks are killed at their last put
 * (pid_delete_dentry()), and the release hook flushes the thread's
 * /proc/<tid> and /proc/<tgid>/task/<tid> directories with everything below
 * them (proc_flush_pid(): d_invalidate() + shrink_dcache_parent() over the
 * pid's inode list), so when ks_task_exit() of a thread or ks_task_reap()
 * of the leader returns, nothing unreferenced of that thread remains.
 *
 * Memory: dentries and inodes through the dcache's ks_mem types, plus
 * "proc_pid" (the per-pid inode list, struct pid's inodes/lock) and
 * "procfs". A walk allocates nothing else: no per-step allocation.
 * Locks: the dcache's classes, plus "pid->lock" (per-pid inode list, as
 * struct pid's lock).
 *
 * Threads: every function needs a thread registered with
 * ks_rcu_register_thread(), and none may be called inside an RCU
 * read-side section unless its Context says so (lookups may sleep on a
 * directory's i_rwsem). All functions may be called concurrently with each
 * other and with the task layer (clone, exit, open, close, unshare), except
 * ks_procfs_destroy().
 */
#ifndef KSCALE_PROCFS_H
#define KSCALE_PROCFS_H

#include <kscale/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ks_topo;
struct ks_lockstat;
struct ks_mem;
struct ks_tasks;
struct ks_dcache;
struct ks_dentry;
struct ks_procfs;     /* opaque: one proc mount */
struct ks_procfs_ent; /* opaque: a reference to one entry (a dentry) */

/* File types reported by readdir and stat (the kernel's DT_* values). */
#define KS_PROCFS_DT_DIR 4
#define KS_PROCFS_DT_REG 8
#define KS_PROCFS_DT_LNK 10

/**
 * struct ks_procfs_opts - options of ks_procfs_create().
 * @tasks:      the task list whose processes are shown (required). Its
 *              hooks are registered here, so no task may exist yet.
 * @inode_list: the dcache inode list strategy ("global", "dlock"; NULL:
 *              "global"), passed to ks_dcache_create().
 * @topo:       topology (NULL: ks_topo_default()); must outlive the mount.
 * @locks:      lock_stat registry (NULL: uncounted).
 * @mem:        accounting domain (NULL: the tasks' domain).
 * @hash_bits:  dentry hash size, as ks_dcache_opts (0: 14).
 */
struct ks_procfs_opts {
	struct ks_tasks *tasks;
	const char *inode_list;
	const struct ks_topo *topo;
	struct ks_lockstat *locks;
	struct ks_mem *mem;
	unsigned int hash_bits;
};

/**
 * struct ks_procfs_stat - what lstat() of an entry reports.
 * @mode:  file type (KS_S_IF* of dcache.h) and permission bits.
 * @type:  KS_PROCFS_DT_*.
 * @nlink: 2 + subdirectories for a pid directory (9 for /proc/<tgid>, 7
 *         for task/<tid> on the kernel's tables; symlinks made by the
 *         layout do not count), 2 + threads for task/ (proc_task_getattr()),
 *         2 for the other directories (proc_pident_instantiate()) and
 *         the root, 1 for files and links.
 * @size:  open descriptors for fd/ (proc_fd_getattr()), 0 otherwise.
 * @ino:   inode number (fresh per instantiation: get_next_ino()).
 */
struct ks_procfs_stat {
	unsigned int mode;
	unsigned int type;
	unsigned int nlink;
	int64_t size;
	uint64_t ino;
};

/**
 * struct ks_procfs_stats - counts of one mount.
 * @dentries, @inodes, @kernel_bytes: the dcache's (see struct
 *	ks_dcache_stats) less the mount's own two (the superblock's root and
 *	/proc), so an empty mount reads 0; objects a walk instantiated.
 * @bytes:         the dcache's live bytes plus the "proc_pid" objects.
 * @lookups:       ks_procfs_lookup() calls that reached a directory.
 * @instantiations: entries created by lookup or readdir.
 * @readdirs:      ks_procfs_readdir() calls.
 * @emitted:       names emitted by readdir.
 * @revalidate_failures: cached entries found stale (all reasons).
 * @flushes:       proc_flush_pid() runs (one per released task).
 * @flushed:       directories invalidated by those flushes.
 * @pid_objects:   live per-pid inode lists ("proc_pid").
 */
struct ks_procfs_stats {
	int64_t dentries;
	int64_t inodes;
	int64_t bytes;
	int64_t kernel_bytes;
	uint64_t lookups;
	uint64_t instantiations;
	uint64_t readdirs;
	uint64_t emitted;
	uint64_t revalidate_failures;
	uint64_t flushes;
	uint64_t flushed;
	int64_t pid_objects;
};

/**
 * typedef ks_procfs_filldir_t - readdir callback (dir_emit()).
 * @name: the entry's name (valid during the call). @type: KS_PROCFS_DT_*.
 * @ino:  its inode number (the instantiated inode's, as proc_fill_cache()
 *        reports). @ent: the instantiated entry, borrowed: valid during
 *        the call only; take your own with ks_procfs_dup().
 * @arg:  the pointer given to ks_procfs_readdir().
 * Return: 0 to go on, nonzero to stop (returned by ks_procfs_readdir()).
 */
typedef int (*ks_procfs_filldir_t)(const char *name, unsigned int type, uint64_t ino,
				   struct ks_procfs_ent *ent, void *arg);

/**
 * ks_procfs_strategies() - the layouts ("stock", "symlink", "uncached-fd").
 * @n: receives the number of entries (may be NULL).
 * Context: any. Return: a static array.
 */
const struct ks_strategy_info *ks_procfs_strategies(size_t *n);

/**
 * ks_procfs_create() - mount a procfs of @layout over @opts->tasks.
 * @layout: a name from ks_procfs_strategies() (NULL: "stock").
 * @opts:   options; @opts->tasks required.
 * @out:    receives the mount.
 * Context: a registered RCU thread outside read-side sections.
 * Return: 0; -EINVAL for NULL @opts, @out or @opts->tasks, or bad
 * @hash_bits; -ENOENT for an unknown @layout or @inode_list; -EBUSY when
 * the task list already has tasks; -ENOSPC when it has no hook slot left
 * or the lock_stat registry is full; -ENOMEM; -EPERM for an unregistered
 * thread; -EDEADLK inside a read-side section.
 */
int ks_procfs_create(const char *layout, const struct ks_procfs_opts *opts,
		     struct ks_procfs **out);

/**
 * ks_procfs_destroy() - unmount: kill every cached entry and free the mount.
 * No entry reference may be held, no task may be on the task list, and
 * every task struct of the list must be freed (its last ks_task_put()
 * done: the free hook of a task struct uses the mount); the call waits for
 * pending RCU callbacks before it checks. The task list's hooks stay
 * registered (they cannot be removed): destroy the mount before the task
 * list, and create no task on the list afterwards.
 * @fs: the mount.
 * Context: a registered RCU thread outside read-side sections; sleeps.
 * Return: 0; -EINVAL for NULL; -EBUSY while a task is on the list, a task
 * struct is still allocated, or an entry is referenced (nothing freed; the
 * mount stays usable, its unused entries shrunk); -EPERM for an
 * unregistered thread; -EDEADLK inside a read-side section.
 */
int ks_procfs_destroy(struct ks_procfs *fs);

/** ks_procfs_layout() - the layout name, or NULL for NULL. */
const char *ks_procfs_layout(const struct ks_procfs *fs);

/**
 * ks_procfs_dcache() - the underlying superblock, for ks_dcache_stats(),
 * ks_dcache_prune() and its lock classes ("s_inode_list_lock", the LRU's,
 * "d_lock", "i_rwsem"...). NULL for NULL.
 */
struct ks_dcache *ks_procfs_dcache(const struct ks_procfs *fs);

/**
 * ks_procfs_stats() - snapshot of the counts.
 * Context: any registered thread. Return: 0; -EINVAL for NULL arguments.
 */
int ks_procfs_stats(const struct ks_procfs *fs, struct ks_procfs_stats *out);

/* ---- walking --------------------------------------------------------- */

/**
 * ks_procfs_root() - a reference to the root (/proc).
 * Return: 0; -EINVAL for NULL arguments; -EPERM for an unregistered thread.
 */
int ks_procfs_root(struct ks_procfs *fs, struct ks_procfs_ent **out);

/**
 * ks_procfs_lookup() - one walk step: @name in directory @dir, from the
 * cache (revalidated) or instantiated: proc_pid_lookup() in the root (any
 * tid resolves; "self" and "thread-self" are not modelled),
 * proc_task_lookup() in task/ (same thread group only),
 * proc_pident_lookup() over the tables, proc_lookupfd_common() in fd/ and
 * fdinfo/ (the descriptor must be open now, canonical decimal only),
 * proc_map_files_lookup() ("start-end" in lowercase hex).
 * @dir:  a directory entry the caller holds. @name: one name component.
 * @out:  receives a new reference.
 * Context: a registered RCU thread outside read-side sections; lock-free
 * on a cached hit except where revalidation forces ref-walk (fd/N).
 * Return: 0; -ENOENT for an unknown name, a task that was released, a
 * closed descriptor, or @dir itself stale (its task released); -ENOTDIR
 * when @dir is not a directory (a symlink made by the layout included:
 * walkers follow it with ks_procfs_readlink() themselves); -EINVAL for
 * NULL arguments, a @dir with no reference, or a bad name ("", ".", "..",
 * with '/'); -ENAMETOOLONG; -ENOMEM; -EPERM for an unregistered thread.
 */
int ks_procfs_lookup(struct ks_procfs_ent *dir, const char *name, struct ks_procfs_ent **out);

/* ks_procfs_walk() flags */
#define KS_PROCFS_FOLLOW 0x1 /* follow a layout symlink in the last component too */

/**
 * ks_procfs_walk() - a path walk (link_path_walk()): components separated
 * by '/', "." and ".." (the root's ".." is itself), one
 * ks_procfs_lookup() per component. The symlinks a layout makes (their
 * targets are relative paths inside this mount) are followed in every
 * component but the last, and in the last with KS_PROCFS_FOLLOW, at most
 * 8 of them (MAXSYMLINKS is 40; ours never chain). Links to outside the
 * mount (fd/N, cwd, exe, map_files/, ns/) cannot be followed.
 * @start: where a relative @path begins (held by the caller); an absolute
 *         @path begins at the mount's root.
 * @path:  the path, at most 255 bytes ("" gives @start again).
 * @flags: 0 or KS_PROCFS_FOLLOW.
 * @out:   receives a new reference.
 * Context: as ks_procfs_lookup().
 * Return: 0; the errors of ks_procfs_lookup() but -EINVAL for a bad name
 * (an empty component is skipped, "." and ".." are handled); -EXDEV when a
 * link to outside the mount would have to be followed; -ELOOP past 8
 * links; -ENAMETOOLONG for a longer @path; -EINVAL for NULL arguments or
 * unknown @flags.
 */
int ks_procfs_walk(struct ks_procfs_ent *start, const char *path, unsigned int flags,
		   struct ks_procfs_ent **out);

/**
 * ks_procfs_readdir() - list @dir (iterate_shared), instantiating every
 * emitted entry as proc_fill_cache() does (cached ones are reused): the
 * root lists leaders by tgid; task/ lists the group's threads; fd/,
 * fdinfo/ the open descriptors in order; map_files/ the file mappings.
 * "." and ".." are not emitted. Entries that vanish between listing and
 * instantiation are skipped.
 * @dir: a directory the caller holds. @fn: called per entry. @arg: for @fn.
 * Context: as ks_procfs_lookup(); @fn may call any function here.
 * Return: 0 after the last entry; @fn's nonzero return; -ENOENT when @dir
 * is stale (its task released: getdents on a held dirfd gives ENOENT);
 * -ENOTDIR; -EINVAL for NULL @dir or @fn or a @dir with no reference;
 * -ENOMEM; -EPERM for an unregistered thread.
 */
int ks_procfs_readdir(struct ks_procfs_ent *dir, ks_procfs_filldir_t fn, void *arg);

/**
 * ks_procfs_stat() - lstat() of an entry (pid_getattr()); works on a stale
 * entry as fstat() on a held dirfd does.
 * Return: 0; -EINVAL for NULL arguments or an entry with no reference.
 */
int ks_procfs_stat(struct ks_procfs_ent *ent, struct ks_procfs_stat *st);

/**
 * ks_procfs_readlink() - the target of a symlink entry: "type:[inum]" for
 * ns/x (this machine's initial namespaces' numbers), the file's path for
 * fd/N and map_files/<range>, "/" for cwd and root (no fs_struct is
 * modelled), "/usr/bin/kscale-modelled" for exe while the task has an mm,
 * and the layout's relative targets ("../<tgid>/task", "../../fd"...).
 * @buf, @len: receives the NUL-terminated target.
 * Return: its length; -EINVAL for NULL arguments, @len 0 or a non-link;
 * -ERANGE when @len is too small; -ENOENT when the target is gone (fd
 * closed, mapping gone, task released, cwd and root once do_exit() began,
 * exe without an mm).
 */
int ks_procfs_readlink(struct ks_procfs_ent *ent, char *buf, size_t len);

/**
 * ks_procfs_dup() - take another reference to @ent.
 * Return: 0; -EINVAL for NULL or an entry with no reference.
 */
int ks_procfs_dup(struct ks_procfs_ent *ent);

/**
 * ks_procfs_put() - drop a reference (dput()): the entry stays cached
 * unless it is stale or its kind is never retained (net/, uncached-fd).
 * Context: a registered RCU thread; read-side sections allowed.
 * Return: 0; -EINVAL for NULL or an entry with no reference (double put);
 * -EPERM.
 */
int ks_procfs_put(struct ks_procfs_ent *ent);

/** ks_procfs_name() - the entry's name ("/" for the root); NULL for NULL. */
const char *ks_procfs_name(const struct ks_procfs_ent *ent);

/** ks_procfs_ent_dentry() - the entry's dentry (no new reference); NULL for NULL. */
struct ks_dentry *ks_procfs_ent_dentry(const struct ks_procfs_ent *ent);

/* ---- tables ---------------------------------------------------------- */

/** Directory kinds whose entry tables ks_procfs_table() returns. */
enum ks_procfs_table_id {
	KS_PROCFS_TGID = 0, /* tgid_base_stuff[] */
	KS_PROCFS_TID,      /* tid_base_stuff[] */
	KS_PROCFS_ATTR,     /* attr_dir_stuff[] */
	KS_PROCFS_NS,       /* ns_entries[] (fs/proc/namespaces.c) */
	KS_PROCFS_NET,      /* /proc/self/net top level (not retained) */
	KS_PROCFS_NR_TABLES,
};

/**
 * struct ks_procfs_entry_info - one table entry.
 * @name: its name. @type: KS_PROCFS_DT_* in the stock layout. @mode: mode.
 */
struct ks_procfs_entry_info {
	const char *name;
	unsigned int type;
	unsigned int mode;
};

/**
 * ks_procfs_table() - a static entry table, in fs/proc order.
 * @id: which. @n: receives its length.
 * Return: the table; NULL for a bad @id or NULL @n.
 */
const struct ks_procfs_entry_info *ks_procfs_table(enum ks_procfs_table_id id, size_t *n);

#ifdef __cplusplus
}
#endif

#endif /* KSCALE_PROCFS_H */
