"""Prefect flows over chelun's core.

Importing this package applies chelun's offline Prefect settings (a private PREFECT_HOME under
CHELUN_HOME, analytics off) before Prefect itself is imported; values already set win.
"""

from chelun.offline import configure_prefect
from chelun.settings import Settings

configure_prefect(Settings().home)
