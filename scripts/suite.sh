#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The main comparison: install what is missing, build Release (jemalloc,
# lock_stat on) and run `kscale-bench suite`. Extra arguments go to the suite
# (e.g. --json suite.json --duration-scale 2).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" >/dev/null
exec build/release/bench/kscale-bench suite "$@"
