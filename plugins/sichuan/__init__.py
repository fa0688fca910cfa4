"""Sichuan (四川, 51): phone verification through the province's platform (蜀道畅).

Set ``CHELUN_SICHUAN_PHONE_API`` to the platform's verification endpoint (and
``CHELUN_SICHUAN_PHONE_TOKEN`` if it wants one); without it the plugin has no provider and
drivers wait at the phone stage.
"""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from chelun import hookimpl
from chelun.roster.models import PhoneCheck, VerificationOutcome

PROVINCES = ("51",)


class SichuanSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHELUN_SICHUAN_", extra="ignore")

    phone_api: str | None = None
    phone_token: str | None = None


@hookimpl
def chelun_check_phones(
    province: str, checks: list[PhoneCheck]
) -> list[VerificationOutcome] | None:
    settings = SichuanSettings()
    if not settings.phone_api:
        return None
    # httpx is imported only when there is a provider to call.
    from chelun.roster.phone_api import PhoneCheckClient

    client = PhoneCheckClient(settings.phone_api, token=settings.phone_token)
    try:
        return client.check(checks)
    finally:
        client.close()
