// SPDX-License-Identifier: MIT
/*
 * procfs_layouts: one modelled process -- 4 threads, a few open files, two
 * file mappings, and one thread that called unshare(CLONE_FILES) and opened
 * a file of its own -- shown under /proc in two layouts side by side:
 * `stock` (Linux 6.18: every path gets its own directories) and `symlink`
 * (Jeff Mahoney's 2018 RFC: shared directories become links). The tree of
 * /proc/<pid> is printed to depth 3 with each entry's type and link target;
 * regular files are counted per directory rather than listed. Then the
 * counts of a full find(1): entries visited and dentry/inode pairs kept.
 *
 *   build/dev/examples/example_procfs_layouts
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kscale/kscale.h>
#include <kscale/mm.h>
#include <kscale/procfs.h>
#include <kscale/task.h>

#define MAX_LINES 2048

struct line {
	char path[160]; /* key: the path below /proc/<pid>, to pair the columns */
	int depth;
	char text[120];
};

struct tree {
	struct line *l;
	int n;
	unsigned long entries; /* a full find: everything, not only to depth 3 */
};

struct world {
	struct ks_mem *mem;
	struct ks_tasks *tasks;
	struct ks_procfs *fs;
	struct ks_task *thr[4];
};

static int add(struct tree *t, const char *path, int depth, const char *text)
{
	if (t->n == MAX_LINES)
		return -ENOSPC;
	if (snprintf(t->l[t->n].path, sizeof(t->l[t->n].path), "%s", path) >=
	    (int)sizeof(t->l[t->n].path))
		return -ENAMETOOLONG;
	t->l[t->n].depth = depth;
	if (snprintf(t->l[t->n].text, sizeof(t->l[t->n].text), "%s", text) >=
	    (int)sizeof(t->l[t->n].text))
		return -ENAMETOOLONG;
	t->n++;
	return 0;
}

struct walk {
	struct tree *t;
	struct ks_procfs_ent *dir;
	const char *path;
	int depth, files, err;
};

static int walk_dir(struct tree *t, struct ks_procfs_ent *dir, const char *path, int depth);

/* One name: lstat it (a lookup), list it to depth 3, walk on as find does. */
static int one(const char *name, unsigned int type, uint64_t ino, struct ks_procfs_ent *borrowed,
	       void *arg)
{
	struct walk *w = arg;
	struct ks_procfs_stat st;
	struct ks_procfs_ent *e;
	char path[160], text[120], target[96];
	int r;

	r = ks_procfs_lookup(w->dir, name, &e);
	if (r == -ENOENT)
		return 0;
	if (r || (r = ks_procfs_stat(e, &st)))
		goto out;
	w->t->entries++;
	snprintf(path, sizeof(path), "%s/%s", w->path, name);
	if (st.type == KS_PROCFS_DT_REG) {
		w->files++;
	} else if (st.type == KS_PROCFS_DT_LNK) {
		if (ks_procfs_readlink(e, target, sizeof(target)) < 0)
			strcpy(target, "?");
		snprintf(text, sizeof(text), "%*s%s -> %s", 2 * w->depth, "", name, target);
		if (w->depth <= 3)
			r = add(w->t, path, w->depth, text);
	} else {
		snprintf(text, sizeof(text), "%*s%s/", 2 * w->depth, "", name);
		if (w->depth <= 3)
			r = add(w->t, path, w->depth, text);
		if (!r && strcmp(name, "net"))
			r = walk_dir(w->t, e, path, w->depth + 1);
	}
out:
	ks_procfs_put(e);
	return r ? (w->err = r) : 0;
}

static int walk_dir(struct tree *t, struct ks_procfs_ent *dir, const char *path, int depth)
{
	struct walk w = {.t = t, .dir = dir, .path = path, .depth = depth};
	char key[176], text[120];
	int r = ks_procfs_readdir(dir, one, &w);

	if (!r && w.err)
		r = w.err;
	if (!r && w.files && depth <= 3) {
		snprintf(key, sizeof(key), "%s/~files", path);
		snprintf(text, sizeof(text), "%*s(%d files)", 2 * depth, "", w.files);
		r = add(t, key, depth, text);
	}
	return r;
}

static int build(const char *layout, struct world *w)
{
	struct ks_tasks_opts to = {0};
	struct ks_procfs_opts po = {0};
	static const char *const files[] = {"/etc/passwd", "/var/log/app.log", "/dev/null"};
	struct ks_mm *mm;
	int r, fd;

	memset(w, 0, sizeof(*w));
	r = ks_mem_create(NULL, &w->mem);
	if (r)
		return r;
	to.mem = po.mem = w->mem;
	r = ks_tasks_create(&to, &w->tasks);
	if (r)
		return r;
	po.tasks = w->tasks;
	r = ks_procfs_create(layout, &po, &w->fs);
	if (!r)
		r = ks_task_clone(w->tasks, NULL, 0, &w->thr[0]);
	if (r)
		return r;
	for (int i = 0; !r && i < 3; i++)
		r = ks_task_open(w->thr[0], files[i], i ? KS_O_RDWR : KS_O_RDONLY, &fd);
	if (!r)
		r = ks_task_mm(w->thr[0], &mm);
	if (!r) {
		r = ks_mm_map(mm, KS_PAGE_SIZE, 0, "/usr/lib/libc.so.6", NULL);
		if (!r)
			r = ks_mm_map(mm, KS_PAGE_SIZE, 0, "/usr/lib/ld-linux.so.2", NULL);
		ks_mmput(mm);
	}
	for (int i = 1; !r && i < 4; i++)
		r = ks_task_clone(w->tasks, w->thr[0],
				  KS_CLONE_VM | KS_CLONE_THREAD | KS_CLONE_FILES, &w->thr[i]);
	/* the last thread gets a table of its own, with one more file */
	if (!r)
		r = ks_task_unshare_files(w->thr[3]);
	if (!r)
		r = ks_task_open(w->thr[3], "/tmp/private.txt", KS_O_WRONLY, &fd);
	return r;
}

static void destroy(struct world *w)
{
	ks_task_kill(w->thr[0]);
	for (int i = 3; i >= 0; i--) {
		if (!w->thr[i])
			continue;
		ks_task_exit(w->thr[i], 0);
		if (i)
			ks_task_put(w->thr[i]);
	}
	if (w->thr[0]) {
		ks_task_reap(w->thr[0], NULL);
		ks_task_put(w->thr[0]);
	}
	if (w->fs)
		ks_procfs_destroy(w->fs);
	if (w->tasks)
		ks_tasks_destroy(w->tasks);
	if (w->mem)
		ks_mem_destroy(w->mem);
}

/* The tree of /proc/<pid> in @layout; @pairs receives what the walk kept. */
static int show(const char *layout, struct tree *t, int *tgid, long long *pairs)
{
	struct ks_procfs_stats before, after;
	struct ks_procfs_ent *root, *pid;
	struct world w;
	char name[16];
	int r;

	r = build(layout, &w);
	if (!r)
		r = ks_procfs_stats(w.fs, &before);
	if (!r) {
		*tgid = ks_task_tgid(w.thr[0]);
		snprintf(name, sizeof(name), "%d", *tgid);
		r = ks_procfs_root(w.fs, &root);
	}
	if (!r) {
		r = ks_procfs_lookup(root, name, &pid);
		ks_procfs_put(root);
	}
	if (!r) {
		t->entries = 1;
		r = walk_dir(t, pid, "", 1);
		ks_procfs_put(pid);
	}
	if (!r)
		r = ks_procfs_stats(w.fs, &after);
	if (!r)
		*pairs = after.dentries - before.dentries;
	destroy(&w);
	return r;
}

int main(void)
{
	static const char *const layouts[2] = {"stock", "symlink"};
	struct tree t[2] = {0};
	long long pairs[2] = {0};
	int tgid = 0, r = 0;

	if (ks_rcu_register_thread())
		return 1;
	for (int i = 0; i < 2 && !r; i++) {
		t[i].l = calloc(MAX_LINES, sizeof(*t[i].l));
		if (!t[i].l)
			r = -ENOMEM;
		else
			r = show(layouts[i], &t[i], &tgid, &pairs[i]);
	}
	if (r) {
		fprintf(stderr, "procfs_layouts: %s\n", strerror(-r));
	} else {
		printf("/proc/%d: 4 threads (the last one unshared its files), 3 + 1 open files, "
		       "2 mappings\n\n",
		       tgid);
		printf("%-58s | %s\n", "stock", "symlink");
		printf("%-58s-+-%s\n", "----------------------------------------------------------",
		       "--------------------------------------------------");
		/* stock has every path; symlink a subset (a link ends its branch) */
		for (int i = 0, j = 0; i < t[0].n; i++) {
			const char *right = "";

			for (int k = j; k < t[1].n; k++) {
				if (!strcmp(t[1].l[k].path, t[0].l[i].path)) {
					right = t[1].l[k].text;
					j = k + 1;
					break;
				}
			}
			printf("%-58s | %s\n", t[0].l[i].text, right);
		}
		printf("\nfind /proc/%d: %lu entries, %lld dentry/inode pairs kept (stock) | "
		       "%lu entries, %lld pairs (symlink): %.1f%% fewer\n",
		       tgid, t[0].entries, pairs[0], t[1].entries, pairs[1],
		       pairs[0] ? 100.0 * (double)(pairs[0] - pairs[1]) / (double)pairs[0] : 0);
	}
	free(t[0].l);
	free(t[1].l);
	ks_rcu_unregister_thread();
	return r ? 1 : 0;
}
