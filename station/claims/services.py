"""Export and submission of QĐ 130 claims (XML0–3, 13, 14 in the GIAMDINHHS envelope).

Configuration (``instance/station.cfg`` or ``STATION_*`` environment; never in the repository)::

    CLAIMS_PORTAL_URL       base URL of the BHXH portal web service ("" = submission disabled)
    CLAIMS_PORTAL_USERNAME  portal account
    CLAIMS_PORTAL_PASSWORD  portal password (MD5-hashed by the submitter, never stored or logged)
    CLAIMS_PORTAL_TIMEOUT   seconds, default 30
    CLAIMS_SIGNER           "test" (default): HMAC test signature, accepted by test portals only.
    CLAIMS_SIGNER_KEY       key of the test signer

The facility's real signature (SHA-256 with the certificate registered on the
BHXH portal, DOMAIN §3.3) is a deployment matter: a station plugs a signer
object with ``sign(bytes) -> str`` in through :func:`set_signer` (for example
one backed by a USB token through PKCS#11) before going live.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from station.audit import services as audit
from station.audit.services import Actor
from station.billing.models import ClaimSubmission
from station.claims import export
from station.claims import xml130 as x
from station.clock import Clock, SystemClock, local_today
from station.errors import Conflict, ValidationFailed
from station.visits.models import Visit

_signer_override: dict[str, x.Signer] = {}


def set_signer(signer: x.Signer | None) -> None:
    """Install the facility's certificate signer (None restores the configured default)."""
    if signer is None:
        _signer_override.clear()
    else:
        _signer_override["signer"] = signer


def signer_from_config(config: Mapping[str, Any]) -> x.Signer:
    """Return the signer to use: an installed one, else the test signer."""
    if "signer" in _signer_override:
        return _signer_override["signer"]
    kind = str(config.get("CLAIMS_SIGNER", "test") or "test")
    if kind != "test":
        raise ValidationFailed(f"Bộ ký số {kind!r} chưa được cài đặt trên trạm; dùng 'test' hoặc cài bộ ký chứng thư số.")
    key = str(config.get("CLAIMS_SIGNER_KEY", "") or "tram-y-te-so-test-key").encode("utf-8")
    return x.TestSigner(key)


def submitter_from_config(config: Mapping[str, Any], ma_tinh: str, ma_cskcb: str,
                          day: date | None = None) -> x.HttpPortalSubmitter:
    """Return the HTTP submitter for the configured portal, or raise naming the missing setting."""
    url = str(config.get("CLAIMS_PORTAL_URL", "") or "")
    username = str(config.get("CLAIMS_PORTAL_USERNAME", "") or "")
    password = str(config.get("CLAIMS_PORTAL_PASSWORD", "") or "")
    if not url:
        raise ValidationFailed("Chưa cấu hình địa chỉ cổng BHXH (CLAIMS_PORTAL_URL).")
    if not username or not password:
        raise ValidationFailed("Chưa cấu hình tài khoản cổng BHXH (CLAIMS_PORTAL_USERNAME, CLAIMS_PORTAL_PASSWORD).")
    return x.HttpPortalSubmitter(url, username, password, float(config.get("CLAIMS_PORTAL_TIMEOUT", 30) or 30),
                                 ma_tinh=ma_tinh, ma_cskcb=ma_cskcb,
                                 paths=x.portal_paths_on(day or local_today()))


@dataclass
class ExportResult:
    """What an export wrote, and what it could not."""

    written: list[tuple[str, Path]] = field(default_factory=list)  #: (MA_LK, file)
    skipped: list[tuple[str, list[str]]] = field(default_factory=list)  #: (MA_LK, reasons)
    summary_path: Path | None = None


def build_envelope(session: Session, visit: Visit, signer: x.Signer, *, clock: Clock | None = None
                   ) -> tuple[x.ClaimSubmission | None, list[str]]:
    """Return the signed claim of *visit*, or None with the reasons it is not exportable."""
    settings = export.claim_settings(session)
    prepared = export.prepare(session, visit, settings=settings)
    if prepared.reasons or prepared.claim is None:
        return None, prepared.reasons
    today = local_today(clock)
    try:
        return x.build_submission(prepared.claim, signer, ngay_lap=today, settings=settings), []
    except (x.ClaimError, ValueError) as exc:
        return None, [str(exc)]


def export_day(session: Session, day: date, out_dir: Path, signer: x.Signer, *, visit_key: str | None = None,
               actor: Actor, clock: Clock | None = None) -> ExportResult:
    """Write one envelope XML per exportable visit of *day* and a summary; audited (no commit needed)."""
    if visit_key:
        visit = export.find_visit(session, visit_key)
        if visit is None:
            raise ValidationFailed(f"Không tìm thấy lượt khám có mã liên kết {visit_key}.")
        visits = [visit]
    else:
        visits = export.visits_of_day(session, day)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = ExportResult()
    for visit in visits:
        submission, reasons = build_envelope(session, visit, signer, clock=clock)
        if submission is None:
            result.skipped.append((visit.visit_key, reasons))
            continue
        path = out_dir / f"{visit.visit_key}.xml"
        path.write_bytes(submission.envelope)
        result.written.append((visit.visit_key, path))
    summary = {
        "ngay": day.isoformat(),
        "so_ho_so": len(result.written),
        "da_xuat": [{"ma_lk": key, "tep": path.name} for key, path in result.written],
        "chua_xuat": [{"ma_lk": key, "ly_do": reasons} for key, reasons in result.skipped],
    }
    result.summary_path = out_dir / f"tong-hop-{day.isoformat()}.json"
    result.summary_path.write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    audit.record(session, actor, "claims.export", entity_type="claims_day", entity_id=day.isoformat(),
                 detail={"written": len(result.written), "skipped": len(result.skipped),
                         "visit_key": visit_key or ""}, clock=clock)
    return result


def submit_visit(session: Session, visit: Visit, submitter: x.PortalSubmitter, signer: x.Signer, *,
                 actor: Actor, clock: Clock | None = None, resend: bool = False) -> ClaimSubmission:
    """Post the visit's envelope to the portal and record the answer (flush only; audited).

    A portal that cannot be reached is recorded as "unavailable" (retry later),
    never raised to the cashier as a crash. A visit the portal already accepted
    is sent again only when asked explicitly (*resend*, e.g. a corrected file).
    """
    now = (clock or SystemClock()).now()
    accepted = next((row for row in submissions_of(session, visit) if row.status == "accepted"), None)
    if accepted is not None and not resend:
        raise Conflict(f"Hồ sơ {visit.visit_key} đã được cổng BHXH tiếp nhận (mã giao dịch "
                       f"{accepted.transaction_id or '—'}); chỉ gửi lại khi cần gửi bản đã sửa.")
    submission, reasons = build_envelope(session, visit, signer, clock=clock)
    if submission is None:
        raise ValidationFailed("Chưa thể gửi hồ sơ: " + "; ".join(reasons))
    digest = hashlib.sha256(submission.envelope).hexdigest()
    try:
        answer = submitter.submit_claim(submission.envelope)
        status = "accepted" if answer.accepted else "rejected"
        code, transaction, message = answer.code, answer.transaction_id, answer.message
    except x.PortalUnavailable as exc:
        status, code, transaction, message = "unavailable", "", "", str(exc)
    except x.PortalError as exc:
        status, code, transaction, message = "rejected", "", "", str(exc)
    row = ClaimSubmission(visit_id=visit.id, visit_key=visit.visit_key, status=status, portal_code=code[:20],
                          transaction_id=transaction[:80], message=message[:500], envelope_sha256=digest,
                          submitted_at=now, submitted_by=actor.label[:120])
    session.add(row)
    session.flush()
    audit.record(session, actor, "claims.submit", entity_type="visit", entity_id=visit.id,
                 detail={"status": status, "code": code, "transaction": transaction}, clock=clock)
    return row


def submissions_of(session: Session, visit: Visit) -> list[ClaimSubmission]:
    """Return the visit's submission attempts, newest first."""
    return list(session.scalars(select(ClaimSubmission).where(ClaimSubmission.visit_id == visit.id)
                                .order_by(ClaimSubmission.submitted_at.desc())))
