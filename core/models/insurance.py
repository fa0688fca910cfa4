"""Models that cross the insurance hooks: schemes, claims, coverage, assessment, submission.

Gansu's 车货无忧 ("no worries for truck and cargo") is a free public liability insurance for fuel
and cargo stolen from trucks resting at night in expressway service areas; other provinces may
have other schemes, or none. Amounts are in yuan (CNY). No model here holds a name, ID number,
phone, plate or bank account: drivers appear by their roster code only, and the insurer pays the
account it holds for the driver.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

#: What was stolen.
LossKind = Literal["fuel", "cargo", "vehicle_parts"]

#: The checks a coverage decision is made of.
CoverageCheck = Literal["site", "night_window", "policy_period", "loss_kind", "evidence"]


class CoveredSite(BaseModel):
    """A place a scheme covers: an expressway service area or a truck park."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(description="Stable code, unique in the scheme, e.g. 'G30-LZ-E'.")
    name: str
    road: str = Field(default="", description="The expressway, e.g. 'G30 连霍高速'.")
    county: str | None = Field(default=None, description="Six-digit code of its county.")


class NightWindow(BaseModel):
    """The hours of the night a scheme covers, in Beijing time; crosses midnight when
    ``end <= start`` (e.g. 20:00 to 06:00)."""

    model_config = ConfigDict(frozen=True)

    start: dt.time
    end: dt.time


class PolicyPeriod(BaseModel):
    """The days a policy is in force, both ends included."""

    model_config = ConfigDict(frozen=True)

    start: dt.date
    end: dt.date


class InsuranceScheme(BaseModel):
    """An insurance scheme for drivers, contributed through ``chelun_insurance_schemes``."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(description="Stable code, e.g. 'GS-CHEHUO-2024'.")
    name: str = Field(description="E.g. '车货无忧'.")
    province: str = Field(description="Two-digit province code.")
    insurer: str = Field(description="The insurance company (a company, not a person).")
    sites: tuple[CoveredSite, ...]
    night_window: NightWindow
    period: PolicyPeriod
    limits: dict[LossKind, Decimal] = Field(
        description=(
            "Most the scheme pays per incident, by kind of loss; a kind absent is not covered."
        )
    )


class Loss(BaseModel):
    """One thing stolen in an incident, with the amount the driver claims for it."""

    model_config = ConfigDict(frozen=True)

    kind: LossKind
    description: str = Field(description="E.g. '200 L diesel'; no personal data.")
    claimed_amount: Decimal = Field(ge=0)


class Incident(BaseModel):
    """What was stolen, when and where."""

    model_config = ConfigDict(frozen=True)

    occurred_at: AwareDatetime = Field(description="Best estimate of when the theft happened.")
    discovered_at: AwareDatetime | None = None
    site_code: str | None = Field(
        default=None, description="Code of the scheme's site where it happened; None if none."
    )
    site_name: str = Field(description="The place as the driver named it.")
    losses: tuple[Loss, ...] = Field(min_length=1)
    description: str = Field(default="", description="What happened; no personal data.")


class Evidence(BaseModel):
    """What backs a claim. Only references: the files stay in access-controlled storage."""

    model_config = ConfigDict(frozen=True)

    police_report_number: str | None = Field(
        default=None, description="Number of the police receipt (报警回执)."
    )
    photos: tuple[str, ...] = Field(
        default=(),
        description=(
            "Storage keys of the photos, never the images: photos can show faces and plates, "
            "which are personal data."
        ),
    )
    documents: tuple[str, ...] = Field(
        default=(), description="Storage keys of other documents, e.g. fuel receipts."
    )


class Claim(BaseModel):
    """A driver's claim under a scheme."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(description="Stable code, unique in the province, e.g. 'C62-2024-000077'.")
    scheme: str = Field(description="Code of the scheme claimed under.")
    province: str
    driver: str = Field(
        description="The roster's public driver code, e.g. '62-0000042'; never a name or ID."
    )
    incident: Incident
    evidence: Evidence
    filed_at: AwareDatetime


class CoverageDecision(BaseModel):
    """A decision of ``chelun_check_coverage``: is the incident covered, and why (not)."""

    covered: bool
    failed: tuple[CoverageCheck, ...] = Field(
        default=(), description="The checks that failed; empty when covered."
    )
    reasons: tuple[str, ...] = Field(min_length=1)


class ClaimAssessment(BaseModel):
    """A decision of ``chelun_assess_claim``: how much to pay, and why."""

    approved_amount: Decimal = Field(ge=0, description="Total to pay; zero rejects the claim.")
    amounts: dict[LossKind, Decimal] = Field(
        default_factory=dict, description="The approved amount by kind of loss."
    )
    reasons: tuple[str, ...] = Field(min_length=1)


class SubmissionReceipt(BaseModel):
    """What the insurer's system answered to a claim submission."""

    idempotency_key: str = Field(description="The key the submission was made with.")
    insurer_reference: str = Field(description="The insurer's number for the claim.")
    submitted_at: AwareDatetime
    status: Literal["accepted", "rejected"]
    detail: str = Field(default="", description="The insurer's message; no personal data.")


class Payout(BaseModel):
    """Money the insurer paid on a claim, to the account it holds for the driver."""

    model_config = ConfigDict(frozen=True)

    claim: str = Field(description="Code of the claim.")
    insurer_reference: str
    amount: Decimal = Field(ge=0)
    paid_on: dt.date
