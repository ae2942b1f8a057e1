"""Staff roles and API client kinds, with their Vietnamese labels."""

from __future__ import annotations

import enum


class Role(str, enum.Enum):
    """What a member of staff does at the station; decides what they may see."""

    ADMIN = "admin"
    DOCTOR = "doctor"
    NURSE = "nurse"
    RECEPTION = "reception"
    CASHIER = "cashier"
    HEAD = "head"  #: head of station: statistics only, no individual records

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS: dict[Role, str] = {
    Role.ADMIN: "Quản trị hệ thống",
    Role.DOCTOR: "Bác sĩ / Y sĩ",
    Role.NURSE: "Điều dưỡng",
    Role.RECEPTION: "Tiếp đón",
    Role.CASHIER: "Thu ngân",
    Role.HEAD: "Trưởng trạm",
}

ALL_ROLES: frozenset[Role] = frozenset(Role)
#: Roles that work with individual patient records.
CLINICAL: frozenset[Role] = frozenset({Role.DOCTOR, Role.NURSE, Role.RECEPTION})


class ClientKind(str, enum.Enum):
    """Machines that call the station with their own credentials, never a staff password."""

    KIOSK = "kiosk"
    DISPLAY = "display"
    HUB = "hub"


CLIENT_LABELS: dict[ClientKind, str] = {
    ClientKind.KIOSK: "Ki-ốt tự phục vụ",
    ClientKind.DISPLAY: "Màn hình gọi số",
    ClientKind.HUB: "Máy chủ thành phố (hub)",
}


def parse_role(value: str) -> Role:
    """Return the Role named *value*, or raise ValueError listing the valid names."""
    try:
        return Role(value.strip().lower())
    except ValueError:
        valid = ", ".join(r.value for r in Role)
        raise ValueError(f"unknown role {value!r}; valid roles: {valid}") from None
