"""``chelun serve`` against a real Prefect server on 127.0.0.1: the server schedules a run of a
served deployment, serve runs it in the database of its CHELUN_HOME, and Ctrl-C stops it."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from chelun.settings import Settings
from tests.ops.conftest import (
    RUN_DONE,
    PrefectServer,
    chelun_env,
    escalations_by,
    seed_overdue_grievances,
    stop,
    tail,
    wait_for_run,
)


def test_serve_runs_a_scheduled_flow_until_interrupted(
    prefect_server: PrefectServer, tmp_path: Path
) -> None:
    seed_overdue_grievances("62", "620102")
    env = chelun_env(prefect_server, Settings().home)
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        serve = subprocess.Popen(
            [sys.executable, "-m", "chelun.ops", "serve", "-p", "62"]
            + ["--only", "grievance-sweep", "--every", "2"],
            env=env,
            cwd=tmp_path,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + RUN_DONE
        deployment = None
        while deployment is None:
            assert serve.poll() is None, tail(log)
            assert time.monotonic() < deadline, f"serve registered nothing:\n{tail(log)}"
            deployment = prefect_server.deployment("grievance-sweep", "grievance-sweep-62")
            time.sleep(0.5)
        assert deployment["work_pool_name"] is None
        assert deployment["schedules"][0]["schedule"]["interval"] == 2.0
        run = wait_for_run(prefect_server, deployment["id"], scheduled=True, process=serve)
        assert run["state_type"] == "COMPLETED", run["state_name"]
        assert run["parameters"] == {"province": "62", "notify": True}
    finally:
        stop(serve, signal.SIGINT)
    assert serve.returncode == 0, tail(log)
    printed = log.read_text(encoding="utf-8")
    assert "grievance-sweep-62" in printed and "every 2 s" in printed
    assert "stopped; the schedules are paused" in printed
    assert escalations_by("flow:grievance-sweep") == 2
    # On the way out, serve paused the schedule: nothing runs while no one serves.
    paused = prefect_server.deployment("grievance-sweep", "grievance-sweep-62")
    assert paused is not None and paused["paused"]
