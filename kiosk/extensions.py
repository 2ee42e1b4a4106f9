"""Flask extensions, created once and attached to the app by ``init_app``."""

from pathlib import Path

from babel import Locale, UnknownLocaleError
from flask import Flask, current_app, session
from flask_babel import Babel, Domain, get_locale
from flask_compress import Compress
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from htmx_flask import Htmx
from markupsafe import Markup, escape
from sqlalchemy.orm import DeclarativeBase

from . import languages
from .security import CSRFProtect


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
csrf = CSRFProtect()
compress = Compress()

# What is sent compressed: the stylesheets and scripts (htmx alone is 52 kB,
# 17 kB gzipped), so a kiosk's first load stays small. Never HTML or JSON: a
# page that holds a CSRF token beside text the patient typed, compressed over
# HTTPS, is what BREACH reads secrets from.
COMPRESSED = ["text/css", "text/javascript", "application/javascript", "image/svg+xml"]


class _AppDomain(Domain):
    """The catalogs' translations, kept for each app. Flask-Babel keeps them
    on its Babel object, one for the process, by locale alone: a second app
    in the process (the tests make many, each with its own translations
    folder) would be given the first one's Vietnamese."""

    def get_translations_cache(self, ctx):
        return current_app.extensions.setdefault("kiosk.translations", {})


babel = Babel()
babel.domain_instance = _AppDomain()
htmx = Htmx()
login_manager = LoginManager()
migrate = Migrate()


def select_locale() -> str | languages.Locale:
    """The language the patient chose on this kiosk, if the clinic offers it,
    else the clinic's default; as Babel names it."""
    from . import content

    lang = session.get("lang")
    if isinstance(lang, str) and lang in content.current().content.languages:
        return languages.babel_locale(lang)
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def page_language() -> str:
    """The language of the page being drawn, as a tag: "zh-Hans"."""
    return languages.tag_of(get_locale() or languages.SOURCE)


def text_direction(language: object = None) -> str:
    """ "rtl" or "ltr": how a page in `language` runs (a tag like "ar" or
    "zh-Hans", or a Babel Locale), by default the page's own language. One
    answer for the kiosk's screens, its error pages and the handout."""
    if language is None:
        language = get_locale()
    try:
        locale = language if isinstance(language, Locale) else languages.babel_locale(str(language))
    except (ValueError, UnknownLocaleError):
        return "ltr"
    return "rtl" if locale is not None and locale.text_direction == "rtl" else "ltr"


def isolated(text: object) -> Markup:
    """On a right-to-left page, text set apart for the bidi algorithm (FSI ...
    PDI): in its own direction, whatever surrounds it. For what a patient
    typed where no element can isolate it (the handout: WeasyPrint does not
    isolate a <bdi>). A left-to-right page gets the text as it is."""
    if text_direction() != "rtl":
        return escape(text)
    return Markup("\u2068") + escape(text) + Markup("\u2069")


def init_app(app: Flask, migrations: Path) -> None:
    db.init_app(app)
    app.config.setdefault("COMPRESS_MIMETYPES", COMPRESSED)
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    compress.init_app(app)
    migrate.init_app(app, db, directory=str(migrations), render_as_batch=True)
    csrf.init_app(app)
    htmx.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "desk.sign_in"
    login_manager.session_protection = "basic"
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["page_language"] = page_language
    app.jinja_env.globals["text_direction"] = text_direction
    app.jinja_env.filters["isolated"] = isolated
