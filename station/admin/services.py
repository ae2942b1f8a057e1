"""The station's identity: created once, edited by the admin."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session
from vietnam_provinces import Province, Ward

from station.admin.models import Facility
from station.audit import services as audit
from station.audit.services import Actor
from station.errors import ValidationFailed

FACILITY_CODE = re.compile(r"^[0-9A-Z]{5}$")


def province_choices() -> list[tuple[str, str]]:
    """Post-2025 provinces as (code, name), code zero-padded to 2 digits."""
    return sorted(((f"{p.code.value:02d}", p.name) for p in Province.iter_all()), key=lambda c: c[1])


def commune_choices(province_code: str) -> list[tuple[str, str]]:
    """Communes/wards of a province as (5-digit code, name)."""
    wanted = int(province_code)
    return sorted(((f"{w.code.value:05d}", w.name) for w in Ward.iter_all()
                   if w.province_code.value == wanted), key=lambda c: c[1])


def validate_units(province_code: str, commune_code: str) -> tuple[str, str]:
    """Return the province and commune names, or raise ValidationFailed."""
    try:
        province = Province.from_code(int(province_code))
    except (ValueError, KeyError):
        raise ValidationFailed(f"Mã tỉnh/thành phố không có trong danh mục sau sắp xếp 2025: {province_code}",
                               field="province_code") from None
    try:
        ward = Ward.from_code(int(commune_code))
    except (ValueError, KeyError):
        raise ValidationFailed(f"Mã xã/phường không có trong danh mục sau sắp xếp 2025: {commune_code}",
                               field="commune_code") from None
    if ward.province_code != province.code:
        raise ValidationFailed(f"{ward.name} không thuộc {province.name}.", field="commune_code")
    return province.name, ward.name


def get_facility(session: Session) -> Facility | None:
    return session.scalar(select(Facility).limit(1))


def save_facility(session: Session, *, name: str, facility_code: str, province_code: str,
                  commune_code: str, actor: Actor, address: str = "", phone: str = "") -> Facility:
    """Create the station identity, or update its editable fields (flush only)."""
    facility_code = facility_code.strip().upper()
    if not FACILITY_CODE.match(facility_code):
        raise ValidationFailed("Mã cơ sở KCB (MA_CSKCB) phải gồm đúng 5 ký tự chữ/số.", field="facility_code")
    if not name.strip():
        raise ValidationFailed("Cần nhập tên trạm.", field="name")
    province_code = f"{int(province_code):02d}" if province_code.strip().isdigit() else province_code
    commune_code = f"{int(commune_code):05d}" if commune_code.strip().isdigit() else commune_code
    validate_units(province_code, commune_code)
    facility = get_facility(session)
    created = facility is None
    if facility is None:
        facility = Facility(db_identity=uuid.uuid4())
        session.add(facility)
    facility.name = name.strip()
    facility.facility_code = facility_code
    facility.province_code = province_code
    facility.commune_code = commune_code
    facility.address = address.strip()
    facility.phone = phone.strip()
    session.flush()
    audit.record(session, actor, "facility.create" if created else "facility.update",
                 entity_type="facility", entity_id=facility.id)
    return facility
