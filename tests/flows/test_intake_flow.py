"""The intake flow on Prefect's test server: a task per step sharing one intake, an artifact of
counts, and retries for transient errors only."""

from __future__ import annotations

import csv
import io
import sqlite3
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from chelun import hookimpl
from chelun.demo.roster import GeneratedSource, generate_province
from chelun.plugin_manager import PluginError, PluginHost, decide
from chelun.roster.export import export_roster
from chelun.roster.models import PhoneCheck
from chelun.roster.phone_api import PhoneApiError, PhoneCheckClient
from chelun.roster.service import RosterIntake
from chelun.roster.staging import SourceInput
from chelun.settings import Settings
from chelun.sources.profiles import ProfileError
from chelun.sources.readers import SourceReadError
from chelun.storage.db import Database

pytestmark = pytest.mark.usefixtures("prefect_harness")


def flow_sources(sources: list[GeneratedSource]) -> dict[str, str]:
    return {s.name: str(s.path) for s in sources}


def personal_values(province: str) -> dict[str, set[str]]:
    """Every ID number, phone and name (2+ characters) intake read for a province: each staged
    row's (quarantined rows too) and the revealed export's."""
    database = Database(Settings().resolved_database_url)
    try:
        with database.connect() as connection:
            rows = connection.execute(
                text("SELECT id_number, phone, name FROM source_record WHERE province = :p"),
                {"p": province},
            ).all()
        revealed = io.StringIO()
        export_roster(database, province, revealed, reveal=True)
    finally:
        database.dispose()
    values: dict[str, set[str]] = {"id_number": set(), "phone": set(), "name": set()}
    for id_number, phone, name in rows:
        values["id_number"].add(id_number or "")
        values["phone"].add(phone or "")
        values["name"].add(name or "")
    for row in csv.DictReader(io.StringIO(revealed.getvalue())):
        for kind in values:
            values[kind].add(row[kind])
    return {kind: {v for v in found if len(v) >= 2} for kind, found in values.items()}


def stored_results() -> set[Path]:
    from prefect.settings import get_current_settings

    storage = Path(get_current_settings().results.local_storage_path)
    return set(storage.rglob("*")) if storage.exists() else set()


def test_intake_flow_stages_links_and_publishes_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.artifacts import Artifact

    from chelun.flows.intake import intake_flow

    opened: list[str] = []
    database_init = Database.__init__

    def counting_init(self: Database, url: str) -> None:
        opened.append(url)
        database_init(self, url)

    hosts: list[PluginHost] = []
    host_init = PluginHost.__init__

    def counting_host(self: PluginHost, *args: Any, **kwargs: Any) -> None:
        hosts.append(self)
        host_init(self, *args, **kwargs)

    monkeypatch.setattr(Database, "__init__", counting_init)
    monkeypatch.setattr(PluginHost, "__init__", counting_host)
    results_before = stored_results()

    sources = generate_province(tmp_path / "pilot", "62", 300, seed=5)
    result = intake_flow(province="62", sources=flow_sources(sources))
    summary = result["summary"]
    assert summary.drivers > 250
    assert all(account.balanced for account in summary.accounts)
    assert {s["source"] for s in result["staged"]} == {s.name for s in sources}
    # One intake per run, shared by the four tasks: one database, one plugin host.
    assert len(opened) == 1 and len(hosts) == 1
    # Nothing was persisted (no result, hence no pickled intake, database or engine).
    assert stored_results() == results_before

    artifact = Artifact.get("roster-intake-62")
    assert artifact is not None
    published = str(artifact.data)
    assert "rows_in" in published
    for secret_column in ("id_number", "phone", "name"):
        assert secret_column not in published
    secrets = personal_values("62")
    assert len(secrets["id_number"]) > 250 and len(secrets["phone"]) > 250
    for kind, values in secrets.items():
        leaked = sorted(value for value in values if value in published)
        assert not leaked, f"the artifact holds {kind} values: {leaked[:3]}"

    again = intake_flow(province="62", sources=flow_sources(sources))
    assert all(s["skipped"] for s in again["staged"])
    assert again["summary"].drivers == summary.drivers


def test_each_task_is_a_step_of_the_pipeline() -> None:
    from prefect.cache_policies import NO_CACHE

    from chelun.flows.intake import TASKS, retry_transient
    from chelun.roster.pipeline import STEP_FUNCTIONS

    assert list(TASKS) == list(STEP_FUNCTIONS)
    for name, step_task in TASKS.items():
        assert step_task.fn is STEP_FUNCTIONS[name]
        assert step_task.cache_policy is NO_CACHE and step_task.persist_result is False
        assert step_task.retry_condition_fn is retry_transient


# --- retries: transient errors only -------------------------------------------------------------

PHONE_PLUGIN = """
import httpx

from chelun import hookimpl

PROVINCES = ("62",)
CALLS = []
MODE = {mode!r}


@hookimpl(tryfirst=True)
def chelun_check_phones(province, checks):
    CALLS.append(len(checks))
    if MODE == "refuse":
        raise ValueError("the provider refuses the batch: token revoked")
    if len(CALLS) == 1:
        raise httpx.ConnectError("connection refused")
    return []
"""


@pytest.fixture
def phone_plugin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[Any]:
    """An installed plugin (an entry point of a distribution on sys.path) that serves 62's
    phone checks: it refuses every batch (``mode`` "refuse"), or its first call meets a
    refused connection and later calls answer (``mode`` "flaky"). Yields its module."""
    mode: str = request.param
    module = f"chelun_phone_{mode}_{uuid.uuid4().hex[:8]}"
    root = tmp_path / "site"
    root.mkdir()
    (root / f"{module}.py").write_text(PHONE_PLUGIN.format(mode=mode), encoding="utf-8")
    info = root / f"{module}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {module.replace('_', '-')}\nVersion: 0.1\n",
        encoding="utf-8",
    )
    (info / "entry_points.txt").write_text(f"[chelun]\n{module} = {module}\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(root))
    try:
        host = PluginHost(Settings())
        assert host.manager("62").has_plugin(module)
        yield sys.modules[module]
    finally:
        sys.modules.pop(module, None)


STEP_TASKS = ("stage-sources", "link-province", "verify-province", "enrol-province")


def task_run_counts(flow_run_id: uuid.UUID, finished: set[str]) -> dict[str, int]:
    """Each task of a flow run, by task name: how many times it ran, once the tasks named in
    ``finished`` are recorded in a final state (the server records task runs from events, a
    moment after they happen)."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    deadline = time.monotonic() + 30
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
            )
            final = {
                run.name.rsplit("-", 1)[0]
                for run in runs
                if run.state is not None and run.state.is_final()
            }
            if finished <= final or time.monotonic() > deadline:
                return {run.name.rsplit("-", 1)[0]: run.run_count for run in runs}
            time.sleep(0.2)


@pytest.mark.parametrize("phone_plugin", ["refuse"], indirect=True)
def test_a_plugin_refusal_fails_the_run_at_once(tmp_path: Path, phone_plugin: Any) -> None:
    from chelun.flows.intake import intake_flow

    sources = generate_province(tmp_path / "pilot", "62", 80, seed=9)
    state = intake_flow(province="62", sources=flow_sources(sources), return_state=True)

    assert state.is_failed()
    error = state.result(raise_on_failure=False)
    assert isinstance(error, PluginError) and "token revoked" in str(error)
    # The verify task has retries, but a refusal is not transient: asked once, run once.
    assert len(phone_plugin.CALLS) == 1
    runs = task_run_counts(
        state.state_details.flow_run_id, {"stage-sources", "link-province", "verify-province"}
    )
    assert runs["verify-province"] == 1
    assert "enrol-province" not in runs


@pytest.mark.parametrize("phone_plugin", ["flaky"], indirect=True)
def test_a_refused_connection_is_retried(
    tmp_path: Path, phone_plugin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chelun.flows import intake

    monkeypatch.setattr(intake.verify_province, "retry_delay_seconds", 0)
    sources = generate_province(tmp_path / "pilot", "62", 80, seed=9)
    state = intake.intake_flow(province="62", sources=flow_sources(sources), return_state=True)

    assert state.is_completed(), state.message
    assert len(phone_plugin.CALLS) == 2
    runs = task_run_counts(state.state_details.flow_run_id, set(STEP_TASKS))
    assert runs["verify-province"] == 2
    assert runs["stage-sources"] == runs["link-province"] == runs["enrol-province"] == 1


class Provider:
    """A plugin whose phone check fails with the error it is given."""

    PROVINCES = ("62",)

    def __init__(self, error: Exception) -> None:
        self.error = error

    @hookimpl
    def chelun_check_phones(self, province: str, checks: list[Any]) -> None:
        raise self.error


def ask_provider(error: Exception) -> None:
    """A phone check through a real plugin manager, whose plugin fails with ``error``."""
    pm = PluginHost(Settings(), extra=[("provider", Provider(error))]).manager("62")
    decide(pm, "chelun_check_phones", province="62", checks=[])


def ask_unreachable_provider() -> None:
    """A phone check through the provider client, whose every request times out."""

    def time_out(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    client = PhoneCheckClient(
        "http://provider.invalid/check",
        attempts=2,
        backoff=0,
        transport=httpx.MockTransport(time_out),
    )
    client.check([PhoneCheck(driver="62-0000001", phone="13800138000")])


def stage_file(path: Path) -> None:
    database = Database(f"sqlite:///{path.parent / 'stage.db'}")
    database.ensure_schema()
    try:
        pm = PluginHost(Settings()).manager("62")
        RosterIntake(database, pm, "62").stage(SourceInput("police", path))
    finally:
        database.dispose()


def write_to_locked_database(path: Path) -> None:
    """A write to a SQLite file another connection holds an exclusive lock on, through
    SQLAlchemy, without waiting for the lock."""
    holder = sqlite3.connect(path)
    holder.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
    holder.execute("BEGIN EXCLUSIVE")
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    try:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES (1)"))
    finally:
        engine.dispose()
        holder.rollback()
        holder.close()


def junk_file(tmp_path: Path) -> Path:
    path = tmp_path / "junk.csv"
    path.write_bytes(bytes(range(256)) * 8)
    return path


def unknown_headers(tmp_path: Path) -> Path:
    path = tmp_path / "unknown.csv"
    path.write_text("颜色,重量\n红,3\n蓝,4\n", encoding="utf-8")
    return path


FAILURES: dict[str, tuple[Callable[[Path], None], type[BaseException], bool]] = {
    "plugin refuses": (
        lambda _: ask_provider(ValueError("token revoked")),
        PluginError,
        False,
    ),
    "plugin answers wrongly": (
        lambda _: ask_provider(KeyError("results")),
        PluginError,
        False,
    ),
    "plugin's connection refused": (
        lambda _: ask_provider(httpx.ConnectError("connection refused")),
        PluginError,
        True,
    ),
    "plugin's request timed out": (
        lambda _: ask_provider(httpx.ReadTimeout("timed out")),
        PluginError,
        True,
    ),
    "unreadable file": (lambda tmp: stage_file(junk_file(tmp)), SourceReadError, False),
    "headers no profile fits": (lambda tmp: stage_file(unknown_headers(tmp)), ProfileError, False),
    "database locked": (
        lambda tmp: write_to_locked_database(tmp / "locked.db"),
        OperationalError,
        True,
    ),
}


Failure = tuple[Any, Any, Any]


def fail_in_a_task(name: str, action: Callable[[], None]) -> Failure:
    """Run ``action`` as a Prefect task that fails; the (task, task_run, state) Prefect hands to
    the task's failure hooks, the arguments it hands to ``retry_condition_fn`` too."""
    from prefect import task
    from prefect.cache_policies import NO_CACHE

    seen: list[Failure] = []

    def record(task: Any, task_run: Any, state: Any) -> None:
        seen.append((task, task_run, state))

    @task(name=name, cache_policy=NO_CACHE, persist_result=False, on_failure=[record])
    def failing() -> None:
        action()

    state = failing(return_state=True)
    assert state.is_failed() and len(seen) == 1
    return seen[0]


@pytest.mark.parametrize("case", FAILURES)
def test_retry_condition_on_real_failed_states(case: str, tmp_path: Path) -> None:
    from chelun.flows.intake import retry_transient

    action, kind, transient = FAILURES[case]
    task, task_run, state = fail_in_a_task(f"fails: {case}", lambda: action(tmp_path))
    assert isinstance(state.result(raise_on_failure=False), kind)
    assert task_run.id == state.state_details.task_run_id
    assert retry_transient(task, task_run, state) is transient


def test_retry_condition_retries_an_unreachable_provider() -> None:
    from chelun.flows.intake import retry_transient

    task, task_run, state = fail_in_a_task("provider unreachable", ask_unreachable_provider)
    assert isinstance(state.result(raise_on_failure=False), PhoneApiError)
    assert retry_transient(task, task_run, state)
