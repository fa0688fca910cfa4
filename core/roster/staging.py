"""Staging: a source file's rows, normalised, upserted into ``source_record``.

A row is staged in one of three states: linked by its valid ID number (``link = 'id'``),
quarantined on its own (``link = 'q:<reason>'``: unreadable, or nothing that identifies anyone)
or pending (``link`` NULL) for the linkage step to attribute. Rows are upserted by
(province, source, row), in committed batches, and stamped with the staging run; rows of the
source that the run did not write (the file shrank) are deleted at the end. Staging a file again
is therefore idempotent, and a staging that was killed is simply done again.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import delete, func, select, update

from chelun.identity.normalise import (
    normalise_id,
    normalise_name,
    normalise_phone,
    normalise_plate,
    normalise_uscc,
    parse_member,
)
from chelun.roster.models import SourceProfile
from chelun.roster.profiles import load_mapping
from chelun.roster.quarantine import (
    NAME_ONLY,
    NO_IDENTITY,
    OVERLONG,
    UNREADABLE,
    reason_text,
)
from chelun.sources.profiles import ColumnMap, detect
from chelun.sources.readers import Table, open_table, shown_path
from chelun.storage.db import Database
from chelun.storage.tables import SourceFile, SourceRecord

#: Fields that are kept as attributes, not columns of their own.
ATTRIBUTE_FIELDS = (
    "qualification",
    "licence_class",
    "address",
    "political_status",
    "party_org",
    "serial",
    "remarks",
)
COLUMNS = (
    "province",
    "source",
    "row_no",
    "rank",
    "name",
    "name_key",
    "id_number",
    "id_status",
    "id_cleaned",
    "birth",
    "phone",
    "plate",
    "enterprise",
    "uscc",
    "member",
    "attributes",
    "driver_key",
    "link",
    "quarantine",
    "staged_run",
)


logger = logging.getLogger(__name__)


class StagingIncomplete(RuntimeError):
    """A source's rows were not all stored under the run that read it."""


@dataclass(frozen=True)
class SourceInput:
    """One file to ingest: its name in provenance, its path and an optional mapping file."""

    name: str
    path: Path
    mapping: Path | None = None


@dataclass(frozen=True)
class StageResult:
    source: str
    path: Path
    profile: str
    format: str
    encoding: str | None
    rows: int
    skipped: bool
    #: Rows with a valid ID number, and those whose ID number is of another province (a file
    #: ingested under the wrong province shows as most of its IDs foreign).
    valid_ids: int = 0
    foreign_ids: int = 0

    @property
    def mostly_foreign(self) -> bool:
        return self.foreign_ids * 2 > self.valid_ids > 0


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


#: The longest values the roster stores (the columns' sizes); a longer cell holds something
#: else than a name or an enterprise, and its row is quarantined as ``overlong``.
NAME_MAX = SourceRecord.__table__.c.name.type.length
ENTERPRISE_MAX = SourceRecord.__table__.c.enterprise.type.length
CLEANED_ID_MAX = SourceRecord.__table__.c.id_cleaned.type.length


def _too_long(name: str | None, enterprise: str | None) -> str:
    """What is too long in a row, said without the value; empty when nothing is."""
    if name is not None and len(name) > NAME_MAX:
        return f"name is {len(name):,} characters long (at most {NAME_MAX})"
    if enterprise is not None and len(enterprise) > ENTERPRISE_MAX:
        return f"enterprise is {len(enterprise):,} characters long (at most {ENTERPRISE_MAX})"
    return ""


def _quarantined(
    province: str, source: str, number: int, rank: int, run: str, code: str, detail: str
) -> tuple[Any, ...]:
    """A ``source_record`` tuple for a row quarantined at staging with nothing of it kept."""
    return (
        province,
        source,
        number,
        rank,
        *(None, None, None, "missing"),
        *(None,) * 9,
        f"q:{code}",
        reason_text(code, detail),
        run,
    )


def record_rows(
    province: str, source: str, run: str, columns: ColumnMap, rows: Iterator[Any]
) -> Iterator[tuple[Any, ...]]:
    """Normalise a reader's rows into ``source_record`` tuples (in ``COLUMNS`` order).

    The hot loop of intake: it runs once per row of every file, so lookups are hoisted into
    locals and absent columns read from a constant empty cell.
    """
    fields = columns.fields
    profile: SourceProfile = columns.profile
    rank = profile.rank
    all_members = profile.all_members
    width = max([*fields.values(), *columns.extras, -1]) + 1
    # A column the file lacks reads from index ``width``: the empty cell appended below.
    i_name, i_id, i_phone, i_plate, i_enterprise, i_uscc, i_status, i_flag = (
        fields.get(f, width)
        for f in (
            "name",
            "id_number",
            "phone",
            "plate",
            "enterprise",
            "uscc",
            "political_status",
            "member_flag",
        )
    )
    has_uscc = "uscc" in fields
    has_member_columns = "political_status" in fields or "member_flag" in fields
    attribute_columns = [
        (field, fields[field]) for field in ATTRIBUTE_FIELDS if field in fields
    ] + [(header, index) for index, header in columns.extras.items()]
    dumps = orjson.dumps
    name_of, id_of, phone_of, plate_of = (
        normalise_name,
        normalise_id,
        normalise_phone,
        normalise_plate,
    )
    for number, cells, problem in rows:
        if cells is None:
            yield _quarantined(province, source, number, rank, run, UNREADABLE, problem or "")
            continue
        overflow = len(cells) - width
        if overflow < 0:
            cells = cells + [""] * (1 - overflow)
        else:
            cells = [*cells, ""]
        name, name_key = name_of(cells[i_name])
        enterprise = cells[i_enterprise] or None
        too_long = _too_long(name, enterprise)
        if too_long:
            yield _quarantined(province, source, number, rank, run, OVERLONG, too_long)
            continue
        ident = id_of(cells[i_id])
        phone = phone_of(cells[i_phone])[0]
        plate = plate_of(cells[i_plate])[0]
        uscc = normalise_uscc(cells[i_uscc])[0] if has_uscc else None
        if all_members:
            member: bool | None = True
        elif has_member_columns:
            member = parse_member(cells[i_status] or None, cells[i_flag] or None)
        else:
            member = None
        attributes = {key: cells[i] for key, i in attribute_columns if cells[i]}
        if overflow > 0:
            attributes["unnamed columns"] = "|".join(cells[width:-1])
        if ident.value is not None:
            driver_key, link, quarantine, cleaned = ident.value, "id", None, None
        else:
            # A damaged ID longer than any real one is junk: nothing to compare it with.
            cleaned = ident.cleaned if 0 < len(ident.cleaned) <= CLEANED_ID_MAX else None
            driver_key = None
            if name_key is None:
                link = f"q:{NO_IDENTITY}"
                quarantine = reason_text(NO_IDENTITY, ident.status)
            elif ident.status == "missing" and phone is None and plate is None:
                link, quarantine = f"q:{NAME_ONLY}", reason_text(NAME_ONLY, "")
            else:
                link, quarantine = None, None
        yield (
            province,
            source,
            number,
            rank,
            name,
            name_key,
            ident.value,
            ident.status,
            cleaned,
            ident.birth.isoformat() if ident.birth else None,
            phone,
            plate,
            enterprise,
            uscc,
            member,
            dumps(attributes).decode() if attributes else None,
            driver_key,
            link,
            quarantine,
            run,
        )


_ID = COLUMNS.index("id_number")


def _count_ids(
    batch: list[tuple[Any, ...]], province: str, valid: int, foreign: int
) -> tuple[int, int]:
    ids = [record[_ID] for record in batch if record[_ID]]
    return valid + len(ids), foreign + sum(1 for i in ids if not i.startswith(province))


_KEYS = ("province", "source", "row_no")
_UPDATES = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS if c not in _KEYS)
_CONFLICT = f"ON CONFLICT (province, source, row_no) DO UPDATE SET {_UPDATES}"
#: PostgreSQL: each batch is copied into this temporary table, then upserted from it.
_COPY_TABLE = "chelun_staging_batch"


def _upsert_sql(database: Database) -> str:
    """The row upsert of staging, written by hand: the one raw statement of the hot path.

    ``bench/upsert_statement.py`` measured it against the same upsert built with Core
    (``insert(...).on_conflict_do_update`` with typed values): 157,000 against 55,000 rows/s on
    SQLite (200,000 rows, Core 2.9x slower) and 44,000 against 27,000 rows/s on PostgreSQL
    (100,000 rows, 1.6x), because Core wants dicts of typed values where the reader already
    has the tuples the driver takes. PostgreSQL takes a batch faster still by COPY
    (:func:`_copy_batch`).
    """
    marks = ", ".join("?" if database.is_sqlite else "%s" for _ in COLUMNS)
    return f"INSERT INTO source_record ({', '.join(COLUMNS)}) VALUES ({marks}) {_CONFLICT}"


def _copy_batch(connection: Any, batch: list[tuple[Any, ...]]) -> None:
    """Upsert a batch on PostgreSQL: COPY it into a temporary table (emptied at commit), then
    one INSERT ... SELECT ... ON CONFLICT, in the caller's transaction."""
    names = ", ".join(COLUMNS)
    cursor = connection.connection.driver_connection.cursor()
    cursor.execute(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {_COPY_TABLE} "
        "(LIKE source_record INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
    )
    with cursor.copy(f"COPY {_COPY_TABLE} ({names}) FROM STDIN") as copy:
        for record in batch:
            copy.write_row(record)
    cursor.execute(
        f"INSERT INTO source_record ({names}) SELECT {names} FROM {_COPY_TABLE} {_CONFLICT}"
    )


#: Clean text files are staged a column at a time (``chelun.roster.columnar``); False reads
#: every file row by row (the benchmark's and the tests' way to compare the two).
COLUMNAR = True


def _batched(records: Iterator[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for record in records:
        batch.append(record)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class Stager:
    """Stages source files of one province."""

    def __init__(
        self,
        database: Database,
        province: str,
        profiles: list[SourceProfile],
        *,
        progress: Callable[[int], None] | None = None,
        batch_rows: int = 20_000,
    ) -> None:
        self.database = database
        self.province = province
        self.profiles = profiles
        self.progress = progress
        self.batch_rows = batch_rows

    def stage(self, source: SourceInput, *, force: bool = False) -> StageResult:
        """Stage one file; a file already staged unchanged is skipped unless ``force``.

        Raises ``SourceReadError`` or ``ProfileError`` before anything is written when the file
        cannot be read or recognised.
        """
        digest = file_digest(source.path)
        with open_table(source.path) as table:
            where = f"{source.path} (source {source.name!r})"
            if source.mapping is not None:
                columns = load_mapping(source.mapping, table.headers, where)
            else:
                columns = detect(table.headers, self.profiles, where)
            with self.database.session() as session:
                known = session.scalars(
                    select(SourceFile).where(
                        SourceFile.province == self.province, SourceFile.name == source.name
                    )
                ).one_or_none()
                if (
                    not force
                    and known is not None
                    and known.status == "staged"
                    and known.sha256 == digest
                    and known.profile == columns.profile.name
                ):
                    return StageResult(
                        source.name,
                        source.path,
                        known.profile,
                        known.format,
                        known.encoding,
                        known.rows,
                        skipped=True,
                    )
                if known is None:
                    known = SourceFile(province=self.province, name=source.name)
                    session.add(known)
                known.path = shown_path(source.path)  # a GBK file name is not UTF-8
                known.sha256 = digest
                known.profile = columns.profile.name
                known.format = table.format
                known.encoding = table.encoding
                known.status = "staging"
                known.rows = 0
                known.blank_rows = 0
            run = uuid.uuid4().hex[:12]
            rows, valid_ids, foreign_ids, blank_rows = self._write(source, run, columns, table)
        of_source = (SourceRecord.province == self.province, SourceRecord.source == source.name)
        with self.database.session() as session:
            # The file is marked staged only when every row it has is stored under this run:
            # anything else (another writer, a lost batch) leaves it to be read again.
            stored = session.scalar(
                select(func.count()).where(*of_source, SourceRecord.staged_run == run)
            )
            if stored != rows:
                raise StagingIncomplete(
                    f"{source.name}: {rows} rows read but {stored} stored under this run; "
                    "the source stays unfinished and is read again on the next intake"
                )
            session.execute(delete(SourceRecord).where(*of_source, SourceRecord.staged_run != run))
            session.execute(
                update(SourceFile)
                .where(SourceFile.province == self.province, SourceFile.name == source.name)
                .values(status="staged", rows=rows, blank_rows=blank_rows)
            )
        return StageResult(
            source.name,
            source.path,
            columns.profile.name,
            table.format,
            table.encoding,
            rows,
            skipped=False,
            valid_ids=valid_ids,
            foreign_ids=foreign_ids,
        )

    def _write(
        self, source: SourceInput, run: str, columns: ColumnMap, table: Table
    ) -> tuple[int, int, int, int]:
        """Store the file's rows in committed batches; (rows, valid IDs, IDs of another
        province, blank rows). A clean text file is normalised a column at a time
        (``chelun.roster.columnar``), any other row by row (``record_rows``); both give the
        same rows."""
        lines = table.clean_lines() if COLUMNAR else None
        if lines is not None:
            import polars as pl

            from chelun.roster.columnar import columnar_records

            try:
                records = columnar_records(
                    lines,
                    province=self.province,
                    source=source.name,
                    run=run,
                    columns=columns,
                    delimiter=table.delimiter or ",",
                    headers=len(table.headers),
                )
                del lines
                if records is not None:
                    stored = self._store(records.batches(self.batch_rows))
                    return (*stored, records.blank_rows)
            except pl.exceptions.PolarsError as error:
                # Never expected; the rows are read again below and their batches rewrite any
                # stored already (same run, same keys). Polars' message may quote a cell: only
                # its kind is told.
                logger.warning(
                    "source %s: the column-at-a-time reading failed (%s); reading it row by row",
                    source.name,
                    type(error).__name__,
                )
            # Ragged rows: read the file again, row by row (clean_lines closed the table).
            with open_table(source.path) as again:
                rows = record_rows(self.province, source.name, run, columns, again.rows())
                stored = self._store(_batched(rows, self.batch_rows))
                return (*stored, again.blank_rows)
        rows = record_rows(self.province, source.name, run, columns, table.rows())
        stored = self._store(_batched(rows, self.batch_rows))
        return (*stored, table.blank_rows)

    def _store(self, batches: Iterable[list[tuple[Any, ...]]]) -> tuple[int, int, int]:
        """Upsert each batch in a transaction of its own; (rows, valid IDs, IDs of another
        province)."""
        sql = _upsert_sql(self.database)
        count = valid = foreign = 0
        for batch in batches:
            count += self._flush(sql, batch)
            valid, foreign = _count_ids(batch, self.province, valid, foreign)
        return count, valid, foreign

    def _flush(self, sql: str, batch: list[tuple[Any, ...]]) -> int:
        with self.database.connect() as connection:
            if self.database.is_sqlite:
                connection.exec_driver_sql(sql, batch)
            else:
                _copy_batch(connection, batch)
        if self.progress is not None:
            self.progress(len(batch))
        return len(batch)
