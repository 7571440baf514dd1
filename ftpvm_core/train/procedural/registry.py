"""Named shot families and the held-out split.

Every generator of the procedural source is a :class:`Family` registered under a kind (``background``,
``foreground``, ``trimap``) and a name, so whole families can be held out of training by name. The held-out names
are listed here once (:data:`HELD_OUT`); :func:`training_families` is the only way the training source chooses
families, and it never returns a held-out one.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable

KINDS = ("background", "foreground", "trimap")

#: Families never used in training (docs/model-card.md): evaluation only.
HELD_OUT: dict[str, tuple[str, ...]] = {
    "background": ("voronoi", "fabric"),
    "foreground": ("ellipse_arm", "letters"),
    "trimap": (),
}


@dataclass(frozen=True)
class Family:
    """A generator: ``make(rng, ...)`` returns a texture, a shape or trimaps (see the kind's module)."""

    kind: str
    name: str
    make: Callable
    description: str
    available: Callable[[], bool] = lambda: True


_FAMILIES: dict[str, dict[str, Family]] = {k: {} for k in KINDS}


def register(kind: str, name: str, description: str, available: Callable[[], bool] | None = None):
    """Decorator registering ``make`` as family ``name`` of ``kind``."""
    if kind not in KINDS:
        raise ValueError(f"unknown family kind {kind!r}; known: {', '.join(KINDS)}")

    def deco(make: Callable) -> Callable:
        if name in _FAMILIES[kind]:
            raise ValueError(f"{kind} family {name!r} is registered twice")
        _FAMILIES[kind][name] = Family(kind, name, make, description, available or (lambda: True))
        return make

    return deco


def _load() -> None:
    from ftpvm_core.train.procedural import backgrounds, foregrounds, trimaps  # noqa: F401  (they register)


def families(kind: str) -> dict[str, Family]:
    """All registered families of ``kind``, by name (sorted)."""
    _load()
    return dict(sorted(_FAMILIES[kind].items()))


def get(kind: str, name: str) -> Family:
    fams = families(kind)
    if name not in fams:
        raise ValueError(f"unknown {kind} family {name!r}; known: {', '.join(fams)}")
    return fams[name]


_warned: set[str] = set()


def training_families(kind: str) -> tuple[str, ...]:
    """Names of the ``kind`` families training may draw: every available family except the held-out ones.
    Unavailable families (e.g. photographs without the ``train`` extra) are skipped with a warning."""
    names = []
    for name, fam in families(kind).items():
        if name in HELD_OUT[kind]:
            continue
        if not fam.available():
            if name not in _warned:
                _warned.add(name)
                warnings.warn(f"procedural {kind} family {name!r} is unavailable and skipped: {fam.description} "
                              "(install the training extra: pip install 'ftpvm[train]')", stacklevel=2)
            continue
        names.append(name)
    return tuple(names)
