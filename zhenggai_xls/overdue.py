"""Overdue rectification items (逾期事项) of a ledger, at an as-of time.

A deadline date means the end of that day: an item due 12-31 is not overdue
at 12-31 23:59, and 1 day overdue on 01-01. 立行立改 without a date is due on
the file's 填报日期. 长期坚持 ("立行立改，长期坚持" too) is never overdue: such
items are listed apart as `ongoing` unless 销号.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pandas as pd

from .rollup import OverdueItem
from .spec import Spec
from .submission import Submission

DONE = "已完成"
CLOSED = "是"
# Order of statuses when days tie, and 长期坚持 last.
STATUS_ORDER = {"overdue": 0, "done_late": 1, "due_soon": 2, "ongoing": 3}


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


def _text(value: Any) -> str:
    if value is None:
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return str(value)


def is_item_list(spec: Spec) -> bool:
    """A table of items with a deadline and a 完成情况 (the ledger)."""
    table = spec.table
    if table is None:
        return False
    types = {f.key: f.type for f in table.fields}
    return "status" in types and any(t == "deadline" for t in types.values())


def deadline_key(spec: Spec) -> str:
    """The key of the table's deadline column."""
    return next(f.key for f in spec.table.fields if f.type == "deadline")


def classify(deadline: date | None, kind: str, status: str, done: date | None,
             report_date: date | None, as_of: datetime, due_soon_days: int
             ) -> tuple[str, int, date | None] | None:
    """(status, days, effective deadline) of one item, or None when it needs no mention."""
    kind = kind or ("date" if deadline else "")
    if "长期坚持" in kind:
        return "ongoing", 0, None
    if deadline is None and "立行立改" in kind:
        deadline = report_date
    if deadline is None:
        return None  # no deadline at all: the validator already reported it
    if status == DONE:
        if done is not None and done > deadline:
            return "done_late", (done - deadline).days, deadline
        return None
    days = (as_of.date() - deadline).days
    if days > 0:
        return "overdue", days, deadline
    if -days <= due_soon_days:
        return "due_soon", days, deadline
    return None


def overdue_items(sub: Submission, spec: Spec, unit_name: str, as_of: datetime,
                  due_soon_days: int = 7, rows: list[dict] | None = None) -> list[OverdueItem]:
    """The items of one ledger submission that are overdue, done late, due soon or 长期坚持
    (`rows`: its rows_of, when the caller has them already)."""
    key = deadline_key(spec)
    report_date = as_date(sub.header.get("report_date"))
    out = []
    for row in rows_of(sub) if rows is None else rows:
        kind = _text(row.get(f"{key}_kind"))
        if "长期坚持" in kind and _text(row.get("closed")) == CLOSED:
            continue  # 销号: nothing left to follow
        found = classify(as_date(row.get(key)), kind, _text(row.get("status")), as_date(row.get("done_date")),
                         report_date, as_of, due_soon_days)
        if found is None:
            continue
        status, days, deadline = found
        out.append(OverdueItem(
            unit=sub.unit_code or "", unit_name=unit_name, form=spec.id, file=sub.path, sheet=sub.sheet,
            row=int(row["_row"]), item=_text(row.get("problem")),
            leader=_text(row.get("leader")) or _text(row.get("person")),
            deadline=deadline, deadline_text=_deadline_text(kind, deadline), status=status, days=days))
    return out


def rows_of(sub: Submission) -> list[dict]:
    """The table rows as dicts (DataFrame.to_dict is slow on many small frames)."""
    rows = sub.rows
    names = list(rows.columns)
    return [dict(zip(names, values)) for values in rows.to_numpy(dtype=object).tolist()] if len(rows) else []


def _deadline_text(kind: str, deadline: date | None) -> str:
    if "长期坚持" in kind:
        return "长期坚持"
    if "立行立改" in kind:
        return f"立行立改（{deadline.isoformat()}）" if deadline else "立行立改"
    return deadline.isoformat() if deadline else ""


def sort_items(items: list[OverdueItem]) -> list[OverdueItem]:
    """Most days overdue first; 长期坚持 last; ties by unit, file, row."""
    return sorted(items, key=lambda o: (o.status == "ongoing", -o.days, STATUS_ORDER[o.status],
                                        o.unit, str(o.file), o.row))


def status_counts(items: list[OverdueItem]) -> dict[str, int]:
    """How many items per overdue status."""
    return {s: sum(1 for o in items if o.status == s) for s in STATUS_ORDER}
