"""Guizhou (贵州, 52): recognition.

A published final list goes to the group chats (党支部群) of the branches concerned: the branches
that nominated an awardee and the branches of awarded member drivers, through
``CHELUN_GUIZHOU_GROUP_CHAT_URL`` (the webhook Guizhou's grievance replies use, with ``{branch}``
for the branch code). The message names the award and the awardees by public code only.
"""

from __future__ import annotations

from urllib.parse import quote

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from chelun import hookimpl
from chelun.recognition.models import CampaignInfo, ListEntry, Publication

PROVINCES = ("52",)


class GroupChatSettings(BaseSettings):
    """Where Guizhou's branch group chats are reached (``CHELUN_GUIZHOU_GROUP_CHAT_URL``)."""

    model_config = SettingsConfigDict(env_prefix="CHELUN_", env_file=".env", extra="ignore")

    guizhou_group_chat_url: str | None = Field(default=None)


def branches_of(entries: list[ListEntry]) -> list[str]:
    """The branches a final list concerns, in order."""
    found = {entry.unit for entry in entries if entry.unit_kind == "branch"}
    found |= {entry.branch for entry in entries if entry.branch}
    return sorted(found)


def message(campaign: CampaignInfo, entries: list[ListEntry]) -> str:
    listed = "；".join(f"第{entry.rank}名 {entry.nominee}" for entry in entries)
    return f"【{campaign.name}】评选结果公布：共{len(entries)}名。{listed}"


@hookimpl
def chelun_award_publications(
    province: str, campaign: CampaignInfo, entries: list[ListEntry]
) -> list[Publication]:
    template = GroupChatSettings().guizhou_group_chat_url
    if not template or not entries:
        return []
    text = message(campaign, entries)
    return [
        Publication(
            channel=f"group-chat:{branch}",
            url=template.replace("{branch}", quote(branch, safe="")),
            payload={"msgtype": "text", "text": {"content": text}},
        )
        for branch in branches_of(entries)
    ]
