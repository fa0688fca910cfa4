"""The roster's source profiles (transport, police, party, village) and its mapping files."""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Any

from chelun.roster.models import ROSTER_FIELDS, SourceProfile
from chelun.sources.profiles import (
    ColumnMap,
    ProfileError,
    aliases,
    column_map,
    header_key,
    shown_headers,
)
from chelun.sources.readers import shown_path

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


class _DuplicateKey(ValueError):
    """A key given twice in one JSON object of a mapping file."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """object_pairs_hook for json.loads: a key given twice is an error, not last-wins."""
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


def _read_mapping(path: Path, shown: str) -> tuple[str, dict[str, Any]]:
    """The mapping file's text and its top-level table."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ProfileError(
            f"{shown}: cannot read the mapping file ({exc.strerror or type(exc).__name__})"
        ) from None
    except UnicodeDecodeError as exc:
        raise ProfileError(
            f"{shown}: the mapping file is not UTF-8 text (byte {exc.start + 1}); save it as UTF-8"
        ) from None
    is_json = path.suffix.lower() == ".json"
    try:
        data = json.loads(text, object_pairs_hook=_unique_keys) if is_json else tomllib.loads(text)
    except _DuplicateKey as exc:
        raise ProfileError(
            f"{shown}: the mapping file gives the key {exc.key!r} twice; "
            "give each header once, and map it to one field"
        ) from None
    except ValueError as exc:  # json.JSONDecodeError, tomllib.TOMLDecodeError
        reason = str(exc)
        if "Cannot overwrite" in reason or "Cannot declare" in reason:
            reason = f"a key or table is given twice ({reason})"
        kind = "JSON" if is_json else "TOML"
        raise ProfileError(f"{shown}: the mapping file is not valid {kind}: {reason}") from None
    if not isinstance(data, dict):
        raise ProfileError(
            f"{shown}: the mapping file must hold a table of settings (a JSON object), not "
            f'a {_kind(data)}: {{"columns": {{"header": "field", ...}}}}'
        )
    return text, data


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "true/false value"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "table"
    return type(value).__name__


def load_mapping(path: Path, headers: list[str], where: str) -> ColumnMap:
    """A column map from a user's mapping file (TOML or JSON).

    The file maps headers to roster fields, optionally naming a built-in profile whose rank
    and member flag to take::

        profile = "village"          # optional
        [columns]
        "司机姓名" = "name"
        "身份证" = "id_number"

    Each header is mapped to one field and each field from one header: a second header for
    the same field (a backup name column, a phone column taken for the ID) is an error, not
    a silent override. Errors are ProfileErrors naming the mapping file; they may quote the
    mapping file's keys and values (headers and field names are not personal data).
    """
    shown = shown_path(path)
    where = shown_path(where)
    text, data = _read_mapping(path, shown)
    unknown_keys = sorted(set(data) - {"profile", "columns"})
    if unknown_keys:
        raise ProfileError(
            f"{shown}: the mapping file has unknown setting(s) "
            f'{", ".join(map(repr, unknown_keys))}; it may have profile = "..." and a '
            "[columns] table"
        )
    columns = data.get("columns")
    if not isinstance(columns, dict) or not columns:
        raise ProfileError(f"{shown}: the mapping file needs a [columns] table: header = field")
    for header, field in columns.items():
        if not isinstance(field, str):
            raise ProfileError(
                f"{shown}: the header {header!r} is mapped to a {_kind(field)}; map each "
                f'header to one field name in quotes, like "{header}" = "name"'
            )
        if not header.strip():
            raise ProfileError(f"{shown}: the mapping file maps an empty header to {field!r}")
    unknown = sorted(set(columns.values()) - set(ROSTER_FIELDS))
    if unknown:
        raise ProfileError(
            f"{shown}: unknown field(s) {', '.join(map(repr, unknown))}; "
            f"fields are {', '.join(ROSTER_FIELDS)}"
        )
    by_field: dict[str, list[str]] = {}
    for header, field in columns.items():
        by_field.setdefault(field, []).append(header)
    for field, named in by_field.items():
        if len(named) > 1:
            raise ProfileError(
                f"{shown}: the headers {' and '.join(map(repr, named))} are all mapped to "
                f"the field {field!r}; map one column to each field (columns left unmapped "
                "are kept as attributes)"
            )
    base_name = data.get("profile")
    base = next((p for p in BUILT_IN_PROFILES if p.name == base_name), None)
    if base_name is not None and base is None:
        names = ", ".join(p.name for p in BUILT_IN_PROFILES)
        raise ProfileError(f"{shown}: unknown profile {base_name!r}; built-in: {names}")
    keys = [header_key(h) for h in headers]
    known = aliases(BUILT_IN_PROFILES) | {header_key(h) for h in columns}
    fields: dict[str, int] = {}
    taken: dict[int, str] = {}
    for header, field in columns.items():
        matches = [i for i, key in enumerate(keys) if key == header_key(header)]
        if not matches:
            raise ProfileError(
                f"{where}: the mapping file {shown} names column {header!r}, "
                f"which the file does not have (its headers: {shown_headers(headers, known)})"
            )
        if len(matches) > 1:
            raise ProfileError(
                f"{where}: the mapping file {shown} names column {header!r}, which the file "
                f"has {len(matches)} times (columns {', '.join(str(i + 1) for i in matches)}); "
                "rename one of them in the file"
            )
        index = matches[0]
        if index in taken:
            raise ProfileError(
                f"{where}: the mapping file {shown} maps the headers {taken[index]!r} and "
                f"{header!r}, which are the same column of the file (headers compare "
                "without case and spaces), to two fields; map each column once"
            )
        taken[index] = header
        fields[field] = index
    if "name" not in fields and "id_number" not in fields:
        raise ProfileError(f"{shown}: map at least a name or an id_number column")
    # The digest makes an edited mapping file a different profile: the source is read again.
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    profile = SourceProfile(
        name=f"mapping:{shown_path(path.name)[:60]}:{digest}",
        description=f"columns mapped by {shown}",
        columns={field: (headers[index],) for field, index in fields.items()},
        required=(),
        rank=base.rank if base else 45,
        all_members=base.all_members if base else False,
    )
    return column_map(profile, fields, headers)
