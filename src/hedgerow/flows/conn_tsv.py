"""Zeek TSV conn.log rows straight from flow-table rows, formatted in compiled code.

The fast path of ``hedgerow flows -o conn.log``: ended flow-table rows
(:class:`~hedgerow.flows.rows.FlowRows`) become the bytes of conn.log lines without a dataframe
library: one numba kernel prints times and intervals with Zeek's 6 decimals (rounded half to
even, as the frame-based writer rounds), addresses, uids, histories, MACs, base64 payloads and
the name columns (``proto``, ``service``, ``conn_state``) into one reused byte buffer. The lines
are byte-identical to what :class:`~hedgerow.flows.writers.ZeekWriter` writes for the same flows
built as a FlowBatch (checked on corpus captures in ``tests/flows/test_conn_tsv.py``).

Example:
    >>> from hedgerow.capture import open_capture
    >>> from hedgerow.flows.rows import RowMeter
    >>> meter = RowMeter()
    >>> with open_capture("/work/shared/corpus/zeek-conn/core.q-in-q/q-in-q.pcap") as cap:
    ...     ended = [meter.add_rows(batch) for batch in cap]
    >>> text = bytes(ConnTsvFormatter().format(meter.flush_rows()[0])).decode()
    >>> [line.split("\\t")[11] for line in text.splitlines()]
    ['S0', 'S0', 'S0']
"""

from __future__ import annotations

import numba as nb
import numpy as np
import numpy.typing as npt

from hedgerow.flows import kernels as k
from hedgerow.flows.derive import PROTO_NAMES, STATES, ipv4_mapped, ipv6_texts
from hedgerow.flows.kernels import PAYLOAD_KEEP
from hedgerow.flows.rows import FlowRows
from hedgerow.flows.service import SERVICE_NAMES, service_codes

_ROW_BOUND = 1024
"""Upper bound of one line's bytes without payloads (every field at its widest)."""
_PAYLOAD_BOUND = 2 * (4 * ((PAYLOAD_KEEP + 2) // 3) + 8)
_B64 = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", np.uint8)
_B62 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", np.uint8)


def _names(
    names: list[str] | tuple[str, ...],
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """A name table as one byte blob and ``len + 1`` offsets."""
    encoded = [name.encode() for name in names]
    offsets = np.zeros(len(encoded) + 1, np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    return np.frombuffer(b"".join(encoded) or b"\0", np.uint8), offsets


_PROTO_BLOB, _PROTO_OFF = _names(PROTO_NAMES)
_STATE_BLOB, _STATE_OFF = _names(STATES)
_SERVICE_BLOB, _SERVICE_OFF = _names(SERVICE_NAMES)


@nb.njit(cache=True, inline="always")
def _int(out: npt.NDArray[np.uint8], pos: int, value: int | np.int64) -> int:
    v = np.int64(value)
    if v < 0:
        out[pos] = 45  # '-'
        pos += 1
        v = -v
    # Unsigned arithmetic: division by 10 without the sign fix-ups of Python's floor division.
    u = np.uint64(v)
    ten = np.uint64(10)
    digits = 1
    bound = ten
    while digits < 20 and u >= bound:
        digits += 1
        bound *= ten
    end = pos + digits
    for p in range(end - 1, pos - 1, -1):
        out[p] = np.uint8(np.uint64(48) + u % ten)
        u //= ten
    return end


@nb.njit(cache=True, inline="always")
def _bytes(
    out: npt.NDArray[np.uint8], pos: int, blob: npt.NDArray[np.uint8], start: int, stop: int
) -> int:
    for j in range(start, stop):
        out[pos] = blob[j]
        pos += 1
    return pos


@nb.njit(cache=True, inline="always")
def _seconds(out: npt.NDArray[np.uint8], pos: int, ns: int) -> int:
    """``ns`` as seconds with 6 decimals: float seconds times 1e6, rounded half to even."""
    micros = np.int64(np.rint((np.float64(ns) / 1e9) * 1e6))
    pos = _int(out, pos, micros // 1_000_000)
    out[pos] = 46  # '.'
    frac = micros % 1_000_000
    for j in range(6):
        out[pos + 6 - j] = 48 + frac % 10
        frac //= 10
    return pos + 7


@nb.njit(cache=True, inline="always")
def _ipv4(out: npt.NDArray[np.uint8], pos: int, lo: np.uint64) -> int:
    a = np.int64(lo & np.uint64(0xFFFFFFFF))
    for shift in (24, 16, 8, 0):
        pos = _int(out, pos, (a >> shift) & 255)
        if shift:
            out[pos] = 46
            pos += 1
    return pos


@nb.njit(cache=True, inline="always")
def _mac(out: npt.NDArray[np.uint8], pos: int, mac: np.uint64) -> int:
    if mac == 0:
        out[pos] = 45
        return pos + 1
    for j in range(12):
        nibble = np.int64((mac >> np.uint64(44 - 4 * j)) & np.uint64(15))
        if j and j % 2 == 0:
            out[pos] = 58  # ':'
            pos += 1
        out[pos] = 48 + nibble if nibble < 10 else 87 + nibble
        pos += 1
    return pos


@nb.njit(cache=True, inline="always")
def _base64(
    out: npt.NDArray[np.uint8],
    pos: int,
    pool: npt.NDArray[np.uint8],
    slot: int,
    d: int,
    n: int,
    digits: npt.NDArray[np.uint8],
) -> int:
    """Base64 (with padding) of the first ``n`` bytes of ``pool[slot, d]``; ``(empty)`` if none."""
    if slot < 0 or n == 0:
        for c in (40, 101, 109, 112, 116, 121, 41):  # "(empty)"
            out[pos] = c
            pos += 1
        return pos
    for i in range(0, n, 3):
        b0 = np.int64(pool[slot, d, i])
        b1 = np.int64(pool[slot, d, i + 1]) if i + 1 < n else 0
        b2 = np.int64(pool[slot, d, i + 2]) if i + 2 < n else 0
        out[pos] = digits[b0 >> 2]
        out[pos + 1] = digits[((b0 & 3) << 4) | (b1 >> 4)]
        out[pos + 2] = digits[((b1 & 15) << 2) | (b2 >> 6)] if i + 1 < n else 61
        out[pos + 3] = digits[b2 & 63] if i + 2 < n else 61
        pos += 4
    return pos


@nb.njit(cache=True)
def _format_rows(
    out: npt.NDArray[np.uint8],
    first_ns: npt.NDArray[np.int64],
    last_ns: npt.NDArray[np.int64],
    a_hi: npt.NDArray[np.uint64],
    a_lo: npt.NDArray[np.uint64],
    b_hi: npt.NDArray[np.uint64],
    b_lo: npt.NDArray[np.uint64],
    a_port: npt.NDArray[np.int32],
    b_port: npt.NDArray[np.int32],
    orig_is_a: npt.NDArray[np.bool_],
    proto: npt.NDArray[np.int32],
    vlan: npt.NDArray[np.int32],
    v6_row: npt.NDArray[np.int64],
    v6_blob: npt.NDArray[np.uint8],
    v6_off: npt.NDArray[np.int64],
    service: npt.NDArray[np.int16],
    seq_start: npt.NDArray[np.int64],
    seq_max: npt.NDArray[np.int64],
    acked: npt.NDArray[np.int64],
    fin_end: npt.NDArray[np.int64],
    missed: npt.NDArray[np.int64],
    seen: npt.NDArray[np.bool_],
    pay_bytes: npt.NDArray[np.int64],
    state: npt.NDArray[np.int8],
    history: npt.NDArray[np.uint8],
    hist_len: npt.NDArray[np.int32],
    pkts: npt.NDArray[np.int64],
    ip_bytes: npt.NDArray[np.int64],
    mac: npt.NDArray[np.uint64],
    syn_cnt: npt.NDArray[np.int64],
    ack_only_cnt: npt.NDArray[np.int64],
    rst_cnt: npt.NDArray[np.int64],
    fin_cnt: npt.NDArray[np.int64],
    mirai: npt.NDArray[np.bool_],
    payload: bool,
    pool: npt.NDArray[np.uint8],
    pl_slot: npt.NDArray[np.int32],
    payload_len: npt.NDArray[np.int32],
    names: npt.NDArray[np.uint8],
    name_off: npt.NDArray[np.int64],
    digits62: npt.NDArray[np.uint8],
    digits64: npt.NDArray[np.uint8],
) -> int:
    """Write one conn.log line per flow-table row into ``out``; the number of bytes written.

    Uids, sizes and ``conn_state`` are derived here as :mod:`hedgerow.flows.derive` derives
    them for frames (same hash; the same inline kernels). ``names``/``name_off`` hold the proto
    (0..255), conn_state (256..268) and service (269..) names; ``v6_row[2 f + side]`` (side 0:
    endpoint a) is the row of that address in the IPv6 texts (``v6_blob``/``v6_off``), or -1
    for IPv4.
    """
    n = first_ns.shape[0]
    pos = 0
    tab = 9
    base62 = np.uint64(62)
    for f in range(n):
        pos = _seconds(out, pos, first_ns[f])
        out[pos] = tab
        out[pos + 1] = 67  # 'C'
        pos += 2
        h1, h2 = k.uid_hash(a_hi, a_lo, b_hi, b_lo, a_port, b_port, proto, vlan, first_ns, f)
        for _ in range(11):
            out[pos] = digits62[np.int64(h1 % base62)]
            h1 //= base62
            pos += 1
        for _ in range(6):
            out[pos] = digits62[np.int64(h2 % base62)]
            h2 //= base62
            pos += 1
        for side in range(2):
            is_a = orig_is_a[f] == (side == 0)
            out[pos] = tab
            pos += 1
            row = v6_row[2 * f + (0 if is_a else 1)]
            if row < 0:
                pos = _ipv4(out, pos, a_lo[f] if is_a else b_lo[f])
            else:
                pos = _bytes(out, pos, v6_blob, v6_off[row], v6_off[row + 1])
            out[pos] = tab
            pos = _int(out, pos + 1, a_port[f] if is_a else b_port[f])
        out[pos] = tab
        p = proto[f]
        pos = _bytes(out, pos + 1, names, name_off[p], name_off[p + 1])
        out[pos] = tab
        pos += 1
        code = np.int64(service[f])
        if code < 0:
            out[pos] = 45
            pos += 1
        else:
            pos = _bytes(out, pos, names, name_off[269 + code], name_off[270 + code])
        out[pos] = tab
        pos += 1
        lost = np.int64(0)
        if p == 6:
            size0, lost0 = k.tcp_size(seq_start, seq_max, acked, fin_end, missed, seen, f, 0)
            size1, lost1 = k.tcp_size(seq_start, seq_max, acked, fin_end, missed, seen, f, 1)
            lost = lost0 + lost1
        else:
            size0 = pay_bytes[f, 0]
            size1 = pay_bytes[f, 1]
        if last_ns[f] - first_ns[f] > 0:
            pos = _seconds(out, pos, last_ns[f] - first_ns[f])
            out[pos] = tab
            pos = _int(out, pos + 1, size0)
            out[pos] = tab
            pos = _int(out, pos + 1, size1)
        else:
            for c in (45, tab, 45, tab, 45):
                out[pos] = c
                pos += 1
        out[pos] = tab
        s = 256 + k.conn_state(state, pkts, history, hist_len, p, size0, size1, f)
        pos = _bytes(out, pos + 1, names, name_off[s], name_off[s + 1])
        for c in (tab, 45, tab, 45, tab):  # local_orig, local_resp: unset
            out[pos] = c
            pos += 1
        pos = _int(out, pos, lost)
        out[pos] = tab
        pos += 1
        if hist_len[f] == 0:
            out[pos] = 45
            pos += 1
        else:
            for j in range(hist_len[f]):
                out[pos] = history[f, j]
                pos += 1
        for d in range(2):
            out[pos] = tab
            pos = _int(out, pos + 1, pkts[f, d])
            out[pos] = tab
            pos = _int(out, pos + 1, ip_bytes[f, d])
        for d in range(2):
            out[pos] = tab
            pos = _mac(out, pos + 1, mac[f, d])
        out[pos] = tab
        pos += 1
        if vlan[f] == 0:
            out[pos] = 45
            pos += 1
        else:
            pos = _int(out, pos, vlan[f])
        if payload:
            for d in range(2):
                out[pos] = tab
                pos = _base64(out, pos + 1, pool, pl_slot[f], d, payload_len[f, d], digits64)
        tcp = p == 6
        for value in (
            syn_cnt[f, 0], ack_only_cnt[f, 0], rst_cnt[f, 0], fin_cnt[f, 0], rst_cnt[f, 1],
        ):  # fmt: skip
            out[pos] = tab
            pos = _int(out, pos + 1, value if tcp else 0)
        out[pos] = tab
        out[pos + 1] = 84 if mirai[f] else 70  # T / F
        for c in (tab, 45, tab, 45, 10):  # label, detailed_label: unset
            out[pos + 2] = c
            pos += 1
        pos += 2
    return pos


_NAMES_BLOB = np.concatenate([_PROTO_BLOB, _STATE_BLOB, _SERVICE_BLOB])
_NAMES_OFF = np.concatenate(
    [
        _PROTO_OFF[:-1],
        _STATE_OFF[:-1] + _PROTO_OFF[-1],
        _SERVICE_OFF + _PROTO_OFF[-1] + _STATE_OFF[-1],
    ]
)


class ConnTsvFormatter:
    """Formats :class:`FlowRows` chunks as conn.log lines (reusing one output buffer)."""

    def __init__(self, payload: bool = False) -> None:
        self.payload = payload
        self._buf = np.empty(0, np.uint8)

    def format(self, rows: FlowRows) -> memoryview:
        """The lines of ``rows`` (valid until the next call)."""
        t, pool = rows
        n = t.a_hi.shape[0]
        bound = n * (_ROW_BOUND + (_PAYLOAD_BOUND if self.payload else 0))
        if self._buf.shape[0] < bound:
            self._buf = np.empty(bound, np.uint8)
        v6_row = np.full(2 * n, -1, np.int64)
        v6_blob, v6_off = _names([])
        hi = np.stack([t.a_hi, t.b_hi], axis=1).reshape(-1)
        lo = np.stack([t.a_lo, t.b_lo], axis=1).reshape(-1)
        v4 = ipv4_mapped(hi, lo)
        if not v4.all():
            v6_at = np.flatnonzero(~v4)
            texts, inverse = ipv6_texts(hi[v6_at], lo[v6_at])
            v6_blob, v6_off = _names(texts)
            v6_row[v6_at] = inverse
        oa = t.orig_is_a
        orig_p = np.where(oa, t.a_port, t.b_port)
        resp_p = np.where(oa, t.b_port, t.a_port)
        service = service_codes(pool, t.pl_slot, t.payload_len, t.proto, orig_p, resp_p)
        end = _format_rows(
            self._buf, t.first_ns, t.last_ns, t.a_hi, t.a_lo, t.b_hi, t.b_lo, t.a_port,
            t.b_port, oa, t.proto, t.vlan, v6_row, v6_blob, v6_off, service, t.seq_start,
            t.seq_max, t.acked, t.fin_end, t.missed, t.seen, t.pay_bytes, t.state, t.history,
            t.hist_len, t.pkts, t.ip_bytes, t.mac, t.syn_cnt, t.ack_only_cnt, t.rst_cnt,
            t.fin_cnt, t.mirai, self.payload, pool, t.pl_slot, t.payload_len, _NAMES_BLOB,
            _NAMES_OFF, _B62, _B64,
        )  # fmt: skip
        return self._buf.data[:end]
