// SPDX-License-Identifier: MIT
/*
 * The entry tables of a pid directory, in fs/proc/base.c order, as Linux
 * 6.18.44 builds them with this machine's config (CONFIG_SCHED_DEBUG,
 * AUDIT, USER_NS, TIME_NS, KSM, PROC_CHILDREN, CHECKPOINT_RESTORE,
 * SECURITY; no LATENCYTOP, no FAULT_INJECTION, no LIVEPATCH). Names, types
 * and modes were read from the running kernel's /proc/self and
 * /proc/self/task/<tid>; tests/oracle/oracle_procfs_tables.c compares them
 * with the kernel it runs on. Generated once, edited by hand since.
 */
#include <errno.h>

#include "procfs_internal.h"

/* Models fs/proc/base.c tgid_base_stuff[]: 54 entries (44 files, 7 dirs, 3 links). */
static const struct ks_procfs_entry_info tgid_base_stuff[] = {
	{ "task", KS_PROCFS_DT_DIR, KS_S_IFDIR | 0555 },
	{ "fd", KS_PROCFS_DT_DIR, KS_S_IFDIR | 0500 },
	{ "map_files", KS_PROCFS_DT_DIR, KS_S_IFDIR | 0500 },
	{ "fdinfo", KS_PROCFS_DT_DIR, KS_S_IFDIR | 0555 },
	{ "ns", KS_PROCFS_DT_DIR, KS_S_IFDIR | 0511 },
	{ "net", KS_PROCFS_DT_DIR, KS_S_IFDIR | 0555 },
	{ "environ", KS_PROCFS_DT_REG, KS_S_IFREG | 0400 },
	{ "auxv", KS_PROCFS_DT_REG, KS_S_IFREG | 0400 },
	{ "status", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "personality", KS_PROCFS_DT_REG, KS_S_IFREG | 0400 },
	{ "limits", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "sched", KS_PROCFS_DT_REG, KS_S_IFREG | 0644 },
	{ "autogroup", KS_PROCFS_DT_REG, KS_S_IFREG | 0644 },
	{ "timens_offsets", KS_PROCFS_DT_REG, KS_S_IFREG | 0644 },
	{ "comm", KS_PROCFS_DT_REG, KS_S_IFREG | 0644 },
	{ "syscall", KS_PROCFS_DT_REG, KS_S_IFREG | 0400 },
	{ "cmdline", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "stat", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "statm", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "maps", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "numa_maps", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "mem", KS_PROCFS_DT_REG, KS_S_IFREG | 0600 },
	{ "cwd", KS_PROCFS_DT_LNK, KS_S_IFLNK | 0777 },
	{ "root", KS_PROCFS_DT_LNK, KS_S_IFLNK | 0777 },
	{ "exe", KS_PROCFS_DT_LNK, KS_S_IFLNK | 0777 },
	{ "mounts", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "mountinfo", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "mountstats", KS_PROCFS_DT_REG, KS_S_IFREG | 0400 },
	{ "clear_refs", KS_PROCFS_DT_REG, KS_S_IFREG | 0200 },
	{ "smaps", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "smaps_rollup", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "pagemap", KS_PROCFS_DT_REG, KS_S_IFREG | 0400 },
	{ "attr", KS_PROCFS_DT_DIR, KS_S_IFDIR | 0555 },
	{ "wchan", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "stack", KS_PROCFS_DT_REG, KS_S_IFREG | 0400 },
	{ "schedstat", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "cpuset", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "cgroup", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "oom_score", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "oom_adj", KS_PROCFS_DT_REG, KS_S_IFREG | 0644 },
	{ "oom_score_adj", KS_PROCFS_DT_REG, KS_S_IFREG | 0644 },
	{ "loginuid", KS_PROCFS_DT_REG, KS_S_IFREG | 0644 },
	{ "sessionid", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "coredump_filter", KS_PROCFS_DT_REG, KS_S_IFREG | 0644 },
	{ "io", KS_PROCFS_DT_REG, KS_S_IFREG | 0400 },
	{ "uid_map", KS_PROCFS_DT_REG, KS_S_IFREG | 0644 },
	{ "gid_map", KS_PROCFS_DT_REG, KS_S_IFREG | 0644 },
	{ "projid_map", KS_PROCFS_DT_REG, KS_S_IFREG | 0644 },
	{ "setgroups", KS_PROCFS_DT_REG, KS_S_IFREG | 0644 },
	{ "timers", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "timerslack_ns", KS_PROCFS_DT_REG, KS_S_IFREG | 0666 },
	{ "arch_status", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "ksm_merging_pages", KS_PROCFS_DT_REG, KS_S_IFREG | 0400 },
	{ "ksm_stat", KS_PROCFS_DT_REG, KS_S_IFREG | 0400 },
};

/* Models fs/proc/base.c tid_base_stuff[]: 47 entries (39 files, 5 dirs, 3 links). */
static const struct ks_procfs_entry_info tid_base_stuff[] = {
	{ "fd", KS_PROCFS_DT_DIR, KS_S_IFDIR | 0500 },
	{ "fdinfo", KS_PROCFS_DT_DIR, KS_S_IFDIR | 0555 },
	{ "ns", KS_PROCFS_DT_DIR, KS_S_IFDIR | 0511 },
	{ "net", KS_PROCFS_DT_DIR, KS_S_IFDIR | 0555 },
	{ "environ", KS_PROCFS_DT_REG, KS_S_IFREG | 0400 },
	{ "auxv", KS_PROCFS_DT_REG, KS_S_IFREG | 0400 },
	{ "status", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "personality", KS_PROCFS_DT_REG, KS_S_IFREG | 0400 },
	{ "limits", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "sched", KS_PROCFS_DT_REG, KS_S_IFREG | 0644 },
	{ "comm", KS_PROCFS_DT_REG, KS_S_IFREG | 0644 },
	{ "syscall", KS_PROCFS_DT_REG, KS_S_IFREG | 0400 },
	{ "cmdline", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "stat", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "statm", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "maps", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "children", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "numa_maps", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "mem", KS_PROCFS_DT_REG, KS_S_IFREG | 0600 },
	{ "cwd", KS_PROCFS_DT_LNK, KS_S_IFLNK | 0777 },
	{ "root", KS_PROCFS_DT_LNK, KS_S_IFLNK | 0777 },
	{ "exe", KS_PROCFS_DT_LNK, KS_S_IFLNK | 0777 },
	{ "mounts", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "mountinfo", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "clear_refs", KS_PROCFS_DT_REG, KS_S_IFREG | 0200 },
	{ "smaps", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "smaps_rollup", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "pagemap", KS_PROCFS_DT_REG, KS_S_IFREG | 0400 },
	{ "attr", KS_PROCFS_DT_DIR, KS_S_IFDIR | 0555 },
	{ "wchan", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "stack", KS_PROCFS_DT_REG, KS_S_IFREG | 0400 },
	{ "schedstat", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "cpuset", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "cgroup", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "oom_score", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "oom_adj", KS_PROCFS_DT_REG, KS_S_IFREG | 0644 },
	{ "oom_score_adj", KS_PROCFS_DT_REG, KS_S_IFREG | 0644 },
	{ "loginuid", KS_PROCFS_DT_REG, KS_S_IFREG | 0644 },
	{ "sessionid", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "io", KS_PROCFS_DT_REG, KS_S_IFREG | 0400 },
	{ "uid_map", KS_PROCFS_DT_REG, KS_S_IFREG | 0644 },
	{ "gid_map", KS_PROCFS_DT_REG, KS_S_IFREG | 0644 },
	{ "projid_map", KS_PROCFS_DT_REG, KS_S_IFREG | 0644 },
	{ "setgroups", KS_PROCFS_DT_REG, KS_S_IFREG | 0644 },
	{ "arch_status", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "ksm_merging_pages", KS_PROCFS_DT_REG, KS_S_IFREG | 0400 },
	{ "ksm_stat", KS_PROCFS_DT_REG, KS_S_IFREG | 0400 },
};

/* Models fs/proc/base.c attr_dir_stuff[] (the LSM-independent files). */
static const struct ks_procfs_entry_info attr_dir_stuff[] = {
	{ "current", KS_PROCFS_DT_REG, KS_S_IFREG | 0666 },
	{ "prev", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "exec", KS_PROCFS_DT_REG, KS_S_IFREG | 0666 },
	{ "fscreate", KS_PROCFS_DT_REG, KS_S_IFREG | 0666 },
	{ "keycreate", KS_PROCFS_DT_REG, KS_S_IFREG | 0666 },
	{ "sockcreate", KS_PROCFS_DT_REG, KS_S_IFREG | 0666 },
};

/* Models fs/proc/namespaces.c ns_entries[]. */
static const struct ks_procfs_entry_info ns_entries[] = {
	{ "net", KS_PROCFS_DT_LNK, KS_S_IFLNK | 0777 },
	{ "uts", KS_PROCFS_DT_LNK, KS_S_IFLNK | 0777 },
	{ "ipc", KS_PROCFS_DT_LNK, KS_S_IFLNK | 0777 },
	{ "pid", KS_PROCFS_DT_LNK, KS_S_IFLNK | 0777 },
	{ "pid_for_children", KS_PROCFS_DT_LNK, KS_S_IFLNK | 0777 },
	{ "user", KS_PROCFS_DT_LNK, KS_S_IFLNK | 0777 },
	{ "mnt", KS_PROCFS_DT_LNK, KS_S_IFLNK | 0777 },
	{ "cgroup", KS_PROCFS_DT_LNK, KS_S_IFLNK | 0777 },
	{ "time", KS_PROCFS_DT_LNK, KS_S_IFLNK | 0777 },
	{ "time_for_children", KS_PROCFS_DT_LNK, KS_S_IFLNK | 0777 },
};

/*
 * /proc/<pid>/net: the top level of this machine's init_net (fs/proc/proc_net.c).
 * Its entries fail revalidation and are killed at their last put.
 */
static const struct ks_procfs_entry_info net_entries[] = {
	{ "anycast6", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "arp", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "arp_tables_matches", KS_PROCFS_DT_REG, KS_S_IFREG | 0440 },
	{ "arp_tables_names", KS_PROCFS_DT_REG, KS_S_IFREG | 0440 },
	{ "arp_tables_targets", KS_PROCFS_DT_REG, KS_S_IFREG | 0440 },
	{ "connector", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "dev", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "dev_mcast", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "dev_snmp6", KS_PROCFS_DT_DIR, KS_S_IFDIR | 0555 },
	{ "fib_trie", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "fib_triestat", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "icmp", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "icmp6", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "if_inet6", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "igmp", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "igmp6", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "ip6_flowlabel", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "ip6_mr_cache", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "ip6_mr_vif", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "ip6_tables_matches", KS_PROCFS_DT_REG, KS_S_IFREG | 0440 },
	{ "ip6_tables_names", KS_PROCFS_DT_REG, KS_S_IFREG | 0440 },
	{ "ip6_tables_targets", KS_PROCFS_DT_REG, KS_S_IFREG | 0440 },
	{ "ip6t_hashlimit", KS_PROCFS_DT_DIR, KS_S_IFDIR | 0555 },
	{ "ip_mr_cache", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "ip_mr_vif", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "ip_tables_matches", KS_PROCFS_DT_REG, KS_S_IFREG | 0440 },
	{ "ip_tables_names", KS_PROCFS_DT_REG, KS_S_IFREG | 0440 },
	{ "ip_tables_targets", KS_PROCFS_DT_REG, KS_S_IFREG | 0440 },
	{ "ipconfig", KS_PROCFS_DT_DIR, KS_S_IFDIR | 0555 },
	{ "ipt_hashlimit", KS_PROCFS_DT_DIR, KS_S_IFDIR | 0555 },
	{ "ipv6_route", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "mcfilter", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "mcfilter6", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "netfilter", KS_PROCFS_DT_DIR, KS_S_IFDIR | 0555 },
	{ "netlink", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "netstat", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "nf_conntrack", KS_PROCFS_DT_REG, KS_S_IFREG | 0440 },
	{ "nf_conntrack_expect", KS_PROCFS_DT_REG, KS_S_IFREG | 0440 },
	{ "packet", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "pnp", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "protocols", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "psched", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "ptype", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "raw", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "raw6", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "route", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "rt6_stats", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "rt_acct", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "rt_cache", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "snmp", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "snmp6", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "sockstat", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "sockstat6", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "softnet_stat", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "stat", KS_PROCFS_DT_DIR, KS_S_IFDIR | 0555 },
	{ "tcp", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "tcp6", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "udp", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "udp6", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "udplite", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "udplite6", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "unix", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "xfrm_stat", KS_PROCFS_DT_REG, KS_S_IFREG | 0444 },
	{ "xt_recent", KS_PROCFS_DT_DIR, KS_S_IFDIR | 0555 },
};

const struct ks_procfs_entry_info *ks_procfs_table(enum ks_procfs_table_id id, size_t *n)
{
	static const struct {
		const struct ks_procfs_entry_info *t;
		size_t n;
	} tables[KS_PROCFS_NR_TABLES] = {
		[KS_PROCFS_TGID] = { tgid_base_stuff, KS_ARRAY_SIZE(tgid_base_stuff) },
		[KS_PROCFS_TID] = { tid_base_stuff, KS_ARRAY_SIZE(tid_base_stuff) },
		[KS_PROCFS_ATTR] = { attr_dir_stuff, KS_ARRAY_SIZE(attr_dir_stuff) },
		[KS_PROCFS_NS] = { ns_entries, KS_ARRAY_SIZE(ns_entries) },
		[KS_PROCFS_NET] = { net_entries, KS_ARRAY_SIZE(net_entries) },
	};

	if (!n || (unsigned int)id >= KS_PROCFS_NR_TABLES)
		return NULL;
	*n = tables[id].n;
	return tables[id].t;
}
