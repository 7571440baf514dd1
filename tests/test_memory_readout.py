"""bench/memory_readout.py: the memory read-out diagnostic reads the keyframe (frame 0) into every later frame."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from ftpvm_core.model import FastTrimapPropagationVideoMatting
from ftpvm_core.model.synthetic_weights import manifest_of, synthetic_state_dict

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import memory_readout  # noqa: E402
from make_demo_eval_set import write_set  # noqa: E402


def _clip(frames: int = 3, size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """A square that moves one 1/16 cell to the right per frame, over grey."""
    alphas = np.zeros((frames, size, size), np.float32)
    for t in range(frames):
        alphas[t, 16:32, 16 * t:16 * t + 16] = 1
    images = np.repeat(0.2 + 0.6 * alphas[..., None], 3, axis=3).astype(np.float32)
    return images, alphas


def _model() -> FastTrimapPropagationVideoMatting:
    model = FastTrimapPropagationVideoMatting(backbone_pretrained=False)
    model.load_state_dict(synthetic_state_dict(manifest_of(model.state_dict()), seed=0))
    return model.eval()


def test_keys_that_match_by_position_read_the_keyframe_layout(monkeypatch):
    """Keys that are a sharp one-hot of the cell's position make the read-out the held keyframe: equal errors."""
    model = _model()

    def positional_keys(feat16: torch.Tensor) -> torch.Tensor:
        b, t, _, h, w = feat16.shape
        onehot = torch.eye(h * w).view(h * w, h, w) * 100.0
        return onehot[None, :, None].expand(b, h * w, t, h, w)

    monkeypatch.setattr(model.bottleneck_fuse, "key", positional_keys)
    read, hold, entropy = memory_readout.clip_readout(model, *_clip())
    assert hold > 0.05 and abs(read - hold) < 1e-6, (read, hold)
    assert entropy < 1e-3


def test_keys_that_match_by_appearance_follow_the_square(monkeypatch):
    """Keys from the square's own 1/16 alpha (fg cells match fg cells) read it where it moved: error below hold."""
    model = _model()
    images, alphas = _clip()

    def appearance_keys(feat16: torch.Tensor) -> torch.Tensor:
        """Keys of the keyframe (a 1-frame slice) or of the later frames, from their own 1/16 alpha."""
        frames = alphas[:1] if feat16.shape[1] == 1 else alphas[1:]
        a16 = torch.nn.functional.adaptive_avg_pool2d(torch.from_numpy(frames)[:, None], feat16.shape[-2:])
        k = torch.cat([a16, 1 - a16], dim=1) * 30.0  # (t, 2, h, w)
        return k.permute(1, 0, 2, 3)[None]

    monkeypatch.setattr(model.bottleneck_fuse, "key", appearance_keys)
    read, hold, _ = memory_readout.clip_readout(model, images, alphas)
    assert read < 0.1 * hold, (read, hold)


def test_command_prints_a_row_per_family_and_the_held_out_mean(tmp_path):
    write_set(tmp_path / "set", clips=1, frames=3, families=("bg_voronoi", "fg_letters", "train_families"))
    weights = tmp_path / "w.pth"
    torch.save(_model().state_dict(), weights)
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "memory_readout.py"), str(tmp_path / "set"),
                          f"synthetic={weights}"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    rows = [line for line in out.stdout.splitlines() if line.startswith("| synthetic |")]
    assert [r.split("|")[2].strip() for r in rows] == ["bg_voronoi", "fg_letters", "train_families", "held-out mean"]
    ratios = [float(r.split("|")[5].strip().rstrip("x")) for r in rows]
    assert all(np.isfinite(ratios)) and all(r > 0 for r in ratios)
    bad = subprocess.run([sys.executable, str(ROOT / "bench" / "memory_readout.py"), str(tmp_path / "empty"),
                          f"x={weights}"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) <= 2 and "empty" in bad.stderr, bad.stderr
