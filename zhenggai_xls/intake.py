"""Collect submitted files into an inbox and keep the intake register (收件登记).

`collect` takes every attachment from the sources (see `mail.py`), stores each original byte
for byte under a content address, and registers one row per attachment: accepted, duplicate
or rejected with the reason. Rows are keyed by message and position, so collecting the same
mailbox again adds nothing, and a run that was interrupted can simply be run again: files
are written atomically and the register last.
"""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime
from hashlib import sha256
from pathlib import Path
from typing import Iterable, Iterator

import xlsxwriter

from .errors import ConfigError
from .excel import atomic_path
from .mail import (Limits, Part, folder_parts, file_part, imap_parts, is_imap_url, mbox_parts,
                   eml_parts, parse_imap_url)

REGISTER_JSON = "收件登记.json"
REGISTER_XLSX = "收件登记.xlsx"
FILES_DIR = "files"
REGISTER_VERSION = 1
NAME_MAX_CHARS = 80
NAME_MAX_BYTES = 200  # most filesystems allow 255 bytes per name; leave room
STATUS_ZH = {"accepted": "已收", "duplicate": "重复", "rejected": "拒收"}
JSON_KEYS = ("filename", "stored", "sha256", "size", "status", "reason", "sender", "subject",
             "received", "unit", "form")

_WINDOWS_DEVICES = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}
_FORBIDDEN_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"|?*]')


@dataclass
class IntakeRow:
    """One attachment as registered: where it came from, where it is, what became of it."""

    no: int  # 序号, 1-based, in the order attachments were first collected
    key: str  # message identity + position in it; what makes collecting idempotent
    filename: str  # decoded original name
    container: str = ""  # the zip (or attached .eml) it was packed in
    received: datetime | None = None  # naive Beijing time
    received_basis: str = ""  # date | server | mtime
    sender: str = ""  # e-mail address
    sender_name: str = ""
    subject: str = ""
    source: str = ""  # mailbox URL and UID, or file path: differs between sources
    stored: str = ""  # path relative to the inbox, "/"-separated; "" when refused
    sha256: str = ""
    size: int = 0
    duplicate_of: int | None = None  # `no` of the first row with the same content
    status: str = "accepted"  # accepted | duplicate | rejected
    reason: str = ""  # Chinese: why rejected, what it duplicates
    unit: str = ""  # org code (or the typed unit name when there is no org tree)
    unit_name: str = ""
    unit_basis: str = ""  # metadata | name | alias | fuzzy | sender
    form: str = ""  # spec id(s), comma-separated when one workbook holds several forms
    period: str = ""

    def as_json(self) -> dict:
        """The `collect --json` shape (attachments[])."""
        data = {k: getattr(self, k) for k in JSON_KEYS}
        data["received"] = self.received.isoformat(timespec="seconds") if self.received else None
        return data


@dataclass
class CollectResult:
    """What one `collect` run saw and the register after it."""

    inbox: Path
    rows: list[IntakeRow]  # one per attachment found in the sources this run (new or known)
    new: list[IntakeRow]  # rows added by this run
    register: list[IntakeRow]  # the whole register after this run
    warnings: list[str] = field(default_factory=list)  # Chinese, for the clerk

    def as_json(self) -> dict:
        return {"attachments": [row.as_json() for row in self.rows]}

    def counts(self) -> dict[str, int]:
        """Rows of this run by status."""
        counts = dict.fromkeys(STATUS_ZH, 0)
        for row in self.rows:
            counts[row.status] += 1
        return counts


# -- names ------------------------------------------------------------------------------

def safe_name(name: str) -> str:
    """A filename safe to create anywhere: last path component only, no device names or control chars, capped."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").split("/")[-1]
    name = _FORBIDDEN_CHARS.sub("_", name).strip().strip(".").strip()  # Windows drops trailing dots; leading ones hide
    if not name:
        name = "附件"
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext) > 10:
        stem, ext = name, ""
    if stem.split(".")[0].strip().upper() in _WINDOWS_DEVICES:
        stem = "_" + stem
    ext = f".{ext}" if ext else ""
    while stem and (len(stem) + len(ext) > NAME_MAX_CHARS or len((stem + ext).encode()) > NAME_MAX_BYTES):
        stem = stem[:-1]
    return (stem.rstrip(" .") or "附件") + ext


# -- the register on disk ---------------------------------------------------------------

def _row_to_json(row: IntakeRow) -> dict:
    data = asdict(row)
    data["received"] = row.received.isoformat(timespec="seconds") if row.received else None
    return data


def _row_from_json(data: dict) -> IntakeRow:
    known = {f.name for f in fields(IntakeRow)}
    values = {k: v for k, v in data.items() if k in known}
    if values.get("received"):
        values["received"] = datetime.fromisoformat(values["received"])
    return IntakeRow(**values)


def read_register(inbox: Path | str) -> list[IntakeRow]:
    """Every row of the inbox's register, in order ([] when there is none yet)."""
    path = Path(inbox) / REGISTER_JSON
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [_row_from_json(r) for r in data["rows"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError([f"{path}：收件登记已损坏（{type(exc).__name__}），请从备份恢复或删除后重新收取。"]) from None


def load_register(inbox: Path | str) -> dict[str, IntakeRow]:
    """Stored path (relative to the inbox, '/'-separated) -> its first row, for received times."""
    by_stored: dict[str, IntakeRow] = {}
    for row in read_register(inbox):
        if row.stored and row.stored not in by_stored:
            by_stored[row.stored] = row
    return by_stored


def received_time(register: dict[str, IntakeRow], inbox: Path | str, path: Path | str) -> datetime | None:
    """When the file at `path` (inside the inbox) first arrived, per the register."""
    try:
        rel = Path(path).resolve().relative_to(Path(inbox).resolve()).as_posix()
    except ValueError:
        return None
    row = register.get(rel)
    return row.received if row else None


def _register_json(rows: list[IntakeRow]) -> str:
    return json.dumps({"version": REGISTER_VERSION, "rows": [_row_to_json(r) for r in rows]},
                      ensure_ascii=False, indent=1) + "\n"


def write_register(inbox: Path, rows: list[IntakeRow], form_titles: dict[str, str] | None = None) -> bool:
    """Write 收件登记.json and .xlsx atomically when they changed; True when written."""
    text = _register_json(rows)
    json_path, xlsx_path = inbox / REGISTER_JSON, inbox / REGISTER_XLSX
    unchanged = json_path.exists() and json_path.read_text(encoding="utf-8") == text
    if unchanged and xlsx_path.exists():
        return False
    with atomic_path(xlsx_path) as tmp:
        write_register_xlsx(tmp, rows, form_titles or {})
    with atomic_path(json_path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return True


_XLSX_COLUMNS = (  # header, width
    ("序号", 6), ("收件时间", 17), ("发件人", 28), ("邮件主题", 30), ("原文件名", 32), ("所在压缩包", 18),
    ("状态", 7), ("说明", 36), ("填报单位", 24), ("表单", 18), ("期次", 11), ("保存位置", 40),
    ("大小(KB)", 10), ("SHA-256", 20), ("来源", 30),
)


def _reason_text(row: IntakeRow) -> str:
    if row.status == "duplicate" and row.duplicate_of:
        return f"与第 {row.duplicate_of} 行内容完全相同" + (f"；{row.reason}" if row.reason else "")
    return row.reason


def write_register_xlsx(path: Path, rows: list[IntakeRow], form_titles: dict[str, str]) -> None:
    """The register for the clerk: one row per attachment, frozen header, A4 landscape."""
    book = xlsxwriter.Workbook(str(path))
    # A fixed creation time keeps the file identical when the same register is written again.
    latest = max((r.received for r in rows if r.received), default=datetime(2000, 1, 1))
    book.set_properties({"title": "收件登记", "created": latest})
    sheet = book.add_worksheet("收件登记")
    head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True,
                            "align": "center", "valign": "vcenter"})
    text = book.add_format({"border": 1, "text_wrap": True, "valign": "top"})
    when = book.add_format({"border": 1, "valign": "top", "num_format": "yyyy-mm-dd hh:mm"})
    number = book.add_format({"border": 1, "valign": "top", "num_format": "0.0"})
    link = book.add_format({"border": 1, "valign": "top", "font_color": "blue", "underline": 1, "text_wrap": True})
    status_formats = {"rejected": book.add_format({"border": 1, "valign": "top", "bg_color": "#FFC7CE"}),
                      "duplicate": book.add_format({"border": 1, "valign": "top", "bg_color": "#EDEDED"}),
                      "accepted": text}
    for col, (title, width) in enumerate(_XLSX_COLUMNS):
        sheet.write_string(0, col, title, head)
        sheet.set_column(col, col, width)
    for r, row in enumerate(rows, start=1):
        sender = f"{row.sender_name} <{row.sender}>" if row.sender_name and row.sender else row.sender or row.sender_name
        forms = "、".join(form_titles.get(f, f) for f in row.form.split(",") if f)
        values = [None, None, sender, row.subject, row.filename, row.container, None, _reason_text(row),
                  row.unit_name or row.unit, forms, row.period, None, None, row.sha256, row.source]
        for col, value in enumerate(values):
            if value is not None:
                sheet.write_string(r, col, value, text)
        sheet.write_number(r, 0, row.no, text)
        if row.received:
            sheet.write_datetime(r, 1, row.received, when)
        else:
            sheet.write_string(r, 1, "", text)
        sheet.write_string(r, 6, STATUS_ZH.get(row.status, row.status), status_formats.get(row.status, text))
        if row.stored and sheet.write_url(r, 11, "external:" + row.stored, link, string=row.stored) < 0:
            sheet.write_string(r, 11, row.stored, text)
        elif not row.stored:
            sheet.write_string(r, 11, "", text)
        sheet.write_number(r, 12, row.size / 1024, number)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(len(rows), 1), len(_XLSX_COLUMNS) - 1)
    sheet.set_landscape()
    sheet.set_paper(9)  # A4
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(0)
    sheet.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
    sheet.set_footer("&C第 &P 页，共 &N 页")
    book.close()


# -- storing ----------------------------------------------------------------------------

def stored_path(digest: str, name: str) -> str:
    """Where content with this hash lives, relative to the inbox."""
    return f"{FILES_DIR}/{digest[:2]}/{digest[:16]}/{safe_name(name)}"


def store_file(inbox: Path, rel: str, data: bytes) -> Path:
    """Write the original bytes once; an existing complete copy is left alone."""
    target = inbox / rel
    if not target.exists():
        with atomic_path(target) as tmp:
            tmp.write_bytes(data)
    return target


def _clear_stale_temp(inbox: Path) -> None:
    """Temp files left by a run killed mid-write (atomic_path could not tidy them)."""
    for stale in [*inbox.glob(".tmp-*"), *(inbox / FILES_DIR).glob("**/.tmp-*")]:
        stale.unlink(missing_ok=True)


def _new_row(part: Part, no: int, inbox: Path, first_by_sha: dict[str, IntakeRow]) -> IntakeRow:
    """Register one attachment: store it, or mark it duplicate or refused."""
    env = part.envelope
    row = IntakeRow(no=no, key=f"{env.key}#{part.path}", filename=part.filename, container=part.container,
                    received=env.received, received_basis=env.received_basis, sender=env.sender,
                    sender_name=env.sender_name, subject=env.subject, source=env.source, size=part.size)
    if part.data:
        row.sha256 = sha256(part.data).hexdigest()
    if part.refused:
        row.status, row.reason = "rejected", part.refused
        return row
    first = first_by_sha.get(row.sha256)
    if first is not None:
        row.status, row.stored, row.duplicate_of = "duplicate", first.stored, first.no
        return row
    row.stored = stored_path(row.sha256, part.filename)
    store_file(inbox, row.stored, part.data)
    first_by_sha[row.sha256] = row
    return row


# -- recognising unit and form ----------------------------------------------------------

def _recognise(inbox: Path, rows: list[IntakeRow], campaign, warnings: list[str]) -> None:
    """Fill unit/form/period of accepted rows not yet recognised, via validate when it is there."""
    todo = [r for r in rows if r.status == "accepted" and not r.form]
    if not todo:
        return
    try:
        from .validate import validate_paths
    except ImportError:
        return
    paths = [inbox / r.stored for r in todo]
    try:
        submissions = validate_paths(paths, orgs=campaign.orgs if campaign else None, campaign=campaign)
    except NotImplementedError:
        return
    except Exception as exc:  # recognition is a bonus: a failure there must not lose the collected files
        warnings.append(f"识别填报单位和表单时出错（{type(exc).__name__}: {exc}），这些附件的单位和表单暂未填写。")
        return
    by_path: dict[Path, list] = {}
    for sub in submissions:
        by_path.setdefault(Path(sub.path).resolve(), []).append(sub)
    for row in todo:
        _apply_submissions(row, by_path.get((inbox / row.stored).resolve(), []), with_tree=campaign is not None)


def _apply_submissions(row: IntakeRow, subs: list, with_tree: bool) -> None:
    """Copy what validate found about one stored file onto its register row.

    With an org tree only a unit found in it counts (a typed name it lacks leaves the unit to
    the sender's address); without one, the typed name is all there is.
    """
    if not subs:
        return
    found = [s for s in subs if not s.rejected] or subs
    unit = next((s for s in found if s.unit_code or (s.unit_name and not with_tree)), None)
    if all(s.rejected for s in subs):
        errors = [p.message for s in subs for p in s.problems if p.severity == "error"]
        row.status, row.reason = "rejected", (errors[0] if errors else "无法识别为已知表单")
    row.form = ",".join(dict.fromkeys(s.form for s in found if s.form))
    if unit is not None:
        row.unit, row.unit_name, row.unit_basis = unit.unit_code or unit.unit_name, unit.unit_name or "", unit.unit_basis
    row.period = next((s.period for s in found if s.period), "") or ""


def _match_senders(rows: list[IntakeRow], campaign) -> None:
    """Rows whose file names no unit: the unit whose registered e-mail sent it."""
    if campaign is None:
        return
    for row in rows:
        if row.unit or not row.sender or row.status == "rejected":
            continue
        try:
            org = campaign.orgs.by_email(row.sender)
        except NotImplementedError:
            return
        if org is not None:
            row.unit, row.unit_name, row.unit_basis = org.code, org.name, "sender"


def _copy_to_duplicates(rows: list[IntakeRow]) -> None:
    """A duplicate shows what its first copy was recognised as."""
    by_no = {r.no: r for r in rows}
    for row in rows:
        first = by_no.get(row.duplicate_of) if row.status == "duplicate" else None
        if first is not None:
            row.unit, row.unit_name, row.unit_basis = first.unit, first.unit_name, first.unit_basis
            row.form, row.period = first.form, first.period


def _form_titles() -> dict[str, str]:
    from .spec import load_specs
    return {spec_id: spec.title for spec_id, spec in load_specs().items()}


# -- collect ----------------------------------------------------------------------------

def source_parts(sources: Iterable[str | Path], inbox: Path, *, since: date | None, password: str | None,
                 limits: Limits) -> Iterator[Part]:
    """Every attachment of every source, in order; ConfigError for a source that does not exist."""
    for source in sources:
        text = str(source)
        if is_imap_url(text):
            if password is None:
                raise ConfigError([f"收取邮箱 {parse_imap_url(text).label} 需要密码：请设置环境变量 ZHENGGAI_IMAP_PASSWORD。"])
            yield from imap_parts(parse_imap_url(text), password, limits, since)
            continue
        path = Path(text)
        if path.is_dir():
            yield from folder_parts(path, limits, skip=inbox)
        elif not path.is_file():
            raise ConfigError([f"找不到“{text}”：请给出文件夹、.eml、.mbox、.zip 文件或 imap:// 邮箱地址。"])
        elif path.suffix.lower() == ".mbox":
            yield from mbox_parts(path, limits, since)
        elif path.suffix.lower() == ".eml":
            yield from eml_parts(path, limits, since)
        else:
            yield from file_part(path, limits)


def check_sources(sources: Iterable[str | Path]) -> bool:
    """Refuse bad sources before anything is fetched, every problem at once; True when a mailbox needs a password."""
    problems, mailbox = [], False
    for source in sources:
        text = str(source)
        if is_imap_url(text):
            mailbox = True
            try:
                parse_imap_url(text)
            except ConfigError as exc:
                problems.extend(exc.problems)
        elif not Path(text).exists():
            problems.append(f"找不到“{text}”：请给出文件夹、.eml、.mbox、.zip 文件或 imap:// 邮箱地址。")
    if problems:
        raise ConfigError(problems)
    return mailbox


def collect(sources: Iterable[str | Path], inbox: Path | str, *, campaign=None, since: date | None = None,
            password: str | None = None, limits: Limits = Limits()) -> CollectResult:
    """Take every attachment from the sources into `inbox` and update its register."""
    sources = list(sources)
    check_sources(sources)
    inbox = Path(inbox)
    inbox.mkdir(parents=True, exist_ok=True)
    _clear_stale_temp(inbox)
    register = read_register(inbox)
    by_key = {r.key: r for r in register}
    first_by_sha = {r.sha256: r for r in reversed(register) if r.stored}
    seen: dict[str, IntakeRow] = {}
    new: list[IntakeRow] = []
    for part in source_parts(sources, inbox, since=since, password=password, limits=limits):
        key = f"{part.envelope.key}#{part.path}"
        if key not in by_key:
            row = _new_row(part, len(register) + 1, inbox, first_by_sha)
            register.append(row)
            new.append(row)
            by_key[key] = row
        seen.setdefault(key, by_key[key])
    warnings: list[str] = []
    _recognise(inbox, register, campaign, warnings)
    _match_senders(register, campaign)
    _copy_to_duplicates(register)
    write_register(inbox, register, _form_titles())
    return CollectResult(inbox=inbox, rows=list(seen.values()), new=new, register=register, warnings=warnings)
