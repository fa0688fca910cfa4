"""Core's checks and assessment of claims: plain functions over a product and a batch, no I/O.

``check_claims`` decides whether each claim may go on. It applies these rules in this order, and
the first a claim fails is its refusal (a claim refused for two reasons shows the earlier one):

1. ``not_on_roster``: the driver is on the roster (the claim carries a roster code).
2. ``no_policy_period``: a policy period covers the incident's Beijing calendar date. The date of
   the incident, not the night it belongs to: a policy starting on 1 January covers a theft at
   01:00 that day, and one ending on 31 December does not cover a theft at 01:00 on 1 January
   although the night began on the 31st.
3. ``site_not_covered``: the claim names one of the product's sites.
4. ``outside_night_window``: the incident's Beijing local time is inside the night window
   (``Product.at_night``: 22:00 is in, 06:00 is out).
5. ``loss_not_covered``: the product covers the loss type.
6. ``evidence_missing``: a police report number, if the product asks for one, and enough photos.
7. ``annual_limit_reached``: the driver's claims in the same policy period have not used up the
   per-driver limit already. They count claims already assessed, submitted, approved or paid,
   and the claims of the same driver accepted earlier in the batch at the most core's assessment
   could pay them, so that with core's assessment the check is exact.
8. ``duplicate_suspected``: no other claim of the same driver at the same site on the same night
   has passed the checks: one checked, assessed, submitted, approved or paid, or one accepted
   earlier in this batch. Claims not yet checked, refused or quarantined do not count: the
   earliest claim of a night passes, the later ones are suspected.

``skip`` sets aside named checks for named claims: an operator who looked at an appealed claim
may override a ``duplicate_suspected`` refusal (two thefts in one night happen), and only that
one (``OVERRIDABLE``): the other checks stand for what the insurer itself checks or what the
assessment and the submission need (a policy number, a covered site, night and loss, the
evidence, the limit).

``assess_claims`` computes the amount payable: the amount claimed less the deductible, at most
the per-incident limit and what is left of the driver's limit for the policy period, never
below zero; Decimal only, to the fen, rounded half up. What is left counts the amounts of the
driver's claims in that period that are assessed or submitted (``amount_payable``), approved
(the amount the insurer approved) or paid (the amount paid), and those assessed earlier in the
batch.

Reasons are for reviewers, in English; they name claim refs, site codes, dates and amounts,
never a person's name, phone or ID number.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal

from chelun.calendar import BEIJING
from chelun.claims.models import (
    Assessment,
    CheckResult,
    ClaimItem,
    PolicyPeriod,
    PriorClaim,
    Product,
    money,
)

#: The checks in the order they are applied; the first a claim fails is its refusal.
ORDER: tuple[str, ...] = (
    "not_on_roster",
    "no_policy_period",
    "site_not_covered",
    "outside_night_window",
    "loss_not_covered",
    "evidence_missing",
    "annual_limit_reached",
    "duplicate_suspected",
)
#: The checks an operator's appeal may set aside.
OVERRIDABLE: tuple[str, ...] = ("duplicate_suspected",)
#: Statuses of a claim that passed the checks and was not refused since.
PASSED = ("checked", "assessed", "submitted", "approved", "paid")
#: Statuses whose amount counts against the driver's limit for the policy period.
COUNTED = ("assessed", "submitted", "approved", "paid")
CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def incident_date(claim: ClaimItem) -> dt.date:
    """The Beijing calendar date of the incident: the day a policy period must cover."""
    return claim.incident_time.astimezone(BEIJING).date()


def local_time(claim: ClaimItem) -> dt.time:
    """The Beijing wall-clock time of the incident, for the night window."""
    return claim.incident_time.astimezone(BEIJING).time().replace(tzinfo=None)


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _in_period(prior: PriorClaim, period: PolicyPeriod) -> bool:
    if prior.policy_no is not None:
        return prior.policy_no == period.policy_no
    return period.covers(prior.night_of)


def counted_amount(prior: PriorClaim) -> Decimal:
    """What a prior claim takes from the driver's limit: the amount paid once paid, else the
    amount payable (assessed, or as approved by the insurer); nothing for other statuses."""
    if prior.status not in COUNTED:
        return ZERO
    amount = prior.amount_paid if prior.amount_paid is not None else prior.amount_payable
    return money(amount) if amount is not None else ZERO


def used_in_period(
    driver: str, period: PolicyPeriod, prior: Sequence[PriorClaim], earlier: Decimal = ZERO
) -> Decimal:
    """How much of the driver's limit for ``period`` prior claims have used, plus ``earlier``
    (the claims of this batch counted before)."""
    return sum(
        (counted_amount(p) for p in prior if p.driver == driver and _in_period(p, period)),
        earlier,
    )


def by_driver(prior: Sequence[PriorClaim]) -> dict[str, list[PriorClaim]]:
    """Prior claims by driver, so that a batch reads each driver's own only."""
    found: dict[str, list[PriorClaim]] = {}
    for claim in prior:
        found.setdefault(claim.driver, []).append(claim)
    return found


def limit_left(product: Product, used: Decimal) -> Decimal:
    """What is left of the per-driver limit once ``used`` is paid out (never below zero)."""
    return max(product.per_driver_year_limit - used, ZERO)


def most_payable(product: Product, claim: ClaimItem) -> Decimal:
    """The most core's assessment pays for a claim before the annual limit: the amount claimed
    less the deductible, at most the per-incident limit, never below zero."""
    net = money(claim.amount_claimed) - product.deductible
    return _cents(max(min(net, product.per_incident_limit), ZERO))


def _refusal(code: str, reason: str) -> CheckResult:
    return CheckResult(eligible=False, reason_code=code, reason=reason)  # type: ignore[arg-type]


def check_claims(
    product: Product,
    claims: Sequence[ClaimItem],
    prior: Sequence[PriorClaim],
    *,
    skip: Mapping[str, Collection[str]] | None = None,
) -> list[CheckResult]:
    """A decision per claim, in order, by the rules in this module's docstring.

    ``prior`` holds the other claims of the batch's drivers under the product; ``skip`` maps a
    claim's ref to the checks set aside for it (those not in ``OVERRIDABLE`` are ignored).
    """
    skip = skip or {}
    drivers = by_driver(prior)
    earlier_used: dict[tuple[str, str], Decimal] = {}
    accepted: dict[tuple[str, str, dt.date], str] = {}
    passed = {
        (p.driver, p.site, p.night_of): p.ref
        for p in prior
        if p.status in PASSED and p.site is not None
    }
    window = f"{product.night_start:%H:%M}-{product.night_end:%H:%M}"
    results = []
    for claim in claims:
        skipped = set(skip.get(claim.ref, ())) & set(OVERRIDABLE)
        day = incident_date(claim)
        at = local_time(claim)
        period = product.period(day)
        if claim.driver is None:
            results.append(_refusal("not_on_roster", "the driver is not on the province's roster"))
            continue
        if period is None:
            results.append(
                _refusal(
                    "no_policy_period",
                    f"no policy period of {product.code} covers {day.isoformat()}, the "
                    "incident's date in Beijing",
                )
            )
            continue
        if claim.site is None or product.site(claim.site) is None:
            where = f"site {claim.site}" if claim.site else "the place given"
            results.append(
                _refusal("site_not_covered", f"{where} is not one of {product.code}'s sites")
            )
            continue
        if not product.at_night(at):
            results.append(
                _refusal(
                    "outside_night_window",
                    f"incident at {at:%H:%M} Beijing time, outside the night window {window}",
                )
            )
            continue
        if claim.loss_type not in product.covered:
            results.append(
                _refusal(
                    "loss_not_covered",
                    f"{claim.loss_type} is not covered by {product.code} "
                    f"(it covers {', '.join(product.covered)})",
                )
            )
            continue
        missing = _missing_evidence(product, claim)
        if missing:
            results.append(_refusal("evidence_missing", missing))
            continue
        key = (claim.driver, period.policy_no)
        own = drivers.get(claim.driver, [])
        used = used_in_period(claim.driver, period, own, earlier_used.get(key, ZERO))
        left = limit_left(product, used)
        if left <= 0:
            results.append(
                _refusal(
                    "annual_limit_reached",
                    f"the driver's claims under policy {period.policy_no} already count {used} "
                    f"yuan of the {product.per_driver_year_limit} yuan limit",
                )
            )
            continue
        night = (claim.driver, claim.site, claim.night_of)
        other = accepted.get(night) or passed.get(night)
        if other is not None and "duplicate_suspected" not in skipped:
            results.append(
                _refusal(
                    "duplicate_suspected",
                    f"claim {other} of the same driver at site {claim.site} on the night of "
                    f"{claim.night_of.isoformat()} has already passed the checks",
                )
            )
            continue
        accepted.setdefault(night, claim.ref)
        earlier_used[key] = earlier_used.get(key, ZERO) + most_payable(product, claim)
        aside = f"; set aside on appeal: {', '.join(sorted(skipped))}" if skipped else ""
        results.append(
            CheckResult(
                eligible=True,
                reason=f"eligible under policy {period.policy_no}: on the roster, at site "
                f"{claim.site} at {at:%H:%M} Beijing time, {claim.loss_type} covered, evidence "
                f"complete, {left} yuan of the annual limit left{aside}",
                policy_no=period.policy_no,
            )
        )
    return results


def _missing_evidence(product: Product, claim: ClaimItem) -> str | None:
    """What evidence the claim lacks, said for a reviewer; None when it is complete."""
    wanted = product.evidence
    lacks = []
    if wanted.police_report and not claim.police_report:
        lacks.append("no police report number")
    if claim.photos < wanted.min_photos:
        lacks.append(f"{claim.photos} photo(s), {wanted.min_photos} needed")
    return "; ".join(lacks) or None


def assess_claims(
    product: Product, claims: Sequence[ClaimItem], prior: Sequence[PriorClaim]
) -> list[Assessment]:
    """The amount payable for each claim, in order, by the rule in this module's docstring."""
    drivers = by_driver(prior)
    earlier: dict[tuple[str | None, str], Decimal] = {}
    results = []
    for claim in claims:
        claimed = money(claim.amount_claimed)
        period = product.period(incident_date(claim))
        if period is None:
            results.append(
                Assessment(
                    payable=ZERO,
                    reason=f"no policy period of {product.code} covers "
                    f"{incident_date(claim).isoformat()}: nothing payable",
                )
            )
            continue
        key = (claim.driver, period.policy_no)
        used = ZERO
        if claim.driver is not None:
            own = drivers.get(claim.driver, [])
            used = used_in_period(claim.driver, period, own, earlier.get(key, ZERO))
        left = limit_left(product, used)
        net = claimed - product.deductible
        payable = _cents(max(min(net, product.per_incident_limit, left), ZERO))
        earlier[key] = earlier.get(key, ZERO) + payable
        results.append(
            Assessment(
                payable=payable,
                reason=f"claimed {claimed} - deductible {product.deductible} = {net}; at most "
                f"{product.per_incident_limit} per incident and {left} left of the "
                f"{product.per_driver_year_limit} annual limit under {period.policy_no} "
                f"({used} used): payable {payable}",
            )
        )
    return results
