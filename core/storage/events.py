"""The one event writer: every state change of a case is an append-only ``event`` row.

Every capability records through here, so that each event has the same shape: who (``actor``: a
user, a flow or ``plugin:<name>``), when (timezone-aware UTC with microseconds, one instant per
call), what (``entity`` and ``entity_key``, ``kind``) and why (``reason``, never personal data).
The table refuses updates and deletes (triggers on both databases).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, insert, literal

from chelun.storage.tables import Event
from chelun.storage.types import UtcDateTime


@dataclass(frozen=True)
class NewEvent:
    """An event to record: ``at`` is added by the writer."""

    province: str | None
    actor: str
    entity: str
    entity_key: str
    kind: str
    reason: str
    data: dict[str, Any] | None = None


def now() -> dt.datetime:
    """The current instant, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


def record(connection: Connection, events: Iterable[NewEvent]) -> int:
    """Append events, all stamped with the same instant; returns how many."""
    at = now()
    rows = [
        {
            "at": at,
            "province": e.province,
            "actor": e.actor,
            "entity": e.entity,
            "entity_key": e.entity_key,
            "kind": e.kind,
            "reason": e.reason,
            "data": e.data,
        }
        for e in events
    ]
    if rows:
        connection.execute(insert(Event), rows)
    return len(rows)


def record_selected(
    connection: Connection, query: Select[Any], *, actor: str, entity: str, kind: str
) -> None:
    """Append one event per row of ``query``, in the database (no rows travel through Python).

    ``query`` selects three columns, in order: the province, the entity key and the reason.
    For bulk state changes (a verification stage confirming a million drivers at once).
    """
    province, entity_key, reason = query.selected_columns
    stamped = query.with_only_columns(
        literal(now(), UtcDateTime()),
        province,
        literal(actor),
        literal(entity),
        entity_key,
        literal(kind),
        reason,
    )
    connection.execute(
        insert(Event).from_select(
            ["at", "province", "actor", "entity", "entity_key", "kind", "reason"], stamped
        )
    )
