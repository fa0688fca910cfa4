"""A generated campaign, run to its final list through the service, against a recomputation
written here from the raw inputs alone: which nominations are taken, who is eligible, the
scores, the rank with its tie-break, the quotas, objections and withdrawals."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from chelun.identity.codes import driver_code
from chelun.recognition.export import export_campaign
from chelun.recognition.models import AwardKind, Criterion, FactWeight, Quotas
from chelun.storage.db import Database

from .conftest import Roster, at, award_service, kinds_plugin, nominations, scores

KIND = AwardKind(
    code="generated",
    name="生成的奖项",
    nominee="member_driver",
    nominators=("branch", "city_committee"),
    quotas=Quotas(nominations_per_unit=7, per_unit=3, per_city=4, per_province=9),
    criteria=(
        Criterion(code="deeds", name="事迹", weight=Decimal("0.6")),
        Criterion(code="esteem", name="评价", weight=Decimal("0.4")),
    ),
    facts=(
        FactWeight(fact="paired", points=Decimal("0.5"), cap=Decimal("1.5")),
        FactWeight(fact="relayed", points=Decimal("1"), cap=Decimal("2")),
    ),
    notice_days=5,
    disqualifiers=("unverified", "fraud_claim"),
)
BRANCHES = ("B1", "B2", "B3", "B4", "B5")
CITIES = {"320100": "320102", "320200": "320205", "320300": "320303"}
UNITS = (*BRANCHES, *CITIES)
CENT = Decimal("0.01")


def _half_up(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def test_a_generated_campaign_agrees_with_an_independent_recount(
    database: Database, tmp_path: Path
) -> None:
    rng = random.Random(20261)
    roster = Roster(database)
    for code in BRANCHES:
        roster.branch(code)
    people = []
    for _ in range(48):
        city = rng.choice(list(CITIES))
        verified = rng.random() > 0.1
        key = roster.driver(
            CITIES[city], member=True, branch=rng.choice(BRANCHES), verified=verified
        )
        paired = rng.randint(0, 4)
        relayed = rng.randint(0, 3)
        people.append(
            {
                "key": key,
                "code": driver_code("32", key),
                "city": city,
                "verified": verified,
                "paired": paired,
                "relayed": relayed,
                "fraud": rng.random() < 0.08,
                "late_fraud": rng.random() < 0.06,
            }
        )
    for person in people:
        for _ in range(person["paired"]):
            roster.driver(CITIES[person["city"]], contact=person["key"])
        for _ in range(person["relayed"]):
            roster.grievance(relayed_by=person["key"], received=at("2026-04-01"))
        if person["fraud"]:
            roster.claim(person["key"], reported=at("2026-02-01"))
    service = award_service(database, plugins=[kinds_plugin(KIND)])
    campaign = service.open("generated", "生成", dt.date(2026, 9, 10), at=at("2026-09-01"))

    # Nominations: each person once by a random unit, a few twice, in a shuffled order.
    rows = [(p["code"], rng.choice(UNITS), "") for p in people]
    rows += [(p["code"], rng.choice(UNITS), "") for p in rng.sample(people, 4)]
    rng.shuffle(rows)
    service.nominate(campaign, nominations(tmp_path / "n.csv", rows), at=at("2026-09-02"))
    by_code = {p["code"]: p for p in people}
    # The recount of the nominations taken: first come, eligible, within the unit's quota.
    taken: dict[str, str] = {}
    per_unit: Counter[str] = Counter()
    for code, unit, _ in rows:
        person = by_code[code]
        if code in taken or not person["verified"] or person["fraud"]:
            continue
        if per_unit[unit] >= KIND.quotas.nominations_per_unit:
            continue
        per_unit[unit] += 1
        taken[code] = unit
    assert {row.nominee for row in service.nominations(campaign)} == set(taken)

    # Reviewers: coarse scores, so that totals tie; some score twice (the later one counts).
    marks = []
    given: dict[tuple[str, str, str], int] = {}
    for code in taken:
        for criterion in ("deeds", "esteem"):
            for reviewer in rng.sample(["r1", "r2", "r3"], rng.randint(1, 3)):
                value = rng.choice((60, 70, 80, 90))
                marks.append((code, criterion, reviewer, value))
                given[(code, criterion, reviewer)] = value
    for code, criterion, reviewer in rng.sample(sorted(given), 5):
        value = rng.choice((65, 75))
        marks.append((code, criterion, reviewer, value))
        given[(code, criterion, reviewer)] = value
    half = len(marks) // 2
    service.record_scores(campaign, scores(tmp_path / "s1.csv", marks[:half]))
    service.record_scores(campaign, scores(tmp_path / "s2.csv", marks[half:]))
    for person in people:
        if person["late_fraud"]:
            roster.claim(person["key"], reported=at("2026-08-30"))

    for day in ["2026-09-11"] * 4 + ["2026-09-14"]:
        service.advance(campaign, at=at(day))
    shortlisted = [r for r in service.nominations(campaign) if r.status == "shortlisted"]
    first, second = sorted(shortlisted, key=lambda r: r.rank)[:2]
    service.object(campaign, first.nominee, "核查", at=at("2026-09-15"))
    service.decide_objection(campaign, first.nominee, True, "属实")
    service.withdraw(campaign, second.nominee, "申请退出")
    service.advance(campaign, at=at("2026-09-22"))
    service.publish(campaign, at=at("2026-09-22"))

    # The recount of the list: eligibility at the check, scores, rank, quotas, removals.
    weights = {c.code: c.weight for c in KIND.criteria}
    scored = []
    excluded = set()
    for code in taken:
        person = by_code[code]
        if person["late_fraud"]:
            excluded.add(code)
            continue
        criteria = Decimal(0)
        for criterion, weight in weights.items():
            values = [v for (c, k, _), v in given.items() if c == code and k == criterion]
            if values:
                average = _half_up(Decimal(sum(values)) / len(values))
                criteria += _half_up(weight * average)
        facts = min(Decimal("0.5") * person["paired"], Decimal("1.5")) + min(
            Decimal(person["relayed"]), Decimal(2)
        )
        scored.append((criteria + facts, criteria, code))
    scored.sort(key=lambda s: (-s[0], -s[1], s[2]))
    ranks = {code: rank for rank, (_, _, code) in enumerate(scored, start=1)}
    assert ranks[first.nominee] == 1 and ranks[second.nominee] == 2
    removed = {first.nominee: "excluded", second.nominee: "withdrawn"}
    awarded = set()
    units: Counter[str] = Counter()
    cities: Counter[str] = Counter()
    for _, _, code in scored:
        if code in removed:
            continue
        unit, city = taken[code], by_code[code]["city"]
        if (
            len(awarded) < KIND.quotas.per_province
            and units[unit] < KIND.quotas.per_unit
            and cities[city] < KIND.quotas.per_city
        ):
            awarded.add(code)
            units[unit] += 1
            cities[city] += 1
    expected = {
        code: (
            "excluded"
            if code in excluded
            else removed.get(code, "awarded" if code in awarded else "not placed")
        )
        for code in taken
    }

    out = io.StringIO()
    export_campaign(database, campaign, out)
    exported = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert {row["nominee"]: row["status"] for row in exported} == expected
    totals = {total: code for total, _, code in scored}
    assert len(totals) < len(scored), "the generated scores should tie somewhere"
    for row in exported:
        if row["nominee"] in ranks:
            assert int(row["rank"]) == ranks[row["nominee"]]
            total = next(t for t, _, c in scored if c == row["nominee"])
            assert Decimal(row["total_score"]) == total
    assert 0 < len(awarded) <= KIND.quotas.per_province
    assert sum(1 for status in expected.values() if status == "awarded") == len(awarded)
