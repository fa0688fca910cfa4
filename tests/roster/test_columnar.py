"""Staging a column at a time gives exactly the rows of staging row by row."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from chelun.demo.roster import Messiness, generate_province
from chelun.plugin_manager import PluginHost
from chelun.roster import staging
from chelun.roster.columnar import WHITESPACE, columnar_records
from chelun.roster.service import RosterIntake, source_profiles
from chelun.roster.staging import SourceInput, record_rows
from chelun.settings import Settings
from chelun.sources.profiles import detect
from chelun.sources.readers import open_table
from chelun.storage.db import Database
from chelun.storage.tables import SourceFile, SourceRecord


def test_whitespace_is_what_str_strip_removes() -> None:
    spaces = "".join(c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace())
    assert sorted(WHITESPACE) == sorted(spaces)


def _profiles(province: str) -> list:
    return source_profiles(PluginHost(Settings(), entry_points=False).manager(province))


def _compare(path: Path, province: str, source: str, profiles: list) -> int:
    """Both paths over one file: the same tuples, the same blank rows; the rows compared."""
    with open_table(path) as table:
        columns = detect(table.headers, profiles, str(path))
        slow = list(record_rows(province, source, "run1", columns, table.rows()))
        blank = table.blank_rows
    with open_table(path) as table:
        lines = table.clean_lines()
        assert lines is not None, f"{source} is not clean"
        records = columnar_records(
            lines,
            province=province,
            source=source,
            run="run1",
            columns=columns,
            delimiter=table.delimiter,
            headers=len(table.headers),
        )
    assert records is not None, f"{source} has ragged rows"
    # Small chunks, so that the chunked normalisation is what is compared.
    fast = [row for frame in records.frames(chunk=97) for row in frame.rows()]
    assert fast == [row for batch in records.batches(50) for row in batch]
    assert len(fast) == len(slow)
    for a, b in zip(slow, fast, strict=True):
        differ = [staging.COLUMNS[i] for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        assert a == b, f"{source} row {a[2]}: {differ}"
    assert records.blank_rows == blank
    return len(fast)


@pytest.mark.parametrize(
    ("province", "seed", "messiness"),
    [
        ("32", 1, Messiness()),
        ("51", 2, Messiness()),
        ("62", 3, Messiness.off()),
        ("52", 4, Messiness(id_typo=0.2, junk=0.1, duplicate=0.2, phone_format=0.6)),
    ],
)
def test_the_demo_files_stage_the_same_either_way(
    tmp_path: Path, province: str, seed: int, messiness: Messiness
) -> None:
    profiles = _profiles(province)
    sources = generate_province(
        tmp_path, province, 1500, seed=seed, spreadsheet=False, messiness=messiness
    )
    assert sum(_compare(s.path, province, s.name, profiles) for s in sources) > 1500


_ID = st.one_of(
    st.from_regex(r"[1-6][0-9]{16}[0-9Xx]", fullmatch=True),
    st.from_regex(r"[1-6][0-9]{14}", fullmatch=True),
    st.text(alphabet=st.sampled_from(list("0123456789X -")), max_size=90),
    st.sampled_from(
        [
            "110101199001011237",
            "11010119900101123x",
            "110101 19900101 1237",
            "１１０１０１１９９００１０１１２３７",
            "110101199002301237",
            "990101199001011237",
            "",
            "1101011990010112",
            "unknown",
        ]
    ),
)
_PHONE = st.one_of(
    st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
    st.sampled_from(["+86 138 0013 8000", "138-0013-8000", "0086 13800138000", "12345", ""]),
)
_PLATE = st.sampled_from(["苏A12345", "苏a12345", "川AD12345", "甘A1234挂", "苏A·12345", "XX", ""])
_NAME = st.one_of(
    st.sampled_from(["张伟", "張偉", "张 伟", "阿依古丽·买买提", "李.娜", "", "Li Na", "王五"]),
    st.text(alphabet=st.sampled_from(list("张伟李娜王 ·\\\t")), max_size=120),
)
_TEXT = st.text(
    alphabet=st.sampled_from(list("某某运输有限公司 \\\t-·aZ09") + ["\u3000"]), max_size=300
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(_NAME, _ID, _PHONE, _PLATE, _TEXT, _TEXT, st.sampled_from(["是", "否", "", "1"])),
        min_size=1,
        max_size=25,
    )
)
def test_any_clean_village_file_stages_the_same_either_way(
    tmp_path: Path, rows: list[tuple[str, ...]]
) -> None:
    header = "姓名,身份证号,电话,车牌,所属企业,备注,是否党员"
    lines = [header, *(",".join(cell.replace(",", "") for cell in row) for row in rows)]
    path = tmp_path / "village.csv"
    path.write_bytes("\r\n".join(lines).encode("gb18030"))
    _compare(path, "32", "village", _profiles("32"))


def _stored(database: Database, province: str) -> tuple[list, list]:
    with database.session() as session:
        records = session.execute(
            select(SourceRecord).where(SourceRecord.province == province)
        ).scalars()
        rows = sorted(
            tuple(getattr(r, c) for c in staging.COLUMNS if c != "staged_run") for r in records
        )
        files = sorted(
            (f.name, f.rows, f.blank_rows, f.status)
            for f in session.execute(select(SourceFile)).scalars()
        )
    return rows, files


def test_an_intake_stores_the_same_either_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: Database
) -> None:
    """Row by row into SQLite, then a column at a time into SQLite or PostgreSQL (by COPY):
    the same records and file accounts."""
    sources = generate_province(tmp_path / "in", "52", 800, seed=5, spreadsheet=False)
    # A ragged file: one row has a cell too many, so the file is read row by row.
    village = next(s for s in sources if s.name == "village")
    text = village.path.read_bytes()
    village.path.write_bytes(text + "王五,110101199001011237,,,,,,,,extra\r\n".encode("gbk"))
    inputs = [SourceInput(s.name, s.path) for s in sources]
    stored = []
    reference = Database(f"sqlite:///{tmp_path / 'rows.db'}")
    reference.ensure_schema()
    for columnar, target in ((False, reference), (True, database)):
        monkeypatch.setattr(staging, "COLUMNAR", columnar)
        host = PluginHost(Settings(), entry_points=False)
        RosterIntake(target, host.manager("52"), "52", actor="test").run(inputs, workers=1)
        stored.append(_stored(target, "52"))
    reference.dispose()
    assert stored[0] == stored[1]
    assert len(stored[0][0]) > 1500


def test_a_failure_of_the_columnar_path_falls_back_without_quoting_a_cell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import polars as pl

    from chelun.roster import columnar

    sources = generate_province(tmp_path / "in", "62", 300, seed=9, spreadsheet=False)
    inputs = [SourceInput(s.name, s.path) for s in sources]
    real = columnar._records
    calls = {"n": 0}

    def failing(chunk: pl.DataFrame, **kwargs: object) -> pl.DataFrame:
        calls["n"] += 1
        if calls["n"] == 2:  # after the first file's rows were stored
            raise pl.exceptions.ComputeError("cell 620102199001011234 is odd")
        return real(chunk, **kwargs)

    stored = []
    for broken in (False, True):
        if broken:
            monkeypatch.setattr(columnar, "_records", failing)
        database = Database(f"sqlite:///{tmp_path / f'{broken}.db'}")
        database.ensure_schema()
        host = PluginHost(Settings(), entry_points=False)
        RosterIntake(database, host.manager("62"), "62", actor="test").run(inputs, workers=1)
        stored.append(_stored(database, "62"))
        database.dispose()
    assert stored[0] == stored[1]
    warned = [r for r in caplog.records if "row by row" in r.getMessage()]
    assert len(warned) == 1 and "ComputeError" in warned[0].getMessage()
    assert "620102199001011234" not in caplog.text
