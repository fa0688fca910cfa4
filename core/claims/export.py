"""Claims as CSV and their statistics: one row per claim, personal data only when revealed.

The statistics are computed from the stored claims, never kept as counters: how many were
reported, paid and refused (by reason code), the amount paid and the median days from report to
payment, each rate beside its denominator.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TextIO

from sqlalchemy import select

from chelun.calendar import BEIJING
from chelun.claims.models import REASONS
from chelun.identity.codes import driver_code
from chelun.outputs import SafeCsvWriter
from chelun.storage.tables import Claim

if TYPE_CHECKING:
    from chelun.claims.service import ClaimsService
    from chelun.storage.db import Database

#: The outside contract's columns first, in this order; then what a clerk needs to follow up.
COLUMNS = (
    "claim_ref",
    "status",
    "reason_code",
    "amount_payable",
    "insurer_claim_id",
    "amount_paid",
    "payment_ref",
    "product",
    "site",
    "site_name",
    "loss_type",
    "amount_claimed",
    "incident_time",
    "night_of",
    "policy_no",
    "driver",
    "reason",
    "reported_at",
    "submitted_at",
    "paid_at",
    "site_given",
    "photos",
    "police_report",
    "appeals",
)
#: Personal data: exported with ``--reveal`` only.
REVEALED = ("id_number", "name", "phone", "police_report_no")
QUARANTINE_COLUMNS = ("claim_ref", "product", "site_given", "reason", "reported_at")
#: The columns of ``stats_rows``.
STATS_COLUMNS = ("figure", "value", "of", "denominator")


def beijing_text(instant: dt.datetime | None) -> str:
    """``YYYY-MM-DD HH:MM`` in Beijing time, as claim files write it."""
    return instant.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if instant else ""


def amount_text(amount: Decimal | None) -> str:
    """An amount as plain decimal text with two places (``1200.00``); empty when unknown."""
    return "" if amount is None else f"{amount:.2f}"


def export_claims(service: ClaimsService, out: TextIO, *, reveal: bool) -> int:
    """Write the province's claims, in the order they were stored; how many. Quarantined rows
    are not claims yet: ``export_quarantine`` lists them. ``reason`` is what a driver reads
    for the reason code (the insurer's own code, when it refused, is in ``show``)."""
    sites = {
        (product.code, site.code): site.name
        for product in service.products().values()
        for site in product.sites
    }
    province = service.province
    writer = SafeCsvWriter(out)
    writer.writerow(COLUMNS + (REVEALED if reveal else ()))
    query = (
        select(Claim)
        .where(Claim.province == province, Claim.status != "quarantined")
        .order_by(Claim.id)
    )
    count = 0
    with service.database.sessions() as session:
        for claim in session.scalars(query).yield_per(1_000):
            row: list[Any] = [
                claim.ref,
                claim.status,
                claim.reason_code or "",
                amount_text(claim.amount_payable),
                claim.insurer_claim_id or "",
                amount_text(claim.amount_paid),
                claim.payment_ref or "",
                claim.product or "",
                claim.site or "",
                sites.get((claim.product or "", claim.site or ""), ""),
                claim.loss_type or "",
                amount_text(claim.amount_claimed),
                beijing_text(claim.incident_time),
                claim.night_of.isoformat() if claim.night_of else "",
                claim.policy_no or "",
                driver_code(province, claim.driver_id) if claim.driver_id else "",
                REASONS.get(claim.reason_code or "", ""),
                beijing_text(claim.reported_at),
                beijing_text(claim.submitted_at),
                beijing_text(claim.paid_at),
                claim.site_given or "",
                claim.photos,
                "true" if claim.police_report_no else "false",
                claim.appeals,
            ]
            if reveal:
                row += [
                    claim.id_number or "",
                    claim.name or "",
                    claim.phone or "",
                    claim.police_report_no or "",
                ]
            writer.writerow(row)
            count += 1
    return count


def export_quarantine(database: Database, province: str, out: TextIO) -> int:
    """Write the quarantined claims with what is wrong with each (column and row, never a
    value); how many."""
    writer = SafeCsvWriter(out)
    writer.writerow(QUARANTINE_COLUMNS)
    query = (
        select(Claim.ref, Claim.product, Claim.site_given, Claim.reason, Claim.reported_at)
        .where(Claim.province == province, Claim.status == "quarantined")
        .order_by(Claim.id)
    )
    count = 0
    with database.engine.connect() as connection:
        for ref, product, site_given, reason, reported_at in connection.execute(query):
            writer.writerow(
                (ref, product or "", site_given or "", reason or "", beijing_text(reported_at))
            )
            count += 1
    return count


@dataclass
class ClaimStats:
    """The claims of a province in figures. ``reported`` counts every claim stored whole (not
    quarantined): it is the denominator of ``paid`` and ``refused``."""

    reported: int = 0
    quarantined: int = 0
    paid: int = 0
    refused: int = 0
    open: int = 0
    refused_by_reason: dict[str, int] = field(default_factory=dict)
    amount_claimed: Decimal = Decimal("0.00")
    amount_paid: Decimal = Decimal("0.00")
    days_to_payment: list[float] = field(default_factory=list)

    @property
    def median_days(self) -> float | None:
        """Median days from report to payment, over the claims paid with both times known."""
        return statistics.median(self.days_to_payment) if self.days_to_payment else None


def claim_stats(
    database: Database,
    province: str,
    reported_between: tuple[dt.datetime, dt.datetime] | None = None,
) -> ClaimStats:
    """The province's claim figures, from the stored claims in one pass; only the claims
    reported in ``[start, end)`` when ``reported_between`` is given (the report's period)."""
    stats = ClaimStats()
    query = select(
        Claim.status,
        Claim.reason_code,
        Claim.amount_claimed,
        Claim.amount_paid,
        Claim.reported_at,
        Claim.paid_at,
    ).where(Claim.province == province)
    if reported_between is not None:
        start, end = reported_between
        query = query.where(Claim.reported_at >= start, Claim.reported_at < end)
    with database.engine.connect() as connection:
        for status, reason_code, claimed, paid, reported_at, paid_at in connection.execute(query):
            if status == "quarantined":
                stats.quarantined += 1
                continue
            stats.reported += 1
            stats.amount_claimed += claimed or Decimal("0.00")
            if status == "paid":
                stats.paid += 1
                stats.amount_paid += paid or Decimal("0.00")
                if reported_at is not None and paid_at is not None:
                    stats.days_to_payment.append((paid_at - reported_at).total_seconds() / 86_400)
            elif status == "rejected":
                stats.refused += 1
                code = reason_code or "unknown"
                stats.refused_by_reason[code] = stats.refused_by_reason.get(code, 0) + 1
            else:
                stats.open += 1
    return stats


def stats_rows(stats: ClaimStats) -> list[tuple[str, str, str, str]]:
    """The figures as (figure, value, "of", denominator) rows: a count beside what it is a
    count of, amounts as decimal text, the median with the number of claims it is over."""
    rows = [
        ("reported", str(stats.reported), "", ""),
        ("quarantined", str(stats.quarantined), "", ""),
        ("paid", str(stats.paid), "reported", str(stats.reported)),
        ("refused", str(stats.refused), "reported", str(stats.reported)),
        ("open", str(stats.open), "reported", str(stats.reported)),
    ]
    rows += [
        (f"refused:{code}", str(count), "refused", str(stats.refused))
        for code, count in sorted(stats.refused_by_reason.items())
    ]
    median = stats.median_days
    rows += [
        ("amount_claimed", amount_text(stats.amount_claimed), "reported", str(stats.reported)),
        ("amount_paid", amount_text(stats.amount_paid), "paid", str(stats.paid)),
        (
            "median_days_to_payment",
            "" if median is None else f"{median:.1f}",
            "paid",
            str(len(stats.days_to_payment)),
        ),
    ]
    return rows


def write_stats_csv(stats: ClaimStats, out: TextIO) -> int:
    """Write ``stats_rows`` as CSV; how many rows."""
    writer = SafeCsvWriter(out)
    writer.writerow(STATS_COLUMNS)
    rows = stats_rows(stats)
    for row in rows:
        writer.writerow(row)
    return len(rows)
