"""Masking personal data for anything a person reads: exports, reports, logs.

Unmasked values leave the database only where a user asks for them (``--reveal``).
"""

from __future__ import annotations


def mask_id(value: str | None) -> str:
    """320102199001011234 -> 320102********1234: the home county stays readable."""
    if not value:
        return ""
    return (
        value[:6] + "*" * max(len(value) - 10, 0) + value[-4:]
        if len(value) > 10
        else "*" * len(value)
    )


def mask_phone(value: str | None) -> str:
    """13800138000 -> 138****8000."""
    if not value:
        return ""
    return (
        value[:3] + "*" * max(len(value) - 7, 0) + value[-4:]
        if len(value) > 7
        else "*" * len(value)
    )


def mask_name(value: str | None) -> str:
    """张伟 -> 张*; 阿依古丽·买买提 -> 阿*******: the first character only."""
    if not value:
        return ""
    return value[0] + "*" * (len(value) - 1)


def mask_plate(value: str | None) -> str:
    """苏A12345 -> 苏A***45."""
    if not value:
        return ""
    return (
        value[:2] + "*" * max(len(value) - 4, 0) + value[-2:]
        if len(value) > 4
        else "*" * len(value)
    )
