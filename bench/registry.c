// SPDX-License-Identifier: MIT
/*
 * The registries of workloads and extra commands. They are filled by
 * constructors before main() runs, so they cannot report an error when it
 * happens: a duplicate name or an overflow is remembered and
 * kb_registry_check() turns it into a message main() prints.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "kb.h"

#define KB_MAX_WORKLOADS 256
#define KB_MAX_COMMANDS 64

/*
 * Written only by constructors, before main() and before any thread exists;
 * read-only afterwards (the sort only reorders pointers, on the main thread).
 */
static struct {
	const struct kb_workload *w[KB_MAX_WORKLOADS];
	size_t nr_w;
	bool w_sorted;
	const struct kb_command *c[KB_MAX_COMMANDS];
	size_t nr_c;
	bool c_sorted;
	const char *dup;      /* first name registered twice */
	const char *overflow; /* first name that did not fit */
} reg;

static void note_dup(const char *name)
{
	if (!reg.dup)
		reg.dup = name ? name : "(null)";
}

void kb_workload_register(const struct kb_workload *w)
{
	if (!w || !w->name || !w->strategies || !w->op) {
		note_dup(w && w->name ? w->name : "(incomplete workload)");
		return;
	}
	if (kb_workload_find(w->name)) {
		note_dup(w->name);
		return;
	}
	if (reg.nr_w == KB_MAX_WORKLOADS) {
		if (!reg.overflow)
			reg.overflow = w->name;
		return;
	}
	reg.w[reg.nr_w++] = w;
	reg.w_sorted = false;
}

const struct kb_workload *kb_workload_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < reg.nr_w; i++)
		if (!strcmp(reg.w[i]->name, name))
			return reg.w[i];
	return NULL;
}

static int cmp_workload(const void *a, const void *b)
{
	const struct kb_workload *x = *(const struct kb_workload *const *)a;
	const struct kb_workload *y = *(const struct kb_workload *const *)b;
	int c = strcmp(x->subsystem ? x->subsystem : "", y->subsystem ? y->subsystem : "");

	return c ? c : strcmp(x->name, y->name);
}

const struct kb_workload *const *kb_workloads(size_t *n)
{
	if (!reg.w_sorted) {
		qsort(reg.w, reg.nr_w, sizeof(reg.w[0]), cmp_workload);
		reg.w_sorted = true;
	}
	if (n)
		*n = reg.nr_w;
	return reg.w;
}

/* What main.c dispatches itself: an extra command cannot take these names. */
static bool is_builtin(const char *name)
{
	static const char *const builtin[] = {"list", "run", "suite", "help"};

	for (size_t i = 0; i < KS_ARRAY_SIZE(builtin); i++)
		if (!strcmp(builtin[i], name))
			return true;
	return false;
}

void kb_command_register(const struct kb_command *c)
{
	if (!c || !c->name || !c->main) {
		note_dup(c && c->name ? c->name : "(incomplete command)");
		return;
	}
	if (kb_command_find(c->name) || is_builtin(c->name)) {
		note_dup(c->name);
		return;
	}
	if (reg.nr_c == KB_MAX_COMMANDS) {
		if (!reg.overflow)
			reg.overflow = c->name;
		return;
	}
	reg.c[reg.nr_c++] = c;
	reg.c_sorted = false;
}

const struct kb_command *kb_command_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < reg.nr_c; i++)
		if (!strcmp(reg.c[i]->name, name))
			return reg.c[i];
	return NULL;
}

static int cmp_command(const void *a, const void *b)
{
	const struct kb_command *x = *(const struct kb_command *const *)a;
	const struct kb_command *y = *(const struct kb_command *const *)b;

	return strcmp(x->name, y->name);
}

const struct kb_command *const *kb_commands(size_t *n)
{
	if (!reg.c_sorted) {
		qsort(reg.c, reg.nr_c, sizeof(reg.c[0]), cmp_command);
		reg.c_sorted = true;
	}
	if (n)
		*n = reg.nr_c;
	return reg.c;
}

int kb_registry_check(struct kb_err *e)
{
	if (reg.dup)
		return kb_errf(e, -EEXIST,
			       "workload or command '%s' is registered twice or incomplete",
			       reg.dup);
	if (reg.overflow)
		return kb_errf(e, -ENOSPC, "too many workloads or commands: '%s' did not fit",
			       reg.overflow);
	return 0;
}

bool kb_workload_has_strategy(const struct kb_workload *w, const char *name)
{
	if (!w || !name)
		return false;
	for (const char *const *s = w->strategies; *s; s++)
		if (!strcmp(*s, name))
			return true;
	return false;
}

int kb_workload_nr_strategies(const struct kb_workload *w)
{
	int n = 0;

	if (!w || !w->strategies)
		return 0;
	while (w->strategies[n])
		n++;
	return n;
}
