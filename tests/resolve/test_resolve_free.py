"""The free Resolve (19.1+: no UIManager), keyframes kept per clip, and Resolve-version facts the fakes encode."""
from __future__ import annotations

from pathlib import Path

import fake_resolve as fr
import fake_uimanager as fui
from resolve_scene import CLIP_START, N
from ftpvm_resolve import app, plan as planning
from ftpvm_resolve.host import ResolveHost
from ftpvm_resolve.settings import KeyframeSpec


def _free(scene) -> tuple:
    """The free Resolve's globals inside Resolve: ``fusion`` without a UIManager, ``bmd`` present."""
    scene.resolve.fusion = fui.Fusion(None)
    return scene.resolve.fusion, fui.BMD()


def _keyframe_file(tmp_path: Path) -> Path:
    found = sorted((tmp_path / "cfg" / "ftpvm" / "resolve-keyframes").glob("*.txt"))
    assert len(found) == 1, found
    return found[0]


def test_free_resolve_takes_keyframes_from_the_clips_file(scene, server, capsys, monkeypatch, tmp_path):
    """No window in the free Resolve: the first run writes the clip's keyframe file and says how to fill it;
    once it has a line, the run mattes the clip."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    fusion, bmd = _free(scene)
    from ftpvm_resolve import settings as sm

    sm.save(sm.Settings(server=server.address, output_root=str(scene.out), transport="pixels"))
    assert app.main(resolve=scene.resolve, fusion=fusion, bmd=bmd) == 2
    out = capsys.readouterr()
    assert "no UIManager" in out.out and "DaVinci Resolve Studio" in out.out and "DaVinci Resolve 19.1" in out.out
    path = _keyframe_file(tmp_path)
    assert f"No keyframes for clip plate yet. Open {path}" in out.err and "Traceback" not in out.err
    assert "FRAME PATH" in path.read_text() and f"media pool item: {scene.clip.GetMediaPoolItem().GetUniqueId()}" \
        in path.read_text()

    path.write_text(path.read_text() + f"{CLIP_START} {scene.mattes / 'tri_86400.png'}\n")
    assert app.main(resolve=scene.resolve, fusion=fusion, bmd=bmd) == 0, capsys.readouterr().err
    assert f"Matted frames {CLIP_START}-{CLIP_START + N - 1}" in capsys.readouterr().out
    assert len(scene.project.media_pool.root.GetSubFolderList()[0].GetClipList()) == 2


def test_keyframes_given_once_are_kept_for_the_clip(scene, server, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    args = ["--console", "--server", server.address, "--transport", "pixels", "--output", str(scene.out),
            "--range", str(CLIP_START), str(CLIP_START + 1)]
    line = f"{CLIP_START} {scene.mattes / 'tri_86400.png'}"
    assert app.main(resolve=scene.resolve, argv=args + ["--keyframe", line]) == 0, capsys.readouterr().err
    assert line in _keyframe_file(tmp_path).read_text()
    assert app.main(resolve=scene.resolve, argv=args) == 0, capsys.readouterr().err  # no --keyframe: the kept ones


def test_a_copy_of_the_clip_finds_the_keyframes_through_its_media_pool_item(tmp_path):
    from ftpvm_resolve import keyframe_store

    clip = planning.ClipFacts("plate", "ti-1", "p", "t", 100, 10, 1, 8, 8, media_id="mp-7")
    copy = planning.ClipFacts("plate", "ti-2", "p", "t", 300, 10, 2, 8, 8, media_id="mp-7")
    other = planning.ClipFacts("other", "ti-3", "p", "t", 300, 10, 2, 8, 8, media_id="mp-8")
    keys = (KeyframeSpec(100, "/m/a.png"), KeyframeSpec(105, "/m/b.exr", "roto"))
    keyframe_store.save(clip, keys, base=str(tmp_path))
    assert keyframe_store.load(clip, base=str(tmp_path)) == keys
    assert keyframe_store.load(copy, base=str(tmp_path)) == keys
    assert keyframe_store.load(other, base=str(tmp_path)) == ()


def test_append_end_frame_is_exclusive_from_resolve_19():
    """Resolve 19+: endFrame is one past the last frame (see planning.append_clip_info); 18 took the last frame."""
    assert planning.append_clip_info("item", 5, 3, 86400, 19)["endFrame"] == 5
    assert planning.append_clip_info("item", 5, 3, 86400, 18)["endFrame"] == 4


def test_placed_results_cover_the_clip_on_resolve_18_too(scene, server):
    """The fake takes endFrame as the last frame on 18: the placement still covers all frames."""
    from ftpvm_resolve.job import MatteJob
    from ftpvm_resolve.settings import Settings

    old = fr.Resolve(scene.project, version=(18, 6, 6, 7, ""))
    s = Settings(server=server.address, output_root=str(scene.out), place="track", transport="pixels",
                 passes=("alpha",), keyframes=(KeyframeSpec(CLIP_START, str(scene.mattes / "tri_86400.png")),))
    result = MatteJob(ResolveHost(old), s).run()
    placed = scene.timeline.GetItemListInTrack("video", result.tracks["alpha"])
    assert [(i.GetStart(), i.GetDuration()) for i in placed] == [(CLIP_START, N)]


def test_studio_and_version_are_detected(scene):
    assert ResolveHost(scene.resolve).major_version() == 19 and not ResolveHost(scene.resolve).is_studio()
    studio = fr.Resolve(scene.project, version=(20, 3, 2, 9, ""), studio=True)
    assert ResolveHost(studio).major_version() == 20 and ResolveHost(studio).is_studio()
