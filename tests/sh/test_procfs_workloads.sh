#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The procfs workloads from the outside: each runs briefly, every strategy
# (layout) and both inode lists, on a 4-CPU synthetic topology; every cell is
# "ok" (a walk that visits another count than the formula's, an exit that
# leaves an object behind, a lookup that returns a closed descriptor fails
# its cell) and reports its JSON metrics and the kernel's lock classes.
# Bad shapes (absurd T, N, M; a non-number) exit 2 or fail their cell with a
# reason, never crash. No speed is asserted here.
set -u
B=${KS_BENCH_BIN:?KS_BENCH_BIN must name the kscale-bench binary}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
TOPO="synthetic:core:4 pu:1"

# run NAME "metric metric ..." "lock lock ..." ARGS...
run() {
	local name=$1 metrics=$2 locks=$3
	shift 3
	if ! "$B" run "$name" --topology "$TOPO" --duration 0.2 --warmup 0.05 \
		--json "$T/$name.json" "$@" >"$T/$name.txt" 2>&1; then
		echo "FAIL: $name exited non-zero"; cat "$T/$name.txt"; fails=$((fails + 1)); return
	fi
	python3 - "$T/$name.json" "$metrics" "$locks" <<'PY' || fails=$((fails + 1))
import json, sys
d = json.load(open(sys.argv[1]))
metrics, locks = sys.argv[2].split(), sys.argv[3].split()
if not d["runs"]:
    sys.exit("FAIL: no runs")
for r in d["runs"]:
    cell = "%s %s threads=%d %s" % (r["workload"], r["strategy"], r["threads"], r["params"])
    if r["status"] != "ok":
        sys.exit("FAIL: %s: %s" % (cell, r["error"]))
    for m in metrics:
        if m not in r["metrics"]:
            sys.exit("FAIL: %s: no metric %s (has %s)" % (cell, m, sorted(r["metrics"])))
    classes = {l["class"] for l in r["locks"]}
    for l in locks:
        if l not in classes:
            sys.exit("FAIL: %s: no lock class %s (has %s)" % (cell, l, sorted(classes)))
print("%s: %d cells ok" % (d["runs"][0]["workload"], len(d["runs"])))
PY
}

# bad NAME ARGS...: must fail cleanly (exit 1 with a failed cell, or 2), never crash
bad() {
	local name=$1 rc
	shift
	"$B" run "$name" --topology "$TOPO" --threads 1 --duration 0.1 --warmup 0 \
		"$@" >"$T/bad.txt" 2>&1
	rc=$?
	if [ "$rc" -ne 1 ] && [ "$rc" -ne 2 ]; then
		echo "FAIL: $name $* exited $rc"; cat "$T/bad.txt"; fails=$((fails + 1))
	fi
}

FIND_METRICS="entries expected_entries pairs expected_pairs dentries inodes bytes kernel_bytes"
FIND_METRICS="$FIND_METRICS cold_ns_per_entry warm_ns_per_entry walk_bytes_per_instantiation walk_other_allocs"
run procfs-find "$FIND_METRICS" "s_inode_list_lock d_lock lru_lock" \
	--threads 1,2 --param proc_threads=4 --param proc_fds=16 --param proc_vmas=3 \
	--param inode_list=global,dlock
EXIT_METRICS="teardown_ns objects_freed objects_freed_per_sec longest_stretch_ns"
EXIT_METRICS="$EXIT_METRICS inode_list_acquisitions inode_list_contentions inode_list_bounces_per_object"
EXIT_METRICS="$EXIT_METRICS lru_acquisitions lru_contentions lru_bounces_per_object"
EXIT_METRICS="$EXIT_METRICS task_dir_acquisitions task_dir_contentions task_dir_bounces_per_object"
run procfs-exit "$EXIT_METRICS" "s_inode_list_lock lru_lock d_lock" \
	--threads 1,2 --param proc_threads=6 --param proc_fds=8 --param proc_vmas=2 \
	--param inode_list=global,dlock
run procfs-lsof "lookups lookups_per_sec revalidation_failures objects_retained" \
	"s_inode_list_lock d_lock" \
	--threads 1,2 --param proc_threads=4 --param proc_fds=16 --param inode_list=global,dlock

for w in procfs-find procfs-exit procfs-lsof; do
	bad "$w" --param proc_threads=0
	bad "$w" --param proc_threads=-1
	bad "$w" --param proc_threads=99999999999
	bad "$w" --param proc_fds=99999999999
	bad "$w" --param proc_threads=abc
	bad "$w" --param inode_list=nosuch
done
bad procfs-find --param proc_vmas=99999999999
# the shape fits the limits but not in memory: refused before anything is built
bad procfs-find --param proc_threads=65536 --param proc_fds=1048576

if [ "$fails" -ne 0 ]; then
	echo "$fails failure(s)"
	exit 1
fi
echo "procfs workloads: all cells ok"
