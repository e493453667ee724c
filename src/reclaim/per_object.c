// SPDX-License-Identifier: MIT
/*
 * "per-object": models net/ipv4/inet_fragment.c fqdir_exit() and
 * fqdir_work_fn(), Linux 5.3-5.10 (Eric Dumazet's "inet: frags: rework
 * rhashtable dismantle", 5.3). Every fqdir queues its own work on system_wq,
 * which destroys the hash table, calls rcu_barrier() and frees the fqdir:
 * one barrier per fqdir, four per namespace, all serialised on the barrier
 * mutex under the "kernel" barrier. The seed's backlog.
 */
#include "internal.h"

static void fqdir_work_fn(struct rwork *w)
{
	struct fqdir *f = ks_container_of(w, struct fqdir, destroy_work);
	struct ks_reclaim *r = f->r;

	ks_reclaim_fqdir_destroy_table(r, f);
	/* ks_reclaim_flush(): leave the backlog to one batched barrier. */
	if (__atomic_load_n(&r->flushing, __ATOMIC_ACQUIRE)) {
		ks_reclaim_fqdir_queue_free(r, f, 0);
		return;
	}
	ks_reclaim_barrier(r);
	ks_reclaim_fqdir_free(r, f);
}

static void fqdir_exit(struct ks_reclaim *r, struct fqdir *f)
{
	rwq_queue(r->system_wq, &f->destroy_work, fqdir_work_fn);
}

const struct reclaim_ops ks_reclaim_per_object_ops = {
	.name = "per-object",
	.fqdir_exit = fqdir_exit,
	.net_barrier = true,
};
