"""Per-packet damped-statistics features (Kitsune's family plus IoT counters), batch by batch.

:class:`FeatureExtractor` keeps the bounded state tables between batches and turns each
:class:`~hedgerow.capture.batch.PacketBatch` into a ``float32`` matrix with one row per packet and
:meth:`FeatureSpec.names` as columns. The work happens in the compiled kernel
(:func:`hedgerow.anomaly.kernels.extract`); this module only holds the state and the contract.

Values in ``[0, n_unsigned)`` columns are ``log1p`` of the statistic: weights, byte sizes and
jitters span decades, and the models see them on a log scale.

Example:
    >>> from hedgerow.capture.batch import PacketBatch
    >>> spec = FeatureSpec()
    >>> len(spec.names()), spec.names()[0]
    (180, 'mi_weight_l5')
    >>> fx = FeatureExtractor(spec)
    >>> fx.transform(PacketBatch.empty(3)).shape
    (3, 180)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

import numpy as np
import numpy.typing as npt

from hedgerow.anomaly.kernels import (
    DST_GROUP,
    DST_LOCAL,
    SIGNED_PER_LAMBDA,
    SRC_LOCAL,
    UNSIGNED_PER_LAMBDA,
    decay_plan,
    extract,
    table_widths,
)
from hedgerow.anomaly.scope import is_local, scope_table
from hedgerow.anomaly.table import new_table
from hedgerow.capture.batch import L3, PacketBatch
from hedgerow.model import LocalNetworks

KERNEL_VERSION = 3


@dataclass(frozen=True)
class FeatureSpec:
    """Which features are computed, and how much state may be kept.

    ``lambdas`` are the decay rates (a statistic's weight halves every ``1/λ`` seconds);
    ``horizon_s`` is how long an idle host/channel/socket is remembered (default: ten half-lives
    of the slowest rate). Capacities bound the tables (powers of two; a table is kept at most half
    full, so e.g. 32,768 socket slots track 16,384 live sockets). ``known_capacity`` bounds the
    set of channels remembered from the learning period (what counts as a "new destination").
    """

    lambdas: tuple[float, ...] = (5.0, 3.0, 1.0, 0.1, 0.01)
    horizon_s: float | None = None
    mi_capacity: int = 1 << 12
    host_capacity: int = 1 << 13
    channel_capacity: int = 1 << 14
    socket_capacity: int = 1 << 15
    known_capacity: int = 1 << 16
    kernel_version: int = field(default=KERNEL_VERSION)

    @property
    def horizon(self) -> float:
        return self.horizon_s if self.horizon_s is not None else 10.0 / min(self.lambdas)

    def names(self) -> list[str]:
        """Column names: the non-negative features for each λ, then the signed ones."""
        unsigned = [f"{name}_l{lam:g}" for lam in self.lambdas for name in UNSIGNED_PER_LAMBDA]
        signed = [f"{name}_l{lam:g}" for lam in self.lambdas for name in SIGNED_PER_LAMBDA]
        return unsigned + signed

    @property
    def n_unsigned(self) -> int:
        """Columns ``[0, n_unsigned)`` are non-negative and stored as ``log1p(value)``."""
        return len(self.lambdas) * len(UNSIGNED_PER_LAMBDA)

    def to_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["lambdas"] = list(self.lambdas)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> FeatureSpec:
        fields_ = dict(data)
        fields_["lambdas"] = tuple(float(x) for x in fields_["lambdas"])  # type: ignore[attr-defined]
        return cls(**fields_)  # type: ignore[arg-type]

    def spec_hash(self) -> str:
        """Hash of what defines a feature column (rates, names, kernel version), not capacities."""
        ident = {"names": self.names(), "kernel": self.kernel_version}
        return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:16]


class FeatureExtractor:
    """Stateful feature computation over consecutive batches of one capture (or live stream).

    While ``learning`` the channels and services seen are added to the known set
    (:attr:`known_channels`); otherwise the set given as ``known`` (from a baseline) is only
    consulted. ``networks`` are the home networks (:mod:`~hedgerow.anomaly.scope`): what is new
    is judged on home addresses, not on remote ones.
    """

    def __init__(
        self,
        spec: FeatureSpec | None = None,
        known: npt.NDArray[np.uint64] | None = None,
        learning: bool = False,
        networks: LocalNetworks | None = None,
    ) -> None:
        self.spec = spec or FeatureSpec()
        self.learning = learning
        self._scope = scope_table(networks or LocalNetworks.default())
        cap = self.spec.known_capacity
        if known is not None:
            if known.shape != (cap,) or known.dtype != np.uint64:
                raise ValueError(f"known-channel set must be {cap} uint64 slots")
            self._known = (known.copy(), np.array([np.count_nonzero(known)], dtype=np.int64))
        else:
            self._known = (np.zeros(cap, dtype=np.uint64), np.zeros(1, dtype=np.int64))
        mi_w, host_w, chan_w, sock_w = table_widths(len(self.spec.lambdas))
        self._lambdas = np.asarray(self.spec.lambdas, dtype=np.float64)
        self._plan = decay_plan(self._lambdas)
        self._mi = new_table(self.spec.mi_capacity, mi_w)
        self._host = new_table(self.spec.host_capacity, host_w)
        self._chan = new_table(self.spec.channel_capacity, chan_w)
        self._sock = new_table(self.spec.socket_capacity, sock_w)

    @property
    def n_features(self) -> int:
        return len(self.spec.lambdas) * (len(UNSIGNED_PER_LAMBDA) + len(SIGNED_PER_LAMBDA))

    @property
    def tracked(self) -> dict[str, int]:
        """Live entries per table (bounded by the capacities)."""
        return {
            "mac_ip": int(self._mi[2][0]),
            "hosts": int(self._host[2][0]),
            "channels": int(self._chan[2][0]),
            "sockets": int(self._sock[2][0]),
        }

    @property
    def known_channels(self) -> npt.NDArray[np.uint64]:
        """The known-channel key set (hash slots; 0 = empty) to store in a baseline."""
        return self._known[0]

    @property
    def state_bytes(self) -> int:
        tables = (self._mi, self._host, self._chan, self._sock, self._known)
        return sum(arr.nbytes for table in tables for arr in table)

    def transform(self, batch: PacketBatch) -> npt.NDArray[np.float32]:
        """Feature rows for the batch's packets (in order), updating the state.

        Non-negative statistics come out as ``log1p(value)`` (see :attr:`FeatureSpec.n_unsigned`),
        covariances as a signed ``log1p``, correlations as they are.
        """
        n = len(batch)
        out = np.empty((n, self.n_features), dtype=np.float32)  # the kernel fills every cell
        if n == 0:
            return out
        ts = batch.ts_ns.astype(np.float64) / 1e9
        size = batch.wire_len.astype(np.float64)
        src_hi, src_lo = batch.src_hi, batch.src_lo
        dst_hi, dst_lo = batch.dst_hi, batch.dst_lo
        no_ip = (batch.l3 == L3.NONE) | (batch.l3 == L3.OTHER)
        scope = (is_local(src_hi, src_lo, self._scope) | no_ip).astype(np.uint8) * SRC_LOCAL
        scope |= (is_local(dst_hi, dst_lo, self._scope) | no_ip).astype(np.uint8) * DST_LOCAL
        scope |= ((batch.eth_dst >> np.uint64(40)) & np.uint64(1)).astype(np.uint8) * DST_GROUP
        if no_ip.any():
            # Without an IP layer the MAC addresses stand in for the hosts (as in Kitsune).
            zero = np.uint64(0)
            src_hi = np.where(no_ip, zero, src_hi)
            src_lo = np.where(no_ip, batch.eth_src, src_lo)
            dst_hi = np.where(no_ip, zero, dst_hi)
            dst_lo = np.where(no_ip, batch.eth_dst, dst_lo)
        order, base, power = self._plan
        extract(
            ts, size, batch.eth_src, src_hi, src_lo, dst_hi, dst_lo,
            batch.sport, batch.dport, batch.proto, batch.tcp_flags, scope,
            self._lambdas, order, base, power, float(self.spec.horizon),
            *self._mi, *self._host, *self._chan, *self._sock, *self._known, self.learning,
            out,
        )  # fmt: skip
        unsigned = out[:, : self.spec.n_unsigned]
        np.log1p(unsigned, out=unsigned)
        cov = out[:, self.spec.n_unsigned :: 2]  # chan_cov, sock_cov of each λ (a view)
        magnitude = np.abs(cov)
        np.log1p(magnitude, out=magnitude)
        np.copysign(magnitude, cov, out=cov)  # covariances: signed log1p
        return out
