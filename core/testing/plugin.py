"""The pytest plugin for chelun plugin authors (entry point ``pytest11``: loaded by itself).

Fixtures:

- ``chelun_plugin``: the plugin under test (``chelun_plugin`` in the pytest settings, or
  ``--chelun-plugin NAME``): an installed entry point, or, before the package is installed, the
  entry point its project's ``pyproject.toml`` declares;
- ``chelun_province``: the province its tests run for (``chelun_province`` / ``--chelun-province``;
  by default the first the plugin serves);
- ``chelun_env``: a test's own chelun home and database (``CHELUN_HOME``,
  ``CHELUN_DATABASE_URL``), only the plugin under test loaded, its province served;
- ``chelun_host``, ``chelun_pm``: a plugin host and the province's plugin manager, holding the
  plugin and core's defaults and nothing else;
- ``chelun_database``: a migrated, empty SQLite database of the test's own;
- ``chelun_samples`` (and ``chelun_roster``, ``chelun_grievances``, ``chelun_claims``): the
  province's sample data (``chelun.kit.samples``);
- ``chelun_conformance``: the conformance report of the plugin, run once per session.

Nothing is imported at load beyond pytest: the plugin is loaded in every pytest session of an
environment where chelun is installed.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import pluggy

    from chelun.kit.conformance import ConformanceReport, PluginTarget
    from chelun.kit.samples import Samples
    from chelun.plugin_manager import PluginHost
    from chelun.storage.db import Database


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("chelun", "chelun plugin authors")
    group.addoption(
        "--chelun-plugin",
        metavar="NAME",
        help="the chelun plugin under test: its entry-point name, or a folder or .py file",
    )
    group.addoption(
        "--chelun-province",
        metavar="CODE",
        help="the province its tests run for (default: the first it serves)",
    )
    parser.addini("chelun_plugin", "the chelun plugin under test (its entry-point name)")
    parser.addini("chelun_province", "the province the plugin's tests run for")


def _setting(config: pytest.Config, name: str) -> str | None:
    value = config.getoption(f"--chelun-{name}") or config.getini(f"chelun_{name}") or ""
    return str(value).strip() or None


@pytest.fixture(scope="session")
def chelun_plugin(pytestconfig: pytest.Config) -> PluginTarget:
    """The plugin under test."""
    from chelun.kit.conformance import TargetError, find_plugin

    reference = _setting(pytestconfig, "plugin")
    if reference is None:
        pytest.fail(
            'name the plugin under test: chelun_plugin = "NAME" in [tool.pytest.ini_options], '
            "or --chelun-plugin NAME",
            pytrace=False,
        )
    try:
        return find_plugin(reference, root=pytestconfig.rootpath)
    except TargetError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def chelun_province(pytestconfig: pytest.Config, chelun_plugin: PluginTarget) -> str:
    """The province the plugin's tests run for."""
    from chelun.identity.divisions import resolve_province

    given = _setting(pytestconfig, "province")
    if given is not None:
        try:
            return resolve_province(given)
        except ValueError as exc:
            pytest.fail(f"chelun_province: {exc}", pytrace=False)
    refused: list[Any] = []
    host = chelun_plugin.host(report=refused.append)
    for info in host.describe():
        if info.name == chelun_plugin.name:
            return info.provinces[0] if info.provinces else "11"
    pytest.fail("; ".join(str(failure) for failure in refused) or "it did not load", pytrace=False)


@pytest.fixture
def chelun_env(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    chelun_plugin: PluginTarget,
    chelun_province: str,
) -> Path:
    """The test's own chelun home (returned) and database; only the plugin under test loaded
    and its province served, for code that reads chelun's settings itself."""
    home = tmp_path / "chelun-home"
    home.mkdir()
    monkeypatch.setenv("CHELUN_HOME", str(home))
    monkeypatch.setenv("CHELUN_DATABASE_URL", f"sqlite:///{home / 'chelun.db'}")
    monkeypatch.setenv("CHELUN_LOAD_PLUGINS", chelun_plugin.name)
    monkeypatch.delenv("CHELUN_BLOCK_PLUGINS", raising=False)
    monkeypatch.setenv("CHELUN_PROVINCES", chelun_province)
    return home


@pytest.fixture
def chelun_host(chelun_plugin: PluginTarget, chelun_env: Path) -> PluginHost:
    """A plugin host with core's defaults and the plugin under test only."""
    refused: list[Any] = []
    host = chelun_plugin.host(report=refused.append)
    mine = [failure for failure in refused if failure.name == chelun_plugin.name]
    if mine:
        pytest.fail(str(mine[0]), pytrace=False)
    return host


@pytest.fixture
def chelun_pm(chelun_host: PluginHost, chelun_province: str) -> pluggy.PluginManager:
    """The plugin manager of the province: the plugin under test and core's defaults."""
    return chelun_host.manager(chelun_province)


@pytest.fixture(scope="session")
def _chelun_schema(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty SQLite database, migrated once and copied for each test."""
    from chelun.storage.db import Database

    path = tmp_path_factory.mktemp("chelun-schema") / "chelun.db"
    database = Database(f"sqlite:///{path}")
    database.ensure_schema()
    database.dispose()
    return path


@pytest.fixture
def chelun_database(chelun_env: Path, _chelun_schema: Path) -> Iterator[Database]:
    """A migrated, empty SQLite database of the test's own (where ``CHELUN_DATABASE_URL``
    points)."""
    from chelun.storage.db import Database

    path = chelun_env / "chelun.db"
    shutil.copyfile(_chelun_schema, path)
    database = Database(f"sqlite:///{path}")
    yield database
    database.dispose()


@pytest.fixture
def chelun_samples(chelun_province: str) -> Samples:
    """Sample data of the province, as the hooks receive it (``chelun.kit.samples``)."""
    from chelun.kit.samples import Samples

    return Samples(chelun_province)


@pytest.fixture
def chelun_roster(chelun_samples: Samples) -> list[Any]:
    """The province's sample drivers (``DriverProfile``), members first."""
    return chelun_samples.drivers


@pytest.fixture
def chelun_grievances(chelun_samples: Samples) -> list[Any]:
    """The province's sample grievances (``GrievanceItem``), one per category, as routing
    receives them."""
    return chelun_samples.grievances


@pytest.fixture
def chelun_claims(chelun_samples: Samples) -> list[Any]:
    """The province's sample claims (``ClaimItem``) under ``chelun_samples.product``."""
    return chelun_samples.claims


@pytest.fixture(scope="session")
def chelun_conformance(
    chelun_plugin: PluginTarget,
    chelun_province: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> ConformanceReport:
    """The conformance report of the plugin under test (what ``chelun plugins check``
    prints), run once per session."""
    from chelun.kit.conformance import run_conformance

    return run_conformance(
        chelun_plugin, chelun_province, workdir=tmp_path_factory.mktemp("chelun-conformance")
    )
