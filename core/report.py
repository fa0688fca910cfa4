"""Summary tables for people: figures only, no personal data."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from chelun.divisions import divisions
from chelun.roster.service import RosterSummary


def _province_label(code: str) -> str:
    return f"{code} {divisions().province_names.get(code, '')}".strip()


def print_intake_summary(
    console: Console, summaries: Sequence[RosterSummary], *, title: str = "Roster"
) -> None:
    """The roster's figures per province, then every source's row account."""
    table = Table(title=title)
    for column in ("province", "drivers", "members", "share", "merged", "phones ≠", "quarantined"):
        table.add_column(column, justify="right" if column != "province" else "left")
    totals = Counter[str]()
    for summary in summaries:
        quarantined = sum(a.quarantined for a in summary.accounts)
        table.add_row(
            _province_label(summary.province),
            f"{summary.drivers:,}",
            f"{summary.members:,}",
            f"{summary.member_share:.1%}",
            f"{summary.merged_from_several_sources:,}",
            f"{summary.conflicting_phones:,}",
            f"{quarantined:,}",
        )
        totals.update(
            drivers=summary.drivers,
            members=summary.members,
            merged=summary.merged_from_several_sources,
            phones=summary.conflicting_phones,
            quarantined=quarantined,
        )
    if len(summaries) > 1:
        share = totals["members"] / totals["drivers"] if totals["drivers"] else 0.0
        table.add_row(
            "all",
            f"{totals['drivers']:,}",
            f"{totals['members']:,}",
            f"{share:.1%}",
            f"{totals['merged']:,}",
            f"{totals['phones']:,}",
            f"{totals['quarantined']:,}",
            style="bold",
        )
    table.caption = (
        "share: members / drivers; merged: drivers found in more than one source; "
        "phones ≠: drivers whose sources give different phones"
    )
    console.print(table)

    funnel = Table(title="Verification, enrolment and pairing")
    for column in (
        "province",
        "confirmed",
        "at phone",
        "at visit",
        "failed",
        "branches e/m/g",
        "enrolled",
        "paired",
    ):
        funnel.add_column(column, justify="left" if column == "prov." else "right")
    for summary in summaries:
        v = summary.verification
        confirmed = sum(n for key, n in v.items() if key.endswith(":confirmed"))
        branches = "/".join(
            f"{summary.branches.get(kind, 0):,}" for kind in ("enterprise", "mobile", "grid")
        )
        enrolled = "/".join(
            f"{summary.enrolled.get(kind, 0):,}" for kind in ("enterprise", "mobile", "grid")
        )
        funnel.add_row(
            summary.province,
            f"{confirmed:,}",
            f"{v.get('phone:pending', 0):,}",
            f"{v.get('visit:pending', 0):,}",
            f"{sum(n for key, n in v.items() if key.endswith(':failed')):,}",
            branches,
            enrolled,
            f"{summary.paired:,}",
        )
    funnel.caption = (
        "confirmed: by cross-source match, phone check or home visit; phone, visit: waiting "
        "there; e/m/g: enterprise, mobile, grid branches and the member drivers enrolled in "
        "them; paired: ordinary drivers with a member driver as contact"
    )
    console.print(funnel)

    reasons = sorted(
        {reason for summary in summaries for a in summary.accounts for reason in a.reasons}
    )
    if reasons:
        by_reason = Table(title="Quarantined rows by reason (roster quarantine lists each row)")
        by_reason.add_column("reason")
        for summary in summaries:
            by_reason.add_column(summary.province, justify="right")
        for reason in reasons:
            by_reason.add_row(
                reason,
                *(f"{sum(a.reasons.get(reason, 0) for a in s.accounts):,}" for s in summaries),
            )
        console.print(by_reason)

    accounts = Table(title="Rows in = on the roster + quarantined, per source")
    for column in ("province", "source", "rows in", "on roster", "quarantined", "balanced"):
        accounts.add_column(column, justify="left" if column in ("province", "source") else "right")
    for summary in summaries:
        for account in summary.accounts:
            accounts.add_row(
                summary.province,
                account.source,
                f"{account.rows_in:,}",
                f"{account.on_roster:,}",
                f"{account.quarantined:,}",
                "yes" if account.balanced else "[bold red]NO[/]",
            )
    console.print(accounts)
