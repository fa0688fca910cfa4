"""Identifiers for test files: valid resident ID numbers, made up, with their check digit."""

from __future__ import annotations


def check_digit(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of a resident ID's first 17 digits."""
    value = (1 - 2 * int(first17, 13)) % 11
    return "X" if value == 10 else str(value)


def resident_id(county: str = "620102", birth: str = "19800101", order: str = "123") -> str:
    """A valid 18-character resident ID number: county, birth date, order code, check."""
    body = county + birth + order
    return body + check_digit(body)
