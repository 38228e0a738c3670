"""Normalising values as clerks type them: one test per case of DESIGN §2 / issue 3 item 4."""
from datetime import date, datetime

import pytest
from hypothesis import given, strategies as st
from openpyxl import Workbook
from python_calamine import CalamineWorkbook

from zhenggai_xls.normalize import (Context, Deadline, normalize_cell, normalize_column, normalize_label,
                                    typed_text)
from zhenggai_xls.spec import load_specs
from zhenggai_xls.submission import RawCell

SPECS = load_specs()
STATS, LEDGER, FILING, SELF_CHECK, ORGS = (SPECS[k] for k in ("stats", "ledger", "filing", "self_check", "orgs"))
COUNT = STATS.field("found_total")
MARK = STATS.field("grade_good")
STATUS = LEDGER.field("status")
DEADLINE = LEDGER.field("deadline")
DONE_DATE = LEDGER.field("done_date")
PHONE = LEDGER.field("contact_phone")
EMAIL = ORGS.field("email")
CTX = Context(year=2023)


def norm(field, value, ctx=CTX, **flags):
    return normalize_cell(field, RawCell(value, "D7", **flags), ctx)


def ok(field, value, ctx=CTX):
    found, problem = norm(field, value, ctx)
    assert problem is None, problem
    return found


def rule(field, value, ctx=CTX):
    found, problem = norm(field, value, ctx)
    assert problem is not None, f"{value!r} gave {found!r} without a problem"
    assert problem.cell == "D7" and problem.field == field.full_label
    return problem.rule


# ---------------------------------------------------------------- everything


def test_label_normalising_is_unchanged():
    assert normalize_label("“两代表一委员”：") == "两代表一委员"
    assert normalize_label("合 计（条）") == "合计(条)"


@pytest.mark.parametrize("value", ["", "   ", "\u3000\u3000", None])
def test_blank_is_none_for_text_date_choice(value):
    for field in (LEDGER.field("problem"), DONE_DATE, STATUS, DEADLINE, PHONE):
        assert norm(field, value) == (None, None)


def test_text_is_trimmed_but_keeps_chinese_punctuation():
    assert ok(LEDGER.field("problem"), "\u3000会议记录不全，内容简单。 ") == "会议记录不全，内容简单。"
    assert ok(LEDGER.field("seq"), 3.0) == "3"


def test_code_is_nfkc():
    assert ok(ORGS.field("code"), "ＤＷ０１ ") == "DW01"
    assert ok(ORGS.field("code"), 101.0) == "101"


# ---------------------------------------------------------------- counts


@pytest.mark.parametrize("value, expected", [
    (12.0, 12), (0.0, 0), ("12", 12), ("１２", 12), (" 3 ", 3), ("\u30003\u3000", 3), ("3.0", 3), ("3次", 3),
    ("1,200", 1200), (7, 7),
])
def test_count_accepts_numbers_as_typed(value, expected):
    assert ok(COUNT, value) == expected


@pytest.mark.parametrize("value", ["3.5", 3.5, "-1", -1.0, "三", "若干", True])
def test_count_rejects_non_counts(value):
    assert rule(COUNT, value) == "value.not_count"


def test_blank_count_is_zero_or_required():
    assert ok(COUNT, None) == 0
    assert ok(COUNT, " ") == 0
    assert rule(COUNT, None, Context(blank_count_is_zero=False)) == "value.required"


# ---------------------------------------------------------------- marks


@pytest.mark.parametrize("value", [1.0, "1", "√", "✓", "✔", "○", "是", "Y", "y", "１"])
def test_mark_ticks_are_one(value):
    assert ok(MARK, value) == 1


def test_mark_blank_is_zero_and_others_fail():
    assert ok(MARK, None) == 0
    assert ok(MARK, 0.0) == 0
    for value in ("2", 2.0, "x", "好", "×"):
        assert rule(MARK, value) == "value.not_mark"


def test_mark_on_a_summary_holds_counts():
    summary = Context(year=2023, summary=True)
    assert ok(MARK, 7.0, summary) == 7
    assert ok(MARK, "√", summary) == 1
    assert rule(MARK, "x", summary) == "value.not_mark"


# ---------------------------------------------------------------- choices


@pytest.mark.parametrize("value, expected", [
    ("已完成", "已完成"), ("已整改", "已完成"), (" 整改中 ", "正在推进"), ("推进中", "正在推进"),
    ("未开始", "未启动"), ("“已完成”", "已完成"),
])
def test_choice_synonyms_map_to_the_value(value, expected):
    assert ok(STATUS, value) == expected


def test_choice_is_case_insensitive_and_nfkc():
    level = ORGS.field("level")
    assert ok(level, "党（工）委") == "党(工)委"
    assert ok(level, "党工委") == "党(工)委"


def test_bad_choice_lists_the_choices():
    found, problem = norm(STATUS, "差不多了")
    assert found is None and problem.rule == "value.bad_choice"
    assert "已完成、正在推进、未启动" in problem.message and problem.value == "差不多了"


# ---------------------------------------------------------------- dates


@pytest.mark.parametrize("value, expected", [
    (datetime(2023, 11, 15, 0, 0), date(2023, 11, 15)),
    (date(2023, 11, 15), date(2023, 11, 15)),
    (45245.0, date(2023, 11, 15)),  # Excel serial, 1900 system
    ("2023年12月31日", date(2023, 12, 31)),
    ("2023.12.31", date(2023, 12, 31)),
    ("2023/12/31", date(2023, 12, 31)),
    ("2023-12-31", date(2023, 12, 31)),
    ("２０２３年１２月３１日", date(2023, 12, 31)),
    ("2023年12月", date(2023, 12, 1)),
    ("12月31日", date(2023, 12, 31)),
    ("12-31", date(2023, 12, 31)),
    ("12月31号", date(2023, 12, 31)),
    ("12月底", date(2023, 12, 31)),
    ("2月末", date(2023, 2, 28)),
    ("10月25日前", date(2023, 10, 25)),
    ("20xx年10月25日前", date(2023, 10, 25)),
    ("2023年12月底", date(2023, 12, 31)),
    ("20231231", date(2023, 12, 31)),
])
def test_dates_as_typed(value, expected):
    assert ok(DONE_DATE, value) == expected


def test_year_comes_from_the_context():
    assert ok(DONE_DATE, "3月5日", Context(year=2024)) == date(2024, 3, 5)
    assert ok(DONE_DATE, "3月5日", Context(as_of=date(2019, 6, 1))) == date(2019, 3, 5)


@pytest.mark.parametrize("value", ["下周", "2023-02-30", "13月1日", 12.0, "2023年", "去年年底"])
def test_not_dates(value):
    assert rule(DONE_DATE, value) == "value.not_date"


# ---------------------------------------------------------------- deadlines


@pytest.mark.parametrize("value, expected", [
    ("立行立改", Deadline(None, "立行立改")),
    ("长期坚持", Deadline(None, "长期坚持")),
    ("立行立改，长期坚持", Deadline(None, "长期坚持")),
    ("长期坚持、立行立改", Deadline(None, "长期坚持")),
    ("立行立改 长期坚持", Deadline(None, "长期坚持")),
    ("立行立改并长期坚持", Deadline(None, "长期坚持")),
    ("2023年12月底", Deadline(date(2023, 12, 31), "date")),
    ("2023年12月", Deadline(date(2023, 12, 31), "date")),  # a month as a deadline: its last day
    ("11月17日前", Deadline(date(2023, 11, 17), "date")),
    ("20xx年10月25日前", Deadline(date(2023, 10, 25), "date")),
    (datetime(2023, 12, 31), Deadline(date(2023, 12, 31), "date")),
    (45291.0, Deadline(date(2023, 12, 31), "date")),
])
def test_deadlines(value, expected):
    assert ok(DEADLINE, value) == expected


@pytest.mark.parametrize("value", ["尽快", "立行立改，尽快", "年底前后", "长期"])
def test_bad_deadlines(value):
    assert rule(DEADLINE, value) == "value.bad_deadline"


# ---------------------------------------------------------------- phone, e-mail


@pytest.mark.parametrize("value", ["023-72345678", "13800000000", 13800000000.0, "+86 138 0000 0000",
                                   "（023）7234567", "7234567", "023-72345678转8012", "13800000000/023-72345678"])
def test_phones(value):
    assert norm(PHONE, value)[1] is None


@pytest.mark.parametrize("value", ["123", "电话", "1380000000012345", "138-0000-000a"])
def test_bad_phone_is_a_warning_that_keeps_the_value(value):
    found, problem = norm(PHONE, value)
    assert problem.rule == "value.bad_phone" and problem.severity == "warning"
    assert found is not None


def test_email():
    assert ok(EMAIL, " dw01@example.com ") == "dw01@example.com"
    assert ok(EMAIL, "ｄｗ@ｅｘａｍｐｌｅ.cn") == "dw@example.cn"
    for value in ("dw01", "dw@", "dw@example", "a b@example.com"):
        assert rule(EMAIL, value) == "value.bad_email"


# ---------------------------------------------------------------- formulas and error cells


def test_formula_without_value_and_error_cells_are_never_blank():
    found, problem = norm(COUNT, None, formula_without_value=True)
    assert found is None and problem.rule == "value.formula_no_value"
    found, problem = norm(COUNT, "#DIV/0!", error=True)
    assert found is None and problem.rule == "value.error_cell" and problem.value == "#DIV/0!"
    found, problem = norm(DONE_DATE, "", error=True)
    assert problem.rule == "value.error_cell"


# ---------------------------------------------------------------- typed text


@pytest.mark.parametrize("value, text", [
    (3.0, "3"), (3.5, "3.5"), (12.31, "12.31"), (datetime(2023, 11, 15), "2023-11-15"),
    (datetime(2023, 11, 15, 9, 30), "2023-11-15 09:30"), (date(2023, 11, 15), "2023-11-15"),
    (" 三 ", " 三 "), (None, ""), (True, "TRUE"),
])
def test_typed_text(value, text):
    assert typed_text(value) == text


def test_problem_value_is_the_typed_text_not_the_coerced_value():
    assert norm(COUNT, 3.5)[1].value == "3.5"
    assert norm(MARK, 2.0)[1].value == "2"


# ---------------------------------------------------------------- the column path


def test_column_path_gives_the_same_as_cell_by_cell():
    values = [1.0, None, "２", "x", 3.5, datetime(2023, 1, 2), "", "   "]
    for field in (COUNT, MARK, DONE_DATE, LEDGER.field("problem"), STATUS, DEADLINE, PHONE):
        raws = [RawCell(v, f"A{i + 1}") for i, v in enumerate(values)] + [None]
        column, problems = normalize_column(field, raws, CTX)
        for i, raw in enumerate(raws[:-1]):
            expected, problem = normalize_cell(field, raw, CTX)
            assert column[i] == expected, (field.key, raw)
            assert (problems.get(i) or None) == problem, (field.key, raw)
        assert column[-1] is None and len(raws) - 1 not in problems


@given(st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-5, 10**6),
                 st.text(max_size=6), st.none(), st.dates()))
def test_column_path_matches_cell_path_for_any_value(value):
    for field in (COUNT, MARK, DONE_DATE, LEDGER.field("problem")):
        raw = RawCell(value, "A1")
        assert normalize_column(field, [raw], CTX)[0][0] == normalize_cell(field, raw, CTX)[0]


def test_each_position_can_have_its_own_context():
    raws = [RawCell("3月5日", "A1"), RawCell("3月5日", "A2")]
    values, _ = normalize_column(DONE_DATE, raws, CTX, [Context(year=2022), Context(year=2024)])
    assert values == [date(2022, 3, 5), date(2024, 3, 5)]


# ---------------------------------------------------------------- values as calamine reads them


def test_values_read_back_by_calamine_normalise(tmp_path):
    path = tmp_path / "typed.xlsx"
    wb = Workbook()
    ws = wb.active
    ws.append(["１２", 12, 3.5, "12月底", datetime(2023, 11, 15), "立行立改，长期坚持", "√", 13800000000])
    ws["I1"] = 45245
    ws["I1"].number_format = "yyyy-mm-dd"
    wb.save(path)
    row = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()[0]
    cells = [RawCell(v if v != "" else None, f"{chr(65 + i)}1") for i, v in enumerate(row)]
    assert normalize_cell(COUNT, cells[0], CTX) == (12, None)
    assert normalize_cell(COUNT, cells[1], CTX) == (12, None)
    assert normalize_cell(COUNT, cells[2], CTX)[1].value == "3.5"
    assert normalize_cell(DONE_DATE, cells[3], CTX)[0] == date(2023, 12, 31)
    assert normalize_cell(DONE_DATE, cells[4], CTX)[0] == date(2023, 11, 15)
    assert normalize_cell(DEADLINE, cells[5], CTX)[0] == Deadline(None, "长期坚持")
    assert normalize_cell(MARK, cells[6], CTX)[0] == 1
    assert normalize_cell(PHONE, cells[7], CTX) == ("13800000000", None)
    assert normalize_cell(DONE_DATE, cells[8], CTX)[0] == date(2023, 11, 15)


# ---------------------------------------------------------------- the by-value path on real files


def _messy_files(folder):
    """Ledgers and 统计表s typed every which way, years from different report dates, booleans,
    numbers as 1 and as TRUE in one column, a formula never calculated, values failing in several files."""
    from openpyxl import load_workbook

    from zhenggai_xls.demo import write_filled

    folder.mkdir()
    ledger = [
        {"seq": "1", "category": "领导班子", "problem": "学习不够经常", "deadline": "12月底", "status": "已完成",
         "done_date": "3月5日", "closed": "是", "remark": "  "},
        {"seq": 2, "category": "党员队伍", "problem": "学习不够经常", "deadline": "立行立改，长期坚持",
         "status": "推进中", "done_date": date(2022, 12, 1), "closed": "Y"},
        {"seq": "３", "problem": "制度不健全", "deadline": date(2023, 1, 31), "status": "不知道",
         "done_date": "2023-13-01", "closed": "否"},
        {"seq": "4", "problem": "台账不全", "deadline": "2023.6", "status": "未启动", "done_date": "3月5日"},
    ]
    paths = []
    for i, day in enumerate((date(2022, 11, 18), date(2024, 1, 10), date(2022, 11, 20))):
        head = {"reporting_unit": f"第{i + 1}党支部", "report_date": day, "filled_by": "张三",
                "contact_phone": "13900000000" if i else "电话"}
        paths.append(write_filled(SPECS["ledger"], folder / f"l{i}_清单.xlsx", head, ledger))
    stats = [{"branch_name": "第一党支部", "grade_good": 1, "found_total": "１２", "found_leadership": 3,
              "found_members": "3次", "found_mechanism": 3.5, "focus_total": " "},
             {"branch_name": "第二党支部", "grade_good": "√", "found_total": 2, "found_leadership": "x"}]
    for i in range(2):
        head = {"reporting_unit": "某党委", "report_date": date(2023, 6, 20), "filled_by": "李四",
                "contact_phone": "023-72211234"}
        paths.append(write_filled(STATS, folder / f"s{i}_统计表.xlsx", head, stats))
    book = load_workbook(paths[-1])  # a boolean beside numbers, a formula saved without its value
    sheet = book.worksheets[0]
    for row in sheet.iter_rows():
        for cell in row:
            if cell.value == "√":
                cell.value = True
            elif cell.value == "x":
                cell.value = "=1/0"
    book.save(paths[-1])
    book = load_workbook(paths[1])
    for row in book.worksheets[0].iter_rows():
        for cell in row:
            if cell.value == "推进中":
                cell.value = True  # a boolean typed as a status
    book.save(paths[1])
    return paths


def _outcome(subs):
    from zhenggai_xls.validate import report_json

    return report_json(subs), [(s.header, s.rows.astype(object).to_dict("split"),
                                {c: str(t) for c, t in s.rows.dtypes.items()}) for s in subs]


def test_by_value_path_gives_what_cell_by_cell_gives_on_real_files(tmp_path, monkeypatch):
    from zhenggai_xls import normalize
    from zhenggai_xls.validate import validate_paths

    paths = _messy_files(tmp_path / "inbox")
    used = []
    by_value = normalize._by_distinct_value

    def spy(*args):
        found = by_value(*args)
        used.append(found is not None)
        return found

    monkeypatch.setattr(normalize, "_by_distinct_value", spy)
    fast = validate_paths(paths, workers=1)
    monkeypatch.setattr(normalize, "_by_distinct_value", lambda *args: None)  # cell by cell only
    slow = validate_paths(paths, workers=1)
    assert _outcome(fast) == _outcome(slow)
    assert any(used) and not all(used)  # both paths taken: a boolean among numbers falls back
    rules = {p.rule for s in fast for p in s.problems}
    assert {"value.not_date", "value.bad_choice", "value.not_count", "value.formula_no_value"} <= rules
    done = [s.rows["done_date"].iloc[0] for s in fast if s.form == "ledger"]
    assert [d.year for d in done] == [2022, 2024, 2022]  # "3月5日": each file's own year
