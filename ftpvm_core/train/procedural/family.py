"""What a shot family is, and how a generator module registers one (a leaf: the generator modules import it)."""
from __future__ import annotations

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
