"""Submission to a loopback BHXH portal (http.server on 127.0.0.1, port 0)."""

from __future__ import annotations

import base64
import json
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.etree import ElementTree as ET

import pytest
from sqlalchemy import select

from station.billing import services as billing
from station.billing.models import ClaimSubmission
from station.claims import services as claims
from station.claims import xml130 as x
from station.errors import Conflict
from station.extensions import db
from tests.billing.helpers import ACTOR, clock, full_visit


class Portal:
    """What the loopback portal received."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], dict[str, str]]] = []
        self.answer_code = "200"


@pytest.fixture
def portal() -> Iterator[tuple[str, Portal]]:
    state = Portal()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length", "0"))
            fields = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode("ascii")))
            state.requests.append((self.path, fields, dict(self.headers)))
            if self.path.endswith("api/token/take"):
                body = {"maKetQua": "200", "APIKey": {"access_token": "AT", "id_token": "IT"}}
            else:
                body = {"maKetQua": state.answer_code, "maGiaoDich": "GD-1", "thoiGianTiepNhan": "20260310100000",
                        "thongDiep": "Tiếp nhận thành công" if state.answer_code == "200" else "Sai cấu trúc"}
            data = json.dumps(body).encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _paid_visit():  # type: ignore[no-untyped-def]
    visit = full_visit(db.session)
    invoice = billing.compute_invoice(db.session, visit, actor=ACTOR, clock=clock(minutes=30))
    billing.record_payment(db.session, invoice, method="cash", amount="0", actor=ACTOR, clock=clock(minutes=31))
    db.session.commit()
    return visit


def test_submission_posts_the_documented_form_fields(app, portal):
    url, state = portal
    config = {"CLAIMS_PORTAL_URL": url, "CLAIMS_PORTAL_USERNAME": "01001_BV", "CLAIMS_PORTAL_PASSWORD": "bí mật"}
    with app.app_context():
        visit = _paid_visit()
        submitter = claims.submitter_from_config(config, "01", "01001", day=visit.arrived_at.date())
        row = claims.submit_visit(db.session, visit, submitter, x.TestSigner(), actor=ACTOR)
        db.session.commit()
        assert (row.status, row.portal_code, row.transaction_id) == ("accepted", "200", "GD-1")
        token_path, token_fields, _ = state.requests[0]
        assert token_path == "/api/token/take" and token_fields["password"] != "bí mật"
        path, fields, headers = state.requests[1]
        assert path == "/api/qd130/guiHoSoXmlQD3176"
        assert fields["loaiHoSo"] == "130" and fields["maTinh"] == "01" and fields["maCSKCB"] == "01001"
        lowered = {k.lower(): v for k, v in headers.items()}
        assert lowered["accesstoken"] == "AT" and lowered["tokenid"] == "IT" and lowered["passwordhash"]
        envelope = base64.b64decode(fields["fileHSBase64"])
        assert ET.fromstring(envelope).findtext("THONGTINDONVI/MACSKCB") == "01001"
        # An accepted visit is not sent again by accident (a day re-run), only on purpose.
        with pytest.raises(Conflict, match="đã được cổng BHXH tiếp nhận"):
            claims.submit_visit(db.session, visit, submitter, x.TestSigner(), actor=ACTOR)
        assert len(state.requests) == 2
        state.answer_code = "401"
        rejected = claims.submit_visit(db.session, visit, submitter, x.TestSigner(), actor=ACTOR, resend=True)
        assert rejected.status == "rejected" and rejected.message == "Sai cấu trúc"


def test_unreachable_portal_is_recorded_for_retry(app):
    with app.app_context():
        visit = _paid_visit()
        submitter = x.HttpPortalSubmitter("http://127.0.0.1:9/", "u", "p", timeout=2)
        row = claims.submit_visit(db.session, visit, submitter, x.TestSigner(), actor=ACTOR)
        db.session.commit()
        assert row.status == "unavailable"
        assert db.session.scalar(select(ClaimSubmission.status)) == "unavailable"


def test_missing_portal_settings_are_named(app):
    with pytest.raises(Exception, match="CLAIMS_PORTAL_URL"):
        claims.submitter_from_config({}, "01", "01001")
    with pytest.raises(Exception, match="CLAIMS_PORTAL_PASSWORD"):
        claims.submitter_from_config({"CLAIMS_PORTAL_URL": "http://x/", "CLAIMS_PORTAL_USERNAME": "u"}, "01", "01001")
