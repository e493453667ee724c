#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The inode-churn table of docs/dcache.md from a kscale-bench JSON run.

"ops per CPU-second per thread" divides each sample's operations by the CPU
time the measuring threads received (the sample's cpu_ns), then takes the
median: on a machine shared with other jobs, that is the per-thread rate that
can be compared across thread counts.
"""
import json, statistics, sys
d = json.load(open(sys.argv[1]))
print("| strategy | threads | params | ops/s (median) | per thread | ops per CPU-second per thread | s_inode_list_lock acq / bounces / contentions per eviction |")
print("|---|---|---|---|---|---|---|")
for r in d['runs']:
    s = r['samples']
    cpu = [x['ops'] / (x['cpu_ns'] / 1e9) for x in s if x.get('cpu_ns')]
    m = r['metrics']
    p = ';'.join(f"{k}={v}" for k, v in r['params'].items())
    print(f"| {r['strategy']} | {r['threads']} | {p} | {r['ops_per_sec']:.0f} | {r['ops_per_sec_per_thread']:.0f} | "
          f"{statistics.median(cpu):.0f} | {m.get('inode_list_acquisitions_per_eviction',0):.3f} / "
          f"{m.get('inode_list_bounces_per_eviction',0):.4f} / {m.get('inode_list_contentions_per_eviction',0):.4f} |")
