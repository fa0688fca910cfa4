"""Models that cross the grievance hooks: what a decision sees of a grievance, and the decisions."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, Protocol, get_args

from pydantic import BaseModel, ConfigDict, Field

#: The categories of grievance, as exported (the outside contract).
Category = Literal[
    "platform_fees",
    "fines_enforcement",
    "parking_rest",
    "theft",
    "pay_arrears",
    "roads_services",
    "emergency_transport",
    "other",
]
#: The joint conferences' levels, from the nearest to the furthest.
Level = Literal["county", "city", "province", "national"]
CATEGORIES: tuple[str, ...] = get_args(Category)
LEVELS: tuple[str, ...] = get_args(Level)


class GrievanceItem(BaseModel):
    """What classification and routing see of a grievance: no phone, ID number or name.

    ``text`` is the driver's own words, which may hold personal data: a decision reads it, but
    never quotes it in a reason.
    """

    model_config = ConfigDict(frozen=True)

    ref: str = Field(description="The channel's own reference, unique in the province.")
    province: str
    received_at: dt.datetime = Field(description="When it was received (timezone-aware).")
    text: str
    channel: str | None = None
    county: str | None = Field(default=None, description="Six-digit county code given with it.")
    driver: str | None = Field(default=None, description="Roster code of the driver, if linked.")
    home_county: str | None = Field(default=None, description="The linked driver's home county.")
    category: Category | None = Field(
        default=None, description="Its category, once classified (set when routing)."
    )


class Classification(BaseModel):
    """A decision of ``chelun_classify_grievances``: the category of one grievance and why."""

    category: Category
    reason: str = Field(description="Why, for a reviewer; never quotes the text.")
    subject: str | None = Field(
        default=None,
        max_length=100,
        description="What it is about, when the text names it: a freight platform (满帮) or a "
        "service area (XX服务区). Like grievances with the same subject, category and handling "
        "conference are grouped into one matter.",
    )


class Route(BaseModel):
    """A decision of ``chelun_route_grievances``: who handles one grievance and why.

    ``area`` is the code of the area whose joint conference handles it: a six-digit county or
    city code, the two-digit province code, or ``national`` (the inter-ministerial conference).
    ``ack_days`` and ``resolve_days`` override the settings' working-day limits when set.
    """

    level: Level
    area: str
    unit: str = Field(description="The joint conference (联席会议) that handles it.")
    lead_department: str
    assisting: tuple[str, ...] = ()
    reason: str
    ack_days: int | None = Field(default=None, ge=0, le=250)
    resolve_days: int | None = Field(default=None, ge=0, le=250)


Recipient = Literal["driver", "handler"]


class Notice(BaseModel):
    """A notice owed for one event of a grievance: a reply to the driver (routed, resolved,
    escalated, rejected, merged, reopened), or word to the conference that now handles it
    (escalated). ``message`` is core's words on what happened: no personal data, no text of the
    grievance; a delivery to a group chat may carry it as it is."""

    model_config = ConfigDict(frozen=True)

    event_id: int = Field(description="The event; also the idempotency key of its delivery.")
    ref: str
    province: str
    kind: str = Field(description="The event's kind (routed, escalated, resolved, ...).")
    recipient: Recipient
    message: str
    channel: str | None = Field(default=None, description="The channel it came in through.")
    driver: str | None = Field(default=None, description="The driver's roster code, if linked.")
    branch: str | None = Field(
        default=None, description="The branch of the linked driver, or of the relaying member."
    )
    level: Level | None = None
    area: str | None = None
    unit: str | None = None


class Delivery(BaseModel):
    """How one notice is sent: an HTTP POST of ``payload`` as JSON to ``url``. Core sends it,
    retries it, and adds the header ``Idempotency-Key`` (the event and recipient), so a receiver
    can drop a repeat after a lost answer."""

    channel: str = Field(
        max_length=120, description="A name for the record: platform, group-chat:<branch>."
    )
    url: str
    payload: dict[str, Any]
    headers: dict[str, str] = Field(default_factory=dict)


class PageRequest(BaseModel):
    """An HTTP GET of one page of a province platform's grievances."""

    url: str
    params: dict[str, str] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)


class GrievancePage(BaseModel):
    """One page of a platform's grievances, as rows with the columns of a grievance file
    (``ref``, ``received_at``, ``text``, and optionally ``id_number``, ``phone``, ``name``,
    ``county``, ``channel``), and the cursor of the next page (None: no more for now)."""

    rows: list[dict[str, str | None]]
    next_cursor: str | None = None


class GrievancePlatform(Protocol):
    """A province platform's grievance feed, as a plugin describes it: how to ask for the page
    after a cursor, and how to read the answer. Core does the HTTP (timeouts, retries, size
    limits) and keeps the cursor with the rows, in one transaction per page."""

    #: The name the cursor is kept under (``sync_cursor.source``), e.g. ``platform``.
    name: str

    def request(self, cursor: str | None, limit: int) -> PageRequest:
        """The request for the page after ``cursor`` (None: from the start)."""
        ...

    def parse(self, document: Any) -> GrievancePage:
        """The page in a decoded JSON answer; raise ``ValueError`` when it is not one."""
        ...
