#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every public header compiles on its own, under strict ISO C11 with
# -pedantic (consumers need not ask for GNU extensions) and as C++, and
# includes no liburcu, hwloc or jemalloc header.
set -euo pipefail
: "${KS_SOURCE_DIR:?}" "${KS_BINARY_DIR:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
inc=(-I"$KS_SOURCE_DIR/include" -I"$KS_BINARY_DIR/include")
for h in "$KS_SOURCE_DIR"/include/kscale/*.h; do
	name=$(basename "$h")
	if grep -nE '#include <(urcu|hwloc|jemalloc)' "$h"; then
		echo "$name includes a dependency's header" >&2
		exit 1
	fi
	printf '#include <kscale/%s>\nint main(void) { return 0; }\n' "$name" >"$tmp/t.c"
	cc -std=c11 -pedantic -Wall -Wextra -Werror "${inc[@]}" -fsyntax-only "$tmp/t.c" ||
		{ echo "$name: not strict C11" >&2; exit 1; }
	if command -v c++ >/dev/null; then
		c++ -x c++ -std=c++17 -Wall -Werror "${inc[@]}" -fsyntax-only "$tmp/t.c" ||
			{ echo "$name: not valid C++" >&2; exit 1; }
	fi
done
echo "all public headers compile standalone (C11 -pedantic, C++17)"
