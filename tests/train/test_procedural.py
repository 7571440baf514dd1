"""The wide procedural source: every named family makes valid, deterministic shots, and held-out families never
reach training."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ftpvm_core.train.procedural import registry
from ftpvm_core.train.procedural.shot import ShotRecipe, choose_recipe, make_procedural_shot

H, W, T = 48, 64, 3


def _shot(seed: int, recipe: ShotRecipe):
    return make_procedural_shot(seed, H, W, T, recipe, texture_families=("perlin", "checker"))


def _assert_valid(shot) -> None:
    assert shot.plates_srgb.shape == (T, H, W, 3) and shot.alpha.shape == (T, H, W)
    assert shot.plates_srgb.dtype == np.float32 and np.isfinite(shot.plates_srgb).all()
    assert shot.plates_srgb.min() >= 0 and shot.plates_srgb.max() <= 1
    assert shot.alpha.min() >= 0 and shot.alpha.max() <= 1
    assert set(np.unique(shot.trimaps)) <= {0.0, 0.5, 1.0}


@pytest.mark.parametrize("name", list(registry.families("foreground")))
def test_every_foreground_family_makes_a_valid_soft_deterministic_shot(name):
    recipe = ShotRecipe("gradient", (name,), "band")
    a, b = _shot(3, recipe), _shot(3, recipe)
    _assert_valid(a)
    assert np.array_equal(a.plates_srgb, b.plates_srgb) and np.array_equal(a.alpha, b.alpha)
    assert not np.array_equal(a.alpha, _shot(4, recipe).alpha)
    key = a.alpha[0]
    assert key.max() > 0.9, "the keyframe must show the object"
    soft = (key > 0.02) & (key < 0.98)
    assert soft.any(), "edges must be soft (anti-aliased), not binary"
    assert (a.trimaps[0] == 0.5).any()


@pytest.mark.parametrize("name", [n for n, f in registry.families("background").items() if f.available()])
def test_every_background_family_is_a_deterministic_varied_texture(name):
    fam = registry.get("background", name)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32) / H
    tex_a, tex_b = fam.make(np.random.default_rng(5)), fam.make(np.random.default_rng(5))
    img = tex_a(xx, yy)
    assert img.shape == (H, W, 3) and np.isfinite(img).all() and img.min() >= 0
    assert np.array_equal(img, tex_b(xx, yy))
    assert img.std() > 1e-3, "a texture must not be flat"
    assert not np.array_equal(img, tex_a(xx + 0.37, yy + 0.11)), "panning must change the view"
    shot = _shot(6, ShotRecipe(name, ("blob",), "roto"))
    _assert_valid(shot)


@pytest.mark.parametrize("name", list(registry.families("trimap")))
def test_every_trimap_family_marks_the_edge_unknown(name):
    shot = _shot(7, ShotRecipe("perlin", ("blob",), name))
    edge = (shot.alpha > 0.1) & (shot.alpha < 0.9)
    assert (shot.trimaps[edge] == 0.5).mean() > 0.9
    assert (shot.trimaps[shot.alpha == 0] != 1.0).all()


def test_held_out_families_are_registered_and_never_offered_for_training():
    for kind, names in registry.HELD_OUT.items():
        known = registry.families(kind)
        for n in names:
            assert n in known
        assert not set(names) & set(registry.training_families(kind))
    assert registry.HELD_OUT["background"] and registry.HELD_OUT["foreground"]
    rng = np.random.default_rng(0)
    for _ in range(300):
        r = choose_recipe(rng)
        assert r.background not in registry.HELD_OUT["background"]
        assert not set(r.foregrounds) & set(registry.HELD_OUT["foreground"])


def test_training_source_never_builds_a_held_out_family(monkeypatch):
    from ftpvm_core.train.datasets.procedural import ProceduralMatteDataset

    used: list[tuple[str, str]] = []
    real_get = registry.get

    def spy(kind, name):
        used.append((kind, name))
        return real_get(kind, name)

    monkeypatch.setattr(registry, "get", spy)
    ds = ProceduralMatteDataset(32, 3, seed=11)
    for key in range(60):
        ds[key]
    assert used
    held = {(k, n) for k, names in registry.HELD_OUT.items() for n in names}
    assert not held & set(used), sorted(held & set(used))
    kinds = {k for k, _ in used}
    assert kinds == {"background", "foreground", "trimap"}


def test_dataset_samples_are_deterministic_and_well_formed():
    from ftpvm_core.train.datasets.procedural import ProceduralMatteDataset, ProceduralSegmentationDataset

    ds = ProceduralMatteDataset(32, 4, seed=3)
    a, b = ds[5], ds[5]
    assert a["rgb"].shape == (4, 3, 32, 32) and a["gt"].shape == (4, 1, 32, 32) and a["trimap"].shape == (4, 1, 32, 32)
    for k in a:
        assert torch.equal(a[k], b[k])
    assert set(torch.unique(a["trimap"]).tolist()) <= {0, 1, 2}
    assert not torch.equal(ds[6]["rgb"], a["rgb"])
    seg = ProceduralSegmentationDataset(32, 3, seed=3)[0]
    assert set(torch.unique(seg["gt"].float()).tolist()) <= {0.0, 1.0}


def test_photographs_are_skipped_loudly_without_the_training_extra(monkeypatch):
    from ftpvm_core.train.procedural import photos

    monkeypatch.setattr(photos, "available_photos", lambda: ())
    monkeypatch.setattr(registry, "_warned", set())
    with pytest.warns(UserWarning, match="photo.*unavailable.*ftpvm\\[train\\]"):
        names = registry.training_families("background")
    assert "photo" not in names and len(names) >= 6
    with pytest.raises(RuntimeError, match="train"):
        registry.get("background", "photo").make(np.random.default_rng(0))


def test_photo_licences_are_recorded():
    from ftpvm_core.train.procedural import photos

    for p in photos.PHOTOS:
        assert p.licence and p.title and p.package in ("skimage", "sklearn")


def test_evaluation_families_hold_out_what_the_registry_holds_out():
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    import make_demo_eval_set as evalset

    for fam in evalset.HELD_OUT_FAMILIES:
        bgs, fgs, _ = evalset.FAMILIES[fam]
        assert set(bgs) <= set(registry.HELD_OUT["background"]) or set(fgs) <= set(registry.HELD_OUT["foreground"])
    assert {"bg_voronoi", "bg_fabric", "fg_ellipse_arm", "fg_letters", "issue_acescg"} <= set(evalset.HELD_OUT_FAMILIES)
