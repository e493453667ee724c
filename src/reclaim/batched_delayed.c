// SPDX-License-Identifier: MIT
/*
 * "batched-delayed": models Eric Dumazet's "inet: frags: delay
 * fqdir_free_fn()" (Apr 2024, https://lore.kernel.org/r/20240404130751.2532093-1-edumazet@google.com),
 * mainline net/ipv4/inet_fragment.c: as "batched", but the free work is a
 * delayed work queued with a delay of HZ (opts.delay_ms), so one
 * rcu_barrier() serves every fqdir that arrives within the delay. Fewer
 * barriers, memory held up to the delay longer.
 */
#include "internal.h"

static void fqdir_work_fn(struct rwork *w)
{
	struct fqdir *f = ks_container_of(w, struct fqdir, destroy_work);
	struct ks_reclaim *r = f->r;

	ks_reclaim_fqdir_destroy_table(r, f);
	ks_reclaim_fqdir_queue_free(r, f,
				    __atomic_load_n(&r->flushing, __ATOMIC_ACQUIRE) ? 0 : r->delay_ns);
}

static void fqdir_exit(struct ks_reclaim *r, struct fqdir *f)
{
	rwq_queue(r->system_wq, &f->destroy_work, fqdir_work_fn);
}

const struct reclaim_ops ks_reclaim_batched_delayed_ops = {
	.name = "batched-delayed",
	.fqdir_exit = fqdir_exit,
	.net_barrier = true,
};
