#!/bin/sh
# Installs the imgstore Python package into a throwaway venv (Debian's packages as its site packages:
# python3-lmdb python3-msgpack python3-lz4 python3-numpy python3-pil python3-pytest python3-torch
# python3-setuptools python3-venv) and runs its tests. Needs the repo built (packages/cli/dist).
# Usage, from anywhere: python/run-tests.sh [pytest args]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
python=${PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
"$python" -m venv --system-site-packages "$tmp/venv"
# Build in a copy: setuptools writes build/ and *.egg-info next to the sources otherwise.
cp -R "$here" "$tmp/src"
rm -rf "$tmp/src/build" "$tmp/src"/src/*.egg-info
PIP_DISABLE_PIP_VERSION_CHECK=1 "$tmp/venv/bin/pip" install -q --no-build-isolation --no-deps "$tmp/src"
cd "$repo"
# The installed package, not the sources: run from outside python/src.
status=0
PYTHONDONTWRITEBYTECODE=1 "$tmp/venv/bin/python" -m pytest -q -p no:cacheprovider "$here/tests" "$@" || status=$?
if [ "$status" -eq 5 ]; then
  echo "run-tests.sh: pytest collected no tests" >&2
  exit 1
fi
exit "$status"
