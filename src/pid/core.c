// SPDX-License-Identifier: MIT
/*
 * pid core: what every strategy shares. Models the strategy-independent
 * parts of kernel/pid.c (struct pid, alloc_pid()'s argument checks,
 * free_pid()'s call_rcu(), put_pid(), pid_nr_ns()) and kernel/pid_namespace.c
 * (create_pid_namespace()'s level limit, pid_max and ns_last_pid sysctls,
 * disable_pid_allocation()), Linux 6.18. Numbers, lookups and locking are the
 * strategy's (pid_internal.h).
 */
#include "pid/pid_internal.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

static const struct ks_pid_ops *const strategies[] = {
#define KS_PID_STRATEGY(ident) &ks_pid_##ident##_ops,
#include "pid/strategies.h"
#undef KS_PID_STRATEGY
};

/* ks_pid_strategies() returns a contiguous copy of the infos, built once. */
static struct ks_strategy_info strategy_infos[KS_ARRAY_SIZE(strategies)];
static pthread_once_t strategy_infos_once = PTHREAD_ONCE_INIT;

static void strategy_infos_init(void)
{
	for (size_t i = 0; i < KS_ARRAY_SIZE(strategies); i++)
		strategy_infos[i] = strategies[i]->info;
}

const struct ks_strategy_info *ks_pid_strategies(size_t *n)
{
	pthread_once(&strategy_infos_once, strategy_infos_init);
	if (n)
		*n = KS_ARRAY_SIZE(strategies);
	return strategy_infos;
}

static const struct ks_pid_ops *find_ops(const char *name)
{
	for (size_t i = 0; i < KS_ARRAY_SIZE(strategies); i++)
		if (!strcmp(strategies[i]->info.name, name))
			return strategies[i];
	return NULL;
}

int ks_pid_strategy_flags(const char *name)
{
	const struct ks_pid_ops *ops;

	if (!name)
		return -EINVAL;
	ops = find_ops(name);
	return ops ? (int)ops->flags : -ENOENT;
}

/* ---- per-CPU statistics ------------------------------------------------ */

/*
 * Counted per CPU so that statistics add no shared cache line to the alloc
 * and free paths; atomics because several threads may carry one CPU label.
 */
struct pid_pcpu_stats {
	uint64_t allocs;
	uint64_t frees;
	uint64_t failed;
	int64_t pid_objs;
};

static void stat_add(const struct ks_pid_space *s, size_t off, int64_t v)
{
	char *p = ks_percpu_this(s->pcpu);

	__atomic_fetch_add((int64_t *)(p + off), v, __ATOMIC_RELAXED);
}

#define STAT_ADD(s, field, v) \
	stat_add((s), offsetof(struct pid_pcpu_stats, field), (v))

/* ---- helpers for strategies -------------------------------------------- */

int ks_pid_check_tid(const struct ks_pid_ns *ns, int tid, int pid_max,
		     bool privileged)
{
	/* alloc_pid(): the order of the kernel's three checks. */
	if (tid < 1 || tid >= pid_max)
		return -EINVAL;
	if (tid != 1 && !__atomic_load_n(&ns->child_reaper, __ATOMIC_ACQUIRE))
		return -EINVAL;
	if (!privileged)
		return -EPERM;
	return 0;
}

int ks_pid_space_mem_type(struct ks_pid_space *s, const char *name,
			  size_t objsize, struct ks_mem_type **out)
{
	struct ks_mem_type *t;
	int err;

	err = ks_mem_type_get(s->mem, name, objsize, &t);
	if (err)
		return err;
	for (int i = 0; i < s->nr_types; i++) {
		if (s->types[i] == t) {
			*out = t;
			return 0;
		}
	}
	if (s->nr_types == (int)KS_ARRAY_SIZE(s->types))
		return -ENOSPC;
	s->types[s->nr_types++] = t;
	*out = t;
	return 0;
}

int ks_pid_space_lock_class(struct ks_pid_space *s, const char *name,
			    enum ks_lock_scope scope, struct ks_lock_class **out)
{
	return ks_lock_class_get(s->locks, name, scope, out);
}

/* ---- namespaces -------------------------------------------------------- */

static int ns_new(struct ks_pid_space *s, struct ks_pid_ns *parent, int pid_max,
		  struct ks_pid_ns **out)
{
	struct ks_mem_type *t;
	struct ks_pid_ns *ns;
	int err;

	err = ks_pid_space_mem_type(s, "pid_namespace", sizeof(*ns), &t);
	if (err)
		return err;
	ns = ks_mem_zalloc(t, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	ns->space = s;
	ns->parent = parent;
	ns->level = parent ? parent->level + 1 : 0;
	ns->pid_max = pid_max;
	/* create_pid_namespace(): ns->pid_allocated = PIDNS_ADDING. */
	ns->pid_allocated = KS_PIDNS_ADDING;
	if (!parent) {
		/*
		 * The root is init_pid_ns: its init exists from boot and
		 * never exits, so it counts as one pid that is never freed
		 * (freeing the root's last pid must not disable it, as
		 * free_pid()'s PIDNS_ADDING case would).
		 */
		ns->child_reaper = KS_PID_BOOT_REAPER;
		ns->pid_allocated = KS_PIDNS_ADDING | 1;
	}
	err = s->ops->ns_init(ns);
	if (err) {
		ks_mem_free(t, ns, sizeof(*ns));
		return err;
	}
	ks_mutex_lock(&s->ns_lock);
	ns->next = s->namespaces;
	s->namespaces = ns;
	__atomic_fetch_add(&s->nr_namespaces, 1, __ATOMIC_RELAXED);
	ks_mutex_unlock(&s->ns_lock);
	*out = ns;
	return 0;
}

int ks_pid_ns_root(struct ks_pid_space *s, struct ks_pid_ns **out)
{
	if (!s || !out)
		return -EINVAL;
	*out = s->root;
	return 0;
}

int ks_pid_ns_create(struct ks_pid_ns *parent, struct ks_pid_ns **out)
{
	if (!parent || !out)
		return -EINVAL;
	/* create_pid_namespace(): level > MAX_PID_NS_LEVEL -> -ENOSPC. */
	if (parent->level + 1 > KS_PID_MAX_LEVEL)
		return -ENOSPC;
	/*
	 * "pid: Do not set pid_max in new pid namespaces" (Koutny, 6.14): a new
	 * namespace starts at PID_MAX_LIMIT whatever its parent's value.
	 */
	return ns_new(parent->space, parent, KS_PID_MAX_LIMIT, out);
}

int ks_pid_ns_level(const struct ks_pid_ns *ns)
{
	return ns ? ns->level : -EINVAL;
}

int ks_pid_ns_parent(const struct ks_pid_ns *ns, struct ks_pid_ns **out)
{
	if (!ns || !out)
		return -EINVAL;
	*out = ns->parent;
	return ns->parent ? 0 : -ENOENT;
}

int ks_pid_ns_pid_max(const struct ks_pid_ns *ns)
{
	return ns ? ks_pidns_pid_max(ns) : -EINVAL;
}

int ks_pid_ns_set_pid_max(struct ks_pid_ns *ns, int pid_max)
{
	if (!ns)
		return -EINVAL;
	/* pid_table: proc_dointvec_minmax over [pid_max_min, pid_max_max]. */
	if (pid_max < ns->space->pid_max_min || pid_max > ns->space->pid_max_max)
		return -EINVAL;
	__atomic_store_n(&ns->pid_max, pid_max, __ATOMIC_RELAXED);
	return 0;
}

int ks_pid_ns_pid_max_bounds(const struct ks_pid_space *s, int *min, int *max)
{
	if (!s)
		return -EINVAL;
	if (min)
		*min = s->pid_max_min;
	if (max)
		*max = s->pid_max_max;
	return 0;
}

int ks_pid_ns_last_pid(const struct ks_pid_ns *ns)
{
	return ns ? ns->space->ops->last_pid(ns) : -EINVAL;
}

int ks_pid_ns_range_stats(const struct ks_pid_ns *ns, struct ks_pid_range_stats *out)
{
	if (!ns || !out)
		return -EINVAL;
	if (!ns->space->ops->range_stats)
		return -EOPNOTSUPP;
	ns->space->ops->range_stats(ns, out);
	return 0;
}

int ks_pid_ns_set_last_pid(struct ks_pid_ns *ns, int last_pid, bool privileged)
{
	if (!ns)
		return -EINVAL;
	/*
	 * pid_ns_ctl_handler(): the capability check comes first, then
	 * proc_dointvec_minmax() over [0, pid_max].
	 */
	if (!privileged)
		return -EPERM;
	if (last_pid < 0 || last_pid > ks_pidns_pid_max(ns))
		return -EINVAL;
	ns->space->ops->set_last_pid(ns, last_pid);
	return 0;
}

int ks_pid_ns_disable(struct ks_pid_ns *ns)
{
	if (!ns)
		return -EINVAL;
	ns->space->ops->disable(ns);
	return 0;
}

/* ---- spaces ------------------------------------------------------------ */

static void space_free(struct ks_pid_space *s)
{
	struct ks_lockstat *own_locks = s->own_locks;
	struct ks_mem *own_mem = s->own_mem;
	struct ks_mem_type *t = NULL;

	ks_percpu_free(s->pcpu);
	if (s->ns_lock_ready)
		ks_mutex_destroy(&s->ns_lock);
	ks_mem_type_get(s->mem, "pid_space", sizeof(*s), &t);
	ks_mem_free(t, s, sizeof(*s));
	if (own_mem)
		ks_mem_destroy(own_mem);
	if (own_locks)
		ks_lockstat_destroy(own_locks);
}

int ks_pid_space_create(const char *strategy, const struct ks_pid_opts *opts,
			struct ks_pid_space **out)
{
	static const struct ks_pid_opts defaults;
	const struct ks_pid_ops *ops;
	const struct ks_topo *topo;
	struct ks_lockstat *own_locks = NULL;
	struct ks_mem *own_mem = NULL;
	struct ks_lock_class *cls;
	struct ks_mem_type *t;
	struct ks_pid_space *s;
	int nr_cpus, min, max, def, err;

	if (!strategy || !out)
		return -EINVAL;
	ops = find_ops(strategy);
	if (!ops)
		return -ENOENT;
	if (!opts)
		opts = &defaults;
	topo = opts->topo ? opts->topo : ks_topo_default();
	if (!topo)
		return -EINVAL;
	if (opts->nr_cpus < 0 || opts->nr_cpus > KS_MAX_CPUS)
		return -EINVAL;
	nr_cpus = opts->nr_cpus ? opts->nr_cpus : ks_topo_nr_cpus(topo);
	if (nr_cpus < 1)
		return -EINVAL;
	/*
	 * kernel/pid.c pid_idr_init(): pid_max = min(PID_MAX_LIMIT,
	 * max(PID_MAX_DEFAULT, PIDS_PER_CPU_DEFAULT * num_possible_cpus()));
	 * pid_max_min = max(RESERVED_PIDS + 1, PIDS_PER_CPU_MIN * cpus).
	 */
	max = KS_PID_MAX_LIMIT;
	min = KS_PIDS_PER_CPU_MIN * nr_cpus;
	if (min < KS_PID_RESERVED + 1)
		min = KS_PID_RESERVED + 1;
	def = KS_PIDS_PER_CPU_DEFAULT * nr_cpus;
	if (def < KS_PID_MAX_DEFAULT)
		def = KS_PID_MAX_DEFAULT;
	if (def > KS_PID_MAX_LIMIT)
		def = KS_PID_MAX_LIMIT;
	if (min > max)
		min = max;
	if (opts->pid_max && (opts->pid_max < min || opts->pid_max > max))
		return -EINVAL;

	if (!opts->mem) {
		err = ks_mem_create(topo, &own_mem);
		if (err)
			return err;
	}
	if (!opts->locks) {
		err = ks_lockstat_create(topo, &own_locks);
		if (err)
			goto err_mem;
	}
	err = ks_mem_type_get(opts->mem ? opts->mem : own_mem, "pid_space",
			      sizeof(*s), &t);
	if (err)
		goto err_locks;
	s = ks_mem_zalloc(t, sizeof(*s));
	if (!s) {
		err = -ENOMEM;
		goto err_locks;
	}
	s->ops = ops;
	s->topo = topo;
	s->mem = opts->mem ? opts->mem : own_mem;
	s->locks = opts->locks ? opts->locks : own_locks;
	s->own_mem = own_mem;
	s->own_locks = own_locks;
	s->nr_cpus = nr_cpus;
	s->pid_max_min = min;
	s->pid_max_max = max;
	err = ks_lock_class_get(s->locks, "pidns_list_lock", KS_LOCK_GLOBAL, &cls);
	if (!err)
		err = ks_mutex_init(&s->ns_lock, cls);
	if (err) {
		ks_mem_free(t, s, sizeof(*s));
		goto err_locks;
	}
	s->ns_lock_ready = true;
	err = ks_percpu_alloc(topo, sizeof(struct pid_pcpu_stats), &s->pcpu);
	if (err)
		goto err_space;
	/* struct pid is sized per level (create_pid_cachep()): one type. */
	err = ks_pid_space_mem_type(s, "pid", ks_pid_alloc_size(0, ops->upid_priv),
				    &s->pid_type);
	if (err)
		goto err_space;
	err = ops->space_init(s);
	if (err)
		goto err_space;
	err = ns_new(s, NULL, opts->pid_max ? opts->pid_max : def, &s->root);
	if (err) {
		ops->space_fini(s);
		goto err_space_rcu;
	}
	*out = s;
	return 0;

err_space_rcu:
	/* strategies free nodes with call_rcu(); let them land first */
	if (ks_rcu_thread_registered() && !ks_rcu_read_depth())
		ks_rcu_barrier();
err_space:
	s->own_mem = NULL;
	s->own_locks = NULL;
	space_free(s);
err_locks:
	ks_lockstat_destroy(own_locks);
err_mem:
	if (own_mem)
		ks_mem_destroy(own_mem);
	return err;
}

const char *ks_pid_space_strategy(const struct ks_pid_space *s)
{
	return s ? s->ops->info.name : NULL;
}

int ks_pid_stats(const struct ks_pid_space *s, struct ks_pid_stats *out)
{
	int n;

	if (!s || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	n = ks_percpu_nr(s->pcpu);
	for (int cpu = 0; cpu < n; cpu++) {
		const struct pid_pcpu_stats *p = ks_percpu_ptr(s->pcpu, cpu);

		out->allocs += __atomic_load_n(&p->allocs, __ATOMIC_RELAXED);
		out->frees += __atomic_load_n(&p->frees, __ATOMIC_RELAXED);
		out->failed += __atomic_load_n(&p->failed, __ATOMIC_RELAXED);
		out->pid_objs += __atomic_load_n(&p->pid_objs, __ATOMIC_RELAXED);
	}
	out->live = (int64_t)(out->allocs - out->frees);
	out->nr_namespaces = __atomic_load_n(&s->nr_namespaces, __ATOMIC_RELAXED);
	for (int i = 0; i < s->nr_types; i++) {
		struct ks_mem_type_stats st;

		if (!ks_mem_type_read(s->types[i], &st))
			out->bytes += st.live_bytes;
	}
	return 0;
}

/* ---- pids -------------------------------------------------------------- */

static size_t pid_size(const struct ks_pid *pid)
{
	return ks_pid_alloc_size(pid->level, pid->space->ops->upid_priv);
}

static void pid_release(struct ks_pid *pid)
{
	struct ks_pid_space *s = pid->space;

	ks_mem_free(s->pid_type, pid, pid_size(pid));
	STAT_ADD(s, pid_objs, -1);
}

int ks_pid_get(struct ks_pid *pid)
{
	int c;

	if (!pid)
		return -EINVAL;
	/* refcount_inc(), but a count at zero is refused, not resurrected. */
	c = __atomic_load_n(&pid->count, __ATOMIC_RELAXED);
	do {
		if (c <= 0)
			return -EINVAL;
	} while (!__atomic_compare_exchange_n(&pid->count, &c, c + 1, true,
					      __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	return 0;
}

int ks_pid_put(struct ks_pid *pid)
{
	int c;

	if (!pid)
		return -EINVAL;
	c = __atomic_load_n(&pid->count, __ATOMIC_RELAXED);
	do {
		if (c <= 0)
			return -EINVAL;
	} while (!__atomic_compare_exchange_n(&pid->count, &c, c - 1, true,
					      __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
	/* put_pid(): the last reference frees the memory. */
	if (c == 1)
		pid_release(pid);
	return 0;
}

/* attach_pid()/detach_pid() of PIDTYPE_PID (kernel/pid.c), one owner. */
int ks_pid_set_task(struct ks_pid *pid, void *task)
{
	void *old = NULL;

	if (!pid)
		return -EINVAL;
	if (!task) {
		__atomic_store_n(&pid->task, NULL, __ATOMIC_RELEASE);
		return 0;
	}
	if (!__atomic_compare_exchange_n(&pid->task, &old, task, false, __ATOMIC_RELEASE,
					 __ATOMIC_RELAXED))
		return -EINVAL;
	return 0;
}

/* pid_task(): rcu_dereference of the first task of the type. */
void *ks_pid_task(const struct ks_pid *pid)
{
	return pid ? __atomic_load_n(&pid->task, __ATOMIC_ACQUIRE) : NULL;
}

/* delayed_put_pid(): the task's reference, dropped a grace period later. */
static void delayed_put_pid(struct ks_rcu_head *head)
{
	ks_pid_put(ks_container_of(head, struct ks_pid, rcu));
}

/* The published pid became visible: if it is pid 1 of its innermost
 * namespace, it is that namespace's reaper (copy_process(): is_child_reaper()).
 */
static void note_reaper(struct ks_pid *pid)
{
	struct ks_pid_ns *ns = pid->numbers[pid->level].ns;
	struct ks_pid *none = NULL;

	if (pid->numbers[pid->level].nr == 1)
		__atomic_compare_exchange_n(&ns->child_reaper, &none, pid, false,
					    __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

#define KS_PID_ALLOC_FLAGS (KS_PID_ALLOC_PRIVILEGED | KS_PID_ALLOC_NOPUBLISH)

int ks_pid_alloc(struct ks_pid_ns *ns, const int *set_tid, size_t set_tid_size,
		 unsigned int flags, struct ks_pid **out)
{
	struct ks_pid_space *s;
	struct ks_pid_req req;
	struct ks_pid_ns *tmp;
	struct ks_pid *pid;
	size_t size;
	int err;

	if (!ns || !out || (flags & ~KS_PID_ALLOC_FLAGS))
		return -EINVAL;
	/*
	 * kernel/fork.c copy_clone_args_from_user(): set_tid_size above
	 * MAX_PID_NS_LEVEL, a NULL set_tid with a size, or a set_tid with size
	 * 0 are -EINVAL before alloc_pid() runs.
	 */
	if (set_tid_size > KS_PID_MAX_LEVEL || (!set_tid && set_tid_size) ||
	    (set_tid && !set_tid_size))
		return -EINVAL;
	if (!ks_rcu_thread_registered())
		return -EPERM;
	s = ns->space;
	/* alloc_pid(): set_tid_size > ns->level + 1 -> -EINVAL. */
	if (set_tid_size > (size_t)ns->level + 1) {
		STAT_ADD(s, failed, 1);
		return -EINVAL;
	}
	size = ks_pid_alloc_size(ns->level, s->ops->upid_priv);
	pid = ks_mem_zalloc(s->pid_type, size);
	if (!pid) {
		STAT_ADD(s, failed, 1);
		return -ENOMEM;
	}
	STAT_ADD(s, pid_objs, 1);
	pid->count = 1;
	pid->level = ns->level;
	pid->space = s;
	pid->state = (flags & KS_PID_ALLOC_NOPUBLISH) ? KS_PID_UNPUBLISHED
						      : KS_PID_PUBLISHED;
	for (tmp = ns; tmp; tmp = tmp->parent)
		pid->numbers[tmp->level].ns = tmp;
	req.set_tid = set_tid;
	req.set_tid_size = (int)set_tid_size;
	req.privileged = flags & KS_PID_ALLOC_PRIVILEGED;
	req.publish = !(flags & KS_PID_ALLOC_NOPUBLISH);
	err = s->ops->alloc(pid, &req);
	if (err) {
		/* never visible: released at once, as alloc_pid()'s out_free */
		pid_release(pid);
		STAT_ADD(s, failed, 1);
		return err;
	}
	if (req.publish)
		note_reaper(pid);
	STAT_ADD(s, allocs, 1);
	*out = pid;
	return 0;
}

int ks_pid_publish(struct ks_pid *pid)
{
	int old = KS_PID_UNPUBLISHED;
	int err;

	if (!pid)
		return -EINVAL;
	if (!ks_rcu_thread_registered())
		return -EPERM;
	if (!__atomic_compare_exchange_n(&pid->state, &old, KS_PID_PUBLISHED, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return -EINVAL;
	err = pid->space->ops->publish(pid);
	if (err) {
		/* the numbers are gone; the pid counts as allocated and freed */
		__atomic_store_n(&pid->state, KS_PID_FREED, __ATOMIC_RELEASE);
		STAT_ADD(pid->space, frees, 1);
		ks_pid_put(pid);
		return err;
	}
	note_reaper(pid);
	return 0;
}

int ks_pid_free(struct ks_pid *pid)
{
	struct ks_pid_space *s;
	struct ks_pid_ns *ns;
	int old;

	if (!pid)
		return -EINVAL;
	if (!ks_rcu_thread_registered())
		return -EPERM;
	s = pid->space;
	old = __atomic_exchange_n(&pid->state, KS_PID_FREED, __ATOMIC_ACQ_REL);
	if (old == KS_PID_FREED)
		return -ENOENT;
	STAT_ADD(s, frees, 1);
	if (old == KS_PID_UNPUBLISHED) {
		/* alloc_pid()'s out_free: never visible, freed at once */
		s->ops->abort(pid);
		ks_pid_put(pid);
		return 0;
	}
	/*
	 * The reaper exiting runs zap_pid_ns_processes() ->
	 * disable_pid_allocation() before release_task() frees its pid.
	 */
	ns = pid->numbers[pid->level].ns;
	if (pid->numbers[pid->level].nr == 1 &&
	    __atomic_load_n(&ns->child_reaper, __ATOMIC_ACQUIRE) == pid)
		s->ops->disable(ns);
	s->ops->free(pid);
	/* free_pid(): call_rcu(&pid->rcu, delayed_put_pid). */
	if (ks_call_rcu(&pid->rcu, delayed_put_pid)) {
		/* unreachable for a registered thread; never leak the pid */
		ks_rcu_synchronize();
		ks_pid_put(pid);
	}
	return 0;
}

int ks_pid_lookup(struct ks_pid_ns *ns, int nr, struct ks_pid **out)
{
	struct ks_pid *pid;

	if (!ns || !out || nr < 1)
		return -EINVAL;
	if (ks_rcu_read_depth() <= 0)
		return -EPERM;
	pid = ns->space->ops->lookup(ns, nr);
	if (!pid)
		return -ENOENT;
	*out = pid;
	return 0;
}

int ks_pid_lookup_get(struct ks_pid_ns *ns, int nr, struct ks_pid **out)
{
	struct ks_pid *pid;
	int err;

	if (!ns || !out || nr < 1)
		return -EINVAL;
	if (ks_rcu_read_lock())
		return -EPERM;
	err = ks_pid_lookup(ns, nr, &pid);
	/* find_get_pid(): get_pid() fails only on a pid being released */
	if (!err && ks_pid_get(pid))
		err = -ENOENT;
	ks_rcu_read_unlock();
	if (!err)
		*out = pid;
	return err;
}

int ks_pid_find_ge(struct ks_pid_ns *ns, int nr, struct ks_pid **out)
{
	struct ks_pid *pid;

	if (!ns || nr < 0)
		return -EINVAL;
	if (ks_rcu_read_depth() <= 0)
		return -EPERM;
	pid = ns->space->ops->find_ge(ns, &nr);
	if (!pid)
		return -ENOENT;
	if (out)
		*out = pid;
	return nr;
}

int ks_pid_nr_ns(const struct ks_pid *pid, const struct ks_pid_ns *ns)
{
	if (!pid || !ns)
		return -EINVAL;
	/* pid_nr_ns() */
	if (ns->level <= pid->level && pid->numbers[ns->level].ns == ns)
		return pid->numbers[ns->level].nr;
	return 0;
}

int ks_pid_level(const struct ks_pid *pid)
{
	return pid ? pid->level : -EINVAL;
}

int ks_pid_ns_of(const struct ks_pid *pid, struct ks_pid_ns **out)
{
	if (!pid || !out)
		return -EINVAL;
	*out = pid->numbers[pid->level].ns;
	return 0;
}

/* ---- destroy ----------------------------------------------------------- */

int ks_pid_space_destroy(struct ks_pid_space *s)
{
	struct ks_pid_stats st;
	struct ks_pid_ns *ns, *next;
	struct ks_mem_type *t;
	struct ks_pid *pid;
	int nr, err;

	if (!s)
		return -EINVAL;
	if (!ks_rcu_thread_registered())
		return -EPERM;
	if (ks_rcu_read_depth() > 0)
		return -EDEADLK;
	/*
	 * Every pid has a number in the root namespace: free what is live
	 * there, as zap_pid_ns_processes() walks find_ge_pid().
	 */
	ks_rcu_read_lock();
	for (nr = 1; (pid = s->ops->find_ge(s->root, &nr)); nr++)
		ks_pid_free(pid);
	ks_rcu_read_unlock();
	err = ks_rcu_barrier();
	if (err)
		return err;
	ks_pid_stats(s, &st);
	if (st.pid_objs)
		return -EBUSY;

	err = ks_mem_type_get(s->mem, "pid_namespace", sizeof(*ns), &t);
	for (ns = s->namespaces; ns; ns = next) {
		next = ns->next;
		s->ops->ns_fini(ns);
		if (!err)
			ks_mem_free(t, ns, sizeof(*ns));
	}
	s->ops->space_fini(s);
	/* strategies free tree nodes with call_rcu(): let them all run */
	ks_rcu_barrier();
	space_free(s);
	return 0;
}
