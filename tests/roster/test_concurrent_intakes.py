"""Intakes at the same time, as real ``chelun intake`` processes, on SQLite and PostgreSQL.

Two intakes of one province: the second is refused at once with one line naming the first, and
the roster is the one a single run makes. Intakes of two provinces: both go through.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from chelun.demo.roster import generate_province
from chelun.roster.export import ROSTER_COLUMNS
from chelun.storage.db import Database
from tests.conftest import POSTGRES_URL, postgres_available

CHELUN = Path(sys.executable).parent / "chelun"
#: ``driver`` and ``contact`` are surrogate codes: numbered in the order drivers are created.
COMPARED = [c for c in ROSTER_COLUMNS if c not in ("driver", "contact")]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Where the intakes write: a SQLite file, or a fresh schema of the PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shared' / 'chelun.db'}"
        return
    if not postgres_available():
        pytest.skip("no PostgreSQL server on 127.0.0.1:5432")
    schema = f"chelun_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    Database(url).upgrade()
    try:
        yield url
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def env(home: Path, url: str) -> dict[str, str]:
    return {
        **os.environ,
        "CHELUN_HOME": str(home),
        "CHELUN_DATABASE_URL": url,
        "CHELUN_BATCH_ROWS": "200",
    }


def intake(
    province: str, files: list, home: Path, url: str, extra: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    args = [f"{f.name}={f.path}" for f in files]
    return subprocess.Popen(
        [str(CHELUN), "intake", "--province", province, *args],
        env={**env(home, url), **(extra or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    _, stderr = process.communicate(timeout=300)
    return process.returncode, stderr


def roster(province: str, home: Path, url: str) -> list[tuple[str, ...]]:
    done = subprocess.run(
        [str(CHELUN), "roster", "export", "--province", province, "--reveal"],
        env=env(home, url),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    rows = csv.DictReader(io.StringIO(done.stdout))
    return sorted(tuple(row[c] for c in COMPARED) for row in rows)


#: A plugin that holds the intake in its verification step until the test opens the gate: the
#: first intake is then surely running (and holding its lock) when the second one starts.
GATE_PLUGIN = """
import os
import time
from pathlib import Path

from chelun import hookimpl

PROVINCES = ("62",)


@hookimpl
def chelun_check_phones(province, checks):
    gate = Path(os.environ["CHELUN_TEST_GATE"])
    (gate.parent / "waiting").touch()
    deadline = time.monotonic() + 120
    while not gate.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return None
"""


def gated(tmp_path: Path) -> dict[str, str]:
    """The environment that installs the gate plugin (a real entry point) in a process."""
    root = tmp_path / "gate-site"
    root.mkdir()
    (root / "chelun_test_gate.py").write_text(GATE_PLUGIN, encoding="utf-8")
    info = root / "chelun_test_gate-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: chelun-test-gate\nVersion: 1.0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text("[chelun]\ngate = chelun_test_gate\n", encoding="utf-8")
    return {"PYTHONPATH": str(root), "CHELUN_TEST_GATE": str(tmp_path / "gate" / "open")}


def wait_for(path: Path, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while not path.exists():
        if process.poll() is not None:
            pytest.fail(f"the intake ended before {path.name}: {finish(process)}")
        if time.monotonic() > deadline:
            pytest.fail(f"{path.name} never appeared")
        time.sleep(0.05)


def test_a_second_intake_of_a_province_is_refused_and_the_roster_is_whole(
    database_url: str, tmp_path: Path
) -> None:
    files = generate_province(tmp_path / "pilot", "62", 3_000, seed=21)
    (tmp_path / "gate").mkdir()
    first = intake("62", files, tmp_path / "home-a", database_url, extra=gated(tmp_path))
    wait_for(tmp_path / "gate" / "waiting", first)  # the first intake verifies, lock held
    second = intake("62", files, tmp_path / "home-b", database_url)
    code, refused = finish(second)
    (tmp_path / "gate" / "open").touch()
    assert code == 1
    lines = [line for line in refused.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in refused
    assert "roster intake of province 62 is already running" in lines[0]
    assert f"process {first.pid}" in lines[0]
    code, stderr = finish(first)
    assert code == 0, stderr

    single = f"sqlite:///{tmp_path / 'single' / 'chelun.db'}"
    alone = intake("62", files, tmp_path / "home-c", single)
    assert finish(alone)[0] == 0
    assert roster("62", tmp_path / "home-a", database_url) == roster(
        "62", tmp_path / "home-c", single
    )
    # And a plain rerun now finds everything staged and changes nothing.
    again = intake("62", files, tmp_path / "home-b", database_url)
    code, stderr = finish(again)
    assert code == 0, stderr
    assert stderr.count("unchanged, skipped") == len(files)


def test_intakes_of_two_provinces_at_once_both_go_through(
    database_url: str, tmp_path: Path
) -> None:
    jiangsu = generate_province(tmp_path / "32", "32", 3_000, seed=22)
    gansu = generate_province(tmp_path / "62", "62", 3_000, seed=23)
    both = [
        intake("32", jiangsu, tmp_path / "home-a", database_url),
        intake("62", gansu, tmp_path / "home-b", database_url),
    ]
    for process in both:
        code, stderr = finish(process)
        assert code == 0, stderr
        assert "Traceback" not in stderr and "locked" not in stderr

    single = f"sqlite:///{tmp_path / 'single' / 'chelun.db'}"
    for code, files in (("32", jiangsu), ("62", gansu)):
        assert finish(intake(code, files, tmp_path / "home-c", single))[0] == 0
        assert roster(code, tmp_path / "home-a", database_url) == roster(
            code, tmp_path / "home-c", single
        )
