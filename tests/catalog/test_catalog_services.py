"""Catalogue services: drug and service CSV import, ICD-10 versions by date and the CLI import."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from station.audit.services import Actor
from station.catalog import services
from station.catalog.models import Drug, IcdCatalogVersion
from station.errors import ValidationFailed

ACTOR = Actor("test", "test", "127.0.0.1")

DRUG_CSV = (
    "\ufeffMã thuốc;Hoạt chất;Tên thuốc;Hàm lượng;Dạng bào chế;Đơn vị tính;Đường dùng;Số đăng ký;Mã BHYT;Đơn giá;Loại đơn\n"
    "T001;Paracetamol;Panadol;500mg;Viên nén;Viên;Uống;VN-20219-17;40.1;1.500;C\n"
    "T002;Amoxicillin + Acid clavulanic;Augmentin;625mg;Viên nén bao phim;Viên;Uống;VN-19813-16;40.160;9800,50;C\n"
)


@pytest.fixture
def session(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        from station.extensions import db

        services.clear_index_cache()
        yield db.session
        services.clear_index_cache()


def test_drug_csv_with_vietnamese_headers_and_prices_is_imported_then_updated(session):
    result = services.import_drugs(session, DRUG_CSV.encode("utf-8"), actor=ACTOR)
    assert (result.created, result.updated) == (2, 0)
    augmentin = session.scalar(select(Drug).where(Drug.code == "T002"))
    assert augmentin.multi_ingredient and augmentin.price == Decimal("9800.50")
    assert session.scalar(select(Drug.price).where(Drug.code == "T001")) == Decimal("1500.00")
    result = services.import_drugs(session, DRUG_CSV.replace("1.500", "1.600").encode("utf-8"), actor=ACTOR)
    assert (result.created, result.updated) == (0, 2)
    assert [d.code for d in services.list_drugs(session, "paracetamol")] == ["T001"]


def test_a_bad_drug_file_imports_nothing_and_names_each_line(session):
    bad = DRUG_CSV + "T003;;Thiếu hoạt chất;;;;;;;10;C\nT004;Diazepam;Seduxen;5mg;;;;;;-5;X\nT001;Paracetamol;x;;;;;;;1;C\n"
    with pytest.raises(ValidationFailed) as raised:
        services.import_drugs(session, bad.encode("utf-8"), actor=ACTOR)
    message = raised.value.message
    assert "chưa nhập dòng nào" in message and "Dòng 4: thiếu hoạt chất" in message
    assert "Dòng 5" in message and "Dòng 6: mã T001 bị lặp" in message
    assert session.scalar(select(Drug.id)) is None
    with pytest.raises(ValidationFailed, match="thiếu cột"):
        services.import_drugs(session, "tên;giá\nA;1\n".encode("utf-8"), actor=ACTOR)


def _cp1258(text: str) -> bytes:
    """Encode like Windows-1258 keyboards do: precomposed letters where they exist, tone marks combining."""
    import unicodedata

    out = bytearray()
    for ch in text:
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            base, *marks = unicodedata.normalize("NFD", ch)
            for first in range(len(marks)):  # compose the base with one mark, the others stay combining
                rest = marks[:first] + marks[first + 1:]
                try:
                    out += unicodedata.normalize("NFC", base + marks[first]).encode("cp1258") + "".join(rest).encode("cp1258")
                    break
                except UnicodeEncodeError:
                    continue
            else:
                out += ("".join([base, *marks])).encode("cp1258")
    return bytes(out)


def test_windows_1258_service_file(session):
    text = "Mã dịch vụ,Tên dịch vụ,Loại,Mã BHYT,Đơn giá\nDV001,Khám bệnh,khám,02.1896,30.500\n"
    raw = _cp1258(text)
    result = services.import_services(session, raw, actor=ACTOR)
    assert result.created == 1 and result.encoding == "Windows-1258"
    item = services.list_services(session, "kham")[0]
    assert item.name == "Khám bệnh" and item.kind == "exam" and item.price == Decimal("30500.00")


def test_icd_versions_are_chosen_by_date_and_default_to_the_built_in_ones(session):
    assert services.version_on(session, date(2026, 6, 30)).name == "QĐ 4469/QĐ-BYT"
    assert services.version_on(session, date(2026, 7, 1)).name == "TT 06/2026/TT-BYT"
    with pytest.raises(ValidationFailed, match="không có"):
        services.version_on(session, date(2019, 1, 1))


def test_import_creates_a_version_closing_the_open_one_and_search_uses_it(session, tmp_path):
    titles = tmp_path / "tt06.csv"
    titles.write_text("Mã,Tên bệnh,Cột 26\nJ06.9,Nhiễm trùng hô hấp trên cấp (tên mới),\nA00.0,Tả do Vibrio,x\n",
                      encoding="utf-8")
    row = services.import_icd10_titles(session, titles, actor=ACTOR, version_name="TT 99/2027/TT-BYT",
                                       effective_from=date(2027, 1, 1))
    assert row.title_count == 2
    tt06 = session.scalar(select(IcdCatalogVersion).where(IcdCatalogVersion.name == "TT 06/2026/TT-BYT"))
    assert tt06.effective_to == date(2026, 12, 31)
    _, found = services.search_icd(session, "ho hap tren cap ten moi", on=date(2027, 3, 1))
    assert found[0].code == "J06.9" and "tên mới" in found[0].title
    with pytest.raises(ValidationFailed, match="cột 26"):
        services.validate_icd(session, "A00.0", on=date(2027, 3, 1))
    services.validate_icd(session, "A00.0", on=date(2026, 3, 1))  # the old list allowed it


def test_cli_imports_icd10_titles_and_drugs(runner, session, tmp_path):
    titles = tmp_path / "vi.csv"
    titles.write_text("I10,Tăng huyết áp vô căn (nguyên phát)\n", encoding="utf-8")
    done = runner.invoke(args=["catalog", "import", "icd10", str(titles), "--version", "TT 06/2026/TT-BYT"])
    assert done.exit_code == 0, done.output
    assert "Imported 1 Vietnamese titles into TT 06/2026/TT-BYT" in done.output
    drugs = tmp_path / "drugs.csv"
    drugs.write_text(DRUG_CSV, encoding="utf-8")
    done = runner.invoke(args=["catalog", "import", "drugs", str(drugs)])
    assert done.exit_code == 0 and "2 created" in done.output
    done = runner.invoke(args=["catalog", "import", "icd10", str(titles), "--version", "Mới"])
    assert done.exit_code == 1 and "--effective-from" in done.output
