"""Risky network services listening on the device, and services bound to every interface.

Example:
    >>> SERVICES[23], SERVICES[5555]
    ('svc.telnet-listening', 'svc.adb-listening')
"""

from __future__ import annotations

from hedgerow.agent.config import AgentConfig
from hedgerow.agent.procnet import Sock, read_sockets, socket_owners
from hedgerow.assess.standards import make_finding
from hedgerow.model import Finding

# (port) -> check id, for TCP; SSDP is UDP.
SERVICES: dict[int, str] = {
    23: "svc.telnet-listening", 2323: "svc.telnet-listening",
    21: "svc.ftp-listening",
    5555: "svc.adb-listening",
    3389: "svc.rdp-listening", 5900: "svc.rdp-listening", 5901: "svc.rdp-listening",
}
UDP_SERVICES: dict[int, str] = {1900: "svc.upnp-listening"}


def _process(proc: str, pid: int | None) -> tuple[str | None, str | None]:
    """Name and command line of ``pid`` (busybox applets share the name ``busybox``)."""
    if pid is None:
        return None, None
    try:
        with open(f"{proc}/{pid}/comm", encoding="utf-8", errors="replace") as fh:
            name = fh.read().strip()
        with open(f"{proc}/{pid}/cmdline", "rb") as fb:
            cmdline = fb.read(512).replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return None, None
    return name, cmdline


def check_services(cfg: AgentConfig) -> list[Finding]:
    table = read_sockets(cfg.proc)
    owners = socket_owners(cfg.proc, cfg.detect.max_processes)
    listeners = [s for s in table.listeners() if not s.loopback]
    found: dict[str, list[Sock]] = {}
    for s in listeners:
        check = (SERVICES if s.proto.startswith("tcp") else UDP_SERVICES).get(s.local_port)
        if check:
            found.setdefault(check, []).append(s)
    findings: list[Finding] = []

    def describe(s: Sock) -> dict[str, object]:
        pid = owners.get(s.inode)
        name, cmdline = _process(cfg.proc, pid)
        return {"proto": s.proto, "address": s.local_ip, "port": s.local_port, "pid": pid,
                "process": name, "cmdline": cmdline}

    for check, socks in sorted(found.items()):
        findings.append(make_finding(check, cfg.device,
                                     {"sockets": [describe(s) for s in socks]}))
    wide = [s for s in listeners if s.all_interfaces and s.proto.startswith("tcp")]
    if wide:
        ports = sorted({s.local_port for s in wide})
        findings.append(make_finding(
            "svc.listening-all-interfaces", cfg.device,
            {"ports": ports, "sockets": [describe(s) for s in wide][:50]},
            title=f"{len(ports)} service(s) listen on every interface: "
                  f"{', '.join(map(str, ports[:10]))}"))
    return findings
