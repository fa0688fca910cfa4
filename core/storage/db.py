"""The database: SQLite embedded by default, PostgreSQL by URL; migrated with Alembic."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from chelun.settings import Settings
from chelun.storage.private import private_file, private_folder

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
#: The newest migration's revision. A database stamped with it needs nothing: ``ensure_schema``
#: reads the stamp with one query and does not import alembic (~0.1 s of every command's start).
#: A test holds it equal to alembic's own head.
SCHEMA_HEAD = "0007"


#: How long a writer waits for another's write transaction on SQLite (one writer at a time)
#: before it fails: longer than the longest transaction chelun holds (linking a province of the
#: pilot, under a minute here), so that intakes of two provinces at once both go through.
SQLITE_BUSY_TIMEOUT_MS = 600_000
WRITE = "chelun_write"


class SchemaError(RuntimeError):
    """The database's schema is not the one this chelun needs (a migration is pending)."""


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # SQLAlchemy begins transactions itself (``_sqlite_begin``), not the sqlite3 module.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets readers (reports, exports) run while an intake writes; NORMAL sync is safe in
    # WAL mode (a crash loses at most the last transactions, never corrupts).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA cache_size=-262144")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    """Writers take SQLite's write lock when they begin (``BEGIN IMMEDIATE``), so that they wait
    for one another (``busy_timeout``) instead of failing with "database is locked" when a
    transaction that started by reading tries to write after another writer committed."""
    write = connection.get_execution_options().get(WRITE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _without_row_details(context: ExceptionContext) -> BaseException | None:
    """PostgreSQL explains a failed row in the error's DETAIL (``Failing row contains (...)``,
    ``Key (id_number)=(...) already exists``): personal data. Errors keep the primary message
    only; the statement's parameters are already hidden (``hide_parameters``)."""
    original = context.original_exception
    diag = getattr(original, "diag", None)
    if diag is None or not getattr(diag, "message_detail", None):
        return None
    original.args = (diag.message_primary or type(original).__name__,)
    return DBAPIError.instance(
        context.statement,
        None,
        original,
        context.dialect.loaded_dbapi.Error,
        hide_parameters=True,
        connection_invalidated=context.is_disconnect,
        dialect=context.dialect,
    )


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


class Database:
    """An engine and a session factory for one database URL."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        # Statement parameters are rows of personal data: never in an error message.
        if self.is_sqlite:
            path = url.split("///", 1)[1] if "///" in url else ""
            if path and path != ":memory:":
                private_folder(Path(path).parent)
                private_file(Path(path))
            self.engine: Engine = create_engine(url, hide_parameters=True)
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
        else:
            self.engine = create_engine(url, pool_pre_ping=True, hide_parameters=True)
            event.listen(self.engine, "handle_error", _without_row_details)
        #: The same pool, for transactions that write (``connect``, ``session``).
        self.writer = self.engine.execution_options(**{WRITE: True})
        self.sessions = sessionmaker(self.writer, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """An ORM session in a transaction that writes, committed at the end."""
        with self.sessions.begin() as session:
            yield session

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection in a transaction that writes, committed at the end. Read-only work
        (exports, reports) uses ``engine.connect()`` and never waits for writers."""
        with self.writer.begin() as connection:
            yield connection

    def insert(self, table: Any) -> sqlite.Insert | postgresql.Insert:
        """An INSERT with this database's ``ON CONFLICT`` clauses (``on_conflict_do_update``,
        ``on_conflict_do_nothing``): SQLite and PostgreSQL share their form."""
        return sqlite.insert(table) if self.is_sqlite else postgresql.insert(table)

    def analyze(self, connection: Connection, *tables: type[Any]) -> None:
        """Refresh PostgreSQL's statistics of ``tables`` after a bulk load.

        Without them the planner takes a freshly loaded table of millions of rows for an empty
        one and joins it by nested loops (an export that takes 20 minutes instead of seconds).
        SQLite plans well without statistics: nothing is done there.
        """
        if self.is_sqlite:
            return
        for table in tables:
            connection.exec_driver_sql(f"ANALYZE {table.__tablename__}")

    def current_revision(self) -> str | None:
        with self.engine.connect() as connection:
            from alembic.runtime.migration import MigrationContext

            return MigrationContext.configure(connection).get_current_revision()

    def _stamped_head(self) -> bool:
        """True when the database is stamped with ``SCHEMA_HEAD`` (and nothing else)."""
        try:
            with self.engine.connect() as connection:
                stamps = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
                return stamps.scalars().all() == [SCHEMA_HEAD]
        except DBAPIError:  # no alembic_version table yet: alembic decides
            return False

    def head_revision(self) -> str | None:
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(alembic_config(self.url)).get_current_head()

    def upgrade(self) -> None:
        """Apply every pending migration."""
        config = alembic_config(self.url)
        with self.writer.begin() as connection:
            config.attributes["connection"] = connection
            from alembic import command

            command.upgrade(config, "head")

    def ensure_schema(self) -> None:
        """Migrate a fresh or older embedded database; a server database must be upgraded.

        PostgreSQL is shared by operators: its schema changes only through ``chelun db
        upgrade``, so a pending migration there is an error that says so.
        """
        if self._stamped_head():
            return
        current = self.current_revision()
        if current == self.head_revision():
            return
        if self.is_sqlite:
            self.upgrade()
            return
        raise SchemaError(
            f"the database at {self.engine.url.render_as_string(hide_password=True)} is at "
            f"revision {current or 'none'}, not {self.head_revision()}: run `chelun db upgrade`"
        )

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(settings: Settings | None = None, *, migrate: bool = True) -> Database:
    """The configured database, migrated when it is the embedded one."""
    settings = settings or Settings()
    database = Database(settings.resolved_database_url)
    if migrate:
        database.ensure_schema()
    return database


def plain_rows(connection: Connection, statement: Any) -> list[tuple[Any, ...]]:
    """Every row of a SELECT as the database driver returns it: plain tuples, no result
    processing (SQLite's booleans stay 0 and 1, its dates text). For the reads of a whole
    province's roster, where building SQLAlchemy rows costs more than the query (0.7 s of 1.9 s
    for Jiangsu's 767,000 drivers at pilot scale). Its parameters must be plain values: no
    expanding IN, no types that process what they bind."""
    compiled = statement.compile(connection)
    values = compiled.construct_params()
    params: Any = values
    if compiled.positional:
        params = tuple(values[name] for name in compiled.positiontup or ())
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(compiled.string, params)
        return cursor.fetchall()
    finally:
        cursor.close()
