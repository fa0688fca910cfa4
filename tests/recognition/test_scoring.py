"""Core's scoring, rank and quotas as pure functions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from chelun.recognition.kinds import MOST_BEAUTIFUL_DRIVER, OUTSTANDING_MEMBER_DRIVER
from chelun.recognition.models import NominationItem, Quotas, SafetyRecord, Score
from chelun.recognition.scoring import Contender, default_score, mean, place, rank_key

D = Decimal


def test_the_tie_break_is_the_reviewers_part_then_the_code() -> None:
    nominees = [
        (D("80.00"), D("70.00"), "32-0000009"),
        (D("80.00"), D("75.00"), "32-0000008"),
        (D("80.00"), D("75.00"), "32-0000003"),
        (D("81.00"), D("60.00"), "32-0000010"),
    ]
    ordered = sorted(nominees, key=lambda n: rank_key(*n))
    assert [code for _, _, code in ordered] == [
        "32-0000010",  # the highest total
        "32-0000003",  # ties on total and reviewers' part: the code decides
        "32-0000008",
        "32-0000009",  # same total, less from the reviewers
    ]


@pytest.mark.parametrize(
    ("quotas", "expected"),
    [
        (Quotas(per_province=2), [None, None, "province", "province"]),
        (Quotas(per_unit=1), [None, "unit U1", None, "unit U2"]),
        (Quotas(per_city=1), [None, "city 320100", "city 320100", None]),
        (Quotas(), [None, None, None, None]),
    ],
)
def test_each_quota_stops_the_nominees_beyond_it(
    quotas: Quotas, expected: list[str | None]
) -> None:
    contenders = [
        Contender("U1", "320100"),
        Contender("U1", "320100"),
        Contender("U2", "320100"),
        Contender("U2", "320200"),
    ]
    outcome = place(contenders, quotas)
    assert [o is None for o in outcome] == [e is None for e in expected]
    for why, fragment in zip(outcome, expected, strict=True):
        if fragment is not None:
            assert why is not None and fragment in why


def test_a_nominee_blocked_by_one_quota_does_not_use_up_another() -> None:
    # The second U1 nominee is stopped by its unit's quota; it must not count for city 320200.
    contenders = [Contender("U1", "320100"), Contender("U1", "320200"), Contender("U2", "320200")]
    first, second, third = place(contenders, Quotas(per_unit=1, per_city=1))
    assert first is None and third is None
    assert second is not None and "unit U1" in second


def test_scores_round_half_up_at_each_step() -> None:
    assert mean([D("80"), D("85"), D("86")]) == D("83.67")
    assert mean([D("70.5"), D("70")]) == D("70.25")
    item = NominationItem(
        nominee="32-0000001",
        nominee_kind="driver",
        unit="B1",
        unit_kind="branch",
        on_roster=True,
        member=True,
        paired=30,
        relayed=2,
        safety=SafetyRecord(source="交警", last_violation=dt.date(2023, 9, 1)),
        scores={"deeds": D("83.67"), "role": D("70.25")},
    )
    score = default_score(OUTSTANDING_MEMBER_DRIVER, item, dt.date(2026, 8, 31))
    # deeds 0.5 x 83.67 = 41.835 -> 41.84; role 0.3 x 70.25 = 21.075 -> 21.08; esteem 0.
    assert score.criteria == D("62.92")
    # paired 30 x 0.5 capped at 10; relayed 2; two whole years since the last violation.
    assert score.parts["paired"] == D("10.00") and score.parts["years_clean"] == D("2.00")
    assert score.facts == D("14.00") and score.total == D("76.92")
    assert "no reviewer scored esteem" in score.reason
    clean = default_score(
        MOST_BEAUTIFUL_DRIVER, item.model_copy(update={"safety": None}), dt.date(2026, 8, 31)
    )
    assert clean.parts["years_clean"] == D("0.00")


def test_a_score_refuses_floats_and_a_third_decimal() -> None:
    with pytest.raises(ValueError):
        Score(criteria=80.5, reason="x")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Score(criteria=D("80.555"), reason="x")
