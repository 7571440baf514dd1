"""Atomic writes: whole files only, and the permissions a plain open() gives under the user's umask."""
from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

SCRIPT = r"""
import os, sys
import numpy as np
os.umask(int(sys.argv[2], 8))
from ftpvm_core.atomic import atomic_write_bytes
from ftpvm_core.engine.store import Store, atomic_write_json
from ftpvm_core.imaging.io import write_exr, write_image
out = sys.argv[1]
write_exr(os.path.join(out, "m.exr"), {"A": np.zeros((4, 4), np.float32)})
write_image(os.path.join(out, "p.png"), np.zeros((4, 4, 3), np.float32))
atomic_write_json(os.path.join(out, "s.json"), {"a": 1})
atomic_write_bytes(os.path.join(out, "b.bin"), b"x")
Store(os.path.join(out, "state")).close()
with open(os.path.join(out, "plain.txt"), "w") as f:
    f.write("plain")
"""


@pytest.mark.parametrize("umask, mode", [("022", 0o644), ("002", 0o664), ("077", 0o600)])
def test_written_files_get_the_mode_open_gives(tmp_path, umask, mode):
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path), umask], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for name in ("m.exr", "p.png", "s.json", "b.bin", "plain.txt", "state/state.json"):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == mode, name
    assert not [p for p in tmp_path.rglob(".tmp-*")]


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path):
    from ftpvm_core.atomic import atomic_output

    target = tmp_path / "keep.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_output(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("writer died")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]
