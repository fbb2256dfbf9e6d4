"""One entry point for flows: captures (through the meter) and Zeek conn.logs alike.

Each path is sniffed by content: pcap/pcapng magic (gzip-compressed too) goes through
:func:`hedgerow.capture.open_capture` and the :class:`~hedgerow.flows.meter.FlowMeter`; a
``#separator``/``#fields`` header or JSON lines goes through
:func:`~hedgerow.flows.zeek_log.read_conn_log`. Paths are read in the order given; a capture's
flows come out as they end (event time), a log's in file order.

Example:
    >>> paths = ["/work/shared/corpus/zeek-conn/core.q-in-q/q-in-q.pcap",
    ...          "/work/shared/corpus/slips/dataset/port-scans/horizontal/conn.log"]
    >>> sum(batch.height for batch in iter_flows(paths))
    43
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from hedgerow.capture import open_capture
from hedgerow.flows.meter import FlowMeter, MeterConfig
from hedgerow.flows.schema import FlowBatch
from hedgerow.flows.zeek_log import GZIP_MAGIC, read_conn_log, sniff_conn_log

_CAPTURE_MAGICS = (
    b"\xd4\xc3\xb2\xa1",
    b"\xa1\xb2\xc3\xd4",
    b"\x4d\x3c\xb2\xa1",
    b"\xa1\xb2\x3c\x4d",
    b"\x0a\x0d\x0d\x0a",
)


class FlowSourceError(ValueError):
    """A path is neither a capture nor a conn.log (message names the file)."""


def sniff(path: str | os.PathLike[str]) -> str:
    """``"capture"`` or ``"conn.log"`` by content; raises :class:`FlowSourceError` otherwise."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
        if head[:2] == GZIP_MAGIC:
            with gzip.open(path, "rb") as handle:
                head = handle.read(4096)
    except (OSError, EOFError) as exc:
        raise FlowSourceError(f"{os.fspath(path)}: cannot read: {exc}") from None
    if head[:4] in _CAPTURE_MAGICS:
        return "capture"
    if sniff_conn_log(head) is not None:
        return "conn.log"
    raise FlowSourceError(f"{os.fspath(path)}: neither a pcap/pcapng capture nor a Zeek conn.log")


def iter_flows(
    paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str],
    config: MeterConfig | None = None,
    batch_size: int = 65536,
) -> Iterator[FlowBatch]:
    """FlowBatches from captures (metered) and Zeek conn.logs, path by path.

    Empty batches are not yielded. Each capture gets a fresh meter, flushed at its end.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    for path in paths:
        kind = sniff(path)
        if kind == "conn.log":
            for batch in read_conn_log(Path(path)):
                if batch.height:
                    yield batch
            continue
        meter = FlowMeter(config)
        with open_capture(path, batch_size=batch_size) as capture:
            for packets in capture:
                flows = meter.add(packets)
                if flows.height:
                    yield flows
        rest = meter.flush()
        if rest.height:
            yield rest
