"""Read the driver lists that departments send: CSV/TSV text, XLSX and old XLS.

The user never says which encoding or delimiter a file uses, and files are often
messy: GBK lines inside UTF-8 exports, stray NUL bytes, title rows above the header,
web pages saved as ".xls". Everything is detected from the bytes.

Rows hold personal data, so no cell value ever goes into an exception message or
a problem text: those name the file, the row, the position and what is wrong.

    with open_table(path) as table:
        for row in table.rows():
            ...
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
import zipfile
from collections import deque
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from itertools import chain
from operator import length_hint
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, NamedTuple

import python_calamine

__all__ = ["FIELD_LIMIT", "Row", "SourceReadError", "Table", "open_table"]

FIELD_LIMIT = 1 << 20
"""Longest cell accepted in text files, in characters; a longer one makes a problem row."""

_SAMPLE = 1 << 20  # bytes used to tell the format, the encoding and the delimiter
_BLOCK = 1 << 20  # bytes decoded at a time; big enough that per-chunk work is negligible
_LINE_LIMIT = 32 << 20  # a physical line longer than this is dropped rather than buffered
_TITLE_LOOKAHEAD = 5  # non-blank rows looked at past a one-cell row when hunting the header

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"
# UTF-32 LE must be tried before UTF-16 LE: its BOM starts with the same two bytes.
_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8-sig", "utf-8"),
    (b"\xff\xfe", "utf-16", "utf-16-le"),
    (b"\xfe\xff", "utf-16", "utf-16-be"),
)
_SIGNATURES = (
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7z archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\x7fELF", "a program"),
    (b"{\\rtf", "an RTF document"),
)
_MARKUP = (b"<html", b"<table", b"<?xml", b"<!doctype")
# Control bytes that have no business in CSV text in an ASCII-compatible encoding; \t \n
# \v \f \r, SUB (an old end-of-file mark) and ESC are left out: real exports contain them.
_CONTROL = bytes(b for b in range(32) if b not in b"\t\n\x0b\x0c\r\x1a\x1b")
# str.splitlines() breaks lines at these too, csv does not; chunks holding one take the
# slow path, which splits at \r and \n only.
_ODD_BREAKS = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_DELIMITERS = (",", "\t", ";", "|")
# What str.strip() removes, less the line ends csv consumes; a chunk without any of these
# needs no stripping, which saves about a tenth of the time per row. The likeliest come
# first; U+2000 and U+3000 come last because str.find is slow for them (low byte 0).
_SPACES = (
    " \xa0\t\x0b\x0c\x1c\x1d\x1e\x1f\x85\u1680\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u2000\u3000"
)
_ESCAPED = re.compile("[\udc00-\udcff]")
# Characters unlikely in a Chinese roster: CJK, full-width forms, common symbols and ASCII
# are likely. GBK text that happens to be valid UTF-8 decodes to Hebrew, Greek, Latin
# letters with accents and the like, which this catches.
_UNLIKELY = re.compile(
    "[^\x00-\x7f\u00b0\u00b1\u00b7\u00d7\u00f7\u2000-\u27ff\u2e80-\u9fff\uf900-\ufaff"
    "\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0003ffff]"
)
_ESCAPE = "chelun.readers.escape"
_FATAL = (KeyboardInterrupt, SystemExit, GeneratorExit, MemoryError)


def _escape_bytes(err: UnicodeError) -> tuple[str, int]:
    # Like surrogateescape, but for every byte value and any codec, so that the slow
    # path can find where in a UTF-16/32 line the bad bytes are.
    if isinstance(err, UnicodeDecodeError):
        bad = err.object[err.start : err.end]
        return "".join(chr(0xDC00 + b) for b in bad), err.end
    raise err


codecs.register_error(_ESCAPE, _escape_bytes)


class SourceReadError(Exception):
    """The file as a whole cannot be read; the message says why and, if known, where."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason

    def __reduce__(self) -> tuple[type[SourceReadError], tuple[Path, str]]:
        # Flows hand exceptions between processes; the default would call __init__(message).
        return type(self), (self.path, self.reason)


class Row(NamedTuple):
    """One record after the header.

    ``number`` counts records after the header from 1, blank ones included, so it
    matches what a clerk sees. Either ``cells`` (stripped, padded with "" to the
    header's width, extra cells kept) or ``problem`` (what is wrong and where) is set.
    """

    number: int
    cells: list[str] | None
    problem: str | None


class _Problem(NamedTuple):
    """A line the decoder gave up on; becomes a problem row."""

    what: str
    byte: int | None  # 1-based byte offset within the physical line

    def describe(self, line_in_row: int) -> str:
        if self.byte is None:
            return self.what
        if line_in_row == 0:
            return f"{self.what} at byte {self.byte} of the row"
        return f"{self.what} at byte {self.byte} of line {line_in_row + 1} of the row"


class _BadLine(Exception):
    """Raised through csv.reader to stop it at a line that could not be decoded."""

    def __init__(self, problem: _Problem) -> None:
        super().__init__(problem.what)
        self.problem = problem


class _NoHeader(Exception):
    """The records ran out before a non-blank one."""


# --------------------------------------------------------------------------- text


class _Lines:
    """Decoded lines of a text file, handed to csv.reader one chunk at a time.

    A chunk is about _BLOCK bytes cut after a line end. The fast path decodes a whole
    chunk in one call and splits it in C; a chunk with a NUL, an undecodable or a
    mixed-encoding line, or an odd line break is redone line by line. A bad line
    becomes a _Problem, which pieces() raises as _BadLine; the caller then starts a
    new csv.reader on pieces(), which resumes after it.
    """

    def __init__(
        self,
        f: BinaryIO,
        path: Path,
        codec: str,
        fallbacks: tuple[str, ...],
        unit: int,
        delimiter: str,
    ) -> None:
        self._f = f
        self._path = path
        self._codec = codec
        self._codecs = (codec, *fallbacks)
        self._unit = unit  # bytes per code unit; line ends must be found on its boundaries
        self._lf = "\n".encode(codec)
        self._cr = "\r".encode(codec)
        self._nul = "\0".encode(codec)
        # A tab delimiter is whitespace that needs no stripping, unless inside quotes.
        self._spaces = _SPACES.replace(delimiter, "")
        self._quote_matters = delimiter in _SPACES
        self._rest = b""
        self._pending: deque[tuple[list[str], bool] | _Problem] = deque()
        self._cur: Iterator[str] | None = None
        self._cur_lines: list[str] = []
        self._handed = 0  # lines handed to csv readers, counting every chunk in full
        # Lines are numbered in the order csv readers take them. Every line from
        # dirty_end on comes from a chunk with no whitespace in it, so records that
        # start there need no stripping.
        self.dirty_end = 0
        self.bytes_read = 0

    def pieces(self) -> Iterator[Iterator[str]]:
        """Line iterators for chain.from_iterable; raises _BadLine at a bad line."""
        if self._cur is not None:
            yield self._cur  # what an abandoned reader left of the current chunk
        pending = self._pending
        while True:
            if not pending and not self._fill():
                self._cur = None
                return
            item = pending.popleft()
            if isinstance(item, _Problem):
                self._cur = None
                raise _BadLine(item)
            lines, clean = item
            self._handed += len(lines)
            if not clean:
                self.dirty_end = self._handed
            self._cur_lines = lines
            self._cur = it = iter(lines)
            yield it

    def consumed(self) -> int:
        """How many lines csv readers have taken so far."""
        return self._handed - (length_hint(self._cur) if self._cur is not None else 0)

    def current_line(self) -> str | None:
        """The line csv.reader fetched last, if it is still in the current chunk."""
        if self._cur is None:
            return None
        index = len(self._cur_lines) - length_hint(self._cur) - 1
        return self._cur_lines[index] if 0 <= index < len(self._cur_lines) else None

    def _fill(self) -> bool:
        chunk = self._next_chunk()
        if chunk is None:
            return False
        if isinstance(chunk, _Problem):
            self._pending.append(chunk)
            return True
        item = self._fast(chunk)
        if item is None:
            self._pending.extend(self._slow(chunk))
        else:
            self._pending.append(item)
        return True

    def _fast(self, chunk: bytes) -> tuple[list[str], bool] | None:
        if self._unit == 1 and self._nul in chunk:
            return None
        text = None
        # A chunk entirely in the other encoding (a concatenated export) stays fast.
        for codec in self._codecs:
            try:
                text = chunk.decode(codec)
                break
            except UnicodeDecodeError:
                continue
        if text is None or "\0" in text:
            return None
        for ch in _ODD_BREAKS:
            if ch in text:
                return None
        if "\ufeff" in text:  # BOMs of concatenated files
            text = text.replace("\ufeff", "")
        clean = not (self._quote_matters and '"' in text)
        if clean:
            for ch in self._spaces:
                if ch in text:
                    clean = False
                    break
        return text.splitlines(True), clean

    def _slow(self, chunk: bytes) -> list[tuple[list[str], bool] | _Problem]:
        items: list[tuple[list[str], bool] | _Problem] = []
        run: list[str] = []
        for line in self._slow_lines(chunk):
            if isinstance(line, _Problem):
                if run:
                    items.append((run, False))
                    run = []
                items.append(line)
            else:
                run.append(line.replace("\ufeff", "") if "\ufeff" in line else line)
        if run:
            items.append((run, False))
        return items

    def _slow_lines(self, chunk: bytes) -> Iterator[str | _Problem]:
        if self._unit > 1:
            codec = self._codec
            text = chunk.decode(codec, _ESCAPE)
            for line in io.StringIO(text, newline=""):  # splits at \r and \n only
                m = _ESCAPED.search(line)
                if m:
                    yield _Problem("undecodable bytes", len(line[: m.start()].encode(codec)) + 1)
                elif "\0" in line:
                    at = len(line[: line.index("\0")].encode(codec)) + 1
                    yield _Problem("a NUL byte", at)
                else:
                    yield line
            return
        nul = self._nul
        for raw in chunk.splitlines(True):  # bytes split at \r and \n only
            if nul in raw:
                yield _Problem("a NUL byte", raw.index(nul) + 1)
                continue
            first_bad = 0
            for codec in self._codecs:
                try:
                    line = raw.decode(codec)
                    break
                except UnicodeDecodeError as e:
                    first_bad = first_bad or e.start + 1
            else:
                yield _Problem("undecodable bytes", first_bad)
                continue
            yield line

    def _read(self) -> bytes:
        try:
            data = self._f.read(_BLOCK)
        except OSError as e:
            reason = f"reading failed ({e.strerror or type(e).__name__})"
            raise SourceReadError(self._path, f"{reason}, at byte {self.bytes_read}") from None
        self.bytes_read += len(data)
        return data

    def _next_chunk(self) -> bytes | _Problem | None:
        buf = self._rest
        while True:
            data = self._read()
            if not data:
                self._rest = b""
                return buf or None
            buf += data
            cut = self._cut(buf)
            if cut:
                self._rest = buf[cut:]
                return buf[:cut]
            if len(buf) > _LINE_LIMIT:
                self._rest = b""
                self._skip_line()
                return _Problem(f"the row is longer than {_LINE_LIMIT} bytes", None)

    def _rfind(self, buf: bytes, pattern: bytes, end: int) -> int:
        while True:
            i = buf.rfind(pattern, 0, end)
            if i < 0 or i % self._unit == 0:
                return i
            end = i + len(pattern) - 1

    def _cut(self, buf: bytes) -> int:
        """Length of the longest prefix of buf made of whole lines (0 if none)."""
        i = self._rfind(buf, self._lf, len(buf))
        if i < 0:
            # Old Mac files end lines with CR alone. A CR at the very end may be the
            # first half of a CRLF, so it is left for the next read.
            i = self._rfind(buf, self._cr, len(buf) - self._unit)
        return i + self._unit if i >= 0 else 0

    def _skip_line(self) -> None:
        unit = self._unit
        while data := self._read():
            for pattern in (self._lf, self._cr):
                i = data.find(pattern)
                while i >= 0 and i % unit:
                    i = data.find(pattern, i + 1)
                if i >= 0:
                    i += unit
                    if pattern == self._cr and data[i : i + unit] == self._lf:
                        i += unit  # else the LF of this CRLF would read as a blank row
                    self._rest = data[i:]
                    return


def _sniff_delimiter(lines: list[str]) -> str:
    """The delimiter of the first line it splits into two or more non-empty fields.

    Lines it does not split so are titles above the header ("XX市货车司机名单,,,").
    Between candidates the one giving the most non-empty fields wins, then the most
    frequent; "," if no line splits.
    """
    for line in lines:
        filled, count, _, delimiter = max(
            (sum(1 for field in line.split(d) if field.strip()), line.count(d), -i, d)
            for i, d in enumerate(_DELIMITERS)
        )
        if filled >= 2:
            return delimiter
    return ","


def _decode_sample(data: bytes, codec: str, final: bool) -> str | None:
    """The first 64 KiB of data decoded, or None if any of data does not decode."""
    try:
        # The incremental decoder tolerates a character cut at the end of the sample.
        decoder = codecs.getincrementaldecoder(codec)()
        head = decoder.decode(data[:65536], False)
        decoder.decode(data[65536:], final)
    except UnicodeDecodeError:
        return None
    return head


def _line_codec(raw: bytes) -> str | None:
    for codec in ("utf-8", "gb18030"):
        try:
            raw.decode(codec)
        except UnicodeDecodeError:
            continue
        return codec
    return None


def _guess_encoding(path: Path, sample: bytes, final: bool) -> tuple[str, tuple[str, ...]]:
    """The file's main encoding and the ones tried for a line it cannot decode."""
    utf8 = _decode_sample(sample, "utf-8", final)
    gb = _decode_sample(sample, "gb18030", final)
    if utf8 is not None and (
        gb is None or len(_UNLIKELY.findall(gb)) >= len(_UNLIKELY.findall(utf8))
    ):
        return "utf-8", ("gb18030",)
    if gb is not None:
        # Short GBK files can be valid UTF-8 too; the decoding that reads as Chinese wins.
        return "gb18030", ("utf-8",)
    # Neither decodes all of it. In a mixed file (concatenated exports) nearly every line
    # decodes one way or the other, and the encoding most lines use is the main one.
    lines = sample.splitlines()
    if not final:
        lines = lines[:-1]
    votes = {"utf-8": 0, "gb18030": 0, None: 0}
    for raw in lines:
        if not raw.isascii():
            votes[_line_codec(raw)] += 1
    if votes["utf-8"] + votes["gb18030"] > votes[None]:
        if votes["utf-8"] >= votes["gb18030"]:
            return "utf-8", ("gb18030",)
        return "gb18030", ("utf-8",)
    # Imported here: it takes a tenth of a second and few files need it.
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    codec = None
    if best is not None:
        try:
            codec = codecs.lookup(best.encoding).name
            # Lines are cut at LF bytes and delimiters matched as ASCII, so only
            # ASCII-compatible encodings (Big5, Shift-JIS, cp1252, ...) can be read.
            if '\r\n,;|\t"'.encode(codec) != b'\r\n,;|\t"':
                codec = None
        except (LookupError, UnicodeError):
            codec = None
    if codec is None:
        raise SourceReadError(path, "cannot tell the text encoding; save it as CSV (UTF-8) or XLSX")
    return codec, tuple(c for c in ("utf-8", "gb18030") if c != codec)


def _binary_kind(sample: bytes) -> str | None:
    """Why the sample is not text, or None if it may be."""
    for magic, what in _SIGNATURES:
        if sample.startswith(magic):
            return f"this is {what}, not a table; save the list as CSV or XLSX"
    lead = sample[:1024].lstrip().lower()
    if lead.startswith(b"<") and any(tag in lead for tag in _MARKUP):
        return (
            "this is a web page or XML file, not CSV text (some systems export these with "
            "an .xls name); open it in Excel or WPS and save it as XLSX or CSV"
        )
    end = sample.find(b"\n", 0, 4096)
    if b"\0" in sample[: end if end >= 0 else 4096]:
        return (
            "it contains NUL bytes, so it is binary data (or UTF-16 text without a "
            "byte-order mark), not CSV text; save it as CSV or XLSX"
        )
    control = len(sample) - len(sample.translate(None, _CONTROL))
    if control * 50 > len(sample):
        return "it contains binary data, not CSV text; save it as CSV or XLSX"
    return None


def _column_over_limit(line: str, delimiter: str) -> int | None:
    """1-based column of the first cell longer than FIELD_LIMIT in a CSV line."""
    d = re.escape(delimiter)
    cell = re.compile(f'"[^"]*(?:""[^"]*)*"[^{d}\\r\\n]*|[^{d}\\r\\n]*')
    pos, column = 0, 1
    while True:
        m = cell.match(line, pos)
        if m is None:
            return None
        if m.end() - pos > FIELD_LIMIT:
            return column
        if m.end() < len(line) and line[m.end()] == delimiter:
            pos, column = m.end() + 1, column + 1
        else:
            return None


# --------------------------------------------------------------------- spreadsheets


def _cell_text(value: object) -> str:
    """A spreadsheet cell as the text a clerk would type."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):  # before int/float: bool is an int
        return "1" if value else "0"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        if math.isfinite(value):
            return format(value, ".15g")  # Excel shows 15 digits, not 0.30000000000000004
        return ""
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):  # before date: datetime is a date
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        seconds = int(value.total_seconds())
        sign = "-" if seconds < 0 else ""
        hours, rest = divmod(abs(seconds), 3600)
        return f"{sign}{hours}:{rest // 60:02d}:{rest % 60:02d}"
    return "" if value is None else str(value).strip()


def _sheet_records(path: Path, sheet: python_calamine.CalamineSheet) -> Iterator[list[str]]:
    try:
        for raw in sheet.iter_rows():
            yield [v.strip() if v.__class__ is str else _cell_text(v) for v in raw]
    except BaseException as e:
        if isinstance(e, _FATAL):
            raise
        reason = f"truncated or corrupt spreadsheet ({type(e).__name__})"
        raise SourceReadError(path, reason) from None


def _corrupt(path: Path, e: BaseException, fmt: str) -> SourceReadError:
    if isinstance(e, python_calamine.PasswordError):
        return SourceReadError(
            path, "the spreadsheet is password-protected; save a copy without a password"
        )
    # Only the class name: calamine's messages may quote cell contents.
    reason = f"truncated or corrupt spreadsheet ({type(e).__name__})"
    if fmt == "xls":
        reason += " or an Office file that is not an Excel workbook"
    return SourceReadError(path, reason + "; open it in Excel or WPS and save it as XLSX or CSV")


# --------------------------------------------------------------------------- table


def _filled(cells: list[str]) -> int:
    return sum(1 for c in cells if c)


def _fit(cells: list[str], width: int) -> None:
    """Pad to width; drop empty cells past it (keeping any extra cell with data)."""
    n = len(cells)
    if n < width:
        cells.extend([""] * (width - n))
        return
    while n > width and not cells[n - 1]:
        n -= 1
    del cells[n:]


def _clean_header(cells: list[str]) -> list[str]:
    headers = [c.replace("\ufeff", "").replace("\u3000", "").strip() for c in cells]
    while headers and not headers[-1]:
        headers.pop()
    return headers


class Table:
    """An open roster file: its format, how it was decoded, its headers and its rows.

    Use as a context manager (``with open_table(path) as table``); rows() streams
    the records once. blank_rows is final once rows() is exhausted.
    """

    path: Path
    format: str
    encoding: str | None
    delimiter: str | None
    headers: list[str]
    blank_rows: int

    def __init__(self, path: Path, fmt: str, encoding: str | None, delimiter: str | None) -> None:
        self.path = path
        self.format = fmt
        self.encoding = encoding
        self.delimiter = delimiter
        self.headers = []
        self.blank_rows = 0
        self._file: BinaryIO | None = None
        self._workbook: python_calamine.CalamineWorkbook | None = None
        self._lines: _Lines | None = None
        self._reader: Any = None  # a csv reader (its type is private to _csv)
        self._mark = 0  # reader.line_num after the last whole record
        self._base = 0  # lines taken before the current reader started
        self._records: Iterator[list[str]] | None = None
        self._early: list[Row] = []  # rows read while looking past a title row
        self._number = 0  # records after the header read so far
        self._started = False
        self._closed = False

    def __enter__(self) -> Table:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the file; rows() cannot be used afterwards."""
        self._closed = True
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._workbook is not None:
            self._workbook.close()
            self._workbook = None

    def rows(self) -> Iterator[Row]:
        """The records after the header, blank ones skipped (but counted in numbers)."""
        if self._closed:
            raise ValueError(f"{self.path}: the table is closed")
        if self._started:
            raise RuntimeError(f"{self.path}: rows() can be called only once")
        self._started = True
        body = self._text_rows() if self.format == "csv" else self._sheet_rows()
        early, self._early = self._early, []
        return chain(early, body)

    # -- header

    def _next_record(self) -> list[str] | str | None:
        """Next record's stripped cells, a problem text, or None at the end."""
        if self._records is not None:
            return next(self._records, None)
        assert self._lines is not None
        if self._reader is None:
            self._new_reader()
        reader = self._reader
        try:
            record = next(reader)
        except StopIteration:
            return None
        except _BadLine as e:
            self._reader = None
            return e.problem.describe(reader.line_num - self._mark)
        except csv.Error as e:
            self._reader = None
            return self._csv_problem(e, reader.line_num - self._mark - 1)
        self._mark = reader.line_num
        return list(map(str.strip, record))

    def _new_reader(self) -> None:
        assert self._lines is not None and self.delimiter is not None
        csv.field_size_limit(FIELD_LIMIT)  # process-wide; reset in case someone changed it
        self._base = self._lines.consumed()
        self._reader = csv.reader(
            chain.from_iterable(self._lines.pieces()), delimiter=self.delimiter
        )
        self._mark = 0

    def _csv_problem(self, error: csv.Error, line_in_row: int) -> str:
        if "field larger than field limit" in str(error):
            column = None
            line = self._lines.current_line() if self._lines and line_in_row == 0 else None
            if line is not None and self.delimiter:
                column = _column_over_limit(line, self.delimiter)
            cell = f"cell in column {column}" if column else "a cell"
            return f"{cell} is longer than {FIELD_LIMIT} characters"
        where = "" if line_in_row == 0 else f" (at line {line_in_row + 1} of the row)"
        return "the row cannot be parsed as CSV" + where

    def _find_header(self) -> None:
        """Read up to the header; title rows above it (one cell, wider rows below) are skipped."""
        while True:
            record = self._next_record()
            if record is None:
                raise _NoHeader
            if isinstance(record, str):
                raise SourceReadError(self.path, f"the header row cannot be read: {record}")
            if any(record):
                break
        ahead: list[list[str] | str] = []
        if _filled(record) == 1:
            seen = 0
            while seen < _TITLE_LOOKAHEAD:
                later = self._next_record()
                if later is None:
                    break
                ahead.append(later)
                if isinstance(later, list) and not any(later):
                    continue
                seen += 1
                if isinstance(later, str):
                    break
                if _filled(later) >= 2:
                    record, ahead = later, []
                    break
        self.headers = _clean_header(record)
        width = len(self.headers)
        for later in ahead:
            self._number += 1
            if isinstance(later, str):
                self._early.append(Row(self._number, None, later))
            elif any(later):
                _fit(later, width)
                self._early.append(Row(self._number, later, None))
            else:
                self.blank_rows += 1

    # -- rows

    def _text_rows(self) -> Iterator[Row]:
        lines = self._lines
        assert lines is not None and self.delimiter is not None
        delimiter = self.delimiter
        width = len(self.headers)
        number = self._number
        blank = 0
        strip = str.strip
        new = tuple.__new__
        reader = self._reader
        mark = self._mark
        base = self._base
        try:
            while True:
                if reader is None:
                    csv.field_size_limit(FIELD_LIMIT)
                    base = lines.consumed()
                    reader = csv.reader(chain.from_iterable(lines.pieces()), delimiter=delimiter)
                    mark = 0
                try:
                    for cells in reader:
                        number += 1
                        # A record over several lines holds a quoted line break, which may
                        # begin or end a cell even in a chunk with no other whitespace.
                        if base + mark < lines.dirty_end or reader.line_num > mark + 1:
                            cells = list(map(strip, cells))
                        mark = reader.line_num
                        if not any(cells):
                            blank += 1
                            continue
                        if len(cells) != width:
                            _fit(cells, width)
                        yield new(Row, (number, cells, None))
                    return
                except _BadLine as e:
                    problem = e.problem.describe(reader.line_num - mark)
                except csv.Error as e:
                    # The rest of the failing line is gone; a new reader goes on from the
                    # next line, so one broken record costs one problem row.
                    problem = self._csv_problem(e, reader.line_num - mark - 1)
                reader = None
                number += 1
                yield Row(number, None, problem)
        finally:
            self.blank_rows += blank

    def _sheet_rows(self) -> Iterator[Row]:
        assert self._records is not None
        width = len(self.headers)
        number = self._number
        blank = 0
        try:
            for cells in self._records:
                number += 1
                if not any(cells):
                    blank += 1
                    continue
                if len(cells) != width:
                    _fit(cells, width)
                yield Row(number, cells, None)
        finally:
            self.blank_rows += blank


# --------------------------------------------------------------------------- opening


def open_table(path: str | Path) -> Table:
    """Open a roster file, detecting format, encoding, delimiter and header row.

    Raises SourceReadError if the file cannot be read as a table at all.
    """
    path = Path(path)
    try:
        f = open(path, "rb")  # the Table owns it from here and closes it
    except FileNotFoundError:
        raise SourceReadError(path, "no such file") from None
    except IsADirectoryError:
        raise SourceReadError(path, "this is a directory, not a file") from None
    except OSError as e:
        raise SourceReadError(path, f"cannot be opened ({e.strerror})") from None
    try:
        try:
            head = f.read(_SAMPLE)
        except OSError as e:
            raise SourceReadError(path, f"reading failed ({e.strerror})") from None
        if not head:
            raise SourceReadError(path, "the file is empty")
        if head.startswith(_ZIP_MAGIC) or head.startswith(_OLE_MAGIC):
            f.close()
            return _open_workbook(path, head.startswith(_ZIP_MAGIC))
        return _open_text(path, f, head)
    except BaseException:
        f.close()
        raise


def _open_text(path: Path, f: BinaryIO, head: bytes) -> Table:
    final = len(head) < _SAMPLE
    bom, label, codec = b"", "", ""
    for magic, name, python_codec in _BOMS:
        if head.startswith(magic):
            bom, label, codec = magic, name, python_codec
            break
    sample = head[len(bom) :]
    unit = len("\n".encode(codec)) if codec else 1
    fallbacks: tuple[str, ...] = ()
    if unit == 1:
        junk = _binary_kind(sample)
        if junk:
            raise SourceReadError(path, junk)
        if bom:
            fallbacks = ("gb18030",)
        else:
            codec, fallbacks = _guess_encoding(path, sample, final)
            label = codec
    decoder = codecs.getincrementaldecoder(codec)(_ESCAPE)
    text = decoder.decode(sample[:65536], final and len(sample) <= 65536)
    firsts = [line for line in text.splitlines()[:20] if line.strip()]
    table = Table(path, "csv", label, _sniff_delimiter(firsts))
    table._file = f
    f.seek(len(bom))
    table._lines = _Lines(f, path, codec, fallbacks, unit, table.delimiter)
    try:
        table._find_header()
    except _NoHeader:
        raise SourceReadError(path, "no header row: the file has only blank lines") from None
    return table


def _open_workbook(path: Path, zipped: bool) -> Table:
    fmt = "xls"
    if zipped:
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
                mimetype = archive.read("mimetype")[:80] if "mimetype" in names else b""
        except Exception as e:
            raise _corrupt(path, e, "xlsx") from None
        if "xl/workbook.xml" in names:
            fmt = "xlsx"
        elif "xl/workbook.bin" in names:
            fmt = "xlsb"
        elif mimetype.startswith(b"application/vnd.oasis.opendocument.spreadsheet"):
            fmt = "ods"
        else:
            raise SourceReadError(
                path,
                "this is a ZIP archive but not a spreadsheet (no workbook inside); "
                "save the list as XLSX or CSV",
            )
    try:
        # from_path goes by the extension and fails on an XLSX named .xls, which is common;
        # from_filelike looks at the content.
        with open(path, "rb") as f:
            workbook = python_calamine.CalamineWorkbook.from_filelike(f)
    except BaseException as e:
        if isinstance(e, _FATAL):
            raise
        raise _corrupt(path, e, fmt) from None
    try:
        return _first_sheet_table(path, fmt, workbook)
    except BaseException:
        workbook.close()
        raise


def _first_sheet_table(path: Path, fmt: str, workbook: python_calamine.CalamineWorkbook) -> Table:
    worksheet = python_calamine.SheetTypeEnum.WorkSheet
    visible = python_calamine.SheetVisibleEnum.Visible
    try:
        sheets = [m for m in workbook.sheets_metadata if m.typ == worksheet]
    except BaseException as e:
        if isinstance(e, _FATAL):
            raise
        raise _corrupt(path, e, fmt) from None
    # Hidden sheets often hold the lists behind drop-downs; the data is on a visible one.
    sheets.sort(key=lambda m: m.visible != visible)
    for meta in sheets:
        try:
            sheet = workbook.get_sheet_by_name(meta.name)
        except BaseException as e:
            if isinstance(e, _FATAL):
                raise
            raise _corrupt(path, e, fmt) from None
        table = Table(path, fmt, None, None)
        table._records = _sheet_records(path, sheet)
        try:
            table._find_header()
        except _NoHeader:
            continue
        table._workbook = workbook
        return table
    raise SourceReadError(path, "no header row: every sheet is empty")
