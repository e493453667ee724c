// SPDX-License-Identifier: MIT
/*
 * The IDR and what idr-relock and idr-once share. Models lib/idr.c
 * (idr_alloc(), idr_alloc_cyclic(), idr_replace(), idr_remove(), idr_find(),
 * idr_get_next()) and kernel/pid.c (free_pid(), find_pid_ns(), find_ge_pid(),
 * disable_pid_allocation()) and kernel/pid_namespace.c (ns_last_pid),
 * Linux 6.18. See idr.h.
 */
#include "pid/idr.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

int ks_idr_alloc(struct ks_idr *idr, struct ks_radix_ctx *ctx, int start, int end)
{
	unsigned long id;
	int err;

	if (start < 0)
		return -EINVAL;
	/* idr_alloc() -> idr_alloc_u32(): @end is exclusive, <= 0 is INT_MAX */
	err = ks_radix_alloc(&idr->rt, start, end > 0 ? end - 1 : INT_MAX, NULL,
			     ctx, &id);
	return err ? err : (int)id;
}

int ks_idr_alloc_cyclic(struct ks_idr *idr, struct ks_radix_ctx *ctx, int start,
			int end)
{
	unsigned long max = end > 0 ? end - 1 : INT_MAX;
	unsigned int next = ks_idr_get_cursor(idr);
	unsigned long id = next;
	int err;

	if ((int)next < start)
		id = start;
	err = ks_radix_alloc(&idr->rt, id, max, NULL, ctx, &id);
	/* wrap once, only on -ENOSPC, only if we did not start at @start */
	if (err == -ENOSPC && (int)next > start)
		err = ks_radix_alloc(&idr->rt, start, max, NULL, ctx, &id);
	if (err)
		return err;
	ks_idr_set_cursor(idr, (unsigned int)id + 1);
	return (int)id;
}

int ks_idr_space_init(struct ks_pid_space *s, bool pidfs_under_lock)
{
	struct ks_lock_class *cls, *pl_cls;
	struct ks_mem_type *t;
	struct ks_idr_space *is;
	int err;

	err = ks_pid_space_mem_type(s, "pidmap", sizeof(*is), &t);
	if (err)
		return err;
	is = ks_mem_alloc_aligned(t, sizeof(*is), KS_CACHELINE);
	if (!is)
		return -ENOMEM;
	memset(is, 0, sizeof(*is));
	err = ks_pid_space_lock_class(s, "pidmap_lock", KS_LOCK_GLOBAL, &cls);
	if (!err)
		err = ks_pid_space_lock_class(s, "radix_tree_preloads.lock",
					      KS_LOCK_PERCPU, &pl_cls);
	if (!err)
		err = ks_pid_space_mem_type(s, "idr_node", sizeof(struct ks_radix_node),
					    &is->node_type);
	if (!err)
		err = ks_pid_space_mem_type(s, "idr", sizeof(struct ks_idr),
					    &is->idr_type);
	if (!err)
		err = ks_spin_init(&is->pidmap_lock, cls);
	if (!err)
		err = ks_radix_preloads_create(s->topo, is->node_type, pl_cls,
					       &is->preloads);
	if (err) {
		ks_mem_free(t, is, sizeof(*is));
		return err;
	}
	is->pidfs_under_lock = pidfs_under_lock;
	is->ino_next = 2; /* pidfs: inode numbers start at 2 */
	s->priv = is;
	return 0;
}

void ks_idr_space_fini(struct ks_pid_space *s)
{
	struct ks_idr_space *is = ks_idr_space(s);
	struct ks_mem_type *t;

	ks_radix_preloads_destroy(&is->preloads);
	ks_spin_destroy(&is->pidmap_lock);
	if (!ks_pid_space_mem_type(s, "pidmap", sizeof(*is), &t))
		ks_mem_free(t, is, sizeof(*is));
	s->priv = NULL;
}

int ks_idr_ns_init(struct ks_pid_ns *ns)
{
	struct ks_idr_space *is = ks_idr_space(ns->space);
	struct ks_idr *idr = ks_mem_zalloc(is->idr_type, sizeof(*idr));

	if (!idr)
		return -ENOMEM;
	ks_radix_init(&idr->rt);
	ns->priv = idr;
	return 0;
}

void ks_idr_ns_fini(struct ks_pid_ns *ns)
{
	struct ks_idr_space *is = ks_idr_space(ns->space);
	struct ks_idr *idr = ks_idr_of(ns);

	ks_radix_destroy(&idr->rt);
	ks_mem_free(is->idr_type, idr, sizeof(*idr));
	ns->priv = NULL;
}

void ks_idr_remove_levels(struct ks_pid *pid, int from)
{
	for (int i = from; i <= pid->level; i++)
		ks_radix_remove(&ks_idr_of(pid->numbers[i].ns)->rt, pid->numbers[i].nr);
}

int ks_idr_publish_locked(struct ks_idr_space *is, struct ks_radix_ctx *ctx,
			  struct ks_pid *pid)
{
	struct ks_pid_ns *ns = pid->numbers[pid->level].ns;

	/*
	 * alloc_pid(): "ENOMEM is not the most obvious choice ... but ENOMEM
	 * is what we have exposed to userspace": the init of @ns is dead.
	 */
	if (!ks_pidns_adding(ns))
		return -ENOMEM;
	if (is->pidfs_under_lock)
		pid->ino = is->ino_next++; /* pidfs_add_pid() */
	for (int i = pid->level; i >= 0; i--) {
		struct ks_upid *upid = &pid->numbers[i];

		/* Make the PID visible to find_pid_ns(): idr_replace(). */
		ks_radix_replace(&ks_idr_of(upid->ns)->rt, upid->nr, pid);
		ks_pidns_inc_allocated(upid->ns);
	}
	return 0;
}

/* free_pid(): one pidmap_lock round trip for every level. */
void ks_idr_free(struct ks_pid *pid)
{
	struct ks_idr_space *is = ks_idr_space(pid->space);

	ks_spin_lock(&is->pidmap_lock);
	for (int i = 0; i <= pid->level; i++) {
		struct ks_upid *upid = &pid->numbers[i];

		/*
		 * switch (--ns->pid_allocated): the kernel wakes the reaper at
		 * 2 and 1 (it may sleep in zap_pid_ns_processes()); kscale has
		 * no tasks to wake.
		 */
		ks_pidns_dec_allocated(upid->ns);
		ks_radix_remove(&ks_idr_of(upid->ns)->rt, upid->nr);
	}
	ks_spin_unlock(&is->pidmap_lock);
}

/* find_pid_ns() = idr_find(): lock-free under RCU; placeholders are NULL. */
struct ks_pid *ks_idr_lookup(struct ks_pid_ns *ns, int nr)
{
	return ks_radix_lookup(&ks_idr_of(ns)->rt, nr);
}

/* find_ge_pid() = idr_get_next(): skips NULL placeholders. */
struct ks_pid *ks_idr_find_ge(struct ks_pid_ns *ns, int *nr)
{
	unsigned long id = *nr;
	struct ks_pid *pid = ks_radix_find_ge(&ks_idr_of(ns)->rt, &id);

	if (pid)
		*nr = (int)id;
	return pid;
}

/* pid_ns_ctl_handler() read: idr_get_cursor() - 1. */
int ks_idr_last_pid(const struct ks_pid_ns *ns)
{
	return (int)ks_idr_get_cursor(ks_idr_of(ns)) - 1;
}

/* pid_ns_ctl_handler() write: idr_set_cursor(next + 1), without the lock. */
void ks_idr_set_last_pid(struct ks_pid_ns *ns, int last_pid)
{
	ks_idr_set_cursor(ks_idr_of(ns), (unsigned int)last_pid + 1);
}

/* disable_pid_allocation() */
void ks_idr_disable(struct ks_pid_ns *ns)
{
	struct ks_idr_space *is = ks_idr_space(ns->space);

	ks_spin_lock(&is->pidmap_lock);
	ks_pidns_clear_adding(ns);
	ks_spin_unlock(&is->pidmap_lock);
}
