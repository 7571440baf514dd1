"""``ftpvm_server``: the local gRPC GPU server of FTP-VM (``ftpvm-server``).

Modules: ``main`` (command line, start-up, shutdown), ``service`` (RPC -> engine),
``scheduler`` (the one device queue), ``auth`` (bind and token), ``paths`` (allowed roots),
``limits`` (wire validation), ``payloads`` (wire bytes -> images), ``errors`` (exceptions ->
statuses), ``counters`` (per-shot numbers), ``warmup``, ``launch`` (start one as a subprocess).
"""
__version__ = "0.1.0"
