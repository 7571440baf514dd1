"""Pure decisions: shot ids, frame ranges, paths, transfer, keyframe records, staleness, the process plan."""
from __future__ import annotations

import pytest

from ftpvm_nuke import plan
from ftpvm_nuke.plan import KeyframeRecord, Manifest, NodeState, PlanError


def state(tmp_path, keyframes, first=1, last=10, settings=None, passes=("alpha",)):
    kfs = {f: KeyframeRecord(f, "roto", 10.0, d) for f, d in keyframes.items()}
    return NodeState("127.0.0.1:1", "sh010", "ACEScg", 96, 64, first, last, kfs,
                     settings or {"downsample_ratio": "auto"}, passes, str(tmp_path))


def test_default_shot_id_drops_version_and_cleans():
    assert plan.default_shot_id("/shows/x/sh010_comp_v012.nk", "FTPVMMatte1") == "sh010_comp_FTPVMMatte1"
    assert plan.default_shot_id("", "FTPVMMatte2") == "untitled_FTPVMMatte2"
    assert plan.default_shot_id("/a/my shot (final).nk", "N 1") == "my_shot_final_N_1"
    assert plan.check_shot_id("sh010.a-b_c") == "sh010.a-b_c"
    for bad in ("", ".hidden", "a/b", "x" * 129):
        with pytest.raises(PlanError, match="shot id"):
            plan.check_shot_id(bad)


def test_runs():
    assert plan.runs([3, 1, 2, 7, 9, 8]) == [(1, 3), (7, 9)]


def test_cache_paths(tmp_path):
    paths = plan.CachePaths(str(tmp_path), "sh010")
    assert paths.pattern("alpha").endswith("/sh010/alpha/alpha.####.exr")
    assert paths.path("alpha", 1001).endswith("/sh010/alpha/alpha.1001.exr")
    assert plan.frame_path("/x/a.%04d.exr", 7) == "/x/a.0007.exr"
    assert plan.frame_path("/x/a.@@@@.exr", 7) == plan.frame_path("/x/a.####.exr", 7) == "/x/a.0007.exr"
    assert plan.default_cache_root("/shows/sh010/comp.nk", "/tmp/c") == "/shows/sh010/ftpvm_cache"
    assert plan.default_cache_root("", "/tmp/c") == "/tmp/c"


def test_transfer_choice(tmp_path):
    inside = str(tmp_path / "cache")
    assert plan.choose_transfer("auto", inside, True, [str(tmp_path)]) == "path"
    assert plan.choose_transfer("auto", inside, True, [str(tmp_path / "elsewhere")]) == "inline"
    assert plan.choose_transfer("auto", inside, False, [str(tmp_path)]) == "inline"
    assert plan.choose_transfer("inline", inside, True, [str(tmp_path)]) == "inline"
    assert not plan.is_under(str(tmp_path) + "_sibling", [str(tmp_path)])
    with pytest.raises(PlanError, match="--allow-root"):
        plan.choose_transfer("path", inside, True, [])


def test_keyframe_records_roundtrip_and_listing():
    recs = {12: KeyframeRecord(12, "trimap", 0.0, "b"), 3: KeyframeRecord(3, "roto", 8.0, "a")}
    assert plan.keyframes_from_text(plan.keyframes_to_text(recs)) == recs
    assert plan.keyframes_from_text("not json") == {}
    assert plan.format_keyframe_list(recs) == "3 (roto, 8 px), 12 (ready trimap)"
    assert "set keyframe" in plan.format_keyframe_list({})
    assert plan.keyframe_digest("mask", 8, b"x") != plan.keyframe_digest("mask", 9, b"x")
    assert plan.keyframe_digest("mask", 8, b"x") != plan.keyframe_digest("mask", 8, b"y")


def test_every_keyframe_counts_for_every_frame(tmp_path):
    """Which keyframes a frame reads is the engine's rule: the node no longer keeps a copy of the memory policy."""
    assert not hasattr(plan, "memory_keyframes")
    a = state(tmp_path, {1: "k1", 5: "k5"})
    b = state(tmp_path, {1: "k1", 5: "k5-new"})
    assert all(a.frame_signature(f) != b.frame_signature(f) for f in range(1, 11))
    c = state(tmp_path, {5: "k5", 1: "k1"})
    assert all(a.frame_signature(f) == c.frame_signature(f) for f in range(1, 11))
    d = state(tmp_path, {1: "k1", 5: "k5"}, settings={"downsample_ratio": 0.5})
    assert all(a.frame_signature(f) != d.frame_signature(f) for f in range(1, 11))


def test_plan_process(tmp_path):
    s = state(tmp_path, {1: "k1", 5: "k5"}, passes=("alpha", "foreground"))
    existing = set()
    m = Manifest("sh010", sent_keyframes={1: "k1", 5: "old", 9: "k9"})
    p = plan.plan_process(s, m, server_keyframes=[1, 5, 9], exists=existing.__contains__)
    assert p.send_keyframes == (5,) and p.remove_keyframes == (9,) and p.frames == tuple(range(1, 11))
    # after a full process: nothing to do; a missing foreground file brings back only its frame
    m.frames = {f: s.frame_signature(f) for f in range(1, 11)}
    m.sent_keyframes = {1: "k1", 5: "k5"}
    existing.update(s.paths.path(k, f) for k in ("alpha", "foreground") for f in range(1, 11))
    assert plan.plan_process(s, m, [1, 5], existing.__contains__).nothing_to_do
    existing.discard(s.paths.path("foreground", 7))
    assert plan.plan_process(s, m, [1, 5], existing.__contains__).frames == (7,)
    # a server that lost its state gets the keyframes again
    assert plan.plan_process(s, m, [], existing.__contains__).send_keyframes == (1, 5)
    with pytest.raises(PlanError, match="No keyframe"):
        plan.plan_process(state(tmp_path, {}), m, [])


def test_manifest_roundtrip_and_damage(tmp_path):
    m = Manifest("sh010", {1: "a"}, {1: "s1", 2: "s2"}, {1: ["alpha"]})
    path = str(tmp_path / "sh010" / "manifest.json")
    m.save(path)
    assert Manifest.load(path, "sh010") == m
    assert Manifest.load(path, "other") == Manifest("other")
    (tmp_path / "sh010" / "manifest.json").write_text("{broken")
    assert Manifest.load(path, "sh010") == Manifest("sh010")


def test_settings_and_passes_and_colorspaces():
    from ftpvm_wire.schema import snapshot

    assert plan.downsample_setting("auto", 0.3) == "auto"
    assert plan.downsample_setting("ratio", 0.25) == 0.25
    schema = snapshot()
    assert plan.shot_settings(schema, {"downsample_ratio": 0.25, "memory_size": 3}) == \
        {"downsample_ratio": 0.25, "memory_size": 3}
    with pytest.raises(PlanError, match=r"'downsample_ratio'.*\[0.05, 1\]"):
        plan.shot_settings(schema, {"downsample_ratio": 2.0})
    with pytest.raises(PlanError, match="'memory_policy'.*choose one of first_last, nearest"):
        plan.shot_settings(schema, {"memory_policy": "latest"})
    assert plan.passes_for(True, False, True) == ("alpha", "foreground", "boundary")
    assert plan.passes_for(False, False, False) == ("alpha",)
    names = ("ACEScg", "Linear Rec.709 (sRGB)")
    assert plan.server_colorspace("linear", names) == "Linear Rec.709 (sRGB)"
    assert plan.server_colorspace("ACES - ACEScg", names) == "ACEScg"
    assert plan.server_colorspace("ACEScg", names) == "ACEScg"
    assert plan.server_colorspace("weird", names) == "weird"
