"""Data for each phase: datasets built from the flags, a resumable distributed batch sampler, and loaders."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Iterator

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from ftpvm_core.train.ddp import DistContext
from ftpvm_core.train.schedule import Phase


class ClipBatchSampler(Sampler[list[int]]):
    """Endless, resumable, distributed batches of sample keys.

    The run walks one stream: epoch ``e`` is a permutation of the ``n`` items seeded by ``(seed, e)``. Global batch
    ``j`` is stream positions ``[j*B, (j+1)*B)``; process ``r`` of ``N`` takes its contiguous share of ``B/N``.
    A key is ``epoch * n + item`` so datasets can draw per-sample randomness from it. Starting at ``start_batch``
    skips what a resumed run has already consumed, without loading it.
    """

    def __init__(self, num_items: int, global_batch: int, rank: int = 0, world_size: int = 1, seed: int = 0,
                 start_batch: int = 0):
        if num_items < 1:
            raise ValueError("cannot sample from an empty dataset")
        if global_batch % world_size:
            raise ValueError(f"batch size {global_batch} is not divisible by the {world_size} processes")
        self.n, self.batch, self.rank, self.world = num_items, global_batch, rank, world_size
        self.seed, self.start_batch = seed, start_batch
        self._perm_epoch, self._perm = -1, torch.empty(0, dtype=torch.long)

    def _key(self, position: int) -> int:
        epoch, i = divmod(position, self.n)
        if epoch != self._perm_epoch:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._perm, self._perm_epoch = torch.randperm(self.n, generator=g), epoch
        return epoch * self.n + int(self._perm[i])

    def batch_keys(self, j: int) -> list[int]:
        """This process's keys of global batch ``j``."""
        per = self.batch // self.world
        first = j * self.batch + self.rank * per
        return [self._key(p) for p in range(first, first + per)]

    def __iter__(self) -> Iterator[list[int]]:
        j = self.start_batch
        while True:
            yield self.batch_keys(j)
            j += 1


def build_datasets(args: argparse.Namespace, phases: set[Phase]) -> dict[Phase, tuple[Dataset, int]]:
    """The dataset and global batch size of each phase in ``phases`` (layout errors surface here, at start)."""
    out: dict[Phase, tuple[Dataset, int]] = {}
    seg_size = min(352, args.size)
    if args.dataset in ("synthetic", "procedural"):
        if args.dataset == "synthetic":
            from ftpvm_core.train.datasets.synthetic import SyntheticMatteDataset, SyntheticSegmentationDataset
        else:
            from ftpvm_core.train.datasets.procedural import ProceduralMatteDataset as SyntheticMatteDataset
            from ftpvm_core.train.datasets.procedural import \
                ProceduralSegmentationDataset as SyntheticSegmentationDataset

        if Phase.IMAGE_MATTING in phases:
            out[Phase.IMAGE_MATTING] = (SyntheticMatteDataset(args.size, args.seq_len_image_matte, args.seed,
                                                              still=True), args.batch_size_image_matte)
        if Phase.VIDEO_MATTING in phases:
            out[Phase.VIDEO_MATTING] = (SyntheticMatteDataset(args.size, args.seq_len_video_matte, args.seed),
                                        args.batch_size_video_matte)
        if Phase.SEGMENTATION in phases:
            out[Phase.SEGMENTATION] = (SyntheticSegmentationDataset(seg_size, args.seq_len_seg, args.seed),
                                       args.batch_size_seg)
        return out

    from ftpvm_core.train.datasets.bg20k import BackgroundImages
    from ftpvm_core.train.datasets.d646 import ImageMatteDataset
    from ftpvm_core.train.datasets.vm108 import VideoMatteDataset
    from ftpvm_core.train.datasets.youtubevis import YouTubeVISDataset

    root = Path(args.dataset_root)
    vm108 = root / "VideoMatting108"
    bg_images = BackgroundImages(root / "BG20k" / "BG-20k" / "train") if args.use_background_dataset and (
        Phase.IMAGE_MATTING in phases or Phase.VIDEO_MATTING in phases) else None
    if Phase.IMAGE_MATTING in phases:
        out[Phase.IMAGE_MATTING] = (ImageMatteDataset(root / "Distinctions646" / "Train",
                                                      vm108 / "BG_done", bg_images, args.size,
                                                      args.seq_len_image_matte, args.seed),
                                    args.batch_size_image_matte)
    if Phase.VIDEO_MATTING in phases:
        out[Phase.VIDEO_MATTING] = (VideoMatteDataset(vm108, bg_images, args.size, args.seq_len_video_matte,
                                                      args.seed), args.batch_size_video_matte)
    if Phase.SEGMENTATION in phases:
        out[Phase.SEGMENTATION] = (YouTubeVISDataset(root / "YoutubeVIS" / "train", seg_size, args.seq_len_seg,
                                                     args.seed), args.batch_size_seg)
    return out


class TrainingData:
    """One loader per phase, created on first use; counts the global batches each phase has consumed."""

    def __init__(self, datasets: dict[Phase, tuple[Dataset, int]], ctx: DistContext, num_workers: int, seed: int,
                 consumed: dict[str, int] | None = None):
        self.datasets, self.ctx, self.num_workers, self.seed = datasets, ctx, num_workers, seed
        self.consumed = {p.value: 0 for p in datasets}
        self.consumed.update({k: v for k, v in (consumed or {}).items() if k in self.consumed})
        self._iters: dict[Phase, Iterator] = {}

    def loader(self, phase: Phase, start_batch: int = 0) -> DataLoader:
        dataset, batch = self.datasets[phase]
        sampler = ClipBatchSampler(len(dataset), batch, self.ctx.rank, self.ctx.world_size,
                                   self.seed + list(Phase).index(phase), start_batch)
        return DataLoader(dataset, batch_sampler=sampler, num_workers=self.num_workers,
                          pin_memory=self.ctx.device.type == "cuda",
                          prefetch_factor=2 if self.num_workers else None)

    def next_batch(self, phase: Phase) -> dict[str, torch.Tensor]:
        if phase not in self.datasets:
            raise RuntimeError(f"no dataset was opened for phase {phase.value}")
        if phase not in self._iters:
            self._iters[phase] = iter(self.loader(phase, self.consumed[phase.value]))
        batch = next(self._iters[phase])
        self.consumed[phase.value] += 1
        return batch

    def state(self) -> dict[str, int]:
        return dict(self.consumed)

    def close(self) -> None:
        self._iters.clear()
