/* SPDX-License-Identifier: MIT */
/*
 * pid: process id allocation in nested pid namespaces, as kernel/pid.c does
 * it, with several strategies side by side.
 *
 * A struct ks_pid_space is one "machine": a root pid namespace (level 0),
 * the namespaces nested in it (levels 1..32) and every pid allocated in them.
 * A pid allocated in a namespace at level L carries L+1 numbers, one per
 * level, as the kernel's struct pid.numbers[] does. Strategies (selected by
 * name, see ks_pid_strategies()) differ in how numbers are found, how lookups
 * work and which locks they take; the rules below hold for all of them:
 *
 *  - the first pid of a new namespace is 1, its reaper (child_reaper); the
 *    root namespace is like init_pid_ns, whose init exists from boot: its
 *    reaper needs no pid, so the reaper rules concern nested namespaces;
 *  - per-namespace pid_max (Linux 6.14+) within [max(301, 8 * nr_cpus),
 *    4194304]; the root defaults to max(32768, 1024 * nr_cpus) (capped at
 *    4194304), a new namespace to 4194304; lowering it leaves live pids alone;
 *  - clone3()'s set_tid, ns_last_pid, -EAGAIN on exhaustion, -ENOMEM when the
 *    namespace's init is dead (nothing is left behind);
 *  - lookups run under RCU without locks and never see a pid that is not yet
 *    published; a freed pid disappears from every level at once, and its
 *    memory is released after a grace period and the last ks_pid_put().
 *
 * Numbering: strategies flagged KS_PID_KERNEL_NUMBERING hand out the same
 * numbers as Linux 6.18's alloc_pid() (lowest free number >= the cursor below
 * pid_max, else wrap to 300, or to 1 while the cursor has not passed 300).
 * Others document their own order (ks_strategy_info.summary).
 *
 * Threads: every function that takes a namespace or a pid must be called
 * from a thread registered with ks_rcu_register_thread(); otherwise it
 * returns -EPERM (documented per function).
 */
#ifndef KSCALE_PID_H
#define KSCALE_PID_H

#include <kscale/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ks_topo;
struct ks_lockstat;
struct ks_mem;

struct ks_pid_space; /* opaque: a root namespace and everything below it */
struct ks_pid_ns;    /* opaque: one pid namespace, owned by its space */
struct ks_pid;       /* opaque: one pid, with a number per level */

/** Deepest namespace level (include/linux/pid_namespace.h MAX_PID_NS_LEVEL). */
#define KS_PID_MAX_LEVEL 32
/** Largest pid_max (include/linux/threads.h PID_MAX_LIMIT, 64-bit). */
#define KS_PID_MAX_LIMIT (4 * 1024 * 1024)
/** Default pid_max floor of the root namespace (PID_MAX_DEFAULT). */
#define KS_PID_MAX_DEFAULT 0x8000
/** Numbers below this are skipped once the cursor passed it (RESERVED_PIDS). */
#define KS_PID_RESERVED 300
/** pid_max defaults to at least this many pids per CPU (PIDS_PER_CPU_DEFAULT). */
#define KS_PIDS_PER_CPU_DEFAULT 1024
/** pid_max may not go below this many pids per CPU (PIDS_PER_CPU_MIN). */
#define KS_PIDS_PER_CPU_MIN 8

/* ---- strategies -------------------------------------------------------- */

/** The strategy numbers pids exactly as Linux 6.18 does (see above). */
#define KS_PID_KERNEL_NUMBERING (1u << 0)
/** Numbers follow Linux 4.14's bitmap rules (wrap to 300 only, never to 1). */
#define KS_PID_NUMBERING_4_14 (1u << 1)
/** Numbers come from per-CPU ranges: no global cyclic order (see summary). */
#define KS_PID_NUMBERING_RANGES (1u << 2)

/**
 * ks_pid_strategies() - the selectable strategies.
 * @n: receives the number of entries (may be NULL).
 *
 * Context: any thread.
 * Return: a static array of name, summary and kernel source per strategy.
 */
const struct ks_strategy_info *ks_pid_strategies(size_t *n);

/**
 * ks_pid_strategy_flags() - capability flags of a strategy.
 * @name: a strategy name.
 *
 * Context: any thread.
 * Return: the KS_PID_* flags (>= 0); -EINVAL for NULL @name; -ENOENT for an
 * unknown name.
 */
int ks_pid_strategy_flags(const char *name);

/* ---- spaces -------------------------------------------------------------- */

/**
 * struct ks_pid_opts - options of a pid space; {0} selects every default.
 * @topo:      topology (NULL: ks_topo_default()); its CPU count sets the
 *             pid_max bounds and default, and sizes per-CPU data.
 * @locks:     lock_stat registry the space's lock classes go to ("pidmap_lock",
 *             "xa_lock", ...); NULL: a private one owned by the space.
 * @mem:       memory accounting domain ("pid", "idr_node", ...); NULL: a
 *             private one owned by the space.
 * @nr_cpus:   0, or the CPU count the pid_max bounds and default are computed
 *             from in place of the topology's (the kernel's
 *             num_possible_cpus()); 1..KS_MAX_CPUS.
 * @pid_max:   0, or the root namespace's initial pid_max (same bounds as
 *             ks_pid_ns_set_pid_max()).
 */
struct ks_pid_opts {
	const struct ks_topo *topo;
	struct ks_lockstat *locks;
	struct ks_mem *mem;
	int nr_cpus;
	int pid_max;
};

/**
 * ks_pid_space_create() - a new pid space: a root namespace with no pid.
 * @strategy: a name from ks_pid_strategies().
 * @opts:     options, or NULL for the defaults.
 * @out:      receives the space.
 *
 * Context: any thread; may sleep.
 * Return: 0; -EINVAL for NULL @strategy or @out, @opts->nr_cpus out of
 * 0..KS_MAX_CPUS, @opts->pid_max nonzero and out of bounds, or no default
 * topology; -ENOENT for an unknown strategy; -ENOMEM.
 */
int ks_pid_space_create(const char *strategy, const struct ks_pid_opts *opts,
			struct ks_pid_space **out);

/**
 * ks_pid_space_destroy() - free every live pid, every namespace and the space.
 * @s: the space.
 *
 * Live pids are freed as ks_pid_free() would, then the call waits for their
 * RCU callbacks (ks_rcu_barrier()). If struct pids are still referenced
 * afterwards (a ks_pid_get() without its ks_pid_put(), or a pid allocated
 * with KS_PID_ALLOC_NOPUBLISH never published nor freed), the space is kept:
 * drop those references and call again.
 *
 * Context: a registered RCU thread outside any read-side section; no other
 * thread may use the space; sleeps.
 * Return: 0; -EINVAL for NULL @s; -EPERM for an unregistered thread; -EDEADLK
 * inside a read-side section; -EBUSY when struct pids are still referenced.
 */
int ks_pid_space_destroy(struct ks_pid_space *s);

/**
 * ks_pid_space_strategy() - the strategy name of @s. Return: a static string,
 * or NULL for NULL @s.
 */
const char *ks_pid_space_strategy(const struct ks_pid_space *s);

/**
 * struct ks_pid_stats - counts every strategy reports.
 * @allocs:        successful allocations.
 * @frees:         ks_pid_free() of allocated pids.
 * @failed:        allocations that returned an error.
 * @live:          pids allocated and not freed.
 * @pid_objs:      struct pids whose memory is not yet released (live pids,
 *                 pids waiting for a grace period, referenced freed pids).
 * @nr_namespaces: namespaces of the space, the root included.
 * @bytes:         live bytes of the ks_mem types the space allocates from
 *                 (struct pid, tree nodes, bitmaps, ...). Where two spaces
 *                 share one ks_mem domain, its types are shared too.
 */
struct ks_pid_stats {
	uint64_t allocs;
	uint64_t frees;
	uint64_t failed;
	int64_t live;
	int64_t pid_objs;
	int nr_namespaces;
	int64_t bytes;
};

/**
 * ks_pid_stats() - snapshot the counts of @s (sums over CPUs).
 * @s: the space. @out: receives the counts.
 *
 * Context: any thread.
 * Return: 0; -EINVAL for NULL arguments.
 */
int ks_pid_stats(const struct ks_pid_space *s, struct ks_pid_stats *out);

/* ---- namespaces ---------------------------------------------------------- */

/**
 * ks_pid_ns_root() - the root namespace (level 0) of @s.
 * @s: the space. @out: receives the namespace.
 *
 * Context: any thread. Return: 0; -EINVAL for NULL arguments.
 */
int ks_pid_ns_root(struct ks_pid_space *s, struct ks_pid_ns **out);

/**
 * ks_pid_ns_create() - a new namespace nested in @parent, as
 * create_pid_namespace() (kernel/pid_namespace.c) makes one.
 * @parent: the parent namespace.
 * @out:    receives the namespace; it lives as long as its space.
 *
 * The namespace starts with pid_max KS_PID_MAX_LIMIT, no pid and its cursor
 * at 0, so its first pid is 1.
 *
 * Context: any thread; may sleep.
 * Return: 0; -EINVAL for NULL arguments; -ENOSPC when the new level would
 * exceed KS_PID_MAX_LEVEL (creating level 33); -ENOMEM.
 */
int ks_pid_ns_create(struct ks_pid_ns *parent, struct ks_pid_ns **out);

/**
 * ks_pid_ns_level() - the level of @ns (0 for the root).
 * Context: any thread. Return: 0..32; -EINVAL for NULL @ns.
 */
int ks_pid_ns_level(const struct ks_pid_ns *ns);

/**
 * ks_pid_ns_parent() - the parent of @ns.
 * @ns: namespace. @out: receives the parent.
 * Context: any thread. Return: 0; -EINVAL for NULL arguments; -ENOENT for the
 * root (@out gets NULL).
 */
int ks_pid_ns_parent(const struct ks_pid_ns *ns, struct ks_pid_ns **out);

/**
 * ks_pid_ns_pid_max() - the pid_max of @ns (numbers are below it).
 * Context: any thread. Return: the value (> 0); -EINVAL for NULL @ns.
 */
int ks_pid_ns_pid_max(const struct ks_pid_ns *ns);

/**
 * ks_pid_ns_set_pid_max() - write /proc/sys/kernel/pid_max of @ns.
 * @ns:      namespace.
 * @pid_max: new value, in [max(301, 8 * nr_cpus), KS_PID_MAX_LIMIT].
 *
 * Live pids at or above the new value stay; later allocations obey it.
 *
 * Context: any thread. Return: 0; -EINVAL for NULL @ns or a value out of
 * bounds.
 */
int ks_pid_ns_set_pid_max(struct ks_pid_ns *ns, int pid_max);

/**
 * ks_pid_ns_pid_max_bounds() - the bounds ks_pid_ns_set_pid_max() accepts.
 * @s: the space. @min, @max: receive the bounds (either may be NULL).
 * Context: any thread. Return: 0; -EINVAL for NULL @s.
 */
int ks_pid_ns_pid_max_bounds(const struct ks_pid_space *s, int *min, int *max);

/**
 * ks_pid_ns_last_pid() - read /proc/sys/kernel/ns_last_pid of @ns: the
 * number the strategy's cursor last handed out (the IDR cursor minus one; -1
 * for a namespace that never allocated, not observable in the kernel).
 * Context: any thread. Return: the value (>= -1); -EINVAL for NULL @ns.
 */
int ks_pid_ns_last_pid(const struct ks_pid_ns *ns);

/**
 * ks_pid_ns_set_last_pid() - write ns_last_pid: the next automatic number is
 * searched from @last_pid + 1 (kernel/pid_namespace.c pid_ns_ctl_handler()).
 * @ns:         namespace.
 * @last_pid:   0..pid_max of @ns.
 * @privileged: the caller has CAP_CHECKPOINT_RESTORE (or CAP_SYS_ADMIN) over
 *              the namespace's user namespace.
 *
 * Context: any thread. Return: 0; -EINVAL for NULL @ns or @last_pid out of
 * range; -EPERM when not @privileged.
 */
int ks_pid_ns_set_last_pid(struct ks_pid_ns *ns, int last_pid, bool privileged);

/**
 * ks_pid_ns_disable() - the namespace's init died: refuse every later
 * allocation in it with -ENOMEM (disable_pid_allocation()). Freeing the
 * namespace's pid 1 (its reaper) does the same. Live pids stay.
 * Context: any thread. Return: 0; -EINVAL for NULL @ns.
 */
int ks_pid_ns_disable(struct ks_pid_ns *ns);

/**
 * struct ks_pid_range_stats - how a range strategy (pcpu-range,
 * pcpu-lockfree) got its ranges in one namespace.
 * @carves:    empty slots filled with a new range of 256 numbers (set_tid's
 *             one-number ranges included).
 * @adoptions: detached ranges that still held live numbers, taken over by a
 *             CPU to hand out their free ones (what a populated id space
 *             needs: see docs/pid.md, "A populated machine").
 * @retires:   ranges emptied and freed after a grace period.
 * @steals:    numbers taken from any range because no slot could be carved
 *             or adopted (a nearly full namespace).
 */
struct ks_pid_range_stats {
	uint64_t carves;
	uint64_t adoptions;
	uint64_t retires;
	uint64_t steals;
};

/**
 * ks_pid_ns_range_stats() - snapshot @ns's range counts.
 * @ns: namespace. @out: receives the counts (relaxed reads: exact once the
 *      namespace is quiescent).
 * Context: any thread. Return: 0; -EINVAL for NULL arguments; -EOPNOTSUPP
 * when the space's strategy does not number with ranges.
 */
int ks_pid_ns_range_stats(const struct ks_pid_ns *ns, struct ks_pid_range_stats *out);

/* ---- pids -------------------------------------------------------------- */

/** Caller may use set_tid (CAP_CHECKPOINT_RESTORE in every user namespace). */
#define KS_PID_ALLOC_PRIVILEGED (1u << 0)
/**
 * Leave the pid allocated but unpublished (placeholders, invisible to
 * lookups) until ks_pid_publish(). The kernel publishes at the end of
 * alloc_pid(); this splits that step so the window can be tested. For
 * strategies that publish under the allocation's lock (idr-once), it costs a
 * second lock round trip.
 */
#define KS_PID_ALLOC_NOPUBLISH (1u << 1)

/**
 * ks_pid_alloc() - allocate a pid in @ns and every ancestor, as alloc_pid().
 * @ns:           the innermost namespace of the new pid.
 * @set_tid:      NULL, or the numbers wanted, entry 0 for @ns, entry 1 for its
 *                parent, ...; levels beyond @set_tid_size are automatic.
 * @set_tid_size: entries in @set_tid (0 when @set_tid is NULL).
 * @flags:        KS_PID_ALLOC_PRIVILEGED, KS_PID_ALLOC_NOPUBLISH.
 * @out:          receives the pid, holding one reference (the task's), which
 *                ks_pid_free() drops after a grace period.
 *
 * Context: a registered RCU thread; may take the strategy's locks; may sleep
 * (allocation).
 * Return: 0; -EINVAL for NULL @ns or @out, unknown @flags, @set_tid NULL with
 * a size or non-NULL with size 0, @set_tid_size above @ns's level + 1, a
 * requested number < 1 or >= that level's pid_max, or a number other than 1
 * in a namespace without a reaper; -EPERM for set_tid without
 * KS_PID_ALLOC_PRIVILEGED, or an unregistered thread; -EEXIST when a requested
 * number is taken; -EAGAIN when a level has no free number below its pid_max;
 * -ENOMEM when memory ran out or @ns's init is dead (ks_pid_ns_disable()).
 * On error nothing is allocated (cursors may have moved, as in the kernel).
 */
int ks_pid_alloc(struct ks_pid_ns *ns, const int *set_tid, size_t set_tid_size,
		 unsigned int flags, struct ks_pid **out);

/**
 * ks_pid_publish() - make a pid allocated with KS_PID_ALLOC_NOPUBLISH visible
 * to lookups at every level at once (the idr_replace() loop of alloc_pid()).
 * @pid: the pid.
 *
 * On -ENOMEM the pid is freed: its numbers are released and its task
 * reference dropped, as alloc_pid()'s error path does.
 *
 * Context: a registered RCU thread. Return: 0; -EINVAL for NULL @pid or a pid
 * that is not waiting for publication (published already or freed); -ENOMEM
 * when the innermost namespace's init is dead; -EPERM for an unregistered
 * thread.
 */
int ks_pid_publish(struct ks_pid *pid);

/**
 * ks_pid_free() - free a pid (free_pid()): its numbers disappear from every
 * level at once; the task reference is dropped after a grace period. An
 * unpublished pid is freed too (its placeholders are removed).
 * @pid: the pid, which must be valid: the caller holds a reference or is in
 *       the read-side section in which it found @pid, or the grace period of
 *       an earlier free has not ended (any other use is a use after free).
 *
 * Context: a registered RCU thread.
 * Return: 0; -EINVAL for NULL @pid; -ENOENT when @pid was freed already (a
 * double free: nothing changes); -EPERM for an unregistered thread.
 */
int ks_pid_free(struct ks_pid *pid);

/**
 * ks_pid_get() - take a reference (get_pid()): the memory stays until the
 * matching ks_pid_put(), even after ks_pid_free().
 * Context: any thread holding a reference or inside the read-side section
 * that found @pid. Return: 0; -EINVAL for NULL @pid or a pid whose count is
 * zero (being released).
 */
int ks_pid_get(struct ks_pid *pid);

/**
 * ks_pid_put() - drop a reference (put_pid()); the last one releases the
 * memory.
 * Context: any thread. Return: 0; -EINVAL for NULL @pid or a count already
 * zero.
 */
int ks_pid_put(struct ks_pid *pid);

/**
 * ks_pid_lookup() - the published pid numbered @nr in @ns (find_pid_ns()).
 * @ns: namespace. @nr: number. @out: receives the pid, valid until the end
 *      of the caller's read-side section (ks_pid_get() to keep it).
 *
 * Context: inside ks_rcu_read_lock(); takes no lock (bitmap-hash and others
 * may document otherwise in their summary).
 * Return: 0; -EINVAL for NULL @ns or @out, or @nr < 1; -ENOENT when no
 * published pid has that number (unpublished ones included); -EPERM for a
 * thread outside a read-side section.
 */
int ks_pid_lookup(struct ks_pid_ns *ns, int nr, struct ks_pid **out);

/**
 * ks_pid_lookup_get() - ks_pid_lookup() with its own read-side section and a
 * reference taken (find_get_pid()); ks_pid_put() it.
 * Context: a registered RCU thread.
 * Return: 0; -EINVAL for NULL @ns or @out, or @nr < 1; -ENOENT when not found;
 * -EPERM for an unregistered thread.
 */
int ks_pid_lookup_get(struct ks_pid_ns *ns, int nr, struct ks_pid **out);

/**
 * ks_pid_find_ge() - the published pid with the smallest number >= @nr in
 * @ns (find_ge_pid(), used by /proc readdir and zap_pid_ns_processes()).
 * @ns: namespace. @nr: where to start (>= 0). @out: receives the pid (valid
 *      as for ks_pid_lookup()); may be NULL when only the number is wanted.
 *
 * Context: inside ks_rcu_read_lock().
 * Return: the number found (>= @nr, >= 1); -EINVAL for NULL @ns or @nr < 0;
 * -ENOENT when there is none; -EPERM for a thread outside a read-side
 * section.
 */
int ks_pid_find_ge(struct ks_pid_ns *ns, int nr, struct ks_pid **out);

/**
 * ks_pid_nr_ns() - the number of @pid in @ns (pid_nr_ns()).
 * Context: any thread holding a reference, or in the read-side section that
 * found @pid. Return: the number (>= 1); 0 when @pid has no number in @ns
 * (@ns is not one of its namespaces); -EINVAL for NULL arguments.
 */
int ks_pid_nr_ns(const struct ks_pid *pid, const struct ks_pid_ns *ns);

/**
 * ks_pid_level() - the level of @pid's innermost namespace.
 * Return: 0..32; -EINVAL for NULL @pid.
 */
int ks_pid_level(const struct ks_pid *pid);

/**
 * ks_pid_ns_of() - the innermost namespace of @pid (ns_of_pid()).
 * @pid: the pid. @out: receives the namespace.
 * Return: 0; -EINVAL for NULL arguments.
 */
int ks_pid_ns_of(const struct ks_pid *pid, struct ks_pid_ns **out);

/**
 * ks_pid_set_task() - attach (@task non-NULL) or detach (NULL) the object
 * that owns @pid: attach_pid()/detach_pid() of PIDTYPE_PID, for the task
 * layer (task.h). A store-release: a reader that sees the pointer sees the
 * object it points to.
 * @pid: the pid (the caller holds a reference). @task: the owner, or NULL.
 * Return: 0; -EINVAL for NULL @pid, or attaching when an owner is attached.
 */
int ks_pid_set_task(struct ks_pid *pid, void *task);

/**
 * ks_pid_task() - the owner attached to @pid (pid_task(): a load-acquire),
 * or NULL; valid as the caller's rules for the owner say (task.h: inside
 * a read-side section). NULL for NULL @pid.
 */
void *ks_pid_task(const struct ks_pid *pid);

#ifdef __cplusplus
}
#endif

#endif /* KSCALE_PID_H */
