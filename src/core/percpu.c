// SPDX-License-Identifier: MIT
/*
 * percpu: one object per CPU, grouped by NUMA node as the kernel's percpu
 * allocator groups units (mm/percpu.c pcpu_build_alloc_info()): the copies of
 * one node's CPUs sit in one block bound to that node, each copy on its own
 * cache lines. On a single-node machine (or a synthetic/XML topology, which
 * has no memory to bind) the blocks are ordinary aligned allocations.
 */
#define _GNU_SOURCE
#include <kscale/percpu.h>
#include <kscale/topo.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <hwloc.h>

#include "core/internal.h"

#define PERCPU_MAX_SIZE (1u << 20)

struct ks_percpu {
	int nr;
	int nr_nodes;
	size_t stride;
	void **ptr;          /* per CPU: its copy */
	void **block;        /* per node: the block holding its CPUs' copies */
	size_t *block_len;
	bool *block_hwloc;   /* allocated with hwloc_alloc_membind() */
	hwloc_topology_t hw; /* for hwloc_free() */
};

int ks_percpu_alloc(const struct ks_topo *t, size_t size, struct ks_percpu **out)
{
	struct ks_percpu *p;
	int nr, nodes, *used = NULL;
	bool bind;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!t)
		t = ks_topo_default();
	if (!t || size == 0 || size > PERCPU_MAX_SIZE)
		return -EINVAL;
	nr = ks_topo_nr_cpus(t);
	nodes = ks_topo_nr_nodes(t);
	bind = ks_topo_is_real(t) && nodes > 1;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->nr = nr;
	p->nr_nodes = nodes;
	p->stride = (size + KS_CACHELINE - 1) & ~(size_t)(KS_CACHELINE - 1);
	p->hw = ks_topo_hwloc(t);
	p->ptr = calloc(nr, sizeof(void *));
	p->block = calloc(nodes, sizeof(void *));
	p->block_len = calloc(nodes, sizeof(size_t));
	p->block_hwloc = calloc(nodes, sizeof(bool));
	used = calloc(nodes, sizeof(int));
	if (!p->ptr || !p->block || !p->block_len || !p->block_hwloc || !used)
		goto nomem;

	for (int n = 0; n < nodes; n++) {
		int cpus = ks_topo_node_nr_cpus(t, n);
		size_t len = (size_t)(cpus > 0 ? cpus : 0) * p->stride;
		void *b = NULL;

		if (!len)
			continue;
		if (bind) {
			hwloc_obj_t node = hwloc_get_obj_by_type(p->hw, HWLOC_OBJ_NUMANODE, n);

			if (node)
				b = hwloc_alloc_membind(p->hw, len, node->nodeset,
							HWLOC_MEMBIND_BIND,
							HWLOC_MEMBIND_BYNODESET);
			if (b) {
				p->block_hwloc[n] = true;
				memset(b, 0, len);
			}
		}
		if (!b) {
			/* Unbindable (or binding refused): plain, still aligned. */
			if (posix_memalign(&b, KS_CACHELINE, len) != 0)
				goto nomem;
			memset(b, 0, len);
		}
		p->block[n] = b;
		p->block_len[n] = len;
	}
	for (int cpu = 0; cpu < nr; cpu++) {
		int n = ks_topo_cpu_node(t, cpu);

		p->ptr[cpu] = (char *)p->block[n] + (size_t)used[n]++ * p->stride;
	}
	free(used);
	*out = p;
	return 0;
nomem:
	free(used);
	ks_percpu_free(p);
	return -ENOMEM;
}

void ks_percpu_free(struct ks_percpu *p)
{
	if (!p)
		return;
	for (int n = 0; p->block && n < p->nr_nodes; n++) {
		if (!p->block[n])
			continue;
		if (p->block_hwloc[n])
			hwloc_free(p->hw, p->block[n], p->block_len[n]);
		else
			free(p->block[n]);
	}
	free(p->block);
	free(p->block_len);
	free(p->block_hwloc);
	free(p->ptr);
	free(p);
}

int ks_percpu_nr(const struct ks_percpu *p)
{
	return p ? p->nr : -EINVAL;
}

void *ks_percpu_ptr(const struct ks_percpu *p, int cpu)
{
	if (!p || cpu < 0 || cpu >= p->nr)
		return NULL;
	return p->ptr[cpu];
}

/* The harness labels CPUs inside the topology, so the division is rare. */
static inline unsigned int this_index(const struct ks_percpu *p)
{
	unsigned int cpu = (unsigned int)ks_cpu_current();

	return cpu < (unsigned int)p->nr ? cpu : cpu % (unsigned int)p->nr;
}

int ks_percpu_this_cpu(const struct ks_percpu *p)
{
	if (!p)
		return -EINVAL;
	return (int)this_index(p);
}

void *ks_percpu_this(const struct ks_percpu *p)
{
	if (!p)
		return NULL;
	return p->ptr[this_index(p)];
}
