"""The `zhenggai` command: a thin layer over the library.

Each command parses its options, makes one call into the library and turns
the library's errors into `click.ClickException` — no traceback reaches a clerk.
"""
from __future__ import annotations

import json
import sys
from functools import wraps

import click

from .errors import ZhenggaiError
from .spec import find_spec, load_specs


def _friendly(fn):
    """Turn library errors into one-line Chinese messages with exit status 2."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ZhenggaiError as exc:
            raise click.UsageError(str(exc)) from None

    return wrapper


def _echo_json(data: object) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="zhenggai-xls")
def main() -> None:
    """整改工作表格工具：下发模板、收集、校验、逐级汇总、催报。"""


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
            for f in spec.fields:
                need = "必填" if f.required else ""
                click.echo(f"    {f.key:<20} {f.full_label:<28} {f.type:<9} {need}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
