"""Shared helpers of the Nuke plug-in tests (paths, footage size, real EXR writing, a script)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
for _p in (ROOT / "tests", ROOT / "tests" / "fakes", ROOT / "plugins" / "nuke", ROOT / "plugins", ROOT / "server", ROOT):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

import nuke  # noqa: E402  (the fake, from tests/fakes)

H, W, FRAMES, FIRST = 64, 96, 6, 1001


def write_exr(path: Path, channels: dict) -> None:
    """A real EXR through OpenImageIO (half)."""
    import OpenImageIO as oiio

    names = list(channels)
    h, w = channels[names[0]].shape
    spec = oiio.ImageSpec(w, h, len(names), oiio.HALF)
    spec.channelnames = tuple(names)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), spec)
    out.write_image(np.ascontiguousarray(np.stack([channels[n] for n in names], -1).astype(np.float32)))
    out.close()


def make_script(plates: dict, script_dir: Path):
    """A script with a plate Read and a roto Read, saved under ``script_dir``."""
    nuke.root()["name"].setValue(str(script_dir / "sh010_comp_v003.nk"))
    nuke.root()["first_frame"].setValue(plates["first"])
    nuke.root()["last_frame"].setValue(plates["last"])
    plate = nuke.nodes.Read(file=plates["plate"], first=plates["first"], last=plates["last"])
    roto = nuke.nodes.Read(file=plates["roto"], first=plates["first"], last=plates["last"])
    return plate, roto


def mark_processed(g) -> None:
    """Record one processed frame in the node's cache manifest, as a Process would (the outputs get wired)."""
    from ftpvm_nuke import node, plan

    paths = node.read_state(g).paths
    plan.Manifest(paths.shot_id, frames={FIRST: "signature"}).save(paths.manifest)


def run_process(g):
    """Press Process and run Nuke's event loop until it is done: the report, or None when it failed (the
    artist got a message)."""
    from ftpvm_nuke import node

    job = node.on_button(g, "process")
    if job is None:
        return None
    nuke.run_main_loop(job.done)
    return job.report
