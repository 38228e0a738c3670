"""Recognise what a file is from its bytes, never from its extension.

Units rename files freely (an .xlsx saved as .xls, a csv called .xlsx, a phone
photo of the paper form attached as 表格.xlsx), so the reader decides by
content: magic numbers, the part names inside a zip, the stream names inside
an OLE2 compound file.
"""
from __future__ import annotations

import codecs
import struct
import zipfile

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")

UNKNOWN_KIND = "无法识别格式的文件"
ZIP_ARCHIVE = "ZIP 压缩包"

# (magic at offset 0, Chinese name) for files that are certainly not workbooks.
_MAGIC_KINDS = (
    (b"%PDF", "PDF 文件"),
    (b"\x89PNG", "图片"),
    (b"\xff\xd8\xff", "图片"),
    (b"GIF8", "图片"),
    (b"BM", "图片"),
    (b"II*\x00", "图片"),
    (b"MM\x00*", "图片"),
    (b"Rar!", "RAR 压缩包"),
    (b"7z\xbc\xaf\x27\x1c", "7z 压缩包"),
    (b"\x1f\x8b", "gzip 压缩包"),
    (b"{\\rtf", "RTF 文档"),
)

# Files Windows writes into a folder by itself (thumbnail caches, folder settings), lower-cased.
_SYSTEM_FILES = frozenset({"thumbs.db", "ehthumbs.db", "ehthumbs_vista.db", "desktop.ini"})

_TEXT_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def is_system_name(name: str) -> bool:
    """Hidden files (.DS_Store), Office lock files (~$…) and Windows' folder files (Thumbs.db,
    desktop.ini): nobody saved them, so they are skipped by name before any file is read."""
    return name.startswith((".", "~$")) or name.lower() in _SYSTEM_FILES


def container(head: bytes) -> str:
    """'zip', 'ole', 'text' or 'other' for the first bytes of a file."""
    if head.startswith(ZIP_MAGICS):
        return "zip"
    if head.startswith(OLE_MAGIC):
        return "ole"
    if non_workbook_kind(head) is None and text_encoding(head) is not None:
        return "text"
    return "other"


def non_workbook_kind(head: bytes) -> str | None:
    """The Chinese name of a well-known non-workbook format, or None."""
    for magic, kind in _MAGIC_KINDS:
        if head.startswith(magic):
            return kind
    if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1") or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return "图片"  # phone photos of the paper form
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()[:2048]
    if start.startswith(b"mime-version:"):
        return "网页存档（MHT）"
    if start.startswith((b"<!doctype html", b"<html")) or b"<html" in start[:512] or start.startswith(b"<table"):
        return "网页（HTML）文件"  # web systems often export HTML tables named .xls
    if start.startswith(b"<?xml") and b"urn:schemas-microsoft-com:office:spreadsheet" in start:
        return "XML 表格（Excel 2003 XML）"
    if start.startswith(b"<?xml"):
        return "XML 文件"
    return None


def text_encoding(head: bytes) -> str | None:
    """The encoding that reads `head` as plain text (BOM, UTF-8, GB18030), or None."""
    for bom, encoding in _TEXT_BOMS:
        if head.startswith(bom):
            return encoding
    if b"\x00" in head:
        return None
    for encoding in ("utf-8", "gb18030"):
        try:
            text = codecs.getincrementaldecoder(encoding)().decode(head, final=False)
        except UnicodeDecodeError:
            continue
        controls = sum(1 for ch in text if ch < " " and ch not in "\t\r\n")
        return encoding if controls <= len(text) // 100 else None
    return None


def zip_kind(zf: zipfile.ZipFile) -> tuple[str, str]:
    """('workbook', format) for xlsx/xlsm/xlsb/ods, else ('other', Chinese kind) or ('corrupt', '')."""
    names = {n.lower() for n in zf.namelist()}
    if "mimetype" in names:
        mimetype = zf.read(_real_name(zf, "mimetype"))[:100]
        if b"opendocument.spreadsheet" in mimetype:
            return "workbook", "ods"
        return "other", "ODF 文档（非表格）"
    if "ofd.xml" in names:
        return "other", "OFD 版式文件"
    if any(n.startswith("word/") for n in names):
        return "other", "Word 文档"
    if any(n.startswith("ppt/") for n in names):
        return "other", "PowerPoint 演示文稿"
    if "[content_types].xml" not in names:
        return "other", ZIP_ARCHIVE
    types = zf.read(_real_name(zf, "[content_types].xml"))[:200_000]
    if "xl/workbook.bin" in names or b"sheet.binary.macroEnabled.main" in types:
        return "workbook", "xlsb"
    if "xl/vbaproject.bin" in names or b"sheet.macroEnabled.main" in types:
        return "workbook", "xlsm"
    if "xl/workbook.xml" in names or b"spreadsheetml.sheet.main" in types:
        return "workbook", "xlsx"
    return "corrupt", ""


def _real_name(zf: zipfile.ZipFile, lower: str) -> str:
    """The member's stored name for a lower-cased name (zips written on Windows vary the case)."""
    return next(n for n in zf.namelist() if n.lower() == lower)


def ole_kind(data: bytes) -> tuple[str, str]:
    """('workbook', 'xls'), ('encrypted', ''), ('other', Chinese kind) or ('unknown', '') for an OLE2 file."""
    streams = {name.lower() for name in ole_stream_names(data)}
    if {"encryptedpackage", "encryptioninfo"} & streams:
        return "encrypted", ""  # a password-protected .xlsx/.docx saved by Office
    if "workbook" in streams or "book" in streams:
        return "workbook", "xls"
    if "worddocument" in streams:
        return "other", "Word 文档"
    if "powerpoint document" in streams:
        return "other", "PowerPoint 演示文稿"
    return "unknown", ""


def ole_stream_names(data: bytes) -> list[str]:
    """Names in an OLE2 compound file's directory; [] when the structure is unreadable."""
    try:
        return _read_directory(data)
    except (struct.error, IndexError, ValueError):
        return []


def _read_directory(data: bytes) -> list[str]:
    """Walk the FAT chain of the directory stream and decode each 128-byte entry's name."""
    sector_shift, = struct.unpack_from("<H", data, 0x1E)
    if sector_shift not in (9, 12):
        raise ValueError("bad sector size")
    size = 1 << sector_shift
    fat = _fat(data, size)
    names: list[str] = []
    sector, seen = struct.unpack_from("<i", data, 0x30)[0], set()
    while sector >= 0 and sector not in seen and len(seen) < 100_000:
        seen.add(sector)
        offset = (sector + 1) * size
        for entry in range(offset, offset + size, 128):
            name_len, = struct.unpack_from("<H", data, entry + 64)
            if 2 <= name_len <= 64:
                names.append(data[entry:entry + name_len - 2].decode("utf-16-le", "replace"))
        sector = fat[sector] if sector < len(fat) else -1
    return names


def _fat(data: bytes, size: int) -> list[int]:
    """The file allocation table: header DIFAT entries, then the DIFAT chain for big files."""
    fat_sectors = [s for s in struct.unpack_from("<109i", data, 0x4C) if s >= 0]
    difat, count = struct.unpack_from("<ii", data, 0x44)
    per_sector = size // 4
    while difat >= 0 and count > 0:
        entries = struct.unpack_from(f"<{per_sector}i", data, (difat + 1) * size)
        fat_sectors += [s for s in entries[:-1] if s >= 0]
        difat, count = entries[-1], count - 1
    fat: list[int] = []
    for s in fat_sectors:
        fat += struct.unpack_from(f"<{per_sector}i", data, (s + 1) * size)
    return fat
