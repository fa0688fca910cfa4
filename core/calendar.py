"""Working days (工作日) in mainland China, for deadlines counted the way government counts them.

Working days move with the holiday schedule the State Council publishes each year: statutory
holidays are off, and some weekends become make-up working days (调休). python-holidays keeps
both: ``country_holidays("CN")`` holds the days off, and ``weekend_workdays`` the make-up working
weekends of every year whose schedule it carries. For later years it computes the statutory
holidays by rule, but nobody knows their make-up weekends yet: a deadline falling in such a year
is *provisional* and may move by a day or two when the schedule is published.

An operator loads a published schedule the library does not carry yet (``chelun.schedules``):
a calendar built with it (``WorkingCalendar(schedules)``) takes the loaded days instead of the
library's rules for that year, and the year counts as published.

Dates here are calendar dates in Beijing time (Asia/Shanghai); ``beijing_date`` turns an instant
into one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo

import holidays
from holidays.countries.china import ChinaStaticHolidays

BEIJING = ZoneInfo("Asia/Shanghai")

#: Working days counted at most: a deadline further out than this is a mistake in a setting.
MAX_WORKING_DAYS = 2_000


@cache
def published_years() -> frozenset[int]:
    """The years whose holiday schedule (with its make-up working days) python-holidays carries.

    They are the years of its table of substituted days off (``ChinaStaticHolidays``): a year is
    there once the State Council's notice for it has been entered.
    """
    return frozenset(ChinaStaticHolidays.special_public_holidays)


@cache
def library_make_up_days(year: int) -> frozenset[dt.date]:
    """The make-up working days (调休) of a year's schedule in python-holidays: none for a year
    it computes by rule. Some may lie in the year before (2007's made 30 December 2006 one).

    python-holidays keeps one set of make-up days (``weekend_workdays``) holding every year's
    days that lie in the year before; the year's own table says which of them are its.
    """
    entries = ChinaStaticHolidays.special_public_holidays.get(year, ())
    if entries and not isinstance(entries[0], tuple):
        entries = (entries,)
    # A substituted day off is (month, day, from month, from day[, from year]): the working day
    # it was moved from is the make-up day, when it is a weekend day the library lists as such.
    moved = {
        dt.date(entry[4] if len(entry) == 5 else year, entry[2], entry[3])
        for entry in entries
        if len(entry) >= 4
    }
    return frozenset(moved & holidays.country_holidays("CN", years=year).weekend_workdays)


def library_holidays(year: int, *, observed: bool = True) -> dict[dt.date, str]:
    """python-holidays' days off of a year, named in Chinese: its published schedule, or the
    statutory holidays its rules compute (with ``observed``, the weekdays it adds for those
    falling on a weekend)."""
    days = holidays.country_holidays("CN", years=year, observed=observed, language="zh_CN")
    return dict(sorted(days.items()))


def beijing_date(instant: dt.datetime) -> dt.date:
    """The calendar date in Beijing of a timezone-aware instant."""
    if instant.tzinfo is None:
        raise ValueError("a timezone-aware datetime is needed to know the date in Beijing")
    return instant.astimezone(BEIJING).date()


def end_of_day(day: dt.date) -> dt.datetime:
    """The instant a day ends in Beijing (midnight starting the next day), in UTC."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), BEIJING).astimezone(dt.UTC)


@dataclass(frozen=True)
class Deadline:
    """A due date: the last day (Beijing time) and whether its year's schedule is published."""

    due: dt.date
    provisional: bool

    @property
    def ends_at(self) -> dt.datetime:
        """The instant the deadline passes: the end of the due day in Beijing, in UTC."""
        return end_of_day(self.due)


@dataclass(frozen=True)
class YearSchedule:
    """A year's holiday schedule as the State Council published it: the days off and the
    make-up working days (调休) it names. A make-up day may lie in the year before (a Saturday
    in late December before New Year); every other day of the year works iff Monday to Friday."""

    year: int
    off: frozenset[dt.date]
    work: frozenset[dt.date]


class WorkingCalendar:
    """China's working days: Monday to Friday except holidays, plus make-up working weekends.

    ``schedules`` are the years an operator loaded, by year: their days replace python-holidays'
    rules for those years, and those years count as published.
    """

    def __init__(self, schedules: Mapping[int, YearSchedule] | None = None) -> None:
        # Years are filled in as they are asked about (python-holidays' ``expand``).
        self._holidays = holidays.country_holidays("CN")
        self._loaded = frozenset(schedules or {})
        #: Each day a loaded schedule names: True for a make-up working day, False for a day off.
        self._listed: dict[dt.date, bool] = {}
        for year, schedule in (schedules or {}).items():
            if schedule.year != year:
                raise ValueError(f"the schedule given for {year} is the {schedule.year} schedule")
            days = dict.fromkeys(schedule.off, False) | dict.fromkeys(schedule.work, True)
            if len(days) < len(schedule.off) + len(schedule.work):
                both = min(schedule.off & schedule.work)
                raise ValueError(f"the {year} schedule makes {both} both off and working")
            for day, working in days.items():
                if self._listed.setdefault(day, working) is not working:
                    raise ValueError(f"two loaded schedules disagree about {day}")

    @property
    def loaded_years(self) -> frozenset[int]:
        """The years whose schedule an operator loaded."""
        return self._loaded

    def is_working_day(self, day: dt.date) -> bool:
        listed = self._listed.get(day)
        if listed is not None:
            return listed
        # A year's schedule may make a weekend at the end of the year before a working day
        # (2007's made 30 and 31 December 2006 working days): look at next year's schedule too,
        # unless an operator loaded that year, whose days are all listed.
        if day.year + 1 not in self._loaded and day in library_make_up_days(day.year + 1):
            return True
        if day.year in self._loaded:
            return day.weekday() < 5
        if day in library_make_up_days(day.year):
            return True
        return day.weekday() < 5 and day not in self._holidays

    def is_published(self, year: int) -> bool:
        """Whether the year's schedule, make-up working days included, is known: the library
        carries it, or an operator loaded it."""
        return year in published_years() or year in self._loaded

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """The ``days``-th working day after ``start`` (``start`` itself not counted).

        With ``days`` 0, ``start`` itself.
        """
        if not 0 <= days <= MAX_WORKING_DAYS:
            raise ValueError(f"working days must be between 0 and {MAX_WORKING_DAYS}, not {days}")
        day = start
        counted = 0
        while counted < days:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return day

    def deadline(self, start: dt.date, days: int) -> Deadline:
        """The deadline ``days`` working days after ``start``: provisional when the due date lies
        in a year without a published schedule (its make-up working days are not known yet)."""
        due = self.add_working_days(start, days)
        return Deadline(due, not self.is_published(due.year))


@cache
def working_calendar() -> WorkingCalendar:
    """The shared calendar (holiday tables are built once per year asked about)."""
    return WorkingCalendar()
