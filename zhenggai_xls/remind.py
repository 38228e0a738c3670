"""Reminders (催报): for each unit missing, late or invalid, what is wanted, a polite text, and mailing it.

`reminders(result)` works on a `RollupResult` (pure); `write_reminders` writes the workbook the
clerk prints; `send_reminders` mails each unit through an SMTP server with its feedback copies.
"""
from __future__ import annotations

import smtplib
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from pathlib import Path
from urllib.parse import urlsplit

import xlsxwriter

from .errors import ConfigError, network_reason
from .excel import atomic_path
from .orgs import Org
from .rollup import RollupResult
from .spec import load_specs

WANTED = ("missing", "late", "invalid")
MAX_PROBLEMS_LISTED = 10  # per file: the feedback copy holds them all


@dataclass(frozen=True)
class ReminderItem:
    """One report of a unit that needs its attention."""

    form: str
    title: str
    period: str | None
    deadline: datetime | None
    status: str  # missing | late | invalid
    words: str  # 未报送 / 逾期报送 N 天 / 未通过校验
    days_late: int = 0  # as `status` counts them: whole days past the deadline, rounded up
    problems: tuple[str, ...] = ()  # "工作表“…” 单元格 D7：…" for an invalid file
    file: Path | None = None  # the invalid file, to make a feedback copy of


@dataclass
class Reminder:
    """Everything one unit is reminded of, and the text to send it."""

    org: Org
    items: list[ReminderItem]
    text: str = ""
    attachments: list[Path] = field(default_factory=list)  # feedback copies

    @property
    def subject(self) -> str:
        return f"【催报】{self.org.name}：" + "、".join(dict.fromkeys(i.title for i in self.items))


def _problem_lines(result: RollupResult, status) -> tuple[str, ...]:
    """The errors validate found in the invalid file this status was judged on."""
    subs = [s for s in result.invalid if status.file is not None and Path(s.path) == Path(status.file)]
    lines = []
    for sub in subs:
        for p in sub.problems:
            if p.severity == "error":
                lines.append(f"{p.place}：{p.message}" if p.place else p.message)
    extra = len(lines) - MAX_PROBLEMS_LISTED
    return tuple(lines[:MAX_PROBLEMS_LISTED]) + ((f"……另有 {extra} 处，见反馈表",) if extra > 0 else ())


def reminders(result: RollupResult) -> list[Reminder]:
    """One Reminder per unit with a missing, late or invalid report, in tree order."""
    specs = load_specs()
    by_unit: dict[str, list[ReminderItem]] = {}
    for status in result.statuses:
        if status.status not in WANTED:
            continue
        title = specs[status.form].title if status.form in specs else status.form
        by_unit.setdefault(status.unit, []).append(ReminderItem(
            status.form, title, status.period, status.deadline, status.status, status.words, status.days_late,
            _problem_lines(result, status) if status.status == "invalid" else (), status.file))
    tree = result.campaign.orgs
    out = []
    for code, items in by_unit.items():
        reminder = Reminder(tree.get(code), items)
        reminder.text = reminder_text(reminder, result.campaign.name, result.as_of)
        out.append(reminder)
    return out


def _item_line(n: int, item: ReminderItem, as_of: datetime) -> str:
    period = f"（{item.period} 这一期）" if item.period else ""
    due = f"{item.deadline:%Y年%m月%d日 %H:%M}" if item.deadline else ""
    if item.status == "missing" and item.deadline and item.deadline < as_of:
        what = f"截止时间 {due}，已逾期 {max(1, item.days_late)} 天仍未收到，请尽快填报后发送。"
    elif item.status == "missing":
        what = f"尚未收到，请于 {due} 前填报后发送。" if due else "尚未收到，请尽快填报后发送。"
    elif item.status == "late":
        what = f"已收到，但晚于截止时间 {due}（{item.words}），请今后按时报送。"
    else:
        what = "已收到，但有以下问题需要修改，请对照附件中的反馈表改正后重新发送："
    lines = [f"{n}. 《{item.title}》{period}：{what}"]
    lines.extend(f"   - {p}" for p in item.problems)
    return "\n".join(lines)


def reminder_text(reminder: Reminder, campaign_name: str, as_of: datetime) -> str:
    """The polite 催报 text for one unit."""
    org = reminder.org
    greeting = f"{org.contact}同志：" if org.contact else f"{org.name}："
    body = [greeting, "", f"您好！{campaign_name}正在汇总各单位报表。截至 {as_of:%Y年%m月%d日 %H:%M}，"
            f"贵单位（{org.name}）以下报表还需要您处理："]
    body.extend(_item_line(n, item, as_of) for n, item in enumerate(reminder.items, start=1))
    body += ["", "填报时请使用下发的模板，填好后直接回复本邮件即可。如已报送，请忽略本提醒。",
             "感谢您的支持与配合！"]
    return "\n".join(body)


def attach_feedback(items: list[Reminder], result: RollupResult, out_dir: Path | str) -> None:
    """Write a feedback copy of each invalid file into `out_dir` and attach it to its unit's reminder."""
    from .feedback import free_feedback_path, write_feedback

    taken: set[Path] = set()  # units all return 整改清单.xlsx: each must get its own copy
    for reminder in items:
        for item in reminder.items:
            for sub in result.invalid:
                if item.status == "invalid" and item.file is not None and Path(sub.path) == Path(item.file) \
                        and sub.problems:
                    target = free_feedback_path(sub, Path(out_dir), taken)
                    taken.add(target)
                    reminder.attachments.append(write_feedback(sub, out_dir, target))


# -- the workbook ------------------------------------------------------------------------------

_COLUMNS = (("单位代码", 12), ("单位名称", 30), ("联系人", 9), ("联系电话", 14), ("邮箱", 26),
            ("报表", 24), ("情况", 40), ("截止时间", 17), ("催报内容", 70))


def write_reminders(path: Path | str, items: list[Reminder]) -> Path:
    """The 催报 list: one row per unit, its reports, and the text to send (A4 landscape)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        book = xlsxwriter.Workbook(str(tmp))
        sheet = book.add_worksheet("催报名单")
        head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "align": "center"})
        text = book.add_format({"border": 1, "text_wrap": True, "valign": "top"})
        for col, (title, width) in enumerate(_COLUMNS):
            sheet.write_string(0, col, title, head)
            sheet.set_column(col, col, width)
        for r, reminder in enumerate(items, start=1):
            org = reminder.org
            deadlines = [f"{i.deadline:%Y-%m-%d %H:%M}" if i.deadline else "" for i in reminder.items]
            values = (org.code, org.name, org.contact, org.phone, org.email,
                      "\n".join(i.title + (f"（{i.period}）" if i.period else "") for i in reminder.items),
                      "\n".join(i.words for i in reminder.items), "\n".join(deadlines), reminder.text)
            for col, value in enumerate(values):
                sheet.write_string(r, col, value or "", text)
        sheet.freeze_panes(1, 2)
        sheet.set_landscape()
        sheet.set_paper(9)
        sheet.fit_to_pages(1, 0)
        sheet.repeat_rows(0)
        book.close()
    return path


# -- sending ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Sent:
    """What became of one unit's reminder when mailing."""

    unit: str
    to: str
    ok: bool
    error: str = ""  # Chinese


def parse_smtp_url(url: str) -> tuple[str, int]:
    """smtp://host[:port] -> (host, port)."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "smtp" or not parts.hostname:
        raise ConfigError([f"发信服务器“{url}”应写成 smtp://服务器[:端口]，如 smtp://127.0.0.1:25"])
    if parts.password is not None:
        raise ConfigError(["发信服务器地址中不要写密码。"])
    return parts.hostname, parts.port or 25


def reminder_message(reminder: Reminder, sender: str) -> EmailMessage:
    """The e-mail for one unit: the text, and its feedback copies attached."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = formataddr((reminder.org.contact or reminder.org.name, reminder.org.email))
    msg["Subject"] = reminder.subject
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid()
    msg.set_content(reminder.text)
    for path in reminder.attachments:
        msg.add_attachment(path.read_bytes(), maintype="application",
                           subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet", filename=path.name)
    return msg


def send_reminders(items: list[Reminder], smtp_url: str, sender: str) -> list[Sent]:
    """Mail each reminder; a unit without an address, or a refused message, is reported, not fatal."""
    host, port = parse_smtp_url(smtp_url)
    outcomes = []
    try:
        server = smtplib.SMTP(host, port, timeout=60)
    except OSError as exc:
        raise ConfigError([f"无法连接发信服务器 {host}:{port}：{network_reason(exc)}"]) from None
    with server:
        for reminder in items:
            org = reminder.org
            if not org.email:
                outcomes.append(Sent(org.code, "", False, "组织架构中没有该单位的邮箱，请电话催报"))
                continue
            try:
                server.send_message(reminder_message(reminder, sender))
                outcomes.append(Sent(org.code, org.email, True))
            except OSError as exc:  # smtplib's refusals are OSErrors too
                outcomes.append(Sent(org.code, org.email, False, _refusal(exc)))
    return outcomes


def _refusal(exc: OSError) -> str:
    """Why the server did not take one reminder, in Chinese."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "发信服务器拒收这个收件地址，请核对组织架构中的邮箱，或电话催报"
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return "发信服务器不接受发件人地址，请用 --from 写本单位在该服务器上的邮箱"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"发信服务器拒收这封邮件（代码 {exc.smtp_code}），请稍后重发或电话催报"
    return "与发信服务器的连接中断，请稍后重发"
