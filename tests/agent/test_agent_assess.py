"""The device assessment on a prepared root tree (real hashes, real config files)."""

from __future__ import annotations

from pathlib import Path

import pytest
from devroot import build_root, yescrypt

from hedgerow.agent import Agent, AgentConfig
from hedgerow.agent.checks.accounts import check_accounts
from hedgerow.agent.checks.filesystem import check_path, check_setuid
from hedgerow.agent.checks.kernel import check_kernel
from hedgerow.agent.checks.services import check_services
from hedgerow.agent.checks.software import check_software
from hedgerow.agent.checks.ssh import check_ssh
from hedgerow.assess.standards import STANDARDS, StandardsError, load_standards


@pytest.fixture()
def cfg(tmp_path: Path) -> AgentConfig:
    root = build_root(tmp_path / "root")
    return AgentConfig.from_dict({"device": "cam-1", "root": str(root),
                                  "state_dir": str(tmp_path / "state"),
                                  "protect": {"enabled": False}})


def test_default_and_empty_passwords(cfg: AgentConfig) -> None:
    findings = check_accounts(cfg)
    by_user = {f.evidence.get("user"): f.check_id for f in findings if "user" in f.evidence}
    assert by_user["root"] == "acct.default-password"  # sha512_crypt, Mirai's xc3511
    assert by_user["admin"] == "acct.default-password"  # md5_crypt admin:admin
    assert by_user["guest"] == "acct.empty-password"
    assert "owner" not in by_user and "daemon" not in by_user
    if yescrypt("support") is not None:
        assert by_user["support"] == "acct.default-password"  # yescrypt via libxcrypt
    malformed = [f for f in findings if f.check_id == "acct.unverifiable-hash"]
    assert malformed and malformed[0].evidence["malformed_lines"] == 1
    root = next(f for f in findings if f.evidence.get("user") == "root")
    assert "5.1-1" in root.standards["etsi_en_303_645"] and "I1" in root.standards[
        "owasp_iot_2018"]


def test_ssh_include_wins(cfg: AgentConfig) -> None:
    ids = {f.check_id: f for f in check_ssh(cfg)}
    assert ids["ssh.root-login"].evidence["PermitRootLogin"] == "yes"
    assert "/etc/ssh/sshd_config.d/10-vendor.conf" in ids["ssh.root-login"].evidence["files"]
    assert "ssh.password-auth" in ids


def test_path_and_setuid(cfg: AgentConfig) -> None:
    (path_finding,) = check_path(cfg)
    assert {"dir": "/usr/local/bin", "mode": "0o777"} in path_finding.evidence["dirs"]
    (suid,) = check_setuid(cfg)
    paths = [f["path"] for f in suid.evidence["files"]]
    assert paths == ["/usr/bin/.sysupd"]  # /bin/busybox is allow-listed even if setuid


def test_software(cfg: AgentConfig) -> None:
    findings = {f.check_id: f for f in check_software(cfg, now=1_764_000_000.0)}
    vulnerable = {p["package"] for p in findings["sw.known-vulnerable"].evidence["packages"]}
    # busybox 1.30.1 and dropbear 2019.78 are vulnerable; openssh 9.2p1-2+deb12u3 carries the
    # regreSSHion back-port; dnsmasq is not installed (config-files only).
    assert vulnerable == {"busybox", "dropbear-bin"}
    assert findings["sw.outdated"].evidence["age_days"] > 1800


def test_kernel_sysctls_from_proc_tree(tmp_path: Path, cfg: AgentConfig) -> None:
    proc = tmp_path / "proc"
    for name, value in (("kernel/randomize_va_space", "0"), ("kernel/kptr_restrict", "1"),
                        ("net/ipv4/tcp_syncookies", "1")):
        (proc / "sys" / name).parent.mkdir(parents=True, exist_ok=True)
        (proc / "sys" / name).write_text(value + "\n")
    cfg.proc = str(proc)
    (finding,) = check_kernel(cfg)
    assert [s["sysctl"] for s in finding.evidence["settings"]] == ["kernel.randomize_va_space"]
    assert finding.evidence["checked"] == 3


def test_services_from_proc_net(tmp_path: Path, cfg: AgentConfig) -> None:
    proc = tmp_path / "proc"
    (proc / "net").mkdir(parents=True)
    header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid" \
             "  timeout inode\n"
    (proc / "net/tcp").write_text(
        header
        + "   0: 00000000:0017 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0"
          "        0 1111 1 0000000000000000 100 0 0 10 0\n"
        + "   1: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0"
          "        0 2222 1 0000000000000000 100 0 0 10 0\n"
        + "   2: garbage\n")
    (proc / "net/udp").write_text(
        header + "   0: 00000000:076C 00000000:0000 07 00000000:00000000 00:00000000 00000000"
                 "     0        0 3333 2 0000000000000000 0\n")
    cfg.proc = str(proc)
    ids = {f.check_id: f for f in check_services(cfg)}
    assert set(ids) == {"svc.telnet-listening", "svc.upnp-listening",
                        "svc.listening-all-interfaces"}
    assert ids["svc.listening-all-interfaces"].evidence["ports"] == [23]  # 5432 is loopback


def test_agent_assess_spools_findings_and_runs_maker_checks(cfg: AgentConfig) -> None:
    agent = Agent(cfg)
    from hedgerow.assess.standards import make_finding

    agent.add_check("maker.debug-uart", lambda c: [make_finding(
        "svc.adb-listening", c.device, {"source": "maker check"})])
    agent.add_check("maker.broken", lambda c: 1 / 0)  # type: ignore[arg-type,return-value]
    seen: list[str] = []
    agent.on_finding(lambda f: seen.append(f.check_id))
    findings = agent.assess()
    assert "svc.adb-listening" in seen and len(seen) == len(findings)
    assert any("maker.broken: ZeroDivisionError" in e for e in agent.errors)
    assert len(agent.spool) == len({(f.check_id, str(f.evidence)) for f in findings})
    agent.assess()  # idempotent: the same findings are not queued twice
    assert len(agent.spool) == len({(f.check_id, str(f.evidence)) for f in findings})


def test_standards_mapping_is_complete_and_validated(tmp_path: Path) -> None:
    mapping = load_standards()
    for info in mapping.values():
        assert all(info.standards[s] for s in STANDARDS)
    bad = tmp_path / "bad.yaml"
    bad.write_text("checks:\n  x.y:\n    title: t\n    severity: high\n    colour: red\n")
    with pytest.raises(StandardsError, match=r"x\.y.*unknown key"):
        load_standards(bad)


def test_run_reassesses_on_schedule(cfg: AgentConfig) -> None:
    """With a fake clock: assessed at start and again once ``assess_interval_s`` has passed."""
    now = [1000.0]
    cfg.assess_interval_s = 10.0
    agent = Agent(cfg, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + 4.0))
    runs: list[float] = []
    agent.on_finding(lambda f: runs.append(now[0]) if f.check_id == "ssh.root-login" else None)
    agent.run(cycles=4, interval_s=4.0)
    assert runs == [1000.0, 1012.0]  # cycles at 1000, 1004, 1008, 1012
