"""A campaign's lifecycle on the real database: each step, the quotas, the public notice in
working days, objections, withdrawals and the transitions that are refused."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from chelun.identity.codes import driver_code
from chelun.recognition.export import export_campaign
from chelun.recognition.models import AwardKind, Criterion, Quotas
from chelun.recognition.service import AwardError, AwardService
from chelun.storage.db import Database
from chelun.storage.tables import AwardNomination, Event

from .conftest import Roster, at, award_service, kinds_plugin, nominations, scores

#: A member-only award with every quota small enough to bite.
TEST_KIND = AwardKind(
    code="test_member",
    name="测试奖",
    nominee="member_driver",
    nominators=("branch", "city_committee"),
    quotas=Quotas(nominations_per_unit=3, per_unit=2, per_city=2, per_province=3),
    criteria=(
        Criterion(code="deeds", name="事迹", weight=Decimal("0.5")),
        Criterion(code="esteem", name="评价", weight=Decimal("0.5")),
    ),
    notice_days=5,
    disqualifiers=("unverified",),
)


class Scenario:
    """Five member drivers A-E nominated by two branches and a city committee; A and B of
    branch B1 and C of B2 live in city 320100, D (B2) and E (committee 320200) in 320200.
    Scores 90, 85, 80, 70, 60."""

    def __init__(self, database: Database, tmp_path: Path) -> None:
        roster = Roster(database)
        roster.branch("B1")
        roster.branch("B2")
        self.ids = {
            "A": roster.driver("320102", member=True, branch="B1"),
            "B": roster.driver("320104", member=True, branch="B1"),
            "C": roster.driver("320105", member=True, branch="B2"),
            "D": roster.driver("320205", member=True, branch="B2"),
            "E": roster.driver("320211", member=True, branch="B2"),
        }
        self.code = {name: driver_code("32", key) for name, key in self.ids.items()}
        self.service: AwardService = award_service(database, plugins=[kinds_plugin(TEST_KIND)])
        self.campaign = self.service.open(
            "test_member", "2026年度测试", dt.date(2026, 9, 10), at=at("2026-09-01")
        )
        units = {"A": "B1", "B": "B1", "C": "B2", "D": "B2", "E": "320200"}
        result = self.service.nominate(
            self.campaign,
            nominations(
                tmp_path / "n.csv", [(self.code[n], unit, "事迹") for n, unit in units.items()]
            ),
            at=at("2026-09-05"),
        )
        assert result.accepted == 5 and not result.refused
        points = {"A": 90, "B": 85, "C": 80, "D": 70, "E": 60}
        self.service.record_scores(
            self.campaign,
            scores(
                tmp_path / "s.csv",
                [
                    (self.code[n], criterion, reviewer, value)
                    for n, value in points.items()
                    for criterion in ("deeds", "esteem")
                    for reviewer in ("r1", "r2")
                ],
            ),
        )

    def advance(self, day: str) -> str:
        return self.service.advance(self.campaign, at=at(day)).after

    def to_notice(self) -> None:
        for day, status in [
            ("2026-09-11", "closed"),
            ("2026-09-11", "checked"),
            ("2026-09-11", "scored"),
            ("2026-09-11", "shortlisted"),
            ("2026-09-29", "notice"),
        ]:
            assert self.advance(day) == status

    def statuses(self) -> dict[str, str]:
        with self.service.database.engine.connect() as connection:
            rows = connection.execute(
                select(AwardNomination.nominee, AwardNomination.status).where(
                    AwardNomination.campaign_id == self.campaign
                )
            ).all()
        names = {code: name for name, code in self.code.items()}
        return {names[nominee]: status for nominee, status in rows}


def test_quotas_per_unit_city_and_province_decide_the_shortlist(
    database: Database, tmp_path: Path
) -> None:
    run = Scenario(database, tmp_path)
    run.to_notice()
    # A and B fill city 320100's two places (and B1's two); C is stopped by the city quota,
    # not its rank; D takes the third and last place of the province; E finds none left.
    assert run.statuses() == {
        "A": "shortlisted",
        "B": "shortlisted",
        "C": "not_placed",
        "D": "shortlisted",
        "E": "not_placed",
    }
    rows = {r.nominee: r for r in run.service.nominations(run.campaign)}
    assert "city 320100's 2 place(s) are taken" in rows[run.code["C"]].status_reason
    assert "province's 3 place(s) are taken" in rows[run.code["E"]].status_reason
    assert [rows[run.code[n]].rank for n in "ABCDE"] == [1, 2, 3, 4, 5]


def test_the_unit_quota_holds_places(database: Database, tmp_path: Path) -> None:
    roster = Roster(database)
    roster.branch("B1")
    codes = [
        driver_code("32", roster.driver(county, member=True, branch="B1"))
        for county in ("320102", "320205", "320303")
    ]
    service = award_service(database, plugins=[kinds_plugin(TEST_KIND)])
    campaign = service.open("test_member", "x", dt.date(2026, 9, 10), at=at("2026-09-01"))
    service.nominate(
        campaign,
        nominations(tmp_path / "n.csv", [(c, "B1", "") for c in codes]),
        at=at("2026-09-02"),
    )
    service.record_scores(
        campaign,
        scores(
            tmp_path / "s.csv",
            [(c, k, "r", 90 - i) for i, c in enumerate(codes) for k in ("deeds", "esteem")],
        ),
    )
    for _ in range(4):
        service.advance(campaign, at=at("2026-09-11"))
    placed = {r.nominee: r.status for r in service.nominations(campaign)}
    # Three cities, room in the province for three, but B1 may hold two places.
    assert list(placed.values()).count("shortlisted") == 2
    assert placed[codes[2]] == "not_placed"


def test_public_notice_counts_working_days_over_a_holiday(
    database: Database, tmp_path: Path
) -> None:
    run = Scenario(database, tmp_path)
    run.to_notice()
    campaign = run.service.get(run.campaign)
    # From Tuesday 29 September 2026: 30 Sep, 8 Oct, 9 Oct, Saturday 10 Oct (a make-up working
    # day) and 12 Oct; 1-7 October is the National Day holiday.
    assert (campaign.notice_start, campaign.notice_end) == (
        dt.date(2026, 9, 29),
        dt.date(2026, 10, 12),
    )
    assert not campaign.provisional
    with pytest.raises(AwardError, match="runs until 2026-10-12"):
        run.advance("2026-10-12")
    assert run.service.object(run.campaign, run.code["A"], "举报", at=at("2026-10-12", 20))
    assert run.advance("2026-10-13") == "objections"


def test_objections_are_raised_in_the_notice_and_not_after(
    database: Database, tmp_path: Path
) -> None:
    run = Scenario(database, tmp_path)
    run.to_notice()
    with pytest.raises(AwardError, match="ended on 2026-10-12"):
        run.service.object(run.campaign, run.code["A"], "迟到的异议", at=at("2026-10-13"))
    with pytest.raises(AwardError, match="not_placed|not placed"):
        run.service.object(run.campaign, run.code["C"], "未入围者", at=at("2026-10-01"))


def test_an_upheld_objection_gives_the_place_to_the_next_in_rank_who_fits(
    database: Database, tmp_path: Path
) -> None:
    run = Scenario(database, tmp_path)
    run.to_notice()
    run.service.object(run.campaign, run.code["A"], "群众举报", at=at("2026-10-08"))
    run.service.object(run.campaign, run.code["D"], "群众举报", at=at("2026-10-08"))
    promoted = run.service.decide_objection(run.campaign, run.code["A"], True, "核查属实")
    # A's place frees room in city 320100: C (rank 3) takes it; E stays out (the province's
    # three places are B, C and D again).
    assert promoted == [run.code["C"]]
    assert run.statuses() == {
        "A": "excluded",
        "B": "shortlisted",
        "C": "shortlisted",
        "D": "shortlisted",
        "E": "not_placed",
    }
    assert run.service.decide_objection(run.campaign, run.code["D"], False, "查无实据") == []
    assert run.statuses()["D"] == "shortlisted"
    with pytest.raises(AwardError, match="no pending objection"):
        run.service.decide_objection(run.campaign, run.code["D"], True, "again")


def test_a_withdrawal_frees_its_place_and_publication_awards_the_list(
    database: Database, tmp_path: Path
) -> None:
    run = Scenario(database, tmp_path)
    run.to_notice()
    run.service.object(run.campaign, run.code["A"], "群众举报", at=at("2026-10-08"))
    run.service.decide_objection(run.campaign, run.code["A"], True, "核查属实")
    run.service.object(run.campaign, run.code["B"], "群众举报", at=at("2026-10-09"))
    assert run.service.withdraw(run.campaign, run.code["B"], "本人申请退出") == [run.code["E"]]
    assert run.advance("2026-10-13") == "objections"  # B's objection closed with the withdrawal
    result = run.service.publish(run.campaign, at=at("2026-10-14"))
    assert result.after == "published" and result.counts["awarded"] == 3
    assert run.statuses() == {
        "A": "excluded",
        "B": "withdrawn",
        "C": "awarded",
        "D": "awarded",
        "E": "awarded",
    }
    out = io.StringIO()
    export_campaign(database, run.campaign, out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("rank,nominee,total_score,status,reason")
    shown = {line.split(",")[1]: line.split(",")[3] for line in lines[1:]}
    assert shown == {
        run.code["A"]: "excluded",
        run.code["B"]: "withdrawn",
        run.code["C"]: "awarded",
        run.code["D"]: "awarded",
        run.code["E"]: "awarded",
    }
    with pytest.raises(AwardError, match="published"):
        run.service.withdraw(run.campaign, run.code["C"], "太晚")


def test_steps_are_refused_until_they_are_due(database: Database, tmp_path: Path) -> None:
    run = Scenario(database, tmp_path)
    with pytest.raises(AwardError, match="takes nominations until 2026-09-10"):
        run.advance("2026-09-10")
    with pytest.raises(AwardError, match="is open"):
        run.service.publish(run.campaign, at=at("2026-09-10"))
    with pytest.raises(AwardError, match="public notice"):
        run.service.object(run.campaign, run.code["A"], "x", at=at("2026-09-10"))
    assert run.advance("2026-09-11") == "closed"
    with pytest.raises(AwardError, match="nominations are closed"):
        run.service.nominate(
            run.campaign, nominations(tmp_path / "late.csv", [(run.code["A"], "B1", "")])
        )
    assert [run.advance("2026-09-11") for _ in range(3)] == ["checked", "scored", "shortlisted"]
    with pytest.raises(AwardError, match="scores are taken while"):
        run.service.record_scores(run.campaign, scores(tmp_path / "s2.csv", []))
    assert run.advance("2026-09-29") == "notice"
    run.service.object(run.campaign, run.code["A"], "x", at=at("2026-10-08"))
    assert run.advance("2026-10-13") == "objections"
    with pytest.raises(AwardError, match="1 objection"):
        run.service.publish(run.campaign, at=at("2026-10-13"))
    run.service.decide_objection(run.campaign, run.code["A"], False, "不成立")
    assert run.service.publish(run.campaign, at=at("2026-10-13")).after == "published"
    with pytest.raises(AwardError, match="no further step"):
        run.advance("2026-10-14")
    with database.engine.connect() as connection:
        kinds = (
            connection.execute(
                select(Event.kind).where(
                    Event.entity == "award_campaign", Event.entity_key == f"32:{run.campaign}"
                )
            )
            .scalars()
            .all()
        )
    assert kinds[0] == "opened" and kinds[-1] == "published"
    for step in ("closed", "checked", "scored", "shortlisted", "notice", "notice_ended"):
        assert step in kinds


def test_scoring_waits_for_every_eligible_nominee_to_have_a_score(
    database: Database, tmp_path: Path
) -> None:
    roster = Roster(database)
    roster.branch("B1")
    code = driver_code("32", roster.driver(member=True, branch="B1"))
    service = award_service(database, plugins=[kinds_plugin(TEST_KIND)])
    campaign = service.open("test_member", "x", dt.date(2026, 9, 10), at=at("2026-09-01"))
    service.nominate(
        campaign, nominations(tmp_path / "n.csv", [(code, "B1", "")]), at=at("2026-09-02")
    )
    service.advance(campaign, at=at("2026-09-11"))
    service.advance(campaign, at=at("2026-09-11"))
    with pytest.raises(AwardError, match=f"no reviewer's score yet \\(first: {code}\\)"):
        service.advance(campaign, at=at("2026-09-11"))
    assert service.get(campaign).status == "checked"
