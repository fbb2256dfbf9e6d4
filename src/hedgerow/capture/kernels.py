"""Compiled kernels of the capture reader: walk pcap/pcapng records and decode their headers.

Three functions, compiled from Cython at install time and working on a ``uint8`` numpy buffer
that holds one chunk of the file (bounds checking stays on in all of them: the bytes are
untrusted):

- :func:`walk_pcap` (``_walk.pyx``) walks classic pcap records until the chunk end or a full
  batch;
- :func:`walk_pcapng` (``_walk.pyx``) walks pcapng blocks (EPB, SPB, OPB; skips unknown blocks
  by length) and hands section and interface blocks back to Python, which updates the
  interface table;
- :func:`decode_packets` (``_decode.pyx``) decodes link, network and transport headers of the
  walked records into the columns of a :class:`~hedgerow.capture.batch.PacketBatch`.

Walkers return ``(n_records, position, code)``; ``code`` is one of the ``STOP_*`` constants.

Example:
    >>> import numpy as np
    >>> buf = np.zeros(16, dtype=np.uint8)
    >>> out = [np.zeros(4, dtype=np.int64) for _ in range(4)]
    >>> walk_pcap(buf, 0, 16, False, False, 65535, 4, *out)[2] == STOP_END
    True
"""

from __future__ import annotations

from hedgerow.capture._decode import decode_packets
from hedgerow.capture._walk import (
    MAX_BLOCK,
    MAX_CAPLEN,
    STOP_BADBLOCK,
    STOP_BADIFACE,
    STOP_BADLEN,
    STOP_BLOCK,
    STOP_END,
    STOP_FULL,
    walk_pcap,
    walk_pcapng,
)

__all__ = [
    "MAX_BLOCK",
    "MAX_CAPLEN",
    "STOP_BADBLOCK",
    "STOP_BADIFACE",
    "STOP_BADLEN",
    "STOP_BLOCK",
    "STOP_END",
    "STOP_FULL",
    "decode_packets",
    "walk_pcap",
    "walk_pcapng",
]
