"""``flask --app wsgi kiosk ...`` commands."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from .database import create_tables
from .models import utcnow

kiosk_cli = AppGroup("kiosk", help="Run and look after the visit-prep kiosk.")

SAMPLE_ANSWERS = {
    "bladder": "no",
    "bowel": "no",
    "saddle_numbness": "no",
    "leg_weakness": "no",
    "hands_or_shock": "no",
    "injury": "no",
    "fever": "no",
    "cancer": "no",
    "weight_loss": "no",
    "spine_region": "low_back",
    "first_recommendation": ["fusion"],
    "confidence": "2",
    "reasons": ["unsure_surgery", "other_options", "risks"],
    "reasons_other": "",
    "records_exist": ["mri", "xray", "office_notes"],
    "records_requested": "not_yet",
    "questions": ["q_options_all", "q_risks_main", "q_exp_count", "q_recovery_time", "q_wait_what"],
    "top_questions": ["q_options_all", "q_risks_main", "q_exp_count"],
    "own_question_1": "",
    "own_question_2": "",
    "companion": "family",
    "advocate_help": "no",
}
"""A typical visit: low back, fusion suggested, three starred questions."""


@kiosk_cli.command("init-db")
def init_db() -> None:
    """Create the database tables (safe to run again)."""
    create_tables()
    click.echo("Database ready.")


@kiosk_cli.command("sample-handout")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--lang", default="en", show_default=True, help="Language of the handout.")
@click.option(
    "--paper", type=click.Choice(["letter", "a4"]), default=None, help="Paper size (default: setting)."
)
def sample_handout(out: Path, lang: str, paper: str | None) -> None:
    """Render a typical handout from built-in sample answers, without a visit."""
    from .handout import render_handout

    pdf, pages = render_handout(
        SAMPLE_ANSWERS, language=lang, claim_code="K7P2", created_at=utcnow(), paper=paper
    )
    out.write_bytes(pdf)
    click.echo(f"Wrote {out} ({pages} pages, {len(pdf):,} bytes).")


def init_app(app: Flask) -> None:
    app.cli.add_command(kiosk_cli)
