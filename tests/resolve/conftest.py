"""Fixtures for the Resolve script: a fake Resolve with a synthetic clip, and a real ftpvm-server."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
for _p in (ROOT / "tests" / "fakes" / "resolve", ROOT / "plugins" / "resolve", ROOT / "plugins", ROOT / "server",
           ROOT, ROOT / "tests"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

import DaVinciResolveScript  # noqa: E402  (the fake)
import fake_resolve as fr  # noqa: E402

from resolve_scene import CLIP_START, H, MEDIA_FIRST, N, W  # noqa: E402


@pytest.fixture(scope="session")
def shot():
    from ftpvm_core.synthetic import make_shot

    return make_shot(num_frames=N, height=H, width=W, seed=3)


def write_exr(path: Path, rgb: np.ndarray) -> Path:
    fr.write_exr(str(path), rgb)
    return path


def write_grey(path: Path, grey: np.ndarray, alpha: bool = False) -> Path:
    import OpenImageIO as oiio

    chans = np.stack([grey] * 4, -1) if alpha else grey[:, :, None]
    buf = oiio.ImageBuf(np.ascontiguousarray(chans.astype(np.float32)))
    fmt = oiio.UINT8 if path.suffix == ".png" else oiio.HALF
    assert buf.write(str(path), fmt), buf.geterror()
    return path


@pytest.fixture()
def scene(tmp_path, shot):
    """A project: the synthetic plate (EXR sequence 1001-1005) as a clip on V1 at 86400, a title over its last frames on V2."""
    media = tmp_path / "media"
    media.mkdir()
    for t in range(N):
        write_exr(media / f"plate.{MEDIA_FIRST + t:04d}.exr", shot.plates_linear[t])
    title_dir = tmp_path / "title"
    title_dir.mkdir()
    for t in range(N):
        write_exr(title_dir / f"title.{t:04d}.exr", np.full((H, W, 3), 0.9, np.float32))
    mattes = tmp_path / "mattes"
    mattes.mkdir()
    write_grey(mattes / "tri_86400.png", shot.trimaps[0])
    write_grey(mattes / "roto_86402.exr", (shot.alpha[2] > 0.5).astype(np.float32), alpha=True)

    timeline = fr.Timeline("Edit v1", W, H, start_frame=CLIP_START)
    timeline.AddTrack("video")
    plate_item = fr.sequence_item(str(media), "plate.", MEDIA_FIRST, MEDIA_FIRST + N - 1,
                                  input_colour_space="Rec.709 Linear")
    title_item = fr.sequence_item(str(title_dir), "title.", 0, N - 1)
    clip = timeline.put(fr.TimelineItem(plate_item, CLIP_START, N, 0, name="plate"), 1)
    timeline.put(fr.TimelineItem(title_item, CLIP_START + 2, N - 2, 0, name="title"), 2)
    timeline.enabled[2] = True
    project = fr.Project("Commercial 01", timeline)
    project.media_pool.root.clips += [plate_item, title_item]
    resolve = fr.Resolve(project)
    timeline.playhead = CLIP_START + 1   # only the plate is under the playhead
    DaVinciResolveScript.RUNNING = resolve
    yield type("Scene", (), dict(resolve=resolve, project=project, timeline=timeline, clip=clip, media=media,
                                 mattes=mattes, root=tmp_path, out=tmp_path / "out"))
    DaVinciResolveScript.RUNNING = None


@pytest.fixture(scope="session")
def server(tmp_path_factory, synthetic_checkpoint):
    """A real ftpvm-server on 127.0.0.1 (synthetic weights, studio OCIO config, path mode under /tmp's test root)."""
    import server_harness

    base = tmp_path_factory.getbasetemp()
    srv = server_harness.launch(base / "resolve-state", synthetic_checkpoint, base / "resolve-server.log",
                                extra=["--allow-root", str(base)], env={"OCIO": "ocio://studio-config-latest"})
    yield srv
    srv.stop()
