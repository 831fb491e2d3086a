#!/usr/bin/env bash
# Unpacks the package's runtime (package.sh's runtime.tar.xz: jdk/, classes/, test-classes/, lib/) into DEST: with
# tar's xz support, or, on a machine without the xz program, with Python's tarfile (its lzma module is part of the
# standard library).
#
#   benchmarks/gpu/unpack.sh PKG DEST
set -euo pipefail
pkg=$1
dest=$2
archive="$pkg/runtime.tar.xz"
if [ ! -f "$archive" ]; then
    echo "no $archive: run benchmarks/gpu/package.sh here and carry $pkg" >&2
    exit 2
fi
if ! tar xJf "$archive" -C "$dest" 2>/dev/null; then
    python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$archive" "$dest"
fi
