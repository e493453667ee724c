#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Install the build tree into a temporary prefix, then build and run
# examples/consumer against it four ways: find_package (shared, static) and
# pkg-config (shared, static).
set -euo pipefail
: "${KS_SOURCE_DIR:?}" "${KS_BINARY_DIR:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
san=()
if grep -q '^KS_SANITIZE:STRING=.\+' "$KS_BINARY_DIR/CMakeCache.txt"; then
	s=$(sed -n 's/^KS_SANITIZE:STRING=//p' "$KS_BINARY_DIR/CMakeCache.txt")
	san=(-fsanitize="$s")
fi
cmake --install "$KS_BINARY_DIR" --prefix "$prefix" >/dev/null
libdir=$(dirname "$(find "$prefix" -name 'libkscale.so' | head -n1)")
test -f "$prefix/include/kscale/kscale.h"
test -f "$libdir/libkscale.a"
test -f "$libdir/pkgconfig/kscale.pc"
test -f "$libdir/cmake/kscale/kscaleConfig.cmake"
[ -z "${KS_BENCH_BIN:-}" ] || test -x "$prefix/bin/kscale-bench"
# Public headers must not drag in liburcu, hwloc or jemalloc.
if grep -rE '#include <(urcu|hwloc|jemalloc)' "$prefix/include/kscale"; then
	echo "a public header includes a dependency's header" >&2
	exit 1
fi

export LD_LIBRARY_PATH=$libdir
for kind in OFF ON; do
	b=$tmp/cmake-$kind
	cmake -S "$KS_SOURCE_DIR/examples/consumer" -B "$b" -DCMAKE_PREFIX_PATH="$prefix" \
		-DKSCALE_STATIC=$kind -DCMAKE_C_FLAGS="${san[*]}" \
		-DCMAKE_EXE_LINKER_FLAGS="${san[*]}" >/dev/null
	cmake --build "$b" >/dev/null
	"$b/consumer" | grep -q 'demo_lock: 3 acquisitions'
	echo "find_package, static=$kind: ok"
done

export PKG_CONFIG_PATH=$libdir/pkgconfig
# shellcheck disable=SC2046
cc "${san[@]}" -o "$tmp/pc-shared" "$KS_SOURCE_DIR/examples/consumer/main.c" \
	$(pkg-config --cflags --libs kscale)
"$tmp/pc-shared" | grep -q 'demo_lock: 3 acquisitions'
echo "pkg-config shared: ok"
# Static kscale, shared dependencies: the libraries named by kscale.pc's
# Requires.private. (`pkg-config --static` would also demand static builds of
# hwloc's own dependencies, such as libudev, which Debian ships only shared.)
deps=$(pkg-config --print-requires-private kscale | awk '{print $1}' | tr '\n' ' ')
# shellcheck disable=SC2046,SC2086
cc "${san[@]}" -o "$tmp/pc-static" "$KS_SOURCE_DIR/examples/consumer/main.c" \
	$(pkg-config --cflags kscale) "$libdir/libkscale.a" $(pkg-config --libs $deps) -lpthread
# The static binary must not need libkscale.so.
if ldd "$tmp/pc-static" | grep -q libkscale; then
	echo "static link still needs libkscale.so" >&2
	exit 1
fi
"$tmp/pc-static" | grep -q 'demo_lock: 3 acquisitions'
echo "pkg-config static: ok"
