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
    44
"""

from __future__ import annotations

import gzip
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from hedgerow.capture import CaptureError, open_capture
from hedgerow.capture.batch import PacketBatch
from hedgerow.flows.meter import FlowMeter, MeterConfig
from hedgerow.flows.schema import FlowBatch
from hedgerow.flows.zeek_log import (
    GZIP_MAGIC,
    ConnLogError,
    ConnLogWarning,
    read_conn_log,
    sniff_conn_log,
)

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


class FlowSource:
    """Iterate flows from several paths, keeping count and the problems met.

    With ``strict=False`` an unreadable path is recorded in ``errors`` (one line naming the file)
    and skipped; with ``strict=True`` its error is raised. ``warnings`` collects capture and
    conn.log warnings (truncation, skipped lines); ``progress`` (if given) is called with the
    number of input bytes consumed since the previous call. Each of ``packet_observers`` is
    called with every PacketBatch of a capture, in order, before the meter sees it, so other
    packet consumers (the device inventory) share the single read; conn.logs have no packets.

    Example:
        >>> seen = []
        >>> source = FlowSource(["/work/shared/corpus/zeek-conn/core.q-in-q/q-in-q.pcap"],
        ...                     packet_observers=[lambda b: seen.append(len(b))])
        >>> sum(batch.height for batch in source), sum(seen) == source.packets
        (3, True)
    """

    def __init__(
        self,
        paths: Iterable[str | os.PathLike[str]],
        config: MeterConfig | None = None,
        batch_size: int = 65536,
        strict: bool = True,
        progress: Callable[[int], None] | None = None,
        packet_observers: Sequence[Callable[[PacketBatch], None]] = (),
    ) -> None:
        self.paths = [os.fspath(p) for p in paths]
        self.config = config
        self.batch_size = batch_size
        self.strict = strict
        self.progress = progress
        self.packet_observers = tuple(packet_observers)
        self.warnings: list[str] = []
        self.errors: list[str] = []
        self.readable = 0
        self.packets = 0
        self.flows = 0

    def __iter__(self) -> Iterator[FlowBatch]:
        for path in self.paths:
            try:
                for batch in self._one(path):
                    self.flows += batch.height
                    yield batch
                self.readable += 1
            except (CaptureError, ConnLogError, FlowSourceError) as exc:
                if self.strict:
                    raise
                self.errors.append(str(exc))

    def _one(self, path: str) -> Iterator[FlowBatch]:
        kind = sniff(path)
        size = _size(path)
        if kind == "conn.log":
            reader = read_conn_log(Path(path))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConnLogWarning)
                for batch in reader:
                    if batch.height:
                        yield batch
            self.warnings.extend(reader.warnings)
            self._advance(size)
            return
        meter = FlowMeter(self.config)
        done = 0
        with open_capture(path, batch_size=self.batch_size) as capture:
            for packets in capture:
                self.packets += len(packets)
                for observe in self.packet_observers:
                    observe(packets)
                position = min(size, int(capture.stats.captured_bytes) + 16 * capture.stats.packets)
                self._advance(position - done)
                done = position
                flows = meter.add(packets)
                if flows.height:
                    yield flows
            self.warnings.extend(str(w) for w in capture.warnings)
        self._advance(size - done)
        rest = meter.flush()
        if rest.height:
            yield rest

    def _advance(self, amount: int) -> None:
        if self.progress is not None and amount > 0:
            self.progress(amount)


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def iter_flows(
    paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str],
    config: MeterConfig | None = None,
    batch_size: int = 65536,
) -> Iterator[FlowBatch]:
    """FlowBatches from captures (metered) and Zeek conn.logs, path by path.

    Empty batches are not yielded. Each capture gets a fresh meter, flushed at its end.
    Raises :class:`~hedgerow.capture.CaptureError`, :class:`~hedgerow.flows.zeek_log.ConnLogError`
    or :class:`FlowSourceError` (one line naming the file) for an unreadable path.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    return iter(FlowSource(paths, config, batch_size))
