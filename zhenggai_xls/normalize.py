"""Turn values the way clerks type them into clean typed values.

One function per field type turns a raw value (as calamine gives it: str,
float, date, datetime, bool) into a typed value or a catalogue problem id.
`normalize_cell` does one cell; `normalize_column` does a whole column of
many files at once, skipping the slow text parsing for values that are
already clean numbers and dates.

Choices made here (see DESIGN §2):
- `text` keeps the clerk's characters (only trimmed): NFKC would turn the
  Chinese punctuation of free text into ASCII. Every other type is NFKC-ed
  before parsing (full-width digits, letters and brackets -> half-width).
- A month without a day ("2023年12月") is the month's last day for a
  deadline and its first day for a date; "12月底"/"12月末" is the last day.
- Marks: 1, √, ✓, ✔, ○, ●, ☑, 是, Y -> 1; blank and 0 -> 0. On a summary
  (`Context.summary`, or a file whose template metadata says summary) a
  mark column holds counts, so any non-negative integer is accepted.
- A blank required value is not reported here but by the schema
  (pandera `nullable=False`), except a blank count when blank counts are
  not zero (`Context.blank_count_is_zero=False`).
"""
from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from operator import itemgetter
from typing import Any, NamedTuple, Sequence

from .excel import EXCEL_EPOCH
from .problems import Problem, problem
from .spec import Field
from .submission import RawCell

_LABEL_NOISE = re.compile(r"[\s\"'“”‘’「」『』：:*＊·•]")


def normalize_label(text: object) -> str:
    """A label reduced for matching: NFKC (full-width -> half-width), no spaces, quotes or colons."""
    return _LABEL_NOISE.sub("", unicodedata.normalize("NFKC", str(text)))


# ---------------------------------------------------------------- context


@dataclass(frozen=True)
class Context:
    """Options for normalising and validating one batch of submissions."""

    year: int | None = None  # campaign year for dates typed without one
    blank_count_is_zero: bool = True  # False: a blank count is value.required
    summary: bool = False  # True: mark columns hold counts (a committee's summary)
    as_of: date | None = None  # "today" for the campaign; defaults to date.today()

    def today(self) -> date:
        """The as-of date, or today."""
        return self.as_of or date.today()

    def default_year(self, report_date: date | None = None) -> int:
        """The year for dates without one: campaign year, else the report date's, else today's."""
        if self.year:
            return self.year
        return report_date.year if report_date else self.today().year


class Deadline(NamedTuple):
    """A normalised 整改时限: a date, or one of the phrases 立行立改 / 长期坚持 (date None)."""

    date: date | None
    kind: str  # "date" | "立行立改" | "长期坚持"


DEADLINE_KINDS = ("date", "立行立改", "长期坚持")

# What to type, for the value.required message.
WHAT_TO_TYPE = {
    "text": "内容", "count": "非负整数（没有的填 0）", "mark": "数字“1”", "choice": "选项",
    "date": "日期，如 2023-11-15", "deadline": "日期（如 2023-12-31）或“立行立改”“长期坚持”",
    "phone": "电话号码", "email": "电子邮箱", "code": "代码",
}


# ---------------------------------------------------------------- typed text


def typed_text(value: Any) -> str:
    """The value as the clerk sees it in Excel: 3.0 -> "3", dates as 2023-11-15."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.15g}"
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds" if value.second else "minutes")
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value)


def clean_text(value: Any) -> str:
    """NFKC text without surrounding spaces (U+3000 included)."""
    return unicodedata.normalize("NFKC", typed_text(value)).strip()


def is_blank(value: Any) -> bool:
    """None, or text that is only spaces."""
    return value is None or (isinstance(value, str) and not value.strip())


# ---------------------------------------------------------------- counts and marks

_COUNT_TEXT = re.compile(r"\d{1,3}(,\d{3})+|\d+(\.0+)?")
_COUNT_UNITS = "次人条个封项件名"
_MARK_ONE = {"1", "√", "✓", "✔", "○", "●", "☑", "是", "y", "yes"}
_MARK_ZERO = {"0"}


def parse_count(value: Any) -> int | None:
    """A non-negative integer from 3, 3.0, "3", "１２", " 3 ", "3次"; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float):
        return int(value) if value >= 0 and value.is_integer() else None
    if not isinstance(value, str):
        return None
    text = clean_text(value).replace(" ", "")
    if text and text[-1] in _COUNT_UNITS:
        text = text[:-1]
    if not _COUNT_TEXT.fullmatch(text):
        return None
    return int(float(text.replace(",", "")))


def parse_mark(value: Any, summary: bool = False) -> int | None:
    """1 for a tick (1, √, 是, Y …), 0 for 0; on a summary any count; None otherwise."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value in (0, 1):
        return int(value)
    text = clean_text(value).casefold()
    if text in _MARK_ONE:
        return 1
    if text in _MARK_ZERO:
        return 0
    return parse_count(value) if summary else None


# ---------------------------------------------------------------- choices


def choice_key(text: Any) -> str:
    """How a typed choice is compared: NFKC, no spaces/quotes, case-insensitive."""
    return normalize_label(typed_text(text)).casefold()


def choice_table(field: Field) -> dict[str, str]:
    """Every accepted spelling of the field's choices -> the canonical value (built once per field)."""
    hit = _CHOICE_TABLES.get(id(field))
    if hit is not None and hit[0] is field:
        return hit[1]
    table: dict[str, str] = {}
    for choice in field.choices:
        for word in (choice.value, *choice.synonyms):
            table.setdefault(choice_key(word), choice.value)
    _CHOICE_TABLES[id(field)] = (field, table)
    return table


_CHOICE_TABLES: dict[int, tuple[Field, dict[str, str]]] = {}  # by field identity: specs are loaded once


@lru_cache(maxsize=4096)
def _typed_choice_key(text: str) -> str:
    """choice_key of a typed text, cached: the same few choices fill every row."""
    return choice_key(text)


# ---------------------------------------------------------------- dates

SERIAL_MIN = (date(1990, 1, 1) - EXCEL_EPOCH).days  # plausible dates for a campaign
SERIAL_MAX = (date(2100, 12, 31) - EXCEL_EPOCH).days

_YEAR = r"(?P<y>\d{4}|20[x×]{2})"  # "20xx年" in the documents: year not given
_SEP = r"[年./\-]"
_DATE_PATTERNS = (
    re.compile(rf"{_YEAR}{_SEP}(?P<m>\d{{1,2}}){_SEP.replace('年', '月')}(?P<d>\d{{1,2}})日?", re.I),
    re.compile(rf"{_YEAR}{_SEP}(?P<m>\d{{1,2}})(?:月(?P<end>底|末|份)?)?", re.I),
    re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})"),
    re.compile(r"(?P<m>\d{1,2})[月./\-](?P<d>\d{1,2})日?"),
    re.compile(r"(?P<m>\d{1,2})月(?P<end>底|末|份)?"),
)
_DATE_SUFFIX = re.compile(r"(前完成|完成|之前|以前|前)$")


def serial_to_date(serial: float) -> date | None:
    """An Excel serial number (1900 system) in a plausible range -> date."""
    if SERIAL_MIN <= serial <= SERIAL_MAX:
        return EXCEL_EPOCH + timedelta(days=int(serial))
    return None


def _month_end(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def parse_date_text(text: str, year: int, month_end: bool = False) -> date | None:
    """A date from 2023年12月31日, 2023.12.31, 12月31日, 12-31, 12月底, 10月25日前 …; None otherwise.

    A month without a day is its last day when `month_end` (deadlines), else its first.
    """
    text = _DATE_SUFFIX.sub("", text.replace(" ", "").replace("号", "日"))
    for pattern in _DATE_PATTERNS:
        m = pattern.fullmatch(text)
        if not m:
            continue
        parts = m.groupdict()
        y = int(parts["y"]) if parts.get("y") and parts["y"].isdigit() else year
        month = int(parts["m"])
        if not 1 <= month <= 12:
            return None
        if parts.get("d"):
            day = int(parts["d"])
        else:
            day = _month_end(y, month) if month_end or parts.get("end") in ("底", "末") else 1
        try:
            return date(y, month, day)
        except ValueError:
            return None
    return None


def parse_date(value: Any, year: int, month_end: bool = False) -> date | None:
    """A date from a calamine value: date/datetime, an Excel serial number, or typed text."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        found = serial_to_date(value)
        if found:
            return found
    return parse_date_text(clean_text(value), year, month_end)


_PHRASE_SEPARATORS = re.compile(r"[\s,，、;；/\\|和及与并+\-—·.。]")
_PHRASES = re.compile(r"(立行立改|长期坚持)+")


def parse_deadline(value: Any, year: int) -> Deadline | None:
    """A date (as parse_date, month -> its last day) or 立行立改 / 长期坚持; None otherwise.

    "立行立改，长期坚持" in any order or with any separator is 长期坚持: never overdue.
    """
    text = clean_text(value)
    phrases = _PHRASE_SEPARATORS.sub("", text)
    if phrases and _PHRASES.fullmatch(phrases):
        return Deadline(None, "长期坚持" if "长期坚持" in phrases else "立行立改")
    found = parse_date(value, year, month_end=True)
    return Deadline(found, "date") if found else None


# ---------------------------------------------------------------- phone, e-mail

_PHONE_SPLIT = re.compile(r"[/,、;；]|或")
_PHONE_NOISE = re.compile(r"[\s\-()]")
_PHONE_EXTENSION = re.compile(r"(转|ext\.?|x)\d{1,6}$", re.I)
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")


def is_phone(text: str) -> bool:
    """One or more phone numbers: digits with -, spaces, +86, parentheses; 7–12 digits each."""
    parts = [p for p in _PHONE_SPLIT.split(text) if p.strip()]
    if not parts:
        return False
    for part in parts:
        digits = _PHONE_EXTENSION.sub("", _PHONE_NOISE.sub("", part)).removeprefix("+")
        if digits.startswith("0086"):
            digits = digits[4:]
        elif digits.startswith("86") and len(digits) > 12:
            digits = digits[2:]
        if not (digits.isdigit() and 7 <= len(digits) <= 12):
            return False
    return True


def is_email(text: str) -> bool:
    """A plain address like name@example.com."""
    return bool(_EMAIL.fullmatch(text))


# ---------------------------------------------------------------- one cell


def normalize_cell(field: Field, raw: RawCell, ctx: Context | None = None) -> tuple[Any, Problem | None]:
    """One raw cell -> (typed value or None, problem or None); deadlines give a Deadline."""
    ctx = ctx or Context()

    def fail(rule: str, **params: Any) -> tuple[Any, Problem]:
        return None, problem(rule, cell=raw.cell, field=field.full_label, value=typed_text(raw.value), **params)

    if raw.error:
        return fail("value.error_cell")
    if raw.formula_without_value:
        return fail("value.formula_no_value")
    value = raw.value
    if is_blank(value):
        if field.type == "mark" or (field.type == "count" and ctx.blank_count_is_zero):
            return 0, None
        if field.type == "count":
            return fail("value.required", what=WHAT_TO_TYPE["count"])
        return None, None
    kind = field.type
    if kind == "text":
        return typed_text(value).strip(), None
    if kind == "code":
        return clean_text(value), None
    if kind == "count":
        n = parse_count(value)
        return (n, None) if n is not None else fail("value.not_count")
    if kind == "mark":
        n = parse_mark(value, ctx.summary)
        return (n, None) if n is not None else fail("value.not_mark")
    if kind == "choice":
        found = choice_table(field).get(_typed_choice_key(value) if type(value) is str else choice_key(value))
        return (found, None) if found else fail("value.bad_choice", choices="、".join(field.choice_values))
    if kind == "date":
        found = parse_date(value, ctx.default_year())
        return (found, None) if found else fail("value.not_date")
    if kind == "deadline":
        found = parse_deadline(value, ctx.default_year())
        return (found, None) if found else fail("value.bad_deadline")
    if kind == "phone":
        text = clean_text(value)
        return text, None if is_phone(text) else fail("value.bad_phone")[1]
    if kind == "email":
        text = clean_text(value)
        return (text, None) if is_email(text) else fail("value.bad_email")
    return typed_text(value).strip(), None


# ---------------------------------------------------------------- a column


def _fast_count(v: Any, blank_is_zero: bool) -> Any:
    if type(v) is float and v >= 0 and v.is_integer():
        return int(v)
    return 0 if v is None and blank_is_zero else _SLOW


def _fast_mark(v: Any, blank_is_zero: bool) -> Any:
    if type(v) is float and (v == 1 or v == 0):
        return int(v)
    return 0 if v is None else _SLOW


def _fast_date(v: Any, blank_is_zero: bool) -> Any:
    tp = type(v)
    if tp is datetime:
        return v.date()
    return v if tp is date or v is None else _SLOW


def _fast_text(v: Any, blank_is_zero: bool) -> Any:
    if type(v) is str:
        return v.strip() or None
    return None if v is None else _SLOW


def _fast_deadline(v: Any, blank_is_zero: bool) -> Any:
    tp = type(v)
    if tp is datetime:
        return Deadline(v.date(), "date")
    if tp is date:
        return Deadline(v, "date")
    return None if v is None else _SLOW


def _fast_other(v: Any, blank_is_zero: bool) -> Any:
    return None if v is None else _SLOW


_SLOW = object()  # marks a value that needs the full parser
_FAST = {"count": _fast_count, "mark": _fast_mark, "date": _fast_date, "deadline": _fast_deadline, "text": _fast_text}


def normalize_column(field: Field, raws: Sequence[RawCell | None], ctx: Context | None = None,
                     contexts: Sequence[Context] | None = None) -> tuple[list[Any], dict[int, Problem]]:
    """Normalise many cells of one field: (values, {position: problem}).

    `contexts` gives each position its own context (year, summary) when the
    cells come from different files. A missing RawCell (None) gives None
    without a problem: the locator reported the missing column.
    """
    ctx = ctx or Context()
    try:
        values = list(map(_VALUE, raws))
        irregular = any(map(_FORMULA, raws)) or any(map(_ERROR, raws))
    except TypeError:  # a missing cell (None)
        irregular = True
    if irregular:
        done = _around_irregular(field, raws, ctx, contexts)
    else:
        done = _by_distinct_value(field, values, raws, ctx, contexts)
    return done if done is not None else normalize_cells(field, raws, ctx, contexts)


def normalize_plain_column(field: Field, values: list[Any], raws: Sequence[RawCell], ctx: Context | None = None,
                           contexts: Sequence[Context] | None = None) -> tuple[list[Any], dict[int, Problem]]:
    """`normalize_column` of cells all present and plain (no error value, no formula without a
    value), `values` their values: for a caller that has checked a whole batch at once."""
    ctx = ctx or Context()
    done = _by_distinct_value(field, values, raws, ctx, contexts)
    return done if done is not None else normalize_cells(field, raws, ctx, contexts)


def normalize_cells(field: Field, raws: Sequence[RawCell | None], ctx: Context | None = None,
                    contexts: Sequence[Context] | None = None) -> tuple[list[Any], dict[int, Problem]]:
    """`normalize_column` cell by cell: the general path, for any values."""
    ctx = ctx or Context()
    values: list[Any] = [None] * len(raws)
    problems: dict[int, Problem] = {}
    for i, raw in enumerate(raws):
        if raw is not None:
            values[i], found = normalize_cell(field, raw, contexts[i] if contexts else ctx)
            if found:
                problems[i] = found
    return values, problems


_NUMBERS = frozenset({bool, int, float})
_VALUE, _FORMULA, _ERROR = itemgetter(0), itemgetter(2), itemgetter(3)  # RawCell's fields, read in C
# Field types whose values normalise the same in every context (see normalize_cell).
_CONTEXT_FREE = frozenset({"text", "code", "choice", "phone", "email"})


def context_key(ctx: Context) -> tuple:
    """All of a context that normalising a value depends on: contexts with equal keys give equal results."""
    return ctx.default_year(), ctx.summary, ctx.blank_count_is_zero


def _by_distinct_value(field: Field, values: list[Any], raws: Sequence[RawCell], ctx: Context,
                       contexts: Sequence[Context] | None) -> tuple[list[Any], dict[int, Problem]] | None:
    """Plain cells normalised with each distinct value parsed once: the same texts, dates and
    numbers fill thousands of rows. None when its assumptions fail (general path then):
    every value hashable, and no two number types that compare equal (True == 1 == 1.0)."""
    try:
        distinct = dict.fromkeys(values)
    except TypeError:  # an unhashable value
        return None
    if not _NUMBERS.isdisjoint(map(type, distinct)) and len(_NUMBERS.intersection(map(type, values))) > 1:
        return None
    fast = _FAST.get(field.type, _fast_other)
    slow = []
    for value in distinct:
        typed = fast(value, ctx.blank_count_is_zero)
        if typed is _SLOW:
            slow.append(value)
        else:
            distinct[value] = typed
    if slow and (field.type in _CONTEXT_FREE or _one_context(contexts)):
        slow = _parse_distinct(field, slow, distinct, contexts[0] if contexts else ctx)
    out = list(map(distinct.__getitem__, values))
    problems: dict[int, Problem] = {}
    if slow:
        _parse_cells(field, raws, values, set(slow), out, problems, ctx, contexts)
    return out, problems


def _one_context(contexts: Sequence[Context] | None) -> bool:
    """Every position normalises in the same context."""
    if not contexts:
        return True
    objects = dict(zip(map(id, contexts), contexts))
    return len({context_key(c) for c in objects.values()}) == 1


def _parse_distinct(field: Field, slow: list[Any], distinct: dict[Any, Any], ctx: Context) -> list[Any]:
    """Parse each value once into `distinct`; return the values that fail (parsed again per cell:
    a problem names its cell)."""
    failing = []
    for value in slow:
        typed, found = normalize_cell(field, RawCell(value, ""), ctx)
        if found:
            failing.append(value)
        else:
            distinct[value] = typed
    return failing


def _parse_cells(field: Field, raws: Sequence[RawCell], values: Sequence[Any], slow: set, out: list[Any],
                 problems: dict[int, Problem], ctx: Context, contexts: Sequence[Context] | None) -> None:
    """Parse the cells holding `slow` values: once per value and context unless it fails."""
    keys: dict[int, tuple] = {}  # id of a context object -> what normalising depends on
    done: dict[tuple, Any] = {}
    for i in [i for i, value in enumerate(values) if value in slow]:
        cell_ctx = contexts[i] if contexts else ctx
        key = keys.get(id(cell_ctx))
        if key is None:
            key = keys[id(cell_ctx)] = context_key(cell_ctx)
        key = (values[i], key)
        if key in done:
            out[i] = done[key]
            continue
        out[i], found = normalize_cell(field, raws[i], cell_ctx)
        if found:
            problems[i] = found
        else:
            done[key] = out[i]


def _around_irregular(field: Field, raws: Sequence[RawCell | None], ctx: Context,
                      contexts: Sequence[Context] | None) -> tuple[list[Any], dict[int, Problem]] | None:
    """Missing cells, error values and formulas without a value cell by cell, the rest by value."""
    regular = [i for i, raw in enumerate(raws) if raw is not None and not raw.error and not raw.formula_without_value]
    plain = [raws[i] for i in regular]
    done = _by_distinct_value(field, list(map(_VALUE, plain)), plain, ctx,
                              [contexts[i] for i in regular] if contexts else None)
    if done is None:
        return None
    values: list[Any] = [None] * len(raws)
    problems: dict[int, Problem] = {}
    for i, value in zip(regular, done[0]):
        values[i] = value
    for j, found in done[1].items():
        problems[regular[j]] = found
    others = set(range(len(raws))).difference(regular)
    for i in others:
        if raws[i] is not None:
            values[i], found = normalize_cell(field, raws[i], contexts[i] if contexts else ctx)
            if found:
                problems[i] = found
    return values, problems
