"""Generated gRPC stubs (tools/gen_proto.py)."""
