"""Statistics with no patient data: visits started, finished and abandoned
(and the step each was given up on), red-flag alerts and how long they
waited for the desk, handouts printed, and how long and how many taps a
finished visit took.

Each event is counted (``models.DailyCount``: the clinic's day, the kiosk,
what happened, how many) in the transaction that records the event, so an
event rolled back counts nothing. A transaction writes counts of its own,
new rows, and never adds to a row another one wrote: on PostgreSQL, adding
to a shared row would make every visit finishing at a kiosk wait for the one
before it to commit. The page sums the rows it reads, and the purge (every
minute, in the worker) folds each day's rows of one count into one: every
day the first time in a process, then only the days still being counted.

Times and taps are counted in buckets, and medians are read from those.
There is never a row per visit that outlives the minute before the next
purge: no visit id, claim code, answer or typed word is kept, no time finer
than the day and the buckets, no count leads back to a patient, and purging
the visits leaves every count in place.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from flask import current_app
from sqlalchemy import delete, event, func, insert, select, tuple_, update
from sqlalchemy.orm import Session, SessionTransaction

from .clock import clinic_now
from .content import definition
from .extensions import db
from .models import DailyCount, Visit

DAYS_SHOWN = 30
# More than any visit needs; a number outside 0..MAX_TAPS is not a tap count.
MAX_TAPS = 2000
# Times are counted up to a day; anything longer is counted as a day.
LONGEST_SECONDS = 24 * 60 * 60
# How wide a bucket of seconds is, by how long: (under this many seconds, width).
SECOND_BUCKETS = ((10 * 60, 15), (2 * 60 * 60, 60), (LONGEST_SECONDS + 1, 15 * 60))


class Metric(StrEnum):
    STARTED = "started"
    FINISHED = "finished"  # bucket: seconds from Start to Finish
    TAPS = "taps"  # bucket: the taps of a finished visit, when its kiosk sent them
    ABANDONED = "abandoned"  # step: the first step not yet answered (or review)
    ALERT = "alert"  # a new red-flag alert for the desk
    ACKNOWLEDGED = "acknowledged"  # bucket: seconds from the alert to its acknowledgement
    PRINTED = "printed"  # a print job that printed (a reprint counts again)


_KEY = ("day", "kiosk", "metric", "step", "bucket")
# The rows this session's transaction has written: key -> row id.
_MINE = "statistics_rows"


def step_titles() -> tuple[tuple[str, str], ...]:
    """The steps a visit can be given up on, in the order the patient meets
    them, with the title staff read (the English one)."""
    defined = definition()
    return (*((step.id, step.title) for step in defined.steps), (defined.review_id, defined.review_title))


# --- counting (in the event's transaction) -------------------------------------------


def _add(kiosk: str, metric: Metric, *, step: str = "", bucket: int = 0) -> None:
    """Count one, in the session's transaction: it is committed with the
    event it counts, or not at all. The first count of a kind in a
    transaction writes a row of its own, the next ones add to that row, so a
    transaction never touches (nor waits for) a row of another."""
    key = (clinic_now().date(), kiosk[:80], metric.value, step, bucket)
    mine: dict[tuple, int] = db.session.info.setdefault(_MINE, {})
    if key in mine:
        db.session.execute(
            update(DailyCount).where(DailyCount.id == mine[key]).values(count=DailyCount.count + 1)
        )
        return
    mine[key] = db.session.scalar(
        insert(DailyCount).values(**dict(zip(_KEY, key, strict=True)), count=1).returning(DailyCount.id)
    )


@event.listens_for(Session, "after_transaction_end")
def _forget_rows_written(session: Session, transaction: SessionTransaction) -> None:
    # Committed or rolled back, the rows are no longer this transaction's.
    if transaction.parent is None:
        session.info.pop(_MINE, None)
        session.info.pop(_FOLDING, None)


@dataclass
class _Folded:
    """This process's folds: from which day the next one reads (None: every day)."""

    since: date | None = None


# The fold in this session's transaction, until it commits: (_Folded, its day).
_FOLDING = "statistics_folding"


@event.listens_for(Session, "after_commit")
def _remember_fold(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: the fold is done when its whole transaction commits
    if (folding := session.info.pop(_FOLDING, None)) is not None:
        folded, day = folding
        # A transaction open over midnight writes its counts on the day it began.
        folded.since = day - timedelta(days=1)


def fold() -> int:
    """Fold each day's rows of one count into one row, in the session's
    transaction (``retention.purge`` commits it). Rows still being written
    by an open transaction are not seen; on PostgreSQL, rows another fold is
    folding are skipped; either way nothing waits, and they are folded the
    next time. Returns how many rows were folded away.

    Counts are written on the day they happen, so once a fold of every day
    has committed, the next ones in this process read only yesterday and
    today: the purge does not slow down (nor, on SQLite, hold the write lock
    longer) as the days add up. A worker started again folds every day once,
    whatever piled up while none ran."""
    folded: _Folded = current_app.extensions.setdefault("kiosk.statistics", _Folded())
    key = [getattr(DailyCount, column) for column in _KEY]
    recent = [DailyCount.day >= folded.since] if folded.since else []
    doubled = select(*key).where(*recent).group_by(*key).having(func.count() > 1)
    rows = select(DailyCount.id).where(*recent, tuple_(*key).in_(doubled)).with_for_update(skip_locked=True)
    db.session.info[_FOLDING] = (folded, clinic_now().date())
    taken = db.session.execute(
        delete(DailyCount)
        .where(DailyCount.id.in_(rows.scalar_subquery()))
        .returning(*key, DailyCount.count)
        .execution_options(synchronize_session=False)
    ).all()
    sums: Counter[tuple] = Counter()
    for *found, count in taken:
        sums[tuple(found)] += count
    if sums:
        db.session.execute(
            insert(DailyCount), [{**dict(zip(_KEY, k, strict=True)), "count": n} for k, n in sums.items()]
        )
    return len(taken) - len(sums)


def visit_started(kiosk: str) -> None:
    _add(kiosk, Metric.STARTED)


def visit_finished(visit: Visit, taps: int | None = None) -> None:
    """A finished visit, how long it took from Start, and the patient's taps
    when the kiosk sent them."""
    if visit.finished_at is not None and visit.created_at is not None:
        seconds = (visit.finished_at - visit.created_at).total_seconds()
        _add(visit.kiosk, Metric.FINISHED, bucket=seconds_bucket(seconds))
    else:
        _add(visit.kiosk, Metric.FINISHED)
    if isinstance(taps, int) and 0 <= taps <= MAX_TAPS:
        _add(visit.kiosk, Metric.TAPS, bucket=taps)


def visit_abandoned(kiosk: str, completed_steps: Sequence[str] | None) -> None:
    """A visit deleted unfinished (wiped, restarted, or left to expire)."""
    _add(kiosk, Metric.ABANDONED, step=definition().first_open_step(completed_steps))


def visits_purged(rows: Iterable[tuple[str, Sequence[str] | None]]) -> int:
    """Count visits deleted unfinished in bulk (``retention.purge``), given
    each one's kiosk and completed steps. Returns how many."""
    n = 0
    for kiosk, completed_steps in rows:
        visit_abandoned(kiosk, completed_steps)
        n += 1
    return n


def alert_raised(kiosk: str) -> None:
    _add(kiosk, Metric.ALERT)


def alert_acknowledged(kiosk: str, waited: timedelta) -> None:
    _add(kiosk, Metric.ACKNOWLEDGED, bucket=seconds_bucket(waited.total_seconds()))


def handout_printed(kiosk: str) -> None:
    _add(kiosk, Metric.PRINTED)


def parse_taps(raw: object) -> int | None:
    """The tap count a kiosk sent with Finish, or None for anything that is
    not a whole number from 0 to MAX_TAPS (never an error for the patient)."""
    digits = raw.strip() if isinstance(raw, str) else ""
    if not (digits.isascii() and digits.isdigit() and len(digits) <= len(str(MAX_TAPS))):
        return None
    taps = int(digits)
    return taps if taps <= MAX_TAPS else None


# --- buckets and medians ----------------------------------------------------------------


def seconds_bucket(seconds: float) -> int:
    """The lower edge of the bucket a time is counted in: 15 seconds wide
    under 10 minutes, a minute under 2 hours, 15 minutes beyond, up to a day."""
    whole = max(0, min(int(seconds), LONGEST_SECONDS))
    for below, width in SECOND_BUCKETS:
        if whole < below:
            return whole - whole % width
    return LONGEST_SECONDS


def median(histogram: Mapping[int, int]) -> float | None:
    """The median of values counted in buckets (lower edge → how many): the
    edge of the bucket holding the middle value, or the mean of the two middle
    ones' for an even count. Exact for taps (a bucket a number); for times,
    within a bucket's width. None when nothing was counted."""
    total = sum(n for n in histogram.values() if n > 0)
    if total == 0:
        return None

    def nth(index: int) -> int:
        seen = 0
        for edge in sorted(histogram):
            seen += max(histogram[edge], 0)
            if index < seen:
                return edge
        raise AssertionError("unreachable: index is below the total")

    if total % 2:
        return float(nth(total // 2))
    return (nth(total // 2 - 1) + nth(total // 2)) / 2


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


# --- reading ------------------------------------------------------------------------------


@dataclass
class Tally:
    """The counts of one day (or of a whole period), with their medians."""

    day: date | None = None
    kiosk: str = ""
    counts: Counter[str] = field(default_factory=Counter)
    histograms: defaultdict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    abandoned_at: Counter[str] = field(default_factory=Counter)

    def add(self, metric: str, step: str, bucket: int, count: int) -> None:
        self.counts[metric] += count
        if metric in (Metric.FINISHED, Metric.TAPS, Metric.ACKNOWLEDGED):
            self.histograms[metric][bucket] += count
        if metric == Metric.ABANDONED:
            self.abandoned_at[step] += count

    @property
    def started(self) -> int:
        return self.counts[Metric.STARTED]

    @property
    def finished(self) -> int:
        return self.counts[Metric.FINISHED]

    @property
    def abandoned(self) -> int:
        return self.counts[Metric.ABANDONED]

    @property
    def alerts(self) -> int:
        return self.counts[Metric.ALERT]

    @property
    def acknowledged(self) -> int:
        return self.counts[Metric.ACKNOWLEDGED]

    @property
    def printed(self) -> int:
        return self.counts[Metric.PRINTED]

    @property
    def minutes_to_acknowledge(self) -> float | None:
        return _minutes(median(self.histograms[Metric.ACKNOWLEDGED]))

    @property
    def minutes_to_finish(self) -> float | None:
        return _minutes(median(self.histograms[Metric.FINISHED]))

    @property
    def taps(self) -> float | None:
        return median(self.histograms[Metric.TAPS])


@dataclass(frozen=True)
class DropOff:
    step: str
    title: str
    abandoned: int


@dataclass(frozen=True)
class Report:
    kiosk: str | None  # None: every kiosk
    days: list[Tally]  # every day of the period, oldest first, empty ones too
    total: Tally
    # The steps, with their titles, of the questionnaire the report was made with.
    steps: tuple[tuple[str, str], ...] = ()

    @property
    def first_day(self) -> date:
        return self.days[0].day  # type: ignore[return-value]

    @property
    def last_day(self) -> date:
        return self.days[-1].day  # type: ignore[return-value]

    @property
    def drop_off(self) -> list[DropOff]:
        """How many visits were given up on each step, in the order of the
        flow; a step no longer in the questionnaire is listed after, by its id."""
        known = [DropOff(step, title, self.total.abandoned_at[step]) for step, title in self.steps]
        ids = {step for step, _ in self.steps}
        gone = [DropOff(s, s, n) for s, n in sorted(self.total.abandoned_at.items()) if s not in ids and n]
        return known + gone


def period(today: date | None = None, days: int = DAYS_SHOWN) -> list[date]:
    """The clinic's last `days` days, ending today, oldest first."""
    today = today or clinic_now().date()
    return [today - timedelta(days=n) for n in range(days - 1, -1, -1)]


def _counts(days: list[date], kiosk: str | None, *, by_kiosk: bool):
    columns = [DailyCount.day, DailyCount.metric, DailyCount.step, DailyCount.bucket]
    if by_kiosk:
        columns.insert(1, DailyCount.kiosk)
    query = (
        select(*columns, func.sum(DailyCount.count))
        .where(DailyCount.day >= days[0], DailyCount.day <= days[-1])
        .group_by(*columns)
    )
    if kiosk:
        query = query.where(DailyCount.kiosk == kiosk)
    return db.session.execute(query).all()


def report(kiosk: str | None = None, today: date | None = None, days: int = DAYS_SHOWN) -> Report:
    """The last `days` days at one kiosk, or at all of them."""
    shown = period(today, days)
    by_day = {day: Tally(day=day, kiosk=kiosk or "") for day in shown}
    total = Tally(kiosk=kiosk or "")
    for day, metric, step, bucket, count in _counts(shown, kiosk, by_kiosk=False):
        by_day[day].add(metric, step, bucket, count)
        total.add(metric, step, bucket, count)
    return Report(kiosk=kiosk, days=list(by_day.values()), total=total, steps=step_titles())


def kiosk_names(today: date | None = None, days: int = DAYS_SHOWN) -> list[str]:
    """The names of the kiosks with counts in the period, to choose from."""
    shown = period(today, days)
    query = select(DailyCount.kiosk).distinct().where(DailyCount.day >= shown[0]).order_by(DailyCount.kiosk)
    return list(db.session.scalars(query).all())


def csv_header(titles: Sequence[tuple[str, str]]) -> tuple[str, ...]:
    return (
        "day",
        "kiosk",
        "visits started",
        "visits finished",
        "visits abandoned",
        *(f"abandoned at: {title}" for _, title in titles),
        "red-flag alerts",
        "alerts acknowledged",
        "median minutes to acknowledge",
        "handouts printed",
        "median minutes to finish",
        "median taps",
    )


def csv_rows(kiosk: str | None = None, today: date | None = None, days: int = DAYS_SHOWN) -> list[list]:
    """One row a day a kiosk (every day of the period, for every kiosk with
    counts in it, or for the one asked for), oldest first; the header first."""
    shown = period(today, days)
    names = [kiosk] if kiosk else kiosk_names(today, days)
    tallies = {(day, name): Tally(day=day, kiosk=name) for day in shown for name in names}
    for day, name, metric, step, bucket, count in _counts(shown, kiosk, by_kiosk=True):
        tallies[(day, name)].add(metric, step, bucket, count)
    titles = step_titles()
    rows: list[list] = [list(csv_header(titles))]
    for tally in tallies.values():
        rows.append(
            [
                tally.day.isoformat() if tally.day else "",
                tally.kiosk,
                tally.started,
                tally.finished,
                tally.abandoned,
                *(tally.abandoned_at[step] for step, _ in titles),
                tally.alerts,
                tally.acknowledged,
                _blank(tally.minutes_to_acknowledge),
                tally.printed,
                _blank(tally.minutes_to_finish),
                _blank(tally.taps),
            ]
        )
    return rows


def _blank(value: float | None) -> str | float:
    """A median for a spreadsheet: empty when there was nothing to take it of."""
    if value is None:
        return ""
    return int(value) if value == int(value) else value
