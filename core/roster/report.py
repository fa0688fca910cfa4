"""Summary tables for people: figures only, no personal data."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from rich.console import Console
from rich.table import Table

from chelun.identity.divisions import divisions
from chelun.roster.service import RosterSummary

#: The quarantine reasons in a few words, for people reading the summary.
REASON_WORDS = {
    "unreadable": "the row could not be read",
    "no_identity": "no name and no valid ID number",
    "name_only": "a name only: no ID number, phone or plate",
    "overlong": "a name or enterprise longer than any real one",
    "invalid_id_unlinked": "invalid ID number that nothing corroborates",
    "invalid_id_repeated": "the same invalid ID number on rows with no phone or plate",
    "id_conflict": "a valid ID number carried under another person's name",
    "ambiguous": "fits several drivers equally",
}


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
        "members: drivers who are party members (in the party member database, or marked so "
        "in a village sheet); share: members / drivers; merged: drivers found in more than one "
        "source; phones ≠: drivers whose sources give different phones"
    )
    console.print(table)

    funnel = Table(title="Verification, enrolment and pairing")
    funnel.add_column("")
    for summary in summaries:
        funnel.add_column(summary.province, justify="right")

    def confirmed_at(summary: RosterSummary, stage: str) -> int:
        return summary.verification.get(f"{stage}:confirmed", 0)

    rows: list[tuple[str, Callable[[RosterSummary], int]]] = [
        ("confirmed by cross-source match", lambda s: confirmed_at(s, "match")),
        ("confirmed by phone check", lambda s: confirmed_at(s, "phone")),
        ("confirmed by home visit", lambda s: confirmed_at(s, "visit")),
        ("waiting for a phone check", lambda s: s.verification.get("phone:pending", 0)),
        ("waiting for a home visit", lambda s: s.verification.get("visit:pending", 0)),
        ("failed verification", lambda s: s.verification.get("visit:failed", 0)),
        ("enterprise branches", lambda s: s.branches.get("enterprise", 0)),
        ("mobile branches", lambda s: s.branches.get("mobile", 0)),
        ("grid branches", lambda s: s.branches.get("grid", 0)),
        ("members in enterprise branches", lambda s: s.enrolled.get("enterprise", 0)),
        ("members in mobile branches", lambda s: s.enrolled.get("mobile", 0)),
        ("members in grid branches", lambda s: s.enrolled.get("grid", 0)),
        ("drivers paired with a member", lambda s: s.paired),
    ]
    for label, value in rows:
        funnel.add_row(label, *(f"{value(summary):,}" for summary in summaries))
    console.print(funnel)

    reasons = sorted(
        {reason for summary in summaries for a in summary.accounts for reason in a.reasons}
    )
    if reasons:
        by_reason = Table(title="Quarantined rows by reason (roster quarantine lists each row)")
        by_reason.add_column("reason")
        by_reason.add_column("what it means")
        for summary in summaries:
            by_reason.add_column(summary.province, justify="right")
        for reason in reasons:
            by_reason.add_row(
                reason,
                REASON_WORDS.get(reason, ""),
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
