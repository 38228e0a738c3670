"""Collecting attachments from .mbox/.eml exports, zips and folders, and the intake register."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from zhenggai_xls import intake
from zhenggai_xls.campaign import Campaign
from zhenggai_xls.cli import main
from zhenggai_xls.intake import (REGISTER_JSON, REGISTER_XLSX, collect, load_register, read_register,
                                 received_time, safe_name)
from zhenggai_xls.mail import Limits
from zhenggai_xls.orgs import Org, OrgTree

sys.path.insert(0, str(Path(__file__).parent))
from mailtools import (attachment, message, sample_messages, text_body, tiny_xlsx, tnef_bytes,  # noqa: E402
                       write_mbox, zip_bytes)

TESTS = Path(__file__).parent


@pytest.fixture(scope="module")
def samples():
    return sample_messages()


@pytest.fixture
def mbox(tmp_path, samples) -> Path:
    return write_mbox(samples, tmp_path / "导出.mbox")


def snapshot(inbox: Path) -> dict[str, bytes]:
    """Every file of an inbox with its bytes."""
    return {p.relative_to(inbox).as_posix(): p.read_bytes() for p in sorted(inbox.rglob("*")) if p.is_file()}


def expected_rows(samples) -> list[tuple[str, str]]:
    return [pair for sample in samples for pair in sample.expected]


# -- every encoding, forward, zip, bomb, duplicate, traversal ------------------------------------

def test_mbox_yields_every_attachment_with_its_chinese_name_and_status(tmp_path, mbox, samples):
    result = collect([mbox], tmp_path / "inbox")
    assert [(r.filename, r.status) for r in result.rows] == expected_rows(samples)
    assert [r.no for r in result.register] == list(range(1, len(result.register) + 1))


def test_each_encoding_case_decodes_to_its_name(tmp_path, mbox):
    names = {r.filename for r in collect([mbox], tmp_path / "inbox").rows}
    for name in ("第一党支部整改方案备案表.xlsx",  # RFC 2047 GBK (Outlook)
                 "喆支部统计表.xlsx",  # RFC 2047 Q, labelled gb2312, holding a GBK-only character
                 "第二党支部自查情况表.xlsx",  # UTF-8 words split mid-character
                 "第三党支部整改周报表.xlsx",  # RFC 2231 GBK
                 "第四党支部整改清单（第二版）.xlsx",  # RFC 2231 continuations
                 "第五党支部备案表.xlsx",  # raw GBK bytes (Foxmail)
                 "第六党支部统计表.xlsx",  # raw UTF-8 in Content-Type name, inline
                 "第八党支部整改台账.xlsx",  # zip member stored in GBK
                 "第九党支部统计表.xlsx"):  # nested zip, UTF-8 flag
        assert name in names


def test_headers_decode_and_received_is_beijing_time(tmp_path, mbox):
    rows = collect([mbox], tmp_path / "inbox").rows
    first, webmail, foxmail, zipped = rows[0], rows[2], rows[5], rows[-1]
    assert (first.sender, first.sender_name, first.subject) == ("zhangsan@unit1.cn", "第一党支部 张三", "报送整改方案备案表")
    assert first.received == datetime(2024, 6, 18, 10, 0) and first.received_basis == "date"
    assert webmail.subject == "提交 自查表"
    assert webmail.received == datetime(2024, 6, 18, 11, 30)  # 03:30 +0000
    assert (foxmail.sender_name, foxmail.subject) == ("王五", "周报")
    # No Date header: the delivery time on the mbox From_ line, 01:02:03 UTC.
    assert zipped.received == datetime(2024, 6, 21, 9, 2, 3) and zipped.received_basis == "server"


def test_body_text_html_and_embedded_images_are_not_attachments(tmp_path, mbox):
    names = [r.filename for r in collect([mbox], tmp_path / "inbox").rows]
    assert not any(n.endswith((".png", ".gif", ".txt", ".html")) for n in names)
    assert "fwd.eml" not in names  # the forward is opened, not stored


def test_forward_and_resend_are_duplicates_of_the_first_copy(tmp_path, mbox):
    rows = collect([mbox], tmp_path / "inbox").rows
    first = rows[0]
    dups = [r for r in rows if r.status == "duplicate"]
    assert len(dups) == 3
    again = [r for r in dups if r.sha256 == first.sha256]
    assert len(again) == 2 and all(r.duplicate_of == first.no and r.stored == first.stored for r in again)
    assert dups[0].sender == "committee@unit9.cn"  # the forward registers who sent it to the office


def test_traversal_names_stay_inside_the_inbox(tmp_path, mbox):
    inbox = tmp_path / "inbox"
    rows = collect([mbox], inbox).rows
    row = next(r for r in rows if r.filename == "../../../tmp/第七党支部.xlsx")
    assert row.stored.endswith("/第七党支部.xlsx") and ".." not in row.stored
    for r in rows:
        if r.stored:
            assert (inbox / r.stored).resolve().is_relative_to(inbox.resolve())
    assert not (tmp_path / "tmp").exists()


@pytest.mark.parametrize("raw, safe", [
    ("../../etc/passwd", "passwd"),
    ("..\\..\\Windows\\win.ini", "win.ini"),
    ("C:\\Users\\张三\\桌面\\报表.xlsx", "报表.xlsx"),
    ("/etc/cron.d/x.xlsx", "x.xlsx"),
    ("CON.xlsx", "_CON.xlsx"),
    ("nul", "_nul"),
    ("com1.tar.gz", "_com1.tar.gz"),
    ("a\x00b\x1fc\r\n.xlsx", "a_b_c__.xlsx"),
    ('报表<1>:"2"|?*.xlsx', "报表_1___2____.xlsx"),
    ("..", "附件"),
    (".bashrc", "bashrc"),
    ("报表.xlsx. . ", "报表.xlsx"),
])
def test_safe_name(raw, safe):
    assert safe_name(raw) == safe


def test_safe_name_caps_length_and_keeps_the_extension():
    name = safe_name("很长的名字" * 60 + ".xlsx")
    assert name.endswith(".xlsx") and len(name) <= intake.NAME_MAX_CHARS
    assert len(name.encode()) <= intake.NAME_MAX_BYTES


def test_zip_bomb_is_refused_with_reason_and_not_stored(tmp_path, mbox):
    inbox = tmp_path / "inbox"
    row = next(r for r in collect([mbox], inbox).rows if r.filename == "bomb.zip")
    assert row.status == "rejected" and "压缩炸弹" in row.reason and row.stored == ""
    assert row.sha256 and row.size > 0
    assert sum(p.stat().st_size for p in inbox.rglob("*") if p.is_file()) < 5 * 1024 * 1024


def test_zip_over_the_inflated_total_and_too_deep_are_refused(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "大.zip").write_bytes(zip_bytes([("a.xlsx", os.urandom(300_000)), ("b.xlsx", os.urandom(300_000))]))
    deep = zip_bytes([("x.xlsx", tiny_xlsx("深"))])
    for level in range(4):
        deep = zip_bytes([(f"层{level}.zip", deep)])
    (folder / "深.zip").write_bytes(deep)
    rows = collect([folder], tmp_path / "inbox", limits=Limits(max_inflated_bytes=500_000)).rows
    assert [(r.filename, r.status) for r in rows] == [("大.zip", "rejected"), ("层1.zip", "rejected")]
    assert "超过上限" in rows[0].reason and "嵌套" in rows[1].reason
    assert rows[1].container == "深.zip/层3.zip/层2.zip"


def test_oversize_part_is_refused(tmp_path, mbox):
    small = tiny_xlsx("小")
    limits = Limits(max_part_bytes=len(small) + 100)
    folder = tmp_path / "来件"
    folder.mkdir()
    (folder / "大.xlsx").write_bytes(small + os.urandom(200))
    (folder / "小.xlsx").write_bytes(small)
    rows = collect([folder], tmp_path / "inbox", limits=limits).rows
    assert [(r.filename, r.status, r.size) for r in rows] == [("大.xlsx", "rejected", len(small) + 200),
                                                            ("小.xlsx", "accepted", len(small))]
    assert "超过上限" in rows[0].reason and rows[0].stored == ""
    attached = collect([mbox], tmp_path / "inbox2", limits=Limits(max_part_bytes=1000)).rows
    row = next(r for r in attached if r.filename == "第一党支部整改方案备案表.xlsx")
    assert row.status == "rejected" and "超过上限" in row.reason and row.stored == "" and row.sha256


def test_zip_file_as_a_source_and_gbk_names(tmp_path):
    archive = tmp_path / "报表.zip"
    archive.write_bytes(zip_bytes([("一支部.xlsx", tiny_xlsx("一")), ("目录/二支部.xlsx", tiny_xlsx("二"))],
                                  gbk_names=True))
    with zipfile.ZipFile(archive) as z:  # really stored without the UTF-8 flag
        assert all(not (i.flag_bits & 0x800) for i in z.infolist())
    inbox = tmp_path / "inbox"
    rows = collect([archive], inbox).rows
    assert [(r.filename, r.container) for r in rows] == [("一支部.xlsx", "报表.zip"), ("目录/二支部.xlsx", "报表.zip")]
    assert rows[1].stored.endswith("/二支部.xlsx")
    assert (inbox / rows[0].stored).read_bytes() == tiny_xlsx("一")



def test_what_the_archiver_adds_is_not_collected(tmp_path):
    # a Mac's zip holds __MACOSX/._name copies and .DS_Store; a Windows folder's, Thumbs.db and desktop.ini.
    # Unpacked, each was refused as unreadable and the unit asked to send it again.
    archive = tmp_path / "报表.zip"
    archive.write_bytes(zip_bytes([("报表/一支部.xlsx", tiny_xlsx("一")), ("__MACOSX/报表/._一支部.xlsx", b"\0\5\x16\7"),
                                   ("报表/.DS_Store", b"\0\0\0\1Bud1"), ("报表/Thumbs.db", b"\xd0\xcf\x11\xe0"),
                                   ("desktop.ini", b"[.ShellClassInfo]")]))
    folder = tmp_path / "来件"
    folder.mkdir()
    (folder / "二支部.xlsx").write_bytes(tiny_xlsx("二"))
    (folder / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0")
    (folder / "Desktop.ini").write_bytes(b"[.ShellClassInfo]")
    rows = collect([archive, folder], tmp_path / "inbox").rows
    assert [(r.filename, r.status) for r in rows] == [("报表/一支部.xlsx", "accepted"), ("二支部.xlsx", "accepted")]


def test_outlook_rich_text_mail_and_exchange_body_parts(tmp_path):
    # Outlook's rich-text mail: the form sits inside winmail.dat (refused before, the unit counted as not
    # reported). Exchange: the end of the body arrives as ATT00001.htm / ATT00002.txt, which were
    # refused as not forms.
    rich = message([text_body(), attachment(b'attachment; filename="winmail.dat"',
                                            tnef_bytes([("一支部整改清单.xlsx", tiny_xlsx("一"))]), b"application/ms-tnef")],
                   sender=b"yi@example.cn", subject=b"rich", date="Mon, 17 Jun 2024 09:00:00 +0800", message_id="r@x")
    tail = message([text_body(), attachment(b'attachment; filename="er.xlsx"', tiny_xlsx("二")),
                    attachment(b'attachment; filename="ATT00001.htm"', "<p>此致</p>".encode(), b"text/html"),
                    attachment(b'attachment; filename="ATT00002.txt"', "此致\r\n敬礼".encode(), b"text/plain"),
                    attachment(b'attachment; filename="mingdan.csv"', "姓名,电话\r\n李华,1".encode(), b"text/plain")],
                   sender=b"er@example.cn", subject=b"tail", date="Mon, 17 Jun 2024 09:00:00 +0800", message_id="t@x")
    (tmp_path / "rich.eml").write_bytes(rich)
    (tmp_path / "tail.eml").write_bytes(tail)
    inbox = tmp_path / "inbox"
    rows = collect([tmp_path / "rich.eml", tmp_path / "tail.eml"], inbox).rows
    assert [(r.filename, r.container, r.status) for r in rows] == [
        ("一支部整改清单.xlsx", "winmail.dat", "accepted"), ("er.xlsx", "", "accepted"), ("mingdan.csv", "", "rejected")]  # a text file still counts
    assert (inbox / rows[0].stored).read_bytes() == tiny_xlsx("一")
    whole = tnef_bytes([("a.xlsx", b"x")])
    mangled = whole[:40] + whole[65:]  # without its attAttachRendData (bytes 40-65), which begins an attachment
    broken = message([attachment(b'attachment; filename="winmail.dat"', mangled)],
                     sender=b"san@example.cn", subject=b"b", date="Mon, 17 Jun 2024 09:00:00 +0800", message_id="b@x")
    (tmp_path / "broken.eml").write_bytes(broken)
    [row] = collect([tmp_path / "broken.eml"], inbox).new
    assert row.status == "rejected" and "winmail.dat 无法解开" in row.reason and "HTML 或纯文本" in row.reason

# -- originals, idempotence, interruption --------------------------------------------------------

def test_originals_stored_byte_for_byte_content_addressed(tmp_path, mbox, samples):
    inbox = tmp_path / "inbox"
    rows = collect([mbox], inbox).rows
    first = rows[0]
    assert (inbox / first.stored).read_bytes() == tiny_xlsx("第一党支部")
    assert first.stored.startswith(f"files/{first.sha256[:2]}/{first.sha256[:16]}/")
    assert first.size == len(tiny_xlsx("第一党支部"))


def test_collecting_twice_changes_nothing(tmp_path, mbox):
    inbox = tmp_path / "inbox"
    collect([mbox], inbox)
    before = snapshot(inbox)
    again = collect([mbox], inbox)
    assert again.new == [] and len(again.rows) == len(read_register(inbox))
    assert snapshot(inbox) == before


def test_same_messages_from_eml_files_add_nothing_to_an_mbox_inbox(tmp_path, mbox, samples):
    inbox = tmp_path / "inbox"
    collect([mbox], inbox)
    before = snapshot(inbox)
    emls = tmp_path / "emls"
    emls.mkdir()
    for n, sample in enumerate(samples[:4]):  # the last has no Message-ID: its identity is its bytes
        (emls / f"{n}.eml").write_bytes(sample.raw)
    assert collect([emls], inbox).new == []
    assert snapshot(inbox) == before


def test_interrupted_run_rerun_ends_with_the_same_inbox(tmp_path, mbox, monkeypatch):
    whole = tmp_path / "whole"
    collect([mbox], whole)
    broken = tmp_path / "broken"
    real_store, calls = intake.store_file, []

    def failing_store(inbox, rel, data):
        calls.append(rel)
        if len(calls) == 4:
            raise OSError("disk unplugged")
        return real_store(inbox, rel, data)

    monkeypatch.setattr(intake, "store_file", failing_store)
    with pytest.raises(OSError):
        collect([mbox], broken)
    assert not (broken / REGISTER_JSON).exists()
    monkeypatch.setattr(intake, "store_file", real_store)
    collect([mbox], broken)
    assert snapshot(broken) == snapshot(whole)


KILLER = """
import os, signal, sys
from zhenggai_xls import excel, intake
real, count = excel.atomic_path, []
class Killing:
    def __init__(self, target):
        self.inner = real(target)
    def __enter__(self):
        return self.inner.__enter__()
    def __exit__(self, *exc):
        count.append(1)
        if len(count) == 3:
            os.kill(os.getpid(), signal.SIGKILL)  # mid-write: the temp file is left behind
        return self.inner.__exit__(*exc)
intake.atomic_path = Killing
intake.collect([sys.argv[1]], sys.argv[2])
"""


def test_killed_run_rerun_ends_with_the_same_inbox(tmp_path, mbox):
    whole = tmp_path / "whole"
    collect([mbox], whole)
    killed = tmp_path / "killed"
    proc = subprocess.run([sys.executable, "-c", KILLER, str(mbox), str(killed)], capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    assert list(killed.rglob(".tmp-*")) and not (killed / REGISTER_JSON).exists()
    collect([mbox], killed)
    assert snapshot(killed) == snapshot(whole)


# -- folders and the register -------------------------------------------------------------------

def test_folder_source_uses_mtime_and_skips_hidden_lock_files_and_the_inbox(tmp_path):
    folder = tmp_path / "来件"
    (folder / "子目录").mkdir(parents=True)
    (folder / "子目录" / "=1+1.xlsx").write_bytes(tiny_xlsx("公式名"))
    (folder / "~$锁定.xlsx").write_bytes(b"lock")
    (folder / ".DS_Store").write_bytes(b"junk")
    os.utime(folder / "子目录" / "=1+1.xlsx", (1718676000, 1718676000))  # 2024-06-18 02:00 UTC
    inbox = folder / "收件"
    first = collect([folder], inbox).rows
    assert [(r.filename, r.received, r.received_basis) for r in first] == [
        ("=1+1.xlsx", datetime(2024, 6, 18, 10, 0), "mtime")]
    assert collect([folder], inbox).new == []  # the inbox inside the folder is not collected again


def test_register_xlsx_is_for_the_clerk_and_text_stays_text(tmp_path, mbox):
    folder = tmp_path / "来件"
    folder.mkdir()
    (folder / "=1+1.xlsx").write_bytes(tiny_xlsx("公式名"))
    inbox = tmp_path / "inbox"
    collect([mbox, folder], inbox)
    book = openpyxl.load_workbook(inbox / REGISTER_XLSX)
    sheet = book["收件登记"]
    header = [c.value for c in sheet[1]]
    assert header[:8] == ["序号", "收件时间", "发件人", "邮件主题", "原文件名", "所在压缩包", "状态", "说明"]
    assert sheet.freeze_panes == "A2"
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.paperSize == 9
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(read_register(inbox))
    assert rows[0][2] == "第一党支部 张三 <zhangsan@unit1.cn>" and rows[0][1] == datetime(2024, 6, 18, 10, 0)
    last = sheet.cell(row=sheet.max_row, column=5)
    assert last.value == "=1+1.xlsx" and last.data_type == "s"
    statuses = {r[6] for r in rows}
    assert statuses == {"已收", "重复", "拒收"}
    dup = next(r for r in rows if r[6] == "重复")
    assert "与第 1 行内容完全相同" in dup[7]
    link = sheet.cell(row=2, column=12)
    assert link.hyperlink is not None and link.value == read_register(inbox)[0].stored


def test_load_register_gives_the_first_arrival_of_each_stored_file(tmp_path, mbox):
    inbox = tmp_path / "inbox"
    collect([mbox], inbox)
    register = load_register(inbox)
    rows = read_register(inbox)
    assert set(register) == {r.stored for r in rows if r.stored}
    first = rows[0]
    assert register[first.stored].no == 1  # not the forward's duplicate row
    assert received_time(register, inbox, inbox / first.stored) == datetime(2024, 6, 18, 10, 0)
    data = json.loads((inbox / REGISTER_JSON).read_text(encoding="utf-8"))
    assert data["rows"][0]["received"] == "2024-06-18T10:00:00"


def test_since_skips_older_messages(tmp_path, mbox):
    rows = collect([mbox], tmp_path / "inbox", since=date(2024, 6, 20)).rows
    assert {r.subject for r in rows} == {"转发：报送整改方案备案表", "zip"}


def test_unit_from_the_senders_address_in_the_org_tree(tmp_path, mbox):
    tree = OrgTree([
        Org("D01", "某区委", level="区"),
        Org("B01", "第一党支部", parent="D01", email="ZhangSan@unit1.cn"),
        Org("B02", "第二党支部", parent="D01", email="lisi@unit2.cn"),
    ])
    campaign = Campaign(name="t", year=2024, forms={}, orgs=tree, folder=tmp_path)
    rows = collect([mbox], tmp_path / "inbox", campaign=campaign).rows
    by_name = {r.filename: r for r in rows}
    first = by_name["第一党支部整改方案备案表.xlsx"]
    assert (first.unit, first.unit_name) == ("B01", "第一党支部")
    assert by_name["第二党支部自查情况表.xlsx"].unit == "B02"
    assert by_name["第五党支部备案表.xlsx"].unit == ""  # nobody in the tree has that address


# -- the command --------------------------------------------------------------------------------

def test_cli_collect_json_shape(tmp_path, mbox):
    result = CliRunner().invoke(main, ["collect", str(mbox), "-o", str(tmp_path / "inbox"), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert list(data) == ["attachments"]
    keys = ["filename", "stored", "sha256", "size", "status", "reason", "sender", "subject", "received", "unit", "form"]
    assert all(list(a) == keys for a in data["attachments"])
    assert {a["status"] for a in data["attachments"]} == {"accepted", "duplicate", "rejected"}
    assert data["attachments"][0]["received"] == "2024-06-18T10:00:00"


def test_cli_collect_prints_a_line_per_attachment_and_totals(tmp_path, mbox):
    result = CliRunner().invoke(main, ["collect", str(mbox), "-o", str(tmp_path / "inbox")])
    assert result.exit_code == 0, result.output
    assert "[拒收] bomb.zip" in result.output and "压缩炸弹" in result.output
    assert "共 15 个附件：已收 11，重复 3，拒收 1；本次新登记 15 个" in result.output


def test_cli_collect_bad_sources_are_usage_errors(tmp_path):
    runner = CliRunner()
    missing = runner.invoke(main, ["collect", str(tmp_path / "没有.mbox"), "-o", str(tmp_path / "i")])
    assert missing.exit_code == 2 and "找不到" in missing.output and "Traceback" not in missing.output
    with_password = runner.invoke(main, ["collect", "imap://office:hunter2@127.0.0.1/INBOX", "-o", str(tmp_path / "i")])
    assert with_password.exit_code == 2 and "含有密码" in with_password.output
    assert "hunter2" not in with_password.output


# -- recognising unit and form (validate) -------------------------------------------------------

def tree_campaign(tmp_path) -> Campaign:
    tree = OrgTree([
        Org("D01", "某区委", level="区"),
        Org("B01", "第一党支部", parent="D01", email="zhangsan@unit1.cn"),
        Org("B02", "第二党支部", parent="D01", email="b2@unit2.cn"),
    ])
    return Campaign(name="t", year=2024, forms={}, orgs=tree, folder=tmp_path)


def test_form_and_unit_recognised_from_the_file_before_the_sender(tmp_path):
    folder = tmp_path / "来件"
    folder.mkdir()
    (folder / "a.xlsx").write_bytes(tiny_xlsx("甲", unit="第二党支部"))
    (folder / "b.xlsx").write_bytes(tiny_xlsx("乙", unit="不在架构里的支部"))
    (folder / "b 副本.xlsx").write_bytes(tiny_xlsx("乙", unit="不在架构里的支部"))
    with_tree = collect([folder], tmp_path / "inbox", campaign=tree_campaign(tmp_path)).rows
    assert [(r.form, r.unit, r.unit_name, r.unit_basis, r.status) for r in with_tree] == [
        ("ledger", "B02", "第二党支部", "name", "accepted"),
        ("ledger", "", "", "", "accepted"),
        ("ledger", "", "", "", "duplicate")]
    without_tree = collect([folder], tmp_path / "inbox2").rows
    assert [(r.unit, r.unit_name) for r in without_tree][:2] == [("第二党支部", "第二党支部"),
                                                                 ("不在架构里的支部", "不在架构里的支部")]
    book = openpyxl.load_workbook(tmp_path / "inbox" / REGISTER_XLSX)["收件登记"]
    assert book.cell(row=2, column=9).value == "第二党支部" and book.cell(row=2, column=10).value == "整改清单"


def test_files_that_are_no_known_form_are_stored_but_rejected_with_the_reason(tmp_path):
    folder = tmp_path / "来件"
    folder.mkdir()
    (folder / "说明.docx").write_bytes(b"PK\x03\x04 not really a document")
    (folder / "空白.xlsx").write_bytes(_workbook_bytes([["随便写的表"], ["a", "b"]]))
    inbox = tmp_path / "inbox"
    rows = {r.filename: r for r in collect([folder], inbox).rows}
    assert [r.status for r in rows.values()] == ["rejected", "rejected"]
    assert all(r.reason and (inbox / r.stored).exists() for r in rows.values())  # the original is kept
    assert "没有找到任何已知表单" in rows["空白.xlsx"].reason
    assert "无法打开" in rows["说明.docx"].reason


def test_duplicates_show_what_their_first_copy_was_recognised_as(tmp_path, mbox):
    rows = collect([mbox], tmp_path / "inbox", campaign=tree_campaign(tmp_path)).rows
    first = rows[0]
    assert (first.unit, first.unit_basis, first.form) == ("B01", "sender", "ledger")
    for dup in (r for r in rows if r.duplicate_of == first.no):
        assert (dup.unit, dup.form) == ("B01", "ledger")


def _workbook_bytes(rows) -> bytes:
    import io
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_blank_template_is_rejected_but_keeps_its_unit_and_form(tmp_path):
    from zhenggai_xls.spec import find_spec
    from zhenggai_xls.template import write_template

    campaign = tree_campaign(tmp_path)
    folder = tmp_path / "来件"
    folder.mkdir()
    write_template(find_spec("ledger"), folder / "空模板.xlsx", unit=campaign.orgs.get("B01"))
    (row,) = collect([folder], tmp_path / "inbox", campaign=campaign).rows
    assert (row.status, row.form, row.unit, row.unit_basis) == ("rejected", "ledger", "B01", "metadata")
    assert "没有填写任何数据" in row.reason
