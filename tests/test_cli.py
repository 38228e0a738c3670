"""A wrong command line is answered in Chinese, with what to type instead (click's own words never show)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from zhenggai_xls.cli import main
from zhenggai_xls.status import display_width

ENGLISH = ("Error:", "Usage:", "Try '", "Invalid value", "Missing", "No such", "does not exist", "Aborted")


def said(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), prog_name="zhenggai")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and not any(word in result.output for word in ENGLISH), result.output
    return result.output


@pytest.fixture
def campaign(tmp_path):
    folder = tmp_path / "活动"
    assert CliRunner().invoke(main, ["init", str(folder), "--preset", "plan-filing"]).exit_code == 0
    (folder / "inbox").mkdir()
    return folder


def test_missing_option_names_it_and_what_it_is_for(campaign):
    out = said("rollup", str(campaign / "inbox"))
    assert "缺少选项 --campaign：活动文件夹" in out and "用法见 zhenggai rollup --help" in out
    assert "缺少 INBOX（收件文件夹：各单位报回的表格所在的文件夹），请写在命令后面。" in said("status")
    assert "缺少 PATHS（要校验的表格文件或文件夹）" in said("validate")
    assert "缺少 SOURCES（从哪里收取：" in said("collect", "-o", str(campaign / "inbox"))
    assert "缺少 FOLDER（新建的活动文件夹）" in said("init", "--preset", "plan-filing")


def test_unknown_command_and_option_suggest_the_right_one(campaign):
    assert "没有 rolup 这个命令，是否应为“rollup”？" in said("rolup")
    out = said("status", str(campaign / "inbox"), "--campaign", str(campaign), "--as_of", "2012-06-25")
    assert "没有 --as_of 这个选项，是否应为“--as-of”？" in out


def test_paths_that_are_not_there_or_the_wrong_kind(campaign, tmp_path):
    assert "INBOX：找不到“没有这个文件夹”" in said("rollup", "没有这个文件夹", "--campaign", str(campaign))
    out = said("collect", str(tmp_path), "-o", str(campaign / "campaign.yaml"))
    assert "是文件，这里要写文件夹" in out


def test_bad_values_say_what_may_be_typed(campaign, tmp_path):
    out = said("rollup", str(campaign / "inbox"), "--campaign", str(campaign), "--by", "类")
    assert "--by 只能写 督导组、类型 之一" in out
    assert "--year 要写整数" in said("init", str(tmp_path / "新活动"), "--preset", "plan-filing", "--year", "二〇一二")
    assert "--form 后面要写它的值" in said("validate", str(tmp_path), "--form")
    assert "多写了 多余" in said("status", str(campaign / "inbox"), "--campaign", str(campaign), "多余")


def test_our_own_usage_errors_keep_their_words_without_clicks_frame(tmp_path):
    out = said("template", "-o", str(tmp_path))
    assert out.startswith("错误：请指定表单") and "用法见 zhenggai template --help" in out


def test_help_speaks_chinese_and_lists_every_command_whole():
    top = CliRunner().invoke(main, ["--help"], prog_name="zhenggai").output
    assert top.startswith("用法：zhenggai [选项] 命令 [参数]...") and "命令：" in top and "显示本说明并退出。" in top
    assert "..." not in top.split("命令：")[1]  # no command's summary cut off
    sub = CliRunner().invoke(main, ["remind", "--help"], prog_name="zhenggai").output
    assert "选项：" in sub and "［必填］" in sub and "［默认：zhenggai@localhost］" in sub
    assert not any(word in top + sub for word in ("Usage:", "Options:", "Commands:", "Show this", "[required]"))


def test_help_fits_the_terminal_and_keeps_its_column_with_chinese_text():
    runner = CliRunner()
    whole = ("汇总表.xlsx", "催报名单.xlsx", "campaign.yaml", "orgs.xlsx", "催报反馈表/", "［必填］",
             "［默认：zhenggai@localhost］")
    for command in ([], *([name] for name in main.commands)):
        unwrapped = runner.invoke(main, [*command, "--help"], prog_name="zhenggai", terminal_width=400).output
        for width in (60, 70, 80):
            out = runner.invoke(main, [*command, "--help"], prog_name="zhenggai", terminal_width=width).output
            wide = [line for line in out.splitlines() if display_width(line) > width]
            assert not wide, (command, wide)
            split = [w for w in whole if unwrapped.count(w) != out.count(w)]  # a file name cut in two is typed wrong
            assert not split, (command, width, split, out)
            if not command:
                assert "..." not in out.split("命令：")[1], (width, out)  # no command's summary cut short
    out = runner.invoke(main, ["rollup", "--help"], prog_name="zhenggai", terminal_width=80).output
    column = {display_width(line[:line.index(text)]) for line in out.splitlines()
              for text in ("另按督导组", "以 JSON 输出", "活动文件夹（") if text in line}
    assert len(column) == 1, out  # a choice in Chinese ([督导组|类型]) no longer pushes its help right


def test_an_output_that_cannot_be_written_is_said_in_chinese(campaign, tmp_path, monkeypatch):
    inbox = str(campaign / "inbox")
    (tmp_path / "汇总").write_text("a file, not a folder")
    out = said("rollup", inbox, "--campaign", str(campaign), "-o", str(tmp_path / "汇总" / "汇总表.xlsx"))
    assert "无法写入" in out and "同名的文件" in out

    real = os.replace

    def locked(src, dst):  # as Windows answers while Excel or WPS has the summary open
        if Path(dst).name == "汇总表.xlsx":
            raise PermissionError(13, "Access is denied", str(dst))
        return real(src, dst)

    monkeypatch.setattr(os, "replace", locked)
    out = said("rollup", inbox, "--campaign", str(campaign), "-o", str(tmp_path / "汇总表.xlsx"))
    assert f"无法写入“{tmp_path / '汇总表.xlsx'}”：文件正在 Excel 或 WPS 中打开" in out and "请关闭该文件后重试" in out
    assert not list(tmp_path.glob(".tmp-*"))  # the half-done copy is gone

    made = CliRunner().invoke(main, ["init", str(tmp_path / "汇总" / "活动"), "--preset", "plan-filing"])
    assert made.exit_code == 1 and isinstance(made.exception, SystemExit), made.output  # a folder not made
    assert f"错误：无法读写“{tmp_path / '汇总' / '活动'}”：路径中有一个同名的文件" in made.output


def test_forms_lists_every_form_and_a_forms_fields_in_columns_and_words():
    from zhenggai_xls.spec import load_specs

    specs = load_specs()
    listed = CliRunner().invoke(main, ["forms"])
    assert listed.exit_code == 0 and all(f"{s.id}" in listed.output and s.title in listed.output for s in specs.values())
    shown = CliRunner().invoke(main, ["forms", "备案表"])  # a Chinese name, as a clerk types it
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()[1:]
    grade = next(line for line in lines if "上级定级情况/等次" in line)
    assert grade.endswith("是    从下拉列表选择：好、较好、一般、较差")  # 必填 and the type in words, not "choice"
    column = {display_width(line[:line.rindex("  ") + 2]) for line in lines}  # where the last column starts
    assert len(column) == 1, shown.output  # 类型 in one column, whatever the label's width
    data = json.loads(CliRunner().invoke(main, ["forms", "filing", "--json"]).output)
    assert {f["key"]: f["type"] for f in data["forms"][0]["fields"]}["grade"] == "choice"


def test_output_into_a_closed_pipe_ends_quietly():
    """`zhenggai forms ledger | head -1`: the reader leaves early; no error message, no traceback."""
    import subprocess
    import sys

    run = subprocess.Popen([sys.executable, "-m", "zhenggai_xls.cli", "forms", "ledger"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    run.stdout.close()  # before it writes a line: every write meets a broken pipe
    err = run.stderr.read().decode()
    assert run.wait() == 1 and err == "", err
