"""Every real-world workbook of shared/wild/calamine gets a verdict: a Workbook or a catalogued ReadError.

All files are read in one child process so that a crash inside the native reader, or a hang,
fails this test instead of killing the test run; the child's timeout bounds the total time.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import WILD
from zhenggai_xls.problems import RULES


CHILD = r"""
import json, sys, time
from pathlib import Path
from zhenggai_xls.read import ReadError, read_workbook
out = {}
for path in sorted(Path(sys.argv[1]).iterdir()):
    start = time.perf_counter()
    try:
        book = read_workbook(path)
        verdict = {"format": book.format, "sheets": {s.name: {
            "cells": len(s.cells), "merges": len(s.merges), "hidden": s.hidden,
            "errors": sorted(map(list, s.errors)), "formulas": len(s.formulas_without_value)} for s in book.sheets}}
    except ReadError as exc:
        verdict = {"rule": exc.problem.rule, "message": exc.problem.message}
    except BaseException as exc:
        verdict = {"other": f"{type(exc).__name__}: {exc}"}
    verdict["seconds"] = time.perf_counter() - start
    out[path.name] = verdict
print(json.dumps(out, ensure_ascii=False))
"""


@pytest.fixture(scope="module")
def verdicts() -> dict[str, dict]:
    """File name -> what read_workbook made of it."""
    assert WILD.is_dir(), f"missing {WILD}"
    done = subprocess.run([sys.executable, "-c", CHILD, str(WILD)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_every_file_gets_a_verdict(verdicts):
    assert set(verdicts) == {p.name for p in WILD.iterdir()}
    others = {name: v["other"] for name, v in verdicts.items() if "other" in v}
    assert not others
    for name, v in verdicts.items():
        if "rule" in v:
            assert v["rule"] in RULES, name
            assert v["message"] and any("\u4e00" <= ch <= "\u9fff" for ch in v["message"]), name
        assert v["seconds"] < 10, name  # loose: no single file may stall a run


def test_most_files_read(verdicts):
    read = [name for name, v in verdicts.items() if "format" in v]
    assert len(read) >= len(verdicts) - 5
    assert {verdicts[n]["format"] for n in read} == {"xlsx", "xlsm", "xlsb", "xls", "ods", "csv"}


def test_known_bad_wild_files(verdicts):
    assert verdicts["issue_385.xls"]["rule"] == "file.encrypted"  # BIFF with a password
    assert verdicts["issue252.xlsx"]["rule"] == "file.corrupt"  # bad CRC inside the zip
    assert verdicts["too_small.xls"]["format"] == "csv"  # a one-line text file named .xls


def test_wild_details_survive(verdicts):
    errors = verdicts["errors.xlsx"]["sheets"]["Feuil1"]
    assert errors["errors"] == [[r, 0] for r in range(7)] and errors["cells"] == 0
    assert verdicts["merge_cells.xlsx"]["sheets"]["Sheet1"]["merges"] == 3
    assert verdicts["merge_cells.xls"]["sheets"]["Sheet1"]["merges"] == 3
    assert verdicts["merged_cells.ods"]["sheets"]["Sheet1"]["merges"] == 1
    sheets = verdicts["any_sheets.xlsx"]["sheets"]
    assert sheets["Hidden"]["hidden"] and sheets["VeryHidden"]["hidden"] and not sheets["Visible"]["hidden"]
    assert "Chart" not in sheets  # chart sheets hold no cells
    assert verdicts["picture_richdata.xlsx"]["sheets"]["Sheet1"]["errors"] == []  # a picture in a cell
