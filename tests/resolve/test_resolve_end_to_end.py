"""FTPVM Matte end to end: fake Resolve, real ftpvm-server, real EXRs on disk."""
from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import numpy as np
import pytest

from resolve_scene import CLIP_START, H, MEDIA_FIRST, N, W
from ftpvm_client import Client
from ftpvm_resolve import host as resolve_host, pixels
from ftpvm_resolve.errors import HostError, JobCancelled
from ftpvm_resolve.job import MatteJob
from ftpvm_resolve.settings import KeyframeSpec, Settings


def digest(folder: Path) -> dict:
    return {p.name: hashlib.sha1(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def settings_for(scene, server, **kw) -> Settings:
    base = dict(server=server.address, output_root=str(scene.out),
                keyframes=(KeyframeSpec(CLIP_START, str(scene.mattes / "tri_86400.png"), "trimap"),))
    base.update(kw)
    return Settings(**base)


def direct_results(server, plates, keyframes, colorspace, passes=("alpha", "foreground")):
    """What the client returns when driven directly with the same plates and guides."""
    with Client(server.address) as client:
        shot = client.open_shot("direct-reference", W, H, colorspace=colorspace, reset=True)
        for frame, kind, guide, band in keyframes:
            if kind == "trimap":
                shot.set_keyframe(frame, image=plates[frame], trimap=guide)
            else:
                shot.set_keyframe(frame, image=plates[frame], outer=guide, band=band)
        out = {r.frame: r for r in shot.matte(sorted(plates.items()), passes=passes)}
        client.delete_shot("direct-reference")
    return out


def imported_files(item) -> list:
    return [item.files[f] for f in sorted(item.files)]


def test_render_path_mode_imports_what_the_client_returns(scene, server):
    before = digest(scene.media)
    job = MatteJob(resolve_host.connect(scene.resolve), settings_for(scene, server, source="render", place="track"))
    result = job.run()
    plan = result.plan
    assert plan.transport == "paths" and plan.source == "render"
    assert plan.colorspace == "Gamma 2.4 Encoded Rec.709"           # the project's RCM output space
    assert plan.frames == tuple(range(CLIP_START, CLIP_START + N))

    # the render job: EXR, the range, the title track muted meanwhile and restored, queue cleaned
    assert scene.project.jobs == {}
    assert scene.timeline.enable_log == [(2, False), (2, True)]
    assert scene.project.format_codec == {"format": "mov", "codec": "ProRes422HQ"}
    rendered = sorted(Path(plan.plate_dir).glob("*.exr"))
    assert len(rendered) == N
    for n in (0, N - 1):   # the last frame is under the title on V2: muted, so the plate itself is rendered
        np.testing.assert_allclose(pixels.read_rgb(str(rendered[n])),
                                   pixels.read_rgb(str(scene.media / f"plate.{MEDIA_FIRST + n}.exr")), atol=1e-3)

    # imported into the FTPVM bin, one clip per pass, frames = the timeline frames
    bins = {f.GetName(): f for f in scene.project.media_pool.root.GetSubFolderList()}
    assert set(result.items) == {"alpha", "foreground"}
    assert bins["FTPVM"].GetClipList() == [result.items["alpha"], result.items["foreground"]]
    assert scene.project.media_pool.GetCurrentFolder() is scene.project.media_pool.root

    plates = {f: pixels.read_rgb(str(p)) for f, p in zip(plan.frames, rendered)}
    reference = direct_results(server, plates, [(CLIP_START, "trimap", pixels.read_guide(
        str(scene.mattes / "tri_86400.png"), "trimap"), 0)], plan.colorspace)
    alpha_files = imported_files(result.items["alpha"])
    fg_files = imported_files(result.items["foreground"])
    assert len(alpha_files) == len(fg_files) == N
    for frame, a_path, f_path in zip(plan.frames, alpha_files, fg_files):
        alpha = pixels.read(a_path)[:, :, 0]
        assert alpha.std() > 1e-3                                  # a real matte, not a constant
        np.testing.assert_allclose(alpha, reference[frame].alpha, atol=2e-3)
        np.testing.assert_allclose(pixels.read_rgb(f_path), reference[frame].foreground, atol=5e-3)

    # placed above the clip on new tracks, lined up with it; the user's media untouched
    assert result.tracks == {"alpha": 3, "foreground": 4}
    placed = scene.timeline.GetItemListInTrack("video", 3)[0]
    assert (placed.GetStart(), placed.GetDuration()) == (CLIP_START, N)
    assert digest(scene.media) == before


def test_guides_are_read_as_they_are(tmp_path):
    """The script builds no trimap: a painted 0.3 stays 0.3 (the server judges it by the shot's trimap_tolerance)."""
    import OpenImageIO as oiio

    values = np.array([[0.0, 0.3, 0.5, 1.0]], np.float32)
    path = str(tmp_path / "guide.exr")
    out = oiio.ImageOutput.create(path)
    assert out.open(path, oiio.ImageSpec(4, 1, 1, oiio.FLOAT))
    assert out.write_image(np.ascontiguousarray(values[:, :, None]))
    out.close()
    np.testing.assert_array_equal(pixels.read_guide(path, "trimap"), values)
    np.testing.assert_array_equal(pixels.read_guide(path, "roto"), values)


def test_a_guide_is_read_into_its_display_window(tmp_path):
    """A Saver writes a mask's domain of definition as the EXR data window: the guide is the whole frame, the mask
    in its place, black around it, and what lies past the frame edge cropped."""
    import OpenImageIO as oiio

    inside = str(tmp_path / "inside.exr")
    spec = oiio.ImageSpec(3, 2, 4, oiio.FLOAT)          # a 3x2 box at (4, 1) of an 8x4 frame
    spec.x, spec.y, spec.full_x, spec.full_y, spec.full_width, spec.full_height = 4, 1, 0, 0, 8, 4
    out = oiio.ImageOutput.create(inside)
    assert out.open(inside, spec) and out.write_image(np.ones((2, 3, 4), np.float32))
    out.close()
    guide = pixels.read_guide(inside, "roto")
    want = np.zeros((4, 8), np.float32)
    want[1:3, 4:7] = 1
    np.testing.assert_array_equal(guide, want)
    past = str(tmp_path / "past.exr")                   # reaches 2 pixels past the right edge
    spec.x, spec.width = 6, 4
    out = oiio.ImageOutput.create(past)
    assert out.open(past, spec) and out.write_image(np.ones((2, 4, 4), np.float32))
    out.close()
    want = np.zeros((4, 8), np.float32)
    want[1:3, 6:8] = 1
    np.testing.assert_array_equal(pixels.read_guide(past, "roto"), want)


def test_media_sequence_pixels_mode_roto_and_fusion(scene, server):
    settings = settings_for(scene, server, transport="pixels", place="fusion", band=4,
                            keyframes=(KeyframeSpec(CLIP_START + 2, str(scene.mattes / "roto_86402.exr"), "roto"),))
    result = MatteJob(resolve_host.connect(scene.resolve), settings).run()
    plan = result.plan
    assert plan.source == "media" and plan.transport == "pixels"
    assert not Path(plan.plate_dir).exists()                      # no render: the clip's own EXRs are used
    assert scene.project.jobs == {} and scene.project.started == []

    plates = {CLIP_START + t: pixels.read_rgb(str(scene.media / f"plate.{MEDIA_FIRST + t}.exr")) for t in range(N)}
    roto = pixels.read_guide(str(scene.mattes / "roto_86402.exr"), "roto")
    reference = direct_results(server, plates, [(CLIP_START + 2, "roto", roto, 4)], plan.colorspace)
    for frame, path in zip(plan.frames, imported_files(result.items["alpha"])):
        np.testing.assert_allclose(pixels.read(path)[:, :, 0], reference[frame].alpha, atol=2e-3)

    comp = scene.clip.comps[0]
    loaders = {t.GetAttrs("TOOLS_Name"): t for t in comp.tools if t.ID == "Loader"}
    assert set(loaders) == {"FTPVM_alpha", "FTPVM_foreground"}
    assert loaders["FTPVM_alpha"].GetInput("Clip") == plan.output_path("alpha", CLIP_START)
    assert (loaders["FTPVM_alpha"].GetInput("GlobalIn"), loaders["FTPVM_alpha"].GetInput("GlobalOut")) == (0, N - 1)
    assert comp.locked == 0
    # the comp shows the matted clip: MediaIn1 -> MatteControl (matte from the alpha Loader) -> MediaOut1
    shown = comp.shown()
    assert shown is not None and shown.ID == "MatteControl"
    assert shown.GetConnectedOutput("Background") is comp.FindTool("MediaIn1")
    assert shown.GetConnectedOutput("Foreground") is loaders["FTPVM_alpha"]
    assert (shown.GetInput("MatteCombine"), shown.GetInput("CombineOp")) == (4, 0)  # Combine Alpha, Copy
    assert (shown.menu("MatteCombine"), shown.menu("CombineOp")) == ("Combine Alpha", "Copy")  # the manual's menus


def test_second_run_goes_to_a_new_version(scene, server):
    s = settings_for(scene, server, transport="pixels", passes=("alpha",))
    first = MatteJob(resolve_host.connect(scene.resolve), s).run().plan.work_dir
    second = MatteJob(resolve_host.connect(scene.resolve), s).run().plan.work_dir
    assert first.endswith("v001") and second.endswith("v002")
    assert len(list(Path(first, "alpha").iterdir())) == N


def test_render_failure_is_reported_and_nothing_imported(scene, server):
    scene.project.fail_render = "Disk full"
    with pytest.raises(HostError, match="render of the plate failed \\(Disk full\\)"):
        MatteJob(resolve_host.connect(scene.resolve), settings_for(scene, server, source="render")).run()
    assert scene.project.media_pool.root.GetSubFolderList() == []
    assert scene.timeline.enabled[2] is True and scene.project.jobs == {}
    assert scene.project.format_codec["format"] == "mov"


def test_cancel_while_rendering(scene, server):
    scene.project.seconds_per_frame = 0.3
    cancel = threading.Event()
    stages = []

    def progress(stage, fraction, message):
        stages.append(stage)
        if stage == "render" and fraction is not None and fraction > 0:
            cancel.set()

    job = MatteJob(resolve_host.connect(scene.resolve), settings_for(scene, server, source="render"), progress=progress,
                   cancel=cancel)
    job.host.poll_seconds = 0.05
    with pytest.raises(JobCancelled, match="rendered the plate"):
        job.run()
    assert not scene.project.IsRenderingInProgress()
    assert len(list(Path(job_plate_dir(scene)).glob("*.exr"))) < N
    assert "matte" not in stages and scene.project.media_pool.root.GetSubFolderList() == []
    assert scene.timeline.enabled[2] is True


def job_plate_dir(scene) -> Path:
    return next(scene.out.glob("*/*/v001/plate"))


def test_cancel_while_matting(scene, server):
    cancel = threading.Event()

    def progress(stage, fraction, message):
        if stage == "matte":
            cancel.set()

    with pytest.raises(JobCancelled, match="while matting"):
        MatteJob(resolve_host.connect(scene.resolve), settings_for(scene, server, transport="pixels"), progress=progress,
                 cancel=cancel).run()
    assert scene.project.media_pool.root.GetSubFolderList() == []


def _matte_kwargs(scene, server) -> dict:
    """The keyword arguments a pixels-mode job passes to the client's ``shot.matte`` (the job runs for real)."""
    seen: dict = {}

    class RecordingShot:
        def __init__(self, shot):
            self._shot = shot

        def __getattr__(self, name):
            return getattr(self._shot, name)

        def matte(self, frames, **kwargs):
            seen.update(kwargs)
            return self._shot.matte(frames, **kwargs)

    def factory(settings):
        client = Client(settings.server)
        open_shot = client.open_shot
        client.open_shot = lambda *a, **kw: RecordingShot(open_shot(*a, **kw))  # type: ignore[method-assign]
        return client

    MatteJob(resolve_host.connect(scene.resolve), settings_for(scene, server, transport="pixels", place="fusion"),
             client_factory=factory).run()
    return seen


def test_job_gives_the_client_its_plates_to_send_again_and_takes_results_as_views(scene, server):
    """When the server has lost a recurrent state it asks for earlier frames again; the job's ``refetch`` must read
    them from the same plates it streams (and answer None for a frame it has no plate of). Each result is written to
    its EXR before the next is taken, so shared-memory results may be views of the client's slot (no copy out); the
    other end-to-end tests check the files written from them."""
    seen = _matte_kwargs(scene, server)
    refetch = seen["refetch"]
    plate = pixels.read_rgb(str(scene.media / f"plate.{MEDIA_FIRST + 1}.exr"))
    np.testing.assert_array_equal(refetch(CLIP_START + 1), plate)
    assert refetch(CLIP_START - 1) is None and refetch(CLIP_START + N) is None
    assert seen["result_views"] is True
