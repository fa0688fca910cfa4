"""Jiangsu (江苏, 32): recognition.

Pioneer fleets are scored for the grid model (网格化党支部): a fleet's member drivers enrolled in
a grid branch add 2 points each, at most 10, to core's score, because in Zhenjiang the grids,
not the enterprises, carry the party's work on the road.
"""

from __future__ import annotations

from decimal import Decimal

from chelun import hookimpl
from chelun.recognition.models import AwardKind, CampaignInfo, NominationItem, Score
from chelun.recognition.scoring import default_score, rounded

PROVINCES = ("32",)

GRID_POINTS = Decimal("2")
GRID_CAP = Decimal("10")


def grid_score(kind: AwardKind, item: NominationItem, campaign: CampaignInfo) -> Score:
    """Core's score of a fleet, plus the grid part."""
    base = default_score(kind, item, campaign.period_end)
    grid = rounded(min(GRID_POINTS * item.grid_members, GRID_CAP))
    return Score(
        criteria=base.criteria,
        facts=base.facts + grid,
        parts={**base.parts, "grid": grid},
        reason=f"{base.reason}; Jiangsu grid model: {item.grid_members} member driver(s) in "
        f"grid branches +{grid}",
    )


@hookimpl
def chelun_score_nominations(
    province: str, kind: AwardKind, campaign: CampaignInfo, nominations: list[NominationItem]
) -> list[Score | None] | None:
    if kind.nominee != "enterprise":
        return None
    return [grid_score(kind, item, campaign) for item in nominations]
