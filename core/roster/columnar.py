"""Staging a clean text file a column at a time: the same ``source_record`` rows as
:func:`chelun.roster.staging.record_rows`, computed with polars instead of Python per cell.

Only files that :meth:`chelun.sources.readers.Table.clean_lines` passes come here (decoded
strictly, no quotes, no control characters, the header first), and only when every row that is
not blank has exactly as many cells as the header: anything else is read row by row as before,
with every behaviour for broken files. ``tests/roster/test_columnar.py`` holds the two paths to
the same tuples, value for value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import orjson
import polars as pl

from chelun.identity.columns import (
    normalise_ids,
    normalise_names,
    normalise_phones,
    normalise_plates,
    normalise_usccs,
    parse_members,
)
from chelun.roster.quarantine import NAME_ONLY, NO_IDENTITY, OVERLONG, reason_text
from chelun.sources.profiles import ColumnMap

#: Every character ``str.strip()`` removes (``str.isspace``); a test holds it to Python's own.
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


#: Rows normalised at a time: the frames of a chunk, not of the whole file, are held at once.
CHUNK_ROWS = 100_000


@dataclass
class ColumnarRecords:
    """A clean file's rows that are not blank (``row_no``, ``line``), to be normalised a chunk at
    a time into ``source_record`` rows, and the blank rows it had."""

    lines: pl.DataFrame
    blank_rows: int
    normalise: Callable[[pl.DataFrame], pl.DataFrame]

    def frames(self, chunk: int = CHUNK_ROWS) -> Iterator[pl.DataFrame]:
        """The rows as frames of ``COLUMNS``, ``chunk`` rows at a time."""
        for offset in range(0, self.lines.height, chunk):
            yield self.normalise(self.lines.slice(offset, chunk))

    def batches(self, size: int) -> Iterator[list[tuple[Any, ...]]]:
        """The rows as the database driver takes them, ``size`` at a time."""
        for frame in self.frames(max(size, CHUNK_ROWS)):
            for offset in range(0, frame.height, size):
                yield frame.slice(offset, size).rows()


def _json_text(column: pl.Expr) -> pl.Expr:
    """A JSON string of a cell from a clean file (no quote, no control character but tab), as
    orjson writes it: backslash and tab escaped, everything else as it is."""
    escaped = column.str.replace_all("\\", "\\\\", literal=True).str.replace_all(
        "\t", "\\t", literal=True
    )
    return pl.lit('"') + escaped + pl.lit('"')


def columnar_records(
    lines: pl.Series,
    *,
    province: str,
    source: str,
    run: str,
    columns: ColumnMap,
    delimiter: str,
    headers: int,
) -> ColumnarRecords | None:
    """The rows of a clean file's ``lines`` (after its header of ``headers`` cells) as
    ``record_rows`` makes them; None when a row that is not blank has another number of cells
    than the header (the row-by-row path then reads the file)."""
    fields = columns.fields
    width = max([*fields.values(), *columns.extras, -1]) + 1
    if width != headers or headers < 1:
        return None
    frame = lines.to_frame("line").with_row_index("row_no", offset=1)
    blank = pl.col("line").str.strip_chars(WHITESPACE + delimiter) == ""
    blank_rows = int(frame.select(blank.sum()).item())
    frame = frame.filter(~blank)
    if frame.height and (
        frame.select(
            (pl.col("line").str.count_matches(delimiter, literal=True) != width - 1).any()
        ).item()
    ):
        return None
    return ColumnarRecords(
        lines=frame,
        blank_rows=blank_rows,
        normalise=partial(
            _records,
            province=province,
            source=source,
            run=run,
            columns=columns,
            delimiter=delimiter,
            width=width,
        ),
    )


def _records(
    chunk: pl.DataFrame,
    *,
    province: str,
    source: str,
    run: str,
    columns: ColumnMap,
    delimiter: str,
    width: int,
) -> pl.DataFrame:
    """``record_rows``' tuples for a chunk of (row_no, line), as a frame of ``COLUMNS``."""
    from chelun.roster.staging import (
        ATTRIBUTE_FIELDS,
        CLEANED_ID_MAX,
        COLUMNS,
        ENTERPRISE_MAX,
        NAME_MAX,
    )

    fields = columns.fields
    profile = columns.profile
    parts = pl.col("line").str.split_exact(delimiter, width - 1)
    frame = chunk.select(
        pl.col("row_no").cast(pl.Int64),
        *(
            parts.struct.field(f"field_{i}").str.strip_chars(WHITESPACE).alias(f"c{i}")
            for i in range(width)
        ),
    )
    n = frame.height

    def cell(field: str) -> pl.Series:
        index = fields.get(field)
        if index is None:
            return pl.Series(field, [""] * n, dtype=pl.String)
        return frame.get_column(f"c{index}")

    names = normalise_names(cell("name"))
    name, name_key = names.get_column("display"), names.get_column("key")
    ident = normalise_ids(cell("id_number"))
    phone = normalise_phones(cell("phone"))
    plate = normalise_plates(cell("plate"))
    if "uscc" in fields:
        uscc = normalise_usccs(cell("uscc"))
    else:
        uscc = pl.Series([None] * n, dtype=pl.String)
    if profile.all_members:
        member = pl.Series([True] * n, dtype=pl.Boolean)
    elif "political_status" in fields or "member_flag" in fields:
        member = parse_members(cell("political_status"), cell("member_flag"))
    else:
        member = pl.Series([None] * n, dtype=pl.Boolean)
    enterprise_cell = cell("enterprise")

    attribute_columns = [
        (field, fields[field]) for field in ATTRIBUTE_FIELDS if field in fields
    ] + [(header, index) for index, header in columns.extras.items()]
    if attribute_columns:
        pieces = [
            pl.when(pl.col(f"c{i}") != "").then(
                pl.lit(orjson.dumps(key).decode() + ":") + _json_text(pl.col(f"c{i}"))
            )
            for key, i in attribute_columns
        ]
        joined = pl.concat_str(pieces, separator=",", ignore_nulls=True)
        attributes_expr = pl.when(joined != "").then(pl.lit("{") + joined + pl.lit("}"))
    else:
        attributes_expr = pl.lit(None, dtype=pl.String)

    work = pl.DataFrame(
        {
            "row_no": frame.get_column("row_no"),
            "name": name,
            "name_key": name_key,
            "id_number": ident.get_column("value"),
            "id_status": ident.get_column("status"),
            "cleaned_all": ident.get_column("cleaned"),
            "birth": ident.get_column("birth"),
            "phone": phone,
            "plate": plate,
            "enterprise": enterprise_cell.to_frame("e")
            .select(pl.when(pl.col("e") != "").then(pl.col("e")))
            .to_series(),
            "uscc": uscc,
            "member": member,
        }
    ).with_columns(frame.select(attributes_expr.alias("attributes")).to_series())

    name_length = pl.col("name").str.len_chars()
    enterprise_length = pl.col("enterprise").str.len_chars()
    overlong_name = name_length > NAME_MAX
    overlong = overlong_name.fill_null(False) | (enterprise_length > ENTERPRISE_MAX).fill_null(
        False
    )
    valid = pl.col("id_number").is_not_null()
    cleaned_length = pl.col("cleaned_all").str.len_chars()
    work = work.with_columns(
        overlong.alias("overlong"),
        pl.when(valid)
        .then(None)
        .when((cleaned_length > 0) & (cleaned_length <= CLEANED_ID_MAX))
        .then(pl.col("cleaned_all"))
        .alias("id_cleaned"),
        pl.when(valid)
        .then(pl.lit("id"))
        .when(pl.col("name_key").is_null())
        .then(pl.lit(f"q:{NO_IDENTITY}"))
        .when(
            (pl.col("id_status") == "missing")
            & pl.col("phone").is_null()
            & pl.col("plate").is_null()
        )
        .then(pl.lit(f"q:{NAME_ONLY}"))
        .alias("link"),
    )
    statuses = work.get_column("id_status").unique().to_list()
    no_identity = {status: reason_text(NO_IDENTITY, status) for status in statuses}
    work = work.with_columns(
        pl.when(pl.col("link") == f"q:{NO_IDENTITY}")
        .then(pl.col("id_status").replace_strict(no_identity, return_dtype=pl.String))
        .when(pl.col("link") == f"q:{NAME_ONLY}")
        .then(pl.lit(reason_text(NAME_ONLY, "")))
        .alias("quarantine")
    )
    overlong_rows = work.get_column("overlong")
    if overlong_rows.any():
        names = work.get_column("name").str.len_chars().fill_null(0)
        enterprises = work.get_column("enterprise").str.len_chars().fill_null(0)
        detail = pl.Series(
            [
                f"name is {a:,} characters long (at most {NAME_MAX})"
                if a > NAME_MAX
                else f"enterprise is {b:,} characters long (at most {ENTERPRISE_MAX})"
                if b > ENTERPRISE_MAX
                else None
                for a, b in zip(names, enterprises, strict=True)
            ],
            dtype=pl.String,
        )
        work = work.with_columns(
            detail.map_elements(
                lambda d: reason_text(OVERLONG, d), return_dtype=pl.String, skip_nulls=True
            ).alias("overlong_reason")
        )
    else:
        work = work.with_columns(pl.lit(None, dtype=pl.String).alias("overlong_reason"))

    kept = ~pl.col("overlong")

    def unless_overlong(column: str, dtype: Any = pl.String) -> pl.Expr:
        return pl.when(kept).then(pl.col(column)).otherwise(pl.lit(None, dtype=dtype))

    out = work.select(
        pl.lit(province).alias("province"),
        pl.lit(source).alias("source"),
        pl.col("row_no"),
        pl.lit(profile.rank, dtype=pl.Int64).alias("rank"),
        unless_overlong("name"),
        unless_overlong("name_key"),
        unless_overlong("id_number"),
        pl.when(kept).then(pl.col("id_status")).otherwise(pl.lit("missing")).alias("id_status"),
        unless_overlong("id_cleaned"),
        unless_overlong("birth"),
        unless_overlong("phone"),
        unless_overlong("plate"),
        unless_overlong("enterprise"),
        unless_overlong("uscc"),
        unless_overlong("member", pl.Boolean),
        unless_overlong("attributes"),
        unless_overlong("id_number").alias("driver_key"),
        pl.when(kept).then(pl.col("link")).otherwise(pl.lit(f"q:{OVERLONG}")).alias("link"),
        pl.when(kept).then(pl.col("quarantine")).otherwise(pl.col("overlong_reason")),
        pl.lit(run).alias("staged_run"),
    )
    assert tuple(out.columns) == COLUMNS
    return out
