"""A worksheet that takes long lists of plain rows fast (the summary's 来源 and 逾期事项 sheets).

xlsxwriter keeps every cell as an object and writes it out one call at a
time: about 12 µs a cell, so the 来源 sheet of a district with 2,000
branches (70,000 rows × 8 cells) alone took ten seconds. `FastRowsWorksheet`
renders a whole row to the same XML at `put_row` time — strings still go
through the workbook's shared string table, formats through their xf index —
and writes the rendered rows in place when the sheet is saved. Everything
else (titles, merges, column widths, print set-up) uses the normal API, and
normal rows may sit above, between or below the fast ones.

It leans on xlsxwriter 3's worksheet internals (`_write_rows`, the shared
string table, `_check_dimensions`); `supported()` says whether they are there,
and callers write cells the ordinary way when they are not.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Sequence

from xlsxwriter.worksheet import Worksheet

_STR_MAX = 32767  # characters Excel keeps in a cell


def _column_names(count: int) -> list[str]:
    names = []
    for c in range(count):
        name, n = "", c + 1
        while n:
            n, rest = divmod(n - 1, 26)
            name = chr(65 + rest) + name
        names.append(name)
    return names


_COLUMNS = _column_names(702)  # A … ZZ


def supported() -> bool:
    """Whether this xlsxwriter has the internals the fast rows rely on."""
    return all(hasattr(Worksheet, name) for name in ("_write_rows", "_check_dimensions", "_convert_date_time"))


class FastRowsWorksheet(Worksheet):
    """A Worksheet with `put_row`: one row of values and formats, rendered straight to XML."""

    def __init__(self) -> None:
        super().__init__()
        self._fast: dict[int, str] = {}  # 0-based row -> its rendered <row> element
        self._layouts: dict[tuple[int, ...], tuple[list, list[tuple[str, str]]]] = {}  # by the formats' ids

    def put_row(self, row: int, values: Sequence[Any], formats: Sequence[Any], height: float | None = None) -> None:
        """One row from column A: str as text, int/float as numbers, date/datetime as Excel times,
        None or "" as a formatted blank; `formats[i]` for `values[i]`; `height` in points, as `set_row`."""
        if row in self._fast or self.table.get(row):
            raise ValueError(f"row {row + 1} already written")
        if self._check_dimensions(row, 0) or self._check_dimensions(row, max(len(values) - 1, 0)):
            raise ValueError(f"row {row + 1} is outside the worksheet")
        n = str(row + 1)
        out = [f'<row r="{n}" spans="1:{max(len(values), 1)}"']
        if height is not None:
            pixels = int(height * 4.0 / 3.0 + 0.5)  # as set_row rounds it
            out.append(f' ht="{pixels * 0.75:.16g}" customHeight="1"')
        out.append(">")
        shared = self.str_table._get_shared_string_index
        for (ref, style), value in zip(self._layout(formats), values):
            kind = type(value)
            if kind is str and value:
                out.append(f'{ref}{n}"{style} t="s"><v>{shared(value if len(value) <= _STR_MAX else value[:_STR_MAX])}</v></c>')
            elif kind is int or kind is float or kind is bool:
                out.append(f'{ref}{n}"{style}><v>{value:.16G}</v></c>')
            elif value is None or kind is str:
                if style:
                    out.append(f'{ref}{n}"{style}/>')
            elif isinstance(value, (datetime, date)):
                moment = value if isinstance(value, datetime) else datetime.combine(value, datetime.min.time())
                out.append(f'{ref}{n}"{style}><v>{self._convert_date_time(moment):.16G}</v></c>')
            else:
                out.append(f'{ref}{n}"{style} t="s"><v>{shared(str(value)[:_STR_MAX])}</v></c>')
        out.append("</row>")
        self._fast[row] = "".join(out)

    def _layout(self, formats: Sequence[Any]) -> list[tuple[str, str]]:
        """Per column: the cell's opening ('<c r="B') and its style attribute (' s="3"', '' for none)."""
        key = tuple(map(id, formats))
        found = self._layouts.get(key)
        if found is None:
            cols = [(f'<c r="{_COLUMNS[c]}', f' s="{fmt._get_xf_index()}"' if fmt is not None else "")
                    for c, fmt in enumerate(formats)]
            found = self._layouts[key] = (list(formats), cols)  # the formats stay alive: ids stay theirs
        return found[1]

    def _write_rows(self) -> None:
        """Normal rows through xlsxwriter, segment by segment, the rendered rows in between."""
        if not self._fast:
            super()._write_rows()
            return
        first, last = self.dim_rowmin, self.dim_rowmax
        start = first
        try:
            for row in sorted(self._fast):
                if row > start:
                    self._write_normal(start, row - 1)
                self.fh.write(self._fast[row])
                start = row + 1
            if start <= last:
                self._write_normal(start, last)
        finally:
            self.dim_rowmin, self.dim_rowmax = first, last

    def _write_normal(self, first: int, last: int) -> None:
        """xlsxwriter's own row writer over rows first..last (spans are per 16-row block, optional)."""
        if not any(r in self.table or r in self.row_info or r in self.comments for r in range(first, last + 1)):
            return
        self.dim_rowmin, self.dim_rowmax = first, last
        super()._write_rows()
