"""Collecting from a real IMAP server (dovecot on loopback) gives what the .mbox export gives."""
from __future__ import annotations

import imaplib
import json
import sys
from dataclasses import asdict
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from zhenggai_xls.cli import main
from zhenggai_xls.intake import REGISTER_JSON, collect, read_register
from zhenggai_xls.mail import imap_utf7, parse_imap_url

sys.path.insert(0, str(Path(__file__).parent))
from mailtools import (Sample, append_all, free_port, message, sample_messages, start_dovecot,  # noqa: E402
                       stop_dovecot, text_body, attachment, tiny_xlsx, write_mbox)

SOURCE_SPECIFIC = ("source",)  # the mailbox URL and UID vs the mbox path and index


def old_message() -> Sample:
    """A message delivered in May: outside --since 2024-06-01."""
    raw = message([text_body(), attachment(b'attachment; filename="old.xlsx"', tiny_xlsx("旧"))],
                  sender=b"old@unit0.cn", subject=b"old", date="Wed, 01 May 2024 09:00:00 +0800",
                  message_id="old-0@unit0.cn")
    return Sample(raw, datetime(2024, 5, 1, 1, 0, tzinfo=timezone.utc), [("old.xlsx", "accepted")])


@pytest.fixture(scope="module")
def samples():
    return [old_message(), *sample_messages()]


@pytest.fixture(scope="module")
def server(samples):
    dovecot = start_dovecot()
    try:
        append_all(dovecot, samples)
        yield dovecot
    finally:
        stop_dovecot(dovecot)


def comparable(rows) -> list[dict]:
    return [{k: v for k, v in asdict(r).items() if k not in SOURCE_SPECIFIC} for r in rows]


def flags_and_count(server) -> tuple[int, list[bytes]]:
    conn = imaplib.IMAP4("127.0.0.1", server.port)
    conn.login(server.user, server.password)
    _, count = conn.select("INBOX", readonly=True)
    _, flags = conn.fetch("1:*", "(FLAGS)")
    conn.logout()
    return int(count[0]), flags


def test_imap_and_mbox_export_give_the_same_register(tmp_path, server, samples):
    from_imap = collect([server.url], tmp_path / "imap", password=server.password)
    from_mbox = collect([write_mbox(samples, tmp_path / "export.mbox")], tmp_path / "mbox")
    expected = [p for s in samples for p in s.expected]
    assert [(r.filename, r.status) for r in from_imap.rows] == expected
    assert [(r.filename, r.status) for r in from_mbox.rows] == expected
    assert comparable(read_register(tmp_path / "imap")) == comparable(read_register(tmp_path / "mbox"))
    assert from_imap.rows[0].source.startswith(f"imap://office@127.0.0.1:{server.port}/INBOX;UID=")
    # The message without a Date header takes the server's INTERNALDATE (01:02:03 UTC = 09:02:03 Beijing).
    zipped = next(r for r in from_imap.rows if r.filename == "第八党支部整改台账.xlsx")
    assert (zipped.received, zipped.received_basis) == (datetime(2024, 6, 21, 9, 2, 3), "server")
    # The same mailbox into the mbox inbox adds nothing: the rows are the same attachments.
    assert collect([server.url], tmp_path / "mbox", password=server.password).new == []


def test_imap_is_only_read(tmp_path, server, samples):
    collect([server.url], tmp_path / "inbox", password=server.password)
    count, flags = flags_and_count(server)
    assert count == len(samples)
    assert all(b"\\Seen" not in f and b"\\Deleted" not in f for f in flags if isinstance(f, bytes))


def test_since_limits_the_imap_search(tmp_path, server):
    rows = collect([server.url], tmp_path / "inbox", password=server.password, since=date(2024, 6, 1)).rows
    assert "old.xlsx" not in {r.filename for r in rows}
    assert "第一党支部整改方案备案表.xlsx" in {r.filename for r in rows}


def test_cli_imap_password_from_environment_never_written(tmp_path, server):
    inbox = tmp_path / "inbox"
    result = CliRunner().invoke(main, ["collect", server.url, "-o", str(inbox), "--json"],
                                env={"ZHENGGAI_IMAP_PASSWORD": server.password})
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert len(data["attachments"]) == 16
    assert server.password not in result.output
    for path in inbox.rglob("*"):
        if path.is_file():
            assert server.password.encode() not in path.read_bytes()


def test_cli_imap_password_prompted_when_not_in_environment(tmp_path, server):
    result = CliRunner().invoke(main, ["collect", server.url, "-o", str(tmp_path / "inbox")],
                                input=server.password + "\n", env={"ZHENGGAI_IMAP_PASSWORD": ""})
    assert result.exit_code == 0, result.output
    assert (tmp_path / "inbox" / REGISTER_JSON).exists()
    assert server.password not in result.output


def test_wrong_password_and_missing_folder_are_plain_usage_errors(tmp_path, server):
    runner = CliRunner()
    wrong = runner.invoke(main, ["collect", server.url, "-o", str(tmp_path / "a")],
                          env={"ZHENGGAI_IMAP_PASSWORD": "not-the-password"})
    assert wrong.exit_code == 2 and "登录失败" in wrong.output and "not-the-password" not in wrong.output
    folder = server.url.replace("/INBOX", "/%E6%94%B6%E4%BB%B6%E7%AE%B1")  # 收件箱
    missing = runner.invoke(main, ["collect", folder, "-o", str(tmp_path / "b")],
                            env={"ZHENGGAI_IMAP_PASSWORD": server.password})
    assert missing.exit_code == 2 and "没有名为“收件箱”的文件夹" in missing.output
    assert "Traceback" not in wrong.output + missing.output


def test_a_server_that_does_not_answer_is_said_in_chinese(tmp_path):
    url = f"imap://office@127.0.0.1:{free_port()}/INBOX"  # nothing listens there
    result = CliRunner().invoke(main, ["collect", url, "-o", str(tmp_path / "收件")],
                                env={"ZHENGGAI_IMAP_PASSWORD": "secret"})
    assert result.exit_code == 2 and "无法连接服务器：服务器拒绝连接，请检查地址和端口" in result.output
    assert "Connection refused" not in result.output and "Traceback" not in result.output


def test_imap_url_and_folder_names():
    source = parse_imap_url("imaps://office%40163.com@imap.163.com/%E6%94%B6%E4%BB%B6%E7%AE%B1")
    assert (source.secure, source.user, source.host, source.port, source.folder) == (
        True, "office@163.com", "imap.163.com", 993, "收件箱")
    assert parse_imap_url("imap://u@h:1143").folder == "INBOX"
    assert imap_utf7("收件箱") == "&ZTZO9nux-"  # RFC 3501 §5.1.3 (as Thunderbird shows it)
    assert imap_utf7("A&B") == "A&-B"
