"""Insurance claims of one province: its schemes, the claims and their lifecycle.

Plain Python over ``chelun.storage``: the CLI and the flows call it. Every state change of a
claim is an event (entity ``claim``, key ``<province>:<ref>``) written in the same transaction,
through ``chelun.storage.events``. Changes are conditional updates (``WHERE status = <the status
read>``): two processes never make the same change twice.

Intake (``import_file``, ``report``) stores claims as ``reported``, or ``quarantined`` with the
reason when their data is missing or contradictory; the processing run
(``chelun.claims.processing``) takes them on from there. An operator adds evidence (``attach``)
and appeals a refusal (``appeal``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Connection, select, update

from chelun.claims.intake import (
    EVIDENCE_COLUMNS,
    PHOTOS_LIMIT,
    POLICE_REPORT_LIMIT,
    ClaimRow,
    checked,
    read_claims,
)
from chelun.claims.models import REASON_CODES, Product
from chelun.claims.settings import ClaimsSettings
from chelun.identity.normalise import fold_text, normalise_name
from chelun.plugin_manager import PluginError, call_all
from chelun.province_service import ProvinceService
from chelun.storage.events import now, record
from chelun.storage.tables import Claim, Driver, Event

ENTITY = "claim"
#: The columns a row of a file fills (a row that could not be read fills none of them).
VALUE_COLUMNS = (
    "id_number",
    "name",
    "phone",
    "incident_time",
    "night_of",
    "site_given",
    "loss_type",
    "amount_claimed",
    "police_report_no",
    "photos",
)
#: Rows written per INSERT (each row is about twenty parameters).
INSERT_BATCH = 500
#: Refusals an operator's appeal may set aside, so that the re-check skips that one check.
OVERRIDABLE = ("duplicate_suspected",)
#: What an operator may do to a claim: the statuses it may start from and the status it leads
#: to. The processing run's own steps (checked, assessed, submitted ...) are its own.
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "attach": (("reported", "quarantined", "rejected"), "reported"),
    "appeal": (("rejected",), "appealed"),
}
#: Statuses a claim never leaves.
FINAL = ("paid",)
#: The suffix of a service area's name that people write or leave out.
SERVICE_AREA = "服务区"


class ClaimError(Exception):
    """Something a user asked that cannot be done (an unknown ref, a transition not allowed)."""


class ClaimInputError(ClaimError):
    """A value given for a claim is malformed: nothing was stored. ``problems`` holds (column,
    what is wrong) pairs, which never quote the value."""

    def __init__(self, message: str, problems: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)


@dataclass(frozen=True)
class ImportResult:
    rows: int
    added: int
    quarantined: int
    already: int


class _Known(NamedTuple):
    """A roster entry as intake needs it."""

    id: int
    id_number: str | None
    name_key: str | None


def entity_key(province: str, ref: str) -> str:
    return f"{province}:{ref}"


def site_key(name: str) -> str:
    """A site's name for matching: no spaces, half-width, lower case, without 服务区 at the end
    (永登服务区, 永登 服务区 and 永登 are one site)."""
    return "".join(fold_text(name).split()).lower().removesuffix(SERVICE_AREA)


class ClaimsService(ProvinceService):
    """The claims of one province."""

    ENTITY = ENTITY
    SETTINGS = ClaimsSettings
    settings: ClaimsSettings

    def _ready(self) -> None:
        self._products: dict[str, Product] | None = None

    def products(self) -> dict[str, Product]:
        """The province's schemes by code, from every plugin serving it (hook
        ``chelun_claim_products``); a code given twice, or a product of another province, is
        the plugin's error."""
        if self._products is None:
            found: dict[str, Product] = {}
            hook = "chelun_claim_products"
            for plugin, products in call_all(self.pm, hook, province=self.province):
                for product in products or []:
                    if not isinstance(product, Product):
                        raise PluginError(plugin, hook, f"returned a {type(product).__name__}")
                    if product.code in found:
                        raise PluginError(plugin, hook, f"product {product.code} offered twice")
                    if product.province != self.province:
                        raise PluginError(
                            plugin, hook, f"product {product.code} is of {product.province}"
                        )
                    found[product.code] = product
            self._products = found
        return self._products

    # --- schemes and sites ---------------------------------------------------------------------

    def _offered(self) -> dict[str, Product]:
        """The province's schemes; an error that says so when it has none."""
        products = self.products()
        if not products:
            raise ClaimError(
                f"province {self.province} offers no insurance scheme (no plugin provides one "
                "through chelun_claim_products): it has no claims"
            )
        return products

    def locate(self, given: str | None) -> tuple[str, str | None]:
        """The product a claim at the site ``given`` falls under, and the covered site's code
        (None when ``given`` is not a covered site).

        ``given`` is a site's code (any case) or its name (spaces ignored, with or without
        服务区 at the end). A name two sites share is not a covered site: nobody can say which.
        With one scheme, every claim is under it; with several, under the one covering the
        site, else under the first the plugins offer (its checks then refuse the site).
        """
        products = self._offered()
        codes, names = self._site_index
        key = (given or "").strip()
        matches = (codes.get(key.casefold()) or names.get(site_key(key))) if key else None
        if matches and len({site for _, site in matches}) == 1:
            return matches[0]
        return next(iter(products)), None

    @cached_property
    def _site_index(
        self,
    ) -> tuple[dict[str, list[tuple[str, str]]], dict[str, list[tuple[str, str]]]]:
        """The covered sites by code (case folded) and by name (``site_key``), each with the
        (product, site code) pairs it names, in the order the plugins offer the products."""
        codes: dict[str, list[tuple[str, str]]] = {}
        names: dict[str, list[tuple[str, str]]] = {}
        for product in self.products().values():
            for site in product.sites:
                codes.setdefault(site.code.casefold(), []).append((product.code, site.code))
                names.setdefault(site_key(site.name), []).append((product.code, site.code))
        return codes, names

    # --- intake --------------------------------------------------------------------------------

    def import_file(self, path: Path, *, at: dt.datetime | None = None) -> ImportResult:
        """Store a file's claims as ``reported`` (or ``quarantined`` with the reason); claims
        already stored (same ref) are left as they are, so importing a file again adds nothing.
        One transaction per batch of ``INSERT_BATCH`` rows."""
        at = at or now()
        self._offered()
        rows = read_claims(Path(path), at=at)
        added = quarantined = 0
        for start in range(0, len(rows), INSERT_BATCH):
            batch = rows[start : start + INSERT_BATCH]
            with self.database.connect() as connection:
                new = self.store_rows(connection, batch, at)
            added += len(new)
            quarantined += sum(1 for status in new.values() if status == "quarantined")
        return ImportResult(len(rows), added, quarantined, len(rows) - added)

    def report(self, cells: Mapping[str, str], *, at: dt.datetime | None = None) -> Claim:
        """Store one claim given at the command line (the columns of a file as ``cells``).

        A malformed value is refused (``ClaimInputError``) and nothing is stored: the operator
        is there to give it again. Data that contradicts the roster is stored quarantined, as
        from a file. A ref already stored is refused.
        """
        at = at or now()
        self._offered()
        ref = (cells.get("claim_ref") or "").strip()
        row = checked(0, cells, "~", at=at)
        if row.problems or not ref:
            problems = row.problems or [("claim_ref", "is empty")]
            raise ClaimInputError(
                f"claim {ref or '(no ref)'} not stored: "
                + "; ".join(f"{column} {what}" for column, what in problems),
                problems,
            )
        with self.database.connect() as connection:
            new = self.store_rows(connection, [row], at, origin="reported at the command line")
        if not new:
            raise ClaimError(
                f"claim {ref} is already stored in province {self.province}: see `chelun "
                f"claims show {ref} -p {self.province}`; evidence is added with `attach`"
            )
        return self.get(ref)

    def store_rows(
        self,
        connection: Connection,
        rows: Sequence[ClaimRow],
        at: dt.datetime,
        *,
        origin: str = "imported",
    ) -> dict[str, str]:
        """Store rows as claims in the caller's transaction, under their scheme and linked to
        the roster; rows whose ref is stored already are left as they are. The refs added,
        with their status (``reported`` or ``quarantined``).

        The driver is the roster entry of the province with the row's ID number, else the only
        one with its phone. Quarantined as contradictory: a name that is not the roster
        entry's (names compared simplified, spaces and dots folded), an ID number that is not
        that of the entry found by phone. A site that is not covered is no quarantine: the
        claim keeps the site as given and the checks refuse it (``site_not_covered``).
        """
        by_id, by_phone = self._drivers_for(connection, rows)
        values = []
        reasons: dict[str, tuple[str, dict[str, Any]]] = {}
        for row in rows:
            driver = self._link(row, by_id, by_phone)
            product, site = self.locate(row.values.get("site_given"))  # type: ignore[arg-type]
            where = f"row {row.row}" if row.row else origin
            problem = row.problem
            status = "quarantined" if problem else "reported"
            reason = f"{where}: {problem}" if problem else None
            values.append(
                {
                    "province": self.province,
                    "ref": row.ref,
                    "product": product,
                    **dict.fromkeys(VALUE_COLUMNS),
                    "photos": 0,
                    **row.values,
                    "driver_id": driver,
                    "site": site,
                    "status": status,
                    "reason_code": None,
                    "reason": reason,
                    "appeals": 0,
                    "reported_at": at,
                    "updated_at": at,
                }
            )
            data = {"row": row.row} if row.row else {}
            if problem:
                reasons[row.ref] = (reason or "", {**data, "columns": row.columns})
            else:
                reasons[row.ref] = (f"{origin} from {where}" if row.row else origin, data)
        if not values:
            return {}
        statement = (
            self.database.insert(Claim)
            .values(values)
            .on_conflict_do_nothing(index_elements=["province", "ref"])
            .returning(Claim.ref, Claim.status)
        )
        new = {ref: status for ref, status in connection.execute(statement)}
        record(
            connection,
            [self.event(ref, status, *reasons[ref]) for ref, status in new.items()],
        )
        return new

    def _drivers_for(
        self, connection: Connection, rows: Sequence[ClaimRow]
    ) -> tuple[dict[str, _Known], dict[str, _Known]]:
        """Roster entries of the province by ID number, and by phone where only one has it."""
        ids = {row.values.get("id_number") for row in rows} - {None}
        phones = {row.values.get("phone") for row in rows} - {None}
        columns = (Driver.id, Driver.id_number, Driver.name, Driver.phone)
        by_id: dict[str, _Known] = {}
        by_phone: dict[str, _Known] = {}
        if ids:
            query = select(*columns).where(
                Driver.province == self.province, Driver.id_number.in_(ids)
            )
            for key, number, name, _ in connection.execute(query):
                by_id[number] = _Known(key, number, normalise_name(name)[1])
        if phones:
            query = select(*columns).where(
                Driver.province == self.province, Driver.phone.in_(phones)
            )
            owners: dict[str, list[_Known]] = {}
            for key, number, name, phone in connection.execute(query):
                owners.setdefault(phone, []).append(_Known(key, number, normalise_name(name)[1]))
            by_phone = {phone: found[0] for phone, found in owners.items() if len(found) == 1}
        return by_id, by_phone

    def _link(
        self, row: ClaimRow, by_id: Mapping[str, _Known], by_phone: Mapping[str, _Known]
    ) -> int | None:
        """The roster entry of a row's driver, or None; adds the contradictions it finds to the
        row's problems (and then links nobody). A row without an ID number takes that of the
        entry found by its phone (the insurer pays on an ID number); a row whose ID number is
        invalid does not."""
        number = row.values.get("id_number")
        phone = row.values.get("phone")
        name_key = normalise_name(row.values.get("name"))[1]  # type: ignore[arg-type]
        known = by_id.get(number) if isinstance(number, str) else None
        via = "id_number"
        if known is None and isinstance(phone, str):
            known = by_phone.get(phone)
            via = "phone"
            if known is not None and number and known.id_number and known.id_number != number:
                row.problems.append(
                    (
                        "id_number",
                        "is not that of the roster's driver with this phone (contradictory)",
                    )
                )
                return None
        if known is None:
            return None
        if name_key and known.name_key and name_key != known.name_key:
            row.problems.append(
                ("name", f"is not the roster's name for this {via} (contradictory)")
            )
            return None
        if not number and known.id_number and "id_number" not in row.columns:
            row.values["id_number"] = known.id_number
        return known.id

    # --- what an operator does -----------------------------------------------------------------

    def _change(
        self,
        ref: str,
        action: str,
        reason: str,
        values: dict[str, Any],
        *,
        data: dict[str, Any] | None = None,
        allowed: Callable[[Connection, str, str | None], None] | None = None,
    ) -> str:
        """Move a claim by an operator's action, conditionally on the status (and refusal) read;
        ``allowed`` raises ``ClaimError`` when the claim's state forbids what its status alone
        would allow."""
        starts, target = TRANSITIONS[action]
        with self.database.connect() as connection:
            found = connection.execute(
                select(Claim.status, Claim.reason_code).where(
                    Claim.province == self.province, Claim.ref == ref
                )
            ).first()
            if found is None:
                raise ClaimError(f"no claim {ref!r} in province {self.province}")
            status, reason_code = found
            if status not in starts:
                can = [_verb(name) for name, (begins, _) in TRANSITIONS.items() if status in begins]
                rest = "nothing, it is final" if status in FINAL else "nothing, processing goes on"
                raise ClaimError(
                    f"claim {ref} is {status}: it cannot be {_done(action)} (only from "
                    f"{', '.join(starts)}); what an operator can do now: {', '.join(can) or rest}"
                )
            if allowed is not None:
                allowed(connection, status, reason_code)
            done = connection.execute(
                update(Claim)
                .where(
                    Claim.province == self.province,
                    Claim.ref == ref,
                    Claim.status == status,
                    Claim.reason_code.is_not_distinct_from(reason_code),
                )
                .values(status=target, updated_at=now(), **values)
            ).rowcount
            if done != 1:
                raise ClaimError(f"claim {ref} changed meanwhile; try again")
            record(
                connection,
                [
                    self.event(
                        ref,
                        _kind(action),
                        reason,
                        {"from": status, "reason_code": reason_code, **(data or {})},
                    )
                ],
            )
        return target

    def attach(
        self, ref: str, *, police_report_no: str | None = None, photos: int | None = None
    ) -> str:
        """Add evidence to a claim: the police report number, and how many photos the claim
        now has (a count, not an addition, so giving it twice changes nothing).

        Allowed for a claim ``reported``, one ``quarantined`` only for its evidence columns
        (each of them given now), and one ``rejected`` for ``evidence_missing``; it goes (back)
        to ``reported`` and the next processing run checks its evidence again.
        """
        if police_report_no is None and photos is None:
            raise ClaimInputError("give the police report number or the number of photos")
        problems = []
        if police_report_no is not None:
            police_report_no = fold_text(police_report_no)
            if not (
                0 < len(police_report_no) <= POLICE_REPORT_LIMIT and police_report_no.isprintable()
            ):
                problems.append(
                    (
                        "police_report_no",
                        f"is empty, longer than {POLICE_REPORT_LIMIT} characters or not printable",
                    )
                )
        if photos is not None and not 0 <= photos <= PHOTOS_LIMIT:
            problems.append(("photos", f"is not a count from 0 to {PHOTOS_LIMIT}"))
        if problems:
            raise ClaimInputError(
                f"no evidence added to claim {ref}: "
                + "; ".join(f"{column} {what}" for column, what in problems),
                problems,
            )
        given = [
            column
            for column, value in (("police_report_no", police_report_no), ("photos", photos))
            if value is not None
        ]

        def allowed(connection: Connection, status: str, reason_code: str | None) -> None:
            if status == "rejected" and reason_code != "evidence_missing":
                raise ClaimError(
                    f"claim {ref} was refused for {reason_code}, not for missing evidence: "
                    f"evidence does not change that; appeal it if the refusal is wrong"
                )
            if status == "quarantined":
                columns = self._quarantined_for(connection, ref)
                if not set(columns) <= set(EVIDENCE_COLUMNS):
                    raise ClaimError(
                        f"claim {ref} is quarantined for {', '.join(columns) or 'its data'}, "
                        "not only for evidence: report it again under a new ref"
                    )
                missing = [column for column in columns if column not in given]
                if missing:
                    raise ClaimError(
                        f"claim {ref} is quarantined for {', '.join(missing)}: give it too"
                    )

        values: dict[str, Any] = {"reason": None, "reason_code": None}
        if police_report_no is not None:
            values["police_report_no"] = police_report_no
        if photos is not None:
            values["photos"] = photos
        said = []
        if police_report_no is not None:
            said.append("police report number")
        if photos is not None:
            said.append(f"{photos} photos in all")
        return self._change(
            ref,
            "attach",
            f"evidence added: {', '.join(said)}",
            values,
            data={"police_report": police_report_no is not None, "photos": photos},
            allowed=allowed,
        )

    def _quarantined_for(self, connection: Connection, ref: str) -> list[str]:
        """The columns a claim was quarantined for, from its last ``quarantined`` event."""
        data = connection.execute(
            select(Event.data)
            .where(
                Event.entity == ENTITY,
                Event.entity_key == entity_key(self.province, ref),
                Event.kind == "quarantined",
            )
            .order_by(Event.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        return list((data or {}).get("columns") or [])

    def appeal(self, ref: str, reason: str, override: str | None = None) -> str:
        """Appeal a refusal on a driver's behalf: the claim goes to ``appealed`` and the next
        processing run checks it again. ``override`` sets aside one refusal the operator has
        looked into (only ``duplicate_suspected``, and only for a claim refused for it): the
        re-check skips that check (``appeal_overrides``)."""
        reason = " ".join(reason.split())
        if not reason:
            raise ClaimInputError("an appeal needs a reason (no personal data)")
        if override is not None and override not in OVERRIDABLE:
            known = override in REASON_CODES
            raise ClaimInputError(
                f"{override if known else 'that'} is not a refusal an appeal can set aside: "
                f"only {', '.join(OVERRIDABLE)}"
            )

        def allowed(connection: Connection, status: str, reason_code: str | None) -> None:
            if override is not None and reason_code != override:
                raise ClaimError(
                    f"claim {ref} was refused for {reason_code}, not {override}: there is "
                    "nothing to set aside"
                )

        return self._change(
            ref,
            "appeal",
            f"appealed: {reason}" + (f" (setting aside {override})" if override else ""),
            {"appeals": Claim.appeals + 1},
            data={"override": override},
            allowed=allowed,
        )

    # --- reading -------------------------------------------------------------------------------

    def get(self, ref: str) -> Claim:
        return self._case(Claim, ref, ClaimError, "claim")  # type: ignore[no-any-return]


def appeal_overrides(connection: Connection, province: str, refs: Iterable[str]) -> dict[str, str]:
    """The refusal set aside by each claim's last appeal, for the claims whose last appeal set
    one aside: the re-check of an appealed claim skips that check."""
    keys = {entity_key(province, ref): ref for ref in refs}
    if not keys:
        return {}
    query = (
        select(Event.entity_key, Event.data)
        .where(Event.entity == ENTITY, Event.entity_key.in_(keys), Event.kind == "appealed")
        .order_by(Event.id)
    )
    last = {key: (data or {}).get("override") for key, data in connection.execute(query)}
    return {keys[key]: override for key, override in last.items() if override}


def _done(action: str) -> str:
    return {"attach": "given evidence", "appeal": "appealed"}[action]


def _verb(action: str) -> str:
    return {"attach": "attach evidence", "appeal": "appeal"}[action]


def _kind(action: str) -> str:
    return {"attach": "evidence_added", "appeal": "appealed"}[action]
