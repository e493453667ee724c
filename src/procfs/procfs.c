// SPDX-License-Identifier: MIT
/*
 * procfs on the dcache: the mount, the per-pid inode lists and their flush
 * at release_task(), lookup and readdir (both instantiate), revalidation,
 * stat and readlink. The layouts (layout_*.c) only decide which
 * directories are symlinks and which entries are retained.
 *
 * Models Linux 6.18 fs/proc/base.c (proc_pid_lookup(), proc_pid_readdir(),
 * proc_task_lookup(), proc_task_readdir(), proc_pident_lookup(),
 * proc_pident_readdir(), proc_fill_cache(), pid_revalidate(),
 * pid_delete_dentry(), pid_getattr(), proc_flush_pid(),
 * proc_map_files_lookup(), proc_map_files_readdir()), fs/proc/fd.c
 * (proc_readfd_common(), proc_lookupfd_common(), tid_fd_revalidate(),
 * proc_fd_getattr()), fs/proc/inode.c (proc_evict_inode(),
 * proc_invalidate_siblings_dcache()) and fs/proc/proc_net.c
 * (proc_net_d_revalidate()).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kscale/mm.h>
#include <kscale/pid.h>

#include "procfs_internal.h"

#define PF_FLAG_MOUNT (1u << 18) /* the mount's root (/proc) */

static const struct ks_strategy_info layout_infos[] = {
	{ "stock", "every directory instantiated for every path that reaches it",
	  "fs/proc/base.c tgid_base_stuff[], tid_base_stuff[], proc_fill_cache(), Linux 6.18" },
	{ "symlink",
	  "task/, fd/, fdinfo/, ns/, net/, attr/ shared through symlinks where identical",
	  "Jeff Mahoney, [RFC] procfs: reduce duplication by using symlinks, patches 3-5/5, LKML 2018-04-23 (not merged)" },
	{ "uncached-fd",
	  "stock, but fd/ and fdinfo/ entries are killed at their last put (never cached)",
	  "beyond the kernel; precedent: /proc/<pid>/net entries, 1fde6f21d90f, c6c75deda813" },
};

static const struct pf_layout *const layouts[] = {
	&pf_layout_stock,
	&pf_layout_symlink,
	&pf_layout_uncached_fd,
};

_Static_assert(KS_ARRAY_SIZE(layout_infos) == KS_ARRAY_SIZE(layouts), "one info per layout");

/*
 * ns/ targets, in ns_entries[] order: "type:[inum]" with the numbers of this
 * machine's initial namespaces (the kernel's PROC_*_INIT_INO and the dynamic
 * net and mnt ones).
 */
static const struct {
	const char *type;
	unsigned int inum;
} ns_targets[] = {
	{ "net", 4026531833u },	 { "uts", 4026531838u }, { "ipc", 4026531839u },
	{ "pid", 4026531836u },	 { "pid", 4026531836u }, { "user", 4026531837u },
	{ "mnt", 4026531832u },	 { "cgroup", 4026531835u }, { "time", 4026531834u },
	{ "time", 4026531834u },
};

const struct ks_strategy_info *ks_procfs_strategies(size_t *n)
{
	if (n)
		*n = KS_ARRAY_SIZE(layout_infos);
	return layout_infos;
}

int pf_print(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= len)
		return -ERANGE;
	return n;
}

int pf_shares_files_with_leader(struct ks_task *task)
{
	struct ks_task *leader;
	const void *mine, *his;

	if (ks_task_leader(task, &leader))
		return 0;
	mine = ks_task_files_id(task);
	his = ks_task_files_id(leader);
	ks_task_put(leader);
	return mine && mine == his;
}

/* ---- counters ------------------------------------------------------------ */

#define PF_INC(fs, field)                                                                  \
	do {                                                                               \
		struct pf_counters *c_ = ks_percpu_this((fs)->pcpu);                       \
		__atomic_fetch_add(&c_->field, 1, __ATOMIC_RELAXED);                       \
	} while (0)

/* ---- the per-pid inode list --------------------------------------------- */

static void link_init(struct ks_dcache_link *h)
{
	h->next = h;
	h->prev = h;
}

static void link_add(struct ks_dcache_link *n, struct ks_dcache_link *h)
{
	n->next = h->next;
	n->prev = h;
	h->next->prev = n;
	h->next = n;
}

static void link_del(struct ks_dcache_link *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->next = NULL;
	n->prev = NULL;
}

static void pf_pid_free_rcu(struct ks_rcu_head *head)
{
	struct pf_pid *pp = (struct pf_pid *)((char *)head - offsetof(struct pf_pid, rcu));

	ks_spin_destroy(&pp->lock);
	ks_mem_free(pp->type, pp, sizeof(*pp));
}

/*
 * put_pid(): the pid goes now (its memory stays for a grace period, as
 * RCU-walk revalidation may still read it); our object after a grace period.
 */
static void pf_pid_put(struct pf_pid *pp)
{
	if (__atomic_sub_fetch(&pp->refs, 1, __ATOMIC_ACQ_REL))
		return;
	ks_pid_put(pp->pid);
	ks_call_rcu(&pp->rcu, pf_pid_free_rcu);
}

/*
 * The task's pid object with a new reference, made on first use and hung
 * from the task's hook slot (which keeps one reference until the task
 * struct is freed). The caller holds @task.
 */
static struct pf_pid *pf_pid_get(struct ks_procfs *fs, struct ks_task *task)
{
	void **slot = ks_task_hook_data(task, fs->hook_id);
	struct pf_pid *pp;
	void *expected;

	for (;;) {
		pp = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
		if (pp) {
			__atomic_fetch_add(&pp->refs, 1, __ATOMIC_RELAXED);
			return pp;
		}
		pp = ks_mem_zalloc(fs->t_pid, sizeof(*pp));
		if (!pp)
			return NULL;
		pp->refs = 2;
		pp->pid = ks_task_pid(task);
		pp->fs = fs;
		pp->type = fs->t_pid;
		ks_spin_init(&pp->lock, fs->c_pid_lock);
		link_init(&pp->inodes);
		link_init(&pp->flushed);
		if (ks_pid_get(pp->pid)) {
			ks_mem_free(fs->t_pid, pp, sizeof(*pp));
			return NULL;
		}
		expected = NULL;
		if (__atomic_compare_exchange_n(slot, &expected, pp, false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			return pp;
		ks_pid_put(pp->pid);
		ks_spin_destroy(&pp->lock);
		ks_mem_free(fs->t_pid, pp, sizeof(*pp));
	}
}

/* Models fs/proc/inode.c proc_evict_inode(): off pid->inodes, put_pid(). */
static void pf_evict_inode(struct ks_inode *inode, void *ipriv, void *fs_info)
{
	struct pf_pid *pp = ipriv;
	struct ks_dcache_link *n = ks_inode_user_link(inode);

	if (!pp || ipriv == fs_info) /* the mount's root holds no pid */
		return;
	ks_spin_lock(&pp->lock);
	if (n->next)
		link_del(n);
	ks_spin_unlock(&pp->lock);
	pf_pid_put(pp);
}

/*
 * Models fs/proc/base.c proc_flush_pid() -> fs/proc/inode.c
 * proc_invalidate_siblings_dcache(): for every pid directory inode of the
 * released thread (its /proc/<tid> and /proc/<tgid>/task/<tid>): igrab(),
 * d_find_any_alias(), d_invalidate() (unhash + shrink_dcache_parent()).
 * A flushed inode moves to a second list so that one still in use (its
 * dentry referenced by a walker) is not visited again; it dies at its last
 * put, as pid_delete_dentry() says.
 */
static void pf_flush(struct pf_pid *pp)
{
	struct ks_procfs *fs = pp->fs;
	struct ks_dcache_link *n;
	struct ks_inode *inode;
	struct ks_dentry *d;
	int grabbed;

	PF_INC(fs, flushes);
	for (;;) {
		ks_spin_lock(&pp->lock);
		n = pp->inodes.next;
		if (n == &pp->inodes) {
			ks_spin_unlock(&pp->lock);
			break;
		}
		link_del(n);
		link_add(n, &pp->flushed);
		inode = ks_inode_from_user_link(n);
		grabbed = !ks_igrab(inode);
		ks_spin_unlock(&pp->lock);
		if (!grabbed)
			continue; /* being evicted already */
		if (!ks_d_find_any_alias(inode, &d)) {
			ks_d_invalidate(d);
			ks_dput(d);
			PF_INC(fs, flushed);
		}
		ks_iput(inode);
	}
}

static void pf_task_release(struct ks_task *task, void *arg)
{
	struct ks_procfs *fs = arg;
	void **slot = ks_task_hook_data(task, fs->hook_id);
	struct pf_pid *pp = slot ? __atomic_load_n(slot, __ATOMIC_ACQUIRE) : NULL;

	if (pp)
		pf_flush(pp);
}

static void pf_task_free(struct ks_task *task, void *arg)
{
	struct ks_procfs *fs = arg;
	void **slot = ks_task_hook_data(task, fs->hook_id);
	struct pf_pid *pp = slot ? __atomic_exchange_n(slot, NULL, __ATOMIC_ACQ_REL) : NULL;

	if (pp)
		pf_pid_put(pp);
}

static const struct ks_task_hooks pf_hooks = {
	.release = pf_task_release,
	.free = pf_task_free,
};

/* ---- entries ------------------------------------------------------------- */

static struct ks_dentry *D(struct ks_procfs_ent *e)
{
	return (struct ks_dentry *)e;
}

static struct ks_procfs_ent *E(struct ks_dentry *d)
{
	return (struct ks_procfs_ent *)d;
}

static struct pf_pid *pf_pid_of(const struct ks_dentry *d)
{
	return ks_inode_private(ks_d_inode(d));
}

static struct ks_procfs *pf_fs_of(const struct ks_dentry *d)
{
	void *code = ks_d_fsdata(d);
	void *priv = ks_inode_private(ks_d_inode(d));

	if (!code || !priv)
		return NULL;
	if (pf_kind_of(code) == PF_ROOT)
		return priv;
	return ((struct pf_pid *)priv)->fs;
}

static bool pf_is_dir_kind(unsigned int kind)
{
	return kind <= PF_NET;
}

/* pid_task() != NULL: the task was not released. */
static bool pf_alive(struct pf_pid *pp)
{
	struct ks_task *task;
	bool alive;

	if (ks_rcu_read_lock())
		return false;
	alive = !ks_task_from_pid(pp->pid, 0, &task);
	ks_rcu_read_unlock();
	return alive;
}

static unsigned int pf_dir_kind(const char *name)
{
	static const struct {
		const char *name;
		unsigned int kind;
	} dirs[] = {
		{ "task", PF_TASK }, { "fd", PF_FD }, { "fdinfo", PF_FDINFO },
		{ "map_files", PF_MAPFILES }, { "attr", PF_ATTR }, { "ns", PF_NS },
		{ "net", PF_NET },
	};

	for (size_t i = 0; i < KS_ARRAY_SIZE(dirs); i++)
		if (!strcmp(dirs[i].name, name))
			return dirs[i].kind;
	return PF_NR_KINDS;
}

static int pf_is_link(const struct ks_procfs *fs, struct ks_task *task, unsigned int pkind,
		      unsigned int dkind)
{
	return fs->layout->is_link ? fs->layout->is_link(task, pkind, dkind) : 0;
}

/* A decimal number as the kernel's name_to_int(): no sign, no leading 0. */
static int pf_parse_nr(const char *s)
{
	long v = 0;

	if (!*s || (s[0] == '0' && s[1]))
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v > INT_MAX)
			return -1;
	}
	return (int)v;
}

/* "start-end" in lowercase hex, as proc_map_files_readdir() prints it. */
static int pf_parse_range(const char *s, unsigned long *start, unsigned long *end)
{
	char again[64];
	char *e;

	if (!*s || strlen(s) >= sizeof(again))
		return -1;
	*start = strtoul(s, &e, 16);
	if (*e != '-')
		return -1;
	*end = strtoul(e + 1, &e, 16);
	if (*e)
		return -1;
	snprintf(again, sizeof(again), "%lx-%lx", *start, *end);
	return strcmp(again, s) ? -1 : 0;
}

struct pf_vma_find {
	unsigned long start, end;
	char *buf;
	size_t len;
	int r;
};

static int pf_vma_find_fn(const struct ks_vma_info *v, void *arg)
{
	struct pf_vma_find *f = arg;

	if (v->start != f->start || v->end != f->end || !v->file)
		return 0;
	f->r = f->buf ? pf_print(f->buf, f->len, "%s", v->file) : 0;
	return 1;
}

/* The file mapped at exactly [start, end) of @task's mm, or -ENOENT. */
static int pf_vma_find(struct ks_task *task, unsigned long start, unsigned long end, char *buf,
		       size_t len)
{
	struct pf_vma_find f = { start, end, buf, len, -ENOENT };
	struct ks_mm *mm;

	if (ks_task_mm(task, &mm))
		return -ENOENT;
	ks_mm_for_each_vma(mm, pf_vma_find_fn, &f);
	ks_mmput(mm);
	return f.r;
}

static const struct ks_procfs_entry_info *pf_table_of(unsigned int kind, size_t *n)
{
	switch (kind) {
	case PF_PID:
		return ks_procfs_table(KS_PROCFS_TGID, n);
	case PF_TID:
		return ks_procfs_table(KS_PROCFS_TID, n);
	case PF_ATTR:
		return ks_procfs_table(KS_PROCFS_ATTR, n);
	case PF_NS:
		return ks_procfs_table(KS_PROCFS_NS, n);
	case PF_NET:
		return ks_procfs_table(KS_PROCFS_NET, n);
	default:
		*n = 0;
		return NULL;
	}
}

/* ---- dentry operations ---------------------------------------------------- */

/*
 * The ref-walk half of tid_fd_revalidate() / map_files_d_revalidate(), and
 * of the symlink layout's fd links: the task must live, fd/N must be open,
 * a link must still be what the layout would make now.
 */
static int pf_revalidate_ref(struct ks_dentry *d, unsigned int kind, unsigned int flags,
			     struct pf_pid *pp)
{
	struct ks_task *task;
	int valid = 1;

	if (ks_task_from_pid(pp->pid, 1, &task))
		return 0;
	if (kind == PF_FDLINK || kind == PF_FDINFOFILE) {
		int fd = pf_parse_nr(ks_d_name(d));

		valid = fd >= 0 && ks_task_fd_path(task, fd, NULL, 0, NULL) >= 0;
	} else if (flags & PF_FLAG_LAYOUT_LINK) {
		unsigned int pkind = pf_kind_of(ks_d_fsdata(ks_d_parent(d)));

		valid = pf_is_link(pp->fs, task, pkind, kind) == 1;
	}
	ks_task_put(task);
	return valid;
}

/*
 * Models pid_revalidate() (RCU-safe: valid while the task is not
 * released), tid_fd_revalidate() and map_files_d_revalidate() (-ECHILD
 * under RCU, then the ref-walk check), proc_net_d_revalidate() (never).
 */
static int pf_d_revalidate(struct ks_dentry *d, unsigned int flags, void *priv)
{
	unsigned int kind = pf_kind_of(priv), f = pf_flags_of(priv);
	struct pf_pid *pp;

	if (kind == PF_ROOT)
		return 1;
	if (kind == PF_NETENT)
		return 0;
	pp = pf_pid_of(d);
	if (!pp) /* being killed under an RCU walk: d_inode_rcu() is NULL */
		return (flags & KS_LOOKUP_RCU) ? -ECHILD : 0;
	if (kind == PF_FDLINK || kind == PF_FDINFOFILE || kind == PF_MAPLINK ||
	    ((f & PF_FLAG_LAYOUT_LINK) && (kind == PF_FD || kind == PF_FDINFO))) {
		if (flags & KS_LOOKUP_RCU)
			return -ECHILD;
		return pf_revalidate_ref(d, kind, f, pp);
	}
	if (flags & KS_LOOKUP_RCU) {
		struct ks_task *task;

		return !ks_task_from_pid(pp->pid, 0, &task);
	}
	return pf_alive(pp);
}

/* Models pid_delete_dentry(): a dead task's entries are not kept. */
static int pf_d_delete(const struct ks_dentry *d, void *priv)
{
	unsigned int kind = pf_kind_of(priv);
	struct pf_pid *pp;

	if (kind == PF_ROOT)
		return 0;
	pp = pf_pid_of(d);
	if (!pp || !pp->fs->layout->retain(kind))
		return 1;
	return !pf_alive(pp);
}

static const struct ks_dentry_operations pf_dops = {
	.d_revalidate = pf_d_revalidate,
	.d_delete = pf_d_delete,
};

/* ---- instantiation ------------------------------------------------------ */

/*
 * struct pf_inst - what the instantiate callback needs of the directory.
 * @task: the directory's task with a reference (NULL for the root).
 */
struct pf_inst {
	struct ks_procfs *fs;
	unsigned int pkind;
	struct pf_pid *pp;
	struct ks_task *task;
};

/* f_mode to the link's permission bits, as tid_fd_update_inode(). */
static unsigned int pf_fd_mode(unsigned int f_mode)
{
	unsigned int m = 0;

	if (f_mode & KS_FMODE_READ)
		m |= 0500;
	if (f_mode & KS_FMODE_WRITE)
		m |= 0300;
	return m;
}

/* The entry named @name in a pid directory's table, or -ENOENT. */
static int pf_resolve_pident(struct pf_inst *in, const char *name, unsigned int *code,
			     unsigned int *mode)
{
	size_t n;
	const struct ks_procfs_entry_info *t = pf_table_of(in->pkind, &n);
	unsigned int under = in->pkind == PF_TID ? PF_FLAG_UNDER_TID : 0;

	/* proc_pident_lookup(): "Yes, it does not scale. And it should not." */
	for (size_t i = 0; i < n; i++) {
		if (strcmp(t[i].name, name))
			continue;
		switch (in->pkind) {
		case PF_ATTR:
			*code = pf_mk(PF_ATTRFILE, (unsigned int)i, 0);
			break;
		case PF_NS:
			*code = pf_mk(PF_NSLINK, (unsigned int)i, 0);
			break;
		case PF_NET:
			*code = pf_mk(PF_NETENT, (unsigned int)i, 0);
			break;
		default:
			if (t[i].type == KS_PROCFS_DT_DIR) {
				unsigned int dk = pf_dir_kind(name);
				int l = pf_is_link(in->fs, in->task, in->pkind, dk);

				if (l < 0)
					return l;
				if (l) {
					*code = pf_mk(dk, 0, PF_FLAG_LAYOUT_LINK);
					*mode = KS_S_IFLNK | 0777;
					return 0;
				}
				*code = pf_mk(dk, (unsigned int)i, 0);
			} else {
				unsigned int k = t[i].type == KS_PROCFS_DT_LNK ? PF_LNK : PF_REG;

				*code = pf_mk(k, (unsigned int)i, under);
			}
		}
		*mode = t[i].mode;
		return 0;
	}
	return -ENOENT;
}

static int pf_create(void *arg, struct ks_dentry *parent, struct ks_dentry *dentry)
{
	struct pf_inst *in = arg;
	struct ks_procfs *fs = in->fs;
	const char *name = ks_d_name(dentry);
	struct ks_task *task = NULL;
	struct pf_pid *pp = NULL;
	struct ks_inode *inode;
	unsigned int code = 0, mode = 0, fmode;
	unsigned long s, e;
	int r, nr, base = 0;

	(void)parent;
	switch (in->pkind) {
	case PF_ROOT:
	case PF_TASK:
		/* proc_pid_lookup(): any tid; proc_task_lookup(): same group */
		nr = pf_parse_nr(name);
		if (nr < 1)
			return -ENOENT;
		if (ks_task_find(fs->tasks, nr, &task))
			return -ENOENT;
		if (in->pkind == PF_TASK && ks_task_tgid(task) != ks_task_tgid(in->task)) {
			ks_task_put(task);
			return -ENOENT;
		}
		pp = pf_pid_get(fs, task);
		ks_task_put(task);
		if (!pp)
			return -ENOMEM;
		code = pf_mk(in->pkind == PF_ROOT ? PF_PID : PF_TID, 0,
							   0);
		mode = KS_S_IFDIR | 0555;
		base = 1;
		break;
	case PF_FD:
	case PF_FDINFO:
		/* proc_lookupfd_common(): the descriptor must be open now */
		nr = pf_parse_nr(name);
		if (nr < 0 || ks_task_fd_path(in->task, nr, NULL, 0, &fmode) < 0)
			return -ENOENT;
		if (in->pkind == PF_FD) {
			code = PF_FDLINK;
			mode = KS_S_IFLNK | pf_fd_mode(fmode);
		} else {
			code = PF_FDINFOFILE;
			mode = KS_S_IFREG | 0444;
		}
		break;
	case PF_MAPFILES:
		if (pf_parse_range(name, &s, &e) || pf_vma_find(in->task, s, e, NULL, 0) < 0)
			return -ENOENT;
		code = PF_MAPLINK;
		mode = KS_S_IFLNK | 0400;
		break;
	case PF_PID:
	case PF_TID:
	case PF_ATTR:
	case PF_NS:
	case PF_NET:
		r = pf_resolve_pident(in, name, &code, &mode);
		if (r)
			return r;
		break;
	default:
		return -ENOENT; /* a directory of net/: nothing modelled below */
	}
	if (!pp) {
		pp = in->pp;
		__atomic_fetch_add(&pp->refs, 1, __ATOMIC_RELAXED);
	}
	r = ks_inode_new(fs->dc, mode, pp, &inode);
	if (r) {
		pf_pid_put(pp);
		return r;
	}
	if (base) {
		/* proc_pid_make_base_inode(): on pid->inodes for proc_flush_pid() */
		ks_spin_lock(&pp->lock);
		link_add(ks_inode_user_link(inode), &pp->inodes);
		ks_spin_unlock(&pp->lock);
	}
	r = ks_d_add(dentry, inode, &pf_dops, (void *)(uintptr_t)code);
	if (r)
		ks_iput(inode);
	return r;
}

/*
 * One lookup or proc_fill_cache() step: the cached, revalidated child or a
 * new one. Return: 0 found, 1 created, -errno.
 */
static int pf_instantiate(struct pf_inst *in, struct ks_dentry *dir, const char *name,
			  struct ks_dentry **out)
{
	int r = ks_d_lookup_or_create(dir, name, pf_create, in, out);

	if (r == 1)
		PF_INC(in->fs, instantiations);
	return r;
}

/* The directory's kind and the instantiate context; -ENOTDIR for a non-directory. */
static int pf_dir_begin(struct ks_dentry *d, struct pf_inst *in, bool need_task)
{
	void *code;

	if (ks_d_count(d) <= 0)
		return -EINVAL;
	code = ks_d_fsdata(d);
	in->fs = pf_fs_of(d);
	if (!code || !in->fs)
		return -EINVAL;
	in->pkind = pf_kind_of(code);
	if (!pf_is_dir_kind(in->pkind) || (pf_flags_of(code) & PF_FLAG_LAYOUT_LINK)) {
		if (in->pkind != PF_NETENT || (ks_inode_mode(ks_d_inode(d)) & KS_S_IFMT) != KS_S_IFDIR)
			return -ENOTDIR;
	}
	in->task = NULL;
	in->pp = in->pkind == PF_ROOT ? NULL : pf_pid_of(d);
	if (in->pp && need_task && ks_task_from_pid(in->pp->pid, 1, &in->task))
		return -ENOENT; /* getdents/lookup in a dead task's directory */
	return 0;
}

/* ---- the walker API -------------------------------------------------------- */

/*
 * Creation needs the directory's task; a cached hit does not, so the task
 * reference is only taken on a miss (the kernel's lookup runs only then).
 */
static int pf_create_lazy(void *arg, struct ks_dentry *parent, struct ks_dentry *dentry)
{
	struct pf_inst *in = arg;

	if (in->pp && !in->task && ks_task_from_pid(in->pp->pid, 1, &in->task))
		return -ENOENT;
	return pf_create(in, parent, dentry);
}

int ks_procfs_lookup(struct ks_procfs_ent *dir, const char *name, struct ks_procfs_ent **out)
{
	struct ks_dentry *child;
	struct pf_inst in;
	int r;

	if (!dir || !name || !out)
		return -EINVAL;
	r = pf_dir_begin(D(dir), &in, false);
	if (r)
		return r;
	PF_INC(in.fs, lookups);
	r = ks_d_lookup_or_create(D(dir), name, pf_create_lazy, &in, &child);
	if (in.task)
		ks_task_put(in.task);
	if (r < 0)
		return r;
	if (r == 1)
		PF_INC(in.fs, instantiations);
	*out = E(child);
	return 0;
}

static unsigned int pf_dt(unsigned int mode)
{
	switch (mode & KS_S_IFMT) {
	case KS_S_IFDIR:
		return KS_PROCFS_DT_DIR;
	case KS_S_IFLNK:
		return KS_PROCFS_DT_LNK;
	default:
		return KS_PROCFS_DT_REG;
	}
}

/*
 * Models proc_fill_cache(): instantiate (or find) @name and emit it with
 * the inode number of what was instantiated. A name that vanished in
 * between is skipped. Return: @fn's nonzero return, 0, or -errno to stop.
 */
static int pf_emit(struct pf_inst *in, struct ks_dentry *dir, const char *name,
		   ks_procfs_filldir_t fn, void *arg)
{
	struct ks_dentry *child;
	struct ks_inode *inode;
	int r = pf_instantiate(in, dir, name, &child);

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	inode = ks_d_inode(child);
	PF_INC(in->fs, emitted);
	r = fn(name, pf_dt(ks_inode_mode(inode)), ks_inode_ino(inode), E(child), arg);
	ks_dput(child);
	return r;
}

static int pf_readdir_table(struct pf_inst *in, struct ks_dentry *dir, ks_procfs_filldir_t fn,
			    void *arg)
{
	size_t n;
	const struct ks_procfs_entry_info *t = pf_table_of(in->pkind, &n);
	int r = 0;

	for (size_t i = 0; !r && i < n; i++)
		r = pf_emit(in, dir, t[i].name, fn, arg);
	return r;
}

/* Models proc_pid_readdir(): leaders only, by tgid (next_tgid()). */
static int pf_readdir_root(struct pf_inst *in, struct ks_dentry *dir, ks_procfs_filldir_t fn,
			   void *arg)
{
	struct ks_task *task;
	char name[16];
	int nr = 1, r = 0, tgid;

	while (!r && (tgid = ks_tasks_next_tgid(in->fs->tasks, nr, &task)) > 0) {
		ks_task_put(task);
		snprintf(name, sizeof(name), "%d", tgid);
		r = pf_emit(in, dir, name, fn, arg);
		nr = tgid + 1;
	}
	return r;
}

/*
 * Models proc_task_readdir(): the group's threads in list order; when the
 * cursor thread left the list, restart and skip as many as were emitted
 * (first_tid()'s f_pos).
 */
static int pf_readdir_task(struct pf_inst *in, struct ks_dentry *dir, ks_procfs_filldir_t fn,
			   void *arg)
{
	struct ks_task *prev = NULL, *next;
	long pos = 0, skip = 0;
	char name[16];
	int r = 0, e;

	for (;;) {
		e = ks_task_next_thread(in->task, prev, &next);
		if (e == -EAGAIN) {
			ks_task_put(prev);
			prev = NULL;
			skip = pos;
			continue;
		}
		if (prev)
			ks_task_put(prev);
		prev = NULL;
		if (e)
			break;
		prev = next;
		if (skip > 0) {
			skip--;
			continue;
		}
		snprintf(name, sizeof(name), "%d", ks_task_tid(next));
		r = pf_emit(in, dir, name, fn, arg);
		pos++;
		if (r)
			break;
	}
	if (prev)
		ks_task_put(prev);
	return r;
}

/* Models proc_readfd_common(): every open descriptor in order. */
static int pf_readdir_fd(struct pf_inst *in, struct ks_dentry *dir, ks_procfs_filldir_t fn,
			 void *arg)
{
	char name[16];
	int fd = 0, r = 0;

	while (!r && (fd = ks_task_next_fd(in->task, fd, NULL)) >= 0) {
		snprintf(name, sizeof(name), "%d", fd);
		r = pf_emit(in, dir, name, fn, arg);
		fd++;
	}
	return r;
}

#define PF_VMA_CHUNK 16

struct pf_vma_chunk {
	unsigned long from;
	int n;
	unsigned long start[PF_VMA_CHUNK], end[PF_VMA_CHUNK];
};

static int pf_vma_chunk_fn(const struct ks_vma_info *v, void *arg)
{
	struct pf_vma_chunk *c = arg;

	if (!v->file || v->start < c->from)
		return 0;
	if (c->n == PF_VMA_CHUNK)
		return 1;
	c->start[c->n] = v->start;
	c->end[c->n++] = v->end;
	return 0;
}

/*
 * Models proc_map_files_readdir(): the file mappings, "start-end". The
 * kernel copies the ranges into a flex array under mmap_lock; we copy a
 * stack chunk at a time (no allocation) and instantiate outside the lock.
 */
static int pf_readdir_map_files(struct pf_inst *in, struct ks_dentry *dir,
				ks_procfs_filldir_t fn, void *arg)
{
	struct pf_vma_chunk c = { 0 };
	struct ks_mm *mm;
	char name[48];
	int r = 0;

	if (ks_task_mm(in->task, &mm))
		return 0;
	do {
		c.n = 0;
		ks_mm_for_each_vma(mm, pf_vma_chunk_fn, &c);
		for (int i = 0; !r && i < c.n; i++) {
			snprintf(name, sizeof(name), "%lx-%lx", c.start[i], c.end[i]);
			r = pf_emit(in, dir, name, fn, arg);
		}
		if (c.n)
			c.from = c.end[c.n - 1];
	} while (!r && c.n == PF_VMA_CHUNK);
	ks_mmput(mm);
	return r;
}

int ks_procfs_readdir(struct ks_procfs_ent *dir, ks_procfs_filldir_t fn, void *arg)
{
	struct pf_inst in;
	int r;

	if (!dir || !fn)
		return -EINVAL;
	r = pf_dir_begin(D(dir), &in, true);
	if (r)
		return r;
	PF_INC(in.fs, readdirs);
	switch (in.pkind) {
	case PF_ROOT:
		r = pf_readdir_root(&in, D(dir), fn, arg);
		break;
	case PF_TASK:
		r = pf_readdir_task(&in, D(dir), fn, arg);
		break;
	case PF_FD:
	case PF_FDINFO:
		r = pf_readdir_fd(&in, D(dir), fn, arg);
		break;
	case PF_MAPFILES:
		r = pf_readdir_map_files(&in, D(dir), fn, arg);
		break;
	case PF_NETENT:
		r = 0;
		break;
	default:
		r = pf_readdir_table(&in, D(dir), fn, arg);
	}
	if (in.task)
		ks_task_put(in.task);
	return r;
}

/* 2 + the directories that are directories in this layout (pid_getattr()). */
static unsigned int pf_pid_nlink(struct ks_procfs *fs, unsigned int kind, struct ks_task *task)
{
	size_t n;
	const struct ks_procfs_entry_info *t = pf_table_of(kind, &n);
	unsigned int nlink = 2;

	for (size_t i = 0; i < n; i++)
		if (t[i].type == KS_PROCFS_DT_DIR &&
		    !(task && pf_is_link(fs, task, kind, pf_dir_kind(t[i].name)) == 1))
			nlink++;
	return nlink;
}

int ks_procfs_stat(struct ks_procfs_ent *ent, struct ks_procfs_stat *st)
{
	struct ks_dentry *d = D(ent);
	struct ks_inode *inode;
	struct ks_procfs *fs;
	struct ks_task *task = NULL;
	struct pf_pid *pp;
	unsigned int kind;
	void *code;
	int nr, fd;

	if (!ent || !st || ks_d_count(d) <= 0)
		return -EINVAL;
	code = ks_d_fsdata(d);
	fs = pf_fs_of(d);
	inode = ks_d_inode(d);
	if (!code || !fs || !inode)
		return -EINVAL;
	kind = pf_kind_of(code);
	memset(st, 0, sizeof(*st));
	st->mode = ks_inode_mode(inode);
	st->ino = ks_inode_ino(inode);
	pp = kind == PF_ROOT ? NULL : pf_pid_of(d);
	if (pp && ks_task_from_pid(pp->pid, 1, &task))
		task = NULL;
	st->nlink = (st->mode & KS_S_IFMT) == KS_S_IFDIR ? 2 : 1;
	if (pf_flags_of(code) & PF_FLAG_LAYOUT_LINK) {
		st->nlink = 1;
	} else if (kind == PF_PID || kind == PF_TID) {
		st->nlink = pf_pid_nlink(fs, kind, task);
	} else if (kind == PF_TASK && task) {
		/* proc_task_getattr(): 2 + threads */
		nr = ks_task_nr_threads(task);
		st->nlink = 2 + (nr > 0 ? (unsigned int)nr : 0);
	} else if (kind == PF_FD && task) {
		/* proc_fd_getattr(): st_size = open descriptors */
		nr = ks_task_nr_fds(task);
		st->size = nr > 0 ? nr : 0;
	} else if (kind == PF_FDLINK && task) {
		unsigned int fmode;

		fd = pf_parse_nr(ks_d_name(d));
		if (fd >= 0 && ks_task_fd_path(task, fd, NULL, 0, &fmode) >= 0)
			st->mode = KS_S_IFLNK | pf_fd_mode(fmode);
	}
	st->type = pf_dt(st->mode);
	if (task)
		ks_task_put(task);
	return 0;
}

static int pf_readlink_task(struct ks_procfs *fs, struct ks_dentry *d, unsigned int kind,
			    unsigned int idx, unsigned int flags, struct ks_task *task, char *buf,
			    size_t len)
{
	unsigned long s, e;
	size_t n;
	const struct ks_procfs_entry_info *t;
	int fd, tf;

	if (flags & PF_FLAG_LAYOUT_LINK) {
		if (!fs->layout->target)
			return -EINVAL;
		return fs->layout->target(task, pf_kind_of(ks_d_fsdata(ks_d_parent(d))), kind, buf,
					  len);
	}
	switch (kind) {
	case PF_FDLINK:
		fd = pf_parse_nr(ks_d_name(d));
		if (fd < 0)
			return -ENOENT;
		return ks_task_fd_path(task, fd, buf, len, NULL);
	case PF_MAPLINK:
		if (pf_parse_range(ks_d_name(d), &s, &e))
			return -ENOENT;
		return pf_vma_find(task, s, e, buf, len);
	case PF_NSLINK:
		if (idx >= KS_ARRAY_SIZE(ns_targets))
			return -EINVAL;
		return pf_print(buf, len, "%s:[%u]", ns_targets[idx].type, ns_targets[idx].inum);
	case PF_LNK:
		t = ks_procfs_table(flags & PF_FLAG_UNDER_TID ? KS_PROCFS_TID : KS_PROCFS_TGID, &n);
		if (idx >= n)
			return -EINVAL;
		if (!strcmp(t[idx].name, "exe")) {
			struct ks_mm *mm;

			if (ks_task_mm(task, &mm))
				return -ENOENT; /* get_task_exe_file(): no mm */
			ks_mmput(mm);
			return pf_print(buf, len, "%s", "/usr/bin/kscale-modelled");
		}
		/* cwd, root: fs_struct goes in do_exit() (exit_fs()) */
		tf = ks_task_flags(task);
		if (tf < 0 || (tf & (KS_TASK_EXITING | KS_TASK_ZOMBIE | KS_TASK_DEAD)))
			return -ENOENT;
		return pf_print(buf, len, "%s", "/");
	default:
		return -EINVAL;
	}
}

int ks_procfs_readlink(struct ks_procfs_ent *ent, char *buf, size_t len)
{
	struct ks_dentry *d = D(ent);
	struct ks_task *task;
	struct ks_procfs *fs;
	void *code;
	int r;

	if (!ent || !buf || !len || ks_d_count(d) <= 0)
		return -EINVAL;
	code = ks_d_fsdata(d);
	fs = pf_fs_of(d);
	if (!code || !fs || (ks_inode_mode(ks_d_inode(d)) & KS_S_IFMT) != KS_S_IFLNK)
		return -EINVAL;
	if (ks_task_from_pid(pf_pid_of(d)->pid, 1, &task))
		return -ENOENT;
	r = pf_readlink_task(fs, d, pf_kind_of(code), pf_idx_of(code), pf_flags_of(code), task,
			     buf, len);
	ks_task_put(task);
	return r;
}

#define PF_MAX_LINKS 8
#define PF_PATH_MAX 256

static int pf_walk(struct ks_procfs *fs, struct ks_dentry *cur, const char *path,
		   unsigned int flags, int *links, struct ks_dentry **out);

/* Follow the layout link @link (a child of @dir) to its target directory. */
static int pf_follow(struct ks_procfs *fs, struct ks_dentry *dir, struct ks_dentry *link,
		     int *links, struct ks_dentry **out)
{
	char target[PF_PATH_MAX];
	int r;

	if (!(pf_flags_of(ks_d_fsdata(link)) & PF_FLAG_LAYOUT_LINK))
		return -EXDEV;
	if (++*links > PF_MAX_LINKS)
		return -ELOOP;
	r = ks_procfs_readlink(E(link), target, sizeof(target));
	if (r < 0)
		return r;
	r = ks_dget(dir);
	if (r)
		return r;
	return pf_walk(fs, dir, target, KS_PROCFS_FOLLOW, links, out);
}

/* Walk @path from @cur, whose reference it consumes. */
static int pf_walk(struct ks_procfs *fs, struct ks_dentry *cur, const char *path,
		   unsigned int flags, int *links, struct ks_dentry **out)
{
	char buf[PF_PATH_MAX], *comp, *save = NULL;
	struct ks_procfs_ent *next;
	struct ks_dentry *res;
	int r = 0;

	if (strlen(path) >= sizeof(buf)) {
		ks_dput(cur);
		return -ENAMETOOLONG;
	}
	strcpy(buf, path);
	if (buf[0] == '/') {
		ks_dput(cur);
		cur = fs->root;
		r = ks_dget(cur);
		if (r)
			return r;
	}
	for (comp = strtok_r(buf, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		bool last = !save || !*save || strspn(save, "/") == strlen(save);

		if (!strcmp(comp, "."))
			continue;
		if (!strcmp(comp, "..")) {
			res = cur == fs->root ? cur : ks_d_parent(cur);
			r = ks_dget(res);
			if (r)
				break;
			ks_dput(cur);
			cur = res;
			continue;
		}
		r = ks_procfs_lookup(E(cur), comp, &next);
		if (r)
			break;
		if ((ks_inode_mode(ks_d_inode(D(next))) & KS_S_IFMT) == KS_S_IFLNK &&
		    (!last || (flags & KS_PROCFS_FOLLOW))) {
			r = pf_follow(fs, cur, D(next), links, &res);
			ks_dput(D(next));
			if (r)
				break;
			next = E(res);
		}
		ks_dput(cur);
		cur = D(next);
	}
	if (r) {
		ks_dput(cur);
		return r;
	}
	*out = cur;
	return 0;
}

int ks_procfs_walk(struct ks_procfs_ent *start, const char *path, unsigned int flags,
		   struct ks_procfs_ent **out)
{
	struct ks_procfs *fs;
	struct ks_dentry *res;
	int links = 0, r;

	if (!start || !path || !out || (flags & ~KS_PROCFS_FOLLOW))
		return -EINVAL;
	if (ks_d_count(D(start)) <= 0)
		return -EINVAL;
	fs = pf_fs_of(D(start));
	if (!fs)
		return -EINVAL;
	r = ks_dget(D(start));
	if (r)
		return r;
	r = pf_walk(fs, D(start), path, flags, &links, &res);
	if (!r)
		*out = E(res);
	return r;
}

int ks_procfs_dup(struct ks_procfs_ent *ent)
{
	return ent ? ks_dget(D(ent)) : -EINVAL;
}

int ks_procfs_put(struct ks_procfs_ent *ent)
{
	if (!ent)
		return -EINVAL;
	if (ks_d_count(D(ent)) <= 0)
		return -EINVAL;
	return ks_dput(D(ent));
}

const char *ks_procfs_name(const struct ks_procfs_ent *ent)
{
	return ent ? ks_d_name((const struct ks_dentry *)ent) : NULL;
}

struct ks_dentry *ks_procfs_ent_dentry(const struct ks_procfs_ent *ent)
{
	return (struct ks_dentry *)ent;
}

/* ---- the mount ------------------------------------------------------------- */

static const struct ks_super_operations pf_sops = {
	.evict_inode = pf_evict_inode,
};

/* /proc: a child of the superblock's root whose inode points at the mount. */
static int pf_make_root(struct ks_procfs *fs)
{
	struct ks_dentry *sroot, *d;
	struct ks_inode *inode;
	int r;

	r = ks_d_root(fs->dc, &sroot);
	if (r)
		return r;
	r = ks_d_alloc(sroot, "proc", &d);
	ks_dput(sroot);
	if (r)
		return r;
	r = ks_inode_new(fs->dc, KS_S_IFDIR | 0555, fs, &inode);
	if (!r) {
		r = ks_d_add(d, inode, &pf_dops, (void *)(uintptr_t)pf_mk(PF_ROOT, 0, PF_FLAG_MOUNT));
		if (r)
			ks_iput(inode);
	}
	if (r) {
		ks_dput(d);
		return r;
	}
	fs->root = d;
	return 0;
}

static void pf_free(struct ks_procfs *fs)
{
	ks_percpu_free(fs->pcpu);
	ks_mem_free(fs->t_fs, fs, sizeof(*fs));
}

int ks_procfs_create(const char *layout, const struct ks_procfs_opts *opts,
		     struct ks_procfs **out)
{
	const struct pf_layout *l = NULL;
	struct ks_dcache_opts dopts = { 0 };
	struct ks_mem_type *t_fs;
	struct ks_procfs *fs;
	struct ks_mem *mem;
	int r;

	if (!opts || !out || !opts->tasks)
		return -EINVAL;
	if (opts->hash_bits && (opts->hash_bits < 4 || opts->hash_bits > 24))
		return -EINVAL;
	if (!layout)
		layout = "stock";
	for (size_t i = 0; i < KS_ARRAY_SIZE(layouts); i++)
		if (!strcmp(layout_infos[i].name, layout))
			l = layouts[i];
	if (!l)
		return -ENOENT;
	if (ks_rcu_read_depth() > 0)
		return -EDEADLK;
	mem = opts->mem ? opts->mem : ks_tasks_mem(opts->tasks);
	r = ks_mem_type_get(mem, "procfs", sizeof(*fs), &t_fs);
	if (r)
		return r;
	fs = ks_mem_zalloc(t_fs, sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	fs->t_fs = t_fs;
	fs->layout = l;
	fs->tasks = opts->tasks;
	fs->mem = mem;
	r = ks_mem_type_get(mem, "proc_pid", sizeof(struct pf_pid), &fs->t_pid);
	if (!r && opts->locks)
		r = ks_lock_class_get(opts->locks, "pid->lock", KS_LOCK_OBJECT, &fs->c_pid_lock);
	if (!r)
		r = ks_percpu_alloc(opts->topo, sizeof(struct pf_counters), &fs->pcpu);
	if (r) {
		pf_free(fs);
		return r;
	}
	dopts.topo = opts->topo;
	dopts.locks = opts->locks;
	dopts.mem = mem;
	dopts.hash_bits = opts->hash_bits;
	dopts.s_op = &pf_sops;
	dopts.fs_info = fs;
	r = ks_dcache_create(opts->inode_list, &dopts, &fs->dc);
	if (r) {
		pf_free(fs);
		return r;
	}
	r = pf_make_root(fs);
	/* last: hooks cannot be unregistered */
	if (!r)
		r = ks_tasks_add_hooks(opts->tasks, &pf_hooks, fs, &fs->hook_id);
	if (r) {
		if (fs->root)
			ks_dput(fs->root);
		ks_dcache_destroy(fs->dc);
		ks_rcu_barrier();
		pf_free(fs);
		return r;
	}
	*out = fs;
	return 0;
}

/* Task structs of the task list still allocated (their free hook is pending). */
static int64_t pf_task_structs(struct ks_procfs *fs)
{
	struct ks_mem_type_stats st;
	struct ks_mem_type *type;

	if (ks_mem_type_get(ks_tasks_mem(fs->tasks), "task_struct", 1, &type) ||
	    ks_mem_type_read(type, &st))
		return 0;
	return st.live_objs;
}

int ks_procfs_destroy(struct ks_procfs *fs)
{
	struct ks_tasks_stats ts;
	int r;

	if (!fs)
		return -EINVAL;
	if (ks_rcu_read_depth() > 0)
		return -EDEADLK;
	r = ks_tasks_stats(fs->tasks, &ts);
	if (r)
		return r;
	if (ts.threads)
		return -EBUSY;
	/* a task struct's free hook still to run would find a freed mount */
	r = ks_rcu_barrier();
	if (!r)
		r = ks_rcu_barrier();
	if (r)
		return r;
	if (pf_task_structs(fs))
		return -EBUSY;
	/*
	 * Every unused entry goes; one still referenced pins /proc (a child
	 * holds its parent), so /proc must be left with our reference alone.
	 */
	if (ks_shrink_dcache_parent(fs->root) < 0 || ks_d_count(fs->root) != 1)
		return -EBUSY;
	ks_dput(fs->root);
	fs->root = NULL;
	r = ks_dcache_destroy(fs->dc);
	if (r)
		return r; /* cannot happen: nothing is referenced */
	ks_rcu_barrier(); /* the pid objects the evictions put */
	pf_free(fs);
	return 0;
}

const char *ks_procfs_layout(const struct ks_procfs *fs)
{
	if (!fs)
		return NULL;
	for (size_t i = 0; i < KS_ARRAY_SIZE(layouts); i++)
		if (layouts[i] == fs->layout)
			return layout_infos[i].name;
	return NULL;
}

struct ks_dcache *ks_procfs_dcache(const struct ks_procfs *fs)
{
	return fs ? fs->dc : NULL;
}

int ks_procfs_root(struct ks_procfs *fs, struct ks_procfs_ent **out)
{
	int r;

	if (!fs || !out)
		return -EINVAL;
	r = ks_dget(fs->root);
	if (r)
		return r;
	*out = E(fs->root);
	return 0;
}

int ks_procfs_stats(const struct ks_procfs *fs, struct ks_procfs_stats *out)
{
	struct ks_dcache_stats ds;
	struct ks_mem_type_stats ms;
	int r, n;

	if (!fs || !out)
		return -EINVAL;
	r = ks_dcache_stats(fs->dc, &ds);
	if (r)
		return r;
	memset(out, 0, sizeof(*out));
	/* the superblock's root and /proc are the mount's own */
	out->dentries = ds.dentries - 2;
	out->inodes = ds.inodes - 2;
	out->bytes = ds.bytes;
	out->kernel_bytes = ds.kernel_bytes - 2 * (KS_KERNEL_DENTRY_SIZE + KS_KERNEL_PROC_INODE_SIZE);
	if (!ks_mem_type_read(fs->t_pid, &ms)) {
		out->bytes += ms.live_bytes;
		out->pid_objects = ms.live_objs;
	}
	n = ks_percpu_nr(fs->pcpu);
	for (int i = 0; i < n; i++) {
		const struct pf_counters *c = ks_percpu_ptr(fs->pcpu, i);

		out->lookups += __atomic_load_n(&c->lookups, __ATOMIC_RELAXED);
		out->instantiations += __atomic_load_n(&c->instantiations, __ATOMIC_RELAXED);
		out->readdirs += __atomic_load_n(&c->readdirs, __ATOMIC_RELAXED);
		out->emitted += __atomic_load_n(&c->emitted, __ATOMIC_RELAXED);
		out->flushes += __atomic_load_n(&c->flushes, __ATOMIC_RELAXED);
		out->flushed += __atomic_load_n(&c->flushed, __ATOMIC_RELAXED);
	}
	out->revalidate_failures = ds.revalidate_failures;
	return 0;
}
