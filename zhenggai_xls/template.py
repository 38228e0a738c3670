"""Blank templates drawn from the specs: what a clerk fills in, prints and sends back.

Everything here is derived from `Spec`; no form has code of its own, so a new
spec file gives a new template. Layout in short: a title row, the header lines
(填报单位（盖章）… 填报日期), then either the table with its merged header
(kind "table") or one row per Line with the body's table drawn in place (kind
"form"); a 填表说明 sheet; a hidden metadata sheet the reader recognises.
"""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field as dc_field
from datetime import date, datetime
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import xlsxwriter

from .errors import ZhenggaiError
from .excel import LIST_SOURCE_MAX, METADATA_SHEET, a1, atomic_path, col_letter, quote_sheet, range_a1, sheet_name
from .orgs import Org, OrgTree
from .spec import FIELD_TYPES, Field, Group, Line, Rule, Spec, Table, leaves

GENERATOR = "zhenggai-xls"
GUIDE_SHEET = "填表说明"
LIST_SHEET = "_lists"
# A fixed creation time makes the same spec give the same bytes (staleness test, diffs).
CREATED = datetime(2024, 1, 1)
FONT = "宋体"
DEADLINE_WORDS = ("立行立改", "长期坚持", "立行立改，长期坚持")
TEXT_MAX = 500
DATE_MIN, DATE_MAX = date(2000, 1, 1), date(2099, 12, 31)

LINE_PT = 15  # one line of 11pt CJK text
INPUT_PT = 24  # an input row: room to write by hand on paper
SLOT = 4  # width of one grid column of a fixed-layout form
SECTION_W, SUB_W = 10, 8  # form columns A (section) and B (sub label)
MIN_CONTENT = 100  # forms are at least this wide, so they fill a landscape page
PAIRS_PER_ROW = 4  # longer form lines continue on the next row
SUMMED_TYPES = ("count", "mark")  # on a 合计 row a mark column counts marks
INPUT_WIDTH = {"count": 8, "mark": 6, "date": 14, "deadline": 14, "phone": 14,
               "email": 24, "code": 12, "text": 20}


# ---------------------------------------------------------------- measuring


def text_width(text: str) -> int:
    """Display width in Excel column units: a CJK character counts 2."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WFA" else 1 for ch in text)


def _px(width: float) -> float:
    """Pixels of a column of `width` units (Calibri 11: 7 px a unit plus padding)."""
    return width * 7 + 5


def lines_needed(text: str, width: float) -> int:
    """How many lines `text` wraps to in a cell `width` units wide."""
    usable = max(_px(width) - 8, 16)
    total = 0
    for part in str(text).split("\n"):
        lines, used = 1, 0.0
        for ch in part:
            w = 15.0 if unicodedata.east_asian_width(ch) in "WFA" else 8.0
            if used + w > usable:
                lines, used = lines + 1, 0.0
            used += w
        total += lines
    return total


def column_width(f: Field) -> float:
    """A table column's width: the spec's, or one that fits its label and values."""
    if f.width:
        return float(f.width)
    label = text_width(f.label)
    if f.type in ("count", "mark"):
        # Short labels on one line; longer ones wrap to two balanced lines, as on the paper form.
        return float(max(label + 2, 5) if label <= 6 else 6 if label <= 8 else 8)
    if f.type == "choice":
        longest = max(text_width(c.value) for c in f.choices)
        return float(max(longest + 4, min(label + 2, 12), 6))
    if f.type in ("text",):
        return float(min(max(label + 2, 12), 30))
    return float(max(INPUT_WIDTH.get(f.type, 12), min(label + 2, 14)))


def snap(widths: Sequence[float], needs: Sequence[float]) -> list[tuple[int, int]]:
    """Split columns with `widths` into len(needs) runs of about `needs` (scaled), shortfalls avoided.

    A small dynamic programme over the column boundaries: a run narrower than
    its share costs four times more than one as much wider, so labels are
    rarely squeezed.
    """
    n, k = len(widths), len(needs)
    if k > n:
        raise ValueError("more items than columns")
    edges = [0.0]
    for w in widths:
        edges.append(edges[-1] + w)
    scale = edges[-1] / (sum(needs) or 1)
    inf = float("inf")
    # best[j][b]: cost of placing the first j items in columns 0..b-1; back[j][b]: where item j-1 starts
    best = [[inf] * (n + 1) for _ in range(k + 1)]
    back = [[0] * (n + 1) for _ in range(k + 1)]
    best[0][0] = 0.0
    for j in range(1, k + 1):
        target = needs[j - 1] * scale
        for b in range(j, n - (k - j) + 1):
            for a in range(j - 1, b):
                if best[j - 1][a] == inf:
                    continue
                gap = edges[b] - edges[a] - target
                cost = best[j - 1][a] + gap * gap * (4 if gap < 0 else 1)
                if cost < best[j][b]:
                    best[j][b], back[j][b] = cost, a
    runs, b = [], n
    for j in range(k, 0, -1):
        a = back[j][b]
        runs.append((a, b - 1))
        b = a
    return runs[::-1]


# ---------------------------------------------------------------- formats


_BASE = {"font_name": FONT, "font_size": 11, "valign": "vcenter"}
_STYLES: dict[str, dict] = {
    "title": {"bold": True, "font_size": 18, "align": "center"},
    "head_label": {"align": "right"},
    "head_input": {"bottom": 1, "locked": False, "align": "left"},
    "head_fixed": {"bottom": 1, "align": "left", "bold": True},
    "header": {"bold": True, "border": 1, "align": "center", "text_wrap": True, "bg_color": "#F2F2F2"},
    "label": {"border": 1, "align": "center", "text_wrap": True},
    "section": {"border": 1, "align": "center", "text_wrap": True, "bold": True},
    "preset": {"border": 1, "align": "left", "indent": 1, "text_wrap": True, "bg_color": "#F2F2F2"},
    "fixed": {"border": 1, "align": "left", "indent": 1, "text_wrap": True, "bold": True},
    "total": {"border": 1, "align": "center", "bold": True, "bg_color": "#F2F2F2", "num_format": "0"},
    "input": {"border": 1, "locked": False, "text_wrap": True},
    "note": {"align": "left", "valign": "top", "text_wrap": True, "font_size": 10},
    "guide_text": {"align": "left", "valign": "top", "text_wrap": True, "border": 1, "indent": 1},
}
_INPUT_BY_TYPE: dict[str, dict] = {
    "count": {"align": "center", "num_format": "0"},
    "mark": {"align": "center"},
    "choice": {"align": "center"},
    "date": {"align": "center", "num_format": "yyyy-mm-dd"},
    "deadline": {"align": "center", "num_format": "yyyy-mm-dd"},
    "phone": {"align": "center", "num_format": "@"},  # keep leading zeros of 023-…
    "code": {"align": "center", "num_format": "@"},
    "email": {"align": "left"},
    "text": {"align": "left", "num_format": "@"},
}


class Formats:
    """Formats created once per workbook, by style name (and field type)."""

    def __init__(self, wb: xlsxwriter.Workbook):
        self.wb = wb
        self.cache: dict[tuple, object] = {}

    def __call__(self, style: str, ftype: str | None = None, **extra):
        key = (style, ftype, tuple(sorted(extra.items())))
        if key not in self.cache:
            props = {**_BASE, **_STYLES[style], **(_INPUT_BY_TYPE.get(ftype, {}) if ftype else {}), **extra}
            self.cache[key] = self.wb.add_format(props)
        return self.cache[key]


# ---------------------------------------------------------------- the sheet grid


@dataclass
class _Input:
    """A block of input cells of one field (one cell, a merged cell, or a column of rows)."""

    field: Field
    r0: int
    c0: int
    r1: int
    c1: int
    note: str = ""


@dataclass
class Grid:
    """The form sheet being drawn: column widths, height needs, inputs to validate."""

    ws: object
    fmt: Formats
    widths: list[float]
    heights: dict[int, float] = dc_field(default_factory=dict)
    tall: list[tuple[int, int, float]] = dc_field(default_factory=list)  # merged over rows: (r0, r1, pt)
    inputs: list[_Input] = dc_field(default_factory=list)
    meta: dict[str, str] = dc_field(default_factory=dict)

    def span_width(self, c0: int, c1: int) -> float:
        """Width in units of columns c0..c1 as one merged cell."""
        return (sum(_px(w) for w in self.widths[c0:c1 + 1]) - 5) / 7

    def height(self, row: int, pt: float) -> None:
        self.heights[row] = max(self.heights.get(row, 0), pt)

    def put(self, r0: int, c0: int, r1: int, c1: int, value, fmt, pad: float = 6) -> None:
        """Write text (merged when the range is larger than one cell) and note the height it needs."""
        text = "" if value is None else str(value)
        if (r0, c0) == (r1, c1):
            self.ws.write_string(r0, c0, text, fmt) if text else self.ws.write_blank(r0, c0, None, fmt)
        else:
            self.ws.merge_range(r0, c0, r1, c1, "", fmt)
            if text:
                self.ws.write_string(r0, c0, text, fmt)
        if text:
            need = lines_needed(text, self.span_width(c0, c1)) * LINE_PT + pad
            if r0 == r1:
                self.height(r0, need)
            else:
                self.tall.append((r0, r1, need))

    def field_input(self, f: Field, r0: int, c0: int, r1: int, c1: int, style: str = "input",
                    note: str = "", rows: int = 1) -> None:
        """Draw an input block: `rows` rows of merged c0..c1 cells, validated as one."""
        fmt = self.fmt(style, f.type)
        for r in range(r0, r0 + rows):
            self.put(r, c0, r + (r1 - r0 if rows == 1 else 0), c1, None, fmt)
        last = r1 if rows == 1 else r0 + rows - 1
        self.inputs.append(_Input(f, r0, c0, last, c1, note))

    def fixed_value(self, f: Field, r0: int, c0: int, r1: int, c1: int, value: str, style: str) -> None:
        """A prefilled, locked value in an input place (the unit's name); still validated."""
        self.put(r0, c0, r1, c1, value, self.fmt(style))
        self.inputs.append(_Input(f, r0, c0, r1, c1))

    def finish(self) -> None:
        """Set column widths and row heights once every need is known."""
        for c, w in enumerate(self.widths):
            self.ws.set_column(c, c, w)
        for r0, r1, need in self.tall:
            have = sum(self.heights.get(r, LINE_PT + 6) for r in range(r0, r1 + 1))
            if have < need:
                self.heights[r1] = self.heights.get(r1, LINE_PT + 6) + need - have
        for r, pt in sorted(self.heights.items()):
            self.ws.set_row(r, pt)


# ---------------------------------------------------------------- header lines


def header_rows(spec: Spec) -> list[list[Field]]:
    """The header fields two to a row: the unit with the date first, as on paper forms."""
    first = [f for f in spec.header if f.role == "unit"]
    first += [f for f in spec.header if f.type == "date" and f not in first]
    ordered = first + [f for f in spec.header if f not in first]
    return [ordered[i:i + 2] for i in range(0, len(ordered), 2)]


def write_header_lines(g: Grid, spec: Spec, row: int, c0: int, c1: int, unit: Org | None) -> int:
    """Draw 填报单位（盖章）：____ 填报日期：____ … over columns c0..c1; return the next row."""
    for pair in header_rows(spec):
        parts = snap(g.widths[c0:c1 + 1], [1] * len(pair)) if c1 - c0 + 1 >= 2 * len(pair) else None
        if parts is None:  # too narrow for two on a row
            parts, pair = [(0, c1 - c0)], pair[:1]
        for f, (p0, p1) in zip(pair, parts):
            a, b = c0 + p0, c0 + p1
            label = f.label + "："
            split = a
            while split < b - 1 and g.span_width(a, split) < text_width(label) + 2:
                split += 1
            g.put(row, a, row, split, label, g.fmt("head_label"))
            if unit is not None and f.role == "unit":
                g.fixed_value(f, row, split + 1, row, b, unit.name, "head_fixed")
            else:
                g.field_input(f, row, split + 1, row, b, style="head_input")
        g.height(row, INPUT_PT)
        row += 1
    if spec.header:
        g.height(row, 6)  # a thin gap, so the last underline is not lost in the table's top border
        row += 1
    return row


# ---------------------------------------------------------------- tables


def group_notes(columns: Sequence[Group | Field], inherited: str = "") -> dict[str, str]:
    """Each leaf's notes inherited from the groups above it, by field key."""
    out: dict[str, str] = {}
    for node in columns:
        if isinstance(node, Group):
            note = "；".join(n for n in (inherited, node.note) if n)
            out.update(group_notes(node.children, note))
        else:
            out[node.key] = inherited
    return out


def write_table_header(g: Grid, table: Table, top: int, spans: Mapping[str, tuple[int, int]]) -> int:
    """Draw the (merged, multi-row) header: a group spans its leaves, a leaf reaches the last row."""
    last = top + table.header_depth - 1
    fmt = g.fmt("header")

    def place(nodes: Sequence[Group | Field], row: int) -> None:
        for node in nodes:
            if isinstance(node, Group):
                keys = [f.key for f in leaves(node.children)]
                g.put(row, spans[keys[0]][0], row, spans[keys[-1]][1], node.label, fmt)
                place(node.children, row + 1)
            else:
                g.put(row, spans[node.key][0], last, spans[node.key][1], node.label, fmt)

    place(table.columns, top)
    return last + 1


def _label_key(table: Table) -> str:
    """The column holding the row names (preset rows, 合计)."""
    return table.preset_field or table.unit_field or table.fields[0].key


def _write_table_body(g: Grid, table: Table, top: int, spans: Mapping[str, tuple[int, int]],
                      preset: Sequence[str] | None = None, extra_blank: int = 0) -> int:
    """Draw the 合计 row (on top, as in party statistics) and the input rows; return the next row."""
    names = list(preset if preset is not None else table.rows)
    count = len(names) + extra_blank if names else table.blank_rows
    label_key = _label_key(table)
    notes = group_notes(table.columns)
    total_row = top if table.total_row else None
    first = top + (1 if table.total_row else 0)
    last = first + count - 1
    for f in table.fields:
        c0, c1 = spans[f.key]
        if f.key == label_key and names:
            for i, name in enumerate(names):
                g.put(first + i, c0, first + i, c1, name, g.fmt("preset"))
            if count > len(names):
                g.field_input(f, first + len(names), c0, first + len(names), c1,
                              note=notes[f.key], rows=count - len(names))
        else:
            g.field_input(f, first, c0, first, c1, note=notes[f.key], rows=count)
        if total_row is not None:
            _write_total_cell(g, f, total_row, c0, c1, first, last, f.key == label_key, table.total_row)
    for r in range(top, last + 1):
        g.height(r, INPUT_PT)
    g.meta["table_data"] = range_a1(first, min(s[0] for s in spans.values()), last, max(s[1] for s in spans.values()))
    return last + 1


def _write_total_cell(g: Grid, f: Field, row: int, c0: int, c1: int, first: int, last: int,
                      is_label: bool, label: str) -> None:
    fmt = g.fmt("total")
    if is_label:
        g.put(row, c0, row, c1, label, fmt)
    elif f.type in SUMMED_TYPES:
        if c1 > c0:
            g.ws.merge_range(row, c0, row, c1, "", fmt)
        # The cached result 0 lets readers that do not compute formulas see a number.
        g.ws.write_formula(row, c0, f"=SUM({a1(first, c0)}:{a1(last, c0)})", fmt, 0)
    else:
        g.put(row, c0, row, c1, None, fmt)


# ---------------------------------------------------------------- kind "table"


def _draw_table_kind(g: Grid, spec: Spec, unit: Org | None, preset: Sequence[str] | None) -> dict:
    table = spec.table
    n = len(table.fields)
    spans = {f.key: (i, i) for i, f in enumerate(table.fields)}
    g.put(0, 0, 0, n - 1, spec.title, g.fmt("title"), pad=12)
    row = write_header_lines(g, spec, 1, 0, n - 1, unit)
    head_top = row
    row = write_table_header(g, table, row, spans)
    g.meta["table_header"] = range_a1(head_top, 0, row - 1, n - 1)
    end = _write_table_body(g, table, row, spans, preset, extra_blank=2 if preset else 0)
    first_col_is_name = _label_key(table) == table.fields[0].key
    g.ws.freeze_panes(row, 1 if first_col_is_name else 0)
    g.ws.repeat_rows(head_top, row - 1)
    return {"last_row": _write_notes(g, spec, end, n - 1), "last_col": n - 1}


def _table_widths(table: Table, names: Sequence[str] | None) -> list[float]:
    """Column widths of a table sheet; the name column widened to fit preset names on one line."""
    widths = [column_width(f) for f in table.fields]
    names = list(names or table.rows)
    if names:
        i = [f.key for f in table.fields].index(_label_key(table))
        widths[i] = max(widths[i], min(max(text_width(n) for n in names) + 3, 44))
    return widths


def _write_notes(g: Grid, spec: Spec, row: int, last_col: int) -> int:
    """A 注： line under the form: group notes and the description, as printed forms have."""
    parts = []
    table = spec.table
    if table is not None:
        parts += [f"{node.label}：{node.note}" for node in _groups(table.columns) if node.note]
    if spec.description:
        parts.append(spec.description)
    if not parts:
        return row - 1
    text = "注：" + (parts[0] if len(parts) == 1 else " ".join(f"{i}. {p}" for i, p in enumerate(parts, 1)))
    g.put(row, 0, row, last_col, text, g.fmt("note"))
    return row


def _groups(nodes: Sequence[Group | Field]) -> Iterable[Group]:
    for node in nodes:
        if isinstance(node, Group):
            yield node
            yield from _groups(node.children)


# ---------------------------------------------------------------- kind "form"


def _chunks(fields: Sequence[Field]) -> list[list[Field]]:
    """A line's fields split into balanced rows of at most PAIRS_PER_ROW."""
    rows = math.ceil(len(fields) / PAIRS_PER_ROW)
    per_row = math.ceil(len(fields) / rows)
    return [list(fields[i:i + per_row]) for i in range(0, len(fields), per_row)]


def _shows_label(f: Field, line: Line) -> bool:
    """A field named like its section or sub label needs no label cell of its own."""
    return f.label not in (line.section, line.sub)


def _label_need(f: Field, line: Line) -> float:
    return text_width(f.label) + 2 if _shows_label(f, line) else 0


def _input_need(f: Field) -> float:
    if f.type == "choice":
        return max(text_width(c.value) for c in f.choices) + 6
    return INPUT_WIDTH.get(f.type, 12)


def _line_needs(line: Line) -> tuple[list[float], list[float]]:
    """Per position across the line's rows: the label width and the input width it needs."""
    chunks = _chunks(line.fields)
    npos = max(len(c) for c in chunks)
    labels = [max((_label_need(c[p], line) for c in chunks if p < len(c)), default=0) for p in range(npos)]
    inputs = [max((_input_need(c[p]) for c in chunks if p < len(c)), default=0) for p in range(npos)]
    return labels, inputs


def _form_columns(spec: Spec) -> tuple[list[float], bool]:
    """Column widths of a form: section, sub label (when any line has one), grid slots."""
    has_sub = any(line.sub for line in spec.lines)
    content = float(MIN_CONTENT)
    for line in spec.lines:
        labels, inputs = _line_needs(line)
        content = max(content, sum(math.ceil(w / SLOT) * SLOT for w in labels) + sum(inputs))
    if spec.table is not None:
        content = max(content, sum(column_width(f) for f in spec.table.fields) - (SUB_W if has_sub else 0))
    slots = max(math.ceil(content / SLOT), 2 * PAIRS_PER_ROW)
    return [SECTION_W] + ([SUB_W] if has_sub else []) + [SLOT] * slots, has_sub


def _line_spans(g: Grid, line: Line, c0: int, c1: int) -> list[tuple[int, int]]:
    """Label and input runs for each position of a line: labels fit, inputs share the rest."""
    labels, inputs = _line_needs(line)
    total = g.span_width(c0, c1)
    slack = max(total - sum(labels) - sum(inputs), 0)
    needs: list[float] = []
    for lw, iw in zip(labels, inputs):
        needs += [lw, iw + slack * iw / sum(inputs)]
    runs = snap(g.widths[c0:c1 + 1], needs)
    return [(c0 + a, c0 + b) for a, b in runs]


def _draw_line(g: Grid, line: Line, row: int, c0: int, c1: int, unit: Org | None) -> int:
    """Draw one Line (one or more rows) of label/input pairs in columns c0..c1."""
    runs = _line_spans(g, line, c0, c1)
    chunks = _chunks(line.fields)
    for chunk in chunks:
        for p, f in enumerate(chunk):
            (l0, l1), (i0, i1) = runs[2 * p], runs[2 * p + 1]
            if p == len(chunk) - 1:
                i1 = c1  # a shorter last row: its last input reaches the right edge
            if _shows_label(f, line):
                g.put(row, l0, row, l1, f.label, g.fmt("label"))
            else:
                i0 = l0
            if unit is not None and f.role == "unit":
                g.fixed_value(f, row, i0, row, i1, unit.name, "fixed")
            else:
                g.field_input(f, row, i0, row, i1)
        g.height(row, INPUT_PT + (8 if any(f.type == "text" for f in chunk) else 0))
        row += 1
    return row


def _section_runs(body: Sequence[Line | Table]) -> list[list[Line | Table]]:
    """Consecutive blocks sharing a section label (merged vertically in column A)."""
    runs: list[list[Line | Table]] = []
    for block in body:
        if runs and isinstance(block, Line) and isinstance(runs[-1][-1], Line) \
                and runs[-1][-1].section == block.section:
            runs[-1].append(block)
        else:
            runs.append([block])
    return runs


def _draw_form_kind(g: Grid, spec: Spec, unit: Org | None, has_sub: bool) -> dict:
    last_col = len(g.widths) - 1
    g.put(0, 0, 0, last_col, spec.title, g.fmt("title"), pad=12)
    row = write_header_lines(g, spec, 1, 0, last_col, unit)
    content0 = 2 if has_sub else 1
    for run in _section_runs(spec.body):
        top = row
        block = run[0]
        if isinstance(block, Table):
            row = _draw_form_table(g, block, row, 1, last_col)
            g.put(top, 0, row - 1, 0, block.section, g.fmt("section"))
            continue
        with_sub = has_sub and any(line.sub for line in run)
        for line in run:
            start = row
            row = _draw_line(g, line, row, content0, last_col, unit)
            if with_sub:
                g.put(start, 1, row - 1, 1, line.sub, g.fmt("label"))
        g.put(top, 0, row - 1, content0 - 1 if not with_sub else 0, run[0].section, g.fmt("section"))
    return {"last_row": _write_notes(g, spec, row, last_col), "last_col": last_col}


def _draw_form_table(g: Grid, table: Table, top: int, c0: int, c1: int) -> int:
    """A form's table: its columns snapped onto the grid between c0 and c1."""
    runs = snap(g.widths[c0:c1 + 1], [column_width(f) for f in table.fields])
    spans = {f.key: (c0 + a, c0 + b) for f, (a, b) in zip(table.fields, runs)}
    row = write_table_header(g, table, top, spans)
    g.meta["table_header"] = range_a1(top, c0, row - 1, c1)
    return _write_table_body(g, table, row, spans)


# ---------------------------------------------------------------- validation


def requirement(f: Field, extra_note: str = "") -> str:
    """What to type into a field, in words (input prompts and the 填表说明 sheet)."""
    parts = [FIELD_TYPES[f.type]]
    if f.choices:
        parts.append("可选：" + "、".join(f.choice_values))
    if f.required:
        parts.append("必填")
    parts += [n for n in (extra_note, f.note) if n]
    return "；".join(parts) + "。"


def _error_message(f: Field) -> str:
    label = f"“{f.full_label}”"
    return {
        "count": f"{label}请填写 0 或正整数（如 0、3），不要填小数、负数或文字。",
        "mark": f"{label}只能填数字“1”，不适用的栏留空。",
        "choice": f"{label}请从下拉列表中选择：{'、'.join(f.choice_values)}。",
        "date": f"{label}请填写日期，如 2024-06-20。",
        "deadline": f"{label}请填写日期（如 2024-12-31），或“立行立改”“长期坚持”。确需填写“12月底”等，可点“是”继续。",
        "text": f"{label}不能超过 {TEXT_MAX} 个字。",
        "phone": f"{label}不像电话号码，请核对（如 023-72221234 或 13800000000）。",
        "email": f"{label}请填写有效的电子邮箱，如 name@example.com。",
        "code": f"{label}应为 1 至 30 个字符的代码。",
    }[f.type]


class _Lists:
    """Long dropdown lists live on a hidden sheet (inline lists stop at LIST_SOURCE_MAX)."""

    def __init__(self, wb: xlsxwriter.Workbook):
        self.wb = wb
        self.ws = None
        self.columns: dict[tuple[str, ...], str] = {}

    def source(self, values: tuple[str, ...]):
        inline = ",".join(values)
        if len(inline) <= LIST_SOURCE_MAX and not any("," in v or '"' in v for v in values):
            return list(values)
        if values not in self.columns:
            if self.ws is None:
                self.ws = self.wb.add_worksheet(LIST_SHEET)
                self.ws.hide()
            col = len(self.columns)
            for i, v in enumerate(values):
                self.ws.write_string(i, col, v)
            letter = col_letter(col)
            self.columns[values] = f"={quote_sheet(LIST_SHEET)}!${letter}$1:${letter}${len(values)}"
        return self.columns[values]


def validation(f: Field, first_cell: str, lists: _Lists, note: str = "") -> dict:
    """The xlsxwriter data_validation options for a field's input cells."""
    c = first_cell
    rule: dict = {
        "count": {"validate": "integer", "criteria": ">=", "value": 0},
        "mark": {"validate": "list", "source": ["1"]},
        "date": {"validate": "date", "criteria": "between", "minimum": DATE_MIN, "maximum": DATE_MAX},
        "deadline": {"validate": "custom", "error_type": "warning",
                     "value": "=OR(ISNUMBER({c}),{words})".format(
                         c=c, words=",".join(f'{c}="{w}"' for w in DEADLINE_WORDS))},
        "text": {"validate": "length", "criteria": "<=", "value": TEXT_MAX},
        "phone": {"validate": "length", "criteria": "between", "minimum": 5, "maximum": 40,
                  "error_type": "warning"},
        "email": {"validate": "custom", "value": f'=AND(ISNUMBER(FIND("@",{c})),LEN({c})<=100)'},
        "code": {"validate": "length", "criteria": "between", "minimum": 1, "maximum": 30},
    }.get(f.type) or {"validate": "list", "source": lists.source(f.choice_values)}
    return {
        **rule,
        "input_title": f.full_label[:32],
        "input_message": requirement(f, note)[:255],
        "error_title": "填写有误",
        "error_message": _error_message(f)[:255],
    }


def _add_validations(g: Grid, lists: _Lists) -> None:
    for block in g.inputs:
        opts = validation(block.field, a1(block.r0, block.c0), lists, block.note)
        g.ws.data_validation(block.r0, block.c0, block.r1, block.c1, opts)


# ---------------------------------------------------------------- other sheets


def describe_rule(rule: Rule, spec: Spec) -> str:
    """A rule in words: its message, or one built from its kind and parameters."""
    if rule.message:
        return rule.message
    p = rule.params

    def q(key: str) -> str:
        return f"“{spec.field(key).full_label}”"

    def qs(keys: Sequence[str]) -> str:
        return "、".join(q(k) for k in keys)

    text = {
        "sum": lambda: f"{q(p['total'])}应等于{qs(p['parts'])}之和。",
        "at_most": lambda: f"{qs(p['parts'])}{'之和' if len(p['parts']) > 1 else ''}不能超过{q(p['limit'])}。",
        "exactly_one": lambda: f"{qs(p['fields'])}中只能有一项标“1”。",
        "requires": lambda: "相关栏目须一并填写。",
        "not_after": lambda: f"{q(p['field'])}不能晚于{q(p['limit'])}。",
        "frequency": lambda: (f"{q(p['field'])}在{q(p['start'])}至{q(p['end'])}期间应每"
                              f"{'月' if p['every'] == 'month' else '季度'}至少 {p['times']} 次。"),
        "not_decreasing": lambda: f"{q(p['field'])}不应比上一期减少。",
        "weekly_delta": lambda: f"{q(p['field'])}应等于{q(p['of'])}比上一期增加的数。",
    }[rule.kind]()
    return text


def _write_guide(wb: xlsxwriter.Workbook, fmt: Formats, spec: Spec) -> None:
    """The 填表说明 sheet: every field's requirement and every rule, printable."""
    ws = wb.add_worksheet(GUIDE_SHEET)
    g = Grid(ws, fmt, [6.0, 38.0, 64.0])
    g.put(0, 0, 0, 2, f"{spec.title}填表说明", fmt("title"), pad=12)
    row = 1
    if spec.description:
        g.put(row, 0, row, 2, spec.description, fmt("note", font_size=11))
        row += 1
    notes = group_notes(spec.table.columns) if spec.table else {}
    row = _guide_table(g, row + 1, ("序号", "栏目", "填写要求"),
                       [(f.full_label, requirement(f, notes.get(f.key, ""))) for f in spec.fields])
    if spec.rules:
        items = [(r.name + ("（提醒）" if r.severity == "warning" else ""), describe_rule(r, spec)) for r in spec.rules]
        row = _guide_table(g, row + 1, ("序号", "校验规则", "说明"), items)
    g.finish()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
    ws.set_footer("&C第 &P 页，共 &N 页")
    ws.print_area(0, 0, row - 1, 2)


def _guide_table(g: Grid, row: int, heads: tuple[str, str, str], items: Sequence[tuple[str, str]]) -> int:
    for c, head in enumerate(heads):
        g.put(row, c, row, c, head, g.fmt("header"))
    for i, (name, text) in enumerate(items, 1):
        row += 1
        g.put(row, 0, row, 0, str(i), g.fmt("label"))
        g.put(row, 1, row, 1, name, g.fmt("guide_text"))
        g.put(row, 2, row, 2, text, g.fmt("guide_text"))
    return row + 1


def template_metadata(spec: Spec, unit: Org | None = None) -> dict[str, str]:
    """The key/value pairs of the hidden metadata sheet (without layout keys)."""
    meta = {"generator": GENERATOR, "form": spec.id, "version": str(spec.version), "title": spec.title}
    if unit is not None:
        meta |= {"unit_code": unit.code, "unit_name": unit.name}
    return meta


def _write_metadata(wb: xlsxwriter.Workbook, meta: Mapping[str, str]) -> None:
    # Plain hidden (not veryHidden) so it survives conversion to .xls/.ods.
    ws = wb.add_worksheet(METADATA_SHEET)
    for r, (key, value) in enumerate(meta.items()):
        ws.write_string(r, 0, key)
        ws.write_string(r, 1, value)
    ws.hide()


# ---------------------------------------------------------------- public API


def write_template(spec: Spec, path: Path | str, unit: Org | None = None,
                   unit_rows: Sequence[str] | None = None) -> Path:
    """Write the blank template of `spec` to `path`; with `unit`, its name filled in and locked.

    `unit_rows` (names of the units a table has one row per, e.g. the branches
    under a 党(工)委) are written into the table's unit column and locked.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        wb = xlsxwriter.Workbook(str(tmp))
        wb.set_properties({"title": spec.title, "author": GENERATOR, "created": CREATED})
        fmt = Formats(wb)
        ws = wb.add_worksheet(sheet_name(spec.title))
        if spec.kind == "table":
            g = Grid(ws, fmt, _table_widths(spec.table, unit_rows))
            extent = _draw_table_kind(g, spec, unit, unit_rows)
        else:
            widths, has_sub = _form_columns(spec)
            g = Grid(ws, fmt, widths)
            extent = _draw_form_kind(g, spec, unit, has_sub)
        g.finish()
        _write_guide(wb, fmt, spec)
        _add_validations(g, _Lists(wb))
        page_setup(ws, extent["last_row"], extent["last_col"])
        if unit is not None:
            ws.protect("", {"format_columns": True, "format_rows": True, "insert_rows": True})
        _write_metadata(wb, template_metadata(spec, unit) | g.meta)
        ws.activate()
        wb.close()
    return path


def page_setup(ws, last_row: int, last_col: int) -> None:
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)  # one page wide, as many pages tall as needed
    ws.center_horizontally()
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.7)
    ws.set_footer("&C第 &P 页，共 &N 页")
    ws.print_area(0, 0, last_row, last_col)


def submitting_level(spec: Spec) -> str | None:
    """Which org level fills a form in, when no campaign says: None if no unit does."""
    if not any(f.role == "unit" for f in spec.fields):
        return None
    return "党(工)委" if spec.unit_per_row else "党支部"


_BAD_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


def file_name(*parts: str) -> str:
    """A safe file name from parts joined by '_': no path or reserved characters."""
    name = "_".join(_BAD_NAME.sub("", p).strip().strip(".") for p in parts if p)
    return (name or "模板")[:120] + ".xlsx"


def write_templates(specs: Iterable[Spec], out_dir: Path | str, orgs: OrgTree | None = None,
                    per_unit: bool = False, levels: Mapping[str, Sequence[str]] | None = None) -> list[Path]:
    """Write `<title>.xlsx` for each spec; with per_unit, also `<title>/<unit>_<title>.xlsx` per unit.

    `levels` (form id -> levels that submit it, from the campaign) overrides
    the default: 党支部 for every form, 党(工)委 for a table with one row per unit.
    """
    if per_unit and orgs is None:
        raise ZhenggaiError("按单位生成模板需要组织架构文件（--orgs）。")
    out = Path(out_dir)
    written: list[Path] = []
    for spec in specs:
        written.append(write_template(spec, out / file_name(spec.title)))
        if not per_unit:
            continue
        default = submitting_level(spec)
        wanted = tuple((levels or {}).get(spec.id, (default,) if default else ()))
        if not wanted or submitting_level(spec) is None:
            continue
        seen: set[str] = set()
        for level in wanted:
            for unit in orgs.at_level(level):
                name = file_name(unit.name, spec.title)
                if name in seen:
                    name = file_name(unit.name, unit.code, spec.title)
                seen.add(name)
                rows = _unit_rows(spec, orgs, unit)
                written.append(write_template(spec, out / file_name(spec.title)[:-5] / name, unit, rows))
    return written


def _unit_rows(spec: Spec, orgs: OrgTree, unit: Org) -> list[str] | None:
    """For a table with one row per unit, the names of the branches the unit reports for."""
    if not spec.unit_per_row or unit.level == "党支部":
        return None
    return [o.name for o in orgs.branches_under(unit.code)] or None
