"""A driver's code names one person for ever, whatever happens to the rows that describe them.

Drivers without an ID number are known by their name with a phone or plate: their code,
verification, branch and contact must follow them when rows are inserted, deleted, shuffled,
split into two files or ingested in another order, and carry over when they gain an ID number.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from chelun.plugin_manager import PluginHost
from chelun.roster.export import export_roster
from chelun.roster.models import HomeVisit
from chelun.roster.service import RosterIntake
from chelun.roster.staging import SourceInput
from chelun.roster.verification import Verification
from chelun.settings import Settings
from chelun.storage.db import Database
from chelun.storage.tables import Event
from tests.identities import resident_id

VILLAGE_HEADER = ["序号", "姓名", "身份证号", "电话", "车牌", "是否党员", "备注"]


# name, ID number (may be empty), phone, plate: who each row describes.
PEOPLE: list[tuple[str, str, str, str]] = [
    ("王五", "", "13800000001", ""),
    ("赵六", "", "13800000002", "甘A12345"),
    ("孙七", "", "", "甘B54321"),
    ("王五", "", "13800000009", ""),  # another 王五: his own phone, his own code
    ("周八", resident_id("620102", "19800101", "123"), "13800000003", ""),
    ("吴九", resident_id("620103", "19751230", "456"), "", "甘C11111"),
    ("郑十", "", "13800000004", ""),
    ("陈一", "", "13800000005", "甘D22222"),
]


def village_rows(people: list[tuple[str, str, str, str]]) -> list[list[str]]:
    return [
        [str(n), name, ident, phone, plate, "否", ""]
        for n, (name, ident, phone, plate) in enumerate(people, start=1)
    ]


def write_village(path: Path, people: list[tuple[str, str, str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([VILLAGE_HEADER, *village_rows(people)])
    return path


def intake_for(database: Database) -> RosterIntake:
    host = PluginHost(Settings(), entry_points=False)
    return RosterIntake(database, host.manager("62"), "62", actor="user:test")


def ingest(database: Database, files: list[tuple[str, Path]]) -> None:
    run = intake_for(database)
    run.run([SourceInput(name, path) for name, path in files])
    run.verify()


def roster(database: Database) -> dict[tuple[str, str, str], dict[str, str]]:
    """Export rows by who they are: (name, phone, plate)."""
    buffer = io.StringIO()
    export_roster(database, "62", buffer, reveal=True)
    return {
        (row["name"], row["phone"], row["plate"]): row
        for row in csv.DictReader(io.StringIO(buffer.getvalue()))
    }


def person_key(person: tuple[str, str, str, str]) -> tuple[str, str, str]:
    name, _, phone, plate = person
    return (name, phone, plate)


def codes(database: Database) -> dict[tuple[str, str, str], str]:
    return {who: row["driver"] for who, row in roster(database).items()}


def visit(database: Database, code: str) -> None:
    run = intake_for(database)
    verification = Verification(database, run.pm, "62", actor="user:test")
    visits = [
        HomeVisit(
            driver=code,
            outcome="confirmed",
            visited_on=dt.date(2026, 11, 30),
            visitor="村委会",
        )
    ]
    assert verification.record_visits(visits, actor="user:test") == 1


@pytest.fixture
def first_roster(database: Database, tmp_path: Path) -> dict[tuple[str, str, str], str]:
    ingest(database, [("village", write_village(tmp_path / "village.csv", PEOPLE))])
    before = codes(database)
    assert set(before) == {person_key(p) for p in PEOPLE}
    assert len(set(before.values())) == len(PEOPLE)
    visit(database, before[person_key(PEOPLE[0])])
    return before


def _insert_above(tmp_path: Path) -> list[tuple[str, Path]]:
    newcomer = ("钱八", "", "13800000007", "")
    return [("village", write_village(tmp_path / "v2.csv", [newcomer, *PEOPLE]))]


def _delete_one(tmp_path: Path) -> list[tuple[str, Path]]:
    return [("village", write_village(tmp_path / "v2.csv", PEOPLE[1:3] + PEOPLE[0:1] + PEOPLE[4:]))]


def _shuffle(tmp_path: Path) -> list[tuple[str, Path]]:
    shuffled = PEOPLE[:]
    random.Random(7).shuffle(shuffled)
    return [("village", write_village(tmp_path / "v2.csv", shuffled))]


def _split_in_two(tmp_path: Path) -> list[tuple[str, Path]]:
    # The village sheet becomes two sheets; the second is ingested first.
    return [
        ("village-east", write_village(tmp_path / "east.csv", PEOPLE[4:])),
        ("village", write_village(tmp_path / "west.csv", PEOPLE[:4])),
    ]


CHANGES: dict[str, Callable[[Path], list[tuple[str, Path]]]] = {
    "row inserted above": _insert_above,
    "row deleted": _delete_one,
    "rows shuffled": _shuffle,
    "file split in two, ingested in another order": _split_in_two,
}


@pytest.mark.parametrize("change", CHANGES, ids=list(CHANGES))
def test_codes_and_verification_follow_the_person_when_rows_move(
    database: Database,
    tmp_path: Path,
    first_roster: dict[tuple[str, str, str], str],
    change: str,
) -> None:
    files = CHANGES[change](tmp_path)
    ingest(database, files)
    after = roster(database)
    for person in PEOPLE:
        if change == "row deleted" and person == PEOPLE[3]:
            continue
        who = person_key(person)
        assert after[who]["driver"] == first_roster[who], f"{who[0]} changed code"
    wang = after[person_key(PEOPLE[0])]
    assert (wang["verification_stage"], wang["verification_outcome"]) == ("visit", "confirmed")
    if change == "row inserted above":
        newcomer = after[("钱八", "13800000007", "")]["driver"]
        assert newcomer not in first_roster.values()


def test_a_driver_who_gains_an_id_number_keeps_the_code(
    database: Database, tmp_path: Path, first_roster: dict[tuple[str, str, str], str]
) -> None:
    wang = person_key(PEOPLE[0])
    identified = (PEOPLE[0][0], resident_id("620102", "19880808", "321"), *PEOPLE[0][2:])
    ingest(
        database,
        [("village", write_village(tmp_path / "v2.csv", [identified, *PEOPLE[1:]]))],
    )
    after = roster(database)
    assert after[wang]["driver"] == first_roster[wang]
    assert after[wang]["id_number"] == identified[1]
    assert after[wang]["verification_outcome"] == "confirmed"
    with database.session() as session:
        kinds = session.scalars(
            select(Event.kind).where(
                Event.entity == "driver",
                Event.entity_key == str(int(first_roster[wang].split("-")[1])),
            )
        ).all()
    assert "roster.identified" in kinds
    assert "roster.retired" not in kinds


def test_a_driver_whose_rows_vanish_and_return_gets_the_same_code(
    database: Database, tmp_path: Path, first_roster: dict[tuple[str, str, str], str]
) -> None:
    zhao = person_key(PEOPLE[1])
    without = [p for p in PEOPLE if p != PEOPLE[1]]
    ingest(database, [("village", write_village(tmp_path / "v2.csv", without))])
    assert zhao not in roster(database)
    ingest(database, [("village", write_village(tmp_path / "v3.csv", PEOPLE))])
    assert roster(database)[zhao]["driver"] == first_roster[zhao]


def test_two_entries_shown_to_be_one_person_merge_into_the_older(
    database: Database, tmp_path: Path
) -> None:
    # 郑十 appears twice: once with a phone, once with a plate; later a row has both.
    by_phone = ("郑十", "", "13800000004", "")
    by_plate = ("郑十", "", "", "甘E33333")
    ingest(database, [("village", write_village(tmp_path / "v1.csv", [by_phone, by_plate]))])
    first = codes(database)
    assert first[person_key(by_phone)] != first[person_key(by_plate)]
    both = ("郑十", "", "13800000004", "甘E33333")
    ingest(
        database,
        [("village", write_village(tmp_path / "v2.csv", [by_phone, by_plate, both]))],
    )
    after = roster(database)
    assert len(after) == 1
    (row,) = after.values()
    assert row["driver"] == min(first.values())
    with database.session() as session:
        merged = session.scalars(select(Event.reason).where(Event.kind == "roster.merged")).all()
    assert merged == [f"its records now belong to driver {row['driver']}, the same person"]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(order=st.permutations(range(len(PEOPLE))), split=st.integers(0, len(PEOPLE)))
def test_any_order_of_rows_keeps_every_person_under_the_same_code(
    sqlite_database: Database, tmp_path: Path, order: list[int], split: int
) -> None:
    """Every example re-ingests the same people in another order (the database is shared
    across examples, as a real roster is across intakes)."""
    if not roster(sqlite_database):
        ingest(sqlite_database, [("village", write_village(tmp_path / "base.csv", PEOPLE))])
    expected = codes(sqlite_database)
    people = [PEOPLE[i] for i in order]
    name = f"perm-{random.random():.12f}"
    files = [("village", write_village(tmp_path / f"{name}-a.csv", people[:split]))]
    files.append(("village-2", write_village(tmp_path / f"{name}-b.csv", people[split:])))
    ingest(sqlite_database, files)
    assert codes(sqlite_database) == expected
