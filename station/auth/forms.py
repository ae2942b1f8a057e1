"""Login and password forms."""

from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from station.auth.roles import ROLE_LABELS
from station.web.formutil import options


class LoginForm(FlaskForm):
    username = StringField("Tên đăng nhập", validators=[DataRequired("Cần nhập tên đăng nhập."), Length(max=64)])
    password = PasswordField("Mật khẩu", validators=[DataRequired("Cần nhập mật khẩu.")])


class ChangePasswordForm(FlaskForm):
    current = PasswordField("Mật khẩu hiện tại", validators=[DataRequired("Cần nhập mật khẩu hiện tại.")])
    password = PasswordField("Mật khẩu mới", validators=[DataRequired("Cần nhập mật khẩu mới.")])
    confirm = PasswordField("Nhập lại mật khẩu mới",
                            validators=[EqualTo("password", "Hai lần nhập mật khẩu mới không khớp.")])


class UserForm(FlaskForm):
    username = StringField("Tên đăng nhập", validators=[DataRequired("Cần nhập tên đăng nhập."), Length(max=64)])
    full_name = StringField("Họ và tên", validators=[DataRequired("Cần nhập họ tên."), Length(max=120)])
    title = StringField("Chức danh", validators=[Optional(), Length(max=80)])
    role = SelectField("Vai trò", choices=options((r.value, label) for r, label in ROLE_LABELS.items()))
    practising_cert_no = StringField("Số chứng chỉ hành nghề", validators=[Optional(), Length(max=40)])
    bhxh_staff_code = StringField("Mã nhân viên BHXH (MA_BAC_SI)", validators=[Optional(), Length(max=40)])
