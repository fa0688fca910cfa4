"""Models that cross the claims hooks: insurance products as data, what a check sees of a claim,
and the decisions of the checks and the assessment.

Money is ``Decimal`` yuan with two places everywhere (``chelun.storage.types.Money`` stores it as
whole fen): a float is refused.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal, Protocol, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: What a scheme may cover.
LossType = Literal["fuel", "cargo"]
LOSS_TYPES: tuple[str, ...] = get_args(LossType)

#: A claim's statuses, in the order a claim usually goes through them.
ClaimStatus = Literal[
    "reported",
    "evidence_complete",
    "checked",
    "assessed",
    "submitted",
    "approved",
    "rejected",
    "paid",
    "appealed",
    "quarantined",
]
CLAIM_STATUSES: tuple[str, ...] = get_args(ClaimStatus)

#: Why a claim is refused, as codes a driver can read (``REASONS`` says them in Chinese).
ReasonCode = Literal[
    "not_on_roster",
    "no_policy_period",
    "site_not_covered",
    "outside_night_window",
    "loss_not_covered",
    "evidence_missing",
    "annual_limit_reached",
    "duplicate_suspected",
    "nothing_payable",
    "insurer_rejected",
    "fraud",
]
REASON_CODES: tuple[str, ...] = get_args(ReasonCode)
#: What each reason code says to a driver.
REASONS: dict[str, str] = {
    "not_on_roster": "未在货车司机名册中找到您的信息，请联系所在地党组织或服务站点登记",
    "no_policy_period": "事发时间不在保险有效期内",
    "site_not_covered": "事发地点不在承保的高速公路服务区范围内",
    "outside_night_window": "事发时间不在承保的夜间停车休息时段内",
    "loss_not_covered": "该损失类型不在本保险保障范围内",
    "evidence_missing": "缺少报警回执编号或现场照片，请补充后重新提交",
    "annual_limit_reached": "您本保险年度的赔付已达到年度累计限额",
    "duplicate_suspected": "同一司机在同一服务区同一晚已有报案，疑似重复，请联系工作人员核实",
    "nothing_payable": "核定损失未超过免赔额，无可赔付金额",
    "insurer_rejected": "保险公司核赔未通过，详见保险公司说明",
    "fraud": "经核查存在虚假报案或骗保情形，不予赔付",
}


def money(value: Decimal | int | str) -> Decimal:
    """An amount of yuan with two places; a float or more than two places is refused."""
    if isinstance(value, float):
        raise ValueError("amounts of money are Decimal or text, never float")
    amount = Decimal(value)
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        raise ValueError("an amount of money has at most two decimal places")
    return amount.quantize(Decimal("0.01"))


class Site(BaseModel):
    """A covered site: an expressway service area (服务区) or parking area (停车区)."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(min_length=1, max_length=20)
    name: str = Field(min_length=1, max_length=50)
    road: str = Field(description="The expressway, e.g. G30 连霍高速.")
    county: str = Field(pattern=r"^\d{6}$", description="Six-digit county code where it lies.")
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class PolicyPeriod(BaseModel):
    """One policy year of a scheme: the insurer's policy number and the days it covers
    (Beijing dates, both included)."""

    model_config = ConfigDict(frozen=True)

    policy_no: str = Field(min_length=1, max_length=50)
    start: dt.date
    end: dt.date

    @model_validator(mode="after")
    def _ordered(self) -> PolicyPeriod:
        if self.end < self.start:
            raise ValueError(f"policy {self.policy_no} ends before it starts")
        return self

    def covers(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


class Evidence(BaseModel):
    """What a claim must carry before it is checked."""

    model_config = ConfigDict(frozen=True)

    police_report: bool = True
    min_photos: int = Field(default=1, ge=0, le=50)


class Product(BaseModel):
    """An insurance scheme as data: a plugin provides it, core applies it.

    The night window is in local time (Beijing) and may cross midnight (22:00 to 06:00): an
    incident at ``night_start`` is inside it, one at ``night_end`` is not. Renewing a policy is
    one more ``PolicyPeriod``, not code.
    """

    model_config = ConfigDict(frozen=True)

    code: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,40}$")
    name: str
    province: str = Field(pattern=r"^\d{2}$")
    insurer: str
    sites: tuple[Site, ...]
    night_start: dt.time
    night_end: dt.time
    covered: tuple[LossType, ...]
    per_incident_limit: Decimal
    per_driver_year_limit: Decimal
    deductible: Decimal
    periods: tuple[PolicyPeriod, ...]
    evidence: Evidence = Evidence()

    @field_validator("per_incident_limit", "per_driver_year_limit", "deductible", mode="before")
    @classmethod
    def _money(cls, value: Any) -> Decimal:
        return money(value)

    @model_validator(mode="after")
    def _consistent(self) -> Product:
        codes = [site.code for site in self.sites]
        if len(set(codes)) != len(codes):
            raise ValueError(f"product {self.code} lists a site code twice")
        if self.deductible < 0 or self.per_incident_limit <= 0:
            raise ValueError(f"product {self.code}: limits must be positive")
        return self

    def site(self, code: str) -> Site | None:
        return next((site for site in self.sites if site.code == code), None)

    def period(self, day: dt.date) -> PolicyPeriod | None:
        return next((period for period in self.periods if period.covers(day)), None)

    def at_night(self, moment: dt.time) -> bool:
        if self.night_start <= self.night_end:
            return self.night_start <= moment < self.night_end
        return moment >= self.night_start or moment < self.night_end


class ClaimItem(BaseModel):
    """What the checks and the assessment see of a claim: no name, phone or ID number.

    ``incident_time`` is timezone-aware; ``night_of`` is the Beijing date of the evening the
    night began (an incident at 02:00 on the 6th happened on the night of the 5th).
    """

    model_config = ConfigDict(frozen=True)

    ref: str
    province: str
    product: str
    driver: str | None = Field(default=None, description="Roster code, when on the roster.")
    incident_time: dt.datetime
    night_of: dt.date
    site: str | None = Field(default=None, description="The covered site's code, if one.")
    loss_type: LossType
    amount_claimed: Decimal
    police_report: bool = Field(description="Whether a police report number is given.")
    photos: int


class PriorClaim(BaseModel):
    """Another claim of the same driver, for limits and duplicates."""

    model_config = ConfigDict(frozen=True)

    ref: str
    driver: str
    site: str | None
    night_of: dt.date
    status: ClaimStatus
    policy_no: str | None
    amount_payable: Decimal | None
    amount_paid: Decimal | None


class CheckResult(BaseModel):
    """A decision of ``chelun_check_claims``: whether one claim may go on, and if not, why."""

    eligible: bool
    reason_code: ReasonCode | None = None
    reason: str = Field(description="Why, for a reviewer; never quotes personal data.")
    policy_no: str | None = Field(default=None, description="The policy period that covers it.")

    @model_validator(mode="after")
    def _coded(self) -> CheckResult:
        if not self.eligible and self.reason_code is None:
            raise ValueError("a refusal needs a reason code")
        return self


class Assessment(BaseModel):
    """A decision of ``chelun_assess_claims``: the amount payable for one claim, and how."""

    payable: Decimal
    reason: str

    @field_validator("payable", mode="before")
    @classmethod
    def _money(cls, value: Any) -> Decimal:
        amount = money(value)
        if amount < 0:
            raise ValueError("a payable amount is never negative")
        return amount


class Submission(BaseModel):
    """A claim as sent to the insurer (the body of ``POST /v1/claims``)."""

    model_config = ConfigDict(frozen=True)

    claim_ref: str
    policy_no: str
    id_number: str
    incident_time: str = Field(description="ISO 8601 with +08:00.")
    site_code: str
    loss_type: LossType
    amount_claimed: str = Field(description="Decimal text, two places.")
    police_report_no: str


class InsurerAnswer(BaseModel):
    """What the insurer says of a claim: when created, and when asked its status."""

    insurer_claim_id: str
    status: Literal["received", "approved", "rejected", "paid"]
    claim_ref: str | None = None
    amount_approved: Decimal | None = None
    payment_ref: str | None = None
    reason_code: str | None = None


class InsurerClient(Protocol):
    """A scheme's insurer, as its plugin speaks to it over httpx.

    ``submit`` must send ``idempotency_key`` with the body unchanged on every attempt (the
    insurer answers the stored response to a repeat); it may retry transient failures itself,
    and raises ``chelun.claims.insurer.InsurerError`` (transient or not) when it gives up.
    """

    def submit(self, submission: Submission, idempotency_key: str) -> InsurerAnswer: ...

    def status(self, insurer_claim_id: str) -> InsurerAnswer: ...

    def close(self) -> None: ...
