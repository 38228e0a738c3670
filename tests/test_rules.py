"""Validating extracts of the real specs: pandera schemas, cross-field rules, 合计 rows, weeks.

Every test asserts rule ids and the A1 cells problems point at.
"""
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from python_calamine import CalamineWorkbook

from zhenggai_xls.excel import col_letter
from zhenggai_xls.normalize import Context
from zhenggai_xls.rules import check_across_periods, periods_in
from zhenggai_xls.schema import schema_for, validate_extracts
from zhenggai_xls.spec import load_specs
from zhenggai_xls.submission import Extract, RawCell

SPECS = load_specs()
STATS, FILING, SELF_CHECK, WEEKLY, LEDGER = (SPECS[k] for k in ("stats", "filing", "self_check", "weekly", "ledger"))
CTX = Context(year=2023)
FIRST = 6  # first data row in the test layouts


def header_cell(spec, key):
    """Header/line fields sit in column B, one per row, in spec order."""
    keys = [f.key for f in spec.fields if f.place != "table"]
    return f"B{keys.index(key) + 1}"


def column(spec, key):
    return col_letter([f.key for f in spec.table.fields].index(key))


def make(spec, header=None, rows=(), total=None, path="a.xlsx", sheet="Sheet1", metadata=None, drop=()):
    """An Extract as the locator gives it; `drop` lists table columns not found in the file."""
    keys = [f.key for f in spec.table.fields if f.key not in drop]
    columns = {k: column(spec, k) for k in keys}
    fields = {k: RawCell(v, header_cell(spec, k)) for k, v in (header or {}).items()}
    raw_rows = [{k: RawCell(r.get(k), f"{columns[k]}{FIRST + n}") for k in keys} for n, r in enumerate(rows)]
    total_row = None
    if total is not None:
        total_row = {k: RawCell(total.get(k), f"{columns[k]}{FIRST + len(rows)}") for k in keys}
    return Extract(Path(path), spec.id, sheet, fields=fields, rows=raw_rows,
                   row_numbers=[FIRST + n for n in range(len(rows))], total_row=total_row,
                   columns=columns, metadata=metadata or {})


def found(sub, severity=None):
    """(rule id, cell) of a submission's problems."""
    return sorted((p.rule, p.cell) for p in sub.problems if severity in (None, p.severity))


def one(spec, *args, ctx=CTX, **kwargs):
    [sub] = validate_extracts(spec, [make(spec, *args, **kwargs)], ctx)
    return sub


STATS_HEADER = {"reporting_unit": "某某党委", "report_date": datetime(2023, 6, 18), "contact_phone": "023-72345678"}


def branch(**values):
    """A clean stats row; keyword arguments override."""
    row = {"branch_name": "第一党支部", "grade_good": 1.0, "opinion_meeting": 2.0, "people_total": 10.0,
           "people_reps": 3.0, "people_nonparty": 4.0, "found_total": 3.0, "found_leadership": 1.0,
           "found_members": 2.0, "focus_total": 2.0, "focus_leadership": 1.0, "focus_members": 1.0}
    row.update(values)
    return {k: v for k, v in row.items() if v is not None}


def test_schema_is_built_once_per_spec():
    assert schema_for(STATS, "rows", "error") is schema_for(STATS, "rows", "error")
    assert schema_for(STATS, "rows", "warning") is not schema_for(STATS, "rows", "error")


def test_clean_stats_file_is_valid_with_typed_values():
    sub = one(STATS, STATS_HEADER, [branch(), branch(branch_name="第二党支部", grade_good=None, grade_fair="√")])
    assert sub.valid and sub.problems == []
    assert sub.header["report_date"] == date(2023, 6, 18)
    assert sub.unit_name == "某某党委"
    assert list(sub.rows["_row"]) == [6, 7]
    assert sub.rows["grade_fair"].tolist() == [0, 1]
    assert str(sub.rows["found_total"].dtype) == "Int64"
    assert sub.columns["found_total"] == "M" and sub.cells["report_date"] == "B4"


# ---------------------------------------------------------------- rule kinds


def test_sum_points_at_the_total_cell():
    sub = one(STATS, STATS_HEADER, [branch(found_total=5.0)])
    assert found(sub) == [("rule.sum", "M6")]
    [p] = sub.problems
    assert p.field == "问题梳理情况/合计" and p.value == "5" and "之和为 3" in p.message


def test_sum_on_form_lines():
    header = {"branch_name": "第一党支部", "grade": "好", "content_total": 4.0, "content_leadership": 1.0,
              "content_members": "２", "content_mechanism": None, "content_performance": None,
              "content_public": 0.0, "report_date": "2023-06-18", "reporting_unit": "第一党支部"}
    sub = one(FILING, header)
    assert found(sub) == [("rule.sum", header_cell(FILING, "content_total"))]
    assert sub.header["content_members"] == 2 and sub.header["content_mechanism"] == 0
    assert "之和为 3" in sub.problems[0].message


def test_a_line_the_locator_did_not_find_is_not_summed_as_zero():
    header = {"branch_name": "第一党支部", "grade": "好", "content_total": 4.0, "content_leadership": 1.0,
              "content_members": 2.0, "report_date": "2023-06-18", "reporting_unit": "第一党支部"}
    assert one(FILING, header).problems == []


def test_at_most_points_at_the_limit_cell_with_the_spec_message():
    sub = one(STATS, STATS_HEADER, [branch(people_total=5.0)])
    assert found(sub) == [("rule.at_most", "J6")]
    assert sub.problems[0].message == "“两代表一委员”与“党外群众”之和不能超过“人次”（现各项之和为 7，“人次”为 5）。"


def test_warning_rule_does_not_make_the_file_invalid():
    sub = one(STATS, STATS_HEADER, [branch(focus_leadership=2.0, focus_members=0.0)])
    assert found(sub) == [("rule.at_most", "N6")]
    assert sub.problems[0].severity == "warning" and sub.valid


def test_exactly_one_mark():
    none = branch(grade_good=None)
    two = branch(grade_fair="√")
    sub = one(STATS, STATS_HEADER, [none, two])
    assert found(sub) == [("rule.exactly_one", "B6"), ("rule.exactly_one", "B7")]
    assert [p.value for p in sub.problems] == ["", "1"]


def test_marks_on_a_summary_are_counts():
    rows = [branch(grade_good=3.0, grade_fair=2.0), branch(grade_good=None)]
    sub = one(STATS, STATS_HEADER, rows, ctx=Context(year=2023, summary=True))
    assert found(sub) == [("rule.exactly_one", "B7")]  # at least one mark still
    assert sub.rows["grade_good"].tolist() == [3, 0]
    by_metadata = one(STATS, STATS_HEADER, rows, metadata={"summary": "1"})
    assert found(by_metadata) == [("rule.exactly_one", "B7")]
    branch_file = one(STATS, STATS_HEADER, rows)
    assert ("value.not_mark", "B6") in found(branch_file)


LEDGER_HEADER = {"reporting_unit": "第一党支部", "report_date": "2023年11月20日"}


def item(**values):
    row = {"seq": 1.0, "problem": "三会一课记录不全", "measure": "补齐记录", "leader": "张三",
           "deadline": "2023年12月底", "status": "正在推进", "closed": "否"}
    row.update(values)
    return {k: v for k, v in row.items() if v is not None}


def test_requires_points_at_each_missing_then_cell():
    sub = one(LEDGER, LEDGER_HEADER, [item(measure=None, leader=None), item(deadline=None)])
    assert found(sub) == [("rule.requires", "D6"), ("rule.requires", "E6"), ("rule.requires", "G7")]
    assert all("三个明确" in p.message for p in sub.problems)


def test_requires_without_a_spec_message_says_what_is_needed():
    rule = next(r for r in LEDGER.rules if r.name == "销号须已完成")
    spec = replace(LEDGER, rules=(replace(rule, message=""),))
    [sub] = validate_extracts(spec, [make(spec, LEDGER_HEADER, [item(closed="是")])], CTX)
    assert found(sub) == [("rule.requires", "H6")]
    assert sub.problems[0].message == "按“销号须已完成”的要求，“完成情况”应为“已完成”。"


def test_requires_any_is_met_by_either_field():
    sub = one(LEDGER, LEDGER_HEADER, [item(leader=None, person="李四")])
    assert sub.problems == []


def test_requires_equals():
    rows = [item(status="已完成"), item(closed="已销号"), item(status="已整改", done_date="11月15日", closed="是")]
    sub = one(LEDGER, LEDGER_HEADER, rows)
    assert found(sub) == [("rule.requires", "H7"), ("rule.requires", "I6")]


def test_requires_min_and_max_on_self_check():
    rows = [{"item": "党务业务培训是否落实到位", "has_problem": "是", "problem_count": 0.0},
            {"item": "党员发展与管理是否规范", "has_problem": "否", "problem_count": 2.0},
            {"item": "“三会一课”制度是否严格落实", "has_problem": "是", "problem_count": 1.0, "problems": "记录不全"}]
    sub = one(SELF_CHECK, self_check_header(), rows)
    assert found(sub) == [("rule.requires", "E6"), ("rule.requires", "E7"), ("rule.requires", "F6")]


def test_not_after_a_header_limit():
    sub = one(LEDGER, LEDGER_HEADER, [item(status="已完成", done_date=datetime(2023, 11, 25), closed="是")])
    assert found(sub) == [("rule.not_after", "I6")]
    assert sub.problems[0].value == "2023-11-25"


def self_check_header(**values):
    header = {"reporting_unit": "第一党支部", "report_date": "2023-10-24", "period_start": "2023-07-01",
              "period_end": "2023-09-30", "congress": 1.0, "committee": 3.0, "group_meeting": 3.0,
              "lecture": 1.0, "minutes_complete": "是"}
    header.update(values)
    return header


def test_not_after_between_header_fields():
    sub = one(SELF_CHECK, self_check_header(period_start="2023-10-01", period_end="2023-09-30"))
    assert ("rule.not_after", header_cell(SELF_CHECK, "period_start")) in found(sub)


def test_frequency_counts_months_and_quarters_of_the_period():
    assert periods_in(date(2023, 7, 1), date(2023, 9, 30), "month") == 3
    assert periods_in(date(2023, 7, 1), date(2023, 9, 30), "quarter") == 1
    assert periods_in(date(2023, 7, 20), date(2023, 9, 30), "month") == 2  # July: 12 days only
    assert periods_in(date(2023, 1, 1), date(2023, 10, 20), "month") == 10
    assert periods_in(date(2023, 1, 1), date(2023, 10, 20), "quarter") == 3
    assert periods_in(date(2023, 10, 1), date(2023, 10, 5), "month") == 1  # at least one


def test_frequency_is_a_warning_at_the_count_cell():
    sub = one(SELF_CHECK, self_check_header(committee=2.0, lecture=None))
    assert found(sub) == sorted([("rule.frequency", header_cell(SELF_CHECK, "committee")),
                                 ("rule.frequency", header_cell(SELF_CHECK, "lecture"))])
    assert sub.valid  # warnings only
    committee = sub.problems[0]
    assert "应至少 3 次" in committee.message and "15 天" in committee.message and committee.value == "2"


# ---------------------------------------------------------------- required values and blank rows


def test_required_values_blank_rows_and_seq_only_rows():
    rows = [item(problem=None, measure=None, leader=None, deadline=None, status=None, closed=None, seq=2.0),
            {}, item(problem=None, remark="见附件")]
    sub = one(LEDGER, LEDGER_HEADER, rows)
    assert found(sub) == [("value.required", "C8")]
    assert list(sub.rows["_row"]) == [8]


def test_blank_rows_when_every_cell_is_there():
    # Every cell present and plain (as read from a real file): rows judged on the batch's values.
    blank = dict.fromkeys((f.key for f in LEDGER.table.fields), "  ")
    rows = [{**blank, "seq": 2.0}, {**blank, "remark": "见附件"}, {**blank, **item()}]
    sub = one(LEDGER, LEDGER_HEADER, rows)
    assert list(sub.rows["_row"]) == [7, 8]
    assert ("value.required", "C7") in found(sub)


def test_preset_row_not_filled_is_reported():
    rows = [{"item": "党务业务培训是否落实到位", "has_problem": "否", "problem_count": 0.0},
            {"item": "党员发展与管理是否规范"}]
    sub = one(SELF_CHECK, self_check_header(), rows)
    assert found(sub) == [("value.required", "D7")]
    assert "“是”或“否”" in sub.problems[0].message


def test_required_header_field():
    sub = one(STATS, {**STATS_HEADER, "report_date": "  "}, [branch()])
    assert found(sub) == [("value.required", "B4")]


def test_blank_counts_as_errors_when_asked():
    sub = one(STATS, STATS_HEADER, [branch(opinion_letter=None)], ctx=Context(year=2023, blank_count_is_zero=False))
    assert ("value.required", "G6") in found(sub)


# ---------------------------------------------------------------- no double reports


def test_values_that_failed_normalising_trigger_no_rule_and_no_required():
    rows = [branch(found_total="三"), branch(people_total="-1"), branch(grade_good="好")]
    sub = one(STATS, STATS_HEADER, rows)
    assert found(sub) == [("value.not_count", "J7"), ("value.not_count", "M6"), ("value.not_mark", "B8")]


def test_bad_choice_in_a_required_field_is_reported_once():
    rows = [{"item": "党务业务培训是否落实到位", "has_problem": "不清楚", "problem_count": 0.0}]
    sub = one(SELF_CHECK, self_check_header(), rows)
    assert found(sub) == [("value.bad_choice", "D6")]


def test_a_column_the_locator_did_not_find_gives_no_required_or_rule_problem():
    sub = one(LEDGER, LEDGER_HEADER, [item(problem=None)], drop=("problem", "measure"))
    assert sub.problems == []


def test_a_bad_deadline_is_not_also_a_missing_deadline():
    sub = one(LEDGER, LEDGER_HEADER, [item(deadline="尽快")])
    assert found(sub) == [("value.bad_deadline", "G6")]


# ---------------------------------------------------------------- deadlines in the frame


def test_deadline_columns_in_rows():
    rows = [item(deadline="立行立改，长期坚持"), item(deadline="11月17日前"), item(deadline="立行立改")]
    sub = one(LEDGER, LEDGER_HEADER, rows)
    assert sub.problems == []
    assert sub.rows["deadline_kind"].tolist() == ["长期坚持", "date", "立行立改"]
    assert sub.rows["deadline"].iloc[1] == pd.Timestamp("2023-11-17")
    assert pd.isna(sub.rows["deadline"].iloc[0])


def test_year_of_a_file_comes_from_its_report_date():
    ex = make(LEDGER, {"reporting_unit": "甲", "report_date": "2024-01-05"}, [item(deadline="3月1日")])
    [sub] = validate_extracts(LEDGER, [ex], Context())
    assert sub.rows["deadline"].iloc[0] == pd.Timestamp("2024-03-01")


# ---------------------------------------------------------------- the typed 合计 row


def weekly_rows(done, new, count=3):
    return [{"item": it, "problem_count": float(count), "done": float(d), "in_progress": float(count - d),
             "not_started": 0.0, "new_done": float(n)} for it, d, n in zip(WEEKLY.table.rows, done, new)]


def weekly_header(start, end):
    return {"reporting_unit": "第一党支部", "report_date": end, "week_start": start, "week_end": end}


def test_total_row_is_checked_against_the_rows():
    rows = weekly_rows([1, 1, 1, 1, 1], [1, 1, 1, 1, 1])
    total = {"item": "合计", "problem_count": 15.0, "done": 4.0, "in_progress": None, "new_done": "五"}
    sub = one(WEEKLY, weekly_header("2023-10-21", "2023-10-27"), rows, total=total)
    assert found(sub) == [("table.total_mismatch", "C11"), ("value.not_count", "F11")]
    mismatch = sub.problems[0]
    assert mismatch.value == "4" and "为 5" in mismatch.message


def test_total_row_skips_columns_with_bad_cells():
    rows = weekly_rows([1, 1, 1, 1, 1], [1, 1, 1, 1, 1])
    rows[0]["done"] = "一"
    rows[0]["in_progress"] = 3.0
    sub = one(WEEKLY, weekly_header("2023-10-21", "2023-10-27"), rows, total={"done": 9.0, "problem_count": 15.0})
    assert found(sub) == [("value.not_count", "C6")]


def test_weekly_sum_rule():
    rows = weekly_rows([1, 1, 1, 1, 1], [1, 1, 1, 1, 1])
    rows[2]["not_started"] = 1.0
    sub = one(WEEKLY, weekly_header("2023-10-21", "2023-10-27"), rows)
    assert found(sub) == [("rule.sum", "B8")]


# ---------------------------------------------------------------- many files in one call


def test_many_files_in_one_call_get_their_own_problems():
    extracts = [
        make(STATS, STATS_HEADER, [branch(), branch(found_total=9.0)], path="a.xlsx", sheet="甲"),
        make(STATS, STATS_HEADER, [branch()], path="b.xlsx", sheet="乙"),
        make(STATS, {**STATS_HEADER, "contact_phone": "12"}, [branch(people_total="x")], path="c.xlsx", sheet="丙"),
        make(STATS, STATS_HEADER, [], path="d.xlsx"),
    ]
    subs = validate_extracts(STATS, extracts, CTX)
    assert [s.path.name for s in subs] == ["a.xlsx", "b.xlsx", "c.xlsx", "d.xlsx"]
    assert found(subs[0]) == [("rule.sum", "M7")] and subs[0].problems[0].sheet == "甲"
    assert subs[1].problems == [] and subs[1].valid
    assert found(subs[2]) == [("value.bad_phone", "B3"), ("value.not_count", "J6")]
    assert {p.sheet for p in subs[2].problems} == {"丙"}
    assert [s.valid for s in subs] == [False, True, False, True]
    assert list(subs[0].rows["_row"]) == [6, 7] and list(subs[2].rows["_row"]) == [6]
    assert subs[3].rows.empty and "found_total" in subs[3].rows


def test_locator_problems_are_kept():
    ex = make(STATS, STATS_HEADER, [branch()])
    from zhenggai_xls.problems import problem
    ex.problems.append(problem("header.extra_column", sheet="Sheet1", cell="Z5", field="备注"))
    [sub] = validate_extracts(STATS, [ex], CTX)
    assert found(sub) == [("header.extra_column", "Z5")] and sub.valid


# ---------------------------------------------------------------- across weeks


def weeks(*specs):
    extracts = [make(WEEKLY, weekly_header(s, e), weekly_rows(done, new), path=f"{e}.xlsx")
                for s, e, done, new in specs]
    subs = validate_extracts(WEEKLY, extracts, CTX)
    for sub in subs:
        sub.period = sub.header["week_end"].isoformat()
    return subs


def test_done_never_goes_down_and_new_done_is_the_difference():
    subs = weeks(("2023-10-21", "2023-10-27", [1, 1, 1, 1, 1], [1, 1, 1, 1, 1]),
                 ("2023-10-28", "2023-11-03", [2, 0, 1, 1, 1], [1, 0, 0, 0, 0]))
    assert all(s.valid for s in subs)
    out = check_across_periods(WEEKLY, subs)
    # Row 7 went down (1 -> 0): not_decreasing only, never also "增加了 -1" at its 本周新完成.
    assert sorted((s.path.name, p.rule, p.cell) for s, p in out) == [
        ("2023-11-03.xlsx", "rule.not_decreasing", "C7"),
    ]
    subs = weeks(("2023-10-21", "2023-10-27", [1, 1, 1, 1, 1], [1, 1, 1, 1, 1]),
                 ("2023-10-28", "2023-11-03", [2, 1, 1, 1, 1], [0, 0, 0, 0, 0]))
    out = check_across_periods(WEEKLY, subs)
    assert sorted((s.path.name, p.rule, p.cell) for s, p in out) == [("2023-11-03.xlsx", "rule.weekly_delta", "F6")]
    assert all(p.severity == "warning" for _, p in out)


def test_weekly_delta_needs_consecutive_weeks_and_the_same_unit():
    subs = weeks(("2023-10-21", "2023-10-27", [1, 1, 1, 1, 1], [1, 1, 1, 1, 1]),
                 ("2023-11-04", "2023-11-10", [2, 1, 1, 1, 0], [0, 0, 0, 0, 0]))  # a week missing
    assert sorted((p.rule, p.cell) for _, p in check_across_periods(WEEKLY, subs)) == [
        ("rule.not_decreasing", "C10")]
    subs[1].rows.loc[4, "item"] = " 其 他 "  # the same item, typed with spaces: still matched
    assert len(check_across_periods(WEEKLY, subs)) == 1
    subs[1].rows.loc[4, "item"] = "其他事项"  # another item: nothing to compare with
    assert check_across_periods(WEEKLY, subs) == []
    subs[1].rows.loc[4, "item"] = "其他"
    subs[1].unit_name = "第二党支部"
    assert check_across_periods(WEEKLY, subs) == []


def test_order_of_submissions_does_not_matter():
    subs = weeks(("2023-10-28", "2023-11-03", [2, 1, 1, 1, 1], [1, 0, 0, 0, 0]),
                 ("2023-10-21", "2023-10-27", [1, 1, 1, 1, 1], [1, 1, 1, 1, 1]))
    assert check_across_periods(WEEKLY, subs) == []


# ---------------------------------------------------------------- a real workbook


def test_values_of_a_real_workbook(tmp_path):
    """A stats sheet saved by openpyxl and read back by calamine, as the locator would hand it over."""
    path = tmp_path / "统计表.xlsx"
    wb = Workbook()
    ws = wb.active
    ws.title = "统计表"
    ws["B4"] = "2023年6月18日"
    values = [["第一党支部", "√", None, None, None, "２", 0, 1, 0, 10, 3, 4, "5", 1, 2, 1, 0, 0, 2, 1, 1, 0, 0, 0],
              ["第二党支部", 1, 1, None, None, 1, 0, 0, 0, 5, 3, 4, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0]]
    for n, row in enumerate(values):
        for c, value in enumerate(row):
            ws.cell(FIRST + n, c + 1, value)
    wb.save(path)
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("统计表")
    grid, (top, left) = sheet.to_python(), sheet.start  # to_python() starts at the first used cell

    def raw(ref_row, col):
        r, c = ref_row - 1 - top, col - left
        value = grid[r][c] if 0 <= r < len(grid) and 0 <= c < len(grid[r]) else ""
        return RawCell(None if value == "" else value, f"{col_letter(col)}{ref_row}")

    keys = [f.key for f in STATS.table.fields]
    ex = Extract(path, "stats", "统计表", fields={"report_date": raw(4, 1)},
                 rows=[{k: raw(FIRST + n, c) for c, k in enumerate(keys)} for n in range(2)],
                 row_numbers=[FIRST, FIRST + 1], columns={k: col_letter(c) for c, k in enumerate(keys)})
    [sub] = validate_extracts(STATS, [ex], CTX)
    assert sub.header["report_date"] == date(2023, 6, 18)
    assert found(sub) == [("rule.at_most", "J7"), ("rule.exactly_one", "B7"), ("rule.sum", "M6")]
    assert sub.rows["opinion_meeting"].tolist() == [2, 1]
