"""The outside contract, through real ``chelun`` processes: a campaign from ``awards open`` to
``awards export``, care visits, one-line errors, and every command's help."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chelun.identity.codes import driver_code
from chelun.settings import Settings
from chelun.storage.db import open_database

from .conftest import Roster, nominations, scores, write_csv

CHELUN = str(Path(sys.executable).with_name("chelun"))
AWARD_VERBS = (
    "kinds",
    "open",
    "list",
    "show",
    "nominate",
    "score",
    "advance",
    "object",
    "withdraw",
    "publish",
    "export",
)
VISIT_VERBS = ("plan", "list", "record", "stats")


def chelun(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CHELUN, *args], capture_output=True, text=True, env=dict(os.environ), timeout=300
    )


def ok(*args: str) -> subprocess.CompletedProcess[str]:
    done = chelun(*args)
    assert done.returncode == 0, done.stderr
    return done


def test_every_command_has_help() -> None:
    from typer.testing import CliRunner

    from chelun.cli import app

    runner = CliRunner()
    for group, verbs in (("awards", AWARD_VERBS), ("visits", VISIT_VERBS)):
        assert runner.invoke(app, [group, "--help"]).exit_code == 0
        for verb in verbs:
            done = runner.invoke(app, [group, verb, "--help"])
            assert done.exit_code == 0 and "Usage:" in done.output, (group, verb)
    assert chelun("awards", "export", "--help").returncode == 0


@pytest.fixture
def roster() -> tuple[Roster, dict[str, int]]:
    database = open_database(Settings())
    roster = Roster(database)
    for code in ("B1", "B2", "B3"):
        roster.branch(code)
    people = {
        "A": roster.driver("320102", member=True, branch="B1"),
        "B": roster.driver("320104", member=True, branch="B2"),
        "C": roster.driver("320205", member=True, branch="B3"),
        "D": roster.driver("320205"),
    }
    database.dispose()
    return roster, people


def test_a_campaign_from_open_to_export(
    roster: tuple[Roster, dict[str, int]], tmp_path: Path
) -> None:
    register, people = roster
    code = {name: driver_code("32", key) for name, key in people.items()}
    kinds = ok("awards", "kinds", "--province", "32").stdout
    assert {"pioneer_fleet", "outstanding_member_driver", "most_beautiful_driver"} <= {
        line.split(":")[1].strip()
        for line in kinds.splitlines()
        if line.strip().startswith("award:")
    }
    opened = ok(
        "awards",
        "open",
        "-p",
        "jiangsu",
        "--kind",
        "outstanding_member_driver",
        "--name",
        "2026年度优秀党员货车司机",
        "--nominations-open",
        "2026-09-01",
        "--nominations-close",
        "2026-09-10",
        "--now",
        "2026-09-01T10:00",
    )
    campaign = opened.stdout.strip()
    assert campaign.isdigit()
    nominated = chelun(
        "awards",
        "nominate",
        "--campaign",
        campaign,
        "--now",
        "2026-09-02T10:00",
        str(
            nominations(
                tmp_path / "n.csv",
                [
                    (code["A"], "B1", "事迹突出"),
                    (register.ids[people["B"]], "B2", "by ID number"),
                    (code["C"], "320200", ""),
                    (code["D"], "320200", "not a member"),
                ],
            )
        ),
    )
    assert nominated.returncode == 1
    assert "3 nominee(s) accepted, 1 refused" in nominated.stderr
    assert "refused: row 4:" in nominated.stderr and "not_member" in nominated.stderr
    assert "Traceback" not in nominated.stderr
    for number in register.ids.values():
        assert number not in nominated.stderr + nominated.stdout
    ok(
        "awards",
        "score",
        "--campaign",
        campaign,
        str(
            scores(
                tmp_path / "s.csv",
                [
                    (code[n], criterion, "r1", points)
                    for n, points in (("A", 90), ("B", 80), ("C", 70))
                    for criterion in ("deeds", "role", "esteem")
                ],
            )
        ),
    )
    for expected in ("closed", "checked", "scored", "shortlisted"):
        step = ok("awards", "advance", "--campaign", campaign, "--now", "2026-09-11T09:00")
        assert f"-> {expected}" in step.stderr
    step = ok("awards", "advance", "-c", campaign, "--now", "2026-09-14T09:00")
    assert "2026-09-14 to 2026-09-20" in step.stderr  # Sunday 20 September is a working day
    early = chelun("awards", "advance", "-c", campaign, "--now", "2026-09-20T17:00")
    assert early.returncode == 1 and "runs until 2026-09-20" in early.stderr
    assert len(early.stderr.strip().splitlines()) == 1
    ok(
        "awards",
        "object",
        "-c",
        campaign,
        "--nominee",
        code["A"],
        "--reason",
        "群众举报",
        "--now",
        "2026-09-15T10:00",
    )
    upheld = ok(
        "awards",
        "object",
        "-c",
        campaign,
        "--nominee",
        code["A"],
        "--uphold",
        "--reason",
        "核查属实",
    )
    assert "objection upheld" in upheld.stderr
    ok("awards", "withdraw", "-c", campaign, "--nominee", code["B"], "--reason", "本人申请")
    ok("awards", "advance", "-c", campaign, "--now", "2026-09-22T09:00")
    published = ok("awards", "publish", "-c", campaign, "--now", "2026-09-22T10:00")
    assert "1 awarded" in published.stderr
    exported = ok("awards", "export", "--campaign", campaign, "--format", "CSV").stdout
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert list(rows[0])[:5] == ["rank", "nominee", "total_score", "status", "reason"]
    assert {row["nominee"]: row["status"] for row in rows} == {
        code["A"]: "excluded",
        code["B"]: "withdrawn",
        code["C"]: "awarded",
    }
    assert [row["rank"] for row in rows] == ["1", "2", "3"]
    shown = ok("awards", "show", "-c", campaign).stdout
    assert "published" in shown and "objection_upheld" in shown
    done = chelun("awards", "advance", "-c", campaign)
    assert done.returncode == 1 and "no further step" in done.stderr
    missing = chelun("awards", "export", "-c", "999", "--format", "csv")
    assert missing.returncode == 1 and "no campaign 999" in missing.stderr
    bad = chelun(
        "awards",
        "open",
        "-p",
        "32",
        "--kind",
        "nope",
        "--name",
        "x",
        "--nominations-close",
        "2026-13-01",
    )
    assert bad.returncode == 2 and "is not a date" in bad.stderr


def test_visits_from_plan_to_stats(roster: tuple[Roster, dict[str, int]], tmp_path: Path) -> None:
    _, people = roster
    planned = ok("visits", "plan", "-p", "32", "--period", "2026-10", "--now", "2026-10-01T09:00")
    assert "3 visit(s) planned (3 member, 0 hardship)" in planned.stderr
    listed = ok("visits", "list", "-p", "32", "--period", "2026-10").stdout
    assert driver_code("32", people["A"]) in listed
    recorded = chelun(
        "visits",
        "record",
        "-p",
        "32",
        str(
            write_csv(
                tmp_path / "v.csv",
                ("driver", "period", "outcome", "visited_on"),
                [
                    (driver_code("32", people["A"]), "2026-10", "done", "2026-10-03"),
                    (driver_code("32", people["D"]), "2026-10", "done", "2026-10-03"),
                ],
            )
        ),
    )
    assert recorded.returncode == 1 and "refused: row 2: no planned visit" in recorded.stderr
    stats = ok("visits", "stats", "--format", "csv").stdout
    rows = {row["period"]: row for row in csv.DictReader(io.StringIO(stats))}
    assert rows["2026-10"]["planned"] == "3" and rows["2026-10"]["drivers_visited"] == "1"
    assert rows["all"]["visit_rate"] == "0.3333"
