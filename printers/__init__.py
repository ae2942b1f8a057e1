"""ESC/POS printing for the station: encoder, profiles, transports, status, decoder.

Pure hardware code: nothing here imports Flask, SQLAlchemy or ``station``.

Example usage::

    from printers import TicketData, layout_ticket, open_printer

    with open_printer("serial:///dev/ttyUSB0?baudrate=19200&rtscts=1", "epson-tm-t20ii") as p:
        p.print(layout_ticket(ticket, p.profile))
"""

from printers.base import PrinterStatus, Transport, query_status
from printers.decoder import DecodedReceipt, decode
from printers.escpos import Document, Style
from printers.exceptions import (
    CoverOpen,
    Offline,
    PaperOut,
    PrinterError,
    PrinterFault,
    PrinterTimeout,
    PrinterUnavailable,
    ProfileError,
)
from printers.fake import FakeTransport
from printers.file import FileTransport
from printers.layouts import (
    FollowUpSlipData,
    PrescriptionLine,
    PrescriptionSlipData,
    ReceiptData,
    ReceiptItem,
    TicketData,
    format_date,
    format_money,
    layout_follow_up,
    layout_prescription,
    layout_receipt,
    layout_ticket,
)
from printers.printer import Printer
from printers.profiles import BUILTIN_PROFILES, PrinterProfile, get_profile, profile_from_config
from printers.registry import open_printer, open_transport
from printers.serial import SerialTransport
from printers.tcp import TcpTransport

__all__ = [
    "BUILTIN_PROFILES",
    "CoverOpen",
    "DecodedReceipt",
    "Document",
    "FakeTransport",
    "FileTransport",
    "FollowUpSlipData",
    "Offline",
    "PaperOut",
    "PrescriptionLine",
    "PrescriptionSlipData",
    "Printer",
    "PrinterError",
    "PrinterFault",
    "PrinterProfile",
    "PrinterStatus",
    "PrinterTimeout",
    "PrinterUnavailable",
    "ProfileError",
    "ReceiptData",
    "ReceiptItem",
    "SerialTransport",
    "Style",
    "TcpTransport",
    "TicketData",
    "Transport",
    "decode",
    "format_date",
    "format_money",
    "get_profile",
    "layout_follow_up",
    "layout_prescription",
    "layout_receipt",
    "layout_ticket",
    "open_printer",
    "open_transport",
    "profile_from_config",
    "query_status",
]
