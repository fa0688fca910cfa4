"""Care visits: who a month's plan takes and why, who visits, outcomes recorded, and the
statistics of drivers visited against a recount."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from chelun.identity.codes import driver_code
from chelun.recognition.models import VisitCandidate, VisitSelection
from chelun.recognition.visits import VisitError, visit_stats
from chelun.storage.db import Database
from chelun.storage.tables import CareVisit, Event

from .conftest import Roster, at, plugin, visit_service, write_csv


def _past_visit(database: Database, driver: int, period: str, day: dt.date) -> None:
    with database.connect() as connection:
        connection.execute(
            insert(CareVisit),
            [
                {
                    "province": "32",
                    "period": period,
                    "driver_id": driver,
                    "kind": "member",
                    "reason": "earlier",
                    "selected_by": "test",
                    "role": "branch_secretary",
                    "unit": "B1",
                    "assigned_by": "test",
                    "status": "done",
                    "visited_on": day,
                }
            ],
        )


@pytest.fixture
def people(database: Database) -> dict[str, int]:
    roster = Roster(database)
    roster.branch("B1")
    found = {
        "new_member": roster.driver(member=True, branch="B1"),
        "recent_member": roster.driver(member=True, branch="B1"),
        "old_member": roster.driver(member=True, branch="B1"),
        "rejected": roster.driver("320205"),
        "rejected_long_ago": roster.driver(),
        "waiting": roster.driver(),
        "waiting_briefly": roster.driver(),
        "resolved": roster.driver(),
        "retired_member": roster.driver(member=True, branch="B1", status="retired"),
    }
    found["paired"] = roster.driver(contact=found["new_member"])
    _past_visit(database, found["recent_member"], "2026-06", dt.date(2026, 6, 1))
    _past_visit(database, found["old_member"], "2025-05", dt.date(2025, 5, 1))
    roster.claim(found["rejected"], reported=at("2026-09-01"), reason_code="site_not_covered")
    roster.claim(found["rejected_long_ago"], reported=at("2026-03-01"))
    roster.claim(found["paired"], reported=at("2026-09-15"))
    roster.grievance(driver=found["waiting"], received=at("2026-08-20"), status="in_progress")
    roster.grievance(driver=found["waiting_briefly"], received=at("2026-09-25"))
    roster.grievance(driver=found["resolved"], received=at("2026-07-01"), status="resolved")
    return found


def test_a_plan_takes_members_due_and_drivers_in_hardship(
    database: Database, people: dict[str, int]
) -> None:
    service = visit_service(database)
    result = service.plan("2026-10", at=at("2026-10-01"))
    visits = {visit.driver_id: visit for visit in service.visits("2026-10")}
    names = {key: name for name, key in people.items()}
    assert sorted(names[key] for key in visits) == [
        "new_member",
        "old_member",
        "paired",
        "rejected",
        "waiting",
    ]
    assert (result.planned, result.members, result.hardship) == (5, 2, 3)
    assert visits[people["old_member"]].reason == "member driver, last visited on 2025-05-01"
    assert "1 insurance claim(s) rejected in the last 90 days" in visits[people["rejected"]].reason
    assert visits[people["waiting"]].reason == "a grievance unresolved for 42 days"
    # Who visits: a member's own branch, the paired member's branch, else the instructor.
    assert (visits[people["new_member"]].role, visits[people["new_member"]].unit) == (
        "branch_secretary",
        "B1",
    )
    assert (visits[people["paired"]].role, visits[people["paired"]].unit) == (
        "branch_secretary",
        "B1",
    )
    assert (visits[people["rejected"]].role, visits[people["rejected"]].unit) == (
        "instructor",
        "instructor:320205",
    )
    assert service.plan("2026-10", at=at("2026-10-02")).planned == 0
    with database.engine.connect() as connection:
        planned = (
            connection.execute(
                select(Event.entity_key).where(
                    Event.entity == "care_visit", Event.kind == "planned"
                )
            )
            .scalars()
            .all()
        )
    assert sorted(planned) == sorted(f"32:2026-10:{driver_code('32', key)}" for key in visits)


def test_outcomes_are_recorded_and_the_statistics_agree_with_a_recount(
    database: Database, people: dict[str, int], tmp_path: Path
) -> None:
    service = visit_service(database)
    service.plan("2026-10", at=at("2026-10-01"))
    code = {name: driver_code("32", key) for name, key in people.items()}
    result = service.record_outcomes(
        write_csv(
            tmp_path / "outcomes.csv",
            ("driver", "period", "outcome", "visited_on", "note"),
            [
                (code["new_member"], "2026-10", "done", "2026-10-05", "慰问品已送达"),
                (code["old_member"], "2026-10", "missed", "", "出车未归"),
                (code["rejected"], "2026-10", "done", "2026-10-06", ""),
                (code["waiting"], "2026-10", "cancelled", "", ""),
                (code["paired"], "2026-10", "done", "", ""),  # row 5: no date
                (code["resolved"], "2026-10", "done", "2026-10-06", ""),  # row 6: not planned
                (code["rejected"], "2026-10", "done", "2026-10-07", ""),  # row 7: twice
                (code["rejected"], "2026-13", "done", "2026-10-07", ""),  # row 8: no such month
            ],
        )
    )
    assert result.recorded == 4
    reasons = dict(result.refused)
    assert sorted(reasons) == [5, 6, 7, 8]
    assert "needs its date" in reasons[5] and "no planned visit" in reasons[6]
    assert "twice" in reasons[7] and "YYYY-MM" in reasons[8]
    again = service.record_outcomes(
        write_csv(
            tmp_path / "again.csv",
            ("driver", "period", "outcome", "visited_on"),
            [(code["new_member"], "2026-10", "missed", "")],
        )
    )
    assert again.recorded == 0  # an outcome, once recorded, is not overwritten
    rows = {(r["province"], r["period"]): r for r in visit_stats(database, by="month")}
    assert rows[("32", "2026-10")] == {
        "province": "32",
        "period": "2026-10",
        "planned": 5,
        "done": 2,
        "missed": 1,
        "cancelled": 1,
        "visit_rate": "0.5000",
        "drivers_visited": 2,
        "members_visited": 1,
        "hardship_visited": 1,
    }
    yearly = {(r["province"], r["period"]): r for r in visit_stats(database, ["32"], by="year")}
    # 2026: the June visit and the two of October; 2025: the May visit; all: three drivers
    # in 2026 plus one in 2025, each once.
    assert yearly[("32", "2026")]["drivers_visited"] == 3
    assert yearly[("32", "2025")]["drivers_visited"] == 1
    assert yearly[("32", "all")]["drivers_visited"] == 4
    assert yearly[("32", "all")]["planned"] == 7
    with pytest.raises(VisitError):
        visit_stats(database, by="week")


def test_a_plugin_chooses_and_its_choice_is_recorded(
    database: Database, people: dict[str, int]
) -> None:
    paired = driver_code("32", people["paired"])

    def chelun_select_for_visits(
        province: str, period: str, candidates: list[VisitCandidate]
    ) -> list[VisitSelection | None]:
        def choose(candidate: VisitCandidate) -> VisitSelection | None:
            if candidate.member:
                return VisitSelection(visit=False, kind="member", reason="after the festival")
            if candidate.driver == paired:
                return VisitSelection(visit=True, kind="hardship", reason="festival visit")
            return None

        return [choose(candidate) for candidate in candidates]

    service = visit_service(
        database, plugins=[plugin("festival", chelun_select_for_visits=chelun_select_for_visits)]
    )
    service.plan("2026-10", at=at("2026-10-01"))
    with database.engine.connect() as connection:
        chosen = dict(connection.execute(select(CareVisit.driver_id, CareVisit.selected_by)).all())
    planned = {
        key: by
        for key, by in chosen.items()
        if key not in (people["recent_member"], people["old_member"])  # the earlier visits
    }
    assert planned == {
        people["rejected"]: "chelun.recognition.defaults",
        people["waiting"]: "chelun.recognition.defaults",
        people["paired"]: "festival",
    }
    with pytest.raises(VisitError, match="YYYY-MM"):
        service.plan("October", at=at("2026-10-01"))
