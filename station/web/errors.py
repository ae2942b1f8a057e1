"""Error pages in Vietnamese, JSON errors under /api/."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from station.errors import StationError

TITLES = {
    400: "Yêu cầu không hợp lệ",
    401: "Cần đăng nhập",
    403: "Không có quyền truy cập",
    404: "Không tìm thấy trang",
    405: "Phương thức không được hỗ trợ",
    409: "Dữ liệu đã thay đổi",
    413: "Tệp quá lớn",
    422: "Dữ liệu không hợp lệ",
    429: "Quá nhiều yêu cầu",
    500: "Lỗi hệ thống",
    503: "Tạm thời không phục vụ được",
}

MESSAGES = {
    404: "Trang hoặc hồ sơ bạn tìm không tồn tại.",
    405: "Thao tác này không được hỗ trợ trên trang này.",
    413: "Tệp gửi lên quá lớn.",
    500: "Đã có lỗi ngoài dự kiến. Dữ liệu chưa được lưu; vui lòng thử lại hoặc báo quản trị viên.",
}


def _is_api() -> bool:
    return request.path.startswith("/api/")


def _render(status: int, message: str):  # type: ignore[no-untyped-def]
    if _is_api():
        return jsonify(error=message, status=status), status
    return render_template("errors/error.html", status=status, title=TITLES.get(status, "Lỗi"),
                           message=message), status


def register_error_handlers(app: Flask) -> None:
    """Install handlers for HTTP errors, CSRF failures and domain errors."""

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):  # type: ignore[no-untyped-def]
        return _render(400, "Biểu mẫu đã hết hạn hoặc không hợp lệ (mã bảo mật CSRF). "
                            "Dữ liệu chưa được lưu: vui lòng tải lại trang và gửi lại.")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        status = error.code or 500
        description = error.description if isinstance(error.description, str) else ""
        # Werkzeug's default descriptions are English; show ours unless a view gave Vietnamese text.
        default = type(error).description
        message = description if description and description != default else MESSAGES.get(status, TITLES.get(status, "Lỗi"))
        return _render(status, message)

    @app.errorhandler(StationError)
    def station_error(error: StationError):  # type: ignore[no-untyped-def]
        from station.extensions import db

        db.session.rollback()
        return _render(error.status_code, error.message)

    @app.errorhandler(StaleDataError)
    def stale(error: StaleDataError):  # type: ignore[no-untyped-def]
        from station.extensions import db

        db.session.rollback()
        return _render(409, "Dữ liệu vừa được người khác thay đổi cùng lúc. Chưa có gì được lưu: "
                            "vui lòng tải lại trang và thực hiện lại.")

    @app.errorhandler(OperationalError)
    def busy(error: OperationalError):  # type: ignore[no-untyped-def]
        from station.extensions import db

        db.session.rollback()
        app.logger.error("database error on %s %s: %s", request.method, request.url_rule, type(error.orig).__name__)
        return _render(503, "Cơ sở dữ liệu đang bận hoặc tạm thời không truy cập được. Chưa có gì được lưu: "
                            "vui lòng thử lại sau ít giây.")

    @app.errorhandler(Exception)
    def unexpected(error: Exception):  # type: ignore[no-untyped-def]
        from station.extensions import db

        db.session.rollback()
        # The traceback goes to the operator's log; it carries no request data.
        app.logger.exception("unhandled error on %s %s", request.method, request.url_rule)
        return _render(500, MESSAGES[500])
