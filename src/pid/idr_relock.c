// SPDX-License-Identifier: MIT
/*
 * idr-relock: Linux up to 6.18. Models kernel/pid.c alloc_pid(), Linux 6.18
 * (https://github.com/gregkh/linux/blob/v6.18.38/kernel/pid.c): an IDR per
 * namespace and ONE global pidmap_lock, taken once per namespace level
 * (innermost first) to reserve a number with a NULL placeholder, and once
 * more to publish (pidfs inode number, idr_replace() on every level). At
 * depth L: L + 2 acquisitions per allocation, 1 per free.
 */
#include "pid/idr.h"

#include <errno.h>

/* alloc_pid()'s out_free: one more round trip to undo what was taken. */
static void relock_out_free(struct ks_pid *pid, int i)
{
	struct ks_idr_space *is = ks_idr_space(pid->space);
	struct ks_pid_ns *ns = pid->numbers[pid->level].ns;

	ks_spin_lock(&is->pidmap_lock);
	ks_idr_remove_levels(pid, i + 1);
	/* On failure to allocate the first pid, reset the state */
	if (__atomic_load_n(&ns->pid_allocated, __ATOMIC_RELAXED) == KS_PIDNS_ADDING)
		ks_idr_set_cursor(ks_idr_of(ns), 0);
	ks_spin_unlock(&is->pidmap_lock);
}

static int relock_publish(struct ks_pid *pid)
{
	struct ks_idr_space *is = ks_idr_space(pid->space);
	struct ks_radix_preload *pl = ks_radix_preload(&is->preloads);
	struct ks_radix_ctx ctx = ks_idr_ctx(is, pl);
	int err;

	ks_spin_lock(&is->pidmap_lock);
	err = ks_idr_publish_locked(is, &ctx, pid);
	ks_spin_unlock(&is->pidmap_lock);
	ks_radix_preload_end(pl);
	if (err)
		relock_out_free(pid, -1);
	return err;
}

static int relock_alloc(struct ks_pid *pid, const struct ks_pid_req *req)
{
	struct ks_idr_space *is = ks_idr_space(pid->space);
	int tids_left = req->set_tid_size;
	int i, nr, err;

	for (i = pid->level; i >= 0; i--) {
		struct ks_pid_ns *tmp = pid->numbers[i].ns;
		struct ks_idr *idr = ks_idr_of(tmp);
		int pid_max = ks_pidns_pid_max(tmp); /* READ_ONCE(tmp->pid_max) */
		struct ks_radix_preload *pl;
		struct ks_radix_ctx ctx;
		int tid = 0;

		/* set_tid is checked level by level, between allocations */
		if (tids_left) {
			tid = req->set_tid[pid->level - i];
			err = ks_pid_check_tid(tmp, tid, pid_max, req->privileged);
			if (err)
				goto out_free;
			tids_left--;
		}

		pl = ks_radix_preload(&is->preloads); /* idr_preload(GFP_KERNEL) */
		ctx = ks_idr_ctx(is, pl);
		ks_spin_lock(&is->pidmap_lock);
		if (tid) {
			nr = ks_idr_alloc(idr, &ctx, tid, tid + 1);
			/* -ENOSPC means the number is in use */
			if (nr == -ENOSPC)
				nr = -EEXIST;
		} else {
			/*
			 * init needs pid 1, but after reaching the maximum
			 * wrap back to RESERVED_PIDS
			 */
			int pid_min = ks_idr_get_cursor(idr) > KS_PID_RESERVED ?
					      KS_PID_RESERVED : 1;

			/* a NULL placeholder: find_pid_ns() cannot see it */
			nr = ks_idr_alloc_cyclic(idr, &ctx, pid_min, pid_max);
		}
		ks_spin_unlock(&is->pidmap_lock);
		ks_radix_preload_end(pl);

		if (nr < 0) {
			err = nr == -ENOSPC ? -EAGAIN : nr;
			goto out_free;
		}
		pid->numbers[i].nr = nr;
	}
	return req->publish ? relock_publish(pid) : 0;

out_free:
	/* levels i+1..level were taken; their cursors stay moved */
	relock_out_free(pid, i);
	return err;
}

static void relock_abort(struct ks_pid *pid)
{
	relock_out_free(pid, -1);
}

static int relock_space_init(struct ks_pid_space *s)
{
	return ks_idr_space_init(s, true);
}

const struct ks_pid_ops ks_pid_idr_relock_ops = {
	.info = {
		.name = "idr-relock",
		.summary = "IDR per namespace, global pidmap_lock taken once per "
			   "level and again to publish (depth+2 per alloc, 1 per free)",
		.source = "kernel/pid.c alloc_pid()/free_pid(), lib/idr.c, Linux 6.18",
	},
	.flags = KS_PID_KERNEL_NUMBERING,
	.upid_priv = 0,
	.space_init = relock_space_init,
	.space_fini = ks_idr_space_fini,
	.ns_init = ks_idr_ns_init,
	.ns_fini = ks_idr_ns_fini,
	.alloc = relock_alloc,
	.publish = relock_publish,
	.abort = relock_abort,
	.free = ks_idr_free,
	.lookup = ks_idr_lookup,
	.find_ge = ks_idr_find_ge,
	.last_pid = ks_idr_last_pid,
	.set_last_pid = ks_idr_set_last_pid,
	.disable = ks_idr_disable,
};
