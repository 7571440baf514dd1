"""The client is vendorable: it imports neither torch nor the engine, and works copied elsewhere."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

CLIENT = Path(__file__).resolve().parents[2] / "plugins" / "ftpvm_client"

PROBE = """
import sys
import numpy, grpc, google.protobuf  # what the client may need, and whatever they pull in
before = set(sys.modules)
import ftpvm_client
from ftpvm_client import Client, FTPVMError
print(ftpvm_client.__file__)
print(' '.join(sorted({m.split('.')[0] for m in set(sys.modules) - before})))
"""


def test_client_imports_only_numpy_grpc_and_protobuf(tmp_path):
    vendored = tmp_path / "host_site" / "ftpvm_client"
    shutil.copytree(CLIENT, vendored, ignore=shutil.ignore_patterns("__pycache__"))
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=tmp_path / "host_site", capture_output=True,
                         text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    path, roots = out.stdout.splitlines()
    assert path.startswith(str(vendored))
    added = set(roots.split()) - set(sys.stdlib_module_names)
    assert "ftpvm_client" in added
    assert added <= {"ftpvm_client", "numpy", "grpc", "google"}, added  # no torch, no ftpvm_core


def test_client_is_small():
    size = sum(p.stat().st_size for p in CLIENT.rglob("*.py"))
    assert size < 200_000, size


def test_client_parses_as_python_3_9():
    import ast

    for path in CLIENT.rglob("*.py"):
        ast.parse(path.read_text(), filename=str(path), feature_version=(3, 9))
