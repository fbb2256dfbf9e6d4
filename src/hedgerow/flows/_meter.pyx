# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The flow meter's per-packet loop over a flow table of numpy arrays (compiled, Cython).

See :mod:`hedgerow.flows.kernels` for the table layout. The loops index the table and the
batch columns without bounds checks: ``_check_shapes`` verifies on entry that every column
holds the rows the loop can reach, slots and pool rows stay below their arrays' sizes by
construction (masks, the capacity test), and payload copies are clamped to the batch buffer.
"""

from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy

cdef enum:
    INACTIVE = 0
    SYN_SENT = 1
    SYN_ACK_SENT = 2
    PARTIAL = 3
    ESTABLISHED = 4
    CLOSED = 5
    RESET = 6
    H_SYN = 1
    H_SYNACK = 2
    H_ACK = 4
    H_DATA = 8
    H_FIN = 16
    H_RST = 32
    H_MULTI = 64
    H_INCONS = 128
    H_GAP = 256
    FIN = 0x01
    SYN = 0x02
    RST = 0x04
    ACK = 0x10
    LIVE = 0
    DONE_IDLE = 1
    DONE_ACTIVE = 2
    DONE_CLOSED = 3
    DONE_REUSED = 4


cdef inline uint64_t _mix(uint64_t x) noexcept nogil:
    x ^= x >> 33
    x *= 0xFF51AFD7ED558CCDULL
    x ^= x >> 33
    x *= 0xC4CEB9FE1A85EC53ULL
    x ^= x >> 33
    return x


cdef inline uint64_t _key_hash(
    uint64_t a_hi, uint64_t a_lo, uint64_t b_hi, uint64_t b_lo,
    int64_t a_port, int64_t b_port, int64_t proto, int64_t vlan,
) noexcept nogil:
    cdef uint64_t h = _mix(a_lo ^ 0x9E3779B97F4A7C15ULL)
    cdef uint64_t ports
    h = _mix(h ^ b_lo)
    h = _mix(h ^ a_hi ^ (b_hi * 31))
    ports = (<uint64_t>a_port << 40) | (<uint64_t>b_port << 16)
    h = _mix(h ^ ports ^ <uint64_t>proto ^ (<uint64_t>vlan << 8))
    return h


cdef inline uint64_t _frag_key(
    uint64_t s_hi, uint64_t s_lo, uint64_t d_hi, uint64_t d_lo, uint32_t ip_id, int64_t p
) noexcept nogil:
    cdef uint64_t fk = _mix(s_lo ^ _mix(d_lo ^ (s_hi * 7) ^ d_hi)) ^ <uint64_t>ip_id
    return _mix(fk ^ (<uint64_t>p << 32))


def _check_shapes(Py_ssize_t rows, *columns):
    """Raise ``ValueError`` unless every column has at least ``rows`` rows."""
    for column in columns:
        if column.shape[0] < rows:
            raise ValueError(f"column has {column.shape[0]} rows, the loop needs {rows}")


def rebuild_index(
    int32_t[::1] index,
    Py_ssize_t n,
    const uint64_t[::1] a_hi,
    const uint64_t[::1] a_lo,
    const uint64_t[::1] b_hi,
    const uint64_t[::1] b_lo,
    const int32_t[::1] a_port,
    const int32_t[::1] b_port,
    const int32_t[::1] proto,
    const int32_t[::1] vlan,
):
    """Fill the hash index (all ``-1`` on entry, more than ``n`` slots) with flows ``0..n-1``."""
    cdef Py_ssize_t size = index.shape[0]
    if size <= n:
        raise ValueError(f"index of {size} slots for {n} flows")
    _check_shapes(n, a_hi, a_lo, b_hi, b_lo, a_port, b_port, proto, vlan)
    cdef uint64_t mask = size - 1
    cdef uint64_t s
    cdef Py_ssize_t f
    with nogil:
        for f in range(n):
            s = _key_hash(
                a_hi[f], a_lo[f], b_hi[f], b_lo[f], a_port[f], b_port[f], proto[f], vlan[f]
            ) & mask
            while index[s] >= 0:
                s = (s + 1) & mask
            index[s] = <int32_t>f


cdef inline int64_t _unwrap(int64_t ref, int64_t value) noexcept nogil:
    """The 64-bit sequence position nearest ``ref`` whose low 32 bits are ``value``."""
    cdef int64_t diff = (value - ref) & 0xFFFFFFFFLL
    if diff >= 0x80000000LL:
        diff -= 0x100000000LL
    return ref + diff


cdef inline void _add_letter(
    uint8_t[:, ::1] history, int32_t[::1] hist_len, Py_ssize_t f, int letter, Py_ssize_t d
) noexcept nogil:
    cdef int32_t n = hist_len[f]
    if n < history.shape[1]:
        history[f, n] = letter if d == 0 else letter + 32
        hist_len[f] = n + 1


cdef inline bint _check(
    int32_t[:, ::1] hist_bits,
    uint8_t[:, ::1] history,
    int32_t[::1] hist_len,
    Py_ssize_t f,
    Py_ssize_t d,
    int bit,
    int letter,
) noexcept nogil:
    """Zeek's CheckHistory: record ``letter`` the first time; True when already seen."""
    if hist_bits[f, d] & bit:
        return True
    hist_bits[f, d] |= bit
    _add_letter(history, hist_len, f, letter, d)
    return False


def meter_packets(
    Py_ssize_t start,
    const int64_t[::1] sel,
    const int64_t[::1] ts_ns,
    const uint64_t[::1] src_hi,
    const uint64_t[::1] src_lo,
    const uint64_t[::1] dst_hi,
    const uint64_t[::1] dst_lo,
    const int32_t[::1] sport,
    const int32_t[::1] dport,
    const uint8_t[::1] proto_col,
    const uint16_t[::1] vlan_col,
    const uint8_t[::1] prefer_resp,
    const uint8_t[::1] later_frag,
    const uint8_t[::1] first_frag,
    const uint32_t[::1] ip_id,
    const uint32_t[::1] ip_len,
    const uint8_t[::1] flags_col,
    const uint32_t[::1] seq_col,
    const uint32_t[::1] ack_col,
    const uint16_t[::1] window,
    const uint32_t[::1] payload_len,
    const int64_t[::1] payload_off,
    const uint32_t[::1] payload_cap,
    const uint64_t[::1] eth_src,
    const uint64_t[::1] eth_dst,
    const uint8_t[::1] data,
    const uint8_t[::1] likely_server_tcp,
    const uint8_t[::1] likely_server_udp,
    const int64_t[::1] timeouts_ns,
    int64_t active_ns,
    int64_t close_ns,
    int32_t[::1] index,
    int64_t[::1] n_flows,
    int64_t[::1] frag_index,
    uint64_t[::1] frag_key,
    uint8_t[:, :, ::1] pool,
    int64_t[::1] pool_n,
    uint64_t[::1] a_hi,
    uint64_t[::1] a_lo,
    uint64_t[::1] b_hi,
    uint64_t[::1] b_lo,
    int32_t[::1] a_port,
    int32_t[::1] b_port,
    int32_t[::1] proto,
    int32_t[::1] vlan,
    uint8_t[::1] orig_is_a,
    uint8_t[::1] flipped,
    int64_t[::1] first_ns,
    int64_t[::1] last_ns,
    int64_t[::1] end_ns,
    int8_t[::1] done,
    int64_t[:, ::1] pkts,
    int64_t[:, ::1] ip_bytes,
    int64_t[:, ::1] pay_bytes,
    int8_t[:, ::1] state,
    int64_t[:, ::1] seq_start,
    int64_t[:, ::1] seq_max,
    int64_t[:, ::1] acked,
    int64_t[:, ::1] fin_end,
    int64_t[:, ::1] missed,
    uint8_t[:, ::1] seen,
    int32_t[:, ::1] hist_bits,
    int64_t[:, ::1] last_syn,
    int64_t[:, ::1] last_fin,
    int64_t[:, ::1] last_rst,
    int64_t[:, ::1] retrans,
    int64_t[:, ::1] retrans_next,
    int64_t[:, ::1] zero_win,
    int64_t[:, ::1] zero_win_next,
    uint8_t[:, ::1] history,
    int32_t[::1] hist_len,
    int64_t[:, ::1] syn_cnt,
    int64_t[:, ::1] fin_cnt,
    int64_t[:, ::1] rst_cnt,
    int64_t[:, ::1] ack_only_cnt,
    uint8_t[::1] mirai,
    uint64_t[:, ::1] mac,
    int32_t[::1] pl_slot,
    int32_t[:, ::1] pl_len,
):
    """Meter packets ``sel[start:]``; return the position reached (== len(sel) when done).

    Stops early when the table or the payload pool is full (the caller grows it and calls
    again from there). Payload prefixes live in ``pool`` rows, given to a flow (``pl_slot``) when
    it first carries payload, so flows without payload (scans, floods) cost no payload memory.
    """
    cdef Py_ssize_t capacity = a_hi.shape[0]
    cdef Py_ssize_t n_sel = sel.shape[0]
    cdef Py_ssize_t n_pkts = ts_ns.shape[0]
    cdef Py_ssize_t n_idx = index.shape[0]
    cdef Py_ssize_t n_frag = frag_index.shape[0]
    cdef uint64_t mask = n_idx - 1
    cdef uint64_t fmask = n_frag - 1
    cdef int64_t keep = pool.shape[2]
    cdef int64_t data_len = data.shape[0]
    cdef int64_t n_pool = pool.shape[0]
    cdef Py_ssize_t pos, i, f, g, n, d, e, dd
    cdef int64_t now, p, sp, dp, vl, fr_slot, kpa, kpb, tmo, flags, seq, rel, base
    cdef int64_t plen, data_start, data_end, rel_hist, have, take, off, a, row
    cdef uint64_t s_hi, s_lo, d_hi, d_lo, ka_hi, ka_lo, kb_hi, kb_lo, h, slot, fk
    cdef bint src_is_a, a_side, is_syn, is_ack, is_fin, is_rst, flip, bcast, gap
    cdef int reason, bits, code, bit
    cdef int8_t st, so, sr
    cdef Py_ssize_t stop = n_sel
    if n_idx <= capacity:
        raise ValueError(f"index of {n_idx} slots for {capacity} flows")
    if n_frag == 0 or frag_key.shape[0] != n_frag:
        raise ValueError("fragment index and keys of one non-zero size expected")
    if (pool.shape[1] != 2 or likely_server_tcp.shape[0] < 65536
            or likely_server_udp.shape[0] < 65536):
        raise ValueError("payload pool rows of 2 sides and 65,536-port server tables expected")
    if timeouts_ns.shape[0] < 3 or n_flows.shape[0] < 1 or pool_n.shape[0] < 1:
        raise ValueError("three timeouts and one-element counters expected")
    _check_shapes(capacity, a_lo, b_hi, b_lo, a_port, b_port, proto, vlan, orig_is_a, flipped,
                  first_ns, last_ns, end_ns, done, pkts, ip_bytes, pay_bytes, state, seq_start,
                  seq_max, acked, fin_end, missed, seen, hist_bits, last_syn, last_fin, last_rst,
                  retrans, retrans_next, zero_win, zero_win_next, history, hist_len, syn_cnt,
                  fin_cnt, rst_cnt, ack_only_cnt, mirai, mac, pl_slot, pl_len)
    _check_shapes(n_pkts, src_hi, src_lo, dst_hi, dst_lo, sport, dport, proto_col, vlan_col,
                  prefer_resp, later_frag, first_frag, ip_id, ip_len, flags_col, seq_col, ack_col,
                  window, payload_len, payload_off, payload_cap, eth_src, eth_dst)
    for pos in range(start, n_sel):
        if not 0 <= sel[pos] < n_pkts:
            raise ValueError(f"packet index {sel[pos]} outside the batch")
    if not 0 <= n_flows[0] <= capacity or not 0 <= pool_n[0] <= pool.shape[0]:
        raise ValueError("flow or pool counter outside its table")
    with nogil:
        for pos in range(start, n_sel):
            i = sel[pos]
            if payload_len[i] > 0 and pool_n[0] >= n_pool:
                stop = pos
                break
            now = ts_ns[i]
            p = proto_col[i]
            s_hi = src_hi[i]
            s_lo = src_lo[i]
            d_hi = dst_hi[i]
            d_lo = dst_lo[i]
            sp = sport[i] & 0xFFFF
            dp = dport[i] & 0xFFFF
            vl = vlan_col[i]
            fr_slot = -1
            if later_frag[i] or first_frag[i]:
                fk = _frag_key(s_hi, s_lo, d_hi, d_lo, ip_id[i], p)
                fr_slot = <int64_t>(fk & fmask)
                if later_frag[i] and frag_key[fr_slot] == fk and frag_index[fr_slot] >= 0:
                    f = frag_index[fr_slot]
                    if f < n_flows[0] and done[f] == LIVE:
                        a_side = s_hi == a_hi[f] and s_lo == a_lo[f]
                        d = 0 if a_side == orig_is_a[f] else 1
                        ip_bytes[f, d] += payload_len[i]
                        pay_bytes[f, d] += payload_len[i]
                        last_ns[f] = now
                        continue
            # canonical endpoint order
            if s_hi < d_hi or (s_hi == d_hi and (s_lo < d_lo or (s_lo == d_lo and sp <= dp))):
                src_is_a = True
                ka_hi = s_hi
                ka_lo = s_lo
                kb_hi = d_hi
                kb_lo = d_lo
                kpa = sp
                kpb = dp
            else:
                src_is_a = False
                ka_hi = d_hi
                ka_lo = d_lo
                kb_hi = s_hi
                kb_lo = s_lo
                kpa = dp
                kpb = sp
            h = _key_hash(ka_hi, ka_lo, kb_hi, kb_lo, kpa, kpb, p, vl)
            slot = h & mask
            f = -1
            while True:
                g = index[slot]
                if g < 0:
                    break
                if (
                    a_lo[g] == ka_lo
                    and b_lo[g] == kb_lo
                    and a_port[g] == kpa
                    and b_port[g] == kpb
                    and a_hi[g] == ka_hi
                    and b_hi[g] == kb_hi
                    and proto[g] == p
                    and vlan[g] == vl
                ):
                    f = g
                    break
                slot = (slot + 1) & mask
            flags = flags_col[i] if p == 6 else 0
            is_syn = (flags & SYN) != 0
            is_ack = (flags & ACK) != 0
            if f >= 0:
                # Does this packet belong to the existing flow, or start a new one?
                tmo = timeouts_ns[0] if p == 6 else (timeouts_ns[1] if p == 17 else timeouts_ns[2])
                reason = LIVE
                if now - last_ns[f] > tmo:
                    reason = DONE_IDLE
                elif active_ns > 0 and now - first_ns[f] > active_ns:
                    reason = DONE_ACTIVE
                elif end_ns[f] >= 0 and (now - end_ns[f] > close_ns or (is_syn and not is_ack)):
                    reason = DONE_REUSED
                if reason != LIVE:
                    done[f] = reason
                    f = -1
            if f < 0:
                n = n_flows[0]
                if n >= capacity:
                    stop = pos
                    break
                f = n
                n_flows[0] = n + 1
                index[slot] = <int32_t>f
                a_hi[f] = ka_hi
                a_lo[f] = ka_lo
                b_hi[f] = kb_hi
                b_lo[f] = kb_lo
                a_port[f] = <int32_t>kpa
                b_port[f] = <int32_t>kpb
                proto[f] = <int32_t>p
                vlan[f] = <int32_t>vl
                first_ns[f] = now
                last_ns[f] = now
                end_ns[f] = -1
                done[f] = LIVE
                hist_len[f] = 0
                for dd in range(2):
                    pkts[f, dd] = 0
                    ip_bytes[f, dd] = 0
                    pay_bytes[f, dd] = 0
                    state[f, dd] = INACTIVE
                    seq_start[f, dd] = 0
                    seq_max[f, dd] = 0
                    acked[f, dd] = -1
                    fin_end[f, dd] = -1
                    missed[f, dd] = 0
                    seen[f, dd] = False
                    hist_bits[f, dd] = 0
                    last_syn[f, dd] = -1
                    last_fin[f, dd] = -1
                    last_rst[f, dd] = -1
                    retrans[f, dd] = 0
                    retrans_next[f, dd] = 1
                    zero_win[f, dd] = 0
                    zero_win_next[f, dd] = 1
                    syn_cnt[f, dd] = 0
                    fin_cnt[f, dd] = 0
                    rst_cnt[f, dd] = 0
                    ack_only_cnt[f, dd] = 0
                    mac[f, dd] = 0
                    pl_len[f, dd] = 0
                pl_slot[f] = -1
                # Originator: the sender, unless Zeek's heuristics say the sender is the server.
                flip = prefer_resp[i] != 0
                if p == 6:
                    if is_syn and is_ack:
                        flip = True
                    elif not is_syn and likely_server_tcp[sp]:
                        flip = (not likely_server_tcp[dp]) or sp < dp
                elif p == 17:
                    bcast = (
                        (d_hi == 0 and (d_lo & 0xFF) == 0xFF)
                        or (d_hi == 0 and (d_lo & 0xF0000000ULL) == 0xE0000000ULL)
                        or (d_hi >> 56) == 0xFF
                    )
                    flip = likely_server_udp[sp] and not likely_server_udp[dp] and not bcast
                flipped[f] = flip
                orig_is_a[f] = src_is_a != flip
                if flip:
                    _add_letter(history, hist_len, f, 94, 0)  # '^'
                mirai[f] = (
                    p == 6
                    and is_syn
                    and not is_ack
                    and s_hi == 0
                    and <uint64_t>seq_col[i] == (d_lo & 0xFFFFFFFFULL)
                )
            if fr_slot >= 0 and first_frag[i]:
                frag_key[fr_slot] = _frag_key(s_hi, s_lo, d_hi, d_lo, ip_id[i], p)
                frag_index[fr_slot] = f
            d = 0 if src_is_a == (orig_is_a[f] != 0) else 1
            e = 1 - d
            if end_ns[f] < 0:
                last_ns[f] = now  # packets after the close are counted but do not extend it (Zeek)
            pkts[f, d] += 1
            ip_bytes[f, d] += ip_len[i]
            plen = payload_len[i]
            if mac[f, d] == 0:
                mac[f, d] = eth_src[i]
            if mac[f, e] == 0:
                mac[f, e] = eth_dst[i]  # Zeek logs the first packet's destination MAC
            if plen > 0 and pl_len[f, d] < keep:
                row = pl_slot[f]
                if row < 0:
                    row = pool_n[0]
                    pool_n[0] = row + 1
                    pl_slot[f] = <int32_t>row
                have = pl_len[f, d]
                take = min(<int64_t>payload_cap[i], keep - have)
                off = payload_off[i]
                if off < 0 or off > data_len:
                    take = 0
                elif take > data_len - off:
                    take = data_len - off
                if take > 0:
                    memcpy(&pool[row, d, have], &data[off], take)
                    pl_len[f, d] = <int32_t>(have + take)
            if p != 6 or later_frag[i]:
                # a later fragment whose first was not seen carries no transport header
                if p == 17:
                    _check(hist_bits, history, hist_len, f, d, H_DATA, 68)  # 'D'
                    state[f, d] = ESTABLISHED
                pay_bytes[f, d] += plen
                seen[f, d] = True
                continue
            # ---------------- TCP
            is_fin = (flags & FIN) != 0
            is_rst = (flags & RST) != 0
            seq = seq_col[i]
            if is_syn:
                syn_cnt[f, d] += 1
            if is_fin:
                fin_cnt[f, d] += 1
            if is_rst:
                rst_cnt[f, d] += 1
            if (flags & (SYN | FIN | RST | ACK)) == ACK and plen == 0:
                ack_only_cnt[f, d] += 1
            # sequence space of this endpoint
            if not seen[f, d]:
                seen[f, d] = True
                base = seq + 1 if is_syn else seq
                seq_start[f, d] = base
                seq_max[f, d] = base
                rel = seq
            else:
                rel = _unwrap(seq_max[f, d], seq)
                if (
                    is_syn
                    and (state[f, d] == SYN_SENT or state[f, d] == SYN_ACK_SENT)
                    and rel + 1 != seq_start[f, d]
                    and seq_max[f, d] == seq_start[f, d]
                ):
                    # SYN with a new sequence number before any data: restart the sequence space
                    seq_start[f, d] = rel + 1
                    seq_max[f, d] = rel + 1
            data_start = rel + 1 if is_syn else rel
            data_end = data_start + plen
            gap = False
            if plen > 0 or is_fin:
                if data_start > seq_max[f, d] and not is_rst:
                    missed[f, d] += data_start - seq_max[f, d]
                    gap = True
                if plen > 0 and data_start < seq_max[f, d]:
                    retrans[f, d] += 1
                if data_end > seq_max[f, d]:
                    seq_max[f, d] = data_end
            if is_ack and seen[f, e]:
                a = _unwrap(seq_max[f, e], ack_col[i])
                if a > acked[f, e]:
                    acked[f, e] = a
            # history (Zeek's update_history)
            bits = is_syn + is_fin + is_rst
            rel_hist = rel - seq_start[f, d]
            if bits > 1:
                if is_fin and is_rst:
                    _check(hist_bits, history, hist_len, f, d, H_INCONS, 73)  # 'I'
                else:
                    _check(hist_bits, history, hist_len, f, d, H_MULTI, 81)  # 'Q'
            elif bits == 1:
                if is_syn:
                    code = 72 if is_ack else 83  # 'H' / 'S'
                    bit = H_SYNACK if is_ack else H_SYN
                    if _check(hist_bits, history, hist_len, f, d, bit, code) and (
                        rel_hist != last_syn[f, d]
                    ):
                        _add_letter(history, hist_len, f, code, d)
                    last_syn[f, d] = rel_hist
                if is_fin:
                    if _check(hist_bits, history, hist_len, f, d, H_FIN, 70) and (
                        rel_hist + plen != last_fin[f, d]
                    ):
                        _add_letter(history, hist_len, f, 70, d)
                    last_fin[f, d] = rel_hist + plen
                if is_rst:
                    if _check(hist_bits, history, hist_len, f, d, H_RST, 82) and (
                        rel_hist != last_rst[f, d]
                    ):
                        _add_letter(history, hist_len, f, 82, d)
                    last_rst[f, d] = rel_hist
            elif plen > 0:
                _check(hist_bits, history, hist_len, f, d, H_DATA, 68)  # 'D'
            elif is_ack:
                _check(hist_bits, history, hist_len, f, d, H_ACK, 65)  # 'A'
            if plen > 0 and retrans[f, d] >= retrans_next[f, d]:
                _add_letter(history, hist_len, f, 84, d)  # 'T' at 1, 10, 100... retransmissions
                retrans_next[f, d] *= 10
            if window[i] == 0 and not is_rst and not is_syn:
                zero_win[f, d] += 1
                if zero_win[f, d] >= zero_win_next[f, d]:
                    _add_letter(history, hist_len, f, 87, d)  # 'W'
                    zero_win_next[f, d] *= 10
            if gap:
                _check(hist_bits, history, hist_len, f, d, H_GAP, 71)  # 'G'
            # endpoint state machine (Zeek's TCP_ENDPOINT_* transitions, simplified)
            st = state[f, d]
            if is_syn:
                if st == INACTIVE:
                    if d == 0:
                        state[f, d] = SYN_ACK_SENT if is_ack else SYN_SENT
                    else:
                        if state[f, e] == SYN_SENT:
                            state[f, e] = ESTABLISHED
                        state[f, d] = ESTABLISHED
                elif d == 1 and is_ack and state[f, e] == SYN_SENT:
                    state[f, e] = ESTABLISHED
            if is_fin and state[f, d] != RESET:
                state[f, d] = CLOSED
                fin_end[f, d] = data_end
            if is_rst and state[f, d] != CLOSED:
                state[f, d] = RESET  # a RST after the endpoint's own FIN leaves it closed (Zeek)
            if not is_syn and not is_fin and not is_rst:
                st = state[f, d]
                if st == INACTIVE:
                    state[f, d] = PARTIAL
                elif (st == SYN_SENT or st == SYN_ACK_SENT) and is_ack and state[f, e] != INACTIVE:
                    state[f, d] = ESTABLISHED
            if end_ns[f] < 0:
                so = state[f, 0]
                sr = state[f, 1]
                if so == RESET or sr == RESET or (so == CLOSED and sr == CLOSED):
                    end_ns[f] = now
    return stop


def sweep(
    Py_ssize_t n,
    int64_t now,
    const int32_t[::1] proto,
    const int64_t[::1] first_ns,
    const int64_t[::1] last_ns,
    const int64_t[::1] end_ns,
    int8_t[::1] done,
    const int64_t[::1] timeouts_ns,
    int64_t active_ns,
    int64_t close_ns,
):
    """Mark flows idle past their timeout (or past the close delay) at event time ``now``;
    return how many are marked ended."""
    _check_shapes(n, proto, first_ns, last_ns, end_ns, done)
    if timeouts_ns.shape[0] < 3:
        raise ValueError("three timeouts expected")
    cdef Py_ssize_t count = 0
    cdef Py_ssize_t f
    cdef int32_t p
    cdef int64_t tmo
    with nogil:
        for f in range(n):
            if done[f] != LIVE:
                count += 1
                continue
            p = proto[f]
            tmo = timeouts_ns[0] if p == 6 else (timeouts_ns[1] if p == 17 else timeouts_ns[2])
            if now - last_ns[f] > tmo:
                done[f] = DONE_IDLE
            elif active_ns > 0 and now - first_ns[f] > active_ns:
                done[f] = DONE_ACTIVE
            elif end_ns[f] >= 0 and now - end_ns[f] > close_ns:
                done[f] = DONE_CLOSED
            if done[f] != LIVE:
                count += 1
    return count
