"""Feedback copies: the unit's own workbook with every problem cell marked and explained.

The copy is always an .xlsx named `<stem>_反馈.xlsx`; the original is only read. An
.xlsx/.xlsm is copied through openpyxl (which drops images and charts: acceptable for a
copy meant for corrections); an .xls/.ods/.csv/.xlsb is rebuilt from the cells the reader
found, at the same addresses and with the same merges. A first sheet 问题清单 lists every
problem with a link to its cell.
"""
from __future__ import annotations

import re
import zipfile
from collections import defaultdict
from pathlib import Path

import openpyxl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.worksheet import Worksheet

from . import sniff
from .excel import METADATA_SHEET, a1, atomic_path, internal_link, parse_a1, sheet_name
from .problems import Problem
from .read import ReadError, read_workbook
from .submission import Submission

LIST_SHEET = "问题清单"
COMMENT_AUTHOR = "整改工作汇总"
FILLS = {"error": PatternFill("solid", fgColor="FFC7CE"), "warning": PatternFill("solid", fgColor="FFEB9C")}
SEVERITY_TEXT = {"error": "错误", "warning": "警告"}
COLUMNS = (("序号", 6), ("工作表", 16), ("单元格", 9), ("栏目", 24), ("填写内容", 22), ("问题说明", 64), ("级别", 7))
_THIN = Side(style="thin", color="999999")


def feedback_path(submission: Submission, out_dir: Path | str) -> Path:
    """Where the feedback copy of a submission goes: <out_dir>/<stem>_反馈.xlsx."""
    return Path(out_dir) / f"{Path(submission.path).stem}_反馈.xlsx"


_UNSAFE_IN_NAME = re.compile(r'[\\/:*?"<>|\s]+')


def free_feedback_path(sub: Submission, out_dir: Path, taken: set[Path]) -> Path:
    """<stem>_反馈.xlsx; when another file of this run has that name (every unit returns
    整改清单.xlsx), prefix the unit's name, then its folder's, then number it — never overwrite."""
    first = feedback_path(sub, out_dir)
    stem = Path(sub.path).stem
    prefixes = [_UNSAFE_IN_NAME.sub("_", p) for p in (sub.unit_name, Path(sub.path).parent.name) if p]
    candidates = [first, *(out_dir / f"{p}_{stem}_反馈.xlsx" for p in prefixes)]
    n = 1
    while True:
        for candidate in candidates:
            if candidate not in taken:
                return candidate
        n += 1
        candidates = [out_dir / f"{stem}_反馈({n}).xlsx"]


def write_feedback(submission: Submission, out_dir: Path | str, target: Path | None = None) -> Path:
    """Write the marked copy of the submitted workbook with its 问题清单; return its path.

    `target` overrides the default `feedback_path` (several units' files of the same name)."""
    book = _unit_workbook(Path(submission.path))
    targets = _mark_cells(book, submission)
    _add_problem_list(book, submission.problems, targets)
    target = target or feedback_path(submission, out_dir)
    with atomic_path(target) as tmp:
        book.save(tmp)
    return target


# -- the copy of the unit's workbook ------------------------------------------------------------

def _unit_workbook(path: Path) -> openpyxl.Workbook:
    """The unit's workbook as openpyxl holds it: loaded when OOXML, else rebuilt from its cells."""
    if _is_ooxml(path):
        try:
            return openpyxl.load_workbook(path)
        except Exception:  # openpyxl is stricter than calamine; the rebuilt copy still helps
            pass
    return _rebuilt(path)


def _is_ooxml(path: Path) -> bool:
    """An .xlsx/.xlsm by content, whatever its name."""
    try:
        with path.open("rb") as fh:
            if not fh.read(4).startswith(b"PK"):
                return False
        with zipfile.ZipFile(path) as zf:
            return sniff.zip_kind(zf) in (("workbook", "xlsx"), ("workbook", "xlsm"))
    except (OSError, zipfile.BadZipFile, KeyError):
        return False


def _rebuilt(path: Path) -> openpyxl.Workbook:
    """A new workbook with the reader's cells at their addresses, merges and sheet names."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    try:
        source = read_workbook(path)
    except ReadError:
        return book  # an unreadable file: the copy holds only the problem list
    for sheet in source.sheets:
        ws = book.create_sheet(sheet_name(sheet.name))
        ws.sheet_state = "hidden" if sheet.hidden else "visible"
        for (r, c), value in sheet.cells.items():
            _put(ws.cell(row=r + 1, column=c + 1), value)
        for r0, c0, r1, c1 in sheet.merges:
            if (r0, c0) != (r1, c1):
                ws.merge_cells(start_row=r0 + 1, start_column=c0 + 1, end_row=r1 + 1, end_column=c1 + 1)
    if source.metadata:
        _add_metadata(book, source.metadata)
    return book


def _add_metadata(book: openpyxl.Workbook, metadata: dict[str, str]) -> None:
    """Keep the template's metadata so a corrected copy is still recognised when sent back."""
    ws = book.create_sheet(METADATA_SHEET)
    for row, (key, value) in enumerate(metadata.items(), start=1):
        _put(ws.cell(row=row, column=1), key)
        _put(ws.cell(row=row, column=2), value)
    ws.sheet_state = "hidden"


def _put(cell, value: object) -> None:
    """Write a value; text always as text (a leading '=' never becomes a formula)."""
    if isinstance(value, str):
        cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)
        cell.data_type = "s"
    else:
        cell.value = value


# -- marking the problem cells ------------------------------------------------------------------

def _mark_cells(book: openpyxl.Workbook, submission: Submission) -> dict[int, tuple[str, str]]:
    """Fill and comment each problem cell; return problem index -> (sheet, cell) it points at."""
    by_cell: dict[tuple[str, str], list[Problem]] = defaultdict(list)
    targets = {}
    for i, p in enumerate(submission.problems):
        place = _target(book, p, submission.sheet)
        if place:
            targets[i] = place
            by_cell[place].append(p)
    for (sheet, ref), problems in by_cell.items():
        if book[sheet].sheet_state != "visible":
            book[sheet].sheet_state = "visible"  # a link into a hidden sheet goes nowhere in Excel
        cell = book[sheet][ref]
        worst = "error" if any(p.severity == "error" for p in problems) else "warning"
        cell.fill = FILLS[worst]
        text = "\n".join(f"{SEVERITY_TEXT.get(p.severity, p.severity)}：{p.message}" for p in problems)
        comment = Comment(text, COMMENT_AUTHOR)
        comment.width, comment.height = 320, 60 + 40 * len(problems)
        cell.comment = comment
    return targets


def _target(book: openpyxl.Workbook, p: Problem, default_sheet: str | None) -> tuple[str, str] | None:
    """The existing sheet and cell a problem points at (a merged area's first cell), or None."""
    sheet = p.sheet or default_sheet
    if not p.cell or not sheet or sheet not in book.sheetnames or sheet == METADATA_SHEET:
        return None
    try:
        row, col = parse_a1(p.cell.split(":")[0])
    except ValueError:
        return None
    ws = book[sheet]
    for merged in ws.merged_cells.ranges:
        if merged.min_row <= row + 1 <= merged.max_row and merged.min_col <= col + 1 <= merged.max_col:
            return sheet, a1(merged.min_row - 1, merged.min_col - 1)
    return sheet, a1(row, col)


# -- the 问题清单 sheet --------------------------------------------------------------------------

def _add_problem_list(book: openpyxl.Workbook, problems: list[Problem],
                      targets: dict[int, tuple[str, str]]) -> None:
    """A first sheet listing every problem, linked to its cell, ready to print on A4 landscape."""
    ws = book.create_sheet(_free_name(book, LIST_SHEET), 0)
    ws.append([title for title, _ in COLUMNS])
    for i, p in enumerate(problems):
        place = targets.get(i)
        values = [i + 1, place[0] if place else (p.sheet or ""), place[1] if place else (p.cell or ""),
                  p.field or "", p.value or "", p.message, SEVERITY_TEXT.get(p.severity, p.severity)]
        for col, value in enumerate(values, start=1):
            _put(ws.cell(row=i + 2, column=col), value)
        if place:
            _link(ws.cell(row=i + 2, column=3), *place)
    if not problems:
        _put(ws.cell(row=2, column=6), "没有发现问题。")
    _format_list(ws)
    book.active = 0
    for sheet in book.worksheets:
        sheet.sheet_view.tabSelected = sheet is ws


def _free_name(book: openpyxl.Workbook, name: str) -> str:
    """`name`, or `name(2)` … when the unit's workbook already has such a sheet."""
    candidate, n = name, 1
    while candidate in book.sheetnames:
        n += 1
        candidate = f"{name}({n})"
    return candidate


def _link(cell, sheet: str, ref: str) -> None:
    """An internal hyperlink from the list to the problem cell."""
    cell.hyperlink = Hyperlink(ref=cell.coordinate, location=internal_link(sheet, ref).removeprefix("#"),
                               display=ref)
    cell.font = Font(color="0563C1", underline="single")


def _format_list(ws: Worksheet) -> None:
    """Widths, wrapping, borders, a frozen header and A4 landscape printing."""
    for col, (_, width) in enumerate(COLUMNS, start=1):
        ws.column_dimensions[a1(0, col - 1)[:-1]].width = width
    wrap = Alignment(wrap_text=True, vertical="top")
    border = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
    for row in ws.iter_rows(min_row=1, max_row=ws.max_row, max_col=len(COLUMNS)):
        for cell in row:
            cell.alignment, cell.border = wrap, border
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="D9E1F2")
    ws.freeze_panes = "A2"
    ws.print_title_rows = "1:1"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
