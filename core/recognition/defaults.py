"""Core's default hook implementations of recognition, registered in every province.

They run after every plugin (``trylast``), so a province plugin's decision wins. Core registers
the three awards of the pilot (``chelun.recognition.kinds``), keeps no safety record and publishes
final lists nowhere but its own export. The rules are in docs/recognition.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from chelun.hooks import hookimpl
from chelun.recognition.models import (
    AwardKind,
    CampaignInfo,
    Eligibility,
    ListEntry,
    NominationItem,
    Publication,
    SafetyRecord,
    Score,
    VisitAssignment,
    VisitCandidate,
    VisitItem,
    VisitSelection,
)


@hookimpl(trylast=True)
def chelun_award_kinds(province: str, register: Callable[[AwardKind], None]) -> None:
    from chelun.recognition.kinds import STANDARD_KINDS

    for kind in STANDARD_KINDS:
        register(kind)


@hookimpl(trylast=True)
def chelun_safety_records(
    province: str, nominees: list[str], since: dt.date, until: dt.date
) -> list[SafetyRecord | None] | None:
    return None


@hookimpl(trylast=True)
def chelun_check_nominations(
    province: str, kind: AwardKind, campaign: CampaignInfo, nominations: list[NominationItem]
) -> list[Eligibility | None]:
    from chelun.recognition.eligibility import default_eligibility

    return [default_eligibility(kind, item) for item in nominations]


@hookimpl(trylast=True)
def chelun_score_nominations(
    province: str, kind: AwardKind, campaign: CampaignInfo, nominations: list[NominationItem]
) -> list[Score | None]:
    from chelun.recognition.scoring import default_score

    return [default_score(kind, item, campaign.period_end) for item in nominations]


@hookimpl(trylast=True)
def chelun_award_publications(
    province: str, campaign: CampaignInfo, entries: list[ListEntry]
) -> list[Publication]:
    return []


@hookimpl(trylast=True)
def chelun_select_for_visits(
    province: str, period: str, candidates: list[VisitCandidate]
) -> list[VisitSelection | None]:
    from chelun.recognition.visits import default_selection

    return [default_selection(candidate, period) for candidate in candidates]


@hookimpl(trylast=True)
def chelun_assign_visits(province: str, visits: list[VisitItem]) -> list[VisitAssignment | None]:
    return [default_assignment(visit) for visit in visits]


def default_assignment(visit: VisitItem) -> VisitAssignment:
    """Core's visitor: a member's branch secretary; a paired driver's, the secretary of the
    paired member's branch; anyone else's, the party-building instructor (党建指导员) of the
    home county (or of the province when it is not known)."""
    if visit.branch:
        return VisitAssignment(
            role="branch_secretary",
            unit=visit.branch,
            reason="the secretary of the driver's branch",
        )
    if visit.contact_branch:
        return VisitAssignment(
            role="branch_secretary",
            unit=visit.contact_branch,
            reason="the secretary of the paired member driver's branch",
        )
    where = visit.home_county or visit.driver[:2]
    return VisitAssignment(
        role="instructor",
        unit=f"instructor:{where}",
        reason="no branch: the instructor of the driver's home county"
        if visit.home_county
        else "no branch and no home county: the province's instructor",
    )
