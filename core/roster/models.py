"""Models that cross the roster hooks: source profiles, branches, verification, enrolment."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

#: Fields a source column can map to. Anything else in a file is kept as an attribute.
ROSTER_FIELDS: tuple[str, ...] = (
    "name",
    "id_number",
    "phone",
    "plate",
    "enterprise",
    "uscc",
    "qualification",
    "licence_class",
    "address",
    "political_status",
    "party_org",
    "member_flag",
    "serial",
    "remarks",
)


class SourceProfile(BaseModel):
    """How to read one kind of source: which headers mean which roster field.

    ``columns`` maps a roster field (see ``ROSTER_FIELDS``) to the headers that carry it, in any
    language; matching ignores case, spaces and full-width forms. A file matches the profile when
    it has a header for every field in ``required``; the best match wins.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    description: str = ""
    columns: dict[str, tuple[str, ...]]
    required: tuple[str, ...] = ("name",)
    #: Lower ranks are more authoritative when sources disagree on a driver's name or phone.
    #: Two digits, so that the roster can pick values by comparing rank-prefixed text.
    rank: int = Field(default=50, ge=10, le=99)
    #: True when every row of this source is a party member (the party member database).
    all_members: bool = False


class BranchKind:
    ENTERPRISE = "enterprise"
    MOBILE = "mobile"
    GRID = "grid"


class Branch(BaseModel):
    """A party branch that member drivers can be enrolled in."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(description="Stable code, unique in the province, e.g. 'ENT-91320...'.")
    name: str
    kind: Literal["enterprise", "mobile", "grid"]
    province: str
    county: str | None = Field(default=None, description="Six-digit county code of its base.")
    enterprise_uscc: str | None = Field(
        default=None, description="For an enterprise branch: the enterprise's credit code."
    )
    base: str | None = Field(
        default=None, description="For a mobile branch: the logistics park or enforcement unit."
    )
    grid_counties: tuple[str, ...] = Field(
        default=(), description="For a grid branch: the county codes its grid covers."
    )


class DriverProfile(BaseModel):
    """What enrolment and pairing decisions see of a driver: no names, IDs or phones."""

    model_config = ConfigDict(frozen=True)

    driver: str = Field(description="The roster's public driver code, e.g. '32-0000042'.")
    province: str
    home_county: str | None
    member: bool
    enterprise_uscc: str | None = None
    enterprise: str | None = None


class EnterpriseSummary(BaseModel):
    """A freight enterprise as the roster sees it: counts only, no personal data."""

    model_config = ConfigDict(frozen=True)

    uscc: str = Field(description="Unified social credit code (统一社会信用代码).")
    name: str
    county: str | None = Field(default=None, description="County code from the credit code.")
    drivers: int
    members: int


class BranchDirectory:
    """The branches of one province, with the lookups enrolment decisions need."""

    def __init__(self, branches: list[Branch]) -> None:
        self.branches = list(branches)
        self.by_code = {branch.code: branch for branch in self.branches}
        self.province = self.branches[0].province if self.branches else None
        self._enterprise = {
            b.enterprise_uscc: b
            for b in self.branches
            if b.kind == "enterprise" and b.enterprise_uscc
        }
        self._mobile: dict[str, Branch] = {}
        self._grid: dict[str, Branch] = {}
        for branch in self.branches:
            if branch.kind == "mobile":
                self._mobile.setdefault(branch.county or branch.province, branch)
            elif branch.kind == "grid":
                for county in branch.grid_counties:
                    self._grid.setdefault(county, branch)

    def __contains__(self, code: str) -> bool:
        return code in self.by_code

    def __len__(self) -> int:
        return len(self.branches)

    def for_enterprise(self, uscc: str | None) -> Branch | None:
        """The enterprise branch of the enterprise with this credit code, if it has one."""
        return self._enterprise.get(uscc) if uscc else None

    def mobile_for(self, county: str | None) -> Branch | None:
        """The mobile branch nearest a county: the county's, its city's, else the province's.

        A driver whose home lies in another province falls back to this province's own.
        """
        for area in (county, county[:4] + "00") if county else ():
            if area in self._mobile:
                return self._mobile[area]
        return self._mobile.get(self.province or "")

    def grid_for(self, county: str | None) -> Branch | None:
        """The grid branch whose grid covers a county, if any."""
        return self._grid.get(county) if county else None


class BranchAssignment(BaseModel):
    """A decision of ``chelun_assign_branch``: the branch and why."""

    branch: str = Field(description="Code of the chosen branch.")
    reason: str


class Pairing(BaseModel):
    """A member driver paired with an ordinary driver as their contact person."""

    member: str
    driver: str
    reason: str


class PhoneCheck(BaseModel):
    """A request to confirm that a driver answers on a phone number."""

    driver: str
    phone: str = Field(description="Mobile number to call: personal data, never log it.")


class VerificationOutcome(BaseModel):
    """The result of one verification stage for one driver."""

    driver: str
    outcome: Literal["confirmed", "failed", "unreachable"]
    detail: str = Field(default="", description="Why, for the clerk; no personal data.")


class HomeVisit(BaseModel):
    """A home visit (上门走访) reported by a township or village organisation."""

    driver: str
    outcome: Literal["confirmed", "failed"]
    visited_on: dt.date
    visitor: str = Field(description="Who visited (an official's name or unit).")
    detail: str = ""
