#!/usr/bin/env bash
# Set up FTP-VM for compositors in ./.venv (Python >= 3.10).
#
# The venv is isolated from the base Python's packages, so what gets installed never depends on what the base
# Python happens to hold: torch==2.13.0 (the CPU build; no multi-GB CUDA wheel is pulled by accident), then this
# project with its pinned tools.
#
# FTPVM_SYSTEM_TORCH=1 reuses a torch that the base Python already has (e.g. your CUDA build) instead: the venv is
# then made with --system-site-packages, so it also sees the base Python's other packages, and pip installs into
# the venv only what the base Python lacks. An existing .venv made the other way is made again.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
SYSTEM_TORCH="${FTPVM_SYSTEM_TORCH:-0}"
if [ "$SYSTEM_TORCH" = "1" ]; then
    if ! "$PYTHON" -c "import torch" >/dev/null 2>&1; then
        echo "FTPVM_SYSTEM_TORCH=1 but $PYTHON has no torch; install it there first, or unset FTPVM_SYSTEM_TORCH" >&2
        exit 2
    fi
    want="true"; venv_args=(--system-site-packages)
else
    want="false"; venv_args=()
fi
if [ -x .venv/bin/python ] && ! grep -qi "^include-system-site-packages *= *$want" .venv/pyvenv.cfg; then
    echo "re-making .venv: it was made with include-system-site-packages != $want (FTPVM_SYSTEM_TORCH=$SYSTEM_TORCH)"
    "$PYTHON" -m venv --clear "${venv_args[@]}" .venv
elif [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv "${venv_args[@]}" .venv
fi
if ! .venv/bin/python -c "import torch" >/dev/null 2>&1; then
    .venv/bin/python -m pip install --quiet "torch==2.13.0"
fi
.venv/bin/python -m pip install --quiet -e ".[dev]"
echo "FTP-VM installed in .venv (torch $(.venv/bin/python -c 'import torch; print(torch.__version__)')," \
     "$([ "$want" = true ] && echo "sharing the base Python's packages" || echo "isolated from the base Python"))"
