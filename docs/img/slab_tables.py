#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Markdown tables of the slabinfo-read and slab-alloc runs in docs/slab.md.
# Usage: slab_tables.py sir RUN.json | slab_tables.py sa RUN.json
import json, sys

runs = json.load(open(sys.argv[2]))["runs"]
if sys.argv[1] == "sir":
    print("| caches N | iterator | reads/s | time per read (ms) | visits per read | chunks | missing per read | duplicates per read |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        m = r["metrics"]
        print("| %s | %s | %.1f | %.2f | %.0f | %.0f | %.3f | %.3f |" % (
            r["params"]["caches"], r["strategy"], r["ops_per_sec"], m["read_ms"],
            m["visits_per_read"], m["chunks_per_read"], m["missing_per_read"],
            m["duplicates_per_read"]))
else:
    print("| strategy | threads | charged % | alloc+free pairs/s per thread | lock acq/op | status |")
    print("|---|---:|---:|---:|---:|---|")
    for r in runs:
        print("| %s | %d | %s | %.3g | %.2f | %s |" % (r["strategy"], r["threads"],
              r["params"]["charged"], r["ops_per_sec_per_thread"], r["lock_acq_per_op"], r["status"]))
