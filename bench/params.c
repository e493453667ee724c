// SPDX-License-Identifier: MIT
/*
 * Numbers, thread lists and workload parameters as the user types them, and
 * the small helpers workloads call (kb_param_*, kb_metric_set, kb_series_add).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "kb.h"

int kb_errf(struct kb_err *e, int ret, const char *fmt, ...)
{
	va_list ap;

	if (e) {
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return ret;
}

int kb_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0, mult = 1;
	const char *p = s;

	if (!s || !out || !isdigit((unsigned char)*s))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		uint64_t d = (uint64_t)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	switch (tolower((unsigned char)*p)) {
	case '\0':
		break;
	case 'k':
		mult = 1000;
		break;
	case 'm':
		mult = 1000 * 1000;
		break;
	case 'g':
		mult = 1000 * 1000 * 1000;
		break;
	default:
		return -EINVAL;
	}
	if (*p && p[1])
		return -EINVAL;
	if (v > UINT64_MAX / mult)
		return -EINVAL;
	*out = v * mult;
	return 0;
}

int kb_parse_double(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !out || !*s || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v))
		return -EINVAL;
	*out = v;
	return 0;
}

bool kb_is_number(const char *s)
{
	uint64_t u;
	double d;

	return kb_parse_u64(s, &u) == 0 || kb_parse_double(s, &d) == 0;
}

/* Parse a positive int at *p, advancing it; -EINVAL when there is none. */
static int parse_count(const char **p, long *out)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)**p))
		return -EINVAL;
	errno = 0;
	v = strtol(*p, &end, 10);
	if (errno)
		return -EINVAL;
	*p = end;
	*out = v;
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Sort and drop repeats; returns the new count. */
static int sort_unique(int *v, int n)
{
	int k = 0;

	qsort(v, n, sizeof(*v), cmp_int);
	for (int i = 0; i < n; i++)
		if (!k || v[k - 1] != v[i])
			v[k++] = v[i];
	return k;
}

int kb_threads_parse(const char *s, int nr_cpus, int *out, int max, int *n, struct kb_err *e)
{
	const char *p = s;
	int k = 0;

	if (!s || !out || !n || max <= 0 || nr_cpus <= 0)
		return kb_errf(e, -EINVAL, "thread list: missing");
	if (!*s)
		return kb_errf(e, -EINVAL,
			       "thread list is empty (e.g. --threads 1,2,4 or 1-16 or all)");
	if (!strcmp(s, "all")) {
		if (nr_cpus > max)
			return kb_errf(e, -E2BIG, "thread list 'all': %d counts, at most %d",
				       nr_cpus, max);
		for (int i = 0; i < nr_cpus; i++)
			out[i] = i + 1;
		*n = nr_cpus;
		return 0;
	}
	for (;;) {
		long lo, hi;

		if (*p == '-')
			return kb_errf(e, -EINVAL, "thread list '%s': counts must be positive", s);
		if (parse_count(&p, &lo))
			return kb_errf(
				e, -EINVAL,
				"thread list '%s': expected counts like 1,2,4 or 1-16 or all", s);
		hi = lo;
		if (*p == '-') {
			p++;
			if (parse_count(&p, &hi))
				return kb_errf(e, -EINVAL, "thread list '%s': bad range", s);
			if (hi < lo)
				return kb_errf(e, -EINVAL,
					       "thread list '%s': range %ld-%ld is reversed", s, lo,
					       hi);
		}
		if (lo < 1)
			return kb_errf(e, -EINVAL, "thread list '%s': counts must be at least 1",
				       s);
		if (hi > nr_cpus)
			return kb_errf(
				e, -EINVAL,
				"thread list '%s': %ld threads, but the topology has %d CPUs", s,
				hi, nr_cpus);
		for (long t = lo; t <= hi; t++) {
			if (k == max)
				return kb_errf(e, -E2BIG, "thread list '%s': more than %d counts",
					       s, max);
			out[k++] = (int)t;
		}
		if (!*p)
			break;
		if (*p != ',' || !p[1])
			return kb_errf(
				e, -EINVAL,
				"thread list '%s': expected counts like 1,2,4 or 1-16 or all", s);
		p++;
	}
	*n = sort_unique(out, k);
	return 0;
}

int kb_threads_default(int nr_cpus, int *out, int max)
{
	int k = 0;

	if (!out || max <= 0 || nr_cpus <= 0)
		return -EINVAL;
	for (int t = 1; t < nr_cpus && k < max - 1; t *= 2)
		out[k++] = t;
	out[k++] = nr_cpus;
	return k;
}

/* ---- sweeps ---------------------------------------------------------------- */

static int sweep_find(const struct kb_sweep *s, const char *name, size_t len)
{
	for (int i = 0; i < s->n; i++)
		if (strlen(s->p[i].name) == len && !strncmp(s->p[i].name, name, len))
			return i;
	return -1;
}

int kb_sweep_init(struct kb_sweep *s, const struct kb_workload *w, struct kb_err *e)
{
	if (!s || !w)
		return kb_errf(e, -EINVAL, "internal: no workload for the parameters");
	memset(s, 0, sizeof(*s));
	s->w = w;
	for (const struct kb_param_def *d = w->params; d && d->name; d++) {
		if (s->n == KB_MAX_PARAMS)
			return kb_errf(e, -E2BIG, "workload '%s' declares more than %d parameters",
				       w->name, KB_MAX_PARAMS);
		s->p[s->n].name = d->name;
		s->p[s->n].nv = 1;
		s->p[s->n].v[0] = d->def ? d->def : "";
		s->n++;
	}
	return 0;
}

/* The default of parameter @i, for the "is it a number" rule. */
static const char *sweep_default(const struct kb_sweep *s, int i)
{
	return s->w->params[i].def;
}

int kb_sweep_add(struct kb_sweep *s, const char *arg, struct kb_err *e)
{
	const char *eq = arg ? strchr(arg, '=') : NULL;
	const char *def;
	char *buf, *tok, *save;
	int i, nv = 0;

	if (!s || !arg)
		return kb_errf(e, -EINVAL, "internal: no parameter");
	if (!eq || eq == arg)
		return kb_errf(e, -EINVAL, "parameter '%s': expected name=value", arg);
	i = sweep_find(s, arg, eq - arg);
	if (i < 0) {
		char known[256] = "";

		for (int j = 0; j < s->n; j++) {
			strncat(known, j ? ", " : "", sizeof(known) - strlen(known) - 1);
			strncat(known, s->p[j].name, sizeof(known) - strlen(known) - 1);
		}
		return kb_errf(e, -EINVAL, "workload '%s' has no parameter '%.*s' (it has: %s)",
			       s->w->name, (int)(eq - arg), arg, s->n ? known : "none");
	}
	if (s->p[i].given)
		return kb_errf(e, -EINVAL, "parameter '%s' is given twice", s->p[i].name);
	if (!eq[1] || eq[strlen(eq) - 1] == ',' || strstr(eq, ",,") || eq[1] == ',')
		return kb_errf(e, -EINVAL, "parameter '%s': empty value", arg);
	if (s->nr_bufs == (int)KS_ARRAY_SIZE(s->bufs))
		return kb_errf(e, -E2BIG, "too many parameters");
	buf = strdup(eq + 1);
	if (!buf)
		return kb_errf(e, -ENOMEM, "out of memory");
	s->bufs[s->nr_bufs++] = buf;
	def = sweep_default(s, i);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (nv == KB_MAX_VALUES)
			return kb_errf(e, -E2BIG, "parameter '%s': more than %d values",
				       s->p[i].name, KB_MAX_VALUES);
		/*
		 * The contract has no types: a parameter whose default is a
		 * number takes numbers, so a typo is bad input now rather
		 * than a failed cell later.
		 */
		if (def && kb_is_number(def) && !kb_is_number(tok))
			return kb_errf(e, -EINVAL, "parameter '%s': '%s' is not a number",
				       s->p[i].name, tok);
		s->p[i].v[nv++] = tok;
	}
	s->p[i].nv = nv;
	s->p[i].given = 1;
	return 0;
}

int kb_sweep_add_list(struct kb_sweep *s, const char *list, struct kb_err *e)
{
	char *copy, *tok, *save;
	int ret = 0;

	if (!list || !*list)
		return 0;
	copy = strdup(list);
	if (!copy)
		return kb_errf(e, -ENOMEM, "out of memory");
	for (tok = strtok_r(copy, ";", &save); tok && !ret; tok = strtok_r(NULL, ";", &save))
		ret = kb_sweep_add(s, tok, e);
	free(copy);
	return ret;
}

size_t kb_sweep_count(const struct kb_sweep *s)
{
	size_t n = 1;

	for (int i = 0; s && i < s->n; i++)
		n *= (size_t)s->p[i].nv;
	return n;
}

int kb_sweep_get(const struct kb_sweep *s, size_t idx, struct kb_param_values *out)
{
	if (!s || !out || idx >= kb_sweep_count(s))
		return -EINVAL;
	out->n = s->n;
	for (int i = s->n - 1; i >= 0; i--) {
		out->name[i] = s->p[i].name;
		out->value[i] = s->p[i].v[idx % s->p[i].nv];
		idx /= s->p[i].nv;
	}
	return 0;
}

void kb_sweep_fini(struct kb_sweep *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->nr_bufs; i++)
		free(s->bufs[i]);
	s->nr_bufs = 0;
}

int kb_params_format(const struct kb_param_values *pv, char *buf, size_t len)
{
	size_t used = 0;

	if (!pv || !buf || !len)
		return -EINVAL;
	buf[0] = '\0';
	for (int i = 0; i < pv->n; i++) {
		int w = snprintf(buf + used, len - used, "%s%s=%s", i ? ";" : "", pv->name[i],
				 pv->value[i]);

		if (w < 0 || (size_t)w >= len - used)
			return -ENOSPC;
		used += (size_t)w;
	}
	return (int)used;
}

/* ---- what workloads call --------------------------------------------------- */

static int param_lookup(const struct kb_cell *c, const char *name, const char **out)
{
	const struct kb_param_values *pv;

	if (!c || !name || !out || !c->params)
		return -EINVAL;
	pv = c->params;
	for (int i = 0; i < pv->n; i++) {
		if (!strcmp(pv->name[i], name)) {
			*out = pv->value[i];
			return 0;
		}
	}
	return -ENOENT;
}

int kb_param_str(const struct kb_cell *c, const char *name, const char **out)
{
	return param_lookup(c, name, out);
}

int kb_param_u64(const struct kb_cell *c, const char *name, uint64_t *out)
{
	const char *v;
	int ret = param_lookup(c, name, &v);

	return ret ? ret : kb_parse_u64(v, out);
}

int kb_param_double(const struct kb_cell *c, const char *name, double *out)
{
	const char *v;
	int ret = param_lookup(c, name, &v);

	return ret ? ret : kb_parse_double(v, out);
}

int kb_metric_set(struct kb_metrics *m, const char *name, double value)
{
	int i;

	if (!m || !name)
		return -EINVAL;
	for (i = 0; i < m->n; i++) {
		if (!strcmp(m->m[i].name, name)) {
			m->m[i].value = value;
			return 0;
		}
	}
	if (m->n == KB_MAX_METRICS)
		return -ENOSPC;
	m->m[m->n].name = name;
	m->m[m->n].value = value;
	m->n++;
	return 0;
}

int kb_series_add(struct kb_series *s, double t_s, double value)
{
	if (!s)
		return -EINVAL;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		double *t = realloc(s->t_s, cap * sizeof(*t));

		if (!t)
			return -ENOMEM;
		s->t_s = t;
		t = realloc(s->value, cap * sizeof(*t));
		if (!t)
			return -ENOMEM;
		s->value = t;
		s->cap = cap;
	}
	s->t_s[s->n] = t_s;
	s->value[s->n] = value;
	s->n++;
	return 0;
}

void kb_series_free(struct kb_series *s)
{
	if (!s)
		return;
	free(s->t_s);
	free(s->value);
	s->t_s = s->value = NULL;
	s->n = s->cap = 0;
}
