"""Drawing text and QR codes as 1-bit images and packing them as GS v 0 raster data.

Text is drawn with DejaVu Sans (Debian ``fonts-dejavu-core``), which has every
Vietnamese letter; without it Pillow's built-in font is used (it may lack some glyphs).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Final

import qrcode
from PIL import Image, ImageDraw, ImageFont, ImageOps
from qrcode.constants import ERROR_CORRECT_H, ERROR_CORRECT_L, ERROR_CORRECT_M, ERROR_CORRECT_Q

__all__ = [
    "FONT_DIR",
    "image_to_raster",
    "load_font",
    "qr_image",
    "render_text_line",
]

FONT_DIR: Final = Path("/usr/share/fonts/truetype/dejavu")
_FONT_FILES: Final = {False: "DejaVuSans.ttf", True: "DejaVuSans-Bold.ttf"}

#: Cell heights in dots of Epson Font A and Font B, used as raster line heights.
FONT_HEIGHT: Final = {"a": 24, "b": 17}
_LINE_GAP: Final = 4
_FRAGMENT_ROWS: Final = 256

_QR_LEVELS: Final = {"L": ERROR_CORRECT_L, "M": ERROR_CORRECT_M, "Q": ERROR_CORRECT_Q, "H": ERROR_CORRECT_H}

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@cache
def load_font(size: int, bold: bool = False) -> Font:
    """Return DejaVu Sans at *size* pixels, or Pillow's default font when it is missing."""
    for name in (_FONT_FILES[bold], _FONT_FILES[False]):
        path = FONT_DIR / name
        if path.exists():
            return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


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

    The image is cropped to the ink width (rounded up to 8 dots) so that raster data
    stays small; alignment is left to ESC a.
    """
    cell = FONT_HEIGHT.get(font, 24)
    face = load_font(int(cell * 0.82), bold)
    left, top, right, bottom = face.getbbox(text or " ")
    text_w = max(8, int(right) + 2)
    base = Image.new("L", (text_w, cell + _LINE_GAP), 255)
    ImageDraw.Draw(base).text((0, 1), text, font=face, fill=0)
    target_w = text_w * width
    target_h = (cell + _LINE_GAP) * height
    if target_w > max_width:
        target_w = max_width
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
