"""Desk forms (Flask-WTF: CSRF and server-side validation)."""

from __future__ import annotations

from flask import request
from flask_wtf import FlaskForm
from flask_wtf.form import _Auto
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional


class DeskForm(FlaskForm):
    """A desk form reads posted fields only: a file, or JSON, sent in their
    place is ignored rather than handed to a text field's validators."""

    class Meta:
        def wrap_formdata(self, form, formdata):
            if formdata is _Auto:
                return request.form if request.method in ("POST", "PUT", "PATCH", "DELETE") else None
            return formdata


class SignInForm(DeskForm):
    username = StringField("Name", validators=[DataRequired(), Length(max=80)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


class ChangePasswordForm(DeskForm):
    current_password = PasswordField("Your current password", validators=[DataRequired(), Length(max=200)])
    new_password = PasswordField("New password", validators=[DataRequired(), Length(max=200)])
    new_password_again = PasswordField(
        "New password again",
        validators=[
            DataRequired(),
            EqualTo("new_password", message="The two new passwords do not match. Please type them again."),
        ],
    )


class LookupForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search; changes nothing

    code = StringField("Claim code", validators=[DataRequired(), Length(max=12)])


class PrintForm(DeskForm):
    printer = SelectField("Printer", validators=[DataRequired()])


class EmbossForm(DeskForm):
    embosser = SelectField("Embosser", validators=[DataRequired()])


class StaffForm(DeskForm):
    username = StringField("Name", validators=[DataRequired(), Length(max=80)])
    password = PasswordField(
        "Password (leave empty to generate one)", validators=[Optional(), Length(max=200)]
    )
    is_admin = BooleanField("Administrator")


class KioskForm(DeskForm):
    name = StringField("Name (shown on alerts and handouts)", validators=[DataRequired(), Length(max=80)])
    location = StringField("Where it stands", validators=[Optional(), Length(max=120)])
    # "" (no printing by itself) is one of the choices; anything else must be a printer offered.
    auto_print_printer = SelectField("Print every handout on", default="")
