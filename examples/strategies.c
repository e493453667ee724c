// SPDX-License-Identifier: MIT
/*
 * Print every subsystem's strategies as a Markdown table: name, what it is,
 * and the kernel source, patch or thread it models. The README's catalogue is
 * this program's output, so the two cannot drift apart.
 *
 *   ./example_strategies            # all subsystems
 */
#include <kscale/kscale.h>

#include <stdio.h>

struct catalogue {
	const char *subsystem;
	const char *selects; /* what the name selects */
	const struct ks_strategy_info *(*list)(size_t *n);
};

static const struct catalogue catalogues[] = {
	{ "pid", "PID allocator (`ks_pid_space_create`)", ks_pid_strategies },
	{ "dcache", "superblock inode list (`ks_dcache_create`)", ks_dcache_strategies },
	{ "procfs", "/proc layout (`ks_procfs_create`)", ks_procfs_strategies },
	{ "slab", "memcg slab design (`ks_slab_create`)", ks_slab_strategies },
	{ "slab", "/proc/slabinfo iterator (`ks_slabinfo_open`)", ks_slabinfo_iterators },
	{ "reclaim", "deferred destruction (`ks_reclaim_create`)", ks_reclaim_strategies },
	{ "rcu", "rcu_barrier model (`ks_rcu_barrier_create`)", ks_rcu_barrier_impls },
	{ "reap", "process_mrelease safety check (`ks_reap_create`)", ks_reap_strategies },
	{ "reap", "killer (`ks_reap_kill`)", ks_reap_killers },
};

int main(void)
{
	printf("| subsystem | selects | name | what it is | models |\n");
	printf("|---|---|---|---|---|\n");
	for (size_t c = 0; c < KS_ARRAY_SIZE(catalogues); c++) {
		size_t n = 0;
		const struct ks_strategy_info *s = catalogues[c].list(&n);

		if (!s || !n) {
			fprintf(stderr, "%s: no strategies\n", catalogues[c].subsystem);
			return 1;
		}
		for (size_t i = 0; i < n; i++)
			printf("| %s | %s | `%s` | %s | %s |\n", catalogues[c].subsystem,
			       catalogues[c].selects, s[i].name, s[i].summary,
			       s[i].source ? s[i].source : "");
	}
	return 0;
}
