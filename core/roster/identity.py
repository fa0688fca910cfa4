"""Which roster entry a group of records is: the driver's code follows the person, not a row.

A driver with a valid ID number is keyed by it. A driver without one (a village sheet often has
none) is known by what identifies them: their name with a phone, or with a plate (an *alias*).
Each link run groups the records of such drivers afresh, so a group is matched to the roster
entry that already holds one of its aliases; only a group that matches none is a new entry.
Aliases are remembered for ever (``driver_alias``), so that inserting, deleting or shuffling
rows, splitting a file or ingesting sources in another order never moves a code to someone else,
and a driver whose rows vanish and come back gets their own code back.

When a driver known only by aliases gains an ID number, the entry is re-keyed by that number:
the same code, verification, branch and contact carry on, and an event says so. When one group
now holds the aliases of two entries (a new row shows they are one person), the older entry
carries on and the other is retired with an event naming it.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, and_, bindparam, or_, select, update

from chelun.identity.codes import driver_code
from chelun.storage.db import Database
from chelun.storage.events import NewEvent, record
from chelun.storage.tables import Driver, DriverAlias, SourceRecord

NO_ID_PREFIX = "nid:"


@dataclass(frozen=True, order=True)
class Alias:
    """A name (its comparison key) with a phone or a plate."""

    name_key: str
    kind: str  # "phone" or "plate"
    value: str

    def text(self) -> str:
        return f"{self.name_key}\x1f{self.kind}\x1f{self.value}"


def new_key(aliases: Iterable[Alias]) -> str:
    """The key of a new no-ID entry: derived from its aliases, never from a row's position."""
    digest = hashlib.sha256("\x1e".join(a.text() for a in sorted(aliases)).encode())
    return NO_ID_PREFIX + digest.hexdigest()[:32]


class RosterIdentity:
    """Matches one province's no-ID groups to roster entries, within the link's transaction."""

    def __init__(self, database: Database, connection: Connection, province: str, actor: str):
        self.database = database
        self.connection = connection
        self.province = province
        self.actor = actor
        #: Entries keyed without an ID number: id -> key.
        self.no_id_entries: dict[int, str] = {}
        self.active: set[int] = set()
        self.claimed: set[int] = set()
        self.merged: dict[int, int] = {}
        self.events: list[NewEvent] = []

    def keys_for(self, groups: Sequence[frozenset[Alias]]) -> list[str]:
        """The driver key of each group: the entry holding most of its aliases, else a new one.

        An entry goes to one group only (the one holding most of its aliases; ties go to the
        group with the smallest alias); an entry a group also holds aliases of, but that went to
        another entry, is merged into the one chosen.
        """
        entries = self.connection.execute(
            select(Driver.id, Driver.key, Driver.status).where(
                Driver.province == self.province, Driver.key.startswith(NO_ID_PREFIX)
            )
        ).all()
        self.no_id_entries = {entry: key for entry, key, _ in entries}
        self.active = {entry for entry, _, status in entries if status == "active"}
        owners = self._owners({a for group in groups for a in group})
        ranked = []
        held: list[Counter[int]] = []
        for index, group in enumerate(groups):
            counts = Counter(owners[a] for a in group if owners.get(a) in self.no_id_entries)
            held.append(counts)
            smallest = min(group)
            ranked.extend((-n, entry, smallest, index) for entry, n in counts.items())
        keys: list[str | None] = [None] * len(groups)
        for _, entry, _, index in sorted(ranked):
            if keys[index] is None and entry not in self.claimed:
                keys[index] = self.no_id_entries[entry]
                self.claimed.add(entry)
        entry_of = {key: entry for entry, key in self.no_id_entries.items()}
        chosen: list[str] = []
        used: set[str] = set()
        for index, group in enumerate(groups):
            key = keys[index]
            if key is None:
                key = new_key(group)
                # Unreachable in practice: an entry holding exactly these aliases would have
                # been chosen above. Never reuse a key, whatever happens.
                while key in entry_of or key in used:
                    key = NO_ID_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:32]
            chosen.append(key)
            used.add(key)
            survivor = entry_of.get(key)
            for entry in held[index]:
                if survivor is not None and entry not in self.claimed:
                    self.merged.setdefault(entry, survivor)
        return chosen

    def _owners(self, aliases: set[Alias]) -> dict[Alias, int]:
        if not aliases:
            return {}
        owners: dict[Alias, int] = {}
        names = sorted({a.name_key for a in aliases})
        for start in range(0, len(names), 5_000):
            rows = self.connection.execute(
                select(
                    DriverAlias.name_key, DriverAlias.kind, DriverAlias.value, DriverAlias.driver_id
                ).where(
                    DriverAlias.province == self.province,
                    DriverAlias.name_key.in_(names[start : start + 5_000]),
                )
            )
            for name_key, kind, value, entry in rows:
                alias = Alias(name_key, kind, value)
                if alias in aliases:
                    owners[alias] = entry
        return owners

    def carry_over_gained_ids(self) -> None:
        """Re-key entries known only by aliases whose records now carry a valid ID number.

        Runs after the records are linked and before the roster is rebuilt: an active entry no
        group claimed (its records have just changed) whose aliases (name with phone or plate)
        appear on records of a driver keyed by an ID number that has no entry yet takes that
        number as its key, keeping its code. Entries retired by earlier runs are left alone, so
        that an unchanged roster costs no search.
        """
        unclaimed = sorted(e for e in self.active if e not in self.claimed)
        if not unclaimed:
            return
        s, a = SourceRecord, DriverAlias
        found: dict[int, Counter[str]] = defaultdict(Counter)
        for start in range(0, len(unclaimed), 5_000):
            chunk = unclaimed[start : start + 5_000]
            rows = self.connection.execute(
                select(a.driver_id, s.driver_key)
                .select_from(a)
                .join(
                    s,
                    and_(
                        s.province == a.province,
                        s.name_key == a.name_key,
                        or_(
                            and_(a.kind == "phone", s.phone == a.value),
                            and_(a.kind == "plate", s.plate == a.value),
                        ),
                    ),
                )
                .where(
                    a.province == self.province,
                    a.driver_id.in_(chunk),
                    s.driver_key.is_not(None),
                    ~s.driver_key.startswith(NO_ID_PREFIX),
                )
            )
            for entry, id_key in rows:
                found[entry][id_key] += 1
        candidates = {entry: keys for entry, keys in found.items() if len(keys) == 1}
        wanted = sorted({next(iter(keys)) for keys in candidates.values()})
        existing = set()
        for start in range(0, len(wanted), 5_000):
            existing.update(
                self.connection.execute(
                    select(Driver.key).where(
                        Driver.province == self.province,
                        Driver.key.in_(wanted[start : start + 5_000]),
                    )
                ).scalars()
            )
        by_key: dict[str, list[int]] = defaultdict(list)
        for entry, keys in candidates.items():
            id_key = next(iter(keys))
            if id_key not in existing:
                by_key[id_key].append(entry)
        rekeys = []
        for id_key, entries in sorted(by_key.items()):
            survivor, *others = sorted(entries)
            rekeys.append({"entry": survivor, "key": id_key})
            self.claimed.add(survivor)
            for other in others:
                self.merged.setdefault(other, survivor)
            self.events.append(
                self._event(
                    survivor,
                    "roster.identified",
                    "gained a valid ID number; the driver keeps this code",
                )
            )
        if rekeys:
            self.connection.execute(
                update(Driver).where(Driver.id == bindparam("entry")).values(key=bindparam("key")),
                rekeys,
            )

    def remember(self, groups: Sequence[frozenset[Alias]], keys: Sequence[str]) -> None:
        """Store every group's aliases under its entry (after the roster is rebuilt, when new
        entries have their numbers); an alias already held stays with its first holder."""
        ids = dict(
            self.connection.execute(
                select(Driver.key, Driver.id).where(
                    Driver.province == self.province, Driver.key.startswith(NO_ID_PREFIX)
                )
            ).all()
        )
        rows = [
            {
                "province": self.province,
                "name_key": alias.name_key,
                "kind": alias.kind,
                "value": alias.value,
                "driver_id": ids[key],
            }
            for group, key in zip(groups, keys, strict=True)
            for alias in sorted(group)
        ]
        if rows:
            statement = self.database.insert(DriverAlias).on_conflict_do_nothing()
            for start in range(0, len(rows), 10_000):
                self.connection.execute(statement, rows[start : start + 10_000])
        for entry, survivor in sorted(self.merged.items()):
            if entry in self.claimed:
                continue
            self.events.append(
                self._event(
                    entry,
                    "roster.merged",
                    "its records now belong to driver "
                    f"{driver_code(self.province, survivor)}, the same person",
                )
            )
        record(self.connection, self.events)
        self.events = []

    def _event(self, entry: int, kind: str, reason: str) -> NewEvent:
        return NewEvent(
            province=self.province,
            actor=self.actor,
            entity="driver",
            entity_key=str(entry),
            kind=kind,
            reason=reason,
        )
