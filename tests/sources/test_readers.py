"""Reading roster files as departments send them: real files written into tmp_path."""

from __future__ import annotations

import csv
import datetime as dt
import io
import pickle
import random
import struct
import tempfile
import zipfile
from pathlib import Path
from unittest import mock

import openpyxl
import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chelun.sources import readers
from chelun.sources.readers import FIELD_LIMIT, Row, SourceReadError, Table, open_table

HEADERS = ["姓名", "身份证号", "手机号", "车牌号", "所属企业"]
DRIVERS = [
    ["张三", "110101199003071234", "13800138000", "京A12345", "北京顺达物流有限公司"],
    ["李四", "31010419851231002X", "13912345678", "沪B67890", "上海远航运输有限公司"],
    ["王小明", "440305198807150016", "15088886666", "粤B0C123", "深圳市鹏程货运有限公司"],
    ["欧阳娜娜", "510107199212300047", "18611112222", "川A9X876", "成都蜀道汽运集团"],
]
PERSONAL = [v for row in DRIVERS for v in row]


def write_csv(
    path: Path,
    rows: list[list[str]],
    encoding: str = "utf-8",
    delimiter: str = ",",
    newline: str = "\r\n",
) -> Path:
    with open(path, "w", encoding=encoding, newline="") as f:
        csv.writer(f, delimiter=delimiter, lineterminator=newline).writerows(rows)
    return path


def encode_csv(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows(rows)
    return text.getvalue().encode(encoding)


def read(path: Path) -> tuple[Table, list[Row]]:
    with open_table(path) as table:
        rows = list(table.rows())
    return table, rows


def numbered(rows: list[list[str]], start: int = 1) -> list[Row]:
    return [Row(i, cells, None) for i, cells in enumerate(rows, start)]


def assert_private(text: str, values: list[str] = PERSONAL) -> None:
    """No cell value (of two characters or more) shows up in text."""
    leaked = [v for v in values if len(v) >= 2 and v in text]
    assert not leaked, f"{text!r} leaks {leaked!r}"


def read_error(path: Path, values: list[str] = PERSONAL) -> str:
    with pytest.raises(SourceReadError) as info:
        read(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert info.value.path == path
    assert_private(message, values)
    return message


# ---------------------------------------------------------------- text encodings


@pytest.mark.parametrize(
    ("encoding", "label"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gb18030", "gb18030"), ("gbk", "gb18030")],
)
def test_csv_in_each_encoding_people_save(tmp_path: Path, encoding: str, label: str) -> None:
    path = write_csv(tmp_path / "名单.csv", [HEADERS, *DRIVERS], encoding)
    table, rows = read(path)
    assert (table.format, table.encoding, table.delimiter) == ("csv", label, ",")
    assert table.headers == HEADERS
    assert rows == numbered(DRIVERS)
    assert table.blank_rows == 0


def test_gb18030_four_byte_characters(tmp_path: Path) -> None:
    # 䶮 and 𠀀 are outside GBK; GB18030 encodes them in four bytes.
    people = [["刘䶮", "110101199003071234"], ["𠀀华", "11010119900307123X"]]
    path = write_csv(tmp_path / "a.csv", [["姓名", "身份证号"], *people], "gb18030")
    table, rows = read(path)
    assert table.encoding == "gb18030"
    assert rows == numbered(people)


@pytest.mark.parametrize(
    ("bom", "codec", "label"),
    [
        (b"\xff\xfe", "utf-16-le", "utf-16"),
        (b"\xfe\xff", "utf-16-be", "utf-16"),
        (b"\xff\xfe\x00\x00", "utf-32-le", "utf-32"),
    ],
)
def test_excel_unicode_text(tmp_path: Path, bom: bytes, codec: str, label: str) -> None:
    # Excel's "Unicode text": UTF-16 LE with a BOM, tab-separated, CRLF.
    text = "\r\n".join("\t".join(row) for row in [HEADERS, *DRIVERS]) + "\r\n"
    path = tmp_path / "名单.txt"
    path.write_bytes(bom + text.encode(codec))
    table, rows = read(path)
    assert (table.format, table.encoding, table.delimiter) == ("csv", label, "\t")
    assert table.headers == HEADERS
    assert rows == numbered(DRIVERS)


@pytest.mark.parametrize("delimiter", [";", "|", "\t"])
def test_other_delimiters(tmp_path: Path, delimiter: str) -> None:
    # A comma inside a cell must not win the sniffing.
    people = [[*row[:4], row[4] + ",分公司"] for row in DRIVERS]
    path = write_csv(tmp_path / "a.csv", [HEADERS, *people], delimiter=delimiter)
    table, rows = read(path)
    assert table.delimiter == delimiter
    assert rows == numbered(people)


def test_old_mac_line_ends(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [HEADERS, *DRIVERS], newline="\r")
    assert read(path)[1] == numbered(DRIVERS)


# ------------------------------------------------------------------ row handling


def test_quoted_newline_keeps_numbering(tmp_path: Path) -> None:
    people = [
        ["张三", "110101199003071234", "备注第一行\n备注第二行"],
        ["李四", "31010419851231002X", "无"],
    ]
    path = write_csv(tmp_path / "a.csv", [["姓名", "身份证号", "备注"], *people])
    table, rows = read(path)
    assert rows == numbered(people)


def test_ragged_rows(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(
        "姓名,身份证号,手机号\n"
        "张三,110101199003071234,13800138000,多出来的,\n"  # extra cells kept, empty tail dropped
        "李四,31010419851231002X\n"  # missing cells padded
        "王小明\n",
        encoding="utf-8",
    )
    _, rows = read(path)
    assert rows == numbered(
        [
            ["张三", "110101199003071234", "13800138000", "多出来的"],
            ["李四", "31010419851231002X", ""],
            ["王小明", "", ""],
        ]
    )


def test_blank_rows_are_counted_not_yielded(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("姓名,身份证号\n张三,1\n\n  \n,,\n李四,2\n\n", encoding="utf-8")
    table, rows = read(path)
    assert rows == [Row(1, ["张三", "1"], None), Row(5, ["李四", "2"], None)]
    assert table.blank_rows == 4


def test_cells_and_headers_are_cleaned(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(
        "\ufeff 姓　　名 ,\u3000身份证号\u3000,\n 张三\u3000, 110101199003071234 \n".encode()
    )
    table, rows = read(path)
    assert table.headers == ["姓名", "身份证号"]
    assert rows == numbered([["张三", "110101199003071234"]])


def test_title_rows_above_the_header_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(
        "XX市重点货车司机名单,,,\n填报日期：2024年3月,,,\n\n"
        "姓名,身份证号,手机号\n张三,110101199003071234,13800138000\n",
        encoding="gb18030",
    )
    table, rows = read(path)
    assert table.headers == ["姓名", "身份证号", "手机号"]
    assert rows == numbered([["张三", "110101199003071234", "13800138000"]])


def test_single_column_file_keeps_its_header(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("身份证号\n110101199003071234\n\n31010419851231002X\n", encoding="utf-8")
    table, rows = read(path)
    assert table.headers == ["身份证号"]
    assert rows == [Row(1, ["110101199003071234"], None), Row(3, ["31010419851231002X"], None)]
    assert table.blank_rows == 1


def test_header_only_file_has_no_rows(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [HEADERS])
    table, rows = read(path)
    assert table.headers == HEADERS
    assert rows == []


def test_rows_can_be_read_once_and_not_after_close(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [HEADERS, *DRIVERS])
    with open_table(path) as table:
        assert len(list(table.rows())) == len(DRIVERS)
        with pytest.raises(RuntimeError):
            table.rows()
    assert table._file is None
    with open_table(path) as table:
        pass
    with pytest.raises(ValueError):
        table.rows()


# ------------------------------------------------------------- damaged text rows


def test_gbk_line_inside_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(
        encode_csv([HEADERS, DRIVERS[0]])
        + encode_csv([DRIVERS[1]], "gbk")
        + encode_csv(DRIVERS[2:])
    )
    table, rows = read(path)
    assert table.encoding == "utf-8"
    assert rows == numbered(DRIVERS)


def test_utf8_line_inside_gbk_file(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(encode_csv([HEADERS, *DRIVERS[:3]], "gbk") + encode_csv(DRIVERS[3:], "utf-8"))
    table, rows = read(path)
    assert table.encoding == "gb18030"
    assert rows == numbered(DRIVERS)


def test_concatenated_exports_across_many_chunks(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Small chunks put chunk ends inside quoted cells and mix fast and slow chunks.
    monkeypatch.setattr(readers, "_BLOCK", 4096)
    people = [
        [f"司机{i}号", f"{110101199000000000 + i}", "夜班\n白班" if i % 7 == 0 else "白班"]
        for i in range(3000)
    ]
    # Padded cells appear only in the middle part, so stripping must switch on and off.
    padded = [[f"  {a}\u3000", f" {b} ", c] for a, b, c in people[1000:2000]]
    path = tmp_path / "a.csv"
    path.write_bytes(
        encode_csv([["姓名", "身份证号", "班次"], *people[:1000]], "utf-8-sig")
        + encode_csv(padded, "gbk")
        + encode_csv(people[2000:], "utf-8-sig")  # a second export, BOM and all
    )
    table, rows = read(path)
    assert table.encoding == "utf-8-sig"
    assert rows == numbered(people)


def test_line_undecodable_in_both_encodings(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(
        encode_csv([HEADERS, DRIVERS[0]])
        + "李四,".encode()
        + b"\xff\xfe\x80"
        + b",13912345678\r\n"
        + encode_csv(DRIVERS[2:])
    )
    _, rows = read(path)
    assert rows[0] == Row(1, DRIVERS[0], None)
    assert rows[1] == Row(2, None, "undecodable bytes at byte 8 of the row")
    assert rows[2:] == numbered(DRIVERS[2:], 3)


def test_huge_cell(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(
        encode_csv([HEADERS, DRIVERS[0]])
        + "李四,31010419851231002X,".encode()
        + b"9" * (FIELD_LIMIT + 1)
        + b"\r\n"
        + "王小明,440305198807150016,".encode()
        + b"8" * FIELD_LIMIT  # exactly at the limit is fine
        + b"\r\n"
        + encode_csv(DRIVERS[3:])
    )
    _, rows = read(path)
    assert [r.number for r in rows] == [1, 2, 3, 4]
    assert rows[1] == Row(2, None, f"cell in column 3 is longer than {FIELD_LIMIT} characters")
    assert rows[2].cells is not None and len(rows[2].cells[2]) == FIELD_LIMIT
    assert rows[3] == Row(4, DRIVERS[3], None)


def test_nul_byte_in_a_row(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(
        encode_csv([HEADERS, DRIVERS[0]])
        + "李四,3101\x0004198512,13912345678\r\n".encode()
        + encode_csv(DRIVERS[2:])
    )
    _, rows = read(path)
    assert rows[1] == Row(2, None, "a NUL byte at byte 12 of the row")
    assert rows[2:] == numbered(DRIVERS[2:], 3)
    assert_private(rows[1].problem or "")


def test_bad_line_inside_quoted_cell_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(
        '姓名,备注\r\n张三,"第一行\r\n'.encode() + b"\xff\r\n" + '第三行"\r\n李四,无\r\n'.encode()
    )
    _, rows = read(path)
    # The broken record costs its first line; reading goes on from its second line, so the
    # damaged line is a problem row of its own and no line is lost or read twice.
    assert rows == [
        Row(1, None, "undecodable bytes at byte 1 of line 2 of the row"),
        Row(2, None, "undecodable bytes at byte 1 of the row"),
        Row(3, ['第三行"', ""], None),
        Row(4, ["李四", "无"], None),
    ]


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_sample_ends_inside_a_character(tmp_path: Path, encoding: str) -> None:
    # Encoding detection reads the first MiB; its last byte is the first of a 张.
    head = "姓名,备注\r\n".encode(encoding)
    filler = [["张三", "x" * 990]] * ((readers._SAMPLE - len(head)) // 1000)
    body = head + encode_csv(filler, encoding)
    padding = readers._SAMPLE - 1 - len(body) - len("李四,\r\n".encode(encoding))
    body += f"李四,{'y' * padding}\r\n".encode(encoding)
    assert len(body) == readers._SAMPLE - 1
    path = tmp_path / "a.csv"
    path.write_bytes(body + "张三,z\r\n".encode(encoding))
    table, rows = read(path)
    assert table.encoding == encoding
    assert rows[-1] == Row(len(filler) + 2, ["张三", "z"], None)
    assert all(r.problem is None for r in rows)


def test_utf16_problem_rows(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(
        b"\xff\xfe"
        + "姓名\t身份证号\r\n张三\t110101199003071234\r\n".encode("utf-16-le")
        + b"\x00\xd8\n\x00"  # a lone surrogate
        + "李\x00四\t31010419851231002X\r\n".encode("utf-16-le")
        + "王小明\t440305198807150016\r\n".encode("utf-16-le")
        + b"A"  # half a character at the end
    )
    _, rows = read(path)
    assert rows == [
        Row(1, ["张三", "110101199003071234"], None),
        Row(2, None, "undecodable bytes at byte 1 of the row"),
        Row(3, None, "a NUL byte at byte 3 of the row"),
        Row(4, ["王小明", "440305198807150016"], None),
        Row(5, None, "undecodable bytes at byte 1 of the row"),
    ]


def test_overlong_line_is_skipped(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(readers, "_BLOCK", 1000)
    monkeypatch.setattr(readers, "_LINE_LIMIT", 5000)
    path = tmp_path / "a.csv"
    path.write_bytes(
        encode_csv([HEADERS, DRIVERS[0]]) + b"x" * 20000 + b"\r\n" + encode_csv(DRIVERS[1:])
    )
    _, rows = read(path)
    assert rows[1] == Row(2, None, "the row is longer than 5000 bytes")
    assert rows[2:] == numbered(DRIVERS[1:], 3)


# -------------------------------------------------------------- broken quoting


def drivers_text(count: int) -> list[str]:
    return ["姓名,身份证号,手机号"] + [
        f"司机{i},{110101199000000000 + i},1380000{i:04d}" for i in range(count)
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    count=st.integers(1, 400),
    data=st.data(),
    block=st.sampled_from([64, 700, 4096, 1 << 20]),
    encoding=st.sampled_from(["utf-8", "gb18030", "utf-16"]),
)
def test_a_stray_quote_costs_its_own_row_only(
    count: int, data: st.DataObject, block: int, encoding: str
) -> None:
    # Chunk ends fall anywhere in the runaway cell; it may run to the end of the file.
    lines = drivers_text(count)
    at = data.draw(st.integers(1, count), label="line")
    field = data.draw(st.integers(0, 2), label="field")
    cells = lines[at].split(",")
    cells[field] = '"' + cells[field]
    lines[at] = ",".join(cells)
    ending = data.draw(st.sampled_from(["\n", "\r\n", ""]), label="last line end")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "a.csv"
        path.write_bytes(("\r\n".join(lines) + ending).encode(encoding))
        with mock.patch.object(readers, "_BLOCK", block):
            _, rows = read(path)
    expected = [Row(i, line.split(","), None) for i, line in enumerate(lines[1:], 1) if i != at]
    assert [r for r in rows if r.problem is None] == expected
    [broken] = [r for r in rows if r.problem is not None]
    assert broken.number == at and "stray" in broken.problem
    assert_private(broken.problem, [f"司机{at - 1}"])


@pytest.mark.parametrize("block", [64, 4096, 1 << 20])
def test_a_stray_quote_meeting_a_quoted_cell_below(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, block: int
) -> None:
    # The stray quote pairs with the quote opening a cell 60 rows down; the quote closing
    # that cell is then in the middle of a cell: not how any CSV writer writes.
    monkeypatch.setattr(readers, "_BLOCK", block)
    lines = drivers_text(100)
    lines[5] = '"' + lines[5]
    name, rest = lines[65].split(",", 1)
    lines[65] = f'"{name}",{rest}'
    path = tmp_path / "a.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _, rows = read(path)
    assert [r.number for r in rows if r.problem] == [5]
    assert "closes in the middle of a cell" in (rows[4].problem or "")
    expected = [
        Row(i, line.replace('"', "").split(","), None) for i, line in enumerate(lines[1:], 1)
    ]
    assert [r for r in rows if r.problem is None] == expected[:4] + expected[5:]


def test_cells_of_many_lines_holding_the_delimiter(tmp_path: Path) -> None:
    # What a CSV writer writes is read back exactly, however many lines its cells run over.
    people = [["张三", ",\r" * 100 + "x", "a,b\n" * 400 + "c"], ["李四", '"', '",\n"' * 300]]
    path = write_csv(tmp_path / "a.csv", [["姓名", "备注", "说明"], *people])
    assert read(path)[1] == numbered(people)


def test_a_quoted_cell_within_the_bounds_is_one_cell(tmp_path: Path) -> None:
    # Lines that look like rows, and 60,000 characters over 2,000 lines: still a cell.
    rows_like = "\n".join(f"{i},{i}" for i in range(500))
    prose = "\n".join("说明" * 15 for _ in range(2000))
    people = [["张三", "110101199003071234", rows_like], ["李四", "31010419851231002X", prose]]
    path = write_csv(tmp_path / "a.csv", [["姓名", "身份证号", "备注"], *people])
    assert read(path)[1] == numbered(people)


def test_a_one_column_file_counts_every_line(tmp_path: Path) -> None:
    ids = [f"{110101199000000000 + i}" for i in range(120)]
    lines = ["身份证号", *ids]
    lines[3] = '"' + lines[3]
    path = tmp_path / "a.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _, rows = read(path)
    assert [r.number for r in rows if r.problem] == [3]
    assert [r.cells for r in rows if r.cells] == [[i] for n, i in enumerate(ids, 1) if n != 3]


def test_a_stray_quote_in_the_header(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text('"姓名,身份证号\n张三,110101199003071234\n', encoding="utf-8")
    assert "header row cannot be read: a quoted cell" in read_error(path)


def test_other_single_byte_encoding_is_guessed(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes("Name,City\nJosé,Besançon\nFrançois,Orléans\n".encode("latin-1"))
    table, rows = read(path)
    assert table.encoding not in ("utf-8", "gb18030")
    assert rows == numbered([["José", "Besançon"], ["François", "Orléans"]])


def test_strip_shortcut_knows_every_space() -> None:
    spaces = {c for c in map(chr, range(0x110000)) if c.isspace()} - {"\r", "\n"}
    assert set(readers._SPACES) == spaces


def test_source_read_error_survives_pickling(tmp_path: Path) -> None:
    error = SourceReadError(tmp_path / "a.csv", "the file is empty")
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.path, copy.reason) == (str(error), error.path, error.reason)


# ------------------------------------------------------------------ spreadsheets


def test_xlsx_from_xlsxwriter(tmp_path: Path) -> None:
    path = tmp_path / "名单.xlsx"
    workbook = xlsxwriter.Workbook(path)
    sheet = workbook.add_worksheet("司机")
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, [*HEADERS, "发证日期", "载重吨"])
    for r, person in enumerate(DRIVERS, 1):
        for c, value in enumerate(person):
            sheet.write_string(r, c, value)  # IDs and phones stored as text
    sheet.write_datetime(1, 5, dt.datetime(2020, 5, 17), date_format)
    sheet.write_number(1, 6, 12.5)
    sheet.write_number(3, 1, 440305198807150016)  # an ID typed in as a number
    sheet.write_string(2, 0, "  李四\u3000")
    workbook.close()
    table, rows = read(path)
    assert (table.format, table.encoding, table.delimiter) == ("xlsx", None, None)
    assert table.headers == [*HEADERS, "发证日期", "载重吨"]
    assert rows[0] == Row(1, [*DRIVERS[0], "2020-05-17", "12.5"], None)
    assert rows[1] == Row(2, [*DRIVERS[1], "", ""], None)
    # The number has already lost its last digits; normalisation flags it.
    assert rows[2].cells is not None
    assert rows[2].cells[1] == str(int(float(440305198807150016)))
    assert [r.number for r in rows] == [1, 2, 3, 4]


def test_xlsx_from_openpyxl(tmp_path: Path) -> None:
    path = tmp_path / "名单.xlsx"
    workbook = openpyxl.Workbook()
    notes = workbook.active
    notes.title = "填表说明"  # an empty first sheet
    lists = workbook.create_sheet("下拉选项")
    lists.append(["货运", "客运"])
    lists.sheet_state = "hidden"
    sheet = workbook.create_sheet("名单")
    sheet.append(["XX市重点货车司机名单"])
    sheet.merge_cells("A1:F1")
    sheet.append([*HEADERS, "登记时间"])
    sheet.append([*DRIVERS[0], dt.datetime(2024, 3, 1, 8, 30)])
    sheet.append([])
    sheet.append([*DRIVERS[1], dt.datetime(2024, 3, 2)])
    sheet.append(["王小明", 440305198807150016, 15088886666, "粤B0C123", None, True])
    workbook.save(path)
    table, rows = read(path)
    assert table.format == "xlsx"
    assert table.headers == [*HEADERS, "登记时间"]
    assert rows[0] == Row(1, [*DRIVERS[0], "2024-03-01T08:30:00"], None)
    assert rows[1] == Row(3, [*DRIVERS[1], "2024-03-02"], None)
    assert rows[2] == Row(
        4, ["王小明", str(int(float(440305198807150016))), "15088886666", "粤B0C123", "", "1"], None
    )
    assert table.blank_rows == 1


def xls_record(kind: int, data: bytes = b"") -> bytes:
    return struct.pack("<HH", kind, len(data)) + data


def write_xls(
    path: Path,
    rows: list[list[str | float | None]],
    sheet_records: bytes = b"",
    global_records: bytes = b"",
) -> Path:
    """A minimal BIFF8 workbook in an OLE container, as Excel 97-2003 saves.

    sheet_records go after the sheet's BOF, before its cells; global_records before the
    globals' EOF. The container has as many FAT sectors as the stream needs (up to 109).
    """
    record = xls_record

    def bof(kind: int) -> bytes:
        return record(0x0809, struct.pack("<HHHHII", 0x0600, kind, 0x0DBB, 0x07CC, 0, 6))

    name = "名单"

    def workbook_globals(sheet_offset: int) -> bytes:
        sheet = struct.pack("<IBBBB", sheet_offset, 0, 0, len(name), 1) + name.encode("utf-16-le")
        return (
            bof(0x0005)
            + record(0x0042, struct.pack("<H", 1200))
            + record(0x0085, sheet)
            + global_records
        )

    head = workbook_globals(0) + record(0x000A)
    body = bof(0x0010) + sheet_records
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, str):
                label = struct.pack("<HHHHB", r, c, 0, len(value), 1) + value.encode("utf-16-le")
                body += record(0x0204, label)
            elif value is not None:
                body += record(0x0203, struct.pack("<HHHd", r, c, 0, value))
    stream = workbook_globals(len(head)) + record(0x000A) + body + record(0x000A)
    stream = stream.ljust(4096, b"\0")  # at the mini-stream cutoff: plain sectors only
    sectors = (len(stream) + 511) // 512
    fats = 1
    while fats * 128 < fats + 1 + sectors:
        fats += 1
    assert fats <= 109
    end, free, nothing = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFF
    # Sectors: the FAT's, then the directory's, then the stream's.
    first = fats + 1
    fat = [0xFFFFFFFD] * fats + [end, *range(first + 1, first + sectors), end]
    fat += [free] * (fats * 128 - len(fat))
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + bytes(16)
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + bytes(6)
        + struct.pack("<9I", 0, fats, fats, 0, 4096, end, 0, end, 0)
        + struct.pack("<109I", *range(fats), *[free] * (109 - fats))
    )

    def entry(entry_name: str, kind: int, child: int, start: int, size: int) -> bytes:
        encoded = (entry_name + "\0").encode("utf-16-le") if entry_name else b""
        return (
            encoded.ljust(64, b"\0")
            + struct.pack("<HBB", len(encoded), kind, 1)
            + struct.pack("<III", nothing, nothing, child)
            + bytes(36)
            + struct.pack("<III", start, size, 0)
        )

    directory = (
        entry("Root Entry", 5, 1, end, 0)
        + entry("Workbook", 2, nothing, first, len(stream))
        + entry("", 0, nothing, 0, 0) * 2
    )
    path.write_bytes(
        header + struct.pack(f"<{len(fat)}I", *fat) + directory + stream.ljust(sectors * 512, b"\0")
    )
    return path


def test_old_xls(tmp_path: Path) -> None:
    rows_in: list[list[str | float | None]] = [
        ["姓名", "身份证号", "手机号", "准驾车型"],
        ["张三", "110101199003071234", 13800138000.0, "A2"],
        [],
        ["李四", "31010419851231002X", None, "B2"],
    ]
    path = write_xls(tmp_path / "名单.xls", rows_in)
    table, rows = read(path)
    assert (table.format, table.headers) == ("xls", ["姓名", "身份证号", "手机号", "准驾车型"])
    assert rows == [
        Row(1, ["张三", "110101199003071234", "13800138000", "A2"], None),
        Row(3, ["李四", "31010419851231002X", "", "B2"], None),
    ]
    assert table.blank_rows == 1


def test_spreadsheet_detected_by_content_not_name(tmp_path: Path) -> None:
    # Real .xlsx named .xls and .csv, as systems and people often do.
    source = tmp_path / "a.xlsx"
    workbook = xlsxwriter.Workbook(source)
    workbook.add_worksheet().write_row(0, 0, ["姓名", "身份证号"])
    workbook.close()
    for name in ("a.xls", "a.csv"):
        path = tmp_path / name
        path.write_bytes(source.read_bytes())
        assert read(path)[0].format == "xlsx"


def test_ods(tmp_path: Path) -> None:
    office = "urn:oasis:names:tc:opendocument:xmlns"

    def row(*cells: str) -> str:
        cell = '<table:table-cell office:value-type="string"><text:p>{}</text:p></table:table-cell>'
        return "<table:table-row>" + "".join(cell.format(c) for c in cells) + "</table:table-row>"

    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        f'xmlns:office="{office}:office:1.0" xmlns:table="{office}:table:1.0" '
        f'xmlns:text="{office}:text:1.0"><office:body><office:spreadsheet>'
        f'<table:table table:name="名单">{row("姓名", "身份证号")}'
        f"{row('张三', '110101199003071234')}"
        "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    path = tmp_path / "名单.ods"
    manifest = (
        f'<manifest:manifest xmlns:manifest="{office}:manifest:1.0">'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", content)
        archive.writestr("META-INF/manifest.xml", manifest)
    table, rows = read(path)
    assert (table.format, table.headers) == ("ods", ["姓名", "身份证号"])
    assert rows == numbered([["张三", "110101199003071234"]])


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        ("  张三\u3000", "张三"),
        (35.0, "35"),
        (-0.0, "0"),
        (12.5, "12.5"),
        (0.1 + 0.2, "0.3"),
        (1.101011990030712e17, "110101199003071200"),
        (7, "7"),
        (True, "1"),
        (False, "0"),
        (dt.datetime(2024, 3, 1), "2024-03-01"),
        (dt.datetime(2024, 3, 1, 8, 30), "2024-03-01T08:30:00"),
        (dt.date(2024, 3, 1), "2024-03-01"),
        (dt.time(8, 30), "08:30:00"),
        (dt.timedelta(hours=30, minutes=5), "30:05:00"),
    ],
)
def test_spreadsheet_cell_text(value: object, text: str) -> None:
    assert readers._cell_text(value) == text


# ------------------------------------------------------------ whole-file errors


def test_missing_file(tmp_path: Path) -> None:
    assert "no such file" in read_error(tmp_path / "没有.csv")


def test_directory(tmp_path: Path) -> None:
    assert "directory" in read_error(tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b"")
    assert "empty" in read_error(path)


def test_only_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b"\xef\xbb\xbf\r\n  \r\n,,\r\n")
    assert "no header row" in read_error(path)


def test_binary_junk(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b"\0" + random.Random(7).randbytes(5000))
    assert "binary" in read_error(path)


def test_undecodable_header(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b"\x80\xff\xfd,\x80\x80\r\n" + encode_csv(DRIVERS) * 3)
    assert "header" in read_error(path)


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF"),
        (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "PNG"),
        ("<html><body><table><tr><td>张三</td></tr></table>".encode(), "web page"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "corrupt spreadsheet"),
    ],
)
def test_not_a_table(tmp_path: Path, content: bytes, what: str) -> None:
    path = tmp_path / "名单.xls"
    path.write_bytes(content)
    assert what in read_error(path)


def test_truncated_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "名单.xlsx"
    workbook = xlsxwriter.Workbook(path)
    sheet = workbook.add_worksheet()
    for r, row in enumerate([HEADERS, *DRIVERS]):
        sheet.write_row(r, 0, row)
    workbook.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert "truncated or corrupt spreadsheet" in read_error(path)


def test_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "名单.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("名单.csv", encode_csv([HEADERS, *DRIVERS]))
    assert "not a spreadsheet" in read_error(path)


def test_workbook_with_only_empty_sheets(tmp_path: Path) -> None:
    path = tmp_path / "a.xlsx"
    workbook = xlsxwriter.Workbook(path)
    workbook.add_worksheet()
    workbook.add_worksheet()
    workbook.close()
    assert "no header row" in read_error(path)


def test_problem_texts_hold_no_cell_values(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(
        encode_csv([HEADERS])
        + "张三,110101199003071234,\x00,京A12345\r\n".encode()
        + "李四,31010419851231002X,".encode("gbk")
        + b"\xff\r\n"
        + "王小明,".encode()
        + b"4" * (FIELD_LIMIT + 5)
        + "\r\n欧阳娜娜,510107199212300047\r\n".encode()
    )
    _, rows = read(path)
    problems = [r.problem for r in rows if r.problem]
    assert len(problems) == 3
    for problem in problems:
        assert_private(problem, [*PERSONAL, "4" * 20])
    assert rows[-1] == Row(4, ["欧阳娜娜", "510107199212300047", "", "", ""], None)


# -------------------------------------------------------------------- properties


def check_rows(rows: list[Row]) -> None:
    last = 0
    for row in rows:
        assert isinstance(row, Row)
        assert row.number > last
        last = row.number
        assert (row.cells is None) != (row.problem is None)
        if row.cells is not None:
            assert all(isinstance(c, str) for c in row.cells)
            assert any(row.cells)


_prefixes = st.sampled_from(
    [
        b"",
        b"\xef\xbb\xbf",
        b"\xff\xfe",
        b"\xfe\xff",
        b"PK\x03\x04",
        b"\xd0\xcf\x11\xe0",
        "姓名,身份证号\r\n".encode(),
        "姓名\t身份证号\n".encode("gbk"),
    ]
)


@settings(max_examples=150, deadline=None)
@given(prefix=_prefixes, body=st.binary(max_size=600))
def test_any_bytes_give_rows_or_source_read_error(prefix: bytes, body: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.csv"
        path.write_bytes(prefix + body)
        try:
            with mock.patch.object(readers, "_BLOCK", 64):  # many chunk boundaries
                _, rows = read(path)
        except SourceReadError as e:
            assert str(e).startswith(str(path))
            return
        check_rows(rows)


_cell_chars = st.one_of(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E),
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5),
    st.sampled_from("\u3000，。、·（）"),
)
_cells = st.text(_cell_chars, max_size=12)
_rows = st.lists(st.lists(_cells, max_size=6), max_size=12)


def expected_rows(rows: list[list[str]], width: int) -> list[Row]:
    out = []
    for number, row in enumerate(rows, 1):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        cells += [""] * (width - len(cells))
        while len(cells) > width and not cells[-1]:
            cells.pop()
        out.append(Row(number, cells, None))
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=_rows, encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
def test_csv_round_trip(rows: list[list[str]], encoding: str) -> None:
    header = ["姓名", "身份证号", "备注"]
    with tempfile.TemporaryDirectory() as folder:
        path = write_csv(Path(folder) / "a.csv", [header, *rows], encoding)
        with mock.patch.object(readers, "_BLOCK", 64):
            table, got = read(path)
    assert table.headers == header
    assert got == expected_rows(rows, len(header))
