#!/usr/bin/env bash
# Small per-Python venvs for the host-Python round-trip test (tests/hostpy): .venv-hostpy/<X.Y>, each with only what
# a host carries for the client (numpy, grpcio, protobuf, fileseq: the newest wheels that Python can get; no torch).
#
#   bash scripts/setup_host_pythons.sh              # $FTPVM_HOST_PYTHONS, else 3.9 and 3.13 (what CI runs)
#   bash scripts/setup_host_pythons.sh 3.10 3.11    # others
#
# Pythons come from pyenv (PYENV_VERSION=3.9.18 pyenv which python); one that is missing is reported and left out,
# and the test then skips it with that reason. A venv that already imports its packages is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
versions=("$@")
# shellcheck disable=SC2206
[ ${#versions[@]} -eq 0 ] && versions=(${FTPVM_HOST_PYTHONS:-3.9 3.13})
for version in "${versions[@]}"; do
    venv=".venv-hostpy/$version"
    if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import numpy, grpc, google.protobuf, fileseq" 2>/dev/null; then
        echo "host Python $version: $venv is ready"
        continue
    fi
    full=$(pyenv versions --bare 2>/dev/null | grep -E "^${version//./\\.}\.[0-9]+$" | sort -V | tail -1 || true)
    python=""
    [ -n "$full" ] && python=$(PYENV_VERSION="$full" pyenv which python 2>/dev/null || true)
    if [ -z "$python" ]; then
        echo "host Python $version: not installed in pyenv; left out" >&2
        continue
    fi
    "$python" -m venv --clear "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade numpy grpcio protobuf fileseq
    echo "host Python $version ($full): $("$venv/bin/python" -c 'import grpc, google.protobuf as p; print("grpcio", grpc.__version__, "protobuf", p.__version__)')"
done
