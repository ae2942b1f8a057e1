"""One search box for patient records: exact identifiers first, then names without diacritics.

Order of work for a query ``q`` (see :func:`search`):

1. A scanned CCCD QR (contains ``|``), a 12-digit CCCD, a 9-digit CMND, a 15-character
   BHYT card code, a 10-digit mã số BHXH, a phone number or a patient code: looked up
   by equality on indexed columns (``ix_patient_identifiers_kind_value``,
   ``ix_bhyt_cards_card_code``, ``ix_patients_phone``, ``uq_patients_code``). Old
   (cancelled) numbers are found too and marked.
2. Otherwise a name, optionally with a 4-digit birth year ("nguyen van a 1956"). The
   name is folded (``station.text.fold``: no diacritics, lower case), then:

   * a range scan of the folded full name (``name_folded >= q AND name_folded < q'``,
     on ``ix_patients_birth_year_name`` when a year is given, else ``ix_patients_name_folded``):
     names that start with what was typed;
   * a range scan per word on ``patient_name_tokens (token, patient_id)``, driven by the
     rarest word (bounded counts), the other words checked with an index probe: finds
     "van a", "hoa" or "thi lan" anywhere in the name.

   Both are range scans on B-tree indexes on SQLite and PostgreSQL; no ``LIKE '%x%'``.
   Candidates are ranked in Python (exact name, name prefix, words in order, given
   name, accents typed as stored) and the best ``limit`` returned.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session, aliased, selectinload

from station.identify import IdentifyError, identify
from station.patients.models import BhytCard, Patient, PatientIdentifier, PatientNameToken, name_tokens
from station.patients.services import SEXES, format_birth, survivor_of, visit_counts
from station.text import clean, fold

_CODE = re.compile(r"^[0-9A-Z]{5}-\d{7}$")
_YEAR = re.compile(r"^(18|19|20)\d{2}$")
#: Candidates fetched per path before ranking.
CANDIDATES = 300
#: A word matching more rows than this is not used to drive the token scan.
DRIVER_PROBE = 50_000


@dataclass
class Hit:
    """One patient found, with what is needed to tell namesakes apart."""

    patient: Patient
    score: int
    reason: str = ""
    old_identifier: bool = False
    last_visit: datetime | None = None

    @property
    def birth(self) -> str:
        return format_birth(self.patient.birth_date, self.patient.birth_precision)

    @property
    def commune(self) -> str:
        return commune_name(self.patient.commune_code)

    def as_dict(self) -> dict[str, Any]:
        """JSON for the reception screen."""
        p = self.patient
        return {"id": str(p.id), "code": p.code, "full_name": p.full_name, "birth": self.birth,
                "birth_year": p.birth_year, "sex": p.sex, "sex_label": SEXES.get(p.sex, ""),
                "commune": self.commune, "hamlet": p.hamlet, "phone": p.phone,
                "cccd": p.active_identifier("cccd"), "status": p.status,
                "last_visit": self.last_visit.isoformat() if self.last_visit else None,
                "reason": self.reason, "old_identifier": self.old_identifier, "url": f"/patients/{p.id}"}


@dataclass
class SearchResult:
    """What the search box found, and how it read the query."""

    query: str
    #: "empty", "identifier", "name" or "invalid".
    mode: str
    hits: list[Hit] = field(default_factory=list)
    #: What the text was taken for ("cccd_qr", "bhyt_code", "name"...).
    kind: str = ""
    message: str = ""
    birth_year: int | None = None
    #: Parsed identify() fields (e.g. the QR) when nothing was found: offered for registration.
    parsed: dict[str, Any] | None = None

    @property
    def exact(self) -> Hit | None:
        """The single identifier match, if exactly one record was found by identifier."""
        return self.hits[0] if self.mode == "identifier" and len(self.hits) == 1 else None


@lru_cache(maxsize=4096)
def commune_name(code: str) -> str:
    """Name of a post-2025 commune/ward code ("" when empty or unknown)."""
    if not code:
        return ""
    from vietnam_provinces import Ward

    try:
        return Ward.from_code(int(code)).name
    except (ValueError, KeyError):
        return code


def search(session: Session, query: str, *, limit: int = 50, today: date | None = None,
           with_last_visit: bool = True) -> SearchResult:
    """Search records by identifier or name; see the module docstring for the order and indexes."""
    q = clean(query or "")
    if not q:
        return SearchResult(query="", mode="empty")
    result = _identifier_search(session, q, today)
    if result is None:
        result = _name_search(session, q, limit)
    if with_last_visit and result.hits:
        last = visit_counts(session, [h.patient.id for h in result.hits])
        for hit in result.hits:
            hit.last_visit = last.get(hit.patient.id)
    return result


# --- Identifiers --------------------------------------------------------------------------

def _identifier_search(session: Session, q: str, today: date | None) -> SearchResult | None:
    upper = q.upper().replace(" ", "")
    if _CODE.match(upper):
        patient = session.scalar(select(Patient).where(Patient.code == upper))
        hits = [Hit(survivor_of(session, patient), 100, "Mã bệnh nhân")] if patient else []
        return SearchResult(q, "identifier", hits, kind="patient_code",
                            message="" if hits else f"Không có hồ sơ mang mã {upper}.")
    try:
        found = identify(q, today=today)
    except IdentifyError as error:
        if "|" in q or (q.replace(" ", "").isdigit() and len(q.replace(" ", "")) >= 8):
            return SearchResult(q, "invalid", kind="invalid", message=str(error))
        return None
    kind, fields = found["kind"], found["fields"]
    lookups: list[tuple[str, str, str]] = []  # (identifier kind, value, reason)
    hits: list[Hit] = []
    if kind in ("cccd_qr", "cccd_number"):
        lookups.append(("cccd", fields["number"], "Số CCCD"))
        if kind == "cccd_qr" and fields.get("old_id"):
            lookups.append(("cmnd", fields["old_id"], "Số CMND cũ"))
    elif kind == "cmnd_number":
        lookups.append(("cmnd", fields["number"], "Số CMND"))
    elif kind == "bhyt_code":
        for card in session.scalars(select(BhytCard).where(BhytCard.card_code == fields["code"])):
            hits.append(Hit(card.patient, 100, "Mã thẻ BHYT"))
        lookups.append(("bhxh", fields["bhxh_number"], "Mã số BHXH"))
    elif kind == "bhxh_number":
        lookups.append(("bhxh", fields["number"], "Mã số BHXH"))
    elif kind == "phone":
        for patient in session.scalars(select(Patient).where(Patient.phone == fields["number"]).limit(50)):
            hits.append(Hit(patient, 90, "Số điện thoại"))
        if fields["number"].startswith("08"):
            lookups.append(("bhxh", fields["number"], "Mã số BHXH"))
    else:  # vietqr and anything else is not a person
        return SearchResult(q, "invalid", kind=kind, message="Mã vừa quét không phải giấy tờ của người bệnh.")
    for ident_kind, value, reason in lookups:
        rows = session.execute(select(PatientIdentifier.patient_id, PatientIdentifier.status).where(
            PatientIdentifier.kind == ident_kind, PatientIdentifier.value == value)).all()
        for patient_id, status in rows:
            patient = session.get(Patient, patient_id)
            if patient is None:
                continue
            old = status != "active"
            hits.append(Hit(patient, 80 if old else 100, reason + (" (số cũ đã hủy)" if old else ""), old))
    merged: dict[uuid.UUID, Hit] = {}
    for hit in hits:
        hit.patient = survivor_of(session, hit.patient)
        best = merged.get(hit.patient.id)
        if best is None or hit.score > best.score:
            merged[hit.patient.id] = hit
    ordered = sorted(merged.values(), key=lambda h: (-h.score, h.patient.name_folded))
    result = SearchResult(q, "identifier", ordered, kind=kind)
    if not ordered:
        result.message = "Chưa có hồ sơ nào mang giấy tờ này."
        result.parsed = fields
    return result


# --- Names -------------------------------------------------------------------------------

def _upper_bound(prefix: str) -> str:
    """The smallest string greater than every string that starts with *prefix*."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _split_query(q: str) -> tuple[str, int | None]:
    words, year = [], None
    for word in q.split(" "):
        if _YEAR.match(word) and year is None:
            year = int(word)
        else:
            words.append(word)
    return " ".join(words), year


def _name_search(session: Session, q: str, limit: int) -> SearchResult:
    name_part, year = _split_query(q)
    folded = fold(name_part)
    tokens = name_tokens(name_part)
    result = SearchResult(q, "name", kind="name", birth_year=year)
    if not tokens:
        result.message = "Nhập họ tên (có hoặc không dấu), năm sinh, số CCCD, mã thẻ BHYT hoặc số điện thoại."
        return result
    # Candidates as light rows (id, name, folded name, year): ranked first, loaded after.
    candidates: dict[uuid.UUID, tuple[str, str]] = {}
    columns = (Patient.id, Patient.full_name, Patient.name_folded)
    # 1. Folded full-name prefix: one range scan.
    prefix = select(*columns).where(Patient.name_folded >= folded, Patient.name_folded < _upper_bound(folded),
                                    Patient.status != "merged")
    if year is not None:
        prefix = prefix.where(Patient.birth_year == year)
    for pid, full_name, name_folded in session.execute(prefix.order_by(Patient.name_folded).limit(CANDIDATES)):
        candidates[pid] = (full_name, name_folded)
    exact = any(fname == folded for _, fname in candidates.values())
    if year is not None and not exact:
        # 2a. With a birth year: every name of that year from ix_patients_birth_year_name (a few
        # thousand at most), matched word by word in Python.
        names = {name for (name,) in session.execute(
            select(Patient.name_folded).where(Patient.birth_year == year).distinct())  # covering index scan
            if all(any(w.startswith(t) for w in name.split(" ")) for t in tokens)}
        if names:
            for pid, full_name, name_folded in session.execute(select(*columns).where(
                    Patient.birth_year == year, Patient.name_folded.in_(sorted(names)[:CANDIDATES]),
                    Patient.status != "merged")):
                candidates.setdefault(pid, (full_name, name_folded))
    elif not exact:
        # 2b. Word index, driven by the rarest word. Skipped when someone bears exactly the typed
        # name: those (and the names that extend it) are the answer.
        for pid, full_name, name_folded in session.execute(_token_query(session, tokens, year)):
            candidates.setdefault(pid, (full_name, name_folded))
    scored = sorted(((_score(name, fname, name_part, folded, tokens), fname, pid)
                     for pid, (name, fname) in candidates.items()), key=lambda t: (-t[0], t[1]))
    top = [(score, pid) for score, _, pid in scored if score > 0][:limit]
    if top:
        loaded = {p.id: p for p in session.scalars(select(Patient).options(selectinload(Patient.identifiers))
                                                   .where(Patient.id.in_([pid for _, pid in top])))}
        result.hits = [Hit(loaded[pid], score) for score, pid in top]
        result.hits.sort(key=lambda h: (-h.score, h.patient.name_folded, h.patient.birth_year))
    if not result.hits:
        result.message = "Không tìm thấy hồ sơ nào khớp với tên này" + (f" sinh năm {year}." if year else ".")
    return result


def _token_range(column: Any, token: str) -> Any:
    return and_(column >= token, column < _upper_bound(token))


def _token_query(session: Session, tokens: list[str], year: int | None) -> Any:
    """SELECT patients having every query word as a word prefix, driven by the rarest word."""
    unique = list(dict.fromkeys(tokens))

    def bounded_count(token: str) -> int:
        inner = select(PatientNameToken.patient_id).where(
            _token_range(PatientNameToken.token, token)).limit(DRIVER_PROBE).subquery()
        return int(session.scalar(select(func.count()).select_from(inner)) or 0)

    driver = min(unique, key=bounded_count) if len(unique) > 1 else unique[0]
    t0 = aliased(PatientNameToken)
    query = (select(Patient.id, Patient.full_name, Patient.name_folded).join(t0, t0.patient_id == Patient.id)
             .where(_token_range(t0.token, driver), Patient.status != "merged"))
    if year is not None:
        query = query.where(Patient.birth_year == year)
    for token in unique:
        if token == driver:
            continue
        other = aliased(PatientNameToken)
        query = query.where(exists().where(other.patient_id == Patient.id, _token_range(other.token, token)))
    return query.distinct().limit(CANDIDATES)


def _score(full_name: str, name_folded: str, typed: str, folded: str, tokens: list[str]) -> int:
    """Rank a candidate: exact name > name prefix > words in order > words anywhere; accents break ties."""
    words = name_folded.split(" ")
    if name_folded == folded:
        score = 100
    elif name_folded.startswith(folded):
        score = 90
    else:
        positions = []
        for token in tokens:
            pos = next((i for i, w in enumerate(words) if w.startswith(token) and i not in positions), None)
            if pos is None:
                return 0
            positions.append(pos)
        in_order = positions == sorted(positions)
        consecutive = in_order and positions == list(range(positions[0], positions[0] + len(positions)))
        score = 80 if consecutive else 70 if in_order else 60
        if positions[-1] == len(words) - 1:
            score += 5  # the last word typed is the given name (tên)
    score += sum(1 for token in tokens if token in words)  # whole words over prefixes
    accented = clean(typed).lower().split(" ")
    stored = full_name.lower().split(" ")
    score += sum(1 for word in accented if word in stored and fold(word) != word)  # accents typed as stored
    return score
