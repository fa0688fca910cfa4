"""Linkage: which source records are the same driver, and the roster built from them.

Records with a valid ID number are linked by it when staged. An ID number that records carry
under clearly different names is an identity conflict, not a merge (a copying slip that lands
on another valid number, a borrowed ID): the name group most sources give keeps it (the most
authoritative source breaks a tie) and the other records are set aside, one event per conflict.
Names are the same when their keys are equal (traditional characters folded), or one typo apart
on records that share a phone or a plate.

The records set aside and those whose ID is missing or invalid are then attributed here, afresh
on every run so that the outcome depends only on what is staged:

1. to a driver with a valid ID whose records share the name and enough other evidence: the ID
   one typo away (3), a phone (2), a plate (2), the birth date in the damaged ID (1); a score of
   2 or more that no other candidate matches wins, and the evidence is recorded on the record;
   then, record by record, to the driver of a record so linked that shares its name and a phone
   or plate;
2. else, records sharing a name and a phone, a plate or the same damaged ID form a driver of
   their own when one of them has no ID number at all or there are several of them, and one has
   a phone or plate (no valid ID yet: verification will have to confirm them), matched to the
   roster entry that already holds its name with that phone or plate
   (``chelun.roster.identity``), so that its code never depends on where its rows sit;
3. else the record is quarantined with the reason (a damaged ID nothing corroborates goes to a
   clerk to correct; so does a record set aside from an ID number of other names).

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
    null,
    or_,
    select,
    true,
    union_all,
    update,
)

from chelun.identity.divisions import divisions
from chelun.identity.normalise import normalise_id
from chelun.roster.identity import NO_ID_PREFIX, Alias, RosterIdentity
from chelun.roster.quarantine import (
    AMBIGUOUS,
    ID_CONFLICT,
    INVALID_ID_REPEATED,
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
from chelun.storage.tables import Driver, DriverAlias, Event, SourceRecord
from chelun.storage.types import UtcDateTime

STAGING_QUARANTINE = tuple(f"q:{code}" for code in (UNREADABLE, NO_IDENTITY, NAME_ONLY, OVERLONG))
WEIGHTS = {"id": 3, "phone": 2, "plate": 2, "birth": 1}
THRESHOLD = 2
#: The link of a record set aside from its ID number starts with this; the rest says where the
#: record went: ``id-conflict:name+phone`` (a driver by evidence), ``id-conflict:no-id:...``
#: (a driver without an ID). Set aside and nowhere else, it is quarantined (``q:id_conflict``).
ID_CONFLICT_LINK = "id-conflict:"
#: Rows named in a conflict event's reason (all of them are in its data).
EVENT_ROWS = 6

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
    Column("id_start", String(6)),
    Column("id_middle", String(6)),
    Column("id_end", String(6)),
    prefixes=["TEMPORARY"],
)
# The evidence join probes the pending records (few) of a staged record's name (millions).
Index("link_pending_name", _LINK_PENDING.c.name_key)
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
    #: Set aside from a valid ID number, which this many records carry under different names
    #: (0: not set aside).
    conflict: int = 0


@dataclass(frozen=True)
class Carrier:
    """A record with a valid ID number, read because records of other names carry the number
    too (or did, when the record was set aside by an earlier run)."""

    source: str
    row_no: int
    rank: int
    name_key: str | None
    id_number: str
    phone: str | None
    plate: str | None
    link: str | None


@dataclass(frozen=True)
class IdConflict:
    """An ID number carried under clearly different names: who keeps it, who is set aside."""

    kept: list[Carrier]
    set_aside: list[Carrier]
    names: int

    @property
    def carriers(self) -> int:
        """How many records carry the number."""
        return len(self.kept) + len(self.set_aside)


@dataclass(frozen=True)
class LinkResult:
    linked_by_evidence: int
    drivers_without_id: int
    quarantined: int
    drivers_created: int
    drivers_retired: int
    id_conflicts: int = 0


def one_typo_apart(damaged: str | None, valid: str) -> bool:
    """True when ``damaged`` is ``valid`` with one character changed, dropped, added, or two
    neighbours swapped: the typos a clerk makes copying an ID number (or a name)."""
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


def one_id_typo_apart(damaged: str, valid: str) -> bool:
    """``one_typo_apart`` for ID numbers (ASCII), quick when they differ in many places (most
    candidates the join finds share a block of the number and nothing else): the bytes that
    differ are found from the XOR of the two numbers read as integers."""
    if len(damaged) != len(valid) or not damaged.isascii():
        return one_typo_apart(damaged, valid)
    diff = int.from_bytes(damaged.encode(), "big") ^ int.from_bytes(valid.encode(), "big")
    if not diff:
        return False
    first = len(damaged) - 1 - (diff.bit_length() - 1) // 8
    last = len(damaged) - 1 - ((diff & -diff).bit_length() - 1) // 8
    if first == last:
        return True
    return last == first + 1 and damaged[first] == valid[last] and damaged[last] == valid[first]


_ID_CHARACTERS = "0123456789X"
# Weight of each of the 17 digits in the MOD 11-2 check, modulo 11: 2 ** (16 - i). The body read in
# base 13 is the weighted sum modulo 11 (13 = 2 mod 11), as in ``chelun.identity.normalise``.
_WEIGHTS_MOD11 = [pow(2, 16 - i, 11) for i in range(17)]
_HALF_INVERSE = [pow(2 * w, -1, 11) for w in _WEIGHTS_MOD11]


def _checks(number: str) -> bool:
    body = number[:17]
    return body.isdigit() and _ID_CHARACTERS[(1 - 2 * int(body, 13)) % 11] == number[17:]


def valid_neighbours(damaged: str) -> set[str]:
    """The valid ID numbers that one typo (see ``one_typo_apart``) turns into ``damaged``."""
    return {number for number in _checked_neighbours(damaged) if normalise_id(number).value}


def _checked_neighbours(damaged: str) -> set[str]:
    """The numbers with a right check character that one typo turns into ``damaged`` (their
    dates and regions unchecked)."""
    n = len(damaged)
    body, last = damaged[:17], damaged[17:]
    if n == 18 and body.isdigit() and last in _ID_CHARACTERS:
        # The check character tells, for each digit, the one other digit that would fit it
        # (if any): 18 numbers to look at instead of 180.
        total, check = int(body, 13) % 11, _ID_CHARACTERS.index(last)
        want = (1 - 2 * total - check) % 11
        made = [body + _ID_CHARACTERS[(1 - 2 * total) % 11]]
        for i, digit in enumerate(body):
            shift = want * _HALF_INVERSE[i] % 11
            value = (int(digit) + shift) % 11
            if shift and value < 10:
                made.append(body[:i] + str(value) + body[i + 1 :] + last)
        made += [damaged[:i] + damaged[i + 1] + damaged[i] + damaged[i + 2 :] for i in range(17)]
    elif n == 18:
        made = [damaged[:i] + c + damaged[i + 1 :] for i in range(n) for c in _ID_CHARACTERS]
        made += [damaged[:i] + damaged[i + 1] + damaged[i] + damaged[i + 2 :] for i in range(17)]
    elif n == 17:
        made = [damaged[:i] + c + damaged[i:] for i in range(n + 1) for c in _ID_CHARACTERS]
    elif n == 19:
        made = [damaged[:i] + damaged[i + 1 :] for i in range(n)]
    else:
        return set()
    return {number for number in made if number != damaged and _checks(number)}


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


def _share_contact(a: list[Carrier], b: list[Carrier]) -> bool:
    phones = {r.phone for r in a if r.phone}
    plates = {r.plate for r in a if r.plate}
    return any(r.phone in phones or r.plate in plates for r in b if r.phone or r.plate)


def name_groups(records: list[Carrier]) -> list[list[Carrier]]:
    """The named records of one ID number, grouped by who they name.

    Records of one name are one group: one name key (traditional characters folded,
    lower-cased), middle dots and spaces aside (阿依古丽·买买提 is 阿依古丽买买提). Two groups
    whose names are one typo apart (a character changed, dropped, added, or two swapped) are one
    when they share a phone or a plate; otherwise the names are clearly different. The birth
    date and sex inside the ID are the same for every record that carries it, so they say
    nothing here.
    """
    by_name: dict[str, list[Carrier]] = defaultdict(list)
    for record in records:
        if record.name_key:
            by_name[record.name_key.replace("\u00b7", "").replace(" ", "")].append(record)
    names = sorted(by_name)
    clusters = _Clusters()
    for i, a in enumerate(names):
        clusters.find(i)
        for j in range(i + 1, len(names)):
            b = names[j]
            if one_typo_apart(a, b) and _share_contact(by_name[a], by_name[b]):
                clusters.union(i, j)
    grouped: dict[int, list[Carrier]] = defaultdict(list)
    for i, name in enumerate(names):
        grouped[clusters.find(i)].extend(by_name[name])
    return list(grouped.values())


def _keeps(group: list[Carrier]) -> tuple[int, int, int, str]:
    """Sort key of the name group that keeps a conflicting ID number (smallest first): the one
    most sources give, then the most authoritative source's (police rank 10 before transport
    20, ...), then the one of most records, then the first name in text order."""
    return (
        -len({r.source for r in group}),
        min(r.rank for r in group),
        -len(group),
        min(r.name_key or "" for r in group),
    )


def split_conflicts(carriers: list[Carrier]) -> tuple[list[Carrier], list[IdConflict]]:
    """Of the records read for their ID number: those to restore to it (set aside by an earlier
    run, now back with their ID), and the conflicts (an ID number with name groups that are
    clearly different)."""
    by_id: dict[str, list[Carrier]] = defaultdict(list)
    for record in carriers:
        by_id[record.id_number].append(record)
    restored: list[Carrier] = []
    conflicts: list[IdConflict] = []
    for _, records in sorted(by_id.items()):
        groups = sorted(name_groups(records), key=_keeps)
        if len(groups) < 2:
            restored.extend(r for r in records if r.link != "id")
            continue
        set_aside = [r for group in groups[1:] for r in group]
        aside = {(r.source, r.row_no) for r in set_aside}
        kept = [r for r in records if (r.source, r.row_no) not in aside]
        restored.extend(r for r in kept if r.link != "id")
        conflicts.append(IdConflict(kept, set_aside, len(groups)))
    return restored, conflicts


def _rows(records: list[Carrier]) -> str:
    """Where records are, as the quarantine lists them (source:row), the first few of them."""
    shown = ", ".join(f"{r.source}:{r.row_no}" for r in records[:EVENT_ROWS])
    more = len(records) - EVENT_ROWS
    return f"rows {shown}" + (f" and {more} more" if more > 0 else "")


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
            pending, carriers = self._read(connection)
            restored, conflicts = split_conflicts(carriers)
            # A record set aside is attributed like one with a damaged ID, by its name, phone
            # and plate: the ID number and the birth date in it are another person's.
            set_aside = [
                Pending(
                    r.source,
                    r.row_no,
                    r.name_key,
                    "valid",
                    None,
                    None,
                    r.phone,
                    r.plate,
                    conflict=conflict.carriers,
                )
                for conflict in conflicts
                for r in conflict.set_aside
            ]
            # Before the evidence is looked for: a record set aside is no candidate.
            self._write_links(
                connection,
                [self._update(r, r.id_number, "id", None) for r in restored]
                + [self._quarantine(r) for r in set_aside],
            )
            pending = sorted([*pending, *set_aside], key=lambda p: (p.source, p.row_no))
            candidates = self._candidates(connection, pending)
            updates, groups, stats = self._decide(pending, candidates)
            identity = RosterIdentity(self.database, connection, self.province, self.actor)
            aliases = [group.aliases for group in groups]
            keys = identity.keys_for(aliases)
            for group, key in zip(groups, keys, strict=True):
                for r in group.records:
                    link = ID_CONFLICT_LINK + group.evidence if r.conflict else group.evidence
                    updates.append(self._update(r, key, link, None))
            self._write_links(connection, updates)
            self._record_conflicts(connection, conflicts, updates)
            identity.carry_over_gained_ids()
            created, retired = self._rebuild_roster(connection)
            identity.remember(aliases, keys)
            self.database.analyze(connection, Driver, DriverAlias)
        return LinkResult(
            stats["evidence"],
            stats["no_id"],
            stats["quarantined"],
            created,
            retired,
            len(conflicts),
        )

    def _read(self, connection: Connection) -> tuple[list[Pending], list[Carrier]]:
        """In one pass over the province's records: those to attribute (ID missing or invalid)
        and those with a valid ID number that records of other names carry too (or that an
        earlier run set aside)."""
        s = SourceRecord
        # Names differ inside a group when its smallest and largest name keys do; a record with
        # no name (NULL) is no other name.
        conflicted = (
            select(s.id_number)
            .where(s.province == self.province, s.id_status == "valid")
            .group_by(s.id_number)
            .having(func.min(s.name_key) != func.max(s.name_key))
        )
        columns = (
            s.source,
            s.row_no,
            s.name_key,
            s.id_status,
            s.id_cleaned,
            s.birth,
            s.phone,
            s.plate,
            s.rank,
            s.id_number,
            s.link,
        )
        mine = s.province == self.province
        valid = s.id_status == "valid"
        # Three disjoint parts, each a plain filter or a semi-join: with the IN inside an OR,
        # PostgreSQL ran the grouped subquery once per record (over 10 minutes at pilot scale).
        rows = connection.execute(
            union_all(
                select(*columns).where(
                    mine,
                    ~valid,
                    or_(s.link.is_(None), s.link.not_in(STAGING_QUARANTINE)),
                ),
                select(*columns).where(mine, valid, s.link != "id"),
                select(*columns).where(
                    mine,
                    valid,
                    or_(s.link.is_(None), s.link == "id"),
                    s.id_number.in_(conflicted),
                ),
            ).order_by("source", "row_no")
        )
        pending: list[Pending] = []
        carriers: list[Carrier] = []
        for source, row_no, name, status, cleaned, birth, phone, plate, rank, ident, link in rows:
            if status == "valid":
                carriers.append(Carrier(source, row_no, rank, name, ident, phone, plate, link))
            else:
                pending.append(
                    Pending(source, row_no, name, status, cleaned, _date_text(birth), phone, plate)
                )
        return pending, carriers

    def _candidates(
        self, connection: Connection, pending: list[Pending]
    ) -> dict[tuple[str, int], dict[str, set[str]]]:
        """For each pending record, the drivers with a valid ID that share its name and at
        least one piece of evidence, with the evidence: found by one join on the name that keeps
        the pairs with some evidence, so that a common name's thousands of drivers are never
        compared in Python."""
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
                    **dict(
                        zip(("id_start", "id_middle", "id_end"), _blocks(p.id_cleaned), strict=True)
                    ),
                }
                for p in named
            ],
        )
        s, c = SourceRecord, scratch.c
        phone = s.phone == c.phone
        plate = s.plate == c.plate
        blocks = (
            func.substr(s.id_number, 1, 6) == c.id_start,
            func.substr(s.id_number, 7, 6) == c.id_middle,
            func.substr(s.id_number, 13, 6) == c.id_end,
        )
        # One pass over the staged records, each probing the pending records of its name (an
        # index) and keeping the pairs with any evidence: at 200,000 drivers this took 0.64 s
        # where a join per kind of evidence (five passes) took 1.23 s.
        rows = connection.execute(
            select(c.src, c.row_no, s.driver_key, phone, plate, or_(*blocks))
            .select_from(s)
            .join(scratch, and_(c.name_key == s.name_key, or_(phone, plate, *blocks)))
            # Records with a valid ID not set aside from it (``_write_links`` has run).
            .where(s.province == self.province, s.link == "id")
        )
        cleaned = {(p.source, p.row_no): p.id_cleaned for p in named}
        for source, row_no, driver_key, same_phone, same_plate, same_block in rows:
            kinds = []
            if same_phone:
                kinds.append("phone")
            if same_plate:
                kinds.append("plate")
            if same_block and one_id_typo_apart(cleaned[(source, row_no)] or "", driver_key):
                kinds.append("id~")
            if kinds:
                found[(source, row_no)][driver_key].update(kinds)
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
        # What records linked by evidence give their driver: name with phone or plate.
        linked: dict[tuple[str, str, str], set[str]] = defaultdict(set)
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
                updates.append(self._ambiguous(record, tied))
                stats["quarantined"] += 1
                continue
            updates.append(self._linked(record, best[2], best[1]))
            self._lend(linked, record, best[2])
            stats["evidence"] += 1
        unmatched = self._link_through(unmatched, linked, updates, stats)
        groups = self._group_unmatched(unmatched, updates, stats)
        return updates, groups, stats

    @staticmethod
    def _lend(linked: dict[tuple[str, str, str], set[str]], record: Pending, key: str) -> None:
        if record.name_key:
            for kind, value in (("phone", record.phone), ("plate", record.plate)):
                if value:
                    linked[(record.name_key, kind, value)].add(key)

    def _link_through(
        self,
        records: list[Pending],
        linked: dict[tuple[str, str, str], set[str]],
        updates: list[dict[str, Any]],
        stats: dict[str, int],
    ) -> list[Pending]:
        """Link the records no valid-ID record matched to the driver of a record linked by
        evidence that shares their name and a phone or plate (the evidence is the same as that
        which makes a driver of records without an ID), until no more are; returns the rest."""
        while records:
            left: list[Pending] = []
            for record in records:
                found: dict[str, set[str]] = defaultdict(set)
                if record.name_key:
                    for kind, value in (("phone", record.phone), ("plate", record.plate)):
                        for key in linked.get((record.name_key, kind, value or ""), ()):
                            found[key].add(kind)
                if record.birth:
                    birth = record.birth.replace("-", "")
                    for key, evidence in found.items():
                        if key[6:14] == birth:
                            evidence.add("birth")
                scored = sorted(
                    ((*_score(e), key) for key, e in found.items()),
                    key=lambda item: (-item[0], item[2]),
                )
                if not scored or scored[0][0] < THRESHOLD:
                    left.append(record)
                elif len(scored) > 1 and scored[1][0] == scored[0][0]:
                    tied = sum(1 for s in scored if s[0] == scored[0][0])
                    updates.append(self._ambiguous(record, tied))
                    stats["quarantined"] += 1
                else:
                    updates.append(self._linked(record, scored[0][2], scored[0][1]))
                    self._lend(linked, record, scored[0][2])
                    stats["evidence"] += 1
            if len(left) == len(records):
                return left
            records = left
        return records

    def _group_unmatched(
        self, records: list[Pending], updates: list[dict[str, Any]], stats: dict[str, int]
    ) -> list[NoIdGroup]:
        """Group the records no valid-ID driver claims by name and a phone, a plate or a damaged
        ID number (the same, or one typo from the same valid number). A group with a phone or
        plate is a driver of its own when one of its records has no ID number at all (a village
        sheet often has none) or when it has several records (exact duplicates of a row with a
        damaged ID, say): one person whose ID is yet to be confirmed. Other records go to
        quarantine (added to ``updates``), with a reason that is true of them."""
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
        # Two damaged IDs of one name that one typo each makes of the same valid number are the
        # same number (at most a few records of a name are left here: few are compared).
        damaged: dict[str, list[int]] = defaultdict(list)
        for index, record in enumerate(records):
            if record.id_cleaned and record.name_key:
                damaged[record.name_key].append(index)
        for indexes in damaged.values():
            if len(indexes) < 2:
                continue
            owner: dict[str, int] = {}
            for index in indexes:
                for number in _checked_neighbours(records[index].id_cleaned or ""):
                    if number not in owner:
                        owner[number] = index
                    elif normalise_id(number).value:
                        clusters.union(owner[number], index)
        members: dict[int, list[int]] = defaultdict(list)
        for index in range(len(records)):
            members[clusters.find(index)].append(index)
        groups = []
        for indexes in members.values():
            group = [records[i] for i in indexes]
            contact = any(r.phone or r.plate for r in group)
            if contact and (len(group) > 1 or group[0].id_status == "missing"):
                evidence = "no-id:" + (
                    "name+phone" if any(r.phone for r in group) else "name+plate"
                )
                groups.append(NoIdGroup(group, evidence))
                stats["no_id"] += 1
                continue
            for record in group:
                stats["quarantined"] += 1
                if record.conflict:
                    updates.append(self._quarantine(record))
                else:
                    code = INVALID_ID_REPEATED if len(group) > 1 else INVALID_ID_UNLINKED
                    updates.append(
                        self._update(record, None, f"q:{code}", reason_text(code, record.id_status))
                    )
        return groups

    def _linked(self, record: Pending, key: str, evidence: list[str]) -> dict[str, Any]:
        link = "+".join(evidence)
        return self._update(record, key, ID_CONFLICT_LINK + link if record.conflict else link, None)

    def _ambiguous(self, record: Pending, tied: int) -> dict[str, Any]:
        if record.conflict:
            return self._quarantine(record)
        return self._update(record, None, f"q:{AMBIGUOUS}", reason_text(AMBIGUOUS, str(tied)))

    def _quarantine(self, record: Pending) -> dict[str, Any]:
        """A record set aside from its ID number that nothing else places."""
        return self._update(
            record, None, f"q:{ID_CONFLICT}", reason_text(ID_CONFLICT, str(record.conflict))
        )

    def _record_conflicts(
        self, connection: Connection, conflicts: list[IdConflict], updates: list[dict[str, Any]]
    ) -> None:
        """One event per ID conflict, under the source of the first record set aside, saying
        which rows keep the number and where the others went; never the number or a name. An
        event already recorded in the same words is not recorded again."""
        if not conflicts:
            return
        placed = {(u["s"], u["r"]): u["driver_key"] is not None for u in updates}
        kind = "roster.id_conflict"
        seen = set(
            connection.execute(
                select(Event.entity_key, Event.reason).where(
                    Event.province == self.province, Event.kind == kind
                )
            ).all()
        )
        new = []
        for conflict in conflicts:
            aside = conflict.set_aside
            quarantined = [r for r in aside if not placed.get((r.source, r.row_no))]
            reason = (
                f"{conflict.carriers} records carry one ID number under "
                f"{conflict.names} different names: {_rows(conflict.kept)} keep it (the name "
                f"most sources give); set aside {_rows(aside)}, of which "
                f"{len(aside) - len(quarantined)} joined a driver by their name with a phone or "
                f"plate and {len(quarantined)} are quarantined (id_conflict)"
            )
            key = aside[0].source
            if (key, reason) in seen:
                continue
            seen.add((key, reason))
            new.append(
                NewEvent(
                    self.province,
                    self.actor,
                    "source",
                    key,
                    kind,
                    reason,
                    {
                        "kept": [[r.source, r.row_no] for r in conflict.kept],
                        "set_aside": [[r.source, r.row_no] for r in aside],
                        "quarantined": [[r.source, r.row_no] for r in quarantined],
                    },
                )
            )
        events.record(connection, new)

    def _update(
        self, record: Pending | Carrier, driver_key: str | None, link: str, quarantine: str | None
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

        # A driver keyed by a valid ID has that number; a record set aside from another number
        # (an ID conflict) may be one of its records, and says nothing of its birth.
        id_number = case((s.driver_key.startswith(NO_ID_PREFIX), null()), else_=s.driver_key)
        set_aside = s.link.startswith(ID_CONFLICT_LINK)
        # Grouped by the key alone (the province is fixed by WHERE): a shorter sort key, about
        # 0.1 s less at 200,000 drivers.
        g = (
            select(
                literal(self.province, String(2)).label("province"),
                s.driver_key,
                id_number.label("id_number"),
                best(s.name).label("name"),
                func.min(case((set_aside, null()), else_=s.birth)).label("birth"),
                func.substr(id_number, 1, 6).label("county"),
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
            .group_by(s.driver_key)
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
        retired_ids = sorted(
            connection.execute(
                update(Driver).where(stale).values(status="retired").returning(Driver.id)
            ).scalars()
        )
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
        """A temporary table of the division codes that resolve today to another province than
        their first two digits say (retired codes, through their successors: Sichuan's 510221
        of before 1997 is in Chongqing), for the roster's home province; any other code is in
        the province its digits name: 80 rows instead of every code (6,885)."""
        _COUNTY_PROVINCE.create(connection, checkfirst=True)
        if connection.execute(select(func.count()).select_from(_COUNTY_PROVINCE)).scalar_one():
            return
        table = divisions()
        moved = [
            {"code": code, "province": province}
            for code in table.codes()
            if (province := table.province_of(code)) is not None and province != code[:2]
        ]
        if moved:
            connection.execute(insert(_COUNTY_PROVINCE), moved)
