"""What a capture holds: link types, time span, packets, hosts, protocol mix, decode problems.

Accumulated batch by batch with array operations; memory grows only with the number of
distinct hosts.

Example:
    >>> from hedgerow.capture import open_capture
    >>> summary = summarize(open_capture("capture.pcap"))  # doctest: +SKIP
    >>> summary.packets, summary.hosts  # doctest: +SKIP
    (2011, 1008)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from hedgerow.capture.batch import L3, PacketBatch

if TYPE_CHECKING:
    from hedgerow.capture.reader import CaptureReader

LINK_NAMES = {
    0: "BSD loopback",
    1: "Ethernet",
    12: "raw IP",
    14: "raw IP",
    101: "raw IP",
    108: "OpenBSD loopback",
    113: "Linux cooked (SLL)",
    228: "raw IPv4",
    229: "raw IPv6",
    276: "Linux cooked v2 (SLL2)",
}
_PROTO_NAMES = {1: "ICMP", 2: "IGMP", 6: "TCP", 17: "UDP", 47: "GRE", 50: "ESP", 58: "ICMPv6"}


def link_name(link: int) -> str:
    """A readable name of a pcap link type (``"link type 147"`` when unknown)."""
    return LINK_NAMES.get(link, f"link type {link}")


@dataclass
class CaptureSummary:
    """The totals ``hedgerow info`` shows for one capture."""

    path: str
    format: str = ""
    compressed: bool = False
    link_types: list[int] = field(default_factory=list)
    first_ns: int | None = None
    last_ns: int | None = None
    packets: int = 0
    bytes: int = 0
    captured_bytes: int = 0
    hosts: int = 0
    protocols: dict[str, int] = field(default_factory=dict)
    status: dict[str, int] = field(default_factory=dict)
    warnings: list[tuple[int, str]] = field(default_factory=list)
    error: str | None = None

    @property
    def duration_s(self) -> float:
        if self.first_ns is None or self.last_ns is None:
            return 0.0
        return (self.last_ns - self.first_ns) / 1e9

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (timestamps as ISO 8601 UTC strings)."""
        return {
            "path": self.path,
            "format": self.format or None,
            "compressed": self.compressed,
            "link_types": [{"id": lt, "name": link_name(lt)} for lt in self.link_types],
            "first_ts": _iso(self.first_ns),
            "last_ts": _iso(self.last_ns),
            "duration_s": round(self.duration_s, 6),
            "packets": self.packets,
            "bytes": self.bytes,
            "captured_bytes": self.captured_bytes,
            "hosts": self.hosts,
            "protocols": self.protocols,
            "status": self.status,
            "warnings": [{"offset": off, "message": msg} for off, msg in self.warnings],
            "error": self.error,
        }


def _iso(ns: int | None) -> str | None:
    if ns is None:
        return None
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat(timespec="microseconds")


def _protocol_counts(batch: PacketBatch) -> dict[str, int]:
    """Packets per ``L3/L4`` label of one batch (e.g. ``IPv4/TCP``, ``ARP``)."""
    counts: dict[str, int] = {}
    key = batch.l3.astype(np.int32) * 256 + batch.proto
    ip = (batch.l3 == L3.IPV4) | (batch.l3 == L3.IPV6)
    key = np.where(ip, key, batch.l3.astype(np.int32) * 256)
    values, freq = np.unique(key, return_counts=True)
    for value, n in zip(values.tolist(), freq.tolist(), strict=True):
        l3, proto = divmod(value, 256)
        if l3 in (L3.IPV4, L3.IPV6):
            family = "IPv4" if l3 == L3.IPV4 else "IPv6"
            label = f"{family}/{_PROTO_NAMES.get(proto, f'proto {proto}')}"
        else:
            label = {L3.NONE: "undecoded", L3.ARP: "ARP"}.get(l3, "non-IP")
        counts[label] = counts.get(label, 0) + n
    return counts


def _addresses(batch: PacketBatch) -> npt.NDArray[np.void]:
    """Distinct source and destination IP addresses of a batch, as 16-byte keys."""
    ip = (batch.l3 == L3.IPV4) | (batch.l3 == L3.IPV6) | (batch.l3 == L3.ARP)
    hi = np.concatenate([batch.src_hi[ip], batch.dst_hi[ip]])
    lo = np.concatenate([batch.src_lo[ip], batch.dst_lo[ip]])
    pairs = np.ascontiguousarray(np.stack([hi, lo], axis=1))
    return np.unique(pairs.view(np.dtype((np.void, 16))).ravel())


def summarize(
    reader: CaptureReader, progress: Callable[[int], None] | None = None
) -> CaptureSummary:
    """Read the whole capture and total it; ``progress`` gets the file bytes read so far."""
    summary = CaptureSummary(path=reader.path, format=reader.format, compressed=reader.compressed)
    hosts = np.zeros(0, dtype=np.dtype((np.void, 16)))
    protocols: dict[str, int] = {}
    for batch in reader:
        if len(batch):
            low, high = int(batch.ts_ns.min()), int(batch.ts_ns.max())
            summary.first_ns = low if summary.first_ns is None else min(summary.first_ns, low)
            summary.last_ns = high if summary.last_ns is None else max(summary.last_ns, high)
            hosts = np.union1d(hosts, _addresses(batch))
            for label, n in _protocol_counts(batch).items():
                protocols[label] = protocols.get(label, 0) + n
        if progress is not None:
            progress(reader.bytes_read)
    summary.link_types = list(reader.link_types)
    summary.packets = reader.stats.packets
    summary.bytes = reader.stats.bytes
    summary.captured_bytes = reader.stats.captured_bytes
    summary.hosts = int(hosts.shape[0])
    summary.protocols = dict(sorted(protocols.items(), key=lambda kv: -kv[1]))
    summary.status = dict(reader.stats.status)
    summary.warnings = [(w.offset, w.message) for w in reader.warnings]
    return summary
