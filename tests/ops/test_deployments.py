"""The catalogue of deployments, the drop folders and the ops settings, without a server."""

from __future__ import annotations

import datetime as dt
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from chelun.ops.deployments import (
    JOB_NAMES,
    JOBS,
    TIMEZONE,
    Job,
    Plan,
    PlanError,
    Planned,
    build,
    plan,
    served_provinces,
)
from chelun.ops.drop import DONE, DropError, dropped, file_away
from chelun.ops.settings import OpsSettings
from chelun.plugin_manager import PluginHost
from chelun.settings import Settings

OPERATORS_DOC = Path(__file__).resolve().parents[2] / "docs" / "operators.md"


def host() -> PluginHost:
    return PluginHost(Settings(), entry_points=False)


def test_every_job_is_planned_for_each_province_on_its_schedule() -> None:
    planned = plan(OpsSettings(), host(), ["51", "62"])
    assert [item.name for item in planned.deployments] == [
        f"{name}-{code}" for code in ("51", "62") for name in JOB_NAMES
    ]
    for item in planned.deployments:
        assert item.cron == item.job.cron
        assert item.parameters["province"] == item.province
    assert planned.notes == []


def test_the_schedules_setting_replaces_a_schedule_and_turns_a_job_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHELUN_FLOW_SCHEDULES", "claims-batch = */15  * * * * ; report=OFF;")
    planned = plan(OpsSettings(), host(), ["62"], ["claims-batch", "report", "grievance-sweep"])
    assert {item.name: item.cron for item in planned.deployments} == {
        "grievance-sweep-62": "25 * * * *",
        "claims-batch-62": "*/15 * * * *",
    }
    assert planned.notes == ["report: off (CHELUN_FLOW_SCHEDULES)"]


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("claim-batch=0 * * * *", "no job is named 'claim-batch'; the jobs are roster-intake"),
        ("claims-batch", "is not job=cron"),
        ("report=off;report=0 7 * * 1", "job 'report' is given twice"),
    ],
)
def test_a_wrong_schedules_setting_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str, says: str
) -> None:
    monkeypatch.setenv("CHELUN_FLOW_SCHEDULES", value)
    with pytest.raises(ValidationError, match=says):
        OpsSettings()


def test_an_unknown_job_is_refused_with_the_list_of_jobs() -> None:
    with pytest.raises(PlanError, match="no job is named 'sweep'; the jobs are roster-intake"):
        plan(OpsSettings(), host(), ["51"], ["sweep"])


def test_the_grievance_intake_pulls_only_where_a_platform_is_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def pulls() -> bool:
        [item] = plan(OpsSettings(), host(), ["52"], ["grievance-intake"]).deployments
        assert item.parameters["notify"] is True
        return item.parameters["pull_platform"]

    assert pulls() is False
    monkeypatch.setenv("CHELUN_GRIEVANCE_PLATFORM_URL", "http://127.0.0.1:9/feed")
    assert pulls() is True


def test_served_provinces_are_the_plugins_and_those_enabled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHELUN_PROVINCES", "33, 11")
    settings = Settings()
    provinces = served_provinces(settings, PluginHost(settings, entry_points=False))
    assert provinces == ["11", "32", "33", "51", "52", "62"]


def test_deployments_run_the_installed_module_on_a_beijing_cron() -> None:
    built = build(plan(OpsSettings(), host(), ["32"], ["grievance-sweep", "care-visits-plan"]))
    assert [planned.name for planned, _ in built.deployments] == [
        "grievance-sweep-32",
        "care-visits-plan-32",
    ]
    for planned, deployment in built.deployments:
        assert deployment.name == planned.name
        assert deployment.entrypoint == planned.job.flow
        [schedule] = deployment.schedules
        assert schedule.schedule.cron == planned.job.cron
        assert schedule.schedule.timezone == TIMEZONE
        assert deployment.parameters == planned.parameters
        assert deployment.concurrency_limit == 1
        assert deployment.tags == ["chelun", "province:32"]
    every = build(plan(OpsSettings(), host(), ["32"], ["claims-sync"]), every=7)
    [(_, deployment)] = every.deployments
    assert deployment.schedules[0].schedule.interval == dt.timedelta(seconds=7)


def test_a_flow_not_installed_is_left_out_with_a_note() -> None:
    missing = Job("later", "chelun.flows.not_yet_written.later_flow", "0 7 * * 1", "Later.")
    sweep = next(job for job in JOBS if job.name == "grievance-sweep")
    built = build(
        Plan(
            [
                Planned(missing, "51", missing.cron, {"province": "51"}),
                Planned(sweep, "51", sweep.cron, {"province": "51", "notify": True}),
            ]
        )
    )
    assert [planned.name for planned, _ in built.deployments] == ["grievance-sweep-51"]
    assert built.notes == [
        "later: skipped, its flow chelun.flows.not_yet_written.later_flow is not installed"
    ]


def test_a_cron_prefect_does_not_accept_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHELUN_FLOW_SCHEDULES", "claims-sync=61 * * * *")
    with pytest.raises(PlanError, match="claims-sync '61 \\* \\* \\* \\*', which is not a cron"):
        build(plan(OpsSettings(), host(), ["51"], ["claims-sync"]))


# --- the drop folder ---------------------------------------------------------------------------


def test_a_missing_drop_folder_is_made_private_and_holds_nothing(tmp_path: Path) -> None:
    folder = OpsSettings().drop_folder_of("62", Settings().home)
    assert folder == Settings().home / "drop" / "62"
    assert dropped(folder) == []
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_each_file_is_a_source_with_its_mapping(tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    for name in ("transport.csv", "police.xlsx", "cun.2026-11.csv", "cun.map.toml", "x.map.json"):
        (folder / name).write_text("x", encoding="utf-8")
    (folder / ".village.csv.part").write_text("copying", encoding="utf-8")
    (folder / "~$police.xlsx").write_text("lock", encoding="utf-8")
    (folder / DONE).mkdir()
    sources = dropped(folder)
    assert [(s.name, s.path.name, s.mapping and s.mapping.name) for s in sources] == [
        ("cun", "cun.2026-11.csv", "cun.map.toml"),
        ("police", "police.xlsx", None),
        ("transport", "transport.csv", None),
    ]


def test_two_files_of_one_source_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "transport.csv").write_text("x", encoding="utf-8")
    (folder / "transport.xlsx").write_text("x", encoding="utf-8")
    with pytest.raises(DropError, match="transport.csv and transport.xlsx .* source 'transport'"):
        dropped(folder)


def test_files_taken_are_filed_away_with_the_time_and_the_mapping_stays(tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    for name in ("transport.csv", "cun.csv", "cun.map.toml"):
        (folder / name).write_text(name, encoding="utf-8")
    at = dt.datetime(2026, 11, 30, 18, 0, 5, tzinfo=dt.UTC)
    moved = file_away([source.path for source in dropped(folder)], folder, at)
    assert sorted(path.name for path in moved) == [
        "20261201T020005-cun.csv",
        "20261201T020005-transport.csv",
    ]
    assert (folder / DONE / "20261201T020005-cun.csv").read_text(encoding="utf-8") == "cun.csv"
    assert stat.S_IMODE((folder / DONE).stat().st_mode) == 0o700
    assert dropped(folder) == []
    assert (folder / "cun.map.toml").exists()
    (folder / "cun.csv").write_text("again", encoding="utf-8")
    [again] = file_away([folder / "cun.csv"], folder, at)
    assert again.name == "20261201T020005-2-cun.csv"


# --- settings and the command line -------------------------------------------------------------


def test_every_ops_setting_is_documented_for_operators() -> None:
    doc = OPERATORS_DOC.read_text(encoding="utf-8")
    missing = [
        f"CHELUN_{name.upper()}"
        for name in OpsSettings.model_fields
        if f"`CHELUN_{name.upper()}`" not in doc
    ]
    assert not missing, f"settings missing from {OPERATORS_DOC.name}: {missing}"


def test_a_wrong_selection_is_refused_before_any_server_is_asked(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "chelun.ops", "serve", "--only", "sweep", "-p", "62"],
        env={
            "PATH": "/usr/bin:/bin",
            "CHELUN_HOME": str(tmp_path / "home"),
            "PREFECT_HOME": str(tmp_path / "home" / "prefect"),
            "PREFECT_API_URL": "http://127.0.0.1:9/api",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
        },
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: no job is named 'sweep'")
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_only_option_names_every_job() -> None:
    from chelun.ops.cli import OnlyOption

    help_text = OnlyOption.__metadata__[0].help
    assert [name for name in JOB_NAMES if name not in help_text] == []


@pytest.mark.parametrize("command", ["serve", "deploy"])
def test_chelun_has_serve_and_deploy(command: str) -> None:
    chelun = Path(sys.executable).parent / "chelun"
    result = subprocess.run(
        [str(chelun), command, "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "--province" in result.stdout and "--only" in result.stdout
