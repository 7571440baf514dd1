"""bench/bench_colour.py keeps working: a tiny speed run prints one row per space and conversion."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "bench" / "bench_colour.py"


def test_a_tiny_speed_run_prints_every_conversion_for_both_spaces():
    out = subprocess.run([sys.executable, str(SCRIPT), "--size", "64x48", "--repeat", "1"], capture_output=True,
                         text=True, timeout=300, check=True).stdout
    rows = [line for line in out.splitlines() if "OCIO" in line and "torch" in line and "x)" in line]
    assert len(rows) == 6, out
    for space in ("ACEScct", "sRGB Encoded AP1"):
        assert sum(space in row for row in rows) == 3
