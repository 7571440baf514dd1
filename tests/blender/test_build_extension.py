"""The extension zip: manifest (strictly valid for Blender, permissions, wheels), add-on files, the client's wheels."""
from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path


import pytest

from blender_harness import BLENDER_SRC, blender_ext_script, bpy_candidates, has_bpy

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
    assert not any(n.startswith("vendor/") for n in names)  # everything the add-on imports comes as a wheel
    assert not any("__pycache__" in n for n in names)
    assert manifest["id"] == "ftpvm_matte" and manifest["type"] == "add-on"
    assert manifest["blender_version_min"] == "4.2.0" and "network" in manifest["permissions"]
    assert manifest["platforms"] == ["linux-x64", "windows-x64", "macos-arm64"]
    pure = {w for w in manifest["wheels"] if w.split("/")[-1] not in FAKE_WHEELS}
    assert {f"./wheels/{w}" for w in FAKE_WHEELS} <= set(manifest["wheels"])
    assert {w.split("/")[-1].split("-")[0] for w in pure} >= {"ftpvm_client", "ftpvm_wire", "fileseq"}
    assert all(w.endswith("-py3-none-any.whl") for w in pure)
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
    assert manifest["permissions"]["files"] and "platforms" not in manifest  # pure wheels fit every platform
    assert all(w.endswith("-py3-none-any.whl") for w in manifest["wheels"])


def test_bundled_wheels_give_the_addon_its_client(tmp_path):
    """Installed as Blender installs an extension's wheels (unpacked into one site-packages), the wheels carry the
    client and the add-on imports it without touching sys.path (no bpy needed for that)."""
    proc, out = _build(tmp_path, "--no-wheels")
    assert proc.returncode == 0, proc.stderr
    pkg, site = tmp_path / "pkg" / "ftpvm_matte", tmp_path / "site"
    with zipfile.ZipFile(out) as z:
        z.extractall(pkg)
        wheels = tomllib.loads(z.read("blender_manifest.toml").decode())["wheels"]
    for wheel in wheels:
        with zipfile.ZipFile(pkg / wheel) as w:
            assert any(n.endswith(".dist-info/RECORD") for n in w.namelist())  # what Blender's installer reads
            w.extractall(site)
    import grpc
    import google.protobuf

    deps = {str(Path(grpc.__file__).parent.parent), str(Path(google.protobuf.__file__).parent.parent.parent)}
    code = ("import sys; sys.path[:0] = sys.argv[1:]; before = list(sys.path); import ftpvm_matte; "
            "import ftpvm_matte.plan, ftpvm_client; assert sys.path == before, 'sys.path changed'; "
            "print(ftpvm_client.__file__)")
    # -S: no site (so no editable install of the project); only the wheels' and grpc/protobuf/numpy's folders
    run = subprocess.run([sys.executable, "-S", "-c", code, str(pkg.parent), str(site), *sorted(deps)],
                         capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert str(site / "ftpvm_client") in run.stdout


def test_addon_never_changes_sys_path():
    """Blender's extension guidelines: bundle dependencies as wheels, never append to the global sys.path."""
    import re

    for path in (BLENDER_SRC / "ftpvm_blender").glob("*.py"):
        assert not re.search(r"sys\.path\s*(\.|\[|\+=|=)", path.read_text()), path.name


def test_version_max_follows_the_bundled_wheels():
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_extension", SCRIPT)
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    manifest = tomllib.loads((BLENDER_SRC / "ftpvm_blender" / "blender_manifest.toml").read_text())
    assert build.PYTHON_VERSION == "3.11"  # Blender 4.2 .. 5.0; Blender 5.1 ships Python 3.13
    assert manifest["blender_version_max"] == build.BLENDER_VERSION_MAX == "5.1.0"


@pytest.mark.parametrize("python", bpy_candidates())
def test_built_extension_passes_blenders_strict_validator(tmp_path, python):
    """``blender --command extension validate`` on the built zip, with the validator and tag list of each bpy
    wheel (4.2, 4.5, 5.0): the check extensions.blender.org and ``extension build`` apply (a 65-character tagline
    failed it)."""
    if not has_bpy(python):
        pytest.skip(f"no bpy in {python}")
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for name in FAKE_WHEELS:
        with zipfile.ZipFile(wheels / name, "w") as z:
            z.writestr("x.txt", name)
    proc, out = _build(tmp_path, "--wheels", str(wheels), "--platform", "linux-x64", "--platform", "windows-x64",
                       "--platform", "macos-arm64")
    assert proc.returncode == 0, proc.stderr
    tool = blender_ext_script(python)
    tags = tool.parents[3] / "modules" / "_bpy_internal" / "extensions" / "tags.py"
    assert tags.is_file(), tags
    check = subprocess.run([python, str(tool), "validate", str(out), "--valid-tags", str(tags)],
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "Success" in check.stdout, check.stdout
