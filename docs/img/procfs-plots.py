#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Tables and plots of docs/procfs.md from kscale-bench JSON files.

    procfs-plots.py find.json exit.json [lsof.json]

find.json: a procfs-find run sweeping --param proc_threads (every layout);
exit.json: a procfs-exit run sweeping --param inode_list (and threads).
Prints markdown tables on stdout and writes docs/img/procfs-pairs.svg and
docs/img/procfs-exit.svg with gnuplot (next to this script).
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def runs(path):
    with open(path) as f:
        d = json.load(f)
    return [r for r in d["runs"] if r["status"] == "ok"], d["context"]


def find_table(rs):
    print("| layout | T | N | M | walkers | entries | expected | pairs kept | expected | bytes | kernel bytes "
          "| cold ns/entry | warm ns/entry | walk bytes/inst. | other allocs |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in sorted(rs, key=lambda r: (int(r["params"]["proc_threads"]), r["strategy"], r["threads"])):
        m, p = r["metrics"], r["params"]
        print("| %s | %s | %s | %s | %d | %d | %d | %d | %d | %d | %d | %.0f | %.0f | %.0f | %d |" % (
            r["strategy"], p["proc_threads"], p["proc_fds"], p["proc_vmas"], r["threads"],
            m["entries"], m["expected_entries"], m["pairs"], m["expected_pairs"], m["bytes"],
            m["kernel_bytes"], m["cold_ns_per_entry"], m["warm_ns_per_entry"],
            m["walk_bytes_per_instantiation"], m["walk_other_allocs"]))


def exit_table(rs):
    print("| layout | inode list | threads | T | N | pairs | teardown ms | objects/s | longest stretch ms "
          "| s_inode_list acq / cont / bounces per obj | lru acq / cont / bounces per obj "
          "| d_lock acq / cont / bounces per obj |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in sorted(rs, key=lambda r: (r["strategy"], r["params"]["inode_list"], r["threads"],
                                       int(r["params"]["proc_threads"]))):
        m, p = r["metrics"], r["params"]
        print("| %s | %s | %d | %s | %s | %d | %.1f | %.0f | %.2f | %d / %d / %.4f | %d / %d / %.4f "
              "| %d / %d / %.4f |" % (
                  r["strategy"], p["inode_list"], r["threads"], p["proc_threads"], p["proc_fds"],
                  m["pairs_walked"], m["teardown_ns"] / 1e6, m["objects_freed_per_sec"],
                  m["longest_stretch_ns"] / 1e6,
                  m["inode_list_acquisitions"], m["inode_list_contentions"],
                  m["inode_list_bounces_per_object"],
                  m["lru_acquisitions"], m["lru_contentions"], m["lru_bounces_per_object"],
                  m["task_dir_acquisitions"], m["task_dir_contentions"],
                  m["task_dir_bounces_per_object"]))


def lsof_table(rs):
    print("| layout | inode list | threads | T | N | passes/s | lookups/s | revalidation failures "
          "| readlink ENOENT | objects retained |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in sorted(rs, key=lambda r: (r["strategy"], r["params"]["inode_list"], r["threads"])):
        m, p = r["metrics"], r["params"]
        print("| %s | %s | %d | %s | %s | %.0f | %.0f | %d | %d | %d |" % (
            r["strategy"], p["inode_list"], r["threads"], p["proc_threads"], p["proc_fds"],
            r["ops_per_sec"], m["lookups_per_sec"], m["revalidation_failures"],
            m["readlink_enoent"], m["objects_retained"]))


def gnuplot(script):
    subprocess.run(["gnuplot"], input=script.encode(), check=True)


def plot_pairs(rs):
    layouts = sorted({r["strategy"] for r in rs})
    blocks = []
    for lay in layouts:
        pts = sorted((int(r["params"]["proc_threads"]), r["metrics"]["pairs"])
                     for r in rs if r["strategy"] == lay and r["threads"] == 1)
        blocks.append("\n".join("%d %d" % p for p in pts) + "\ne\n")
    n = rs[0]["params"]["proc_fds"]
    plots = ", ".join("'-' using 1:2 with linespoints title '%s'" % l for l in layouts)
    gnuplot("""set terminal svg size 720,440 font 'sans,12'
set output '%s/procfs-pairs.svg'
set title 'find /proc/<pid>: dentry/inode pairs kept, N = %s descriptors'
set xlabel 'threads of the process (T)'
set ylabel 'pairs'
set logscale xy
set key top left
set grid
plot %s
%s""" % (HERE, n, plots, "".join(blocks)))


def plot_exit(rs):
    series = sorted({(r["strategy"], r["params"]["inode_list"]) for r in rs})
    threads = sorted({r["threads"] for r in rs})
    blocks = []
    for s in series:
        pts = sorted((r["threads"], r["metrics"]["teardown_ns"] / 1e6)
                     for r in rs if (r["strategy"], r["params"]["inode_list"]) == s)
        blocks.append("\n".join("%d %.3f" % p for p in pts) + "\ne\n")
    plots = ", ".join("'-' using 1:2 with linespoints title '%s, %s'" % s for s in series)
    p = rs[0]["params"]
    gnuplot("""set terminal svg size 720,440 font 'sans,12'
set output '%s/procfs-exit.svg'
set title 'exit after a find: teardown, T = %s, N = %s'
set xlabel 'harness threads sharing the exits'
set ylabel 'teardown (ms)'
set xtics (%s)
set key outside right
set grid
plot %s
%s""" % (HERE, p["proc_threads"], p["proc_fds"], ",".join(str(t) for t in threads), plots,
         "".join(blocks)))


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    fr, ctx = runs(sys.argv[1])
    er, _ = runs(sys.argv[2])
    print("git %s, load %s\n" % (ctx.get("git_revision"), ctx.get("load_avg")))
    find_table(fr)
    print()
    exit_table(er)
    if len(sys.argv) > 3:
        lr, _ = runs(sys.argv[3])
        print()
        lsof_table(lr)
    plot_pairs(fr)
    plot_exit(er)


if __name__ == "__main__":
    main()
