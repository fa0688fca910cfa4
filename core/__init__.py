"""chelun: workflow automation for the bodies that organise and serve China's truck drivers.

The public surface for plugin authors: ``hookimpl`` to mark hook implementations, and the models
that cross the hooks, in each capability's room (``chelun.roster.models`` ...).
"""

from chelun.hooks import hookimpl

__version__ = "0.1.0"

__all__ = ["__version__", "hookimpl"]
