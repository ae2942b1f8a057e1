"""Built-in profiles and profiles from configuration."""

from __future__ import annotations

import pytest

from printers import BUILTIN_PROFILES, ProfileError, get_profile, profile_from_config


def test_builtin_profiles() -> None:
    epson = get_profile("epson-tm-t20ii")
    assert (epson.tcvn3_lower, epson.tcvn3_upper) == (30, 31)
    assert (epson.dots, epson.columns_a, epson.columns_b) == (576, 48, 64)
    t88 = get_profile("epson-tm-t88")
    assert (t88.dots, t88.columns_a) == (512, 42)
    xprinter = get_profile("xprinter-80")
    assert xprinter.tcvn3_lower == 27 and xprinter.startup == b"\x1c\x2e"
    generic = get_profile("generic-58")
    assert (generic.paper_mm, generic.dots, generic.columns_a) == (58, 384, 32)
    assert generic.strategy == "raster_lines" and not generic.native_qr
    assert set(BUILTIN_PROFILES) >= {"epson-tm-t20ii", "epson-tm-t88", "xprinter-80", "generic-58"}


def test_cp1258_is_never_used_for_text() -> None:
    pages = [encoding for _, encoding in get_profile("epson-tm-t20ii").text_pages()]
    assert "CP1258" not in pages and pages[:2] == ["TCVN-3-1", "TCVN-3-2"]


def test_profile_from_config_extends_a_base() -> None:
    profile = profile_from_config(
        {"name": "xp-q200", "base": "xprinter-80", "code_pages": {"0": "PC437", "27": "TCVN-3-1", "28": "TCVN-3-2"},
         "startup": "1c2e1b7400"}
    )
    assert profile.code_pages == {0: "CP437", 27: "TCVN-3-1", 28: "TCVN-3-2"}
    assert profile.tcvn3_upper == 28
    assert profile.startup == b"\x1c\x2e\x1b\x74\x00"
    assert profile.dots == 576


def test_profile_from_config_without_base() -> None:
    profile = profile_from_config({"name": "tiny", "paper_mm": 58, "dots": 384, "columns_a": 32,
                                   "columns_b": 42, "strategy": "ascii", "native_qr": False})
    assert profile.strategy == "ascii" and profile.code_pages == {0: "CP437"}


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({"name": "x", "code_pages": {"27": "VISCII"}, "strategy": "raster_lines"}, "VISCII"),
        ({"name": "x", "strategy": "cp1258"}, "cp1258"),
        ({"name": "x", "base": "generic-58", "strategy": "tcvn3"}, "TCVN-3-1"),
        ({"name": "x", "code_pages": {"300": "CP437"}, "strategy": "ascii"}, "300"),
        ({"name": "x", "paper_mm": 76, "strategy": "ascii"}, "58 hoặc 80"),
        ({"name": "x", "colour": "red"}, "colour"),
        ({"code_pages": {}}, "name"),
        ({"name": "x", "base": "no-such-printer"}, "no-such-printer"),
        ({"name": "x", "base": "generic-58", "startup": "zz"}, "hex"),
    ],
)
def test_invalid_profiles_raise_profile_error(config: dict[str, object], fragment: str) -> None:
    with pytest.raises(ProfileError, match=fragment):
        profile_from_config(config)
