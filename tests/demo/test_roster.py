"""The synthetic pilot: files read back as a department's would be, checked against truth.csv."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import re
from collections import Counter, defaultdict
from dataclasses import fields
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook
from stdnum.cn import ric, uscc

from chelun.demo.roster import (
    ENCODINGS,
    EXTRA_COLUMNS,
    HEADERS,
    SOURCES,
    GeneratedSource,
    Messiness,
    _csv_field_column,
    _uscc_check,
    generate_province,
)
from chelun.identity.divisions import divisions
from chelun.identity.normalise import normalise_name

DRIVERS = 2000
PROVINCE = "51"
ID_COLUMN = {
    "transport": "身份证号",
    "police": "公民身份号码",
    "party": "身份证号码",
    "village": "身份证号",
}
NAME_COLUMN = "姓名"
PHONE_COLUMN = {"transport": "手机号", "police": "联系电话", "party": "手机号码", "village": "电话"}
PLATE_COLUMN = {"transport": "车牌号", "village": "车牌"}
CANONICAL_ID = re.compile(r"^\d{17}[\dX]$")
FULLWIDTH = str.maketrans("０１２３４５６７８９Ｘ", "0123456789X")


def read_source(source: GeneratedSource) -> tuple[list[str], list[dict[str, str]]]:
    if source.kind == "xlsx":
        table = CalamineWorkbook.from_path(str(source.path)).get_sheet_by_index(0).to_python()
        for row in table:
            assert all(isinstance(value, str) for value in row), row
    else:
        text = source.path.read_bytes().decode(ENCODINGS[source.name])
        table = list(csv.reader(text.splitlines()))
    header, *data = table
    return header, [dict(zip(header, row, strict=True)) for row in data]


def read_truth(out: Path) -> list[dict[str, str]]:
    with (out / "truth.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def id_is_valid(value: str) -> bool:
    if not CANONICAL_ID.match(value):
        return False
    check = "0123456789X"[(1 - 2 * int(value[:17], 13)) % 11]
    try:
        born = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return value[17] == check and dt.date(1960, 1, 1) <= born <= dt.date(2000, 12, 31)


def organisation_check(code8: str) -> str:
    """GB 11714: C9 = 11 - sum(c * w) mod 11, written X for 10 and 0 for 11."""
    value = 11 - sum(int(c) * w for c, w in zip(code8, (3, 7, 9, 10, 5, 8, 4, 2), strict=True)) % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def normalise(value: str) -> str:
    return value.replace(" ", "").translate(FULLWIDTH).upper()


@pytest.fixture(scope="module")
def pilot(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("pilot")
    sources = generate_province(out, PROVINCE, DRIVERS, seed=7, spreadsheet=True)
    data = {source.name: read_source(source) for source in sources}
    truth = read_truth(out)
    joined: dict[str, list[tuple[dict[str, str], dict[str, str]]]] = defaultdict(list)
    for line in truth:
        _, rows = data[line["source"]]
        joined[line["source"]].append((line, rows[int(line["row"]) - 1]))
    return out, sources, data, truth, joined


def test_writes_four_sources_and_truth(pilot) -> None:
    out, sources, data, _, _ = pilot
    assert [s.name for s in sources] == list(SOURCES)
    assert [s.path.name for s in sources] == [
        "transport.csv",
        "police.xlsx",
        "party.csv",
        "village.csv",
    ]
    assert [s.kind for s in sources] == ["csv", "xlsx", "csv", "csv"]
    assert (out / "truth.csv").exists()
    for source in sources:
        assert source.rows == len(data[source.name][1]) > 0
    # Coverage roughly as documented: transport ~70%, police ~80%, village ~35%.
    assert 0.6 * DRIVERS < sources[0].rows < 0.85 * DRIVERS
    assert 0.7 * DRIVERS < sources[1].rows < 0.95 * DRIVERS
    assert 0.28 * DRIVERS < sources[3].rows < 0.45 * DRIVERS


def test_headers_are_exact_up_to_order_and_one_extra(pilot) -> None:
    _, _, data, _, _ = pilot
    extras = 0
    for name in SOURCES:
        header, _ = data[name]
        required = set(HEADERS[name])
        extra = set(header) - required
        assert required <= set(header)
        assert len(header) == len(set(header))
        assert extra <= set(EXTRA_COLUMNS) and len(extra) <= 1
        extras += len(extra)
    assert extras == 2


def test_encodings(pilot) -> None:
    out, *_ = pilot
    transport = (out / "transport.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        transport.decode("utf-8")
    assert "姓名" in transport.decode("gb18030")
    village = (out / "village.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        village.decode("utf-8")
    assert "是否党员" in village.decode("gbk")
    party = (out / "party.csv").read_bytes()
    assert party.startswith(b"\xef\xbb\xbf")
    party.decode("utf-8")
    assert (out / "police.xlsx").read_bytes()[:2] == b"PK"


def test_truth_matches_the_files(pilot) -> None:
    _, sources, data, truth, _ = pilot
    assert list(truth[0]) == ["source", "row", "person", "member", "kind"]
    for source in sources:
        lines = [line for line in truth if line["source"] == source.name]
        assert [int(line["row"]) for line in lines] == list(range(1, source.rows + 1))
        assert len(lines) == len(data[source.name][1])
    people = {int(line["person"]) for line in truth if line["kind"] == "person"}
    assert people == set(range(DRIVERS))
    assert {line["kind"] for line in truth} == {"person", "junk"}
    for line in truth:
        if line["kind"] == "junk":
            assert line["person"] == "" and line["member"] == ""
        else:
            assert line["member"] in ("0", "1")


def test_clean_ids_validate_and_identify_one_person(pilot) -> None:
    _, _, _, _, joined = pilot
    valid_ids: dict[int, set[str]] = defaultdict(set)
    owners: dict[str, set[int]] = defaultdict(set)
    canonical = total = 0
    for source, pairs in joined.items():
        for line, row in pairs:
            if line["kind"] != "person":
                continue
            value = row[ID_COLUMN[source]]
            total += 1
            if id_is_valid(value):
                canonical += 1
                person = int(line["person"])
                valid_ids[person].add(value)
                owners[value].add(person)
    assert canonical > 0.8 * total
    assert all(len(ids) == 1 for ids in valid_ids.values())
    assert all(len(people) == 1 for people in owners.values())
    # Resident IDs of the province, born 1960-2000 (id_is_valid checks the date).
    assert {divisions().province_of(value[:6]) for value in owners} == {PROVINCE}


def test_ids_carry_codes_in_force_at_birth_but_for_the_re_registered(tmp_path: Path) -> None:
    """Jiangsu renumbered its counties in 1983: people born before carry retired codes."""
    sources = generate_province(tmp_path, "32", 1500, spreadsheet=False, messiness=Messiness.off())
    ids = {row["身份证号"] for row in read_source(sources[0])[1]}
    ids |= {row["公民身份号码"] for row in read_source(sources[1])[1]}
    table = divisions()
    assert {table.province_of(value[:6]) for value in ids} == {"32"}
    assert any(not table.get(value[:6]).active for value in ids)  # type: ignore[union-attr]
    rejected = [value for value in ids if not ric.is_valid(value)]
    assert 0 < len(rejected) < 0.03 * len(ids)


def test_messy_ids_are_the_documented_kinds(pilot) -> None:
    _, _, _, _, joined = pilot
    kinds: Counter[str] = Counter()
    for source, pairs in joined.items():
        for line, row in pairs:
            if line["kind"] != "person":
                continue
            value = row[ID_COLUMN[source]]
            if id_is_valid(value):
                kinds["clean"] += 1
            elif value == "":
                kinds["missing"] += 1
                assert source == "village"
            elif re.fullmatch(r"\d{15}", value):
                kinds["legacy15"] += 1
                assert source in ("police", "village")
            elif id_is_valid(normalise(value)):
                if " " in value:
                    kinds["spaces"] += 1
                if normalise(value) != value.replace(" ", "").upper():
                    kinds["fullwidth"] += 1
                if value.endswith("x"):
                    kinds["lower_x"] += 1
            else:
                kinds["typo"] += 1
                assert re.fullmatch(r"\d{17}[\dX]", normalise(value))
                # A typo row keeps the right name and a phone or a plate.
                assert " " not in row[NAME_COLUMN]
                assert row[PHONE_COLUMN[source]] or row.get(PLATE_COLUMN.get(source, ""), "")
    assert set(kinds) == {"clean", "missing", "legacy15", "spaces", "lower_x", "fullwidth", "typo"}


def test_typo_and_missing_rows_still_identify_the_person(pilot) -> None:
    _, _, _, _, joined = pilot
    names: dict[int, Counter[str]] = defaultdict(Counter)
    for pairs in joined.values():
        for line, row in pairs:
            if line["kind"] == "person":
                names[int(line["person"])][row[NAME_COLUMN]] += 1
    for source, pairs in joined.items():
        for line, row in pairs:
            if line["kind"] != "person" or row[ID_COLUMN[source]] != "":
                continue
            name = row[NAME_COLUMN]
            assert " " not in name and not set(name) & set("張劉陳楊趙黃吳鄭偉軍國華東麗")
            assert name in names[int(line["person"])]
            assert row[PHONE_COLUMN[source]] or row[PLATE_COLUMN[source]]


def test_enterprise_codes_are_valid_usccs(pilot) -> None:
    _, _, data, _, _ = pilot
    _, rows = data["transport"]
    codes = {row["统一社会信用代码"] for row in rows} - {""}
    firms = {row["所属企业"] for row in rows} - {""}
    assert codes and all(uscc.is_valid(code) for code in codes)
    counties = {d.code for d in divisions().counties(PROVINCE)}
    for code in codes:
        assert code[:2] == "91" and code[2:8] in counties
        assert organisation_check(code[8:16]) == code[16]
    # About one enterprise per 16 drivers in the pool; those with drivers appear.
    assert DRIVERS / 40 < len(firms) <= DRIVERS / 16 + 1


def test_uscc_check_matches_stdnum() -> None:
    rng = random.Random(3)
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    for _ in range(2000):
        code = "91" + "".join(rng.choice("0123456789") for _ in range(6))
        code += "".join(rng.choice(alphabet) for _ in range(9))
        assert _uscc_check(code) == uscc.calc_check_digit(code)


def test_party_lists_every_member_and_only_members(pilot) -> None:
    _, _, data, truth, _ = pilot
    members = {line["person"] for line in truth if line["member"] == "1"}
    not_members = {line["person"] for line in truth if line["member"] == "0"}
    in_party = {line["person"] for line in truth if line["source"] == "party"} - {""}
    assert in_party == members
    assert not members & not_members
    assert 0.01 * DRIVERS < len(members) < 0.04 * DRIVERS
    _, rows = data["party"]
    assert {row["政治面貌"] for row in rows} <= {"中共党员", "中共预备党员", ""}


def test_people_look_like_a_population(pilot) -> None:
    _, _, _, _, joined = pilot
    name_of: dict[int, str] = {}
    id_of: dict[int, str] = {}
    for source, pairs in joined.items():
        for line, row in pairs:
            if line["kind"] == "person" and id_is_valid(row[ID_COLUMN[source]]):
                person = int(line["person"])
                id_of[person] = row[ID_COLUMN[source]]
                name_of.setdefault(person, row[NAME_COLUMN])
    by_name = Counter(name_of.values())
    # Common names collide across different people with different IDs.
    shared = [name for name, count in by_name.items() if count > 1]
    assert len(shared) >= 5
    assert any("·" in name for name in name_of.values())
    # Mostly men (odd order digit).
    men = sum(int(value[16]) % 2 for value in id_of.values())
    assert men > 0.9 * len(id_of)
    # A few IDs carry a county created after the birth year (re-registered).
    table = divisions()
    later = sum(
        1
        for value in id_of.values()
        if table.get(value[:6]).name_in(int(value[6:10])) is None  # type: ignore[union-attr]
    )
    assert 0 < later < 0.2 * len(id_of)


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    first = generate_province(tmp_path / "a", "62", 300, seed=1)
    second = generate_province(tmp_path / "b", "62", 300, seed=1)
    third = generate_province(tmp_path / "c", "62", 300, seed=2)
    for a, b in zip(first, second, strict=True):
        assert a.path.read_bytes() == b.path.read_bytes()
    assert (tmp_path / "a" / "truth.csv").read_bytes() == (
        tmp_path / "b" / "truth.csv"
    ).read_bytes()
    assert first[0].path.read_bytes() != third[0].path.read_bytes()


def test_no_messiness_means_canonical_ids_and_no_junk(tmp_path: Path) -> None:
    clean = Messiness.off()
    assert all(getattr(clean, f.name) == 0 for f in fields(Messiness))
    sources = generate_province(tmp_path, "52", 500, seed=3, spreadsheet=False, messiness=clean)
    truth = read_truth(tmp_path)
    assert {line["kind"] for line in truth} == {"person"}
    by_source = {s.name: read_source(s)[1] for s in sources}
    ids: dict[str, str] = {}
    for line in truth:
        row = by_source[line["source"]][int(line["row"]) - 1]
        value = row[ID_COLUMN[line["source"]]]
        assert id_is_valid(value)
        assert ids.setdefault(line["person"], value) == value
        assert " " not in row[NAME_COLUMN]
        assert re.fullmatch(r"1[3-9]\d{9}", row[PHONE_COLUMN[line["source"]]])
    # No duplicates: one row per person per source.
    assert len({(line["source"], line["person"]) for line in truth}) == len(truth)
    assert len(set(ids.values())) == len(ids)


def test_sizes_and_province_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate_province(tmp_path, "32", 0)
    with pytest.raises(ValueError):
        generate_province(tmp_path, "99", 10)


def test_csv_fields_are_quoted_when_a_value_needs_it() -> None:
    column = ["1", "x,y", 'say "hi"', "a\nb"]
    text = "\r\n".join(_csv_field_column(column)) + "\r\n"
    assert [row[0] for row in csv.reader(io.StringIO(text, newline=""))] == column
    clean = ["1", "2"]
    assert _csv_field_column(clean) is clean


# --- the hardest setting -------------------------------------------------------------------------


def test_hardest_has_every_kind_of_mess_at_or_above_the_default() -> None:
    default, hardest = Messiness(), Messiness.hardest()
    for field in fields(Messiness):
        assert getattr(hardest, field.name) >= getattr(default, field.name), field.name
    # The kinds added for it are off by default: the demo's files stay as they were.
    for name in ("id_collision", "duplicate_exact", "name_typo", "no_id_traditional"):
        assert getattr(default, name) == 0 < getattr(hardest, name), name


@pytest.fixture(scope="module")
def hardest(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("hardest")
    sources = generate_province(
        out, "32", 4000, seed=11, spreadsheet=False, messiness=Messiness.hardest()
    )
    data = {source.name: read_source(source)[1] for source in sources}
    people: list[tuple[str, int, dict[str, str]]] = [
        (line["source"], int(line["person"]), data[line["source"]][int(line["row"]) - 1])
        for line in read_truth(out)
        if line["kind"] == "person"
    ]
    # A person's own ID number and name: those most of their rows give.
    ids: dict[int, Counter[str]] = defaultdict(Counter)
    names: dict[int, Counter[str]] = defaultdict(Counter)
    for source, person, row in people:
        ident = normalise(row[ID_COLUMN[source]])
        if id_is_valid(ident):
            ids[person][ident] += 1
        names[person][row[NAME_COLUMN]] += 1
    own_id = {person: counts.most_common(1)[0][0] for person, counts in ids.items()}
    own_name = {person: counts.most_common(1)[0][0] for person, counts in names.items()}
    return people, own_id, own_name


def test_hardest_has_id_numbers_carried_by_another_person_of_another_name(hardest) -> None:
    people, own_id, own_name = hardest
    owner = {ident: person for person, ident in own_id.items()}
    borrowed = [
        (person, owner[ident], row)
        for source, person, row in people
        if (ident := normalise(row[ID_COLUMN[source]])) in owner and owner[ident] != person
    ]
    assert borrowed
    for person, other, row in borrowed:
        assert row[NAME_COLUMN] != own_name[other]  # their own name, never the owner's
        assert row[NAME_COLUMN] == own_name[person]


def test_hardest_lists_some_rows_with_a_damaged_id_twice_as_written(hardest) -> None:
    people, _, _ = hardest
    seen: Counter[tuple[str, int, tuple[str, ...]]] = Counter()
    for source, person, row in people:
        ident = row[ID_COLUMN[source]]
        if ident and not id_is_valid(normalise(ident)) and not re.fullmatch(r"\d{15}", ident):
            cells = (row[NAME_COLUMN], ident, row[PHONE_COLUMN[source]])
            seen[(source, person, (*cells, row.get(PLATE_COLUMN.get(source, ""), "")))] += 1
    assert any(count == 2 for count in seen.values())


def test_hardest_writes_traditional_names_on_rows_without_an_id(hardest) -> None:
    people, _, own_name = hardest
    traditional = [
        (person, row)
        for source, person, row in people
        if row[ID_COLUMN[source]] == "" and normalise_name(row[NAME_COLUMN])[1] != row[NAME_COLUMN]
    ]
    assert traditional
    for person, row in traditional:
        assert normalise_name(row[NAME_COLUMN])[1] == own_name[person]


def test_hardest_slips_a_character_of_some_names(hardest) -> None:
    people, own_id, own_name = hardest
    slips = [
        row
        for source, person, row in people
        if normalise(row[ID_COLUMN[source]]) == own_id.get(person)
        and len(name := row[NAME_COLUMN]) == len(own_name[person])
        and normalise_name(name)[1] != own_name[person]  # not merely traditional
        and sum(a != b for a, b in zip(name, own_name[person], strict=True)) == 1
    ]
    assert slips
