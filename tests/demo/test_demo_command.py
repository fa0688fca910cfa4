"""The README's main job, as a user runs it: ``chelun demo`` as a real process."""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

from chelun.demo.grievance import TEXTS, generate_grievances
from chelun.identity.divisions import divisions

CHELUN = Path(sys.executable).parent / "chelun"


def test_the_demo_runs_intake_and_grievances_and_shows_no_personal_data(tmp_path: Path) -> None:
    home = tmp_path / "home"
    done = subprocess.run(
        [str(CHELUN), "demo", "--drivers", "400"],
        env={**os.environ, "CHELUN_HOME": str(home), "COLUMNS": "100"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "Synthetic pilot: roster intake" in done.stdout
    assert "Synthetic pilot: grievances" in done.stdout
    assert re.search(r"\d+\.\d% \(\d+/\d+\)", done.stdout)  # a rate with its denominator
    assert "4/4 provinces" in done.stderr
    assert "chelun roster summary --province 62" in done.stdout
    # Neither output shows an ID number or a mobile number.
    for text in (done.stdout, done.stderr):
        assert not re.search(r"\d{17}[\dX]", text)
        assert not re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", text)


def test_demo_grievances_follow_the_import_columns(tmp_path: Path) -> None:
    today = dt.date(2026, 12, 2)
    path = generate_grievances(
        tmp_path, "62", 300, seed=5, phones=["13800000001", "13900000002"], today=today
    )
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 300
    assert set(rows[0]) == {"ref", "received_at", "text", "phone", "county", "channel"}
    assert len({row["ref"] for row in rows}) == 300
    counties = {d.code for d in divisions().counties("62")}
    for row in rows:
        assert row["county"] in counties
        received = dt.datetime.strptime(row["received_at"], "%Y-%m-%d %H:%M").date()
        assert today - dt.timedelta(days=60) <= received < today
        assert row["phone"] in ("", "13800000001", "13900000002")
    assert len({row["text"] for row in rows}) > 100  # varied wording
    assert len(TEXTS) == 8
