"""Table.clean_lines: a clean text file's lines after the header, read whole; exactly the
records rows() reads from the same file, or None where rows() must do the reading."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chelun.sources import readers
from chelun.sources.readers import SourceReadError, open_table


def _records_of(lines: list[str], delimiter: str, width: int) -> tuple[list, int]:
    """What rows() promises, written plainly: a record per line, numbered from the header on;
    cells stripped; blank records skipped but counted; short rows padded, empty cells past the
    header's width dropped."""
    rows, blank = [], 0
    for number, line in enumerate(lines, 1):
        cells = [cell.strip() for cell in line.split(delimiter)]
        if not any(cells):
            blank += 1
            continue
        if len(cells) < width:
            cells += [""] * (width - len(cells))
        while len(cells) > width and not cells[-1]:
            cells.pop()
        rows.append((number, cells, None))
    return rows, blank


def _both(path: Path) -> tuple[list | None, list, int, list[str]]:
    with open_table(path) as table:
        lines = table.clean_lines()
        delimiter, width = table.delimiter, len(table.headers)
        headers = table.headers
    with open_table(path) as table:
        rows = [tuple(row) for row in table.rows()]
        blank = table.blank_rows
        assert table.headers == headers
    if lines is None:
        return None, rows, blank, headers
    expected, expected_blank = _records_of(lines.to_list(), delimiter, width)
    assert [(n, c, p) for n, c, p in rows] == expected
    assert blank == expected_blank
    return lines.to_list(), rows, blank, headers


HEADER = "姓名,身份证号,手机号,车牌号"


def _write(tmp_path: Path, text: str, encoding: str = "utf-8", name: str = "f.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_a_clean_file_is_read_whole(tmp_path: Path) -> None:
    text = HEADER + "\r\n张伟,110101199001011237,13800138000,京A12345\r\n\r\n 李娜 ,,,\r\n"
    lines, rows, blank, _ = _both(_write(tmp_path, text, "gb18030"))
    assert lines == ["张伟,110101199001011237,13800138000,京A12345", "", " 李娜 ,,,"]
    assert [row[0] for row in rows] == [1, 3] and blank == 1


@pytest.mark.parametrize(
    "text",
    [
        HEADER + '\n"张伟",1,2,3\n',  # a quote anywhere
        HEADER + "\n张伟\x00,1,2,3\n",  # NUL
        HEADER + "\n张伟\x0b,1,2,3\n",  # an odd line break
        HEADER + "\n张伟\u2028,1,2,3\n",
        HEADER + "\n张\ufeff伟,1,2,3\n",  # a BOM inside: a concatenated file
        HEADER + "\n张伟,1,2,3\r李娜,4,5,6\n",  # CR alone
        "XX市货车司机名单\n" + HEADER + "\n张伟,1,2,3\n",  # a title row
        HEADER + "\n" + "张" * 70_000 + ",1,2,3\n",  # a line longer than FIELD_LIMIT
    ],
    ids=["quote", "nul", "vt", "ls", "bom", "cr", "title", "long"],
)
def test_what_rows_must_read_is_left_to_it(tmp_path: Path, text: str) -> None:
    lines, _, _, _ = _both(_write(tmp_path, text))
    assert lines is None


def test_mixed_encodings_are_left_to_rows(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes((HEADER + "\n张伟,1,2,3\n").encode() + "李娜,4,5,6\n".encode("gbk"))
    lines, rows, _, _ = _both(path)
    assert lines is None and len(rows) == 2


def test_blank_lines_before_the_header_and_a_missing_last_newline(tmp_path: Path) -> None:
    lines, rows, blank, headers = _both(_write(tmp_path, "\n ,, \n" + HEADER + "\n张伟,1,2,3"))
    assert lines == ["张伟,1,2,3"] and headers[0] == "姓名" and len(rows) == 1


def test_a_header_alone_has_no_lines(tmp_path: Path) -> None:
    for text in (HEADER, HEADER + "\n"):
        lines, rows, blank, _ = _both(_write(tmp_path, text))
        assert lines == [] and rows == [] and blank == 0
    lines, rows, blank, _ = _both(_write(tmp_path, HEADER + "\n\n"))
    assert lines == [""] and rows == [] and blank == 1


def test_rows_cannot_follow_clean_lines(tmp_path: Path) -> None:
    with open_table(_write(tmp_path, HEADER + "\n张伟,1,2,3\n")) as table:
        assert table.clean_lines() is not None
        with pytest.raises((RuntimeError, ValueError)):
            list(table.rows())


def test_spreadsheets_are_not_text(tmp_path: Path) -> None:
    import xlsxwriter

    path = tmp_path / "f.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    for r, row in enumerate([HEADER.split(","), ["张伟", "1", "2", "3"]]):
        sheet.write_row(r, 0, row)
    book.close()
    with open_table(path) as table:
        assert table.clean_lines() is None
        assert len(list(table.rows())) == 1


_CELL = st.text(
    alphabet=st.sampled_from(
        list("张伟李娜0123456789Xx ,;\t|\"'-·") + ["\u3000", "\xa0", "\x1c", "\u2003", "\\"]
    ),
    max_size=6,
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(st.lists(_CELL, min_size=0, max_size=6), max_size=12),
    delimiter=st.sampled_from([",", "\t", ";", "|"]),
    ending=st.sampled_from(["\n", "\r\n"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]),
    last_newline=st.booleans(),
    block=st.sampled_from([16 << 20, 40, 97]),
)
def test_clean_lines_reads_what_rows_reads(
    tmp_path: Path,
    rows: list[list[str]],
    delimiter: str,
    ending: str,
    encoding: str,
    last_newline: bool,
    block: int,
) -> None:
    header = delimiter.join(["姓名", "身份证号", "手机号", "车牌号"])
    text = ending.join([header, *(delimiter.join(cells) for cells in rows)])
    if last_newline:
        text += ending
    try:
        path = _write(tmp_path, text, encoding)
    except UnicodeEncodeError:
        return
    # Small blocks: lines are decoded a block at a time, cut after a line end.
    saved, readers._CLEAN_BLOCK = readers._CLEAN_BLOCK, block
    try:
        lines, _, _, _ = _both(path)
    except SourceReadError:
        return
    finally:
        readers._CLEAN_BLOCK = saved
    if lines is not None:  # and they are the file's lines after the header, as written
        written = text.split(ending)[1:]
        assert lines == (written[:-1] if text.endswith(ending) else written)


def test_a_file_read_in_small_blocks_gives_the_same_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [
        f"张伟{i},1101011990010112{i % 10}{i % 7},138001380{i:02d},京A123{i:02d}" for i in range(60)
    ]
    path = _write(tmp_path, "\r\n".join([HEADER, *rows, "", " , , , "]) + "\r\n", "gb18030")
    whole, _, _, _ = _both(path)
    monkeypatch.setattr(readers, "_CLEAN_BLOCK", 100)
    blocks, _, _, _ = _both(path)
    assert whole == blocks and len(whole) == 62
    monkeypatch.setattr(readers, "_CLEAN_BLOCK", 10)  # shorter than a line: rows() reads it
    assert _both(path)[0] is None


def test_too_many_lines_are_left_to_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, HEADER + "\n" + "张伟,1,2,3\n" * 50)
    monkeypatch.setattr(readers, "CLEAN_LINES_LIMIT", 50)
    assert _both(path)[0] is None
    monkeypatch.setattr(readers, "CLEAN_LINES_LIMIT", 51)
    assert len(_both(path)[0]) == 50


def test_the_demo_files_are_clean(tmp_path: Path) -> None:
    from chelun.demo.roster import generate_province

    sources = generate_province(tmp_path, "52", 400, seed=3, spreadsheet=False)
    for source in sources:
        lines, rows, _, _ = _both(source.path)
        assert lines is not None, source.name
        assert rows
