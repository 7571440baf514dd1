"""The extension zip: manifest (permissions, wheels per platform), add-on files, vendored client."""
from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path


from blender_harness import BLENDER_SRC

SCRIPT = BLENDER_SRC / "build_extension.py"
FAKE_WHEELS = [
    "grpcio-1.70.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "grpcio-1.70.0-cp311-cp311-win_amd64.whl",
    "grpcio-1.70.0-cp311-cp311-macosx_10_14_universal2.whl",
    "protobuf-5.29.3-py3-none-any.whl",
]


def _build(tmp_path, *args):
    out = tmp_path / "ext.zip"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out), *args], capture_output=True, text=True,
                          timeout=60)
    return proc, out


def test_zip_with_wheels_per_platform(tmp_path):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for name in FAKE_WHEELS:
        with zipfile.ZipFile(wheels / name, "w") as z:
            z.writestr("x.txt", name)
    proc, out = _build(tmp_path, "--wheels", str(wheels), "--platform", "linux-x64", "--platform", "windows-x64",
                       "--platform", "macos-arm64")
    assert proc.returncode == 0, proc.stderr
    with zipfile.ZipFile(out) as z:
        names = set(z.namelist())
        manifest = tomllib.loads(z.read("blender_manifest.toml").decode())
    assert {"__init__.py", "operators.py", "panels.py", "compositor.py", "plan.py"} <= names
    assert {"vendor/ftpvm_client/__init__.py", "vendor/ftpvm_wire/_proto/ftpvm/v1/matting_pb2.py",
            "vendor/ftpvm_wire/sequences.py", "vendor/fileseq/__init__.py", "vendor/typing_extensions.py"} <= names
    assert {"vendor/ftpvm_wire/schema.py", "vendor/ftpvm_wire/settings_schema.json"} <= names   # offline defaults
    assert not any(n.startswith(("vendor/grpc/", "vendor/numpy/", "vendor/google/")) for n in names)  # wheels
    assert not any("__pycache__" in n for n in names)
    assert manifest["id"] == "ftpvm_matte" and manifest["type"] == "add-on"
    assert manifest["blender_version_min"] == "4.2.0" and "network" in manifest["permissions"]
    assert manifest["platforms"] == ["linux-x64", "windows-x64", "macos-arm64"]
    assert sorted(manifest["wheels"]) == sorted(f"./wheels/{w}" for w in FAKE_WHEELS)
    assert {w[2:] for w in manifest["wheels"]} <= names
    assert not any("numpy" in w for w in manifest["wheels"])  # Blender's own numpy is used


def test_the_newest_wheel_is_chosen_by_version_number(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_extension", SCRIPT)
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    for name in ("grpcio-1.9.0-cp311-cp311-win_amd64.whl", "grpcio-1.10.0-cp311-cp311-win_amd64.whl",
                 "grpcio-1.10.0rc1-cp311-cp311-win_amd64.whl", "protobuf-7.9.1-py3-none-any.whl",
                 "protobuf-7.35.1-py3-none-any.whl"):
        (tmp_path / name).write_bytes(b"")
    chosen = build.wheels_for(tmp_path, ["windows-x64"])["windows-x64"]
    assert chosen == ["grpcio-1.10.0-cp311-cp311-win_amd64.whl", "protobuf-7.35.1-py3-none-any.whl"]


def test_missing_wheel_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    proc, out = _build(tmp_path, "--wheels", str(tmp_path / "empty"), "--platform", "linux-x64")
    assert proc.returncode != 0 and "no grpcio wheel for linux-x64" in proc.stderr
    assert not out.exists()


def test_zip_without_wheels(tmp_path):
    proc, out = _build(tmp_path, "--no-wheels")
    assert proc.returncode == 0, proc.stderr
    with zipfile.ZipFile(out) as z:
        manifest = tomllib.loads(z.read("blender_manifest.toml").decode())
    assert "wheels" not in manifest and manifest["permissions"]["files"]


def test_vendored_client_is_found_by_the_addon(tmp_path):
    """Unpacked, the add-on puts its vendored client on sys.path at register time (no bpy needed for that)."""
    proc, out = _build(tmp_path, "--no-wheels")
    assert proc.returncode == 0, proc.stderr
    pkg = tmp_path / "pkg" / "ftpvm_matte"
    zipfile.ZipFile(out).extractall(pkg)
    import grpc
    import google.protobuf

    deps = {str(Path(grpc.__file__).parent.parent), str(Path(google.protobuf.__file__).parent.parent.parent)}
    code = ("import sys; sys.path[:0] = sys.argv[1:]; import ftpvm_matte as m; m._client_path(); "
            "import ftpvm_client; print(ftpvm_client.__file__)")
    # -S: no site (so no editable install of the project); only grpc/protobuf/numpy's folders are added
    run = subprocess.run([sys.executable, "-S", "-c", code, str(pkg.parent), *sorted(deps)], capture_output=True,
                         text=True, timeout=60, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert str(pkg / "vendor" / "ftpvm_client") in run.stdout
