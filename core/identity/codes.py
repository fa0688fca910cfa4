"""Public driver codes: ``<province>-<number>``, e.g. ``32-0000042``.

A code names one person for ever. Its number is the roster entry's own (``driver.id``), and the
entry follows the person: through their ID number when they have one, through their name with
a phone or plate when they do not (``chelun.roster.identity``), never through a row's position.
"""

from __future__ import annotations

import re

_CODE = re.compile(r"^(\d{2})-(\d{7,})$")


def driver_code(province: str, driver_id: int) -> str:
    """The public code of a roster entry: province and its number, e.g. 32-0000042."""
    return f"{province}-{driver_id:07d}"


def driver_number(code: str) -> int:
    """The roster number in a public driver code: 32-0000042 -> 42.

    Raises ValueError for anything that is not a driver code (the text itself is not quoted: a
    clerk's file may put a person's ID number where a code belongs).
    """
    match = _CODE.match(code.strip())
    if match is None:
        raise ValueError("not a driver code (expected PP-NNNNNNN, e.g. 32-0000042)")
    return int(match.group(2))


def code_province(code: str) -> str:
    """The province a driver code belongs to: 32-0000042 -> 32."""
    match = _CODE.match(code.strip())
    if match is None:
        raise ValueError("not a driver code (expected PP-NNNNNNN, e.g. 32-0000042)")
    return match.group(1)
