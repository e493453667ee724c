// SPDX-License-Identifier: MIT
/*
 * xarray: Brian Foster's and Matthew Wilcox's conversion of pid namespaces
 * from the IDR to an XArray ("[PATCH v3 0/5] proc: improve root readdir
 * latency with many threads", patches 1-3, 2 Dec 2022,
 * https://lore.kernel.org/r/20221202171620.509140-1-bfoster@redhat.com;
 * never merged). Models that series' alloc_pid()/free_pid(): pidmap_lock is
 * gone, every namespace's XArray has its own xa_lock; the cyclic cursor is a
 * separate pid_next in the namespace; automatic numbers come from
 * __xa_alloc_cyclic() (lib/xarray.c), requested ones from __xa_insert(); no
 * idr_preload(): when a node cannot be allocated under the lock, the XArray
 * drops its lock, allocates, and retries (__xas_nomem()).
 * Lock trips at depth L: L + 1 to allocate and L + 1 to publish (one per
 * level each), L + 1 per free.
 *
 * Numbering equals the IDR's: XA_LIMIT() is inclusive where idr_alloc()'s end
 * is exclusive, so kscale passes pid_max - 1 (the series as posted passed
 * pid_max, which would hand out pid_max itself).
 */
#include "pid/pid_internal.h"
#include "pid/radix.h"

#include <errno.h>

struct xa_space {
	struct ks_lock_class *xa_lock_class;
	struct ks_mem_type *node_type; /* "xa_node" */
	struct ks_mem_type *ns_type;   /* "xarray" */
};

struct xa_ns {
	struct ks_spinlock xa_lock;  /* the XArray's own lock */
	struct ks_radix xa;          /* XA_FLAGS_TRACK_FREE | XA_FLAGS_LOCK_IRQ */
	unsigned int pid_next;       /* "pid: split cyclic id allocation cursor" */
} ks_cacheline_aligned;

static struct xa_space *xsp(const struct ks_pid_space *s)
{
	return s->priv;
}

static struct xa_ns *xns(const struct ks_pid_ns *ns)
{
	return ns->priv;
}

/*
 * __xa_alloc() with __xas_nomem(): lowest free in [min, max] (inclusive);
 * on -ENOMEM under the lock, drop it, allocate with GFP_KERNEL and retry.
 * Return: 0 with *id; -EBUSY when full; -ENOMEM.
 */
static int xa_alloc_locked(struct ks_pid_space *s, struct xa_ns *x,
			   unsigned long min, unsigned long max, unsigned long *id)
{
	struct ks_radix_ctx ctx = { .type = xsp(s)->node_type };
	int err;

	for (;;) {
		err = ks_radix_alloc(&x->xa, min, max, NULL, &ctx, id);
		if (err != -ENOMEM)
			break;
		/* __xas_nomem(): unlock, allocate a node, relock, retry */
		ks_spin_unlock(&x->xa_lock);
		if (!ctx.spare)
			ctx.spare = ks_radix_node_new(ctx.type);
		ks_spin_lock(&x->xa_lock);
		if (!ctx.spare)
			break;
	}
	ks_radix_node_drop(ctx.spare); /* xas_destroy() */
	return err == -ENOSPC ? -EBUSY : err;
}

/*
 * __xa_alloc_cyclic(): from max(min, *next); on failure retry once from min;
 * *next = id + 1 on success. Returns 0, or 1 when it wrapped (not an error).
 */
static int xa_alloc_cyclic_locked(struct ks_pid_space *s, struct xa_ns *x,
				  unsigned long min, unsigned long max,
				  unsigned int *next, unsigned long *id)
{
	/* ns_last_pid writes pid_next without the lock (READ_ONCE here) */
	unsigned long cur = __atomic_load_n(next, __ATOMIC_RELAXED);
	unsigned long lo = cur > min ? cur : min;
	int ret;

	ret = xa_alloc_locked(s, x, lo, max, id);
	if (ret < 0 && lo > min) {
		ret = xa_alloc_locked(s, x, min, max, id);
		if (ret == 0)
			ret = 1;
	}
	if (ret >= 0)
		__atomic_store_n(next, (unsigned int)*id + 1, __ATOMIC_RELAXED);
	return ret;
}

/* Undo levels @from..level: one xa_lock trip per level (__xa_erase()). */
static void xa_out_free(struct ks_pid *pid, int from)
{
	struct ks_pid_ns *ns = pid->numbers[pid->level].ns;
	struct xa_ns *x;

	for (int i = from; i <= pid->level; i++) {
		x = xns(pid->numbers[i].ns);
		ks_spin_lock(&x->xa_lock);
		ks_radix_remove(&x->xa, pid->numbers[i].nr);
		ks_spin_unlock(&x->xa_lock);
	}
	/* On failure to allocate the first pid, reset the state */
	x = xns(ns);
	ks_spin_lock(&x->xa_lock);
	if (__atomic_load_n(&ns->pid_allocated, __ATOMIC_RELAXED) == KS_PIDNS_ADDING)
		__atomic_store_n(&x->pid_next, 0, __ATOMIC_RELAXED);
	ks_spin_unlock(&x->xa_lock);
}

static int xa_publish(struct ks_pid *pid)
{
	struct ks_pid_ns *ns = pid->numbers[pid->level].ns;
	struct xa_ns *x = xns(ns);

	/* PIDNS_ADDING is checked for the innermost namespace only */
	ks_spin_lock(&x->xa_lock);
	if (!ks_pidns_adding(ns)) {
		ks_spin_unlock(&x->xa_lock);
		xa_out_free(pid, 0);
		return -ENOMEM;
	}
	for (int i = pid->level; i >= 0; i--) {
		struct ks_upid *upid = &pid->numbers[i];

		if (i != pid->level) {
			x = xns(upid->ns);
			ks_spin_lock(&x->xa_lock);
		}
		/* __xa_store(&upid->ns->xa, upid->nr, pid): now visible */
		ks_radix_replace(&x->xa, upid->nr, pid);
		ks_pidns_inc_allocated(upid->ns);
		ks_spin_unlock(&x->xa_lock);
	}
	return 0;
}

static int xa_pid_alloc(struct ks_pid *pid, const struct ks_pid_req *req)
{
	struct ks_pid_space *s = pid->space;
	int tids_left = req->set_tid_size;
	int i, err;

	for (i = pid->level; i >= 0; i--) {
		struct ks_pid_ns *tmp = pid->numbers[i].ns;
		struct xa_ns *x = xns(tmp);
		int pid_max = ks_pidns_pid_max(tmp);
		unsigned long nr;
		int tid = 0;

		if (tids_left) {
			tid = req->set_tid[pid->level - i];
			err = ks_pid_check_tid(tmp, tid, pid_max, req->privileged);
			if (err)
				goto out_free;
			tids_left--;
		}
		ks_spin_lock(&x->xa_lock);
		if (tid) {
			/* __xa_insert(): -EBUSY when the index is taken */
			err = xa_alloc_locked(s, x, tid, tid, &nr);
			if (err == -EBUSY)
				err = -EEXIST;
		} else {
			unsigned int pid_min =
				__atomic_load_n(&x->pid_next, __ATOMIC_RELAXED) >
						KS_PID_RESERVED ? KS_PID_RESERVED : 1;

			err = xa_alloc_cyclic_locked(s, x, pid_min, pid_max - 1,
						     &x->pid_next, &nr);
			if (err == -EBUSY)
				err = -EAGAIN;
			if (err > 0)
				err = 0; /* 1 = wrapped, a success */
		}
		ks_spin_unlock(&x->xa_lock);
		if (err)
			goto out_free;
		pid->numbers[i].nr = (int)nr;
	}
	return req->publish ? xa_publish(pid) : 0;

out_free:
	xa_out_free(pid, i + 1);
	return err;
}

static void xa_abort(struct ks_pid *pid)
{
	xa_out_free(pid, 0);
}

static void xa_free(struct ks_pid *pid)
{
	for (int i = 0; i <= pid->level; i++) {
		struct ks_upid *upid = &pid->numbers[i];
		struct xa_ns *x = xns(upid->ns);

		ks_spin_lock(&x->xa_lock);
		ks_pidns_dec_allocated(upid->ns);
		ks_radix_remove(&x->xa, upid->nr);
		ks_spin_unlock(&x->xa_lock);
	}
}

/* find_pid_ns() = xa_load() */
static struct ks_pid *xa_lookup(struct ks_pid_ns *ns, int nr)
{
	return ks_radix_lookup(&xns(ns)->xa, nr);
}

/* find_ge_pid() = xa_find(&ns->xa, &nr, ULONG_MAX, XA_PRESENT) */
static struct ks_pid *xa_find_ge(struct ks_pid_ns *ns, int *nr)
{
	unsigned long id = *nr;
	struct ks_pid *pid = ks_radix_find_ge(&xns(ns)->xa, &id);

	if (pid)
		*nr = (int)id;
	return pid;
}

static int xa_last_pid(const struct ks_pid_ns *ns)
{
	return (int)__atomic_load_n(&xns(ns)->pid_next, __ATOMIC_RELAXED) - 1;
}

static void xa_set_last_pid(struct ks_pid_ns *ns, int last_pid)
{
	__atomic_store_n(&xns(ns)->pid_next, (unsigned int)last_pid + 1,
			 __ATOMIC_RELAXED);
}

static void xa_disable(struct ks_pid_ns *ns)
{
	struct xa_ns *x = xns(ns);

	ks_spin_lock(&x->xa_lock);
	ks_pidns_clear_adding(ns);
	ks_spin_unlock(&x->xa_lock);
}

static int xa_space_init(struct ks_pid_space *s)
{
	struct ks_mem_type *t;
	struct xa_space *xs;
	int err;

	err = ks_pid_space_mem_type(s, "pid_xa_space", sizeof(*xs), &t);
	if (err)
		return err;
	xs = ks_mem_zalloc(t, sizeof(*xs));
	if (!xs)
		return -ENOMEM;
	err = ks_pid_space_lock_class(s, "xa_lock", KS_LOCK_OBJECT, &xs->xa_lock_class);
	if (!err)
		err = ks_pid_space_mem_type(s, "xa_node", sizeof(struct ks_radix_node),
					    &xs->node_type);
	if (!err)
		err = ks_pid_space_mem_type(s, "xarray", sizeof(struct xa_ns),
					    &xs->ns_type);
	if (err) {
		ks_mem_free(t, xs, sizeof(*xs));
		return err;
	}
	s->priv = xs;
	return 0;
}

static void xa_space_fini(struct ks_pid_space *s)
{
	struct ks_mem_type *t;

	if (!ks_pid_space_mem_type(s, "pid_xa_space", sizeof(struct xa_space), &t))
		ks_mem_free(t, s->priv, sizeof(struct xa_space));
	s->priv = NULL;
}

static int xa_ns_init(struct ks_pid_ns *ns)
{
	struct xa_space *xs = xsp(ns->space);
	struct xa_ns *x = ks_mem_alloc_aligned(xs->ns_type, sizeof(*x), KS_CACHELINE);
	int err;

	if (!x)
		return -ENOMEM;
	ks_radix_init(&x->xa);
	x->pid_next = 0;
	err = ks_spin_init(&x->xa_lock, xs->xa_lock_class);
	if (err) {
		ks_mem_free(xs->ns_type, x, sizeof(*x));
		return err;
	}
	ns->priv = x;
	return 0;
}

static void xa_ns_fini(struct ks_pid_ns *ns)
{
	struct xa_space *xs = xsp(ns->space);
	struct xa_ns *x = xns(ns);

	ks_radix_destroy(&x->xa);
	ks_spin_destroy(&x->xa_lock);
	ks_mem_free(xs->ns_type, x, sizeof(*x));
	ns->priv = NULL;
}

const struct ks_pid_ops ks_pid_xarray_ops = {
	.info = {
		.name = "xarray",
		.summary = "XArray per namespace with its own xa_lock and a separate "
			   "cursor; one lock trip per level to allocate, to publish "
			   "and to free",
		.source = "Foster/Wilcox, \"pid: replace idr api with xarray\" "
			  "(2022, unmerged), lib/xarray.c __xa_alloc_cyclic()",
	},
	.flags = KS_PID_KERNEL_NUMBERING,
	.upid_priv = 0,
	.space_init = xa_space_init,
	.space_fini = xa_space_fini,
	.ns_init = xa_ns_init,
	.ns_fini = xa_ns_fini,
	.alloc = xa_pid_alloc,
	.publish = xa_publish,
	.abort = xa_abort,
	.free = xa_free,
	.lookup = xa_lookup,
	.find_ge = xa_find_ge,
	.last_pid = xa_last_pid,
	.set_last_pid = xa_set_last_pid,
	.disable = xa_disable,
};
