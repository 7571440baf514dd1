"""bench/demo_weights_report.py: the per-family table, issue 17's target lines and the true-trimap floor row."""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import torch

from ftpvm_core.weights import synthetic_weights

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import demo_weights_report as report  # noqa: E402
from make_demo_eval_set import write_set  # noqa: E402


def test_split_candidate_names_rows():
    assert report.split_candidate("new=runs/lr=1e-4/c.pth") == ("new", "runs/lr=1e-4/c.pth")   # the first '='
    assert report.split_candidate("/w/rd_2800.pth") == ("rd_2800.pth", "/w/rd_2800.pth")


def test_true_trimaps_scores_every_frame_as_a_keyframe(tmp_path, capsys):
    """The floor row keys every frame (so no frame has a propagated unknown growth), is cached apart from the
    candidate's own row, and its ratio to holding the keyframe alpha is printed beside each target."""
    data = tmp_path / "set"
    write_set(data, clips=1, frames=3, families=("bg_voronoi",))
    weights = tmp_path / "w.pth"
    torch.save(synthetic_weights(), weights)
    out, cache = tmp_path / "report.json", tmp_path / "cache"
    args = [str(data), f"cand={weights}", "--true-trimaps", "--json", str(out), "--cache", str(cache)]
    assert report.main(args) == 0
    printed = capsys.readouterr().out
    fams = json.loads(out.read_text())["per_family"]
    floor = fams["cand, true trimap every frame"]
    assert set(floor) == {"bg_voronoi"}
    assert math.isfinite(fams["cand"]["bg_voronoi"]["unknown_growth"])    # frames 1-2 propagated from frame 0
    assert "unknown_growth" not in floor["bg_voronoi"]                    # every frame was a keyframe
    ratio = floor["bg_voronoi"]["MAD"] / fams[report.ALPHA_BASELINE]["bg_voronoi"]["MAD"]
    assert math.isfinite(ratio)
    assert f"(true trimap every frame: {ratio:.2f}x)" in printed
    assert "| bg_voronoi | cand, true trimap every frame |" in printed
    assert len(list(cache.glob("w.pth.*.every-frame-keyed.json"))) == 1 and len(list(cache.glob("*.json"))) == 2

    assert report.main(args) == 0                                         # the second run reads both from cache
    assert json.loads(out.read_text())["per_family"] == fams


def test_without_true_trimaps_the_targets_carry_no_floor():
    methods = {"cand": {"bg_voronoi": {"MAD": 25.0, "unknown_growth": 1.5}},
               report.ALPHA_BASELINE: {"bg_voronoi": {"MAD": 100.0}}}
    assert report.target_lines(methods, "cand", ["bg_voronoi"]) == [
        "bg_voronoi: MAD 0.25x hold-alpha (target <= 0.3x), unknown 1.50x keyframe (target <= 2.0x): met"]
    methods[report.true_trimap_name("cand")] = {"bg_voronoi": {"MAD": 20.0}}
    assert "(true trimap every frame: 0.20x)" in report.target_lines(methods, "cand", ["bg_voronoi"])[0]
