"""The input hash that keys the caches: its rule, its independence from threads, and a hash made ahead."""
from __future__ import annotations

import hashlib

import numpy as np

from ftpvm_core.engine import chain
from ftpvm_core.engine.chain import HASH_CHUNK, image_hash
from ftpvm_core.engine.shot import ENGINE_ALGORITHM

from shot_helpers import LINEAR, H, W, frames_of


def _reference(image: np.ndarray) -> str:
    """The documented rule, written out: SHA-256 of the shape and of each chunk's SHA-256."""
    data = np.ascontiguousarray(image, dtype=np.float32).tobytes()
    h = hashlib.sha256(f"{image.shape}\0".encode())
    for i in range(0, len(data), HASH_CHUNK):
        h.update(hashlib.sha256(data[i:i + HASH_CHUNK]).digest())
    return h.hexdigest()[:24]


def test_the_hash_is_sha256_over_chunks_whatever_the_threads(monkeypatch):
    big = np.random.default_rng(0).random((700, 900, 3), dtype=np.float32)  # 7.2 MiB: two chunks
    small = big[:20, :30]
    assert image_hash(big) == _reference(big) and image_hash(small) == _reference(small)
    monkeypatch.setattr(chain, "_HASH_THREADS", 1)
    assert image_hash(big) == _reference(big)
    changed = big.copy()
    changed[-1, -1, -1] += 1e-3  # in the last chunk
    assert image_hash(changed) != image_hash(big)
    assert image_hash(np.asfortranarray(big)) == image_hash(big)  # the values, not the layout
    assert image_hash(big[:, :, ::-1]) != image_hash(big)
    assert ENGINE_ALGORITHM >= 4  # the keys changed rule, so the caches of the SHA-1 keys are not reused


def test_a_hash_made_ahead_is_the_frames_key(make_engine, small_shot):
    engine = make_engine()
    shot = engine.open_shot("ahead", W, H, LINEAR)
    shot.set_keyframe(0, small_shot.plates_linear[0], trimap=small_shot.trimaps[0])
    (frame, plate), = frames_of(small_shot, [1])
    ahead = image_hash(plate)
    first = list(shot.matte([(frame, plate, ahead)]))
    assert shot._chain.entry(1)["input"] == ahead and not first[0].from_cache
    again = list(shot.matte([(frame, plate)]))  # hashed by the engine: the same key, so the cached result
    assert again[0].from_cache
    np.testing.assert_array_equal(first[0].alpha, again[0].alpha)
