"""The training loop: one iteration = one batch of the phase the schedule names, one optimiser step."""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from contextlib import nullcontext
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from ftpvm_core.train import checkpointing as ckpt
from ftpvm_core.train.data import TrainingData, build_datasets
from ftpvm_core.train.datasets.common import unpack
from ftpvm_core.train.ddp import DistContext, all_reduce_mean, barrier, init_distributed, shutdown, wrap_model
from ftpvm_core.train.logger import TrainingLogger
from ftpvm_core.train.losses import FTPVMLoss, LossWeights, readout_loss
from ftpvm_core.train.registry import build_model
from ftpvm_core.train.schedule import Phase, Schedule, learning_rate_factor


def schedule_from_flags(args: argparse.Namespace) -> Schedule:
    return Schedule(args.iterations, args.iter_switch_dataset, args.seg_start, args.seg_iter, args.seg_cd,
                    args.seg_stop)


def loss_from_flags(args: argparse.Namespace) -> FTPVMLoss:
    return FTPVMLoss(LossWeights(args.celoss_type, args.tvloss_type, args.lambda_segtv, args.start_segtv,
                                 args.lambda_tc, args.lambda_grad))


class MemoryReadProbe:
    """Keeps the query and memory 1/16 features of the model's last memory read (a forward hook), to score the
    affinity they give with :func:`readout_loss`."""

    def __init__(self, model: nn.Module):
        self.fuse = model.bottleneck_fuse
        self.features: tuple[torch.Tensor, torch.Tensor] | None = None
        self.handle = self.fuse.register_forward_hook(self._keep)

    def _keep(self, module: nn.Module, args: tuple, output: torch.Tensor) -> None:
        self.features = (args[0], args[1])

    def affinity(self, first_query: int) -> tuple[torch.Tensor, tuple[int, int]]:
        """(B, Nm, Nq) affinity of query frames ``first_query:`` of the last forward pass, and their 1/16 size."""
        if self.features is None:
            raise RuntimeError("no forward pass has read the memory yet")
        query, memory = self.features
        query = query[:, first_query:]
        return self.fuse.affinity(query, memory), tuple(query.shape[-2:])


def set_train_mode(model: nn.Module, freeze_bn: bool) -> None:
    model.train()
    if freeze_bn:
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.eval()


class Trainer:
    """Owns the model, optimiser, schedule and data of one process of a run."""

    def __init__(self, args: argparse.Namespace, ctx: DistContext):
        self.args, self.ctx = args, ctx
        self.schedule = schedule_from_flags(args)
        self.exp_dir = ckpt.experiment_dir(args.save_root, args.id)
        torch.manual_seed(args.seed)
        if args.benchmark and ctx.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        self.model = build_model(args.which_model, getattr(args, "backbone_weights", None)).to(ctx.device)
        if args.load_network:
            from ftpvm_core.model.checkpoint import check_state_dict, load_state_dict_file

            state = load_state_dict_file(args.load_network)
            check_state_dict(self.model, state, args.load_network)
            self.model.load_state_dict(state)
        self.optimizer = torch.optim.Adam([p for p in self.model.parameters() if p.requires_grad], lr=args.lr,
                                          weight_decay=1e-7)
        self.lr_scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda it: learning_rate_factor(it, args.iterations, args.warmup, args.lr))
        self.amp = ctx.device.type == "cuda" and not args.no_amp
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        self.loss = loss_from_flags(args)
        self.read_probe = MemoryReadProbe(self.model) if args.lambda_readout > 0 else None
        self.start_it, data_state = 0, {}
        source = self._resume_source()
        if source is not None:
            self.start_it, data_state = self._load_full(source)
        self.datasets = build_datasets(args, self.schedule.phases_used(self.start_it))
        self.data = TrainingData(self.datasets, ctx, args.num_worker, args.seed, data_state)
        self.net = wrap_model(self.model, ctx, sync_bn=not args.freeze_bn)
        self.logger = TrainingLogger(self.exp_dir, ctx.is_main and args.id != "NULL")

    def _resume_source(self) -> Path | None:
        if self.args.load_model:
            return Path(self.args.load_model)
        if self.args.resume:
            path = ckpt.checkpoint_path(self.args.save_root, self.args.id)
            if not path.is_file():
                raise FileNotFoundError(f"--resume: no checkpoint at {path}")
            return path
        return None

    def _load_full(self, path: Path) -> tuple[int, dict[str, int]]:
        state = ckpt.load_checkpoint(path)
        self.model.load_state_dict({k.removeprefix("module."): v for k, v in state["network"].items()})
        self.optimizer.load_state_dict(state["optimizer"])
        if state.get("format") == ckpt.FORMAT:
            self.lr_scheduler.load_state_dict(state["scheduler"])
            if state.get("scaler"):
                self.scaler.load_state_dict(state["scaler"])
            torch.set_rng_state(state["rng"]["torch"])
        # the learning rate of the next iteration follows this run's flags (-i may have grown since the save)
        self.lr_scheduler.last_epoch = int(state["it"])
        factor = learning_rate_factor(int(state["it"]), self.args.iterations, self.args.warmup, self.args.lr)
        for g in self.optimizer.param_groups:
            g["lr"] = self.args.lr * factor
        self.lr_scheduler._last_lr = [g["lr"] for g in self.optimizer.param_groups]
        return int(state["it"]), dict(state.get("data") or {})

    # ------------------------------------------------------------------ one iteration
    def step(self, batch: dict[str, torch.Tensor], it: int, phase: Phase) -> tuple[dict[str, torch.Tensor], tuple]:
        """Forward, loss, backward and update on an unpacked batch; returns per-clip loss terms and outputs."""
        set_train_mode(self.net, self.args.freeze_bn)
        rgb, trimap = batch["rgb"], batch["trimap"]
        autocast = torch.autocast("cuda", dtype=torch.float16) if self.amp else nullcontext()
        with autocast:
            if phase is Phase.SEGMENTATION:
                logits, _ = self.net(rgb, rgb[:, :1], trimap[:, :1], segmentation_pass=True)
                terms, outputs = self.loss.segmentation(logits, trimap, it), (logits, None)
            else:
                logits, boundary, full, _ = self.net(rgb, rgb[:, :1], trimap[:, :1])
                terms = self.loss.matting(logits, boundary, full, batch["gt"], trimap, it)
                outputs = (logits, full)
            if self.read_probe is not None:  # query frame 0 is the memory frame itself
                affinity, size = self.read_probe.affinity(first_query=1)
                terms["memory_readout"] = readout_loss(affinity, trimap[:, :1], trimap[:, 1:], size) \
                    * self.args.lambda_readout
                terms["total"] = terms["total"] + terms["memory_readout"]
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(terms["total"].mean()).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.lr_scheduler.step()
        return terms, outputs

    # ------------------------------------------------------------------ the run
    def save(self, iterations_done: int) -> None:
        if not self.ctx.is_main:
            return
        ckpt.save_network(self.model, ckpt.network_path(self.args.save_root, self.args.id, iterations_done))
        ckpt.save_checkpoint(ckpt.checkpoint_path(self.args.save_root, self.args.id), iteration=iterations_done,
                             model=self.model, optimizer=self.optimizer, scheduler=self.lr_scheduler,
                             scaler=self.scaler, data_state=self.data.state(), flags=vars(self.args))

    def run(self) -> dict[str, float]:
        """Train from the start (or resumed) iteration to ``--iterations``; returns the last reported losses."""
        a = self.args
        report_every = 1 if a.debug else max(a.report_interval, 1)
        image_every = 1 if a.debug else max(a.save_im_interval, 1)
        if self.ctx.is_main:
            self.exp_dir.mkdir(parents=True, exist_ok=True)
            (self.exp_dir / "config.json").write_text(json.dumps(vars(a), indent=2, default=str))
            self.logger.text("hyperparameters", json.dumps(vars(a), default=str))
        sums: dict[str, torch.Tensor] = defaultdict(lambda: torch.zeros((), device=self.ctx.device))
        counts: dict[str, int] = defaultdict(int)
        last: dict[str, float] = {}
        bar = tqdm(total=a.iterations, initial=self.start_it, disable=not self.ctx.is_main, unit="it",
                   dynamic_ncols=True, file=sys.stderr)
        it = self.start_it
        try:
            for it in range(self.start_it, a.iterations):
                phase = self.schedule.phase(it)
                batch = unpack(self.data.next_batch(phase), self.ctx.device)
                terms, (logits, full) = self.step(batch, it, phase)
                for k, v in terms.items():
                    sums[k] += v.detach().mean().float()
                    counts[k] += 1
                done = it + 1
                bar.set_postfix(loss=f"{terms['total'].detach().mean().item():.4f}", phase=phase.value[:5],
                                lr=f"{self.lr_scheduler.get_last_lr()[0]:.2e}", refresh=False)
                bar.update(1)
                if done % report_every == 0 or done == a.iterations:
                    keys = sorted(sums)
                    vec = all_reduce_mean(torch.stack([sums[k] / counts[k] for k in keys]), self.ctx)
                    last = {k: float(v) for k, v in zip(keys, vec)}
                    self.logger.scalars({**last, "lr": self.lr_scheduler.get_last_lr()[0]}, done)
                    sums.clear()
                    counts.clear()
                if done % image_every == 0:
                    self.logger.snapshot(batch, full, logits, done)
                if done % max(a.save_model_interval, 1) == 0 and done != a.iterations:
                    self.save(done)
            if self.args.iterations > self.start_it:
                self.save(a.iterations)
        finally:
            bar.close()
            self.logger.close()
            self.data.close()
        barrier(self.ctx)
        return last


def train(args: argparse.Namespace) -> dict[str, float]:
    """Run the whole training described by ``args`` in this process (under torchrun: this rank)."""
    ctx = init_distributed(args.device)
    try:
        return Trainer(args, ctx).run()
    finally:
        shutdown()
