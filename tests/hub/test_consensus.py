"""Consensus blocklist: distinct reporters of distinct tenants, window, expiry, never private
or allow-listed addresses, and one tenant cannot poison it (SQLite and PostgreSQL)."""

from __future__ import annotations

import ipaddress
import time
from typing import Any

import pytest
from sqlalchemy import select

from hedgerow.hub.consensus import ConsensusPolicy, listable, recompute
from hedgerow.hub.models import BlocklistEntry, Sighting

from .conftest import Hub, build_hub

ATTACKER = "45.95.147.10"


def alert(peer: str, end: float, detector: str = "ssh.bruteforce", direction: str = "inbound",
          kind: str = "bruteforce", confidence: float = 0.9) -> dict[str, Any]:
    return {"kind": kind, "detector": detector, "detector_version": "1",
            "direction": direction, "device": "192.168.1.10", "peers": [peer],
            "severity": "high", "confidence": confidence, "start": end - 30, "end": end,
            "summary": f"{peer} guessed passwords"}


def report(hub: Hub, headers: dict[str, str], payload: dict[str, Any], eid: str) -> Any:
    reply = hub.client.post("/v1/telemetry", headers=headers,
                            json={"events": [{"id": eid, "kind": "alert", "payload": payload}]})
    assert reply.status_code == 200, reply.text
    return reply.json()


def listed(hub: Hub, headers: dict[str, str]) -> list[str]:
    return hub.client.get("/v1/blocklist.txt", headers=headers).text.split()


@pytest.mark.parametrize("address", [
    "10.1.2.3", "172.16.0.9", "192.168.1.1", "127.0.0.1", "169.254.1.1", "100.64.0.5",
    "224.0.0.251", "239.255.255.250", "255.255.255.255", "0.0.0.0", "240.0.0.1",
    "192.0.2.1", "198.51.100.1", "203.0.113.1", "::1", "fe80::1", "fd00::1", "ff02::1",
    "2001:db8::1", "::ffff:192.168.1.1", "not-an-address", "45.95.147.0/24"])
def test_never_listable(address: str) -> None:
    assert not listable(address, [])


def test_listable_global_and_allowlist() -> None:
    assert listable(ATTACKER, [])
    assert listable("2a03:2880:f10c:83:face:b00c:0:25de", [])
    assert listable("::ffff:45.95.147.10", [])
    assert not listable(ATTACKER, [ipaddress.ip_network("45.95.147.0/24")])


def test_policy_rejects_inconsistent_thresholds() -> None:
    with pytest.raises(ValueError, match="min_reporters >= min_tenants"):
        ConsensusPolicy(min_reporters=1, min_tenants=2)


def test_one_tenant_cannot_poison(hub: Hub) -> None:
    home = hub.tenant("big-household", "household")
    reporters = [hub.enrol(home, f"agent-{i}") for i in range(10)]
    for i, headers in enumerate(reporters):
        report(hub, headers, alert(ATTACKER, hub.clock.now, detector=f"d{i}"), f"e{i}")
    assert listed(hub, reporters[0]) == []


def test_reporters_and_tenants_thresholds_window_and_expiry(hub: Hub) -> None:
    a, b = hub.tenant("home-a", "household"), hub.tenant("home-b", "household")
    a1, a2, b1 = hub.enrol(a, "a1"), hub.enrol(a, "a2"), hub.enrol(b, "b1")
    now = hub.clock.now
    report(hub, a1, alert(ATTACKER, now), "x1")
    report(hub, b1, alert(ATTACKER, now, detector="other"), "x2")
    assert listed(hub, a1) == [], "2 reporters < min_reporters=3"
    # A stale alert (ended more than a window ago) does not vote.
    stale = report(hub, a2, alert(ATTACKER, now - 2 * 86400, detector="late"), "x3")
    assert stale["sightings"] == 0
    assert listed(hub, a1) == []
    report(hub, a2, alert(ATTACKER, now, detector="third"), "x4")
    entries = hub.client.get("/v1/blocklist", headers=b1).json()["entries"]
    assert [(e["address"], e["reporters"], e["tenants"]) for e in entries] == [(ATTACKER, 3, 2)]
    assert entries[0]["expires"] == pytest.approx(now + 7 * 86400)
    # Listing expires ttl after consensus was last confirmed.
    hub.clock.now = now + 7 * 86400 + 1
    assert listed(hub, a1) == []


def test_sightings_outside_window_do_not_count(hub: Hub) -> None:
    homes = [hub.tenant(f"home-{i}", "household") for i in range(3)]
    creds = [hub.enrol(t, f"gw-{i}") for i, t in enumerate(homes)]
    start = hub.clock.now
    report(hub, creds[0], alert(ATTACKER, start), "w0")
    report(hub, creds[1], alert(ATTACKER, start), "w1")
    hub.clock.now = start + 86400 + 10  # the first two sightings left the window
    report(hub, creds[2], alert(ATTACKER, hub.clock.now), "w2")
    assert listed(hub, creds[2]) == []
    report(hub, creds[0], alert(ATTACKER, hub.clock.now, detector="again"), "w3")
    report(hub, creds[1], alert(ATTACKER, hub.clock.now, detector="again"), "w4")
    assert listed(hub, creds[2]) == [ATTACKER]


def test_private_low_confidence_and_benign_kinds_never_vote(hub: Hub) -> None:
    homes = [hub.tenant(f"home-{i}", "household") for i in range(3)]
    creds = [hub.enrol(t, f"gw-{i}") for i, t in enumerate(homes)]
    now = hub.clock.now
    for i, c in enumerate(creds):
        assert report(hub, c, alert("10.9.9.9", now), f"p{i}")["sightings"] == 0
        assert report(hub, c, alert("9.9.9.9", now, confidence=0.2), f"l{i}")["sightings"] == 0
        assert report(hub, c, alert("1.1.1.1", now, kind="anomaly"), f"a{i}")["sightings"] == 0
        # Outbound scans name victims, not attackers.
        assert report(hub, c, alert("8.8.4.4", now, kind="scan", direction="outbound"),
                      f"o{i}")["sightings"] == 0
        # An outbound C2 alert names the controller.
        assert report(hub, c, alert("185.220.101.4", now, kind="c2", direction="outbound"),
                      f"c{i}")["sightings"] == 1
    assert listed(hub, creds[0]) == ["185.220.101.4"]


def test_allowlist_removes_and_prevents_listing(hub: Hub) -> None:
    homes = [hub.tenant(f"home-{i}", "household") for i in range(3)]
    creds = [hub.enrol(t, f"gw-{i}") for i, t in enumerate(homes)]
    for i, c in enumerate(creds):
        report(hub, c, alert(ATTACKER, hub.clock.now), f"k{i}")
    assert listed(hub, creds[0]) == [ATTACKER]
    reply = hub.client.post("/v1/admin/allowlist", headers=hub.admin,
                            json={"network": "45.95.147.0/24", "reason": "partner scanner"})
    assert reply.status_code == 201
    assert listed(hub, creds[0]) == []
    for i, c in enumerate(creds):
        again = report(hub, c, alert(ATTACKER, hub.clock.now, detector="again"), f"r{i}")
        assert again["sightings"] == 0
    assert listed(hub, creds[0]) == []


def test_background_consensus_worker(db_url: str) -> None:
    hub = build_hub(db_url, min_reporters=3, min_tenants=2, consensus_interval_s=0.05)
    try:
        homes = [hub.tenant(f"home-{i}", "household") for i in range(3)]
        creds = [hub.enrol(t, f"gw-{i}") for i, t in enumerate(homes)]
        for i, c in enumerate(creds):
            assert report(hub, c, alert(ATTACKER, hub.clock.now), f"b{i}")["sightings"] == 1
        deadline = time.monotonic() + 10
        while listed(hub, creds[0]) != [ATTACKER] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert listed(hub, creds[0]) == [ATTACKER]
        worker = hub.state.consensus
        assert worker is not None
        worker.mark(["45.95.147.99"])  # no sightings: stop() flushes it without listing
        worker.stop()
        assert listed(hub, creds[0]) == [ATTACKER]
    finally:
        hub.state.engine.dispose()


def test_sightings_rewritten_once_per_refresh_and_confirmations_memoised(hub: Hub) -> None:
    """A credential that keeps reporting an attacker rewrites its sighting at most once per
    ``refresh_s``; the worker's memo skips listings confirmed within ``refresh_s`` and
    re-confirms them after it."""
    policy = hub.state.policy
    homes = [hub.tenant(f"home-{i}", "household") for i in range(3)]
    creds = [hub.enrol(t, f"gw-{i}") for i, t in enumerate(homes)]
    start = hub.clock.now
    for i, c in enumerate(creds):
        assert report(hub, c, alert(ATTACKER, start), f"s{i}")["sightings"] == 1
    assert listed(hub, creds[0]) == [ATTACKER]

    def seen_at() -> list[float]:
        with hub.state.sessions() as s:
            return list(s.scalars(select(Sighting.seen_at).where(Sighting.address == ATTACKER)
                                  .order_by(Sighting.credential_id)))

    hub.clock.now = start + policy.refresh_s / 2
    assert report(hub, creds[0], alert(ATTACKER, hub.clock.now), "again-1")["sightings"] == 1
    assert seen_at() == [start] * 3  # written less than refresh_s ago: not rewritten
    hub.clock.now = start + policy.refresh_s + 1
    assert report(hub, creds[0], alert(ATTACKER, hub.clock.now), "again-2")["sightings"] == 1
    assert seen_at() == [hub.clock.now, start, start]

    memo: dict[str, float] = {}
    with hub.state.sessions() as s:
        # Re-confirmed by the report just made: fresh, so nothing is written, and remembered.
        assert recompute(s, [ATTACKER], policy, hub.clock.now, memo) == []
        assert memo == {ATTACKER: hub.clock.now}
        later = hub.clock.now + policy.refresh_s + 1
        assert recompute(s, [ATTACKER], policy, later, memo) == [ATTACKER]
        s.commit()
        assert memo == {ATTACKER: later}
        assert recompute(s, [ATTACKER], policy, later + 1, memo) == []
        assert s.get(BlocklistEntry, ATTACKER).last_confirmed == later  # type: ignore[union-attr]
