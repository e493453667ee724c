/* SPDX-License-Identifier: MIT */
/* reap: private state shared by reap.c (process_mrelease) and victim.c (killers). */
#ifndef KSCALE_REAP_INTERNAL_H
#define KSCALE_REAP_INTERNAL_H

#include <kscale/lock.h>
#include <kscale/mem.h>
#include <kscale/mm.h>
#include <kscale/reap.h>
#include <kscale/task.h>

#include <pthread.h>

enum reap_check { CHECK_SCAN, CHECK_MM_OWNERS };

struct ks_pid;

/* One descriptor of the table: a pidfd holds a pid reference (pidfs). */
struct pidfd_slot {
	struct ks_pid *pid;
	unsigned int flags;
};

#define RESERVED_FDS 3 /* stdin, stdout, stderr: descriptors that are not pidfds */
#define MAX_POOL 64

struct ks_reap {
	struct ks_tasks *tasks;
	struct ks_mem *mem;
	struct ks_mem_type *t_reap, *t_fdt, *t_victim;
	enum reap_check check;
	unsigned int max_fds;
	struct pidfd_slot *fdt;
	struct ks_spinlock pidfd_lock;
	struct ks_spinlock oom_reaper_lock;
	unsigned int fail_notifier; /* atomic: injected mmu notifier failures left */

	int delay_ms;
	unsigned int retries, retry_ms, pool_size;

	/*
	 * Wait queue for the workload threads (victims, reapers, waiters):
	 * pthread mutex + condition are the scheduler here, not a modelled
	 * kernel lock (the oom_reaper's list is under oom_reaper_lock).
	 */
	pthread_mutex_t wq_lock;
	pthread_cond_t wq;
	int stopping;
	int nr_victims;
	struct ks_reap_victim *oom_head, **oom_tail; /* under oom_reaper_lock */
	struct ks_reap_victim *lmkd_head, **lmkd_tail; /* under wq_lock */
	unsigned int lmkd_active;                      /* under wq_lock */
	pthread_t oom_thread;
	int oom_started;
	pthread_t pool[MAX_POOL];
	unsigned int pool_started;

	/* counters (atomic) */
	uint64_t mrelease_calls, mrelease_ok, checks, scans, scan_visits, pages_reaped;
	uint64_t oom_runs, oom_retries, oom_gave_up, lmkd_kill_only;
	int64_t pidfds_open;
};

/* What one process_mrelease() did, for the victim's result. */
struct mrelease_out {
	int visits;
	size_t pages;
};

int reap_mrelease_task(struct ks_reap *r, struct ks_task *task, int (*fatal)(void *), void *arg,
		       struct mrelease_out *o);
int reap_oom_reap_mm(struct ks_reap *r, struct ks_mm *mm, size_t *pages);
void reap_victims_stop(struct ks_reap *r);
extern const size_t reap_victim_objsize;

#endif /* KSCALE_REAP_INTERNAL_H */
