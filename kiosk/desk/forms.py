"""Desk forms (Flask-WTF: CSRF and server-side validation)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional


class SignInForm(FlaskForm):
    username = StringField("Name", validators=[DataRequired(), Length(max=80)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


class LookupForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search; changes nothing

    code = StringField("Claim code", validators=[DataRequired(), Length(max=12)])


class PrintForm(FlaskForm):
    printer = SelectField("Printer", validators=[DataRequired()])


class StaffForm(FlaskForm):
    username = StringField("Name", validators=[DataRequired(), Length(max=80)])
    password = PasswordField(
        "Password (leave empty to generate one)", validators=[Optional(), Length(max=200)]
    )
    is_admin = BooleanField("Administrator")


class KioskForm(FlaskForm):
    name = StringField("Name (shown on alerts and handouts)", validators=[DataRequired(), Length(max=80)])
    location = StringField("Where it stands", validators=[Optional(), Length(max=120)])
    auto_print_printer = SelectField("Print every handout on", validators=[Optional()])
