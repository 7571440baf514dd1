"""Fixtures for the server tests: real ftpvm-server processes on 127.0.0.1 (see tests/server_harness.py)."""
from server_harness import client, server, shot_data  # noqa: F401
