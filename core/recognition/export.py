"""A campaign's list as CSV: every nominee with rank, total score, status and reason.

Once the campaign is published the status is one of ``awarded``, ``excluded``, ``withdrawn`` or
``not placed``; before, the list is provisional and a nominee still in the running shows where
it stands (``nominated``, ``eligible``, ``scored``, ``shortlisted``, ``not placed``). Ranked
nominees come first in rank order, then the others by nominee. Nominees appear by driver code or
credit code; the unit's reasons for a nomination are not exported.
"""

from __future__ import annotations

from typing import TextIO

from sqlalchemy import select

from chelun.outputs import SafeCsvWriter
from chelun.storage.db import Database
from chelun.storage.tables import AwardCampaign, AwardNomination

COLUMNS = (
    "rank",
    "nominee",
    "total_score",
    "status",
    "reason",
    "nominee_kind",
    "unit",
    "unit_kind",
    "city",
    "reviewers_points",
    "facts_points",
    "checked_by",
    "scored_by",
)
#: Statuses shown as they are once the list is published; every other one is "not placed".
FINAL = ("awarded", "excluded", "withdrawn")


def shown_status(status: str, published: bool) -> str:
    """A nomination's status as the export says it."""
    if status in FINAL:
        return status
    if published or status == "not_placed":
        return "not placed"
    return status


def export_campaign(database: Database, campaign: int, out: TextIO) -> int:
    """Write one campaign's nominees; how many."""
    writer = SafeCsvWriter(out)
    writer.writerow(COLUMNS)
    with database.engine.connect() as connection:
        status = connection.execute(
            select(AwardCampaign.status).where(AwardCampaign.id == campaign)
        ).scalar_one()
        rows = connection.execute(
            select(AwardNomination.__table__).where(AwardNomination.campaign_id == campaign)
        ).all()
    published = status == "published"
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, r.nominee))
    for row in rows:
        writer.writerow(
            (
                "" if row.rank is None else row.rank,
                row.nominee,
                "" if row.total_score is None else row.total_score,
                shown_status(row.status, published),
                row.status_reason or "",
                row.nominee_kind,
                row.unit,
                row.unit_kind,
                row.city or "",
                "" if row.criteria_points is None else row.criteria_points,
                "" if row.fact_points is None else row.fact_points,
                row.checked_by or "",
                row.scored_by or "",
            )
        )
    return len(rows)
