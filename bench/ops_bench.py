"""Flow overhead per scheduled run, under `chelun serve` and under a process worker.

Starts its own Prefect server on 127.0.0.1 (SQLite in a temporary folder), then:
- worker: `chelun deploy --pool` the grievance sweep of one province, a process worker, and N
  runs created one after the other (each waits for the previous one to finish);
- serve: `chelun serve --only grievance-sweep --every S` until N scheduled runs finished.
Each run is the sweep on an empty database. For each run it reads back from the server:
  due->start: expected start to the flow run's start (poll + process start),
  start->end: the flow run's start to its end (the flow engine and the flow itself),
  due->end:   the whole overhead of one scheduled run.
Usage: .venv/bin/python /tmp/ops_overhead.py [--runs 5] [--every 10]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx


def _patient(method):
    """httpx's call, asked again (10 times at most) while the server says it is busy."""

    def call(*args, **kwargs):
        for _ in range(10):
            answer = method(*args, timeout=30, **kwargs)
            if answer.status_code not in (429, 503):
                return answer
            time.sleep(0.5)
        return answer

    return call


GET, POST = _patient(httpx.get), _patient(httpx.post)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def when(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def figures(runs: list[dict]) -> list[tuple[float, float, float]]:
    out = []
    for run in runs:
        due, start, end = (when(run[k]) for k in ("expected_start_time", "start_time", "end_time"))
        out.append(
            (
                (start - due).total_seconds(),
                (end - start).total_seconds(),
                (end - due).total_seconds(),
            )
        )
    return out


def report(label: str, rows: list[tuple[float, float, float]]) -> None:
    print(f"{label}: {len(rows)} runs")
    for name, column in zip(
        ("due->start", "start->end", "due->end"), zip(*rows, strict=True), strict=True
    ):
        print(
            f"  {name:11s} median {statistics.median(column):5.2f} s"
            f"  min {min(column):5.2f}  max {max(column):5.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--every", type=int, default=10)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="chelun-ops-overhead-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CHELUN_"))}
    base |= {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
    server_env = base | {
        "PREFECT_HOME": str(folder / "server"),
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{folder / 'server.db'}",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    env = base | {
        "PREFECT_API_URL": url,
        "PREFECT_HOME": str(folder / "client"),
        "CHELUN_HOME": str(folder / "home"),
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
        "PREFECT_WORKER_QUERY_SECONDS": "1",
    }
    py = sys.executable
    processes = []
    try:
        server = subprocess.Popen(
            [py, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=server_env,
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        processes.append(server)
        for _ in range(180):
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            raise SystemExit("the server did not start")

        def run(*command: str) -> None:
            subprocess.run(command, env=env, cwd=folder, check=True, capture_output=True)

        run(py, "-m", "prefect", "work-pool", "create", "--type", "process", "bench")
        run(
            py,
            "-m",
            "chelun.ops",
            "deploy",
            "--pool",
            "bench",
            "-p",
            "51",
            "--only",
            "grievance-sweep",
        )
        deployment = GET(f"{url}/deployments/name/grievance-sweep/grievance-sweep-51").json()
        worker = subprocess.Popen(
            [py, "-m", "prefect", "worker", "start", "--pool", "bench"],
            env=env,
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        processes.append(worker)

        def worker_runs(ahead: float) -> list[dict]:
            finished = []
            for _ in range(args.runs):
                body = {}
                if ahead:
                    due = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=ahead)
                    body = {
                        "state": {
                            "type": "SCHEDULED",
                            "state_details": {"scheduled_time": due.isoformat()},
                        }
                    }
                created = POST(f"{url}/deployments/{deployment['id']}/create_flow_run", json=body)
                assert created.status_code < 300, created.text
                run_id = created.json()["id"]
                for _ in range(480):
                    flow_run = GET(f"{url}/flow_runs/{run_id}").json()
                    if flow_run["state_type"] in {"COMPLETED", "FAILED", "CRASHED"}:
                        break
                    time.sleep(0.25)
                assert flow_run["state_type"] == "COMPLETED", flow_run["state_name"]
                finished.append(flow_run)
            return finished

        now_runs = worker_runs(0)
        ahead_runs = worker_runs(15)
        worker.send_signal(signal.SIGINT)
        worker.wait(timeout=30)
        report("process worker, run created due now", figures(now_runs))
        report("process worker, run scheduled 15 s ahead", figures(ahead_runs))

        serve = subprocess.Popen(
            [
                py,
                "-m",
                "chelun.ops",
                "serve",
                "-p",
                "62",
                "--only",
                "grievance-sweep",
                "--every",
                str(args.every),
            ],
            env=env,
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        processes.append(serve)
        deadline = time.monotonic() + 60 + args.runs * args.every * 3
        served: list[dict] = []
        while time.monotonic() < deadline and len(served) < args.runs:
            time.sleep(1)
            answer = GET(f"{url}/deployments/name/grievance-sweep/grievance-sweep-62")
            if answer.status_code != 200:
                continue
            served = [
                r
                for r in POST(
                    f"{url}/flow_runs/filter",
                    json={"flow_runs": {"deployment_id": {"any_": [answer.json()["id"]]}}},
                ).json()
                if r["auto_scheduled"] and r["state_type"] == "COMPLETED"
            ]
        serve.send_signal(signal.SIGINT)
        serve.wait(timeout=30)
        report(f"chelun serve (every {args.every} s)", figures(served[: args.runs]))
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
