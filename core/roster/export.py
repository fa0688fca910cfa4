"""Exports of a province's roster and quarantine, streamed as CSV.

Every cell is written through ``chelun.outputs``: text a spreadsheet would run as a formula
(source files are hostile input) is neutralised.

Without ``reveal`` every personal value is masked: ID numbers, phones, names, plates and
political status (party membership). Membership shows through more than its own column: only
members have a branch, only ordinary drivers a contact, and a row of the party member database
marks a member; so the masked export leaves ``branch``, ``contact`` and ``sources`` empty too.
"""

from __future__ import annotations

from itertools import groupby
from typing import TextIO

from sqlalchemy import and_, select

from chelun.identity.codes import driver_code
from chelun.outputs import SafeCsvWriter
from chelun.privacy import mask_id, mask_name, mask_phone, mask_plate
from chelun.storage.db import Database
from chelun.storage.tables import Driver, SourceRecord

ROSTER_COLUMNS = (
    "driver",
    "id_number",
    "name",
    "phone",
    "plate",
    "enterprise",
    "party_member",
    "home_county",
    "verification_stage",
    "verification_outcome",
    "branch",
    "contact",
    "sources",
    "conflicts",
)
QUARANTINE_COLUMNS = ("source", "row", "reason")


def export_roster(database: Database, province: str, out: TextIO, *, reveal: bool) -> int:
    """Write the province's active roster as CSV; returns the number of drivers written."""
    writer = SafeCsvWriter(out)
    writer.writerow(ROSTER_COLUMNS)
    d, s = Driver, SourceRecord
    query = (
        select(
            d.id,
            d.id_number,
            d.name,
            d.phone,
            d.plate,
            d.enterprise,
            d.member,
            d.home_county,
            d.verification_stage,
            d.verification_outcome,
            d.branch,
            d.contact,
            d.phones,
            d.enterprises,
            s.source,
            s.row_no,
        )
        .join(s, and_(s.province == d.province, s.driver_key == d.key))
        .where(d.province == province, d.status == "active")
        .order_by(d.id, s.source, s.row_no)
    )
    count = 0
    with database.engine.connect() as connection:
        rows = connection.execution_options(stream_results=True, yield_per=10_000).execute(query)
        for driver_id, group in groupby(rows, key=lambda row: row[0]):
            records = list(group)
            (
                _,
                id_number,
                name,
                phone,
                plate,
                enterprise,
                member,
                county,
                stage,
                outcome,
                branch,
                contact,
                phones,
                enterprises,
                _,
                _,
            ) = records[0]
            conflicts = ";".join(
                f"{label}={n}"
                for label, n in (("phone", phones), ("enterprise", enterprises))
                if n and n > 1
            )
            writer.writerow(
                (
                    driver_code(province, driver_id),
                    id_number if reveal else mask_id(id_number),
                    name if reveal else mask_name(name),
                    phone if reveal else mask_phone(phone),
                    plate if reveal else mask_plate(plate),
                    enterprise or "",
                    (1 if member else 0) if reveal else "",
                    county or "",
                    stage,
                    outcome,
                    (branch or "") if reveal else "",
                    (driver_code(province, contact) if contact else "") if reveal else "",
                    ";".join(f"{r[14]}:{r[15]}" for r in records) if reveal else "",
                    conflicts,
                )
            )
            count += 1
    return count


def export_quarantine(database: Database, province: str, out: TextIO) -> int:
    """Write the province's quarantined rows (source, row, reason); returns how many."""
    writer = SafeCsvWriter(out)
    writer.writerow(QUARANTINE_COLUMNS)
    count = 0
    with database.engine.connect() as connection:
        rows = connection.execute(
            select(SourceRecord.source, SourceRecord.row_no, SourceRecord.quarantine)
            .where(SourceRecord.province == province, SourceRecord.quarantine.is_not(None))
            .order_by(SourceRecord.source, SourceRecord.row_no)
        )
        for source, row_no, reason in rows:
            writer.writerow((source, row_no, reason))
            count += 1
    return count
