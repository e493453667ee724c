/* SPDX-License-Identifier: MIT */
/*
 * Internal to src/core: helpers the core modules share and nothing above
 * core may use.
 */
#ifndef KSCALE_CORE_INTERNAL_H
#define KSCALE_CORE_INTERNAL_H

#include <kscale/topo.h>

/* CPUs of NUMA node @node, or -EINVAL. */
int ks_topo_node_nr_cpus(const struct ks_topo *t, int node);
/* The hwloc_topology_t behind @t (as void *, so callers need no hwloc.h). */
void *ks_topo_hwloc(const struct ks_topo *t);

#endif
