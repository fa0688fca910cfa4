"""The base of every capability's service: one province's work, over the database, with the
province's plugins, done by an actor (``user:cli``, ``flow:...``) whose name goes into every
event."""

from __future__ import annotations

from typing import Any, ClassVar

import pluggy
from sqlalchemy import select

from chelun.settings import ChelunSettings
from chelun.storage.db import Database
from chelun.storage.events import NewEvent


class ProvinceService:
    """A capability's service for one province. ``SETTINGS`` is the capability's settings class,
    read from the environment unless ``settings`` is given."""

    SETTINGS: ClassVar[type[ChelunSettings]] = ChelunSettings
    #: The entity of the service's cases in the event log; a case's key is ``<province>:<ref>``.
    ENTITY: ClassVar[str] = ""

    def __init__(
        self,
        database: Database,
        pm: pluggy.PluginManager,
        province: str,
        *,
        actor: str = "user:cli",
        settings: Any = None,
    ) -> None:
        self.database = database
        self.pm = pm
        self.province = province
        self.actor = actor
        self.settings = settings or self.SETTINGS()
        self._ready()

    def _ready(self) -> None:
        """What a capability's service sets up besides (its caches, its calendar)."""

    def _case(self, table: Any, ref: str, error: type[Exception], what: str) -> Any:
        """The province's row of ``table`` with this ``ref``; ``error`` naming it if none."""
        with self.database.sessions() as session:
            row = session.scalars(
                select(table).where(table.province == self.province, table.ref == ref)
            ).one_or_none()
        if row is None:
            raise error(f"no {what} {ref!r} in province {self.province}")
        return row

    def event(
        self,
        ref: str,
        kind: str,
        reason: str,
        data: dict[str, Any] | None = None,
        actor: str | None = None,
    ) -> NewEvent:
        """An event of one case, to write with ``chelun.storage.events.record`` in the same
        transaction as the change it records."""
        return NewEvent(
            self.province,
            actor or self.actor,
            self.ENTITY,
            f"{self.province}:{ref}",
            kind,
            reason,
            data,
        )

    def history(self, ref: str) -> list[Any]:
        """The events of one case (``ENTITY``, ``<province>:<ref>``), oldest first."""
        return self._history(self.ENTITY, f"{self.province}:{ref}")

    def _history(self, entity: str, key: str) -> list[Any]:
        """The events of one case (entity and key), oldest first."""
        from chelun.storage.tables import Event

        with self.database.sessions() as session:
            return list(
                session.scalars(
                    select(Event)
                    .where(Event.entity == entity, Event.entity_key == key)
                    .order_by(Event.id)
                )
            )
