"""The roster's source profiles (transport, police, party, village) and its mapping files."""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path

from chelun.roster.models import ROSTER_FIELDS, SourceProfile
from chelun.sources.profiles import (
    ColumnMap,
    ProfileError,
    aliases,
    column_map,
    header_key,
    shown_headers,
)

TRANSPORT = SourceProfile(
    name="transport",
    description="Transport licensing system (道路运输从业人员)",
    columns={
        "name": ("姓名", "name", "driver name"),
        "id_number": ("身份证号", "id number", "id_number", "id card"),
        "phone": ("手机号", "mobile", "phone"),
        "qualification": ("从业资格证号", "qualification", "qualification number"),
        "enterprise": ("所属企业", "enterprise", "company"),
        "uscc": ("统一社会信用代码", "uscc", "credit code", "unified social credit code"),
        "plate": ("车牌号", "plate", "licence plate", "license plate"),
    },
    required=("name", "id_number", "qualification"),
    rank=20,
)

POLICE = SourceProfile(
    name="police",
    description="Public-security driving-licence system (公安驾驶证)",
    columns={
        "name": ("姓名", "name"),
        "id_number": ("公民身份号码", "citizen id number", "id number"),
        "licence_class": ("准驾车型", "licence class", "license class", "vehicle class"),
        "phone": ("联系电话", "contact phone", "phone"),
        "address": ("住址", "address"),
    },
    required=("name", "id_number", "licence_class"),
    rank=10,
)

PARTY = SourceProfile(
    name="party",
    description="Party member database (党员信息库)",
    columns={
        "name": ("姓名", "name"),
        "id_number": ("身份证号码", "id number", "id_number"),
        "political_status": ("政治面貌", "political status"),
        "party_org": ("所在党组织", "party organisation", "party organization"),
        "phone": ("手机号码", "mobile number", "phone"),
    },
    required=("name", "id_number", "party_org"),
    rank=30,
    all_members=True,
)

VILLAGE = SourceProfile(
    name="village",
    description="Township and village survey sheet (村摸排表)",
    columns={
        "serial": ("序号", "no", "serial"),
        "name": ("姓名", "name"),
        "id_number": ("身份证号", "id number"),
        "phone": ("电话", "telephone", "phone"),
        "plate": ("车牌", "plate"),
        "member_flag": ("是否党员", "party member", "member"),
        "remarks": ("备注", "remarks", "notes"),
    },
    required=("name", "member_flag"),
    rank=40,
)

BUILT_IN_PROFILES = (TRANSPORT, POLICE, PARTY, VILLAGE)


def load_mapping(path: Path, headers: list[str], where: str) -> ColumnMap:
    """A column map from a user's mapping file (TOML or JSON).

    The file maps headers to roster fields, optionally naming a built-in profile whose rank
    and member flag to take::

        profile = "village"          # optional
        [columns]
        "司机姓名" = "name"
        "身份证" = "id_number"
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (OSError, ValueError) as exc:
        raise ProfileError(f"{path}: cannot read the mapping file: {exc}") from exc
    columns = data.get("columns")
    if not isinstance(columns, dict) or not columns:
        raise ProfileError(f"{path}: the mapping file needs a [columns] table: header = field")
    unknown = sorted(set(columns.values()) - set(ROSTER_FIELDS))
    if unknown:
        raise ProfileError(
            f"{path}: unknown field(s) {', '.join(map(str, unknown))}; "
            f"fields are {', '.join(ROSTER_FIELDS)}"
        )
    base_name = data.get("profile")
    base = next((p for p in BUILT_IN_PROFILES if p.name == base_name), None)
    if base_name is not None and base is None:
        names = ", ".join(p.name for p in BUILT_IN_PROFILES)
        raise ProfileError(f"{path}: unknown profile {base_name!r}; built-in: {names}")
    keys = [header_key(h) for h in headers]
    fields: dict[str, int] = {}
    for header, field in columns.items():
        try:
            fields[field] = keys.index(header_key(header))
        except ValueError:
            known = aliases(BUILT_IN_PROFILES) | {header_key(str(h)) for h in columns}
            raise ProfileError(
                f"{where}: the mapping file {path} names column {header!r}, "
                f"which the file does not have (its headers: {shown_headers(headers, known)})"
            ) from None
    if "name" not in fields and "id_number" not in fields:
        raise ProfileError(f"{path}: map at least a name or an id_number column")
    profile = SourceProfile(
        # The digest makes an edited mapping file a different profile: the source is read again.
        name=f"mapping:{path.name[:60]}:{hashlib.sha256(text.encode()).hexdigest()[:12]}",
        description=f"columns mapped by {path}",
        columns={field: (headers[index],) for field, index in fields.items()},
        required=(),
        rank=base.rank if base else 45,
        all_members=base.all_members if base else False,
    )
    return column_map(profile, fields, headers)
