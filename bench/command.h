/* SPDX-License-Identifier: MIT */
/*
 * Extra kscale-bench subcommands.
 *
 * A subcommand that is not a measurement of the will-it-scale shape (for
 * example `kscale-bench pid-replay`, which replays a recorded trace) lives in
 * its own file under bench/, fills a struct kb_command and registers it with
 * KB_COMMAND_REGISTER(). `kscale-bench help` and `kscale-bench list` show it;
 * `kscale-bench NAME ARGS...` calls its main with argv[0] = NAME.
 *
 * The command's main returns the process exit status and never exits itself:
 * 0 for success, 1 when what it measured failed, 2 for bad input (after
 * printing one line that starts with "kscale-bench: " on stderr). Like
 * workloads, commands keep no global state.
 */
#ifndef KSCALE_BENCH_COMMAND_H
#define KSCALE_BENCH_COMMAND_H

#include <stddef.h>

struct kb_command {
	const char *name;    /* "pid-replay": [a-z0-9-], not a built-in name */
	const char *usage;   /* "pid-replay TRACE [--strategy S]" */
	const char *summary; /* one line */
	int (*main)(int argc, char **argv);
};

/* Register a command at load time (called by KB_COMMAND_REGISTER). */
void kb_command_register(const struct kb_command *c);
#define KB_COMMAND_REGISTER(c)                                                                     \
	__attribute__((constructor)) static void kb_register_cmd_##c(void)                         \
	{                                                                                          \
		kb_command_register(&(c));                                                         \
	}

/* kb_command_find() - a registered extra command by name, or NULL. */
const struct kb_command *kb_command_find(const char *name);
/* kb_commands() - every registered extra command, sorted by name. */
const struct kb_command *const *kb_commands(size_t *n);

#endif /* KSCALE_BENCH_COMMAND_H */
