"""Reminders (催报): who is missing or invalid, the text, the workbook, and mailing through SMTP."""
from __future__ import annotations

import email
import os
import sys
from datetime import datetime
from email import policy
from pathlib import Path

import openpyxl
import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from zhenggai_xls.campaign import init_campaign
from zhenggai_xls.cli import main
from zhenggai_xls.remind import reminders
from zhenggai_xls.rollup import rollup_inbox
from zhenggai_xls.spec import find_spec
from zhenggai_xls.template import write_template

sys.path.insert(0, str(Path(__file__).parent))
from mailtools import free_port  # noqa: E402

AS_OF = datetime(2024, 6, 22, 9, 0)
INVALID_UNIT = "00100101"  # 李渡新区管委会机关党支部 (preset org tree)


class Sink:
    """An SMTP handler keeping every message it is given; it refuses the addresses in `unknown`."""

    def __init__(self):
        self.envelopes = []
        self.unknown: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.unknown:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp():
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, sink
    finally:
        controller.stop()


@pytest.fixture
def campaign_and_inbox(tmp_path):
    """The plan-filing preset; one branch sent a 备案表 with errors on 6月19日, nobody else sent anything."""
    campaign = init_campaign(tmp_path / "活动", "plan-filing", 2024)
    inbox = tmp_path / "收件"
    inbox.mkdir()
    path = inbox / "机关支部备案表.xlsx"
    write_template(find_spec("filing"), path, unit=campaign.orgs.get(INVALID_UNIT))
    book = openpyxl.load_workbook(path)
    sheet = book.active
    sheet["B12"], sheet["C12"], sheet["G12"] = 1, "工作机制建设", "三会一课不规范"  # no 措施, 时限, 指导人
    book.save(path)
    os.utime(path, (datetime(2024, 6, 19).timestamp(),) * 2)
    return tmp_path / "活动", inbox, campaign


def test_every_unit_missing_or_invalid_gets_a_reminder_with_its_problems(campaign_and_inbox):
    campaign_dir, inbox, campaign = campaign_and_inbox
    result = rollup_inbox(inbox, campaign_dir, as_of=AS_OF)
    items = reminders(result)
    wanted = {s.unit for s in result.statuses if s.status in ("missing", "late", "invalid")}
    assert {r.org.code for r in items} == wanted and INVALID_UNIT in wanted
    invalid = next(r for r in items if r.org.code == INVALID_UNIT)
    assert [i.status for i in invalid.items] == ["invalid"]
    assert invalid.text.startswith("赵晓燕同志：")
    assert "单元格 P12" in invalid.text and "三个明确" in invalid.text
    overdue = next(r for r in items if r.org.code == "00100102")  # a branch: 备案表 due 6月20日
    assert "已逾期 2 天" in overdue.text
    committee = next(r for r in items if r.org.code == "001001")  # 统计表 due 6月25日: not yet late
    assert "请于 2024年06月25日 23:59 前" in committee.text


def test_cli_remind_writes_the_list_and_sends_each_unit_its_mail(campaign_and_inbox, smtp, tmp_path):
    campaign_dir, inbox, campaign = campaign_and_inbox
    controller, sink = smtp
    out = tmp_path / "催报名单.xlsx"
    result = CliRunner().invoke(main, ["remind", str(inbox), "--campaign", str(campaign_dir), "--as-of",
                                       "2024-06-22 09:00", "-o", str(out), "--send",
                                       f"smtp://127.0.0.1:{controller.port}", "--from", "office@example.cn"])
    assert result.exit_code == 0, result.output
    expected = reminders(rollup_inbox(inbox, campaign_dir, as_of=AS_OF))
    assert f"需催报 {len(expected)} 个单位" in result.output
    assert f"已发送 {len(expected)} 封催报邮件" in result.output
    assert sorted(e.rcpt_tos[0] for e in sink.envelopes) == sorted(r.org.email for r in expected)
    assert all(len(e.rcpt_tos) == 1 and e.mail_from == "office@example.cn" for e in sink.envelopes)
    mails = {e.rcpt_tos[0]: email.message_from_bytes(e.content, policy=policy.default) for e in sink.envelopes}
    invalid = mails[campaign.orgs.get(INVALID_UNIT).email]
    attached = [p for p in invalid.iter_attachments()]
    assert [p.get_filename() for p in attached] == ["机关支部备案表_反馈.xlsx"]
    assert invalid["Subject"].startswith("【催报】李渡新区管委会机关党支部")
    assert "单元格 P12" in invalid.get_body(("plain",)).get_content()
    feedback = openpyxl.load_workbook(__import__("io").BytesIO(attached[0].get_content()))
    assert len(feedback.sheetnames) >= 2  # the unit's sheet plus the problem list
    others = [m for addr, m in mails.items() if addr != campaign.orgs.get(INVALID_UNIT).email]
    assert others and all(not list(m.iter_attachments()) for m in others)
    sheet = openpyxl.load_workbook(out)["催报名单"]
    assert [c.value for c in sheet[1]][:5] == ["单位代码", "单位名称", "联系人", "联系电话", "邮箱"]
    assert sheet.max_row == len(expected) + 1


def test_cli_remind_bad_smtp_address_is_a_usage_error(campaign_and_inbox):
    campaign_dir, inbox, _ = campaign_and_inbox
    result = CliRunner().invoke(main, ["remind", str(inbox), "--campaign", str(campaign_dir),
                                       "--send", "http://example.cn"])
    assert result.exit_code == 2 and "smtp://" in result.output


def test_cli_remind_says_in_chinese_which_unit_was_refused_and_when_no_server_answers(campaign_and_inbox, smtp):
    campaign_dir, inbox, campaign = campaign_and_inbox
    controller, sink = smtp
    expected = reminders(rollup_inbox(inbox, campaign_dir, as_of=AS_OF))
    refused = expected[0].org
    sink.unknown.add(refused.email)  # the address in the org tree no longer exists
    args = ["remind", str(inbox), "--campaign", str(campaign_dir), "--as-of", "2024-06-22 09:00",
            "-o", str(campaign_dir / "催报名单.xlsx"), "--send"]
    result = CliRunner().invoke(main, args + [f"smtp://127.0.0.1:{controller.port}"])
    assert result.exit_code == 0, result.output
    assert f"未发送：{refused.name}  {refused.email}  发信服务器拒收这个收件地址，请核对组织架构中的邮箱" in result.output
    assert f"已发送 {len(expected) - 1} 封催报邮件" in result.output and len(sink.envelopes) == len(expected) - 1
    closed = free_port()  # nothing listens there
    result = CliRunner().invoke(main, args + [f"smtp://127.0.0.1:{closed}"])
    assert result.exit_code == 2
    assert f"无法连接发信服务器 127.0.0.1:{closed}：服务器拒绝连接，请检查地址和端口" in result.output
    assert "Connection refused" not in result.output and "Traceback" not in result.output
