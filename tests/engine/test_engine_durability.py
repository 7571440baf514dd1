"""Issue 19, recovery that is exact or says so: durable frames, a kill -9 resumed bit-identically, the state
directory's lock, start-up temp cleanup, checksummed cache entries, damaged keyframes asked for again."""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from ftpvm_core.engine.store import CACHE_MAGIC
from ftpvm_core.errors import NoKeyframe, StateError
from shot_helpers import LINEAR, H, W, frames_of

FRAMES = 8
KILLED = textwrap.dedent("""
    import sys, torch
    torch.set_num_threads(1)
    from ftpvm_core.engine import Engine
    from ftpvm_core.synthetic import make_shot
    from ftpvm_core.weights import synthetic_weights
    s = make_shot({N}, {H}, {W}, seed=3)
    e = Engine(weights=synthetic_weights(), device="cpu", state_dir=sys.argv[1], exclusive=True)
    shot = e.open_shot("k", {W}, {H}, "{LINEAR}")
    shot.set_keyframe(0, s.plates_linear[0], trimap=s.trimaps[0])
    for r in shot.matte([(f, s.plates_linear[f]) for f in range({N})], passes=("alpha",)):
        print("answered", r.frame, flush=True)
        if r.frame == int(sys.argv[2]):
            input()  # wait here to be killed: frames after this one were never answered
""").format(N=FRAMES, H=H, W=W, LINEAR=LINEAR)


def _open(engine, shot_id="s"):
    return engine.open_shot(shot_id, W, H, LINEAR)


def test_a_frame_is_answered_only_after_its_state_is_on_disk(make_engine, small_shot, monkeypatch):
    import ftpvm_core.engine.chain as chain

    slow = chain.atomic_write_json

    def slow_write(path, obj):  # a slow disk: the background writer lags behind the model
        time.sleep(0.3)
        slow(path, obj)
    monkeypatch.setattr(chain, "atomic_write_json", slow_write)
    e = make_engine()
    shot = _open(e)
    shot.set_keyframe(0, small_shot.plates_linear[0], trimap=small_shot.trimaps[0])
    index = e.store.shot_dir("s") / "index.json"
    for result in shot.matte(frames_of(small_shot, range(3)), passes=("alpha",)):
        on_disk = __import__("json").loads(index.read_text())["frames"]
        assert str(result.frame) in on_disk  # what a kill -9 right now would find
        # a state checkpoint every state_every frames and every frame's input since: enough to resume exactly
        cache = e.store.shot_dir("s") / "cache"
        assert len(list((cache / "states").glob("*.pt"))) >= (result.frame + 1) // e.state_every
        assert len(list((cache / "inputs").glob("*.npy"))) >= result.frame + 1


@pytest.mark.parametrize("kill_after", [2, 5])
def test_a_kill_9_then_resume_is_bit_identical_to_an_uninterrupted_run(tmp_path, make_engine, kill_after):
    from ftpvm_core.synthetic import make_shot

    data = make_shot(FRAMES, H, W, seed=3)
    state = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-c", KILLED, str(state), str(kill_after)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    try:
        for line in proc.stdout:
            if line.strip() == f"answered {kill_after}":
                break
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(60)
    resumed = _open(make_engine(state_dir=state), "k")  # as a client's resume does: from the next frame on
    after = {r.frame: r.alpha for r in resumed.matte(
        [(f, data.plates_linear[f]) for f in range(kill_after + 1, FRAMES)], passes=("alpha",))}
    clean = _open(make_engine(state_dir=tmp_path / "clean"), "k")
    clean.set_keyframe(0, data.plates_linear[0], trimap=data.trimaps[0])
    reference = {r.frame: r.alpha for r in clean.matte([(f, data.plates_linear[f]) for f in range(FRAMES)],
                                                       passes=("alpha",))}
    for frame, alpha in after.items():
        np.testing.assert_array_equal(alpha, reference[frame], err_msg=f"frame {frame}")


def test_one_exclusive_engine_per_state_directory(make_engine, tmp_path):
    from ftpvm_core.engine.store import Store

    first = Store(tmp_path / "state", exclusive=True)
    with pytest.raises(StateError, match=r"is in use by ftpvm pid \d+; stop that server"):
        Store(tmp_path / "state", exclusive=True)
    first.close()
    Store(tmp_path / "state", exclusive=True).close()  # released on close


def test_temp_files_of_a_killed_process_are_removed_at_start(tmp_path):
    from ftpvm_core.engine.store import Store

    root = tmp_path / "state"
    Store(root, exclusive=True).close()
    left = [root / "shots" / "a" / ".tmp-index.json", root / "shots" / "a" / "cache" / "results" / ".tmp-x.npz",
            root / ".tmp-state.json", root / "tmp" / "ftpvm-bytes-123.exr"]
    for p in left:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"0" * 1000)
    Store(root, exclusive=True).close()
    assert [p for p in left if p.exists()] == []


def test_a_corrupt_state_file_is_one_clear_error(tmp_path):
    from ftpvm_core.engine.store import Store

    root = tmp_path / "state"
    root.mkdir()
    (root / "state.json").write_text('{"sche')
    with pytest.raises(StateError) as info:
        Store(root, exclusive=True)
    assert "is damaged" in str(info.value) and "\n" not in str(info.value)


def test_cached_results_carry_a_checksum_verified_on_read(make_engine, small_shot):
    e = make_engine()
    shot = _open(e)
    shot.set_keyframe(0, small_shot.plates_linear[0], trimap=small_shot.trimaps[0])
    first = list(shot.matte(frames_of(small_shot, range(2)), passes=("alpha",)))
    e.flush()
    results = sorted((e.store.shot_dir("s") / "cache" / "results").glob("*.npz"))
    assert results
    head = len(CACHE_MAGIC) + 32
    for path in results:  # zero the alpha inside an otherwise valid entry: the checksum must catch it
        data = path.read_bytes()
        with np.load(io.BytesIO(data[head:])) as z:
            arrays = dict(z)
        arrays["alpha"][:] = 0
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        path.write_bytes(data[:head] + buf.getvalue())
    e2 = make_engine(state_dir=e.store.root.parent / "state")  # a fresh engine: nothing in RAM
    again = list(e2.get_shot("s").matte(frames_of(small_shot, range(2)), passes=("alpha",)))
    for a, b in zip(first, again):
        assert not b.from_cache  # the damaged entries were misses, computed again ...
        np.testing.assert_array_equal(a.alpha, b.alpha)  # ... to the same result


def test_an_unreadable_cache_entry_is_a_miss(make_engine, small_shot):
    e = make_engine()
    shot = _open(e)
    shot.set_keyframe(0, small_shot.plates_linear[0], trimap=small_shot.trimaps[0])
    list(shot.matte(frames_of(small_shot, range(2)), passes=("alpha",)))
    e.flush()
    for path in (e.store.shot_dir("s") / "cache").rglob("*.*"):
        path.write_bytes(b"garbage")
    e2 = make_engine()
    again = list(e2.get_shot("s").matte(frames_of(small_shot, range(2)), passes=("alpha",)))
    assert [r.from_cache for r in again] == [False, False]


def test_a_damaged_keyframe_is_reported_and_asked_for_again(make_engine, small_shot):
    e = make_engine()
    shot = _open(e)
    shot.set_keyframe(0, small_shot.plates_linear[0], trimap=small_shot.trimaps[0])
    shot.set_keyframe(3, small_shot.plates_linear[3], trimap=small_shot.trimaps[3])
    (kf,) = (e.store.shot_dir("s") / "keyframes").glob("3-*.npz")
    data = bytearray(kf.read_bytes())
    data[len(data) // 2] ^= 0xFF
    kf.write_bytes(bytes(data))
    e2 = make_engine()
    shot2 = e2.get_shot("s")
    with pytest.raises(NoKeyframe, match="keyframe at frame 3 .* damaged .* set it again"):
        list(shot2.matte(frames_of(small_shot, [3]), passes=("alpha",)))
    assert [k.frame for k in shot2.keyframes()] == [0]  # no longer listed: the shot asks for it
    assert len(list(shot2.matte(frames_of(small_shot, [3]), passes=("alpha",)))) == 1


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_stale_temp_files_in_the_system_temp_folder_go_but_not_those_a_live_process_owns(tmp_path):
    from ftpvm_core.engine.images import remove_stale_temp_files

    old = time.time() - 3600
    (tmp_path / "ftpvm-wire-held.exr").write_bytes(b"x")
    holder = subprocess.Popen([sys.executable, "-c", "import sys; f = open(sys.argv[1], 'rb'); input()",
                               str(tmp_path / "ftpvm-wire-held.exr")], stdin=subprocess.PIPE)
    files = {
        "ftpvm-wire-k1ll3d.exr": "stale",           # an older server's name, no PID: not open, an hour old
        "ftpvm-bytes-a8x_2qz.exr": "stale",         # the engine's earlier name, no PID
        f"ftpvm-bytes-{_dead_pid()}-q1.exr": "stale",  # its writer is gone
        f"ftpvm-bytes-{holder.pid}-q2.exr": "live",  # its writer is alive
        "ftpvm-wire-held.exr": "live",              # no PID, but a live process has it open
        "ftpvm-wire-young.exr": "live",             # no PID, written a moment ago: maybe mid-decode
        "somebody-else.exr": "live",
    }
    try:
        for name in files:
            (tmp_path / name).write_bytes(b"x" * 100)
            if name != "ftpvm-wire-young.exr":
                os.utime(tmp_path / name, (old, old))
        for _ in range(200):  # the holder has opened its file
            assert holder.poll() is None
            if any(os.path.basename(os.path.realpath(f"/proc/{holder.pid}/fd/{fd}")) == "ftpvm-wire-held.exr"
                   for fd in os.listdir(f"/proc/{holder.pid}/fd")):
                break
            time.sleep(0.05)
        removed = remove_stale_temp_files(str(tmp_path))
    finally:
        holder.kill()
        holder.wait()
    assert sorted(os.path.basename(p) for p in removed) == sorted(n for n, v in files.items() if v == "stale")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(n for n, v in files.items() if v == "live")


def test_decode_temp_files_carry_the_writers_pid(tmp_path, monkeypatch):
    import tempfile

    from ftpvm_core.engine import images

    seen = []
    real = tempfile.mkstemp

    def spy(*args, **kwargs):
        fd, name = real(*args, **kwargs)
        seen.append(os.path.basename(name))
        return fd, name
    monkeypatch.setattr(images.tempfile, "mkstemp", spy)
    with pytest.raises(Exception):
        images.decode_image(b"not an exr", "frame", temp_dir=str(tmp_path))
    assert seen and seen[0].startswith(f"ftpvm-bytes-{os.getpid()}-") and not list(tmp_path.iterdir())
