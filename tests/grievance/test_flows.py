"""The grievance flows on Prefect's test server: the same service as the CLI, counts only."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import func, select

from chelun.flows.grievance import (
    grievance_intake_flow,
    grievance_stats_flow,
    grievance_sweep_flow,
)
from chelun.settings import Settings
from chelun.storage.db import open_database
from chelun.storage.tables import Grievance

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_intake_then_sweep_flows(sample: Path) -> None:
    first = grievance_intake_flow("51", [str(sample)])
    again = grievance_intake_flow("51", [str(sample)])
    assert first["routed"] == 3 and again["routed"] == 0
    assert again["files"][str(sample)]["already"] == 3
    swept = grievance_sweep_flow("51", at="2026-12-01T09:00:00+08:00")
    assert swept["escalated"] == 2
    database = open_database(Settings())
    with database.engine.connect() as connection:
        escalated = connection.execute(
            select(func.count()).where(Grievance.escalations == 1)
        ).scalar_one()
    database.dispose()
    assert escalated == 2


class _Platform(BaseHTTPRequestHandler):
    """A province platform on 127.0.0.1: one page of grievances, and a reply endpoint."""

    replies: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        body = {
            "grievances": [
                {
                    "ref": f"P-{n}",
                    "received_at": "2026-11-02 09:00",
                    "text": "运满满信息费太高，平台抽成太狠",
                    "county": "510104",
                }
                for n in range(3)
            ],
            "next_cursor": None,
        }
        raw = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).replies.append(self.headers["Idempotency-Key"])
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


def test_the_intake_flow_pulls_the_platform_and_replies_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Platform)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    _Platform.replies = []
    base = f"http://127.0.0.1:{server.server_port}"
    monkeypatch.setenv("CHELUN_GRIEVANCE_PLATFORM_URL", f"{base}/feed")
    monkeypatch.setenv("CHELUN_GRIEVANCE_REPLY_URL", f"{base}/reply")
    try:
        first = grievance_intake_flow("62", pull_platform=True, notify=True)
        again = grievance_intake_flow("62", pull_platform=True, notify=True)
    finally:
        server.shutdown()
        server.server_close()
    assert first["pulled"]["added"] == 3 and first["routed"] == 3
    assert first["notices"]["sent"] == 3
    assert again["pulled"]["added"] == 0 and again["notices"]["sent"] == 0
    assert (
        sorted(_Platform.replies) == sorted(set(_Platform.replies)) and len(_Platform.replies) == 3
    )


def test_the_stats_flow_publishes_counts_only(sample: Path) -> None:
    grievance_intake_flow("51", [str(sample)])
    rows = grievance_stats_flow("51", by="city", at="2026-12-01T09:00:00+08:00")
    assert rows[-1]["group"] == "all" and rows[-1]["collected"] == 3
    assert sum(row["collected"] for row in rows[:-1]) == 3
