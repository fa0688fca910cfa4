"""A run killed part-way and started again ends in the same roster as a run never interrupted.

The intake runs as a real ``chelun`` process with small committed batches (CHELUN_BATCH_ROWS)
and is killed with SIGKILL at chosen points, found by watching its SQLite file read-only: right
after start, after the first batches of the first source, half-way through all rows, and once
every source is staged (during or just before linkage). The same intake is then run again to the
end and its roster and quarantine are compared with those of one uninterrupted run.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chelun.cli import app
from chelun.demo.roster import GeneratedSource, generate_province
from chelun.roster.export import ROSTER_COLUMNS

CHELUN = Path(sys.executable).parent / "chelun"
PROVINCE = "62"
DRIVERS = 15_000
BATCH_ROWS = 500
POLL_SECONDS = 120.0
#: Export columns compared; ``driver`` and ``contact`` are surrogate codes and may differ.
COMPARED = tuple(c for c in ROSTER_COLUMNS if c not in ("driver", "contact"))
runner = CliRunner()


@dataclass(frozen=True)
class Pilot:
    sources: list[GeneratedSource]

    @property
    def args(self) -> list[str]:
        return [f"{s.name}={s.path}" for s in self.sources]

    @property
    def total_rows(self) -> int:
        return sum(s.rows for s in self.sources)


@dataclass(frozen=True)
class Outcome:
    """What a finished intake left: the compared roster rows, the quarantine and the files."""

    roster: list[tuple[str, ...]]
    quarantine: list[tuple[str, str, str]]
    files: list[tuple[str, int, int, str]]
    records: int


@dataclass(frozen=True)
class State:
    """What an intake had committed when looked at: records per source, file status, drivers."""

    records: dict[str, int]
    status: dict[str, str]
    drivers: int

    @property
    def total(self) -> int:
        return sum(self.records.values())


def chelun_env(home: Path) -> dict[str, str]:
    return {**os.environ, "CHELUN_HOME": str(home), "CHELUN_BATCH_ROWS": str(BATCH_ROWS)}


def intake_command(pilot: Pilot) -> list[str]:
    return [str(CHELUN), "intake", "--province", PROVINCE, *pilot.args]


def run_intake(pilot: Pilot, home: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        intake_command(pilot),
        capture_output=True,
        text=True,
        env=chelun_env(home),
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done


def start_intake(pilot: Pilot, home: Path) -> subprocess.Popen[bytes]:
    home.mkdir(parents=True)
    # A file, not a pipe: nobody reads a pipe while the test polls, and a full one would stall.
    with (home.parent / f"{home.name}.log").open("wb") as log:
        return subprocess.Popen(
            intake_command(pilot), stdout=log, stderr=subprocess.STDOUT, env=chelun_env(home)
        )


def look(database: Path) -> State | None:
    """The committed state of an intake's SQLite file, or None if it cannot be read yet."""
    if not database.exists():
        return None
    try:
        connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=0.2)
    except sqlite3.Error:
        return None
    try:
        records = dict(
            connection.execute(
                "SELECT source, COUNT(*) FROM source_record WHERE province = ? GROUP BY source",
                (PROVINCE,),
            ).fetchall()
        )
        status = dict(
            connection.execute(
                "SELECT name, status FROM source_file WHERE province = ?", (PROVINCE,)
            ).fetchall()
        )
        drivers = connection.execute(
            "SELECT COUNT(*) FROM driver WHERE province = ?", (PROVINCE,)
        ).fetchone()[0]
    except sqlite3.Error:  # database is locked, schema not created yet, WAL not set up ...
        return None
    finally:
        connection.close()
    return State(records, status, drivers)


def kill_when(
    process: subprocess.Popen[bytes], database: Path, reached: Callable[[State], bool], what: str
) -> None:
    """SIGKILL the intake as soon as its committed state satisfies ``reached``."""
    deadline = time.monotonic() + POLL_SECONDS
    while True:
        state = look(database)
        if state is not None and reached(state):
            break
        if process.poll() is not None:
            pytest.fail(
                f"the intake ended (exit code {process.returncode}) before {what}: "
                "make the pilot bigger or the batches smaller"
            )
        if time.monotonic() > deadline:
            process.kill()
            process.wait()
            pytest.fail(f"{what} not reached within {POLL_SECONDS:.0f} s")
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, (
        f"the intake ended by itself (exit code {process.returncode}) before it was killed {what}"
    )


def outcome(home: Path) -> Outcome:
    env = {"CHELUN_HOME": str(home)}
    exported = runner.invoke(
        app,
        ["roster", "export", "--province", PROVINCE, "--reveal", "-o", str(home / "roster.csv")],
        env=env,
    )
    assert exported.exit_code == 0, exported.output
    with (home / "roster.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    listed = runner.invoke(app, ["roster", "quarantine", "--province", PROVINCE], env=env)
    assert listed.exit_code == 0, listed.output
    quarantine = [
        (q["source"], q["row"], q["reason"]) for q in csv.DictReader(io.StringIO(listed.stdout))
    ]
    connection = sqlite3.connect(f"file:{home / 'chelun.db'}?mode=ro", uri=True)
    try:
        files = connection.execute(
            "SELECT name, rows, blank_rows, status FROM source_file ORDER BY name"
        ).fetchall()
        records = connection.execute("SELECT COUNT(*) FROM source_record").fetchone()[0]
    finally:
        connection.close()
    return Outcome(
        sorted(tuple(row[c] for c in COMPARED) for row in rows),
        sorted(quarantine),
        [tuple(f) for f in files],
        records,
    )


def check_accounting(result: Outcome, pilot: Pilot) -> None:
    """Every row read once: on one roster entry or in quarantine, never both, never twice."""
    assert result.records == pilot.total_rows
    assert [(f[0], f[1], f[3]) for f in result.files] == sorted(
        (s.name, s.rows, "staged") for s in pilot.sources
    )
    ids = Counter(row[0] for row in result.roster if row[0])
    assert [i for i, n in ids.items() if n > 1] == []
    references = Counter(
        ref for row in result.roster for ref in row[COMPARED.index("sources")].split(";")
    )
    references.update(f"{source}:{row}" for source, row, _ in result.quarantine)
    assert [r for r, n in references.items() if n > 1] == []
    assert len(references) == pilot.total_rows


@pytest.fixture(scope="module")
def pilot(tmp_path_factory: pytest.TempPathFactory) -> Pilot:
    folder = tmp_path_factory.mktemp("resume-pilot")
    return Pilot(generate_province(folder, PROVINCE, DRIVERS, seed=11, spreadsheet=False))


class Reference:
    """The uninterrupted run. It starts with the module and runs alongside the first kill test;
    ``outcome()`` waits for it."""

    def __init__(self, pilot: Pilot, home: Path) -> None:
        self.pilot = pilot
        self.home = home
        self.process = start_intake(pilot, home)
        self._outcome: Outcome | None = None

    def outcome(self) -> Outcome:
        if self._outcome is None:
            code = self.process.wait(timeout=300)
            log = (self.home.parent / f"{self.home.name}.log").read_text(errors="replace")
            assert code == 0, log
            assert "Traceback" not in log
            result = outcome(self.home)
            check_accounting(result, self.pilot)
            self._outcome = result
        return self._outcome

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def reference(pilot: Pilot, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reference]:
    run = Reference(pilot, tmp_path_factory.mktemp("resume-reference") / "home")
    yield run
    run.stop()


def first_batches(pilot: Pilot) -> Callable[[State], bool]:
    first = pilot.sources[0].name
    return lambda state: state.records.get(first, 0) >= 3 * BATCH_ROWS


def half_the_rows(pilot: Pilot) -> Callable[[State], bool]:
    return lambda state: state.total >= pilot.total_rows // 2


def all_staged(pilot: Pilot) -> Callable[[State], bool]:
    names = {s.name for s in pilot.sources}
    return lambda state: set(state.status) == names and set(state.status.values()) == {"staged"}


KILL_POINTS = {
    "right after start": None,
    "after the first batches of the first source": first_batches,
    "half-way through all rows": half_the_rows,
    "once every source is staged": all_staged,
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_killed_intake_started_again_ends_in_the_same_roster(
    point: str, pilot: Pilot, reference: Reference, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    database = home / "chelun.db"
    process = start_intake(pilot, home)
    condition = KILL_POINTS[point]
    if condition is None:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        assert process.returncode == -signal.SIGKILL
    else:
        kill_when(process, database, condition(pilot), point)

    # The kill landed where it was meant to: the run was cut short there.
    killed = look(database)
    first = pilot.sources[0].name
    if point == "right after start":
        assert killed is None or killed.total == 0
    elif point == "after the first batches of the first source":
        assert killed is not None and killed.status.get(first) == "staging"
        assert set(killed.records) == {first}
        assert 3 * BATCH_ROWS <= killed.records[first] < pilot.sources[0].rows
    elif point == "half-way through all rows":
        assert killed is not None and killed.drivers == 0
        assert pilot.total_rows // 2 <= killed.total < pilot.total_rows
        assert "staging" in killed.status.values()
    else:
        assert killed is not None and killed.total == pilot.total_rows
        assert killed.drivers == 0, "linkage had committed before the kill"

    again = run_intake(pilot, home)
    result = outcome(home)
    expected = reference.outcome()
    assert result.roster == expected.roster
    assert result.quarantine == expected.quarantine
    assert len(result.quarantine) == len(expected.quarantine)
    assert result.files == expected.files
    check_accounting(result, pilot)

    # Started again, the intake does over only what the kill cut short.
    if killed is not None:
        for source in pilot.sources:
            skipped = f"{source.name}: {source.name} profile, unchanged, skipped" in again.stderr
            assert skipped == (killed.status.get(source.name) == "staged"), source.name
