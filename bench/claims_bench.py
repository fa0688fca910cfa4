"""Claims through the batch flow against the simulated insurer, beside the floor of the same I/O.

    .venv/bin/python bench/claims_bench.py [--claims 5000] [--database URL]

Puts ``--claims / 5`` Gansu drivers on a fresh roster and generates the demo's 车货无忧 claims for
them (most at night at covered service areas with their evidence; some refused by the checks),
starts the simulated insurer on 127.0.0.1, then times in the same run:

- the floor: the claims file read with the same reader (``open_table``), every row's cells
  inserted into a plain table (executemany, one commit) and one plain ``POST /v1/claims`` per
  row that the checks would pass, through one ``httpx.Client``: the reading, writing and HTTP a
  claim needs, with no checks, no events and no idempotency bookkeeping;
- the ``claims-batch`` flow (Prefect's local engine, started before the clock): import, evidence,
  checks and assessment through the hooks, then submission of each claim exactly once (key, body
  and fingerprint stored and committed before the POST, the answer recorded after).

Prints claims per second of each and their ratio. Without ``--database`` a fresh SQLite file in a
temporary folder is used; a PostgreSQL URL gets a fresh schema, dropped afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import Column, MetaData, String, Table, Text, create_engine, insert, text


def drivers(database_url: str, count: int) -> list[tuple[str, str, str]]:
    """``count`` Gansu drivers on the roster, as (ID number, name, phone)."""
    from stdnum.cn import ric

    from chelun.storage.db import Database
    from chelun.storage.tables import Driver

    people = []
    for n in range(count):
        body = f"620102{1960 + n % 40}{1 + n % 12:02d}{1 + n % 28:02d}{n % 1000:03d}"
        people.append((body + ric.calc_check_digit(body + "0"), f"司机{n:05d}", f"139{n:08d}"))
    database = Database(database_url)
    at = dt.datetime.now(dt.UTC)
    with database.connect() as connection:
        connection.execute(
            insert(Driver),
            [
                {
                    "province": "62",
                    "key": id_number,
                    "id_number": id_number,
                    "name": name,
                    "phone": phone,
                    "records": 1,
                    "sources": 1,
                    "phones": 1,
                    "enterprises": 0,
                    "linked_run": "bench",
                    "updated_at": at,
                }
                for id_number, name, phone in people
            ],
        )
    database.dispose()
    return people


def floor(database_url: str, path: Path, insurer_url: str) -> tuple[float, int]:
    """Read, insert and POST with no logic; seconds, and POSTs made."""
    import httpx

    from chelun.sources.readers import open_table

    engine = create_engine(database_url)
    metadata = MetaData()
    plain = Table(
        "bench_claim_floor",
        metadata,
        Column("ref", String(100)),
        Column("cells", Text),
    )
    metadata.create_all(engine)
    posts = 0
    start = time.perf_counter()
    with open_table(path) as table:
        headers = list(table.headers)
        rows = [dict(zip(headers, row.cells or [], strict=False)) for row in table.rows()]
    with engine.begin() as connection:
        connection.execute(
            insert(plain),
            [
                {"ref": row["claim_ref"], "cells": json.dumps(row, ensure_ascii=False)}
                for row in rows
            ],
        )
    with httpx.Client(base_url=insurer_url, timeout=10) as client:
        for row in rows:
            if row["photos"] in ("", "0") or not row["police_report_no"]:
                continue
            body = {
                "claim_ref": f"floor-{row['claim_ref']}",
                "policy_no": "PICC-GS-2026-CHWY",
                "id_number": row["id_number"],
                "incident_time": row["incident_time"].replace(" ", "T") + ":00+08:00",
                "site_code": row["site"],
                "loss_type": "cargo" if row["loss_type"] == "cargo" else "fuel",
                "amount_claimed": row["amount_claimed"],
                "police_report_no": row["police_report_no"],
            }
            answer = client.post(
                "/v1/claims", json=body, headers={"Idempotency-Key": f"floor-{uuid.uuid4()}"}
            )
            answer.raise_for_status()
            posts += 1
    seconds = time.perf_counter() - start
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE bench_claim_floor"))
    engine.dispose()
    return seconds, posts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=5_000)
    parser.add_argument("--database", help="a PostgreSQL URL; default a fresh SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="chelun-claims-bench-") as name:
        folder = Path(name)
        os.environ["CHELUN_HOME"] = str(folder / "home")
        os.environ.setdefault("PREFECT_HOME", str(folder / "prefect"))
        schema = None
        if args.database:
            schema = f"chelun_bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(args.database)
            with admin.begin() as connection:
                connection.execute(text(f"CREATE SCHEMA {schema}"))
            url = f"{args.database}?options=-csearch_path%3D{schema}"
        else:
            url = f"sqlite:///{folder / 'bench.db'}"
        os.environ["CHELUN_DATABASE_URL"] = url
        try:
            run(url, args.claims, folder, "PostgreSQL" if args.database else "SQLite")
        finally:
            if schema:
                with admin.begin() as connection:
                    connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
                admin.dispose()


def run(url: str, count: int, folder: Path, where: str) -> None:
    from chelun.claims.simulator import InsurerSimulator
    from chelun.demo.claims import generate_claims
    from chelun.flows.claims import claims_batch_flow
    from chelun.plugins.gansu.scheme import CHEHUOWUYOU
    from chelun.storage.db import Database

    database = Database(url)
    database.upgrade() if not database.is_sqlite else database.ensure_schema()
    database.dispose()
    people = drivers(url, max(10, count // 5))
    sites = [(site.code, site.name) for site in CHEHUOWUYOU.sites]
    path = generate_claims(
        folder / "claims", people, sites, count, seed=11, today=dt.date(2026, 11, 30)
    )
    with InsurerSimulator() as insurer:
        os.environ["CHELUN_GANSU_INSURER_URL"] = insurer.url
        floor_seconds, posts = floor(url, path, insurer.url)
        claims_batch_flow(province="62", files=[])  # start Prefect's engine before the clock
        start = time.perf_counter()
        result = claims_batch_flow(province="62", files=[str(path)], actor="bench")
        seconds = time.perf_counter() - start
        at_insurer = insurer.counts()
    processed = result["processed"]
    engine = create_engine(url)
    with engine.connect() as connection:
        statuses = dict(
            connection.execute(text("SELECT status, count(*) FROM claim GROUP BY status")).all()
        )
    engine.dispose()
    rows = sum(1 for _ in path.open(encoding="utf-8")) - 1
    twice = sum(1 for ref, n in at_insurer.items() if n > 1 and not ref.startswith("floor-"))
    print(f"{rows:,} claims on {where}")
    print(
        f"  floor        {floor_seconds:6.2f} s  {rows / floor_seconds:8.0f} claims/s "
        f"({posts:,} POSTs)"
    )
    print(
        f"  claims-batch {seconds:6.2f} s  {rows / seconds:8.0f} claims/s  "
        f"x{seconds / floor_seconds:.1f}  ({processed['submitted']:,} submitted, "
        f"{processed['rejected']:,} refused; claims at the insurer twice: {twice})"
    )
    print("  claims by status: " + ", ".join(f"{k} {v:,}" for k, v in sorted(statuses.items())))


if __name__ == "__main__":
    main()
