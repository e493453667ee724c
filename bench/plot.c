// SPDX-License-Identifier: MIT
/*
 * --plot: gnuplot draws ops/s against threads, one line per strategy (and
 * swept parameter value), each with its linear line dashed in the same colour
 * (runtest.py's "linear" column: the 1-thread rate times the thread count, so
 * the gap is what scaling loses). The data goes inline as datablocks: no
 * temporary files besides the output.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <math.h>

#include "kb.h"

bool kb_gnuplot_find(void)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save;
	bool found = false;

	if (!path || !*path)
		return false;
	copy = strdup(path);
	if (!copy)
		return false;
	for (dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
		char full[PATH_MAX];

		snprintf(full, sizeof(full), "%s/gnuplot", *dir ? dir : ".");
		found = access(full, X_OK) == 0;
	}
	free(copy);
	return found;
}

bool kb_results_have_series(const struct kb_result *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!r[i].err && r[i].nr_series)
			return true;
	return false;
}

char *kb_series_path(const char *plot_path)
{
	size_t n = strlen(plot_path);
	char *p = malloc(n + sizeof("-series.svg"));

	if (!p)
		return NULL;
	if (n > 4 && !strcmp(plot_path + n - 4, ".svg"))
		n -= 4;
	memcpy(p, plot_path, n);
	strcpy(p + n, "-series.svg");
	return p;
}

/* A gnuplot single-quoted string: a quote is written twice. */
static void gp_str(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputc('\'', f);
		if (*s != '\n')
			fputc(*s, f);
	}
	fputc('\'', f);
}

/* Whether parameter @j takes more than one value among the results. */
static bool param_varies(const struct kb_result *r, size_t n, int j)
{
	for (size_t i = 1; i < n; i++)
		if (j < r[i].cell->pv.n && strcmp(r[i].cell->pv.value[j], r[0].cell->pv.value[j]))
			return true;
	return false;
}

/* "counter (batch=1)": the workload and the parameters every line shares. */
static void title_of(const struct kb_result *r, size_t n, char *buf, size_t len)
{
	size_t used = (size_t)snprintf(buf, len, "%s", r[0].cell->w->name);
	int k = 0;

	for (int j = 0; j < r[0].cell->pv.n && used < len; j++) {
		if (param_varies(r, n, j))
			continue;
		used += (size_t)snprintf(buf + used, len - used, "%s%s=%s", k++ ? " " : " (",
					 r[0].cell->pv.name[j], r[0].cell->pv.value[j]);
	}
	if (k && used < len)
		snprintf(buf + used, len - used, ")");
}

/* "percpu batch=4": the strategy and the parameters that vary. */
static void label_of(const struct kb_result *r, size_t n, const struct kb_result *x, char *buf,
		     size_t len)
{
	size_t used = (size_t)snprintf(buf, len, "%s", x->cell->strategy);

	for (int j = 0; j < x->cell->pv.n && used < len; j++)
		if (param_varies(r, n, j))
			used += (size_t)snprintf(buf + used, len - used, " %s=%s",
						 x->cell->pv.name[j], x->cell->pv.value[j]);
}

static bool same_line(const struct kb_result *a, const struct kb_result *b)
{
	return a->cell->w == b->cell->w && !strcmp(a->cell->strategy, b->cell->strategy) &&
	       a->cell->combo == b->cell->combo;
}

static void gp_header(FILE *gp, const char *out, const char *title, const char *size)
{
	fprintf(gp, "set terminal svg size %s dynamic noenhanced font 'sans,11'\n", size);
	fputs("set output ", gp);
	gp_str(gp, out);
	fputs("\nset title ", gp);
	gp_str(gp, title);
	fputs("\nset grid\nset key top left\n", gp);
}

/* A tic at every thread count measured, when they are few enough to read. */
static void write_xtics(FILE *gp, const struct kb_result *r, size_t n)
{
	int seen[17], ns = 0;

	for (size_t i = 0; i < n; i++) {
		bool dup = false;

		for (int k = 0; k < ns; k++)
			dup |= seen[k] == r[i].cell->threads;
		if (dup)
			continue;
		if (ns == (int)KS_ARRAY_SIZE(seen))
			return;
		seen[ns++] = r[i].cell->threads;
	}
	fputs("set xtics (", gp);
	for (int k = 0; k < ns; k++)
		fprintf(gp, "%s%d", k ? ", " : "", seen[k]);
	fputs(")\n", gp);
}

/* ops/s against threads. Lines are identified by their first result. */
static void write_scaling(FILE *gp, const char *out, const struct kb_result *r, size_t n)
{
	char title[512], label[512];
	int nl = 0, col = 0;

	title_of(r, n, title, sizeof(title));
	strncat(title, ": ops/s against threads", sizeof(title) - strlen(title) - 1);
	gp_header(gp, out, title, "900,600");
	fputs("set xlabel 'threads'\nset ylabel 'ops/s'\nset yrange [0:*]\n"
	      "set format y '%.1s%c'\nset format x '%.0f'\n",
	      gp);
	write_xtics(gp, r, n);
	for (size_t i = 0; i < n; i++) {
		bool first = true;

		for (size_t k = 0; k < i && first; k++)
			first = !same_line(&r[k], &r[i]);
		if (!first)
			continue;
		fprintf(gp, "$d%zu << EOD\n", i);
		for (size_t k = i; k < n; k++)
			if (same_line(&r[k], &r[i]) && !r[k].err)
				fprintf(gp, "%d %.10g %.10g\n", r[k].cell->threads,
					r[k].ops_per_sec, r[k].linear);
		fputs("EOD\n", gp);
	}
	for (size_t i = 0; i < n; i++) {
		bool first = true, ok = false, lin = false;

		for (size_t k = 0; k < i && first; k++)
			first = !same_line(&r[k], &r[i]);
		for (size_t k = i; first && k < n; k++) {
			if (same_line(&r[k], &r[i]) && !r[k].err) {
				ok = true;
				lin |= !isnan(r[k].linear);
			}
		}
		if (!first)
			continue;
		col++;
		if (!ok)
			continue;
		label_of(r, n, &r[i], label, sizeof(label));
		fputs(nl++ ? ", \\\n     " : "plot ", gp);
		fprintf(gp, "$d%zu using 1:2 with linespoints lw 2 pt 7 lc %d title ", i, col);
		gp_str(gp, label);
		if (lin) {
			fprintf(gp, ", \\\n     $d%zu using 1:3 with lines dt 2 lc %d title ", i,
				col);
			strncat(label, " linear", sizeof(label) - strlen(label) - 1);
			gp_str(gp, label);
		}
	}
	if (!nl)
		fputs("set label 'no successful cells' at graph 0.5,0.5 center\n"
		      "set xrange [0:1]\nset yrange [0:1]\nplot 2 notitle\n",
		      gp);
	else
		fputc('\n', gp);
}

/* Every series the workload recorded (first repeat), a panel per series name. */
static void write_series(FILE *gp, const char *out, const struct kb_result *r, size_t n)
{
	const char *names[KB_MAX_SERIES];
	char title[512], label[512];
	int nn = 0, block = 0;

	for (size_t i = 0; i < n; i++) {
		for (size_t s = 0; !r[i].err && s < r[i].nr_series; s++) {
			const char *name = r[i].series[s].s.name ? r[i].series[s].s.name : "";
			bool seen = false;

			for (int k = 0; k < nn; k++)
				seen |= !strcmp(names[k], name);
			if (!seen && nn < KB_MAX_SERIES)
				names[nn++] = name;
		}
	}
	title_of(r, n, title, sizeof(title));
	strncat(title, ": series over time", sizeof(title) - strlen(title) - 1);
	gp_header(gp, out, title, nn > 1 ? "900,1200" : "900,600");
	fprintf(gp, "set multiplot layout %d,1 title ", nn ? nn : 1);
	gp_str(gp, title);
	fputs("\nunset title\nset xlabel 'seconds'\n", gp);
	for (int k = 0; k < nn; k++) {
		const char *unit = "";
		int lines = 0;

		for (size_t i = 0; i < n; i++) {
			for (size_t s = 0; !r[i].err && s < r[i].nr_series; s++) {
				const struct kb_series *x = &r[i].series[s].s;

				if (r[i].series[s].repeat ||
				    strcmp(x->name ? x->name : "", names[k]))
					continue;
				unit = x->unit ? x->unit : "";
				fprintf(gp, "$s%d << EOD\n", block + lines++);
				for (size_t p = 0; p < x->n; p++)
					fprintf(gp, "%.10g %.10g\n", x->t_s[p], x->value[p]);
				fputs("EOD\n", gp);
			}
		}
		snprintf(label, sizeof(label), "%s (%s)", names[k], unit);
		fputs("set ylabel ", gp);
		gp_str(gp, label);
		fputc('\n', gp);
		lines = 0;
		for (size_t i = 0; i < n; i++) {
			for (size_t s = 0; !r[i].err && s < r[i].nr_series; s++) {
				const struct kb_series *x = &r[i].series[s].s;
				size_t used;

				if (r[i].series[s].repeat ||
				    strcmp(x->name ? x->name : "", names[k]))
					continue;
				label_of(r, n, &r[i], label, sizeof(label));
				used = strlen(label);
				snprintf(label + used, sizeof(label) - used, " threads=%d",
					 r[i].cell->threads);
				fputs(lines ? ", \\\n     " : "plot ", gp);
				fprintf(gp, "$s%d using 1:2 with lines lw 2 title ",
					block + lines++);
				gp_str(gp, label);
			}
		}
		fputc('\n', gp);
		block += lines;
	}
	fputs("unset multiplot\n", gp);
}

static int run_gnuplot(void (*fn)(FILE *, const char *, const struct kb_result *, size_t),
		       const char *out, const struct kb_result *r, size_t n, struct kb_err *e)
{
	FILE *gp = popen("gnuplot", "w");
	int st;

	if (!gp)
		return kb_errf(e, -errno, "cannot start gnuplot: %s", strerror(errno));
	fn(gp, out, r, n);
	st = pclose(gp);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st))
		return kb_errf(e, -EIO, "gnuplot failed drawing '%s'", out);
	return 0;
}

int kb_plot_write(struct kb_out *o, struct kb_out *series_o, const struct kb_result *r, size_t n,
		  struct kb_err *e)
{
	int ret;

	if (!n)
		return kb_errf(e, -EINVAL, "nothing to plot");
	/* gnuplot writes the temporary file itself; kb_out_commit() renames it. */
	ret = run_gnuplot(write_scaling, o->tmp ? o->tmp : o->path, r, n, e);
	if (!ret && series_o)
		ret = run_gnuplot(write_series, series_o->tmp ? series_o->tmp : series_o->path, r,
				  n, e);
	return ret;
}
