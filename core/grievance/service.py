"""Grievance routing: import, classification and routing, the lifecycle and the overdue sweep.

Plain Python over ``chelun.storage``: the CLI and the flows call it. Every state change of a
grievance is an event (entity ``grievance``, key ``<province>:<ref>``) written in the same
transaction, through ``chelun.storage.events``. Changes are conditional updates (``WHERE status =
<the status read>``): two processes never make the same change twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Select, and_, bindparam, or_, select, update

from chelun.calendar import BEIJING, beijing_date
from chelun.grievance.defaults import classify_text, default_route
from chelun.grievance.intake import GrievanceRow, read_grievances
from chelun.grievance.matters import group_into_matters
from chelun.grievance.models import Classification, GrievanceItem, Route
from chelun.grievance.routing import escalation
from chelun.grievance.settings import GrievanceSettings
from chelun.identity.codes import driver_code
from chelun.plugin_manager import decide_batch
from chelun.province_service import ProvinceService
from chelun.schedules import calendar_for
from chelun.storage.events import NewEvent, now, record
from chelun.storage.tables import Driver, Grievance

T = TypeVar("T")
ENTITY = "grievance"
CORE = "chelun.grievance.defaults"
#: Statuses a joint conference is still working on: the sweep watches them.
OPEN = ("routed", "in_progress", "reopened")
#: The columns a row of a file fills (a row that could not be read fills none of them).
VALUE_COLUMNS = ("received_at", "text", "county", "id_number", "phone", "name", "channel")
#: Rows written per INSERT (each row is about a dozen parameters).
INSERT_BATCH = 500
#: Overdue grievances escalated per transaction of a sweep.
SWEEP_CHUNK = 2_000

#: The lifecycle: each action, the statuses it may start from and the status it leads to.
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "acknowledge": (("routed", "reopened"), "in_progress"),
    "resolve": (OPEN, "resolved"),
    "close": (("resolved",), "closed"),
    "reject": (("received", "quarantined", *OPEN), "rejected"),
    "merge": (("received", *OPEN), "merged"),
}


class GrievanceError(Exception):
    """Something a user asked that cannot be done (an unknown ref, a transition not allowed)."""


@dataclass(frozen=True)
class ImportResult:
    rows: int
    added: int
    quarantined: int
    already: int


@dataclass(frozen=True)
class SweepResult:
    overdue: int
    escalated: int
    at_top: int


def entity_key(province: str, ref: str) -> str:
    return f"{province}:{ref}"


class GrievanceService(ProvinceService):
    """The grievances of one province."""

    ENTITY = ENTITY
    SETTINGS = GrievanceSettings
    settings: GrievanceSettings

    def _ready(self) -> None:
        self.calendar = calendar_for(self.database)

    # --- import --------------------------------------------------------------------------------

    def import_file(self, path: Path, *, at: dt.datetime | None = None) -> ImportResult:
        """Store a file's grievances; those already stored (same ref) are left as they are."""
        at = at or now()
        rows = list(read_grievances(Path(path)))
        added = quarantined = 0
        for start in range(0, len(rows), INSERT_BATCH):
            batch = rows[start : start + INSERT_BATCH]
            with self.database.connect() as connection:
                new = self.store_rows(connection, batch, at)
                added += len(new)
                quarantined += sum(1 for status in new.values() if status == "quarantined")
        return ImportResult(len(rows), added, quarantined, len(rows) - added)

    def store_rows(
        self, connection: Connection, batch: Sequence[GrievanceRow], at: dt.datetime
    ) -> dict[str, str]:
        """Store rows as grievances in the caller's transaction, linked to the roster; rows
        whose ref is stored already are left as they are. The refs added, with their status."""
        drivers = self._drivers_for(connection, batch)
        contacts = self._contacts_of(connection, set(drivers.values()))
        values = []
        problems = {}
        for row in batch:
            driver = None
            if row.problem is None:
                driver = drivers.get(("id", row.values["id_number"])) or drivers.get(
                    ("phone", row.values["phone"])
                )
            else:
                problems[row.ref] = row.problem
            values.append(
                {
                    "province": self.province,
                    "ref": row.ref,
                    **dict.fromkeys(VALUE_COLUMNS),
                    **row.values,
                    "driver_id": driver,
                    "relayed_by": contacts.get(driver) if driver is not None else None,
                    "status": "quarantined" if row.problem else "received",
                    "status_reason": f"row {row.row}: {row.problem}" if row.problem else None,
                    "provisional": False,
                    "escalations": 0,
                    "reopens": 0,
                    "updated_at": at,
                }
            )
        statement = (
            self.database.insert(Grievance)
            .values(values)
            .on_conflict_do_nothing(index_elements=["province", "ref"])
            .returning(Grievance.ref, Grievance.status)
        )
        new = {ref: status for ref, status in connection.execute(statement)}
        record(
            connection,
            [
                self.event(ref, "quarantined", f"row {_row_of(batch, ref)}: {problems[ref]}")
                if status == "quarantined"
                else self.event(ref, "received", f"imported from row {_row_of(batch, ref)}")
                for ref, status in new.items()
            ],
        )
        return new

    def _drivers_for(
        self, connection: Connection, batch: Sequence[GrievanceRow]
    ) -> dict[tuple[str, object], int]:
        """Roster entries of the province by ID number, and by phone where only one has it."""
        ids = {row.values.get("id_number") for row in batch} - {None}
        phones = {row.values.get("phone") for row in batch} - {None}
        found: dict[tuple[str, object], int] = {}
        if ids:
            query = select(Driver.id_number, Driver.id).where(
                Driver.province == self.province, Driver.id_number.in_(ids)
            )
            found.update({("id", number): key for number, key in connection.execute(query)})
        if phones:
            query = select(Driver.phone, Driver.id).where(
                Driver.province == self.province, Driver.phone.in_(phones)
            )
            owners: dict[object, set[int]] = {}
            for phone, key in connection.execute(query):
                owners.setdefault(phone, set()).add(key)
            found.update(
                {("phone", phone): keys.pop() for phone, keys in owners.items() if len(keys) == 1}
            )
        return found

    def _contacts_of(self, connection: Connection, drivers: set[int]) -> dict[int, int]:
        """The paired member driver (结对联系) of each of these drivers that has one: the member
        who relays their grievances."""
        if not drivers:
            return {}
        query = select(Driver.id, Driver.contact).where(
            Driver.id.in_(drivers), Driver.contact.is_not(None)
        )
        return {driver: contact for driver, contact in connection.execute(query)}

    # --- classification and routing ------------------------------------------------------------

    def route_pending(self) -> int:
        """Classify and route every grievance received and not yet routed; how many."""
        routed = 0
        while True:
            with self.database.connect() as connection:
                pending = self._pending(connection)
                if not pending:
                    return routed
                routed += self._route(connection, pending)

    def _pending(self, connection: Connection) -> list[tuple[int, GrievanceItem]]:
        """The next batch of grievances to route, each with its row id. On PostgreSQL the rows
        are locked and rows another routing run holds are skipped; on SQLite the write
        transaction is the only writer."""
        query = (
            select(
                Grievance.id,
                Grievance.ref,
                Grievance.province,
                Grievance.received_at,
                Grievance.text,
                Grievance.channel,
                Grievance.county,
                Grievance.driver_id,
                Driver.home_county,
            )
            .outerjoin(Driver, Driver.id == Grievance.driver_id)
            .where(Grievance.province == self.province, Grievance.status == "received")
            .order_by(Grievance.id)
            .limit(self.settings.grievance_batch)
            .with_for_update(skip_locked=True, of=Grievance.__table__)
        )
        return [
            (
                row.id,
                GrievanceItem(
                    ref=row.ref,
                    province=row.province,
                    received_at=row.received_at,
                    text=row.text or "",
                    channel=row.channel,
                    county=row.county,
                    driver=driver_code(row.province, row.driver_id) if row.driver_id else None,
                    home_county=row.home_county,
                ),
            )
            for row in connection.execute(query)
        ]

    def _decisions(
        self, hook: str, items: list[GrievanceItem], kind: type, fallback: Any
    ) -> list[tuple[Any, str]]:
        """Each item's decision and the plugin that made it; core's own for items left None."""
        answers, plugin = decide_batch(
            self.pm, hook, len(items), kind, province=self.province, grievances=items
        )
        return [
            (answer, plugin) if answer is not None and plugin else (fallback(item), CORE)
            for answer, item in zip(answers, items, strict=True)
        ]

    def _route(self, connection: Connection, pending: list[tuple[int, GrievanceItem]]) -> int:
        """Classify and route a batch: one UPDATE statement for the batch (executemany), the
        matters of those naming a subject, and the events."""
        ids = [key for key, _ in pending]
        items = [item for _, item in pending]
        classes = self._decisions(
            "chelun_classify_grievances",
            items,
            Classification,
            lambda item: classify_text(item.text),
        )
        items = [
            item.model_copy(update={"category": c.category})
            for item, (c, _) in zip(items, classes, strict=True)
        ]
        routes = self._decisions(
            "chelun_route_grievances",
            items,
            Route,
            lambda item: default_route(self.province, item),
        )
        at = now()
        deadline = _memo(self.calendar.deadline)
        events = []
        changes = []
        decided = zip(ids, items, classes, routes, strict=True)
        for key, item, (c, classified_by), (r, routed_by) in decided:
            route: Route = r
            ack_days = (
                route.ack_days if route.ack_days is not None else self.settings.grievance_ack_days
            )
            resolve_days = (
                route.resolve_days
                if route.resolve_days is not None
                else self.settings.grievance_resolve_days
            )
            received = beijing_date(item.received_at)
            ack = deadline(received, ack_days)
            resolve = deadline(received, resolve_days)
            changes.append(
                {
                    "row": key,
                    "category": c.category,
                    "subject": c.subject,
                    "classified_by": classified_by,
                    "level": route.level,
                    "area": route.area,
                    "unit": route.unit,
                    "lead_department": route.lead_department,
                    "assisting": list(route.assisting),
                    "routed_by": routed_by,
                    "route_reason": route.reason,
                    "status": "routed",
                    "ack_days": ack_days,
                    "ack_due": ack.due,
                    "resolve_days": resolve_days,
                    "resolve_due": resolve.due,
                    "deadline_from": received,
                    "provisional": ack.provisional or resolve.provisional,
                    "updated_at": at,
                }
            )
            events.append(
                self.event(
                    item.ref,
                    "classified",
                    f"{c.category}: {c.reason}",
                    {"category": c.category, "subject": c.subject},
                    actor=f"plugin:{classified_by}",
                )
            )
            events.append(
                self.event(
                    item.ref,
                    "routed",
                    f"{route.level} {route.area}, lead {route.lead_department}: {route.reason}",
                    {
                        "level": route.level,
                        "area": route.area,
                        "unit": route.unit,
                        "lead_department": route.lead_department,
                        "assisting": list(route.assisting),
                        "ack_due": ack.due.isoformat(),
                        "resolve_due": resolve.due.isoformat(),
                        "provisional": ack.provisional or resolve.provisional,
                    },
                    actor=f"plugin:{routed_by}",
                )
            )
        # The rows are this run's: locked on PostgreSQL, the only writer on SQLite.
        connection.execute(
            update(Grievance).where(
                Grievance.id == bindparam("row"), Grievance.status == "received"
            ),
            changes,
        )
        events.extend(group_into_matters(connection, self.province, changes, items, at))
        record(connection, events)
        return len(changes)

    # --- the overdue sweep ---------------------------------------------------------------------

    def sweep(self, at: dt.datetime | None = None) -> SweepResult:
        """Escalate the grievances past a deadline as of ``at``, one level up each, with an event.

        A grievance not acknowledged by its acknowledgement deadline, or not resolved by its
        resolution deadline, goes to the next conference, which gets the grievance's working-day
        limits again from the day of the sweep. The sweep reads the overdue grievances in
        chunks in the order of their ids, each chunk in its own transaction, so its memory does
        not grow with their number. Two sweeps at once never escalate a grievance twice: on
        PostgreSQL a chunk's rows are locked (``FOR UPDATE SKIP LOCKED``) and the other sweep
        passes them by, and once escalated they are no longer overdue; on SQLite a chunk's
        transaction is the only writer. Each UPDATE is also conditional on the status, level and
        escalation count read.
        """
        at = at or now()
        if at.tzinfo is None:
            raise GrievanceError("the sweep's time needs a time zone (e.g. +08:00)")
        today = beijing_date(at)
        deadline = _memo(self.calendar.deadline)
        up_from = _memo(escalation)
        overdue = escalated = at_top = 0
        last = 0
        while True:
            with self.database.connect() as connection:
                cases = connection.execute(self._overdue(today, last)).all()
                if not cases:
                    break
                last = cases[-1].id
                stamp = now()
                changes = []
                events = []
                for case in cases:
                    overdue += 1
                    up = up_from(
                        case.category, case.level, case.area, self.province, case.lead_department
                    )
                    if up is None:
                        at_top += 1
                        continue
                    late = (
                        "not acknowledged by " + case.ack_due.isoformat()
                        if case.status in ("routed", "reopened") and case.ack_due < today
                        else "not resolved by " + case.resolve_due.isoformat()
                    )
                    ack = deadline(today, case.ack_days or 0)
                    resolve = deadline(today, case.resolve_days or 0)
                    changes.append(
                        {
                            "row": case.id,
                            "was_status": case.status,
                            "was_level": case.level,
                            "was_escalations": case.escalations,
                            "level": up.level,
                            "area": up.area,
                            "unit": up.unit,
                            "lead_department": up.lead_department,
                            "status": "routed",
                            "escalations": case.escalations + 1,
                            "ack_due": ack.due,
                            "resolve_due": resolve.due,
                            "deadline_from": today,
                            "provisional": ack.provisional or resolve.provisional,
                            "updated_at": stamp,
                        }
                    )
                    events.append(
                        self.event(
                            case.ref,
                            "escalated",
                            f"{late}: from the {case.level} conference ({case.area}) to the "
                            f"{up.level} conference ({up.area})",
                            {
                                "from_level": case.level,
                                "to_level": up.level,
                                "from_area": case.area,
                                "to_area": up.area,
                                "unit": up.unit,
                                "as_of": at.isoformat(),
                                "ack_due": ack.due.isoformat(),
                                "resolve_due": resolve.due.isoformat(),
                            },
                        )
                    )
                if changes:
                    connection.execute(
                        update(Grievance).where(
                            Grievance.id == bindparam("row"),
                            Grievance.status == bindparam("was_status"),
                            Grievance.level == bindparam("was_level"),
                            Grievance.escalations == bindparam("was_escalations"),
                        ),
                        changes,
                    )
                    escalated += len(changes)
                    record(connection, events)
        return SweepResult(overdue, escalated, at_top)

    def _overdue(self, today: dt.date, after: int) -> Select[Any]:
        """The next chunk of grievances past a deadline on ``today``, after row ``after``."""
        return (
            select(
                Grievance.id,
                Grievance.ref,
                Grievance.status,
                Grievance.category,
                Grievance.level,
                Grievance.area,
                Grievance.lead_department,
                Grievance.escalations,
                Grievance.ack_days,
                Grievance.ack_due,
                Grievance.resolve_days,
                Grievance.resolve_due,
            )
            .where(
                Grievance.province == self.province,
                Grievance.id > after,
                or_(
                    and_(
                        Grievance.status.in_(("routed", "reopened")),
                        Grievance.ack_due < today,
                    ),
                    and_(Grievance.status.in_(OPEN), Grievance.resolve_due < today),
                ),
            )
            .order_by(Grievance.id)
            .limit(SWEEP_CHUNK)
            .with_for_update(skip_locked=True)
        )

    # --- the lifecycle -------------------------------------------------------------------------

    def _change(
        self,
        ref: str,
        action: str,
        reason: str,
        values: dict[str, Any],
        extra: Sequence[NewEvent] = (),
        data: dict[str, Any] | None = None,
        to: str | None = None,
    ) -> str:
        allowed, target = TRANSITIONS[action]
        target = to or target
        with self.database.connect() as connection:
            status = connection.execute(
                select(Grievance.status).where(
                    Grievance.province == self.province, Grievance.ref == ref
                )
            ).scalar_one_or_none()
            if status is None:
                raise GrievanceError(f"no grievance {ref!r} in province {self.province}")
            if status not in allowed:
                can = [name for name, (starts, _) in TRANSITIONS.items() if status in starts]
                raise GrievanceError(
                    f"grievance {ref} is {status}: it cannot be {_done(action)} "
                    f"(only from {', '.join(allowed)}); what it can be now: "
                    f"{', '.join(_done(name) for name in can) or 'nothing, it is final'}"
                )
            done = connection.execute(
                update(Grievance)
                .where(
                    Grievance.province == self.province,
                    Grievance.ref == ref,
                    Grievance.status == status,
                )
                .values(status=target, updated_at=now(), **values)
            ).rowcount
            if done != 1:
                raise GrievanceError(f"grievance {ref} changed meanwhile; try again")
            record(
                connection,
                [self.event(ref, _kind(action), reason, {"from": status, **(data or {})}), *extra],
            )
        return target

    def acknowledge(self, ref: str, note: str = "") -> str:
        return self._change(
            ref, "acknowledge", note or "acknowledged (受理)", {"acknowledged_at": now()}
        )

    def resolve(self, ref: str, note: str = "") -> str:
        return self._change(ref, "resolve", note or "resolved (办结)", {"resolved_at": now()})

    def close(self, ref: str, satisfied: bool, note: str = "") -> str:
        """Close a resolved grievance with the driver's answer; not satisfied reopens it, with
        the resolution limit counted again from today."""
        if satisfied:
            return self._change(
                ref,
                "close",
                note or "closed: the driver is satisfied",
                {"closed_at": now(), "satisfied": True},
                data={"satisfied": True},
            )
        ack_days, resolve_days = self._limits(ref)
        today = beijing_date(now())
        ack = self.calendar.deadline(today, ack_days)
        deadline = self.calendar.deadline(today, resolve_days)
        return self._change(
            ref,
            "close",
            note or "closed: the driver is not satisfied",
            {
                "closed_at": None,
                "resolved_at": None,
                "satisfied": False,
                "reopens": Grievance.reopens + 1,
                "resolve_due": deadline.due,
                "ack_due": ack.due,
                "deadline_from": today,
                "provisional": ack.provisional or deadline.provisional,
            },
            extra=[
                self.event(
                    ref,
                    "reopened",
                    "reopened: the driver is not satisfied",
                    {"resolve_due": deadline.due.isoformat()},
                )
            ],
            data={"satisfied": False},
            to="reopened",
        )

    def reject(self, ref: str, reason: str) -> str:
        return self._change(ref, "reject", f"rejected: {reason}", {"status_reason": reason})

    def merge(self, ref: str, into: str, reason: str = "") -> str:
        with self.database.engine.connect() as connection:
            exists = connection.execute(
                select(Grievance.id).where(
                    Grievance.province == self.province, Grievance.ref == into
                )
            ).first()
        if exists is None or into == ref:
            raise GrievanceError(f"no other grievance {into!r} in province {self.province}")
        why = reason or f"the same matter as {into}"
        return self._change(
            ref, "merge", f"merged into {into}: {why}", {"merged_into": into, "status_reason": why}
        )

    def _limits(self, ref: str) -> tuple[int, int]:
        """A grievance's working days to acknowledge and to resolve."""
        with self.database.engine.connect() as connection:
            row = connection.execute(
                select(Grievance.ack_days, Grievance.resolve_days).where(
                    Grievance.province == self.province, Grievance.ref == ref
                )
            ).first()
        ack, resolve = row if row is not None else (None, None)
        return (
            ack if ack is not None else self.settings.grievance_ack_days,
            resolve if resolve is not None else self.settings.grievance_resolve_days,
        )

    # --- reading -------------------------------------------------------------------------------

    def get(self, ref: str) -> Grievance:
        return self._case(Grievance, ref, GrievanceError, "grievance")  # type: ignore[no-any-return]


def _memo(function: Callable[..., T]) -> Callable[..., T]:
    """``function`` remembering its answers for this run (deadlines and escalations repeat)."""
    return cache(function)


def _row_of(batch: Sequence[GrievanceRow], ref: str) -> int:
    return next(row.row for row in batch if row.ref == ref)


def _done(action: str) -> str:
    return {
        "acknowledge": "acknowledged",
        "resolve": "resolved",
        "close": "closed",
        "reject": "rejected",
        "merge": "merged",
    }[action]


def _kind(action: str) -> str:
    return {"acknowledge": "in_progress"}.get(action, _done(action))


def beijing_text(instant: dt.datetime | None) -> str:
    """``YYYY-MM-DD HH:MM`` in Beijing time, as grievance files write it."""
    return instant.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if instant else ""
