"""Models that cross the recognition hooks: award kinds, nominations, decisions, care visits.

Awards (先锋车队 pioneer fleets, 优秀党员货车司机, 最美货车司机) run as campaigns: nomination,
eligibility, scoring, quotas, a public notice period (公示) open to objections, the final list.
Care visits (走访慰问) go to member drivers and drivers. No model here holds a name, ID number,
phone, plate, health or family detail: drivers appear by their roster code only.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class QuotaRule(BaseModel):
    """A cap on an award's finalists: per city when ``city`` is set, per province when only
    ``province`` is set, overall when neither is."""

    model_config = ConfigDict(frozen=True)

    province: str | None = Field(default=None, description="Two-digit province code.")
    city: str | None = Field(default=None, description="Four-digit city code.")
    count: int = Field(ge=0)


class AwardKind(BaseModel):
    """A kind of award, contributed through ``chelun_award_kinds``."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(description="Stable code, e.g. 'pioneer-fleet'.")
    name: str = Field(description="E.g. '先锋车队', '优秀党员货车司机', '最美货车司机'.")
    collective: bool = Field(description="True for a collective award such as a pioneer fleet.")
    members_only: bool = Field(description="True when only party members may receive it.")
    clean_record_years: int = Field(
        default=0, ge=0, description="Years without an at-fault accident required; 0: none."
    )
    notice_working_days: int = Field(
        default=5, gt=0, description="Length of the public notice period (公示), in working days."
    )
    quotas: tuple[QuotaRule, ...] = ()


class SafetyRecord(BaseModel):
    """A nominee's road safety record over the last ``years`` years, counts only."""

    model_config = ConfigDict(frozen=True)

    years: int = Field(gt=0)
    at_fault_accidents: int = Field(ge=0)
    serious_violations: int = Field(ge=0)
    checked_on: dt.date
    source: str = Field(description="Where the record comes from, e.g. 'public security'.")


class Nomination(BaseModel):
    """A nomination for an award in one campaign."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(description="Stable code, unique in the campaign.")
    campaign: str = Field(description="Code of the campaign, e.g. '2024-zuimei'.")
    award: str = Field(description="Code of the award kind.")
    province: str
    city: str | None = Field(default=None, description="Four-digit city code.")
    nominee: str = Field(
        description=(
            "For an individual award the roster's driver code, e.g. '32-0000042'; for a "
            "collective award the fleet's code. Never a name or ID number."
        )
    )
    member: bool = Field(description="For an individual award: the nominee is a party member.")
    fleet_drivers: tuple[str, ...] = Field(
        default=(), description="For a collective award: driver codes of the fleet's drivers."
    )
    nominated_by: str = Field(description="Code of the branch or body that nominated.")
    citation: str = Field(
        description="The deeds, as published in the notice; no personal data beyond the deeds."
    )
    safety: SafetyRecord | None = Field(default=None, description="None: not checked yet.")


class EligibilityDecision(BaseModel):
    """A decision of ``chelun_check_eligibility``: may the nominee receive the award, and why."""

    eligible: bool
    reasons: tuple[str, ...] = Field(min_length=1)


class Score(BaseModel):
    """A decision of ``chelun_score_nomination``: the points and how they add up."""

    points: float
    breakdown: dict[str, float] = Field(
        default_factory=dict, description="Points by criterion, e.g. {'deeds': 40.0}."
    )
    reason: str


class Objection(BaseModel):
    """An objection raised during the public notice period (公示).

    The objector's identity is not recorded here: it stays with the body that received it.
    """

    model_config = ConfigDict(frozen=True)

    code: str
    nomination: str = Field(description="Code of the nomination objected to.")
    received_on: dt.date
    ground: str = Field(description="What is objected to; no personal data.")
    status: Literal["pending", "upheld", "dismissed"] = "pending"
    resolution: str = ""


class CareVisitTarget(BaseModel):
    """A driver to visit (走访慰问), contributed through ``chelun_care_visit_targets``."""

    model_config = ConfigDict(frozen=True)

    driver: str = Field(description="The roster's public driver code, e.g. '62-0000042'.")
    member: bool
    county: str | None = Field(default=None, description="Six-digit code of the home county.")
    reason: str = Field(
        description=(
            "A short category, e.g. 'hardship', 'injured_on_duty', 'festival_on_road', "
            "'exemplary'. Never medical or family details: those are sensitive personal data."
        )
    )
    priority: int = Field(default=50, description="Lower visits first.")


class CareVisitPlan(BaseModel):
    """The visits a province plans for one occasion, e.g. the Spring Festival."""

    model_config = ConfigDict(frozen=True)

    code: str
    province: str
    occasion: str
    starts_on: dt.date
    ends_on: dt.date
    targets: tuple[CareVisitTarget, ...]


class CareVisit(BaseModel):
    """A care visit made."""

    model_config = ConfigDict(frozen=True)

    plan: str = Field(description="Code of the plan.")
    driver: str
    visited_on: dt.date
    visitor: str = Field(description="The visiting unit, e.g. a county transport committee.")
    place: Literal["home", "drivers_home", "enterprise", "roadside", "phone"]
    support: str = Field(default="", description="What was given, e.g. 'winter care package'.")
    note: str = Field(default="", description="No medical or family details.")
