"""Decode a captured ESC/POS byte stream back into text lines and a PNG preview.

It understands the subset the encoder emits plus common neighbours: ESC @ t a E M !
d J - 2 3 R p, GS ! V v0 ( k ( L h w H f k a B, FS . & p, DLE EOT/ENQ, LF, CR, HT.
Text bytes go through the code page selected by ESC t, looked up in a profile
(Epson numbering by default). Unknown commands are recorded, not fatal.

Example usage::

    decoded = decode(payload, profile)
    assert "Nguyễn Thị Hồng" in decoded.text
    decoded.preview().save("ticket.png")
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Final, Literal, TypeAlias

import qrcode
from PIL import Image, ImageDraw, ImageOps

from printers.codepages import decode_table
from printers.escpos import Align, Style, line_height
from printers.profiles import BUILTIN_PROFILES, PrinterProfile
from printers.raster import draw_text_cells, load_font

__all__ = [
    "DecodedBarcode",
    "DecodedCut",
    "DecodedFeed",
    "DecodedImage",
    "DecodedLine",
    "DecodedQr",
    "DecodedReceipt",
    "decode",
]

_ALIGNS: Final[dict[int, Align]] = {0: "left", 1: "center", 2: "right", 48: "left", 49: "center", 50: "right"}


@dataclass(frozen=True)
class DecodedLine:
    """A line of text as the printer would print it."""

    text: str
    style: Style


@dataclass(frozen=True)
class DecodedImage:
    """A GS v 0 raster block (black = 0 in mode "1")."""

    image: Image.Image
    align: Align


@dataclass(frozen=True)
class DecodedQr:
    """A native QR code that was stored and printed."""

    data: str
    module: int
    align: Align


@dataclass(frozen=True)
class DecodedBarcode:
    """A barcode (GS k)."""

    data: str
    kind: int
    align: Align


@dataclass(frozen=True)
class DecodedFeed:
    """Blank paper fed, in dots."""

    dots: int


@dataclass(frozen=True)
class DecodedCut:
    """A paper cut."""

    partial: bool


Item: TypeAlias = DecodedLine | DecodedImage | DecodedQr | DecodedBarcode | DecodedFeed | DecodedCut


@dataclass
class DecodedReceipt:
    """Everything recovered from a byte stream, in print order."""

    items: list[Item] = field(default_factory=list)
    pages_used: set[int] = field(default_factory=set)
    unknown: list[bytes] = field(default_factory=list)
    status_queries: list[int] = field(default_factory=list)
    width: int = 576

    @property
    def lines(self) -> list[DecodedLine]:
        """Return the text lines."""
        return [i for i in self.items if isinstance(i, DecodedLine)]

    @property
    def text(self) -> str:
        """Return all text lines joined with newlines."""
        return "\n".join(line.text for line in self.lines)

    @property
    def qr_payloads(self) -> list[str]:
        """Return the data of every printed native QR code."""
        return [i.data for i in self.items if isinstance(i, DecodedQr)]

    @property
    def barcodes(self) -> list[str]:
        """Return the data of every barcode."""
        return [i.data for i in self.items if isinstance(i, DecodedBarcode)]

    @property
    def images(self) -> list[Image.Image]:
        """Return the raster images."""
        return [i.image for i in self.items if isinstance(i, DecodedImage)]

    @property
    def cut(self) -> bool:
        """Return True when the stream contains a paper cut."""
        return any(isinstance(i, DecodedCut) for i in self.items)

    def preview(self) -> Image.Image:
        """Draw the receipt as a mode "L" image, :attr:`width` dots wide."""
        return _render(self)

    def preview_png(self) -> bytes:
        """Return :meth:`preview` encoded as PNG."""
        buffer = io.BytesIO()
        self.preview().save(buffer, format="PNG")
        return buffer.getvalue()


class _Stream:
    """A cursor over bytes that returns b"" past the end."""

    def __init__(self, data: bytes) -> None:
        """Wrap *data*."""
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        """Return the next *n* bytes (fewer at the end)."""
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def byte(self) -> int:
        """Return the next byte, or -1 at the end."""
        chunk = self.take(1)
        return chunk[0] if chunk else -1

    def word(self) -> int:
        """Return the next little-endian 16-bit value."""
        chunk = self.take(2)
        return int.from_bytes(chunk.ljust(2, b"\0"), "little")


class _Decoder:
    """Walks the stream and keeps the printer state."""

    def __init__(self, profile: PrinterProfile) -> None:
        """Start in the state after power-on."""
        self.profile = profile
        self.result = DecodedReceipt(width=profile.dots)
        self.reset()
        self.buffer: list[str] = []
        self.qr_data = ""
        self.qr_module = 3
        self.line_style: Style | None = None

    def reset(self) -> None:
        """Apply ESC @: page 0, default style."""
        self.page = 0
        self.style = Style()

    def set_style(self, **changes: object) -> None:
        """Change the style in force."""
        values = {
            "align": self.style.align, "bold": self.style.bold, "width": self.style.width,
            "height": self.style.height, "font": self.style.font,
        }
        values.update(changes)
        self.style = Style(**values)  # type: ignore[arg-type]

    def char(self, byte: int) -> None:
        """Append one printable byte through the page in force."""
        if self.line_style is None:
            self.line_style = self.style
        if byte < 0x80:
            self.buffer.append(chr(byte))
            return
        encoding = self.profile.code_pages.get(self.page)
        self.buffer.append(decode_table(encoding).get(byte, "\ufffd") if encoding else "\ufffd")

    def newline(self) -> None:
        """End the current line."""
        style = self.line_style or self.style
        self.result.items.append(DecodedLine("".join(self.buffer), style))
        self.buffer = []
        self.line_style = None

    def flush(self) -> None:
        """Print a pending partial line (as a printer would before graphics)."""
        if self.buffer:
            self.newline()

    def run(self, data: bytes) -> DecodedReceipt:
        """Decode the whole stream."""
        s = _Stream(data)
        while s.pos < len(s.data):
            b = s.byte()
            if b == 0x0A:
                self.newline()
            elif b == 0x1B:
                self.esc(s)
            elif b == 0x1D:
                self.gs(s)
            elif b == 0x1C:
                self.fs(s)
            elif b == 0x10:
                self.dle(s)
            elif b == 0x09:
                self.char(0x20)
            elif b >= 0x20 and b != 0x7F:
                self.char(b)
            elif b != 0x0D:
                self.result.unknown.append(bytes([b]))
        self.flush()
        return self.result

    def esc(self, s: _Stream) -> None:
        """Handle ESC commands."""
        cmd = s.byte()
        if cmd == 0x40:
            self.flush()
            self.reset()
        elif cmd == 0x74:
            self.page = s.byte()
            self.result.pages_used.add(self.page)
        elif cmd == 0x61:
            self.set_style(align=_ALIGNS.get(s.byte(), "left"))
        elif cmd == 0x45:
            self.set_style(bold=bool(s.byte() & 1))
        elif cmd == 0x4D:
            self.set_style(font="b" if s.byte() in (1, 49) else "a")
        elif cmd == 0x21:
            n = s.byte()
            self.set_style(font="b" if n & 1 else "a", bold=bool(n & 8),
                           height=2 if n & 0x10 else 1, width=2 if n & 0x20 else 1)
        elif cmd == 0x64:
            self.flush()
            self.result.items.append(DecodedFeed(s.byte() * line_height(self.style)))
        elif cmd == 0x4A:
            self.flush()
            self.result.items.append(DecodedFeed(s.byte()))
        elif cmd in (0x2D, 0x33, 0x52, 0x20, 0x47, 0x56, 0x7B, 0x63):
            s.take(1)
        elif cmd == 0x32:
            pass
        elif cmd == 0x70:
            s.take(3)
        else:
            self.result.unknown.append(bytes([0x1B, cmd]))

    def gs(self, s: _Stream) -> None:
        """Handle GS commands."""
        cmd = s.byte()
        if cmd == 0x21:
            n = s.byte()
            self.set_style(width=(n >> 4 & 7) + 1, height=(n & 7) + 1)
        elif cmd == 0x56:
            self.flush()
            m = s.byte()
            if m in (65, 66, 97, 98, 103, 104):
                s.take(1)
            self.result.items.append(DecodedCut(partial=m in (1, 49, 66, 98, 104)))
        elif cmd == 0x76:
            self.raster(s)
        elif cmd == 0x28:
            self.gs_paren(s)
        elif cmd in (0x68, 0x77, 0x48, 0x66, 0x61, 0x42, 0x4C, 0x57):
            s.take(2 if cmd in (0x4C, 0x57) else 1)
        elif cmd == 0x6B:
            self.barcode(s)
        else:
            self.result.unknown.append(bytes([0x1D, cmd]))

    def fs(self, s: _Stream) -> None:
        """Handle FS commands (Chinese mode, NV logo)."""
        cmd = s.byte()
        if cmd == 0x70:
            s.take(2)
        elif cmd not in (0x2E, 0x26):
            self.result.unknown.append(bytes([0x1C, cmd]))

    def dle(self, s: _Stream) -> None:
        """Handle DLE EOT / DLE ENQ real-time commands."""
        cmd = s.byte()
        n = s.byte()
        if cmd == 0x04:
            self.result.status_queries.append(n)
        elif cmd != 0x05:
            self.result.unknown.append(bytes([0x10, cmd, n]))

    def raster(self, s: _Stream) -> None:
        """Decode GS v 0 m xL xH yL yH d1..dk."""
        if s.byte() != 0x30:
            self.result.unknown.append(b"\x1dv")
            return
        s.byte()
        row_bytes, rows = s.word(), s.word()
        data = s.take(row_bytes * rows).ljust(row_bytes * rows, b"\0")
        self.flush()
        if row_bytes and rows:
            bits = Image.frombytes("1", (row_bytes * 8, rows), data)
            image = ImageOps.invert(bits.convert("L")).convert("1")
            self.result.items.append(DecodedImage(image, self.style.align))

    def gs_paren(self, s: _Stream) -> None:
        """Decode GS ( k (QR) and skip other GS ( functions."""
        fn_class = s.byte()
        length = s.word()
        body = s.take(length)
        if fn_class != 0x6B or len(body) < 2 or body[0] != 0x31:
            return
        fn = body[1]
        if fn == 0x43 and len(body) >= 3:
            self.qr_module = body[2]
        elif fn == 0x50:
            self.qr_data = body[3:].decode("utf-8", errors="replace")
        elif fn == 0x51:
            self.flush()
            self.result.items.append(DecodedQr(self.qr_data, self.qr_module, self.style.align))

    def barcode(self, s: _Stream) -> None:
        """Decode GS k in both the NUL-terminated and the length-prefixed form."""
        m = s.byte()
        if m <= 6:
            data = bytearray()
            while (b := s.byte()) not in (0, -1):
                data.append(b)
        else:
            data = bytearray(s.take(s.byte()))
        text = data.decode("ascii", errors="replace")
        if m == 73 and text[:1] == "{":
            text = text[2:]
        self.flush()
        self.result.items.append(DecodedBarcode(text, m, self.style.align))


def decode(data: bytes, profile: PrinterProfile | None = None) -> DecodedReceipt:
    """Decode *data* through the code pages of *profile* (Epson numbering by default)."""
    return _Decoder(profile or BUILTIN_PROFILES["epson-tm-t20ii"]).run(data)


def _qr_matrix_image(data: str, module: int) -> Image.Image:
    """Render a QR preview with the qrcode package."""
    code = qrcode.QRCode(box_size=max(1, module), border=2)
    code.add_data(data.encode("utf-8"))
    code.make(fit=True)
    matrix = code.get_matrix()
    img = Image.new("L", (len(matrix) * module, len(matrix) * module), 255)
    draw = ImageDraw.Draw(img)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                draw.rectangle((x * module, y * module, (x + 1) * module - 1, (y + 1) * module - 1), fill=0)
    return img


def _x_for(align: Align, width: int, total: int) -> int:
    """Return the left edge of a block *width* wide under *align*."""
    if align == "center":
        return max(0, (total - width) // 2)
    if align == "right":
        return max(0, total - width)
    return 0


def _render(receipt: DecodedReceipt) -> Image.Image:
    """Lay out the decoded items on a strip of paper."""
    width = receipt.width
    blocks: list[Image.Image | int | Literal["cut"]] = []
    blocks_align: list[Align] = []
    for item in receipt.items:
        if isinstance(item, DecodedLine):
            style = item.style
            base_h = line_height(Style(font=style.font))
            cell = 9 if style.font == "b" else 12
            font = load_font(14 if style.font == "b" else 19, style.bold)
            img = Image.new("L", (width * 2, base_h), 255)
            ink = draw_text_cells(ImageDraw.Draw(img), item.text, x=0, baseline=round(base_h * 0.75), cell=cell, face=font)
            text_w = max(1, ink)
            img = img.crop((0, 0, text_w, base_h))
            if (style.width, style.height) != (1, 1):
                img = img.resize((text_w * style.width, base_h * style.height))
            if img.width > width:
                img = img.resize((width, img.height))
            blocks.append(img)
            blocks_align.append(style.align)
        elif isinstance(item, DecodedImage):
            blocks.append(item.image.convert("L"))
            blocks_align.append(item.align)
        elif isinstance(item, DecodedQr):
            blocks.append(_qr_matrix_image(item.data, item.module))
            blocks_align.append(item.align)
        elif isinstance(item, DecodedBarcode):
            box = Image.new("L", (min(width, 12 * len(item.data) + 40), 70), 255)
            draw = ImageDraw.Draw(box)
            draw.rectangle((0, 0, box.width - 1, 49), outline=0)
            draw.text((4, 52), item.data, font=load_font(14), fill=0)
            blocks.append(box)
            blocks_align.append(item.align)
        elif isinstance(item, DecodedFeed):
            blocks.append(item.dots)
            blocks_align.append("left")
        else:
            blocks.append("cut")
            blocks_align.append("left")
    height = 8
    for block in blocks:
        height += block.height if isinstance(block, Image.Image) else (block if isinstance(block, int) else 12)
    canvas = Image.new("L", (width, max(height, 16)), 255)
    draw = ImageDraw.Draw(canvas)
    top = 4
    for block, align in zip(blocks, blocks_align):
        if isinstance(block, Image.Image):
            canvas.paste(block, (_x_for(align, block.width, width), top))
            top += block.height
        elif isinstance(block, int):
            top += block
        else:
            for x in range(0, width, 12):
                draw.line((x, top + 6, x + 6, top + 6), fill=0)
            top += 12
    return canvas

