"""Normalisers for the fields of a driver roster: IDs, credit codes, phones, plates, names.

They run once per cell over millions of rows, so each one tries a cheap fast path for input that
is already clean before falling back to translation tables and compiled regexes. None of them
raises on bad input: they return a status instead. No message here ever quotes an input value,
because every value is personal data.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from functools import cache, lru_cache
from typing import NamedTuple

from stdnum.cn import uscc as _uscc

__all__ = [
    "IdNumber",
    "fold_text",
    "normalise_id",
    "normalise_name",
    "normalise_phone",
    "normalise_plate",
    "normalise_uscc",
    "parse_member",
]

# --- folding ---------------------------------------------------------------------------------

# ASCII maps to itself explicitly: str.translate raises and swallows a KeyError for every character
# missing from a dict table, which made translating an 18-digit ID ~2.5x slower.
_FOLD: dict[int, int | str | None] = {code: code for code in range(0x80)}
_FOLD.update({code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)})
_FOLD[0x3000] = " "

# Invisible characters that survive a copy from Word or a web form and are not str.isspace().
_INVISIBLE = (0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF)
# Every code point str.isspace() accepts lies below U+3001.
_SPACES = tuple(code for code in range(0x3001) if chr(code).isspace())
# Dashes people type (or Excel autocorrects to) in the middle of a number.
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_MIDDLE_DOTS = "\u00b7\u2022\u30fb\u2027\uff65\u2219\u22c5"


def _table(delete: str = "", upper: bool = False) -> dict[int, int | str | None]:
    """The fold table, plus deletion of whitespace and *delete*, optionally upper-casing."""
    table = dict(_FOLD)
    for code in (*_SPACES, *_INVISIBLE, *map(ord, delete)):
        table[code] = None
    if upper:
        for code in range(ord("a"), ord("z") + 1):
            table[code] = code - 32
            table[code + 0xFEE0] = code - 32
    return table


_ID_TABLE = _table(_DASHES + ".\uff0e\u3002", upper=True)
_USCC_TABLE = _table(_DASHES, upper=True)
_PHONE_TABLE = _table(_DASHES + ".\uff0e()\uff08\uff09")
_PLATE_TABLE = _table(_DASHES + _MIDDLE_DOTS + ".\uff0e", upper=True)


def fold_text(value: str | None) -> str:
    """Full-width ASCII and the ideographic space to half-width, stripped; None gives ""."""
    if value is None:
        return ""
    return value.translate(_FOLD).strip()


def _clean(value: str, table: dict[int, int | str | None]) -> str:
    cleaned = value.translate(table)
    # The tables upper-case ASCII only. Anything else left is junk the caller rejects, but upper
    # it all the same so near-matching sees one spelling whichever case it came in.
    return cleaned if cleaned.isascii() else cleaned.upper()


# --- resident ID numbers ---------------------------------------------------------------------


class IdNumber(NamedTuple):
    """A resident ID number as normalised; *value* is set only when *status* is "valid"."""

    value: str | None
    status: str
    cleaned: str
    birth: datetime.date | None
    legacy: bool


_new_id: Callable[..., IdNumber] = tuple.__new__  # type: ignore[assignment]
_MISSING_ID = IdNumber(None, "missing", "", None, False)
_CHECK_DIGITS = "0123456789X"
_LAST = frozenset("0123456789X")
_MIN_BIRTH = datetime.date(1900, 1, 1)
_BIRTH_CACHE_MAX = 1 << 16
_births: dict[str, datetime.date | None] = {}
# Only ever moves forward; a stale value is earlier than the real today, so a date not after it
# is not after today either and the clock need not be read (date.today() costs ~1 us).
_today = [datetime.date.today().strftime("%Y%m%d")]


# Filled on the first number whose province is not in it yet, so valid numbers pay one set lookup
# and importing this module does not parse the division table (~0.2 s).
_province_codes: set[str] = set()


@cache
def _load_provinces() -> bool:
    from chelun.identity.divisions import divisions

    _province_codes.update(divisions().province_names)
    return True


def _check_digit(body: str) -> str:
    # ISO 7064 MOD 11-2 over the 17 digits, weight 2**(17 - i) for digit i. 13 = 2 (mod 11), so
    # the body read in base 13 is half the weighted sum (mod 11): one C-level int() call instead of
    # a Python loop. Same formula as stdnum.cn.ric.calc_check_digit.
    return _CHECK_DIGITS[(1 - 2 * int(body, 13)) % 11]


def _birth(digits: str) -> datetime.date | None:
    """The date in YYYYMMDD *digits* when it is a real date from 1900 to today, else None."""
    birth = _births.get(digits, _MIN_BIRTH)
    if birth is _MIN_BIRTH:
        try:
            birth = datetime.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
        except ValueError:
            birth = None
        else:
            if birth < _MIN_BIRTH:
                birth = None
        if len(_births) >= _BIRTH_CACHE_MAX:
            _births.clear()
        _births[digits] = birth
    if birth is not None and digits > _today[0]:
        _today[0] = datetime.date.today().strftime("%Y%m%d")
        if digits > _today[0]:
            return None
    return birth


def _bad_format(cleaned: str) -> IdNumber:
    # Keep the birth date when the date part reads as one: near-matching a typo needs it.
    digits = cleaned[6:14] if len(cleaned) == 18 else ""
    birth = _birth(digits) if digits.isascii() and digits.isdigit() else None
    return _new_id(IdNumber, (None, "bad_format", cleaned, birth, False))


def normalise_id(raw: str | None) -> IdNumber:
    """Normalise an 18-digit (or legacy 15-digit) resident ID number and say why it is invalid.

    Checks length, format, the MOD 11-2 check digit, the birth date and the province code.
    The county code is deliberately not checked against the birth year: people who re-registered
    hold numbers whose county code is newer than their birth.
    """
    if raw is None:
        return _MISSING_ID
    legacy = False
    # Fast path: already canonical with a digit check character, as most cells of a clean sheet
    # are. int(number, 13) % 11 is the MOD 11-2 sum with the check character (weight 1) included.
    number = ""
    if len(raw) == 18 and raw.isascii():
        if raw.isdigit():
            cleaned = number = raw
            weighted = int(raw, 13)
        elif raw[17] in "Xx" and (body := raw[:17]).isdigit():
            cleaned = number = body + "X"
            weighted = int(body + "A", 13)  # A is ten in base 13
    if not number:
        cleaned = _clean(raw, _ID_TABLE)
        size = len(cleaned)
        if size == 18:
            number = cleaned
            body = number[:17]
            if not (body.isascii() and body.isdigit()) or number[17] not in _LAST:
                return _bad_format(cleaned)
        elif size == 15:
            if not (cleaned.isascii() and cleaned.isdigit()):
                return _bad_format(cleaned)
            body = cleaned[:6] + "19" + cleaned[6:]
            number = body + _check_digit(body)
            legacy = True
        elif size == 0:
            return _MISSING_ID
        else:
            return _new_id(IdNumber, (None, "bad_length", cleaned, None, False))
        weighted = int(number.replace("X", "A"), 13)  # A is ten in base 13
    digits = number[6:14]
    birth = _births.get(digits)
    if birth is None or digits > _today[0]:
        birth = _birth(digits)
    if weighted % 11 != 1:
        status = "bad_checksum"
    elif birth is None:
        status = "bad_date"
    elif (
        number[:2] not in _province_codes
        and _load_provinces()
        and number[:2] not in _province_codes
    ):
        status = "bad_region"
    else:
        return _new_id(IdNumber, (number, "valid", cleaned, birth, legacy))
    return _new_id(IdNumber, (None, status, cleaned, birth, legacy))


# --- unified social credit codes ---------------------------------------------------------------


@lru_cache(maxsize=1 << 14)
def _uscc_status(cleaned: str) -> tuple[str | None, str]:
    # Employers repeat across thousands of drivers and stdnum's check costs several us: memoise.
    try:
        return _uscc.validate(cleaned), "valid"
    except Exception:  # stdnum raises ValidationError, but junk must never escape as an error
        return None, "invalid"


def normalise_uscc(raw: str | None) -> tuple[str | None, str]:
    """Normalise an 18-character unified social credit code: (value or None, status)."""
    if raw is None:
        return None, "missing"
    cleaned = _clean(raw, _USCC_TABLE)
    if not cleaned:
        return None, "missing"
    if len(cleaned) != 18 or not cleaned.isascii():
        return None, "invalid"
    return _uscc_status(cleaned)


# --- mobile phone numbers ------------------------------------------------------------------------

_MOBILE = re.compile(r"1[3-9][0-9]{9}")
# Length with the country prefix -> the prefix that length implies.
_PHONE_PREFIXES = {13: "86", 14: "+86", 15: "0086"}


def normalise_phone(raw: str | None) -> tuple[str | None, str]:
    """Normalise a mainland mobile number to its 11 digits: (value or None, status)."""
    if raw is None:
        return None, "missing"
    if _MOBILE.fullmatch(raw):
        return raw, "valid"
    cleaned = raw.translate(_PHONE_TABLE)
    if not cleaned:
        return None, "missing"
    prefix = _PHONE_PREFIXES.get(len(cleaned))
    if prefix is not None and cleaned.startswith(prefix):
        cleaned = cleaned[len(prefix) :]
    if _MOBILE.fullmatch(cleaned):
        return cleaned, "valid"
    return None, "invalid"


# --- licence plates ----------------------------------------------------------------------------

_PROVINCE_CHARS = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_SERIAL = "[A-HJ-NP-Z0-9]"  # I and O are never issued: they read as 1 and 0
# The suffix plates (trailer 挂, coach 学, police 警, Hong Kong/Macau 港澳) carry four serial
# characters, not five: 甘A1234挂 is the seven-character plate a trailer really wears.
_PLATE = re.compile(
    rf"[{_PROVINCE_CHARS}][A-Z]"
    rf"(?:{_SERIAL}{{5}}|{_SERIAL}{{4}}[挂学警港澳]|[DF]{_SERIAL}{{5}}|[0-9]{{5}}[DF])"
)


def normalise_plate(raw: str | None) -> tuple[str | None, str]:
    """Normalise a mainland licence plate (ordinary, trailer, new-energy): (value, status)."""
    if raw is None:
        return None, "missing"
    if _PLATE.fullmatch(raw):
        return raw, "valid"
    cleaned = _clean(raw, _PLATE_TABLE)
    if not cleaned:
        return None, "missing"
    if _PLATE.fullmatch(cleaned):
        return cleaned, "valid"
    return None, "invalid"


# --- names -------------------------------------------------------------------------------------

_HAN = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_NAME_TABLE: dict[int, int | str | None] = dict(_FOLD)
_NAME_TABLE.update({code: " " for code in _SPACES})
_NAME_TABLE.update({code: None for code in _INVISIBLE})
# U+FF0E must become a middle dot before folding would turn it into a full stop.
_NAME_TABLE.update({ord(dot): "\u00b7" for dot in _MIDDLE_DOTS + "\uff0e"})
_PLAIN_NAME = re.compile(rf"[{_HAN}]+")
_HAN_STOP = re.compile(rf"(?<=[{_HAN}]) *\. *(?=[{_HAN}])")
_DOT_GAP = re.compile(r" *\u00b7[ \u00b7]*")
_HAN_GAP = re.compile(rf"(?<=[{_HAN}]) +(?=[{_HAN}])")
_SPACE_RUN = re.compile(r" {2,}")


@cache
def _t2s() -> Callable[[str], str]:
    # Built on first use: loading the dictionaries costs ~25 ms.
    import opencc

    return opencc.OpenCC("t2s").convert


# Each character's simplified form, as OpenCC gives it for the character alone; filled as
# characters are met (a few thousand).
_SIMPLIFIED: dict[str, str] = {}


def _simplified(char: str) -> str:
    try:
        folded = _t2s()(char)
    except (UnicodeError, ValueError):  # lone surrogates from a badly decoded file
        folded = char
    if len(folded) != 1:
        folded = char
    _SIMPLIFIED[char] = folded
    return folded


@lru_cache(maxsize=1 << 17)
def _name_key(display: str) -> str:
    # Character by character, not OpenCC over the whole name: its phrase tables read some names
    # as words (沈靜 as 沉静 "calm", 於琳 left as it is), which would give 沈静 and 沈靜, or 于琳
    # and 於琳, two keys. Names repeat heavily (张伟 is tens of thousands of people) and OpenCC
    # costs several us: each character is converted once, and most names change nothing.
    table = _SIMPLIFIED
    folded = [table.get(char) or _simplified(char) for char in display]
    return "".join(folded).lower()


def _display_name(raw: str) -> str:
    text = raw.translate(_NAME_TABLE).strip()
    if "." in text:
        text = _HAN_STOP.sub("\u00b7", text)
    if "\u00b7" in text:
        text = _DOT_GAP.sub("\u00b7", text)
    if " " in text:
        text = _SPACE_RUN.sub(" ", _HAN_GAP.sub("", text))
    return text


def normalise_name(raw: str | None) -> tuple[str | None, str | None]:
    """A person's name as (display, key); key is simplified and lower-cased, for matching.

    Spaces between Han characters go (张 伟 -> 张伟), runs of spaces between Latin words become
    one, and every middle-dot look-alike becomes U+00B7 (阿依古丽·买买提).
    """
    if raw is None:
        return None, None
    display = raw if _PLAIN_NAME.fullmatch(raw) else _display_name(raw)
    if not display:
        return None, None
    return display, _name_key(display)


# --- party membership --------------------------------------------------------------------------

_MEMBER_STATUS: dict[str, bool] = dict.fromkeys(
    (
        "中共党员",
        "中共预备党员",
        "党员",
        "预备党员",
        "共产党员",
        "中国共产党党员",
        "中国共产党预备党员",
        "中共黨員",
        "黨員",
        "cpcmember",
        "partymember",
    ),
    True,
)
_MEMBER_STATUS.update(
    dict.fromkeys(
        (
            "群众",
            "群眾",
            "共青团员",
            "中国共产主义青年团团员",
            "团员",
            "民主党派",
            "民主党派成员",
            "民主党派人士",
            "无党派人士",
            "无党派民主人士",
            # Members of the eight other parties: several end in 党员, so no substring matching.
            "民革党员",
            "民盟盟员",
            "民建会员",
            "民进会员",
            "农工党党员",
            "致公党党员",
            "九三学社社员",
            "台盟盟员",
            "masses",
            "none",
        ),
        False,
    )
)
_MEMBER_FLAG: dict[str, bool] = dict.fromkeys(
    ("是", "y", "yes", "1", "1.0", "true", "√", "✓", "✔"), True
)
_MEMBER_FLAG.update(dict.fromkeys(("否", "n", "no", "0", "0.0", "false", "×", "✗", "✘"), False))


def _member_key(value: str) -> str:
    return "".join(value.translate(_FOLD).lower().split())


def parse_member(political_status: str | None = None, flag: str | None = None) -> bool | None:
    """Party membership from 政治面貌 (wins when recognised) or a 是否党员 flag; None if unknown."""
    if political_status:
        # Most cells already read exactly "中共党员" or "群众": try them before folding.
        known = _MEMBER_STATUS.get(political_status)
        if known is not None:
            return known
        key = _member_key(political_status)
        known = _MEMBER_STATUS.get(key)
        if known is not None:
            return known
        if key.startswith("民主党派"):  # 民主党派（民盟）and the like
            return False
    if flag:
        return _MEMBER_FLAG.get(_member_key(flag))
    return None
