"""A real hub over real HTTP (uvicorn on 127.0.0.1, random port) driven by the standard-library
client an agent uses: spool while the hub is down, drain when it is up, enrol, pull the
blocklist and signed bundles, and the `hedgerow hub` client commands."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest
import uvicorn
from click.testing import CliRunner

from hedgerow.cli.main import main
from hedgerow.hub.app import create_app
from hedgerow.hub.config import HubSettings
from hedgerow.hub.db import make_engine, session_factory
from hedgerow.hub.migrate import upgrade
from hedgerow.hub.tenants import create_enrolment_token, create_tenant, issue_credential
from hedgerow.model import Alert, AlertKind, Device, Finding, Severity
from hedgerow.signing import BundleError, SigningKey
from hedgerow.telemetry.client import HubClient, HubError, HubForwarder, client_from_file, enrol
from hedgerow.telemetry.spool import Spool

from .conftest import Clock


@dataclass
class LiveHub:
    url: str
    admin_token: str
    enrolment_tokens: list[str]
    key: SigningKey
    start: threading.Event


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:
        """Run in a test thread: leave the process's signal handlers alone."""


@pytest.fixture
def live_hub(db_url: str) -> Iterator[LiveHub]:
    """Hub bound to a loopback port that accepts connections only once ``start`` is set."""
    key = SigningKey.generate()
    app = create_app(HubSettings(database_url=db_url, min_reporters=2, min_tenants=1,
                                 consensus_interval_s=0.1), signing_key=key)
    state = app.state.hub
    with state.sessions() as session:
        admins = create_tenant(session, "administrators", "admin", time.time())
        _, admin_token = issue_credential(session, admins.id, "root", "user", time.time())
        home = create_tenant(session, "home", "household", time.time())
        tokens = [create_enrolment_token(session, home.id, 600, time.time())[0]
                  for _ in range(3)]
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = _Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    start = threading.Event()

    def run() -> None:
        if start.wait(timeout=120):
            server.run(sockets=[sock])

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    live = LiveHub(f"http://127.0.0.1:{port}", admin_token, tokens, key, start)
    try:
        yield live
    finally:
        server.should_exit = True
        start.set()
        thread.join(timeout=15)
        sock.close()
        state.engine.dispose()


def _wait_until_up(live: LiveHub) -> None:
    live.start.set()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            HubClient(live.url, live.admin_token, timeout=2).request("GET", "/v1/me")
            return
        except HubError:
            time.sleep(0.05)
    raise AssertionError("hub did not come up within 15 s")


def _alerts(now: float) -> list[Alert]:
    return [Alert(kind=AlertKind.BRUTEFORCE, detector="ssh.bruteforce", detector_version="1",
                  direction="inbound", device="192.168.1.10", peers=(f"45.95.147.{i}",),
                  severity=Severity.HIGH, confidence=0.9, start=now - 60, end=now - 1,
                  summary="password guessing") for i in range(1, 41)]


def test_spool_while_down_then_drain_over_http(live_hub: LiveHub, tmp_path: Path) -> None:
    now = time.time()
    clock = Clock(now=0.0)
    spool = Spool(tmp_path / "spool.db")
    # Hub unreachable: enrolment fails cleanly, telemetry waits in the spool.
    with pytest.raises(HubError) as down:
        enrol(live_hub.url, live_hub.enrolment_tokens[0], "camera", timeout=2)
    assert down.value.status is None and down.value.retryable
    unreachable = HubForwarder(spool, HubClient(live_hub.url, "hr_x", timeout=2), batch_size=15,
                               clock=clock, jitter=lambda: 1.0)
    for alert in _alerts(now):
        unreachable.put_alert(alert)
    unreachable.put_device(Device(mac="00:17:88:01:02:03", ips=("192.168.1.10",),
                                  vendor="Signify", model="Hue Bridge"))
    unreachable.put_finding(Finding(check_id="net.telnet-open", device="192.168.1.10",
                                    severity=Severity.HIGH, title="Telnet is open",
                                    standards={"etsi_en_303_645": ["5.6-1"]}))
    bad = _alerts(now)[0].to_dict() | {"confidence": 7.0, "summary": "corrupt"}
    spool.put("alert", bad, "corrupt-1")
    first = unreachable.drain()
    assert first.sent == 0 and first.remaining == 43 and "unreachable" in str(first.error)
    assert "backing off" in str(unreachable.drain().error)

    _wait_until_up(live_hub)
    cred = enrol(live_hub.url, live_hub.enrolment_tokens[0], "camera")
    client = HubClient(live_hub.url, cred.token)
    forwarder = HubForwarder(spool, client, batch_size=15, clock=clock)
    result = forwarder.drain()
    assert (result.sent, result.rejected, result.remaining, result.error) == (42, 1, 0, None)
    assert len(spool) == 0
    # Idempotent: the same alerts queued again are stored once.
    for alert in _alerts(now)[:5]:
        forwarder.put_alert(alert)
    forwarder.drain()
    report = client.report("household", cred.tenant_id)
    assert sum(c["count"] for c in report["alerts"]["counts"]) == 40
    assert [d["model"] for d in report["devices"]] == ["Hue Bridge"]
    # A second reporter of the same tenant: consensus (min 2 reporters, 1 tenant here).
    other = enrol(live_hub.url, live_hub.enrolment_tokens[1], "gateway", kind="gateway")
    HubClient(live_hub.url, other.token).send_events(
        [{"id": "g1", "kind": "alert",
          "payload": _alerts(now)[0].to_dict() | {"detector": "gateway.ssh"}}])
    deadline = time.monotonic() + 10  # the background consensus worker lists it shortly
    while client.blocklist("text") == "" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert client.blocklist("text") == "45.95.147.1\n"
    assert client.blocklist("json")["entries"][0]["reporters"] == 2
    assert client.blocklist("stix")["type"] == "bundle"
    # A revoked or unknown credential is not retried forever: the forwarder raises.
    spool.put("alert", _alerts(now)[1].to_dict(), "late-1")
    with pytest.raises(HubError) as refused:
        HubForwarder(spool, HubClient(live_hub.url, "hr_unknown")).drain()
    assert refused.value.status == 401 and not refused.value.retryable
    spool.close()


def test_signed_bundles_and_cli_over_http(live_hub: LiveHub, tmp_path: Path) -> None:
    _wait_until_up(live_hub)
    admin = HubClient(live_hub.url, live_hub.admin_token)
    admin.request("POST", "/v1/admin/bundles/baseline", {"content": {"listening": [22, 80]}})
    runner = CliRunner()
    saved = tmp_path / "hub.json"
    enrolled = runner.invoke(main, ["hub", "enrol", live_hub.url, live_hub.enrolment_tokens[2],
                                    "--name", "gw", "--kind", "gateway", "--save", str(saved)])
    assert enrolled.exit_code == 0, enrolled.output
    assert saved.stat().st_mode & 0o777 == 0o600
    creds = json.loads(saved.read_text())
    client = HubClient(live_hub.url, creds["token"])
    pem = client.request("GET", "/v1/signing-key")["public_key_pem"]
    assert client.bundle("baseline", [pem]) == {"listening": [22, 80]}
    with pytest.raises(BundleError, match="untrusted key"):
        client.bundle("baseline", [SigningKey.generate().public_pem()])

    spool_path = tmp_path / "spool.db"
    with Spool(spool_path) as spool:
        HubForwarder(spool, client).put_alert(_alerts(time.time())[3])
    pushed = runner.invoke(main, ["hub", "push", "--credentials", str(saved),
                                  "--spool", str(spool_path)])
    assert pushed.exit_code == 0, pushed.output
    assert json.loads(pushed.output)["sent"] == 1
    household = runner.invoke(main, ["hub", "report", "household", "--credentials", str(saved)])
    assert household.exit_code == 0, household.output
    assert json.loads(household.output)["alerts"]["counts"][0]["count"] == 1
    text = runner.invoke(main, ["hub", "blocklist", "--format", "text", "--hub", live_hub.url,
                                "--token", creds["token"]])
    assert text.exit_code == 0 and text.output == ""
    denied = runner.invoke(main, ["hub", "report", "regulator", "--credentials", str(saved)])
    assert denied.exit_code == 1 and "HTTP 403" in denied.output
    assert len(denied.output.strip().splitlines()) == 1


def test_rate_limited_forwarder_honours_retry_after(tmp_path: Path) -> None:
    url_db = f"sqlite:///{tmp_path}/hub.db"
    upgrade(url_db)
    app = create_app(HubSettings(database_url=url_db, rate_events_per_s=0.5,
                                 rate_burst_events=10, consensus_interval_s=0),
                     signing_key=SigningKey.generate())
    with app.state.hub.sessions() as session:
        home = create_tenant(session, "home", "household", time.time())
        _, token = issue_credential(session, home.id, "camera", "agent", time.time())
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = _Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        deadline = time.monotonic() + 15
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        clock = Clock(now=0.0)
        with Spool(tmp_path / "spool.db") as spool:
            forwarder = HubForwarder(spool, HubClient(url, token), batch_size=8, clock=clock,
                                     jitter=lambda: 0.0)
            for alert in _alerts(time.time())[:16]:
                forwarder.put_alert(alert)
            first = forwarder.drain()
            assert first.sent == 8 and first.remaining == 8
            assert first.error is not None and "HTTP 429" in first.error
            # The hub asked for 12 s (8 events at 0.5/s, 2 left in the bucket): no earlier retry.
            assert forwarder.next_attempt == pytest.approx(12.0)
            clock.now = 11.0
            assert "backing off" in str(forwarder.drain().error)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
        app.state.hub.engine.dispose()


def test_rate_limit_holds_across_serve_workers(db_url: str, tmp_path: Path) -> None:
    """``hedgerow hub serve --workers 2``: a credential gets its burst once, not once per
    worker, whichever worker accepts each fresh connection."""
    engine = make_engine(db_url)
    with session_factory(engine)() as session:
        home = create_tenant(session, "home", "household", time.time())
        _, token = issue_credential(session, home.id, "camera", "agent", time.time())
    engine.dispose()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "HEDGEROW_HUB_RATE_EVENTS_PER_S": "0.01",
           "HEDGEROW_HUB_RATE_BURST_EVENTS": "10", "HEDGEROW_HUB_CONSENSUS_INTERVAL_S": "0"}
    server = subprocess.Popen(
        [sys.executable, "-c", "from hedgerow.cli.main import main; main()", "hub", "serve",
         "--db", db_url, "--port", str(port), "--workers", "2",
         "--key", str(tmp_path / "key.pem")], env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}/v1/telemetry"
    try:
        deadline = time.monotonic() + 60
        while len(psutil.Process(server.pid).children()) < 2 or not _accepts(port):
            assert server.poll() is None and time.monotonic() < deadline, "hub did not start"
            time.sleep(0.2)
        codes: list[int] = []
        for alert in _alerts(time.time())[:30]:  # a new connection each: either worker
            reply = httpx.post(url, headers={"Authorization": f"Bearer {token}"},
                               json={"events": [{"id": alert.id, "kind": "alert",
                                                 "payload": alert.to_dict()}]}, timeout=30)
            codes.append(reply.status_code)
            if reply.status_code == 429:
                assert int(reply.headers["retry-after"]) >= 90  # 1 token at 0.01/s
        assert codes.count(200) == 10 and codes.count(429) == 20, codes
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_credentials_file_errors_are_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "hub.json"
    broken.write_text('{"hub": "http://127.0.0.1:9"}')
    with pytest.raises(HubError, match="cannot read hub credentials: 'token'"):
        client_from_file(broken)
    result = CliRunner().invoke(main, ["hub", "blocklist", "--credentials", str(broken)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: {broken}: cannot read hub credentials: 'token'"]
    broken.write_text('{"hub": "http://127.0.0.1:9", "token": "hr_x"}')
    assert client_from_file(broken).url == "http://127.0.0.1:9"
