// SPDX-License-Identifier: MIT
/*
 * idr-once: Mateusz Guzik, "pid: only take pidmap_lock once on alloc"
 * (6d864a1b1825, merged for Linux 7.0-rc1 via vfs-7.0-rc1.misc; thread in
 * shared/seeds/002). Models kernel/pid.c alloc_pid() of Linux 7.0: set_tid
 * and pid_max are checked and snapshotted before the lock; then ONE
 * pidmap_lock acquisition covers the cursor reset of a namespace whose first
 * fork failed, every level's idr_alloc{,_cyclic}() (dropping the lock once
 * per level to re-preload on -ENOMEM), the "pid 1 first" check, the
 * PIDNS_ADDING check and the idr_replace() publication. 1 acquisition per
 * allocation, 1 per free, at any depth.
 *
 * 7.0 also moved pidfs out of pidmap_lock (an rhashtable insert after the
 * unlock, inode numbers from per-CPU cookies); kscale does not model that
 * rhashtable.
 */
#include "pid/idr.h"

#include <errno.h>

/* The error path: remove the levels taken, still under the lock. */
static void once_out_free(struct ks_pid *pid, int i)
{
	ks_idr_remove_levels(pid, i + 1);
}

/*
 * Publication after a KS_PID_ALLOC_NOPUBLISH allocation (7.0 always
 * publishes inside the allocation's critical section; splitting it costs a
 * second acquisition, only on this test path).
 */
static int once_publish(struct ks_pid *pid)
{
	struct ks_idr_space *is = ks_idr_space(pid->space);
	struct ks_radix_ctx ctx = ks_idr_ctx(is, NULL);
	int err;

	ks_spin_lock(&is->pidmap_lock);
	err = ks_idr_publish_locked(is, &ctx, pid);
	if (err)
		once_out_free(pid, -1);
	ks_spin_unlock(&is->pidmap_lock);
	return err;
}

static int once_alloc(struct ks_pid *pid, const struct ks_pid_req *req)
{
	struct ks_idr_space *is = ks_idr_space(pid->space);
	struct ks_pid_ns *ns = pid->numbers[pid->level].ns;
	int set_tid[KS_PID_MAX_LEVEL + 1] = { 0 };
	int pid_max[KS_PID_MAX_LEVEL + 1];
	int tids_left = req->set_tid_size;
	struct ks_radix_preload *pl;
	struct ks_radix_ctx ctx;
	bool retried_preload = false;
	int i, nr, err;

	/* Prep before we take locks: snapshot pid_max, check set_tid. */
	for (i = pid->level; i >= 0; i--) {
		struct ks_pid_ns *tmp = pid->numbers[i].ns;
		int idx = pid->level - i;

		pid_max[idx] = ks_pidns_pid_max(tmp);
		if (tids_left) {
			int tid = req->set_tid[idx];

			/* 7.0 checks the range and the capability here; the
			 * "pid 1 first" rule comes after allocation. */
			if (tid < 1 || tid >= pid_max[idx])
				return -EINVAL;
			if (!req->privileged)
				return -EPERM;
			set_tid[idx] = tid;
			tids_left--;
		}
	}

	pl = ks_radix_preload(&is->preloads);
	ctx = ks_idr_ctx(is, pl);
	ks_spin_lock(&is->pidmap_lock);
	/* For the case when the previous attempt to create init failed */
	if (__atomic_load_n(&ns->pid_allocated, __ATOMIC_RELAXED) == KS_PIDNS_ADDING)
		ks_idr_set_cursor(ks_idr_of(ns), 0);

	for (i = pid->level; i >= 0;) {
		struct ks_pid_ns *tmp = pid->numbers[i].ns;
		struct ks_idr *idr = ks_idr_of(tmp);
		int tid = set_tid[pid->level - i];

		if (tid) {
			nr = ks_idr_alloc(idr, &ctx, tid, tid + 1);
			if (nr == -ENOSPC)
				nr = -EEXIST;
		} else {
			int pid_min = ks_idr_get_cursor(idr) > KS_PID_RESERVED ?
					      KS_PID_RESERVED : 1;

			nr = ks_idr_alloc_cyclic(idr, &ctx, pid_min,
						 pid_max[pid->level - i]);
			if (nr == -ENOSPC)
				nr = -EAGAIN;
		}
		if (nr < 0) {
			/*
			 * The preload covers one insertion only: drop the
			 * lock, preload again and retry this level once.
			 */
			if (nr == -ENOMEM && !retried_preload) {
				ks_spin_unlock(&is->pidmap_lock);
				ks_radix_preload_end(pl);
				retried_preload = true;
				pl = ks_radix_preload(&is->preloads);
				ctx = ks_idr_ctx(is, pl);
				ks_spin_lock(&is->pidmap_lock);
				continue;
			}
			err = nr;
			goto out_free;
		}
		pid->numbers[i].nr = nr;
		i--;
		retried_preload = false;
		/* PID 1 (init) must be created first. */
		if (!__atomic_load_n(&tmp->child_reaper, __ATOMIC_ACQUIRE) && nr != 1) {
			err = -EINVAL;
			goto out_free;
		}
	}
	if (req->publish) {
		err = ks_idr_publish_locked(is, &ctx, pid);
		if (err)
			goto out_free;
	}
	ks_spin_unlock(&is->pidmap_lock);
	ks_radix_preload_end(pl);
	return 0;

out_free:
	once_out_free(pid, i);
	ks_spin_unlock(&is->pidmap_lock);
	ks_radix_preload_end(pl);
	return err;
}

static void once_abort(struct ks_pid *pid)
{
	struct ks_idr_space *is = ks_idr_space(pid->space);

	ks_spin_lock(&is->pidmap_lock);
	once_out_free(pid, -1);
	ks_spin_unlock(&is->pidmap_lock);
}

static int once_space_init(struct ks_pid_space *s)
{
	return ks_idr_space_init(s, false);
}

const struct ks_pid_ops ks_pid_idr_once_ops = {
	.info = {
		.name = "idr-once",
		.summary = "IDR per namespace, global pidmap_lock taken once per "
			   "alloc (all levels and the publication) and once per free",
		.source = "kernel/pid.c alloc_pid(), Linux 7.0 (Guzik, 6d864a1b1825)",
	},
	.flags = KS_PID_KERNEL_NUMBERING,
	.upid_priv = 0,
	.space_init = once_space_init,
	.space_fini = ks_idr_space_fini,
	.ns_init = ks_idr_ns_init,
	.ns_fini = ks_idr_ns_fini,
	.alloc = once_alloc,
	.publish = once_publish,
	.abort = once_abort,
	.free = ks_idr_free,
	.lookup = ks_idr_lookup,
	.find_ge = ks_idr_find_ge,
	.last_pid = ks_idr_last_pid,
	.set_last_pid = ks_idr_set_last_pid,
	.disable = ks_idr_disable,
};
