"""Issue 19 on a real server: start-up removes the stale temp files of earlier servers from the system temp folder
(not those a live process owns), and idle shots give their RAM caches back on a timer (--idle-release)."""
from __future__ import annotations

import os
import subprocess
import sys
import time

from ftpvm_client import Client
from server_harness import COLORSPACE, launch


def test_startup_cleans_stale_temp_files_and_idle_shots_release_ram(tmp_path, synthetic_checkpoint, shot_data):
    systmp = tmp_path / "systmp"
    systmp.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live = subprocess.Popen([sys.executable, "-c", "input()"], stdin=subprocess.PIPE)
    stale = [systmp / "ftpvm-wire-k1ll3d.exr", systmp / f"ftpvm-bytes-{dead.pid}-x.exr"]
    kept = [systmp / f"ftpvm-bytes-{live.pid}-y.exr", systmp / "unrelated.exr"]
    old = time.time() - 3600
    for path in stale + kept:
        path.write_bytes(b"0" * 4096)
        os.utime(path, (old, old))
    srv = launch(tmp_path / "state", synthetic_checkpoint, tmp_path / "server.log",
                 extra=["--idle-release", "0.5"], env={"TMPDIR": str(systmp)})
    try:
        assert [p for p in stale if p.exists()] == [] and all(p.exists() for p in kept)
        assert "removed 2 stale temp file(s) of earlier servers" in srv.log_tail(100)
        with Client(srv.address) as client:
            shot = client.open_shot("idle", 96, 64, COLORSPACE)
            shot.set_keyframe(0, image=shot_data.plates_linear[0], trimap=shot_data.trimaps[0])
            list(shot.matte([(f, shot_data.plates_linear[f]) for f in range(3)], transport="inline"))
            for _ in range(300):  # the timer fires within a second or two of the shot going idle
                if "released the RAM caches of idle shot(s) idle" in srv.log_tail(100):
                    break
                time.sleep(0.1)
            else:
                raise AssertionError(srv.log_tail(40))
    finally:
        live.kill()
        live.wait()
        assert srv.stop() == 0, srv.log_tail()
