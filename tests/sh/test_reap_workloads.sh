#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The reap workloads from the outside, briefly: every strategy of reap-latency
# and reap-scan runs, every cell is "ok" (a victim whose memory is not back,
# a check that answered wrong, a leak: the cell fails), and each reports its
# metrics and series; absurd parameters fail the cell cleanly (exit 1, no
# crash); the suite entries run. No speed is asserted here: docs/reap.md has
# the measurements and the commands.
set -u
B=${KS_BENCH_BIN:?KS_BENCH_BIN must name the kscale-bench binary}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
TOPO="synthetic:core:2 pu:1"

# check FILE WORKLOAD STRATEGIES METRICS [SERIES]: every run ok, every metric there.
check() {
	python3 - "$@" <<'PY' || fails=$((fails + 1))
import json, sys
path, workload, strategies, metrics = sys.argv[1:5]
series = sys.argv[5].split(",") if len(sys.argv) > 5 else []
d = json.load(open(path))
seen = set()
for r in d["runs"]:
    if r["workload"] != workload:
        continue
    seen.add(r["strategy"])
    if r["status"] != "ok":
        sys.exit("FAIL: %s %s: %s" % (workload, r["strategy"], r["error"]))
    for m in metrics.split(","):
        if m not in r["metrics"]:
            sys.exit("FAIL: %s %s: no metric %s" % (workload, r["strategy"], m))
    names = {s["name"] for s in r["series"]}
    for s in series:
        if s not in names:
            sys.exit("FAIL: %s %s: no series %s" % (workload, r["strategy"], s))
    if workload == "reap-latency":
        m = r["metrics"]
        if m["victims_freed"] != float(r["params"]["victims"]):
            sys.exit("FAIL: %s: %s victims freed" % (r["strategy"], m["victims_freed"]))
        if r["strategy"] in ("mrelease", "lmkd-pool") and m["mrelease_ok"] + m["mrelease_esrch"] < 1:
            sys.exit("FAIL: %s: no process_mrelease() call" % r["strategy"])
    if workload == "reap-scan":
        m = r["metrics"]
        procs = float(r["params"]["procs"])
        v = m["procs_visited_per_check"]
        if r["strategy"] == "scan" and v < procs:
            sys.exit("FAIL: scan visited %s of %s processes" % (v, procs))
        if r["strategy"] == "mm-owners" and v != 0:
            sys.exit("FAIL: mm-owners visited %s processes" % v)
if seen != set(strategies.split(",")):
    sys.exit("FAIL: %s strategies %s" % (workload, sorted(seen)))
PY
}

run() {
	local name=$1
	shift
	if ! "$B" run "$name" --topology "$TOPO" --threads 1 --json "$T/$name.json" "$@" \
		>"$T/$name.txt" 2>&1; then
		echo "FAIL: $name $* exited non-zero"
		cat "$T/$name.txt"
		fails=$((fails + 1))
		return 1
	fi
}

LAT_METRICS=victims_freed,reap_latency_ms_median,reap_latency_ms_p99,freed_mb_per_s_median
LAT_METRICS=$LAT_METRICS,freed_by_exit,freed_by_killer,freed_by_reaper,kills_without_reap
# oom-reaper: a victim stalled past OOM_REAPER_DELAY (2 s) is freed by the reaper
run reap-latency --strategy wait-exit,mrelease,lmkd-pool --param size_mb=4 --param procs=20 \
	--param victims=3 --param stall_ms=100 --param interval_ms=5 &&
	check "$T/reap-latency.json" reap-latency wait-exit,mrelease,lmkd-pool "$LAT_METRICS" \
		reap_latency_ms,killed_unfreed_bytes
run reap-latency --strategy oom-reaper --param size_mb=2 --param procs=4 --param victims=1 \
	--param stall_ms=2600 &&
	check "$T/reap-latency.json" reap-latency oom-reaper "$LAT_METRICS" &&
	python3 - "$T/reap-latency.json" <<'PY' || fails=$((fails + 1))
import json, sys
m = json.load(open(sys.argv[1]))["runs"][0]["metrics"]
if m["freed_by_reaper"] != 1:
    sys.exit("FAIL: oom-reaper: the reaper did not free the stalled victim: %s" % m)
PY
# a multi-threaded victim: process_mrelease() passes the scan
run reap-latency --strategy mrelease --param size_mb=2 --param procs=50 --param victims=2 \
	--param victim_threads=3 --param stall_ms=50 --param interval_ms=1 &&
	check "$T/reap-latency.json" reap-latency mrelease "$LAT_METRICS"

SCAN_METRICS=checks,check_ns_mean,procs_visited_per_check,procs
for sharing in threads clone-vm; do
	run reap-scan --duration 0.05 --warmup 0 --param procs=10,300 --param sharing=$sharing &&
		check "$T/reap-scan.json" reap-scan scan,mm-owners "$SCAN_METRICS"
done

# absurd parameters: the cell fails with a reason, the process exits 1, nothing crashes
bad() {
	local rc
	"$B" run "$@" --topology "$TOPO" --threads 1 --duration 0.01 --warmup 0 >"$T/bad.txt" 2>&1
	rc=$?
	if [ $rc -ne 1 ] && [ $rc -ne 2 ]; then
		echo "FAIL: $* exited $rc"
		cat "$T/bad.txt"
		fails=$((fails + 1))
	fi
}
bad reap-latency --strategy mrelease --param size_mb=0
bad reap-latency --strategy mrelease --param size_mb=-5
bad reap-latency --strategy mrelease --param size_mb=99999999
bad reap-latency --strategy mrelease --param victims=10 --param procs=5
bad reap-latency --strategy mrelease --param check=nope
bad reap-latency --strategy wait-exit --param stall_ms=-1
bad reap-scan --strategy scan --param procs=1
bad reap-scan --strategy scan --param procs=5000000
bad reap-scan --strategy scan --param sharing=nope

if ! "$B" suite --workload reap-latency,reap-scan --duration-scale 0.2 --topology "$TOPO" \
	--json "$T/suite.json" >"$T/suite.txt" 2>&1; then
	echo "FAIL: suite exited non-zero"
	cat "$T/suite.txt"
	fails=$((fails + 1))
fi

if [ "$fails" -ne 0 ]; then
	echo "$fails failure(s)"
	exit 1
fi
echo "reap workloads: all cells ok"
