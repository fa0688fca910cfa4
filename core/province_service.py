"""The base of every capability's service: one province's work, over the database, with the
province's plugins, done by an actor (``user:cli``, ``flow:...``) whose name goes into every
event."""

from __future__ import annotations

from typing import Any, ClassVar

import pluggy

from chelun.settings import ChelunSettings
from chelun.storage.db import Database


class ProvinceService:
    """A capability's service for one province. ``SETTINGS`` is the capability's settings class,
    read from the environment unless ``settings`` is given."""

    SETTINGS: ClassVar[type[ChelunSettings]] = ChelunSettings

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
