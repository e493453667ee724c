// SPDX-License-Identifier: MIT
/*
 * `kscale-bench pid-replay --strategy S --pid-max N1[,N2,...] [FILE]`: replay
 * a pid trace against a strategy (see pid_replay.h). tests/oracle/oracle_pid.c
 * records such traces from the running kernel; tests/data/ holds one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <kscale/kscale.h>

#include "command.h"
#include "pid_replay.h"

static const char *errno_name(int err)
{
	switch (err) {
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EINVAL: return "EINVAL";
	case EEXIST: return "EEXIST";
	case EPERM: return "EPERM";
	default: return NULL;
	}
}

/* "A 12 3" / "F 12 3": @pid's numbers, outermost first. */
static void print_numbers(FILE *out, char op, struct ks_pid *pid, struct ks_pid_ns **chain,
			  int nlevels)
{
	fputc(op, out);
	for (int i = 0; i < nlevels; i++)
		fprintf(out, " %d", ks_pid_nr_ns(pid, chain[i]));
	fputc('\n', out);
}

struct replay {
	struct ks_pid_space *s;
	struct ks_pid_ns *chain[KS_PID_MAX_LEVEL + 1];
	int nlevels;
};

static int replay_setup(struct replay *r, const char *strategy, const int *pid_max,
			int nlevels, char *err, size_t errlen)
{
	/*
	 * One CPU for the bounds: pid_max may go down to 301 as on a small
	 * machine; the numbers do not depend on the CPU count otherwise.
	 */
	struct ks_pid_opts o = { .nr_cpus = 1, .pid_max = pid_max[0] };
	struct ks_pid *init;
	int e;

	e = ks_pid_space_create(strategy, &o, &r->s);
	if (e == -ENOENT) {
		snprintf(err, errlen, "unknown pid strategy '%s'", strategy);
		return 2;
	}
	if (e) {
		snprintf(err, errlen, "pid space (pid_max %d): %s", pid_max[0], strerror(-e));
		return 2;
	}
	ks_pid_ns_root(r->s, &r->chain[0]);
	for (int i = 0; i < nlevels; i++) {
		if (i) {
			e = ks_pid_ns_create(r->chain[i - 1], &r->chain[i]);
			if (!e)
				e = ks_pid_ns_set_pid_max(r->chain[i], pid_max[i]);
			if (e) {
				snprintf(err, errlen, "namespace %d (pid_max %d): %s", i + 1,
					 pid_max[i], strerror(-e));
				return 2;
			}
		}
		/* each namespace's init, allocated in turn */
		e = ks_pid_alloc(r->chain[i], NULL, 0, 0, &init);
		if (e) {
			snprintf(err, errlen, "init of namespace %d: %s", i + 1, strerror(-e));
			return 1;
		}
	}
	r->nlevels = nlevels;
	return 0;
}

/* Parse "F a b c": the last number is the innermost. */
static int last_number(const char *p, int *nr)
{
	int n = 0;

	for (;;) {
		char *end;
		long v;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '\n' || *p == '\r')
			break;
		v = strtol(p, &end, 10);
		if (end == p || v < 1 || v > KS_PID_MAX_LIMIT)
			return -EINVAL;
		*nr = (int)v;
		n++;
		p = end;
	}
	return n ? 0 : -EINVAL;
}

static int replay_line(struct replay *r, const char *line, FILE *out, char *why, size_t len)
{
	struct ks_pid_ns *inner = r->chain[r->nlevels - 1];
	struct ks_pid *pid;
	int nr, e;

	if (line[0] == '#' || line[0] == '\n' || line[0] == '\r' || !line[0]) {
		fputs(line, out);
		if (line[0] && line[strlen(line) - 1] != '\n')
			fputc('\n', out);
		return 0;
	}
	if (line[0] == 'A' && (line[1] == ' ' || line[1] == '\t' || line[1] == '\n' ||
			       line[1] == '\r' || !line[1])) {
		e = ks_pid_alloc(inner, NULL, 0, 0, &pid);
		if (e) {
			const char *n = errno_name(-e);

			if (n)
				fprintf(out, "A %s\n", n);
			else
				fprintf(out, "A E%d\n", -e);
			return 0;
		}
		print_numbers(out, 'A', pid, r->chain, r->nlevels);
		return 0;
	}
	if (line[0] == 'F' && (line[1] == ' ' || line[1] == '\t')) {
		if (last_number(line + 1, &nr)) {
			snprintf(why, len, "'F' needs numbers");
			return 2;
		}
		e = ks_pid_lookup_get(inner, nr, &pid);
		if (e) {
			snprintf(why, len, "no live pid %d to free", nr);
			return 2;
		}
		print_numbers(out, 'F', pid, r->chain, r->nlevels);
		e = ks_pid_free(pid);
		ks_pid_put(pid);
		if (e) {
			snprintf(why, len, "free of pid %d: %s", nr, strerror(-e));
			return 1;
		}
		return 0;
	}
	snprintf(why, len, "expected 'A', 'F <nr>...' or '#'");
	return 2;
}

int kb_pid_replay(const char *strategy, const int *pid_max, int nlevels, FILE *in,
		  FILE *out, const char *name, char *err, size_t errlen)
{
	bool registered = ks_rcu_thread_registered();
	struct replay r = { 0 };
	char *line = NULL, why[128];
	size_t cap = 0;
	long lineno = 0;
	int ret;

	if (!strategy || !pid_max || nlevels < 1 || nlevels > KS_PID_MAX_LEVEL + 1 || !in ||
	    !out) {
		snprintf(err, errlen, "bad arguments");
		return 2;
	}
	if (!registered)
		ks_rcu_register_thread();
	ret = replay_setup(&r, strategy, pid_max, nlevels, err, errlen);
	while (!ret && getline(&line, &cap, in) > 0) {
		lineno++;
		ret = replay_line(&r, line, out, why, sizeof(why));
		if (ret) {
			size_t l = strlen(line);

			while (l && (line[l - 1] == '\n' || line[l - 1] == '\r'))
				line[--l] = '\0';
			snprintf(err, errlen, "%s:%ld: %s: %s", name ? name : "<stdin>", lineno,
				 line, why);
		}
	}
	free(line);
	if (r.s)
		ks_pid_space_destroy(r.s);
	if (!registered)
		ks_rcu_unregister_thread();
	return ret;
}

/* ---- the command --------------------------------------------------------- */

static int parse_pid_max(const char *arg, int *pid_max, int *n)
{
	const char *p = arg;

	*n = 0;
	while (*p) {
		char *end;
		long v = strtol(p, &end, 10);

		if (end == p || v < 1 || v > KS_PID_MAX_LIMIT || *n == KS_PID_MAX_LEVEL + 1)
			return -EINVAL;
		pid_max[(*n)++] = (int)v;
		if (*end == ',')
			end++;
		else if (*end)
			return -EINVAL;
		p = end;
	}
	return *n ? 0 : -EINVAL;
}

static int usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, "kscale-bench: pid-replay: %s%s%s\n", msg, arg ? " " : "",
		arg ? arg : "");
	return 2;
}

static int pid_replay_main(int argc, char **argv)
{
	int pid_max[KS_PID_MAX_LEVEL + 1], nlevels = 0;
	const char *strategy = NULL, *file = NULL;
	char err[512];
	FILE *in = stdin;
	int ret;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--strategy") && i + 1 < argc) {
			strategy = argv[++i];
		} else if (!strncmp(argv[i], "--strategy=", 11)) {
			strategy = argv[i] + 11;
		} else if (!strcmp(argv[i], "--pid-max") && i + 1 < argc) {
			if (parse_pid_max(argv[++i], pid_max, &nlevels))
				return usage_error("bad --pid-max", argv[i]);
		} else if (!strncmp(argv[i], "--pid-max=", 10)) {
			if (parse_pid_max(argv[i] + 10, pid_max, &nlevels))
				return usage_error("bad --pid-max", argv[i] + 10);
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return usage_error("unknown option", argv[i]);
		} else if (!file) {
			file = argv[i];
		} else {
			return usage_error("more than one trace file:", argv[i]);
		}
	}
	if (!strategy)
		return usage_error("--strategy S is required", NULL);
	if (!nlevels)
		return usage_error("--pid-max N1[,N2,...] is required", NULL);
	if (file && strcmp(file, "-")) {
		in = fopen(file, "r");
		if (!in) {
			fprintf(stderr, "kscale-bench: pid-replay: %s: %s\n", file, strerror(errno));
			return 2;
		}
	}
	ret = kb_pid_replay(strategy, pid_max, nlevels, in, stdout, file ? file : "<stdin>",
			    err, sizeof(err));
	if (in != stdin)
		fclose(in);
	fflush(stdout);
	if (ret)
		fprintf(stderr, "kscale-bench: pid-replay: %s\n", err);
	return ret;
}

static const struct kb_command pid_replay_cmd = {
	.name = "pid-replay",
	.usage = "pid-replay --strategy S --pid-max N1[,N2,...] [FILE]",
	.summary = "replay a pid trace (A / F <nr>...) against a pid strategy, "
		   "printing its numbers outermost first",
	.main = pid_replay_main,
};
KB_COMMAND_REGISTER(pid_replay_cmd)
