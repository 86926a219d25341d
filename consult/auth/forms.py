from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, EqualTo, Length, Optional
from wtforms.validators import Email as EmailValidator

from consult.core.enums import Gender, UserRole

MIN_PASSWORD = 8


class LoginForm(FlaskForm):
    login = StringField(
        _l("Phone number or e-mail"),
        validators=[DataRequired(_l("Enter your phone number or e-mail.")), Length(max=254)],
        render_kw={"autocomplete": "username", "autocapitalize": "none"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password."))],
        render_kw={"autocomplete": "current-password"},
    )
    remember = BooleanField(_l("Keep me logged in on this phone"))
    next = HiddenField()


class SetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"),
        validators=[
            DataRequired(_l("Choose a password.")),
            Length(
                min=MIN_PASSWORD,
                max=200,
                message=_l("Use at least %(n)d characters.", n=MIN_PASSWORD),
            ),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[EqualTo("password", message=_l("The two passwords are not the same."))],
        render_kw={"autocomplete": "new-password"},
    )


class PersonFields:
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter a name.")), Length(max=120)])
    phone = StringField(
        _l("Phone number"),
        validators=[Optional(), Length(max=30)],
        render_kw={"inputmode": "tel", "autocomplete": "tel"},
    )
    email = EmailField(
        _l("E-mail (optional)"),
        validators=[
            Optional(),
            EmailValidator(_l("This is not an e-mail address.")),
            Length(max=254),
        ],
    )
    gender = SelectField(_l("Gender"), choices=Gender.choices(), default=Gender.OTHER.value)

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if not (self.phone.data or "").strip() and not (self.email.data or "").strip():
            self.phone.errors.append(_l("Give a phone number or an e-mail address."))
            return False
        return ok


class InviteForm(PersonFields, FlaskForm):
    """Staff invite officers, leaders' accounts and other staff."""

    role = SelectField(
        _l("Role"),
        choices=[
            SelectChoice(r.value, r.label)
            for r in (UserRole.OFFICER, UserRole.RESIDENT, UserRole.STAFF)
        ],
        default=UserRole.OFFICER.value,
    )
    municipality_id = SelectField(_l("Municipality (for officers)"), coerce=int, choices=[])
    co_id = SelectField(_l("Community organisation (for leaders)"), coerce=int, choices=[])


class ChangePasswordForm(FlaskForm):
    current = PasswordField(
        _l("Current password"),
        validators=[DataRequired(_l("Enter your current password."))],
        render_kw={"autocomplete": "current-password"},
    )
    password = SetPasswordForm.password
    confirm = SetPasswordForm.confirm
