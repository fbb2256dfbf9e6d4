"""PacketBatch: a columnar batch of decoded packets (one numpy array per header field).

Readers yield these; the flow meter, inventory parsers and packet-level detectors consume them.
No Python object is made per packet.

Addresses are 128-bit, split in two ``uint64`` columns: IPv6 as is, IPv4 mapped to
``::ffff:a.b.c.d`` (so ``*_hi == 0x0000_0000_0000_0000`` and ``*_lo == 0x0000_ffff_xxxx_xxxx``).
For ARP, ``src``/``dst`` hold the sender/target protocol addresses and ``sport`` the ARP opcode.
For ICMP/ICMPv6, ``sport``/``dport`` hold type/code (Zeek's convention).

How the readers (:func:`hedgerow.capture.open_capture`) fill the other columns:

- ``ts_ns``: capture time in ns since the epoch (a pcapng simple packet block, which has no
  timestamp, gets the previous packet's); ``iface``: pcapng interface id within its section
  (0 for pcap); ``link_type``: the pcap/pcapng link type of the packet.
- ``eth_src``/``eth_dst``: MACs as 48-bit integers (Linux cooked captures: the source address
  only; ARP without one: the sender MAC); ``vlan``: VLAN id of the outermost 802.1Q/802.1ad tag
  (0 when untagged), as Zeek's ``vlan``; PPPoE sessions and MPLS label stacks are skipped
  to the IP packet inside.
- ``ttl``: IPv4 TTL or IPv6 hop limit; ``ip_len``: IPv4 total length or IPv6 payload length
  + 40; ``ip_id``: IPv4 identification, or the IPv6 fragment header's identification;
  ``proto``: the upper-layer protocol after IPv6 extension headers; ``frag``: :class:`Frag`
  (a ``LATER`` fragment has no transport header: ports, flags and seq stay 0).
- ``payload_len``: transport payload length announced by the IP length (not the captured
  length; for a later fragment, the whole fragment payload); 0 when a snap length cut the TCP
  header before its data offset.
- ``status``: :class:`DecodeStatus`; fields the snap length left are still filled when a
  header is ``TRUNCATED``.
- ``data`` is a view into the reader's chunk buffer: copy what you keep beyond the batch.

Example:
    >>> batch = PacketBatch.empty(0)
    >>> len(batch)
    0
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import IntEnum

import numpy as np
import numpy.typing as npt


class L3(IntEnum):
    """Network-layer type of a packet (``PacketBatch.l3``)."""

    NONE = 0
    ARP = 1
    IPV4 = 4
    IPV6 = 6
    OTHER = 255


class DecodeStatus(IntEnum):
    """How far a packet could be decoded (``PacketBatch.status``)."""

    OK = 0
    TRUNCATED = 1
    MALFORMED = 2
    UNSUPPORTED_LINK = 3


class TcpFlag(IntEnum):
    FIN = 0x01
    SYN = 0x02
    RST = 0x04
    PSH = 0x08
    ACK = 0x10
    URG = 0x20
    ECE = 0x40
    CWR = 0x80


class Frag(IntEnum):
    """IP fragmentation state (``PacketBatch.frag``)."""

    NONE = 0
    FIRST = 1
    LATER = 2


_COLUMNS: dict[str, type[np.generic]] = {
    "ts_ns": np.int64,
    "wire_len": np.uint32,
    "cap_len": np.uint32,
    "iface": np.uint16,
    "link_type": np.uint16,
    "eth_src": np.uint64,
    "eth_dst": np.uint64,
    "vlan": np.uint16,
    "l3": np.uint8,
    "src_hi": np.uint64,
    "src_lo": np.uint64,
    "dst_hi": np.uint64,
    "dst_lo": np.uint64,
    "proto": np.uint8,
    "ttl": np.uint8,
    "ip_len": np.uint32,
    "ip_id": np.uint32,
    "frag": np.uint8,
    "sport": np.uint16,
    "dport": np.uint16,
    "tcp_flags": np.uint8,
    "seq": np.uint32,
    "ack": np.uint32,
    "window": np.uint16,
    "payload_len": np.uint32,
    "payload_off": np.int64,
    "payload_cap": np.uint32,
    "pkt_off": np.int64,
    "status": np.uint8,
}


@dataclass(slots=True)
class PacketBatch:
    """Decoded packets, one array per field, all of the same length.

    ``data`` holds the raw bytes of the batch's records; ``pkt_off`` and ``payload_off`` index
    into it (``payload_cap`` bytes of L4 payload are present; ``payload_len`` is what the headers
    announce, which may be more when the snap length cut the packet). ``ip_len`` is the IP total
    length (Zeek's ``*_ip_bytes`` unit); ``wire_len`` the frame length on the wire.
    """

    ts_ns: npt.NDArray[np.int64]
    wire_len: npt.NDArray[np.uint32]
    cap_len: npt.NDArray[np.uint32]
    iface: npt.NDArray[np.uint16]
    link_type: npt.NDArray[np.uint16]
    eth_src: npt.NDArray[np.uint64]
    eth_dst: npt.NDArray[np.uint64]
    vlan: npt.NDArray[np.uint16]
    l3: npt.NDArray[np.uint8]
    src_hi: npt.NDArray[np.uint64]
    src_lo: npt.NDArray[np.uint64]
    dst_hi: npt.NDArray[np.uint64]
    dst_lo: npt.NDArray[np.uint64]
    proto: npt.NDArray[np.uint8]
    ttl: npt.NDArray[np.uint8]
    ip_len: npt.NDArray[np.uint32]
    ip_id: npt.NDArray[np.uint32]
    frag: npt.NDArray[np.uint8]
    sport: npt.NDArray[np.uint16]
    dport: npt.NDArray[np.uint16]
    tcp_flags: npt.NDArray[np.uint8]
    seq: npt.NDArray[np.uint32]
    ack: npt.NDArray[np.uint32]
    window: npt.NDArray[np.uint16]
    payload_len: npt.NDArray[np.uint32]
    payload_off: npt.NDArray[np.int64]
    payload_cap: npt.NDArray[np.uint32]
    pkt_off: npt.NDArray[np.int64]
    status: npt.NDArray[np.uint8]
    data: npt.NDArray[np.uint8]

    @classmethod
    def empty(cls, n: int, data: npt.NDArray[np.uint8] | None = None) -> PacketBatch:
        """A zero-filled batch of ``n`` packets (readers fill it in place)."""
        columns = {name: np.zeros(n, dtype=dtype) for name, dtype in _COLUMNS.items()}
        raw = data if data is not None else np.zeros(0, dtype=np.uint8)
        return cls(**columns, data=raw)

    def __len__(self) -> int:
        return int(self.ts_ns.shape[0])

    def take(self, index: npt.NDArray[np.intp] | npt.NDArray[np.bool_]) -> PacketBatch:
        """A new batch with the selected rows (``data`` is shared)."""
        columns = {name: getattr(self, name)[index] for name in _COLUMNS}
        return PacketBatch(**columns, data=self.data)

    def payload(self, row: int) -> bytes:
        """The captured L4 payload bytes of one packet (for inspection, not hot paths)."""
        start = int(self.payload_off[row])
        return self.data[start : start + int(self.payload_cap[row])].tobytes()

    @staticmethod
    def column_names() -> tuple[str, ...]:
        return tuple(_COLUMNS)


assert {f.name for f in fields(PacketBatch)} == {*_COLUMNS, "data"}
