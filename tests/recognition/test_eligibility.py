"""Eligibility: core's rules over the facts the project knows (roster, claims, a plugin's
safety record), every exclusion with its rule and reason, and the facts scoring weighs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from chelun.identity.codes import driver_code
from chelun.recognition.eligibility import default_eligibility
from chelun.recognition.kinds import (
    MOST_BEAUTIFUL_DRIVER,
    OUTSTANDING_MEMBER_DRIVER,
    PIONEER_FLEET,
)
from chelun.recognition.models import NominationItem, SafetyRecord
from chelun.storage.db import Database

from .conftest import Roster, at, award_service, kinds_plugin, nominations, plugin, scores

CLEAN = SafetyRecord(source="交警")


def _item(**facts: object) -> NominationItem:
    values: dict[str, object] = {
        "nominee": "32-0000001",
        "nominee_kind": "driver",
        "unit": "B1",
        "unit_kind": "branch",
        "on_roster": True,
        "verified": True,
        "member": True,
        "safety": CLEAN,
    }
    return NominationItem(**(values | facts))


@pytest.mark.parametrize(
    ("facts", "rule"),
    [
        ({"on_roster": False}, "not_on_roster"),
        ({"member": False}, "not_member"),
        ({"verified": False}, "unverified"),
        ({"safety": SafetyRecord(upheld_complaints=1, source="12345")}, "upheld_complaint"),
        ({"fraud_claims": 1}, "fraud_claim"),
        ({"safety": SafetyRecord(violations=2, source="交警")}, "unsafe"),
        ({"safety": SafetyRecord(accidents=1, source="交警")}, "unsafe"),
        ({"safety": SafetyRecord(blacklisted=True, source="信用交通")}, "unsafe"),
        ({"nominee_kind": "enterprise"}, "wrong_nominee"),
    ],
)
def test_each_rule_excludes_with_its_reason(facts: dict[str, object], rule: str) -> None:
    decision = default_eligibility(OUTSTANDING_MEMBER_DRIVER, _item(**facts))
    assert not decision.eligible and decision.rule == rule and decision.reason
    assert default_eligibility(OUTSTANDING_MEMBER_DRIVER, _item()).eligible


def test_rules_apply_only_where_the_kind_names_them() -> None:
    assert default_eligibility(MOST_BEAUTIFUL_DRIVER, _item(member=False)).eligible
    # The pioneer fleet award does not check fraud claims of the enterprise itself in core.
    fleet = _item(nominee_kind="enterprise", nominee="91320102000000007X", fraud_claims=3)
    assert default_eligibility(PIONEER_FLEET, fleet).eligible
    strict = MOST_BEAUTIFUL_DRIVER.model_copy(update={"disqualifiers": ("no_safety_record",)})
    decision = default_eligibility(strict, _item(safety=None))
    assert decision.rule == "no_safety_record"
    assert default_eligibility(MOST_BEAUTIFUL_DRIVER, _item(safety=None)).eligible


def _campaign(database: Database, tmp_path: Path, *plugins: tuple[str, object]) -> tuple:
    roster = Roster(database)
    roster.branch("B1")
    service = award_service(database, plugins=list(plugins))
    return roster, service


def test_a_claim_rejected_for_fraud_in_the_period_excludes_a_driver(
    database: Database, tmp_path: Path
) -> None:
    roster, service = _campaign(database, tmp_path)
    fraud = roster.driver(member=True, branch="B1")
    old = roster.driver(member=True, branch="B1")
    other = roster.driver(member=True, branch="B1")
    roster.claim(fraud, reported=at("2026-03-01"))
    roster.claim(old, reported=at("2025-03-01"))  # before the period
    roster.claim(other, reported=at("2026-03-01"), reason_code="site_not_covered")
    campaign = service.open(
        "outstanding_member_driver", "x", dt.date(2026, 9, 10), at=at("2026-09-01")
    )
    result = service.nominate(
        campaign,
        nominations(
            tmp_path / "n.csv",
            [(driver_code("32", key), "B1", "") for key in (fraud, old, other)],
        ),
        at=at("2026-09-02"),
    )
    assert result.accepted == 2
    (refusal,) = result.refused
    assert refusal.row == 1 and "1 insurance claim(s) rejected for fraud" in refusal.reason


def test_the_check_step_reads_what_changed_since_nomination(
    database: Database, tmp_path: Path
) -> None:
    roster, service = _campaign(database, tmp_path)
    driver = roster.driver(member=True, branch="B1")
    campaign = service.open(
        "outstanding_member_driver", "x", dt.date(2026, 9, 10), at=at("2026-09-01")
    )
    code = driver_code("32", driver)
    nominated = service.nominate(
        campaign, nominations(tmp_path / "n.csv", [(code, "B1", "")]), at=at("2026-09-02")
    )
    assert nominated.accepted == 1
    roster.claim(driver, reported=at("2026-08-01"))  # decided as fraud after the nomination
    service.advance(campaign, at=at("2026-09-11"))
    assert service.advance(campaign, at=at("2026-09-11")).counts == {"eligible": 0, "excluded": 1}
    (row,) = service.nominations(campaign)
    assert row.status == "excluded" and row.status_reason.startswith("fraud_claim: ")
    assert row.checked_by == "chelun.recognition.defaults"


def test_a_plugins_safety_record_excludes_and_is_named(database: Database, tmp_path: Path) -> None:
    roster, _ = _campaign(database, tmp_path)
    clean, unsafe, complained, unknown = (roster.driver(member=True, branch="B1") for _ in range(4))
    codes = {key: driver_code("32", key) for key in (clean, unsafe, complained, unknown)}
    asked: list[tuple[dt.date, dt.date]] = []

    def chelun_safety_records(
        province: str, nominees: list[str], since: dt.date, until: dt.date
    ) -> list[SafetyRecord | None]:
        asked.append((since, until))
        records = {
            codes[clean]: SafetyRecord(source="交警", last_violation=dt.date(2019, 5, 1)),
            codes[unsafe]: SafetyRecord(violations=1, accidents=1, source="交警"),
            codes[complained]: SafetyRecord(upheld_complaints=2, source="12328"),
        }
        return [records.get(nominee) for nominee in nominees]

    service = award_service(
        database, plugins=[plugin("police", chelun_safety_records=chelun_safety_records)]
    )
    campaign = service.open(
        "outstanding_member_driver", "x", dt.date(2026, 9, 10), at=at("2026-09-01")
    )
    result = service.nominate(
        campaign,
        nominations(tmp_path / "n.csv", [(code, "B1", "") for code in codes.values()]),
        at=at("2026-09-02"),
    )
    assert asked == [(dt.date(2025, 9, 1), dt.date(2026, 8, 31))]
    reasons = {r.row: r.reason for r in result.refused}
    assert sorted(reasons) == [2, 3]
    assert "1 violation(s), 1 accident(s) in the period (record: 交警)" in reasons[2]
    assert "2 complaint(s) about the nominee upheld" in reasons[3]
    strict = OUTSTANDING_MEMBER_DRIVER.model_copy(
        update={"code": "strict", "disqualifiers": ("no_safety_record",)}
    )
    service = award_service(
        database,
        plugins=[
            plugin("police", chelun_safety_records=chelun_safety_records),
            kinds_plugin(strict),
        ],
    )
    second = service.open("strict", "x", dt.date(2026, 9, 10), at=at("2026-09-01"))
    refused = service.nominate(
        second, nominations(tmp_path / "m.csv", [(codes[unknown], "B1", "")]), at=at("2026-09-02")
    ).refused
    assert "no safety record was supplied" in refused[0].reason


def test_scoring_weighs_the_facts_of_the_data(database: Database, tmp_path: Path) -> None:
    roster, service = _campaign(database, tmp_path)
    member = roster.driver(member=True, branch="B1")
    for _ in range(3):
        roster.driver(contact=member)
    roster.driver(contact=member, status="retired")
    roster.grievance(relayed_by=member, received=at("2026-05-01"))
    roster.grievance(relayed_by=member, received=at("2026-06-01"))
    roster.grievance(relayed_by=member, received=at("2025-01-01"))  # before the period
    roster.grievance(relayed_by=member, received=at("2026-06-02"), status="quarantined")
    campaign = service.open(
        "outstanding_member_driver", "x", dt.date(2026, 9, 10), at=at("2026-09-01")
    )
    code = driver_code("32", member)
    service.nominate(
        campaign, nominations(tmp_path / "n.csv", [(code, "B1", "")]), at=at("2026-09-02")
    )
    service.record_scores(
        campaign,
        scores(
            tmp_path / "s.csv",
            [(code, "deeds", "r1", 80), (code, "deeds", "r2", 85), (code, "role", "r1", "70.5")],
        ),
    )
    for _ in range(3):
        service.advance(campaign, at=at("2026-09-11"))
    (row,) = service.nominations(campaign)
    # deeds: mean 82.50 x 0.5 = 41.25; role 70.50 x 0.3 = 21.15; esteem unscored: 0.
    assert row.criteria_points == Decimal("62.40")
    # paired: 3 active drivers x 0.5; relayed in the period: 2 x 1; no safety record: 0 years.
    assert row.fact_points == Decimal("3.50")
    assert row.total_score == Decimal("65.90")
    assert row.score_parts["paired"] == "1.50" and row.score_parts["esteem"] == "0.00"
