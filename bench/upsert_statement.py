"""Staging's row upsert: the hand-written statement against the same upsert built with Core.

    .venv/bin/python bench/upsert_statement.py [--rows 200000] [--database URL]

Writes the same normalised rows into ``source_record`` of a fresh SQLite file (or the given
database) in committed batches of 20,000, three times each way, and prints the best wall time
of each. Staging keeps the hand-written statement only while it is clearly faster.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from chelun.roster.staging import COLUMNS, _upsert_sql
from chelun.storage.db import Database
from chelun.storage.tables import SourceRecord


def rows(count: int, run: str) -> list[tuple]:
    return [
        (
            "62",
            "transport",
            n,
            20,
            "张三",
            "张三",
            f"62010219900101{n % 10000:04d}",
            "valid",
            None,
            "1990-01-01",
            f"138{n:08d}",
            None,
            "兰州鑫盛物流有限公司",
            None,
            None,
            '{"qualification":"x"}',
            f"62010219900101{n % 10000:04d}",
            "id",
            None,
            run,
        )
        for n in range(1, count + 1)
    ]


def timed(database: Database, batches: list[list[tuple]], how: str) -> float:
    start = time.perf_counter()
    if how == "driver-sql":
        sql = _upsert_sql(database)
        for batch in batches:
            with database.engine.begin() as connection:
                connection.exec_driver_sql(sql, batch)
    else:
        statement = database.insert(SourceRecord)
        statement = statement.on_conflict_do_update(
            index_elements=["province", "source", "row_no"],
            set_={c: statement.excluded[c] for c in COLUMNS[3:]},
        )
        import datetime as dt

        import orjson

        for batch in batches:
            dicts = [dict(zip(COLUMNS, row, strict=True)) for row in batch]
            for d in dicts:
                d["birth"] = dt.date.fromisoformat(d["birth"])
                d["attributes"] = orjson.loads(d["attributes"])
            with database.engine.begin() as connection:
                connection.execute(statement, dicts)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--database", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database or f"sqlite:///{Path(folder) / 'bench.db'}"
        database = Database(url)
        database.upgrade()
        best: dict[str, float] = {}
        for attempt in range(3):
            for how in ("driver-sql", "core"):
                batches = [
                    chunk
                    for all_rows in [rows(args.rows, f"r{attempt}{how[:2]}")]
                    for chunk in (all_rows[i : i + 20_000] for i in range(0, len(all_rows), 20_000))
                ]
                best[how] = min(best.get(how, float("inf")), timed(database, batches, how))
        database.dispose()
    for how, seconds in best.items():
        print(f"{how:10} {args.rows:,} rows: {seconds:.2f} s ({args.rows / seconds:,.0f} rows/s)")
    print(f"core / driver-sql = {best['core'] / best['driver-sql']:.2f}")


if __name__ == "__main__":
    main()
