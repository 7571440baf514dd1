"""Fixtures for the host-Python tests: a real ftpvm-server on 127.0.0.1 (see tests/server_harness.py)."""
from server_harness import server  # noqa: F401
