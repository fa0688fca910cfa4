"""Roster normalisers cell by cell (as staging calls them) against a column at a time.

    python bench/normalise_columns.py                         # 80,000 drivers of province 32
    python bench/normalise_columns.py --drivers 200000 --repeat 5
    python bench/normalise_columns.py --folder DIR            # files already generated

A benchmark, not a test: it measures, checks that both ways give the same values, and prints a
table. Nothing is sent anywhere and no cell value is printed.

Input: every .csv/.xlsx file of ``--folder`` but ``truth.csv``, or (by default) one province
generated with ``generate_province(TMP, "32", DRIVERS, seed=SEED, spreadsheet=False)`` into a
temporary folder. Each file is read with ``open_table`` (the reader staging uses) and its columns
mapped with ``detect`` over core's built-in profiles, outside the timings.

For each field staging normalises, over every file that has it, as ``record_rows`` does:

* scalar: a Python loop over the rows calling ``normalise_name(cells[i])``,
  ``normalise_id(cells[i])`` (and ``birth.isoformat()``), ``normalise_phone(cells[i])[0]``,
  ``normalise_plate(cells[i])[0]``, ``normalise_uscc(cells[i])[0]`` (files with a credit-code
  column) and ``parse_member(cells[s] or None, cells[f] or None)`` (files with a 政治面貌 or
  是否党员 column whose profile is not all members);
* columns: the column's cells gathered from the row lists into a polars String Series ("build",
  also shown on its own), then the function of ``chelun.identity.columns``.

Each is run once untimed (both share the scalar caches: OpenCC characters, name keys, credit
codes), then ``--repeat`` times; the best time is shown. "to scalar" is the share of cells that
the column function sent to the scalar path (as distinct values, each computed once).
"""

from __future__ import annotations

import argparse
import datetime
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from chelun.demo.roster import generate_province
from chelun.identity import columns as col
from chelun.identity.normalise import (
    normalise_id,
    normalise_name,
    normalise_phone,
    normalise_plate,
    normalise_uscc,
    parse_member,
)
from chelun.roster.profiles import BUILT_IN_PROFILES
from chelun.sources.profiles import detect
from chelun.sources.readers import open_table

FIELDS = ("name", "id_number", "phone", "plate", "uscc", "member")


@dataclass
class Source:
    path: Path
    rows: list[list[str]]
    fields: dict[str, int]
    all_members: bool


@dataclass
class Figures:
    cells: int = 0
    scalar: float = 0.0
    build: float = 0.0
    columns: float = 0.0
    to_scalar: int = 0
    same: bool = True
    parts: list[str] = field(default_factory=list)


def read_sources(folder: Path) -> list[Source]:
    sources = []
    for path in sorted(folder.iterdir()):
        if path.suffix not in (".csv", ".xlsx") or path.name == "truth.csv":
            continue
        with open_table(path) as table:
            mapping = detect(table.headers, BUILT_IN_PROFILES, str(path))
            width = len(table.headers)
            rows = [
                cells if len(cells) >= width else cells + [""] * (width - len(cells))
                for row in table.rows()
                if (cells := row.cells) is not None
            ]
        sources.append(Source(path, rows, dict(mapping.fields), mapping.profile.all_members))
    return sources


def best(function: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    result = function()  # untimed: warms caches and lazy imports alike for both ways
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def _series(rows: list[list[str]], index: int | None) -> pl.Series | None:
    if index is None:
        return None
    return pl.Series([cells[index] for cells in rows], dtype=pl.String)


def _id_tuple(raw: str) -> tuple[Any, ...]:
    ident = normalise_id(raw)
    return (
        ident.value,
        ident.status,
        ident.cleaned,
        ident.birth.isoformat() if ident.birth else None,
    )


def measure(source: Source, name: str, repeat: int) -> tuple[Figures, bool] | None:
    """One field of one file both ways; None when staging would not normalise it there."""
    rows, fields = source.rows, source.fields
    if name == "member":
        if source.all_members or not ("political_status" in fields or "member_flag" in fields):
            return None
        i_status, i_flag = fields.get("political_status"), fields.get("member_flag")

        def scalar() -> list[Any]:
            s, f = i_status, i_flag
            if s is not None and f is not None:
                return [parse_member(cells[s] or None, cells[f] or None) for cells in rows]
            if s is not None:
                return [parse_member(cells[s] or None, None) for cells in rows]
            return [parse_member(None, cells[f] or None) for cells in rows]  # type: ignore[index]

        def build() -> tuple[pl.Series | None, pl.Series | None]:
            return _series(rows, i_status), _series(rows, i_flag)

        def columns() -> pl.Series:
            status, flag = build()
            return col.parse_members(status, flag)

        figures = Figures(cells=len(rows))
        figures.scalar, expected = best(scalar, repeat)
        figures.build, _ = best(build, repeat)
        figures.columns, got = best(columns, repeat)
        figures.to_scalar = len(rows)
        return figures, _python(got) == expected
    if name not in fields:
        return None
    i = fields[name]
    kind: dict[str, tuple[Callable[[str], Any], Callable[[pl.Series], Any]]] = {
        "name": (normalise_name, col.normalise_names),
        "id_number": (_id_tuple, col.normalise_ids),
        "phone": (lambda v: normalise_phone(v)[0], col.normalise_phones),
        "plate": (lambda v: normalise_plate(v)[0], col.normalise_plates),
        "uscc": (lambda v: normalise_uscc(v)[0], col.normalise_usccs),
    }
    one, many = kind[name]

    def scalar_loop() -> list[Any]:
        return [one(cells[i]) for cells in rows]

    def build_only() -> pl.Series:
        return pl.Series([cells[i] for cells in rows], dtype=pl.String)

    def columns_all() -> pl.Series | pl.DataFrame:
        return many(build_only())

    figures = Figures(cells=len(rows))
    figures.scalar, expected = best(scalar_loop, repeat)
    figures.build, series = best(build_only, repeat)
    figures.columns, got = best(columns_all, repeat)
    figures.to_scalar = to_scalar(name, series)
    return figures, _python(got) == expected


def _python(result: pl.Series | pl.DataFrame) -> list[Any]:
    """Rows as tuples (a frame) or values (a Series), outside the timings."""
    return result.rows() if isinstance(result, pl.DataFrame) else result.to_list()


def to_scalar(name: str, series: pl.Series) -> int:
    """How many cells the column function sends to the scalar path."""
    keys = col._strings(series)
    if name == "name":
        return int((~(keys.str.contains(col._PLAIN_NAME_RE) | (keys == ""))).sum())
    if name == "id_number":
        return int(
            (
                ~col._id_frame(keys, datetime.date.today().strftime("%Y%m%d")).get_column("fast")
            ).sum()
        )
    if name == "phone":
        return int((~keys.str.contains(col._PHONE_CHARACTERS)).sum())
    if name == "plate":
        return int((~keys.str.contains(col._PLATE_CHARACTERS)).sum())
    return len(keys)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, help="generated files to read (default: generate)")
    parser.add_argument("--drivers", type=int, default=80_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="chelun-bench-columns-") as scratch:
        folder = args.folder
        if folder is None:
            folder = Path(scratch)
            start = time.perf_counter()
            generate_province(folder, "32", args.drivers, seed=args.seed, spreadsheet=False)
            print(
                f"generated {args.drivers:,} drivers of province 32 "
                f"in {time.perf_counter() - start:.1f} s (not timed below)"
            )
        start = time.perf_counter()
        sources = read_sources(folder)
        print(
            f"read {len(sources)} files, {sum(len(s.rows) for s in sources):,} rows, "
            f"in {time.perf_counter() - start:.1f} s (not timed below)"
        )
        run(sources, args.repeat)


def run(sources: list[Source], repeat: int) -> None:
    totals = {name: Figures() for name in FIELDS}
    for source in sources:
        for name in FIELDS:
            measured = measure(source, name, repeat)
            if measured is None:
                continue
            figures, same = measured
            total = totals[name]
            total.cells += figures.cells
            total.scalar += figures.scalar
            total.build += figures.build
            total.columns += figures.columns
            total.to_scalar += figures.to_scalar
            total.same &= same
            total.parts.append(source.path.stem)
    header = (
        f"{'field':<10} {'files':>5} {'cells':>9} {'scalar ms':>10} {'columns ms':>11} "
        f"{'(build ms)':>10} {'speed-up':>8} {'to scalar':>9} {'same':>5}"
    )
    print(f"\nbest of {repeat}; columns include building the Series (build shown apart)\n")
    print(header)
    print("-" * len(header))
    grand = Figures()
    for name in FIELDS:
        t = totals[name]
        if not t.cells:
            continue
        print(
            f"{name:<10} {len(t.parts):>5} {t.cells:>9,} {t.scalar * 1e3:>10.1f} "
            f"{t.columns * 1e3:>11.1f} {t.build * 1e3:>10.1f} {t.scalar / t.columns:>7.1f}x "
            f"{t.to_scalar / t.cells:>8.2%} {'yes' if t.same else 'NO':>5}"
        )
        grand.cells += t.cells
        grand.scalar += t.scalar
        grand.columns += t.columns
        grand.build += t.build
        grand.same &= t.same
    print("-" * len(header))
    print(
        f"{'total':<10} {'':>5} {grand.cells:>9,} {grand.scalar * 1e3:>10.1f} "
        f"{grand.columns * 1e3:>11.1f} {grand.build * 1e3:>10.1f} "
        f"{grand.scalar / grand.columns:>7.1f}x {'':>9} {'yes' if grand.same else 'NO':>5}"
    )
    print(
        "\n'to scalar': share of cells sent to the scalar path (member and uscc: all, once per "
        "distinct value)"
    )


if __name__ == "__main__":
    main()
