// SPDX-License-Identifier: MIT
/*
 * procfs-find: what `find /proc/<pid>` does to the dentry cache, for Jeff
 * Mahoney's process (RFC "procfs: reduce duplication by using symlinks",
 * 2018: 4096 threads, 16384 files, "around 300 million dentry/inode pairs").
 *
 * Setup builds one modelled process of --param proc_threads=T threads
 * sharing one files table of proc_fds=N descriptors, with proc_vmas=M
 * file-backed mappings, and a procfs of --strategy's layout whose superblock
 * inode list is --param inode_list (global: s_inode_list_lock, dlock: Waiman
 * Long's per-CPU lists). One-shot op: every harness thread (--threads: the
 * walkers) walks /proc/<pid> as find does (readdir + lstat, no symlink
 * followed, net/ listed but not entered) once cold -- the walkers race to
 * instantiate, as proc_fill_cache() does for every name -- and, after all
 * have finished, once warm. report() gives:
 *   entries            entries one walk visited (/proc/<pid> included)
 *   expected_entries   the formula of procfs_formula.h for the layout, fed
 *                      with the model's own tables; the cell fails when
 *                      they differ
 *   dentries, inodes   live after the walks (the pairs the walk created)
 *   bytes              our live bytes in the dcache's types
 *   kernel_bytes       the same objects at the kernel's slab sizes
 *   cold_ns_per_entry, warm_ns_per_entry
 *   walk_bytes_per_pair  bytes ks_mem allocated during the walks per pair
 *                      created, and walk_allocs_per_pair (a walk allocates
 *                      nothing beyond what it instantiates: both stay at
 *                      the size and count of one pair's objects)
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "procfs_common.h"

struct pfind {
	const struct kb_cell *cell;
	struct procw_env env;
	pthread_barrier_t bar;
	bool bar_init;
	struct procw_mem_snap base; /* ks_mem before the walks */
	int64_t base_dentries, base_inodes;
	/* atomics, summed over walkers */
	uint64_t entries_first, cold_entries, warm_entries, cold_ns, warm_ns;
	int walk_err;
};

static void pfind_teardown(void *state)
{
	struct pfind *f = state;

	if (!f)
		return;
	procw_env_destroy(&f->env);
	if (f->bar_init)
		pthread_barrier_destroy(&f->bar);
	free(f);
}

static int pfind_setup(const struct kb_cell *c, void **state)
{
	struct pfind *f = calloc(1, sizeof(*f));
	struct ks_procfs_stats st;
	int r;

	if (!f)
		return -ENOMEM;
	f->cell = c;
	r = procw_env_create(c, &f->env);
	if (!r)
		r = -pthread_barrier_init(&f->bar, NULL, (unsigned int)c->nr_threads);
	if (r) {
		pfind_teardown(f);
		return r;
	}
	f->bar_init = true;
	r = procw_env_stats(&f->env, &st);
	if (r) {
		pfind_teardown(f);
		return r;
	}
	f->base_dentries = st.dentries;
	f->base_inodes = st.inodes;
	procw_mem_snap(c->mem, &f->base);
	*state = f;
	return 0;
}

static long pfind_op(void *tstate)
{
	struct pfind *f = ((struct procw_thread *)tstate)->state;
	struct procw_walk cold = {0}, warm = {0};
	uint64_t t0, t1, t2 = 0;
	int r;

	t0 = ks_clock_ns();
	r = procw_find(&f->env, &cold);
	t1 = ks_clock_ns();
	/* every walker's cold walk is over before anyone walks warm */
	pthread_barrier_wait(&f->bar);
	if (!r) {
		t1 = t1 - t0;
		t0 = ks_clock_ns();
		r = procw_find(&f->env, &warm);
		t2 = ks_clock_ns() - t0;
	}
	if (r) {
		__atomic_store_n(&f->walk_err, r, __ATOMIC_RELAXED);
		return r;
	}
	__atomic_fetch_add(&f->cold_entries, cold.entries, __ATOMIC_RELAXED);
	__atomic_fetch_add(&f->warm_entries, warm.entries, __ATOMIC_RELAXED);
	__atomic_fetch_add(&f->cold_ns, t1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&f->warm_ns, t2, __ATOMIC_RELAXED);
	__atomic_store_n(&f->entries_first, cold.entries, __ATOMIC_RELAXED);
	return 1;
}

static int pfind_report(void *state, struct kb_metrics *m, struct kb_series *series,
			size_t max_series, size_t *nr_series)
{
	struct pfind *f = state;
	const struct procw_env *e = &f->env;
	struct ks_procfs_stats st;
	struct procw_mem_snap now;
	uint64_t created;
	int r;

	*nr_series = 0;
	r = procw_env_stats(e, &st);
	if (r)
		return r;
	procw_mem_snap(f->cell->mem, &now);
	/* pairs the walks created and kept (uncached-fd kills its fd entries) */
	created = st.instantiations;
	kb_metric_set(m, "entries", (double)f->entries_first);
	kb_metric_set(m, "expected_entries", (double)e->expected_visited);
	kb_metric_set(m, "pairs", (double)(st.dentries - f->base_dentries));
	kb_metric_set(m, "expected_pairs", (double)e->expected_retained);
	kb_metric_set(m, "dentries", (double)st.dentries);
	kb_metric_set(m, "inodes", (double)st.inodes);
	kb_metric_set(m, "bytes", (double)st.bytes);
	kb_metric_set(m, "kernel_bytes", (double)st.kernel_bytes);
	kb_metric_set(m, "cold_ns_per_entry",
		      f->cold_entries ? (double)f->cold_ns / (double)f->cold_entries : 0);
	kb_metric_set(m, "warm_ns_per_entry",
		      f->warm_entries ? (double)f->warm_ns / (double)f->warm_entries : 0);
	kb_metric_set(m, "instantiations", (double)created);
	kb_metric_set(m, "walk_bytes_per_instantiation",
		      created ? (double)(now.bytes - f->base.bytes) / (double)created : 0);
	kb_metric_set(m, "walk_allocs_per_instantiation",
		      created ? (double)(now.total_allocs - f->base.total_allocs) / (double)created
			      : 0);
	kb_metric_set(m, "walk_other_allocs", (double)procw_mem_other_allocs(&f->base, &now));
	kb_metric_set(m, "revalidate_failures", (double)st.revalidate_failures);
	if (f->walk_err)
		return f->walk_err;
	/* every walker saw the whole tree, and the formulas predicted it */
	if (f->cold_entries != f->entries_first * (uint64_t)f->cell->nr_threads ||
	    f->warm_entries != f->cold_entries || f->entries_first != e->expected_visited ||
	    (uint64_t)(st.dentries - f->base_dentries) != e->expected_retained ||
	    (uint64_t)(st.inodes - f->base_inodes) != e->expected_retained)
		return -EUCLEAN;
	return 0;
}

static const struct kb_suite_entry pfind_suite[] = {
	{
		.strategies = "all",
		.threads = "1",
		.params = "proc_threads=64;proc_fds=256;proc_vmas=16",
		.headline = "symlink vs stock (walks/s)",
		.base = "stock",
		.target = "symlink",
	},
	{0},
};

static const struct kb_workload pfind_workload = {
	.name = "procfs-find",
	.summary = "find /proc/<pid> of one T-thread, N-fd process: pairs created, ns per entry",
	.subsystem = "procfs",
	.strategies = procw_layouts,
	.params = procw_params,
	.setup = pfind_setup,
	.thread_init = procw_thread_init,
	.op = pfind_op,
	.thread_fini = procw_thread_fini,
	.report = pfind_report,
	.teardown = pfind_teardown,
	.one_shot = true,
	.suite = pfind_suite,
};
KB_WORKLOAD_REGISTER(pfind_workload)
