// SPDX-License-Identifier: MIT
/*
 * slab_memcg: a cgroup allocates from a cache, is removed while its objects
 * are live, and is released once they are freed; then /proc/slabinfo as the
 * model prints it. Run with a strategy name as the argument (default
 * percache-4.10) to compare what each one visits and waits for.
 */
#include <kscale/kscale.h>
#include <kscale/slab.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	const char *strategy = argc > 1 ? argv[1] : "percache-4.10";
	struct ks_kmem_cache *dentry;
	struct ks_slab_stats st;
	struct ks_slabinfo *f;
	struct ks_slab_sys *s;
	uint64_t cg[4];
	void *obj[4];
	char buf[4096];
	ssize_t n;
	int r;

	ks_rcu_register_thread();
	r = ks_slab_create(strategy, NULL, &s);
	if (r) {
		fprintf(stderr, "ks_slab_create(%s): %d\n", strategy, r);
		return 1;
	}
	ks_kmem_cache_create(s, "dentry", 192, 0, 0, &dentry);
	for (int i = 0; i < 4; i++) {
		ks_memcg_create(s, KS_MEMCG_ROOT, &cg[i]);
		ks_kmem_cache_alloc(dentry, cg[i], &obj[i]);
	}
	for (int i = 0; i < 4; i++)
		ks_memcg_remove(s, cg[i]); /* dying: its objects are live */
	for (int i = 0; i < 4; i++)
		ks_kmem_cache_free(dentry, obj[i]); /* now it can be released */
	ks_slab_flush(s);
	ks_slab_stats(s, &st);
	printf("%s: caches peak %llu, offline visits %llu, release visits %llu, "
	       "grace periods under cgroup_mutex %llu, released %llu/4\n", strategy,
	       (unsigned long long)st.caches_peak, (unsigned long long)st.offline_visits,
	       (unsigned long long)st.release_visits,
	       (unsigned long long)st.sync_gp_cgroup_mutex, (unsigned long long)st.releases);
	ks_slabinfo_open(s, "cursor", &f);
	while ((n = ks_slabinfo_read(f, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	ks_slabinfo_close(f);
	ks_kmem_cache_destroy(dentry);
	ks_slab_destroy(s);
	ks_rcu_unregister_thread();
	return st.releases == 4 ? 0 : 1;
}
