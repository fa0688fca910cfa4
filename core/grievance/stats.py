"""Grievance statistics, computed from the stored grievances and their events.

The three rates the 12345 hotlines report, each with its denominator, beside the pilot's own:

- closure (办结率): grievances resolved or closed, of those accepted (collected, less rejected
  and merged);
- timely handling (及时处办率): grievances routed that were never escalated for a missed
  deadline and are not past one now, of those routed;
- satisfaction (满意率): drivers' answers "satisfied", of all answers given when closing.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field

from sqlalchemy import select

from chelun.calendar import beijing_date
from chelun.storage.db import Database
from chelun.storage.tables import Event, Grievance

DONE = ("resolved", "closed")
OPEN = ("routed", "in_progress", "reopened")


@dataclass
class Figures:
    """The figures of one group of grievances (a province, or one category of it)."""

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


def grievance_stats(
    database: Database, province: str, at: dt.datetime
) -> tuple[Figures, dict[str, Figures]]:
    """The province's figures, and the figures of each category, as of ``at``."""
    today = beijing_date(at)
    total = Figures()
    by_category: dict[str, Figures] = {}
    query = select(
        Grievance.ref,
        Grievance.status,
        Grievance.category,
        Grievance.escalations,
        Grievance.received_at,
        Grievance.resolved_at,
        Grievance.closed_at,
        Grievance.resolve_due,
        Grievance.ack_due,
        Grievance.level,
    ).where(Grievance.province == province)
    answers_query = select(Event.entity_key, Event.data).where(
        Event.province == province, Event.entity == "grievance", Event.kind == "closed"
    )
    with database.engine.connect() as connection:
        cases = connection.execute(query).all()
        answers = connection.execute(answers_query).all()
    category_of: dict[str, str] = {}
    for case in cases:
        if case.status == "quarantined":
            total.quarantined += 1
            continue
        category = case.category or "unclassified"
        category_of[f"{province}:{case.ref}"] = category
        for figures in (total, by_category.setdefault(category, Figures())):
            figures.collected += 1
            if case.status in ("rejected", "merged"):
                figures.rejected_or_merged += 1
            if case.level is not None:
                figures.routed += 1
            late = case.status in OPEN and (
                (case.resolve_due is not None and case.resolve_due < today)
                or (
                    case.status != "in_progress"
                    and case.ack_due is not None
                    and case.ack_due < today
                )
            )
            figures.overdue += late
            figures.escalated += case.escalations > 0
            if case.level is not None and case.escalations == 0 and not late:
                figures.timely += 1
            if case.status in DONE:
                figures.resolved += 1
                finished = case.resolved_at or case.closed_at
                if finished is not None and case.received_at is not None:
                    days = (finished - case.received_at).total_seconds() / 86_400
                    figures.days_to_resolve.append(days)
    for key, data in answers:
        satisfied = bool((data or {}).get("satisfied"))
        category = category_of.get(key, "unclassified")
        for figures in (total, by_category.setdefault(category, Figures())):
            figures.answers += 1
            figures.satisfied += satisfied
    return total, by_category
