"""Matters (事项): the like grievances of many drivers handled together.

Drivers complain one by one about the same platform's commission or the same service area's
thefts; the conference that handles them settles the cause once. A grievance whose
classification names a subject (a freight platform, a service area: ``Classification.subject``)
joins the matter of its category, subject and handling conference, which is opened by the first
such grievance. Each grievance keeps its own lifecycle, deadlines and reply to its driver: the
matter groups them and loses none. A grievance escalated later moves on by itself; its matter
stays with the conference that first handled it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from chelun.grievance.models import GrievanceItem
from chelun.storage.events import NewEvent
from chelun.storage.tables import Grievance, GrievanceMatter

ENTITY = "grievance"


def matter_key(category: str, subject: str, level: str, area: str) -> str:
    return f"{category}|{subject}|{level}|{area}"


def group_into_matters(
    connection: Connection,
    province: str,
    changes: Sequence[dict[str, Any]],
    items: Sequence[GrievanceItem],
    at: dt.datetime,
) -> list[NewEvent]:
    """Put the grievances just routed that name a subject into their matters (opening those
    missing), in the caller's transaction; the events saying so.

    ``changes`` are the routing's row values (``row``, ``category``, ``subject``, ``level``,
    ``area``, ``unit``), in the order of ``items``.
    """
    keyed = [
        (change, item, matter_key(change["category"], subject, change["level"], change["area"]))
        for change, item in zip(changes, items, strict=True)
        if (subject := change.get("subject"))
    ]
    if not keyed:
        return []
    opened: dict[str, dict[str, Any]] = {}
    for change, _, key in keyed:
        opened.setdefault(
            key,
            {
                "province": province,
                "key": key,
                "category": change["category"],
                "subject": change["subject"],
                "level": change["level"],
                "area": change["area"],
                "unit": change["unit"],
                "opened_at": at,
                "updated_at": at,
            },
        )
    insert = sqlite.insert if connection.dialect.name == "sqlite" else postgresql.insert
    connection.execute(
        insert(GrievanceMatter)
        .values(list(opened.values()))
        .on_conflict_do_nothing(index_elements=["province", "key"])
    )
    matters = dict(
        connection.execute(
            select(GrievanceMatter.key, GrievanceMatter.id).where(
                GrievanceMatter.province == province, GrievanceMatter.key.in_(list(opened))
            )
        ).all()
    )
    connection.execute(
        update(Grievance).where(Grievance.id == bindparam("row")),
        [{"row": change["row"], "matter_id": matters[key]} for change, _, key in keyed],
    )
    connection.execute(
        update(GrievanceMatter)
        .where(GrievanceMatter.id.in_(list(matters.values())))
        .values(updated_at=at)
    )
    return [
        NewEvent(
            province,
            "chelun.grievance.matters",
            ENTITY,
            f"{province}:{item.ref}",
            "grouped",
            f"in matter {matters[key]}: {change['subject']} ({change['category']}), handled by "
            f"the {change['level']} conference ({change['area']})",
            {"matter": matters[key], "subject": change["subject"]},
        )
        for change, item, key in keyed
    ]


@dataclass(frozen=True)
class MatterSummary:
    id: int
    category: str
    subject: str
    level: str
    area: str
    unit: str | None
    cases: int
    drivers: int
    open: int
    opened_at: dt.datetime


def matters(connection: Connection, province: str, *, least: int = 2) -> list[MatterSummary]:
    """The province's matters with at least ``least`` grievances, the largest first: how many
    grievances, from how many distinct drivers (unlinked grievances count one each), and how
    many are still open."""
    from chelun.grievance.service import OPEN

    open_cases = func.sum(case((Grievance.status.in_(OPEN), 1), else_=0))
    drivers = func.count(func.distinct(Grievance.driver_id)) + func.sum(
        case((Grievance.driver_id.is_(None), 1), else_=0)
    )
    query = (
        select(
            GrievanceMatter.id,
            GrievanceMatter.category,
            GrievanceMatter.subject,
            GrievanceMatter.level,
            GrievanceMatter.area,
            GrievanceMatter.unit,
            func.count(Grievance.id).label("cases"),
            drivers.label("drivers"),
            open_cases.label("open"),
            GrievanceMatter.opened_at,
        )
        .join(Grievance, Grievance.matter_id == GrievanceMatter.id)
        .where(GrievanceMatter.province == province)
        .group_by(GrievanceMatter.id)
        .having(func.count(Grievance.id) >= least)
        .order_by(func.count(Grievance.id).desc(), GrievanceMatter.id)
    )
    return [MatterSummary(*row) for row in connection.execute(query)]
