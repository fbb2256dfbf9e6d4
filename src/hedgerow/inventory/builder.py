"""Build the device inventory from packet batches (and, optionally, flow batches).

Sightings, address bindings, peers and offered services are aggregated with numpy group-bys
(one stable sort per aggregate, :mod:`hedgerow.inventory.groups`) over each whole batch; only
the few packets that describe a device (DHCP, DNS, mDNS, SSDP, HTTP heads, TLS hellos; see
:mod:`hedgerow.inventory.select`) are parsed one by one. Devices are keyed by MAC address;
captures without an Ethernet layer (raw IP, some cooked captures) give devices keyed by local
IP address, folded into the MAC-keyed device when an address binding is known.

Example:
    >>> from hedgerow.capture import open_capture
    >>> builder = InventoryBuilder()
    >>> with open_capture("capture.pcap") as reader:  # doctest: +SKIP
    ...     for batch in reader:
    ...         builder.add_batch(batch)
    >>> inventory = builder.finish()  # doctest: +SKIP
    >>> [(d.key, d.vendor, d.kind) for d in inventory.devices]  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import ipaddress
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from hedgerow.capture.batch import L3, PacketBatch
from hedgerow.flows.schema import FlowBatch
from hedgerow.inventory.addresses import (
    ip_text,
    is_group_address,
    is_unicast_mac,
    local_mask,
    mac_text,
)
from hedgerow.inventory.classify import Classifier
from hedgerow.inventory.groups import Groups, top_per
from hedgerow.inventory.observation import LIMIT, DeviceObservation
from hedgerow.inventory.oui import OuiDatabase
from hedgerow.inventory.parsers import (
    MalformedPayload,
    mdns_hints,
    parse_dhcp,
    parse_dns,
    parse_http_request,
    parse_http_response,
    parse_ssdp,
    parse_tls_hello,
)
from hedgerow.inventory.select import UDP_SERVICE_PORTS, candidates
from hedgerow.model import Device, LocalNetworks

_ESTABLISHED = ("SF", "S1", "S2", "S3", "RSTO", "RSTR")
_MAX_NAMES = 20_000
_PEER_LIMIT = 25
_EXAMPLES = 10
_SEEN_LIMIT = 500_000
# Leading bytes that differ between repeats of the same message (DNS id); None: never repeats.
_ID_BYTES = {"dns": 2, "dns_answer": 2, "mdns": 2, "ssdp": 0, "http_response": 0,
             "http_request": 0, "dhcp": 8}


@dataclass
class ParseStats:
    """Packets parsed and skipped as malformed, per parser."""

    parsed: Counter[str] = field(default_factory=Counter)
    malformed: Counter[str] = field(default_factory=Counter)
    repeats: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"parsed": dict(self.parsed), "malformed": dict(self.malformed),
                "repeats_skipped": dict(self.repeats), "examples": self.examples}


@dataclass
class Inventory:
    """The devices, the observations behind them (for the risk checks) and parse counts."""

    devices: list[Device]
    observations: dict[str, DeviceObservation]
    stats: ParseStats
    names: dict[str, str] = field(default_factory=dict)
    """Address -> the name it was resolved from (DNS answers seen)."""

    def device(self, key: str) -> Device | None:
        return next((d for d in self.devices if d.key == key or key in d.ips), None)

    def key_of_ip(self) -> dict[str, str]:
        """Local IP address -> device key."""
        return {ip: d.key for d in self.devices for ip in d.ips}


@lru_cache(maxsize=65_536)
def _text(hi: int, lo: int) -> str:
    return ip_text(hi, lo)


@lru_cache(maxsize=65_536)
def _mac(value: int) -> str:
    return mac_text(value)


class _Rows:
    """Per-batch locality masks and device keys; address text made only for rows used."""

    def __init__(self, batch: PacketBatch, nets: LocalNetworks) -> None:
        self.batch = batch
        self.ts = batch.ts_ns.astype(np.float64) / 1e9
        self.src_local = local_mask(batch.src_hi, batch.src_lo, nets)
        self.dst_local = local_mask(batch.dst_hi, batch.dst_lo, nets)
        self.src_mac = is_unicast_mac(batch.eth_src)
        self.dst_mac = is_unicast_mac(batch.eth_dst)
        self.has_ip = (batch.l3 == L3.IPV4) | (batch.l3 == L3.IPV6)
        self.dst_group = is_group_address(batch.dst_hi, batch.dst_lo)

    def src(self, row: int) -> str:
        return _text(int(self.batch.src_hi[row]), int(self.batch.src_lo[row]))

    def dst(self, row: int) -> str:
        return _text(int(self.batch.dst_hi[row]), int(self.batch.dst_lo[row]))

    def src_key(self, row: int) -> str | None:
        """The sending device: its MAC (or its address without one), if the sender is local.

        Packets from outside carry the router's MAC; they are never the router's own words.
        """
        if not self.src_local[row]:
            return None
        return _mac(int(self.batch.eth_src[row])) if self.src_mac[row] else self.src(row)

    def dst_key(self, row: int) -> str | None:
        if not self.dst_local[row]:
            return None
        return _mac(int(self.batch.eth_dst[row])) if self.dst_mac[row] else self.dst(row)

    def device(self, rows: npt.NDArray[np.intp]) -> tuple[npt.NDArray[np.uint64], ...]:
        """The source device of the chosen rows as three key columns: its MAC, else its
        address (the other is zero)."""
        b = self.batch
        mac = self.src_mac[rows]
        zero = np.uint64(0)
        return (np.where(mac, b.eth_src[rows], zero), np.where(mac, zero, b.src_hi[rows]),
                np.where(mac, zero, b.src_lo[rows]))


def _best_first(groups: Groups, keep: int) -> list[int]:
    """Groups keyed by (device, ...), the most rows first (ties in key order), at most
    ``keep`` per device (the first three keys)."""
    order = np.argsort(-groups.sizes, kind="stable")
    return top_per(groups.prefix_ids(3), order, keep).tolist()


def _peer_texts(groups: Groups, batch: PacketBatch, rows: npt.NDArray[np.intp],
                wanted: list[int]) -> list[list[str]]:
    """For the ``wanted`` groups of ``rows``, the texts of the first ``_EXAMPLES`` distinct
    destinations of each."""
    hi, lo = batch.dst_hi[rows], batch.dst_lo[rows]
    every = groups.distinct_firsts(hi, lo, limit=_EXAMPLES)
    firsts = [every[g] for g in wanted]
    flat = np.array([r for group in firsts for r in group], dtype=np.intp)
    texts = iter([_text(h, low) for h, low in zip(hi[flat].tolist(), lo[flat].tolist(),
                                                   strict=True)])
    return [[next(texts) for _ in group] for group in firsts]


def _is_group_ip(text: str) -> bool:
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return True
    return ip.is_multicast or ip.is_unspecified or text == "255.255.255.255"


class InventoryBuilder:
    """Accumulates observations batch by batch; :meth:`finish` classifies and returns devices."""

    def __init__(
        self,
        local_networks: LocalNetworks | None = None,
        classifier: Classifier | None = None,
        oui: OuiDatabase | None = None,
        per_batch_limit: int = 256,
    ) -> None:
        self.local_networks = local_networks or LocalNetworks.default()
        self.classifier = classifier or Classifier.load()
        self.oui = oui or OuiDatabase.load()
        self.per_batch_limit = per_batch_limit
        self.stats = ParseStats()
        self._obs: dict[str, DeviceObservation] = {}
        self._ip_macs: dict[str, set[str]] = {}
        self._names: dict[str, str] = {}
        self._seen: set[int] = set()

    # ------------------------------------------------------------------ accumulation
    def _get(self, key: str) -> DeviceObservation:
        obs = self._obs.get(key)
        if obs is None:
            mac = key if key.count(":") == 5 and len(key) == 17 else None
            obs = self._obs[key] = DeviceObservation(key=key, mac=mac)
        return obs

    def _bind(self, mac: str, ip: str, first: float, last: float) -> None:
        self._get(mac).seen_ip(ip, first, last)
        self._ip_macs.setdefault(ip, set()).add(mac)

    def add_batch(self, batch: PacketBatch) -> None:
        """Fold one batch of packets into the inventory."""
        if len(batch) == 0:
            return
        rows = _Rows(batch, self.local_networks)
        self._sightings(rows)
        self._peers(rows)
        self._services(rows)
        picked = candidates(batch, self.per_batch_limit)
        handlers: dict[str, Callable[[_Rows, int, bytes], None]] = {
            "dhcp": self._dhcp, "dns": self._dns, "dns_answer": self._dns_answer,
            "mdns": self._mdns, "ssdp": self._ssdp, "http_request": self._http_request,
            "http_response": self._http_response, "tls": self._tls,
        }
        # a memoryview: payload bytes sliced without numpy scalars; a repeat's key copies only
        # the bytes after its id, and only a message parsed is copied whole
        data = batch.data.data
        for name, handler in handlers.items():
            skip = _ID_BYTES.get(name)
            chosen = picked[name]
            if chosen.size == 0:
                continue
            # plain Python ints once per parser, not numpy scalars per packet
            starts = batch.payload_off[chosen].tolist()
            ends = (batch.payload_off[chosen] + batch.payload_cap[chosen]).tolist()
            ident = zip(batch.eth_src[chosen].tolist(), batch.src_lo[chosen].tolist(),
                        batch.dst_lo[chosen].tolist(), strict=True)
            repeats = 0
            for row, start, end, (eth, src, dst) in zip(chosen.tolist(), starts, ends, ident,
                                                         strict=True):
                if skip is not None:
                    # Repeats (announcements, retried queries) say nothing new: parse once.
                    seen = hash((name, eth, src, dst, bytes(data[start + skip : end])))
                    if seen in self._seen:
                        repeats += 1
                        continue
                    if len(self._seen) >= _SEEN_LIMIT:
                        self._seen.clear()
                    self._seen.add(seen)
                try:
                    handler(rows, row, bytes(data[start:end]))
                    self.stats.parsed[name] += 1
                except MalformedPayload as exc:
                    self.stats.malformed[name] += 1
                    if len(self.stats.examples) < 20:
                        self.stats.examples.append(f"packet at {rows.ts[row]:.6f}: {exc}")
            if repeats:
                self.stats.repeats[name] += repeats

    def _sightings(self, rows: _Rows) -> None:
        b = rows.batch
        with_mac = np.flatnonzero(rows.src_mac)
        macs = Groups(b.eth_src[with_mac])
        ts = rows.ts[with_mac]
        for mac, first, last, n in zip(macs.key(0).tolist(), macs.min(ts).tolist(),
                                       macs.max(ts).tolist(), macs.sizes.tolist(), strict=True):
            self._get(_mac(mac)).seen(first, last, n)
        local = rows.src_local & (rows.has_ip | (b.l3 == L3.ARP))
        for has_mac in (True, False):
            sel = np.flatnonzero(local & (rows.src_mac == has_mac))
            if sel.size == 0:
                continue
            groups = Groups(b.eth_src[sel] if has_mac else np.zeros(sel.size, np.uint64),
                            b.src_hi[sel], b.src_lo[sel])
            ts = rows.ts[sel]
            for mac, hi, lo, first, last, n in zip(
                    groups.key(0).tolist(), groups.key(1).tolist(), groups.key(2).tolist(),
                    groups.min(ts).tolist(), groups.max(ts).tolist(), groups.sizes.tolist(),
                    strict=True):
                ip = _text(hi, lo)
                if has_mac:
                    self._bind(_mac(mac), ip, first, last)
                else:
                    obs = self._get(ip)
                    obs.seen_ip(ip, first, last)
                    obs.packets += n

    def _key(self, mac: int, hi: int, lo: int) -> str:
        return _mac(mac) if mac else _text(hi, lo)

    def _peers(self, rows: _Rows) -> None:
        b = rows.batch
        sel = np.flatnonzero(rows.has_ip & rows.src_local & ~rows.dst_group)
        groups = Groups(*rows.device(sel), b.dst_hi[sel], b.dst_lo[sel])
        keys = [groups.key(i).tolist() for i in range(5)]
        sizes = groups.sizes.tolist()
        for g in _best_first(groups, _PEER_LIMIT * 2):
            mac, shi, slo, dhi, dlo = (k[g] for k in keys)
            self._get(self._key(mac, shi, slo)).peers[_text(dhi, dlo)] += sizes[g]

    def _services(self, rows: _Rows) -> None:
        """TCP services a device answered (SYN-ACK from it), and whether outsiders got in;
        and the connections it opened (SYN from it), by destination port.

        Per device, the (port, inside/outside) entries with the most packets come first (ties
        in key order), each with the first distinct peers in packet order."""
        b = rows.batch
        tcp = b.proto == 6
        flags = b.tcp_flags & 0x12
        opened = np.flatnonzero(tcp & (flags == 0x02) & rows.src_local)
        conns = Groups(*rows.device(opened), b.dport[opened], ~rows.dst_local[opened])
        keys = [conns.key(i).tolist() for i in range(5)]
        sizes = conns.sizes.tolist()
        best = _best_first(conns, LIMIT)
        for g, texts in zip(best, _peer_texts(conns, b, opened, best), strict=True):
            mac, shi, slo, dport, outside = (k[g] for k in keys)
            obs = self._get(self._key(mac, shi, slo))
            for i, peer in enumerate(texts):
                obs.add_connection(f"tcp/{dport}", peer, outside, sizes[g] if i == 0 else 0)
        udp_out = np.flatnonzero((b.proto == 17) & rows.src_local & ~rows.dst_local &
                                 ~rows.dst_group)
        sport = b.sport[udp_out]
        udp_answer = udp_out[np.isin(sport, UDP_SERVICE_PORTS) & (b.dport[udp_out] != sport)]
        udp = Groups(*rows.device(udp_answer), b.sport[udp_answer])
        peers = _peer_texts(udp, b, udp_answer, list(range(len(udp))))
        for mac, shi, slo, sport, n, first, texts in zip(
                *(udp.key(i).tolist() for i in range(4)), udp.sizes.tolist(),
                udp.min(rows.ts[udp_answer]).tolist(), peers, strict=True):
            obs = self._get(self._key(mac, shi, slo))
            for i, peer in enumerate(texts):
                obs.add_service(f"udp/{sport}", first, peer, n if i == 0 else 0)
        answered = np.flatnonzero(tcp & (flags == 0x12) & rows.src_local)
        served = Groups(*rows.device(answered), b.sport[answered], ~rows.dst_local[answered])
        keys = [served.key(i).tolist() for i in range(5)]
        sizes = served.sizes.tolist()
        firsts = served.min(rows.ts[answered]).tolist()
        best = _best_first(served, LIMIT)
        for g, texts in zip(best, _peer_texts(served, b, answered, best), strict=True):
            mac, shi, slo, sport, outside = (k[g] for k in keys)
            obs = self._get(self._key(mac, shi, slo))
            clients: list[str | None] = list(texts) if outside else [None]
            for i, client in enumerate(clients):
                obs.add_service(f"tcp/{sport}", firsts[g], client, sizes[g] if i == 0 else 0)

    # ------------------------------------------------------------------ parsers
    def _dhcp(self, rows: _Rows, row: int, payload: bytes) -> None:
        info = parse_dhcp(payload)
        ts = float(rows.ts[row])
        if info.op == 2:
            server = rows.src_key(row)
            if server is not None:
                self._get(server).add("role", "dhcp-server")
            if info.your_ip and info.message_type == 5:
                self._bind(info.client_mac, info.your_ip, ts, ts)
            return
        obs = self._get(info.client_mac)
        obs.seen(ts, ts)
        obs.add("hostname", info.hostname)
        obs.add("hostname", info.fqdn)
        obs.add("dhcp_vendor_class", info.vendor_class)
        obs.add("maker_text", info.vendor_class)
        if info.prl:
            obs.add("dhcp_fingerprint", info.fingerprint)
        bound = info.client_ip or (info.requested_ip if info.message_type == 3 else None)
        if bound:
            self._bind(info.client_mac, bound, ts, ts)

    def _dns(self, rows: _Rows, row: int, payload: bytes) -> None:
        key = rows.src_key(row)
        if key is None:
            return
        msg = parse_dns(payload)
        if msg.is_response:
            return
        obs = self._get(key)
        for name, _ in msg.questions:
            name = name.lower().rstrip(".")
            if name and not name.endswith((".arpa", ".local")):
                obs.dns_names[name] += 1
                obs.add("domain", name)

    def _dns_answer(self, rows: _Rows, row: int, payload: bytes) -> None:
        msg = parse_dns(payload)
        if rows.src_local[row] and rows.dst_local[row]:
            server = rows.src_key(row)
            if server is not None:
                self._get(server).add("role", "dns-server")
        if len(self._names) >= _MAX_NAMES or not msg.questions:
            return
        asked = msg.questions[0][0].lower()
        for rec in msg.records:
            if rec.rtype in (1, 28) and isinstance(rec.value, str):
                self._names.setdefault(rec.value, asked)

    def _mdns(self, rows: _Rows, row: int, payload: bytes) -> None:
        key = rows.src_key(row)
        if key is None:
            return
        hints = mdns_hints(parse_dns(payload))
        obs = self._get(key)
        for service in hints.services:
            obs.add("mdns_service", service)
        for instance in hints.instances:
            obs.add("name", instance)
            obs.add("maker_text", instance)
        for host in hints.hostnames:
            obs.add("hostname", host)
        obs.add("name", hints.model)
        obs.add("model", hints.model)
        obs.add("maker_text", hints.manufacturer)

    def _ssdp(self, rows: _Rows, row: int, payload: bytes) -> None:
        key = rows.src_key(row)
        if key is None:
            return
        msg = parse_ssdp(payload)
        obs = self._get(key)
        if msg.kind == "search":
            obs.add("user_agent", msg.headers.get("user-agent"))
            return
        obs.ssdp_announces += 1
        obs.add("ssdp_server", msg.server)
        obs.add("maker_text", msg.server)
        obs.add("ssdp_usn", msg.headers.get("usn"))
        obs.add("upnp_type", msg.device_type)
        obs.add("ssdp_location", msg.headers.get("location"))

    def _http_request(self, rows: _Rows, row: int, payload: bytes) -> None:
        key = rows.src_key(row)
        if key is None:
            return
        req = parse_http_request(payload)
        obs = self._get(key)
        obs.add("user_agent", req.user_agent)
        obs.add("http_path", req.path.split("?", 1)[0])
        if req.host:
            host = req.host.rsplit(":", 1)[0].lower() if not req.host.startswith("[") else ""
            if host and not _looks_like_ip(host):
                obs.add("domain", host)
                obs.add("http_host", host)

    def _http_response(self, rows: _Rows, row: int, payload: bytes) -> None:
        key = rows.src_key(row)
        if key is None:
            return
        resp = parse_http_response(payload)
        obs = self._get(key)
        port = int(rows.batch.sport[row])
        obs.http_services.setdefault(port, {"server": resp.server, "status": resp.status,
                                            "auth": resp.www_authenticate,
                                            "outside_client": not bool(rows.dst_local[row])})
        obs.add("http_server", resp.server)
        obs.add("maker_text", resp.server)
        upnp = resp.upnp
        obs.add("maker_text", upnp.get("manufacturer"))
        obs.add("upnp_type", upnp.get("deviceType"))
        for tag in ("modelName", "friendlyName", "modelDescription"):
            obs.add("name", upnp.get(tag))
        obs.add("model", " ".join(v for v in (upnp.get("modelName"), upnp.get("modelNumber"))
                                  if v) or None)
        obs.add("friendly_name", upnp.get("friendlyName"))

    def _tls(self, rows: _Rows, row: int, payload: bytes) -> None:
        hello = parse_tls_hello(payload)
        if hello.is_client:
            key = rows.src_key(row)
            if key is None:
                return
            obs = self._get(key)
            obs.add("domain", hello.sni.lower() if hello.sni else None)
            obs.add_tls("client-offer", hello.version, rows.dst(row), hello.sni)
            return
        server = rows.src_key(row)
        if server is not None:
            self._get(server).add_tls("server", hello.version, rows.dst(row), None)
        client = rows.dst_key(row)
        if client is not None:
            self._get(client).add_tls("negotiated", hello.version, rows.src(row), None)

    # ------------------------------------------------------------------ flows
    def add_flows(self, flows: FlowBatch) -> None:
        """Services and peers from flows (Zeek conn.logs or the flow meter's output)."""
        if flows.height == 0:
            return
        nets = self.local_networks
        answered = flows.filter(
            ((pl.col("proto") == "tcp") & pl.col("conn_state").is_in(_ESTABLISHED)) |
            ((pl.col("proto") == "udp") & (pl.col("resp_pkts") > 0)))
        # Group-by output order is arbitrary; sorted, the capped samples kept per device are
        # the same on every run.
        grouped = (answered.group_by("id.resp_h", "proto", "id.resp_p", "id.orig_h")
                   .agg(pl.col("ts").min().alias("first"), pl.len().alias("n"))
                   .sort("id.resp_h", "proto", "id.resp_p", "id.orig_h"))
        for resp, proto, port, orig, first, n in grouped.iter_rows():
            if not nets.is_local(resp):
                continue
            outside = None if nets.is_local(orig) else orig
            if proto == "udp" and outside is None and port >= 1024:
                continue
            self._ip_obs(resp).add_service(f"{proto}/{port}", first, outside, n)
        opened = (flows.filter(pl.col("proto").is_in(("tcp", "udp")))
                  .group_by("id.orig_h", "proto", "id.resp_p", "id.resp_h").len()
                  .sort("id.orig_h", "proto", "id.resp_p", "id.resp_h"))
        for orig, proto, port, resp, n in opened.iter_rows():
            if nets.is_local(orig) and not _is_group_ip(resp):
                self._ip_obs(orig).add_connection(f"{proto}/{port}", resp,
                                                  not nets.is_local(resp), n)
        peers = (flows.group_by("id.orig_h", "id.resp_h")
                 .agg(pl.col("ts").min().alias("first"), pl.col("ts").max().alias("last"),
                      pl.len().alias("n"))
                 .sort("id.orig_h", "id.resp_h"))
        for orig, resp, first, last, n in peers.iter_rows():
            if nets.is_local(orig) and not _is_group_ip(resp):
                obs = self._ip_obs(orig)
                obs.seen_ip(orig, first, last)
                obs.peers[resp] += n

    def _ip_obs(self, ip: str) -> DeviceObservation:
        macs = self._ip_macs.get(ip)
        return self._get(next(iter(macs))) if macs and len(macs) == 1 else self._get(ip)

    # ------------------------------------------------------------------ result
    def finish(self) -> Inventory:
        """Fold IP-keyed observations into their MAC's, classify, and return the inventory."""
        for key in [k for k, o in self._obs.items() if o.mac is None]:
            macs = self._ip_macs.get(key)
            if macs and len(macs) == 1:
                self._get(next(iter(macs))).merge(self._obs.pop(key))
        devices = [self._device(obs) for obs in self._obs.values()
                   if obs.ips or obs.values or obs.services]
        devices.sort(key=lambda d: (d.first_seen, d.key))
        kept = {d.key for d in devices}
        return Inventory(devices, {k: o for k, o in self._obs.items() if k in kept}, self.stats,
                         dict(self._names))

    def device_of_ip(self, ip: str) -> Device | None:
        """The device using ``ip`` now, classified from what was seen so far (``None`` if
        unseen). Nothing is folded or finished, so batches can still be added afterwards; of
        several MACs seen with ``ip`` the one that used it last is taken.

        >>> InventoryBuilder().device_of_ip("10.0.0.7") is None
        True
        """
        macs = [m for m in self._ip_macs.get(ip, ()) if ip in self._obs[m].ips]
        loose = self._obs.get(ip)
        if not macs:
            return self._device(loose) if loose is not None else None
        obs = self._obs[max(macs, key=lambda m: (self._obs[m].ips[ip][1], m))]
        if loose is not None and len(macs) == 1:
            obs = copy.deepcopy(obs)
            obs.merge(loose)
        return self._device(obs)

    def evidence_of(self, obs: DeviceObservation) -> dict[str, list[str]]:
        """The classifier's evidence mapping for one observation."""
        ev: dict[str, list[str]] = {k: list(v) for k, v in obs.values.items()}
        if obs.mac is not None:
            mv = self.oui.lookup(obs.mac)
            if mv.organization:
                ev["oui"] = [mv.organization]
        ev.setdefault("name", []).extend(ev.get("hostname", []))
        ev["service"] = sorted(obs.services)
        return ev

    def _device(self, obs: DeviceObservation) -> Device:
        ev = self.evidence_of(obs)
        vendor = self.classifier.vendor(ev)
        if vendor.name:
            ev["vendor"] = [vendor.name]
        kind = self.classifier.kind(ev)
        names = obs.values
        name = next((vals[0] for f in ("friendly_name", "hostname") if (vals := names.get(f))),
                    None)
        if name is None and names.get("name"):
            name = names["name"][0]
        history = sorted(obs.ips.items(), key=lambda kv: (kv[1][0], kv[0]))
        ips = tuple(ip for ip, _ in history)
        peers = tuple(
            f"{self._names[p]} ({p})" if p in self._names else p
            for p, _ in _top(obs.peers, _PEER_LIMIT) if p not in obs.ips
        )
        mac_info = self.oui.lookup(obs.mac) if obs.mac else None
        evidence: dict[str, Any] = {
            "vendor": list(vendor.evidence),
            "vendor_confidence": vendor.confidence,
            "kind": list(kind.evidence),
            "kind_scores": kind.scores,
            "oui": mac_info.organization if mac_info else None,
            "randomized_mac": bool(mac_info and mac_info.randomized),
            "ip_history": [{"ip": ip, "first": s[0], "last": s[1]} for ip, s in history],
            "dns": [n for n, _ in _top(obs.dns_names, 20)],
            **{k: v[:10] for k, v in obs.values.items()
               if k in ("dhcp_vendor_class", "dhcp_fingerprint", "mdns_service", "ssdp_server",
                        "user_agent", "upnp_type", "hostname")},
        }
        first = obs.first_seen if obs.first_seen != float("inf") else 0.0
        last = obs.last_seen if obs.last_seen != float("-inf") else first
        return Device(
            mac=obs.mac, ips=ips, vendor=vendor.name, name=name, kind=kind.kind,
            kind_confidence=kind.confidence, model=next(iter(names.get("model", [])), None),
            first_seen=first, last_seen=last, services=tuple(sorted(obs.services)),
            peers=peers, evidence=evidence,
        )


def _top(counts: Counter[str], limit: int) -> list[tuple[str, int]]:
    """The ``limit`` most common entries, ties broken by name (so reports are reproducible)."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]


def _looks_like_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def build_inventory(
    batches: Iterable[PacketBatch], local_networks: LocalNetworks | None = None
) -> Inventory:
    """Convenience: an inventory from an iterable of PacketBatches."""
    builder = InventoryBuilder(local_networks)
    for batch in batches:
        builder.add_batch(batch)
    return builder.finish()


__all__ = ["Inventory", "InventoryBuilder", "ParseStats", "build_inventory"]
