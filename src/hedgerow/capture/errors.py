"""Errors and warnings raised by the capture readers.

Both name the file and the byte offset, so a bad input gives one clear line.

Example:
    >>> str(CaptureWarning("x.pcap", 24, "truncated record"))
    'x.pcap: truncated record at offset 24'
"""

from __future__ import annotations


class CaptureError(Exception):
    """The file cannot be read as a capture at all (wrong magic, unreadable header, I/O error)."""

    def __init__(self, path: str, offset: int, message: str) -> None:
        super().__init__(f"{path}: {message} at offset {offset}")
        self.path = path
        self.offset = offset
        self.message = message


class CaptureWarning(UserWarning):
    """Part of a capture could not be read; every packet before ``offset`` was kept."""

    def __init__(self, path: str, offset: int, message: str) -> None:
        super().__init__(f"{path}: {message} at offset {offset}")
        self.path = path
        self.offset = offset
        self.message = message

    def __str__(self) -> str:
        return f"{self.path}: {self.message} at offset {self.offset}"
