"""Core's default hook implementations, registered in every province's manager.

They run after every plugin (``trylast``), so a province plugin's decision wins.
"""

from __future__ import annotations

from collections.abc import Callable

from chelun.hookspecs import hookimpl
from chelun.models.roster import SourceProfile
from chelun.roster.profiles import BUILT_IN_PROFILES


@hookimpl(trylast=True)
def chelun_source_profiles(register: Callable[[SourceProfile], None]) -> None:
    for profile in BUILT_IN_PROFILES:
        register(profile)
