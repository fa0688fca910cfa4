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
import copy
import csv
import html
import io
import math
import os
import re
import struct
import zipfile
import zlib
from array import array
from collections import deque
from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta
from itertools import chain
from operator import length_hint
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, NamedTuple

import python_calamine

__all__ = ["FIELD_LIMIT", "Row", "SourceReadError", "Table", "open_table", "shown_path"]

FIELD_LIMIT = 1 << 16
"""Longest cell accepted, in characters; a longer one makes a problem row.

Excel holds at most 32,767 characters in a cell, so no roster has a longer one. In text files
it is also the most a quoted cell may take in before its closing quote (see _RECORD_LIMIT).
"""

_SAMPLE = 1 << 20  # bytes used to tell the format, the encoding and the delimiter
_BLOCK = 1 << 20  # bytes decoded at a time; big enough that per-chunk work is negligible
_LINE_LIMIT = 32 << 20  # a physical line longer than this is dropped rather than buffered
# A row that runs over several lines (a quoted cell with line breaks) may take in at most
# _RECORD_LIMIT characters of following lines, each of its cells at most FIELD_LIMIT; its quotes
# must close where a cell ends (as a CSV writer writes them), and before the end of the file.
# Otherwise the quote is taken to be stray: the row is a problem row and reading goes on from
# the line after the one the row started on, so a stray quote costs one row and the rows it ran
# over are read as usual.
_RECORD_LIMIT = 1 << 20
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
#: Largest file Table.clean_lines reads whole (a bigger one is read as a stream by rows()):
#: decoded, a file takes several times its size in memory.
CLEAN_TEXT_LIMIT = 128 << 20
#: Most lines Table.clean_lines takes (the pilot's biggest file has 640,000): a file of millions
#: of short lines would make a frame bigger than the file; rows() streams it instead.
CLEAN_LINES_LIMIT = 2_000_000
_CLEAN_BLOCK = 16 << 20  # bytes decoded at a time by Table.clean_lines
# Characters that send a file to rows(): NUL and the other control characters but tab, LF and
# CR (CR is checked apart), the odd line breaks and a BOM inside the text.
_UNCLEAN = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x{85}\x{2028}\x{2029}\x{FEFF}]"  # polars (Rust) regex
_UNCLEAN_HEAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x85\u2028\u2029\ufeff]")  # the same
_FATAL = (KeyboardInterrupt, SystemExit, GeneratorExit, MemoryError)


def _escape_bytes(err: UnicodeError) -> tuple[str, int]:
    # Like surrogateescape, but for every byte value and any codec, so that the slow
    # path can find where in a UTF-16/32 line the bad bytes are.
    if isinstance(err, UnicodeDecodeError):
        bad = err.object[err.start : err.end]
        return "".join(chr(0xDC00 + b) for b in bad), err.end
    raise err


codecs.register_error(_ESCAPE, _escape_bytes)


def shown_path(path: str | os.PathLike[str]) -> str:
    """The path as text that can be printed and stored in a database.

    A file name that is not UTF-8 (a GBK name unpacked from a Chinese ZIP archive, say) reaches
    Python with its bytes escaped as lone surrogates, which cannot be printed or stored; they
    are shown as \\xNN escapes of the name's bytes instead.
    """
    text = os.fspath(path)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        raw = os.fsencode(text)
    except UnicodeError:  # not from the file system: escape what cannot be encoded
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


class SourceReadError(Exception):
    """The file as a whole cannot be read; the message says why and, if known, where."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{shown_path(path)}: {reason}")
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


class _Runaway(Exception):
    """Raised through csv.reader when the record it reads has run on too far."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


class _NoHeader(Exception):
    """The records ran out before a non-blank one."""


_STRAY = "; a quote in it is probably stray"


# --------------------------------------------------------------------------- text


class _Lines:
    """Decoded lines of a text file, handed to csv.reader one chunk at a time.

    A chunk is about _BLOCK bytes cut after a line end. The fast path decodes a whole
    chunk in one call and splits it in C; a chunk with a NUL, an undecodable or a
    mixed-encoding line, or an odd line break is redone line by line. A bad line
    becomes a _Problem, which pieces() raises as _BadLine; the caller then starts a
    new csv.reader on pieces(), which resumes after it.

    Lines are numbered from 0 in the order they are handed out. The reader's user keeps
    ``base`` (lines taken before its csv reader started) and ``mark`` (the reader's
    line_num after its last whole record) up to date, so ``base + mark`` is the line the
    record being read starts on. Between chunks pieces() checks that record against
    _RECORD_LIMIT and raises _Runaway when it has run on too far or is still open at the end
    of the file; the lines since it started are kept, so that rewind() can hand them out
    again from the line after its start.
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
        self._delimiter = delimiter
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
        self.base = 0
        self.mark = 0
        self._history: deque[tuple[int, list[str]]] = deque()  # (first line, lines) handed

    def pieces(self) -> Iterator[Iterator[str]]:
        """Line iterators for chain.from_iterable; raises _BadLine at a bad line."""
        if self._cur is not None:
            yield self._cur  # what an abandoned reader left of the current chunk
        pending = self._pending
        history = self._history
        while True:
            # The csv reader has taken every line handed so far; if the record it is reading
            # started before them, it is inside a quoted cell that runs over line ends.
            start = self.base + self.mark
            if self._handed > start + 1:
                problem = self.runaway(start, self._handed, whole=False)
                if problem is not None:
                    self._cur = None
                    raise _Runaway(problem)
            if not pending and not self._fill():
                self._cur = None
                if self._handed > start:
                    raise _Runaway("a quoted cell is not closed at the end of the file" + _STRAY)
                return
            item = pending.popleft()
            if isinstance(item, _Problem):
                self._cur = None
                raise _BadLine(item)
            lines, clean = item
            # The record's lines are needed again, to check it and by rewind().
            while history and history[0][0] + len(history[0][1]) <= start:
                history.popleft()
            history.append((self._handed, lines))
            self._handed += len(lines)
            if not clean:
                self.dirty_end = self._handed
            self._cur_lines = lines
            self._cur = it = iter(lines)
            yield it

    def consumed(self) -> int:
        """How many lines csv readers have taken so far."""
        return self._handed - (length_hint(self._cur) if self._cur is not None else 0)

    def _between(self, first: int, end: int) -> list[str]:
        """Lines first to end - 1, from those kept since the current record started."""
        out: list[str] = []
        for start, lines in self._history:
            if start + len(lines) > first and start < end:
                out.extend(lines[max(first - start, 0) : end - start])
        return out

    def runaway(self, start: int, end: int, whole: bool = True) -> str | None:
        """Why the record on lines start to end - 1 has run on wrongly, or None if it has not.

        It may take in _RECORD_LIMIT characters of lines after its first. A whole record must
        also read as one record with strict quoting: a quote that closes in the middle of a
        cell is most likely a stray quote meeting the quotes of a later row, while a CSV
        writer's cell with line breaks always passes.
        """
        lines = self._between(start + 1, end)
        if sum(map(len, lines)) > _RECORD_LIMIT:
            return f"a quoted cell runs on for more than {_RECORD_LIMIT} characters" + _STRAY
        if whole:
            try:
                strict = csv.reader(
                    chain(self._between(start, start + 1), lines),
                    delimiter=self._delimiter,
                    strict=True,
                )
                for _ in strict:
                    if strict.line_num < end - start:
                        break
                else:
                    return None
            except csv.Error:
                pass
            return "a quoted cell closes in the middle of a cell, lines below" + _STRAY
        return None

    def rewind(self, line: int, problem: _Problem | None = None) -> None:
        """Hand out the lines from ``line`` on again, to a new csv reader.

        ``line`` is after the start of the record being read, so at most the lines taken
        since it started are handed again. ``problem`` is a bad line pieces() raised at the
        end of those lines; it is raised again after them.
        """
        lines = self._between(line, self.consumed())
        if self._cur is not None:
            lines.extend(self._cur)  # what the reader has not taken of the current chunk
            self._cur = None
        if problem is not None:
            self._pending.appendleft(problem)
        if lines:
            self._pending.appendleft((lines, False))
        self._handed = line
        self._history.clear()

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


def _sheet_records(path: Path, sheet: python_calamine.CalamineSheet) -> Iterator[list[str] | str]:
    """Each row's cells as text, or a problem text for a row too wide or with too long a cell."""
    try:
        for raw in sheet.iter_rows():
            if len(raw) > _ROW_CELLS_LIMIT:
                end = len(raw)  # the grid's width; empty cells at the end do not count
                while end > _ROW_CELLS_LIMIT and raw[end - 1] in ("", None):
                    end -= 1
                if end > _ROW_CELLS_LIMIT:
                    yield f"the row has more than {_ROW_CELLS_LIMIT} cells"
                    continue
                raw = raw[:end]
            cells = [v.strip() if v.__class__ is str else _cell_text(v) for v in raw]
            if cells and max(map(len, cells)) > FIELD_LIMIT:
                column = next(i for i, c in enumerate(cells, 1) if len(c) > FIELD_LIMIT)
                yield f"cell in column {column} is longer than {FIELD_LIMIT} characters"
                continue
            yield cells
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


# ------------------------------------------------------------ spreadsheet limits
#
# python-calamine builds a whole sheet in memory before giving the first row: a grid of rows x
# columns of the sheet's used range (32 bytes a cell, empty or not), every shared string
# copied into each cell that uses it, and for ODS every repeated row and cell written out; it
# also sets aside room for as many shared strings as the file claims. So a small file can ask
# for terabytes, and an allocation that fails aborts the process. Before calamine sees a
# workbook, the ZIP archive and the XML that calamine will read are checked against these
# limits. They are far above what a real roster needs: 2 million rows of 20 columns is 40
# million cells and 1-2 GiB of sheet XML.

_ZIP_DIRECTORY_LIMIT = 4 << 20  # bytes of the ZIP's table of contents (some 40,000 parts)
_ZIP_PARTS_LIMIT = 10_000  # parts in the archive; an XLSX has a few dozen
_ZIP_TOTAL_LIMIT = 4 << 30  # all parts together, uncompressed
_XML_PART_LIMIT = 2 << 30  # one part (a sheet, content.xml), uncompressed
_SHARED_STRINGS_LIMIT = 1 << 30  # xl/sharedStrings.xml, uncompressed: calamine keeps it all
_SMALL_PART_LIMIT = 64 << 20  # workbook.xml and the relationship parts, read whole
_SHARED_CLAIM_LIMIT = 10_000_000  # shared strings claimed beyond twice those found (240 MB)
_RATIO_LIMIT = 100  # uncompressed / compressed size of a part ...
_RATIO_FLOOR = 16 << 20  # ... unpacking to more than this; real sheet XML packs 5-20 times
_SHEET_CELLS_LIMIT = 50_000_000  # rows x columns of a sheet's used range (of all ODS tables)
_STRING_COPY_FLOOR = 1 << 30  # bytes of shared strings copied into cells: at most this ...
_STRING_COPY_PER_CELL = 64  # ... or this many bytes a cell of the sheet, whichever is more
_MARKUP_GAP_LIMIT = 16 << 20  # bytes of XML without a tag (no cell holds that much)
_ROW_CELLS_LIMIT = 16_384  # cells in a row, as calamine gives them (XLSX has 16,384 columns)
_SCAN_BLOCK = 1 << 20  # bytes of XML scanned at a time

_RESAVE = "open it in Excel or WPS, check it and save it again, or export the list as CSV"
_DAMAGED = "the file is damaged or was made to harm: ask the sender for the list again"
_EOCD = struct.Struct("<4s4H2LH")
_EOCD64_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_RELATIONSHIP = re.compile(rb"<(?:[\w.-]+:)?Relationship\b([^>]*)>")
_SHEET_ENTRY = re.compile(rb"<(?:[\w.-]+:)?sheet\b([^>]*)>")
_ATTRIBUTE = re.compile(rb"([\w:.-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_SST = re.compile(rb"<((?:[\w.-]+:)?)sst\b([^>]*)>")
_UNIQUE_COUNT = re.compile(rb"\suniqueCount\s*=\s*[\"']\s*\+?(\d+)")
_DIMENSION = re.compile(rb"<(?:[\w.-]+:)?dimension\b[^>]*?\sref\s*=\s*[\"']([^\"']*)")
_CELL_REF = re.compile(r"([A-Za-z]*)(\d*)")
# Every r="B7" (r="7" on a row) that calamine could take as a cell's or a row's position: its
# attribute parser takes a key after white space or after the quote ending the previous value.
# Matches inside other attributes' values only make the bound larger.
_POSITION = re.compile(rb"[\s\"']r\s*=\s*[\"']([A-Za-z]*)(\d*)")
# A <c> or <row> start tag whose first attribute is not r: calamine may place it after the
# previous cell or row instead of where an r says. Text such as "a:c " counts too, harmlessly.
_UNPLACED = re.compile(rb"[<:](c|row)(?:[/>]|\s++(?!r\s*=))")
# The quick check of a sheet that states its range (see scan_sheet) looks for tags that are
# not written <c r="...> or <row r="...>, and for r attributes written otherwise than r="...".
# Each pattern starts with a literal, which sre finds quickly.
_CELL_UNPLACED = re.compile(rb"<c(?! r=|[^\s/>])")
_ROW_UNPLACED = re.compile(rb"<row(?! r=|[^\s/>])")
_PREFIXED = re.compile(rb":(?:c|row)[\s/>]")
_R_SPELLING = re.compile(rb"r(?:\s++=|=\s|=')")
_VALUE = re.compile(rb"<(?:[\w.-]+:)?v\s*>\s*\+?(\d{1,12})\s*<")
_ODS_TAG = re.compile(
    rb"<table:table(?=[\s>])|<table:table-row\b([^>]*?)(/?)>|</table:table-row\s*>"
)
_ODS_CELL = re.compile(rb"<table:(?:covered-)?table-cell\b([^>]*?)(/?)>")
_ODS_ROWS_REPEATED = re.compile(rb"table:number-rows-repeated\s*=\s*[\"']\s*\+?(\d+)")
_ODS_COLUMNS_REPEATED = re.compile(rb"table:number-columns-repeated\s*=\s*[\"']\s*\+?(\d+)")
_ODS_MAX_ROWS = 1_048_576  # calamine's own caps on an ODS table
_ODS_MAX_COLUMNS = 16_384


def _column_number(letters: bytes | str) -> int:
    number = 0
    for ch in letters.upper() if isinstance(letters, str) else letters.upper().decode():
        number = number * 26 + ord(ch) - 64
    return number


def _digits_over(limit: int) -> str:
    """A regex for decimal numbers (without leading zeros) greater than limit."""
    text = str(limit)
    options = [rf"[1-9]\d{{{len(text)},}}"]
    for i, ch in enumerate(text):
        if ch != "9":
            low = "1" if i == 0 and ch == "0" else str(int(ch) + 1)
            rest = len(text) - i - 1
            options.append(f"{text[:i]}[{low}-9]\\d{{{rest}}}")
    return f"0*+(?:{'|'.join(options)})(?!\\d)"


def _letters_over(limit: int) -> str:
    """A regex for column letters (either case) of columns after column number limit."""
    letters = ""
    while limit > 0:
        limit, rest = divmod(limit - 1, 26)
        letters = chr(65 + rest) + letters
    options = [f"[A-Za-z]{{{len(letters) + 1},}}"]
    for i, ch in enumerate(letters):
        if ch != "Z":
            after = chr(ord(ch) + 1)
            same = "".join(f"[{c}{c.lower()}]" for c in letters[:i])
            rest = len(letters) - i - 1
            options.append(f"{same}[{after}-Z{after.lower()}-z][A-Za-z]{{{rest}}}")
    return f"(?:{'|'.join(options)})(?=\\d)"


def _attributes(raw: bytes) -> dict[bytes, str]:
    return {
        key: html.unescape((double if double or not single else single).decode("utf-8", "replace"))
        for key, double, single in _ATTRIBUTE.findall(raw)
    }


class _WorkbookGuard:
    """Checks a zipped workbook against the spreadsheet limits before calamine reads it.

    check_archive() looks at what calamine reads when it opens the workbook: the ZIP's parts
    list, then the shared strings (XLSX) or all of content.xml (ODS); check_sheet() at an XLSX
    sheet before calamine loads it. They raise SourceReadError naming the limit before any
    large thing is held in memory: parts are read in blocks, and their real size is measured
    rather than taken from the ZIP's headers. Messages name no part or sheet: those names are
    the sender's text.
    """

    def __init__(self, path: Path, archive: zipfile.ZipFile, fmt: str) -> None:
        self.path = path
        self.archive = archive
        self.fmt = fmt
        # calamine finds parts by name case-insensitively, with \ read as /.
        self.parts = {i.filename.replace("\\", "/").lower(): i for i in archive.infolist()}
        self.xl = "xl/"
        self.string_lengths = array("L")  # a bound on each shared string's bytes, in order
        self.longest_string = 0

    def refuse(self, what: str, fix: str = _RESAVE) -> SourceReadError:
        return SourceReadError(self.path, f"{what}; {fix}")

    # -- the archive

    def check_archive(self) -> None:
        infos = self.archive.infolist()
        if len(infos) > _ZIP_PARTS_LIMIT:
            raise self.refuse(
                f"the archive holds {len(infos):,} parts (at most {_ZIP_PARTS_LIMIT:,})", _DAMAGED
            )
        total = 0
        for info in infos:
            total += info.file_size
            if info.file_size > _XML_PART_LIMIT:
                raise self.refuse(
                    f"a part of the archive unpacks to {info.file_size:,} bytes "
                    f"(at most {_XML_PART_LIMIT:,})",
                    _DAMAGED,
                )
            self.check_ratio(info.file_size, info.compress_size)
        if total > _ZIP_TOTAL_LIMIT:
            raise self.refuse(
                f"the archive unpacks to {total:,} bytes (at most {_ZIP_TOTAL_LIMIT:,})", _DAMAGED
            )
        if self.fmt == "xlsx":
            self.xl = self.office_folder()
            for name in ("workbook.xml", "_rels/workbook.xml.rels", "styles.xml"):
                self.measure(self.xl + name)
            strings = self.parts.get(f"{self.xl}sharedstrings.xml")
            if strings is not None:
                self.scan_shared_strings(strings)
        elif self.fmt == "ods":
            self.measure("meta-inf/manifest.xml")
            content = self.parts.get("content.xml")
            if content is not None:
                self.scan_ods(content)

    def check_ratio(self, size: int, packed: int) -> None:
        if size > _RATIO_FLOOR and size > _RATIO_LIMIT * max(packed, 1):
            raise self.refuse(
                f"a part of the archive unpacks from {packed:,} to more than {size:,} bytes, "
                f"over {_RATIO_LIMIT} times its size (a ZIP bomb)",
                _DAMAGED,
            )

    def blocks(self, info: zipfile.ZipInfo, limit: int) -> Iterator[bytes]:
        """The part's bytes in blocks that end before a '<', so no tag is cut; limit in all.

        The ZIP's stated size may lie (calamine does not rely on it): the part is read to its
        real end, and refused once it passes limit or _RATIO_LIMIT.
        """
        probe = copy.copy(info)
        probe.file_size = limit + 1  # read past the stated size, to the real end
        probe.CRC = None  # type: ignore[assignment]  # calamine checks it
        size = 0
        rest = b""
        try:
            with self.archive.open(probe) as stream:
                while block := stream.read(_SCAN_BLOCK):
                    size += len(block)
                    if size > limit:
                        raise self.refuse(
                            f"a part of the archive unpacks to more than {limit:,} bytes",
                            _DAMAGED,
                        )
                    self.check_ratio(size, info.compress_size)
                    block = rest + block
                    cut = block.rfind(b"<")
                    if cut <= 0:
                        rest = block
                        if len(rest) > _MARKUP_GAP_LIMIT:
                            raise self.refuse(
                                f"a part of the archive has more than {_MARKUP_GAP_LIMIT:,} "
                                "bytes of text in one place",
                                _DAMAGED,
                            )
                        continue
                    rest = block[cut:]
                    yield block[:cut]
        except SourceReadError:
            raise
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as e:
            raise _corrupt(self.path, e, self.fmt) from None
        except (NotImplementedError, RuntimeError) as e:  # compression method, encryption
            raise _corrupt(self.path, e, self.fmt) from None
        if rest:
            yield rest

    def measure(self, name: str) -> None:
        """Read through a part calamine reads, to check its real size and packing."""
        info = self.parts.get(name.lower())
        if info is not None:
            for _ in self.blocks(info, _XML_PART_LIMIT):
                pass

    def read_small(self, name: str) -> bytes:
        info = self.parts.get(name.lower())
        return b"" if info is None else b"".join(self.blocks(info, _SMALL_PART_LIMIT))

    # -- XLSX

    def office_folder(self) -> str:
        """Where workbook.xml and sharedStrings.xml are, worked out as calamine does."""
        for raw in _RELATIONSHIP.findall(self.read_small("_rels/.rels")):
            values = _attributes(raw)
            if values.get(b"Type", "").endswith("/relationships/officeDocument"):
                target = values.get(b"Target", "")
                return target[: target.rfind("/") + 1].removeprefix("/").lower()
        return "xl/"

    def sheet_parts(self, name: str) -> list[zipfile.ZipInfo]:
        """The part calamine reads for the sheet called name; every candidate if unsure."""
        targets: dict[str, str] = {}
        for raw in _RELATIONSHIP.findall(self.read_small(f"{self.xl}_rels/workbook.xml.rels")):
            values = _attributes(raw)
            target = values.get(b"Target", "")
            path = target[1:] if target.startswith("/") else self.xl + target
            targets[values.get(b"Id", "")] = path.replace("\\", "/").lower()
        for raw in _SHEET_ENTRY.findall(self.read_small(f"{self.xl}workbook.xml")):
            values = _attributes(raw)
            rel = next((v for k, v in values.items() if k.split(b":")[-1] == b"id"), None)
            if values.get(b"name") == name and rel in targets and targets[rel] in self.parts:
                return [self.parts[targets[rel]]]
        known = set(targets.values()) | {n for n in self.parts if "/worksheets/" in n}
        return [self.parts[n] for n in sorted(known) if n in self.parts]

    def scan_shared_strings(self, info: zipfile.ZipInfo) -> None:
        """Bound each shared string's bytes: those between its <si> and the next."""
        if info.file_size > _SHARED_STRINGS_LIMIT:
            raise self.refuse(
                f"its shared strings unpack to {info.file_size:,} bytes "
                f"(at most {_SHARED_STRINGS_LIMIT:,})"
            )
        lengths = self.string_lengths
        tag = b"<si"
        declared: int | None = None
        carry = -1  # bytes of the string the last block ended in; -1 before the first
        for block in self.blocks(info, _SHARED_STRINGS_LIMIT):
            if declared is None and (root := _SST.search(block)) is not None:
                tag = b"<" + root.group(1) + b"si"
                count = _UNIQUE_COUNT.search(root.group(2))
                declared = int(count.group(1)) if count else 0
            # A comment or CDATA may hold "<si": a block with one is one piece, a bound on
            # every string in it.
            pieces = [block] if b"<!" in block else block.split(tag)
            if carry >= 0:
                carry += len(pieces[0])
            if len(pieces) > 1:
                if carry >= 0:
                    lengths.append(carry)
                lengths.extend(map(len, pieces[1:-1]))
                carry = len(pieces[-1])
        if carry >= 0:
            lengths.append(carry)
        self.longest_string = max(lengths, default=0)
        # calamine sets aside room (24 bytes each) for uniqueCount strings before it reads one.
        # Some writers put the count of references there: a count up to _SHARED_CLAIM_LIMIT
        # costs little memory and is let be.
        if declared is not None and declared > max(2 * len(lengths) + 1024, _SHARED_CLAIM_LIMIT):
            raise self.refuse(
                f"its shared strings claim {declared:,} entries but hold about {len(lengths):,}",
                _DAMAGED,
            )

    def check_sheet(self, name: str) -> None:
        for info in self.sheet_parts(name):
            self.scan_sheet(info)

    def scan_sheet(self, info: zipfile.ZipInfo) -> None:
        """Bound the grid calamine builds for a sheet, and the shared strings copied into it.

        A sheet saved by Excel, WPS or a library states its used range (<dimension>), places
        every cell and row with an r attribute written r="..." first, and has none outside
        that range; checking that takes a quick search. Any other sheet is measured in full.
        """
        dimension = self.check_dimension(next(self.blocks(info, _XML_PART_LIMIT), b"")[:65536])
        if dimension is not None and (cells := self.inside(info, *dimension)) is not None:
            self.check_string_copies(info, cells)
            return
        rows = columns = unplaced_rows = unplaced_cells = cells = 0
        for block in self.blocks(info, _XML_PART_LIMIT):
            positions = _POSITION.findall(block)
            if positions:
                letters, digits = zip(*positions, strict=True)
                cells += len(positions)
                columns = max(columns, *map(_column_number, set(letters)))
                rows = max(rows, *map(int, set(digits) - {b""}), 0)
            for kind in _UNPLACED.findall(block):
                cells += 1
                if kind == b"c":
                    unplaced_cells += 1
                else:
                    unplaced_rows += 1
        # A tag without r goes one after the previous cell, or one row down.
        self.check_grid(rows + unplaced_rows, columns + unplaced_cells, "has cells")
        self.check_string_copies(info, cells)

    def check_grid(self, rows: int, columns: int, how: str) -> None:
        if rows * columns > _SHEET_CELLS_LIMIT:
            raise self.refuse(
                f"a sheet {how} over {rows:,} rows and {columns:,} columns, more than "
                f"{_SHEET_CELLS_LIMIT:,} cells in all (is something far below or to the right "
                "of the list? Ctrl+End in Excel goes to the last cell)"
            )

    def check_dimension(self, head: bytes) -> tuple[int, int] | None:
        """The last row and column of the sheet's stated used range, if it states one."""
        found = _DIMENSION.search(head)
        if found is None:
            return None
        corners = found.group(1).decode("ascii", "replace").split(":")
        parsed = [_CELL_REF.fullmatch(c) for c in corners]
        if not all(m and m.group(1) and m.group(2) for m in parsed):
            return None
        (c1, r1), (c2, r2) = (m.groups() for m in (parsed[0], parsed[-1]) if m)
        rows = abs(int(r2) - int(r1)) + 1
        columns = abs(_column_number(c2) - _column_number(c1)) + 1
        self.check_grid(rows, columns, "says it spans")
        return max(int(r1), int(r2)), max(_column_number(c1), _column_number(c2))

    def inside(self, info: zipfile.ZipInfo, rows: int, columns: int) -> int | None:
        """If every cell and row is placed by r="..." within about the first rows x columns,
        a bound on the cells of the sheet; else None."""
        # Rounded up to two significant digits, which makes the pattern quicker to fail.
        digits = str(rows)
        if len(digits) > 2:
            rows = (int(digits[:2]) + 1) * 10 ** (len(digits) - 2) - 1
        if rows * columns > _SHEET_CELLS_LIMIT:
            return None
        outside = re.compile(
            f'r="(?:{_letters_over(columns)}|[A-Za-z]*+{_digits_over(rows)})'.encode()
        )
        checks = (outside, _R_SPELLING, _CELL_UNPLACED, _ROW_UNPLACED, _PREFIXED)
        for block in self.blocks(info, _XML_PART_LIMIT):
            for pattern in checks:
                if pattern.search(block):
                    return None
        return rows * columns

    def check_string_copies(self, info: zipfile.ZipInfo, cells: int) -> None:
        """calamine copies a shared string into every cell that uses it."""
        budget = max(_STRING_COPY_FLOOR, _STRING_COPY_PER_CELL * cells)
        if cells * self.longest_string <= budget:
            return
        lengths = self.string_lengths
        count = len(lengths)
        copied = 0
        for block in self.blocks(info, _XML_PART_LIMIT):
            # Numbers in <v> of other cells count as indexes too: the bound only grows.
            indexes = [i for i in map(int, _VALUE.findall(block)) if i < count]
            copied += sum(map(lengths.__getitem__, indexes))
            if copied > budget:
                raise self.refuse(
                    f"a sheet repeats shared strings into more than {budget:,} bytes of cells"
                )

    # -- ODS

    def scan_ods(self, info: zipfile.ZipInfo) -> None:
        """Bound the cells calamine writes out for repeated ODS rows and cells, in all tables.

        calamine reads every table when it opens the file. For each row element it writes
        out its cells, repeats included, and each empty run but the last; then the table's
        grid: its rows, repeats counted, up to the last with a value, by its widest row. Each
        copy of a repeated cell holds a copy of its text.
        """
        grid = written = copies = 0
        rows = last_rows = width = 0
        row_attrs: bytes | None = None  # the row being read, if its end is still to come
        parts: list[bytes] = []
        held = 0
        for block in self.blocks(info, _XML_PART_LIMIT):
            start = 0
            for tag in _ODS_TAG.finditer(block):
                text = tag.group(0)
                if text.startswith(b"</"):
                    if row_attrs is None:
                        continue
                    parts.append(block[start : tag.start()])
                    content, attrs, row_attrs = b"".join(parts), row_attrs, None
                    parts, held = [], 0
                elif tag.group(1) is None:  # a new table
                    grid += last_rows * width
                    rows = last_rows = width = 0
                    continue
                elif tag.group(2):  # <table:table-row/>
                    content, attrs = b"", tag.group(1)
                else:
                    row_attrs, start = tag.group(1), tag.end()
                    parts, held = [], 0
                    continue
                repeats = _ODS_ROWS_REPEATED.search(attrs)
                count = min(int(repeats.group(1)) if repeats else 1, _ODS_MAX_ROWS)
                rows = min(rows + count, _ODS_MAX_ROWS)
                pushed, filled, text = self.ods_row(content)
                written += pushed
                copies += max(0, count * text - len(content))  # beyond the XML's own text
                if filled:
                    last_rows, width = rows, max(width, filled)
            if row_attrs is not None:
                parts.append(block[start:])
                held += len(block) - start
                if held > _SMALL_PART_LIMIT:
                    raise self.refuse(f"a row in content.xml is over {_SMALL_PART_LIMIT:,} bytes")
            if max(grid + last_rows * width, written) > _SHEET_CELLS_LIMIT:
                raise self.refuse(
                    f"its repeated rows and cells make more than {_SHEET_CELLS_LIMIT:,} cells"
                )
            if copies > _STRING_COPY_FLOOR:
                raise self.refuse(
                    f"its repeated rows and cells copy more than {_STRING_COPY_FLOOR:,} bytes "
                    "of text"
                )

    @staticmethod
    def ods_row(content: bytes) -> tuple[int, int, int]:
        """For a row element: the cells calamine writes out, its width up to the last cell
        with a value, and a bound on the bytes of text in its cells, repeats counted."""
        if b"repeated" not in content:
            count = content.count(b"<table:table-cell") + content.count(b"<table:covered-")
            if b"value" in content or b"formula" in content:
                return count, count, len(content)
            return count, 0, 0
        position = written = filled = text = 0
        cells = list(_ODS_CELL.finditer(content))
        for cell, after in zip(cells, [*cells[1:], None], strict=True):
            attrs, closed = cell.groups()
            repeats = _ODS_COLUMNS_REPEATED.search(attrs)
            count = int(repeats.group(1)) if repeats else 1
            written = position  # an empty run is written out once another cell follows it
            position = min(position + count, _ODS_MAX_COLUMNS)
            if not closed or b"value" in attrs or b"formula" in attrs:
                filled = written = position
                end = after.start() if after is not None else len(content)
                text += min(count, _ODS_MAX_COLUMNS) * (end - cell.start())
        return written, filled, text


# XLS (BIFF in an OLE compound file) ------------------------------------------------------
#
# calamine reads every sheet of an XLS file when it opens it, each into a grid as for XLSX,
# after setting aside room for the cells its DIMENSIONS record states (a few bytes can state
# billions). The check walks the records calamine reads.

_CFB_END = 0xFFFFFFFE
_XLS_CELLS = {0x0203, 0x0204, 0x00D6, 0x0205, 0x027E, 0x00FD, 0x0006}  # row, column first
_XLS_STREAMS = ("Workbook", "Book", "WORKBOOK", "BOOK")


class _Compound:
    """Just enough of an OLE compound file to read one stream, as calamine does."""

    def __init__(self, data: bytes) -> None:
        if len(data) < 512:
            raise ValueError("short header")
        self.data = data
        shift, mini_shift = struct.unpack_from("<HH", data, 0x1E)
        if shift not in (9, 12) or mini_shift != 6:
            raise ValueError("sector size")
        self.size = 1 << shift
        self.sectors = (len(data) - 512) // self.size + 1
        (fat_count, directory, _, cutoff, mini_fat, mini_count, difat, difat_count) = (
            struct.unpack_from("<L L L L L L L L", data, 0x2C)
        )
        self.cutoff = cutoff
        ids = list(struct.unpack_from("<109L", data, 0x4C))
        per = self.size // 4
        for _ in range(min(difat_count, self.sectors)):
            if difat >= self.sectors:
                break
            entries = struct.unpack_from(f"<{per}L", self.sector(difat))
            ids.extend(entries[:-1])
            difat = entries[-1]
        fat: list[int] = []
        for sector in ids[: min(fat_count, self.sectors)]:
            if sector < self.sectors:
                fat.extend(struct.unpack_from(f"<{per}L", self.sector(sector)))
        self.fat = fat
        self.entries: list[tuple[str, int, int]] = []
        raw = self.chain(directory, self.fat, self.size, self.sector)
        for at in range(0, len(raw) - 127, 128):
            length = min(struct.unpack_from("<H", raw, at + 64)[0], 64)
            name = raw[at : at + max(length - 2, 0)].decode("utf-16-le", "replace")
            start, size = struct.unpack_from("<LL", raw, at + 116)
            self.entries.append((name, start, size))
        mini = self.chain(mini_fat, self.fat, self.size, self.sector)
        self.mini_fat = [entry for (entry,) in struct.iter_unpack("<L", mini)][: mini_count * per]
        root = self.entries[0] if self.entries else ("", _CFB_END, 0)
        self.mini_stream = self.chain(root[1], self.fat, self.size, self.sector)[: root[2]]

    def sector(self, number: int) -> bytes:
        start = 512 + number * self.size
        return self.data[start : start + self.size]

    def mini_sector(self, number: int) -> bytes:
        return self.mini_stream[number * 64 : number * 64 + 64]

    @staticmethod
    def chain(start: int, fat: list[int], size: int, read: Callable[[int], bytes]) -> bytes:
        """The sectors of a chain, joined; a chain that loops is cut."""
        parts = []
        for _ in range(len(fat) + 1):
            if start >= len(fat):  # includes the end and free marks
                break
            parts.append(read(start))
            start = fat[start]
        return b"".join(parts)

    def stream(self, name: str) -> bytes | None:
        for entry, start, size in self.entries:
            if entry == name:
                if size < self.cutoff:
                    return self.chain(start, self.mini_fat, 64, self.mini_sector)[:size]
                return self.chain(start, self.fat, self.size, self.sector)[:size]
        return None


def _xls_records(stream: bytes, at: int) -> Iterator[tuple[int, int, int]]:
    """(type, start of data, end of data) of the records from ``at``, as calamine cuts them."""
    end = len(stream)
    while at + 4 <= end:
        kind, length = struct.unpack_from("<HH", stream, at)
        if at + 4 + length > end:
            return
        yield kind, at + 4, at + 4 + length
        at += 4 + length


def _sst_lengths(
    stream: bytes, first: int, last: int, continues: list[tuple[int, int]]
) -> list[int]:
    """Characters of each string of an SST record and its CONTINUE records."""
    segments = [(first + 8, last), *continues]
    lengths: list[int] = []
    index, at = 0, segments[0][0]

    def skip(count: int) -> None:
        nonlocal index, at
        while count > 0 and index < len(segments):
            step = min(count, segments[index][1] - at)
            at += step
            count -= step
            if at >= segments[index][1]:
                index += 1
                at = segments[index][0] if index < len(segments) else at

    while index < len(segments):
        if at >= segments[index][1]:
            index += 1
            if index < len(segments):
                at = segments[index][0]
            continue
        if at + 3 > segments[index][1]:
            break
        count, flags = struct.unpack_from("<HB", stream, at)
        at += 3
        runs = extra = 0
        if flags & 0x8:
            (runs,) = struct.unpack_from("<H", stream, at)
            at += 2
        if flags & 0x4:
            (extra,) = struct.unpack_from("<L", stream, at)
            at += 4
        lengths.append(count)
        width = 2 if flags & 0x1 else 1
        left = count
        while left > 0 and index < len(segments):
            fit = min(left, (segments[index][1] - at) // width)
            at += fit * width
            left -= fit
            if left > 0:
                index += 1
                if index >= len(segments):
                    break
                at = segments[index][0]
                width = 2 if stream[at] & 0x1 else 1
                at += 1
        skip(runs * 4 + extra)
    return lengths


def _check_xls(path: Path) -> None:
    """Refuse an XLS file whose sheets calamine would build into grids over the limits."""
    try:
        compound = _Compound(path.read_bytes())
        stream = next((s for n in _XLS_STREAMS if (s := compound.stream(n)) is not None), None)
    except (OSError, ValueError, struct.error, IndexError):
        return  # not a compound file calamine can read either: it says what is wrong
    if stream is None:
        return  # not a workbook (a Word file, an encrypted XLSX): calamine says so

    def refuse(what: str) -> SourceReadError:
        return SourceReadError(path, f"{what}; {_RESAVE}")

    sheets: list[int] = []
    lengths: list[int] = []
    pending_sst: tuple[int, int] | None = None
    continues: list[tuple[int, int]] = []
    for kind, start, end in _xls_records(stream, 0):
        if pending_sst is not None and kind != 0x003C:
            lengths = _sst_lengths(stream, *pending_sst, continues)
            pending_sst = None
        if kind == 0x0085 and end - start >= 4:  # BoundSheet8: where the sheet's records are
            sheets.append(struct.unpack_from("<L", stream, start)[0])
        elif kind == 0x00FC:  # SST: the shared strings
            pending_sst, continues = (start, end), []
        elif kind == 0x003C and pending_sst is not None:
            continues.append((start, end))
        elif kind == 0x000A:
            break
    if pending_sst is not None:
        lengths = _sst_lengths(stream, *pending_sst, continues)
    grids = copies = 0
    for position in sheets:
        if position >= len(stream):
            continue
        low_row = low_col = 1 << 32
        high_row = high_col = -1
        depth, seen = 0, False
        for kind, start, end in _xls_records(stream, position):
            if depth:
                depth += 1 if kind == 0x0809 else -1 if kind == 0x000A else 0
                continue
            if kind == 0x0809:
                depth, seen = (1, seen) if seen else (0, True)
                continue
            if kind == 0x000A:
                break
            size = end - start
            if kind == 0x0200 and size in (10, 14):  # Dimensions: calamine sets aside room
                if size == 14:
                    first, last, c_first, c_last = struct.unpack_from("<LLHH", stream, start)
                else:
                    first, last, c_first, c_last = struct.unpack_from("<HHHH", stream, start)
                if c_first > 0xFF or c_last < c_first:
                    c_first = 0
                if last >= 1 and c_last >= 1:
                    rows = (last - 1 - first + 1) % (1 << 32)
                    columns = (c_last - 1 - c_first + 1) % (1 << 32)
                    if rows * columns > _SHEET_CELLS_LIMIT:
                        raise refuse(
                            f"a sheet says it spans {rows:,} rows and {columns:,} columns, "
                            f"more than {_SHEET_CELLS_LIMIT:,} cells in all"
                        )
            elif kind in _XLS_CELLS or kind == 0x00BD:
                if size < 6:
                    continue
                row, col = struct.unpack_from("<HH", stream, start)
                last_col = col
                if kind == 0x00BD:
                    (last_col,) = struct.unpack_from("<H", stream, end - 2)
                elif kind == 0x00FD and size >= 10:
                    (index,) = struct.unpack_from("<L", stream, start + 6)
                    if index < len(lengths):
                        copies += 3 * lengths[index]
                low_row, high_row = min(low_row, row), max(high_row, row)
                low_col, high_col = min(low_col, col), max(high_col, col, last_col)
        if high_row >= 0:
            grids += (high_row - low_row + 1) * (high_col - low_col + 1)
        if grids > _SHEET_CELLS_LIMIT:
            raise refuse(
                f"its sheets have cells over grids of more than {_SHEET_CELLS_LIMIT:,} cells "
                "(is something far below or to the right of a list? Ctrl+End in Excel goes "
                "to the last cell)"
            )
        budget = max(_STRING_COPY_FLOOR, _STRING_COPY_PER_CELL * grids)
        if copies > budget:
            raise refuse(f"its sheets repeat shared strings into more than {budget:,} bytes")


def _zip_directory_size(f: BinaryIO) -> int:
    """Bytes of a ZIP's table of contents, from its end record (0 if there is none)."""
    f.seek(0, io.SEEK_END)
    size = f.tell()
    f.seek(max(0, size - 65536 - _EOCD.size))
    tail = f.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + _EOCD.size > len(tail):
        return 0
    directory: int = _EOCD.unpack_from(tail, at)[5]
    if directory == 0xFFFFFFFF and at >= _EOCD64_LOCATOR.size:
        locator = _EOCD64_LOCATOR.unpack_from(tail, at - _EOCD64_LOCATOR.size)
        if locator[0] == b"PK\x06\x07":
            f.seek(locator[2])
            record = f.read(_EOCD64.size)
            if len(record) == _EOCD64.size and record.startswith(b"PK\x06\x06"):
                directory = _EOCD64.unpack(record)[8]
    return directory


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
        self._records: Iterator[list[str] | str] | None = None
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

    def clean_lines(self, limit: int = CLEAN_TEXT_LIMIT) -> Any:
        """The file's lines after the header as a polars Series, when the file is text that
        needs none of what rows() does for broken files; None otherwise. Call it before rows();
        after it returned lines, rows() cannot be used.

        Clean means: at most ``limit`` bytes and ``CLEAN_LINES_LIMIT`` lines; the whole file
        decodes strictly in the encoding detected (no mixed or undecodable lines); no quote
        character anywhere (so no quoted
        cell, stray quote or line break inside a cell); no NUL, other control character, odd
        line break or BOM inside; CR only as part of CRLF; no line longer than FIELD_LIMIT;
        and the header is the first non-blank line (no title rows). Such a file's records are
        its lines, its cells what lies between delimiters: exactly what rows() would read
        (tests/sources/test_clean_lines.py holds the two to each other).
        """
        lines = self._lines
        if (
            self.format != "csv"
            or self._started
            or self._early
            or self._number
            or lines is None
            or lines._unit != 1
            or self.delimiter is None
        ):
            return None
        try:
            if self.path.stat().st_size > limit:
                return None
            raw = self.path.read_bytes()
        except OSError:
            return None
        if raw.count(b"\n") > CLEAN_LINES_LIMIT:
            return None
        start = next((len(magic) for magic, _, _ in _BOMS if raw.startswith(magic)), 0)
        import polars as pl

        codec = lines._codec
        delimiter = self.delimiter
        parts = []
        first = True
        while start < len(raw):
            # Blocks of whole lines: an LF byte ends a line in every encoding read here (one
            # byte per code unit, ASCII-compatible); a block is decoded, checked and split
            # alone, so that the file is never held decoded whole.
            stop = len(raw)
            if stop - start > _CLEAN_BLOCK:
                cut = raw.rfind(b"\n", start, start + _CLEAN_BLOCK)
                if cut < 0:
                    return None  # a line longer than a block is longer than FIELD_LIMIT
                stop = cut + 1
            try:
                text = raw[start:stop].decode(codec)
            except UnicodeDecodeError:
                return None
            if '"' in text:
                return None
            if "\r" in text:
                text = text.replace("\r\n", "\n")
                if "\r" in text:
                    return None
            if first:
                first = False
                text = self._after_header(text, delimiter)
                if text is None:
                    return None
            start = stop
            if not text:
                continue
            block = pl.Series("line", [text])
            del text
            if block.str.contains(_UNCLEAN).item():
                return None
            # Each line ends with LF but perhaps the last: "a\n" is one line, "\n" a blank one.
            parts.append(block.str.strip_suffix("\n").str.split("\n").explode())
        del raw
        series = pl.concat(parts) if parts else pl.Series("line", [], dtype=pl.String)
        if series.len() and series.str.len_chars().max() > FIELD_LIMIT:  # type: ignore[operator]
            return None
        self._started = True
        self.close()
        return series

    def _after_header(self, text: str, delimiter: str) -> str | None:
        """The text after the header line when the header is its first non-blank line and
        reads as rows() read it, with nothing unclean before it; None otherwise."""
        header_at = 0
        while True:
            end = text.find("\n", header_at)
            line = text[header_at:] if end < 0 else text[header_at:end]
            cells = [cell.strip() for cell in line.split(delimiter)]
            if any(cells):
                break
            if end < 0:
                return None
            header_at = end + 1
        if _filled(cells) < 2 or _clean_header(cells) != self.headers:
            return None
        if _UNCLEAN_HEAD.search(text, 0, len(text) if end < 0 else end):
            return None
        return "" if end < 0 else text[end + 1 :]

    # -- header

    def _next_record(self) -> list[str] | str | None:
        """Next record's stripped cells, a problem text, or None at the end."""
        if self._records is not None:
            return next(self._records, None)
        lines = self._lines
        assert lines is not None
        if self._reader is None:
            self._new_reader()
        reader = self._reader
        try:
            record = next(reader)
        except StopIteration:
            return None
        except (_BadLine, _Runaway, csv.Error) as e:
            self._reader = None
            return self._broken(lines, reader.line_num, e)
        end = reader.line_num
        if end > lines.mark + 1:
            problem = lines.runaway(lines.base + lines.mark, lines.base + end)
            if problem is not None:
                self._reader = None
                lines.rewind(lines.base + lines.mark + 1)
                return problem
        lines.mark = end
        return list(map(str.strip, record))

    def _new_reader(self) -> None:
        lines = self._lines
        assert lines is not None and self.delimiter is not None
        csv.field_size_limit(FIELD_LIMIT)  # process-wide; reset in case someone changed it
        lines.base = lines.consumed()
        lines.mark = 0
        self._reader = csv.reader(chain.from_iterable(lines.pieces()), delimiter=self.delimiter)

    def _broken(self, lines: _Lines, line_num: int, error: Exception) -> str:
        """The problem text for a record the csv reader stopped at; rewinds past its start.

        line_num is the reader's after the error: the lines it took, the record's included.
        A record that had taken more than its first line is read again from its second, so
        that a stray quote costs its own row only.
        """
        taken = line_num - lines.mark  # lines of the record the reader took
        start = lines.base + lines.mark
        if isinstance(error, _BadLine):
            problem = error.problem.describe(taken)
            if taken > 0:
                lines.rewind(start + 1, error.problem)
            return problem
        if isinstance(error, _Runaway):
            lines.rewind(start + 1)
            return error.problem
        if taken > 1:
            lines.rewind(start + 1)
            if "field larger than field limit" in str(error):
                return f"a quoted cell runs on for more than {FIELD_LIMIT} characters" + _STRAY
            return f"the row cannot be parsed as CSV (at line {taken} of the row)"
        return self._csv_problem(error)

    def _csv_problem(self, error: Exception) -> str:
        """The problem text for a one-line record the csv reader could not parse."""
        if "field larger than field limit" in str(error):
            column = None
            line = self._lines.current_line() if self._lines else None
            if line is not None and self.delimiter:
                column = _column_over_limit(line, self.delimiter)
            cell = f"cell in column {column}" if column else "a cell"
            return f"{cell} is longer than {FIELD_LIMIT} characters"
        return "the row cannot be parsed as CSV"

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
        base, mark = lines.base, lines.mark
        try:
            while True:
                if reader is None:
                    csv.field_size_limit(FIELD_LIMIT)
                    base = lines.base = lines.consumed()
                    mark = lines.mark = 0
                    reader = csv.reader(chain.from_iterable(lines.pieces()), delimiter=delimiter)
                problem = None
                try:
                    for cells in reader:
                        number += 1
                        end = reader.line_num
                        if end > mark + 1:
                            # A record over several lines holds a quoted line break, which may
                            # begin or end a cell even in a chunk with no other whitespace.
                            problem = lines.runaway(base + mark, base + end)
                            if problem is not None:
                                break
                            cells = list(map(strip, cells))
                        elif base + mark < lines.dirty_end:
                            cells = list(map(strip, cells))
                        # Published for pieces(), which checks the record being read.
                        lines.mark = mark = end
                        if not any(cells):
                            blank += 1
                            continue
                        if len(cells) != width:
                            _fit(cells, width)
                        yield new(Row, (number, cells, None))
                    else:
                        return
                    # The record ended, but after taking in too much: read again from the
                    # line after its first.
                    lines.rewind(base + mark + 1)
                except (_BadLine, _Runaway, csv.Error) as e:
                    # A new reader goes on from the next line (or the one after the broken
                    # record's first), so one broken record costs one problem row.
                    number += 1
                    problem = self._broken(lines, reader.line_num, e)
                reader = None
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
                if isinstance(cells, str):
                    yield Row(number, None, cells)
                    continue
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
    if not zipped:
        _check_xls(path)
        return _load_workbook(path, "xls", None)
    try:
        with open(path, "rb") as f:
            directory = _zip_directory_size(f)
    except OSError as e:
        raise SourceReadError(path, f"reading failed ({e.strerror})") from None
    if directory > _ZIP_DIRECTORY_LIMIT:
        raise SourceReadError(
            path,
            f"the archive's list of parts takes {directory:,} bytes (at most "
            f"{_ZIP_DIRECTORY_LIMIT:,}); {_DAMAGED}",
        )
    try:
        archive = zipfile.ZipFile(path)
    except Exception as e:
        raise _corrupt(path, e, "xlsx") from None
    with archive:
        try:
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
        guard = _WorkbookGuard(path, archive, fmt)
        guard.check_archive()
        return _load_workbook(path, fmt, guard)


def _load_workbook(path: Path, fmt: str, guard: _WorkbookGuard | None) -> Table:
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
        return _first_sheet_table(path, fmt, workbook, guard)
    except BaseException:
        workbook.close()
        raise


def _first_sheet_table(
    path: Path,
    fmt: str,
    workbook: python_calamine.CalamineWorkbook,
    guard: _WorkbookGuard | None,
) -> Table:
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
        if guard is not None and fmt == "xlsx":
            guard.check_sheet(meta.name)  # calamine builds the whole sheet in memory
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
