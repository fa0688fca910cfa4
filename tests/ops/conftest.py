"""A real Prefect server on 127.0.0.1 for the serve and deploy tests, and what they share.

The server runs in a subprocess of its own, with its own home and SQLite database in a temporary
folder, analytics off; it is started once for the session. Where it cannot start, the tests that
need it are skipped with the reason.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

#: Seconds the server has to answer its health check (its first start creates its database).
SERVER_START = 90
#: Seconds a flow run has to finish once it is due.
RUN_DONE = 60

#: Answers of a server busy for a moment.
BUSY = {429, 503}
OFFLINE = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}


@dataclass(frozen=True)
class PrefectServer:
    """A running Prefect server: its API's URL and a client of its REST API."""

    url: str
    log: Path

    def get(self, path: str) -> httpx.Response:
        return self._patient(httpx.get, path)

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return self._patient(httpx.post, path, json=body)

    def _patient(self, method: Any, path: str, **options: Any) -> httpx.Response:
        """Ask again, ten times at most, while the server says it is busy (its SQLite database
        is, now and then, under the scheduler's writes), as Prefect's own client does."""
        for _ in range(10):
            answer = method(f"{self.url}{path}", timeout=30, **options)
            if answer.status_code not in BUSY:
                break
            time.sleep(0.5)
        return answer

    def deployment(self, flow: str, name: str) -> dict[str, Any] | None:
        answer = self.get(f"/deployments/name/{flow}/{name}")
        if answer.status_code == 404:
            return None
        answer.raise_for_status()
        return answer.json()

    def flow_runs(self, deployment_id: str) -> list[dict[str, Any]]:
        answer = self.post(
            "/flow_runs/filter", {"flow_runs": {"deployment_id": {"any_": [deployment_id]}}}
        )
        answer.raise_for_status()
        return answer.json()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def tail(path: Path, lines: int = 15) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def stop(process: subprocess.Popen[Any], signal_first: int | None = None) -> None:
    """End a process the test started: a signal (default terminate), then kill if it lingers."""
    if process.poll() is None:
        if signal_first is None:
            process.terminate()
        else:
            process.send_signal(signal_first)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    """``prefect server start`` on a free port of 127.0.0.1, its state in a temporary folder."""
    folder = tmp_path_factory.mktemp("prefect-server")
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    env |= OFFLINE | {
        "PREFECT_HOME": str(folder / "home"),
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{folder / 'server.db'}",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_SERVER_REGISTER_BLOCKS_ON_START": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    log = folder / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start"]
            + ["--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=folder,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    server = PrefectServer(f"http://127.0.0.1:{port}/api", log)
    try:
        deadline = time.monotonic() + SERVER_START
        while True:
            if process.poll() is not None:
                pytest.skip(f"the Prefect server could not start here:\n{tail(log)}")
            try:
                if server.get("/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.skip(f"the Prefect server did not answer in {SERVER_START} s:\n{tail(log)}")
            time.sleep(0.5)
        yield server
    finally:
        stop(process)


def chelun_env(server: PrefectServer, home: Path) -> dict[str, str]:
    """The environment of a chelun or Prefect client process: the server, chelun's home, a
    private Prefect home, analytics off, and quick polling so that runs start at once."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    return (
        env
        | OFFLINE
        | {
            "PREFECT_API_URL": server.url,
            "PREFECT_HOME": str(home / "prefect"),
            "CHELUN_HOME": str(home),
            "PREFECT_RUNNER_POLL_FREQUENCY": "1",
            "PREFECT_WORKER_QUERY_SECONDS": "1",
        }
    )


def chelun(
    args: list[str], env: dict[str, str], cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``chelun serve|deploy ...`` through ``python -m chelun.ops``, to its end."""
    return subprocess.run(
        [sys.executable, "-m", "chelun.ops", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def wait_for_run(
    server: PrefectServer,
    deployment_id: str,
    *,
    run_id: str | None = None,
    scheduled: bool = False,
    process: subprocess.Popen[Any] | None = None,
) -> dict[str, Any]:
    """A finished run of a deployment (the run ``run_id``; with ``scheduled``, one the server
    scheduled) within ``RUN_DONE`` seconds; fails if ``process`` (serve, or a worker) ends
    before."""
    deadline = time.monotonic() + RUN_DONE
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            pytest.fail(f"the process running the flows ended with exit {process.returncode}")
        for run in server.flow_runs(deployment_id):
            if run_id is not None and run["id"] != run_id:
                continue
            if scheduled and not run["auto_scheduled"]:
                continue
            if run["state_type"] in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}:
                return run
        time.sleep(0.5)
    pytest.fail(f"no run of deployment {deployment_id} finished within {RUN_DONE} s")


def seed_overdue_grievances(province: str, county: str) -> None:
    """Two grievances of ``province`` received 60 days ago and routed, in the database of
    ``CHELUN_HOME``: overdue today, so that a sweep escalates them."""
    from chelun.grievance.service import GrievanceService
    from chelun.plugin_manager import PluginHost
    from chelun.settings import Settings
    from chelun.storage.db import open_database

    received = (dt.datetime.now(dt.UTC) - dt.timedelta(days=60)).strftime("%Y-%m-%d 09:00")
    settings = Settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    path = settings.home / "grievances.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ref", "received_at", "text", "county", "channel"])
        writer.writerow(["OV-1", received, "货主拖欠运费三个月没有结算", county, "hotline"])
        writer.writerow(["OV-2", received, "服务区晚上车位全满", county, "hotline"])
    database = open_database(settings)
    try:
        manager = PluginHost(settings, entry_points=False).manager(province)
        service = GrievanceService(database, manager, province, actor="user:test")
        service.import_file(path)
        assert service.route_pending() == 2
    finally:
        database.dispose()


def escalations_by(actor: str) -> int:
    """Escalation events a flow recorded in the database of ``CHELUN_HOME``."""
    from sqlalchemy import func, select

    from chelun.settings import Settings
    from chelun.storage.db import open_database
    from chelun.storage.tables import Event

    database = open_database(Settings())
    try:
        with database.connect() as connection:
            return connection.execute(
                select(func.count()).where(Event.actor == actor, Event.kind == "escalated")
            ).scalar_one()
    finally:
        database.dispose()
