"""FTP-VM network: ``from ftpvm_core.model import FastTrimapPropagationVideoMatting``."""
from .checkpoint import CheckpointError, fingerprint, load_model, load_state_dict_file
from .ftpvm import FastTrimapPropagationVideoMatting
from .inference import StreamingMatter, auto_downsample_ratio, prepare_for_inference

FTPVM = FastTrimapPropagationVideoMatting

__all__ = [
    "FastTrimapPropagationVideoMatting",
    "FTPVM",
    "CheckpointError",
    "fingerprint",
    "load_model",
    "load_state_dict_file",
    "StreamingMatter",
    "auto_downsample_ratio",
    "prepare_for_inference",
]
