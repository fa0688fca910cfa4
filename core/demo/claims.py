"""The demo's insurance claims: Gansu's 车货无忧 against an insurer simulated on 127.0.0.1.

Claims are generated for drivers of the demo's Gansu roster at the scheme's service areas, most
at night with their evidence, some not (in the daytime, at a petrol station that is not covered,
without photos, the same driver twice in one night), then go through the claims batch flow
(import, check, assess, submit), the insurer decides and pays most of them, and the status-sync
flow brings its decisions back.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

from chelun.calendar import BEIJING

COLUMNS = (
    "claim_ref",
    "id_number",
    "name",
    "phone",
    "incident_time",
    "site",
    "loss_type",
    "amount_claimed",
    "police_report_no",
    "photos",
)
#: Demo claims per Gansu driver: about one for every 60.
CLAIMS_PER_DRIVER = 1 / 60


def generate_claims(
    folder: Path,
    drivers: list[tuple[str, str | None, str | None]],
    sites: list[tuple[str, str]],
    count: int,
    *,
    seed: int,
    today: dt.date,
) -> Path:
    """Write ``count`` claims of the given roster drivers (ID number, name, phone) at the given
    sites (code, name) over the 50 days before ``today`` as ``claims.csv``; returns its path."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "claims.csv"
    rows: list[list[str]] = []
    for number in range(1, count + 1):
        id_number, name, phone = rng.choice(drivers)
        code, site_name = rng.choice(sites)
        night = today - dt.timedelta(days=rng.randint(2, 50))
        if rng.random() < 0.08:  # in the afternoon: outside the night window
            moment = dt.datetime.combine(night, dt.time(rng.randint(13, 17), rng.randint(0, 59)))
        else:
            late = rng.randint(0, 7 * 60)  # 22:00 to 04:59
            moment = dt.datetime.combine(night, dt.time(22)) + dt.timedelta(minutes=late)
        loss = "fuel" if rng.random() < 0.7 else "cargo"
        amount = (
            Decimal(rng.randint(300, 3_000)) if loss == "fuel" else Decimal(rng.randint(800, 9_000))
        )
        site = code if rng.random() < 0.7 else site_name
        if rng.random() < 0.03:
            site = "兰州西收费站附近加油站"  # not one of the scheme's sites
        rows.append(
            [
                f"CHWY-{today:%Y%m}-{number:05d}",
                id_number,
                name or "",
                phone or "",
                moment.strftime("%Y-%m-%d %H:%M"),
                site,
                "燃油" if loss == "fuel" and rng.random() < 0.3 else loss,
                f"{amount:.2f}",
                f"甘公(高)立字〔{night.year}〕{rng.randint(10_000, 99_999)}号"
                if rng.random() < 0.95
                else "",
                str(rng.choice((1, 2, 3, 4)) if rng.random() < 0.95 else 0),
            ]
        )
        if rng.random() < 0.03:  # the same loss reported again under another reference
            again = list(rows[-1])
            again[0] = f"{again[0]}-B"
            rows.append(again)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    return path


@contextmanager
def _environment(name: str, value: str) -> Iterator[None]:
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


def run_claims(province: str, drivers: int, *, seed: int, folder: Path) -> str:
    """Generate the province's claims, run the claims batch flow against a simulated insurer,
    let the insurer decide and pay, run the status-sync flow; returns a line of what happened.
    A province without a scheme has nothing to do."""
    from sqlalchemy import select

    from chelun.claims.service import ClaimsService
    from chelun.claims.simulator import InsurerSimulator
    from chelun.flows import open_province
    from chelun.flows.claims import claims_batch_flow, claims_sync_flow
    from chelun.storage.tables import Claim, Driver

    database, pm = open_province(province)
    try:
        products = ClaimsService(database, pm, province).products()
        if not products:
            return ""
        sites = [(site.code, site.name) for p in products.values() for site in p.sites]
        with database.engine.connect() as connection:
            known = connection.execute(
                select(Driver.id_number, Driver.name, Driver.phone)
                .where(Driver.province == province, Driver.id_number.is_not(None))
                .order_by(Driver.id)
                .limit(5_000)
            ).all()
        if not known:
            return ""
        count = max(10, round(drivers * CLAIMS_PER_DRIVER))
        today = dt.datetime.now(BEIJING).date()
        path = generate_claims(
            folder, [tuple(row) for row in known], sites, count, seed=seed, today=today
        )
        with InsurerSimulator() as insurer, _environment("CHELUN_GANSU_INSURER_URL", insurer.url):
            batch = claims_batch_flow(province=province, files=[str(path)], actor="flow:demo")
            # The insurer approves what was assessed, rejects one claim in twenty, and pays.
            with database.engine.connect() as connection:
                payable = dict(
                    connection.execute(
                        select(Claim.insurer_claim_id, Claim.amount_payable).where(
                            Claim.province == province, Claim.insurer_claim_id.is_not(None)
                        )
                    ).all()
                )
            rng = random.Random(seed)
            for number, (claim_id, amount) in enumerate(sorted(payable.items())):
                if rng.random() < 0.05:
                    insurer.set_status(claim_id, "rejected", reason_code="FALSE_REPORT")
                else:
                    insurer.set_status(
                        claim_id,
                        "paid",
                        amount_approved=f"{amount:.2f}",
                        payment_ref=f"PAY-DEMO-{number:06d}",
                    )
            synced = claims_sync_flow(province=province, actor="flow:demo")
    finally:
        database.dispose()
    processed = batch["processed"]
    return (
        f"{count} claims reported, {processed['rejected']} refused by the checks, "
        f"{processed['submitted']} submitted to the insurer, {synced['paid']} paid"
    )


def print_claim_figures(database_url: str, provinces: list[str], console) -> None:  # type: ignore[no-untyped-def]
    """The demo's claims per province with a scheme: reported, paid, refused by reason, amount
    paid, median days from report to payment."""
    from rich.table import Table

    from chelun.claims.export import claim_stats
    from chelun.grievance.stats import rate
    from chelun.storage.db import Database

    database = Database(database_url)
    table = Table(title="Synthetic pilot: insurance claims (车货无忧)")
    for column in ("province", "reported", "paid", "refused", "amount paid", "median days"):
        table.add_column(column, justify="left" if column == "province" else "right")
    reasons: dict[str, int] = {}
    try:
        for code in provinces:
            stats = claim_stats(database, code)
            if not stats.reported and not stats.quarantined:
                continue
            for reason, n in stats.refused_by_reason.items():
                reasons[reason] = reasons.get(reason, 0) + n
            median = stats.median_days
            table.add_row(
                code,
                f"{stats.reported:,}",
                rate(stats.paid, stats.reported),
                rate(stats.refused, stats.reported),
                f"¥{stats.amount_paid:,.2f}",
                "-" if median is None else f"{median:.2f}",
            )
    finally:
        database.dispose()
    if not table.rows:
        return
    table.caption = "refused by reason: " + (
        ", ".join(f"{reason} {n}" for reason, n in sorted(reasons.items())) or "none"
    )
    console.print(table)
