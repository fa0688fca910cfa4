"""Statistics from stored grievances and events, each rate with its denominator.

The figures of a generated province (the demo's grievances, driven through every lifecycle) are
checked against a recount written here from the stored rows and events, for every grouping.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from chelun.calendar import BEIJING
from chelun.demo.grievance import generate_grievances
from chelun.grievance.service import GrievanceService
from chelun.grievance.stats import (
    GROUPINGS,
    figure_rows,
    grievance_stats,
    grouped_stats,
    rate,
    stats_artifact,
    write_stats_csv,
)
from chelun.storage.db import Database
from chelun.storage.tables import Driver, Event, Grievance

from .conftest import service_for, write_csv

CHELUN = str(Path(sys.executable).with_name("chelun"))
#: The generated grievances are received over the 60 days before this day (three months).
GENERATED_UNTIL = dt.date(2026, 11, 20)
#: The sweep runs as of this time; the figures are also counted a month later.
SWEPT_AT = dt.datetime(2026, 11, 25, 9, 0, tzinfo=BEIJING)
AS_OF = (SWEPT_AT, dt.datetime(2026, 12, 31, 18, 0, tzinfo=BEIJING))
#: Home counties of the roster's drivers: in the province, none known, in another province.
HOME_COUNTIES = ("510104", "510703", "511302", "513401", None, "620102")


def test_rates_have_their_denominators(database: Database, sample: Path) -> None:
    service = service_for(database)
    service.import_file(sample)
    service.route_pending()
    service.acknowledge("SC-1")
    service.resolve("SC-1")
    service.close("SC-1", satisfied=False)
    service.resolve("SC-1")
    service.close("SC-1", satisfied=True)
    service.reject("SC-2", "a duplicate sent by mistake")
    as_of = dt.datetime(2026, 11, 20, 9, 0, tzinfo=BEIJING)
    total, by_category = grievance_stats(database, "51", as_of)
    assert (total.collected, total.accepted, total.resolved) == (3, 2, 1)
    assert (total.answers, total.satisfied) == (2, 1)
    assert total.overdue == 1  # SC-3 (platform fees, received 2 November) is past its deadline
    assert len(total.days_to_resolve) == 1
    assert by_category["parking_rest"].resolved == 1
    assert rate(total.resolved, total.accepted) == "50.0% (1/2)"
    assert rate(0, 0) == "- (0/0)"


# --- a generated province, and a recount of its figures ---------------------------------------


def add_drivers(database: Database, province: str, count: int) -> list[str]:
    """Roster drivers with phones (no ID numbers), so that grievances link to them; their
    phones."""
    phones = [f"139{province}{number:06d}" for number in range(count)]
    with database.connect() as connection:
        connection.execute(
            insert(Driver),
            [
                {
                    "province": province,
                    "key": f"stats-{province}-{number}",
                    "home_county": HOME_COUNTIES[number % len(HOME_COUNTIES)],
                    "phone": phone,
                    "records": 1,
                    "sources": 1,
                    "phones": 1,
                    "enterprises": 0,
                    "linked_run": "r1",
                    "updated_at": dt.datetime.now(dt.UTC),
                }
                for number, phone in enumerate(phones)
            ],
        )
    return phones


def generated_file(folder: Path, province: str, count: int, phones: list[str], seed: int) -> Path:
    """The demo's grievances, a quarter of them without a county (the driver's home county, or
    none, stands in), and three rows an intake quarantines."""
    path = generate_grievances(
        folder, province, count, seed=seed, phones=phones, today=GENERATED_UNTIL
    )
    rng = random.Random(seed)
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        if rng.random() < 0.25:
            row["county"] = ""
    rows += [
        {"ref": f"BAD-{province}-1", "received_at": "yesterday", "text": "停车场太少"},
        {"ref": f"BAD-{province}-2", "received_at": "2026-10-03 08:00", "text": ""},
        {
            "ref": f"BAD-{province}-3",
            "received_at": "2026-11-03 08:00",
            "text": "罚款不合理",
            "county": "51x104",
        },
    ]
    return write_csv(folder / "grievances.csv", rows)


def drive_lifecycles(service: GrievanceService, seed: int) -> None:
    """Play the conferences' part: reject, merge, acknowledge, resolve, close satisfied or not,
    leave some waiting; sweep the overdue up; then handle some of the escalated ones."""
    rng = random.Random(seed)
    with service.database.engine.connect() as connection:
        refs = list(
            connection.execute(
                select(Grievance.ref)
                .where(Grievance.province == service.province, Grievance.status == "routed")
                .order_by(Grievance.ref)
            ).scalars()
        )
    for number, ref in enumerate(refs):
        draw = rng.random()
        if draw < 0.08:
            service.reject(ref, "not a matter for the conferences")
        elif draw < 0.13 and number > 0:
            service.merge(ref, into=refs[number - 1])
        elif draw < 0.35:
            continue  # left waiting: the sweep finds it
        elif draw < 0.45:
            service.acknowledge(ref)
        elif draw < 0.52:
            service.resolve(ref)
        elif draw < 0.62:
            service.acknowledge(ref)
            service.resolve(ref)
            service.close(ref, satisfied=False)
            if rng.random() < 0.5:
                service.resolve(ref)
                service.close(ref, satisfied=rng.random() < 0.7)
        else:
            service.acknowledge(ref)
            service.resolve(ref)
            service.close(ref, satisfied=rng.random() < 0.85)
    assert service.sweep(SWEPT_AT).escalated > 0
    with service.database.engine.connect() as connection:
        escalated = list(
            connection.execute(
                select(Grievance.ref)
                .where(Grievance.province == service.province, Grievance.escalations > 0)
                .order_by(Grievance.ref)
            ).scalars()
        )
    for ref in escalated[::4]:
        service.acknowledge(ref)
        service.resolve(ref)
        service.close(ref, satisfied=True)


def generated_province(database: Database, folder: Path) -> None:
    """Province 51 with a few hundred grievances in every state, and province 62 beside it."""
    for province, count, seed in (("51", 300, 11), ("62", 40, 12)):
        phones = add_drivers(database, province, 36)
        service = service_for(database, province)
        service.import_file(generated_file(folder / province, province, count, phones, seed))
        service.route_pending()
        drive_lifecycles(service, seed)
    # Grievances imported and not routed yet: no category, no conference.
    waiting = [
        {"ref": f"NEW-{n}", "received_at": "2026-11-19 10:00", "text": "车位太少", "county": c}
        for n, c in enumerate(("510104", "510822", "", "511702"))
    ]
    service_for(database, "51").import_file(write_csv(folder / "new.csv", waiting))


def stored(database: Database, province: str) -> tuple[list[dict[str, Any]], list[Any]]:
    """The province's grievances, each with its driver's home county, and its closing events."""
    grievance, driver = Grievance.__table__, Driver.__table__
    with database.engine.connect() as connection:
        cases = [
            dict(row._mapping)
            for row in connection.execute(
                select(grievance, driver.c.home_county)
                .select_from(grievance.outerjoin(driver, driver.c.id == grievance.c.driver_id))
                .where(grievance.c.province == province)
            )
        ]
        closings = connection.execute(
            select(Event.entity_key, Event.data).where(
                Event.entity == "grievance", Event.kind == "closed", Event.province == province
            )
        ).all()
    return cases, closings


def group_name(case: dict[str, Any], by: str) -> str:
    county = case["county"] or case["home_county"] or "unknown"
    local = case["received_at"].astimezone(BEIJING) if case["received_at"] else None
    week = local.isocalendar() if local else None
    names = {
        "province": case["province"],
        "county": county,
        "city": "unknown" if county == "unknown" else county[:4] + "00",
        "category": case["category"] or "unclassified",
        "period": f"{local.year}-{local.month:02d}" if local else "unknown",
        "week": f"{week.year}-W{week.week:02d}" if week else "unknown",
    }
    return names[by]


def recount(
    cases: list[dict[str, Any]], closings: list[Any], by: str, at: dt.datetime
) -> dict[str, dict[str, Any]]:
    """Every figure of every group and of all, counted straight from the rows and events."""
    today = at.astimezone(BEIJING).date()

    def overdue(case: dict[str, Any]) -> bool:
        if case["status"] not in ("routed", "in_progress", "reopened"):
            return False
        unresolved = case["resolve_due"] is not None and case["resolve_due"] < today
        unacknowledged = (
            case["status"] in ("routed", "reopened")
            and case["ack_due"] is not None
            and case["ack_due"] < today
        )
        return unresolved or unacknowledged

    def share(part: int, whole: int) -> float | None:
        return None if whole == 0 else round(part / whole, 4)

    def middle(values: list[float]) -> float | None:
        if not values:
            return None
        ordered = sorted(values)
        half = len(ordered) // 2
        if len(ordered) % 2:
            return round(ordered[half], 2)
        return round((ordered[half - 1] + ordered[half]) / 2, 2)

    buckets: dict[str, list[dict[str, Any]]] = {"all": list(cases)}
    for case in cases:
        buckets.setdefault(group_name(case, by), []).append(case)
    group_by_key = {
        f"{case['province']}:{case['ref']}": group_name(case, by)
        for case in cases
        if case["status"] != "quarantined"
    }
    answers: dict[str, list[bool]] = {"all": []}
    for key, data in closings:
        answer = bool((data or {}).get("satisfied"))
        answers["all"].append(answer)
        answers.setdefault(group_by_key[key], []).append(answer)

    figures = {}
    for name, bucket in buckets.items():
        counted = [case for case in bucket if case["status"] != "quarantined"]
        accepted = [case for case in counted if case["status"] not in ("rejected", "merged")]
        resolved = [case for case in counted if case["status"] in ("resolved", "closed")]
        routed = [case for case in counted if case["level"] is not None]
        timely = [case for case in routed if case["escalations"] == 0 and not overdue(case)]
        given = answers.get(name, [])
        days = [
            ((case["resolved_at"] or case["closed_at"]) - case["received_at"]).total_seconds()
            / 86_400
            for case in resolved
        ]
        figures[name] = {
            "group": name,
            "collected": len(counted),
            "accepted": len(accepted),
            "resolved": len(resolved),
            "resolution_rate": share(len(resolved), len(accepted)),
            "routed": len(routed),
            "timely": len(timely),
            "timely_rate": share(len(timely), len(routed)),
            "answers": len(given),
            "satisfied": given.count(True),
            "satisfaction_rate": share(given.count(True), len(given)),
            "median_days_to_resolve": middle(days),
            "overdue": sum(overdue(case) for case in counted),
            "escalated": sum(case["escalations"] > 0 for case in counted),
            "quarantined": len(bucket) - len(counted),
        }
    return figures


def parsed_csv(text: str) -> list[dict[str, Any]]:
    """CSV of the figures read back: counts as integers, rates and days as numbers."""
    numbers = ("resolution_rate", "timely_rate", "satisfaction_rate", "median_days_to_resolve")
    rows = []
    for row in csv.DictReader(io.StringIO(text)):
        rows.append(
            {
                column: value
                if column == "group"
                else (float(value) if value else None)
                if column in numbers
                else int(value)
                for column, value in row.items()
            }
        )
    return rows


def chelun(database: Database, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "CHELUN_DATABASE_URL": database.url}
    return subprocess.run(
        [CHELUN, *args], capture_output=True, text=True, env=environment, timeout=300
    )


def test_figures_match_a_recount_for_every_grouping(database: Database, tmp_path: Path) -> None:
    generated_province(database, tmp_path)
    cases, closings = stored(database, "51")
    statuses = {case["status"] for case in cases}
    assert statuses >= {
        *("received", "routed", "in_progress", "resolved", "closed", "reopened"),
        *("rejected", "merged", "quarantined"),
    }
    assert {True, False} <= {bool((data or {}).get("satisfied")) for _, data in closings}
    assert len({group_name(case, "county") for case in cases}) > 50
    assert len({group_name(case, "city") for case in cases}) > 10
    assert {group_name(case, "period") for case in cases} >= {"2026-09", "2026-10", "2026-11"}
    assert {"unknown", "620102"} <= {group_name(case, "county") for case in cases}

    for at in AS_OF:
        for by in GROUPINGS:
            total, groups = grouped_stats(database, "51", at, by)
            rows = figure_rows(total, groups)
            expected = recount(cases, closings, by, at)
            assert rows[-1]["group"] == "all"
            assert [row["group"] for row in rows[:-1]] == sorted(groups)
            assert {row["group"]: row for row in rows} == expected, f"by {by} as of {at}"
            out = io.StringIO()
            assert write_stats_csv(rows, out) == len(rows)
            assert parsed_csv(out.getvalue()) == rows
    overdue_later = recount(cases, closings, "province", AS_OF[1])["all"]["overdue"]
    assert overdue_later > 0 and recount(cases, closings, "province", AS_OF[0])["all"]["escalated"]
    # The older function is the grouping by category.
    total, by_category = grievance_stats(database, "51", SWEPT_AT)
    assert (total, by_category) == grouped_stats(database, "51", SWEPT_AT, "category")

    stats = ("grievance", "stats", "-p", "51", "--at", AS_OF[1].isoformat())
    shown = chelun(database, *stats, "--by", "city", "--format", "csv")
    assert shown.returncode == 0, shown.stderr
    assert {row["group"]: row for row in parsed_csv(shown.stdout)} == recount(
        cases, closings, "city", AS_OF[1]
    )
    table = chelun(database, *stats, "--by", "period")
    assert table.returncode == 0, table.stderr
    assert "2026-10" in table.stdout and "(办结率)" in table.stdout
    wrong = chelun(database, "grievance", "stats", "-p", "51", "--by", "town")
    assert wrong.returncode == 2 and "--by 'town'" in wrong.stderr


def test_stats_are_published_as_an_artifact(
    database: Database, sample: Path, prefect_harness: None
) -> None:
    from prefect import flow
    from prefect.artifacts import Artifact

    service = service_for(database)
    service.import_file(sample)
    service.route_pending()
    service.acknowledge("SC-1")
    service.resolve("SC-1")
    service.close("SC-1", satisfied=True)
    as_of = dt.datetime(2026, 12, 1, 9, 0, tzinfo=BEIJING)
    rows = figure_rows(*grouped_stats(database, "51", as_of, "county"))

    @flow(name="grievance-stats-test", persist_result=False)
    def publish() -> None:
        stats_artifact("51", rows, "county")

    publish()
    artifact = Artifact.get("grievance-stats-51-county")
    assert artifact is not None
    assert json.loads(str(artifact.data)) == rows
    assert [row["group"] for row in rows] == ["510104", "510107", "all"]
    published = str(artifact.data) + str(artifact.description)
    with database.engine.connect() as connection:
        personal = connection.execute(select(Grievance.text, Grievance.phone)).all()
    for text, phone in personal:
        assert text not in published and (phone is None or phone not in published)
    with pytest.raises(ValueError, match="cannot group"):
        stats_artifact("51", rows, "Town")
