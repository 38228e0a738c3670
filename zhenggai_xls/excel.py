"""Excel details in one place: A1 references, sheet names, list limits, safe text, rows written as sheet XML."""
from __future__ import annotations

import heapq
import math
import numbers
import os
import re
import tempfile
import zipfile
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator, Sequence

from .errors import OutputError, os_reason

SHEET_NAME_MAX = 31
LIST_SOURCE_MAX = 255  # characters in a data-validation list typed inline
METADATA_SHEET = "_zhenggai"  # hidden sheet holding machine-readable metadata
CELL_TEXT_MAX = 32767  # characters Excel keeps in a cell
EXCEL_EPOCH = date(1899, 12, 30)  # day 0 of the 1900 date system, after Excel's 1900-02-29 bug

_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def col_letter(col: int) -> str:
    """0-based column index -> 'A', 'B', … 'AA'."""
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def a1(row: int, col: int) -> str:
    """0-based (row, col) -> 'B3'."""
    return f"{col_letter(col)}{row + 1}"


def parse_a1(ref: str) -> tuple[int, int]:
    """'B3' -> 0-based (row, col)."""
    m = re.fullmatch(r"\$?([A-Za-z]{1,3})\$?(\d+)", ref.strip())
    if not m:
        raise ValueError(f"not an A1 reference: {ref!r}")
    col = 0
    for ch in m.group(1).upper():
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)) - 1, col - 1


def range_a1(first_row: int, first_col: int, last_row: int, last_col: int) -> str:
    """0-based inclusive bounds -> 'A1:C3'."""
    return f"{a1(first_row, first_col)}:{a1(last_row, last_col)}"


def sheet_name(name: str) -> str:
    """A valid sheet name: forbidden characters removed, at most 31 characters."""
    cleaned = _BAD_SHEET_CHARS.sub("", name).strip("'") or "Sheet"
    return cleaned[:SHEET_NAME_MAX]


def quote_sheet(name: str) -> str:
    """The sheet name as it appears in a formula or internal link: 'My Sheet'."""
    return "'" + name.replace("'", "''") + "'"


def internal_link(sheet: str, cell: str) -> str:
    """An internal hyperlink target, '#'Sheet'!D7'."""
    return f"#{quote_sheet(sheet)}!{cell}"


@contextmanager
def atomic_path(target: Path | str) -> Iterator[Path]:
    """Yield a temp path beside `target`; on success rename it over `target`, with the permissions
    any new file gets here (the temp file's own are owner-only: others sharing the folder could
    not open the summary). OutputError, saying what to do, when it cannot be written."""
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=target.suffix, dir=target.parent)
        os.close(fd)
    except OSError as exc:
        raise _cannot_write(target, exc) from None
    try:
        yield Path(tmp)
        umask = os.umask(0o022)  # Python reads the umask only by setting it
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)  # Windows refuses while Excel or WPS has the target open
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _cannot_write(target, exc) from None
        raise


def _cannot_write(target: Path, exc: OSError) -> OutputError:
    return OutputError(f"无法写入“{target}”：{os_reason(exc)}。")


# ---------------------------------------------------------------- rows written as sheet XML

_ESCAPES = re.compile(r"[&<>\x00-\x08\x0b\x0c\x0e-\x1f]|_x[0-9A-Fa-f]{4}_")


def _text_xml(text: str) -> str:
    """A cell's inline string: XML-escaped; control characters as _xHHHH_ (and a literal _xHHHH_
    protected), as ECMA-376 writes them; leading/trailing spaces kept. (SheetRows.add writes plain
    text without calling this.)"""
    text = re.sub(r"_(?=x[0-9A-Fa-f]{4}_)", "_x005F_", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", lambda m: f"_x{ord(m.group()):04X}_", text)
    space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
    return f"<is><t{space}>{text}</t></is>"


def _serial(value: date) -> float:
    """A date or time as Excel's serial number (days since EXCEL_EPOCH)."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time())
    return (value.replace(tzinfo=None) - datetime.combine(EXCEL_EPOCH, time())) / timedelta(days=1)


class SheetRows:
    """Rows of plain cells for a worksheet xlsxwriter writes, rendered here as the sheet's XML and put
    into the closed workbook by `splice_rows`. xlsxwriter spends ~13 µs a cell (its write call, then
    its XML); this ~1.5 µs: a 300,000-cell summary took ~4 s to write, most of it its list sheets.

    Values: text (an inline string), numbers (NaN and infinities as blanks), datetime or date (a serial
    number: give it a date format), None or "" (a blank that keeps its format; no cell at all without
    one). These rows must not be written with xlsxwriter too; other rows of the sheet may be.
    """

    def __init__(self, ws: Any):
        self.ws = ws
        self.rows: list[tuple[int, str]] = []  # (0-based row, its <row> element), rows ascending
        self.last_col = -1
        self._styles: dict[int, str] = {}  # id(format) -> its xf index

    def add(self, row: int, cells: Sequence[tuple[object, Any]], height: float | None = None) -> None:
        """One row: (value, xlsxwriter Format) per column from A; `height` in points."""
        if self.rows and row <= self.rows[-1][0]:
            raise ValueError(f"rows must be added in order: {row + 1} after {self.rows[-1][0] + 1}")
        r = str(row + 1)
        out = [f'<row r="{r}" ht="{height}" customHeight="1">' if height else f'<row r="{r}">']
        styles = self._styles
        for c, (value, fmt) in enumerate(cells):
            at = f'<c r="{_COLUMNS[c] if c < 64 else col_letter(c)}{r}"{styles.get(id(fmt)) or self._style(fmt)}'
            kind = type(value)
            if kind is str and value:
                if _ESCAPES.search(value) or value[0].isspace() or value[-1].isspace() or len(value) > CELL_TEXT_MAX:
                    out.append(f'{at} t="inlineStr">{_text_xml(value[:CELL_TEXT_MAX])}</c>')
                else:
                    out.append(f'{at} t="inlineStr"><is><t>{value}</t></is></c>')
            elif kind is int or (kind is float and math.isfinite(value)):
                out.append(f"{at}><v>{value!r}</v></c>")
            elif value is None or value == "" or kind is float:  # NaN and infinities have no cell value
                if fmt is not None:
                    out.append(f"{at}/>")
            elif isinstance(value, (datetime, date)):
                out.append(f"{at}><v>{_serial(value)!r}</v></c>")
            elif isinstance(value, (numbers.Real, Decimal)) and not isinstance(value, bool) and math.isfinite(value):
                out.append(f"{at}><v>{float(value)!r}</v></c>")  # Decimal, numpy numbers
            else:
                raise TypeError(f"no cell for a {kind.__name__}")
        out.append("</row>")
        self.rows.append((row, "".join(out)))
        self.last_col = max(self.last_col, len(cells) - 1)

    def _style(self, fmt: Any) -> str:
        # Asking the format for its index registers it with the workbook, as writing a cell with it would.
        s = f' s="{fmt._get_xf_index()}"' if fmt is not None else ""
        self._styles[id(fmt)] = s
        return s

    def into(self, xml: str) -> str:
        """The sheet's XML as xlsxwriter wrote it, with these rows merged into <sheetData> by row
        number and <dimension> widened to cover them."""
        if "<sheetData/>" in xml:
            xml = xml.replace("<sheetData/>", "<sheetData></sheetData>")
        head, rest = xml.split("<sheetData>", 1)
        data, tail = rest.split("</sheetData>", 1)
        theirs = [(int(chunk[3:chunk.index('"', 3)]) - 1, "<row " + chunk) for chunk in data.split("<row ")[1:]]
        rows = "".join(x for _, x in heapq.merge(theirs, self.rows))
        ref = re.search(r'<dimension ref="([A-Z]+\d+)(?::([A-Z]+\d+))?"/>', head)
        if ref and self.rows:
            last_row, last_col = parse_a1(ref.group(2) or ref.group(1))
            end = a1(max(last_row, self.rows[-1][0]), max(last_col, self.last_col))
            head = f'{head[:ref.start()]}<dimension ref="{ref.group(1)}:{end}"/>{head[ref.end():]}'
        return f"{head}<sheetData>{rows}</sheetData>{tail}"


_COLUMNS = [col_letter(c) for c in range(64)]


def splice_rows(path: Path, workbook: Any, sheets: Sequence[SheetRows]) -> None:
    """Put each SheetRows' rows into its worksheet in the workbook xlsxwriter closed at `path`
    (xlsxwriter stores the n-th worksheet added as xl/worksheets/sheet<n>.xml)."""
    order = workbook.worksheets()
    parts = {f"xl/worksheets/sheet{order.index(s.ws) + 1}.xml": s for s in sheets if s.rows}
    if not parts:
        return
    with zipfile.ZipFile(path) as zin:
        members = [(info, zin.read(info)) for info in zin.infolist()]
    with zipfile.ZipFile(path, "w") as zout:
        for info, data in members:
            if info.filename in parts:
                data = parts[info.filename].into(data.decode("utf-8")).encode("utf-8")
            # Level 3: a third of the default's time on ~20 MB of sheet XML, a file ~20% larger.
            zout.writestr(info, data, zipfile.ZIP_DEFLATED, compresslevel=3)
