#!/usr/bin/env bash
# Install Blender-as-a-module for the add-on tests, one environment per supported Blender line:
#   .venv-bpy    bpy 5.0.1   (Blender 5.0)
#   .venv-bpy45  bpy 4.5.15  (Blender 4.5 LTS)
#   .venv-bpy42  bpy 4.2.23  (Blender 4.2 LTS)
# Each pins numpy < 2 as bpy does. The tests run once per environment that exists (or those in
# $FTPVM_BPY_PYTHON, os.pathsep-separated); without any they skip. FTPVM_BPY_VERSIONS="5.0" sets up fewer.
# The bpy wheels are built for CPython 3.11 only: $PYTHON must be a 3.11.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
VERSIONS="${FTPVM_BPY_VERSIONS:-5.0 4.5 4.2}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    echo "setup_blender_tests.sh: the bpy wheels need Python 3.11; set PYTHON=python3.11" >&2
    exit 1
fi
for version in $VERSIONS; do
    case "$version" in
        5.0) venv=.venv-bpy; pin="bpy==5.0.1" ;;
        4.5) venv=.venv-bpy45; pin="bpy==4.5.15" ;;
        4.2) venv=.venv-bpy42; pin="bpy==4.2.23" ;;
        *) echo "setup_blender_tests.sh: unknown bpy line $version (5.0, 4.5 or 4.2)" >&2; exit 1 ;;
    esac
    if [ ! -x "$venv/bin/python" ]; then
        "$PYTHON" -m venv "$venv"
    fi
    # Idempotent: installs only what is missing (a second run takes about a second per environment).
    if ! "$venv/bin/python" -c "import bpy, numpy, grpc, google.protobuf" >/dev/null 2>&1; then
        "$venv/bin/python" -m pip install --quiet "$pin" "numpy==1.26.4" "grpcio>=1.85.1" "protobuf>=6"
    fi
    echo "bpy $("$venv/bin/python" -c 'import bpy; print(bpy.app.version_string)') ready in $venv"
done
