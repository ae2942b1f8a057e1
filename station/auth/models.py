"""Staff accounts and machine (API) clients."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from station.auth.roles import ClientKind, Role
from station.db import TimestampMixin, UUIDMixin, str_enum
from station.extensions import db


class User(UUIDMixin, TimestampMixin, UserMixin, db.Model):
    """A member of staff who logs in to the station."""

    __tablename__ = "users"

    #: Login name, lower case, unique at the station.
    username: Mapped[str] = mapped_column(String(64), unique=True)
    #: Full name with diacritics, as printed on prescriptions and referrals.
    full_name: Mapped[str] = mapped_column(String(120))
    #: Professional title shown on forms (e.g. "Bác sĩ", "Y sĩ đa khoa", "Điều dưỡng").
    title: Mapped[str] = mapped_column(String(80), default="")
    role: Mapped[Role] = mapped_column(str_enum(Role))
    #: Practising certificate number (số chứng chỉ hành nghề / giấy phép hành nghề).
    practising_cert_no: Mapped[str] = mapped_column(String(40), default="")
    #: Social-insurance staff code used in the XML claim (MA_BAC_SI).
    bhxh_staff_code: Mapped[str] = mapped_column(String(40), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Set for a one-time password: the user must choose a new one at first login.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    #: Bumped on password change or disable so that old sessions stop working.
    session_version: Mapped[int] = mapped_column(Integer, default=1)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role.value}>"


class ApiClient(UUIDMixin, TimestampMixin, db.Model):
    """A machine that calls the station: kiosk, calling display or the city hub."""

    __tablename__ = "api_clients"

    name: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[ClientKind] = mapped_column(str_enum(ClientKind))
    #: Public identifier sent with each request.
    key_id: Mapped[str] = mapped_column(String(40), unique=True)
    #: Hash of the client's secret token (never the token itself).
    secret_hash: Mapped[str] = mapped_column(String(256))
    #: For HMAC clients (the hub) the shared key, kept only in the database.
    hmac_key: Mapped[str | None] = mapped_column(String(128))
    #: Rooms this client serves (kiosk services, display rooms), comma-separated codes.
    rooms: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_seen_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<ApiClient {self.name} {self.kind.value}>"


class LoginFailure(db.Model):
    """One failed login, kept briefly to slow down guessing from one address."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    username: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]

