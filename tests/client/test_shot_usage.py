"""ShotUsage / PruneShots over a real loopback server (issue 16): what plugins show to tidy a server's shots."""
from __future__ import annotations

import os
import time

import pytest

from ftpvm_client import Client, InvalidArgument, NotFound
from ftpvm_wire.protocol import pb
from server_harness import COLORSPACE, launch


@pytest.fixture(scope="module")
def served(tmp_path_factory, synthetic_checkpoint):
    """A loopback server whose state directory this module can see: (client, state_dir)."""
    tmp = tmp_path_factory.mktemp("usage")
    srv = launch(tmp / "state", synthetic_checkpoint, tmp / "server.log")
    try:
        with Client(srv.address, timeout=60) as client:
            yield client, str(tmp / "state")
    finally:
        assert srv.stop() == 0, srv.log_tail()


def _make(client, sid, data):
    shot = client.open_shot(sid, width=96, height=64, colorspace=COLORSPACE)
    shot.set_keyframe(0, image=data.plates_linear[0], trimap=data.trimaps[0])
    list(shot.matte([(f, data.plates_linear[f]) for f in range(2)], passes=("alpha",)))
    return shot


def test_usage_and_prune_over_the_wire(served, shot_data):
    client, state = served
    for sid in ("usage-old", "usage-new"):
        _make(client, sid, shot_data)
    usage = {u.shot_id: u for u in client.shot_usage()}
    assert {"usage-old", "usage-new"} <= set(usage)
    assert usage["usage-old"].keyframes == {0: "trimap"} and usage["usage-old"].size_bytes > 0
    assert (usage["usage-old"].width, usage["usage-old"].height) == (96, 64)
    then = time.time() - 40 * 86400
    for dirpath, _, files in os.walk(os.path.join(state, "shots", "usage-old")):
        for name in files:
            os.utime(os.path.join(dirpath, name), (then, then))
    named = client.prune_shots(older_than_s=30 * 86400, dry_run=True)
    assert [u.shot_id for u in named] == ["usage-old"]
    assert "usage-old" in {u.shot_id for u in client.shot_usage()}
    removed = client.prune_shots(older_than_s=30 * 86400)
    assert [u.shot_id for u in removed] == ["usage-old"]
    with pytest.raises(NotFound):
        client.get_shot("usage-old")
    assert not os.path.exists(os.path.join(state, "shots", "usage-old"))  # no empty lock folder either
    with pytest.raises(ValueError):
        client.prune_shots()
    with pytest.raises(InvalidArgument, match="older_than_s"):
        client.call(client.stub.PruneShots, pb.PruneShotsRequest())


def test_looking_up_a_missing_shot_leaves_no_folder(served):
    client, state = served
    for _ in range(2):
        with pytest.raises(NotFound):
            client.get_shot("never-made")
        assert client.delete_shot("never-made") is False
    assert not os.path.exists(os.path.join(state, "shots", "never-made"))
