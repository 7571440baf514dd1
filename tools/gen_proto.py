"""Generate the Python gRPC stubs from proto/ into the wire package.

    python tools/gen_proto.py            # write wire/ftpvm_wire/_proto/...
    python tools/gen_proto.py --check    # exit 1 when the committed stubs are stale

The stubs live inside ``ftpvm_wire`` (the torch-free leaf that the server, the client and the hosts share;
it is vendored with the client), and everyone imports them through ``ftpvm_wire.protocol``. protoc writes an absolute import (``from ftpvm.v1 import``)
into the service module; it is rewritten to a relative one so the package can be moved.

Generator version (``grpcio-tools`` pinned in pyproject's ``dev`` extra): the stubs refuse a runtime older than the
generator (``_runtime_version.ValidateProtobufRuntimeVersion`` in ``_pb2.py``, ``GRPC_GENERATED_VERSION`` in
``_pb2_grpc.py``), and a host brings its own Python (Nuke 14: 3.9). grpcio-tools 1.80.1 is the newest with Python
3.9 wheels; its stubs need grpcio >= 1.80.1 and protobuf >= 6.31.1, which the newest 3.9 wheels (grpcio 1.80.1,
protobuf 6.33.6) meet, and protobuf 7.x accepts older gencode. ``tests/hostpy`` runs a round-trip on 3.9-3.13.
"""
from __future__ import annotations

import argparse
import filecmp
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "proto"
PROTO_FILES = ("ftpvm/v1/matting.proto",)
STUB_ROOT = ROOT / "wire" / "ftpvm_wire" / "_proto"
GENERATED = ("ftpvm/v1/matting_pb2.py", "ftpvm/v1/matting_pb2.pyi", "ftpvm/v1/matting_pb2_grpc.py")
_ABS_IMPORT = re.compile(r"^from ftpvm\.v1 import (\w+) as (\w+)$", re.MULTILINE)


def generate(out_dir: Path) -> list[Path]:
    """Run protoc for every proto file into ``out_dir``; return the generated files."""
    from grpc_tools import protoc  # build-time dependency only

    import grpc_tools

    out_dir.mkdir(parents=True, exist_ok=True)
    include = Path(grpc_tools.__file__).parent / "_proto"
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *PROTO_FILES,
    ]
    if protoc.main(args) != 0:
        raise RuntimeError("protoc failed; see its message above")
    files = [out_dir / name for name in GENERATED]
    for path in files:
        text = path.read_text()
        path.write_text(_ABS_IMPORT.sub(r"from . import \1 as \2", text))
    for package in (out_dir, out_dir / "ftpvm", out_dir / "ftpvm" / "v1"):
        (package / "__init__.py").write_text('"""Generated gRPC stubs (tools/gen_proto.py)."""\n')
    return files


def stale_files(stub_root: Path = STUB_ROOT) -> list[str]:
    """Names of the committed stub files that differ from a fresh generation."""
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        return [
            name
            for name in GENERATED
            if not (stub_root / name).is_file() or not filecmp.cmp(Path(tmp) / name, stub_root / name, shallow=False)
        ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate (or check) the Python stubs of proto/ftpvm/v1/matting.proto.")
    parser.add_argument("--check", action="store_true", help="only report stale stubs; exit 1 if any")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        for name in stale:
            print(f"gen_proto: stale: {name} (run: python tools/gen_proto.py)", file=sys.stderr)
        return 1 if stale else 0
    for path in generate(STUB_ROOT):
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
