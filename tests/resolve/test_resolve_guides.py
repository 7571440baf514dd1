"""Keyframe guides drawn in Resolve: a Fusion mask on the clip, or a matte clip on another track; Resolve's limits."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import fake_resolve as fr
from resolve_scene import CLIP_START, H, N, W
from ftpvm_resolve import pixels
from ftpvm_resolve.errors import HostError
from ftpvm_resolve.host import ResolveHost
from ftpvm_resolve.job import MatteJob
from ftpvm_resolve.settings import Settings, SettingsError, format_keyframes, parse_keyframes


def _job(scene, server, lines: str, **kw) -> MatteJob:
    s = Settings(server=server.address, output_root=str(scene.out), transport="pixels", passes=("alpha",),
                 keyframes=parse_keyframes(lines), **kw)
    return MatteJob(ResolveHost(scene.resolve), s, item=scene.clip)  # the plate (a matte track may lie above it)


def _guide(work_dir: str, frame: int) -> Path:
    found = sorted((Path(work_dir) / "guides" / str(frame)).glob("*.exr"))
    assert len(found) == 1, found
    return found[0]


def _shape(shot, t: int) -> np.ndarray:
    return (shot.alpha[t] > 0.5).astype(np.float32)


def test_guide_lines_for_drawn_masks_and_matte_tracks_are_roto_unless_told():
    specs = parse_keyframes("86400 fusion:\n86401 fusion:Polygon1\n86402 track:V3\n86403 track:2 | trimap\n"
                            "86404 /m/tri.png")
    assert [(k.fusion_mask, k.matte_track, k.kind) for k in specs] == [
        ("", None, "roto"), ("Polygon1", None, "roto"), (None, 3, "roto"), (None, 2, "trimap"), (None, None, "trimap")]
    assert parse_keyframes(format_keyframes(specs)) == specs
    for bad in ("86400 track:", "86400 track:top", "86400 track:0"):
        with pytest.raises(SettingsError, match="track"):
            parse_keyframes(bad)


def test_a_fusion_polygon_on_the_clip_is_the_keyframe_guide(scene, server, shot, tmp_path):
    """The mask is rendered at the keyframe's comp time through a temporary Saver, which is removed again; the
    user's own Saver neither writes nor stays passed through."""
    assert np.abs(_shape(shot, 2) - _shape(shot, 0)).sum() > 0   # the shape moves: the comp time matters
    comp = scene.clip.AddFusionComp()
    comp.add_mask("PolylineMask", "Polygon1", lambda t: _shape(shot, t))
    ellipse = comp.add_mask("EllipseMask", "Ellipse1", lambda t: np.ones((H, W), np.float32))
    user_saver = comp.AddTool("Saver")
    user_saver.SetInput("Clip", str(tmp_path / "user" / "mine.exr"))
    user_saver.ConnectInput("Input", ellipse)

    result = _job(scene, server, f"{CLIP_START + 2} fusion:Polygon1").run()
    assert result.written["alpha"] and len(result.written["alpha"]) == N
    guide = pixels.read(str(_guide(result.plan.work_dir, CLIP_START + 2)))
    np.testing.assert_array_equal(guide[:, :, 3], _shape(shot, 2))        # the shape sits in the alpha channel
    assert pixels.read_guide(str(_guide(result.plan.work_dir, CLIP_START + 2)), "roto").max() == 1.0
    assert comp.renders == [{"Start": 2, "End": 2, "Wait": True}]
    assert [t.ID for t in comp.tools].count("Saver") == 1 and comp.FindTool("FTPVM_Guide") is None
    assert user_saver.GetAttrs("TOOLB_PassThrough") is False and not (tmp_path / "user").exists()
    assert comp.locked == 0


def test_choosing_the_fusion_mask(scene, shot, tmp_path):
    host = ResolveHost(scene.resolve)
    with pytest.raises(HostError, match="has no mask tool in a Fusion comp"):
        host.render_fusion_mask(scene.clip, "", CLIP_START, CLIP_START, str(tmp_path / "a"))
    comp = scene.clip.AddFusionComp()
    comp.add_mask("PolylineMask", "Polygon1", lambda t: _shape(shot, t))
    comp.add_mask("BSplineMask", "BSpline1", lambda t: _shape(shot, t))
    with pytest.raises(HostError, match=r"2 Fusion mask tools \(Polygon1, BSpline1\).*'fusion:Polygon1'"):
        host.render_fusion_mask(scene.clip, "", CLIP_START, CLIP_START, str(tmp_path / "b"))
    with pytest.raises(HostError, match="no Fusion mask tool named 'Roto9'; its masks: Polygon1, BSpline1"):
        host.render_fusion_mask(scene.clip, "Roto9", CLIP_START, CLIP_START, str(tmp_path / "c"))
    path = host.render_fusion_mask(scene.clip, "BSpline1", CLIP_START + 4, CLIP_START, str(tmp_path / "d"))
    np.testing.assert_array_equal(pixels.read_guide(path, "roto"), _shape(shot, 4))


def test_a_magic_mask_in_fusion_needs_studio(scene, shot, tmp_path):
    comp = scene.clip.AddFusionComp()
    comp.add_mask("MagicMask", "MagicMask1", lambda t: _shape(shot, t))
    with pytest.raises(HostError) as refused:
        ResolveHost(scene.resolve).render_fusion_mask(scene.clip, "", CLIP_START, CLIP_START, str(tmp_path / "a"))
    assert "needs DaVinci Resolve Studio (this is DaVinci Resolve 19.1.0.0)" in str(refused.value)
    assert "'track:N'" in str(refused.value) and comp.renders == []
    studio = fr.Resolve(scene.project, studio=True)
    path = ResolveHost(studio).render_fusion_mask(scene.clip, "", CLIP_START, CLIP_START, str(tmp_path / "b"))
    np.testing.assert_array_equal(pixels.read_guide(path, "roto"), _shape(shot, 0))


def test_a_matte_clip_on_another_track_is_the_keyframe_guide(scene, server, shot, tmp_path):
    """A rendered Magic Mask lined up with the plate on V3, kept switched off: Resolve renders that track alone at
    the keyframe, and every track is as it was afterwards."""
    mattes = tmp_path / "magic"
    mattes.mkdir()
    for t in range(N):
        fr.write_exr(str(mattes / f"mm.{t:04d}.exr"), np.repeat(_shape(shot, t)[:, :, None], 3, axis=2))
    scene.timeline.AddTrack("video")
    scene.timeline.put(fr.TimelineItem(fr.sequence_item(str(mattes), "mm.", 0, N - 1), CLIP_START, N), 3)
    scene.timeline.enabled[3] = False
    before = dict(scene.timeline.enabled)

    result = _job(scene, server, f"{CLIP_START + 3} track:V3").run()
    assert result.plan.source == "media" and len(result.written["alpha"]) == N
    np.testing.assert_array_equal(pixels.read_guide(str(_guide(result.plan.work_dir, CLIP_START + 3)), "roto"),
                                  _shape(shot, 3))
    assert scene.timeline.enabled == before and scene.project.jobs == {}
    assert scene.project.format_codec == {"format": "mov", "codec": "ProRes422HQ"}

    with pytest.raises(HostError, match="video track 2 has no clip at frame 86400"):
        _job(scene, server, f"{CLIP_START} track:2").run()
    with pytest.raises(HostError, match="'track:1' is the plate's own track"):
        _job(scene, server, f"{CLIP_START} track:1").run()
    with pytest.raises(HostError, match="has no video track 7"):
        _job(scene, server, f"{CLIP_START} track:7").run()


def test_a_resolve_without_exr_renders_says_what_is_missing(scene, server):
    scene.project.FORMATS = {"QuickTime": "mov", "TIFF": "tif"}
    with pytest.raises(HostError) as refused:
        _job(scene, server, f"{CLIP_START} {scene.mattes / 'tri_86400.png'}", source="render").run()
    message = str(refused.value)
    assert "DaVinci Resolve 19.1.0.0 lists no OpenEXR render format" in message
    assert "QuickTime, TIFF" in message and "Clip's own EXRs" in message
    assert scene.project.jobs == {} and scene.timeline.enable_log == []
