"""`validate` end to end: real files in folders, legacy formats made by LibreOffice, junk, the wild corpus."""
from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from conftest import WILD, stats_seed_layout, write_layouts
from zhenggai_xls.cli import main
from zhenggai_xls.excel import parse_a1
from zhenggai_xls.orgs import Org, OrgTree
from zhenggai_xls.problems import RULES
from zhenggai_xls.spec import load_specs
from zhenggai_xls.template import write_template
from zhenggai_xls.validate import expand_paths, is_own_output, validate_paths


BRANCHES = [
    # name, grade (0..3), 4 forms, 3 people, found (total + 5), focus (total + 5)
    ["李渡新区党工委第一党支部", 0, [2, 1, 5, 0], [40, 3, 20], [5, 1, 1, 1, 1, 1], [3, 1, 1, 1, 0, 0]],
    ["李渡新区党工委第二党支部", 2, [1, 0, 3, 1], [25, 2, 10], [10, 2, 2, 2, 2, 2], [2, 1, 1, 0, 0, 0]],
]


def _row_values(branch: list) -> list:
    name, grade, forms, people, found, focus = branch
    return [name, *[1 if i == grade else None for i in range(4)], *forms, *people, *found, *focus]


def fill_stats_template(path: Path, branches=BRANCHES, unit="涪陵区李渡新区党工委") -> Path:
    """The blank 统计表 template, filled in with openpyxl as a clerk would in Excel."""
    write_template(load_specs()["stats"], path)
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    meta = {r[0].value: r[1].value for r in wb["_zhenggai"].iter_rows(max_col=2)}
    first_row, first_col = parse_a1(meta["table_data"].split(":")[0])
    inputs = _header_inputs(ws)
    ws[inputs["填报单位"]] = unit
    ws[inputs["填报日期"]] = datetime(2012, 6, 22)
    ws[inputs["填报人"]] = "张三"
    ws[inputs["联系电话"]] = "023-72211234"
    for i, branch in enumerate(branches):
        for j, value in enumerate(_row_values(branch)):
            if value is not None:
                ws.cell(first_row + 1 + i, first_col + 1 + j, value)
    wb.save(path)
    return path


def _header_inputs(ws) -> dict[str, str]:
    """The input cell right of each standard header label (merged label cells skipped)."""
    merged = {m.coord.split(":")[0]: m for m in ws.merged_cells.ranges}
    out = {}
    for row in ws.iter_rows(max_row=6):
        for cell in row:
            if isinstance(cell.value, str):
                label = cell.value.rstrip("：:")
                key = next((k for k in ("填报单位", "填报日期", "填报人", "联系电话") if label.startswith(k)), None)
                if key and key not in out:
                    end = merged[cell.coordinate].max_col if cell.coordinate in merged else cell.column
                    out[key] = ws.cell(cell.row, end + 1).coordinate
    return out


def soffice_convert(files: list[Path], fmt: str, out_dir: Path) -> None:
    """Convert files with LibreOffice headless, in one call, with a profile of our own."""
    profile = Path("/tmp") / f"lo_profile_validate_{uuid.uuid4().hex[:8]}"
    try:
        subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", fmt,
                        "--outdir", str(out_dir), *map(str, files)], check=True, capture_output=True, timeout=180)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def inbox(tmp_path_factory) -> Path:
    """A folder as units send it back: clean, messy, legacy formats, junk and our own outputs."""
    root = tmp_path_factory.mktemp("inbox")
    legacy = root / "旧格式"
    legacy.mkdir()
    fill_stats_template(root / "模板填报.xlsx")
    shutil.copy(root / "模板填报.xlsx", legacy / "模板填报.xlsx")
    soffice_convert([legacy / "模板填报.xlsx"], "xls", legacy)
    soffice_convert([legacy / "模板填报.xlsx"], "ods", legacy)
    (legacy / "模板填报.xlsx").unlink()
    messy = [["李渡新区党工委第一党支部", "√", None, None, None, 1, "２", 3, 0, 40, 2, "１５",
              6, 1, 1, 1, 1, 1, 3, 1, 1, 1, 0, 0]]  # 问题梳理合计 6 ≠ 5
    write_layouts(root / "手工填报.xlsx", [stats_seed_layout(rows=messy)])
    (root / "说明.txt").write_text("请查收附件。", encoding="utf-8")
    (root / "照片.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    (root / "空文件.xlsx").write_bytes(b"")
    (root / "~$模板填报.xlsx").write_bytes(b"lock")
    (root / "收件登记.xlsx").write_bytes(b"not ours to validate")
    (root / "模板填报_反馈.xlsx").write_bytes(b"our own feedback copy")
    return root


def run_json(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(main, ["validate", "--json", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.stdout)  # stdout holds the JSON only


def by_name(doc: dict) -> dict[str, dict]:
    return {Path(f["path"]).name: f for f in doc["files"]}


# ---------------------------------------------------------------- one folder, one command


def test_a_mixed_folder_validates_in_one_command(inbox):
    code, doc = run_json(str(inbox))
    files = by_name(doc)
    assert code == 1
    assert set(files) == {"模板填报.xlsx", "模板填报.xls", "模板填报.ods", "手工填报.xlsx", "说明.txt", "照片.png",
                          "空文件.xlsx"}
    assert files["模板填报.xlsx"]["valid"] and files["模板填报.xlsx"]["form"] == "stats"
    assert files["模板填报.xls"]["valid"] and files["模板填报.ods"]["valid"]
    messy = files["手工填报.xlsx"]
    assert not messy["valid"] and not messy["rejected"]
    assert [(p["rule"], p["cell"]) for p in messy["problems"] if p["severity"] == "error"] == [("rule.sum", "O10")]
    assert files["照片.png"]["rejected"] and files["照片.png"]["problems"][0]["rule"] == "file.not_workbook"
    assert files["空文件.xlsx"]["problems"][0]["rule"] == "file.empty"
    assert files["说明.txt"]["rejected"]


def test_json_shape_is_exact(inbox):
    _, doc = run_json(str(inbox / "手工填报.xlsx"))
    assert list(doc) == ["files"]
    (entry,) = doc["files"]
    assert list(entry) == ["path", "form", "unit_code", "unit_name", "valid", "rejected", "problems"]
    assert entry["unit_name"] == "涪陵区李渡新区党工委"
    for p in entry["problems"]:
        assert list(p) == ["sheet", "cell", "field", "value", "message", "severity", "rule"]
        assert p["rule"] in RULES


def test_xls_and_ods_read_back_like_the_xlsx(inbox):
    subs = {s.path.suffix: s for s in validate_paths([inbox / "模板填报.xlsx", inbox / "旧格式"])}
    assert set(subs) == {".xlsx", ".xls", ".ods"}
    base = subs[".xlsx"]
    assert len(base.rows) == 2 and base.header["reporting_unit"] == "涪陵区李渡新区党工委"
    assert base.rows["found_total"].tolist() == [5, 10]
    for other in (subs[".xls"], subs[".ods"]):
        assert other.header == base.header
        assert other.rows.to_dict("records") == base.rows.to_dict("records")
        assert [p.as_dict() for p in other.problems] == [p.as_dict() for p in base.problems]
        assert (other.form, other.sheet, other.columns) == (base.form, base.sheet, base.columns)


def test_exit_codes(inbox, tmp_path):
    runner = CliRunner()
    clean = runner.invoke(main, ["validate", str(inbox / "模板填报.xlsx")])
    assert clean.exit_code == 0, clean.output
    assert "√" in clean.output and "整改方案制定情况统计表" in clean.output
    bad = runner.invoke(main, ["validate", str(inbox / "手工填报.xlsx")])
    assert bad.exit_code == 1 and "×" in bad.output and "O10" in bad.output
    assert runner.invoke(main, ["validate", str(tmp_path / "没有这个文件.xlsx")]).exit_code == 2
    wrong = runner.invoke(main, ["validate", "--form", "周报告", str(inbox / "模板填报.xlsx")])
    assert wrong.exit_code == 2 and "是否应为" in wrong.output and "Traceback" not in wrong.output
    empty = tmp_path / "空文件夹"
    empty.mkdir()
    assert runner.invoke(main, ["validate", str(empty)]).exit_code == 2


def test_form_option_rejects_another_form(inbox):
    code, doc = run_json("--form", "整改清单", str(inbox / "模板填报.xlsx"))
    assert code == 1
    assert doc["files"][0]["problems"][0]["rule"] == "file.wrong_form"


def test_report_heading_names_why_a_file_was_not_read_as_a_form(inbox, tmp_path):
    wrong = CliRunner().invoke(main, ["validate", "--form", "整改清单", str(inbox / "模板填报.xlsx")])
    assert wrong.exit_code == 1 and "（表单不符）" in wrong.output.splitlines()[0]
    broken = tmp_path / "坏文件.xlsx"
    broken.write_bytes(b"PK\x03\x04" + b"\0" * 200)
    out = CliRunner().invoke(main, ["validate", str(broken)]).output
    assert "（文件已损坏）" in out.splitlines()[0] and "未识别表单" not in out


def test_own_outputs_and_lock_files_are_skipped(inbox):
    names = {p.name for p in expand_paths([inbox])}
    assert "~$模板填报.xlsx" not in names and "收件登记.xlsx" not in names and "模板填报_反馈.xlsx" not in names
    assert is_own_output(Path(".DS_Store")) and not is_own_output(Path("反馈意见.xlsx"))
    assert is_own_output(Path("Thumbs.db")) and is_own_output(Path("desktop.ini"))  # Windows' folder files


def test_feedback_copies_for_files_with_problems(inbox, tmp_path):
    before = (inbox / "手工填报.xlsx").read_bytes()
    result = CliRunner().invoke(main, ["validate", "--json", "--feedback", str(tmp_path / "反馈"), str(inbox)])
    assert result.exit_code == 1 and json.loads(result.stdout)["files"]
    written = {p.name for p in (tmp_path / "反馈").rglob("*.xlsx")}
    assert "手工填报_反馈.xlsx" in written
    assert not {"照片_反馈.xlsx", "空文件_反馈.xlsx", "模板填报_反馈.xlsx"} & written  # not workbooks / valid
    assert (inbox / "手工填报.xlsx").read_bytes() == before
    book = openpyxl.load_workbook(tmp_path / "反馈" / "手工填报_反馈.xlsx")
    assert book.sheetnames[0] == "问题清单"
    assert book["统计表"]["O10"].comment is not None


# ---------------------------------------------------------------- blank templates


def test_blank_template_is_unfilled(tmp_path):
    blank = write_template(load_specs()["ledger"], tmp_path / "整改清单.xlsx")
    (sub,) = validate_paths([blank])
    assert sub.rejected and sub.form == "ledger" and [p.rule for p in sub.problems] == ["file.unfilled"]
    assert "空白模板" in sub.problems[0].message


def test_only_header_lines_filled_is_unfilled_and_says_so(tmp_path):
    path = fill_stats_template(tmp_path / "统计表.xlsx", branches=[])
    (sub,) = validate_paths([path])
    assert sub.rejected and [p.rule for p in sub.problems] == ["file.unfilled"]
    assert "只填写了表头" in sub.problems[0].message
    assert sub.unit_name == "涪陵区李渡新区党工委"


# ---------------------------------------------------------------- the unit and the period


@pytest.fixture
def tree() -> OrgTree:
    return OrgTree([
        Org("1", "中共重庆市涪陵区委员会", level="区", parent=None),
        Org("11", "涪陵区李渡新区党工委", aliases=("李渡党工委",), level="党(工)委", parent="1"),
        Org("111", "李渡新区党工委第一党支部", parent="11"),
        Org("112", "李渡新区党工委第二党支部", parent="11"),
    ])


def test_unit_and_branch_rows_recognised_with_the_org_tree(tmp_path, tree):
    path = fill_stats_template(tmp_path / "统计表.xlsx",
                               branches=[BRANCHES[0], ["李渡新区党工委第九党支部", *BRANCHES[1][1:]]])
    (sub,) = validate_paths([path], orgs=tree)
    assert (sub.unit_code, sub.unit_basis) == ("11", "name")
    assert sub.rows["_unit"].tolist()[0] == "111" and sub.rows["_unit"].isna().tolist()[1]
    unknown = [p for p in sub.problems if p.rule == "unit.unknown"]
    assert len(unknown) == 1 and unknown[0].value == "李渡新区党工委第九党支部"
    assert unknown[0].cell == f"{sub.columns['branch_name']}{sub.rows['_row'][1]}"


def test_unknown_and_missing_unit(tmp_path, tree):
    unknown = fill_stats_template(tmp_path / "a.xlsx", branches=BRANCHES[:1], unit="涪陵区某某党委")
    (sub,) = validate_paths([unknown], orgs=tree)
    assert sub.unit_code is None and [p.rule for p in sub.problems] == ["unit.unknown"]
    assert "某某党委" in sub.problems[0].message
    missing = fill_stats_template(tmp_path / "b.xlsx", branches=BRANCHES[:1], unit=None)
    (sub,) = validate_paths([missing])
    assert any(p.rule in ("unit.missing", "value.required") and p.field == "填报单位（盖章）" for p in sub.problems)
    assert sum(p.field == "填报单位（盖章）" for p in sub.problems) == 1  # never reported twice


def test_without_org_tree_the_typed_name_is_kept(tmp_path):
    (sub,) = validate_paths([fill_stats_template(tmp_path / "a.xlsx", unit="随便写的党委")])
    assert sub.unit_name == "随便写的党委" and sub.unit_code is None and sub.valid


def test_metadata_unit_code_wins(tmp_path, tree):
    path = fill_stats_template(tmp_path / "a.xlsx", unit="写错的名字")
    wb = openpyxl.load_workbook(path)
    meta = wb["_zhenggai"]
    meta.append(["unit_code", "11"])
    wb.save(path)
    (sub,) = validate_paths([path], orgs=tree)
    assert (sub.unit_code, sub.unit_name, sub.unit_basis) == ("11", "涪陵区李渡新区党工委", "metadata")
    assert not [p for p in sub.problems if p.rule.startswith("unit.")]


def test_weekly_period_is_the_friday_of_the_week(tmp_path):
    cells = {"A1": "整改周报表", "A2": "填报单位（盖章）：一村党支部", "E2": "填报日期：2023-11-02",
             "A3": "本周起始日期", "B3": datetime(2023, 10, 28), "E3": "本周截止日期", "F3": datetime(2023, 11, 1),
             "A5": "整改内容", "B5": "问题数", "C5": "已完成", "D5": "正在推进", "E5": "未启动", "F5": "本周新完成",
             "A6": "党务业务培训", "B6": 2, "C6": 1, "D6": 1, "E6": 0, "F6": 1}
    path = write_layouts(tmp_path / "周报.xlsx", [("周报", cells, [])])
    (sub,) = validate_paths([path])
    assert sub.form == "weekly" and sub.period == "2023-11-03"


# ---------------------------------------------------------------- the wild


def test_every_wild_file_gets_a_verdict_without_traceback(tmp_path):
    copy = shutil.copytree(WILD, tmp_path / "wild")
    expected = {str(p) for p in expand_paths([copy])}
    assert len(expected) >= 100
    code, doc = run_json(str(copy))
    assert code in (0, 1)
    assert {f["path"] for f in doc["files"]} == expected
    for f in doc["files"]:
        assert f["valid"] or f["problems"], f
        assert all(p["rule"] in RULES and p["message"] for p in f["problems"]), f


def test_a_file_that_breaks_validation_does_not_stop_the_batch(tmp_path, monkeypatch):
    import zhenggai_xls.validate as v

    good = fill_stats_template(tmp_path / "好.xlsx")
    bad = fill_stats_template(tmp_path / "坏.xlsx", unit="会出错的党委")
    real = v.validate_extracts

    def fragile(spec, extracts, ctx=None):
        if any(ex.path == bad for ex in extracts):
            if len(extracts) == 1:
                raise ValueError("boom")
            raise ValueError("batch boom")
        return real(spec, extracts, ctx)

    monkeypatch.setattr(v, "validate_extracts", fragile)
    subs = {s.path.name: s for s in validate_paths([good, bad])}
    assert subs["好.xlsx"].valid
    assert subs["坏.xlsx"].rejected and subs["坏.xlsx"].problems[0].rule == "file.corrupt"


def test_a_report_in_a_legacy_code_page_never_stops_on_a_character(inbox, tmp_path):
    """Chinese Windows writes redirected output in GBK: a file name holding a character GBK lacks
    (a rare name character) is shown with ?, and the marks are GBK's √ and ×."""
    import os
    import shutil
    import subprocess
    import sys

    rare = shutil.copy(inbox / "模板填报.xlsx", tmp_path / "𠅤家湾村党支部.xlsx")
    done = subprocess.run([sys.executable, "-m", "zhenggai_xls.cli", "validate", str(rare)], capture_output=True,
                          env={**os.environ, "PYTHONIOENCODING": "gbk"})
    assert done.returncode == 0 and b"Traceback" not in done.stderr, done.stderr.decode("gbk", "replace")
    report = done.stdout.decode("gbk")
    assert report.startswith("√ ") and "?家湾村党支部.xlsx" in report
