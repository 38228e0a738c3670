"""Helpers for the intake tests: tiny workbooks, hand-built messages as real clients write them, dovecot."""
from __future__ import annotations

import base64
import getpass
import io
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote_from_bytes

from openpyxl import Workbook

CRLF = b"\r\n"


def tiny_xlsx(label: str, unit: str = "") -> bytes:
    """A small real 整改清单 (one problem row) whose bytes differ by `label`; `unit` typed as 填报单位."""
    book = Workbook()
    sheet = book.active
    sheet.append(["整改清单"])
    sheet.append(["填报单位（盖章）", unit or None])
    sheet.append(["序号", "问题描述", "整改措施", "责任人", "整改时限", "完成情况"])
    sheet.append(["1", f"{label}：三会一课记录不全", "补齐记录", "张三", "立行立改", "正在推进"])
    out = io.BytesIO()
    book.save(out)
    # openpyxl stamps the current time into docProps: make the bytes depend on the content only.
    return _restamp(out.getvalue())


def _restamp(data: bytes) -> bytes:
    """Rewrite a zip with fixed member times and fixed docProps dates."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "docProps/core.xml":
                import re
                body = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2024-06-01T00:00:00Z", body)
            dst.writestr(zipfile.ZipInfo(info.filename, (2024, 6, 1, 0, 0, 0)), body, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def b64_lines(data: bytes) -> bytes:
    text = base64.b64encode(data)
    return CRLF.join(text[i:i + 76] for i in range(0, len(text), 76))


def part(headers: list[bytes], data: bytes) -> bytes:
    """One MIME part with base64 body; `headers` are raw header lines (any bytes)."""
    return CRLF.join(headers + [b"Content-Transfer-Encoding: base64", b"", b64_lines(data)])


def attachment(disposition: bytes, data: bytes, ctype: bytes = b"application/octet-stream",
               extra: list[bytes] | None = None) -> bytes:
    return part([b"Content-Type: " + ctype, b"Content-Disposition: " + disposition, *(extra or [])], data)


def text_body(text: str = "您好，附件是我单位的报表，请查收。") -> bytes:
    return CRLF.join([b"Content-Type: text/plain; charset=utf-8", b"Content-Transfer-Encoding: base64", b"",
                      b64_lines(text.encode())])


def html_body() -> bytes:
    return CRLF.join([b"Content-Type: text/html; charset=utf-8", b"Content-Transfer-Encoding: base64", b"",
                      b64_lines("<p>您好，请查收。<img src='cid:logo'></p>".encode())])


def message(parts: list[bytes], *, sender: bytes, subject: bytes, date: str | None, message_id: str | None,
            to: bytes = b"office@example.cn", boundary: bytes = b"==BOUNDARY==") -> bytes:
    """A multipart/mixed message from raw header values and parts."""
    head = [b"From: " + sender, b"To: " + to, b"Subject: " + subject, b"MIME-Version: 1.0"]
    if date:
        head.append(b"Date: " + date.encode())
    if message_id:
        head.append(b"Message-ID: <" + message_id.encode() + b">")
    head.append(b'Content-Type: multipart/mixed; boundary="' + boundary + b'"')
    body = [b"--" + boundary + CRLF + p for p in parts]
    return CRLF.join(head) + CRLF + CRLF + CRLF.join(body) + CRLF + b"--" + boundary + b"--" + CRLF


def encoded_word(text: str, charset: str, encoding: str = "B") -> bytes:
    raw = text.encode("gb18030" if charset.lower() in ("gbk", "gb2312") else charset)
    if encoding == "B":
        return f"=?{charset}?B?{base64.b64encode(raw).decode()}?=".encode()
    return f"=?{charset}?Q?{''.join(f'={b:02X}' for b in raw)}?=".encode()


def zip_bytes(members: list[tuple[str, bytes]], gbk_names: bool = False) -> bytes:
    """A zip; with gbk_names, non-ASCII names are stored in GBK without the UTF-8 flag (WinRAR style)."""
    out = io.BytesIO()
    swaps = []
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, (name, data) in enumerate(members):
            stored = name
            if gbk_names:
                gbk = name.encode("gbk")
                placeholder = f"{index:02d}".encode() + b"Q" * (len(gbk) - 2)  # same length, ASCII
                swaps.append((placeholder, gbk))
                stored = placeholder.decode()
            archive.writestr(zipfile.ZipInfo(stored, (2024, 6, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    raw = out.getvalue()
    for placeholder, gbk in swaps:  # names are not covered by the CRC: patch both headers
        assert raw.count(placeholder) == 2
        raw = raw.replace(placeholder, gbk)
    return raw


def tnef_bytes(files: list[tuple[str, bytes]]) -> bytes:
    """A winmail.dat as Outlook on Chinese Windows writes it (MS-OXTNEF): each file's 8.3 title in GBK,
    its long name (PidTagAttachLongFilename, UTF-16) among the attachment's MAPI properties."""
    def attribute(level: int, kind: int, ident: int, data: bytes) -> bytes:
        return struct.pack("<BHHI", level, ident, kind, len(data)) + data + struct.pack("<H", sum(data) & 0xFFFF)

    out = struct.pack("<IH", 0x223E9F78, 0x0101)
    out += attribute(1, 0x0008, 0x9006, struct.pack("<I", 0x00010000))  # attTnefVersion
    out += attribute(1, 0x0006, 0x9007, struct.pack("<II", 936, 0))  # attOemCodepage: GBK
    for name, data in files:
        long_name = (name + "\0").encode("utf-16-le")
        long_name += b"\0" * (-len(long_name) % 4)
        props = struct.pack("<IHHII", 1, 0x001F, 0x3707, 1, len(name) * 2 + 2) + long_name
        out += attribute(2, 0x0006, 0x9002, struct.pack("<HIHHI", 1, 0xFFFFFFFF, 0, 0, 0))  # attAttachRendData
        out += attribute(2, 0x0001, 0x8010, name[:6].encode("gbk") + b"~1.XLS\0")  # attAttachTitle
        out += attribute(2, 0x0006, 0x800F, data)  # attAttachData
        out += attribute(2, 0x0006, 0x9005, props)  # attAttachment
    return out


def zip_bomb() -> bytes:
    """40 MB of zeros squeezed into a few tens of KB."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("报表.xlsx", b"\0" * (40 * 1024 * 1024))
    return out.getvalue()


@dataclass
class Sample:
    """A test message and what collecting it must register."""

    raw: bytes
    internaldate: datetime
    expected: list[tuple[str, str]] = field(default_factory=list)  # (decoded filename, status)


def sample_messages() -> list[Sample]:
    """Messages as Outlook, Foxmail and webmail send them, covering every case of issue 5."""
    june18 = datetime(2024, 6, 18, 2, 0, tzinfo=timezone.utc)
    x1, x2, x3, x4 = (tiny_xlsx(f"第{i}党支部") for i in "一二三四")
    x5, x6, x7, x8, x9 = (tiny_xlsx(f"第{i}党支部") for i in "五六七八九")
    samples = []

    # Outlook: RFC 2047 GBK in a quoted filename; GB2312 Q-words holding a GBK-only character.
    name1, name2 = "第一党支部整改方案备案表.xlsx", "喆支部统计表.xlsx"
    samples.append(Sample(message([
        text_body(),
        attachment(b'attachment; filename="' + encoded_word(name1, "GBK") + b'"', x1),
        attachment(b'attachment; filename="' + encoded_word(name2, "gb2312", "Q") + b'"', x2,
                   ctype=b'application/vnd.ms-excel; name="' + encoded_word(name2, "gb2312", "Q") + b'"'),
    ], sender=encoded_word("第一党支部 张三", "GBK") + b" <zhangsan@unit1.cn>",
        subject=encoded_word("报送整改方案备案表", "GBK"), date="Tue, 18 Jun 2024 10:00:00 +0800",
        message_id="outlook-1@unit1.cn"), june18, [(name1, "accepted"), (name2, "accepted")]))

    # Webmail: UTF-8 words split in the middle of a character, folded; RFC 2231 GBK; RFC 2231 continuations.
    name3, name4, name5 = "第二党支部自查情况表.xlsx", "第三党支部整改周报表.xlsx", "第四党支部整改清单（第二版）.xlsx"
    utf = name3.encode()
    split = (b"=?UTF-8?B?" + base64.b64encode(utf[:7]) + b"?=\r\n =?UTF-8?B?" + base64.b64encode(utf[7:]) + b"?=")
    gbk = quote_from_bytes(name4.encode("gbk")).encode()
    cont = quote_from_bytes(name5.encode())
    samples.append(Sample(message([
        html_body(),
        attachment(b'attachment;\r\n filename="' + split + b'"', x3),
        attachment(b"attachment; filename*=GBK''" + gbk, x4),
        attachment(b"attachment;\r\n filename*0*=UTF-8''" + cont[:30].encode() + b";\r\n filename*1*="
                   + cont[30:].encode(), x5),
        part([b"Content-Type: image/png", b"Content-ID: <logo>", b'Content-Disposition: inline; filename="image001.png"'],
             b"\x89PNG\r\n\x1a\nsig"),
        part([b"Content-Type: image/gif"], b"GIF89a"),
    ], sender="李四 <lisi@unit2.cn>".encode(), subject="=?UTF-8?B?5o+Q5Lqk?= 自查表".encode(),
        date="Tue, 18 Jun 2024 03:30:00 +0000", message_id="web-2@unit2.cn"), june18,
        [(name3, "accepted"), (name4, "accepted"), (name5, "accepted")]))

    # Foxmail: raw GBK bytes in the header; raw UTF-8 in Content-Type name with an inline disposition;
    # an unnamed Excel part; a path-traversal name.
    name6, name7, name8 = "第五党支部备案表.xlsx", "第六党支部统计表.xlsx", "../../../tmp/第七党支部.xlsx"
    samples.append(Sample(message([
        text_body(),
        attachment(b'attachment; filename="' + name6.encode("gbk") + b'"', x6),
        attachment(b"inline", x7, ctype=b'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet; name="'
                   + name7.encode() + b'"'),
        attachment(b"inline", x8, ctype=b"application/vnd.ms-excel"),
        attachment(b'attachment; filename="' + name8.encode() + b'"', x9),
    ], sender="王五".encode("gbk") + b" <wangwu@unit3.cn>", subject="周报".encode("gbk"),
        date="Wed, 19 Jun 2024 09:15:00 +0800", message_id="foxmail-3@unit3.cn"), june18,
        [(name6, "accepted"), (name7, "accepted"), ("附件4.xls", "accepted"), (name8, "accepted")]))

    # A forward of the first message (message/rfc822), plus the same file sent again: duplicates.
    inner = samples[0].raw
    samples.append(Sample(message([
        text_body("转发下级报表。"),
        CRLF.join([b"Content-Type: message/rfc822", b'Content-Disposition: attachment; filename="fwd.eml"', b"", inner]),
        attachment(b'attachment; filename="' + encoded_word("第一党支部备案表（重发）.xlsx", "UTF-8") + b'"', x1),
    ], sender=b"committee@unit9.cn", subject=encoded_word("转发：报送整改方案备案表", "UTF-8"),
        date="Thu, 20 Jun 2024 08:00:00 +0800", message_id="fwd-4@unit9.cn", boundary=b"==FWD=="), june18,
        [(name1, "duplicate"), (name2, "duplicate"), ("第一党支部备案表（重发）.xlsx", "duplicate")]))

    # A zip with GBK names holding a nested zip (UTF-8 flagged), and a zip bomb; no Date header:
    # the received time comes from the server (INTERNALDATE / the mbox From_ line).
    inner_zip = zip_bytes([("第九党支部统计表.xlsx", tiny_xlsx("第九"))])
    packed = zip_bytes([("第八党支部整改台账.xlsx", tiny_xlsx("第八")), ("内层压缩包.zip", inner_zip)], gbk_names=True)
    samples.append(Sample(message([
        text_body(),
        attachment(b'attachment; filename="' + encoded_word("报表合集.zip", "GBK") + b'"', packed,
                   ctype=b"application/zip"),
        attachment(b'attachment; filename="bomb.zip"', zip_bomb(), ctype=b"application/zip"),
    ], sender=b"<branch8@unit8.cn>", subject=b"zip", date=None, message_id=None),
        datetime(2024, 6, 21, 1, 2, 3, tzinfo=timezone.utc),
        [("第八党支部整改台账.xlsx", "accepted"), ("第九党支部统计表.xlsx", "accepted"), ("bomb.zip", "rejected")]))
    return samples


def write_mbox(samples: list[Sample], path: Path) -> Path:
    """The samples as a mail client's .mbox export, each with its delivery time on the From_ line."""
    with path.open("wb") as out:
        for sample in samples:
            stamp = sample.internaldate.astimezone(timezone.utc).strftime("%a %b %d %H:%M:%S %Y")
            body = sample.raw.replace(CRLF, b"\n").replace(b"\nFrom ", b"\n>From ")
            out.write(b"From MAILER-DAEMON " + stamp.encode() + b"\n" + body + b"\n")
    return path


# -- dovecot ------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Dovecot:
    """A throw-away dovecot IMAP server on loopback."""

    port: int
    user: str
    password: str
    home: Path
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"imap://{self.user}@127.0.0.1:{self.port}/INBOX"


DOVECOT_CONF = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {internal}
default_internal_group = {internal_group}
default_login_user = {login}
first_valid_uid = 0
mail_location = maildir:{root}/mail/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_group} home={root}/mail
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


def start_dovecot(user: str = "office", password: str = "s3cret-pass-9") -> Dovecot:
    """Start `dovecot -F` with its own config, users and Maildir in a fresh temp folder."""
    # Dovecot refuses uid 0 for mail and root for login processes: use its own system users then.
    root = Path(tempfile.mkdtemp(prefix="zhenggai-dovecot-"))
    os.chmod(root, 0o755)  # the mail user must reach its Maildir
    me = getpass.getuser()
    as_root = os.geteuid() == 0
    mail_user = "dovecot" if as_root else me
    (root / "mail").mkdir()
    if as_root:
        shutil.chown(root / "mail", mail_user, mail_user)
    (root / "passwd").write_text(f"{user}:{{PLAIN}}{password}::::::\n", encoding="utf-8")
    port = free_port()
    conf = root / "dovecot.conf"
    conf.write_text(DOVECOT_CONF.format(
        root=root, port=port, internal=me, internal_group=_group_of(me), login="dovenull" if as_root else me,
        mail_user=mail_user, mail_group=mail_user if as_root else _group_of(me)), encoding="utf-8")
    process = subprocess.Popen(["dovecot", "-F", "-c", str(conf)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    server = Dovecot(port, user, password, root, process)
    _wait_for_greeting(server)
    return server


def _group_of(user: str) -> str:
    import grp
    import pwd
    return grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name


def _wait_for_greeting(server: Dovecot, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=1) as sock:
                if sock.recv(100).startswith(b"* OK"):
                    return
        except OSError:
            time.sleep(0.1)
    log = (server.home / "dovecot.log").read_text(errors="replace") if (server.home / "dovecot.log").exists() else ""
    stop_dovecot(server)
    raise RuntimeError(f"dovecot did not start:\n{log}")


def stop_dovecot(server: Dovecot) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
    shutil.rmtree(server.home, ignore_errors=True)


def append_all(server: Dovecot, samples: list[Sample], folder: str = "INBOX") -> None:
    """Put the samples into the mailbox as a client's APPEND would."""
    import imaplib
    conn = imaplib.IMAP4("127.0.0.1", server.port)
    conn.login(server.user, server.password)
    for sample in samples:
        status, _ = conn.append(folder, None, imaplib.Time2Internaldate(sample.internaldate), sample.raw)
        assert status == "OK"
    conn.logout()
