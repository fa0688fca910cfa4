"""Settings of insurance claims (``CHELUN_`` environment variables or ``.env``)."""

from __future__ import annotations

from pydantic import Field

from chelun.settings import ChelunSettings


class ClaimsSettings(ChelunSettings):
    """How claims are processed; each scheme's insurer keeps its own settings in its plugin."""

    claims_batch: int = Field(
        default=500, ge=1, le=10_000, description="Claims checked and assessed per hook call."
    )
    claims_stale_minutes: int = Field(
        default=10,
        ge=1,
        le=1_440,
        description="Minutes after which a claim left mid-submission by a run that died is "
        "sent again (with the same idempotency key and body).",
    )


SETTINGS = ClaimsSettings
