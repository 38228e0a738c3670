"""Campaign folders: presets written by init, campaign.yaml read back, expected reports and deadlines."""
from __future__ import annotations

import shutil
from datetime import datetime

import openpyxl
import pytest
from click.testing import CliRunner

from zhenggai_xls.campaign import (FormPlan, expected, init_campaign, load_campaign, parse_clock,
                                   parse_moment)
from zhenggai_xls.cli import main
from zhenggai_xls.errors import ConfigError


@pytest.fixture(scope="module")
def preset_folders(tmp_path_factory):
    """Each preset written once by init (templates take a while); tests get a copy."""
    base = tmp_path_factory.mktemp("presets")
    return {name: init_campaign(base / name, name).folder for name in ("plan-filing", "three-meetings")}


@pytest.fixture
def plan_filing(tmp_path, preset_folders):
    return load_campaign(shutil.copytree(preset_folders["plan-filing"], tmp_path / "fuling"))


@pytest.fixture
def three_meetings(tmp_path, preset_folders):
    return load_campaign(shutil.copytree(preset_folders["three-meetings"], tmp_path / "qingxi"))


def rewrite(folder, text):
    """A campaign folder with the preset's org tree and our own campaign.yaml."""
    (folder / "campaign.yaml").write_text(text, encoding="utf-8")
    return folder


def problems(folder) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_campaign(folder)
    return info.value.problems


# ---------------------------------------------------------------- presets


def test_plan_filing_folder_is_complete(plan_filing):
    folder = plan_filing.folder
    assert (folder / "campaign.yaml").is_file()
    templates = sorted(p.name for p in (folder / "templates").glob("*.xlsx"))
    assert templates == ["整改方案制定情况统计表.xlsx", "整改方案备案表.xlsx"]
    again = load_campaign(folder)
    assert again.name == "涪陵区基层组织建设年整改方案" and again.year == 2012
    assert again.groupings == ("督导组", "类型") and again.due_soon_days == 7 and again.as_of is None
    assert list(again.forms) == ["filing", "stats"]


def test_plan_filing_orgs_xlsx_is_a_real_tree(plan_filing):
    book = openpyxl.load_workbook(plan_filing.folder / "orgs.xlsx")
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    assert header[:5] == ["组织代码", "组织名称", "简称", "上级组织代码", "层级"]
    assert sheet["A2"].value == "001" and sheet["A2"].data_type == "s"  # codes stay text
    tree = plan_filing.orgs
    assert tree.root.level == "区" and tree.root.name.startswith("中共重庆市涪陵区")
    committees = tree.at_level("党(工)委")
    assert len(committees) >= 3
    assert len({c.type for c in committees}) == len(committees)
    assert len({c.group for c in committees}) == len(committees)
    assert {"中共重庆市涪陵区李渡新区工作委员会", "中共重庆市涪陵区敦仁街道工作委员会"} <= {c.name for c in committees}
    branches = tree.branches_under(tree.root.code)
    assert len(branches) >= 15
    for org in tree:
        assert org.contact and org.phone and org.email.endswith("@example.org")
    assert tree.match("李渡新区党工委")[0].code == "001001"


def test_plan_filing_expected_reports_and_deadlines(plan_filing):
    filing, stats = plan_filing.forms["filing"], plan_filing.forms["stats"]
    assert filing.levels == ("党支部",) and stats.levels == ("党(工)委",)
    assert filing.periods() == [None]
    assert filing.deadline("党支部") == datetime(2012, 6, 20, 23, 59, 59)
    assert stats.deadline("党(工)委") == datetime(2012, 6, 25, 23, 59, 59)
    reports = expected(plan_filing)
    tree = plan_filing.orgs
    assert len(reports) == len(tree.at_level("党支部")) + len(tree.at_level("党(工)委"))
    first = reports[0]
    assert (first.org.code, first.form, first.period) == ("001001", "stats", None)
    assert first.deadline == datetime(2012, 6, 25, 23, 59, 59)
    by_unit = {(r.org.name, r.form): r.deadline for r in reports}
    assert by_unit[("百胜镇紫竹村党支部", "filing")] == datetime(2012, 6, 20, 23, 59, 59)
    assert ("百胜镇紫竹村党支部", "stats") not in by_unit
    assert not any(r.org.level == "区" for r in reports)


def test_a_date_alone_means_the_end_of_that_day(plan_filing):
    deadline = plan_filing.forms["filing"].deadline("党支部")
    assert datetime(2012, 6, 20, 23, 59) <= deadline
    assert datetime(2012, 6, 21, 0, 0) > deadline


def test_three_meetings_weekly_periods_and_deadlines(three_meetings):
    weekly = three_meetings.forms["weekly"]
    assert weekly.periods() == ["2023-10-27", "2023-11-03", "2023-11-10", "2023-11-17"]
    assert weekly.deadline("党支部", "2023-11-03") == datetime(2023, 11, 3, 12, 0)
    assert weekly.deadline("党(工)委", "2023-10-27") == datetime(2023, 10, 27, 12, 0)
    assert weekly.deadlines["党支部"] == datetime(2023, 11, 17, 12, 0)  # the last one
    assert three_meetings.forms["self_check"].deadline("党支部") == datetime(2023, 10, 25, 23, 59, 59)
    assert three_meetings.forms["ledger"].deadline("党(工)委") == datetime(2023, 11, 20, 23, 59, 59)
    with pytest.raises(ValueError):
        weekly.deadline("党支部", "2023-11-04")
    with pytest.raises(KeyError):
        weekly.deadline("区", "2023-11-03")


def test_three_meetings_expected_reports(three_meetings):
    tree = three_meetings.orgs
    units = [o for o in tree if o.level != "区"]
    assert len(units) >= 18 and len(tree.branches_under(tree.root.code)) >= 15
    reports = expected(three_meetings)
    assert len(reports) == len(units) * (1 + 4 + 1)
    village = tree.match("石桥村党支部")[0]
    assert village.parent == tree.root.code  # 村党支部 directly under the 镇党委
    mine = [(r.form, r.period, r.deadline) for r in reports if r.org == village]
    assert mine == [
        ("self_check", None, datetime(2023, 10, 25, 23, 59, 59)),
        ("weekly", "2023-10-27", datetime(2023, 10, 27, 12, 0)),
        ("weekly", "2023-11-03", datetime(2023, 11, 3, 12, 0)),
        ("weekly", "2023-11-10", datetime(2023, 11, 10, 12, 0)),
        ("weekly", "2023-11-17", datetime(2023, 11, 17, 12, 0)),
        ("ledger", None, datetime(2023, 11, 20, 23, 59, 59)),
    ]
    assert sorted(p.name for p in (three_meetings.folder / "templates").glob("*.xlsx")) == [
        "整改周报表.xlsx", "整改清单.xlsx", "自查情况表.xlsx"]


@pytest.mark.parametrize("year, fridays", [
    (2024, ["2024-11-01", "2024-11-08", "2024-11-15"]),
    (2021, ["2021-10-29", "2021-11-05", "2021-11-12"]),
    (2023, ["2023-10-27", "2023-11-03", "2023-11-10", "2023-11-17"]),
])
def test_year_shifts_weekly_window_to_that_years_fridays(tmp_path, year, fridays):
    campaign = init_campaign(tmp_path / "c", "three-meetings", year=year)
    assert campaign.year == year
    assert campaign.forms["weekly"].periods() == fridays
    assert campaign.forms["self_check"].deadline("党支部") == datetime(year, 10, 25, 23, 59, 59)


def test_year_shifts_plan_filing(tmp_path):
    campaign = init_campaign(tmp_path / "c", "plan-filing", year=2013)
    assert campaign.forms["filing"].deadline("党支部") == datetime(2013, 6, 20, 23, 59, 59)
    assert campaign.forms["stats"].deadline("党(工)委") == datetime(2013, 6, 25, 23, 59, 59)
    assert "year: 2013" in (tmp_path / "c" / "campaign.yaml").read_text(encoding="utf-8")


def test_init_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "mine.xlsx").write_bytes(b"keep me")
    with pytest.raises(ConfigError, match="已存在且不是空的"):
        init_campaign(tmp_path / "c", "plan-filing")
    assert (tmp_path / "c" / "mine.xlsx").read_bytes() == b"keep me"
    assert not (tmp_path / "c" / "campaign.yaml").exists()
    (tmp_path / "empty").mkdir()
    assert init_campaign(tmp_path / "empty", "plan-filing").year == 2012


def test_init_unknown_preset_and_bad_year(tmp_path):
    with pytest.raises(ConfigError, match="plan-filing"):
        init_campaign(tmp_path / "c", "plan-filling")
    with pytest.raises(ConfigError, match="年份"):
        init_campaign(tmp_path / "c", "plan-filing", year=12)
    assert not (tmp_path / "c").exists()


# ---------------------------------------------------------------- campaign.yaml


GOOD = """\
name: 测试活动
year: 2012
forms:
  filing: {levels: [支部], deadline: "2012-06-20 18:00"}
  整改方案制定情况统计表:
    deadline: {党委: 6月25日}
  weekly:
    levels: 党支部
    deadline: {every: 星期五, time: 12:00, from: 10-27, to: 11-17}
as_of: 2012-06-22
groupings: [group]
due_soon_days: 3
"""


def test_campaign_yaml_written_by_hand(plan_filing):
    campaign = load_campaign(rewrite(plan_filing.folder, GOOD))
    filing, stats, weekly = campaign.forms["filing"], campaign.forms["stats"], campaign.forms["weekly"]
    assert filing.levels == ("党支部",) and filing.deadline("党支部") == datetime(2012, 6, 20, 18, 0)
    assert stats.levels == ("党(工)委",) and stats.deadline("党(工)委") == datetime(2012, 6, 25, 23, 59, 59)
    assert weekly.weekly["time"] == "12:00"  # unquoted 12:00 is not read as 720 minutes
    assert weekly.periods() == ["2012-11-02", "2012-11-09", "2012-11-16"]  # 2012-10-27 was a Saturday
    assert campaign.as_of == datetime(2012, 6, 22, 23, 59, 59)
    assert campaign.groupings == ("督导组",) and campaign.due_soon_days == 3
    assert campaign.orgs_file == "orgs.xlsx"


def test_campaign_yaml_saved_as_ansi_by_notepad_reads_alike(plan_filing):
    text = (plan_filing.folder / "campaign.yaml").read_text(encoding="utf-8")
    assert "涪陵" in text  # Chinese in it, so GBK bytes are not UTF-8
    (plan_filing.folder / "campaign.yaml").write_bytes(text.encode("gbk"))
    again = load_campaign(plan_filing.folder)
    assert (again.name, again.forms, again.as_of) == (plan_filing.name, plan_filing.forms, plan_filing.as_of)
    (plan_filing.folder / "campaign.yaml").write_bytes(b"\x81\x30name: x")  # neither: said, not a traceback
    assert any("UTF-8 或 GBK" in p for p in problems(plan_filing.folder))


def test_per_level_deadlines(plan_filing):
    text = ("name: x\nyear: 2012\nforms:\n  self_check:\n    levels: [党(工)委, 党支部]\n"
            "    deadline: {党支部: 2012-06-20, 党(工)委: 2012-06-25 12:00}\n")
    plan = load_campaign(rewrite(plan_filing.folder, text)).forms["self_check"]
    assert plan.deadline("党支部") == datetime(2012, 6, 20, 23, 59, 59)
    assert plan.deadline("党(工)委") == datetime(2012, 6, 25, 12, 0)
    assert "党支部 2012-06-20 23:59 前" in plan.describe()


@pytest.mark.parametrize("text, where, words", [
    ("name: x\nyear: 2012\nfroms: {}\n", "froms", "“forms”"),
    ("name: x\nyear: 2012\nforms:\n  weekley: {levels: [党支部], deadline: 2012-06-20}\n",
     "forms.weekley", "weekly"),
    ("name: x\nyear: 2012\nforms:\n  orgs: {levels: [党支部], deadline: 2012-06-20}\n", "forms.orgs", "可用的表单"),
    ("name: x\nyear: 2012\nforms:\n  weekly:\n    levels: [党支部]\n    deadline: {every: 周八, from: 10-27, to: 11-17}\n",
     "forms.weekly.deadline.every", "周八"),
    ("name: x\nyear: 2012\nforms:\n  weekly:\n    levels: [党支部]\n    deadline: {evry: 周五, from: 10-27, to: 11-17}\n",
     "forms.weekly.deadline", "every"),
    ("name: x\nyear: 2012\nforms:\n  weekly:\n    levels: [党支部]\n    deadline: {every: 周五, from: 11-19, to: 11-22}\n",
     "forms.weekly.deadline", "没有周五"),
    ("name: x\nyear: 2012\nforms:\n  filing: {levels: [党支部], deadline: 2012-06-31}\n",
     "forms.filing.deadline", "2012-06-31"),
    ("name: x\nyear: 2012\nforms:\n  filing: {levels: [党小组], deadline: 2012-06-20}\n",
     "forms.filing.levels[0]", "党小组"),
    ("name: x\nyear: 2012\nforms:\n  filing: {levels: [党支部], dedline: 2012-06-20}\n",
     "forms.filing.dedline", "“deadline”"),
    ("name: x\nyear: 2012\nforms:\n  filing: {levels: [党支部], deadline: {党委: 2012-06-20}}\n",
     "forms.filing.deadline.党委", "报送层级"),
    ("name: x\nyear: 2012\nforms:\n  filing: {levels: [党支部], deadline: 2012-06-20}\ngroupings: [类别]\n",
     "groupings[0]", "类型"),
    ("name: x\nyear: twelve\nforms:\n  filing: {levels: [党支部], deadline: 2012-06-20}\n", "year", "四位数字"),
    ("name: x\nyear: 2012\nforms:\n  filing: {levels: [党支部], deadline: 2012-06-20}\ndue_soon_days: -1\n",
     "due_soon_days", "整数"),
    ("name: x\nyear: 2012\nforms:\n  filing: {levels: [党支部], deadline: 2012-06-20}\nas_of: someday\n",
     "as_of", "someday"),
    ("year: 2012\nforms:\n  filing: {levels: [党支部], deadline: 2012-06-20}\n", "(顶层)", "“name”"),
])
def test_bad_config_names_the_key_path(plan_filing, text, where, words):
    found = problems(rewrite(plan_filing.folder, text))
    assert any(f"campaign.yaml: {where}: " in p and words in p for p in found), found


def test_every_bad_key_and_the_org_tree_reported_together(plan_filing):
    folder = rewrite(plan_filing.folder, "name: x\nyear: 2012\norgs: orgs.csv\nforms:\n"
                     "  filing: {levels: [党支部], deadline: 6-31}\n  stats: {levels: [党委], deadline: 13-01}\n")
    (folder / "orgs.csv").write_text("组织代码,组织名称,上级组织代码,层级\n1,涪陵区委,,区\n2,李渡新区党工委,9,党工委\n",
                                     encoding="gbk")
    found = problems(folder)
    assert any("forms.filing.deadline" in p for p in found)
    assert any("forms.stats.deadline" in p for p in found)
    assert any("orgs.csv 第3行" in p and "“9”" in p for p in found)


def test_yaml_syntax_error_names_the_line(plan_filing):
    found = problems(rewrite(plan_filing.folder, "name: x\nyear: 2012\nforms:\n  filing: [levels: \n  - x\n"))
    assert len(found) == 1 and "YAML 格式错误" in found[0] and "第" in found[0]


def test_missing_folder_or_org_file(tmp_path, plan_filing):
    with pytest.raises(ConfigError, match="campaign.yaml"):
        load_campaign(tmp_path / "nowhere")
    (plan_filing.folder / "orgs.xlsx").unlink()
    found = problems(plan_filing.folder)
    assert any("找不到组织架构文件" in p for p in found)


@pytest.mark.parametrize("typed, year, moment", [
    ("2012-06-20", None, datetime(2012, 6, 20, 23, 59, 59)),
    ("2012-06-20 18:00", None, datetime(2012, 6, 20, 18, 0)),
    ("2012/6/20 8:30:15", None, datetime(2012, 6, 20, 8, 30, 15)),
    ("2012年6月20日", None, datetime(2012, 6, 20, 23, 59, 59)),
    ("6月20日 18点", 2012, datetime(2012, 6, 20, 18, 0)),
    ("６－２０", 2013, datetime(2013, 6, 20, 23, 59, 59)),
    ("6-20", None, None),
    ("2012-02-30", None, None),
    ("明天", 2012, None),
    (720, 2012, None),
])
def test_parse_moment(typed, year, moment):
    assert parse_moment(typed, year) == moment


def test_parse_clock():
    assert parse_clock("12:00") == "12:00"
    assert parse_clock("12点") == "12:00"
    assert parse_clock("18:30:05") == "18:30:05"
    assert parse_clock("25:00") is None


def test_form_plan_in_code():
    plan = FormPlan("weekly", ("党支部",), {}, {"weekday": 4, "time": "12:00",
                                              "from": datetime(2023, 10, 27).date(),
                                              "to": datetime(2023, 11, 17).date()})
    assert len(plan.periods()) == 4
    assert "每周五 12:00 前" in plan.describe()


# ---------------------------------------------------------------- the command


def test_cli_init_writes_and_lists(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["init", str(tmp_path / "c"), "--preset", "three-meetings", "--year", "2024"])
    assert result.exit_code == 0, result.output
    assert "campaign.yaml" in result.output and "orgs.xlsx" in result.output
    assert "templates/整改周报表.xlsx" in result.output
    assert "每周五 12:00 前（2024-11-01 至 2024-11-15，共 3 次）" in result.output
    again = runner.invoke(main, ["init", str(tmp_path / "c"), "--preset", "plan-filing"])
    assert again.exit_code == 2
    assert "已存在且不是空的" in again.output and "Traceback" not in again.output
