"""Reading the files of recognition: nominations, reviewers' scores and visit outcomes.

CSV in any usual encoding, XLSX/XLS/ODS (``chelun.sources.readers``). Headers are matched
without case; each column also answers to its usual Chinese header. A row that cannot be read
comes back with its problem; no message quotes a cell (a nominee may be an ID number).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from chelun.sources.readers import SourceReadError, open_table

NOMINATION_COLUMNS: dict[str, tuple[str, ...]] = {
    "nominee": ("nominee", "被推荐人", "被推荐对象", "推荐对象"),
    "unit": ("unit", "推荐单位"),
    "reason": ("reason", "推荐理由", "主要事迹"),
}
SCORE_COLUMNS: dict[str, tuple[str, ...]] = {
    "nominee": ("nominee", "被推荐人", "被推荐对象", "推荐对象"),
    "criterion": ("criterion", "评分项"),
    "reviewer": ("reviewer", "评审人", "评委"),
    "score": ("score", "得分", "分数"),
}
VISIT_COLUMNS: dict[str, tuple[str, ...]] = {
    "driver": ("driver", "司机编码"),
    "period": ("period", "期间"),
    "outcome": ("outcome", "结果"),
    "visited_on": ("visited_on", "走访日期"),
    "note": ("note", "备注"),
}
REQUIRED = {
    "nominations": ("nominee", "unit"),
    "scores": ("nominee", "criterion", "reviewer", "score"),
    "visits": ("driver", "period", "outcome"),
}


@dataclass(frozen=True)
class FileRow:
    """One row: its number as a clerk sees it, its cells by column, or what is wrong."""

    row: int
    cells: dict[str, str]
    problem: str | None = None


def read_rows(path: Path, what: str) -> Iterator[FileRow]:
    """Every row of a ``what`` file (nominations, scores or visits); raises
    ``SourceReadError`` for a file without the columns it needs."""
    columns = {
        "nominations": NOMINATION_COLUMNS,
        "scores": SCORE_COLUMNS,
        "visits": VISIT_COLUMNS,
    }[what]
    with open_table(path) as table:
        headers = [header.strip().lower() for header in table.headers]
        found: dict[str, int] = {}
        for column, names in columns.items():
            for name in names:
                if name in headers:
                    found[column] = headers.index(name)
                    break
        missing = [column for column in REQUIRED[what] if column not in found]
        if missing:
            raise SourceReadError(
                path,
                f"no column {', '.join(missing)}: a {what} file has the columns "
                f"{', '.join(columns)} (docs/recognition.md)",
            )
        for row in table.rows():
            if row.cells is None:
                yield FileRow(row.number, {}, row.problem or "unreadable row")
                continue
            cells = {
                column: (row.cells[index] if index < len(row.cells) else "").strip()
                for column, index in found.items()
            }
            if not any(cells.values()):
                continue
            yield FileRow(row.number, cells)
