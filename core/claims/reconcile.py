"""Payout reconciliation: the insurer's statement of what it paid, matched against the claims.

The statement is a table (CSV or a spreadsheet, read by ``chelun.sources.readers``) with the
columns ``insurer_claim_id, claim_ref, amount_paid, payment_ref, paid_at``. Each line is matched
to a claim of the province by the insurer's claim id (by ``claim_ref`` when the line has no id),
and compared. What does not agree is reported as a mismatch with both values, never fixed:
claims are not written; the run is recorded as one event (entity ``claims_statement``, key the
province and the statement's SHA-256) for the audit trail.

Kinds of mismatch: ``unknown_claim`` (no claim here has that id or ref), ``claim_ref_differs``
(the id is a claim with another ref here), ``amount_differs``, ``payment_ref_differs``,
``not_paid_here`` (paid at the insurer, not ``paid`` here), ``missing_from_statement`` (paid
here within the statement's days, not on it), ``duplicate_line`` (a claim listed again) and
``unreadable_line`` (a line whose amount or date cannot be read).

Amounts, payment references, claim refs and the insurer's ids are not personal data; a mismatch
never carries an ID number, a name or a phone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from sqlalchemy import select

from chelun.calendar import BEIJING, beijing_date, end_of_day
from chelun.claims.models import money
from chelun.outputs import SafeCsvWriter
from chelun.sources.readers import open_table, shown_path
from chelun.storage.events import NewEvent, record
from chelun.storage.tables import Claim

if TYPE_CHECKING:
    from chelun.claims.service import ClaimsService

COLUMNS = ("insurer_claim_id", "claim_ref", "amount_paid", "payment_ref", "paid_at")
KINDS = (
    "unknown_claim",
    "claim_ref_differs",
    "amount_differs",
    "payment_ref_differs",
    "not_paid_here",
    "missing_from_statement",
    "duplicate_line",
    "unreadable_line",
)
MISMATCH_COLUMNS = ("kind", "line", "insurer_claim_id", "claim_ref", "statement", "here", "note")
ENTITY = "claims_statement"
#: Values looked up per query.
LOOKUP = 500


class ReconcileError(Exception):
    """A statement that cannot be reconciled at all (unreadable, a column missing)."""


@dataclass(frozen=True)
class Mismatch:
    """One disagreement: where (the statement's line, counted from the first after the
    header), which claim, the statement's value and chelun's, and a note saying what differs."""

    kind: str
    line: int | None
    insurer_claim_id: str | None
    claim_ref: str | None
    statement: str | None
    here: str | None
    note: str


@dataclass
class ReconcileResult:
    """The statement's lines, those that matched a claim in every way, and the mismatches.
    ``first_day`` and ``last_day`` (Beijing dates) bound the claims expected on the statement."""

    lines: int = 0
    matched: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    first_day: dt.date | None = None
    last_day: dt.date | None = None

    def by_kind(self) -> dict[str, int]:
        return dict(Counter(mismatch.kind for mismatch in self.mismatches))


@dataclass(frozen=True)
class _Line:
    number: int
    insurer_claim_id: str
    claim_ref: str
    amount: Decimal
    payment_ref: str
    paid_at: dt.datetime


def reconcile(
    service: ClaimsService,
    path: Path,
    *,
    first_day: dt.date | None = None,
    last_day: dt.date | None = None,
) -> ReconcileResult:
    """Match the statement at ``path`` against the province's claims. Claims paid here are
    expected on it when paid from ``first_day`` to ``last_day`` (Beijing dates, both included;
    by default the first and last days the statement's lines were paid).

    Raises ``ReconcileError`` when the file cannot be read or lacks a column."""
    path = Path(path)
    result = ReconcileResult()
    lines = _read(path, result)
    days = [beijing_date(line.paid_at) for line in lines]
    result.first_day = first_day or (min(days) if days else None)
    result.last_day = last_day or (max(days) if days else None)
    with service.database.engine.connect() as connection:
        ids = {line.insurer_claim_id for line in lines}
        by_id = _claims(connection, service.province, True, ids)
        by_ref = _claims(connection, service.province, False, {line.claim_ref for line in lines})
    listed: set[int] = set()
    seen: set[str] = set()
    for line in lines:
        if line.insurer_claim_id:
            identity, claim = f"id:{line.insurer_claim_id}", by_id.get(line.insurer_claim_id)
        else:
            identity, claim = f"ref:{line.claim_ref}", by_ref.get(line.claim_ref)
        if identity in seen or (claim is not None and claim.id in listed):
            result.mismatches.append(
                _mismatch("duplicate_line", line, None, None, "the claim is listed again")
            )
            continue
        seen.add(identity)
        if claim is None:
            other = by_ref.get(line.claim_ref) if line.insurer_claim_id else None
            result.mismatches.append(
                _mismatch(
                    "unknown_claim",
                    line,
                    line.insurer_claim_id or None,
                    other.insurer_claim_id if other is not None else None,
                    "no claim here has this insurer id; a claim with this ref has the insurer id "
                    "shown (the insurer may hold it twice)"
                    if other is not None
                    else "no claim here has this insurer id or ref",
                )
            )
            continue
        listed.add(claim.id)
        found = _compare(line, claim)
        result.mismatches.extend(found)
        result.matched += not found
    if result.first_day is not None and result.last_day is not None:
        result.mismatches.extend(_missing(service, result.first_day, result.last_day, listed))
    _record(service, path, result)
    return result


def _read(path: Path, result: ReconcileResult) -> list[_Line]:
    """The statement's readable lines; unreadable ones are mismatches of ``result``."""
    from chelun.sources.readers import SourceReadError

    lines: list[_Line] = []
    try:
        with open_table(path) as table:
            headers = [header.strip().lower() for header in table.headers]
            missing = [column for column in COLUMNS if column not in headers]
            if missing:
                raise ReconcileError(
                    f"{shown_path(path)}: the statement has no column {', '.join(missing)}; it "
                    f"needs {', '.join(COLUMNS)}"
                )
            where = {column: headers.index(column) for column in COLUMNS}
            for row in table.rows():
                result.lines += 1
                if row.cells is None:
                    result.mismatches.append(
                        Mismatch(
                            "unreadable_line", row.number, None, None, None, None, row.problem or ""
                        )
                    )
                    continue
                cells = {column: row.cells[index] for column, index in where.items()}
                line, problem = _line(row.number, cells)
                if line is None:
                    result.mismatches.append(
                        Mismatch(
                            "unreadable_line",
                            row.number,
                            cells["insurer_claim_id"] or None,
                            cells["claim_ref"] or None,
                            None,
                            None,
                            problem,
                        )
                    )
                else:
                    lines.append(line)
    except SourceReadError as exc:
        raise ReconcileError(str(exc)) from None
    return lines


def _line(number: int, cells: dict[str, str]) -> tuple[_Line | None, str]:
    """A statement line, or None and what cannot be read (never the value)."""
    if not cells["insurer_claim_id"] and not cells["claim_ref"]:
        return None, "neither insurer_claim_id nor claim_ref is given"
    amount = _amount(cells["amount_paid"])
    if amount is None:
        return None, "amount_paid is not an amount of yuan with at most two decimal places"
    paid_at = _moment(cells["paid_at"])
    if paid_at is None:
        return None, "paid_at is not a date (YYYY-MM-DD, with a time or not)"
    return (
        _Line(
            number,
            cells["insurer_claim_id"],
            cells["claim_ref"],
            amount,
            cells["payment_ref"],
            paid_at,
        ),
        "",
    )


def _amount(text: str) -> Decimal | None:
    cleaned = text.replace(",", "").replace("¥", "").replace("￥", "").strip()
    try:
        return money(cleaned)
    except (InvalidOperation, ValueError):
        return None


def _moment(text: str) -> dt.datetime | None:
    """An instant of the statement: ISO 8601, a date alone, ``/`` for ``-``; Beijing time
    unless it says its offset."""
    try:
        moment = dt.datetime.fromisoformat(text.strip().replace("/", "-"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=BEIJING)


def _claims(connection: Any, province: str, by_id: bool, values: set[str]) -> dict[str, Any]:
    """The province's claims with one of ``values`` as insurer id (``by_id``) or as ref."""
    column = Claim.insurer_claim_id if by_id else Claim.ref
    wanted = sorted(values - {""})
    found: dict[str, Any] = {}
    for start in range(0, len(wanted), LOOKUP):
        query = select(
            Claim.id,
            Claim.ref,
            Claim.status,
            Claim.insurer_claim_id,
            Claim.amount_paid,
            Claim.payment_ref,
        ).where(Claim.province == province, column.in_(wanted[start : start + LOOKUP]))
        for row in connection.execute(query):
            found[row.insurer_claim_id if by_id else row.ref] = row
    return found


def _compare(line: _Line, claim: Any) -> list[Mismatch]:
    if line.claim_ref and line.claim_ref != claim.ref:
        return [
            _mismatch(
                "claim_ref_differs",
                line,
                line.claim_ref,
                claim.ref,
                "the insurer's id is a claim with another ref here",
            )
        ]
    if claim.status != "paid":
        return [
            _mismatch(
                "not_paid_here",
                line,
                "paid",
                claim.status,
                "paid at the insurer; sync the claims (chelun claims sync), or ask the insurer",
                claim,
            )
        ]
    found = []
    if claim.amount_paid != line.amount:
        here = f"{claim.amount_paid:.2f}" if claim.amount_paid is not None else None
        found.append(
            _mismatch(
                "amount_differs", line, f"{line.amount:.2f}", here, "amounts paid differ", claim
            )
        )
    if (claim.payment_ref or "") != line.payment_ref:
        found.append(
            _mismatch(
                "payment_ref_differs",
                line,
                line.payment_ref or None,
                claim.payment_ref,
                "payment references differ",
                claim,
            )
        )
    return found


def _mismatch(
    kind: str,
    line: _Line,
    statement: str | None,
    here: str | None,
    note: str,
    claim: Any = None,
) -> Mismatch:
    return Mismatch(
        kind,
        line.number,
        line.insurer_claim_id or (claim.insurer_claim_id if claim is not None else None),
        line.claim_ref or (claim.ref if claim is not None else None),
        statement,
        here,
        note,
    )


def _missing(
    service: ClaimsService, first: dt.date, last: dt.date, listed: set[int]
) -> list[Mismatch]:
    """Claims paid here within the statement's days that it does not list."""
    start = end_of_day(first - dt.timedelta(days=1))
    with service.database.engine.connect() as connection:
        rows = connection.execute(
            select(Claim.id, Claim.ref, Claim.insurer_claim_id, Claim.amount_paid, Claim.paid_at)
            .where(
                Claim.province == service.province,
                Claim.status == "paid",
                Claim.paid_at >= start,
                Claim.paid_at < end_of_day(last),
            )
            .order_by(Claim.paid_at, Claim.id)
        )
        return [
            Mismatch(
                "missing_from_statement",
                None,
                row.insurer_claim_id,
                row.ref,
                None,
                f"{row.amount_paid:.2f}" if row.amount_paid is not None else None,
                f"paid here on {beijing_date(row.paid_at).isoformat()}, not on the statement",
            )
            for row in rows
            if row.id not in listed
        ]


def _record(service: ClaimsService, path: Path, result: ReconcileResult) -> None:
    """One event for the run: what was compared and how many of each mismatch."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    kinds = result.by_kind()
    event = NewEvent(
        service.province,
        service.actor,
        ENTITY,
        f"{service.province}:{digest[:32]}",
        "reconciled",
        f"statement of {result.lines:,} lines: {result.matched:,} matched, "
        f"{len(result.mismatches):,} mismatches",
        {
            "sha256": digest,
            "lines": result.lines,
            "matched": result.matched,
            "mismatches": kinds,
            "first_day": result.first_day.isoformat() if result.first_day else None,
            "last_day": result.last_day.isoformat() if result.last_day else None,
        },
    )
    with service.database.connect() as connection:
        record(connection, [event])


def write_mismatches(result: ReconcileResult, out: TextIO) -> int:
    """Write the mismatches as CSV (``MISMATCH_COLUMNS``), every cell safe to open in a
    spreadsheet; how many rows."""
    writer = SafeCsvWriter(out)
    writer.writerow(MISMATCH_COLUMNS)
    for mismatch in result.mismatches:
        writer.writerow(
            [
                mismatch.kind,
                mismatch.line if mismatch.line is not None else "",
                mismatch.insurer_claim_id or "",
                mismatch.claim_ref or "",
                mismatch.statement if mismatch.statement is not None else "",
                mismatch.here if mismatch.here is not None else "",
                mismatch.note,
            ]
        )
    return len(result.mismatches)
