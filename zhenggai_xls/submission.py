"""What reading and validating one submitted file produces."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

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
