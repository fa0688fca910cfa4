"""The column normalisers give, row for row, exactly what the scalar ones give."""

from __future__ import annotations

import datetime
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chelun.demo.roster import generate_province
from chelun.identity.columns import (
    ID_COLUMNS,
    NAME_COLUMNS,
    normalise_ids,
    normalise_names,
    normalise_phones,
    normalise_plates,
    normalise_usccs,
    parse_members,
)
from chelun.identity.normalise import (
    normalise_id,
    normalise_name,
    normalise_phone,
    normalise_plate,
    normalise_uscc,
    parse_member,
)
from chelun.sources.readers import open_table

_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- the scalar definitions, row by row ---------------------------------------------------------


def scalar_ids(values: list[str | None]) -> list[tuple[Any, ...]]:
    rows = []
    for value in values:
        ident = normalise_id(value)
        birth = ident.birth.isoformat() if ident.birth is not None else None
        rows.append((ident.value, ident.status, ident.cleaned, birth))
    return rows


def check_all(values: list[str | None]) -> None:
    """Every column normaliser against its scalar function over *values*."""
    series = pl.Series("cells", values, dtype=pl.String)
    names = normalise_names(series)
    assert names.columns == list(NAME_COLUMNS)
    assert names.rows() == [normalise_name(value) for value in values]
    ids = normalise_ids(series)
    assert ids.columns == list(ID_COLUMNS)
    assert ids.rows() == scalar_ids(values)
    assert normalise_phones(series).to_list() == [normalise_phone(v)[0] for v in values]
    assert normalise_plates(series).to_list() == [normalise_plate(v)[0] for v in values]
    assert normalise_usccs(series).to_list() == [normalise_uscc(v)[0] for v in values]
    assert parse_members(series, None).to_list() == [parse_member(v or None) for v in values]
    assert parse_members(None, series).to_list() == [parse_member(None, v or None) for v in values]


def check_members(statuses: list[str | None], flags: list[str | None]) -> None:
    got = parse_members(pl.Series(statuses, dtype=pl.String), pl.Series(flags, dtype=pl.String))
    assert got.to_list() == [
        parse_member(status or None, flag or None)
        for status, flag in zip(statuses, flags, strict=True)
    ]


# --- generated cells ----------------------------------------------------------------------------

_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]
_TODAY = datetime.date.today()
_FULL_WIDTH = str.maketrans("0123456789Xx+", "０１２３４５６７８９Ｘｘ＋")
# Spaces, dashes, dots and invisible characters people leave inside numbers.
_JUNK = [" ", "  ", "-", "\u3000", "\t", "\u00a0", "\u200b", "\uff0d", "\u2014", ".", "\u00b7"]


def check_character(body: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(body, _WEIGHTS, strict=True))
    return "10X98765432"[total % 11]


def with_check(body: str) -> str:
    return body + check_character(body)


@st.composite
def id_bodies(draw: st.DrawFn) -> str:
    """17 digits: a province code (known or not), county, a birth date (real or not), order."""
    province = draw(st.sampled_from(["32", "51", "52", "62", "11", "65", "71", "00", "99", "20"]))
    county = draw(st.integers(0, 9999))
    kind = draw(st.sampled_from(["real", "real", "real", "odd", "future", "old", "edge"]))
    if kind == "real":
        born = draw(st.dates(datetime.date(1900, 1, 1), _TODAY)).strftime("%Y%m%d")
    elif kind == "odd":  # month 00/13, day 00/31/32, 29 February of any year
        year = draw(st.integers(1890, 2030))
        month = draw(st.sampled_from([0, 1, 2, 4, 9, 11, 12, 13, 19, 99]))
        day = draw(st.sampled_from([0, 1, 28, 29, 30, 31, 32, 99]))
        born = f"{year:04d}{month:02d}{day:02d}"
    elif kind == "future":
        born = (_TODAY + datetime.timedelta(days=draw(st.integers(1, 30000)))).strftime("%Y%m%d")
    elif kind == "old":
        born = draw(st.dates(datetime.date(1, 1, 1), datetime.date(1899, 12, 31)))
        born = born.strftime("%Y%m%d").zfill(8)
    else:
        born = draw(
            st.sampled_from(
                [
                    _TODAY.strftime("%Y%m%d"),
                    (_TODAY - datetime.timedelta(days=1)).strftime("%Y%m%d"),
                    "19000101",
                    "18991231",
                    "19000229",
                    "20000229",
                    "21000229",
                    "00000000",
                    "99991231",
                ]
            )
        )
    return f"{province}{county:04d}{born}{draw(st.integers(0, 999)):03d}"


@st.composite
def mangled(draw: st.DrawFn, value: str) -> str:
    """*value* as people type it: lower case, full width, spaces and dashes inside, padded."""
    if draw(st.booleans()):
        value = value.lower()
    if draw(st.integers(0, 4)) == 0:
        value = value.translate(_FULL_WIDTH)
    elif draw(st.integers(0, 4)) == 0:  # a few characters only
        chars = list(value)
        for at in draw(st.lists(st.integers(0, max(len(chars) - 1, 0)), max_size=3)):
            if chars:
                chars[at] = chars[at].translate(_FULL_WIDTH)
        value = "".join(chars)
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(value)))
        value = value[:at] + draw(st.sampled_from(_JUNK)) + value[at:]
    if draw(st.integers(0, 5)) == 0:
        value = draw(st.sampled_from(_JUNK)) + value + draw(st.sampled_from(_JUNK))
    return value


@st.composite
def id_cells(draw: st.DrawFn) -> str:
    body = draw(id_bodies())
    kind = draw(st.sampled_from(["valid", "valid", "wrong", "legacy", "short", "long", "x"]))
    if kind == "valid":
        number = with_check(body)
    elif kind == "wrong":
        right = check_character(body)
        number = body + draw(st.sampled_from([c for c in "0123456789Xx" if c.upper() != right]))
    elif kind == "legacy":  # 15 digits: region, two-digit year, month, day, order
        number = body[:6] + body[8:17]
    elif kind == "x":  # an X or x somewhere it does not belong
        number = with_check(body)
        at = draw(st.integers(0, 17))
        number = number[:at] + draw(st.sampled_from("Xx")) + number[at + 1 :]
    else:
        number = with_check(body)
        number = number[:-1] if kind == "short" else number + draw(st.sampled_from("0X"))
    if draw(st.booleans()):
        return number
    return draw(mangled(number))


@st.composite
def phone_cells(draw: st.DrawFn) -> str:
    digits = draw(st.from_regex(r"1[0-9]{10}", fullmatch=True))
    if draw(st.integers(0, 3)) == 0:
        digits = digits[: draw(st.integers(0, 11))] + draw(st.text("0123456789", max_size=3))
    prefix = draw(st.sampled_from(["", "", "", "86", "+86", "0086", "+86 ", "(+86)", "086", "+"]))
    if draw(st.booleans()):
        digits = f"{digits[:3]}{draw(st.sampled_from(' -'))}{digits[3:7]} {digits[7:]}"
    phone = prefix + digits
    if draw(st.booleans()):
        return phone
    return draw(mangled(phone))


_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PLATE_SERIAL = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@st.composite
def plate_cells(draw: st.DrawFn) -> str:
    head = draw(st.sampled_from(_PROVINCES + "港台甲")) + draw(st.sampled_from(_PLATE_SERIAL))
    # Mostly serials that could be real (no I or O, the right length), sometimes not.
    serial = st.one_of(
        st.text(_PLATE_SERIAL.replace("I", "").replace("O", ""), min_size=4, max_size=5),
        st.text(_PLATE_SERIAL, min_size=3, max_size=6),
    )
    kind = draw(st.sampled_from(["ordinary", "suffix", "small_nev", "large_nev"]))
    if kind == "ordinary":
        tail = draw(serial)
    elif kind == "suffix":
        tail = draw(serial) + draw(st.sampled_from("挂学警港澳领"))
    elif kind == "small_nev":
        tail = draw(st.sampled_from("DFdf")) + draw(serial)
    else:
        tail = draw(st.text("0123456789", min_size=4, max_size=6)) + draw(st.sampled_from("DFdf"))
    plate = head + tail
    if draw(st.booleans()):
        plate = (
            f"{plate[:2]}{draw(st.sampled_from(['·', '•', '・', ' ', '-', '.', '．']))}{plate[2:]}"
        )
    if draw(st.booleans()):
        return plate
    return draw(mangled(plate))


_NAME_CHARS = (
    "张王李刘陈杨黄赵吴周伟芳娜敏静丽强磊军洋張劉陳楊黃趙吳週偉靜麗強軍於沈乾後發〇㐀𠀀\uf900\ufa0e"
)
_NAME_EXTRAS = [" ", "  ", "\u3000", "·", "•", "・", ".", "．", "\u200b", "\t", "A", "b", "Ｚ", "ß"]


@st.composite
def name_cells(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["plain", "plain", "spaced", "latin", "mixed"]))
    han = st.text(_NAME_CHARS, min_size=1, max_size=5)
    if kind == "plain":
        return draw(han)
    if kind == "spaced":
        return draw(han) + draw(st.sampled_from(_NAME_EXTRAS)) + draw(han)
    if kind == "latin":
        words = draw(st.lists(st.from_regex(r"[A-Za-z]{1,8}", fullmatch=True), min_size=1))
        return draw(st.sampled_from([" ", "  ", "·", " . "])).join(words)
    return "".join(draw(st.lists(st.sampled_from([*_NAME_CHARS, *_NAME_EXTRAS]), max_size=8)))


_STATUSES = [
    "中共党员",
    "中共预备党员",
    "群众",
    "共青团员",
    "民主党派（民盟）",
    "民革党员",
    "masses",
]
_FLAGS = ["是", "否", "Y", "n", "1", "0", "1.0", "TRUE", "√", "×", "有", "2"]


@st.composite
def member_cells(draw: st.DrawFn) -> str:
    value = draw(st.sampled_from(_STATUSES + _FLAGS))
    if draw(st.booleans()):
        return value
    return draw(mangled(value))


# Characters around the edges of every vectorised class, in any order.
_EDGE_ALPHABET = (
    "0123456789０１２３４５６７８９XxＸｘ+＋-－ \u3000\t.．·•・苏甘挂学DFIOadz()（）\u200b张伟"
)

cells = st.one_of(
    id_cells(),
    phone_cells(),
    plate_cells(),
    name_cells(),
    member_cells(),
    st.text(_EDGE_ALPHABET, max_size=20),
    st.text(max_size=30),
    st.text("0123456789 -", min_size=19, max_size=80),  # overlong
    st.text(max_size=300),
    st.just(""),
    st.none(),
)


def with_blanks(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[str | None]:
    return st.one_of(strategy, strategy, strategy, st.just(""), st.none())


def repeated(values: list[str | None]) -> list[str | None]:
    # Every other value again, so that a value met twice is looked up from one result.
    return values + values[::2]


# --- properties --------------------------------------------------------------------------------


@_SETTINGS
@given(st.lists(with_blanks(id_cells()), max_size=40).map(repeated))
def test_ids_match(values: list[str | None]) -> None:
    assert normalise_ids(pl.Series(values, dtype=pl.String)).rows() == scalar_ids(values)


@_SETTINGS
@given(st.lists(with_blanks(phone_cells()), max_size=40).map(repeated))
def test_phones_match(values: list[str | None]) -> None:
    got = normalise_phones(pl.Series(values, dtype=pl.String)).to_list()
    assert got == [normalise_phone(value)[0] for value in values]


@_SETTINGS
@given(st.lists(with_blanks(plate_cells()), max_size=40).map(repeated))
def test_plates_match(values: list[str | None]) -> None:
    got = normalise_plates(pl.Series(values, dtype=pl.String)).to_list()
    assert got == [normalise_plate(value)[0] for value in values]


@_SETTINGS
@given(st.lists(with_blanks(name_cells()), max_size=40).map(repeated))
def test_names_match(values: list[str | None]) -> None:
    got = normalise_names(pl.Series(values, dtype=pl.String)).rows()
    assert got == [normalise_name(value) for value in values]


@_SETTINGS
@given(st.lists(st.tuples(st.one_of(member_cells(), cells), st.one_of(member_cells(), cells))))
def test_members_match(pairs: list[tuple[str | None, str | None]]) -> None:
    check_members([status for status, _ in pairs], [flag for _, flag in pairs])


@_SETTINGS
@given(st.lists(cells, max_size=40).map(repeated))
def test_every_normaliser_matches_on_any_cells(values: list[str | None]) -> None:
    check_all(values)


def test_every_date_of_some_years() -> None:
    # Every month 00-13 and day 00-32 of years around the leap rules, today and tomorrow,
    # each with a right and a wrong check character and as a 15-digit number.
    births = [
        f"{year:04d}{month:02d}{day:02d}"
        for year in (1899, 1900, 1904, 1999, 2000, 2001, 2024, 2100)
        for month in range(14)
        for day in range(33)
    ]
    births += [(_TODAY + datetime.timedelta(days=delta)).strftime("%Y%m%d") for delta in (-1, 0, 1)]
    values: list[str | None] = []
    for birth in births:
        body = f"320102{birth}123"
        number = with_check(body)
        values += [number, number[:17] + ("0" if number[17] != "0" else "1"), body[:6] + body[8:]]
    assert normalise_ids(pl.Series(values, dtype=pl.String)).rows() == scalar_ids(values)


# --- edges --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [[], [None], [None, None, None], [""], ["", None], ["320102198001011237"], ["张伟"]],
    ids=["empty", "one-null", "all-null", "one-empty", "empty-and-null", "one-id", "one-name"],
)
def test_small_inputs(values: list[str | None]) -> None:
    check_all(values)


def test_untyped_all_null_series() -> None:
    series = pl.Series([None, None])  # dtype Null, as polars builds it from Nones alone
    assert normalise_ids(series).rows() == scalar_ids([None, None])
    assert normalise_names(series).rows() == [(None, None)] * 2
    assert normalise_phones(series).to_list() == [None, None]
    assert normalise_plates(series).to_list() == [None, None]
    assert normalise_usccs(series).to_list() == [None, None]
    assert parse_members(series, series).to_list() == [None, None]


def test_results_are_typed_when_empty() -> None:
    empty = pl.Series([], dtype=pl.String)
    assert normalise_ids(empty).schema == dict.fromkeys(ID_COLUMNS, pl.String)
    assert normalise_names(empty).schema == dict.fromkeys(NAME_COLUMNS, pl.String)
    assert parse_members(empty, empty).dtype == pl.Boolean


def test_members_need_a_column() -> None:
    with pytest.raises(ValueError):
        parse_members(None, None)


def test_importing_normalise_does_not_import_polars() -> None:
    code = "import sys, chelun.identity.normalise; sys.exit('polars' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# --- the demo generator's messy files ----------------------------------------------------------


def test_demo_files_match(tmp_path: Path) -> None:
    sources = generate_province(tmp_path, "32", 3000, seed=11, spreadsheet=False)
    checked = 0
    for source in sources:
        with open_table(source.path) as table:
            width = len(table.headers)
            rows = [row.cells for row in table.rows() if row.cells is not None]
        columns = [[cells[i] if i < len(cells) else "" for cells in rows] for i in range(width)]
        for column in columns:
            check_all(column)
            checked += 1
        for status in columns:  # every pair, the 政治面貌 and 是否党员 columns among them
            for flag in columns:
                check_members(status, flag)
    assert checked >= 20


# --- credit codes -----------------------------------------------------------------------------

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@st.composite
def usccs(draw: st.DrawFn) -> str:
    from stdnum.cn import uscc

    body = draw(st.from_regex(r"[0-9]{8}[0-9A-HJ-NPQRTUWXY]{9}", fullmatch=True))
    code = body + uscc.calc_check_digit(body)
    change = draw(
        st.sampled_from(["none", "none", "check", "lower", "space", "dash", "wide", "io"])
    )
    if change == "check":
        code = body + draw(st.sampled_from(_USCC_ALPHABET))
    elif change == "lower":
        code = code.lower()
    elif change == "space":
        code = f"{code[:6]} {code[6:]}"
    elif change == "dash":
        code = f"{code[:8]}-{code[8:]}"
    elif change == "wide":
        code = "".join(chr(ord(c) + 0xFEE0) for c in code)
    elif change == "io":
        code = code[:9] + "I" + code[10:]
    return code


@_SETTINGS
@given(st.lists(st.one_of(usccs(), st.text(max_size=20), st.just("")), max_size=40))
def test_credit_codes_as_the_scalar_checks_them(values: list[str]) -> None:
    series = pl.Series("cells", values, dtype=pl.String)
    assert normalise_usccs(series).to_list() == [normalise_uscc(v)[0] for v in values]
