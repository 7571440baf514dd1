#!/usr/bin/env bash
# Install Blender-as-a-module (bpy 5.0.x, which pins numpy < 2) into its own ./.venv-bpy for the add-on tests.
# The tests find .venv-bpy/bin/python by themselves (or $FTPVM_BPY_PYTHON); without it they skip.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv-bpy/bin/python ]; then
    "$PYTHON" -m venv .venv-bpy
fi
# Idempotent: installs only what is missing (a second run takes about a second).
if ! .venv-bpy/bin/python -c "import bpy, numpy, grpc, google.protobuf" >/dev/null 2>&1; then
    .venv-bpy/bin/python -m pip install --quiet "bpy==5.0.1" "numpy==1.26.4" "grpcio>=1.85.1" "protobuf>=6"
fi
echo "bpy $(.venv-bpy/bin/python -c 'import bpy; print(bpy.app.version_string)') ready in .venv-bpy"
