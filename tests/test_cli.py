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
    for source in pilot:
        assert f"{source.name}: {source.name} profile, " in done.stderr

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
    assert masked.returncode == 0, masked.stderr
    masked_rows = list(csv.DictReader(io.StringIO(masked.stdout)))
    assert len(masked_rows) == len(rows)
    assert not leaks(masked.stdout, rows)
    # The check itself finds every kind of personal value in an export that reveals them.
    assert set(leaks(exported.stdout, rows)) == {"id_number", "phone", "name"}


#: A masked-export column that is not personal data and may by chance hold a name: an
#: enterprise's registered name (金华物流有限公司 holds the name 金华).
NOT_PERSONAL = ("enterprise",)


def leaks(export: str, revealed: list[dict[str, str]]) -> dict[str, list[str]]:
    """The revealed ID numbers, phones and names (2+ characters) found in an export's text
    (names outside the enterprise column)."""
    found: dict[str, list[str]] = {}
    for column in ("id_number", "phone"):
        values = {row[column] for row in revealed if row[column]}
        assert values, f"no revealed {column} to look for"
        hits = sorted(value for value in values if value in export)
        if hits:
            found[column] = hits
    names = {row["name"] for row in revealed if len(row["name"]) >= 2}
    assert names, "no revealed name to look for"
    cells = [
        value
        for row in csv.DictReader(io.StringIO(export))
        for column, value in row.items()
        if column not in NOT_PERSONAL and value
    ]
    hits = sorted(name for name in names if any(name in cell for cell in cells))
    if hits:
        found["name"] = hits
    return found


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
