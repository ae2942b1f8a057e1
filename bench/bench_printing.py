"""Payload sizes and serial wire times of a queue ticket and a receipt (TCVN-3, 80 mm).

Run from the repository root: ``python -m bench.bench_printing``.
"""

from __future__ import annotations

from datetime import datetime

from bench.common import record
from printers import ReceiptData, ReceiptItem, TicketData, get_profile, layout_receipt, layout_ticket

VIETQR = (
    "00020101021238570010A00000072701270006970422011301234567890120208QRIBFTTA"
    "530370454061250005802VN62150811BL2025004263046A1F"
)


def wire_ms(size: int, baud: int) -> float:
    """Return milliseconds to send *size* bytes at *baud* with 8N1 framing (10 bits a byte)."""
    return size * 10 / baud * 1000


def main() -> None:
    """Measure and record the figures."""
    profile = get_profile("epson-tm-t20ii")
    assert profile.strategy == "tcvn3" and profile.native_qr and profile.paper_mm == 80
    ticket = TicketData(
        station_name="Trạm Y tế xã Hương Sơn", room="Phòng khám số 2", number=17,
        patient_name="Nguyễn Thị Hồng Nhung", issued_at=datetime(2025, 11, 25, 8, 15),
        visit_key="V-2025-000123",
    )
    items = [
        ReceiptItem("Khám bệnh ngoại trú", 1, 34500, 34500),
        ReceiptItem("Paracetamol 500mg viên nén", 20, 500, 10000),
        ReceiptItem("Amoxicillin 500mg viên nang", 21, 1500, 31500),
        ReceiptItem("Xét nghiệm đường huyết mao mạch", 1, 20000, 20000),
        ReceiptItem("Oresol gói pha 1 lít", 5, 3000, 15000),
        ReceiptItem("Băng dính y tế cuộn", 1, 14000, 14000),
        ReceiptItem("Vitamin C 100mg", 10, 300, 3000),
        ReceiptItem("Nước muối sinh lý 0,9% chai 500ml", 2, 6000, 12000),
    ]
    total = sum(int(i.amount) for i in items)
    receipt = ReceiptData(
        station_name="Trạm Y tế xã Hương Sơn", receipt_number="BL-2025-000426",
        issued_at=datetime(2025, 11, 25, 9, 5), patient_name="Nguyễn Thị Hồng Nhung", items=items,
        total=total, insurance_share=total - 28000, patient_share=28000, patient_code="BN-000123",
        insurance_card="GD4404012345678", station_address="Thôn Đông, xã Hương Sơn, Hà Tĩnh",
        cashier="Lê Thị Ánh", vietqr_payload=VIETQR,
    )
    ticket_bytes = len(layout_ticket(ticket, profile).to_bytes())
    receipt_bytes = len(layout_receipt(receipt, profile).to_bytes())
    assert ticket_bytes <= 1000, ticket_bytes
    assert receipt_bytes <= 2500, receipt_bytes
    record(
        {
            "ticket_bytes": ticket_bytes,
            "receipt_bytes": receipt_bytes,
            "ticket_wire_ms_115200": wire_ms(ticket_bytes, 115200),
            "ticket_wire_ms_9600": wire_ms(ticket_bytes, 9600),
        }
    )


if __name__ == "__main__":
    main()
