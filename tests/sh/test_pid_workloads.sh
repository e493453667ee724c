#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The pid workloads from the outside: each runs every strategy at 1 and 2
# threads on a 4-CPU synthetic topology, every cell "ok" (a broken invariant
# -- a lookup returning the wrong pid, a walk counting the wrong number of
# pids -- fails its cell), and each reports its metrics: pid-spawn the reuse
# distance, pid-iterate the time per walk, pid-memory bytes per pid, and the
# lock_stat classes named after the kernel's. No speed is asserted here.
set -u
B=${KS_BENCH_BIN:?KS_BENCH_BIN must name the kscale-bench binary}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
TOPO="synthetic:core:4 pu:1"

run() {
	local name=$1 metric=$2
	shift 2
	if ! "$B" run "$name" --topology "$TOPO" --threads 1,2 --duration 0.1 --warmup 0.02 \
		--json "$T/$name.json" "$@" >"$T/$name.txt" 2>&1; then
		echo "FAIL: $name exited non-zero"; cat "$T/$name.txt"; fails=$((fails + 1)); return
	fi
	python3 - "$T/$name.json" "$metric" <<'PY' || fails=$((fails + 1))
import json, sys
d = json.load(open(sys.argv[1]))
want = {"idr-relock", "idr-once", "bitmap-hash", "xarray", "pcpu-range", "pcpu-lockfree"}
seen = set()
for r in d["runs"]:
    seen.add(r["strategy"])
    if r["status"] != "ok":
        sys.exit("FAIL: %s %s: %s" % (r["workload"], r["strategy"], r["error"]))
    if sys.argv[2] not in r["metrics"]:
        sys.exit("FAIL: %s %s: no metric %s" % (r["workload"], r["strategy"], sys.argv[2]))
    classes = {l["class"] for l in r["locks"]}
    if r["strategy"] in ("idr-relock", "idr-once", "bitmap-hash") and "pidmap_lock" not in classes:
        sys.exit("FAIL: %s %s: no pidmap_lock class" % (r["workload"], r["strategy"]))
    if r["strategy"].startswith("pcpu-") and "pcpu_range_lock" not in classes:
        sys.exit("FAIL: %s %s: no pcpu_range_lock class" % (r["workload"], r["strategy"]))
if seen != want:
    sys.exit("FAIL: strategies %s" % sorted(seen))
PY
}

run pid-spawn reuse_distance_min --param depth=0,2 --param reuse_pid_max=4096
run pid-lookup live --param live=2000 --param pid_max=65536
run pid-iterate walk_ns_mean --param procs=300 --param threads=3
run pid-memory bytes_per_pid --param live=2000

if [ "$fails" -ne 0 ]; then
	echo "$fails failure(s)"
	exit 1
fi
echo "pid workloads: all cells ok"
