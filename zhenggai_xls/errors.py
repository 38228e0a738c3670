"""The package's exceptions (broken specs and configs, outputs that cannot be written), never
problems in submitted data; and the words for a file operation that failed."""
from __future__ import annotations

import errno


class ZhenggaiError(Exception):
    """Base of every exception the package raises on purpose."""


class SpecError(ZhenggaiError):
    """A form spec (or config) is broken; carries every problem found."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class ConfigError(SpecError):
    """A campaign config or org tree is broken; carries every problem found."""


class OutputError(ZhenggaiError):
    """A file cannot be written (open in Excel or WPS, no permission, disk full); says what to do."""


def os_reason(exc: OSError) -> str:
    """Why a file could not be read or written, and what to do, in Chinese."""
    if isinstance(exc, PermissionError):
        return "文件正在 Excel 或 WPS 中打开，或没有读写权限。请关闭该文件后重试，或换一个位置"
    if exc.errno == errno.ENOSPC:
        return "磁盘空间不足。请清理磁盘后重试，或换一个保存位置"
    if isinstance(exc, (FileExistsError, NotADirectoryError)):
        return "路径中有一个同名的文件，不是文件夹。请换一个位置"
    if isinstance(exc, FileNotFoundError):
        return "找不到该文件或文件夹。请检查路径"
    return f"{exc.strerror or type(exc).__name__}。请换一个位置后重试"
