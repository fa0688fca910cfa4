"""Administrative divisions (GB/T 2260): province -> city -> county.

The table is python-stdnum's ``stdnum/cn/loc.dat``, which keeps retired codes with the years they
were in force. Resident ID numbers keep the code of the county that issued them, so a code retired
since (a county merged, a prefecture re-formed, Chongqing split from Sichuan in 1997, Hainan from
Guangdong in 1988) must still resolve: to the province of its successor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

PILOT_PROVINCES: dict[str, str] = {
    "32": "jiangsu",
    "51": "sichuan",
    "52": "guizhou",
    "62": "gansu",
}

_UPPER = {"province", "city"}
# Names many unrelated codes share; a retired code with one says nothing about its successor.
_GENERIC = {
    "市辖区",
    "郊区",
    "城区",
    "矿区",
    "市区",
    "市中区",
    "城关区",
    "城关镇",
    "新区",
    "县",
    "省直辖县级行政单位",
    "省直辖县级行政区划",
    "自治区直辖县级行政区划",
}
_LINE = re.compile(r'^(\s*)(\d+) (?:province|county)="([^"]*)"')
_ERA = re.compile(r"^\[(\d*)-(\d*)\](.*)$")
_SUFFIXES = (
    "黎族苗族自治州",
    "自治州",
    "自治县",
    "行政区",
    "地区",
    "新区",
    "省",
    "市",
    "县",
    "区",
    "盟",
    "旗",
)


@dataclass(frozen=True)
class Era:
    name: str
    start: int | None
    end: int | None

    @property
    def current(self) -> bool:
        return self.end is None


@dataclass(frozen=True)
class Division:
    """One code of the table, with every name it has carried."""

    code: str
    eras: tuple[Era, ...]

    @property
    def name(self) -> str:
        """The current name, or the last one a retired code carried."""
        for era in self.eras:
            if era.current:
                return era.name
        return self.eras[-1].name

    @property
    def active(self) -> bool:
        return any(era.current for era in self.eras)

    @property
    def level(self) -> str:
        if self.code.endswith("0000"):
            return "province"
        if self.code.endswith("00"):
            return "city"
        return "county"

    def name_in(self, year: int) -> str | None:
        for era in self.eras:
            if (era.start is None or era.start <= year) and (era.end is None or year <= era.end):
                return era.name
        return None


def _root(name: str) -> str:
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def _parse_eras(text: str) -> tuple[Era, ...]:
    eras = []
    for part in text.split(","):
        match = _ERA.match(part)
        if match:
            start, end, name = match.groups()
            eras.append(Era(name, int(start) if start else None, int(end) if end else None))
        else:
            eras.append(Era(part, None, None))
    return tuple(eras)


class DivisionTable:
    """Lookups over the whole table; build it once with :func:`divisions`."""

    def __init__(self, entries: dict[str, Division], province_names: dict[str, str]) -> None:
        self._entries = entries
        self.province_names = province_names
        self._by_root: dict[str, list[Division]] = {}
        for division in entries.values():
            for era in division.eras:
                self._by_root.setdefault(_root(era.name), []).append(division)
        self._province_cache: dict[str, str | None] = {}

    def __contains__(self, code: str) -> bool:
        return code in self._entries

    def codes(self) -> list[str]:
        """Every code the table knows, current and retired."""
        return list(self._entries)

    def get(self, code: str) -> Division | None:
        return self._entries.get(code)

    def province_of(self, code: str) -> str | None:
        """The two-digit province a six-digit code belongs to today.

        A retired code resolves through its successor: the code that took up its name when it
        ended (Sichuan's 510221 长寿县, retired 1997, resolves to Chongqing, 50). A code unknown
        to the table resolves by its first two digits when those name a province.
        """
        if code in self._province_cache:
            return self._province_cache[code]
        result = self._resolve_province(code)
        self._province_cache[code] = result
        return result

    def _resolve_province(self, code: str) -> str | None:
        division = self._entries.get(code)
        if division is None or division.active:
            if code[:2] in self.province_names:
                return code[:2]
            return None
        successor = self._successor(division)
        if successor is not None:
            return successor.code[:2]
        city = code[:4] + "00"
        if city != code and city in self._entries:
            return self.province_of(city)
        return code[:2] if code[:2] in self.province_names else None

    def _successor(self, division: Division) -> Division | None:
        last = division.eras[-1]
        candidates = [
            other
            for era in division.eras
            if era.name not in _GENERIC
            for other in self._by_root.get(_root(era.name), [])
            if other.code != division.code
            and other.active
            and (other.level == division.level or {other.level, division.level} == _UPPER)
        ]
        if not candidates:
            return None

        def gap(other: Division) -> int | None:
            starts = [e.start for e in other.eras if e.start is not None]
            return abs(min(starts) - (last.end or 0)) if starts else None

        # Prefer a same-named code of the same province. A county in another province succeeds
        # only if its era began when this one ended (a province split off, as Chongqing did); a
        # prefecture's name is distinctive enough to follow across provinces (海南行政区).
        same = [other for other in candidates if other.code[:2] == division.code[:2]]
        if same:
            return min(same, key=lambda other: (gap(other) or 0, other.code))
        moved = [
            other
            for other in candidates
            if (gap(other) is not None and gap(other) <= 1) or division.level != "county"
        ]
        return min(moved, key=lambda other: (gap(other) or 0, other.code)) if moved else None

    def counties(self, province: str, *, active_only: bool = True) -> list[Division]:
        """County-level codes of a province (by code prefix), sorted."""
        return [
            d
            for code, d in sorted(self._entries.items())
            if code.startswith(province)
            and d.level == "county"
            and d.name != "市辖区"  # a prefecture's placeholder for its districts, not a county
            and (d.active or not active_only)
        ]

    def cities(self, province: str) -> list[Division]:
        return [
            d
            for code, d in sorted(self._entries.items())
            if code.startswith(province) and d.level == "city" and d.active
        ]


@cache
def divisions() -> DivisionTable:
    """The division table, parsed once per process."""
    entries: dict[str, Division] = {}
    province_names: dict[str, str] = {}
    province = ""
    text = resources.files("stdnum.cn").joinpath("loc.dat").read_text(encoding="utf-8")
    for line in text.splitlines():
        match = _LINE.match(line)
        if not match:
            continue
        indent, digits, names = match.groups()
        if not indent:
            province = digits
            province_names[province] = names
            code = province + "0000"
            entries[code] = Division(code, (Era(names, None, None),))
        else:
            code = province + digits
            if code.endswith("0000"):
                continue
            entries[code] = Division(code, _parse_eras(names))
    return DivisionTable(entries, province_names)


def resolve_province(value: str) -> str:
    """A province code from a two-digit code or a pilot province's pinyin name.

    Raises ValueError naming what was given and what is accepted.
    """
    text = value.strip().lower()
    if text in PILOT_PROVINCES:
        return text
    for code, pinyin in PILOT_PROVINCES.items():
        if text == pinyin:
            return code
    table = divisions()
    if len(text) == 2 and text in table.province_names:
        return text
    accepted = ", ".join(f"{c} ({n})" for c, n in PILOT_PROVINCES.items())
    raise ValueError(f"unknown province {value!r}: use a two-digit code or a name: {accepted}")
