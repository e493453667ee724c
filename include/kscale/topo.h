/* SPDX-License-Identifier: MIT */
/*
 * topo: the machine kscale runs on, or pretends to.
 *
 * A "CPU" in kscale is a logical CPU (an hwloc PU) of a struct ks_topo: the
 * real machine, a synthetic topology ("pack:4 numa:2 core:16 pu:2" gives 256
 * CPUs on any box) or an hwloc XML file. CPUs are numbered 0..nr_cpus-1 in
 * topology order (hwloc's logical index), so CPU i and i+1 are SMT siblings or
 * neighbouring cores, as will-it-scale's binding order expects.
 *
 * ks_cpu_current() is what every subsystem asks instead of sched_getcpu(): it
 * returns the CPU the harness assigned to the calling thread with
 * ks_cpu_set_current(), so a test can run 256 logical CPUs on two real ones.
 */
#ifndef KSCALE_TOPO_H
#define KSCALE_TOPO_H

#include <kscale/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ks_topo; /* opaque */

/** Most CPUs a topology may have. */
#define KS_MAX_CPUS 4096

/**
 * ks_topo_create() - load a topology.
 * @spec: NULL or "real" for this machine; "synthetic:STR" for an hwloc
 *        synthetic description (a bare string containing ':' such as
 *        "pack:2 numa:2 core:8 pu:2" is accepted too); "xml:FILE" for an
 *        hwloc XML export.
 * @out:  receives the topology; the caller owns it.
 *
 * Context: any thread; may sleep (hwloc discovery).
 * Return: 0; -EINVAL for NULL @out, an unknown prefix or a synthetic string
 * or XML file hwloc rejects; -ENOENT when the XML file does not exist;
 * -E2BIG when it has more than KS_MAX_CPUS CPUs; -ENOMEM.
 */
int ks_topo_create(const char *spec, struct ks_topo **out);

/** ks_topo_destroy() - free a topology; NULL is ignored. */
void ks_topo_destroy(struct ks_topo *t);

/**
 * ks_topo_default() - a process-wide topology of the real machine, created on
 * first use and never freed. Subsystems fall back to it when their options
 * name no topology.
 *
 * Context: any thread. Return: the topology, or NULL if hwloc failed.
 */
const struct ks_topo *ks_topo_default(void);

/** Counts. Each returns the count (>= 1), or -EINVAL for a NULL @t. */
int ks_topo_nr_cpus(const struct ks_topo *t);
int ks_topo_nr_cores(const struct ks_topo *t);
int ks_topo_nr_packages(const struct ks_topo *t);
int ks_topo_nr_nodes(const struct ks_topo *t);

/**
 * ks_topo_cpu_node() - NUMA node of a CPU (0..nr_nodes-1).
 * ks_topo_cpu_core() - core of a CPU (0..nr_cores-1).
 * ks_topo_cpu_package() - package of a CPU (0..nr_packages-1).
 * @t: topology. @cpu: 0..nr_cpus-1.
 *
 * Return: the index, or -EINVAL for a NULL @t or a CPU out of range.
 */
int ks_topo_cpu_node(const struct ks_topo *t, int cpu);
int ks_topo_cpu_core(const struct ks_topo *t, int cpu);
int ks_topo_cpu_package(const struct ks_topo *t, int cpu);

/**
 * ks_topo_distance() - relative distance between two NUMA nodes, as in the
 * ACPI SLIT (10 = local). Taken from hwloc's distance matrix where the
 * topology has one; otherwise 10 on the diagonal, 20 within a package, 30
 * across packages.
 *
 * Return: the distance, or -EINVAL for a NULL @t or a node out of range.
 */
int ks_topo_distance(const struct ks_topo *t, int node_a, int node_b);

/**
 * ks_topo_is_real() - true when @t describes this machine, so that CPUs can
 * be bound. False for synthetic and XML topologies, and for NULL.
 */
bool ks_topo_is_real(const struct ks_topo *t);

/**
 * ks_topo_describe() - one line such as "synthetic:pack:4 numa:2 core:16
 * pu:2 (256 cpus, 128 cores, 8 nodes, 4 packages)".
 * @buf, @len: where to write.
 *
 * Return: length written; -EINVAL for NULL arguments or @len 0; -ENOSPC
 * when truncated.
 */
int ks_topo_describe(const struct ks_topo *t, char *buf, size_t len);

/**
 * ks_topo_spec() - the spec string the topology was created from ("real",
 * "synthetic:...", "xml:...").  Return: a string owned by @t, or NULL.
 */
const char *ks_topo_spec(const struct ks_topo *t);

/**
 * ks_topo_bind_thread() - make the calling thread "run on" CPU @cpu.
 * @t: topology. @cpu: 0..nr_cpus-1.
 *
 * Always sets ks_cpu_current() to @cpu for this thread. When @t is the real
 * machine, also binds the thread to that PU with hwloc; for synthetic and XML
 * topologies there is nothing to bind to, and CPU @cpu is only a label.
 *
 * Context: the calling thread. Return: 0, or 1 when the label was set but the
 * thread could not be bound (topology not real); -EINVAL for a NULL @t or a
 * CPU out of range; -errno from the binding call.
 */
int ks_topo_bind_thread(const struct ks_topo *t, int cpu);

/**
 * ks_cpu_current() - the logical CPU of the calling thread.
 *
 * The CPU set by ks_cpu_set_current() or ks_topo_bind_thread(); for a thread
 * that never set one, sched_getcpu() (or 0 if that fails). Callers that index
 * per-CPU data with it must reduce it modulo their CPU count:
 * ks_percpu_this() does.
 *
 * Context: any thread. Return: a CPU number >= 0. Cheap (a TLS read).
 */
int ks_cpu_current(void);

/**
 * ks_cpu_set_current() - label the calling thread with CPU @cpu (>= 0, or -1
 * to go back to sched_getcpu()). Return: 0, or -EINVAL for @cpu < -1.
 */
int ks_cpu_set_current(int cpu);

#ifdef __cplusplus
}
#endif

#endif /* KSCALE_TOPO_H */
