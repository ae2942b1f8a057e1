"""Receipt layouts: pure functions from plain dataclasses to a :class:`Document`.

The station maps its models to these dataclasses; nothing here knows about the
database. Money is integer đồng printed as ``125.000 đ``; dates are ``dd/mm/yyyy``.
Aware datetimes are shown in Asia/Ho_Chi_Minh; naive ones are printed as given.
Every layout fits 58 mm and 80 mm profiles: lines wrap to the profile's columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Final
from zoneinfo import ZoneInfo

from printers.escpos import Document
from printers.profiles import PrinterProfile

__all__ = [
    "FollowUpSlipData",
    "PrescriptionLine",
    "PrescriptionSlipData",
    "ReceiptData",
    "ReceiptItem",
    "TicketData",
    "format_date",
    "format_datetime",
    "format_money",
    "layout_follow_up",
    "layout_prescription",
    "layout_receipt",
    "layout_ticket",
]

LOCAL_TZ: Final = ZoneInfo("Asia/Ho_Chi_Minh")
REPRINT_LABEL: Final = "BẢN IN LẠI"


def format_money(amount: int | Decimal) -> str:
    """Format integer đồng with dot thousands separators: ``125.000 đ``."""
    value = Decimal(amount)
    if value != value.to_integral_value():
        raise ValueError(f"số tiền phải là số nguyên đồng: {amount}")
    number = int(value)
    return f"{'-' if number < 0 else ''}{abs(number):,}".replace(",", ".") + " đ"


def format_quantity(quantity: int | Decimal) -> str:
    """Format a quantity with a decimal comma (``1,5``) and no trailing zeros."""
    value = Decimal(quantity)
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f").replace(".", ",")


def format_prescribed_quantity(quantity: int | Decimal) -> str:
    """Format a prescribed quantity: under 10 with a leading zero ("05"), as TT 26/2025 requires."""
    text = format_quantity(quantity)
    value = Decimal(quantity)
    return f"0{text}" if 0 <= value < 10 else text


def format_date(value: date) -> str:
    """Format a date as dd/mm/yyyy (datetimes are first moved to local time)."""
    if isinstance(value, datetime):
        value = _local(value).date()
    return value.strftime("%d/%m/%Y")


def format_datetime(value: datetime) -> str:
    """Format a datetime as ``dd/mm/yyyy HH:MM`` in local time."""
    return _local(value).strftime("%d/%m/%Y %H:%M")


def _local(value: datetime) -> datetime:
    """Convert an aware datetime to Vietnam time; leave a naive one alone."""
    return value.astimezone(LOCAL_TZ) if value.tzinfo else value


@dataclass(frozen=True)
class TicketData:
    """A queue ticket."""

    station_name: str
    room: str
    number: int | str
    patient_name: str
    issued_at: datetime
    visit_key: str
    reprint: bool = False
    note: str = "Vui lòng chờ đến lượt được gọi số."


@dataclass(frozen=True)
class ReceiptItem:
    """One billed line: a service, a drug or a supply."""

    name: str
    quantity: int | Decimal
    unit_price: int | Decimal
    amount: int | Decimal


@dataclass(frozen=True)
class ReceiptData:
    """A payment receipt (biên lai thu tiền)."""

    station_name: str
    receipt_number: str
    issued_at: datetime
    patient_name: str
    items: Sequence[ReceiptItem]
    total: int | Decimal
    insurance_share: int | Decimal
    patient_share: int | Decimal
    patient_code: str | None = None
    insurance_card: str | None = None
    station_address: str | None = None
    cashier: str | None = None
    vietqr_payload: str | None = None
    reprint: bool = False

    def __post_init__(self) -> None:
        """Check that BHYT share plus patient share equals the total."""
        if Decimal(self.insurance_share) + Decimal(self.patient_share) != Decimal(self.total):
            raise ValueError("BHYT chi trả + người bệnh trả phải bằng tổng tiền")


@dataclass(frozen=True)
class PrescriptionLine:
    """One drug on a prescription."""

    drug_name: str
    quantity: int | Decimal
    unit: str
    dose: str
    days: int
    strength: str | None = None


@dataclass(frozen=True)
class PrescriptionSlipData:
    """A prescription slip handed to the patient."""

    station_name: str
    prescription_code: str
    issued_at: datetime
    patient_name: str
    lines: Sequence[PrescriptionLine]
    prescriber: str
    patient_detail: str | None = None
    diagnosis: str | None = None
    advice: str | None = None
    follow_up_date: date | None = None
    reprint: bool = False


@dataclass(frozen=True)
class FollowUpSlipData:
    """A follow-up appointment slip (giấy hẹn tái khám)."""

    station_name: str
    patient_name: str
    appointment_date: date
    issued_at: datetime
    appointment_time: str | None = None
    room: str | None = None
    reason: str | None = None
    note: str | None = None
    code: str | None = None
    reprint: bool = False
    extra_lines: Sequence[str] = field(default_factory=tuple)


def _header(doc: Document, station_name: str, title: str, reprint: bool, address: str | None = None) -> None:
    """Print the station name, the title and, for a reprint, the reprint banner."""
    doc.text(station_name.upper(), align="center", bold=True)
    if address:
        doc.text(address, align="center")
    doc.feed(1)
    doc.text(title, align="center", bold=True, height=2)
    if reprint:
        _reprint_banner(doc)


def _reprint_banner(doc: Document) -> None:
    """Print "BẢN IN LẠI" in double size between rules."""
    doc.rule("*")
    doc.text(REPRINT_LABEL, align="center", bold=True, width=2, height=2)
    doc.rule("*")


def _labelled(doc: Document, label: str, value: str, *, bold: bool = False) -> None:
    """Print "label value" on one line, or the value on its own line so it is not split."""
    if len(label) + 1 + len(value) <= doc.columns():
        doc.text(f"{label} {value}", bold=bold)
    else:
        doc.text(label)
        doc.text(value, bold=bold, indent=2)


def _finish(doc: Document, reprint: bool) -> Document:
    """Repeat the reprint mark at the foot, then feed and cut."""
    if reprint:
        doc.text(f"*** {REPRINT_LABEL} ***", align="center", bold=True)
    return doc.cut()


def layout_ticket(data: TicketData, profile: PrinterProfile) -> Document:
    """Lay out a queue ticket: station, room, big number, name, time, visit QR."""
    doc = Document(profile)
    _header(doc, data.station_name, "PHIẾU SỐ THỨ TỰ", data.reprint)
    doc.text(data.room, align="center", bold=True)
    big = 4 if profile.columns_a >= 40 else 3
    doc.text(str(data.number), align="center", bold=True, width=big, height=big)
    doc.text(data.patient_name, align="center", bold=True)
    doc.text(format_datetime(data.issued_at), align="center")
    doc.qr(data.visit_key, align="center")
    if data.note:
        doc.text(data.note, align="center")
    return _finish(doc, data.reprint)


def layout_receipt(data: ReceiptData, profile: PrinterProfile) -> Document:
    """Lay out a receipt: items, totals, BHYT share, patient share and a VietQR code."""
    doc = Document(profile)
    _header(doc, data.station_name, "BIÊN LAI THU TIỀN", data.reprint, data.station_address)
    doc.pair("Số:", data.receipt_number)
    doc.pair("Ngày:", format_datetime(data.issued_at))
    _labelled(doc, "Người bệnh:", data.patient_name, bold=True)
    if data.patient_code:
        doc.text(f"Mã người bệnh: {data.patient_code}", indent=2)
    if data.insurance_card:
        doc.text(f"Số thẻ BHYT: {data.insurance_card}", indent=2)
    doc.rule()
    for index, item in enumerate(data.items, start=1):
        doc.text(f"{index}. {item.name}", indent=3)
        doc.pair(f"   {format_quantity(item.quantity)} x {format_money(item.unit_price)}", format_money(item.amount))
    doc.rule()
    doc.pair("Tổng cộng:", format_money(data.total), bold=True)
    doc.pair("BHYT chi trả:", format_money(data.insurance_share))
    doc.pair("Người bệnh trả:", format_money(data.patient_share), bold=True, height=2)
    doc.rule()
    if data.vietqr_payload:
        doc.text("Quét mã để chuyển khoản", align="center")
        doc.qr(data.vietqr_payload, align="center")
    if data.cashier:
        doc.text(f"Người thu tiền: {data.cashier}", indent=2)
    doc.text("Xin cảm ơn và chúc sức khỏe!", align="center")
    return _finish(doc, data.reprint)


def layout_prescription(data: PrescriptionSlipData, profile: PrinterProfile) -> Document:
    """Lay out a prescription slip: drugs with dose and days, advice, follow-up, code QR."""
    doc = Document(profile)
    _header(doc, data.station_name, "ĐƠN THUỐC", data.reprint)
    doc.pair("Mã đơn:", data.prescription_code)
    doc.pair("Ngày kê:", format_datetime(data.issued_at))
    _labelled(doc, "Người bệnh:", data.patient_name, bold=True)
    if data.patient_detail:
        doc.text(data.patient_detail, indent=2)
    if data.diagnosis:
        doc.text(f"Chẩn đoán: {data.diagnosis}", indent=2)
    doc.rule()
    for index, line in enumerate(data.lines, start=1):
        name = f"{line.drug_name} {line.strength}" if line.strength else line.drug_name
        doc.text(f"{index}. {name}", bold=True, indent=3)
        doc.text(f"   Số lượng: {format_prescribed_quantity(line.quantity)} {line.unit}", indent=3)
        doc.text(f"   {line.dose}", indent=3)
        doc.text(f"   Dùng trong {line.days} ngày", indent=3)
    doc.rule()
    if data.advice:
        doc.text(f"Lời dặn: {data.advice}", indent=2)
    if data.follow_up_date:
        doc.text(f"Hẹn tái khám: {format_date(data.follow_up_date)}", bold=True)
    doc.text(f"Người kê đơn: {data.prescriber}", indent=2)
    doc.qr(data.prescription_code, align="center")
    return _finish(doc, data.reprint)


def layout_follow_up(data: FollowUpSlipData, profile: PrinterProfile) -> Document:
    """Lay out a follow-up appointment slip."""
    doc = Document(profile)
    _header(doc, data.station_name, "GIẤY HẸN TÁI KHÁM", data.reprint)
    _labelled(doc, "Người bệnh:", data.patient_name, bold=True)
    doc.text("Mời ông/bà quay lại khám vào ngày:", align="center")
    when = format_date(data.appointment_date)
    doc.text(when, align="center", bold=True, width=2, height=2)
    if data.appointment_time:
        doc.text(f"Lúc {data.appointment_time}", align="center", bold=True)
    if data.room:
        doc.text(f"Nơi khám: {data.room}", indent=2)
    if data.reason:
        doc.text(f"Lý do: {data.reason}", indent=2)
    for line in data.extra_lines:
        doc.text(line, indent=2)
    if data.note:
        doc.text(data.note, indent=2)
    doc.text(f"Ngày lập: {format_datetime(data.issued_at)}", align="right")
    if data.code:
        doc.qr(data.code, align="center")
    return _finish(doc, data.reprint)
