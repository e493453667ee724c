// SPDX-License-Identifier: MIT
/*
 * topo: the machine, real or pretended, through hwloc.
 *
 * At creation the topology is flattened into per-CPU tables (node, core,
 * package, the hwloc PU for binding), so every query after that is an array
 * read: subsystems ask ks_topo_cpu_node() on hot-ish paths (node-local
 * allocation) and must not walk hwloc's tree there.
 */
#define _GNU_SOURCE
#include <kscale/topo.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hwloc.h>

#include "core/internal.h"

struct ks_topo {
	hwloc_topology_t hw;
	char *spec;
	bool real;
	int nr_cpus, nr_cores, nr_packages, nr_nodes;
	int *cpu_node, *cpu_core, *cpu_package;
	int *cpus_per_node;
	int *distance; /* nr_nodes * nr_nodes */
	hwloc_obj_t *pu; /* for binding */
};

/*
 * The CPU the harness assigned to this thread; -1: ask the scheduler.
 * initial-exec: read straight off the thread pointer, without the
 * __tls_get_addr() call PIC code otherwise makes. Subsystems ask this on every
 * hot-path operation. (It costs dlopen() of libkscale.so a few bytes of static
 * TLS, which glibc reserves for exactly this.)
 */
static __thread int ks_cpu_label __attribute__((tls_model("initial-exec"))) = -1;

int ks_cpu_current(void)
{
	int cpu = ks_cpu_label;

	if (cpu >= 0)
		return cpu;
	cpu = sched_getcpu();
	return cpu >= 0 ? cpu : 0;
}

int ks_cpu_set_current(int cpu)
{
	if (cpu < -1)
		return -EINVAL;
	ks_cpu_label = cpu;
	return 0;
}

/* Index of the hwloc object of @type containing @pu, or 0 if there is none. */
static int ancestor_index(hwloc_topology_t hw, hwloc_obj_t pu, hwloc_obj_type_t type)
{
	hwloc_obj_t o = hwloc_get_ancestor_obj_by_type(hw, type, pu);

	return o ? (int)o->logical_index : 0;
}

static int node_of_pu(hwloc_topology_t hw, hwloc_obj_t pu, int nr_nodes)
{
	for (int n = 0; n < nr_nodes; n++) {
		hwloc_obj_t node = hwloc_get_obj_by_type(hw, HWLOC_OBJ_NUMANODE, n);

		if (node && node->cpuset && hwloc_bitmap_isincluded(pu->cpuset, node->cpuset))
			return n;
	}
	return 0;
}

/*
 * Distances: hwloc's NUMA latency matrix when the topology carries one (real
 * machines with an ACPI SLIT, XML exports, synthetic strings that say so);
 * else the SLIT convention: 10 local, 20 within a package, 30 across.
 */
static void fill_distances(struct ks_topo *t)
{
	unsigned nr = 1;
	struct hwloc_distances_s *d = NULL;
	int nn = t->nr_nodes;

	for (int a = 0; a < nn; a++) {
		for (int b = 0; b < nn; b++) {
			hwloc_obj_t na = hwloc_get_obj_by_type(t->hw, HWLOC_OBJ_NUMANODE, a);
			hwloc_obj_t nb = hwloc_get_obj_by_type(t->hw, HWLOC_OBJ_NUMANODE, b);
			int pa = na ? ancestor_index(t->hw, na, HWLOC_OBJ_PACKAGE) : 0;
			int pb = nb ? ancestor_index(t->hw, nb, HWLOC_OBJ_PACKAGE) : 0;

			t->distance[a * nn + b] = a == b ? 10 : pa == pb ? 20 : 30;
		}
	}
	if (hwloc_distances_get_by_type(t->hw, HWLOC_OBJ_NUMANODE, &nr, &d,
					HWLOC_DISTANCES_KIND_MEANS_LATENCY, 0) != 0 ||
	    nr == 0)
		return;
	if ((int)d->nbobjs == nn) {
		for (unsigned i = 0; i < d->nbobjs; i++)
			for (unsigned j = 0; j < d->nbobjs; j++) {
				int a = (int)d->objs[i]->logical_index;
				int b = (int)d->objs[j]->logical_index;

				if (a < nn && b < nn)
					t->distance[a * nn + b] = (int)d->values[i * nn + j];
			}
	}
	hwloc_distances_release(t->hw, d);
}

static int load(struct ks_topo *t, const char *spec)
{
	const char *body;

	if (hwloc_topology_init(&t->hw) != 0)
		return -ENOMEM;
	if (!spec || !strcmp(spec, "real") || !*spec) {
		t->real = true;
		t->spec = strdup("real");
	} else if (!strncmp(spec, "synthetic:", 10) ||
		   (strncmp(spec, "xml:", 4) && strchr(spec, ':'))) {
		body = strncmp(spec, "synthetic:", 10) ? spec : spec + 10;
		if (!*body || hwloc_topology_set_synthetic(t->hw, body) != 0)
			return -EINVAL;
		if (asprintf(&t->spec, "synthetic:%s", body) < 0)
			t->spec = NULL;
	} else if (!strncmp(spec, "xml:", 4)) {
		body = spec + 4;
		if (!*body)
			return -EINVAL;
		if (access(body, R_OK) != 0)
			return errno == ENOENT ? -ENOENT : -EINVAL;
		if (hwloc_topology_set_xml(t->hw, body) != 0)
			return -EINVAL;
		t->spec = strdup(spec);
	} else {
		return -EINVAL;
	}
	if (!t->spec)
		return -ENOMEM;
	if (hwloc_topology_load(t->hw) != 0)
		return -EINVAL;
	return 0;
}

int ks_topo_create(const char *spec, struct ks_topo **out)
{
	struct ks_topo *t;
	int err, nr;

	if (!out)
		return -EINVAL;
	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	err = load(t, spec);
	if (err)
		goto fail;

	nr = hwloc_get_nbobjs_by_type(t->hw, HWLOC_OBJ_PU);
	if (nr <= 0) {
		err = -EINVAL;
		goto fail;
	}
	if (nr > KS_MAX_CPUS) {
		err = -E2BIG;
		goto fail;
	}
	t->nr_cpus = nr;
	t->nr_cores = hwloc_get_nbobjs_by_type(t->hw, HWLOC_OBJ_CORE);
	t->nr_packages = hwloc_get_nbobjs_by_type(t->hw, HWLOC_OBJ_PACKAGE);
	t->nr_nodes = hwloc_get_nbobjs_by_type(t->hw, HWLOC_OBJ_NUMANODE);
	/* A synthetic "pu:4" has no core or package level: count the PUs. */
	if (t->nr_cores <= 0)
		t->nr_cores = nr;
	if (t->nr_packages <= 0)
		t->nr_packages = 1;
	if (t->nr_nodes <= 0)
		t->nr_nodes = 1;

	t->cpu_node = calloc(nr, sizeof(int));
	t->cpu_core = calloc(nr, sizeof(int));
	t->cpu_package = calloc(nr, sizeof(int));
	t->pu = calloc(nr, sizeof(*t->pu));
	t->cpus_per_node = calloc(t->nr_nodes, sizeof(int));
	t->distance = calloc((size_t)t->nr_nodes * t->nr_nodes, sizeof(int));
	if (!t->cpu_node || !t->cpu_core || !t->cpu_package || !t->pu ||
	    !t->cpus_per_node || !t->distance) {
		err = -ENOMEM;
		goto fail;
	}
	for (int i = 0; i < nr; i++) {
		hwloc_obj_t pu = hwloc_get_obj_by_type(t->hw, HWLOC_OBJ_PU, i);
		bool has_core = hwloc_get_nbobjs_by_type(t->hw, HWLOC_OBJ_CORE) > 0;

		t->pu[i] = pu;
		t->cpu_node[i] = node_of_pu(t->hw, pu, t->nr_nodes);
		t->cpu_core[i] = has_core ? ancestor_index(t->hw, pu, HWLOC_OBJ_CORE) : i;
		t->cpu_package[i] = ancestor_index(t->hw, pu, HWLOC_OBJ_PACKAGE);
		t->cpus_per_node[t->cpu_node[i]]++;
	}
	fill_distances(t);
	*out = t;
	return 0;
fail:
	ks_topo_destroy(t);
	return err;
}

void ks_topo_destroy(struct ks_topo *t)
{
	if (!t)
		return;
	if (t->hw)
		hwloc_topology_destroy(t->hw);
	free(t->spec);
	free(t->cpu_node);
	free(t->cpu_core);
	free(t->cpu_package);
	free(t->cpus_per_node);
	free(t->distance);
	free(t->pu);
	free(t);
}

static struct ks_topo *default_topo;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static void default_init(void)
{
	if (ks_topo_create("real", &default_topo) != 0)
		default_topo = NULL;
}

const struct ks_topo *ks_topo_default(void)
{
	pthread_once(&default_once, default_init);
	return default_topo;
}

int ks_topo_nr_cpus(const struct ks_topo *t)
{
	return t ? t->nr_cpus : -EINVAL;
}

int ks_topo_nr_cores(const struct ks_topo *t)
{
	return t ? t->nr_cores : -EINVAL;
}

int ks_topo_nr_packages(const struct ks_topo *t)
{
	return t ? t->nr_packages : -EINVAL;
}

int ks_topo_nr_nodes(const struct ks_topo *t)
{
	return t ? t->nr_nodes : -EINVAL;
}

int ks_topo_cpu_node(const struct ks_topo *t, int cpu)
{
	if (!t || cpu < 0 || cpu >= t->nr_cpus)
		return -EINVAL;
	return t->cpu_node[cpu];
}

int ks_topo_cpu_core(const struct ks_topo *t, int cpu)
{
	if (!t || cpu < 0 || cpu >= t->nr_cpus)
		return -EINVAL;
	return t->cpu_core[cpu];
}

int ks_topo_cpu_package(const struct ks_topo *t, int cpu)
{
	if (!t || cpu < 0 || cpu >= t->nr_cpus)
		return -EINVAL;
	return t->cpu_package[cpu];
}

int ks_topo_node_nr_cpus(const struct ks_topo *t, int node)
{
	if (!t || node < 0 || node >= t->nr_nodes)
		return -EINVAL;
	return t->cpus_per_node[node];
}

int ks_topo_distance(const struct ks_topo *t, int a, int b)
{
	if (!t || a < 0 || b < 0 || a >= t->nr_nodes || b >= t->nr_nodes)
		return -EINVAL;
	return t->distance[a * t->nr_nodes + b];
}

bool ks_topo_is_real(const struct ks_topo *t)
{
	return t && t->real;
}

const char *ks_topo_spec(const struct ks_topo *t)
{
	return t ? t->spec : NULL;
}

int ks_topo_describe(const struct ks_topo *t, char *buf, size_t len)
{
	int n;

	if (!t || !buf || !len)
		return -EINVAL;
	n = snprintf(buf, len, "%s (%d cpus, %d cores, %d nodes, %d packages)", t->spec,
		     t->nr_cpus, t->nr_cores, t->nr_nodes, t->nr_packages);
	if (n < 0)
		return -EINVAL;
	return (size_t)n >= len ? -ENOSPC : n;
}

int ks_topo_bind_thread(const struct ks_topo *t, int cpu)
{
	if (!t || cpu < 0 || cpu >= t->nr_cpus)
		return -EINVAL;
	ks_cpu_label = cpu;
	if (!t->real)
		return 1;
	if (hwloc_set_cpubind(t->hw, t->pu[cpu]->cpuset, HWLOC_CPUBIND_THREAD) != 0)
		return errno ? -errno : -EINVAL;
	return 0;
}

void *ks_topo_hwloc(const struct ks_topo *t)
{
	return t ? t->hw : NULL;
}
