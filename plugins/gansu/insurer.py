"""Gansu's insurer for 车货无忧: the claims API its plugin speaks (docs/claims.md).

Set ``CHELUN_GANSU_INSURER_URL`` to the insurer's API (and ``CHELUN_GANSU_INSURER_TOKEN`` if it
wants a bearer token); without a URL the plugin offers no client and assessed claims wait for one.
"""

from __future__ import annotations

from pydantic import Field

from chelun import hookimpl
from chelun.claims.models import InsurerClient, Product
from chelun.settings import ChelunSettings

PROVINCES = ("62",)

#: The scheme whose claims this insurer takes.
PRODUCT = "gansu-chehuowuyou"


class GansuInsurerSettings(ChelunSettings):
    """Where Gansu's 车货无忧 insurer takes claims."""

    gansu_insurer_url: str | None = Field(
        default=None,
        description="Base URL of the 车货无忧 insurer's claims API (POST /v1/claims, GET "
        "/v1/claims/{id}); unset: Gansu's assessed claims wait at assessed.",
    )
    gansu_insurer_token: str | None = Field(
        default=None, description="Bearer token the insurer's API wants, if any."
    )
    gansu_insurer_timeout: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="Seconds the insurer has to answer one request before it is tried again.",
    )


@hookimpl
def chelun_insurer_client(province: str, product: Product) -> InsurerClient | None:
    if product.code != PRODUCT:
        return None
    settings = GansuInsurerSettings()
    if not settings.gansu_insurer_url:
        return None
    # httpx is imported only when there is an insurer to call.
    from chelun.claims.insurer import HttpInsurerClient

    return HttpInsurerClient(
        settings.gansu_insurer_url,
        token=settings.gansu_insurer_token,
        timeout=settings.gansu_insurer_timeout,
    )
