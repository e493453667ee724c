// SPDX-License-Identifier: MIT
/*
 * An lmkd-like low-memory killer. Fill memory with VICTIMS processes of
 * SIZE_MB each, then watch memory every POLL_MS as lmkd watches PSI: while
 * more than half of it is still in use, kill the next victim. A killed
 * victim sleeps STALL_MS in D state before it exits and frees its memory
 * itself -- unless the killer frees it first. For each killer strategy of
 * the reap layer, print how fast memory came back and how many processes
 * had to die for it:
 *
 *   wait-exit   SIGKILL, then wait for the exit;
 *   mrelease    SIGKILL, then process_mrelease(pidfd, 0) from lmkd itself;
 *   lmkd-pool   Android's lmkd (reaper.cpp): two threads kill and reap,
 *               lmkd goes on watching;
 *   oom-reaper  the kernel's reaper: it looks 2 s after the kill, so with a
 *               short stall the victim's own exit wins, and meanwhile lmkd
 *               sees the pressure stay and kills more than it needed to.
 *
 * Usage: example_lmkd [VICTIMS [SIZE_MB [STALL_MS [POLL_MS]]]]  (6 32 300 5)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kscale/kscale.h>
#include <kscale/reap.h>

#define MAX_VICTIMS 256

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Anonymous memory the victims still hold, in pages (lmkd reads meminfo). */
static size_t used_pages(struct ks_reap_victim **v, int nr)
{
	size_t pages = 0;

	for (int i = 0; i < nr; i++) {
		struct ks_mm_stats st;

		if (!ks_mm_stats(ks_reap_victim_mm(v[i]), &st))
			pages += st.anon_resident;
	}
	return pages;
}

/* One machine, one killer: fill, kill under pressure, print a row. */
static int run(const char *killer, int nr, int size_mb, int stall_ms, int poll_ms)
{
	struct ks_reap_victim_opts vo = {
		.bytes = (size_t)size_mb << 20,
		.stall_ms = (unsigned int)stall_ms,
	};
	struct ks_reap_victim *v[MAX_VICTIMS];
	struct ks_tasks *tasks = NULL;
	struct ks_reap *reap = NULL;
	size_t limit;
	uint64_t t0 = 0, relieved = 0;
	double sum_ms = 0, max_ms = 0;
	int made = 0, kills = 0, reaped = 0, err;

	err = ks_tasks_create(NULL, &tasks);
	if (!err)
		err = ks_reap_create(tasks, NULL, &reap);
	for (; !err && made < nr; made++)
		err = ks_reap_victim_create(reap, &vo, &v[made]);
	limit = (size_t)nr * (vo.bytes / KS_PAGE_SIZE) / 2;

	/* lmkd's loop: poll, and kill while the pressure lasts */
	if (!err)
		t0 = ks_clock_ns();
	while (!err && !relieved) {
		if (used_pages(v, made) <= limit)
			relieved = ks_clock_ns() - t0;
		else if (kills < made)
			err = ks_reap_kill(reap, v[kills++], killer);
		if (!relieved)
			sleep_ms(poll_ms);
	}

	/* every victim killed: wait for it, and see how soon its memory was back */
	for (int i = 0; i < made; i++) {
		struct ks_reap_result res;

		if (i < kills && !ks_reap_victim_wait(v[i], &res, 0)) {
			double ms = (double)res.freed_ns / 1e6;

			sum_ms += ms;
			max_ms = ms > max_ms ? ms : max_ms;
			reaped += res.freed_by != KS_REAP_FREER_EXIT;
		}
		ks_reap_victim_destroy(v[i]);
	}
	if (!err)
		printf("%-10s %8d %8d %8d %10.1f %10.1f %10.0f %12.1f\n", killer, kills, nr / 2 + nr % 2,
		       reaped, kills ? sum_ms / kills : 0, max_ms,
		       sum_ms > 0 ? (double)size_mb * kills / (sum_ms / 1e3) : 0,
		       (double)relieved / 1e6);
	if (reap && ks_reap_destroy(reap) && !err)
		err = -EBUSY;
	if (tasks && ks_tasks_destroy(tasks) && !err)
		err = -EBUSY;
	return err;
}

int main(int argc, char **argv)
{
	static const char *const killers[] = { "wait-exit", "mrelease", "lmkd-pool", "oom-reaper" };
	int nr = argc > 1 ? atoi(argv[1]) : 6;
	int size_mb = argc > 2 ? atoi(argv[2]) : 32;
	int stall_ms = argc > 3 ? atoi(argv[3]) : 300;
	int poll_ms = argc > 4 ? atoi(argv[4]) : 5;
	int err = 0;

	if (nr < 1 || nr > MAX_VICTIMS || size_mb < 1 || size_mb > 4096 || stall_ms < 0 ||
	    stall_ms > 60000 || poll_ms < 1 || poll_ms > 10000) {
		fprintf(stderr, "usage: %s [VICTIMS (1-%d) [SIZE_MB (1-4096) [STALL_MS [POLL_MS]]]]\n",
			argv[0], MAX_VICTIMS);
		return 2;
	}
	ks_rcu_register_thread();
	printf("%d victims of %d MiB; once killed each sleeps %d ms in D state before it exits.\n"
	       "lmkd polls every %d ms and kills while more than half the memory is in use.\n\n",
	       nr, size_mb, stall_ms, poll_ms);
	printf("%-10s %8s %8s %8s %10s %10s %10s %12s\n", "killer", "kills", "needed", "reaped",
	       "mean ms", "max ms", "MB/s", "relieved ms");
	for (size_t k = 0; !err && k < sizeof(killers) / sizeof(killers[0]); k++) {
		err = run(killers[k], nr, size_mb, stall_ms, poll_ms);
		if (err)
			fprintf(stderr, "%s: %s\n", killers[k], strerror(-err));
	}
	printf("\nkills: victims lmkd killed; needed: the fewest that relieve the pressure;\n"
	       "reaped: freed by a reaper rather than by their own exit; mean/max ms: kill to memory\n"
	       "freed; MB/s: memory freed over the time it took; relieved: first poll under the limit.\n");
	ks_rcu_unregister_thread();
	return err ? 1 : 0;
}
