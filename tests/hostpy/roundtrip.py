"""A matte round-trip run by a host's Python (3.9-3.13) with only numpy, grpcio, protobuf and fileseq installed.

    python roundtrip.py ADDRESS        # wire/, plugins/ and plugins/nuke/ on sys.path (PYTHONPATH)

Imports the client, the wire and the Nuke plug-in's pure modules with every warning an error (a protobuf gencode
or grpcio version complaint fails here), then keys one frame from a roto matte and mattes three frames. Prints one
JSON line: the Python, grpcio and protobuf versions, and what came back.
"""
from __future__ import annotations

import json
import sys
import warnings

import numpy as np

with warnings.catch_warnings():
    warnings.simplefilter("error")
    import google.protobuf
    import grpc
    from ftpvm_client import Client
    from ftpvm_wire.protocol import pb
    import ftpvm_wire.sequences  # noqa: F401  (fileseq)
    from ftpvm_nuke import exr, plan, process  # noqa: F401  (the Nuke plug-in's host-side pure code)

HEIGHT, WIDTH = 64, 96


def plate(frame: int) -> "tuple[np.ndarray, np.ndarray]":
    """A grey plate with a bright disc that moves one pixel a frame, and the disc's matte."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    disc = (((x - 40 - frame) ** 2 + (y - 32) ** 2) < 14 ** 2).astype(np.float32)
    rgb = np.stack([0.18 + 0.7 * disc, 0.18 + 0.5 * disc, 0.18 + 0.1 * disc], axis=-1).astype(np.float32)
    return rgb, disc


def main(address: str) -> int:
    with Client(address, timeout=60) as client:
        info = client.wait_ready(60)
        shot = client.open_shot("hostpy", WIDTH, HEIGHT, "Linear Rec.709 (sRGB)", reset=True)
        image, roto = plate(0)
        key = shot.set_keyframe(0, image=image, outer=roto, band=4)
        results = list(shot.matte([(f, plate(f)[0]) for f in range(3)], passes=("alpha",)))
        shot.delete()
    alphas = [r.alpha for r in results]
    print(json.dumps({
        "python": "%d.%d" % sys.version_info[:2], "grpcio": grpc.__version__,
        "protobuf": google.protobuf.__version__, "server": info.server_version, "keyframe": key.source,
        "frames": [r.frame for r in results], "shapes": [list(a.shape) for a in alphas],
        "alpha_min": float(min(a.min() for a in alphas)), "alpha_max": float(max(a.max() for a in alphas)),
        "pb_package": pb.DESCRIPTOR.package,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
