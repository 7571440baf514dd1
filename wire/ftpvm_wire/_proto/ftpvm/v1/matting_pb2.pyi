from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Encoding(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENCODING_UNSPECIFIED: _ClassVar[Encoding]
    ENCODING_RAW_F16: _ClassVar[Encoding]
    ENCODING_RAW_F32: _ClassVar[Encoding]
    ENCODING_EXR: _ClassVar[Encoding]
    ENCODING_PATH: _ClassVar[Encoding]
    ENCODING_SHM: _ClassVar[Encoding]

class Pass(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PASS_UNSPECIFIED: _ClassVar[Pass]
    PASS_ALPHA: _ClassVar[Pass]
    PASS_FOREGROUND: _ClassVar[Pass]
    PASS_TRIMAP: _ClassVar[Pass]
    PASS_BOUNDARY: _ClassVar[Pass]
ENCODING_UNSPECIFIED: Encoding
ENCODING_RAW_F16: Encoding
ENCODING_RAW_F32: Encoding
ENCODING_EXR: Encoding
ENCODING_PATH: Encoding
ENCODING_SHM: Encoding
PASS_UNSPECIFIED: Pass
PASS_ALPHA: Pass
PASS_FOREGROUND: Pass
PASS_TRIMAP: Pass
PASS_BOUNDARY: Pass

class ShmRegion(_message.Message):
    __slots__ = ("name", "offset", "size")
    NAME_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    name: str
    offset: int
    size: int
    def __init__(self, name: _Optional[str] = ..., offset: _Optional[int] = ..., size: _Optional[int] = ...) -> None: ...

class ImageHeader(_message.Message):
    __slots__ = ("encoding", "width", "height", "channels", "byte_size", "data", "path", "shm", "shm_encoding")
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    BYTE_SIZE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    SHM_FIELD_NUMBER: _ClassVar[int]
    SHM_ENCODING_FIELD_NUMBER: _ClassVar[int]
    encoding: Encoding
    width: int
    height: int
    channels: int
    byte_size: int
    data: bytes
    path: str
    shm: ShmRegion
    shm_encoding: Encoding
    def __init__(self, encoding: _Optional[_Union[Encoding, str]] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., channels: _Optional[int] = ..., byte_size: _Optional[int] = ..., data: _Optional[bytes] = ..., path: _Optional[str] = ..., shm: _Optional[_Union[ShmRegion, _Mapping]] = ..., shm_encoding: _Optional[_Union[Encoding, str]] = ...) -> None: ...

class Chunk(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    def __init__(self, data: _Optional[bytes] = ...) -> None: ...

class GetInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Limits(_message.Message):
    __slots__ = ("max_width", "max_height", "max_pixels", "max_message_bytes", "chunk_bytes", "max_shots", "max_frames_in_flight", "max_keyframe_band")
    MAX_WIDTH_FIELD_NUMBER: _ClassVar[int]
    MAX_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    MAX_PIXELS_FIELD_NUMBER: _ClassVar[int]
    MAX_MESSAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    CHUNK_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_SHOTS_FIELD_NUMBER: _ClassVar[int]
    MAX_FRAMES_IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    MAX_KEYFRAME_BAND_FIELD_NUMBER: _ClassVar[int]
    max_width: int
    max_height: int
    max_pixels: int
    max_message_bytes: int
    chunk_bytes: int
    max_shots: int
    max_frames_in_flight: int
    max_keyframe_band: int
    def __init__(self, max_width: _Optional[int] = ..., max_height: _Optional[int] = ..., max_pixels: _Optional[int] = ..., max_message_bytes: _Optional[int] = ..., chunk_bytes: _Optional[int] = ..., max_shots: _Optional[int] = ..., max_frames_in_flight: _Optional[int] = ..., max_keyframe_band: _Optional[int] = ...) -> None: ...

class ServerInfo(_message.Message):
    __slots__ = ("server_version", "protocol", "engine_version", "model_fingerprint", "weights_source", "device", "precision", "limits", "passes", "settings_schema_json", "auth_required", "path_mode", "allowed_roots", "colorspaces", "shm")
    SERVER_VERSION_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    ENGINE_VERSION_FIELD_NUMBER: _ClassVar[int]
    MODEL_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_SOURCE_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    PRECISION_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    PASSES_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_SCHEMA_JSON_FIELD_NUMBER: _ClassVar[int]
    AUTH_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    PATH_MODE_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_ROOTS_FIELD_NUMBER: _ClassVar[int]
    COLORSPACES_FIELD_NUMBER: _ClassVar[int]
    SHM_FIELD_NUMBER: _ClassVar[int]
    server_version: str
    protocol: str
    engine_version: str
    model_fingerprint: str
    weights_source: str
    device: str
    precision: str
    limits: Limits
    passes: _containers.RepeatedScalarFieldContainer[str]
    settings_schema_json: str
    auth_required: bool
    path_mode: bool
    allowed_roots: _containers.RepeatedScalarFieldContainer[str]
    colorspaces: _containers.RepeatedScalarFieldContainer[str]
    shm: ShmSupport
    def __init__(self, server_version: _Optional[str] = ..., protocol: _Optional[str] = ..., engine_version: _Optional[str] = ..., model_fingerprint: _Optional[str] = ..., weights_source: _Optional[str] = ..., device: _Optional[str] = ..., precision: _Optional[str] = ..., limits: _Optional[_Union[Limits, _Mapping]] = ..., passes: _Optional[_Iterable[str]] = ..., settings_schema_json: _Optional[str] = ..., auth_required: bool = ..., path_mode: bool = ..., allowed_roots: _Optional[_Iterable[str]] = ..., colorspaces: _Optional[_Iterable[str]] = ..., shm: _Optional[_Union[ShmSupport, _Mapping]] = ...) -> None: ...

class ShmSupport(_message.Message):
    __slots__ = ("enabled", "probe_name", "probe_token")
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    PROBE_NAME_FIELD_NUMBER: _ClassVar[int]
    PROBE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    probe_name: str
    probe_token: bytes
    def __init__(self, enabled: bool = ..., probe_name: _Optional[str] = ..., probe_token: _Optional[bytes] = ...) -> None: ...

class ShotRef(_message.Message):
    __slots__ = ("shot_id",)
    SHOT_ID_FIELD_NUMBER: _ClassVar[int]
    shot_id: str
    def __init__(self, shot_id: _Optional[str] = ...) -> None: ...

class OpenShotRequest(_message.Message):
    __slots__ = ("shot_id", "width", "height", "colorspace", "settings_json", "reset")
    SHOT_ID_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    COLORSPACE_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_JSON_FIELD_NUMBER: _ClassVar[int]
    RESET_FIELD_NUMBER: _ClassVar[int]
    shot_id: str
    width: int
    height: int
    colorspace: str
    settings_json: str
    reset: bool
    def __init__(self, shot_id: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., colorspace: _Optional[str] = ..., settings_json: _Optional[str] = ..., reset: bool = ...) -> None: ...

class ShotCounters(_message.Message):
    __slots__ = ("frames", "cache_hits", "errors", "frames_per_second")
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    CACHE_HITS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    FRAMES_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    frames: int
    cache_hits: int
    errors: int
    frames_per_second: float
    def __init__(self, frames: _Optional[int] = ..., cache_hits: _Optional[int] = ..., errors: _Optional[int] = ..., frames_per_second: _Optional[float] = ...) -> None: ...

class Shot(_message.Message):
    __slots__ = ("shot_id", "width", "height", "colorspace", "settings_json", "keyframes", "cached_frames", "counters", "damaged")
    SHOT_ID_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    COLORSPACE_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_JSON_FIELD_NUMBER: _ClassVar[int]
    KEYFRAMES_FIELD_NUMBER: _ClassVar[int]
    CACHED_FRAMES_FIELD_NUMBER: _ClassVar[int]
    COUNTERS_FIELD_NUMBER: _ClassVar[int]
    DAMAGED_FIELD_NUMBER: _ClassVar[int]
    shot_id: str
    width: int
    height: int
    colorspace: str
    settings_json: str
    keyframes: _containers.RepeatedScalarFieldContainer[int]
    cached_frames: int
    counters: ShotCounters
    damaged: str
    def __init__(self, shot_id: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., colorspace: _Optional[str] = ..., settings_json: _Optional[str] = ..., keyframes: _Optional[_Iterable[int]] = ..., cached_frames: _Optional[int] = ..., counters: _Optional[_Union[ShotCounters, _Mapping]] = ..., damaged: _Optional[str] = ...) -> None: ...

class ListShotsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListShotsResponse(_message.Message):
    __slots__ = ("shots",)
    SHOTS_FIELD_NUMBER: _ClassVar[int]
    shots: _containers.RepeatedCompositeFieldContainer[Shot]
    def __init__(self, shots: _Optional[_Iterable[_Union[Shot, _Mapping]]] = ...) -> None: ...

class DeleteShotResponse(_message.Message):
    __slots__ = ("deleted",)
    DELETED_FIELD_NUMBER: _ClassVar[int]
    deleted: bool
    def __init__(self, deleted: bool = ...) -> None: ...

class KeyframeStart(_message.Message):
    __slots__ = ("shot_id", "frame", "image", "trimap", "outer", "band", "inner")
    SHOT_ID_FIELD_NUMBER: _ClassVar[int]
    FRAME_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    TRIMAP_FIELD_NUMBER: _ClassVar[int]
    OUTER_FIELD_NUMBER: _ClassVar[int]
    BAND_FIELD_NUMBER: _ClassVar[int]
    INNER_FIELD_NUMBER: _ClassVar[int]
    shot_id: str
    frame: int
    image: ImageHeader
    trimap: ImageHeader
    outer: ImageHeader
    band: int
    inner: ImageHeader
    def __init__(self, shot_id: _Optional[str] = ..., frame: _Optional[int] = ..., image: _Optional[_Union[ImageHeader, _Mapping]] = ..., trimap: _Optional[_Union[ImageHeader, _Mapping]] = ..., outer: _Optional[_Union[ImageHeader, _Mapping]] = ..., band: _Optional[int] = ..., inner: _Optional[_Union[ImageHeader, _Mapping]] = ...) -> None: ...

class SetKeyframeRequest(_message.Message):
    __slots__ = ("start", "chunk")
    START_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    start: KeyframeStart
    chunk: Chunk
    def __init__(self, start: _Optional[_Union[KeyframeStart, _Mapping]] = ..., chunk: _Optional[_Union[Chunk, _Mapping]] = ...) -> None: ...

class Keyframe(_message.Message):
    __slots__ = ("frame", "source", "band")
    FRAME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    BAND_FIELD_NUMBER: _ClassVar[int]
    frame: int
    source: str
    band: int
    def __init__(self, frame: _Optional[int] = ..., source: _Optional[str] = ..., band: _Optional[int] = ...) -> None: ...

class RemoveKeyframeRequest(_message.Message):
    __slots__ = ("shot_id", "frame")
    SHOT_ID_FIELD_NUMBER: _ClassVar[int]
    FRAME_FIELD_NUMBER: _ClassVar[int]
    shot_id: str
    frame: int
    def __init__(self, shot_id: _Optional[str] = ..., frame: _Optional[int] = ...) -> None: ...

class ListKeyframesResponse(_message.Message):
    __slots__ = ("keyframes",)
    KEYFRAMES_FIELD_NUMBER: _ClassVar[int]
    keyframes: _containers.RepeatedCompositeFieldContainer[Keyframe]
    def __init__(self, keyframes: _Optional[_Iterable[_Union[Keyframe, _Mapping]]] = ...) -> None: ...

class OutputTemplate(_message.Message):
    __slots__ = ("path",)
    PASS_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    path: str
    def __init__(self, path: _Optional[str] = ..., **kwargs) -> None: ...

class MatteStart(_message.Message):
    __slots__ = ("shot_id", "passes", "result_encoding", "outputs", "expected_frames")
    SHOT_ID_FIELD_NUMBER: _ClassVar[int]
    PASSES_FIELD_NUMBER: _ClassVar[int]
    RESULT_ENCODING_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FRAMES_FIELD_NUMBER: _ClassVar[int]
    shot_id: str
    passes: _containers.RepeatedScalarFieldContainer[Pass]
    result_encoding: Encoding
    outputs: _containers.RepeatedCompositeFieldContainer[OutputTemplate]
    expected_frames: int
    def __init__(self, shot_id: _Optional[str] = ..., passes: _Optional[_Iterable[_Union[Pass, str]]] = ..., result_encoding: _Optional[_Union[Encoding, str]] = ..., outputs: _Optional[_Iterable[_Union[OutputTemplate, _Mapping]]] = ..., expected_frames: _Optional[int] = ...) -> None: ...

class FrameHeader(_message.Message):
    __slots__ = ("frame", "plate", "result_shm")
    FRAME_FIELD_NUMBER: _ClassVar[int]
    PLATE_FIELD_NUMBER: _ClassVar[int]
    RESULT_SHM_FIELD_NUMBER: _ClassVar[int]
    frame: int
    plate: ImageHeader
    result_shm: ShmRegion
    def __init__(self, frame: _Optional[int] = ..., plate: _Optional[_Union[ImageHeader, _Mapping]] = ..., result_shm: _Optional[_Union[ShmRegion, _Mapping]] = ...) -> None: ...

class Cancel(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class MatteRequest(_message.Message):
    __slots__ = ("start", "frame", "chunk", "cancel")
    START_FIELD_NUMBER: _ClassVar[int]
    FRAME_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    CANCEL_FIELD_NUMBER: _ClassVar[int]
    start: MatteStart
    frame: FrameHeader
    chunk: Chunk
    cancel: Cancel
    def __init__(self, start: _Optional[_Union[MatteStart, _Mapping]] = ..., frame: _Optional[_Union[FrameHeader, _Mapping]] = ..., chunk: _Optional[_Union[Chunk, _Mapping]] = ..., cancel: _Optional[_Union[Cancel, _Mapping]] = ...) -> None: ...

class Status(_message.Message):
    __slots__ = ("code", "message", "resend_frames")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RESEND_FRAMES_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    resend_frames: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ..., resend_frames: _Optional[_Iterable[int]] = ...) -> None: ...

class PassLayout(_message.Message):
    __slots__ = ("channels", "byte_size", "written_path")
    PASS_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    BYTE_SIZE_FIELD_NUMBER: _ClassVar[int]
    WRITTEN_PATH_FIELD_NUMBER: _ClassVar[int]
    channels: int
    byte_size: int
    written_path: str
    def __init__(self, channels: _Optional[int] = ..., byte_size: _Optional[int] = ..., written_path: _Optional[str] = ..., **kwargs) -> None: ...

class Progress(_message.Message):
    __slots__ = ("frames_done", "frames_expected", "frames_per_second")
    FRAMES_DONE_FIELD_NUMBER: _ClassVar[int]
    FRAMES_EXPECTED_FIELD_NUMBER: _ClassVar[int]
    FRAMES_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    frames_done: int
    frames_expected: int
    frames_per_second: float
    def __init__(self, frames_done: _Optional[int] = ..., frames_expected: _Optional[int] = ..., frames_per_second: _Optional[float] = ...) -> None: ...

class FrameResult(_message.Message):
    __slots__ = ("frame", "status", "width", "height", "encoding", "passes", "from_cache", "nonfinite_pixels", "progress", "byte_size", "shm")
    FRAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    PASSES_FIELD_NUMBER: _ClassVar[int]
    FROM_CACHE_FIELD_NUMBER: _ClassVar[int]
    NONFINITE_PIXELS_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    BYTE_SIZE_FIELD_NUMBER: _ClassVar[int]
    SHM_FIELD_NUMBER: _ClassVar[int]
    frame: int
    status: Status
    width: int
    height: int
    encoding: Encoding
    passes: _containers.RepeatedCompositeFieldContainer[PassLayout]
    from_cache: bool
    nonfinite_pixels: int
    progress: Progress
    byte_size: int
    shm: ShmRegion
    def __init__(self, frame: _Optional[int] = ..., status: _Optional[_Union[Status, _Mapping]] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., encoding: _Optional[_Union[Encoding, str]] = ..., passes: _Optional[_Iterable[_Union[PassLayout, _Mapping]]] = ..., from_cache: bool = ..., nonfinite_pixels: _Optional[int] = ..., progress: _Optional[_Union[Progress, _Mapping]] = ..., byte_size: _Optional[int] = ..., shm: _Optional[_Union[ShmRegion, _Mapping]] = ...) -> None: ...

class MatteResponse(_message.Message):
    __slots__ = ("result", "chunk")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    result: FrameResult
    chunk: Chunk
    def __init__(self, result: _Optional[_Union[FrameResult, _Mapping]] = ..., chunk: _Optional[_Union[Chunk, _Mapping]] = ...) -> None: ...

class ShotUsageRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ShotUsage(_message.Message):
    __slots__ = ("shot_id", "width", "height", "colorspace", "size_bytes", "modified_unix", "keyframes", "keyframe_sources")
    SHOT_ID_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    COLORSPACE_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MODIFIED_UNIX_FIELD_NUMBER: _ClassVar[int]
    KEYFRAMES_FIELD_NUMBER: _ClassVar[int]
    KEYFRAME_SOURCES_FIELD_NUMBER: _ClassVar[int]
    shot_id: str
    width: int
    height: int
    colorspace: str
    size_bytes: int
    modified_unix: float
    keyframes: _containers.RepeatedScalarFieldContainer[int]
    keyframe_sources: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, shot_id: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., colorspace: _Optional[str] = ..., size_bytes: _Optional[int] = ..., modified_unix: _Optional[float] = ..., keyframes: _Optional[_Iterable[int]] = ..., keyframe_sources: _Optional[_Iterable[str]] = ...) -> None: ...

class ShotUsageResponse(_message.Message):
    __slots__ = ("shots", "total_bytes")
    SHOTS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    shots: _containers.RepeatedCompositeFieldContainer[ShotUsage]
    total_bytes: int
    def __init__(self, shots: _Optional[_Iterable[_Union[ShotUsage, _Mapping]]] = ..., total_bytes: _Optional[int] = ...) -> None: ...

class PruneShotsRequest(_message.Message):
    __slots__ = ("older_than_s", "max_total_bytes", "dry_run")
    OLDER_THAN_S_FIELD_NUMBER: _ClassVar[int]
    MAX_TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    older_than_s: float
    max_total_bytes: int
    dry_run: bool
    def __init__(self, older_than_s: _Optional[float] = ..., max_total_bytes: _Optional[int] = ..., dry_run: bool = ...) -> None: ...

class PruneShotsResponse(_message.Message):
    __slots__ = ("removed", "freed_bytes", "dry_run")
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    FREED_BYTES_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    removed: _containers.RepeatedCompositeFieldContainer[ShotUsage]
    freed_bytes: int
    dry_run: bool
    def __init__(self, removed: _Optional[_Iterable[_Union[ShotUsage, _Mapping]]] = ..., freed_bytes: _Optional[int] = ..., dry_run: bool = ...) -> None: ...
