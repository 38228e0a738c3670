"""The roll-up: valid submissions of a level's units summed up the org tree.

`rollup()` is pure (no file content is read): it takes validated Submissions
and the Campaign and returns a RollupResult that `report.write_summary`
turns into the summary workbook and `as_json()` into `rollup --json`.

Rules worth knowing (they are also in the README):
- per unit × form × period the LATEST valid version counts (received time,
  then path); older valid versions are `superseded`; invalid ones are listed
  and never counted. Timeliness is judged on the FIRST valid version, so a
  correction sent after the deadline does not make an on-time unit late.
- a branch's `stats` row comes from its `filing` through the spec's `feeds`
  (the source document) when there is one, else from a committee's `stats`
  row for it; the two are compared and a difference is a `Conflict`. A branch
  is counted once, whichever path its figures came by.
- a unit's subtotal = its own figures (one-per-file forms it submitted
  itself) + the subtotals of its children; the level's `totals` likewise.
- weekly figures are stocks: a unit's figures are its latest reported week.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from typing import Any, Callable

import pandas as pd

from .campaign import Campaign
from .errors import ConfigError
from .orgs import Org
from .problems import Problem
from .spec import Spec, did_you_mean, load_specs
from .status import (BEIJING, Expected, beijing, days_after, expected_reports, is_on_time, match_period,
                     plan_deadline, received_time, register_times)
from .submission import Submission

# Submission statuses (JSON) and their Chinese words (报送情况).
REPORT_STATUSES = {"on_time": "按时报送", "late": "逾期报送", "missing": "未报送", "invalid": "未通过校验"}
# Overdue statuses of ledger items (JSON) and their Chinese words (逾期事项).
OVERDUE_STATUSES = {"overdue": "逾期未完成", "done_late": "逾期完成", "due_soon": "临期", "ongoing": "长期坚持"}
# `by` groupings: Chinese word -> Org attribute.
GROUPINGS = {"督导组": "group", "类型": "type"}


@dataclass(frozen=True)
class ReportStatus:
    """One expected report (unit × form × period) and how it came in."""

    unit: str  # org code
    unit_name: str
    form: str  # spec id
    period: str | None  # weekly: ISO date of the due day; else None
    deadline: datetime | None
    status: str  # one of REPORT_STATUSES
    days_late: int  # late: ceil of days after the deadline; missing: days past it at as_of; else 0
    received: datetime | None  # of the version timeliness was judged on
    file: Path | None  # the version that counts (invalid: the latest invalid one)

    @property
    def words(self) -> str:
        """按时报送 / 逾期报送 N 天 / 未报送 / 未通过校验."""
        if self.status == "late":
            return f"逾期报送 {self.days_late} 天"
        return REPORT_STATUSES[self.status]

    def as_json(self) -> dict:
        return {"unit": self.unit, "form": self.form, "period": self.period, "status": self.status,
                "days_late": self.days_late, "file": str(self.file) if self.file else None}


@dataclass(frozen=True)
class Coverage:
    """应报 / 已报 / 按时 for one unit's subtotal (or the level's 合计) of one form.

    Counted in reports: unit × period for one-per-file forms (periods due by as_of),
    branch rows for a fed table form such as `stats`. on_time <= reported <= expected.
    """

    expected: int
    reported: int
    on_time: int


@dataclass(frozen=True)
class Provenance:
    """Where one leaf row's figures came from: file, sheet and cells."""

    unit: str  # the leaf unit the row belongs to
    form: str  # the form the figures count for (e.g. stats)
    source_form: str  # the form of the file (e.g. filing)
    period: str | None
    file: Path
    sheet: str | None
    row: int | None  # 1-based Excel row for a table row; None for a one-per-file form
    cells: dict[str, str]  # field key -> A1 cell(s) ("D7", "D7:D11" or "C12,C15")


@dataclass(frozen=True)
class Superseded:
    """An older valid version replaced by a later one of the same unit × form × period."""

    file: Path
    unit: str
    form: str
    period: str | None
    received: datetime | None
    by: Path  # the version that counts


@dataclass(frozen=True)
class SetAside:
    """A file that counts nowhere in this roll-up, and why (in Chinese)."""

    file: Path
    reason: str
    unit: str | None = None
    form: str | None = None


@dataclass(frozen=True)
class Conflict:
    """A branch reported both ways (its filing, a committee's stats row) with different figures."""

    unit: str
    form: str  # the fed form, e.g. stats
    field: str  # field key
    label: str  # field full label
    source_value: int  # from the branch's own file (this one counts)
    summary_value: int  # from the committee's summary row
    source_file: Path
    summary_file: Path
    summary_cell: str | None


@dataclass(frozen=True)
class OverdueItem:
    """A ledger row that is overdue, done late, due soon or long-term (长期坚持)."""

    unit: str
    unit_name: str
    form: str
    file: Path
    sheet: str | None
    row: int  # 1-based Excel row in the unit's file
    item: str  # 问题描述
    leader: str  # 责任领导 (else 责任人)
    deadline: date | None  # None for 长期坚持
    deadline_text: str  # "2023-12-31", "立行立改（2023-11-20）", "长期坚持"
    status: str  # one of OVERDUE_STATUSES
    days: int  # as_of − deadline (done − deadline for done_late); negative = days left; 0 for ongoing

    def as_json(self) -> dict:
        return {"unit": self.unit, "form": self.form, "file": str(self.file), "row": self.row,
                "item": self.item, "deadline": self.deadline.isoformat() if self.deadline else None,
                "status": self.status, "days": self.days}


@dataclass(frozen=True)
class Finding:
    """A self-check item where a unit found problems (自查汇总)."""

    unit: str
    item: str  # 自查项目
    problem_count: int
    problems: str  # 存在问题 as typed
    file: Path
    row: int | None


@dataclass
class FormRollup:
    """One form's figures: leaf units, every intermediate subtotal and the level's 合计."""

    form: str
    fields: tuple[str, ...]  # the summed field keys, in spec order
    units: dict[str, dict[str, int]]  # leaf units and intermediate subtotals, tree order
    totals: dict[str, int]  # the level's 合计
    coverage: dict[str, Coverage]  # intermediate unit code (and the level's code) -> 应报/已报/按时
    own: dict[str, dict[str, int]] = field(default_factory=dict)  # figures a unit reported itself
    by_period: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)  # weekly: period -> unit -> figures
    # per grouping ("督导组" / "类型"): group -> summed figures, and group -> 应报/已报/按时
    groups: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    group_coverage: dict[str, dict[str, Coverage]] = field(default_factory=dict)

    def as_json(self) -> dict:
        return {"totals": dict(self.totals), "units": {u: dict(f) for u, f in self.units.items()}}


@dataclass
class RollupResult:
    """Everything the summary workbook, `status` and `rollup --json` need, for one level."""

    campaign: Campaign
    level: Org  # the unit whose summary this is
    as_of: datetime
    forms: dict[str, FormRollup]  # form id -> figures (campaign order; fed forms after their source)
    statuses: list[ReportStatus]  # every expected report; tree order, then form, then period
    overdue: list[OverdueItem]  # by days overdue (most first), 长期坚持 last
    provenance: list[Provenance]  # every counted leaf row
    superseded: list[Superseded]
    invalid: list[Submission]  # every submission with errors (or rejected) of this level
    set_aside: list[SetAside]  # valid files that count nowhere here, with the reason
    conflicts: list[Conflict]
    findings: list[Finding]  # self_check items with problems
    shortfalls: list[tuple[str, Problem]]  # (unit, problem rule.frequency): 三会一课不正常
    weekly_rates: dict[str, dict[str, float | None]]  # unit -> period -> 已完成/问题数 (None if 0 problems)
    by: str | None = None  # "督导组" / "类型" when grouped
    groupings: tuple[str, ...] = ()  # every grouping shown: `by`, then the campaign's `groupings`
    units: list[Org] = field(default_factory=list)  # every org under the level, tree order

    def counts(self) -> dict[str, int]:
        """应报/已报/按时/逾期/未报/未通过校验 over all expected reports (the cover sheet)."""
        by_status = {s: sum(1 for r in self.statuses if r.status == s) for s in REPORT_STATUSES}
        return {"expected": len(self.statuses), "reported": by_status["on_time"] + by_status["late"],
                **by_status}

    def as_json(self) -> dict:
        """The exact `rollup --json` shape."""
        return {
            "as_of": self.as_of.isoformat(sep=" "),
            "level": self.level.code,
            "forms": {fid: fr.as_json() for fid, fr in self.forms.items()},
            "submissions": [s.as_json() for s in self.statuses],
            "overdue": [o.as_json() for o in self.overdue],
        }


# ---------------------------------------------------------------- the roll-up

BRANCH = "党支部"
SUMMED_TYPES = ("count", "mark")
# A ledger's figures: items by 完成情况 and by overdue status.
ITEM_STATUS_KEYS = {"已完成": "done", "正在推进": "in_progress", "未启动": "not_started"}
ITEM_FIGURES = ("problem_count", "done", "in_progress", "not_started", "overdue", "done_late", "due_soon", "ongoing")
UNGROUPED = "（未分组）"


@dataclass
class _Part:
    """One contribution to a form's figures: a unit's row, or a whole one-per-file submission."""

    unit: str
    form: str
    period: str | None
    figures: dict[str, int]
    on_time: bool
    via_summary: bool  # a row of another unit's summary (a committee's stats row for a branch)
    provenance: Provenance


@dataclass
class _Key:
    """Every version received for one unit × form × period."""

    unit: str
    form: str
    period: str | None
    versions: list[tuple[datetime | None, Submission]] = field(default_factory=list)

    def ordered(self) -> list[tuple[datetime | None, Submission]]:
        return sorted(self.versions, key=lambda v: (v[0] or datetime.min, str(v[1].path)))

    def valid(self) -> list[tuple[datetime | None, Submission]]:
        return [v for v in self.ordered() if v[1].valid]


def rollup(submissions: list[Submission], campaign: Campaign, *, level: str | None = None,
           as_of: datetime | None = None, by: str | None = None,
           register: dict | None = None) -> RollupResult:
    """Roll up validated submissions for `level` (default: the tree's root) at `as_of`.

    `register` maps stored paths to received times (or register rows with "received");
    without an entry the submission's `received`, else the file's mtime, is used.
    """
    from .overdue import sort_items

    specs = load_specs()
    tree = campaign.orgs
    top = _level_org(tree, level)
    if by is not None and by not in GROUPINGS:
        raise ConfigError([f"--by 只能是 {' 或 '.join(GROUPINGS)}，现为“{by}”{did_you_mean(by, GROUPINGS)}"])
    moment = beijing(as_of or campaign.as_of) or datetime.now(BEIJING).replace(tzinfo=None, microsecond=0)
    units = list(tree.descendants(top.code))
    order = {o.code: i for i, o in enumerate(units)}
    keys, invalid, set_aside = _place(submissions, campaign, specs, top, order, register_times(register), moment)
    received = {}
    for k in keys.values():
        received.setdefault((k.unit, k.form), set()).add(k.period)
    expected = expected_reports(campaign, units, moment, received)
    statuses = [_judge(e, keys.get((e.org.code, e.form, e.period)), moment) for e in expected]
    superseded = _superseded(keys)
    counted = {kk: k.valid()[-1][1] for kk, k in keys.items() if k.valid()}
    parts, overdue = _contributions(keys, counted, campaign, specs, moment)
    parts = _keep_inside(parts, order, top, set_aside)
    forms, conflicts, chosen = {}, [], []
    groupings = tuple(dict.fromkeys([*([by] if by else []), *(g for g in campaign.groupings if g in GROUPINGS)]))
    for form in _form_order(campaign, specs):
        form_parts = [p for p in parts if p.form == form]
        fr, used, clash = _form_rollup(specs[form], form_parts, tree, top, units, statuses, groupings)
        forms[form] = fr
        chosen += used
        conflicts += clash
    by_unit_order = lambda p: (order.get(p.unit, -1), p.form, p.period or "", str(p.provenance.file),
                               p.provenance.row or 0)
    return RollupResult(
        campaign=campaign, level=top, as_of=moment, forms=forms, statuses=statuses,
        overdue=sort_items(overdue), provenance=[p.provenance for p in sorted(chosen, key=by_unit_order)],
        superseded=superseded, invalid=invalid, set_aside=set_aside, conflicts=conflicts,
        findings=_findings(counted, specs, order), shortfalls=_shortfalls(counted, order),
        weekly_rates=_weekly_rates(forms), by=by, groupings=groupings, units=units)


def rollup_inbox(inbox: Path | str, campaign_dir: Path | str, *, level: str | None = None,
                 as_of: datetime | None = None, by: str | None = None,
                 progress: Callable[[int], None] | None = None) -> RollupResult:
    """validate_paths + load_register + rollup over every file in INBOX (`progress` as validate_paths')."""
    from .campaign import load_campaign
    from .validate import collection_paused, validate_paths

    inbox = Path(inbox)
    if not inbox.is_dir():
        raise ConfigError([f"收件文件夹“{inbox}”不存在，请先运行 zhenggai collect 或指定存放报表的文件夹。"])
    # Everything built here lives until the summary is written: collecting it again and again as it
    # grows (the org tree, thousands of submissions unpickled, their parts and items) took ~0.4 s of
    # a 4,000-file roll-up, for nothing.
    with collection_paused():
        campaign = load_campaign(campaign_dir)
        _level_org(campaign.orgs, level)  # a mistyped --level is said at once, not after every file is read
        submissions = validate_paths([inbox], orgs=campaign.orgs, campaign=campaign, progress=progress)
        return rollup(submissions, campaign, level=level, as_of=as_of, by=by, register=inbox_register(inbox))


def inbox_register(inbox: Path) -> dict[str, Any]:
    """The intake register's rows by absolute stored path; {} when there is none yet."""
    try:
        from .intake import load_register
    except ImportError:  # intake not installed in this build: mtimes are used
        return {}
    rows = load_register(inbox) or {}
    return {str(p if Path(p).is_absolute() else inbox / p): row for p, row in rows.items()}


# ---------------------------------------------------------------- placing files


def _level_org(tree, level: str | None) -> Org:
    """The org a --level value names (code, else name); ConfigError when none."""
    if level is None:
        return tree.root
    try:
        found = tree.get(level)
    except KeyError:
        found = None
    if found is None:
        matched = tree.match(level)
        found = matched[0] if matched else None
    if found is None:
        raise ConfigError([f"组织架构中没有代码或名称为“{level}”的组织，请填写组织架构中的组织代码。"])
    return found


def _place(submissions, campaign, specs, top, order, times, as_of: datetime):
    """Sort files into unit × form × period keys, the invalid list and the set-aside list.

    A file received after as_of is set aside: the roll-up shows the state at as_of. Times are compared
    to the second, as as_of is kept (a file saved a moment before a run without --as-of counts).
    """
    keys: dict[tuple, _Key] = {}
    invalid: list[Submission] = []
    set_aside: list[SetAside] = []
    for sub in sorted(submissions, key=lambda s: str(s.path)):
        when = received_time(sub, times)
        if when is not None and when.replace(microsecond=0) > as_of:
            set_aside.append(SetAside(sub.path, f"{when:%Y-%m-%d %H:%M} 收到，晚于截至时间 {as_of:%Y-%m-%d %H:%M}，"
                                                "本次汇总未计入", sub.unit_code, sub.form))
            continue
        reason, period = _why_not_counted(sub, campaign, specs, top, order)
        if not sub.valid and (sub.unit_code is None or sub.unit_code in order):
            invalid.append(sub)
        elif reason:
            set_aside.append(SetAside(sub.path, reason, sub.unit_code, sub.form))
        if reason is None:
            key = keys.setdefault((sub.unit_code, sub.form, period), _Key(sub.unit_code, sub.form, period))
            key.versions.append((when, sub))
    return keys, invalid, set_aside


def _why_not_counted(sub, campaign, specs, top, order) -> tuple[str | None, str | None]:
    """(reason the file cannot be attributed here, or None; its campaign period)."""
    title = specs[sub.form].title if sub.form in specs else sub.form
    if sub.form is None or sub.form not in specs:
        return "无法识别表单", None
    if sub.unit_code is None:
        return "无法确定填报单位", None
    if sub.unit_code == top.code:
        return f"是“{top.name}”本级报送的，本级汇总只汇总下级单位的报表", None
    if sub.unit_code not in order:
        return f"不属于“{top.name}”的汇总范围", None
    plan = campaign.forms.get(sub.form)
    if plan is None:
        return f"本次活动不收“{title}”", None
    ok, period = match_period(plan, sub.period)
    if not ok:
        return f"“{title}”的报告周期（{sub.period or '未填写'}）不在本次活动安排内", None
    return None, period


def _superseded(keys: dict[tuple, _Key]) -> list[Superseded]:
    """Older valid versions, each with the version that replaced it."""
    out = []
    for k in keys.values():
        valid = k.valid()
        for when, sub in valid[:-1]:
            out.append(Superseded(sub.path, k.unit, k.form, k.period, when, valid[-1][1].path))
    return sorted(out, key=lambda s: (s.unit, s.form, s.period or "", str(s.file)))


def _judge(e: Expected, key: _Key | None, as_of: datetime) -> ReportStatus:
    """The status of one expected report; timeliness from the FIRST valid version."""
    base = dict(unit=e.org.code, unit_name=e.org.name, form=e.form, period=e.period, deadline=e.deadline)
    versions = key.ordered() if key else []
    valid = [v for v in versions if v[1].valid]
    if not versions:
        late = days_after(as_of, e.deadline) if e.deadline else 0
        return ReportStatus(**base, status="missing", days_late=late, received=None, file=None)
    if not valid:
        when, sub = versions[-1]
        return ReportStatus(**base, status="invalid", days_late=0, received=when, file=sub.path)
    when = valid[0][0] or as_of  # unknown time: it was there by as_of
    late = days_after(when, e.deadline) if e.deadline else 0
    return ReportStatus(**base, status="late" if late else "on_time", days_late=late, received=when,
                        file=valid[-1][1].path)


def _contributions(keys: dict[tuple, _Key], counted: dict[tuple, Submission], campaign: Campaign,
                   specs: dict[str, Spec], as_of: datetime) -> tuple[list[_Part], list[OverdueItem]]:
    """Every counted file's contributions to the forms' figures, and the ledgers' overdue items."""
    from .overdue import is_item_list, overdue_items

    tree, parts, overdue = campaign.orgs, [], []
    for kk, sub in counted.items():
        unit, form, period = kk
        items = overdue_items(sub, specs[form], tree.get(unit).name, as_of, campaign.due_soon_days) \
            if is_item_list(specs[form]) else []
        overdue += items
        parts += _parts(sub, specs[form], specs, period, _key_on_time(keys[kk], campaign, tree, as_of), items)
    return parts, overdue


def _key_on_time(key: _Key, campaign: Campaign, tree, as_of: datetime) -> bool:
    """Whether the first valid version of a key came in by its deadline (none: on time)."""
    deadline = plan_deadline(campaign.forms[key.form], tree.get(key.unit), key.period)
    return is_on_time(key.valid()[0][0] or as_of, deadline)


# ---------------------------------------------------------------- figures of one file


def _int(value: Any) -> int:
    """A figure as int; blank/NA is 0 (validation already rejected anything else)."""
    if type(value) is int:  # nearly every figure: skip the blank checks
        return value
    if value is None or value is pd.NA:
        return 0
    try:
        return 0 if pd.isna(value) else int(value)
    except (TypeError, ValueError):
        return 0


_SUMMED: dict[tuple[str, Path], tuple[str, ...]] = {}


def summed_fields(spec: Spec) -> tuple[str, ...]:
    """The figure keys of a form: its count and mark fields; item counts for a ledger."""
    from .overdue import is_item_list

    key = (spec.id, spec.path)
    if key not in _SUMMED:  # asked once per row: spec.fields walks the header tree each time
        _SUMMED[key] = ITEM_FIGURES if is_item_list(spec) else \
            tuple(f.key for f in spec.fields if f.type in SUMMED_TYPES)
    return _SUMMED[key]


def _cells(column: str | None, rows: list[int]) -> str:
    """'D7:D11' for consecutive rows, 'D7,D9' otherwise, '' without a column."""
    if not column or not rows:
        return ""
    rows = sorted(rows)
    if rows == list(range(rows[0], rows[-1] + 1)):
        return f"{column}{rows[0]}" if len(rows) == 1 else f"{column}{rows[0]}:{column}{rows[-1]}"
    return ",".join(f"{column}{r}" for r in rows)


def _parts(sub: Submission, spec: Spec, specs: dict[str, Spec], period: str | None, on_time: bool,
           items: list[OverdueItem]) -> list[_Part]:
    """The contributions of one counted submission, and of what it feeds."""
    if spec.unit_per_row:
        parts = [_row_part(sub, spec, row, period, on_time) for row in sub.records()]
    else:
        parts = [_file_part(sub, spec, period, on_time, items)]
    if spec.feeds is not None and spec.feeds.form in specs:
        parts.append(_fed_part(sub, spec, specs[spec.feeds.form], period, on_time))
    return parts


def _row_part(sub: Submission, spec: Spec, row: dict, period, on_time: bool) -> _Part:
    """One row of a unit-per-row table (a stats row for one branch)."""
    unit = row.get("_unit")
    unit = sub.unit_code if unit is None or unit is pd.NA or (isinstance(unit, float) and pd.isna(unit)) else str(unit)
    keys = summed_fields(spec)
    excel_row = _int(row.get("_row")) or None
    cells = {k: f"{sub.columns[k]}{excel_row}" for k in keys if k in sub.columns and excel_row}
    prov = Provenance(unit, spec.id, spec.id, period, sub.path, sub.sheet, excel_row, cells)
    return _Part(unit, spec.id, period, {k: _int(row.get(k)) for k in keys}, on_time,
                 unit != sub.unit_code, prov)


def _file_part(sub: Submission, spec: Spec, period, on_time: bool, items: list[OverdueItem]) -> _Part:
    """A one-per-file submission's figures: header counts, table columns summed (or item counts)."""
    from .overdue import deadline_key, is_item_list, status_counts

    row_numbers = [_int(n) for n in sub.row_values("_row")]
    if is_item_list(spec):
        figures = dict.fromkeys(ITEM_FIGURES, 0)
        figures["problem_count"] = sub.row_count()
        typed = Counter(map(str, sub.row_values("status")))
        for word, key in ITEM_STATUS_KEYS.items():
            figures[key] += typed[word]
        figures.update(status_counts(items))
        cells = {"problem_count": _cells(sub.columns.get("problem"), row_numbers),
                 "done": _cells(sub.columns.get("status"), row_numbers),
                 "overdue": _cells(sub.columns.get(deadline_key(spec)), row_numbers)}
    else:
        figures, cells = {}, {}
        for f in spec.fields:
            if f.type not in SUMMED_TYPES:
                continue
            if f.place == "table":
                figures[f.key] = sum(_int(v) for v in sub.row_values(f.key))
                cells[f.key] = _cells(sub.columns.get(f.key), row_numbers)
            else:
                figures[f.key] = _int(sub.header.get(f.key))
                cells[f.key] = sub.cells.get(f.key, "")
    prov = Provenance(sub.unit_code, spec.id, spec.id, period, sub.path, sub.sheet, None,
                      {k: v for k, v in cells.items() if v})
    return _Part(sub.unit_code, spec.id, period, figures, on_time, False, prov)


def fed_row(sub: Submission, spec: Spec, target: Spec) -> tuple[dict[str, Any], dict[str, str]]:
    """The row of `target` one submission determines through `spec.feeds`, and its cells."""
    first_col = next((sub.columns[f.key] for f in spec.table.fields if f.key in sub.columns), None) \
        if spec.table else None
    values, cells, typed = {}, {}, {}
    row_numbers = sub.row_values("_row")
    for key, how in spec.feeds.fields.items():
        if isinstance(how, str):
            values[key], cells[key] = sub.header.get(how), sub.cells.get(how, "")
        elif "choice" in how:
            values[key] = int(sub.header.get(how["choice"]) == how["equals"])
            cells[key] = sub.cells.get(how["choice"], "")
        elif how.get("rows"):
            values[key] = len(row_numbers)
            cells[key] = _cells(first_col, [_int(n) for n in row_numbers])
        elif "rows_where" in how:
            where = how["rows_where"]
            for c in where:
                if c not in typed:  # a column read once for every rows_where on it
                    typed[c] = sub.row_values(c)
            if len(where) == 1:
                [(c, wanted)] = where.items()
                hits = [n for n, value in zip(row_numbers, typed[c]) if value == wanted]
            else:
                hits = [n for i, n in enumerate(row_numbers) if all(typed[c][i] == v for c, v in where.items())]
            values[key] = len(hits)
            column = sub.columns.get(next(iter(where)), first_col)
            cells[key] = _cells(column, [_int(n) for n in hits])
    return values, {k: v for k, v in cells.items() if v}


def _fed_part(sub: Submission, spec: Spec, target: Spec, period, on_time: bool) -> _Part:
    """The target form's row for the submitting unit (a filing's stats row)."""
    values, cells = fed_row(sub, spec, target)
    figures = {k: _int(values.get(k)) for k in summed_fields(target)}
    prov = Provenance(sub.unit_code, target.id, spec.id, period, sub.path, sub.sheet, None, cells)
    return _Part(sub.unit_code, target.id, period, figures, on_time, False, prov)


def _keep_inside(parts: list[_Part], order: dict[str, int], top: Org, set_aside: list[SetAside]) -> list[_Part]:
    """Drop rows naming units outside the level, saying so."""
    kept = []
    for p in parts:
        if p.unit in order or p.unit == top.code:
            kept.append(p)
        else:
            where = f"第 {p.provenance.row} 行" if p.provenance.row else ""
            set_aside.append(SetAside(p.provenance.file, f"{where}单位“{p.unit}”不属于“{top.name}”的汇总范围，未计入",
                                      p.unit, p.form))
    return kept


# ---------------------------------------------------------------- figures of one form


def _form_order(campaign: Campaign, specs: dict[str, Spec]) -> list[str]:
    """The campaign's forms in order, each fed form right after its source if not already there."""
    out: list[str] = []
    for form in campaign.forms:
        if form in specs and form not in out:
            out.append(form)
        feeds = specs[form].feeds if form in specs else None
        if feeds and feeds.form in specs and feeds.form not in out and feeds.form not in campaign.forms:
            out.append(feeds.form)
    return out


def _choose(spec: Spec, parts: list[_Part]) -> tuple[list[_Part], list[Conflict]]:
    """One part per unit (per period): a unit's own file beats a summary row; differences flagged."""
    groups: dict[tuple, list[_Part]] = {}
    for p in parts:
        groups.setdefault((p.unit, p.period), []).append(p)
    chosen, conflicts = [], []
    for candidates in groups.values():
        # the source document first (a filing feeding stats), then the unit's own file, then summaries
        candidates.sort(key=lambda p: (p.via_summary, p.provenance.source_form == spec.id,
                                       str(p.provenance.file), p.provenance.row or 0))
        best = candidates[0]
        chosen.append(best)
        for other in candidates[1:]:
            conflicts += _differences(spec, best, other)
    return chosen, conflicts


def _differences(spec: Spec, best: _Part, other: _Part) -> list[Conflict]:
    return [Conflict(best.unit, spec.id, key, spec.field(key).full_label, best.figures[key], other.figures[key],
                     best.provenance.file, other.provenance.file, other.provenance.cells.get(key))
            for key in best.figures if best.figures[key] != other.figures.get(key)]


def _add(into: dict[str, int], figures: dict[str, int] | None) -> dict[str, int]:
    for k, v in (figures or {}).items():
        into[k] = into.get(k, 0) + v
    return into


def _is_intermediate(tree, org: Org) -> bool:
    return org.level != BRANCH or bool(tree.children(org.code))


def _subtotals(tree, top: Org, units: list[Org], own: dict[str, dict[str, int]],
               keys: tuple[str, ...]) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
    """(units: leaves with figures and every intermediate subtotal, in tree order; the level's 合计)."""
    sub: dict[str, dict[str, int]] = {}
    for org in reversed(units):  # tree order lists parents first: children are summed before them
        if _is_intermediate(tree, org):
            total = _add(dict.fromkeys(keys, 0), own.get(org.code))
            for child in tree.children(org.code):
                _add(total, sub.get(child.code))
            sub[org.code] = total
        elif org.code in own:
            sub[org.code] = dict(own[org.code])
    totals = _add(dict.fromkeys(keys, 0), own.get(top.code))
    for child in tree.children(top.code):
        _add(totals, sub.get(child.code))
    return {o.code: sub[o.code] for o in units if o.code in sub}, totals


def _chain(tree, code: str, top: Org) -> list[str]:
    """The unit and its ancestors up to the level (inclusive)."""
    out = [code]
    while code != top.code:
        parent = tree.get(code).parent
        if parent is None:
            break
        out.append(parent)
        code = parent
    return out


def _group_of(tree, code: str, attr: str) -> str:
    """The 督导组 / 类型 of a unit: its own, else its nearest ancestor's."""
    while code is not None:
        org = tree.get(code)
        if getattr(org, attr, ""):
            return getattr(org, attr)
        code = org.parent
    return UNGROUPED


def _coverage(tree, top: Org, units: list[Org], items: list[tuple[str, bool, bool]]) -> dict[str, Coverage]:
    """应报/已报/按时 for every intermediate unit and the level, from (unit, reported, on_time) items."""
    counts = {o.code: [0, 0, 0] for o in units if _is_intermediate(tree, o)}
    counts[top.code] = [0, 0, 0]
    for unit, reported, on_time in items:
        for code in _chain(tree, unit, top):
            if code in counts:
                c = counts[code]
                c[0] += 1
                c[1] += reported
                c[2] += reported and on_time
    return {code: Coverage(*c) for code, c in counts.items()}


def _coverage_items(spec: Spec, tree, top: Org, chosen: list[_Part],
                    statuses: list[ReportStatus]) -> list[tuple[str, bool, bool]]:
    """Unit-per-row forms count branch rows; other forms count expected reports."""
    if spec.unit_per_row:
        by_unit = {p.unit: p for p in chosen}
        return [(b.code, b.code in by_unit, b.code in by_unit and by_unit[b.code].on_time)
                for b in tree.branches_under(top.code) if b.code != top.code]
    return [(s.unit, s.status in ("on_time", "late"), s.status == "on_time")
            for s in statuses if s.form == spec.id]


def _form_rollup(spec: Spec, parts: list[_Part], tree, top: Org, units: list[Org],
                 statuses: list[ReportStatus], groupings: tuple[str, ...] = ()
                 ) -> tuple[FormRollup, list[_Part], list[Conflict]]:
    """One form's figures, the parts that count, and the conflicts between two paths."""
    keys = summed_fields(spec)
    chosen, conflicts = _choose(spec, parts)
    own: dict[str, dict[str, int]] = {}
    by_period_own: dict[str, dict[str, dict[str, int]]] = {}
    for p in sorted(chosen, key=lambda p: p.period or ""):
        own[p.unit] = p.figures  # periodic forms: the latest period's figures (stocks, not flows)
        if p.period is not None:
            by_period_own.setdefault(p.period, {})[p.unit] = p.figures
    unit_figures, totals = _subtotals(tree, top, units, own, keys)
    by_period, latest = {}, {}
    for period in sorted(by_period_own):
        # Stocks: a unit that skipped a week still counts with its latest week in the subtotals (as in the
        # totals), so a week's rate is not made of only the units that happened to report that week.
        latest.update(by_period_own[period])
        period_units, period_totals = _subtotals(tree, top, units, latest, keys)
        by_period[period] = {code: figures for code, figures in period_units.items()
                             if code in by_period_own[period] or _is_intermediate(tree, tree.get(code))}
        by_period[period][top.code] = period_totals
    items = _coverage_items(spec, tree, top, chosen, statuses)
    fr = FormRollup(form=spec.id, fields=keys, units=unit_figures, totals=totals,
                    coverage=_coverage(tree, top, units, items), own=own, by_period=by_period)
    for grouping in groupings:
        fr.groups[grouping], fr.group_coverage[grouping] = _grouped(tree, own, items, keys, GROUPINGS[grouping])
    return fr, chosen, conflicts


def _grouped(tree, own: dict[str, dict[str, int]], items: list[tuple[str, bool, bool]], keys: tuple[str, ...],
             attr: str) -> tuple[dict[str, dict[str, int]], dict[str, Coverage]]:
    """Figures and 应报/已报/按时 per 督导组 (or 类型): every unit's own figures counted once, in its group."""
    group_of = {org.code: _group_of(tree, org.code, attr) for org in tree}  # once per org, not per figure
    figures: dict[str, dict[str, int]] = {}
    for unit, own_figures in own.items():
        _add(figures.setdefault(group_of[unit], dict.fromkeys(keys, 0)), own_figures)
    tally: dict[str, list[int]] = {}
    for unit, reported, on_time in items:
        c = tally.setdefault(group_of[unit], [0, 0, 0])
        c[0], c[1], c[2] = c[0] + 1, c[1] + reported, c[2] + (reported and on_time)
    for group in tally:
        figures.setdefault(group, dict.fromkeys(keys, 0))
    rank: dict[str, int] = {}
    for group in group_of.values():  # groups in the order the org tree names them: 第一督导组 before 第二督导组
        rank.setdefault(group, len(rank))
    order = sorted(figures, key=lambda g: (rank.get(g, len(rank)), g))
    return {g: figures[g] for g in order}, {g: Coverage(*tally[g]) for g in order if g in tally}


# ---------------------------------------------------------------- self-check and weekly extras


def _findings(counted: dict[tuple, Submission], specs: dict[str, Spec], order: dict[str, int]) -> list[Finding]:
    """Self-check items answered 是 (存在问题), per unit and item."""
    out = []
    for (unit, form, _), sub in counted.items():
        keys = {f.key for f in specs[form].table.fields} if specs[form].table else set()
        if not {"has_problem", "item"} <= keys:
            continue
        for r in sub.records():
            if r.get("has_problem") == "是":
                text = r.get("problems")
                out.append(Finding(unit, str(r.get("item")), _int(r.get("problem_count")),
                                   "" if text is None or text is pd.NA else str(text), sub.path,
                                   _int(r.get("_row")) or None))
    return sorted(out, key=lambda f: (order.get(f.unit, -1), f.row or 0, f.item))


def _shortfalls(counted: dict[tuple, Submission], order: dict[str, int]) -> list[tuple[str, Problem]]:
    """(unit, problem) for every 三会一课 frequency shortfall in a counted file."""
    out = [(unit, p) for (unit, _, _), sub in counted.items() for p in sub.problems if p.rule == "rule.frequency"]
    return sorted(out, key=lambda up: (order.get(up[0], -1), up[1].cell or "", up[1].field or ""))


def _weekly_rates(forms: dict[str, FormRollup]) -> dict[str, dict[str, float | None]]:
    """已完成 / 问题数 per unit (leaves, subtotals and the level) per week."""
    rates: dict[str, dict[str, float | None]] = {}
    for fr in forms.values():
        if not fr.by_period or not {"done", "problem_count"} <= set(fr.fields):
            continue
        for period, units in fr.by_period.items():
            for unit, f in units.items():
                rates.setdefault(unit, {})[period] = f["done"] / f["problem_count"] if f["problem_count"] else None
        break
    return rates
