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

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from .campaign import Campaign
from .orgs import Org
from .problems import Problem
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
    groups: dict[str, dict[str, int]] = field(default_factory=dict)  # `by` value -> summed figures
    group_coverage: dict[str, Coverage] = field(default_factory=dict)

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


def rollup(submissions: list[Submission], campaign: Campaign, *, level: str | None = None,
           as_of: datetime | None = None, by: str | None = None,
           register: dict | None = None) -> RollupResult:
    """Roll up validated submissions for `level` (default: the tree's root) at `as_of`."""
    raise NotImplementedError


def rollup_inbox(inbox: Path | str, campaign_dir: Path | str, *, level: str | None = None,
                 as_of: datetime | None = None, by: str | None = None) -> RollupResult:
    """validate_paths + load_register + rollup over every file in INBOX."""
    raise NotImplementedError
