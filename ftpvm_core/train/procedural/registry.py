"""Named shot families and the held-out split.

Every generator of the procedural source is a :class:`Family` registered under a kind (``background``,
``foreground``, ``trimap``) and a name, so whole families can be held out of training by name. The held-out names
are listed once (:data:`family.HELD_OUT`, re-exported here); :func:`training_families` is the only way the training source chooses
families, and it never returns a held-out one.
"""
from __future__ import annotations

import warnings

from ftpvm_core.train.procedural import backgrounds, foregrounds, trimaps  # noqa: F401  (importing registers them)
from ftpvm_core.train.procedural.family import _FAMILIES, HELD_OUT, KINDS, Family, register  # noqa: F401


def families(kind: str) -> dict[str, Family]:
    """All registered families of ``kind``, by name (sorted)."""
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
