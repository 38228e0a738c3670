"""Pull attachments out of what units send: IMAP mailboxes, .mbox/.eml exports, folders, zips.

Everything here yields `Part`s (one attachment with its bytes and the message it came in);
storing and registering them is `intake.py`'s job. Messages are parsed with the compat32
policy because it hands back header values untouched: filenames arrive in every encoding
Chinese mail clients use (RFC 2047 and 2231 with GBK labels holding GB18030 text, raw GBK or
UTF-8 bytes), and we decode them ourselves rather than let a stricter parser replace bytes.
"""
from __future__ import annotations

import base64
import email
import email.utils
import imaplib
import io
import mailbox
import mimetypes
import re
import zipfile
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from email.header import decode_header
from email.message import Message
from hashlib import sha256
from pathlib import Path
from typing import Iterator
from urllib.parse import unquote, urlsplit

from tnefparse import TNEF

from .errors import ConfigError, network_reason
from .sniff import is_system_name

OFFICE_TZ = timezone(timedelta(hours=8))  # deadlines are Beijing time; received times are too
GB_LABELS = {"gb2312", "gbk", "x-gbk", "cp936", "euc-cn", "gb_2312-80", "csgb2312", "chinese", "ms936", "gb18030"}
ZIP_UTF8_FLAG = 0x800
ZIP_UNICODE_PATH_EXTRA = 0x7075  # Info-ZIP Unicode Path extra field
IMAP_BATCH = 20
TNEF_MAGIC = b"\x78\x9f\x3e\x22"  # winmail.dat: Outlook's rich-text mail wraps the attachments in it
# The rest of a message's body that Exchange and Outlook attach as ATT00001.htm / ATT00002.txt.
_BODY_PART = re.compile(r"ATT\d+\.(txt|html?)", re.IGNORECASE)


@dataclass(frozen=True)
class Limits:
    """Bounds on what one attachment or archive may cost (named in refusal reasons)."""

    max_part_bytes: int = 50 * 1024 * 1024
    max_inflated_bytes: int = 300 * 1024 * 1024  # all members of one archive, nested ones included
    max_ratio: int = 200  # uncompressed / compressed, for members over 1 MB
    max_zip_entries: int = 2000
    max_zip_depth: int = 3


@dataclass(frozen=True)
class Envelope:
    """The message an attachment came in (or the file it was found as)."""

    key: str  # stable identity of the message: Message-ID, else a hash of its bytes
    sender: str = ""  # e-mail address
    sender_name: str = ""
    subject: str = ""
    received: datetime | None = None  # naive Beijing time
    received_basis: str = ""  # date (Date header) | server (INTERNALDATE, mbox From_ line) | mtime
    source: str = ""  # where it was read: mailbox URL and UID, file path and index


@dataclass(frozen=True)
class Part:
    """One attachment: its decoded original name, bytes, and where it was found."""

    envelope: Envelope
    path: str  # position inside the message: walk index, then zip member indexes
    filename: str  # decoded original name, exactly as the sender's client gave it
    data: bytes
    container: str = ""  # the archive(s) it was packed in, "材料.zip/内层.zip"
    refused: str = ""  # why it was not taken (too large, zip bomb…), in Chinese
    declared_size: int = 0  # the size a refused part claimed, when its bytes were never read

    @property
    def size(self) -> int:
        return len(self.data) or self.declared_size


# -- decoding header text ---------------------------------------------------------------

def decode_bytes(raw: bytes, charset: str | None = None) -> str:
    """Bytes of a header in a declared (or unknown) charset -> text; GBK labels read as GB18030."""
    label = (charset or "").strip().lower()
    if label in GB_LABELS:
        return raw.decode("gb18030", errors="replace")
    if label and label not in ("unknown-8bit", "us-ascii", "ascii"):
        try:
            return raw.decode(label)
        except (LookupError, UnicodeDecodeError):
            pass
    for guess in ("utf-8", "gb18030"):
        try:
            return raw.decode(guess)
        except UnicodeDecodeError:
            continue
    return raw.decode("gb18030", errors="replace")


def _undo_surrogates(text: str) -> str:
    """Raw 8-bit header bytes (kept as surrogates by the parser) -> text: UTF-8, else GB18030."""
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return text
    return decode_bytes(text.encode("utf-8", "surrogateescape"))


def decode_text(value: object) -> str:
    """A raw header value -> readable text: unfolded, 8-bit bytes and RFC 2047 words decoded."""
    if value is None:
        return ""
    text = _undo_surrogates(re.sub(r"\r?\n(?=[ \t])", "", str(value)))
    if "=?" in text:
        try:
            chunks = decode_header(text)
        except Exception:  # a malformed encoded word: keep the text as it came
            chunks = [(text, None)]
        text = "".join(_chunk_text(c, cs) for c, cs in chunks)
    return text.strip()


def _chunk_text(chunk: bytes | str, charset: str | None) -> str:
    """One piece from decode_header: encoded words in their charset; plain text comes back escaped."""
    if isinstance(chunk, str):
        return chunk
    if charset is None:
        return chunk.decode("raw-unicode-escape")
    return decode_bytes(chunk, charset)


def _raw_header(part: Message, name: str) -> str | None:
    """The header's value exactly as received (8-bit bytes as surrogates), or None."""
    for key, value in part.raw_items():
        if key.lower() == name:
            return value
    return None


def _param(part: Message, header: str, name: str) -> str | None:
    """A header parameter, RFC 2231 (with continuations) and RFC 2047 words decoded."""
    raw = _raw_header(part, header)
    if raw is None:
        return None
    holder = Message()
    holder[header] = _undo_surrogates(re.sub(r"\r?\n(?=[ \t])", "", raw))
    value = holder.get_param(name, header=header)
    if value is None:
        return None
    if isinstance(value, tuple):  # RFC 2231: (charset, language, text as latin-1)
        charset, _, text = value
        try:
            value = decode_bytes(text.encode("latin-1"), charset)
        except UnicodeEncodeError:
            value = text
    return decode_text(value)


def filename_of(part: Message) -> str | None:
    """The attachment's original name from Content-Disposition, else Content-Type's name."""
    return _param(part, "content-disposition", "filename") or _param(part, "content-type", "name")


# -- messages ---------------------------------------------------------------------------

def _to_office_time(moment: datetime) -> datetime:
    """An aware time -> naive Beijing time; a naive one is taken as Beijing time already."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(OFFICE_TZ).replace(tzinfo=None)
    return moment


def message_key(msg: Message, raw: bytes) -> str:
    """Message-ID when present, else a hash of the bytes with line endings made uniform."""
    message_id = decode_text(_raw_header(msg, "message-id")).strip("<> \t")
    if message_id:
        return "mid:" + message_id
    return "sha:" + sha256(raw.replace(b"\r\n", b"\n")).hexdigest()[:32]


def envelope_of(msg: Message, raw: bytes, *, server_time: datetime | None, fallback: datetime | None,
                source: str) -> Envelope:
    """Who sent it, what about and when: Date header, else the server's time, else the fallback."""
    name, address = email.utils.parseaddr(_undo_surrogates(_raw_header(msg, "from") or ""))
    received, basis = None, ""
    date_header = _raw_header(msg, "date")
    if date_header:
        try:
            received, basis = _to_office_time(email.utils.parsedate_to_datetime(date_header.strip())), "date"
        except (TypeError, ValueError, IndexError):
            received = None
    if received is None and server_time is not None:
        received, basis = _to_office_time(server_time), "server"
    if received is None and fallback is not None:
        received, basis = _to_office_time(fallback), "mtime"
    return Envelope(key=message_key(msg, raw), sender=address.lower(), sender_name=decode_text(name),
                    subject=decode_text(_raw_header(msg, "subject")), received=received,
                    received_basis=basis, source=source)


def _is_attachment(part: Message, name: str | None) -> bool:
    """Named parts and application/* parts are attachments; bodies and embedded images are not."""
    if part.is_multipart():
        return False
    disposition = part.get_content_disposition()
    maintype = part.get_content_maintype()
    if maintype == "image" and part.get("content-id") and disposition != "attachment":
        return False  # a picture embedded in the HTML body, e.g. a signature logo
    if maintype == "text" and name and _BODY_PART.fullmatch(name):
        return False
    if name:
        return True
    return disposition == "attachment" or maintype == "application"


def _unnamed(part: Message, index: int) -> str:
    """A name for an attachment its sender's client left unnamed."""
    ext = mimetypes.guess_extension(part.get_content_type()) or ".bin"
    return f"附件{index}{ext}"


def message_parts(raw: bytes, envelope: Envelope, limits: Limits, prefix: str = "",
                  container: str = "") -> Iterator[Part]:
    """Every attachment of a message, forwarded messages (message/rfc822) included."""
    msg = email.message_from_bytes(raw)
    for index, part in enumerate(msg.walk()):
        try:
            name = filename_of(part)
            if not _is_attachment(part, name):
                continue
            data = part.get_payload(decode=True) or b""
        except Exception as exc:  # one mangled part must not stop the rest of the mailbox
            yield Part(envelope, f"{prefix}{index}", f"附件{index}", b"", container,
                       refused=f"邮件的这一部分无法解析（{type(exc).__name__}），请对方重新发送")
            continue
        found = Part(envelope, f"{prefix}{index}", name or _unnamed(part, index), data, container)
        yield from expand(found, limits)


def expand(part: Part, limits: Limits, depth: int = 0, budget: list[int] | None = None) -> Iterator[Part]:
    """The part itself, or what it holds: a zip's members, an attached .eml's or a winmail.dat's attachments."""
    if part.refused:
        yield part
        return
    if part.size > limits.max_part_bytes:
        yield replace(part, refused=f"附件大小 {_mb(part.size)} 超过上限 {_mb(limits.max_part_bytes)}，未收取")
        return
    suffix = Path(part.filename.replace("\\", "/")).suffix.lower()
    if suffix == ".zip":
        yield from zip_parts(part, limits, depth, budget if budget is not None else [limits.max_inflated_bytes])
    elif suffix == ".eml" and depth < limits.max_zip_depth:
        yield from message_parts(part.data, part.envelope, limits, prefix=part.path + "/eml:",
                                 container=_join(part.container, part.filename))
    elif part.data.startswith(TNEF_MAGIC) and depth < limits.max_zip_depth:
        yield from tnef_parts(part, limits, depth, budget)
    else:
        yield part


# -- Outlook's winmail.dat ----------------------------------------------------------------

def tnef_parts(part: Part, limits: Limits, depth: int, budget: list[int] | None) -> Iterator[Part]:
    """The files in a winmail.dat (TNEF), which Outlook sends in place of the attachments of a
    rich-text mail: without it, the unit's form would be refused and the unit counted as not reported."""
    try:
        attachments = TNEF(part.data, do_checksum=False).attachments
    except Exception as exc:  # noqa: BLE001 — a mangled winmail.dat is answered, not raised
        yield replace(part, refused=f"Outlook 的 winmail.dat 无法解开（{type(exc).__name__}），请对方在 Outlook 中"
                                    "把邮件格式改为 HTML 或纯文本后重新发送")
        return
    inner = _join(part.container, part.filename)
    for index, attachment in enumerate(attachments):
        try:
            name = attachment.long_filename()  # the 8.3 title is tried as UTF-8 and fails on a GBK name
        except UnicodeDecodeError:
            name = ""
        found = Part(part.envelope, f"{part.path}/tnef:{index}", str(name or f"附件{index + 1}"), attachment.data, inner)
        yield from expand(found, limits, depth + 1, budget)


# -- zip archives -----------------------------------------------------------------------

def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


def _join(container: str, name: str) -> str:
    return f"{container}/{name}" if container else name


def zip_member_name(info: zipfile.ZipInfo) -> str:
    """A member's real name: UTF-8 when flagged or in the Unicode Path field, else GB18030 (WinRAR, 7-Zip on Chinese Windows)."""
    if info.flag_bits & ZIP_UTF8_FLAG:
        return info.filename
    extra = info.extra
    while len(extra) >= 4:  # Info-ZIP Unicode Path: tag, size, version, crc32, utf-8 name
        tag, size = int.from_bytes(extra[:2], "little"), int.from_bytes(extra[2:4], "little")
        if tag == ZIP_UNICODE_PATH_EXTRA and size > 5:
            try:
                return extra[9:4 + size].decode("utf-8")
            except UnicodeDecodeError:
                break
        extra = extra[4 + size:]
    try:
        raw = info.filename.encode("cp437")
    except UnicodeEncodeError:
        return info.filename
    return decode_bytes(raw)


def _zip_refusal(infos: list[zipfile.ZipInfo], limits: Limits, budget: list[int]) -> str:
    """Why an archive must not be unpacked (too many members, inflates too far), or ''."""
    if len(infos) > limits.max_zip_entries:
        return f"压缩包含 {len(infos)} 个文件，超过上限 {limits.max_zip_entries}，疑似压缩炸弹，未解压"
    total = sum(i.file_size for i in infos)
    if total > budget[0]:
        return f"压缩包解压后共 {_mb(total)}，超过上限 {_mb(limits.max_inflated_bytes)}，疑似压缩炸弹，未解压"
    for info in infos:
        if info.file_size > 1024 * 1024 and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            return (f"压缩包内文件压缩比 {info.file_size // max(info.compress_size, 1)}:1 超过上限 "
                    f"{limits.max_ratio}:1，疑似压缩炸弹，未解压")
    return ""


def zip_parts(part: Part, limits: Limits, depth: int, budget: list[int]) -> Iterator[Part]:
    """A zip's members (nested zips unpacked too), after checking sizes and ratios first."""
    if depth >= limits.max_zip_depth:
        yield replace(part, refused=f"压缩包嵌套超过 {limits.max_zip_depth} 层，未解压")
        return
    try:
        archive = zipfile.ZipFile(io.BytesIO(part.data))
        infos = [i for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        yield replace(part, refused=f"压缩包无法打开（{type(exc).__name__}），请重新压缩后发送")
        return
    reason = _zip_refusal(infos, limits, budget)
    if reason:
        yield replace(part, refused=reason)
        return
    budget[0] -= sum(i.file_size for i in infos)
    inner = _join(part.container, part.filename)
    for index, info in enumerate(infos):
        name = zip_member_name(info)
        if any(map(is_system_name, name.replace("\\", "/").split("/"))):
            continue  # what the archiver added: a Mac's __MACOSX/._a.xlsx and .DS_Store, Thumbs.db
        member = Part(part.envelope, f"{part.path}/zip:{index}", name, b"", inner, declared_size=info.file_size)
        if info.flag_bits & 0x1:
            yield replace(member, refused="压缩包内文件设置了密码，无法解压，请取消密码后发送")
            continue
        try:
            with archive.open(info) as stream:
                data = stream.read(info.file_size + 1)  # never more than the header promised
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
            yield replace(member, refused=f"压缩包内文件无法解压（{type(exc).__name__}）")
            continue
        if len(data) != info.file_size:
            yield replace(member, refused="压缩包内文件大小与记录不符，疑似压缩炸弹，未解压")
            continue
        yield from expand(replace(member, data=data), limits, depth + 1, budget)


# -- sources ----------------------------------------------------------------------------

def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, OFFICE_TZ)


def _file_digest(path: Path) -> str:
    """A file's identity by content, read in chunks (it may be a large refused file)."""
    digest = sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:32]


def _before(envelope: Envelope, since: date | None) -> bool:
    return since is not None and envelope.received is not None and envelope.received.date() < since


def eml_parts(path: Path, limits: Limits, since: date | None = None) -> Iterator[Part]:
    """The attachments of one saved message (.eml)."""
    raw = path.read_bytes()
    msg = email.message_from_bytes(raw)
    envelope = envelope_of(msg, raw, server_time=None, fallback=_mtime(path), source=str(path))
    if not _before(envelope, since):
        yield from message_parts(raw, envelope, limits)


def _from_line_time(message: mailbox.mboxMessage) -> datetime | None:
    """The delivery time on an mbox From_ line ('From a@b Tue Jun 18 10:00:00 2024'), as UTC."""
    parts = message.get_from().split()
    try:
        return datetime.strptime(" ".join(parts[-5:]), "%a %b %d %H:%M:%S %Y").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def mbox_parts(path: Path, limits: Limits, since: date | None = None) -> Iterator[Part]:
    """The attachments of every message in an mbox export, in file order."""
    box = mailbox.mbox(path, create=False)
    try:
        for number, key in enumerate(box.keys(), start=1):
            raw = box.get_bytes(key)
            msg = email.message_from_bytes(raw)
            envelope = envelope_of(msg, raw, server_time=_from_line_time(box.get_message(key)),
                                   fallback=_mtime(path), source=f"{path}#{number}")
            if not _before(envelope, since):
                yield from message_parts(raw, envelope, limits)
    finally:
        box.close()


def file_part(path: Path, limits: Limits) -> Iterator[Part]:
    """A plain file from a folder: itself, or its members when it is a zip or an .eml."""
    if path.suffix.lower() == ".eml":
        yield from eml_parts(path, limits)
        return
    if path.suffix.lower() == ".mbox":
        yield from mbox_parts(path, limits)
        return
    size = path.stat().st_size
    envelope = Envelope(key=f"file:{path.name}:{_file_digest(path)}", received=_to_office_time(_mtime(path)),
                        received_basis="mtime", source=str(path))
    if size > limits.max_part_bytes:
        yield Part(envelope, "0", path.name, b"", declared_size=size,
                   refused=f"文件大小 {_mb(size)} 超过上限 {_mb(limits.max_part_bytes)}，未收取")
        return
    yield from expand(Part(envelope, "0", path.name, path.read_bytes()), limits)


def folder_parts(folder: Path, limits: Limits, skip: Path | None = None) -> Iterator[Part]:
    """Every file under a folder (sorted; hidden, lock and Windows' folder files and `skip` left out)."""
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder)
        if any(map(is_system_name, rel.parts)):
            continue
        if skip is not None and path.resolve().is_relative_to(skip.resolve()):
            continue
        yield from file_part(path, limits)


# -- IMAP -------------------------------------------------------------------------------

@dataclass(frozen=True)
class ImapSource:
    """imap://user@host[:port]/FOLDER or imaps://… (the password never comes in the URL)."""

    secure: bool
    user: str
    host: str
    port: int
    folder: str

    @property
    def label(self) -> str:
        scheme = "imaps" if self.secure else "imap"
        return f"{scheme}://{self.user}@{self.host}:{self.port}/{self.folder}"


def is_imap_url(source: str) -> bool:
    return source.lower().startswith(("imap://", "imaps://"))


def parse_imap_url(url: str) -> ImapSource:
    """Split a mailbox URL; refuses a password written into it."""
    parts = urlsplit(url)
    if parts.password is not None:
        raise ConfigError([f"邮箱地址 {parts.scheme}://{parts.username}@{parts.hostname} 中含有密码：请去掉密码，"
                           "改为设置环境变量 ZHENGGAI_IMAP_PASSWORD，或运行时按提示输入。"])
    if not parts.username or not parts.hostname:
        raise ConfigError([f"邮箱地址“{url}”应写成 imap://用户名@服务器[:端口]/文件夹，如 imaps://office@imap.163.com/INBOX"])
    secure = parts.scheme.lower() == "imaps"
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    return ImapSource(secure, unquote(parts.username), parts.hostname, parts.port or (993 if secure else 143), folder)


def imap_utf7(folder: str) -> str:
    """A folder name in IMAP's modified UTF-7 (RFC 3501 §5.1.3), e.g. 收件箱 -> &ZTZO9nux-."""
    out, pending = [], ""
    for ch in folder + "\0":
        if ch != "\0" and not (" " <= ch <= "~"):
            pending += ch
            continue
        if pending:
            encoded = base64.b64encode(pending.encode("utf-16-be")).decode().rstrip("=").replace("/", ",")
            out.append(f"&{encoded}-")
            pending = ""
        if ch != "\0":
            out.append("&-" if ch == "&" else ch)
    return "".join(out)


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


_INTERNALDATE = re.compile(rb'INTERNALDATE "([^"]+)"')
_UID = re.compile(rb"UID (\d+)")


def _internaldate(meta: bytes) -> datetime | None:
    found = _INTERNALDATE.search(meta)
    if not found:
        return None
    try:
        return datetime.strptime(found.group(1).decode().strip(), "%d-%b-%Y %H:%M:%S %z")
    except ValueError:
        return None


def _imap_error(source: ImapSource, what: str) -> ConfigError:
    return ConfigError([f"邮箱 {source.label}：{what}"])


def imap_messages(source: ImapSource, password: str, since: date | None = None
                  ) -> Iterator[tuple[bytes, datetime | None, str]]:
    """Each message's bytes, INTERNALDATE and label — read-only: never deleted, flagged or marked read."""
    cls = imaplib.IMAP4_SSL if source.secure else imaplib.IMAP4
    try:
        conn = cls(source.host, source.port, timeout=60)
    except OSError as exc:
        raise _imap_error(source, f"无法连接服务器：{network_reason(exc)}") from None
    try:
        try:
            conn.login(source.user, password)
        except imaplib.IMAP4.error:
            raise _imap_error(source, "登录失败，请检查用户名和密码（163 等邮箱需使用“授权码”）") from None
        status, _ = conn.select(_quote(imap_utf7(source.folder)), readonly=True)
        if status != "OK":
            raise _imap_error(source, f"没有名为“{source.folder}”的文件夹")
        criteria = ("SINCE", since.strftime("%d-%b-%Y")) if since else ("ALL",)
        status, data = conn.uid("SEARCH", None, *criteria)
        uids = data[0].split() if status == "OK" and data and data[0] else []
        for start in range(0, len(uids), IMAP_BATCH):
            batch = b",".join(uids[start:start + IMAP_BATCH]).decode()
            status, data = conn.uid("FETCH", batch, "(UID INTERNALDATE BODY.PEEK[])")
            for item in data:
                if isinstance(item, tuple) and len(item) == 2:
                    uid = _UID.search(item[0])
                    yield item[1], _internaldate(item[0]), f"{source.label};UID={uid.group(1).decode() if uid else '?'}"
    except (imaplib.IMAP4.abort, OSError) as exc:
        raise _imap_error(source, f"连接中断（{type(exc).__name__}），请稍后重新运行（已收取的附件不会重复登记）") from None
    finally:
        try:
            conn.logout()
        except Exception:  # the connection may already be gone; nothing to tidy
            pass


def imap_parts(source: ImapSource, password: str, limits: Limits, since: date | None = None) -> Iterator[Part]:
    """The attachments of every message in an IMAP folder, oldest UID first."""
    for raw, internal, label in imap_messages(source, password, since):
        msg = email.message_from_bytes(raw)
        envelope = envelope_of(msg, raw, server_time=internal, fallback=None, source=label)
        yield from message_parts(raw, envelope, limits)
