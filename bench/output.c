// SPDX-License-Identifier: MIT
/*
 * Output files, progress and small formatting helpers.
 *
 * An output file is opened as a temporary file in the target's directory
 * before anything runs (so a path that cannot be written is bad input, found
 * at once) and renamed over the target at the end: a reader never sees a
 * half-written file, and an interrupted run leaves the old one in place.
 */
#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kb.h"

/*
 * The temporary files not yet committed, so that Ctrl-C during a long run
 * removes them (unlink() is async-signal-safe) instead of leaving
 * ".r.json.XXXXXX" behind. Touched only by the main thread and its handler.
 */
static char *volatile pending[16];

static void pending_signal(int sig)
{
	for (size_t i = 0; i < KS_ARRAY_SIZE(pending); i++)
		if (pending[i])
			unlink(pending[i]);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void pending_add(char *tmp)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	static bool installed;

	if (!installed) {
		struct sigaction sa = {.sa_handler = pending_signal};

		sigemptyset(&sa.sa_mask);
		for (size_t i = 0; i < KS_ARRAY_SIZE(sigs); i++)
			sigaction(sigs[i], &sa, NULL);
		installed = true;
	}
	for (size_t i = 0; i < KS_ARRAY_SIZE(pending); i++) {
		if (!pending[i]) {
			pending[i] = tmp;
			return;
		}
	}
}

static void pending_del(const char *tmp)
{
	for (size_t i = 0; tmp && i < KS_ARRAY_SIZE(pending); i++)
		if (pending[i] == tmp)
			pending[i] = NULL;
}

/*
 * Whether @path may be replaced by renaming a temporary file over it: only a
 * regular file or a new name. Renaming over a symlink would replace the link
 * (over /dev/stdout, the system's), and a device or a pipe is not a file to
 * replace: those are written in place.
 */
static bool replaceable(const char *path)
{
	struct stat st;

	if (!strncmp(path, "/dev/", 5) || !strncmp(path, "/proc/", 6))
		return false;
	if (lstat(path, &st))
		return errno == ENOENT;
	return S_ISREG(st.st_mode);
}

int kb_out_open(struct kb_out *o, const char *path, struct kb_err *e)
{
	char *d = NULL, *b = NULL, *dir, *base;
	struct stat st;
	mode_t mask;
	int fd;

	memset(o, 0, sizeof(*o));
	if (!path || !*path)
		return kb_errf(e, -EINVAL, "output file name is empty");
	if (!stat(path, &st) && S_ISDIR(st.st_mode))
		return kb_errf(e, -EISDIR, "cannot write '%s': it is a directory", path);
	o->path = strdup(path);
	d = strdup(path);
	b = strdup(path);
	if (!o->path || !d || !b) {
		free(d);
		free(b);
		kb_out_abort(o);
		return kb_errf(e, -ENOMEM, "out of memory");
	}
	dir = dirname(d);
	base = basename(b);
	if (!replaceable(path)) {
		/* A device, a pipe, /dev/stdout or a symlink: never rename over it. */
		o->f = fopen(path, "w");
		fd = o->f ? 0 : -1;
	} else if (asprintf(&o->tmp, "%s/.%s.XXXXXX", dir, base) < 0) {
		o->tmp = NULL;
		fd = -1;
		errno = ENOMEM;
	} else {
		fd = mkstemp(o->tmp);
		if (fd < 0) {
			free(o->tmp);
			o->tmp = NULL;
		} else {
			pending_add(o->tmp);
			/* mkstemp makes 0600; give the file what fopen would. */
			mask = umask(0);
			umask(mask);
			(void)fchmod(fd, 0666 & ~mask); /* else it stays private */
			o->f = fdopen(fd, "w");
			if (!o->f)
				close(fd);
		}
	}
	free(d);
	free(b);
	if (!o->f) {
		int err = errno;

		kb_out_abort(o);
		return kb_errf(e, -err, "cannot write '%s': %s", path, strerror(err));
	}
	return 0;
}

int kb_out_commit(struct kb_out *o, struct kb_err *e)
{
	int ret = 0;

	if (!o->f)
		return 0;
	errno = 0;
	if (ferror(o->f) | fclose(o->f))
		ret = -(errno ? errno : EIO);
	o->f = NULL;
	if (!ret && o->tmp && rename(o->tmp, o->path))
		ret = -errno;
	if (ret) {
		kb_errf(e, ret, "writing '%s' failed: %s", o->path, strerror(-ret));
		kb_out_abort(o);
		return ret;
	}
	pending_del(o->tmp);
	free(o->tmp);
	free(o->path);
	memset(o, 0, sizeof(*o));
	return 0;
}

void kb_out_abort(struct kb_out *o)
{
	if (!o)
		return;
	if (o->f)
		fclose(o->f);
	if (o->tmp)
		unlink(o->tmp);
	pending_del(o->tmp);
	free(o->tmp);
	free(o->path);
	memset(o, 0, sizeof(*o));
}

/* ---- the outputs of a command ------------------------------------------------ */

int kb_outputs_open(struct kb_outputs *o, const struct kb_run_opts *opts, struct kb_err *e)
{
	const char *paths[] = {opts->json, opts->csv, opts->plot};
	int ret = 0;

	memset(o, 0, sizeof(*o));
	o->format = opts->format;
	for (size_t i = 0; i < KS_ARRAY_SIZE(paths); i++)
		for (size_t j = i + 1; j < KS_ARRAY_SIZE(paths); j++)
			if (paths[i] && paths[j] && !strcmp(paths[i], paths[j]))
				return kb_errf(e, -EINVAL, "'%s' is named for two outputs",
					       paths[i]);
	if (opts->plot && !kb_gnuplot_find())
		return kb_errf(
			e, -ENOENT,
			"--plot needs gnuplot, which is not on PATH (apt-get install gnuplot-nox)");
	if (opts->json)
		ret = kb_out_open(&o->json, opts->json, e);
	if (!ret && opts->csv)
		ret = kb_out_open(&o->csv, opts->csv, e);
	if (!ret && opts->plot)
		ret = kb_out_open(&o->plot, opts->plot, e);
	if (ret)
		kb_outputs_abort(o);
	return ret;
}

int kb_outputs_write(struct kb_outputs *o, const struct kb_report_ctx *ctx,
		     const struct kb_result *r, size_t n, struct kb_err *e)
{
	struct kb_out series = {0};
	int ret = 0;

	if (o->json.f) {
		ret = o->format == KB_FORMAT_GBENCH ? kb_gbench_write(o->json.f, ctx, r, n)
						    : kb_json_write(o->json.f, ctx, r, n);
		ret = ret ? kb_errf(e, ret, "writing '%s' failed", o->json.path)
			  : kb_out_commit(&o->json, e);
	}
	if (!ret && o->csv.f) {
		ret = kb_csv_write(o->csv.f, r, n);
		ret = ret ? kb_errf(e, ret, "writing '%s' failed", o->csv.path)
			  : kb_out_commit(&o->csv, e);
	}
	if (!ret && o->plot.f) {
		if (kb_results_have_series(r, n)) {
			char *sp = kb_series_path(o->plot.path);

			ret = sp ? kb_out_open(&series, sp, e)
				 : kb_errf(e, -ENOMEM, "out of memory");
			free(sp);
		}
		if (!ret)
			ret = kb_plot_write(&o->plot, series.f ? &series : NULL, r, n, e);
		if (!ret && series.f)
			ret = kb_out_commit(&series, e);
		if (!ret)
			ret = kb_out_commit(&o->plot, e);
		kb_out_abort(&series);
	}
	kb_outputs_abort(o);
	return ret;
}

void kb_outputs_abort(struct kb_outputs *o)
{
	kb_out_abort(&o->json);
	kb_out_abort(&o->csv);
	kb_out_abort(&o->plot);
}

/* ---- progress and formatting -------------------------------------------------- */

void kb_progress_stderr(void *arg, size_t step, size_t steps, const struct kb_plan_cell *c,
			int repeat, int nr_repeats)
{
	char params[512] = "";

	kb_params_format(&c->pv, params, sizeof(params));
	fprintf(stderr, "\r\033[K[%zu/%zu] %s %s threads=%d%s%s", step + 1, steps, c->w->name,
		c->strategy, c->threads, *params ? " " : "", params);
	if (nr_repeats > 1)
		fprintf(stderr, " repeat %d/%d", repeat + 1, nr_repeats);
	fprintf(stderr, " ...");
	fflush(stderr);
}

void kb_progress_done(void)
{
	fprintf(stderr, "\r\033[K");
	fflush(stderr);
}

int kb_usage_error(const struct kb_err *e)
{
	fprintf(stderr, "kscale-bench: %s\n", e->msg);
	return KB_EXIT_USAGE;
}

const char *kb_fmt_num(char *buf, size_t len, double v, int decimals)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.*f", decimals, v);
	return buf;
}

const char *kb_fmt_si(char *buf, size_t len, double v)
{
	static const char sfx[] = " kMGTP";
	int i = 0;

	if (isnan(v))
		return kb_fmt_num(buf, len, v, 0);
	while (fabs(v) >= 1000 && i < (int)sizeof(sfx) - 2) {
		v /= 1000;
		i++;
	}
	if (!i)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.*f%c", fabs(v) < 10 ? 2 : fabs(v) < 100 ? 1 : 0, v, sfx[i]);
	return buf;
}
