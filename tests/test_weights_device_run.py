"""bench/weights_device_run.py (issue 17's one call for a lent device) keeps working on CPU: a tiny run trains,
scores the starting weights and every checkpoint on the held-out families, and picks the best."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bench" / "weights_device_run.py"


def test_a_tiny_cpu_run_trains_scores_and_chooses(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out), "--size", "64", "--iterations", "1",
                           "--save-every", "1", "--eval-clips", "1", "--workers", "0", "--batch", "2", "--clip", "2",
                           "--minutes", "10", "--device", "cpu", "--lambda-readout", "1.5"],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (out / "saves" / "device" / "device_1.pth").is_file()          # the checkpoint the run saved
    assert json.loads((out / "saves" / "device" / "config.json").read_text())["lambda_readout"] == 1.5
    per_family = json.loads((out / "report.json").read_text())["per_family"]
    assert {"init", "1", "hold keyframe alpha"} <= set(per_family)
    assert {"bg_voronoi", "bg_fabric", "fg_ellipse_arm", "fg_letters", "issue_acescg"} <= set(per_family["1"])
    table = proc.stdout[proc.stdout.index("| candidate |"):]
    assert "| init |" in table and "| 1 |" in table
    exported = out / "demo_weights.pth"
    if "nothing exported" in proc.stdout:                                 # one iteration may not beat the start
        assert not exported.exists()
    else:
        assert exported.is_file() and exported.stat().st_size < 12e6 and "best: iteration 1" in proc.stdout


def test_the_best_candidate_is_the_lowest_held_out_mean():
    sys.path.insert(0, str(ROOT / "bench"))
    from demo_weights_report import ALPHA_BASELINE as HOLD
    from weights_device_run import HELD_OUT_FAMILIES, held_out_mean

    hold = {f: {"MAD": 100.0} for f in HELD_OUT_FAMILIES}
    per_family = {HOLD: {**hold, "legacy": {"MAD": 1.0}},
                  "a": {**{f: {"MAD": 50.0} for f in HELD_OUT_FAMILIES}, "legacy": {"MAD": 1000.0}},
                  "b": {f: {"MAD": 80.0} for f in HELD_OUT_FAMILIES}}
    assert held_out_mean(per_family, "a") == 0.5       # families that are not held out do not count
    assert held_out_mean(per_family, "b") == 0.8
