"""Prefect flows over chelun's core.

Importing this package applies chelun's offline Prefect settings (a private PREFECT_HOME under
CHELUN_HOME, analytics off) before Prefect itself is imported; values already set win. It then
sets chelun's logging over Prefect's (``chelun.logs``): context on every record, personal data
masked in every record, including the run logs Prefect's API handler stores, and in the message
Prefect keeps of a failed run. A worker's flow-run process imports it too, so that holds there.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from chelun.logs import configure_logging, mask_prefect_state_messages
from chelun.offline import configure_prefect
from chelun.settings import Settings

if TYPE_CHECKING:
    import pluggy

    from chelun.storage.db import Database

configure_prefect(Settings().home)
# Prefect configures its logging when prefect.main is first imported; chelun's goes over it.
import_module("prefect.main")
configure_logging()
mask_prefect_state_messages()


def open_province(province: str) -> tuple[Database, pluggy.PluginManager]:
    """A flow run's database (migrated when embedded) and the province's plugin manager, built
    once per run and handed to its tasks; the database is disposed of if the plugins fail."""
    from chelun.plugin_manager import PluginHost
    from chelun.storage.db import open_database

    settings = Settings()
    database = open_database(settings)
    try:
        return database, PluginHost(settings).manager(province)
    except BaseException:
        database.dispose()
        raise
