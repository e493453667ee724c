#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Install what kscale needs to build, test and plot, from Debian/Ubuntu
# packages. Installs with apt-get when run as root (or through sudo without a
# password); otherwise prints the exact command and stops with status 1.
set -euo pipefail

pkgs=(build-essential cmake pkg-config git
      liburcu-dev libjemalloc-dev libhwloc-dev hwloc-nox
      libcmocka-dev libjansson-dev gnuplot-nox python3 util-linux)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
	echo "kscale: missing packages (${missing[*]}) and no apt-get: install them by hand" >&2
	exit 1
fi
cmd=(apt-get install -y --no-install-recommends "${missing[@]}")
if [ "$(id -u)" -eq 0 ]; then
	sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	sudo=(sudo)
else
	echo "kscale: missing packages; run as root:" >&2
	echo "  apt-get update && ${cmd[*]}" >&2
	exit 1
fi
echo "kscale: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" "${cmd[@]}" >/dev/null
