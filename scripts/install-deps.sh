#!/usr/bin/env bash
# Installs the Debian packages surgeon builds against, when they are missing:
#   libopenblas-dev (SGEMM), libdnnl-dev (oneDNN: convolutions), libhdf5-dev (Keras weight files),
#   pkg-config (to find them).
# Needs root (or sudo) only when something is missing.
set -euo pipefail

missing=()
dpkg -s libopenblas-dev >/dev/null 2>&1 || missing+=(libopenblas-dev)
dpkg -s libdnnl-dev >/dev/null 2>&1 || missing+=(libdnnl-dev)
dpkg -s libhdf5-dev >/dev/null 2>&1 || missing+=(libhdf5-dev)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)

if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}" >&2
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi

command -v swift >/dev/null 2>&1 || { echo "swift is not on PATH; install a Swift 6 toolchain" >&2; exit 1; }
