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
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
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


/* ---- exit order ----------------------------------------------------------- */

struct order {
	struct tenv *e;
	int released_tids[16];
	int nr;
};

static struct order *g_order;

static void order_release(struct ks_task *task, void *arg)
{
	struct order *o = arg;

	o->released_tids[o->nr++] = ks_task_tid(task);
}

static void order_free(struct ks_task *task, void *arg)
{
	int *slot_marks = *(int **)ks_task_hook_data(task, 1);

	(void)arg;
	if (slot_marks)
		(*slot_marks)++; /* counts frees per task: must end at exactly 1 */
}

static const struct ks_task_hooks order_hooks = { .release = order_release, .free = order_free };

static int count_leader(struct ks_task *leader, void *arg)
{
	int *n = arg;

	(*n)++;
	return 0;
}

static int stop_at_first(struct ks_task *leader, void *arg)
{
	(void)leader;
	(void)arg;
	return 42;
}

static void test_exit_order(void **state)
{
	struct tenv e;
	struct order o = {0};
	struct ks_task *p, *th[3], *found;
	struct ks_pid *pid;
	int frees[4] = {0}, id, i, n, nr_th, code, tids[4], fd;

	tenv_init(&e, STRAT(state), ks_test_topologies[2], 0);
	o.e = &e;
	g_order = &o;
	assert_int_equal(ks_tasks_add_hooks(e.t, &order_hooks, &o, &id), 0);
	assert_int_equal(id, 1);
	assert_int_equal(ks_task_clone(e.t, NULL, 0, &p), 0);
	*(int **)ks_task_hook_data(p, 1) = &frees[0];
	tids[0] = ks_task_tid(p);
	assert_int_equal(ks_task_open(p, "/a", KS_O_RDONLY, &fd), 0);
	for (i = 0; i < 3; i++) {
		unsigned long fl = KS_CLONE_VM | KS_CLONE_THREAD | (i ? KS_CLONE_FILES : 0);

		assert_int_equal(ks_task_clone(e.t, p, fl, &th[i]), 0);
		*(int **)ks_task_hook_data(th[i], 1) = &frees[i + 1];
		tids[i + 1] = ks_task_tid(th[i]);
		assert_int_equal(ks_task_tgid(th[i]), tids[0]);
	}
	assert_int_equal(ks_task_nr_threads(p), 4);
	n = 0;
	assert_int_equal(ks_tasks_for_each_process(e.t, count_leader, &n), 0);
	assert_int_equal(n, 1); /* leaders only */
	assert_int_equal(ks_tasks_for_each_process(e.t, stop_at_first, NULL), 42);
	/* next_tgid never returns a thread that is not a leader */
	assert_int_equal(ks_tasks_next_tgid(e.t, tids[0] + 1, &found), -ENOENT);

	/* thread 1 exits: it releases itself at once */
	assert_int_equal(ks_task_exit(th[1], 3), 0);
	assert_int_equal(e.exits, 1);
	assert_int_equal(e.releases, 1);
	assert_int_equal(o.nr, 1);
	assert_int_equal(o.released_tids[0], tids[2]);
	assert_true(ks_task_flags(th[1]) & KS_TASK_DEAD);
	assert_false(ks_task_flags(th[1]) & KS_TASK_ZOMBIE);
	assert_int_equal(ks_task_find(e.t, tids[2], &found), -ESRCH);
	assert_int_equal(ks_pid_lookup_get(ks_tasks_pid_ns(e.t), tids[2], &pid), -ENOENT);
	assert_int_equal(ks_task_from_pid(ks_task_pid(th[1]), 1, &found), -ESRCH);
	assert_int_equal(ks_task_nr_threads(p), 3);
	assert_int_equal(ks_task_kill(th[1]), -ESRCH); /* released */
	assert_int_equal(ks_task_exit(th[1], 0), -ESRCH);
	assert_int_equal(ks_task_open(th[1], "/b", 0, &fd), -ESRCH);
	assert_int_equal(ks_task_nr_fds(th[1]), 0);
	assert_int_equal(ks_task_next_fd(th[1], 0, NULL), -ENOENT);
	assert_null(ks_task_files_id(th[1]));
	assert_int_equal(ks_task_reap(th[0], NULL), -EINVAL); /* not a leader */

	/* the leader exits: a zombie, still listed and found */
	assert_int_equal(ks_task_exit(p, 9), 0);
	assert_int_equal(ks_tasks_stats(e.t, &(struct ks_tasks_stats){0}), 0);
	assert_int_equal(tstats(&e).zombies, 1);
	assert_true(ks_task_flags(p) & KS_TASK_ZOMBIE);
	assert_true(ks_task_flags(p) & KS_TASK_EXITING);
	assert_int_equal(ks_task_nr_fds(p), 0);
	assert_int_equal(ks_task_next_fd(p, 0, NULL), -ENOENT);
	assert_int_equal(ks_task_fd_path(p, 0, NULL, 0, NULL), -ENOENT);
	assert_null(ks_task_files_id(p));
	assert_int_equal(ks_task_nr_fds(th[0]), 1); /* its copy of the table lives */
	assert_int_equal(ks_task_find(e.t, tids[0], &found), 0);
	assert_ptr_equal(found, p);
	ks_task_put(found);
	assert_int_equal(ks_tasks_next_tgid(e.t, 0, &found), tids[0]);
	ks_task_put(found);
	assert_int_equal(ks_task_reap(p, &code), -EAGAIN);
	assert_int_equal(ks_task_clone(e.t, p, KS_CLONE_VM | KS_CLONE_THREAD, &found), -ESRCH);
	assert_int_equal(ks_task_clone(e.t, p, 0, &found), -ESRCH);

	/* the thread list: leader first while listed; -EAGAIN from a released prev */
	nr_th = 0;
	{
		struct ks_task *prev = NULL, *cur;

		while (ks_task_next_thread(p, prev, &cur) == 0) {
			if (!prev)
				assert_ptr_equal(cur, p);
			if (prev)
				ks_task_put(prev);
			prev = cur;
			nr_th++;
		}
		ks_task_put(prev);
	}
	assert_int_equal(nr_th, 3);
	assert_int_equal(ks_task_next_thread(p, th[1], &found), -EAGAIN);

	assert_int_equal(ks_task_exit(th[0], 0), 0);
	assert_int_equal(ks_task_reap(p, &code), -EAGAIN);
	assert_int_equal(ks_task_exit(th[2], 0), 0);
	assert_int_equal(o.nr, 3);
	assert_int_equal(ks_task_reap(p, &code), 0);
	assert_int_equal(code, 9);
	assert_int_equal(o.nr, 4);
	assert_int_equal(o.released_tids[3], tids[0]); /* the leader last */
	assert_int_equal(e.releases, 4);
	assert_int_equal(e.exits, 4);
	assert_int_equal(ks_task_next_thread(p, NULL, &found), -ENOENT);
	assert_int_equal(ks_task_kill(p), -ESRCH);
	n = 0;
	assert_int_equal(ks_tasks_for_each_process(e.t, count_leader, &n), 0);
	assert_int_equal(n, 0);

	/* free hooks: only after the last put and a grace period, once each */
	ks_rcu_barrier();
	for (i = 0; i < 4; i++)
		assert_int_equal(frees[i], 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(ks_task_put(th[i]), 0);
	ks_rcu_barrier();
	for (i = 0; i < 3; i++)
		assert_int_equal(frees[i + 1], 1);
	assert_int_equal(frees[0], 0); /* the threads pinned the leader */
	assert_int_equal(ks_task_put(p), 0);
	assert_int_equal(ks_tasks_destroy(e.t), 0);
	assert_int_equal(frees[0], 1);
	assert_int_equal(e.frees, 4);
	ks_test_env_fini(&e.env);
}

static void test_hooks(void **state)
{
	struct tenv e;
	struct ks_task *p;
	int id, i;

	tenv_init(&e, STRAT(state), ks_test_topologies[0], 0);
	assert_int_equal(e.hook_id, 0);
	for (i = 1; i < KS_TASK_MAX_HOOKS; i++) {
		assert_int_equal(ks_tasks_add_hooks(e.t, &(struct ks_task_hooks){0}, NULL, &id), 0);
		assert_int_equal(id, i);
	}
	assert_int_equal(ks_tasks_add_hooks(e.t, &hooks, NULL, &id), -ENOSPC);
	assert_int_equal(ks_task_clone(e.t, NULL, 0, &p), 0);
	for (i = 0; i < KS_TASK_MAX_HOOKS; i++) {
		void **slot = ks_task_hook_data(p, i);

		assert_non_null(slot);
		assert_null(*slot);
	}
	assert_null(ks_task_hook_data(p, KS_TASK_MAX_HOOKS));
	assert_null(ks_task_hook_data(p, -1));
	assert_ptr_not_equal(ks_task_hook_data(p, 0), ks_task_hook_data(p, 1));
	assert_int_equal(ks_task_exit(p, 0), 0);
	assert_int_equal(ks_task_reap(p, NULL), 0);
	assert_int_equal(ks_task_put(p), 0);
	tenv_fini(&e);
	assert_int_equal(e.frees, 1);

	/* hooks on a list that never had a task */
	tenv_init(&e, STRAT(state), ks_test_topologies[0], 0);
	assert_int_equal(ks_tasks_add_hooks(e.t, &hooks, &e, &id), 0);
	assert_int_equal(id, 1);
	tenv_fini(&e);
}

static void test_mm_rules(void **state)
{
	struct tenv e;
	struct ks_task *p, *th, *v;
	struct ks_mm *mm, *mm2, *m3;
	struct ks_mm_stats st;

	tenv_init(&e, STRAT(state), ks_test_topologies[1], 0);
	assert_int_equal(ks_task_clone(e.t, NULL, 0, &p), 0);
	assert_int_equal(ks_task_mm(p, &mm), 0);
	assert_int_equal(ks_mm_stats(mm, &st), 0);
	assert_int_equal(st.users, 2); /* the task's and ours */
	assert_int_equal(st.owners, 1);
	assert_int_equal(ks_mm_map(mm, 16 * KS_PAGE_SIZE, 0, NULL, NULL), 0);
	assert_int_equal(ks_task_clone(e.t, p, KS_CLONE_VM | KS_CLONE_THREAD, &th), 0);
	assert_int_equal(ks_mm_stats(mm, &st), 0);
	assert_int_equal(st.users, 3);
	assert_int_equal(st.owners, 1); /* a thread is no new owner */
	/* a fork without CLONE_VM: a new, empty mm (no copy) */
	assert_int_equal(ks_task_clone(e.t, p, 0, &v), 0);
	assert_int_equal(ks_task_mm(v, &mm2), 0);
	assert_ptr_not_equal(mm, mm2);
	assert_int_equal(ks_mm_stats(mm2, &st), 0);
	assert_int_equal(st.nr_vmas, 0);
	assert_int_equal(st.owners, 1);
	assert_int_equal(ks_mmput(mm2), 0);
	assert_int_equal(ks_task_exit(v, 0), 0);
	assert_int_equal(ks_task_mm(v, &mm2), -ESRCH);
	assert_int_equal(ks_task_find_mm(v, &mm2), -ESRCH);
	assert_null(ks_task_mm_peek(v));
	assert_int_equal(ks_task_reap(v, NULL), 0);
	ks_task_put(v);

	/* the leader leaves the mm; the thread still has it */
	assert_int_equal(ks_task_exit(p, 0), 0);
	assert_int_equal(ks_task_mm(p, &m3), -ESRCH);
	assert_int_equal(ks_task_find_mm(p, &m3), 0);
	assert_ptr_equal(m3, mm);
	assert_ptr_equal(ks_task_mm_peek(p), mm);
	assert_int_equal(ks_mmdrop(m3), 0);
	assert_int_equal(ks_mm_owners(mm), 1);
	assert_int_equal(ks_mm_stats(mm, &st), 0);
	assert_int_equal(st.users, 2);
	/* the last thread leaves: the owner goes; our reference keeps the pages */
	assert_int_equal(ks_task_exit(th, 0), 0);
	assert_int_equal(ks_mm_owners(mm), 0);
	assert_int_equal(ks_mm_stats(mm, &st), 0);
	assert_int_equal(st.users, 1);
	assert_int_equal(st.resident, 16);
	assert_false(st.flags & KS_MMF_OOM_SKIP);
	assert_int_equal(ks_mmgrab(mm), 0);
	assert_int_equal(ks_mmput(mm), 0); /* exit_mmap() here */
	assert_int_equal(ks_mm_stats(mm, &st), 0);
	assert_true(st.flags & KS_MMF_OOM_SKIP);
	assert_int_equal(st.resident, 0);
	assert_int_equal(ks_mmdrop(mm), 0);
	assert_int_equal(ks_task_reap(p, NULL), 0);
	ks_task_put(th);
	ks_task_put(p);
	tenv_fini(&e);
}

static void test_owners(void **state)
{
	struct tenv e;
	struct ks_task *a, *b, *c, *b2;
	struct ks_mm *mm;

	tenv_init(&e, STRAT(state), ks_test_topologies[2], 0);
	assert_int_equal(ks_task_clone(e.t, NULL, 0, &a), 0);
	assert_int_equal(ks_task_clone(e.t, a, KS_CLONE_VM, &b), 0);
	assert_int_equal(ks_task_clone(e.t, b, KS_CLONE_VM | KS_CLONE_FILES, &c), 0);
	assert_int_equal(ks_task_clone(e.t, b, KS_CLONE_VM | KS_CLONE_THREAD, &b2), 0);
	assert_int_equal(ks_task_mm(a, &mm), 0);
	assert_int_equal(ks_mm_owners(mm), 3);
	assert_ptr_equal(ks_task_files_id(c), ks_task_files_id(b));
	assert_ptr_not_equal(ks_task_files_id(b), ks_task_files_id(a));
	/* b's group: its leader exits, the thread still uses the mm */
	assert_int_equal(ks_task_exit(b, 0), 0);
	assert_int_equal(ks_mm_owners(mm), 3);
	assert_int_equal(ks_task_exit(b2, 0), 0);
	assert_int_equal(ks_mm_owners(mm), 2);
	assert_int_equal(ks_task_kill(b), -ESRCH); /* every thread exited */
	/* c is killed: the owner goes at the kill, not again at exit */
	assert_int_equal(ks_task_kill(c), 0);
	assert_int_equal(ks_mm_owners(mm), 1);
	assert_int_equal(ks_task_kill(c), 0);
	assert_int_equal(ks_task_exit(c, 0), 0);
	assert_int_equal(ks_mm_owners(mm), 1);
	assert_int_equal(ks_task_exit(a, 0), 0);
	assert_int_equal(ks_mm_owners(mm), 0);
	assert_int_equal(ks_task_kill(a), -ESRCH);
	assert_int_equal(ks_mm_owners(mm), 0);
	assert_int_equal(ks_mmput(mm), 0);
	assert_int_equal(ks_task_reap(a, NULL), 0);
	assert_int_equal(ks_task_reap(b, NULL), 0);
	assert_int_equal(ks_task_reap(c, NULL), 0);
	ks_task_put(a);
	ks_task_put(b);
	ks_task_put(b2);
	ks_task_put(c);
	tenv_fini(&e);
}

static void test_files_sharing(void **state)
{
	struct tenv e;
	struct ks_task *p, *t1, *t2, *t3;
	char buf[16];
	int fd;

	tenv_init(&e, STRAT(state), ks_test_topologies[1], 0);
	assert_int_equal(ks_task_clone(e.t, NULL, 0, &p), 0);
	assert_int_equal(ks_task_clone(e.t, p, KS_CLONE_VM | KS_CLONE_FILES | KS_CLONE_THREAD, &t1),
			 0);
	assert_int_equal(ks_task_clone(e.t, p, KS_CLONE_VM | KS_CLONE_FILES | KS_CLONE_THREAD, &t2),
			 0);
	assert_int_equal(ks_task_clone(e.t, p, KS_CLONE_VM | KS_CLONE_THREAD, &t3), 0);
	assert_int_equal(tstats(&e).files_tables, 2);
	/* shared: an open in one is seen by all */
	assert_int_equal(ks_task_open(t1, "/one", KS_O_RDONLY, &fd), 0);
	assert_int_equal(fd, 0);
	assert_int_equal(ks_task_fd_path(p, 0, buf, sizeof(buf), NULL), 4);
	assert_int_equal(ks_task_fd_path(t2, 0, buf, sizeof(buf), NULL), 4);
	assert_int_equal(ks_task_fd_path(t3, 0, buf, sizeof(buf), NULL), -ENOENT); /* copied before */
	/* the leader unshares: the threads keep sharing the old table */
	assert_int_equal(ks_task_unshare_files(p), 0);
	assert_int_equal(tstats(&e).files_tables, 3);
	assert_ptr_equal(ks_task_files_id(t1), ks_task_files_id(t2));
	assert_ptr_not_equal(ks_task_files_id(p), ks_task_files_id(t1));
	assert_int_equal(tstats(&e).open_files, 1); /* the file object is shared */
	assert_int_equal(ks_task_close(p, 0), 0);
	assert_int_equal(ks_task_fd_path(t1, 0, buf, sizeof(buf), NULL), 4);
	assert_string_equal(buf, "/one");
	assert_int_equal(tstats(&e).open_files, 1);
	assert_int_equal(ks_task_close(t2, 0), 0);
	assert_int_equal(tstats(&e).open_files, 0);
	assert_int_equal(ks_task_close(t1, 0), -EBADF);
	/* the last user of a table closes its files at exit */
	assert_int_equal(ks_task_open(t3, "/three", KS_O_WRONLY, &fd), 0);
	assert_int_equal(tstats(&e).open_files, 1);
	assert_int_equal(ks_task_exit(t3, 0), 0);
	assert_int_equal(tstats(&e).open_files, 0);
	assert_int_equal(tstats(&e).files_tables, 2);
	assert_int_equal(ks_task_exit(t1, 0), 0);
	assert_int_equal(tstats(&e).files_tables, 2);
	assert_int_equal(ks_task_exit(t2, 0), 0);
	assert_int_equal(tstats(&e).files_tables, 1);
	assert_int_equal(ks_task_exit(p, 0), 0);
	assert_int_equal(tstats(&e).files_tables, 0);
	assert_int_equal(ks_task_reap(p, NULL), 0);
	ks_task_put(t1);
	ks_task_put(t2);
	ks_task_put(t3);
	ks_task_put(p);
	tenv_fini(&e);
}

static void test_lowest_fd_and_growth(void **state)
{
	struct tenv e;
	struct ks_task *p, *c;
	char buf[32];
	int fd, i;

	tenv_init(&e, STRAT(state), ks_test_topologies[0], 5000);
	assert_int_equal(ks_task_clone(e.t, NULL, 0, &p), 0);
	for (i = 0; i < 5000; i++) {
		assert_int_equal(ks_task_open(p, i & 1 ? "/odd" : "/even", KS_O_RDONLY, &fd), 0);
		assert_int_equal(fd, i);
	}
	assert_int_equal(ks_task_open(p, "/x", KS_O_RDONLY, &fd), -EMFILE);
	assert_int_equal(ks_task_nr_fds(p), 5000);
	for (i = 4000; i > 100; i -= 7)
		assert_int_equal(ks_task_close(p, i), 0);
	/* lowest first, whatever the order of closing */
	for (i = 101; i <= 4000; i += 7) { /* 4000 - 7k > 100 is 101 + 7j */
		assert_int_equal(ks_task_open(p, "/re", KS_O_RDWR, &fd), 0);
		assert_int_equal(fd, i);
	}
	assert_int_equal(ks_task_open(p, "/x", KS_O_RDONLY, &fd), -EMFILE);
	assert_int_equal(ks_task_fd_path(p, 4999, buf, sizeof(buf), NULL), 4);
	assert_string_equal(buf, "/odd");
	/* a copy of a grown table */
	assert_int_equal(ks_task_clone(e.t, p, 0, &c), 0);
	assert_int_equal(ks_task_nr_fds(c), 5000);
	assert_int_equal(ks_task_next_fd(c, 4998, NULL), 4998);
	assert_int_equal(ks_task_next_fd(c, 5000, NULL), -ENOENT);
	assert_int_equal(ks_task_next_fd(c, 1 << 30, NULL), -ENOENT);
	assert_int_equal(ks_task_exit(c, 0), 0);
	assert_int_equal(ks_task_exit(p, 0), 0);
	assert_int_equal(ks_task_reap(c, NULL), 0);
	assert_int_equal(ks_task_reap(p, NULL), 0);
	ks_task_put(c);
	ks_task_put(p);
	tenv_fini(&e);
}

/* Lock-free readers while the table grows and is replaced. */
struct growth {
	struct ks_task *p;
	int stop;
	long reads;
};

static void *growth_reader(void *arg)
{
	struct growth *g = arg;
	char buf[16];
	unsigned int mode;
	int i;

	ks_rcu_register_thread();
	do { /* at least one pass, however late this thread starts */
		for (i = 0; i < 8; i++) {
			if (ks_task_fd_path(g->p, i, buf, sizeof(buf), &mode) != 7 ||
			    strcmp(buf, "/stable") || mode != KS_FMODE_READ)
				abort(); /* a stable fd vanished during a resize */
		}
		if (ks_task_next_fd(g->p, 0, NULL) != 0 || ks_task_nr_fds(g->p) < 8)
			abort();
		__atomic_add_fetch(&g->reads, 1, __ATOMIC_RELEASE);
	} while (!__atomic_load_n(&g->stop, __ATOMIC_ACQUIRE));
	ks_rcu_unregister_thread();
	return NULL;
}

static void test_growth_with_readers(void **state)
{
	struct tenv e;
	struct growth g = {0};
	pthread_t r;
	int fd, i, round;

	tenv_init(&e, STRAT(state), ks_test_topologies[2], 0);
	assert_int_equal(ks_task_clone(e.t, NULL, 0, &g.p), 0);
	for (i = 0; i < 8; i++)
		assert_int_equal(ks_task_open(g.p, "/stable", KS_O_RDONLY, &fd), 0);
	assert_int_equal(pthread_create(&r, NULL, growth_reader, &g), 0);
	for (round = 0; round < 4; round++) {
		struct ks_task *c;
		long seen;

		/*
		 * Each round starts only once the reader has completed a pass
		 * since the last one, so reads and resizes overlap even when the
		 * scheduler runs the reader late (a loaded 2-CPU CI runner).
		 */
		seen = __atomic_load_n(&g.reads, __ATOMIC_ACQUIRE);
		while (__atomic_load_n(&g.reads, __ATOMIC_ACQUIRE) == seen)
			sched_yield();

		/* a fresh table each round: unshare from a sharer, then grow it */
		assert_int_equal(ks_task_clone(e.t, g.p, KS_CLONE_VM | KS_CLONE_FILES |
					       KS_CLONE_THREAD, &c), 0);
		for (i = 8; i < 3000; i++)
			assert_int_equal(ks_task_open(g.p, "/grow", KS_O_WRONLY, &fd), 0);
		assert_int_equal(ks_task_unshare_files(g.p), 0);
		for (i = 8; i < 3000; i++)
			assert_int_equal(ks_task_close(g.p, i), 0);
		assert_int_equal(ks_task_exit(c, 0), 0);
		ks_task_put(c);
	}
	__atomic_store_n(&g.stop, 1, __ATOMIC_RELEASE);
	pthread_join(r, NULL);
	assert_true(g.reads >= 4);
	assert_int_equal(ks_task_exit(g.p, 0), 0);
	assert_int_equal(ks_task_reap(g.p, NULL), 0);
	ks_task_put(g.p);
	tenv_fini(&e);
}

static void test_clone_errors(void **state)
{
	struct tenv e, e2;
	struct ks_task *p, *c, *x;
	struct ks_task *many[400];
	struct ks_pid_space *space;
	struct ks_pid_ns *ns;
	struct ks_tasks *t2;
	struct ks_tasks_opts o = {0};
	struct ks_pid_opts po = {0};
	int i, n, r;

	tenv_init(&e, STRAT(state), ks_test_topologies[0], 0);
	tenv_init(&e2, STRAT(state), ks_test_topologies[0], 0);
	assert_int_equal(ks_task_clone(e.t, NULL, 0, &p), 0);
	assert_int_equal(ks_task_clone(e2.t, p, 0, &x), -EINVAL); /* another list */
	assert_int_equal(ks_task_clone(e.t, p, KS_CLONE_FILES | KS_CLONE_THREAD, &x), -EINVAL);
	assert_int_equal(ks_task_clone(e.t, p, 1UL << 40, &x), -EINVAL);
	assert_int_equal(ks_task_clone(e.t, p, KS_CLONE_VM, &c), 0);
	assert_int_equal(ks_task_kill(c), 0);
	assert_int_equal(ks_task_clone(e.t, c, 0, &x), -ESRCH); /* fatal signal pending */
	assert_int_equal(ks_task_clone(e.t, p, 0, &x), 0); /* p's group is not killed */
	assert_int_equal(ks_task_exit(x, 0), 0);
	assert_int_equal(ks_task_reap(x, NULL), 0);
	ks_task_put(x);
	assert_int_equal(ks_task_exit(c, 0), 0);
	assert_int_equal(ks_task_clone(e.t, c, 0, &x), -ESRCH);
	assert_int_equal(ks_task_reap(c, NULL), 0);
	assert_int_equal(ks_task_clone(e.t, c, 0, &x), -ESRCH); /* released */
	ks_task_put(c);
	assert_int_equal(ks_task_exit(p, 0), 0);
	assert_int_equal(ks_task_reap(p, NULL), 0);
	ks_task_put(p);
	tenv_fini(&e2);

	/* -EAGAIN: a namespace whose pid_max is the smallest allowed */
	po.topo = e.env.topo;
	po.locks = e.env.locks;
	po.mem = e.env.mem;
	po.pid_max = 301;
	assert_int_equal(ks_pid_space_create(STRAT(state), &po, &space), 0);
	assert_int_equal(ks_pid_ns_root(space, &ns), 0);
	o.topo = e.env.topo;
	o.locks = e.env.locks;
	o.mem = e.env.mem;
	o.pid_ns = ns;
	assert_int_equal(ks_tasks_create(&o, &t2), 0);
	assert_ptr_equal(ks_tasks_pid_ns(t2), ns);
	assert_ptr_equal(ks_tasks_mem(t2), e.env.mem);
	for (n = 0; n < 400; n++) {
		r = ks_task_clone(t2, NULL, 0, &many[n]);
		if (r)
			break;
	}
	assert_int_equal(r, -EAGAIN);
	assert_true(n >= 200 && n <= 300);
	for (i = 0; i < n; i++) {
		assert_int_equal(ks_task_exit(many[i], 0), 0);
		assert_int_equal(ks_task_reap(many[i], NULL), 0);
		ks_task_put(many[i]);
	}
	assert_int_equal(ks_tasks_destroy(t2), 0);
	assert_int_equal(ks_pid_space_destroy(space), 0);
	tenv_fini(&e);
}

/* Every allocation of clone, open, unshare and exit may fail: nothing leaks. */
static void test_enomem(void **state)
{
	struct tenv e;
	struct ks_task *p, *c;
	uint64_t nth;
	int r, fd, i;

	tenv_init(&e, STRAT(state), ks_test_topologies[1], 0);
	assert_int_equal(ks_task_clone(e.t, NULL, 0, &p), 0);
	for (i = 0; i < 70; i++) /* past the first table: dup_fd() must grow */
		assert_int_equal(ks_task_open(p, "/f", KS_O_RDONLY, &fd), 0);
	for (i = 0; i < 4; i++) {
		static const unsigned long fl[] = {
			0, KS_CLONE_VM, KS_CLONE_VM | KS_CLONE_THREAD,
			KS_CLONE_VM | KS_CLONE_FILES | KS_CLONE_THREAD,
		};

		for (nth = 1;; nth++) {
			assert_int_equal(ks_mem_fail_nth(e.env.mem, nth), 0);
			r = ks_task_clone(e.t, p, fl[i], &c);
			ks_mem_fail_nth(e.env.mem, 0);
			if (!r)
				break;
			assert_int_equal(r, -ENOMEM);
			assert_int_equal(tstats(&e).threads, 1);
			assert_int_equal(ks_task_nr_threads(p), 1);
		}
		assert_true(nth > 1);
		assert_int_equal(ks_task_exit(c, 0), 0);
		if (!(fl[i] & KS_CLONE_THREAD))
			assert_int_equal(ks_task_reap(c, NULL), 0);
		ks_task_put(c);
	}
	for (nth = 1;; nth++) {
		assert_int_equal(ks_mem_fail_nth(e.env.mem, nth), 0);
		r = ks_task_open(p, "/g", KS_O_RDONLY, &fd);
		ks_mem_fail_nth(e.env.mem, 0);
		if (!r)
			break;
		assert_int_equal(r, -ENOMEM);
		assert_int_equal(ks_task_nr_fds(p), 70);
	}
	assert_int_equal(fd, 70);
	assert_int_equal(ks_task_clone(e.t, p, KS_CLONE_VM | KS_CLONE_FILES | KS_CLONE_THREAD, &c), 0);
	for (nth = 1;; nth++) {
		assert_int_equal(ks_mem_fail_nth(e.env.mem, nth), 0);
		r = ks_task_unshare_files(c);
		ks_mem_fail_nth(e.env.mem, 0);
		if (!r)
			break;
		assert_int_equal(r, -ENOMEM);
		assert_ptr_equal(ks_task_files_id(c), ks_task_files_id(p));
	}
	assert_ptr_not_equal(ks_task_files_id(c), ks_task_files_id(p));
	assert_int_equal(ks_task_nr_fds(c), 71);
	assert_int_equal(ks_task_exit(c, 0), 0);
	ks_task_put(c);
	assert_int_equal(ks_task_exit(p, 0), 0);
	assert_int_equal(ks_task_reap(p, NULL), 0);
	ks_task_put(p);
	tenv_fini(&e);
}

struct unreg {
	struct ks_tasks *t;
	struct ks_task *p;
	int rc[12];
};

static void *unregistered(void *arg)
{
	struct unreg *u = arg;
	struct ks_task *x;
	struct ks_tasks *t2;
	int fd;

	u->rc[0] = ks_task_clone(u->t, NULL, 0, &x);
	u->rc[1] = ks_task_exit(u->p, 0);
	u->rc[2] = ks_task_put(u->p);
	u->rc[3] = ks_task_open(u->p, "/a", 0, &fd);
	u->rc[4] = ks_task_close(u->p, 0);
	u->rc[5] = ks_task_unshare_files(u->p);
	u->rc[6] = ks_task_next_fd(u->p, 0, NULL);
	u->rc[7] = ks_tasks_for_each_process(u->t, count_leader, &fd);
	u->rc[8] = ks_task_find(u->t, 1, &x);
	u->rc[9] = ks_tasks_destroy(u->t);
	u->rc[10] = ks_tasks_create(NULL, &t2);
	u->rc[11] = ks_task_reap(u->p, NULL);
	return NULL;
}

static void test_threads_and_sections(void **state)
{
	struct tenv e;
	struct unreg u = {0};
	struct ks_task *p, *found;
	pthread_t th;
	int i;

	tenv_init(&e, STRAT(state), ks_test_topologies[0], 0);
	assert_int_equal(ks_task_clone(e.t, NULL, 0, &p), 0);
	u.t = e.t;
	u.p = p;
	assert_int_equal(pthread_create(&th, NULL, unregistered, &u), 0);
	pthread_join(th, NULL);
	for (i = 0; i < 12; i++)
		assert_int_equal(u.rc[i], -EPERM);
	assert_int_equal(ks_task_flags(p) & KS_TASK_EXITING, 0); /* nothing happened */
	/* pid_task() inside a section, no reference */
	assert_int_equal(ks_rcu_read_lock(), 0);
	assert_int_equal(ks_task_from_pid(ks_task_pid(p), 0, &found), 0);
	assert_ptr_equal(found, p);
	assert_int_equal(ks_tasks_destroy(e.t), -EDEADLK);
	assert_int_equal(ks_rcu_read_unlock(), 0);
	assert_int_equal(ks_task_from_pid(ks_task_pid(p), 1, &found), 0);
	assert_ptr_equal(found, p);
	ks_task_put(found);
	assert_ptr_equal(ks_task_tasks(p), e.t);
	assert_int_equal(ks_task_exit(p, 0), 0);
	assert_int_equal(ks_task_reap(p, NULL), 0);
	assert_int_equal(ks_rcu_read_lock(), 0);
	assert_int_equal(ks_task_from_pid(ks_task_pid(p), 0, &found), -ESRCH);
	assert_int_equal(ks_rcu_read_unlock(), 0);
	/* a double put is refused while a reference remains */
	assert_int_equal(ks_task_get(p), 0);
	assert_int_equal(ks_task_put(p), 0);
	assert_int_equal(ks_task_put(p), 0);
	tenv_fini(&e);
}

/* The lifecycle on every test topology, with the default options too. */
static void test_topologies(void **state)
{
	struct ks_tasks_opts o = {0};
	struct ks_test_env env;
	struct ks_tasks *t;
	struct ks_task *p, *th;
	size_t k;
	int fd, cpu;

	for (k = 0; k < ks_test_nr_topologies; k++) {
		ks_test_env_init(&env, ks_test_topologies[k]);
		o.topo = env.topo;
		o.locks = env.locks;
		o.mem = env.mem;
		o.pid_strategy = STRAT(state);
		assert_int_equal(ks_tasks_create(&o, &t), 0);
		for (cpu = 0; cpu < ks_topo_nr_cpus(env.topo); cpu += 7) {
			ks_cpu_set_current(cpu);
			assert_int_equal(ks_task_clone(t, NULL, 0, &p), 0);
			assert_int_equal(ks_task_clone(t, p, KS_CLONE_VM | KS_CLONE_THREAD, &th), 0);
			assert_int_equal(ks_task_open(th, "/x", KS_O_RDONLY, &fd), 0);
			ks_cpu_set_current((cpu + 3) % ks_topo_nr_cpus(env.topo));
			assert_int_equal(ks_task_close(th, fd), 0); /* on another CPU's counter */
			assert_int_equal(ks_task_exit(th, 0), 0);
			assert_int_equal(ks_task_exit(p, 0), 0);
			assert_int_equal(ks_task_reap(p, NULL), 0);
			ks_task_put(th);
			ks_task_put(p);
		}
		ks_cpu_set_current(-1);
		assert_int_equal(ks_tasks_destroy(t), 0);
		ks_test_env_fini(&env);
	}
	/* defaults: own memory domain, own pid space */
	assert_int_equal(ks_tasks_create(NULL, &t), 0);
	assert_non_null(ks_tasks_pid_ns(t));
	assert_int_equal(ks_task_clone(t, NULL, 0, &p), 0);
	{
		struct ks_mm *mm;

		assert_int_equal(ks_task_find_mm(p, &mm), 0);
		assert_int_equal(ks_task_exit(p, 0), 0);
		assert_int_equal(ks_task_reap(p, NULL), 0);
		ks_task_put(p);
		/* the mm lives in the private domain: destroy waits for it */
		assert_int_equal(ks_tasks_destroy(t), -EBUSY);
		assert_int_equal(ks_mmdrop(mm), 0);
	}
	assert_int_equal(ks_tasks_destroy(t), 0);
}

static void test_lockstat_classes(void **state)
{
	static const char *const names[] = { "tasklist_lock", "file_lock", "alloc_lock", "siglock",
					      "mmap_lock" };
	struct ks_lock_class_stats st[64];
	struct tenv e;
	struct ks_task *p;
	size_t n, i, k;
	int fd;

	tenv_init(&e, STRAT(state), ks_test_topologies[1], 0);
	assert_int_equal(ks_task_clone(e.t, NULL, 0, &p), 0);
	assert_int_equal(ks_task_open(p, "/x", KS_O_RDONLY, &fd), 0);
	assert_int_equal(ks_task_exit(p, 0), 0);
	assert_int_equal(ks_task_reap(p, NULL), 0);
	ks_task_put(p);
	assert_int_equal(ks_lockstat_read(e.env.locks, st, 64, &n), 0);
	for (k = 0; k < KS_ARRAY_SIZE(names); k++) {
		bool seen = false;

		for (i = 0; i < n && i < 64; i++)
			if (!strcmp(st[i].name, names[k])) {
				seen = true;
				if (ks_lockstat_enabled())
					assert_true(st[i].acquisitions > 0);
			}
		assert_true(seen);
	}
	tenv_fini(&e);
}

static void test_create_errors(void **state)
{
	struct ks_tasks_opts o = {0};
	struct ks_test_env env;
	struct ks_lock_class *cls;
	struct ks_tasks *t;
	char name[16];
	uint64_t nth;
	int k, r;

	ks_test_env_init(&env, ks_test_topologies[1]);
	o.topo = env.topo;
	o.mem = env.mem;
	o.pid_strategy = STRAT(state);
	/* every allocation of the creation may fail; nothing is left */
	for (nth = 1;; nth++) {
		assert_int_equal(ks_mem_fail_nth(env.mem, nth), 0);
		r = ks_tasks_create(&o, &t);
		ks_mem_fail_nth(env.mem, 0);
		if (!r)
			break;
		assert_int_equal(r, -ENOMEM);
		ks_test_assert_mem_balanced(env.mem);
	}
	assert_true(nth > 1);
	assert_int_equal(ks_tasks_destroy(t), 0);
	/* a lock_stat registry one class short of what the tasks need */
	for (k = 0; k < 61; k++) {
		snprintf(name, sizeof(name), "x%d", k);
		assert_int_equal(ks_lock_class_get(env.locks, name, KS_LOCK_OBJECT, &cls), 0);
	}
	o.locks = env.locks;
	assert_int_equal(ks_tasks_create(&o, &t), -ENOSPC);
	ks_test_env_fini(&env);
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
		T(test_exit_order),
		T(test_hooks),
		T(test_mm_rules),
		T(test_owners),
		T(test_files_sharing),
		T(test_lowest_fd_and_growth),
		T(test_growth_with_readers),
		T(test_clone_errors),
		T(test_enomem),
		T(test_threads_and_sections),
		T(test_topologies),
		T(test_lockstat_classes),
		T(test_create_errors),
	};
	int r;

	if (ks_rcu_register_thread())
		return 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	ks_rcu_unregister_thread();
	return r;
}
