"""Printer profiles: paper width, code pages, QR support and the Vietnamese strategy.

Vietnamese strategies (``PrinterProfile.strategy``):

``tcvn3``
    Text through the TCVN-3 pages, switching between the lower- and upper-case page
    inside a line as needed. Requires a ``TCVN-3-1`` page. A line holding a character
    no page of the profile can print (e.g. Chinese in a foreign name) is rasterised.
``raster_lines``
    Text where every character of the line exists in one of the profile's pages;
    every other line is drawn as an image.
``raster``
    Every run of text lines becomes one image; QR codes, barcodes, feeds and cuts stay
    native commands.
``ascii``
    Diacritics are removed (``Nguyễn`` -> ``Nguyen``); anything still outside ASCII is
    printed as ``?``. Only when a profile explicitly asks for it.

CP1258 may appear in ``code_pages`` (for decoding), but it is never used to print
Vietnamese: printers print each combining tone mark in a cell of its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Literal, get_args

from printers.codepages import TCVN3_LOWER, TCVN3_UPPER, canonical_encoding
from printers.exceptions import ProfileError

__all__ = [
    "BUILTIN_PROFILES",
    "PrinterProfile",
    "Strategy",
    "get_profile",
    "profile_from_config",
]

Strategy = Literal["tcvn3", "raster_lines", "raster", "ascii"]
STRATEGIES: Final = frozenset(get_args(Strategy))

FS_CANCEL_CHINESE: Final = b"\x1c\x2e"


@dataclass(frozen=True)
class PrinterProfile:
    """What the encoder needs to know about one printer model."""

    name: str
    paper_mm: int = 80
    dots: int = 576
    columns_a: int = 48
    columns_b: int = 64
    code_pages: Mapping[int, str] = field(default_factory=lambda: {0: "CP437"})
    native_qr: bool = True
    startup: bytes = b""
    strategy: Strategy = "tcvn3"
    cutter: bool = True
    qr_module: int = 6

    def __post_init__(self) -> None:
        """Validate fields and canonicalise code-page names."""
        pages: dict[int, str] = {}
        for number, encoding in dict(self.code_pages).items():
            try:
                page = int(number)
            except (TypeError, ValueError):
                raise ProfileError(
                    f"Hồ sơ máy in {self.name!r}: số bảng mã {number!r} không hợp lệ."
                ) from None
            if not 0 <= page <= 255:
                raise ProfileError(
                    f"Hồ sơ máy in {self.name!r}: bảng mã ESC t {page} nằm ngoài 0-255."
                )
            canonical = canonical_encoding(str(encoding))
            if canonical is None:
                raise ProfileError(
                    f"Hồ sơ máy in {self.name!r}: bảng mã {encoding!r} (ESC t {page}) "
                    "không được hỗ trợ."
                )
            pages[page] = canonical
        object.__setattr__(self, "code_pages", MappingProxyType(pages))
        if self.strategy not in STRATEGIES:
            raise ProfileError(
                f"Hồ sơ máy in {self.name!r}: cách in tiếng Việt {self.strategy!r} "
                f"không hợp lệ (chọn một trong {', '.join(sorted(STRATEGIES))})."
            )
        if self.strategy == "tcvn3" and self.tcvn3_lower is None:
            raise ProfileError(
                f"Hồ sơ máy in {self.name!r}: cách in 'tcvn3' cần một bảng mã TCVN-3-1."
            )
        if self.paper_mm not in (58, 80):
            raise ProfileError(f"Hồ sơ máy in {self.name!r}: khổ giấy phải là 58 hoặc 80 mm.")
        if self.dots <= 0 or self.dots % 8:
            raise ProfileError(
                f"Hồ sơ máy in {self.name!r}: số điểm mỗi dòng phải là bội số dương của 8."
            )
        if self.columns_a <= 0 or self.columns_b <= 0:
            raise ProfileError(f"Hồ sơ máy in {self.name!r}: số cột phải lớn hơn 0.")
        if not 1 <= self.qr_module <= 16:
            raise ProfileError(f"Hồ sơ máy in {self.name!r}: cỡ ô QR phải từ 1 đến 16.")

    @property
    def tcvn3_lower(self) -> int | None:
        """Return the ESC t number of the lower-case TCVN-3 page, if any."""
        return self._page_of(TCVN3_LOWER)

    @property
    def tcvn3_upper(self) -> int | None:
        """Return the ESC t number of the upper-case TCVN-3 page, if any."""
        return self._page_of(TCVN3_UPPER)

    def _page_of(self, encoding: str) -> int | None:
        """Return the lowest page number holding *encoding*."""
        numbers = [n for n, e in self.code_pages.items() if e == encoding]
        return min(numbers) if numbers else None

    def columns(self, font: str = "a", width: int = 1) -> int:
        """Return characters per line for *font* at a character *width* multiplier."""
        base = self.columns_b if font == "b" else self.columns_a
        return max(1, base // width)

    def text_pages(self) -> list[tuple[int, str]]:
        """Return the pages used for text, TCVN-3 first, CP1258 excluded."""
        order = {TCVN3_LOWER: 0, TCVN3_UPPER: 1}
        pages = [(n, e) for n, e in self.code_pages.items() if e != "CP1258"]
        return sorted(pages, key=lambda item: (order.get(item[1], 2), item[0]))


_EPSON_PAGES: Final = {0: "CP437", 16: "CP1252", 30: TCVN3_LOWER, 31: TCVN3_UPPER, 52: "CP1258"}

#: Built-in profiles. Clone page numbers are from vendor self-tests reported online;
#: check each unit's self-test print (TECH.md §2.1) and override in configuration.
BUILTIN_PROFILES: Final[Mapping[str, PrinterProfile]] = MappingProxyType(
    {
        "epson-tm-t20ii": PrinterProfile(
            name="epson-tm-t20ii", paper_mm=80, dots=576, columns_a=48, columns_b=64,
            code_pages=_EPSON_PAGES, native_qr=True, strategy="tcvn3",
        ),
        "epson-tm-t88": PrinterProfile(
            name="epson-tm-t88", paper_mm=80, dots=512, columns_a=42, columns_b=56,
            code_pages=_EPSON_PAGES, native_qr=True, strategy="tcvn3",
        ),
        "xprinter-80": PrinterProfile(
            name="xprinter-80", paper_mm=80, dots=576, columns_a=48, columns_b=64,
            code_pages={0: "CP437", 27: TCVN3_LOWER}, native_qr=True,
            startup=FS_CANCEL_CHINESE, strategy="tcvn3",
        ),
        "generic-58": PrinterProfile(
            name="generic-58", paper_mm=58, dots=384, columns_a=32, columns_b=42,
            code_pages={0: "CP437"}, native_qr=False, startup=FS_CANCEL_CHINESE,
            strategy="raster_lines", qr_module=5,
        ),
    }
)

_CONFIG_KEYS: Final = frozenset(f.name for f in dataclasses.fields(PrinterProfile)) | {"base"}


def get_profile(profile: str | PrinterProfile) -> PrinterProfile:
    """Return *profile* itself or the built-in profile of that name."""
    if isinstance(profile, PrinterProfile):
        return profile
    try:
        return BUILTIN_PROFILES[profile]
    except KeyError:
        known = ", ".join(sorted(BUILTIN_PROFILES))
        raise ProfileError(f"Không có hồ sơ máy in {profile!r} (có sẵn: {known}).") from None


def _parse_startup(value: Any) -> bytes:
    """Accept a hex string ("1c2e"), a list of byte values or bytes."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        try:
            return bytes.fromhex(value)
        except ValueError:
            raise ProfileError(f"Lệnh khởi động {value!r} không phải chuỗi hex.") from None
    if isinstance(value, (list, tuple)):
        try:
            return bytes(value)
        except (TypeError, ValueError):
            raise ProfileError(f"Lệnh khởi động {value!r} không hợp lệ.") from None
    raise ProfileError(f"Lệnh khởi động {value!r} không hợp lệ.")


def profile_from_config(config: Mapping[str, Any]) -> PrinterProfile:
    """Build a profile from a configuration mapping, optionally extending a ``base``.

    Example: ``{"name": "xp-q200", "base": "xprinter-80",
    "code_pages": {"0": "CP437", "27": "TCVN-3-1", "28": "TCVN-3-2"}}``.
    """
    unknown = set(config) - _CONFIG_KEYS
    if unknown:
        raise ProfileError(f"Khóa cấu hình máy in không hợp lệ: {', '.join(sorted(unknown))}.")
    values = dict(config)
    base_name = values.pop("base", None)
    if "name" not in values:
        raise ProfileError("Hồ sơ máy in cần có 'name'.")
    if "startup" in values:
        values["startup"] = _parse_startup(values["startup"])
    if "code_pages" in values and not isinstance(values["code_pages"], Mapping):
        raise ProfileError("'code_pages' phải là một bảng {số ESC t: tên bảng mã}.")
    try:
        if base_name is not None:
            return dataclasses.replace(get_profile(str(base_name)), **values)
        return PrinterProfile(**values)
    except TypeError as exc:
        raise ProfileError(f"Hồ sơ máy in không hợp lệ: {exc}") from exc
