"""Hostile and broken files cost the broken row, never the file, the memory or the privacy.

Spreadsheets are read by python-calamine, which builds a whole sheet in memory before the first
row and aborts the process when an allocation fails. Bombs are built here with zipfile, their
XML written by hand and streamed, so the test process never holds them; they are opened in a
child process with a 1 GiB address-space limit, whose peak memory and time are measured.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import xlsxwriter

from chelun.sources import readers
from chelun.sources.readers import FIELD_LIMIT, Row, SourceReadError, open_table

from .test_readers import write_xls, xls_record

MAIN = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = b"http://schemas.openxmlformats.org/package/2006/relationships"
DOC = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships"
OFFICE = "urn:oasis:names:tc:opendocument:xmlns"
MIB = 1 << 20


# --------------------------------------------------------------------------- building files


def column_letters(number: int) -> str:
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def write_part(archive: zipfile.ZipFile, name: str, chunks: Iterable[bytes]) -> None:
    """Stream a part into the archive: it is never whole in memory."""
    with archive.open(name, "w", force_zip64=True) as part:
        for chunk in chunks:
            part.write(chunk)


def write_xlsx(
    path: Path,
    sheet: Iterable[bytes],
    strings: Iterable[bytes] | None = None,
    level: int | None = None,
) -> Path:
    """A minimal XLSX: the parts calamine reads, the sheet and shared strings as given."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        archive.writestr(
            "[Content_Types].xml",
            b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            b'content-types"><Default Extension="rels" ContentType="application/vnd.openxml'
            b'formats-package.relationships+xml"/><Default Extension="xml" ContentType='
            b'"application/xml"/></Types>',
        )
        archive.writestr(
            "_rels/.rels",
            b'<?xml version="1.0"?><Relationships xmlns="' + RELS + b'"><Relationship Id="rId1" '
            b'Type="' + DOC + b'/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        archive.writestr(
            "xl/workbook.xml",
            b'<?xml version="1.0"?><workbook xmlns="' + MAIN + b'" xmlns:r="' + DOC + b'">'
            b'<sheets><sheet name="\xe5\x90\x8d\xe5\x8d\x95" sheetId="1" r:id="rId1"/></sheets>'
            b"</workbook>",
        )
        targets = b'<Relationship Id="rId1" Type="' + DOC + b'/worksheet" '
        targets += b'Target="worksheets/sheet1.xml"/>'
        if strings is not None:
            targets += b'<Relationship Id="rId2" Type="' + DOC + b'/sharedStrings" '
            targets += b'Target="sharedStrings.xml"/>'
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            b'<?xml version="1.0"?><Relationships xmlns="'
            + RELS
            + b'">'
            + targets
            + b"</Relationships>",
        )
        write_part(archive, "xl/worksheets/sheet1.xml", sheet)
        if strings is not None:
            write_part(archive, "xl/sharedStrings.xml", strings)
    return path


def state_size(path: Path, name: str, size: int) -> None:
    """Make the ZIP's table of contents state ``size`` as the part's uncompressed size."""
    data = bytearray(path.read_bytes())
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        (length,) = struct.unpack_from("<H", data, at + 28)
        if data[at + 46 : at + 46 + length] == name.encode():
            struct.pack_into("<L", data, at + 24, size)
            path.write_bytes(bytes(data))
            return
        at = data.find(b"PK\x01\x02", at + 46)
    raise AssertionError(f"no {name} in {path}")


def sheet_xml(rows: Iterable[bytes], dimension: str | None = None) -> Iterator[bytes]:
    yield b'<?xml version="1.0"?><worksheet xmlns="' + MAIN + b'">'
    if dimension:
        yield f'<dimension ref="{dimension}"/>'.encode()
    yield b"<sheetData>"
    yield from rows
    yield b"</sheetData></worksheet>"


def inline(ref: str, text: str) -> bytes:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'.encode()


HEADER_ROW = b'<row r="1">' + inline("A1", "姓名") + inline("B1", "身份证号") + b"</row>"
SHARED_HEADER = b'<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
DRIVER_ROW = b'<row r="2">' + inline("A2", "张三") + inline("B2", "110101199003071234") + b"</row>"


def shared_strings(strings: Iterable[bytes], count: int) -> Iterator[bytes]:
    yield f'<?xml version="1.0"?><sst xmlns="{MAIN.decode()}" uniqueCount="{count}">'.encode()
    for text in strings:
        yield b"<si><t>" + text + b"</t></si>"
    yield b"</sst>"


def write_ods(path: Path, rows: str) -> Path:
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        f'xmlns:office="{OFFICE}:office:1.0" xmlns:table="{OFFICE}:table:1.0" '
        f'xmlns:text="{OFFICE}:text:1.0"><office:body><office:spreadsheet>'
        f'<table:table table:name="名单">{rows}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        f'<manifest:manifest xmlns:manifest="{OFFICE}:manifest:1.0">'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "mimetype", "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED
        )
        archive.writestr("content.xml", content)
        archive.writestr("META-INF/manifest.xml", manifest)
    return path


def ods_row(cells: str, repeated: int = 1) -> str:
    times = f' table:number-rows-repeated="{repeated}"' if repeated > 1 else ""
    return f"<table:table-row{times}>{cells}</table:table-row>"


def ods_cell(text: str, repeated: int = 1) -> str:
    times = f' table:number-columns-repeated="{repeated}"' if repeated > 1 else ""
    return (
        f'<table:table-cell{times} office:value-type="string"><text:p>{text}</text:p>'
        "</table:table-cell>"
    )


XLS_ROWS: list[list[str | float | None]] = [["姓名", "身份证号"], ["张三", "110101199003071234"]]
ODS_HEADER = ods_row(ods_cell("姓名") + ods_cell("身份证号"))
EMPTY_RUN = '<table:table-cell table:number-columns-repeated="16000"/>'


# --------------------------------------------------------------------------- reading in a child

CHILD = """
import json, resource, sys
limit = int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from chelun.sources.readers import SourceReadError, open_table
def peak_kb():
    # This process's own peak (its address space's), not the parent's it was forked from.
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
try:
    with open_table(sys.argv[1]) as table:
        rows = list(table.rows())
    answer = {"rows": len(rows), "problems": [r.problem for r in rows if r.problem]}
except SourceReadError as error:
    answer = {"error": str(error)}
print(json.dumps({**answer, "peak_kb": peak_kb()}))
"""


@dataclass(frozen=True)
class Outcome:
    status: int  # as os.wait4 gives it: 0 for a clean exit
    peak_mb: float
    seconds: float
    result: dict[str, object]
    stderr: str


def read_in_child(path: Path, limit: int = 1 << 30) -> Outcome:
    """open_table and all rows, in a child limited to ``limit`` bytes of address space."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as errors:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path), str(limit)],
            stdout=subprocess.PIPE,
            stderr=errors,
        )
        watchdog = threading.Timer(60, child.kill)
        watchdog.start()
        try:
            assert child.stdout is not None
            out = child.stdout.read()
            child.stdout.close()
            # Reaped here rather than by Popen, to have its resource usage.
            _, status, usage = os.wait4(child.pid, 0)
            child.returncode = status
        finally:
            watchdog.cancel()
        errors.seek(0)
        err = errors.read()[-2000:].decode(errors="replace")
    lines = out.decode().strip().splitlines()
    result = json.loads(lines[-1]) if lines else {}
    # ru_maxrss of a child also counts the pages of the parent it was forked from (a large
    # pytest process): the child's own VmHWM is its peak when it got as far as printing it.
    peak = result.get("peak_kb", usage.ru_maxrss)
    return Outcome(status, peak / 1024, time.monotonic() - started, result, err)


def refused(path: Path, *words: str) -> str:
    """The file is refused with a SourceReadError, quickly and in little memory."""
    outcome = read_in_child(path)
    assert outcome.status == 0, f"the child died ({outcome.status}): {outcome.stderr}"
    message = str(outcome.result.get("error", ""))
    assert message.startswith(f"{path}: "), outcome
    for word in words:
        assert word in message, message
    assert outcome.peak_mb < 500, outcome
    assert outcome.seconds < 5, outcome
    assert "张三" not in message and "110101199003071234" not in message
    return message


def read_ok(path: Path) -> tuple[list[Row], int]:
    with open_table(path) as table:
        rows = list(table.rows())
    return rows, table.blank_rows


# --------------------------------------------------------------------------- XLSX bombs


def test_sheet_whose_used_range_is_the_whole_grid(tmp_path: Path) -> None:
    # Excel's own record of a stray value typed at the last cell: the dimension says so, and
    # there is the cell. calamine built the grid: 512 GiB, and the process aborted.
    far = b'<row r="1048576">' + inline("XFD1048576", "x") + b"</row>"
    path = write_xlsx(
        tmp_path / "名单.xlsx", sheet_xml([HEADER_ROW, DRIVER_ROW, far], "A1:XFD1048576")
    )
    message = refused(path, "1,048,576 rows and 16,384 columns", "50,000,000 cells", "Ctrl+End")
    assert "save it again" in message


@pytest.mark.parametrize("dimension", [None, "A1:B2"])
def test_far_cell_without_or_against_the_stated_range(
    tmp_path: Path, dimension: str | None
) -> None:
    # The grid is as big without a <dimension>, or with one that lies.
    far = b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    path = write_xlsx(tmp_path / "名单.xlsx", sheet_xml([HEADER_ROW, DRIVER_ROW, far], dimension))
    refused(path, "1,048,576 rows and 16,384 columns")


def test_cells_without_positions_are_placed_one_after_another(tmp_path: Path) -> None:
    # No r attributes: 20,000 cells in one row and a row r="5000" make a 100 million cell grid.
    wide = b"<row>" + b"<c><v>1</v></c>" * 20_000 + b"</row>"
    path = write_xlsx(
        tmp_path / "a.xlsx", sheet_xml([HEADER_ROW, wide, b'<row r="5000"><c><v>1</v></c></row>'])
    )
    refused(path, "5,001 rows and 20,003 columns", "more than 50,000,000 cells")


def test_one_gib_shared_string(tmp_path: Path) -> None:
    # 1 GiB of text packed into a few MB; calamine held it (and more) in memory.
    def strings() -> Iterator[bytes]:
        yield f'<?xml version="1.0"?><sst xmlns="{MAIN.decode()}" uniqueCount="3">'.encode()
        yield "<si><t>姓名</t></si><si><t>身份证号</t></si><si><t>".encode()
        block = b"x" * MIB
        for _ in range(1024):
            yield block
        yield b"</t></si></sst>"

    rows = b'<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
    rows += b'<row r="2"><c r="A2" t="s"><v>2</v></c></row>'
    path = write_xlsx(tmp_path / "a.xlsx", sheet_xml([rows], "A1:B2"), strings(), level=1)
    assert path.stat().st_size < 8 * MIB
    refused(path, "a ZIP bomb")


def test_a_million_cells_pointing_at_one_long_shared_string(tmp_path: Path) -> None:
    # Each cell gets its own copy of the 4 KiB string: 4 GiB from a file of a few MB.
    long = b"y" * 4096

    def rows() -> Iterator[bytes]:
        yield b'<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
        for r in range(2, 50_002):
            yield f'<row r="{r}">'.encode()
            yield "".join(
                f'<c r="{column_letters(c)}{r}" t="s"><v>2</v></c>' for c in range(1, 21)
            ).encode()
            yield b"</row>"

    strings = shared_strings(["姓名".encode(), "身份证号".encode(), long], 3)
    path = write_xlsx(tmp_path / "a.xlsx", sheet_xml(rows(), "A1:T50001"), strings)
    refused(path, "repeats shared strings")


def test_shared_strings_claiming_billions_of_entries(tmp_path: Path) -> None:
    # calamine set aside room for uniqueCount strings first: 2.4 TB for a file of 1 KB.
    strings = shared_strings(["姓名".encode(), "身份证号".encode()], 99_999_999_999)
    rows = b'<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
    path = write_xlsx(tmp_path / "a.xlsx", sheet_xml([rows], "A1:B1"), strings)
    refused(path, "claim 99,999,999,999 entries")


def test_shared_strings_counting_references_still_read(tmp_path: Path) -> None:
    # Some writers put the number of references in uniqueCount: harmless, and read.
    strings = shared_strings(["姓名".encode(), "身份证号".encode(), "张三".encode()], 60_000)
    rows = [
        SHARED_HEADER,
        *(f'<row r="{r}"><c r="A{r}" t="s"><v>2</v></c></row>'.encode() for r in range(2, 1002)),
    ]
    got, _ = read_ok(write_xlsx(tmp_path / "a.xlsx", sheet_xml(rows, "A1:B1001"), strings))
    assert len(got) == 1000 and got[0] == Row(1, ["张三", ""], None)


def test_a_part_bigger_than_its_zip_header_says(tmp_path: Path) -> None:
    # calamine reads a part to its real end; the headers' sizes are not to be trusted.
    def strings() -> Iterator[bytes]:
        yield f'<?xml version="1.0"?><sst xmlns="{MAIN.decode()}" uniqueCount="2">'.encode()
        yield "<si><t>姓名</t></si><si><t>".encode()
        for _ in range(64):
            yield b"z" * MIB
        yield b"</t></si></sst>"

    path = write_xlsx(tmp_path / "a.xlsx", sheet_xml([HEADER_ROW]), strings(), level=1)
    state_size(path, "xl/sharedStrings.xml", 1000)
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("xl/sharedStrings.xml").file_size == 1000
    refused(path, "the file is damaged or was made to harm")


def test_too_many_parts(tmp_path: Path) -> None:
    path = tmp_path / "a.xlsx"
    write_xlsx(path, sheet_xml([HEADER_ROW, DRIVER_ROW], "A1:B2"))
    with zipfile.ZipFile(path, "a") as archive:
        for i in range(readers._ZIP_PARTS_LIMIT + 1):
            archive.writestr(f"docProps/custom{i}.xml", b"")
    with pytest.raises(SourceReadError, match=r"parts \(at most 10,000\)"):
        read_ok(path)


# --------------------------------------------------------------------------- ODS bombs


@pytest.mark.parametrize(
    ("rows", "words"),
    [
        # A million copies of a row of 100 cells: the grid is 100 million cells.
        (ods_row(ods_cell("x", 100), 1_000_000), "more than 50,000,000 cells"),
        # Under the cell limit, but each copy copies its text: 20 million x 200 bytes.
        (ods_row(ods_cell("x" * 100, 20), 1_000_000), "bytes of text"),
        # Empty runs are written out when a cell follows them, for each row element.
        (ods_row(EMPTY_RUN + ods_cell("y")) * 5_000, "more than 50,000,000 cells"),
    ],
)
def test_ods_repeated_rows_and_cells(tmp_path: Path, rows: str, words: str) -> None:
    path = write_ods(tmp_path / "名单.ods", ODS_HEADER + rows)
    refused(path, words)


def test_ods_as_libreoffice_saves_it_is_read(tmp_path: Path) -> None:
    # Trailing empty rows and cells repeated to the sheet's end are not data.
    empty = '<table:table-cell table:number-columns-repeated="1022"/>'
    rows = (
        ODS_HEADER
        + ods_row(ods_cell("张三") + ods_cell("110101199003071234") + empty)
        + ods_row('<table:table-cell table:number-columns-repeated="1024"/>', 1_048_574)
    )
    rows_read, _ = read_ok(write_ods(tmp_path / "名单.ods", rows))
    assert rows_read == [Row(1, ["张三", "110101199003071234"], None)]


# --------------------------------------------------------------------------- XLS bombs


def sst_records(strings: list[str]) -> bytes:
    """An SST record of one-byte strings, cut into CONTINUE records as Excel does."""
    pieces = [struct.pack("<LL", len(strings), len(strings))]
    records: list[bytes] = []
    room = 8224 - len(pieces[0])
    for text in strings:
        data = text.encode("latin-1")
        if room < 4:
            records.append(b"".join(pieces))
            pieces, room = [], 8224
        pieces.append(struct.pack("<HB", len(data), 0))
        room -= 3
        while data:
            if room == 0:  # the rest of the characters, after their flags byte
                records.append(b"".join(pieces))
                pieces, room = [b"\x00"], 8223
            pieces.append(data[:room])
            room -= len(data[:room])
            data = data[len(pieces[-1]) :]
    records.append(b"".join(pieces))
    return xls_record(0x00FC, records[0]) + b"".join(xls_record(0x003C, r) for r in records[1:])


def test_xls_stating_billions_of_cells(tmp_path: Path) -> None:
    # calamine set aside room for the cells DIMENSIONS states: a 5 KB file, then an abort.
    dimensions = xls_record(0x0200, struct.pack("<LLHHH", 0, 1_000_000, 0, 16_000, 0))
    path = write_xls(tmp_path / "名单.xls", XLS_ROWS, dimensions)
    refused(path, "1,000,000 rows and 16,000 columns")


def test_xls_with_a_far_cell(tmp_path: Path) -> None:
    far = xls_record(0x0203, struct.pack("<HHHd", 65_535, 60_000, 0, 1.0))
    refused(write_xls(tmp_path / "名单.xls", XLS_ROWS, far), "more than 50,000,000 cells")


def test_xls_cells_pointing_at_one_long_shared_string(tmp_path: Path) -> None:
    # 20,000 cells x 65,535 characters: 1.3 GB of copies from a file of 300 KB.
    strings = sst_records(["姓名".encode().decode("latin-1"), "x" * 65_535])
    cells = b"".join(
        xls_record(0x00FD, struct.pack("<HHHL", 1 + i // 20, i % 20, 0, 1)) for i in range(20_000)
    )
    path = write_xls(tmp_path / "名单.xls", XLS_ROWS, cells, strings)
    refused(path, "repeat shared strings")


def test_xls_with_shared_strings_still_reads(tmp_path: Path) -> None:
    names = [f"司机{i}" for i in range(3000)]
    strings = sst_records([n.encode("utf-16-le").decode("latin-1") for n in names])
    cells = b"".join(
        xls_record(0x00FD, struct.pack("<HHHL", 2 + i, 0, 0, i)) for i in range(len(names))
    )
    with_sst = write_xls(tmp_path / "名单.xls", XLS_ROWS, cells, strings)
    rows, _ = read_ok(with_sst)
    assert len(rows) == 1 + len(names)


# --------------------------------------------------------------------------- real files pass


def test_real_workbooks_still_read(tmp_path: Path) -> None:
    path = tmp_path / "名单.xlsx"
    workbook = xlsxwriter.Workbook(path)
    sheet = workbook.add_worksheet("名单")
    sheet.write_row(0, 0, ["姓名", "身份证号", "备注"])
    for r in range(1, 3001):
        sheet.write_row(r, 0, [f"司机{r}", f"{110101199000000000 + r}", "白班" * (r % 3)])
    sheet.write_string(3001, 0, "尾")
    sheet.write_blank(3001, 30, None, workbook.add_format({"bold": True}))  # formatted blank
    workbook.close()
    rows, _ = read_ok(path)
    assert len(rows) == 3001 and rows[-1].cells == ["尾", "", ""]


def test_sheet_without_range_or_positions_is_measured_and_read(tmp_path: Path) -> None:
    header = '<row><c t="inlineStr"><is><t>姓名</t></is></c><c t="inlineStr"><is><t>身份证号'
    rows = [
        (header + "</t></is></c></row>").encode(),
        *(
            f'<row><c t="inlineStr"><is><t>x</t></is></c><c><v>{i}</v></c></row>'.encode()
            for i in range(500)
        ),
    ]
    got, _ = read_ok(write_xlsx(tmp_path / "a.xlsx", sheet_xml(rows)))
    assert len(got) == 500 and got[-1] == Row(500, ["x", "499"], None)


def test_a_cell_over_the_limit_costs_its_row(tmp_path: Path) -> None:
    long = "长" * (FIELD_LIMIT + 1)
    rows = [
        HEADER_ROW,
        b'<row r="2">' + inline("A2", "张三") + inline("B2", long) + b"</row>",
        b'<row r="3">' + inline("A3", "李四") + inline("B3", "31010419851231002X") + b"</row>",
    ]
    got, _ = read_ok(write_xlsx(tmp_path / "a.xlsx", sheet_xml(rows, "A1:B3")))
    assert got == [
        Row(1, None, f"cell in column 2 is longer than {FIELD_LIMIT} characters"),
        Row(2, ["李四", "31010419851231002X"], None),
    ]


def test_a_row_wider_than_any_sheet_costs_its_row(tmp_path: Path) -> None:
    # Column AAAA is 18,279: no spreadsheet has it, calamine reads it anyway.
    rows = [
        HEADER_ROW,
        b'<row r="2">' + inline("A2", "张三") + inline("AAAA2", "x") + b"</row>",
        b'<row r="3">' + inline("A3", "李四") + b"</row>",
    ]
    got, _ = read_ok(write_xlsx(tmp_path / "a.xlsx", sheet_xml(rows)))
    assert got == [
        Row(1, None, f"the row has more than {readers._ROW_CELLS_LIMIT} cells"),
        Row(2, ["李四", ""], None),
    ]


# --------------------------------------------------------------------------- broken CSV quoting


def drivers(count: int) -> list[list[str]]:
    return [[f"司机{i}", f"{110101199000000000 + i}", f"1380000{i:04d}"] for i in range(count)]


def test_stray_quote_in_a_large_csv_costs_one_row(tmp_path: Path) -> None:
    # Was: 2 rows, the second a "name" of 370,000 characters holding everyone's ID and phone.
    people = drivers(10_000)
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows([["姓名", "身份证号", "手机号"], *people])
    lines = text.getvalue().split("\r\n")
    lines[2] = '"' + lines[2]  # the second driver's line
    path = tmp_path / "名单.csv"
    path.write_bytes("\r\n".join(lines).encode("gb18030"))
    rows, _ = read_ok(path)
    assert len(rows) == 10_000
    assert rows[1].cells is None and rows[1].problem is not None
    assert "stray" in rows[1].problem and "司机1" not in rows[1].problem
    good = [r for r in rows if r.cells is not None]
    assert good == [Row(i + 1, cells, None) for i, cells in enumerate(people) if i != 1]


def test_huge_quoted_cell_with_line_breaks_keeps_the_last_row(tmp_path: Path) -> None:
    # A quoted cell of 70,000 lines; it ends on a line of its own, whose quote then opened a
    # cell that swallowed the real row after it.
    body = "\n".join("x" * 30 for _ in range(70_000))
    path = tmp_path / "a.csv"
    path.write_text(
        f'姓名,身份证号,备注\n张三,110101199003071234,"{body}\n"\n李四,31010419851231002X,无\n',
        encoding="utf-8",
    )
    rows, _ = read_ok(path)
    assert rows[0].cells is None and "stray" in (rows[0].problem or "")
    assert rows[-1] == Row(len(rows), ["李四", "31010419851231002X", "无"], None)
    # Every row holds at most one line of the file.
    assert all(r.cells is None or sum(map(len, r.cells)) <= 40 for r in rows[1:])


def test_stray_quote_that_a_later_quote_closes(tmp_path: Path) -> None:
    # The quote at row 2 pairs with the quote opening a cell 80 rows down: one row holding 80
    # people, unless the way that quoted cell closes is checked.
    people = drivers(200)
    lines = ["姓名,身份证号,手机号", *(",".join(p) for p in people)]
    lines[2] = '"' + lines[2]
    name, rest = lines[82].split(",", 1)
    lines[82] = f'"{name}",{rest}'
    path = tmp_path / "a.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows, _ = read_ok(path)
    widest = max(sum(map(len, r.cells)) for r in rows if r.cells)
    assert widest < 45, "a row holds more than one line of the file"
    assert [r.number for r in rows if r.problem] == [2]
    assert len(rows) == 200


def test_quote_open_at_the_end_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(
        '姓名,身份证号\n张三,"110101199003071234\n李四,31010419851231002X\n', encoding="utf-8"
    )
    rows, _ = read_ok(path)
    unclosed = "a quoted cell is not closed at the end of the file; a quote in it is probably stray"
    assert rows == [Row(1, None, unclosed), Row(2, ["李四", "31010419851231002X"], None)]


def test_cells_with_many_line_breaks_are_read_whole(tmp_path: Path) -> None:
    # Real multi-line cells: remarks, addresses. Lines without the delimiter do not count.
    remark = "\n".join(f"第{i}行，说明" for i in range(300))
    people = [["张三", "110101199003071234", remark], ["李四", "31010419851231002X", "a,\nb"]]
    path = tmp_path / "a.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["姓名", "身份证号", "备注"], *people])
    rows, _ = read_ok(path)
    assert rows == [Row(1, people[0], None), Row(2, people[1], None)]


# --------------------------------------------------------------------------- file names


def gbk_named(folder: Path, name: str, data: bytes) -> Path:
    """A file whose name is GBK bytes, as unpacked from a ZIP made on a Chinese Windows PC."""
    raw = os.fsencode(folder) + b"/" + name.encode("gbk")
    handle = os.open(raw, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(handle, data)
    finally:
        os.close(handle)
    return Path(os.fsdecode(raw))


def run_intake(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    chelun = Path(sys.executable).with_name("chelun")
    environment = {**os.environ, "CHELUN_HOME": str(home), "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [str(chelun), "intake", "--province", "62", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        env=environment,
        timeout=120,
    )


def test_intake_of_a_file_named_in_gbk(tmp_path: Path) -> None:
    # Was: UnicodeEncodeError (surrogates not allowed) storing the path in source_file.
    village = (
        "序号,姓名,身份证号,电话,车牌,是否党员,备注\n"
        "1,张三,110101199003071234,13800138000,京A12345,是,\n"
    )
    path = gbk_named(tmp_path, "张三名单.csv", village.encode("utf-8"))
    with pytest.raises(UnicodeEncodeError):
        str(path).encode("utf-8")  # the name really is not UTF-8
    home = tmp_path / "home"
    result = run_intake(home, f"village={path}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    with sqlite3.connect(home / "chelun.db") as connection:
        [(stored, rows)] = connection.execute("SELECT path, rows FROM source_file").fetchall()
    assert rows == 1
    assert stored == str(tmp_path) + "/\\xd5\\xc5\\xc8\\xfd\\xc3\\xfb\\xb5\\xa5.csv"


def test_a_broken_file_named_in_gbk_is_refused_with_its_name(tmp_path: Path) -> None:
    path = gbk_named(tmp_path, "坏名单.csv", b"\x00\x01binary" * 100)
    result = run_intake(tmp_path / "home", f"village={path}")
    assert result.returncode == 1, result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert "\\xbb\\xb5\\xc3\\xfb\\xb5\\xa5.csv" in output.replace("\n", "")
    with pytest.raises(SourceReadError) as raised:
        open_table(path)
    str(raised.value).encode("utf-8")  # printable and storable
    assert raised.value.path == path  # the real name, to open the file with
