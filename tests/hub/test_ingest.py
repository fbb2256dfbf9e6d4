"""Telemetry ingest: idempotent by event id, state upserts, validation, rate limits, and the
credential life cycle (single-use enrolment, expiry, revocation) — on both databases."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hedgerow.hub.app import create_app
from hedgerow.hub.models import AlertRow, Credential, DeviceRow, EnrolmentToken, FindingRow
from hedgerow.model import Alert, AlertKind, Device, Finding, Severity

from .conftest import Hub, build_hub


def _alert(i: int) -> Alert:
    return Alert(kind=AlertKind.BRUTEFORCE, detector="ssh.bruteforce", detector_version="1",
                 direction="inbound", device="192.168.1.10", peers=(f"45.95.147.{i}",),
                 severity=Severity.HIGH, confidence=0.9, start=100.0 + i, end=160.0 + i,
                 summary="password guessing", evidence={"attempts": 40 + i})


def _post(hub: Hub, headers: dict[str, str], events: list[dict[str, Any]]) -> Any:
    return hub.client.post("/v1/telemetry", headers=headers, json={"events": events})


def _count(hub: Hub, model: Any) -> int:
    with hub.state.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_retried_batch_creates_no_duplicates(hub: Hub) -> None:
    gw = hub.enrol(hub.tenant("home", "household"), "gw", "gateway")
    hub.clock.now = 1000.0  # alerts ended moments ago: they vote for the blocklist
    events = [{"id": a.id, "kind": "alert", "payload": a.to_dict()} for a in map(_alert, range(5))]
    first = _post(hub, gw, events + events[:2]).json()
    assert first == {"accepted": 5, "duplicates": 2, "sightings": 5}
    assert _post(hub, gw, events).json() == {"accepted": 0, "duplicates": 5, "sightings": 0}
    assert _count(hub, AlertRow) == 5
    # The same event id from another tenant is that tenant's own event.
    other = hub.enrol(hub.tenant("home-2", "household"), "gw", "gateway")
    assert _post(hub, other, events[:1]).json()["accepted"] == 1
    assert _count(hub, AlertRow) == 6


def test_findings_and_devices_are_state(hub: Hub) -> None:
    gw = hub.enrol(hub.tenant("home", "household"), "gw", "gateway")
    finding = Finding(check_id="net.telnet-open", device="192.168.1.30", severity=Severity.HIGH,
                      title="Telnet is open", evidence={"port": 23},
                      standards={"etsi_en_303_645": ["5.6-1"]})
    hub.clock.now = 1_800_000_000.0
    _post(hub, gw, [{"id": "f1", "kind": "finding", "payload": finding.to_dict()}])
    worse = {**finding.to_dict(), "severity": "critical", "evidence": {"port": 2323}}
    hub.clock.now += 60
    _post(hub, gw, [{"id": "f2", "kind": "finding", "payload": worse}])
    assert _count(hub, FindingRow) == 1
    with hub.state.sessions() as session:
        row = session.scalars(select(FindingRow)).one()
        assert (row.severity, row.evidence, row.event_id) == ("critical", {"port": 2323}, "f2")
        assert row.last_seen - row.first_seen == 60
    cam = Device(mac="00:17:88:01:02:03", ips=("192.168.1.30",), vendor="Signify",
                 model="Hue Bridge", first_seen=50.0, last_seen=90.0,
                 evidence={"firmware": "1.50"})
    _post(hub, gw, [{"id": "d1", "kind": "device", "payload": cam.to_dict()}])
    later = {**cam.to_dict(), "first_seen": 80.0, "last_seen": 300.0, "ips": ["192.168.1.31"]}
    _post(hub, gw, [{"id": "d2", "kind": "device", "payload": later}])
    devices = hub.client.get(f"/v1/tenants/{hub.tenants['home']}/devices", headers=gw).json()
    assert len(devices) == 1
    assert (devices[0]["first_seen"], devices[0]["last_seen"]) == (50.0, 300.0)
    assert devices[0]["ips"] == ["192.168.1.31"] and devices[0]["firmware"] == "1.50"
    assert _count(hub, DeviceRow) == 1


def test_validation_names_the_field_and_ignores_unknown_payload_keys(hub: Hub) -> None:
    gw = hub.enrol(hub.tenant("home", "household"), "gw", "gateway")
    newer = {**_alert(1).to_dict(), "added_in_a_later_version": [1, 2]}
    assert _post(hub, gw, [{"id": "n1", "kind": "alert", "payload": newer}]).status_code == 200
    bad = {**_alert(2).to_dict(), "confidence": 1.5}
    reply = _post(hub, gw, [{"id": "n2", "kind": "alert", "payload": bad}])
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["loc"][-1] == "confidence"
    wrong_kind = _post(hub, gw, [{"id": "n3", "kind": "rumour", "payload": {}}])
    assert wrong_kind.status_code == 422
    bad_id = _post(hub, gw, [{"id": "no spaces/allowed", "kind": "alert",
                              "payload": _alert(3).to_dict()}])
    assert bad_id.status_code == 422


def test_rate_limit_per_credential(db_url: str) -> None:
    hub = build_hub(db_url, rate_events_per_s=1.0, rate_burst_events=10.0)
    home = hub.tenant("home", "household")
    first, second = hub.enrol(home, "a"), hub.enrol(home, "b")
    events = [{"id": a.id, "kind": "alert", "payload": a.to_dict()} for a in map(_alert, range(8))]
    assert _post(hub, first, events).status_code == 200
    limited = _post(hub, first, events)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert _post(hub, second, events).status_code == 200  # buckets are per credential
    hub.state.engine.dispose()


def test_rate_limit_holds_across_workers_sharing_the_database(db_url: str) -> None:
    """Two app instances (as two worker processes) on one database share each bucket."""
    limits = {"rate_events_per_s": 2.0, "rate_burst_events": 10.0}
    one = build_hub(db_url, **limits)
    two = Hub(TestClient(create_app(one.state.settings, signing_key=one.key, clock=one.clock)),
              one.admin, one.clock, one.key)
    home = one.tenant("home", "household")
    agent = one.enrol(home, "a")
    batches = [[{"id": a.id, "kind": "alert", "payload": a.to_dict()}
                for a in map(_alert, range(i * 6, i * 6 + 6))] for i in range(3)]
    assert _post(one, agent, batches[0]).status_code == 200  # 10 -> 4 tokens left
    for worker in (two, one):  # either worker refuses: the bucket is the database's
        refused = _post(worker, agent, batches[1])
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "1"  # 2 missing tokens at 2/s
    one.clock.now += 1.0  # refills 2 tokens: 6 available
    assert _post(two, agent, batches[1]).status_code == 200
    assert _post(one, agent, batches[2]).status_code == 429
    one.clock.now += 3.0
    assert _post(one, agent, batches[2]).status_code == 200
    assert _count(one, AlertRow) == 18  # a refused batch stored nothing
    two.state.engine.dispose()
    one.state.engine.dispose()


def test_enrolment_is_single_use_expires_and_revocation_works(hub: Hub) -> None:
    home = hub.tenant("home", "household")
    token = hub.client.post(f"/v1/admin/tenants/{home}/enrolment-tokens", headers=hub.admin,
                            json={"ttl_s": 60}).json()["token"]
    as_token = {"Authorization": f"Bearer {token}"}
    assert hub.client.post("/v1/telemetry", headers=as_token,
                           json={"events": []}).status_code == 401
    made = hub.client.post("/v1/enrol", headers=as_token, json={"name": "cam"})
    assert made.status_code == 201
    assert hub.client.post("/v1/enrol", headers=as_token, json={"name": "again"}).status_code \
        == 401
    late = hub.client.post(f"/v1/admin/tenants/{home}/enrolment-tokens", headers=hub.admin,
                           json={"ttl_s": 60}).json()["token"]
    hub.clock.now += 61
    assert hub.client.post("/v1/enrol", headers={"Authorization": f"Bearer {late}"},
                           json={"name": "late"}).status_code == 401
    cred = {"Authorization": f"Bearer {made.json()['token']}"}
    assert hub.client.get("/v1/me", headers=cred).status_code == 200
    revoked = hub.client.post(f"/v1/admin/credentials/{made.json()['credential_id']}/revoke",
                              headers=hub.admin)
    assert revoked.status_code == 200
    assert hub.client.get("/v1/me", headers=cred).status_code == 401
    with hub.state.sessions() as session:
        stored = [*session.scalars(select(Credential.token_hash)),
                  *session.scalars(select(EnrolmentToken.token_hash))]
    assert made.json()["token"] not in stored and token not in stored


def test_agent_action_records_are_actions_taken(hub: Hub) -> None:
    """The agent spools its action-log records as kind "action"; households see them."""
    home = hub.tenant("home", "household")
    agent = hub.enrol(home, "camera")
    record = {"ts": 1_700_000_000.0, "action": "block", "target": "45.95.147.10", "ok": True,
              "alert_id": _alert(1).id, "alert_kind": "bruteforce", "dry_run": True,
              "set": "blocked4"}
    sent = _post(hub, agent, [{"id": "act-1", "kind": "action", "payload": record}] * 2)
    assert sent.json()["accepted"] == 1 and sent.json()["duplicates"] == 1
    actions = hub.client.get(f"/v1/reports/household/{home}", headers=agent).json()["actions"]
    assert actions == [{"action": "block", "scope": "agent", "value": "45.95.147.10",
                        "duration_s": 0.0, "reason": "bruteforce (dry run)",
                        "alert_id": _alert(1).id, "created": 1_700_000_000.0}]
