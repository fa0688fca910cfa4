"""Nominations: who names whom, and the bad ones refused with a reason and recorded, while
everything already recorded stays as it was."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from chelun.identity.codes import driver_code
from chelun.identity.normalise import normalise_uscc
from chelun.recognition.service import AwardError
from chelun.storage.db import Database
from chelun.storage.tables import AwardNomination, Event
from tests.identities import resident_id

from .conftest import Roster, at, award_service, credit_code, kinds_plugin, nominations
from .test_lifecycle import TEST_KIND


def _lookalike() -> str:
    """A resident ID number that passes a credit code's check, as some do: never taken for a
    fleet or a unit, nor quoted."""
    return next(
        number
        for order in range(1000)
        if normalise_uscc(number := resident_id("320102", "19800101", f"{order:03d}"))[0]
    )


def _stored(database: Database, campaign: int) -> dict[str, tuple[str, int | None]]:
    with database.engine.connect() as connection:
        rows = connection.execute(
            select(AwardNomination.nominee, AwardNomination.unit, AwardNomination.source_row).where(
                AwardNomination.campaign_id == campaign
            )
        ).all()
    return {nominee: (unit, row) for nominee, unit, row in rows}


def _events(database: Database, kind: str) -> list[Event]:
    with database.sessions() as session:
        return list(session.scalars(select(Event).where(Event.kind == kind).order_by(Event.id)))


def test_bad_nominations_are_refused_and_recorded_and_nothing_is_lost(
    database: Database, tmp_path: Path
) -> None:
    roster = Roster(database)
    roster.branch("B1")
    members = [roster.driver(member=True, branch="B1") for _ in range(5)]
    ordinary = roster.driver()
    unverified = roster.driver(member=True, verified=False)
    retired = roster.driver(member=True, status="retired")
    code = {key: driver_code("32", key) for key in [*members, ordinary, unverified, retired]}
    m1, m2, m3, m4, m5 = members
    service = award_service(database, plugins=[kinds_plugin(TEST_KIND)])
    campaign = service.open("test_member", "x", dt.date(2026, 9, 10), at=at("2026-09-01"))
    first = service.nominate(
        campaign,
        nominations(tmp_path / "first.csv", [(code[m1], "B1", "a"), (code[m2], "B1", "b")]),
        at=at("2026-09-02"),
    )
    assert first.accepted == 2 and not first.refused
    before = _stored(database, campaign)
    second = service.nominate(
        campaign,
        nominations(
            tmp_path / "second.csv",
            [
                (code[m1], "B1", "again"),  # row 1
                (roster.ids[m3], "B1", "by ID number"),  # row 2: accepted, B1's third
                (code[m4], "B1", ""),  # row 3: B1 is over its quota of 3
                (code[ordinary], "320100", ""),  # row 4
                (code[unverified], "320100", ""),  # row 5
                (code[retired], "320100", ""),  # row 6
                ("32-9999999", "320100", ""),  # row 7
                ("hello", "320100", ""),  # row 8
                (code[m5], credit_code(), ""),  # row 9: enterprises may not nominate
                (code[m5], "NO-SUCH-UNIT", ""),  # row 10
                (code[m5], "320100", ""),  # row 11: accepted
                (code[m5], "320100", ""),  # row 12
                ("51-0000001", "320100", ""),  # row 13
                (code[m5], _lookalike(), ""),  # row 14: an ID number is no unit
            ],
        ),
        at=at("2026-09-03"),
    )
    assert second.accepted == 2
    reasons = {refusal.row: refusal.reason for refusal in second.refused}
    assert sorted(reasons) == [1, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14]
    assert "already nominated (an earlier nomination" in reasons[1]
    assert "made its 3 nomination(s)" in reasons[3]
    assert "rule not_member" in reasons[4]
    assert "rule unverified" in reasons[5]
    assert "rule not_on_roster" in reasons[6]
    assert "32-9999999 is not on the province's roster" in reasons[7]
    assert "not a driver code or an 18-digit ID number" in reasons[8]
    assert "an enterprise may not nominate" in reasons[9]
    assert "not a registered branch code" in reasons[10]
    assert "row 11 of this file" in reasons[12]
    assert "another province" in reasons[13]
    assert "not a registered branch code" in reasons[14]
    stored = _stored(database, campaign)
    assert {nominee: stored[nominee] for nominee in before} == before  # nothing lost or changed
    assert set(stored) == {code[m1], code[m2], code[m3], code[m5]}
    refused = _events(database, "nomination_refused")
    assert sorted(event.data["row"] for event in refused) == sorted(reasons)
    assert {event.data["rule"] for event in refused} >= {
        "duplicate",
        "over_quota",
        "not_member",
        "unverified",
        "not_on_roster",
        "bad_nominee",
        "unit_not_allowed",
        "bad_unit",
    }
    history = json.dumps(
        [[e.reason, e.data] for e in service.history(campaign)], ensure_ascii=False
    )
    for number in [*roster.ids.values(), _lookalike()]:
        assert number not in history and all(number not in r for r in reasons.values())


def test_a_withdrawn_nomination_frees_the_units_quota(database: Database, tmp_path: Path) -> None:
    roster = Roster(database)
    roster.branch("B1")
    codes = [driver_code("32", roster.driver(member=True, branch="B1")) for _ in range(4)]
    service = award_service(database, plugins=[kinds_plugin(TEST_KIND)])
    campaign = service.open("test_member", "x", dt.date(2026, 9, 10), at=at("2026-09-01"))
    rows = [(c, "B1", "") for c in codes[:3]]
    service.nominate(campaign, nominations(tmp_path / "a.csv", rows), at=at("2026-09-02"))
    late = nominations(tmp_path / "b.csv", [(codes[3], "B1", "")])
    assert service.nominate(campaign, late, at=at("2026-09-02")).accepted == 0
    service.withdraw(campaign, codes[0], "本人申请")
    assert service.nominate(campaign, late, at=at("2026-09-03")).accepted == 1


@pytest.mark.parametrize("day", ["2026-08-31", "2026-09-11"], ids=["before", "after"])
def test_a_file_outside_the_window_is_refused_whole_and_recorded(
    database: Database, tmp_path: Path, day: str
) -> None:
    roster = Roster(database)
    roster.branch("B1")
    code = driver_code("32", roster.driver(member=True, branch="B1"))
    service = award_service(database, plugins=[kinds_plugin(TEST_KIND)])
    campaign = service.open(
        "test_member",
        "x",
        dt.date(2026, 9, 10),
        nominations_open=dt.date(2026, 9, 1),
        at=at("2026-08-20"),
    )
    with pytest.raises(AwardError, match="from 2026-09-01 to 2026-09-10, not on"):
        service.nominate(campaign, nominations(tmp_path / "n.csv", [(code, "B1", "")]), at=at(day))
    assert _stored(database, campaign) == {}
    (event,) = _events(database, "nominations_refused")
    assert event.data == {"rows": 1, "rule": "outside_window"}


def test_fleets_are_nominated_by_credit_code(database: Database, tmp_path: Path) -> None:
    roster = Roster(database)
    roster.branch("B1")
    fleet = credit_code("320102", 7)
    roster.driver(uscc=fleet, member=True, branch="B1")
    unknown = credit_code("320102", 8)
    member = driver_code("32", roster.driver(member=True))
    lookalike = _lookalike()
    service = award_service(database)
    campaign = service.open("pioneer_fleet", "先锋车队", dt.date(2026, 9, 10), at=at("2026-09-01"))
    result = service.nominate(
        campaign,
        nominations(
            tmp_path / "n.csv",
            [
                (fleet.lower(), "B1", ""),
                (unknown, "320100", ""),
                (member, "320100", ""),
                (lookalike, "320100", ""),
            ],
        ),
        at=at("2026-09-02"),
    )
    assert result.accepted == 1
    reasons = {r.row: r.reason for r in result.refused}
    assert "no active driver of the province's roster works for this enterprise" in reasons[2]
    assert "not a valid unified social credit code" in reasons[3]
    assert "an ID number, not a credit code" in reasons[4] and lookalike not in reasons[4]
    assert _stored(database, campaign) == {fleet: ("B1", 1)}
    (row,) = service.nominations(campaign)
    assert row.city == "320100" and row.nominee_kind == "enterprise"


def test_a_nomination_file_without_its_columns_is_refused(
    database: Database, tmp_path: Path
) -> None:
    from chelun.sources.readers import SourceReadError

    service = award_service(database)
    campaign = service.open("pioneer_fleet", "x", dt.date(2026, 9, 10), at=at("2026-09-01"))
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(SourceReadError, match="no column nominee, unit"):
        service.nominate(campaign, path, at=at("2026-09-02"))
