"""Core's scoring, the rank and the quotas (docs/recognition.md): pure functions.

Score: each criterion's reviewers' scores are averaged and rounded to two places (half up); the
reviewers' part is the sum over the criteria of weight times mean, each product rounded to two
places; a criterion nobody scored counts 0 and the reason says so. The facts' part is the sum
over the kind's facts of points per unit times the fact, each at most its cap.

Rank: by total, higher first; then by the reviewers' part, higher first (merit as reviewers saw
it before facts); then by the nominee's code, so the order never depends on when or in which
order nominations arrived.

Quotas: in rank order, a nominee takes a place unless the province's places are taken, or its
nominating unit's, or its city's (nominees whose city is unknown count as one city); otherwise
it is not placed, with the quota that stopped it. Removing a nominee (an upheld objection, a
withdrawal) never takes a place from another, and the next in rank who fits takes the place.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from chelun.recognition.models import HUNDREDTH, AwardKind, NominationItem, Quotas, Score


def rounded(value: Decimal) -> Decimal:
    return value.quantize(HUNDREDTH, rounding=ROUND_HALF_UP)


def mean(scores: Sequence[Decimal]) -> Decimal:
    """The mean of reviewers' scores, rounded to two places (half up)."""
    return rounded(sum(scores, Decimal(0)) / len(scores))


def fact_value(item: NominationItem, fact: str, on: dt.date) -> int:
    """The count behind a fact (``years_clean`` as of ``on``, the end of the period)."""
    return item.years_clean(on) if fact == "years_clean" else int(getattr(item, fact))


def default_score(kind: AwardKind, item: NominationItem, on: dt.date) -> Score:
    """Core's score of one eligible nominee: criteria by weight, plus facts up to their caps."""
    parts: dict[str, Decimal] = {}
    criteria = Decimal(0)
    missing = []
    for criterion in kind.criteria:
        average = item.scores.get(criterion.code)
        if average is None:
            missing.append(criterion.code)
            parts[criterion.code] = Decimal("0.00")
            continue
        value = rounded(criterion.weight * average)
        parts[criterion.code] = value
        criteria += value
    facts = Decimal(0)
    for weight in kind.facts:
        value = rounded(min(weight.points * fact_value(item, weight.fact, on), weight.cap))
        parts[weight.fact] = value
        facts += value
    reason = f"reviewers {rounded(criteria)} + facts {rounded(facts)}"
    if missing:
        reason += f"; no reviewer scored {', '.join(missing)} (counted 0)"
    return Score(criteria=rounded(criteria), facts=rounded(facts), parts=parts, reason=reason)


def rank_key(total: Decimal, criteria: Decimal, nominee: str) -> tuple[Decimal, Decimal, str]:
    """Sorts nominees best first: total, then the reviewers' part, then the nominee's code."""
    return (-total, -criteria, nominee)


@dataclass(frozen=True)
class Contender:
    """A ranked nominee competing for a place."""

    unit: str
    city: str | None


def place(contenders: Sequence[Contender], quotas: Quotas) -> list[str | None]:
    """For each contender in rank order: None if it takes a place, else why not (the quota
    that is full)."""
    taken = 0
    by_unit: Counter[str] = Counter()
    by_city: Counter[str | None] = Counter()
    outcome: list[str | None] = []
    for contender in contenders:
        if quotas.per_province is not None and taken >= quotas.per_province:
            outcome.append(f"the province's {quotas.per_province} place(s) are taken")
        elif quotas.per_unit is not None and by_unit[contender.unit] >= quotas.per_unit:
            outcome.append(f"unit {contender.unit}'s {quotas.per_unit} place(s) are taken")
        elif quotas.per_city is not None and by_city[contender.city] >= quotas.per_city:
            outcome.append(
                f"city {contender.city or 'unknown'}'s {quotas.per_city} place(s) are taken"
            )
        else:
            taken += 1
            by_unit[contender.unit] += 1
            by_city[contender.city] += 1
            outcome.append(None)
    return outcome
