"""The shot engine: persistent per-shot memory bank, recurrent state and cache over the FTP-VM network.

See docs/engine-api.md for the public surface and docs/engine.md for the policies.
"""
from ftpvm_core.engine.engine import Engine, validate_shot_id
from ftpvm_core.engine.settings import (PASSES, REQUEST_SCHEMA, SETTINGS_SCHEMA, SettingField, ShotSettings,
                                        settings_schema)
from ftpvm_core.engine.matting import FrameResult
from ftpvm_core.engine.shot import KeyframeInfo, Shot
from ftpvm_core.errors import (Cancelled, EngineError, InvalidInput, NoKeyframe, ShotConflict, ShotNotFound,
                               StateError)

__all__ = [
    "Engine", "Shot", "FrameResult", "KeyframeInfo", "ShotSettings", "SettingField", "SETTINGS_SCHEMA",
    "REQUEST_SCHEMA", "PASSES", "settings_schema", "validate_shot_id", "EngineError", "InvalidInput",
    "ShotNotFound", "NoKeyframe", "ShotConflict", "Cancelled", "StateError",
]
