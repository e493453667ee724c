// SPDX-License-Identifier: MIT
/*
 * Layout `uncached-fd`: beyond the kernel. As `stock`, but the entries of
 * fd/ and fdinfo/ are never retained: d_delete kills them at their last
 * put, as the kernel does for /proc/<pid>/net entries since 1fde6f21d90f
 * ("proc: fix /proc/net files after setns(2)"). They are the 2N (stock: 2N per
 * thread) part of a walk's cost, and the part lsof rereads anyway; keeping
 * them buys nothing once the walker has moved on. Directories, and so the
 * inode numbers of everything else, stay as in stock.
 */
#include <errno.h>

#include "procfs_internal.h"

static bool ufd_retain(unsigned int kind)
{
	return kind != PF_NETENT && kind != PF_FDLINK && kind != PF_FDINFOFILE;
}

const struct pf_layout pf_layout_uncached_fd = {
	.retain = ufd_retain,
};
