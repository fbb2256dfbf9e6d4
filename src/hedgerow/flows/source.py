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
from typing import TYPE_CHECKING

from hedgerow.background import prefetched
from hedgerow.capture import CaptureError, open_capture
from hedgerow.capture.batch import PacketBatch
from hedgerow.flows.errors import ConnLogError, ConnLogWarning
from hedgerow.flows.rows import FlowRows, MeterConfig, RowMeter, RowSink

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from hedgerow.flows.kernels import FlowTable
    from hedgerow.flows.schema import FlowBatch

GZIP_MAGIC = b"\x1f\x8b"

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
    from hedgerow.flows.zeek_log import sniff_conn_log

    if sniff_conn_log(head) is not None:
        return "conn.log"
    raise FlowSourceError(f"{os.fspath(path)}: neither a pcap/pcapng capture nor a Zeek conn.log")


class FlowSource:
    """Iterate flows from several paths, keeping count and the problems met.

    With ``strict=False`` an unreadable path is recorded in ``errors`` (one line naming the file)
    and skipped; with ``strict=True`` its error is raised. ``warnings`` collects capture and
    conn.log warnings (truncation, skipped lines); ``progress`` (if given) is called with the
    number of input bytes consumed since the previous call. Each of ``packet_observers`` is
    called with every PacketBatch of a capture, in order, before the flows it ended are
    yielded, so other packet consumers (the device inventory) share the single read; conn.logs
    have no packets. With a ``row_sink`` (:data:`~hedgerow.flows.rows.RowSink`), a capture's
    ended flows go to it as the meter drops them, and iterating yields only the conn.logs'
    flows. With ``read_ahead`` a capture is read and metered one packet batch ahead in a
    background thread (:func:`~hedgerow.background.prefetched`), on another core while the
    consumer works on the flows (``hedgerow scan``; one batch more in memory).

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
        row_sink: RowSink | None = None,
        read_ahead: bool = False,
    ) -> None:
        self.paths = [os.fspath(p) for p in paths]
        self.read_ahead = read_ahead
        self.row_sink = row_sink
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
        from hedgerow.flows.meter import frame_of

        for item in self.iter_chunks():
            batch = item if not isinstance(item, list) else frame_of(item)
            if batch.height:
                yield batch

    def iter_rows(self) -> Iterator[FlowRows | FlowBatch]:
        """Like iterating the source, but a capture's flows come as the meter's ended
        flow-table rows (:class:`~hedgerow.flows.rows.FlowRows`), not built into frames;
        conn.logs still give FlowBatches. No dataframe library is loaded for captures."""
        for item in self.iter_chunks():
            if isinstance(item, list):
                yield from item
            else:
                yield item

    def iter_chunks(self) -> Iterator[list[FlowRows] | FlowBatch]:
        """Like :meth:`iter_rows`, but a capture's flow-table row chunks come as one list per
        packet batch (the flows that ended with it; the last list, those left at its end), so
        a caller can build frames of several batches at once
        (:func:`~hedgerow.flows.meter.frame_of`). Lists may be empty; FlowBatches never are."""
        for path in self.paths:
            try:
                for item in self._one(path):
                    if isinstance(item, list):
                        self.flows += sum(chunk.table.a_hi.shape[0] for chunk in item)
                    else:
                        self.flows += item.height
                    yield item
                self.readable += 1
            except (CaptureError, ConnLogError, FlowSourceError) as exc:
                if self.strict:
                    raise
                self.errors.append(str(exc))

    def _one(self, path: str) -> Iterator[FlowBatch | list[FlowRows]]:
        """The flows of one path: FlowBatches from a conn.log; from a capture, the meter's
        FlowRows chunks per packet batch."""
        kind = sniff(path)
        size = _size(path)
        if kind == "conn.log":
            from hedgerow.flows.zeek_log import read_conn_log

            reader = read_conn_log(Path(path))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConnLogWarning)
                for batch in reader:
                    if batch.height:
                        yield batch
            self.warnings.extend(reader.warnings)
            self._advance(size)
            return
        yield from self._capture(path, size)

    def _capture(self, path: str, size: int) -> Iterator[list[FlowRows]]:
        """Meter a capture: the flows ended by each packet batch, then the rest at its end.
        The packet observers see each batch here, in order, before the flows it ended are
        yielded (with ``read_ahead``, after the background thread metered it)."""
        done = 0
        metered = self._metered(path, size)
        for packets, ended, position in prefetched(metered, 1) if self.read_ahead else metered:
            if packets is not None:
                self.packets += len(packets)
                for observe in self.packet_observers:
                    observe(packets)
            self._advance(position - done)
            done = position
            yield ended
        self._advance(size - done)

    def _metered(
        self, path: str, size: int
    ) -> Iterator[tuple[PacketBatch | None, list[FlowRows], int]]:
        """Each packet batch with the flows it ended and the input position reached; last,
        ``None`` with the flows left at the end."""
        meter = RowMeter(self.config, None if self.row_sink is None else self._sink)
        with open_capture(path, batch_size=self.batch_size) as capture:
            for packets in capture:
                position = min(size, int(capture.stats.captured_bytes) + 16 * capture.stats.packets)
                yield packets, meter.add_rows(packets), position
            self.warnings.extend(str(w) for w in capture.warnings)
        yield None, meter.flush_rows(), size

    def _sink(
        self, table: FlowTable, rows: npt.NDArray[np.int64], pool: npt.NDArray[np.uint8]
    ) -> None:
        self.flows += rows.shape[0]
        if self.row_sink is not None:
            self.row_sink(table, rows, pool)

    def _advance(self, amount: int) -> None:
        if self.progress is not None and amount > 0:
            self.progress(amount)


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


PacketObserver = Callable[[PacketBatch], None]
"""Something that reads every packet batch of a capture before the flows they end."""
FlowReader = Callable[[Path, Sequence[PacketObserver]], Iterable["FlowBatch"]]
"""A file's FlowBatches, its packets shown to the observers (``hedgerow eval``, ``rules test``)."""


def iter_flows(
    paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str],
    config: MeterConfig | None = None,
    batch_size: int = 65536,
    packet_observers: Sequence[PacketObserver] = (),
) -> Iterator[FlowBatch]:
    """FlowBatches from captures (metered) and Zeek conn.logs, path by path.

    Empty batches are not yielded. Each capture gets a fresh meter, flushed at its end.
    Raises :class:`~hedgerow.capture.CaptureError`, :class:`~hedgerow.flows.zeek_log.ConnLogError`
    or :class:`FlowSourceError` (one line naming the file) for an unreadable path.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    return iter(FlowSource(paths, config, batch_size, packet_observers=packet_observers))
