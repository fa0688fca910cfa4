"""Models that cross the grievance hooks: what a decision sees of a grievance, and the decisions."""

from __future__ import annotations

import datetime as dt
from typing import Literal, get_args

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
