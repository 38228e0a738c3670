"""A campaign folder: campaign.yaml + orgs.xlsx (+ templates/).

`load_campaign` reads and checks the folder (every bad key named by its path,
e.g. ``forms.weekly.deadline``); `expected` lists every report that should
come in; `init_campaign` writes a complete folder from a preset that mirrors
one of the source documents.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import yaml

from . import sniff
from .errors import ConfigError
from .excel import atomic_path
from .normalize import clean_text
from .orgs import LEVELS, Org, OrgTree, load_orgs, parse_level
from .spec import Collector, Spec, did_you_mean, load_specs

CAMPAIGN_FILE = "campaign.yaml"
DEFAULT_ORGS_FILE = "orgs.xlsx"
TEMPLATES_DIR = "templates"
PRESETS_DIR = Path(__file__).resolve().parent / "presets"
END_OF_DAY = time(23, 59, 59)  # a deadline given as a date alone: the whole day counts
BEIJING = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Preset:
    """A ready-made campaign mirroring one source document."""

    title: str
    year: int  # the year of the source document, used when no --year is given


PRESETS = {
    "plan-filing": Preset("整改方案备案：党支部报备案表，党(工)委报统计表", 2012),
    "three-meetings": Preset("“三会一课”整改：自查表、每周五周报、整改清单", 2023),
}

TOP_KEYS = {"name", "year", "forms", "orgs", "due_soon_days", "groupings", "as_of"}
FORM_KEYS = {"levels", "deadline"}
RECURRENCE_KEYS = {"every", "time", "from", "to"}
GROUPINGS = {"督导组": "督导组", "类型": "类型", "group": "督导组", "type": "类型"}
NOT_COLLECTED = {"orgs"}  # specs that describe config, not a form units send in
WEEKDAYS = {name: i for i, names in enumerate((
    ("一", "1", "monday", "mon"), ("二", "2", "tuesday", "tue"), ("三", "3", "wednesday", "wed"),
    ("四", "4", "thursday", "thu"), ("五", "5", "friday", "fri"), ("六", "6", "saturday", "sat"),
    ("日", "天", "7", "sunday", "sun"))) for name in names}
WEEKDAY_NAMES = "一二三四五六日"


# ---------------------------------------------------------------- the plan


@dataclass(frozen=True)
class FormPlan:
    """One form of the campaign: who reports it and by when."""

    form: str  # spec id
    levels: tuple[str, ...]  # levels that submit it, e.g. ("党支部",)
    deadlines: dict[str, datetime]  # level -> deadline (weekly: the last period's deadline)
    weekly: dict | None = None  # recurrence: {"weekday": 4, "time": "12:00", "from": date, "to": date}

    def periods(self) -> list[str | None]:
        """[None] for a one-off form; the ISO dates of each due day for a weekly one."""
        if not self.weekly:
            return [None]
        first, last = self.weekly["from"], self.weekly["to"]
        day = first + timedelta(days=(self.weekly["weekday"] - first.weekday()) % 7)
        out = []
        while day <= last:
            out.append(day.isoformat())
            day += timedelta(days=7)
        return out

    def deadline(self, level: str, period: str | None = None) -> datetime:
        """When `level` must have sent this form (for a weekly form: for `period`)."""
        if level not in self.levels:
            raise KeyError(f"{self.form}: level {level!r} does not report this form")
        if not self.weekly:
            return self.deadlines[level]
        if period not in self.periods():
            raise ValueError(f"{self.form}: {period!r} is not one of the periods {self.periods()}")
        return datetime.combine(date.fromisoformat(period), time.fromisoformat(self.weekly["time"]))

    def describe(self) -> str:
        """The deadline in words, e.g. '党支部 2012-06-20 23:59 前' or '每周五 12:00 前（…，共 4 次）'."""
        who = "、".join(self.levels)
        if self.weekly:
            periods = self.periods()
            span = f"{periods[0]} 至 {periods[-1]}，共 {len(periods)} 次" if periods else "期间内没有报送日"
            return f"{who}：每周{WEEKDAY_NAMES[self.weekly['weekday']]} {self.weekly['time'][:5]} 前（{span}）"
        if len(set(self.deadlines.values())) == 1:
            return f"{who} {self.deadlines[self.levels[0]]:%Y-%m-%d %H:%M} 前"
        return "；".join(f"{level} {self.deadlines[level]:%Y-%m-%d %H:%M} 前" for level in self.levels)


@dataclass
class Campaign:
    """What is collected, from whom, by when."""

    name: str
    year: int
    forms: dict[str, FormPlan]
    orgs: OrgTree
    folder: Path
    due_soon_days: int = 7
    groupings: tuple[str, ...] = ()  # e.g. ("督导组", "类型")
    as_of: datetime | None = None
    orgs_file: str = DEFAULT_ORGS_FILE


class ExpectedReport(NamedTuple):
    """One report that should come in: unit × form × period, with its deadline."""

    org: Org
    form: str
    period: str | None
    deadline: datetime


def expected(campaign: Campaign) -> list[ExpectedReport]:
    """Every report that should come in: tree order, then campaign form order, then period."""
    out = []
    for org in campaign.orgs:
        for form, plan in campaign.forms.items():
            if org.level in plan.levels:
                out += [ExpectedReport(org, form, p, plan.deadline(org.level, p)) for p in plan.periods()]
    return out


# ---------------------------------------------------------------- reading campaign.yaml


class _Loader(yaml.SafeLoader):
    """YAML as clerks write it: 12:00 stays the text "12:00" (YAML 1.1 would read 720), and
    dates stay text for parse_moment (YAML would crash on 2012-06-31 instead of naming the key)."""


_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_Loader.yaml_implicit_resolvers = {
    first: [(tag, re.compile(r"(?!.*:)" + rx.pattern, rx.flags) if tag in _NUMBER_TAGS else rx)
            for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

_MOMENT = re.compile(
    r"(?:(?P<y>\d{4})\s*[-/.年]\s*)?(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
    r"(?:\s*T?\s*(?P<H>\d{1,2})\s*[:时点]\s*(?P<M>\d{1,2})?\s*分?(?::(?P<S>\d{1,2}))?)?")
_CLOCK = re.compile(r"(?P<H>\d{1,2})\s*[:时点]\s*(?P<M>\d{1,2})?\s*分?(?::(?P<S>\d{1,2}))?")
DATE_EXAMPLE = "应写成 2012-06-20（当天 23:59:59 截止）或 \"2012-06-20 18:00\""


def _naive(moment: datetime) -> datetime:
    """A datetime in Beijing time without tzinfo (YAML may carry an offset)."""
    return moment.astimezone(BEIJING).replace(tzinfo=None) if moment.tzinfo else moment


def parse_moment(value: Any, year: int | None) -> datetime | None:
    """A deadline: a date alone is the end of that day; '6月20日' takes the campaign year. None if bad."""
    if isinstance(value, datetime):
        return _naive(value)
    if isinstance(value, date):
        return datetime.combine(value, END_OF_DAY)
    if not isinstance(value, str):
        return None
    m = _MOMENT.fullmatch(clean_text(value))
    if not m or not (m["y"] or year):
        return None
    try:
        day = date(int(m["y"] or year), int(m["m"]), int(m["d"]))
        if m["H"] is None:
            return datetime.combine(day, END_OF_DAY)
        return datetime.combine(day, time(int(m["H"]), int(m["M"] or 0), int(m["S"] or 0)))
    except ValueError:
        return None


def parse_clock(value: Any) -> str | None:
    """'12:00', '12点', '18:30:00' -> 'HH:MM' (or 'HH:MM:SS'); None if bad."""
    m = _CLOCK.fullmatch(clean_text(value))
    if not m:
        return None
    try:
        clock = time(int(m["H"]), int(m["M"] or 0), int(m["S"] or 0))
    except ValueError:
        return None
    return clock.isoformat("seconds" if clock.second else "minutes")


def _weekday(value: Any) -> int | None:
    word = clean_text(value).lower()
    for prefix in ("每周", "每星期", "星期", "周", "礼拜", "every"):
        if word.startswith(prefix):
            word = word[len(prefix):].strip()
            break
    return WEEKDAYS.get(word)


class _Reader:
    """Reads campaign.yaml into plans, collecting every problem with its key path."""

    def __init__(self, path: Path, specs: dict[str, Spec]):
        self.c = Collector(path)
        self.specs = specs
        self.year: int | None = None

    def moment(self, where: str, value: Any) -> datetime | None:
        found = parse_moment(value, self.year)
        if found is None:
            self.c.add(where, f"“{value}”不是有效的日期或时刻，{DATE_EXAMPLE}")
        return found

    def day(self, where: str, value: Any) -> date | None:
        found = self.moment(where, value)
        return found.date() if found else None

    def form_id(self, where: str, key: Any) -> str | None:
        """A form named by id, title or alias -> its id."""
        collected = {k: s for k, s in self.specs.items() if k not in NOT_COLLECTED}
        for spec in collected.values():
            if clean_text(key) in spec.names:
                return spec.id
        names = [n for s in collected.values() for n in s.names]
        self.c.add(where, f"没有表单“{key}”{did_you_mean(str(key), names) or '。'}"
                          f"可用的表单：{'、'.join(collected)}")
        return None

    def levels(self, where: str, raw: Any) -> tuple[str, ...]:
        items = raw if isinstance(raw, list) else [raw]
        out = []
        for i, item in enumerate(items):
            level = parse_level(clean_text(item)) if item is not None else None
            if level is None:
                w = f"{where}[{i}]" if isinstance(raw, list) else where
                self.c.add(w, f"层级“{item}”无法识别，应为 {'、'.join(LEVELS)}{did_you_mean(str(item), LEVELS)}")
            elif level not in out:
                out.append(level)
        return tuple(out)

    def recurrence(self, where: str, raw: dict) -> dict | None:
        if not self.c.keys(where, raw, RECURRENCE_KEYS, {"every", "from", "to"}):
            return None
        if any(k not in raw for k in ("every", "from", "to")):
            return None
        weekday = _weekday(raw["every"])
        if weekday is None:
            self.c.add(f"{where}.every", f"“{raw['every']}”不是星期几，应写成 周一 … 周日（如 周五）")
        clock = parse_clock(raw.get("time", "23:59:59"))
        if clock is None:
            self.c.add(f"{where}.time", f"“{raw['time']}”不是有效的时刻，应写成 \"12:00\"（加引号）")
        first, last = self.day(f"{where}.from", raw["from"]), self.day(f"{where}.to", raw["to"])
        if None in (weekday, clock, first, last):
            return None
        weekly = {"weekday": weekday, "time": clock, "from": first, "to": last}
        if not FormPlan("", (), {}, weekly).periods():
            self.c.add(where, f"{first} 至 {last} 之间没有周{WEEKDAY_NAMES[weekday]}，请检查 from 和 to。")
            return None
        return weekly

    def plan(self, where: str, form: str, raw: Any) -> FormPlan | None:
        if not self.c.keys(where, raw, FORM_KEYS, {"deadline"}) or "deadline" not in raw:
            return None
        deadline = raw["deadline"]
        # {党支部: …, 党(工)委: …} gives a deadline per level; any other mapping is a recurrence.
        per_level = isinstance(deadline, dict) and any(parse_level(clean_text(k)) for k in deadline)
        if "levels" in raw:
            levels = self.levels(f"{where}.levels", raw["levels"])
        elif per_level:
            levels = self.levels(f"{where}.deadline", list(deadline))
        else:
            self.c.add(where, "缺少必需的键 'levels'（哪些层级报送，如 [党支部]）")
            return None
        if not levels:
            self.c.add(f"{where}.levels", "至少要有一个层级")
            return None
        where = f"{where}.deadline"
        if isinstance(deadline, dict) and not per_level:
            weekly = self.recurrence(where, deadline)
            if weekly is None:
                return None
            plan = FormPlan(form, levels, {}, weekly)
            last = plan.deadline(levels[0], plan.periods()[-1])
            return FormPlan(form, levels, {level: last for level in levels}, weekly)
        if per_level:
            return self.per_level(where, form, levels, deadline)
        moment = self.moment(where, deadline)
        return FormPlan(form, levels, {level: moment for level in levels}) if moment else None

    def per_level(self, where: str, form: str, levels: tuple[str, ...], raw: dict) -> FormPlan | None:
        deadlines: dict[str, datetime] = {}
        complete = True
        for key, value in raw.items():
            level = parse_level(clean_text(key))
            moment = self.moment(f"{where}.{key}", value) if level in levels else None
            if level not in levels:
                self.c.add(f"{where}.{key}", f"“{key}”不是本表单的报送层级（{'、'.join(levels)}）")
            complete = complete and moment is not None
            if moment:
                deadlines[level] = moment
        missing = [level for level in levels if level not in deadlines]
        if missing and complete:
            self.c.add(where, f"没有给出{'、'.join(missing)}的截止时间")
        return None if missing else FormPlan(form, levels, deadlines)

    def forms(self, raw: Any) -> dict[str, FormPlan]:
        if not isinstance(raw, dict) or not raw:
            self.c.add("forms", "应列出要收集的表单，如 filing: {levels: [党支部], deadline: 2012-06-20}")
            return {}
        plans: dict[str, FormPlan] = {}
        for key, item in raw.items():
            form = self.form_id(f"forms.{key}", key)
            if form is None:
                continue
            if form in plans:
                self.c.add(f"forms.{key}", f"表单 {form} 重复出现")
                continue
            plan = self.plan(f"forms.{key}", form, item)
            if plan:
                plans[form] = plan
        return plans

    def groupings(self, raw: Any) -> tuple[str, ...]:
        out = []
        for i, item in enumerate(raw if isinstance(raw, list) else [raw]):
            grouping = GROUPINGS.get(clean_text(item))
            if grouping is None:
                self.c.add(f"groupings[{i}]", f"不能按“{item}”分组，可选：督导组、类型{did_you_mean(str(item), GROUPINGS)}")
            elif grouping not in out:
                out.append(grouping)
        return tuple(out)

    def top(self, data: Any) -> dict[str, Any] | None:
        """The checked top-level values, or None when the file is not a mapping at all."""
        if not self.c.keys("", data, TOP_KEYS, {"name", "year", "forms"}):
            return None
        year = data.get("year")
        if not isinstance(year, int) or isinstance(year, bool) or not 2000 <= year <= 2100:
            if "year" in data:
                self.c.add("year", f"“{year}”不是有效的年份，应写成四位数字，如 2023")
        else:
            self.year = year
        name = clean_text(data.get("name") or "")
        if "name" in data and not name:
            self.c.add("name", "活动名称不能为空")
        due = data.get("due_soon_days", 7)
        if not isinstance(due, int) or isinstance(due, bool) or due < 0:
            self.c.add("due_soon_days", f"“{due}”应为不小于 0 的整数（天数）")
        orgs = clean_text(data.get("orgs") or DEFAULT_ORGS_FILE)
        as_of = self.moment("as_of", data["as_of"]) if data.get("as_of") is not None else None
        return {
            "name": name, "year": self.year, "forms": self.forms(data.get("forms")) if "forms" in data else {},
            "due_soon_days": due, "groupings": self.groupings(data["groupings"]) if data.get("groupings") else (),
            "orgs_file": orgs, "as_of": as_of,
        }


def _read_yaml(path: Path) -> Any:
    data = path.read_bytes()
    # UTF-8, or GBK as Notepad saves "ANSI" on Chinese Windows (None, not plain text: tried as UTF-8)
    encoding = sniff.text_encoding(data)
    try:
        return yaml.load(data.decode(encoding or "utf-8"), Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第{mark.line + 1}行" if mark else "(文件)"
        reason = getattr(exc, "problem", None) or exc
        raise ConfigError([f"{path.name}: {where}: YAML 格式错误（{reason}），请检查缩进、冒号和引号。"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{path.name}: 文件不是文本（UTF-8 或 GBK），请用记事本“另存为”UTF-8 后再试。"]) from None


def load_campaign(folder: Path | str) -> Campaign:
    """Read and check a campaign folder; ConfigError naming every bad key."""
    folder = Path(folder)
    path = folder / CAMPAIGN_FILE
    if not path.is_file():
        raise ConfigError([f"{folder} 中没有 {CAMPAIGN_FILE}：请先用 zhenggai init 新建活动文件夹，"
                           "或进入已有的活动文件夹。"])
    reader = _Reader(path, load_specs())
    values = reader.top(_read_yaml(path))
    problems = list(reader.c.problems)
    tree = None
    if values is not None:
        try:
            tree = load_orgs(folder / values["orgs_file"])
        except ConfigError as exc:
            problems += exc.problems
    if problems:
        raise ConfigError(problems)
    return Campaign(folder=folder, orgs=tree, **values)


# ---------------------------------------------------------------- init


def _preset_orgs(preset: str) -> list[list[str]]:
    with open(PRESETS_DIR / preset / "orgs.csv", encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def write_orgs_xlsx(rows: list[list[str]], target: Path) -> Path:
    """The example org tree as a clerk would keep it: labelled header, codes as text, level drop-down."""
    import xlsxwriter

    fields = load_specs()["orgs"].table.fields
    with atomic_path(target) as tmp:
        book = xlsxwriter.Workbook(tmp)
        sheet = book.add_worksheet("组织架构")
        head = book.add_format({"bold": True, "border": 1, "align": "center", "valign": "vcenter",
                                "bg_color": "#DDEBF7", "text_wrap": True})
        cell = book.add_format({"border": 1, "num_format": "@"})  # text: codes keep their zeros
        for col, f in enumerate(fields):
            sheet.set_column(col, col, f.width or 12)
            sheet.write_string(0, col, f.label, head)
        for r, row in enumerate(rows[1:], start=1):
            for col, value in enumerate(row[:len(fields)]):
                sheet.write_string(r, col, value, cell)
        level_col = [f.key for f in fields].index("level")
        sheet.data_validation(1, level_col, 1000, level_col, {"validate": "list", "source": list(LEVELS)})
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, len(rows) - 1, len(fields) - 1)
        book.close()
    return target


def _write_templates(campaign: Campaign) -> None:
    try:
        from .template import write_templates
    except ImportError:  # template.py not there yet: the folder is still usable without blanks
        return
    specs = load_specs()
    write_templates([specs[f] for f in campaign.forms], campaign.folder / TEMPLATES_DIR, orgs=campaign.orgs,
                    levels={f: plan.levels for f, plan in campaign.forms.items()})


def init_campaign(folder: Path | str, preset: str, year: int | None = None) -> Campaign:
    """Write a complete campaign folder from a preset ('plan-filing' or 'three-meetings')."""
    folder = Path(folder)
    if preset not in PRESETS:
        raise ConfigError([f"没有预设“{preset}”{did_you_mean(preset, PRESETS) or '。'}"
                           f"可用的预设：{'、'.join(PRESETS)}"])
    year = PRESETS[preset].year if year is None else year
    if not 2000 <= year <= 2100:
        raise ConfigError([f"年份 {year} 无效，应为四位数字，如 2023。"])
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ConfigError([f"文件夹 {folder} 已存在且不是空的。为免覆盖已有文件，请换一个新的文件夹名，"
                           "或先把它清空。"])
    folder.mkdir(parents=True, exist_ok=True)
    text = (PRESETS_DIR / preset / CAMPAIGN_FILE).read_text(encoding="utf-8").replace("{year}", str(year))
    with atomic_path(folder / CAMPAIGN_FILE) as tmp:
        tmp.write_text(text, encoding="utf-8")
    write_orgs_xlsx(_preset_orgs(preset), folder / DEFAULT_ORGS_FILE)
    campaign = load_campaign(folder)
    _write_templates(campaign)
    return campaign
