"""The agent's configuration: one TOML file, validated (unknown keys are an error).

Every path the agent reads is taken relative to ``root`` (and ``/proc`` to ``proc``), so a maker
can point it at a firmware tree and tests at a prepared root. Plain dataclasses, no pydantic, to
keep the agent small.

Example:
    >>> cfg = AgentConfig.from_dict({"device": "cam-1", "protect": {"dry_run": True,
    ...     "management": ["192.168.1.10"]}})
    >>> cfg.device, cfg.protect.dry_run, cfg.interval_s
    ('cam-1', True, 5.0)
    >>> try:
    ...     AgentConfig.from_dict({"intervall_s": 3})
    ... except ConfigError as exc:
    ...     print(str(exc).split(" (")[0])
    <config>: unknown key 'intervall_s'
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import socket
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_STATE_DIR = "/var/lib/hedgerow-agent"


class ConfigError(ValueError):
    """A configuration problem, in one line naming the file and key."""


@dataclass
class AssessConfig:
    """What the assessment checks, and with which data."""

    credentials: list[str] = field(default_factory=list)
    credentials_file: str = ""
    setuid_allow: list[str] = field(default_factory=list)
    max_software_age_days: int = 365
    disabled: list[str] = field(default_factory=list)
    max_guesses_per_account: int = 200


@dataclass
class DetectConfig:
    """Thresholds of the on-device threat detectors (per monitoring cycle unless stated)."""

    suspicious_dirs: list[str] = field(
        default_factory=lambda: ["/tmp", "/dev/shm", "/var/run", "/run", "/var/tmp"])
    process_allow: list[str] = field(default_factory=lambda: ["/memfd:runc_cloned*"])
    scan_ports: list[int] = field(default_factory=lambda: [23, 2323])
    scan_port_connections: int = 5
    scan_distinct_hosts: int = 30
    mining_ports: list[int] = field(
        default_factory=lambda: [3333, 3334, 4444, 5555, 7777, 8888, 9999, 14433, 14444, 45700])
    mining_cpu_percent: float = 40.0
    mining_cycles: int = 2
    flood_packets_per_s: float = 20000.0
    login_failures: int = 5
    login_window_s: float = 120.0
    login_ports: list[int] = field(default_factory=lambda: [22, 23, 2323])
    login_connections: int = 10
    auth_logs: list[str] = field(
        default_factory=lambda: ["/var/log/auth.log", "/var/log/secure", "/var/log/messages"])
    btmp: str = "/var/log/btmp"
    journald: bool = False
    integrity_files: list[str] = field(default_factory=lambda: [
        "/etc/passwd", "/etc/shadow", "/etc/group", "/etc/ssh/sshd_config",
        "/etc/crontab", "/etc/inittab", "/etc/rc.local", "/etc/profile",
        "/root/.ssh/authorized_keys", "/bin/busybox", "/bin/login", "/usr/sbin/sshd"])
    max_processes: int = 4096


@dataclass
class ProtectConfig:
    """What the agent does on its own when attacked (by policy), and what it never touches."""

    enabled: bool = True
    dry_run: bool = False
    block_duration_s: int = 3600
    block_kinds: list[str] = field(default_factory=lambda: ["bruteforce", "scan", "dos"])
    process_action: str = "kill"
    process_kinds: list[str] = field(default_factory=lambda: ["malware", "mining", "scan", "dos"])
    quarantine_executables: bool = True
    lockdown_kinds: list[str] = field(default_factory=list)
    lockdown_allow: list[str] = field(default_factory=list)
    management: list[str] = field(default_factory=list)
    management_ports: list[int] = field(default_factory=list)
    nft_table: str = "hedgerow_agent"


@dataclass
class HubConfig:
    """Where to send telemetry and whether to block the hub's community blocklist.

    ``credentials`` is the file ``hedgerow hub enrol --save`` wrote; ``url`` (optional)
    overrides the hub named in it. Empty ``credentials``: no hub.
    """

    url: str = ""
    credentials: str = ""
    drain_interval_s: float = 10.0
    blocklist_interval_s: float = 300.0
    block: bool = True


@dataclass
class AgentConfig:
    """Top-level agent settings; see ``docs/agent.md`` for every key."""

    device: str = field(default_factory=socket.gethostname)
    root: str = "/"
    proc: str = "/proc"
    state_dir: str = DEFAULT_STATE_DIR
    interval_s: float = 5.0
    assess_interval_s: float = 86400.0
    assess: AssessConfig = field(default_factory=AssessConfig)
    detect: DetectConfig = field(default_factory=DetectConfig)
    protect: ProtectConfig = field(default_factory=ProtectConfig)
    hub: HubConfig = field(default_factory=HubConfig)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> AgentConfig:
        """Read and validate a TOML file; errors are one line naming the file and key."""
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<config>") -> AgentConfig:
        tables = {"assess": AssessConfig, "detect": DetectConfig, "protect": ProtectConfig,
                  "hub": HubConfig}
        top = {k: v for k, v in data.items() if k not in tables}
        cfg = _build(cls, top, source, "", tables=sorted(tables))
        for name, kind in tables.items():
            section = data.get(name, {})
            if not isinstance(section, dict):
                raise ConfigError(f"{source}: [{name}] must be a table")
            setattr(cfg, name, _build(kind, section, source, f"{name}."))
        if cfg.protect.process_action not in ("stop", "kill", "none"):
            raise ConfigError(f"{source}: protect.process_action must be stop, kill or none")
        if cfg.interval_s <= 0:
            raise ConfigError(f"{source}: interval_s must be positive")
        for key in ("management", "lockdown_allow"):
            for text in getattr(cfg.protect, key):
                try:
                    ipaddress.ip_network(text, strict=False)
                except ValueError:
                    raise ConfigError(f"{source}: protect.{key}: {text!r} is not an address "
                                      "or network") from None
        return cfg

    def path(self, device_path: str) -> Path:
        """A device path (``/etc/shadow``) as seen under :attr:`root`."""
        return Path(self.root) / device_path.lstrip("/")

    def proc_path(self, rel: str) -> Path:
        return Path(self.proc) / rel.lstrip("/")

    @property
    def state(self) -> Path:
        return Path(self.state_dir)


def _build(kind: Any, values: dict[str, Any], source: str, prefix: str,
           tables: list[str] | None = None) -> Any:
    fields = {f.name: f for f in dataclasses.fields(kind) if f.name not in (tables or [])}
    for key, value in values.items():
        if key not in fields:
            known = ", ".join(sorted(fields))
            extra = f"; tables: {', '.join(tables)}" if tables else ""
            raise ConfigError(f"{source}: unknown key {prefix + key!r} (known: {known}{extra})")
        _check_type(fields[key], value, source, prefix + key)
    return kind(**values)


def _check_type(f: dataclasses.Field[Any], value: Any, source: str, key: str) -> None:
    hint = str(f.type)
    ok = {
        "str": isinstance(value, str),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, (int, float)) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "list[str]": isinstance(value, list) and all(isinstance(v, str) for v in value),
        "list[int]": isinstance(value, list) and all(isinstance(v, int) for v in value),
    }.get(hint, True)
    if not ok:
        raise ConfigError(f"{source}: {key} must be {hint}, got {value!r}")
