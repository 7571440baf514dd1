"""What the Viewer shows over FTPVMMatte's image: a message for each state without an up-to-date matte."""
from __future__ import annotations

import numpy as np
import pytest

import nuke
from nuke_support import FIRST, FRAMES, make_script, run_process
from server_harness import free_port

from ftpvm_nuke import node, plan

LAST = FIRST + FRAMES - 1


def test_text_draws_its_tcl_message_and_expressions_follow_the_frame_and_the_gui():
    const = nuke.nodes.Constant()
    text = nuke.nodes.Text2(inputs=[const], message="frame [frame] costs \\$5 \\[sic\\]")
    assert text._render(7).texts == ["frame 7 costs $5 [sic]"]
    text["disable"].setExpression("!$gui || ([frame] >= 3 && frame <= 5)")
    assert text["disable"].hasExpression()
    assert [bool(text._render(f).texts) for f in range(1, 8)] == [True, True, False, False, False, True, True]
    nuke.env["gui"] = False                       # a render without the GUI (a farm): $gui is 0
    assert text._render(1).texts == []
    text["disable"].clearAnimated()
    assert not text["disable"].hasExpression() and text._render(1).texts == ["frame 1 costs $5 [sic]"]
    with pytest.raises(RuntimeError, match="no such variable"):
        text["disable"].setExpression("$farm")


def _node(plates, tmp_path):
    plate, roto = make_script(plates, tmp_path)
    g = node.create()
    g.setInput(0, plate)
    g.setInput(1, roto)
    node._sync(g)
    return g, plate


def _texts(g, frame):
    return g._render(frame).texts


def _record(g, frames, signature=None):
    """Results on disk for ``frames`` (as a Process writes them: manifest + alpha files) made from ``signature``
    (default: the node's signature now)."""
    from ftpvm_nuke import exr

    state = node.read_state(g)
    sig = signature or state.frame_signature(state.first)
    for f in frames:
        exr.write(state.paths.path("alpha", f), {"A": np.full((state.height, state.width), 0.5, np.float32)})
    plan.Manifest(state.shot_id, frames={f: sig for f in frames}).save(state.paths.manifest)
    node._sync(g)


def test_before_processing_the_viewer_says_so_over_the_plate_and_renders_stay_clean(plates, tmp_path):
    g, plate = _node(plates, tmp_path)
    for f in (FIRST, LAST, LAST + 10):
        [text] = _texts(g, f)
        assert "not processed" in text and "press Process" in text
    out = g._render(FIRST)
    assert np.array_equal(out.get("rgba.red"), plate._render(FIRST).get("rgba.red"))   # the plate passes through
    nuke.env["gui"] = False
    assert _texts(g, FIRST) == []


def test_frames_without_results_say_so_and_processed_frames_show_nothing(plates, tmp_path):
    g, _ = _node(plates, tmp_path)
    _record(g, range(FIRST, FIRST + 3))
    for f in range(FIRST, FIRST + 3):
        assert _texts(g, f) == [], f
        assert np.allclose(g._render(f).get("rgba.alpha"), 0.5)
    for f in (FIRST + 4, LAST + 3, FIRST - 2):          # inside the range, not done yet; outside the range
        [text] = _texts(g, f)
        assert text.startswith(f"FTPVMMatte: frame {f} is not processed (processed: {FIRST}-{FIRST + 2})")
        assert not g._render(f).get("rgba.alpha").any()  # black, not a held matte nor a Read error
    nuke.env["gui"] = False
    with pytest.raises(RuntimeError, match="Read error"):  # a farm render of a frame without a matte fails loudly
        g._render(FIRST + 4)
    assert not g._render(LAST + 3).get("rgba.alpha").any()  # outside the range: black, in renders too
    assert _texts(g, LAST + 3) == []                          # and no message in renders


def test_a_setting_or_keyframe_change_puts_the_processed_frames_out_of_date(plates, tmp_path):
    g, _ = _node(plates, tmp_path)
    _record(g, range(FIRST, FIRST + 3))
    assert _texts(g, FIRST + 1) == []
    nuke.ui_set(g["memory_size"], int(g["memory_size"].value()) + 1)   # the artist edits a setting
    [text] = _texts(g, FIRST + 1)
    assert text.startswith(f"FTPVMMatte: frame {FIRST + 1} is out of date") and "Press Process" in text
    assert "not processed" in _texts(g, LAST)[0]                        # the others still say they are missing
    nuke.ui_set(g["memory_size"], int(g["memory_size"].value()) - 1)
    assert _texts(g, FIRST + 1) == []
    nuke.frame(FIRST)
    node.set_keyframe(g)                                                  # a new keyframe
    assert "out of date" in _texts(g, FIRST + 2)[0]


def test_a_failed_process_shows_in_the_viewer_until_the_next_process(plates, tmp_path):
    g, _ = _node(plates, tmp_path)
    g["server"].setValue(f"127.0.0.1:{free_port()}")          # nothing listens
    nuke.frame(FIRST)
    node.set_keyframe(g)
    assert run_process(g) is None
    for f in (FIRST, LAST + 5):
        texts = _texts(g, f)
        assert len(texts) == 2 and "not processed" in texts[0]
        assert texts[1].startswith("FTPVMMatte: Process failed.\ncannot reach the FTPVM server at 127.0.0.1:")
    job = node.on_button(g, "process")                   # a new Process clears it at once
    assert [t for t in _texts(g, FIRST) if "failed" in t] == []
    nuke.run_main_loop(job.done)
    assert "Process failed" in _texts(g, FIRST)[-1]
    nuke.env["gui"] = False
    assert _texts(g, FIRST) == []


def test_a_failure_text_is_shown_as_written_not_evaluated_as_tcl(plates, tmp_path):
    g, _ = _node(plates, tmp_path)
    node.show_failure_in_viewer(g, "FTPVMMatte: cannot use the cache folder: /tmp/[shot]/$USER\\x")
    assert _texts(g, FIRST)[-1] == "FTPVMMatte: Process failed.\ncannot use the cache folder: /tmp/[shot]/$USER\\x"
    node.show_failure_in_viewer(g, None)
    assert all("failed" not in t for t in _texts(g, FIRST))


def test_viewer_message_plan():
    """The pure rules: where each message shows, and the disable expression Nuke evaluates per frame."""
    msgs = plan.viewer_messages({}, None)
    assert msgs["unprocessed"][1] == plan.EVERYWHERE and msgs["stale"][1] == msgs["missing"][1] == plan.NOWHERE
    msgs = plan.viewer_messages({1: "a", 2: "a", 3: "b", 7: "b"}, "a")
    assert msgs["unprocessed"][1] == plan.NOWHERE
    assert msgs["stale"][1] == plan.Shown(((3, 3), (7, 7)))
    assert msgs["missing"][1] == plan.Shown(((1, 3), (7, 7)), outside=True)
    assert "processed: 1-3, 7" in msgs["missing"][0]
    assert plan.viewer_messages({1: "a"}, None)["stale"][1] == plan.NOWHERE   # signature unknown
    assert plan.disable_expression(plan.NOWHERE) is None
    assert plan.disable_expression(plan.EVERYWHERE) == "!$gui"
    assert plan.disable_expression(plan.Shown(((1, 3), (7, 7)))) == \
        "!$gui || !(([frame] >= 1 && [frame] <= 3) || [frame] == 7)"


def test_a_new_source_puts_the_processed_frames_out_of_date(plates, tmp_path):
    """Connecting another Source runs the node's knobChanged ('inputChange'): the Viewer says so at once."""
    g, plate = _node(plates, tmp_path)
    _record(g, range(FIRST, FIRST + 3))
    assert _texts(g, FIRST) == []
    graded = nuke.nodes.Crop(box="0 0 90 60", inputs=[plate])
    g.setInput(0, graded)
    assert "out of date" in _texts(g, FIRST)[0]
    g.setInput(0, plate)
    assert _texts(g, FIRST) == []
