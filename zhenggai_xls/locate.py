"""Find known forms in a workbook: which form a sheet holds, its header lines, lines and table.

Labels are matched after `normalize_label` against each field's label and
synonyms (and, for table columns, the labels of the groups above them), so a
header may start anywhere, be drawn over several merged rows, have extra or
reordered columns, or carry labels typed as "合\\n计". Every value found keeps
the A1 address of the cell it came from.
"""
from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass, field as dc_field
from functools import lru_cache
from itertools import islice
from typing import Iterable, Mapping

from .excel import a1, col_letter
from .normalize import normalize_label
from .problems import Problem, problem
from .read import Sheet, Workbook
from .spec import Field, Group, Spec, Table
from .submission import Extract, RawCell

# A row whose first cell starts with one of these ends the table (after NFKC).
END_WORDS = ("备注", "填表说明", "说明", "注", "填表人", "审核人", "填报人")
TOTAL_LABELS = frozenset({"合计", "总计"})
SUBTOTAL_WORD = "小计"
LABEL_MAX = 40  # longer texts are never labels
MERGE_EXPAND_MAX = 20_000  # larger merges are looked up by scanning instead
VALUE_REACH = 12  # how many columns to the right of a label its value may sit
TITLE_ROWS = 8  # how many non-empty rows at the top may hold the form's title
MIN_MATCHED = 3  # fields a sheet must show before it counts as the form
_NUMBERISH = re.compile(r"[\d.,√✓✔○●☑]+")  # counts and marks typed as text (csv, cells formatted as text)


@lru_cache(maxsize=65536)
def _norm(text: str) -> str:
    """normalize_label, cached: the same labels and values recur in every row and every file."""
    return normalize_label(text)


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


@lru_cache(maxsize=65536)
def _text_kind(text: str) -> tuple[str | None, bool] | None:
    """None for blank text, else (its label when short enough to be one, whether it may hold 'label：value')."""
    if not text.strip():
        return None
    return _norm(text) if len(text) <= LABEL_MAX else None, ":" in text or "：" in text


def _blank(value: object) -> bool:
    return value is None or (type(value) is str and not value.strip())


# ---------------------------------------------------------------- the sheet

_UNSEEN = object()


def _is_seq_text(text: str) -> bool:
    """A 序号 typed as text ("12"): its label is itself, without a colon, and it ends nothing. Such
    texts are many and distinct, so the per-text caches are not asked (they would be flushed)."""
    return text.isdigit() and text.isascii() and len(text) <= LABEL_MAX


def _indexed_kind(value: str, wanted: frozenset[str] | None) -> tuple[str | None, bool] | None:
    """_text_kind of a cell's text with the label kept only when `wanted` (None: every label)."""
    if _is_seq_text(value):
        lab, colon = value, False  # what _text_kind gives
    elif len(value) > LABEL_MAX:  # what _text_kind gives, without filling its cache with texts seen once
        return None if value.isspace() else (None, ":" in value or "：" in value)
    else:
        kind = _text_kind(value)
        if kind is None:
            return None
        lab, colon = kind
    return (lab if lab is not None and (wanted is None or lab in wanted) else None), colon


_KINDS: dict[frozenset[str] | None, dict[str, tuple[str | None, bool] | None]] = {}
KINDS_MAX = 65_536  # short texts remembered; then it starts afresh


def _kinds(wanted: frozenset[str] | None) -> dict[str, tuple[str | None, bool] | None]:
    """_indexed_kind of the short texts seen so far with this `wanted` (one at a time): kept from
    sheet to sheet and file to file, as the same labels, names and choices recur in all of them."""
    kinds = _KINDS.get(wanted)
    if kinds is None or len(kinds) > KINDS_MAX:
        _KINDS.clear()
        kinds = _KINDS[wanted] = {}
    return kinds


def _grid_rows(sheet: Sheet, blanks: list[tuple[int, int]]) -> dict[int, dict[int, object]]:
    """The sheet's rows without its blank texts, with its error and uncalculated-formula cells
    (they read as blanks but are not empty) as None; the sheet's own rows when that changes nothing."""
    extra = sheet.errors | sheet.formulas_without_value
    if not blanks and not extra:
        return sheet.rows
    rows, own = dict(sheet.rows), sheet.rows
    for r, c in blanks:
        row = rows[r]
        if row is own[r]:
            row = rows[r] = dict(row)
        del row[c]
        if not row:
            del rows[r]
    for r, c in extra:
        row = rows.get(r)
        if row is None:
            rows[r] = {c: None}
        else:
            if row is own.get(r):
                row = rows[r] = dict(row)
            row.setdefault(c, None)
    return rows


class _Grid:
    """A sheet prepared for searching: cells by row, merges looked up, the cells of wanted labels.

    `wanted` holds every normalised label a search will look up in `by_label` (all of them
    when None); other texts are normalised on demand (cell_label), as most are table values.
    """

    def __init__(self, sheet: Sheet, wanted: frozenset[str] | None = None):
        self.sheet = sheet
        self.by_label: dict[str, list[tuple[int, int]]] = {}  # normalised short text -> its cells
        self.colon_texts: list[tuple[int, int]] = []  # texts that may hold 'label：value'
        by_label, colon_texts = self.by_label, self.colon_texts
        kinds = _kinds(wanted)
        blanks: list[tuple[int, int]] = []  # blank texts: not cells of the grid
        for r, row in sheet.rows.items():
            for c, value in row.items():
                if not isinstance(value, str):
                    if value is None:
                        blanks.append((r, c))
                    continue
                kind = kinds.get(value, _UNSEEN)
                if kind is _UNSEEN:
                    kind = _indexed_kind(value, wanted)
                    if len(value) <= LABEL_MAX:  # long texts are rarely repeated: not kept
                        kinds[value] = kind
                if kind is None:
                    blanks.append((r, c))
                    continue
                lab, colon = kind
                if lab is not None:
                    cells = by_label.get(lab)
                    if cells is None:
                        by_label[lab] = [(r, c)]
                    else:
                        cells.append((r, c))
                if colon:
                    colon_texts.append((r, c))
        self.rows = _grid_rows(sheet, blanks)
        self.origins: dict[tuple[int, int], tuple[int, int]] = {}
        self.merge_ends: dict[tuple[int, int], tuple[int, int]] = {}
        self.big_merges: list[tuple[int, int, int, int]] = []
        for r0, c0, r1, c1 in sheet.merges:
            self.merge_ends[(r0, c0)] = (r1, c1)
            if (r1 - r0 + 1) * (c1 - c0 + 1) > MERGE_EXPAND_MAX:
                self.big_merges.append((r0, c0, r1, c1))
                continue
            for r in range(r0, r1 + 1):
                for c in range(c0, c1 + 1):
                    self.origins[(r, c)] = (r0, c0)
        self.row_order = sorted(self.rows)
        self._leads: list[tuple[int, int, tuple[bool, str, str | None] | None, str | None]] | None = None

    def leads(self) -> list[tuple[int, int, tuple[bool, str, str | None] | None, str | None]]:
        """Each row in order as (row, its first column, _first_text of a text there, that cell's label):
        what every candidate form's end search asks of a row, worked out once per sheet."""
        if self._leads is None:
            rows, out = self.rows, []
            for r in self.row_order:
                row = rows[r]
                lead = min(row)
                first = row[lead]
                if isinstance(first, str):
                    if _is_seq_text(first):
                        out.append((r, lead, (False, first, None), first))  # what _first_text and _text_kind give
                        continue
                    kind = _text_kind(first)
                    out.append((r, lead, _first_text(first), kind[0] if kind else None))
                else:
                    out.append((r, lead, None, None))
            self._leads = out
        return self._leads

    def origin(self, r: int, c: int) -> tuple[int, int]:
        """The top-left cell of the merge holding (r, c), or (r, c) itself."""
        found = self.origins.get((r, c))
        if found:
            return found
        for r0, c0, r1, c1 in self.big_merges:
            if r0 <= r <= r1 and c0 <= c <= c1:
                return r0, c0
        return r, c

    def value(self, r: int, c: int) -> object:
        """The value shown at (r, c): a merged cell's text covers its whole range."""
        return self.sheet.get(self.origin(r, c))

    def cell_label(self, at: tuple[int, int]) -> str | None:
        """The normalised text of the cell itself when it is short enough to be a label, else None."""
        value = self.sheet.get(at)
        if isinstance(value, str):
            kind = _text_kind(value)
            return kind[0] if kind else None
        return None

    def label(self, r: int, c: int) -> str:
        """The normalised text shown at (r, c), '' when blank."""
        o = self.origin(r, c)
        value = self.sheet.get(o)
        if not isinstance(value, str):
            return ""
        kind = _text_kind(value)
        return kind[0] if kind and kind[0] is not None else _norm(value)

    def raw(self, r: int, c: int) -> RawCell:
        """The cell (r, c) as a RawCell with its flags."""
        value = self.sheet.get((r, c))
        if isinstance(value, str) and not value.strip():
            value = None
        return RawCell(value, a1(r, c), (r, c) in self.sheet.formulas_without_value,
                       (r, c) in self.sheet.errors)

    def is_empty(self, r: int, c: int) -> bool:
        return _blank(self.sheet.get((r, c))) and (r, c) not in self.sheet.errors \
            and (r, c) not in self.sheet.formulas_without_value

    def end_col(self, r: int, c: int) -> int:
        """The last column covered by the cell at (r, c)."""
        return self.merge_ends.get(self.origin(r, c), (r, c))[1]


# ---------------------------------------------------------------- what to look for


@dataclass(eq=False)  # hashed by identity: a key of the per-text caches below
class _Matcher:
    """A spec's labels reduced for matching, built once per spec."""

    spec: Spec
    leaves: dict[str, list[Field]]  # normalised name -> table fields
    leaf_set: set[str]
    groups: set[str]  # normalised group names
    ancestors: dict[str, set[str]]  # table field key -> normalised names of the groups above it
    lines: dict[str, list[Field]]  # normalised name -> header and line fields
    contexts: dict[str, set[str]]  # line field key -> normalised section/sub labels
    order: dict[str, int]  # field key -> position in the spec
    titles: list[str]
    notes: frozenset[str]
    stops: set[str]  # labels that end a table: line labels and sections outside it
    known: set[str]  # every label of the spec (never an extra column)
    label_re: re.Pattern
    seq_keys: set[str]
    rule_keys: set[str]


_MATCHERS: dict[int, tuple[Spec, _Matcher]] = {}


def _matcher(spec: Spec) -> _Matcher:
    """The matcher of a spec, cached by identity (specs are loaded once)."""
    hit = _MATCHERS.get(id(spec))
    if hit and hit[0] is spec:
        return hit[1]
    m = _build_matcher(spec)
    _MATCHERS[id(spec)] = (spec, m)
    return m


def _walk(nodes: Iterable[Group | Field], above: tuple[str, ...], out: dict[str, set[str]],
          groups: set[str]) -> None:
    for node in nodes:
        if isinstance(node, Group):
            names = tuple(normalize_label(n) for n in node.names)
            groups.update(names)
            _walk(node.children, above + names, out, groups)
        else:
            out[node.key] = set(above)


def _name_pattern(names: Iterable[str]) -> re.Pattern:
    """'label:' anywhere a label may start in a cell: at its start or after a separator."""
    parts = []
    for name in sorted({re.sub(r"\s", "", _nfkc(n)) for n in names}, key=len, reverse=True):
        if len(name) >= 2:
            parts.append(r"\s*".join(re.escape(ch) for ch in name))
    alternation = "|".join(parts) or "(?!)"
    return re.compile(rf"(?:^|(?<=[\s,;。、|]))(?P<name>{alternation})\s*:")


def _build_matcher(spec: Spec) -> _Matcher:
    table = spec.table
    leaves: dict[str, list[Field]] = {}
    ancestors: dict[str, set[str]] = {}
    groups: set[str] = set()
    notes: set[str] = set()
    if table:
        _walk(table.columns, (), ancestors, groups)
        for f in table.fields:
            for name in f.names:
                leaves.setdefault(normalize_label(name), []).append(f)
        notes |= {normalize_label(n.note) for n in _nodes(table.columns) if n.note}
    lines: dict[str, list[Field]] = {}
    contexts: dict[str, set[str]] = {}
    stops: set[str] = set()
    for f in (*spec.header, *(f for line in spec.lines for f in line.fields)):
        for name in f.names:
            lines.setdefault(normalize_label(name), []).append(f)
        contexts[f.key] = {normalize_label(p) for p in f.path[:-1]}
        # Primary labels and sections only: synonyms such as 工作业绩 are also table values.
        stops |= {normalize_label(f.label)} | contexts[f.key]
    if table and table.section:
        stops.discard(normalize_label(table.section))
    titles = [normalize_label(t) for t in (spec.title, *spec.aliases)]
    known = set(leaves) | groups | set(lines) | stops | set(titles)
    if table and table.section:
        known.add(normalize_label(table.section))
    return _Matcher(
        spec=spec, leaves=leaves, leaf_set=set(leaves), groups=groups, ancestors=ancestors, lines=lines, contexts=contexts,
        order={f.key: i for i, f in enumerate(spec.fields)}, titles=titles, notes=frozenset(notes), stops=stops,
        known=known, label_re=_name_pattern(n for f in spec.fields if f.place != "table" for n in f.names),
        seq_keys={f.key for f in (table.fields if table else ()) if normalize_label(f.label) == "序号"},
        rule_keys={k for rule in spec.rules for k in rule.fields()},
    )


def _nodes(nodes: Iterable[Group | Field]) -> Iterable[Group | Field]:
    for node in nodes:
        yield node
        if isinstance(node, Group):
            yield from _nodes(node.children)


@lru_cache(maxsize=65536)
def _cell_labels(m: _Matcher, text: str) -> tuple[tuple[str, str, bool], ...]:
    """Each (label, value typed after it, is-last) in a cell's text; () when it holds none."""
    t = _nfkc(text).strip()
    whole = _norm(t)
    if whole in m.lines:
        return ((whole, "", True),)
    found = list(m.label_re.finditer(t))
    out = []
    for i, mt in enumerate(found):
        end = found[i + 1].start() if i + 1 < len(found) else len(t)
        value = t[mt.end():end].strip(" \t\r\n,;、|　")
        out.append((normalize_label(mt.group("name")), value, i + 1 == len(found)))
    return tuple(out)


# ---------------------------------------------------------------- the table


@dataclass
class _TableHit:
    """Where a spec's table sits in a sheet and which column holds which field."""

    top: int
    bottom: int  # last header row
    columns: dict[str, int]  # field key -> 0-based column
    extras: list[tuple[int, str]]  # (column, label) of columns the spec does not know
    first_col: int
    last_col: int
    end: int = -1  # last row belonging to the table (header bottom when it has no rows)
    rows: list[int] = dc_field(default_factory=list)
    total: int | None = None
    collected: bool = False  # rows and total found (done for the chosen form only)


def _find_header(grid: _Grid, m: _Matcher, table: Table) -> _TableHit | None:
    """Locate the header band by its labels and map its columns to fields."""
    hits: dict[int, list[tuple[int, str]]] = {}
    for lab in m.leaf_set | m.groups:
        for r, c in grid.by_label.get(lab, ()):
            hits.setdefault(r, []).append((c, lab))
    if not hits:
        return None
    height = table.header_depth
    rows = sorted(hits)
    counts = [len(hits[r]) for r in rows]
    best: tuple[int, int] | None = None  # (distinct names, -top)
    labels = end = 0  # the window of rows[i:end], those in [top, top + height), holds `labels` labels
    for i, top in enumerate(rows):
        labels -= counts[i - 1] if i else 0
        while end < len(rows) and rows[end] < top + height:
            labels += counts[end]
            end += 1
        if best is not None and labels <= best[0]:
            continue  # cannot show more names than the best so far (table values that are labels elsewhere)
        names = {lab for r in rows[i:end] for _, lab in hits[r]}
        key = (len(names), -top)
        if best is None or key > best:
            best = key
    top = -best[1]
    band_rows = [r for r in range(top, top + height) if r in hits]
    top, bottom = band_rows[0], band_rows[-1]
    for r in band_rows:  # leaves merged down past the last labelled row
        for c, _ in hits[r]:
            bottom = max(bottom, grid.merge_ends.get((r, c), (r, c))[0])
    bottom = min(bottom, top + height - 1)
    cols = [c for r in band_rows for c, _ in hits[r]]
    first, last = _widen(grid, top, bottom, min(cols), max(cols))
    hit = _TableHit(top, bottom, {}, [], first, last)
    _map_columns(grid, m, hit)
    return hit


def _widen(grid: _Grid, top: int, bottom: int, first: int, last: int) -> tuple[int, int]:
    """Extend the header's column span over neighbouring labelled columns (extra columns)."""
    def labelled(c: int) -> bool:
        return c >= 0 and any(grid.label(r, c) for r in range(top, bottom + 1))

    while labelled(last + 1):
        last += 1
    while labelled(first - 1):
        first -= 1
    return first, last


def _column_path(grid: _Grid, top: int, bottom: int, c: int) -> list[str]:
    path: list[str] = []
    for r in range(top, bottom + 1):
        lab = grid.label(r, c)
        if lab and (not path or path[-1] != lab):
            path.append(lab)
    return path


def _map_columns(grid: _Grid, m: _Matcher, hit: _TableHit) -> None:
    """Assign each header column to a field by its last label and the groups above it."""
    context: set[str] = set()
    for c in range(hit.first_col, hit.last_col + 1):
        path = _column_path(grid, hit.top, hit.bottom, c)
        if not path or not _starts_column(grid, hit, c):
            continue
        if path[:-1]:
            context = set(path[:-1])
        candidates = [f for f in m.leaves.get(path[-1], ()) if f.key not in hit.columns]
        if candidates:
            best = max(candidates, key=lambda f: (len(m.ancestors[f.key] & context), -m.order[f.key]))
            hit.columns[best.key] = c
        elif not set(path) <= m.known or path[-1] in m.leaves:
            hit.extras.append((c, "/".join(_display_path(grid, hit.top, hit.bottom, c))))


def _starts_column(grid: _Grid, hit: _TableHit, c: int) -> bool:
    """False for a merged header cell's continuation and for a section label running down beside the rows."""
    lowest = max(r for r in range(hit.top, hit.bottom + 1) if grid.label(r, c))
    o = grid.origin(lowest, c)
    return o[1] == c and grid.merge_ends.get(o, o)[0] <= hit.bottom


def _display_path(grid: _Grid, top: int, bottom: int, c: int) -> list[str]:
    """The header texts of a column as typed (spaces and line breaks removed)."""
    out: list[str] = []
    for r in range(top, bottom + 1):
        value = grid.value(r, c)
        text = re.sub(r"\s", "", str(value)) if not _blank(value) else ""
        if text and (not out or out[-1] != text):
            out.append(text)
    return out


# ---------------------------------------------------------------- data rows


def _header_again(grid: _Grid, m: _Matcher, r: int, lead: int) -> bool:
    """The row repeats the table's header (another table starts): `lead` is its first column."""
    row = grid.rows[r]
    if len(row) < MIN_MATCHED or grid.cell_label((r, lead)) not in m.leaf_set:
        return False
    labels = {grid.cell_label((r, c)) for c in row}
    return len(labels & m.leaf_set) >= MIN_MATCHED  # the header again: another table


def _ending_text(m: _Matcher, first: tuple[bool, str, str | None]) -> bool:
    """A note, a signature line or the next part of the form: a first cell starting with
    备注/填表说明…, or holding a label of the form outside the table. The table is over.
    `first` is the _first_text of the row's first cell."""
    note, normalised, with_colon = first
    return note or normalised in m.stops or (with_colon is not None and bool(m.label_re.search(with_colon)))


@lru_cache(maxsize=65536)
def _first_text(first: str) -> tuple[bool, str, str | None]:
    """(starts with a note word, normalised, the NFKC text when it has a colon a label may end with)."""
    text = _nfkc(first).strip()
    for word in END_WORDS:
        if text.startswith(word):
            rest = text[len(word):]
            if not rest or rest[0] in ": \n\t(" or word not in ("注", "说明"):
                return True, "", None
    return False, _norm(text), text if ":" in text else None  # label_re needs a ':' after the label


def _is_note_row(m: _Matcher, hit: _TableHit, text_cols: set[int], cells: dict[int, object], present: set[int]) -> bool:
    """A hint line under the header such as 在相应栏内标数字“1”; `present` holds the row's columns
    that map to fields and hold a cell."""
    texts = [v for c in present if (v := cells[c]) is not None]
    if not texts:
        return False
    for v in texts:
        if not isinstance(v, str):
            return False
    notes = m.notes
    if notes:  # most forms have no column notes: no text to compare
        for v in texts:
            if _is_note_cell(v, notes):
                return True
    if hit.rows or any(c in text_cols for c in present if cells[c] is not None):
        return False
    return all(len(n) >= 4 and not re.fullmatch(r"[\d.]+", n) for n in map(_norm, texts))


@lru_cache(maxsize=65536)
def _is_note_cell(text: str, notes: frozenset[str]) -> bool:
    """_is_note_text of a cell's text as typed (one cache look-up per cell, not two)."""
    return _is_note_text(_norm(text), notes)


@lru_cache(maxsize=65536)
def _is_note_text(text: str, notes: frozenset[str]) -> bool:
    """A cell holding a column note or a piece of one; a number typed as text ("1") never is."""
    if not text or _NUMBERISH.fullmatch(text):
        return False
    return any(text in note or note in text for note in notes)


def _is_numbering_row(hit: _TableHit, values: dict[str, object]) -> bool:
    """A row numbering the columns 1, 2, 3 … (or 甲, 乙, 1, 2 …) under the header."""
    if hit.rows:
        return False
    numbers = []
    for key in sorted(values, key=lambda k: hit.columns[k]):
        v = values[key]
        if _blank(v):
            continue
        try:
            numbers.append(float(_nfkc(str(v)).strip()))
        except ValueError:
            if str(v).strip() not in "甲乙丙丁":
                return False
    return len(numbers) >= 3 and all(b - a == 1 for a, b in zip(numbers, numbers[1:]))


def _row_label(label_cols: list[int], cells: dict[int, object]) -> str:
    """The normalised text of the row's label cell (its first text column, else the table's first column,
    else its first cell); '' when none. 合计/总计 makes the typed total row, 小计… a summary's subtotal row."""
    for c in label_cols:
        v = cells.get(c)
        if isinstance(v, str) and v.strip():
            return _norm(v)
    v = cells[min(cells)]
    return _norm(v) if isinstance(v, str) and v.strip() else ""


def _rows_below(grid: _Grid, hit: _TableHit) -> list[int]:
    start = bisect_right(grid.row_order, hit.bottom)
    return grid.row_order[start:]


def _find_end(grid: _Grid, m: _Matcher, hit: _TableHit) -> None:
    """The table's last row: the row before a note, a signature line or the next part of the form."""
    hit.end = hit.bottom
    left = hit.first_col - 1
    last = hit.last_col
    for r, lead, first, lead_label in islice(grid.leads(), bisect_right(grid.row_order, hit.bottom), None):
        if lead > last:
            continue
        if first is not None and _ending_text(m, first):
            break
        if lead_label in m.leaf_set and _header_again(grid, m, r, lead):
            break
        # the leading cell is inside the table's columns unless it lies left of them
        if lead >= left or any(left <= c <= last for c in grid.rows[r]):
            hit.end = r


def _collect_rows(grid: _Grid, m: _Matcher, table: Table, hit: _TableHit) -> None:
    """Find the table's data rows and its typed 合计 row (between the header and `hit.end`)."""
    text_keys = {f.key for f in table.fields if f.type == "text" and f.key in hit.columns}
    label_cols = [*sorted(hit.columns[k] for k in text_keys if k not in m.seq_keys), hit.first_col]
    left, right, columns = hit.first_col - 1, hit.last_col, list(hit.columns.items())
    # Columns stand for their fields (one field per column): key sets become column sets.
    mapped, text_cols = set(hit.columns.values()), {hit.columns[k] for k in text_keys}
    seq_only = {hit.columns[k] for k in m.seq_keys if k in hit.columns}
    unit_only = seq_only | {hit.columns[table.unit_field]} if table.unit_field in hit.columns else seq_only
    for r in _rows_below(grid, hit):
        if r > hit.end:
            break
        row = grid.rows[r]
        cells = row if left <= min(row) and max(row) <= right else {c: v for c, v in row.items() if left <= c <= right}
        if not cells:
            continue
        # A row holds its non-blank cells and its error / uncalculated-formula cells: the non-empty ones.
        present = cells.keys() & mapped
        if not present or present <= seq_only:
            continue
        label = _row_label(label_cols, cells)
        if label in TOTAL_LABELS:
            hit.total = hit.total if hit.total is not None else r
            continue
        # A summary's 小计 rows and units listed without any figure (未报送) are not data rows.
        if label.startswith(SUBTOTAL_WORD) or (table.unit_field and present <= unit_only):
            continue
        if _is_note_row(m, hit, text_cols, cells, present):
            continue
        if not hit.rows and _is_numbering_row(hit, {k: cells.get(c) for k, c in columns}):
            continue
        hit.rows.append(r)


# ---------------------------------------------------------------- header lines and form lines


def _value_right(grid: _Grid, m: _Matcher, r: int, c: int) -> RawCell:
    """The value typed right of a label cell, skipping merged continuations; blank when none."""
    start = grid.end_col(r, c) + 1
    seen = {grid.origin(r, c)}
    first_input: tuple[int, int] | None = None
    for c2 in range(start, start + VALUE_REACH):
        o = grid.origin(r, c2)
        if o in seen:
            continue
        seen.add(o)
        if first_input is None:
            first_input = o
        if grid.is_empty(*o):
            continue
        value = grid.sheet.get(o)
        if isinstance(value, str) and _cell_labels(m, value):
            break
        return grid.raw(*o)
    r0, c0 = first_input or (r, start)
    return RawCell(None, a1(r0, c0))


def _row_context(grid: _Grid, r: int, c: int) -> set[str]:
    """Labels to the left of (r, c) on its row, merged section labels included."""
    return {grid.label(r, c2) for c2 in range(0, c)} - {""} if c <= 60 else set()


def _find_lines(grid: _Grid, m: _Matcher, skip: tuple[int, int, int, int] | None) -> dict[str, RawCell]:
    """Header lines and form lines: 'label：value' in one cell, or the label then its value."""
    found: dict[str, RawCell] = {}
    places = {pos for name in m.lines for pos in grid.by_label.get(name, ())} | set(grid.colon_texts)
    for r, c in sorted(places):
        if skip and skip[0] <= r <= skip[2] and skip[1] <= c <= skip[3]:
            continue
        value = grid.sheet.get((r, c))
        for name, typed, last in _cell_labels(m, value):
            candidates = [f for f in m.lines.get(name, ()) if f.key not in found]
            if not candidates:
                continue
            context = _row_context(grid, r, c) if len(candidates) > 1 else set()
            f = max(candidates, key=lambda f: (len(m.contexts[f.key] & context), -m.order[f.key]))
            if typed:
                found[f.key] = RawCell(typed, a1(r, c))
            elif last:
                found[f.key] = _value_right(grid, m, r, c)
            else:
                found[f.key] = RawCell(None, a1(r, c))
    return found


# ---------------------------------------------------------------- a form in a sheet


@dataclass
class _Found:
    """A spec located in a sheet, with how well it matched."""

    spec: Spec
    grid: _Grid
    score: int
    matched: int  # body fields found (table columns and form lines)
    title: bool
    table: _TableHit | None
    lines: dict[str, RawCell]


def _title_hit(grid: _Grid, m: _Matcher, above: int | None) -> bool:
    """The form's title or an alias among the top rows of the sheet (above its table)."""
    for r in grid.row_order[:TITLE_ROWS]:
        if above is not None and r >= above:
            break
        for value in grid.rows[r].values():
            if isinstance(value, str):
                text = _norm(value)
                if any(t in text for t in m.titles):
                    return True
    return False


def _find_form(grid: _Grid, spec: Spec) -> _Found:
    """How much of a spec a sheet shows, and where."""
    m = _matcher(spec)
    return _finish_form(grid, spec, _find_header(grid, m, spec.table) if spec.table else None)


def _score_bound(grid: _Grid, spec: Spec, hit: _TableHit | None) -> tuple[int, bool]:
    """(score, title) that _finish_form cannot exceed: its columns and title as found, and every
    form line whose label the sheet shows anywhere (the table's end only takes some away)."""
    m = _matcher(spec)
    names = {name for name in m.lines if name in grid.by_label}
    for at in grid.colon_texts:
        names.update(name for name, _, _ in _cell_labels(m, grid.sheet.get(at)))
    lines = {f.key for name in names for f in m.lines.get(name, ()) if f.place == "line"}
    title = _title_hit(grid, m, hit.top if hit else None)
    return (len(hit.columns) if hit else 0) + len(lines) + 3 * title, title


def _finish_form(grid: _Grid, spec: Spec, hit: _TableHit | None) -> _Found:
    """_find_form once the table's header is known."""
    m = _matcher(spec)
    skip = None
    if hit:
        _find_end(grid, m, hit)  # rows are collected for the chosen form only (_extract)
        skip = (hit.top, hit.first_col, hit.end, hit.last_col)
    lines = _find_lines(grid, m, skip)
    body_lines = sum(1 for k in lines if spec.field(k).place == "line")
    matched = (len(hit.columns) if hit else 0) + body_lines
    title = _title_hit(grid, m, hit.top if hit else None)
    return _Found(spec, grid, matched + 3 * title, matched, title, hit, lines)


def _recognised(found: _Found) -> bool:
    table = found.spec.table
    need = min(MIN_MATCHED, len(table.fields)) if table and not found.spec.lines else MIN_MATCHED
    return found.matched >= need or (found.title and found.matched >= 2)


def _extract(found: _Found, workbook: Workbook) -> Extract:
    """The Extract of a located form, with the structural problems found on the way."""
    spec, grid, hit = found.spec, found.grid, found.table
    ex = Extract(path=workbook.path, form=spec.id, sheet=grid.sheet.name, fields=dict(found.lines),
                 metadata=dict(workbook.metadata))
    m = _matcher(spec)
    sheet = grid.sheet.name
    if spec.table:
        anchor = a1(hit.top, hit.first_col) if hit else None
        columns = hit.columns if hit else {}
        for key, c in sorted(columns.items(), key=lambda kv: kv[1]):
            ex.columns[key] = col_letter(c)
        for c, label in (hit.extras if hit else ()):
            ex.problems.append(problem("header.extra_column", sheet=sheet, cell=a1(hit.top, c), field=label))
        for f in spec.table.fields:
            if f.key not in columns and (f.required or f.key in m.rule_keys):
                ex.problems.append(problem("header.missing_column", sheet=sheet, cell=anchor, field=f.full_label,
                                           severity=None if f.required else "warning"))
        if hit:
            if not hit.collected:
                _collect_rows(grid, m, spec.table, hit)
                hit.collected = True
            ex.rows = _raw_rows(grid, hit)
            ex.row_numbers = [r + 1 for r in hit.rows]
            if hit.total is not None:
                ex.total_row = {k: _typed_total(grid.raw(hit.total, c)) for k, c in columns.items()}
    for f in spec.fields:
        if f.place == "table" or f.key in found.lines or (f.place == "header" and f.role == "unit"):
            continue  # a missing 填报单位 is reported by unit recognition (unit.missing)
        if f.required or f.key in m.rule_keys:
            ex.problems.append(problem("header.missing_field", sheet=sheet, field=f.full_label,
                                       severity=None if f.required else "warning"))
    return ex


def _raw_rows(grid: _Grid, hit: _TableHit) -> list[dict[str, RawCell]]:
    """The data rows as RawCells; the plain path skips flag lookups (thousands of rows)."""
    if grid.sheet.errors or grid.sheet.formulas_without_value:
        return [{k: grid.raw(r, c) for k, c in hit.columns.items()} for r in hit.rows]
    # Without error cells and formulas a row holds only non-blank values: no blank test needed.
    columns = [(k, c, col_letter(c)) for k, c in hit.columns.items()]
    new = tuple.__new__  # RawCell(value, cell) without its generated __new__: millions on a large sheet
    out = []
    for r in hit.rows:
        cells, number = grid.rows[r], str(r + 1)
        out.append({k: new(RawCell, (cells.get(c), letter + number, False, False)) for k, c, letter in columns})
    return out


def _typed_total(raw: RawCell) -> RawCell:
    """A 合计 cell as the unit typed it: the template's own SUM never calculated counts as not typed."""
    return RawCell(None, raw.cell) if raw.formula_without_value else raw


def has_data(extract: Extract, spec: Spec) -> bool:
    """Whether anything beyond the template's own text was typed in the form's body."""
    preset = {spec.table.preset_field} if spec.table and spec.table.preset_field else set()
    skip = preset | _matcher(spec).seq_keys
    for row in extract.rows:
        if any(not _empty_raw(raw) for k, raw in row.items() if k not in skip):
            return True
    body = {f.key for f in spec.fields if f.place == "line" and f.role != "unit"}  # preset in unit templates
    return any(not _empty_raw(raw) for k, raw in extract.fields.items() if k in body)


def _empty_raw(raw: RawCell) -> bool:
    return _blank(raw.value) and not raw.error and not raw.formula_without_value


# ---------------------------------------------------------------- the workbook


@lru_cache(maxsize=64)
def _wanted(matchers: tuple[_Matcher, ...]) -> frozenset[str]:
    """Every label the searches of these specs look up by name (table header and lines)."""
    return frozenset().union(*(m.leaf_set | m.groups | m.lines.keys() for m in matchers))


def _detectable(specs: Mapping[str, Spec]) -> list[Spec]:
    """Forms units submit (the org tree is configuration, never detected on its own)."""
    return [s for s in specs.values() if any(f.role == "unit" for f in s.fields)]


def _best_per_sheet(grids: list[_Grid], specs: list[Spec]) -> list[_Found]:
    """For each sheet, the form it shows best, when it shows one at all."""
    out = []
    for grid in grids:
        found = _recognised_forms(grid, specs)
        if found:
            out.append(max(found, key=lambda f: (f.score, f.title)))
    return out


def _recognised_forms(grid: _Grid, specs: list[Spec]) -> list[_Found]:
    """The specs the sheet shows, in spec order, leaving out any that cannot be the best: specs are
    searched most promising first, and one whose score bound is below the best found is not finished
    (its table end and lines are what a large sheet costs)."""
    if len(specs) == 1:
        found = [_find_form(grid, specs[0])]
        return [f for f in found if _recognised(f)]
    heads = [_find_header(grid, _matcher(s), s.table) if s.table else None for s in specs]
    bounds = [_score_bound(grid, s, hit) for s, hit in zip(specs, heads)]
    found: dict[int, _Found] = {}
    best: tuple[int, bool] | None = None
    for i in sorted(range(len(specs)), key=lambda i: bounds[i], reverse=True):
        if best is not None and bounds[i] < best:
            continue  # its score stays below the best: never chosen
        f = _finish_form(grid, specs[i], heads[i])
        if _recognised(f):
            found[i] = f
            best = max(best or (f.score, f.title), (f.score, f.title))
    return [found[i] for i in sorted(found)]


def _keep_filled(found: list[_Found], workbook: Workbook) -> list[Extract]:
    """Extracts in sheet order; of several sheets showing one form, the filled ones (or the best)."""
    extracts = [_extract(f, workbook) for f in found]
    filled = [has_data(e, f.spec) for e, f in zip(extracts, found)]
    keep = []
    for i, (e, f) in enumerate(zip(extracts, found)):
        same = [j for j, g in enumerate(found) if g.spec.id == f.spec.id]
        if filled[i] or (not any(filled[j] for j in same)
                         and i == max(same, key=lambda j: (found[j].score, -j))):
            keep.append(e)
    return keep


def locate(workbook: Workbook, specs: Mapping[str, Spec], form: str | None = None) -> list[Extract] | Problem:
    """The forms found in a workbook, one Extract per sheet holding one; a Problem when none is."""
    meta_form = workbook.metadata.get("form")
    if workbook.metadata.get("summary") == "1" and meta_form not in specs:
        # Our own summary workbook: only a sheet it names as a form is a submission.
        return problem("file.summary", unit=workbook.metadata.get("unit_name", ""),
                       as_of=workbook.metadata.get("as_of", ""))
    if form and meta_form in specs and meta_form != form:
        return _wrong(specs[meta_form], specs[form])
    if meta_form in specs:
        candidates = [specs[meta_form]]
    else:
        candidates = [specs[form]] if form else _detectable(specs)
    wanted = _wanted(tuple(_matcher(s) for s in specs.values()))  # any spec may be searched below
    visible = [_Grid(s, wanted) for s in workbook.sheets if not s.hidden]
    hidden = [_Grid(s, wanted) for s in workbook.sheets if s.hidden]
    found = _best_per_sheet(visible, candidates) or _best_per_sheet(hidden, candidates)
    if not found and meta_form in specs and visible:
        # Our own template: the file is that form even when its header was mangled.
        found = [_find_form(visible[0], specs[meta_form])]
    if found:
        return _keep_filled(found, workbook)
    if form:
        others = _best_per_sheet(visible + hidden, [s for s in _detectable(specs) if s.id != form])
        if others:
            return _wrong(others[0].spec, specs[form])
    names = "、".join(s.title for s in _detectable(specs))
    return problem("file.unknown_form", forms=names)


def _wrong(found: Spec, expected: Spec) -> Problem:
    return problem("file.wrong_form", found=found.title, expected=expected.title)
