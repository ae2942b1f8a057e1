"""Turning a print job's payload (JSON) into ESC/POS for one printer profile.

The payload of each thermal document is the dict of the matching ``printers``
layout dataclass (field names as in :mod:`printers.layouts`; dates and times as
ISO strings; money as integer đồng)::

    ticket             printers.TicketData          (station_name, room, number, patient_name,
                                                     issued_at, visit_key, note?)
    receipt            printers.ReceiptData         (items: [{name, quantity, unit_price, amount}], ...)
    prescription_slip  printers.PrescriptionSlipData (lines: [{drug_name, quantity, unit, dose, days,
                                                     strength?}], ...)
    followup_slip      printers.FollowUpSlipData
    test_page          {"printer_name": str, "requested_by": str} (all optional)

``station_name`` may be left out: the spooler fills in the station's name.
``"reprint": true`` prints "BẢN IN LẠI" at the head and the foot.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from printers import (
    Document,
    FollowUpSlipData,
    PrescriptionSlipData,
    PrinterProfile,
    ReceiptData,
    TicketData,
    layout_follow_up,
    layout_prescription,
    layout_receipt,
    layout_ticket,
)
from printers.layouts import REPRINT_LABEL, format_datetime
from station.printing.forms_data import ContextError, build


class RenderError(Exception):
    """A job cannot be rendered (unknown document, bad payload): a permanent error, in Vietnamese."""


#: Vietnamese names of the thermal documents.
DOCUMENT_LABELS: dict[str, str] = {
    "ticket": "Phiếu số thứ tự",
    "receipt": "Biên lai",
    "prescription_slip": "Đơn thuốc (giấy nhiệt)",
    "followup_slip": "Giấy hẹn tái khám (giấy nhiệt)",
    "test_page": "Trang in thử",
}

VIETNAMESE_SAMPLE = (
    "Tiếng Việt: Nguyễn Thị Hồng Nhung, Trần Đức Ưng, Phạm Quốc Việt",
    "aàảãáạ ăằẳẵắặ âầẩẫấậ đ eèẻẽéẹ êềểễếệ",
    "iìỉĩíị oòỏõóọ ôồổỗốộ ơờởỡớợ uùủũúụ ưừửữứự yỳỷỹýỵ",
    "AÀẢÃÁẠ ĂẰẲẴẮẶ ÂẦẨẪẤẬ Đ EÈẺẼÉẸ ÊỀỂỄẾỆ",
    "IÌỈĨÍỊ OÒỎÕÓỌ ÔỒỔỖỐỘ ƠỜỞỠỚỢ UÙỦŨÚỤ ƯỪỬỮỨỰ YỲỶỸÝỴ",
)


def layout_test_page(data: dict[str, Any], profile: PrinterProfile) -> Document:
    """Lay out the test page: profile facts, the whole Vietnamese alphabet, a QR code and a cut."""
    doc = Document(profile)
    doc.text(str(data.get("station_name") or "Trạm Y tế số").upper(), align="center", bold=True)
    doc.text("TRANG IN THỬ", align="center", bold=True, height=2)
    if data.get("reprint"):
        doc.text(REPRINT_LABEL, align="center", bold=True)
    doc.rule()
    doc.text(f"Máy in: {data.get('printer_name') or '-'}")
    doc.text(f"Hồ sơ: {profile.name} ({profile.paper_mm} mm, {profile.columns_a} cột)")
    doc.text(f"Cách in tiếng Việt: {profile.strategy}")
    if data.get("requested_at"):
        try:
            doc.text(f"Lúc: {format_datetime(datetime.fromisoformat(str(data['requested_at'])))}")
        except ValueError:
            pass
    doc.rule()
    for line in VIETNAMESE_SAMPLE:
        doc.text(line)
    doc.rule()
    doc.text("0123456789 ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    doc.text("Chữ đậm", bold=True)
    doc.text("Cỡ lớn", width=2, height=2)
    doc.qr("TRAM-Y-TE-SO-TEST", align="center")
    doc.text("Nếu mọi dấu tiếng Việt đều đúng, máy in đã sẵn sàng.", align="center")
    return doc.cut()


def _layout(data_cls: type, layout: Callable[[Any, PrinterProfile], Document]) -> Callable[[dict[str, Any], PrinterProfile], Document]:
    """Make a renderer that builds *data_cls* from the payload and calls *layout*."""
    def render(payload: dict[str, Any], profile: PrinterProfile) -> Document:
        return layout(build(data_cls, payload), profile)
    return render


RENDERERS: dict[str, Callable[[dict[str, Any], PrinterProfile], Document]] = {
    "ticket": _layout(TicketData, layout_ticket),
    "receipt": _layout(ReceiptData, layout_receipt),
    "prescription_slip": _layout(PrescriptionSlipData, layout_prescription),
    "followup_slip": _layout(FollowUpSlipData, layout_follow_up),
    "test_page": layout_test_page,
}


def parse_payload(payload: str) -> dict[str, Any]:
    """Decode a job's JSON payload, raising RenderError when it is not a JSON object."""
    try:
        data = json.loads(payload)
    except ValueError:
        raise RenderError("Dữ liệu lệnh in bị hỏng (không phải JSON).") from None
    if not isinstance(data, dict):
        raise RenderError("Dữ liệu lệnh in phải là một bảng giá trị.")
    return data


def render_document(document: str, payload: dict[str, Any] | str, profile: PrinterProfile,
                    *, defaults: dict[str, Any] | None = None) -> Document:
    """Render *document* with *payload* for *profile*; *defaults* fill missing keys (station_name).

    Raises:
        RenderError: unknown document, missing or malformed field (Vietnamese message).
    """
    renderer = RENDERERS.get(document)
    if renderer is None:
        raise RenderError(f"Loại giấy in không được hỗ trợ trên máy in nhiệt: {document}.")
    data = parse_payload(payload) if isinstance(payload, str) else dict(payload)
    for key, value in (defaults or {}).items():
        if not data.get(key):
            data[key] = value
    try:
        return renderer(data, profile)
    except ContextError as error:
        raise RenderError(f"Không dựng được {DOCUMENT_LABELS[document].lower()}: {error}") from error
    except (ValueError, TypeError) as error:
        raise RenderError(f"Không dựng được {DOCUMENT_LABELS[document].lower()}: {error}") from error
