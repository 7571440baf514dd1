"""FTPVMMatte against a real ftpvm-server: create, key, process, read back, cancel, re-key."""
from __future__ import annotations

import os

import numpy as np
import pytest

import nuke
from nuke_support import FIRST, H, W, make_script, run_process
from server_harness import free_port

from ftpvm_nuke import exr, node, plan


def build(plates, script_dir, server, transfer="auto"):
    plate, roto = make_script(plates, script_dir)
    plate.setSelected(True)
    g = node.create()
    g.setInput(1, roto)
    g["server"].setValue(server.address)
    g["transfer"].setValue(transfer)
    assert g["shot_id"].value() == "sh010_comp_FTPVMMatte1"   # the default; each test gets its own shot below
    g["shot_id"].setValue(f"sh010_{script_dir.name}")
    return g


def client_results(server, g, frames, plates):
    """What the client returns directly for the same shot and frames (the reference)."""
    from ftpvm_client import Client

    state = node.read_state(g)
    with Client(server.address) as client:
        shot = client.shot(state.shot_id)
        sources = [(f, exr.read(state.paths.path("source", f))) for f in frames]
        srcs = [(f, np.stack([p["R"], p["G"], p["B"]], -1)) for f, p in sources]
        return {r.frame: r for r in shot.matte(srcs, passes=("alpha", "foreground"))}


def test_process_range_path_mode(plates, work_root, server, tmp_path_factory):
    g = build(plates, work_root / "path_mode", server)
    assert g.name() == "FTPVMMatte1" and g.input(0) is not None
    nuke.frame(FIRST)
    rec = node.on_button(g, "set_keyframe")
    assert rec.mode == "roto" and nuke.messages == []
    assert g["keyframe_marks"].keyTimes() == [float(FIRST)]
    report = run_process(g)
    assert nuke.messages == [], nuke.messages
    assert report.transfer == "path" and report.matted == list(range(FIRST, FIRST + 6))
    assert report.sent_keyframes == [FIRST]
    assert "connected" in g["status"].value() and "cpu" in g["status"].value()
    line = node.on_button(g, "check")
    from ftpvm_client import Client

    with Client(server.address) as client:
        weights = client.info().weights_source  # the status line names what the server really runs
    assert line.startswith(f"connected: cpu, {weights} weights") and line.endswith("path transfer")

    # the node's output now carries the alpha and the foreground as channels, read from files, and no Viewer message
    assert all(g._render(f).texts == [] for f in range(FIRST, FIRST + 6))
    frame = FIRST + 3
    out = g._render(frame)
    direct = client_results(server, g, [frame], plates)[frame]
    assert np.abs(out.get("rgba.alpha") - direct.alpha).max() < 2e-3
    for i, c in enumerate(("red", "green", "blue")):
        assert np.abs(out.get(f"ftpvm_fg.{c}") - direct.foreground[..., i]).max() < 2e-2
    # the plate's colour passes through untouched
    plate = exr.read(node.read_state(g).paths.path("source", frame))
    assert np.abs(out.get("rgba.red") - plate["R"]).max() < 1e-3

    # a second Process has nothing left to do
    again = run_process(g)
    assert again.plan.frames == () and again.rendered == [] and "Up to date" in g["status"].value()


def test_inline_mode_and_rgb_premult(plates, work_root, server, tmp_path_factory):
    g = build(plates, tmp_path_factory.mktemp("outside_roots"), server, transfer="auto")
    g["first"].setValue(FIRST)
    g["last"].setValue(FIRST + 2)
    g["fg_target"].setValue("rgb")
    g["premult"].setValue(True)
    g["output_trimap"].setValue(True)
    nuke.frame(FIRST)
    node.on_button(g, "set_keyframe")
    report = run_process(g)
    assert nuke.messages == [], nuke.messages
    assert report.transfer == "inline"   # the cache is outside the server's allowed roots
    state = node.read_state(g)
    assert all(os.path.exists(state.paths.path(p, f)) for p in ("alpha", "foreground", "trimap")
               for f in range(FIRST, FIRST + 3))
    out = g._render(FIRST + 1)
    alpha = exr.read(state.paths.path("alpha", FIRST + 1))["A"]
    fg = exr.read(state.paths.path("foreground", FIRST + 1))
    assert np.abs(out.get("rgba.alpha") - alpha).max() < 1e-6
    assert np.abs(out.get("rgba.green") - fg["G"] * alpha).max() < 1e-5   # premultiplied foreground in rgb
    tri = out.get("ftpvm.trimap")
    assert set(np.unique(tri)).issubset({0.0, 0.5, 1.0}) and (tri == 0.5).any()
    # outside the processed range the result Reads give black (their default, hold, repeated frame FIRST + 2)
    assert g["label"].value() == ""
    assert not g._render(FIRST + 4).get("rgba.alpha").any() and not g._render(FIRST - 3).get("rgba.alpha").any()
    assert g._render(FIRST + 1).texts == [] and "is not processed" in g._render(FIRST + 4).texts[0]


def test_before_the_first_process_the_plate_passes_through(plates, work_root, server):
    """Was a Read error in the viewer; now the plate, and the node's label and the Viewer say why there is no matte."""
    g = build(plates, work_root / "unprocessed", server)
    out, plate = g._render(FIRST), g.input(0)._render(FIRST)
    for c in ("rgba.red", "rgba.green", "rgba.blue", "rgba.alpha"):
        assert np.array_equal(out.get(c), plate.get(c)), c
    assert g["label"].value() == node.NOT_PROCESSED and "press Process" in node.NOT_PROCESSED
    assert len(out.texts) == 1 and "not processed" in out.texts[0]


def test_cancel_mid_range_keeps_done_frames(plates, work_root, server):
    g = build(plates, work_root / "cancel", server)
    nuke.frame(FIRST)
    node.on_button(g, "set_keyframe")
    nuke.cancel_at_progress = 60     # the artist presses Cancel while frames are being matted
    report = run_process(g)
    assert report.cancelled and 0 < len(report.matted) < 6
    assert len(nuke.messages) == 1 and "Cancelled" in nuke.messages[0] and "Traceback" not in nuke.messages[0]
    state = node.read_state(g)
    manifest = plan.Manifest.load(state.paths.manifest, state.shot_id)
    assert sorted(manifest.frames) == report.matted
    nuke.cancel_at_progress = None
    nuke.messages.clear()
    rest = run_process(g)
    assert not rest.cancelled and rest.matted == [f for f in range(FIRST, FIRST + 6) if f not in report.matted]


def _pixels(path):
    import OpenImageIO as oiio

    return oiio.ImageBuf(path).get_pixels(oiio.FLOAT)


def test_keyframe_change_is_recomputed_only_where_the_engine_says(plates, work_root, server):
    """The node sends the range again after a re-key; the engine's cache answers the frames the edit cannot reach.

    (The node used to decide this with its own copy of the memory policy; now the engine alone does.)
    """
    g = build(plates, work_root / "rekey", server)
    nuke.frame(FIRST)
    node.on_button(g, "set_keyframe")
    first = run_process(g)
    assert first.from_cache == []
    state = node.read_state(g)
    before = {f: _pixels(state.paths.path("alpha", f)) for f in range(FIRST, FIRST + 6)}
    nuke.frame(FIRST + 3)
    g["band"].setValue(6.0)
    node.on_button(g, "set_keyframe")         # a second keyframe, later in the shot
    report = run_process(g)
    assert report.sent_keyframes == [FIRST + 3]
    assert report.matted == list(range(FIRST, FIRST + 6))
    assert report.from_cache == [FIRST, FIRST + 1, FIRST + 2]   # first_last: earlier frames never read it
    after = {f: _pixels(state.paths.path("alpha", f)) for f in range(FIRST, FIRST + 6)}
    assert all(np.array_equal(after[f], before[f]) for f in range(FIRST, FIRST + 3))
    assert not np.array_equal(after[FIRST + 3], before[FIRST + 3])
    # removing it brings those frames back to what the first keyframe alone gives, from the cache
    node.on_button(g, "remove_keyframe")
    report = run_process(g)
    assert report.removed_keyframes == [FIRST + 3] and report.from_cache == list(range(FIRST, FIRST + 6))
    again = {f: _pixels(state.paths.path("alpha", f)) for f in range(FIRST, FIRST + 6)}
    assert all(np.array_equal(again[f], before[f]) for f in range(FIRST, FIRST + 6))


def test_inner_outer_roto_keyframe_is_built_by_the_engine(plates, work_root, server):
    """Inner (red) + outer (alpha) channels go over the wire as roto mattes; the server makes the trimap."""
    g = build(plates, work_root / "inner_outer", server)
    g["trimap_mode"].setValue("inner_outer")
    nuke.frame(FIRST)
    rec = node.on_button(g, "set_keyframe")
    assert rec.mode == "inner_outer" and rec.band == 0.0
    g["last"].setValue(FIRST + 1)
    report = run_process(g)
    assert nuke.messages == [] and report.matted == [FIRST, FIRST + 1]
    from ftpvm_client import Client

    with Client(server.address) as client:
        assert [(k.frame, k.source) for k in client.shot(g["shot_id"].value()).keyframes()] == \
            [(FIRST, "inner_outer")]


def test_server_not_running_is_a_message(plates, work_root):
    port = free_port()
    plate, roto = make_script(plates, work_root / "down")
    plate.setSelected(True)
    g = node.create()
    g.setInput(1, roto)
    g["server"].setValue(f"127.0.0.1:{port}")
    nuke.frame(FIRST)
    node.on_button(g, "set_keyframe")         # needs no server
    assert nuke.messages == []
    assert run_process(g) is None
    assert len(nuke.messages) == 1
    text = nuke.messages[0]
    assert "cannot reach the FTPVM server" in text and f"127.0.0.1:{port}" in text and "Traceback" not in text
    assert "not connected" in g["status"].value()


def test_no_keyframe_and_wrong_size_are_messages(plates, work_root, server):
    from ftpvm_client import Client

    g = build(plates, work_root / "wrong", server)
    assert run_process(g) is None
    assert nuke.messages == ["FTPVMMatte: No keyframe yet: go to a frame where the roto is right and press "
                             "'set keyframe'."]
    nuke.frame(FIRST)
    node.on_button(g, "set_keyframe")
    with Client(server.address) as client:     # someone made this shot at another size
        assert g["shot_id"].value() not in [s.shot_id for s in client.list_shots()]   # no-keyframe: untouched
        client.open_shot(g["shot_id"].value(), width=W * 2, height=H * 2, colorspace="ACEScg")
    assert run_process(g) is None
    assert "another 'shot id'" in nuke.messages[-1] and "Traceback" not in nuke.messages[-1]
