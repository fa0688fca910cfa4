"""Source profiles: recognising a file's kind from its headers and mapping columns to fields.

A profile names, for each field a capability reads, the headers that carry it (in any language);
``detect`` picks the profile that fits a file's headers best. Capabilities bring their own
profiles (the roster's four kinds of source, a claims form ...) and share this matching.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from chelun.identity.normalise import fold_text
from chelun.sources.readers import shown_path


class Profile(Protocol):
    """What matching needs of a profile: its name, its columns and its required fields."""

    @property
    def name(self) -> str: ...

    @property
    def columns(self) -> Mapping[str, tuple[str, ...]]: ...

    @property
    def required(self) -> tuple[str, ...]: ...


def header_key(header: str) -> str:
    """Headers compare folded, lower-cased and without spaces or underscores."""
    return "".join(fold_text(header).lower().replace("_", " ").split())


class ProfileError(ValueError):
    """No profile fits a file's headers, or a mapping file is wrong."""


@dataclass(frozen=True)
class ColumnMap:
    """Where each field sits in one file, and which columns are extra attributes."""

    profile: Profile
    fields: dict[str, int]
    extras: dict[int, str]


def _match(profile: Profile, headers: list[str]) -> dict[str, int]:
    keys = [header_key(h) for h in headers]
    fields: dict[str, int] = {}
    for field, aliases in profile.columns.items():
        wanted = {header_key(alias) for alias in aliases}
        for index, key in enumerate(keys):
            if key in wanted and index not in fields.values():
                fields[field] = index
                break
    return fields


def shown_headers(headers: list[str], known: set[str]) -> str:
    """Headers for a message: known column names as they are, any other by its position only.

    A file with no header row, or a damaged one, has a person's data where its headers should
    be, and messages never quote personal data.
    """
    shown = (
        repr(h) if header_key(h) in known else f"<column {i}>" for i, h in enumerate(headers, 1)
    )
    return f"[{', '.join(shown)}]"


def aliases(profiles: Iterable[Profile]) -> set[str]:
    return {header_key(a) for p in profiles for names in p.columns.values() for a in names}


def detect(headers: list[str], profiles: Iterable[Profile], where: str) -> ColumnMap:
    """The profile that fits the headers best: all its required fields present, most columns.

    Raises ProfileError naming the file (a name that is not UTF-8 shown with \\xNN escapes), its
    headers (unknown ones by position) and the profiles tried.
    """
    best: tuple[int, int, Profile, dict[str, int]] | None = None
    tried = []
    profiles = list(profiles)
    for order, profile in enumerate(profiles):
        tried.append(profile.name)
        fields = _match(profile, headers)
        if not all(field in fields for field in profile.required):
            continue
        score = (len(fields), -order)
        if best is None or score > best[:2]:
            best = (*score, profile, fields)
    if best is None:
        headers_shown = shown_headers(headers, aliases(profiles))
        raise ProfileError(
            f"{shown_path(where)}: no source profile matches the headers {headers_shown} "
            f"(tried {', '.join(tried)}); add a mapping file (--map NAME=FILE) "
            "that says which column holds which field"
        )
    _, _, profile, fields = best
    return column_map(profile, fields, headers)


def column_map(profile: Profile, fields: dict[str, int], headers: list[str]) -> ColumnMap:
    used = set(fields.values())
    extras = {i: h or f"column {i + 1}" for i, h in enumerate(headers) if i not in used}
    return ColumnMap(profile, fields, extras)
