"""`hedgerow scan`, `hedgerow agent run` and the live gateway talking to a real hub.

A real uvicorn server on a loopback port (started late, so it is first unreachable): scan
spools while the hub is down and delivers on the next run; two tenants reach consensus on an
attacker and the agent (dry-run) and the gateway's decision engine block it, never a
management address.
"""

from __future__ import annotations

import json
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from click.testing import CliRunner

from conftest import require_root, require_tool
from hedgerow.cli.main import main
from hedgerow.hub.app import create_app
from hedgerow.hub.config import HubSettings
from hedgerow.hub.migrate import upgrade
from hedgerow.hub.tenants import create_tenant, issue_credential
from hedgerow.model import Alert, AlertKind, Severity
from hedgerow.respond.decisions import DecisionEngine
from hedgerow.respond.guard import Guard
from hedgerow.respond.policy import load_policy
from hedgerow.respond.store import DecisionStore
from hedgerow.sense.hublink import RULE, GatewayHub
from hedgerow.telemetry.client import HubClient, HubError
from hedgerow.telemetry.publish import HubLink
from hedgerow.telemetry.spool import Spool

from .test_real_server import _Server

SAMPLE = Path(__file__).parents[2] / "data/samples/slips/hide-and-seek-botnet.pcap"
ATTACKER, MANAGED = "45.95.147.7", "45.95.147.8"


@dataclass
class Served:
    url: str
    tokens: dict[str, str]  # tenant name -> credential token
    tenant_ids: dict[str, int]
    start: threading.Event

    def credential(self, tmp: Path, tenant: str) -> Path:
        path = tmp / f"{tenant}.json"
        path.write_text(json.dumps({"hub": self.url, "token": self.tokens[tenant]}))
        return path

    def up(self) -> None:
        self.start.set()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                HubClient(self.url, self.tokens["home-a"], timeout=2).request("GET", "/v1/me")
                return
            except HubError:
                time.sleep(0.05)
        raise AssertionError("hub did not come up within 15 s")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """Two households and a gateway credential; the port refuses connections until ``up()``."""
    url_db = f"sqlite:///{tmp_path}/hub.db"
    upgrade(url_db)
    app = create_app(HubSettings(database_url=url_db, min_reporters=2, min_tenants=2,
                                 consensus_interval_s=0,
                                 signing_key_path=str(tmp_path / "signing.pem")))
    tokens, ids = {}, {}
    with app.state.hub.sessions() as session:
        for name in ("home-a", "home-b"):
            tenant = create_tenant(session, name, "household", time.time())
            ids[name] = tenant.id
            tokens[name] = issue_credential(session, tenant.id, f"{name}-gw", "gateway",
                                            time.time())[1]
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = _Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    start = threading.Event()

    def run() -> None:
        if start.wait(timeout=60):
            server.run(sockets=[sock])

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield Served(f"http://127.0.0.1:{sock.getsockname()[1]}", tokens, ids, start)
    finally:
        server.should_exit = True
        start.set()
        thread.join(timeout=15)
        sock.close()
        app.state.hub.engine.dispose()


def test_scan_spools_while_hub_down_then_delivers(served: Served, tmp_path: Path) -> None:
    cred = served.credential(tmp_path, "home-a")
    spool = tmp_path / "spool.db"
    args = ["scan", str(SAMPLE), "-o", str(tmp_path / "out"), "--hub", served.url,
            "--hub-credential", str(cred), "--hub-spool", str(spool)]
    down = CliRunner().invoke(main, args)
    assert down.exit_code == 0, down.output
    alerts = (tmp_path / "out/alerts.jsonl").read_text().splitlines()
    assert alerts  # the Hide'n'Seek capture: telnet scanning and its P2P traffic
    with Spool(spool) as queued:
        waiting = len(queued)
        kinds = {item.kind for item in queued.peek(1000)}
    assert waiting > len(alerts) and kinds == {"alert", "device", "finding"}
    line = f"hub: {waiting} events spooled in {spool}; they will be sent next time"
    assert line in down.output

    served.up()
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0, again.output
    assert f"hub: sent {waiting} events to {served.url}" in again.output
    with Spool(spool) as queued:
        assert len(queued) == 0
    report = HubClient(served.url, served.tokens["home-a"]).report(
        "household", served.tenant_ids["home-a"])
    assert sum(c["count"] for c in report["alerts"]["counts"]) == len(alerts)
    sent_kinds = {json.loads(a)["kind"] for a in alerts}
    assert {c["kind"] for c in report["alerts"]["counts"]} == sent_kinds
    assert any("192.168.2.16" in d["ips"] for d in report["devices"])


def test_scan_refuses_unusable_credential_before_scanning(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["scan", str(SAMPLE), "--hub", "http://127.0.0.1:9"])
    assert result.exit_code == 2 and "--hub needs --hub-credential FILE" in result.output
    missing = tmp_path / "none.json"
    result = CliRunner().invoke(main, ["scan", str(SAMPLE), "--hub-credential", str(missing)])
    assert result.exit_code == 2 and f"{missing}: cannot read hub credentials" in result.output


def _attack(peer: str, reporter: str) -> dict[str, object]:
    now = time.time()
    alert = Alert(kind=AlertKind.BRUTEFORCE, detector=f"{reporter}.ssh", detector_version="1",
                  direction="inbound", device="192.168.1.10", peers=(peer,),
                  severity=Severity.HIGH, confidence=0.9, start=now - 120, end=now - 1,
                  summary="SSH password guessing")
    return {"id": f"{reporter}-{peer}", "kind": "alert", "payload": alert.to_dict()}


def _consensus(served: Served) -> None:
    """Both households report the attacker and the management host: both get listed."""
    for tenant in ("home-a", "home-b"):
        HubClient(served.url, served.tokens[tenant]).send_events(
            [_attack(ATTACKER, tenant), _attack(MANAGED, tenant)])
    listed = HubClient(served.url, served.tokens["home-a"]).blocklist("text").split()
    assert sorted(listed) == [ATTACKER, MANAGED]


def test_agent_blocks_community_blocklist_dry_run(served: Served, tmp_path: Path) -> None:
    served.up()
    _consensus(served)
    cred = served.credential(tmp_path, "home-a")
    config = tmp_path / "agent.toml"
    config.write_text(f'device = "cam-1"\n[protect]\nmanagement = ["{MANAGED}"]\n'
                      f'[hub]\ncredentials = "{cred}"\n')
    root = tmp_path / "root"
    root.mkdir()
    result = CliRunner().invoke(main, [
        "agent", "run", "--config", str(config), "--root", str(root), "--state-dir",
        str(tmp_path / "state"), "--cycles", "1", "--interval", "0.01", "--no-assess",
        "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    actions = [json.loads(line) for line in result.output.splitlines()
               if line.startswith("{") and '"community blocklist"' in line]
    by_target = {a["target"]: a for a in actions}
    assert set(by_target) == {ATTACKER, MANAGED}
    assert by_target[ATTACKER]["ok"] and by_target[ATTACKER]["dry_run"]
    assert by_target[ATTACKER]["action"] == "block"
    assert not by_target[MANAGED]["ok"]
    assert "management address" in by_target[MANAGED]["error"]
    # The actions were spooled and delivered: the household report shows them.
    report = HubClient(served.url, served.tokens["home-a"]).report(
        "household", served.tenant_ids["home-a"])
    assert ATTACKER in json.dumps(report["actions"])


def test_gateway_decision_engine_blocks_community_blocklist(served: Served,
                                                            tmp_path: Path) -> None:
    served.up()
    _consensus(served)
    engine = DecisionEngine(load_policy(None), DecisionStore(tmp_path / "decisions.jsonl"),
                            Guard.from_entries([MANAGED]), enforcer=None)
    link = HubLink(HubClient(served.url, served.tokens["home-b"]), Spool(tmp_path / "s.db"))
    gateway = GatewayHub(link, engine, block_duration_s=600)
    outcomes = {o.decision.value: o for o in gateway.tick()}
    assert outcomes[ATTACKER].status == "dry-run" and outcomes[ATTACKER].rule == RULE
    assert outcomes[ATTACKER].decision.reason == "community blocklist"
    assert outcomes[MANAGED].status == "refused"
    assert [e.decision.value for e in engine.store.active()] == [ATTACKER]
    assert gateway.tick() == []  # already blocked: not decided again
    # The decision went to the hub as an action taken by this household.
    link.drain()
    report = HubClient(served.url, served.tokens["home-b"]).report(
        "household", served.tenant_ids["home-b"])
    assert ATTACKER in json.dumps(report["actions"])
    link.close()


def test_sense_blocks_community_blocklist_and_reports(served: Served, tmp_path: Path) -> None:
    """The real `hedgerow sense` process on a quiet veth pair of its own (dry-run)."""
    require_root()
    require_tool("ip")
    served.up()
    _consensus(served)
    ip = shutil.which("ip") or "/usr/sbin/ip"
    iface = f"hr-pub-{secrets.token_hex(2)}"
    subprocess.run([ip, "link", "add", iface, "type", "veth", "peer", "name", iface + "p"],
                   check=True)
    try:
        for end in (iface, iface + "p"):
            subprocess.run([ip, "link", "set", end, "up"], check=True)
        done = subprocess.run(
            [str(Path(sys.executable).with_name("hedgerow")), "sense", "--iface", iface,
             "--dry-run", "--duration", "2", "--stats-every", "0.3", "--metrics-port", "0",
             "--decisions", str(tmp_path / "decisions.jsonl"), "--management", MANAGED,
             "--hub-credential", str(served.credential(tmp_path, "home-a")),
             "--hub-spool", str(tmp_path / "spool.db")],
            capture_output=True, text=True, timeout=60, check=False)
    finally:
        subprocess.run([ip, "link", "del", iface], capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    decided = [line for line in done.stdout.splitlines() if "rule=hub-community-blocklist" in line]
    assert len(decided) == 2, done.stdout
    assert any(line.startswith(f"  DECISION [dry-run] block {ATTACKER} ") for line in decided)
    assert any(line.startswith(f"  DECISION [refused] block {MANAGED} ") for line in decided)
    assert f"hub: sent 1 events to {served.url}" in done.stderr
    report = HubClient(served.url, served.tokens["home-a"]).report(
        "household", served.tenant_ids["home-a"])
    assert ATTACKER in json.dumps(report["actions"])
    assert MANAGED not in json.dumps(report["actions"])


def test_sense_refuses_hub_without_credential() -> None:
    result = CliRunner().invoke(main, ["sense", "--iface", "lo", "--hub", "http://127.0.0.1:9"])
    assert result.exit_code == 2
    assert result.stderr.strip() == ("hedgerow sense: --hub needs --hub-credential FILE "
                                     "(written by `hedgerow hub enrol --save`)")
