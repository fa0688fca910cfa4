"""Reading grievance files: CSV (any usual encoding), XLSX/XLS/ODS, or JSON Lines.

Columns: ``ref``, ``received_at`` (``YYYY-MM-DD HH:MM``, Beijing time), ``text``, and optionally
``id_number``, ``phone``, ``name``, ``county`` (six-digit code) and ``channel``. A row that cannot
be used as it is becomes a quarantined grievance with the reason; no message quotes a value.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from chelun.calendar import BEIJING
from chelun.identity.normalise import normalise_id, normalise_phone
from chelun.sources.readers import SourceReadError, open_table

COLUMNS = ("ref", "received_at", "text", "id_number", "phone", "name", "county", "channel")
REQUIRED = ("ref", "received_at", "text")
JSON_SUFFIXES = (".jsonl", ".ndjson")
REF_LIMIT = 100
_TIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S")


@dataclass
class GrievanceRow:
    """One grievance as read: the values to store, and the reason when it is quarantined."""

    row: int
    ref: str
    values: dict[str, object] = field(default_factory=dict)
    problem: str | None = None


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_grievances(path: Path) -> Iterator[GrievanceRow]:
    """Every row of a grievance file, checked; raises ``SourceReadError`` for a file that has no
    grievance columns or cannot be read."""
    stand_in = f"~{file_digest(path)[:8]}"
    for number, cells, problem in _records(path):
        if cells is None:
            yield GrievanceRow(number, f"{stand_in}-{number}", {}, problem or "unreadable row")
            continue
        yield checked(number, cells, stand_in)


def _records(path: Path) -> Iterator[tuple[int, dict[str, str] | None, str | None]]:
    if path.suffix.lower() in JSON_SUFFIXES:
        yield from _json_records(path)
        return
    with open_table(path) as table:
        headers = [header.strip().lower() for header in table.headers]
        _check_headers(path, headers)
        for row in table.rows():
            if row.cells is None:
                yield row.number, None, row.problem
                continue
            yield row.number, dict(zip(headers, row.cells, strict=False)), None


def _check_headers(path: Path, headers: list[str]) -> None:
    missing = [column for column in REQUIRED if column not in headers]
    if missing:
        raise SourceReadError(
            path,
            f"no column {', '.join(missing)}: a grievance file has the columns "
            f"{', '.join(REQUIRED)} and optionally {', '.join(COLUMNS[3:])} (docs/grievances.md)",
        )


def _json_records(path: Path) -> Iterator[tuple[int, dict[str, str] | None, str | None]]:
    seen_columns = False
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise SourceReadError(path, "is not UTF-8 text, as JSON Lines must be") from None
    number = 0
    for line in lines:
        if not line.strip():
            continue
        number += 1
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, None, f"line {number} is not JSON (column {exc.colno})"
            continue
        if not isinstance(record, dict):
            yield number, None, f"line {number} is not a JSON object"
            continue
        if not seen_columns:
            _check_headers(path, [str(key).lower() for key in record])
            seen_columns = True
        yield (
            number,
            {
                str(key).lower(): "" if value is None else str(value).strip()
                for key, value in record.items()
            },
            None,
        )
    if number == 0:
        raise SourceReadError(path, "holds no grievances")


def parse_received(value: str) -> dt.datetime | None:
    """``YYYY-MM-DD HH:MM`` in Beijing time (or an ISO instant with its offset), as UTC."""
    value = value.strip()
    for layout in _TIME_FORMATS:
        try:
            return dt.datetime.strptime(value, layout).replace(tzinfo=BEIJING).astimezone(dt.UTC)
        except ValueError:
            continue
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=BEIJING)
    return parsed.astimezone(dt.UTC)


def checked(number: int, cells: dict[str, str], stand_in: str) -> GrievanceRow:
    """The values of one row to store, and what is wrong with it if anything."""
    ref = cells.get("ref", "").strip()
    problems: list[str] = []
    if not ref:
        problems.append("no ref")
        ref = f"{stand_in}-{number}"
    elif len(ref) > REF_LIMIT or not ref.isprintable():
        problems.append(f"ref longer than {REF_LIMIT} characters or not printable")
        ref = f"{stand_in}-{number}"
    received = parse_received(cells.get("received_at", ""))
    if received is None:
        problems.append("received_at is not a date and time (YYYY-MM-DD HH:MM, Beijing time)")
    text = cells.get("text", "").strip()
    if not text:
        problems.append("no text")
    county = cells.get("county", "").strip() or None
    if county is not None and not (len(county) == 6 and county.isascii() and county.isdigit()):
        problems.append("county is not a six-digit code")
        county = None
    id_number = normalise_id(cells.get("id_number") or None).value
    phone, _ = normalise_phone(cells.get("phone") or None)
    name = (cells.get("name") or "").strip()[:100] or None
    channel = (cells.get("channel") or "").strip()[:50] or None
    values: dict[str, object] = {
        "received_at": received,
        "text": text or None,
        "county": county,
        "id_number": id_number,
        "phone": phone,
        "name": name,
        "channel": channel,
    }
    return GrievanceRow(number, ref, values, "; ".join(problems) or None)
