/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the procfs workloads (bench/workloads/procfs_*.c) and
 * tests/oracle/oracle_procfs_count.c: one modelled process with T threads
 * sharing one files table of N open descriptors and an mm with M file-backed
 * mappings, as the seed's test case (4096 threads, 16384 files) and as the
 * oracle's real child; and its exit in the order of a SIGKILLed group
 * (threads release themselves, the leader is reaped last).
 */
#ifndef KSCALE_BENCH_WORKLOADS_PROCFS_COMMON_H
#define KSCALE_BENCH_WORKLOADS_PROCFS_COMMON_H

#include <kscale/kscale.h>
#include <kscale/procfs.h>
#include <kscale/task.h>

#include "procfs_formula.h"
#include "workload.h"

/* Most threads, descriptors and mappings a workload accepts. */
#define PROCW_MAX_THREADS 65536
#define PROCW_MAX_FDS 1048576 /* fs.nr_open's default */
#define PROCW_MAX_VMAS 65536  /* vm.max_map_count's default is 65530 */

/**
 * struct procw_proc - one modelled process.
 * @leader:  the group leader (the reference ks_task_clone() gave).
 * @threads: every thread, the leader first, @nr of them (a reference each:
 *           the leader's is @leader's); room for @cap.
 * @type:    the ks_mem type of @threads.
 */
struct procw_proc {
	struct ks_task *leader;
	struct ks_task **threads;
	int nr, cap;
	struct ks_mem_type *type;
};

/*
 * procw_exit_thread() - do_exit() of thread @i (0 is the leader); a
 * non-leader's reference is dropped (its slot becomes NULL), the leader's
 * stays for the reap.
 */
int procw_exit_thread(struct procw_proc *p, int i);

/*
 * procw_reap() - the parent's wait for the group: retried while threads are
 * still being released elsewhere (-EAGAIN); then the leader is dropped
 * (@leader and slot 0 become NULL).
 */
int procw_reap(struct procw_proc *p);

/* Free the thread array (after the exits and the reap). */
void procw_proc_free(struct procw_proc *p);

/*
 * SIGKILL, every thread not yet exited exits (the leader first), reap, free:
 * whatever state a workload left the process in.
 */
int procw_proc_exit_all(struct procw_proc *p);

/*
 * procw_proc_create() - a process of @t with @threads threads (CLONE_VM |
 * CLONE_THREAD | CLONE_FILES: one files table), @fds descriptors open on
 * distinct paths, and @vmas one-page mappings of distinct files. On error
 * everything made so far is torn down again.
 * Return: 0; -EINVAL for no thread or a shape beyond the PROCW_MAX_*
 * limits; errors of ks_mem, the task and the mm layers.
 */
int procw_proc_create(struct ks_tasks *t, struct ks_mem *mem, uint64_t threads, uint64_t fds,
		      uint64_t vmas, struct procw_proc *p);

/* ---- the workloads' environment --------------------------------------- */

/* The parameters every procfs workload takes. */
#define PROCW_PARAMS_COMMON                                                                        \
	{"proc_threads", "64", "T: threads of the modelled process (1..65536)"},                   \
		{"proc_fds", "256", "N: open descriptors, one table shared by all threads"},       \
		{"proc_vmas", "16", "M: file-backed mappings (map_files/ entries)"},               \
		{"inode_list", "global", "superblock inode list: global or dlock"},                \
	{                                                                                          \
		"hash_bits", "22", "log2 of dentry hash buckets, 4..24 (22: this kernel)"                       \
	}

static const struct kb_param_def procw_params[] = {
	PROCW_PARAMS_COMMON,
	{NULL, NULL, NULL},
};

/* Register the calling thread with RCU; true when this call did it. */
static inline bool procw_thread_enter(void)
{
	return ks_rcu_register_thread() == 0;
}

static inline void procw_thread_exit(bool registered)
{
	if (registered)
		ks_rcu_unregister_thread();
}

/*
 * struct procw_thread - a harness thread's state in every procfs workload:
 * the workload's state, the thread's index, and whether thread_init
 * registered it with RCU. procw_thread_init() and procw_thread_fini() are
 * the workloads' thread_init and thread_fini.
 */
struct procw_thread {
	void *state;
	int idx;
	bool registered;
};
int procw_thread_init(void *state, int thread, void **tstate);
void procw_thread_fini(void *tstate);

/* The layouts every procfs workload compares (ks_procfs_strategies()). */
static const char *const procw_layouts[] = {"stock", "symlink", "uncached-fd", NULL};

/**
 * procw_tables() - the sizes procfs_formula.h needs, from the model's own
 * entry tables (ks_procfs_table()): E_g and E_t, and below every fixed
 * subdirectory (attr/, ns/) the size of its table.
 * Return: 0; -EINVAL when a table has a directory the formula does not know.
 */
int procw_tables(struct procfs_tables *tab);

/**
 * procw_expected() - entries a find of /proc/<pid> visits, and pairs it
 * leaves cached, in @layout for T threads sharing one table of N
 * descriptors and M mappings. uncached-fd visits what stock visits but
 * keeps none of the 2N(T + 1) fd/ and fdinfo/ entries.
 * Return: 0; -ENOENT for a layout the formulas do not know.
 */
int procw_expected(const struct procfs_tables *tab, const char *layout, uint64_t t, uint64_t n,
		   uint64_t m, uint64_t *visited, uint64_t *retained);

/**
 * struct procw_env - what a procfs workload measures: a task list, a procfs
 * mounted on it, and one process.
 */
struct procw_env {
	struct ks_tasks *tasks;
	struct ks_procfs *fs;
	struct procw_proc proc;
	uint64_t threads, fds, vmas;
	int tgid;
	char tgid_name[16];
	struct procfs_tables tab;
	uint64_t expected_visited, expected_retained;
	bool registered; /* setup registered the runner's thread */
};

void procw_env_destroy(struct procw_env *e);

/**
 * procw_env_create() - read the cell's proc_threads, proc_fds, proc_vmas
 * and inode_list, mount a procfs of the cell's layout on a new task list,
 * and build the process. Called on the runner's thread (registered with RCU
 * here until procw_env_destroy()).
 * Return: 0; -EINVAL for a shape outside the limits; -ENOMEM for one that
 * does not fit in this machine's memory; -ENOENT for an unknown inode list;
 * errors of the layers below.
 */
int procw_env_create(const struct kb_cell *c, struct procw_env *e);

/*
 * procw_env_build() - the same without a cell: @layout, @inode_list, @hash_bits (0: the
 * dcache default), where
 * locks and bytes are counted, and the shape.
 */
int procw_env_build(const char *layout, const char *inode_list, unsigned int hash_bits,
		    const struct ks_topo *topo,
		    struct ks_lockstat *locks, struct ks_mem *mem, uint64_t threads, uint64_t fds,
		    uint64_t vmas, struct procw_env *e);

int procw_env_stats(const struct procw_env *e, struct ks_procfs_stats *st);

/*
 * struct procw_mem_snap - cumulative allocations per ks_mem type, and in
 * all, at one moment: what a walk allocated is the difference of two.
 */
#define PROCW_MEM_TYPES 64
struct procw_mem_snap {
	size_t n;
	char name[PROCW_MEM_TYPES][KS_MEM_TYPE_NAME_MAX];
	uint64_t allocs[PROCW_MEM_TYPES];
	uint64_t total_allocs, bytes;
};
void procw_mem_snap(const struct ks_mem *m, struct procw_mem_snap *snap);

/*
 * procw_mem_other_allocs() - allocations between @before and @after in types
 * other than those of the objects a walk instantiates (dentry, dentry_name,
 * proc_inode, proc_pid): 0 when a walk allocates nothing else.
 */
uint64_t procw_mem_other_allocs(const struct procw_mem_snap *before,
				const struct procw_mem_snap *after);

/* ---- walkers -------------------------------------------------------------- */

/** struct procw_walk - what one find visited. */
struct procw_walk {
	uint64_t entries, dirs, files, links;
};

/**
 * procw_find() - find /proc/<pid>: the pid directory itself and everything
 * below it, readdir + lstat, no symlink followed, net/ not entered.
 * Return: 0; errors of the procfs walk.
 */
int procw_find(struct procw_env *e, struct procw_walk *w);

/** struct procw_lsof - what one lsof pass did. */
struct procw_lsof {
	uint64_t lookups, enoent, follows;
};

/**
 * procw_lsof() - one lsof pass over the process: /proc/<pid>/fd, and with
 * @tasks every task/<tid>/fd, each link looked up and read; links the
 * layout put in place of a directory are followed, as open() does.
 * Return: 0; errors of the procfs walk (vanished entries are counted in
 * @res->enoent, not errors).
 */
int procw_lsof(struct procw_env *e, bool tasks, struct procw_lsof *res);

#endif /* KSCALE_BENCH_WORKLOADS_PROCFS_COMMON_H */
