"""The committed Python stubs are what protoc makes of proto/ftpvm/v1/matting.proto today."""
from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _gen_proto():
    spec = importlib.util.spec_from_file_location("gen_proto", ROOT / "tools" / "gen_proto.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_stubs_are_current():
    stale = _gen_proto().stale_files()
    assert stale == [], f"stale stubs {stale}: run python tools/gen_proto.py"


def test_stale_stubs_are_detected(tmp_path):
    gen = _gen_proto()
    gen.generate(tmp_path)
    target = tmp_path / "ftpvm" / "v1" / "matting_pb2.py"
    target.write_text(target.read_text() + "\n# edited by hand\n")
    assert gen.stale_files(tmp_path) == ["ftpvm/v1/matting_pb2.py"]


def test_stubs_import_relatively_from_the_wire_package():
    gen = _gen_proto()
    assert gen.STUB_ROOT == ROOT / "wire" / "ftpvm_wire" / "_proto"
    text = (gen.STUB_ROOT / "ftpvm/v1/matting_pb2_grpc.py").read_text()
    assert "from . import matting_pb2" in text and "from ftpvm.v1" not in text
    from ftpvm_wire.protocol import pb as matting_pb2

    assert matting_pb2.DESCRIPTOR.package == "ftpvm.v1"
    assert "Matting" in matting_pb2.DESCRIPTOR.services_by_name


def test_pyproject_lower_bounds_are_what_the_stubs_accept():
    """grpcio/protobuf floors in pyproject = the stubs' generator versions (older runtimes refuse the stubs)."""
    import re

    from ftpvm_client.vendoring import stub_requirements

    floors = stub_requirements()
    text = (ROOT / "pyproject.toml").read_text()
    for name in ("grpcio", "protobuf"):
        bounds = set(re.findall(rf'"{name}>=([0-9.]+)', text))
        assert bounds == {floors[name]}, (name, bounds, floors)
    # 1.80.1 is the newest grpcio-tools with Python 3.9 wheels (Nuke 14); tests/hostpy proves 3.9-3.13 accept them
    assert '"grpcio-tools==1.80.1"' in text and floors == {"grpcio": "1.80.1", "protobuf": "6.31.1"}
