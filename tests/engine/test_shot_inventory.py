"""Shot usage, removal and pruning (engine inventory and `ftpvm shots`), and no stray `lock` folders (issue 16)."""
from __future__ import annotations

import json
import os
import time

import pytest

from ftpvm_cli import main
from ftpvm_core.engine import InvalidInput, ShotNotFound
from ftpvm_core.engine.inventory import ShotSummary, select_prune

from shot_helpers import H, W

LINEAR = "Linear Rec.709 (sRGB)"


def _shot(engine, sid, data, frames=2):
    shot = engine.open_shot(sid, W, H, LINEAR)
    shot.set_keyframe(0, data.plates_linear[0], trimap=data.trimaps[0])
    list(shot.matte([(f, data.plates_linear[f]) for f in range(frames)]))
    engine.flush()
    return shot


def _age(engine, sid, seconds):
    """Make every file of a shot ``seconds`` old."""
    then = time.time() - seconds
    for dirpath, _, files in os.walk(engine.store.shot_dir(sid)):
        for name in files:
            os.utime(os.path.join(dirpath, name), (then, then))


def test_usage_lists_size_keyframes_and_last_change(make_engine, small_shot):
    e = make_engine()
    _shot(e, "a", small_shot, frames=3)
    b = _shot(e, "b", small_shot)
    b.set_keyframe(4, small_shot.plates_linear[4], outer=small_shot.alpha[4])
    usage = {s.id: s for s in e.shot_usage()}
    assert sorted(usage) == ["a", "b"]
    assert usage["a"].keyframes == {0: "trimap"} and usage["b"].keyframes == {0: "trimap", 4: "mask"}
    on_disk = sum(os.path.getsize(os.path.join(p, f)) for p, _, fs in os.walk(e.store.shot_dir("a")) for f in fs)
    assert usage["a"].size_bytes == on_disk > 0
    assert abs(usage["a"].modified - time.time()) < 600 and (usage["a"].width, usage["a"].height) == (W, H)


def test_prune_by_age_and_by_size(make_engine, small_shot):
    e = make_engine()
    for sid, age in (("old", 10 * 86400), ("mid", 3 * 86400), ("new", 0)):
        _shot(e, sid, small_shot)
        _age(e, sid, age)
    assert [s.id for s in e.prune_shots(older_than_s=7 * 86400, dry_run=True)] == ["old"]
    assert sorted(e.list_shots()) == ["mid", "new", "old"]  # a dry run removes nothing
    assert [s.id for s in e.prune_shots(older_than_s=7 * 86400)] == ["old"]
    assert sorted(e.list_shots()) == ["mid", "new"]
    assert not e.store.shot_dir("old").exists()  # the whole folder, lock included
    newest = next(s for s in e.shot_usage() if s.id == "new")
    assert [s.id for s in e.prune_shots(max_total_bytes=newest.size_bytes)] == ["mid"]  # oldest first
    with pytest.raises(ShotNotFound):
        e.get_shot("old")
    with pytest.raises(InvalidInput, match="age"):
        e.prune_shots()


def test_select_prune_combines_limits_oldest_first():
    mk = lambda sid, size, mod: ShotSummary(sid, W, H, LINEAR, {}, size, mod)  # noqa: E731
    shots = [mk("a", 100, 1000.0), mk("b", 100, 2000.0), mk("c", 100, 3000.0), mk("d", 100, 4000.0)]
    assert [s.id for s in select_prune(shots, older_than_s=1500, now=4000.0)] == ["a", "b"]
    assert [s.id for s in select_prune(shots, max_total_bytes=150, now=4000.0)] == ["a", "b", "c"]
    assert [s.id for s in select_prune(shots, older_than_s=2500, max_total_bytes=250, now=4000.0)] == ["a", "b"]


def test_no_lock_folder_for_shots_never_created_or_deleted(make_engine, small_shot):
    e = make_engine()
    shots = e.store.root / "shots"
    with pytest.raises(ShotNotFound):
        e.get_shot("never")
    with pytest.raises(ShotNotFound):
        e.delete_shot("never")
    with pytest.raises(InvalidInput):
        e.open_shot("bad-size", 8, H, LINEAR)  # refused before any lock
    assert sorted(p.name for p in shots.iterdir()) == []
    _shot(e, "gone", small_shot)
    assert (shots / "gone" / "lock").exists()  # a live shot keeps its lock file
    e.delete_shot("gone")
    assert sorted(p.name for p in shots.iterdir()) == []


def test_a_shot_removed_while_another_handle_waits_leaves_one_lock(make_engine, small_shot):
    """Two stores on one directory: one deletes the shot; the other re-creates it and locks the new file."""
    from ftpvm_core.engine.store import Store

    e = make_engine()
    _shot(e, "s", small_shot)
    other = Store(e.store.root)
    try:
        lock = other.lock("s")
        e.delete_shot("s")
        with lock.hold():  # locks the file at the path (re-created), not the removed one
            fd_ino = os.fstat(lock._fd).st_ino
            assert os.stat(e.store.shot_dir("s") / "lock").st_ino == fd_ino
        assert not e.store.shot_dir("s").exists()
    finally:
        other.close()


def test_shots_cli_list_show_rm_prune(make_engine, small_shot, capsys):
    e = make_engine()
    for sid in ("one", "two"):
        _shot(e, sid, small_shot)
    _age(e, "one", 30 * 86400)
    e.close()
    state = ["--state-dir", str(e.store.root)]
    assert main(["shots", "list", *state]) == 0
    out = capsys.readouterr().out
    assert "one" in out and "two" in out and "KiB" in out
    assert main(["shots", "list", "--json", *state]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [s["id"] for s in listed] == ["one", "two"] and listed[0]["keyframes"] == {"0": "trimap"}
    assert main(["shots", "show", "two", *state]) == 0
    assert "0 (trimap)" in capsys.readouterr().out
    assert main(["shots", "prune", "--older-than", "7d", "--dry-run", *state]) == 0
    assert "would remove one" in capsys.readouterr().err
    assert main(["shots", "prune", "--older-than", "7d", *state]) == 0
    assert "removed one" in capsys.readouterr().err
    assert main(["shots", "rm", "nope", *state]) == 2
    assert "no shot nope" in capsys.readouterr().err
    assert main(["shots", "rm", "two", *state]) == 0
    assert sorted(p.name for p in (e.store.root / "shots").iterdir()) == []
    assert main(["shots", "prune", *state]) == 2
    assert "--older-than" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["shots", "prune", "--older-than", "soon", *state])
    assert exc.value.code == 2 and "write a number and a unit" in capsys.readouterr().err


@pytest.mark.parametrize("record", ['{"sch', '{"schema": 1}', "[]"])
def test_a_damaged_shot_record_is_listed_as_damaged_and_can_be_removed(make_engine, record, capsys):
    from ftpvm_core.engine import inventory
    from ftpvm_core.errors import ShotDamaged

    e = make_engine()
    e.open_shot("ok", W, H, "Linear Rec.709 (sRGB)")
    e.open_shot("torn", W, H, "Linear Rec.709 (sRGB)")
    (e.store.shot_dir("torn") / "shot.json").write_text(record)
    e2 = make_engine()
    for call in (lambda: e2.get_shot("torn"), lambda: e2.open_shot("torn", W, H, "Linear Rec.709 (sRGB)")):
        with pytest.raises(ShotDamaged, match=r"'torn' is damaged: .* delete the shot") as info:
            call()
        assert str(e2.store.root) not in str(info.value)
    usage = {s.id: s for s in e2.shot_usage()}
    assert set(usage) == set(e2.list_shots()) == {"ok", "torn"}  # counted and listed alike
    assert usage["torn"].damaged and not usage["ok"].damaged
    assert main(["shots", "list", "--state-dir", str(e2.store.root)]) == 0
    assert "DAMAGED" in capsys.readouterr().out
    e2.delete_shot("torn")
    assert e2.list_shots() == ["ok"]
    assert inventory.summaries(e2.store)[0].id == "ok"
