"""Shared fixtures: offline Prefect, real databases (SQLite file; PostgreSQL when one answers)."""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

# Prefect reads its settings at import: make it private and silent before anything imports it.
_PREFECT_HOME = Path(tempfile.mkdtemp(prefix="chelun-tests-prefect-"))
atexit.register(shutil.rmtree, _PREFECT_HOME, ignore_errors=True)
os.environ["PREFECT_HOME"] = str(_PREFECT_HOME)
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
# Tests run some tasks outside a flow: their logs have no flow run to go to, and that is fine.
os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
os.environ.pop("CHELUN_DATABASE_URL", None)
os.environ.pop("CHELUN_LOAD_PLUGINS", None)
os.environ.pop("CHELUN_BLOCK_PLUGINS", None)

from chelun.storage.db import Database  # noqa: E402

POSTGRES_URL = os.environ.get(
    "CHELUN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def postgres_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            pass
    except OSError:
        return False
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(autouse=True)
def _chelun_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("CHELUN_HOME", str(home))
    return home


def _postgres_database() -> Iterator[Database]:
    from sqlalchemy import create_engine, text

    schema = f"chelun_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    database = Database(f"{POSTGRES_URL}?options=-csearch_path%3D{schema}")
    try:
        database.upgrade()
        yield database
    finally:
        database.dispose()
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database: a SQLite file, and PostgreSQL where a server answers."""
    if request.param == "postgresql":
        if not postgres_available():
            pytest.skip("no PostgreSQL server on 127.0.0.1:5432")
        yield from _postgres_database()
        return
    database = Database(f"sqlite:///{tmp_path / 'chelun.db'}")
    database.ensure_schema()
    yield database
    database.dispose()


@pytest.fixture
def sqlite_database(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'chelun.db'}")
    database.ensure_schema()
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One Prefect test server for the whole session (its first start migrates its database)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield
