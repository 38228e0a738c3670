"""Timeliness: which reports were due, which came in on time, late, not at all, or invalid.

All times are Beijing time (naive datetimes); an aware time (an e-mail's Date
header) is converted, a file's modification time is read in Beijing time, so
the verdict does not depend on the machine's time zone. A deadline given as a
date means the end of that day (campaign.py makes it 23:59:59).
"""
from __future__ import annotations

import math
import os
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Iterable, Mapping
from zoneinfo import ZoneInfo

from .campaign import Campaign, FormPlan
from .orgs import Org
from .submission import Submission

BEIJING = ZoneInfo("Asia/Shanghai")
DAY = timedelta(days=1)


def beijing(moment: datetime | date | str | None) -> datetime | None:
    """A naive Beijing-time datetime from an aware/naive datetime, a date or an ISO text."""
    if moment is None or moment == "":
        return None
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.strip())
    if not isinstance(moment, datetime):
        return datetime.combine(moment, datetime.max.time().replace(microsecond=0))
    if moment.tzinfo is not None:
        return moment.astimezone(BEIJING).replace(tzinfo=None)
    return moment


def file_mtime(path: Path | str) -> datetime | None:
    """The file's modification time in Beijing time; None when it cannot be read."""
    try:
        stamp = os.stat(path).st_mtime
    except OSError:
        return None
    return datetime.fromtimestamp(stamp, BEIJING).replace(tzinfo=None)


def register_times(register: Mapping[Any, Any] | None) -> dict[str, datetime]:
    """{absolute path text: received time} from a register {path: IntakeRow | dict | datetime | text}."""
    out: dict[str, datetime] = {}
    for path, row in (register or {}).items():
        value = row.get("received") if isinstance(row, Mapping) else getattr(row, "received", row)
        try:
            moment = beijing(value)
        except (TypeError, ValueError):
            continue  # an unreadable time in the register: fall back to the file's own
        if moment is not None:
            out[os.path.abspath(path)] = moment
    return out


def received_time(sub: Submission, times: Mapping[str, datetime]) -> datetime | None:
    """When a file came in: the register's time, else the submission's, else the file's mtime."""
    found = times.get(os.path.abspath(sub.path))
    if found is not None:
        return found
    if sub.received is not None:
        return beijing(sub.received)
    return file_mtime(sub.path)  # stat only: the file's content is not read


def days_after(moment: datetime, deadline: datetime) -> int:
    """Whole days (rounded up) that `moment` is past `deadline`; 0 when not past it."""
    if moment <= deadline:
        return 0
    return math.ceil((moment - deadline) / DAY)


def is_on_time(received: datetime | None, deadline: datetime | None) -> bool:
    """Received by the deadline (no deadline: on time)."""
    return deadline is None or (received is not None and received <= deadline)


@dataclass(frozen=True)
class Expected:
    """One report that should come in: unit × form × period, with its deadline."""

    org: Org
    form: str
    period: str | None
    deadline: datetime | None


def plan_deadline(plan: FormPlan, org: Org, period: str | None) -> datetime | None:
    """The deadline of `org` for one period of a form; None when its level does not report it."""
    if org.level not in plan.levels:
        return None
    return beijing(plan.deadline(org.level, period))


def due_periods(plan: FormPlan, org: Org, as_of: datetime, received: set[str | None]) -> list[str | None]:
    """Periods expected at as_of: one-off forms always; recurring ones when due, received, or next due."""
    periods = list(plan.periods())
    if periods == [None]:
        return periods
    out, next_taken = [], False
    for period in sorted(periods):
        deadline = plan_deadline(plan, org, period)
        if deadline is None or deadline <= as_of or period in received:
            out.append(period)
        elif not next_taken:  # the report currently being waited for
            out.append(period)
            next_taken = True
    return out


def expected_reports(campaign: Campaign, units: Iterable[Org], as_of: datetime,
                     received: Mapping[tuple[str, str], set[str | None]]) -> list[Expected]:
    """Every report due from `units` (tree order, then campaign form order, then period)."""
    out = []
    for org in units:
        for form, plan in campaign.forms.items():
            if org.level not in plan.levels:
                continue
            for period in due_periods(plan, org, as_of, received.get((org.code, form), set())):
                out.append(Expected(org, form, period, plan_deadline(plan, org, period)))
    return out


def match_period(plan: FormPlan, period: str | None) -> tuple[bool, str | None]:
    """The plan's period a submission's period falls in (same ISO week); (False, None) if none."""
    periods = list(plan.periods())
    if periods == [None]:
        return True, None
    if not period:
        return False, None
    try:
        week = date.fromisoformat(str(period)[:10]).isocalendar()[:2]
    except ValueError:
        return False, None
    for candidate in periods:
        if date.fromisoformat(candidate).isocalendar()[:2] == week:
            return True, candidate
    return False, None


# ---------------------------------------------------------------- terminal table


def display_width(text: str) -> int:
    """Terminal columns `text` takes: CJK characters two each."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def aligned(rows: list[tuple[str, ...]]) -> list[str]:
    """`rows` as terminal lines, each column padded to its widest cell (the last one left as is)."""
    widths = [max(display_width(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return ["  ".join([*(c + " " * (w - display_width(c)) for c, w in zip(r, widths)), r[-1]]).rstrip()
            for r in rows]


def status_text(result) -> str:
    """The 报送情况 table for the terminal: one line per unit × form × period, counts below."""
    from .spec import load_specs

    specs = load_specs()
    head = ("单位", "表单", "周期", "报送情况", "收到时间", "文件")
    rows = []
    for s in result.statuses:
        title = specs[s.form].title if s.form in specs else s.form
        received = s.received.strftime("%Y-%m-%d %H:%M") if s.received else ""
        rows.append((s.unit_name, title, s.period or "", s.words, received, s.file.name if s.file else ""))
    lines = aligned([head, *rows])
    c = result.counts()
    lines.append("")
    lines.append(f"{result.level.name}（截至 {result.as_of:%Y-%m-%d %H:%M}）：应报 {c['expected']}，"
                 f"已报 {c['reported']}（按时 {c['on_time']}，逾期 {c['late']}），"
                 f"未报送 {c['missing']}，未通过校验 {c['invalid']}")
    if result.set_aside:  # in the inbox yet counted nowhere: a clerk must see why, not only fewer 已报
        lines.append(f"未计入的文件 {len(result.set_aside)} 个：")
        lines += [f"  {s.file.name}：{s.reason}" for s in result.set_aside]
    return "\n".join(lines)


def overdue_words(items) -> str:
    """'逾期未完成 3，逾期完成 1，临期 2，长期坚持 4': the 逾期事项 sheet's rows by kind."""
    from .overdue import status_counts
    from .rollup import OVERDUE_STATUSES

    return "，".join(f"{OVERDUE_STATUSES[s]} {n}" for s, n in status_counts(items).items())


def summary_text(result, workbook: Path | None = None) -> str:
    """A few Chinese lines after `rollup`: who reported, per-form coverage, overdue items, the workbook."""
    from .spec import load_specs

    specs = load_specs()
    c = result.counts()
    lines = [f"汇总单位：{result.level.name}（截至 {result.as_of:%Y-%m-%d %H:%M}）",
             f"报送情况：应报 {c['expected']}，已报 {c['reported']}（按时 {c['on_time']}，逾期 {c['late']}），"
             f"未报送 {c['missing']}，未通过校验 {c['invalid']}；被替代的旧版本 {len(result.superseded)} 个，"
             f"未计入的文件 {len(result.set_aside)} 个。"]
    for form, fr in result.forms.items():
        cover = fr.coverage.get(result.level.code)
        if cover is not None:
            counted = "（按党支部计）" if specs[form].unit_per_row else ""
            lines.append(f"  {specs[form].title}{counted}：应报 {cover.expected}，已报 {cover.reported}，按时 {cover.on_time}")
    if result.overdue:
        lines.append(f"逾期事项：{overdue_words(result.overdue)}")
    if result.conflicts:
        units = len({x.unit for x in result.conflicts})
        lines.append(f"注意：{units} 个党支部的备案表与党(工)委统计表数字不一致（{len(result.conflicts)} 处），"
                     "汇总按备案表计算，详见汇总表。")
    if workbook is not None:
        lines.append(f"汇总表：{workbook}")
    return "\n".join(lines)
