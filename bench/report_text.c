// SPDX-License-Identifier: MIT
/*
 * Reporters for people (the table on stdout) and for scripts (long-form CSV).
 *
 * The CSV header is snake_case and nothing else ([a-z_,]): LKP's
 * stats/will-it-scale parser and most kernel scripts reject anything else
 * ("ops/s" breaks them). Rows are long form, one per cell, so a strategy is
 * a value, not a column, and adding one changes no header.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kb.h"

int kb_grid_init(struct kb_grid *g, int nc, const char *const *hdr, unsigned left)
{
	memset(g, 0, sizeof(*g));
	g->nc = nc;
	g->left = left;
	return kb_grid_add(g, hdr);
}

int kb_grid_add(struct kb_grid *g, const char *const *row)
{
	if (g->nr == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 16;
		char **c = realloc(g->cells, cap * g->nc * sizeof(*c));

		if (!c)
			return -ENOMEM;
		g->cells = c;
		g->cap = cap;
	}
	for (int i = 0; i < g->nc; i++) {
		g->cells[g->nr * g->nc + i] = strdup(row[i] ? row[i] : "");
		if (!g->cells[g->nr * g->nc + i]) {
			while (i--)
				free(g->cells[g->nr * g->nc + i]);
			return -ENOMEM;
		}
	}
	g->nr++;
	return 0;
}

int kb_grid_print(const struct kb_grid *g, FILE *f)
{
	int w[64] = {0};

	if (g->nc > (int)KS_ARRAY_SIZE(w))
		return -EINVAL;
	for (size_t r = 0; r < g->nr; r++)
		for (int c = 0; c < g->nc; c++) {
			int l = (int)strlen(g->cells[r * g->nc + c]);

			w[c] = l > w[c] ? l : w[c];
		}
	for (size_t r = 0; r < g->nr; r++) {
		for (int c = 0; c < g->nc; c++) {
			const char *s = g->cells[r * g->nc + c];
			bool left = g->left & (1u << c);
			bool last = c == g->nc - 1;

			if (left && last)
				fprintf(f, "%s", s);
			else
				fprintf(f, left ? "%-*s" : "%*s", w[c], s);
			fputs(last ? "\n" : "  ", f);
		}
	}
	return ferror(f) ? -EIO : 0;
}

void kb_grid_fini(struct kb_grid *g)
{
	for (size_t i = 0; i < g->nr * g->nc; i++)
		free(g->cells[i]);
	free(g->cells);
	memset(g, 0, sizeof(*g));
}

static bool any_params(const struct kb_result *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (r[i].cell->pv.n)
			return true;
	return false;
}

static bool many_workloads(const struct kb_result *r, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (r[i].cell->w != r[0].cell->w)
			return true;
	return false;
}

enum {
	COL_WORKLOAD,
	COL_STRATEGY,
	COL_THREADS,
	COL_PARAMS,
	COL_OPS,
	COL_OPS_THREAD,
	COL_EFFICIENCY,
	COL_LINEAR,
	COL_FAIRNESS,
	COL_CPU,
	COL_LOCK_ACQ,
	COL_LOCK_BOUNCES,
	COL_BYTES,
	COL_STATUS,
	NR_COLS,
};

int kb_table_print(FILE *f, const struct kb_result *r, size_t n)
{
	static const char *const hdr[NR_COLS] = {
		"workload",	"strategy",   "threads",  "params",   "ops/s",
		"ops/s/thread", "efficiency", "linear",	  "fairness", "cpu ns/op",
		"lock acq/op",	"bounces/op", "bytes/op", "status",
	};
	bool show_w = many_workloads(r, n), show_p = any_params(r, n);
	const char *h[NR_COLS];
	unsigned left = 0;
	struct kb_grid g;
	int nc = 0, ret;

	/* Drop the columns that say nothing in this run. */
	for (int c = 0; c < NR_COLS; c++) {
		if ((c == COL_WORKLOAD && !show_w) || (c == COL_PARAMS && !show_p))
			continue;
		if (c == COL_WORKLOAD || c == COL_STRATEGY || c == COL_PARAMS || c == COL_STATUS)
			left |= 1u << nc;
		h[nc++] = hdr[c];
	}
	ret = kb_grid_init(&g, nc, h, left);
	for (size_t i = 0; !ret && i < n; i++) {
		const struct kb_result *x = &r[i];
		char b[NR_COLS][96];
		const char *row[NR_COLS];
		int k = 0;

		if (show_w)
			row[k++] = x->cell->w->name;
		row[k++] = x->cell->strategy;
		snprintf(b[COL_THREADS], sizeof(b[0]), "%d", x->cell->threads);
		row[k++] = b[COL_THREADS];
		if (show_p) {
			kb_params_format(&x->cell->pv, b[COL_PARAMS], sizeof(b[0]));
			row[k++] = b[COL_PARAMS];
		}
		row[k++] = kb_fmt_num(b[COL_OPS], sizeof(b[0]), x->ops_per_sec, 0);
		row[k++] =
			kb_fmt_num(b[COL_OPS_THREAD], sizeof(b[0]), x->ops_per_sec_per_thread, 0);
		row[k++] = kb_fmt_num(b[COL_EFFICIENCY], sizeof(b[0]), x->efficiency, 2);
		row[k++] = kb_fmt_num(b[COL_LINEAR], sizeof(b[0]), x->linear, 0);
		if (isnan(x->fairness_pct))
			snprintf(b[COL_FAIRNESS], sizeof(b[0]), "-");
		else
			snprintf(b[COL_FAIRNESS], sizeof(b[0]), "%.1f%%", x->fairness_pct);
		row[k++] = b[COL_FAIRNESS];
		row[k++] = kb_fmt_num(b[COL_CPU], sizeof(b[0]), x->cpu_ns_per_op, 2);
		row[k++] = kb_fmt_num(b[COL_LOCK_ACQ], sizeof(b[0]), x->lock_acq_per_op, 3);
		row[k++] = kb_fmt_num(b[COL_LOCK_BOUNCES], sizeof(b[0]), x->lock_bounces_per_op, 3);
		row[k++] = kb_fmt_num(b[COL_BYTES], sizeof(b[0]), x->bytes_allocated_per_op, 1);
		row[k++] = x->err ? "FAILED" : "ok";
		ret = kb_grid_add(&g, row);
	}
	if (!ret)
		ret = kb_grid_print(&g, f);
	kb_grid_fini(&g);
	/*
	 * Threads that did not get their CPUs (a busy machine, a synthetic
	 * topology with more CPUs than the machine) make ops/s a measure of the
	 * scheduler: say so under the table rather than let it pass.
	 */
	{
		double lo = INFINITY;

		for (size_t i = 0; i < n; i++)
			if (!r[i].err && r[i].cpu_utilization < lo)
				lo = r[i].cpu_utilization;
		if (!ret && lo < 0.8)
			fprintf(f,
				"note: some cells' threads ran only %.0f%% of the time (a busy "
				"machine, or "
				"more threads than CPUs): their ops/s understate; cpu ns/op does "
				"not\n",
				lo * 100);
	}
	/* Why a cell failed, under the table: too long for a column. */
	for (size_t i = 0; !ret && i < n; i++) {
		char p[512];

		if (!r[i].err)
			continue;
		kb_params_format(&r[i].cell->pv, p, sizeof(p));
		fprintf(f, "FAILED %s %s threads=%d%s%s: %s\n", r[i].cell->w->name,
			r[i].cell->strategy, r[i].cell->threads, *p ? " " : "", p, r[i].errmsg);
	}
	return ret;
}

/* A CSV field, quoted (RFC 4180) when it holds a separator or a quote. */
static void csv_str(FILE *f, const char *s, bool last)
{
	if (strpbrk(s, ",\"\n\r")) {
		fputc('"', f);
		for (; *s; s++) {
			if (*s == '"')
				fputc('"', f);
			fputc(*s, f);
		}
		fputc('"', f);
	} else {
		fputs(s, f);
	}
	fputc(last ? '\n' : ',', f);
}

/* A number; an empty field when there is none (a failed cell, no 1-thread cell). */
static void csv_num(FILE *f, double v)
{
	if (!isnan(v))
		fprintf(f, "%.10g", v);
	fputc(',', f);
}

int kb_csv_write(FILE *f, const struct kb_result *r, size_t n)
{
	fputs("workload,strategy,threads,params,ops_per_sec,ops_per_sec_per_thread,efficiency,"
	      "linear,fairness_pct,lock_acq_per_op,lock_bounces_per_op,bytes_allocated_per_op,"
	      "status\n",
	      f);
	for (size_t i = 0; i < n; i++) {
		const struct kb_result *x = &r[i];
		char p[1024];

		kb_params_format(&x->cell->pv, p, sizeof(p));
		csv_str(f, x->cell->w->name, false);
		csv_str(f, x->cell->strategy, false);
		fprintf(f, "%d,", x->cell->threads);
		csv_str(f, p, false);
		csv_num(f, x->ops_per_sec);
		csv_num(f, x->ops_per_sec_per_thread);
		csv_num(f, x->efficiency);
		csv_num(f, x->linear);
		csv_num(f, x->fairness_pct);
		csv_num(f, x->lock_acq_per_op);
		csv_num(f, x->lock_bounces_per_op);
		csv_num(f, x->bytes_allocated_per_op);
		csv_str(f, x->err ? "failed" : "ok", true);
	}
	return ferror(f) ? -EIO : 0;
}
