"""Linkage where it is hardest: one ID number under two people, damaged rows listed twice,
traditional names without an ID; the reasons of the quarantine true of every row."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from sqlalchemy import select

from chelun.demo.quality import LinkageQuality
from chelun.demo.roster import _FEMALE_POOL, _MALE_POOL, _SURNAME_POOL, _TRADITIONAL_WIDE
from chelun.identity.normalise import normalise_name
from chelun.plugin_manager import PluginHost
from chelun.roster.export import export_quarantine, export_roster
from chelun.roster.linkage import one_typo_apart, valid_neighbours
from chelun.roster.service import RosterIntake
from chelun.roster.staging import SourceInput
from chelun.settings import Settings
from chelun.storage.db import Database
from chelun.storage.tables import Driver, Event, SourceRecord

POLICE = ["姓名", "公民身份号码", "准驾车型", "联系电话", "住址"]
TRANSPORT = ["车牌号", "姓名", "身份证号", "手机号", "从业资格证号", "所属企业", "统一社会信用代码"]
VILLAGE = ["序号", "姓名", "身份证号", "电话", "车牌", "是否党员", "备注"]


def resident_id(county: str, birth: str, order: str) -> str:
    body = county + birth + order
    return body + "0123456789X"[(1 - 2 * int(body, 13)) % 11]


def typo(valid: str, at: int) -> str:
    """The number with the digit at ``at`` changed: its check character no longer fits."""
    return valid[:at] + str((int(valid[at]) + 1) % 10) + valid[at + 1 :]


ID_A = resident_id("620102", "19800101", "123")
ID_B = resident_id("620103", "19751230", "456")
ID_C = resident_id("620104", "19900505", "789")
PHONE_1, PHONE_2, PHONE_3 = "13800000001", "13900000002", "13700000003"


def police(path: Path, *rows: tuple[str, str, str]) -> SourceInput:
    """Rows of (name, ID number, phone)."""
    lines = [[name, ident, "A2", phone, ""] for name, ident, phone in rows]
    return SourceInput("police", _write(path / "police.csv", [POLICE, *lines]))


def transport(path: Path, *rows: tuple[str, str, str, str]) -> SourceInput:
    """Rows of (name, ID number, phone, plate)."""
    lines = [[plate, name, ident, phone, "", "", ""] for name, ident, phone, plate in rows]
    return SourceInput("transport", _write(path / "transport.csv", [TRANSPORT, *lines]))


def village(path: Path, *rows: tuple[str, str, str, str]) -> SourceInput:
    """Rows of (name, ID number, phone, plate)."""
    lines = [
        [str(n), name, ident, phone, plate, "否", ""]
        for n, (name, ident, phone, plate) in enumerate(rows, start=1)
    ]
    return SourceInput("village", _write(path / "village.csv", [VILLAGE, *lines]))


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def intake(database: Database, *sources: SourceInput) -> RosterIntake:
    run = RosterIntake(
        database, PluginHost(Settings(), entry_points=False).manager("62"), "62", actor="user:test"
    )
    run.run(list(sources))
    return run


def roster(database: Database) -> dict[str, dict[str, str]]:
    """Export rows by ID number ("" for drivers without one: at most one in these tests)."""
    buffer = io.StringIO()
    export_roster(database, "62", buffer, reveal=True)
    return {row["id_number"]: row for row in csv.DictReader(io.StringIO(buffer.getvalue()))}


def quarantine(database: Database) -> dict[tuple[str, int], str]:
    buffer = io.StringIO()
    export_quarantine(database, "62", buffer)
    return {
        (row["source"], int(row["row"])): row["reason"]
        for row in csv.DictReader(io.StringIO(buffer.getvalue()))
    }


def links(database: Database) -> dict[tuple[str, int], str | None]:
    with database.connect() as connection:
        rows = connection.execute(
            select(SourceRecord.source, SourceRecord.row_no, SourceRecord.link)
        )
        return {(source, row): link for source, row, link in rows}


def conflict_events(database: Database) -> list[Event]:
    with database.session() as session:
        events = session.scalars(select(Event).where(Event.kind == "roster.id_conflict")).all()
        session.expunge_all()
        return list(events)


def assert_no_personal_data(text: str, *values: str) -> None:
    for value in values:
        assert value not in text


# --- one ID number, clearly different names -------------------------------------------------


def test_an_id_number_under_another_name_joins_its_own_driver_not_the_numbers(
    database: Database, tmp_path: Path
) -> None:
    """李娜's transport row carries 张伟's ID number (a slip that lands on another valid number):
    it is set aside from that number, and her own records take it in by name and phone."""
    intake(
        database,
        police(tmp_path, ("张伟", ID_A, PHONE_1)),
        transport(tmp_path, ("李娜", ID_A, PHONE_2, "甘A11111")),
        village(tmp_path, ("李娜", ID_B, PHONE_2, "")),
    )
    drivers = roster(database)
    assert set(drivers) == {ID_A, ID_B}
    assert drivers[ID_A]["sources"] == "police:1"
    assert drivers[ID_A]["name"] == "张伟"
    assert drivers[ID_B]["sources"] == "transport:1;village:1"
    assert links(database)[("transport", 1)] == "id-conflict:name+phone"
    assert quarantine(database) == {}
    with database.connect() as connection:
        birth = connection.execute(select(Driver.birth).where(Driver.key == ID_B)).scalar_one()
    assert birth == dt.date(1975, 12, 30)  # her own, not the one inside 张伟's number

    [event] = conflict_events(database)
    assert (event.entity, event.entity_key) == ("source", "transport")
    assert "2 records carry one ID number under 2 different names" in event.reason
    assert "transport:1" in event.reason and "police:1" in event.reason
    assert event.data == {
        "kept": [["police", 1]],
        "set_aside": [["transport", 1]],
        "quarantined": [],
    }
    assert_no_personal_data(event.reason + str(event.data), ID_A, ID_B, "张伟", "李娜", PHONE_2)


def test_an_id_number_under_another_name_with_nothing_else_goes_to_a_clerk(
    database: Database, tmp_path: Path
) -> None:
    run = intake(
        database,
        police(tmp_path, ("张伟", ID_A, PHONE_1)),
        transport(tmp_path, ("李娜", ID_A, PHONE_2, "甘A11111")),
    )
    assert roster(database)[ID_A]["sources"] == "police:1"
    reasons = quarantine(database)
    assert list(reasons) == [("transport", 1)]
    reason = reasons[("transport", 1)]
    assert reason.startswith("id_conflict: 2 records carry this ID number under different names")
    assert_no_personal_data(reason, ID_A, "张伟", "李娜", PHONE_2, "甘A11111")
    [event] = conflict_events(database)
    assert event.data["quarantined"] == [["transport", 1]]
    assert {a.source: a.reasons for a in run.accounts()}["transport"] == {"id_conflict": 1}

    # Linking again changes nothing and records the same conflict once.
    before = (roster(database), quarantine(database))
    run.link()
    assert (roster(database), quarantine(database)) == before
    assert len(conflict_events(database)) == 1


def test_the_name_most_sources_give_keeps_the_number_then_the_most_authoritative(
    database: Database, tmp_path: Path
) -> None:
    # Two sources say 李强, one says 王芳: 李强's records keep the number.
    intake(
        database,
        police(tmp_path, ("王芳", ID_A, PHONE_1)),
        transport(tmp_path, ("李强", ID_A, PHONE_2, "")),
        village(tmp_path, ("李强", ID_A, PHONE_2, "")),
    )
    assert roster(database)[ID_A]["sources"] == "transport:1;village:1"
    assert set(quarantine(database)) == {("police", 1)}


def test_one_source_against_another_the_police_keeps_the_number(
    database: Database, tmp_path: Path
) -> None:
    intake(
        database,
        transport(tmp_path, ("李强", ID_A, PHONE_2, "")),
        police(tmp_path, ("王芳", ID_A, PHONE_1)),
    )
    assert roster(database)[ID_A]["sources"] == "police:1"
    assert set(quarantine(database)) == {("transport", 1)}


def test_a_one_character_slip_in_a_name_is_the_same_driver_when_the_phone_agrees(
    database: Database, tmp_path: Path
) -> None:
    intake(
        database,
        police(tmp_path, ("张伟", ID_A, PHONE_1), ("阿依古丽·买买提", ID_B, PHONE_3)),
        transport(tmp_path, ("张玮", ID_A, PHONE_1, "")),
        # A space where the middle dot was is the same name, whatever the phone says.
        village(tmp_path, ("阿依古丽 买买提", ID_B, PHONE_2, "")),
    )
    drivers = roster(database)
    assert drivers[ID_A]["sources"] == "police:1;transport:1"
    assert drivers[ID_B]["sources"] == "police:2;village:1"
    assert quarantine(database) == {}
    assert conflict_events(database) == []


def test_a_one_character_difference_with_nothing_in_common_is_a_conflict(
    database: Database, tmp_path: Path
) -> None:
    intake(
        database,
        police(tmp_path, ("张伟", ID_A, PHONE_1)),
        transport(tmp_path, ("张玮", ID_A, PHONE_2, "")),
    )
    assert roster(database)[ID_A]["sources"] == "police:1"
    assert [r.split(":")[0] for r in quarantine(database).values()] == ["id_conflict"]


def test_a_conflict_is_undone_when_the_files_no_longer_show_it(
    database: Database, tmp_path: Path
) -> None:
    intake(
        database,
        police(tmp_path, ("张伟", ID_A, PHONE_1)),
        transport(tmp_path, ("李娜", ID_A, PHONE_2, "")),
    )
    assert ID_A in roster(database) and quarantine(database)
    # The police file no longer lists 张伟; the transport file is unchanged (not read again):
    # the number is 李娜's alone, and her row takes it back.
    intake(database, police(tmp_path), transport(tmp_path, ("李娜", ID_A, PHONE_2, "")))
    drivers = roster(database)
    assert drivers[ID_A]["sources"] == "transport:1"
    assert drivers[ID_A]["name"] == "李娜"
    assert quarantine(database) == {}
    assert links(database)[("transport", 1)] == "id"


# --- rows with a damaged ID -------------------------------------------------------------------


def test_exact_duplicates_of_a_row_with_a_damaged_id_are_one_driver(
    database: Database, tmp_path: Path
) -> None:
    row = ("赵强", typo(ID_C, 15), PHONE_3, "甘B54321")
    intake(database, transport(tmp_path, row, row))
    drivers = roster(database)
    assert list(drivers) == [""]
    assert drivers[""]["sources"] == "transport:1;transport:2"
    assert quarantine(database) == {}
    assert set(links(database).values()) == {"no-id:name+phone"}


def test_two_typos_of_one_number_are_one_driver(database: Database, tmp_path: Path) -> None:
    assert valid_neighbours(typo(ID_C, 15)) & valid_neighbours(typo(ID_C, 3)) == {ID_C}
    intake(
        database,
        transport(tmp_path, ("赵强", typo(ID_C, 15), PHONE_3, "")),
        police(tmp_path, ("赵强", typo(ID_C, 3), PHONE_1)),
    )
    assert roster(database)[""]["sources"] == "police:1;transport:1"
    assert quarantine(database) == {}


def test_every_quarantine_reason_is_true_of_its_row(database: Database, tmp_path: Path) -> None:
    intake(
        database,
        # Alone, with a phone nobody else gives.
        transport(tmp_path, ("赵强", typo(ID_C, 15), PHONE_3, "")),
        # Twice the same damaged number and name, but no phone or plate to know the driver by.
        police(tmp_path, ("周杰", typo(ID_B, 10), ""), ("周杰", typo(ID_B, 10), "")),
    )
    reasons = {key: reason.split(":")[0] for key, reason in quarantine(database).items()}
    assert reasons == {
        ("transport", 1): "invalid_id_unlinked",
        ("police", 1): "invalid_id_repeated",
        ("police", 2): "invalid_id_repeated",
    }


def test_a_row_linked_by_evidence_lends_its_phone_to_the_rows_of_its_name(
    database: Database, tmp_path: Path
) -> None:
    """The village row shares a phone only with a transport row whose ID has a typo; that row
    is 李娜's by its ID and name, so the village row is hers too."""
    intake(
        database,
        police(tmp_path, ("李娜", ID_B, PHONE_1)),
        transport(tmp_path, ("李娜", typo(ID_B, 15), PHONE_2, "")),
        village(tmp_path, ("李娜", "", PHONE_2, "")),
    )
    assert roster(database)[ID_B]["sources"] == "police:1;transport:1;village:1"
    assert links(database)[("transport", 1)] == "name+id~+birth"
    assert links(database)[("village", 1)] == "name+phone"


# --- traditional characters -------------------------------------------------------------------


def test_traditional_names_without_an_id_link_by_phone_or_plate(
    database: Database, tmp_path: Path
) -> None:
    intake(
        database,
        police(tmp_path, ("沈静", ID_A, PHONE_1)),
        transport(tmp_path, ("于琳", ID_B, PHONE_2, "甘A22222")),
        village(tmp_path, ("沈靜", "", PHONE_1, ""), ("於琳", "", "", "甘A22222")),
    )
    drivers = roster(database)
    assert set(drivers) == {ID_A, ID_B}
    assert drivers[ID_A]["sources"] == "police:1;village:1"
    assert drivers[ID_B]["sources"] == "transport:1;village:2"


def test_a_name_and_its_traditional_form_have_one_key_whatever_the_phrase() -> None:
    """OpenCC's phrase tables read some names as words (沈靜 as 沉静); the key folds each
    character on its own."""
    assert normalise_name("沈靜")[1] == normalise_name("沈静")[1] == "沈静"
    assert normalise_name("於琳東")[1] == normalise_name("于琳东")[1]
    surnames = sorted(set(_SURNAME_POOL))
    given = sorted(set(_MALE_POOL) | set(_FEMALE_POOL))
    for surname in surnames:
        for first in given:
            for second in ("", *given[:10]):
                name = surname + first + second
                assert normalise_name(name.translate(_TRADITIONAL_WIDE))[1] == name, name


# --- measures -----------------------------------------------------------------------------------


def test_f1_is_the_harmonic_mean_of_precision_and_recall() -> None:
    quality = LinkageQuality(true_rows=10, predicted_pairs=8, true_pairs=10, agreed_pairs=8)
    assert quality.precision == 1.0 and quality.recall == 0.8
    assert quality.f1 == pytest.approx(2 * 1.0 * 0.8 / 1.8)
    assert LinkageQuality(0, 0, 0, 0).f1 == 1.0
    assert LinkageQuality(4, 0, 3, 0).f1 == 0.0


def test_one_typo_apart_is_one_change_drop_addition_or_swap() -> None:
    assert one_typo_apart("张玮", "张伟")
    assert one_typo_apart("张伟华", "张华伟")  # two neighbours swapped
    assert not one_typo_apart("张伟华", "华伟张")
    assert one_typo_apart("阿依古丽买买提", "阿依古丽·买买提")
    assert not one_typo_apart("李娜", "张伟")
