"""The fast paths give the same results as the plain ones: worker processes, rollup progress."""
from __future__ import annotations

import os
import shutil
import time
from datetime import date

import pytest

from zhenggai_xls import validate as V
from zhenggai_xls.demo import write_filled
from zhenggai_xls.spec import load_specs
from zhenggai_xls.validate import report_json, validate_paths

SPECS = load_specs()


# ---------------------------------------------------------------- worker processes


def _weekly(done: int) -> list[dict]:
    return [{"item": item, "problem_count": 3, "done": done, "in_progress": 3 - done, "not_started": 0,
             "new_done": 0} for item in SPECS["weekly"].table.rows]


def _inbox(folder):
    """Filled files of three forms, a file in error, junk, and one unit's two weeks far apart."""
    folder.mkdir()
    ledger = {"seq": "1", "category": "领导班子建设", "problem": "学习不够经常", "measure": "每月集中学习",
              "leader": "张明", "deadline": "立行立改", "status": "已完成", "done_date": date(2023, 11, 10),
              "closed": "是"}
    head = {"reporting_unit": "第一党支部", "report_date": date(2023, 11, 18), "filled_by": "张三",
            "contact_phone": "13900000000"}
    write_filled(SPECS["weekly"], folder / "a01_周报.xlsx", {**head, "report_date": date(2023, 10, 27)}, _weekly(2))
    for i in range(2, 12):
        rows = [dict(ledger, seq=str(n), measure=None if i == 5 and n == 2 else ledger["measure"]) for n in (1, 2, 3)]
        write_filled(SPECS["ledger"], folder / f"a{i:02d}_清单.xlsx", {**head, "reporting_unit": f"第{i}党支部"}, rows)
    (folder / "a12_说明.txt").write_text("附件是整改清单。", encoding="utf-8")
    write_filled(SPECS["weekly"], folder / "a13_周报.xlsx", {**head, "report_date": date(2023, 11, 3)}, _weekly(1))
    return folder


def _frames(subs):
    return [(s.unit_name, s.period, s.rows.astype(str).to_dict("list") if len(s.rows) else {},
             {c: str(t) for c, t in s.rows.dtypes.items()}, list(s.rows.index)) for s in subs]


def test_worker_processes_give_the_same_submissions_in_the_same_order(tmp_path, monkeypatch):
    inbox = _inbox(tmp_path / "inbox")
    one = validate_paths([inbox], workers=1)
    monkeypatch.setattr(V, "POOL_MIN_FILES", 2)
    monkeypatch.setattr(V, "CHUNKS_PER_WORKER", 3)  # several chunks: the two weeks land in different ones
    told: list[int] = []
    two = validate_paths([inbox], workers=2, progress=told.append)
    assert report_json(two) == report_json(one)
    assert _frames(two) == _frames(one)
    assert sum(told) == 13  # every file read is told, none twice
    assert [s.path.name for s in two][:2] == ["a01_周报.xlsx", "a02_清单.xlsx"]
    rules = {p.rule for s in two for p in s.problems}
    assert "rule.not_decreasing" in rules  # 已完成 went down from one chunk's week to another's
    assert not next(s for s in two if s.path.name == "a05_清单.xlsx").valid
    assert next(s for s in two if s.path.suffix == ".txt").rejected


_PARENT = os.getpid()
_READ_AND_LOCATE = V.read_and_locate


def _dies_in_a_worker(*args):
    if os.getpid() != _PARENT:
        os._exit(1)  # as when the system kills a worker that ran out of memory
    return _READ_AND_LOCATE(*args)


def test_a_worker_that_dies_leaves_the_rest_to_this_process(tmp_path, monkeypatch):
    inbox = _inbox(tmp_path / "inbox")
    expected = report_json(validate_paths([inbox], workers=1))
    monkeypatch.setattr(V, "POOL_MIN_FILES", 2)
    monkeypatch.setattr(V, "read_and_locate", _dies_in_a_worker)
    told: list[int] = []
    assert report_json(validate_paths([inbox], workers=2, progress=told.append)) == expected
    assert sum(told) == 13


def test_ctrl_c_drops_the_chunks_not_yet_read(tmp_path, monkeypatch):
    """Ctrl-C while workers read: the files not yet begun are never read (leaving the pool used to
    wait for every queued chunk, a minute at tens of thousands of files, before saying 已中止)."""
    inbox = _inbox(tmp_path / "inbox")
    for path in sorted(inbox.iterdir()):  # 39 files
        for copy in ("b", "c"):
            shutil.copy2(path, inbox / f"{copy}{path.name}")
    log = tmp_path / "read.log"

    def slow_and_logged(*args):  # in a worker: each file takes a while, and is noted
        time.sleep(0.2)
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"{args[0]}\n")
        return _READ_AND_LOCATE(*args)

    def ctrl_c(n):  # the first progress report: the clerk presses Ctrl-C
        raise KeyboardInterrupt

    monkeypatch.setattr(V, "POOL_MIN_FILES", 2)
    monkeypatch.setattr(V, "CHUNKS_PER_WORKER", 3)
    monkeypatch.setattr(V, "read_and_locate", slow_and_logged)
    with pytest.raises(KeyboardInterrupt):
        validate_paths([inbox], workers=2, progress=ctrl_c)
    read = log.read_text(encoding="utf-8").splitlines()
    assert 0 < len(read) <= 10, read  # of 39: each worker stops at its next file


def test_few_files_stay_in_this_process(tmp_path, monkeypatch):
    inbox = _inbox(tmp_path / "inbox")
    monkeypatch.setattr(V, "ProcessPoolExecutor", None)  # would fail if used
    assert len(validate_paths([inbox], workers=4)) == 13


# ---------------------------------------------------------------- progress on a terminal


def _run_with_terminal_stderr(args: list[str]) -> tuple[str, str]:
    """Run the CLI with stderr on a pseudo-terminal and stdout on a pipe: (stdout, what the terminal got)."""
    import pty
    import subprocess
    import sys

    main_fd, child_fd = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "zhenggai_xls.cli", *args], stdout=subprocess.PIPE,
                            stderr=child_fd, stdin=subprocess.DEVNULL)
    os.close(child_fd)
    seen = b""
    while True:
        try:
            chunk = os.read(main_fd, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    out = proc.stdout.read().decode()
    proc.wait()
    os.close(main_fd)
    return out, seen.decode(errors="replace")


def test_progress_bar_on_a_terminal_only_and_never_in_json(tmp_path):
    import json

    from zhenggai_xls.campaign import init_campaign

    inbox = _inbox(tmp_path / "inbox")
    out, terminal = _run_with_terminal_stderr(["validate", str(inbox), "--json"])
    assert len(json.loads(out)["files"]) == 13
    assert "校验中" in terminal and "13/13" in terminal and "份/秒" in terminal
    init_campaign(tmp_path / "camp", "plan-filing")
    out, terminal = _run_with_terminal_stderr(["rollup", str(inbox), "--campaign", str(tmp_path / "camp"), "--json",
                                               "-o", str(tmp_path / "汇总表.xlsx")])
    assert json.loads(out)["level"]
    assert "汇总中" in terminal and "13/13" in terminal
    # Not a terminal: nothing but the JSON document, and nothing on stderr.
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-m", "zhenggai_xls.cli", "validate", str(inbox), "--json"],
                          capture_output=True, text=True)
    assert json.loads(done.stdout)["files"] and done.stderr == ""


def test_the_script_leaves_at_once_with_mains_status_and_all_output(tmp_path):
    """cli.run (the installed script) skips freeing objects at exit: statuses and output stay main()'s."""
    import json
    import subprocess
    import sys

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "zhenggai_xls.cli", *args], capture_output=True, text=True)

    inbox = _inbox(tmp_path / "inbox")
    done = cli("validate", str(inbox), "--json")
    assert done.returncode == 1 and len(json.loads(done.stdout)["files"]) == 13  # a file in error; all flushed
    assert cli("--version").returncode == 0
    bad = cli("validate", str(tmp_path / "无此文件夹"))
    assert bad.returncode == 2 and "无此文件夹" in bad.stderr


def test_the_script_goes_without_hypothesis_and_judges_alike(tmp_path):
    """pandera imports hypothesis (installed with the tests) at its first validation, ~0.2 s in each
    process that validates; the command's processes go without it and judge every file as before."""
    import json
    import subprocess
    import sys

    inbox = _inbox(tmp_path / "inbox")
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "zhenggai_xls.cli", "validate", str(inbox),
                           "--json"], capture_output=True, text=True)
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "pandera" in imported and "zhenggai_xls.schema" in imported
    assert "hypothesis" not in imported  # pandera tries hypothesis.strategies, which fails at once
    assert json.loads(done.stdout) == json.loads(json.dumps(report_json(validate_paths([inbox])), default=str))
