"""The compiled per-packet feature kernel: damped incremental statistics over whole batches.

One call processes a whole batch of packets in order and writes one feature row per packet. State
lives in four bounded hash tables (see :mod:`hedgerow.anomaly.table`):

* **MI** — source MAC+IP: weight, mean, std of packet sizes;
* **host** — source IP: sizes sent, plus the IoT-specific damped counters: new peers (channels
  opened), new sockets (peer ports), bytes in vs out, protocol mix (TCP/UDP/ICMP), the share of
  bare SYNs, and the packets that are *novel* (below); and for the destination host: packets
  received, fan-in (channels opened towards it) and the novel packets it receives;
* **channel** — unordered IP pair, one side per direction: sizes, inter-arrival jitter, and the 2D
  statistics of the two directions (magnitude, radius, approximate covariance, correlation);
* **socket** — unordered (IP, port, proto) pair: sizes per direction and the same 2D statistics;
  the side that sent its first packet is the client, the other the server.

**Novelty** is judged against the key set of what was seen while learning, and only on what is
stable in a home (see :mod:`hedgerow.anomaly.scope`): a packet is on a *novel channel* when it goes
between two home hosts that were both seen while learning but never talked to each other then, and
it uses a *novel service* when its socket's server is a home host (or multicast group) serving a
port it never served then, or a remote server whose port its home client never used then. Remote
addresses are not part of either key (cloud services rotate them), and a home host never seen while
learning makes nothing novel: it has no history to be new against (a new device is the inventory's
news), and its peers should not look new for talking to it. The features are damped *counts* of
novel packets — a volume, on the log scale of the other weights — so that a sustained session with
something new stands out from the single first packets that make up novelty while learning.

Every statistic is kept for each decay rate λ (weight ``2^(-λ·Δt)``); an entry idle for longer than
the horizon starts afresh (:func:`~hedgerow.anomaly.table.find_or_insert`). A row holds first the
non-negative features (:data:`UNSIGNED_PER_LAMBDA`, once per λ), written raw so that the caller can
take ``log1p`` of that block in one vectorised pass, then the signed ones
(:data:`SIGNED_PER_LAMBDA`, once per λ): covariances also raw, for the caller's vectorised signed
``log1p``, correlations as they are.

Example:
    >>> UNSIGNED_PER_LAMBDA[:3], SIGNED_PER_LAMBDA[1]
    (('mi_weight', 'mi_mean', 'mi_std'), 'chan_pcc')
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

from hedgerow.anomaly.table import find_or_insert, mix, set_add

UNSIGNED_PER_LAMBDA: tuple[str, ...] = (
    "mi_weight", "mi_mean", "mi_std",
    "host_weight", "host_mean", "host_std", "host_new_peers", "host_new_ports",
    "host_out_ratio", "host_tcp_share", "host_udp_share", "host_icmp_share", "host_syn_share",
    "chan_weight", "chan_mean", "chan_std", "chan_magnitude", "chan_radius",
    "jitter_weight", "jitter_mean", "jitter_std",
    "sock_weight", "sock_mean", "sock_std", "sock_magnitude", "sock_radius",
    "host_novel", "dst_in_weight", "dst_fan_in", "dst_novel",
    "host_novel_service", "dst_novel_service",
)  # fmt: skip
SIGNED_PER_LAMBDA: tuple[str, ...] = ("chan_cov", "chan_pcc", "sock_cov", "sock_pcc")
NU = len(UNSIGNED_PER_LAMBDA)
NS = len(SIGNED_PER_LAMBDA)

# Row widths per table (L = number of decay rates).
MI_FIELDS = 3  # w, s1, s2
# w, s1, s2, bytes_in, new_peers, new_ports, tcp, udp, icmp, syn, pkts_in, fan_in, novel_out,
# novel_in, novel_service_out, novel_service_in
HOST_FIELDS = 16
_HOST_TAG = np.uint64(0x0510CA1)  # key tag: a home host seen while learning
_LOCAL_SERVICE = np.uint64(0x5E5F1CE)  # key tag: (local server, port, proto)
_REMOTE_SERVICE = np.uint64(0x5E5F1CF)  # key tag: (local client, remote server's port, proto)
SRC_LOCAL = 1  # bits of the per-packet ``scope`` argument of :func:`extract`
DST_LOCAL = 2
DST_GROUP = 4  # sent to a multicast or broadcast Ethernet address
CHAN_SIDE_FIELDS = 7  # w, s1, s2, jitter w, jitter s1, jitter s2, last residual
SOCK_SIDE_FIELDS = 4  # w, s1, s2, last residual


def table_widths(n_lambdas: int) -> tuple[int, int, int, int]:
    """Row widths of the MI, host, channel and socket tables for ``n_lambdas`` decay rates."""
    L = n_lambdas
    return (
        1 + MI_FIELDS * L,
        1 + HOST_FIELDS * L,
        6 + 2 * CHAN_SIDE_FIELDS * L + 2 * L,
        5 + 2 * SOCK_SIDE_FIELDS * L + 2 * L,
    )


_LN2 = math.log(2.0)


MAX_POWER = 16


def decay_plan(
    lambdas: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """How to get every rate's decay factor ``2^(-λ·Δt)`` with as few ``exp`` as possible.

    Returns ``(order, base, power)``: rates are computed in ``order`` (slowest first); rate ``i``
    with ``base[i] >= 0`` is rate ``base[i]``'s factor raised to the integer ``power[i]``
    (``2^(-3Δt) = (2^(-Δt))^3``), the others take one ``exp``. For the default rates
    (5, 3, 1, 0.1, 0.01) one ``exp`` serves all five; the powers differ from the ``exp`` by a few
    hundred ulps of a double at most, far below the ``float32`` feature rows.

    Example:
        >>> order, base, power = decay_plan(np.array([5.0, 3.0, 1.0, 0.1, 0.01]))
        >>> order.tolist(), base.tolist(), power.tolist()
        ([4, 3, 2, 1, 0], [2, 2, 3, 4, -1], [5, 3, 10, 10, 1])
    """
    lams = np.asarray(lambdas, dtype=np.float64)
    order = np.argsort(lams, kind="stable").astype(np.int64)
    base = np.full(lams.shape[0], -1, dtype=np.int64)
    power = np.ones(lams.shape[0], dtype=np.int64)
    for pos, i in enumerate(order.tolist()):
        for j in reversed(order[:pos].tolist()):  # the fastest slower rate: the smallest power
            ratio = lams[i] / lams[j] if lams[j] > 0.0 else 0.0
            k = round(ratio)
            if 2 <= k <= MAX_POWER and abs(ratio - k) <= 1e-12 * k:
                base[i], power[i] = j, k
                break
    return order, base, power


@njit(cache=True, inline="always", fastmath=True)
def _decays(  # pragma: no cover - compiled
    dt: float, lambdas: npt.NDArray[np.float64], order: npt.NDArray[np.int64],
    base: npt.NDArray[np.int64], power: npt.NDArray[np.int64], out: npt.NDArray[np.float64],
) -> None:
    """``out[i] = 2^(-lambdas[i]·dt)`` (1 when ``dt <= 0``), following :func:`decay_plan`."""
    if dt <= 0.0:
        out[:] = 1.0
        return
    for li in order:
        b = base[li]
        if b < 0:
            out[li] = math.exp(-lambdas[li] * dt * _LN2)
        else:
            x = out[b]
            k = power[li]
            r = 1.0
            while k:  # square and multiply
                if k & 1:
                    r *= x
                x *= x
                k >>= 1
            out[li] = r


@njit(cache=True, inline="always")
def _known(  # pragma: no cover - compiled
    known_k: npt.NDArray[np.uint64], known_n: npt.NDArray[np.int64], host: np.uint64,
    learning: bool,
) -> bool:
    """Whether a home host was seen while learning (while learning: yes, and remember it)."""
    return set_add(known_k, known_n, mix(host, _HOST_TAG), learning) or learning


@njit(cache=True, inline="always", fastmath=True)
def _var(w: float, s1: float, s2: float) -> float:  # pragma: no cover - compiled
    if w <= 0.0:
        return 0.0
    m = s1 / w
    return abs(s2 / w - m * m)


@njit(cache=True, inline="always", fastmath=True)
def _pair_stats(  # pragma: no cover - compiled
    st: npt.NDArray[np.float64], o: int, oo: int, c: int, res_at: int, f: float, f3: float,
    v: float, row: npt.NDArray[np.float32], q: int, qs: int,
) -> None:
    """One side of a two-sided stream (channel or socket) takes packet size ``v``.

    Updates this side's damped weight/sum/square at ``st[o:o+3]`` (decay ``f``) and the shared
    residual covariance at ``st[c:c+2]`` (decay ``f3``; residuals at ``o+res_at``/``oo+res_at``),
    and writes weight, mean, std, magnitude and radius at ``row[q:q+5]`` and the covariance and
    correlation with the other side at ``row[qs:qs+2]`` (Kitsune's 1D and 2D statistics).
    """
    w = st[o] * f + 1.0
    s1 = st[o + 1] * f + v
    s2 = st[o + 2] * f + v * v
    st[o], st[o + 1], st[o + 2] = w, s1, s2
    mean = s1 / w
    var = _var(w, s1, s2)
    wo = st[oo]
    mean_o = st[oo + 1] / wo if wo > 0.0 else 0.0
    var_o = _var(wo, st[oo + 1], st[oo + 2])
    res = v - mean
    st[oo + res_at] *= f3
    cf3 = st[c] * f3 + res * st[oo + res_at]
    w3 = st[c + 1] * f3 + 1.0
    st[c], st[c + 1] = cf3, w3
    st[o + res_at] = res
    cov = cf3 / w3
    sd = math.sqrt(var * var_o)
    row[q] = w
    row[q + 1] = mean
    row[q + 2] = math.sqrt(var)
    row[q + 3] = math.sqrt(mean * mean + mean_o * mean_o)
    row[q + 4] = math.sqrt(var * var + var_o * var_o)
    row[qs] = cov
    # |correlation| <= 1; the damped residual covariance can overshoot when a side's variance
    # is tiny (a few nearly equal sizes), which would read as an extreme value.
    row[qs + 1] = min(1.0, max(-1.0, cov / sd)) if sd > 0.0 else 0.0


@njit(cache=True, fastmath=True, error_model="numpy")  # divisions are guarded: no raise path
def extract(
    ts: npt.NDArray[np.float64],
    size: npt.NDArray[np.float64],
    mac: npt.NDArray[np.uint64],
    src_hi: npt.NDArray[np.uint64],
    src_lo: npt.NDArray[np.uint64],
    dst_hi: npt.NDArray[np.uint64],
    dst_lo: npt.NDArray[np.uint64],
    sport: npt.NDArray[np.uint16],
    dport: npt.NDArray[np.uint16],
    proto: npt.NDArray[np.uint8],
    flags: npt.NDArray[np.uint8],
    scope: npt.NDArray[np.uint8],
    lambdas: npt.NDArray[np.float64],
    plan_order: npt.NDArray[np.int64],
    plan_base: npt.NDArray[np.int64],
    plan_power: npt.NDArray[np.int64],
    horizon: float,
    mi_k: npt.NDArray[np.uint64], mi_s: npt.NDArray[np.float64], mi_n: npt.NDArray[np.int64],
    ho_k: npt.NDArray[np.uint64], ho_s: npt.NDArray[np.float64], ho_n: npt.NDArray[np.int64],
    ch_k: npt.NDArray[np.uint64], ch_s: npt.NDArray[np.float64], ch_n: npt.NDArray[np.int64],
    so_k: npt.NDArray[np.uint64], so_s: npt.NDArray[np.float64], so_n: npt.NDArray[np.int64],
    known_k: npt.NDArray[np.uint64], known_n: npt.NDArray[np.int64], learning: bool,
    out: npt.NDArray[np.float32],
) -> None:  # pragma: no cover - compiled
    """Update the tables with each packet in order and write its feature row into ``out``.

    ``known_k`` is the key set of home hosts, channels and services seen while learning; when
    ``learning`` is true new ones are added to it, otherwise it is only consulted. ``scope`` has
    :data:`SRC_LOCAL` / :data:`DST_LOCAL` set for home addresses and :data:`DST_GROUP` for
    packets to a multicast or broadcast MAC. ``plan_*`` is :func:`decay_plan` of ``lambdas``.
    Covariances are written raw (the caller takes their signed ``log1p``, vectorised, like the
    ``log1p`` of the non-negative block).
    """
    n = ts.shape[0]
    L = lambdas.shape[0]
    signed0 = L * NU
    fa = np.empty(L)  # decay factors of one time gap, per rate
    fb = np.empty(L)
    for p in range(n):
        t = ts[p]
        v = size[p]
        a_host = mix(src_hi[p], src_lo[p])
        b_host = mix(dst_hi[p], dst_lo[p])
        pr = proto[p]
        if pr == 6 or pr == 17 or pr == 132:
            sp = np.uint64(sport[p]) | (np.uint64(pr) << np.uint64(16))
            dp = np.uint64(dport[p]) | (np.uint64(pr) << np.uint64(16))
        else:
            sp = np.uint64(pr) << np.uint64(16)
            dp = sp
        row = out[p]

        # --- MI: source MAC + IP -------------------------------------------------------
        i, _ = find_or_insert(mi_k, mi_s, mi_n, mix(mac[p], a_host), t, horizon)
        st = mi_s[i]
        _decays(t - st[0], lambdas, plan_order, plan_base, plan_power, fa)
        for li in range(L):
            f = fa[li]
            o = 1 + 3 * li
            w = st[o] * f + 1.0
            s1 = st[o + 1] * f + v
            s2 = st[o + 2] * f + v * v
            st[o], st[o + 1], st[o + 2] = w, s1, s2
            q = li * NU
            row[q] = w
            row[q + 1] = s1 / w
            row[q + 2] = math.sqrt(_var(w, s1, s2))
        st[0] = max(st[0], t)

        # --- channel: unordered IP pair, one side per direction ------------------------
        lo_h, hi_h = (a_host, b_host) if a_host <= b_host else (b_host, a_host)
        chan_key = mix(lo_h, hi_h)
        # What is new is judged between hosts the baseline knows: remote addresses rotate,
        # and a host never seen has no history to be new against (while learning, every home
        # host is known). Scoring never grows the known set, so a channel's or socket's
        # novelty is a constant there, looked up once and kept in its row (0 = not yet).
        a_local = (scope[p] & SRC_LOCAL) != 0
        group = (scope[p] & DST_GROUP) != 0
        b_local = (scope[p] & DST_LOCAL) != 0 and not group  # a group is not a host
        a_known = b_known = -1  # not looked up yet
        i, new_chan = find_or_insert(ch_k, ch_s, ch_n, chan_key, t, horizon)
        st = ch_s[i]
        if learning or st[5] == 0.0:
            novel = 0.0
            if a_local and b_local:
                a_known = _known(known_k, known_n, a_host, learning)
                if a_known:
                    b_known = _known(known_k, known_n, b_host, learning)
                if b_known == 1 and not set_add(known_k, known_n, chan_key, learning):
                    novel = 1.0
            if not learning:
                st[5] = 1.0 + novel
        else:
            novel = st[5] - 1.0
        side = 0 if a_host <= b_host else 1
        other = 1 - side
        seen = st[3 + side] > 0.0
        dt_side = t - st[1 + side]
        jit = dt_side if (seen and dt_side > 0.0) else 0.0
        dt3 = t - st[0]
        if seen:
            _decays(dt_side, lambdas, plan_order, plan_base, plan_power, fa)
        else:
            fa[:] = 0.0
        if not seen or dt3 != dt_side:  # same gap (this side spoke last): same factors
            _decays(dt3, lambdas, plan_order, plan_base, plan_power, fb)
        f3s = fa if (seen and dt3 == dt_side) else fb
        base = 6
        for li in range(L):
            f = fa[li]
            o = base + (side * L + li) * 7
            oo = base + (other * L + li) * 7
            if seen:
                st[o + 3] = st[o + 3] * f + 1.0
                st[o + 4] = st[o + 4] * f + jit
                st[o + 5] = st[o + 5] * f + jit * jit
            q = li * NU + 13
            _pair_stats(st, o, oo, base + 2 * L * 7 + 2 * li, 6, f, f3s[li], v, row,
                        q, signed0 + li * NS)
            jw = st[o + 3]
            row[q + 5] = jw
            row[q + 6] = st[o + 4] / jw if jw > 0.0 else 0.0
            row[q + 7] = math.sqrt(_var(jw, st[o + 4], st[o + 5]))
        st[0] = max(st[0], t)
        st[1 + side] = max(st[1 + side], t)
        st[3 + side] = 1.0

        # --- socket: unordered (IP, port, proto) pair -----------------------------------
        a_sock = mix(a_host, sp)
        b_sock = mix(b_host, dp)
        lo_s, hi_s = (a_sock, b_sock) if a_sock <= b_sock else (b_sock, a_sock)
        i, new_sock = find_or_insert(so_k, so_s, so_n, mix(lo_s, hi_s), t, horizon)
        st = so_s[i]
        side = 0 if a_sock <= b_sock else 1
        other = 1 - side
        if new_sock:
            st[3] = 1.0 + side  # the side that spoke first is the client
        if learning or st[4] == 0.0:
            if st[3] == 1.0 + side:  # this packet goes client -> server
                server, port, client = b_host, dp, a_host
                server_local = b_local or group
                # whose history counts: the server's; a multicast group has none, its sender's
                ask_a = not server_local or group
            else:
                server, port, client = a_host, sp, b_host
                server_local = a_local
                ask_a = server_local
            # the one home host whose history decides (ask_a: the sender, else the receiver)
            if ask_a:
                if a_known < 0:
                    a_known = a_local and _known(known_k, known_n, a_host, learning)
                decides = a_known == 1
            else:
                if b_known < 0:
                    b_known = b_local and _known(known_k, known_n, b_host, learning)
                decides = b_known == 1
            novel_svc = 0.0
            if decides:
                if server_local:  # a port a home host (or a multicast group) serves
                    key = mix(mix(server, port), _LOCAL_SERVICE)
                else:  # a remote port a home host uses
                    key = mix(mix(client, port), _REMOTE_SERVICE)
                if not set_add(known_k, known_n, key, learning):
                    novel_svc = 1.0
            if not learning:
                st[4] = 1.0 + novel_svc
        else:
            novel_svc = st[4] - 1.0
        dt_side = t - st[1 + side]
        dt3 = t - st[0]
        _decays(dt_side, lambdas, plan_order, plan_base, plan_power, fa)
        if dt3 != dt_side:
            _decays(dt3, lambdas, plan_order, plan_base, plan_power, fb)
        f3s = fa if dt3 == dt_side else fb
        base = 5
        for li in range(L):
            f = fa[li]
            o = base + (side * L + li) * 4
            oo = base + (other * L + li) * 4
            _pair_stats(st, o, oo, base + 2 * L * 4 + 2 * li, 3, f, f3s[li], v, row,
                        li * NU + 21, signed0 + li * NS + 2)
        st[0] = max(st[0], t)
        st[1 + side] = max(st[1 + side], t)

        # --- host: source IP, with the IoT-specific counters ----------------------------
        syn = 1.0 if (pr == 6 and (flags[p] & 0x12) == 0x02) else 0.0
        tcp = 1.0 if pr == 6 else 0.0
        udp = 1.0 if pr == 17 else 0.0
        icmp = 1.0 if (pr == 1 or pr == 58) else 0.0
        i, _ = find_or_insert(ho_k, ho_s, ho_n, a_host, t, horizon)
        st = ho_s[i]
        _decays(t - st[0], lambdas, plan_order, plan_base, plan_power, fa)
        for li in range(L):
            f = fa[li]
            o = 1 + HOST_FIELDS * li
            for k in range(HOST_FIELDS):
                st[o + k] *= f
            st[o] += 1.0
            st[o + 1] += v
            st[o + 2] += v * v
            st[o + 4] += 1.0 if new_chan else 0.0
            st[o + 5] += 1.0 if new_sock else 0.0
            st[o + 6] += tcp
            st[o + 7] += udp
            st[o + 8] += icmp
            st[o + 9] += syn
            st[o + 12] += novel
            st[o + 14] += novel_svc
            w = st[o]
            q = li * NU + 3
            row[q] = w
            row[q + 1] = st[o + 1] / w
            row[q + 2] = math.sqrt(_var(w, st[o + 1], st[o + 2]))
            row[q + 3] = st[o + 4]
            row[q + 4] = st[o + 5]
            both = st[o + 1] + st[o + 3]
            row[q + 5] = st[o + 1] / both if both > 0.0 else 0.0
            row[q + 6] = st[o + 6] / w
            row[q + 7] = st[o + 7] / w
            row[q + 8] = st[o + 8] / w
            row[q + 9] = st[o + 9] / w
            row[li * NU + 26] = st[o + 12]
            row[li * NU + 30] = st[o + 14]
        st[0] = max(st[0], t)

        # --- destination host: what it receives -----------------------------------------
        i, _ = find_or_insert(ho_k, ho_s, ho_n, b_host, t, horizon)
        st = ho_s[i]
        dt = t - st[0]
        _decays(dt, lambdas, plan_order, plan_base, plan_power, fa)
        for li in range(L):
            f = fa[li]
            o = 1 + HOST_FIELDS * li
            if dt > 0.0:
                for k in range(HOST_FIELDS):
                    st[o + k] *= f
            st[o + 3] += v
            st[o + 10] += 1.0
            st[o + 11] += 1.0 if new_chan else 0.0
            st[o + 13] += novel
            st[o + 15] += novel_svc
            q = li * NU + 27
            row[q] = st[o + 10]
            row[q + 1] = st[o + 11]
            row[q + 2] = st[o + 13]
            row[q + 4] = st[o + 15]
        st[0] = max(st[0], t)
