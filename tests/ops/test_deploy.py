"""``chelun deploy`` against a real Prefect server on 127.0.0.1: the deployments it registers,
and a real process worker that picks up their runs and completes them."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from chelun.ops.deployments import JOBS, TIMEZONE, load_flow
from tests.ops.conftest import (
    PrefectServer,
    chelun,
    chelun_env,
    escalations_by,
    seed_overdue_grievances,
    stop,
    wait_for_run,
)


def roster_files(drop: Path) -> int:
    """A small synthetic roster of Sichuan (four departments' files) in its drop folder; the
    number of files."""
    from chelun.demo.roster import generate_province

    scratch = drop.parent / "generated"
    sources = generate_province(scratch, "51", 40, seed=7, spreadsheet=False)
    drop.mkdir(parents=True, exist_ok=True)
    for source in sources:
        shutil.copy(source.path, drop / f"{source.name}{source.path.suffix}")
    return len(sources)


def test_deploy_registers_every_flow_and_a_worker_runs_them(
    prefect_server: PrefectServer, tmp_path: Path
) -> None:
    from chelun.settings import Settings
    from chelun.storage.db import open_database
    from chelun.storage.tables import SourceRecord

    home = Settings().home
    env = chelun_env(prefect_server, home)
    pool = f"chelun-{uuid.uuid4().hex[:8]}"

    missing = chelun(["deploy", "--pool", pool, "--province", "51"], env, tmp_path)
    assert missing.returncode == 2
    assert f"no work pool {pool!r}" in missing.stderr
    assert f"prefect work-pool create --type process {pool}" in missing.stderr

    created = subprocess.run(
        [sys.executable, "-m", "prefect", "work-pool", "create", "--type", "process", pool],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    deployed = chelun(["deploy", "--pool", pool, "--province", "51"], env, tmp_path)
    assert deployed.returncode == 0, deployed.stderr
    # Deploying again updates a deployment in place: still one schedule.
    again = chelun(
        ["deploy", "--pool", pool, "--province", "sichuan", "--only", "grievance-sweep"],
        env,
        tmp_path,
    )
    assert again.returncode == 0, again.stderr

    ids = {}
    for job in JOBS:
        flow = load_flow(job)
        if flow is None:
            assert f"{job.name}: skipped, its flow {job.flow} is not installed" in deployed.stderr
            continue
        deployment = prefect_server.deployment(flow.name, f"{job.name}-51")
        assert deployment is not None, f"{job.name}-51 is not on the server"
        assert deployment["work_pool_name"] == pool
        assert deployment["entrypoint"] == job.flow
        assert deployment["parameters"]["province"] == "51"
        [schedule] = deployment["schedules"]
        assert schedule["active"]
        assert schedule["schedule"]["cron"] == job.cron
        assert schedule["schedule"]["timezone"] == TIMEZONE == "Asia/Shanghai"
        assert deployment["job_variables"]["env"]["DO_NOT_TRACK"] == "1"
        ids[job.name] = deployment["id"]
    assert prefect_server.deployment("grievance-sweep", "grievance-sweep-32") is None

    seed_overdue_grievances("51", "510104")
    drop = home / "drop" / "51"
    files = roster_files(drop)
    runs = {
        name: prefect_server.post(f"/deployments/{ids[name]}/create_flow_run", {}).json()["id"]
        for name in ("grievance-sweep", "roster-intake")
    }
    log = tmp_path / "worker.log"
    with log.open("wb") as output:
        worker = subprocess.Popen(
            [sys.executable, "-m", "prefect", "worker", "start", "--pool", pool],
            env=env,
            cwd=tmp_path,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        for name, run_id in runs.items():
            run = wait_for_run(prefect_server, ids[name], run_id=run_id, process=worker)
            assert run["state_type"] == "COMPLETED", f"{name}: {run['state_name']}"
    finally:
        stop(worker)

    # The worker's runs wrote to the database of the worker's CHELUN_HOME.
    assert escalations_by("flow:grievance-sweep") == 2
    database = open_database(Settings())
    try:
        with database.engine.connect() as connection:
            staged = connection.execute(
                select(func.count()).where(SourceRecord.province == "51")
            ).scalar_one()
    finally:
        database.dispose()
    assert staged > 0
    assert not [path for path in drop.iterdir() if path.is_file()]
    assert len(list((drop / "done").iterdir())) == files


@pytest.mark.parametrize(
    ("url", "code", "says"),
    [
        ("", 2, "chelun deploy needs a Prefect server"),
        ("http://127.0.0.1:9/api", 1, "no Prefect server answers at http://127.0.0.1:9/api"),
    ],
)
def test_deploy_without_a_server_stops_in_one_line(
    tmp_path: Path, url: str, code: int, says: str
) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "CHELUN_HOME": str(tmp_path / "home"),
        "PREFECT_HOME": str(tmp_path / "home" / "prefect"),
        "PREFECT_API_URL": url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    result = chelun(["deploy", "--pool", "anything"], env, tmp_path, timeout=60)
    assert result.returncode == code
    assert says in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
