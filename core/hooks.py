"""The hook markers: ``hookspec`` for core's specifications, ``hookimpl`` for implementations.

Each capability declares its hooks in its own room (``chelun.<capability>.specs``); every hook
is named ``chelun_<what>`` and its docstring says when and how often it is called, what it
receives and returns, whether it is ``firstresult`` and its contract. docs/hooks.md is the
reference and a test keeps the two in step.
"""

from pluggy import HookimplMarker, HookspecMarker

PROJECT = "chelun"

hookspec = HookspecMarker(PROJECT)
hookimpl = HookimplMarker(PROJECT)

__all__ = ["PROJECT", "hookimpl", "hookspec"]
