#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The test command: install what is missing, then
#   1. Debug + ASan + UBSan: the whole ctest suite (unit, stress, oracle, examples, CLI);
#   2. ThreadSanitizer: the concurrent (stress) tests;
#   3. Release with jemalloc: the whole suite again, on the allocator users measure with.
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
jobs=$(nproc)
export CTEST_PARALLEL_LEVEL=$jobs
start=$(date +%s)
for preset in dev tsan release; do
	echo "=== $preset: configure, build, test ==="
	cmake --preset "$preset" >/dev/null
	cmake --build --preset "$preset" -j"$jobs" >/dev/null
	ctest --preset "$preset" -j"$jobs"
done
echo "=== all presets passed in $(( $(date +%s) - start )) s ==="
