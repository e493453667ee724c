#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The inode-churn table of docs/dcache.md from a kscale-bench JSON run.

Usage: dcache-churn-table.py RUN.json

Per cell: ops/s and ops/s per thread (wall clock, median of the samples), the
runner's CPU time per operation (cpu_ns_per_op: on a machine shared with other
jobs, the per-thread cost that compares across thread counts), and the
workload's s_inode_list_lock metrics per eviction (whole run, lock_stat).
"""
import json
import sys

runs = json.load(open(sys.argv[1]))["runs"]
print("| strategy | threads | params | ops/s | ops/s/thread | cpu ns/op | "
      "inode list acq / bounces / contentions per eviction |")
print("|---|---|---|---|---|---|---|")


def cpu_ns_per_op(r):
    """The runner's figure, or (older runners) the samples' CPU time / ops."""
    if r.get("cpu_ns_per_op") is not None:
        return r["cpu_ns_per_op"]
    ops = sum(x["ops"] for x in r["samples"])
    cpu = sum(x.get("cpu_ns", 0) for x in r["samples"])
    return cpu / ops if ops and cpu else float("nan")


for r in runs:
    m = r.get("metrics", {})
    p = ";".join(f"{k}={v}" for k, v in r["params"].items())
    print(f"| {r['strategy']} | {r['threads']} | {p} | {r['ops_per_sec']:.0f} | "
          f"{r['ops_per_sec_per_thread']:.0f} | {cpu_ns_per_op(r):.0f} | "
          f"{m.get('inode_list_acquisitions_per_eviction', 0):.3f} / "
          f"{m.get('inode_list_bounces_per_eviction', 0):.4f} / "
          f"{m.get('inode_list_contentions_per_eviction', 0):.4f} |")
