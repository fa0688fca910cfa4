"""Hostile and broken files: what reading each one costs, in time and memory, and what comes out.

    python bench/hostile_files.py                      # open_table + every row, in a child each
    python bench/hostile_files.py --intake             # RosterIntake.stage + link into SQLite
    python bench/hostile_files.py --only stray-quote dimension-bomb --limit-gb 2
    python bench/hostile_files.py --workdir bench/out/hostile --keep

A benchmark, not a test: it always exits 0 (bar a crash of its own) and prints, for each file,
its size, the wall time and peak RSS of the child that read it (``ru_maxrss`` from
``os.wait4``, that child's alone), and the outcome: the rows read (and how many were problem
rows), the SourceReadError, or how the child died. Each child runs under an address-space limit
(``--limit-gb``, default 8; 0 for none) so that a reader without the guards fails there rather
than take the machine's memory; to see the old behaviour, run with ``PYTHONPATH`` pointing at a
copy of the old ``chelun`` package.

The files are built in ``--workdir`` (a temporary folder by default) with their XML written by
hand and streamed into the ZIP, so building never holds them in memory:

- stray-quote.csv: 10,000 drivers, a stray '"' at the start of the second row
- quoted-50mb-cell.csv: a remark of 50 MB over 520,000 lines, whose closing quote starts a line,
  then one more driver
- dimension-bomb.xlsx: a sheet whose range is A1:XFD1048576, with a value in XFD1048576
- shared-string-1gib.xlsx: one shared string of 1 GiB (about 1 MB packed)
- million-cells.xlsx: 1,000,000 cells that each use one shared string of 4 KiB
- unique-count.xlsx: shared strings that claim 99,999,999,999 entries
- ods-repeats.ods: a row of 100 cells repeated a million times (a few hundred bytes)
- xls-dimensions.xls: an XLS sheet stating 1,000,000 rows x 16,000 columns
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIB = 1 << 20
MAIN = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = b"http://schemas.openxmlformats.org/package/2006/relationships"
DOC = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships"
OFFICE = "urn:oasis:names:tc:opendocument:xmlns"
VILLAGE = "序号,姓名,身份证号,电话,车牌,是否党员,备注"


# --------------------------------------------------------------------------- the files


def check_digit(first17: str) -> str:
    value = (1 - 2 * int(first17, 13)) % 11
    return "X" if value == 10 else str(value)


def driver_line(i: int) -> str:
    """A village-survey line of driver i, with a valid ID number of its own."""
    birth = date(1980, 1, 1) + timedelta(days=i // 1000)
    body = f"620102{birth:%Y%m%d}{i % 1000:03d}"
    return f"{i + 1},司机{i},{body}{check_digit(body)},1380{i:07d},甘A{i % 100000:05d},否,"


def stray_quote(path: Path) -> None:
    lines = [VILLAGE, *(driver_line(i) for i in range(10_000))]
    lines[2] = '"' + lines[2]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")


def quoted_cell(path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(VILLAGE + "\n" + driver_line(0) + '"')
        line = "x" * 95 + "\n"
        for _ in range(520_000):  # 50 MB
            out.write(line)
        out.write('"\n' + driver_line(1) + "\n")


def write_part(archive: zipfile.ZipFile, name: str, chunks: Iterable[bytes]) -> None:
    with archive.open(name, "w", force_zip64=True) as part:
        for chunk in chunks:
            part.write(chunk)


def write_xlsx(
    path: Path, sheet: Iterable[bytes], strings: Iterable[bytes] | None = None, level: int = 6
) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        archive.writestr(
            "_rels/.rels",
            b'<?xml version="1.0"?><Relationships xmlns="' + RELS + b'"><Relationship Id="r1" '
            b'Type="' + DOC + b'/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        archive.writestr(
            "xl/workbook.xml",
            b'<?xml version="1.0"?><workbook xmlns="' + MAIN + b'" xmlns:r="' + DOC + b'">'
            b'<sheets><sheet name="Sheet1" sheetId="1" r:id="r1"/></sheets></workbook>',
        )
        targets = b'<Relationship Id="r1" Type="' + DOC + b'/worksheet" '
        targets += b'Target="worksheets/sheet1.xml"/>'
        if strings is not None:
            targets += b'<Relationship Id="r2" Type="' + DOC + b'/sharedStrings" '
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


def sheet_xml(rows: Iterable[bytes], dimension: str | None) -> Iterator[bytes]:
    yield b'<?xml version="1.0"?><worksheet xmlns="' + MAIN + b'">'
    if dimension:
        yield f'<dimension ref="{dimension}"/>'.encode()
    yield b"<sheetData>"
    yield from rows
    yield b"</sheetData></worksheet>"


HEADER = '<row r="1"><c r="A1" t="inlineStr"><is><t>姓名</t></is></c>'.encode()
HEADER += '<c r="B1" t="inlineStr"><is><t>身份证号</t></is></c></row>'.encode()
SHARED_HEADER = b'<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'


def column_letters(number: int) -> str:
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def dimension_bomb(path: Path) -> None:
    far = b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    write_xlsx(path, sheet_xml([HEADER, far], "A1:XFD1048576"))


def shared_string_gib(path: Path) -> None:
    def strings() -> Iterator[bytes]:
        yield f'<?xml version="1.0"?><sst xmlns="{MAIN.decode()}" uniqueCount="3">'.encode()
        yield "<si><t>姓名</t></si><si><t>身份证号</t></si><si><t>".encode()
        block = b"x" * MIB
        for _ in range(1024):
            yield block
        yield b"</t></si></sst>"

    rows = [SHARED_HEADER, b'<row r="2"><c r="A2" t="s"><v>2</v></c></row>']
    write_xlsx(path, sheet_xml(rows, "A1:B2"), strings())


def million_cells(path: Path) -> None:
    def rows() -> Iterator[bytes]:
        yield SHARED_HEADER
        for r in range(2, 50_002):
            cells = "".join(
                f'<c r="{column_letters(c)}{r}" t="s"><v>2</v></c>' for c in range(1, 21)
            )
            yield f'<row r="{r}">{cells}</row>'.encode()

    strings = f'<?xml version="1.0"?><sst xmlns="{MAIN.decode()}" uniqueCount="3">'.encode()
    strings += "<si><t>姓名</t></si><si><t>身份证号</t></si><si><t>".encode()
    strings += b"y" * 4096 + b"</t></si></sst>"
    write_xlsx(path, sheet_xml(rows(), "A1:T50001"), [strings])


def unique_count(path: Path) -> None:
    strings = f'<?xml version="1.0"?><sst xmlns="{MAIN.decode()}" uniqueCount="99999999999">'
    strings += "<si><t>姓名</t></si><si><t>身份证号</t></si></sst>"
    write_xlsx(path, sheet_xml([SHARED_HEADER], "A1:B1"), [strings.encode()])


def ods_repeats(path: Path) -> None:
    def cell(text: str, repeated: int = 1) -> str:
        times = f' table:number-columns-repeated="{repeated}"' if repeated > 1 else ""
        return (
            f'<table:table-cell{times} office:value-type="string"><text:p>{text}</text:p>'
            "</table:table-cell>"
        )

    rows = f"<table:table-row>{cell('姓名')}{cell('身份证号')}</table:table-row>"
    rows += f'<table:table-row table:number-rows-repeated="1000000">{cell("x", 100)}'
    rows += "</table:table-row>"
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        f'xmlns:office="{OFFICE}:office:1.0" xmlns:table="{OFFICE}:table:1.0" '
        f'xmlns:text="{OFFICE}:text:1.0"><office:body><office:spreadsheet>'
        f'<table:table table:name="s">{rows}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        f'<manifest:manifest xmlns:manifest="{OFFICE}:manifest:1.0"><manifest:file-entry '
        'manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.'
        'spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" '
        'manifest:media-type="text/xml"/></manifest:manifest>'
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "mimetype", "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED
        )
        archive.writestr("content.xml", content)
        archive.writestr("META-INF/manifest.xml", manifest)


def xls_dimensions(path: Path) -> None:
    """A one-sheet BIFF8 workbook in an OLE container, its DIMENSIONS record stating too much."""

    def record(kind: int, data: bytes = b"") -> bytes:
        return struct.pack("<HH", kind, len(data)) + data

    def bof(kind: int) -> bytes:
        return record(0x0809, struct.pack("<HHHHII", 0x0600, kind, 0x0DBB, 0x07CC, 0, 6))

    def globals_(offset: int) -> bytes:
        sheet = struct.pack("<IBBBB", offset, 0, 0, 2, 1) + "名单".encode("utf-16-le")
        return bof(0x0005) + record(0x0042, struct.pack("<H", 1200)) + record(0x0085, sheet)

    head = globals_(0) + record(0x000A)
    body = bof(0x0010) + record(0x0200, struct.pack("<LLHHH", 0, 1_000_000, 0, 16_000, 0))
    for c, text in enumerate(["姓名", "身份证号"]):
        body += record(
            0x0204, struct.pack("<HHHHB", 0, c, 0, len(text), 1) + text.encode("utf-16-le")
        )
    stream = (globals_(len(head)) + record(0x000A) + body + record(0x000A)).ljust(4096, b"\0")
    sectors = len(stream) // 512
    end, free = 0xFFFFFFFE, 0xFFFFFFFF
    fat = [0xFFFFFFFD, end, *range(3, 2 + sectors), end]
    fat += [free] * (128 - len(fat))
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + bytes(16)
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + bytes(6)
        + struct.pack("<9I", 0, 1, 1, 0, 4096, end, 0, end, 0)
        + struct.pack("<109I", 0, *[free] * 108)
    )

    def entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
        encoded = (name + "\0").encode("utf-16-le") if name else b""
        return (
            encoded.ljust(64, b"\0")
            + struct.pack("<HBB", len(encoded), kind, 1)
            + struct.pack("<III", free, free, child)
            + bytes(36)
            + struct.pack("<III", start, size, 0)
        )

    directory = entry("Root Entry", 5, 1, end, 0) + entry("Workbook", 2, free, 2, len(stream))
    directory += entry("", 0, free, 0, 0) * 2
    path.write_bytes(header + struct.pack("<128I", *fat) + directory + stream)


FILES: dict[str, tuple[str, Callable[[Path], None]]] = {
    "stray-quote": ("stray-quote.csv", stray_quote),
    "quoted-50mb-cell": ("quoted-50mb-cell.csv", quoted_cell),
    "dimension-bomb": ("dimension-bomb.xlsx", dimension_bomb),
    "shared-string-1gib": ("shared-string-1gib.xlsx", shared_string_gib),
    "million-cells": ("million-cells.xlsx", million_cells),
    "unique-count": ("unique-count.xlsx", unique_count),
    "ods-repeats": ("ods-repeats.ods", ods_repeats),
    "xls-dimensions": ("xls-dimensions.xls", xls_dimensions),
}


# --------------------------------------------------------------------------- reading in a child

READ = """
import json, sys
from chelun.sources.readers import SourceReadError, open_table
try:
    with open_table(sys.argv[1]) as table:
        rows = problems = longest = 0
        for row in table.rows():
            rows += 1
            if row.cells is None:
                problems += 1
            else:
                longest = max(longest, sum(map(len, row.cells)))
    print(json.dumps({"rows": rows, "problems": problems, "longest row": longest}))
except SourceReadError as error:
    print(json.dumps({"error": str(error)}))
"""

INTAKE = """
import json, sys
from pathlib import Path
from chelun.plugin_manager import PluginHost
from chelun.roster.service import RosterIntake
from chelun.roster.staging import SourceInput
from chelun.settings import Settings
from chelun.sources.profiles import ProfileError
from chelun.sources.readers import SourceReadError
from chelun.storage.db import Database
from sqlalchemy import text
database = Database(f"sqlite:///{sys.argv[2]}")
database.ensure_schema()
intake = RosterIntake(database, PluginHost(Settings(), entry_points=False).manager("62"), "62",
                      actor="user:bench")
try:
    intake.stage(SourceInput("village", Path(sys.argv[1])))
    intake.link()
    [account] = intake.accounts()
    with database.connect() as connection:
        longest = connection.execute(text("SELECT MAX(LENGTH(name)) FROM source_record")).scalar()
    print(json.dumps({"rows in": account.rows_in, "on roster": account.on_roster,
                      "quarantined": account.quarantined, "balanced": account.balanced,
                      "longest stored name": longest}))
except (SourceReadError, ProfileError) as error:
    print(json.dumps({"error": str(error)}))
"""

LIMITED = """
import resource, sys
limit = int(sys.argv.pop(1))
if limit:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
code = sys.argv.pop(1)
exec(compile(code, "<child>", "exec"), {"__name__": "__main__"})
"""


def run_child(code: str, args: list[str], limit: int) -> tuple[int, float, float, str, str]:
    """(wait status, seconds, peak RSS in MiB, stdout, stderr tail) of a child running code."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as errors:
        child = subprocess.Popen(
            [sys.executable, "-c", LIMITED, str(limit), code, *args],
            stdout=subprocess.PIPE,
            stderr=errors,
            cwd=ROOT,
        )
        assert child.stdout is not None
        out = child.stdout.read().decode()
        child.stdout.close()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = status
        seconds = time.monotonic() - started
        errors.seek(0)
        err = errors.read().decode(errors="replace")
    return status, seconds, usage.ru_maxrss / 1024, out, err


def outcome(status: int, out: str, err: str) -> str:
    lines = out.strip().splitlines()
    if status == 0 and lines:
        result = json.loads(lines[-1])
        if "error" in result:
            return "SourceReadError: " + result["error"].split(": ", 1)[-1]
        return ", ".join(
            f"{key} {value:,}"
            if isinstance(value, int) and not isinstance(value, bool)
            else f"{key} {value}"
            for key, value in result.items()
        )
    if os.WIFSIGNALED(status):
        how = f"killed by signal {os.WTERMSIG(status)}"
    else:
        how = f"exit status {os.WEXITSTATUS(status)}"
    last = [line for line in err.strip().splitlines() if line.strip()]
    detail = next((line for line in last if "memory allocation" in line or "Error" in line), "")
    return f"died ({how}) {detail.strip()[:120]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, help="where to build the files (default: temp)")
    parser.add_argument("--keep", action="store_true", help="keep the files built")
    parser.add_argument("--only", nargs="*", choices=sorted(FILES), help="these files only")
    parser.add_argument("--intake", action="store_true", help="stage and link, not just read")
    parser.add_argument("--limit-gb", type=float, default=8.0, help="child address space, GiB")
    options = parser.parse_args()
    folder = options.workdir or Path(tempfile.mkdtemp(prefix="chelun-hostile-"))
    folder.mkdir(parents=True, exist_ok=True)
    limit = int(options.limit_gb * (1 << 30))
    import chelun.sources.readers as readers

    print(f"reader: {readers.__file__}")
    mode = "RosterIntake.stage + link into SQLite" if options.intake else "open_table + rows"
    print(f"mode: {mode}")
    print(f"child address-space limit: {options.limit_gb:g} GiB" if limit else "no limit")
    print(f"{'file':<26}{'size':>12}{'build s':>9}{'read s':>9}{'peak MiB':>10}  outcome")
    try:
        for key in options.only or FILES:
            name, build = FILES[key]
            path = folder / name
            started = time.monotonic()
            build(path)
            built = time.monotonic() - started
            if options.intake:
                database = folder / f"{key}.db"
                database.unlink(missing_ok=True)
                status, seconds, peak, out, err = run_child(
                    INTAKE, [str(path), str(database)], limit
                )
                database.unlink(missing_ok=True)
            else:
                status, seconds, peak, out, err = run_child(READ, [str(path)], limit)
            size = path.stat().st_size
            print(
                f"{name:<26}{size:>12,}{built:>9.1f}{seconds:>9.2f}{peak:>10.0f}  "
                f"{outcome(status, out, err)}",
                flush=True,
            )
            if not options.keep:
                path.unlink()
    finally:
        if not options.keep and options.workdir is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
