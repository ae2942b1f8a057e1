"""Character tables for ESC t code pages, including TCVN-3 (Vietnamese).

Python has no TCVN-3 codec, so the two Epson TCVN-3 tables are written out here. They
follow escpos-printer-db (the ``capabilities.json`` bundled with python-escpos 3.1):

* ``TCVN-3-1`` (Epson ESC t 30): every lower-case Vietnamese letter;
* ``TCVN-3-2`` (Epson ESC t 31): every upper-case Vietnamese letter. The database writes
  the capital D with stroke at 0xA7 as U+00D0 (Icelandic eth, which looks the same);
  here it is U+0110 ``Đ``, the letter Vietnamese text actually contains.

Bytes 0x00-0x7F are ASCII in every table. Other tables (CP437, CP1252 ...) come from
Python's codecs. The names are those of escpos-printer-db.
"""

from __future__ import annotations

import codecs
import unicodedata
from collections.abc import Mapping
from functools import cache
from types import MappingProxyType

__all__ = [
    "KNOWN_ENCODINGS",
    "TCVN3_LOWER",
    "TCVN3_UPPER",
    "VIETNAMESE_LETTERS",
    "canonical_encoding",
    "decode_table",
    "encode_table",
    "fold_diacritics",
    "normalize_text",
]

TCVN3_LOWER = "TCVN-3-1"
TCVN3_UPPER = "TCVN-3-2"

# Rows 0xA0..0xFF, 16 characters each; a space marks an empty cell.
_TCVN3_ROWS: dict[str, tuple[str, ...]] = {
    TCVN3_LOWER: (
        "        ăâêôơưđ ",
        "     àảãáạ ằẳẵắ ",
        "      ặầẩẫấậè ẻẽ",
        "éẹềểễếệìỉ   ĩíịò",
        " ỏõóọồổỗốộờởỡớợù",
        " ủũúụừửữứựỳỷỹýỵ ",
    ),
    TCVN3_UPPER: (
        " ĂÂ    Đ  ÊÔƠƯ  ",
        "     ÀẢÃÁẠ ẰẲẴẮ ",
        "      ẶẦẨẪẤẬÈ ẺẼ",
        "ÉẸỀỂỄẾỆÌỈ   ĨÍỊÒ",
        " ỎÕÓỌỒỔỖỐỘỜỞỠỚỢÙ",
        " ỦŨÚỤỪỬỮỨỰỲỶỸÝỴ ",
    ),
}

# escpos-printer-db name -> Python codec for the single-byte tables we can decode.
_PYTHON_CODECS: dict[str, str] = {
    "CP437": "cp437",
    "CP850": "cp850",
    "CP852": "cp852",
    "CP857": "cp857",
    "CP858": "cp858",
    "CP860": "cp860",
    "CP863": "cp863",
    "CP865": "cp865",
    "CP866": "cp866",
    "CP1250": "cp1250",
    "CP1251": "cp1251",
    "CP1252": "cp1252",
    "CP1258": "cp1258",
    "ISO_8859-2": "iso8859_2",
    "ISO_8859-15": "iso8859_15",
}

_ALIASES: dict[str, str] = {
    "PC437": "CP437",
    "PC850": "CP850",
    "PC852": "CP852",
    "PC857": "CP857",
    "PC858": "CP858",
    "PC866": "CP866",
    "WPC1252": "CP1252",
    "WPC1258": "CP1258",
    "TCVN3-1": TCVN3_LOWER,
    "TCVN3-2": TCVN3_UPPER,
}

#: Every encoding name a profile may use in ``code_pages``.
KNOWN_ENCODINGS: frozenset[str] = frozenset(_PYTHON_CODECS) | frozenset(_TCVN3_ROWS)

# Typographic characters that have a plain ASCII twin; applied before encoding.
_PUNCTUATION = str.maketrans(
    {
        "\u00a0": " ",
        "\u2002": " ",
        "\u2003": " ",
        "\u2009": " ",
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2022": "*",
        "\u2026": "...",
        "\u20ab": "đ",
        "\t": " ",
    }
)


def _vietnamese_letters() -> tuple[str, ...]:
    """Build the 67 lower- and 67 upper-case Vietnamese letters that carry a diacritic."""
    bases = "aăâeêioôơuưy"
    tones = ("", "\u0300", "\u0309", "\u0303", "\u0301", "\u0323")
    lower = [
        unicodedata.normalize("NFC", base + tone) for base in bases for tone in tones
    ]
    lower = [c for c in lower if c not in "aeiouy"] + ["đ"]
    return tuple(lower + [c.upper() for c in lower])


#: The 134 Vietnamese letters with a diacritic (67 lower case, then 67 upper case).
VIETNAMESE_LETTERS: tuple[str, ...] = _vietnamese_letters()


def canonical_encoding(name: str) -> str | None:
    """Return the escpos-printer-db name for *name*, or None when it is unknown."""
    key = name.strip().upper().replace("_", "-") if name else ""
    key = key.replace("ISO-8859", "ISO_8859")
    key = _ALIASES.get(key, key)
    return key if key in KNOWN_ENCODINGS else None


@cache
def decode_table(encoding: str) -> Mapping[int, str]:
    """Return byte -> character for the upper half (0x80-0xFF) of *encoding*."""
    table: dict[int, str] = {}
    if encoding in _TCVN3_ROWS:
        for row_index, row in enumerate(_TCVN3_ROWS[encoding]):
            for col, char in enumerate(row):
                if char != " ":
                    table[0xA0 + 16 * row_index + col] = char
    else:
        decoder = codecs.getdecoder(_PYTHON_CODECS[encoding])
        for byte in range(0x80, 0x100):
            try:
                char = decoder(bytes([byte]))[0]
            except UnicodeDecodeError:
                continue
            if char.isprintable():
                table[byte] = char
    return MappingProxyType(table)


@cache
def encode_table(encoding: str) -> Mapping[str, int]:
    """Return character -> byte for the upper half of *encoding* (first byte wins)."""
    table: dict[str, int] = {}
    for byte, char in decode_table(encoding).items():
        table.setdefault(char, byte)
    return MappingProxyType(table)


def normalize_text(text: str) -> str:
    """Return *text* in NFC with typographic punctuation folded to ASCII."""
    return unicodedata.normalize("NFC", text).translate(_PUNCTUATION)


def fold_diacritics(text: str, replacement: str = "?") -> str:
    """Strip Vietnamese diacritics; replace anything still outside ASCII by *replacement*."""
    decomposed = unicodedata.normalize("NFD", normalize_text(text))
    out: list[str] = []
    for char in decomposed:
        if unicodedata.combining(char):
            continue
        if char == "đ":
            char = "d"
        elif char == "Đ":
            char = "D"
        out.append(char if " " <= char <= "~" else replacement)
    return "".join(out)
