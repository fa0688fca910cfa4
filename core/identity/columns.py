"""The roster normalisers a column at a time, over polars string Series.

Every function here returns, row for row, exactly what the scalar function of the same name in
:mod:`chelun.identity.normalise` returns for that cell: the scalar functions are the definition,
this module only computes the same thing faster. Each one is a hybrid:

* values of a shape whose outcome is easy to state (an 18-character ID of ASCII digits, a phone
  of digits, spaces and dashes, a plate that needs at most spaces and dots taken out and its
  letters upper-cased) are normalised by vectorised polars expressions;
* every other value goes to the scalar function, called once per *distinct* such value, and the
  results are joined back, so a messy value repeated down a file costs one call.

A null and "" are the same cell here, as they are to the scalar functions (``record_rows``
passes "" for an empty cell). Series must hold strings (or be all null); a Python string with a
lone surrogate cannot be put into a polars Series at all, so rows with one must stay on the
scalar path. No message here ever quotes a value.

    names = normalise_names(pl.Series(cells_of_name_column))   # columns display, key
    ids = normalise_ids(series)        # columns value, status, cleaned, birth (ISO text)
    phones = normalise_phones(series)  # the value normalise_phone(raw)[0] gives
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from functools import cache, lru_cache
from typing import Any

import polars as pl

from chelun.identity.normalise import (
    _MIDDLE_DOTS,
    _MOBILE,
    _PLAIN_NAME,
    _PLATE,
    _PROVINCE_CHARS,
    _SIMPLIFIED,
    _simplified,
    normalise_id,
    normalise_name,
    normalise_phone,
    normalise_plate,
    normalise_uscc,
    parse_member,
)

__all__ = [
    "ID_COLUMNS",
    "NAME_COLUMNS",
    "normalise_ids",
    "normalise_names",
    "normalise_phones",
    "normalise_plates",
    "normalise_usccs",
    "parse_members",
]

#: Columns of :func:`normalise_names`: ``normalise_name(raw)`` as (display, key).
NAME_COLUMNS = ("display", "key")
#: Columns of :func:`normalise_ids`: ``normalise_id(raw)``'s value, status, cleaned and birth,
#: the birth date as ISO text (``birth.isoformat()``) or null.
ID_COLUMNS = ("value", "status", "cleaned", "birth")

_FULL_WIDTH_DIGITS = [chr(0xFF10 + digit) for digit in range(10)]
_ASCII_DIGITS = [str(digit) for digit in range(10)]
_CHECK_CHARACTERS = list("0123456789X")


def _anchored(pattern: str) -> str:
    # Python's fullmatch as a Rust regex: ^ and $ (no multi-line flag) anchor at the very start
    # and end of the text, not before a final line break as Python's $ would.
    return f"^(?:{pattern})$"


# The join column of a table of scalar results; no output column is called this.
_CELL = "\x00cell"


def _strings(raw: pl.Series) -> pl.Series:
    """The column as strings, null as "" (the scalar functions treat them alike)."""
    if raw.dtype != pl.String:
        raw = raw.cast(pl.String)
    return raw.fill_null("") if raw.null_count() else raw


# --- the scalar path --------------------------------------------------------------------------


def _table(
    values: pl.Series,
    function: Callable[[str], Sequence[Any]],
    schema: dict[str, pl.DataType],
) -> pl.DataFrame:
    """*function* applied once to each distinct value: a frame of the value and *schema*'s
    columns."""
    distinct = values.unique()
    results = [function(value) for value in distinct.to_list()]
    data: dict[str, pl.Series] = {_CELL: distinct}
    for position, (name, dtype) in enumerate(schema.items()):
        data[name] = pl.Series(name, [result[position] for result in results], dtype=dtype)
    return pl.DataFrame(data)


def _lookup(keys: pl.Series | pl.DataFrame, table: pl.DataFrame) -> pl.DataFrame:
    """The rows of *table* for each key in turn (*table* holds every key once).

    *keys* is a Series of cells or a frame whose columns are all join columns of *table*.
    """
    frame = keys.to_frame(_CELL) if isinstance(keys, pl.Series) else keys
    on = frame.columns
    joined = frame.join(table, on=on, how="left", maintain_order="left")
    return joined.drop(on)


def _patch(
    fast: pl.DataFrame,
    keys: pl.Series,
    slow: pl.Series,
    function: Callable[[str], Sequence[Any]],
) -> pl.DataFrame:
    """*fast* with its rows where *slow* is set replaced by *function* of the row's key."""
    rows = slow.arg_true()
    if rows.len() == 0:
        return fast
    schema = dict(fast.schema)
    found = _lookup(keys.gather(rows), _table(keys.filter(slow), function, schema))
    return pl.DataFrame(
        [fast.get_column(name).clone().scatter(rows, found.get_column(name)) for name in schema]
    )


# --- names ------------------------------------------------------------------------------------

_PLAIN_NAME_RE = _anchored(_PLAIN_NAME.pattern)


def normalise_names(raw: pl.Series) -> pl.DataFrame:
    """``normalise_name`` of every cell: a frame of :data:`NAME_COLUMNS` (display, key).

    A name of Han characters only (the scalar fast path) is its own display, and its key is
    ``_name_key``'s: each character folded as ``_name_key`` folds it alone (OpenCC's
    simplified form, lower-cased), here by one ``replace_many`` over the column with the
    characters that change, each asked of the scalar fold once. Every other distinct name goes
    to ``normalise_name``.
    """
    keys = _strings(raw)
    plain = keys.str.contains(_PLAIN_NAME_RE)
    names = keys.zip_with(plain, pl.Series([None], dtype=pl.String))
    characters = names.drop_nulls().unique().str.split("").explode().unique().to_list()
    changed = {}
    for character in characters:
        folded = (_SIMPLIFIED.get(character) or _simplified(character)).lower()
        if folded != character:
            changed[character] = folded
    name_keys = names.str.replace_many(list(changed), list(changed.values())) if changed else names
    fast = pl.DataFrame({"display": names, "key": name_keys})
    # An empty cell is no name: (None, None), as the frame already has it.
    return _patch(fast, keys, ~(plain | (keys == "")), normalise_name)


# --- resident ID numbers ----------------------------------------------------------------------

# An ID as normalise_id's own fast path takes it: 17 ASCII digits and a digit, X or x.
_ID_CANONICAL = "^[0-9]{17}[0-9Xx]$"
# Other cells of these characters only are cleaned here: spaces and dashes go, full-width digits
# and X fold to ASCII and x is upper-cased, exactly as normalise_id's translation table does.
_ID_CHARACTERS = "^[0-9\uff10-\uff19Xx\uff38\uff58 \\-\u3000]*$"
_ID_DROP = "[ \\-\u3000]"
_ID_18 = "^[0-9]{17}[0-9X]$"
_ID_15 = "^[0-9]{15}$"


@cache
def _province_codes() -> pl.Series:
    from chelun.identity.divisions import divisions

    return pl.Series(list(divisions().province_names), dtype=pl.String)


@lru_cache(maxsize=2)
def _birth_dates(today: str) -> tuple[pl.Series, pl.Series]:
    """Every date from 1900-01-01 to *today* (YYYYMMDD), as the number YYYYMMDD and as ISO text.

    A birth date is valid exactly when it is one of these: enumerated by ``datetime``, so
    calendars and leap years are Python's, as they are to ``normalise_id``. (Eight ASCII digits
    and their number say the same: the year is at least 1900, so there is no leading zero.)
    """
    first = datetime.date(1900, 1, 1)
    last = datetime.date(int(today[:4]), int(today[4:6]), int(today[6:]))
    days = [first + datetime.timedelta(days=n) for n in range((last - first).days + 1)]
    return (
        pl.Series([day.year * 10000 + day.month * 100 + day.day for day in days], dtype=pl.Int32),
        pl.Series([day.isoformat() for day in days], dtype=pl.String),
    )


def _id_row(raw: str) -> tuple[str | None, str, str, str | None]:
    ident = normalise_id(raw)
    birth = ident.birth.isoformat() if ident.birth is not None else None
    return ident.value, ident.status, ident.cleaned, birth


def _check_characters(bodies: pl.Expr) -> pl.Expr:
    """The MOD 11-2 check character of 17-digit *bodies* (null for anything else).

    ISO 7064 MOD 11-2: digit i weighs 2**(17 - i) (mod 11). 13 = 2 (mod 11), so a body read in
    base 13 is half its weighted sum (mod 11); 17 base-13 digits fit in an Int64. The check
    character c makes the sum plus c equal 1 (mod 11): c = 1 - 2 * half = 1 + 9 * half.
    """
    half = bodies.str.to_integer(base=13, strict=False) % 11
    return ((1 + 9 * half) % 11).replace_strict(
        list(range(11)), _CHECK_CHARACTERS, return_dtype=pl.String
    )


def _messy_ids(cells: pl.Series) -> pl.DataFrame:
    """Cleaned text, 18-character number and whether both are right, for non-canonical cells.

    Right ("fast") when the cell has only the characters of ``_ID_CHARACTERS`` and cleans to
    nothing (a missing ID), to 17 digits and a digit or X, or to the 15 digits of a
    first-generation number, which becomes the region code, 19, the rest and a computed check
    character.
    """
    col = pl.col
    return (
        cells.to_frame("raw")
        .lazy()
        .with_columns(
            cleaned=col("raw")
            .str.replace_all(_ID_DROP, "")
            .str.replace_many([*_FULL_WIDTH_DIGITS, "\uff38", "\uff58"], [*_ASCII_DIGITS, "X", "X"])
            .str.to_uppercase(),
            tame=col("raw").str.contains(_ID_CHARACTERS),
        )
        .with_columns(
            whole=col("cleaned").str.contains(_ID_18),
            legacy=col("cleaned").str.contains(_ID_15),
            body=col("cleaned").str.slice(0, 6) + "19" + col("cleaned").str.slice(6),
        )
        .select(
            "cleaned",
            number=pl.when("whole")
            .then("cleaned")
            .when("legacy")
            .then(col("body") + _check_characters(col("body"))),
            fast=col("tame") & (col("whole") | col("legacy") | (col("cleaned") == "")),
        )
        .collect()
    )


def _id_frame(keys: pl.Series, today: str) -> pl.DataFrame:
    """The vectorised ID columns, plus ``fast``: whether they are right for the row.

    Canonical cells (most of a file) are the number as they stand, x upper-cased; the others are
    cleaned apart (``_messy_ids``) and put in their places. Every check then runs over the
    18-character numbers of the whole column.
    """
    canonical = keys.str.contains(_ID_CANONICAL)
    number = keys.str.replace("x", "X", literal=True)
    cleaned = number
    fast = canonical
    rows = (~canonical).arg_true()
    if rows.len():
        messy = _messy_ids(keys.gather(rows))
        number = number.clone().scatter(rows, messy.get_column("number"))
        cleaned = cleaned.clone().scatter(rows, messy.get_column("cleaned"))
        fast = fast.clone().scatter(rows, messy.get_column("fast"))
    dates, births = _birth_dates(today)
    col = pl.col
    return (
        pl.DataFrame({"number": number, "cleaned": cleaned, "fast": fast})
        .lazy()
        .with_columns(
            half=col("number").str.slice(0, 17).str.to_integer(base=13, strict=False) % 11,
            last=col("number").str.slice(17, 1),
            birth=col("number")
            .str.slice(6, 8)
            .cast(pl.Int32, strict=False)
            .replace_strict(dates, births, default=None),
            known=col("number").str.slice(0, 2).is_in(_province_codes().implode()),
        )
        .with_columns(
            # The weighted sum of all 18 characters, X counting ten, must be 1 (mod 11).
            status=pl.when(col("cleaned") == "")
            .then(pl.lit("missing"))
            .when(
                (
                    2 * col("half")
                    + pl.when(col("last") == "X")
                    .then(10)
                    .otherwise(col("last").cast(pl.Int64, strict=False))
                )
                % 11
                != 1
            )
            .then(pl.lit("bad_checksum"))
            .when(col("birth").is_null())
            .then(pl.lit("bad_date"))
            .when(~col("known"))
            .then(pl.lit("bad_region"))
            .otherwise(pl.lit("valid"))
        )
        .select(
            value=pl.when(col("status") == "valid").then("number"),
            status="status",
            cleaned="cleaned",
            birth="birth",
            fast="fast",
        )
        .collect()
    )


def normalise_ids(raw: pl.Series) -> pl.DataFrame:
    """``normalise_id`` of every cell: a frame of :data:`ID_COLUMNS` (value, status, cleaned,
    birth as ``YYYY-MM-DD`` text or null; ``legacy`` is left out).

    Vectorised: cells of ASCII or full-width digits, X or x, spaces and dashes that clean to
    nothing (missing), to 17 digits and a digit or X, or to the 15 digits of a first-generation
    number (check character, birth date from 1900 to today, province code). Every other
    distinct cell goes to ``normalise_id``.
    """
    keys = _strings(raw)
    today = datetime.date.today().strftime("%Y%m%d")
    frame = _id_frame(keys, today)
    fast = frame.get_column("fast")
    return _patch(frame.drop("fast"), keys, ~fast, _id_row)


# --- phones -----------------------------------------------------------------------------------

_MOBILE_RE = _anchored(_MOBILE.pattern)
# Digits (ASCII or full-width), plus signs, spaces and dashes: normalise_phone's table takes out
# the spaces and dashes and folds the rest to ASCII; nothing else happens to them.
_PHONE_CHARACTERS = "^[0-9\uff10-\uff19+\uff0b \\-\u3000]*$"
_PHONE_DROP = "[ \\-\u3000]"


def _phone(raw: str) -> tuple[str | None]:
    return (normalise_phone(raw)[0],)


def normalise_phones(raw: pl.Series) -> pl.Series:
    """``normalise_phone(cell)[0]`` of every cell: the 11 digits, or null.

    Vectorised: cells of digits, +, spaces and dashes (ASCII or full-width), empty ones too,
    with the country prefix (86, +86, 0086) taken off by length as the scalar does. Every other
    distinct cell goes to ``normalise_phone``.
    """
    keys = _strings(raw)
    col = pl.col
    # A cell that already reads as a mobile number is left as it is by the cleaning below.
    frame = (
        keys.to_frame("raw")
        .lazy()
        .with_columns(
            cleaned=col("raw")
            .str.replace_all(_PHONE_DROP, "")
            .str.replace_many([*_FULL_WIDTH_DIGITS, "\uff0b"], [*_ASCII_DIGITS, "+"]),
            fast=col("raw").str.contains(_PHONE_CHARACTERS),
        )
        .with_columns(size=col("cleaned").str.len_chars())
        .with_columns(
            bare=pl.when((col("size") == 13) & col("cleaned").str.starts_with("86"))
            .then(col("cleaned").str.slice(2))
            .when((col("size") == 14) & col("cleaned").str.starts_with("+86"))
            .then(col("cleaned").str.slice(3))
            .when((col("size") == 15) & col("cleaned").str.starts_with("0086"))
            .then(col("cleaned").str.slice(4))
            .otherwise(col("cleaned"))
        )
        .select(
            value=pl.when(col("bare").str.contains(_MOBILE_RE)).then("bare"),
            fast="fast",
        )
        .collect()
    )
    fast = frame.get_column("fast")
    return _patch(frame.drop("fast"), keys, ~fast, _phone).get_column("value")


# --- plates -----------------------------------------------------------------------------------

_PLATE_RE = _anchored(_PLATE.pattern)
# Everything a plate may hold, plus the spaces, dashes, full stops and middle dots that
# normalise_plate's table takes out; its only other change to these is upper-casing a-z.
_PLATE_DROP = f"[ \\-\u3000.\uff0e{_MIDDLE_DOTS}]"
_PLATE_CHARACTERS = f"^[{_PROVINCE_CHARS}挂学警港澳A-Za-z0-9 \\-\u3000.\uff0e{_MIDDLE_DOTS}]*$"


def _plate(raw: str) -> tuple[str | None]:
    return (normalise_plate(raw)[0],)


def normalise_plates(raw: pl.Series) -> pl.Series:
    """``normalise_plate(cell)[0]`` of every cell: the plate, or null.

    Vectorised: cells of province characters, the suffix characters (挂学警港澳), ASCII letters
    and digits, spaces, dashes, full stops and middle dots, empty ones too. Every other distinct
    cell goes to ``normalise_plate``.
    """
    keys = _strings(raw)
    cell = pl.col("raw")
    cleaned = cell.str.replace_all(_PLATE_DROP, "").str.to_uppercase()
    frame = (
        keys.to_frame("raw")
        .lazy()
        .select(
            pl.when(cleaned.str.contains(_PLATE_RE)).then(cleaned).alias("value"),
            cell.str.contains(_PLATE_CHARACTERS).alias("fast"),
        )
        .collect()
    )
    fast = frame.get_column("fast")
    return _patch(frame.drop("fast"), keys, ~fast, _plate).get_column("value")


# --- credit codes -----------------------------------------------------------------------------


def _uscc(raw: str) -> tuple[str | None]:
    return (normalise_uscc(raw)[0],)


# stdnum.cn.uscc's alphabet and weights: a code already in its canonical form (eight digits, then
# ten characters of the alphabet) is checked here; any other cell goes to normalise_uscc.
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_CANONICAL = "^[0-9]{8}[0-9A-HJ-NPQRTUWXY]{10}$"


def normalise_usccs(raw: pl.Series) -> pl.Series:
    """``normalise_uscc(cell)[0]`` of every cell: the code, or null.

    Vectorised: empty cells and codes already canonical (the check character computed as
    stdnum computes it). Every other distinct cell goes to ``normalise_uscc``.
    """
    keys = _strings(raw)
    cell = pl.col("raw")
    values = {char: index for index, char in enumerate(_USCC_ALPHABET)}
    total = pl.sum_horizontal(
        cell.str.slice(i, 1).replace_strict(values, default=0, return_dtype=pl.Int64) * weight
        for i, weight in enumerate(_USCC_WEIGHTS)
    )
    check = ((31 - total % 31) % 31).replace_strict(
        dict(enumerate(_USCC_ALPHABET)), return_dtype=pl.String
    )
    canonical = cell.str.contains(_USCC_CANONICAL)
    frame = (
        keys.to_frame("raw")
        .lazy()
        .select(
            pl.when(canonical & (cell.str.slice(17, 1) == check)).then(cell).alias("value"),
            (canonical | (cell == "")).alias("fast"),
        )
        .collect()
    )
    fast = frame.get_column("fast")
    return _patch(frame.drop("fast"), keys, ~fast, _uscc).get_column("value")


# --- party membership -------------------------------------------------------------------------


def _empty(size: int) -> pl.Series:
    return pl.repeat("", size, dtype=pl.String, eager=True)


def parse_members(status: pl.Series | None, flag: pl.Series | None) -> pl.Series:
    """``parse_member(status or None, flag or None)`` of every row: True, False or null.

    *status* is the 政治面貌 column and *flag* the 是否党员 one; None stands for a column the file
    lacks. All on the scalar path, once per distinct (status, flag) pair.
    """
    if status is None and flag is None:
        raise ValueError("parse_members needs at least one column")
    size = len(status) if status is not None else len(flag)  # type: ignore[arg-type]
    pairs = pl.DataFrame(
        {
            "status": _strings(status) if status is not None else _empty(size),
            "flag": _strings(flag) if flag is not None else _empty(size),
        }
    )
    distinct = pairs.unique()
    members = [
        parse_member(political or None, mark or None) for political, mark in distinct.iter_rows()
    ]
    table = distinct.with_columns(member=pl.Series(members, dtype=pl.Boolean))
    return _lookup(pairs, table).get_column("member")
