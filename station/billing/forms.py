"""Billing forms (Flask-WTF): payments, cancellations, refunds, BHYT decision, prices, settings.

Amounts are text fields parsed by the services (whole đồng, Vietnamese grouping
"125.000" accepted), so a wrong amount gets the service's message naming the rule.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from station.billing.models import PAYMENT_METHODS, PRICE_KINDS
from station.web.formutil import options


class PaymentForm(FlaskForm):
    """Take the patient share."""

    method = SelectField("Hình thức", choices=options(PAYMENT_METHODS.items()))
    amount = StringField("Số tiền nhận (đồng)", validators=[DataRequired("Cần nhập số tiền."), Length(max=20)])
    reference = StringField("Mã giao dịch / số hóa đơn thẻ", validators=[Optional(), Length(max=60)])


class ConfirmTransferForm(FlaskForm):
    """Confirm that a VietQR transfer arrived."""

    reference = StringField("Mã giao dịch ngân hàng", validators=[Optional(), Length(max=60)])


class ReasonForm(FlaskForm):
    """Cancel a receipt: a reason is required."""

    reason = TextAreaField("Lý do", validators=[DataRequired("Cần ghi lý do."), Length(max=255)])


class RefundForm(FlaskForm):
    """Give money back on a receipt."""

    amount = StringField("Số tiền hoàn (đồng)", validators=[DataRequired("Cần nhập số tiền hoàn."), Length(max=20)])
    reason = TextAreaField("Lý do", validators=[DataRequired("Cần ghi lý do."), Length(max=255)])


class CoverageForm(FlaskForm):
    """The cashier's decision on BHYT for an unpaid invoice."""

    mode = SelectField("Cách tính BHYT", choices=options([
        ("auto", "Theo dữ liệu thẻ từ cổng BHXH"),
        ("uninsured", "Người bệnh trả như không có BHYT"),
        ("card_confirmed", "Thẻ đã gia hạn (đã tra cứu lại cổng BHXH)"),
    ]))
    valid_to = DateField("Hạn thẻ mới", validators=[Optional()])
    reason = StringField("Lý do", validators=[Optional(), Length(max=255)])


class PriceForm(FlaskForm):
    """Add one dated price."""

    kind = SelectField("Loại", choices=options(PRICE_KINDS.items()))
    code = StringField("Mã", validators=[DataRequired("Cần nhập mã."), Length(max=50)])
    name = StringField("Tên", validators=[DataRequired("Cần nhập tên."), Length(max=255)])
    unit = StringField("Đơn vị tính", validators=[Optional(), Length(max=50)])
    hospital_price = StringField("Giá cơ sở (đồng)", validators=[DataRequired("Cần nhập giá."), Length(max=20)])
    bhyt_price = StringField("Giá BHYT (đồng, bỏ trống nếu ngoài phạm vi)", validators=[Optional(), Length(max=20)])
    effective_from = StringField("Ngày áp dụng (dd/mm/yyyy)", validators=[DataRequired("Cần nhập ngày áp dụng.")])
    effective_to = StringField("Ngày hết hạn (tùy chọn)", validators=[Optional()])
    group_code = StringField("Mã nhóm (MA_NHOM)", validators=[Optional(), Length(max=4)])


class PriceImportForm(FlaskForm):
    """Upload a price-list CSV."""

    file = FileField("Tệp CSV bảng giá")


class BaseSalaryForm(FlaskForm):
    """Add or change the base salary from a date."""

    effective_from = StringField("Áp dụng từ ngày (dd/mm/yyyy)", validators=[DataRequired("Cần nhập ngày.")])
    amount = StringField("Mức lương cơ sở (đồng)", validators=[DataRequired("Cần nhập số tiền.")])
    source = StringField("Văn bản quy định", validators=[Optional(), Length(max=100)])


class SettingsForm(FlaskForm):
    """The station's billing settings."""

    receipt_series = StringField("Ký hiệu biên lai", validators=[DataRequired("Cần nhập ký hiệu."), Length(max=17)])
    bank_bin = StringField("Mã BIN ngân hàng (VietQR)", validators=[Optional(), Length(max=6)])
    bank_account = StringField("Số tài khoản nhận tiền", validators=[Optional(), Length(max=19)])
    bank_account_name = StringField("Tên chủ tài khoản", validators=[Optional(), Length(max=100)])
    bank_is_demo = BooleanField("Tài khoản mẫu (dữ liệu demo, không dùng thật)")
    receipt_room = StringField("Phòng in biên lai", validators=[Optional(), Length(max=10)])
    commune_level = BooleanField("Cơ sở tuyến xã (mức 3, 4 được hưởng 100 %)")
    head_bhxh_code = StringField("Mã BHXH người đứng đầu ký hồ sơ (MA_TTDV)", validators=[Optional(), Length(max=10)])
    department_code = StringField("Mã khoa khám bệnh (MA_KHOA)", validators=[Optional(), Length(max=20)])
