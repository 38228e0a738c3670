"""Templates through LibreOffice: printed to PDF (A4 landscape, one page wide) and saved as .xls/.ods.

LibreOffice runs headless with a profile of its own per test session, so
parallel runs do not clash; each format is one soffice call for all files.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook, SheetVisibleEnum

from zhenggai_xls.excel import METADATA_SHEET
from zhenggai_xls.locate import locate
from zhenggai_xls.read import read_workbook
from zhenggai_xls.spec import Field, Group
from zhenggai_xls.template import GUIDE_SHEET, write_templates

FORMATS = ("pdf", "xls", "ods")
A4_LONG, A4_SHORT = 841.89, 595.3


def _soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    assert found, "LibreOffice (soffice) is needed: apt-get install libreoffice-calc-nogui"
    return found


@pytest.fixture(scope="module")
def converted(specs, tmp_path_factory) -> dict[str, dict[str, Path]]:
    """{spec id: {"xlsx"|"pdf"|"xls"|"ods": path}} for every template."""
    src = tmp_path_factory.mktemp("lo_src")
    paths = dict(zip(specs, write_templates(specs.values(), src)))
    profile = tmp_path_factory.mktemp("lo_profile")
    out = {spec_id: {"xlsx": path} for spec_id, path in paths.items()}
    for fmt in FORMATS:
        folder = tmp_path_factory.mktemp(f"lo_{fmt}")
        subprocess.run([_soffice(), f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
                        "--convert-to", fmt, "--outdir", str(folder), *map(str, paths.values())],
                       check=True, capture_output=True, timeout=600)
        for spec_id, path in paths.items():
            out[spec_id][fmt] = folder / f"{path.stem}.{fmt}"
    return out


def _pages(pdf: Path) -> list[tuple[float, float, str]]:
    """(width, height, text without white space) of every page."""
    info = subprocess.run(["pdfinfo", "-f", "1", "-l", "999", str(pdf)], capture_output=True, text=True,
                          check=True).stdout
    sizes = [(float(w), float(h)) for w, h in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+)", info)]
    pages = []
    for i, (w, h) in enumerate(sizes, 1):
        text = subprocess.run(["pdftotext", "-f", str(i), "-l", str(i), str(pdf), "-"], capture_output=True,
                              text=True, check=True).stdout
        pages.append((w, h, re.sub(r"\s", "", text)))
    return pages


def _form_pages(pdf: Path, title: str) -> list[tuple[float, float, str]]:
    """The pages of the form sheet: those before the 填表说明 starts."""
    pages = _pages(pdf)
    guide = next(i for i, (_, _, text) in enumerate(pages) if f"{title}填表说明" in text)
    assert guide > 0
    return pages[:guide]


def _edge_labels(spec) -> list[str]:
    """Labels at the left and right edge of the form (the top-level header, or the lines)."""
    if spec.kind == "table":
        nodes = spec.table.columns
        return [n.label if isinstance(n, (Group, Field)) else "" for n in (nodes[0], nodes[-1])]
    return [spec.lines[0].section, spec.lines[-1].fields[-1].label]


def test_every_template_converts_to_pdf_xls_and_ods(converted):
    for spec_id, files in converted.items():
        for fmt in FORMATS:
            assert files[fmt].is_file() and files[fmt].stat().st_size > 0, (spec_id, fmt)


def test_pdf_pages_are_a4_landscape_and_one_page_wide(specs, converted):
    for spec_id, files in converted.items():
        spec = specs[spec_id]
        pages = _form_pages(files["pdf"], spec.title)
        for width, height, text in pages:
            assert (round(width), round(height)) == (round(A4_LONG), round(A4_SHORT)), spec_id
            # one page across: the leftmost and rightmost labels share every page
            for label in _edge_labels(spec):
                assert label in text, (spec_id, label)
        assert spec.title in pages[0][2]


def test_stats_prints_on_one_page(specs, converted):
    pages = _form_pages(converted["stats"]["pdf"], specs["stats"].title)
    assert len(pages) == 1
    text = pages[0][2]
    for label in ("党支部规范全称", "分类定级", "征求意见情况", "问题梳理情况", "拟集中整改问题", "座谈会", "合计"):
        assert label in text


def test_long_tables_repeat_their_header_on_every_page(specs, converted):
    pages = _form_pages(converted["orgs"]["pdf"], specs["orgs"].title)
    assert len(pages) >= 2  # 40 rows
    for _, _, text in pages:
        assert "组织代码" in text and "上级组织代码" in text


def test_xls_and_ods_keep_labels_sheets_and_metadata(specs, converted):
    for spec_id, files in converted.items():
        spec = specs[spec_id]
        for fmt in ("xls", "ods"):
            wb = CalamineWorkbook.from_path(str(files[fmt]))
            assert wb.sheet_names == [spec.title, GUIDE_SHEET, METADATA_SHEET], (spec_id, fmt)
            visibility = {s.name: s.visible for s in wb.sheets_metadata}
            assert visibility[METADATA_SHEET] == SheetVisibleEnum.Hidden
            meta = dict(wb.get_sheet_by_name(METADATA_SHEET).to_python())
            assert (meta["generator"], meta["form"]) == ("zhenggai-xls", spec_id)
            shown = {str(v) for row in wb.get_sheet_by_name(spec.title).to_python() for v in row if v != ""}
            labels = [f.label for f in spec.table.fields] if spec.kind == "table" else \
                [f.label for line in spec.lines for f in line.fields if f.label not in (line.section, line.sub)]
            for label in [spec.title, *labels, *(f.label + "：" for f in spec.header)]:
                assert label in shown, (spec_id, fmt, label)


def test_xls_keeps_the_merged_header(converted):
    wb = CalamineWorkbook.from_path(str(converted["stats"]["xls"]))
    merges = {(r0, c0, r1, c1) for (r0, c0), (r1, c1) in wb.get_sheet_by_name("整改方案制定情况统计表").merged_cell_ranges}
    rows = wb.get_sheet_by_name("整改方案制定情况统计表").to_python()
    top = next(i for i, row in enumerate(rows) if row[0] == "党支部规范全称")
    assert {(top, 0, top + 2, 0), (top, 1, top, 4), (top, 5, top, 11), (top + 1, 5, top + 1, 8)} <= merges


def test_converted_templates_are_recognised_by_the_reader(specs, converted):
    for spec_id, files in converted.items():
        for fmt in ("xls", "ods"):
            workbook = read_workbook(files[fmt])
            assert workbook.metadata.get("form") == spec_id, (spec_id, fmt)
            found = locate(workbook, specs)
            assert isinstance(found, list) and [e.form for e in found] == [spec_id], (spec_id, fmt, found)
