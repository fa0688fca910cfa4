"""Normalisers for roster fields: pinned examples plus properties over arbitrary text."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric

from chelun.identity.normalise import (
    IdNumber,
    fold_text,
    normalise_id,
    normalise_name,
    normalise_phone,
    normalise_plate,
    normalise_uscc,
    parse_member,
)

# The MOD 11-2 weights spelled out, independent of the base-13 shortcut the module uses.
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_STATUSES = {
    "valid",
    "missing",
    "bad_length",
    "bad_format",
    "bad_checksum",
    "bad_date",
    "bad_region",
}
_STATUSES = {"valid", "missing", "invalid"}
_FULL_WIDTH = str.maketrans("0123456789Xx", "０１２３４５６７８９Ｘｘ")
_FAST = settings(max_examples=150, deadline=None)


def make_id(body: str) -> str:
    """*body* (17 digits) with its check character."""
    assert len(body) == 17 and body.isdigit()
    total = sum(int(digit) * weight for digit, weight in zip(body, _WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


def wrong_check(number: str) -> str:
    return number[:17] + ("0" if number[17] != "0" else "1")


VALID = make_id("32010219800101123")
ENDS_IN_X = next(
    number
    for number in (make_id(f"52010219750615{order:03d}") for order in range(1000))
    if number.endswith("X")
)


# --- fold_text -----------------------------------------------------------------------------


def test_fold_text_folds_full_width_and_ideographic_space() -> None:
    assert fold_text("\u3000ＡＢＣ１２３！\u3000") == "ABC123!"
    assert fold_text("  张伟 ") == "张伟"
    assert fold_text(None) == ""


# --- resident ID numbers --------------------------------------------------------------------


def test_valid_id_is_returned_unchanged_with_birth() -> None:
    result = normalise_id(VALID)
    assert result == IdNumber(VALID, "valid", VALID, datetime.date(1980, 1, 1), False)


def test_helper_agrees_with_stdnum() -> None:
    assert ric.calc_check_digit(VALID) == VALID[-1]
    assert ric.calc_check_digit(ENDS_IN_X) == "X"


def test_full_width_digits_and_inner_spaces() -> None:
    spaced = f"{VALID[:6]} {VALID[6:14]}-{VALID[14:]}"
    assert normalise_id(spaced.translate(_FULL_WIDTH)).value == VALID
    assert normalise_id(f"  {VALID[:6]}\u3000{VALID[6:]} ").value == VALID
    assert normalise_id(spaced).cleaned == VALID


def test_lower_case_x() -> None:
    result = normalise_id(ENDS_IN_X.lower())
    assert result.status == "valid"
    assert result.value == ENDS_IN_X
    assert result.cleaned == ENDS_IN_X
    assert normalise_id(ENDS_IN_X.lower().translate(_FULL_WIDTH)).value == ENDS_IN_X


def test_legacy_fifteen_digit_number_is_converted() -> None:
    result = normalise_id("510102800101123")
    assert result.value == "510102198001011233"
    assert result.status == "valid"
    assert result.legacy is True
    assert result.cleaned == "510102800101123"
    assert result.birth == datetime.date(1980, 1, 1)
    assert ric.calc_check_digit("510102198001011233") == "3"


def test_re_registered_number_is_valid_though_stdnum_rejects_it() -> None:
    # 500101 (Chongqing 万州区) was created in 1997; the holder was born in 1980.
    number = make_id("50010119800101123")
    assert ric.is_valid(number) is False
    result = normalise_id(number)
    assert result.status == "valid"
    assert result.value == number


def test_bad_checksum_keeps_birth_date() -> None:
    result = normalise_id(wrong_check(VALID))
    assert result.status == "bad_checksum"
    assert result.value is None
    assert result.birth == datetime.date(1980, 1, 1)
    assert result.cleaned == wrong_check(VALID)


def test_month_thirteen_is_bad_date() -> None:
    result = normalise_id(make_id("32010219801301123"))
    assert (result.status, result.birth, result.value) == ("bad_date", None, None)


def test_birth_before_1900_is_bad_date() -> None:
    assert normalise_id(make_id("32010218991231123")).status == "bad_date"


def test_future_birth_date_is_bad_date() -> None:
    future = datetime.date.today() + datetime.timedelta(days=400)
    result = normalise_id(make_id(f"320102{future:%Y%m%d}123"))
    assert result.status == "bad_date"
    assert result.birth is None


def test_unknown_province_is_bad_region() -> None:
    result = normalise_id(make_id("99010219800101123"))
    assert result.status == "bad_region"
    assert result.value is None
    assert result.birth == datetime.date(1980, 1, 1)


@pytest.mark.parametrize("raw", [VALID[:17], VALID + "1", "3201021980", "5101028001011"])
def test_bad_length(raw: str) -> None:
    assert normalise_id(raw).status == "bad_length"


@pytest.mark.parametrize("raw", [VALID[:17] + "Y", VALID[:5] + "A" + VALID[6:], "51010280010112A"])
def test_bad_format(raw: str) -> None:
    result = normalise_id(raw)
    assert result.status == "bad_format"
    assert result.value is None


@pytest.mark.parametrize("raw", [None, "", "   ", "\u3000", " - "])
def test_missing_id(raw: str | None) -> None:
    assert normalise_id(raw) == IdNumber(None, "missing", "", None, False)


# --- unified social credit codes ---------------------------------------------------------------


def test_uscc() -> None:
    assert normalise_uscc("91110000600037341L") == ("91110000600037341L", "valid")
    assert normalise_uscc(" 9111-0000 6000 3734 1l ") == ("91110000600037341L", "valid")
    assert normalise_uscc("91110000600037341M") == (None, "invalid")
    assert normalise_uscc("91110000600037342L") == (None, "invalid")
    assert normalise_uscc("9111") == (None, "invalid")
    assert normalise_uscc(None) == (None, "missing")
    assert normalise_uscc("  ") == (None, "missing")


# --- phones --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        "+86 138-0013-8000",
        "0086 13800138000",
        "8613800138000",
        "(+86) 138.0013.8000",
        "１３８００１３８０００",
        "１３８－００１３－８０００",
    ],
)
def test_mobile_numbers(raw: str) -> None:
    assert normalise_phone(raw) == ("13800138000", "valid")


@pytest.mark.parametrize(
    "raw", ["010-12345678", "12800138000", "1380013800", "138001380001", "+1 13800138000", "86"]
)
def test_invalid_phones(raw: str) -> None:
    assert normalise_phone(raw) == (None, "invalid")


def test_missing_phone() -> None:
    assert normalise_phone(None) == (None, "missing")
    assert normalise_phone(" - ") == (None, "missing")


# --- plates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "plate"),
    [
        ("苏A12345", "苏A12345"),
        ("苏A·12345", "苏A12345"),
        ("苏A•12345", "苏A12345"),
        ("苏 a 12345", "苏A12345"),
        ("苏Ａ－１２３４５", "苏A12345"),
        ("苏AD12345", "苏AD12345"),
        ("川A12345D", "川A12345D"),
        ("甘A1234挂", "甘A1234挂"),
        ("粤Z1234港", "粤Z1234港"),
        ("贵AB12C3", "贵AB12C3"),
    ],
)
def test_valid_plates(raw: str, plate: str) -> None:
    assert normalise_plate(raw) == (plate, "valid")


@pytest.mark.parametrize(
    "raw", ["台A12345", "AA12345", "苏AI2345", "苏A1234O", "苏A1234", "苏A123456", "川A1234AD"]
)
def test_invalid_plates(raw: str) -> None:
    assert normalise_plate(raw) == (None, "invalid")


def test_missing_plate() -> None:
    assert normalise_plate(None) == (None, "missing")
    assert normalise_plate(" · ") == (None, "missing")


# --- names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "display", "key"),
    [
        ("张伟", "张伟", "张伟"),
        ("张 伟", "张伟", "张伟"),
        (" 张\u3000伟 ", "张伟", "张伟"),
        ("張偉", "張偉", "张伟"),
        ("歐陽 娜娜", "歐陽娜娜", "欧阳娜娜"),
        ("阿依古丽•买买提", "阿依古丽·买买提", "阿依古丽·买买提"),
        ("阿依古丽・买买提", "阿依古丽·买买提", "阿依古丽·买买提"),
        ("阿依古丽．买买提", "阿依古丽·买买提", "阿依古丽·买买提"),
        ("阿依古丽 . 买买提", "阿依古丽·买买提", "阿依古丽·买买提"),
        ("Li  Wei", "Li Wei", "li wei"),
        ("ＬＩ　ＷＥＩ", "LI WEI", "li wei"),
    ],
)
def test_names(raw: str, display: str, key: str) -> None:
    assert normalise_name(raw) == (display, key)


@pytest.mark.parametrize("raw", [None, "", "   ", "\u3000"])
def test_blank_name(raw: str | None) -> None:
    assert normalise_name(raw) == (None, None)


def test_name_with_lone_surrogate_does_not_raise() -> None:
    display, key = normalise_name("张\udcff伟")
    assert display == "张\udcff伟"
    assert isinstance(key, str)


# --- party membership ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "flag", "expected"),
    [
        ("中共党员", None, True),
        ("中共预备党员", None, True),
        (" 党员 ", None, True),
        ("CPC member", None, True),
        ("Party  Member", None, True),
        ("群众", None, False),
        ("共青团员", None, False),
        ("团员", None, False),
        ("民主党派", None, False),
        ("民主党派（九三学社）", None, False),
        ("致公党党员", None, False),
        ("masses", None, False),
        ("None", None, False),
        (None, "是", True),
        (None, "Y", True),
        ("", "yes", True),
        ("  ", "TRUE", True),
        (None, "１", True),
        (None, "√", True),
        (None, "✓", True),
        (None, "否", False),
        (None, "n", False),
        (None, "No", False),
        (None, "0", False),
        (None, "false", False),
        (None, "×", False),
        (None, "✗", False),
        (None, None, None),
        (None, "", None),
        (None, "maybe", None),
        ("中共党员", "否", True),
        ("群众", "是", False),
        ("其他", "是", True),
        ("其他", None, None),
    ],
)
def test_parse_member(status: str | None, flag: str | None, expected: bool | None) -> None:
    assert parse_member(status, flag) is expected


def test_parse_member_keywords() -> None:
    assert parse_member(flag="是") is True
    assert parse_member() is None


# --- properties ----------------------------------------------------------------------------

text_or_none = st.none() | st.text()


@st.composite
def valid_ids(draw: st.DrawFn) -> str:
    province = draw(st.sampled_from(["32", "51", "52", "62"]))
    county = draw(st.integers(0, 9999))
    born = draw(st.dates(datetime.date(1940, 1, 1), datetime.date(2005, 12, 31)))
    order = draw(st.integers(0, 999))
    return make_id(f"{province}{county:04d}{born:%Y%m%d}{order:03d}")


_SERIAL = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@st.composite
def plates(draw: st.DrawFn) -> str:
    head = draw(st.sampled_from("京苏川贵甘粤新藏")) + draw(st.sampled_from(_LETTERS))
    serial = st.sampled_from(_SERIAL)
    kind = draw(st.sampled_from(["ordinary", "suffix", "small_nev", "large_nev"]))
    if kind == "ordinary":
        tail = "".join(draw(serial) for _ in range(5))
    elif kind == "suffix":
        tail = "".join(draw(serial) for _ in range(4)) + draw(st.sampled_from("挂学警港澳"))
    elif kind == "small_nev":
        tail = draw(st.sampled_from("DF")) + "".join(draw(serial) for _ in range(5))
    else:
        tail = f"{draw(st.integers(0, 99999)):05d}" + draw(st.sampled_from("DF"))
    return head + tail


@_FAST
@given(text_or_none)
def test_fold_text_never_raises(raw: str | None) -> None:
    folded = fold_text(raw)
    assert isinstance(folded, str)
    assert folded == folded.strip()
    assert not any("\uff01" <= char <= "\uff5e" or char == "\u3000" for char in folded)


@_FAST
@given(text_or_none)
def test_normalise_id_never_raises(raw: str | None) -> None:
    result = normalise_id(raw)
    assert isinstance(result, IdNumber)
    assert result.status in _ID_STATUSES
    assert isinstance(result.cleaned, str)
    assert result.birth is None or isinstance(result.birth, datetime.date)
    assert isinstance(result.legacy, bool)
    if result.status == "valid":
        assert result.value is not None and len(result.value) == 18
        assert ric.calc_check_digit(result.value) == result.value[-1]
    else:
        assert result.value is None


@_FAST
@given(text_or_none)
def test_other_normalisers_never_raise(raw: str | None) -> None:
    for normalise in (normalise_uscc, normalise_phone, normalise_plate):
        value, status = normalise(raw)
        assert status in _STATUSES
        assert (value is not None) == (status == "valid")
        assert value is None or isinstance(value, str)
    display, key = normalise_name(raw)
    assert (display is None) == (key is None)
    assert display is None or (isinstance(display, str) and isinstance(key, str) and display)
    assert parse_member(raw, raw) in (True, False, None)


@_FAST
@given(valid_ids())
def test_valid_ids_are_idempotent(number: str) -> None:
    result = normalise_id(number)
    assert result.status == "valid"
    assert result.value == number
    assert normalise_id(result.value) == result
    spaced = f" {number[:6]} {number[6:14]} {number[14:]} ".lower().translate(_FULL_WIDTH)
    assert normalise_id(spaced).value == number


@_FAST
@given(valid_ids(), st.integers(0, 17), st.sampled_from("0123456789X"))
def test_single_substitution_is_never_valid(number: str, position: int, char: str) -> None:
    if position < 17 and char == "X":
        char = "7"
    if number[position] == char:
        char = "1" if char != "1" else "2"
    typo = number[:position] + char + number[position + 1 :]
    assert normalise_id(typo).status != "valid"


@_FAST
@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_phones_are_idempotent(phone: str) -> None:
    assert normalise_phone(phone) == (phone, "valid")
    assert normalise_phone(f"+86 {phone[:3]}-{phone[3:7]}-{phone[7:]}") == (phone, "valid")


@_FAST
@given(plates())
def test_plates_are_idempotent(plate: str) -> None:
    assert normalise_plate(plate) == (plate, "valid")
    assert normalise_plate(f"{plate[0]} {plate[1].lower()}·{plate[2:]}") == (plate, "valid")
