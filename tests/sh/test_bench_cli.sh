#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# kscale-bench from the outside: every kind of bad input gets exit status 2,
# exactly one line on stderr starting "kscale-bench: " and no file written;
# a good run writes JSON, CSV and SVG with every documented key; the gbench
# format is one google/benchmark's tools/compare.py would load and compare.
# Does not assert that percpu beats atomic: that needs a Release build on a
# quiet machine (docs/bench.md has the command and the figures).
set -u
B=${KS_BENCH_BIN:?KS_BENCH_BIN must name the kscale-bench binary}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

# Two CPUs for `--threads 1,2`: the real machine when it has them, else labels.
TOPO=real
if [ "$(nproc)" -lt 2 ]; then
	TOPO="synthetic:core:2 pu:1"
fi
SYN="synthetic:core:2 pu:1"

# expect_bad ARGS...: exit 2, one stderr line "kscale-bench: ...", nothing written.
expect_bad() {
	local rc
	rm -rf "$T/w" && mkdir "$T/w"
	(cd "$T/w" && "$B" "$@" >"$T/out" 2>"$T/err")
	rc=$?
	[ "$rc" = 2 ] || fail "'$*': exit $rc, expected 2"
	[ "$(wc -l <"$T/err")" = 1 ] || fail "'$*': stderr is not one line: $(cat "$T/err")"
	grep -q '^kscale-bench: ' "$T/err" || fail "'$*': stderr lacks 'kscale-bench: ': $(cat "$T/err")"
	[ -s "$T/out" ] && fail "'$*': wrote to stdout: $(head -c 200 "$T/out")"
	[ -z "$(ls -A "$T/w")" ] || fail "'$*': left files: $(ls -A "$T/w")"
}

OUTS=(--json r.json --csv r.csv)
expect_bad run nope "${OUTS[@]}"
expect_bad run counter --strategy nope "${OUTS[@]}"
expect_bad run counter --strategy atomic,,percpu "${OUTS[@]}"
expect_bad run counter --strategy "" "${OUTS[@]}"
expect_bad run counter --param nope=1 "${OUTS[@]}"
expect_bad run counter --param batch=abc "${OUTS[@]}"
expect_bad run counter --param batch "${OUTS[@]}"
for t in 0 -1 3 abc "" 1,,2 2-1 1- "1 2" 1.5; do
	expect_bad run counter --topology "$SYN" --threads "$t" "${OUTS[@]}"
done
for d in 0 -1 abc nan inf 1e9 ""; do
	expect_bad run counter --duration "$d" "${OUTS[@]}"
done
expect_bad run counter --warmup -1 "${OUTS[@]}"
expect_bad run counter --repeat 0 "${OUTS[@]}"
expect_bad run counter --rcu-queues bogus "${OUTS[@]}"
expect_bad run counter --rcu-queues "" "${OUTS[@]}"
expect_bad suite --rcu-queues sharded "${OUTS[@]}"
expect_bad run counter --topology synthetic:bogus "${OUTS[@]}"
expect_bad run counter --topology "synthetic:pack:2 nonsense:3" "${OUTS[@]}"
expect_bad run counter --topology xml:/nonexistent/topo.xml "${OUTS[@]}"
expect_bad run counter --topology weird "${OUTS[@]}"
expect_bad run counter --json /nonexistent/dir/r.json --csv r.csv
expect_bad run counter --json r.json --csv /proc/kscale-bench-test.csv
expect_bad run counter --json r.json --csv /
expect_bad run counter --json same --csv same
expect_bad run counter --format xml "${OUTS[@]}"
expect_bad run counter --format gbench --csv r.csv
expect_bad run counter --bogus "${OUTS[@]}"
expect_bad run counter --duration
expect_bad run "${OUTS[@]}"
expect_bad run counter atomic "${OUTS[@]}"
expect_bad frobnicate
expect_bad list extra
expect_bad help nosuchtopic
expect_bad suite --threads 1 "${OUTS[@]}"
expect_bad suite --duration-scale 0 "${OUTS[@]}"
expect_bad suite extra
expect_bad suite --workload nope
expect_bad suite --workload counter,,counter
expect_bad run counter --workload counter "${OUTS[@]}"
# --plot without gnuplot on PATH (the binary is named by its full path)
expect_bad_nognuplot() {
	rm -rf "$T/w" && mkdir "$T/w"
	(cd "$T/w" && PATH=/nonexistent "$B" run counter --json r.json --plot r.svg >"$T/out" 2>"$T/err")
	[ $? = 2 ] || fail "--plot without gnuplot: not exit 2"
	grep -q '^kscale-bench: .*gnuplot' "$T/err" || fail "--plot without gnuplot: $(cat "$T/err")"
	[ -z "$(ls -A "$T/w")" ] || fail "--plot without gnuplot: left files"
}
expect_bad_nognuplot

# ---- list and help ---------------------------------------------------------
"$B" list >"$T/list" 2>"$T/err" || fail "list: exit $?"
grep -q 'counter' "$T/list" || fail "list does not show counter"
grep -q 'strategies: atomic percpu' "$T/list" || fail "list does not show counter's strategies"
grep -q 'batch=1' "$T/list" || fail "list does not show counter's parameter"
"$B" help >/dev/null 2>&1 || fail "help: exit $?"
"$B" help run | grep -q -- '--threads' || fail "help run lacks --threads"

# ---- a good run ----------------------------------------------------------------
mkdir "$T/good" && cd "$T/good" || exit 1
"$B" run counter --strategy all --threads 1,2 --duration 1 --warmup 0.2 --topology "$TOPO" \
	--json r.json --csv r.csv --plot r.svg >table.txt 2>err.txt
rc=$?
[ "$rc" = 0 ] || fail "good run: exit $rc: $(cat err.txt)"
[ -s err.txt ] && fail "good run: stderr not clean (no terminal, so no progress): $(cat err.txt)"
for f in r.json r.csv r.svg; do
	[ -s "$f" ] || fail "good run did not write $f"
done
[ -z "$(ls -A | grep -v -e '^r\.' -e table.txt -e err.txt)" ] || fail "temporary files left: $(ls -A)"
grep -q '<svg' r.svg || fail "r.svg is not SVG"
head -1 table.txt | grep -q 'ops/s' || fail "table has no header"
[ "$(grep -c -e '^atomic' -e '^percpu' table.txt)" = 4 ] || fail "table does not have 4 rows"

head -1 r.csv | grep -Eq '^[a-z_,]+$' || fail "CSV header is not [a-z_,]: $(head -1 r.csv)"
[ "$(head -1 r.csv)" = "workload,strategy,threads,params,ops_per_sec,ops_per_sec_per_thread,efficiency,linear,fairness_pct,lock_acq_per_op,lock_bounces_per_op,bytes_allocated_per_op,status" ] ||
	fail "CSV header changed: $(head -1 r.csv)"
[ "$(wc -l <r.csv)" = 5 ] || fail "CSV does not have 4 rows"
grep -q '^counter,percpu,2,batch=1,[0-9]' r.csv || fail "CSV lacks the percpu 2-thread row"

if command -v python3 >/dev/null 2>&1; then
	python3 - r.json <<'EOF' || fail "r.json structure"
import json, sys
d = json.load(open(sys.argv[1]))
ctx = d["context"]
for k in ["date", "host_name", "executable", "num_cpus", "cpu_scaling_enabled", "aslr_enabled",
          "load_avg", "library_version", "library_build_type", "json_schema_version", "topology",
          "dependencies", "urcu_flavor", "mem_backend", "lockstat_enabled", "kernel_release",
          "git_revision", "command_line", "params", "rcu_queues"]:
    assert k in ctx, "context lacks " + k
assert ctx["rcu_queues"] == "percpu", ctx["rcu_queues"]
assert ctx["json_schema_version"] == 1
assert len(ctx["load_avg"]) == 3
assert ctx["params"]["defaults"]["counter"]["batch"] == "1"
assert "run counter --strategy all" in ctx["command_line"], ctx["command_line"]
runs = d["runs"]
assert len(runs) == 4, len(runs)
seen = set()
for r in runs:
    for k in ["workload", "strategy", "threads", "params", "repeat", "status", "error",
              "ops_per_sec", "ops_per_sec_per_thread", "efficiency", "linear", "fairness_pct",
              "bytes_allocated_per_op", "samples", "locks", "metrics", "series"]:
        assert k in r, "run lacks " + k
    assert r["workload"] == "counter" and r["status"] == "ok", r["error"]
    assert r["params"] == {"batch": "1"}
    assert r["ops_per_sec"] > 0
    assert r["efficiency"] is not None and r["linear"] is not None
    assert len(r["samples"]) >= 1
    for l in r["locks"]:
        for k in ["class", "scope", "acquisitions", "contentions", "bounces", "wait_ns",
                  "hold_ns", "wait_max_ns", "hold_max_ns"]:
            assert k in l, "lock lacks " + k
        assert l["scope"] in ("global", "percpu", "object")
    for s in r["samples"]:
        for k in ["t_s", "ops", "ops_per_sec", "per_thread_ops", "locks", "bytes_allocated",
                  "live_bytes"]:
            assert k in s, "sample lacks " + k
        assert len(s["per_thread_ops"]) == r["threads"]
        assert sum(s["per_thread_ops"]) == s["ops"]
    assert r["metrics"]["counter_total"] == r["metrics"]["ops_done"]
    seen.add((r["strategy"], r["threads"]))
assert seen == {("atomic", 1), ("atomic", 2), ("percpu", 1), ("percpu", 2)}, seen
EOF
elif command -v jq >/dev/null 2>&1; then
	jq -e '.context.json_schema_version == 1 and (.runs | length == 4) and
		all(.runs[]; has("workload") and has("strategy") and has("threads") and has("params")
		and has("ops_per_sec") and has("samples") and has("bytes_allocated_per_op")
		and has("locks") and all(.locks[]; has("class") and has("scope")
		and has("acquisitions") and has("contentions") and has("bounces")))' r.json \
		>/dev/null || fail "r.json structure (jq)"
else
	echo "SKIP: neither python3 nor jq: r.json structure not checked"
fi

# ---- --rcu-queues shared is recorded -------------------------------------------------
"$B" run counter --threads 1 --duration 0.2 --warmup 0 --topology "$TOPO" --rcu-queues shared \
	--json q.json >/dev/null 2>err.txt || fail "--rcu-queues shared run: exit $?: $(cat err.txt)"
grep -q '"rcu_queues": *"shared"' q.json || fail "q.json context does not say rcu_queues shared"

# ---- google/benchmark's shape -------------------------------------------------------
"$B" run counter --threads 1 --duration 0.5 --warmup 0.1 --repeat 2 --topology "$TOPO" \
	--json g.json --format gbench >/dev/null 2>err.txt || fail "gbench run: exit $?: $(cat err.txt)"
if command -v python3 >/dev/null 2>&1; then
	# tools/compare.py's loading, filtering and partitioning (gbench/util.py,
	# gbench/report.py), without numpy/scipy, which it needs only for the U test.
	python3 - g.json <<'EOF' || fail "g.json is not what compare.py expects"
import copy, json, re, sys
fname = sys.argv[1]
d = json.load(open(fname))
assert d["context"]["json_schema_version"] == 1
for b in d["benchmarks"]:
    for k in ["name", "run_name", "run_type", "repetitions", "threads", "iterations",
              "real_time", "cpu_time", "time_unit", "items_per_second"]:
        assert k in b, "benchmark lacks " + k
    assert b["time_unit"] == "ns" and b["real_time"] > 0 and b["cpu_time"] >= 0
    if b["run_type"] == "iteration":
        assert b["repetition_index"] in (0, 1) and b["repetitions"] == 2
    else:
        assert b["run_type"] == "aggregate" and b["aggregate_name"] == "median"
        assert b["name"] == b["run_name"] + "_median"
def load(flt):
    res = json.load(open(fname))
    res["benchmarks"] = [b for b in res["benchmarks"]
                         if re.search(flt, b.get("run_name", None) or b["name"])]
    return res
def filter_benchmark(j, family, replacement):
    rx = re.compile(family)
    out = {"benchmarks": []}
    for be in j["benchmarks"]:
        if rx.search(be["name"]):
            fb = copy.deepcopy(be)
            fb["name"] = rx.sub(replacement, fb["name"])
            out["benchmarks"].append(fb)
    return out
a, b = "counter/atomic", "counter/percpu"
rep = "[%s vs. %s]" % (a, b)
j1 = filter_benchmark(load(a), a, rep)
j2 = filter_benchmark(load(b), b, rep)
names = [x["name"] for x in j1["benchmarks"]]
common = [n for n in dict.fromkeys(names) if n in [x["name"] for x in j2["benchmarks"]]]
assert len(common) == 2, common  # the iterations and the median of threads:1
for n in common:
    lhs = [x for x in j1["benchmarks"] if x["name"] == n]
    rhs = [x for x in j2["benchmarks"] if x["name"] == n]
    assert lhs and rhs and all("real_time" in x and "cpu_time" in x for x in lhs + rhs)
EOF
fi

# ---- suite, briefly ------------------------------------------------------------------
"$B" suite --workload counter --duration-scale 0.1 --topology "$TOPO" --csv s.csv >suite.txt 2>err.txt ||
	fail "suite: exit $?: $(cat err.txt)"
grep -q 'percpu vs atomic: [0-9.]*x' suite.txt || fail "suite has no headline: $(cat suite.txt)"
head -1 s.csv | grep -Eq '^[a-z_,]+$' || fail "suite CSV header"

if [ "$fails" -ne 0 ]; then
	echo "$fails failure(s)"
	exit 1
fi
echo "all kscale-bench CLI checks passed"
