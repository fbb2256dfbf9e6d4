"""Floods leaving the device: packet-rate deltas of the kernel's own counters.

Rates come from ``net/snmp`` (UDP datagrams, TCP segments, ICMP messages sent) and ``net/dev``
(packets sent on non-loopback interfaces) between two snapshots. The processes holding the most
sockets are named as suspects.

Example:
    >>> from hedgerow.agent.observe import Snapshot
    >>> a = Snapshot(t=0.0, snmp={"Udp.OutDatagrams": 0}, tx_packets=0)
    >>> b = Snapshot(t=5.0, snmp={"Udp.OutDatagrams": 500_000}, tx_packets=500_000)
    >>> [x.kind.value for x in OutboundFlood("cam", packets_per_s=20_000).observe(b, a)]
    ['dos']
"""

from __future__ import annotations

from collections import Counter

from hedgerow.agent.observe import Snapshot
from hedgerow.model import Alert, AlertKind, Severity

COUNTERS = {"Udp.OutDatagrams": "udp", "Tcp.OutSegs": "tcp", "Icmp.OutMsgs": "icmp"}


class OutboundFlood:
    name = "agent.outbound-flood"
    version = "1"

    def __init__(self, device: str, packets_per_s: float = 20_000.0) -> None:
        self.device = device
        self.packets_per_s = packets_per_s

    def observe(self, snap: Snapshot, prev: Snapshot | None) -> list[Alert]:
        if prev is None or snap.t <= prev.t:
            return []
        dt = snap.t - prev.t
        rates = {proto: max(0, snap.snmp.get(k, 0) - prev.snmp.get(k, 0)) / dt
                 for k, proto in COUNTERS.items()}
        tx_rate = max(0, snap.tx_packets - prev.tx_packets) / dt
        top_proto, top_rate = max(rates.items(), key=lambda kv: kv[1])
        if max(top_rate, tx_rate) < self.packets_per_s:
            return []
        holders = Counter(snap.owners.values()).most_common(3)
        suspects = [{"pid": pid, "sockets": n,
                     "name": snap.processes[pid].name if pid in snap.processes else "?"}
                    for pid, n in holders]
        return [Alert(
            kind=AlertKind.DOS, detector=self.name, detector_version=self.version,
            direction="outbound", device=self.device, peers=(), severity=Severity.HIGH,
            confidence=0.6, start=prev.t, end=snap.t,
            summary=f"the device sends {max(top_rate, tx_rate):,.0f} packets/s "
                    f"(mostly {top_proto})",
            evidence={"rates_per_s": {k: round(v, 1) for k, v in rates.items()},
                      "tx_packets_per_s": round(tx_rate, 1), "suspects": suspects},
            mitre=("T1498",), window_key=int(snap.t))]
