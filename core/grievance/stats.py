"""Grievance statistics, computed from the stored grievances and their events.

The three rates the 12345 hotlines report, each with its denominator, beside the pilot's own:

- closure (办结率): grievances resolved or closed, of those accepted (collected, less rejected
  and merged);
- timely handling (及时处办率): grievances routed that were never escalated for a missed
  deadline and are not past one now, of those routed;
- satisfaction (满意率): drivers' answers "satisfied", of all answers given when closing.

Figures are grouped by province, city, county, category, month or ISO week. Every figure of a
group is about the grievances of that group: the satisfaction of the grievances received in
March is that of the answers to them, whenever the answers came. All groups and the total are
counted in one pass over the same rows, so they always add up.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from sqlalchemy import Row, select

from chelun.calendar import BEIJING, beijing_date
from chelun.outputs import SafeCsvWriter
from chelun.storage.db import Database
from chelun.storage.tables import Driver, Event, Grievance

DONE = ("resolved", "closed")
OPEN = ("routed", "in_progress", "reopened")
#: What figures can be grouped by: ``period`` is the month received (``YYYY-MM``), ``week`` the
#: ISO week received (``YYYY-Www``), both in Beijing time.
GROUPINGS = ("province", "city", "county", "category", "period", "week")
#: The group of grievances whose county, category or time received is not known.
UNKNOWN = "unknown"
UNCLASSIFIED = "unclassified"
#: The group name of the total row, always the last.
ALL = "all"
#: The columns of ``figure_rows``, in order: each rate follows its part and its denominator.
COLUMNS = (
    "group",
    "collected",
    "accepted",
    "resolved",
    "resolution_rate",
    "routed",
    "timely",
    "timely_rate",
    "answers",
    "satisfied",
    "satisfaction_rate",
    "median_days_to_resolve",
    "overdue",
    "escalated",
    "quarantined",
)


@dataclass
class Figures:
    """The figures of one group of grievances (a province, a county, a category, a month ...)."""

    collected: int = 0
    quarantined: int = 0
    rejected_or_merged: int = 0
    routed: int = 0
    resolved: int = 0
    timely: int = 0
    overdue: int = 0
    escalated: int = 0
    answers: int = 0
    satisfied: int = 0
    days_to_resolve: list[float] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.collected - self.rejected_or_merged

    @property
    def median_days(self) -> float | None:
        return statistics.median(self.days_to_resolve) if self.days_to_resolve else None


def rate(part: int, whole: int) -> str:
    return f"{part / whole:.1%} ({part}/{whole})" if whole else f"- ({part}/0)"


def fraction(part: int, whole: int) -> float | None:
    """A rate as a number from 0 to 1 (four decimals), None when the denominator is 0."""
    return round(part / whole, 4) if whole else None


def _month(case: Row[Any]) -> str:
    received = case.received_at
    return received.astimezone(BEIJING).strftime("%Y-%m") if received else UNKNOWN


def _week(case: Row[Any]) -> str:
    if case.received_at is None:
        return UNKNOWN
    year, week, _ = case.received_at.astimezone(BEIJING).isocalendar()
    return f"{year}-W{week:02d}"


def _county(case: Row[Any]) -> str:
    return case.county or case.home_county or UNKNOWN


def _city(case: Row[Any]) -> str:
    county = _county(case)
    return county[:4] + "00" if county != UNKNOWN else UNKNOWN


def _key(by: str, province: str) -> Callable[[Row[Any]], str]:
    """The group of a grievance's row, for grouping ``by``."""
    keys: dict[str, Callable[[Row[Any]], str]] = {
        "province": lambda case: province,
        "city": _city,
        "county": _county,
        "category": lambda case: case.category or UNCLASSIFIED,
        "period": _month,
        "week": _week,
    }
    if by not in keys:
        raise ValueError(f"cannot group grievances by {by!r}: one of {', '.join(GROUPINGS)}")
    return keys[by]


def grouped_stats(
    database: Database, province: str, at: dt.datetime, by: str = "category"
) -> tuple[Figures, dict[str, Figures]]:
    """The province's figures, and the figures of each group ``by`` (one of ``GROUPINGS``), as
    of ``at`` (which decides what is overdue).

    A grievance's county is its own ``county``, else the linked driver's home county, else
    ``unknown``; its city is the county's first four digits and ``00``. Quarantined rows are
    counted apart (``quarantined``), in the group their stored values give.
    """
    key_of = _key(by, province)
    today = beijing_date(at)
    total = Figures()
    groups: dict[str, Figures] = {}
    query = (
        select(
            Grievance.ref,
            Grievance.status,
            Grievance.category,
            Grievance.county,
            Driver.home_county,
            Grievance.escalations,
            Grievance.received_at,
            Grievance.resolved_at,
            Grievance.closed_at,
            Grievance.resolve_due,
            Grievance.ack_due,
            Grievance.level,
        )
        .outerjoin(Driver, Driver.id == Grievance.driver_id)
        .where(Grievance.province == province)
    )
    answers_query = select(Event.entity_key, Event.data).where(
        Event.province == province, Event.entity == "grievance", Event.kind == "closed"
    )
    with database.engine.connect() as connection:
        cases = connection.execute(query).all()
        answers = connection.execute(answers_query).all()
    group_of: dict[str, str] = {}
    for case in cases:
        key = key_of(case)
        group = groups.setdefault(key, Figures())
        if case.status == "quarantined":
            total.quarantined += 1
            group.quarantined += 1
            continue
        group_of[f"{province}:{case.ref}"] = key
        late = case.status in OPEN and (
            (case.resolve_due is not None and case.resolve_due < today)
            or (case.status != "in_progress" and case.ack_due is not None and case.ack_due < today)
        )
        days = None
        finished = case.resolved_at or case.closed_at
        if case.status in DONE and finished is not None and case.received_at is not None:
            days = (finished - case.received_at).total_seconds() / 86_400
        for figures in (total, group):
            figures.collected += 1
            figures.rejected_or_merged += case.status in ("rejected", "merged")
            figures.routed += case.level is not None
            figures.overdue += late
            figures.escalated += case.escalations > 0
            figures.timely += case.level is not None and case.escalations == 0 and not late
            figures.resolved += case.status in DONE
            if days is not None:
                figures.days_to_resolve.append(days)
    unmatched = UNCLASSIFIED if by == "category" else UNKNOWN
    for entity_key, data in answers:
        satisfied = bool((data or {}).get("satisfied"))
        group = groups.setdefault(group_of.get(entity_key, unmatched), Figures())
        for figures in (total, group):
            figures.answers += 1
            figures.satisfied += satisfied
    return total, groups


def grievance_stats(
    database: Database, province: str, at: dt.datetime
) -> tuple[Figures, dict[str, Figures]]:
    """The province's figures, and the figures of each category, as of ``at``."""
    return grouped_stats(database, province, at, "category")


def figure_rows(total: Figures, groups: dict[str, Figures]) -> list[dict[str, Any]]:
    """The figures as rows with the columns ``COLUMNS``: the groups in order, the total
    (group ``all``) last. Rates are numbers from 0 to 1 beside their parts and denominators
    (None when the denominator is 0); median days to resolve have two decimals."""
    rows = []
    for name, figures in [*sorted(groups.items()), (ALL, total)]:
        median = figures.median_days
        rows.append(
            {
                "group": name,
                "collected": figures.collected,
                "accepted": figures.accepted,
                "resolved": figures.resolved,
                "resolution_rate": fraction(figures.resolved, figures.accepted),
                "routed": figures.routed,
                "timely": figures.timely,
                "timely_rate": fraction(figures.timely, figures.routed),
                "answers": figures.answers,
                "satisfied": figures.satisfied,
                "satisfaction_rate": fraction(figures.satisfied, figures.answers),
                "median_days_to_resolve": None if median is None else round(median, 2),
                "overdue": figures.overdue,
                "escalated": figures.escalated,
                "quarantined": figures.quarantined,
            }
        )
    return rows


def write_stats_csv(rows: list[dict[str, Any]], out: TextIO) -> int:
    """Write ``figure_rows`` as CSV (a header, then a line a group; None as an empty cell),
    through the writer that neutralises formulas; returns how many groups, the total included."""
    writer = SafeCsvWriter(out)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow("" if row[column] is None else row[column] for column in COLUMNS)
    return len(rows)


def stats_artifact(province: str, rows: list[dict[str, Any]], by: str) -> None:
    """Publish ``figure_rows`` as a Prefect table artifact, key ``grievance-stats-<province>-
    <by>``, so operators see them in the Prefect UI. The rows hold group names (codes,
    categories, months), counts and rates: no personal data."""
    from prefect.artifacts import create_table_artifact

    if by not in GROUPINGS:
        raise ValueError(f"cannot group grievances by {by!r}: one of {', '.join(GROUPINGS)}")
    create_table_artifact(
        key=f"grievance-stats-{province.lower()}-{by}",
        table=[{column: row[column] for column in COLUMNS} for row in rows],
        description=(
            f"Grievances of province {province} by {by}, the total last. resolution_rate "
            "(办结率) = resolved / accepted (collected less rejected and merged); timely_rate "
            "(及时处办率) = timely / routed; satisfaction_rate (满意率) = satisfied / answers. "
            "Quarantined rows are counted apart."
        ),
    )
