"""A synthetic pilot province with known truth.

Four departments send files about the same truck drivers: transport licensing (GB18030 CSV),
public security (an .xlsx export), the party member database (UTF-8 CSV with BOM) and a village
survey (GBK CSV). :func:`generate_province` writes such files for one province, with the mess real
files carry (full-width digits, 15-digit legacy IDs, typos, traditional characters, reformatted
phones and plates, blanks, duplicates, junk rows) and a ``truth.csv`` that maps every data row to
the driver it describes, so record linkage can be scored.

Generation is pure Python and columnar: people are drawn once, then each source's columns are
built from them and the mess applied to sampled rows. Everything follows from ``seed``: the same
arguments give byte-identical files (the .xlsx included). Provinces are independent, so a caller
that wants more speed runs several in parallel processes.
"""

from __future__ import annotations

import datetime as dt
import gc
import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from itertools import accumulate
from pathlib import Path

import xlsxwriter

from chelun.identity.divisions import divisions

SOURCES: tuple[str, ...] = ("transport", "police", "party", "village")
"""Source names, in the order :func:`generate_province` returns them."""

HEADERS: dict[str, tuple[str, ...]] = {
    "transport": (
        "姓名",
        "身份证号",
        "手机号",
        "从业资格证号",
        "所属企业",
        "统一社会信用代码",
        "车牌号",
    ),
    "police": ("姓名", "公民身份号码", "准驾车型", "联系电话", "住址"),
    "party": ("姓名", "身份证号码", "政治面貌", "所在党组织", "手机号码"),
    "village": ("序号", "姓名", "身份证号", "电话", "车牌", "是否党员", "备注"),
}
"""The columns each source always has (in canonical order; files shuffle them)."""

EXTRA_COLUMNS: tuple[str, ...] = ("录入人", "更新时间")
"""Bookkeeping columns some files carry one of (two of the four files, chosen by the seed)."""

ENCODINGS: dict[str, str] = {
    "transport": "gb18030",
    "police": "utf-8-sig",
    "party": "utf-8-sig",
    "village": "gbk",
}
"""Text encoding of each source's CSV file (police is .xlsx when ``spreadsheet=True``)."""

COVERAGE: dict[str, float] = {"transport": 0.70, "police": 0.80, "village": 0.35}
"""Share of drivers each non-party source lists (party lists exactly the members)."""

TRUTH_FILE = "truth.csv"
TRUTH_HEADER: tuple[str, ...] = ("source", "row", "person", "member", "kind")

PLATE_PREFIXES: dict[str, str] = {
    "11": "京", "12": "津", "13": "冀", "14": "晋", "15": "蒙", "21": "辽", "22": "吉", "23": "黑",
    "31": "沪", "32": "苏", "33": "浙", "34": "皖", "35": "闽", "36": "赣", "37": "鲁", "41": "豫",
    "42": "鄂", "43": "湘", "44": "粤", "45": "桂", "46": "琼", "50": "渝", "51": "川", "52": "贵",
    "53": "云", "54": "藏", "61": "陕", "62": "甘", "63": "青", "64": "宁", "65": "新",
}  # fmt: skip
"""Licence-plate abbreviation of each province."""

ENTERPRISE_SHARE = 1 / 16
"""Freight enterprises per driver in a province's pool."""
RE_REGISTERED_SHARE = 0.01
"""People whose ID carries a current county code created after their birth year (stdnum's strict
``cn.ric`` validator rejects those IDs; everyone else's passes it)."""
MINORITY_NAME_SHARE = 0.01
"""People with a transliterated name joined by a middle dot."""
NO_PLATE_SHARE = 0.30
NEW_ENERGY_SHARE = 0.10
QUALIFICATION_IS_ID_SHARE = 0.6


@dataclass(frozen=True)
class Messiness:
    """Rates of the mess real files carry. ``Messiness.off()`` turns all of it off.

    Each ``id_*``, ``name_*``, ``phone_*``, ``plate_*`` and ``field_missing`` rate applies per row
    in which the field appears, drawn afresh for every row (a duplicate may differ from its twin).
    A row's ID and name are messed at most once between them (a typo row keeps the right name);
    phone and plate are blanked or reformatted independently. ``junk`` and ``duplicate`` are per
    source row; ``second_phone`` and ``shared_phone`` per person.
    """

    id_fullwidth: float = 0.03
    """ID written in full-width digits (３２０１...)."""
    id_spaces: float = 0.02
    """Spaces inside the ID (grouped 6-8-4, or one stray space)."""
    id_lower_x: float = 0.5
    """Share of rows whose ID ends in X that write it lower-case."""
    id_legacy15: float = 0.04
    """Police and village rows of people born before 1990: the 15-digit first-generation form."""
    id_typo: float = 0.015
    """One digit substituted or two adjacent digits swapped; the row keeps the right name and the
    person's phone or plate."""
    id_missing: float = 0.05
    """Village rows with no ID (name and phone or plate present)."""
    phone_format: float = 0.2
    """Phone written +86 138 0013 8000, 138-0013-8000, 138 0013 8000 or in full-width digits."""
    name_spaces: float = 0.02
    """A space inside the name (张 伟)."""
    name_traditional: float = 0.02
    """Common characters in traditional form (张伟 -> 張偉)."""
    plate_format: float = 0.1
    """Plate written 苏A·12345, 苏 A12345 or with lower-case letters."""
    field_missing: float = 0.03
    """An optional field (phone, plate, enterprise, address, ...) left blank."""
    junk: float = 0.003
    """Unattributable rows added per source row: no name and no ID, a name only, or an invalid ID
    with no phone and no plate."""
    duplicate: float = 0.01
    """Rows listed twice in the same source."""
    second_phone: float = 0.15
    """People who give a second phone number in one of their sources."""
    shared_phone: float = 0.005
    """People who share a phone number with another person (family)."""
    id_collision: float = 0.0
    """Rows that carry another person's valid ID number (a copying slip that lands on another
    valid number, a borrowed ID); the row keeps its own name (never the other person's), phone
    and plate. Off by default."""
    duplicate_exact: float = 0.0
    """Share of duplicate rows copied from their twin as written (the same damaged ID, name,
    phone and plate) instead of written afresh. Off by default."""
    name_typo: float = 0.0
    """One character of the given name replaced (张伟 -> 张玮) in a row whose ID is intact.
    Off by default."""
    no_id_traditional: float = 0.0
    """Rows with no ID whose name is written in traditional characters, from a wider table than
    ``name_traditional`` (沈靜, 於琳): only the folded name and the phone or plate link them. Off
    by default."""

    @classmethod
    def off(cls) -> Messiness:
        """No mess at all: canonical values, no duplicates, no junk."""
        return cls(**{f.name: 0.0 for f in fields(cls)})

    @classmethod
    def hardest(cls) -> Messiness:
        """The hardest setting for record linkage: every kind of mess, at or above the default.

        Doubled or raised: the mess a linker must see through (typos, reformatted IDs, phones
        and plates, traditional and spaced names, duplicates, families sharing a phone); on:
        ID numbers carried by another person, exact duplicates of damaged rows, name typos and
        traditional names on rows without an ID. Left at the default: the rates of missing IDs,
        second phones and blank fields, whose combination (a row with no ID and a phone given
        nowhere else) no linker can attribute without guessing from the name alone.
        """
        return cls(
            id_fullwidth=0.05,
            id_spaces=0.04,
            id_legacy15=0.08,
            id_typo=0.03,
            phone_format=0.3,
            name_spaces=0.04,
            name_traditional=0.04,
            plate_format=0.2,
            junk=0.006,
            duplicate=0.02,
            shared_phone=0.01,
            id_collision=0.0003,
            duplicate_exact=0.5,
            name_typo=0.001,
            no_id_traditional=0.1,
        )


@dataclass(frozen=True)
class GeneratedSource:
    """One written source file. ``kind`` is the file format, "csv" or "xlsx"."""

    name: str
    kind: str
    path: Path
    rows: int


# --- name material -------------------------------------------------------------------------------

_SURNAMES = (
    "王710 李700 张670 刘540 陈450 杨310 黄220 赵200 吴200 周190 徐130 孙120 马120 朱110 胡100 "
    "郭100 何90 林90 高90 罗90 郑80 梁70 谢60 宋60 唐60 许50 韩50 冯50 邓50 曹50 彭50 曾50 肖40 "
    "田40 董40 袁40 潘40 于40 蒋40 蔡40 余40 杜40 叶40 程30 苏30 魏30 吕30 丁30 任30 沈30 姚30 "
    "卢30 姜30 崔30 钟30 谭30 陆30 汪30 范30 金30 石30 廖30 贾30 夏30 韦30 付30 方20 白20 邹20 "
    "孟20 熊20 秦20 邱20 江20 尹20 薛20 闫20 段20 雷20 侯20 龙20 史20 陶20 黎20 贺20 顾20 毛20 "
    "郝20 龚20 邵20 万20 钱20 严20 覃20 武20 戴20 莫20 孔10 向10 汤10 欧阳4 司马1 诸葛1 上官1"
)
_MALE_GIVEN = (
    "伟60 军40 强40 磊35 勇35 杰30 涛30 明30 超30 刚28 平28 辉25 鹏25 华25 飞22 波22 斌22 宇20 "
    "浩20 建20 国20 凯18 健18 俊18 峰18 东18 海18 龙18 林15 文15 亮15 成15 志15 兵15 新12 春12 "
    "金12 永12 德10 云10 江10 庆10 小10 晓10 红8 大8 家8 祥8 福8 生8 贵8 荣8 学8 忠8 宏8 振8 "
    "洪6 锋6 坤6 鑫6 彬6 力6 山6 光6 中6 胜6 民6 全5 发5 利5 长5 运5 安5 顺5 连4 卫4 青4 根4"
)
_FEMALE_GIVEN = (
    "丽30 芳30 娜25 敏25 静25 秀20 英20 霞20 燕20 艳20 玲18 娟18 梅15 红15 琳12 兰12 萍12 丹10 "
    "洁10 婷10 雪10 慧10 莉10 华10 凤10 倩8 琴8 桂8 珍8 云8 小8 晓8"
)
_MINORITY_PARTS = (
    "阿依古丽 买买提 艾力 吐尔逊 热依拉 阿不都 努尔 古丽 帕提古丽 依明 沙吾提 库尔班 热合曼 "
    "玉素甫 马木提 再努尔 阿力木 吾斯曼 米热 迪丽 尼加提 艾合买提 巴哈尔 扎西 次仁 卓玛 拉姆"
).split()
_PLACE_CHARS = (
    "东南西北中新平安和兴华民丰泰永宁福寿康乐长青石龙凤山河江湖桥塘坪坝沟营店集庄铺口湾溪岭"
    "花林桃柳杨李王张马牛白黄红金银铜铁古城关前后上下大小三五七八"
)
_FIRM_CHARS = "鑫盛通达顺发恒远宏泰安捷联运宇航德信诚祥瑞丰聚源汇金华邦鸿运利亨昌隆兴旺嘉凯正"
_FIRM_SUFFIXES = (
    "物流有限公司",
    "运输有限公司",
    "货运有限公司",
    "汽车运输有限公司",
    "供应链管理有限公司",
    "道路运输有限责任公司",
)
_LICENCES = ("A2", "B2", "A1", "B1", "C1", "A2D", "B2E")
_LICENCE_WEIGHTS = (35, 40, 7, 4, 10, 2, 2)
_NOTES = (
    "常年在外",
    "外出务工",
    "跑长途",
    "本地运输",
    "已转行",
    "车辆挂靠",
    "联系不上",
    "户在人不在",
)

_FULLWIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
_TRADITIONAL = str.maketrans(
    {
        "张": "張", "刘": "劉", "陈": "陳", "杨": "楊", "赵": "趙", "黄": "黃", "吴": "吳",
        "郑": "鄭", "伟": "偉", "军": "軍", "国": "國", "华": "華", "东": "東", "丽": "麗",
    }
)  # fmt: skip
_TRADITIONAL_WIDE = str.maketrans(
    {
        **{chr(k): v for k, v in _TRADITIONAL.items()},
        "于": "於", "静": "靜", "马": "馬", "孙": "孫", "罗": "羅", "谢": "謝", "韩": "韓",
        "冯": "馮", "邓": "鄧", "许": "許", "苏": "蘇", "叶": "葉", "吕": "呂", "卢": "盧",
        "钟": "鍾", "谭": "譚", "陆": "陸", "贾": "賈", "韦": "韋", "邹": "鄒", "龙": "龍",
        "贺": "賀", "顾": "顧", "龚": "龔", "钱": "錢", "汤": "湯", "严": "嚴", "万": "萬",
        "闫": "閆", "强": "強", "涛": "濤", "刚": "剛", "辉": "輝", "鹏": "鵬", "飞": "飛",
        "凯": "凱", "杰": "傑", "宁": "寧", "庆": "慶", "贵": "貴", "荣": "榮", "学": "學",
        "锋": "鋒", "胜": "勝", "发": "發", "长": "長", "运": "運", "顺": "順", "连": "連",
        "卫": "衛", "红": "紅", "艳": "艷", "凤": "鳳", "兰": "蘭", "晓": "曉",
    }
)  # fmt: skip
"""Simplified to traditional for ``no_id_traditional``: every character ``_TRADITIONAL`` has,
and more surnames and given names, some of which OpenCC's phrase tables read as words."""
_PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_PHONE_PREFIXES = tuple(
    "130 131 132 133 134 135 136 137 138 139 150 151 152 153 155 156 157 158 159 166 173 175 "
    "176 177 178 180 181 182 183 184 185 186 187 188 189 191 198 199".split()
)


def _pool(text: str) -> list[str]:
    """Items of "item<weight> ..." repeated by weight: uniform draws from it are weighted draws."""
    out: list[str] = []
    for token in text.split():
        head = token.rstrip("0123456789")
        out.extend([head] * int(token[len(head) :]))
    return out


_SURNAME_POOL = _pool(_SURNAMES)
_MALE_POOL = _pool(_MALE_GIVEN)
_FEMALE_POOL = _pool(_FEMALE_GIVEN)
_COMPOUND_SURNAMES = frozenset(name for name in set(_SURNAME_POOL) if len(name) == 2)
_CHECK_CHARS = "0123456789X"
_ODD_ORDERS = [f"{i:03d}" for i in range(1, 1000, 2)]
_EVEN_ORDERS = [f"{i:03d}" for i in range(2, 1000, 2)]
_PAIRS = [f"{i:02d}" for i in range(100)]
_TRIPLES = [f"{i:03d}" for i in range(1000)]
_QUADS = [f"{i:04d}" for i in range(10_000)]
_STREET_NUMBERS = [f"{i}号" for i in range(1, 301)]
_VILLAGE_NUMBERS = [f"{group}组{house}号" for group in range(1, 13) for house in range(1, 81)]


def _year_pool() -> list[int]:
    """Birth years 1960-2000, weighted like a driver workforce: a peak at the late 1970s."""
    out: list[int] = []
    for year in range(1960, 2001):
        weight = (year - 1958) / 20 if year <= 1978 else (2002 - year) / 24
        out.extend([year] * max(1, round(weight * 40)))
    return out


_YEAR_POOL = _year_pool()


def _days_by_year() -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    day, last, step = dt.date(1960, 1, 1), dt.date(2000, 12, 31), dt.timedelta(days=1)
    while day <= last:
        out.setdefault(day.year, []).append(day.strftime("%Y%m%d"))
        day += step
    return out


_DAYS = _days_by_year()


def _resident_check(first17: str) -> str:
    """MOD 11-2 check character of the first 17 digits of a resident ID."""
    return _CHECK_CHARS[(1 - 2 * int(first17, 13)) % 11]


def _organisation_check(code8: str) -> str:
    """GB 11714 check character of an eight-character organisation code (digits here)."""
    total = sum(int(c) * w for c, w in zip(code8, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def _uscc_check(code17: str) -> str:
    """GB 32100 check character of a unified social credit code's first 17 characters.

    The same computation as ``stdnum.cn.uscc.calc_check_digit``, without its input cleaning (four
    times faster); the tests compare the two.
    """
    alphabet = _USCC_ALPHABET
    total = sum(alphabet.index(c) * w for c, w in zip(code17, _USCC_WEIGHTS, strict=True))
    return alphabet[(31 - total % 31) % 31]


def _root(name: str) -> str:
    for suffix in ("自治州", "自治县", "地区", "市", "县", "区", "州"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


# --- the population ------------------------------------------------------------------------------


class _Population:
    """The province's drivers as columns; the index is the person number in truth.csv."""

    def __init__(
        self, rng: random.Random, province: str, n: int, member_share: float, mess: Messiness
    ) -> None:
        self.rng = rng
        self.n = n
        table = divisions()
        counties = table.counties(province)
        if not counties:
            raise ValueError(f"no county-level divisions for province {province!r}")
        self.counties = counties
        self.province_name = table.province_names.get(province, "")
        self.plate_prefix = PLATE_PREFIXES.get(province, "")
        if not self.plate_prefix:
            raise ValueError(f"no licence-plate abbreviation for province {province!r}")
        cities = table.cities(province)
        self.city_name = {city.code[:4]: city.name for city in cities}
        self.city_letter = {
            city.code[:4]: _PLATE_LETTERS[i % len(_PLATE_LETTERS)] for i, city in enumerate(cities)
        }
        rand = rng.random
        self.male = [rand() < 0.96 for _ in range(n)]
        self._names()
        self._ids()
        self._phones(mess)
        self._plates()
        self.member = [rand() < member_share for _ in range(n)]

    def _names(self) -> None:
        rng, n = self.rng, self.n
        rand = rng.random
        surnames = rng.choices(_SURNAME_POOL, k=n)
        first = rng.choices(_MALE_POOL, k=n)
        second = rng.choices(_MALE_POOL, k=n)
        names = [
            s + a + b if rand() < 0.62 else s + a
            for s, a, b in zip(surnames, first, second, strict=True)
        ]
        for p in [p for p, male in enumerate(self.male) if not male]:
            given = rng.choices(_FEMALE_POOL, k=1 + (rand() < 0.62))
            names[p] = surnames[p] + "".join(given)
        for p in [p for p in range(n) if rand() < MINORITY_NAME_SHARE]:
            names[p] = "·".join(rng.sample(_MINORITY_PARTS, 2))
        self.names = names

    def random_name(self) -> str:
        rng = self.rng
        given = rng.choices(_MALE_POOL, k=1 + (rng.random() < 0.62))
        return rng.choice(_SURNAME_POOL) + "".join(given)

    def _ids(self) -> None:
        """Resident IDs: county of registration + birth date + order (odd for men) + check.

        The county code is one in force in the birth year: a current county of the province
        when there is one, else a code since retired that resolves to the province (Jiangsu
        renumbered every county in 1983, so its people born before carry retired codes). A share
        (:data:`RE_REGISTERED_SHARE`) carries a current county created after the birth year, as
        people re-registered after a reorganisation do. ``county_of`` is the current county a
        person lives in (the ID's own county, or one of its prefecture for a retired code).
        """
        rng, n, counties = self.rng, self.n, self.counties
        rand = rng.random
        table = divisions()
        weights = [max(1, round(rng.lognormvariate(0.0, 0.7) * 20)) for _ in counties]
        province = counties[0].code[:2]
        retired = [
            d
            for d in table.counties(province, active_only=False)
            if not d.active and table.province_of(d.code) == province
        ]
        retired_weights = [max(1, round(rng.lognormvariate(0.0, 0.7) * 20)) for _ in retired]
        everyone = [c.code for c, w in zip(counties, weights, strict=True) for _ in range(w)]
        pools: dict[int, list[str]] = {}
        late: dict[int, list[str]] = {}
        for year in range(1960, 2001):
            pools[year] = (
                [
                    c.code
                    for c, w in zip(counties, weights, strict=True)
                    if c.name_in(year)
                    for _ in range(w)
                ]
                or [
                    c.code
                    for c, w in zip(retired, retired_weights, strict=True)
                    if c.name_in(year)
                    for _ in range(w)
                ]
                or everyone
            )
            late[year] = [
                c.code
                for c, w in zip(counties, weights, strict=True)
                if all(e.start is not None and e.start > year for e in c.eras)
                for _ in range(w)
            ] or pools[year]
        home = {c.code: c for c in counties}
        for d in retired:
            same_city = [c for c in counties if c.code[:4] == d.code[:4]]
            home[d.code] = (same_city or counties)[int(rand() * len(same_city or counties))]
        years = rng.choices(_YEAR_POOL, k=n)
        born: dict[int, list[int]] = {}
        for p, year in enumerate(years):
            born.setdefault(year, []).append(p)
        first = [""] * n
        male = self.male
        for year in sorted(born):
            people = born[year]
            k = len(people)
            parts = zip(
                people,
                rng.choices(pools[year], k=k),
                rng.choices(_DAYS[year], k=k),
                rng.choices(_ODD_ORDERS, k=k),
                rng.choices(_EVEN_ORDERS, k=k),
                strict=True,
            )
            for p, code, day, odd, even in parts:
                first[p] = code + day + (odd if male[p] else even)
        for p in _sample_rows(rand, n, RE_REGISTERED_SHARE):
            pool = late[years[p]]
            first[p] = pool[int(rand() * len(pool))] + first[p][6:]
        taken = set(first)
        if len(taken) < n:
            taken = set()
            for p, value in enumerate(first):
                while value in taken:
                    orders = _ODD_ORDERS if male[p] else _EVEN_ORDERS
                    value = value[:14] + orders[int(rand() * len(orders))]
                taken.add(value)
                first[p] = value
        check = _CHECK_CHARS
        self.ids = [f + check[(1 - 2 * int(f, 13)) % 11] for f in first]
        self.prefixes = taken
        self.years = years
        self.county_of = [home[f[:6]] for f in first]

    def _phones(self, mess: Messiness) -> None:
        """Unique mobiles; a few people share one with family; some have a second."""
        rng, n = self.rng, self.n
        rand = rng.random
        has_second = [rand() < mess.second_phone for _ in range(n)]
        need = n + sum(has_second)
        unique: dict[str, None] = {}
        while len(unique) < need:
            k = need - len(unique) + 16
            parts = zip(
                rng.choices(_PHONE_PREFIXES, k=k),
                rng.choices(_QUADS, k=k),
                rng.choices(_QUADS, k=k),
                strict=True,
            )
            unique.update(dict.fromkeys(a + b + c for a, b, c in parts))
        numbers = list(unique)
        phones = numbers[:n]
        if n > 1:
            for p in _sample_rows(rand, n, mess.shared_phone):
                other = int(rand() * n)
                if other != p:
                    phones[p] = phones[other]
        spare = iter(numbers[n:need])
        self.phones = phones
        self.phone2: list[str | None] = [next(spare) if flag else None for flag in has_second]

    def _plates(self) -> None:
        """Truck plates (unique), about 30% of people without one, 10% new-energy."""
        rng, n = self.rng, self.n
        rand = rng.random
        letters = list(self.city_letter.values()) or ["A"]
        home = {c.code: self.city_letter.get(c.code[:4], "A") for c in self.counties}
        city = [home[county.code] for county in self.county_of]
        for p in _sample_rows(rand, n, 0.2):  # a truck registered in another city
            city[p] = letters[int(rand() * len(letters))]
        parts = zip(rng.choices(_PAIRS, k=n), rng.choices(_TRIPLES, k=n), strict=True)
        tails = [a + b for a, b in parts]
        alphabet = _PLATE_LETTERS
        for p in _sample_rows(rand, n, 0.35):  # one letter among the digits: 苏A5B123
            cut = int(rand() * 3)
            tails[p] = tails[p][:cut] + alphabet[int(rand() * 24)] + tails[p][cut + 1 :]
        for p in _sample_rows(rand, n, NEW_ENERGY_SHARE):  # 苏AD12345, 苏A12345D
            energy = "D" if rand() < 0.6 else "F"
            digits = tails[p] if tails[p].isdigit() else f"{int(rand() * 100_000):05d}"
            tails[p] = energy + digits if rand() < 0.3 else digits + energy
        prefix = self.plate_prefix
        plates = [prefix + letter + tail for letter, tail in zip(city, tails, strict=True)]
        for p in _sample_rows(rand, n, NO_PLATE_SHARE):
            plates[p] = ""
        taken: set[str] = set()
        for p, plate in enumerate(plates):
            if not plate:
                continue
            while plate in taken:
                plate = plate[:2] + f"{int(rand() * 100_000):05d}"
            taken.add(plate)
            plates[p] = plate
        self.plates = plates

    def localities(self) -> dict[str, tuple[list[str], bool]]:
        """By county code: (addresses up to the road or village, urban) to draw homes from."""
        rand = self.rng.random
        chars = _PLACE_CHARS
        size = len(chars)

        def two() -> str:
            return chars[int(rand() * size)] + chars[int(rand() * size)]

        out: dict[str, tuple[list[str], bool]] = {}
        for county in self.counties:
            prefix = self.province_name + self.city_name.get(county.code[:4], "") + county.name
            urban = county.name.endswith("区")
            if urban:
                pool = [prefix + two() + ("路" if rand() < 0.6 else "街") for _ in range(40)]
            else:
                towns = [two() + ("镇" if rand() < 0.7 else "乡") for _ in range(12)]
                pool = [prefix + towns[int(rand() * 12)] + two() + "村" for _ in range(60)]
            out[county.code] = (pool, urban)
        return out


# --- rendering -----------------------------------------------------------------------------------


def _spaced_id(rng: random.Random, text: str) -> str:
    if rng.random() < 0.5:
        return f"{text[:6]} {text[6:14]} {text[14:]}"
    cut = 1 + int(rng.random() * (len(text) - 1))
    return text[:cut] + " " + text[cut:]


def _typo(rng: random.Random, text: str) -> str:
    """One digit of the first 17 substituted, or two adjacent different digits swapped."""
    chars = list(text)
    pos = int(rng.random() * 16)
    if rng.random() < 0.5 and chars[pos] != chars[pos + 1]:
        chars[pos], chars[pos + 1] = chars[pos + 1], chars[pos]
    else:
        pos = int(rng.random() * 17)
        chars[pos] = str((int(chars[pos]) + 1 + int(rng.random() * 9)) % 10)
    return "".join(chars)


def _spaced_name(name: str) -> str:
    if "·" in name:
        return name.replace("·", " ")
    cut = 2 if name[:2] in _COMPOUND_SURNAMES else 1
    return name[:cut] + " " + name[cut:]


def _format_phone(rng: random.Random, phone: str) -> str:
    u = rng.random()
    if u < 0.3:
        return f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}"
    if u < 0.6:
        return f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"
    if u < 0.8:
        return phone.translate(_FULLWIDTH)
    return f"{phone[:3]} {phone[3:7]} {phone[7:]}"


def _format_plate(rng: random.Random, plate: str) -> str:
    u = rng.random()
    if u < 0.4:
        return f"{plate[:2]}·{plate[2:]}"
    if u < 0.7:
        return f"{plate[0]} {plate[1:]}"
    return plate.lower()


def _sample_rows(rand: Callable[[], float], m: int, rate: float) -> list[int]:
    """Row numbers below ``m``, each taken with probability ``rate``, drawn by geometric skips
    (one draw per row taken rather than one per row)."""
    if rate <= 0.0 or m <= 0:
        return []
    if rate >= 1.0:
        return list(range(m))
    if rate > 0.3:
        return [r for r in range(m) if rand() < rate]
    log_q = math.log1p(-rate)
    out: list[int] = []
    r = -1
    while True:
        r += 1 + int(math.log(1.0 - rand()) / log_q)
        if r >= m:
            return out
        out.append(r)


@dataclass
class _Identity:
    """The identifying columns of one source's rows, as written."""

    names: list[str]
    ids: list[str]
    phones: list[str]
    plates: list[str]


class _Renderer:
    """Renders the columns of a source from the population, the mess applied to sampled rows.

    The mess of the ID and of the name never co-occur in a row (a row is messed once, the first
    kind drawn wins), so a typo row keeps the right name; phone and plate are blanked or
    reformatted independently.
    """

    def __init__(self, pop: _Population, mess: Messiness, second_source: list[int]) -> None:
        self.pop = pop
        self.mess = mess
        self.rng = pop.rng
        self.rand = pop.rng.random
        self.second_source = second_source

    def rows(self, m: int, rate: float) -> list[int]:
        return _sample_rows(self.rand, m, rate)

    def blank(self, column: list[str]) -> list[str]:
        """Blank an optional column in a share ``field_missing`` of rows (in place)."""
        for r in self.rows(len(column), self.mess.field_missing):
            column[r] = ""
        return column

    def identity(
        self, order: list[int], source: int, legacy: bool, may_lack_id: bool, with_plate: bool
    ) -> _Identity:
        pop, mess, rng = self.pop, self.mess, self.rng
        m = len(order)
        names, ids = pop.names, pop.ids
        id_col = [ids[p] for p in order]
        name_col = [names[p] for p in order]
        touched: set[int] = set()
        strict: list[int] = []
        missing: list[int] = []
        if may_lack_id:
            for r in self.rows(m, mess.id_missing):
                id_col[r] = ""
                touched.add(r)
                strict.append(r)
                missing.append(r)
        for r in self.rows(m, mess.id_typo):
            if r not in touched:
                id_col[r] = _typo(rng, id_col[r])
                touched.add(r)
                strict.append(r)
        for r in self.rows(m, mess.id_collision):
            if r not in touched and pop.n > 1:
                id_col[r] = ids[self.other_person(order[r])]
                touched.add(r)
        for r in self.rows(m, mess.id_fullwidth):
            if r not in touched:
                id_col[r] = id_col[r].translate(_FULLWIDTH)
                touched.add(r)
        for r in self.rows(m, mess.id_spaces):
            if r not in touched:
                id_col[r] = _spaced_id(rng, id_col[r])
                touched.add(r)
        if legacy:
            years = pop.years
            for r in self.rows(m, mess.id_legacy15):
                if r not in touched and years[order[r]] < 1990:
                    ident = id_col[r]
                    id_col[r] = ident[:6] + ident[8:17]
                    touched.add(r)
        for r in self.rows(m, mess.name_spaces):
            if r not in touched:
                name_col[r] = _spaced_name(name_col[r])
                touched.add(r)
        for r in self.rows(m, mess.name_traditional):
            if r not in touched:
                name_col[r] = name_col[r].translate(_TRADITIONAL)
                touched.add(r)
        for r in self.rows(m, mess.name_typo):
            if r not in touched:
                name_col[r] = self.misspelt(name_col[r])
                touched.add(r)
        for i in self.rows(len(missing), mess.no_id_traditional):
            r = missing[i]
            name_col[r] = name_col[r].translate(_TRADITIONAL_WIDE)
        if mess.id_lower_x > 0:
            rand, rate = self.rand, mess.id_lower_x
            for r, ident in enumerate(id_col):
                if ident[-1:] in ("X", "Ｘ") and rand() < rate:
                    id_col[r] = ident[:-1] + "x"

        phones, phone2, second = pop.phones, pop.phone2, self.second_source
        true_phones: list[str] = [
            phone2[p] or phones[p] if second[p] == source else phones[p] for p in order
        ]
        phone_col = list(true_phones)
        for r in self.rows(m, mess.phone_format):
            phone_col[r] = _format_phone(rng, phone_col[r])
        self.blank(phone_col)
        if with_plate:
            plates = pop.plates
            plate_col = [plates[p] for p in order]
            for r in self.rows(m, mess.plate_format):
                if plate_col[r]:
                    plate_col[r] = _format_plate(rng, plate_col[r])
            self.blank(plate_col)
        else:
            plate_col = [""] * m
        for r in strict:
            if not phone_col[r] and not plate_col[r]:
                phone_col[r] = true_phones[r]
        if mess.duplicate_exact > 0:
            # Rows are in person order, so a duplicate follows its twin.
            twins = [r for r in range(1, m) if order[r] == order[r - 1]]
            for i in self.rows(len(twins), mess.duplicate_exact):
                r = twins[i]
                for column in (name_col, id_col, phone_col, plate_col):
                    column[r] = column[r - 1]
        return _Identity(name_col, id_col, phone_col, plate_col)

    def other_person(self, p: int) -> int:
        """Someone else with another name: whose ID number a colliding row of ``p`` carries."""
        pop, rand = self.pop, self.rand
        while True:
            other = int(rand() * pop.n)
            if other != p and pop.names[other] != pop.names[p]:
                return other

    def misspelt(self, name: str) -> str:
        """The name with one character of the given name replaced by another."""
        rand = self.rand
        start = 2 if name[:2] in _COMPOUND_SURNAMES else 1
        places = [i for i in range(start, len(name)) if name[i] != "\u00b7"] or [len(name) - 1]
        at = places[int(rand() * len(places))]
        while True:
            char = _MALE_POOL[int(rand() * len(_MALE_POOL))]
            if char != name[at]:
                return name[:at] + char + name[at + 1 :]

    def junk_identity(self) -> tuple[str, str, int]:
        """(name, id, style) of an unattributable row; style 0 keeps other fields, 1 blanks them.

        Either no name and no ID, or a name only, or an invalid ID (bad check character, or too
        short) with perhaps a name.
        """
        pop, rand = self.pop, self.rand
        u = rand()
        if u < 1 / 3:
            return "", "", 0
        if u < 2 / 3:
            return pop.random_name(), "", 1
        county = pop.counties[int(rand() * len(pop.counties))].code
        while True:
            first17 = f"{county}19{int(rand() * 100):02d}{int(rand() * 1e7):07d}"
            if first17 not in pop.prefixes:
                break
        if rand() < 0.5:
            right = _CHECK_CHARS.index(_resident_check(first17))
            ident = first17 + _CHECK_CHARS[(right + 1 + int(rand() * 10)) % 11]
        else:
            ident = first17[: 14 + int(rand() * 3)]
        name = pop.random_name() if rand() < 0.7 else ""
        return name, ident, 0


def _junk_row(
    renderer: _Renderer, source: str, enterprises: list[tuple[str, str]]
) -> dict[str, str]:
    """The fields of an unattributable row (others blank); never an entirely blank row."""
    rand = renderer.rand
    name, ident, style = renderer.junk_identity()
    header = HEADERS[source]
    offset = 1 if source == "village" else 0
    row = {header[offset]: name, header[offset + 1]: ident}
    if source == "transport":
        firm = enterprises[int(rand() * len(enterprises))]
        if style == 0 and (not (name or ident) or rand() < 0.5):
            row["所属企业"], row["统一社会信用代码"] = firm
    elif source == "police":
        if style == 0:
            row["准驾车型"] = _LICENCES[int(rand() * 3)]
    elif source == "party":
        if style == 0:
            row["政治面貌"] = "中共党员"
    elif style == 0 and rand() < 0.5:
        row["备注"] = _NOTES[int(rand() * len(_NOTES))]
    return row


# --- writing -------------------------------------------------------------------------------------


def _csv_field(value: str) -> str:
    """A CSV field as RFC 4180 writes it: quoted only when it must be."""
    if "," in value or '"' in value or "\n" in value or "\r" in value:
        return '"' + value.replace('"', '""') + '"'
    return value


def _csv_field_column(column: list[str]) -> list[str]:
    """The column as CSV fields; generated values never need quoting, so this is a check."""
    joined = "\x1f".join(column)
    if "," in joined or '"' in joined or "\n" in joined or "\r" in joined:
        return [_csv_field(value) for value in column]
    return column


def _joined(
    columns: dict[str, list[str]], names: list[str], count: int, head: str = "", tail: str = ""
) -> list[str]:
    """Row by row, the named columns joined with commas (and ``head``/``tail`` if any)."""
    if not names:
        return [""] * count
    if len(names) == 1:
        lines = columns[names[0]]
    else:
        lines = list(map(",".join, zip(*(columns[name] for name in names), strict=True)))
    if head or tail:
        lines = [head + line + tail for line in lines]
    return lines


def _write_xlsx(path: Path, header: list[str], rows: Iterable[tuple[str, ...]]) -> None:
    """One sheet, every cell a string (blank cells left out), streamed in constant memory; a
    fixed creation date keeps the bytes the same from run to run."""
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    workbook.set_properties({"created": dt.datetime(2024, 1, 1), "author": ""})
    sheet = workbook.add_worksheet("驾驶人信息")
    write = sheet.write_string
    for col, value in enumerate(header):
        write(0, col, value)
    for r, row in enumerate(rows, start=1):
        for col, value in enumerate(row):
            if value:
                write(r, col, value)
    workbook.close()


def generate_province(
    out_dir: Path,
    province: str,
    drivers: int,
    *,
    seed: int = 0,
    spreadsheet: bool = True,
    member_share: float = 0.024,
    messiness: Messiness = Messiness(),
) -> list[GeneratedSource]:
    """Write one province's four source files and ``truth.csv`` into ``out_dir``.

    ``province`` is a two-digit code (32, 51, 52, 62 are the pilot). Returns the sources in the
    order of :data:`SOURCES`; ``rows`` counts data rows (header excluded, duplicates and junk
    included). ``truth.csv`` has one line per data row of every source: source, row (1-based),
    person (index of the true driver, empty for junk), member (1/0, empty for junk), kind
    ("person" or "junk").
    """
    if drivers < 1:
        raise ValueError("drivers must be at least 1")
    # Millions of small tuples and lists, none in a cycle: the cyclic collector would only walk
    # them again and again (a fifth of the run time).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _generate(
            Path(out_dir), province, drivers, seed, spreadsheet, member_share, messiness
        )
    finally:
        if collecting:
            gc.enable()


def _generate(
    out_dir: Path,
    province: str,
    drivers: int,
    seed: int,
    spreadsheet: bool,
    member_share: float,
    messiness: Messiness,
) -> list[GeneratedSource]:
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"chelun.synthetic/{province}/{seed}")
    mess = messiness
    pop = _Population(rng, province, drivers, member_share, mess)
    rand = rng.random
    n = drivers

    # Who is listed where; every driver somewhere.
    c_t, c_po, c_v = COVERAGE["transport"], COVERAGE["police"], COVERAGE["village"]
    member = pop.member
    listed = [
        [rand() < c_t for _ in range(n)],
        [rand() < c_po for _ in range(n)],
        member,
        [rand() < c_v for _ in range(n)],
    ]
    for p in [p for p, flags in enumerate(zip(*listed, strict=True)) if not any(flags)]:
        u = rand() * (c_t + c_po + c_v)
        listed[0 if u < c_t else 1 if u < c_t + c_po else 3][p] = True
    lists = {
        source: [p for p, flag in enumerate(flags) if flag]
        for source, flags in zip(SOURCES, listed, strict=True)
    }
    t_list, po_list, pa_list = lists["transport"], lists["police"], lists["party"]
    second_source = [-1] * n
    for p, phone2 in enumerate(pop.phone2):
        if phone2 is not None:
            where = [s for s in range(4) if listed[s][p]]
            second_source[p] = where[int(rand() * len(where))]

    renderer = _Renderer(pop, mess, second_source)

    # Per-source attributes that are the same in every row of a person (lists by person).
    enterprises = _enterprises(pop, max(1, round(n * ENTERPRISE_SHARE)))
    ent_weights = list(accumulate(rng.paretovariate(1.8) for _ in enterprises))
    employer: list[tuple[str, str] | None] = [None] * n
    for p, firm in zip(
        t_list, rng.choices(enterprises, cum_weights=ent_weights, k=len(t_list)), strict=True
    ):
        employer[p] = firm
    ids, county_of = pop.ids, pop.county_of
    qualification = [""] * n
    for p in t_list:
        qualification[p] = ids[p]
    for i in _sample_rows(rand, len(t_list), 1 - QUALIFICATION_IS_ID_SHARE):
        p = t_list[i]
        width = 8 + int(rand() * 8)  # 12 to 19 characters in all
        qualification[p] = f"{county_of[p].code[:4]}{int(rand() * 10**width):0{width}d}"
    licence = [""] * n
    for p, value in zip(
        po_list, rng.choices(_LICENCES, weights=_LICENCE_WEIGHTS, k=len(po_list)), strict=True
    ):
        licence[p] = value
    address = [""] * n
    localities = pop.localities()
    k = len(po_list)
    numbers = zip(
        po_list,
        rng.choices(_STREET_NUMBERS, k=k),
        rng.choices(_VILLAGE_NUMBERS, k=k),
        [rand() for _ in range(k)],
        strict=True,
    )
    for p, street, house, u in numbers:
        pool, urban = localities[county_of[p].code]
        address[p] = pool[int(u * len(pool))] + (street if urban else house)
    party_org = [""] * n
    status = [""] * n
    for p in pa_list:
        party_org[p] = _party_org(pop, p, employer[p])
        status[p] = "中共预备党员" if rand() < 0.05 else "中共党员"

    # Which files carry an extra column.
    extra_for = dict.fromkeys(SOURCES, "")
    for name in rng.sample(SOURCES, 2):
        extra_for[name] = EXTRA_COLUMNS[int(rand() * len(EXTRA_COLUMNS))]
    extra_values = {
        "录入人": [pop.random_name() for _ in range(12)],
        "更新时间": [
            (dt.datetime(2023, 1, 1) + dt.timedelta(seconds=int(rand() * 720 * 86400))).strftime(
                "%Y-%m-%d %H:%M:%S"
            )
            for _ in range(997)
        ],
    }

    results: list[GeneratedSource] = []
    truth: list[str] = []
    member_flag = ["1" if flag else "0" for flag in member]
    for s_index, source in enumerate(SOURCES):
        # Rows are built in person order, where reading the population is sequential (random
        # reads of a million-entry list miss the cache: eight times slower), then shuffled once
        # as whole rows.
        order = lists[source] + [
            lists[source][r] for r in renderer.rows(len(lists[source]), mess.duplicate)
        ]
        order.sort()
        m = len(order)
        legacy = source in ("police", "village")
        who = renderer.identity(order, s_index, legacy, source == "village", source != "police")
        columns: dict[str, list[str]] = {}
        if source == "transport":
            firms = [employer[p] or ("", "") for p in order]
            columns = {
                "姓名": who.names,
                "身份证号": who.ids,
                "手机号": who.phones,
                "从业资格证号": renderer.blank([qualification[p] for p in order]),
                "所属企业": renderer.blank([firm[0] for firm in firms]),
                "统一社会信用代码": renderer.blank([firm[1] for firm in firms]),
                "车牌号": who.plates,
            }
        elif source == "police":
            columns = {
                "姓名": who.names,
                "公民身份号码": who.ids,
                "准驾车型": renderer.blank([licence[p] for p in order]),
                "联系电话": who.phones,
                "住址": renderer.blank([address[p] for p in order]),
            }
        elif source == "party":
            columns = {
                "姓名": who.names,
                "身份证号码": who.ids,
                "政治面貌": [status[p] for p in order],
                "所在党组织": renderer.blank([party_org[p] for p in order]),
                "手机号码": who.phones,
            }
        else:
            notes = [""] * m
            for r in renderer.rows(m, 0.25):
                notes[r] = _NOTES[int(rand() * len(_NOTES))]
            columns = {
                "姓名": who.names,
                "身份证号": who.ids,
                "电话": who.phones,
                "车牌": who.plates,
                "是否党员": renderer.blank(["是" if member[p] else "否" for p in order]),
                "备注": notes,
            }

        header = list(HEADERS[source])
        extra = extra_for[source]
        if extra:
            header.append(extra)
            values = extra_values[extra]
            columns[extra] = [values[int(rand() * len(values))] for _ in range(m)]
        persons = order
        for _ in range(int(m * mess.junk + rand())):
            junk = _junk_row(renderer, source, enterprises)
            if extra:
                junk[extra] = values[int(rand() * len(values))]
            for name, column in columns.items():
                column.append(junk.get(name, ""))
            persons.append(-1)
        total = len(persons)
        rng.shuffle(header)

        # Lines are joined in person order, where the population's strings lie in memory in
        # sequence, then permuted once: random reads of a million-entry list miss the cache and
        # cost eight times sequential ones.
        perm = list(range(total))
        rng.shuffle(perm)
        if source == "police" and spreadsheet:
            path = out_dir / "police.xlsx"
            rows = list(zip(*(columns[name] for name in header), strict=True))
            _write_xlsx(path, header, [rows[i] for i in perm])
            kind = "xlsx"
        else:
            path = out_dir / f"{source}.csv"
            csv_columns = {name: _csv_field_column(column) for name, column in columns.items()}
            if "序号" in header:  # the row number, known once rows are in file order
                at = header.index("序号")
                left = _joined(csv_columns, header[:at], total, tail=",")
                right = _joined(csv_columns, header[at + 1 :], total, head=",")
                lines = [f"{left[i]}{r}{right[i]}" for r, i in enumerate(perm, start=1)]
            else:
                joined = _joined(csv_columns, header, total)
                lines = [joined[i] for i in perm]
            text = "\r\n".join([",".join(map(_csv_field, header)), *lines, ""])
            path.write_bytes(text.encode(ENCODINGS[source]))
            kind = "csv"
        results.append(GeneratedSource(source, kind, path, total))

        truth.extend(
            f"{source},{r},{p},{member_flag[p]},person" if p >= 0 else f"{source},{r},,,junk"
            for r, p in enumerate([persons[i] for i in perm], start=1)
        )

    truth.insert(0, ",".join(TRUTH_HEADER))
    truth.append("")
    (out_dir / TRUTH_FILE).write_bytes("\n".join(truth).encode("utf-8"))
    return results


def _enterprises(pop: _Population, count: int) -> list[tuple[str, str]]:
    """(name, USCC) of the province's freight enterprises, each registered in a county."""
    rng = pop.rng
    rand = rng.random
    names: set[str] = set()
    codes: set[str] = set()
    out: list[tuple[str, str]] = []
    counties = pop.counties
    for _ in range(count):
        county = counties[int(rand() * len(counties))]
        while True:
            if rand() < 0.5:
                place = _root(pop.city_name.get(county.code[:4], county.name))
            else:
                place = _root(county.name)
            firm = "".join(_FIRM_CHARS[int(rand() * len(_FIRM_CHARS))] for _ in range(2))
            name = place + firm + _FIRM_SUFFIXES[int(rand() * len(_FIRM_SUFFIXES))]
            if name not in names:
                break
        names.add(name)
        while True:
            org = f"{int(rand() * 100_000_000):08d}"
            code17 = "91" + county.code + org + _organisation_check(org)
            if code17 not in codes:
                break
        codes.add(code17)
        out.append((name, code17 + _uscc_check(code17)))
    return out


def _party_org(pop: _Population, p: int, employer: tuple[str, str] | None) -> str:
    rand = pop.rng.random
    county = pop.county_of[p]
    if employer is not None and rand() < 0.3:
        return f"中共{employer[0]}支部委员会"
    if rand() < 0.5:
        return f"中共{county.name}道路运输行业流动党员党支部"
    chars = _PLACE_CHARS
    village = chars[int(rand() * len(chars))] + chars[int(rand() * len(chars))]
    return f"中共{county.name}{village}村支部委员会"
