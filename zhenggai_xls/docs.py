"""Generate the README's reference sections from the CLI, the specs and the rule catalogue.

`python -m zhenggai_xls.docs` rewrites them in place; tests/test_docs.py fails when stale.
"""
from __future__ import annotations

import re
from pathlib import Path

from .problems import RULES
from .spec import load_specs

README = Path(__file__).resolve().parent.parent / "README.md"


def render_cli() -> str:
    """Every command's --help text, in the order `zhenggai --help` lists them."""
    from .cli import main

    ctx = main.context_class(main, info_name="zhenggai", terminal_width=100, max_content_width=100,
                             **main.context_settings)
    parts = ["```text", main.get_help(ctx), "```"]
    for name in main.list_commands(ctx):
        command = main.get_command(ctx, name)
        sub = command.context_class(command, info_name=name, parent=ctx, **command.context_settings)
        parts += ["", f"### zhenggai {name}", "", "```text", command.get_help(sub), "```"]
    return "\n".join(parts)


def render_forms() -> str:
    """A table of the forms and, per form, its fields."""
    specs = load_specs()
    lines = ["| 代号 | 表名 | 类型 | 来源 | 栏目数 |", "|---|---|---|---|---|"]
    for s in specs.values():
        kind = "表格（每行一条）" if s.kind == "table" else "固定格式表单"
        lines.append(f"| `{s.id}` | {s.title} | {kind} | {s.source or '—'} | {len(s.fields)} |")
    for s in specs.values():
        lines += ["", f"#### `{s.id}` {s.title}", "", "| 键 | 栏目 | 类型 | 必填 |", "|---|---|---|---|"]
        for f in s.fields:
            lines.append(f"| `{f.key}` | {f.full_label} | {f.type_words} | {'是' if f.required else ''} |")
        for r in s.rules:
            lines.append(f"- 规则“{r.name}”（`rule.{r.kind}`，{'错误' if r.severity == 'error' else '提醒'}）"
                         + (f"：{r.message}" if r.message else ""))
    return "\n".join(lines)


def render_rules() -> str:
    """The problem catalogue: id, severity, title."""
    lines = ["| 编号 | 级别 | 问题 |", "|---|---|---|"]
    for r in RULES.values():
        lines.append(f"| `{r.id}` | {'错误' if r.severity == 'error' else '提醒'} | {r.title} |")
    return "\n".join(lines)


SECTIONS = {"cli": render_cli, "forms": render_forms, "rules": render_rules}


def replace_sections(text: str) -> str:
    """The README text with every generated section rendered anew."""
    for name, render in SECTIONS.items():
        pattern = re.compile(rf"(<!-- {name}:start -->\n)(?:.*?\n)?(<!-- {name}:end -->)", re.S)
        text = pattern.sub(lambda m: m.group(1) + render() + "\n" + m.group(2), text)
    return text


if __name__ == "__main__":
    README.write_text(replace_sections(README.read_text(encoding="utf-8")), encoding="utf-8")
