"""Reading claim files: CSV (any usual encoding), XLSX, XLS or ODS.

Columns (the outside contract): ``claim_ref``, ``id_number``, ``name``, ``phone``,
``incident_time`` (``YYYY-MM-DD HH:MM``, Beijing time), ``site`` (a covered site's code or name),
``loss_type`` (fuel or cargo, 燃油 or 货物), ``amount_claimed`` (yuan), ``police_report_no`` and
``photos`` (a count). A row that cannot be used as it is becomes a quarantined claim with the
reason, naming the column and the row; no message quotes a value (they are personal data).

What the file alone can tell is checked here; what needs the roster and the scheme (the driver,
the site, a name that contradicts the roster's) is checked by ``ClaimsService.store_rows``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from chelun.calendar import BEIJING
from chelun.identity.normalise import fold_text, normalise_id, normalise_name, normalise_phone
from chelun.sources.readers import SourceReadError, open_table

COLUMNS = (
    "claim_ref",
    "id_number",
    "name",
    "phone",
    "incident_time",
    "site",
    "loss_type",
    "amount_claimed",
    "police_report_no",
    "photos",
)
#: Columns a claim file must have; the others may be left out (a driver is found by ID number
#: or by phone, and evidence can be attached later).
REQUIRED = ("claim_ref", "incident_time", "site", "loss_type", "amount_claimed")
#: The "column" of the problem of a row the reader could not split into cells.
UNREADABLE = "row"
#: The columns that hold evidence: a claim quarantined only for them can be fixed by ``attach``.
EVIDENCE_COLUMNS = ("police_report_no", "photos")
REF_LIMIT = 100
NAME_LIMIT = 100
SITE_LIMIT = 100
POLICE_REPORT_LIMIT = 50
PHOTOS_LIMIT = 1_000
#: No claim under a scheme for fuel and cargo comes near this: a larger amount is a typing error.
AMOUNT_CAP = Decimal("10000000")
_TIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S")
#: What people write for a loss type, folded to lower case.
LOSS_WORDS: dict[str, str] = {
    "fuel": "fuel",
    "燃油": "fuel",
    "油": "fuel",
    "柴油": "fuel",
    "汽油": "fuel",
    "cargo": "cargo",
    "货物": "cargo",
    "货": "cargo",
}
_PLAIN_AMOUNT = re.compile(r"\d+(\.\d+)?")
_GROUPED_AMOUNT = re.compile(r"\d{1,3}(,\d{3})+(\.\d+)?")
_CURRENCY = ("￥", "¥", "RMB", "CNY")
_YUAN = "元"


@dataclass
class ClaimRow:
    """One claim as read: the values to store and, when it is quarantined, what is wrong, as
    (column, what is wrong) pairs that never quote a value."""

    row: int
    ref: str
    values: dict[str, object] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)

    @property
    def problem(self) -> str | None:
        """The reason to quarantine the claim, or None when it is whole."""
        if not self.problems:
            return None
        return "; ".join(
            what if column == UNREADABLE else f"{column} {what}" for column, what in self.problems
        )

    @property
    def columns(self) -> list[str]:
        """The columns the problems are in."""
        return list(dict.fromkeys(column for column, _ in self.problems))


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_claims(path: Path, *, at: dt.datetime) -> list[ClaimRow]:
    """Every row of a claim file, checked as of ``at`` (an incident after it is in the future).

    Raises ``SourceReadError`` for a file that has no claim columns or cannot be read. A row
    repeated with the same data counts once; a ``claim_ref`` repeated with other data keeps
    each row quarantined as contradictory: the first under its ref, the later ones under a
    stand-in ref made of the file's digest and the row number (as a row without a ref gets).
    """
    stand_in = f"~{file_digest(path)[:8]}"
    rows: list[ClaimRow] = []
    first: dict[str, ClaimRow] = {}
    for number, cells, problem in _records(path):
        if cells is None:
            rows.append(
                ClaimRow(
                    number, f"{stand_in}-{number}", {}, [(UNREADABLE, problem or "unreadable")]
                )
            )
            continue
        row = checked(number, cells, stand_in, at=at)
        earlier = first.setdefault(row.ref, row)
        if earlier is row:
            rows.append(row)
            continue
        if earlier.values == row.values and earlier.problems == row.problems:
            continue  # the same claim written twice: one claim
        _contradicts(earlier, row.row)
        row.problems.append(
            ("claim_ref", f"is also on row {earlier.row} with other data (contradictory)")
        )
        row.ref = f"{stand_in}-{number}"
        rows.append(row)
    return rows


def _contradicts(earlier: ClaimRow, later: int) -> None:
    """Mark the first row of a ref as contradicted by a later row, once."""
    what = "is repeated with other data (contradictory), see the rows after"
    if ("claim_ref", what) not in earlier.problems:
        earlier.problems.append(("claim_ref", what))


def _records(path: Path) -> Iterator[tuple[int, dict[str, str] | None, str | None]]:
    with open_table(path) as table:
        headers = [header.strip().lower() for header in table.headers]
        missing = [column for column in REQUIRED if column not in headers]
        if missing:
            raise SourceReadError(
                path,
                f"no column {', '.join(missing)}: a claim file has the columns "
                f"{', '.join(COLUMNS)} (docs/claims.md)",
            )
        for row in table.rows():
            if row.cells is None:
                yield row.number, None, row.problem
                continue
            yield row.number, dict(zip(headers, row.cells, strict=False)), None


def parse_incident(value: str) -> dt.datetime | None:
    """``YYYY-MM-DD HH:MM`` in Beijing time (seconds and slashes allowed, or an ISO instant
    with its offset, as spreadsheets give dates), as UTC; None for anything else, a date
    without a time included."""
    value = fold_text(value)
    for layout in _TIME_FORMATS:
        try:
            return dt.datetime.strptime(value, layout).replace(tzinfo=BEIJING).astimezone(dt.UTC)
        except ValueError:
            continue
    if ":" not in value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=BEIJING)
    return parsed.astimezone(dt.UTC)


def night_of(incident: dt.datetime) -> dt.date:
    """The Beijing date of the evening the night of an incident began: an incident before noon
    belongs to the night that began the evening before."""
    local = incident.astimezone(BEIJING)
    return local.date() - dt.timedelta(days=1) if local.hour < 12 else local.date()


def parse_loss_type(value: str) -> str | None:
    """``fuel`` or ``cargo`` from what people write (燃油, 柴油, 油, 货物 ...); None otherwise."""
    return LOSS_WORDS.get(fold_text(value).lower().replace(" ", ""))


def parse_amount(value: str) -> tuple[Decimal | None, str | None]:
    """An amount of yuan (``1200``, ``1,200.50``, ``￥800``, ``800元``) as Decimal with two places,
    or what is wrong with it."""
    text = fold_text(value).replace(" ", "")
    for sign in _CURRENCY:
        if text.upper().startswith(sign):
            text = text[len(sign) :]
            break
    text = text.removesuffix(_YUAN)
    if not text:
        return None, "is empty"
    if not (_PLAIN_AMOUNT.fullmatch(text) or _GROUPED_AMOUNT.fullmatch(text)):
        return None, "is not an amount of yuan (e.g. 1200 or 1,200.50)"
    try:
        amount = Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None, "is not an amount of yuan (e.g. 1200 or 1,200.50)"
    if amount != amount.quantize(Decimal("0.01")):
        return None, "has more than two decimal places"
    if amount <= 0:
        return None, "is not positive"
    if amount >= AMOUNT_CAP:
        return None, f"is not below {AMOUNT_CAP:,} yuan"
    return amount.quantize(Decimal("0.01")), None


def parse_photos(value: str) -> int | None:
    """A count of photos (empty is none); None for anything else."""
    text = fold_text(value)
    if not text:
        return 0
    if text.isascii() and text.isdigit() and int(text) <= PHOTOS_LIMIT:
        return int(text)
    return None


def checked(number: int, cells: Mapping[str, str], stand_in: str, *, at: dt.datetime) -> ClaimRow:
    """The values of one row to store, and what is wrong with it if anything."""
    problems: list[tuple[str, str]] = []
    ref = (cells.get("claim_ref") or "").strip()
    if not ref:
        problems.append(("claim_ref", "is empty"))
        ref = f"{stand_in}-{number}"
    elif len(ref) > REF_LIMIT or not ref.isprintable() or ref.startswith("~"):
        problems.append(
            ("claim_ref", f"is longer than {REF_LIMIT} characters, not printable or starts with ~")
        )
        ref = f"{stand_in}-{number}"

    incident = parse_incident(cells.get("incident_time") or "")
    if incident is None:
        problems.append(
            ("incident_time", "is not a date and time (YYYY-MM-DD HH:MM, Beijing time)")
        )
    elif incident > at:
        problems.append(("incident_time", "is in the future"))
        incident = None

    id_text = cells.get("id_number") or ""
    identity = normalise_id(id_text or None)
    if identity.status not in ("valid", "missing"):
        problems.append(("id_number", f"is not a valid resident ID number ({identity.status})"))
    phone, _ = normalise_phone(cells.get("phone") or None)
    if identity.status == "missing" and phone is None:
        problems.append(
            ("id_number", "is missing and phone is missing or invalid: who is the driver?")
        )

    name_text = (cells.get("name") or "").strip()
    name = None
    if len(name_text) > NAME_LIMIT:
        problems.append(("name", f"is longer than {NAME_LIMIT} characters"))
    else:
        name, _ = normalise_name(name_text or None)

    site = " ".join(fold_text(cells.get("site")).split())
    if not site:
        problems.append(("site", "is empty"))
    elif len(site) > SITE_LIMIT:
        problems.append(("site", f"is longer than {SITE_LIMIT} characters"))
        site = ""

    loss_type = parse_loss_type(cells.get("loss_type") or "")
    if loss_type is None:
        problems.append(("loss_type", "is not fuel or cargo (燃油 or 货物)"))

    amount, amount_problem = parse_amount(cells.get("amount_claimed") or "")
    if amount_problem is not None:
        problems.append(("amount_claimed", amount_problem))

    report_no = fold_text(cells.get("police_report_no")) or None
    if report_no is not None and (
        len(report_no) > POLICE_REPORT_LIMIT or not report_no.isprintable()
    ):
        problems.append(
            (
                "police_report_no",
                f"is longer than {POLICE_REPORT_LIMIT} characters or not printable",
            )
        )
        report_no = None

    photos = parse_photos(cells.get("photos") or "")
    if photos is None:
        problems.append(("photos", f"is not a count (a whole number from 0 to {PHOTOS_LIMIT})"))

    values: dict[str, object] = {
        "id_number": identity.value,
        "name": name,
        "phone": phone,
        "incident_time": incident,
        "night_of": night_of(incident) if incident is not None else None,
        "site_given": site or None,
        "loss_type": loss_type,
        "amount_claimed": amount,
        "police_report_no": report_no,
        "photos": photos or 0,
    }
    return ClaimRow(number, ref, values, problems)
