"""Command-line flags of the trainer.

The flags of the original FTP-VM ``train.py`` keep their names, meanings and defaults, so the two published
training commands run unchanged; options that are new here are listed under "additions" in ``--help``.
"""
from __future__ import annotations

import argparse
from typing import Sequence

#: Loss variants of the segmentation-consistency term (``--tvloss_type``).
TVLOSS_TYPES = (
    "disabled", "2dtv", "3dtv", "2dtv+temp_seg", "temp_seg", "temp_seg_allclass", "temp_seg_allclass_mean",
    "temp_seg_allclass_weight", "temp_seg_allclass_weight_0.33", "temp_seg_allclass_weight_0.8",
    "temp_seg_allclass_weight_l2", "3d_seg", "3d_seg_allclass", "3d_seg_allclass_mean", "3d_seg_allclass_weight",
)
#: Classification losses of the trimap head (``--celoss_type``).
CELOSS_TYPES = ("focal", "normal", "normal_weight", "focal_weight", "focal_gamma1", "focal_gamma5", "focal_gamma0.5")
#: Matting data sources (``--dataset``).
MATTING_SOURCES = ("original", "synthetic", "procedural")


class OneLineErrorParser(argparse.ArgumentParser):
    """Reports a usage error as one line (``prog: error: ...``, see ``--help``) and exits with status 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``ftpvm-train``."""
    p = OneLineErrorParser(
        prog="ftpvm-train",
        description="Train FTP-VM with the original recipe: image matting (Distinctions646) until "
        "--iter_switch_dataset, then video matting (VideoMatting108), with segmentation windows on "
        "YouTubeVIS 2019. Run under torchrun for several processes.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    g = p.add_argument_group("experiment")
    g.add_argument("--id", default="NULL", help="experiment id; checkpoints go to <save_root>/<id>/ "
                   "(NULL disables TensorBoard logging)")
    g.add_argument("--which_model", default="FTPVM", help="network from the registry (name or name=variant)")
    g.add_argument("--benchmark", action="store_true", help="enable torch.backends.cudnn.benchmark")
    g.add_argument("--num_worker", type=int, default=16, help="data-loader worker processes per training process")
    g.add_argument("--debug", action="store_true", help="report and save images every iteration")

    g = p.add_argument_group("schedule")
    g.add_argument("--lr", type=float, default=1e-4, help="initial learning rate (Adam)")
    g.add_argument("-i", "--iterations", type=int, default=None, required=True, help="total training iterations")
    g.add_argument("--iter_switch_dataset", type=int, default=5,
                   help="iteration at which image matting (D646) switches to video matting (VM108)")
    g.add_argument("--seg_start", type=int, default=0, help="first iteration of segmentation training")
    g.add_argument("--seg_iter", type=int, default=10000, help="length of each segmentation window")
    g.add_argument("--seg_cd", type=int, default=20000, help="matting iterations between segmentation windows")
    g.add_argument("--seg_stop", type=int, default=80000, help="no segmentation training from this iteration "
                   "on (-1 disables it)")

    g = p.add_argument_group("data")
    g.add_argument("--size", type=int, default=256, help="training crop size in pixels (segmentation uses "
                   "min(352, size))")
    g.add_argument("--use_background_dataset", "--use_background_video", dest="use_background_dataset",
                   action="store_true", help="also composite over BG-20k images (20%% of clips)")
    g.add_argument("-b_seg", "--batch_size_seg", type=int, default=8, help="batch size of video segmentation")
    g.add_argument("-b_img_mat", "--batch_size_image_matte", type=int, default=10,
                   help="batch size of image matting")
    g.add_argument("-b_vid_mat", "--batch_size_video_matte", type=int, default=4,
                   help="batch size of video matting")
    g.add_argument("-s_seg", "--seq_len_seg", type=int, default=8, help="clip length of video segmentation")
    g.add_argument("-s_img_mat", "--seq_len_image_matte", type=int, default=10, help="clip length of image matting")
    g.add_argument("-s_vid_mat", "--seq_len_video_matte", type=int, default=4, help="clip length of video matting")

    g = p.add_argument_group("losses")
    g.add_argument("--tvloss_type", default="3d_seg", choices=TVLOSS_TYPES, metavar="TYPE",
                   help="segmentation-consistency loss variant: " + ", ".join(TVLOSS_TYPES))
    g.add_argument("--celoss_type", default="focal", choices=CELOSS_TYPES, metavar="TYPE",
                   help="trimap classification loss: " + ", ".join(CELOSS_TYPES))
    g.add_argument("--lambda_segtv", type=float, default=10.0, help="weight of the segmentation-consistency loss")
    g.add_argument("--start_segtv", type=int, default=-1, help="first iteration of the segmentation-consistency loss")
    g.add_argument("--lambda_tc", type=float, default=5.0, help="weight of the temporal-coherence loss")

    g = p.add_argument_group("loading and logging")
    g.add_argument("--load_network", default=None, help="network-only weights to start from")
    g.add_argument("--load_model", default=None, help="full checkpoint (network, optimizer, iteration) to resume")
    g.add_argument("--resume", action="store_true", help="resume from <save_root>/<id>/<id>_checkpoint.pth")
    g.add_argument("--report_interval", type=int, default=100, help="iterations between scalar logs")
    g.add_argument("--save_im_interval", type=int, default=800, help="iterations between image logs")
    g.add_argument("--save_model_interval", type=int, default=20000, help="iterations between checkpoints")

    g = p.add_argument_group("additions (not in the original)")
    g.add_argument("--dataset-root", "--dataset_root", dest="dataset_root", default="../dataset",
                   help="folder holding Distinctions646/, VideoMatting108/, BG20k/, YoutubeVIS/")
    g.add_argument("--dataset", default="original", choices=MATTING_SOURCES,
                   help="matting source: the original datasets; 'synthetic': the demo generator's shots "
                   "(ftpvm_core.synthetic); 'procedural': the wide procedural source of named families, held-out "
                   "families excluded (ftpvm_core.train.procedural). The last two need no folders and also feed "
                   "the segmentation windows")
    g.add_argument("--save_root", default="saves", help="folder of experiment folders")
    g.add_argument("--backbone_weights", default=None, help="local ImageNet MobileNetV3 weights for a fresh "
                   "network (never downloaded)")
    g.add_argument("--seed", type=int, default=14159265, help="seed of sampling, augmentation and initialisation")
    g.add_argument("--warmup", type=int, default=5000, help="linear learning-rate warm-up iterations")
    g.add_argument("--lambda_grad", type=float, default=0.0, help="weight of an alpha-gradient L1 loss (0: off, "
                   "as the original)")
    g.add_argument("--lambda_readout", type=float, default=0.0, help="weight of a memory read-out loss: the "
                   "keyframe trimap read through the memory affinity must match each query frame's trimap, which "
                   "teaches the keys to match by appearance, not position (0: off, as the original)")
    g.add_argument("--freeze_bn", action="store_true", help="keep batch-norm layers in eval mode (small batches; "
                   "makes 1- and N-process CPU runs agree)")
    g.add_argument("--no_amp", action="store_true", help="disable mixed precision on GPU")
    g.add_argument("--device", default="auto", help="auto, cpu or cuda")
    return p


def parse_flags(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse and check the flags; errors exit with one line through argparse."""
    parser = build_parser()
    args = parser.parse_args(argv)
    for name in ("seq_len_seg", "seq_len_image_matte", "seq_len_video_matte"):
        if getattr(args, name) < 2:
            parser.error(f"--{name} must be at least 2 (a clip needs a memory frame and a neighbour)")
    for name in ("batch_size_seg", "batch_size_image_matte", "batch_size_video_matte", "size", "iterations"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be positive")
    if args.size % 32:
        parser.error(f"--size must be a multiple of 32 (the network's stride), got {args.size}")
    if args.num_worker < 0:
        parser.error("--num_worker must be >= 0")
    return args
