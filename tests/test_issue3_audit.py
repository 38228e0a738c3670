"""Issue 3 audit: every rule `validate` can emit, from a real filled template, with its id and cell.

Each case starts from a clean template filled with openpyxl (as a clerk fills it in Excel),
breaks one thing, and asserts the (rule, cell) pairs `validate_paths` reports. A final test
checks that the cases cover the whole catalogue, so a new rule cannot arrive without a test.
Also here: the fixes of the audit (numbers typed as text, feedback name clashes, messages).
"""
from __future__ import annotations

import io
import json
import shutil
import subprocess
import uuid
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import msoffcrypto
import openpyxl
import pytest
from click.testing import CliRunner
from openpyxl.cell.cell import MergedCell

from zhenggai_xls.cli import main
from zhenggai_xls.excel import METADATA_SHEET, a1, parse_a1
from zhenggai_xls.normalize import normalize_label
from zhenggai_xls.orgs import Org, OrgTree
from zhenggai_xls.problems import RULES
from zhenggai_xls.read import Limits
from zhenggai_xls.spec import load_specs
from zhenggai_xls.template import write_template
from zhenggai_xls.validate import validate_paths, write_feedback_copies

SPECS = load_specs()


# ---------------------------------------------------------------- a template filled by a clerk


class Filled:
    """A blank template of one form, filled cell by cell with openpyxl, found by its own labels."""

    def __init__(self, form: str, folder: Path, name: str | None = None):
        self.spec = SPECS[form]
        self.path = folder / (name or f"{self.spec.title}.xlsx")
        write_template(self.spec, self.path)
        self.book = openpyxl.load_workbook(self.path)
        self.ws = self.book.worksheets[0]
        meta = {r[0].value: r[1].value for r in self.book[METADATA_SHEET].iter_rows(max_col=2)}
        self.first_row = parse_a1(meta["table_data"].split(":")[0])[0]
        self.header_rows = _rows_of(meta["table_header"])
        self.columns = self._leaf_columns()

    def _merge_end(self, cell) -> tuple[int, int]:
        for m in self.ws.merged_cells.ranges:
            if m.min_row == cell.row and m.min_col == cell.column:
                return m.max_row, m.max_col
        return cell.row, cell.column

    def _leaf_columns(self) -> dict[str, int]:
        """Table field key -> 1-based column: the header cells reaching the header's last row, in order."""
        top, bottom = self.header_rows
        leaves = []
        for row in self.ws.iter_rows(min_row=top, max_row=bottom):
            for cell in row:
                if isinstance(cell, MergedCell) or not isinstance(cell.value, str) or cell.column == 1 and \
                        self.spec.table.section and normalize_label(cell.value) == self.spec.table.section:
                    continue
                if self._merge_end(cell)[0] >= bottom:
                    leaves.append(cell.column)
        keys = [f.key for f in self.spec.table.fields]
        assert len(leaves) == len(keys), (leaves, keys)
        return dict(zip(keys, sorted(leaves)))

    def label_cell(self, key: str):
        """The cell holding a header or line field's label."""
        names = {normalize_label(n) for n in self.spec.field(key).names}
        for row in self.ws.iter_rows(max_row=self.ws.max_row):
            for cell in row:
                if isinstance(cell.value, str) and normalize_label(cell.value) in names:
                    return cell
        raise KeyError(key)

    def cell(self, key: str, row: int | None = None) -> str:
        """A1 of where a field's value goes (row: 0-based data row of the table)."""
        if row is not None:
            return a1(self.first_row + row, self.columns[key] - 1)
        label = self.label_cell(key)
        return a1(label.row - 1, self._merge_end(label)[1])

    def put(self, key: str, value: object, row: int | None = None) -> "Filled":
        self.ws[self.cell(key, row)] = value
        return self

    def total_cell(self, key: str) -> str:
        """The template's own 合计 row (above the data rows)."""
        return a1(self.first_row - 1, self.columns[key] - 1)

    def save(self) -> Path:
        self.book.save(self.path)
        return self.path


def _rows_of(ref: str) -> tuple[int, int]:
    first, _, last = ref.partition(":")
    return parse_a1(first)[0] + 1, parse_a1(last or first)[0] + 1


def head(f: Filled, unit: str, day: datetime) -> Filled:
    return (f.put("reporting_unit", unit).put("report_date", day).put("filled_by", "王小红")
            .put("contact_phone", "023-72551234"))


def ledger(folder: Path, name: str = "整改清单.xlsx", unit: str = "清溪镇清溪村党支部") -> Filled:
    f = head(Filled("ledger", folder, name), unit, datetime(2023, 11, 18))
    for key, value in {"seq": 1, "category": "三会一课", "problem": "支委会未按月召开", "measure": "每月第一周召开",
                       "leader": "李书记", "person": "张委员", "deadline": "2023年12月底", "status": "推进中",
                       "closed": "否"}.items():
        f.put(key, value, 0)
    return f


def weekly(folder: Path, name: str = "周报.xlsx", week_end: datetime = datetime(2023, 11, 3),
           done: int = 1) -> Filled:
    f = head(Filled("weekly", folder, name), "清溪镇石桥村党支部", week_end)
    f.put("week_start", week_end - timedelta(days=6)).put("week_end", week_end)
    for i in range(5):
        f.put("problem_count", 2, i).put("done", done, i).put("in_progress", 2 - done, i).put("not_started", 0, i)
        f.put("new_done", 0, i)
    return f


def self_check(folder: Path) -> Filled:
    f = head(Filled("self_check", folder), "清溪镇桂花村党支部", datetime(2023, 10, 23))
    f.put("period_start", datetime(2023, 7, 1)).put("period_end", datetime(2023, 9, 30))
    for i in range(5):
        f.put("seq", i + 1, i).put("finding", "已对照检查", i).put("has_problem", "否", i).put("problem_count", 0, i)
    for key, value in {"congress": 1, "committee": 3, "group_meeting": 3, "lecture": 1, "minutes_complete": "是"}.items():
        f.put(key, value)
    return f


def stats(folder: Path) -> Filled:
    f = head(Filled("stats", folder), "涪陵区李渡新区党工委", datetime(2012, 6, 22))
    rows = [["李渡新区管委会机关党支部", 1, 0, 0, 0, 2, 1, 5, 0, 40, 3, 20, 5, 1, 1, 1, 1, 1, 3, 1, 1, 1, 0, 0],
            ["李渡新区物流企业党支部", 0, 1, 0, 0, 1, 0, 3, 1, 25, 2, 10, 10, 2, 2, 2, 2, 2, 2, 1, 1, 0, 0, 0]]
    for i, values in enumerate(rows):
        for key, value in zip(f.columns, values):
            if value:
                f.put(key, value, i)
    return f


def found(path: Path, **kwargs) -> list[tuple[str, str | None]]:
    (sub,) = validate_paths([path], **kwargs)
    return [(p.rule, p.cell) for p in sub.problems]


# ---------------------------------------------------------------- the clean baselines


@pytest.mark.parametrize("build", [ledger, weekly, self_check, stats])
def test_clean_filled_templates_are_valid(build, tmp_path):
    f = build(tmp_path)
    (sub,) = validate_paths([f.save()])
    assert sub.valid and not sub.problems and sub.form == f.spec.id, sub.problems
    assert sub.unit_name and len(sub.rows) >= 1


# ---------------------------------------------------------------- one case per rule


def _ledger_case(key: str, value: object, row: int = 0):
    def build(folder: Path) -> tuple[Path, list]:
        f = ledger(folder).put(key, value, row)
        return f.save(), f
    return build


CASES: dict[str, tuple] = {}


def case(rule: str, severity: str = "error"):
    def register(fn):
        CASES[rule] = (fn, severity)
        return fn
    return register


@case("value.required")
def _required(folder):
    f = ledger(folder).put("problem", None, 0)
    return f.save(), [("value.required", f.cell("problem", 0))]


@case("value.not_count")
def _not_count(folder):
    f = stats(folder).put("people_total", "很多", 0)
    return f.save(), [("value.not_count", f.cell("people_total", 0))]


@case("value.not_mark")
def _not_mark(folder):
    f = stats(folder).put("grade_good", "好", 0)
    return f.save(), [("value.not_mark", f.cell("grade_good", 0))]


@case("value.bad_choice")
def _bad_choice(folder):
    f = ledger(folder).put("status", "差不多", 0)
    return f.save(), [("value.bad_choice", f.cell("status", 0))]


@case("value.not_date")
def _not_date(folder):
    f = ledger(folder).put("done_date", "上周", 0)
    return f.save(), [("value.not_date", f.cell("done_date", 0))]


@case("value.bad_deadline")
def _bad_deadline(folder):
    f = ledger(folder).put("deadline", "尽快", 0)
    return f.save(), [("value.bad_deadline", f.cell("deadline", 0))]


@case("value.bad_phone", "warning")
def _bad_phone(folder):
    f = ledger(folder).put("contact_phone", "无")
    return f.save(), [("value.bad_phone", f.cell("contact_phone"))]


@case("value.formula_no_value")
def _formula(folder):
    f = stats(folder).put("people_total", "=J8+1", 0)  # openpyxl stores no cached result
    return f.save(), [("value.formula_no_value", f.cell("people_total", 0))]


@case("value.error_cell")
def _error_cell(folder):
    f = stats(folder).put("people_total", "#DIV/0!", 0)  # an error value (t="e")
    return f.save(), [("value.error_cell", f.cell("people_total", 0))]


@case("rule.sum")
def _sum(folder):
    f = stats(folder).put("found_total", 6, 0)
    return f.save(), [("rule.sum", f.cell("found_total", 0))]


@case("rule.at_most")
def _at_most(folder):
    f = stats(folder).put("people_total", 10, 0)
    return f.save(), [("rule.at_most", f.cell("people_total", 0))]


@case("rule.exactly_one")
def _exactly_one(folder):
    f = stats(folder).put("grade_poor", "√", 0)
    return f.save(), [("rule.exactly_one", f.cell("grade_good", 0))]


@case("rule.requires")
def _requires(folder):
    f = ledger(folder).put("measure", None, 0).put("status", "已整改", 0)
    return f.save(), [("rule.requires", f.cell("measure", 0)), ("rule.requires", f.cell("done_date", 0))]


@case("rule.not_after")
def _not_after(folder):
    f = ledger(folder).put("status", "已完成", 0).put("done_date", "2023年11月25日", 0)
    return f.save(), [("rule.not_after", f.cell("done_date", 0))]


@case("rule.frequency", "warning")
def _frequency(folder):
    f = self_check(folder).put("committee", 1)
    return f.save(), [("rule.frequency", f.cell("committee"))]


@case("table.total_mismatch")
def _total(folder):
    f = weekly(folder)
    f.ws[f.total_cell("problem_count")] = 11  # the rows add up to 10
    return f.save(), [("table.total_mismatch", f.total_cell("problem_count"))]


@case("header.missing_column")
def _missing_column(folder):
    f = ledger(folder)
    top = f.header_rows[0]
    f.ws.cell(top, f.columns["problem"], "问题说明")  # an unknown heading instead of 问题描述
    return f.save(), [("header.extra_column", a1(top - 1, f.columns["problem"] - 1)),
                      ("header.missing_column", a1(top - 1, f.columns["seq"] - 1))]


CASES["header.extra_column"] = (_missing_column, "warning")


@case("header.missing_field")
def _missing_field(folder):
    f = weekly(folder)
    f.label_cell("week_start").value = "（空）"
    return f.save(), [("header.missing_field", None)]


@case("unit.missing")
def _unit_missing(folder):
    f = ledger(folder)
    f.label_cell("reporting_unit").value = None
    return f.save(), [("unit.missing", None)]


@case("file.unfilled")
def _unfilled(folder):
    return write_template(SPECS["ledger"], folder / "空白.xlsx"), [("file.unfilled", None)]


@case("file.unknown_form")
def _unknown_form(folder):
    wb = openpyxl.Workbook()
    wb.active.append(["姓名", "年龄", "住址"])
    wb.active.append(["张三", 30, "清溪镇"])
    wb.save(folder / "通讯录.xlsx")
    return folder / "通讯录.xlsx", [("file.unknown_form", None)]


@pytest.mark.parametrize("rule", sorted(set(CASES) - {"header.extra_column"}))
def test_each_rule_from_a_real_file_with_its_cell(rule, tmp_path):
    build, severity = CASES[rule]
    path, expected = build(tmp_path)
    (sub,) = validate_paths([path])
    got = [(p.rule, p.cell) for p in sub.problems]
    assert sorted(got, key=str) == sorted(expected, key=str), [p.message for p in sub.problems]
    assert next(p for p in sub.problems if p.rule == rule).severity == severity
    assert all(p.message and "{" not in p.message for p in sub.problems)


def test_unknown_unit_points_at_the_unit_cell_and_names_the_field(tmp_path):
    tree = OrgTree([Org("1", "中共清溪镇委员会", level="区", parent=None),
                    Org("04", "清溪镇清溪村党支部", parent="1")])
    f = ledger(tmp_path, unit="清溪镇清溪村党总支部委员会")
    (sub,) = validate_paths([f.save()], orgs=tree)
    assert [(p.rule, p.cell) for p in sub.problems] == [("unit.unknown", f.cell("reporting_unit"))]
    assert sub.problems[0].message.startswith("“填报单位（盖章）”填的“清溪镇清溪村党总支部委员会”不在组织架构中")
    good = ledger(tmp_path, "好.xlsx", unit="清溪村党支部")
    (sub,) = validate_paths([good.save()], orgs=tree)
    assert sub.valid and sub.unit_code == "04"


def test_unknown_branch_row_names_its_column_not_the_reporting_unit(tmp_path):
    tree = OrgTree([Org("1", "涪陵区李渡新区党工委", level="党(工)委", parent=None),
                    Org("11", "李渡新区管委会机关党支部", parent="1")])
    f = stats(tmp_path)
    (sub,) = validate_paths([f.save()], orgs=tree)
    (p,) = sub.problems
    assert (p.rule, p.cell) == ("unit.unknown", f.cell("branch_name", 1))
    assert p.message.startswith("“党支部规范全称”填的“李渡新区物流企业党支部”不在组织架构中，请填写组织架构中的规范全称")


def test_week_to_week_rules_across_two_real_files(tmp_path):
    first = weekly(tmp_path, "第1周.xlsx", datetime(2023, 10, 27), done=1).save()
    second = weekly(tmp_path, "第2周.xlsx", datetime(2023, 11, 3), done=1)
    second.put("new_done", 1, 0)  # 已完成 did not grow
    second.put("done", 0, 1).put("in_progress", 2, 1)  # 已完成 went down: reported once, not also as a delta
    subs = {s.path.name: s for s in validate_paths([second.save(), first])}
    assert not subs["第1周.xlsx"].problems
    got = sorted((p.rule, p.cell) for p in subs["第2周.xlsx"].problems)
    assert got == [("rule.not_decreasing", second.cell("done", 1)), ("rule.weekly_delta", second.cell("new_done", 0))]
    assert {p.severity for p in subs["第2周.xlsx"].problems} == {"warning"} and subs["第2周.xlsx"].valid


def test_another_forms_file_with_form_is_wrong_form_and_says_what_to_use(tmp_path):
    path = ledger(tmp_path).save()
    (sub,) = validate_paths([path], form="weekly")
    assert sub.rejected and [(p.rule, p.cell) for p in sub.problems] == [("file.wrong_form", None)]
    assert sub.problems[0].message == "这是“整改清单”，不是要求的“整改周报表”，请用“整改周报表”的模板填写后发送。"


# ---------------------------------------------------------------- bad files: one verdict each, the others go on


def _bad_files(folder: Path, good: Path) -> dict[str, str]:
    """name -> expected rule, every kind of file that is not a readable form."""
    data = good.read_bytes()
    (folder / "空.xlsx").write_bytes(b"")
    (folder / "报告.pdf").write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    docx = io.BytesIO()
    with zipfile.ZipFile(docx, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    (folder / "说明.docx").write_bytes(docx.getvalue())
    (folder / "截断.xlsx").write_bytes(data[: len(data) // 2])
    out = io.BytesIO()
    with good.open("rb") as fh:
        msoffcrypto.OfficeFile(fh).encrypt("123456", out)
    (folder / "加密.xlsx").write_bytes(out.getvalue())
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(folder / "炸弹.xlsx", "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, bytes(64 << 20) if info.filename == "xl/worksheets/sheet1.xml"
                          else zin.read(info))
    return {"空.xlsx": "file.empty", "报告.pdf": "file.not_workbook", "说明.docx": "file.not_workbook",
            "截断.xlsx": "file.corrupt", "加密.xlsx": "file.encrypted", "炸弹.xlsx": "file.zip_bomb"}


def test_every_bad_file_kind_gets_its_rule_and_the_good_file_goes_on(tmp_path):
    good = ledger(tmp_path).save()
    junk = tmp_path / "junk"
    junk.mkdir()
    expected = _bad_files(junk, good)
    code, doc = _cli_json(str(tmp_path))
    files = {Path(f["path"]).name: f for f in doc["files"]}
    assert code == 1 and files["整改清单.xlsx"]["valid"]
    for name, rule in expected.items():
        entry = files[name]
        assert entry["rejected"] and entry["form"] is None, entry
        (p,) = entry["problems"]
        assert (p["rule"], p["cell"]) == (rule, None) and "\n" not in p["message"], p


@pytest.mark.parametrize("limits, rule, named", [
    (Limits(max_file_bytes=2048), "file.too_large", "2 KB"),
    (Limits(max_cells=50), "file.too_many_cells", "50"),
    (Limits(max_inflated_bytes=4096), "file.zip_bomb", "4 KB"),
])
def test_limits_are_configurable_and_named(limits, rule, named, tmp_path):
    path = ledger(tmp_path).save()
    (sub,) = validate_paths([path], limits=limits)
    assert sub.rejected and [(p.rule, p.cell) for p in sub.problems] == [(rule, None)]
    assert named in sub.problems[0].message


def test_hidden_data_sheet_and_thousands_of_formatted_rows(tmp_path):
    f = ledger(tmp_path, "隐藏.xlsx")
    f.ws.sheet_state = "hidden"
    f.book.create_sheet("封面", 0)["A1"] = "清溪村整改清单（见下一页）"
    f.book.active = 0
    f.save()
    g = ledger(tmp_path, "格式行.xlsx")
    fill = openpyxl.styles.PatternFill("solid", fgColor="FFFF00")
    for r in range(60, 5000):
        for c in range(1, 13):
            g.ws.cell(r, c).fill = fill
    g.save()
    subs = {s.path.name: s for s in validate_paths([f.path, g.path])}
    assert subs["隐藏.xlsx"].valid and subs["隐藏.xlsx"].sheet == "整改清单" and len(subs["隐藏.xlsx"].rows) == 1
    assert subs["格式行.xlsx"].valid and len(subs["格式行.xlsx"].rows) == 1


def test_catalogue_is_covered():
    """Every rule validate can emit has a case above (or in the tests named here)."""
    elsewhere = {"rule.not_decreasing", "rule.weekly_delta",  # test_week_to_week_rules_across_two_real_files
                 "unit.unknown",  # test_unknown_unit_points_at_the_unit_cell_and_names_the_field
                 "file.wrong_form",  # test_another_forms_file_with_form_is_wrong_form_and_says_what_to_use
                 "file.empty", "file.not_workbook", "file.corrupt", "file.encrypted", "file.zip_bomb",
                 "file.too_large", "file.too_many_cells",  # the bad-file tests
                 "file.summary"}  # test_workflow: a_summary_without_a_closing_form_is_rejected_once_not_misread
    # No form a unit submits has an e-mail field (only the org tree, which is configuration).
    submitted = [s for s in SPECS.values() if any(f.role == "unit" for f in s.fields)]
    assert not [f for s in submitted for f in s.fields if f.type == "email"]
    untested = set(RULES) - set(CASES) - elsewhere - {"value.bad_email"}
    assert not untested, f"add a case (a real file, its rule id and cell) to tests/test_issue3_audit.py for {untested}"


# ---------------------------------------------------------------- fixes of the audit


def _stats_rows_csv(path: Path, encoding: str) -> Path:
    header = ("党支部规范全称,好,较好,一般,较差,座谈会,信函,电话短信,其他,人次,两代表一委员,党外群众,"
              "合计,领导班子,党员队伍,工作机制,工作业绩,群众反映,合计,领导班子,党员队伍,工作机制,工作业绩,群众反映")
    lines = ["整改方案制定情况统计表", "填报单位：中共重庆市涪陵区百胜镇委员会,,,,,,,,,,填报日期：2012年6月21日", header,
             "百胜镇机关党支部,1,,,,1,0,2,0,20,1,5,3,1,1,1,0,0,2,1,1,0,0,0",
             "百胜镇紫竹村党支部,,1,,,1,1,0,0,15,0,3,2,1,1,0,0,0,2,1,1,0,0,0",
             "合计,1,1,0,0,2,1,2,0,35,1,8,5,2,2,1,0,0,4,2,2,0,0,0"]
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig"])
def test_csv_rows_of_numbers_typed_as_text_are_read(tmp_path, encoding):
    # A row of text "1"s once matched the column note 在相应栏内标数字“1” and was dropped as a note line.
    path = _stats_rows_csv(tmp_path / "统计表.csv", encoding)
    (sub,) = validate_paths([path])
    assert not sub.rejected and sub.valid, sub.problems
    assert sub.rows["branch_name"].tolist() == ["百胜镇机关党支部", "百胜镇紫竹村党支部"]
    assert sub.rows["_row"].tolist() == [4, 5] and sub.rows["grade_good"].tolist() == [1, 0]


def test_xlsx_cells_formatted_as_text_are_read_and_the_total_checked(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    csv_path = _stats_rows_csv(tmp_path / "src.csv", "utf-8")
    for line in csv_path.read_text(encoding="utf-8").splitlines():
        ws.append([v or None for v in line.split(",")])  # every value a string, as WPS 文本 cells
    ws["J6"] = "36"  # 人次 合计: the rows add up to 35
    wb.save(tmp_path / "文本格式.xlsx")
    (sub,) = validate_paths([tmp_path / "文本格式.xlsx"])
    assert len(sub.rows) == 2
    assert [(p.rule, p.cell) for p in sub.problems] == [("table.total_mismatch", "J6")]


def test_feedback_copies_of_files_with_the_same_name_never_overwrite(tmp_path):
    units = ["清溪镇清溪村党支部", "清溪镇石桥村党支部", "清溪镇龙泉村党支部"]
    paths = []
    for i, unit in enumerate(units):
        folder = tmp_path / "收件" / f"第{i + 1}封"
        folder.mkdir(parents=True)
        paths.append(ledger(folder, unit=unit).put("deadline", "尽快", 0).save())
    paths.append(ledger(tmp_path / "收件" / "第1封", "整改清单 .xlsx", unit=units[0]).put("deadline", "尽快", 0).save())
    subs = validate_paths(paths)
    written, notes = write_feedback_copies(subs, tmp_path / "反馈")
    assert not notes and len(written) == len(set(written)) == 4
    assert all(p.parent == tmp_path / "反馈" for p in written)
    seen = set()
    for path in written:
        ws = openpyxl.load_workbook(path)["整改清单"]
        seen.add(ws[ledger(tmp_path / "收件", "x.xlsx").cell("reporting_unit")].value)
    assert seen == set(units)


def test_spec_messages_carry_the_numbers_found(tmp_path):
    f = weekly(tmp_path).put("problem_count", 3, 1).put("new_done", 2, 2)
    (sub,) = validate_paths([f.save()])
    by_cell = {p.cell: p.message for p in sub.problems}
    assert by_cell[f.cell("problem_count", 1)] == \
        "“已完成”“正在推进”“未启动”三项之和应等于“问题数”（现“问题数”为 3，各项相加为 2）。"
    assert by_cell[f.cell("done", 2)] == "“本周新完成”不能超过“已完成”（现“本周新完成”为 2，“已完成”为 1）。"


# ---------------------------------------------------------------- LibreOffice: .xls/.ods of a ledger


def test_ledger_saved_as_xls_and_ods_reads_back_like_the_xlsx(tmp_path):
    f = ledger(tmp_path, "清单.xlsx")
    f.put("deadline", "立行立改，长期坚持", 0).put("status", "已整改", 0).put("done_date", datetime(2023, 11, 10), 0)
    rows = [("党员发展", "程序不规范", "对照细则整改", "11月17日前", "推进中", None),
            ("其他", "档案混乱", None, "尽快", "未开始", "已销号")]
    for i, (category, problem, measure, deadline, status, closed) in enumerate(rows, start=1):
        for key, value in {"seq": i + 1, "category": category, "problem": problem, "measure": measure,
                           "person": "赵委员", "deadline": deadline, "status": status, "closed": closed}.items():
            f.put(key, value, i)
    f.save()
    profile = Path("/tmp") / f"lo_profile_audit3_{uuid.uuid4().hex[:8]}"
    try:
        for fmt in ("xls", "ods"):
            subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", fmt,
                            "--outdir", str(tmp_path / "legacy"), str(f.path)], check=True, capture_output=True,
                           timeout=180)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    subs = {s.path.suffix: s for s in validate_paths([f.path, tmp_path / "legacy"])}
    base = subs[".xlsx"]
    assert base.rows["deadline_kind"].fillna("").tolist() == ["长期坚持", "date", ""]
    assert base.rows["status"].tolist() == ["已完成", "正在推进", "未启动"]
    assert sorted((p.rule, p.cell) for p in base.problems) == [
        ("rule.requires", f.cell("measure", 2)), ("rule.requires", f.cell("status", 2)),
        ("value.bad_deadline", f.cell("deadline", 2))]
    for other in (subs[".xls"], subs[".ods"]):
        assert other.header == base.header
        assert other.rows.to_dict("records") == base.rows.to_dict("records")
        assert [p.as_dict() for p in other.problems] == [p.as_dict() for p in base.problems]


# ---------------------------------------------------------------- the command


def _cli_json(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(main, ["validate", "--json", *args])
    assert "Traceback" not in result.output
    return result.exit_code, json.loads(result.stdout)


def test_cli_exit_codes_and_json_shape(tmp_path):
    good = ledger(tmp_path, "好.xlsx").save()
    code, doc = _cli_json(str(good))
    assert code == 0 and list(doc) == ["files"]
    assert list(doc["files"][0]) == ["path", "form", "unit_code", "unit_name", "valid", "rejected", "problems"]
    bad = ledger(tmp_path, "坏.xlsx").put("deadline", "尽快", 0).save()
    code, doc = _cli_json(str(bad))
    assert code == 1
    assert list(doc["files"][0]["problems"][0]) == ["sheet", "cell", "field", "value", "message", "severity", "rule"]
    usage = CliRunner().invoke(main, ["validate", "--form", "没有这张表", str(good)])
    assert usage.exit_code == 2 and "Traceback" not in usage.output


def test_terminal_report_says_how_the_unit_was_recognised(tmp_path):
    orgs = tmp_path / "orgs.csv"
    orgs.write_text("组织代码,组织名称,简称,上级组织代码,层级\n00,中共清溪镇委员会,清溪镇党委,,区\n"
                    "04,清溪镇清溪村党支部,清溪村支部,00,党支部\n", encoding="utf-8")
    ledger(tmp_path, "近似.xlsx", unit="中共清溪镇清溪村支部委员会").save()
    ledger(tmp_path, "全称.xlsx", unit="清溪镇清溪村党支部").save()
    result = CliRunner().invoke(main, ["validate", "--orgs", str(orgs), str(tmp_path / "近似.xlsx"),
                                       str(tmp_path / "全称.xlsx")])
    assert result.exit_code == 0, result.output
    assert "清溪镇清溪村党支部（04，按近似名称“中共清溪镇清溪村支部委员会”识别）" in result.output
    assert "清溪镇清溪村党支部（04，按规范全称识别）" in result.output


def test_self_check_answers_有_and_无_are_是_and_否(tmp_path):
    f = self_check(tmp_path).put("has_problem", "无", 0).put("has_problem", "有", 1).put("problem_count", 1, 1)
    f.put("problems", "发展对象培养考察记录不全", 1)
    (sub,) = validate_paths([f.save()])
    assert sub.valid and not sub.problems, sub.problems
    assert sub.rows["has_problem"].tolist()[:2] == ["否", "是"]


def test_feedback_shows_a_hidden_sheet_that_holds_problems(tmp_path):
    f = ledger(tmp_path, "隐藏.xlsx").put("deadline", "尽快", 0)
    f.ws.sheet_state = "hidden"
    f.book.create_sheet("封面", 0)["A1"] = "清溪村整改清单（见下一页）"
    f.book.active = 0
    f.save()
    written, _ = write_feedback_copies(validate_paths([f.path]), tmp_path / "反馈")
    book = openpyxl.load_workbook(written[0])
    states = {ws.title: ws.sheet_state for ws in book.worksheets}
    assert states["整改清单"] == "visible" and states[METADATA_SHEET] == "hidden"
    cell = f.cell("deadline", 0)
    assert book["整改清单"][cell].comment is not None
    assert book["问题清单"]["C2"].hyperlink.location == f"'整改清单'!{cell}"


def test_reminders_attach_each_unit_its_own_feedback_copy(tmp_path):
    from types import SimpleNamespace

    from zhenggai_xls.remind import Reminder, ReminderItem, attach_feedback

    units = {"04": "清溪镇清溪村党支部", "05": "清溪镇石桥村党支部"}
    reminders, invalid = [], []
    for code, name in units.items():
        folder = tmp_path / "收件" / code
        folder.mkdir(parents=True)
        path = ledger(folder, unit=name).put("deadline", "尽快", 0).save()  # both sent 整改清单.xlsx
        invalid.extend(validate_paths([path]))
        item = ReminderItem("ledger", "整改清单", None, None, "invalid", "未通过校验", file=path)
        reminders.append(Reminder(Org(code, name), [item]))
    attach_feedback(reminders, SimpleNamespace(invalid=invalid), tmp_path / "催报反馈表")
    cell = ledger(tmp_path, "x.xlsx").cell("reporting_unit")
    for reminder in reminders:
        (copy,) = reminder.attachments
        assert openpyxl.load_workbook(copy)["整改清单"][cell].value == reminder.org.name
    assert len({r.attachments[0] for r in reminders}) == 2
