"""Holiday schedules loaded by operators: the State Council's notice of a year's holidays (国务院
办公厅关于某年部分节假日安排的通知), written as a small TOML file, takes the place of
python-holidays' rules for that year. Deadlines that fell in the year while it had no published
schedule were provisional; once it is loaded they are counted again and lose the mark.

A schedule file mirrors the notice: the year, the notice it comes from, and one ``[[holiday]]``
table per holiday with its first and last day off and its make-up working days (调休)::

    year = 2027
    source = "国务院办公厅关于2027年部分节假日安排的通知 (国办发明电〔2026〕N号)"

    [[holiday]]
    name = "春节"
    first = 2027-02-05
    last = 2027-02-13
    workdays = [2027-02-14, 2027-02-20]

Every day of a range is a day off, every make-up day a working day, every other day of the year
works iff it is Monday to Friday. A make-up day may lie in December of the year before.

SQLAlchemy and python-holidays are imported inside the functions that use them: ``chelun.cli``
imports this module for its commands, and ``chelun --help`` must start at once.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from chelun.commands import command_group, fail, friendly, load_settings, open_db, out, warn

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from chelun.calendar import WorkingCalendar
    from chelun.storage.db import Database

#: A year's notice is a few hundred bytes; anything much larger is not one.
MAX_FILE_BYTES = 64 * 1024
#: The longest holiday a notice has given (the Spring Festival: 9 days), with room to spare.
MAX_HOLIDAY_DAYS = 15
FIRST_YEAR, LAST_YEAR = 2000, 2100
TOP_KEYS = ("year", "source", "holiday")
HOLIDAY_KEYS = ("name", "first", "last", "workdays")
#: Lengths of the columns the schedule is stored in.
MAX_SOURCE, MAX_NAME = 200, 50
#: Grievances whose deadlines are counted again per transaction.
RECOMPUTE_BATCH = 1_000
ENTITY = "holiday_schedule"
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class ScheduleError(ValueError):
    """A schedule file that cannot be loaded: one line naming the file and what is wrong."""


#: Makes the error for a message about the file being read.
Problem = Callable[[str], ScheduleError]


@dataclass(frozen=True)
class Holiday:
    """One holiday of a notice: its days off, first to last, and its make-up working days."""

    name: str
    first: dt.date
    last: dt.date
    workdays: tuple[dt.date, ...] = ()

    def days_off(self) -> Iterator[dt.date]:
        day = self.first
        while day <= self.last:
            yield day
            day += dt.timedelta(days=1)


@dataclass(frozen=True)
class Schedule:
    """A year's holiday schedule as read from its file, and what a reader should check in it
    (``warnings``: statutory holidays the file leaves as working days)."""

    year: int
    source: str
    holidays: tuple[Holiday, ...]
    warnings: tuple[str, ...] = ()

    def days(self) -> dict[dt.date, tuple[str, str]]:
        """Each day the schedule names, with its kind (``off`` or ``work``) and holiday."""
        named: dict[dt.date, tuple[str, str]] = {}
        for holiday in self.holidays:
            named.update({day: ("off", holiday.name) for day in holiday.days_off()})
            named.update({day: ("work", holiday.name) for day in holiday.workdays})
        return dict(sorted(named.items()))


@dataclass(frozen=True)
class LoadResult:
    year: int
    source: str
    days_off: int
    make_up_days: int
    #: A different schedule of the year was loaded before and is replaced.
    replaced: bool
    #: The same schedule was loaded before: nothing was written.
    unchanged: bool
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class RecomputeResult:
    #: Open grievances with provisional deadlines looked at.
    examined: int
    #: Those whose deadlines or mark changed.
    changed: int
    #: Those counted again whose deadlines are still provisional.
    still_provisional: int
    #: Those that cannot be counted again: no day their deadlines run from is known.
    skipped: int


@dataclass(frozen=True)
class YearView:
    """What ``chelun calendar show`` prints of a year."""

    year: int
    #: ``loaded`` (an operator's file), ``published`` (python-holidays carries the notice) or
    #: ``provisional`` (python-holidays' rules; make-up working days unknown).
    status: str
    source: str | None
    loaded_at: dt.datetime | None
    loaded_by: str | None
    #: The days of the year's schedule: day, ``off`` or ``work``, and the holiday's name.
    days: tuple[tuple[dt.date, str, str], ...]


# --- reading a file ----------------------------------------------------------------------------


def read_schedule(path: Path) -> Schedule:
    """Read and check a schedule file; ``ScheduleError`` says in one line what is wrong."""
    where = str(path)
    try:
        with Path(path).open("rb") as handle:
            content = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ScheduleError(f"{where}: cannot be read ({reason})") from None
    if len(content) > MAX_FILE_BYTES:
        raise ScheduleError(
            f"{where}: over {MAX_FILE_BYTES // 1024} KiB; a year's schedule takes a few hundred "
            "bytes: is this the right file?"
        )
    try:
        document = tomllib.loads(content.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ScheduleError(f"{where}: not UTF-8 text; save the schedule as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScheduleError(f"{where}: not TOML: {_one_line(str(exc))}") from None
    return _checked(where, document)


def _checked(where: str, document: dict[str, Any]) -> Schedule:
    def problem(message: str) -> ScheduleError:
        # Every message names the file, so that a line on its own says where to look.
        return ScheduleError(f"{where}: {message}")

    _no_unknown_keys(document, TOP_KEYS, problem, "")
    year = document.get("year")
    if year is None:
        raise problem("year is missing (e.g. year = 2027)")
    if not isinstance(year, int) or isinstance(year, bool):
        raise problem(f"year must be a whole number (e.g. 2027), not {_shown(year)}")
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise problem(f"year {year} is outside {FIRST_YEAR}-{LAST_YEAR}")
    source = _text(document.get("source"), MAX_SOURCE)
    if source is None:
        raise problem(
            f"source must name the notice, on one line of at most {MAX_SOURCE} characters "
            f'(e.g. source = "国务院办公厅关于{year}年部分节假日安排的通知")'
        )
    tables = document.get("holiday")
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        raise problem('no holidays: add a [[holiday]] table per holiday (name = "元旦" ...)')
    # Ranges may reach a month into the years either side (New Year's Eve, a make-up Saturday
    # in late December); further is a typo in the year.
    earliest, latest = dt.date(year - 1, 12, 1), dt.date(year + 1, 1, 31)
    holidays = []
    named: dict[dt.date, str] = {}
    for number, table in enumerate(tables, start=1):
        holiday = _holiday(number, table, earliest, latest, problem)
        for day in [*holiday.days_off(), *holiday.workdays]:
            if day in named:
                both = holiday.name
                if named[day] != holiday.name:
                    both = f"{named[day]} and in {holiday.name}"
                raise problem(f"{day} is listed twice (in {both})")
            named[day] = holiday.name
        holidays.append(holiday)
    return Schedule(year, source, tuple(holidays), tuple(_uncovered(where, year, holidays)))


def _holiday(
    number: int, table: dict[str, Any], earliest: dt.date, latest: dt.date, problem: Problem
) -> Holiday:
    name = _text(table.get("name"), MAX_NAME)
    label = f"holiday {number}" + (f" ({name})" if name else "")
    _no_unknown_keys(table, HOLIDAY_KEYS, problem, f"{label}: ")
    if name is None:
        raise problem(f"{label}: name must be one line of at most {MAX_NAME} characters")
    first = _date(table.get("first"), f"{label}: first", problem)
    last = _date(table.get("last"), f"{label}: last", problem)
    if last < first:
        raise problem(f"{label}: last day {last} is before the first {first}")
    for day in (first, last):
        if not earliest <= day <= latest:
            raise problem(f"{label}: {day} is outside {earliest} to {latest} (the year ±1 month)")
    length = (last - first).days + 1
    if length > MAX_HOLIDAY_DAYS:
        raise problem(
            f"{label}: {first} to {last} is {length} days, longer than {MAX_HOLIDAY_DAYS}"
        )
    workdays = table.get("workdays", [])
    if not isinstance(workdays, list):
        raise problem(f"{label}: workdays must be a list of dates (e.g. [{first.year}-02-14])")
    days = []
    for value in workdays:
        day = _date(value, f"{label}: make-up working day", problem)
        if not earliest <= day <= latest:
            raise problem(
                f"{label}: make-up working day {day} is outside {earliest} to {latest} "
                "(the year ±1 month)"
            )
        if day.weekday() < 5:
            raise problem(
                f"{label}: make-up working day {day} is a {WEEKDAYS[day.weekday()]}, not a "
                "Saturday or Sunday"
            )
        days.append(day)
    return Holiday(name, first, last, tuple(days))


def _uncovered(where: str, year: int, holidays: list[Holiday]) -> Iterator[str]:
    """A warning per statutory holiday of python-holidays' rules (for a year it carries, its
    published days off) that no range of the file makes a day off."""
    from chelun.calendar import library_holidays

    off = {day for holiday in holidays for day in holiday.days_off()}
    missing: dict[str, list[dt.date]] = {}
    for day, name in library_holidays(year, observed=False).items():
        if day not in off:
            missing.setdefault(name, []).append(day)
    for name, days in missing.items():
        listed = ", ".join(day.isoformat() for day in days)
        yield (
            f"{where}: {name} ({listed}) is a statutory holiday by python-holidays' rules but in "
            "no holiday range of the file: check the notice"
        )


def _no_unknown_keys(
    table: dict[str, Any], allowed: tuple[str, ...], problem: Problem, at: str
) -> None:
    unknown = [key for key in table if key not in allowed]
    if unknown:
        raise problem(f"{at}unknown key {_shown(unknown[0])} (allowed: {', '.join(allowed)})")


def _text(value: object, longest: int) -> str | None:
    """A one-line, printable, non-empty text of at most ``longest`` characters, or None."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if value and len(value) <= longest and value.isprintable() else None


def _date(value: object, what: str, problem: Problem) -> dt.date:
    # tomllib reads 2027-02-05 as a date, 2027-02-05T00:00 as a datetime (a subclass of date).
    if value is None:
        raise problem(f"{what} is missing (a date such as 2027-02-05, no quotes)")
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise problem(f"{what} must be a date such as 2027-02-05 (no quotes), not {_shown(value)}")
    return value


def _shown(value: object) -> str:
    """A value of the file, shortened, for a message."""
    text = repr(value)
    return _one_line(text if len(text) <= 40 else text[:37] + "...")


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --- storing and reading schedules -------------------------------------------------------------


def load_schedule(database: Database, path: Path, *, actor: str) -> LoadResult:
    """Store a schedule file's year, replacing the year's schedule loaded before, in one
    transaction, with an event. The same schedule loaded again writes nothing. A bad file,
    or one naming a day another loaded year's schedule names, stores nothing."""
    from sqlalchemy import delete, insert, select, update

    from chelun.storage.events import NewEvent, now, record
    from chelun.storage.tables import HolidayDay, HolidaySchedule

    schedule = read_schedule(path)
    days = schedule.days()
    off = sum(1 for kind, _ in days.values() if kind == "off")
    work = len(days) - off

    def result(*, replaced: bool, unchanged: bool) -> LoadResult:
        return LoadResult(
            schedule.year, schedule.source, off, work, replaced, unchanged, schedule.warnings
        )

    with database.connect() as connection:
        taken = connection.execute(
            select(HolidayDay.day, HolidayDay.year).where(
                HolidayDay.day.in_(list(days)), HolidayDay.year != schedule.year
            )
        ).first()
        if taken is not None:
            raise ScheduleError(
                f"{path}: {taken.day} is a day of the {taken.year} schedule loaded already; a "
                f"day belongs to one year's schedule (load a corrected {taken.year} file first)"
            )
        at = now()
        # Inserting first, or locking the row loaded before, makes two loads of a year at once
        # take turns on PostgreSQL (SQLite's writers take turns anyway).
        new = connection.execute(
            database.insert(HolidaySchedule)
            .values(year=schedule.year, source=schedule.source, loaded_at=at, loaded_by=actor)
            .on_conflict_do_nothing(index_elements=["year"])
            .returning(HolidaySchedule.year)
        ).first()
        replaced = new is None
        if replaced:
            source = connection.execute(
                select(HolidaySchedule.source)
                .where(HolidaySchedule.year == schedule.year)
                .with_for_update()
            ).scalar_one()
            stored = _stored_days(connection, schedule.year)
            if source == schedule.source and stored == days:
                return result(replaced=False, unchanged=True)
            connection.execute(
                update(HolidaySchedule)
                .where(HolidaySchedule.year == schedule.year)
                .values(source=schedule.source, loaded_at=at, loaded_by=actor)
            )
            connection.execute(delete(HolidayDay).where(HolidayDay.year == schedule.year))
        connection.execute(
            insert(HolidayDay),
            [
                {"day": day, "year": schedule.year, "kind": kind, "name": name}
                for day, (kind, name) in days.items()
            ],
        )
        record(
            connection,
            [
                NewEvent(
                    None,
                    actor,
                    ENTITY,
                    str(schedule.year),
                    "replaced" if replaced else "loaded",
                    f"{schedule.source}: {off} days off, {work} make-up working days",
                    {
                        "year": schedule.year,
                        "source": schedule.source,
                        "days_off": off,
                        "make_up_days": work,
                    },
                )
            ],
        )
    return result(replaced=replaced, unchanged=False)


def _stored_days(connection: Connection, year: int) -> dict[dt.date, tuple[str, str]]:
    from sqlalchemy import select

    from chelun.storage.tables import HolidayDay

    query = select(HolidayDay.day, HolidayDay.kind, HolidayDay.name).where(HolidayDay.year == year)
    return {day: (kind, name) for day, kind, name in connection.execute(query)}


def calendar_for(database: Database) -> WorkingCalendar:
    """The working calendar with every schedule loaded into the database."""
    from sqlalchemy import select

    from chelun.calendar import WorkingCalendar, YearSchedule
    from chelun.storage.tables import HolidayDay, HolidaySchedule

    with database.engine.connect() as connection:
        years = connection.execute(select(HolidaySchedule.year)).scalars().all()
        days = connection.execute(select(HolidayDay.year, HolidayDay.day, HolidayDay.kind)).all()
    listed: dict[int, dict[str, set[dt.date]]] = {
        year: {"off": set(), "work": set()} for year in years
    }
    for year, day, kind in days:
        listed[year][kind].add(day)
    return WorkingCalendar(
        {
            year: YearSchedule(year, frozenset(kinds["off"]), frozenset(kinds["work"]))
            for year, kinds in listed.items()
        }
    )


def describe_year(database: Database, year: int) -> YearView:
    """A year's schedule: the one loaded, else python-holidays' (published or by its rules)."""
    from sqlalchemy import select

    from chelun.calendar import library_holidays, library_make_up_days, published_years
    from chelun.storage.tables import HolidaySchedule

    with database.engine.connect() as connection:
        loaded = connection.execute(
            select(HolidaySchedule).where(HolidaySchedule.year == year)
        ).first()
        stored = _stored_days(connection, year) if loaded is not None else {}
    if loaded is not None:
        return YearView(
            year,
            "loaded",
            loaded.source,
            loaded.loaded_at,
            loaded.loaded_by,
            tuple((day, kind, name) for day, (kind, name) in sorted(stored.items())),
        )
    days = [(day, "off", name) for day, name in library_holidays(year).items()]
    days += [(day, "work", "调休上班") for day in library_make_up_days(year)]
    status = "published" if year in published_years() else "provisional"
    return YearView(year, status, None, None, None, tuple(sorted(days)))


# --- counting provisional deadlines again ------------------------------------------------------


def recompute_provisional(
    database: Database,
    *,
    actor: str,
    calendar: WorkingCalendar | None = None,
    batch: int = RECOMPUTE_BATCH,
) -> RecomputeResult:
    """Count again the deadlines of every open grievance, of every province, whose deadlines
    are provisional, with ``calendar`` (default: every loaded schedule); clear the mark where
    the new deadlines lie in published years.

    Deadlines run from ``deadline_from``; on a grievance stored before that column existed,
    from the day it was received if it was never escalated nor reopened, else it is skipped.
    Each change is a conditional update (status and due dates as read) with an event
    ``deadlines_recomputed`` holding the old and new dates; ``batch`` grievances a
    transaction, read in order of id, so memory stays flat.
    """
    from sqlalchemy import select, update

    from chelun.calendar import beijing_date
    from chelun.grievance import service
    from chelun.storage.events import NewEvent, now, record
    from chelun.storage.tables import Grievance

    calendar = calendar or calendar_for(database)
    examined = changed = still = skipped = 0
    after = 0
    while True:
        with database.connect() as connection:
            cases = connection.execute(
                select(
                    Grievance.id,
                    Grievance.province,
                    Grievance.ref,
                    Grievance.status,
                    Grievance.received_at,
                    Grievance.deadline_from,
                    Grievance.escalations,
                    Grievance.reopens,
                    Grievance.ack_days,
                    Grievance.ack_due,
                    Grievance.resolve_days,
                    Grievance.resolve_due,
                )
                .where(
                    Grievance.provisional.is_(True),
                    Grievance.status.in_(service.OPEN),
                    Grievance.id > after,
                )
                .order_by(Grievance.id)
                .limit(batch)
            ).all()
            if not cases:
                break
            after = cases[-1].id
            examined += len(cases)
            events = []
            for case in cases:
                start = case.deadline_from
                if start is None and case.escalations == 0 and case.reopens == 0:
                    start = beijing_date(case.received_at) if case.received_at else None
                if start is None or case.ack_days is None or case.resolve_days is None:
                    skipped += 1
                    continue
                ack = calendar.deadline(start, case.ack_days)
                resolve = calendar.deadline(start, case.resolve_days)
                provisional = ack.provisional or resolve.provisional
                if provisional:
                    still += 1
                if (ack.due, resolve.due, provisional) == (case.ack_due, case.resolve_due, True):
                    continue
                # Per-row updates: provisional deadlines are those of a few weeks' grievances
                # at the turn of a year, and each needs its own event only if its row changed.
                done = connection.execute(
                    update(Grievance)
                    .where(
                        Grievance.id == case.id,
                        Grievance.status == case.status,
                        Grievance.ack_due == case.ack_due,
                        Grievance.resolve_due == case.resolve_due,
                        Grievance.provisional.is_(True),
                    )
                    .values(
                        ack_due=ack.due,
                        resolve_due=resolve.due,
                        provisional=provisional,
                        deadline_from=start,
                        updated_at=now(),
                    )
                ).rowcount
                if done != 1:
                    continue
                changed += 1
                events.append(
                    NewEvent(
                        case.province,
                        actor,
                        service.ENTITY,
                        service.entity_key(case.province, case.ref),
                        "deadlines_recomputed",
                        _recomputed_reason(case.ack_due, case.resolve_due, ack.due, resolve.due)
                        + ("" if provisional else ", no longer provisional"),
                        {
                            "counted_from": start.isoformat(),
                            "ack_due": {"from": _iso(case.ack_due), "to": ack.due.isoformat()},
                            "resolve_due": {
                                "from": _iso(case.resolve_due),
                                "to": resolve.due.isoformat(),
                            },
                            "provisional": provisional,
                        },
                    )
                )
            record(connection, events)
    return RecomputeResult(examined, changed, still, skipped)


def _recomputed_reason(
    ack_was: dt.date | None, resolve_was: dt.date | None, ack: dt.date, resolve: dt.date
) -> str:
    moved = [
        f"{what} by {new} (was {_iso(old) or 'not set'})"
        for what, old, new in (("acknowledge", ack_was, ack), ("resolve", resolve_was, resolve))
        if old != new
    ]
    if not moved:
        return f"deadlines counted again with the holiday schedules: unchanged ({resolve})"
    return "deadlines counted again with the holiday schedules: " + "; ".join(moved)


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


# --- the command line --------------------------------------------------------------------------

calendar_app = command_group(
    "Working days: load the State Council's holiday schedule of a year, see a year's schedule "
    "(docs/grievances.md)."
)


def register_calendar(app: typer.Typer) -> None:
    """Add the ``calendar`` commands to the ``chelun`` command line."""
    app.add_typer(calendar_app, name="calendar")


@calendar_app.command("load")
@friendly
def calendar_load(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="The year's schedule as a TOML file (UTF-8).")
    ],
) -> None:
    """Load a year's holiday schedule, then count again the provisional deadlines of open
    grievances (of every province).

    The file mirrors the State Council's notice: year = 2027, source = "the notice's title",
    and per holiday a [[holiday]] table with name, first and last (the days off) and workdays
    (the make-up working Saturdays and Sundays, 调休). Loading a year again replaces its
    schedule; loading the same file again changes nothing.
    """
    if not file.is_file():
        raise fail(f"{file} does not exist or is not a file", 2)
    database = open_db(load_settings())
    try:
        loaded = load_schedule(database, file, actor="user:cli")
    except ScheduleError as exc:
        raise fail(str(exc)) from None
    for message in loaded.warnings:
        warn(message)
    what = (
        "already loaded, unchanged"
        if loaded.unchanged
        else ("replaced the schedule loaded before" if loaded.replaced else "loaded")
    )
    out.print(
        f"{file.name}: the {loaded.year} schedule {what}: {loaded.days_off} days off, "
        f"{loaded.make_up_days} make-up working days ({loaded.source})",
        highlight=False,
        soft_wrap=True,
    )
    counted = recompute_provisional(database, actor="user:cli")
    out.print(
        f"provisional deadlines: {counted.examined:,} open grievances examined, "
        f"{counted.changed:,} changed, {counted.still_provisional:,} still provisional, "
        f"{counted.skipped:,} skipped (no day to count from)",
        highlight=False,
        soft_wrap=True,
    )


@calendar_app.command("show")
@friendly
def calendar_show(
    year: Annotated[
        int | None,
        typer.Option(
            "--year", metavar="YYYY", min=FIRST_YEAR, max=LAST_YEAR, help="Default: this year."
        ),
    ] = None,
) -> None:
    """Show a year's holiday schedule: published or provisional, where it comes from, and its
    days off and make-up working days."""
    from rich.table import Table

    from chelun.calendar import BEIJING, beijing_date
    from chelun.storage.events import now

    year = year or beijing_date(now()).year
    view = describe_year(open_db(load_settings()), year)
    if view.status == "loaded":
        assert view.loaded_at is not None
        loaded_at = view.loaded_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
        heading = f"{year}: published, loaded {loaded_at} by {view.loaded_by} from: {view.source}"
    elif view.status == "published":
        heading = f"{year}: published (python-holidays carries the State Council's notice)"
    else:
        heading = (
            f"{year}: provisional: the statutory holidays by python-holidays' rules; make-up "
            "working days are unknown until the notice is loaded (chelun calendar load FILE)"
        )
    out.print(heading, highlight=False, soft_wrap=True)
    table = Table("day", "weekday", "kind", "holiday")
    for day, kind, name in view.days:
        table.add_row(
            day.isoformat(),
            WEEKDAYS[day.weekday()],
            "day off" if kind == "off" else "make-up working day",
            name,
        )
    out.print(table)
