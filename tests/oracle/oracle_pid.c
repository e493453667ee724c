// SPDX-License-Identifier: MIT
/*
 * The real kernel as the oracle for pid numbering. In a private mount
 * namespace and a fresh pid namespace (what `unshare -p -f --mount-proc`
 * does), with /proc/sys/kernel/pid_max lowered per namespace (Linux 6.14+),
 * the namespace's init runs a seeded random script of forks and reaps and
 * records every child's NSpid; the trace is then replayed (the engine of
 * `kscale-bench pid-replay`) against every strategy flagged
 * KS_PID_KERNEL_NUMBERING, which must print the very same file: wraps to
 * 300, -EAGAIN when full, and, with two nested namespaces, the inner
 * numbers a fork burns when the outer namespace is exhausted.
 *
 * Skips, saying why, when not root, when the kernel has no per-namespace
 * pid_max (writing it from a child namespace would lower the host's) or when
 * unshare(CLONE_NEWPID | CLONE_NEWNS) is refused. KS_PID_ORACLE_SAVE=DIR
 * keeps the recorded traces (tests/data/pid_trace_*.txt came from there).
 */
#define _GNU_SOURCE
#include "ks_test.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pid_replay.h"

#define MAX_LIVE 256

struct script {
	const char *name;
	int levels;
	int pid_max[2];
	unsigned int seed;
	int ops;
	int a_permille; /* probability of a fork per op while below MAX_LIVE */
};

static const struct script scripts[] = {
	{ "one", 1, { 400, 0 }, 12345, 1400, 600 },
	{ "nested", 2, { 400, 1000 }, 777, 1400, 620 },
};

static unsigned int rnd(unsigned int *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static int write_int(const char *path, int v)
{
	char b[32];
	int fd = open(path, O_WRONLY);
	int n, r;

	if (fd < 0)
		return -errno;
	n = snprintf(b, sizeof(b), "%d\n", v);
	r = write(fd, b, n) == n ? 0 : -errno;
	close(fd);
	return r;
}

/* The child: report NSpid (outermost namespace of this /proc first), wait. */
static void child_report(int wfd)
{
	char buf[4096], *p;
	int fd = open("/proc/self/status", O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (n <= 0)
		_exit(3);
	buf[n] = '\0';
	p = strstr(buf, "NSpid:");
	if (!p)
		_exit(4);
	p += 6;
	{
		char line[128];
		int len = 0;

		while (*p && *p != '\n' && len < 120) {
			if (*p == '\t' || *p == ' ') {
				if (len && line[len - 1] != ' ')
					line[len++] = ' ';
			} else {
				line[len++] = *p;
			}
			p++;
		}
		while (len && line[len - 1] == ' ')
			len--;
		line[len++] = '\n';
		if (write(wfd, line, len) != len)
			_exit(5);
	}
	for (;;)
		pause();
}

/* The driver, pid 1 of the innermost namespace: run the script. */
static int driver(const struct script *sc, FILE *out)
{
	pid_t pids[MAX_LIVE];
	char nspid[MAX_LIVE][64];
	unsigned int seed = sc->seed;
	int live = 0, p[2];

	if (pipe(p))
		return 10;
	fprintf(out, "# kernel trace: pid-max %d", sc->pid_max[0]);
	if (sc->levels > 1)
		fprintf(out, ",%d", sc->pid_max[1]);
	fprintf(out, ", seed %u\n", sc->seed);
	for (int op = 0; op < sc->ops; op++) {
		bool fork_it = !live || (live < MAX_LIVE && (int)(rnd(&seed) % 1000) < sc->a_permille);

		if (fork_it) {
			pid_t c;
			char line[64];
			int len = 0;

			fflush(out);
			c = fork();
			if (c == 0) {
				close(p[0]);
				child_report(p[1]);
			}
			if (c < 0) {
				if (errno != EAGAIN)
					return 11;
				fprintf(out, "A EAGAIN\n");
				continue;
			}
			while (len < 63 && read(p[0], &line[len], 1) == 1 && line[len] != '\n')
				len++;
			line[len] = '\0';
			fprintf(out, "A %s\n", line);
			pids[live] = c;
			snprintf(nspid[live], sizeof(nspid[live]), "%s", line);
			live++;
		} else {
			int k = rnd(&seed) % live;

			kill(pids[k], SIGKILL);
			if (waitpid(pids[k], NULL, 0) != pids[k])
				return 12;
			fprintf(out, "F %s\n", nspid[k]);
			pids[k] = pids[live - 1];
			memcpy(nspid[k], nspid[live - 1], sizeof(nspid[k]));
			live--;
		}
	}
	while (live--) {
		kill(pids[live], SIGKILL);
		waitpid(pids[live], NULL, 0);
		fprintf(out, "F %s\n", nspid[live]);
	}
	fflush(out);
	return 0;
}

/*
 * Run @sc in fresh namespaces, trace into @path. Return 0, or a positive
 * code; *why says why it could not run at all (a skip).
 */
static int record(const struct script *sc, const char *path, const char **why)
{
	pid_t p = fork();
	int st;

	if (p < 0)
		return 20;
	if (p == 0) {
		pid_t o;

		if (unshare(CLONE_NEWPID | CLONE_NEWNS))
			_exit(100);
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
			_exit(101);
		o = fork();
		if (o < 0)
			_exit(102);
		if (o == 0) {
			/* pid 1 of the outer namespace: its own /proc */
			FILE *out;

			if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL))
				_exit(103);
			if (write_int("/proc/sys/kernel/pid_max", sc->pid_max[0]))
				_exit(104);
			out = fopen(path, "w");
			if (!out)
				_exit(105);
			if (sc->levels > 1) {
				pid_t i;

				if (unshare(CLONE_NEWPID))
					_exit(106);
				fflush(out);
				i = fork();
				if (i < 0)
					_exit(107);
				if (i == 0) {
					/* pid 1 inside, 2 outside; pid_max of the
					 * namespace of the writer (Linux 6.14+) */
					if (write_int("/proc/sys/kernel/pid_max", sc->pid_max[1]))
						_exit(108);
					_exit(driver(sc, out));
				}
				if (waitpid(i, &st, 0) != i)
					_exit(109);
				_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 110);
			}
			_exit(driver(sc, out));
		}
		if (waitpid(o, &st, 0) != o)
			_exit(111);
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 112);
	}
	if (waitpid(p, &st, 0) != p)
		return 21;
	st = WIFEXITED(st) ? WEXITSTATUS(st) : 22;
	if (st == 100)
		*why = "unshare(CLONE_NEWPID | CLONE_NEWNS) refused";
	else if (st == 101 || st == 103)
		*why = "cannot mount a private /proc";
	else if (st == 104 || st == 108)
		*why = "cannot write pid_max in the new namespace";
	return st;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (n + 4096 > cap) {
			cap = cap ? 2 * cap : 65536;
			buf = realloc(buf, cap);
		}
		size_t r = fread(buf + n, 1, cap - n - 1, f);

		if (!r)
			break;
		n += r;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static const char *skip_reason(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	if (geteuid())
		return "not root";
#if defined(__SANITIZE_THREAD__)
	/*
	 * TSan's runtime starts a background thread in every forked child:
	 * its tid comes from the very pid namespace under test, so the
	 * recorded numbers are not a fork-only trace any more.
	 */
	return "built with ThreadSanitizer (it takes a pid per forked child)";
#endif
	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return "cannot read the kernel version";
	/* before 6.14 pid_max is global: writing it here would lower the host's */
	if (major < 6 || (major == 6 && minor < 14))
		return "kernel older than 6.14 (no per-namespace pid_max)";
	return NULL;
}

static void oracle_script(void **state)
{
	const struct script *sc = *state;
	const struct ks_strategy_info *info;
	const char *why = skip_reason(), *save = getenv("KS_PID_ORACLE_SAVE");
	char path[256], err[512];
	char *kernel, *ours = NULL;
	size_t klen = 0, olen = 0, n = 0;
	int st, checked = 0;

	if (why) {
		fprintf(stderr, "oracle_pid: skipped: %s\n", why);
		skip();
	}
	if (save)
		snprintf(path, sizeof(path), "%s/pid_trace_%s.txt", save, sc->name);
	else
		snprintf(path, sizeof(path), "/tmp/ks_oracle_pid_%d_%s.txt", (int)getpid(), sc->name);
	st = record(sc, path, &why);
	if (why) {
		fprintf(stderr, "oracle_pid: skipped: %s\n", why);
		unlink(path);
		skip();
	}
	assert_int_equal(st, 0);
	kernel = slurp(path, &klen);
	assert_non_null(kernel);
	assert_non_null(strstr(kernel, "EAGAIN")); /* the script reached exhaustion */
	info = ks_pid_strategies(&n);
	for (size_t i = 0; i < n; i++) {
		FILE *in, *out;
		int ret;

		if (!(ks_pid_strategy_flags(info[i].name) & KS_PID_KERNEL_NUMBERING))
			continue;
		in = fopen(path, "r");
		out = open_memstream(&ours, &olen);
		assert_non_null(in);
		assert_non_null(out);
		ret = kb_pid_replay(info[i].name, sc->pid_max, sc->levels, in, out, path, err,
				    sizeof(err));
		fclose(in);
		fclose(out);
		if (ret)
			fail_msg("%s: %s", info[i].name, err);
		if (olen != klen || memcmp(ours, kernel, klen)) {
			size_t k = 0, line = 1;

			while (k < klen && k < olen && ours[k] == kernel[k])
				line += kernel[k++] == '\n';
			fail_msg("%s differs from the kernel at line %zu of %s", info[i].name, line,
				 path);
		}
		free(ours);
		checked++;
	}
	fprintf(stderr, "oracle_pid: %s: %zu bytes of kernel trace, %d strategies agree\n",
		sc->name, klen, checked);
	free(kernel);
	if (!save)
		unlink(path);
}

int main(void)
{
	struct CMUnitTest tests[KS_ARRAY_SIZE(scripts)];

	memset(tests, 0, sizeof(tests));
	for (size_t i = 0; i < KS_ARRAY_SIZE(scripts); i++) {
		tests[i].name = scripts[i].name;
		tests[i].test_func = oracle_script;
		tests[i].initial_state = (void *)&scripts[i];
	}
	return _cmocka_run_group_tests("oracle_pid", tests, KS_ARRAY_SIZE(scripts), NULL, NULL);
}
