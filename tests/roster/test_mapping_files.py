"""Mapping files (--map): every mistake in one is a ProfileError naming the file and the fault.

A mapping file says which column of a data file holds which roster field. A wrong one must stop
the intake with a message a clerk can act on, never a raw TypeError, and never be half-applied:
a second header for the same field used to win silently, so a backup name column became the
driver's name, or a phone column became the ID and the real driver ended in quarantine.
Headers and field names in a mapping file are not personal data; the data file's cells are.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from chelun.plugin_manager import PluginHost
from chelun.roster.profiles import load_mapping
from chelun.roster.service import RosterIntake
from chelun.roster.staging import SourceInput
from chelun.settings import Settings
from chelun.sources.profiles import ProfileError
from chelun.storage.db import Database
from chelun.storage.tables import SourceFile, SourceRecord

HEADERS = ["司机姓名", "备用姓名", "证件号", "联系电话", "车牌"]
ROW = ["张伟", "张小伟", "620102198001011234", "13800138000", "甘A12345"]
PERSONAL = ROW


def check_digit(first17: str) -> str:
    value = (1 - 2 * int(first17, 13)) % 11
    return "X" if value == 10 else str(value)


def write_data(folder: Path, headers: list[str] = HEADERS) -> Path:
    path = folder / "名单.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([headers, ROW])
    return path


def write_toml(folder: Path, text: str, name: str = "映射.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def mapping_error(mapping: Path, headers: list[str] = HEADERS) -> str:
    """load_mapping's ProfileError for the mapping: it names the file and quotes no cell."""
    with pytest.raises(ProfileError) as raised:
        load_mapping(mapping, headers, "名单.csv (source 'village')")
    message = str(raised.value)
    assert str(mapping) in message, message
    leaked = [value for value in PERSONAL if value in message]
    assert not leaked, f"{message!r} quotes {leaked}"
    return message


# --------------------------------------------------------------------------- the file's shape


def test_a_field_given_as_a_list_is_a_clear_error(tmp_path: Path) -> None:
    # Was: TypeError: unhashable type: 'list'.
    mapping = write_toml(tmp_path, '[columns]\n"司机姓名" = ["name"]\n"证件号" = "id_number"\n')
    message = mapping_error(mapping)
    assert "'司机姓名' is mapped to a list" in message
    assert '"司机姓名" = "name"' in message


@pytest.mark.parametrize(
    ("content", "kind"), [("[1, 2]", "list"), ('"columns"', "text"), ("7", "number")]
)
def test_a_json_mapping_that_is_not_an_object_is_a_clear_error(
    tmp_path: Path, content: str, kind: str
) -> None:
    # Was: AttributeError: 'list' object has no attribute 'get'.
    mapping = tmp_path / "映射.json"
    mapping.write_text(content, encoding="utf-8")
    assert f"not a {kind}" in mapping_error(mapping)


@pytest.mark.parametrize(
    "columns",
    [{"司机姓名": 3}, {"司机姓名": None}, {"司机姓名": {"field": "name"}}, {"司机姓名": True}],
)
def test_a_field_that_is_not_text_is_a_clear_error(tmp_path: Path, columns: object) -> None:
    mapping = tmp_path / "映射.json"
    mapping.write_text(json.dumps({"columns": columns}, ensure_ascii=False), encoding="utf-8")
    assert "'司机姓名' is mapped to a" in mapping_error(mapping)


def test_unknown_settings_are_named(tmp_path: Path) -> None:
    # A misspelt "profile" used to be ignored: the village rank and member flag silently lost.
    mapping = write_toml(tmp_path, 'profil = "village"\n[columns]\n"司机姓名" = "name"\n')
    assert "unknown setting(s) 'profil'" in mapping_error(mapping)


def test_broken_toml_and_json_name_the_file_and_the_place(tmp_path: Path) -> None:
    toml = write_toml(tmp_path, '[columns]\n"司机姓名" = name\n')
    assert "not valid TOML" in mapping_error(toml) and "line 2" in mapping_error(toml)
    broken = tmp_path / "映射.json"
    broken.write_text('{"columns": {"司机姓名": "name",}}', encoding="utf-8")
    assert "not valid JSON" in mapping_error(broken)
    gbk = tmp_path / "gbk.toml"
    gbk.write_bytes('[columns]\n"司机姓名" = "name"\n'.encode("gbk"))
    assert "not UTF-8" in mapping_error(gbk)
    missing = tmp_path / "没有.toml"
    assert "cannot read the mapping file" in mapping_error(missing)


# --------------------------------------------------------------------------- one column, one field


def test_two_headers_for_one_field_is_an_error_not_last_wins(tmp_path: Path) -> None:
    # Was accepted: the backup name column, given last, became the driver's name.
    mapping = write_toml(
        tmp_path, '[columns]\n"司机姓名" = "name"\n"备用姓名" = "name"\n"证件号" = "id_number"\n'
    )
    message = mapping_error(mapping)
    assert "'司机姓名' and '备用姓名' are all mapped to the field 'name'" in message


def test_a_key_given_twice_in_json_is_an_error_not_last_wins(tmp_path: Path) -> None:
    # Was accepted: the ID column mapped as a phone, then (last) as the ID... or the other way.
    mapping = tmp_path / "映射.json"
    mapping.write_text(
        '{"columns": {"司机姓名": "name", "联系电话": "id_number", "联系电话": "phone"}}',
        encoding="utf-8",
    )
    assert "gives the key '联系电话' twice" in mapping_error(mapping)


def test_a_key_given_twice_in_toml_is_an_error(tmp_path: Path) -> None:
    mapping = write_toml(tmp_path, '[columns]\n"联系电话" = "phone"\n"联系电话" = "id_number"\n')
    assert "given twice" in mapping_error(mapping)


def test_two_spellings_of_one_column_for_two_fields_is_an_error(tmp_path: Path) -> None:
    # Headers compare without case and spaces: both keys are the phone column.
    mapping = write_toml(
        tmp_path,
        '[columns]\n"司机姓名" = "name"\n"联系电话" = "phone"\n"联系 电话" = "id_number"\n',
    )
    assert "the same column of the file" in mapping_error(mapping)


def test_a_header_the_data_file_has_twice_is_an_error(tmp_path: Path) -> None:
    headers = ["司机姓名", "联系电话", "联系电话"]
    mapping = write_toml(tmp_path, '[columns]\n"司机姓名" = "name"\n"联系电话" = "phone"\n')
    assert "has 2 times (columns 2, 3)" in mapping_error(mapping, headers)


def test_a_good_mapping_still_maps_each_column(tmp_path: Path) -> None:
    toml = write_toml(
        tmp_path,
        'profile = "village"\n[columns]\n"司机姓名" = "name"\n"证件号" = "id_number"\n'
        '"联系电话" = "phone"\n',
    )
    columns = load_mapping(toml, HEADERS, "名单.csv")
    assert columns.fields == {"name": 0, "id_number": 2, "phone": 3}
    assert columns.extras == {1: "备用姓名", 4: "车牌"}
    assert columns.profile.rank == 40
    as_json = tmp_path / "映射.json"
    as_json.write_text(
        json.dumps({"columns": {"司机 姓名": "name", "证件号": "id_number"}}, ensure_ascii=False),
        encoding="utf-8",
    )
    assert load_mapping(as_json, HEADERS, "名单.csv").fields == {"name": 0, "id_number": 2}


# --------------------------------------------------------------------------- through intake


def test_intake_with_a_wrong_mapping_stores_nothing(database: Database, tmp_path: Path) -> None:
    body = "620102198001011"
    valid = body + "23" + check_digit(body + "23")
    data = tmp_path / "名单.csv"
    with data.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([HEADERS, [*ROW[:2], valid, *ROW[3:]]])
    mapping = write_toml(
        tmp_path, '[columns]\n"司机姓名" = "name"\n"备用姓名" = "name"\n"证件号" = "id_number"\n'
    )
    intake = RosterIntake(
        database, PluginHost(Settings(), entry_points=False).manager("62"), "62", actor="user:test"
    )
    with pytest.raises(ProfileError) as raised:
        intake.stage(SourceInput("village", data, mapping))
    assert str(mapping) in str(raised.value)
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(SourceRecord)) == 0
        assert session.scalar(select(func.count()).select_from(SourceFile)) == 0


def test_a_mapping_file_named_in_gbk_is_read(tmp_path: Path) -> None:
    """A mapping file whose name is GBK bytes (not UTF-8) works, and its name stays printable."""
    name = os.fsdecode("映射.toml".encode("gbk"))
    mapping = write_toml(tmp_path, '[columns]\n"司机姓名" = "name"\n', name)
    columns = load_mapping(mapping, HEADERS, "名单.csv")
    columns.profile.name.encode("utf-8")  # stored in the database: no lone surrogates
    assert "\\xc9\\xe4.toml" in columns.profile.name  # 射 in GBK; 映 happens to be UTF-8
    broken = write_toml(tmp_path, '[columns]\n"司机姓名" = "nom"\n', name)
    with pytest.raises(ProfileError) as raised:
        load_mapping(broken, HEADERS, "名单.csv")
    str(raised.value).encode("utf-8")
