"""Capture stage: read pcap/pcapng (plain or gzip) into columnar :class:`PacketBatch` es.

Example:
    >>> from hedgerow.capture import open_capture
    >>> with open_capture("capture.pcapng") as reader:  # doctest: +SKIP
    ...     for batch in reader:
    ...         print(len(batch), reader.link_types)
"""

from hedgerow.capture.batch import L3, DecodeStatus, Frag, PacketBatch, TcpFlag
from hedgerow.capture.errors import CaptureError, CaptureWarning
from hedgerow.capture.reader import CaptureReader, ReaderStats, open_capture

__all__ = [
    "L3",
    "CaptureError",
    "CaptureReader",
    "CaptureWarning",
    "DecodeStatus",
    "Frag",
    "PacketBatch",
    "ReaderStats",
    "TcpFlag",
    "open_capture",
]
