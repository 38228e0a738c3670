"""Read any workbook a unit sends back into cells with their absolute addresses.

read_workbook(path, limits) -> Workbook, or raises ReadError carrying a Problem
from the catalogue; never any other exception. The format is recognised from
the bytes (sniff.py), limits are checked before the heavy work, and cell values
come from python-calamine. What calamine hides (error cells and formulas never
calculated both read as '') is recovered from the sheet XML of .xlsx/.xlsm and
the content.xml of .ods; for .xls/.xlsb these stay undetected (they read as
blanks). Merges come from calamine for .xlsx/.xls and from content.xml for
.ods; .xlsb merges are not available. .xls/.xlsb are read in a child process
(_Sandbox): calamine aborts the whole process on some damaged ones.
"""
from __future__ import annotations

import csv
import faulthandler
import gc
import io
import multiprocessing
import os
import posixpath
import re
import struct
import sys
import xml.etree.ElementTree as ET
import zipfile
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import python_calamine as pc

from . import sniff
from .errors import ZhenggaiError
from .excel import METADATA_SHEET
from .problems import Problem, problem

_MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Bounds that keep one hostile file from stalling a run (named in messages)."""

    max_file_bytes: int = 50 * _MiB
    max_cells: int = 2_000_000
    max_inflated_bytes: int = 300 * _MiB
    max_zip_ratio: int = 200  # inflated/compressed of one large zip member; real sheets stay far below


class Sheet:
    """One worksheet: non-blank cells by 0-based absolute row and column, and merges.

    Values are str/int/float/bool/date/datetime/time, blanks absent. `rows` {row: {col: value}}
    (no empty row; the readers build it in row and column order) is what the search walks;
    `cells` {(row, col): value} is the same content by address. Give either one: the other is
    derived (`cells` only when first asked for). Neither is changed after construction.
    """

    def __init__(self, name: str, cells: dict[tuple[int, int], object] | None = None,
                 merges: list[tuple[int, int, int, int]] | None = None, hidden: bool = False,
                 formulas_without_value: set[tuple[int, int]] | None = None,
                 errors: set[tuple[int, int]] | None = None, *,
                 rows: dict[int, dict[int, object]] | None = None):
        self.name = name
        self._cells = cells
        if rows is None:
            rows = {}
            for (r, c), value in (cells or {}).items():
                rows.setdefault(r, {})[c] = value
        self.rows = rows
        self.merges = merges if merges is not None else []  # (r0, c0, r1, c1) inclusive
        self.hidden = hidden
        self.formulas_without_value = formulas_without_value if formulas_without_value is not None else set()
        self.errors = errors if errors is not None else set()  # cells holding #DIV/0! and the like

    @property
    def cells(self) -> dict[tuple[int, int], object]:
        """The non-blank cells by (row, col)."""
        if self._cells is None:
            self._cells = {(r, c): value for r, row in self.rows.items() for c, value in row.items()}
        return self._cells

    def get(self, at: tuple[int, int]) -> object:
        """The value at (row, col), None when blank: cells.get without building `cells`."""
        row = self.rows.get(at[0])
        return row.get(at[1]) if row is not None else None

    def __repr__(self) -> str:
        return f"Sheet({self.name!r}, {len(self.rows)} rows, {len(self.merges)} merges, hidden={self.hidden})"


@dataclass
class Workbook:
    """A file read as cells; `metadata` comes from a template's hidden sheet."""

    path: Path
    format: str  # xlsx, xlsm, xlsb, xls, ods, csv
    sheets: list[Sheet]
    metadata: dict[str, str] = field(default_factory=dict)


class ReadError(ZhenggaiError):
    """The file cannot be read as a workbook; carries the Problem to report, and for file.corrupt
    the reason in a few words (`detail`)."""

    def __init__(self, problem: Problem, detail: str = ""):
        self.problem = problem
        self.detail = detail
        super().__init__(problem.message)


@dataclass
class _Extras:
    """What the reader learns about one sheet beyond calamine's values."""

    merges: list[tuple[int, int, int, int]] | None = None
    errors: set[tuple[int, int]] = field(default_factory=set)
    formulas_without_value: set[tuple[int, int]] = field(default_factory=set)
    box_cells: int = 0  # cells in the rectangle that holds every value (what calamine will allocate)


def read_workbook(path: Path | str, limits: Limits = Limits()) -> Workbook:
    """Read a submitted file; ReadError (never another exception) when it cannot be."""
    path = Path(path)
    try:
        return _read(path, limits)
    except ReadError:
        raise
    except BaseException as exc:  # pyo3 panics derive from BaseException
        if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
            raise
        raise _fail("file.corrupt", detail="内容无法解析") from exc


def _fail(rule: str, **params: object) -> ReadError:
    """A ReadError for a catalogue rule."""
    return ReadError(problem(rule, **params), str(params.get("detail", "")))


def _read(path: Path, limits: Limits) -> Workbook:
    """Check size, sniff the content, dispatch to the reader for that container."""
    try:
        size = path.stat().st_size
        if size > limits.max_file_bytes:
            raise _fail("file.too_large", size=human_size(size), limit=human_size(limits.max_file_bytes))
        data = path.read_bytes()  # every reader below needs the whole file (calamine reads it too)
    except OSError as exc:
        raise _fail("file.corrupt", detail="文件不存在或无法读取") from exc
    if not data:
        raise _fail("file.empty")
    head = data[:8192]
    kind = sniff.container(head)
    if kind == "zip":
        return _read_zip(path, data, limits)
    if kind == "ole":
        return _read_ole(path, data, limits)
    if kind == "text":
        return _read_text(path, data, limits, sniff.text_encoding(head) or "utf-8")
    raise _fail("file.not_workbook", kind=sniff.non_workbook_kind(head) or sniff.UNKNOWN_KIND)


def human_size(n: int) -> str:
    """Bytes as '52.4 MB' / '800 KB' for messages."""
    if n >= _MiB:
        return f"{n / _MiB:.1f} MB"
    return f"{max(1, round(n / 1024))} KB"


# -- zip-based: xlsx, xlsm, xlsb, ods -----------------------------------------------------------

def _read_zip(path: Path, data: bytes, limits: Limits) -> Workbook:
    """Check inflation limits and the kind of zip, scan what calamine hides, then read."""
    try:
        zf = _Package(data)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _fail("file.corrupt", detail="压缩结构已损坏") from exc
    with zf:
        _check_inflation(zf, limits)
        status, fmt = sniff.zip_kind(zf)
        if status == "other":
            raise _fail("file.not_workbook", kind=fmt)
        if status == "corrupt":
            raise _fail("file.corrupt", detail="压缩包里没有工作簿")
        extras = _scan_xlsx(zf) if fmt in ("xlsx", "xlsm") else _scan_ods(zf) if fmt == "ods" else {}
        _check_box(extras, limits)
    # .xlsx/.xlsm from the bytes already read (faster than calamine opening the file again)
    return _read_calamine(path, fmt, limits, extras, data if fmt in ("xlsx", "xlsm") else None)


class _Member(NamedTuple):
    """A zip member as its central directory entry states it (the fields named as in ZipInfo)."""

    filename: str
    header_offset: int
    compress_size: int
    file_size: int
    compress_type: int
    CRC: int
    flag_bits: int


_END = struct.Struct("<4s4H2LH")  # end of central directory record
_ENTRY = struct.Struct("<4s6H3L5H2L")  # central directory file header


def _directory(data: bytes) -> list[_Member] | None:
    """The members of a plain zip (one disk, no zip64, nothing before it), read straight from its
    central directory; None for anything else, which zipfile then reads. zipfile's ZipInfo objects
    cost ~0.1 ms per file; this takes less than half of that."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if end < 0 or end + _END.size > len(data):
        return None
    _, disk, first_disk, here, count, size, offset, _ = _END.unpack_from(data, end)
    if disk or first_disk or here != count or count == 0xFFFF or offset + size != end:
        return None
    members, pos = [], offset
    for _ in range(count):
        if pos + _ENTRY.size > end:
            return None
        (sig, _, _, flags, method, _, _, crc, csize, usize, name_len, extra_len, comment_len, _, _, _,
         at) = _ENTRY.unpack_from(data, pos)
        if sig != b"PK\x01\x02" or 0xFFFFFFFF in (csize, usize, at):
            return None
        try:
            name = data[pos + 46:pos + 46 + name_len].decode("utf-8" if flags & 0x800 else "cp437")
        except UnicodeDecodeError:
            return None
        name = name.split("\x00", 1)[0]  # as ZipInfo cuts a name at a NUL
        members.append(_Member(name, at, csize, usize, method, crc, flags))
        pos += 46 + name_len + extra_len + comment_len
    return members if pos == end else None


class _Package:
    """A zip held in memory: its directory read with `_directory`, its plain members inflated
    straight from its bytes with their CRC checked. Anything else (a zip `_directory` declines,
    encrypted members, other methods, a local header that disagrees) goes through zipfile, which
    also raises BadZipFile for a damaged one as usual."""

    def __init__(self, data: bytes):
        self._data = data
        members = _directory(data)
        self._zip = None if members is not None else zipfile.ZipFile(io.BytesIO(data))
        self._members = members if members is not None else self._zip.infolist()
        self._by_name = {m.filename: m for m in self._members}
        self._names = [m.filename for m in self._members]

    def __enter__(self) -> _Package:
        return self

    def __exit__(self, *exc) -> None:
        if self._zip is not None:
            self._zip.close()

    def namelist(self) -> list[str]:
        return self._names

    def infolist(self) -> list[_Member | zipfile.ZipInfo]:
        return list(self._members)

    def read(self, name: str) -> bytes:
        """The inflated member; KeyError when there is none."""
        info = self._by_name[name]
        body = self._member(info)
        return body if body is not None else self._zipfile().read(name)

    def open(self, name: str):
        return self._zipfile().open(name)

    def _zipfile(self) -> zipfile.ZipFile:
        if self._zip is None:
            self._zip = zipfile.ZipFile(io.BytesIO(self._data))
        return self._zip

    def _member(self, info: _Member | zipfile.ZipInfo) -> bytes | None:
        """The inflated member, or None to leave it to zipfile."""
        if info.flag_bits & 1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            return None
        start, data = info.header_offset, self._data
        if data[start:start + 4] != b"PK\x03\x04" or len(data) < start + 30:
            return None
        name_len, extra_len = struct.unpack_from("<HH", data, start + 26)
        begin = start + 30 + name_len + extra_len
        raw = data[begin:begin + info.compress_size]
        if info.compress_type == zipfile.ZIP_STORED:
            body = raw
        else:  # inflate no further than the size the directory states (checked against the limits)
            try:
                body = zlib.decompressobj(-15).decompress(raw, info.file_size + 1)
            except zlib.error:
                return None  # damaged: zipfile's reader says so its own way
        if len(body) != info.file_size or zlib.crc32(body) != info.CRC:
            return None
        return body


def _check_inflation(zf: _Package, limits: Limits) -> None:
    """Total inflated size and per-member compression ratio, from the directory alone."""
    infos = zf.infolist()
    total = sum(i.file_size for i in infos)
    if total > limits.max_inflated_bytes:
        raise _fail("file.zip_bomb", size=human_size(total), limit=human_size(limits.max_inflated_bytes))
    for info in infos:
        if info.file_size > 8 * _MiB and info.file_size > limits.max_zip_ratio * max(info.compress_size, 1):
            ratio = info.file_size // max(info.compress_size, 1)
            raise _fail("file.zip_bomb", size=f"{human_size(info.file_size)}（压缩比 {ratio} 倍）",
                        limit=f"压缩比 {limits.max_zip_ratio} 倍")


def _check_box(extras: dict[str, _Extras], limits: Limits) -> None:
    """Refuse before calamine allocates a dense rectangle spanning far-apart values."""
    total = sum(e.box_cells for e in extras.values())
    if total > limits.max_cells:
        raise _fail("file.too_many_cells", cells=f"{total:,}", limit=f"{limits.max_cells:,}")


# -- .xlsx/.xlsm sheet XML: value box, error cells, formulas without a cached value -------------

_MODEST_BOX = Limits.max_cells  # a <dimension> no larger is within the default limit: no scan (100,000-row ledgers)
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension ref="([A-Z]{1,3})([0-9]{1,7})(?::([A-Z]{1,3})([0-9]{1,7}))?"')
_VALUE_END = re.compile(rb"</(?:\w+:)?(?:v|is|f)>")
_CELL_REF = re.compile(rb'r="([A-Z]{1,3})([0-9]{1,7})"')
_ERROR_ATTR = re.compile(rb'\bt="e"')
_FORMULA_START = re.compile(rb"<(?:\w+:)?f[\s>/]")
_EMPTY_VALUE = re.compile(rb"<(?:\w+:)?v></(?:\w+:)?v>")
_CELL_END = re.compile(rb"</(?:\w+:)?c>")
_HAS_VALUE = re.compile(rb"<(?:\w+:)?v(?:\s[^>]*)?>[^<]")


def _scan_xlsx(zf: _Package) -> dict[str, _Extras]:
    """Scan every worksheet part; parts that cannot be mapped to a sheet name are skipped."""
    found = _workbook_parts(zf)
    if found is None:
        return {}
    book_name, targets, worksheets = found
    # Most files hold no error cell, no formula and a modest <dimension>: their extras are all
    # empty, so the sheets need no names (workbook.xml is parsed only when something was found).
    if worksheets and all(_nothing_hidden(zf.read(part)) for part in worksheets):
        return {}
    return {name: _scan_sheet_xml(zf.read(part)) for name, part in _sheet_names(zf, book_name, targets).items()}


def _nothing_hidden(data: bytes) -> bool:
    """What _scan_sheet_xml would find empty, by quick byte searches (no error, no formula, modest box)."""
    return data.find(b'"e"') < 0 and data.find(b"f>") < 0 and data.find(b"<f ") < 0 and _value_box(data) == 0


def _workbook_parts(zf: _Package) -> tuple[str, dict[str, str | None], list[str]] | None:
    """(workbook.xml member, sheet relationship id -> member, worksheet members) from the workbook's
    relationships; None when the package has no workbook part or relationships."""
    members = {n.lower(): n for n in zf.namelist()}
    workbook = "xl/workbook.xml" if "xl/workbook.xml" in members else _office_document(zf, members) or ""
    folder, base = posixpath.split(workbook)
    rels_name = members.get(posixpath.join(folder, "_rels", base + ".rels").lower())
    book_name = members.get(workbook.lower())
    if not rels_name or not book_name:
        return None
    targets: dict[str, str | None] = {}
    worksheets = []
    for rid, kind, target in _relationships(zf.read(rels_name)):
        if not kind.lower().endswith("sheet"):  # worksheet, chartsheet, xlMacrosheet…
            continue  # styles, theme, shared strings: no sheet refers to them
        target = target[1:] if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        member = targets[rid] = members.get(target.lower())
        if member:
            worksheets.append(member)
    return book_name, targets, worksheets


@lru_cache(maxsize=256)
def _relationships(data: bytes) -> tuple[tuple[str | None, str, str], ...]:
    """(Id, Type, Target) of each relationship in a .rels part. Parsed once per distinct part: every
    file made from one template carries the same bytes."""
    return tuple((rel.get("Id"), rel.get("Type", ""), rel.get("Target", "")) for rel in ET.fromstring(data))


def _sheet_names(zf: _Package, book_name: str, targets: dict[str, str | None]) -> dict[str, str]:
    """Sheet name -> zip member, from workbook.xml's sheet list."""
    parts = {}
    for sheet in ET.fromstring(zf.read(book_name)).iter():
        if sheet.tag.endswith("}sheet"):
            rid = next((v for k, v in sheet.attrib.items() if k.endswith("}id")), None)
            if targets.get(rid):
                parts[sheet.get("name", "")] = targets[rid]
    return parts


def _office_document(zf: _Package, members: dict[str, str]) -> str | None:
    """The workbook part named by the package's root relationships."""
    rels = members.get("_rels/.rels")
    if not rels:
        return None
    for _, kind, target in _relationships(zf.read(rels)):
        if kind.endswith("/officeDocument"):
            return target.lstrip("/")
    return None


def _scan_sheet_xml(data: bytes) -> _Extras:
    """Bounds of the cells holding a value; error cells and uncalculated formulas when present."""
    extras = _Extras(box_cells=_value_box(data))
    if data.find(b'"e"') >= 0:  # quick test first: most sheets have neither
        extras.errors = {ref for m in _ERROR_ATTR.finditer(data) if (ref := _ref_in_tag(data, m.start()))}
    if data.find(b"f>") >= 0 or data.find(b"<f ") >= 0:
        extras.formulas_without_value = _formulas_without_value(data)
    return extras


def _value_box(data: bytes) -> int:
    """Cells in the rectangle spanning every value, or 0 when the sheet's <dimension> (which
    Excel, WPS and LibreOffice write, formatted cells included) already shows it is modest.
    A huge or missing dimension (a sheet formatted down to row 1,048,576) costs a scan."""
    dim = _DIMENSION.search(data, 0, 4096)
    if dim:
        first = _ref(dim.group(1), dim.group(2))
        last = _ref(dim.group(3), dim.group(4)) if dim.group(3) else first
        if (last[0] - first[0] + 1) * (last[1] - first[1] + 1) <= _MODEST_BOX:
            return 0
    rows, cols = [], []
    for m in _VALUE_END.finditer(data):
        ref = _ref_before(data, m.start())
        if ref:
            rows.append(ref[0])
            cols.append(ref[1])
    return (max(rows) - min(rows) + 1) * (max(cols) - min(cols) + 1) if rows else 0


def _ref_before(data: bytes, pos: int) -> tuple[int, int] | None:
    """The cell reference of the nearest r="A1" attribute before `pos` (None for a row's r)."""
    start = data.rfind(b' r="', 0, pos)
    m = _CELL_REF.match(data, start + 1) if start >= 0 else None
    return _ref(m.group(1), m.group(2)) if m else None


def _ref_in_tag(data: bytes, pos: int) -> tuple[int, int] | None:
    """The r attribute of the tag that contains `pos`; None for a picture placed in a cell."""
    start = data.rfind(b"<", 0, pos)
    end = data.find(b">", pos)
    if data.find(b' vm="', start, end) >= 0:
        return None  # Excel stores in-cell pictures as #VALUE! with value metadata
    m = _CELL_REF.search(data, start, end)
    return _ref(m.group(1), m.group(2)) if m else None


def _formulas_without_value(data: bytes) -> set[tuple[int, int]]:
    """Cells with <f> but no cached result: no <v>, or an empty <v/> (openpyxl) — whereas
    <v></v> (xlsxwriter) and t="str" (Excel) hold the empty string a text formula returned."""
    found = set()
    for m in _FORMULA_START.finditer(data):
        ref_at = data.rfind(b' r="', 0, m.start())
        opening = data[data.rfind(b"<", 0, ref_at + 1):m.start()]  # the cell's own tag
        end = _CELL_END.search(data, m.end())
        body = data[m.end():end.start() if end else len(data)]
        if _HAS_VALUE.search(body) or (b't="str"' in opening and b"<v" in body) or _EMPTY_VALUE.search(body):
            continue  # a cached result, possibly the empty string of a text formula
        ref = _ref_before(data, m.start())
        if ref:
            found.add(ref)
    return found


def _ref(letters: bytes, digits: bytes) -> tuple[int, int]:
    """b'B', b'3' -> (2, 1)."""
    col = 0
    for ch in letters:
        col = col * 26 + ch - 64
    return int(digits) - 1, col - 1


# -- .ods content.xml: merges and error cells ---------------------------------------------------

_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_CALCEXT = "{urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0}"


def _scan_ods(zf: _Package) -> dict[str, _Extras]:
    """Walk content.xml counting repeated rows and columns to place spans and error cells."""
    extras: dict[str, _Extras] = {}
    current, row, col = _Extras(merges=[]), 0, 0
    with zf.open("content.xml") as fh:
        for event, el in ET.iterparse(fh, events=("start", "end")):
            tag = el.tag
            if event == "start":
                if tag == _TABLE + "table":
                    current, row = _Extras(merges=[]), 0
                    extras[el.get(_TABLE + "name", "")] = current
                elif tag == _TABLE + "table-row":
                    col = 0
                continue
            if tag in (_TABLE + "table-cell", _TABLE + "covered-table-cell"):
                _ods_cell(el, current, row, col)
                col += int(el.get(_TABLE + "number-columns-repeated", 1))
                el.clear()
            elif tag == _TABLE + "table-row":
                row += int(el.get(_TABLE + "number-rows-repeated", 1))
                el.clear()
    return extras


def _ods_cell(el: ET.Element, extras: _Extras, row: int, col: int) -> None:
    """Record a span or an error value of one ods cell."""
    spans = int(el.get(_TABLE + "number-rows-spanned", 1)), int(el.get(_TABLE + "number-columns-spanned", 1))
    if spans != (1, 1):
        extras.merges.append((row, col, row + spans[0] - 1, col + spans[1] - 1))
    if el.get(_CALCEXT + "value-type") == "error":
        extras.errors.add((row, col))


# -- OLE2: .xls (and encrypted Office files) ----------------------------------------------------

def _read_ole(path: Path, data: bytes, limits: Limits) -> Workbook:
    """An OLE2 file: an .xls, an encrypted .xlsx, or some other Office document."""
    status, kind = sniff.ole_kind(data)
    if status == "encrypted":
        raise _fail("file.encrypted")
    if status == "other":
        raise _fail("file.not_workbook", kind=kind)
    return _read_calamine(path, "xls", limits, {})


# -- calamine -----------------------------------------------------------------------------------

# calamine's readers of the binary formats abort the whole process on some damaged files (a length
# field that asks for terabytes, a record cut short): those are read in a child process that may die.
ISOLATED_FORMATS = ("xls", "xlsb")
# How the sandbox child starts: forked on Linux (at once, everything imported), else spawned (a fresh
# interpreter importing this module, ~0.3 s once), as multiprocessing starts processes there.
SANDBOX_START = "fork" if sys.platform == "linux" else "spawn"
# Seconds one file may take in the sandbox child (a large .xls takes a few): one that makes calamine
# loop is stopped there, and the file is file.corrupt.
SANDBOX_TIMEOUT = 120


def _read_calamine(path: Path, fmt: str, limits: Limits, extras: dict[str, _Extras],
                   data: bytes | None = None) -> Workbook:
    """Values, merges and visibility of every worksheet; chart and macro sheets are skipped.
    From `data` when given (the file's bytes), else from the file."""
    if fmt in ISOLATED_FORMATS:
        return _SANDBOX.read(path, fmt, limits, extras, data)
    return _read_book(path, fmt, limits, extras, data)


class _Sandbox:
    """A child process reading workbooks for this process, one request at a time over a pipe.
    Should a file make it die, that file is file.corrupt and the next one starts a new child.
    Started when first needed, by the process that uses it (a process forked from this one, such as
    a pool worker, starts its own); it ends when this process closes its end, at exit at the latest.
    One child for all files: starting one per file costs ~8 ms even forked."""

    def __init__(self) -> None:
        self._owner = self._process = self._pipe = None
        self._cannot_start_in: int | None = None  # a process where no child would run: read in it

    def read(self, *args) -> Workbook:
        """_read_book(*args) in the child."""
        found = self.call(_read_book, *args)
        if isinstance(found, Problem):
            raise ReadError(found)
        if not isinstance(found, Workbook):
            raise _fail("file.corrupt", detail="内容无法解析")
        return found

    def call(self, fn, *args):
        """fn(*args) in the child (fn a module-level function): what it returned, the Problem of a
        ReadError it raised, or the text of any other exception. ReadError (file.corrupt) when the child
        dies on the way or takes longer than SANDBOX_TIMEOUT (then it is stopped)."""
        if self._owner != os.getpid() and not self._start():
            return _answer(fn, args)  # no child can run here (a frozen or embedded Python): as before
        try:
            self._pipe.send((fn, args))
            if self._pipe.poll(SANDBOX_TIMEOUT):
                return self._pipe.recv()
            detail = f"读取超过 {SANDBOX_TIMEOUT} 秒仍未完成"
        except Exception:  # noqa: BLE001 — the child died on this file (EOF, broken pipe, a cut answer)
            detail = "内容无法解析"
        self._stop()
        raise _fail("file.corrupt", detail=detail)

    def _start(self) -> bool:
        """Start the child and see it answer; False when it cannot run in this process."""
        if self._cannot_start_in == os.getpid():
            return False
        self._process = self._pipe = None  # a parent's child, inherited by a fork: not ours to touch
        try:
            context = multiprocessing.get_context(SANDBOX_START)
            self._pipe, theirs = context.Pipe()
            self._process = context.Process(target=_serve, args=(theirs, self._pipe), daemon=True)
            self._process.start()
            theirs.close()
            self._pipe.send((os.getpid, ()))
            if not self._pipe.poll(SANDBOX_TIMEOUT):
                raise TimeoutError("the sandbox child does not answer")
            self._pipe.recv()
        except Exception:  # noqa: BLE001 — whatever stops a child here, files are still read
            self._stop()
            self._cannot_start_in = os.getpid()
            return False
        self._owner = os.getpid()
        return True

    def _stop(self) -> None:
        """Close our end and end the child: it died, or it may be stuck."""
        if self._pipe is not None:
            self._pipe.close()
        if self._process is not None and self._process.pid is not None:
            self._process.kill()
            self._process.join()
        self._owner = self._process = self._pipe = None


def _serve(pipe, parents_end) -> None:
    """The sandbox child: run each request (a function and its arguments), answer with its result (or
    a Problem, or the text of what went wrong); exit when the parent closes its end, which is why it
    first closes the copy of that end it was handed (a forked child holds one). Its output and
    fault handler are silenced: a native crash's backtrace is no message for a clerk, and a pipe
    reading the parent's output ends with the parent, not with this child. It collects its own
    garbage even when started during a run that holds collection off (it may outlive that run), but
    never what it inherited from a forking parent: finalising that here could wait on the parent's locks."""
    parents_end.close()
    gc.freeze()
    gc.enable()
    faulthandler.disable()
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)
    os.dup2(quiet, 2)
    while True:
        try:
            fn, args = pipe.recv()
        except EOFError:
            return
        pipe.send(_answer(fn, args))


def _answer(fn, args):
    """fn(*args), the Problem of a ReadError it raises, or the text of another exception."""
    try:
        return fn(*args)
    except ReadError as exc:
        return exc.problem
    except Exception as exc:  # noqa: BLE001 — answered as the file's verdict
        return f"{type(exc).__name__}: {exc}"


_SANDBOX = _Sandbox()


def isolated(fn, *args):
    """fn(*args) run in the sandbox child (for calamine on a binary workbook, which may abort the
    process): its result, or the text of the exception it raised. ReadError (file.corrupt) when the
    child died of it or took longer than SANDBOX_TIMEOUT."""
    return _SANDBOX.call(fn, *args)


def _read_book(path: Path, fmt: str, limits: Limits, extras: dict[str, _Extras], data: bytes | None) -> Workbook:
    """_read_calamine in this process."""
    try:
        book = _open_calamine(path, fmt, data)
    except pc.PasswordError as exc:
        raise _fail("file.encrypted") from exc
    sheets, total = [], 0
    with book:
        for meta in book.sheets_metadata:
            if meta.typ != pc.SheetTypeEnum.WorkSheet:
                continue
            raw = book.get_sheet_by_name(meta.name)
            total += raw.height * raw.width
            if total > limits.max_cells:
                raise _fail("file.too_many_cells", cells=f"{total:,}", limit=f"{limits.max_cells:,}")
            sheets.append(_sheet(raw, meta, extras.get(meta.name, _Extras())))
    return _with_metadata(Workbook(path=path, format=fmt, sheets=sheets))


def _open_calamine(path: Path, fmt: str, data: bytes | None) -> pc.CalamineWorkbook:
    """From `data` when given; else by path when the extension is right (calamine picks its reader by
    extension and then reports a password-protected .xls precisely); otherwise let calamine detect
    from the bytes."""
    if data is not None:
        return pc.CalamineWorkbook.from_filelike(io.BytesIO(data))
    if path.suffix.lower() == "." + fmt:
        return pc.CalamineWorkbook.from_path(path)
    with path.open("rb") as fh:
        return pc.CalamineWorkbook.from_filelike(fh)


def _sheet(raw: pc.CalamineSheet, meta: pc.SheetMetadata, extra: _Extras) -> Sheet:
    """One calamine sheet as absolute non-blank cells."""
    r0, c0 = raw.start or (0, 0)
    rows = {}
    for r, values in enumerate(raw.to_python(), r0):
        row = {c: value for c, value in enumerate(values, c0) if value != ""}
        if row:
            rows[r] = row
    merged = raw.merged_cell_ranges
    merges = [(a, b, c, d) for (a, b), (c, d) in merged] if merged is not None else (extra.merges or [])
    hidden_formulas = {(r, c) for r, c in extra.formulas_without_value if c not in rows.get(r, ())}
    return Sheet(name=meta.name, rows=rows, merges=merges, hidden=meta.visible != pc.SheetVisibleEnum.Visible,
                 formulas_without_value=hidden_formulas, errors=extra.errors)


def _with_metadata(book: Workbook) -> Workbook:
    """Move the template's hidden metadata sheet (key in A, value in B) into `metadata`."""
    for sheet in book.sheets:
        if sheet.name == METADATA_SHEET:
            book.sheets.remove(sheet)
            keys = {r: row[0] for r, row in sheet.rows.items() if 0 in row}
            book.metadata = {_text(k): _text(sheet.rows[r].get(1, "")) for r, k in sorted(keys.items())}
            break
    return book


def _text(value: object) -> str:
    """A metadata value as text; whole floats lose their '.0'."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# -- csv / plain text ---------------------------------------------------------------------------

def _read_text(path: Path, data: bytes, limits: Limits, encoding: str) -> Workbook:
    """A csv (or tab-separated text) as one sheet of strings named after the file."""
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        text = data.decode("gb18030", errors="replace")
    rows, count = {}, 0
    for r, values in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))):
        count += len(values)
        if count > limits.max_cells:
            raise _fail("file.too_many_cells", cells=f"{count:,} 以上", limit=f"{limits.max_cells:,}")
        row = {c: value for c, value in enumerate(values) if value != ""}
        if row:
            rows[r] = row
    return Workbook(path=path, format="csv", sheets=[Sheet(name=path.stem, rows=rows)])


def _delimiter(text: str) -> str:
    """The separator of the first lines: of comma, tab, semicolon and bar, the one that splits most of
    them (quotes respected), then into most cells; comma when none does. (csv.Sniffer took up to a
    second on a plain text attachment, ~10 ms on most: a folder of them took minutes.)"""
    lines = text[:20_000].splitlines()[:50]

    def splits(d: str) -> tuple[int, int]:
        counts = [len(row) for row in csv.reader(lines, delimiter=d)]
        return sum(n > 1 for n in counts), sum(counts)

    return max(",\t;|", key=splits)
