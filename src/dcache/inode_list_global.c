// SPDX-License-Identifier: MIT
/*
 * `global`: the superblock inode list as Linux 6.18 keeps it — one list_head
 * (sb->s_inodes) under one spinlock (sb->s_inode_list_lock), taken by
 * inode_sb_list_add() when new_inode() allocates and by inode_sb_list_del()
 * when evict() frees. Models fs/inode.c inode_sb_list_add(),
 * inode_sb_list_del() and the evict_inodes() walk, Linux 6.18.
 *
 * Every CPU that creates or evicts an inode of the superblock writes the
 * same lock word and the same list head: the hotspot of Jeff Mahoney's
 * report ("every CPU contending on the super's inode list lock").
 */
#include "dcache/dcache_internal.h"

#include <errno.h>

struct ilist_global {
	struct ks_spinlock s_inode_list_lock;
	struct ks_list s_inodes;
} ks_cacheline_aligned;

static int global_init(struct ks_dcache *dc)
{
	struct ks_lock_class *cls = NULL;
	struct ilist_global *g;
	int r;

	if (dc->locks) {
		r = ks_lock_class_get(dc->locks, "s_inode_list_lock", KS_LOCK_GLOBAL, &cls);
		if (r)
			return r;
	}
	g = ks_mem_alloc_aligned(dc->t_ilist, sizeof(*g), KS_CACHELINE);
	if (!g)
		return -ENOMEM;
	ks_spin_init(&g->s_inode_list_lock, cls);
	ks_list_init(&g->s_inodes);
	dc->ilist = g;
	return 0;
}

static void global_fini(struct ks_dcache *dc)
{
	struct ilist_global *g = dc->ilist;

	if (!g)
		return;
	ks_spin_destroy(&g->s_inode_list_lock);
	ks_mem_free(dc->t_ilist, g, sizeof(*g));
	dc->ilist = NULL;
}

static void global_add(struct ks_dcache *dc, struct ks_inode *inode)
{
	struct ilist_global *g = dc->ilist;

	ks_spin_lock(&g->s_inode_list_lock);
	ks_list_add(&inode->i_sb_list.list, &g->s_inodes);
	ks_spin_unlock(&g->s_inode_list_lock);
}

static void global_del(struct ks_dcache *dc, struct ks_inode *inode)
{
	struct ilist_global *g = dc->ilist;

	ks_spin_lock(&g->s_inode_list_lock);
	ks_list_del_init(&inode->i_sb_list.list);
	ks_spin_unlock(&g->s_inode_list_lock);
}

/*
 * evict_inodes() holds s_inode_list_lock across the walk (dropping it only
 * to sleep, with a restart); our callback never sleeps, so we hold it
 * throughout: every add and del on the superblock waits for the walk.
 */
static int global_for_each(struct ks_dcache *dc, int (*fn)(struct ks_inode *, void *), void *arg)
{
	struct ilist_global *g = dc->ilist;
	struct ks_list *pos;
	int r = 0;

	ks_spin_lock(&g->s_inode_list_lock);
	for (pos = g->s_inodes.next; pos != &g->s_inodes; pos = pos->next) {
		r = fn(ks_container_of(pos, struct ks_inode, i_sb_list.list), arg);
		if (r)
			break;
	}
	ks_spin_unlock(&g->s_inode_list_lock);
	return r;
}

const struct ks_inode_list_ops ks_inode_list_global = {
	.name = "global",
	.init = global_init,
	.fini = global_fini,
	.add = global_add,
	.del = global_del,
	.for_each = global_for_each,
};
