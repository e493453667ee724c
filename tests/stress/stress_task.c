// SPDX-License-Identifier: MIT
/*
 * Tasks under concurrency, once per pid strategy: workers clone processes
 * and threads (sharing or copying files tables, CLONE_VM sharers), open and
 * close descriptors, unshare, kill each other's processes, exit threads and
 * reap leaders, while RCU walkers go over the process list
 * (ks_tasks_for_each_process(), ks_tasks_next_tgid()), the thread lists,
 * the fd tables (ks_task_next_fd(), ks_task_fd_path()) and pid lookups
 * (ks_task_from_pid()). Checks: walkers only see well-formed tasks (ASan:
 * nothing freed; TSan: no race), every task's release and free hooks run
 * exactly once, mm owners return to zero, and the counts and every ks_mem
 * type balance at the end.
 */
#include "ks_test.h"

#include <kscale/mm.h>
#include <kscale/pid.h>
#include <kscale/task.h>

#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PROCS 6
#define MAX_THREADS 6
#define MAGIC 0x7a5c

struct shared {
	struct ks_test_env env;
	struct ks_tasks *t;
	int hook_id;
	int stop;
	int nr_cpus;
	long releases, frees, bad_release, bad_free;
	long walks, seen, fds_seen, kills, unshares, eintr;
};

/* What a task's hook slot holds: marks set by the hooks, checked at free. */
struct mark {
	int magic;
	int released;
};

struct proc {
	struct ks_task *th[MAX_THREADS]; /* [0] is the leader, NULL once gone */
	struct ks_mm *mm;                /* for owner checks, mmgrab()ed */
	bool shared;                     /* a CLONE_VM sharer was made from/of it */
};

struct worker {
	pthread_t t;
	struct shared *s;
	int id;
	int walker;
	unsigned int seed;
	struct proc procs[MAX_PROCS];
};

static void st_release(struct ks_task *task, void *arg)
{
	struct shared *s = arg;
	struct mark *m = __atomic_load_n(ks_task_hook_data(task, s->hook_id), __ATOMIC_ACQUIRE);

	if (!m || m->magic != MAGIC || m->released++)
		__atomic_add_fetch(&s->bad_release, 1, __ATOMIC_RELAXED);
	if (!(ks_task_flags(task) & KS_TASK_DEAD))
		__atomic_add_fetch(&s->bad_release, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->releases, 1, __ATOMIC_RELAXED);
}

static void st_free(struct ks_task *task, void *arg)
{
	struct shared *s = arg;
	void **slot = ks_task_hook_data(task, s->hook_id);
	struct mark *m = __atomic_load_n(slot, __ATOMIC_ACQUIRE);

	if (!m || m->magic != MAGIC || m->released != 1)
		__atomic_add_fetch(&s->bad_free, 1, __ATOMIC_RELAXED);
	if (m) {
		m->magic = 0;
		free(m);
	}
	__atomic_store_n(slot, NULL, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->frees, 1, __ATOMIC_RELAXED);
}

static const struct ks_task_hooks st_hooks = { .release = st_release, .free = st_free };

static void mark_task(struct shared *s, struct ks_task *task)
{
	struct mark *m = calloc(1, sizeof(*m));

	assert_non_null(m);
	m->magic = MAGIC;
	__atomic_store_n(ks_task_hook_data(task, s->hook_id), m, __ATOMIC_RELEASE);
}

/* ---- workers ----------------------------------------------------------- */

static int nthreads(const struct proc *p)
{
	int i, n = 0;

	for (i = 0; i < MAX_THREADS; i++)
		n += p->th[i] != NULL;
	return n;
}

static struct ks_task *any_thread(struct worker *w, struct proc *p)
{
	int i, k = rand_r(&w->seed) % MAX_THREADS;

	for (i = 0; i < MAX_THREADS; i++) {
		struct ks_task *th = p->th[(k + i) % MAX_THREADS];

		if (th && !(ks_task_flags(th) & KS_TASK_EXITING))
			return th;
	}
	return NULL;
}

static void new_process(struct worker *w, struct proc *p, struct ks_task *parent,
			unsigned long flags)
{
	struct shared *s = w->s;
	struct ks_task *task;
	int r, fd, i;

	r = ks_task_clone(s->t, parent, flags, &task);
	if (r == -ESRCH) /* the parent's group was killed meanwhile */
		return;
	assert_int_equal(r, 0);
	mark_task(s, task);
	memset(p, 0, sizeof(*p));
	p->th[0] = task;
	assert_int_equal(ks_task_find_mm(task, &p->mm), 0);
	if (!(flags & KS_CLONE_VM))
		assert_int_equal(ks_mm_map(p->mm, 2 * KS_PAGE_SIZE, 0, NULL, NULL), 0);
	for (i = 0; i < 2; i++) {
		r = ks_task_open(task, "/dev/null", i, &fd);
		assert_true(r == 0 || r == -EMFILE); /* a shared table may be full */
	}
}

static void reap_if_done(struct proc *p)
{
	struct ks_task *leader = p->th[0];

	if (!leader || nthreads(p) > 1 || !(ks_task_flags(leader) & KS_TASK_ZOMBIE))
		return;
	if (!p->shared)
		assert_int_equal(ks_mm_owners(p->mm), 0);
	assert_int_equal(ks_task_reap(leader, NULL), 0);
	assert_int_equal(ks_task_reap(leader, NULL), -ECHILD);
	assert_int_equal(ks_task_put(leader), 0);
	assert_int_equal(ks_mmdrop(p->mm), 0);
	memset(p, 0, sizeof(*p));
}

static void exit_thread(struct proc *p, int i)
{
	struct ks_task *th = p->th[i];
	int r;

	if (!th)
		return;
	r = ks_task_exit(th, i);
	assert_true(r == 0 || r == -ESRCH);
	if (i) { /* a thread releases itself */
		assert_true(ks_task_flags(th) & KS_TASK_DEAD);
		assert_int_equal(ks_task_put(th), 0);
		p->th[i] = NULL;
	}
}

static void worker_step(struct worker *w)
{
	struct shared *s = w->s;
	struct proc *p = &w->procs[rand_r(&w->seed) % MAX_PROCS];
	struct ks_task *th, *victim;
	int op = rand_r(&w->seed) % 16, i, fd, r;

	if (!p->th[0]) {
		struct proc *q = &w->procs[rand_r(&w->seed) % MAX_PROCS];

		/* a new process, or a CLONE_VM sharer of another one */
		if (q != p && q->th[0] && (th = any_thread(w, q)) && (op & 1)) {
			new_process(w, p, th, KS_CLONE_VM | (op & 2 ? KS_CLONE_FILES : 0));
			q->shared = p->shared = true;
		} else
			new_process(w, p, NULL, 0);
		return;
	}
	th = any_thread(w, p);
	if (!p->shared) {
		/* owners first: a kill sets the flags before it drops the owner */
		int owners = ks_mm_owners(p->mm);
		int flags = ks_task_flags(p->th[0]);

		assert_true(owners == 0 || owners == 1);
		if (!owners && !(flags & KS_TASK_SIGKILL) && th)
			fail_msg("a live, unkilled group is no owner of its mm");
	}
	switch (op) {
	case 0: case 1: case 2: /* a new thread */
		for (i = 1; i < MAX_THREADS && p->th[i]; i++)
			;
		if (i == MAX_THREADS || !th)
			break;
		r = ks_task_clone(s->t, th, KS_CLONE_VM | KS_CLONE_THREAD |
				  (op ? KS_CLONE_FILES : 0), &p->th[i]);
		if (r == -ESRCH) {
			p->th[i] = NULL;
			break;
		}
		assert_int_equal(r, 0);
		mark_task(s, p->th[i]);
		break;
	case 3: case 4: case 5: case 6:
		if (th) {
			r = ks_task_open(th, "/proc/self/status", op % 3, &fd);
			assert_true(r == 0 || r == -ESRCH || r == -EMFILE);
		}
		break;
	case 7: case 8:
		if (th) {
			r = ks_task_close(th, rand_r(&w->seed) % 8);
			assert_true(r == 0 || r == -EBADF || r == -ESRCH);
		}
		break;
	case 9:
		if (th) {
			r = ks_task_unshare_files(th);
			assert_true(r == 0 || r == -ESRCH);
			__atomic_add_fetch(&s->unshares, 1, __ATOMIC_RELAXED);
		}
		break;
	case 10: /* kill someone's process, found by number */
		if (ks_tasks_next_tgid(s->t, rand_r(&w->seed) % 4096, &victim) > 0) {
			r = ks_task_kill(victim);
			assert_true(r == 0 || r == -ESRCH);
			__atomic_add_fetch(&s->kills, 1, __ATOMIC_RELAXED);
			assert_int_equal(ks_task_put(victim), 0);
		}
		break;
	case 11: case 12: /* a thread exits */
		exit_thread(p, 1 + rand_r(&w->seed) % (MAX_THREADS - 1));
		break;
	case 13: /* the leader exits */
		exit_thread(p, 0);
		break;
	default:
		break;
	}
	/* a killed group exits thread by thread */
	if (ks_task_flags(p->th[0]) & KS_TASK_SIGKILL)
		for (i = MAX_THREADS - 1; i >= 0; i--)
			if (rand_r(&w->seed) & 1)
				exit_thread(p, i);
	reap_if_done(p);
}

static void worker_finish(struct worker *w)
{
	int k, i;

	for (k = 0; k < MAX_PROCS; k++) {
		struct proc *p = &w->procs[k];

		if (!p->th[0])
			continue;
		for (i = MAX_THREADS - 1; i >= 0; i--)
			exit_thread(p, i);
		reap_if_done(p);
		assert_null(p->th[0]);
	}
}

/* ---- walkers ----------------------------------------------------------- */

static int walk_proc(struct ks_task *leader, void *arg)
{
	struct shared *s = arg;
	struct ks_task *found;
	unsigned int mode;
	int fd = 0, n = 0;

	/* inside the walker's read-side section: the leader is readable */
	if (!(ks_task_flags(leader) & KS_TASK_LEADER) || ks_task_tgid(leader) != ks_task_tid(leader))
		abort();
	if (ks_task_from_pid(ks_task_pid(leader), 0, &found) == 0 && found != leader)
		abort();
	while ((fd = ks_task_next_fd(leader, fd, &mode)) >= 0 && n < 64) {
		if (!mode || (mode & ~(KS_FMODE_READ | KS_FMODE_WRITE)))
			abort();
		fd++;
		n++;
	}
	__atomic_add_fetch(&s->fds_seen, n, __ATOMIC_RELAXED);
	(void)ks_task_mm_peek(leader);
	__atomic_add_fetch(&s->seen, 1, __ATOMIC_RELAXED);
	return 0;
}

static void walker_step(struct worker *w)
{
	struct shared *s = w->s;
	struct ks_task *leader, *th, *prev;
	char buf[64];
	int nr = 0, r, fd;

	assert_int_equal(ks_tasks_for_each_process(s->t, walk_proc, s), 0);
	/* /proc readdir: next_tgid(), then each group's task/ and fd/ */
	while ((nr = ks_tasks_next_tgid(s->t, nr, &leader)) > 0) {
		assert_true(ks_task_flags(leader) & KS_TASK_LEADER);
		prev = NULL;
		while ((r = ks_task_next_thread(leader, prev, &th)) == 0) {
			assert_int_equal(ks_task_tgid(th), nr);
			if (prev)
				assert_int_equal(ks_task_put(prev), 0);
			prev = th;
		}
		assert_true(r == -ENOENT || r == -EAGAIN);
		if (prev)
			assert_int_equal(ks_task_put(prev), 0);
		for (fd = 0; (fd = ks_task_next_fd(leader, fd, NULL)) >= 0; fd++) {
			r = ks_task_fd_path(leader, fd, buf, sizeof(buf), NULL);
			assert_true(r == -ENOENT || (r > 0 && buf[0] == '/'));
		}
		assert_true(ks_task_nr_fds(leader) >= 0);
		assert_int_equal(ks_task_put(leader), 0);
		nr++;
	}
	__atomic_add_fetch(&s->walks, 1, __ATOMIC_RELAXED);
}

static void *run(void *arg)
{
	struct worker *w = arg;
	struct shared *s = w->s;

	ks_rcu_register_thread();
	ks_cpu_set_current((w->id * 13) % s->nr_cpus);
	do { /* at least one pass, however late this thread starts */
		if (w->walker)
			walker_step(w);
		else
			worker_step(w);
	} while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED));
	if (!w->walker)
		worker_finish(w);
	ks_rcu_unregister_thread();
	return NULL;
}

static void test_clone_exit_walk(void **state)
{
	const char *strategy = *state;
	struct ks_tasks_opts o = {0};
	struct ks_tasks_stats st;
	struct shared s;
	struct worker *w;
	int i, nr = ks_test_stress_threads();
	double secs = ks_test_stress_seconds();
	struct timespec ts;

	if (nr < 3)
		nr = 3;
	memset(&s, 0, sizeof(s));
	ks_test_env_init(&s.env, ks_test_topologies[2]);
	s.nr_cpus = ks_topo_nr_cpus(s.env.topo);
	o.topo = s.env.topo;
	o.locks = s.env.locks;
	o.mem = s.env.mem;
	o.pid_strategy = strategy;
	o.nr_open = 256;
	assert_int_equal(ks_tasks_create(&o, &s.t), 0);
	assert_int_equal(ks_tasks_add_hooks(s.t, &st_hooks, &s, &s.hook_id), 0);
	w = calloc(nr, sizeof(*w));
	assert_non_null(w);
	for (i = 0; i < nr; i++) {
		w[i].s = &s;
		w[i].id = i;
		w[i].walker = i < 2;
		w[i].seed = 77 + i;
		assert_int_equal(pthread_create(&w[i].t, NULL, run, &w[i]), 0);
	}
	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
	__atomic_store_n(&s.stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < nr; i++)
		pthread_join(w[i].t, NULL);
	free(w);

	assert_int_equal(ks_tasks_stats(s.t, &st), 0);
	assert_int_equal(st.processes, 0);
	assert_int_equal(st.threads, 0);
	assert_int_equal(st.zombies, 0);
	assert_int_equal(st.open_files, 0);
	assert_int_equal(st.files_tables, 0);
	assert_int_equal(st.forks, st.exits);
	assert_int_equal(st.forks, st.releases);
	assert_int_equal(ks_tasks_destroy(s.t), 0);
	assert_int_equal(s.releases, (long)st.forks);
	assert_int_equal(s.frees, (long)st.forks);
	assert_int_equal(s.bad_release, 0);
	assert_int_equal(s.bad_free, 0);
	print_message("%s: forks %llu walks %ld leaders seen %ld fds seen %ld kills %ld\n",
		      strategy, (unsigned long long)st.forks, s.walks, s.seen, s.fds_seen, s.kills);
	assert_true(st.forks > 0 && s.walks > 0);
	ks_test_env_fini(&s.env);
}

/* One table grows to thousands of slots and shrinks back, readers on it. */
struct gshared {
	struct ks_tasks *t;
	struct ks_task *p;
	int stop;
	long reads;
};

static void *grow_reader(void *arg)
{
	struct gshared *g = arg;
	char buf[16];
	int fd, n;

	ks_rcu_register_thread();
	do { /* at least one pass, however late this thread starts */
		for (fd = 0; fd < 4; fd++)
			if (ks_task_fd_path(g->p, fd, buf, sizeof(buf), NULL) != 7 ||
			    strcmp(buf, "/stable"))
				abort();
		n = 0;
		for (fd = 0; (fd = ks_task_next_fd(g->p, fd, NULL)) >= 0; fd++)
			n++;
		if (n < 4)
			abort();
		__atomic_add_fetch(&g->reads, 1, __ATOMIC_RELAXED);
	} while (!__atomic_load_n(&g->stop, __ATOMIC_ACQUIRE));
	ks_rcu_unregister_thread();
	return NULL;
}

static void test_fd_growth_readers(void **state)
{
	const char *strategy = *state;
	struct ks_tasks_opts o = {0};
	struct ks_test_env env;
	struct gshared g = {0};
	pthread_t r[2];
	uint64_t end;
	int fd, i, rounds = 0;

	ks_test_env_init(&env, ks_test_topologies[1]);
	o.topo = env.topo;
	o.locks = env.locks;
	o.mem = env.mem;
	o.pid_strategy = strategy;
	assert_int_equal(ks_tasks_create(&o, &g.t), 0);
	assert_int_equal(ks_task_clone(g.t, NULL, 0, &g.p), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(ks_task_open(g.p, "/stable", KS_O_RDONLY, &fd), 0);
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&r[i], NULL, grow_reader, &g), 0);
	end = ks_clock_ns() + (uint64_t)(ks_test_stress_seconds() * 1e9 / 2);
	while (ks_clock_ns() < end) {
		struct ks_task *sharer;

		/* a sharer, so that the unshare below makes a fresh table */
		assert_int_equal(ks_task_clone(g.t, g.p, KS_CLONE_VM | KS_CLONE_FILES |
					       KS_CLONE_THREAD, &sharer), 0);
		for (i = 4; i < 2000; i++)
			assert_int_equal(ks_task_open(g.p, "/grow", KS_O_RDWR, &fd), 0);
		assert_int_equal(ks_task_unshare_files(g.p), 0);
		assert_int_equal(ks_task_exit(sharer, 0), 0);
		assert_int_equal(ks_task_put(sharer), 0);
		for (i = 4; i < 2000; i++)
			assert_int_equal(ks_task_close(g.p, i), 0);
		rounds++;
	}
	__atomic_store_n(&g.stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < 2; i++)
		pthread_join(r[i], NULL);
	assert_true(rounds > 0 && g.reads > 0);
	assert_int_equal(ks_task_exit(g.p, 0), 0);
	assert_int_equal(ks_task_reap(g.p, NULL), 0);
	assert_int_equal(ks_task_put(g.p), 0);
	assert_int_equal(ks_tasks_destroy(g.t), 0);
	ks_test_env_fini(&env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate(test_clone_exit_walk, (void *)"idr-relock"),
		cmocka_unit_test_prestate(test_clone_exit_walk, (void *)"pcpu-range"),
		cmocka_unit_test_prestate(test_fd_growth_readers, (void *)"idr-relock"),
		cmocka_unit_test_prestate(test_fd_growth_readers, (void *)"pcpu-range"),
	};
	int r;

	if (ks_rcu_register_thread())
		return 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	ks_rcu_unregister_thread();
	return r;
}
