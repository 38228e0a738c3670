"""Small campaigns and hand-built Submissions for the roll-up, status and closure tests.

Submissions are built the way validate.py leaves them (normalised header values,
rows with `_row`, A1 cells), so the roll-up is tested on its own.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import pandas as pd

from zhenggai_xls.campaign import Campaign, FormPlan
from zhenggai_xls.orgs import Org, OrgTree
from zhenggai_xls.problems import problem
from zhenggai_xls.spec import load_specs
from zhenggai_xls.submission import Submission

END_OF_DAY = time(23, 59, 59)
STATS_KEYS = [f.key for f in load_specs()["stats"].table.fields if f.type in ("count", "mark")]
GRADES = {"好": "grade_good", "较好": "grade_fair", "一般": "grade_average", "较差": "grade_poor"}
FILING_COLUMNS = ["seq", "category", "problem", "measure", "deadline", "deadline_kind", "contact"]
CATEGORIES = {"领导班子建设": "leadership", "党员队伍建设": "members", "工作机制建设": "mechanism",
              "工作业绩": "performance", "群众反映": "public"}


class _StubPlan(FormPlan):
    """FormPlan's periods/deadline while campaign.py is still a contract (same meaning)."""

    def periods(self):
        if not self.weekly:
            return [None]
        day, out = self.weekly["from"], []
        while day <= self.weekly["to"]:
            if day.weekday() == self.weekly["weekday"]:
                out.append(day.isoformat())
            day += timedelta(days=1)
        return out

    def deadline(self, level, period=None):
        if period is None:
            return self.deadlines[level]
        hour, minute = map(int, self.weekly["time"].split(":"))
        return datetime.combine(date.fromisoformat(period), time(hour, minute))


def make_plan(form, levels, deadlines=None, weekly=None) -> FormPlan:
    """A FormPlan; the stub only while the real one is not implemented."""
    plan = FormPlan(form, tuple(levels), deadlines or {}, weekly)
    try:
        plan.periods()
        return plan
    except NotImplementedError:
        return _StubPlan(form, tuple(levels), deadlines or {}, weekly)


def small_tree() -> OrgTree:
    """区 D; 党委 C1 (乡镇, 第一督导组) with B11, B12; 党工委 C2 (机关, 第二督导组) with B21–B23."""
    orgs = [
        Org("D", "涪陵区", level="区"),
        Org("C1", "百胜镇党委", parent="D", level="党(工)委", type="乡镇", group="第一督导组"),
        Org("B11", "百胜镇紫竹村党支部", parent="C1"),
        Org("B12", "百胜镇八角村党支部", parent="C1"),
        Org("C2", "区级机关党工委", parent="D", level="党(工)委", type="机关", group="第二督导组"),
        Org("B21", "区财政局机关党支部", parent="C2"),
        Org("B22", "区教委机关党支部", parent="C2"),
        Org("B23", "区卫生局机关党支部", parent="C2"),
    ]
    return OrgTree(orgs)


def plan_filing_campaign(tree: OrgTree | None = None, folder: Path = Path(".")) -> Campaign:
    """seed 004: filing from branches by 2012-06-20, stats from committees by 2012-06-25 (end of day)."""
    forms = {
        "filing": make_plan("filing", ["党支部"], {"党支部": datetime.combine(date(2012, 6, 20), END_OF_DAY)}),
        "stats": make_plan("stats", ["党(工)委"], {"党(工)委": datetime.combine(date(2012, 6, 25), END_OF_DAY)}),
    }
    return Campaign("涪陵区基层组织建设年整改方案", 2012, forms, tree or small_tree(), folder)


def three_meetings_campaign(tree: OrgTree | None = None, folder: Path = Path(".")) -> Campaign:
    """seed 000: self_check by 10-25, weekly Fridays 12:00 10-27..11-17, ledger by 11-20 (2023)."""
    weekly = {"weekday": 4, "time": "12:00", "from": date(2023, 10, 27), "to": date(2023, 11, 17)}
    eod = lambda m, d: {"党支部": datetime.combine(date(2023, m, d), END_OF_DAY)}
    forms = {
        "self_check": make_plan("self_check", ["党支部"], eod(10, 25)),
        "weekly": make_plan("weekly", ["党支部"], {}, weekly),
        "ledger": make_plan("ledger", ["党支部"], eod(11, 20)),
    }
    return Campaign("三会一课整改", 2023, forms, tree or small_tree(), folder)


def _frame(rows: list[dict], first_row: int, columns: list[str] = ()) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(columns) or None)
    frame["_row"] = range(first_row, first_row + len(rows))
    return frame


def filing_sub(path, unit: str, name: str = "", *, grade="好", opinions=(1, 0, 0, 0), people=(10, 2, 3),
               content=(1, 1, 1, 1, 1), focus=(("领导班子建设", "班子学习不经常"),), problems=None) -> Submission:
    """A valid 备案表 of one branch; cells as in the template (values in column B/D)."""
    header = {"reporting_unit": name or unit, "report_date": date(2012, 6, 18), "branch_name": name or unit,
              "grade": grade}
    header.update(zip(["opinion_meeting", "opinion_letter", "opinion_sms", "opinion_other"], opinions))
    header.update(zip(["people_total", "people_reps", "people_nonparty"], people))
    header["content_total"] = sum(content)
    header.update(zip([f"content_{c}" for c in CATEGORIES.values()], content))
    cells = {k: f"B{i + 3}" for i, k in enumerate(header)}
    rows = [{"seq": str(i + 1), "category": cat, "problem": text, "measure": "加强学习",
             "deadline": pd.Timestamp("2012-09-30"), "deadline_kind": "date", "contact": "张三"}
            for i, (cat, text) in enumerate(focus)]
    return Submission(Path(path), form="filing", sheet="备案表", unit_code=unit, unit_name=name or unit,
                      unit_basis="name", header=header, rows=_frame(rows, 20, FILING_COLUMNS), cells=cells,
                      columns={"seq": "A", "category": "B", "problem": "C", "measure": "D", "deadline": "E",
                               "contact": "F"}, problems=list(problems or []))


def stats_row_from_filing(sub: Submission) -> dict:
    """What a careful clerk would type in the 统计表 row for this branch's 备案表 (by hand)."""
    h = sub.header
    row = {k: 0 for k in STATS_KEYS}
    row[GRADES[h["grade"]]] = 1
    for k in ("opinion_meeting", "opinion_letter", "opinion_sms", "opinion_other", "people_total",
              "people_reps", "people_nonparty"):
        row[k] = h[k]
    row["found_total"] = h["content_total"]
    for cat, short in CATEGORIES.items():
        row[f"found_{short}"] = h[f"content_{short}"]
        row[f"focus_{short}"] = int((sub.rows["category"] == cat).sum())
    row["focus_total"] = len(sub.rows)
    return row


def stats_sub(path, unit: str, rows: dict[str, dict], problems=None) -> Submission:
    """A committee's 统计表: one row per branch code (the `_unit` column) from row 7."""
    records = [{"branch_name": code, "_unit": code, **figures} for code, figures in rows.items()]
    frame = _frame(records, 7) if records else pd.DataFrame(columns=["branch_name", "_unit", "_row"])
    columns = {"branch_name": "A", **{k: chr(ord("B") + i) for i, k in enumerate(STATS_KEYS)}}
    return Submission(Path(path), form="stats", sheet="统计表", unit_code=unit, unit_name=unit,
                      unit_basis="name", header={"reporting_unit": unit, "report_date": date(2012, 6, 24)},
                      rows=frame, cells={"reporting_unit": "B3", "report_date": "F3"}, columns=columns,
                      problems=list(problems or []))


def ledger_sub(path, unit: str, items: list[tuple], report_date=date(2023, 11, 18)) -> Submission:
    """A 整改清单: items are (problem, deadline date|None, kind, status, done date|None[, closed])."""
    rows = []
    for problem_text, deadline, kind, status, done, *closed in items:
        rows.append({"seq": str(len(rows) + 1), "category": "三会一课", "problem": problem_text,
                     "measure": "立即整改", "leader": "李四", "person": "王五",
                     "deadline": pd.Timestamp(deadline) if deadline else pd.NaT, "deadline_kind": kind,
                     "status": status, "done_date": pd.Timestamp(done) if done else pd.NaT,
                     "closed": closed[0] if closed else "否"})
    return Submission(Path(path), form="ledger", sheet="整改清单", unit_code=unit, unit_name=unit,
                      unit_basis="name", header={"reporting_unit": unit, "report_date": report_date},
                      rows=_frame(rows, 4), cells={"reporting_unit": "B2", "report_date": "F2"},
                      columns={"seq": "A", "category": "B", "problem": "C", "measure": "D", "leader": "E",
                               "person": "F", "deadline": "G", "status": "H", "done_date": "I", "closed": "K"})


def weekly_sub(path, unit: str, period: str, counts: dict[str, tuple[int, int, int, int]]) -> Submission:
    """A 周报表: counts per item are (问题数, 已完成, 正在推进, 未启动)."""
    rows = [{"item": item, "problem_count": n, "done": d, "in_progress": p, "not_started": s, "new_done": 0}
            for item, (n, d, p, s) in counts.items()]
    return Submission(Path(path), form="weekly", sheet="周报表", unit_code=unit, unit_name=unit, period=period,
                      unit_basis="name", header={"reporting_unit": unit, "report_date": date.fromisoformat(period)},
                      rows=_frame(rows, 6), cells={}, columns={"item": "A", "problem_count": "B", "done": "C",
                                                              "in_progress": "D", "not_started": "E"})


def self_check_sub(path, unit: str, answers: list[tuple[str, str, int, str]], meetings=(1, 3, 3, 1),
                   shortfall: bool = False) -> Submission:
    """A 自查表: answers are (item, 是/否, 问题数, 存在问题)."""
    rows = [{"seq": str(i + 1), "item": item, "has_problem": yes, "problem_count": n, "problems": text}
            for i, (item, yes, n, text) in enumerate(answers)]
    header = {"reporting_unit": unit, "report_date": date(2023, 10, 24), "period_start": date(2023, 7, 1),
              "period_end": date(2023, 9, 30)}
    header.update(zip(["congress", "committee", "group_meeting", "lecture"], meetings))
    probs = [problem("rule.frequency", sheet="自查表", cell="B15", field="三会一课开展情况/支部委员会（次）",
                     value=meetings[1], message="支部委员会应每月召开一次，7月至9月应至少 3 次。")] if shortfall else []
    return Submission(Path(path), form="self_check", sheet="自查表", unit_code=unit, unit_name=unit,
                      unit_basis="name", header=header, rows=_frame(rows, 6), cells={"congress": "B15"},
                      columns={"item": "B", "has_problem": "D", "problem_count": "E", "problems": "F"},
                      problems=probs)


def invalid(sub: Submission) -> Submission:
    """The same submission with one error (a wrong sum)."""
    sub.problems.append(problem("rule.sum", sheet=sub.sheet, cell="B10", field="内容/共（条）", value=9,
                                total="共（条）", parts="各项", expected=5))
    return sub


def at(day: str, clock: str = "09:00") -> datetime:
    """A Beijing time."""
    return datetime.fromisoformat(f"{day} {clock}")
