"""Device kinds for the live sensor's decisions: a running inventory, asked one device at a time.

The analysis thread folds every packet batch into an
:class:`~hedgerow.inventory.InventoryBuilder`, but only the rows that can tell what a device
is: the packets the inventory parses (DHCP, DNS, mDNS, SSDP, HTTP heads, TLS hellos), the
answers that show a device's services (TCP SYN-ACKs, UDP service replies) and, per batch, the
first and last packet of each sender (its addresses and when it was seen). Bulk traffic,
floods and scans add nothing to a device's kind, so the cost stays a small part of the
sensor's even on attack traffic. The live inventory's packet counts and peers are therefore
not those of ``hedgerow inventory``; kinds, vendors and addresses are.

The decision engine asks :meth:`DeviceKinds.kind_of` for the device of one alert: it is
classified on demand from the current observations and the answer is cached for ``ttl_s``
seconds. Kinds the household names itself (``--device-kind 192.168.1.20=camera``) win.

Example:
    >>> from hedgerow.capture import open_capture
    >>> kinds = DeviceKinds(overrides=parse_overrides(["10.10.10.9=plug"]))
    >>> path = "/work/shared/corpus/iot-sentinel/D-LinkDayCam/Setup-A-1-STA.pcap"
    >>> with open_capture(path) as cap:
    ...     for batch in cap:
    ...         kinds.observe(batch)
    >>> kinds.kind_of("10.10.10.58"), kinds.kind_of("10.10.10.9"), kinds.kind_of("10.9.9.9")
    ('camera', 'plug', None)
"""

from __future__ import annotations

import ipaddress
import re
import threading
import time
from collections.abc import Callable, Iterable

import numpy as np
import numpy.typing as npt

from hedgerow.capture.batch import L3, PacketBatch
from hedgerow.inventory import InventoryBuilder
from hedgerow.inventory.addresses import local_mask
from hedgerow.inventory.select import UDP_SERVICE_PORTS, candidates
from hedgerow.model import LocalNetworks

_KIND = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_CACHE_LIMIT = 4096


def parse_overrides(entries: Iterable[str]) -> dict[str, str]:
    """``IP=KIND`` entries (``--device-kind``) as a mapping; one-line ``ValueError`` if bad.

    >>> parse_overrides(["192.168.1.20=camera", "fe80::1=Plug"])
    {'192.168.1.20': 'camera', 'fe80::1': 'plug'}
    >>> parse_overrides(["camera"])
    Traceback (most recent call last):
    ValueError: --device-kind 'camera': use IP=KIND, e.g. 192.168.1.20=camera
    """
    out: dict[str, str] = {}
    for entry in entries:
        ip, sep, kind = entry.partition("=")
        kind = kind.strip().lower()
        if not sep or not _KIND.match(kind):
            raise ValueError(f"--device-kind {entry!r}: use IP=KIND, e.g. 192.168.1.20=camera")
        try:
            address = ipaddress.ip_address(ip.strip())
        except ValueError:
            raise ValueError(f"--device-kind {entry!r}: {ip.strip()!r} is not an IP "
                             "address") from None
        out[str(address)] = kind
    return out


def evidence_rows(batch: PacketBatch, networks: LocalNetworks,
                  limit: int = 16) -> npt.NDArray[np.intp]:
    """Rows of ``batch`` that can tell what a device is (see the module docstring); answers
    and senders count only from local addresses, so a flood from outside adds nothing."""
    keep = np.zeros(len(batch), dtype=bool)
    for rows in candidates(batch, limit).values():
        keep[rows] = True
    local = local_mask(batch.src_hi, batch.src_lo, networks)
    keep |= local & (batch.proto == 6) & ((batch.tcp_flags & 0x12) == 0x12)
    keep |= local & (batch.proto == 17) & np.isin(batch.sport, UDP_SERVICE_PORTS)
    sender = batch.eth_src ^ batch.src_lo ^ (batch.src_hi << np.uint64(1))
    senders = np.nonzero(local & np.isin(batch.l3, (L3.IPV4, L3.IPV6, L3.ARP)))[0]
    for order in (slice(None), slice(None, None, -1)):
        rows = senders[order]
        _, first = np.unique(sender[rows], return_index=True)
        keep[rows[first]] = True
    return np.nonzero(keep)[0]


class DeviceKinds:
    """A running inventory answering "what kind of device is IP?" (``None``: unknown).

    Thread-safe: :meth:`observe` runs in the analysis thread, :meth:`kind_of` in the
    decision thread. ``clock`` (monotonic seconds) times the cache only.
    """

    def __init__(
        self,
        networks: LocalNetworks | None = None,
        overrides: dict[str, str] | None = None,
        ttl_s: float = 60.0,
        per_batch_limit: int = 16,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.builder = InventoryBuilder(networks, per_batch_limit=per_batch_limit)
        self.overrides = dict(overrides or {})
        self.ttl_s = ttl_s
        self.clock = clock
        self.cpu_s = 0.0
        """CPU seconds spent folding batches (for the cost figures)."""
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[str | None, float]] = {}

    def observe(self, batch: PacketBatch) -> None:
        """Fold the evidence rows of one batch into the inventory."""
        if len(batch) == 0:
            return
        started = time.process_time()
        rows = evidence_rows(batch, self.builder.local_networks, self.builder.per_batch_limit)
        thin = batch.take(rows)
        with self._lock:
            self.builder.add_batch(thin)
        self.cpu_s += time.process_time() - started

    def kind_of(self, ip: str) -> str | None:
        """The kind of the device using ``ip`` (override, else classified, cached ``ttl_s``)."""
        override = self.overrides.get(ip)
        if override is not None:
            return override
        now = self.clock()
        cached = self._cache.get(ip)
        if cached is not None and cached[1] > now:
            return cached[0]
        with self._lock:
            device = self.builder.device_of_ip(ip)
        kind = device.kind if device is not None else None
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache = {k: v for k, v in self._cache.items() if v[1] > now}
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
        self._cache[ip] = (kind, now + self.ttl_s)
        return kind
