"""bench/intake_bench.py's store floor: every row of every table, rewritten into the same schema,
and the lower bound the report derives from it."""

from __future__ import annotations

import importlib.util
import sqlite3
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bench():
    path = ROOT / "bench" / "intake_bench.py"
    spec = importlib.util.spec_from_file_location("intake_bench", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["intake_bench"] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop("intake_bench", None)


def _source(path: Path) -> None:
    connection = sqlite3.connect(path)
    connection.executescript(
        """
        CREATE TABLE record (province TEXT NOT NULL, source TEXT NOT NULL, row_no INTEGER NOT NULL,
            name TEXT, PRIMARY KEY (province, source, row_no)) WITHOUT ROWID;
        CREATE TABLE driver (id INTEGER PRIMARY KEY, province TEXT NOT NULL, key TEXT NOT NULL,
            UNIQUE (province, key));
        CREATE TABLE event (id INTEGER PRIMARY KEY, entity_key TEXT NOT NULL, data JSON);
        CREATE INDEX ix_event_entity ON event (entity_key);
        CREATE TRIGGER event_append_only BEFORE UPDATE ON event
            BEGIN SELECT RAISE(ABORT, 'event is append-only'); END;
        CREATE TABLE empty (id INTEGER PRIMARY KEY);
        """
    )
    connection.executemany(
        "INSERT INTO record VALUES (?, ?, ?, ?)",
        [("62", source, n, f"n{n}") for source in ("police", "village") for n in range(1, 8)],
    )
    connection.executemany(
        "INSERT INTO driver VALUES (?, ?, ?)", [(n, "62", f"k{n}") for n in range(1, 6)]
    )
    connection.executemany(
        "INSERT INTO event VALUES (?, ?, ?)", [(n, f"k{n % 3}", '{"a": 1}') for n in range(1, 5)]
    )
    connection.commit()
    connection.close()


def test_store_floor_rewrites_every_row_into_the_same_schema(bench, tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "STORE_FLOOR_CHUNK", 3)  # several chunks per table
    source, target = tmp_path / "chelun.db", tmp_path / "store-floor.db"
    _source(source)
    result = bench.child_store_floor({"source": str(source), "database": str(target)})

    assert result["rows"] == 14 + 5 + 4
    assert {t: v["rows"] for t, v in result["tables"].items()} == {
        "record": 14,
        "driver": 5,
        "event": 4,
    }
    assert result["seconds"] > 0 and result["database_bytes"] > 0
    before, after = sqlite3.connect(source), sqlite3.connect(target)
    for table in ("record", "driver", "event", "empty"):
        query = f"SELECT * FROM {table}"
        assert sorted(after.execute(query)) == sorted(before.execute(query))
    schema = "SELECT type, name, sql FROM sqlite_master ORDER BY name"
    assert after.execute(schema).fetchall() == before.execute(schema).fetchall()
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        after.execute("UPDATE event SET data = NULL")
    with pytest.raises(sqlite3.IntegrityError):
        after.execute("INSERT INTO driver VALUES (9, '62', 'k1')")


def _result(store_seconds: float) -> dict:
    fast = {
        "rows": 100,
        "stored_rows": 100,
        "seconds": 1.5,
        "wall_seconds": 2.0,
        "parse_seconds": 0.5,
        "process_cpu_seconds": 2.0,
        "peak_rss_mb": 100.0,
        "modules": [],
    }
    cli = {
        "backend": "sqlite",
        "failed": False,
        "rows": 100,
        "seconds": 12.0,
        "cpu_seconds": 11.0,
        "peak_rss_mb": 300.0,
        "provinces": [{"province": "62", "balanced": True}] * 4,
    }
    store = {"rows": 250, "seconds": store_seconds, "peak_rss_mb": 90.0, "modules": []}
    return {
        "fast_floor": fast,
        "cli_sqlite": cli,
        "store_floor": store,
        "start_floor": {"seconds": 0.25},
        "input": {"rows": 100},
        "database": "sqlite",
    }


def test_the_report_says_what_the_target_leaves_beside_the_store_floor(bench):
    result = _result(store_seconds=4.0)
    bench.verdict(result)
    ratios = {r["name"]: r["value"] for r in result["ratios"]}
    assert ratios["store floor / fast floor"] == 2.0
    assert ratios["(store + parse + start) / fast floor"] == 2.75  # 4.0 + 0.5 + 4 x 0.25
    assert ratios["cli sqlite / store floor"] == 3.0
    assert any("target leaves 0.5 s for reading back" in note for note in result["notes"])


def test_the_report_says_when_the_target_is_below_the_store_floor(bench):
    result = _result(store_seconds=4.6)  # 4.6 + 0.5 + 1.0 > 3 x 2.0
    bench.verdict(result)
    assert any("the 3x target is below it" in note for note in result["notes"])
    assert not any("row counts differ" in note for note in result["notes"])
    assert not any("store floor child imported" in note for note in result["notes"])


def test_the_report_says_when_the_store_floor_imported_more_than_sqlite3(bench):
    result = _result(store_seconds=4.0)
    result["store_floor"]["modules"] = ["chelun", "sqlalchemy"]
    bench.verdict(result)
    assert "the store floor child imported chelun, sqlalchemy" in result["notes"]


def test_the_start_floor_is_a_median_of_real_processes(bench, tmp_path):
    floor = bench.start_floor(tmp_path, timeout=60)
    assert len(floor["runs"]) == bench.START_FLOOR_RUNS
    assert floor["runs"] == sorted(floor["runs"])
    assert floor["seconds"] == floor["runs"][len(floor["runs"]) // 2] > 0
