"""Shared helpers of the recognition tests: a roster written into the real database, files in
the formats users send, and services whose plugins are chosen by the test."""

from __future__ import annotations

import csv
import datetime as dt
import itertools
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from sqlalchemy import insert
from stdnum.cn import uscc as stdnum_uscc

from chelun.calendar import BEIJING
from chelun.plugin_manager import PluginHost
from chelun.recognition.service import AwardService
from chelun.recognition.visits import VisitService
from chelun.settings import Settings
from chelun.storage.db import Database
from chelun.storage.tables import Branch, Claim, Driver, Grievance
from tests.identities import resident_id

#: The installed province plugins are left out: each test says which plugins it runs with.
PILOT_PLUGINS = "jiangsu,sichuan,guizhou,gansu"
_serial = itertools.count(1)
_orders = itertools.count(1)


def credit_code(division: str = "320102", serial: int = 1) -> str:
    """A valid unified social credit code of an enterprise registered in ``division``."""
    body = f"91{division}{serial:09d}"[:17]
    return body + stdnum_uscc.calc_check_digit(body)


def at(day: str, hour: int = 10) -> dt.datetime:
    """An instant on a Beijing day (``YYYY-MM-DD``)."""
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), BEIJING)


def host(*plugins: tuple[str, ModuleType | object]) -> PluginHost:
    return PluginHost(
        Settings(block_plugins=PILOT_PLUGINS), extra=list(plugins), entry_points=False
    )


def award_service(
    database: Database, province: str = "32", plugins: Sequence[tuple[str, Any]] = ()
) -> AwardService:
    return AwardService(database, host(*plugins).manager(province), province, actor="user:test")


def visit_service(
    database: Database, province: str = "32", plugins: Sequence[tuple[str, Any]] = ()
) -> VisitService:
    return VisitService(database, host(*plugins).manager(province), province, actor="user:test")


class Roster:
    """Writes a province's roster (branches, drivers), grievances and claims, as intake,
    grievance routing and claims processing would have left them."""

    def __init__(self, database: Database, province: str = "32") -> None:
        self.database = database
        self.province = province
        self.ids: dict[int, str] = {}

    def branch(self, code: str, kind: str = "mobile", county: str | None = None) -> str:
        with self.database.connect() as connection:
            connection.execute(
                insert(Branch),
                [
                    {
                        "province": self.province,
                        "code": code,
                        "name": f"branch {code}",
                        "kind": kind,
                        "county": county,
                    }
                ],
            )
        return code

    def driver(
        self,
        county: str = "320102",
        *,
        member: bool = False,
        verified: bool = True,
        branch: str | None = None,
        contact: int | None = None,
        uscc: str | None = None,
        status: str = "active",
    ) -> int:
        order = next(_orders)  # a different ID number for each driver of the session
        number = resident_id(county, f"{1960 + order // 1000 % 40}0101", f"{order % 1000:03d}")
        with self.database.connect() as connection:
            key = connection.execute(
                insert(Driver).returning(Driver.id),
                [
                    {
                        "province": self.province,
                        "key": f"{number}-{next(_serial)}",
                        "id_number": number,
                        "name": "测试司机",
                        "home_county": county,
                        "phone": f"139{next(_serial):08d}",
                        "uscc": uscc,
                        "member": member,
                        "records": 1,
                        "sources": 1,
                        "phones": 1,
                        "enterprises": 1 if uscc else 0,
                        "status": status,
                        "verification_stage": "match",
                        "verification_outcome": "confirmed" if verified else "pending",
                        "branch": branch,
                        "contact": contact,
                        "linked_run": "r1",
                    }
                ],
            ).scalar_one()
        self.ids[key] = number
        return key

    def grievance(
        self,
        *,
        driver: int | None = None,
        relayed_by: int | None = None,
        received: dt.datetime,
        status: str = "routed",
    ) -> None:
        with self.database.connect() as connection:
            connection.execute(
                insert(Grievance),
                [
                    {
                        "province": self.province,
                        "ref": f"G-{next(_serial)}",
                        "received_at": received,
                        "text": "货主拖欠运费",
                        "driver_id": driver,
                        "relayed_by": relayed_by,
                        "status": status,
                        "updated_at": received,
                    }
                ],
            )

    def claim(
        self,
        driver: int,
        *,
        reported: dt.datetime,
        status: str = "rejected",
        reason_code: str | None = "fraud",
    ) -> None:
        with self.database.connect() as connection:
            connection.execute(
                insert(Claim),
                [
                    {
                        "province": self.province,
                        "ref": f"C-{next(_serial)}",
                        "driver_id": driver,
                        "status": status,
                        "reason_code": reason_code,
                        "reported_at": reported,
                        "decided_at": reported,
                        "updated_at": reported,
                    }
                ],
            )


def write_csv(path: Path, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(rows)
    return path


def nominations(path: Path, rows: Sequence[Sequence[object]]) -> Path:
    return write_csv(path, ("nominee", "unit", "reason"), rows)


def scores(path: Path, rows: Sequence[Sequence[object]]) -> Path:
    return write_csv(path, ("nominee", "criterion", "reviewer", "score"), rows)


def plugin(name: str, provinces: tuple[str, ...] = ("32",), **hooks: Any) -> tuple[str, Any]:
    """A plugin for ``PluginHost(extra=...)``: a module serving ``provinces`` whose hook
    implementations are ``hooks``."""
    from chelun import hookimpl

    module = ModuleType(name)
    module.PROVINCES = provinces  # type: ignore[attr-defined]
    for hook, function in hooks.items():
        setattr(module, hook, hookimpl(function))
    return name, module


def kinds_plugin(*kinds: Any, provinces: tuple[str, ...] = ("32",)) -> tuple[str, Any]:
    """A plugin registering award kinds."""

    def chelun_award_kinds(province: str, register: Any) -> None:
        for kind in kinds:
            register(kind)

    return plugin("test-kinds", provinces, chelun_award_kinds=chelun_award_kinds)
