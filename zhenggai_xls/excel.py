"""Excel details in one place: A1 references, sheet names, list limits, safe text."""
from __future__ import annotations

import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

SHEET_NAME_MAX = 31
LIST_SOURCE_MAX = 255  # characters in a data-validation list typed inline
METADATA_SHEET = "_zhenggai"  # hidden sheet holding machine-readable metadata

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
    """Yield a temp path beside `target`; on success rename it over `target`."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=target.suffix, dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
