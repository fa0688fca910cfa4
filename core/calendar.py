"""Working days (工作日) in mainland China, for deadlines counted the way government counts them.

Working days move with the holiday schedule the State Council publishes each year: statutory
holidays are off, and some weekends become make-up working days (调休). python-holidays keeps
both: ``country_holidays("CN")`` holds the days off, and ``weekend_workdays`` the make-up working
weekends of every year whose schedule it carries. For later years it computes the statutory
holidays by rule, but nobody knows their make-up weekends yet: a deadline falling in such a year
is *provisional* and may move by a day or two when the schedule is published.

Dates here are calendar dates in Beijing time (Asia/Shanghai); ``beijing_date`` turns an instant
into one.
"""

from __future__ import annotations

import datetime as dt
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


class WorkingCalendar:
    """China's working days: Monday to Friday except holidays, plus make-up working weekends."""

    def __init__(self) -> None:
        # Years are filled in as they are asked about (python-holidays' ``expand``).
        self._holidays = holidays.country_holidays("CN")

    def is_working_day(self, day: dt.date) -> bool:
        off = day in self._holidays
        # A year's schedule may make a weekend at the end of the year before a working day
        # (2007's made 30 and 31 December 2006 working days): look at next year's schedule too.
        dt.date(day.year + 1, 1, 1) in self._holidays  # noqa: B015 - fills in the next year
        if day in self._holidays.weekend_workdays:
            return True
        return day.weekday() < 5 and not off

    def is_published(self, year: int) -> bool:
        """Whether the year's schedule, make-up working days included, is known."""
        return year in published_years()

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
