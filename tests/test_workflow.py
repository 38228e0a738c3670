"""The whole chain as a district clerk runs it, on real files.

init → per-unit templates → units fill them in (openpyxl) → they come back as
e-mail attachments in an .mbox → collect → status / rollup / remind. Every
figure and every verdict below was worked out by hand from what was filled in
and from the messages' Date headers (the stored files' own mtimes are the time
of collecting, so a right answer proves the register's times were used).
"""
from __future__ import annotations

import json
import sys
from datetime import date, datetime, timezone
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from zhenggai_xls.cli import main

sys.path.insert(0, str(Path(__file__).parent))
from mailtools import Sample, attachment, encoded_word, message, text_body, write_mbox, zip_bytes  # noqa: E402

CRLF = b"\r\n"


def run(*args: str) -> str:
    """One `zhenggai` command; it must succeed; its output."""
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


# ---------------------------------------------------------------- filling templates as units do


def _label_cell(ws, text: str, row: int | None = None):
    for line in ws.iter_rows():
        for cell in line:
            if isinstance(cell.value, str) and cell.value.strip().rstrip("：") == text and row in (None, cell.row):
                return cell
    raise KeyError(text)


def put(ws, label: str, value) -> None:
    """Type `value` into the input cell right of `label` (after the label's merged range)."""
    cell = _label_cell(ws, label)
    end = next((m.max_col for m in ws.merged_cells.ranges if cell.coordinate in m), cell.column)
    ws.cell(cell.row, end + 1).value = value


def open_sheet(path: Path):
    book = openpyxl.load_workbook(path)
    return book, book.worksheets[0]


FILING_COUNTS = ("座谈会（次）", "信函（封）", "电话短信（人）", "其他（次）", "共（人）", "两代表一委员（人）", "党外群众（人）",
                 "领导班子建设（条）", "党员队伍建设（条）", "工作机制建设（条）", "工作业绩（条）", "群众反映（条）")


def fill_filing(template: Path, out: Path, grade: str, figures: tuple, *, total: int | None = None,
                measure: str = "每月集中学习一次") -> bytes:
    """A 备案表: grade, 4 opinion forms, 3 people counts, 5 content counts, one 集中整改问题."""
    book, ws = open_sheet(template)
    put(ws, "填报日期", date(2012, 6, 18))
    put(ws, "填报人", "张书记")
    put(ws, "联系电话", "13900000000")
    put(ws, "评定单位", "上级党委")
    put(ws, "等次", grade)
    for label, value in zip(FILING_COUNTS, figures):
        put(ws, label, value)
    put(ws, "共（条）", sum(figures[7:]) if total is None else total)
    row = {k: _label_cell(ws, k).column for k in ("序号", "问题类别", "集中整改问题", "整改措施", "完成时限", "上级党组织联系指导人")}
    for key, value in zip(row, (1, "领导班子建设", "班子学习不经常", measure, date(2012, 9, 30), "李华")):
        ws.cell(12, row[key]).value = value or None
    book.save(out)
    return out.read_bytes()


def fill_stats(template: Path, out: Path, rows: dict[str, tuple]) -> bytes:
    """A committee's 统计表: 23 figures typed on the row of each named branch."""
    book, ws = open_sheet(template)
    put(ws, "填报日期", date(2012, 6, 24))
    for name, values in rows.items():
        r = _label_cell(ws, name).row
        for i, value in enumerate(values):
            ws.cell(r, 2 + i).value = value
    book.save(out)
    return out.read_bytes()


def mail(files: list[tuple[str, bytes]], sender: str, when: str, mid: str, zipped: str | None = None) -> Sample:
    """A message with the files attached (GBK RFC 2047 names), or packed in one zip with GBK names."""
    if zipped:
        parts = [attachment(b'attachment; filename="' + encoded_word(zipped, "GBK") + b'"',
                            zip_bytes(files, gbk_names=True), ctype=b"application/zip")]
    else:
        parts = [attachment(b'attachment; filename="' + encoded_word(name, "GBK") + b'"', data)
                 for name, data in files]
    raw = message([text_body(), *parts], sender=sender.encode(), subject=encoded_word("报送报表", "UTF-8"),
                  date=when, message_id=mid)
    return Sample(raw, datetime(2012, 6, 30, tzinfo=timezone.utc))


# ---------------------------------------------------------------- plan-filing


@pytest.fixture(scope="module")
def plan_filing(tmp_path_factory):
    """The plan-filing campaign after `collect`: (campaign folder, inbox, collect --json)."""
    root = tmp_path_factory.mktemp("pf")
    camp, units, filled = root / "pf", root / "units", root / "filled"
    run("init", camp, "--preset", "plan-filing")
    run("template", "--campaign", camp, "--per-unit", "-o", units)
    filled.mkdir()

    def filing(name: str, grade: str, figures: tuple, out: str | None = None, **kw) -> tuple[str, bytes]:
        out = out or f"{name}.xlsx"
        return out, fill_filing(units / "整改方案备案表" / f"{name}_整改方案备案表.xlsx", filled / out, grade, figures, **kw)

    guanwei = filing("李渡新区管委会机关党支部", "好", (2, 1, 3, 0, 20, 3, 5, 2, 1, 1, 0, 1))
    yuanqu = filing("李渡工业园区非公企业联合党支部", "较好", (1, 0, 0, 1, 12, 1, 2, 1, 1, 0, 0, 0))
    wuliu = filing("李渡新区物流企业党支部", "好", (1, 0, 0, 0, 6, 1, 1, 1, 0, 0, 0, 0))
    dunren = filing("敦仁街道机关党支部", "好", (3, 0, 2, 0, 30, 4, 10, 1, 1, 1, 1, 1))
    fuyou = filing("涪陵区妇幼保健院党支部", "较好", (1, 1, 0, 0, 7, 1, 1, 0, 0, 0, 1, 0))
    wrong = filing("敦仁街道兴华路社区党支部", "较差", (1, 0, 0, 0, 5, 1, 1, 1, 1, 0, 0, 0), "兴华路.xlsx", total=5)
    zizhu1 = filing("百胜镇紫竹村党支部", "较好", (2, 2, 0, 0, 15, 2, 3, 1, 0, 1, 0, 0), "紫竹村1.xlsx", measure="")
    zizhu2 = filing("百胜镇紫竹村党支部", "较好", (2, 2, 0, 0, 15, 2, 3, 1, 0, 1, 0, 0), "紫竹村2.xlsx")
    bajiao1 = filing("百胜镇八角村党支部", "一般", (1, 1, 1, 1, 9, 1, 1, 1, 1, 0, 0, 0), "八角村1.xlsx")
    bajiao2 = filing("百胜镇八角村党支部", "一般", (1, 1, 1, 1, 9, 1, 2, 1, 1, 0, 0, 0), "八角村2.xlsx")
    #                  好 较好 一般 较差 | 形式 4 | 对象 3 | 问题梳理 合计+5 | 拟集中整改 合计+5
    stats = ("卫生局统计表.xlsx", fill_stats(
        units / "整改方案制定情况统计表" / "中共重庆市涪陵区卫生局委员会_整改方案制定情况统计表.xlsx", filled / "stats.xlsx", {
            "涪陵区中心医院第二党支部": (0, 1, 0, 0, 1, 1, 1, 0, 11, 1, 3, 3, 1, 1, 1, 0, 0, 2, 1, 1, 0, 0, 0),
            "涪陵区妇幼保健院党支部": (0, 1, 0, 0, 1, 1, 0, 0, 7, 1, 2, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0)}))
    first = mail([guanwei, yuanqu], "李华 <lidu@example.org>", "Tue, 19 Jun 2012 09:00:00 +0800", "m1@x",
                 zipped="李渡两个支部.zip")
    samples = [
        first,
        mail([wuliu], "<lidu-wuliu@example.org>", "Fri, 22 Jun 2012 10:00:00 +0800", "m2@x"),
        mail([dunren], "<dunren-jiguan@example.org>", "Wed, 20 Jun 2012 23:30:00 +0800", "m3@x"),
        mail([fuyou], "<fuyou@example.org>", "Wed, 20 Jun 2012 16:00:30 +0000", "m4@x"),  # 6-21 00:00:30 in Beijing
        mail([wrong, ("整改说明.docx", b"PK\x03\x04 not a document")], "<xinghualu@example.org>",
             "Tue, 19 Jun 2012 11:00:00 +0800", "m5@x"),
        mail([zizhu1], "<zizhu@example.org>", "Tue, 19 Jun 2012 15:00:00 +0800", "m6@x"),
        mail([zizhu2], "<zizhu@example.org>", "Thu, 21 Jun 2012 09:00:00 +0800", "m7@x"),
        mail([bajiao1], "<bajiao@example.org>", "Mon, 18 Jun 2012 08:00:00 +0800", "m8@x"),
        mail([bajiao2], "<bajiao@example.org>", "Fri, 22 Jun 2012 08:00:00 +0800", "m9@x"),
        mail([stats], "<weishengju@example.org>", "Sun, 24 Jun 2012 17:00:00 +0800", "m10@x"),
        Sample(message([text_body("转发"), CRLF.join([b"Content-Type: message/rfc822", b"", first.raw])],
                       sender=b"<lidu@example.org>", subject=b"Fwd", date="Mon, 25 Jun 2012 08:00:00 +0800",
                       message_id="m11@x"), first.internaldate),
    ]
    box = write_mbox(samples, root / "box.mbox")
    inbox = root / "inbox"
    collected = json.loads(run("collect", box, "-o", inbox, "--campaign", camp, "--json"))
    return camp, inbox, collected


def test_register_says_what_became_of_every_attachment(plan_filing):
    _, inbox, collected = plan_filing
    got = [(a["filename"], a["status"]) for a in collected["attachments"]]
    assert got == [("李渡新区管委会机关党支部.xlsx", "accepted"), ("李渡工业园区非公企业联合党支部.xlsx", "accepted"),
                   ("李渡新区物流企业党支部.xlsx", "accepted"), ("敦仁街道机关党支部.xlsx", "accepted"),
                   ("涪陵区妇幼保健院党支部.xlsx", "accepted"), ("兴华路.xlsx", "accepted"),
                   ("整改说明.docx", "rejected"), ("紫竹村1.xlsx", "accepted"), ("紫竹村2.xlsx", "accepted"),
                   ("八角村1.xlsx", "accepted"), ("八角村2.xlsx", "accepted"), ("卫生局统计表.xlsx", "accepted"),
                   ("李渡新区管委会机关党支部.xlsx", "duplicate"), ("李渡工业园区非公企业联合党支部.xlsx", "duplicate")]
    by_name = {a["filename"]: a for a in collected["attachments"] if a["status"] == "accepted"}
    assert by_name["涪陵区妇幼保健院党支部.xlsx"]["unit"] == "00100404"
    assert by_name["卫生局统计表.xlsx"]["form"] == "stats"
    assert all((inbox / a["stored"]).is_file() for a in collected["attachments"])
    # Collecting the same mailbox again adds nothing: the same register.
    again = json.loads(run("collect", inbox.parent / "box.mbox", "-o", inbox, "--json"))
    assert again == collected


def test_statuses_and_days_late_come_from_the_date_headers(plan_filing):
    camp, inbox, _ = plan_filing
    data = json.loads(run("rollup", inbox, "--campaign", camp, "--as-of", "2012-06-26", "-o",
                          inbox.parent / "汇总表.xlsx", "--json"))
    assert set(data) == {"as_of", "level", "forms", "submissions", "overdue"}
    assert data["as_of"] == "2012-06-26 23:59:59" and data["level"] == "001"
    verdict = {(s["unit"], s["form"]): (s["status"], s["days_late"]) for s in data["submissions"]}
    assert verdict[("00100101", "filing")] == ("on_time", 0)  # in the zip of 6-19
    assert verdict[("00100104", "filing")] == ("late", 2)  # 6-22 10:00: 1 day 10 hours after the deadline
    assert verdict[("00100201", "filing")] == ("on_time", 0)  # 23:30 on the deadline day itself
    assert verdict[("00100404", "filing")] == ("late", 1)  # 16:00:30 UTC is 00:00:30 the next day in Beijing
    assert verdict[("00100202", "filing")] == ("invalid", 0)
    assert verdict[("00100302", "filing")] == ("late", 1)  # the first valid version came 6-21 09:00
    assert verdict[("00100303", "filing")] == ("on_time", 0)  # judged on the first valid version
    assert verdict[("00100103", "filing")] == ("missing", 6)
    assert verdict[("001004", "stats")] == ("on_time", 0)
    assert verdict[("001001", "stats")] == ("missing", 1)
    assert len(verdict) == 22 and sum(1 for s, _ in verdict.values() if s == "missing") == 13
    filing = data["forms"]["filing"]["totals"]
    # 管委会 + 园区 + 物流 + 敦仁 + 妇幼 + 紫竹村(2nd) + 八角村(2nd), by hand:
    assert (filing["opinion_meeting"], filing["people_total"], filing["people_nonparty"], filing["content_total"]) \
        == (11, 99, 24, 18)
    stats = data["forms"]["stats"]
    # the same seven from their 备案表, plus 中心医院第二 from the 卫生局's 统计表 (妇幼 counted once, from its 备案表)
    assert (stats["totals"]["people_total"], stats["totals"]["people_nonparty"]) == (110, 27)
    assert (stats["totals"]["grade_good"], stats["totals"]["grade_fair"], stats["totals"]["grade_average"]) == (3, 4, 1)
    assert stats["totals"]["focus_total"] == 9
    assert stats["units"]["001004"]["people_total"] == 18 and stats["units"]["00100403"]["people_total"] == 11
    book = openpyxl.load_workbook(inbox.parent / "汇总表.xlsx")
    rows = {r[0]: r for r in book["报送情况"].iter_rows(min_row=4, values_only=True)}
    assert rows["涪陵区妇幼保健院党支部"][6] == datetime(2012, 6, 21, 0, 0, 30)
    assert [r[0] for r in book["未通过校验与被替代"].iter_rows(values_only=True)].count("八角村1.xlsx") == 1


def test_as_of_typed_the_way_clerks_type_dates(plan_filing):
    camp, inbox, _ = plan_filing
    last = run("status", inbox, "--campaign", camp, "--as-of", "2012-06-26").splitlines()[-1]
    for typed in ("2012/6/26", "2012-6-26", "2012年6月26日"):
        assert run("status", inbox, "--campaign", camp, "--as-of", typed).splitlines()[-1] == last
    assert "2012-06-26 09:00" in run("status", inbox, "--campaign", camp, "--as-of", "2012/6/26 9:00")
    bad = CliRunner().invoke(main, ["status", str(inbox), "--campaign", str(camp), "--as-of", "6月31日"])
    assert bad.exit_code == 2 and "不是日期时间" in bad.output and "Traceback" not in bad.output


def test_by_supervision_group_writes_a_sheet_whose_groups_add_up(plan_filing):
    camp, inbox, _ = plan_filing
    out = inbox.parent / "按督导组.xlsx"
    data = json.loads(run("rollup", inbox, "--campaign", camp, "--as-of", "2012-06-26", "--by", "督导组", "-o", out,
                          "--json"))
    sheet = openpyxl.load_workbook(out)["按督导组汇总"]
    rows = [r for r in sheet.iter_rows(values_only=True) if any(v is not None for v in r)]
    start = next(i for i, r in enumerate(rows) if r[0] == "整改方案制定情况统计表")
    head = rows[start + 1]
    assert head[0] == "督导组" and head[-3:] == ("应报", "已报", "按时")
    people = head.index("征求意见情况\n对象\n人次")
    block = {r[0]: r for r in rows[start + 2:start + 7]}
    # each committee is its own 督导组 in the preset tree: a group's figures are its committee's subtotal
    assert block["第一督导组"][people] == data["forms"]["stats"]["units"]["001001"]["people_total"]
    assert block["第四督导组"][people] == data["forms"]["stats"]["units"]["001004"]["people_total"] == 18
    assert block["第四督导组"][-3:] == (5, 2, 1)  # 应报 5 branches; 中心医院第二 (统计表, on time) and 妇幼 (late)
    assert block["合计"][people] == data["forms"]["stats"]["totals"]["people_total"] == 110
    assert sum(block[g][people] for g in block if g != "合计") == 110


# ---------------------------------------------------------------- three-meetings


def fill_weekly(template: Path, out: Path, friday: str, done: int, total: int = 4) -> bytes:
    """A 周报表 for the week ending `friday`: 党务业务培训 2 of 2 done, 三会一课 `done` of `total`."""
    book, ws = open_sheet(template)
    day = date.fromisoformat(friday)
    put(ws, "填报日期", day)
    put(ws, "本周起始日期", date.fromordinal(day.toordinal() - 6))
    put(ws, "本周截止日期", day)
    cols = [_label_cell(ws, k, 6).column for k in ("问题数", "已完成", "正在推进", "未启动", "本周新完成")]
    for item, figures in (("党务业务培训", (2, 2, 0, 0, 0)), ("三会一课", (total, done, total - done, 0, 0))):
        r = _label_cell(ws, item).row
        for c, value in zip(cols, figures):
            ws.cell(r, c).value = value
    book.save(out)
    return out.read_bytes()


def fill_ledger(template: Path, out: Path, items: list[tuple]) -> bytes:
    """A 整改清单 from row 6: (问题描述, 整改时限, 完成情况, 完成时间)."""
    book, ws = open_sheet(template)
    put(ws, "填报日期", date(2023, 11, 18))
    for i, (text, deadline, state, done) in enumerate(items):
        values = (i + 1, "三会一课", text, "立即整改", "王磊", "李娜", deadline, state, done, None, "否")
        for c, value in enumerate(values, start=1):
            cell = ws.cell(6 + i, c)
            cell.value = value
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # typed as text, as Excel keeps a leading apostrophe
    book.save(out)
    return out.read_bytes()


FRIDAYS = ("2023-10-27", "2023-11-03", "2023-11-10", "2023-11-17")
HEADER_DAYS = ("Fri, 27 Oct 2023", "Fri, 03 Nov 2023", "Fri, 10 Nov 2023", "Fri, 17 Nov 2023")


@pytest.fixture(scope="module")
def three_meetings(tmp_path_factory):
    """The three-meetings campaign after collect: (campaign folder, inbox, per-unit templates folder)."""
    root = tmp_path_factory.mktemp("tm")
    camp, units, filled = root / "tm", root / "units", root / "filled"
    run("init", camp, "--preset", "three-meetings")
    run("template", "--campaign", camp, "--per-unit", "-o", units)
    filled.mkdir()
    weekly = units / "整改周报表"
    samples = []
    for week, (friday, day) in enumerate(zip(FRIDAYS, HEADER_DAYS)):
        for name, sender, done, clock in (("清溪镇机关第一党支部", "jiguan-1", week + 1, "09:00"),
                                          ("中共清溪镇机关总支部委员会", "jiguan", min(week, 2), "11:59"),
                                          ("清溪镇机关第二党支部", "jiguan-2", (1, 3, 2, None)[week], "10:00")):
            if done is None:
                continue  # 机关第二党支部 never sent the last week
            file = f"{sender}-{week + 1}.xlsx"
            data = fill_weekly(weekly / f"{name}_整改周报表.xlsx", filled / file, friday, done,
                               total=2 if sender == "jiguan" else 4)
            late = "15:00" if (sender, week) == ("jiguan-1", 0) else clock  # week 1: three hours late
            samples.append(mail([(file, data)], f"<{sender}@example.org>", f"{day} {late}:00 +0800",
                                f"w{week}{sender}@x"))
    ledger = fill_ledger(units / "整改清单" / "清溪镇机关第一党支部_整改清单.xlsx", filled / "ledger.xlsx", [
        ("支委会未按月召开", date(2023, 11, 10), "正在推进", None),
        ("党务干部未培训", date(2023, 11, 1), "已完成", date(2023, 11, 5)),
        ("党课记录不全", date(2023, 11, 25), "正在推进", None),
        ("学习流于形式", "长期坚持", "正在推进", None),
        ("发展程序不规范", "2023年12月底", "正在推进", None),
        ('=HYPERLINK("http://example.org","点我")', "11月17日前", "未启动", None),
        ("党员大会出勤低", date(2023, 11, 21), "正在推进", None),
    ])
    samples.append(mail([("清单.xlsx", ledger)], "<jiguan-1@example.org>", "Sat, 18 Nov 2023 10:00:00 +0800", "l@x"))
    box = write_mbox(samples, root / "box.mbox")
    inbox = root / "inbox"
    run("collect", box, "-o", inbox, "--campaign", camp)
    return camp, inbox, units


def test_campaign_templates_include_the_committees_that_report(three_meetings):
    _, _, units = three_meetings
    names = {p.name for p in (units / "整改周报表").iterdir()}
    assert len(names) == 18  # 3 党(工)委 and 15 党支部 report weekly in this campaign
    assert "中共清溪镇机关总支部委员会_整改周报表.xlsx" in names
    assert not (units / "整改方案备案表").exists()  # not a form of this campaign


def test_three_meetings_weeks_overdue_items_and_trend(three_meetings):
    camp, inbox, _ = three_meetings
    out = inbox.parent / "汇总表.xlsx"
    data = json.loads(run("rollup", inbox, "--campaign", camp, "--as-of", "2023-11-21 09:00", "-o", out, "--json"))
    weeks = {(s["unit"], s["period"]): (s["status"], s["days_late"]) for s in data["submissions"]
             if s["form"] == "weekly" and s["unit"] in ("0101", "0102", "01")}
    assert weeks[("0101", "2023-10-27")] == ("late", 1)
    assert weeks[("0102", "2023-11-17")] == ("missing", 4)
    assert sum(1 for s, _ in weeks.values() if s == "on_time") == 10
    overdue = [(o["item"], o["status"], o["days"], o["row"], o["deadline"]) for o in data["overdue"]]
    assert overdue == [("支委会未按月召开", "overdue", 11, 6, "2023-11-10"),
                       ('=HYPERLINK("http://example.org","点我")', "overdue", 4, 11, "2023-11-17"),
                       ("党务干部未培训", "done_late", 4, 7, "2023-11-01"),
                       ("党员大会出勤低", "due_soon", 0, 12, "2023-11-21"),
                       ("党课记录不全", "due_soon", -4, 8, "2023-11-25"),
                       ("学习流于形式", "ongoing", 0, 9, None)]
    totals = data["forms"]["weekly"]["totals"]
    # latest week of each: 0101 week 4 (6 of 6), 0102 week 3 (4 of 6), 01 itself week 4 (4 of 4)
    assert (totals["problem_count"], totals["done"]) == (16, 14)

    book = openpyxl.load_workbook(out)
    words = {r[0]: r[-1] for r in book["整改周报表"].iter_rows(values_only=True) if r[0]}
    assert words["清溪镇机关第二党支部"] == "未报送 1 期（11-17）"  # not 按时报送 because week 3 was on time
    assert words["清溪镇机关第一党支部"] == "逾期报送 1 期（10-27）"
    assert words["小计：镇机关党总支"] == "本级：按时报送"
    trend = {r[0]: r[1:5] for r in book["周报趋势"].iter_rows(values_only=True) if r[0]}
    # a unit that skipped a week still counts with its last week: the last rate equals the totals' 14 / 16
    assert trend["中共清溪镇委员会"][3] == pytest.approx(14 / 16)
    assert trend["清溪镇机关第二党支部"][3] is None  # the unit's own row stays blank for the week it missed
    item = next(c for row in book["逾期事项"].iter_rows() for c in row if str(c.value).startswith("=HYPERLINK"))
    assert item.data_type == "s"  # text from a submission stays text
    status_rows = [r for r in book["报送情况"].iter_rows(min_row=4)  # names and "2023-11-03" fit on one line
                   if r[3].value == "2023-11-03" and r[0].value in ("清溪镇机关第一党支部", "清溪镇机关第二党支部")]
    assert status_rows and all(book["报送情况"].row_dimensions[r[0].row].height <= 21 for r in status_rows)

    reminder = run("remind", inbox, "--campaign", camp, "--as-of", "2023-11-21 09:00", "-o", inbox.parent / "催报.xlsx")
    assert "（2023-11-17 这一期）" in reminder.split("== 清溪镇机关第二党支部")[1].split("==")[0]


def test_a_summary_without_a_closing_form_is_rejected_once_not_misread(three_meetings, tmp_path):
    camp, inbox, _ = three_meetings
    summary = tmp_path / "committee" / "汇总表.xlsx"
    run("rollup", inbox, "--campaign", camp, "--level", "01", "--as-of", "2023-11-21 09:00", "-o", summary)
    result = CliRunner().invoke(main, ["validate", str(summary), "--campaign", str(camp), "--json"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.output)
    (only,) = data["files"]
    assert only["rejected"] and [p["rule"] for p in only["problems"]] == ["file.summary"]
    assert "汇总表" in only["problems"][0]["message"]
