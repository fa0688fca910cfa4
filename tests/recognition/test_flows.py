"""The recognition flows on Prefect's test server: the same services as the CLI, counts only."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from chelun.flows.recognition import award_campaign_step_flow, care_visits_plan_flow
from chelun.identity.codes import driver_code
from chelun.settings import Settings
from chelun.storage.db import open_database

from .conftest import Roster, at, award_service, nominations

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_the_flows_step_campaigns_when_due_and_plan_visits(tmp_path: Path) -> None:
    database = open_database(Settings())
    roster = Roster(database)
    roster.branch("B1")
    members = [roster.driver(member=True, branch="B1") for _ in range(2)]
    service = award_service(database)
    campaign = service.open(
        "outstanding_member_driver", "x", dt.date(2026, 9, 10), at=at("2026-09-01")
    )
    service.nominate(
        campaign,
        nominations(tmp_path / "n.csv", [(driver_code("32", m), "B1", "") for m in members]),
        at=at("2026-09-02"),
    )
    database.dispose()
    waiting = award_campaign_step_flow("32", at="2026-09-10T18:00:00+08:00")
    assert waiting == [
        {"campaign": campaign, "before": "open", "after": "open", "outcome": "waiting"}
    ]
    closed = award_campaign_step_flow("32", campaign=campaign, at="2026-09-11T09:00:00")
    assert closed == [
        {"campaign": campaign, "before": "open", "after": "closed", "outcome": "advanced"}
    ]
    assert award_campaign_step_flow("32")[0]["after"] == "checked"
    planned = care_visits_plan_flow("32", period="2026-10", at="2026-10-01T09:00:00+08:00")
    assert planned == {"candidates": 2, "planned": 2, "members": 2, "hardship": 0}
    assert care_visits_plan_flow("32", period="2026-10")["planned"] == 0
