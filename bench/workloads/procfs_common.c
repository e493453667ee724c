// SPDX-License-Identifier: MIT
/*
 * The procfs workloads' shared part (see procfs_common.h): the modelled
 * process, the mount it is shown in, and the two walkers -- find(1) and
 * lsof(1) -- written against include/kscale/procfs.h as a user program
 * would walk the real /proc.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <kscale/dcache.h>
#include <kscale/mm.h>

#include "procfs_common.h"

int procw_exit_thread(struct procw_proc *p, int i)
{
	int r = ks_task_exit(p->threads[i], 0);

	if (i && !r) {
		r = ks_task_put(p->threads[i]);
		p->threads[i] = NULL;
	}
	return r;
}

int procw_reap(struct procw_proc *p)
{
	int r;

	while ((r = ks_task_reap(p->leader, NULL)) == -EAGAIN)
		sched_yield();
	if (!r) {
		r = ks_task_put(p->leader);
		p->leader = NULL;
		p->threads[0] = NULL;
	}
	return r;
}

void procw_proc_free(struct procw_proc *p)
{
	if (p->threads)
		ks_mem_free(p->type, p->threads, (size_t)p->cap * sizeof(*p->threads));
	p->threads = NULL;
	p->leader = NULL;
	p->nr = 0;
}

int procw_proc_exit_all(struct procw_proc *p)
{
	int r = 0, e;

	if (p->leader)
		ks_task_kill(p->leader);
	for (int i = 0; i < p->nr; i++) {
		if (!p->threads[i])
			continue; /* exited and dropped already */
		e = ks_task_exit(p->threads[i], 0);
		if (e == -ESRCH)
			e = 0; /* its do_exit() already ran */
		if (i) {
			ks_task_put(p->threads[i]);
			p->threads[i] = NULL;
		}
		r = r ? r : e;
	}
	if (p->leader) {
		e = procw_reap(p);
		r = r ? r : e;
	}
	procw_proc_free(p);
	return r;
}

int procw_proc_create(struct ks_tasks *t, struct ks_mem *mem, uint64_t threads, uint64_t fds,
		      uint64_t vmas, struct procw_proc *p)
{
	struct ks_mm *mm = NULL;
	char path[64];
	int r, fd;

	memset(p, 0, sizeof(*p));
	if (!threads || threads > PROCW_MAX_THREADS || fds > PROCW_MAX_FDS || vmas > PROCW_MAX_VMAS)
		return -EINVAL;
	r = ks_mem_type_get(mem, "procw_threads", sizeof(void *), &p->type);
	if (r)
		return r;
	p->threads = ks_mem_zalloc(p->type, threads * sizeof(*p->threads));
	if (!p->threads)
		return -ENOMEM;
	p->cap = (int)threads;
	r = ks_task_clone(t, NULL, 0, &p->leader);
	if (r) {
		procw_proc_free(p);
		return r;
	}
	p->threads[p->nr++] = p->leader;
	if (vmas)
		r = ks_task_mm(p->leader, &mm);
	for (uint64_t i = 0; !r && i < vmas; i++) {
		snprintf(path, sizeof(path), "/usr/lib/procw/lib%llu.so", (unsigned long long)i);
		r = ks_mm_map(mm, KS_PAGE_SIZE, 0, path, NULL);
	}
	if (mm)
		ks_mmput(mm);
	for (uint64_t i = 0; !r && i < fds; i++) {
		snprintf(path, sizeof(path), "/tmp/procw/file%llu", (unsigned long long)i);
		r = ks_task_open(p->leader, path, i & 1 ? KS_O_RDWR : KS_O_RDONLY, &fd);
	}
	while (!r && p->nr < p->cap) {
		r = ks_task_clone(t, p->leader, KS_CLONE_VM | KS_CLONE_THREAD | KS_CLONE_FILES,
				  &p->threads[p->nr]);
		p->nr += !r;
	}
	if (r)
		procw_proc_exit_all(p);
	return r;
}

int procw_tables(struct procfs_tables *tab)
{
	const struct ks_procfs_entry_info *e;
	size_t n, na = 0, nn = 0;

	memset(tab, 0, sizeof(*tab));
	if (!ks_procfs_table(KS_PROCFS_ATTR, &na) || !ks_procfs_table(KS_PROCFS_NS, &nn))
		return -EINVAL;
	for (int id = KS_PROCFS_TGID; id <= KS_PROCFS_TID; id++) {
		uint64_t *entries = id == KS_PROCFS_TGID ? &tab->tgid_entries : &tab->tid_entries;
		uint64_t *fixed = id == KS_PROCFS_TGID ? &tab->tgid_fixed : &tab->tid_fixed;

		e = ks_procfs_table(id, &n);
		if (!e)
			return -EINVAL;
		*entries = n;
		for (size_t i = 0; i < n; i++) {
			if (e[i].type != KS_PROCFS_DT_DIR || !strcmp(e[i].name, "fd") ||
			    !strcmp(e[i].name, "fdinfo") || !strcmp(e[i].name, "map_files") ||
			    !strcmp(e[i].name, "task") || !strcmp(e[i].name, "net"))
				continue;
			if (!strcmp(e[i].name, "attr"))
				*fixed += na;
			else if (!strcmp(e[i].name, "ns"))
				*fixed += nn;
			else
				return -EINVAL;
		}
	}
	return 0;
}

int procw_expected(const struct procfs_tables *tab, const char *layout, uint64_t t, uint64_t n,
		   uint64_t m, uint64_t *visited, uint64_t *retained)
{
	if (!strcmp(layout, "stock")) {
		*visited = *retained = procfs_expected_stock(tab, t, n, m);
	} else if (!strcmp(layout, "symlink")) {
		*visited = *retained = procfs_expected_symlink(tab, t, n, m, 0);
	} else if (!strcmp(layout, "uncached-fd")) {
		*visited = procfs_expected_stock(tab, t, n, m);
		*retained = *visited - 2 * n * (t + 1);
	} else {
		return -ENOENT;
	}
	return 0;
}

void procw_env_destroy(struct procw_env *e)
{
	procw_proc_exit_all(&e->proc);
	if (e->fs)
		ks_procfs_destroy(e->fs);
	if (e->tasks)
		ks_tasks_destroy(e->tasks);
	e->fs = NULL;
	e->tasks = NULL;
	procw_thread_exit(e->registered);
	e->registered = false;
}

/*
 * The object sizes a shape needs: a stock walk's pairs (the largest layout)
 * at our dentry + inode size, the files and the threads. A shape that needs
 * more than the machine's memory is refused before anything is built.
 */
static int procw_fits(const struct procw_env *e, const struct ks_procfs *fs)
{
	struct ks_dcache_stats st;
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
	double need, have = pages > 0 && psz > 0 ? (double)pages * (double)psz : 0;

	if (ks_dcache_stats(ks_procfs_dcache(fs), &st))
		return -EINVAL;
	need = (double)procfs_expected_stock(&e->tab, e->threads, e->fds, e->vmas) *
	       (double)(st.dentry_size + st.inode_size);
	return have > 0 && need > have ? -ENOMEM : 0;
}

int procw_env_build(const char *layout, const char *inode_list, unsigned int hash_bits,
		    const struct ks_topo *topo,
		    struct ks_lockstat *locks, struct ks_mem *mem, uint64_t threads, uint64_t fds,
		    uint64_t vmas, struct procw_env *e)
{
	struct ks_tasks_opts to = {.topo = topo, .locks = locks, .mem = mem};
	struct ks_procfs_opts po = {
		.topo = topo, .locks = locks, .mem = mem, .inode_list = inode_list,
		.hash_bits = hash_bits};
	int r;

	memset(e, 0, sizeof(*e));
	if (!threads || threads > PROCW_MAX_THREADS || fds > PROCW_MAX_FDS || vmas > PROCW_MAX_VMAS)
		return -EINVAL;
	e->threads = threads;
	e->fds = fds;
	e->vmas = vmas;
	r = procw_tables(&e->tab);
	if (!r)
		r = procw_expected(&e->tab, layout, threads, fds, vmas, &e->expected_visited,
				   &e->expected_retained);
	if (r)
		return r;
	e->registered = procw_thread_enter();
	r = ks_tasks_create(&to, &e->tasks);
	if (!r) {
		po.tasks = e->tasks;
		r = ks_procfs_create(layout, &po, &e->fs);
	}
	if (!r)
		r = procw_fits(e, e->fs);
	if (!r)
		r = procw_proc_create(e->tasks, mem, threads, fds, vmas, &e->proc);
	if (!r) {
		e->tgid = ks_task_tgid(e->proc.leader);
		snprintf(e->tgid_name, sizeof(e->tgid_name), "%d", e->tgid);
	}
	if (r)
		procw_env_destroy(e);
	return r;
}

int procw_env_create(const struct kb_cell *c, struct procw_env *e)
{
	uint64_t threads, fds, vmas, hash_bits;
	const char *inode_list;
	int r;

	r = kb_param_u64(c, "proc_threads", &threads);
	if (!r)
		r = kb_param_u64(c, "hash_bits", &hash_bits);
	if (!r && (hash_bits < 4 || hash_bits > 24))
		r = -EINVAL;
	if (!r)
		r = kb_param_u64(c, "proc_fds", &fds);
	if (!r)
		r = kb_param_u64(c, "proc_vmas", &vmas);
	if (!r)
		r = kb_param_str(c, "inode_list", &inode_list);
	if (!r)
		r = procw_env_build(c->strategy, inode_list, (unsigned int)hash_bits, c->topo, c->locks, c->mem, threads,
				    fds, vmas, e);
	return r;
}

int procw_env_stats(const struct procw_env *e, struct ks_procfs_stats *st)
{
	return ks_procfs_stats(e->fs, st);
}

/*
 * One name of a directory being listed: lstat it (a lookup step: a cached
 * hit, revalidated, or a fresh instantiation where the layout keeps
 * nothing) and descend into a directory unless it is net/.
 */
struct procw_find_ctx {
	struct procw_walk *w;
	struct ks_procfs_ent *dir;
	int err;
};

static int procw_find_dir(struct ks_procfs_ent *dir, struct procw_walk *w);

static int procw_find_one(const char *name, unsigned int type, uint64_t ino,
			  struct ks_procfs_ent *borrowed, void *arg)
{
	struct procw_find_ctx *x = arg;
	struct ks_procfs_stat st;
	struct ks_procfs_ent *ent;
	int r;

	r = ks_procfs_lookup(x->dir, name, &ent);
	if (r == -ENOENT)
		return 0; /* gone since readdir listed it: find says so and goes on */
	if (r)
		return x->err = r;
	r = ks_procfs_stat(ent, &st);
	if (!r) {
		x->w->entries++;
		if (st.type == KS_PROCFS_DT_DIR) {
			x->w->dirs++;
			if (strcmp(name, "net"))
				r = procw_find_dir(ent, x->w);
		} else if (st.type == KS_PROCFS_DT_LNK) {
			x->w->links++;
		} else {
			x->w->files++;
		}
	}
	ks_procfs_put(ent);
	return r ? (x->err = r) : 0;
}

static int procw_find_dir(struct ks_procfs_ent *dir, struct procw_walk *w)
{
	struct procw_find_ctx x = {.w = w, .dir = dir};
	int r = ks_procfs_readdir(dir, procw_find_one, &x);

	return x.err ? x.err : r;
}

/* /proc and /proc/<pid> of the modelled process, a reference each. */
static int procw_open_pid(struct procw_env *e, struct ks_procfs_ent **root,
			  struct ks_procfs_ent **pid)
{
	int r = ks_procfs_root(e->fs, root);

	if (r)
		return r;
	r = ks_procfs_lookup(*root, e->tgid_name, pid);
	if (r)
		ks_procfs_put(*root);
	return r;
}

int procw_find(struct procw_env *e, struct procw_walk *w)
{
	struct ks_procfs_ent *root, *pid;
	int r = procw_open_pid(e, &root, &pid);

	if (r)
		return r;
	ks_procfs_put(root);
	w->entries++;
	w->dirs++;
	r = procw_find_dir(pid, w);
	ks_procfs_put(pid);
	return r;
}

/*
 * Resolve a layout's relative link @target found in the innermost directory
 * of @p, as the VFS follows it: ".." climbs @p, a name is a lookup step.
 * Return: 0 with a new reference in @out; -ENOENT; -EINVAL for a target
 * this walker does not follow (absolute, or ".." below a looked-up name).
 */
/* The directories from /proc down to the one being read: what ".." means. */
#define PROCW_DEPTH 8 /* /proc, <pid>, task, <tid>, fd: 5 deep at most */
struct procw_path {
	struct ks_procfs_ent *ent[PROCW_DEPTH];
	int depth; /* ent[depth - 1] is the innermost */
};

static int procw_follow(const struct procw_path *p, const char *target, struct procw_lsof *res,
			struct ks_procfs_ent **out)
{
	char buf[256], *save = NULL, *c;
	struct ks_procfs_ent *cur, *next;
	int d = p->depth - 1, r = 0;
	bool named = false;

	if (target[0] == '/' || strlen(target) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, target);
	cur = p->ent[d];
	r = ks_procfs_dup(cur);
	for (c = strtok_r(buf, "/", &save); !r && c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "..")) {
			if (named || d == 0) {
				r = -EINVAL;
				break;
			}
			next = p->ent[--d];
			r = ks_procfs_dup(next);
		} else {
			named = true;
			r = ks_procfs_lookup(cur, c, &next);
			res->lookups++;
		}
		if (r)
			break;
		ks_procfs_put(cur);
		cur = next;
	}
	if (r) {
		ks_procfs_put(cur);
		return r;
	}
	res->follows++;
	*out = cur;
	return 0;
}

/* An fd/ name: look it up and read the link. A task/ name: its fd/. */
struct procw_lsof_ctx {
	struct procw_lsof *res;
	struct procw_path *path;
	bool tasks; /* listing task/: go into each thread's fd/ */
	int err;
};

static int procw_lsof_dir(struct procw_path *p, const char *sub, struct procw_lsof *res);

static int procw_lsof_one(const char *name, unsigned int type, uint64_t ino,
			  struct ks_procfs_ent *borrowed, void *arg)
{
	struct procw_lsof_ctx *x = arg;
	struct procw_path *p = x->path;
	struct ks_procfs_ent *ent;
	char buf[KS_PATH_MAX + 1];
	int r;

	r = ks_procfs_lookup(p->ent[p->depth - 1], name, &ent);
	x->res->lookups++;
	if (r == -ENOENT) {
		x->res->enoent++;
		return 0;
	}
	if (r)
		return x->err = r;
	if (x->tasks) {
		if (p->depth == PROCW_DEPTH) {
			ks_procfs_put(ent);
			return x->err = -ELOOP;
		}
		p->ent[p->depth++] = ent;
		r = procw_lsof_dir(p, "fd", x->res);
		p->depth--;
	} else {
		r = ks_procfs_readlink(ent, buf, sizeof(buf));
		if (r == -ENOENT)
			x->res->enoent++;
		r = r < 0 && r != -ENOENT ? r : 0;
	}
	ks_procfs_put(ent);
	return r ? (x->err = r) : 0;
}

/*
 * Read directory @sub (fd/ or task/) of the innermost directory of @p and
 * visit every name; a layout's link in place of the directory is followed.
 */
static int procw_lsof_dir(struct procw_path *p, const char *sub, struct procw_lsof *res)
{
	struct procw_lsof_ctx x = {.res = res, .path = p, .tasks = !strcmp(sub, "task")};
	struct ks_procfs_stat st;
	struct ks_procfs_ent *dir, *target;
	char buf[256];
	int r;

	r = ks_procfs_lookup(p->ent[p->depth - 1], sub, &dir);
	res->lookups++;
	if (r == -ENOENT) {
		res->enoent++; /* a thread released meanwhile */
		return 0;
	}
	if (r)
		return r;
	r = ks_procfs_stat(dir, &st);
	if (!r && st.type == KS_PROCFS_DT_LNK) {
		r = ks_procfs_readlink(dir, buf, sizeof(buf));
		r = r < 0 ? r : procw_follow(p, buf, res, &target);
		ks_procfs_put(dir);
		if (r == -ENOENT) {
			res->enoent++;
			return 0;
		}
		if (r)
			return r;
		dir = target;
	}
	if (!r && p->depth == PROCW_DEPTH)
		r = -ELOOP;
	if (!r) {
		p->ent[p->depth++] = dir;
		r = ks_procfs_readdir(dir, procw_lsof_one, &x);
		p->depth--;
	}
	ks_procfs_put(dir);
	if (r == -ENOENT) {
		res->enoent++;
		r = 0;
	}
	return x.err ? x.err : r;
}

int procw_lsof(struct procw_env *e, bool tasks, struct procw_lsof *res)
{
	struct procw_path p = {.depth = 2};
	int r = procw_open_pid(e, &p.ent[0], &p.ent[1]);

	res->lookups++;
	if (r)
		return r;
	r = procw_lsof_dir(&p, "fd", res);
	if (!r && tasks)
		r = procw_lsof_dir(&p, "task", res);
	ks_procfs_put(p.ent[1]);
	ks_procfs_put(p.ent[0]);
	return r;
}

int procw_thread_init(void *state, int thread, void **tstate)
{
	struct procw_thread *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->state = state;
	t->idx = thread;
	t->registered = procw_thread_enter();
	*tstate = t;
	return 0;
}

void procw_thread_fini(void *tstate)
{
	struct procw_thread *t = tstate;

	procw_thread_exit(t->registered);
	free(t);
}

void procw_mem_snap(const struct ks_mem *m, struct procw_mem_snap *snap)
{
	struct ks_mem_type_stats ts[PROCW_MEM_TYPES];
	size_t n = 0;

	memset(snap, 0, sizeof(*snap));
	ks_mem_totals(m, NULL, &snap->bytes);
	if (ks_mem_read(m, ts, PROCW_MEM_TYPES, &n))
		return;
	snap->n = n < PROCW_MEM_TYPES ? n : PROCW_MEM_TYPES;
	for (size_t i = 0; i < snap->n; i++) {
		memcpy(snap->name[i], ts[i].name, sizeof(snap->name[i]));
		snap->allocs[i] = ts[i].allocs;
		snap->total_allocs += ts[i].allocs;
	}
}

/* The types a walk may allocate: the objects it instantiates. */
static bool procw_walk_type(const char *name)
{
	return !strcmp(name, "dentry") || !strcmp(name, "dentry_name") ||
	       !strcmp(name, "proc_inode") || !strcmp(name, "proc_pid");
}

uint64_t procw_mem_other_allocs(const struct procw_mem_snap *before,
				const struct procw_mem_snap *after)
{
	uint64_t other = 0;

	for (size_t i = 0; i < after->n; i++) {
		uint64_t was = 0;

		if (procw_walk_type(after->name[i]))
			continue;
		for (size_t j = 0; j < before->n; j++)
			if (!strcmp(before->name[j], after->name[i]))
				was = before->allocs[j];
		other += after->allocs[i] - was;
	}
	return other;
}
