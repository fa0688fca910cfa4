"""Models that cross the grievance hooks: channels, grievances, routing, escalation, notices.

A grievance (诉求) is handled by joint conferences (联席会议) at county, city and province level;
freight-platform issues (commission rates, membership fees, price-crushing) go up to the
inter-ministerial conference. Deadlines count working days (工作日) on the Chinese holiday
calendar. No model here holds a name, ID number, phone or plate: drivers appear by their roster
code only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

#: Where a grievance is handled: a joint conference of the county, city or province, or the
#: inter-ministerial conference for freight-platform issues ("national").
GrievanceLevel = Literal["county", "city", "province", "national"]

#: Who a notification is for: the driver who raised the grievance, the member driver paired with
#: him (his contact person), or the body handling it.
Audience = Literal["driver", "contact", "body"]


class GrievanceChannel(BaseModel):
    """A way grievances arrive, contributed through ``chelun_grievance_channels``."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(description="Stable code that grievances name, e.g. 'platform-longyuan'.")
    name: str
    kind: Literal["branch", "pairing", "platform", "drivers_home", "hotline", "other"] = Field(
        description=(
            "A party branch, a paired member driver, a provincial platform (e.g. 陇原红运), a "
            "Driver's Home service point (司机之家), a telephone hotline, or anything else."
        )
    )
    province: str | None = Field(
        default=None, description="Two-digit province code; None when any province may use it."
    )
    description: str = ""


class Grievance(BaseModel):
    """One grievance (诉求) as routing and escalation decisions see it."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(description="Stable code, unique in the province, e.g. 'G62-2024-000123'.")
    province: str = Field(description="Two-digit province code.")
    county: str | None = Field(
        default=None,
        description="Six-digit code of the county where the grievance is handled first.",
    )
    driver: str | None = Field(
        default=None,
        description=(
            "The roster's public driver code, e.g. '62-0000042'; None when the driver is not on "
            "the roster. Never a name, ID number or phone."
        ),
    )
    channel: str = Field(description="Code of the registered channel it came through.")
    category: str = Field(
        description=(
            "What it is about, e.g. 'platform_commission', 'platform_membership_fee', "
            "'platform_price_crushing', 'parking', 'enforcement', 'wages', 'emergency_pass'."
        )
    )
    summary: str = Field(
        description=(
            "What the driver asks for, in the clerk's words. Without personal data: no names, "
            "ID numbers, phones or plates; those stay in the case file, not here."
        )
    )
    received_at: AwareDatetime
    urgent: bool = Field(
        default=False,
        description="An urgent transport need, e.g. a pass for emergency supplies.",
    )
    platform: str | None = Field(
        default=None,
        description="The freight platform the grievance concerns (a company, not a person).",
    )


class RoutingDecision(BaseModel):
    """Where a grievance is handled: a decision of ``chelun_route_grievance``, and the target
    of an escalation."""

    level: GrievanceLevel
    body: str = Field(
        description=(
            "The conference or body that handles it, e.g. '620102 county joint conference' or "
            "'inter-ministerial conference'."
        )
    )
    departments: tuple[str, ...] = Field(
        default=(),
        description=(
            "Departments brought in besides the lead transport department, e.g. "
            "'public_security', 'market_regulation', 'human_resources'."
        ),
    )
    deadline_working_days: int = Field(
        gt=0,
        description="Working days (工作日, holiday calendar applied) the body has to settle it.",
    )
    reason: str


class HandlingStep(BaseModel):
    """One level's handling of a grievance; a grievance's history lists them oldest first."""

    model_config = ConfigDict(frozen=True)

    level: GrievanceLevel
    body: str
    departments: tuple[str, ...] = ()
    started_on: dt.date
    due_on: dt.date = Field(
        description="Last working day of the deadline, holiday calendar and overrides applied."
    )
    outcome: Literal["open", "settled", "unsettled"] = Field(
        default="open",
        description="'unsettled': the body reported that it cannot settle the grievance.",
    )
    closed_on: dt.date | None = None
    note: str = Field(
        default="", description="What was done, for the next level; no personal data."
    )


class EscalationDecision(BaseModel):
    """A decision of ``chelun_escalate_grievance``: send the grievance up, or extend its deadline.

    With ``action='escalate'``, ``routing`` names the next level; with ``action='extend'``,
    ``extra_working_days`` is added to the current level's deadline.
    """

    action: Literal["escalate", "extend"]
    routing: RoutingDecision | None = None
    extra_working_days: int | None = Field(default=None, gt=0)
    reason: str


class WorkingDayOverride(BaseModel):
    """A local change to the national working-day calendar, e.g. an ethnic festival holiday in an
    autonomous prefecture, or a local make-up working day (调休)."""

    model_config = ConfigDict(frozen=True)

    day: dt.date
    working: bool = Field(description="True: a working day; False: a holiday.")
    reason: str
    divisions: tuple[str, ...] = Field(
        default=(),
        description="City (4-digit) or county (6-digit) codes it applies to; empty: the province.",
    )


class Notification(BaseModel):
    """A message about a grievance, handed to a notification channel."""

    model_config = ConfigDict(frozen=True)

    key: str = Field(description="Idempotency key: a channel that sees a key twice sends once.")
    grievance: str = Field(description="Code of the grievance.")
    event: Literal["received", "routed", "escalated", "extended", "overdue", "settled"]
    audience: Audience
    recipient: str = Field(
        description=(
            "A driver code for 'driver' and 'contact', the body's name for 'body'. The channel "
            "looks up the phone or account itself: contact details never travel in a notification."
        )
    )
    text: str = Field(description="The message; no personal data.")


class NotificationChannel(BaseModel):
    """A way to tell drivers and bodies about a grievance (SMS, a provincial platform, a branch
    group chat ...), contributed through ``chelun_notification_channels``.

    ``send`` delivers one notification. It may do I/O (httpx, with timeouts), raises when delivery
    fails, and must be idempotent on ``Notification.key``.
    """

    model_config = ConfigDict(frozen=True)

    code: str
    name: str
    province: str | None = Field(
        default=None, description="Two-digit province code; None when it serves any province."
    )
    audiences: tuple[Audience, ...]
    send: Callable[[Notification], None] = Field(exclude=True, repr=False)
