"""QĐ 130 claim tables, envelope, signature and portal client (station.claims.xml130)."""

from __future__ import annotations

import base64
import dataclasses
import json
import threading
import urllib.parse
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from email.message import Message
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from station.billing.coverage import ChargeKind, ChargeLine
from station.claims import xml130 as x
from station.claims.xml130 import (
    ClaimCard,
    ClaimDrugLine,
    ClaimError,
    ClaimFollowUp,
    ClaimReferral,
    ClaimServiceLine,
    ClaimVisit,
)

VISIT_START = datetime(2025, 3, 10, 8, 5)
SIGNER = x.TestSigner(b"unit-test-key")


def drug(line_id: str = "d1", quantity: str = "10", price: int = 500) -> ClaimDrugLine:
    charge = ChargeLine(line_id, ChargeKind.DRUG, "40.17", "Paracetamol 500mg", Decimal(quantity), price, price)
    return ClaimDrugLine(
        charge=charge,
        ma_nhom="4",
        don_vi_tinh="Viên",
        ngay_yl=datetime(2025, 3, 10, 8, 30),
        ham_luong="500mg",
        duong_dung="1.01",
        lieu_dung="1 viên/lần * 2 lần/ngày * 5 ngày [2 viên/ngày]",
        so_dang_ky="VD-12345-10",
        ma_bac_si="000123/HNO-CCHN",
    )


def service(line_id: str = "s1", price: int = 38_700, kind: ChargeKind = ChargeKind.SERVICE) -> ClaimServiceLine:
    code = "N07.01.0010" if kind is ChargeKind.SUPPLY else "02.1896"
    name = "Bơm tiêm 5ml" if kind is ChargeKind.SUPPLY else "Khám Nội"
    charge = ChargeLine(line_id, kind, code, name, Decimal(1), price, price)
    return ClaimServiceLine(
        charge=charge,
        ma_nhom="10" if kind is ChargeKind.SUPPLY else "1",
        don_vi_tinh="Cái" if kind is ChargeKind.SUPPLY else "Lần",
        ngay_yl=datetime(2025, 3, 10, 8, 10),
        ma_dich_vu="02.1896" if kind is ChargeKind.SUPPLY else "",
        ma_bac_si="000123/HNO-CCHN",
    )


def make_visit(**overrides: Any) -> ClaimVisit:
    base = ClaimVisit(
        ma_lk="LK2025031000001",
        ma_bn="BN000042",
        ho_ten="Nguyễn Thị Ánh",
        ngay_sinh=date(1985, 4, 5),
        gioi_tinh="2",
        ma_cskcb="01001",
        ngay_vao=VISIT_START,
        ngay_ra=datetime(2025, 3, 10, 9, 0),
        ngay_ttoan=datetime(2025, 3, 10, 9, 5),
        card=ClaimCard(
            ma_the_bhyt="HT3010120878811",
            ma_dkbd="01001",
            gt_the_tu=date(2025, 1, 1),
            gt_the_den=date(2025, 12, 31),
            muc_huong=Decimal(95),
            benefit_level=3,
            ma_khuvuc="",
        ),
        ma_benh_chinh="J06.9",
        ma_benh_kt=("I10", "E11.9"),
        chan_doan_rv="Viêm đường hô hấp trên cấp",
        ma_doituong_kcb="1.1",
        ma_loai_kcb="01",
        ket_qua_dtri="1",
        ma_dantoc="01",
        maxa_cu_tru="00004",
        matinh_cu_tru="001",
        ma_khoa="K01",
        ma_ttdv="0123456789",
        drugs=(drug(),),
        services=(service(), service("v1", 1_500, ChargeKind.SUPPLY)),
    )
    return dataclasses.replace(base, **overrides)


def parse(data: bytes) -> ET.Element:
    assert data.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(data)


def children(element: ET.Element) -> list[str]:
    return [child.tag for child in element]


# --------------------------------------------------------------------------- tables


def test_xml1_has_every_field_in_domain_order_and_the_coverage_totals() -> None:
    visit = make_visit()
    result = x.compute_visit_coverage(visit)
    root = parse(x.build_xml1(visit, result))
    assert root.tag == "TONG_HOP"
    assert children(root) == list(x.XML1_FIELDS)
    assert len(x.XML1_FIELDS) == 66
    assert root.findtext("T_TONGCHI_BV") == str(38_700 + 1_500 + 5_000)
    assert root.findtext("T_THUOC") == "5000"
    assert root.findtext("T_VTYT") == "1500"
    assert root.findtext("T_BHTT") == str(result.totals.t_bhtt)
    bhtt, tongchi_bh, bncct = (int(root.findtext(f) or "") for f in ("T_BHTT", "T_TONGCHI_BH", "T_BNCCT"))
    assert bhtt == tongchi_bh - bncct


def test_codes_keep_leading_zeros_and_dates_use_the_spec_formats() -> None:
    root = parse(x.build_xml1(make_visit(), x.compute_visit_coverage(make_visit())))
    assert root.findtext("MA_LOAI_KCB") == "01"
    assert root.findtext("MA_QUOCTICH") == "000"
    assert root.findtext("MA_NGHE_NGHIEP") == "00000"
    assert root.findtext("MA_DOITUONG_KCB") == "1.1"
    assert root.findtext("MATINH_CU_TRU") == "001"
    assert root.findtext("MAXA_CU_TRU") == "00004"
    assert root.findtext("MA_CSKCB") == "01001"
    assert root.findtext("NGAY_SINH") == "198504050000"
    assert root.findtext("NGAY_VAO") == "202503100805"
    assert root.findtext("NGAY_RA") == "202503100900"
    assert root.findtext("NGAY_TTOAN") == "202503100905"
    assert root.findtext("GT_THE_TU") == "20250101"
    assert root.findtext("GT_THE_DEN") == "20251231"
    assert (root.findtext("NAM_QT"), root.findtext("THANG_QT")) == ("2025", "03")


def test_secondary_diagnoses_are_joined_and_limited_to_twelve() -> None:
    twelve = tuple(f"A{n:02d}" for n in range(12))
    root = parse(x.build_xml1(make_visit(ma_benh_kt=twelve), x.compute_visit_coverage(make_visit())))
    assert root.findtext("MA_BENH_KT") == ";".join(twelve)
    with pytest.raises(ClaimError, match="Tối đa 12 mã bệnh kèm theo"):
        x.build_tables(make_visit(ma_benh_kt=(*twelve, "B99")))


def test_main_diagnosis_is_never_truncated() -> None:
    root = parse(x.build_xml1(make_visit(ma_benh_chinh="S72.001"), x.compute_visit_coverage(make_visit())))
    assert root.findtext("MA_BENH_CHINH") == "S72.001"
    with pytest.raises(ClaimError, match="không được cắt mã"):
        x.build_tables(make_visit(ma_benh_chinh="S72.0011"))


def test_xml_special_characters_in_patient_name_survive_the_round_trip() -> None:
    name = 'Trần <Văn> & "Bình" \'Ánh\''
    visit = make_visit(ho_ten=name, ghi_chu="Uống thuốc sau ăn & tái khám <7 ngày>")
    submission = x.build_submission(visit, SIGNER, ngay_lap=date(2025, 3, 10))
    raw = submission.tables["XML1"]
    assert "Trần &lt;Văn&gt; &amp;".encode() in raw
    envelope = ET.fromstring(base64.b64decode(submission.file_hs_base64))
    xml1 = next(f for f in envelope.iter("FILEHOSO") if f.findtext("LOAIHOSO") == "XML1")
    decoded = ET.fromstring(base64.b64decode(xml1.findtext("NOIDUNGFILE") or ""))
    assert decoded.findtext("HO_TEN") == name
    assert decoded.findtext("GHI_CHU") == "Uống thuốc sau ăn & tái khám <7 ngày>"


def test_xml2_rows_follow_domain_order_with_per_line_shares() -> None:
    visit = make_visit(drugs=(drug("d1"), drug("d2", "0.5", 1_235)))
    result = x.compute_visit_coverage(visit)
    root = parse(x.build_xml2(visit, result))
    assert root.tag == "CHITIEU_CHITIET_THUOC"
    rows = root.findall("DSACH_CHI_TIET_THUOC/CHI_TIET_THUOC")
    assert len(rows) == 2
    assert all(children(row) == list(x.XML2_FIELDS) for row in rows)
    assert [row.findtext("STT") for row in rows] == ["1", "2"]
    second = rows[1]
    assert second.findtext("SO_LUONG") == "0.5"
    assert second.findtext("THANH_TIEN_BV") == "618"
    assert second.findtext("MA_THUOC") == "40.17"
    assert second.findtext("MUC_HUONG") == "100"  # level 3 at commune level
    assert second.findtext("NGAY_YL") == "202503100830"
    assert [int(r.findtext("T_BHTT") or "") for r in rows] == [result.line("d1").t_bhtt, result.line("d2").t_bhtt]


def test_xml3_separates_services_and_supplies() -> None:
    visit = make_visit()
    root = parse(x.build_xml3(visit, x.compute_visit_coverage(visit)))
    assert root.tag == "CHITIEU_CHITIET_DVKT_VTYT"
    rows = root.findall("DSACH_CHI_TIET_DVKT/CHI_TIET_DVKT")
    assert all(children(row) == list(x.XML3_FIELDS) for row in rows)
    exam, syringe = rows
    assert [exam.findtext(f) for f in ("MA_DICH_VU", "TEN_DICH_VU", "MA_VAT_TU")] == ["02.1896", "Khám Nội", ""]
    assert (syringe.findtext("MA_VAT_TU"), syringe.findtext("TEN_VAT_TU")) == ("N07.01.0010", "Bơm tiêm 5ml")
    assert syringe.findtext("MA_DICH_VU") == "02.1896"
    assert exam.findtext("TYLE_TT_DV") == "100"
    assert exam.findtext("DON_GIA_BH") == "38700"
    assert exam.findtext("PHAM_VI") == "1"


def test_xml0_check_in_names_the_first_cost_and_carries_a_signature() -> None:
    root = parse(x.build_xml0(make_visit(), SIGNER))
    assert root.tag == "CHI_TIEU_TRANG_THAI_KCB"
    assert children(root) == ["DSACH_TRANG_THAI_KCB", "CHUKYDONVI"]
    record = root.find("DSACH_TRANG_THAI_KCB/TRANG_THAI_KCB")
    assert record is not None
    assert children(record) == list(x.XML0_FIELDS)
    assert record.findtext("MA_DICH_VU") == "02.1896"  # ordered 08:10, before the drug at 08:30
    assert record.findtext("NGAY_YL") == "202503100810"
    assert record.findtext("MA_THUOC") == ""
    signature = root.findtext("CHUKYDONVI") or ""
    root.remove(root[-1])
    assert SIGNER.verify(x.canonical_bytes(root), signature)
    unsigned = parse(x.build_xml0(make_visit()))
    assert unsigned.findtext("CHUKYDONVI") == ""


def test_xml13_and_xml14_are_built_only_when_present() -> None:
    assert set(x.build_tables(make_visit())) == {"XML1", "XML2", "XML3"}
    referral = ClaimReferral(so_hoso="HS01", so_chuyentuyen="CT-0001", ma_noi_den="01002", ma_lydo_ct="1")
    follow_up = ClaimFollowUp("HK-0001", ngay_hen_kl=datetime(2025, 3, 17, 7, 30), ngay_ct=date(2025, 3, 10))
    tables = x.build_tables(make_visit(referral=referral, follow_up=follow_up, drugs=(), services=()))
    assert list(tables) == ["XML1", "XML13", "XML14"]
    xml13 = parse(tables["XML13"])
    assert xml13.tag == "CHI_TIEU_GIAYCHUYENTUYEN"
    assert children(xml13) == list(x.DEFAULT_XML13_FIELDS)
    assert [xml13.findtext(f) for f in ("SO_CHUYENTUYEN", "MA_NOI_DEN", "MA_LOAI_RV")] == ["CT-0001", "01002", "2"]
    xml14 = parse(tables["XML14"])
    assert children(xml14) == list(x.DEFAULT_XML14_FIELDS)
    assert (xml14.findtext("NGAY_HEN_KL"), xml14.findtext("NGAY_CT")) == ("202503170730", "20250310")
    xml1 = parse(tables["XML1"])
    assert (xml1.findtext("NGAY_TAI_KHAM"), xml1.findtext("MA_NOI_DEN")) == ("20250317", "01002")


def test_xml13_field_list_is_configuration() -> None:
    settings = x.ClaimSettings(xml13_fields=("MA_LK", "SO_HOSO", "NEW_FIELD"))
    referral = ClaimReferral(so_hoso="HS01", so_chuyentuyen="CT-0001", ma_noi_den="01002")
    root = parse(x.build_xml13(make_visit(referral=referral), settings))
    assert children(root) == ["MA_LK", "SO_HOSO", "NEW_FIELD"]
    assert root.findtext("NEW_FIELD") == ""


def test_empty_fields_are_written_as_open_and_close_tags() -> None:
    raw = x.build_xml1(make_visit(), x.compute_visit_coverage(make_visit()))
    assert b"<NHOM_MAU></NHOM_MAU>" in raw
    assert b"/>" not in raw


def test_uninsured_visit_still_produces_xml1_with_everything_as_t_bntt() -> None:
    visit = make_visit(card=None)
    root = parse(x.build_tables(visit)["XML1"])
    assert root.findtext("MA_THE_BHYT") == ""
    assert root.findtext("T_BNTT") == root.findtext("T_TONGCHI_BV") == "45200"
    assert root.findtext("T_BHTT") == "0"


# --------------------------------------------------------------------------- envelope and signature


def test_envelope_layout_and_double_base64() -> None:
    submission = x.build_submission(make_visit(), SIGNER, ngay_lap=date(2025, 3, 10))
    assert base64.b64decode(submission.file_hs_base64) == submission.envelope
    root = parse(submission.envelope)
    assert root.tag == "GIAMDINHHS"
    assert children(root) == ["THONGTINDONVI", "THONGTINHOSO", "CHUKYDONVI"]
    assert root.findtext("THONGTINDONVI/MACSKCB") == "01001"
    assert root.findtext("THONGTINHOSO/NGAYLAP") == "20250310"
    assert root.findtext("THONGTINHOSO/SOLUONGHOSO") == "1"
    files = root.findall("THONGTINHOSO/DANHSACHHOSO/HOSO/FILEHOSO")
    assert [f.findtext("LOAIHOSO") for f in files] == ["XML1", "XML2", "XML3"]
    for item in files:
        kind = item.findtext("LOAIHOSO") or ""
        assert base64.b64decode(item.findtext("NOIDUNGFILE") or "") == submission.tables[kind]


def test_signature_covers_the_unit_and_file_sections() -> None:
    submission = x.build_submission(make_visit(), SIGNER, ngay_lap=date(2025, 3, 10))
    signature = parse(submission.envelope).findtext("CHUKYDONVI") or ""
    assert len(base64.b64decode(signature)) == 32
    assert SIGNER.verify(x.envelope_signed_bytes(submission.envelope), signature)
    assert not x.TestSigner(b"other-key").verify(x.envelope_signed_bytes(submission.envelope), signature)
    tampered = submission.envelope.replace(b"<MACSKCB>01001<", b"<MACSKCB>01009<")
    assert not SIGNER.verify(x.envelope_signed_bytes(tampered), signature)


def test_same_visit_gives_the_same_bytes() -> None:
    first = x.build_submission(make_visit(), SIGNER, ngay_lap=date(2025, 3, 10))
    second = x.build_submission(make_visit(), SIGNER, ngay_lap=date(2025, 3, 10))
    assert first.file_hs_base64 == second.file_hs_base64


# --------------------------------------------------------------------------- exportability


def test_complete_visit_is_exportable() -> None:
    assert x.exportability(make_visit()) == []


def test_exportability_lists_every_reason_in_vietnamese() -> None:
    visit = make_visit(ma_lk="", ma_benh_chinh="", ngay_ttoan=None, ngay_ra=None, ket_qua_dtri="")
    reasons = x.exportability(visit)
    assert "Thiếu mã liên kết lượt khám (MA_LK)" in reasons
    assert "Chưa có chẩn đoán chính (MA_BENH_CHINH)" in reasons
    assert "Người bệnh chưa thanh toán (chưa có NGAY_TTOAN)" in reasons
    assert "Lượt khám chưa kết thúc (chưa có NGAY_RA)" in reasons
    assert "Chưa ghi kết quả điều trị (KET_QUA_DTRI)" in reasons


def test_exportability_reports_coverage_problems() -> None:
    card = dataclasses.replace(make_visit().card, gt_the_den=date(2025, 3, 1))  # type: ignore[arg-type]
    reasons = x.exportability(make_visit(card=card))
    assert any("Thẻ BHYT đã hết hạn" in reason for reason in reasons)


# --------------------------------------------------------------------------- portal


class _PortalHandler(BaseHTTPRequestHandler):
    requests: list[tuple[str, Message, dict[str, list[str]]]] = []
    answer: dict[str, Any] = {}

    def do_POST(self) -> None:  # noqa: N802 (http.server API)
        length = int(self.headers["Content-Length"])
        form = urllib.parse.parse_qs(self.rfile.read(length).decode("ascii"), keep_blank_values=True)
        type(self).requests.append((self.path, self.headers, form))
        if self.path.endswith("/api/token/take"):
            body = {"maKetQua": "200", "APIKey": {"access_token": "AT-1", "id_token": "ID-1"}}
        else:
            body = type(self).answer
        data = json.dumps(body).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return


@pytest.fixture
def portal() -> Iterator[str]:
    _PortalHandler.requests = []
    _PortalHandler.answer = {
        "maKetQua": "200",
        "maGiaoDich": "GD-42",
        "thoiGianTiepNhan": "20250310091000",
        "thongDiep": "Tiếp nhận thành công",
    }
    server = HTTPServer(("127.0.0.1", 0), _PortalHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/base"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_http_submitter_posts_the_documented_form_fields(portal: str) -> None:
    submission = x.build_submission(make_visit(), SIGNER, ngay_lap=date(2025, 3, 10))
    submitter = x.HttpPortalSubmitter(portal, "01001_BV", "secret", 5.0, ma_tinh="01", ma_cskcb="01001")
    response = submitter.submit_claim(submission.envelope)
    assert response == x.PortalResponse("200", "GD-42", "20250310091000", "Tiếp nhận thành công", True)
    (token_path, _, token_form), (path, headers, form) = _PortalHandler.requests
    assert token_path == "/base/api/token/take"
    assert token_form == {"username": ["01001_BV"], "password": ["5EBE2294ECD0E0F08EAB7690D2A6EE69"]}
    assert path == "/base/api/qd130/guiHoSoXmlQD3176"
    # HTTP header names are case-insensitive; urllib sends "Accesstoken".
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    md5_upper = "5EBE2294ECD0E0F08EAB7690D2A6EE69"  # MD5("secret"), upper-cased as the portal requires
    assert [headers[h] for h in ("accessToken", "tokenId", "passwordHash")] == ["AT-1", "ID-1", md5_upper]
    assert form == {
        "username": ["01001_BV"],
        "loaiHoSo": ["130"],
        "maTinh": ["01"],
        "maCSKCB": ["01001"],
        "fileHSBase64": [submission.file_hs_base64],
    }


def test_http_submitter_check_in_and_configurable_paths(portal: str) -> None:
    paths = x.portal_paths_on(date(2024, 8, 1))
    submitter = x.HttpPortalSubmitter(portal, "u", "p", 5.0, ma_tinh="01", ma_cskcb="01001", paths=paths)
    xml0 = x.build_xml0(make_visit(), SIGNER)
    submitter.check_in(xml0)
    path, _, form = _PortalHandler.requests[-1]
    assert path == "/base/api/qd130/checkInKcbQd4750"
    assert form["loaiHoSo"] == ["0"]
    assert base64.b64decode(form["fileHSBase64"][0]) == xml0


def test_http_submitter_reports_a_rejection_code(portal: str) -> None:
    _PortalHandler.answer = {"maKetQua": "500", "thongDiep": "Sai cấu trúc"}
    response = x.HttpPortalSubmitter(portal, "u", "p", 5.0).submit_claim(b"<GIAMDINHHS/>")
    assert (response.code, response.accepted, response.message) == ("500", False, "Sai cấu trúc")


def test_unreachable_portal_raises_portal_unavailable() -> None:
    submitter = x.HttpPortalSubmitter("http://127.0.0.1:9/", "u", "p", 0.5)
    with pytest.raises(x.PortalUnavailable, match="Không kết nối được cổng BHXH"):
        submitter.submit_claim(b"<GIAMDINHHS/>")


def test_portal_paths_are_dated() -> None:
    assert x.portal_paths_on(date(2024, 12, 31)).claim == "api/qd130/guiHoSoXmlQD4750"
    assert x.portal_paths_on(date(2025, 1, 1)).checkin == "api/qd130/checkInKcbQd3176"
    with pytest.raises(x.PortalError):
        x.portal_paths_on(date(2024, 1, 1))


def test_parse_portal_response_requires_a_code() -> None:
    with pytest.raises(x.PortalError, match="maKetQua"):
        x.parse_portal_response({"thongDiep": "?"})


def test_control_characters_pasted_into_free_text_keep_the_xml_well_formed():
    from station.claims.xml130 import xml_text

    assert xml_text("Uống thuốc\x0bsau ăn\x01.") == "Uống thuốc sau ăn ."
    assert xml_text("Dòng 1\nDòng 2\tTab & <b>") == "Dòng 1\nDòng 2\tTab & <b>"
    import xml.etree.ElementTree as ET

    root = ET.Element("X")
    ET.SubElement(root, "GHI_CHU").text = xml_text("Lời dặn\x0b\x1f: tái khám")
    assert ET.fromstring(ET.tostring(root, encoding="utf-8")).find("GHI_CHU").text == "Lời dặn  : tái khám"
