"""Documented Nuke behaviour the fake encodes (each cited there), and the node living with it."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import nuke
from nuke_support import FIRST, H, ROOT, W, make_script
from server_harness import free_port

from ftpvm_nuke import exr, node, plan
from ftpvm_wire.exr_header import read_header

PLUGIN = ROOT / "plugins" / "nuke"


def test_string_knobs_evaluate_tcl_so_keyframe_records_avoid_it(plates, tmp_path):
    k = nuke.String_Knob("k")
    k.setValue('[{"frame": 1001}]')
    with pytest.raises(RuntimeError, match="TCL"):
        k.value()                                    # JSON that starts with '[' does not survive value()
    assert k.getText() == '[{"frame": 1001}]'
    k.setValue("f[frame]")
    assert k.value() == f"f{nuke.frame()}"
    plate, roto = make_script(plates, tmp_path)
    g = node.create()
    g.setInput(0, plate)
    g.setInput(1, roto)
    nuke.frame(FIRST)
    node.set_keyframe(g)
    text = g["keyframes_data"].getText()
    assert not re.search(r"[\[\]$\\]", text) and g["keyframes_data"].value() == text
    assert list(plan.keyframes_from_text(g["keyframes_data"].value())) == [FIRST]


def test_timeline_marks_are_keys_of_an_animated_knob(plates, tmp_path):
    k = nuke.Double_Knob("d")
    k.setValueAt(1.0, 5.0)
    assert k.keyTimes() == [] and not k.isAnimated()   # not animated: setValueAt keys nothing
    plate, roto = make_script(plates, tmp_path)
    g = node.create()
    g.setInput(0, plate)
    g.setInput(1, roto)
    for f in (FIRST + 1, FIRST + 3):
        nuke.frame(f)
        node.set_keyframe(g)
    nuke.frame(FIRST + 2)
    node.remove_keyframe(g, FIRST + 1)
    marks = g["keyframe_marks"]
    assert marks.isAnimated() and marks.keyTimes() == [FIRST + 3]   # no stray key at the current frame


def _cropped_write(tmp_path: Path, box: str) -> str:
    """A Constant through a Crop (bbox = box) written by a Write: Nuke's data window = bbox."""
    nuke.root()["format"].setValue(f"{W}x{H}")
    const = nuke.nodes.Constant(color="0.25 0.5 0.75 1")
    crop = nuke.nodes.Crop(box=box, inputs=[const])
    w = nuke.nodes.Write(file=str(tmp_path / "c.####.exr"), channels="rgba", file_type="exr",
                         create_directories=True, inputs=[crop])
    w["compression"].setValue("none")
    nuke.execute(w, 1, 1)
    return str(tmp_path / "c.0001.exr")


def test_write_stores_bbox_as_data_window_and_exr_read_places_it_in_the_format(tmp_path):
    path = _cropped_write(tmp_path / "inside", "10 20 40 50")     # x y r t, origin bottom-left
    header = read_header(path)
    assert header.display_window == (0, 0, W - 1, H - 1)
    assert header.data_window == (10, H - 50, 39, H - 21)          # EXR rows count from the top
    alpha = exr.read(path)["A"]
    assert alpha.shape == (H, W)
    expected = np.zeros((H, W), np.float32)
    expected[H - 50:H - 20, 10:40] = 1
    assert np.array_equal(alpha, expected)
    # a bbox past the frame edge (a blur's): cropped to the format
    path = _cropped_write(tmp_path / "past", f"-8 -4 {W + 5} {H + 6}")
    assert read_header(path).data_window == (-8, -6, W + 4, H + 3)
    planes = exr.read(path)
    assert planes["A"].shape == (H, W) and planes["A"].min() == 1 and np.allclose(planes["G"], 0.5)


def test_a_roto_with_a_small_bbox_gives_a_full_size_guide(plates, tmp_path):
    plate, roto = make_script(plates, tmp_path)
    crop = nuke.nodes.Crop(box="20 10 60 40", inputs=[roto])      # a standalone Roto's bbox is its shape
    g = node.create()
    g.setInput(0, plate)
    g.setInput(1, crop)
    nuke.frame(FIRST)
    node.set_keyframe(g)
    paths = node.read_state(g).paths
    assert read_header(paths.path("roto", FIRST)).data_size == (40, 30)
    guide = exr.read(paths.path("key_guide", FIRST))
    outer = next(iter(guide.values()))
    full = crop._render(FIRST).get("rgba.alpha")
    assert outer.shape == (H, W) and np.array_equal(outer, full) and outer.any()


def test_result_reads_are_black_outside_the_range(plates, tmp_path):
    plate, _ = make_script(plates, tmp_path)
    g = node.create()
    g.setInput(0, plate)
    for p in node.PASS_READS:
        read = g.node(f"Read_{p}")
        assert (read["before"].value(), read["after"].value()) == ("black", "black"), p


def test_the_menu_icon_is_shipped_and_installed(tmp_path):
    names = set(re.findall(r'icon="([^"]+)"', (PLUGIN / "menu.py").read_text()))
    assert names == {"ftpvm.png"}
    for name in names:
        assert (PLUGIN / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from ftpvm_nuke import install

    assert set(names) <= set(install.PLUGIN_FILES)


def test_source_fingerprint_sees_a_new_plate_version_and_upstream_edits(plates, tmp_path):
    """A frame's signature covers the Source: a new version, a file re-rendered in place, an upstream knob."""
    import os
    import shutil

    plate, _ = make_script(plates, tmp_path)
    g = node.create()
    g.setInput(0, plate)

    def signature() -> str:
        return node.read_state(g).frame_signature(FIRST)
    first = signature()
    assert signature() == first                                   # nothing changed: up to date
    v2 = tmp_path / "v002"
    shutil.copytree(plates["dir"], v2)
    plate["file"].setValue(str(v2 / "plate.####.exr"))           # a new plate version
    second = signature()
    assert second != first
    later = v2 / f"plate.{FIRST + 4:04d}.exr"                      # re-rendered in place (the matte is recurrent)
    st = os.stat(later)
    os.utime(later, ns=(st.st_atime_ns, st.st_mtime_ns + 10 ** 9))
    third = signature()
    assert third != second
    crop = nuke.nodes.Crop(box=f"0 0 {W} {H}", inputs=[plate])    # an upstream node and its setting
    g.setInput(0, crop)
    fourth = signature()
    assert fourth != third
    crop["box"].setValue(f"0 0 {W} {H - 1}")
    assert signature() != fourth


def test_nuke_calls_from_a_worker_thread_go_through_the_main_thread():
    import threading

    w = nuke.nodes.Write()
    errors, results = [], []

    def worker() -> None:
        try:
            w["file"].setValue("x.exr")
        except RuntimeError as exc:
            errors.append(str(exc))
        results.append(nuke.executeInMainThreadWithResult(lambda v: (w["file"].setValue(v), v)[1], ("y.exr",)))
    t = threading.Thread(target=worker)
    t.start()
    nuke.run_main_loop(lambda: bool(results))
    t.join()
    assert errors and "executeInMainThread" in errors[0]
    assert results == ["y.exr"] and w["file"].value() == "y.exr"


def test_process_returns_at_once_and_finishes_on_the_main_thread(plates, tmp_path):
    plate, roto = make_script(plates, tmp_path)
    g = node.create()
    g.setInput(0, plate)
    g.setInput(1, roto)
    g["server"].setValue(f"127.0.0.1:{free_port()}")  # nothing listens
    job = node.on_button(g, "process")
    assert isinstance(job, node.ProcessJob) and not job.done()   # the button returned; the UI stays live
    assert nuke.messages == []                                    # the outcome waits for the main thread
    nuke.run_main_loop(job.done)
    job.thread.join()
    assert job.report is None and job.error is not None and job.task is None
    assert len(nuke.messages) == 1 and "cannot reach the FTPVM server" in nuke.messages[0]


def test_cancel_is_seen_while_the_server_works_on_a_frame(tmp_path):
    """No result arrives (the server is busy on a frame), so no progress callback runs: Cancel still stops it."""
    import threading

    from ftpvm_client import Cancelled
    from ftpvm_nuke import process

    class BusyShot:
        def matte(self, sources, cancel, **kwargs):
            cancel.wait()                       # the client sends Cancel once this is set
            raise Cancelled("matte cancelled by the caller")
            yield                               # a generator, as the client's matte is

    state = plan.NodeState(address="x", shot_id="sh", colorspace="ACEScg", width=4, height=4, first=1, last=2,
                           keyframes={}, settings={}, passes=("alpha",), cache_root=str(tmp_path))
    todo = plan.ProcessPlan(send_keyframes=(), remove_keyframes=(), frames=(1, 2), up_to_date=())
    report = process.ProcessReport(transfer="path")
    args = (state, BusyShot(), plan.Manifest("sh"), todo, lambda f, t: None, lambda: True, report)
    worker = threading.Thread(target=process._matte, args=args, daemon=True)
    worker.start()
    worker.join(60)                             # a hang guard, not a speed measurement
    assert not worker.is_alive() and report.cancelled and report.matted == []


def _matte_kwargs(tmp_path, transfer: str) -> dict:
    """The keyword arguments the plugin's matte step passes to the client's ``shot.matte`` for ``transfer``."""
    from ftpvm_nuke import process

    class RecordingShot:
        def __init__(self):
            self.kwargs = {}

        def matte(self, sources, cancel, **kwargs):
            self.kwargs = kwargs
            return iter(())

    state = plan.NodeState(address="x", shot_id="sh", colorspace="ACEScg", width=4, height=4, first=1, last=1,
                           keyframes={}, settings={}, passes=("alpha",), cache_root=str(tmp_path))
    todo = plan.ProcessPlan(send_keyframes=(), remove_keyframes=(), frames=(), up_to_date=())
    shot = RecordingShot()
    process._matte(state, shot, plan.Manifest("sh"), todo, lambda f, t: None, lambda: False,
                   process.ProcessReport(transfer=transfer))
    return shot.kwargs


def test_the_result_dtype_is_the_clients_choice_per_transport(tmp_path):
    """Only path mode names a result dtype ("none": written files); otherwise the client picks float32 through
    shared memory and float16 inline, so Nuke never forces half floats through shared memory."""
    for transfer, wanted in (("inline", None), ("path", "none")):
        kwargs = _matte_kwargs(tmp_path, transfer)
        assert "result_dtype" in kwargs and kwargs["result_dtype"] == wanted, transfer


def test_results_through_shared_memory_are_taken_as_views(tmp_path):
    """Each result's EXRs are written before the next result is taken, so the plugin lets the client hand out views of
    its shared-memory slot instead of copies (the client ignores it for results that come inline)."""
    assert _matte_kwargs(tmp_path, "inline").get("result_views") is True
