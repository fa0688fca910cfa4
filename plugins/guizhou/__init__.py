"""Guizhou (贵州, 52).

Grievances: in a mountain province one landslide cuts roads across several cities, so emergency
transport needs go to the province's conference, with the emergency management department, and
must be settled within one working day.

Replies to drivers go to their branch's group chat (党支部群): ``CHELUN_GUIZHOU_GROUP_CHAT_URL``.
"""

from __future__ import annotations

from urllib.parse import quote

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from chelun import hookimpl
from chelun.grievance.models import Delivery, GrievanceItem, Notice, Route
from chelun.grievance.routing import department, unit_name

PROVINCES = ("52",)


class GuizhouSettings(BaseSettings):
    """Where Guizhou's branch group chats are reached (``CHELUN_GUIZHOU_...``)."""

    model_config = SettingsConfigDict(env_prefix="CHELUN_", env_file=".env", extra="ignore")

    guizhou_group_chat_url: str | None = Field(
        default=None,
        description="The branch group chats' webhook, with {branch} for the branch code, e.g. "
        "http://127.0.0.1:8080/hooks/{branch}.",
    )


@hookimpl
def chelun_route_grievances(province: str, grievances: list[GrievanceItem]) -> list[Route | None]:
    return [
        Route(
            level="province",
            area=province,
            unit=unit_name("province", province),
            lead_department=department("transport", "province"),
            assisting=(
                department("emergency", "province"),
                department("traffic_police", "province"),
            ),
            reason="emergency transport in Guizhou is coordinated by the province",
            ack_days=0,
            resolve_days=1,
        )
        if grievance.category == "emergency_transport"
        else None
        for grievance in grievances
    ]


@hookimpl
def chelun_grievance_deliveries(
    province: str, notices: list[Notice]
) -> list[Delivery | None] | None:
    template = GuizhouSettings().guizhou_group_chat_url
    if not template:
        return None
    # A group reads the message: it is core's words alone (no personal data, no grievance text),
    # in the group robots' common text shape.
    return [
        Delivery(
            channel=f"group-chat:{notice.branch}",
            url=template.replace("{branch}", quote(notice.branch, safe="")),
            payload={"msgtype": "text", "text": {"content": notice.message}},
        )
        if notice.recipient == "driver" and notice.branch
        else None
        for notice in notices
    ]


# Recognition: this province's variant of award campaigns and care visits.
from chelun.plugins.guizhou.recognition import chelun_award_publications  # noqa: E402, F401
