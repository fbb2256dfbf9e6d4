"""Passive network risk checks: what a device's traffic shows about its weaknesses.

Each check reads the inventory's observations of a device (services it answered, who reached
them, connections it opened, TLS versions, UPnP announcements, HTTP it served) and the telnet
logins seen, and yields :class:`hedgerow.model.Finding` s whose clauses and fixes come from the
shared standards mapping (``hedgerow/assess/standards.yaml``).

Example:
    >>> from hedgerow.inventory import InventoryBuilder
    >>> assess_network(InventoryBuilder().finish())
    []
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hedgerow.assess.network.config import NetworkChecks, default_credentials, load_network_checks
from hedgerow.assess.network.telnet import LoginAttempt
from hedgerow.assess.standards import make_finding
from hedgerow.inventory.builder import Inventory
from hedgerow.inventory.observation import DeviceObservation
from hedgerow.inventory.parsers.tls import VERSION_NAMES
from hedgerow.model import Finding, Severity


def _ports(obs: DeviceObservation, ports: Iterable[int]) -> list[str]:
    wanted = {f"tcp/{p}" for p in ports}
    return sorted(s for s in obs.services if s in wanted)


def _first(obs: DeviceObservation, name: str) -> str | None:
    values = obs.values.get(name)
    return values[0] if values else None


def _service_evidence(obs: DeviceObservation, names: list[str], limit: int) -> dict[str, Any]:
    return {
        "services": names,
        "connections": sum(obs.services[n]["connections"] for n in names),
        "first_seen": min(obs.services[n]["first"] for n in names),
        "outside_peers": sorted({p for n in names for p in obs.services[n]["outside_peers"]})[
            :limit],
    }


def _check_device(key: str, obs: DeviceObservation, cfg: NetworkChecks,
                  names: dict[str, str]) -> list[Finding]:
    limit = cfg.evidence_limit
    found: list[Finding] = []
    telnet = _ports(obs, cfg.telnet_ports)
    if telnet:
        found.append(make_finding("net.telnet-offered", key,
                                  _service_evidence(obs, telnet, limit)))
    ftp = _ports(obs, cfg.ftp_ports)
    if ftp:
        found.append(make_finding("net.ftp-offered", key, _service_evidence(obs, ftp, limit)))
    http = sorted(set(_ports(obs, cfg.http_ports)) |
                  {f"tcp/{p}" for p in obs.http_services if p != 443})
    if http:
        servers = sorted({str(i["server"]) for i in obs.http_services.values() if i["server"]})
        basic = any(str(i.get("auth") or "").lower().startswith("basic")
                    for i in obs.http_services.values())
        found.append(make_finding("net.http-admin-cleartext", key, {
            "ports": http[:limit], "servers": servers[:limit], "basic_auth_in_clear": basic}))
    if obs.ssdp_announces:
        found.append(make_finding("net.upnp-announced", key, {
            "announcements": obs.ssdp_announces,
            "server": _first(obs, "ssdp_server"),
            "device_types": obs.values.get("upnp_type", [])[:limit],
            "location": _first(obs, "ssdp_location")}))
    exposed = sorted(n for n, s in obs.services.items() if s["outside_peers"])
    if exposed:
        management = bool(set(exposed) & {*telnet, *ftp, *http})
        found.append(make_finding(
            "net.reachable-from-internet", key, _service_evidence(obs, exposed, limit),
            severity=Severity.CRITICAL if management else Severity.HIGH))
    control = sorted(({*obs.services, *obs.connections}) & set(cfg.cleartext_control_ports))
    if control:
        peers = sorted({p for c in control for p in obs.connections.get(c, {}).get("peers", [])})
        found.append(make_finding("net.cleartext-control", key, {
            "protocols": control, "peers": peers[:limit]}))
    web = obs.connections.get("tcp/80")
    if web and web["outside"] and obs.values.get("http_path"):
        found.append(make_finding("net.cleartext-cloud", key, {
            "peers": web["peers"][:limit], "paths": obs.values["http_path"][:limit],
            "hosts": sorted({*obs.values.get("http_host", []),
                             *(names[p] for p in web["peers"] if p in names)})[:limit]}))
    old = [t for t in obs.tls if t["version"] < cfg.min_tls_version]
    if old:
        found.append(make_finding("net.outdated-tls", key, {
            "hellos": [{"role": t["role"], "version": VERSION_NAMES.get(t["version"],
                                                                         hex(t["version"])),
                        "peer": t["peer"], "sni": t["sni"]} for t in old[:limit]]}))
    expected = set(cfg.expected_outbound_ports)
    odd = sorted(n for n, c in obs.connections.items() if c["outside"] and n not in expected)
    if odd:
        found.append(make_finding("net.unexpected-ports", key, {
            "ports": odd[:limit],
            "peers": {n: obs.connections[n]["peers"][:3] for n in odd[:limit]}}))
    return found


def _login_findings(inventory: Inventory, attempts: Iterable[LoginAttempt]) -> list[Finding]:
    defaults = set(default_credentials())
    by_ip = inventory.key_of_ip()
    seen: set[tuple[str, str, str]] = set()
    out: list[Finding] = []
    for a in attempts:
        if not a.success or (a.user, a.password) not in defaults:
            continue
        device = by_ip.get(a.server, a.server)
        if (device, a.user, a.password) in seen:
            continue
        seen.add((device, a.user, a.password))
        out.append(make_finding("net.default-credential-login", device, {
            "server": a.server, "port": a.port, "client": a.client, "user": a.user,
            "password": a.password}))
    return out


def assess_network(inventory: Inventory, logins: Iterable[LoginAttempt] = (),
                   config: NetworkChecks | None = None) -> list[Finding]:
    """All passive findings for every device of the inventory, most severe first."""
    cfg = config or load_network_checks()
    findings = [f for key, obs in inventory.observations.items()
                for f in _check_device(key, obs, cfg, inventory.names)]
    findings.extend(_login_findings(inventory, logins))
    findings.sort(key=lambda f: (-f.severity.rank, f.device, f.check_id))
    return findings
