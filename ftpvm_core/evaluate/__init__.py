"""Evaluation of checkpoints with the standard video-matting metrics (``ftpvm-eval``)."""
from ftpvm_core.evaluate.metrics import conn, dtssd, frame_metrics, grad, mad, mse

__all__ = ["mad", "mse", "grad", "conn", "dtssd", "frame_metrics"]
