"""`zhenggai demo`: a campaign folder, a realistic inbox, its roll-up and the summary workbook."""
from __future__ import annotations

import os
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from zhenggai_xls.cli import main
from zhenggai_xls.demo import SUMMARY_FILE, as_of, build_demo
from zhenggai_xls.rollup import rollup_inbox
from zhenggai_xls.validate import validate_paths


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """`zhenggai demo DIR` run once through the CLI."""
    folder = tmp_path_factory.mktemp("demo") / "演示"
    result = CliRunner().invoke(main, ["demo", str(folder)])
    return folder, result


ROOT = Path(__file__).resolve().parent.parent


def test_demo_command_writes_the_campaign_and_the_workbook(demo_run):
    folder, run = demo_run
    assert run.exit_code == 0, run.output
    assert (folder / "campaign.yaml").is_file() and (folder / "orgs.xlsx").is_file()
    assert "汇总表" in run.output and str(folder / SUMMARY_FILE) in run.output
    assert "应报" in run.output and "逾期" in run.output
    wb = openpyxl.load_workbook(folder / SUMMARY_FILE)
    kinds = [row[4] for row in wb["逾期事项"].iter_rows(min_row=4, values_only=True)]
    counts = "，".join(f"{kind} {kinds.count(kind)}" for kind in ("逾期未完成", "逾期完成", "临期", "长期坚持"))
    assert f"逾期事项：{counts}；" in run.output  # each kind as many as the sheet lists, none counted as overdue
    assert {"封面", "整改方案制定情况统计表", "整改清单", "报送情况", "逾期事项", "未通过校验与被替代", "来源"} <= set(wb.sheetnames)


def test_demo_inbox_has_every_case(demo_run):
    """Late, missing, invalid, superseded, junk, a conflict and overdue items all show up in the roll-up."""
    folder, _ = demo_run
    subs = validate_paths([folder / "inbox"])
    rejected = [s.path.suffix for s in subs if s.rejected]
    assert ".docx" in rejected and ".txt" in rejected
    assert {p.rule for s in subs for p in s.problems if p.severity == "error"} >= {
        "rule.sum", "rule.requires", "table.total_mismatch", "file.not_workbook"}
    wb = openpyxl.load_workbook(folder / SUMMARY_FILE)
    statuses = [row[5] for row in wb["报送情况"].iter_rows(min_row=4, values_only=True)]
    assert {"按时报送", "未报送", "未通过校验"} <= set(statuses)
    assert any(str(s).startswith("逾期报送") for s in statuses)
    rows = list(wb["逾期事项"].iter_rows(min_row=4, values_only=True))
    overdue = [row[4] for row in rows]
    assert {"逾期未完成", "逾期完成", "临期", "长期坚持"} <= set(overdue)
    apart = [row[0] for row in rows].index("长期坚持的事项（不计逾期，单独列出）")  # listed apart, below the rest
    assert "长期坚持" not in overdue[:apart] and set(overdue[apart + 2:]) == {"长期坚持"}
    rejected_sheet = [c for row in wb["未通过校验与被替代"].iter_rows(values_only=True) for c in row if c]
    assert any("修改后" in str(c) for c in rejected_sheet)  # the resend replaced the first version
    assert "征求意见情况/对象/人次" in rejected_sheet  # the committee copied one figure differently


def test_demo_is_deterministic(demo_run, tmp_path):
    """Seeded contents and fixed received times: a second demo gives the same workbook content."""
    folder, _ = demo_run
    again = build_demo(tmp_path / "again")
    with zipfile.ZipFile(folder / SUMMARY_FILE) as a, zipfile.ZipFile(again.workbook) as b:
        for name in a.namelist():
            if name.startswith("xl/worksheets/") or name == "xl/sharedStrings.xml":
                assert a.read(name) == b.read(name), name
    first = rollup_inbox(folder / "inbox", folder, as_of=as_of(2012))
    assert again.result.as_json()["forms"] == first.as_json()["forms"]


def test_demo_refuses_a_folder_in_use_but_rebuilds_its_own(tmp_path):
    other = tmp_path / "mine"
    other.mkdir()
    (other / "工作记录.xlsx").write_bytes(b"keep me")
    run = CliRunner().invoke(main, ["demo", str(other)])
    assert run.exit_code == 2
    assert "不是空的" in run.output and "Traceback" not in run.output
    assert (other / "工作记录.xlsx").read_bytes() == b"keep me"

    folder = tmp_path / "demo"
    for _ in range(2):  # the README's first command may be run again
        run = CliRunner().invoke(main, ["demo", str(folder)])
        assert run.exit_code == 0, run.output
    assert (folder / SUMMARY_FILE).is_file()
    assert not (folder / "inbox" / "inbox").exists()
    blanks = sorted(p.name for p in (folder / "全部空白模板").glob("*.xlsx"))
    assert blanks == sorted(p.name for p in (ROOT / "templates_xlsx").glob("*.xlsx")) and len(blanks) == 6


@pytest.mark.skipif(os.name != "posix", reason="permission bits are POSIX")
def test_outputs_get_the_permissions_of_any_new_file(demo_run):
    folder, _ = demo_run
    umask = os.umask(0o022)
    os.umask(umask)
    written = [folder / SUMMARY_FILE, folder / "campaign.yaml", folder / "orgs.xlsx", *folder.glob("templates/*.xlsx")]
    modes = {path.name: oct(path.stat().st_mode & 0o777) for path in written}
    assert set(modes.values()) == {oct(0o666 & ~umask)}, modes  # not owner-only, as mkstemp makes them
