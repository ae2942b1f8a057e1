"""Admin forms: station identity and staff management actions."""

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from station.auth.roles import ROLE_LABELS
from station.web.formutil import options


class FacilityForm(FlaskForm):
    name = StringField("Tên trạm", validators=[DataRequired("Cần nhập tên trạm."), Length(max=200)])
    facility_code = StringField("Mã cơ sở KCB (MA_CSKCB)", validators=[DataRequired("Cần nhập mã cơ sở."), Length(min=5, max=5, message="Mã cơ sở gồm 5 ký tự.")])
    province_code = SelectField("Tỉnh/Thành phố", choices=[])
    commune_code = StringField("Mã xã/phường (5 số)", validators=[DataRequired("Cần nhập mã xã/phường."), Length(max=5)])
    address = StringField("Địa chỉ", validators=[Optional(), Length(max=300)])
    phone = StringField("Điện thoại", validators=[Optional(), Length(max=20)])


class RoleForm(FlaskForm):
    role = SelectField("Vai trò", choices=options((r.value, label) for r, label in ROLE_LABELS.items()))


class ActionForm(FlaskForm):
    """An empty form: a POST button with its CSRF token."""
