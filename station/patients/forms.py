"""Flask-WTF forms of the health record. Dates are typed dd/mm/yyyy and parsed by the services,
so every rule and its Vietnamese message lives in one place (station.patients.services)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from station.patients import services as s
from station.web.formutil import options


def _choices(mapping: dict[str, str]) -> list[SelectChoice]:
    return options(mapping.items())


DATE_HINT = "dd/mm/yyyy"


class PatientForm(FlaskForm):
    """Administrative part of the record (QĐ 831 section I)."""

    full_name = StringField("Họ và tên", validators=[DataRequired("Cần nhập họ và tên."), Length(max=120)])
    birth = StringField("Ngày sinh (dd/mm/yyyy, mm/yyyy hoặc chỉ năm)",
                        validators=[DataRequired("Cần nhập ngày sinh."), Length(max=10)])
    sex = SelectField("Giới tính", choices=_choices(s.SEXES), validate_choice=False)
    ethnicity_code = SelectField("Dân tộc", choices=[], validate_choice=False)
    nationality_code = StringField("Mã quốc tịch (000 = Việt Nam)", default="000", validators=[Length(max=3)])
    occupation = StringField("Nghề nghiệp", validators=[Optional(), Length(max=120)])
    religion = StringField("Tôn giáo", validators=[Optional(), Length(max=60)])
    blood_group = SelectField("Nhóm máu", choices=_choices(s.BLOOD_GROUPS), validate_choice=False)
    blood_rh = SelectField("Yếu tố Rh", choices=_choices(s.RH_FACTORS), validate_choice=False)
    birth_registration_place = StringField("Nơi đăng ký khai sinh", validators=[Optional(), Length(max=200)])
    province_code = SelectField("Tỉnh/thành phố", choices=[], validate_choice=False)
    commune_code = SelectField("Xã/phường", choices=[], validate_choice=False)
    hamlet = StringField("Thôn/tổ dân phố", validators=[Optional(), Length(max=120)])
    street = StringField("Số nhà, đường", validators=[Optional(), Length(max=200)])
    phone = StringField("Số điện thoại", validators=[Optional(), Length(max=20)])
    email = StringField("Thư điện tử", validators=[Optional(), Length(max=120)])
    emergency_name = StringField("Người liên hệ khẩn cấp", validators=[Optional(), Length(max=120)])
    emergency_relation = StringField("Quan hệ", validators=[Optional(), Length(max=60)])
    emergency_phone = StringField("Điện thoại liên hệ khẩn cấp", validators=[Optional(), Length(max=20)])
    guardian_name = StringField("Người giám hộ / đại diện (trẻ em)", validators=[Optional(), Length(max=120)])
    guardian_relation = StringField("Quan hệ với người giám hộ", validators=[Optional(), Length(max=60)])
    guardian_phone = StringField("Điện thoại người giám hộ", validators=[Optional(), Length(max=20)])
    guardian_id_number = StringField("Số CCCD người giám hộ", validators=[Optional(), Length(max=14)])
    household_relation = StringField("Quan hệ với chủ hộ", validators=[Optional(), Length(max=40)])
    notes = TextAreaField("Ghi chú (vấn đề khác)", validators=[Optional(), Length(max=10_000)])

    ADMIN_FIELDS = ("full_name", "birth", "sex", "ethnicity_code", "nationality_code", "occupation", "religion",
                    "blood_group", "blood_rh", "birth_registration_place", "province_code", "commune_code",
                    "hamlet", "street", "phone", "email", "emergency_name", "emergency_relation",
                    "emergency_phone", "guardian_name", "guardian_relation", "guardian_phone",
                    "guardian_id_number", "household_relation", "notes")

    def values(self) -> dict[str, str]:
        return {name: getattr(self, name).data or "" for name in self.ADMIN_FIELDS}


class NewPatientForm(PatientForm):
    """Registration: the administrative part plus the papers shown at the desk."""

    cccd = StringField("Số CCCD (12 chữ số)", validators=[Optional(), Length(max=14)])
    bhyt_code = StringField("Mã thẻ BHYT (15 ký tự)", validators=[Optional(), Length(max=20)])
    #: Set by the "create anyway" button after the duplicate warning.
    confirm_duplicate = HiddenField(default="")


class IdentifierForm(FlaskForm):
    kind = SelectField("Loại giấy tờ", choices=_choices(s.IDENTIFIER_KINDS))
    value = StringField("Số", validators=[DataRequired("Cần nhập số giấy tờ."), Length(max=20)])
    issued_on = StringField(f"Ngày cấp ({DATE_HINT})", validators=[Optional(), Length(max=10)])


class CancelForm(FlaskForm):
    reason = StringField("Lý do", validators=[Optional(), Length(max=200)])


class BhytForm(FlaskForm):
    card_code = StringField("Mã thẻ BHYT", validators=[DataRequired("Cần nhập mã thẻ BHYT."), Length(max=20)])
    valid_from = StringField(f"Giá trị từ ({DATE_HINT})", validators=[Optional(), Length(max=10)])
    valid_to = StringField(f"Giá trị đến ({DATE_HINT})", validators=[Optional(), Length(max=10)])
    registered_facility = StringField("Nơi ĐKKCB ban đầu (mã 5 ký tự)", validators=[Optional(), Length(max=5)])
    five_years_on = StringField(f"Ngày đủ 5 năm liên tục ({DATE_HINT})", validators=[Optional(), Length(max=10)])


class AllergyForm(FlaskForm):
    category = SelectField("Loại", choices=_choices(s.ALLERGY_CATEGORIES))
    substance = StringField("Chất gây dị ứng (thuốc: ghi hoạt chất)",
                            validators=[DataRequired("Cần nhập chất gây dị ứng."), Length(max=120)])
    reaction = StringField("Biểu hiện", validators=[Optional(), Length(max=200)])
    severity = SelectField("Mức độ", choices=_choices(s.SEVERITIES))


class ConditionForm(FlaskForm):
    icd10_code = StringField("Mã ICD-10", validators=[DataRequired("Cần nhập mã ICD-10."), Length(max=8)])
    title = StringField("Tên bệnh (để trống: theo danh mục)", validators=[Optional(), Length(max=255)])
    onset_year = StringField("Năm phát hiện", validators=[Optional(), Length(max=4)])
    status = SelectField("Tình trạng", choices=_choices(s.CONDITION_STATUSES))
    note = StringField("Ghi chú", validators=[Optional(), Length(max=255)])


class SurgeryForm(FlaskForm):
    procedure = StringField("Phẫu thuật", validators=[DataRequired("Cần nhập tên phẫu thuật."), Length(max=200)])
    year = StringField("Năm", validators=[Optional(), Length(max=4)])
    place = StringField("Nơi phẫu thuật", validators=[Optional(), Length(max=200)])
    note = StringField("Ghi chú", validators=[Optional(), Length(max=255)])


class FamilyForm(FlaskForm):
    relation = SelectField("Quan hệ", choices=_choices(s.FAMILY_RELATIONS))
    condition = StringField("Bệnh", validators=[DataRequired("Cần nhập tên bệnh."), Length(max=200)])
    icd10_code = StringField("Mã ICD-10 (nếu biết)", validators=[Optional(), Length(max=8)])


class DisabilityForm(FlaskForm):
    kind = SelectField("Dạng khuyết tật", choices=_choices(s.DISABILITY_KINDS))
    level = SelectField("Mức độ", choices=_choices(s.DISABILITY_LEVELS))
    note = StringField("Ghi chú", validators=[Optional(), Length(max=255)])


class VaccinationForm(FlaskForm):
    vaccine_code = StringField("Mã vắc xin (BCG, VGB, DPT-VGB-Hib, MR...)",
                               validators=[DataRequired("Cần nhập mã vắc xin."), Length(max=20)])
    vaccine_name = StringField("Tên vắc xin", validators=[Optional(), Length(max=120)])
    dose_number = StringField("Mũi thứ", validators=[Optional(), Length(max=2)])
    given_on = StringField(f"Ngày tiêm ({DATE_HINT})", validators=[DataRequired("Cần nhập ngày tiêm."), Length(max=10)])
    place = StringField("Nơi tiêm", validators=[Optional(), Length(max=200)])
    epi = BooleanField("Tiêm chủng mở rộng", default=True)
    lot_number = StringField("Số lô", validators=[Optional(), Length(max=40)])


class RiskForm(FlaskForm):
    tobacco = SelectField("Hút thuốc lá, thuốc lào", choices=_choices(s.TOBACCO))
    tobacco_per_day = StringField("Số điếu mỗi ngày", validators=[Optional(), Length(max=3)])
    alcohol = SelectField("Rượu bia", choices=_choices(s.ALCOHOL))
    drug_use = SelectField("Ma túy", choices=_choices(s.DRUG_USE))
    physical_activity = SelectField("Hoạt động thể lực", choices=_choices(s.ACTIVITY))
    occupational_exposure = StringField("Tiếp xúc yếu tố nguy cơ nghề nghiệp, môi trường (ghi “Không” nếu không có)",
                                        validators=[Optional(), Length(max=200)])


class ReproductiveForm(FlaskForm):
    pregnancies = StringField("Số lần có thai", validators=[Optional(), Length(max=2)])
    term_births = StringField("Số lần sinh đủ tháng", validators=[Optional(), Length(max=2)])
    preterm_births = StringField("Số lần sinh non", validators=[Optional(), Length(max=2)])
    abortions = StringField("Số lần sảy/phá thai", validators=[Optional(), Length(max=2)])
    living_children = StringField("Số con hiện sống", validators=[Optional(), Length(max=2)])
    contraception = SelectField("Biện pháp tránh thai", choices=_choices(s.CONTRACEPTION))
    last_menstrual_period = StringField(f"Ngày đầu kỳ kinh cuối ({DATE_HINT})", validators=[Optional(), Length(max=10)])


TRISTATE = options([("", "Không rõ"), ("yes", "Có"), ("no", "Không")])


class BirthForm(FlaskForm):
    delivery = SelectField("Cách sinh", choices=_choices(s.DELIVERY))
    premature = SelectField("Đẻ non", choices=TRISTATE)
    asphyxia = SelectField("Ngạt khi sinh", choices=TRISTATE)
    birth_weight_g = StringField("Cân nặng khi sinh (gam)", validators=[Optional(), Length(max=4)])
    birth_length_cm = StringField("Chiều dài khi sinh (cm)", validators=[Optional(), Length(max=5)])
    congenital_defects = StringField("Dị tật bẩm sinh", validators=[Optional(), Length(max=200)])
    other_problems = StringField("Vấn đề khác", validators=[Optional(), Length(max=200)])


class MergeForm(FlaskForm):
    other_code = StringField("Mã bệnh nhân của hồ sơ trùng (sẽ gộp vào hồ sơ này)",
                             validators=[DataRequired("Cần nhập mã hồ sơ trùng."), Length(max=20)])
    reason = StringField("Lý do gộp", validators=[DataRequired("Cần ghi lý do gộp."), Length(max=500)])
    confirm = BooleanField("Tôi đã kiểm tra: hai hồ sơ là cùng một người")


class ActionForm(FlaskForm):
    """A POST button with its CSRF token."""


#: List sections: form class and the service call's keyword names.
SECTION_FORMS = {"allergies": AllergyForm, "conditions": ConditionForm, "surgeries": SurgeryForm,
                 "family": FamilyForm, "disabilities": DisabilityForm, "vaccinations": VaccinationForm}
