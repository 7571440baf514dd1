"""The client is vendorable: it and the wire import neither torch nor the engine, and work copied elsewhere."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "plugins" / "ftpvm_client"
WIRE = ROOT / "wire" / "ftpvm_wire"

PROBE = """
import sys
import numpy, grpc, google.protobuf, fileseq  # what the client may need, and whatever they pull in
before = set(sys.modules)
import ftpvm_client, ftpvm_wire
from ftpvm_client import Client, FTPVMError
import ftpvm_wire.sequences, ftpvm_wire.shots, ftpvm_wire.passes, ftpvm_wire.planes
print(ftpvm_client.__file__)
print(ftpvm_wire.__file__)
print(' '.join(sorted({m.split('.')[0] for m in set(sys.modules) - before})))
"""


def test_client_imports_only_the_wire_numpy_grpc_protobuf_and_fileseq(tmp_path):
    site = tmp_path / "host_site"
    for package in (CLIENT, WIRE):
        shutil.copytree(package, site / package.name, ignore=shutil.ignore_patterns("__pycache__"))
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=site, capture_output=True,
                         text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    client_path, wire_path, roots = out.stdout.splitlines()
    assert client_path.startswith(str(site / "ftpvm_client")) and wire_path.startswith(str(site / "ftpvm_wire"))
    added = set(roots.split()) - set(sys.stdlib_module_names)
    assert {"ftpvm_client", "ftpvm_wire"} <= added
    assert added <= {"ftpvm_client", "ftpvm_wire", "numpy", "grpc", "google", "fileseq"}, added  # no torch, no core


def test_client_is_small():
    size = sum(p.stat().st_size for p in CLIENT.rglob("*.py"))
    assert size < 200_000, size


def test_client_and_wire_parse_as_python_3_9():
    import ast

    for package in (CLIENT, WIRE):
        for path in package.rglob("*.py"):
            ast.parse(path.read_text(), filename=str(path), feature_version=(3, 9))
