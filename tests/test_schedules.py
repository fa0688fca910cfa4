"""Holiday schedules an operator loads: the file's checks, storing a year, the calendar built
from what is stored, provisional grievance deadlines counted again, and ``chelun calendar``."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from chelun.calendar import published_years, working_calendar
from chelun.commands import command_group
from chelun.schedules import (
    MAX_FILE_BYTES,
    ScheduleError,
    calendar_for,
    describe_year,
    load_schedule,
    read_schedule,
    recompute_provisional,
    register_calendar,
)
from chelun.settings import Settings
from chelun.storage.db import Database, open_database
from chelun.storage.tables import Event, Grievance, HolidayDay, HolidaySchedule

from .grievance.conftest import service_for, write_csv

D = dt.date
SOURCE = "国务院办公厅关于2027年部分节假日安排的通知 (国办发明电〔2026〕N号)"
# A plausible notice for 2027 (Spring Festival: 6 February). New Year's Day is a Friday: the
# holiday bridges Thursday 31 December 2026, made up by Saturday 26 December 2026.
NOTICE_2027 = f"""\
year = 2027
source = "{SOURCE}"

[[holiday]]
name = "元旦"
first = 2026-12-31
last = 2027-01-03
workdays = [2026-12-26]

[[holiday]]
name = "春节"
first = 2027-02-05
last = 2027-02-13
workdays = [2027-02-14, 2027-02-20]   # make-up working days (调休)

[[holiday]]
name = "清明节"
first = 2027-04-03
last = 2027-04-05

[[holiday]]
name = "劳动节"
first = 2027-05-01
last = 2027-05-05
workdays = [2027-04-25]

[[holiday]]
name = "端午节"
first = 2027-06-09
last = 2027-06-09

[[holiday]]
name = "中秋节"
first = 2027-09-15
last = 2027-09-15

[[holiday]]
name = "国庆节"
first = 2027-10-01
last = 2027-10-07
workdays = [2027-09-26, 2027-10-09]
"""
NATIONAL_DAY = """
[[holiday]]
name = "国庆节"
first = 2027-10-01
last = 2027-10-07
workdays = [2027-09-26, 2027-10-09]
"""
# A December grievance with 15 working days runs into 2027: by python-holidays' rules it is due
# on 19 January, provisional; the notice takes 31 December off as well, so it is due a day later.
RECEIVED = D(2026, 12, 28)
DUE_BY_RULES, DUE_BY_NOTICE = D(2027, 1, 19), D(2027, 1, 20)
# Texts the default classifier files under pay arrears and parking (15 working days).
PAY = "货主拖欠运费三个月没有结算"
PARKING = "服务区晚上车位全满，只能停在匝道边上"


@pytest.fixture(autouse=True, scope="module")
def _2027_is_not_published() -> None:
    assert 2027 not in published_years(), (
        "python-holidays now carries 2027's schedule: move these tests to a year it does not"
    )


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def notice(tmp_path: Path) -> Path:
    return write(tmp_path / "2027.toml", NOTICE_2027)


def stored(database: Database) -> tuple[list[tuple[int, str]], list[tuple[dt.date, int, str]]]:
    with database.engine.connect() as connection:
        schedules = connection.execute(
            select(HolidaySchedule.year, HolidaySchedule.source).order_by(HolidaySchedule.year)
        ).all()
        days = connection.execute(
            select(HolidayDay.day, HolidayDay.year, HolidayDay.kind).order_by(HolidayDay.day)
        ).all()
    return [tuple(row) for row in schedules], [tuple(row) for row in days]


def events(database: Database, entity: str, kind: str | None = None) -> list[Event]:
    query = select(Event).where(Event.entity == entity)
    if kind is not None:
        query = query.where(Event.kind == kind)
    with database.sessions() as session:
        return list(session.scalars(query.order_by(Event.id)))


# --- the file ----------------------------------------------------------------------------------


def test_the_2027_notice_reads_as_its_days_off_and_make_up_days(notice: Path) -> None:
    schedule = read_schedule(notice)
    assert (schedule.year, schedule.source, schedule.warnings) == (2027, SOURCE, ())
    assert [holiday.name for holiday in schedule.holidays] == [
        "元旦",
        "春节",
        "清明节",
        "劳动节",
        "端午节",
        "中秋节",
        "国庆节",
    ]
    days = schedule.days()
    assert days[D(2026, 12, 26)] == ("work", "元旦")
    assert days[D(2026, 12, 31)] == ("off", "元旦")
    assert days[D(2027, 2, 20)] == ("work", "春节")
    assert all(days[D(2027, 2, 5) + dt.timedelta(n)] == ("off", "春节") for n in range(9))
    assert sum(kind == "work" for kind, _ in days.values()) == 6
    assert sum(kind == "off" for kind, _ in days.values()) == 30


def test_a_statutory_holiday_the_file_leaves_out_is_a_warning_not_an_error(
    database: Database, tmp_path: Path
) -> None:
    path = write(tmp_path / "no-national-day.toml", NOTICE_2027.replace(NATIONAL_DAY, ""))
    result = load_schedule(database, path, actor="user:test")
    assert len(result.warnings) == 1
    (warning,) = result.warnings
    assert warning.startswith(f"{path}: 国庆节 (2027-10-01, 2027-10-02, 2027-10-03)")
    assert "\n" not in warning
    assert stored(database)[0] == [(2027, SOURCE)]


BAD_FILES: list[tuple[str, str, str]] = [
    ("not-toml", NOTICE_2027.replace('name = "春节"', "name = 春节"), "not TOML: "),
    ("no-year", NOTICE_2027.replace("year = 2027\n", ""), "year is missing"),
    ("year-1999", NOTICE_2027.replace("year = 2027", "year = 1999"), "year 1999 is outside"),
    ("year-2101", NOTICE_2027.replace("year = 2027", "year = 2101"), "year 2101 is outside"),
    ("year-text", NOTICE_2027.replace("year = 2027", 'year = "2027"'), "must be a whole number"),
    (
        "reversed",
        NOTICE_2027.replace(
            "first = 2027-04-03\nlast = 2027-04-05", "first = 2027-04-05\nlast = 2027-04-03"
        ),
        "holiday 3 (清明节): last day 2027-04-03 is before the first 2027-04-05",
    ),
    (
        "after-the-year",
        NOTICE_2027.replace(
            "first = 2027-09-15\nlast = 2027-09-15", "first = 2028-09-15\nlast = 2028-09-15"
        ),
        "holiday 6 (中秋节): 2028-09-15 is outside 2026-12-01 to 2028-01-31",
    ),
    (
        "before-the-year",
        NOTICE_2027.replace("first = 2026-12-31", "first = 2026-11-30"),
        "holiday 1 (元旦): 2026-11-30 is outside",
    ),
    (
        "too-long",
        NOTICE_2027.replace("last = 2027-02-13", "last = 2027-02-24"),
        "holiday 2 (春节): 2027-02-05 to 2027-02-24 is 20 days, longer than 15",
    ),
    (
        "make-up-monday",
        NOTICE_2027.replace("[2027-02-14, 2027-02-20]", "[2027-02-15]"),
        "make-up working day 2027-02-15 is a Monday, not a Saturday or Sunday",
    ),
    (
        "make-up-twice",
        NOTICE_2027.replace("[2027-04-25]", "[2027-04-25, 2027-02-20]"),
        "2027-02-20 is listed twice (in 春节 and in 劳动节)",
    ),
    (
        "make-up-inside-a-range",
        NOTICE_2027.replace("[2027-02-14, 2027-02-20]", "[2027-02-06]"),
        "2027-02-06 is listed twice (in 春节)",
    ),
    (
        "ranges-overlap",
        NOTICE_2027.replace("2027-06-09", "2027-05-05"),
        "2027-05-05 is listed twice (in 劳动节 and in 端午节)",
    ),
    (
        "unknown-key",
        NOTICE_2027.replace("year = 2027", "year = 2027\nmonth = 1"),
        "unknown key 'month' (allowed: year, source, holiday)",
    ),
    (
        "unknown-holiday-key",
        NOTICE_2027.replace("workdays = [2027-04-25]", "workday = [2027-04-25]"),
        "holiday 4 (劳动节): unknown key 'workday'",
    ),
    (
        "quoted-date",
        NOTICE_2027.replace("first = 2027-06-09", 'first = "2027-06-09"'),
        "holiday 5 (端午节): first must be a date such as 2027-02-05 (no quotes)",
    ),
    ("no-source", NOTICE_2027.replace(f'source = "{SOURCE}"\n', ""), "source must name"),
    ("no-holidays", f'year = 2027\nsource = "{SOURCE}"\n', "no holidays"),
    ("too-big", NOTICE_2027 + "#" * MAX_FILE_BYTES, "over 64 KiB"),
]


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES]
)
def test_a_bad_file_is_refused_in_one_line_naming_the_file(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path / "bad.toml", text)
    with pytest.raises(ScheduleError) as caught:
        read_schedule(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message


def test_a_file_not_in_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "gbk.toml"
    path.write_bytes(NOTICE_2027.encode("gb18030"))
    with pytest.raises(ScheduleError, match=r"gbk\.toml: not UTF-8 text"):
        read_schedule(path)


# --- storing -----------------------------------------------------------------------------------


def test_a_bad_file_stores_nothing_and_the_schedule_loaded_before_stays(
    database: Database, notice: Path, tmp_path: Path
) -> None:
    load_schedule(database, notice, actor="user:test")
    before = stored(database)
    for name, text, expected in BAD_FILES:
        path = write(tmp_path / f"{name}.toml", text)
        with pytest.raises(ScheduleError, match=expected.replace("(", r"\(").replace(")", r"\)")):
            load_schedule(database, path, actor="user:test")
    # A 2026 notice naming a day the 2027 one names: refused in one line, nothing stored.
    clash = write(
        tmp_path / "2026.toml",
        'year = 2026\nsource = "2026"\n[[holiday]]\nname = "元旦"\n'
        "first = 2026-12-31\nlast = 2026-12-31\n",
    )
    with pytest.raises(ScheduleError) as caught:
        load_schedule(database, clash, actor="user:test")
    assert str(caught.value).startswith(f"{clash}: 2026-12-31 is a day of the 2027 schedule")
    assert stored(database) == before
    assert [event.kind for event in events(database, "holiday_schedule")] == ["loaded"]


def test_loading_the_same_file_twice_changes_nothing_more(database: Database, notice: Path) -> None:
    first = load_schedule(database, notice, actor="user:test")
    assert (first.year, first.days_off, first.make_up_days) == (2027, 30, 6)
    assert not first.replaced and not first.unchanged
    with database.engine.connect() as connection:
        loaded_at = connection.execute(select(HolidaySchedule.loaded_at)).scalar_one()
    before = stored(database)
    again = load_schedule(database, notice, actor="user:other")
    assert again.unchanged and not again.replaced
    assert stored(database) == before
    with database.engine.connect() as connection:
        row = connection.execute(select(HolidaySchedule.loaded_at, HolidaySchedule.loaded_by))
        assert tuple(row.one()) == (loaded_at, "user:test")
    (event,) = events(database, "holiday_schedule")
    assert (event.entity_key, event.kind, event.actor) == ("2027", "loaded", "user:test")
    assert event.data == {"year": 2027, "source": SOURCE, "days_off": 30, "make_up_days": 6}


def test_a_corrected_notice_replaces_the_year_loaded_before(
    database: Database, notice: Path, tmp_path: Path
) -> None:
    load_schedule(database, notice, actor="user:test")
    corrected = write(
        tmp_path / "2027-corrected.toml",
        NOTICE_2027.replace("[2027-09-26, 2027-10-09]", "[2027-09-25, 2027-10-10]").replace(
            "N号", "7号"
        ),
    )
    result = load_schedule(database, corrected, actor="user:test")
    assert result.replaced and not result.unchanged
    schedules, days = stored(database)
    assert schedules == [(2027, SOURCE.replace("N号", "7号"))]
    work = {day for day, _, kind in days if kind == "work"}
    assert {D(2027, 9, 25), D(2027, 10, 10)} <= work
    assert not {D(2027, 9, 26), D(2027, 10, 9)} & work
    assert len(days) == 36
    assert [e.kind for e in events(database, "holiday_schedule")] == ["loaded", "replaced"]
    assert calendar_for(database).is_working_day(D(2027, 10, 10))
    assert not calendar_for(database).is_working_day(D(2027, 10, 9))


def test_a_loaded_year_is_published_and_its_make_up_days_work(
    database: Database, notice: Path
) -> None:
    before = calendar_for(database)
    assert before.deadline(RECEIVED, 15) == working_calendar().deadline(RECEIVED, 15)
    assert before.deadline(RECEIVED, 15).due == DUE_BY_RULES
    assert before.deadline(RECEIVED, 15).provisional
    assert not before.is_working_day(D(2027, 2, 20))  # a Saturday
    assert not before.is_working_day(D(2026, 12, 26))  # a Saturday

    load_schedule(database, notice, actor="user:test")
    after = calendar_for(database)
    assert after.is_published(2027) and not after.is_published(2028)
    deadline = after.deadline(RECEIVED, 15)
    assert (deadline.due, deadline.provisional) == (DUE_BY_NOTICE, False)
    assert after.is_working_day(D(2027, 2, 20))  # make-up Saturday of the Spring Festival
    assert after.is_working_day(D(2026, 12, 26))  # make-up Saturday in the year before
    assert not after.is_working_day(D(2026, 12, 31))
    assert not after.is_working_day(D(2027, 2, 12))  # a Friday of the Spring Festival
    assert after.is_working_day(D(2027, 3, 1)) and not after.is_working_day(D(2027, 3, 6))
    # Working days of the library-published year 2026 stay as they were.
    assert after.is_working_day(D(2026, 10, 10)) and not after.is_working_day(D(2026, 10, 7))

    view = describe_year(database, 2027)
    assert (view.status, view.source, view.loaded_by) == ("loaded", SOURCE, "user:test")
    assert (D(2026, 12, 26), "work", "元旦") in view.days
    assert describe_year(database, 2026).status == "published"
    assert describe_year(database, 2040).status == "provisional"


# --- provisional deadlines counted again -------------------------------------------------------


def test_provisional_deadlines_move_where_the_loaded_schedule_says(
    database: Database, notice: Path, tmp_path: Path
) -> None:
    sichuan = service_for(database, "51")
    rows = [
        {"ref": ref, "received_at": "2026-12-28 09:00", "text": PAY, "county": "510107"}
        for ref in ("DEC", "OLD", "ESCALATED", "RESOLVED")
    ]
    rows.append(
        {"ref": "OCT", "received_at": "2026-09-30 10:00", "text": PARKING, "county": "510104"}
    )
    sichuan.import_file(write_csv(tmp_path / "51.csv", rows))
    guizhou = service_for(database, "52")
    guizhou.import_file(
        write_csv(
            tmp_path / "52.csv",
            [{"ref": "GZ", "received_at": "2026-12-28 18:00", "text": PAY, "county": "520102"}],
        )
    )
    assert sichuan.route_pending() == 5 and guizhou.route_pending() == 1
    case = sichuan.get("DEC")
    assert (case.resolve_days, case.resolve_due, case.provisional) == (15, DUE_BY_RULES, True)
    ack_due = case.ack_due
    assert ack_due == working_calendar().deadline(RECEIVED, case.ack_days).due
    # A grievance stored before deadline_from existed, one escalated then (its deadlines run
    # from a day nobody kept), and one resolved (its deadlines no longer matter).
    with database.connect() as connection:
        for ref, values in (
            ("OLD", {"deadline_from": None}),
            ("ESCALATED", {"deadline_from": None, "escalations": 1}),
        ):
            connection.execute(
                update(Grievance)
                .where(Grievance.province == "51", Grievance.ref == ref)
                .values(**values)
            )
    sichuan.acknowledge("RESOLVED")
    sichuan.resolve("RESOLVED")

    load_schedule(database, notice, actor="user:test")
    result = recompute_provisional(database, actor="user:operator", batch=2)

    assert (result.examined, result.changed, result.still_provisional, result.skipped) == (
        4,
        3,
        0,
        1,
    )
    for service, ref in ((sichuan, "DEC"), (sichuan, "OLD"), (guizhou, "GZ")):
        case = service.get(ref)
        assert (case.ack_due, case.resolve_due, case.provisional) == (
            ack_due,
            DUE_BY_NOTICE,
            False,
        ), ref
        assert case.deadline_from == RECEIVED
        event = service.history(ref)[-1]
        assert (event.kind, event.actor) == ("deadlines_recomputed", "user:operator")
        assert event.data == {
            "counted_from": "2026-12-28",
            "ack_due": {"from": ack_due.isoformat(), "to": ack_due.isoformat()},
            "resolve_due": {"from": "2027-01-19", "to": "2027-01-20"},
            "provisional": False,
        }
        assert "resolve by 2027-01-20 (was 2027-01-19)" in event.reason
    for ref in ("ESCALATED", "RESOLVED"):
        case = sichuan.get(ref)
        assert (case.resolve_due, case.provisional) == (DUE_BY_RULES, True), ref
        assert "deadlines_recomputed" not in [event.kind for event in sichuan.history(ref)]
    assert sichuan.get("OCT").resolve_due == working_calendar().deadline(D(2026, 9, 30), 15).due

    # Loading the same file again and counting again changes nothing more.
    assert load_schedule(database, notice, actor="user:test").unchanged
    again = recompute_provisional(database, actor="user:operator")
    assert (again.examined, again.changed, again.still_provisional, again.skipped) == (1, 0, 0, 1)
    assert len(events(database, "grievance", "deadlines_recomputed")) == 3


def test_deadlines_still_in_a_year_without_a_schedule_stay_provisional(
    database: Database, notice: Path, tmp_path: Path
) -> None:
    service = service_for(database, "51")
    service.import_file(
        write_csv(
            tmp_path / "g.csv",
            [{"ref": "LATE", "received_at": "2027-12-20 09:00", "text": PAY, "county": "510107"}],
        )
    )
    service.route_pending()
    before = service.get("LATE")
    assert before.provisional
    load_schedule(database, notice, actor="user:test")
    result = recompute_provisional(database, actor="user:test")
    assert (result.examined, result.still_provisional) == (1, 1)
    after = service.get("LATE")
    assert after.provisional and after.resolve_due.year == 2028
    # Counted again through the loaded days of late December 2027: nothing there differs from
    # the rules, so nothing changed and nothing was recorded.
    assert (result.changed, after.resolve_due) == (0, before.resolve_due)
    assert events(database, "grievance", "deadlines_recomputed") == []


# --- the command line --------------------------------------------------------------------------


@pytest.fixture
def cli() -> typer.Typer:
    app = command_group("test")
    register_calendar(app)
    return app


def test_calendar_load_then_show_end_to_end(cli: typer.Typer, notice: Path, tmp_path: Path) -> None:
    database = open_database(Settings())
    try:
        service = service_for(database, "51")
        service.import_file(
            write_csv(
                tmp_path / "g.csv",
                [{"ref": "DEC", "received_at": "2026-12-28 09:00", "text": PAY}],
            )
        )
        service.route_pending()
        assert service.get("DEC").provisional
        runner = CliRunner()

        loaded = runner.invoke(cli, ["calendar", "load", str(notice)])
        assert loaded.exit_code == 0, loaded.output
        lines = loaded.stdout.splitlines()
        assert lines[0].startswith("2027.toml: the 2027 schedule loaded: 30 days off, 6 make-up")
        assert lines[1] == (
            "provisional deadlines: 1 open grievances examined, 1 changed, 0 still provisional, "
            "0 skipped (no day to count from)"
        )
        assert loaded.stderr == ""
        case = service.get("DEC")
        assert (case.resolve_due, case.provisional) == (DUE_BY_NOTICE, False)

        again = runner.invoke(cli, ["calendar", "load", str(notice)])
        assert again.exit_code == 0
        assert "already loaded, unchanged" in again.stdout
        assert "0 open grievances examined, 0 changed" in again.stdout

        shown = runner.invoke(cli, ["calendar", "show", "--year", "2027"])
        assert shown.exit_code == 0, shown.output
        assert shown.stdout.startswith("2027: published, loaded ")
        assert SOURCE in shown.stdout
        assert "2026-12-26" in shown.stdout and "2027-02-20" in shown.stdout
        assert "make-up working day" in shown.stdout

        provisional = runner.invoke(cli, ["calendar", "show", "--year", "2040"])
        assert provisional.exit_code == 0
        assert provisional.stdout.startswith("2040: provisional")
        assert "2040-10-01" in provisional.stdout
    finally:
        database.dispose()


def test_calendar_load_warns_on_stderr_and_refuses_a_bad_file_in_one_line(
    cli: typer.Typer, tmp_path: Path
) -> None:
    runner = CliRunner()
    partial = write(tmp_path / "partial.toml", NOTICE_2027.replace(NATIONAL_DAY, ""))
    warned = runner.invoke(cli, ["calendar", "load", str(partial)])
    assert warned.exit_code == 0, warned.output
    assert warned.stderr.startswith(f"warning: {partial}: 国庆节 (2027-10-01")
    assert len(warned.stderr.splitlines()) == 1

    bad = write(tmp_path / "bad.toml", NOTICE_2027.replace("year = 2027\n", ""))
    refused = runner.invoke(cli, ["calendar", "load", str(bad)])
    assert refused.exit_code == 1
    assert refused.stderr == f"error: {bad}: year is missing (e.g. year = 2027)\n"
    assert refused.stdout == ""

    missing = runner.invoke(cli, ["calendar", "load", str(tmp_path / "nowhere.toml")])
    assert missing.exit_code == 2
    assert "does not exist" in missing.stderr

    database = open_database(Settings())
    try:
        assert stored(database)[0] == [(2027, SOURCE)]
        with database.engine.connect() as connection:
            count = connection.execute(select(func.count()).select_from(HolidayDay)).scalar()
        assert count == 36 - 9  # without National Day's 7 days off and 2 make-up days
    finally:
        database.dispose()


def test_importing_the_commands_loads_neither_sqlalchemy_nor_python_holidays() -> None:
    # ``chelun --help`` imports this module: it must stay as quick to start as the rest.
    probe = (
        "import sys, chelun.schedules; "
        "print(sorted(m for m in ('sqlalchemy', 'holidays') if m in sys.modules))"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert found.stdout.strip() == "[]"
