"""The package's exceptions (broken specs and configs, outputs that cannot be written), never
problems in submitted data; and the words for a file operation or a mail server connection that failed."""
from __future__ import annotations

import errno
import socket
import ssl


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


def network_reason(exc: OSError) -> str:
    """Why a mail server could not be reached, and what to check, in Chinese (the system says it in English)."""
    if isinstance(exc, ConnectionRefusedError):
        return "服务器拒绝连接，请检查地址和端口，或确认邮件服务已启动"
    if isinstance(exc, TimeoutError):
        return "连接超时，服务器没有应答，请检查地址、端口和网络"
    if isinstance(exc, socket.gaierror):
        return "找不到这个服务器，请检查服务器地址，或确认电脑已联网"
    if isinstance(exc, ssl.SSLError):
        return "加密连接失败，请检查端口（加密的 IMAP 一般为 993，不加密的为 143）"
    return f"{exc.strerror or type(exc).__name__}，请检查服务器地址和端口"
