"""Read any workbook a unit sends back into cells with their absolute addresses.

CONTRACT (other modules rely on it; the implementation is being written):
read_workbook(path, limits) -> Workbook, or raises ReadError carrying a Problem.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .errors import ZhenggaiError
from .problems import Problem


@dataclass(frozen=True)
class Limits:
    """Bounds that keep one hostile file from stalling a run (named in messages)."""

    max_file_bytes: int = 50 * 1024 * 1024
    max_cells: int = 2_000_000
    max_inflated_bytes: int = 300 * 1024 * 1024


@dataclass
class Sheet:
    """One worksheet: non-blank cells by 0-based absolute (row, col), and merges."""

    name: str
    cells: dict[tuple[int, int], object]  # str/int/float/bool/date/datetime/time; blanks absent
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)  # (r0, c0, r1, c1) inclusive
    hidden: bool = False
    formulas_without_value: set[tuple[int, int]] = field(default_factory=set)
    errors: set[tuple[int, int]] = field(default_factory=set)  # cells holding #DIV/0! and the like


@dataclass
class Workbook:
    """A file read as cells; `metadata` comes from a template's hidden sheet."""

    path: Path
    format: str  # xlsx, xlsm, xlsb, xls, ods, csv
    sheets: list[Sheet]
    metadata: dict[str, str] = field(default_factory=dict)


class ReadError(ZhenggaiError):
    """The file cannot be read as a workbook; carries the Problem to report."""

    def __init__(self, problem: Problem):
        self.problem = problem
        super().__init__(problem.message)


def read_workbook(path: Path | str, limits: Limits = Limits()) -> Workbook:
    """Read a submitted file; ReadError (never another exception) when it cannot be."""
    raise NotImplementedError
