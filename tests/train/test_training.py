"""End-to-end training runs on CPU: each phase learns, resume is exact, DDP on gloo, the published commands."""
from __future__ import annotations

import subprocess

import pytest
import torch

from train_trees import PYTHON, subprocess_env
from test_flags_and_schedule import MAIN_COMMAND, VM108_ONLY_COMMAND
from ftpvm_core.model.synthetic_weights import manifest_of, synthetic_state_dict
from ftpvm_core.train.__main__ import main
from ftpvm_core.train.datasets.common import unpack
from ftpvm_core.train.flags import parse_flags
from ftpvm_core.train.loop import Trainer
from ftpvm_core.train.ddp import DistContext
from ftpvm_core.train.registry import build_model
from ftpvm_core.train.schedule import Phase

TINY = ["--size", "32", "-b_img_mat", "2", "-b_vid_mat", "2", "-b_seg", "2", "-s_img_mat", "2", "-s_vid_mat", "2",
        "-s_seg", "2", "--num_worker", "0", "--warmup", "0"]


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """Synthetic weights of the real network, as a network-only file."""
    path = tmp_path_factory.mktemp("w") / "synthetic.pth"
    torch.save(synthetic_state_dict(manifest_of(build_model("FTPVM").state_dict()), seed=0), path)
    return path


def _first_batch(trainer: Trainer, phase: Phase) -> dict[str, torch.Tensor]:
    """The first two clips of the trainer's dataset for ``phase``, as a CPU batch."""
    dataset, _ = trainer.datasets[phase]
    return unpack(torch.utils.data.default_collate([dataset[0], dataset[1]]), torch.device("cpu"))


def test_each_phase_lowers_the_loss_on_a_fixed_batch(tmp_path, weights):
    args = parse_flags(["-i", "100", "--dataset", "synthetic", "--id", "NULL", "--save_root", str(tmp_path),
                        "--load_network", str(weights), "--lr", "1e-3", "--seg_start", "0", *TINY])
    trainer = Trainer(args, DistContext())
    for phase, it in [(Phase.SEGMENTATION, 0), (Phase.IMAGE_MATTING, 5), (Phase.VIDEO_MATTING, 10)]:
        batch = _first_batch(trainer, phase)
        losses = [trainer.step(batch, it, phase)[0]["total"].mean().item() for _ in range(4)]
        assert losses[-1] < 0.9 * losses[0], (phase, losses)


def test_memory_readout_loss_is_a_term_of_its_own_and_training_lowers_it(tmp_path, weights):
    """--lambda_readout adds the read-out term (the affinity of the model's own memory read) and trains the keys."""
    common = ["-i", "100", "--dataset", "synthetic", "--id", "NULL", "--save_root", str(tmp_path),
              "--load_network", str(weights), "--lr", "1e-3", "--seg_stop", "-1", *TINY]
    plain = Trainer(parse_flags(common), DistContext())
    assert "memory_readout" not in plain.step(_first_batch(plain, Phase.VIDEO_MATTING), 10, Phase.VIDEO_MATTING)[0]
    trainer = Trainer(parse_flags([*common, "--lambda_readout", "2", "--size", "64"]), DistContext())
    batch = _first_batch(trainer, Phase.VIDEO_MATTING)
    readouts = []
    for _ in range(6):
        terms = trainer.step(batch, 10, Phase.VIDEO_MATTING)[0]
        readouts.append(terms["memory_readout"].mean().item())
        others = sum(v for k, v in terms.items() if k not in ("total", "memory_readout"))
        assert torch.allclose(terms["total"], others + terms["memory_readout"])
    assert readouts[-1] < 0.9 * readouts[0], readouts


def test_resume_reproduces_the_next_iteration_exactly(tmp_path, weights):
    common = ["--dataset", "synthetic", "--iter_switch_dataset", "1", "--seg_stop", "-1", "--save_root",
              str(tmp_path), "--load_network", str(weights), "--lr", "1e-3", *TINY]
    assert main(["--id", "first", "-i", "1", *common]) == 0
    assert main(["--id", "resumed", "-i", "2", "--load_model", str(tmp_path / "first" / "first_checkpoint.pth"),
                 *common]) == 0
    assert main(["--id", "straight", "-i", "2", *common, "--num_worker", "1"]) == 0
    resumed = torch.load(tmp_path / "resumed" / "resumed_2.pth")
    straight = torch.load(tmp_path / "straight" / "straight_2.pth")
    first = torch.load(tmp_path / "first" / "first_1.pth")
    assert all(torch.equal(resumed[k], straight[k]) for k in straight)
    assert not all(torch.equal(first[k], straight[k]) for k in straight), "the second iteration changed nothing"
    ckpt = torch.load(tmp_path / "straight" / "straight_checkpoint.pth", weights_only=False)
    assert ckpt["it"] == 2 and ckpt["data"] == {"image_matting": 1, "video_matting": 1}
    # --resume finds the experiment's checkpoint; network-only files load with the library's loader
    assert main(["--id", "straight", "-i", "2", "--resume", *common]) == 0
    # a checkpoint in the original's format (it, network, optimizer, scheduler) continues the same way
    mine = torch.load(tmp_path / "first" / "first_checkpoint.pth", weights_only=False)
    theirs = {"it": mine["it"], "network": {"module." + k: v for k, v in mine["network"].items()},
              "optimizer": mine["optimizer"], "scheduler": {"last_epoch": 1}, "seg_count": 0, "seg_iter": 0}
    torch.save(theirs, tmp_path / "original_style.pth")
    assert main(["--id", "from_original", "-i", "2", "--load_model", str(tmp_path / "original_style.pth"),
                 *common]) == 0
    from_original = torch.load(tmp_path / "from_original" / "from_original_2.pth")
    assert all(torch.equal(from_original[k], straight[k]) for k in straight)
    import ftpvm_core

    net = ftpvm_core.load_model(tmp_path / "straight" / "straight_2.pth", device="cpu")
    assert torch.equal(net.state_dict()[next(iter(straight))], next(iter(straight.values())))


def test_two_process_gloo_ddp_matches_one_process(tmp_path, weights):
    common = ["--dataset", "synthetic", "-i", "2", "--iter_switch_dataset", "0", "--seg_stop", "-1", "--freeze_bn",
              "--save_root", str(tmp_path), "--load_network", str(weights), "--lr", "1e-3", *TINY]
    torchrun = [PYTHON, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]  # a free port
    run = subprocess.run([*torchrun, "-m", "ftpvm_core.train", "--id", "two", *common], env=subprocess_env(),
                         cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr[-2000:]
    assert main(["--id", "one", *common]) == 0
    one, two = torch.load(tmp_path / "one" / "one_2.pth"), torch.load(tmp_path / "two" / "two_2.pth")
    start = torch.load(weights)
    diff = torch.cat([(one[k].float() - two[k].float()).abs().flatten() for k in one])
    moved = torch.cat([(one[k].float() - start[k].float()).abs().flatten() for k in one])
    # each Adam step moves most weights by about the learning rate; the runs agree far below that, except for
    # the odd weight whose gradient is ~0, where Adam's normalisation magnifies floating-point order
    assert moved.mean() > 1e-4
    assert diff.mean() < 1e-6 and (diff > 1e-5).float().mean() < 1e-3
    ckpt = torch.load(tmp_path / "two" / "two_checkpoint.pth", weights_only=False)
    assert ckpt["it"] == 2 and ckpt["data"] == {"video_matting": 2}


@pytest.mark.parametrize("command", [MAIN_COMMAND, VM108_ONLY_COMMAND], ids=["main", "vm108_only"])
def test_published_commands_start_on_the_original_layout(command, dataset_root, tmp_path):
    argv = [*command, "--dataset-root", str(dataset_root), "--save_root", str(tmp_path), "-i", "1",
            "--save_im_interval", "1", *TINY]
    assert main(argv) == 0
    exp = parse_flags(argv).id
    assert (tmp_path / exp / f"{exp}_1.pth").is_file() and (tmp_path / exp / "config.json").is_file()
    assert any((tmp_path / exp).glob("images/*.png")) or (tmp_path / exp / "logs").is_dir()


def test_missing_dataset_is_one_line_and_nonzero(tmp_path, capsys):
    code = main(["-i", "1", "--dataset-root", str(tmp_path / "nowhere"), "--iter_switch_dataset", "0",
                 "--seg_stop", "-1", "--save_root", str(tmp_path), *TINY])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1].startswith("ftpvm-train: error: ") and "VideoMatting108" in err[-1] and "expected layout" in err[-1]
