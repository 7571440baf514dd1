"""Result passes: their names, channel counts and the channel names of result EXRs (no protobuf here; the
wire enums of the passes are in ``protocol``)."""
from __future__ import annotations

from typing import Dict, Tuple

#: Pass names in the order results carry them.
PASS_ORDER: Tuple[str, ...] = ("alpha", "foreground", "trimap", "boundary")

#: Pass name -> channels per pixel.
PASS_CHANNELS: Dict[str, int] = {"alpha": 1, "foreground": 3, "trimap": 1, "boundary": 1}

#: Pass name -> channel names in a result EXR of that pass (the server writes these in path mode; the Nuke node
#: writes and reads the same).
EXR_CHANNELS: Dict[str, Tuple[str, ...]] = {
    "alpha": ("A",),
    "foreground": ("R", "G", "B"),
    "trimap": ("Y",),
    "boundary": ("Y",),
}
