// SPDX-License-Identifier: MIT
/*
 * "batched": models 0b9b24140681 "inet: frags: batch fqdir destroy works"
 * (SeongJae Park, Linux 5.11), net/ipv4/inet_fragment.c fqdir_work_fn() and
 * fqdir_free_fn(). The hash-table work stays one per fqdir and concurrent
 * (the kernel runs it on the per-CPU inet_frag_wq; we use the system_wq
 * pool), then the fqdir is pushed on fqdir_free_list; the push that finds
 * the list empty queues the single free work, which takes the whole list,
 * calls rcu_barrier() once and frees the batch.
 */
#include "internal.h"

static void fqdir_work_fn(struct rwork *w)
{
	struct fqdir *f = ks_container_of(w, struct fqdir, destroy_work);
	struct ks_reclaim *r = f->r;

	ks_reclaim_fqdir_destroy_table(r, f);
	ks_reclaim_fqdir_queue_free(r, f, 0);
}

static void fqdir_exit(struct ks_reclaim *r, struct fqdir *f)
{
	rwq_queue(r->system_wq, &f->destroy_work, fqdir_work_fn);
}

const struct reclaim_ops ks_reclaim_batched_ops = {
	.name = "batched",
	.fqdir_exit = fqdir_exit,
	.net_barrier = true,
};
