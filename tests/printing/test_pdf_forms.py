"""A4/A5 forms through WeasyPrint, checked with pypdf and pdftotext."""

from __future__ import annotations

import io
import shutil
import subprocess
import unicodedata

import pytest
from pypdf import PdfReader

from station.printing import pdf
from station.printing.forms_data import FORM_TYPES, sample_context


def _text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return unicodedata.normalize("NFC", "\n".join(page.extract_text() for page in reader.pages))


def test_prescription_with_three_lines_is_one_page_with_qr_and_tt26_fields(app) -> None:
    with app.test_request_context():
        data = pdf.render_form("prescription", sample_context("prescription"))
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    assert len(reader.pages[0].images) >= 1, "the QR of the prescription code"
    text = _text(data)
    for expected in ("ĐƠN THUỐC", "NGUYỄN THỊ HỒNG NHUNG", "01001a7k2m9q-C", "GD4010112345678",
                     "Viêm họng cấp (J02.9)", "Amoxicillin 500mg", "05 lọ", "Cộng khoản: 03", "Phạm Quốc Việt",
                     "17/03/2026", "Hà Nội, ngày 10 tháng 03 năm 2026"):
        assert expected in text, expected
    assert text == unicodedata.normalize("NFC", text)


def test_child_prescription_shows_months_weight_and_companion(app) -> None:
    context = sample_context("prescription")
    context["patient"] = {"full_name": "Trần Minh Đức", "birth_date": "2024-03-02", "sex": "Nam",
                          "weight_kg": "11.5", "companion_name": "Trần Thị Lụa (mẹ)"}
    with app.test_request_context():
        text = _text(pdf.render_form("prescription", context))
    assert "24 tháng tuổi" in text and "11.5 kg" in text and "Trần Thị Lụa (mẹ)" in text


def test_nfd_input_comes_out_nfc(app) -> None:
    context = sample_context("followup")
    context["patient"] = {**context["patient"], "full_name": unicodedata.normalize("NFD", "Lê Thị Ánh Tuyết")}
    with app.test_request_context():
        text = _text(pdf.render_form("followup", context))
    assert "LÊ THỊ ÁNH TUYẾT" in text


@pytest.mark.parametrize("form", sorted(FORM_TYPES))
def test_every_form_renders_one_page_of_vietnamese(app, form: str, tmp_path) -> None:
    with app.test_request_context():
        data = pdf.render_form(form, sample_context(form))
    assert len(PdfReader(io.BytesIO(data)).pages) == 1
    target = tmp_path / f"{form}.pdf"
    target.write_bytes(data)
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-layout", str(target), "-"], capture_output=True, check=True,
                              text=True).stdout
        assert "NGUYỄN THỊ HỒNG NHUNG" in unicodedata.normalize("NFC", text)
    if shutil.which("pdffonts"):
        fonts = subprocess.run(["pdffonts", str(target)], capture_output=True, check=True, text=True).stdout
        rows = fonts.splitlines()[2:]
        assert rows and all("DejaVu" in row and " yes yes " in row for row in rows), fonts


def test_long_prescription_flows_onto_more_pages(app) -> None:
    with app.test_request_context():
        data = pdf.render_form("prescription", sample_context("prescription", lines=60))
    assert len(PdfReader(io.BytesIO(data)).pages) > 1
