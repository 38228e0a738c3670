"""The form specs load, describe the source documents' layouts, and bad specs say where."""
from pathlib import Path

import pytest
import yaml

from zhenggai_xls.errors import SpecError
from zhenggai_xls.spec import SHEETS_DIR, find_spec, load_spec, load_specs


def test_all_six_specs_load():
    assert set(load_specs()) == {"stats", "filing", "self_check", "weekly", "ledger", "orgs"}


def test_stats_has_24_columns_under_three_header_rows():
    table = find_spec("stats").table
    assert len(table.fields) == 24
    assert table.header_depth == 3
    labels = [f.full_label for f in table.fields]
    assert labels[0] == "党支部规范全称"
    assert "征求意见情况/形式/座谈会" in labels
    assert "征求意见情况/对象/两代表一委员" in labels
    assert labels[-6:] == ["拟集中整改问题/" + x for x in ("合计", "领导班子", "党员队伍", "工作机制", "工作业绩", "群众反映")]


def test_forms_found_by_chinese_title_and_alias():
    assert find_spec("整改方案备案表").id == "filing"
    assert find_spec("整改台账").id == "ledger"
    with pytest.raises(SpecError, match="是否应为"):
        find_spec("周报告")


def _broken(tmp_path: Path, edit) -> SpecError:
    data = yaml.safe_load((SHEETS_DIR / "ledger.yaml").read_text(encoding="utf-8"))
    edit(data)
    path = tmp_path / "ledger.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    return info.value


def test_unknown_key_names_file_and_key_path_with_hint(tmp_path):
    err = _broken(tmp_path, lambda d: d["table"]["columns"][2].update(requird=True))
    assert any(p.startswith("ledger.yaml: table.columns[2].requird") and "required" in p for p in err.problems)


def test_bad_type_is_named_with_hint(tmp_path):
    err = _broken(tmp_path, lambda d: d["table"]["columns"][0].update(type="cont"))
    assert any("table.columns[0].type" in p and "“count”" in p for p in err.problems)


def test_duplicate_label_and_unknown_rule_field_all_reported(tmp_path):
    def edit(d):
        d["table"]["columns"][1]["label"] = "问题描述"
        d["rules"][0]["then"][0]["field"] = "measures"
    err = _broken(tmp_path, edit)
    assert any("label '问题描述'" in p and "重复" in p for p in err.problems)
    assert any("rules[0].then[0]" in p and "“measure”" in p for p in err.problems)
    assert len(err.problems) >= 2
