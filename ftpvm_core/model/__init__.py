"""FTP-VM network: ``from ftpvm_core.model import FastTrimapPropagationVideoMatting``."""
from .checkpoint import CheckpointError, fingerprint, load_model, load_state_dict_file
from .ftpvm import FastTrimapPropagationVideoMatting

FTPVM = FastTrimapPropagationVideoMatting

__all__ = [
    "FastTrimapPropagationVideoMatting",
    "FTPVM",
    "CheckpointError",
    "fingerprint",
    "load_model",
    "load_state_dict_file",
]
