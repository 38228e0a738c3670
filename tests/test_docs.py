"""The README is a contract: its reference sections and set-up commands stay true."""
import re
from pathlib import Path

import click

from zhenggai_xls.cli import main
from zhenggai_xls.docs import README, replace_sections

ROOT = Path(__file__).resolve().parent.parent


def test_readme_reference_sections_are_current():
    text = README.read_text(encoding="utf-8")
    assert replace_sections(text) == text, "README 的参考部分已过期：运行 python -m zhenggai_xls.docs"


def test_every_command_has_help():
    ctx = click.Context(main)
    for name in main.list_commands(ctx):
        assert main.get_command(ctx, name).help, f"command {name} has no help"


def test_readme_has_exactly_two_setup_commands_and_ci_runs_the_test_one():
    text = README.read_text(encoding="utf-8")
    setup = re.search(r"## 安装与运行\n(.*?)\n## ", text, re.S).group(1)
    commands = re.findall(r"```bash\n(.*?)\n```", setup, re.S)
    assert len(commands) == 2
    assert commands[0] == "pip install -e . && zhenggai demo"
    assert "pytest" in commands[1]
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert commands[1] in ci_lines
