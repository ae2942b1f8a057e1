"""Staff accounts: creating, authenticating, locking and changing passwords.

Passwords are hashed with scrypt (werkzeug's default KDF). Repeated failures
lock the account for a while and slow down the address they come from.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from station.audit import services as audit
from station.audit.services import Actor
from station.auth.models import ApiClient, LoginFailure, User
from station.auth.roles import ClientKind, Role
from station.clock import Clock, SystemClock
from station.errors import Conflict, NotFound, ValidationFailed

PASSWORD_METHOD = "scrypt"
#: Letters that cannot be confused when read from paper (no 0/O, 1/l/I).
_OTP_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")


@dataclass(frozen=True)
class LoginPolicy:
    """How many failures lock what, for how long."""

    max_failures: int = 5
    lock_minutes: int = 15
    max_failures_per_address: int = 20
    min_password_length: int = 10
    #: werkzeug hash method; tests use a cheaper scrypt cost to stay fast.
    hash_method: str = PASSWORD_METHOD

    @classmethod
    def from_config(cls, config: "Mapping[str, object]") -> "LoginPolicy":
        """Build the policy from the app's LOGIN_* settings."""
        return cls(max_failures=int(config["LOGIN_MAX_FAILURES"]),  # type: ignore[call-overload]
                   lock_minutes=int(config["LOGIN_LOCK_MINUTES"]),  # type: ignore[call-overload]
                   max_failures_per_address=int(config["LOGIN_MAX_FAILURES_PER_ADDRESS"]),  # type: ignore[call-overload]
                   min_password_length=int(config["PASSWORD_MIN_LENGTH"]),  # type: ignore[call-overload]
                   hash_method=str(config.get("PASSWORD_HASH_METHOD", PASSWORD_METHOD)))


class LoginRefused(Exception):
    """Login failed; ``message`` is the Vietnamese text to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def hash_password(password: str, method: str = PASSWORD_METHOD) -> str:
    return generate_password_hash(password, method=method)


def hash_token(token: str) -> str:
    """Hash a machine token: 256 random bits need no slow KDF, and kiosks call often."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def generate_one_time_password(length: int = 12) -> str:
    """Return a random password that is easy to copy from a screen (letters and digits)."""
    while True:
        password = "".join(secrets.choice(_OTP_ALPHABET) for _ in range(length))
        if any(c.isdigit() for c in password) and any(c.isalpha() for c in password):
            return password


def check_password_strength(password: str, policy: LoginPolicy) -> None:
    """Raise ValidationFailed when *password* is too weak."""
    if len(password) < policy.min_password_length:
        raise ValidationFailed(
            f"Mật khẩu phải có ít nhất {policy.min_password_length} ký tự.", field="password")
    if password.isdigit() or password.isalpha():
        raise ValidationFailed("Mật khẩu phải có cả chữ và số.", field="password")


def create_user(session: Session, *, username: str, full_name: str, role: Role, password: str,
                actor: Actor, title: str = "", practising_cert_no: str = "",
                bhxh_staff_code: str = "", must_change_password: bool = False,
                policy: LoginPolicy = LoginPolicy()) -> User:
    """Create a staff account (flush only)."""
    username = username.strip().lower()
    if not username or not username.replace(".", "").replace("_", "").replace("-", "").isalnum():
        raise ValidationFailed("Tên đăng nhập chỉ gồm chữ không dấu, số, dấu chấm, gạch.", field="username")
    if session.scalar(select(User.id).where(User.username == username)):
        raise Conflict(f"Tên đăng nhập «{username}» đã có.", field="username")
    if not full_name.strip():
        raise ValidationFailed("Cần nhập họ tên.", field="full_name")
    check_password_strength(password, policy)
    user = User(username=username, full_name=full_name.strip(), role=role, title=title.strip(),
                practising_cert_no=practising_cert_no.strip(), bhxh_staff_code=bhxh_staff_code.strip(),
                password_hash=hash_password(password, policy.hash_method), must_change_password=must_change_password)
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", entity_type="user", entity_id=user.id,
                 detail={"username": username, "role": role.value})
    return user


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFound(f"Không có tài khoản «{username}».")
    return user


def authenticate(session: Session, username: str, password: str, *, address: str,
                 clock: Clock | None = None, policy: LoginPolicy = LoginPolicy()) -> User:
    """Return the user whose credentials match, or raise LoginRefused.

    Every outcome is audited. The same message is shown for an unknown user
    and a wrong password so that usernames cannot be probed.
    """
    now = (clock or SystemClock()).now()
    username = (username or "").strip().lower()
    window_start = now - timedelta(minutes=policy.lock_minutes)
    session.execute(delete(LoginFailure).where(LoginFailure.at < window_start))
    recent = session.scalar(select(func.count()).select_from(LoginFailure)
                            .where(LoginFailure.address == address, LoginFailure.at >= window_start))
    if recent >= policy.max_failures_per_address:
        audit.record(session, Actor("anonymous", username or "?", address), "auth.login_throttled",
                     clock=clock)
        raise LoginRefused("Đăng nhập sai quá nhiều lần từ máy này. Vui lòng thử lại sau "
                           f"{policy.lock_minutes} phút.")
    user = session.scalar(select(User).where(User.username == username))
    if user is not None and user.locked_until is not None and user.locked_until > now:
        audit.record(session, Actor(str(user.id), user.username, address), "auth.login_locked",
                     entity_type="user", entity_id=user.id, clock=clock)
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        raise LoginRefused(f"Tài khoản đang bị khóa do đăng nhập sai nhiều lần. Thử lại sau {minutes} phút "
                           "hoặc nhờ quản trị viên mở khóa.")
    if user is None or not check_password_hash(user.password_hash, password or ""):
        session.add(LoginFailure(address=address, username=username[:64], at=now))
        if user is not None:
            user.failed_logins += 1
            if user.failed_logins >= policy.max_failures:
                user.locked_until = now + timedelta(minutes=policy.lock_minutes)
                user.failed_logins = 0
        audit.record(session, Actor(str(user.id) if user else "anonymous", username or "?", address),
                     "auth.login_failed", entity_type="user", entity_id=user.id if user else "",
                     clock=clock)
        raise LoginRefused("Tên đăng nhập hoặc mật khẩu không đúng.")
    if not user.active:
        audit.record(session, Actor(str(user.id), user.username, address), "auth.login_disabled",
                     entity_type="user", entity_id=user.id, clock=clock)
        raise LoginRefused("Tài khoản đã bị vô hiệu hóa. Liên hệ quản trị viên.")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    audit.record(session, Actor(str(user.id), user.username, address), "auth.login",
                 entity_type="user", entity_id=user.id, clock=clock)
    return user


def change_password(session: Session, user: User, *, current: str | None, new: str, actor: Actor,
                    policy: LoginPolicy = LoginPolicy()) -> None:
    """Change *user*'s password; ``current`` is required unless an admin resets it."""
    if current is not None and not check_password_hash(user.password_hash, current):
        raise ValidationFailed("Mật khẩu hiện tại không đúng.", field="current")
    if check_password_hash(user.password_hash, new):
        raise ValidationFailed("Mật khẩu mới phải khác mật khẩu cũ.", field="password")
    check_password_strength(new, policy)
    user.password_hash = hash_password(new, policy.hash_method)
    user.must_change_password = False
    user.session_version += 1
    audit.record(session, actor, "user.password_change", entity_type="user", entity_id=user.id)


def reset_password(session: Session, user: User, *, actor: Actor,
                   policy: LoginPolicy = LoginPolicy()) -> str:
    """Give *user* a one-time password they must change at next login; return it."""
    password = generate_one_time_password()
    user.password_hash = hash_password(password, policy.hash_method)
    user.must_change_password = True
    user.failed_logins = 0
    user.locked_until = None
    user.session_version += 1
    audit.record(session, actor, "user.password_reset", entity_type="user", entity_id=user.id)
    return password


def set_active(session: Session, user: User, active: bool, *, actor: Actor) -> None:
    """Enable or disable an account; disabling ends its sessions."""
    user.active = active
    user.session_version += 1
    audit.record(session, actor, "user.enable" if active else "user.disable",
                 entity_type="user", entity_id=user.id)


def set_role(session: Session, user: User, role: Role, *, actor: Actor) -> None:
    """Change a user's role; their open sessions end."""
    old = user.role
    user.role = role
    user.session_version += 1
    audit.record(session, actor, "user.role_change", entity_type="user", entity_id=user.id,
                 detail={"from": old.value, "to": role.value})


def create_api_client(session: Session, *, name: str, kind: ClientKind, actor: Actor,
                      rooms: str = "") -> tuple[ApiClient, str]:
    """Create a machine client; return it and its secret token (shown once)."""
    if session.scalar(select(ApiClient.id).where(ApiClient.name == name)):
        raise Conflict(f"Đã có máy khách tên «{name}».")
    key_id = f"{kind.value}-{secrets.token_hex(4)}"
    token = secrets.token_urlsafe(32)
    client = ApiClient(name=name, kind=kind, key_id=key_id, secret_hash=hash_token(token),
                       hmac_key=secrets.token_hex(32) if kind is ClientKind.HUB else None, rooms=rooms)
    session.add(client)
    session.flush()
    audit.record(session, actor, "client.create", entity_type="api_client", entity_id=client.id,
                 detail={"name": name, "kind": kind.value})
    return client, f"{key_id}.{token}"


def authenticate_client(session: Session, credential: str, *, kinds: set[ClientKind]) -> ApiClient | None:
    """Return the active client for a ``key_id.token`` credential of an allowed kind."""
    key_id, _, token = (credential or "").partition(".")
    if not key_id or not token:
        return None
    client = session.scalar(select(ApiClient).where(ApiClient.key_id == key_id))
    if client is None or not client.active or client.kind not in kinds:
        return None
    if not hmac.compare_digest(client.secret_hash, hash_token(token)):
        return None
    return client
