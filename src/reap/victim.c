// SPDX-License-Identifier: MIT
/*
 * reap: victims and killers for the workloads.
 *
 * A victim is a process of the task layer whose exit runs in a pthread of
 * ours once it is killed: it may first sleep uninterruptibly (the D state
 * of Suren Baghdasaryan's process_reap motivation, June 2021), then, on a
 * slow CPU, zap its own memory in slices under mmap_read_lock, and finally
 * runs do_exit() on every thread (the last mmput() runs exit_mmap()) and is
 * waited for. Killers:
 *  - wait-exit:  SIGKILL, wait for the exit (kernel/exit.c);
 *  - mrelease:   SIGKILL + process_mrelease() from the caller
 *                (mm/oom_kill.c, Linux 5.15+);
 *  - oom-reaper: the oom_reaper kthread (mm/oom_kill.c queue_oom_reaper(),
 *                wake_oom_reaper(), oom_reaper(), oom_reap_task());
 *  - lmkd-pool:  AOSP system/memory/lmkd reaper.cpp (Reaper::async_kill(),
 *                reaper_main()): a pool of threads, each SIGKILL +
 *                process_mrelease(); when every thread is busy the caller
 *                kills without reaping.
 */
#include "reap_internal.h"

#include <kscale/rcu.h>

#include <errno.h>
#include <string.h>
#include <time.h>

enum killer { K_WAIT_EXIT, K_MRELEASE, K_OOM_REAPER, K_LMKD_POOL };
static const char *const killer_names[] = { "wait-exit", "mrelease", "oom-reaper", "lmkd-pool" };

struct ks_reap_victim {
	struct ks_reap *r;
	struct ks_mm *mm; /* mm_count reference */
	struct ks_reap_victim_opts o;
	pthread_t thread;
	/* under r->wq_lock */
	int killed;
	int exited;
	int busy; /* reapers still working on it */
	struct ks_reap_result res;
	struct ks_reap_victim *next;
	uint64_t queued_ns;
	size_t alloc_size;
	unsigned int nr_threads;
	struct ks_task *thr[]; /* thr[0] is the group leader; references */
};

const size_t reap_victim_objsize = sizeof(struct ks_reap_victim);

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ull),
			       .tv_nsec = (long)(ns % 1000000000ull) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void deadline(struct timespec *ts, uint64_t at_ns)
{
	ts->tv_sec = (time_t)(at_ns / 1000000000ull);
	ts->tv_nsec = (long)(at_ns % 1000000000ull);
}

/*
 * Look at the mm after freeing: the first look that finds no anonymous
 * page left dates the victim's "memory freed" and names who freed it.
 */
static void look(struct ks_reap_victim *v, enum ks_reap_freer who)
{
	struct ks_reap *r = v->r;
	struct ks_mm_stats st;

	if (ks_mm_stats(v->mm, &st) || st.anon_resident)
		return;
	pthread_mutex_lock(&r->wq_lock);
	if (!v->res.freed_ns && v->killed) {
		v->res.freed_ns = ks_clock_ns() - v->res.kill_ns;
		if (!v->res.freed_ns)
			v->res.freed_ns = 1;
		v->res.freed_by = who;
		pthread_cond_broadcast(&r->wq);
	}
	pthread_mutex_unlock(&r->wq_lock);
}

/* SIGKILL (ks_task_kill()) and wake the victim's thread to exit. */
static void victim_kill(struct ks_reap_victim *v)
{
	struct ks_reap *r = v->r;

	pthread_mutex_lock(&r->wq_lock);
	v->res.kill_ns = ks_clock_ns();
	pthread_mutex_unlock(&r->wq_lock);
	ks_task_kill(v->thr[0]);
	pthread_mutex_lock(&r->wq_lock);
	v->killed = 1;
	pthread_cond_broadcast(&r->wq);
	pthread_mutex_unlock(&r->wq_lock);
}

/* A victim's own exit: stall, slow slices, do_exit() of every thread, wait(). */
static void *victim_main(void *arg)
{
	struct ks_reap_victim *v = arg;
	struct ks_reap *r = v->r;
	unsigned int speed = v->o.speed_pct;
	size_t slice = v->o.slice_pages ? v->o.slice_pages : 256;
	bool reg = ks_rcu_register_thread() == 0;
	unsigned int i;

	pthread_mutex_lock(&r->wq_lock);
	while (!v->killed)
		pthread_cond_wait(&r->wq, &r->wq_lock);
	pthread_mutex_unlock(&r->wq_lock);

	if (v->o.stall_ms) /* TASK_UNINTERRUPTIBLE: SIGKILL does not cut it short */
		sleep_ns((uint64_t)v->o.stall_ms * 1000000ull);
	while (speed && speed < 100) {
		uint64_t t0 = ks_clock_ns(), dt;
		long n;

		ks_mmap_read_lock(v->mm);
		n = ks_mm_zap(v->mm, NULL, NULL, slice);
		ks_mmap_read_unlock(v->mm);
		if (n <= 0)
			break;
		look(v, KS_REAP_FREER_EXIT);
		dt = ks_clock_ns() - t0;
		sleep_ns(dt * (100 - speed) / speed); /* the rest of a slower CPU's time */
	}
	/* do_exit() on every thread, the leader last (it stays a zombie) */
	for (i = v->nr_threads; i-- > 0;)
		ks_task_exit(v->thr[i], 9);
	look(v, KS_REAP_FREER_EXIT);
	while (ks_task_reap(v->thr[0], NULL) == -EAGAIN)
		sleep_ns(100000);

	pthread_mutex_lock(&r->wq_lock);
	v->exited = 1;
	v->res.exited_ns = ks_clock_ns() - v->res.kill_ns;
	if (!v->res.exited_ns)
		v->res.exited_ns = 1;
	pthread_cond_broadcast(&r->wq);
	pthread_mutex_unlock(&r->wq_lock);
	if (reg)
		ks_rcu_unregister_thread();
	return NULL;
}

static int victim_free_tasks(struct ks_reap_victim *v, unsigned int n, bool exit)
{
	unsigned int i;

	if (exit) {
		for (i = n; i-- > 0;)
			ks_task_exit(v->thr[i], 0);
		if (n)
			while (ks_task_reap(v->thr[0], NULL) == -EAGAIN)
				sleep_ns(100000);
	}
	for (i = 0; i < n; i++)
		ks_task_put(v->thr[i]);
	return 0;
}

/* hugetlbfs and remap_pfn_range() mappings are files in the kernel too */
static const char *victim_file(unsigned int f)
{
	if (f & KS_VM_HUGETLB)
		return "/dev/hugepages/victim";
	if (f & KS_VM_PFNMAP)
		return "/dev/victim";
	return (f & KS_VM_SHARED) ? "/victim/shared" : NULL;
}

static int victim_map(struct ks_reap_victim *v, const struct ks_reap_victim_opts *o)
{
	unsigned int nr = o->nr_vmas ? o->nr_vmas : 1, i;
	size_t each = (o->bytes + nr - 1) / nr;
	struct ks_mm *mm;
	int ret;

	ret = ks_task_mm(v->thr[0], &mm);
	if (ret)
		return ret;
	for (i = 0; i < nr && !ret; i++) {
		unsigned int f = o->vm_flags ? o->vm_flags[i] : 0;

		ret = ks_mm_map(mm, each, f, victim_file(f), NULL);
	}
	if (!ret) {
		struct ks_mm_stats st;

		ks_mm_stats(mm, &st);
		v->res.pages_total = st.resident;
		ks_mmgrab(mm);
		v->mm = mm;
	}
	ks_mmput(mm);
	return ret;
}

int ks_reap_victim_create(struct ks_reap *r, const struct ks_reap_victim_opts *opts,
			  struct ks_reap_victim **out)
{
	unsigned int nt, nv, i;
	struct ks_reap_victim *v;
	size_t size;
	int ret;

	if (!r || !opts || !out || !opts->bytes)
		return -EINVAL;
	nt = opts->nr_threads ? opts->nr_threads : 1;
	nv = opts->nr_vmas ? opts->nr_vmas : 1;
	if (nt > 1024 || nv > 4096)
		return -EINVAL;
	for (i = 0; opts->vm_flags && i < nv; i++)
		if (opts->vm_flags[i] & ~KS_VM_ALL)
			return -EINVAL;
	size = sizeof(*v) + nt * sizeof(v->thr[0]);
	v = ks_mem_zalloc(r->t_victim, size);
	if (!v)
		return -ENOMEM;
	v->r = r;
	v->o = *opts;
	v->o.vm_flags = NULL;
	v->alloc_size = size;
	ret = ks_task_clone(r->tasks, NULL, 0, &v->thr[0]);
	for (i = 1; !ret && i < nt; i++) {
		ret = ks_task_clone(r->tasks, v->thr[0],
				    KS_CLONE_VM | KS_CLONE_THREAD | KS_CLONE_FILES, &v->thr[i]);
		if (ret)
			break;
	}
	if (ret) {
		victim_free_tasks(v, i, i > 0);
		ks_mem_free(r->t_victim, v, size);
		return ret;
	}
	v->nr_threads = nt;
	ret = victim_map(v, opts);
	if (!ret) {
		pthread_mutex_lock(&r->wq_lock);
		r->nr_victims++;
		pthread_mutex_unlock(&r->wq_lock);
		ret = pthread_create(&v->thread, NULL, victim_main, v) ? -EAGAIN : 0;
		if (ret) {
			pthread_mutex_lock(&r->wq_lock);
			r->nr_victims--;
			pthread_mutex_unlock(&r->wq_lock);
		}
	}
	if (ret) {
		victim_free_tasks(v, nt, true);
		if (v->mm)
			ks_mmdrop(v->mm);
		ks_mem_free(r->t_victim, v, size);
		return ret;
	}
	*out = v;
	return 0;
}

struct ks_task *ks_reap_victim_task(const struct ks_reap_victim *v)
{
	return v ? v->thr[0] : NULL;
}

struct ks_mm *ks_reap_victim_mm(const struct ks_reap_victim *v)
{
	return v ? v->mm : NULL;
}

/* process_mrelease(pidfd) as a killer calls it, recording the outcome. */
static void killer_mrelease(struct ks_reap_victim *v, enum ks_reap_freer who)
{
	struct ks_reap *r = v->r;
	struct mrelease_out o = { 0 };
	struct ks_task *task;
	int fd, ret;

	fd = ks_pidfd_open_task(r, v->thr[0], 0); /* lmkd holds a pidfd per process */
	victim_kill(v);
	__atomic_fetch_add(&r->mrelease_calls, 1, __ATOMIC_RELAXED);
	ret = fd >= 0 ? ks_pidfd_get_task(r, fd, &task) : fd;
	if (!ret) {
		ret = reap_mrelease_task(r, task, NULL, NULL, &o);
		ks_task_put(task);
	}
	if (fd >= 0)
		ks_pidfd_close(r, fd);
	pthread_mutex_lock(&r->wq_lock);
	v->res.mrelease_ret = ret;
	v->res.scan_visits = (uint64_t)o.visits;
	v->res.pages_reaped += o.pages;
	v->res.reaped = 1;
	pthread_mutex_unlock(&r->wq_lock);
	look(v, who);
}

/* oom_reap_task(): retries of oom_reap_task_mm(), then MMF_OOM_SKIP either way. */
static void oom_reap_task(struct ks_reap_victim *v)
{
	struct ks_reap *r = v->r;
	unsigned int attempts = 0;
	size_t pages = 0;

	__atomic_fetch_add(&r->oom_runs, 1, __ATOMIC_RELAXED);
	while (attempts++ < r->retries && reap_oom_reap_mm(r, v->mm, &pages)) {
		__atomic_fetch_add(&r->oom_retries, 1, __ATOMIC_RELAXED);
		sleep_ns((uint64_t)r->retry_ms * 1000000ull);
	}
	if (attempts > r->retries && !(ks_mm_flags(v->mm) & KS_MMF_OOM_SKIP))
		__atomic_fetch_add(&r->oom_gave_up, 1, __ATOMIC_RELAXED);
	ks_mm_set_flags(v->mm, KS_MMF_OOM_SKIP);
	pthread_mutex_lock(&r->wq_lock);
	v->res.pages_reaped += pages;
	v->res.reaped = 1;
	pthread_mutex_unlock(&r->wq_lock);
	look(v, KS_REAP_FREER_OOM_REAPER);
}

/*
 * Next request of a reaper thread, under wq_lock (the list itself under
 * @lock when given); NULL when the context stops.
 */
static struct ks_reap_victim *next_request(struct ks_reap *r, struct ks_reap_victim **head,
					   struct ks_reap_victim ***tail, struct ks_spinlock *lock)
{
	struct ks_reap_victim *v;

	while (!r->stopping && !*head)
		pthread_cond_wait(&r->wq, &r->wq_lock);
	if (r->stopping)
		return NULL;
	if (lock)
		ks_spin_lock(lock);
	v = *head;
	*head = v->next;
	if (!*head)
		*tail = head;
	if (lock)
		ks_spin_unlock(lock);
	return v;
}

/* A reaper thread finished with @v (wq_lock held). */
static void request_done(struct ks_reap *r, struct ks_reap_victim *v)
{
	v->busy--;
	pthread_cond_broadcast(&r->wq);
}

/* The oom_reaper kthread: victims in queue order, each after its timer. */
static void *oom_reaper_main(void *arg)
{
	struct ks_reap *r = arg;
	bool reg = ks_rcu_register_thread() == 0;
	struct ks_reap_victim *v;

	pthread_mutex_lock(&r->wq_lock);
	while ((v = next_request(r, &r->oom_head, &r->oom_tail, &r->oom_reaper_lock))) {
		uint64_t at = v->queued_ns + (uint64_t)r->delay_ms * 1000000ull;
		struct timespec ts;

		/* the OOM_REAPER_DELAY timer of queue_oom_reaper() */
		deadline(&ts, at);
		while (!r->stopping && ks_clock_ns() < at)
			pthread_cond_timedwait(&r->wq, &r->wq_lock, &ts);
		pthread_mutex_unlock(&r->wq_lock);
		/* wake_oom_reaper(): a victim that finished meanwhile is dropped */
		if (!(ks_mm_flags(v->mm) & KS_MMF_OOM_SKIP))
			oom_reap_task(v);
		pthread_mutex_lock(&r->wq_lock);
		request_done(r, v);
	}
	pthread_mutex_unlock(&r->wq_lock);
	if (reg)
		ks_rcu_unregister_thread();
	return NULL;
}

/* reaper.cpp reaper_main(): take a request, kill, process_mrelease(). */
static void *lmkd_main(void *arg)
{
	struct ks_reap *r = arg;
	bool reg = ks_rcu_register_thread() == 0;
	struct ks_reap_victim *v;

	pthread_mutex_lock(&r->wq_lock);
	while ((v = next_request(r, &r->lmkd_head, &r->lmkd_tail, NULL))) {
		pthread_mutex_unlock(&r->wq_lock);
		killer_mrelease(v, KS_REAP_FREER_LMKD);
		pthread_mutex_lock(&r->wq_lock);
		r->lmkd_active--; /* request_complete() */
		request_done(r, v);
	}
	pthread_mutex_unlock(&r->wq_lock);
	if (reg)
		ks_rcu_unregister_thread();
	return NULL;
}

/* Start the reaper threads a killer needs; under wq_lock. */
static int start_threads(struct ks_reap *r, enum killer k)
{
	if (k == K_OOM_REAPER && !r->oom_started) {
		if (pthread_create(&r->oom_thread, NULL, oom_reaper_main, r))
			return -EAGAIN;
		r->oom_started = 1;
	}
	while (k == K_LMKD_POOL && r->pool_started < r->pool_size) {
		if (pthread_create(&r->pool[r->pool_started], NULL, lmkd_main, r))
			return r->pool_started ? 0 : -EAGAIN;
		r->pool_started++;
	}
	return 0;
}

void reap_victims_stop(struct ks_reap *r)
{
	unsigned int i;

	pthread_mutex_lock(&r->wq_lock);
	r->stopping = 1;
	pthread_cond_broadcast(&r->wq);
	pthread_mutex_unlock(&r->wq_lock);
	if (r->oom_started)
		pthread_join(r->oom_thread, NULL);
	for (i = 0; i < r->pool_started; i++)
		pthread_join(r->pool[i], NULL);
	r->oom_started = 0;
	r->pool_started = 0;
}

static int wait_locked(struct ks_reap_victim *v, unsigned int timeout_ms)
{
	struct ks_reap *r = v->r;
	uint64_t end = ks_clock_ns() + (uint64_t)timeout_ms * 1000000ull;
	struct timespec ts;

	deadline(&ts, end);
	while (!v->exited || v->busy) {
		if (!timeout_ms) {
			pthread_cond_wait(&r->wq, &r->wq_lock);
		} else {
			if (ks_clock_ns() >= end)
				return -ETIMEDOUT;
			pthread_cond_timedwait(&r->wq, &r->wq_lock, &ts);
		}
	}
	return 0;
}

int ks_reap_kill(struct ks_reap *r, struct ks_reap_victim *v, const char *killer)
{
	enum killer k;
	int ret = 0;

	if (!r || !v || !killer || v->r != r)
		return -EINVAL;
	for (k = K_WAIT_EXIT; k <= K_LMKD_POOL; k++)
		if (!strcmp(killer, killer_names[k]))
			break;
	if (k > K_LMKD_POOL)
		return -ENOENT;
	pthread_mutex_lock(&r->wq_lock);
	if (v->res.killer)
		ret = -EALREADY;
	else
		ret = start_threads(r, k);
	if (!ret)
		v->res.killer = killer_names[k];
	pthread_mutex_unlock(&r->wq_lock);
	if (ret)
		return ret;

	switch (k) {
	case K_WAIT_EXIT:
		victim_kill(v);
		pthread_mutex_lock(&r->wq_lock);
		wait_locked(v, 0);
		pthread_mutex_unlock(&r->wq_lock);
		break;
	case K_MRELEASE:
		killer_mrelease(v, KS_REAP_FREER_KILLER);
		break;
	case K_OOM_REAPER:
		victim_kill(v);
		/* queue_oom_reaper(): once per mm (MMF_OOM_REAP_QUEUED) */
		if (ks_mm_set_flags(v->mm, KS_MMF_REAP_QUEUED) & KS_MMF_REAP_QUEUED)
			break;
		pthread_mutex_lock(&r->wq_lock);
		v->busy++;
		v->queued_ns = ks_clock_ns();
		v->next = NULL;
		ks_spin_lock(&r->oom_reaper_lock);
		*r->oom_tail = v;
		r->oom_tail = &v->next;
		ks_spin_unlock(&r->oom_reaper_lock);
		pthread_cond_broadcast(&r->wq);
		pthread_mutex_unlock(&r->wq_lock);
		break;
	case K_LMKD_POOL:
		/* Reaper::async_kill(): only when a thread is free */
		pthread_mutex_lock(&r->wq_lock);
		if (r->lmkd_active < r->pool_started) {
			r->lmkd_active++;
			v->busy++;
			v->next = NULL;
			*r->lmkd_tail = v;
			r->lmkd_tail = &v->next;
			pthread_cond_broadcast(&r->wq);
			pthread_mutex_unlock(&r->wq_lock);
			break;
		}
		pthread_mutex_unlock(&r->wq_lock);
		__atomic_fetch_add(&r->lmkd_kill_only, 1, __ATOMIC_RELAXED);
		victim_kill(v); /* the main loop kills without reaping */
		break;
	}
	return 0;
}

int ks_reap_victim_wait(struct ks_reap_victim *v, struct ks_reap_result *res,
			unsigned int timeout_ms)
{
	struct ks_reap *r;
	int ret;

	if (!v)
		return -EINVAL;
	r = v->r;
	pthread_mutex_lock(&r->wq_lock);
	ret = v->res.killer ? wait_locked(v, timeout_ms) : -ESRCH;
	if (!ret && res) {
		*res = v->res;
		res->pages_exit = res->pages_total - res->pages_reaped;
	}
	pthread_mutex_unlock(&r->wq_lock);
	return ret;
}

int ks_reap_victim_result(const struct ks_reap_victim *v, struct ks_reap_result *res)
{
	struct ks_reap *r;

	if (!v || !res)
		return -EINVAL;
	r = v->r;
	pthread_mutex_lock(&r->wq_lock);
	*res = v->res;
	if (v->exited)
		res->pages_exit = res->pages_total - res->pages_reaped;
	pthread_mutex_unlock(&r->wq_lock);
	return 0;
}

int ks_reap_victim_destroy(struct ks_reap_victim *v)
{
	struct ks_reap *r;
	bool killed;

	if (!v)
		return -EINVAL;
	r = v->r;
	pthread_mutex_lock(&r->wq_lock);
	killed = v->res.killer != NULL;
	pthread_mutex_unlock(&r->wq_lock);
	if (!killed)
		ks_reap_kill(r, v, "wait-exit");
	pthread_mutex_lock(&r->wq_lock);
	wait_locked(v, 0);
	pthread_mutex_unlock(&r->wq_lock);
	pthread_join(v->thread, NULL);
	victim_free_tasks(v, v->nr_threads, false);
	ks_mmdrop(v->mm);
	pthread_mutex_lock(&r->wq_lock);
	r->nr_victims--;
	pthread_mutex_unlock(&r->wq_lock);
	ks_mem_free(r->t_victim, v, v->alloc_size);
	return 0;
}
