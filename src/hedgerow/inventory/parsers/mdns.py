"""What an mDNS message announces: service types, instance and host names, TXT model/maker.

The message itself is parsed by :func:`hedgerow.wire.dns.parse_dns` (shared with detection).

Example:
    >>> from hedgerow.wire.dns import TYPE_TXT, DnsMessage, DnsRecord
    >>> rec = DnsRecord("DCS-930LB._http._tcp.local", TYPE_TXT, ("model=DCS-930LB",))
    >>> mdns_hints(DnsMessage(0, True, (), (rec,))).model
    'DCS-930LB'
"""

from __future__ import annotations

from dataclasses import dataclass

from hedgerow.wire.dns import TYPE_A, TYPE_AAAA, TYPE_PTR, TYPE_SRV, TYPE_TXT, DnsMessage

_TYPE_ANY = 255
_MODEL_KEYS = ("md", "model", "mn", "modelname", "ty", "product", "usb_mdl", "am")
_VENDOR_KEYS = ("manufacturer", "mf", "usb_mfg", "vendor")


@dataclass(frozen=True, slots=True)
class MdnsHints:
    """What an mDNS message announces: services, instance names, host names, model, maker."""

    services: tuple[str, ...]
    instances: tuple[str, ...]
    hostnames: tuple[str, ...]
    model: str | None
    manufacturer: str | None


def _service_of(name: str) -> str | None:
    parts = name.split(".")
    for i in range(len(parts) - 1):
        if parts[i].startswith("_") and parts[i + 1] in ("_tcp", "_udp"):
            return f"{parts[i]}.{parts[i + 1]}"
    return None


def mdns_hints(msg: DnsMessage) -> MdnsHints:
    """The service types, instance names, host names and TXT model/maker in an mDNS message."""
    services: dict[str, None] = {}
    instances: dict[str, None] = {}
    hosts: dict[str, None] = {}
    model: str | None = None
    maker: str | None = None
    # Probes (qtype ANY) claim the sender's own names; plain queries browse for others'.
    names = [name for name, qtype in msg.questions if qtype == _TYPE_ANY]
    for rec in msg.records:
        names.append(rec.name)
        if rec.rtype == TYPE_PTR and isinstance(rec.value, str):
            names.append(rec.value)
        if rec.rtype in (TYPE_A, TYPE_AAAA) and rec.name.endswith(".local"):
            hosts[rec.name.removesuffix(".local")] = None
        if rec.rtype == TYPE_SRV and isinstance(rec.value, str) and rec.value.endswith(".local"):
            hosts[rec.value.removesuffix(".local")] = None
        if rec.rtype == TYPE_TXT and isinstance(rec.value, tuple):
            for item in rec.value:
                key, _, val = item.partition("=")
                key = key.lower()
                if val and model is None and key in _MODEL_KEYS:
                    model = val
                if val and maker is None and key in _VENDOR_KEYS:
                    maker = val
    for name in names:
        service = _service_of(name)
        if service is None or name.startswith("_services._dns-sd"):
            continue
        services[service] = None
        head = name.split("._", 1)[0]
        if head and not head.startswith("_"):
            instances[head] = None
    return MdnsHints(tuple(services), tuple(instances), tuple(hosts), model, maker)
