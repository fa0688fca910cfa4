"""Linkage: which source records are the same driver, and the roster built from them.

Records with a valid ID number are linked by it when staged. The rest (ID missing or invalid)
are attributed here, afresh on every run so that the outcome depends only on what is staged:

1. to a driver with a valid ID whose records share the name and enough other evidence: the ID
   one typo away (3), a phone (2), a plate (2), the birth date in the damaged ID (1); a score of
   2 or more that no other candidate matches wins, and the evidence is recorded on the record;
2. else, records sharing a name and a phone or plate, one of them with no ID number at all,
   form a driver of their own (no ID yet: verification will have to confirm them);
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
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from chelun.identity.divisions import divisions
from chelun.roster.quarantine import (
    AMBIGUOUS,
    INVALID_ID_UNLINKED,
    NAME_ONLY,
    NO_IDENTITY,
    UNREADABLE,
    reason_text,
)
from chelun.storage.db import Database

STAGING_QUARANTINE = tuple(f"q:{code}" for code in (UNREADABLE, NO_IDENTITY, NAME_ONLY))
WEIGHTS = {"id": 3, "phone": 2, "plate": 2, "birth": 1}
THRESHOLD = 2


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


class Linker:
    """Links one province's staged records and rebuilds its roster."""

    def __init__(self, database: Database, province: str, actor: str) -> None:
        self.database = database
        self.province = province
        self.actor = actor

    def run(self) -> LinkResult:
        with self.database.connect() as connection:
            pending = self._pending(connection)
            candidates = self._candidates(connection, pending)
            updates, stats = self._decide(pending, candidates)
            self._write_links(connection, updates)
            created, retired = self._rebuild_roster(connection)
        return LinkResult(stats["evidence"], stats["no_id"], stats["quarantined"], created, retired)

    def _pending(self, connection: Connection) -> list[Pending]:
        rows = connection.execute(
            text(
                "SELECT source, row_no, name_key, id_status, id_cleaned, birth, phone, plate "
                "FROM source_record WHERE province = :p AND id_status <> 'valid' "
                "AND (link IS NULL OR link NOT IN :staged) ORDER BY source, row_no"
            ).bindparams(_expanding("staged")),
            {"p": self.province, "staged": list(STAGING_QUARANTINE)},
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
        connection.execute(
            text(
                "CREATE TEMPORARY TABLE IF NOT EXISTS link_pending (src VARCHAR(100), "
                "row_no INTEGER, name_key VARCHAR(100), phone VARCHAR(20), plate VARCHAR(16), "
                "birth DATE, id_start VARCHAR(6), id_middle VARCHAR(6), id_end VARCHAR(6))"
            )
        )
        for column in ("phone", "plate", "id_start", "id_middle", "id_end"):
            # The join probes the pending records (few) for each staged record (millions).
            connection.execute(
                text(
                    f"CREATE INDEX IF NOT EXISTS link_pending_{column} "
                    f"ON link_pending (name_key, {column})"
                )
            )
        connection.execute(text("DELETE FROM link_pending"))
        connection.execute(
            text(
                "INSERT INTO link_pending VALUES (:src, :row_no, :name_key, :phone, :plate, "
                ":birth, :id_start, :id_middle, :id_end)"
            ),
            [
                dict(
                    zip(
                        (
                            "src",
                            "row_no",
                            "name_key",
                            "phone",
                            "plate",
                            "birth",
                            "id_start",
                            "id_middle",
                            "id_end",
                        ),
                        (
                            p.source,
                            p.row_no,
                            p.name_key,
                            p.phone,
                            p.plate,
                            p.birth,
                            *_blocks(p.id_cleaned),
                        ),
                        strict=True,
                    )
                )
                for p in named
            ],
        )
        joins = {
            "phone": "s.phone = p.phone",
            "plate": "s.plate = p.plate",
            "id~": "SUBSTR(s.id_number, 1, 6) = p.id_start",
            "id~middle": "SUBSTR(s.id_number, 7, 6) = p.id_middle",
            "id~end": "SUBSTR(s.id_number, 13, 6) = p.id_end",
        }
        cleaned = {(p.source, p.row_no): p.id_cleaned for p in named}
        # One join per kind of evidence: each probes an index of the pending records.
        for kind, condition in joins.items():
            rows = connection.execute(
                text(
                    "SELECT p.src, p.row_no, s.driver_key FROM source_record s "
                    f"JOIN link_pending p ON p.name_key = s.name_key AND {condition} "
                    "WHERE s.province = :p AND s.id_status = 'valid'"
                ),
                {"p": self.province},
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
        connection.execute(text("DELETE FROM link_pending"))
        return found

    def _decide(
        self, pending: list[Pending], candidates: dict[tuple[str, int], dict[str, set[str]]]
    ) -> tuple[list[dict[str, Any]], dict[str, int]]:
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
        updates.extend(self._group_unmatched(unmatched, stats))
        return updates, stats

    def _group_unmatched(
        self, records: list[Pending], stats: dict[str, int]
    ) -> Iterable[dict[str, Any]]:
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
        for root, indexes in members.items():
            group = [records[i] for i in indexes]
            # A driver with no ID number yet (a village sheet often has none) gets an entry of
            # its own; a damaged ID that nothing corroborates goes to a clerk to correct.
            if any(r.id_status == "missing" and (r.phone or r.plate) for r in group):
                anchor = records[root]
                driver_key = f"nid:{anchor.source}:{anchor.row_no}"
                evidence = "no-id:" + (
                    "name+phone" if any(r.phone for r in group) else "name+plate"
                )
                for record in group:
                    yield self._update(record, driver_key, evidence, None)
                stats["no_id"] += 1
                continue
            for record in group:
                stats["quarantined"] += 1
                yield self._update(
                    record,
                    None,
                    f"q:{INVALID_ID_UNLINKED}",
                    reason_text(INVALID_ID_UNLINKED, record.id_status),
                )

    def _update(
        self, record: Pending, driver_key: str | None, link: str, quarantine: str | None
    ) -> dict[str, Any]:
        return {
            "p": self.province,
            "s": record.source,
            "r": record.row_no,
            "k": driver_key,
            "l": link,
            "q": quarantine,
        }

    def _write_links(self, connection: Connection, updates: list[dict[str, Any]]) -> None:
        if not updates:
            return
        connection.execute(
            text(
                "UPDATE source_record SET driver_key = :k, link = :l, quarantine = :q "
                "WHERE province = :p AND source = :s AND row_no = :r"
            ),
            updates,
        )

    def _rebuild_roster(self, connection: Connection) -> tuple[int, int]:
        run = uuid.uuid4().hex[:12]
        params = {"p": self.province}
        before = connection.execute(text("SELECT COALESCE(MAX(id), 0) FROM driver")).scalar_one()

        self._load_county_provinces(connection)

        def best(column: str) -> str:
            # The value from the most authoritative source (lowest rank) that has one.
            # Ranks have two digits (10-99), so the text "<rank><value>" sorts by rank first.
            return f"SUBSTR(MIN(rank || {column}), 3)"

        connection.execute(
            text(
                "INSERT INTO driver (province, key, id_number, name, birth, home_county, "
                "home_province, phone, plate, enterprise, uscc, member, records, sources, "
                "phones, enterprises, status, verification_stage, verification_outcome, "
                "linked_run, updated_at) "
                "SELECT g.province, g.driver_key, g.id_number, g.name, g.birth, g.county, "
                "COALESCE(c.province, SUBSTR(g.county, 1, 2)), g.phone, g.plate, g.enterprise, "
                "g.uscc, g.member, g.records, g.sources, g.phones, g.enterprises, 'active', "
                "'match', 'pending', :run, CURRENT_TIMESTAMP FROM ("
                "SELECT province, driver_key, MAX(id_number) AS id_number, "
                f"{best('name')} AS name, MIN(birth) AS birth, "
                "SUBSTR(MAX(id_number), 1, 6) AS county, "
                f"{best('phone')} AS phone, {best('plate')} AS plate, "
                f"{best('enterprise')} AS enterprise, {best('uscc')} AS uscc, "
                "MAX(CASE WHEN member THEN 1 ELSE 0 END) = 1 AS member, COUNT(*) AS records, "
                "COUNT(DISTINCT source) AS sources, COUNT(DISTINCT phone) AS phones, "
                "COUNT(DISTINCT enterprise) AS enterprises "
                "FROM source_record WHERE province = :p AND driver_key IS NOT NULL "
                "GROUP BY province, driver_key) g "
                # WHERE true: SQLite's parser needs it between a join and ON CONFLICT.
                "LEFT JOIN county_province c ON c.code = g.county WHERE true "
                "ON CONFLICT (province, key) DO UPDATE SET id_number = excluded.id_number, "
                "name = excluded.name, birth = excluded.birth, "
                "home_county = excluded.home_county, home_province = excluded.home_province, "
                "phone = excluded.phone, "
                "plate = excluded.plate, enterprise = excluded.enterprise, "
                "uscc = excluded.uscc, member = excluded.member, records = excluded.records, "
                "sources = excluded.sources, phones = excluded.phones, "
                "enterprises = excluded.enterprises, status = 'active', "
                "linked_run = excluded.linked_run, updated_at = excluded.updated_at"
            ),
            {**params, "run": run},
        )
        created = connection.execute(
            text("SELECT COUNT(*) FROM driver WHERE province = :p AND id > :before"),
            {**params, "before": before},
        ).scalar_one()
        # The upsert stamped every driver that still has records; the others have none left.
        retired_ids = (
            connection.execute(
                text(
                    "SELECT id FROM driver WHERE province = :p AND status = 'active' "
                    "AND linked_run <> :run"
                ),
                {**params, "run": run},
            )
            .scalars()
            .all()
        )
        if retired_ids:
            connection.execute(
                text("UPDATE driver SET status = 'retired' WHERE id = :id"),
                [{"id": i} for i in retired_ids],
            )
            connection.execute(
                text(
                    "INSERT INTO event (at, province, actor, entity, entity_key, kind, reason) "
                    "VALUES (CURRENT_TIMESTAMP, :p, :actor, 'driver', :id, 'roster.retired', "
                    "'no source record names this driver any more')"
                ),
                [{"p": self.province, "actor": self.actor, "id": str(i)} for i in retired_ids],
            )
        # One event for the run: a roster entry's creation is a fact of the link, and its
        # records (with their evidence) say where it came from; retirements are listed singly.
        connection.execute(
            text(
                "INSERT INTO event (at, province, actor, entity, entity_key, kind, reason) "
                "VALUES (CURRENT_TIMESTAMP, :p, :actor, 'roster', :p, 'roster.linked', :reason)"
            ),
            {
                **params,
                "actor": self.actor,
                "reason": f"{created} drivers created, {len(retired_ids)} retired; "
                f"drivers from id {before + 1} on are new",
            },
        )
        return created, len(retired_ids)

    def _load_county_provinces(self, connection: Connection) -> None:
        """A temporary table of every division code and the province it resolves to today
        (retired codes through their successors), for the roster's home province."""
        connection.execute(
            text(
                "CREATE TEMPORARY TABLE IF NOT EXISTS county_province "
                "(code VARCHAR(6) PRIMARY KEY, province VARCHAR(2))"
            )
        )
        if connection.execute(text("SELECT COUNT(*) FROM county_province")).scalar_one():
            return
        table = divisions()
        connection.execute(
            text("INSERT INTO county_province (code, province) VALUES (:c, :p)"),
            [
                {"c": code, "p": province}
                for code in table.codes()
                if (province := table.province_of(code)) is not None
            ],
        )


def _expanding(name: str) -> Any:
    from sqlalchemy import bindparam

    return bindparam(name, expanding=True)
