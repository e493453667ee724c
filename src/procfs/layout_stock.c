// SPDX-License-Identifier: MIT
/*
 * Layout `stock`: Linux 6.18 fs/proc/base.c. Every directory is
 * instantiated for every path that reaches it: /proc/<tid>/task lists the
 * whole group again, task/<tgid> has its own fd/, fdinfo/, ns/, net/ and
 * attr/, so a walk of /proc/<pid> creates
 * 1 + (E_g + F_g + M + 2N) + T (1 + E_t + F_t + 2N) dentry/inode pairs.
 */
#include <errno.h>

#include "procfs_internal.h"

/* pid_delete_dentry() keeps live tasks' entries; net/ is never kept. */
static bool stock_retain(unsigned int kind)
{
	return kind != PF_NETENT;
}

const struct pf_layout pf_layout_stock = {
	/* no links: is_link and target stay NULL */
	.retain = stock_retain,
};
