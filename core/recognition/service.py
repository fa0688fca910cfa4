"""Award campaigns: open, nominate, check eligibility, score, shortlist, public notice,
objections, publish; withdrawals; the final list.

Plain Python over ``chelun.storage``: the CLI and the flows call it. Every state change is an
event written in the same transaction through ``chelun.storage.events``: a campaign's under
entity ``award_campaign`` (key ``<province>:<id>``), a nomination's under ``award_nomination``
(key ``<province>:<id>:<nominee>``). A campaign's row is locked while it changes (``FOR UPDATE``
on PostgreSQL; on SQLite the write transaction is the only writer), and every update is
conditional on the status read: two processes never make the same change twice.

The lifecycle, one ``advance`` a step: open (nominations taken inside the window) -> closed ->
checked (eligibility) -> scored -> shortlisted (rank and quotas) -> notice (公示, working days)
-> objections (the notice ended; objections still pending are decided) -> published.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, and_, bindparam, or_, select, update

from chelun.calendar import beijing_date
from chelun.identity.codes import code_province, driver_code, driver_number
from chelun.identity.divisions import divisions
from chelun.identity.normalise import normalise_id, normalise_uscc
from chelun.plugin_manager import PluginError, call_each
from chelun.province_service import ProvinceService
from chelun.recognition.decisions import batch_decisions
from chelun.recognition.eligibility import default_eligibility
from chelun.recognition.facts import CHUNK, Nominee, nomination_items
from chelun.recognition.files import read_rows
from chelun.recognition.models import (
    AwardKind,
    CampaignInfo,
    Eligibility,
    ListEntry,
    NominationItem,
    Publication,
    Score,
)
from chelun.recognition.scoring import Contender, default_score, mean, place, rank_key
from chelun.recognition.settings import RecognitionSettings
from chelun.schedules import calendar_for
from chelun.storage.db import Database
from chelun.storage.events import NewEvent, now, record
from chelun.storage.tables import (
    AwardCampaign,
    AwardNomination,
    AwardObjection,
    AwardPublication,
    AwardScore,
    Branch,
    Driver,
    Event,
)

ENTITY = "award_campaign"
NOMINATION = "award_nomination"
#: Each campaign status and the one the next step leads to.
STEPS: dict[str, str] = {
    "open": "closed",
    "closed": "checked",
    "checked": "scored",
    "scored": "shortlisted",
    "shortlisted": "notice",
    "notice": "objections",
    "objections": "published",
}
#: Campaign statuses in which reviewers' scores are taken.
SCORING = ("open", "closed", "checked")
#: Nomination statuses from which a nomination can be withdrawn.
WITHDRAWABLE = ("nominated", "eligible", "scored", "shortlisted", "not_placed")
#: Nomination statuses still competing for a place once ranked.
RANKED = ("shortlisted", "not_placed")
#: How a kind of nominating unit is named in a message.
UNIT_NAMES = {
    "branch": "a branch",
    "enterprise": "an enterprise",
    "city_committee": "a city committee",
}
NAME_LIMIT = 200
REASON_LIMIT = 500
REVIEWER_LIMIT = 100


class AwardError(Exception):
    """Something a user asked that cannot be done: an unknown campaign or nominee, a step not
    due yet or not allowed. The message says what is wrong and what to do."""


@dataclass(frozen=True)
class Refusal:
    """A row of a file that was refused, and why (no personal data)."""

    row: int
    reason: str


@dataclass(frozen=True)
class Unresolved:
    """A nominee that names nobody the award can take: the rule and the reason."""

    rule: str
    reason: str


@dataclass(frozen=True)
class NominationResult:
    rows: int
    accepted: int
    refused: list[Refusal] = field(default_factory=list)


@dataclass(frozen=True)
class ScoreResult:
    rows: int
    recorded: int
    refused: list[Refusal] = field(default_factory=list)


@dataclass(frozen=True)
class StepResult:
    """One step of a campaign: the status it went from and to, and what it counted."""

    campaign: int
    before: str
    after: str
    summary: str
    counts: dict[str, int] = field(default_factory=dict)


def campaign_key(province: str, campaign: int) -> str:
    return f"{province}:{campaign}"


def nomination_key(province: str, campaign: int, nominee: str) -> str:
    return f"{province}:{campaign}:{nominee}"


def province_of_campaign(database: Database, campaign: int) -> str:
    """The province a campaign belongs to (so a command names a campaign by its ID alone)."""
    with database.engine.connect() as connection:
        province = connection.execute(
            select(AwardCampaign.province).where(AwardCampaign.id == campaign)
        ).scalar_one_or_none()
    if province is None:
        raise AwardError(f"no campaign {campaign}: chelun awards list --province CODE shows them")
    return province


def campaign_info(campaign: AwardCampaign | Any) -> CampaignInfo:
    return CampaignInfo(
        id=campaign.id,
        province=campaign.province,
        kind=campaign.kind,
        name=campaign.name,
        status=campaign.status,
        period_start=campaign.period_start,
        period_end=campaign.period_end,
    )


class AwardService(ProvinceService):
    """The award campaigns of one province."""

    SETTINGS = RecognitionSettings
    settings: RecognitionSettings

    def _ready(self) -> None:
        self._kinds: dict[str, tuple[AwardKind, str]] | None = None

    # --- award kinds ---------------------------------------------------------------------------

    def kinds(self) -> dict[str, tuple[AwardKind, str]]:
        """The province's awards by code, each with the plugin that registered it (hook
        ``chelun_award_kinds``); a code registered twice keeps its first registration."""
        if self._kinds is None:
            found: dict[str, tuple[AwardKind, str]] = {}
            hook = "chelun_award_kinds"

            def arguments(plugin: str) -> dict[str, Any]:
                def register(kind: AwardKind) -> None:
                    if not isinstance(kind, AwardKind):
                        raise PluginError(plugin, hook, f"registered a {type(kind).__name__}")
                    found.setdefault(kind.code, (kind, plugin))

                return {"province": self.province, "register": register}

            call_each(self.pm, hook, arguments)
            self._kinds = found
        return self._kinds

    # --- opening -------------------------------------------------------------------------------

    def open(
        self,
        kind: str,
        name: str,
        nominations_close: dt.date,
        *,
        nominations_open: dt.date | None = None,
        period_start: dt.date | None = None,
        period_end: dt.date | None = None,
        at: dt.datetime | None = None,
    ) -> int:
        """Open a campaign for nominations; its ID. The award's rules are kept with it as they
        are now. The period eligibility looks at ends the day before it opens and starts
        ``CHELUN_AWARDS_PERIOD_DAYS`` before, unless given."""
        at = at or now()
        today = beijing_date(at)
        kinds = self.kinds()
        if kind not in kinds:
            raise AwardError(
                f"province {self.province} has no award {kind!r}: one of "
                f"{', '.join(sorted(kinds)) or 'none'} (chelun awards kinds -p {self.province})"
            )
        name = name.strip()
        if not name or len(name) > NAME_LIMIT or not name.isprintable():
            raise AwardError(f"a campaign's name is printable text of 1 to {NAME_LIMIT} characters")
        start = nominations_open or today
        if nominations_close < start:
            raise AwardError(
                f"nominations close on {nominations_close}, before they open on {start}"
            )
        end = period_end or start - dt.timedelta(days=1)
        begin = period_start or end - dt.timedelta(days=self.settings.awards_period_days - 1)
        if end < begin:
            raise AwardError(f"the period ends on {end}, before it starts on {begin}")
        rules, plugin = kinds[kind]
        with self.database.connect() as connection:
            campaign = connection.execute(
                AwardCampaign.__table__.insert()
                .values(
                    province=self.province,
                    kind=kind,
                    name=name,
                    status="open",
                    rules=rules.model_dump(mode="json"),
                    kind_plugin=plugin,
                    nominations_open=start,
                    nominations_close=nominations_close,
                    period_start=begin,
                    period_end=end,
                    provisional=False,
                    opened_by=self.actor,
                    opened_at=at,
                    updated_at=now(),
                )
                .returning(AwardCampaign.id)
            ).scalar_one()
            record(
                connection,
                [
                    self._event(
                        campaign,
                        "opened",
                        f"{kind} ({rules.name}) open for nominations from {start} to "
                        f"{nominations_close}; eligibility looks at {begin} to {end}",
                        {"kind": kind, "plugin": plugin, "close": nominations_close.isoformat()},
                    )
                ],
            )
        return campaign

    # --- reading -------------------------------------------------------------------------------

    def get(self, campaign: int) -> AwardCampaign:
        with self.database.sessions() as session:
            found = session.get(AwardCampaign, campaign)
        if found is None or found.province != self.province:
            raise AwardError(f"no campaign {campaign} in province {self.province}")
        return found

    def rules(self, campaign: AwardCampaign | Any) -> AwardKind:
        return AwardKind.model_validate(campaign.rules)

    def campaigns(self) -> list[AwardCampaign]:
        with self.database.sessions() as session:
            return list(
                session.scalars(
                    select(AwardCampaign)
                    .where(AwardCampaign.province == self.province)
                    .order_by(AwardCampaign.id)
                )
            )

    def nominations(self, campaign: int) -> list[AwardNomination]:
        self.get(campaign)
        with self.database.sessions() as session:
            return list(
                session.scalars(
                    select(AwardNomination)
                    .where(AwardNomination.campaign_id == campaign)
                    .order_by(AwardNomination.id)
                )
            )

    def history(self, campaign: int) -> list[Event]:
        self.get(campaign)
        key = campaign_key(self.province, campaign)
        with self.database.sessions() as session:
            return list(
                session.scalars(
                    select(Event)
                    .where(
                        or_(
                            and_(Event.entity == ENTITY, Event.entity_key == key),
                            and_(
                                Event.entity == NOMINATION,
                                Event.entity_key.startswith(key + ":", autoescape=True),
                            ),
                        )
                    )
                    .order_by(Event.id)
                )
            )

    # --- events --------------------------------------------------------------------------------

    def _event(
        self,
        campaign: int,
        kind: str,
        reason: str,
        data: dict[str, Any] | None = None,
        actor: str | None = None,
    ) -> NewEvent:
        return NewEvent(
            self.province,
            actor or self.actor,
            ENTITY,
            campaign_key(self.province, campaign),
            kind,
            reason,
            data,
        )

    def _nomination_event(
        self,
        campaign: int,
        nominee: str,
        kind: str,
        reason: str,
        data: dict[str, Any] | None = None,
        actor: str | None = None,
    ) -> NewEvent:
        return NewEvent(
            self.province,
            actor or self.actor,
            NOMINATION,
            nomination_key(self.province, campaign, nominee),
            kind,
            reason,
            data,
        )

    def _locked(self, connection: Connection, campaign: int) -> Any:
        """The campaign's row, locked for this transaction on PostgreSQL."""
        row = connection.execute(
            select(AwardCampaign.__table__).where(AwardCampaign.id == campaign).with_for_update()
        ).first()
        if row is None or row.province != self.province:
            raise AwardError(f"no campaign {campaign} in province {self.province}")
        return row

    def _set_status(self, connection: Connection, campaign: Any, to: str, **values: Any) -> None:
        done = connection.execute(
            update(AwardCampaign)
            .where(AwardCampaign.id == campaign.id, AwardCampaign.status == campaign.status)
            .values(status=to, updated_at=now(), **values)
        ).rowcount
        if done != 1:
            raise AwardError(f"campaign {campaign.id} changed meanwhile; try again")

    # --- nominees and units --------------------------------------------------------------------

    def _resolve_nominees(
        self, connection: Connection, kind: AwardKind, values: Sequence[str]
    ) -> list[tuple[str, int | None] | Unresolved]:
        """Each value as (public nominee, driver id), or the reason it names nobody. A driver is
        named by roster code or ID number, a fleet by credit code; nothing is quoted back but
        a driver code or a credit code."""
        resolved: list[tuple[str, int | None] | Unresolved] = []
        if kind.nominee == "enterprise":
            for value in values:
                uscc, status = normalise_uscc(value or None)
                if uscc is not None and normalise_id(value).value is not None:
                    # A resident ID number can pass a credit code's check by chance: it is
                    # never taken (nor quoted) as a fleet.
                    uscc, status = None, "an ID number, not a credit code"
                resolved.append(
                    (uscc, None)
                    if uscc is not None
                    else Unresolved(
                        "bad_nominee",
                        f"the nominee is not a valid unified social credit code ({status})",
                    )
                )
            return resolved
        wanted: list[tuple[str, Any]] = []
        for value in values:
            try:
                number = driver_number(value)
            except ValueError:
                identity = normalise_id(value or None)
                wanted.append(("id", identity.value) if identity.value else ("bad", None))
                continue
            if code_province(value) != self.province:
                wanted.append(("other", value.strip()))
            else:
                wanted.append(("code", number))
        numbers = [key for how, key in wanted if how == "code"]
        identities = [key for how, key in wanted if how == "id"]
        known: set[int] = set()
        by_identity: dict[str, int] = {}
        for start in range(0, len(numbers), CHUNK):
            known.update(
                connection.execute(
                    select(Driver.id).where(
                        Driver.province == self.province,
                        Driver.id.in_(numbers[start : start + CHUNK]),
                    )
                ).scalars()
            )
        for start in range(0, len(identities), CHUNK):
            by_identity.update(
                connection.execute(
                    select(Driver.id_number, Driver.id).where(
                        Driver.province == self.province,
                        Driver.id_number.in_(identities[start : start + CHUNK]),
                    )
                ).all()
            )
        for how, key in wanted:
            if how == "bad":
                resolved.append(
                    Unresolved(
                        "bad_nominee", "the nominee is not a driver code or an 18-digit ID number"
                    )
                )
            elif how == "other":
                resolved.append(
                    Unresolved("other_province", f"{key} is a driver of another province")
                )
            elif how == "code":
                resolved.append(
                    (driver_code(self.province, key), key)
                    if key in known
                    else Unresolved(
                        "not_on_roster",
                        f"{driver_code(self.province, key)} is not on the province's roster",
                    )
                )
            else:
                found = by_identity.get(key)
                resolved.append(
                    (driver_code(self.province, found), found)
                    if found is not None
                    else Unresolved(
                        "not_on_roster", "no driver of the province's roster has this ID number"
                    )
                )
        return resolved

    def _resolve_units(
        self, connection: Connection, values: set[str]
    ) -> dict[str, tuple[str, str | None, str]]:
        """Each nominating unit the province knows: (its code, the branch's kind, its kind).
        A unit is a registered branch's code, an enterprise's credit code, or a city's code."""
        units: dict[str, tuple[str, str | None, str]] = {}
        branches = dict(
            connection.execute(
                select(Branch.code, Branch.kind).where(
                    Branch.province == self.province, Branch.code.in_(sorted(values))
                )
            ).all()
        )
        table = divisions()
        for value in values:
            if value in branches:
                units[value] = (value, branches[value], "branch")
                continue
            uscc, _ = normalise_uscc(value or None)
            if uscc is not None and normalise_id(value).value is None:
                units[value] = (uscc, None, "enterprise")
            elif (
                len(value) == 6
                and value.isdigit()
                and value[:2] == self.province
                and value[4:] == "00"
                and value[2:4] != "00"
                and value in table
            ):
                units[value] = (value, None, "city_committee")
        return units

    # --- nominations ---------------------------------------------------------------------------

    def nominate(
        self, campaign: int, path: Path, *, at: dt.datetime | None = None
    ) -> NominationResult:
        """Take a file's nominations (nominee, unit, reason). Refused, each with its row and
        reason, and recorded as events: rows that name nobody or no unit of the province, a unit
        the award does not take nominations from, a nominee nominated already, an ineligible
        nominee, a unit over its quota. The others are stored, and nothing stored before is
        touched. A file outside the nomination window is refused whole (and recorded)."""
        at = at or now()
        today = beijing_date(at)
        rows = list(read_rows(Path(path), "nominations"))
        with self.database.connect() as connection:
            row = self._locked(connection, campaign)
            outside = None
            if row.status != "open":
                outside = f"campaign {campaign} is {row.status}: nominations are closed"
            elif not row.nominations_open <= today <= row.nominations_close:
                outside = (
                    f"campaign {campaign} takes nominations from {row.nominations_open} to "
                    f"{row.nominations_close}, not on {today}"
                )
            if outside is None:
                result = self._nominate(connection, row, rows, at)
            else:
                record(
                    connection,
                    [
                        self._event(
                            campaign,
                            "nominations_refused",
                            f"{Path(path).name}: {len(rows)} row(s) refused: {outside}",
                            {"rows": len(rows), "rule": "outside_window"},
                        )
                    ],
                )
        if outside is not None:
            raise AwardError(f"{outside}; {len(rows)} row(s) refused and recorded")
        return result

    def _nominate(
        self, connection: Connection, campaign: Any, rows: list[Any], at: dt.datetime
    ) -> NominationResult:
        kind = self.rules(campaign)
        info = campaign_info(campaign)
        refused: list[tuple[int, str, str, str | None]] = []  # row, rule, reason, nominee
        readable = [row for row in rows if row.problem is None]
        for row in rows:
            if row.problem is not None:
                refused.append((row.row, "unreadable", row.problem, None))
        named = []
        for row in readable:
            if not row.cells.get("nominee"):
                refused.append((row.row, "no_nominee", "no nominee", None))
            elif not row.cells.get("unit"):
                refused.append((row.row, "no_unit", "no nominating unit", None))
            else:
                named.append(row)
        nominees = self._resolve_nominees(connection, kind, [r.cells["nominee"] for r in named])
        units = self._resolve_units(connection, {r.cells["unit"] for r in named})
        existing = dict(
            connection.execute(
                select(AwardNomination.nominee, AwardNomination.source_row).where(
                    AwardNomination.campaign_id == campaign.id
                )
            ).all()
        )
        counted = Counter(
            connection.execute(
                select(AwardNomination.unit).where(
                    AwardNomination.campaign_id == campaign.id,
                    AwardNomination.status != "withdrawn",
                )
            ).scalars()
        )
        candidates: list[tuple[Any, Nominee]] = []
        in_file: dict[str, int] = {}
        for row, nominee in zip(named, nominees, strict=True):
            if isinstance(nominee, Unresolved):
                refused.append((row.row, nominee.rule, nominee.reason, None))
                continue
            code, driver_id = nominee
            unit = units.get(row.cells["unit"])
            if unit is None:
                refused.append(
                    (
                        row.row,
                        "bad_unit",
                        "the unit is not a registered branch code, an enterprise's credit code "
                        f"or a city code of province {self.province}",
                        code,
                    )
                )
                continue
            unit_code, branch_kind, unit_kind = unit
            if unit_kind not in kind.nominators:
                refused.append(
                    (
                        row.row,
                        "unit_not_allowed",
                        f"{UNIT_NAMES[unit_kind]} may not nominate for {kind.code} "
                        f"(who may: {', '.join(k.replace('_', ' ') for k in kind.nominators)})",
                        code,
                    )
                )
                continue
            if code in existing or code in in_file:
                earlier = (
                    f"row {in_file[code]} of this file"
                    if code in in_file
                    else "an earlier nomination of this campaign"
                )
                refused.append(
                    (row.row, "duplicate", f"{code} is already nominated ({earlier})", code)
                )
                continue
            in_file[code] = row.row
            candidates.append(
                (
                    row,
                    Nominee(
                        code, _nominee_type(kind), driver_id, unit_code, unit_kind, branch_kind
                    ),
                )
            )
        decided = self._eligibility(connection, kind, info, [n for _, n in candidates])
        accepted = []
        for (row, nominee), (_, (eligibility, plugin)) in zip(candidates, decided, strict=True):
            if not eligibility.eligible:
                refused.append(
                    (
                        row.row,
                        eligibility.rule or "ineligible",
                        f"{nominee.nominee} is not eligible: {eligibility.reason} "
                        f"(rule {eligibility.rule}, by {plugin})",
                        nominee.nominee,
                    )
                )
                continue
            limit = kind.quotas.nominations_per_unit
            if limit is not None and counted[nominee.unit] >= limit:
                refused.append(
                    (
                        row.row,
                        "over_quota",
                        f"unit {nominee.unit} has made its {limit} nomination(s), the most "
                        f"{kind.code} allows a unit",
                        nominee.nominee,
                    )
                )
                continue
            counted[nominee.unit] += 1
            accepted.append((row, nominee, eligibility, plugin))
        stored: set[str] = set()
        if accepted:
            cities = {item.nominee: item.city for item, _ in decided}
            stamp = now()
            stored = set(
                connection.execute(
                    self.database.insert(AwardNomination)
                    .values(
                        [
                            {
                                "campaign_id": campaign.id,
                                "nominee": nominee.nominee,
                                "nominee_kind": nominee.nominee_kind,
                                "driver_id": nominee.driver_id,
                                "unit": nominee.unit,
                                "unit_kind": nominee.unit_kind,
                                "city": cities.get(nominee.nominee),
                                "reason": (row.cells.get("reason") or "")[:REASON_LIMIT] or None,
                                "source_row": row.row,
                                "status": "nominated",
                                "nominated_at": at,
                                "updated_at": stamp,
                            }
                            for row, nominee, _, _ in accepted
                        ]
                    )
                    .on_conflict_do_nothing(index_elements=["campaign_id", "nominee"])
                    .returning(AwardNomination.nominee)
                ).scalars()
            )
        events = []
        for row, nominee, eligibility, plugin in accepted:
            if nominee.nominee not in stored:  # nominated meanwhile by another run
                refused.append(
                    (row.row, "duplicate", f"{nominee.nominee} is already nominated", None)
                )
                continue
            events.append(
                self._nomination_event(
                    campaign.id,
                    nominee.nominee,
                    "nominated",
                    f"row {row.row}: nominated by {nominee.unit_kind.replace('_', ' ')} "
                    f"{nominee.unit}; eligible on receipt: {eligibility.reason}",
                    {"unit": nominee.unit, "unit_kind": nominee.unit_kind, "plugin": plugin},
                )
            )
        refused.sort()
        events.extend(
            self._event(
                campaign.id,
                "nomination_refused",
                f"row {number}: {reason}",
                {"row": number, "rule": rule, "nominee": nominee},
            )
            for number, rule, reason, nominee in refused
        )
        record(connection, events)
        return NominationResult(
            rows=len(rows),
            accepted=len(stored),
            refused=[Refusal(number, reason) for number, _, reason, _ in refused],
        )

    def _eligibility(
        self,
        connection: Connection,
        kind: AwardKind,
        info: CampaignInfo,
        nominees: Sequence[Nominee],
    ) -> list[tuple[NominationItem, tuple[Eligibility, str]]]:
        """Each nominee's facts and eligibility decision (hook ``chelun_check_nominations``,
        in batches), with the plugin that decided."""
        decided = []
        for start in range(0, len(nominees), self.settings.awards_batch):
            batch = list(nominees[start : start + self.settings.awards_batch])
            items = nomination_items(connection, self.pm, info, batch)
            decisions = batch_decisions(
                self.pm,
                "chelun_check_nominations",
                items,
                Eligibility,
                lambda item: default_eligibility(kind, item),
                province=self.province,
                kind=kind,
                campaign=info,
                nominations=items,
            )
            decided.extend(zip(items, decisions, strict=True))
        return decided

    # --- reviewers' scores ---------------------------------------------------------------------

    def record_scores(self, campaign: int, path: Path) -> ScoreResult:
        """Store a file of reviewers' scores (nominee, criterion, reviewer, score). A reviewer's
        new score of a criterion replaces their earlier one; rows that name no nomination of
        the campaign, no criterion of the award, or a score out of range are refused."""
        rows = list(read_rows(Path(path), "scores"))
        refused: list[Refusal] = []
        with self.database.connect() as connection:
            row = self._locked(connection, campaign)
            if row.status not in SCORING:
                raise AwardError(
                    f"campaign {campaign} is {row.status}: scores are taken while it is "
                    f"{', '.join(SCORING)}"
                )
            kind = self.rules(row)
            readable = [r for r in rows if r.problem is None and r.cells.get("nominee")]
            for r in rows:
                if r.problem is not None or not r.cells.get("nominee"):
                    refused.append(Refusal(r.row, r.problem or "no nominee"))
            resolved = self._resolve_nominees(
                connection, kind, [r.cells["nominee"] for r in readable]
            )
            nominations = dict(
                connection.execute(
                    select(AwardNomination.nominee, AwardNomination.id).where(
                        AwardNomination.campaign_id == campaign,
                        AwardNomination.status.in_(("nominated", "eligible")),
                    )
                ).all()
            )
            values: dict[tuple[int, str, str], dict[str, Any]] = {}
            stamp = now()
            for r, nominee in zip(readable, resolved, strict=True):
                problem = _score_problem(kind, r.cells, nominee, nominations)
                if problem is not None:
                    refused.append(Refusal(r.row, problem))
                    continue
                assert not isinstance(nominee, Unresolved)
                nomination = nominations[nominee[0]]
                key = (nomination, r.cells["criterion"], r.cells["reviewer"])
                values[key] = {
                    "nomination_id": nomination,
                    "criterion": key[1],
                    "reviewer": key[2],
                    "score": Decimal(r.cells["score"]),
                    "recorded_at": stamp,
                }
            if values:
                statement = self.database.insert(AwardScore).values(list(values.values()))
                connection.execute(
                    statement.on_conflict_do_update(
                        index_elements=["nomination_id", "criterion", "reviewer"],
                        set_={
                            "score": statement.excluded.score,
                            "recorded_at": statement.excluded.recorded_at,
                        },
                    )
                )
            refused.sort(key=lambda refusal: refusal.row)
            record(
                connection,
                [
                    self._event(
                        campaign,
                        "scores_recorded",
                        f"{Path(path).name}: {len(values)} score(s) recorded, "
                        f"{len(refused)} row(s) refused"
                        + (
                            f" (rows {', '.join(str(r.row) for r in refused[:20])})"
                            if refused
                            else ""
                        ),
                        {"recorded": len(values), "refused": len(refused)},
                    )
                ],
            )
        return ScoreResult(len(rows), len(values), refused)

    # --- the lifecycle -------------------------------------------------------------------------

    def advance(self, campaign: int, *, at: dt.datetime | None = None) -> StepResult:
        """Take the campaign one step on (``STEPS``), if that step is due."""
        at = at or now()
        with self.database.connect() as connection:
            row = self._locked(connection, campaign)
            step = {
                "open": self._close,
                "closed": self._check,
                "checked": self._score,
                "scored": self._shortlist,
                "shortlisted": self._start_notice,
                "notice": self._end_notice,
                "objections": self._publish,
            }.get(row.status)
            if step is None:
                raise AwardError(f"campaign {campaign} is published: it has no further step")
            result = step(connection, row, at)
        if result.after == "published":
            self.send_publications(campaign)
        return result

    def publish(self, campaign: int, *, at: dt.datetime | None = None) -> StepResult:
        """Publish the final list (the last step); for a published campaign, send again the
        publications not yet accepted."""
        at = at or now()
        with self.database.connect() as connection:
            row = self._locked(connection, campaign)
            if row.status == "published":
                result = StepResult(campaign, "published", "published", "already published")
            elif row.status != "objections":
                raise AwardError(
                    f"campaign {campaign} is {row.status}: the final list is published once the "
                    f"public notice has ended and every objection is decided (chelun awards "
                    f"advance --campaign {campaign} takes it step by step)"
                )
            else:
                result = self._publish(connection, row, at)
        sent = self.send_publications(campaign)
        return StepResult(
            result.campaign, result.before, result.after, result.summary, result.counts | sent
        )

    def _close(self, connection: Connection, campaign: Any, at: dt.datetime) -> StepResult:
        today = beijing_date(at)
        if today <= campaign.nominations_close:
            raise AwardError(
                f"campaign {campaign.id} takes nominations until {campaign.nominations_close}: "
                "it can be closed from the day after"
            )
        count = len(self._with_status(connection, campaign.id, ("nominated",)))
        self._set_status(connection, campaign, "closed")
        summary = f"nominations closed: {count} nominee(s)"
        record(connection, [self._event(campaign.id, "closed", summary, {"nominated": count})])
        return StepResult(campaign.id, "open", "closed", summary, {"nominated": count})

    def _with_status(
        self, connection: Connection, campaign: int, statuses: Sequence[str]
    ) -> list[Any]:
        return list(
            connection.execute(
                select(AwardNomination.__table__)
                .where(
                    AwardNomination.campaign_id == campaign,
                    AwardNomination.status.in_(statuses),
                )
                .order_by(AwardNomination.id)
            )
        )

    def _nominees(self, connection: Connection, rows: Sequence[Any]) -> list[Nominee]:
        branches = dict(
            connection.execute(
                select(Branch.code, Branch.kind).where(
                    Branch.province == self.province,
                    Branch.code.in_(sorted({r.unit for r in rows if r.unit_kind == "branch"})),
                )
            ).all()
        )
        return [
            Nominee(
                r.nominee,
                r.nominee_kind,
                r.driver_id,
                r.unit,
                r.unit_kind,
                branches.get(r.unit) if r.unit_kind == "branch" else None,
            )
            for r in rows
        ]

    def _check(self, connection: Connection, campaign: Any, at: dt.datetime) -> StepResult:
        kind = self.rules(campaign)
        info = campaign_info(campaign)
        rows = self._with_status(connection, campaign.id, ("nominated",))
        decided = self._eligibility(connection, kind, info, self._nominees(connection, rows))
        stamp = now()
        changes = []
        events = []
        for row, (item, (eligibility, plugin)) in zip(rows, decided, strict=True):
            status = "eligible" if eligibility.eligible else "excluded"
            changes.append(
                {
                    "row": row.id,
                    "status": status,
                    "status_reason": None
                    if eligibility.eligible
                    else f"{eligibility.rule}: {eligibility.reason}",
                    "checked_by": plugin,
                    "city": item.city,
                    "updated_at": stamp,
                }
            )
            events.append(
                self._nomination_event(
                    campaign.id,
                    row.nominee,
                    status,
                    eligibility.reason
                    if eligibility.eligible
                    else f"{eligibility.rule}: {eligibility.reason}",
                    {"rule": eligibility.rule},
                    actor=f"plugin:{plugin}",
                )
            )
        if changes:
            connection.execute(
                update(AwardNomination).where(
                    AwardNomination.id == bindparam("row"),
                    AwardNomination.status == "nominated",
                ),
                changes,
            )
        eligible = sum(1 for change in changes if change["status"] == "eligible")
        counts = {"eligible": eligible, "excluded": len(changes) - eligible}
        summary = f"eligibility checked: {eligible} eligible, {len(changes) - eligible} excluded"
        self._set_status(connection, campaign, "checked")
        events.append(self._event(campaign.id, "checked", summary, counts))
        record(connection, events)
        return StepResult(campaign.id, "closed", "checked", summary, counts)

    def _score(self, connection: Connection, campaign: Any, at: dt.datetime) -> StepResult:
        kind = self.rules(campaign)
        info = campaign_info(campaign)
        rows = self._with_status(connection, campaign.id, ("eligible",))
        scores: dict[int, dict[str, list[Decimal]]] = {}
        ids = [row.id for row in rows]
        for start in range(0, len(ids), CHUNK):
            for nomination, criterion, score in connection.execute(
                select(AwardScore.nomination_id, AwardScore.criterion, AwardScore.score).where(
                    AwardScore.nomination_id.in_(ids[start : start + CHUNK])
                )
            ):
                scores.setdefault(nomination, {}).setdefault(criterion, []).append(score)
        unscored = [row.nominee for row in rows if row.id not in scores]
        if unscored:
            raise AwardError(
                f"{len(unscored)} eligible nominee(s) have no reviewer's score yet (first: "
                f"{unscored[0]}): record them with chelun awards score --campaign {campaign.id} "
                "FILE"
            )
        stamp = now()
        changes = []
        events = []
        nominees = self._nominees(connection, rows)
        for start in range(0, len(rows), self.settings.awards_batch):
            batch_rows = rows[start : start + self.settings.awards_batch]
            items = [
                item.model_copy(
                    update={
                        "scores": {
                            criterion: mean(values) for criterion, values in scores[row.id].items()
                        },
                        "reviewers": {
                            criterion: len(values) for criterion, values in scores[row.id].items()
                        },
                    }
                )
                for row, item in zip(
                    batch_rows,
                    nomination_items(
                        connection,
                        self.pm,
                        info,
                        nominees[start : start + self.settings.awards_batch],
                    ),
                    strict=True,
                )
            ]
            decided = batch_decisions(
                self.pm,
                "chelun_score_nominations",
                items,
                Score,
                lambda item: default_score(kind, item, info.period_end),
                province=self.province,
                kind=kind,
                campaign=info,
                nominations=items,
            )
            for row, (score, plugin) in zip(batch_rows, decided, strict=True):
                changes.append(
                    {
                        "row": row.id,
                        "status": "scored",
                        "criteria_points": score.criteria,
                        "fact_points": score.facts,
                        "total_score": score.total,
                        "score_parts": {k: str(v) for k, v in score.parts.items()},
                        "scored_by": plugin,
                        "updated_at": stamp,
                    }
                )
                events.append(
                    self._nomination_event(
                        campaign.id,
                        row.nominee,
                        "scored",
                        f"{score.total} points: {score.reason}",
                        {
                            "total": str(score.total),
                            "parts": {k: str(v) for k, v in score.parts.items()},
                        },
                        actor=f"plugin:{plugin}",
                    )
                )
        if changes:
            connection.execute(
                update(AwardNomination).where(
                    AwardNomination.id == bindparam("row"),
                    AwardNomination.status == "eligible",
                ),
                changes,
            )
        summary = f"scored: {len(changes)} nominee(s)"
        self._set_status(connection, campaign, "scored")
        events.append(self._event(campaign.id, "scored", summary, {"scored": len(changes)}))
        record(connection, events)
        return StepResult(campaign.id, "checked", "scored", summary, {"scored": len(changes)})

    def _shortlist(self, connection: Connection, campaign: Any, at: dt.datetime) -> StepResult:
        kind = self.rules(campaign)
        rows = sorted(
            self._with_status(connection, campaign.id, ("scored",)),
            key=lambda r: rank_key(r.total_score, r.criteria_points, r.nominee),
        )
        outcome = place([Contender(r.unit, r.city) for r in rows], kind.quotas)
        stamp = now()
        changes = []
        events = []
        for rank, (row, why) in enumerate(zip(rows, outcome, strict=True), start=1):
            status = "shortlisted" if why is None else "not_placed"
            reason = (
                f"rank {rank}, placed within the quotas"
                if why is None
                else f"rank {rank}, not placed: {why}"
            )
            changes.append(
                {
                    "row": row.id,
                    "status": status,
                    "rank": rank,
                    "status_reason": reason,
                    "updated_at": stamp,
                }
            )
            events.append(
                self._nomination_event(campaign.id, row.nominee, status, reason, {"rank": rank})
            )
        if changes:
            connection.execute(
                update(AwardNomination).where(
                    AwardNomination.id == bindparam("row"),
                    AwardNomination.status == "scored",
                ),
                changes,
            )
        placed = sum(1 for why in outcome if why is None)
        counts = {"shortlisted": placed, "not_placed": len(rows) - placed}
        summary = f"ranked {len(rows)}: {placed} shortlisted, {len(rows) - placed} not placed"
        self._set_status(connection, campaign, "shortlisted")
        events.append(self._event(campaign.id, "shortlisted", summary, counts))
        record(connection, events)
        return StepResult(campaign.id, "scored", "shortlisted", summary, counts)

    def _start_notice(self, connection: Connection, campaign: Any, at: dt.datetime) -> StepResult:
        kind = self.rules(campaign)
        today = beijing_date(at)
        deadline = calendar_for(self.database).deadline(today, kind.notice_days)
        self._set_status(
            connection,
            campaign,
            "notice",
            notice_start=today,
            notice_end=deadline.due,
            provisional=deadline.provisional,
        )
        summary = (
            f"public notice (公示) from {today} to {deadline.due}: {kind.notice_days} working "
            "days"
            + (
                ", provisional (that year's holidays are not published)"
                if deadline.provisional
                else ""
            )
        )
        record(
            connection,
            [
                self._event(
                    campaign.id,
                    "notice",
                    summary,
                    {"start": today.isoformat(), "end": deadline.due.isoformat()},
                )
            ],
        )
        return StepResult(campaign.id, "shortlisted", "notice", summary)

    def _end_notice(self, connection: Connection, campaign: Any, at: dt.datetime) -> StepResult:
        today = beijing_date(at)
        if today <= campaign.notice_end:
            raise AwardError(
                f"the public notice of campaign {campaign.id} runs until {campaign.notice_end}: "
                "it ends after that day"
            )
        pending = self._pending_objections(connection, campaign.id)
        self._set_status(connection, campaign, "objections")
        summary = f"public notice ended on {campaign.notice_end}: {pending} objection(s) to decide"
        record(
            connection, [self._event(campaign.id, "notice_ended", summary, {"pending": pending})]
        )
        return StepResult(campaign.id, "notice", "objections", summary, {"pending": pending})

    def _pending_objections(self, connection: Connection, campaign: int) -> int:
        return len(
            connection.execute(
                select(AwardObjection.id)
                .join(AwardNomination, AwardNomination.id == AwardObjection.nomination_id)
                .where(
                    AwardNomination.campaign_id == campaign,
                    AwardObjection.status == "pending",
                )
            ).all()
        )

    def _publish(self, connection: Connection, campaign: Any, at: dt.datetime) -> StepResult:
        pending = self._pending_objections(connection, campaign.id)
        if pending:
            raise AwardError(
                f"{pending} objection(s) to campaign {campaign.id} still to decide: chelun awards "
                f"object --campaign {campaign.id} --nominee X --uphold|--dismiss --reason ..."
            )
        rows = self._with_status(connection, campaign.id, ("shortlisted",))
        stamp = now()
        if rows:
            connection.execute(
                update(AwardNomination).where(
                    AwardNomination.id == bindparam("row"),
                    AwardNomination.status == "shortlisted",
                ),
                [
                    {
                        "row": row.id,
                        "status": "awarded",
                        "status_reason": f"awarded: rank {row.rank}",
                        "updated_at": stamp,
                    }
                    for row in rows
                ],
            )
        self._set_status(connection, campaign, "published", published_at=at)
        counts = {"awarded": len(rows)}
        summary = f"final list published: {len(rows)} awarded"
        events = [
            self._nomination_event(
                campaign.id, row.nominee, "awarded", f"awarded: rank {row.rank}", {"rank": row.rank}
            )
            for row in rows
        ]
        info = campaign_info(campaign).model_copy(update={"status": "published"})
        counts["publications"] = self._queue_publications(connection, info, rows, stamp)
        events.append(self._event(campaign.id, "published", summary, counts))
        record(connection, events)
        return StepResult(campaign.id, "objections", "published", summary, counts)

    def _queue_publications(
        self, connection: Connection, info: CampaignInfo, rows: Sequence[Any], at: dt.datetime
    ) -> int:
        """Ask the plugins where the list goes (``chelun_award_publications``) and keep each
        publication in the outbox, to be sent after this transaction commits."""
        branches = dict(
            connection.execute(
                select(Driver.id, Driver.branch).where(
                    Driver.id.in_(sorted({r.driver_id for r in rows if r.driver_id}))
                )
            ).all()
        )
        entries = [
            ListEntry(
                rank=row.rank,
                nominee=row.nominee,
                nominee_kind=row.nominee_kind,
                unit=row.unit,
                unit_kind=row.unit_kind,
                city=row.city,
                total_score=row.total_score,
                branch=branches.get(row.driver_id),
            )
            for row in sorted(rows, key=lambda r: r.rank)
        ]
        hook = "chelun_award_publications"
        queued: dict[str, dict[str, Any]] = {}

        def arguments(plugin: str) -> dict[str, Any]:
            return {"province": self.province, "campaign": info, "entries": entries}

        for plugin, publications in call_each(self.pm, hook, arguments):
            for publication in publications or []:
                if not isinstance(publication, Publication):
                    raise PluginError(plugin, hook, f"returned a {type(publication).__name__}")
                queued.setdefault(
                    publication.channel,
                    {
                        "campaign_id": info.id,
                        "channel": publication.channel,
                        "plugin": plugin,
                        "url": publication.url,
                        "payload": publication.payload,
                        "headers": publication.headers,
                        "status": "pending",
                        "attempts": 0,
                    },
                )
        if queued:
            connection.execute(
                self.database.insert(AwardPublication)
                .values(list(queued.values()))
                .on_conflict_do_nothing(index_elements=["campaign_id", "channel"])
            )
        return len(queued)

    def send_publications(self, campaign: int) -> dict[str, int]:
        """Send the campaign's publications not yet accepted; counts sent and failed."""
        from chelun.recognition.publish import send_publications

        return send_publications(self.database, self.province, campaign, self.settings)

    # --- objections and withdrawals ------------------------------------------------------------

    def _nomination(self, connection: Connection, campaign: int, nominee: str) -> Any:
        """The nomination a user names by driver code, ID number or credit code."""
        kind = self.rules(self._locked(connection, campaign))
        resolved = self._resolve_nominees(connection, kind, [nominee])[0]
        if isinstance(resolved, Unresolved):
            raise AwardError(f"campaign {campaign}: {resolved.reason}")
        row = connection.execute(
            select(AwardNomination.__table__).where(
                AwardNomination.campaign_id == campaign,
                AwardNomination.nominee == resolved[0],
            )
        ).first()
        if row is None:
            raise AwardError(f"{resolved[0]} is not nominated in campaign {campaign}")
        return row

    def object(
        self, campaign: int, nominee: str, reason: str, *, at: dt.datetime | None = None
    ) -> int:
        """Raise an objection (异议) to a shortlisted nominee during the public notice; its ID."""
        at = at or now()
        today = beijing_date(at)
        reason = _reason(reason)
        with self.database.connect() as connection:
            row = self._locked(connection, campaign)
            if row.status != "notice":
                raise AwardError(
                    f"campaign {campaign} is {row.status}: objections are raised during its "
                    "public notice"
                )
            if today > row.notice_end:
                raise AwardError(
                    f"the public notice of campaign {campaign} ended on {row.notice_end}"
                )
            nomination = self._nomination(connection, campaign, nominee)
            if nomination.status != "shortlisted":
                raise AwardError(
                    f"{nomination.nominee} is {nomination.status.replace('_', ' ')}: objections "
                    "are to shortlisted nominees"
                )
            objection = connection.execute(
                AwardObjection.__table__.insert()
                .values(
                    nomination_id=nomination.id,
                    status="pending",
                    reason=reason,
                    raised_by=self.actor,
                    raised_at=at,
                )
                .returning(AwardObjection.id)
            ).scalar_one()
            record(
                connection,
                [
                    self._nomination_event(
                        campaign,
                        nomination.nominee,
                        "objection",
                        f"objection {objection} raised: {reason}",
                        {"objection": objection},
                    )
                ],
            )
        return objection

    def decide_objection(self, campaign: int, nominee: str, uphold: bool, reason: str) -> list[str]:
        """Decide the oldest pending objection to a nominee. Upheld, the nominee is excluded and
        the next in rank who fits the quotas takes the place; the nominees promoted."""
        reason = _reason(reason)
        with self.database.connect() as connection:
            row = self._locked(connection, campaign)
            if row.status not in ("notice", "objections"):
                raise AwardError(
                    f"campaign {campaign} is {row.status}: objections are decided during the "
                    "public notice or after it, before publication"
                )
            nomination = self._nomination(connection, campaign, nominee)
            objection = connection.execute(
                select(AwardObjection.id)
                .where(
                    AwardObjection.nomination_id == nomination.id,
                    AwardObjection.status == "pending",
                )
                .order_by(AwardObjection.id)
                .limit(1)
            ).scalar_one_or_none()
            if objection is None:
                raise AwardError(
                    f"no pending objection to {nomination.nominee}: raise one first (chelun awards "
                    f"object --campaign {campaign} --nominee {nomination.nominee} --reason ...)"
                )
            status = "upheld" if uphold else "dismissed"
            done = connection.execute(
                update(AwardObjection)
                .where(AwardObjection.id == objection, AwardObjection.status == "pending")
                .values(status=status, decision=reason, decided_by=self.actor, decided_at=now())
            ).rowcount
            if done != 1:
                raise AwardError(f"objection {objection} changed meanwhile; try again")
            events = [
                self._nomination_event(
                    campaign,
                    nomination.nominee,
                    f"objection_{status}",
                    f"objection {objection} {status}: {reason}",
                    {"objection": objection},
                )
            ]
            promoted: list[str] = []
            if uphold:
                self._remove(
                    connection, row, nomination, "excluded", f"objection upheld: {reason}", events
                )
                promoted = self._refill(connection, row, nomination.nominee, events)
            record(connection, events)
        return promoted

    def withdraw(self, campaign: int, nominee: str, reason: str) -> list[str]:
        """Withdraw a nomination before the list is published; if it held a place, the next in
        rank who fits the quotas takes it. The nominees promoted."""
        reason = _reason(reason)
        with self.database.connect() as connection:
            row = self._locked(connection, campaign)
            if row.status == "published":
                raise AwardError(f"campaign {campaign} is published: nothing can be withdrawn")
            nomination = self._nomination(connection, campaign, nominee)
            if nomination.status not in WITHDRAWABLE:
                raise AwardError(
                    f"{nomination.nominee} is {nomination.status}: only a nomination that is "
                    f"{', '.join(s.replace('_', ' ') for s in WITHDRAWABLE)} can be withdrawn"
                )
            events: list[NewEvent] = []
            self._remove(connection, row, nomination, "withdrawn", f"withdrawn: {reason}", events)
            stamp = now()
            pending = connection.execute(
                update(AwardObjection)
                .where(
                    AwardObjection.nomination_id == nomination.id,
                    AwardObjection.status == "pending",
                )
                .values(
                    status="dismissed",
                    decision="the nomination was withdrawn",
                    decided_by=self.actor,
                    decided_at=stamp,
                )
            ).rowcount
            if pending:
                events.append(
                    self._nomination_event(
                        campaign,
                        nomination.nominee,
                        "objection_dismissed",
                        f"{pending} pending objection(s) closed: the nomination was withdrawn",
                    )
                )
            promoted = (
                self._refill(connection, row, nomination.nominee, events)
                if nomination.status == "shortlisted"
                else []
            )
            record(connection, events)
        return promoted

    def _remove(
        self,
        connection: Connection,
        campaign: Any,
        nomination: Any,
        to: str,
        reason: str,
        events: list[NewEvent],
    ) -> None:
        done = connection.execute(
            update(AwardNomination)
            .where(
                AwardNomination.id == nomination.id,
                AwardNomination.status == nomination.status,
            )
            .values(status=to, status_reason=reason, updated_at=now())
        ).rowcount
        if done != 1:
            raise AwardError(f"{nomination.nominee} changed meanwhile; try again")
        events.append(
            self._nomination_event(
                campaign.id, nomination.nominee, to, reason, {"from": nomination.status}
            )
        )

    def _refill(
        self, connection: Connection, campaign: Any, freed_by: str, events: list[NewEvent]
    ) -> list[str]:
        """Place the ranked nominees again after one left the list: those who now fit the
        quotas are promoted, in rank order."""
        if campaign.status not in ("shortlisted", "notice", "objections"):
            return []
        kind = self.rules(campaign)
        rows = sorted(self._with_status(connection, campaign.id, RANKED), key=lambda r: r.rank)
        outcome = place([Contender(r.unit, r.city) for r in rows], kind.quotas)
        promoted = []
        for row, why in zip(rows, outcome, strict=True):
            if why is not None or row.status != "not_placed":
                continue
            reason = f"rank {row.rank}, promoted: takes the place {freed_by} left"
            done = connection.execute(
                update(AwardNomination)
                .where(AwardNomination.id == row.id, AwardNomination.status == "not_placed")
                .values(status="shortlisted", status_reason=reason, updated_at=now())
            ).rowcount
            if done != 1:
                raise AwardError(f"{row.nominee} changed meanwhile; try again")
            events.append(
                self._nomination_event(
                    campaign.id, row.nominee, "promoted", reason, {"rank": row.rank}
                )
            )
            promoted.append(row.nominee)
        return promoted


def _nominee_type(kind: AwardKind) -> str:
    return "enterprise" if kind.nominee == "enterprise" else "driver"


def _reason(reason: str) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise AwardError("say why with --reason (no personal data)")
    if len(reason) > REASON_LIMIT:
        raise AwardError(f"a reason is at most {REASON_LIMIT} characters")
    return reason


def _score_problem(
    kind: AwardKind,
    cells: dict[str, str],
    nominee: tuple[str, int | None] | Unresolved,
    nominations: dict[str, int],
) -> str | None:
    """Why a row of a scores file cannot be recorded, or None."""
    if isinstance(nominee, Unresolved):
        return nominee.reason
    if nominee[0] not in nominations:
        return f"{nominee[0]} is not a nomination of this campaign still to be scored"
    criterion = kind.criterion(cells.get("criterion", ""))
    if criterion is None:
        return (
            f"the criterion is not one of {kind.code}'s: {', '.join(c.code for c in kind.criteria)}"
        )
    reviewer = cells.get("reviewer", "")
    if not reviewer or len(reviewer) > REVIEWER_LIMIT or not reviewer.isprintable():
        return f"the reviewer is printable text of 1 to {REVIEWER_LIMIT} characters"
    try:
        score = Decimal(cells.get("score", ""))
    except InvalidOperation:
        return "the score is not a number"
    if not score.is_finite() or score != score.quantize(Decimal("0.01")):
        return "the score has at most two decimal places"
    if not 0 <= score <= criterion.max_score:
        return f"the score is not between 0 and {criterion.max_score}"
    return None
