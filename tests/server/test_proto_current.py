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
