"""The summary workbook (汇总表) a level hands upward, written from a RollupResult.

Sheets: 封面; one sheet per form laid out like the form (the 统计表 with the
24-column header of 附件2, drawn by template.py's own header code); 报送情况;
逾期事项; 自查汇总; 周报趋势; 未通过校验与被替代; 来源 (one row per counted source
row or fixed-layout file, with the cells its figures came from).

Form sheets use the consolidated layout of party statistics: the level's 合计
on top, then per 党(工)委 a "小计：<name>" row followed by its branches; a
branch without figures is listed with blank figures and 未报送 (red) in the
报送情况 column. 应报 / 已报 / 按时 and 报送情况 sit at the right of the
table, after an empty spacer column, so a reader of the sheet sees them but
the form's header stays exactly the form's.

Closure: the sheet of a table form with one row per unit (`stats`) is itself
a submission of that form by the level's unit: header lines 填报单位（盖章）
= the level, 填报日期 = as-of date, and the metadata sheet names the form and
the level. Readers skip the 小计 rows and the rows without figures.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from itertools import groupby
from pathlib import Path
from typing import Sequence

import xlsxwriter

from .excel import METADATA_SHEET, SheetRows, atomic_path, col_letter, parse_a1, quote_sheet, sheet_name, splice_rows
from .orgs import Org
from .rollup import (OVERDUE_STATUSES, REPORT_STATUSES, Coverage, FormRollup, Provenance, RollupResult,
                     ReportStatus)
from .spec import Field, Group, Spec, Table, load_specs
from .template import (LINE_PT, Formats, Grid, page_setup, write_header_lines, write_table_header,
                       column_width, lines_needed, template_metadata)
from .validate import collection_paused

SUBTOTAL_PREFIX = "小计："  # readers skip rows whose label starts with 小计
TOTAL_LABEL = "合计"
MISSING = "未报送"
VIA_SUMMARY = "由上级汇总表报送"
UNIT_COLUMN = "单位名称"
COVERAGE_HEADS = ("应报", "已报", "按时", "报送情况")
COVERAGE_WIDTHS = (6, 6, 6, 20)
SPACER_WIDTH = 1.5
RED, YELLOW, ORANGE, GREY = "#FFC7CE", "#FFEB9C", "#F8CBAD", "#F2F2F2"
# Chinese column labels of a ledger's figures (rollup.ITEM_FIGURES), under their groups.
ITEM_COLUMNS = (
    ("problem_count", ("问题数",)),
    ("done", ("完成情况", "已完成")),
    ("in_progress", ("完成情况", "正在推进")),
    ("not_started", ("完成情况", "未启动")),
    ("overdue", ("时限情况", "逾期未完成")),
    ("done_late", ("时限情况", "逾期完成")),
    ("due_soon", ("时限情况", "临期")),
    ("ongoing", ("时限情况", "长期坚持")),
)
SHEETS = {"cover": "封面", "status": "报送情况", "overdue": "逾期事项", "self_check": "自查汇总",
          "weekly": "周报趋势", "rejected": "未通过校验与被替代", "source": "来源"}

_STYLE = {
    "title": {"bold": True, "font_size": 18, "align": "center", "valign": "vcenter"},
    "subtitle": {"font_size": 11, "align": "center", "valign": "vcenter"},
    "head": {"bold": True, "border": 1, "align": "center", "valign": "vcenter", "text_wrap": True,
             "bg_color": GREY},
    "text": {"border": 1, "valign": "vcenter", "text_wrap": True},
    "center": {"border": 1, "align": "center", "valign": "vcenter", "text_wrap": True},
    "num": {"border": 1, "align": "center", "valign": "vcenter", "num_format": "0"},
    "pct": {"border": 1, "align": "center", "valign": "vcenter", "num_format": "0%"},
    "time": {"border": 1, "align": "center", "valign": "vcenter", "num_format": "yyyy-mm-dd hh:mm"},
    "date": {"border": 1, "align": "center", "valign": "vcenter", "num_format": "yyyy-mm-dd"},
    "total_text": {"border": 1, "bold": True, "valign": "vcenter", "bg_color": "#D9D9D9", "text_wrap": True},
    "total_num": {"border": 1, "bold": True, "align": "center", "valign": "vcenter", "bg_color": "#D9D9D9",
                  "num_format": "0"},
    "sub_text": {"border": 1, "bold": True, "valign": "vcenter", "bg_color": GREY, "text_wrap": True},
    "sub_num": {"border": 1, "bold": True, "align": "center", "valign": "vcenter", "bg_color": GREY,
                "num_format": "0"},
    "missing_text": {"border": 1, "valign": "vcenter", "bg_color": RED, "text_wrap": True},
    "missing_num": {"border": 1, "align": "center", "valign": "vcenter", "bg_color": RED},
    "missing_word": {"border": 1, "align": "center", "valign": "vcenter", "bg_color": RED, "bold": True,
                     "font_color": "#9C0006", "text_wrap": True},
    "late_word": {"border": 1, "align": "center", "valign": "vcenter", "bg_color": YELLOW, "text_wrap": True},
    "note": {"text_wrap": True, "valign": "top", "font_size": 10},
    "link": {"font_color": "blue", "underline": 1, "valign": "vcenter"},
    "key": {"bold": True, "valign": "vcenter", "align": "right"},
    "value": {"valign": "vcenter"},
}


class _Styles:
    """This module's formats, created once per workbook; and the rows written as XML, put in at the end."""

    def __init__(self, wb: xlsxwriter.Workbook):
        self.wb = wb
        self.cache: dict[str, object] = {}
        self.spliced: list[SheetRows] = []

    def __getitem__(self, name: str):
        if name not in self.cache:
            self.cache[name] = self.wb.add_format({"font_name": "宋体", "font_size": 11, **_STYLE[name]})
        return self.cache[name]

    def sheet_rows(self, ws) -> SheetRows:
        """Rows for `ws` written as XML, put into the workbook once it is closed (write_summary)."""
        rows = SheetRows(ws)
        self.spliced.append(rows)
        return rows

    def fill(self, color: str):
        """A plain background colour (conditional formats)."""
        key = "fill" + color
        if key not in self.cache:
            self.cache[key] = self.wb.add_format({"bg_color": color})
        return self.cache[key]


# ---------------------------------------------------------------- public API


def write_summary(result: RollupResult, path: Path | str) -> Path:
    """Write the summary workbook of `result` to `path` (atomically); return the path."""
    path = Path(path)
    specs = load_specs()
    with atomic_path(path) as tmp, collection_paused():
        # Text stays text: no string from a submission becomes a formula, a link or a number.
        wb = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_urls": False,
                                            "strings_to_numbers": False, "in_memory": True})
        wb.set_properties({"title": f"{result.campaign.name}汇总表", "author": "zhenggai-xls",
                           "company": result.level.name, "created": result.as_of})
        st = _Styles(wb)
        cover = wb.add_worksheet(SHEETS["cover"])
        form_sheets = [(fid, _form_sheet(wb, st, result, specs[fid], fr))
                       for fid, fr in result.forms.items() if _has_sheet(fid, result, specs)]
        extra = _extra_sheets(wb, st, result, specs)
        _cover(cover, st, result, specs, [name for _, name in form_sheets] + extra)
        closing = next((fid for fid, _ in form_sheets if specs[fid].unit_per_row), None)
        _metadata(wb, result, specs[closing] if closing else None)
        cover.activate()
        wb.close()
        splice_rows(tmp, wb, st.spliced)
    return path


def form_sheet_name(spec: Spec) -> str:
    """The sheet a form's figures go to: the form's title."""
    return sheet_name(spec.title)


# ---------------------------------------------------------------- helpers


def _has_sheet(form: str, result: RollupResult, specs: dict[str, Spec]) -> bool:
    """A form feeding another form of the result has no sheet: its figures are that form's."""
    feeds = specs[form].feeds
    return not (feeds and feeds.form in result.forms)


# Row heights of long lists: the same unit names, labels and file names recur on many rows.
_lines_needed = lru_cache(maxsize=65536)(lines_needed)


def _file_name(path: Path | None) -> str:
    return path.name if path else ""


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _print_setup(ws, last_row: int, last_col: int, head_first: int | None, head_last: int | None,
                 freeze: tuple[int, int] | None) -> None:
    """A4 landscape, one page wide, header rows on every page, page numbers, frozen panes."""
    page_setup(ws, max(last_row, 0), last_col)
    if head_first is not None:
        ws.repeat_rows(head_first, head_last)
    if freeze:
        ws.freeze_panes(*freeze)


def _title(ws, st: _Styles, text: str, last_col: int, sub: str = "") -> int:
    """A merged title row (and a subtitle row); return the next row."""
    ws.merge_range(0, 0, 0, last_col, "", st["title"])
    ws.write_string(0, 0, text, st["title"])
    ws.set_row(0, 32)
    if not sub:
        return 1
    ws.merge_range(1, 0, 1, last_col, "", st["subtitle"])
    ws.write_string(1, 0, sub, st["subtitle"])
    return 2


def _as_of_line(result: RollupResult) -> str:
    return f"汇总单位：{result.level.name}    截至：{result.as_of:%Y-%m-%d %H:%M}"


# ---------------------------------------------------------------- form sheets


@dataclass
class _Row:
    """One row of a consolidated form sheet."""

    kind: str  # total | subtotal | unit | missing
    org: Org
    figures: dict[str, int] | None
    coverage: Coverage | None
    status: str  # 报送情况 words


def _statuses(result: RollupResult) -> dict[tuple[str, str], list[ReportStatus]]:
    out: dict[tuple[str, str], list[ReportStatus]] = {}
    for s in result.statuses:
        out.setdefault((s.unit, s.form), []).append(s)
    return out


def _owed_weeks(found: Sequence[ReportStatus]) -> str:
    """A recurring form with some weeks in: what is still owed or was late, e.g. '未报送 1 期（11-17）'."""
    weeks = [s for s in found if s.period]
    if len(weeks) < 2 or not any(s.status in ("on_time", "late") for s in weeks):
        return ""
    parts = []
    for status, word in (("missing", MISSING), ("invalid", "未通过校验"), ("late", "逾期报送")):
        hit = [s.period[5:] for s in weeks if s.status == status]
        if hit:
            parts.append(f"{word} {len(hit)} 期（{'、'.join(hit)}）")
    return "，".join(parts)


def _status_words(by_unit: dict, unit: str, forms: Sequence[str], reported: bool) -> str:
    """The words of a unit's expected report among `forms`: the latest received one when it reported.

    A weekly form says 按时报送 only when every due week came in on time; else what is owed.
    """
    found = [s for form in forms for s in by_unit.get((unit, form), ())]
    came = [s for s in found if s.status in ("on_time", "late")]
    owed = _owed_weeks(found)
    if owed:
        return owed
    if reported and came:
        return came[-1].words
    if reported:
        return VIA_SUMMARY if found else "已报送"  # its figures came in a summary, not its own file
    return found[-1].words if found else ""


def _is_intermediate(tree, org: Org) -> bool:
    return org.level != "党支部" or bool(tree.children(org.code))


def consolidated_rows(result: RollupResult, fr: FormRollup, specs: dict[str, Spec]) -> list[_Row]:
    """合计 for the level, then depth-first: 小计 per intermediate unit, its units under it."""
    tree = result.campaign.orgs
    by_unit = _statuses(result)
    sources = [s.id for s in specs.values() if s.feeds and s.feeds.form == fr.form] + [fr.form]
    inside = {o.code for o in result.units}
    rows = [_Row("total", result.level, fr.totals, fr.coverage.get(result.level.code),
                 _status_words(by_unit, result.level.code, [fr.form], False))]

    def walk(code: str) -> None:
        for org in tree.children(code):
            if org.code not in inside:
                continue
            if _is_intermediate(tree, org):
                own = _status_words(by_unit, org.code, [fr.form], False)
                rows.append(_Row("subtotal", org, fr.units.get(org.code), fr.coverage.get(org.code),
                                 f"本级：{own}" if own else ""))
                walk(org.code)
            elif org.code in fr.units:
                rows.append(_Row("unit", org, fr.units[org.code], None,
                                 _status_words(by_unit, org.code, sources, True)))
            elif any((org.code, form) in by_unit for form in sources):  # expected, nothing counted
                rows.append(_Row("missing", org, None, None, _status_words(by_unit, org.code, sources, False)))

    walk(result.level.code)
    return rows


def _form_columns(spec: Spec, fr: FormRollup) -> tuple[Field, tuple[Group | Field, ...]]:
    """(the unit-name column, the header tree of the figure columns) for a form's sheet."""
    if spec.unit_per_row:
        table = spec.table
        name = spec.field(table.unit_field)
        return name, tuple(c for c in table.columns if not (isinstance(c, Field) and c.key == name.key))
    name = Field(key="_unit_name", label=UNIT_COLUMN, type="text", path=(UNIT_COLUMN,), place="table", width=30)
    item_list = tuple(fr.fields) == tuple(k for k, _ in ITEM_COLUMNS)  # a ledger's item counts
    labels = dict(ITEM_COLUMNS) if item_list else {}
    fields = []
    for key in fr.fields:
        path = labels.get(key) or spec.field(key).path
        fields.append(Field(key=key, label=path[-1], type="count", path=tuple(path), place="table"))
    return name, _tree(fields, 0)


def _tree(fields: Sequence[Field], level: int) -> tuple[Group | Field, ...]:
    """Header nodes from fields' paths: consecutive fields sharing a path part share a group."""
    out: list[Group | Field] = []
    i = 0
    while i < len(fields):
        f = fields[i]
        if len(f.path) - 1 <= level:
            out.append(f)
            i += 1
            continue
        part = f.path[level]
        j = i
        while j < len(fields) and len(fields[j].path) - 1 > level and fields[j].path[level] == part:
            j += 1
        out.append(Group(label=part, children=_tree(fields[i:j], level + 1)))
        i = j
    return tuple(out)


def _figure_width(f: Field) -> float:
    return max(column_width(f), 5.0) if f.type in ("count", "mark") else column_width(f)


def _form_sheet(wb: xlsxwriter.Workbook, st: _Styles, result: RollupResult, spec: Spec, fr: FormRollup) -> str:
    """One form's figures in the consolidated layout; returns the sheet's name."""
    name_field, figure_nodes = _form_columns(spec, fr)
    table = Table(columns=(name_field, *figure_nodes))
    fields = table.fields
    n = len(fields)
    widths = [max(_figure_width(f), 20.0) if f is name_field else _figure_width(f) for f in fields]
    cov0 = n + 1  # after the spacer column
    widths += [SPACER_WIDTH, *COVERAGE_WIDTHS]
    title = form_sheet_name(spec)
    ws = wb.add_worksheet(title)
    g = Grid(ws, Formats(wb), widths)
    last_col = len(widths) - 1
    g.put(0, 0, 0, last_col, spec.title if spec.unit_per_row else f"{spec.title}汇总", g.fmt("title"), pad=12)
    # Across the whole width: the header lines need room for two label/input pairs a row.
    row = write_header_lines(g, spec, 1, 0, n - 1 if spec.unit_per_row else last_col, result.level)
    _fill_report_date(g, ws, result)
    head_top = row
    spans = {f.key: (i, i) for i, f in enumerate(fields)}
    row = write_table_header(g, table, head_top, spans)
    for c, head in enumerate(COVERAGE_HEADS):
        g.put(head_top, cov0 + c, row - 1, cov0 + c, head, g.fmt("header"))
    rows = st.sheet_rows(ws)
    for i, r in enumerate(consolidated_rows(result, fr, load_specs())):
        cells = _form_row(st, r, fields, cov0)
        lines = max(_lines(cells[0][0], widths[0]), _lines(r.status, COVERAGE_WIDTHS[-1]))
        rows.add(row + i, cells, max(20, lines * LINE_PT + 6))
        end = row + i
    g.finish()
    note = end + 1
    ws.merge_range(note, 0, note, last_col, "", st["note"])
    ws.write_string(note, 0, "说明：只计入通过校验的报表。“小计”行为所属党(工)委各单位之和；"
                             "未报送或未通过校验的单位列出空行并以红色标出，右侧“应报/已报/按时”为应报送、已报送、按时报送的份数（统计表按党支部计）。",
                    st["note"])
    ws.set_row(note, 30)
    _print_setup(ws, note, last_col, head_top, row - 1, (row, 1))
    return title


def _fill_report_date(g: Grid, ws, result: RollupResult) -> None:
    """Put the as-of date into the 填报日期 input the header lines drew."""
    day = datetime.combine(result.as_of.date(), datetime.min.time())
    for block in g.inputs:
        if block.field.key == "report_date":
            ws.write_datetime(block.r0, block.c0, day, g.fmt("head_fixed", num_format="yyyy-mm-dd"))


def _form_row(st: _Styles, row: _Row, fields: Sequence[Field], cov0: int) -> list[tuple[object, object]]:
    """The cells of one consolidated row: its label, figures, an empty spacer, coverage and words."""
    kind = row.kind
    text_fmt, num_fmt = {
        "total": (st["total_text"], st["total_num"]), "subtotal": (st["sub_text"], st["sub_num"]),
        "unit": (st["text"], st["num"]), "missing": (st["missing_text"], st["missing_num"]),
    }[kind]
    short = row.org.aliases[0] if row.org.aliases else row.org.name
    label = {"total": TOTAL_LABEL, "subtotal": SUBTOTAL_PREFIX + short}.get(kind, row.org.name)
    figures = (row.figures or {}) if kind != "missing" else {}
    cells = [(label, text_fmt)] + [(figures.get(f.key), num_fmt) for f in fields[1:]]  # None: a bordered blank
    cells += [(None, None)] * (cov0 - len(cells))
    cov = row.coverage
    cells += [(n, num_fmt) for n in ((cov.expected, cov.reported, cov.on_time) if cov else (None, None, None))]
    words = row.status
    plain = words.removeprefix("本级：")
    word_fmt = st["missing_word"] if kind == "missing" or plain.startswith((MISSING, "未通过")) else \
        st["late_word"] if plain.startswith("逾期") else st["center"]
    return cells + [(words, word_fmt)]


# ---------------------------------------------------------------- cover


def _cover(ws, st: _Styles, result: RollupResult, specs: dict[str, Spec], sheets: list[str]) -> None:
    ws.set_column(0, 0, 22)
    ws.set_column(1, 7, 12)
    row = _title(ws, st, f"{result.campaign.name}汇总表", 7)
    facts = [("汇总单位", result.level.name), ("层级", result.level.level),
             ("截至时间", f"{result.as_of:%Y-%m-%d %H:%M}"), ("活动年度", str(result.campaign.year))]
    if result.by:
        facts.append(("分组", result.by))
    row += 1
    for key, value in facts:
        ws.write_string(row, 0, key + "：", st["key"])
        ws.merge_range(row, 1, row, 4, "", st["value"])
        ws.write_string(row, 1, value, st["value"])
        row += 1
    row += 1
    heads = ("表单", "应报", "已报", "按时", "逾期", "未报", "未通过校验")
    for c, head in enumerate(heads):
        ws.write_string(row, c, head, st["head"])
    first = row + 1
    for fid in sorted({s.form for s in result.statuses}, key=lambda f: list(result.campaign.forms).index(f)
                      if f in result.campaign.forms else 99):
        row += 1
        mine = [s for s in result.statuses if s.form == fid]
        _count_row(ws, st, row, specs[fid].title if fid in specs else fid, mine, st["text"], st["num"])
    row += 1
    _count_row(ws, st, row, "合计", result.statuses, st["total_text"], st["total_num"])
    ws.conditional_format(first, 5, row, 6, {"type": "cell", "criteria": ">", "value": 0,
                                              "format": st.fill(RED)})
    ws.conditional_format(first, 4, row, 4, {"type": "cell", "criteria": ">", "value": 0,
                                              "format": st.fill(YELLOW)})
    row += 2
    extras = [("逾期事项", len(result.overdue)), ("被替代的旧版本", len(result.superseded)),
              ("未计入的文件", len(result.set_aside)), ("两种途径数字不一致", len(result.conflicts))]
    for key, value in extras:
        ws.write_string(row, 0, key + "：", st["key"])
        ws.write_number(row, 1, value, st["value"])
        row += 1
    row += 1
    ws.write_string(row, 0, "工作表：", st["key"])
    for name in sheets:
        ws.write_url(row, 1, f"internal:{quote_sheet(name)}!A1", st["link"], name)
        row += 1
    row += 1
    ws.merge_range(row, 0, row + 2, 7, "", st["note"])
    ws.write_string(row, 0, "说明：应报为应报送的报表份数（每周报表按周计）；按时以第一份通过校验的报表收到时间为准；"
                            "各表合计只计入通过校验的报表，未报送单位在各表中以红色空行列出，合计不是完整数时请以"
                            "“应报/已报”为准。每个数字的来源（文件、工作表、单元格）见“来源”工作表。",
                    st["note"])
    _print_setup(ws, row + 2, 7, None, None, None)
    ws.fit_to_pages(1, 1)


def _count_row(ws, st: _Styles, row: int, label: str, statuses: Sequence[ReportStatus], text_fmt, num_fmt) -> None:
    counts = {s: sum(1 for r in statuses if r.status == s) for s in REPORT_STATUSES}
    values = (len(statuses), counts["on_time"] + counts["late"], counts["on_time"], counts["late"],
              counts["missing"], counts["invalid"])
    ws.write_string(row, 0, label, text_fmt)
    for c, v in enumerate(values, 1):
        ws.write_number(row, c, v, num_fmt)


# ---------------------------------------------------------------- other sheets


def _extra_sheets(wb, st: _Styles, result: RollupResult, specs: dict[str, Spec]) -> list[str]:
    """Write the sheets after the form sheets; return their names in order."""
    names = [_status_sheet(wb, st, result, specs)]
    if result.overdue or any("overdue" in fr.fields for fr in result.forms.values()):
        names.append(_overdue_sheet(wb, st, result))
    if "self_check" in result.forms or result.findings or result.shortfalls:
        names.append(_self_check_sheet(wb, st, result))
    if result.weekly_rates:
        names.append(_weekly_sheet(wb, st, result))
    for grouping in result.groupings:
        names.append(_grouping_sheet(wb, st, result, specs, grouping))
    names.append(_rejected_sheet(wb, st, result, specs))
    names.append(_source_sheet(wb, st, result, specs))
    return names


class _List:
    """A list sheet: title, one header row, rows whose height fits their wrapped text."""

    def __init__(self, wb, st: _Styles, name: str, title: str, heads: Sequence[str], widths: Sequence[float],
                 sub: str = "", note: str = ""):
        self.ws = wb.add_worksheet(name)
        self.st = st
        self.xml = st.sheet_rows(self.ws)  # the data rows (add)
        self.plans: dict[tuple[str, ...], list[tuple[object, float]]] = {}  # row styles -> (format, width)s
        self.widths = list(widths)
        self.last_col = len(widths) - 1
        for c, w in enumerate(widths):
            self.ws.set_column(c, c, w)
        self.head = _title(self.ws, st, title, self.last_col, sub)
        if note:
            self._note(note)
        self.row = self.heads(heads)

    def _note(self, text: str) -> None:
        """A wrapped explanation across the sheet, above the header."""
        ws, row = self.ws, self.head
        ws.merge_range(row, 0, row, self.last_col, "", self.st["note"])
        ws.write_string(row, 0, text, self.st["note"])
        ws.set_row(row, lines_needed(text, sum(self.widths)) * LINE_PT + 4)
        self.head += 1

    def heads(self, heads: Sequence[str]) -> int:
        """A header row at the current position; return the next row."""
        row = getattr(self, "row", self.head)
        self.ws.write_row(row, 0, heads, self.st["head"])
        self.ws.set_row(row, 30)
        self.row = row + 1
        return self.row

    def add(self, values: Sequence[object], styles: tuple[str, ...]) -> None:
        """One row: text as text, numbers as numbers, times as times; blank for None and "".
        Text from submissions stays text: nothing is turned into a formula, a link or a number."""
        plan = self.plans.get(styles) or self._plan(styles)
        cells, lines = [], 1
        for (fmt, width), value in zip(plan, values):
            kind = type(value)
            if kind is not str and kind is not int and kind is not float and value is not None:
                if isinstance(value, (datetime, date)):  # a time gets a time format, in whatever column
                    fmt = self.st["time"]
                else:
                    value, kind = str(value), str
            if kind is str:
                lines = max(lines, _lines(value, width))
            cells.append((value, fmt))
        self.xml.add(self.row, cells, max(20, lines * LINE_PT + 6))
        self.row += 1

    def _plan(self, styles: tuple[str, ...]) -> list[tuple[object, float]]:
        """(format, width) per column for rows styled `styles`."""
        plan = [(self.st[style], self.widths[c]) for c, style in enumerate(styles)]
        self.plans[styles] = plan
        return plan

    def none(self) -> None:
        """A '（无）' row, so an empty list reads as checked."""
        self.ws.merge_range(self.row, 0, self.row, self.last_col, "", self.st["center"])
        self.ws.write_string(self.row, 0, "（无）", self.st["center"])
        self.row += 1

    def block(self, title: str, heads: Sequence[str]) -> None:
        """A titled sub-table below what is there."""
        self.row += 1
        self.ws.merge_range(self.row, 0, self.row, self.last_col, "", self.st["value"])
        self.ws.write_string(self.row, 0, title, self.st["value"])
        self.row += 1
        self.heads(heads)

    def finish(self, colour_col: int | None = None, first: int | None = None, last: int | None = None,
               autofilter: bool = False) -> str:
        """Colours, filter, frozen header and print set-up; return the sheet's name."""
        head = self.head
        if colour_col is not None:
            _row_colours(self.ws, self.st, first, last, self.last_col, colour_col)
        if autofilter:
            self.ws.autofilter(head, 0, max(self.row - 1, head), self.last_col)
        _print_setup(self.ws, max(self.row - 1, head), self.last_col, head, head, (head + 1, 1))
        return self.ws.name


def _lines(text: str, width: float) -> int:
    """Lines a list cell wraps to: short one-line texts without measuring (most of them)."""
    if len(text) * 15 <= width * 7 - 3 and "\n" not in text:  # even all-CJK it fits (template._px)
        return 1
    return _lines_needed(text, width)


def _row_colours(ws, st: _Styles, first: int, last: int, last_col: int, col: int) -> None:
    """Red for 未报送 / 逾期未完成, yellow for 逾期报送 / 临期, orange for 未通过校验 (column `col`)."""
    if last < first:
        return
    ref = f"${col_letter(col)}{first + 1}"
    rules = ((RED, ("未报送", "逾期未完成")), (YELLOW, ("逾期报送", "临期")), (ORANGE, ("未通过校验",)))
    for colour, words in rules:
        test = ",".join(f'LEFT({ref},{len(w)})="{w}"' for w in words)
        ws.conditional_format(first, 0, last, last_col, {"type": "formula", "criteria": f"=OR({test})",
                                                          "format": st.fill(colour)})


def _names(result: RollupResult) -> dict[str, str]:
    return {o.code: o.name for o in [result.level, *result.units]}


def _title_of(specs: dict[str, Spec], form: str | None) -> str:
    return specs[form].title if form in specs else _text(form)


def _status_sheet(wb, st: _Styles, result: RollupResult, specs: dict[str, Spec]) -> str:
    sheet = _List(wb, st, SHEETS["status"], "报送情况",
                  ("单位", "上级组织", "表单", "周期", "截止时间", "报送情况", "收到时间", "文件名"),
                  (30, 30, 20, 12, 16, 14, 16, 36), _as_of_line(result))  # 周期 12: "2023-10-27" on one line
    tree = result.campaign.orgs
    first = sheet.row
    for s in result.statuses:
        parent = tree.get(s.unit).parent
        sheet.add((s.unit_name, tree.get(parent).name if parent else "", _title_of(specs, s.form), s.period,
                   s.deadline, s.words, s.received, _file_name(s.file)),
                  ("text", "text", "text", "center", "center", "center", "center", "text"))
    return sheet.finish(5, first, sheet.row - 1, autofilter=True)


def _overdue_sheet(wb, st: _Styles, result: RollupResult) -> str:
    heads = ("单位", "问题", "责任领导", "整改时限", "状态", "天数", "文件名", "行")
    sheet = _List(wb, st, SHEETS["overdue"], "逾期事项", heads, (28, 46, 10, 14, 13, 13, 30, 6), _as_of_line(result))
    first, apart = sheet.row, False
    for item in result.overdue:
        if item.status == "ongoing" and not apart:  # 长期坚持 last (sort_items), never overdue: listed apart
            sheet.block("长期坚持的事项（不计逾期，单独列出）", heads)
            apart = True
        sheet.add((item.unit_name, item.item, item.leader, item.deadline_text, OVERDUE_STATUSES[item.status],
                   _days_words(item.status, item.days), _file_name(item.file), item.row),
                  ("text", "text", "center", "center", "center", "center", "text", "num"))
    if not result.overdue:
        sheet.none()
    return sheet.finish(4, first, sheet.row - 1)


def _days_words(status: str, days: int) -> str:
    """逾期 N 天 / 剩 N 天 / 晚 N 天完成 / — (长期坚持)."""
    if status == "ongoing":
        return "—"
    if status == "done_late":
        return f"晚 {days} 天完成"
    return f"逾期 {days} 天" if days > 0 else f"剩 {-days} 天"


def _self_check_sheet(wb, st: _Styles, result: RollupResult) -> str:
    names = _names(result)
    sheet = _List(wb, st, SHEETS["self_check"], "自查发现的问题",
                  ("单位", "自查项目", "问题数", "存在问题", "文件名", "行"), (28, 30, 8, 50, 30, 6),
                  _as_of_line(result))
    for f in result.findings:
        sheet.add((names.get(f.unit, f.unit), f.item, f.problem_count, f.problems, _file_name(f.file), f.row),
                  ("text", "text", "num", "text", "text", "num"))
    if not result.findings:
        sheet.none()
    sheet.block("“三会一课”未达到规定次数的单位", ("单位", "栏目", "单元格", "情况"))
    for unit, p in result.shortfalls:
        sheet.add((names.get(unit, unit), p.field, p.cell, p.message), ("text", "text", "center", "missing_text"))
    if not result.shortfalls:
        sheet.none()
    return sheet.finish()


def _weekly_sheet(wb, st: _Styles, result: RollupResult) -> str:
    periods = sorted({p for rates in result.weekly_rates.values() for p in rates})
    sheet = _List(wb, st, SHEETS["weekly"], "整改完成率（已完成 / 问题数）", ("单位", *periods),
                  (30, *[11] * len(periods)), _as_of_line(result))
    ws, tree = sheet.ws, result.campaign.orgs
    charted = []
    for org in [result.level, *result.units]:
        rates = result.weekly_rates.get(org.code)
        if rates is None:
            continue
        top = org.code == result.level.code or _is_intermediate(tree, org)
        if top:
            charted.append(sheet.row)
        ws.write_string(sheet.row, 0, org.name, st["sub_text"] if top else st["text"])
        for c, p in enumerate(periods, 1):
            value = rates.get(p)
            if value is None:
                ws.write_blank(sheet.row, c, None, st["pct"])
            else:
                ws.write_number(sheet.row, c, value, st["pct"])
        sheet.row += 1
    if periods and charted:
        chart = wb.add_chart({"type": "line"})
        for r in charted[:12]:
            chart.add_series({"name": [ws.name, r, 0], "categories": [ws.name, sheet.head, 1, sheet.head, len(periods)],
                              "values": [ws.name, r, 1, r, len(periods)], "marker": {"type": "circle"}})
        chart.set_title({"name": "整改完成率趋势", "name_font": {"name": "宋体", "size": 12}})
        chart.set_y_axis({"num_format": "0%", "min": 0, "max": 1, "major_gridlines": {"visible": True}})
        chart.set_legend({"position": "bottom", "font": {"name": "宋体"}})
        chart.set_size({"width": 760, "height": 340})
        ws.insert_chart(sheet.row + 1, 0, chart)
        sheet.row += 19
    sheet.last_col = max(sheet.last_col, 8)  # the chart is wider than a few week columns
    return sheet.finish()


def _grouping_sheet(wb, st: _Styles, result: RollupResult, specs: dict[str, Spec], grouping: str) -> str:
    """按督导组（类型）汇总: per form, each group's figures and 应报/已报/按时, then the level's 合计."""
    forms = [(fid, fr) for fid, fr in result.forms.items() if fr.groups.get(grouping) and _has_sheet(fid, result, specs)]
    most = max((len(fr.fields) for _, fr in forms), default=1)
    title = f"按{grouping}汇总"
    sheet = _List(wb, st, sheet_name(title), title, (), (20, *[8] * (most + 3)), _as_of_line(result))
    sheet.row = sheet.head - 1  # no common header: each form is a block with its own
    for fid, fr in forms:
        spec = specs[fid]
        sheet.block(_title_of(specs, fid), ())
        heads = (grouping, *[_label(spec, k).replace("/", "\n") for k in fr.fields], *COVERAGE_HEADS[:3])
        for c, head in enumerate(heads):
            sheet.ws.write_string(sheet.row - 1, c, head, st["head"])
        sheet.ws.set_row(sheet.row - 1, max(lines_needed(h, sheet.widths[c]) for c, h in enumerate(heads)) * LINE_PT + 6)
        styles = ("text", *["num"] * (len(fr.fields) + 3))
        for group, figures in fr.groups[grouping].items():
            cov = fr.group_coverage[grouping].get(group)
            sheet.add((group, *[figures.get(k) for k in fr.fields],
                       *((cov.expected, cov.reported, cov.on_time) if cov else (None,) * 3)), styles)
        cov = fr.coverage.get(result.level.code)
        sheet.add((TOTAL_LABEL, *[fr.totals.get(k) for k in fr.fields],
                   *((cov.expected, cov.reported, cov.on_time) if cov else (None,) * 3)),
                  ("total_text", *["total_num"] * (len(fr.fields) + 3)))
    if not forms:
        sheet.none()
    return sheet.finish()


def _rejected_sheet(wb, st: _Styles, result: RollupResult, specs: dict[str, Spec]) -> str:
    names = _names(result)
    sheet = _List(wb, st, SHEETS["rejected"], "未通过校验的报表",
                  ("文件名", "单位", "表单", "工作表", "单元格", "栏目", "填写内容", "问题"),
                  (32, 26, 16, 14, 16, 22, 14, 50), _as_of_line(result))
    for sub in result.invalid:
        unit = sub.unit_name or names.get(sub.unit_code or "", "")
        for p in [p for p in sub.problems if p.severity == "error"] or sub.problems:
            sheet.add((_file_name(sub.path), unit, _title_of(specs, sub.form), p.sheet, p.cell, p.field, p.value,
                       p.message), ("text", "text", "text", "center", "center", "text", "text", "text"))
    if not result.invalid:
        sheet.none()
    sheet.block("被替代的旧版本（同一单位后来又报送了新版本，只计入最新一份）",
                ("文件名", "单位", "表单", "周期", "收到时间", "以此文件为准"))
    for s in result.superseded:
        sheet.add((_file_name(s.file), names.get(s.unit, s.unit), _title_of(specs, s.form), s.period, s.received,
                   _file_name(s.by)), ("text", "text", "text", "center", "center", "text"))
    if not result.superseded:
        sheet.none()
    sheet.block("未计入汇总的文件", ("文件名", "单位", "表单", "原因"))
    for s in result.set_aside:
        sheet.add((_file_name(s.file), names.get(s.unit or "", s.unit), _title_of(specs, s.form), s.reason),
                  ("text", "text", "text", "text"))
    if not result.set_aside:
        sheet.none()
    sheet.block("同一党支部两种途径报送的数字不一致（以党支部本身的报表为准）",
                ("单位", "栏目", "本单位报表", "汇总表中", "单元格", "本单位文件", "汇总表文件"))
    for k in result.conflicts:
        sheet.add((names.get(k.unit, k.unit), k.label, k.source_value, k.summary_value, k.summary_cell,
                   _file_name(k.source_file), _file_name(k.summary_file)),
                  ("text", "text", "num", "num", "center", "text", "text"))
    if not result.conflicts:
        sheet.none()
    return sheet.finish()


SOURCE_NOTE = ("每行是计入汇总的一份来源数据：表格中的一行，或一份固定格式的报表。“数字所在单元格”是各数字在来源文件"
               "中的位置：表格一整行写作单元格区域（如 B7:X7），区域中各栏依次对应本汇总表该表的各栏；"
               "其余写作“栏目 单元格”（如“座谈会 D7”），同一大栏的写在同一行，几个数字来自同一单元格时只写一次。")
# A ledger's figures counted from the same column as one the roll-up names the cells of.
ITEM_CELLS_OF = {"in_progress": "done", "not_started": "done",
                 "done_late": "overdue", "due_soon": "overdue", "ongoing": "overdue"}


@dataclass(frozen=True)
class SourceRow:
    """One row of the 来源 sheet: a source row (or fixed-layout file) and where its figures are."""

    unit: str
    forms: tuple[str, ...]  # the forms (with a sheet here) its figures count for
    source_form: str
    period: str | None
    file: Path
    sheet: str | None
    row: int | None  # 1-based Excel row; None for a fixed-layout form
    cells: str  # "B7:X7", or "征求意见情况/形式：座谈会 D7 · 信函 F7" lines


def source_rows(result: RollupResult, specs: dict[str, Spec]) -> list[SourceRow]:
    """`result.provenance` grouped by source row, for the forms that have a sheet in the summary."""
    groups: dict[tuple, list[Provenance]] = {}
    for p in result.provenance:
        if p.form in result.forms and _has_sheet(p.form, result, specs):
            groups.setdefault((p.unit, p.period, p.file, p.sheet, p.row), []).append(p)
    paths = {form: {k: _path(specs.get(form), k) for k in fr.fields} for form, fr in result.forms.items()}
    out = []
    known: dict[tuple, str] = {}  # files filled in one template name the same cells: word them once
    for (unit, period, file, sheet, row), entries in groups.items():
        texts = []
        for p in entries:
            key = (p.form, p.row, tuple(p.cells.items()))
            if key not in known:
                known[key] = _cells_text(p, result.forms[p.form].fields, paths[p.form])
            texts.append(known[key])
        if len(entries) > 1:  # one row counting for two forms: say which cells are whose
            texts = [f"{_title_of(specs, p.form)}：{t}" for p, t in zip(entries, texts)]
        out.append(SourceRow(unit, tuple(p.form for p in entries), entries[0].source_form, period, file, sheet,
                             row, "\n".join(texts)))
    return out


def _cells_text(p: Provenance, fields: Sequence[str], paths: dict[str, tuple[str, ...]]) -> str:
    """Where each figure of `p` is: a table row's range, else '栏目 单元格' grouped by their upper label."""
    cells = {k: p.cells.get(k) or p.cells.get(ITEM_CELLS_OF.get(k, ""), "") for k in fields}
    keys = [k for k in fields if cells[k]]
    span = _row_span([cells[k] for k in keys], p.row) if keys == list(fields) else ""
    if span:
        return span
    lines = []
    for parent, group in groupby(keys, key=lambda k: paths[k][:-1]):
        group = list(group)
        if parent and len(group) > 1 and len({cells[k] for k in group}) == 1:
            lines.append(f"{'/'.join(parent)} {cells[group[0]]}")  # e.g. 分类定级: one choice cell
            continue
        text = " · ".join(f"{'、'.join(paths[k][-1] for k in same)} {cell}"
                          for cell, same in groupby(group, key=cells.get))
        lines.append(f"{'/'.join(parent)}：{text}" if parent else text)
    return "\n".join(lines)


def _row_span(cells: Sequence[str], row: int | None) -> str:
    """'B7:X7' when the cells are one row's neighbouring columns in order, else ''."""
    if row is None or len(cells) < 2:
        return ""
    try:
        places = [parse_a1(c) for c in cells]
    except ValueError:  # a range or a list of cells
        return ""
    first = places[0][1]
    if places != [(row - 1, first + i) for i in range(len(places))]:
        return ""
    return f"{cells[0]}:{cells[-1]}"


def _path(spec: Spec | None, key: str) -> tuple[str, ...]:
    """A figure's label path (a ledger figure's words), for the 来源 sheet."""
    words = dict(ITEM_COLUMNS)
    if key in words:
        return words[key]
    try:
        return spec.field(key).path if spec else (key,)
    except KeyError:
        return (key,)


def _source_sheet(wb, st: _Styles, result: RollupResult, specs: dict[str, Spec]) -> str:
    names = _names(result)
    rows = source_rows(result, specs)
    weeks = any(r.period for r in rows)
    heads = ("单位", "计入表单", *(("周期",) if weeks else ()), "来源文件", "来源表单", "工作表", "行", "数字所在单元格")
    widths = (22, 14, *((11,) if weeks else ()), 28, 12, 12, 6, 74)  # 问题梳理情况’s six cells fit one line
    styles = ("text", "text", *(("center",) if weeks else ()), "text", "text", "text", "num", "text")
    sheet = _List(wb, st, SHEETS["source"], "数字来源", heads, widths, _as_of_line(result), SOURCE_NOTE)
    for r in rows:
        sheet.add((names.get(r.unit, r.unit), "、".join(_title_of(specs, f) for f in r.forms),
                   *((r.period,) if weeks else ()), _file_name(r.file), _title_of(specs, r.source_form), r.sheet,
                   r.row, r.cells), styles)
    if not rows:
        sheet.none()
    return sheet.finish(autofilter=True)


def _label(spec: Spec | None, key: str) -> str:
    """A figure's full label, e.g. '问题梳理情况/合计' (a ledger figure's words)."""
    return "/".join(_path(spec, key))


# ---------------------------------------------------------------- metadata


def _metadata(wb: xlsxwriter.Workbook, result: RollupResult, closing: Spec | None) -> None:
    """The hidden metadata sheet: the form the summary is a submission of, and the level."""
    meta = template_metadata(closing, result.level) if closing else \
        {"generator": "zhenggai-xls", "unit_code": result.level.code, "unit_name": result.level.name}
    meta |= {"summary": "1", "as_of": result.as_of.isoformat(sep=" ")}
    ws = wb.add_worksheet(METADATA_SHEET)
    for r, (key, value) in enumerate(meta.items()):
        ws.write_string(r, 0, key)
        ws.write_string(r, 1, str(value))
    ws.hide()


__all__ = ["write_summary", "consolidated_rows", "form_sheet_name", "source_rows", "SourceRow",
           "SUBTOTAL_PREFIX", "MISSING"]
