"""Settings of grievance routing (``CHELUN_`` environment variables or ``.env``)."""

from __future__ import annotations

from pydantic import Field

from chelun.settings import HttpSettings


class GrievanceSettings(HttpSettings):
    """The working-day limits of grievance handling, unless a routing decision sets its own."""

    grievance_ack_days: int = Field(
        default=2,
        ge=0,
        le=250,
        description="Working days a joint conference has to acknowledge (受理) a grievance.",
    )
    grievance_resolve_days: int = Field(
        default=15,
        ge=0,
        le=250,
        description="Working days a joint conference has to resolve (办结) a grievance.",
    )
    grievance_batch: int = Field(
        default=1_000, ge=1, description="Grievances classified and routed per hook call."
    )
    grievance_platform_url: str | None = Field(
        default=None,
        description="The province platform's JSON grievance feed that core's default pulls "
        "(GET with cursor and limit); unset: no platform unless a plugin names one.",
    )
    grievance_page_size: int = Field(
        default=100, ge=1, le=1_000, description="Grievances asked for per platform page."
    )
    grievance_max_pages: int = Field(
        default=1_000,
        ge=1,
        description="Pages one pull fetches at most; the next pull resumes where it stopped.",
    )
    grievance_reply_url: str | None = Field(
        default=None,
        description="Where core's default posts replies to drivers (the province platform's "
        "reply endpoint); unset: replies nobody else delivers are marked unsent.",
    )
    grievance_handler_url: str | None = Field(
        default=None,
        description="Where core's default posts notices to the conference that now handles a "
        "grievance (escalations); unset: marked unsent.",
    )
    grievance_notify_attempts: int = Field(
        default=3,
        ge=1,
        le=20,
        description="Attempts to send one notice before it is marked failed (kept for retry).",
    )


SETTINGS = GrievanceSettings
