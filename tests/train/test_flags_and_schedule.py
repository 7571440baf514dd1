"""The original's flags and schedule."""
from __future__ import annotations

import math
import subprocess

import pytest

from train_trees import PYTHON, REPO, subprocess_env

from ftpvm_core.train.flags import parse_flags
from ftpvm_core.train.schedule import Phase, Schedule, learning_rate_factor

# the two published commands of the original README, verbatim
MAIN_COMMAND = """--id FTPVM --which_model FTPVM --num_worker 12 --benchmark --lr 0.0001 -i 120000
--iter_switch_dataset 30000 --use_background_dataset -b_seg 8 -b_img_mat 10 -b_vid_mat 4
-s_seg 8 -s_img_mat 4 -s_vid_mat 8 --seg_cd 20000 --seg_iter 10000 --seg_start 0 --seg_stop 100000
--size 480 --tvloss_type temp_seg_allclass_weight""".split()
VM108_ONLY_COMMAND = """--id FTPVM_VM108_only --which_model FTPVM --num_worker 12 --benchmark --lr 0.0001 -i 120000
--iter_switch_dataset 0 -b_vid_mat 4 -s_vid_mat 8 --seg_stop -1 --size 480
--tvloss_type temp_seg_allclass_weight""".split()


def test_main_command_parses_with_the_original_meaning():
    a = parse_flags(MAIN_COMMAND)
    assert (a.id, a.which_model, a.num_worker, a.benchmark, a.lr, a.iterations) == ("FTPVM", "FTPVM", 12, True, 1e-4,
                                                                                      120000)
    assert (a.batch_size_seg, a.batch_size_image_matte, a.batch_size_video_matte) == (8, 10, 4)
    assert (a.seq_len_seg, a.seq_len_image_matte, a.seq_len_video_matte) == (8, 4, 8)
    assert (a.seg_cd, a.seg_iter, a.seg_start, a.seg_stop, a.size) == (20000, 10000, 0, 100000, 480)
    assert a.use_background_dataset and a.tvloss_type == "temp_seg_allclass_weight"
    # untouched defaults are the original's
    assert (a.celoss_type, a.lambda_segtv, a.start_segtv, a.lambda_tc) == ("focal", 10.0, -1, 5.0)
    assert (a.report_interval, a.save_im_interval, a.save_model_interval) == (100, 800, 20000)
    assert a.dataset_root == "../dataset" and a.dataset == "original"


def test_vm108_only_command_and_run_sh_spelling():
    a = parse_flags(VM108_ONLY_COMMAND)
    assert (a.iter_switch_dataset, a.seg_stop, a.use_background_dataset) == (0, -1, False)
    assert parse_flags(["-i", "5", "--use_background_video"]).use_background_dataset


@pytest.mark.parametrize("bad", [["-s_vid_mat", "1"], ["--size", "100"], ["--tvloss_type", "nope"], []])
def test_bad_flags_exit_nonzero(bad, capsys):
    with pytest.raises(SystemExit) as e:
        parse_flags((["-i", "3"] if bad else []) + bad)
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ftpvm-train: error: ")


def test_schedule_of_the_main_command():
    s = Schedule(120000, 30000, seg_start=0, seg_iter=10000, seg_cd=20000, seg_stop=100000)
    assert s.phase(0) is Phase.SEGMENTATION and s.phase(9999) is Phase.SEGMENTATION
    assert s.phase(10000) is Phase.IMAGE_MATTING and s.phase(29999) is Phase.IMAGE_MATTING
    assert s.phase(30000) is Phase.SEGMENTATION and s.phase(40000) is Phase.VIDEO_MATTING
    assert s.phase(90000) is Phase.SEGMENTATION and s.phase(100000) is Phase.VIDEO_MATTING
    assert s.phases_used() == set(Phase)
    assert s.phases_used(start=100000) == {Phase.VIDEO_MATTING}


def test_schedule_without_segmentation_and_delayed_start():
    s = Schedule(120000, 0, seg_stop=-1)
    assert all(s.phase(i) is Phase.VIDEO_MATTING for i in (0, 1, 50000))
    assert s.phases_used() == {Phase.VIDEO_MATTING}
    d = Schedule(100, 50, seg_start=10, seg_iter=5, seg_cd=20, seg_stop=60)
    assert [d.phase(i) is Phase.SEGMENTATION for i in (9, 10, 14, 15, 34, 35, 39, 40, 60)] == \
        [False, True, True, False, False, True, True, False, False]


def test_learning_rate_warms_up_then_anneals():
    f = lambda it: learning_rate_factor(it, 120000, 5000, 1e-4)  # noqa: E731
    assert f(0) == 0 and f(2500) == pytest.approx(0.5) and f(5000) == pytest.approx(1.0)
    half = 1e-7 + (1e-4 - 1e-7) * (1 + math.cos(math.pi * 0.5)) / 2
    assert f(5000 + 60000) * 1e-4 == pytest.approx(half)
    assert learning_rate_factor(0, 10, 0, 1e-3) == pytest.approx(1.0)


def test_train_py_alias_shows_the_help():
    run = subprocess.run([PYTHON, "train.py", "--help"], cwd=REPO, env=subprocess_env(), capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0
    assert "--iter_switch_dataset" in run.stdout and "--tvloss_type TYPE" in run.stdout
