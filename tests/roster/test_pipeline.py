"""The intake pipeline without Prefect: its steps in order, its progress reports, which errors
are transient."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from chelun import hookimpl
from chelun.demo.roster import generate_province
from chelun.plugin_manager import PluginError, PluginHost, decide
from chelun.roster.pipeline import (
    STEP_FUNCTIONS,
    NoProgress,
    is_transient,
    run_intake,
)
from chelun.roster.service import PARALLEL_MIN_BYTES, RosterIntake
from chelun.roster.settings import RosterSettings
from chelun.roster.staging import SourceInput, StageResult
from chelun.settings import Settings
from chelun.sources.profiles import ProfileError
from chelun.sources.readers import SourceReadError
from chelun.storage.db import Database
from chelun.storage.locks import LockBusy

T = TypeVar("T")


class Recorder:
    """An IntakeProgress that writes down what it is told."""

    def __init__(self) -> None:
        self.events: list[tuple[str, ...]] = []
        self.rows: dict[str, int] = {}

    def staging_file(self, source: SourceInput) -> Callable[[int], None]:
        self.events.append(("file", source.name))
        self.rows[source.name] = 0

        def advance(rows: int) -> None:
            self.rows[source.name] += rows

        return advance

    def staging_in_processes(self, files: int, processes: int) -> None:
        self.events.append(("processes", str(files), str(processes)))

    def staged(self, results: Sequence[StageResult]) -> None:
        self.events.append(("staged", *(result.source for result in results)))

    def step(self, name: str) -> None:
        self.events.append(("step", name))


def test_run_intake_runs_every_step_in_order_and_reports(
    tmp_path: Path, sqlite_database: Database
) -> None:
    sources = generate_province(tmp_path / "pilot", "62", 120, seed=4)
    inputs = [SourceInput(s.name, s.path) for s in sources]
    intake = RosterIntake(sqlite_database, PluginHost(Settings()).manager("62"), "62")
    ran: list[str] = []

    def runner(name: str, step: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        assert step is STEP_FUNCTIONS[name]
        ran.append(name)
        return step(*args, **kwargs)

    progress = Recorder()
    outcome = run_intake(intake, inputs, progress=progress, run_step=runner)

    assert ran == list(STEP_FUNCTIONS) == ["stage", "link", "verify", "enrol"]
    names = [s.name for s in sources]
    assert progress.events == [
        *(("file", name) for name in names),
        ("staged", *names),
        ("step", "link"),
        ("step", "verify"),
        ("step", "enrol"),
    ]
    # Every row read was reported, file by file.
    assert progress.rows == {result.source: result.rows for result in outcome.staged}
    assert all(rows > 0 for rows in progress.rows.values())
    assert outcome.linked.drivers_created == outcome.summary.drivers > 100
    assert all(account.balanced for account in outcome.summary.accounts)

    again = run_intake(intake, inputs)
    assert all(result.skipped for result in again.staged)
    assert again.summary.drivers == outcome.summary.drivers


def test_the_intake_lock_is_held_from_the_first_step_to_the_last(
    tmp_path: Path, sqlite_database: Database
) -> None:
    sources = generate_province(tmp_path / "pilot", "62", 40, seed=6)
    inputs = [SourceInput(s.name, s.path) for s in sources]
    pm = PluginHost(Settings()).manager("62")
    refused: dict[str, str] = {}

    class Intruder(NoProgress):
        """Between the steps of one intake, tries a second one of the province."""

        def step(self, name: str) -> None:
            other = RosterIntake(sqlite_database, pm, "62", actor="someone else")
            with pytest.raises(LockBusy) as busy:
                STEP_FUNCTIONS[name](other)
            refused[name] = str(busy.value)

    first = RosterIntake(sqlite_database, pm, "62", actor="first")
    run_intake(first, inputs, progress=Intruder())
    assert set(refused) == {"link", "verify", "enrol"}
    assert all("first" in message for message in refused.values())
    # Released at the end: the next intake runs.
    assert run_intake(RosterIntake(sqlite_database, pm, "62"), inputs).summary.drivers > 30


def test_big_inputs_are_staged_in_processes_by_the_same_rule_as_stage_all(
    tmp_path: Path, sqlite_database: Database
) -> None:
    """Sparse files: big on disk for the rule, nothing to write."""

    def sparse(name: str, size: int) -> SourceInput:
        path = tmp_path / f"{name}.csv"
        with path.open("wb") as handle:
            handle.truncate(size)
        return SourceInput(name, path)

    pm = PluginHost(Settings()).manager("62")
    half = PARALLEL_MIN_BYTES // 2
    big = [sparse("a", half), sparse("b", half)]

    def intake(workers: int) -> RosterIntake:
        return RosterIntake(sqlite_database, pm, "62", settings=RosterSettings(workers=workers))

    assert intake(2).stages_in_processes(big)
    assert not intake(1).stages_in_processes(big)
    assert not intake(2).stages_in_processes([sparse("c", 2 * PARALLEL_MIN_BYTES)])
    assert not intake(2).stages_in_processes([sparse("d", half), sparse("e", half - 1)])


def raised(action: Callable[[], object]) -> BaseException:
    with pytest.raises(Exception) as info:
        action()
    return info.value


def plugin_failing_with(error: Exception) -> PluginError:
    class Provider:
        PROVINCES = ("62",)

        @hookimpl
        def chelun_check_phones(self, province: str, checks: list[Any]) -> None:
            raise error

    pm = PluginHost(Settings(), extra=[("provider", Provider())]).manager("62")
    found = raised(lambda: decide(pm, "chelun_check_phones", province="62", checks=[]))
    assert isinstance(found, PluginError)
    return found


def test_network_and_database_errors_are_transient(tmp_path: Path) -> None:
    request = httpx.Request("POST", "http://provider.invalid")
    assert is_transient(httpx.ConnectError("refused", request=request))
    assert is_transient(httpx.ConnectTimeout("slow", request=request))
    assert is_transient(plugin_failing_with(httpx.ReadTimeout("slow", request=request)))
    assert is_transient(plugin_failing_with(ConnectionResetError("reset")))

    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path)
    holder.execute("CREATE TABLE t (x INTEGER)")
    holder.execute("BEGIN EXCLUSIVE")
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    try:
        with engine.begin() as connection:
            locked = raised(lambda: connection.execute(text("INSERT INTO t VALUES (1)")))
    finally:
        engine.dispose()
        holder.close()
    assert isinstance(locked, OperationalError) and is_transient(locked)

    # Behind any error, implicitly: a plugin that turns a timeout into its own error.
    try:
        try:
            raise TimeoutError("provider slow")
        except TimeoutError:
            raise RuntimeError("provider down") from None
    except RuntimeError as suppressed:
        assert not is_transient(suppressed)  # `from None`: the timeout is no cause of it
    try:
        try:
            raise TimeoutError("provider slow")
        except TimeoutError:
            raise RuntimeError("provider down")  # noqa: B904 - the implicit chain is the point
    except RuntimeError as chained:
        assert is_transient(chained)


def test_refusals_and_bad_files_are_not_transient(tmp_path: Path) -> None:
    assert not is_transient(plugin_failing_with(ValueError("token revoked")))
    assert not is_transient(plugin_failing_with(KeyError("results")))
    assert not is_transient(PluginError("provider", "chelun_check_phones", "answered for 62-1"))
    # A file error stays a file error even when an OS error is behind it.
    try:
        try:
            raise TimeoutError("network share slow")
        except TimeoutError as exc:
            raise SourceReadError(tmp_path / "x.csv", "reading failed") from exc
    except SourceReadError as unreadable:
        assert not is_transient(unreadable)
    assert not is_transient(ProfileError("no profile fits the headers 颜色, 重量"))

    # A chain that loops back on itself ends.
    first, second = RuntimeError("a"), RuntimeError("b")
    first.__cause__, second.__cause__ = second, first
    assert not is_transient(first)
