#!/usr/bin/env bash
# Set up FTP-VM for compositors in ./.venv (Python >= 3.10).
# Re-uses a torch already installed in the base Python (e.g. your CUDA build); otherwise
# installs the CPU build torch==2.13.0 first, so no multi-GB CUDA wheel is pulled by accident.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv --system-site-packages .venv
fi
if ! .venv/bin/python -c "import torch" >/dev/null 2>&1; then
    .venv/bin/python -m pip install --quiet "torch==2.13.0"
fi
.venv/bin/python -m pip install --quiet -e ".[dev]"
echo "FTP-VM installed in .venv (torch $(.venv/bin/python -c 'import torch; print(torch.__version__)'))"
