"""Grievances as CSV: one row per grievance, personal data only when revealed."""

from __future__ import annotations

from typing import TextIO

from sqlalchemy import select

from chelun.grievance.service import beijing_text
from chelun.identity.codes import driver_code
from chelun.outputs import SafeCsvWriter
from chelun.storage.db import Database
from chelun.storage.tables import Grievance

COLUMNS = (
    "ref",
    "category",
    "level",
    "area",
    "unit",
    "lead_department",
    "assisting",
    "status",
    "status_reason",
    "channel",
    "county",
    "received_at",
    "ack_days",
    "ack_due",
    "resolve_days",
    "resolve_due",
    "provisional",
    "escalations",
    "reopens",
    "satisfied",
    "driver",
    "relayed_by",
    "subject",
    "matter",
    "classified_by",
    "routed_by",
)
#: Personal data: exported with ``--reveal`` only.
REVEALED = ("name", "phone", "id_number", "text")


def _flag(value: bool | None) -> str:
    return "" if value is None else ("true" if value else "false")


def export_grievances(database: Database, province: str, out: TextIO, *, reveal: bool) -> int:
    """Write the province's grievances, in import order; how many. Quarantined rows are not
    grievances yet: ``export_quarantine`` lists them."""
    writer = SafeCsvWriter(out)
    writer.writerow(COLUMNS + (REVEALED if reveal else ()))
    count = 0
    query = (
        select(Grievance)
        .where(Grievance.province == province, Grievance.status != "quarantined")
        .order_by(Grievance.id)
    )
    with database.sessions() as session:
        for case in session.scalars(query).yield_per(1_000):
            row = [
                case.ref,
                case.category or "",
                case.level or "",
                case.area or "",
                case.unit or "",
                case.lead_department or "",
                ";".join(case.assisting or []),
                case.status,
                case.status_reason or "",
                case.channel or "",
                case.county or "",
                beijing_text(case.received_at),
                "" if case.ack_days is None else case.ack_days,
                case.ack_due.isoformat() if case.ack_due else "",
                "" if case.resolve_days is None else case.resolve_days,
                case.resolve_due.isoformat() if case.resolve_due else "",
                _flag(case.provisional),
                case.escalations,
                case.reopens,
                _flag(case.satisfied),
                driver_code(province, case.driver_id) if case.driver_id else "",
                driver_code(province, case.relayed_by) if case.relayed_by else "",
                case.subject or "",
                "" if case.matter_id is None else case.matter_id,
                case.classified_by or "",
                case.routed_by or "",
            ]
            if reveal:
                row += [case.name or "", case.phone or "", case.id_number or "", case.text or ""]
            writer.writerow(row)
            count += 1
    return count


def export_quarantine(database: Database, province: str, out: TextIO) -> int:
    """Write the quarantined rows: ref (the channel's, or a stand-in), reason; how many."""
    writer = SafeCsvWriter(out)
    writer.writerow(("ref", "channel", "reason"))
    query = (
        select(Grievance.ref, Grievance.channel, Grievance.status_reason)
        .where(Grievance.province == province, Grievance.status == "quarantined")
        .order_by(Grievance.id)
    )
    count = 0
    with database.engine.connect() as connection:
        for ref, channel, reason in connection.execute(query):
            writer.writerow((ref, channel or "", reason or ""))
            count += 1
    return count
