// SPDX-License-Identifier: MIT
/*
 * kscale-bench: a will-it-scale-style harness for kscale's strategies.
 *
 * The only file that exits: every command returns its status (0 ok, 1 a cell
 * failed or an output could not be written, 2 bad input) and main passes it
 * on. See docs/bench.md for the output formats.
 */
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "kb.h"

static const struct {
	const char *name;
	int (*main)(int argc, char **argv);
} builtins[] = {
	{"list", kb_cmd_list},
	{"run", kb_cmd_run},
	{"suite", kb_cmd_suite},
	{"help", kb_cmd_help},
};

int main(int argc, char **argv)
{
	const struct kb_command *c;
	struct kb_err e;

	if (argc < 2) {
		kb_cmd_help(0, NULL);
		exit(KB_EXIT_USAGE);
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		exit(kb_cmd_help(1, argv + 1));
	if (!strcmp(argv[1], "--version")) {
		printf("kscale-bench %s (%s)\n", ks_version(), KS_GIT_REVISION);
		exit(KB_EXIT_OK);
	}
	for (size_t i = 0; i < KS_ARRAY_SIZE(builtins); i++)
		if (!strcmp(argv[1], builtins[i].name))
			exit(builtins[i].main(argc - 1, argv + 1));
	c = kb_command_find(argv[1]);
	if (c)
		exit(c->main(argc - 1, argv + 1));
	kb_errf(&e, 2, "unknown command '%s' (kscale-bench help lists them)", argv[1]);
	exit(kb_usage_error(&e));
}
