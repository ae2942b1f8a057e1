"""Printing forms: printer configuration and reprint reason."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from station.web.formutil import options
from station.printing.services import BAUD_RATES, DOCUMENTS, FLOW_CONTROLS


class PrinterForm(FlaskForm):
    """Create or edit a thermal printer."""

    name = StringField("Tên máy in", validators=[DataRequired("Cần nhập tên máy in."), Length(max=40)],
                       description="Ví dụ: quay-tiep-don")
    url = StringField("Cổng kết nối", validators=[DataRequired("Cần nhập cổng máy in."), Length(max=255)],
                      description="serial:///dev/ttyUSB0, tcp://192.168.1.50:9100 hoặc file:///tmp/may-in.bin")
    baudrate = SelectField("Tốc độ cổng (baud)", choices=options((str(b), str(b)) for b in BAUD_RATES), default="9600")
    flow_control = SelectField("Điều khiển luồng", choices=options(FLOW_CONTROLS.items()), default="none")
    profile = TextAreaField("Hồ sơ máy in", validators=[DataRequired("Cần chọn hồ sơ máy in.")],
                            default="epson-tm-t20ii",
                            description="Tên hồ sơ có sẵn hoặc JSON, ví dụ "
                                        '{"name": "xp-q200", "base": "xprinter-80", "code_pages": {"0": "CP437", "27": "TCVN-3-1"}}')
    rooms = StringField("Phòng phục vụ", validators=[Length(max=255)],
                        description="Mã phòng, cách nhau bởi dấu phẩy; * = mọi phòng")
    documents = StringField("Loại giấy in", validators=[Length(max=255)],
                            description="Để trống = mọi loại; hoặc: " + ", ".join(sorted(DOCUMENTS)))
    active = BooleanField("Đang sử dụng", default=True)


class ReprintForm(FlaskForm):
    """A reprint needs a reason (audited)."""

    reason = StringField("Lý do in lại", validators=[DataRequired("Cần ghi lý do in lại."), Length(max=255)])
