// SPDX-License-Identifier: MIT
/*
 * inode-churn: threads each create and evict inodes on one superblock, the
 * measurement Dave Chinner used for "vfs: inode cache scalability
 * improvements" (2023-12-06): inodes per second against threads, for the
 * superblock inode list strategies `global` (Linux 6.18: one list under
 * s_inode_list_lock) and `dlock` (Waiman Long's per-CPU dlock list).
 *
 * One operation is one inode created (new_inode(): inode_sb_list_add()) and
 * later evicted (iput() -> evict(): inode_sb_list_del()). A thread creates
 * `batch` inodes, then drops them all, as a directory walk fills the cache
 * and a process exit empties it. With `dentries=1`, every inode also gets a
 * dentry under the thread's own directory whose d_delete says "kill" (the
 * kernel's /proc/<pid>/net entries): the op then also pays the hash bucket,
 * d_lock and parent locks, as procfs does. The runner reports lock_stat per
 * operation; report() adds s_inode_list_lock bounces per eviction (the
 * issue's target) and checks that every counted operation was evicted.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <kscale/dcache.h>

#include "workload.h"

struct churn {
	const struct kb_cell *cell;
	struct ks_dcache *dc;
	struct ks_mem_type *type;
	uint64_t batch;
	bool dentries;
	uint64_t remote; /* percent of inodes born on the next CPU's list */
	bool registered; /* setup registered the runner's thread with RCU */
	uint64_t evictions_at_start;
};

struct churn_thread {
	struct churn *ch;
	struct ks_dentry *dir; /* dentries=1: this thread's directory */
	bool registered;
	int cpu, next_cpu; /* this thread's CPU label and its neighbour's */
	uint64_t seq;	   /* dentry names */
	uint64_t nr;	   /* inodes created, to pick the remote ones */
	void *objs[];	   /* inodes or dentries of the current batch */
};

static const char *const churn_strategies[] = {"global", "dlock", NULL};

static const struct kb_param_def churn_params[] = {
	{"batch", "64", "inodes a thread creates before it evicts them (1..65536)"},
	{"dentries", "0", "1: give every inode a dentry (procfs-like), 0: bare inodes"},
	{"remote", "0", "percent of inodes born as if on the next CPU, evicted here (0..100)"},
	{NULL, NULL, NULL},
};

/* Entries that are never kept: the last put kills them, and their inode. */
static int churn_d_delete(const struct ks_dentry *d, void *priv)
{
	return 1;
}

static const struct ks_dentry_operations churn_dops = {.d_delete = churn_d_delete};

static int churn_create(void *arg, struct ks_dentry *parent, struct ks_dentry *d)
{
	struct ks_inode *inode;
	int r;

	r = ks_inode_new(ks_d_dcache(parent), *(unsigned int *)arg, NULL, &inode);
	if (r)
		return r;
	r = ks_d_add(d, inode, &churn_dops, NULL);
	if (r)
		ks_iput(inode);
	return r;
}

static int churn_setup(const struct kb_cell *c, void **state)
{
	struct ks_dcache_opts o = {.topo = c->topo, .locks = c->locks, .mem = c->mem};
	struct ks_dcache_stats st;
	struct ks_mem_type *type;
	uint64_t batch, dentries, remote;
	struct churn *ch;
	int r;

	r = kb_param_u64(c, "batch", &batch);
	if (!r)
		r = kb_param_u64(c, "dentries", &dentries);
	if (!r)
		r = kb_param_u64(c, "remote", &remote);
	if (r)
		return r;
	if (!batch || batch > 65536 || dentries > 1 || remote > 100)
		return -EINVAL;
	r = ks_mem_type_get(c->mem, "inode_churn", sizeof(*ch), &type);
	if (r)
		return r;
	ch = ks_mem_zalloc(type, sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	ch->cell = c;
	ch->type = type;
	ch->batch = batch;
	ch->dentries = dentries;
	ch->remote = remote;
	ch->registered = ks_rcu_register_thread() == 0;
	r = ks_dcache_create(c->strategy, &o, &ch->dc);
	if (r) {
		if (ch->registered)
			ks_rcu_unregister_thread();
		ks_mem_free(type, ch, sizeof(*ch));
		return r;
	}
	ks_dcache_stats(ch->dc, &st);
	ch->evictions_at_start = st.evictions;
	*state = ch;
	return 0;
}

static int churn_thread_init(void *state, int thread, void **tstate)
{
	struct churn *ch = state;
	struct churn_thread *t;
	unsigned int mode = KS_S_IFDIR | 0555;
	struct ks_dentry *root;
	char name[32];
	int r;

	t = ks_mem_alloc_aligned(ch->type, sizeof(*t) + ch->batch * sizeof(void *), KS_CACHELINE);
	if (!t)
		return -ENOMEM;
	memset(t, 0, sizeof(*t));
	t->ch = ch;
	t->registered = ks_rcu_register_thread() == 0;
	t->cpu = ks_cpu_current();
	t->next_cpu = (t->cpu + 1) % ks_topo_nr_cpus(ch->cell->topo);
	if (ch->dentries) {
		snprintf(name, sizeof(name), "%d", thread);
		r = ks_d_root(ch->dc, &root);
		if (!r) {
			r = ks_d_lookup_or_create(root, name, churn_create, &mode, &t->dir);
			ks_dput(root);
		}
		if (r < 0) {
			if (t->registered)
				ks_rcu_unregister_thread();
			ks_mem_free(ch->type, t, sizeof(*t) + ch->batch * sizeof(void *));
			return r;
		}
	}
	*tstate = t;
	return 0;
}

static long churn_op(void *tstate)
{
	struct churn_thread *t = tstate;
	struct churn *ch = t->ch;
	unsigned int mode = KS_S_IFREG | 0444;
	uint64_t i, n = ch->batch;
	char name[32];
	int r = 0;

	for (i = 0; i < n && !r; i++) {
		/*
		 * A remote inode goes on the next CPU's list (dlock) as if that
		 * CPU had created it; this thread still evicts it, so the list
		 * lock is shared with the neighbour, as when a walker's inodes
		 * are evicted by exiting threads elsewhere.
		 */
		bool remote = t->nr++ % 100 < ch->remote;

		if (remote)
			ks_cpu_set_current(t->next_cpu);
		if (ch->dentries) {
			snprintf(name, sizeof(name), "%llu", (unsigned long long)t->seq++);
			r = ks_d_lookup_or_create(t->dir, name, churn_create, &mode,
						  (struct ks_dentry **)&t->objs[i]);
			r = r < 0 ? r : 0;
		} else {
			r = ks_inode_new(ch->dc, mode, NULL, (struct ks_inode **)&t->objs[i]);
		}
		if (remote)
			ks_cpu_set_current(t->cpu);
	}
	n = r ? i - 1 : n;
	for (i = 0; i < n; i++) {
		if (ch->dentries)
			ks_dput(t->objs[i]);
		else
			ks_iput(t->objs[i]);
	}
	return r ? r : (long)n;
}

static void churn_thread_fini(void *tstate)
{
	struct churn_thread *t = tstate;
	struct churn *ch = t->ch;

	if (t->dir) {
		ks_d_invalidate(t->dir);
		ks_dput(t->dir);
	}
	if (t->registered)
		ks_rcu_unregister_thread();
	ks_mem_free(ch->type, t, sizeof(*t) + ch->batch * sizeof(void *));
}

static int churn_report(void *state, struct kb_metrics *m, struct kb_series *series,
			size_t max_series, size_t *nr_series)
{
	struct churn *ch = state;
	struct ks_lock_class_stats cls[64];
	struct ks_dcache_stats st;
	uint64_t evicted, ops = ch->cell->ops_done;
	size_t n = 0;

	*nr_series = 0;
	ks_dcache_stats(ch->dc, &st);
	evicted = st.evictions - ch->evictions_at_start;
	/* the per-thread directories (dentries=1) went at thread_fini */
	if (ch->dentries && evicted >= (uint64_t)ch->cell->nr_threads)
		evicted -= (uint64_t)ch->cell->nr_threads;
	kb_metric_set(m, "evictions", (double)evicted);
	kb_metric_set(m, "inodes_live", (double)st.inodes);
	kb_metric_set(m, "kernel_bytes_per_inode",
		      ch->dentries ? KS_KERNEL_DENTRY_SIZE + KS_KERNEL_PROC_INODE_SIZE
				   : KS_KERNEL_PROC_INODE_SIZE);
	if (!ks_lockstat_read(ch->cell->locks, cls, 64, &n)) {
		for (size_t i = 0; i < n && i < 64; i++)
			if (!strcmp(cls[i].name, "s_inode_list_lock") && ops) {
				kb_metric_set(m, "inode_list_acquisitions_per_eviction",
					      (double)cls[i].acquisitions / (double)ops);
				kb_metric_set(m, "inode_list_bounces_per_eviction",
					      (double)cls[i].bounces / (double)ops);
				kb_metric_set(m, "inode_list_contentions_per_eviction",
					      (double)cls[i].contentions / (double)ops);
			}
	}
	/* Every operation the runner counted created and evicted one inode. */
	return evicted == ops ? 0 : -EUCLEAN;
}

static void churn_teardown(void *state)
{
	struct churn *ch = state;

	if (!ch)
		return;
	ks_dcache_destroy(ch->dc);
	if (ch->registered)
		ks_rcu_unregister_thread();
	ks_mem_free(ch->type, ch, sizeof(*ch));
}

static const struct kb_suite_entry churn_suite[] = {
	{
		.strategies = "all",
		.threads = "1,2",
		.params = "batch=64",
		.duration_s = 3,
		.headline = "dlock vs global",
		.base = "global",
		.target = "dlock",
	},
	{0},
};

static const struct kb_workload churn_workload = {
	.name = "inode-churn",
	.summary = "threads create and evict inodes on one superblock (inode list lock)",
	.subsystem = "dcache",
	.strategies = churn_strategies,
	.params = churn_params,
	.setup = churn_setup,
	.thread_init = churn_thread_init,
	.op = churn_op,
	.thread_fini = churn_thread_fini,
	.report = churn_report,
	.teardown = churn_teardown,
	.suite = churn_suite,
};
KB_WORKLOAD_REGISTER(churn_workload)
