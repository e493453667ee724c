// SPDX-License-Identifier: MIT
/*
 * task: processes, threads, files tables and the exit order. Every body
 * runs for two pid strategies ("idr-relock", "pcpu-range").
 */
#include "ks_test.h"

#include <kscale/mm.h>
#include <kscale/pid.h>
#include <kscale/task.h>

#include <errno.h>
#include <string.h>

#define STRAT(state) ((const char *)*(state))

struct tenv {
	struct ks_test_env env;
	struct ks_tasks *t;
	int hook_id;
	int exits, releases, frees;
	int release_saw_listed; /* a release hook found its task on the list */
};

static void on_exit_hook(struct ks_task *task, void *arg)
{
	struct tenv *e = arg;

	/* exit_files() ran already: the fd table is empty */
	assert_int_equal(ks_task_nr_fds(task), 0);
	assert_int_equal(ks_task_next_fd(task, 0, NULL), -ENOENT);
	__atomic_add_fetch(&e->exits, 1, __ATOMIC_RELAXED);
}

static void on_release_hook(struct ks_task *task, void *arg)
{
	struct tenv *e = arg;
	struct ks_task *found;

	assert_true(ks_task_flags(task) & KS_TASK_DEAD);
	if (ks_task_from_pid(ks_task_pid(task), 1, &found) == 0) {
		e->release_saw_listed++;
		ks_task_put(found);
	}
	__atomic_add_fetch(&e->releases, 1, __ATOMIC_RELAXED);
}

static void on_free_hook(struct ks_task *task, void *arg)
{
	struct tenv *e = arg;

	(void)task;
	__atomic_add_fetch(&e->frees, 1, __ATOMIC_RELAXED);
}

static const struct ks_task_hooks hooks = {
	.exit = on_exit_hook,
	.release = on_release_hook,
	.free = on_free_hook,
};

static void tenv_init(struct tenv *e, const char *strategy, const char *topo, unsigned int nr_open)
{
	struct ks_tasks_opts o = {0};

	memset(e, 0, sizeof(*e));
	ks_test_env_init(&e->env, topo);
	o.topo = e->env.topo;
	o.locks = e->env.locks;
	o.mem = e->env.mem;
	o.pid_strategy = strategy;
	o.nr_open = nr_open;
	assert_int_equal(ks_tasks_create(&o, &e->t), 0);
	assert_int_equal(ks_tasks_add_hooks(e->t, &hooks, e, &e->hook_id), 0);
}

static void tenv_fini(struct tenv *e)
{
	assert_int_equal(ks_tasks_destroy(e->t), 0);
	ks_test_env_fini(&e->env);
}

static struct ks_tasks_stats tstats(struct tenv *e)
{
	struct ks_tasks_stats st;

	assert_int_equal(ks_tasks_stats(e->t, &st), 0);
	return st;
}

static void test_process_lifecycle(void **state)
{
	struct tenv e;
	struct ks_task *p, *th, *found, *l;
	struct ks_tasks_stats st;
	struct ks_mm *mm;
	int code = 0, fd;

	tenv_init(&e, STRAT(state), ks_test_topologies[1], 0);
	assert_int_equal(ks_task_clone(e.t, NULL, 0, &p), 0);
	assert_int_equal(ks_tasks_add_hooks(e.t, &hooks, &e, NULL), -EBUSY);
	assert_int_equal(ks_task_clone(e.t, p, KS_CLONE_VM | KS_CLONE_FILES | KS_CLONE_THREAD, &th),
			 0);
	assert_int_equal(ks_task_tgid(th), ks_task_tid(p));
	assert_int_not_equal(ks_task_tid(th), ks_task_tid(p));
	assert_true(ks_task_flags(p) & KS_TASK_LEADER);
	assert_false(ks_task_flags(th) & KS_TASK_LEADER);
	assert_int_equal(ks_task_nr_threads(p), 2);
	assert_ptr_equal(ks_task_files_id(p), ks_task_files_id(th));
	assert_int_equal(ks_task_find(e.t, ks_task_tid(th), &found), 0);
	assert_ptr_equal(found, th);
	assert_int_equal(ks_task_put(found), 0);
	assert_int_equal(ks_task_leader(th, &l), 0);
	assert_ptr_equal(l, p);
	assert_int_equal(ks_task_put(l), 0);

	assert_int_equal(ks_task_mm(th, &mm), 0);
	assert_int_equal(ks_mm_owners(mm), 1);
	assert_int_equal(ks_mm_map(mm, 4 * KS_PAGE_SIZE, 0, NULL, NULL), 0);
	assert_int_equal(ks_mmput(mm), 0);

	assert_int_equal(ks_task_open(th, "/dev/null", KS_O_RDWR, &fd), 0);
	assert_int_equal(fd, 0);
	assert_int_equal(ks_task_nr_fds(p), 1);
	st = tstats(&e);
	assert_int_equal(st.processes, 1);
	assert_int_equal(st.threads, 2);
	assert_int_equal(st.open_files, 1);

	/* the leader exits first: a zombie until the thread is released */
	assert_int_equal(ks_task_exit(p, 7), 0);
	assert_int_equal(ks_task_exit(p, 7), -ESRCH);
	assert_true(ks_task_flags(p) & KS_TASK_ZOMBIE);
	assert_int_equal(ks_task_nr_fds(p), 0);
	assert_int_equal(ks_task_nr_fds(th), 1); /* the thread still holds the table */
	assert_int_equal(ks_task_reap(p, &code), -EAGAIN);
	assert_int_equal(ks_task_find_mm(p, &mm), 0); /* through the thread */
	assert_int_equal(ks_mmdrop(mm), 0);
	assert_int_equal(ks_task_exit(th, 0), 0);
	assert_true(ks_task_flags(th) & KS_TASK_DEAD);
	assert_int_equal(e.releases, 1);
	assert_int_equal(ks_task_find(e.t, ks_task_tid(th), &found), -ESRCH);
	assert_int_equal(ks_task_find_mm(p, &mm), -ESRCH);
	assert_int_equal(ks_task_reap(p, &code), 0);
	assert_int_equal(code, 7);
	assert_int_equal(ks_task_reap(p, &code), -ECHILD);
	assert_int_equal(e.releases, 2);
	assert_int_equal(e.exits, 2);
	assert_int_equal(e.release_saw_listed, 0);
	st = tstats(&e);
	assert_int_equal(st.processes, 0);
	assert_int_equal(st.threads, 0);
	assert_int_equal(st.zombies, 0);
	assert_int_equal(st.open_files, 0);
	assert_int_equal(st.files_tables, 0);
	assert_int_equal(ks_tasks_destroy(e.t), -EBUSY); /* structs still held */
	assert_int_equal(ks_task_put(th), 0);
	assert_int_equal(ks_task_put(p), 0);
	tenv_fini(&e);
	assert_int_equal(e.frees, 2);
}

static void test_files(void **state)
{
	struct tenv e;
	struct ks_task *p, *c, *s;
	char buf[64];
	unsigned int mode;
	int fd, i;

	tenv_init(&e, STRAT(state), ks_test_topologies[0], 100);
	assert_int_equal(ks_task_clone(e.t, NULL, 0, &p), 0);
	for (i = 0; i < 100; i++) {
		assert_int_equal(ks_task_open(p, "/tmp/x", i % 3, &fd), 0);
		assert_int_equal(fd, i);
	}
	assert_int_equal(ks_task_open(p, "/tmp/x", 0, &fd), -EMFILE);
	assert_int_equal(ks_task_close(p, 42), 0);
	assert_int_equal(ks_task_close(p, 42), -EBADF);
	assert_int_equal(ks_task_close(p, -1), -EBADF);
	assert_int_equal(ks_task_close(p, 100000), -EBADF);
	assert_int_equal(ks_task_close(p, 7), 0);
	assert_int_equal(ks_task_next_fd(p, 7, &mode), 8);
	assert_int_equal(mode, KS_FMODE_WRITE | KS_FMODE_READ);
	assert_int_equal(ks_task_open(p, "/etc/passwd", KS_O_WRONLY, &fd), 0);
	assert_int_equal(fd, 7);
	assert_int_equal(ks_task_fd_path(p, 7, buf, sizeof(buf), &mode), 11);
	assert_string_equal(buf, "/etc/passwd");
	assert_int_equal(mode, KS_FMODE_WRITE);
	assert_int_equal(ks_task_fd_path(p, 7, NULL, 0, NULL), 11);
	assert_int_equal(ks_task_fd_path(p, 7, buf, 11, NULL), -ERANGE);
	assert_int_equal(ks_task_fd_path(p, 42, buf, sizeof(buf), NULL), -ENOENT);
	assert_int_equal(ks_task_fd_path(p, 7, NULL, 5, NULL), -EINVAL);
	assert_int_equal(ks_task_nr_fds(p), 99);

	/* copy vs share vs unshare */
	assert_int_equal(ks_task_clone(e.t, p, 0, &c), 0);
	assert_ptr_not_equal(ks_task_files_id(c), ks_task_files_id(p));
	assert_int_equal(ks_task_nr_fds(c), 99);
	assert_int_equal(ks_task_close(c, 0), 0);
	assert_int_equal(ks_task_nr_fds(p), 99);
	assert_int_equal(ks_task_clone(e.t, p, KS_CLONE_VM | KS_CLONE_FILES | KS_CLONE_THREAD, &s),
			 0);
	assert_ptr_equal(ks_task_files_id(s), ks_task_files_id(p));
	assert_int_equal(ks_task_close(s, 1), 0);
	assert_int_equal(ks_task_nr_fds(p), 98);
	assert_int_equal(ks_task_unshare_files(s), 0);
	assert_ptr_not_equal(ks_task_files_id(s), ks_task_files_id(p));
	assert_int_equal(ks_task_close(s, 2), 0);
	assert_int_equal(ks_task_nr_fds(p), 98);
	assert_int_equal(ks_task_nr_fds(s), 97);
	assert_int_equal(ks_task_unshare_files(c), 0); /* not shared: unchanged */

	assert_int_equal(ks_task_exit(s, 0), 0);
	assert_int_equal(ks_task_open(s, "/x", 0, &fd), -ESRCH);
	assert_int_equal(ks_task_close(s, 3), -ESRCH);
	assert_int_equal(ks_task_unshare_files(s), -ESRCH);
	assert_int_equal(ks_task_exit(c, 0), 0);
	assert_int_equal(ks_task_exit(p, 0), 0);
	assert_int_equal(ks_task_reap(c, NULL), 0);
	assert_int_equal(ks_task_reap(p, NULL), 0);
	ks_task_put(s);
	ks_task_put(c);
	ks_task_put(p);
	tenv_fini(&e);
}

static void test_kill_and_owners(void **state)
{
	struct tenv e;
	struct ks_task *a, *a2, *b, *x;
	struct ks_mm *mm;

	tenv_init(&e, STRAT(state), ks_test_topologies[2], 0);
	assert_int_equal(ks_task_clone(e.t, NULL, 0, &a), 0);
	assert_int_equal(ks_task_clone(e.t, a, KS_CLONE_VM | KS_CLONE_THREAD, &a2), 0);
	assert_int_equal(ks_task_clone(e.t, a, KS_CLONE_VM, &b), 0); /* vfork-like */
	assert_int_equal(ks_task_mm(a, &mm), 0);
	assert_int_equal(ks_mm_owners(mm), 2);
	assert_ptr_equal(ks_task_mm_peek(b), mm);
	assert_int_equal(ks_task_kill(a2), 0);
	assert_int_equal(ks_task_kill(a), 0); /* again: no double drop */
	assert_int_equal(ks_mm_owners(mm), 1);
	assert_true(ks_task_flags(a) & KS_TASK_SIGKILL);
	assert_true(ks_task_flags(a2) & KS_TASK_GROUP_EXIT);
	assert_int_equal(ks_task_clone(e.t, a, KS_CLONE_VM | KS_CLONE_THREAD, &x), -ESRCH);
	assert_int_equal(ks_task_exit(a2, 0), 0);
	assert_int_equal(ks_task_exit(a, 0), 0);
	assert_int_equal(ks_mm_owners(mm), 1);
	assert_int_equal(ks_task_kill(a), -ESRCH);
	assert_int_equal(ks_task_set_coredump(b, 1), 0);
	assert_true(ks_task_flags(b) & KS_TASK_COREDUMP);
	assert_int_equal(ks_task_set_coredump(b, 0), 0);
	assert_int_equal(ks_task_exit(b, 0), 0); /* last thread leaves the mm */
	assert_int_equal(ks_mm_owners(mm), 0);
	assert_int_equal(ks_mm_flags(mm) & KS_MMF_OOM_SKIP, 0);
	assert_int_equal(ks_mmput(mm), 0);
	assert_int_equal(ks_task_reap(a, NULL), 0);
	assert_int_equal(ks_task_reap(b, NULL), 0);
	assert_int_equal(ks_task_set_coredump(b, 1), -ESRCH);
	ks_task_put(a);
	ks_task_put(a2);
	ks_task_put(b);
	tenv_fini(&e);
}

static void test_bad_args(void **state)
{
	struct tenv e;
	struct ks_task *p, *out;
	struct ks_tasks_stats st;
	struct ks_mm *mm;
	int fd;

	tenv_init(&e, STRAT(state), ks_test_topologies[0], 0);
	assert_int_equal(ks_tasks_create(NULL, NULL), -EINVAL);
	{
		struct ks_tasks_opts o = {.pid_strategy = "nope"};
		struct ks_tasks *t2;

		assert_int_equal(ks_tasks_create(&o, &t2), -ENOENT);
	}
	assert_int_equal(ks_tasks_destroy(NULL), -EINVAL);
	assert_int_equal(ks_tasks_add_hooks(NULL, &hooks, NULL, NULL), -EINVAL);
	assert_int_equal(ks_tasks_add_hooks(e.t, NULL, NULL, NULL), -EINVAL);
	assert_null(ks_tasks_pid_ns(NULL));
	assert_null(ks_tasks_mem(NULL));
	assert_int_equal(ks_tasks_stats(NULL, &st), -EINVAL);
	assert_int_equal(ks_tasks_stats(e.t, NULL), -EINVAL);
	assert_int_equal(ks_task_clone(NULL, NULL, 0, &out), -EINVAL);
	assert_int_equal(ks_task_clone(e.t, NULL, 0, NULL), -EINVAL);
	assert_int_equal(ks_task_clone(e.t, NULL, KS_CLONE_VM, &out), -EINVAL);
	assert_int_equal(ks_task_clone(e.t, NULL, 0, &p), 0);
	assert_int_equal(ks_task_clone(e.t, p, 0x1, &out), -EINVAL);
	assert_int_equal(ks_task_clone(e.t, p, KS_CLONE_THREAD, &out), -EINVAL);
	assert_int_equal(ks_task_exit(NULL, 0), -EINVAL);
	assert_int_equal(ks_task_kill(NULL), -EINVAL);
	assert_int_equal(ks_task_set_coredump(NULL, 1), -EINVAL);
	assert_int_equal(ks_task_reap(NULL, NULL), -EINVAL);
	assert_int_equal(ks_task_reap(p, NULL), -EAGAIN);
	assert_int_equal(ks_task_get(NULL), -EINVAL);
	assert_int_equal(ks_task_put(NULL), -EINVAL);
	assert_int_equal(ks_task_find(NULL, 1, &out), -EINVAL);
	assert_int_equal(ks_task_find(e.t, 0, &out), -EINVAL);
	assert_int_equal(ks_task_find(e.t, 99999, &out), -ESRCH);
	assert_int_equal(ks_task_from_pid(NULL, 1, &out), -EINVAL);
	assert_int_equal(ks_task_from_pid(ks_task_pid(p), 0, &out), -EPERM);
	assert_null(ks_task_pid(NULL));
	assert_int_equal(ks_task_tid(NULL), -EINVAL);
	assert_int_equal(ks_task_tgid(NULL), -EINVAL);
	assert_int_equal(ks_task_flags(NULL), -EINVAL);
	assert_null(ks_task_tasks(NULL));
	assert_int_equal(ks_task_leader(NULL, &out), -EINVAL);
	assert_int_equal(ks_task_nr_threads(NULL), -EINVAL);
	assert_int_equal(ks_task_next_thread(NULL, NULL, &out), -EINVAL);
	assert_null(ks_task_hook_data(NULL, 0));
	assert_null(ks_task_hook_data(p, 1));
	assert_non_null(ks_task_hook_data(p, e.hook_id));
	assert_int_equal(ks_task_mm(NULL, &mm), -EINVAL);
	assert_int_equal(ks_task_find_mm(p, NULL), -EINVAL);
	assert_null(ks_task_mm_peek(NULL));
	assert_int_equal(ks_task_open(NULL, "/a", 0, &fd), -EINVAL);
	assert_int_equal(ks_task_open(p, "", 0, &fd), -EINVAL);
	assert_int_equal(ks_task_open(p, "/a", 3, &fd), -EINVAL);
	{
		char longp[KS_PATH_MAX + 2];

		memset(longp, 'a', sizeof(longp) - 1);
		longp[KS_PATH_MAX + 1] = 0;
		assert_int_equal(ks_task_open(p, longp, 0, &fd), -ENAMETOOLONG);
	}
	assert_int_equal(ks_task_close(NULL, 0), -EINVAL);
	assert_int_equal(ks_task_unshare_files(NULL), -EINVAL);
	assert_int_equal(ks_task_next_fd(NULL, 0, NULL), -EINVAL);
	assert_int_equal(ks_task_next_fd(p, -1, NULL), -EINVAL);
	assert_int_equal(ks_task_fd_path(NULL, 0, NULL, 0, NULL), -EINVAL);
	assert_int_equal(ks_task_nr_fds(NULL), -EINVAL);
	assert_null(ks_task_files_id(NULL));
	assert_int_equal(ks_tasks_next_tgid(e.t, -1, &out), -EINVAL);
	assert_int_equal(ks_tasks_next_tgid(e.t, 0, &out), ks_task_tid(p));
	ks_task_put(out);
	assert_int_equal(ks_tasks_next_tgid(e.t, ks_task_tid(p) + 1, &out), -ENOENT);
	assert_int_equal(ks_tasks_destroy(e.t), -EBUSY);
	assert_int_equal(ks_task_exit(p, 0), 0);
	assert_int_equal(ks_task_reap(p, NULL), 0);
	ks_task_put(p);
	tenv_fini(&e);
}

#define T(fn)                                                                                      \
	cmocka_unit_test_prestate(fn, (void *)"idr-relock"),                                       \
		cmocka_unit_test_prestate(fn, (void *)"pcpu-range")

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_process_lifecycle),
		T(test_files),
		T(test_kill_and_owners),
		T(test_bad_args),
	};
	int r;

	if (ks_rcu_register_thread())
		return 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	ks_rcu_unregister_thread();
	return r;
}
