"""Blender colour-space names matched to the server's (pure text, no bpy, no OCIO)."""
from __future__ import annotations

import blender_harness  # noqa: F401
from ftpvm_blender import colour

CONFIG = """\
ocio_profile_version: 2
# a comment: scene_linear: Nope
roles:
  default: Linear Rec.709
  scene_linear: Linear Rec.709
  data: Non-Color

colorspaces:
  - !<ColorSpace>
    name: Linear Rec.709
    aliases: [Linear, lin_rec709_scene, "Linear Rec.709 (sRGB)"]
    family: Linear

  - !<ColorSpace>
    name: ACEScg
    aliases: [lin_ap1_scene]
"""

SERVER = ["ACEScg", "lin_ap1", "Linear Rec.709 (sRGB)", "lin_rec709", "sRGB Encoded Rec.709 (sRGB)", "Raw"]


def test_parse_roles_and_aliases():
    cfg = colour.parse_config(CONFIG)
    assert cfg["roles"]["scene_linear"] == "Linear Rec.709" and cfg["roles"]["data"] == "Non-Color"
    assert cfg["aliases"]["Linear Rec.709"] == ["Linear", "lin_rec709_scene", "Linear Rec.709 (sRGB)"]
    assert colour.scene_linear(cfg) == "Linear Rec.709"
    assert colour.scene_linear({"roles": {}}) == "Linear Rec.709"


def test_match_through_aliases_roles_and_fallbacks():
    cfg = colour.parse_config(CONFIG)
    assert colour.match_server_colorspace("Linear Rec.709", SERVER, cfg) == "Linear Rec.709 (sRGB)"
    assert colour.match_server_colorspace("scene_linear", SERVER, cfg) == "Linear Rec.709 (sRGB)"
    assert colour.match_server_colorspace("acescg", SERVER, cfg) == "ACEScg"
    assert colour.match_server_colorspace("sRGB", SERVER, None) == "sRGB Encoded Rec.709 (sRGB)"
    assert colour.match_server_colorspace("Non-Color", SERVER, cfg) == "Raw"
    assert colour.match_server_colorspace("AgX Base sRGB", SERVER, cfg) is None
    assert colour.match_server_colorspace("Linear Rec.709", [], cfg) == "Linear Rec.709 (sRGB)"


def test_real_server_config_knows_blenders_scene_linear():
    """Against the OCIO config the server really uses (ocio://default through ftpvm_core)."""
    from ftpvm_core.imaging.colour import list_colorspaces, resolve_colorspace

    name = colour.match_server_colorspace("Linear Rec.709", list_colorspaces(), colour.parse_config(CONFIG))
    assert resolve_colorspace(name) == "Linear Rec.709 (sRGB)"
