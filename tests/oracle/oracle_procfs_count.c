// SPDX-License-Identifier: MIT
/*
 * The real kernel as the oracle for how many entries a `find /proc/<pid>`
 * visits. A forked child gets T threads, N open descriptors in total and M
 * extra file-backed mappings (distinct, unmergeable pages of a temporary
 * file); the test walks /proc/<child> as find does (readdir + lstat, no
 * symlink followed, net/ listed but not descended: its entries are never
 * kept by the kernel), counting /proc/<child> itself and everything below.
 *
 * Checks, for every shape:
 *  - the child really has T threads (task/), and the walk's N and M are read
 *    back from fd/ and map_files/ (map_files/ also lists the executable,
 *    libc, ld.so and the sanitizer runtime: M is what the kernel shows);
 *  - the count equals procfs_expected_stock() (bench/workloads/
 *    procfs_formula.h) fed with the tables of this kernel, read from the
 *    child's own directories (E_g, E_t, and the attr/ and ns/ subtrees):
 *    the formula is derived, not assumed;
 *  - the same T, N, M built in the model with the `stock` layout
 *    (bench/workloads/procfs_common.c: the walker of procfs-find) walks to
 *    the same count, and the model's own tables (ks_procfs_table()) are the
 *    kernel's sizes: E_g, F_g, E_t, F_t equal;
 *  - every layout of the model walks to the count its formula gives
 *    (procw_expected(): stock, symlink, uncached-fd), and keeps the pairs
 *    it says; then the process exits and every pair is gone.
 *
 * Skips, saying why, where /proc is not Linux's procfs or where map_files/
 * cannot be listed (it needs CAP_SYS_ADMIN).
 */
#define _GNU_SOURCE
#include "ks_test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "workloads/procfs_common.h"

#define PROC_SUPER_MAGIC 0x9fa0

struct shape {
	int threads, fds, vmas;
};

static const struct shape shapes[] = {
	{1, 3, 0},   {1, 64, 4}, {1, 300, 16}, {4, 3, 16},   {4, 64, 0},
	{4, 300, 4}, {16, 3, 4}, {16, 64, 16}, {16, 300, 0},
};

struct walk {
	long entries, dirs, files, links, failures;
};

static int is_dot(const char *n)
{
	return n[0] == '.' && (!n[1] || (n[1] == '.' && !n[2]));
}

/* find(1) below @dfd (consumed): readdir + lstat, net/ not descended. */
static void real_walk(int dfd, struct walk *w)
{
	DIR *d = fdopendir(dfd);
	struct dirent *e;

	if (!d) {
		close(dfd);
		w->failures++;
		return;
	}
	while ((e = readdir(d))) {
		struct stat st;
		int c;

		if (is_dot(e->d_name))
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW)) {
			w->failures++;
			continue;
		}
		w->entries++;
		if (S_ISLNK(st.st_mode)) {
			w->links++;
		} else if (S_ISDIR(st.st_mode)) {
			w->dirs++;
			if (strcmp(e->d_name, "net")) {
				c = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY);
				if (c >= 0)
					real_walk(c, w);
				else
					w->failures++;
			}
		} else {
			w->files++;
		}
	}
	closedir(d);
}

/* Entries listed in @path (not recursive); -errno when it cannot be read. */
static long real_list(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	long n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)))
		n += !is_dot(e->d_name);
	closedir(d);
	return n;
}

/* Entries below @path (recursive, as real_walk); -errno when unreadable. */
static long real_count(const char *path)
{
	struct walk w = {0};
	int fd = open(path, O_RDONLY | O_DIRECTORY);

	if (fd < 0)
		return -errno;
	real_walk(fd, &w);
	return w.failures ? -EIO : w.entries;
}

/*
 * The tables of this kernel, from one directory level (/proc/<pid> or
 * task/<tid>): @entries listed there, @fixed below its subdirectories other
 * than those whose size depends on T, N, M (fd, fdinfo, map_files, task)
 * and net (not walked).
 */
static int real_tables(const char *dir, uint64_t *entries, uint64_t *fixed)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char sub[512];
	long n;

	if (!d)
		return -errno;
	*entries = 0;
	*fixed = 0;
	while ((e = readdir(d))) {
		struct stat st;

		if (is_dot(e->d_name))
			continue;
		(*entries)++;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISDIR(st.st_mode))
			continue;
		if (!strcmp(e->d_name, "fd") || !strcmp(e->d_name, "fdinfo") ||
		    !strcmp(e->d_name, "map_files") || !strcmp(e->d_name, "task") ||
		    !strcmp(e->d_name, "net"))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
		n = real_count(sub);
		if (n < 0) {
			closedir(d);
			return (int)n;
		}
		*fixed += (uint64_t)n;
	}
	closedir(d);
	return 0;
}

static void *child_thread(void *arg)
{
	pthread_barrier_wait(arg);
	for (;;)
		pause();
	return NULL;
}

/* Open descriptors of the calling process. */
static int own_fds(void)
{
	long n = real_list("/proc/self/fd");

	return n < 0 ? -1 : (int)n - 1; /* opendir's own descriptor */
}

/*
 * The child: every descriptor closed but stdio and the pipe, @vmas pages of
 * @mapfd mapped (every other page, so no two mappings merge), descriptors
 * opened on /dev/null up to @fds in total, @threads - 1 more threads; then
 * it says "ready", closes the pipe (leaving exactly @fds) and sleeps until
 * killed.
 */
static void child_main(const struct shape *s, int mapfd, int wfd)
{
	pthread_barrier_t bar;
	long pg = sysconf(_SC_PAGESIZE);
	int i, n;

	for (i = 0; i < 3; i++)
		if (fcntl(i, F_GETFD) < 0 && open("/dev/null", O_RDWR) != i)
			_exit(10);
	/* out of the way first: either may sit on 3 or 4 */
	wfd = fcntl(wfd, F_DUPFD, 1000);
	mapfd = fcntl(mapfd, F_DUPFD, 1000);
	if (wfd < 0 || mapfd < 0)
		_exit(11);
	if (dup2(wfd, 3) != 3 || dup2(mapfd, 4) != 4)
		_exit(12);
	close_range(5, ~0U, 0);
	for (i = 0; i < s->vmas; i++)
		if (mmap(NULL, pg, PROT_READ, MAP_SHARED, 4, 2 * i * pg) == MAP_FAILED)
			_exit(13);
	close(4);
	n = own_fds();
	if (n < 0)
		_exit(14);
	for (; n < s->fds + 1; n++) /* + 1: the pipe, closed below */
		if (open("/dev/null", O_RDONLY) < 0)
			_exit(15);
	if (pthread_barrier_init(&bar, NULL, (unsigned int)s->threads))
		_exit(16);
	for (i = 1; i < s->threads; i++) {
		pthread_attr_t a;
		pthread_t t;

		pthread_attr_init(&a);
		pthread_attr_setstacksize(&a, 65536);
		if (pthread_create(&t, &a, child_thread, &bar))
			_exit(17);
	}
	pthread_barrier_wait(&bar);
	if (write(3, "r", 1) != 1)
		_exit(18);
	close(3);
	for (;;)
		pause();
}

struct real_result {
	struct walk w;
	uint64_t threads, fds, fdinfo, vmas;
	struct procfs_tables tab;
};

static const char *skip_reason(void)
{
	struct statfs sf;
	long n;

#if defined(__SANITIZE_THREAD__)
	/* TSan's runtime adds a thread of its own to every process we measure */
	return "built with ThreadSanitizer (its background thread is in /proc/<pid>/task)";
#endif
	if (statfs("/proc", &sf))
		return "cannot statfs /proc";
	if (sf.f_type != PROC_SUPER_MAGIC)
		return "/proc is not Linux's procfs";
	n = real_list("/proc/self/map_files");
	if (n < 0)
		return "/proc/self/map_files cannot be listed (needs CAP_SYS_ADMIN)";
	if (real_list("/proc/self/task") < 0)
		return "/proc/self/task cannot be listed";
	return NULL;
}

/* Fork the child of shape @s, measure it, kill it. Return 0 or -errno. */
static int real_measure(const struct shape *s, struct real_result *r)
{
	char tmpl[] = "/tmp/ks_oracle_procfs_XXXXXX", path[256], c;
	int p[2], mapfd, st, c_st;
	long pg = sysconf(_SC_PAGESIZE), n;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	mapfd = mkstemp(tmpl);
	if (mapfd < 0)
		return -errno;
	unlink(tmpl);
	if (ftruncate(mapfd, 2 * (s->vmas + 1) * pg) || pipe(p)) {
		close(mapfd);
		return -errno;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(mapfd);
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (pid == 0) {
		close(p[0]);
		child_main(s, mapfd, p[1]);
	}
	close(mapfd);
	close(p[1]);
	n = read(p[0], &c, 1) == 1 ? read(p[0], &c, 1) : -1; /* then EOF: pipe closed */
	close(p[0]);
	if (n != 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		return -ECHILD;
	}

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	r->w.entries = 1; /* /proc/<pid> itself */
	r->w.dirs = 1;
	real_walk(open(path, O_RDONLY | O_DIRECTORY), &r->w);
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	r->threads = (uint64_t)real_list(path);
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	r->fds = (uint64_t)real_list(path);
	snprintf(path, sizeof(path), "/proc/%d/fdinfo", (int)pid);
	r->fdinfo = (uint64_t)real_list(path);
	snprintf(path, sizeof(path), "/proc/%d/map_files", (int)pid);
	r->vmas = (uint64_t)real_list(path);
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	st = real_tables(path, &r->tab.tgid_entries, &r->tab.tgid_fixed);
	snprintf(path, sizeof(path), "/proc/%d/task/%d", (int)pid, (int)pid);
	if (!st)
		st = real_tables(path, &r->tab.tid_entries, &r->tab.tid_fixed);

	if (waitpid(pid, &c_st, WNOHANG) == pid)
		print_message("child gone early: status %#x\n", c_st);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return st;
}

/*
 * The model with the kernel's T, N and M: its tables must be the kernel's,
 * and every layout's walk must visit (and keep) what its formula says; the
 * stock walk must visit exactly what the real one did.
 */
static void model_check(const struct shape *s, const struct real_result *r)
{
	static const char *const layouts[] = {"stock", "symlink", "uncached-fd"};
	struct procfs_tables tab;

	assert_int_equal(procw_tables(&tab), 0);
	assert_int_equal(tab.tgid_entries, r->tab.tgid_entries);
	assert_int_equal(tab.tgid_fixed, r->tab.tgid_fixed);
	assert_int_equal(tab.tid_entries, r->tab.tid_entries);
	assert_int_equal(tab.tid_fixed, r->tab.tid_fixed);
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
		struct ks_test_env te;
		struct procw_env e;
		struct procw_walk w = {0};
		struct ks_procfs_stats before, after;

		ks_test_env_init(&te, "synthetic:core:2 pu:1");
		assert_int_equal(procw_env_build(layouts[i], "global", 0, te.topo, te.locks, te.mem,
						 r->threads, r->fds, r->vmas, &e),
				 0);
		assert_int_equal(procw_env_stats(&e, &before), 0);
		assert_int_equal(procw_find(&e, &w), 0);
		assert_int_equal(procw_env_stats(&e, &after), 0);
		print_message(
			"  model %-11s: walk %llu entries (%llu dirs, %llu files, %llu links), "
			"%lld pairs kept; formula %llu / %llu\n",
			layouts[i], (unsigned long long)w.entries, (unsigned long long)w.dirs,
			(unsigned long long)w.files, (unsigned long long)w.links,
			(long long)(after.dentries - before.dentries),
			(unsigned long long)e.expected_visited,
			(unsigned long long)e.expected_retained);
		if (!strcmp(layouts[i], "stock")) {
			assert_int_equal(w.entries, (uint64_t)r->w.entries);
			assert_int_equal(w.dirs, (uint64_t)r->w.dirs);
			assert_int_equal(w.files, (uint64_t)r->w.files);
			assert_int_equal(w.links, (uint64_t)r->w.links);
		}
		assert_int_equal(w.entries, e.expected_visited);
		assert_int_equal(after.dentries - before.dentries, e.expected_retained);
		assert_int_equal(after.inodes - before.inodes, e.expected_retained);
		assert_int_equal(procw_proc_exit_all(&e.proc), 0);
		assert_int_equal(procw_env_stats(&e, &after), 0);
		assert_int_equal(after.dentries, before.dentries);
		assert_int_equal(after.inodes, before.inodes);
		procw_env_destroy(&e);
		ks_test_env_fini(&te);
	}
}

static void test_count(void **state)
{
	const struct shape *s = *state;
	const char *why = skip_reason();
	struct real_result r;
	uint64_t expect;

	if (why) {
		print_message("skip: %s\n", why);
		skip();
	}
	assert_int_equal(real_measure(s, &r), 0);
	assert_int_equal(r.w.failures, 0);
	assert_int_equal(r.threads, s->threads);
	assert_int_equal(r.fds, s->fds);
	assert_int_equal(r.fdinfo, s->fds);
	/* the executable, libc, ld.so... are mapped before our own pages */
	assert_true(r.vmas >= (uint64_t)s->vmas);
	expect = procfs_expected_stock(&r.tab, r.threads, r.fds, r.vmas);
	print_message("T=%d N=%d M=%d (kernel M=%llu): walk %ld entries (%ld dirs, %ld files, "
		      "%ld links); tables E_g=%llu F_g=%llu E_t=%llu F_t=%llu, b_g=%llu b_t=%llu, "
		      "formula %llu\n",
		      s->threads, s->fds, s->vmas, (unsigned long long)r.vmas, r.w.entries,
		      r.w.dirs, r.w.files, r.w.links, (unsigned long long)r.tab.tgid_entries,
		      (unsigned long long)r.tab.tgid_fixed, (unsigned long long)r.tab.tid_entries,
		      (unsigned long long)r.tab.tid_fixed,
		      (unsigned long long)procfs_base_tgid(&r.tab),
		      (unsigned long long)procfs_base_tid(&r.tab), (unsigned long long)expect);
	assert_int_equal((uint64_t)r.w.entries, expect);
	model_check(s, &r);
}

int main(void)
{
	struct CMUnitTest tests[sizeof(shapes) / sizeof(shapes[0])];
	static char names[sizeof(shapes) / sizeof(shapes[0])][48];

	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		snprintf(names[i], sizeof(names[i]), "count T=%d N=%d M=%d", shapes[i].threads,
			 shapes[i].fds, shapes[i].vmas);
		tests[i] = (struct CMUnitTest)cmocka_unit_test_prestate(test_count,
									(void *)&shapes[i]);
		tests[i].name = names[i];
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
