"""Models that cross the recognition hooks: award kinds as data, what eligibility and scoring
see of a nomination, their decisions, the final list's publications, and care visits.

Nominees appear by their public identifier only: a driver by roster code (``32-0000042``), a
fleet or enterprise by its unified social credit code (public by law). Scores and points are
``Decimal`` with two places, never float.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: Who an award is for: any driver on the roster, member drivers only, or a fleet (an
#: enterprise, by its unified social credit code).
NomineeKind = Literal["driver", "member_driver", "enterprise"]
NOMINEE_KINDS: tuple[str, ...] = get_args(NomineeKind)
#: Who may nominate: a party branch (by its code), an enterprise (by its credit code) or a
#: city's transport-industry committee (by the city's six-digit code, ``320100``).
UnitKind = Literal["branch", "enterprise", "city_committee"]
UNIT_KINDS: tuple[str, ...] = get_args(UnitKind)
#: The rules core's eligibility check applies, each named by a kind's ``disqualifiers``:
#: ``unverified`` (not confirmed by the roster's verification), ``upheld_complaint`` (a
#: complaint about the driver upheld, from the conduct record a plugin supplies),
#: ``fraud_claim`` (an insurance claim rejected for fraud in the period), ``unsafe`` (violations,
#: accidents or a credit blacklisting in the period, from the safety record a plugin supplies),
#: ``no_safety_record`` (no plugin supplied a record: the record must be shown to be clean).
#: Being on the roster, active, and a member for a member-only award are always checked.
Disqualifier = Literal[
    "unverified", "upheld_complaint", "fraud_claim", "unsafe", "no_safety_record"
]
DISQUALIFIERS: tuple[str, ...] = get_args(Disqualifier)
#: Facts from the data that scoring may weigh: drivers paired with a member driver (结对联系)
#: and grievances a member driver relayed in the period (for a fleet: those of its member
#: drivers), whole years without a violation (from the safety record), and for a fleet its
#: drivers, member drivers and member drivers enrolled in a grid branch.
Fact = Literal["paired", "relayed", "years_clean", "drivers", "members", "grid_members"]
FACTS: tuple[str, ...] = get_args(Fact)

HUNDREDTH = Decimal("0.01")


def points(value: Decimal | int | str) -> Decimal:
    """A number of points with two places; a float or more places is refused."""
    if isinstance(value, float):
        raise ValueError("points are Decimal or text, never float")
    amount = Decimal(value)
    if not amount.is_finite() or amount != amount.quantize(HUNDREDTH):
        raise ValueError("points have at most two decimal places")
    return amount.quantize(HUNDREDTH)


class Criterion(BaseModel):
    """One criterion reviewers score (事迹, 作用发挥 ...): its code, its weight in the total,
    and the highest score a reviewer may give."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1, max_length=50)
    weight: Decimal = Field(gt=0, le=10)
    max_score: Decimal = Field(default=Decimal(100), gt=0, le=1000)

    @field_validator("weight", "max_score", mode="before")
    @classmethod
    def _no_float(cls, value: Any) -> Any:
        if isinstance(value, float):
            raise ValueError("weights and scores are Decimal or text, never float")
        return value


class FactWeight(BaseModel):
    """Points for a fact from the data: ``points`` per unit, at most ``cap`` in all."""

    model_config = ConfigDict(frozen=True)

    fact: Fact
    points: Decimal = Field(gt=0, le=100)
    cap: Decimal = Field(gt=0, le=1000)

    @field_validator("points", "cap", mode="before")
    @classmethod
    def _no_float(cls, value: Any) -> Any:
        if isinstance(value, float):
            raise ValueError("points are Decimal or text, never float")
        return value


class Quotas(BaseModel):
    """How many nominations and places an award allows; None: no limit of that kind.

    ``nominations_per_unit`` limits what one unit may nominate (a nomination beyond it is
    refused); ``per_unit``, ``per_city`` and ``per_province`` limit the places on the final
    list: of one nominating unit, of nominees of one city (prefecture) and in all.
    """

    model_config = ConfigDict(frozen=True)

    nominations_per_unit: int | None = Field(default=None, ge=1, le=10_000)
    per_unit: int | None = Field(default=None, ge=1, le=10_000)
    per_city: int | None = Field(default=None, ge=1, le=10_000)
    per_province: int | None = Field(default=None, ge=1, le=100_000)


class AwardKind(BaseModel):
    """An award as data (先锋车队, 优秀党员货车司机, 最美货车司机): a plugin registers it, core
    runs its campaigns. A campaign keeps the kind as it was when opened."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1, max_length=100)
    nominee: NomineeKind
    nominators: tuple[UnitKind, ...] = Field(min_length=1)
    quotas: Quotas = Quotas()
    criteria: tuple[Criterion, ...] = Field(min_length=1)
    facts: tuple[FactWeight, ...] = ()
    notice_days: int = Field(
        default=5, ge=1, le=60, description="Working days of public notice (公示)."
    )
    disqualifiers: tuple[Disqualifier, ...] = ()
    description: str = ""

    @model_validator(mode="after")
    def _distinct(self) -> AwardKind:
        codes = [criterion.code for criterion in self.criteria]
        if len(set(codes)) != len(codes):
            raise ValueError(f"award {self.code} names a criterion twice")
        facts = [weight.fact for weight in self.facts]
        if len(set(facts)) != len(facts):
            raise ValueError(f"award {self.code} weighs a fact twice")
        return self

    def criterion(self, code: str) -> Criterion | None:
        return next((c for c in self.criteria if c.code == code), None)


class CampaignInfo(BaseModel):
    """What a hook sees of a campaign."""

    model_config = ConfigDict(frozen=True)

    id: int
    province: str
    kind: str
    name: str
    status: str
    period_start: dt.date = Field(description="First day of the period eligibility looks at.")
    period_end: dt.date = Field(description="Last day of that period.")


class SafetyRecord(BaseModel):
    """A nominee's record in the period, as a plugin supplies it (traffic police, the
    transport department's credit system, a platform): violations, accidents, credit
    blacklisting, and complaints about the nominee that an authority upheld."""

    model_config = ConfigDict(frozen=True)

    violations: int = Field(default=0, ge=0)
    accidents: int = Field(default=0, ge=0)
    blacklisted: bool = False
    upheld_complaints: int = Field(default=0, ge=0)
    last_violation: dt.date | None = Field(
        default=None, description="The day of the latest violation ever recorded, if any."
    )
    source: str = Field(max_length=100, description="Where the record comes from.")


class NominationItem(BaseModel):
    """What eligibility and scoring see of one nomination: the nominee by public identifier,
    the unit, and the facts core read from the data. No name, phone or ID number."""

    model_config = ConfigDict(frozen=True)

    nominee: str = Field(description="Driver code (32-0000042) or credit code of a fleet.")
    nominee_kind: Literal["driver", "enterprise"]
    unit: str = Field(description="The nominating unit: branch code, credit code or city code.")
    unit_kind: UnitKind
    unit_branch_kind: Literal["enterprise", "mobile", "grid"] | None = Field(
        default=None, description="The kind of branch, when a branch nominated."
    )
    city: str | None = Field(default=None, description="The nominee's city (six digits, 320100).")
    on_roster: bool = Field(description="A driver on the roster and active; a fleet it knows.")
    verified: bool = False
    member: bool = False
    branch: str | None = Field(default=None, description="The member driver's branch code.")
    enterprise: str | None = Field(default=None, description="A driver's enterprise credit code.")
    fraud_claims: int = Field(
        default=0, description="The driver's claims rejected for fraud, reported in the period."
    )
    fraud_claims_ever: int = Field(
        default=0, description="The driver's claims rejected for fraud, whenever reported."
    )
    drivers_fraud_claims: int = Field(
        default=0,
        description="For a fleet: its drivers' claims rejected for fraud, reported in the period.",
    )
    safety: SafetyRecord | None = None
    paired: int = 0
    relayed: int = 0
    drivers: int = 0
    members: int = 0
    grid_members: int = 0
    scores: dict[str, Decimal] = Field(
        default_factory=dict,
        description="Per criterion, the mean of its reviewers' scores (set for scoring).",
    )
    reviewers: dict[str, int] = Field(
        default_factory=dict, description="Per criterion, how many reviewers scored it."
    )

    def years_clean(self, on: dt.date) -> int:
        """Whole years without a violation, as of ``on``: 0 without a safety record; since the
        record's horizon (10 years) when it names no violation."""
        if self.safety is None:
            return 0
        last = self.safety.last_violation
        if last is None:
            return 10
        years = on.year - last.year - ((on.month, on.day) < (last.month, last.day))
        return max(0, min(years, 10))


class Eligibility(BaseModel):
    """A decision of ``chelun_check_nominations``: whether one nominee may go on, and why.
    An exclusion names its rule (a disqualifier or a rule of the plugin's own)."""

    eligible: bool
    reason: str = Field(min_length=1, max_length=300, description="Why; no personal data.")
    rule: str | None = Field(default=None, max_length=40)

    @model_validator(mode="after")
    def _rule_for_exclusion(self) -> Eligibility:
        if not self.eligible and not self.rule:
            raise ValueError("an exclusion names its rule")
        return self


class Score(BaseModel):
    """A decision of ``chelun_score_nominations``: one nominee's points, in two parts. The
    reviewers' part (``criteria``) also breaks ties; ``parts`` says where every point comes
    from (criterion and fact codes, or the plugin's own)."""

    criteria: Decimal = Field(ge=0)
    facts: Decimal = Field(default=Decimal(0), ge=0)
    parts: dict[str, Decimal] = Field(default_factory=dict)
    reason: str = Field(min_length=1, max_length=300)

    @field_validator("criteria", "facts", mode="before")
    @classmethod
    def _two_places(cls, value: Any) -> Decimal:
        return points(value)

    @property
    def total(self) -> Decimal:
        return self.criteria + self.facts


class ListEntry(BaseModel):
    """One place of a published final list, as its publications see it."""

    model_config = ConfigDict(frozen=True)

    rank: int
    nominee: str
    nominee_kind: Literal["driver", "enterprise"]
    unit: str
    unit_kind: UnitKind
    city: str | None
    total_score: Decimal
    branch: str | None = Field(default=None, description="The awarded member driver's branch.")


class Publication(BaseModel):
    """How a final list reaches one audience: an HTTP POST of ``payload`` as JSON to ``url``,
    sent by core with the header ``Idempotency-Key`` (campaign and channel), retried, never
    repeated once accepted."""

    channel: str = Field(min_length=1, max_length=120, description="e.g. group-chat:<branch>.")
    url: str
    payload: dict[str, Any]
    headers: dict[str, str] = Field(default_factory=dict)


#: Why a driver is visited: a member driver, or a driver in hardship.
VisitKind = Literal["member", "hardship"]
VISIT_KINDS: tuple[str, ...] = get_args(VisitKind)
#: Who visits: the secretary of a branch, or a party-building instructor (党建指导员).
VisitorRole = Literal["branch_secretary", "instructor"]
VISITOR_ROLES: tuple[str, ...] = get_args(VisitorRole)


class VisitCandidate(BaseModel):
    """A driver a visit plan may take: a member driver, or a driver the data shows in
    hardship (a claim rejected lately, a grievance long unresolved)."""

    model_config = ConfigDict(frozen=True)

    driver: str
    member: bool
    home_county: str | None = None
    branch: str | None = None
    rejected_claims: int = Field(default=0, description="Claims rejected in the look-back days.")
    open_grievance_days: int | None = Field(
        default=None, description="Days the driver's oldest unresolved grievance has waited."
    )
    last_visit: dt.date | None = Field(default=None, description="The last visit done, if any.")


class VisitSelection(BaseModel):
    """A decision of ``chelun_select_for_visits``: visit this driver in the period, and why."""

    visit: bool
    kind: VisitKind = "hardship"
    reason: str = Field(min_length=1, max_length=300)


class VisitItem(BaseModel):
    """A visit to assign: the driver, why, and where they belong."""

    model_config = ConfigDict(frozen=True)

    driver: str
    kind: VisitKind
    home_county: str | None = None
    branch: str | None = Field(default=None, description="The driver's own branch, if a member.")
    contact_branch: str | None = Field(
        default=None, description="The branch of the paired member driver, if any."
    )


class VisitAssignment(BaseModel):
    """A decision of ``chelun_assign_visits``: who visits, for which unit, and where."""

    role: VisitorRole
    unit: str = Field(min_length=1, max_length=100, description="Branch code or instructor unit.")
    place: str | None = Field(default=None, max_length=100, description="Where, if not at home.")
    reason: str = Field(min_length=1, max_length=300)
