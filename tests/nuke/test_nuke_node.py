"""The Nuke adapter and the start-up files against the fake nuke module (no server needed)."""
from __future__ import annotations

import os
import runpy
from pathlib import Path

import numpy as np
import pytest

import nuke
from nuke_support import FIRST, ROOT, make_script, mark_processed, write_exr

from ftpvm_nuke import node, plan
from ftpvm_wire.schema import advertised, snapshot

from ftpvm_core.engine.settings import settings_schema

PLUGIN = ROOT / "plugins" / "nuke"


def test_menu_registers_ftpvm_entries_that_create_the_node(plates, tmp_path):
    runpy.run_path(str(PLUGIN / "init.py"))
    runpy.run_path(str(PLUGIN / "menu.py"))
    tool = nuke.toolbar("Nodes").findItem("FTPVM/FTPVMMatte")
    assert tool is not None and nuke.menu("Nuke").findItem("FTPVM/FTPVMMatte") is not None
    plate, _ = make_script(plates, tmp_path)
    plate.setSelected(True)
    tool.invoke()
    g = nuke.toNode("FTPVMMatte1")
    assert g is not None and g.input(0) is plate
    assert [n.name() for n in g.nodes() if n.Class() == "Input"] == ["Source", "Roto"]
    tool.invoke()
    assert nuke.toNode("FTPVMMatte2") is not None


def test_knob_panel_and_defaults(plates, tmp_path):
    make_script(plates, tmp_path)
    g = node.create()
    for name in ("server", "status", "shot_id", "colorspace", "trimap_mode", "band", "set_keyframe",
                 "remove_keyframe", "keyframe_list", "downsample", "ratio", "output_fg", "fg_target", "premult",
                 "output_trimap", "output_boundary", "first", "last", "process", "clear_cache"):
        assert g.knob(name) is not None, name
    assert g["server"].value() == "localhost:50051"
    assert g["colorspace"].value() == nuke.root()["workingSpaceLUT"].value()
    assert (g["first"].value(), g["last"].value()) == (plates["first"], plates["last"])
    assert not g["keyframes_data"].visible()
    # internal Write nodes stay disabled so a farm's "render all Writes" never runs them
    writes = [n for n in g.nodes() if n.Class() == "Write"]
    assert len(writes) == 3 and all(w["disable"].value() for w in writes)
    # the buttons call back into the adapter through nuke.thisNode()
    nuke.frame(FIRST)
    g["set_keyframe"].execute()
    assert nuke.messages == ["FTPVMMatte: Connect a roto (or a matte, or a trimap) to the Roto input first."]


class _FakeServer:
    """A client whose server advertises ``schema``."""

    def __init__(self, schema):
        self.schema = schema

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def info(self):
        return type("Info", (), {"settings_schema": self.schema})()


def _schema_with(**defaults):
    return [{**f, "default": defaults[f["name"]]} if f["name"] in defaults else f for f in settings_schema()]


def test_settings_knobs_come_from_the_advertised_schema(plates, tmp_path, monkeypatch):
    plate, _ = make_script(plates, tmp_path)
    g = node.create()                           # nothing listens at localhost:50051: the shipped snapshot
    for name in plan.SETTING_KNOBS + ("band",):
        assert g.knob(name) is not None, name
    assert g["band"].value() == snapshot().default_of("roto_band")
    assert g["memory_policy"].values() == list(snapshot().choices_of("memory_policy"))
    assert g["downsample"].value() == "auto"
    # a server advertising other defaults changes the new node's knobs, and what Process sends
    served = _schema_with(roto_band=24.0, memory_policy="nearest", memory_size=3, downsample_ratio=0.25)
    monkeypatch.setattr(node, "_probe", lambda address: _FakeServer(served))
    g2 = node.create()
    assert g2["band"].value() == 24.0 and g2["memory_policy"].value() == "nearest"
    assert (g2["downsample"].value(), g2["ratio"].value()) == ("ratio", 0.25)
    g2.setInput(0, plate)
    state = node.read_state(g2, schema=advertised(served))
    assert state.settings["memory_policy"] == "nearest" and state.settings["memory_size"] == 3
    assert state.settings["downsample_ratio"] == 0.25
    g2["memory_size"].setValue(40)
    with pytest.raises(plan.PlanError, match="'memory_size'.*out of range"):
        node.read_state(g2, schema=advertised(served))


def test_set_keyframe_errors_are_messages(plates, tmp_path):
    plate, roto = make_script(plates, tmp_path)
    g = node.create()
    g.setInput(0, plate)
    assert node.on_button(g, "set_keyframe") is None
    assert nuke.messages == ["FTPVMMatte: Connect a roto (or a matte, or a trimap) to the Roto input first."]
    small = tmp_path / "small.0001.exr"
    write_exr(small, {"A": np.ones((10, 10), np.float32)})
    g.setInput(1, nuke.nodes.Read(file=str(tmp_path / "small.####.exr")))
    node.on_button(g, "set_keyframe")
    assert "reformat the roto" in nuke.messages[-1] and "10x10" in nuke.messages[-1]
    g.setInput(1, roto)
    nuke.frame(FIRST)
    g["trimap_mode"].setValue("trimap")
    g["roto_channel"].setValue("red")           # the inner matte holds only 0/1: no unknown, still has fg
    assert node.on_button(g, "set_keyframe").mode == "trimap"
    node.on_button(g, "remove_keyframe")
    node.on_button(g, "remove_keyframe")
    assert "no keyframe at frame 1001" in nuke.messages[-1]


def test_keyframes_show_in_list_and_timeline(plates, tmp_path):
    plate, roto = make_script(plates, tmp_path)
    g = node.create()
    g.setInput(0, plate)
    g.setInput(1, roto)
    for f in (FIRST + 4, FIRST):
        nuke.frame(f)
        node.set_keyframe(g)
    assert g["keyframe_marks"].keyTimes() == [FIRST, FIRST + 4]
    band = snapshot().default_of("roto_band")   # no server at DEFAULT_SERVER: the shipped schema's default
    assert g["keyframe_list"].value() == f"{FIRST} (roto, {band:g} px), {FIRST + 4} (roto, {band:g} px)"
    nuke.frame(FIRST + 4)
    node.remove_keyframe(g)
    assert g["keyframe_marks"].keyTimes() == [FIRST]
    assert list(plan.keyframes_from_text(g["keyframes_data"].value())) == [FIRST]


def test_outputs_follow_the_knobs(plates, tmp_path):
    plate, roto = make_script(plates, tmp_path)
    g = node.create()
    g.setInput(0, plate)
    g["fg_target"].setValue("rgb")
    g["premult"].setValue(True)
    mark_processed(g)   # results exist (before any, the plate passes through: test_nuke_host_facts)
    node._sync(g)
    assert g.node("Copy_foreground")["to0"].value() == "rgba.red"
    assert not g.node("Premult")["disable"].value() and g.node("Premult")["channels"].value() == "rgb"
    assert g.node("Copy_trimap")["disable"].value()
    g["output_fg"].setValue(False)
    node._sync(g)
    assert g.node("Copy_foreground")["disable"].value() and g.node("Premult")["disable"].value()
    state = node.read_state(g)
    assert g.node("Read_alpha")["file"].value() == state.paths.pattern("alpha")
    assert state.cache_root == str(tmp_path / "ftpvm_cache") and state.shot_id == "sh010_comp_FTPVMMatte1"


def test_clear_cache_removes_results_but_keeps_keyframes(plates, tmp_path):
    plate, roto = make_script(plates, tmp_path)
    g = node.create()
    g.setInput(0, plate)
    g.setInput(1, roto)
    g["server"].setValue("127.0.0.1:9")        # nothing listens: clearing still works locally
    nuke.frame(FIRST)
    node.set_keyframe(g)
    state = node.read_state(g)
    write_exr(Path(state.paths.path("alpha", FIRST)), {"A": np.ones((4, 4), np.float32)})
    assert node.on_button(g, "clear_cache") >= 1
    assert not os.path.exists(state.paths.path("alpha", FIRST))
    assert os.path.exists(state.paths.path("key_guide", FIRST)) and nuke.messages == []


def test_fake_nuke_behaves_like_nuke(tmp_path):
    with pytest.raises(NameError):
        nuke.root()["nope"]
    r = nuke.nodes.Read(file=str(tmp_path / "none.####.exr"))
    with pytest.raises(RuntimeError, match="No such file"):
        r._render(1)
    with pytest.raises(RuntimeError, match="cannot be executed"):
        nuke.execute(r, 1, 1)
    c = nuke.nodes.Constant(format="8x4", color="0.5 0.25 0 1")
    w = nuke.nodes.Write(file=str(tmp_path / "missing_dir" / "c.####.exr"), channels="rgba", inputs=[c])
    with pytest.raises(RuntimeError, match="directory does not exist"):
        nuke.execute(w, 1, 1)
    w["create_directories"].setValue(True)
    nuke.execute(w, 1, 2)
    back = nuke.nodes.Read(file=str(tmp_path / "missing_dir" / "c.####.exr"), first=1, last=2)
    assert back.sample("rgba.green", 0, 0, frame_=2) == pytest.approx(0.25)
    with pytest.raises(ValueError):
        nuke.nodes.Write()["datatype"].setValue("12 bit")


def test_panel_edits_rewire_the_node(plates, tmp_path):
    plate, _ = make_script(plates, tmp_path)
    g = node.create()
    g.setInput(0, plate)
    mark_processed(g)
    assert g["band"].visible() and not g["inner_channel"].visible()
    nuke.ui_set(g["trimap_mode"], "inner_outer")
    assert g["inner_channel"].visible() and g["outer_channel"].visible() and not g["band"].visible()
    nuke.ui_set(g["output_trimap"], True)
    assert not g.node("Copy_trimap")["disable"].value()
    nuke.ui_set(g["shot_id"], "sh020_fg")
    assert "/sh020_fg/alpha/" in g.node("Read_alpha")["file"].value()
    assert nuke.messages == []
