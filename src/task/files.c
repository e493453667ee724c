// SPDX-License-Identifier: MIT
/*
 * Files tables: files_struct with an RCU-replaced fdtable, lowest-first
 * descriptor allocation under file_lock, lock-free lookup under RCU.
 * Models fs/file.c alloc_fd(), fd_install(), close_fd(), dup_fd(),
 * expand_files()/expand_fdtable(), put_files_struct(), unshare_fd() and
 * task_lookup_next_fdget_rcu(), Linux 6.18.
 */
#include "task/task_internal.h"

#include <errno.h>
#include <string.h>

#define BITS_PER_LONG (8 * sizeof(unsigned long))
#define NR_OPEN_DEFAULT 64 /* BITS_PER_LONG: the fdtable embedded in files_struct */

static size_t fdt_words(unsigned int max_fds)
{
	return (max_fds + BITS_PER_LONG - 1) / BITS_PER_LONG;
}

static size_t fdt_size(unsigned int max_fds)
{
	return sizeof(struct ks_fdtable) + max_fds * sizeof(struct ks_file *) +
	       fdt_words(max_fds) * sizeof(unsigned long);
}

static struct ks_fdtable *fdt_alloc(struct ks_tasks *t, unsigned int max_fds)
{
	struct ks_fdtable *fdt = ks_mem_zalloc(t->t_fdtable, fdt_size(max_fds));

	if (!fdt)
		return NULL;
	fdt->max_fds = max_fds;
	fdt->fd = (struct ks_file **)(fdt + 1);
	fdt->open_fds = (unsigned long *)(fdt->fd + max_fds);
	fdt->t = t;
	return fdt;
}

static void fdt_free(struct ks_fdtable *fdt)
{
	ks_mem_free(fdt->t->t_fdtable, fdt, fdt_size(fdt->max_fds));
}

static void fdt_free_rcu(struct ks_rcu_head *head)
{
	fdt_free(ks_container_of(head, struct ks_fdtable, rcu));
}

/* The size expand_fdtable() gives a table that must hold descriptor @nr. */
static unsigned int fdt_grow_size(const struct ks_tasks *t, unsigned int nr)
{
	unsigned int n = NR_OPEN_DEFAULT;

	while (n <= nr && n < t->nr_open)
		n *= 2;
	return n < t->nr_open ? n : t->nr_open;
}

int ks_files_new(struct ks_tasks *t, struct ks_files **out)
{
	struct ks_files *f = ks_mem_zalloc(t->t_files, sizeof(*f));

	if (!f)
		return -ENOMEM;
	f->fdt = fdt_alloc(t, NR_OPEN_DEFAULT < t->nr_open ? NR_OPEN_DEFAULT : t->nr_open);
	if (!f->fdt) {
		ks_mem_free(t->t_files, f, sizeof(*f));
		return -ENOMEM;
	}
	ks_spin_init(&f->file_lock, t->c_file);
	f->count = 1;
	f->t = t;
	KS_TASKS_COUNT(t, files_tables, 1);
	*out = f;
	return 0;
}

void ks_files_get(struct ks_files *f)
{
	__atomic_add_fetch(&f->count, 1, __ATOMIC_RELAXED);
}

static void file_free_rcu(struct ks_rcu_head *head)
{
	struct ks_file *file = ks_container_of(head, struct ks_file, rcu);

	ks_mem_free(file->t->t_file, file, sizeof(*file) + file->len + 1);
}

/* fput(): the last reference frees the file after a grace period. */
static void fput(struct ks_file *file)
{
	struct ks_tasks *t = file->t;

	if (__atomic_sub_fetch(&file->f_count, 1, __ATOMIC_ACQ_REL))
		return;
	KS_TASKS_COUNT(t, open_files, -1);
	ks_call_rcu(&file->rcu, file_free_rcu); /* callers are registered */
}

static void files_free_rcu(struct ks_rcu_head *head)
{
	struct ks_files *f = ks_container_of(head, struct ks_files, rcu);
	struct ks_tasks *t = f->t;

	fdt_free(f->fdt);
	ks_spin_destroy(&f->file_lock);
	ks_mem_free(t->t_files, f, sizeof(*f));
}

/*
 * put_files_struct(): the last user closes every file (close_files()); the
 * table and the struct are freed after a grace period, for lock-free
 * readers that loaded task->files before exit_files() cleared it.
 */
void ks_files_put(struct ks_files *f)
{
	struct ks_fdtable *fdt;
	unsigned int i;

	if (__atomic_sub_fetch(&f->count, 1, __ATOMIC_ACQ_REL))
		return;
	fdt = f->fdt; /* last user: nobody can replace it */
	for (i = 0; i < fdt->max_fds; i++) {
		struct ks_file *file = __atomic_exchange_n(&fdt->fd[i], NULL, __ATOMIC_ACQ_REL);

		if (file)
			fput(file);
	}
	__atomic_store_n(&f->nr_fds, 0, __ATOMIC_RELAXED);
	KS_TASKS_COUNT(f->t, files_tables, -1);
	ks_call_rcu(&f->rcu, files_free_rcu);
}

/*
 * dup_fd(): a copy of @old sharing its open files. The new table is sized
 * outside file_lock; if @old grew meanwhile, try again (as dup_fd()'s loop).
 */
int ks_files_dup(struct ks_files *old, struct ks_files **out)
{
	struct ks_tasks *t = old->t;
	struct ks_fdtable *ofdt, *nfdt;
	struct ks_files *nf;
	unsigned int i, max;
	int r;

	r = ks_files_new(t, &nf);
	if (r)
		return r;
	for (;;) {
		ks_spin_lock(&old->file_lock);
		ofdt = old->fdt;
		if (ofdt->max_fds <= nf->fdt->max_fds)
			break;
		max = ofdt->max_fds;
		ks_spin_unlock(&old->file_lock);
		nfdt = fdt_alloc(t, max);
		if (!nfdt) {
			ks_files_put(nf);
			return -ENOMEM;
		}
		fdt_free(nf->fdt);
		nf->fdt = nfdt;
	}
	nfdt = nf->fdt;
	for (i = 0; i < ofdt->max_fds; i++) {
		struct ks_file *file = __atomic_load_n(&ofdt->fd[i], __ATOMIC_RELAXED);

		if (!file)
			continue;
		__atomic_add_fetch(&file->f_count, 1, __ATOMIC_RELAXED);
		nfdt->fd[i] = file;
		nfdt->open_fds[i / BITS_PER_LONG] |= 1UL << (i % BITS_PER_LONG);
	}
	nf->next_fd = old->next_fd;
	nf->nr_fds = __atomic_load_n(&old->nr_fds, __ATOMIC_RELAXED);
	ks_spin_unlock(&old->file_lock);
	*out = nf;
	return 0;
}

/* find_next_zero_bit() over open_fds from @start; max_fds when full. */
static unsigned int find_next_free(const struct ks_fdtable *fdt, unsigned int start)
{
	unsigned int i;

	for (i = start; i < fdt->max_fds; i++) {
		unsigned long w = fdt->open_fds[i / BITS_PER_LONG];

		if (w == ~0UL && !(i % BITS_PER_LONG)) {
			i += BITS_PER_LONG - 1;
			continue;
		}
		if (!(w & (1UL << (i % BITS_PER_LONG))))
			return i;
	}
	return fdt->max_fds;
}

/*
 * expand_fdtable(): called and returns with file_lock held, drops it to
 * allocate. The new table is published with a release store; the old one
 * is freed after a grace period, for lock-free readers still on it.
 */
static int expand_fdtable(struct ks_files *f, unsigned int nr)
{
	struct ks_tasks *t = f->t;
	struct ks_fdtable *nfdt, *ofdt;
	unsigned int size = fdt_grow_size(t, nr);

	ks_spin_unlock(&f->file_lock);
	nfdt = fdt_alloc(t, size);
	ks_spin_lock(&f->file_lock);
	if (!nfdt)
		return -ENOMEM;
	ofdt = f->fdt;
	if (ofdt->max_fds >= size) { /* someone grew it meanwhile */
		fdt_free(nfdt);
		return 0;
	}
	memcpy(nfdt->fd, ofdt->fd, ofdt->max_fds * sizeof(*ofdt->fd));
	memcpy(nfdt->open_fds, ofdt->open_fds, fdt_words(ofdt->max_fds) * sizeof(unsigned long));
	ks_rcu_assign_pointer(f->fdt, nfdt);
	ks_call_rcu(&ofdt->rcu, fdt_free_rcu);
	return 0;
}

/* task_lock(task) and take a reference on its files table. */
static struct ks_files *get_files(struct ks_task *task)
{
	struct ks_files *f;

	ks_spin_lock(&task->alloc_lock);
	f = task->files;
	if (f)
		ks_files_get(f);
	ks_spin_unlock(&task->alloc_lock);
	return f;
}

int ks_task_open(struct ks_task *task, const char *path, int oflags, int *fd)
{
	struct ks_tasks *t;
	struct ks_fdtable *fdt;
	struct ks_files *f;
	struct ks_file *file;
	unsigned int nr;
	size_t len;
	int r = 0;

	if (!task || !path || !fd || oflags < KS_O_RDONLY || oflags > KS_O_RDWR)
		return -EINVAL;
	len = strnlen(path, KS_PATH_MAX + 1);
	if (!len)
		return -EINVAL;
	if (len > KS_PATH_MAX)
		return -ENAMETOOLONG;
	if (!ks_rcu_thread_registered())
		return -EPERM;
	t = task->t;
	f = get_files(task);
	if (!f)
		return -ESRCH;
	file = ks_mem_alloc(t->t_file, sizeof(*file) + len + 1);
	if (!file) {
		ks_files_put(f);
		return -ENOMEM;
	}
	file->f_count = 1;
	file->f_mode = oflags == KS_O_RDONLY ? KS_FMODE_READ :
		       oflags == KS_O_WRONLY ? KS_FMODE_WRITE : KS_FMODE_READ | KS_FMODE_WRITE;
	file->len = len;
	file->t = t;
	memcpy(file->path, path, len + 1);
	KS_TASKS_COUNT(t, open_files, 1);

	/* alloc_fd() */
	ks_spin_lock(&f->file_lock);
	for (;;) {
		fdt = f->fdt;
		nr = find_next_free(fdt, f->next_fd);
		if (nr < fdt->max_fds)
			break;
		if (nr >= t->nr_open) {
			r = -EMFILE;
			break;
		}
		r = expand_fdtable(f, nr);
		if (r)
			break;
	}
	if (!r) {
		fdt->open_fds[nr / BITS_PER_LONG] |= 1UL << (nr % BITS_PER_LONG);
		f->next_fd = nr + 1;
		__atomic_add_fetch(&f->nr_fds, 1, __ATOMIC_RELAXED);
		/* fd_install(): rcu_assign_pointer() */
		__atomic_store_n(&fdt->fd[nr], file, __ATOMIC_RELEASE);
	}
	ks_spin_unlock(&f->file_lock);
	ks_files_put(f);
	if (r) {
		fput(file);
		return r;
	}
	*fd = (int)nr;
	return 0;
}

int ks_task_close(struct ks_task *task, int fd)
{
	struct ks_fdtable *fdt;
	struct ks_files *f;
	struct ks_file *file = NULL;

	if (!task)
		return -EINVAL;
	if (fd < 0)
		return -EBADF;
	if (!ks_rcu_thread_registered())
		return -EPERM;
	f = get_files(task);
	if (!f)
		return -ESRCH;
	ks_spin_lock(&f->file_lock);
	fdt = f->fdt;
	if ((unsigned int)fd < fdt->max_fds)
		file = __atomic_load_n(&fdt->fd[fd], __ATOMIC_RELAXED);
	if (file) {
		__atomic_store_n(&fdt->fd[fd], NULL, __ATOMIC_RELEASE);
		fdt->open_fds[fd / BITS_PER_LONG] &= ~(1UL << (fd % BITS_PER_LONG));
		if ((unsigned int)fd < f->next_fd)
			f->next_fd = fd;
		__atomic_sub_fetch(&f->nr_fds, 1, __ATOMIC_RELAXED);
	}
	ks_spin_unlock(&f->file_lock);
	ks_files_put(f);
	if (!file)
		return -EBADF;
	fput(file);
	return 0;
}

int ks_task_unshare_files(struct ks_task *task)
{
	struct ks_files *f, *nf, *old;
	int r;

	if (!task)
		return -EINVAL;
	if (!ks_rcu_thread_registered())
		return -EPERM;
	f = get_files(task);
	if (!f)
		return -ESRCH;
	/* unshare_fd(): only a shared table is copied (our reference aside) */
	if (__atomic_load_n(&f->count, __ATOMIC_ACQUIRE) <= 2) {
		ks_files_put(f);
		return 0;
	}
	r = ks_files_dup(f, &nf);
	ks_files_put(f);
	if (r)
		return r;
	ks_spin_lock(&task->alloc_lock);
	old = task->files;
	if (old)
		ks_rcu_assign_pointer(task->files, nf);
	ks_spin_unlock(&task->alloc_lock);
	if (!old) { /* exited meanwhile */
		ks_files_put(nf);
		return -ESRCH;
	}
	ks_files_put(old);
	return 0;
}

/*
 * Whether @f is still @task's table after a lock-free read of it. The kernel
 * reads task->files under task_lock(), so unshare_fd() cannot swap it in
 * the middle; here a reader may have loaded a table that was swapped out
 * and then closed by its last user (put_files_struct() empties it), and
 * would see descriptors vanish. A table that is still task->files holds
 * the task's reference, so nothing emptied it: what was read stands.
 */
static bool files_unchanged(const struct ks_task *task, const struct ks_files *f)
{
	return __atomic_load_n(&task->files, __ATOMIC_ACQUIRE) == f;
}

/*
 * The file at @fd or the next open one, lock-free: the caller is inside a
 * read-side section, so task->files, the fdtable and the files stay valid.
 */
static struct ks_file *next_file_rcu(struct ks_task *task, unsigned int *fd)
{
	struct ks_fdtable *fdt;
	struct ks_file *file;
	struct ks_files *f;
	unsigned int i;

	do {
		f = ks_rcu_dereference(task->files);
		if (!f)
			return NULL;
		fdt = ks_rcu_dereference(f->fdt);
		file = NULL;
		for (i = *fd; i < fdt->max_fds && !file; i++)
			file = __atomic_load_n(&fdt->fd[i], __ATOMIC_ACQUIRE);
	} while (!files_unchanged(task, f));
	if (file)
		*fd = i - 1;
	return file;
}

int ks_task_next_fd(struct ks_task *task, int fd, unsigned int *f_mode)
{
	struct ks_file *file;
	unsigned int nr = (unsigned int)fd;

	if (!task || fd < 0)
		return -EINVAL;
	if (ks_rcu_read_lock())
		return -EPERM;
	file = next_file_rcu(task, &nr);
	if (file && f_mode)
		*f_mode = file->f_mode;
	ks_rcu_read_unlock();
	return file ? (int)nr : -ENOENT;
}

/* files_lookup_fd_rcu(): the file at @fd, under RCU. */
static struct ks_file *lookup_fd_rcu(struct ks_task *task, unsigned int fd)
{
	struct ks_fdtable *fdt;
	struct ks_file *file;
	struct ks_files *f;

	do {
		f = ks_rcu_dereference(task->files);
		if (!f)
			return NULL;
		fdt = ks_rcu_dereference(f->fdt);
		file = fd < fdt->max_fds ? __atomic_load_n(&fdt->fd[fd], __ATOMIC_ACQUIRE) : NULL;
	} while (!files_unchanged(task, f));
	return file;
}

int ks_task_fd_path(struct ks_task *task, int fd, char *buf, size_t len, unsigned int *f_mode)
{
	struct ks_file *file;
	int r;

	if (!task || fd < 0 || (!buf && len))
		return -EINVAL;
	if (ks_rcu_read_lock())
		return -EPERM;
	file = lookup_fd_rcu(task, (unsigned int)fd);
	if (!file) {
		r = -ENOENT;
	} else if (buf && len <= file->len) {
		r = -ERANGE;
	} else {
		if (buf)
			memcpy(buf, file->path, file->len + 1);
		if (f_mode)
			*f_mode = file->f_mode;
		r = (int)file->len;
	}
	ks_rcu_read_unlock();
	return r;
}

int ks_task_nr_fds(struct ks_task *task)
{
	struct ks_files *f;
	int n = 0;

	if (!task)
		return -EINVAL;
	if (ks_rcu_read_lock())
		return -EPERM;
	do {
		f = ks_rcu_dereference(task->files);
		n = f ? __atomic_load_n(&f->nr_fds, __ATOMIC_ACQUIRE) : 0;
	} while (f && !files_unchanged(task, f));
	ks_rcu_read_unlock();
	return n;
}

const void *ks_task_files_id(const struct ks_task *task)
{
	return task ? __atomic_load_n(&task->files, __ATOMIC_ACQUIRE) : NULL;
}
