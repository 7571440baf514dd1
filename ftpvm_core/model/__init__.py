"""FTP-VM network: ``from ftpvm_core.model import FastTrimapPropagationVideoMatting``."""
from .checkpoint import CheckpointError, fingerprint, load_model, load_state_dict_file
from .ftpvm import FastTrimapPropagationVideoMatting
from .prepare import prepare_for_inference
from .streaming import StreamingStep
from .working_size import auto_downsample_ratio

FTPVM = FastTrimapPropagationVideoMatting

__all__ = [
    "FastTrimapPropagationVideoMatting",
    "FTPVM",
    "CheckpointError",
    "fingerprint",
    "load_model",
    "load_state_dict_file",
    "StreamingStep",
    "auto_downsample_ratio",
    "prepare_for_inference",
]
