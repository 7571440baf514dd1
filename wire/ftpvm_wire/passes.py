"""Result passes: their names, wire enums, channel counts and the channel names of result EXRs."""
from __future__ import annotations

from typing import Dict, Tuple

from .protocol import pb

#: Pass names in the order results carry them.
PASS_ORDER: Tuple[str, ...] = ("alpha", "foreground", "trimap", "boundary")

#: Pass name -> (wire enum, channel count).
PASSES: Dict[str, Tuple[int, int]] = {
    "alpha": (pb.PASS_ALPHA, 1),
    "foreground": (pb.PASS_FOREGROUND, 3),
    "trimap": (pb.PASS_TRIMAP, 1),
    "boundary": (pb.PASS_BOUNDARY, 1),
}

#: Wire enum -> pass name.
PASS_NAMES: Dict[int, str] = {enum: name for name, (enum, _) in PASSES.items()}

#: Pass name -> channel names in a result EXR of that pass (the server writes these in path mode;
#: the Nuke node writes and reads the same).
EXR_CHANNELS: Dict[str, Tuple[str, ...]] = {
    "alpha": ("A",),
    "foreground": ("R", "G", "B"),
    "trimap": ("Y",),
    "boundary": ("Y",),
}
