"""The org tree: reading a clerk's orgs.xlsx / orgs.csv, checking it, walking it, matching names."""
from __future__ import annotations

import csv
import subprocess

import pytest
import xlsxwriter

from conftest import aborting_xls, aborts_calamine
from zhenggai_xls.errors import ConfigError
from zhenggai_xls.orgs import Org, OrgTree, load_orgs, name_key

HEADER = ["组织代码", "组织名称", "简称/别名", "上级组织代码", "层级", "类型", "督导组", "联系人", "联系电话", "邮箱"]

# code, name, aliases, parent, level, type, group, contact, phone, email
TREE = [
    ["001", "中共重庆市涪陵区委员会", "涪陵区委", "", "区", "机关", "", "王明", "023-72221234", "qw@example.org"],
    ["00101", "中共重庆市涪陵区李渡新区工作委员会", "李渡新区党工委、李渡党工委", "001", "党工委", "两新", "第一督导组",
     "李华", "023-72851111", "ldxq@example.org"],
    ["0010101", "李渡新区管委会机关党支部", "管委会机关支部", "00101", "支部", "机关", "第一督导组", "赵一", "13800000001",
     "ldjg@example.org"],
    ["0010102", "李渡工业园区非公企业联合党支部", "", "00101", "党支部", "两新", "第一督导组", "钱二", "13800000002",
     "ldfg@example.org"],
    ["00102", "中共重庆市涪陵区百胜镇委员会", "百胜镇党委", "001", "党委", "农村", "第三督导组", "孙三",
     "023-72661111", "bs@example.org"],
    ["0010201", "百胜镇紫竹村党支部", "紫竹村支部", "00102", "党支部", "农村", "第三督导组", "周四", "13800000004",
     "zz@example.org"],
    ["0010202", "百胜镇八角村党总支部", "", "00102", "党(工)委", "农村", "第三督导组", "吴五", "13800000005",
     "BJ@Example.org"],
    ["001020201", "百胜镇八角村第一党支部", "", "0010202", "党支部", "农村", "第三督导组", "郑六", "13800000006",
     "bj@example.org"],
]


def write_xlsx(path, rows, header=HEADER, above=(), sheet="组织架构", numeric_codes=False):
    """A workbook as a clerk keeps it: optional title/note lines above the header."""
    book = xlsxwriter.Workbook(path)
    book.add_worksheet("说明").write(0, 0, "本工作簿第二张表是组织架构")
    ws = book.add_worksheet(sheet)
    r = 0
    for line in above:
        ws.write_string(r, 0, line)
        r += 1
    for c, label in enumerate(header):
        ws.write_string(r, c, label)
    for row in rows:
        r += 1
        for c, value in enumerate(row):
            if numeric_codes and c in (0, 3) and value:
                ws.write_number(r, c, float(value))
            elif value != "":
                ws.write_string(r, c, value)
    book.close()
    return path


def write_csv(path, rows, encoding):
    with open(path, "w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def tree_from(tmp_path, rows):
    return load_orgs(write_xlsx(tmp_path / "orgs.xlsx", rows))


def problems_of(tmp_path, rows) -> list[str]:
    with pytest.raises(ConfigError) as info:
        tree_from(tmp_path, rows)
    return info.value.problems


@pytest.fixture
def tree(tmp_path):
    return tree_from(tmp_path, TREE)


# ---------------------------------------------------------------- reading


def test_reads_header_below_title_lines_on_any_sheet(tmp_path):
    path = write_xlsx(tmp_path / "orgs.xlsx", TREE + [["注：层级填 区、党(工)委 或 党支部"]],
                      above=["涪陵区组织架构", "（2012年6月）"])
    tree = load_orgs(path)
    assert len(tree) == 8
    assert tree.root.code == "001"
    ld = tree.get("00101")
    assert ld.aliases == ("李渡新区党工委", "李渡党工委")
    assert ld.level == "党(工)委"  # 党工委 is a synonym of the level
    assert ld.row == 5  # two title lines, the header, then the root
    assert tree.get("0010101").level == "党支部"  # 支部
    assert tree.get("0010202").level == "党(工)委"
    assert ld.group == "第一督导组" and ld.type == "两新" and ld.phone == "023-72851111"


def test_codes_stay_text_and_numeric_codes_lose_the_float(tmp_path):
    rows = [["1", "涪陵区委", "", "", "区"], ["2", "李渡新区党工委", "", "1", "党(工)委"],
            ["3", "李渡新区机关党支部", "", "2", "党支部"]]
    tree = load_orgs(write_xlsx(tmp_path / "n.xlsx", rows, header=HEADER[:5], numeric_codes=True))
    assert [o.code for o in tree] == ["1", "2", "3"]
    assert tree.get("3").parent == "2"
    text_tree = load_orgs(write_xlsx(tmp_path / "t.xlsx", TREE))
    assert text_tree.get("001").code == "001" and text_tree.get("00101").parent == "001"


def test_header_synonyms_and_notes_in_brackets(tmp_path):
    header = ["编码", "组织名称（规范全称）", "别名", "上级代码", "层级（必填）", "单位类型", "所属督导组", "联系人", "手机",
              "电子邮箱"]
    tree = load_orgs(write_xlsx(tmp_path / "orgs.xlsx", TREE, header=header))
    assert tree.get("0010201").email == "zz@example.org"
    assert tree.get("0010201").phone == "13800000004"
    assert tree.get("00101").type == "两新"


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig", "utf-8"])
def test_csv_in_gbk_and_utf8(tmp_path, encoding):
    tree = load_orgs(write_csv(tmp_path / "orgs.csv", TREE, encoding))
    assert tree.get("0010201").name == "百胜镇紫竹村党支部"
    assert tree.get("0010201").row == 7
    assert tree.root.code == "001"


def test_missing_required_column_is_named(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_orgs(write_xlsx(tmp_path / "orgs.xlsx", [r[:4] for r in TREE], header=HEADER[:4]))
    assert "层级" in str(info.value) and "第1行" in str(info.value)


def test_no_header_anywhere(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_orgs(write_xlsx(tmp_path / "orgs.xlsx", TREE, header=["甲", "乙", "丙"]))
    assert "没有找到组织架构的表头" in str(info.value)


def test_missing_and_unsupported_files(tmp_path):
    with pytest.raises(ConfigError, match="找不到组织架构文件"):
        load_orgs(tmp_path / "nope.xlsx")
    (tmp_path / "orgs.docx").write_bytes(b"x")
    with pytest.raises(ConfigError, match=".xlsx 或 .csv"):
        load_orgs(tmp_path / "orgs.docx")
    (tmp_path / "broken.xlsx").write_bytes(b"not a zip at all")
    with pytest.raises(ConfigError, match="无法打开"):
        load_orgs(tmp_path / "broken.xlsx")


def test_orgs_xls_is_read_and_a_damaged_one_that_aborts_calamine_is_refused(tmp_path):
    """An .xls org tree saved by LibreOffice reads like the .xlsx; one damaged so that calamine aborts
    the process is refused with a message (it is read in a child process)."""
    xlsx = write_xlsx(tmp_path / "orgs.xlsx", TREE)
    subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path}/lo", "--headless", "--convert-to", "xls",
                    "--outdir", str(tmp_path), str(xlsx)], check=True, capture_output=True, timeout=180)
    xls = tmp_path / "orgs.xls"
    assert [(o.code, o.name, o.parent) for o in load_orgs(xls)] == [(o.code, o.name, o.parent) for o in load_orgs(xlsx)]
    damaged = tmp_path / "damaged.xls"
    damaged.write_bytes(aborting_xls(xls))
    assert aborts_calamine(damaged)
    with pytest.raises(ConfigError, match="damaged.xls：无法打开组织架构文件（内容无法解析）"):
        load_orgs(damaged)


# ---------------------------------------------------------------- checks


def edit(rows, index, column, value):
    rows = [list(r) for r in rows]
    rows[index][HEADER.index(column)] = value
    return rows


def test_unknown_parent_names_the_row_and_a_close_code(tmp_path):
    problems = problems_of(tmp_path, edit(TREE, 5, "上级组织代码", "00103"))
    assert len(problems) == 1
    assert "第7行" in problems[0] and "“00103”" in problems[0] and "找不到" in problems[0]
    assert "00102" in problems[0]  # did you mean


def test_cycle_names_every_row_in_it(tmp_path):
    rows = edit(edit(TREE, 6, "上级组织代码", "001020201"), 2, "上级组织代码", "0010101")
    problems = problems_of(tmp_path, rows)
    cycle = [p for p in problems if "循环" in p]
    assert len(cycle) == 1
    assert "第8行、第9行" in cycle[0]  # 八角村党总支 <-> its own branch
    assert "百胜镇八角村党总支部 → 百胜镇八角村第一党支部 → 百胜镇八角村党总支部" in cycle[0]
    assert any("第4行" in p and "它自己" in p for p in problems)  # a self loop, said plainly


def test_duplicate_code_and_duplicate_name(tmp_path):
    rows = TREE + [["0010201", "百胜镇新村党支部", "", "00102", "党支部"], ["0010299", "百胜镇紫竹村党支部", "", "00102", "党支部"]]
    problems = problems_of(tmp_path, rows)
    assert any("第10行" in p and "代码“0010201”" in p and "第7行" in p and "重复" in p for p in problems)
    assert any("第11行" in p and "名称" in p and "第7行" in p and "重复" in p for p in problems)


def test_no_root(tmp_path):
    problems = problems_of(tmp_path, edit(TREE, 0, "上级组织代码", "00101"))
    assert any("没有最上级组织" in p for p in problems)
    assert any("循环" in p and "第2行" in p for p in problems)


def test_several_roots(tmp_path):
    problems = problems_of(tmp_path, edit(TREE, 4, "上级组织代码", ""))
    assert len(problems) == 1
    assert "2 个最上级组织" in problems[0] and "第2行" in problems[0] and "第6行" in problems[0]


def test_branch_without_a_committee(tmp_path):
    rows = [["001", "李渡新区管委会机关党支部", "", "", "党支部"]]
    problems = problems_of(tmp_path, rows)
    assert len(problems) == 1 and "第2行" in problems[0] and "党支部没有上级党组织" in problems[0]


def test_level_that_does_not_fit(tmp_path):
    rows = TREE + [["9", "某区", "", "0010201", "区"], ["10", "紫竹村一组党支部", "", "0010201", "党支部"]]
    problems = problems_of(tmp_path, rows)
    assert any("第10行" in p and "“区”不能放在" in p for p in problems)
    assert any("第11行" in p and "党支部下不能再设下级组织" in p for p in problems)


def test_bad_cells_in_rows(tmp_path):
    rows = edit(edit(edit(TREE, 2, "层级", "小组"), 3, "组织名称", ""), 5, "邮箱", "zz.example.org")
    problems = problems_of(tmp_path, rows)
    assert any("第4行" in p and "层级“小组”" in p for p in problems)
    assert any("第5行" in p and "组织名称为空" in p for p in problems)
    assert any("第7行" in p and "邮箱" in p for p in problems)


def test_every_bad_row_is_listed_at_once(tmp_path):
    rows = edit(edit(edit(TREE, 5, "上级组织代码", "404"), 3, "组织代码", "0010101"), 7, "层级", "")
    problems = problems_of(tmp_path, rows)
    assert len(problems) == 3
    assert {"第7行", "第5行", "第9行"} == {row for p in problems for row in ("第7行", "第5行", "第9行") if row in p}


def test_empty_tree(tmp_path):
    problems = problems_of(tmp_path, [])
    assert "没有任何组织" in problems[0]


# ---------------------------------------------------------------- walking


def test_walking_in_tree_order(tree):
    assert tree.root.name == "中共重庆市涪陵区委员会"
    assert [o.code for o in tree.children("001")] == ["00101", "00102"]
    assert [o.code for o in tree.descendants("001")] == [
        "00101", "0010101", "0010102", "00102", "0010201", "0010202", "001020201"]
    assert [o.code for o in tree.branches_under("00102")] == ["0010201", "001020201"]
    assert [o.code for o in tree.branches_under("0010201")] == ["0010201"]
    assert [o.code for o in tree.ancestors("001020201")] == ["0010202", "00102", "001"]
    assert tree.level_of("0010202") == "党(工)委"
    assert [o.code for o in tree.at_level("党(工)委")] == ["00101", "00102", "0010202"]
    with pytest.raises(KeyError):
        tree.get("404")


def test_tree_built_in_code_without_a_file():
    tree = OrgTree([Org("1", "涪陵区委", level="区"), Org("2", "李渡新区党工委", parent="1", level="党(工)委"),
                    Org("3", "李渡新区机关党支部", parent="2")])
    assert [o.code for o in tree.branches_under("1")] == ["3"]
    with pytest.raises(ConfigError) as info:
        OrgTree([Org("1", "涪陵区委", level="区"), Org("2", "x", parent="9")])
    assert "组织代码“2”" in str(info.value)


# ---------------------------------------------------------------- matching


@pytest.mark.parametrize("typed, code, basis", [
    ("百胜镇紫竹村党支部", "0010201", "name"),
    (" 百胜镇紫竹村党支部 ", "0010201", "name"),
    ("紫竹村支部", "0010201", "alias"),
    ("李渡党工委", "00101", "alias"),
    ("百胜镇 紫竹村 党支部", "0010201", "fuzzy"),                     # spaces
    ("百胜镇紫竹村党支部（盖章）", "0010201", "fuzzy"),               # trailing seal
    ("百胜镇紫竹村党支部(盖 章)", "0010201", "fuzzy"),
    ("中共百胜镇紫竹村支部委员会", "0010201", "fuzzy"),               # 支部委员会 vs 党支部
    ("中国共产党百胜镇紫竹村支部委员会", "0010201", "fuzzy"),
    ("紫竹村党支部", "0010201", "fuzzy"),                             # district/town left out
    ("李渡新区党（工）委", "00101", "fuzzy"),                          # full-width brackets, 党(工)委
    ("李渡新区党工委（盖章）", "00101", "fuzzy"),
    ("百胜镇紫竹村党支部（公章）", "0010201", "fuzzy"),
    ("中共重庆市涪陵区李渡新区工作委员会", "00101", "name"),
    ("中共涪陵区李渡新区工作委员会", "00101", "fuzzy"),                # 中共…委员会, shorter prefix
    ("百胜镇党委", "00102", "alias"),
    ("中共百胜镇委员会", "00102", "fuzzy"),                            # 中共…委员会 vs …党委
    ("重庆市涪陵区百胜镇党委", "00102", "fuzzy"),
    ("百胜镇八角村党总支", "0010202", "fuzzy"),                        # 党总支部 vs 党总支
    ("中共百胜镇八角村总支部委员会", "0010202", "fuzzy"),
    ("ＬＩ渡", None, None),
    ("", None, None),
    ("区卫生局机关党支部", None, None),
])
def test_match_variations(tree, typed, code, basis):
    found = tree.match(typed)
    if code is None:
        assert found is None
    else:
        assert found is not None and (found[0].code, found[1]) == (code, basis)


def test_ambiguous_names_match_nothing():
    tree = OrgTree([
        Org("1", "涪陵区委", level="区"),
        Org("2", "百胜镇党委", parent="1", level="党(工)委"), Org("3", "焦石镇党委", parent="1", level="党(工)委"),
        Org("21", "百胜镇机关党支部", ("机关支部",), parent="2"),
        Org("31", "焦石镇机关党支部", ("机关支部",), parent="3"),
    ])
    assert tree.match("机关支部") is None  # alias shared by two
    assert tree.match("机关党支部") is None  # suffix of both
    assert tree.match("焦石镇机关支部")[0].code == "31"


def test_closest_gives_a_hint(tree):
    assert tree.match("百胜镇紫竹党支部") is None
    assert tree.closest("百胜镇紫竹党支部") == "百胜镇紫竹村党支部"
    assert tree.closest("") is None


def test_by_email(tree):
    assert tree.by_email("zz@example.org").code == "0010201"
    assert tree.by_email("周四 <ZZ@Example.ORG>").code == "0010201"
    assert tree.by_email("bj@example.org") is None  # shared by the 总支 and its branch
    assert [o.code for o in tree.orgs_by_email("bj@example.org")] == ["0010202", "001020201"]
    assert tree.by_email("nobody@example.org") is None


def test_name_key_reduces_official_and_short_forms_alike():
    assert name_key("中共百胜镇紫竹村支部委员会") == name_key("百胜镇紫竹村党支部")
    assert name_key("李渡新区党(工)委") == name_key("李渡新区党工委") == name_key("李渡新区工作委员会")
    assert name_key("八角村党总支部") == name_key("八角村党总支")
