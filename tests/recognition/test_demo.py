"""The demo's recognition part: a campaign and a month of visits on a province's roster."""

from __future__ import annotations

import re
from pathlib import Path

from chelun.demo.recognition import run_recognition
from chelun.settings import Settings
from chelun.storage.db import open_database

from .conftest import Roster


def test_the_demo_runs_a_campaign_and_visits_and_says_counts_only(tmp_path: Path) -> None:
    database = open_database(Settings())
    roster = Roster(database, "62")
    for branch, county in (("MOB-6201", "620102"), ("MOB-6202", "620201"), ("MOB-6205", "620502")):
        roster.branch(branch)
        for _ in range(4):
            roster.driver(county, member=True, branch=branch)
        roster.driver(county, member=True, branch=branch, verified=False)
    database.dispose()
    line = run_recognition(Settings(), "62", seed=3, folder=tmp_path / "demo")
    found = re.fullmatch(
        r"campaign 1: (\d+) nominated \((\d+) refused\), (\d+) eligible, 3 awarded after an "
        r"upheld objection \(1 promoted\); care visits: 15 planned, \d+ done",
        line,
    )
    assert found is not None, line
    nominated, refused, eligible = map(int, found.groups())
    assert (
        nominated + refused == 9 and eligible == nominated
    )  # three a branch; the unverified refused
    for number in roster.ids.values():
        assert number not in line
        for name in ("nominations.csv", "scores.csv", "visits.csv"):
            assert number not in (tmp_path / "demo" / name).read_text(encoding="utf-8")
