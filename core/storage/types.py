"""Column types shared by the tables."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Dialect, Integer
from sqlalchemy.types import TypeDecorator

#: One fen (分), the smallest amount of money stored.
CENT = Decimal("0.01")


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC instant with microseconds, the same on SQLite and PostgreSQL.

    SQLite has no time zones: instants are stored there as UTC text and read back as aware UTC
    datetimes. A naive datetime is refused rather than guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if not isinstance(value, dt.datetime) or value.tzinfo is None:
            raise ValueError("times are stored as timezone-aware datetimes (UTC)")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class _Hundredths(TypeDecorator[Decimal]):
    """A ``Decimal`` with two places stored as a whole number of hundredths on every database,
    so no value ever passes through a float and sums compare exactly. A float is refused, and so
    is a value with more than two places."""

    impl = BigInteger
    cache_ok = True
    #: What the values are, for the errors.
    what = "values"

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        if isinstance(value, float) or not isinstance(value, Decimal | int):
            raise ValueError(f"{self.what} are Decimal (never float)")
        hundredths = Decimal(value) * 100
        if hundredths != hundredths.to_integral_value():
            raise ValueError(f"{self.what} have at most two decimal places")
        return int(hundredths)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return (Decimal(int(value)) / 100).quantize(CENT)


class Money(_Hundredths):
    """An amount of yuan, stored as whole fen (BigInteger)."""

    impl = BigInteger
    cache_ok = True
    what = "amounts of money"


class Points(_Hundredths):
    """Points of a score, stored as whole hundredths (Integer)."""

    impl = Integer
    cache_ok = True
    what = "points"
