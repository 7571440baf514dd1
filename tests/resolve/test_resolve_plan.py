"""Pure logic: colour mapping, sequences, settings, planning, install locations."""
from __future__ import annotations

import os
from dataclasses import replace

import pytest

from ftpvm_resolve import colour, install, locations, plan, sequences, settings as sm
from ftpvm_resolve.plan import ClipFacts, PlanError, ServerFacts
from ftpvm_resolve.settings import KeyframeSpec, Settings, SettingsError

CLIP = ClipFacts(name="A001_C002.mov", unique_id="ti-1", project="Spot", timeline="Edit", start=86400, duration=48,
                 track=1, width=1920, height=1080, colour_settings={
                     "colorScienceMode": "davinciYRGBColorManagedv2", "colorSpaceOutput": "Rec.709 Gamma 2.4"})
KEY = (KeyframeSpec(86400, "/m/tri.png"),)


@pytest.mark.parametrize("name, ocio", [
    ("DaVinci WG/Intermediate", "DaVinci Intermediate WideGamut"),
    ("DaVinci Wide Gamut Intermediate", "DaVinci Intermediate WideGamut"),
    ("ACEScct", "ACEScct"), ("ACEScc", "ACEScc"), ("ACEScg", "ACEScg"), ("ACES AP1 Linear", "ACEScg"),
    ("Rec.709 Gamma 2.4", "Gamma 2.4 Encoded Rec.709"), ("Rec.709 (Scene)", "Gamma 2.4 Encoded Rec.709"),
    ("Rec.709 Gamma 2.2", "Gamma 2.2 Encoded Rec.709"), ("sRGB", "sRGB Encoded Rec.709 (sRGB)"),
    ("Rec.709 Linear", "Linear Rec.709 (sRGB)"), ("Rec.2020 ST2084", None), ("", None),
])
def test_resolve_names_map_to_ocio(name, ocio):
    assert colour.ocio_name(name) == ocio


def test_every_mapped_name_exists_in_ocios_studio_config():
    import PyOpenColorIO as ocio

    config = ocio.Config.CreateFromFile(colour.STUDIO_CONFIG)
    for _, name in colour.CHOICES:
        assert config.getColorSpace(name) is not None, name


def test_detect_follows_the_colour_science():
    assert colour.detect({"colorScienceMode": "davinciYRGB"}).ocio == "Gamma 2.4 Encoded Rec.709"
    managed = {"colorScienceMode": "davinciYRGBColorManagedv2", "colorSpaceOutput": "DaVinci WG",
               "colorSpaceOutputGamma": "DaVinci Intermediate"}
    assert colour.detect(managed).ocio == "DaVinci Intermediate WideGamut"
    assert colour.detect({"colorScienceMode": "acescct", "colorAcesODT": "No Output Transform"}).ocio == "ACEScct"
    media = colour.detect({"colorSpaceInput": "ACEScg", "clipInputColorSpace": "Project - ACEScg"}, "media")
    assert media.ocio == "ACEScg" and "project's input" in media.reason


def test_missing_colour_space_on_the_server_says_how_to_fix():
    message = colour.check_available("DaVinci Intermediate WideGamut", ["ACEScg", "Linear Rec.709 (sRGB)"])
    assert "OCIO=ocio://studio-config-latest" in message
    assert colour.check_available("ACEScg", ["ACEScg"]) is None


def test_sequences_parse_and_scan(tmp_path):
    seq = sequences.parse("/media/plate.[1001-1010].exr")
    assert (seq.first, seq.last, seq.padding, seq.path(1002)) == (1001, 1010, 4, "/media/plate.1002.exr")
    assert seq.printf == "/media/plate.%04d.exr" and sequences.parse("/media/clip.mov") is None
    for f in (7, 8, 9):
        (tmp_path / f"r_{f:08d}.exr").write_bytes(b"x")
    found = sequences.scan(str(tmp_path))
    assert (found.first, found.last, found.prefix) == (7, 9, "r_")
    (tmp_path / "r_00000008.exr").unlink()
    with pytest.raises(ValueError, match="missing"):
        sequences.scan(str(tmp_path))


def test_keyframe_lines_parse_and_round_trip():
    specs = sm.parse_keyframes("# mattes\n86400 /m/tri a.png\n86410 mediapool:Roto v2 | roto\n\n")
    assert specs == (KeyframeSpec(86400, "/m/tri a.png"), KeyframeSpec(86410, "mediapool:Roto v2", "roto"))
    assert specs[1].media_pool_clip == "Roto v2"
    assert sm.parse_keyframes(sm.format_keyframes(specs)) == specs
    with pytest.raises(SettingsError, match="line 1"):
        sm.parse_keyframes("first /m/tri.png")
    with pytest.raises(SettingsError, match="no matte path"):
        sm.parse_keyframes("12")


def test_settings_checks_and_remembers_without_the_token(tmp_path):
    with pytest.raises(SettingsError, match="at least one keyframe"):
        Settings().checked()
    with pytest.raises(SettingsError, match="same frame"):
        Settings(keyframes=KEY * 2).checked()
    with pytest.raises(SettingsError, match="both ends"):
        Settings(keyframes=KEY, first=1).checked()
    path = str(tmp_path / "s.json")
    sm.save(Settings(server="h:1", token="secret", band=3, place="track", keyframes=KEY), path)
    assert "secret" not in open(path).read()
    loaded = sm.load(path)
    assert (loaded.server, loaded.band, loaded.place, loaded.token, loaded.keyframes) == ("h:1", 3, "track", "", ())
    (tmp_path / "bad.json").write_text("{not json")
    assert sm.load(str(tmp_path / "bad.json")) == Settings()


def test_shot_id_is_stable_and_server_safe():
    a = plan.shot_id_for(CLIP)
    assert a == plan.shot_id_for(CLIP) and a.startswith("A001_C002-") and plan.check_shot_id(a)
    assert plan.shot_id_for(replace(CLIP, unique_id="ti-2")) != a
    with pytest.raises(PlanError):
        plan.check_shot_id("bad id/..")


def test_plan_render_job(tmp_path):
    s = Settings(keyframes=(KeyframeSpec(86405, "/m/tri.png"),), output_root=str(tmp_path), first=86402, last=86410)
    p = plan.make_plan(CLIP, s, ServerFacts(True, (str(tmp_path),), ("Gamma 2.4 Encoded Rec.709",)))
    assert p.frames[0] == 86402 and p.frames[-1] == 86410 and p.source == "render" and p.transport == "paths"
    assert p.work_dir == os.path.join(str(tmp_path), "Spot", p.shot_id, "v001")
    assert p.output_path("alpha", 86403) == os.path.join(p.work_dir, "alpha", f"{p.shot_id}_alpha.86403.exr")
    assert plan.render_settings(p)["MarkIn"] == 86402 and plan.render_settings(p)["TargetDir"] == p.plate_dir
    assert plan.import_clip_info(p, "foreground") == {"FilePath": p.outputs["foreground"], "StartIndex": 86402,
                                                      "EndIndex": 86410}
    assert plan.loader_global_in(0, p, CLIP.start) == 2


def test_plan_refuses_what_it_cannot_do(tmp_path):
    server = ServerFacts(False, (), ())
    base = Settings(keyframes=KEY, output_root=str(tmp_path))
    with pytest.raises(PlanError, match="outside the clip"):
        plan.make_plan(CLIP, replace(base, first=86300, last=86400), server)
    with pytest.raises(PlanError, match="Keyframe 86400 is outside"):
        plan.make_plan(CLIP, replace(base, first=86401, last=86410), server)
    with pytest.raises(PlanError, match="--allow-root"):
        plan.make_plan(CLIP, replace(base, transport="paths"), server)
    with pytest.raises(PlanError, match="EXR image sequence"):
        plan.make_plan(CLIP, replace(base, source="media"), server)
    unknown = replace(CLIP, colour_settings={"colorScienceMode": "davinciYRGBColorManagedv2",
                                             "colorSpaceOutput": "Rec.2100 ST2084"})
    with pytest.raises(PlanError, match="choose the source colour space"):
        plan.make_plan(unknown, base, server)
    assert plan.make_plan(unknown, replace(base, colorspace="ACEScg"), server).colorspace == "ACEScg"
    assert plan.make_plan(CLIP, base, server).transport == "pixels"


def test_plan_never_writes_over_files(tmp_path):
    base = Settings(keyframes=KEY, output_root=str(tmp_path))
    first = plan.make_plan(CLIP, base, ServerFacts())
    os.makedirs(first.work_dir)
    assert plan.make_plan(CLIP, base, ServerFacts()).work_dir.endswith("v002")
    with pytest.raises(PlanError, match="already exists"):
        plan.make_plan(CLIP, base, ServerFacts(), version="v001")


def test_plan_media_sequence_maps_timeline_to_file_frames(tmp_path):
    clip = replace(CLIP, file_path=str(tmp_path / "p.[1001-1100].exr"), left_offset=10)
    p = plan.make_plan(clip, replace(Settings(keyframes=KEY, output_root=str(tmp_path / "o")), colorspace="ACEScg"),
                       ServerFacts())
    assert p.source == "media" and p.media_frame(86400) == 1011 and p.media_frame(86447) == 1058
    with pytest.raises(PlanError, match="retimed"):
        plan.make_plan(replace(clip, left_offset=60), replace(Settings(keyframes=KEY, output_root=str(tmp_path)),
                                                              colorspace="ACEScg"), ServerFacts())


def test_codec_choice_and_tracks_to_mute():
    codecs = {"RGB float (No compression)": "RGBFloat", "RGB half (No compression)": "RGBHalf",
              "RGB half (DWAA)": "RGBHalfDWAA"}
    assert plan.choose_exr_codec(codecs) == "RGBHalf"
    with pytest.raises(PlanError):
        plan.choose_exr_codec({})
    assert plan.tracks_to_mute({1: True, 2: True, 3: False, 4: True}, 1) == [2, 4]


@pytest.mark.parametrize("platform, user, everyone", [
    ("linux", "/home/u/.local/share/DaVinciResolve/Fusion/Scripts", "/opt/resolve/Fusion/Scripts"),
    ("darwin", "/home/u/Library/Application Support/Blackmagic Design/DaVinci Resolve/Fusion/Scripts",
     "/Library/Application Support/Blackmagic Design/DaVinci Resolve/Fusion/Scripts"),
])
def test_scripts_folders(platform, user, everyone):
    assert locations.scripts_dir(False, {}, platform, "/home/u") == user
    assert locations.scripts_dir(True, {}, platform, "/home/u") == everyone


def test_windows_folders_and_api_env():
    env = {"APPDATA": "C:\\U\\AppData\\Roaming", "PROGRAMDATA": "C:\\ProgramData"}
    assert locations.scripts_dir(False, env, "win32").endswith(os.path.join(
        "Blackmagic Design", "DaVinci Resolve", "Support", "Fusion", "Scripts"))
    assert locations.script_api_dir({"RESOLVE_SCRIPT_API": "/x"}) == "/x"
    assert locations.script_lib({}, "linux") == "/opt/resolve/libs/Fusion/fusionscript.so"
    assert locations.module_search_paths({}, "linux") == ["/opt/resolve/Developer/Scripting/Modules"]


def test_install_and_uninstall(tmp_path):
    p = install.plan_install("Comp", scripts_dir=str(tmp_path / "Scripts"), support_dir=str(tmp_path / "support"))
    written = install.install(p)
    assert p.script == str(tmp_path / "Scripts" / "Comp" / "FTPVM Matte.py") and p.script in written
    text = open(p.script).read()
    assert f"FTPVM_HOME = {str(tmp_path / 'support')!r}" in text
    assert (tmp_path / "support" / "ftpvm_client" / "__init__.py").is_file()
    assert (tmp_path / "support" / "ftpvm_wire" / "settings_schema.json").is_file()   # offline defaults
    assert (tmp_path / "support" / "ftpvm_resolve" / "host.py").is_file()
    assert (tmp_path / "support" / "ftpvm_wire" / "sequences.py").is_file()
    assert (tmp_path / "support" / "vendor" / "fileseq" / "__init__.py").is_file()
    assert (tmp_path / "support" / "vendor" / "typing_extensions.py").is_file()  # grpcio's own dependency
    assert not (tmp_path / "support" / "vendor" / "numpy").exists()  # compiled: Resolve's pip installs it
    assert not list((tmp_path / "support").rglob("__pycache__"))
    install.install(p)                                   # re-install replaces our own files
    assert set(install.uninstall(p)) == set(written) and not os.path.exists(p.script)
    foreign = tmp_path / "Scripts" / "Utility" / "FTPVM Matte.py"
    foreign.parent.mkdir(parents=True)
    foreign.write_text("print('someone else')")
    with pytest.raises(install.InstallError, match="not an FTPVM script"):
        install.install(install.plan_install("Utility", scripts_dir=str(tmp_path / "Scripts"),
                                             support_dir=str(tmp_path / "support")))
    with pytest.raises(install.InstallError, match="Category"):
        install.plan_install("Nope")


def test_cli_install_command(tmp_path, capsys):
    from ftpvm_cli import resolve as cli_resolve
    import argparse

    parser = argparse.ArgumentParser()
    cli_resolve.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["resolve", "install", "--scripts-dir", str(tmp_path / "S"),
                              "--support-dir", str(tmp_path / "P")])
    assert args.func(args) == 0
    assert "installed" in capsys.readouterr().out
    assert (tmp_path / "S" / "Utility" / "FTPVM Matte.py").is_file()
