"""Hook specifications, one module per capability.

Every hook is named ``chelun_<what>``; its docstring says when it is called, what it receives,
what it returns, whether it is ``firstresult`` and its contract. docs/hooks.md is the reference
and a test keeps the two in step.
"""

from pluggy import HookimplMarker, HookspecMarker

hookspec = HookspecMarker("chelun")
hookimpl = HookimplMarker("chelun")

from chelun.hookspecs.grievance import GrievanceSpec  # noqa: E402
from chelun.hookspecs.insurance import InsuranceSpec  # noqa: E402
from chelun.hookspecs.recognition import RecognitionSpec  # noqa: E402
from chelun.hookspecs.roster import RosterSpec  # noqa: E402

SPEC_CLASSES = (RosterSpec, GrievanceSpec, InsuranceSpec, RecognitionSpec)

__all__ = ["SPEC_CLASSES", "hookimpl", "hookspec"]
