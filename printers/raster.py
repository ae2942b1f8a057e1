"""Drawing text and QR codes as 1-bit images and packing them as GS v 0 raster data.

Text is drawn with DejaVu Sans (Debian ``fonts-dejavu-core``), which has every
Vietnamese letter; without it Pillow's built-in font is used. (DejaVu Sans Mono is
not used: Debian's copy lacks many precomposed Vietnamese capitals such as Ễ.)
Characters DejaVu lacks, e.g. Chinese, are drawn as empty boxes: the line prints,
readable apart from those characters.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Final

import qrcode
from PIL import Image, ImageDraw, ImageFont, ImageOps
from qrcode.constants import ERROR_CORRECT_H, ERROR_CORRECT_L, ERROR_CORRECT_M, ERROR_CORRECT_Q

__all__ = [
    "FONT_DIR",
    "image_to_raster",
    "draw_text_cells",
    "load_font",
    "qr_image",
    "render_text_line",
]

FONT_DIR: Final = Path("/usr/share/fonts/truetype/dejavu")
_FONT_FILES: Final = {
    (False, False): "DejaVuSans.ttf",
    (True, False): "DejaVuSans-Bold.ttf",
    (False, True): "DejaVuSansMono.ttf",
    (True, True): "DejaVuSansMono-Bold.ttf",
}

#: Cell heights in dots of Epson Font A and Font B, used as raster line heights.
FONT_HEIGHT: Final = {"a": 24, "b": 17}
_LINE_GAP: Final = 4
#: Cell widths in dots of Font A and Font B.
_CELL_W: Final = {"a": 12, "b": 9}
# DejaVu Sans sizes whose stacked capitals (Ễ) and descenders fit the cell height.
_SANS_SIZE: Final = {"a": 19.0, "b": 14.0}
_SEGMENT: Final = re.compile(r"\S+(?: \S+)*")
_FRAGMENT_ROWS: Final = 256

_QR_LEVELS: Final = {"L": ERROR_CORRECT_L, "M": ERROR_CORRECT_M, "Q": ERROR_CORRECT_Q, "H": ERROR_CORRECT_H}

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@cache
def load_font(size: float, bold: bool = False, mono: bool = False) -> Font:
    """Return DejaVu Sans (or Sans Mono) at *size* pixels, else Pillow's default font."""
    for name in (_FONT_FILES[bold, mono], _FONT_FILES[False, mono], _FONT_FILES[False, False]):
        path = FONT_DIR / name
        if path.exists():
            return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


def _segments(text: str) -> list[tuple[int, int, str, bool]]:
    """Split *text* at runs of two or more spaces: (start col, end col, words, flush right)."""
    found = [(m.start(), m.end(), m.group()) for m in _SEGMENT.finditer(text)]
    out = []
    for index, (start, end, words) in enumerate(found):
        flush_right = index > 0 and index == len(found) - 1 and end == len(text)
        out.append((start, end, words, flush_right))
    return out


def draw_text_cells(
    draw: ImageDraw.ImageDraw, text: str, *, x: int, baseline: int, cell: float, face: Font
) -> int:
    """Draw *text* with a proportional face on the printer's fixed cell grid.

    Each run of words starts at its column, and a last run that ends the line is
    placed flush right, so padded columns (amounts) line up as in text mode.
    Returns the right edge of the ink.
    """
    right = x
    for start, end, words, flush_right in _segments(text):
        width = face.getlength(words)
        left = x + (end * cell - width if flush_right else start * cell)
        draw.text((left, baseline), words, font=face, fill=0, anchor="ls")
        right = max(right, int(left + width) + 1)
    return right


def render_text_line(
    text: str,
    *,
    max_width: int,
    font: str = "a",
    bold: bool = False,
    width: int = 1,
    height: int = 1,
) -> Image.Image:
    """Draw one line of text as a mode "1" image no wider than *max_width* dots.

    The image is cropped to the ink width (rounded up to 8 dots) to keep raster data
    small; alignment is left to ESC a.
    """
    cell_h = FONT_HEIGHT.get(font, 24)
    face = load_font(_SANS_SIZE[font], bold)
    line_h = cell_h + _LINE_GAP
    base = Image.new("L", (max_width * 2, line_h), 255)
    ink = draw_text_cells(
        ImageDraw.Draw(base), text, x=0, baseline=round(line_h * 0.78),
        cell=_CELL_W[font], face=face,
    )
    base = base.crop((0, 0, max(8, ink), line_h))
    target_w = min(max_width, base.width * width)
    target_h = line_h * height
    if (target_w, target_h) != base.size:
        base = base.resize((target_w, target_h), Image.Resampling.BILINEAR)
    padded_w = min(max_width, -(-target_w // 8) * 8)
    canvas = Image.new("L", (padded_w, target_h), 255)
    canvas.paste(base, (0, 0))
    return canvas.point(lambda v: 255 if v > 160 else 0).convert("1", dither=Image.Dither.NONE)


def qr_image(data: str, *, module: int = 6, ec: str = "M") -> Image.Image:
    """Render *data* as a QR code image (for printers without GS ( k)."""
    code = qrcode.QRCode(error_correction=_QR_LEVELS[ec], box_size=module, border=2)
    code.add_data(data.encode("utf-8"))
    code.make(fit=True)
    matrix = code.get_matrix()
    size = len(matrix) * module
    img = Image.new("1", (size, size), 1)
    draw = ImageDraw.Draw(img)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                draw.rectangle(
                    (x * module, y * module, (x + 1) * module - 1, (y + 1) * module - 1), fill=0
                )
    return img


def image_to_raster(image: Image.Image, *, fragment_rows: int = _FRAGMENT_ROWS) -> bytes:
    """Pack *image* as GS v 0 commands (black = dot), split every *fragment_rows* rows."""
    gray = image.convert("L")
    width = -(-gray.width // 8) * 8
    if width != gray.width:
        padded = Image.new("L", (width, gray.height), 255)
        padded.paste(gray, (0, 0))
        gray = padded
    bits = ImageOps.invert(gray).point(lambda v: 255 if v >= 128 else 0).convert(
        "1", dither=Image.Dither.NONE
    )
    row_bytes = width // 8
    out = bytearray()
    for top in range(0, bits.height, fragment_rows):
        rows = min(fragment_rows, bits.height - top)
        chunk = bits.crop((0, top, width, top + rows)).tobytes()
        out += b"\x1dv0\x00" + row_bytes.to_bytes(2, "little") + rows.to_bytes(2, "little")
        out += chunk
    return bytes(out)
