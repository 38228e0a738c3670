"""The `zhenggai` command: a thin layer over the library.

Each command parses its options, makes one call into the library and turns
the library's errors into `click.UsageError` — no traceback reaches a clerk,
and a wrong command line is answered in Chinese (`_Group`), never in click's English.
"""
from __future__ import annotations

import json
import os
import re
import sys
import time
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Callable

import click

from .campaign import PRESETS, init_campaign
from .errors import ZhenggaiError, os_reason
from .spec import did_you_mean, find_spec, load_specs
from .status import aligned, display_width


def _friendly(fn):
    """Turn library errors into one-line Chinese messages with exit status 2; a file or folder that
    cannot be read or made (the library's outputs say so themselves) into one with status 1."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ZhenggaiError as exc:
            raise click.UsageError(str(exc)) from None
        except BrokenPipeError:
            raise  # the reader of our output left (| head, | more): click ends quietly with status 1
        except OSError as exc:
            where = f"“{exc.filename}”" if exc.filename else "文件"
            raise click.ClickException(f"无法读写{where}：{os_reason(exc)}。") from None

    return wrapper


@contextmanager
def _file_progress(count: Callable[[], int], label: str):
    """A progress callback drawing files done / total (`count()`, asked only on a terminal) and files
    per second on stderr when stderr is a terminal (never on stdout: --json stays clean); else None."""
    total = count() if sys.stderr.isatty() else 0
    if total < 2:
        yield None
        return
    start = time.monotonic()
    with click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True,
                           item_show_func=lambda rate: rate) as bar:
        yield lambda n: bar.update(n, f"{(bar.pos + n) / max(time.monotonic() - start, 1e-3):.0f} 份/秒")


def _echo_json(data: object) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


class _Path(click.Path):
    """click.Path saying in Chinese what is wrong with the path typed."""

    def convert(self, value, param, ctx):
        path = Path(value)
        if self.exists and not path.exists():
            self.fail(f"找不到“{value}”，请检查路径（路径中有空格时请加英文引号）。", param, ctx)
        if path.is_dir() and not self.dir_okay:
            self.fail(f"“{value}”是文件夹，这里要写文件。", param, ctx)
        if path.is_file() and not self.file_okay:
            self.fail(f"“{value}”是文件，这里要写文件夹。", param, ctx)
        return super().convert(value, param, ctx)


_ARGUMENTS = {  # what each command's argument is, for a clerk who left it out
    "inbox": "收件文件夹：各单位报回的表格所在的文件夹",
    "paths": "要校验的表格文件或文件夹",
    "sources": "从哪里收取：文件夹、.eml、.mbox、.zip 文件或 imap://用户名@服务器/文件夹",
    "folder": "新建的活动文件夹",
}


def _in_chinese(exc: click.ClickException) -> str:
    """click's own complaint about a command line in Chinese, with what to type; ours as they are."""
    if isinstance(exc, click.NoSuchOption):
        close = did_you_mean(exc.option_name, exc.possibilities or ()) or "。"
        return f"没有 {exc.option_name} 这个选项{close}"
    if isinstance(exc, click.BadOptionUsage):
        need = "后面要写它的值" if "requires" in exc.message else "后面不写值"
        return f"{exc.option_name} {need}。"
    if isinstance(exc, click.BadParameter) and exc.param is not None:
        param, kind = exc.param, exc.param.type
        name = param.opts[-1] if isinstance(param, click.Option) else param.human_readable_name
        if isinstance(exc, click.MissingParameter):
            if isinstance(param, click.Argument):
                what = f"（{_ARGUMENTS[param.name]}）" if param.name in _ARGUMENTS else ""
                return f"缺少 {name}{what}，请写在命令后面。"
            return f"缺少选项 {name}" + (f"：{param.help}" if param.help else "。")
        if isinstance(kind, click.Choice):
            return f"{name} 只能写 {'、'.join(map(str, kind.choices))} 之一。"
        if isinstance(kind, click.types.IntParamType):
            return f"{name} 要写整数，如 2012。"
        if isinstance(kind, click.DateTime):
            return f"{name} 要写日期，如 2024-06-01。"
        return f"{name}：{exc.message}"
    extra = re.fullmatch(r"Got unexpected extra arguments? \((.*)\)", exc.message)
    if extra:
        return f"多写了 {extra[1]}（路径中有空格时请加英文引号）。"
    return exc.message


_HELP_WORDS = (  # click's own words in --help, as a clerk reads them
    (r"Show this message and exit\.", "显示本说明并退出。"), (r"Show the version and exit\.", "显示版本号并退出。"),
    (r"\[required\]", "［必填］"), (r"\[default: (.*?)\]", r"［默认：\1］"),
    (r"\[OPTIONS\]", "[选项]"), (r"COMMAND \[ARGS\]\.\.\.", "命令 [参数]..."),
)


def _help_words(text: str) -> str:
    for english, chinese in _HELP_WORDS:
        text = re.sub(english, chinese, text)
    return text


class _Formatter(click.HelpFormatter):
    """--help with click's headings and phrases in Chinese (option names and value kinds stay as typed)."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, _help_words(args), "用法：")

    def write_heading(self, heading: str) -> None:
        heading = {"Options": "选项", "Commands": "命令"}.get(heading, heading)
        self.write(f"{'':>{self.current_indent}}{heading}：\n")  # click's own ends in an ASCII colon

    # click measures and wraps by characters: a Chinese line took twice the width it was given, and a
    # choice such as [督导组|类型] pushed its help out of the column. These two measure terminal columns.

    def write_text(self, text: str) -> None:
        indent = " " * self.current_indent
        paragraphs = [_wrap(p, self.width - self.current_indent) for p in re.split(r"\n\s*\n", text)]
        self.write("\n".join("".join(f"{indent}{line}\n" for line in lines) for lines in paragraphs))

    def write_dl(self, rows, col_max: int = 30, col_spacing: int = 2) -> None:
        rows = [(term, display_width(term), text) for term, text in rows]
        first = min(max(width for _, width, _ in rows), col_max) + col_spacing
        indent = " " * self.current_indent
        for term, width, text in rows:
            lines = _wrap(_help_words(text), max(self.width - self.current_indent - first, 10))
            if not lines:
                self.write(f"{indent}{term}\n")
                continue
            if width + col_spacing <= first:
                self.write(f"{indent}{term}{' ' * (first - width)}{lines[0]}\n")
            else:  # a long term: its help starts on the next line, in the column
                self.write(f"{indent}{term}\n{indent}{' ' * first}{lines[0]}\n")
            self.write("".join(f"{indent}{' ' * first}{line}\n" for line in lines[1:]))


_OPENING, _CLOSING = "（“‘《【(", "，。、；：？！）”’》】),.;:?!"


# never split: file names as typed (汇总表.xlsx, campaign.yaml, 催报反馈表/) and click's ［必填］, ［默认：…］
_WHOLE = r"[\w-]*\w(?:\.[A-Za-z]+/?|/)|［[^］]*］"


def _wrap(text: str, width: int) -> list[str]:
    """`text` in lines of at most `width` terminal columns, broken at spaces and between Chinese
    characters, never before a closing mark or after an opening one, nor inside _WHOLE's pieces;
    a word longer than a line stays whole."""
    pieces: list[list[str]] = []  # [space before it, piece that stays on one line]
    space = ""
    for word in re.split(rf"(\s|{_WHOLE})", text):
        if word.isspace():
            space += " "  # a line break of the docstring is a space; click's two before ［必填］ stay
            continue
        for ch in [word] if re.fullmatch(_WHOLE, word) else word:
            last = pieces[-1][1][-1] if pieces else ""
            narrow = display_width(ch[0]) == 1 and display_width(last) == 1  # letters and digits of one word
            if pieces and not space and (ch in _CLOSING or last in _OPENING or narrow):
                pieces[-1][1] += ch
            else:
                pieces.append([space, ch])
            space = ""
    lines, line, used = [], "", 0
    for space, piece in pieces:
        size = display_width(piece)
        if line and used + len(space) + size > width:
            lines.append(line)
            line, used = piece, size
        else:
            line, used = (line + space + piece, used + len(space) + size) if line else (piece, size)
    return lines + [line] if line else lines


class _Context(click.Context):
    formatter_class = _Formatter


class _Command(click.Command):
    context_class = _Context

    def get_short_help_str(self, limit: int = 45) -> str:
        """The help's first paragraph whole: click cuts it to `limit` characters at a space, and at 60
        columns left a Chinese summary as only '...'; write_dl wraps it instead."""
        return super().get_short_help_str(limit=1_000)


class _Group(click.Group):
    """The `zhenggai` group: a wrong command line is answered in Chinese, with what to type instead,
    and --help speaks Chinese too."""

    context_class = _Context
    command_class = _Command

    def resolve_command(self, ctx, args):
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError:
            if args[0].startswith("-"):  # an unknown option of the group itself
                raise
            hint = did_you_mean(args[0], self.commands) or "。"
            raise click.UsageError(f"没有 {args[0]} 这个命令{hint}可用的命令：{'、'.join(self.commands)}。",
                                   ctx) from None

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except click.ClickException as exc:
            click.echo(f"错误：{_in_chinese(exc)}", err=True)
            if isinstance(exc, click.UsageError) and exc.ctx is not None:
                click.echo(f"用法见 {exc.ctx.command_path} --help", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("已中止。", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="zhenggai-xls", message="%(prog)s %(version)s")
def main() -> None:
    """整改工作表格工具：下发模板、收集、校验、逐级汇总、催报。"""


@main.command()
@click.argument("folder", required=False, default="demo", type=_Path(file_okay=False))
@_friendly
def demo(folder: str) -> None:
    """生成一个演示活动（FOLDER，默认 ./demo）：组织架构、收到的报表（含逾期、未报、有错误的），并写出汇总表。"""
    from .demo import build_demo

    for line in build_demo(folder).summary_lines():
        click.echo(line)


@main.command()
@click.argument("form_id", required=False)
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@_friendly
def forms(form_id: str | None, as_json: bool) -> None:
    """列出表单及其栏目（FORM_ID 可用英文代号或中文表名）。"""
    specs = [find_spec(form_id)] if form_id else list(load_specs().values())
    if as_json:
        _echo_json({"forms": [
            {"id": s.id, "title": s.title, "kind": s.kind,
             "fields": [{"key": f.key, "label": f.full_label, "type": f.type} for f in s.fields]}
            for s in specs]})
        return
    for spec in specs:
        kind = "表格" if spec.kind == "table" else "表单"
        click.echo(f"{spec.id:<11} {spec.title}（{kind}）  别名：{'、'.join(spec.aliases) or '无'}")
        if form_id:
            rows = [("键", "栏目", "必填", "类型")]
            rows += [(f.key, f.full_label, "是" if f.required else "", f.type_words) for f in spec.fields]
            click.echo("\n".join("    " + line for line in aligned(rows)))


@main.command()
@click.argument("folder", type=_Path(file_okay=False, path_type=Path))
@click.option("--preset", required=True, type=click.Choice(list(PRESETS)),
              help="预设：" + "；".join(f"{name} = {p.title}（默认 {p.year} 年）" for name, p in PRESETS.items()))
@click.option("--year", type=int, help="活动年份；所有截止日期随之平移（周报为该年窗口内的每个周五）。")
@_friendly
def init(folder: Path, preset: str, year: int | None) -> None:
    """新建活动文件夹：活动配置 campaign.yaml、示例组织架构 orgs.xlsx、空白模板 templates/。"""
    campaign = init_campaign(folder, preset, year)
    click.echo(f"已新建活动“{campaign.name}”（{campaign.year} 年），文件夹 {folder}：")
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        click.echo(f"  {path.relative_to(folder)}")
    click.echo(f"组织架构：{len(campaign.orgs)} 个组织（示例，请换成本单位的组织架构）。报送要求：")
    for form, plan in campaign.forms.items():
        click.echo(f"  {load_specs()[form].title}：{plan.describe()}")



@main.command()
@click.argument("form_ids", nargs=-1)
@click.option("--all", "all_forms", is_flag=True, help="生成全部表单的模板。")
@click.option("-o", "--output", "out_dir", required=True, type=_Path(file_okay=False),
              help="模板保存到的文件夹。")
@click.option("--orgs", "orgs_file", type=_Path(exists=True, dir_okay=False),
              help="组织架构文件（.xlsx 或 .csv），与 --per-unit 一起使用。")
@click.option("--per-unit", is_flag=True, help="按组织架构给每个填报单位各生成一份，单位名称预先填好并锁定。")
@click.option("--campaign", "campaign_dir", type=_Path(exists=True, file_okay=False),
              help="活动文件夹：只生成本次活动收集的表单，按 campaign.yaml 的报送层级给各单位生成（组织架构默认取活动的）。")
@_friendly
def template(form_ids: tuple[str, ...], all_forms: bool, out_dir: str, orgs_file: str | None,
             per_unit: bool, campaign_dir: str | None) -> None:
    """生成空白模板（FORM_IDS 可用英文代号或中文表名，如 stats、备案表；orgs 为组织架构表）。"""
    from .campaign import load_campaign
    from .orgs import load_orgs
    from .template import write_templates

    campaign = load_campaign(campaign_dir) if campaign_dir else None
    if not form_ids and not all_forms and campaign is None:
        raise click.UsageError(f"请指定表单（如 stats 或 整改方案备案表），或用 --all 生成全部：{'、'.join(load_specs())}")
    if per_unit and not orgs_file and campaign is None:
        raise click.UsageError("--per-unit 需要同时用 --orgs 指定组织架构文件（或用 --campaign 指定活动文件夹）。")
    if form_ids:
        specs = [find_spec(name) for name in dict.fromkeys(form_ids)]
    elif campaign is not None:  # the campaign's forms, not every form the toolkit knows
        specs = [load_specs()[form] for form in campaign.forms]
    else:
        specs = list(load_specs().values())
    orgs = load_orgs(orgs_file) if orgs_file else campaign.orgs if campaign else None
    levels = {form: plan.levels for form, plan in campaign.forms.items()} if campaign else None
    paths = write_templates(specs, out_dir, orgs=orgs, per_unit=per_unit, levels=levels)
    click.echo(f"已生成 {len(paths)} 个模板，保存在 {out_dir}：")
    for path in paths:
        click.echo(f"  {path}")

@main.command(short_help="收取附件（文件夹、.eml、.mbox、.zip 或 IMAP 邮箱），原件存入收件目录并登记。")
@click.argument("sources", nargs=-1, required=True)
@click.option("-o", "--output", "inbox", required=True, type=_Path(file_okay=False),
              help="收件目录：保存原件和收件登记（收件登记.xlsx）。")
@click.option("--campaign", "campaign_dir", type=_Path(exists=True, file_okay=False),
              help="活动文件夹：按其中的组织架构识别填报单位。")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), metavar="DATE",
              help="只收取该日期（含）以后的邮件，如 2024-06-01。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@_friendly
def collect(sources: tuple[str, ...], inbox: str, campaign_dir: str | None, since, as_json: bool) -> None:
    """收取附件：SOURCES 可为文件夹、.eml、.mbox、.zip 或 imap://用户名@服务器/文件夹（密码取自环境变量
    ZHENGGAI_IMAP_PASSWORD，否则提示输入）；原件存入收件目录并登记。"""
    import os

    from .campaign import load_campaign
    from .intake import check_sources, collect as collect_attachments

    password = None
    if check_sources(sources):
        password = os.environ.get("ZHENGGAI_IMAP_PASSWORD") or click.prompt("邮箱密码（授权码）", hide_input=True, err=True)
    campaign = load_campaign(campaign_dir) if campaign_dir else None
    result = collect_attachments(sources, inbox, campaign=campaign, since=since.date() if since else None,
                                 password=password)
    for warning in result.warnings:
        click.echo(warning, err=True)
    if as_json:
        _echo_json(result.as_json())
        return
    _print_collected(result)


def _print_collected(result) -> None:
    """One line per attachment, its reason under it, then the totals."""
    from .intake import REGISTER_XLSX, STATUS_ZH

    for row in result.rows:
        when = row.received.strftime("%Y-%m-%d %H:%M") if row.received else "时间不详"
        unit = f"  单位：{row.unit_name or row.unit}" if row.unit else ""
        click.echo(f"[{STATUS_ZH[row.status]}] {row.filename}  ← {row.sender or '（文件）'}  {when}{unit}")
        if row.status == "duplicate":
            click.echo(f"        与收件登记第 {row.duplicate_of} 行内容完全相同")
        elif row.reason:
            click.echo(f"        {row.reason}")
    counts = result.counts()
    click.echo(f"共 {len(result.rows)} 个附件：已收 {counts['accepted']}，重复 {counts['duplicate']}，"
               f"拒收 {counts['rejected']}；本次新登记 {len(result.new)} 个。"
               f"收件登记：{result.inbox / REGISTER_XLSX}")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=_Path(exists=True, path_type=Path))
@click.option("--form", "form", help="只接受这一种表单（英文代号或中文表名）；其他表单的文件判为“表单不符”。")
@click.option("--orgs", "orgs_file", type=_Path(exists=True, dir_okay=False),
              help="组织架构文件（.xlsx 或 .csv），用于识别填报单位。")
@click.option("--campaign", "campaign_dir", type=_Path(exists=True, file_okay=False),
              help="活动文件夹：取其中的组织架构和活动年份。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@click.option("--feedback", "feedback_dir", type=_Path(file_okay=False, path_type=Path),
              help="为有问题的文件生成标注了问题的反馈表，保存到此文件夹。")
@_friendly
def validate(paths: tuple[Path, ...], form: str | None, orgs_file: str | None, campaign_dir: str | None,
             as_json: bool, feedback_dir: Path | None) -> None:
    """校验报回的表格（PATHS 可为文件或文件夹）；全部通过时退出码为 0，有错误为 1。"""
    from .campaign import load_campaign
    from .orgs import load_orgs
    from .validate import expand_paths, format_report, report_json, validate_paths, write_feedback_copies

    campaign = load_campaign(campaign_dir) if campaign_dir else None
    orgs = load_orgs(orgs_file) if orgs_file else None
    files = expand_paths(paths)
    if not files:
        raise click.UsageError("没有找到要校验的文件。")
    with _file_progress(lambda: len(files), "校验中") as progress:
        subs = validate_paths(files, form=form, orgs=orgs, campaign=campaign, progress=progress)
    if feedback_dir is not None:
        written, notes = write_feedback_copies(subs, feedback_dir)
        for note in notes:
            click.echo(note, err=True)
        click.echo(f"已生成 {len(written)} 份反馈表，保存在 {feedback_dir}。", err=True)
    if as_json:
        _echo_json(report_json(subs))
    else:
        click.echo(format_report(subs))
    sys.exit(0 if all(s.valid for s in subs) else 1)


def _as_of(ctx, param, value: str | None):
    """--as-of as a clerk types it: 2012-06-25, 2012/6/25, 2012年6月25日 (end of that day), or with a time."""
    from .campaign import parse_moment

    if value is None:
        return None
    moment = parse_moment(value, None)
    if moment is None:
        raise click.BadParameter(f"“{value}”不是日期时间，请写成 2012-06-25、2012/6/25 或 \"2012-06-25 18:00\"。")
    return moment


def _xlsx(ctx, param, value: Path | None) -> Path | None:
    """-o of a workbook: a name ending in .xlsx, the only one Excel and WPS open it by."""
    if value is not None and value.suffix.lower() != ".xlsx":
        raise click.BadParameter(f"“{value}”要以 .xlsx 结尾，如 {value.with_suffix('.xlsx')}。")
    return value


_AS_OF_HELP = "截至时间，如 2012-06-25（指当天 24 时）或 \"2012-06-25 18:00\"；默认取活动配置的 as_of，否则为现在。"


def _inbox_options(level_help: str):
    """INBOX, --campaign, --level and --as-of: what rollup, status and remind all take."""

    def decorate(fn):
        for option in reversed((
            click.argument("inbox", type=_Path(exists=True, file_okay=False, path_type=Path)),
            click.option("--campaign", "campaign_dir", required=True,
                         type=_Path(exists=True, file_okay=False, path_type=Path),
                         help="活动文件夹（campaign.yaml 和组织架构）。"),
            click.option("--level", help=level_help),
            click.option("--as-of", "as_of", callback=_as_of, help=_AS_OF_HELP),
        )):
            fn = option(fn)
        return fn

    return decorate


def _rollup_inbox(inbox: Path, campaign_dir: Path, **options):
    """rollup_inbox with a progress bar on a terminal."""
    from .rollup import rollup_inbox
    from .validate import expand_paths

    with _file_progress(lambda: len(expand_paths([inbox])), "汇总中") as progress:
        return rollup_inbox(inbox, campaign_dir, progress=progress, **options)


@main.command()
@_inbox_options("汇总到哪个单位：组织代码或规范全称；默认组织架构的最上级。")
@click.option("--by", type=click.Choice(["督导组", "类型"]), help="另按督导组或组织类型分组小计。")
@click.option("-o", "--output", type=_Path(dir_okay=False, path_type=Path), callback=_xlsx,
              help="汇总表保存为（.xlsx）；默认活动文件夹中的 汇总表.xlsx。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出汇总数字、报送情况和逾期事项。")
@_friendly
def rollup(inbox: Path, campaign_dir: Path, level: str | None, as_of, by: str | None, output: Path | None,
           as_json: bool) -> None:
    """逐级汇总：校验 INBOX 中的全部报表，按组织架构汇总，生成汇总表（含报送情况、逾期事项和数据来源）。"""
    from .report import write_summary
    from .status import summary_text

    result = _rollup_inbox(inbox, campaign_dir, level=level, as_of=as_of, by=by)
    workbook = write_summary(result, output or campaign_dir / "汇总表.xlsx")
    if as_json:
        _echo_json(result.as_json())
    else:
        click.echo(summary_text(result, workbook))


@main.command()
@_inbox_options("只看这个单位以下：组织代码或规范全称；默认组织架构的最上级。")
@_friendly
def status(inbox: Path, campaign_dir: Path, level: str | None, as_of) -> None:
    """报送情况：每个单位每张表是按时报送、逾期报送、未报送还是未通过校验，最后列出合计。"""
    from .status import status_text

    click.echo(status_text(_rollup_inbox(inbox, campaign_dir, level=level, as_of=as_of)))


@main.command()
@_inbox_options("只催这个单位以下：组织代码或规范全称；默认组织架构的最上级。")
@click.option("-o", "--output", type=_Path(dir_okay=False, path_type=Path), callback=_xlsx,
              help="催报名单保存为（.xlsx）；默认活动文件夹中的 催报名单.xlsx，反馈表放在其旁的 催报反馈表/。")
@click.option("--send", "smtp_url", help="用这个发信服务器把催报邮件发给各单位，如 smtp://127.0.0.1:25。")
@click.option("--from", "sender", default="zhenggai@localhost", show_default=True, help="发件人地址。")
@_friendly
def remind(inbox: Path, campaign_dir: Path, level: str | None, as_of, output: Path | None, smtp_url: str | None,
           sender: str) -> None:
    """催报：列出未报送、逾期或未通过校验的单位，附联系人、邮箱、问题和催报文字；--send 逐个发邮件。"""
    from .remind import attach_feedback, parse_smtp_url, reminders, send_reminders, write_reminders

    if smtp_url:
        parse_smtp_url(smtp_url)  # a bad address is a usage error before any work
    result = _rollup_inbox(inbox, campaign_dir, level=level, as_of=as_of)
    items = reminders(result)
    output = output or campaign_dir / "催报名单.xlsx"
    attach_feedback(items, result, output.parent / "催报反馈表")
    write_reminders(output, items)
    for item in items:
        org = item.org
        click.echo(f"== {org.name}  联系人：{org.contact or '无'}  电话：{org.phone or '无'}  邮箱：{org.email or '无'}")
        click.echo(item.text + "\n")
    click.echo(f"需催报 {len(items)} 个单位；催报名单：{output}")
    if smtp_url:
        sent = send_reminders(items, smtp_url, sender)
        names = {item.org.code: item.org.name for item in items}
        for outcome in sent:
            if not outcome.ok:
                click.echo(f"未发送：{names[outcome.unit]}  {outcome.to}  {outcome.error}", err=True)
        click.echo(f"已发送 {sum(o.ok for o in sent)} 封催报邮件。")


def run() -> None:
    """The `zhenggai` script: main(), then leave at once with its exit status, output flushed.
    Freeing a large run's objects one by one at exit (hundreds of MB at thousands of files) would
    keep a clerk waiting ~0.3 s more for nothing; every file is written and closed by then.
    Where hypothesis is installed (a test set-up), pandera imports it for data synthesis at its first
    validation, in every worker process: ~0.2 s each for nothing the command does. It is kept out.
    Output in a legacy code page (GBK, when Chinese Windows writes it to a file or a pipe) shows a
    character it cannot encode (in a unit's file name, say) as ?, instead of stopping with a traceback."""
    sys.modules.setdefault("hypothesis", None)  # `import hypothesis` now fails: pandera goes without
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    if isinstance(code, str):  # as Python does with sys.exit("text")
        print(code, file=sys.stderr)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)


if __name__ == "__main__":  # pragma: no cover
    run()
