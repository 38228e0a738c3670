"""The summary workbook: written from a roll-up, re-opened and looked at as a clerk and a reader would."""
from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
import python_calamine
import xlsxwriter

from rollup_helpers import (at, filing_sub, invalid, ledger_sub, plan_filing_campaign, self_check_sub,
                            small_tree, stats_row_from_filing, stats_sub, three_meetings_campaign, weekly_sub)
from zhenggai_xls.demo import build_demo
from zhenggai_xls.excel import CELL_TEXT_MAX, METADATA_SHEET, SheetRows, a1, parse_a1, splice_rows
from zhenggai_xls.report import MISSING, SUBTOTAL_PREFIX, write_summary
from zhenggai_xls.rollup import rollup
from zhenggai_xls.spec import load_specs
from zhenggai_xls.template import write_template
from zhenggai_xls.validate import validate_paths

STATS = load_specs()["stats"]
STATS_SHEET = STATS.title
FORMULA_TEXT = '=HYPERLINK("http://example.org/x","点我")'


def _plan_filing_result(tmp_path: Path, level: str | None = None, b23_filing: bool = False):
    """Branch filings (one late, one invalid), a committee summary for B23, two branches missing."""
    inbox = tmp_path / "inbox"
    b11 = filing_sub(inbox / "b11.xlsx", "B11", "百胜镇紫竹村党支部", content=(2, 1, 0, 1, 1),
                     focus=(("领导班子建设", "班子学习不经常"), ("群众反映", "办事等待时间长")))
    b21 = filing_sub(inbox / "b21.xlsx", "B21", "区财政局机关党支部", grade="较好", people=(30, 3, 10))
    b22 = invalid(filing_sub(inbox / "b22.xlsx", "B22", "区教委机关党支部"))
    b23 = filing_sub(inbox / "b23.xlsx", "B23", "区卫生局机关党支部", grade="一般", opinions=(2, 5, 1, 0))
    c2 = stats_sub(inbox / "c2.xlsx", "C2", {"B23": stats_row_from_filing(b23)})
    times = {str(b11.path): at("2012-06-19"), str(b21.path): at("2012-06-22"), str(b22.path): at("2012-06-19"),
             str(c2.path): at("2012-06-24")}
    times[str(b23.path)] = at("2012-06-20")
    subs = [b11, b21, b22, c2] + ([b23] if b23_filing else [])
    return rollup(subs, plan_filing_campaign(), level=level, as_of=at("2012-06-26"), register=times)


@pytest.fixture(scope="module")
def summary(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    result = _plan_filing_result(tmp)
    return result, write_summary(result, tmp / "汇总表.xlsx")


def _rows_by_label(ws) -> dict[str, int]:
    """Column A label -> row number, below the header."""
    return {str(ws.cell(r, 1).value): r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value is not None}


def _figures(ws, row: int) -> list:
    return [ws.cell(row, c).value for c in range(2, 25)]


def test_sheets_present_and_metadata_names_the_form_and_the_level(summary):
    result, path = summary
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["封面", STATS_SHEET, "报送情况", "未通过校验与被替代", "来源", METADATA_SHEET]
    meta_ws = wb[METADATA_SHEET]
    assert meta_ws.sheet_state == "hidden"
    meta = {r[0].value: r[1].value for r in meta_ws.iter_rows()}
    assert meta["form"] == "stats" and meta["unit_code"] == "D" and meta["summary"] == "1"
    assert wb.properties.created.replace(microsecond=0) == result.as_of


def test_stats_header_is_the_template_header(summary, tmp_path):
    """Same 24 labels on the same three rows with the same merges as the blank 统计表 template."""
    _, path = summary
    template = write_template(STATS, tmp_path / "t.xlsx")
    mine, theirs = openpyxl.load_workbook(path)[STATS_SHEET], openpyxl.load_workbook(template)[STATS_SHEET]

    def header(ws):
        top = next(r for r in range(1, 12) if ws.cell(r, 1).value == "党支部规范全称")
        labels = [[ws.cell(r, c).value for c in range(1, 25)] for r in range(top, top + 3)]
        merges = sorted(str(m) for m in ws.merged_cells.ranges if m.min_row >= top and m.max_row <= top + 2
                        and m.max_col <= 24)
        return top, labels, merges

    top, labels, merges = header(mine)
    assert (labels, merges) == header(theirs)[1:]
    assert [f.label for f in STATS.table.fields][1:] == [next(labels[r][c] for r in (2, 1, 0) if labels[r][c])
                                                         for c in range(1, 24)]
    assert f"A{top}:A{top + 2}" in merges and f"B{top}:E{top}" in merges  # 党支部规范全称 / 分类定级


def test_totals_subtotals_and_missing_rows(summary):
    result, path = summary
    ws = openpyxl.load_workbook(path)[STATS_SHEET]
    rows = _rows_by_label(ws)
    branches = ["百胜镇紫竹村党支部", "区财政局机关党支部", "区卫生局机关党支部"]
    sums = [sum(col) for col in zip(*(_figures(ws, rows[b]) for b in branches))]
    assert _figures(ws, rows["合计"]) == sums
    assert _figures(ws, rows[SUBTOTAL_PREFIX + "区级机关党工委"]) == [
        a + b for a, b in zip(_figures(ws, rows["区财政局机关党支部"]), _figures(ws, rows["区卫生局机关党支部"]))]
    assert rows["合计"] < rows[SUBTOTAL_PREFIX + "百胜镇党委"] < rows["百胜镇紫竹村党支部"]
    # 应报 / 已报 / 按时 at the right of the 合计 and 小计 rows (after a spacer column)
    assert [ws.cell(rows["合计"], c).value for c in (26, 27, 28)] == [5, 3, 2]
    # branches without figures: blank, red, saying why
    for name, words in (("百胜镇八角村党支部", MISSING), ("区教委机关党支部", "未通过校验")):
        r = rows[name]
        assert _figures(ws, r) == [None] * 23
        assert ws.cell(r, 29).value == words
        assert ws.cell(r, 1).fill.fgColor.rgb.endswith("FFC7CE")
    assert ws.cell(rows["区卫生局机关党支部"], 29).value == "由上级汇总表报送"


def test_status_sheet_colours_by_status(summary):
    _, path = summary
    ws = openpyxl.load_workbook(path)["报送情况"]
    words = {ws.cell(r, 1).value: ws.cell(r, 6).value for r in range(4, ws.max_row + 1)}
    assert words["百胜镇八角村党支部"] == MISSING and words["区财政局机关党支部"] == "逾期报送 2 天"
    formulas = [rule.formula[0] for cf in ws.conditional_formatting for rule in cf.rules]
    assert any("未报送" in f and "逾期未完成" in f for f in formulas)
    assert any("逾期报送" in f and "临期" in f for f in formulas)
    assert ws.freeze_panes == "B4"
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9


def test_summary_reads_back_as_a_valid_stats_submission_of_its_level(tmp_path):
    """Closure: the committee's summary, rolled up at the district, gives the committee's figures."""
    tree = small_tree()
    at_c2 = _plan_filing_result(tmp_path, level="C2", b23_filing=True)
    path = write_summary(at_c2, tmp_path / "out" / "区级机关党工委汇总表.xlsx")
    [sub] = validate_paths([path], orgs=tree)
    assert (sub.form, sub.unit_code, sub.valid) == ("stats", "C2", True), sub.problems
    assert sorted(sub.rows["_unit"]) == ["B21", "B23"]  # no 小计, 合计 or 未报送 row read as a branch
    upward = rollup([sub], plan_filing_campaign(tree), as_of=at("2012-06-26"),
                    register={str(path): at("2012-06-25")})
    for branch in ("B21", "B23"):
        assert upward.forms["stats"].units[branch] == at_c2.forms["stats"].units[branch]
    assert upward.forms["stats"].units["C2"] == at_c2.forms["stats"].totals


def test_text_from_submissions_stays_text(tmp_path):
    """A cell typed =HYPERLINK(...) in a ledger goes into the summary as a string, never a formula."""
    tree = small_tree()
    ledger = ledger_sub(tmp_path / "l.xlsx", "B11", [(FORMULA_TEXT, "2023-11-10", "date", "正在推进", None)])
    result = rollup([ledger], three_meetings_campaign(tree), as_of=at("2023-11-20"),
                    register={str(ledger.path): at("2023-11-18")})
    path = write_summary(result, tmp_path / "s.xlsx")
    ws = openpyxl.load_workbook(path)["逾期事项"]
    cell = next(c for row in ws.iter_rows() for c in row if c.value == FORMULA_TEXT)
    assert cell.data_type == "s"
    with zipfile.ZipFile(path) as z:
        assert not any("<f>" in z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/"))


def test_list_cells_keep_their_type_format_and_height(tmp_path):
    """Long lists: number-like and URL-like text stays text, times get the time format, a blank cell
    keeps its border, a row grows for wrapped text and only then."""
    tree = small_tree()
    long_text = "发展党员程序不够规范，" * 8
    items = [("0012", "2023-11-15", "date", "正在推进", None), ("http://example.org/x", "2023-11-15", "date", "未启动", None),
             (long_text, "2023-11-15", "date", "正在推进", None)]
    ledger = ledger_sub(tmp_path / "l.xlsx", "B11", items)
    result = rollup([ledger], three_meetings_campaign(tree), as_of=at("2023-11-20"),
                    register={str(ledger.path): at("2023-11-18", "10:30")})
    wb = openpyxl.load_workbook(write_summary(result, tmp_path / "s.xlsx"))
    ws = wb["逾期事项"]
    rows = {ws.cell(r, 2).value: r for r in range(4, ws.max_row + 1)}
    assert {"0012", "http://example.org/x", long_text} <= set(rows)
    for text in ("0012", "http://example.org/x"):
        cell = ws.cell(rows[text], 2)
        assert cell.data_type == "s" and cell.hyperlink is None
    height = {text: ws.row_dimensions[r].height for text, r in rows.items()}
    assert height["0012"] == height["http://example.org/x"] == 15 + 6  # one line: 逾期未完成, 逾期 5 天 fit their columns
    assert height[long_text] == 5 * 15 + 6  # 88 CJK characters, 21 a line
    assert ws.cell(rows["0012"], 8).value == 4 and ws.cell(rows["0012"], 8).data_type == "n"  # the ledger row
    status = wb["报送情况"]
    row = next(r for r in range(4, status.max_row + 1) if status.cell(r, 8).value == "l.xlsx")
    received = status.cell(row, 7)
    assert received.value == at("2023-11-18", "10:30") and received.number_format == "yyyy-mm-dd hh:mm"
    period = status.cell(row, 4)  # no period: a blank cell, bordered like its row
    assert period.value is None and period.border.left.style == "thin"


def test_weekly_trend_chart_and_self_check_findings(tmp_path):
    tree = small_tree()
    counts = lambda done: {"三会一课": (4, done, 4 - done, 0), "专题教育": (2, 1, 1, 0)}  # noqa: E731
    subs = [weekly_sub(tmp_path / f"w{i}.xlsx", "B11", day, counts(i)) for i, day in
            enumerate(("2023-10-27", "2023-11-03"), 1)]
    subs.append(self_check_sub(tmp_path / "s.xlsx", "B12",
                               [("“三会一课”制度是否严格落实", "是", 2, "支委会未按月召开")], shortfall=True))
    times = {str(s.path): at("2023-10-24") for s in subs}
    result = rollup(subs, three_meetings_campaign(tree), as_of=at("2023-11-06"), register=times)
    path = write_summary(result, tmp_path / "s.xlsx")
    wb = openpyxl.load_workbook(path)
    assert {"周报趋势", "自查汇总", "整改周报表"} <= set(wb.sheetnames)
    texts = [c.value for row in wb["自查汇总"].iter_rows() for c in row]
    assert "支委会未按月召开" in texts and any("支部委员会" in str(t) for t in texts)
    trend = wb["周报趋势"]
    rates = {trend.cell(r, 1).value: [trend.cell(r, c).value for c in (2, 3)] for r in range(4, trend.max_row + 1)}
    assert rates["百胜镇紫竹村党支部"] == [pytest.approx(2 / 6), pytest.approx(3 / 6)]
    with zipfile.ZipFile(path) as z:
        assert any(n.startswith("xl/charts/chart") for n in z.namelist())


def test_same_inputs_give_the_same_workbook(summary, tmp_path):
    result, path = summary
    again = write_summary(result, tmp_path / "again.xlsx")
    with zipfile.ZipFile(path) as a, zipfile.ZipFile(again) as b:
        assert a.namelist() == b.namelist()
        for name in a.namelist():
            assert a.read(name) == b.read(name), name


# ---------------------------------------------------------------- 来源


def _source_rows(path) -> list[dict]:
    """The 来源 sheet's rows below its header, as {header: value}."""
    ws = openpyxl.load_workbook(path)["来源"]
    rows = list(ws.iter_rows(values_only=True))
    top = next(i for i, r in enumerate(rows) if r[0] == "单位")
    heads = rows[top]
    assert heads[-1] == "数字所在单元格" and ws.print_title_rows == f"${top + 1}:${top + 1}"
    return [dict(zip(heads, r)) for r in rows[top + 1:] if r[0] is not None]


def test_source_sheet_has_one_row_per_source_row(summary):
    """Two branch filings (fixed layout: labelled cells) and one row of a committee's 统计表 (a range)."""
    _, path = summary
    rows = _source_rows(path)
    assert [(r["单位"], r["计入表单"], r["来源表单"], r["行"]) for r in rows] == [
        ("百胜镇紫竹村党支部", STATS_SHEET, "整改方案备案表", None),
        ("区财政局机关党支部", STATS_SHEET, "整改方案备案表", None),
        ("区卫生局机关党支部", STATS_SHEET, STATS_SHEET, 7)]  # not also a row for the filing form itself
    assert rows[2]["数字所在单元格"] == "B7:X7" and rows[2]["来源文件"] == "c2.xlsx"
    lines = rows[0]["数字所在单元格"].split("\n")
    assert "征求意见情况/形式：座谈会 B7 · 信函 B8 · 电话短信 B9 · 其他 B10" in lines
    assert "分类定级 B6" in lines  # one choice cell for the four 分类定级 figures


def test_weekly_sources_name_their_week(tmp_path):
    tree = small_tree()
    counts = {"三会一课": (4, 1, 3, 0), "专题教育": (2, 1, 1, 0)}
    subs = [weekly_sub(tmp_path / f"w{i}.xlsx", "B11", day, counts)
            for i, day in enumerate(("2023-10-27", "2023-11-03"))]
    result = rollup(subs, three_meetings_campaign(tree), as_of=at("2023-11-06"),
                    register={str(s.path): at("2023-10-24") for s in subs})
    rows = _source_rows(write_summary(result, tmp_path / "s.xlsx"))
    assert [(r["周期"], r["来源文件"]) for r in rows] == [("2023-10-27", "w0.xlsx"), ("2023-11-03", "w1.xlsx")]
    assert rows[0]["数字所在单元格"] == "问题数 B6:B7\n完成情况：已完成 C6:C7 · 正在推进 D6:D7 · 未启动 E6:E7"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo: real filled files (filings, committees' 统计表, ledgers) and their summary."""
    return build_demo(tmp_path_factory.mktemp("demo") / "演示")


def _number(value) -> int | None:
    """A figure as a clerk typed it (full-width digits, '3次', a tick), or None when the cell is no figure."""
    text = unicodedata.normalize("NFKC", str(value if value is not None else 0)).strip().rstrip("次人条个封")
    if text in ("√", "✓", "✔", "是"):
        return 1
    return int(float(text)) if re.fullmatch(r"\d+(\.0+)?", text) else None


def _cells(ref: str) -> list[str]:
    """'B11:B13' / 'C12,C15' / 'D7' -> every cell."""
    cells = []
    for part in ref.split(","):
        first, _, last = part.partition(":")
        (r0, c0), (r1, c1) = parse_a1(first), parse_a1(last or first)
        cells += [a1(r, c) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)]
    return cells


def _where(text: str) -> dict[str, str]:
    """'上栏：栏目 D7 · 栏目、栏目 F7' lines (or '上栏 F6') -> {full label or upper label: cells}."""
    out = {}
    for line in text.split("\n"):
        upper, colon, rest = line.rpartition("：")
        for piece in rest.split(" · "):
            labels, cell = piece.rsplit(" ", 1)
            for label in labels.split("、"):
                out[f"{upper}/{label}" if colon else label] = cell
    return out


def test_every_stats_figure_traces_to_its_cells_in_the_submitted_files(demo):
    """Each branch's figures on the 统计表 sheet, followed through 来源 into the submitted workbook."""
    wb = openpyxl.load_workbook(demo.workbook)
    sheet = wb[STATS_SHEET]
    branch_rows = {r[0]: r[1:24] for r in sheet.iter_rows(values_only=True)
                   if r[0] and not str(r[0]).startswith((SUBTOTAL_PREFIX, "合计", "说明"))
                   and any(isinstance(v, int) for v in r[1:24])}
    fields = STATS.table.fields[1:]
    assert len(fields) == 23
    sources = [r for r in _source_rows(demo.workbook) if r["计入表单"] == STATS_SHEET]
    assert sorted(r["单位"] for r in sources) == sorted(branch_rows)  # each branch with figures once
    kinds = {"range": 0, "number": 0, "choice": 0, "rows": 0}
    for src in sources:
        ws = openpyxl.load_workbook(demo.inbox / src["来源文件"], data_only=True)[src["工作表"]]
        figures, text = branch_rows[src["单位"]], src["数字所在单元格"]
        span = re.fullmatch(r"([A-Z]+)(\d+):([A-Z]+)\2", text)
        if span:
            assert int(span.group(2)) == src["行"]
            first = parse_a1(text.split(":")[0])
            for i, figure in enumerate(figures):
                assert _number(ws[a1(first[0], first[1] + i)].value) == figure, (src, fields[i].label)
                kinds["range"] += 1
            continue
        where = _where(text)
        for f, figure in zip(fields, figures):
            parent = "/".join(f.path[:-1])
            if f.full_label in where:
                cells = [ws[c].value for c in _cells(where[f.full_label])]
                if len(cells) == 1 and _number(cells[0]) is not None:
                    assert _number(cells[0]) == figure, (src, f.full_label)
                    kinds["number"] += 1
                else:  # counted rows (拟集中整改问题): one cell per row counted, naming the category
                    assert figure == len(cells) and all(f.label in str(v) or f.label == "合计" for v in cells)
                    kinds["rows"] += 1
            elif parent in where:  # a choice: the figure is 1 for the chosen word
                assert figure == int(str(ws[where[parent]].value).strip() == f.label), (src, f.full_label)
                kinds["choice"] += 1
            else:
                assert figure == 0, (src, f.full_label)  # nothing counted, no cell to show
    assert min(kinds.values()) >= 8, kinds


def test_libreoffice_renders_the_summary_landscape(summary, tmp_path):
    _, path = summary
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    assert soffice, "LibreOffice (soffice) is needed: apt-get install libreoffice-calc-nogui"
    profile = (tmp_path / "profile").as_uri()
    subprocess.run([soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(path)], check=True, capture_output=True, timeout=180)
    pdf = tmp_path / (path.stem + ".pdf")
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    width, height = (float(x) for x in next(line for line in info.splitlines()
                                            if line.startswith("Page size:")).split()[2:5:2])
    assert pages >= 5  # cover, 统计表, 报送情况, 未通过校验与被替代, 来源
    assert width > height  # A4 landscape
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    assert "整改方案制定情况统计表" in text and "小计：区级机关党工委" in text


# ---------------------------------------------------------------- rows written as sheet XML


def test_rows_written_as_xml_read_back_like_xlsxwriters(tmp_path):
    """SheetRows' rows go between xlsxwriter's own rows, and openpyxl and calamine read them exactly as
    they read the same cells written by xlsxwriter: Excel's escapes, types, formats, heights."""
    tricky = ["A&B <c> \"d\"", "  两头空格  ", "控制\x01字符", "_x0041_ 原样", "=SUM(A1)", "x" * (CELL_TEXT_MAX + 5)]
    when = datetime(2023, 11, 18, 10, 30)
    numbers = [7, 2.5, None, "", when, date(2023, 11, 20), Decimal("3.5"), float("nan")]

    def book(path, spliced: bool):
        wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False})
        ws = wb.add_worksheet("表")
        bold, day = wb.add_format({"bold": True, "border": 1}), wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        rows = SheetRows(ws)
        ws.write_string(0, 0, "标题")  # xlsxwriter's rows before, between and after
        line1, line3 = [(t, bold) for t in tricky], list(zip(numbers, (None, bold, bold, None, day, day, None, bold)))
        ws.write_string(2, 1, "中间")
        ws.write_number(5, 0, 1)
        if spliced:
            rows.add(1, line1, height=30)
            rows.add(3, line3)
        else:
            ws.set_row(1, 30)
            for r, line in ((1, line1), (3, line3)):
                for c, (value, fmt) in enumerate(line):
                    if value != value:  # NaN: xlsxwriter refuses it; SheetRows writes a blank
                        ws.write_blank(r, c, None, fmt)
                    else:
                        ws.write(r, c, value[:CELL_TEXT_MAX] if isinstance(value, str) else value, fmt)
        wb.close()
        splice_rows(path, wb, [rows])
        return path

    ours, theirs = book(tmp_path / "ours.xlsx", True), book(tmp_path / "theirs.xlsx", False)
    a, b = openpyxl.load_workbook(ours)["表"], openpyxl.load_workbook(theirs)["表"]
    assert a.dimensions == b.dimensions == "A1:H6"
    for r in range(1, 7):
        assert a.row_dimensions[r].height == b.row_dimensions[r].height
        for c in range(1, 9):
            x, y = a.cell(r, c), b.cell(r, c)
            if x.coordinate == "D2":  # xlsxwriter leaves a literal _x0041_ unescaped (Excel then shows "A")
                assert x.value == "_x005F_x0041_ 原样" and y.value == "_x0041_ 原样"  # openpyxl doesn't decode
                continue
            assert (x.value, x.data_type, x.number_format, x.font.b, x.border.left.style) == \
                   (y.value, y.data_type, y.number_format, y.font.b, y.border.left.style), x.coordinate
    assert a.cell(2, 6).value == "x" * CELL_TEXT_MAX and a.cell(4, 5).value == when and a.cell(3, 2).value == "中间"
    read = [python_calamine.CalamineWorkbook.from_path(p).get_sheet_by_name("表").to_python() for p in (ours, theirs)]
    assert read[0] == read[1] and read[0][1][:5] == tricky[:5]  # calamine, like Excel, decodes the escapes
