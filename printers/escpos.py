"""Pure ESC/POS encoder: a :class:`Document` builder turned into bytes for one profile.

Example usage::

    doc = Document(get_profile("epson-tm-t20ii"))
    doc.text("PHIẾU SỐ THỨ TỰ", align="center", bold=True)
    doc.text("12", align="center", width=4, height=4)
    doc.qr("VISIT-2025-000123").cut()
    payload = doc.to_bytes()

A document records operations and encodes them only in :meth:`Document.to_bytes`,
so the Vietnamese strategy of the profile (see :mod:`printers.profiles`) can treat
whole runs of lines. Text is NFC-normalised and wrapped to the column width.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Final, Literal, Self, TypeAlias

from PIL import Image

from printers.codepages import encode_table, fold_diacritics, normalize_text
from printers.profiles import PrinterProfile
from printers.raster import FONT_HEIGHT, image_to_raster, qr_image, render_text_line

__all__ = [
    "Align",
    "Document",
    "Style",
    "encode_text_line",
]

ESC: Final = b"\x1b"
GS: Final = b"\x1d"
LF: Final = b"\n"
INIT: Final = ESC + b"@"

Align = Literal["left", "center", "right"]
_ALIGN_CODES: Final = {"left": 0, "center": 1, "right": 2}
_QR_EC: Final = {"L": 48, "M": 49, "Q": 50, "H": 51}


@dataclass(frozen=True)
class Style:
    """Character and paragraph style of one text line."""

    align: Align = "left"
    bold: bool = False
    width: int = 1
    height: int = 1
    font: Literal["a", "b"] = "a"

    def __post_init__(self) -> None:
        """Check the size multipliers and names."""
        if not (1 <= self.width <= 8 and 1 <= self.height <= 8):
            raise ValueError("width and height must be between 1 and 8")
        if self.align not in _ALIGN_CODES:
            raise ValueError(f"unknown alignment {self.align!r}")
        if self.font not in ("a", "b"):
            raise ValueError(f"unknown font {self.font!r}")


@dataclass(frozen=True)
class _Text:
    """One printed line (already wrapped)."""

    text: str
    style: Style


@dataclass(frozen=True)
class _Feed:
    """Feed *lines* blank lines."""

    lines: int


@dataclass(frozen=True)
class _Cut:
    """Feed then cut the paper."""

    partial: bool
    feed: int


@dataclass(frozen=True)
class _Qr:
    """A QR code, native (GS ( k) or drawn."""

    data: str
    module: int
    ec: str
    align: Align


@dataclass(frozen=True)
class _Barcode:
    """A CODE128 barcode."""

    data: str
    height: int
    module: int
    align: Align


@dataclass(frozen=True)
class _Image:
    """A raster image."""

    image: Image.Image
    align: Align


@dataclass(frozen=True)
class _Raw:
    """Bytes passed through unchanged."""

    data: bytes


_Op: TypeAlias = _Text | _Feed | _Cut | _Qr | _Barcode | _Image | _Raw


def encode_text_line(
    text: str, profile: PrinterProfile, current_page: int | None
) -> tuple[bytes, int | None] | None:
    """Encode *text* with the profile's pages, inserting ESC t switches as needed.

    Returns the bytes and the page in force afterwards, or None when some character
    exists in no page of the profile (the caller then rasterises the line). The page
    in force is kept while it can print the next character; otherwise the first page
    (TCVN-3 lower, TCVN-3 upper, then by number) that has it is selected.
    """
    pages = [(number, encode_table(encoding)) for number, encoding in profile.text_pages()]
    tables = dict(pages)
    out = bytearray()
    page = current_page
    for char in text:
        code = ord(char)
        if 0x20 <= code < 0x7F:
            out.append(code)
            continue
        if page is not None and page in tables and char in tables[page]:
            out.append(tables[page][char])
            continue
        for number, table in pages:
            if char in table:
                out += ESC + b"t" + bytes([number])
                out.append(table[char])
                page = number
                break
        else:
            return None
    return bytes(out), page


def _merge(
    base: Style,
    align: Align | None,
    bold: bool | None,
    width: int | None,
    height: int | None,
    font: Literal["a", "b"] | None,
) -> Style:
    """Return *base* with every argument that is not None applied."""
    return Style(
        align=base.align if align is None else align,
        bold=base.bold if bold is None else bold,
        width=base.width if width is None else width,
        height=base.height if height is None else height,
        font=base.font if font is None else font,
    )


class Document:
    """An ESC/POS document under construction for one printer profile."""

    def __init__(self, profile: PrinterProfile) -> None:
        """Start an empty document with the default style."""
        self.profile = profile
        self.style = Style()
        self._ops: list[_Op] = []

    # -- building -----------------------------------------------------------------

    def set(
        self,
        *,
        align: Align | None = None,
        bold: bool | None = None,
        width: int | None = None,
        height: int | None = None,
        font: Literal["a", "b"] | None = None,
    ) -> Self:
        """Change the current style; arguments left as None keep their value."""
        self.style = _merge(self.style, align, bold, width, height, font)
        return self

    def columns(self, style: Style | None = None) -> int:
        """Return the characters per line for *style* (default: the current style)."""
        style = style or self.style
        return self.profile.columns(style.font, style.width)

    def text(
        self,
        text: str,
        *,
        align: Align | None = None,
        bold: bool | None = None,
        width: int | None = None,
        height: int | None = None,
        font: Literal["a", "b"] | None = None,
        indent: int = 0,
    ) -> Self:
        """Print *text* as one or more lines, wrapped to the column width.

        Style arguments apply to these lines only. *indent* spaces prefix every
        wrapped continuation line.
        """
        line_style = _merge(self.style, align, bold, width, height, font)
        width = self.columns(line_style)
        for line in self._wrap(normalize_text(text), width, indent):
            self._ops.append(_Text(line, line_style))
        return self

    def pair(self, left: str, right: str, *, bold: bool | None = None, height: int | None = None) -> Self:
        """Print *left* and *right* on one line, *right* flush right (e.g. an amount)."""
        line_style = _merge(self.style, "left", bold, 1, height, None)
        width = self.columns(line_style)
        left, right = normalize_text(left), normalize_text(right)
        if len(left) + 1 + len(right) <= width:
            self._ops.append(_Text(left + " " * (width - len(left) - len(right)) + right, line_style))
            return self
        lines = self._wrap(left, width, 2)
        if len(lines[-1]) + 1 + len(right) <= width:
            last = lines.pop()
            lines.append(last + " " * (width - len(last) - len(right)) + right)
        else:
            lines.append(right.rjust(width)[-width:] if len(right) <= width else right)
        for line in lines:
            self._ops.append(_Text(line, line_style))
        return self

    def rule(self, char: str = "-") -> Self:
        """Print a full-width separator line."""
        style = replace(self.style, width=1, height=1, bold=False, align="left")
        self._ops.append(_Text(char * self.columns(style), style))
        return self

    def feed(self, lines: int = 1) -> Self:
        """Feed *lines* blank lines (ESC d)."""
        if lines > 0:
            self._ops.append(_Feed(min(lines, 255)))
        return self

    def cut(self, *, partial: bool = True, feed: int = 4) -> Self:
        """Feed *feed* lines and cut (GS V 1 partial, GS V 0 full)."""
        self._ops.append(_Cut(partial, max(0, min(feed, 255))))
        return self

    def qr(self, data: str, *, module: int | None = None, ec: str = "M", align: Align = "center") -> Self:
        """Print a QR code holding *data* (native GS ( k when the profile has it)."""
        if ec not in _QR_EC:
            raise ValueError(f"unknown QR error-correction level {ec!r}")
        if not data:
            raise ValueError("QR data must not be empty")
        self._ops.append(_Qr(data, module or self.profile.qr_module, ec, align))
        return self

    def barcode(self, data: str, *, height: int = 60, module: int = 2, align: Align = "center") -> Self:
        """Print *data* as a CODE128 barcode (code set B, ASCII only)."""
        if not data or not all(0x20 <= ord(c) < 0x7F for c in data) or len(data) > 250:
            raise ValueError("CODE128 data must be 1-250 printable ASCII characters")
        self._ops.append(_Barcode(data, height, module, align))
        return self

    def image(self, image: Image.Image, *, align: Align = "center") -> Self:
        """Print a Pillow image as raster data (scaled down to the paper width)."""
        if image.width > self.profile.dots:
            ratio = self.profile.dots / image.width
            image = image.resize((self.profile.dots, max(1, int(image.height * ratio))))
        self._ops.append(_Image(image, align))
        return self

    def raw(self, data: bytes) -> Self:
        """Append bytes unchanged (e.g. an NV logo print command)."""
        self._ops.append(_Raw(bytes(data)))
        return self

    @property
    def line_count(self) -> int:
        """Return the number of text lines recorded so far."""
        return sum(isinstance(op, _Text) for op in self._ops)

    @staticmethod
    def _wrap(text: str, width: int, indent: int) -> list[str]:
        """Wrap each paragraph of *text* to *width* characters."""
        lines: list[str] = []
        for paragraph in text.split("\n"):
            if not paragraph.strip():
                lines.append("")
                continue
            lines.extend(
                textwrap.wrap(
                    paragraph,
                    width=width,
                    subsequent_indent=" " * min(indent, width // 2),
                    break_long_words=True,
                    break_on_hyphens=False,
                    drop_whitespace=True,
                )
            )
        return lines

    # -- encoding -----------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """Encode the document for its profile."""
        return _Encoder(self.profile).encode(self._ops)

    def __bytes__(self) -> bytes:
        """Return :meth:`to_bytes`."""
        return self.to_bytes()


class _Encoder:
    """Turns recorded operations into ESC/POS bytes, tracking printer state."""

    def __init__(self, profile: PrinterProfile) -> None:
        """Start from the state after ESC @."""
        self.profile = profile
        self.out = bytearray()
        self.page: int | None = None
        self.style = Style()
        self.align: Align = "left"

    def encode(self, ops: Iterable[_Op]) -> bytes:
        """Encode *ops* after ESC @ and the profile's start-up commands."""
        self.out += INIT + self.profile.startup
        pending: list[_Text] = []
        for op in ops:
            if isinstance(op, _Text) and self.profile.strategy == "raster":
                pending.append(op)
                continue
            if pending:
                self._raster_block(pending)
                pending = []
            self._op(op)
        if pending:
            self._raster_block(pending)
        return bytes(self.out)

    def _set_align(self, align: Align) -> None:
        """Emit ESC a when the alignment changes."""
        if align != self.align:
            self.out += ESC + b"a" + bytes([_ALIGN_CODES[align]])
            self.align = align

    def _set_style(self, style: Style) -> None:
        """Emit only the style commands that differ from the printer's state."""
        self._set_align(style.align)
        if style.bold != self.style.bold:
            self.out += ESC + b"E" + bytes([int(style.bold)])
        if style.font != self.style.font:
            self.out += ESC + b"M" + bytes([int(style.font == "b")])
        if (style.width, style.height) != (self.style.width, self.style.height):
            self.out += GS + b"!" + bytes([(style.width - 1) << 4 | (style.height - 1)])
        self.style = replace(style, align=self.style.align)

    def _op(self, op: _Op) -> None:
        """Encode one operation."""
        if isinstance(op, _Text):
            self._text(op)
        elif isinstance(op, _Feed):
            self.out += ESC + b"d" + bytes([op.lines])
        elif isinstance(op, _Cut):
            if op.feed:
                self.out += ESC + b"d" + bytes([op.feed])
            if self.profile.cutter:
                self.out += GS + b"V" + bytes([1 if op.partial else 0])
        elif isinstance(op, _Qr):
            self._qr(op)
        elif isinstance(op, _Barcode):
            self._barcode(op)
        elif isinstance(op, _Image):
            self._set_align(op.align)
            self.out += image_to_raster(op.image)
        else:
            self.out += op.data

    def _text(self, op: _Text) -> None:
        """Encode one text line by the profile's strategy, rasterising if needed."""
        text = op.text
        if self.profile.strategy == "ascii":
            text = fold_diacritics(text)
        encoded = encode_text_line(text, self.profile, self.page)
        if encoded is None:
            self._raster_line(op)
            return
        data, self.page = encoded
        self._set_style(op.style)
        self.out += data + LF

    def _raster_line(self, op: _Text) -> None:
        """Draw one line as an image."""
        style = op.style
        image = render_text_line(
            op.text, max_width=self.profile.dots, font=style.font, bold=style.bold,
            width=style.width, height=style.height,
        )
        self._set_align(style.align)
        self.out += image_to_raster(image)

    def _raster_block(self, ops: list[_Text]) -> None:
        """Draw consecutive lines as one full-width image (the "raster" strategy)."""
        dots = self.profile.dots
        rendered = []
        for op in ops:
            s = op.style
            rendered.append(
                (render_text_line(op.text, max_width=dots, font=s.font, bold=s.bold,
                                  width=s.width, height=s.height), s.align)
            )
        height = sum(img.height for img, _ in rendered)
        block = Image.new("1", (dots, height), 1)
        top = 0
        for img, align in rendered:
            left = {"left": 0, "center": (dots - img.width) // 2, "right": dots - img.width}[align]
            block.paste(img, (left, top))
            top += img.height
        self._set_align("left")
        self.out += image_to_raster(block)

    def _qr(self, op: _Qr) -> None:
        """Encode a QR code natively (model 2) or as a raster image."""
        self._set_align(op.align)
        if not self.profile.native_qr:
            self.out += image_to_raster(qr_image(op.data, module=op.module, ec=op.ec))
            return
        data = op.data.encode("utf-8")
        store_len = len(data) + 3
        if store_len > 0xFFFF:
            raise ValueError("QR data too long")
        self.out += GS + b"(k\x04\x00\x31\x41\x32\x00"
        self.out += GS + b"(k\x03\x00\x31\x43" + bytes([op.module])
        self.out += GS + b"(k\x03\x00\x31\x45" + bytes([_QR_EC[op.ec]])
        self.out += GS + b"(k" + store_len.to_bytes(2, "little") + b"\x31\x50\x30" + data
        self.out += GS + b"(k\x03\x00\x31\x51\x30"
        self.out += LF

    def _barcode(self, op: _Barcode) -> None:
        """Encode a CODE128 barcode with its human-readable text below."""
        self._set_align(op.align)
        payload = b"{B" + op.data.encode("ascii")
        self.out += GS + b"h" + bytes([op.height]) + GS + b"w" + bytes([op.module])
        self.out += GS + b"H\x02" + GS + b"kI" + bytes([len(payload)]) + payload


def line_height(style: Style) -> int:
    """Return the height in dots of one text line in *style* (for previews)."""
    return (FONT_HEIGHT[style.font] + 6) * style.height
