"""The org tree (组织架构): load, check, walk, and match unit names against it.

`load_orgs` reads the clerk's orgs.xlsx / orgs.csv (header row found by the
labels of sheets/orgs.yaml, wherever it sits); `OrgTree` checks the whole tree
at once and raises `ConfigError` naming every bad row; `OrgTree.match` maps the
name a unit typed on its form to the org it means.
"""
from __future__ import annotations

import csv
import difflib
import io
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Iterable, Iterator

from .errors import ConfigError
from .excel import METADATA_SHEET
from .normalize import clean_text, normalize_label
from .spec import Field, did_you_mean, load_specs

LEVELS = ("区", "党(工)委", "党支部")  # top to bottom
REGION, COMMITTEE, BRANCH = LEVELS
CSV_SUFFIXES = (".csv", ".txt")
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
HEADER_SCAN_ROWS = 30  # a header lower than this is not a header a clerk keeps

_EMAIL = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+")


@dataclass(frozen=True)
class Org:
    """One party organisation of the tree."""

    code: str
    name: str  # 规范全称
    aliases: tuple[str, ...] = ()
    parent: str | None = None  # parent's code; None for the root
    level: str = "党支部"  # one of LEVELS
    type: str = ""
    group: str = ""  # 督导组
    contact: str = ""
    phone: str = ""
    email: str = ""
    row: int | None = None  # 1-based row in the org-tree file


# ---------------------------------------------------------------- name matching

_SEAL = re.compile(r"\(?(盖章|公章|印章|章)\)?$")
_BRACKETS = re.compile(r"[()\[\]【】〔〕<>《》{}]")
_PARTY_PREFIX = re.compile(r"^(中国共产党|中共)")
# Official long forms and their everyday short forms, longest first (applied in order).
_SHORT_FORMS = (
    ("总支部委员会", "总支"), ("支部委员会", "支部"), ("党总支部", "总支"), ("总支部", "总支"),
    ("党总支", "总支"), ("党支部", "支部"), ("工作委员会", "工委"), ("委员会", "委"),
    ("党工委", "工委"), ("党委", "委"),
)
_MIN_SUFFIX_KEY = 4  # shorter keys ("支部") would match half the tree
_HINT_CANDIDATES = 30


def name_key(name: object) -> str:
    """A unit name reduced to what stays the same however a clerk writes it."""
    text = normalize_label(name)  # NFKC: full-width brackets and spaces become plain
    text = _SEAL.sub("", text)
    text = _BRACKETS.sub("", text)  # 党(工)委 -> 党工委
    text = _PARTY_PREFIX.sub("", text)
    for long_form, short_form in _SHORT_FORMS:
        text = text.replace(long_form, short_form)
    return text


def _bigrams(key: str) -> set[str]:
    return {key[i:i + 2] for i in range(len(key) - 1)} or {key}


def _unique(orgs: Iterable[Org]) -> tuple[Org | None, bool]:
    """(the one org, False), (None, True) when several, (None, False) when none."""
    found = {o.code: o for o in orgs}
    if len(found) == 1:
        return next(iter(found.values())), False
    return None, len(found) > 1


def email_key(address: str) -> str:
    """An e-mail address as compared: bare address, lower case ('张三 <A@x.org>' -> 'a@x.org')."""
    text = address.strip()
    if "<" in text and ">" in text:
        text = text[text.index("<") + 1:text.rindex(">")]
    text = text.strip().lower()
    return text[len("mailto:"):] if text.startswith("mailto:") else text


# ---------------------------------------------------------------- the tree


class OrgTree:
    """The checked tree; raises ConfigError listing every bad row when built."""

    def __init__(self, orgs: list[Org], source: str = ""):
        self.source = source
        problems = _check(orgs, source)
        if problems:
            raise ConfigError(problems)
        self._orgs = {o.code: o for o in orgs}
        self._children: dict[str, list[Org]] = {o.code: [] for o in orgs}
        for org in orgs:
            if org.parent is not None:
                self._children[org.parent].append(org)
        self._root = next(o for o in orgs if o.parent is None)
        self._order = [self._root, *self._walk(self._root.code)]
        self._build_indexes()

    def _walk(self, code: str) -> Iterator[Org]:
        stack = list(reversed(self._children[code]))
        while stack:
            org = stack.pop()
            yield org
            stack.extend(reversed(self._children[org.code]))

    def _build_indexes(self) -> None:
        self._by_name: dict[str, list[Org]] = {}
        self._by_alias: dict[str, list[Org]] = {}
        self._by_key: dict[str, list[Org]] = {}
        self._by_email: dict[str, list[Org]] = {}
        for org in self._order:
            self._by_name.setdefault(org.name.strip(), []).append(org)
            for alias in org.aliases:
                self._by_alias.setdefault(alias.strip(), []).append(org)
            for text in (org.name, *org.aliases):
                self._by_key.setdefault(name_key(text), []).append(org)
            if org.email:
                self._by_email.setdefault(email_key(org.email), []).append(org)
        # Every tail of every reduced name, so "name left out its town" is one dict lookup.
        self._by_tail: dict[str, set[str]] = {}
        self._by_bigram: dict[str, set[str]] = {}
        for key in self._by_key:
            for i in range(len(key) - _MIN_SUFFIX_KEY + 1):
                self._by_tail.setdefault(key[i:], set()).add(key)
            for gram in _bigrams(key):
                self._by_bigram.setdefault(gram, set()).add(key)

    # -- walking

    @property
    def root(self) -> Org:
        """The top org (区, or the 党(工)委 running the campaign)."""
        return self._root

    def __iter__(self) -> Iterator[Org]:
        """Every org in tree order (parents before children, siblings in file order)."""
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, code: object) -> bool:
        return code in self._orgs

    def get(self, code: str) -> Org:
        """The org with this code; KeyError when there is none."""
        return self._orgs[code]

    def level_of(self, code: str) -> str:
        """The level (区 / 党(工)委 / 党支部) of the org with this code."""
        return self._orgs[code].level

    def children(self, code: str) -> list[Org]:
        """The orgs directly under `code`, in file order."""
        return list(self._children[code])

    def descendants(self, code: str) -> list[Org]:
        """Every org below `code` (not itself), in tree order (parents before children)."""
        self._orgs[code]  # KeyError for an unknown code, like get()
        return list(self._walk(code))

    def branches_under(self, code: str) -> list[Org]:
        """Every 党支部 at or below `code`, in tree order."""
        return [o for o in (self._orgs[code], *self._walk(code)) if o.level == BRANCH]

    def ancestors(self, code: str) -> list[Org]:
        """The orgs above `code`, nearest first, ending with the root."""
        out = []
        org = self._orgs[code]
        while org.parent is not None:
            org = self._orgs[org.parent]
            out.append(org)
        return out

    def at_level(self, level: str) -> list[Org]:
        """Every org of one level, in tree order."""
        return [o for o in self._order if o.level == level]

    # -- matching

    def match(self, name: str) -> tuple[Org, str] | None:
        """The org a typed name means, and the basis: 'name', 'alias' or 'fuzzy'."""
        text = str(name or "").strip()
        if not text:
            return None
        for basis, candidates in (("name", self._by_name.get(text, ())),
                                  ("alias", self._by_alias.get(text, ()))):
            org, ambiguous = _unique(candidates)
            if org:
                return org, basis
            if ambiguous:
                return None
        org, _ = _unique(self._fuzzy_candidates(name_key(text)))
        return (org, "fuzzy") if org else None

    def _fuzzy_candidates(self, key: str) -> list[Org]:
        """Orgs whose reduced name equals `key`, else whose reduced name ends with it or it with them."""
        if not key:
            return []
        if key in self._by_key:
            return self._by_key[key]
        if len(key) < _MIN_SUFFIX_KEY:
            return []
        # A clerk leaves out (or adds) the district/town in front: 紫竹村党支部 for 百胜镇紫竹村党支部.
        keys = set(self._by_tail.get(key, ()))
        keys.update(key[i:] for i in range(1, len(key) - _MIN_SUFFIX_KEY + 1) if key[i:] in self._by_key)
        return [o for k in keys for o in self._by_key[k]]

    def closest(self, name: str) -> str | None:
        """The full name of the org a mistyped name most likely means, for a "did you mean" hint."""
        key = name_key(name)
        if not key:
            return None
        # Compare only with the names sharing most character pairs: difflib over all is slow.
        shared: dict[str, int] = {}
        for gram in _bigrams(key):
            for k in self._by_bigram.get(gram, ()):
                shared[k] = shared.get(k, 0) + 1
        nearest = sorted(shared, key=lambda k: (-shared[k], k))[:_HINT_CANDIDATES]
        best = difflib.get_close_matches(key, nearest, n=1, cutoff=0.5)
        return self._by_key[best[0]][0].name if best else None

    def by_email(self, address: str) -> Org | None:
        """The one org whose 邮箱 is `address`; None when none or several share it."""
        org, _ = _unique(self._by_email.get(email_key(address), ()))
        return org

    def orgs_by_email(self, address: str) -> list[Org]:
        """Every org whose 邮箱 is `address` (one contact may keep several units)."""
        return list(self._by_email.get(email_key(address), ()))


# ---------------------------------------------------------------- checks


def _where(org: Org, source: str) -> str:
    """'orgs.xlsx 第7行（紫竹村党支部）' — where a clerk finds the bad row."""
    place = f"第{org.row}行" if org.row else f"组织代码“{org.code}”"
    name = f"（{org.name}）" if org.name else ""
    return f"{source + ' ' if source else ''}{place}{name}"


def _rows(orgs: Iterable[Org]) -> str:
    return "、".join(f"第{o.row}行" if o.row else f"“{o.code}”" for o in orgs)


def _check(orgs: list[Org], source: str) -> list[str]:
    """Every problem of the tree, one message per bad row (or group of rows)."""
    problems: list[str] = []
    if not orgs:
        return [f"{source + '：' if source else ''}组织架构中没有任何组织，请每个党组织填一行。"]
    problems += _check_rows(orgs, source)
    by_code = _check_duplicates(orgs, source, problems)
    problems += _check_parents(orgs, by_code, source)
    problems += _check_cycles(by_code, source)
    problems += _check_roots(orgs, by_code, source)
    problems += _check_levels(orgs, by_code, source)
    return problems


def _check_rows(orgs: list[Org], source: str) -> list[str]:
    out = []
    for org in orgs:
        where = _where(org, source)
        if not org.code:
            out.append(f"{where}：组织代码为空，请填写组织代码。")
        if not org.name:
            out.append(f"{where}：组织名称为空，请填写规范全称。")
        if not org.level:
            out.append(f"{where}：层级为空，请填写 {'、'.join(LEVELS)} 之一。")
        elif org.level not in LEVELS:
            out.append(f"{where}：层级“{org.level}”无法识别，请填写 {'、'.join(LEVELS)} 之一"
                       f"{did_you_mean(org.level, LEVELS) or '。'}")
        if org.email and not _EMAIL.fullmatch(org.email.strip()):
            out.append(f"{where}：邮箱“{org.email}”不是有效的电子邮箱（如 name@example.org）。")
    return out


def _check_duplicates(orgs: list[Org], source: str, problems: list[str]) -> dict[str, Org]:
    """Report repeated codes and names; return the first org of each code."""
    by_code: dict[str, Org] = {}
    by_name: dict[str, Org] = {}
    for org in orgs:
        if org.code in by_code:
            first = by_code[org.code]
            problems.append(f"{_where(org, source)}：组织代码“{org.code}”与{_rows([first])}（{first.name}）重复，"
                            "每个组织的代码应唯一。")
        elif org.code:
            by_code[org.code] = org
        name = org.name.strip()
        if name in by_name:
            problems.append(f"{_where(org, source)}：组织名称与{_rows([by_name[name]])}重复，"
                            "同名组织请在名称中加上所属单位以示区别。")
        elif name:
            by_name[name] = org
    return by_code


def _check_parents(orgs: list[Org], by_code: dict[str, Org], source: str) -> list[str]:
    out = []
    for org in orgs:
        if org.parent is not None and org.parent not in by_code:
            hint = did_you_mean(org.parent, by_code) or "。"
            out.append(f"{_where(org, source)}：上级组织代码“{org.parent}”在组织代码列中找不到{hint}")
        elif org.parent is not None and org.parent == org.code:
            out.append(f"{_where(org, source)}：上级组织代码不能是它自己的代码。")
    return out


def _check_cycles(by_code: dict[str, Org], source: str) -> list[str]:
    """Orgs whose chain of parents loops back (A 的上级是 B，B 的上级是 A)."""
    out = []
    state: dict[str, str] = {}  # code -> "active" while walking, "done" after
    for start in by_code:
        path: list[str] = []
        code: str | None = start
        while code is not None and code in by_code and code not in state and by_code[code].parent != code:
            state[code] = "active"
            path.append(code)
            code = by_code[code].parent
        if code is not None and state.get(code) == "active":
            loop = [by_code[c] for c in path[path.index(code):]]
            chain = " → ".join(o.name or o.code for o in (*loop, loop[0]))
            rows = _rows(sorted(loop, key=lambda o: o.row or 0))
            out.append(f"{source + ' ' if source else ''}{rows}：上级组织代码形成循环（{chain}），"
                       "请改正其中一行的上级组织代码。")
        for c in path:
            state[c] = "done"
    return out


def _check_roots(orgs: list[Org], by_code: dict[str, Org], source: str) -> list[str]:
    roots = [o for o in by_code.values() if o.parent is None]
    prefix = f"{source}：" if source else ""
    if not roots:
        return [f"{prefix}没有最上级组织：应有一行（区级党组织）的上级组织代码留空。"]
    if len(roots) > 1:
        listed = "、".join(f"{_rows([o])} {o.name}" for o in roots)
        return [f"{prefix}有 {len(roots)} 个最上级组织（上级组织代码为空）：{listed}；只能有一个，"
                "请给其余各行填上上级组织代码。"]
    return []


def _check_levels(orgs: list[Org], by_code: dict[str, Org], source: str) -> list[str]:
    """Levels must fit the tree: 区 on top, nothing under a 党支部, no 党支部 without a committee."""
    out = []
    for org in orgs:
        parent = by_code.get(org.parent) if org.parent is not None else None
        where = _where(org, source)
        if org.level == BRANCH and org.parent is None:
            out.append(f"{where}：党支部没有上级党组织，请在“上级组织代码”填写它所属党(工)委的组织代码。")
        if parent is None or parent.level not in LEVELS or org.level not in LEVELS:
            continue
        if org.level == REGION:
            out.append(f"{where}：层级“区”不能放在“{parent.name}”（{parent.level}）之下，区级党组织应是最上级，"
                       "上级组织代码留空。")
        elif parent.level == BRANCH:
            out.append(f"{where}：上级“{parent.name}”是党支部，党支部下不能再设下级组织，"
                       "请改填它所属党(工)委的组织代码。")
    return out


# ---------------------------------------------------------------- loading


@cache
def _org_fields() -> tuple[Field, ...]:
    return load_specs()["orgs"].table.fields


@cache
def _header_names() -> dict[str, str]:
    """Normalised column label or synonym -> field key."""
    return {normalize_label(name): f.key for f in _org_fields() for name in f.names}


@cache
def _level_words() -> dict[str, str]:
    """Normalised level word (value or synonym) -> level value."""
    level = next(f for f in _org_fields() if f.key == "level")
    return {normalize_label(word): c.value for c in level.choices for word in (c.value, *c.synonyms)}


def _header_key(cell: object) -> str | None:
    """The field a header cell names: exact label, label with a note in brackets, or 简称/别名."""
    names = _header_names()
    text = normalize_label(cell)
    if not text:
        return None
    if text in names:
        return names[text]
    bare = re.sub(r"\(.*?\)", "", text)
    if bare in names:
        return names[bare]
    keys = {names.get(part) for part in re.split(r"[/、或]", bare) if part}
    return keys.pop() if len(keys) == 1 and None not in keys else None


def _locate_header(rows: list[tuple[int, list]]) -> tuple[int, dict[str, int]] | None:
    """(index in rows, field key -> column) of the header row, found by its labels."""
    best: tuple[int, dict[str, int]] | None = None
    for i, (_, values) in enumerate(rows[:HEADER_SCAN_ROWS]):
        columns: dict[str, int] = {}
        for col, value in enumerate(values):
            key = _header_key(value)
            if key and key not in columns:
                columns[key] = col
        if {"code", "name"} <= columns.keys() and (best is None or len(columns) > len(best[1])):
            best = (i, columns)
    return best


def _aliases(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(a.strip() for a in re.split(r"[、,，;；\n]", text) if a.strip()))


def parse_level(text: str) -> str | None:
    """The level a typed word means (党委, 党工委, 支部, 镇 … per sheets/orgs.yaml); None if none."""
    return _level_words().get(normalize_label(text))


def _level(text: str) -> str:
    return parse_level(text) or text


def _is_note(values: list[str]) -> bool:
    """A 注/说明 line a clerk keeps below the table, not an org."""
    filled = [v for v in values if v]
    return len(filled) == 1 and filled[0].startswith(("注", "说明", "备注", "填表"))


def _orgs_from_rows(rows: list[tuple[int, list]], start: int, columns: dict[str, int]) -> list[Org]:
    out = []
    for row_number, raw in rows[start + 1:]:
        values = [clean_text(v) for v in raw]
        if not any(values) or _is_note(values):
            continue
        get = {key: (values[col] if col < len(values) else "") for key, col in columns.items()}
        out.append(Org(
            code=get.get("code", ""), name=get.get("name", ""), aliases=_aliases(get.get("alias", "")),
            parent=get.get("parent") or None, level=_level(get.get("level", "")),
            type=get.get("type", ""), group=get.get("group", ""), contact=get.get("contact", ""),
            phone=get.get("phone", ""), email=get.get("email", ""), row=row_number,
        ))
    return out


def _decode(data: bytes) -> str:
    """CSV text saved by Excel/WPS: UTF-8 (with or without BOM), UTF-16, or GBK."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")  # a superset of GBK / GB2312


def _csv_rows(path: Path) -> list[tuple[str, list[tuple[int, list]]]]:
    text = _decode(path.read_bytes())
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = "\t" if "\t" in first and "," not in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return [(path.name, [(reader.line_num, row) for row in reader])]


def _workbook_rows(path: Path) -> list[tuple[str, list[tuple[int, list]]]]:
    """Each sheet's rows as (1-based row number, values); a binary workbook is read in the reader's
    sandbox (calamine may abort the process on a damaged .xls)."""
    from .read import ReadError, isolated

    try:
        found = isolated(_calamine_rows, path) if path.suffix.lower() in (".xls", ".xlsb") else _calamine_rows(path)
    except ReadError as exc:  # the sandbox died of it, or it took too long
        found = exc.detail
    except Exception as exc:  # calamine raises several unrelated types for broken files
        found = str(exc)
    if isinstance(found, str):
        raise ConfigError([f"{path.name}：无法打开组织架构文件（{found}），请用 Excel 或 WPS 另存为 .xlsx 后再试。"])
    return found


def _calamine_rows(path: Path) -> list[tuple[str, list[tuple[int, list]]]]:
    from python_calamine import CalamineWorkbook

    sheets = []
    with CalamineWorkbook.from_path(str(path)) as book:
        for name in book.sheet_names:
            if name == METADATA_SHEET:
                continue
            values = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
            sheets.append((name, [(i + 1, row) for i, row in enumerate(values)]))
    return sheets


def load_orgs(path: Path | str) -> OrgTree:
    """Read orgs.xlsx / orgs.csv (columns of sheets/orgs.yaml) and check it."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError([f"找不到组织架构文件 {path}，请检查文件名（campaign.yaml 的 orgs 一项）。"])
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        sheets = _csv_rows(path)
    elif suffix in WORKBOOK_SUFFIXES:
        sheets = _workbook_rows(path)
    else:
        raise ConfigError([f"{path.name}：组织架构应是 .xlsx 或 .csv 文件。"])
    for sheet, rows in sheets:
        found = _locate_header(rows)
        if found:
            start, columns = found
            source = path.name if len(sheets) == 1 else f"{path.name} 工作表“{sheet}”"
            missing = [f.label for f in _org_fields() if f.required and f.key not in columns]
            if missing:
                raise ConfigError([f"{source} 第{rows[start][0]}行：表头缺少“{'”“'.join(missing)}”列，请按组织架构模板补上。"])
            return OrgTree(_orgs_from_rows(rows, start, columns), source=source)
    labels = "、".join(f.label for f in _org_fields())
    raise ConfigError([f"{path.name}：没有找到组织架构的表头（应有 {labels} 等列），请按组织架构模板填写。"])
