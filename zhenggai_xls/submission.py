"""What reading and validating one submitted file produces."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

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
