"""The report's charts as PNG: the resolution rate by month, grievances by category, the intake
and verification funnel, claims by outcome.

Drawn with matplotlib's Agg renderer on ``Figure`` objects (no pyplot, no display, no global
figure state), imported when the first chart is drawn so that ``chelun --help`` stays fast.
Chinese needs a font that has it, and a bare machine has none: the charts use Noto Sans SC from
the package ``pylopdf-fonts-zh-cn`` (SIL Open Font License 1.1), registered with matplotlib's
font manager at chart time; failing that, a CJK font installed on the machine (Noto Sans CJK,
Source Han Sans, WenQuanYi); failing that, English labels only, and ``chart_font`` says so.
Labels are Chinese with English beside them; every bar carries its number, and every rate its
part and denominator.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from chelun.ops.report import Report

#: The package that ships the font, and the font's file in it.
FONT_PACKAGE = "pylopdf_fonts_zh_cn"
FONT_FILE = "NotoSansSC-Regular.otf"
#: CJK font families a machine may have installed, tried when the package is missing.
SYSTEM_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
)
#: Pixels per inch of the PNG files: a 10-inch-wide chart is 1,200 pixels wide.
DPI = 120
#: The chart files, in the order they are drawn.
CHARTS = (
    "grievance_resolution_rate.png",
    "grievances_by_category.png",
    "intake_funnel.png",
    "claims_by_outcome.png",
)
GREEN, ORANGE, GREY, BLUE, RED = "#2e7d32", "#ef6c00", "#9e9e9e", "#1565c0", "#c62828"
SLATE, LIGHT_GREY = "#37474f", "#bdbdbd"
STAGE_COLOURS = ("#1565c0", "#42a5f5", "#90caf9")


@dataclass(frozen=True)
class ChartFont:
    """The font family the charts' text is set in, and whether it has Chinese."""

    family: str | None
    source: str

    @property
    def chinese(self) -> bool:
        return self.family is not None


@cache
def chart_font() -> ChartFont:
    """The CJK font for the charts, registered with matplotlib's font manager (once per
    process): the packaged Noto Sans SC, else a CJK family installed on the machine, else none
    (``ChartFont(None, why)``: the charts are then in English)."""
    from matplotlib import font_manager

    if importlib.util.find_spec(FONT_PACKAGE) is not None:
        packaged = resources.files(FONT_PACKAGE).joinpath(FONT_FILE)
        if packaged.is_file():
            path = str(packaged)
            font_manager.fontManager.addfont(path)
            name = font_manager.FontProperties(fname=path).get_name()
            return ChartFont(name, f"{FONT_FILE} from the package {FONT_PACKAGE}")
    for family in SYSTEM_FAMILIES:
        try:
            font_manager.findfont(
                font_manager.FontProperties(family=family), fallback_to_default=False
            )
        except ValueError:
            continue
        return ChartFont(family, "installed on this machine")
    return ChartFont(
        None,
        "no font with Chinese found: install pylopdf-fonts-zh-cn (or fonts-noto-cjk); the "
        "charts are labelled in English",
    )


@dataclass(frozen=True)
class Words:
    """Labels in Chinese with English beside them, or in English alone when no font has
    Chinese."""

    chinese: bool

    def __call__(self, zh: str, en: str, sep: str = " ") -> str:
        return f"{zh}{sep}{en}" if self.chinese else en


@contextmanager
def _style(font: ChartFont) -> Iterator[None]:
    """matplotlib's settings for the charts, for the time they are drawn and saved only."""
    import matplotlib

    families = [font.family, "DejaVu Sans"] if font.family else ["DejaVu Sans"]
    with matplotlib.rc_context(
        {
            "font.family": families,
            "font.size": 11,
            "axes.titlesize": 12,
            "axes.labelsize": 11,
            "figure.titlesize": 15,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.unicode_minus": False,
            "svg.fonttype": "none",
        }
    ):
        yield


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _heading(figure: Figure, report: Report, words: Words, zh: str, en: str) -> None:
    """The chart's title, then the province and the period."""
    code = report.province
    where = f"{report.province_name}（{code}）" if words.chinese else f"province {code}"
    when = words("全部时间", "all time") if report.period.everything else report.period.label
    figure.suptitle(f"{words(zh, en)}\n{where} · {when}")


def _counts(axes: Axes) -> None:
    """Whole numbers on the count axis, written out with thousands separators (no 1e6)."""
    from matplotlib.ticker import MaxNLocator, StrMethodFormatter

    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))


def _legend(figure: Figure, axes: Axes, title: str | None = None) -> None:
    """The legend below the chart, where it hides no bar and no label."""
    handles, labels = axes.get_legend_handles_labels()
    figure.legend(
        handles,
        labels,
        title=title,
        loc="outside lower center",
        ncols=len(handles),
        frameon=False,
        fontsize=10,
    )


def _nothing(axes: Axes, text: str) -> None:
    axes.text(0.5, 0.5, text, ha="center", va="center", fontsize=14, color=GREY)
    axes.set_axis_off()


def _rate(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "–"


def resolution_chart(report: Report, words: Words) -> Figure:
    """The resolution rate (办结率) of the grievances received each month, each bar labelled
    with its rate and resolved / accepted, beside the pilot's 94%."""
    from matplotlib.ticker import PercentFormatter

    from chelun.grievance.stats import UNKNOWN
    from chelun.ops.report import PILOT_RESOLUTION_RATE

    months = sorted(month for month in report.months if month != UNKNOWN)
    # Up to a year, each bar's label is two lines across; beyond, one line up the bar, on a
    # chart at most 16 inches wide.
    long = len(months) > 12
    width = min(16.0, 0.45 * len(months) + 3) if long else max(9.0, 0.75 * len(months) + 3)
    figure = _figure(width, 7.0 if long else 6.4)
    axes = figure.add_subplot()
    _heading(
        figure, report, words, "诉求办结率（按收到月份）", "Grievance resolution rate by month"
    )
    if not months:
        _nothing(axes, words("本期没有诉求", "no grievances in this period", "\n"))
        return figure
    figures = [report.months[month] for month in months]
    rates = [f.resolved / f.accepted * 100 if f.accepted else 0.0 for f in figures]
    bars = axes.bar(range(len(months)), rates, color=BLUE, width=0.6)
    labels = axes.bar_label(
        bars,
        labels=[
            f"{_rate(f.resolved, f.accepted)}{' ' if long else chr(10)}"
            f"({f.resolved:,}/{f.accepted:,})"
            for f in figures
        ],
        padding=3,
        fontsize=8 if long else 10,
        rotation=90 if long else 0,
    )
    for label in labels:  # the pilot's line passes behind the labels, not through them
        label.set_bbox({"facecolor": "white", "edgecolor": "none", "pad": 0.5})
    pilot = PILOT_RESOLUTION_RATE * 100
    axes.axhline(
        pilot,
        color=GREY,
        linestyle="--",
        linewidth=1,
        label=words("试点办结率", "the pilot's resolution rate") + f" {pilot:.0f}%",
    )
    axes.set_xticks(
        range(len(months)), months, rotation=90 if long else 45 if len(months) > 8 else 0
    )
    axes.set_xlim(-0.6, len(months) - 0.4)
    axes.set_ylim(0, 150 if long else 122)
    axes.set_yticks(range(0, 101, 20))
    axes.yaxis.set_major_formatter(PercentFormatter(100))
    _legend(figure, axes)
    axes.set_xlabel(words("收到月份", "month received"))
    axes.set_ylabel(words("办结率", "resolution rate"))
    total = report.grievances
    axes.set_title(
        words("办结率 = 办结 ÷ 受理", "resolution rate = resolved ÷ accepted")
        + " · "
        + words("柱上标注：办结/受理", "bar labels: resolved/accepted")
        + "\n"
        + words("合计", "total")
        + f" {_rate(total.resolved, total.accepted)} ({total.resolved:,}/{total.accepted:,})",
        fontsize=10,
    )
    return figure


def category_chart(report: Report, words: Words) -> Figure:
    """The period's grievances by category, the most collected on top: resolved, still open
    and rejected or merged, with each category's count and resolution rate."""
    from chelun.ops.report import CATEGORY_LABELS

    order = sorted(report.categories.items(), key=lambda item: (-item[1].collected, item[0]))
    order = [(category, figures) for category, figures in order if figures.collected]
    figure = _figure(10.0, max(4.5, 0.62 * len(order) + 2.6))
    axes = figure.add_subplot()
    _heading(figure, report, words, "诉求类别", "Grievances by category")
    if not order:
        _nothing(axes, words("本期没有诉求", "no grievances in this period", "\n"))
        return figure
    names = [
        words(*CATEGORY_LABELS.get(category, (category, category)), sep="\n")
        for category, _ in order
    ]
    resolved = [figures.resolved for _, figures in order]
    open_ = [figures.accepted - figures.resolved for _, figures in order]
    dropped = [figures.rejected_or_merged for _, figures in order]
    rows = range(len(order))
    axes.barh(rows, resolved, color=GREEN, label=words("已办结", "resolved"))
    axes.barh(rows, open_, left=resolved, color=ORANGE, label=words("未办结", "open"))
    if any(dropped):
        axes.barh(
            rows,
            dropped,
            left=[a + b for a, b in zip(resolved, open_, strict=True)],
            color=GREY,
            label=words("驳回或合并", "rejected or merged"),
        )
    widest = max(figures.collected for _, figures in order)
    for row, (_, figures) in enumerate(order):
        axes.text(
            figures.collected + widest * 0.01,
            row,
            f"{figures.collected:,} · "
            + words("办结率", "resolved")
            + f" {_rate(figures.resolved, figures.accepted)}"
            f" ({figures.resolved:,}/{figures.accepted:,})",
            va="center",
            fontsize=10,
        )
    axes.set_yticks(rows, names)
    axes.invert_yaxis()
    axes.set_xlim(0, widest * 1.6)
    axes.set_xlabel(words("诉求件数", "grievances collected"))
    _counts(axes)
    _legend(figure, axes)
    return figure


def funnel_chart(report: Report, words: Words) -> Figure:
    """The intake and verification funnel: source records, drivers on the roster, drivers
    verified (by match, phone check, home visit), members, members in a branch, drivers
    paired; each with its count and its share of the drivers."""
    from chelun.ops.report import FUNNEL_STAGES, VERIFICATION_STAGES

    funnel = report.funnel()
    drivers = report.roster.drivers
    figure = _figure(10.0, 6.4)
    axes = figure.add_subplot()
    _heading(figure, report, words, "摸排与核实漏斗", "Intake and verification funnel")
    if not funnel["records"] and not drivers:
        _nothing(axes, words("名册为空", "the roster is empty", "\n"))
        return figure
    rows = range(len(FUNNEL_STAGES))
    for row, (stage, _, _) in enumerate(FUNNEL_STAGES):
        if stage != "verified":
            axes.barh(row, funnel[stage], color=LIGHT_GREY if stage == "records" else SLATE)
            continue
        left = 0
        for (how, zh, en), colour in zip(VERIFICATION_STAGES, STAGE_COLOURS, strict=True):
            count = report.verified(how)
            axes.barh(row, count, left=left, color=colour, label=words(zh, en))
            left += count
    widest = max(funnel.values()) or 1
    for row, (stage, _, _) in enumerate(FUNNEL_STAGES):
        text = f"{funnel[stage]:,}"
        if stage != "records" and drivers:
            share = _rate(funnel[stage], drivers)
            text += f" ({'占司机 ' if words.chinese else ''}{share} of drivers)"
        if stage == "verified":
            text += "\n" + " · ".join(
                f"{words(zh, how)} {report.verified(how):,}" for how, zh, _ in VERIFICATION_STAGES
            )
        axes.text(funnel[stage] + widest * 0.01, row, text, va="center", fontsize=10)
    axes.set_yticks(rows, [words(zh, en, "\n") for _, zh, en in FUNNEL_STAGES])
    axes.invert_yaxis()
    axes.set_xlim(0, widest * 1.45)
    axes.set_xlabel(words("人数（源数据为行数）", "drivers (records: rows)"))
    axes.set_title(
        words("名册截至", "roster as of") + f" {report.day}" + words("（不按期间筛选）", "", ""),
        fontsize=10,
    )
    _counts(axes)
    _legend(figure, axes, words("核实方式", "verified by"))
    return figure


def claims_chart(report: Report, words: Words) -> Figure:
    """The claims reported in the period by outcome: paid (with the amount), in progress,
    refused by reason, and the rows quarantined before they became claims."""
    from chelun.ops.report import REFUSAL_LABELS

    claims = report.claims
    bars: list[tuple[str, int, str, str]] = [
        (words("已赔付", "paid", "\n"), claims.paid, GREEN, f" · ¥{claims.amount_paid:,.2f}"),
        (words("处理中", "in progress", "\n"), claims.open, BLUE, ""),
    ]
    for code, count in sorted(claims.refused_by_reason.items(), key=lambda item: -item[1]):
        zh, en = REFUSAL_LABELS.get(code, (code, code))
        bars.append((words(f"拒赔：{zh}", f"refused: {en}", "\n"), count, RED, ""))
    if claims.quarantined:
        bars.append(
            (words("待补正（未立案）", "quarantined rows", "\n"), claims.quarantined, GREY, "")
        )
    figure = _figure(10.0, max(4.8, 0.6 * len(bars) + 2.6))
    axes = figure.add_subplot()
    _heading(figure, report, words, "理赔结果", "Claims by outcome")
    if not claims.reported and not claims.quarantined:
        _nothing(axes, words("本期没有理赔报案", "no claims reported in this period", "\n"))
        return figure
    rows = range(len(bars))
    axes.barh(rows, [count for _, count, _, _ in bars], color=[c for _, _, c, _ in bars])
    widest = max(count for _, count, _, _ in bars) or 1
    for row, (_, count, _, extra) in enumerate(bars):
        share = f" ({_rate(count, claims.reported)})" if claims.reported and row < 2 else ""
        axes.text(count + widest * 0.01, row, f"{count:,}{share}{extra}", va="center", fontsize=10)
    axes.set_yticks(rows, [label for label, _, _, _ in bars])
    axes.invert_yaxis()
    axes.set_xlim(0, widest * 1.6)
    axes.set_xlabel(words("件数", "claims"))
    _counts(axes)
    axes.set_title(
        words("报案", "reported")
        + f" {claims.reported:,} · "
        + words("赔付", "paid")
        + f" {_rate(claims.paid, claims.reported)} ({claims.paid:,}/{claims.reported:,}) · "
        + words("拒赔", "refused")
        + f" {_rate(claims.refused, claims.reported)} ({claims.refused:,}/{claims.reported:,})"
        + "\n"
        + words("赔付金额", "amount paid")
        + f" ¥{claims.amount_paid:,.2f}",
        fontsize=10,
    )
    return figure


def draw_charts(report: Report, folder: Path) -> list[Path]:
    """Draw the report's charts as PNG files in ``folder``; the files, in ``CHARTS`` order."""
    font = chart_font()
    words = Words(font.chinese)
    drawers = (resolution_chart, category_chart, funnel_chart, claims_chart)
    written = []
    with _style(font):
        for name, draw in zip(CHARTS, drawers, strict=True):
            path = folder / name
            draw(report, words).savefig(path, format="png", dpi=DPI)
            written.append(path)
    return written
