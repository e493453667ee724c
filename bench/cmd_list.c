// SPDX-License-Identifier: MIT
/*
 * `kscale-bench list` and `kscale-bench help`.
 */
#include <string.h>

#include "command.h"
#include "kb.h"

static void list_commands(FILE *f, bool usage)
{
	const struct kb_command *const *c;
	size_t n;

	c = kb_commands(&n);
	if (!n)
		return;
	fprintf(f, "\nmore commands:\n");
	for (size_t i = 0; i < n; i++) {
		if (usage)
			fprintf(f, "  kscale-bench %s\n      %s\n",
				c[i]->usage ? c[i]->usage : c[i]->name,
				c[i]->summary ? c[i]->summary : "");
		else
			fprintf(f, "  %-20s %s\n", c[i]->name, c[i]->summary ? c[i]->summary : "");
	}
}

int kb_cmd_list(int argc, char **argv)
{
	const struct kb_workload *const *w;
	struct kb_err e;
	size_t n;

	if (kb_registry_check(&e))
		return kb_usage_error(&e);
	if (argc > 1) {
		kb_errf(&e, -1, "list takes no arguments ('%s')", argv[1]);
		return kb_usage_error(&e);
	}
	w = kb_workloads(&n);
	printf("workloads (kscale-bench run WORKLOAD):\n");
	for (size_t i = 0; i < n; i++) {
		printf("\n%s/%s%s\n    %s\n    strategies:", w[i]->subsystem ? w[i]->subsystem : "",
		       w[i]->name, w[i]->one_shot ? " (one-shot)" : "",
		       w[i]->summary ? w[i]->summary : "");
		for (const char *const *s = w[i]->strategies; *s; s++)
			printf(" %s", *s);
		printf("\n");
		for (const struct kb_param_def *p = w[i]->params; p && p->name; p++)
			printf("    --param %s=%s    %s\n", p->name, p->def ? p->def : "",
			       p->help ? p->help : "");
	}
	list_commands(stdout, false);
	return KB_EXIT_OK;
}

int kb_cmd_help(int argc, char **argv)
{
	const char *topic = argc > 1 ? argv[1] : NULL;

	if (topic && !strcmp(topic, "run")) {
		char *args[] = {"run", "--help", NULL};

		return kb_cmd_run(2, args);
	}
	if (topic && !strcmp(topic, "suite")) {
		char *args[] = {"suite", "--help", NULL};

		return kb_cmd_suite(2, args);
	}
	if (topic) {
		const struct kb_command *c = kb_command_find(topic);
		struct kb_err e;

		if (!c) {
			kb_errf(&e, -1, "no help on '%s': try run, suite or a command from list",
				topic);
			return kb_usage_error(&e);
		}
		printf("usage: kscale-bench %s\n%s\n", c->usage ? c->usage : c->name,
		       c->summary ? c->summary : "");
		return KB_EXIT_OK;
	}
	printf("kscale-bench %s: kernel scalability algorithms, measured side by side\n\n"
	       "usage:\n"
	       "  kscale-bench list                  workloads, their strategies and parameters\n"
	       "  kscale-bench run WORKLOAD [opts]   measure (kscale-bench help run)\n"
	       "  kscale-bench suite [opts]          the headline comparisons (kscale-bench help "
	       "suite)\n"
	       "  kscale-bench help [run|suite]      this text\n",
	       ks_version());
	list_commands(stdout, true);
	printf("\nexit status: 0 ok, 1 a cell failed or an output could not be written,\n"
	       "2 bad input (one line on stderr, nothing run, nothing written)\n");
	return KB_EXIT_OK;
}
