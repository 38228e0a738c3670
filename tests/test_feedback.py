"""Feedback copies: marked cells, one comment per cell, a linked 问题清单, the original untouched."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest

from zhenggai_xls.excel import METADATA_SHEET, parse_a1
from zhenggai_xls.feedback import FILLS, LIST_SHEET, write_feedback
from zhenggai_xls.problems import problem
from zhenggai_xls.submission import Submission

HEADER = ["序号", "工作表", "单元格", "栏目", "填写内容", "问题说明", "级别"]


def write_unit_workbook(path: Path) -> Path:
    """A unit's returned form: a merged title, a few values, the template's metadata sheet."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "统计表"
    ws["B2"] = "整改方案制定情况统计表"
    ws.merge_cells("B2:E2")
    ws["B4"], ws["C4"] = "填报单位（盖章）", "某某镇党委"
    ws["B6"], ws["C6"], ws["D6"] = "问题数", "三个", 5
    meta = wb.create_sheet(METADATA_SHEET)
    meta.append(["form", "stats"])
    meta.sheet_state = "hidden"
    wb.save(path)
    return path


def problems_for(sheet: str) -> list:
    """An error and a warning on one cell, a warning alone, a cell inside a merge, a file-level one."""
    return [
        problem("value.not_count", sheet=sheet, cell="C6", field="问题数", value="三个"),
        problem("value.bad_phone", sheet=sheet, cell="C6", field="联系电话", value="=1+1"),
        problem("rule.weekly_delta", sheet=sheet, cell="D6", field="本周新完成", value=5, expected=2),
        problem("value.required", sheet=sheet, cell="D2", field="标题", what="表名"),
        problem("header.missing_column", field="党外群众"),
    ]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_list(book: openpyxl.Workbook, count: int) -> list[tuple]:
    """问题清单 is first, has the header, one row per problem, every link lands on an existing cell."""
    assert book.sheetnames[0] == LIST_SHEET
    ws = book[LIST_SHEET]
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0]) == HEADER and len(rows) == count + 1
    for row in ws.iter_rows(min_row=2):
        link = row[2].hyperlink
        if link is None:
            continue
        sheet, _, ref = link.location.rpartition("!")
        sheet = sheet.strip("'").replace("''", "'")
        assert sheet in book.sheetnames and parse_a1(ref) == parse_a1(row[2].value)
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9  # A4
    assert ws.column_dimensions["F"].width >= 40
    return rows


def test_xlsx_copy_is_marked_and_original_untouched(tmp_path):
    original = write_unit_workbook(tmp_path / "某某镇.xlsx")
    before = digest(original)
    out = write_feedback(Submission(path=original, sheet="统计表", problems=problems_for("统计表")), tmp_path / "fb")
    assert out == tmp_path / "fb" / "某某镇_反馈.xlsx"
    assert digest(original) == before
    book = openpyxl.load_workbook(out)
    rows = check_list(book, 5)
    ws = book["统计表"]
    assert ws["C6"].fill.fgColor.rgb == FILLS["error"].fgColor.rgb  # error and warning: red wins
    assert ws["D6"].fill.fgColor.rgb == FILLS["warning"].fgColor.rgb
    comment = ws["C6"].comment.text
    assert "应填非负整数" in comment and "不像电话号码" in comment and comment.count("\n") == 1
    assert ws["B2"].comment is not None  # D2 lies inside the merged title B2:E2
    assert ws["C4"].comment is None and ws["C4"].value == "某某镇党委"
    assert rows[5][1:3] == (None, None) and book[LIST_SHEET]["C6"].hyperlink is None  # file-level problem
    assert book[LIST_SHEET]["E3"].value == "=1+1" and book[LIST_SHEET]["E3"].data_type == "s"
    assert METADATA_SHEET in book.sheetnames and book[METADATA_SHEET].sheet_state == "hidden"
    with zipfile.ZipFile(out) as zf:  # nothing the unit typed became a formula
        assert not any(b"<f>" in zf.read(n) for n in zf.namelist() if n.startswith("xl/worksheets/"))
    assert [p.name for p in (tmp_path / "fb").iterdir()] == ["某某镇_反馈.xlsx"]  # no temp file left


def test_csv_is_rebuilt_as_xlsx_at_the_same_addresses(tmp_path):
    original = tmp_path / "周报.csv"
    original.write_text("单位,问题数\n党支部甲,=2+3\n党支部乙,x\n", encoding="gbk")
    before = digest(original)
    sub = Submission(path=original, sheet="周报", problems=[
        problem("value.not_count", sheet="周报", cell="B3", field="问题数", value="x")])
    book = openpyxl.load_workbook(write_feedback(sub, tmp_path))
    assert digest(original) == before
    check_list(book, 1)
    ws = book["周报"]
    assert ws["A2"].value == "党支部甲" and ws["B2"].value == "=2+3" and ws["B2"].data_type == "s"
    assert ws["B3"].fill.fgColor.rgb == FILLS["error"].fgColor.rgb and ws["B3"].comment is not None


@pytest.fixture(scope="module")
def unit_xls(tmp_path_factory) -> Path:
    """The unit workbook saved as .xls by LibreOffice headless."""
    folder = tmp_path_factory.mktemp("xls")
    source = write_unit_workbook(folder / "某某镇.xlsx")
    profile = f"file:///tmp/lo_profile_feedback_{os.getpid()}"
    subprocess.run(["soffice", f"-env:UserInstallation={profile}", "--headless", "--convert-to", "xls",
                    "--outdir", str(folder), str(source)], check=True, capture_output=True, timeout=180)
    shutil.rmtree(profile.removeprefix("file://"), ignore_errors=True)
    source.unlink()
    return folder / "某某镇.xls"


def test_xls_is_rebuilt_with_merges_and_metadata(unit_xls, tmp_path):
    before = digest(unit_xls)
    sub = Submission(path=unit_xls, sheet="统计表", problems=problems_for("统计表"))
    out = write_feedback(sub, tmp_path)
    assert out.name == "某某镇_反馈.xlsx" and digest(unit_xls) == before
    book = openpyxl.load_workbook(out)
    check_list(book, 5)
    ws = book["统计表"]
    assert ws["B2"].value == "整改方案制定情况统计表" and ws["C4"].value == "某某镇党委" and ws["D6"].value == 5
    assert [str(r) for r in ws.merged_cells.ranges] == ["B2:E2"]
    assert ws["C6"].fill.fgColor.rgb == FILLS["error"].fgColor.rgb
    meta = book[METADATA_SHEET]
    assert meta.sheet_state == "hidden" and (meta["A1"].value, meta["B1"].value) == ("form", "stats")


def test_problem_on_a_missing_sheet_is_listed_without_link(tmp_path):
    original = write_unit_workbook(tmp_path / "甲.xlsx")
    sub = Submission(path=original, problems=[problem("value.required", sheet="不存在", cell="A1", field="x", what="y")])
    book = openpyxl.load_workbook(write_feedback(sub, tmp_path))
    assert check_list(book, 1)[1][1:3] == ("不存在", "A1") and book[LIST_SHEET]["C2"].hyperlink is None


def test_unreadable_file_gets_a_copy_with_only_the_list(tmp_path):
    original = tmp_path / "扫描件.pdf"
    original.write_bytes(b"%PDF-1.7\n%%EOF\n")
    sub = Submission(path=original, rejected=True, problems=[problem("file.not_workbook", kind="PDF 文件")])
    book = openpyxl.load_workbook(write_feedback(sub, tmp_path))
    assert book.sheetnames == [LIST_SHEET] and "PDF 文件" in check_list(book, 1)[1][5]


def test_existing_list_sheet_is_kept(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = LIST_SHEET
    wb.active["A1"] = "单位自己的清单"
    wb.save(tmp_path / "乙.xlsx")
    sub = Submission(path=tmp_path / "乙.xlsx", sheet=LIST_SHEET,
                     problems=[problem("value.required", sheet=LIST_SHEET, cell="A1", field="x", what="y")])
    book = openpyxl.load_workbook(write_feedback(sub, tmp_path))
    assert book.sheetnames == [f"{LIST_SHEET}(2)", LIST_SHEET]
    assert book[LIST_SHEET]["A1"].comment is not None
    link = book[f"{LIST_SHEET}(2)"]["C2"].hyperlink.location
    assert link == f"'{LIST_SHEET}'!A1"
