"""The capabilities chelun is made of, each a room of its own: ``core/<capability>/``.

A room holds everything of one capability together:

- ``specs.py``: its hook specifications (one class, ``SPEC``), with the models they carry in
  ``models.py``;
- ``defaults.py``: core's default implementations of those hooks (run last, so plugins win);
- ``settings.py``: its settings (``CHELUN_...`` environment variables or ``.env``);
- ``cli.py``: ``register(app)``, which adds its commands to the ``chelun`` command line;
- its services (plain Python over ``chelun.storage``, called by the CLI and by ``chelun.flows``).

Shared parts live beside the rooms: ``chelun.identity`` (driver codes, ID numbers and the other
identifiers, administrative divisions), ``chelun.sources`` (reading the files users send),
``chelun.storage`` (tables, migrations, the event writer), ``chelun.plugin_manager``.
A new capability is a new room and one more name below.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

CAPABILITIES: tuple[str, ...] = ("roster", "grievance", "claims", "recognition")


def room(capability: str, part: str) -> ModuleType:
    """One part (``specs``, ``defaults``, ``cli`` ...) of a capability's room."""
    return import_module(f"chelun.{capability}.{part}")


def spec_classes() -> list[type]:
    """Every capability's hook specification class, in the order of ``CAPABILITIES``."""
    return [room(capability, "specs").SPEC for capability in CAPABILITIES]


def settings_classes() -> list[type]:
    """Every capability's settings class (``SETTINGS`` of its ``settings.py``)."""
    return [room(capability, "settings").SETTINGS for capability in CAPABILITIES]


def default_plugins() -> list[tuple[str, ModuleType]]:
    """Core's default implementations: (plugin name, module) per capability."""
    return [(f"chelun.{c}.defaults", room(c, "defaults")) for c in CAPABILITIES]
