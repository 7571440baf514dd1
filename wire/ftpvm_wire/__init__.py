"""The wire and the rules every layer shares: free of torch, importable on Python 3.9+.

This leaf package is imported by the engine, the server, the client, the command line and the three host
plugins (it is vendored with the client into the hosts). It must never import anything of this project above it
(``tests/test_layers.py`` checks). Its modules, imported on their own so a caller pays only for what it uses:

- ``protocol``: the generated stubs of ``proto/ftpvm/v1/matting.proto`` (``pb``, ``pb_grpc``) and the pass enums;
- ``planes``: numpy images <-> planar half/float wire bytes, chunking;
- ``passes``: pass names, channel counts and the channel names of result EXRs;
- ``shots``: the shot-id rule;
- ``sequences``: the one frame-sequence and frame-range parser (on ``fileseq``).

Dependencies: numpy, grpcio and protobuf (``protocol``, ``planes``), fileseq (``sequences``).
"""
