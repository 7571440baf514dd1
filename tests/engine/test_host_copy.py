"""Passes leave the device without stalling the matte loop: the result cache waits on its writer thread."""
from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from ftpvm_core.engine.caches import ShotCaches
from ftpvm_core.engine.host_copy import HostCopy
from ftpvm_core.engine.store import Store

from shot_helpers import LINEAR, H, W, frames_of


class _SlowCopy(HostCopy):
    """A host copy whose transfer finishes only when the test says so (as a GPU copy still in flight)."""

    def __init__(self, arrays):
        super().__init__(tuple(torch.from_numpy(a) for a in arrays))
        self.landed = threading.Event()
        self.waited_on: list[str] = []

    def arrays(self):
        self.waited_on.append(threading.current_thread().name)
        assert self.landed.wait(30), "the copy never landed"
        return super().arrays()


def test_the_result_cache_waits_for_a_copy_in_flight_on_its_writer_not_the_caller(tmp_path):
    store = Store(tmp_path / "state")
    try:
        caches = ShotCaches(store, store.shot_dir("s"), torch.device("cpu"), 4, 4)
        rng = np.random.default_rng(0)
        arrays = (rng.random((6, 5), dtype=np.float32), np.full((6, 5), 0.5, np.float32),
                  rng.random((6, 5), dtype=np.float32).astype(np.float16).astype(np.float32))
        copy = _SlowCopy(arrays)
        caches.save_result("k", copy)  # returns although the copy has not landed (arrays() would block here)
        assert threading.current_thread().name not in copy.waited_on
        copy.landed.set()
        store.flush()
        assert copy.waited_on and threading.current_thread().name not in copy.waited_on
        caches.clear_ram()
        back = caches.load_result("k")  # from disk now
        for a, b in zip(arrays, back):
            np.testing.assert_array_equal(a, b)
    finally:
        store.close()


def test_the_matte_loop_hands_the_cache_a_host_copy_and_keeps_the_passes_on_the_device(make_engine, small_shot,
                                                                                     monkeypatch):
    saved = []
    real = ShotCaches.save_result

    def spy(self, key, passes):
        saved.append(passes)
        return real(self, key, passes)

    monkeypatch.setattr(ShotCaches, "save_result", spy)
    shot = make_engine().open_shot("hc", W, H, LINEAR)
    shot.set_keyframe(0, small_shot.plates_linear[0], trimap=small_shot.trimaps[0])
    results = list(shot.matte(frames_of(small_shot, range(3))))
    assert len(saved) == 3 and all(isinstance(p, HostCopy) for p in saved)
    assert all(not p.pinned and p.ready() for p in saved)  # on the CPU: no pinned buffers, nothing in flight
    for result, copy in zip(results, saved):
        alpha, trimap, boundary = copy.arrays()
        np.testing.assert_array_equal(result.alpha, alpha)
        np.testing.assert_array_equal(result.trimap, trimap)
        np.testing.assert_array_equal(result.boundary, boundary)
        assert np.shares_memory(alpha, copy.device[0].numpy())  # on the CPU the copy is the tensor itself


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_passes_go_to_pinned_memory_without_blocking():
    src = torch.rand(3, 1080, 1920, device="cuda")
    copy = HostCopy(tuple(src))
    assert copy.pinned and all(t.is_pinned() for t in copy._host)
    for got, want in zip(copy.arrays(), src.cpu().numpy()):
        np.testing.assert_array_equal(got, want)
    assert copy.ready()


def _buffers(frames, passes):
    """NaN-filled float32 arrays per frame and pass, as a caller's (e.g. the server's shared-memory slot)."""
    shapes = {"alpha": (H, W), "foreground": (H, W, 3), "trimap": (H, W), "boundary": (H, W)}
    return {f: {p: np.full(shapes[p], np.nan, np.float32) for p in passes} for f in frames}


@pytest.mark.parametrize("colorspace", [LINEAR, "sRGB Encoded Rec.709 (sRGB)"])
@pytest.mark.parametrize("premultiply", [False, True])
def test_passes_land_in_the_callers_arrays_bit_identical(make_engine, small_shot, colorspace, premultiply):
    passes = ("alpha", "foreground", "trimap", "boundary")
    plates = {f: np.clip(small_shot.plates_linear[f], 0, 1) for f in range(3)}
    runs = []
    for n, into in enumerate((None, _buffers(range(3), passes))):
        shot = make_engine().open_shot(f"into{n}", W, H, colorspace)
        shot.set_keyframe(0, plates[0], trimap=small_shot.trimaps[0])
        out = None if into is None else into.__getitem__
        results = []
        for _ in range(2):  # computed, then from the result cache (the cached passes are copied in)
            if into is not None:
                into.update(_buffers(range(3), passes))
            got = list(shot.matte([(f, plates[f]) for f in range(3)], passes=passes, premultiply=premultiply,
                                  out=out))
            if into is not None:  # the results are the caller's arrays, written by the engine
                assert all(getattr(r, p) is into[r.frame][p] for r in got for p in passes)
            results.append(got)
        first, again = results
        assert not any(r.from_cache for r in first) and all(r.from_cache for r in again)
        runs.append(first + again)
    for plain, placed in zip(*runs):
        for p in passes:
            np.testing.assert_array_equal(getattr(plain, p), getattr(placed, p))


def test_a_destination_of_the_wrong_shape_or_type_is_refused(make_engine, small_shot):
    shot = make_engine().open_shot("bad-into", W, H, LINEAR)
    shot.set_keyframe(0, small_shot.plates_linear[0], trimap=small_shot.trimaps[0])
    for bad in (np.zeros((H, W, 1), np.float32), np.zeros((H, W), np.float16)):
        with pytest.raises(ValueError, match="give a writable float32 array of the pass's shape"):
            list(shot.matte(frames_of(small_shot, [0]), passes=("alpha",), out=lambda f: {"alpha": bad}))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_passes_are_copied_from_the_device_into_the_callers_arrays():
    src = torch.rand(2, 1080, 1920, device="cuda")
    dest = np.full((1080, 1920), np.nan, np.float32)
    copy = HostCopy(tuple(src))
    got = copy.arrays((dest, None))
    assert got[0] is dest
    np.testing.assert_array_equal(dest, src[0].cpu().numpy())
    np.testing.assert_array_equal(got[1], src[1].cpu().numpy())
