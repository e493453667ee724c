#!/bin/bash
# SPDX-License-Identifier: MIT
# `kscale-bench pid-replay` replays traces recorded from Linux 6.18
# (tests/oracle/oracle_pid.c, KS_PID_ORACLE_SAVE) to identical files on every
# strategy that numbers pids as the kernel does, from a file and from stdin;
# a free of a number that is not live is an error naming the line, exit 2.
set -eu
bin=${KS_BENCH_BIN:?KS_BENCH_BIN not set}
data=${KS_SOURCE_DIR:?KS_SOURCE_DIR not set}/tests/data
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for s in idr-relock idr-once xarray; do
	"$bin" pid-replay --strategy "$s" --pid-max 400,1000 "$data/pid_trace_nested.txt" >"$tmp/nested"
	diff -u "$data/pid_trace_nested.txt" "$tmp/nested"
	"$bin" pid-replay --strategy "$s" --pid-max 400 <"$data/pid_trace_one.txt" >"$tmp/one"
	diff -u "$data/pid_trace_one.txt" "$tmp/one"
done

rc=0
printf 'A\n# c\nF 7\nA\n' | "$bin" pid-replay --strategy idr-relock --pid-max 400 \
	>"$tmp/out" 2>"$tmp/err" || rc=$?
[ "$rc" = 2 ] || { echo "expected exit 2, got $rc"; exit 1; }
grep -q '^kscale-bench: .*<stdin>:3: F 7' "$tmp/err" || { cat "$tmp/err"; exit 1; }
printf 'A 2\n# c\n' | diff - "$tmp/out"

rc=0
"$bin" pid-replay --strategy no-such --pid-max 400 </dev/null 2>"$tmp/err" || rc=$?
[ "$rc" = 2 ] || { echo "unknown strategy: expected exit 2, got $rc"; exit 1; }
rc=0
"$bin" pid-replay --strategy xarray --pid-max 300 </dev/null 2>"$tmp/err" || rc=$?
[ "$rc" = 2 ] || { echo "pid_max 300: expected exit 2, got $rc"; exit 1; }
echo ok
