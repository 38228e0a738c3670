"""What reading and validating one submitted file produces."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from .problems import Problem


@dataclass
class Submission:
    """One file read as one form: its unit, its values and every problem found.

    `header` holds the normalised values of header lines and form lines by
    field key; `rows` the normalised table rows, one column per field key plus
    `_row` (the 1-based Excel row in the original file). `cells` maps each
    header/line field key to its A1 cell and `columns` each table field key to
    its column letter, so every value can be traced to the original cell.
    """

    path: Path
    form: str | None = None
    sheet: str | None = None
    unit_code: str | None = None
    unit_name: str | None = None
    unit_basis: str = ""  # metadata | name | alias | fuzzy | sender | ""
    period: str | None = None  # weekly: the ISO date of the week's Friday; else None
    header: dict[str, Any] = field(default_factory=dict)
    rows: pd.DataFrame = field(default_factory=pd.DataFrame)
    cells: dict[str, str] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    rejected: bool = False
    received: datetime | None = None

    def share_rows(self, block: RowBlock, start: int, stop: int) -> None:
        """Take rows start:stop of a shared block as this submission's rows (a frame only when asked for)."""
        self._rows, self._span = None, (block, start, stop)

    def row_count(self) -> int:
        """How many table rows."""
        if self._rows is None:
            return self._span[2] - self._span[1]
        return len(self._rows)

    def row_names(self) -> pd.Index:
        """The table's column names (field keys, `_row`, `_unit` for a unit-per-row table)."""
        if self._rows is None:
            return self._span[0].frame.columns
        return self._rows.columns

    def row_values(self, column: str) -> list:
        """One table column as a plain list, each value as `rows.to_numpy(dtype=object)` gives it;
        all None when the table has no such column."""
        if self._rows is None:
            block, start, stop = self._span
            return block.values(column)[start:stop] if column in block.names else [None] * (stop - start)
        if column not in self._rows.columns:
            return [None] * len(self._rows)
        return self._rows[column].to_numpy(dtype=object).tolist()

    def row_dates(self, column: str) -> list[date | None]:
        """A date column as dates (None for blank), without a Timestamp per value when it can."""
        if self._rows is None and column in self._span[0].names:
            block, start, stop = self._span
            return block.dates(column)[start:stop]
        return [as_date(v) for v in self.row_values(column)]

    def records(self) -> list[dict[str, Any]]:
        """The table rows as dicts, column -> value (as `row_values` gives them)."""
        names = self.row_names()
        return [dict(zip(names, values)) for values in zip(*(self.row_values(n) for n in names))]

    @property
    def valid(self) -> bool:
        """Read as a known form and free of errors (warnings allowed)."""
        return not self.rejected and not any(p.severity == "error" for p in self.problems)

    def as_dict(self) -> dict:
        """The JSON shape of `validate --json` (files[])."""
        return {
            "path": str(self.path), "form": self.form, "unit_code": self.unit_code,
            "unit_name": self.unit_name, "valid": self.valid, "rejected": self.rejected,
            "problems": [p.as_dict() for p in self.problems],
        }


def _rows_get(self: Submission) -> pd.DataFrame:
    if self._rows is None:  # shared rows: cut this submission's frame out of the block now
        block, start, stop = self._span
        rows = block.frame.iloc[start:stop]
        rows.index = pd.RangeIndex(stop - start)  # a new index on the slice; no data copied
        self._rows, self._span = rows, None  # from now on the frame is the rows (it may be edited)
    return self._rows


def _rows_set(self: Submission, rows: pd.DataFrame) -> None:
    self._rows, self._span = rows, None


# `rows` is a property (the dataclass field stays for __init__, repr and ==): rows shared with other
# submissions in one RowBlock become a DataFrame of their own only when something asks for one.
Submission.rows = property(_rows_get, _rows_set, doc="The normalised table rows (see the class docstring).")


class RowBlock:
    """The table rows of many submissions in one frame, each submission's rows one contiguous span.

    How a worker's rows travel back to the main process (one frame pickles far faster than a
    thousand small ones). A column becomes a plain list once, when first asked for, and every
    submission cut from the block shares it: the frame itself is never edited.
    """

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self.names = frozenset(frame.columns)
        self._values: dict[str, list] = {}
        self._dates: dict[str, list] = {}

    def values(self, column: str) -> list:
        """The column as a list, each value as `DataFrame.to_numpy(dtype=object)` gives it."""
        if column not in self._values:
            self._values[column] = self.frame[column].to_numpy(dtype=object).tolist()
        return self._values[column]

    def dates(self, column: str) -> list[date | None]:
        """The column as dates (None for blank), as `as_date` of each value gives them."""
        if column not in self._dates:
            series = self.frame[column]
            if isinstance(series.dtype, np.dtype) and series.dtype.kind == "M":  # naive datetime64: whole days at once
                self._dates[column] = series.to_numpy(dtype="datetime64[D]").astype(object).tolist()
            else:
                self._dates[column] = [as_date(v) for v in self.values(column)]
        return self._dates[column]

    def __getstate__(self) -> dict:
        return {"frame": self.frame}  # the lists are rebuilt on demand, not pickled

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["frame"])


def as_date(value: Any) -> date | None:
    """A date from a date, datetime, pandas Timestamp or ISO text; None for blank/NaT."""
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, datetime):  # pandas Timestamp is a datetime too
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        return None


class RawCell(NamedTuple):
    """A value as read from the original file, with its address there.

    A NamedTuple, not a frozen dataclass: a large sheet makes millions of them,
    and a tuple is built (and pickled to the main process) several times faster.
    """

    value: Any  # str, int, float, bool, date, datetime, time; None when blank
    cell: str  # A1 address in the original sheet
    formula_without_value: bool = False  # a formula whose result was never calculated
    error: bool = False  # an error value such as #DIV/0!


@dataclass
class Extract:
    """One form located in one sheet: raw values by field key, before normalising.

    Produced by `locate`, consumed by `validate`. `fields` holds header lines
    and form lines; `rows` the table's data rows (blank rows, 合计 rows and
    note lines already left out), `row_numbers` their 1-based Excel rows.
    """

    path: Path
    form: str
    sheet: str
    fields: dict[str, RawCell] = field(default_factory=dict)
    rows: list[dict[str, RawCell]] = field(default_factory=list)
    row_numbers: list[int] = field(default_factory=list)
    total_row: dict[str, RawCell] | None = None  # a 合计 row the unit typed
    columns: dict[str, str] = field(default_factory=dict)  # table field key -> column letter
    problems: list[Problem] = field(default_factory=list)  # found while locating
    metadata: dict[str, str] = field(default_factory=dict)  # from a template's hidden sheet
