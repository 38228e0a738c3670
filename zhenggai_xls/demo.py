"""A demo campaign: the `plan-filing` preset, a realistic inbox, its roll-up and summary workbook.

`build_demo(folder)` writes a campaign folder (`zhenggai init … --preset
plan-filing`), adds a 整改清单 (ledger) from the 党(工)委, fills an inbox with
what a district office really gets back — clean 备案表 from most branches,
late ones, a messy hand-typed one, invalid ones, a resend, a committee's 统计表,
junk attachments — then validates, rolls up and writes `汇总表.xlsx`.

Everything is seeded, and received times are the files' modification times,
so the same call gives the same workbook. The file writers here draw each form
from its spec with template.py's own header code (no per-form layout).
"""
from __future__ import annotations

import os
import random
import shutil
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Mapping, Sequence

import xlsxwriter

from .campaign import CAMPAIGN_FILE, Campaign, init_campaign, load_campaign
from .excel import METADATA_SHEET, sheet_name
from .orgs import Org, OrgTree
from .report import write_summary
from .rollup import RollupResult, rollup_inbox
from .spec import Spec, Table, load_specs
from .status import BEIJING, overdue_words
from .template import Formats, Grid, column_width, template_metadata, write_table_header, write_templates

PRESET = "plan-filing"
SEED = 2012
SUMMARY_FILE = "汇总表.xlsx"
DEMO_MARKER = ".zhenggai-demo"  # marks a folder `zhenggai demo` may rebuild
ALL_TEMPLATES = "全部空白模板"  # every form's blank template, to look at
INBOX = "inbox"
CATEGORIES = ("领导班子建设", "党员队伍建设", "工作机制建设", "工作业绩", "群众反映")
CONTENT_KEYS = ("content_leadership", "content_members", "content_mechanism", "content_performance",
                "content_public")
GRADES = {"好": "grade_good", "较好": "grade_fair", "一般": "grade_average", "较差": "grade_poor"}

# Problems and measures in the style of the source documents (seeds 001–003), by 五个好 category.
ISSUES: dict[str, tuple[tuple[str, str], ...]] = {
    "领导班子建设": (
        ("班子成员理论学习不够经常，学习笔记记录不全", "制定班子年度学习计划，每月集中学习不少于1次，支部书记每季度调阅学习笔记"),
        ("支部书记抓党建主体责任落实不到位，专题研究党建工作较少", "每季度至少专题研究1次党建工作，年底向上级党委述职"),
        ("班子成员联系群众不够经常，深入基层调研少", "班子成员每月到联系点调研不少于2次，形成调研报告"),
    ),
    "党员队伍建设": (
        ("部分党员参加组织生活不积极，流动党员管理不到位", "建立流动党员联系台账，每月电话联系一次，缺席两次以上的谈心谈话"),
        ("发展党员程序不够规范，入党材料归档不及时", "对照发展党员工作细则逐项自查，补齐缺失材料，指定专人管理档案"),
        ("党员先锋模范作用发挥不明显", "开展党员示范岗创建活动，每名党员认领一项服务承诺"),
    ),
    "工作机制建设": (
        ("“三会一课”记录不规范，会议内容单一", "统一使用规范记录本，会前报送议题，党委每月抽查一次"),
        ("党务公开不及时，公开内容不全面", "建立党务公开目录，每季度更新公开栏，重大事项随时公开"),
        ("民主评议党员流于形式", "严格按程序开展民主评议，评议结果在支部内公示"),
    ),
    "工作业绩": (
        ("为民服务承诺事项办结率不高", "梳理承诺事项清单，明确办结时限，每月通报办理进度"),
        ("党建与业务工作结合不紧密，推动中心工作办法不多", "每名党员认领一项业务攻坚任务，年底评比晾晒"),
    ),
    "群众反映": (
        ("群众反映办事程序繁琐、等待时间长", "精简办事流程，推行一次性告知和限时办结，设立意见箱每周开箱"),
        ("联系服务群众不够经常，走访覆盖面不广", "党员干部每月走访联系户不少于2户，建立民情日记"),
        ("窗口服务态度生硬，群众满意度不高", "开展文明服务培训，推行服务对象评价，评价结果与考核挂钩"),
    ),
}
GUIDANCE = ("问题查找准确，措施具体可行，同意备案。", "整改时限明确，请抓好落实，按期报送整改情况。",
            "措施针对性较强，同意备案，请注意征求群众意见。")


@dataclass
class DemoResult:
    """What `build_demo` made: the folders, the inbox files, the roll-up and the workbook."""

    folder: Path
    inbox: Path
    workbook: Path
    campaign: Campaign
    result: RollupResult
    files: list[Path] = field(default_factory=list)
    cases: dict[str, list[str]] = field(default_factory=dict)  # case -> unit names (or file names)

    def summary_lines(self) -> list[str]:
        """A short Chinese summary for the terminal."""
        c = self.result.counts()
        tree = self.campaign.orgs
        units = [tree.root, *tree.descendants(tree.root.code)]
        levels = {lv: sum(1 for o in units if o.level == lv) for lv in ("区", "党(工)委", "党支部")}
        return [
            f"演示活动已生成：{self.folder}",
            f"  活动：{self.campaign.name}（截至 {self.result.as_of:%Y-%m-%d %H:%M}）",
            f"  组织：{levels['区']} 个区、{levels['党(工)委']} 个党(工)委、{levels['党支部']} 个党支部",
            f"  收件：{self.inbox} 中 {len(self.files)} 个文件（含逾期、格式不规范、有错误、重复报送和非表格附件）",
            f"  报送：应报 {c['expected']} 份，按时 {c['on_time']}，逾期 {c['late']}，未报 {c['missing']}，"
            f"未通过校验 {c['invalid']}",
            f"  逾期事项：{overdue_words(self.result.overdue)}；被替代的旧版本：{len(self.result.superseded)} 份",
            f"  汇总表：{self.workbook}",
            f"  空白模板：{self.folder / ALL_TEMPLATES}（全部 {len(load_specs())} 张表）",
            f"下一步：用 Excel 或 WPS 打开汇总表；或运行 zhenggai status {self.inbox} --campaign {self.folder}",
        ]


# ---------------------------------------------------------------- entry point


def build_demo(folder: Path | str, seed: int = SEED) -> DemoResult:
    """Write a demo campaign into `folder` (new, empty or an earlier demo), roll it up, write the summary."""
    folder = Path(folder)
    if (folder / DEMO_MARKER).is_file():  # an earlier demo run: build it anew
        shutil.rmtree(folder)
    campaign = init_campaign(folder, PRESET)
    (folder / DEMO_MARKER).write_text("zhenggai demo\n", encoding="utf-8")
    _extend_campaign(folder, campaign.year)
    campaign = load_campaign(folder)
    inbox = folder / INBOX
    inbox.mkdir()
    maker = _InboxMaker(campaign, inbox, random.Random(seed))
    maker.make()
    result = rollup_inbox(inbox, folder, as_of=as_of(campaign.year))
    workbook = write_summary(result, folder / SUMMARY_FILE)
    write_templates(load_specs().values(), folder / ALL_TEMPLATES)
    return DemoResult(folder, inbox, workbook, campaign, result, sorted(maker.files), maker.cases)



def as_of(year: int) -> datetime:
    """The demo's as-of time: the morning after the 统计表 deadline."""
    return datetime(year, 6, 26, 9, 0)


def _extend_campaign(folder: Path, year: int) -> None:
    """Add the 整改清单 (from each 党(工)委) and the as-of time to the preset's campaign.yaml."""
    path = folder / CAMPAIGN_FILE
    text = path.read_text(encoding="utf-8").rstrip("\n")
    text += (f"\n  ledger:                  # 整改清单（演示）：各党(工)委汇总本单位整改台账，6月25日前报送"
             f"\n    levels: [党(工)委]\n    deadline: {year}-06-25\n"
             f"as_of: \"{as_of(year):%Y-%m-%d %H:%M}\"   # 演示数据的统计截止时点\n")
    path.write_text(text, encoding="utf-8")


# ---------------------------------------------------------------- the inbox


def _moment(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute)


def _set_received(path: Path, moment: datetime) -> None:
    """A file's modification time = when it was received (Beijing time), as rollup reads it."""
    stamp = moment.replace(tzinfo=BEIJING).timestamp()
    os.utime(path, (stamp, stamp))


@dataclass
class _Filing:
    """One branch's 备案表 contents."""

    org: Org
    header: dict[str, Any]
    rows: list[dict[str, Any]]

    def stats_row(self) -> dict[str, int]:
        """The branch's 统计表 row, as a careful committee clerk would copy it."""
        h = self.header
        row = {k: 0 for k in GRADES.values()}
        row[GRADES[h["grade"]]] = 1
        for k in ("opinion_meeting", "opinion_letter", "opinion_sms", "opinion_other", "people_total",
                  "people_reps", "people_nonparty"):
            row[k] = h[k]
        row["found_total"] = h["content_total"]
        focus = [r["category"] for r in self.rows]
        row["focus_total"] = len(focus)
        for cat, ckey in zip(CATEGORIES, CONTENT_KEYS):
            short = ckey.removeprefix("content_")
            row[f"found_{short}"] = h[ckey]
            row[f"focus_{short}"] = focus.count(cat)
        return row


class _InboxMaker:
    """Writes the demo's submissions: clean, late, messy, invalid, resent, missing, junk."""

    def __init__(self, campaign: Campaign, inbox: Path, rng: random.Random):
        self.campaign = campaign
        self.tree: OrgTree = campaign.orgs
        self.inbox = inbox
        self.rng = rng
        self.year = campaign.year
        self.specs = load_specs()
        self.files: list[Path] = []
        self.cases: dict[str, list[str]] = {}

    def note(self, case: str, name: str) -> None:
        self.cases.setdefault(case, []).append(name)

    def make(self) -> None:
        root = self.tree.root
        committees = [o for o in self.tree.children(root.code) if o.level == "党(工)委"]
        branches = self.tree.branches_under(root.code)
        if len(committees) < 3 or len(branches) < 15:
            raise ValueError("the demo needs at least 3 党(工)委 and 15 党支部")
        first_branches = self.tree.branches_under(committees[0].code)
        via_summary = first_branches[-1]  # reported only through its committee's 统计表
        special = {
            3: "missing", 12: "missing", 5: "late", 14: "late", 8: "wrong_sum", 16: "no_measure",
            1: "messy", 10: "resent",
        }
        filings: dict[str, _Filing] = {}
        for i, org in enumerate(branches):
            case = special.get(i, "on_time")
            if org.code == via_summary.code:
                case = "via_summary"
            filing = self.filing(org)
            filings[org.code] = filing
            self.branch_files(org, filing, case)
        self.committee_stats(committees[0], filings, via_summary, valid=True)
        self.committee_stats(committees[1], filings, None, valid=False)
        for i, committee in enumerate(committees[:3]):
            self.ledger(committee, late=(i == 2))
        for committee in committees[3:]:
            self.note("committee_missing", committee.name)
        self.junk()

    # ------------------------------------------------ contents

    def filing(self, org: Org) -> _Filing:
        """Seeded figures and 集中整改问题 of one branch."""
        rng, y = self.rng, self.year
        parent = self.tree.get(org.parent)
        content = [rng.choice((0, 1, 1, 2, 2, 3, 4)) for _ in CATEGORIES]
        while sum(1 for c in content if c) < 2:
            content[rng.randrange(len(content))] += 1
        total = rng.randint(15, 90)
        reps = rng.randint(0, 5)
        header: dict[str, Any] = {
            "reporting_unit": org.name, "report_date": date(y, 6, rng.randint(12, 18)),
            "filled_by": org.contact, "contact_phone": org.phone, "branch_name": org.name,
            "rated_by": (parent.aliases[0] if parent.aliases else parent.name),
            "grade": rng.choices(list(GRADES), weights=(35, 40, 20, 5))[0],
            "opinion_meeting": rng.randint(1, 4), "opinion_letter": rng.randint(0, 12),
            "opinion_sms": rng.randint(0, 25), "opinion_other": rng.randint(0, 2),
            "people_total": total, "people_reps": reps, "people_nonparty": rng.randint(3, min(30, total - reps)),
            "content_total": sum(content), **dict(zip(CONTENT_KEYS, content)),
            "guidance": rng.choice(GUIDANCE),
        }
        header["guidance_date"] = header["report_date"]
        cats = [c for c, n in zip(CATEGORIES, content) if n]
        chosen = rng.sample(cats, k=min(len(cats), rng.randint(2, 4)))
        deadlines = (date(y, 7, 31), date(y, 8, 31), date(y, 9, 30), date(y, 12, 31), "立行立改", "长期坚持")
        rows = []
        for n, cat in enumerate(sorted(chosen, key=CATEGORIES.index), 1):
            problem_text, measure = rng.choice(ISSUES[cat])
            rows.append({"seq": str(n), "category": cat, "problem": problem_text, "measure": measure,
                         "deadline": rng.choice(deadlines), "contact": parent.contact})
        return _Filing(org, header, rows)

    # ------------------------------------------------ branch files

    def branch_files(self, org: Org, filing: _Filing, case: str) -> None:
        y, rng = self.year, self.rng
        spec = self.specs["filing"]
        title = spec.title
        on_time = _moment(y, 6, rng.randint(13, 20), rng.randint(8, 17), rng.choice((5, 20, 40)))
        name = f"{org.name}_{title}.xlsx"
        if case in ("missing", "via_summary"):
            self.note(case, org.name)
            return
        self.note(case, org.name)
        if case == "late":
            self.write(spec, name, filing.header, filing.rows, org, _moment(y, 6, rng.randint(22, 24), 10, 30))
        elif case == "wrong_sum":
            header = dict(filing.header, content_total=filing.header["content_total"] + 2)
            self.write(spec, name, header, filing.rows, org, on_time)
        elif case == "no_measure":
            rows = [dict(r) for r in filing.rows]
            rows[-1]["measure"] = None
            self.write(spec, name, filing.header, rows, org, on_time)
        elif case == "messy":
            self.write(spec, f"{org.aliases[0] if org.aliases else org.name}备案表(1).xlsx",
                       _messy(filing.header, org), _messy_rows(filing.rows, y), None, on_time)
        elif case == "resent":
            first = dict(filing.header, opinion_meeting=filing.header["opinion_meeting"] + 1)
            self.write(spec, name, first, filing.rows, org, _moment(y, 6, 18, 9, 15))
            self.write(spec, f"{org.name}_{title}（修改后）.xlsx", filing.header, filing.rows, org,
                       _moment(y, 6, 19, 16, 45))
        else:
            self.write(spec, name, filing.header, filing.rows, org, on_time)

    # ------------------------------------------------ committee files

    def committee_stats(self, committee: Org, filings: Mapping[str, _Filing], via_summary: Org | None,
                        valid: bool) -> None:
        """A 党(工)委's 统计表, one row per branch (√ marks and full-width digits typed by hand)."""
        spec = self.specs["stats"]
        rows = []
        reported = set(self.cases.get("on_time", []) + self.cases.get("late", []) +
                       self.cases.get("resent", []) + self.cases.get("messy", []))
        conflict_done = False
        for branch in self.tree.branches_under(committee.code):
            if branch.name not in reported and branch != via_summary:
                rows.append({"branch_name": branch.name})  # listed, nothing to report yet
                continue
            figures: dict[str, Any] = filings[branch.code].stats_row()
            if valid and branch != via_summary and not conflict_done:
                figures["people_total"] += 2  # the committee copied a figure wrongly: flagged as a conflict
                conflict_done = True
                self.note("conflict", branch.name)
            row: dict[str, Any] = {"branch_name": branch.name}
            for key, value in figures.items():
                if key in GRADES.values():
                    row[key] = "√" if value else None
                else:
                    row[key] = _fullwidth(value) if self.rng.random() < 0.15 else value
            rows.append(row)
        sums = {f.key: sum(_count(r.get(f.key)) for r in rows)
                for f in spec.table.fields if f.type in ("count", "mark")}
        if not valid:
            sums["found_total"] += 3  # a hand-typed 合计 that does not add up
        header = {"reporting_unit": committee.name, "report_date": date(self.year, 6, 24),
                  "filled_by": committee.contact, "contact_phone": committee.phone}
        when = _moment(self.year, 6, 24 if valid else 25, 15, 10)
        self.write(spec, f"{committee.name}_{spec.title}.xlsx", header, rows, committee, when, total=sums)
        self.note("committee_stats" if valid else "committee_stats_invalid", committee.name)

    def ledger(self, committee: Org, late: bool) -> None:
        """A 党(工)委's 整改清单: overdue, done late, due soon, long-term and on-track items."""
        y, rng = self.year, self.rng
        spec = self.specs["ledger"]
        d = lambda m, day: date(y, m, day)  # noqa: E731
        picks = rng.sample([(c, p, m) for c, items in ISSUES.items() for p, m in items], 7)
        plan = [  # (deadline, 完成情况, 完成时间)
            (d(6, 15), "正在推进", None),  # 逾期未完成
            (d(6, 10), "已完成", d(6, 18)),  # 逾期完成
            (d(6, 29), "正在推进", None),  # 临期
            ("长期坚持", "正在推进", None),
            ("立行立改", "已完成", d(6, 12)),
            (d(9, 30), "未启动", None),
            (d(6, 30 if late else 28), "正在推进", None),
        ]
        leaders = ("张明", "李红", "王建华", "刘洋")
        rows = []
        for n, ((cat, problem_text, measure), (deadline, status, done)) in enumerate(zip(picks, plan), 1):
            rows.append({"seq": str(n), "category": cat, "problem": problem_text, "measure": measure,
                         "leader": rng.choice(leaders), "person": committee.contact, "deadline": deadline,
                         "status": status, "done_date": done, "effect": "已见成效" if done else None,
                         "closed": "是" if done else "否"})
        header = {"reporting_unit": committee.name, "report_date": d(6, 24), "filled_by": committee.contact,
                  "contact_phone": committee.phone}
        when = _moment(y, 6, 26, 8, 30) if late else _moment(y, 6, 24, 11, 0)
        self.write(spec, f"{committee.name}_{spec.title}.xlsx", header, rows, committee, when)
        self.note("ledger_late" if late else "ledger", committee.name)

    def junk(self) -> None:
        """Attachments that are not forms: a Word notice and a text note."""
        docx = self.inbox / "关于报送整改方案的情况说明.docx"
        with zipfile.ZipFile(docx, "w") as z:
            z.writestr("[Content_Types].xml", '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://'
                       'schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/word/'
                       'document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.'
                       'document.main+xml"/></Types>')
            z.writestr("word/document.xml", '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://'
                       'schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>'
                       '整改方案已按要求制定，特此说明。</w:t></w:r></w:p></w:body></w:document>')
        note = self.inbox / "邮件正文.txt"
        note.write_text("各位领导：附件为我支部整改方案备案表，请审阅。\n", encoding="utf-8")
        for path in (docx, note):
            _set_received(path, _moment(self.year, 6, 19, 10, 0))
            self.files.append(path)
            self.note("junk", path.name)

    def write(self, spec: Spec, name: str, header: Mapping[str, Any], rows: Sequence[Mapping[str, Any]],
              unit: Org | None, received: datetime, total: Mapping[str, Any] | None = None) -> Path:
        path = self.inbox / name
        write_filled(spec, path, header, rows, unit=unit, total=total)
        _set_received(path, received)
        self.files.append(path)
        return path


# ---------------------------------------------------------------- messy variants


_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _fullwidth(value: int) -> str:
    return str(value).translate(_FULLWIDTH)


def _count(value: Any) -> int:
    if value is None:
        return 0
    if value == "√":
        return 1
    return int(str(value).translate({ord(c): ord("0") + i for i, c in enumerate("０１２３４５６７８９")}))


def _messy(header: Mapping[str, Any], org: Org) -> dict[str, Any]:
    """A hand-typed 备案表: the unit by its short name, numbers as full-width text, a typed date."""
    out = dict(header)
    alias = org.aliases[0] if org.aliases else org.name
    out["reporting_unit"] = alias
    out["branch_name"] = alias
    for key in ("opinion_meeting", "people_total", "content_total", *CONTENT_KEYS):
        out[key] = _fullwidth(header[key])
    out["report_date"] = f"{header['report_date'].year}年{header['report_date'].month}月{header['report_date'].day}日"
    return out


def _messy_rows(rows: Sequence[Mapping[str, Any]], year: int) -> list[dict[str, Any]]:
    out = [dict(r) for r in rows]
    for r in out:
        if isinstance(r["deadline"], date):
            r["deadline"] = f"{year}年{r['deadline'].month}月底"
        r["category"] = r["category"].removesuffix("建设")  # 领导班子 for 领导班子建设
    return out


# ---------------------------------------------------------------- writing a filled form


_CELL = {"font_name": "宋体", "font_size": 11, "border": 1, "valign": "vcenter", "text_wrap": True}


def write_filled(spec: Spec, path: Path | str, header: Mapping[str, Any], rows: Sequence[Mapping[str, Any]],
                 unit: Org | None = None, total: Mapping[str, Any] | None = None) -> Path:
    """A filled-in form as a unit sends it back: the spec's layout, values typed in.

    With `unit` the file carries the per-unit template's metadata (form, unit
    code); without it, it is a hand-made copy the reader must recognise by
    labels. Values: str written as typed, int as numbers, date as dates.
    """
    path = Path(path)
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_numbers": False,
                                         "in_memory": True})
    wb.set_properties({"created": datetime(2012, 1, 1)})
    fmt = Formats(wb)
    ws = wb.add_worksheet(sheet_name(spec.title))
    cell = wb.add_format(_CELL)
    day = wb.add_format({**_CELL, "num_format": "yyyy-mm-dd", "align": "center"})
    plain = wb.add_format({"font_name": "宋体", "font_size": 11, "valign": "vcenter"})

    def put(r: int, c: int, value: Any, f=cell) -> None:
        if value is None or value == "":
            ws.write_blank(r, c, None, f)
        elif isinstance(value, (date, datetime)):
            ws.write_datetime(r, c, datetime.combine(value, time()) if not isinstance(value, datetime) else value,
                              day if f is cell else f)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            ws.write_number(r, c, value, f)
        else:
            ws.write_string(r, c, str(value), f)

    width = max(len(spec.table.fields) if spec.table else 0, 14)
    title = wb.add_format({"font_name": "宋体", "bold": True, "font_size": 16, "align": "center"})
    ws.merge_range(0, 0, 0, width - 1, "", title)
    ws.write_string(0, 0, spec.title, title)
    row = 1
    for pair in ((spec.field("reporting_unit"), spec.field("report_date")),
                 (spec.field("filled_by"), spec.field("contact_phone"))):
        for i, f in enumerate(pair):
            ws.write_string(row, 4 * i, f.label + "：", plain)
            put(row, 4 * i + 1, header.get(f.key), plain if not isinstance(header.get(f.key), date) else day)
        row += 1
    if spec.kind == "table":
        row = _filled_table(ws, fmt, spec.table, row + 1, rows, total, put)
    else:
        row = _filled_form(ws, spec, row + 1, header, rows, put, cell)
    for c in range(width):
        ws.set_column(c, c, 12)
    ws.set_column(0, 0, 22)
    if unit is not None:
        meta = wb.add_worksheet(METADATA_SHEET)
        for r, (key, value) in enumerate(template_metadata(spec, unit).items()):
            meta.write_string(r, 0, key)
            meta.write_string(r, 1, value)
        meta.hide()
    wb.close()
    return path


def _filled_table(ws, fmt: Formats, table: Table, top: int, rows: Sequence[Mapping[str, Any]],
                  total: Mapping[str, Any] | None, put) -> int:
    """The table's header drawn as the template draws it, then the 合计 row (if typed) and the rows."""
    fields = table.fields
    g = Grid(ws, fmt, [column_width(f) for f in fields])
    row = write_table_header(g, table, top, {f.key: (i, i) for i, f in enumerate(fields)})
    if total is not None:
        put(row, 0, table.total_row or "合计")
        for c, f in enumerate(fields[1:], 1):
            put(row, c, total.get(f.key))
        row += 1
    for values in rows:
        for c, f in enumerate(fields):
            put(row, c, values.get(f.key))
        row += 1
    return row


def _filled_form(ws, spec: Spec, top: int, header: Mapping[str, Any], rows: Sequence[Mapping[str, Any]],
                 put, cell) -> int:
    """A fixed-layout form as in 附件1: section | sub label | label, value pairs …; the table in place."""
    row = top
    for block in spec.body:
        if isinstance(block, Table):
            put(row, 0, block.section)
            for c, f in enumerate(block.fields, 1):
                put(row, c, f.label)
            row += 1
            for values in rows:
                for c, f in enumerate(block.fields, 1):
                    put(row, c, values.get(f.key))
                row += 1
            continue
        put(row, 0, block.section)
        put(row, 1, block.sub or None)
        c = 2
        for f in block.fields:
            if f.label not in (block.section, block.sub):
                put(row, c, f.label)
                c += 1
            put(row, c, header.get(f.key))
            c += 1
        row += 1
    return row


__all__ = ["build_demo", "DemoResult", "write_filled", "as_of"]
