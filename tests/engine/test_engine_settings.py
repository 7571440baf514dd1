import json

import pytest

from ftpvm_core.engine import SETTINGS_SCHEMA, InvalidInput, ShotSettings, settings_schema


def test_schema_is_introspectable_and_json_ready():
    fields = settings_schema()
    json.dumps(fields)
    names = [f["name"] for f in fields]
    assert {"downsample_ratio", "memory_size", "memory_policy", "precision", "passes"} <= set(names)
    policy = next(f for f in fields if f["name"] == "memory_policy")
    assert policy["choices"] == ["first_last", "nearest"] and policy["default"] == "first_last" and policy["help"]
    assert all(f["type"] and "affects_model" in f and f["scope"] in ("shot", "request") for f in fields)


def test_defaults_match_schema():
    s = ShotSettings()
    for f in SETTINGS_SCHEMA:
        assert getattr(s, f.name) == f.default


@pytest.mark.parametrize("bad, word", [
    ({"memory_size": 0}, "out of range"), ({"memory_policy": "random"}, "first_last"),
    ({"downsample_ratio": "half"}, "number"), ({"precision": "int8"}, "float16"), ({"bogus": 1}, "unknown setting"),
    ({"memory_size": 2.5}, "integer"),
])
def test_bad_settings_say_what_to_fix(bad, word):
    with pytest.raises(InvalidInput, match=word):
        ShotSettings.from_dict(bad)


def test_auto_ratio_from_frame_size():
    s = ShotSettings()
    assert s.ratio_for(128, 160) == 1.0
    assert s.ratio_for(1080, 1920) == pytest.approx(1024 / 1920)
    assert ShotSettings(downsample_ratio=0.5).ratio_for(1080, 1920) == 0.5
    assert ShotSettings.from_dict({"downsample_ratio": "0.25"}).downsample_ratio == 0.25


def test_compiling_the_step_is_opt_in_and_reaches_the_step(make_engine):
    from ftpvm_core.engine.engine import COMPILE_MODES

    plain = make_engine(backend="torch")
    assert plain.compile == "off" and plain.step().core._compiled is False  # eager unless asked
    graphs = make_engine(state_dir=plain.store.root.parent / "other", backend="torch", compile="reduce-overhead")
    core = graphs.step().core
    assert core._compiled and core._graphs  # compiled lazily: nothing runs until the first frame
    assert set(COMPILE_MODES) == {"off", "default", "reduce-overhead"}
    with pytest.raises(InvalidInput, match="compile must be one of off, default, reduce-overhead"):
        make_engine(state_dir=plain.store.root.parent / "third", compile="max")
