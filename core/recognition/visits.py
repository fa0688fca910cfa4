"""Care visits (走访慰问): plan them for a month, assign the visitors, record the outcomes, and
count the drivers visited by province and period.

A plan takes the province's candidates (active member drivers, and drivers in hardship: a claim
rejected in the last ``CHELUN_VISITS_CLAIM_DAYS`` days, a grievance unresolved for
``CHELUN_VISITS_GRIEVANCE_DAYS`` days or more), asks ``chelun_select_for_visits`` which to visit
and ``chelun_assign_visits`` who visits, and stores one visit per driver and month: planning a
month again adds only drivers not planned yet. Every change is an event (entity ``care_visit``,
key ``<province>:<period>:<driver code>``); outcomes are conditional updates of planned visits.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, and_, func, select, update
from sqlalchemy.orm import aliased

from chelun.identity.codes import code_province, driver_code, driver_number
from chelun.province_service import ProvinceService
from chelun.recognition.decisions import batch_decisions
from chelun.recognition.defaults import default_assignment
from chelun.recognition.facts import CHUNK
from chelun.recognition.files import read_rows
from chelun.recognition.models import (
    VisitAssignment,
    VisitCandidate,
    VisitItem,
    VisitSelection,
)
from chelun.recognition.settings import RecognitionSettings
from chelun.storage.db import Database
from chelun.storage.events import NewEvent, now, record
from chelun.storage.tables import CareVisit, Claim, Driver, Grievance

ENTITY = "care_visit"
#: Grievance statuses a joint conference is still working on.
UNRESOLVED = ("routed", "in_progress", "reopened")
OUTCOMES = ("done", "missed", "cancelled")
PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
NOTE_LIMIT = 500


class VisitError(Exception):
    """A visit plan or record that cannot be made; the message says why and what to do."""


@dataclass(frozen=True)
class PlanResult:
    candidates: int
    planned: int
    members: int
    hardship: int


@dataclass(frozen=True)
class RecordResult:
    rows: int
    recorded: int
    refused: list[tuple[int, str]] = field(default_factory=list)


def period_start(period: str) -> dt.date:
    """The first day of a period (``YYYY-MM``); ``VisitError`` for anything else."""
    match = PERIOD.match(period or "")
    if match is None:
        raise VisitError(f"a period is a month, YYYY-MM (e.g. 2027-03), not {period!r}")
    return dt.date(int(match.group(1)), int(match.group(2)), 1)


def default_selection(
    candidate: VisitCandidate, period: str, settings: RecognitionSettings | None = None
) -> VisitSelection:
    """Core's choice: a driver in hardship is visited (hardship first, a member too); a member
    driver is visited when not visited in the member interval before the period."""
    settings = settings or RecognitionSettings()
    if candidate.rejected_claims:
        return VisitSelection(
            visit=True,
            kind="hardship",
            reason=f"{candidate.rejected_claims} insurance claim(s) rejected in the last "
            f"{settings.visits_claim_days} days",
        )
    if (
        candidate.open_grievance_days is not None
        and candidate.open_grievance_days >= settings.visits_grievance_days
    ):
        return VisitSelection(
            visit=True,
            kind="hardship",
            reason=f"a grievance unresolved for {candidate.open_grievance_days} days",
        )
    if not candidate.member:
        return VisitSelection(visit=False, kind="hardship", reason="no hardship found")
    first = period_start(period)
    last = candidate.last_visit
    if last is not None and (first - last).days < settings.visits_member_interval_days:
        return VisitSelection(
            visit=False,
            kind="member",
            reason=f"member driver visited on {last}, within "
            f"{settings.visits_member_interval_days} days",
        )
    return VisitSelection(
        visit=True,
        kind="member",
        reason="member driver, never visited"
        if last is None
        else f"member driver, last visited on {last}",
    )


class VisitService(ProvinceService):
    """The care visits of one province."""

    SETTINGS = RecognitionSettings
    settings: RecognitionSettings

    def _event(
        self,
        period: str,
        driver: str,
        kind: str,
        reason: str,
        data: dict[str, Any] | None = None,
        actor: str | None = None,
    ) -> NewEvent:
        return NewEvent(
            self.province,
            actor or self.actor,
            ENTITY,
            f"{self.province}:{period}:{driver}",
            kind,
            reason,
            data,
        )

    # --- planning ------------------------------------------------------------------------------

    def plan(self, period: str, *, at: dt.datetime | None = None, batch: int = 1_000) -> PlanResult:
        """Plan the period's visits; counts of candidates and of visits planned."""
        period_start(period)
        at = at or now()
        with self.database.connect() as connection:
            candidates, contacts = self._candidates(connection, period, at)
            planned = members = hardship = 0
            for start in range(0, len(candidates), batch):
                chunk = candidates[start : start + batch]
                chosen = batch_decisions(
                    self.pm,
                    "chelun_select_for_visits",
                    [c for _, c in chunk],
                    VisitSelection,
                    lambda c: default_selection(c, period, self.settings),
                    province=self.province,
                    period=period,
                    candidates=[c for _, c in chunk],
                )
                selected = [
                    (key, candidate, selection, plugin)
                    for (key, candidate), (selection, plugin) in zip(chunk, chosen, strict=True)
                    if selection.visit
                ]
                items = [
                    VisitItem(
                        driver=candidate.driver,
                        kind=selection.kind,
                        home_county=candidate.home_county,
                        branch=candidate.branch if candidate.member else None,
                        contact_branch=contacts.get(key),
                    )
                    for key, candidate, selection, _ in selected
                ]
                assigned = batch_decisions(
                    self.pm,
                    "chelun_assign_visits",
                    items,
                    VisitAssignment,
                    default_assignment,
                    province=self.province,
                    visits=items,
                )
                stored = self._store(connection, period, selected, assigned)
                planned += len(stored)
                members += sum(1 for kind in stored.values() if kind == "member")
                hardship += sum(1 for kind in stored.values() if kind == "hardship")
        return PlanResult(len(candidates), planned, members, hardship)

    def _candidates(
        self, connection: Connection, period: str, at: dt.datetime
    ) -> tuple[list[tuple[int, VisitCandidate]], dict[int, str]]:
        """The period's candidates by roster id, and the branch of each one's paired member."""
        province = self.province
        active = and_(Driver.province == province, Driver.status == "active")
        planned = set(
            connection.execute(
                select(CareVisit.driver_id).where(
                    CareVisit.province == province, CareVisit.period == period
                )
            ).scalars()
        )
        claims = dict(
            connection.execute(
                select(Claim.driver_id, func.count())
                .where(
                    Claim.province == province,
                    Claim.driver_id.is_not(None),
                    Claim.status == "rejected",
                    func.coalesce(Claim.decided_at, Claim.reported_at)
                    >= at - dt.timedelta(days=self.settings.visits_claim_days),
                )
                .group_by(Claim.driver_id)
            ).all()
        )
        oldest = dict(
            connection.execute(
                select(Grievance.driver_id, func.min(Grievance.received_at))
                .where(
                    Grievance.province == province,
                    Grievance.driver_id.is_not(None),
                    Grievance.status.in_(UNRESOLVED),
                    Grievance.received_at.is_not(None),
                )
                .group_by(Grievance.driver_id)
            ).all()
        )
        waiting = {driver: (at - received).days for driver, received in oldest.items()}
        long_waits = {
            driver
            for driver, days in waiting.items()
            if days >= self.settings.visits_grievance_days
        }
        last_visits = dict(
            connection.execute(
                select(CareVisit.driver_id, func.max(CareVisit.visited_on))
                .where(CareVisit.province == province, CareVisit.status == "done")
                .group_by(CareVisit.driver_id)
            ).all()
        )
        hardship = sorted((set(claims) | long_waits) - planned)
        contact = aliased(Driver)
        columns = (Driver.id, Driver.member, Driver.home_county, Driver.branch, contact.branch)
        query = select(*columns).outerjoin(contact, contact.id == Driver.contact).where(active)
        rows = list(connection.execute(query.where(Driver.member.is_(True))))
        for start in range(0, len(hardship), CHUNK):
            rows.extend(
                connection.execute(
                    query.where(
                        Driver.member.is_(False), Driver.id.in_(hardship[start : start + CHUNK])
                    )
                )
            )
        candidates = []
        contacts = {}
        for key, member, county, branch, contact_branch in sorted(rows, key=lambda r: r[0]):
            if key in planned:
                continue
            if contact_branch:
                contacts[key] = contact_branch
            candidates.append(
                (
                    key,
                    VisitCandidate(
                        driver=driver_code(province, key),
                        member=bool(member),
                        home_county=county,
                        branch=branch,
                        rejected_claims=claims.get(key, 0),
                        open_grievance_days=waiting.get(key),
                        last_visit=last_visits.get(key),
                    ),
                )
            )
        return candidates, contacts

    def _store(
        self,
        connection: Connection,
        period: str,
        selected: Sequence[tuple[int, VisitCandidate, VisitSelection, str]],
        assigned: Sequence[tuple[VisitAssignment, str]],
    ) -> dict[int, str]:
        """Store the visits of a batch (a driver already planned for the period is left as it
        is); the drivers planned, with their kind."""
        if not selected:
            return {}
        stamp = now()
        values = [
            {
                "province": self.province,
                "period": period,
                "driver_id": key,
                "kind": selection.kind,
                "reason": selection.reason,
                "selected_by": chooser,
                "role": assignment.role,
                "unit": assignment.unit,
                "place": assignment.place,
                "assigned_by": assigner,
                "status": "planned",
                "planned_at": stamp,
                "updated_at": stamp,
            }
            for (key, _, selection, chooser), (assignment, assigner) in zip(
                selected, assigned, strict=True
            )
        ]
        stored = dict(
            connection.execute(
                self.database.insert(CareVisit)
                .values(values)
                .on_conflict_do_nothing(index_elements=["province", "period", "driver_id"])
                .returning(CareVisit.driver_id, CareVisit.kind)
            ).all()
        )
        record(
            connection,
            [
                self._event(
                    period,
                    candidate.driver,
                    "planned",
                    f"{selection.reason}; visited by {assignment.role.replace('_', ' ')} "
                    f"{assignment.unit}" + (f" at {assignment.place}" if assignment.place else ""),
                    {
                        "kind": selection.kind,
                        "selected_by": chooser,
                        "assigned_by": assigner,
                        "role": assignment.role,
                        "unit": assignment.unit,
                    },
                )
                for (key, candidate, selection, chooser), (assignment, assigner) in zip(
                    selected, assigned, strict=True
                )
                if key in stored
            ],
        )
        return stored

    # --- outcomes ------------------------------------------------------------------------------

    def record_outcomes(self, path: Path) -> RecordResult:
        """Record a file of outcomes (driver, period, outcome: done, missed or cancelled,
        visited_on for a visit done, note). A row that names no planned visit is refused."""
        rows = list(read_rows(Path(path), "visits"))
        refused: list[tuple[int, str]] = []
        changes = []
        events = []
        seen: set[tuple[str, int]] = set()
        for row in rows:
            problem, change = self._outcome(row)
            if problem is None and change is not None:
                key = (change["period"], change["driver"])
                if key in seen:
                    problem = "the same visit is recorded twice in this file"
                seen.add(key)
            if problem is not None or change is None:
                refused.append((row.row, problem or "unreadable row"))
                continue
            changes.append(change)
        recorded = 0
        with self.database.connect() as connection:
            stamp = now()
            for change in changes:
                done = connection.execute(
                    update(CareVisit)
                    .where(
                        CareVisit.province == self.province,
                        CareVisit.period == change["period"],
                        CareVisit.driver_id == change["driver"],
                        CareVisit.status == "planned",
                    )
                    .values(
                        status=change["outcome"],
                        visited_on=change["visited_on"],
                        note=change["note"],
                        updated_at=stamp,
                    )
                ).rowcount
                code = driver_code(self.province, change["driver"])
                if done != 1:
                    refused.append(
                        (change["row"], f"no planned visit of {code} in {change['period']}")
                    )
                    continue
                recorded += 1
                events.append(
                    self._event(
                        change["period"],
                        code,
                        change["outcome"],
                        f"visit {change['outcome']}"
                        + (f" on {change['visited_on']}" if change["visited_on"] else ""),
                    )
                )
            record(connection, events)
        refused.sort()
        return RecordResult(len(rows), recorded, refused)

    def _outcome(self, row: Any) -> tuple[str | None, dict[str, Any] | None]:
        if row.problem is not None:
            return row.problem, None
        cells = row.cells
        try:
            number = driver_number(cells.get("driver", ""))
        except ValueError as exc:
            return str(exc), None
        if code_province(cells["driver"]) != self.province:
            return "a driver of another province", None
        period = cells.get("period", "")
        try:
            period_start(period)
        except VisitError as exc:
            return str(exc), None
        outcome = cells.get("outcome", "").lower()
        if outcome not in OUTCOMES:
            return f"the outcome is one of {', '.join(OUTCOMES)}", None
        visited_on = None
        if cells.get("visited_on"):
            try:
                visited_on = dt.date.fromisoformat(cells["visited_on"])
            except ValueError:
                return "visited_on is not a date (YYYY-MM-DD)", None
        if outcome == "done" and visited_on is None:
            return "a visit done needs its date (visited_on)", None
        return None, {
            "row": row.row,
            "driver": number,
            "period": period,
            "outcome": outcome,
            "visited_on": visited_on,
            "note": (cells.get("note") or "")[:NOTE_LIMIT] or None,
        }

    def visits(self, period: str) -> list[Any]:
        """The period's visits (no personal data: driver codes, reasons, visitors)."""
        period_start(period)
        with self.database.engine.connect() as connection:
            return list(
                connection.execute(
                    select(
                        CareVisit.driver_id,
                        CareVisit.kind,
                        CareVisit.reason,
                        CareVisit.role,
                        CareVisit.unit,
                        CareVisit.place,
                        CareVisit.status,
                        CareVisit.visited_on,
                    )
                    .where(CareVisit.province == self.province, CareVisit.period == period)
                    .order_by(CareVisit.driver_id)
                )
            )


# --- statistics ------------------------------------------------------------------------------

#: Columns of the statistics, in order; ``visit_rate`` is ``done`` of ``planned`` less cancelled.
STAT_COLUMNS = (
    "province",
    "period",
    "planned",
    "done",
    "missed",
    "cancelled",
    "visit_rate",
    "drivers_visited",
    "members_visited",
    "hardship_visited",
)


@dataclass
class VisitFigures:
    """The visits of one province and period, and the drivers visited (each counted once)."""

    planned: int = 0
    done: int = 0
    missed: int = 0
    cancelled: int = 0
    drivers: set[int] = field(default_factory=set)
    members: set[int] = field(default_factory=set)
    hardship: set[int] = field(default_factory=set)

    def row(self, province: str, period: str) -> dict[str, Any]:
        due = self.planned - self.cancelled
        return {
            "province": province,
            "period": period,
            "planned": self.planned,
            "done": self.done,
            "missed": self.missed,
            "cancelled": self.cancelled,
            "visit_rate": f"{self.done / due:.4f}" if due else "",
            "drivers_visited": len(self.drivers),
            "members_visited": len(self.members),
            "hardship_visited": len(self.hardship),
        }


def visit_stats(
    database: Database, provinces: Sequence[str] | None = None, *, by: str = "month"
) -> list[dict[str, Any]]:
    """Visits and drivers visited by province and period (``month``: ``YYYY-MM``, or ``year``),
    then a total per province (period ``all``), computed from the stored visits: a driver
    visited twice in a year counts once in the year and in the total."""
    if by not in ("month", "year"):
        raise VisitError(f"--by {by!r}: month or year")
    query = select(
        CareVisit.province, CareVisit.period, CareVisit.driver_id, CareVisit.kind, CareVisit.status
    )
    if provinces:
        query = query.where(CareVisit.province.in_(list(provinces)))
    groups: dict[tuple[str, str], VisitFigures] = {}
    with database.engine.connect() as connection:
        for province, period, driver, kind, status in connection.execute(query):
            key = period if by == "month" else period[:4]
            for group in ((province, key), (province, "all")):
                figures = groups.setdefault(group, VisitFigures())
                figures.planned += 1
                if status in ("done", "missed", "cancelled"):
                    setattr(figures, status, getattr(figures, status) + 1)
                if status == "done":
                    figures.drivers.add(driver)
                    (figures.members if kind == "member" else figures.hardship).add(driver)
    return [
        groups[key].row(*key) for key in sorted(groups, key=lambda k: (k[0], k[1] == "all", k[1]))
    ]
