"""The roll-up: hand-computed totals, 统计表 from 备案表, two paths counted once, versions, overdue."""
import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from rollup_helpers import (at, filing_sub, invalid, ledger_sub, plan_filing_campaign, self_check_sub,
                            stats_row_from_filing, stats_sub, three_meetings_campaign,
                            weekly_sub)
from zhenggai_xls.errors import ConfigError
from zhenggai_xls.rollup import Coverage, rollup

AS_OF = at("2012-06-26", "10:00")
LEAD, MEMB, MECH, PERF, PUBL = "领导班子建设", "党员队伍建设", "工作机制建设", "工作业绩", "群众反映"


def four_filings():
    """B11, B12, B21, B22 filed; B23 did not; B22 filed a day late."""
    subs = [
        filing_sub("in/b11.xlsx", "B11", grade="好", opinions=(2, 1, 0, 0), people=(20, 3, 5),
                   content=(2, 1, 0, 1, 0), focus=((LEAD, "班子学习不经常"), (LEAD, "民主生活会质量不高"))),
        filing_sub("in/b12.xlsx", "B12", grade="较好", opinions=(1, 0, 4, 1), people=(12, 0, 6),
                   content=(0, 2, 1, 0, 3), focus=((MEMB, "党员作用发挥不明显"), (PUBL, "联系群众不紧密"))),
        filing_sub("in/b21.xlsx", "B21", grade="一般", opinions=(3, 2, 0, 0), people=(30, 4, 10),
                   content=(1, 1, 1, 1, 1), focus=((MECH, "制度执行不严"),)),
        filing_sub("in/b22.xlsx", "B22", grade="好", opinions=(1, 1, 1, 1), people=(8, 1, 1),
                   content=(0, 0, 2, 2, 0), focus=((PERF, "服务发展成效不明显"), (MECH, "台账不全"),
                                                   (PERF, "项目推进慢"))),
    ]
    register = {"in/b11.xlsx": at("2012-06-18"), "in/b12.xlsx": at("2012-06-20", "23:59"),
                "in/b21.xlsx": at("2012-06-19"), "in/b22.xlsx": at("2012-06-21", "08:00")}
    return subs, register


def test_hand_computed_totals_of_a_small_campaign():
    subs, register = four_filings()
    result = rollup(subs, plan_filing_campaign(), as_of=AS_OF, register=register)
    stats = result.forms["stats"]
    # Branch rows (by hand from the four 备案表).
    assert stats.units["B11"]["grade_good"] == 1 and stats.units["B11"]["grade_fair"] == 0
    assert stats.units["B11"]["found_total"] == 4
    assert stats.units["B11"]["focus_total"] == 2 and stats.units["B11"]["focus_leadership"] == 2
    assert stats.units["B22"]["focus_performance"] == 2 and stats.units["B22"]["focus_mechanism"] == 1
    # Subtotals: C1 = B11 + B12, C2 = B21 + B22 (B23 missing), 合计 = both.
    assert stats.units["C1"]["opinion_sms"] == 4 and stats.units["C1"]["people_total"] == 32
    assert stats.units["C1"]["found_total"] == 10 and stats.units["C1"]["focus_total"] == 4
    assert stats.units["C2"]["people_total"] == 38 and stats.units["C2"]["focus_mechanism"] == 2
    assert stats.totals["grade_good"] == 2 and stats.totals["grade_fair"] == 1
    assert stats.totals["grade_average"] == 1 and stats.totals["grade_poor"] == 0
    assert stats.totals["opinion_meeting"] == 7 and stats.totals["people_total"] == 70
    assert stats.totals["found_total"] == 19 and stats.totals["focus_total"] == 8
    assert stats.totals["focus_leadership"] == 2 and stats.totals["focus_public"] == 1
    assert "B23" not in stats.units  # did not report: no invented zero row
    assert list(stats.units) == ["C1", "B11", "B12", "C2", "B21", "B22"]  # tree order
    # The 备案表 sheet itself sums the 备案表's counts.
    assert result.forms["filing"].totals["content_total"] == 19
    assert result.forms["filing"].units["C2"]["opinion_letter"] == 3
    # 应报 / 已报 / 按时: B22 was late, B23 missing.
    assert stats.coverage["D"] == Coverage(5, 4, 3)
    assert stats.coverage["C1"] == Coverage(2, 2, 2)
    assert stats.coverage["C2"] == Coverage(3, 2, 1)
    assert result.forms["filing"].coverage["D"] == Coverage(5, 4, 3)


def test_stats_built_from_filings_equals_the_hand_made_stats():
    subs, register = four_filings()
    from_filings = rollup(subs, plan_filing_campaign(), as_of=AS_OF, register=register).forms["stats"]
    by_committee = {"C1": ["B11", "B12"], "C2": ["B21", "B22"]}
    hand = {s.unit_code: stats_row_from_filing(s) for s in subs}
    summaries = [stats_sub(f"in/{c}.xlsx", c, {b: hand[b] for b in bs}) for c, bs in by_committee.items()]
    from_stats = rollup(summaries, plan_filing_campaign(), as_of=AS_OF,
                        register={"in/C1.xlsx": at("2012-06-24"), "in/C2.xlsx": at("2012-06-24")}).forms["stats"]
    assert from_filings.units == from_stats.units
    assert from_filings.totals == from_stats.totals
    for code, row in hand.items():
        assert from_filings.units[code] == row


def test_a_branch_reported_both_ways_counts_once_and_a_difference_is_flagged():
    subs, register = four_filings()
    hand = {s.unit_code: stats_row_from_filing(s) for s in subs}
    wrong = dict(hand["B11"], people_total=99)
    summary = stats_sub("in/C1.xlsx", "C1", {"B11": wrong, "B12": hand["B12"]})
    only_filings = rollup(subs, plan_filing_campaign(), as_of=AS_OF, register=register)
    both = rollup(subs + [summary], plan_filing_campaign(), as_of=AS_OF,
                  register={**register, "in/C1.xlsx": at("2012-06-24")})
    assert both.forms["stats"].totals == only_filings.forms["stats"].totals
    assert [(c.unit, c.field, c.source_value, c.summary_value) for c in both.conflicts] == [
        ("B11", "people_total", 20, 99)]
    assert both.conflicts[0].summary_cell == "J7" and both.conflicts[0].source_file == Path("in/b11.xlsx")
    # One provenance entry per branch row of the 统计表, from the filing (the source document).
    stats_rows = [p for p in both.provenance if p.form == "stats"]
    assert sorted(p.unit for p in stats_rows) == ["B11", "B12", "B21", "B22"]
    assert {p.source_form for p in stats_rows} == {"filing"}
    assert [s.status for s in both.statuses if s.form == "stats"] == ["on_time", "missing"]


def test_a_committee_summary_fills_in_for_missing_filings():
    subs, register = four_filings()
    hand = stats_row_from_filing(subs[0])
    summary = stats_sub("in/C2.xlsx", "C2", {"B23": hand})
    result = rollup(subs + [summary], plan_filing_campaign(), as_of=AS_OF,
                    register={**register, "in/C2.xlsx": at("2012-06-26", "09:00")})
    stats = result.forms["stats"]
    assert stats.units["B23"] == hand
    assert stats.coverage["C2"] == Coverage(3, 3, 1)  # B23's row came late with the summary
    prov = next(p for p in result.provenance if p.unit == "B23")
    assert (prov.file, prov.row, prov.cells["people_total"]) == (Path("in/C2.xlsx"), 7, "J7")


def test_provenance_points_at_the_filing_cells():
    subs, register = four_filings()
    result = rollup(subs, plan_filing_campaign(), as_of=AS_OF, register=register)
    b11 = next(p for p in result.provenance if p.unit == "B11" and p.form == "stats")
    assert b11.file == Path("in/b11.xlsx") and b11.sheet == "备案表"
    assert b11.cells["grade_good"] == "B6"  # the 等次 cell
    assert b11.cells["focus_leadership"] == "B20:B21"  # the 问题类别 cells of the two rows
    assert b11.cells["focus_total"] == "A20:A21"


def test_latest_valid_version_counts_and_older_ones_are_superseded():
    first = filing_sub("in/b11-v1.xlsx", "B11", people=(5, 0, 0))
    second = filing_sub("in/b11-v2.xlsx", "B11", people=(7, 0, 0))
    broken_later = invalid(filing_sub("in/b11-v3.xlsx", "B11", people=(100, 0, 0)))
    register = {"in/b11-v1.xlsx": at("2012-06-19"), "in/b11-v2.xlsx": at("2012-06-22"),
                "in/b11-v3.xlsx": at("2012-06-23")}
    result = rollup([broken_later, second, first], plan_filing_campaign(), as_of=AS_OF, register=register)
    assert result.forms["stats"].units["B11"]["people_total"] == 7
    assert [(s.file, s.by) for s in result.superseded] == [(Path("in/b11-v1.xlsx"), Path("in/b11-v2.xlsx"))]
    assert [s.path for s in result.invalid] == [Path("in/b11-v3.xlsx")]
    b11 = next(s for s in result.statuses if s.unit == "B11")
    # Judged on the first valid version (on time); the counted file is the latest valid one.
    assert (b11.status, b11.days_late, b11.file) == ("on_time", 0, Path("in/b11-v2.xlsx"))


def test_same_received_time_breaks_ties_by_path():
    a = filing_sub("in/a.xlsx", "B11", people=(5, 0, 0))
    b = filing_sub("in/b.xlsx", "B11", people=(6, 0, 0))
    same = at("2012-06-19")
    result = rollup([b, a], plan_filing_campaign(), as_of=AS_OF, register={"in/a.xlsx": same, "in/b.xlsx": same})
    assert result.forms["stats"].units["B11"]["people_total"] == 6
    assert result.superseded[0].file == Path("in/a.xlsx")


def test_a_unit_with_only_invalid_files_is_invalid_not_missing_and_not_counted():
    subs, register = four_filings()
    invalid(subs[0])
    result = rollup(subs, plan_filing_campaign(), as_of=AS_OF, register=register)
    b11 = next(s for s in result.statuses if s.unit == "B11")
    assert (b11.status, b11.file) == ("invalid", Path("in/b11.xlsx"))
    assert "B11" not in result.forms["stats"].units
    assert result.forms["stats"].coverage["C1"] == Coverage(2, 1, 1)
    assert result.invalid == [subs[0]]


def test_files_that_count_nowhere_are_set_aside_with_a_reason():
    subs, register = four_filings()
    weekly = weekly_sub("in/weekly.xlsx", "B11", "2012-06-22", {"其他": (1, 1, 0, 0)})
    stranger = filing_sub("in/x.xlsx", None)
    result = rollup(subs + [weekly, stranger], plan_filing_campaign(), as_of=AS_OF, register=register)
    reasons = {s.file.name: s.reason for s in result.set_aside}
    assert reasons == {"weekly.xlsx": "本次活动不收“整改周报表”", "x.xlsx": "无法确定填报单位"}


def test_rollup_for_a_committee_covers_only_its_units():
    subs, register = four_filings()
    district = rollup(subs, plan_filing_campaign(), as_of=AS_OF, register=register)
    c1 = rollup(subs, plan_filing_campaign(), level="C1", as_of=AS_OF, register=register)
    assert c1.level.code == "C1"
    assert list(c1.forms["stats"].units) == ["B11", "B12"]
    assert c1.forms["stats"].totals == district.forms["stats"].units["C1"]
    assert {(s.unit, s.form) for s in c1.statuses} == {("B11", "filing"), ("B12", "filing")}
    assert sorted(s.file.name for s in c1.set_aside) == ["b21.xlsx", "b22.xlsx"]
    own = rollup(subs + [stats_sub("in/C1.xlsx", "C1", {})], plan_filing_campaign(), level="C1", as_of=AS_OF,
                 register=register)
    assert "本级报送" in next(s.reason for s in own.set_aside if s.file.name == "C1.xlsx")
    by_name = rollup(subs, plan_filing_campaign(), level="百胜镇党委", as_of=AS_OF, register=register)
    assert by_name.level.code == "C1"
    with pytest.raises(ConfigError, match="没有代码或名称"):
        rollup(subs, plan_filing_campaign(), level="C9", as_of=AS_OF)


def test_grouping_by_supervision_group_and_type():
    subs, register = four_filings()
    result = rollup(subs, plan_filing_campaign(), as_of=AS_OF, register=register, by="督导组")
    stats = result.forms["stats"]
    assert result.groupings == ("督导组",)
    assert stats.groups["督导组"]["第一督导组"] == stats.units["C1"]
    assert stats.groups["督导组"]["第二督导组"] == stats.units["C2"]
    assert stats.group_coverage["督导组"]["第二督导组"] == Coverage(3, 2, 1)
    by_type = rollup(subs, plan_filing_campaign(), as_of=AS_OF, register=register, by="类型")
    assert set(by_type.forms["stats"].groups["类型"]) == {"乡镇", "机关"}
    with pytest.raises(ConfigError, match="督导组"):
        rollup(subs, plan_filing_campaign(), as_of=AS_OF, by="片区")


def test_json_shape_is_exact_and_deterministic():
    subs, register = four_filings()
    one = rollup(subs, plan_filing_campaign(), as_of=AS_OF, register=register).as_json()
    two = rollup(list(reversed(subs)), plan_filing_campaign(), as_of=AS_OF, register=register).as_json()
    assert json.dumps(one, ensure_ascii=False) == json.dumps(two, ensure_ascii=False)
    assert set(one) == {"as_of", "level", "forms", "submissions", "overdue"}
    assert one["as_of"] == "2012-06-26 10:00:00" and one["level"] == "D"
    assert set(one["forms"]) == {"filing", "stats"}
    assert set(one["forms"]["stats"]) == {"totals", "units"}
    assert all(type(v) is int for f in one["forms"].values() for v in f["totals"].values())
    assert all(type(v) is int for f in one["forms"].values() for u in f["units"].values() for v in u.values())
    assert set(one["submissions"][0]) == {"unit", "form", "period", "status", "days_late", "file"}
    late = next(s for s in one["submissions"] if s["unit"] == "B22")
    assert late == {"unit": "B22", "form": "filing", "period": None, "status": "late", "days_late": 1,
                    "file": "in/b22.xlsx"}


# ---------------------------------------------------------------- ledger: overdue at boundary dates


def ledger_campaign_result(as_of: datetime):
    items = [
        ("年底完成的问题", date(2023, 12, 31), "date", "正在推进", None),  # 12月底
        ("长期坚持的问题", None, "长期坚持", "正在推进", None),
        ("立行立改的问题", None, "立行立改", "未启动", None),  # due on the 填报日期 2023-11-18
        ("完成晚了的问题", date(2023, 11, 10), "date", "已完成", date(2023, 11, 15)),
        ("按时完成的问题", date(2023, 11, 10), "date", "已完成", date(2023, 11, 10)),
        ("很早到期的问题", date(2023, 11, 1), "date", "未启动", None),
        ("已销号的长期问题", None, "长期坚持", "已完成", date(2023, 11, 1), "是"),
    ]
    sub = ledger_sub("in/ledger-b11.xlsx", "B11", items)
    return rollup([sub], three_meetings_campaign(), as_of=as_of,
                  register={"in/ledger-b11.xlsx": at("2023-11-18")})


def overdue_by_item(result):
    return {o.item: (o.status, o.days) for o in result.overdue}


def test_deadline_day_itself_is_not_overdue():
    late_evening = overdue_by_item(ledger_campaign_result(at("2023-12-31", "23:59")))
    assert late_evening["年底完成的问题"] == ("due_soon", 0)
    next_morning = overdue_by_item(ledger_campaign_result(at("2024-01-01", "00:00")))
    assert next_morning["年底完成的问题"] == ("overdue", 1)


def test_overdue_classification_and_order():
    result = ledger_campaign_result(at("2023-11-20", "10:00"))
    assert [(o.item, o.status, o.days) for o in result.overdue] == [
        ("很早到期的问题", "overdue", 19),
        ("完成晚了的问题", "done_late", 5),
        ("立行立改的问题", "overdue", 2),  # due at the file's 填报日期 2023-11-18
        ("长期坚持的问题", "ongoing", 0),  # never overdue, listed last
    ]
    first = result.overdue[0]
    assert (first.row, first.file, first.leader, first.deadline) == (9, Path("in/ledger-b11.xlsx"), "李四",
                                                                     date(2023, 11, 1))
    assert result.overdue[2].deadline_text == "立行立改（2023-11-18）"
    assert result.as_json()["overdue"][0] == {"unit": "B11", "form": "ledger", "file": "in/ledger-b11.xlsx",
                                              "row": 9, "item": "很早到期的问题", "deadline": "2023-11-01",
                                              "status": "overdue", "days": 19}


def test_due_soon_window_and_ledger_figures():
    result = ledger_campaign_result(at("2023-12-24", "08:00"))
    assert overdue_by_item(result)["年底完成的问题"] == ("due_soon", -7)
    result = ledger_campaign_result(at("2023-12-23", "08:00"))
    assert "年底完成的问题" not in overdue_by_item(result)
    figures = result.forms["ledger"].units["B11"]
    assert figures == {"problem_count": 7, "done": 3, "in_progress": 2, "not_started": 2, "overdue": 2,
                       "done_late": 1, "due_soon": 0, "ongoing": 1}
    assert result.forms["ledger"].totals == figures


# ---------------------------------------------------------------- self-check and weekly


def test_self_check_findings_and_meeting_shortfalls():
    answers = [("党务业务培训是否落实到位", "否", 0, ""), ("“三会一课”制度是否严格落实", "是", 2, "支委会未按月召开")]
    subs = [self_check_sub("in/sc-b11.xlsx", "B11", answers, meetings=(1, 1, 3, 1), shortfall=True),
            self_check_sub("in/sc-b21.xlsx", "B21", answers[:1])]
    result = rollup(subs, three_meetings_campaign(), as_of=at("2023-10-26"))
    assert [(f.unit, f.item, f.problem_count, f.problems, f.row) for f in result.findings] == [
        ("B11", "“三会一课”制度是否严格落实", 2, "支委会未按月召开", 7)]
    assert [(unit, p.rule) for unit, p in result.shortfalls] == [("B11", "rule.frequency")]
    assert result.forms["self_check"].totals["problem_count"] == 2
    assert result.forms["self_check"].totals["committee"] == 4


def test_weekly_figures_are_the_latest_week_and_rates_per_week():
    subs = [weekly_sub("in/w1.xlsx", "B11", "2023-10-27", {"三会一课": (4, 1, 2, 1)}),
            weekly_sub("in/w2.xlsx", "B11", "2023-11-03", {"三会一课": (4, 3, 1, 0)}),
            weekly_sub("in/w3.xlsx", "B12", "2023-11-02", {"三会一课": (2, 0, 2, 0)})]  # a Thursday: same week
    result = rollup(subs, three_meetings_campaign(), as_of=at("2023-11-04"))
    weekly = result.forms["weekly"]
    assert weekly.units["B11"]["done"] == 3  # stocks: the latest week, not the sum of weeks
    assert weekly.units["C1"]["problem_count"] == 6 and weekly.units["C1"]["done"] == 3
    assert result.weekly_rates["B11"] == {"2023-10-27": 0.25, "2023-11-03": 0.75}
    assert result.weekly_rates["B12"] == {"2023-11-03": 0.0}
    assert weekly.by_period["2023-10-27"]["D"]["done"] == 1
    periods = sorted({s.period for s in result.statuses if s.form == "weekly"})
    assert periods == ["2023-10-27", "2023-11-03", "2023-11-10"]  # due ones and the next one only


# ---------------------------------------------------------------- end to end on real weekly files


def write_weekly(template, path, report_day, week_start, week_end, counts):
    """Fill a per-unit 周报表 template with openpyxl as a clerk would (values right of the labels)."""
    import openpyxl

    wb = openpyxl.load_workbook(template)
    ws = wb.worksheets[0]
    ws["P2"], ws["E5"], ws["Q5"] = report_day, week_start, week_end
    for row, (n, done, going, idle) in zip(range(8, 13), counts):
        ws[f"G{row}"], ws[f"I{row}"], ws[f"K{row}"], ws[f"M{row}"], ws[f"O{row}"] = n, done, going, idle, 0
    wb.save(path)
    return path


def test_weekly_reports_from_real_files_by_week_and_deadline(tmp_path):
    import os

    from zhenggai_xls.campaign import init_campaign
    from zhenggai_xls.rollup import rollup_inbox
    from zhenggai_xls.spec import load_specs
    from zhenggai_xls.status import BEIJING
    from zhenggai_xls.template import write_template

    campaign = init_campaign(tmp_path / "camp", "three-meetings")
    first, second = [o for o in campaign.orgs if o.level == "党支部"][:2]
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    d = lambda m, day: date(2023, m, day)
    files = []
    for org, week, received, done in [(first, (d(10, 23), d(10, 27)), at("2023-10-27", "11:00"), 1),
                                      (first, (d(10, 30), d(11, 3)), at("2023-11-03", "15:00"), 3),
                                      (second, (d(10, 30), d(11, 2)), at("2023-11-02", "17:00"), 2)]:
        template = write_template(load_specs()["weekly"], tmp_path / f"t-{org.code}.xlsx", unit=org)
        counts = [(4, done, 4 - done, 0)] + [(0, 0, 0, 0)] * 4
        path = write_weekly(template, inbox / f"{org.code}-{week[1]}.xlsx", week[1], *week, counts)
        stamp = received.replace(tzinfo=BEIJING).timestamp()
        os.utime(path, (stamp, stamp))
        files.append(path)
    result = rollup_inbox(inbox, tmp_path / "camp", as_of=at("2023-11-04", "09:00"))
    assert result.invalid == [], [p.message for s in result.invalid for p in s.problems]
    weekly = result.forms["weekly"]
    assert weekly.units[first.code]["done"] == 3 and weekly.units[second.code]["done"] == 2
    assert result.weekly_rates[first.code] == {"2023-10-27": 0.25, "2023-11-03": 0.75}
    got = {(s.unit, s.period): (s.status, s.days_late) for s in result.statuses if s.form == "weekly"}
    assert got[(first.code, "2023-10-27")] == ("on_time", 0)
    assert got[(first.code, "2023-11-03")] == ("late", 1)  # Friday 12:00 was the deadline
    assert got[(second.code, "2023-10-27")] == ("missing", 8)
    assert got[(second.code, "2023-11-03")] == ("on_time", 0)
    assert got[(second.code, "2023-11-10")] == ("missing", 0)  # the week being waited for
    assert (second.code, "2023-11-17") not in got


def test_rollup_inbox_holds_off_garbage_collection_and_restores_it(tmp_path):
    import gc

    from zhenggai_xls.campaign import init_campaign
    from zhenggai_xls.rollup import rollup_inbox
    from zhenggai_xls.spec import load_specs
    from zhenggai_xls.template import write_template

    campaign = init_campaign(tmp_path / "camp", "three-meetings")
    inbox = tmp_path / "inbox"
    for org in [o for o in campaign.orgs if o.level == "党支部"][:3]:
        write_template(load_specs()[next(iter(campaign.forms))], inbox / f"{org.code}.xlsx", unit=org)
    as_of = datetime.now() + timedelta(days=1)  # the files came in before it
    rollup_inbox(inbox, tmp_path / "camp", as_of=as_of)  # what it imports on first use, imported
    collections = []
    thresholds = gc.get_threshold()
    gc.set_threshold(50)  # collect at the slightest growth (a run of thousands of files grows by millions)
    gc.callbacks.append(collect := lambda phase, info: collections.append(phase))
    try:
        result = rollup_inbox(inbox, tmp_path / "camp", as_of=as_of)
    finally:
        gc.callbacks.remove(collect)
        gc.set_threshold(*thresholds)
    assert len(result.invalid) == 3  # blank templates sent back: read, validated and listed
    # Everything built lives to the end: nothing is collected on the way, at most once as collection
    # resumes (without the pause, these three files took hundreds of collections here).
    assert collections in ([], ["start", "stop"])
    assert gc.isenabled()
    with pytest.raises(ConfigError):  # a campaign folder without a campaign: an error inside the pause
        rollup_inbox(inbox, tmp_path)
    assert gc.isenabled()
