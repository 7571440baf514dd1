"""The dialog (fake UIManager) and the entry point: settings round trip, errors shown, runs, Resolve absent."""
from __future__ import annotations

import runpy
import threading
import time
from pathlib import Path

import pytest

import DaVinciResolveScript
import fake_uimanager as fui
from resolve_scene import CLIP_START, N, ROOT
from ftpvm_resolve import app, dialog
from ftpvm_resolve.settings import KeyframeSpec, Settings

SCRIPT = ROOT / "plugins" / "resolve" / "FTPVM Matte.py"


def make_dialog(initial: Settings, run_job=None, check=None, with_timer=True, saved=None):
    ui = fui.UIManager(with_timer=with_timer)
    d = dialog.MatteDialog(ui, fui.UIDispatcher(ui), initial, run_job or (lambda s, p, c: "ok"),
                           check or (lambda s: "fine"), "plate: 86400-86404", "Gamma 2.4 Encoded Rec.709",
                           save=(saved.append if saved is not None else (lambda s: None)))
    return d


def test_fill_then_read_round_trips():
    s = Settings(server="10.0.0.5:6000", keyframes=(KeyframeSpec(86400, "/m/tri.png"),
                                                     KeyframeSpec(86410, "mediapool:roto v2", "roto")),
                 band=7, first=86400, last=86420, passes=("alpha",), place="fusion", source="render",
                 transport="pixels", output_root="/tmp/out", colorspace="ACEScct", shot_id="sh010")
    d = make_dialog(s)
    assert d.items["Colour"].CurrentText == "ACEScct"
    assert d.items["Colour"].entries[0] == "Detected from the project: Gamma 2.4 Encoded Rec.709"
    assert dialog.read(d.items) == s


def test_band_default_comes_from_the_advertised_schema():
    """No band of its own: the spin box starts at the server's roto_band (the shipped snapshot's offline)."""
    from ftpvm_core.engine.settings import settings_schema
    from ftpvm_wire.schema import advertised, snapshot

    assert Settings().band is None
    d = make_dialog(Settings(keyframes=(KeyframeSpec(1, "/a.png", "roto"),)))
    assert d.items["Band"].Value == round(snapshot().default_of("roto_band"))
    served = advertised([{**f, "default": 24.0} if f["name"] == "roto_band" else f for f in settings_schema()])
    ui = fui.UIManager()
    d = dialog.MatteDialog(ui, fui.UIDispatcher(ui), Settings(keyframes=(KeyframeSpec(1, "/a.png", "roto"),)),
                           lambda s, p, c: "ok", lambda s: "fine", save=lambda s: None, schema=served)
    assert d.items["Band"].Value == 24 and dialog.read(d.items).band == 24
    assert d.items["Band"].Maximum == served.range_of("roto_band")[1]
    with pytest.raises(Exception, match="out of range"):
        Settings(keyframes=(KeyframeSpec(1, "/a.png"),), band=-3).checked()


def test_detected_colour_reads_as_empty_and_bad_values_are_shown_not_raised():
    d = make_dialog(Settings(keyframes=(KeyframeSpec(1, "/a.png"),)))
    assert dialog.read(d.items).colorspace == ""
    d.items["First"].Text = "abc"
    d.items["Last"].Text = "10"
    d.window.fire("Run")
    assert "First frame 'abc' is not a whole number" in d.items["Progress"].Text
    assert d.worker is None
    d.items["First"].Text = ""
    d.items["Last"].Text = ""
    d.items["Keyframes"].PlainText = ""
    d.window.fire("Run")
    assert "Add at least one keyframe" in d.items["Progress"].Text


def test_run_reports_progress_and_cancel_reaches_the_job():
    seen = {}
    started = threading.Event()

    def run_job(s, progress, cancel):
        progress("matte", 0.5, "Matting frame 3 (3/6)")
        started.set()
        assert cancel.wait(5)
        seen["cancelled"] = True
        raise app.JobCancelled("Cancelled while matting; nothing was imported.")

    saved = []
    d = make_dialog(Settings(keyframes=(KeyframeSpec(1, "/a.png"),)), run_job=run_job, saved=saved)
    d.window.fire("Run")
    assert started.wait(5)
    d.dispatcher.tick()
    assert d.items["Progress"].Text == "Matting frame 3 (3/6) 50%"
    assert d.items["Run"].Enabled is False and d.items["Cancel"].Enabled is True
    d.window.fire("Cancel")
    d.worker.join(5)
    d.dispatcher.tick()
    assert seen["cancelled"] and d.items["Progress"].Text.startswith("Cancelled while matting")
    assert d.items["Run"].Enabled is True and d.items["Cancel"].Enabled is False
    assert saved and saved[0].keyframes == (KeyframeSpec(1, "/a.png"),)


def test_without_a_timer_the_worker_updates_the_window():
    d = make_dialog(Settings(keyframes=(KeyframeSpec(1, "/a.png"),)), run_job=lambda s, p, c: "All done",
                    with_timer=False)
    assert d.timer is None
    d.window.fire("Run")
    d.worker.join(5)
    assert d.items["Progress"].Text == "All done"


def test_check_button_shows_the_servers_problem_in_words():
    from ftpvm_client import Unavailable

    def check(s):
        raise Unavailable("connection refused")

    d = make_dialog(Settings(), check=check)
    d.window.fire("Check")
    assert d.items["ServerStatus"].Text.startswith("No ftpvm-server answers at 127.0.0.1:50051")


def test_dialog_end_to_end_inside_resolve(scene, server, tmp_path, monkeypatch):
    """Workspace > Scripts: main() with Resolve's globals opens the dialog; Run mattes and imports."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    tri = scene.mattes / "tri_86400.png"

    def user(dispatcher):
        window = dispatcher.windows[0]
        items = window.GetItems()
        assert items["ClipInfo"].Text.startswith(f"plate: timeline frames {CLIP_START}-{CLIP_START + N - 1}")
        items["Server"].Text = server.address
        items["Keyframes"].PlainText = f"{CLIP_START} {tri}"
        items["Output"].Text = str(scene.out)
        window.fire("Check")
        assert "ftpvm-server" in items["ServerStatus"].Text and "path mode" in items["ServerStatus"].Text
        window.fire("Run")
        deadline = time.monotonic() + 60
        while items["Cancel"].Enabled or items["Run"].Enabled is False:
            dispatcher.tick()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        dispatcher.tick()
        window.fire("Close")

    bmd = fui.BMD(script=user)
    fusion = fui.Fusion(fui.UIManager())
    assert app.main(resolve=scene.resolve, fusion=fusion, bmd=bmd) == 0
    items = bmd.dispatchers[0].windows[0].GetItems()
    assert items["Progress"].Text.startswith(f"Matted frames {CLIP_START}-{CLIP_START + N - 1}"), items["Progress"].Text
    ftpvm_bin = scene.project.media_pool.root.GetSubFolderList()[0]
    assert [c.GetName() for c in ftpvm_bin.GetClipList()][0].endswith(f"_alpha.[{CLIP_START}-{CLIP_START + N - 1}].exr")
    assert Path(tmp_path / "cfg" / "ftpvm" / "resolve.json").is_file()


def test_resolve_not_running_is_one_clear_message(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    DaVinciResolveScript.RUNNING = None
    assert app.main(argv=["--console"]) == 2
    err = capsys.readouterr().err
    assert "DaVinci Resolve is not running" in err and "Traceback" not in err


def test_launcher_script_from_outside_resolve(scene, server, capsys, monkeypatch, tmp_path):
    """The installed-script file run as a program: console mode, progress printed, results imported.

    External scripting is Studio's (see the fake DaVinciResolveScript); the free Resolve is refused below."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    scene.resolve.studio = True
    monkeypatch.setattr("sys.argv", [str(SCRIPT), "--console", "--server", server.address, "--transport", "pixels",
                                     "--keyframe", f"{CLIP_START} {scene.mattes / 'tri_86400.png'}",
                                     "--range", str(CLIP_START), str(CLIP_START + 2), "--output", str(scene.out)])
    with pytest.raises(SystemExit) as done:
        runpy.run_path(str(SCRIPT), run_name="__main__")
    out = capsys.readouterr()
    assert done.value.code == 0, out.err
    assert "FTPVM Matte: Matting frame" in out.out and f"Matted frames {CLIP_START}-{CLIP_START + 2}" in out.out
    assert len(scene.project.media_pool.root.GetSubFolderList()[0].GetClipList()) == 2


def test_free_resolve_from_a_terminal_says_studio_is_needed(scene, capsys, monkeypatch, tmp_path):
    """The free Resolve answers no external scripts (scriptapp gives None): one line naming Studio and the way
    that works on the free Resolve (Workspace > Scripts)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setattr("sys.argv", [str(SCRIPT), "--console", "--keyframe", f"{CLIP_START} {scene.mattes / 'x.png'}"])
    with pytest.raises(SystemExit) as done:
        runpy.run_path(str(SCRIPT), run_name="__main__")
    err = capsys.readouterr().err
    assert done.value.code == 2 and "Traceback" not in err
    assert "scriptapp('Resolve') gave None" in err and "free DaVinci Resolve" in err
    assert "needs DaVinci Resolve Studio" in err and "Workspace > Scripts" in err
    assert len(err.strip().splitlines()) == 1


def test_server_down_is_explained(scene, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    code = app.main(resolve=scene.resolve, argv=["--console", "--server", "127.0.0.1:9", "--keyframe",
                                                 f"{CLIP_START} {scene.mattes / 'tri_86400.png'}"])
    err = capsys.readouterr().err
    assert code == 2 and "No ftpvm-server answers at 127.0.0.1:9" in err and "Traceback" not in err
