"""Timeliness: on time / late / missing / invalid at boundary times; received times; the commands."""
import json
import os
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner

from rollup_helpers import at, filing_sub, invalid, plan_filing_campaign
from zhenggai_xls.cli import main
from zhenggai_xls.errors import ConfigError
from zhenggai_xls.rollup import rollup, rollup_inbox
from zhenggai_xls.spec import load_specs
from zhenggai_xls.status import BEIJING, days_after, status_text

AS_OF = at("2012-06-26", "10:00")


def status_of(result, unit, form="filing"):
    return next(s for s in result.statuses if s.unit == unit and s.form == form)


def one_filing(received, as_of=AS_OF, path="in/b11.xlsx"):
    sub = filing_sub(path, "B11")
    return rollup([sub], plan_filing_campaign(), as_of=as_of, register={path: received})


@pytest.mark.parametrize("received, status, days", [
    (at("2012-06-20", "23:59:59"), "on_time", 0),  # the deadline day itself, to the last second
    (at("2012-06-21", "00:00:01"), "late", 1),
    (at("2012-06-22", "00:00"), "late", 2),  # 1 day and 1 second after 23:59:59
    (at("2012-06-22", "10:00"), "late", 2),
    (at("2012-06-10", "08:00"), "on_time", 0),
])
def test_deadline_is_the_end_of_the_day_and_days_late_round_up(received, status, days):
    s = status_of(one_filing(received), "B11")
    assert (s.status, s.days_late, s.received) == (status, days, received)


def test_words_of_each_status():
    late = status_of(one_filing(at("2012-06-23")), "B11")
    assert late.words == "逾期报送 3 天"
    result = one_filing(at("2012-06-19"))
    assert status_of(result, "B11").words == "按时报送"
    assert status_of(result, "B12").words == "未报送"


def test_missing_counts_days_past_the_deadline_only_once_it_has_passed():
    before = one_filing(at("2012-06-19"), as_of=at("2012-06-20", "12:00"))
    assert (status_of(before, "B12").status, status_of(before, "B12").days_late) == ("missing", 0)
    after = one_filing(at("2012-06-19"), as_of=at("2012-06-23", "12:00"))
    assert (status_of(after, "B12").status, status_of(after, "B12").days_late) == ("missing", 3)
    assert status_of(after, "C1", "stats").status == "missing"


def test_a_file_received_after_as_of_is_not_counted_yet():
    result = one_filing(at("2012-06-27"), as_of=AS_OF)
    assert status_of(result, "B11").status == "missing"
    assert "B11" not in result.forms["stats"].units
    assert [s.file.name for s in result.set_aside] == ["b11.xlsx"]
    assert "晚于截至时间" in result.set_aside[0].reason


def test_a_file_received_within_the_second_of_as_of_counts():
    """as_of is kept to the second (a run without --as-of takes the time it starts, so cut); a file
    received within that second is not after it."""
    counted = one_filing(AS_OF.replace(microsecond=700_000))
    assert status_of(counted, "B11").status == "late" and counted.set_aside == []
    later = one_filing(AS_OF.replace(second=1))
    assert status_of(later, "B11").status == "missing" and len(later.set_aside) == 1


def test_invalid_versions_only_is_invalid_and_a_later_valid_one_is_judged_by_its_time():
    broken = invalid(filing_sub("in/v1.xlsx", "B11"))
    only_broken = rollup([broken], plan_filing_campaign(), as_of=AS_OF, register={"in/v1.xlsx": at("2012-06-19")})
    assert (status_of(only_broken, "B11").status, status_of(only_broken, "B11").file.name) == ("invalid", "v1.xlsx")
    fixed = filing_sub("in/v2.xlsx", "B11")
    both = rollup([broken, fixed], plan_filing_campaign(), as_of=AS_OF,
                  register={"in/v1.xlsx": at("2012-06-19"), "in/v2.xlsx": at("2012-06-22", "09:00")})
    s = status_of(both, "B11")
    assert (s.status, s.days_late, s.file.name) == ("late", 2, "v2.xlsx")
    assert [x.path.name for x in both.invalid] == ["v1.xlsx"]


@dataclass
class RegisterRow:
    """What intake.load_register gives per stored path (only `received` matters here)."""

    received: datetime | None


def test_register_times_aware_ones_converted_to_beijing_time():
    utc = datetime(2012, 6, 20, 16, 30, tzinfo=timezone.utc)  # 2012-06-21 00:30 in Beijing
    assert status_of(one_filing(utc), "B11").days_late == 1
    assert status_of(one_filing("2012-06-20T15:59:00+00:00"), "B11").status == "on_time"
    assert status_of(one_filing(RegisterRow(at("2012-06-21", "09:00"))), "B11").days_late == 1
    assert status_of(one_filing({"received": at("2012-06-20", "09:00")}), "B11").status == "on_time"


def test_without_a_register_the_files_mtime_in_beijing_time_is_used(tmp_path):
    path = tmp_path / "b11.xlsx"
    path.write_bytes(b"not read")
    stamp = datetime(2012, 6, 21, 8, 0, tzinfo=BEIJING).timestamp()
    os.utime(path, (stamp, stamp))
    result = rollup([filing_sub(path, "B11")], plan_filing_campaign(), as_of=AS_OF)
    s = status_of(result, "B11")
    assert (s.status, s.days_late, s.received) == ("late", 1, at("2012-06-21", "08:00"))
    sub = filing_sub(path, "B11")
    sub.received = at("2012-06-19")  # the submission's own time beats the mtime
    assert status_of(rollup([sub], plan_filing_campaign(), as_of=AS_OF), "B11").status == "on_time"


def test_days_after_is_a_ceiling_of_whole_days():
    deadline = at("2012-06-20", "23:59:59")
    assert days_after(deadline, deadline) == 0
    assert days_after(at("2012-06-21", "00:00"), deadline) == 1
    assert days_after(at("2012-06-21", "23:59:59"), deadline) == 1
    assert days_after(at("2012-06-22", "00:00"), deadline) == 2


def test_status_table_lists_every_unit_with_counts_at_the_bottom():
    subs = [filing_sub("in/b11.xlsx", "B11"), filing_sub("in/b12.xlsx", "B12"), invalid(filing_sub("in/b21.xlsx", "B21"))]
    result = rollup(subs, plan_filing_campaign(), as_of=AS_OF,
                    register={"in/b11.xlsx": at("2012-06-19"), "in/b12.xlsx": at("2012-06-23", "10:00"),
                              "in/b21.xlsx": at("2012-06-19")})
    text = status_text(result)
    lines = text.splitlines()
    assert lines[0].split() == ["单位", "表单", "周期", "报送情况", "收到时间", "文件"]
    row = next(line for line in lines if line.startswith("百胜镇八角村党支部"))
    assert "逾期报送 3 天" in row and "2012-06-23 10:00" in row and "b12.xlsx" in row
    assert "未通过校验" in next(line for line in lines if line.startswith("区财政局机关党支部"))
    assert "未报送" in next(line for line in lines if line.startswith("区教委机关党支部"))
    assert lines[-1] == "涪陵区（截至 2012-06-26 10:00）：应报 7，已报 2（按时 1，逾期 1），未报送 4，未通过校验 1"


# ---------------------------------------------------------------- the commands, on a real campaign folder


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The plan-filing demo campaign: real filled workbooks in an inbox (late, missing, invalid, resent)."""
    from zhenggai_xls.demo import build_demo

    return build_demo(tmp_path_factory.mktemp("demo") / "demo")


def test_status_command_prints_the_table_and_counts(demo):
    result = CliRunner().invoke(main, ["status", str(demo.inbox), "--campaign", str(demo.folder),
                                       "--as-of", "2012-06-26 09:00"])
    assert result.exit_code == 0, result.output
    c = demo.result.counts()
    assert f"应报 {c['expected']}，已报 {c['reported']}（按时 {c['on_time']}，逾期 {c['late']}）" in result.output
    assert "按时报送" in result.output and "未报送" in result.output and "未通过校验" in result.output
    assert "Traceback" not in result.output


def test_status_lists_the_files_it_does_not_count_and_why(demo, tmp_path):
    inbox = shutil.copytree(demo.inbox, tmp_path / "收件")  # copies keep their times
    shutil.copyfile(inbox / "百胜镇紫竹村党支部_整改方案备案表.xlsx", inbox / "紫竹村又一份.xlsx")  # received now
    result = CliRunner().invoke(main, ["status", str(inbox), "--campaign", str(demo.folder),
                                       "--as-of", "2012-06-26 09:00"])
    assert result.exit_code == 0, result.output
    assert "未计入的文件 1 个：\n  紫竹村又一份.xlsx：" in result.output
    assert "收到，晚于截至时间 2012-06-26 09:00，本次汇总未计入" in result.output


def test_rollup_command_writes_the_workbook_and_prints_exact_json(demo, tmp_path):
    out = tmp_path / "汇总.xlsx"
    args = ["rollup", str(demo.inbox), "--campaign", str(demo.folder), "--as-of", "2012-06-26 09:00", "-o", str(out)]
    printed = CliRunner().invoke(main, args)
    assert printed.exit_code == 0, printed.output
    assert "汇总单位：" in printed.output and f"汇总表：{out}" in printed.output
    top = demo.result.level.code
    for form, fr in demo.result.forms.items():  # the stats line counts branches, as the workbook's note says
        cover, counted = fr.coverage[top], "（按党支部计）" if form == "stats" else ""
        assert f"{load_specs()[form].title}{counted}：应报 {cover.expected}，已报 {cover.reported}，" in printed.output
    assert out.stat().st_size > 0
    as_json = CliRunner().invoke(main, args + ["--json"])
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.output)
    assert set(data) == {"as_of", "level", "forms", "submissions", "overdue"}
    assert data["as_of"] == "2012-06-26 09:00:00"
    stats = data["forms"]["stats"]
    branches = [code for code in stats["units"] if len(code) > 6]
    committees = [code for code in stats["units"] if len(code) == 6]
    for key, total in stats["totals"].items():
        assert total == sum(stats["units"][c][key] for c in committees)
        assert total == sum(stats["units"][b][key] for b in branches)
    assert {s["status"] for s in data["submissions"]} == {"on_time", "late", "missing", "invalid"}
    assert {o["status"] for o in data["overdue"]} <= {"overdue", "done_late", "due_soon", "ongoing"}


def test_commands_say_what_is_wrong_without_a_traceback(demo):
    bad_level = CliRunner().invoke(main, ["status", str(demo.inbox), "--campaign", str(demo.folder), "--level", "999"])
    assert bad_level.exit_code == 2 and "999" in bad_level.output and "Traceback" not in bad_level.output
    bad_time = CliRunner().invoke(main, ["rollup", str(demo.inbox), "--campaign", str(demo.folder),
                                         "--as-of", "六月底"])
    assert bad_time.exit_code == 2 and "六月底" in bad_time.output
    no_suffix = CliRunner().invoke(main, ["rollup", str(demo.inbox), "--campaign", str(demo.folder),
                                          "-o", str(demo.folder / "汇总")])
    assert no_suffix.exit_code == 2 and "要以 .xlsx 结尾" in no_suffix.output and not (demo.folder / "汇总").exists()


def test_a_mistyped_level_is_said_before_any_file_is_read(demo, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("files read before the level was checked")

    monkeypatch.setattr("zhenggai_xls.validate.validate_paths", never)
    with pytest.raises(ConfigError, match="999"):
        rollup_inbox(demo.inbox, demo.folder, level="999")
