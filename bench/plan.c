// SPDX-License-Identifier: MIT
/*
 * The plan: workload x parameter combinations x strategies x thread counts,
 * each cell measured `repeat` times. Everything the user typed is checked
 * here, before anything runs, so bad input never costs a measurement.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kb.h"

int kb_plan_init(struct kb_plan *p, const char *spec, struct kb_err *e)
{
	int ret;

	memset(p, 0, sizeof(*p));
	p->duration_s = 5;
	p->warmup_s = 1;
	p->repeat = 1;
	if (!spec)
		spec = "real";
	ret = ks_topo_create(spec, &p->topo);
	if (ret)
		return kb_errf(e, ret, "topology '%s' rejected: %s", spec, strerror(-ret));
	return 0;
}

void kb_plan_fini(struct kb_plan *p)
{
	if (!p)
		return;
	free(p->cells);
	ks_topo_destroy(p->topo);
	memset(p, 0, sizeof(*p));
}

int kb_strategies_parse(const struct kb_workload *w, const char *s, const char **out, int *n,
			struct kb_err *e)
{
	char buf[1024], *tok, *save;
	int k = 0;

	if (!s || !strcmp(s, "all")) {
		for (const char *const *p = w->strategies; *p; p++) {
			if (k == KB_MAX_STRATEGIES)
				return kb_errf(e, -E2BIG, "workload '%s': too many strategies",
					       w->name);
			out[k++] = *p;
		}
		*n = k;
		return 0;
	}
	if (!*s || strlen(s) >= sizeof(buf) || s[strlen(s) - 1] == ',' || strstr(s, ",,") ||
	    *s == ',')
		return kb_errf(e, -EINVAL, "strategy list '%s': expected 'all' or names like a,b",
			       s);
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		const char *const *p;
		bool dup = false;

		for (p = w->strategies; *p && strcmp(*p, tok); p++)
			;
		if (!*p) {
			char known[512] = "";

			for (p = w->strategies; *p; p++) {
				strncat(known, p == w->strategies ? "" : ", ",
					sizeof(known) - strlen(known) - 1);
				strncat(known, *p, sizeof(known) - strlen(known) - 1);
			}
			return kb_errf(e, -EINVAL,
				       "workload '%s' has no strategy '%s' (it has: %s)", w->name,
				       tok, known);
		}
		for (int i = 0; i < k; i++)
			dup |= out[i] == *p;
		if (dup)
			continue;
		if (k == KB_MAX_STRATEGIES)
			return kb_errf(e, -E2BIG, "strategy list '%s': too many", s);
		out[k++] = *p; /* the workload's string: it outlives the plan */
	}
	*n = k;
	return 0;
}

static int plan_push(struct kb_plan *p, const struct kb_plan_cell *c)
{
	if (p->nr_cells == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		struct kb_plan_cell *n = realloc(p->cells, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		p->cells = n;
		p->cap = cap;
	}
	p->cells[p->nr_cells++] = *c;
	return 0;
}

int kb_plan_add(struct kb_plan *p, const struct kb_plan_req *r, struct kb_sweep *sweep,
		struct kb_err *e)
{
	const char *strat[KB_MAX_STRATEGIES];
	int *threads, nr_threads, nr_strat, nr_cpus, ret;
	size_t combos;

	if (!p || !r || !r->w || !sweep)
		return kb_errf(e, -EINVAL, "internal: empty plan request");
	ret = kb_sweep_init(sweep, r->w, e);
	if (ret)
		return ret;
	nr_cpus = ks_topo_nr_cpus(p->topo);
	if (nr_cpus < 1)
		return kb_errf(e, -EINVAL, "topology has no CPUs");
	ret = kb_strategies_parse(r->w, r->strategies, strat, &nr_strat, e);
	if (ret)
		return ret;
	threads = calloc(KB_MAX_THREAD_COUNTS, sizeof(*threads));
	if (!threads)
		return kb_errf(e, -ENOMEM, "out of memory");
	if (r->threads) {
		ret = kb_threads_parse(r->threads, nr_cpus, threads, KB_MAX_THREAD_COUNTS,
				       &nr_threads, e);
	} else {
		nr_threads = kb_threads_default(nr_cpus, threads, KB_MAX_THREAD_COUNTS);
		ret = nr_threads < 0 ? kb_errf(e, nr_threads, "no default thread list") : 0;
	}
	for (int i = 0; !ret && i < r->nr_params; i++)
		ret = kb_sweep_add(sweep, r->params[i], e);
	if (!ret)
		ret = kb_sweep_add_list(sweep, r->param_list, e);
	combos = kb_sweep_count(sweep);
	for (size_t c = 0; !ret && c < combos; c++) {
		for (int s = 0; !ret && s < nr_strat; s++) {
			for (int t = 0; !ret && t < nr_threads; t++) {
				struct kb_plan_cell cell = {
					.w = r->w,
					.strategy = strat[s],
					.threads = threads[t],
					.group = p->nr_groups,
					.combo = c,
					.duration_s =
						r->duration_s > 0 ? r->duration_s : p->duration_s,
					.warmup_s = r->warmup_s >= 0 ? r->warmup_s : p->warmup_s,
				};

				kb_sweep_get(sweep, c, &cell.pv);
				if (plan_push(p, &cell))
					ret = kb_errf(e, -ENOMEM, "out of memory");
			}
		}
	}
	free(threads);
	p->nr_groups++;
	return ret;
}
