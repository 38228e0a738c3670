"""Blank templates: reopened with openpyxl and python-calamine, checked against the specs."""
from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import openpyxl
import pytest
import yaml
from click.testing import CliRunner
from openpyxl.utils import get_column_letter, range_boundaries
from python_calamine import CalamineWorkbook

from zhenggai_xls.cli import main
from zhenggai_xls.excel import METADATA_SHEET
from zhenggai_xls.locate import locate
from zhenggai_xls.orgs import Org, OrgTree, load_orgs
from zhenggai_xls.read import read_workbook
from zhenggai_xls.spec import SHEETS_DIR, parse_spec
from zhenggai_xls.template import (
    GUIDE_SHEET, LIST_SHEET, file_name, snap, text_width, write_template, write_templates,
)

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "templates_xlsx"

# The openpyxl validation type each field type must get.
DV_TYPE = {"count": "whole", "mark": "list", "choice": "list", "date": "date", "deadline": "custom",
           "text": "textLength", "phone": "textLength", "email": "custom", "code": "textLength"}


@pytest.fixture(scope="module")
def written(specs, tmp_path_factory) -> dict[str, Path]:
    """Every spec's blank template, written once for the module."""
    out = tmp_path_factory.mktemp("templates")
    paths = write_templates(specs.values(), out)
    return {spec_id: path for spec_id, path in zip(specs, paths)}


def _fresh(path: Path):
    """The workbook and its form sheet, to edit."""
    wb = openpyxl.load_workbook(path)
    return wb, wb.worksheets[0]


@cache
def _open(path: Path):
    """The workbook and its form sheet, read-only use (opened once per file)."""
    return _fresh(path)


def _merge_of(ws, row: int, col: int):
    """The merged range holding a 1-based cell, or None."""
    for rng in ws.merged_cells.ranges:
        if rng.min_row <= row <= rng.max_row and rng.min_col <= col <= rng.max_col:
            return rng
    return None


def _shown(ws, row: int, col: int):
    """What a cell shows: a covered cell of a merge shows the merge's value."""
    rng = _merge_of(ws, row, col)
    return ws.cell(rng.min_row, rng.min_col).value if rng else ws.cell(row, col).value


def _validations(ws) -> dict[tuple[int, int], object]:
    """Every validated cell (1-based row, col) -> its DataValidation."""
    out = {}
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            for row in range(rng.min_row, rng.max_row + 1):
                for col in range(rng.min_col, rng.max_col + 1):
                    out[(row, col)] = dv
    return out


def _metadata(wb) -> dict[str, str]:
    return {row[0]: row[1] for row in wb[METADATA_SHEET].iter_rows(values_only=True)}


def _column_widths(ws) -> dict[int, float]:
    """1-based column -> width (openpyxl groups equal neighbours into one dimension)."""
    out = {}
    for dim in ws.column_dimensions.values():
        for col in range(dim.min, dim.max + 1):
            out[col] = dim.width
    return out


def _find(ws, text: str) -> tuple[int, int]:
    for row in ws.iter_rows():
        for cell in row:
            if cell.value == text:
                return cell.row, cell.column
    raise AssertionError(f"{text!r} not on the sheet")


def _right_of(ws, row: int, col: int) -> tuple[int, int]:
    """The cell just right of a (possibly merged) cell."""
    rng = _merge_of(ws, row, col)
    return row, (rng.max_col if rng else col) + 1


# ---------------------------------------------------------------- every template


def test_each_spec_gives_a_file_named_by_its_title(specs, written):
    assert {p.name for p in written.values()} == {f"{s.title}.xlsx" for s in specs.values()}


def test_every_template_reopens_with_openpyxl_and_calamine(specs, written):
    for spec_id, path in written.items():
        spec = specs[spec_id]
        wb, ws = _open(path)
        assert wb.sheetnames[:2] == [spec.title, GUIDE_SHEET]
        assert wb[METADATA_SHEET].sheet_state == "hidden"  # not veryHidden: must survive .xls/.ods
        cal = CalamineWorkbook.from_path(str(path))
        assert cal.sheet_names[:2] == [spec.title, GUIDE_SHEET]
        values = {v for row in cal.get_sheet_by_name(spec.title).to_python() for v in row if v != ""}
        assert spec.title in values
        for f in spec.table.fields if spec.table else ():
            assert f.label in values, (spec_id, f.label)


def test_metadata_names_generator_form_version_and_title(specs, written):
    for spec_id, path in written.items():
        wb, _ = _open(path)
        meta = _metadata(wb)
        assert list(meta)[:4] == ["generator", "form", "version", "title"]
        assert meta["generator"] == "zhenggai-xls"
        assert (meta["form"], meta["version"], meta["title"]) == (spec_id, str(specs[spec_id].version),
                                                                  specs[spec_id].title)
        assert "unit_code" not in meta


def test_every_input_cell_is_validated_and_every_validated_cell_is_an_input(written):
    for spec_id, path in written.items():
        _, ws = _open(path)
        dvs = _validations(ws)
        inputs = set()
        for row in ws.iter_rows():
            for cell in row:
                rng = _merge_of(ws, cell.row, cell.column)
                top_left = rng is None or (rng.min_row, rng.min_col) == (cell.row, cell.column)
                if top_left and cell.protection.locked is False:
                    inputs.add((cell.row, cell.column))
        assert inputs, spec_id
        assert inputs - set(dvs) == set(), spec_id
        tops = {(r, c) for (r, c) in dvs if _merge_of(ws, r, c) is None
                or (_merge_of(ws, r, c).min_row, _merge_of(ws, r, c).min_col) == (r, c)}
        assert tops - inputs == set(), spec_id


def test_validations_have_the_field_type_a_prompt_and_a_chinese_error(specs, written):
    for spec_id, path in written.items():
        spec = specs[spec_id]
        _, ws = _open(path)
        by_title = {}
        for dv in ws.data_validations.dataValidation:
            by_title.setdefault(dv.promptTitle, []).append(dv)
        preset = spec.table.preset_field if spec.table else None
        for f in spec.fields:
            if f.key == preset:  # every row named in advance: nothing to type
                continue
            dv = by_title[f.full_label[:32]][0]
            assert dv.type == DV_TYPE[f.type], (spec_id, f.key)
            assert dv.showInputMessage and f.label.split("（")[0] in (dv.prompt or "") + dv.promptTitle
            assert dv.showErrorMessage and dv.error and dv.errorTitle == "填写有误"
            if f.type == "deadline":
                assert dv.errorStyle == "warning"  # a clerk may still type 12月底
                assert "立行立改" in dv.formula1 and "长期坚持" in dv.formula1
            if f.type == "count":
                assert dv.operator == "greaterThanOrEqual" and dv.formula1 == "0"
            if f.type == "mark":
                assert dv.formula1 == '"1"'
            if f.type == "choice":
                assert dv.formula1 == '"' + ",".join(f.choice_values) + '"'


def test_header_lines_have_label_and_validated_input(specs, written):
    for spec_id, path in written.items():
        spec = specs[spec_id]
        _, ws = _open(path)
        dvs = _validations(ws)
        for f in spec.header:
            cell = _right_of(ws, *_find(ws, f.label + "："))
            assert dvs[cell].type == DV_TYPE[f.type], (spec_id, f.key)
            assert ws.cell(*cell).border.bottom.style == "thin"  # the line to write on


def test_page_setup_is_a4_landscape_one_page_wide_with_footer(written):
    for spec_id, path in written.items():
        wb, ws = _open(path)
        ps = ws.page_setup
        assert (ps.orientation, str(ps.paperSize)) == ("landscape", "9"), spec_id
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert ps.fitToWidth in (None, 1) and ps.fitToHeight == 0
        assert "&P" in ws.oddFooter.center.text
        assert ws.print_area
        guide = wb[GUIDE_SHEET]
        assert str(guide.page_setup.paperSize) == "9" and guide.page_setup.fitToHeight == 0


def test_table_templates_freeze_and_repeat_their_header(written):
    for spec_id in ("stats", "ledger", "orgs"):
        wb, ws = _open(written[spec_id])
        _, top, _, bottom = range_boundaries(_metadata(wb)["table_header"])
        assert int(re.sub(r"\D", "", ws.freeze_panes)) == bottom + 1, spec_id
        assert ws.print_title_rows.replace("$", "") == f"{top}:{bottom}", spec_id


def test_column_widths_fit_labels(specs, written):
    for spec_id in ("stats", "ledger", "orgs"):
        _, ws = _open(written[spec_id])
        widths = _column_widths(ws)
        for i, f in enumerate(specs[spec_id].table.fields, 1):
            width = widths[i]
            # Wide enough for two CJK characters a line (headers wrap), and the spec's width when given.
            assert width >= 5
            if f.width:
                assert abs(width - f.width) < 1


# ---------------------------------------------------------------- the 统计表 header


def test_stats_header_is_three_merged_rows_like_the_source_document(specs, written):
    wb, ws = _open(written["stats"])
    top = range_boundaries(_metadata(wb)["table_header"])[1]
    leaves = [f.label for f in specs["stats"].table.fields]
    assert len(leaves) == 24
    assert [_shown(ws, top + 2, c) for c in range(1, 25)] == leaves
    merges = {str(r) for r in ws.merged_cells.ranges}

    def ref(r0, c0, r1, c1):
        return f"{get_column_letter(c0)}{r0}:{get_column_letter(c1)}{r1}"

    assert ref(top, 1, top + 2, 1) in merges  # 党支部规范全称 over 3 rows
    assert ws.cell(top, 1).value == "党支部规范全称"
    assert ref(top, 2, top, 5) in merges and ws.cell(top, 2).value == "分类定级"
    for c, label in zip(range(2, 6), ("好", "较好", "一般", "较差")):
        assert ref(top + 1, c, top + 2, c) in merges and ws.cell(top + 1, c).value == label
    assert ref(top, 6, top, 12) in merges and ws.cell(top, 6).value == "征求意见情况"
    assert ref(top + 1, 6, top + 1, 9) in merges and ws.cell(top + 1, 6).value == "形式"
    assert ref(top + 1, 10, top + 1, 12) in merges and ws.cell(top + 1, 10).value == "对象"
    assert ws.cell(top + 2, 6).value == "座谈会"
    assert ref(top, 13, top, 18) in merges and ws.cell(top, 13).value == "问题梳理情况"
    assert ref(top, 19, top, 24) in merges and ws.cell(top, 19).value == "拟集中整改问题"
    for c in range(13, 25):
        assert ref(top + 1, c, top + 2, c) in merges
    cal = CalamineWorkbook.from_path(str(written["stats"])).get_sheet_by_name("整改方案制定情况统计表")
    assert (top - 1, 1, top - 1, 4) in [(r0, c0, r1, c1) for (r0, c0), (r1, c1) in cal.merged_cell_ranges]


def test_stats_total_row_sums_every_count_and_mark_column(specs, written):
    wb, ws = _open(written["stats"])
    meta = _metadata(wb)
    header_end = range_boundaries(meta["table_header"])[3]
    _, first, _, last = range_boundaries(meta["table_data"])
    total = header_end + 1
    assert ws.cell(total, 1).value == "合计"
    assert last - first + 1 == specs["stats"].table.blank_rows
    for c in range(2, 25):
        letter = get_column_letter(c)
        assert ws.cell(total, c).value == f"=SUM({letter}{first}:{letter}{last})"
    # python-calamine sees the cached 0, not an empty cell
    cal = CalamineWorkbook.from_path(str(written["stats"])).get_sheet_by_name("整改方案制定情况统计表")
    assert cal.to_python()[total - 1][1] == 0


def test_group_note_is_shown_in_prompts_and_under_the_table(written):
    _, ws = _open(written["stats"])
    dv = next(d for d in ws.data_validations.dataValidation if d.promptTitle == "分类定级/好")
    assert "在相应栏内标数字“1”" in dv.prompt
    notes = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str) and c.value.startswith("注：")]
    assert notes and "在相应栏内标数字“1”" in notes[0]


def test_preset_rows_are_filled_and_locked(specs, written):
    _, ws = _open(written["weekly"])
    table = specs["weekly"].table
    cells = [_find(ws, name) for name in table.rows]
    assert [r for r, _ in cells] == list(range(cells[0][0], cells[0][0] + len(table.rows)))
    assert all(ws.cell(r, c).protection.locked for r, c in cells)
    total = _find(ws, "合计")
    assert total == (cells[0][0] - 1, cells[0][1])
    assert ws.cell(total[0], _right_of(ws, *total)[1]).value.startswith("=SUM(")
    _, ws = _open(written["self_check"])
    assert _find(ws, "“三会一课”制度是否严格落实")


# ---------------------------------------------------------------- fixed-layout forms


def _body_rows(ws, wb) -> range:
    """Rows of the bordered body of a form: from the first section label to the note line."""
    first = _find(ws, _first_section(wb))[0]
    note = next(c.row for row in ws.iter_rows() for c in row if isinstance(c.value, str) and c.value.startswith("注："))
    return range(first, note)


def _first_section(wb) -> str:
    return wb.worksheets[0].cell(*_section_cell(wb.worksheets[0])).value


def _section_cell(ws) -> tuple[int, int]:
    for row in ws.iter_rows(min_col=1, max_col=1):
        cell = row[0]
        if cell.value and cell.border.left.style == "thin":
            return cell.row, 1
    raise AssertionError("no bordered section label")


def test_form_grid_is_rectangular(specs, written):
    for spec_id in ("filing", "self_check", "weekly"):
        wb, ws = _open(written[spec_id])
        last_col = ws.max_column
        for r in _body_rows(ws, wb):
            covered = set()
            for c in range(1, last_col + 1):
                rng = _merge_of(ws, r, c)
                covered.update(range(rng.min_col, rng.max_col + 1) if rng else [c])
            assert covered == set(range(1, last_col + 1)), (spec_id, r)
            right = ws.cell(r, last_col)
            assert right.border.right.style == "thin" or _merge_of(ws, r, last_col), (spec_id, r)


def test_filing_lays_out_lines_like_the_paper_form(specs, written):
    wb, ws = _open(written["filing"])
    r, c = _find(ws, "征求意见建议")
    rng = _merge_of(ws, r, c)
    assert rng.min_col == rng.max_col == 1 and rng.max_row - rng.min_row + 1 >= 3  # 形式/人数/内容
    subs = [_shown(ws, row, 2) for row in range(rng.min_row, rng.max_row + 1)]
    assert ["形式", "人数", "内容"] == list(dict.fromkeys(subs))
    dvs = _validations(ws)
    for f in specs["filing"].lines[2].fields + specs["filing"].lines[4].fields:
        assert dvs[_right_of(ws, *_find(ws, f.label))].type == "whole", f.key
    # 党支部规范全称: the section label is the field's label, its input right beside it
    branch = _right_of(ws, *_find(ws, "党支部规范全称"))
    assert dvs[branch].promptTitle == "党支部规范全称"
    # the body's table under its section label, with its own header row
    r, c = _find(ws, "集中整改问题及支部整改举措")
    head = [_shown(ws, r, col) for col in range(2, ws.max_column + 1)]
    assert list(dict.fromkeys(head)) == [f.label for f in specs["filing"].table.fields]
    assert _merge_of(ws, r, c).max_row - r == specs["filing"].table.blank_rows


def test_guide_sheet_lists_every_field_and_rule(specs, written):
    for spec_id, path in written.items():
        spec = specs[spec_id]
        wb, _ = _open(path)
        texts = [c.value for row in wb[GUIDE_SHEET].iter_rows() for c in row if c.value]
        for f in spec.fields:
            assert f.full_label in texts, (spec_id, f.key)
        for rule in spec.rules:
            assert any(isinstance(t, str) and t.startswith(rule.name) for t in texts), (spec_id, rule.name)
        if spec.description:
            assert spec.description in texts
    wb, _ = _open(written["stats"])
    texts = [c.value for row in wb[GUIDE_SHEET].iter_rows() for c in row if c.value]
    # a rule without a message is described from its parameters
    assert any("“问题梳理情况/合计”应等于" in str(t) for t in texts)


# ---------------------------------------------------------------- generic: a new spec, a long list


def _spec_with_long_choices(tmp_path: Path):
    data = yaml.safe_load((SHEETS_DIR / "ledger.yaml").read_text(encoding="utf-8"))
    data["id"], data["title"] = "towns", "乡镇名单"
    towns = [f"第{i}个乡镇街道党工委" for i in range(1, 40)]
    data["table"]["columns"].append({"key": "town", "label": "所属乡镇", "type": "choice", "choices": towns})
    return parse_spec(data, tmp_path / "towns.yaml"), towns


def test_long_choice_lists_go_to_a_hidden_sheet(tmp_path):
    spec, towns = _spec_with_long_choices(tmp_path)
    path = write_template(spec, tmp_path / "t.xlsx")
    wb, ws = _open(path)
    assert wb[LIST_SHEET].sheet_state == "hidden"
    dv = next(d for d in ws.data_validations.dataValidation if d.promptTitle == "所属乡镇")
    assert dv.type == "list" and dv.formula1.startswith(f"'{LIST_SHEET}'!")
    listed = [row[0] for row in wb[LIST_SHEET].iter_rows(values_only=True)]
    assert listed == towns
    assert _find(ws, "所属乡镇")  # a new spec is a new template, no code


def test_output_is_deterministic(specs, tmp_path):
    a = write_template(specs["stats"], tmp_path / "a.xlsx")
    b = write_template(specs["stats"], tmp_path / "b.xlsx")
    assert a.read_bytes() == b.read_bytes()


def test_file_names_are_sanitised():
    assert file_name("城关/镇:党委", "整改清单") == "城关镇党委_整改清单.xlsx"
    assert file_name("..") == "模板.xlsx"


def test_snap_keeps_every_item_and_follows_needs():
    runs = snap([4] * 10, [1, 3, 1])
    assert runs[0][0] == 0 and runs[-1][1] == 9
    assert all(b >= a for a, b in runs)
    assert runs[1][1] - runs[1][0] > runs[0][1] - runs[0][0]
    assert text_width("座谈会（次）") == 12


# ---------------------------------------------------------------- the reader finds what the template asks


def test_a_filled_template_is_located_at_the_cells_it_was_typed_in(specs, written, tmp_path):
    wb, ws = _fresh(written["filing"])
    unit = _right_of(ws, *_find(ws, "填报单位（盖章）："))
    meeting = _right_of(ws, *_find(ws, "座谈会（次）"))
    ws.cell(*unit).value = "城关镇第一党支部"
    ws.cell(*meeting).value = 3
    _, first, _, _ = range_boundaries(_metadata(wb)["table_data"])
    problem_col = next(c for c in range(1, ws.max_column + 1) if _shown(ws, first - 1, c) == "集中整改问题")
    ws.cell(first, problem_col).value = "三会一课不规范"
    filled = tmp_path / "filled.xlsx"
    wb.save(filled)
    extracts = locate(read_workbook(filled), specs)
    assert [e.form for e in extracts] == ["filing"]
    e = extracts[0]
    assert e.metadata["form"] == "filing"
    assert (e.fields["reporting_unit"].value, e.fields["reporting_unit"].cell) == (
        "城关镇第一党支部", f"{get_column_letter(unit[1])}{unit[0]}")
    assert e.fields["opinion_meeting"].value == 3
    assert e.rows[0]["problem"].value == "三会一课不规范"


# ---------------------------------------------------------------- per unit


def _tree() -> OrgTree:
    return OrgTree([
        Org("D", "某某区委", level="区", parent=None),
        Org("W1", "城关镇党委", level="党(工)委", parent="D"),
        Org("B1", "城关镇第一党支部", parent="W1"),
        Org("B2", "城关镇机关/党支部", parent="W1"),
        Org("W2", "李渡街道党工委", level="党(工)委", parent="D"),
        Org("B3", "李渡街道社区党支部", parent="W2"),
    ])


def test_per_unit_templates_fill_and_lock_the_unit(specs, tmp_path):
    paths = write_templates([specs["filing"], specs["stats"], specs["orgs"]], tmp_path, orgs=_tree(), per_unit=True)
    rel = sorted(str(p.relative_to(tmp_path)) for p in paths)
    assert rel == sorted([
        "整改方案备案表.xlsx", "整改方案制定情况统计表.xlsx", "组织架构.xlsx",
        "整改方案备案表/城关镇第一党支部_整改方案备案表.xlsx",
        "整改方案备案表/城关镇机关党支部_整改方案备案表.xlsx",
        "整改方案备案表/李渡街道社区党支部_整改方案备案表.xlsx",
        "整改方案制定情况统计表/城关镇党委_整改方案制定情况统计表.xlsx",
        "整改方案制定情况统计表/李渡街道党工委_整改方案制定情况统计表.xlsx",
    ])
    wb, ws = _open(tmp_path / "整改方案备案表" / "城关镇第一党支部_整改方案备案表.xlsx")
    assert ws.protection.sheet and not ws.protection.password
    meta = _metadata(wb)
    assert (meta["unit_code"], meta["unit_name"]) == ("B1", "城关镇第一党支部")
    unit = _right_of(ws, *_find(ws, "填报单位（盖章）："))
    branch = _right_of(ws, *_find(ws, "党支部规范全称"))
    for cell in (unit, branch):
        assert ws.cell(*cell).value == "城关镇第一党支部" and ws.cell(*cell).protection.locked
    date = _right_of(ws, *_find(ws, "填报日期："))
    assert ws.cell(*date).protection.locked is False

    wb, ws = _open(tmp_path / "整改方案制定情况统计表" / "城关镇党委_整改方案制定情况统计表.xlsx")
    assert ws.cell(*_right_of(ws, *_find(ws, "填报单位（盖章）："))).value == "城关镇党委"
    r, c = _find(ws, "城关镇第一党支部")
    assert ws.cell(r + 1, c).value == "城关镇机关/党支部" and ws.cell(r, c).protection.locked
    assert ws.cell(r, c + 1).protection.locked is False
    assert "李渡街道社区党支部" not in [x.value for row in ws.iter_rows() for x in row]


def test_per_unit_needs_an_org_tree(specs, tmp_path):
    with pytest.raises(Exception, match="组织架构"):
        write_templates([specs["filing"]], tmp_path, per_unit=True)


# ---------------------------------------------------------------- the command and the committed files


def test_cli_writes_templates_by_id_title_and_all(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["template", "stats", "整改台账", "-o", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["整改方案制定情况统计表.xlsx", "整改清单.xlsx"]
    result = runner.invoke(main, ["template", "orgs", "-o", str(tmp_path / "b")])
    assert [p.name for p in (tmp_path / "b").iterdir()] == ["组织架构.xlsx"]
    result = runner.invoke(main, ["template", "--all", "-o", str(tmp_path / "c")])
    assert result.exit_code == 0 and len(list((tmp_path / "c").iterdir())) == 6


def test_cli_says_what_is_wrong_without_a_traceback(tmp_path):
    runner = CliRunner()
    for args, words in ((["周报告"], "是否应为"), ([], "--all"), (["stats", "--per-unit"], "--orgs")):
        result = runner.invoke(main, ["template", *args, "-o", str(tmp_path)])
        assert result.exit_code == 2 and words in result.output, result.output
        assert "Traceback" not in result.output


def test_cli_per_unit_from_a_filled_org_template(tmp_path):
    """The org-tree template, filled in by a clerk, drives per-unit templates."""
    runner = CliRunner()
    runner.invoke(main, ["template", "orgs", "-o", str(tmp_path)])
    wb, ws = _fresh(tmp_path / "组织架构.xlsx")
    _, first, _, _ = range_boundaries(_metadata(wb)["table_data"])
    rows = [("D", "某某区委", "", "", "区"), ("W1", "城关镇党委", "", "D", "党(工)委"),
            ("B1", "城关镇第一党支部", "一支部", "W1", "党支部")]
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            ws.cell(first + i, j + 1).value = value or None
    orgs_file = tmp_path / "orgs.xlsx"
    wb.save(orgs_file)
    assert len(load_orgs(orgs_file)) == 3
    result = runner.invoke(main, ["template", "weekly", "--orgs", str(orgs_file), "--per-unit", "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "整改周报表" / "城关镇第一党支部_整改周报表.xlsx").is_file()


def _signature(path: Path) -> dict:
    """What a template shows and checks: values, merges, validations of every sheet."""
    wb = openpyxl.load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        out[ws.title] = (
            ws.sheet_state,
            {c.coordinate: c.value for row in ws.iter_rows() for c in row if c.value is not None},
            sorted(str(r) for r in ws.merged_cells.ranges),
            sorted((str(d.sqref), d.type, d.formula1, d.formula2, d.prompt, d.error, d.errorStyle)
                   for d in ws.data_validations.dataValidation),
            _column_widths(ws),
        )
    return out


def test_committed_templates_are_current(specs, written):
    """templates_xlsx/ must be regenerated (zhenggai template --all -o templates_xlsx) after a spec change."""
    committed = sorted(p.name for p in COMMITTED.glob("*.xlsx"))
    assert committed == sorted(p.name for p in written.values()), "运行 zhenggai template --all -o templates_xlsx"
    for path in written.values():
        assert _signature(COMMITTED / path.name) == _signature(path), \
            f"templates_xlsx/{path.name} 已过期：运行 zhenggai template --all -o templates_xlsx"
