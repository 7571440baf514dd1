"""The shot engine: persistent per-shot memory bank, recurrent state and cache over the FTP-VM network.

See docs/engine-api.md for the public surface and docs/engine.md for the policies.
"""
from ftpvm_core.engine.engine import Engine, validate_shot_id
from ftpvm_core.engine.images import decode_image, write_pass
from ftpvm_core.engine.settings import (PASSES, REQUEST_SCHEMA, SETTINGS_SCHEMA, ShotSettings,
                                        settings_schema)
from ftpvm_core.engine.matting import FrameResult
from ftpvm_core.engine.shot import KeyframeInfo, Shot
from ftpvm_core.errors import (Cancelled, EngineError, IndexDamaged, InvalidInput, NoKeyframe, ShotConflict,
                               ShotDamaged, ShotNotFound, StateError, StateLost)

__all__ = [
    "Engine", "Shot", "decode_image", "write_pass", "FrameResult", "KeyframeInfo", "ShotSettings", "SETTINGS_SCHEMA",
    "REQUEST_SCHEMA", "PASSES", "settings_schema", "validate_shot_id", "EngineError", "InvalidInput",
    "ShotNotFound", "NoKeyframe", "ShotConflict", "Cancelled", "StateError", "ShotDamaged", "IndexDamaged",
    "StateLost",
]
