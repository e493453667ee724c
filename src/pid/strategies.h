/* SPDX-License-Identifier: MIT */
/*
 * The pid strategies, in the order ks_pid_strategies() lists them (the
 * issue's order). One line per strategy file src/pid/<ident>.c, which defines
 * const struct ks_pid_ops ks_pid_<ident>_ops. Included by pid_internal.h and
 * core.c with KS_PID_STRATEGY() defined; no include guard on purpose.
 */
KS_PID_STRATEGY(idr_relock)
KS_PID_STRATEGY(idr_once)
KS_PID_STRATEGY(bitmap_hash)
KS_PID_STRATEGY(xarray)
KS_PID_STRATEGY(pcpu_range)
KS_PID_STRATEGY(pcpu_lockfree)
