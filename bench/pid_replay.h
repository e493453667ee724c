/* SPDX-License-Identifier: MIT */
/*
 * The engine of `kscale-bench pid-replay`: replay a trace of pid allocations
 * and frees (recorded from the kernel, or written by hand) against a pid
 * strategy, printing the trace with the strategy's numbers.
 *
 * Trace lines: "A" (allocate in the innermost namespace; the rest of the line
 * is ignored), "F <nr>..." (free the pid whose innermost number is the last
 * field), "#..." comments and blank lines (echoed). Output: "A <nr1> [<nr2>...]"
 * outermost first as /proc/PID/status NSpid lists them, "A EAGAIN" (or the
 * name of another errno), "F <nr1> [<nr2>...]". A trace recorded from the
 * kernel therefore replays to an identical file.
 */
#ifndef KSCALE_BENCH_PID_REPLAY_H
#define KSCALE_BENCH_PID_REPLAY_H

#include <stdio.h>

/**
 * kb_pid_replay() - replay @in against a fresh chain of namespaces.
 * @strategy: a pid strategy name.
 * @pid_max:  pid_max per namespace, outermost first (each >= 301).
 * @nlevels:  entries in @pid_max, 1..33: the outermost's init holds pid 1,
 *            each inner init is allocated in turn.
 * @in, @out: the trace and where its replay goes.
 * @name:     the trace's name for error messages ("<stdin>").
 * @err:      receives one line saying what was wrong (without newline).
 *
 * Return: 0; 2 for bad input (@err names the line); 1 when the strategy
 * failed in a way bad input does not explain (@err says how).
 */
int kb_pid_replay(const char *strategy, const int *pid_max, int nlevels, FILE *in,
		  FILE *out, const char *name, char *err, size_t errlen);

#endif /* KSCALE_BENCH_PID_REPLAY_H */
