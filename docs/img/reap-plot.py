#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The tables and plots of docs/reap.md from kscale-bench JSON files.
#   reap-plot.py latency-table RUN.json         markdown table of a reap-latency run
#   reap-plot.py latency-svg RUN.json OUT.svg   memory not yet freed and latency per victim
#   reap-plot.py scan-table RUN.json            markdown table of a reap-scan sweep, with ratios
#   reap-plot.py scan-svg RUN.json OUT.svg      time per check against processes, log-log
import json, subprocess, sys

runs = [r for r in json.load(open(sys.argv[2]))["runs"] if r["status"] == "ok"]


def gnuplot(script, blocks):
    data = "".join("$d%d << EOD\n%s\nEOD\n" % (i, "\n".join(b)) for i, b in enumerate(blocks))
    subprocess.run(["gnuplot"], input=(data + script).encode(), check=True)


def series(r, name):
    for s in r["series"]:
        if s["name"] == name and s["repeat"] in (0, 1):
            return list(zip(s["t_s"], s["value"]))
    return []


if sys.argv[1] == "latency-table":
    print("| killer | latency median (ms) | p99 (ms) | min (ms) | MB/s per victim (median) | all freed (s) | freed by exit / killer / reaper | kills without reap |")
    print("|---|---:|---:|---:|---:|---:|---|---:|")
    for r in runs:
        m = r["metrics"]
        print("| %s | %.1f | %.1f | %.1f | %.0f | %.2f | %d / %d / %d | %d |" % (
            r["strategy"], m["reap_latency_ms_median"], m["reap_latency_ms_p99"],
            m["reap_latency_ms_min"], m["freed_mb_per_s_median"], m["all_freed_s"],
            m["freed_by_exit"], m["freed_by_killer"], m["freed_by_reaper"],
            m["kills_without_reap"]))
    base = {r["strategy"]: r["metrics"]["reap_latency_ms_median"] for r in runs}
    if base.get("wait-exit") and base.get("mrelease"):
        print("\nmedian latency, wait-exit / mrelease: %.1fx" % (base["wait-exit"] / base["mrelease"]))
elif sys.argv[1] == "latency-svg":
    p = runs[0]["params"]
    title = "reap-latency: %s victims of %s MiB, stalled %s ms, killed every %s ms, %s processes" % (
        p["victims"], p["size_mb"], p["stall_ms"], p["interval_ms"], p["procs"])
    blocks, plots_a, plots_b = [], [], []
    for i, r in enumerate(runs):
        mem = series(r, "killed_unfreed_bytes")
        lat = series(r, "reap_latency_ms")
        blocks.append(["%g %g" % (t, v / 1048576.0) for t, v in mem])
        blocks.append(["%d %g" % (k + 1, v) for k, (t, v) in enumerate(lat)])
        plots_a.append("$d%d using 1:2 with steps lw 2 lc %d title '%s'" % (2 * i, i + 1, r["strategy"]))
        plots_b.append("$d%d using 1:2 with linespoints lw 2 pt 7 lc %d title '%s'" % (
            2 * i + 1, i + 1, r["strategy"]))
    gnuplot("""set terminal svg size 860,760 font "sans,12"
set output "%s"
set multiplot layout 2,1 title "%s" noenhanced
set grid
set key top right noenhanced
set xlabel "seconds since the first kill (the first 4.5 s)"
set ylabel "killed, not yet freed (MiB)"
set xrange [0:4.5]
plot %s
set autoscale x
set logscale y
set format y "%%g"
set xtics 1
set xlabel "victim, in kill order"
set ylabel "kill to memory freed (ms)"
plot %s
unset multiplot
""" % (sys.argv[3], title, ", ".join(plots_a), ", ".join(plots_b)), blocks)
elif sys.argv[1] == "scan-table":
    by = {}
    for r in runs:
        by.setdefault(int(r["params"]["procs"]), {})[r["strategy"]] = r
    print("| processes N | scan: CPU ns per check | wall ns | processes visited | CPU ns per process | mm-owners: CPU ns per check | wall ns | visited | scan / mm-owners (CPU) | (wall) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in sorted(by):
        s, o = by[n].get("scan"), by[n].get("mm-owners")
        if not s or not o:
            continue
        sm, om = s["metrics"], o["metrics"]
        print("| %d | %.0f | %.0f | %.0f | %.1f | %.0f | %.0f | %.0f | %.0fx | %.0fx |" % (
            n, s["cpu_ns_per_op"], sm["check_ns_mean"], sm["procs_visited_per_check"],
            s["cpu_ns_per_op"] / max(sm["procs_visited_per_check"], 1), o["cpu_ns_per_op"],
            om["check_ns_mean"], om["procs_visited_per_check"],
            s["cpu_ns_per_op"] / o["cpu_ns_per_op"], sm["check_ns_mean"] / om["check_ns_mean"]))
elif sys.argv[1] == "scan-svg":
    blocks, plots, slope = [], [], 0
    for i, strat in enumerate(("scan", "mm-owners")):
        pts = sorted((int(r["params"]["procs"]), r["cpu_ns_per_op"])
                     for r in runs if r["strategy"] == strat)
        blocks.append(["%d %g" % p for p in pts])
        if strat == "scan" and pts:
            slope = pts[len(pts) // 2][1] / pts[len(pts) // 2][0]
        plots.append("$d%d using 1:2 with linespoints lw 2 pt 7 title '%s'" % (i, strat))
    gnuplot("""set terminal svg size 760,480 font "sans,12"
set output "%s"
set title "reap-scan: one task_will_free_mem() check, victim with mm_users > 1" noenhanced
set logscale xy 10
set format y "%%g"
set grid
set key top left noenhanced
set xlabel "processes on the machine"
set ylabel "CPU ns per check"
plot %s, x * %g with lines dt 3 lc rgb "gray50" title "slope 1 (N)"
""" % (sys.argv[3], ", ".join(plots), slope), blocks)
else:
    sys.exit("usage: reap-plot.py latency-table|latency-svg|scan-table|scan-svg RUN.json [OUT.svg]")
