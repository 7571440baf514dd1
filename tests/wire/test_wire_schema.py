"""ftpvm_wire.schema: the advertised settings schema as plain objects, and its shipped snapshot."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ftpvm_core.engine.settings import ShotSettings, settings_schema
from ftpvm_core.errors import InvalidInput
from ftpvm_wire.schema import Schema, SchemaError, advertised, snapshot

ROOT = Path(__file__).resolve().parents[2]


def _gen():
    spec = importlib.util.spec_from_file_location("gen_settings_schema", ROOT / "tools" / "gen_settings_schema.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_snapshot_is_the_engines_schema():
    """One source of truth: the shipped JSON is settings_schema(), byte for byte as the tool writes it."""
    assert [f.to_dict() for f in snapshot().fields] == settings_schema()
    from ftpvm_wire.schema import SNAPSHOT

    assert SNAPSHOT.read_text(encoding="utf-8") == _gen().current_text(), \
        "run python tools/gen_settings_schema.py"


def test_readers_on_the_advertised_schema():
    schema = Schema.from_json(json.dumps(settings_schema()))
    defaults = ShotSettings()
    assert schema.default_of("roto_band") == defaults.roto_band
    assert schema.choices_of("memory_policy") == ("first_last", "nearest")
    assert schema.range_of("memory_size") == (1, 16)
    assert schema.defaults() == defaults.to_dict()
    assert schema.names("request") == ("passes", "premultiply")
    assert "band" in schema.help_of("roto_band")
    with pytest.raises(SchemaError, match="no setting 'depth'"):
        schema.field("depth")
    with pytest.raises(SchemaError, match="not a choice"):
        schema.choices_of("roto_band")


@pytest.mark.parametrize("name, value, expected", [
    ("downsample_ratio", "AUTO", "auto"), ("downsample_ratio", "0.5", 0.5), ("memory_size", 3.0, 3),
    ("roto_combine", "clip", "clip"), ("passes", ["alpha"], ("alpha",)), ("premultiply", True, True),
])
def test_validate_coerces(name, value, expected):
    assert snapshot().validate(name, value) == expected


@pytest.mark.parametrize("name, value, words", [
    ("memory_size", 2.5, "integer"), ("memory_size", 40, "out of range"), ("memory_policy", "latest", "choose one"),
    ("roto_band", float("nan"), "finite"), ("trimap_tolerance", 0.4, "out of range"), ("premultiply", 1, "true or"),
    ("passes", ["depth"], "choose from"), ("highlights", 3, "string"),
])
def test_validate_refuses(name, value, words):
    with pytest.raises(SchemaError, match=words):
        snapshot().validate(name, value)


def test_the_engine_validates_by_the_same_rule():
    with pytest.raises(InvalidInput, match="out of range; use a value in \\[0, 0.25\\]"):
        ShotSettings(trimap_tolerance=0.4)


def test_advertised_falls_back_to_the_snapshot():
    assert advertised(None).source == "snapshot" and advertised([]).source == "snapshot"
    served = advertised([{**f, "default": 24.0} if f["name"] == "roto_band" else f for f in settings_schema()])
    assert served.source == "server" and served.default_of("roto_band") == 24.0
    with pytest.raises(SchemaError, match="unknown type"):
        advertised([{"name": "x", "type": "matrix", "default": 0}])


def test_the_reader_needs_no_torch():
    code = ("import sys; import ftpvm_wire.schema as s; s.snapshot().default_of('roto_band'); "
            "sys.exit('torch' in sys.modules or 'numpy' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT / "wire", capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_validate_all_coerces_each_value_and_names_the_bad_setting():
    from ftpvm_wire.schema import SchemaError, snapshot

    schema = snapshot()
    assert schema.validate_all({"memory_size": 3.0, "precision": "float16"}) == {"memory_size": 3, "precision": "fp16"}
    with pytest.raises(SchemaError) as info:
        schema.validate_all({"memory_size": 3, "memory_policy": "latest"})
    assert info.value.setting == "memory_policy" and "first_last" in str(info.value)
