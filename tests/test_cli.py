"""The command line's outside contract, run as a real process where it matters."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chelun.cli import app
from chelun.demo.roster import generate_province

CHELUN = Path(sys.executable).parent / "chelun"
runner = CliRunner()


def run_chelun(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CHELUN_HOME": str(home)}
    return subprocess.run(
        [str(CHELUN), *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )


@pytest.fixture
def pilot(tmp_path: Path) -> list:
    return generate_province(tmp_path / "pilot", "52", 400, seed=3)


def test_intake_then_export_and_quarantine_follow_the_contract(
    pilot: list, _chelun_home: Path
) -> None:
    args = [f"{s.name}={s.path}" for s in pilot]
    done = run_chelun("intake", "--province", "guizhou", *args, home=_chelun_home)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr

    exported = run_chelun(
        "roster", "export", "--province", "52", "--format", "csv", "--reveal", home=_chelun_home
    )
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert rows
    for column in ("driver", "id_number", "name", "phone", "party_member", "branch", "sources"):
        assert column in rows[0]
    assert {row["party_member"] for row in rows} <= {"0", "1"}
    names = {s.name for s in pilot}
    for row in rows:
        for reference in row["sources"].split(";"):
            source, _, number = reference.partition(":")
            assert source in names and number.isdigit() and int(number) >= 1

    quarantined = run_chelun(
        "roster", "quarantine", "--province", "52", "--format", "csv", home=_chelun_home
    )
    assert quarantined.returncode == 0
    listing = list(csv.DictReader(io.StringIO(quarantined.stdout)))
    assert listing and set(listing[0]) == {"source", "row", "reason"}

    masked = run_chelun("roster", "export", "--province", "52", home=_chelun_home)
    revealed_ids = {row["id_number"] for row in rows if row["id_number"]}
    assert not any(identifier in masked.stdout for identifier in revealed_ids)


def test_unknown_province_is_a_clear_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["intake", "--province", "atlantis", f"x={tmp_path}"])
    assert result.exit_code == 2
    assert "unknown province" in result.output and "62 (gansu)" in result.output


def test_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.csv"
    result = runner.invoke(app, ["intake", "--province", "62", f"police={missing}"])
    assert result.exit_code == 2
    assert "nowhere.csv" in result.output and "Traceback" not in result.output


def test_unreadable_file_fails_without_traceback(tmp_path: Path) -> None:
    junk = tmp_path / "junk.csv"
    junk.write_bytes(bytes(range(256)) * 8)
    result = runner.invoke(app, ["intake", "--province", "62", f"police={junk}"])
    assert result.exit_code == 1
    assert "junk.csv" in result.output and "Traceback" not in result.output


def test_bad_source_argument_is_explained(tmp_path: Path) -> None:
    result = runner.invoke(app, ["intake", "--province", "62", "just-a-path.csv"])
    assert result.exit_code == 2
    assert "NAME=PATH" in result.output
