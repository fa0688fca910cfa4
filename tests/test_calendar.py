"""Working days: python-holidays' schedules, make-up working weekends, provisional years."""

from __future__ import annotations

import datetime as dt

import holidays
import pytest

from chelun.calendar import (
    BEIJING,
    Deadline,
    WorkingCalendar,
    YearSchedule,
    beijing_date,
    end_of_day,
    library_make_up_days,
    published_years,
    working_calendar,
)

CN_2026 = holidays.country_holidays("CN", years=2026, language="en_US")


def test_the_2026_spring_festival_make_up_saturdays_are_working_days() -> None:
    # The facts come from python-holidays itself: the weekend days its 2026 schedule makes
    # working days around the Spring Festival (February).
    make_up = sorted(day for day in CN_2026.weekend_workdays if day.year == 2026 and day.month == 2)
    assert make_up, "python-holidays names no make-up working day in February 2026"
    calendar = working_calendar()
    for day in make_up:
        assert day.weekday() == 5, f"{day} is not a Saturday"
        assert calendar.is_working_day(day)


def test_every_2026_holiday_is_off_and_every_other_weekday_works() -> None:
    calendar = working_calendar()
    day = dt.date(2026, 1, 1)
    while day.year == 2026:
        expected = day in CN_2026.weekend_workdays or (day.weekday() < 5 and day not in CN_2026)
        assert calendar.is_working_day(day) is expected, day
        day += dt.timedelta(days=1)


def test_spring_festival_2026_days_are_not_working_days() -> None:
    festival = [
        day
        for day, name in CN_2026.items()
        if day.month == 2 and ("Chinese New Year" in name or "substituted" in name)
    ]
    assert len(festival) >= 5, festival
    assert not any(working_calendar().is_working_day(day) for day in festival)


def test_a_december_2026_deadline_of_15_working_days_lands_in_january_2027() -> None:
    deadline = working_calendar().deadline(dt.date(2026, 12, 28), 15)
    assert deadline.due.year == 2027 and deadline.due.month == 1
    assert deadline.provisional is (2027 not in published_years())


def test_the_day_received_is_not_counted_and_national_day_2026_is_skipped() -> None:
    # 30 September 2026: 1 to 7 October off, Saturday 10 October a make-up working day.
    calendar = working_calendar()
    assert calendar.add_working_days(dt.date(2026, 9, 30), 1) == dt.date(2026, 10, 8)
    assert calendar.is_working_day(dt.date(2026, 10, 10))
    deadline = calendar.deadline(dt.date(2026, 9, 30), 15)
    assert deadline == deadline.__class__(dt.date(2026, 10, 27), provisional=False)


def test_zero_days_is_the_day_itself_and_negative_days_are_refused() -> None:
    calendar = working_calendar()
    assert calendar.add_working_days(dt.date(2026, 5, 1), 0) == dt.date(2026, 5, 1)
    with pytest.raises(ValueError):
        calendar.add_working_days(dt.date(2026, 5, 1), -1)


def test_published_years_are_those_with_a_schedule() -> None:
    assert 2026 in published_years()
    assert 2100 not in published_years()
    assert working_calendar().deadline(dt.date(2040, 6, 1), 10).provisional


def test_a_deadline_ends_at_midnight_beijing_time() -> None:
    ends = end_of_day(dt.date(2026, 10, 27))
    assert ends == dt.datetime(2026, 10, 27, 16, 0, tzinfo=dt.UTC)
    assert beijing_date(dt.datetime(2026, 10, 27, 15, 59, tzinfo=dt.UTC)) == dt.date(2026, 10, 27)
    assert beijing_date(ends) == dt.date(2026, 10, 28)
    assert ends.astimezone(BEIJING).hour == 0
    with pytest.raises(ValueError):
        beijing_date(dt.datetime(2026, 10, 27, 12, 0))


# --- schedules loaded by an operator -----------------------------------------------------------

D = dt.date
# A short 2027 schedule: New Year's Day bridged to Thursday 31 December 2026, made up by
# Saturday 26 December 2026; the Spring Festival's Saturday 20 February a make-up day.
LOADED_2027 = YearSchedule(
    2027,
    off=frozenset({D(2026, 12, 31), D(2027, 1, 1), D(2027, 2, 5), D(2027, 2, 12)}),
    work=frozenset({D(2026, 12, 26), D(2027, 2, 20)}),
)


def test_a_loaded_year_replaces_the_rules_for_that_year() -> None:
    assert 2027 not in published_years(), "python-holidays carries 2027: pick a later year"
    calendar = WorkingCalendar({2027: LOADED_2027})
    assert calendar.is_published(2027) and calendar.loaded_years == {2027}
    assert not calendar.is_published(2028)
    assert calendar.is_working_day(D(2027, 2, 20))  # a make-up Saturday
    assert calendar.is_working_day(D(2026, 12, 26))  # one in the year before
    assert not calendar.is_working_day(D(2026, 12, 31))
    assert not calendar.is_working_day(D(2027, 2, 12))
    # 8 February 2027 is a Spring Festival day by the rules; this schedule does not list it.
    assert not working_calendar().is_working_day(D(2027, 2, 8))
    assert calendar.is_working_day(D(2027, 2, 8))
    assert not calendar.is_working_day(D(2027, 2, 13))  # an ordinary Saturday
    assert calendar.deadline(D(2026, 12, 28), 15) == Deadline(D(2027, 1, 20), provisional=False)
    assert working_calendar().deadline(D(2026, 12, 28), 15).due == D(2027, 1, 19)


def test_without_loaded_schedules_the_calendar_is_the_librarys() -> None:
    assert WorkingCalendar().loaded_years == frozenset()
    assert not working_calendar().is_working_day(D(2026, 12, 26))
    day = D(2025, 12, 1)
    while day < D(2027, 3, 1):
        assert WorkingCalendar({}).is_working_day(day) is working_calendar().is_working_day(day)
        day += dt.timedelta(days=1)


def test_a_loaded_year_drops_the_librarys_make_up_days_in_the_year_before() -> None:
    # python-holidays' 2007 schedule made Saturday 30 December 2006 a working day; a loaded 2007
    # schedule that does not list it leaves it a Saturday off.
    assert D(2006, 12, 30) in library_make_up_days(2007)
    assert working_calendar().is_working_day(D(2006, 12, 30))
    loaded = YearSchedule(2007, off=frozenset({D(2007, 1, 1)}), work=frozenset())
    assert not WorkingCalendar({2007: loaded}).is_working_day(D(2006, 12, 30))
    assert library_make_up_days(2040) == frozenset()


def test_schedules_that_contradict_themselves_or_each_other_are_refused() -> None:
    with pytest.raises(ValueError, match="2028 schedule"):
        WorkingCalendar({2027: YearSchedule(2028, frozenset(), frozenset())})
    with pytest.raises(ValueError, match="both off and working"):
        WorkingCalendar(
            {2027: YearSchedule(2027, frozenset({D(2027, 1, 2)}), frozenset({D(2027, 1, 2)}))}
        )
    clash = YearSchedule(2026, off=frozenset({D(2026, 12, 26)}), work=frozenset())
    with pytest.raises(ValueError, match="disagree about 2026-12-26"):
        WorkingCalendar({2026: clash, 2027: LOADED_2027})
