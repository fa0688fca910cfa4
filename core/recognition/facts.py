"""What the project already knows about nominees, read in batches for eligibility and scoring.

From the roster: on it and active, verified, a member, the branch, the enterprise, the drivers
paired with a member driver; from grievances: those a member driver relayed in the period; from
claims: those rejected for fraud (status ``rejected`` with reason ``fraud``: a claim under appeal
does not count until the appeal is decided); from plugins: the safety and conduct record.

A fleet (an enterprise, by credit code) is on the roster when an active driver of the province
works for it; its facts are those of its drivers. Its city is the one its credit code was
registered in (the code's third to eighth characters are the registering division).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pluggy
from sqlalchemy import Connection, and_, func, select
from sqlalchemy.orm import aliased

from chelun.calendar import BEIJING, end_of_day
from chelun.plugin_manager import PluginError, decide
from chelun.recognition.models import CampaignInfo, NominationItem, SafetyRecord
from chelun.storage.tables import Branch, Claim, Driver, Grievance

#: Ids per ``IN (...)`` list: well under every database's limit of parameters.
CHUNK = 500


@dataclass(frozen=True)
class Nominee:
    """A nominee as resolved from a nomination: its public identifier and the unit."""

    nominee: str
    nominee_kind: str
    driver_id: int | None
    unit: str
    unit_kind: str
    unit_branch_kind: str | None = None


def city_of_county(county: str | None) -> str | None:
    """The city (prefecture) of a six-digit county code: 320102 -> 320100."""
    if not county or len(county) != 6 or not county.isdigit():
        return None
    return county[:4] + "00"


def city_of_uscc(uscc: str) -> str | None:
    """The city an enterprise registered in, from its unified social credit code."""
    return city_of_county(uscc[2:8])


def period_bounds(campaign: CampaignInfo) -> tuple[dt.datetime, dt.datetime]:
    """The period as instants: from the start of its first day to the end of its last, in
    Beijing time."""
    start = dt.datetime.combine(campaign.period_start, dt.time(), BEIJING).astimezone(dt.UTC)
    return start, end_of_day(campaign.period_end)


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _counts(connection: Connection, query: Any, column: Any, keys: Sequence[Any]) -> dict[Any, int]:
    """``query`` (selecting a key and a count, grouped by ``column``) over chunks of ``keys``."""
    found: dict[Any, int] = {}
    for chunk in _chunks(list(keys)):
        found.update(dict(connection.execute(query.where(column.in_(chunk))).all()))
    return found


def nomination_items(
    connection: Connection,
    pm: pluggy.PluginManager,
    campaign: CampaignInfo,
    nominees: Sequence[Nominee],
) -> list[NominationItem]:
    """The facts of each nominee, in order, for eligibility and scoring."""
    province = campaign.province
    since, until = period_bounds(campaign)
    driver_ids = sorted({n.driver_id for n in nominees if n.driver_id is not None})
    enterprises = sorted({n.nominee for n in nominees if n.nominee_kind == "enterprise"})
    drivers = {}
    for chunk in _chunks(driver_ids):
        query = select(
            Driver.id,
            Driver.status,
            Driver.verification_outcome,
            Driver.member,
            Driver.branch,
            Driver.uscc,
            Driver.home_county,
        ).where(Driver.province == province, Driver.id.in_(chunk))
        drivers.update({row.id: row for row in connection.execute(query)})
    paired = _counts(
        connection,
        select(Driver.contact, func.count())
        .where(Driver.status == "active")
        .group_by(Driver.contact),
        Driver.contact,
        driver_ids,
    )
    relayed = _counts(
        connection,
        select(Grievance.relayed_by, func.count())
        .where(
            Grievance.received_at >= since,
            Grievance.received_at < until,
            Grievance.status != "quarantined",
        )
        .group_by(Grievance.relayed_by),
        Grievance.relayed_by,
        driver_ids,
    )
    fraud = and_(Claim.status == "rejected", Claim.reason_code == "fraud")
    in_period = and_(Claim.reported_at >= since, Claim.reported_at < until)
    fraud_ever = _counts(
        connection,
        select(Claim.driver_id, func.count()).where(fraud).group_by(Claim.driver_id),
        Claim.driver_id,
        driver_ids,
    )
    fraud_period = _counts(
        connection,
        select(Claim.driver_id, func.count()).where(fraud, in_period).group_by(Claim.driver_id),
        Claim.driver_id,
        driver_ids,
    )
    fleets = _fleet_facts(connection, province, enterprises, since, until)
    safety = safety_records(pm, campaign, [n.nominee for n in nominees])
    items = []
    for nominee, record in zip(nominees, safety, strict=True):
        values: dict[str, Any] = {
            "nominee": nominee.nominee,
            "nominee_kind": nominee.nominee_kind,
            "unit": nominee.unit,
            "unit_kind": nominee.unit_kind,
            "unit_branch_kind": nominee.unit_branch_kind,
            "safety": record,
        }
        if nominee.nominee_kind == "driver":
            row = drivers.get(nominee.driver_id)
            key = nominee.driver_id
            values |= {
                "on_roster": row is not None and row.status == "active",
                "verified": row is not None and row.verification_outcome == "confirmed",
                "member": bool(row is not None and row.member),
                "branch": row.branch if row is not None else None,
                "enterprise": row.uscc if row is not None else None,
                "city": city_of_county(row.home_county) if row is not None else None,
                "paired": paired.get(key, 0),
                "relayed": relayed.get(key, 0),
                "fraud_claims": fraud_period.get(key, 0),
                "fraud_claims_ever": fraud_ever.get(key, 0),
            }
        else:
            fleet = fleets.get(nominee.nominee, {})
            values |= {
                "on_roster": fleet.get("drivers", 0) > 0,
                "city": city_of_uscc(nominee.nominee),
                **fleet,
            }
        items.append(NominationItem(**values))
    return items


def _fleet_facts(
    connection: Connection,
    province: str,
    enterprises: Sequence[str],
    since: dt.datetime,
    until: dt.datetime,
) -> dict[str, dict[str, int]]:
    """Per fleet: its active drivers, member drivers, members in a grid branch, drivers paired
    with its members, grievances its members relayed and its drivers' fraud claims (period)."""
    if not enterprises:
        return {}
    active = and_(Driver.province == province, Driver.status == "active")
    facts: dict[str, dict[str, int]] = {uscc: {} for uscc in enterprises}
    member = aliased(Driver)
    queries = {
        "drivers": select(Driver.uscc, func.count()).where(active).group_by(Driver.uscc),
        "members": select(Driver.uscc, func.count())
        .where(active, Driver.member.is_(True))
        .group_by(Driver.uscc),
        "grid_members": select(Driver.uscc, func.count())
        .join(Branch, and_(Branch.province == Driver.province, Branch.code == Driver.branch))
        .where(active, Driver.member.is_(True), Branch.kind == "grid")
        .group_by(Driver.uscc),
        "relayed": select(Driver.uscc, func.count())
        .join(Grievance, Grievance.relayed_by == Driver.id)
        .where(
            active,
            Grievance.received_at >= since,
            Grievance.received_at < until,
            Grievance.status != "quarantined",
        )
        .group_by(Driver.uscc),
        "drivers_fraud_claims": select(Driver.uscc, func.count())
        .join(Claim, Claim.driver_id == Driver.id)
        .where(
            Driver.province == province,
            Claim.status == "rejected",
            Claim.reason_code == "fraud",
            Claim.reported_at >= since,
            Claim.reported_at < until,
        )
        .group_by(Driver.uscc),
    }
    for fact, query in queries.items():
        for uscc, count in _counts(connection, query, Driver.uscc, enterprises).items():
            facts[uscc][fact] = count
    paired = (
        select(member.uscc, func.count())
        .select_from(Driver)
        .join(member, Driver.contact == member.id)
        .where(active, member.status == "active")
        .group_by(member.uscc)
    )
    for uscc, count in _counts(connection, paired, member.uscc, enterprises).items():
        facts[uscc]["paired"] = count
    return facts


def safety_records(
    pm: pluggy.PluginManager, campaign: CampaignInfo, nominees: list[str]
) -> list[SafetyRecord | None]:
    """Each nominee's safety and conduct record for the campaign's period, from the plugin
    that keeps them (``chelun_safety_records``), in batches; None where nobody knows one."""
    hook = "chelun_safety_records"
    found: list[SafetyRecord | None] = []
    for chunk in _chunks(nominees):
        decision = decide(
            pm,
            hook,
            province=campaign.province,
            nominees=list(chunk),
            since=campaign.period_start,
            until=campaign.period_end,
        )
        if decision is None:
            found.extend([None] * len(chunk))
            continue
        records = list(decision.value)
        if len(records) != len(chunk):
            raise PluginError(
                decision.plugin, hook, f"returned {len(records)} records for {len(chunk)} nominees"
            )
        for record in records:
            if record is not None and not isinstance(record, SafetyRecord):
                raise PluginError(
                    decision.plugin, hook, f"returned a {type(record).__name__}, not a SafetyRecord"
                )
        found.extend(records)
    return found
