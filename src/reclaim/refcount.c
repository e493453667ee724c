// SPDX-License-Identifier: MIT
/*
 * "refcount": beyond the kernel. rcu_barrier() is only needed because the
 * fqdir cannot tell when the last inet_frag_destroy_rcu() that dereferences
 * it has run. Let it count: every fragment queue handed to call_rcu() holds
 * a reference on its fqdir, the table work holds one more, and whoever drops
 * the last frees the fqdir; each fqdir holds a reference on its namespace,
 * and cleanup_net drops its own instead of calling rcu_barrier(). No barrier
 * is taken anywhere, and memory is freed one grace period after the last
 * callback rather than one barrier after the last fqdir.
 *
 * It costs an atomic per callback on the fqdir's cache line, and it is only
 * correct because nothing else holds a pointer to the fqdir once cleanup_net
 * has unlinked the namespace and waited for a grace period (readers find
 * fqdirs only through the namespace list).
 */
#include "internal.h"

static void fqdir_work_fn(struct rwork *w)
{
	struct fqdir *f = ks_container_of(w, struct fqdir, destroy_work);
	struct ks_reclaim *r = f->r;

	ks_reclaim_fqdir_destroy_table(r, f);
	ks_reclaim_fqdir_put(r, f);
}

static void fqdir_exit(struct ks_reclaim *r, struct fqdir *f)
{
	rwq_queue(r->system_wq, &f->destroy_work, fqdir_work_fn);
}

const struct reclaim_ops ks_reclaim_refcount_ops = {
	.name = "refcount",
	.fqdir_exit = fqdir_exit,
	.net_barrier = false,
};
