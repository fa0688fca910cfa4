"""chelun: workflow automation for the bodies that organise and serve China's truck drivers.

The public surface for plugin authors: ``hookimpl`` to mark hook implementations, and the models
in ``chelun.models`` that cross the hooks.
"""

from chelun.hookspecs import hookimpl

__version__ = "0.1.0"

__all__ = ["__version__", "hookimpl"]
