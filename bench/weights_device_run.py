"""One prepared call for a lent device (issue 17): train the demo weights for a wall-clock budget, score every
checkpoint on the held-out families, export the best as the shipped fp16 file, all in one command.

    python bench/weights_device_run.py --out $OUT --minutes 8 --size 256 --device cuda

Steps, each printed as it starts:

1. the evaluation set (``bench/make_demo_eval_set.py``) under ``--eval-set``, made when missing;
2. ``ftpvm-train`` on the procedural source (held-out families never drawn), starting from ``--init`` (default: the
   built-in demo weights), with a checkpoint every ``--save-every`` iterations; when ``--minutes`` have passed the
   run is stopped and the checkpoints saved so far are what it made;
3. ``bench/demo_weights_report.py`` over ``--init`` and those checkpoints (``--json`` under ``--out``);
4. the candidate with the lowest mean over the held-out families of MAD / hold-keyframe-alpha MAD exported by
   ``ftpvm_core.train.export_demo`` to ``<out>/demo_weights.pth`` (only when it beats ``--init``), and one summary
   table. Copy that file over ``ftpvm_core/model/demo_weights.pth`` and update docs/model-card.md from the JSON.

On CPU it runs too (small ``--size`` and ``--iterations`` in the tests), so the script stays working between the
sessions that have a device.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from demo_weights_report import mad_ratio  # noqa: E402
from make_demo_eval_set import HELD_OUT_FAMILIES  # noqa: E402

BUILTIN = Path(__file__).resolve().parents[1] / "ftpvm_core" / "model" / "demo_weights.pth"


def _step(text: str) -> None:
    print(f"== {text}", flush=True)


def train_for(args: argparse.Namespace, saves: Path) -> list[Path]:
    """Run ftpvm-train until it ends or ``--minutes`` pass; the network checkpoints it saved, oldest first."""
    cmd = [sys.executable, "-m", "ftpvm_core.train", "--id", "device", "--which_model", "FTPVM",
           "--dataset", "procedural", "--size", str(args.size), "-i", str(args.iterations), "--lr", str(args.lr),
           "--num_worker", str(args.workers), "-b_vid_mat", str(args.batch), "-s_vid_mat", str(args.clip),
           "--seg_stop", "-1", "--warmup", str(min(100, args.iterations // 10)),
           "--save_model_interval", str(args.save_every), "--report_interval", "25",
           "--save_root", str(saves), "--device", args.device, "--load_network", str(args.init),
           "--lambda_readout", str(args.lambda_readout)]
    proc = subprocess.Popen(cmd, start_new_session=True)
    try:
        proc.wait(timeout=args.minutes * 60)
    except subprocess.TimeoutExpired:
        print(f"training stopped after {args.minutes} min (the checkpoints saved so far are kept)", flush=True)
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if proc.returncode not in (0, -signal.SIGTERM, -signal.SIGKILL):
        raise SystemExit(f"ftpvm-train failed (exit {proc.returncode}); see its output above")
    found = [p for p in (saves / "device").glob("device_*.pth") if p.stem.split("_")[-1].isdigit()]
    return sorted(found, key=lambda p: int(p.stem.split("_")[-1]))


def held_out_mean(per_family: dict, name: str) -> float:
    """Mean over the held-out families of the candidate's MAD over holding the keyframe alpha."""
    ratios = [mad_ratio(per_family, name, f) for f in HELD_OUT_FAMILIES if f in per_family[name]]
    return sum(ratios) / len(ratios)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True, help="folder for checkpoints, the report JSON and the exported file")
    p.add_argument("--eval-set", default=None, help="evaluation set folder (default: <out>/eval_set, made if missing)")
    p.add_argument("--eval-clips", type=int, default=4, help="clips per family when the set is made")
    p.add_argument("--init", default=str(BUILTIN), help="weights to start from (default: the built-in demo weights)")
    p.add_argument("--minutes", type=float, default=8.0, help="wall-clock budget of the training step")
    p.add_argument("--iterations", type=int, default=4000, help="length of the cosine schedule (-i)")
    p.add_argument("--save-every", type=int, default=250, help="iterations between scored checkpoints")
    p.add_argument("--size", type=int, default=256, help="training crop size")
    p.add_argument("--batch", type=int, default=8, help="video clips per batch (-b_vid_mat)")
    p.add_argument("--clip", type=int, default=4, help="frames per clip (-s_vid_mat)")
    p.add_argument("--lr", type=float, default=1.5e-4, help="peak learning rate")
    p.add_argument("--lambda-readout", type=float, default=0.0, help="weight of the memory read-out loss "
                   "(ftpvm-train --lambda_readout; 0: off)")
    p.add_argument("--workers", type=int, default=8, help="data loader processes")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    args = p.parse_args(argv)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    eval_set = Path(args.eval_set) if args.eval_set else out / "eval_set"
    if not eval_set.is_dir():
        _step(f"making the evaluation set in {eval_set}")
        subprocess.run([sys.executable, str(HERE / "make_demo_eval_set.py"), "--out", str(eval_set),
                        "--clips", str(args.eval_clips)], check=True)
    _step(f"training for at most {args.minutes} min from {args.init}")
    started = time.monotonic()
    checkpoints = train_for(args, out / "saves")
    print(f"{len(checkpoints)} checkpoint(s) in {time.monotonic() - started:.0f} s", flush=True)
    _step("scoring on the evaluation set")
    report = out / "report.json"
    candidates = ["init=" + args.init] + [f"{c.stem.split('_')[-1]}={c}" for c in checkpoints]
    subprocess.run([sys.executable, str(HERE / "demo_weights_report.py"), str(eval_set), *candidates,
                    "--json", str(report), "--cache", str(out / "score_cache")], check=True)
    per_family = json.loads(report.read_text())["per_family"]
    scores = {c.split("=")[0]: held_out_mean(per_family, c.split("=")[0]) for c in candidates}
    print("\n| candidate | held-out mean of MAD / hold-alpha MAD |\n|---|---:|")
    for name, score in scores.items():
        print(f"| {name} | {score:.3f}x |")
    best = min(scores, key=lambda n: scores[n])
    if best == "init":
        print("\nno checkpoint beats the starting weights: nothing exported")
        return 0
    _step(f"exporting iteration {best}")
    source = next(c for c in checkpoints if c.stem.split("_")[-1] == best)
    subprocess.run([sys.executable, "-m", "ftpvm_core.train.export_demo", str(source),
                    str(out / "demo_weights.pth")], check=True)
    print(f"best: iteration {best}, held-out mean {scores[best]:.3f}x (init {scores['init']:.3f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
