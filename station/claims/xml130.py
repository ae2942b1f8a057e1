"""BHXH claim files under QĐ 130 + 4750 + 3176 + 1931 (DOMAIN §3), built from plain dataclasses.

Tables built here: XML0 (check-in, §3.7), XML1 (summary, §3.4), XML2 (drugs,
§3.5), XML3 (services and supplies, §3.6), XML13 (referral, §6) and XML14
(follow-up appointment, §6).  Element names and order are the DOMAIN lists;
every listed element is always emitted, empty (``<X></X>``) when the station
has no value for it, because the portal validates tables by position.  XML is
built with :mod:`xml.etree.ElementTree` only, so ``&``, ``<`` and ``>`` in
free text are escaped by the library, never by hand.

Money columns come from :func:`station.billing.coverage.compute_coverage`,
called once per claim; nothing here adds amounts up again.

Codes are strings and keep leading zeros (decision 4); instants are
``yyyyMMddHHmm`` and card dates ``yyyyMMdd``.  XML13/XML14 field lists are ❓
in DOMAIN (§6, §14.3) so they live in :class:`ClaimSettings`.

Exceptions::

    ValueError
     └── ClaimError
    RuntimeError
     └── PortalError
          └── PortalUnavailable
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol
from xml.etree import ElementTree as ET

from station.billing import coverage as cov
from station.billing.money import Dong

XML_DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>\n'
MAX_MAIN_DIAGNOSIS_LENGTH = 7

XML0_FIELDS: tuple[str, ...] = (
    "MA_LK", "STT", "MA_BN", "HO_TEN", "SO_CCCD", "NGAY_SINH", "GIOI_TINH", "MA_THE_BHYT", "MA_DKBD",
    "GT_THE_TU", "GT_THE_DEN", "MA_DOITUONG_KCB", "NGAY_VAO", "NGAY_VAO_NOI_TRU", "LY_DO_VNT",
    "MA_LY_DO_VNT", "MA_LOAI_KCB", "MA_CSKCB", "MA_DICH_VU", "TEN_DICH_VU", "MA_THUOC", "TEN_THUOC",
    "MA_VAT_TU", "TEN_VAT_TU", "NGAY_YL", "DU_PHONG",
)  # fmt: skip

XML1_FIELDS: tuple[str, ...] = (
    "MA_LK", "STT", "MA_BN", "HO_TEN", "SO_CCCD", "NGAY_SINH", "GIOI_TINH", "NHOM_MAU", "MA_QUOCTICH",
    "MA_DANTOC", "MA_NGHE_NGHIEP", "DIA_CHI", "MATINH_CU_TRU", "MAHUYEN_CU_TRU", "MAXA_CU_TRU",
    "DIEN_THOAI", "MA_THE_BHYT", "MA_DKBD", "GT_THE_TU", "GT_THE_DEN", "NGAY_MIEN_CCT", "LY_DO_VV",
    "LY_DO_VNT", "MA_LY_DO_VNT", "CHAN_DOAN_VAO", "CHAN_DOAN_RV", "MA_BENH_CHINH", "MA_BENH_KT",
    "MA_BENH_YHCT", "MA_PTTT_QT", "MA_DOITUONG_KCB", "MA_NOI_DI", "MA_NOI_DEN", "MA_TAI_NAN", "NGAY_VAO",
    "NGAY_VAO_NOI_TRU", "NGAY_RA", "GIAY_CHUYEN_TUYEN", "SO_NGAY_DTRI", "PP_DIEU_TRI", "KET_QUA_DTRI",
    "MA_LOAI_RV", "GHI_CHU", "NGAY_TTOAN", "T_THUOC", "T_VTYT", "T_TONGCHI_BV", "T_TONGCHI_BH", "T_BNTT",
    "T_BNCCT", "T_BHTT", "T_NGUONKHAC", "T_BHTT_GDV", "NAM_QT", "THANG_QT", "MA_LOAI_KCB", "MA_KHOA",
    "MA_CSKCB", "MA_KHUVUC", "CAN_NANG", "CAN_NANG_CON", "NAM_NAM_LIEN_TUC", "NGAY_TAI_KHAM", "MA_HSBA",
    "MA_TTDV", "DU_PHONG",
)  # fmt: skip

XML2_FIELDS: tuple[str, ...] = (
    "MA_LK", "STT", "MA_THUOC", "MA_PP_CHEBIEN", "MA_CSKCB_THUOC", "MA_NHOM", "TEN_THUOC", "DON_VI_TINH",
    "HAM_LUONG", "DUONG_DUNG", "DANG_BAO_CHE", "LIEU_DUNG", "CACH_DUNG", "SO_DANG_KY", "TT_THAU",
    "PHAM_VI", "TYLE_TT_BH", "SO_LUONG", "DON_GIA", "THANH_TIEN_BV", "THANH_TIEN_BH", "T_NGUONKHAC_NSNN",
    "T_NGUONKHAC_VTNN", "T_NGUONKHAC_VTTN", "T_NGUONKHAC_CL", "T_NGUONKHAC", "MUC_HUONG", "T_BHTT",
    "T_BNCCT", "T_BNTT", "MA_KHOA", "MA_BAC_SI", "MA_DICH_VU", "NGAY_YL", "NGAY_TH_YL", "MA_PTTT",
    "NGUON_CTRA", "VET_THUONG_TP", "DU_PHONG",
)  # fmt: skip

XML3_FIELDS: tuple[str, ...] = (
    "MA_LK", "STT", "MA_DICH_VU", "MA_PTTT_QT", "MA_VAT_TU", "MA_NHOM", "GOI_VTYT", "TEN_VAT_TU",
    "TEN_DICH_VU", "MA_XANG_DAU", "DON_VI_TINH", "PHAM_VI", "SO_LUONG", "DON_GIA_BV", "DON_GIA_BH",
    "TT_THAU", "TYLE_TT_DV", "TYLE_TT_BH", "THANH_TIEN_BV", "THANH_TIEN_BH", "T_TRANTT", "MUC_HUONG",
    "T_NGUONKHAC_NSNN", "T_NGUONKHAC_VTNN", "T_NGUONKHAC_VTTN", "T_NGUONKHAC_CL", "T_NGUONKHAC", "T_BHTT",
    "T_BNTT", "T_BNCCT", "MA_KHOA", "MA_GIUONG", "MA_BAC_SI", "NGUOI_THUC_HIEN", "MA_BENH", "MA_BENH_YHCT",
    "NGAY_YL", "NGAY_TH_YL", "NGAY_KQ", "MA_PTTT", "VET_THUONG_TP", "PP_VO_CAM", "VI_TRI_TH_DVKT", "MA_MAY",
    "MA_HIEU_SP", "TAI_SU_DUNG", "DU_PHONG",
)  # fmt: skip

#: ❓ DOMAIN §6: only "MA_LK, SO_HOSO…" is confirmed; the rest is the unverified list.
DEFAULT_XML13_FIELDS: tuple[str, ...] = (
    "MA_LK", "SO_HOSO", "SO_CHUYENTUYEN", "GIAY_CHUYEN_TUYEN", "MA_CSKCB", "MA_NOI_DI", "MA_NOI_DEN",
    "HO_TEN", "NGAY_SINH", "GIOI_TINH", "MA_QUOCTICH", "MA_DANTOC", "MA_NGHE_NGHIEP", "DIA_CHI",
    "MA_THE_BHYT", "GT_THE_DEN", "NGAY_VAO", "NGAY_VAO_NOI_TRU", "NGAY_RA", "DAU_HIEU_LS", "CHAN_DOAN_RV",
    "QT_BENHLY", "TOMTAT_KQ", "PP_DIEUTRI", "MA_BENH_CHINH", "MA_BENH_KT", "MA_BENH_YHCT", "TEN_DICH_VU",
    "TEN_THUOC", "MA_LOAI_RV", "MA_LYDO_CT", "HUONG_DIEU_TRI", "PHUONGTIEN_VC", "HOTEN_NGUOI_HT",
    "CHUCDANH_NGUOI_HT", "MA_BAC_SI", "MA_TTDV", "DU_PHONG",
)  # fmt: skip

#: ❓ DOMAIN §6 confirms only "MA_LK, SO_GIAYHEN_KL, MA_CSKCB, HO_TEN, NGAY_SINH…"; the rest
#: follows the vendor table [DH] bang14 (which skips a field number 14: check the XSD).
DEFAULT_XML14_FIELDS: tuple[str, ...] = (
    "MA_LK", "SO_GIAYHEN_KL", "MA_CSKCB", "HO_TEN", "NGAY_SINH", "GIOI_TINH", "DIA_CHI", "MA_THE_BHYT",
    "GT_THE_DEN", "NGAY_VAO", "NGAY_VAO_NOI_TRU", "NGAY_RA", "NGAY_HEN_KL", "CHAN_DOAN_RV", "MA_BENH_CHINH",
    "MA_BENH_KT", "MA_BENH_YHCT", "MA_DOITUONG_KCB", "MA_BAC_SI", "MA_TTDV", "NGAY_CT", "DU_PHONG",
)  # fmt: skip


class ClaimError(ValueError):
    """The visit cannot be turned into a valid claim file."""


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class ClaimCard:
    """BHYT card data as returned by the portal lookup (DOMAIN §2, decision 7)."""

    ma_the_bhyt: str  #: 15 characters; several cards joined with ";"
    ma_dkbd: str  #: 5-character registered facility
    gt_the_tu: date
    gt_the_den: date
    muc_huong: Decimal  #: percent, from the portal
    benefit_level: int  #: 1–5, third character of the card code returned by the portal
    ma_khuvuc: str = ""  #: K1/K2/K3
    ngay_mien_cct: date | None = None
    nam_nam_lien_tuc: date | None = None


@dataclass(frozen=True)
class ClaimDrugLine:
    """One XML2 row: the priced charge plus the descriptive drug columns."""

    charge: cov.ChargeLine  #: kind DRUG; code = MA_THUOC, name = TEN_THUOC
    ma_nhom: str
    don_vi_tinh: str
    ngay_yl: datetime
    ham_luong: str = ""
    duong_dung: str = ""
    dang_bao_che: str = ""
    lieu_dung: str = ""
    cach_dung: str = ""
    so_dang_ky: str = ""
    tt_thau: str = ""
    ma_khoa: str = ""
    ma_bac_si: str = ""
    ma_dich_vu: str = ""
    ngay_th_yl: datetime | None = None
    ma_pp_chebien: str = ""
    ma_cskcb_thuoc: str = ""
    nguon_ctra: str = "1"
    vet_thuong_tp: str = ""
    du_phong: str = ""


@dataclass(frozen=True)
class ClaimServiceLine:
    """One XML3 row: a technical service (DVKT) or a medical supply (VTYT)."""

    charge: cov.ChargeLine  #: kind SERVICE or SUPPLY
    ma_nhom: str
    don_vi_tinh: str
    ngay_yl: datetime
    ma_dich_vu: str = ""  #: for a supply, the service it was used in
    ma_pttt_qt: str = ""
    goi_vtyt: str = ""
    tt_thau: str = ""
    t_trantt: Dong | None = None
    ma_khoa: str = ""
    ma_giuong: str = ""
    ma_bac_si: str = ""
    nguoi_thuc_hien: str = ""
    ma_benh: str = ""
    ma_benh_yhct: str = ""
    ngay_th_yl: datetime | None = None
    ngay_kq: datetime | None = None
    ma_xang_dau: str = ""
    vet_thuong_tp: str = ""
    pp_vo_cam: str = ""
    vi_tri_th_dvkt: str = ""
    ma_may: str = ""
    ma_hieu_sp: str = ""
    tai_su_dung: str = ""
    du_phong: str = ""


@dataclass(frozen=True)
class ClaimReferral:
    """Referral paper data for XML13 (TT 01/2025 PL VI)."""

    so_hoso: str
    so_chuyentuyen: str
    ma_noi_den: str
    ma_lydo_ct: str = ""
    dau_hieu_ls: str = ""
    qt_benhly: str = ""
    tomtat_kq: str = ""
    pp_dieutri: str = ""
    huong_dieu_tri: str = ""
    ten_dich_vu: str = ""
    ten_thuoc: str = ""
    phuongtien_vc: str = ""
    hoten_nguoi_ht: str = ""
    chucdanh_nguoi_ht: str = ""
    ma_bac_si: str = ""
    ma_loai_rv: str = "2"


@dataclass(frozen=True)
class ClaimFollowUp:
    """Follow-up appointment slip data for XML14 (TT 01/2025 PL V)."""

    so_giayhen_kl: str
    ngay_hen_kl: datetime
    ngay_ct: date
    ma_bac_si: str = ""


@dataclass(frozen=True)
class ClaimVisit:
    """One visit episode with everything the claim tables need."""

    ma_lk: str
    ma_bn: str
    ho_ten: str
    ngay_sinh: date | datetime | str  #: str must already be 12 digits (e.g. "198500000000")
    gioi_tinh: str  #: "1" male, "2" female, "3" undetermined
    ma_cskcb: str
    ngay_vao: datetime
    card: ClaimCard | None = None  #: None: not a BHYT visit
    ngay_ra: datetime | None = None
    ngay_ttoan: datetime | None = None
    ma_benh_chinh: str = ""
    ma_benh_kt: tuple[str, ...] = ()
    ma_benh_yhct: str = ""
    ma_pttt_qt: tuple[str, ...] = ()
    chan_doan_vao: str = ""
    chan_doan_rv: str = ""
    ly_do_vv: str = ""
    ma_doituong_kcb: str = ""
    ma_loai_kcb: str = "01"
    ket_qua_dtri: str = ""
    ma_loai_rv: str = "1"
    so_ngay_dtri: int = 0
    pp_dieu_tri: str = ""
    ghi_chu: str = ""
    so_cccd: str = ""
    nhom_mau: str = ""
    ma_quoctich: str = "000"
    ma_dantoc: str = ""
    ma_nghe_nghiep: str = "00000"
    dia_chi: str = ""
    matinh_cu_tru: str = ""
    mahuyen_cu_tru: str = ""
    maxa_cu_tru: str = ""
    dien_thoai: str = ""
    ma_noi_di: str = ""
    giay_chuyen_tuyen: str = ""
    ma_tai_nan: str = ""
    ma_khoa: str = ""
    can_nang: Decimal | None = None
    ma_hsba: str = ""
    ma_ttdv: str = ""
    stt: int = 1
    is_commune_level: bool = True
    drugs: tuple[ClaimDrugLine, ...] = ()
    services: tuple[ClaimServiceLine, ...] = ()
    referral: ClaimReferral | None = None
    follow_up: ClaimFollowUp | None = None

    def charge_lines(self) -> list[cov.ChargeLine]:
        """Return the visit's charges in table order (drugs, then services and supplies)."""
        return [line.charge for line in self.drugs] + [line.charge for line in self.services]


@dataclass(frozen=True)
class ClaimSettings:
    """Claim-format choices that DOMAIN leaves open, as configuration."""

    coverage: cov.CoverageSettings = field(default_factory=cov.CoverageSettings)
    max_secondary_diagnoses: int = 12  #: DOMAIN §3.4 field 27
    xml13_root: str = "CHI_TIEU_GIAYCHUYENTUYEN"
    xml13_fields: tuple[str, ...] = DEFAULT_XML13_FIELDS
    xml14_root: str = "CHI_TIEU_GIAYHEN_KHAMLAI"
    xml14_fields: tuple[str, ...] = DEFAULT_XML14_FIELDS


# --------------------------------------------------------------------------- formatting


def fmt_instant(value: datetime | None) -> str:
    """Return ``yyyyMMddHHmm`` or "" for None."""
    return "" if value is None else value.strftime("%Y%m%d%H%M")


def fmt_day(value: date | None) -> str:
    """Return ``yyyyMMdd`` or "" for None."""
    return "" if value is None else value.strftime("%Y%m%d")


def fmt_birth(value: date | datetime | str) -> str:
    """Return NGAY_SINH as 12 characters; a plain date gets time "0000" (DOMAIN §3.4 field 6)."""
    if isinstance(value, str):
        if not re.fullmatch(r"\d{12}", value):
            raise ClaimError(f"Ngày sinh phải gồm 12 chữ số yyyyMMddHHmm (nhận được {value!r})")
        return value
    if isinstance(value, datetime):
        return fmt_instant(value)
    return value.strftime("%Y%m%d") + "0000"


def fmt_decimal(value: Decimal | int) -> str:
    """Return a number with "." as separator and no exponent or trailing zeros."""
    if isinstance(value, int):
        return str(value)
    return format(value.normalize(), "f")


def fmt_money(value: Dong | None) -> str:
    """Return whole đồng as an integer string; "" for None."""
    return "" if value is None else str(int(value))


def join_secondary(codes: Sequence[str], limit: int = 12) -> str:
    """Join secondary ICD-10 codes with ";"; more than *limit* codes is an error."""
    cleaned = [code.strip() for code in codes if code.strip()]
    if len(cleaned) > limit:
        raise ClaimError(f"Tối đa {limit} mã bệnh kèm theo (MA_BENH_KT); hồ sơ có {len(cleaned)} mã")
    return ";".join(cleaned)


def _check_main_diagnosis(code: str) -> str:
    """Return the main ICD-10 code untouched, refusing one that does not fit."""
    if len(code) > MAX_MAIN_DIAGNOSIS_LENGTH:
        raise ClaimError(
            f"Mã bệnh chính {code!r} dài quá {MAX_MAIN_DIAGNOSIS_LENGTH} ký tự; không được cắt mã"
        )
    return code


# --------------------------------------------------------------------------- XML helpers


#: Characters XML 1.0 cannot carry at all (C0 controls but tab/newline/CR, surrogates, U+FFFE/FFFF):
#: pasted text (e.g. Word's manual line break U+000B) would otherwise make the table unparseable.
_NOT_XML_CHAR = re.compile("[^\u0009\u000A\u000D\u0020-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")


def xml_text(value: str) -> str:
    """Return *value* with the characters XML 1.0 forbids replaced by a space (escaping is ElementTree's job)."""
    return _NOT_XML_CHAR.sub(" ", value)


def _record(parent: ET.Element, tag: str, fields: Sequence[str], values: Mapping[str, str]) -> ET.Element:
    """Append *tag* with one child per field, in order; unknown fields stay empty."""
    unknown = set(values) - set(fields)
    if unknown:
        raise ClaimError(f"Trường không có trong cấu trúc bảng {tag}: {', '.join(sorted(unknown))}")
    record = ET.SubElement(parent, tag)
    for name in fields:
        ET.SubElement(record, name).text = xml_text(values.get(name, ""))
    return record


def to_xml_bytes(root: ET.Element) -> bytes:
    """Serialize *root* as UTF-8 with a double-quoted declaration and explicit empty elements."""
    return XML_DECLARATION + ET.tostring(root, encoding="unicode", short_empty_elements=False).encode("utf-8")


def canonical_bytes(*elements: ET.Element) -> bytes:
    """Return the C14N 2.0 form of *elements*, concatenated: the bytes that get signed."""
    return "".join(
        ET.canonicalize(ET.tostring(element, encoding="unicode", short_empty_elements=False))
        for element in elements
    ).encode("utf-8")


def b64(data: bytes) -> str:
    """Return standard base64 text of *data*."""
    return base64.b64encode(data).decode("ascii")


# --------------------------------------------------------------------------- tables


def _card_values(visit: ClaimVisit) -> dict[str, str]:
    """Return the card columns shared by XML0, XML1, XML13 and XML14."""
    card = visit.card
    if card is None:
        return {}
    return {
        "MA_THE_BHYT": card.ma_the_bhyt,
        "MA_DKBD": card.ma_dkbd,
        "GT_THE_TU": fmt_day(card.gt_the_tu),
        "GT_THE_DEN": fmt_day(card.gt_the_den),
    }


def _identity_values(visit: ClaimVisit) -> dict[str, str]:
    """Return the patient columns shared by several tables."""
    return {
        "MA_LK": visit.ma_lk,
        "HO_TEN": visit.ho_ten,
        "NGAY_SINH": fmt_birth(visit.ngay_sinh),
        "GIOI_TINH": visit.gioi_tinh,
        "MA_CSKCB": visit.ma_cskcb,
        "NGAY_VAO": fmt_instant(visit.ngay_vao),
        "NGAY_RA": fmt_instant(visit.ngay_ra),
        "DIA_CHI": visit.dia_chi,
    }


def compute_visit_coverage(visit: ClaimVisit, settings: ClaimSettings = ClaimSettings()) -> cov.CoverageResult:
    """Run the one coverage computation for *visit*."""
    benefit = None
    if visit.card is not None:
        benefit = cov.Benefit(
            muc_huong=visit.card.muc_huong,
            benefit_level=visit.card.benefit_level,
            card_valid_from=visit.card.gt_the_tu,
            card_valid_to=visit.card.gt_the_den,
        )
    return cov.compute_coverage(
        visit.charge_lines(),
        visit_date=visit.ngay_vao.date(),
        benefit=benefit,
        commune_level=visit.is_commune_level,
        settings=settings.coverage,
    )


def build_xml0(visit: ClaimVisit, signer: Signer | None = None) -> bytes:
    """Build the check-in table XML0 (§3.7) for the visit's first cost.

    ``CHUKYDONVI`` follows ``DSACH_TRANG_THAI_KCB`` inside the root, as in the
    [BHXH-API] template; it is empty without a signer, otherwise it holds the
    signature of the canonical root without it.  ``NGAY_VAO_NOI_TRU``,
    ``LY_DO_VNT`` and ``MA_LY_DO_VNT`` stay empty (outpatient station).
    """
    values = {**_identity_values(visit), **_card_values(visit)}
    values.pop("NGAY_RA")
    values.pop("DIA_CHI")
    values.update(
        STT=str(visit.stt),
        MA_BN=visit.ma_bn,
        SO_CCCD=visit.so_cccd,
        MA_DOITUONG_KCB=visit.ma_doituong_kcb,
        MA_LOAI_KCB=visit.ma_loai_kcb,
    )
    first = _first_cost(visit)
    if first is not None:
        values.update(first)
    root = ET.Element("CHI_TIEU_TRANG_THAI_KCB")
    listing = ET.SubElement(root, "DSACH_TRANG_THAI_KCB")
    _record(listing, "TRANG_THAI_KCB", XML0_FIELDS, values)
    signature = signer.sign(canonical_bytes(root)) if signer is not None else ""
    ET.SubElement(root, "CHUKYDONVI").text = signature
    return to_xml_bytes(root)


def _first_cost(visit: ClaimVisit) -> dict[str, str] | None:
    """Return the XML0 columns naming the earliest ordered line, if any."""
    candidates: list[tuple[datetime, dict[str, str]]] = []
    for drug in visit.drugs:
        cols = {"MA_THUOC": drug.charge.code, "TEN_THUOC": drug.charge.name}
        candidates.append((drug.ngay_yl, {**cols, "NGAY_YL": fmt_instant(drug.ngay_yl)}))
    for service in visit.services:
        if service.charge.kind is cov.ChargeKind.SUPPLY:
            cols = {"MA_VAT_TU": service.charge.code, "TEN_VAT_TU": service.charge.name}
        else:
            cols = {"MA_DICH_VU": service.charge.code, "TEN_DICH_VU": service.charge.name}
        candidates.append((service.ngay_yl, {**cols, "NGAY_YL": fmt_instant(service.ngay_yl)}))
    if not candidates:
        return None
    return min(candidates, key=lambda item: item[0])[1]


def build_xml1(visit: ClaimVisit, result: cov.CoverageResult, settings: ClaimSettings = ClaimSettings()) -> bytes:
    """Build the summary table XML1 (§3.4) under root ``TONG_HOP``.

    Always empty: ``LY_DO_VNT``, ``MA_LY_DO_VNT``, ``NGAY_VAO_NOI_TRU`` (no
    inpatients), ``CAN_NANG_CON`` (no deliveries), ``MA_NOI_DEN`` unless a
    referral is present, ``DU_PHONG``.
    """
    card = visit.card
    totals = result.totals
    settle = visit.ngay_ttoan or visit.ngay_ra or visit.ngay_vao
    values = {**_identity_values(visit), **_card_values(visit)}
    values.update(
        STT=str(visit.stt),
        MA_BN=visit.ma_bn,
        SO_CCCD=visit.so_cccd,
        NHOM_MAU=visit.nhom_mau,
        MA_QUOCTICH=visit.ma_quoctich,
        MA_DANTOC=visit.ma_dantoc,
        MA_NGHE_NGHIEP=visit.ma_nghe_nghiep,
        MATINH_CU_TRU=visit.matinh_cu_tru,
        MAHUYEN_CU_TRU=visit.mahuyen_cu_tru,
        MAXA_CU_TRU=visit.maxa_cu_tru,
        DIEN_THOAI=visit.dien_thoai,
        NGAY_MIEN_CCT=fmt_day(card.ngay_mien_cct) if card else "",
        LY_DO_VV=visit.ly_do_vv,
        CHAN_DOAN_VAO=visit.chan_doan_vao,
        CHAN_DOAN_RV=visit.chan_doan_rv,
        MA_BENH_CHINH=_check_main_diagnosis(visit.ma_benh_chinh),
        MA_BENH_KT=join_secondary(visit.ma_benh_kt, settings.max_secondary_diagnoses),
        MA_BENH_YHCT=visit.ma_benh_yhct,
        MA_PTTT_QT=";".join(visit.ma_pttt_qt),
        MA_DOITUONG_KCB=visit.ma_doituong_kcb,
        MA_NOI_DI=visit.ma_noi_di,
        MA_NOI_DEN=visit.referral.ma_noi_den if visit.referral else "",
        MA_TAI_NAN=visit.ma_tai_nan,
        GIAY_CHUYEN_TUYEN=visit.giay_chuyen_tuyen,
        SO_NGAY_DTRI=str(visit.so_ngay_dtri),
        PP_DIEU_TRI=visit.pp_dieu_tri,
        KET_QUA_DTRI=visit.ket_qua_dtri,
        MA_LOAI_RV=visit.referral.ma_loai_rv if visit.referral else visit.ma_loai_rv,
        GHI_CHU=visit.ghi_chu,
        NGAY_TTOAN=fmt_instant(visit.ngay_ttoan),
        T_THUOC=fmt_money(totals.t_thuoc),
        T_VTYT=fmt_money(totals.t_vtyt),
        T_TONGCHI_BV=fmt_money(totals.t_tongchi_bv),
        T_TONGCHI_BH=fmt_money(totals.t_tongchi_bh),
        T_BNTT=fmt_money(totals.t_bntt),
        T_BNCCT=fmt_money(totals.t_bncct),
        T_BHTT=fmt_money(totals.t_bhtt),
        T_NGUONKHAC=fmt_money(totals.t_nguonkhac),
        T_BHTT_GDV=fmt_money(totals.t_bhtt_gdv),
        NAM_QT=f"{settle.year:04d}",
        THANG_QT=f"{settle.month:02d}",
        MA_LOAI_KCB=visit.ma_loai_kcb,
        MA_KHOA=visit.ma_khoa,
        MA_KHUVUC=card.ma_khuvuc if card else "",
        CAN_NANG="" if visit.can_nang is None else f"{visit.can_nang:.2f}",
        NAM_NAM_LIEN_TUC=fmt_day(card.nam_nam_lien_tuc) if card else "",
        NGAY_TAI_KHAM=fmt_day(visit.follow_up.ngay_hen_kl.date()) if visit.follow_up else "",
        MA_HSBA=visit.ma_hsba,
        MA_TTDV=visit.ma_ttdv,
    )
    return _flat_table("TONG_HOP", XML1_FIELDS, values)


def _money_columns(charge: cov.ChargeLine, share: cov.LineShare) -> dict[str, str]:
    """Return the money columns common to XML2 and XML3 (PHAM_VI 1 in scope, 2 outside)."""
    others = share.other_sources
    return {
        "PHAM_VI": "1" if charge.covered else "2",
        "TYLE_TT_BH": fmt_decimal(share.coverage_ratio),
        "THANH_TIEN_BV": fmt_money(share.thanh_tien_bv),
        "THANH_TIEN_BH": fmt_money(share.thanh_tien_bh),
        "T_NGUONKHAC_NSNN": fmt_money(others.nsnn),
        "T_NGUONKHAC_VTNN": fmt_money(others.vtnn),
        "T_NGUONKHAC_VTTN": fmt_money(others.vttn),
        "T_NGUONKHAC_CL": fmt_money(others.cl),
        "T_NGUONKHAC": fmt_money(others.total),
        "MUC_HUONG": fmt_decimal(share.muc_huong),
        "T_BHTT": fmt_money(share.t_bhtt),
        "T_BNCCT": fmt_money(share.t_bncct),
        "T_BNTT": fmt_money(share.t_bntt),
        "MA_PTTT": share.payment_method,
    }


def build_xml2(visit: ClaimVisit, result: cov.CoverageResult) -> bytes:
    """Build the drug table XML2 (§3.5); DON_GIA is the facility unit price."""
    root = ET.Element("CHITIEU_CHITIET_THUOC")
    listing = ET.SubElement(root, "DSACH_CHI_TIET_THUOC")
    for number, drug in enumerate(visit.drugs, start=1):
        charge = drug.charge
        values = {
            "MA_LK": visit.ma_lk,
            "STT": str(number),
            "MA_THUOC": charge.code,
            "MA_PP_CHEBIEN": drug.ma_pp_chebien,
            "MA_CSKCB_THUOC": drug.ma_cskcb_thuoc,
            "MA_NHOM": drug.ma_nhom,
            "TEN_THUOC": charge.name,
            "DON_VI_TINH": drug.don_vi_tinh,
            "HAM_LUONG": drug.ham_luong,
            "DUONG_DUNG": drug.duong_dung,
            "DANG_BAO_CHE": drug.dang_bao_che,
            "LIEU_DUNG": drug.lieu_dung,
            "CACH_DUNG": drug.cach_dung,
            "SO_DANG_KY": drug.so_dang_ky,
            "TT_THAU": drug.tt_thau,
            "SO_LUONG": fmt_decimal(charge.quantity),
            "DON_GIA": fmt_money(charge.unit_price_bv),
            "MA_KHOA": drug.ma_khoa,
            "MA_BAC_SI": drug.ma_bac_si,
            "MA_DICH_VU": drug.ma_dich_vu,
            "NGAY_YL": fmt_instant(drug.ngay_yl),
            "NGAY_TH_YL": fmt_instant(drug.ngay_th_yl),
            "NGUON_CTRA": drug.nguon_ctra,
            "VET_THUONG_TP": drug.vet_thuong_tp,
            "DU_PHONG": drug.du_phong,
            **_money_columns(charge, result.line(charge.line_id)),
        }
        _record(listing, "CHI_TIET_THUOC", XML2_FIELDS, values)
    return to_xml_bytes(root)


def build_xml3(visit: ClaimVisit, result: cov.CoverageResult) -> bytes:
    """Build the services and supplies table XML3 (§3.6)."""
    root = ET.Element("CHITIEU_CHITIET_DVKT_VTYT")
    listing = ET.SubElement(root, "DSACH_CHI_TIET_DVKT")
    for number, line in enumerate(visit.services, start=1):
        charge = line.charge
        is_supply = charge.kind is cov.ChargeKind.SUPPLY
        values = {
            "MA_LK": visit.ma_lk,
            "STT": str(number),
            "MA_DICH_VU": line.ma_dich_vu if is_supply else charge.code,
            "MA_PTTT_QT": line.ma_pttt_qt,
            "MA_VAT_TU": charge.code if is_supply else "",
            "MA_NHOM": line.ma_nhom,
            "GOI_VTYT": line.goi_vtyt,
            "TEN_VAT_TU": charge.name if is_supply else "",
            "TEN_DICH_VU": "" if is_supply else charge.name,
            "MA_XANG_DAU": line.ma_xang_dau,
            "DON_VI_TINH": line.don_vi_tinh,
            "SO_LUONG": fmt_decimal(charge.quantity),
            "DON_GIA_BV": fmt_money(charge.unit_price_bv),
            "DON_GIA_BH": fmt_money(charge.unit_price_bh),
            "TT_THAU": line.tt_thau,
            "TYLE_TT_DV": fmt_decimal(charge.service_ratio),
            "T_TRANTT": fmt_money(line.t_trantt),
            "MA_KHOA": line.ma_khoa,
            "MA_GIUONG": line.ma_giuong,
            "MA_BAC_SI": line.ma_bac_si,
            "NGUOI_THUC_HIEN": line.nguoi_thuc_hien,
            "MA_BENH": line.ma_benh,
            "MA_BENH_YHCT": line.ma_benh_yhct,
            "NGAY_YL": fmt_instant(line.ngay_yl),
            "NGAY_TH_YL": fmt_instant(line.ngay_th_yl),
            "NGAY_KQ": fmt_instant(line.ngay_kq),
            "VET_THUONG_TP": line.vet_thuong_tp,
            "PP_VO_CAM": line.pp_vo_cam,
            "VI_TRI_TH_DVKT": line.vi_tri_th_dvkt,
            "MA_MAY": line.ma_may,
            "MA_HIEU_SP": line.ma_hieu_sp,
            "TAI_SU_DUNG": line.tai_su_dung,
            "DU_PHONG": line.du_phong,
            **_money_columns(charge, result.line(charge.line_id)),
        }
        _record(listing, "CHI_TIET_DVKT", XML3_FIELDS, values)
    return to_xml_bytes(root)


def _flat_table(root_tag: str, fields: Sequence[str], values: Mapping[str, str]) -> bytes:
    """Build a one-record table whose fields sit directly under the root."""
    root = ET.Element(root_tag)
    for name in fields:
        ET.SubElement(root, name).text = xml_text(values.get(name, ""))
    return to_xml_bytes(root)


def _diagnosis_values(visit: ClaimVisit, settings: ClaimSettings) -> dict[str, str]:
    """Return the diagnosis columns shared by XML13 and XML14."""
    return {
        "CHAN_DOAN_RV": visit.chan_doan_rv,
        "MA_BENH_CHINH": _check_main_diagnosis(visit.ma_benh_chinh),
        "MA_BENH_KT": join_secondary(visit.ma_benh_kt, settings.max_secondary_diagnoses),
        "MA_BENH_YHCT": visit.ma_benh_yhct,
    }


def build_xml13(visit: ClaimVisit, settings: ClaimSettings = ClaimSettings()) -> bytes:
    """Build the referral table XML13 (§6); fields not in the configured list are dropped.

    Always empty: ``NGAY_VAO_NOI_TRU``, ``DU_PHONG``; ``MA_TTDV`` comes from the visit.
    """
    referral = visit.referral
    if referral is None:
        raise ClaimError("Lượt khám không có giấy chuyển tuyến (XML13)")
    values = {
        **_identity_values(visit),
        **_card_values(visit),
        **_diagnosis_values(visit, settings),
        "SO_HOSO": referral.so_hoso,
        "SO_CHUYENTUYEN": referral.so_chuyentuyen,
        "GIAY_CHUYEN_TUYEN": referral.so_chuyentuyen,
        "MA_NOI_DI": visit.ma_noi_di,
        "MA_NOI_DEN": referral.ma_noi_den,
        "MA_QUOCTICH": visit.ma_quoctich,
        "MA_DANTOC": visit.ma_dantoc,
        "MA_NGHE_NGHIEP": visit.ma_nghe_nghiep,
        "DAU_HIEU_LS": referral.dau_hieu_ls,
        "QT_BENHLY": referral.qt_benhly,
        "TOMTAT_KQ": referral.tomtat_kq,
        "PP_DIEUTRI": referral.pp_dieutri,
        "TEN_DICH_VU": referral.ten_dich_vu,
        "TEN_THUOC": referral.ten_thuoc,
        "MA_LOAI_RV": referral.ma_loai_rv,
        "MA_LYDO_CT": referral.ma_lydo_ct,
        "HUONG_DIEU_TRI": referral.huong_dieu_tri,
        "PHUONGTIEN_VC": referral.phuongtien_vc,
        "HOTEN_NGUOI_HT": referral.hoten_nguoi_ht,
        "CHUCDANH_NGUOI_HT": referral.chucdanh_nguoi_ht,
        "MA_BAC_SI": referral.ma_bac_si,
        "MA_TTDV": visit.ma_ttdv,
    }
    return _flat_table(settings.xml13_root, settings.xml13_fields, values)


def build_xml14(visit: ClaimVisit, settings: ClaimSettings = ClaimSettings()) -> bytes:
    """Build the follow-up appointment table XML14 (§6); fields not in the configured list are dropped.

    Always empty: ``NGAY_VAO_NOI_TRU``, ``DU_PHONG``.
    """
    follow_up = visit.follow_up
    if follow_up is None:
        raise ClaimError("Lượt khám không có giấy hẹn khám lại (XML14)")
    values = {
        **_identity_values(visit),
        **_card_values(visit),
        **_diagnosis_values(visit, settings),
        "SO_GIAYHEN_KL": follow_up.so_giayhen_kl,
        "NGAY_HEN_KL": fmt_instant(follow_up.ngay_hen_kl),
        "MA_DOITUONG_KCB": visit.ma_doituong_kcb,
        "MA_BAC_SI": follow_up.ma_bac_si,
        "MA_TTDV": visit.ma_ttdv,
        "NGAY_CT": fmt_day(follow_up.ngay_ct),
    }
    return _flat_table(settings.xml14_root, settings.xml14_fields, values)


def build_tables(
    visit: ClaimVisit, settings: ClaimSettings = ClaimSettings(), result: cov.CoverageResult | None = None
) -> dict[str, bytes]:
    """Return the visit's tables keyed by LOAIHOSO, in sending order.

    XML1 always; XML2 and XML3 when the visit has such lines; XML13 and XML14
    when a referral or an appointment is present.  Coverage is computed once
    here unless *result* is passed in.
    """
    if result is None:
        result = compute_visit_coverage(visit, settings)
    tables = {"XML1": build_xml1(visit, result, settings)}
    if visit.drugs:
        tables["XML2"] = build_xml2(visit, result)
    if visit.services:
        tables["XML3"] = build_xml3(visit, result)
    if visit.referral is not None:
        tables["XML13"] = build_xml13(visit, settings)
    if visit.follow_up is not None:
        tables["XML14"] = build_xml14(visit, settings)
    return tables


# --------------------------------------------------------------------------- signing and envelope


class Signer(Protocol):
    """Signs the canonical bytes of a claim and returns the CHUKYDONVI text."""

    def sign(self, xml_bytes: bytes) -> str:
        """Return the signature of *xml_bytes*."""
        ...


class TestSigner:
    """TEST ONLY: HMAC-SHA256 with a shared key, not a certificate signature.

    The portal requires a SHA-256 signature made with the facility's registered
    certificate (DOMAIN §3.3); that signer is a deployment matter.  This class
    lets tests and demo mode check that the signed region is stable.
    """

    __test__ = False  # not a pytest test class

    def __init__(self, key: bytes = b"tram-y-te-so-test-key") -> None:
        """Keep the HMAC *key*."""
        self._key = key

    def sign(self, xml_bytes: bytes) -> str:
        """Return base64 HMAC-SHA256 of *xml_bytes*."""
        return b64(hmac.new(self._key, xml_bytes, hashlib.sha256).digest())

    def verify(self, xml_bytes: bytes, signature: str) -> bool:
        """Return whether *signature* matches *xml_bytes*."""
        return hmac.compare_digest(self.sign(xml_bytes), signature)


def build_envelope(ma_cskcb: str, tables: Mapping[str, bytes], ngay_lap: date, signer: Signer) -> bytes:
    """Wrap *tables* in ``GIAMDINHHS`` (§3.3), each base64 in NOIDUNGFILE, and sign it.

    The signature covers ``THONGTINDONVI`` through ``THONGTINHOSO`` in C14N
    form ([BHXH-API] signing note); see :func:`envelope_signed_bytes`.
    """
    root = ET.Element("GIAMDINHHS")
    unit = ET.SubElement(root, "THONGTINDONVI")
    ET.SubElement(unit, "MACSKCB").text = ma_cskcb
    info = ET.SubElement(root, "THONGTINHOSO")
    ET.SubElement(info, "NGAYLAP").text = fmt_day(ngay_lap)
    ET.SubElement(info, "SOLUONGHOSO").text = "1"  # one visit episode per file (BHYT-DATA-R02)
    record = ET.SubElement(ET.SubElement(info, "DANHSACHHOSO"), "HOSO")
    for kind, content in tables.items():
        item = ET.SubElement(record, "FILEHOSO")
        ET.SubElement(item, "LOAIHOSO").text = kind
        ET.SubElement(item, "NOIDUNGFILE").text = b64(content)
    ET.SubElement(root, "CHUKYDONVI").text = signer.sign(canonical_bytes(unit, info))
    return to_xml_bytes(root)


def envelope_signed_bytes(envelope: bytes) -> bytes:
    """Return the canonical bytes of an envelope's signed region, for verification."""
    root = ET.fromstring(envelope)
    unit, info = root.find("THONGTINDONVI"), root.find("THONGTINHOSO")
    if unit is None or info is None:
        raise ClaimError("Tệp GIAMDINHHS thiếu THONGTINDONVI hoặc THONGTINHOSO")
    return canonical_bytes(unit, info)


@dataclass(frozen=True)
class ClaimSubmission:
    """Everything produced for one visit: tables, envelope and the form field."""

    tables: dict[str, bytes]
    envelope: bytes
    file_hs_base64: str  #: base64 of the whole envelope, posted as fileHSBase64
    coverage: cov.CoverageResult


def build_submission(
    visit: ClaimVisit, signer: Signer, *, ngay_lap: date, settings: ClaimSettings = ClaimSettings()
) -> ClaimSubmission:
    """Build, sign and encode the full claim for *visit*."""
    result = compute_visit_coverage(visit, settings)
    tables = build_tables(visit, settings, result)
    envelope = build_envelope(visit.ma_cskcb, tables, ngay_lap, signer)
    return ClaimSubmission(tables=tables, envelope=envelope, file_hs_base64=b64(envelope), coverage=result)


def exportability(visit: ClaimVisit, settings: ClaimSettings = ClaimSettings()) -> list[str]:
    """Return Vietnamese reasons why *visit* cannot be exported yet (empty list: ready)."""
    reasons: list[str] = []
    if not visit.ma_lk.strip():
        reasons.append("Thiếu mã liên kết lượt khám (MA_LK)")
    if not visit.ma_cskcb.strip():
        reasons.append("Thiếu mã cơ sở khám chữa bệnh (MA_CSKCB)")
    if not visit.ma_benh_chinh.strip():
        reasons.append("Chưa có chẩn đoán chính (MA_BENH_CHINH)")
    elif len(visit.ma_benh_chinh) > MAX_MAIN_DIAGNOSIS_LENGTH:
        reasons.append(f"Mã bệnh chính dài quá {MAX_MAIN_DIAGNOSIS_LENGTH} ký tự")
    if len([c for c in visit.ma_benh_kt if c.strip()]) > settings.max_secondary_diagnoses:
        reasons.append(f"Quá {settings.max_secondary_diagnoses} mã bệnh kèm theo (MA_BENH_KT)")
    if visit.ngay_ra is None:
        reasons.append("Lượt khám chưa kết thúc (chưa có NGAY_RA)")
    elif visit.ngay_ra < visit.ngay_vao:
        reasons.append("Thời điểm ra (NGAY_RA) trước thời điểm vào (NGAY_VAO)")
    if visit.ngay_ttoan is None:
        reasons.append("Người bệnh chưa thanh toán (chưa có NGAY_TTOAN)")
    if not visit.ket_qua_dtri.strip():
        reasons.append("Chưa ghi kết quả điều trị (KET_QUA_DTRI)")
    if not visit.ma_ttdv.strip():
        reasons.append("Thiếu mã người đứng đầu cơ sở ký hồ sơ (MA_TTDV)")
    if visit.card is not None and not visit.card.ma_the_bhyt.strip():
        reasons.append("Thiếu mã thẻ BHYT (MA_THE_BHYT)")
    try:
        fmt_birth(visit.ngay_sinh)
    except ClaimError as exc:
        reasons.append(str(exc))
    try:
        compute_visit_coverage(visit, settings)
    except cov.CoverageError as exc:
        reasons.append(str(exc))
    return reasons


# --------------------------------------------------------------------------- portal


class PortalError(RuntimeError):
    """The BHXH portal refused the request or answered something unreadable."""


class PortalUnavailable(PortalError):
    """The portal could not be reached; queue the job and retry later."""


@dataclass(frozen=True)
class PortalPaths:
    """Portal endpoint paths in force from a date (DOMAIN §3.3, decision 1)."""

    effective_from: date
    checkin: str
    claim: str
    token: str = "api/token/take"


#: [BHXH-API] 2024 names (QĐ 4750), then the QĐ 3176 names from 01/01/2025 ([VNH] BHYT-DATA-R22).
PORTAL_PATHS: tuple[PortalPaths, ...] = (
    PortalPaths(date(2024, 7, 1), "api/qd130/checkInKcbQd4750", "api/qd130/guiHoSoXmlQD4750"),
    PortalPaths(date(2025, 1, 1), "api/qd130/checkInKcbQd3176", "api/qd130/guiHoSoXmlQD3176"),
)


def portal_paths_on(day: date, table: Sequence[PortalPaths] = PORTAL_PATHS) -> PortalPaths:
    """Return the endpoint paths in force on *day*."""
    in_force = [paths for paths in table if paths.effective_from <= day]
    if not in_force:
        raise PortalError(f"Chưa cấu hình địa chỉ cổng BHXH cho ngày {day:%d/%m/%Y}")
    return max(in_force, key=lambda paths: paths.effective_from)


@dataclass(frozen=True)
class PortalResponse:
    """The portal's answer: maKetQua, maGiaoDich, thoiGianTiepNhan, thongDiep."""

    code: str
    transaction_id: str
    received_at: str  #: yyyyMMddHHmmss as sent by the portal
    message: str
    accepted: bool


class PortalSubmitter(Protocol):
    """Sends check-ins and claims to the BHXH portal."""

    def check_in(self, xml0: bytes) -> PortalResponse:
        """Send one XML0 check-in file."""
        ...

    def submit_claim(self, envelope: bytes) -> PortalResponse:
        """Send one GIAMDINHHS envelope."""
        ...


class FakePortalSubmitter:
    """In-memory portal for tests and demo mode; records what was sent."""

    def __init__(self, code: str = "200") -> None:
        """Answer every call with *code*."""
        self.code = code
        self.sent: list[tuple[str, bytes]] = []

    def _answer(self, kind: str, payload: bytes) -> PortalResponse:
        """Record *payload* and return a canned response."""
        self.sent.append((kind, payload))
        return PortalResponse(self.code, f"FAKE-{len(self.sent)}", "", "", self.code == "200")

    def check_in(self, xml0: bytes) -> PortalResponse:
        """Record a check-in."""
        return self._answer("checkin", xml0)

    def submit_claim(self, envelope: bytes) -> PortalResponse:
        """Record a claim."""
        return self._answer("claim", envelope)


class HttpPortalSubmitter:
    """Posts to the BHXH portal with stdlib urllib (DOMAIN §3.3, §2.3).

    A token is taken from ``paths.token`` with the MD5 upper-case password,
    then each file is posted as ``application/x-www-form-urlencoded`` with the
    headers ``accessToken``, ``tokenId``, ``passwordHash`` and the fields
    ``username``, ``loaiHoSo``, ``maTinh``, ``maCSKCB``, ``fileHSBase64``.
    """

    def __init__(
        self,
        endpoint_url: str,
        username: str,
        password: str,
        timeout: float = 30.0,
        *,
        ma_tinh: str = "",
        ma_cskcb: str = "",
        paths: PortalPaths | None = None,
        claim_loai_ho_so: str = "130",
        checkin_loai_ho_so: str = "0",
        success_codes: frozenset[str] = frozenset({"200"}),
    ) -> None:
        """Configure the portal base URL, account and per-facility fields."""
        self.endpoint_url = endpoint_url.rstrip("/") + "/"
        self.username = username
        self.password_hash = hashlib.md5(password.encode("utf-8")).hexdigest().upper()  # noqa: S324 (portal rule)
        self.timeout = timeout
        self.ma_tinh = ma_tinh
        self.ma_cskcb = ma_cskcb
        self.paths = paths or PORTAL_PATHS[-1]
        self.claim_loai_ho_so = claim_loai_ho_so
        self.checkin_loai_ho_so = checkin_loai_ho_so
        self.success_codes = success_codes

    def check_in(self, xml0: bytes) -> PortalResponse:
        """Send an XML0 check-in (loaiHoSo 0)."""
        return self._send(self.paths.checkin, self.checkin_loai_ho_so, xml0)

    def submit_claim(self, envelope: bytes) -> PortalResponse:
        """Send a GIAMDINHHS envelope (loaiHoSo 130)."""
        return self._send(self.paths.claim, self.claim_loai_ho_so, envelope)

    def _post(self, path: str, fields: Mapping[str, str], headers: Mapping[str, str]) -> dict[str, object]:
        """POST a form and return the decoded JSON body."""
        body = urllib.parse.urlencode(fields).encode("ascii")
        request = urllib.request.Request(self.endpoint_url + path, data=body, method="POST")
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
        request.add_header("Accept", "application/json")
        for name, value in headers.items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (configured URL)
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            exc.close()
            if not raw:
                raise PortalError(f"Cổng BHXH trả lỗi HTTP {exc.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise PortalUnavailable(f"Không kết nối được cổng BHXH: {exc}") from None
        try:
            decoded = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise PortalError("Cổng BHXH trả về nội dung không đọc được") from None
        if not isinstance(decoded, dict):
            raise PortalError("Cổng BHXH trả về nội dung không đọc được")
        return decoded

    def _take_token(self) -> tuple[str, str]:
        """Return (access_token, id_token) from the token endpoint."""
        answer = self._post(self.paths.token, {"username": self.username, "password": self.password_hash}, {})
        code = str(answer.get("maKetQua", ""))
        if code not in self.success_codes:
            raise PortalError(f"Không lấy được token cổng BHXH (mã {code or 'không rõ'})")
        nested = answer.get("APIKey")
        holder: Mapping[str, object] = nested if isinstance(nested, dict) else answer
        return str(holder.get("access_token", "")), str(holder.get("id_token", ""))

    def _send(self, path: str, loai_ho_so: str, payload: bytes) -> PortalResponse:
        """Take a token, post one file, and parse the portal's answer."""
        access_token, token_id = self._take_token()
        answer = self._post(
            path,
            {
                "username": self.username,
                "loaiHoSo": loai_ho_so,
                "maTinh": self.ma_tinh,
                "maCSKCB": self.ma_cskcb,
                "fileHSBase64": b64(payload),
            },
            {"accessToken": access_token, "tokenId": token_id, "passwordHash": self.password_hash},
        )
        return parse_portal_response(answer, self.success_codes)


def parse_portal_response(
    answer: Mapping[str, object], success_codes: frozenset[str] = frozenset({"200"})
) -> PortalResponse:
    """Turn the portal's JSON answer into a :class:`PortalResponse`."""
    code = str(answer.get("maKetQua", "")).strip()
    if not code:
        raise PortalError("Phản hồi của cổng BHXH thiếu mã kết quả (maKetQua)")
    return PortalResponse(
        code=code,
        transaction_id=str(answer.get("maGiaoDich") or ""),
        received_at=str(answer.get("thoiGianTiepNhan") or ""),
        message=str(answer.get("thongDiep") or ""),
        accepted=code in success_codes,
    )
