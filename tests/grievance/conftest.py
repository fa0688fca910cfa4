"""Shared helpers of the grievance tests: real files and a service on the real database."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from chelun.grievance.service import GrievanceService
from chelun.plugin_manager import PluginHost
from chelun.settings import Settings
from chelun.storage.db import Database

COLUMNS = ("ref", "received_at", "text", "id_number", "phone", "name", "county", "channel")


def write_csv(path: Path, rows: list[dict[str, str]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({column: row.get(column, "") for column in COLUMNS})
    return path


def service_for(
    database: Database, province: str = "51", extra: list[tuple[str, object]] | None = None
) -> GrievanceService:
    host = PluginHost(Settings(), extra=extra or [], entry_points=False)
    return GrievanceService(database, host.manager(province), province, actor="user:test")


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    return write_csv(
        tmp_path / "grievances.csv",
        [
            {
                "ref": "SC-1",
                "received_at": "2026-09-30 10:00",
                "text": "服务区晚上车位全满，只能停在匝道边上",
                "phone": "13800000001",
                "county": "510104",
                "channel": "platform",
            },
            {
                "ref": "SC-2",
                "received_at": "2026-12-28 09:00",
                "text": "货主拖欠运费三个月没有结算",
                "county": "510107",
                "channel": "hotline",
            },
            {
                "ref": "SC-3",
                "received_at": "2026-11-02 08:30",
                "text": "运满满上的信息费越收越高，平台抽成太狠",
                "county": "510104",
            },
        ],
    )
