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
from .submission import Submission, as_date

DONE = "已完成"
CLOSED = "是"
# Order of statuses when days tie, and 长期坚持 last.
STATUS_ORDER = {"overdue": 0, "done_late": 1, "due_soon": 2, "ongoing": 3}


def _text(value: Any) -> str:
    if type(value) is str:  # nearly every value: skip the blank checks
        return value
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
                  due_soon_days: int = 7) -> list[OverdueItem]:
    """The items of one ledger submission that are overdue, done late, due soon or 长期坚持."""
    key = deadline_key(spec)
    report_date = as_date(sub.header.get("report_date"))
    column = sub.row_values
    rows, problems, leaders, persons = column("_row"), column("problem"), column("leader"), column("person")
    out = []
    for i, (deadline, kind, status, done, closed) in enumerate(zip(
            sub.row_dates(key), column(f"{key}_kind"), column("status"), sub.row_dates("done_date"), column("closed"))):
        kind = _text(kind)
        if "长期坚持" in kind and _text(closed) == CLOSED:
            continue  # 销号: nothing left to follow
        found = classify(deadline, kind, _text(status), done, report_date, as_of, due_soon_days)
        if found is None:
            continue
        status, days, deadline = found
        out.append(OverdueItem(
            unit=sub.unit_code or "", unit_name=unit_name, form=spec.id, file=sub.path, sheet=sub.sheet,
            row=int(rows[i]), item=_text(problems[i]), leader=_text(leaders[i]) or _text(persons[i]),
            deadline=deadline, deadline_text=_deadline_text(kind, deadline), status=status, days=days))
    return out


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
