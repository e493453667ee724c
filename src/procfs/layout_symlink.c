// SPDX-License-Identifier: MIT
/*
 * Layout `symlink`: Jeff Mahoney, "[RFC] [PATCH 0/5] procfs: reduce
 * duplication by using symlinks", LKML 2018-04-23, patches 3-5 (never
 * merged; see ../shared/seeds/000_6208aaf3cef98b52.txt):
 *  - 3/5: /proc/<tid>/task of a thread that is not the leader is a link to
 *    "../<tgid>/task" (each /proc/<tid> no longer repeats the T threads);
 *  - 4/5: fd, fdinfo, ns, net and attr of /proc/<tgid>/task/<tgid> (the
 *    leader's own thread directory) are links to "../../fd" and so on;
 *  - 5/5: a thread whose files table is its leader's gets fd and fdinfo
 *    links ("../../fd" in task/<tid>, "../<tgid>/fd" in /proc/<tid>); the
 *    link fails revalidation once the tables differ (unshare(CLONE_FILES)
 *    by either side), and the re-lookup makes a real directory.
 * Leader exits first: its files table is gone (exit_files(); the kernel
 * shows an empty /proc/<tgid>/fd), so "shares the leader's table" is false
 * and every thread that still has a table gets a real fd/ showing its own
 * descriptors, never the leader's empty one.
 */
#include <errno.h>

#include "procfs_internal.h"

static bool sl_may_link(unsigned int pkind, unsigned int dkind)
{
	if (pkind == PF_PID)
		return dkind == PF_TASK || dkind == PF_FD || dkind == PF_FDINFO;
	return dkind == PF_FD || dkind == PF_FDINFO || dkind == PF_NS || dkind == PF_NET ||
	       dkind == PF_ATTR;
}

static int sl_is_link(struct ks_task *task, unsigned int pkind, unsigned int dkind)
{
	int leader = ks_task_tid(task) == ks_task_tgid(task);

	if (!sl_may_link(pkind, dkind))
		return 0;
	if (pkind == PF_PID) {
		if (leader)
			return 0;
		if (dkind == PF_TASK)
			return 1;
		return pf_shares_files_with_leader(task);
	}
	if (leader)
		return 1;
	if (dkind == PF_FD || dkind == PF_FDINFO)
		return pf_shares_files_with_leader(task);
	return 0;
}

static const char *const dir_names[PF_NR_KINDS] = {
	[PF_TASK] = "task", [PF_FD] = "fd",	[PF_FDINFO] = "fdinfo",
	[PF_NS] = "ns",	    [PF_NET] = "net",	[PF_ATTR] = "attr",
};

static int sl_target(struct ks_task *task, unsigned int pkind, unsigned int dkind, char *buf,
		     size_t len)
{
	if (dkind >= PF_NR_KINDS || !dir_names[dkind])
		return -EINVAL;
	if (pkind == PF_PID)
		return pf_print(buf, len, "../%d/%s", ks_task_tgid(task), dir_names[dkind]);
	return pf_print(buf, len, "../../%s", dir_names[dkind]);
}

static bool sl_retain(unsigned int kind)
{
	return kind != PF_NETENT;
}

const struct pf_layout pf_layout_symlink = {
	.is_link = sl_is_link,
	.target = sl_target,
	.retain = sl_retain,
};
