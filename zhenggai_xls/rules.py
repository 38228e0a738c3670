"""Cross-field rules of the specs: which rows fail (vectorised) and where to point.

Every rule kind has two halves. `failing(rule, frame)` says, for a whole
frame of many files at once, which rows break the rule; the pandera schema
runs it as a dataframe-wide check. `explain(rule, view)` turns one failing
row into problems that point ONLY at the cells the rule names: the total for
`sum`, the limit for `at_most`, each unmet `then` cell for `requires`, the
later date for `not_after`, the count for `frequency`. A row whose named
cells already failed normalising gives no rule problem (no double reports).

`exactly_one` on a summary row (mark columns hold counts) only asks for at
least one mark. `frequency` counts the calendar months (or quarters) that
the period [start, end] covers for at least 15 (or 45) days, at least one.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field as dc_field, replace
from datetime import date, datetime
from typing import Any, Iterable, Mapping

import pandas as pd

from .excel import parse_a1
from .normalize import normalize_label, typed_text
from .problems import RULES, Problem
from .spec import Rule, Spec
from .submission import RawCell, Submission

PER_FILE_KINDS = ("sum", "at_most", "exactly_one", "requires", "not_after", "frequency")
ACROSS_PERIOD_KINDS = ("not_decreasing", "weekly_delta")
MONTH_MIN_DAYS = 15  # a month counts when the period covers at least this many of its days
QUARTER_MIN_DAYS = 45


def is_row_rule(spec: Spec, rule: Rule) -> bool:
    """A rule naming a table field applies per table row; else once per file."""
    table_keys = {f.key for f in spec.table.fields} if spec.table else set()
    return any(k in table_keys for k in rule.fields())


def conditions(value: Any) -> list[Mapping[str, Any]]:
    """A `when`/`then` value as a list of conditions."""
    if not value:
        return []
    return list(value) if isinstance(value, list) else [value]


def condition_keys(cond: Mapping[str, Any]) -> list[str]:
    return list(cond.get("any") or [cond["field"]])


# ---------------------------------------------------------------- vectorised: which rows fail


def _numbers(frame: pd.DataFrame, keys: Iterable[str]) -> pd.Series:
    """The row-wise sum of count columns, blanks as 0."""
    total = pd.Series(0, index=frame.index, dtype="Int64")
    for key in keys:
        total = total + frame[key].fillna(0)
    return total


def _column(frame: pd.DataFrame, key: str, filled: bool = False) -> pd.Series:
    """A field's column; for a deadline's `filled`, its kind column (phrases have no date)."""
    if filled and f"{key}_kind" in frame:
        return frame[f"{key}_kind"]
    return frame[key]


def _key_holds(frame: pd.DataFrame, key: str, cond: Mapping[str, Any]) -> pd.Series:
    ok = pd.Series(True, index=frame.index)
    if "filled" in cond:
        filled = _column(frame, key, filled=True).notna()
        ok &= filled if cond["filled"] else ~filled
    column = frame[key]
    if "equals" in cond:
        ok &= (column == cond["equals"]).fillna(False).astype(bool)
    if "min" in cond:
        ok &= (column >= cond["min"]).fillna(False).astype(bool)
    if "max" in cond:
        ok &= (column <= cond["max"]).fillna(False).astype(bool)
    return ok


def condition_holds(frame: pd.DataFrame, cond: Mapping[str, Any]) -> pd.Series:
    """Rows where a condition holds (for `any`: in at least one of its fields)."""
    held = pd.Series(False, index=frame.index)
    for key in condition_keys(cond):
        held |= _key_holds(frame, key, cond)
    return held


def _all_hold(frame: pd.DataFrame, conds: list[Mapping[str, Any]]) -> pd.Series:
    held = pd.Series(True, index=frame.index)
    for cond in conds:
        held &= condition_holds(frame, cond)
    return held


def _fails_sum(rule: Rule, frame: pd.DataFrame) -> pd.Series:
    return frame[rule.params["total"]].fillna(0) != _numbers(frame, rule.params["parts"])


def _fails_at_most(rule: Rule, frame: pd.DataFrame) -> pd.Series:
    return _numbers(frame, rule.params["parts"]) > frame[rule.params["limit"]].fillna(0)


def _fails_exactly_one(rule: Rule, frame: pd.DataFrame) -> pd.Series:
    marked = _numbers(frame, rule.params["fields"])
    summary = frame["_summary"] if "_summary" in frame else pd.Series(False, index=frame.index)
    return (marked < 1) | (~summary.astype(bool) & (marked > 1))


def _fails_requires(rule: Rule, frame: pd.DataFrame) -> pd.Series:
    when = _all_hold(frame, conditions(rule.params["when"]))
    return when & ~_all_hold(frame, conditions(rule.params["then"]))


def _fails_not_after(rule: Rule, frame: pd.DataFrame) -> pd.Series:
    return (frame[rule.params["field"]] > frame[rule.params["limit"]]).fillna(False)


def _fails_frequency(rule: Rule, frame: pd.DataFrame) -> pd.Series:
    p = rule.params
    held, starts, ends = frame[p["field"]], frame[p["start"]], frame[p["end"]]
    out = [frequency_shortfall(rule, h, s, e) is not None for h, s, e in zip(held, starts, ends)]
    return pd.Series(out, index=frame.index, dtype=bool)


_FAILS = {
    "sum": _fails_sum, "at_most": _fails_at_most, "exactly_one": _fails_exactly_one,
    "requires": _fails_requires, "not_after": _fails_not_after, "frequency": _fails_frequency,
}


def failing(rule: Rule, frame: pd.DataFrame) -> pd.Series:
    """Rows of `frame` that break `rule` (all False for rules checked across periods)."""
    fails = _FAILS.get(rule.kind)
    if fails is None or frame.empty:
        return pd.Series(False, index=frame.index, dtype=bool)
    return fails(rule, frame).astype(bool)


def passes(rule: Rule, frame: pd.DataFrame) -> pd.Series:
    """The pandera check: True where the row keeps the rule."""
    return ~failing(rule, frame)


# ---------------------------------------------------------------- frequency


def date_value(value: Any) -> date | None:
    """The date of a normalised value (date, datetime, pandas Timestamp); None for anything else (blank, NaT)."""
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, datetime):  # pandas Timestamp too
        return value.date()
    return value if isinstance(value, date) else None


def _period_starts(start: date, end: date, months: int) -> Iterable[tuple[date, date]]:
    """Calendar months (months=1) or quarters (3) touching [start, end]: (first day, last day)."""
    year, month = start.year, (start.month - 1) // months * months + 1
    while date(year, month, 1) <= end:
        ny, nm = (year + 1, 1) if month + months > 12 else (year, month + months)
        yield date(year, month, 1), date.fromordinal(date(ny, nm, 1).toordinal() - 1)
        year, month = ny, nm


def periods_in(start: date, end: date, every: str) -> int:
    """Months (or quarters) the period covers for at least 15 (45) days; at least 1."""
    months, min_days = (1, MONTH_MIN_DAYS) if every == "month" else (3, QUARTER_MIN_DAYS)
    count = 0
    for first, last in _period_starts(start, end, months):
        covered = (min(last, end) - max(first, start)).days + 1
        count += covered >= min_days
    return max(1, count)


def frequency_basis(rule: Rule, periods: int) -> str:
    """How the required number was counted, for the message."""
    if rule.params["every"] == "month":
        unit, each, days = "个自然月", "每月", MONTH_MIN_DAYS
    else:
        unit, each, days = "个季度", "每季度", QUARTER_MIN_DAYS
    return (f"按 {periods} {unit}计：期间内满 {days} 天的才计入，至少按 1 {unit}计；"
            f"{each}至少 {rule.params['times']} 次")


def frequency_shortfall(rule: Rule, held: Any, start: Any, end: Any) -> tuple[int, int] | None:
    """(required, periods) when fewer were held than the period requires; None otherwise."""
    start, end = date_value(start), date_value(end)
    if start is None or end is None or start > end or held is None or held is pd.NA:
        return None
    periods = periods_in(start, end, rule.params["every"])
    required = periods * int(rule.params["times"])
    return (required, periods) if int(held) < required else None


# ---------------------------------------------------------------- one failing row -> problems


@dataclass
class RowView:
    """One row (or one file's header) as the rules see it: values, raw cells, failed keys."""

    sheet: str | None
    values: Mapping[str, Any]  # normalised, None for blank
    raws: Mapping[str, RawCell]
    bad: set[str] = dc_field(default_factory=set)  # failed normalising or not found in the file
    labels: Mapping[str, str] = dc_field(default_factory=dict)

    def value(self, key: str) -> Any:
        v = self.values.get(key)
        return None if v is None or v is pd.NA or v is pd.NaT else v

    def cell(self, key: str) -> str | None:
        raw = self.raws.get(key)
        return raw.cell if raw else None

    def typed(self, key: str) -> str:
        raw = self.raws.get(key)
        return typed_text(raw.value) if raw else ""

    def any_bad(self, keys: Iterable[str]) -> bool:
        return any(k in self.bad or k not in self.raws for k in keys)


def _quoted(view: RowView, keys: Iterable[str]) -> str:
    return "".join(f"“{view.labels.get(k, k)}”" for k in keys)


def _number(view: RowView, keys: Iterable[str]) -> int:
    return sum(int(view.value(k) or 0) for k in keys)


def rule_problem(rule: Rule, rule_id: str, view: RowView, key: str, facts: str = "", **params: Any) -> Problem:
    """A problem of `rule` at `key`'s cell; the rule's own message when the spec gives one,
    followed by `facts` (the numbers found) so the clerk sees what is off."""
    label = view.labels.get(key, key)
    params = {"label": label, "value": view.typed(key), **params}
    if rule.message:
        message = f"{rule.message.rstrip('。')}（{facts}）。" if facts else rule.message
    else:
        message = RULES[rule_id].template.format(**params)
    return Problem(rule=rule_id, message=message, severity=rule.severity, sheet=view.sheet,
                   cell=view.cell(key), field=label, value=view.typed(key))


def _explain_sum(rule: Rule, view: RowView) -> list[Problem]:
    total, parts = rule.params["total"], rule.params["parts"]
    if view.any_bad([total, *parts]):
        return []
    value, expected = _number(view, [total]), _number(view, parts)
    facts = f"现“{view.labels.get(total, total)}”为 {value}，各项相加为 {expected}"
    return [rule_problem(rule, "rule.sum", view, total, facts, total=view.labels.get(total, total),
                         parts=_quoted(view, parts), value=value, expected=expected)]


def _explain_at_most(rule: Rule, view: RowView) -> list[Problem]:
    limit, parts = rule.params["limit"], rule.params["parts"]
    if view.any_bad([limit, *parts]):
        return []
    summed = _quoted(view, parts) + ("之和" if len(parts) > 1 else "")
    value, expected = _number(view, parts), _number(view, [limit])
    short = {k: view.labels.get(k, k).rsplit("/", 1)[-1] for k in (limit, *parts)}
    what = "各项之和" if len(parts) > 1 else f"“{short[parts[0]]}”"
    facts = f"现{what}为 {value}，“{short[limit]}”为 {expected}"
    return [rule_problem(rule, "rule.at_most", view, limit, facts, parts=summed,
                         limit=view.labels.get(limit, limit), value=value, expected=expected)]


def _explain_exactly_one(rule: Rule, view: RowView) -> list[Problem]:
    keys = rule.params["fields"]
    if view.any_bad(keys):
        return []
    marked = [k for k in keys if view.value(k)]
    at = marked[0] if marked else keys[0]
    count = _number(view, keys)
    return [rule_problem(rule, "rule.exactly_one", view, at, f"现标了 {count} 项", fields=_quoted(view, keys),
                         value=count)]


def _holds(view: RowView, key: str, cond: Mapping[str, Any]) -> bool:
    value = view.value(f"{key}_kind") if f"{key}_kind" in view.values else view.value(key)
    if "filled" in cond and (value is not None and value != "") != bool(cond["filled"]):
        return False
    value = view.value(key)
    if "equals" in cond and value != cond["equals"]:
        return False
    if "min" in cond and (value is None or value < cond["min"]):
        return False
    if "max" in cond and (value is None or value > cond["max"]):
        return False
    return True


def _need(cond: Mapping[str, Any]) -> str:
    """What a `then` condition asks for, in words (used when the spec gives no message)."""
    if "equals" in cond:
        return f"应为“{cond['equals']}”"
    if "min" in cond:
        return f"应不小于 {cond['min']}"
    if "max" in cond:
        return f"应不大于 {cond['max']}"
    return "应填写" if cond.get("filled", True) else "应留空"


def _explain_requires(rule: Rule, view: RowView) -> list[Problem]:
    when = conditions(rule.params["when"])
    if view.any_bad(k for c in when for k in condition_keys(c)):
        return []
    out = []
    for cond in conditions(rule.params["then"]):
        keys = condition_keys(cond)
        if view.any_bad(keys) or any(_holds(view, k, cond) for k in keys):
            continue
        names = "或".join(f"“{view.labels.get(k, k)}”" for k in keys)
        out.append(rule_problem(rule, "rule.requires", view, keys[0],
                                message=f"按“{rule.name}”的要求，{names}{_need(cond)}。"))
    return out


def _explain_not_after(rule: Rule, view: RowView) -> list[Problem]:
    key, limit = rule.params["field"], rule.params["limit"]
    if view.any_bad([key, limit]):
        return []
    first, last = date_value(view.value(key)), date_value(view.value(limit))
    if first is None or last is None or first <= last:
        return []
    facts = f"现“{view.labels.get(key, key)}”为 {first.isoformat()}，“{view.labels.get(limit, limit)}”为 {last.isoformat()}"
    return [rule_problem(rule, "rule.not_after", view, key, facts, field=view.labels.get(key, key),
                         value=first.isoformat(), limit=view.labels.get(limit, limit),
                         expected=last.isoformat())]


def _explain_frequency(rule: Rule, view: RowView) -> list[Problem]:
    p = rule.params
    if view.any_bad([p["field"], p["start"], p["end"]]):
        return []
    found = frequency_shortfall(rule, view.value(p["field"]), view.value(p["start"]), view.value(p["end"]))
    if not found:
        return []
    required, periods = found
    return [rule_problem(rule, "rule.frequency", view, p["field"], value=view.value(p["field"]),
                         start=date_value(view.value(p["start"])).isoformat(),
                         end=date_value(view.value(p["end"])).isoformat(),
                         expected=required, basis=frequency_basis(rule, periods))]


_EXPLAIN = {
    "sum": _explain_sum, "at_most": _explain_at_most, "exactly_one": _explain_exactly_one,
    "requires": _explain_requires, "not_after": _explain_not_after, "frequency": _explain_frequency,
}


def explain(rule: Rule, view: RowView) -> list[Problem]:
    """The problems of one row that `failing` flagged, at the cells the rule names."""
    found = _EXPLAIN.get(rule.kind)
    return found(rule, view) if found else []


# ---------------------------------------------------------------- the typed 合计 row


def total_row_problems(spec: Spec, total: Mapping[str, RawCell], sums: Mapping[str, int | None],
                       sheet: str | None, normalize: Any) -> list[Problem]:
    """A typed 合计 row against the column sums of the rows above it.

    `sums[key]` is None when a cell of that column failed normalising (no
    double report). Blank total cells are not checked: the unit did not type
    a total. `normalize(field, raw)` is `normalize_cell` with the file's context.
    """
    out = []
    for f in spec.table.fields:
        raw = total.get(f.key)
        if f.type not in ("count", "mark") or raw is None or (raw.value is None and not raw.error
                                                              and not raw.formula_without_value):
            continue
        if isinstance(raw.value, str) and not raw.value.strip():
            continue
        counts_field = replace(f, type="count")  # a total of marks is a count
        value, found = normalize(counts_field, raw)
        if found:
            out.append(replace(found, sheet=sheet))
        elif sums.get(f.key) is not None and value != sums[f.key]:
            info = RULES["table.total_mismatch"]
            typed = typed_text(raw.value)
            out.append(Problem(rule=info.id, severity=info.severity, sheet=sheet, cell=raw.cell,
                               field=f.full_label, value=typed,
                               message=info.template.format(label=f.full_label, value=typed,
                                                            expected=sums[f.key])))
    return out


# ---------------------------------------------------------------- across weeks


def _unit_of(sub: Submission) -> str | None:
    return sub.unit_code or sub.unit_name or sub.header.get("reporting_unit")


def _period_of(sub: Submission) -> date | None:
    if sub.period:
        try:
            return date.fromisoformat(str(sub.period)[:10])
        except ValueError:
            return None
    return date_value(sub.header.get("week_end"))


def _row_key(spec: Spec) -> str | None:
    table = spec.table
    return (table.preset_field or table.unit_field) if table else None


def _by_item(sub: Submission, key: str, fields: Iterable[str]) -> dict[Any, dict[str, Any]]:
    """Each row of a submission by its item (first row wins), with the named fields."""
    wanted = [key, "_row", *fields]
    if sub.rows.empty or any(w not in sub.rows for w in wanted):
        return {}
    out: dict[Any, dict[str, Any]] = {}
    for record in sub.rows[wanted].to_dict("records"):
        item = record[key]
        if item is not None and item is not pd.NA:
            out.setdefault(normalize_label(item), record)  # the same item typed with other quotes/spaces
    return out


def _week_view(spec: Spec, sub: Submission, record: Mapping[str, Any]) -> RowView:
    """A row of a submission as a RowView (its cells from `columns` and `_row`)."""
    labels = {f.key: f.full_label for f in spec.fields}
    raws = {k: RawCell(_plain(v), f"{sub.columns[k]}{int(record['_row'])}")
            for k, v in record.items() if k in sub.columns}
    return RowView(sub.sheet, {k: _plain(v) for k, v in record.items()}, raws, set(), labels)


def _plain(value: Any) -> Any:
    """A frame value as a plain Python value (NA -> None, numpy ints -> int)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    return value


def _week_pair_problems(spec: Spec, prev: Submission, cur: Submission, consecutive: bool) -> list[Problem]:
    key = _row_key(spec)
    rules = [r for r in spec.rules if r.kind in ACROSS_PERIOD_KINDS]
    fields = {k for r in rules for k in r.fields()}
    before, now = _by_item(prev, key, fields), _by_item(cur, key, fields)
    out = []
    for item, record in now.items():
        old = before.get(item)
        if old is None:
            continue
        view = _week_view(spec, cur, record)
        for rule in rules:
            out.extend(_across(rule, view, _plain(old.get(rule.params.get("of", rule.params["field"]))),
                               consecutive))
    return out


def _across(rule: Rule, view: RowView, last: Any, consecutive: bool) -> list[Problem]:
    key = rule.params["field"]
    if last is None or view.cell(key) is None:
        return []
    if rule.kind == "not_decreasing":
        value = view.value(key)
        if value is not None and value < last:
            return [rule_problem(rule, "rule.not_decreasing", view, key, value=value, expected=last)]
    elif rule.kind == "weekly_delta" and consecutive:
        value, of = view.value(key), view.value(rule.params["of"])
        # A decrease is not_decreasing's finding; "增加了 -1" would report it twice.
        if value is not None and of is not None and of >= last and value != of - last:
            return [rule_problem(rule, "rule.weekly_delta", view, key, value=value, expected=of - last)]
    return []


def check_across_periods(spec: Spec, submissions: list[Submission]) -> list[tuple[Submission, Problem]]:
    """Week-to-week rules (not_decreasing, weekly_delta) over each unit's submissions.

    Submissions are grouped by unit and sorted by period; for one unit and
    period the last submission in the list counts. 已完成 is compared with the
    previous submitted week; 本周新完成 only with the week exactly 7 days before.
    """
    if not any(r.kind in ACROSS_PERIOD_KINDS for r in spec.rules) or not _row_key(spec):
        return []
    weeks: dict[Any, dict[date, Submission]] = {}
    for sub in submissions:
        unit, period = _unit_of(sub), _period_of(sub)
        if unit and period and sub.form in (None, spec.id) and not sub.rejected:
            weeks.setdefault(unit, {})[period] = sub
    out = []
    for by_period in weeks.values():
        ordered = sorted(by_period.items())
        for (d0, prev), (d1, cur) in zip(ordered, ordered[1:]):
            consecutive = (d1 - d0).days == 7
            out.extend((cur, p) for p in _week_pair_problems(spec, prev, cur, consecutive))
    return out


def sort_key(p: Problem) -> tuple:
    """Problems in reading order: by sheet, then row, then column."""
    try:
        row, col = parse_a1(p.cell) if p.cell else (-1, -1)
    except ValueError:
        row, col = (-1, -1)
    return (p.sheet or "", row, col)
