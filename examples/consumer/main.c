// SPDX-License-Identifier: MIT
/*
 * A program outside the kscale tree, built against an installed kscale with
 * either pkg-config or find_package(kscale): see README.md, "Using kscale".
 */
#include <kscale/kscale.h>

#include <stdio.h>

int main(void)
{
	struct ks_topo *t;
	struct ks_lockstat *ls;
	struct ks_lock_class *cls;
	struct ks_lock_class_stats st;
	struct ks_spinlock lock;
	char deps[256], desc[256];
	size_t n;

	if (ks_topo_create("synthetic:pack:2 numa:2 core:8 pu:2", &t) ||
	    ks_lockstat_create(t, &ls) ||
	    ks_lock_class_get(ls, "demo_lock", KS_LOCK_GLOBAL, &cls) ||
	    ks_spin_init(&lock, cls))
		return 1;
	/* Take the lock from three CPUs in turn: two bounces. */
	for (int cpu = 0; cpu < 3; cpu++) {
		ks_cpu_set_current(cpu * 16);
		ks_spin_lock(&lock);
		ks_spin_unlock(&lock);
	}
	ks_lockstat_read(ls, &st, 1, &n);
	ks_dependency_versions(deps, sizeof(deps));
	ks_topo_describe(t, desc, sizeof(desc));
	printf("kscale %s (%s)\n%s\n%s: %llu acquisitions, %llu bounces\n", ks_version(),
	       deps, desc, st.name, (unsigned long long)st.acquisitions,
	       (unsigned long long)st.bounces);
	ks_spin_destroy(&lock);
	ks_lockstat_destroy(ls);
	ks_topo_destroy(t);
	return 0;
}
