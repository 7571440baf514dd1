"""bench/gpu_check.py keeps working where CI runs it (no CUDA): a small run, CUDA rows skipped, one table."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bench" / "gpu_check.py"


def _module():
    if "gpu_check" not in sys.modules:
        spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
        module = importlib.util.module_from_spec(spec)
        sys.modules["gpu_check"] = module  # dataclasses look their module up
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    return sys.modules["gpu_check"]


def test_the_full_plan_is_what_the_issue_asks_for():
    plan = _module().Plan.make(cuda=True, quick=False)
    assert list(plan.stream_sizes) == [(1024, 576, 1.0), (3840, 2160, "auto")]
    assert tuple(plan.precisions) == ("fp32", "fp16", "bf16")
    assert plan.server_size == (1920, 1080) and plan.train_iterations == 50 and plan.full
    assert not _module().Plan.make(cuda=True, quick=True).full  # targets are judged at the issue's sizes only
    assert _module().Plan.make(cuda=False, quick=False).server_size != (1920, 1080)  # no CUDA: always small


def test_a_broken_section_is_a_failed_row_and_the_rest_goes_on():
    gpu_check = _module()

    def broken():
        raise RuntimeError("no device\nmore")

    rows = gpu_check.run_section("stream", broken)
    assert [(r.section, r.status) for r in rows] == [("stream", "FAIL")] and "no device" in rows[0].result


def test_quick_run_prints_one_table_and_skips_what_needs_cuda(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT), "--quick"], cwd=ROOT, capture_output=True, text=True,
                          timeout=900)
    out = done.stdout
    assert done.returncode == 0, out + done.stderr[-3000:]
    lines = out.splitlines()
    assert lines[0].startswith("FTP-VM GPU check on ") and lines[1].split()[:2] == ["section", "check"]
    rows = [line.split() for line in lines[3:]]
    assert {r[0] for r in rows} == {"tests", "golden", "stream", "server", "train", "colour", "compile"}
    assert not any("FAIL" in line for line in lines)
    for mode in ("inline", "shm", "path"):
        assert any(f" {mode} " in line and line.rstrip().endswith("ok") for line in lines), mode
    if not torch.cuda.is_available():
        skipped = [line for line in lines if line.rstrip().endswith("skip: needs CUDA")]
        assert any(line.startswith("tests") for line in skipped)
        assert any("cuda fp32 vs cpu" in line for line in skipped)
        assert sum("fp16" in line or "bf16" in line for line in skipped if line.startswith("stream")) == 4
        assert any("--gpu 0" in line for line in skipped) and any("with AMP" in line for line in skipped)
        colour_rows = [line for line in lines if line.startswith("colour")]
        assert len(colour_rows) == 7 and all(line.rstrip().endswith("skip: needs CUDA") for line in colour_rows)
        assert any("ACEScct back from scene-linear" in line for line in colour_rows)
        assert any("foreground estimation" in line for line in colour_rows)
        compile_rows = [line for line in lines if line.startswith("compile")]
        assert len(compile_rows) == 3 and all(line.rstrip().endswith("skip: needs CUDA") for line in compile_rows)
        assert any("CUDA graphs" in line for line in compile_rows) and any(" eager " in line for line in compile_rows)
