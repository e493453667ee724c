#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Reduce a kscale-bench memcg-churn JSON run (--repeat R) to the median
# teardown time per (strategy, caches): a gnuplot data file and a Markdown
# table with the growth per doubling of N. Usage: slab_churn_table.py RUN.json OUT.dat
import collections, json, statistics, sys

runs = json.load(open(sys.argv[1]))["runs"]
cells = collections.defaultdict(list)
extra = {}
for r in runs:
    if r["status"] != "ok":
        continue
    m = r["metrics"]
    n = int(m["caches"])
    cells[(r["strategy"], n)].append(m["teardown_s"])
    extra[(r["strategy"], n)] = m
strategies = sorted({s for s, _ in cells}, key=lambda s: ["percache-4.10", "lists-4.11", "objcg-5.9", "objcg-5.14"].index(s))
sizes = sorted({n for _, n in cells})
with open(sys.argv[2], "w") as f:
    f.write("# caches " + " ".join(strategies) + "  (median teardown_s)\n")
    for n in sizes:
        f.write("%d %s\n" % (n, " ".join("%.6g" % statistics.median(cells[(s, n)]) if (s, n) in cells else "NaN" for s in strategies)))
print("| caches N | " + " | ".join("%s teardown (x per doubling)" % s for s in strategies) + " |")
print("|---:|" + "---:|" * len(strategies))
prev = {}
for n in sizes:
    row = []
    for s in strategies:
        if (s, n) not in cells:
            row.append("-")
            continue
        t = statistics.median(cells[(s, n)])
        g = " (x%.1f)" % (t / prev[s]) if s in prev else ""
        prev[s] = t
        row.append("%.3g s%s" % (t, g))
    print("| %d | %s |" % (n, " | ".join(row)))
print()
print("| caches N | strategy | offline visits/cgroup | release visits/cgroup | sync GPs under cgroup_mutex/cgroup | cgroup_mutex hold max ms | caches peak | sysfs nodes peak | bytes/cgroup |")
print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
for n in sizes:
    for s in strategies:
        m = extra.get((s, n))
        if not m:
            continue
        print("| %d | %s | %g | %g | %g | %.2f | %d | %d | %d |" % (n, s, m.get("offline_visits_per_cgroup", 0), m.get("release_visits_per_cgroup", 0), m.get("sync_gp_cgroup_mutex_per_cgroup", 0), m.get("cgroup_mutex_hold_max_ms", 0), m["caches_peak"], m["sysfs_nodes_peak"], m["bytes_per_cgroup"]))
