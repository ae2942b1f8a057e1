"""Who may use which view: every view declares it, and one hook enforces it.

A view is decorated with :func:`allow` (staff roles and/or machine client
kinds) or :func:`public`. A view without a declaration is refused to
everyone, so a forgotten decorator fails closed; ``tests/test_access_control``
walks the URL map and checks every route against every role.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Flask, abort, flash, g, jsonify, redirect, request, session, url_for
from flask_login import current_user, logout_user

from station.audit.services import Actor
from station.auth.models import ApiClient, User
from station.auth.roles import ALL_ROLES, ClientKind, Role
from station.extensions import db, login_manager

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Access:
    """The declared audience of one view."""

    roles: frozenset[Role] = frozenset()
    clients: frozenset[ClientKind] = frozenset()
    public: bool = False
    #: Pages a user with a one-time password may still open.
    during_password_change: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def allow(*roles: Role, clients: Iterable[ClientKind] = (), during_password_change: bool = False) -> Callable[[F], F]:
    """Declare that staff with *roles* (and machine clients of *clients* kinds) may use the view."""
    def decorate(view: F) -> F:
        view._access = Access(frozenset(roles), frozenset(clients),  # type: ignore[attr-defined]
                              during_password_change=during_password_change)
        return view
    return decorate


def allow_signed(*roles: Role, clients: Iterable[ClientKind]) -> Callable[[F], F]:
    """Like :func:`allow`, for machine clients that sign each request (HMAC, station.sync).

    A request carrying ``Signature-Input`` is passed to the view, which MUST verify the
    signature itself (``station.sync.views``); any other request is checked as for ``allow``.
    """
    def decorate(view: F) -> F:
        view._access = Access(frozenset(roles), frozenset(clients), extra={"signed": True})  # type: ignore[attr-defined]
        return view
    return decorate


def allow_all_staff(view: F) -> F:
    """Declare a view open to every logged-in member of staff."""
    return allow(*ALL_ROLES)(view)


def public(view: F) -> F:
    """Declare a view that needs no login (login page, health check)."""
    view._access = Access(public=True)  # type: ignore[attr-defined]
    return view


def access_of(app: Flask, endpoint: str) -> Access | None:
    """Return the declared access of *endpoint*; static files are public."""
    if endpoint == "static" or endpoint.endswith(".static"):
        return Access(public=True)
    view = app.view_functions.get(endpoint)
    return getattr(view, "_access", None)


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def current_client() -> ApiClient | None:
    """The machine client of this request, if one authenticated."""
    return g.get("api_client")


def current_actor() -> Actor:
    """The actor of this request, for the audit trail (web layer only)."""
    address = request.remote_addr or ""
    if current_user.is_authenticated:
        return Actor(str(current_user.id), current_user.username, address)
    client = current_client()
    if client is not None:
        return Actor(f"client:{client.id}", client.name, address)
    return Actor("anonymous", "anonymous", address)


def _client_from_request(kinds: frozenset[ClientKind]) -> ApiClient | None:
    from station.auth.services import authenticate_client

    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return authenticate_client(db.session, header[7:].strip(), kinds=set(kinds))
    client_id = session.get("client_id")
    if client_id:
        client = db.session.get(ApiClient, uuid.UUID(client_id))
        if client is not None and client.active and client.kind in kinds:
            return client
    return None


def _deny(status: int, message: str):  # type: ignore[no-untyped-def]
    if wants_json():
        return jsonify(error=message), status
    abort(status, description=message)


def enforce_access() -> Any:
    """before_request hook: apply the declaration of the matched view."""
    from flask import current_app

    endpoint = request.endpoint
    if endpoint is None:  # 404 or 405: let the error handlers answer
        return None
    access = access_of(current_app, endpoint)
    if access is None:
        current_app.logger.error("view %s declares no access; refused", endpoint)
        return _deny(403, "Trang này chưa được khai báo quyền truy cập.")
    if access.public:
        return None
    if access.extra.get("signed") and request.headers.get("Signature-Input"):
        return None  # the view verifies the request signature itself
    if access.clients:
        client = _client_from_request(access.clients)
        if client is not None:
            g.api_client = client
            return None
    if current_user.is_authenticated:
        if _session_expired():
            logout_user()
            session.clear()
            if wants_json():
                return jsonify(error="Phiên làm việc đã hết hạn, vui lòng đăng nhập lại."), 401
            flash("Phiên làm việc đã hết hạn do không thao tác. Vui lòng đăng nhập lại.", "warning")
            return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
        session["last_seen"] = int(time.time())
        if current_user.must_change_password and not access.during_password_change:
            return redirect(url_for("auth.change_password"))
        if current_user.role in access.roles:
            return None
        return _deny(403, "Vai trò của bạn không được phép mở trang này.")
    if access.roles:
        if wants_json():
            return jsonify(error="Cần đăng nhập."), 401
        return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
    return _deny(401 if wants_json() else 403, "Thiết bị chưa được cấp quyền truy cập.")


def _session_expired() -> bool:
    from flask import current_app

    last_seen = session.get("last_seen")
    idle = int(current_app.config["SESSION_IDLE_MINUTES"]) * 60
    return last_seen is not None and time.time() - float(last_seen) > idle


@login_manager.user_loader
def load_user(user_key: str) -> User | None:
    """Load the user of a session; a bumped session_version ends old sessions."""
    user_id, _, version = user_key.partition(":")
    try:
        user = db.session.get(User, uuid.UUID(user_id))
    except ValueError:
        return None
    if user is None or not user.active or str(user.session_version) != version:
        return None
    return user


def init_app(app: Flask) -> None:
    """Wire the access hook into *app*."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Vui lòng đăng nhập để tiếp tục."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"
    app.before_request(enforce_access)
