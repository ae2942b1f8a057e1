"""Vietnamese text helpers shared by search, parsers and printing.

``fold`` is the one definition of "the same letters without regard to
diacritics or case" used by every search index in the station (patients,
ICD-10, drugs), so that a term typed without accents finds the accented name.
"""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
# Đ/đ are separate letters, not D + combining mark, so NFD does not split them.
_LETTER_MAP = str.maketrans({"đ": "d", "Đ": "d"})


def nfc(text: str) -> str:
    """Return *text* in Unicode NFC (some scanners and keyboards send NFD)."""
    return unicodedata.normalize("NFC", text)


def clean(text: str) -> str:
    """Return NFC text with runs of white space collapsed and ends trimmed."""
    return _SPACES.sub(" ", nfc(text)).strip()


def fold(text: str) -> str:
    """Return *text* lower-cased without diacritics: "Nguyễn Văn Á" -> "nguyen van a"."""
    decomposed = unicodedata.normalize("NFD", text.translate(_LETTER_MAP))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped.lower()).strip()
