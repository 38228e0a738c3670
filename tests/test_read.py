"""read_workbook: every format a unit may send back, and every way a file can be unreadable."""
from __future__ import annotations

import io
import multiprocessing
import os
import shutil
import struct
import subprocess
import zipfile
import zlib
from pathlib import Path

import msoffcrypto
import openpyxl
import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import WILD, aborting_xls, aborts_calamine
from zhenggai_xls.excel import METADATA_SHEET, parse_a1
from zhenggai_xls.problems import RULES
from zhenggai_xls.read import Limits, ReadError, read_workbook

# Values placed away from A1, as a clerk's form sits below a title and beside a margin.
PLACED = {"C5": "填报单位（盖章）", "D5": "某某镇党委", "C7": "问题数", "D7": 3, "F9": 2.5, "E12": "备注"}


def a1_cells(sheet) -> dict[str, object]:
    """Sheet.cells keyed by A1 for readable asserts."""
    from zhenggai_xls.excel import a1
    return {a1(r, c): v for (r, c), v in sheet.cells.items()}


def write_form(path: Path) -> Path:
    """An .xlsx with values away from A1, a merged title, a hidden sheet and the metadata sheet."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "统计表"
    ws["C3"] = "整改方案制定情况统计表"
    ws.merge_cells("C3:F3")
    for ref, value in PLACED.items():
        ws[ref] = value
    hidden = wb.create_sheet("旧数据")
    hidden["A1"] = "去年的表"
    hidden.sheet_state = "hidden"
    meta = wb.create_sheet(METADATA_SHEET)
    meta.append(["form", "stats"])
    meta.append(["unit_code", "0012"])
    meta.sheet_state = "hidden"
    wb.save(path)
    return path


def expect_error(path: Path, rule: str, limits: Limits = Limits()) -> str:
    """Reading fails with `rule`; returns the message (one Chinese line)."""
    with pytest.raises(ReadError) as info:
        read_workbook(path, limits)
    assert info.value.problem.rule == rule
    assert info.value.problem.rule in RULES and "\n" not in info.value.problem.message
    return info.value.problem.message


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> dict[str, Path]:
    """The form as .xlsx, .xlsm, and as .xls/.ods converted by LibreOffice headless."""
    folder = tmp_path_factory.mktemp("formats")
    xlsx = write_form(folder / "form.xlsx")
    formulas = write_formulas(folder / "formulas.xlsx")
    profile = f"file:///tmp/lo_profile_read_{os.getpid()}"
    for target, sources in (("xls", [xlsx]), ("ods", [xlsx, formulas])):
        subprocess.run(["soffice", f"-env:UserInstallation={profile}", "--headless", "--convert-to", target,
                        "--outdir", str(folder), *map(str, sources)], check=True, capture_output=True, timeout=180)
    shutil.rmtree(profile.removeprefix("file://"), ignore_errors=True)
    return {"xlsx": xlsx, "xlsm": as_xlsm(xlsx, folder / "form.xlsm"),
            "xls": folder / "form.xls", "ods": folder / "form.ods", "formulas.ods": folder / "formulas.ods"}


def as_xlsm(xlsx: Path, target: Path) -> Path:
    """The same package declared macro-enabled, as Excel writes an .xlsm."""
    rewrite_zip(xlsx, target, {"[Content_Types].xml": lambda data: data.replace(
        b"spreadsheetml.sheet.main+xml", b"sheet.macroEnabled.main+xml")})
    return target


def rewrite_zip(source: Path, target: Path, changes: dict) -> None:
    """Copy a zip, passing the named members' bytes through a function."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info.filename, changes.get(info.filename, lambda d: d)(data))


# -- every format, values at their absolute addresses -------------------------------------------

@pytest.mark.parametrize("fmt", ["xlsx", "xlsm", "xls", "ods"])
def test_formats_give_absolute_addresses_merges_hidden_and_metadata(converted, fmt):
    book = read_workbook(converted[fmt])
    assert book.format == fmt
    assert [s.name for s in book.sheets] == ["统计表", "旧数据"]
    form, old = book.sheets
    cells = a1_cells(form)
    assert cells == {"C3": "整改方案制定情况统计表", **PLACED}
    assert isinstance(cells["D7"], (int, float)) and cells["D7"] == 3
    assert form.merges == [(2, 2, 2, 5)]  # C3:F3
    assert not form.hidden and old.hidden and a1_cells(old) == {"A1": "去年的表"}
    assert book.metadata == {"form": "stats", "unit_code": "0012"}


@pytest.mark.parametrize("encoding, bom", [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("gbk", b"")])
def test_csv_in_every_encoding_clerks_save(tmp_path, encoding, bom):
    text = "填报单位,某某镇党委\n\n问题数,3,,备注\n"
    path = tmp_path / "某某镇.csv"
    path.write_bytes(bom + text.encode(encoding))
    book = read_workbook(path)
    assert book.format == "csv" and [s.name for s in book.sheets] == ["某某镇"]
    assert a1_cells(book.sheets[0]) == {"A1": "填报单位", "B1": "某某镇党委", "A3": "问题数", "B3": "3", "D3": "备注"}


def test_csv_delimiter_is_sniffed(tmp_path):
    path = tmp_path / "tabs.txt"
    path.write_text("单位\t问题数\n党支部甲\t2\n", encoding="gb18030")
    assert a1_cells(read_workbook(path).sheets[0]) == {"A1": "单位", "B1": "问题数", "A2": "党支部甲", "B2": "2"}
    for text, cells in (  # commas in numbers, separators inside quotes, a title line alone
            ("整改清单\n单位\t金额\n甲\t1,000\n乙\t2,500\n", {"A1": "整改清单", "B2": "金额", "B4": "2,500"}),
            ('单位;问题\n甲;"学习不够, 记录不全"\n乙;"无"\n', {"A1": "单位", "B2": "学习不够, 记录不全"}),
            ('单位,问题\n甲,"一;二\t三"\n乙,无\n', {"B2": "一;二\t三", "A3": "乙"})):
        path.write_text(text, encoding="utf-8")
        got = a1_cells(read_workbook(path).sheets[0])
        assert {k: got.get(k) for k in cells} == cells, got


def test_extension_that_lies_is_ignored(tmp_path, converted):
    named_xls = tmp_path / "其实是xlsx.xls"
    shutil.copy(converted["xlsx"], named_xls)
    book = read_workbook(named_xls)
    assert book.format == "xlsx" and a1_cells(book.sheets[0])["D5"] == "某某镇党委"
    named_xlsx = tmp_path / "其实是csv.xlsx"
    named_xlsx.write_text("单位,问题数\n甲,1\n", encoding="utf-8")
    book = read_workbook(named_xlsx)
    assert book.format == "csv" and a1_cells(book.sheets[0])["B2"] == "1"
    named_xlsx2 = tmp_path / "其实是xls.xlsx"
    shutil.copy(converted["xls"], named_xlsx2)
    assert read_workbook(named_xlsx2).format == "xls"


def test_sheet_protection_does_not_stop_reading(tmp_path):
    wb = openpyxl.Workbook()
    wb.active["B2"] = "受保护"
    wb.active.protection.sheet = True
    wb.active.protection.password = "123"
    wb.save(tmp_path / "protected.xlsx")
    assert a1_cells(read_workbook(tmp_path / "protected.xlsx").sheets[0]) == {"B2": "受保护"}


# -- what calamine hides: error cells and formulas never calculated ------------------------------

def write_formulas(path: Path) -> Path:
    """openpyxl writes formulas without cached results, and error values as t="e" cells."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "表"
    ws["B2"] = 5
    ws["C3"] = "=SUM(B2,1)"
    ws["D4"] = "#DIV/0!"
    ws["E5"] = "#REF!"
    wb.save(path)
    return path


def test_formula_without_cached_value_is_flagged(tmp_path):
    sheet = read_workbook(write_formulas(tmp_path / "f.xlsx")).sheets[0]
    assert sheet.formulas_without_value == {parse_a1("C3")}
    assert parse_a1("C3") not in sheet.cells


def test_error_cells_are_flagged(tmp_path):
    sheet = read_workbook(write_formulas(tmp_path / "e.xlsx")).sheets[0]
    assert sheet.errors == {parse_a1("D4"), parse_a1("E5")}
    assert a1_cells(sheet) == {"B2": 5}


def test_calculated_formula_is_a_plain_value(tmp_path):
    wb = xlsxwriter.Workbook(tmp_path / "calc.xlsx")
    ws = wb.add_worksheet()
    ws.write_formula("A1", "=1+1", None, 2)
    ws.write_formula("A2", '=""', None, "")  # a text formula whose result is empty
    wb.close()
    sheet = read_workbook(tmp_path / "calc.xlsx").sheets[0]
    assert a1_cells(sheet) == {"A1": 2} and not sheet.formulas_without_value and not sheet.errors


def test_ods_error_cells_are_flagged(converted):
    sheet = read_workbook(converted["formulas.ods"]).sheets[0]
    assert {parse_a1("D4"), parse_a1("E5")} <= sheet.errors
    assert a1_cells(sheet)["C3"] == 6  # LibreOffice calculated it on conversion


# -- files that are not workbooks ----------------------------------------------------------------

def png_bytes() -> bytes:
    """A real 1x1 PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def docx_bytes() -> bytes:
    """A minimal Word package."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", '<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                   'content-types"><Override PartName="/word/document.xml" ContentType="application/'
                   'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
        z.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


@pytest.mark.parametrize("name, content, kind", [
    ("photo.xlsx", png_bytes(), "图片"),
    ("扫描件.xls", b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n", "PDF 文件"),
    ("方案.xlsx", docx_bytes(), "Word 文档"),
    ("导出.xls", "<html><body><table><tr><td>单位</td></tr></table></body></html>".encode(), "网页"),
    ("random.xlsx", bytes(range(256)) * 8, "无法识别"),
])
def test_not_a_workbook_names_the_kind(tmp_path, name, content, kind):
    path = tmp_path / name
    path.write_bytes(content)
    assert kind in expect_error(path, "file.not_workbook")


def test_random_bytes_are_not_a_workbook(tmp_path):
    path = tmp_path / "noise.xlsx"
    path.write_bytes(os.urandom(4096).replace(b"\x00", b"\x01") + b"\x00")
    expect_error(path, "file.not_workbook")


def test_zero_bytes(tmp_path):
    (tmp_path / "empty.xlsx").write_bytes(b"")
    expect_error(tmp_path / "empty.xlsx", "file.empty")


def test_truncated_zip_is_corrupt(tmp_path, converted):
    data = converted["xlsx"].read_bytes()
    (tmp_path / "cut.xlsx").write_bytes(data[: len(data) // 2])
    expect_error(tmp_path / "cut.xlsx", "file.corrupt")


def test_workbook_with_broken_xml_is_corrupt(tmp_path, converted):
    rewrite_zip(converted["xlsx"], tmp_path / "broken.xlsx",
                {"xl/workbook.xml": lambda data: data[: len(data) // 2]})
    expect_error(tmp_path / "broken.xlsx", "file.corrupt")


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_members_read_from_memory_match_zipfile(tmp_path, method):
    """The reader inflates plain members itself: same bytes as zipfile, same findings."""
    from zhenggai_xls.read import _Package
    source = write_formulas(tmp_path / "f.xlsx")
    path = tmp_path / "repacked.xlsx"
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(path, "w", method) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info))
    with zipfile.ZipFile(path) as plain, _Package(path.read_bytes()) as ours:
        assert {i.compress_type for i in plain.infolist()} == {method}
        assert all(ours.read(name) == plain.read(name) for name in plain.namelist())
    sheet = read_workbook(path).sheets[0]
    assert sheet.formulas_without_value == {parse_a1("C3")} and sheet.errors == {parse_a1("D4"), parse_a1("E5")}


def _zipfile_members(data: bytes) -> list[tuple]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(i.filename, i.header_offset, i.compress_size, i.file_size, i.compress_type, i.CRC, i.flag_bits)
                for i in zf.infolist()]


def test_zip_directory_read_like_zipfile():
    """Every zip among the real-world workbooks: the directory read with struct states what zipfile's
    does (names in UTF-8 and in cp437, offsets, sizes, CRCs), and the package lists the same members."""
    from zhenggai_xls.read import _directory, _Package
    zips = [p.read_bytes() for p in sorted(WILD.iterdir()) if p.read_bytes()[:4] == b"PK\x03\x04"]
    assert len(zips) > 20
    read = 0
    for data in zips:
        try:
            expected = _zipfile_members(data)
        except zipfile.BadZipFile:
            continue
        found = _directory(data)
        if found is not None:  # declined layouts (zip64, data before the zip…) go to zipfile
            assert [tuple(m) for m in found] == expected
            read += 1
        assert _Package(data).namelist() == [m[0] for m in expected]
    assert read > 20


def test_zip_directory_declines_what_it_does_not_read():
    """A zip with a comment, or with zip64 local headers, is read from its directory; one with bytes
    before it (a self-extractor) is left to zipfile. Either way the members read as zipfile reads them."""
    from zhenggai_xls.read import _directory, _Package
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.xml", "<a/>" * 100)
        zf.writestr("名字.xml", "<b/>")
        with zf.open("c.xml", "w", force_zip64=True) as fh:
            fh.write(b"<c/>")
        zf.comment = b"a comment"
    plain = buf.getvalue()
    prefixed = b"MZ" + b"\0" * 1000 + plain
    assert [tuple(m) for m in _directory(plain)] == _zipfile_members(plain)
    assert _directory(prefixed) is None
    for data in (plain, prefixed):
        with zipfile.ZipFile(io.BytesIO(data)) as zf, _Package(data) as ours:
            assert ours.namelist() == zf.namelist() == ["a.xml", "名字.xml", "c.xml"]
            assert all(ours.read(n) == zf.read(n) for n in zf.namelist())


@pytest.mark.parametrize("start", ["fork", "spawn"])  # spawn: how the child starts on Windows and macOS
def test_xls_that_aborts_the_native_reader_is_corrupt(tmp_path, converted, monkeypatch, start):
    """Some damaged .xls files make calamine abort the whole process (here a DIMENSIONS record whose
    first row lies after its last asks for terabytes). Binary formats are read in a child process:
    the file is file.corrupt and the run goes on, with a new child for the next file."""
    from zhenggai_xls import read
    monkeypatch.setattr(read, "SANDBOX_START", start)
    monkeypatch.setattr(read, "_SANDBOX", read._Sandbox())
    path = tmp_path / "damaged.xls"
    path.write_bytes(aborting_xls(converted["xls"]))
    assert aborts_calamine(path)  # killed by a signal: calamine alone does not survive this file
    before = read_workbook(converted["xls"])
    expect_error(path, "file.corrupt")
    after = read_workbook(converted["xls"])  # an undamaged .xls reads as before
    assert after.sheets[0].cells and after.sheets[0].cells == before.sheets[0].cells


def test_the_sandbox_child_collects_garbage_though_started_during_a_paused_run(monkeypatch):
    """A run holds off garbage collection (validate.collection_paused); the sandbox child it starts
    may serve later runs in the same process, so it collects garbage as usual."""
    import gc

    from zhenggai_xls import read
    from zhenggai_xls.validate import collection_paused
    monkeypatch.setattr(read, "_SANDBOX", read._Sandbox())
    with collection_paused():
        assert not gc.isenabled() and read.isolated(gc.isenabled) is True


def _processes_naming(marker: str) -> list[int]:
    """Processes whose command line holds `marker` (a forked child keeps its parent's)."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and marker.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                found.append(int(entry))
        except OSError:
            continue
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="looks for the processes left in /proc")
def test_no_sandbox_child_outlives_its_run(tmp_path, converted):
    """A run that read .xls files, in worker processes too, leaves no child behind once it ends, even
    leaving at once as the zhenggai command does (os._exit): each child sees its parent's end close."""
    import sys
    import time
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for i in range(3):
        shutil.copy(converted["xls"], inbox / f"c{i}.xls")
    script = (f"# {tmp_path}\nimport os\nimport zhenggai_xls.validate as V\n"
              f"print(len(V.validate_paths([{str(inbox)!r}], workers=1)))\n"
              f"V.POOL_MIN_FILES = 2\nprint(len(V.validate_paths([{str(inbox)!r}], workers=2)), flush=True)\n"
              "os._exit(0)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.split() == ["3", "3"], done.stderr
    deadline = time.monotonic() + 10
    while _processes_naming(str(tmp_path)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_naming(str(tmp_path)) == []


def test_a_file_that_keeps_the_sandbox_busy_too_long_is_corrupt(converted, monkeypatch):
    """A file that makes the reader loop (here: a call that sleeps) is stopped after SANDBOX_TIMEOUT
    seconds: file.corrupt saying so, and the next file is read by a new child."""
    import time

    from zhenggai_xls import read
    monkeypatch.setattr(read, "_SANDBOX", read._Sandbox())
    monkeypatch.setattr(read, "SANDBOX_TIMEOUT", 1)
    assert read.isolated(time.sleep, 0) is None
    stuck = read._SANDBOX._process
    start = time.monotonic()
    with pytest.raises(ReadError) as caught:
        read.isolated(time.sleep, 60)
    assert time.monotonic() - start < 10 and not stuck.is_alive()
    assert caught.value.problem.rule == "file.corrupt" and "超过 1 秒" in caught.value.problem.message
    assert read_workbook(converted["xls"]).sheets[0].cells


def test_binary_workbooks_are_read_here_where_no_child_can_start(converted, monkeypatch):
    """Should no child process start at all (a frozen or embedded Python), .xls files are read in
    this process as before, and no second start is tried for every file."""
    from zhenggai_xls import read
    starts = []

    def no_child(self):
        starts.append(1)
        raise OSError("no processes here")

    monkeypatch.setattr(read, "_SANDBOX", read._Sandbox())
    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", no_child)
    assert read_workbook(converted["xls"]).sheets[0].cells and read_workbook(converted["xls"]).sheets[0].cells
    assert len(starts) == 1


def test_an_aborting_xls_among_others_in_worker_processes(tmp_path, converted, monkeypatch):
    """In a run with worker processes (and in one without), the .xls that kills calamine is file.corrupt
    and every other file is read as usual."""
    from zhenggai_xls import validate as V
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for i in range(3):
        shutil.copy(converted["xlsx"], inbox / f"b{i}.xlsx")
        shutil.copy(converted["xls"], inbox / f"c{i}.xls")
        (inbox / f"a{i}.xls").write_bytes(aborting_xls(converted["xls"]))
    one = V.validate_paths([inbox], workers=1)
    monkeypatch.setattr(V, "POOL_MIN_FILES", 2)
    two = V.validate_paths([inbox], workers=2)
    assert V.report_json(two) == V.report_json(one)
    verdicts = {s.path.name: [p.rule for p in s.problems] for s in two}
    assert all(verdicts[f"a{i}.xls"] == ["file.corrupt"] for i in range(3))
    assert all(next(s for s in two if s.path.name == f"c{i}.xls").form for i in range(3))


@pytest.mark.parametrize("damage", ["crc", "deflate"])
def test_damaged_member_is_corrupt(tmp_path, converted, damage):
    """A sheet whose CRC or compressed bytes are wrong is never read as if whole."""
    data = bytearray(converted["xlsx"].read_bytes())
    with zipfile.ZipFile(converted["xlsx"]) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
    name_len, extra_len = struct.unpack_from("<HH", data, info.header_offset + 26)
    start = info.header_offset + 30 + name_len + extra_len
    if damage == "crc":  # in the local header and the central directory
        data = bytearray(data.replace(struct.pack("<I", info.CRC), struct.pack("<I", info.CRC ^ 1)))
    else:
        data[start + info.compress_size // 2] ^= 0xFF
    from zhenggai_xls.read import _Package
    with pytest.raises((zipfile.BadZipFile, zlib.error)), _Package(bytes(data)) as zf:
        zf.read("xl/worksheets/sheet1.xml")
    (tmp_path / "damaged.xlsx").write_bytes(bytes(data))
    expect_error(tmp_path / "damaged.xlsx", "file.corrupt")


def test_password_protected_xlsx_is_encrypted(tmp_path, converted):
    out = io.BytesIO()
    with converted["xlsx"].open("rb") as fh:
        msoffcrypto.OfficeFile(fh).encrypt("123456", out)
    (tmp_path / "secret.xlsx").write_bytes(out.getvalue())
    expect_error(tmp_path / "secret.xlsx", "file.encrypted")


# -- limits, checked before the heavy work ------------------------------------------------------

def test_zip_bomb_by_compression_ratio(tmp_path, converted):
    zeros = bytes(64 * 1024 * 1024)
    rewrite_zip(converted["xlsx"], tmp_path / "bomb.xlsx", {"xl/worksheets/sheet1.xml": lambda data: zeros})
    assert (tmp_path / "bomb.xlsx").stat().st_size < 1024 * 1024
    assert "压缩比" in expect_error(tmp_path / "bomb.xlsx", "file.zip_bomb")


def test_zip_bomb_by_total_inflated_size(tmp_path, converted):
    message = expect_error(converted["xlsx"], "file.zip_bomb", Limits(max_inflated_bytes=2048))
    assert "2 KB" in message


def test_too_large_names_the_limit(tmp_path, converted):
    message = expect_error(converted["xlsx"], "file.too_large", Limits(max_file_bytes=1024))
    assert "1 KB" in message


def test_too_many_cells_names_the_limit(tmp_path):
    wb = xlsxwriter.Workbook(tmp_path / "big.xlsx")
    ws = wb.add_worksheet()
    for r in range(40):
        for c in range(30):
            ws.write_number(r, c, r * c)
    wb.close()
    assert "1,000" in expect_error(tmp_path / "big.xlsx", "file.too_many_cells", Limits(max_cells=1000))
    assert len(read_workbook(tmp_path / "big.xlsx").sheets[0].cells) == 40 * 30  # zeros are values too
    csv_path = tmp_path / "big.csv"
    csv_path.write_text("\n".join(",".join("1" for _ in range(30)) for _ in range(40)), encoding="utf-8")
    expect_error(csv_path, "file.too_many_cells", Limits(max_cells=1000))


@pytest.mark.parametrize("far", ["T1048576", "XFD1048576"])
def test_values_far_apart_are_refused_before_calamine_allocates(tmp_path, far):
    # calamine builds a dense rectangle: A1 and XFD1048576 would ask for 17 billion cells and abort.
    wb = xlsxwriter.Workbook(tmp_path / "far.xlsx", {"constant_memory": True})
    ws = wb.add_worksheet()
    ws.write("A1", "单位")
    ws.write(far, "手滑")
    wb.close()
    expect_error(tmp_path / "far.xlsx", "file.too_many_cells")


def test_thousands_of_empty_formatted_rows_read_as_few_cells(tmp_path):
    path = styled_empty_rows(tmp_path / "formatted.xlsx", rows=60000, cols=20)
    sheet = read_workbook(path).sheets[0]
    assert a1_cells(sheet) == {"B2": "填报单位", "C3": 7}


def styled_empty_rows(path: Path, rows: int, cols: int) -> Path:
    """Two values, then A1:T60000 all carrying a fill and nothing else, as Excel stores them."""
    base = path.with_suffix(".base.xlsx")
    wb = xlsxwriter.Workbook(base)
    ws = wb.add_worksheet("表")
    fill = wb.add_format({"bg_color": "#FFFF00"})
    ws.write("B2", "填报单位", fill)
    ws.write_number("C3", 7, fill)
    wb.close()
    letters = [xlsxwriter.utility.xl_col_to_name(c) for c in range(cols)]
    empty = "".join(f'<row r="{r}">' + "".join(f'<c r="{col}{r}" s="1"/>' for col in letters) + "</row>"
                    for r in range(4, rows + 1))

    def fill_rows(data: bytes) -> bytes:
        xml = data.decode().replace('<dimension ref="B2:C3"/>', f'<dimension ref="A1:{letters[-1]}{rows}"/>')
        return xml.replace("</sheetData>", empty + "</sheetData>").encode()

    rewrite_zip(base, path, {"xl/worksheets/sheet1.xml": fill_rows})
    return path


# -- no other exception, whatever the bytes -----------------------------------------------------

@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(min_value=0, max_value=10_000), noise=st.binary(min_size=1, max_size=64))
def test_damaged_files_give_a_verdict_never_a_traceback(tmp_path, converted, cut, noise):
    for source in (converted["xlsx"], converted["xls"]):
        data = bytearray(source.read_bytes())
        at = cut % len(data)
        data[at:at + len(noise)] = noise
        path = tmp_path / f"damaged{source.suffix}"
        path.write_bytes(bytes(data))
        try:
            read_workbook(path)
        except ReadError as exc:
            assert exc.problem.rule in RULES
