"""Shared helpers of the claims tests: a service on the real database, with the province's
plugins loaded as installed (Gansu's scheme for 62)."""

from __future__ import annotations

from chelun.claims.service import ClaimsService
from chelun.plugin_manager import PluginHost
from chelun.settings import Settings
from chelun.storage.db import Database


def service_for(
    database: Database, province: str = "62", extra: list[tuple[str, object]] | None = None
) -> ClaimsService:
    host = PluginHost(Settings(), extra=extra or [])
    return ClaimsService(database, host.manager(province), province, actor="user:test")
