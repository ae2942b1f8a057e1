"""BHYT eligibility: the BHXH card lookup behind an adapter, with "to verify" and retries.

The contract is in ``docs/eligibility.md``. In short: the station asks with
:class:`CardQuery` (the ``KQNhanLichSuKCB2024`` inputs of DOMAIN §2.1) and gets
a :class:`CardResult`; an adapter raises :class:`PortalUnavailable` when the
portal cannot answer (network, timeout, 5xx, malformed reply). Then the patient
is still admitted, the visit is marked ``to_verify`` and :func:`retry_pending`
looks it up again later (NĐ 188/2025 Đ38 k2, DOMAIN §2.3).

Rule for an expired card (``gtTheDen`` before the visit date): the visit goes
on as a patient without insurance: ``eligibility = "rejected"``, the note says
since when the card expired, and reception sees the message; if the patient
brings a renewed card, reception checks again.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from station.audit import services as audit
from station.audit.services import Actor
from station.clock import Clock, SystemClock, to_local
from station.patients.models import BhytCard, Patient
from station.patients.services import current_card
from station.reception.models import EligibilityCheck
from station.visits.models import Visit

#: maKetQua of a card found and valid (the simulator's convention, see docs/eligibility.md).
RESULT_OK = "000"


class PortalUnavailable(Exception):
    """The BHXH portal could not answer (unreachable, timeout, server error, unreadable reply)."""


@dataclass(frozen=True)
class CardQuery:
    """The lookup inputs (KQNhanLichSuKCB2024)."""

    #: 15-character card code, 10-digit mã số BHXH or 12-digit personal ID.
    card_code: str
    full_name: str
    birth_date: date
    #: Name and CCCD number of the staff member doing the lookup (hoTenCb, cccdCb).
    staff_name: str = ""
    staff_id_number: str = ""

    def as_payload(self) -> dict[str, str]:
        return {"maThe": self.card_code, "hoTen": self.full_name, "ngaySinh": self.birth_date.strftime("%d/%m/%Y"),
                "hoTenCb": self.staff_name, "cccdCb": self.staff_id_number}


@dataclass(frozen=True)
class CardResult:
    """The portal's answer, already parsed."""

    code: str
    message: str = ""
    card_code: str = ""
    bhxh_number: str = ""
    registered_facility: str = ""
    valid_from: date | None = None
    valid_to: date | None = None
    area_code: str = ""
    five_years_on: date | None = None
    benefit_percent: Decimal | None = None

    @property
    def found(self) -> bool:
        return self.code == RESULT_OK


class EligibilityAdapter(Protocol):
    """Anything that can look a card up; raises PortalUnavailable when it cannot."""

    def lookup(self, query: CardQuery) -> CardResult: ...


def _date(text: Any) -> date | None:
    text = str(text or "").strip()
    if not text:
        return None
    for fmt in ("%d/%m/%Y", "%Y%m%d", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"unreadable date {text!r}")


def parse_response(body: Mapping[str, Any]) -> CardResult:
    """Turn a portal JSON reply into a CardResult; ValueError when it is malformed."""
    code = str(body.get("maKetQua", "")).strip()
    if not code:
        raise ValueError("reply without maKetQua")
    benefit = body.get("mucHuong")
    try:
        benefit_value = Decimal(str(benefit)) if benefit not in (None, "") else None
    except InvalidOperation:
        benefit_value = None
    return CardResult(code=code, message=str(body.get("ghiChu") or body.get("thongDiep") or ""),
                      card_code=str(body.get("maThe") or "").strip().upper(),
                      bhxh_number=str(body.get("maSoBHXH") or "").strip(),
                      registered_facility=str(body.get("maDKBD") or "").strip(),
                      valid_from=_date(body.get("gtTheTu")), valid_to=_date(body.get("gtTheDen")),
                      area_code=str(body.get("maKV") or "").strip(), five_years_on=_date(body.get("ngayDu5Nam")),
                      benefit_percent=benefit_value)


class HttpEligibilityAdapter:
    """POSTs the query as JSON to ``ELIGIBILITY_URL`` and reads the JSON reply, with a timeout."""

    def __init__(self, url: str, *, timeout: float = 3.0, token: str = "") -> None:
        self.url = url
        self.timeout = timeout
        self.token = token

    def lookup(self, query: CardQuery) -> CardResult:
        data = json.dumps(query.as_payload(), ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (configured URL)
                body = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            error.close()
            raise PortalUnavailable(f"HTTP {error.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise PortalUnavailable(type(error).__name__) from None
        except (ValueError, UnicodeDecodeError):
            raise PortalUnavailable("unreadable reply") from None
        try:
            return parse_response(body)
        except (ValueError, AttributeError):
            raise PortalUnavailable("malformed reply") from None


def adapter_from_config(config: Mapping[str, Any]) -> EligibilityAdapter | None:
    """The configured adapter, or None when no portal is configured (``ELIGIBILITY_URL`` empty)."""
    url = str(config.get("ELIGIBILITY_URL") or "")
    if not url:
        return None
    return HttpEligibilityAdapter(url, timeout=float(config.get("ELIGIBILITY_TIMEOUT", 3.0)),
                                  token=str(config.get("ELIGIBILITY_TOKEN") or ""))


# --- applying a lookup to a visit --------------------------------------------------------------


def query_for(patient: Patient, visit: Visit, *, staff_name: str = "", staff_id_number: str = "") -> CardQuery | None:
    """Build the lookup for *visit*: its card, else the patient's latest card, else the personal ID."""
    code = ""
    if visit.bhyt_card is not None:
        code = visit.bhyt_card.card_code
    elif patient.bhyt_cards:
        code = current_card(patient, to_local(visit.arrived_at).date()).card_code  # type: ignore[union-attr]
    else:
        code = patient.active_identifier("cccd") or ""
    if not code:
        return None
    return CardQuery(card_code=code, full_name=patient.full_name, birth_date=patient.birth_date,
                     staff_name=staff_name, staff_id_number=staff_id_number)


@dataclass
class EligibilityOutcome:
    """What happened, for the screen: the new state and a Vietnamese message."""

    eligibility: str
    message: str
    warnings: list[str] = field(default_factory=list)


def check_visit(session: Session, visit: Visit, adapter: EligibilityAdapter | None, *, actor: Actor,
                staff_name: str = "", staff_id_number: str = "", clock: Clock | None = None) -> EligibilityOutcome:
    """Look up the visit's card and record the result on the visit; flush only.

    Portal down → ``to_verify`` (the visit goes on); card valid on the visit date →
    ``verified`` with the card stored; not found → ``rejected``; expired → ``rejected``
    with the expiry date in the note (the visit continues without insurance).
    """
    now = (clock or SystemClock()).now()
    patient = visit.patient
    query = query_for(patient, visit, staff_name=staff_name or actor.label, staff_id_number=staff_id_number)
    if query is None:
        visit.eligibility, visit.eligibility_note = "uninsured", ""
        return EligibilityOutcome("uninsured", "Người bệnh không có mã thẻ BHYT hay số định danh để tra cứu.")
    if adapter is None:
        outcome = EligibilityOutcome("to_verify", "Chưa cấu hình cổng tra cứu BHXH: thẻ sẽ được kiểm tra sau.")
        visit.eligibility, visit.eligibility_note = "to_verify", outcome.message
        _log(session, visit, now, "unreachable", "not_configured", outcome.message, actor)
        return outcome
    try:
        result = adapter.lookup(query)
    except PortalUnavailable as error:
        message = "Không kết nối được cổng BHXH: người bệnh vẫn được tiếp đón, thẻ sẽ được tra cứu lại sau."
        visit.eligibility, visit.eligibility_note = "to_verify", message
        _log(session, visit, now, "unreachable", str(error)[:40], message, actor)
        return EligibilityOutcome("to_verify", message)
    visit_day = to_local(visit.arrived_at).date()
    if not result.found:
        message = f"Cổng BHXH không xác nhận thẻ (mã {result.code}{': ' + result.message if result.message else ''})."
        visit.eligibility, visit.eligibility_note = "rejected", message[:255]
        visit.insurance_object_type = ""
        _log(session, visit, now, "rejected", result.code, message, actor)
        return EligibilityOutcome("rejected", message + " Lượt khám tiếp tục như người bệnh không có BHYT.")
    card = _store_card(session, patient, result, now)
    visit.bhyt_card = card
    if result.valid_to is not None and result.valid_to < visit_day or (
            result.valid_from is not None and result.valid_from > visit_day):
        when = result.valid_to.strftime("%d/%m/%Y") if result.valid_to and result.valid_to < visit_day else ""
        message = (f"Thẻ BHYT {card.card_code} đã hết hạn ngày {when}." if when
                   else f"Thẻ BHYT {card.card_code} chưa đến ngày có giá trị.")
        message += " Lượt khám tiếp tục như người bệnh không có BHYT (tự chi trả), trừ khi xuất trình thẻ mới."
        visit.eligibility, visit.eligibility_note = "rejected", message[:255]
        visit.insurance_object_type = ""
        _log(session, visit, now, "expired", result.code, message, actor)
        return EligibilityOutcome("rejected", message)
    message = f"Thẻ BHYT {card.card_code} hợp lệ"
    if result.valid_to:
        message += f" đến {result.valid_to:%d/%m/%Y}"
    if result.registered_facility:
        message += f", nơi đăng ký KCB ban đầu {result.registered_facility}"
    message += "."
    visit.eligibility, visit.eligibility_note = "verified", message[:255]
    _log(session, visit, now, "verified", result.code, "", actor)
    return EligibilityOutcome("verified", message)


def _store_card(session: Session, patient: Patient, result: CardResult, now: datetime) -> BhytCard:
    code = result.card_code or (patient.bhyt_cards[0].card_code if patient.bhyt_cards else "")
    card = next((c for c in patient.bhyt_cards if c.card_code == code), None) if code else None
    if card is None:
        card = BhytCard(patient_id=patient.id, card_code=code[:15])
        session.add(card)
        patient.bhyt_cards.append(card)
    card.valid_from, card.valid_to = result.valid_from, result.valid_to
    card.registered_facility = result.registered_facility[:5]
    card.area_code = result.area_code[:2]
    card.five_years_on = result.five_years_on
    if result.benefit_percent is not None:
        card.benefit_percent = result.benefit_percent
    card.verified_at = now
    session.flush()
    return card


def _log(session: Session, visit: Visit, now: datetime, outcome: str, code: str, message: str, actor: Actor) -> None:
    session.add(EligibilityCheck(visit_id=visit.id, checked_at=now, outcome=outcome, code=code[:40],
                                 message=message[:255], checked_by=actor.label[:64]))
    session.flush()
    audit.record(session, actor, "visit.eligibility", entity_type="visit", entity_id=visit.id,
                 detail={"patient": str(visit.patient_id), "outcome": outcome})


def retry_pending(session: Session, adapter: EligibilityAdapter | None, *, actor: Actor, clock: Clock | None = None,
                  max_age_days: int = 7, limit: int = 50, staff_name: str = "",
                  staff_id_number: str = "") -> dict[str, int]:
    """Look up again the visits still "to verify" (oldest first); return counts per new state."""
    now = (clock or SystemClock()).now()
    counts: dict[str, int] = {}
    if adapter is None:
        return counts
    visits = session.scalars(select(Visit).where(Visit.eligibility == "to_verify",
                                                 Visit.arrived_at >= now - timedelta(days=max_age_days))
                             .order_by(Visit.arrived_at).limit(limit)).all()
    for visit in visits:
        outcome = check_visit(session, visit, adapter, actor=actor, clock=clock, staff_name=staff_name,
                              staff_id_number=staff_id_number)
        counts[outcome.eligibility] = counts.get(outcome.eligibility, 0) + 1
        if outcome.eligibility == "to_verify":
            break  # the portal is still down: try the rest next time
    return counts


# --- loopback simulator (tests, demos, training) --------------------------------------------------


class PortalSimulator:
    """A tiny BHXH-lookup look-alike on 127.0.0.1 (port 0 = a free port).

    ``cards`` maps a lookup code (card code, BHXH number or personal ID) to the
    reply fields; unknown codes get maKetQua "010" (card not found). Set
    ``down = True`` to answer 503, or ``delay`` seconds to test timeouts.
    """

    def __init__(self, cards: dict[str, dict[str, Any]] | None = None) -> None:
        self.cards: dict[str, dict[str, Any]] = dict(cards or {})
        self.down = False
        self.delay = 0.0
        self.requests: list[dict[str, Any]] = []
        simulator = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    payload = json.loads(self.rfile.read(length).decode("utf-8"))
                except ValueError:
                    payload = {}
                simulator.requests.append(payload)
                if simulator.delay:
                    threading.Event().wait(simulator.delay)
                if simulator.down:
                    self._send(503, {"thongDiep": "Hệ thống đang bảo trì"})
                    return
                card = simulator.cards.get(str(payload.get("maThe", "")))
                if card is None:
                    self._send(200, {"maKetQua": "010", "ghiChu": "Không tìm thấy thông tin thẻ"})
                else:
                    self._send(200, {"maKetQua": RESULT_OK, **card})

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - no patient data in logs
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, name="bhxh-simulator", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/api/egw/KQNhanLichSuKCB2024"

    def start(self) -> "PortalSimulator":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> "PortalSimulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
