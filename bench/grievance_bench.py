"""Routing and the overdue sweep over many open grievances, beside the floor of the same I/O.

    .venv/bin/python bench/grievance_bench.py [--grievances 100000] [--database URL]

Generates the demo's grievances of Sichuan (51) received over 60 days, imports them, then times,
in this order and in the same run:

- the routing floor: a plain indexed SELECT of the received grievances and an UPDATE of each
  row's route and deadlines by its id (executemany, committed every 1,000), with no
  classification, no hooks and no events; the rows are then put back as they were (untimed);
- routing (``GrievanceService.route_pending``): classification and routing through the hooks,
  deadlines, matters and two events per grievance;
- the sweep floor: a plain indexed SELECT of the grievances past their deadline and an UPDATE of
  each one's level, escalation count and deadlines by its id (committed every 2,000); put back
  (untimed);
- the sweep (``GrievanceService.sweep``) as of a day every grievance is overdue: escalation, new
  deadlines and an event per grievance.

Routing and the sweep each run in a child process that reports its own peak resident memory
above what it held before the work (``VmHWM`` after resetting it, less ``VmRSS``), so
``--grievances 10000`` beside ``100000`` shows whether memory grows with the number of
grievances (on SQLite the page cache, up to 256 MiB, grows with the rows touched:
``--sqlite-cache-mib 8`` sets it small to show the rest). Without ``--database`` a fresh
SQLite file in a temporary folder is used; a PostgreSQL URL gets a fresh schema, dropped
afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import bindparam, create_engine, event, select, text, update

from chelun.calendar import BEIJING, working_calendar
from chelun.demo.grievance import generate_grievances
from chelun.grievance.service import OPEN, GrievanceService
from chelun.plugin_manager import PluginHost
from chelun.settings import Settings
from chelun.storage.db import Database
from chelun.storage.tables import Grievance

PROVINCE = "51"
TODAY = dt.date(2026, 11, 30)
SWEEP_AT = dt.datetime(2027, 6, 1, 9, tzinfo=BEIJING)


def service(url: str) -> GrievanceService:
    host = PluginHost(Settings())
    return GrievanceService(Database(url), host.manager(PROVINCE), PROVINCE, actor="bench")


def memory_mib(field: str) -> float:
    """``VmRSS`` (resident now) or ``VmHWM`` (its peak) of this process, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak() -> None:
    """Start the peak (``VmHWM``) again from the resident size now (Linux: clear_refs 5)."""
    Path("/proc/self/clear_refs").write_text("5")


def child(url: str, phase: str, cache_mib: int | None) -> None:
    """Run one phase and print its time and peak memory above the baseline, as JSON."""
    one = service(url)
    if cache_mib is not None and one.database.is_sqlite:
        limit = f"PRAGMA cache_size=-{cache_mib * 1024}"
        for engine in {one.database.engine, one.database.writer}:
            event.listen(engine, "connect", lambda dbapi, _: dbapi.execute(limit))
    one.calendar.deadline(TODAY, 15)  # load the holiday tables before the baseline
    with one.database.engine.connect() as connection:
        connection.execute(select(Grievance.id).limit(1)).all()
    reset_peak()
    baseline = memory_mib("VmRSS")
    start = time.perf_counter()
    if phase == "route":
        count = one.route_pending()
    else:
        count = one.sweep(SWEEP_AT).escalated
    seconds = time.perf_counter() - start
    one.database.dispose()
    print(
        json.dumps({"seconds": seconds, "count": count, "peak_mib": memory_mib("VmHWM") - baseline})
    )


def in_child(url: str, phase: str, cache_mib: int | None) -> dict[str, float]:
    cache = ["--sqlite-cache-mib", str(cache_mib)] if cache_mib is not None else []
    answer = subprocess.run(
        [sys.executable, __file__, "--child", phase, "--database", url, *cache],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(answer.stdout.strip().splitlines()[-1])


def route_floor(database: Database) -> tuple[float, int]:
    calendar = working_calendar()
    start = time.perf_counter()
    with database.engine.connect() as connection:
        rows = connection.execute(
            select(Grievance.id, Grievance.text, Grievance.county, Grievance.received_at)
            .where(Grievance.province == PROVINCE, Grievance.status == "received")
            .order_by(Grievance.id)
        ).all()
    due = calendar.deadline(TODAY, 15).due
    statement = update(Grievance).where(Grievance.id == bindparam("row"))
    for first in range(0, len(rows), 1_000):
        with database.connect() as connection:
            connection.execute(
                statement,
                [
                    {
                        "row": row.id,
                        "status": "routed",
                        "level": "county",
                        "area": row.county,
                        "ack_due": due,
                        "resolve_due": due,
                        "updated_at": dt.datetime.now(dt.UTC),
                    }
                    for row in rows[first : first + 1_000]
                ],
            )
    seconds = time.perf_counter() - start
    with database.connect() as connection:
        connection.execute(
            update(Grievance)
            .where(Grievance.province == PROVINCE, Grievance.status == "routed")
            .values(status="received", level=None, area=None, ack_due=None, resolve_due=None)
        )
    return seconds, len(rows)


def sweep_floor(database: Database) -> tuple[float, int]:
    today = SWEEP_AT.date()
    due = working_calendar().deadline(today, 15).due
    start = time.perf_counter()
    with database.engine.connect() as connection:
        rows = connection.execute(
            select(Grievance.id, Grievance.level, Grievance.area, Grievance.escalations)
            .where(
                Grievance.province == PROVINCE,
                Grievance.status.in_(OPEN),
                Grievance.resolve_due < today,
            )
            .order_by(Grievance.id)
        ).all()
    statement = update(Grievance).where(Grievance.id == bindparam("row"))
    for first in range(0, len(rows), 2_000):
        with database.connect() as connection:
            connection.execute(
                statement,
                [
                    {
                        "row": row.id,
                        "level": "city",
                        "area": (row.area or "510100")[:4] + "00",
                        "escalations": row.escalations + 1,
                        "ack_due": due,
                        "resolve_due": due,
                        "updated_at": dt.datetime.now(dt.UTC),
                    }
                    for row in rows[first : first + 2_000]
                ],
            )
    seconds = time.perf_counter() - start
    return seconds, len(rows)


def restore_after_sweep_floor(database: Database, saved: list[tuple]) -> None:
    statement = update(Grievance).where(Grievance.id == bindparam("row"))
    for first in range(0, len(saved), 5_000):
        with database.connect() as connection:
            connection.execute(
                statement,
                [
                    {
                        "row": row[0],
                        "level": row[1],
                        "area": row[2],
                        "escalations": row[3],
                        "ack_due": row[4],
                        "resolve_due": row[5],
                    }
                    for row in saved[first : first + 5_000]
                ],
            )


def run(url: str, count: int, folder: Path, cache_mib: int | None) -> dict[str, object]:
    one = service(url)
    database = one.database
    path = generate_grievances(
        folder / "grievances", PROVINCE, count, seed=7, phones=[], today=TODAY
    )
    start = time.perf_counter()
    imported = one.import_file(path)
    import_seconds = time.perf_counter() - start
    floor_route, floor_route_rows = route_floor(database)
    route = in_child(url, "route", cache_mib)
    with database.engine.connect() as connection:
        saved = connection.execute(
            select(
                Grievance.id,
                Grievance.level,
                Grievance.area,
                Grievance.escalations,
                Grievance.ack_due,
                Grievance.resolve_due,
            ).where(Grievance.province == PROVINCE)
        ).all()
    floor_sweep, floor_sweep_rows = sweep_floor(database)
    restore_after_sweep_floor(database, [tuple(row) for row in saved])
    sweep = in_child(url, "sweep", cache_mib)
    database.dispose()
    return {
        "grievances": count,
        "imported": imported.added,
        "import_s": import_seconds,
        "route_floor_s": floor_route,
        "route_floor_rows": floor_route_rows,
        "route_s": route["seconds"],
        "routed": route["count"],
        "route_peak_mib": route["peak_mib"],
        "sweep_floor_s": floor_sweep,
        "sweep_floor_rows": floor_sweep_rows,
        "sweep_s": sweep["seconds"],
        "escalated": sweep["count"],
        "sweep_peak_mib": sweep["peak_mib"],
    }


def fresh(url: str | None, folder: Path) -> tuple[str, callable]:  # type: ignore[valid-type]
    if url is None:
        database = Database(f"sqlite:///{folder / 'bench.db'}")
        database.ensure_schema()
        database.dispose()
        return database.url, lambda: None
    schema = f"chelun_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    scoped = f"{url}?options=-csearch_path%3D{schema}"
    database = Database(scoped)
    database.upgrade()
    database.dispose()

    def drop() -> None:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()

    return scoped, drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grievances", type=int, default=100_000)
    parser.add_argument("--database", help="a PostgreSQL URL; default a fresh SQLite file")
    parser.add_argument(
        "--sqlite-cache-mib",
        type=int,
        help="SQLite's page cache for routing and the sweep (default the database's 256 MiB): "
        "a small one shows how much of the peak is the cache",
    )
    parser.add_argument("--child", choices=("route", "sweep"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="chelun-bench-prefect-"))
    if args.child:
        child(args.database, args.child, args.sqlite_cache_mib)
        return
    with tempfile.TemporaryDirectory(prefix="chelun-grievance-bench-") as name:
        url, drop = fresh(args.database, Path(name))
        try:
            result = run(url, args.grievances, Path(name), args.sqlite_cache_mib)
        finally:
            drop()
    where = "PostgreSQL" if args.database else "SQLite"
    print(
        f"{result['grievances']:,} grievances on {where} (imported in {result['import_s']:.1f} s)"
    )
    print(
        f"  routing     {result['route_s']:7.2f} s  floor {result['route_floor_s']:6.2f} s  "
        f"x{result['route_s'] / result['route_floor_s']:.1f}  "
        f"({result['routed']:,} routed; peak +{result['route_peak_mib']:.0f} MiB)"
    )
    print(
        f"  sweep       {result['sweep_s']:7.2f} s  floor {result['sweep_floor_s']:6.2f} s  "
        f"x{result['sweep_s'] / result['sweep_floor_s']:.1f}  "
        f"({result['escalated']:,} escalated; peak +{result['sweep_peak_mib']:.0f} MiB)"
    )


if __name__ == "__main__":
    main()
