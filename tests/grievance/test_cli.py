"""The outside contract, through real ``chelun`` processes: import, export, sweep, show."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chelun.grievance.models import CATEGORIES

from .conftest import write_csv

CHELUN = str(Path(sys.executable).with_name("chelun"))
CONTRACT_COLUMNS = {
    "ref",
    "category",
    "level",
    "lead_department",
    "status",
    "received_at",
    "ack_days",
    "ack_due",
    "resolve_days",
    "resolve_due",
    "provisional",
    "escalations",
    "driver",
}
PHONE = "13800000001"
NAME = "李大山"


def chelun(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CHELUN, *args], capture_output=True, text=True, env=dict(os.environ), timeout=300
    )


@pytest.fixture
def grievance_file(tmp_path: Path) -> Path:
    return write_csv(
        tmp_path / "g.csv",
        [
            {
                "ref": "CC-1",
                "received_at": "2026-09-30 10:00",
                "text": "服务区晚上车位全满，只能停在匝道边上",
                "phone": PHONE,
                "name": NAME,
                "county": "510104",
                "channel": "platform",
            },
            {
                "ref": "CC-2",
                "received_at": "2026-12-28 09:00",
                "text": "货主拖欠运费三个月没有结算",
                "county": "510107",
            },
            {"ref": "CC-3", "received_at": "not a time", "text": "x", "phone": PHONE},
        ],
        encoding="gbk",
    )


def exported(*extra: str) -> list[dict[str, str]]:
    done = chelun("grievance", "export", "--province", "51", "--format", "CSV", *extra)
    assert done.returncode == 0, done.stderr
    return list(csv.DictReader(io.StringIO(done.stdout)))


def test_import_export_and_sweep_keep_the_contract(grievance_file: Path) -> None:
    first = chelun("grievance", "import", "--province", "51", str(grievance_file))
    assert first.returncode == 0, first.stderr
    assert "1 quarantined" in first.stderr
    assert chelun("grievance", "import", "-p", "sichuan", str(grievance_file)).returncode == 0
    rows = exported()
    assert CONTRACT_COLUMNS <= set(rows[0])
    assert [row["ref"] for row in rows] == ["CC-1", "CC-2"]
    assert {row["category"] for row in rows} <= set(CATEGORIES)
    by_ref = {row["ref"]: row for row in rows}
    assert by_ref["CC-1"]["resolve_due"] == "2026-10-27"
    assert by_ref["CC-1"]["provisional"] == "false"
    assert by_ref["CC-2"]["resolve_due"].startswith("2027-01")
    quarantine = chelun("grievance", "quarantine", "-p", "51")
    assert "CC-3" in quarantine.stdout and PHONE not in quarantine.stdout
    swept = chelun("grievance", "sweep", "--province", "51", "--now", "2027-03-01T09:00:00+08:00")
    assert swept.returncode == 0, swept.stderr
    assert "2 escalated" in swept.stderr
    levels = {row["ref"]: row["level"] for row in exported()}
    assert levels == {"CC-1": "city", "CC-2": "province"}  # Sichuan: arrears start at the city
    shown = chelun("grievance", "show", "CC-1", "-p", "51")
    assert shown.returncode == 0 and "escalated" in shown.stdout
    assert PHONE not in shown.stdout and NAME not in shown.stdout


def test_personal_data_leave_only_with_reveal(grievance_file: Path) -> None:
    chelun("grievance", "import", "--province", "51", str(grievance_file))
    plain = chelun("grievance", "export", "--province", "51")
    assert PHONE not in plain.stdout and NAME not in plain.stdout
    assert "phone" not in plain.stdout.splitlines()[0]
    revealed = exported("--reveal")
    assert revealed[0]["phone"] == PHONE and revealed[0]["name"] == NAME


def test_errors_are_one_line_with_a_nonzero_exit(grievance_file: Path, tmp_path: Path) -> None:
    chelun("grievance", "import", "--province", "51", str(grievance_file))
    refused = chelun("grievance", "close", "CC-1", "-p", "51", "--satisfied")
    assert refused.returncode == 1
    assert "CC-1 is routed: it cannot be closed" in refused.stderr
    assert "Traceback" not in refused.stderr
    missing = chelun("grievance", "import", "-p", "51", str(tmp_path / "none.csv"))
    assert missing.returncode == 2
    headers = tmp_path / "wrong.csv"
    headers.write_text("a,b\n1,2\n", encoding="utf-8")
    wrong = chelun("grievance", "import", "-p", "51", str(headers))
    assert wrong.returncode == 1 and "no column ref, received_at, text" in wrong.stderr
    bad_time = chelun("grievance", "sweep", "-p", "51", "--now", "tomorrow")
    assert bad_time.returncode == 2
