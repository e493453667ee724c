// SPDX-License-Identifier: MIT
/*
 * The model's entry tables against the running kernel: names, order
 * (getdents() of a pid directory returns tgid_base_stuff[] /
 * tid_base_stuff[] in table order) and file types of /proc/self,
 * /proc/self/task/<tid>, attr/ and ns/, read at run time; and the model's
 * own readdir of the same directories in the `stock` layout. Skips with a
 * reason where /proc is not Linux's procfs or a directory is unreadable.
 * The tables depend on the kernel's config: a failure here on another
 * kernel says which names differ.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cmocka.h>

#include <kscale/dcache.h>
#include <kscale/procfs.h>
#include <kscale/rcu.h>
#include <kscale/task.h>

#include "ks_test.h"

#define PROC_SUPER_MAGIC 0x9fa0

struct real {
	char names[128][32];
	unsigned int types[128];
	int n;
};

static unsigned int dt_of(const char *dir, const struct dirent *de)
{
	char path[512];
	struct stat st;

	if (de->d_type != DT_UNKNOWN)
		return de->d_type;
	snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
	if (lstat(path, &st))
		return DT_UNKNOWN;
	return S_ISDIR(st.st_mode) ? DT_DIR : S_ISLNK(st.st_mode) ? DT_LNK : DT_REG;
}

/* getdents() order, "." and ".." left out. Return: 0, or -errno. */
static int read_real(const char *dir, struct real *r)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	memset(r, 0, sizeof(*r));
	if (!d)
		return -errno;
	while ((de = readdir(d)) && r->n < 128) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(r->names[r->n], sizeof(r->names[0]), "%.31s", de->d_name);
		r->types[r->n++] = dt_of(dir, de);
	}
	closedir(d);
	return 0;
}

static void skip_unless_linux_proc(void)
{
	struct statfs sf;

	if (statfs("/proc/self", &sf) || sf.f_type != PROC_SUPER_MAGIC) {
		print_message("skip: /proc is not Linux's procfs here\n");
		skip();
	}
}

static void compare(const char *dir, enum ks_procfs_table_id id)
{
	struct real r;
	size_t n;
	const struct ks_procfs_entry_info *t = ks_procfs_table(id, &n);
	int e = read_real(dir, &r);

	if (e) {
		print_message("skip: %s unreadable: %s\n", dir, strerror(-e));
		skip();
	}
	for (int i = 0; i < r.n || i < (int)n; i++) {
		const char *real = i < r.n ? r.names[i] : "(none)";
		const char *ours = i < (int)n ? t[i].name : "(none)";

		if (strcmp(real, ours))
			fail_msg("%s entry %d: kernel has %s, the model %s", dir, i, real, ours);
		if (r.types[i] != t[i].type)
			fail_msg("%s/%s: kernel type %u, the model %u", dir, real, r.types[i],
				 t[i].type);
	}
	assert_int_equal(r.n, (int)n);
}

static void test_tgid(void **state)
{
	(void)state;
	skip_unless_linux_proc();
	compare("/proc/self", KS_PROCFS_TGID);
}

static void test_tid(void **state)
{
	char dir[64];

	(void)state;
	skip_unless_linux_proc();
	snprintf(dir, sizeof(dir), "/proc/self/task/%d", (int)getpid());
	compare(dir, KS_PROCFS_TID);
}

static void test_attr(void **state)
{
	(void)state;
	skip_unless_linux_proc();
	compare("/proc/self/attr", KS_PROCFS_ATTR);
}

static void test_ns(void **state)
{
	(void)state;
	skip_unless_linux_proc();
	compare("/proc/self/ns", KS_PROCFS_NS);
}

/* net/ here differs between machines; the model's only has to be readable. */
static void test_net_top_level(void **state)
{
	struct real r;
	size_t n;

	(void)state;
	skip_unless_linux_proc();
	assert_non_null(ks_procfs_table(KS_PROCFS_NET, &n));
	if (read_real("/proc/self/net", &r)) {
		print_message("skip: /proc/self/net unreadable\n");
		skip();
	}
	print_message("net/: kernel %d entries, model %zu\n", r.n, n);
	assert_true(n > 0);
}

struct seen {
	char names[128][32];
	unsigned int types[128];
	int n;
};

static int seen_fn(const char *name, unsigned int type, uint64_t ino, struct ks_procfs_ent *ent,
		   void *arg)
{
	struct seen *s = arg;

	(void)ino;
	(void)ent;
	if (s->n < 128) {
		snprintf(s->names[s->n], sizeof(s->names[0]), "%s", name);
		s->types[s->n] = type;
	}
	s->n++;
	return 0;
}

/* The model's stock readdir of a live process equals the kernel's, in order. */
static void test_model_readdir(void **state)
{
	struct ks_test_env env;
	struct ks_tasks_opts to = { 0 };
	struct ks_procfs_opts po = { 0 };
	struct ks_tasks *t;
	struct ks_procfs *fs;
	struct ks_task *task;
	struct ks_procfs_ent *root, *pid;
	struct real r;
	struct seen s = { 0 };
	char name[16];

	(void)state;
	skip_unless_linux_proc();
	if (read_real("/proc/self", &r)) {
		print_message("skip: /proc/self unreadable\n");
		skip();
	}
	ks_test_env_init(&env, ks_test_topologies[0]);
	to.topo = env.topo;
	to.mem = env.mem;
	assert_int_equal(ks_tasks_create(&to, &t), 0);
	po.tasks = t;
	po.topo = env.topo;
	po.mem = env.mem;
	assert_int_equal(ks_procfs_create("stock", &po, &fs), 0);
	assert_int_equal(ks_task_clone(t, NULL, 0, &task), 0);
	assert_int_equal(ks_procfs_root(fs, &root), 0);
	snprintf(name, sizeof(name), "%d", ks_task_tgid(task));
	assert_int_equal(ks_procfs_lookup(root, name, &pid), 0);
	assert_int_equal(ks_procfs_readdir(pid, seen_fn, &s), 0);
	assert_int_equal(s.n, r.n);
	for (int i = 0; i < r.n; i++) {
		assert_string_equal(s.names[i], r.names[i]);
		assert_int_equal(s.types[i], r.types[i]);
	}
	assert_int_equal(ks_procfs_put(pid), 0);
	assert_int_equal(ks_procfs_put(root), 0);
	assert_int_equal(ks_task_exit(task, 0), 0);
	assert_int_equal(ks_task_reap(task, NULL), 0);
	assert_int_equal(ks_task_put(task), 0);
	assert_int_equal(ks_procfs_destroy(fs), 0);
	assert_int_equal(ks_tasks_destroy(t), 0);
	assert_int_equal(ks_rcu_barrier(), 0);
	ks_test_env_fini(&env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tgid),	      cmocka_unit_test(test_tid),
		cmocka_unit_test(test_attr),	      cmocka_unit_test(test_ns),
		cmocka_unit_test(test_net_top_level), cmocka_unit_test(test_model_readdir),
	};
	int r;

	if (ks_rcu_register_thread())
		return 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	ks_rcu_unregister_thread();
	return r;
}
