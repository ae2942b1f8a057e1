"""A4/A5 forms as PDF with WeasyPrint (TECH.md §5).

* One :class:`weasyprint.text.fonts.FontConfiguration` for the whole process.
* Fonts by name: "DejaVu Sans" then "Noto Sans", installed from Debian
  (``fonts-dejavu-core``, ``fonts-noto-core`` by ``scripts/system-deps.sh``), set on
  ``html`` and in every ``@page`` margin box; WeasyPrint embeds subsets of them
  (fast with ``libharfbuzz-subset0``).
* All text NFC; ``<html lang="vi">``.
* Nothing is fetched: the stylesheet is inlined by the template and the only
  resources allowed are ``data:`` URIs (the QR code), so a template cannot reach a
  file or the network.

Other areas call :func:`render_form` (bytes) or, from a view,
:func:`form_response` which also records the printed form (a ``PrintJob`` in state
``done`` with document ``a4_<form>``) so the patient's timeline shows it.
"""

from __future__ import annotations

import base64
import io
import threading
import unicodedata
import uuid
from datetime import datetime
from typing import Any

from flask import Response, render_template

from station.audit.services import Actor
from station.clock import LOCAL_TZ
from station.printing.forms_data import (
    FORM_TITLES,
    FORM_TYPES,
    ContextError,
    age_text,
    build,
    is_child,
    quantity_text,
    to_plain,
)

_lock = threading.Lock()
_font_config: Any = None
_url_fetcher: Any = None

#: Document names as stored in PrintJob.document.
def document_name(form: str) -> str:
    """Return the PrintJob document name of *form* ("a4_prescription")."""
    return f"a4_{form}"


def _weasy() -> tuple[Any, Any]:
    """Import WeasyPrint once and build the shared font configuration and URL fetcher."""
    global _font_config, _url_fetcher
    if _font_config is None:
        from weasyprint.text.fonts import FontConfiguration
        from weasyprint.urls import URLFetcher

        _font_config = FontConfiguration()
        _url_fetcher = URLFetcher(allowed_protocols={"data"})
    return _font_config, _url_fetcher


def html_to_pdf(html: str) -> bytes:
    """Render *html* (normalised to NFC) to PDF bytes with the shared font configuration."""
    from weasyprint import HTML

    with _lock:  # Pango/fontconfig objects are shared: one render at a time
        font_config, fetcher = _weasy()
        document = HTML(string=unicodedata.normalize("NFC", html), base_url="data:,",
                        url_fetcher=fetcher)
        return document.write_pdf(font_config=font_config)


def qr_data_uri(text: str) -> str:
    """Return a QR code of *text* as a PNG data URI, 4 pixels per module (sharp when printed at ~25 mm)."""
    import qrcode

    code = qrcode.QRCode(border=1, box_size=4, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(text)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image(fill_color="black", back_color="white").save(buffer)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def local_dt(value: datetime) -> datetime:
    """Return an aware datetime in Asia/Ho_Chi_Minh; a naive one is taken as already local."""
    return value.astimezone(LOCAL_TZ) if value.tzinfo else value


def build_context(form: str, data: dict[str, Any] | object) -> Any:
    """Return the typed context of *form* built from *data* (dict or dataclass).

    Raises:
        KeyError: unknown form.
        ContextError: a missing or malformed field (Vietnamese message).
    """
    return build(FORM_TYPES[form], data)  # type: ignore[arg-type]


def render_html(form: str, data: dict[str, Any] | object) -> str:
    """Render the HTML of *form* (needs an app context for the Jinja environment)."""
    context = build_context(form, data)
    on = local_dt(getattr(context, "issued_at", None) or getattr(context, "generated_at"))
    return render_template(f"documents/{form}.html", c=context, form=form, title=FORM_TITLES[form],
                           on_date=on.date(), local_dt=local_dt, age_text=age_text,
                           is_child=is_child, quantity_text=quantity_text, qr_data_uri=qr_data_uri)


def render_form(form: str, data: dict[str, Any] | object) -> bytes:
    """Render *form* with *data* to PDF bytes (needs an app context)."""
    return html_to_pdf(render_html(form, data))


def form_response(session: Any, form: str, data: dict[str, Any] | object, *, actor: Actor,
                  download: bool = False, subject_type: str = "", subject_id: object = "",
                  patient_id: uuid.UUID | None = None, filename: str | None = None,
                  record: bool = True) -> Response:
    """Render *form*, record it (PrintJob "done", audited; flush only) and return the PDF response.

    The caller commits. ``download=True`` sends ``Content-Disposition: attachment``.
    """
    from station.printing import services

    context = build_context(form, data)
    pdf = html_to_pdf(render_html(form, context))
    if record:
        services.record_form(session, form, to_plain(context), actor=actor, subject_type=subject_type,
                             subject_id=subject_id, patient_id=patient_id)
    name = filename or f"{form}.pdf"
    disposition = "attachment" if download else "inline"
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'{disposition}; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


__all__ = ["ContextError", "build_context", "document_name", "form_response", "html_to_pdf", "qr_data_uri",
           "render_form", "render_html"]
