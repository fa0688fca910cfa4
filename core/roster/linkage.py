"""Linkage: which source records are the same driver, and the roster built from them.

Records with a valid ID number are linked by it when staged. The rest (ID missing or invalid)
are attributed here, afresh on every run so that the outcome depends only on what is staged:

1. to a driver with a valid ID whose records share the name and enough other evidence: the ID
   one typo away (3), a phone (2), a plate (2), the birth date in the damaged ID (1); a score of
   2 or more that no other candidate matches wins, and the evidence is recorded on the record;
2. else, records sharing a name and a phone or plate, one of them with no ID number at all,
   form a driver of their own (no ID yet: verification will have to confirm them), matched to
   the roster entry that already holds its name with that phone or plate
   (``chelun.roster.identity``), so that its code never depends on where its rows sit;
3. else the record is quarantined with the reason (a damaged ID nothing corroborates goes to a
   clerk to correct).

The roster (``driver``) is then rebuilt from the records by one aggregate upsert: its values
come from the most authoritative source that has them, its counts show where sources disagree,
and each driver keeps its verification, branch and contact across runs. A driver left with no
records is retired, not deleted. Everything after reading the pending records happens in one
transaction, so a run that dies leaves the previous roster intact.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Date,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    bindparam,
    case,
    cast,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    update,
)

from chelun.identity.divisions import divisions
from chelun.roster.identity import Alias, RosterIdentity
from chelun.roster.quarantine import (
    AMBIGUOUS,
    INVALID_ID_UNLINKED,
    NAME_ONLY,
    NO_IDENTITY,
    OVERLONG,
    UNREADABLE,
    reason_text,
)
from chelun.storage import events
from chelun.storage.db import Database
from chelun.storage.events import NewEvent
from chelun.storage.tables import Driver, DriverAlias, SourceRecord
from chelun.storage.types import UtcDateTime

STAGING_QUARANTINE = tuple(f"q:{code}" for code in (UNREADABLE, NO_IDENTITY, NAME_ONLY, OVERLONG))
WEIGHTS = {"id": 3, "phone": 2, "plate": 2, "birth": 1}
THRESHOLD = 2

# Scratch tables of one link run, private to its connection.
_SCRATCH = MetaData()
_LINK_PENDING = Table(
    "link_pending",
    _SCRATCH,
    Column("src", String(100)),
    Column("row_no", Integer),
    Column("name_key", String(100)),
    Column("phone", String(20)),
    Column("plate", String(16)),
    Column("birth", Date),
    Column("id_start", String(6)),
    Column("id_middle", String(6)),
    Column("id_end", String(6)),
    prefixes=["TEMPORARY"],
)
# The evidence joins probe the pending records (few) for each staged record (millions).
for _column in ("phone", "plate", "id_start", "id_middle", "id_end"):
    Index(f"link_pending_{_column}", _LINK_PENDING.c.name_key, _LINK_PENDING.c[_column])
_COUNTY_PROVINCE = Table(
    "county_province",
    _SCRATCH,
    Column("code", String(6), primary_key=True),
    Column("province", String(2)),
    prefixes=["TEMPORARY"],
)


@dataclass(frozen=True)
class Pending:
    source: str
    row_no: int
    name_key: str | None
    id_status: str
    id_cleaned: str | None
    birth: str | None
    phone: str | None
    plate: str | None


@dataclass(frozen=True)
class LinkResult:
    linked_by_evidence: int
    drivers_without_id: int
    quarantined: int
    drivers_created: int
    drivers_retired: int


def one_typo_apart(damaged: str | None, valid: str) -> bool:
    """True when ``damaged`` is ``valid`` with one character changed, dropped, added, or two
    neighbours swapped: the typos a clerk makes copying an ID number."""
    if not damaged or damaged == valid:
        return False
    if len(damaged) == len(valid):
        diffs = [i for i, (a, b) in enumerate(zip(damaged, valid, strict=True)) if a != b]
        if len(diffs) == 1:
            return True
        return (
            len(diffs) == 2
            and diffs[1] == diffs[0] + 1
            and damaged[diffs[0]] == valid[diffs[1]]
            and damaged[diffs[1]] == valid[diffs[0]]
        )
    if abs(len(damaged) - len(valid)) != 1:
        return False
    short, long = sorted((damaged, valid), key=len)
    for i in range(len(long)):
        if long[:i] + long[i + 1 :] == short:
            return True
    return False


def _score(evidence: set[str]) -> tuple[int, list[str]]:
    kinds = [kind for kind in ("id~", "phone", "plate", "birth") if kind in evidence]
    return sum(WEIGHTS[kind.rstrip("~")] for kind in kinds), ["name", *kinds]


def _blocks(cleaned: str | None) -> tuple[str | None, str | None, str | None]:
    """Three six-character blocks of a damaged ID: its start, middle and end.

    One typo (a character changed, dropped or added, or two neighbours swapped) leaves at least
    one of them as it is in the valid number: the start and middle counted from the front, the
    end counted from the back. Candidates share the name and one block.
    """
    if not cleaned or len(cleaned) < 12:
        return None, None, None
    return cleaned[:6], cleaned[6:12], cleaned[-6:]


class _Clusters:
    """Union-find over pending records that share a name and a phone, plate or damaged ID."""

    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, item: int) -> int:
        root = self.parent.setdefault(item, item)
        while root != self.parent[root]:
            self.parent[root] = self.parent[self.parent[root]]
            root = self.parent[root]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _date_text(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, dt.date) else str(value)


@dataclass(frozen=True)
class NoIdGroup:
    """Records that make one driver with no ID number yet, and what identifies them."""

    records: list[Pending]
    evidence: str

    @property
    def aliases(self) -> frozenset[Alias]:
        return frozenset(
            Alias(record.name_key, kind, value)
            for record in self.records
            if record.name_key
            for kind, value in (("phone", record.phone), ("plate", record.plate))
            if value
        )


class Linker:
    """Links one province's staged records and rebuilds its roster."""

    def __init__(self, database: Database, province: str, actor: str) -> None:
        self.database = database
        self.province = province
        self.actor = actor

    def run(self) -> LinkResult:
        with self.database.connect() as connection:
            # Staging has just loaded the records: the joins below need fresh statistics.
            self.database.analyze(connection, SourceRecord)
            pending = self._pending(connection)
            candidates = self._candidates(connection, pending)
            updates, groups, stats = self._decide(pending, candidates)
            identity = RosterIdentity(self.database, connection, self.province, self.actor)
            aliases = [group.aliases for group in groups]
            keys = identity.keys_for(aliases)
            for group, key in zip(groups, keys, strict=True):
                updates.extend(self._update(r, key, group.evidence, None) for r in group.records)
            self._write_links(connection, updates)
            identity.carry_over_gained_ids()
            created, retired = self._rebuild_roster(connection)
            identity.remember(aliases, keys)
            self.database.analyze(connection, Driver, DriverAlias)
        return LinkResult(stats["evidence"], stats["no_id"], stats["quarantined"], created, retired)

    def _pending(self, connection: Connection) -> list[Pending]:
        s = SourceRecord
        rows = connection.execute(
            select(
                s.source, s.row_no, s.name_key, s.id_status, s.id_cleaned, s.birth, s.phone, s.plate
            )
            .where(
                s.province == self.province,
                s.id_status != "valid",
                or_(s.link.is_(None), s.link.not_in(STAGING_QUARANTINE)),
            )
            .order_by(s.source, s.row_no)
        )
        return [Pending(r[0], r[1], r[2], r[3], r[4], _date_text(r[5]), r[6], r[7]) for r in rows]

    def _candidates(
        self, connection: Connection, pending: list[Pending]
    ) -> dict[tuple[str, int], dict[str, set[str]]]:
        """For each pending record, the drivers with a valid ID that share its name and at
        least one piece of evidence, with the evidence: found by joins on the name and each
        kind of evidence, so that a common name's thousands of drivers are never compared."""
        found: dict[tuple[str, int], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        named = [p for p in pending if p.name_key]
        if not named:
            return found
        scratch = _LINK_PENDING
        scratch.create(connection, checkfirst=True)
        connection.execute(scratch.delete())
        connection.execute(
            insert(scratch),
            [
                {
                    "src": p.source,
                    "row_no": p.row_no,
                    "name_key": p.name_key,
                    "phone": p.phone,
                    "plate": p.plate,
                    "birth": dt.date.fromisoformat(p.birth) if p.birth else None,
                    **dict(
                        zip(("id_start", "id_middle", "id_end"), _blocks(p.id_cleaned), strict=True)
                    ),
                }
                for p in named
            ],
        )
        s, c = SourceRecord, scratch.c
        joins = {
            "phone": s.phone == c.phone,
            "plate": s.plate == c.plate,
            "id~": func.substr(s.id_number, 1, 6) == c.id_start,
            "id~middle": func.substr(s.id_number, 7, 6) == c.id_middle,
            "id~end": func.substr(s.id_number, 13, 6) == c.id_end,
        }
        cleaned = {(p.source, p.row_no): p.id_cleaned for p in named}
        # One join per kind of evidence: each probes an index of the pending records.
        for kind, condition in joins.items():
            rows = connection.execute(
                select(c.src, c.row_no, s.driver_key)
                .select_from(s)
                .join(scratch, and_(c.name_key == s.name_key, condition))
                .where(s.province == self.province, s.id_status == "valid")
            )
            is_id = kind.startswith("id~")
            for source, row_no, driver_key in rows:
                if is_id and not one_typo_apart(cleaned[(source, row_no)], driver_key):
                    continue
                found[(source, row_no)][driver_key].add("id~" if is_id else kind)
        # The birth date adds to a candidate found by other evidence (alone it is too weak to
        # link): it is compared with the date inside the candidate's valid ID, with no join.
        for p in named:
            if p.birth:
                birth = p.birth.replace("-", "")
                for driver_key, evidence in found.get((p.source, p.row_no), {}).items():
                    if driver_key[6:14] == birth:
                        evidence.add("birth")
        connection.execute(scratch.delete())
        return found

    def _decide(
        self, pending: list[Pending], candidates: dict[tuple[str, int], dict[str, set[str]]]
    ) -> tuple[list[dict[str, Any]], list[NoIdGroup], dict[str, int]]:
        stats = {"evidence": 0, "no_id": 0, "quarantined": 0}
        updates: list[dict[str, Any]] = []
        unmatched: list[Pending] = []
        for record in pending:
            scored = sorted(
                (
                    (*_score(evidence), key)
                    for key, evidence in candidates.get((record.source, record.row_no), {}).items()
                ),
                key=lambda item: (-item[0], item[2]),
            )
            best = scored[0] if scored else None
            if best is None or best[0] < THRESHOLD:
                unmatched.append(record)
                continue
            if len(scored) > 1 and scored[1][0] == best[0]:
                tied = sum(1 for s in scored if s[0] == best[0])
                updates.append(
                    self._update(record, None, f"q:{AMBIGUOUS}", reason_text(AMBIGUOUS, str(tied)))
                )
                stats["quarantined"] += 1
                continue
            updates.append(self._update(record, best[2], "+".join(best[1]), None))
            stats["evidence"] += 1
        groups = self._group_unmatched(unmatched, updates, stats)
        return updates, groups, stats

    def _group_unmatched(
        self, records: list[Pending], updates: list[dict[str, Any]], stats: dict[str, int]
    ) -> list[NoIdGroup]:
        """Group the records no valid-ID driver claims; a group with a record that has no ID
        number at all, but a phone or plate, is a driver of its own. Other records go to
        quarantine (added to ``updates``)."""
        clusters = _Clusters()
        first_seen: dict[tuple[str, str, str], int] = {}
        for index, record in enumerate(records):
            clusters.find(index)
            for kind, value in (
                ("phone", record.phone),
                ("plate", record.plate),
                ("id", record.id_cleaned),
            ):
                if value and record.name_key:
                    key = (record.name_key, kind, value)
                    if key in first_seen:
                        clusters.union(first_seen[key], index)
                    else:
                        first_seen[key] = index
        members: dict[int, list[int]] = defaultdict(list)
        for index in range(len(records)):
            members[clusters.find(index)].append(index)
        groups = []
        for indexes in members.values():
            group = [records[i] for i in indexes]
            # A driver with no ID number yet (a village sheet often has none) gets an entry of
            # its own; a damaged ID that nothing corroborates goes to a clerk to correct.
            if any(r.id_status == "missing" and (r.phone or r.plate) for r in group):
                evidence = "no-id:" + (
                    "name+phone" if any(r.phone for r in group) else "name+plate"
                )
                groups.append(NoIdGroup(group, evidence))
                stats["no_id"] += 1
                continue
            for record in group:
                stats["quarantined"] += 1
                updates.append(
                    self._update(
                        record,
                        None,
                        f"q:{INVALID_ID_UNLINKED}",
                        reason_text(INVALID_ID_UNLINKED, record.id_status),
                    )
                )
        return groups

    def _update(
        self, record: Pending, driver_key: str | None, link: str, quarantine: str | None
    ) -> dict[str, Any]:
        return {
            "p": self.province,
            "s": record.source,
            "r": record.row_no,
            "driver_key": driver_key,
            "link": link,
            "quarantine": quarantine,
        }

    def _write_links(self, connection: Connection, updates: list[dict[str, Any]]) -> None:
        if not updates:
            return
        s = SourceRecord
        connection.execute(
            update(s).where(
                s.province == bindparam("p"),
                s.source == bindparam("s"),
                s.row_no == bindparam("r"),
            ),
            updates,
        )

    def _rebuild_roster(self, connection: Connection) -> tuple[int, int]:
        run = uuid.uuid4().hex[:12]
        before = connection.execute(select(func.coalesce(func.max(Driver.id), 0))).scalar_one()
        self._load_county_provinces(connection)
        s, c = SourceRecord, _COUNTY_PROVINCE.c

        def best(column: Any) -> Any:
            # The value from the most authoritative source (lowest rank) that has one.
            # Ranks have two digits (10-99), so the text "<rank><value>" sorts by rank first.
            return func.substr(func.min(cast(s.rank, String(2)).concat(column)), 3)

        g = (
            select(
                s.province,
                s.driver_key,
                func.max(s.id_number).label("id_number"),
                best(s.name).label("name"),
                func.min(s.birth).label("birth"),
                func.substr(func.max(s.id_number), 1, 6).label("county"),
                best(s.phone).label("phone"),
                best(s.plate).label("plate"),
                best(s.enterprise).label("enterprise"),
                best(s.uscc).label("uscc"),
                (func.max(case((s.member, 1), else_=0)) == 1).label("member"),
                func.count().label("records"),
                func.count(s.source.distinct()).label("sources"),
                func.count(s.phone.distinct()).label("phones"),
                func.count(s.enterprise.distinct()).label("enterprises"),
            )
            .where(s.province == self.province, s.driver_key.is_not(None))
            .group_by(s.province, s.driver_key)
            .subquery("g")
        )
        columns = (
            "province key id_number name birth home_county home_province phone plate "
            "enterprise uscc member records sources phones enterprises status "
            "verification_stage verification_outcome linked_run updated_at"
        ).split()
        rows = (
            select(
                g.c.province,
                g.c.driver_key,
                g.c.id_number,
                g.c.name,
                g.c.birth,
                g.c.county,
                func.coalesce(c.province, func.substr(g.c.county, 1, 2)),
                g.c.phone,
                g.c.plate,
                g.c.enterprise,
                g.c.uscc,
                g.c.member,
                g.c.records,
                g.c.sources,
                g.c.phones,
                g.c.enterprises,
                literal("active"),
                literal("match"),
                literal("pending"),
                literal(run),
                literal(events.now(), UtcDateTime()),
            )
            .select_from(g.outerjoin(_COUNTY_PROVINCE, c.code == g.c.county))
            # WHERE true: SQLite's parser needs it between a join and ON CONFLICT.
            .where(true())
        )
        statement = self.database.insert(Driver).from_select(columns, rows)
        refreshed = (
            "id_number name birth home_county home_province phone plate enterprise uscc "
            "member records sources phones enterprises status linked_run updated_at"
        ).split()
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=[Driver.province, Driver.key],
                set_={column: statement.excluded[column] for column in refreshed},
            )
        )
        created = connection.execute(
            select(func.count()).where(Driver.province == self.province, Driver.id > before)
        ).scalar_one()
        # The upsert stamped every driver that still has records; the others have none left.
        stale = and_(
            Driver.province == self.province, Driver.status == "active", Driver.linked_run != run
        )
        retired_ids = connection.execute(select(Driver.id).where(stale)).scalars().all()
        connection.execute(update(Driver).where(stale).values(status="retired"))
        # One event for the run: a roster entry's creation is a fact of the link, and its
        # records (with their evidence) say where it came from; retirements are listed singly.
        events.record(
            connection,
            [
                *(
                    NewEvent(
                        self.province,
                        self.actor,
                        "driver",
                        str(driver_id),
                        "roster.retired",
                        "no source record names this driver any more",
                    )
                    for driver_id in retired_ids
                ),
                NewEvent(
                    self.province,
                    self.actor,
                    "roster",
                    self.province,
                    "roster.linked",
                    f"{created} drivers created, {len(retired_ids)} retired; "
                    f"drivers from id {before + 1} on are new",
                ),
            ],
        )
        return created, len(retired_ids)

    def _load_county_provinces(self, connection: Connection) -> None:
        """A temporary table of every division code and the province it resolves to today
        (retired codes through their successors), for the roster's home province."""
        _COUNTY_PROVINCE.create(connection, checkfirst=True)
        if connection.execute(select(func.count()).select_from(_COUNTY_PROVINCE)).scalar_one():
            return
        table = divisions()
        connection.execute(
            insert(_COUNTY_PROVINCE),
            [
                {"code": code, "province": province}
                for code in table.codes()
                if (province := table.province_of(code)) is not None
            ],
        )
