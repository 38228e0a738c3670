"""Finding a form in a sheet: which form, its header lines, its columns and its rows, by A1 cell."""
from __future__ import annotations

import pytest

from zhenggai_xls.locate import locate
from zhenggai_xls.problems import Problem
from zhenggai_xls.read import read_workbook
from zhenggai_xls.template import write_template

BRANCH_1 = ["李渡新区党工委第一党支部", "√", None, None, None, 1, "２", 3, 0, 40, 2, "１５",
            5, 1, 1, 1, 1, 1, 3, 1, 1, 1, 0, 0]
BRANCH_2 = ["李渡新区党工委第二党支部", None, "1", None, None, 2, 0, 0, 1, 30, 1, 10,
            4, 1, 1, 1, 1, 0, 2, 1, 1, 0, 0, 0]
TOTAL = ["合计", 1, 1, 0, 0, 3, 2, 3, 1, 70, 3, 25, 9, 2, 2, 2, 2, 1, 5, 2, 2, 1, 0, 0]


def only(result) -> object:
    assert not isinstance(result, Problem), result
    assert len(result) == 1, [e.form for e in result]
    return result[0]


def rules(extract) -> list[str]:
    return [p.rule for p in extract.problems]


def seed_extract(stats_seed, build_sheet, build_workbook, specs, rows):
    name, cells, merges = stats_seed(top=6, left=2, rows=rows)
    return only(locate(build_workbook(build_sheet(name, cells, merges)), specs))


# ---------------------------------------------------------------- the seed's own layout


def test_stats_typed_in_the_seed_layout_is_found_at_row_6_col_c(stats_seed, build_sheet, build_workbook, specs):
    ex = seed_extract(stats_seed, build_sheet, build_workbook, specs, [BRANCH_1, [None] * 24, BRANCH_2, TOTAL])
    assert ex.form == "stats" and ex.sheet == "统计表"
    assert ex.columns["branch_name"] == "C"
    assert [ex.columns[k] for k in ("grade_good", "grade_fair", "grade_average", "grade_poor")] == list("DEFG")
    assert ex.columns["opinion_meeting"] == "H" and ex.columns["people_nonparty"] == "N"
    assert ex.columns["found_total"] == "O" and ex.columns["focus_total"] == "U"
    assert ex.columns["found_public"] == "T" and ex.columns["focus_public"] == "Z"
    assert len(ex.columns) == 24
    # the note row (9) and the blank row (11) are not data; rows 10 and 12 are
    assert ex.row_numbers == [10, 12]
    first = ex.rows[0]
    assert first["branch_name"].value == "李渡新区党工委第一党支部" and first["branch_name"].cell == "C10"
    assert first["grade_good"].value == "√" and first["grade_good"].cell == "D10"
    assert first["grade_fair"].value is None and first["grade_fair"].cell == "E10"
    assert first["opinion_letter"].value == "２" and first["opinion_letter"].cell == "I10"
    assert first["people_nonparty"].value == "１５" and first["people_nonparty"].cell == "N10"
    assert ex.rows[1]["focus_total"].value == 2 and ex.rows[1]["focus_total"].cell == "U12"
    assert ex.total_row["found_total"].value == 9 and ex.total_row["found_total"].cell == "O13"
    assert "header.extra_column" not in rules(ex) and "header.missing_column" not in rules(ex)


def test_texts_remembered_from_file_to_file_change_no_result_and_stay_bounded(
        stats_seed, build_sheet, build_workbook, specs, monkeypatch):
    import zhenggai_xls.locate as L

    rows = [BRANCH_1, [None] * 24, BRANCH_2, TOTAL]
    L._KINDS.clear()
    cold = seed_extract(stats_seed, build_sheet, build_workbook, specs, rows)
    seen = len(next(iter(L._KINDS.values())))
    assert seen > 20 and seed_extract(stats_seed, build_sheet, build_workbook, specs, rows) == cold
    next(iter(L._KINDS.values()))["一段早已读过的文字"] = (None, False)
    monkeypatch.setattr(L, "KINDS_MAX", seen)  # full: the next sheet starts afresh, with the same result
    assert seed_extract(stats_seed, build_sheet, build_workbook, specs, rows) == cold
    kinds = next(iter(L._KINDS.values()))
    assert len(L._KINDS) == 1 and len(kinds) == seen and "一段早已读过的文字" not in kinds


def test_header_lines_of_the_seed_layout(stats_seed, build_sheet, build_workbook, specs):
    ex = seed_extract(stats_seed, build_sheet, build_workbook, specs, [BRANCH_1])
    f = ex.fields
    assert (f["reporting_unit"].value, f["reporting_unit"].cell) == ("涪陵区李渡新区党工委", "C4")
    assert (f["report_date"].value, f["report_date"].cell) == ("2012年6月22日", "R4")
    assert (f["filled_by"].value, f["filled_by"].cell) == ("张三", "D5")
    assert (f["contact_phone"].value, f["contact_phone"].cell) == ("023-72211234", "S5")


def test_the_备注_line_ends_the_table(stats_seed, build_sheet, build_workbook, specs):
    name, cells, merges = stats_seed(rows=[BRANCH_1])
    cells["C12"] = "另一张表的数字"  # below the 备注 line (row 11): not part of the table
    cells["D12"] = 5
    ex = only(locate(build_workbook(build_sheet(name, cells, merges)), specs))
    assert ex.row_numbers == [10] and ex.total_row is None


def test_seed_layout_written_by_openpyxl_reads_back_through_the_reader(stats_seed, write_book, specs, tmp_path):
    wb = read_workbook(write_book(tmp_path / "统计表.xlsx", [stats_seed(rows=[BRANCH_1, TOTAL])]))
    ex = only(locate(wb, specs))
    assert ex.row_numbers == [10] and ex.rows[0]["grade_good"].cell == "D10"
    assert ex.total_row["branch_name"].value == "合计"
    assert ex.fields["reporting_unit"].value == "涪陵区李渡新区党工委"


# ---------------------------------------------------------------- columns


LEDGER_HEADER = ["序号", "问题类别", "问题描述", "整改措施", "责任领导", "责任人", "整改时限", "完成情况",
                 "完成时间", "整改成效", "是否销号", "备注"]


def ledger_sheet(build_sheet, header, rows, name="整改清单", start_row=3, hidden=False, extra=None):
    cells = {"A1": "“三会一课”不正常、专题教育搞形式问题整改清单",
             "A2": "填报单位（盖章）：XX镇党委", "H2": "填报日期：2023-11-18"}
    for c, label in enumerate(header):
        cells[f"{chr(65 + c)}{start_row}"] = label
    for i, row in enumerate(rows, start=start_row + 1):
        for c, value in enumerate(row):
            cells[f"{chr(65 + c)}{i}"] = value
    cells.update(extra or {})
    return build_sheet(name, cells, hidden=hidden)


def test_reordered_columns_map_by_label(build_sheet, build_workbook, specs):
    header = ["问题描述", "序号", "整改时限", "整改措施", "责任人", "责任领导", "问题类别", "完成情况",
              "完成时间", "整改成效", "是否销号", "备注"]
    row = ["会议记录不全", 1, "立行立改", "补齐记录", "王五", "李四", "三会一课", "已完成", "2023-11-01", "好", "是", ""]
    ex = only(locate(build_workbook(ledger_sheet(build_sheet, header, [row])), specs))
    assert ex.form == "ledger"
    assert ex.columns["problem"] == "A" and ex.columns["seq"] == "B" and ex.columns["deadline"] == "C"
    assert ex.rows[0]["problem"].value == "会议记录不全" and ex.rows[0]["problem"].cell == "A4"
    assert ex.rows[0]["leader"].value == "李四" and ex.rows[0]["leader"].cell == "F4"
    assert ex.problems == []


def test_synonym_headers_map_to_fields(build_sheet, build_workbook, specs):
    header = ["序号", "问题类型", "存在问题", "整改举措", "牵头领导", "具体责任人", "完成时限", "整改进展", "完成日期"]
    ex = only(locate(build_workbook(ledger_sheet(build_sheet, header, [[1, "a", "b", "c", "d", "e", "f", "g", "h"]])),
                     specs))
    assert ex.columns == {"seq": "A", "category": "B", "problem": "C", "measure": "D", "leader": "E",
                          "person": "F", "deadline": "G", "status": "H", "done_date": "I"}


def test_extra_column_is_a_warning_and_missing_required_column_an_error(build_sheet, build_workbook, specs):
    header = ["序号", "问题类别", "整改措施", "联系人", "责任领导", "责任人", "整改时限", "完成情况", "完成时间", "整改成效"]
    ex = only(locate(build_workbook(ledger_sheet(build_sheet, header, [[1, "x", "y", "z", "a", "b", "c", "d", "e", "f"]])),
                     specs))
    extra = [p for p in ex.problems if p.rule == "header.extra_column"]
    assert [(p.field, p.cell, p.severity) for p in extra] == [("联系人", "D3", "warning")]
    missing = {p.field: p.severity for p in ex.problems if p.rule == "header.missing_column"}
    # 问题描述 is required; 是否销号 is named by a rule (销号须已完成); 备注 is neither: not reported
    assert missing == {"问题描述": "error", "是否销号": "warning"}
    assert "problem" not in ex.columns and ex.rows[0]["measure"].value == "y"


def test_stats_header_without_merges_uses_group_context(build_sheet, build_workbook, specs):
    """Group labels typed once above their first column, nothing merged: the two 合计 differ."""
    cells = {"A1": "党支部规范全称", "B1": "问题梳理情况", "H1": "拟集中整改问题",
             "B2": "合计", "C2": "领导班子", "D2": "党员队伍", "E2": "工作机制", "F2": "工作业绩", "G2": "群众反映",
             "H2": "合计", "I2": "领导班子", "J2": "党员队伍", "K2": "工作机制", "L2": "工作业绩", "M2": "群众反映",
             "A3": "一支部", "B3": 5, "H3": 2}
    ex = only(locate(build_workbook(build_sheet("Sheet1", cells)), specs))
    assert ex.form == "stats"
    assert ex.columns["found_total"] == "B" and ex.columns["focus_total"] == "H"
    assert ex.columns["found_leadership"] == "C" and ex.columns["focus_leadership"] == "I"
    assert ex.rows[0]["focus_total"].value == 2


def test_numbering_row_and_seq_only_rows_are_not_data(build_sheet, build_workbook, specs):
    rows = [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
            [1, "三会一课", "记录不全", "补记", "李四", "", "11月17日前", "正在推进", "", "", "否", ""],
            [2], [3], [4]]
    ex = only(locate(build_workbook(ledger_sheet(build_sheet, LEDGER_HEADER, rows)), specs))
    assert ex.row_numbers == [5]


def test_thousands_of_rows_far_below_do_not_join_after_signature(build_sheet, build_workbook, specs):
    rows = [[1, "三会一课", "记录不全", "补记", "李四", "", "11月17日前", "正在推进", "", "", "否", ""]]
    extra = {"A6": "填表人：赵六", "E6": "审核人：钱七", "A5000": "x", "C5000": "不是数据"}
    ex = only(locate(build_workbook(ledger_sheet(build_sheet, LEDGER_HEADER, rows, extra=extra)), specs))
    assert ex.row_numbers == [4]
    assert ex.fields["filled_by"].value == "赵六"


# ---------------------------------------------------------------- which form, which sheet


def test_two_forms_in_one_workbook_give_two_extracts(stats_seed, build_sheet, build_workbook, specs):
    name, cells, merges = stats_seed(rows=[BRANCH_1])
    book = build_workbook(build_sheet(name, cells, merges),
                          ledger_sheet(build_sheet, LEDGER_HEADER, [[1, "a", "b", "c", "d", "", "e", "", "", "", "", ""]]))
    result = locate(book, specs)
    assert [(e.form, e.sheet) for e in result] == [("stats", "统计表"), ("ledger", "整改清单")]


def test_hidden_data_sheet_is_not_read_as_the_form(stats_seed, build_sheet, build_workbook, specs):
    name, cells, merges = stats_seed(rows=[BRANCH_1])
    visible = ledger_sheet(build_sheet, LEDGER_HEADER, [[1, "a", "b", "c", "d", "", "e", "", "", "", "", ""]])
    book = build_workbook(visible, build_sheet("计算用", cells, merges, hidden=True))
    assert [e.form for e in locate(book, specs)] == ["ledger"]


def test_hidden_sheet_is_read_when_nothing_else_matches(stats_seed, build_sheet, build_workbook, specs):
    name, cells, merges = stats_seed(rows=[BRANCH_1])
    book = build_workbook(build_sheet("封面", {"A1": "报送材料"}), build_sheet(name, cells, merges, hidden=True))
    assert only(locate(book, specs)).form == "stats"


def test_another_forms_file_given_for_a_form_is_wrong_form(build_sheet, build_workbook, specs):
    book = build_workbook(ledger_sheet(build_sheet, LEDGER_HEADER, [[1, "a", "b"]]))
    result = locate(book, specs, form="stats")
    assert isinstance(result, Problem) and result.rule == "file.wrong_form"
    assert "整改清单" in result.message and "整改方案制定情况统计表" in result.message


def test_template_metadata_names_the_form(build_sheet, build_workbook, specs):
    book = build_workbook(ledger_sheet(build_sheet, LEDGER_HEADER, [[1, "a", "b"]]), metadata={"form": "ledger"})
    assert only(locate(book, specs)).metadata["form"] == "ledger"
    wrong = locate(book, specs, form="weekly")
    assert isinstance(wrong, Problem) and wrong.rule == "file.wrong_form"


def test_nothing_recognised_is_unknown_form(build_sheet, build_workbook, specs):
    book = build_workbook(build_sheet("Sheet1", {"A1": "姓名", "B1": "年龄", "A2": "张三", "B2": 30}))
    result = locate(book, specs)
    assert isinstance(result, Problem) and result.rule == "file.unknown_form"


def test_blank_copy_beside_a_filled_sheet_is_left_out(build_sheet, build_workbook, specs):
    filled = ledger_sheet(build_sheet, LEDGER_HEADER, [[1, "a", "b", "c"]], name="Sheet1")
    blank = ledger_sheet(build_sheet, LEDGER_HEADER, [], name="Sheet2")
    assert [e.sheet for e in locate(build_workbook(blank, filled), specs)] == ["Sheet1"]


# ---------------------------------------------------------------- header lines and form lines


@pytest.mark.parametrize("style", ["colon", "cell_right", "merged_right", "one_cell"])
def test_each_header_line_in_both_styles(style, build_sheet, build_workbook, specs):
    values = {"填报单位（盖章）": "XX镇党委", "填报人": "张三", "联系电话": "13800000000", "填报日期": "2023年11月18日"}
    cells, merges = {}, []
    if style == "one_cell":
        cells["A1"] = "   ".join(f"{k}：{v}" for k, v in values.items())
    for i, (label, value) in enumerate(values.items(), start=1):
        if style == "colon":
            cells[f"A{i}"] = f"{label}：{value}"
        elif style == "cell_right":
            cells[f"A{i}"], cells[f"B{i}"] = f"{label}:", value
        elif style == "merged_right":
            cells[f"A{i}"], cells[f"D{i}"] = label, value
            merges.append(f"A{i}:C{i}")
    for c, label in enumerate(LEDGER_HEADER):
        cells[f"{chr(65 + c)}6"] = label
    cells.update({"A7": 1, "C7": "问题"})
    ex = only(locate(build_workbook(build_sheet("清单", cells, merges)), specs))
    got = {k: ex.fields[k].value for k in ("reporting_unit", "filled_by", "contact_phone", "report_date")}
    assert got == dict(zip(("reporting_unit", "filled_by", "contact_phone", "report_date"), values.values()))
    expected_cell = {"colon": "A1", "cell_right": "B1", "merged_right": "D1", "one_cell": "A1"}[style]
    assert ex.fields["reporting_unit"].cell == expected_cell


def test_blank_header_line_points_at_the_input_cell(build_sheet, build_workbook, specs):
    cells = {"A1": "填报单位（盖章）：", "D1": "填报日期：", "A3": "序号", "B3": "问题描述", "C3": "整改措施",
             "D3": "整改时限", "A4": 1, "B4": "x"}
    ex = only(locate(build_workbook(build_sheet("S", cells, ["A1:C1"])), specs))
    assert ex.fields["reporting_unit"].value is None and ex.fields["reporting_unit"].cell == "D1" or \
        ex.fields["reporting_unit"].cell == "A1"
    assert ex.fields["report_date"].value is None and ex.fields["report_date"].cell == "E1"


def weekly_cells() -> dict[str, object]:
    cells = {"A1": "“三会一课”不正常、专题教育搞形式问题整改周报表",
             "A2": "填报单位（盖章）", "B2": "一村党支部", "E2": "填报日期", "F2": "2023-11-03",
             "A3": "本周起始日期", "B3": "2023-10-30", "E3": "本周截止日期", "F3": "2023-11-03",
             "A5": "整改内容", "B5": "问题数", "C5": "已完成", "D5": "正在推进", "E5": "未启动",
             "F5": "本周新完成", "G5": "本周进展情况"}
    items = ["党务业务培训", "党员发展与培养", "三会一课", "专题教育", "其他", "合计"]
    for i, item in enumerate(items, start=6):
        cells[f"A{i}"] = item
    cells.update({"B6": 2, "C6": 1, "D6": 1, "E6": 0, "F6": 1, "G6": "已培训", "B11": 2, "C10": 1})
    cells["A12"] = "填报人：张三    联系电话：13900000000"
    return cells


def test_weekly_form_lines_table_and_total_row(build_sheet, build_workbook, specs):
    ex = only(locate(build_workbook(build_sheet("周报", weekly_cells())), specs))
    assert ex.form == "weekly"
    assert (ex.fields["week_start"].value, ex.fields["week_start"].cell) == ("2023-10-30", "B3")
    assert (ex.fields["week_end"].value, ex.fields["week_end"].cell) == ("2023-11-03", "F3")
    assert ex.fields["reporting_unit"].value == "一村党支部"
    assert ex.fields["contact_phone"].value == "13900000000"
    assert ex.row_numbers == [6, 7, 8, 9, 10]  # preset rows kept; 合计 (11) is the total row
    assert ex.rows[0]["progress"].value == "已培训" and ex.rows[0]["progress"].cell == "G6"
    assert ex.total_row["problem_count"].cell == "B11"


def test_filing_lines_with_repeated_short_labels_follow_their_section(build_sheet, build_workbook, specs):
    cells = {"A1": "涪陵区党组织基层组织建设年整改方案备案表",
             "A2": "党支部规范全称", "C2": "一支部",
             "A3": "上级定级情况", "B3": "评定单位", "C3": "XX党委", "D3": "等次", "E3": "较好",
             "A4": "征求意见建议", "B4": "形式", "C4": "座谈会", "D4": 2, "E4": "信函", "F4": 3,
             "B5": "人数", "C5": "共", "D5": 40, "E5": "两代表一委员", "F5": 3,
             "B6": "内容", "C6": "共", "D6": 8, "E6": "领导班子建设", "F6": 2,
             "A8": "序号", "B8": "问题类别", "C8": "集中整改问题", "D8": "整改措施", "E8": "完成时限",
             "F8": "上级党组织联系指导人",
             "A9": 1, "B9": "工作业绩", "C9": "服务群众不够", "D9": "开展走访", "E9": "2012-09-30", "F9": "王五",
             "B10": "群众反映", "C10": "办事慢", "D10": "限时办结", "E10": "立行立改", "F10": "王五",
             "A11": "党委指导意见", "C11": "同意"}
    ex = only(locate(build_workbook(build_sheet("备案表", cells, ["A4:A6"])), specs))
    assert ex.form == "filing"
    assert (ex.fields["people_total"].value, ex.fields["people_total"].cell) == (40, "D5")
    assert (ex.fields["content_total"].value, ex.fields["content_total"].cell) == (8, "D6")
    assert ex.fields["grade"].value == "较好" and ex.fields["guidance"].value == "同意"
    # 工作业绩 / 群众反映 are values of the table here, not the lines' synonyms
    assert ex.row_numbers == [9, 10]
    assert ex.rows[1]["category"].value == "群众反映"


@pytest.mark.parametrize("form", ["stats", "filing", "self_check", "weekly", "ledger"])
@pytest.mark.parametrize("with_metadata", [True, False])
def test_every_blank_template_is_found_by_its_labels(form, with_metadata, specs, tmp_path):
    """Our own templates: every column and line found, no structure problem, with or without the metadata."""
    wb = read_workbook(write_template(specs[form], tmp_path / f"{form}.xlsx"))
    if not with_metadata:
        wb.metadata = {}
    ex = only(locate(wb, specs))
    spec = specs[form]
    assert ex.form == form and ex.sheet == wb.sheets[0].name
    if spec.table:
        assert set(ex.columns) == {f.key for f in spec.table.fields}
    assert set(ex.fields) == {f.key for f in spec.fields if f.place != "table"}
    assert [p.rule for p in ex.problems] == []
    assert len({raw.cell for raw in ex.fields.values()}) == len(ex.fields)  # each line its own input cell


# ---------------------------------------------------------------- fast paths give the general answer


def _ledger_with_other_forms_labels(tmp_path, specs, rows: int = 60):
    """A real 整改清单 whose cells are other forms' labels: 问题类别 values are 统计表 group names,
    完成情况 values are 周报 column labels; 序号 typed as text, in full width now and then."""
    from datetime import date

    from zhenggai_xls.demo import write_filled
    categories = ["群众反映", "领导班子建设", "工作机制建设", "党员队伍建设", "工作业绩"]
    statuses = ["正在推进", "已完成", "未启动", "整改中"]
    body = [{"seq": str(n) if n % 7 else "１" + str(n), "category": categories[n % 5], "problem": f"问题{n}",
             "measure": "措施：逐项整改" if n % 3 == 0 else "逐项整改", "leader": "王建国", "person": "陈伟",
             "deadline": date(2024, 9, 30), "status": statuses[n % 4], "closed": "否"} for n in range(1, rows + 1)]
    body.append({"seq": "备注：以上为全部问题"})
    path = write_filled(specs["ledger"], tmp_path / "台账.xlsx", {"reporting_unit": "某某支部"}, body)
    return read_workbook(path)


def test_row_leads_and_label_index_match_the_general_computation(tmp_path, specs):
    from zhenggai_xls import locate as L
    sheet = _ledger_with_other_forms_labels(tmp_path, specs).sheets[0]
    grid = L._Grid(sheet)
    digits = 0
    for r, lead, first, label in grid.leads():
        value = grid.rows[r][lead]
        assert lead == min(c for c in grid.rows[r])
        if isinstance(value, str):
            digits += value.isdigit() and value.isascii()
            kind = L._text_kind.__wrapped__(value)
            assert (first, label) == (L._first_text.__wrapped__(value), kind[0] if kind else None), value
        else:
            assert (first, label) == (None, None)
    assert digits >= 50
    expected: dict[str, list] = {}
    for at, value in sheet.cells.items():
        kind = L._text_kind.__wrapped__(value) if isinstance(value, str) else None
        if kind and kind[0] is not None:
            expected.setdefault(kind[0], []).append(at)
    assert grid.by_label == expected
    wanted = frozenset(["序号", "群众反映"])
    assert L._Grid(sheet, wanted).by_label == {k: v for k, v in expected.items() if k in wanted}


def test_grid_rows_are_the_sheets_cells_by_row_without_blanks(tmp_path, specs):
    """_Grid shares the reader's rows, copying only rows that hold blank texts, error cells or
    uncalculated formulas: same rows as built from Sheet.cells cell by cell."""
    import openpyxl

    from zhenggai_xls import locate as L
    from zhenggai_xls.read import Sheet
    wb = openpyxl.load_workbook(_ledger_with_other_forms_labels(tmp_path, specs).path)
    ws = wb.active
    # A blank text (ideographic spaces survive the XML), a formula, an error; a row holding only a
    # blank text; an error right of the table.
    ws["B8"], ws["C9"], ws["D10"], ws["A70"], ws["K12"] = "\u3000\u3000", "=SUM(A1,1)", "#DIV/0!", "\u3000", "#REF!"
    wb.save(tmp_path / "改.xlsx")
    sheet = read_workbook(tmp_path / "改.xlsx").sheets[0]
    assert sheet.errors and sheet.formulas_without_value and sheet.rows[7][1] == "\u3000\u3000"
    expected: dict[int, dict[int, object]] = {}
    for (r, c), value in sheet.cells.items():
        if not (isinstance(value, str) and not value.strip()):
            expected.setdefault(r, {})[c] = value
    for r, c in sheet.errors | sheet.formulas_without_value:
        expected.setdefault(r, {}).setdefault(c, None)
    grid = L._Grid(sheet)
    assert grid.rows == expected and 69 in sheet.rows and 69 not in grid.rows
    assert sheet.rows[7] is not grid.rows[7] and sheet.rows[20] is grid.rows[20]  # untouched rows shared
    again = Sheet(sheet.name, dict(sheet.cells), sheet.merges, errors=sheet.errors,
                  formulas_without_value=sheet.formulas_without_value)
    assert again.rows == sheet.rows and L._Grid(again).rows == expected
    assert L._Grid(again).by_label == grid.by_label


def test_header_band_is_the_one_showing_most_names(tmp_path, specs):
    """_find_header skips rows that cannot beat the best band: same band as trying every row."""
    from zhenggai_xls import locate as L
    grid = L._Grid(_ledger_with_other_forms_labels(tmp_path, specs).sheets[0])
    tried = 0
    for spec in L._detectable(specs):
        m, table = L._matcher(spec), spec.table
        hits: dict[int, set[str]] = {}
        for lab in m.leaf_set | m.groups:
            for r, _ in grid.by_label.get(lab, ()):
                hits.setdefault(r, set()).add(lab)
        if not hits:
            continue
        h = table.header_depth
        best = max(sorted(hits), key=lambda top: (len(set().union(*(hits.get(r, set()) for r in range(top, top + h)))),
                                                  -top))
        assert L._find_header(grid, m, table).top == best, spec.id
        tried += len(hits) > 20  # forms whose labels are this ledger's values
    assert tried >= 2
    ex = only(locate(read_workbook(tmp_path / "台账.xlsx"), specs))
    assert ex.form == "ledger" and len(ex.rows) == 60


def test_pruned_search_chooses_what_scoring_every_form_chooses(tmp_path, specs):
    """Forms whose score bound is below the best found are not finished: same choice as finishing all,
    and no finished score ever exceeds its bound (real templates and a ledger full of other forms' labels)."""
    from zhenggai_xls import locate as L
    forms = L._detectable(specs)
    books = [read_workbook(write_template(s, tmp_path / f"{s.id}.xlsx")) for s in forms]
    books.append(_ledger_with_other_forms_labels(tmp_path, specs))
    for book in books:
        grid = L._Grid(book.sheets[0])
        everything = [L._find_form(grid, s) for s in forms]
        for s, f in zip(forms, everything):
            score, title = L._score_bound(grid, s, f.table)
            assert f.score <= score and f.title == title, s.id
        recognised = [f for f in everything if L._recognised(f)]
        pruned = L._recognised_forms(grid, forms)
        assert pruned and len(pruned) < len(forms)
        best = max(recognised, key=lambda f: (f.score, f.title))
        assert max(pruned, key=lambda f: (f.score, f.title)).spec is best.spec, book.path.name
