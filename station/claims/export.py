"""Build a visit's :class:`~station.claims.xml130.ClaimVisit` from the station's records.

Money lines come from the visit's stored invoice (the prices and shares the
patient paid), so the claim and the receipt can never disagree; clinical data
comes through :mod:`station.billing.sources`.  :mod:`station.claims.xml130`
stays the only builder of XML.

A visit is exportable when :func:`reasons_not_exportable` returns nothing:
invoice paid, consultation signed with a main diagnosis, outcome recorded,
head-of-facility code configured, plus every check of
:func:`station.claims.xml130.exportability`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from station.admin.models import Facility
from station.billing import coverage as cov
from station.billing import services as billing
from station.billing import sources
from station.billing.models import Invoice, Payment
from station.claims import xml130 as x
from station.clock import to_local
from station.patients.models import Patient
from station.visits.models import Visit

SEX_CODES = {"male": "1", "female": "2"}
#: MA_NHOM defaults when the price list gives none (QĐ 130 cost groups, ❓ check the DMDC list):
#: 4 = drugs in the list, 1 = tests/other services, 10 = supplies.
DEFAULT_GROUPS = {"drug": "4", "service": "1", "supply": "10"}


@dataclass(frozen=True)
class PreparedClaim:
    """A visit ready (or not) to be exported."""

    visit: Visit
    claim: x.ClaimVisit | None
    reasons: list[str]


def _local_naive(value: datetime | None) -> datetime | None:
    """Return an aware instant as naive Asia/Ho_Chi_Minh wall time (what the XML dates show)."""
    return None if value is None else to_local(value).replace(tzinfo=None)


def _paid_at(invoice: Invoice | None) -> datetime | None:
    """Return when the patient share was paid (NGAY_TTOAN), from the receipt."""
    if invoice is None or invoice.status != "paid":
        return None
    paid = [p.paid_at for p in invoice.payments if p.status == "paid" and p.paid_at is not None]
    return max(paid) if paid else invoice.paid_at


def _charge(line: object) -> cov.ChargeLine:
    """Rebuild the priced charge of an invoice line."""
    detail = json.loads(line.detail or "{}")  # type: ignore[attr-defined]
    return cov.ChargeLine(
        line_id=line.line_key, kind=cov.ChargeKind(line.kind),  # type: ignore[attr-defined]
        code=detail.get("claim_code") or line.code, name=line.name,  # type: ignore[attr-defined]
        quantity=Decimal(line.quantity), unit_price_bv=int(line.unit_price_bv),  # type: ignore[attr-defined]
        unit_price_bh=None if line.unit_price_bh is None else int(line.unit_price_bh),  # type: ignore[attr-defined]
        covered=line.covered, coverage_ratio=Decimal(line.coverage_ratio),  # type: ignore[attr-defined]
        service_ratio=Decimal(line.service_ratio))  # type: ignore[attr-defined]


def _card(invoice: Invoice) -> x.ClaimCard | None:
    """Return the card as applied on the invoice (None: billed as uninsured)."""
    if not invoice.insured or invoice.card_valid_from is None or invoice.card_valid_to is None:
        return None
    return x.ClaimCard(
        ma_the_bhyt=invoice.card_code, ma_dkbd=invoice.registered_facility, gt_the_tu=invoice.card_valid_from,
        gt_the_den=invoice.card_valid_to, muc_huong=Decimal(invoice.portal_benefit or 0),
        benefit_level=int(invoice.benefit_level or 0), ma_khuvuc=invoice.area_code,
        nam_nam_lien_tuc=invoice.five_years_on)


def build_claim_visit(session: Session, visit: Visit, invoice: Invoice, facility: Facility | None,
                      *, clinical: sources.ClinicalSummary | None = None) -> x.ClaimVisit:
    """Return the claim dataclass of *visit* from its invoice, patient record and consultation."""
    clinical = clinical or sources.clinical_summary(session, visit)
    patient = session.get(Patient, visit.patient_id)
    assert patient is not None
    config = billing.get_config(session)
    ngay_vao = _local_naive(visit.arrived_at)
    assert ngay_vao is not None
    staff = sources.staff_codes(session, [json.loads(line.detail or "{}").get("ordered_by", "")
                                          for line in invoice.lines] +
                                [json.loads(line.detail or "{}").get("prescriber", "") for line in invoice.lines])
    drugs: list[x.ClaimDrugLine] = []
    services: list[x.ClaimServiceLine] = []
    for line in invoice.lines:
        detail = json.loads(line.detail or "{}")
        ordered = _local_naive(line.ordered_at) or ngay_vao
        doctor = staff.get(detail.get("ordered_by") or detail.get("prescriber") or "", "") or clinical.doctor_code
        group = line.group_code or DEFAULT_GROUPS.get(line.kind, "")
        if line.kind == "drug":
            drugs.append(x.ClaimDrugLine(
                charge=_charge(line), ma_nhom=group, don_vi_tinh=line.unit, ngay_yl=ordered,
                ngay_th_yl=ordered, ham_luong=detail.get("ham_luong") or detail.get("strength", ""),
                duong_dung=detail.get("duong_dung") or detail.get("route", ""),
                dang_bao_che=detail.get("dang_bao_che", ""), lieu_dung=detail.get("lieu_dung", ""),
                cach_dung=detail.get("cach_dung", ""),
                so_dang_ky=detail.get("so_dang_ky") or detail.get("registration_no", ""),
                tt_thau=detail.get("tender_info", ""), ma_khoa=config.department_code, ma_bac_si=doctor))
        else:
            services.append(x.ClaimServiceLine(
                charge=_charge(line), ma_nhom=group, don_vi_tinh=line.unit, ngay_yl=ordered, ngay_th_yl=ordered,
                ngay_kq=_local_naive(clinical.ended_at) if line.kind == "service" else None,
                ma_khoa=config.department_code, ma_bac_si=doctor, nguoi_thuc_hien=doctor,
                ma_benh=detail.get("ma_benh") or clinical.main_diagnosis,
                tt_thau=detail.get("tender_info", "")))
    referral = None
    if clinical.referral is not None:
        r = clinical.referral
        referral = x.ClaimReferral(
            so_hoso=visit.visit_key, so_chuyentuyen=r.number, ma_noi_den=r.destination_code,
            ma_lydo_ct=r.reason_code, dau_hieu_ls=r.clinical_signs, qt_benhly=r.course,
            tomtat_kq=r.results_summary, pp_dieutri=r.treatment, huong_dieu_tri=r.direction,
            phuongtien_vc=r.transport, hoten_nguoi_ht=r.escort_name, chucdanh_nguoi_ht=r.escort_title,
            ma_bac_si=r.doctor_code, ma_loai_rv=clinical.discharge_type if clinical.discharge_type in ("2", "5")
            else "2")
    follow_up = None
    if clinical.follow_up is not None:
        f = clinical.follow_up
        follow_up = x.ClaimFollowUp(so_giayhen_kl=f.number, ngay_hen_kl=f.appointment_at, ngay_ct=f.issued_on,
                                    ma_bac_si=f.doctor_code)
    address = ", ".join(p for p in (patient.street, patient.hamlet) if p) or patient.card_address
    return x.ClaimVisit(
        ma_lk=visit.visit_key, ma_bn=patient.code, ho_ten=patient.full_name,
        ngay_sinh=_birth(patient), gioi_tinh=SEX_CODES.get(patient.sex, "3"),
        ma_cskcb=facility.facility_code if facility else "", ngay_vao=ngay_vao, card=_card(invoice),
        ngay_ra=_local_naive(clinical.ended_at), ngay_ttoan=_local_naive(_paid_at(invoice)),
        ma_benh_chinh=clinical.main_diagnosis, ma_benh_kt=clinical.secondary_diagnoses,
        chan_doan_vao=clinical.admission_diagnosis, chan_doan_rv=clinical.diagnosis_text,
        ly_do_vv=clinical.reason or visit.reason, ma_doituong_kcb=visit.insurance_object_type if invoice.insured else "",
        ma_loai_kcb=visit.visit_type or "01", ket_qua_dtri=clinical.outcome,
        ma_loai_rv=clinical.discharge_type or "1", ghi_chu=clinical.advice,
        so_cccd=patient.active_identifier("cccd") or patient.active_identifier("passport") or "",
        nhom_mau=f"{patient.blood_group}{patient.blood_rh}", ma_quoctich=patient.nationality_code or "000",
        ma_dantoc=patient.ethnicity_code, ma_nghe_nghiep=patient.occupation_code or "00000",
        dia_chi=address, matinh_cu_tru=patient.province_code, maxa_cu_tru=patient.commune_code,
        dien_thoai=patient.phone, giay_chuyen_tuyen=clinical.referral.number if clinical.referral else "",
        ma_khoa=config.department_code, can_nang=clinical.weight_kg, ma_hsba=visit.visit_key,
        ma_ttdv=config.head_bhxh_code, is_commune_level=config.commune_level,
        drugs=tuple(drugs), services=tuple(services), referral=referral, follow_up=follow_up)


def _birth(patient: Patient) -> str:
    """Return NGAY_SINH as 12 characters; unknown day/month are "00" (DOMAIN §3.4 field 6)."""
    born = patient.birth_date
    if patient.birth_precision == "year":
        return f"{born.year:04d}00000000"
    if patient.birth_precision == "month":
        return f"{born.year:04d}{born.month:02d}000000"
    return born.strftime("%Y%m%d") + "0000"


def prepare(session: Session, visit: Visit, *, settings: x.ClaimSettings | None = None) -> PreparedClaim:
    """Return the claim of *visit* and every reason it cannot be exported yet."""
    settings = settings or claim_settings(session)
    invoice = billing.invoice_for(session, visit)
    reasons: list[str] = []
    if invoice is None:
        return PreparedClaim(visit, None, ["Chưa lập hóa đơn cho lượt khám (mở trang thu ngân để tính tiền)"])
    if invoice.status != "paid":
        reasons.append("Người bệnh chưa thanh toán (hóa đơn chưa thu tiền)")
    clinical = sources.clinical_summary(session, visit)
    if not clinical.signed:
        reasons.append("Bác sĩ chưa ký hoàn tất phiếu khám")
    facility = session.scalar(select(Facility).limit(1))
    if facility is None:
        reasons.append("Chưa khai báo thông tin trạm (mã cơ sở KCB)")
    if invoice.status != "open" and _billed_items(invoice) != _current_items(session, visit):
        reasons.append("Chi phí của lượt khám đã thay đổi sau khi thu tiền (dịch vụ hoặc thuốc thêm, bớt, "
                       "đơn thay thế): hủy biên lai, tính lại hóa đơn và thu lại")
    claim = build_claim_visit(session, visit, invoice, facility, clinical=clinical)
    for reason in x.exportability(claim, settings):
        if reason not in reasons and not (reason.startswith("Người bệnh chưa thanh toán") and invoice.status != "paid"):
            reasons.append(reason)
    if not reasons:
        totals = x.compute_visit_coverage(claim, settings).totals
        if (totals.t_tongchi_bv, totals.t_bhtt, totals.t_bncct + totals.t_bntt) != (
                invoice.t_tongchi_bv, invoice.t_bhtt, invoice.patient_due):
            reasons.append("Tổng tiền tính lại khác hóa đơn đã thu; hủy biên lai và tính lại hóa đơn")
    return PreparedClaim(visit, claim, reasons)


def _billed_items(invoice: Invoice) -> set[tuple[str, Decimal]]:
    """What the paid invoice charged: (line key, quantity) per line."""
    return {(line.line_key, Decimal(line.quantity).normalize()) for line in invoice.lines}


def _current_items(session: Session, visit: Visit) -> set[tuple[str, Decimal]]:
    """What the visit's services and prescriptions say now, in the invoice's terms."""
    return {(item.ref[:80], Decimal(item.quantity).normalize()) for item in sources.visit_items(session, visit)}


def claim_settings(session: Session) -> x.ClaimSettings:
    """Return the claim settings with the station's base-salary table."""
    return x.ClaimSettings(coverage=billing.coverage_settings(session))


def visits_of_day(session: Session, day: date) -> list[Visit]:
    """Return the visits that arrived on local *day* (not cancelled), oldest first."""
    return [visit for visit, _ in billing.day_invoices(session, day)]


def find_visit(session: Session, key: str) -> Visit | None:
    """Return the visit with MA_LK *key*."""
    return session.scalar(select(Visit).where(Visit.visit_key == key.strip()))


def paid_receipts(session: Session, visit: Visit) -> list[Payment]:
    """Return the paid receipts of a visit."""
    return list(session.scalars(select(Payment).where(Payment.visit_id == visit.id, Payment.status == "paid")))
