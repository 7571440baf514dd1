"""Sizes and frame numbers of the test scene (a uniquely named module, so no other conftest shadows it)."""
from pathlib import Path

W, H, N = 96, 64, 5          # a tiny synthetic clip
CLIP_START = 86400           # its first timeline frame (01:00:00:00 at 24 fps)
MEDIA_FIRST = 1001           # its first media file number
ROOT = Path(__file__).resolve().parents[2]
