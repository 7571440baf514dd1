"""A tiny stroke font (our own strokes on a 4 x 6 grid) for the text backgrounds and letter foregrounds.

A glyph is a list of polylines in glyph units: x in [0, 4] to the right, y in [0, 6] downwards.
"""
from __future__ import annotations

import numpy as np

from ftpvm_core.train.procedural.raster import polyline_distance


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int = 10) -> list[tuple[float, float]]:
    a = np.radians(np.linspace(a0, a1, n))
    return [(cx + rx * np.cos(t), cy + ry * np.sin(t)) for t in a]


GLYPHS: dict[str, list[list[tuple[float, float]]]] = {
    "A": [[(0, 6), (2, 0), (4, 6)], [(1, 3.6), (3, 3.6)]],
    "C": [_arc(2.2, 3, 2, 3, 40, 320)],
    "E": [[(4, 0), (0, 0), (0, 6), (4, 6)], [(0, 3), (3, 3)]],
    "F": [[(4, 0), (0, 0), (0, 6)], [(0, 3), (3, 3)]],
    "H": [[(0, 0), (0, 6)], [(4, 0), (4, 6)], [(0, 3), (4, 3)]],
    "K": [[(0, 0), (0, 6)], [(4, 0), (0, 3.6)], [(1.3, 2.6), (4, 6)]],
    "L": [[(0, 0), (0, 6), (4, 6)]],
    "M": [[(0, 6), (0, 0), (2, 3.2), (4, 0), (4, 6)]],
    "N": [[(0, 6), (0, 0), (4, 6), (4, 0)]],
    "O": [_arc(2, 3, 2, 3, 0, 360, 16)],
    "S": [_arc(2, 1.5, 2, 1.5, -20, -270)[::-1] + _arc(2, 4.5, 2, 1.5, -90, 160)],
    "T": [[(0, 0), (4, 0)], [(2, 0), (2, 6)]],
    "U": [[(0, 0), (0, 4)] + _arc(2, 4, 2, 2, 180, 0)[1:] + [(4, 0)]],
    "V": [[(0, 0), (2, 6), (4, 0)]],
    "W": [[(0, 0), (1, 6), (2, 2), (3, 6), (4, 0)]],
    "X": [[(0, 0), (4, 6)], [(4, 0), (0, 6)]],
    "Y": [[(0, 0), (2, 3), (4, 0)], [(2, 3), (2, 6)]],
    "Z": [[(0, 0), (4, 0), (0, 6), (4, 6)]],
}
NAMES = tuple(sorted(GLYPHS))


def glyph_distance(u: np.ndarray, v: np.ndarray, name: str) -> np.ndarray:
    """Distance (glyph units) from every (u, v) to the strokes of glyph ``name``."""
    d = np.full(u.shape, np.inf, dtype=np.float32)
    for stroke in GLYPHS[name]:
        np.minimum(d, polyline_distance(u, v, np.asarray(stroke, dtype=np.float32)), out=d)
    return d
