"""Shared fixtures: the specs, sheets built from A1 maps, and workbooks written with openpyxl."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

import openpyxl
import pytest

from zhenggai_xls.excel import parse_a1
from zhenggai_xls.read import Sheet, Workbook
from zhenggai_xls.spec import load_specs

# The real-world workbooks (not in the repository): $ZHENGGAI_WILD, else shared/ beside the clone,
# else the machine's /work/shared — so a clone made anywhere still finds them.
WILD = next((p for p in (Path(os.environ.get("ZHENGGAI_WILD", "/nonexistent")),
                         Path(__file__).resolve().parents[2] / "shared" / "wild" / "calamine",
                         Path("/work/shared/wild/calamine")) if p.is_dir()),
            Path(__file__).resolve().parents[2] / "shared" / "wild" / "calamine")

def aborting_xls(source: Path) -> bytes:
    """An .xls whose DIMENSIONS record (BIFF8: first row, last row + 1, first col, last col + 1) has
    its first row far after its last: calamine asks for terabytes and aborts."""
    data = bytearray(source.read_bytes())
    at = data.index(b"\x00\x02\x0e\x00")
    data[at + 4:at + 8] = (0x00E00000).to_bytes(4, "little")
    return bytes(data)


def aborts_calamine(path: Path) -> bool:
    """Whether calamine reading every sheet of `path` kills the process (tried in a subprocess)."""
    native = ("import python_calamine as pc, sys; b = pc.CalamineWorkbook.from_path(sys.argv[1]); "
              "[b.get_sheet_by_name(n).to_python() for n in b.sheet_names]")
    return subprocess.run([sys.executable, "-c", native, str(path)], capture_output=True, timeout=60).returncode < 0


# A sheet layout as tests write it: {"C6": value, …} and merges as ["C6:C8", …].
Layout = tuple[str, dict[str, object], list[str]]


def _bounds(ref: str) -> tuple[int, int, int, int]:
    first, _, last = ref.partition(":")
    r0, c0 = parse_a1(first)
    r1, c1 = parse_a1(last or first)
    return r0, c0, r1, c1


@pytest.fixture(scope="session")
def specs():
    """Every form spec of sheets/."""
    return load_specs()


@pytest.fixture
def build_sheet() -> Callable[..., Sheet]:
    """Sheet(name, {A1: value}, merges) as the reader would return it."""

    def build(name: str, cells: dict[str, object], merges: list[str] = (), hidden: bool = False) -> Sheet:
        return Sheet(name=name, cells={parse_a1(k): v for k, v in cells.items() if v is not None},
                     merges=[_bounds(m) for m in merges], hidden=hidden)

    return build


@pytest.fixture
def build_workbook() -> Callable[..., Workbook]:
    """Workbook(*sheets) with an optional template metadata mapping."""

    def build(*sheets: Sheet, metadata: dict[str, str] | None = None, path: str = "报表.xlsx") -> Workbook:
        return Workbook(path=Path(path), format="xlsx", sheets=list(sheets), metadata=dict(metadata or {}))

    return build


def write_layouts(path: Path, layouts: list[Layout], hidden: set[str] = frozenset(),
                  metadata: dict[str, str] | None = None) -> Path:
    """Write sheets (name, {A1: value}, merges) to a real .xlsx with openpyxl."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, cells, merges in layouts:
        ws = wb.create_sheet(name)
        for ref, value in cells.items():
            ws[ref] = value
        for ref in merges:
            ws.merge_cells(ref)
        if name in hidden:
            ws.sheet_state = "hidden"
    if metadata:
        ws = wb.create_sheet("_zhenggai")
        for i, (key, value) in enumerate({"generator": "zhenggai-xls", **metadata}.items(), start=1):
            ws.cell(i, 1, key)
            ws.cell(i, 2, value)
        ws.sheet_state = "hidden"
    wb.save(path)
    return path


@pytest.fixture
def write_book() -> Callable[..., Path]:
    """write_layouts as a fixture."""
    return write_layouts


def stats_seed_layout(top: int = 6, left: int = 2, rows: list[list[object]] | None = None) -> Layout:
    """附件2 of seed 004 as a clerk types it by hand: the 3-row merged header at row `top` (1-based), column `left` (0-based: 2 is C).

    Title and 填报单位 lines above, the 在相应栏内标数字“1” note under the header, then `rows`
    (24 values each, None for blank; a first value 合计 makes the total row), then a 备注 line.
    """
    from zhenggai_xls.excel import a1

    cells: dict[str, object] = {}
    merges: list[str] = []

    def put(r: int, c: int, value: object, r1: int | None = None, c1: int | None = None) -> None:
        cells[a1(r - 1, left + c)] = value
        if (r1 or r) != r or (c1 or c) != c:
            merges.append(f"{a1(r - 1, left + c)}:{a1((r1 or r) - 1, left + (c1 or c))}")

    h = top
    put(h - 3, 0, "涪陵区党组织基层组织建设年整改方案制定情况统计表", c1=23)
    put(h - 2, 0, "填报单位（盖章）：涪陵区李渡新区党工委", c1=8)
    put(h - 2, 15, "填报日期：2012年6月22日", c1=20)
    put(h - 1, 0, "填报人")
    put(h - 1, 1, "张三", c1=3)
    put(h - 1, 15, "联系电话")
    put(h - 1, 16, "023-72211234", c1=18)
    put(h, 0, "党支部规范全称", h + 2)
    put(h, 1, "分类定级", c1=4)
    for i, label in enumerate(("好", "较好", "一般", "较差")):
        put(h + 1, 1 + i, label, h + 2)
    put(h, 5, "征求意见情况", c1=11)
    put(h + 1, 5, "形  式", c1=8)
    put(h + 1, 9, "对  象", c1=11)
    for i, label in enumerate(("座谈会", "信\n函", "电话短信", "其\n他", "人\n次", "两代表一委员", "党外群众")):
        put(h + 2, 5 + i, label)
    for start, group in ((12, "问题梳理情况"), (18, "拟集中整改问题")):
        put(h, start, group, c1=start + 5)
        for i, label in enumerate(("合\n计", "领导班子", "党员队伍", "工作机制", "工作业绩", "群众反映")):
            put(h + 1, start + i, label, h + 2)
    put(h + 3, 1, "在相应栏内\n\n标数字“1”", c1=4)
    r = h + 4
    for row in rows or []:
        for c, value in enumerate(row):
            if value is not None:
                put(r, c, value)
        r += 1
    put(r, 0, "备注：此表从党支部开始填写，逐汇总到区级党内统计汇总单位交区委活动办", c1=23)
    return "统计表", cells, merges


@pytest.fixture
def stats_seed() -> Callable[..., Layout]:
    """stats_seed_layout as a fixture."""
    return stats_seed_layout
