#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The reclaim workloads from the outside (issue 7: "the two workloads run").
# netns-churn runs every strategy at 1 and 2 threads, every cell "ok" (a
# poisoned callback, an early or double free, or a namespace not freed fails
# the cell), with the seed's metrics and the memory-over-time curve; refcount
# takes no barrier. A run with a tiny --param mem_limit_mb stops at the limit
# and still ends "ok". rcu-barrier runs every barrier model. No speed is
# asserted here.
set -u
B=${KS_BENCH_BIN:?KS_BENCH_BIN must name the kscale-bench binary}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
TOPO="synthetic:core:4 pu:1"

run() {
	local name=$1 check=$2
	shift 2
	if ! "$B" run "$@" --topology "$TOPO" --json "$T/$name.json" >"$T/$name.txt" 2>&1; then
		echo "FAIL: $name exited non-zero"; cat "$T/$name.txt"; fails=$((fails + 1)); return
	fi
	python3 - "$T/$name.json" "$check" <<'PY' || fails=$((fails + 1))
import json, sys
d = json.load(open(sys.argv[1]))
check = sys.argv[2]
seen = set()
for r in d["runs"]:
    cell = "%s %s/%d" % (r["workload"], r["strategy"], r["threads"])
    seen.add(r["strategy"])
    m = r["metrics"]
    if r["status"] != "ok":
        sys.exit("FAIL: %s: %s" % (cell, r["error"]))
    if check == "churn":
        for k in ("netns_per_s", "peak_pending_mb", "final_pending_mb", "barriers",
                  "barrier_mutex_wait_s", "stopped_at_limit"):
            if k not in m:
                sys.exit("FAIL: %s: no metric %s" % (cell, k))
        if m["namespaces"] != 200 or m["stopped_at_limit"] != 0:
            sys.exit("FAIL: %s: %s namespaces, stopped %s" % (cell, m["namespaces"],
                                                             m["stopped_at_limit"]))
        curve = [s for s in r["series"] if s["name"] == "pending_bytes"]
        if not curve or not curve[0]["t_s"]:
            sys.exit("FAIL: %s: no pending_bytes curve" % cell)
        if r["strategy"] == "refcount" and m["barriers"] != 0:
            sys.exit("FAIL: %s: %s barriers" % (cell, m["barriers"]))
    elif check == "limit":
        if m["stopped_at_limit"] != 1 or m["time_to_limit_s"] <= 0 or m["namespaces"] >= 2000:
            sys.exit("FAIL: %s: did not stop at the limit: %s" % (cell, m))
    elif check == "barrier":
        if m["barriers_executed"] <= 0 or "callers_per_barrier" not in m:
            sys.exit("FAIL: %s: %s" % (cell, m))
want = {"churn": {"per-object", "batched", "batched-delayed", "refcount"},
        "limit": {"per-object"}, "barrier": {"native", "kernel", "waitq"}}[check]
if seen != want:
    sys.exit("FAIL: %s: strategies %s" % (check, sorted(seen)))
PY
}

run netns-churn churn netns-churn --threads 1,2 --param iterations=200 --param netns_kb=16 \
	--param frags=2 --param delay_ms=50
run netns-limit limit netns-churn --strategy per-object --threads 2 --param iterations=2000 \
	--param mem_limit_mb=2
run rcu-barrier barrier rcu-barrier --threads 1,2 --duration 0.2 --warmup 0.02

if [ "$fails" -ne 0 ]; then
	echo "$fails failure(s)"
	exit 1
fi
echo "reclaim workloads: all cells ok"
