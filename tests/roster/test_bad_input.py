"""Bad input never crashes intake: it says what it could not read and where, and loses no row.

Every file is either rejected as a whole (SourceReadError or ProfileError, naming the file) or
staged and linked so that each row it read is on the roster or in quarantine. No message
quotes a cell of the file: cells are personal data.
"""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pluggy
import pytest
import xlsxwriter
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from typer.testing import CliRunner

from chelun.cli import app
from chelun.demo.roster import generate_province
from chelun.plugin_manager import PluginHost
from chelun.roster.export import export_quarantine
from chelun.roster.service import RosterIntake
from chelun.roster.staging import SourceInput
from chelun.settings import Settings
from chelun.sources.profiles import ProfileError
from chelun.sources.readers import SourceReadError, open_table
from chelun.storage.db import Database

PROVINCE = "62"
POLICE_HEADERS = ["姓名", "公民身份号码", "准驾车型", "联系电话", "住址"]
runner = CliRunner()


# --------------------------------------------------------------------------- shared set-up


@dataclass(frozen=True)
class Kit:
    """What every example needs: a migrated empty database to copy, and the plugin manager."""

    template: Path
    pm: pluggy.PluginManager


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Kit:
    template = tmp_path_factory.mktemp("bad-input-db") / "template.db"
    database = Database(f"sqlite:///{template}")
    database.ensure_schema()
    database.dispose()
    pm = PluginHost(Settings(), entry_points=False).manager(PROVINCE)
    return Kit(template, pm)


@dataclass(frozen=True)
class Ingested:
    """A staged and linked source: its account and the quarantine reasons stored for it."""

    rows_in: int
    on_roster: int
    quarantined: int
    reasons: list[str]


def ingest(kit: Kit, folder: Path, source: SourceInput) -> Ingested:
    """Stage and link one source on a fresh copy of the empty database in ``folder``."""
    copy = folder / "chelun.db"
    shutil.copyfile(kit.template, copy)
    database = Database(f"sqlite:///{copy}")
    try:
        intake = RosterIntake(database, kit.pm, PROVINCE, actor="user:test")
        intake.stage(source)
        intake.link()
        [account] = intake.accounts()
        buffer = io.StringIO()
        export_quarantine(database, PROVINCE, buffer)
        with database.connect() as connection:
            stored, unaccounted = connection.execute(
                text(
                    "SELECT COUNT(*), SUM(CASE WHEN (driver_key IS NULL) = (quarantine IS NULL) "
                    "THEN 1 ELSE 0 END) FROM source_record"
                )
            ).one()
    finally:
        database.dispose()
    assert account.source == source.name
    assert account.balanced, account
    # Each row once, and on the roster or in quarantine: never both, never neither.
    assert (stored, unaccounted or 0) == (account.rows_in, 0)
    reasons = [row["reason"] for row in csv.DictReader(io.StringIO(buffer.getvalue()))]
    assert len(reasons) == account.quarantined
    return Ingested(account.rows_in, account.on_roster, account.quarantined, reasons)


def personal_values(cells: Iterable[str]) -> set[str]:
    """Cell values that could identify someone if a message quoted them.

    Longer than 3 characters and holding a character outside ASCII (names, addresses, plates)
    or at least 6 digits (ID and phone numbers). Plain ASCII words are left out: a message's own
    English wording holds them ("enti" is in "identifies").
    """
    values = {cell.strip() for cell in cells}
    return {
        v
        for v in values
        if len(v) > 3
        and v not in POLICE_HEADERS
        and (not v.isascii() or sum(c.isdigit() for c in v) >= 6)
    }


def assert_nothing_personal(message: str, values: set[str], path: Path) -> None:
    text = message.replace(str(path), "<file>")
    leaked = sorted(v for v in values if v in text)
    assert not leaked, f"the message quotes cells {leaked!r}: {message!r}"


def assert_rejected_clearly(error: Exception, path: Path, values: set[str]) -> None:
    assert isinstance(error, SourceReadError | ProfileError)
    assert str(path) in str(error), f"the message does not name the file: {error}"
    assert_nothing_personal(str(error), values, path)


# --------------------------------------------------------------------------- A: arbitrary rows


def expected_records(text: str) -> int:
    """Non-blank records after the header, as the csv module reads the written text back.

    The reader drops U+FEFF anywhere (byte-order marks of concatenated exports) and strips
    cells; blank records count in row numbers but are not rows.
    """
    records = list(csv.reader(io.StringIO(text.replace("\ufeff", ""), newline="")))
    assert records and records[0] == POLICE_HEADERS
    return sum(1 for record in records[1:] if any(cell.strip() for cell in record))


CJK = st.sampled_from("张王李赵伟芳娜强兰州市城关区甘肃省號碼１２３ＡＢ·、，。：0123456789X")
cells = st.one_of(
    st.text(max_size=30),
    st.text(CJK, max_size=12),
    # Control characters, spaces, quotes and line breaks, alone in a cell.
    st.sampled_from(
        ["", " ", "\u3000", '"', "\r\n", "\n", "\r", "\ufeff", ",", "\x00", "\x07", "\x1b", "\x85"]
    ),
    st.text(st.characters(categories=["Cc"]), max_size=3),
    # A huge cell: up to about 5,000 characters.
    st.builds(
        lambda piece, n: (piece * n)[:5000], st.text(min_size=1, max_size=8), st.integers(100, 5000)
    ),
)
rows = st.lists(st.lists(cells, max_size=8), max_size=25)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    rows=rows,
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]),
    terminator=st.sampled_from(["\r\n", "\n"]),
)
@example(
    rows=[["张伟", "620102198001011234", "A2", "13800138000", "兰州"]],
    encoding="utf-8",
    terminator="\r\n",
)
@example(
    rows=[["\n"], [], [""], ["张三\r\n", "", "A2"], ["李 四"]],
    encoding="gb18030",
    terminator="\r\n",
)
@example(rows=[["\n"], ["张三\r\n", "", "A2"]], encoding="utf-8", terminator="\n")
def test_arbitrary_rows_are_read_or_rejected_and_every_row_read_is_accounted_for(
    kit: Kit, rows: list[list[str]], encoding: str, terminator: str
) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=terminator)
    writer.writerow(POLICE_HEADERS)
    writer.writerows(rows)
    data = buffer.getvalue().encode(encoding, errors="replace")
    written = data.decode(encoding)  # what the file holds, after any replacement
    values = personal_values(cell for row in rows for cell in row)
    with tempfile.TemporaryDirectory(prefix="chelun-bad-rows-") as folder:
        path = Path(folder) / "police.csv"
        path.write_bytes(data)
        try:
            done = ingest(kit, Path(folder), SourceInput("police", path))
        except (SourceReadError, ProfileError) as error:
            event(f"rejected: {type(error).__name__}: {str(error).replace(str(path), '')[:70]}")
            assert_rejected_clearly(error, path, values)
            return
    event("read")
    spans_lines = any("\r" in cell or "\n" in cell for row in rows for cell in row)
    if "\x00" in written and spans_lines:
        # A line with a NUL byte is a damaged row of its own; a record running over several
        # lines is then cut, so the csv module's count of records does not apply.
        event("NUL inside a record of several lines: accounts only")
    else:
        assert done.rows_in == expected_records(written)
    for reason in done.reasons:
        assert_nothing_personal(reason, values, path)


# --------------------------------------------------------------------------- B: damaged files


@dataclass(frozen=True)
class Originals:
    paths: dict[str, Path]
    files: dict[str, bytes]
    values: set[str]


@pytest.fixture(scope="module")
def originals(tmp_path_factory: pytest.TempPathFactory) -> Originals:
    folder = tmp_path_factory.mktemp("bad-input-pilot")
    sources = generate_province(folder, PROVINCE, 300, seed=5)
    files = {s.path.name: s.path.read_bytes() for s in sources}
    assert {"transport.csv", "police.xlsx", "village.csv", "party.csv"} <= set(files)
    values: set[str] = set()
    for source in sources:
        with open_table(source.path) as table:
            values |= personal_values(
                cell for row in table.rows() if row.cells for cell in row.cells
            )
    return Originals({s.path.name: s.path for s in sources}, files, values)


DAMAGED = ["transport.csv", "police.xlsx", "village.csv"]


@st.composite
def damaged_file(draw: st.DrawFn, files: dict[str, bytes]) -> tuple[str, bytes, list[str]]:
    name = draw(st.sampled_from(DAMAGED))
    data = files[name]
    done: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["truncate", "overwrite", "splice", "append", "header"]))
        if kind == "header":
            # The first line lost, or replaced by a title: the rows are all that is left.
            end = data.find(b"\n") + 1
            data = draw(st.sampled_from([b"", "名单\r\n".encode("gb18030")])) + data[end:]
        elif kind == "truncate":
            at = draw(st.integers(0, len(data)))
            data = data[:at]
        elif kind == "overwrite":
            start = draw(st.integers(0, max(len(data) - 1, 0)))
            junk = draw(st.binary(min_size=1, max_size=256))
            data = data[:start] + junk + data[start + len(junk) :]
        elif kind == "splice":
            other = files[draw(st.sampled_from(sorted(set(files) - {name} - {"truth.csv"})))]
            start = draw(st.integers(0, len(other) - 1))
            piece = other[start : start + draw(st.integers(1, 4096))]
            at = draw(st.integers(0, len(data)))
            cut = draw(st.integers(0, len(piece)))  # bytes of the file the piece replaces
            data = data[:at] + piece + data[at + cut :]
        else:
            data = data + draw(st.binary(min_size=1, max_size=2048))
        done.append(kind)
    return name, data, done


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_damaged_files_are_rejected_clearly_or_read_with_every_row_accounted_for(
    kit: Kit, originals: Originals, data: st.DataObject
) -> None:
    name, damaged, kinds = data.draw(damaged_file(originals.files))
    event(f"{name}: {'+'.join(kinds)}")
    source = name.split(".")[0]
    with tempfile.TemporaryDirectory(prefix="chelun-damaged-") as folder:
        path = Path(folder) / name
        path.write_bytes(damaged)
        try:
            done = ingest(kit, Path(folder), SourceInput(source, path))
        except (SourceReadError, ProfileError) as error:
            event(f"rejected: {type(error).__name__}: {str(error).replace(str(path), '')[:70]}")
            assert_rejected_clearly(error, path, originals.values)
            return
    event("read")
    for reason in done.reasons:
        assert_nothing_personal(reason, originals.values, path)


@pytest.mark.parametrize("name", DAMAGED)
@pytest.mark.parametrize("title", [b"", b"list of drivers\r\n"])
def test_a_file_without_its_header_row_is_rejected_without_quoting_its_rows(
    kit: Kit, originals: Originals, tmp_path: Path, name: str, title: bytes
) -> None:
    path = tmp_path / name
    data = originals.files[name]
    if name.endswith(".xlsx"):
        # The sheet's first row gone: the original's rows written without it.
        with open_table(originals.paths[name]) as table:
            records = [row.cells for row in table.rows() if row.cells]
        workbook = xlsxwriter.Workbook(str(path))
        sheet = workbook.add_worksheet()
        if title:
            sheet.write_string(0, 0, title.decode().strip())
        for r, cells in enumerate(records, start=1 if title else 0):
            for c, value in enumerate(cells):
                sheet.write_string(r, c, value)
        workbook.close()
    else:
        path.write_bytes(title + data[data.find(b"\n") + 1 :])
    with pytest.raises(ProfileError) as raised:
        ingest(kit, tmp_path, SourceInput(name.split(".")[0], path))
    assert_rejected_clearly(raised.value, path, originals.values)
    assert "--map" in str(raised.value)


# --------------------------------------------------------------------------- the CLI


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def test_cli_rejects_broken_files_without_traceback_and_keeps_the_roster(
    tmp_path: Path, _chelun_home: Path
) -> None:
    sources = generate_province(tmp_path / "pilot", PROVINCE, 200, seed=9)
    by_name = {s.name: s.path for s in sources}
    first = invoke("intake", "--province", PROVINCE, *(f"{n}={p}" for n, p in by_name.items()))
    assert first.exit_code == 0, first.output
    before = invoke("roster", "export", "--province", PROVINCE, "--reveal")
    assert before.exit_code == 0 and before.stdout.count("\n") > 100
    quarantined = invoke("roster", "quarantine", "--province", PROVINCE)
    with open_table(by_name["police"]) as table:
        values = personal_values(cell for row in table.rows() if row.cells for cell in row.cells)

    police = by_name["police"].read_bytes()
    truncated = tmp_path / "truncated.xlsx"
    truncated.write_bytes(police[: len(police) * 2 // 3])
    junk = tmp_path / "junk.csv"
    junk.write_bytes(bytes(range(256)) * 16 + police[:4096])
    for source, broken in (("police", truncated), ("transport", junk)):
        # The broken file comes after a good one that is unchanged, as a re-run would have it.
        result = invoke(
            "intake", "--province", PROVINCE, f"village={by_name['village']}", f"{source}={broken}"
        )
        assert result.exit_code == 1, result.output
        assert str(broken) in result.output
        assert "Traceback" not in result.output
        assert_nothing_personal(result.output, values, broken)
        assert result.exc_info is None or result.exc_info[0] is SystemExit

        after = invoke("roster", "export", "--province", PROVINCE, "--reveal")
        assert after.exit_code == 0
        assert after.stdout == before.stdout
        assert invoke("roster", "quarantine", "--province", PROVINCE).stdout == quarantined.stdout
