"""Shared helpers of the payload parsers: the error type and bounded text decoding.

Example:
    >>> printable(b"ESP_06D902\\x00")
    'ESP_06D902'
"""

from __future__ import annotations

MAX_TEXT = 256
"""Longest text value (hostname, header, model) any parser keeps."""


class MalformedPayload(ValueError):
    """A payload that does not follow its protocol; the message names field and offset."""

    def __init__(self, protocol: str, field: str, offset: int, detail: str = "") -> None:
        self.protocol = protocol
        self.field = field
        self.offset = offset
        text = f"{protocol}: bad {field} at byte {offset}"
        super().__init__(f"{text}: {detail}" if detail else text)


def printable(raw: bytes, limit: int = MAX_TEXT) -> str:
    """Decode ``raw`` as text for display: NULs stripped, control bytes dropped, bounded."""
    text = raw[:limit].split(b"\x00", 1)[0].decode("utf-8", errors="replace")
    if text.isprintable():  # the common case, checked at C speed
        return text.strip()
    return "".join(ch for ch in text if ch.isprintable()).strip()
