"""Prefect settings for running offline: a private home, no analytics, no telemetry.

Applied before Prefect is imported, by the CLI and by the tests, so that a newcomer's first run
sends nothing anywhere and prints no telemetry errors.
"""

from __future__ import annotations

import os
from pathlib import Path

from chelun.storage.private import private_folder


def configure_prefect(home: Path) -> None:
    """Point Prefect at ``home/prefect`` and switch off everything that calls out.

    Values the operator already set win: an operator running a Prefect server sets
    ``PREFECT_API_URL`` and keeps it.
    """
    private_folder(home)
    prefect_home = private_folder((home / "prefect").resolve())
    defaults = {
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    if not os.environ.get("PREFECT_API_URL"):
        # Prefect's embedded mode only: with a server of their own, operators keep its UI and
        # its run logs.
        defaults |= {
            "PREFECT_SERVER_UI_ENABLED": "false",
            "PREFECT_SERVER_REGISTER_BLOCKS_ON_START": "false",
            # The embedded server imports for a while on a small machine; its default 20 s
            # start-up budget is too tight for a cold first start.
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "PREFECT_LOGGING_TO_API_ENABLED": "false",
        }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
