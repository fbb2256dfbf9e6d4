"""End to end on real traffic: two households and a manufacturer enrol, send telemetry built
from corpus captures, the hub reaches consensus on attackers both households saw, and each
role sees exactly what it may — on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hedgerow.hub.consensus import listable
from hedgerow.hub.migrate import upgrade
from hedgerow.model import Decision, DecisionAction, Finding, Severity
from hedgerow.telemetry.client import event_id_for

from .conftest import Hub, build_hub, fresh_pg_database
from .corpus_events import (
    event,
    inbound_alerts,
    labelled_attacks,
    outbound_scan_alert,
    sentinel_devices,
)


def _send(hub: Hub, headers: dict[str, str], events: list[dict[str, Any]]) -> dict[str, int]:
    totals = {"accepted": 0, "duplicates": 0, "sightings": 0}
    for start in range(0, len(events), 500):
        reply = hub.client.post("/v1/telemetry", headers=headers,
                                json={"events": events[start:start + 500]})
        assert reply.status_code == 200, reply.text
        for key in totals:
            totals[key] += reply.json()[key]
    return totals


@pytest.fixture(params=["sqlite", "postgresql"])
def e2e_hub(request: pytest.FixtureRequest, tmp_path: Path) -> Hub:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/hub.db"
    else:
        url = fresh_pg_database(request.getfixturevalue("postgres"))
    upgrade(url)
    return build_hub(url, min_reporters=2, min_tenants=2, consensus_window_s=3 * 86400.0,
                     report_min_participants=1)


def test_two_households_manufacturer_regulator(e2e_hub: Hub, corpus: Path) -> None:
    hub = e2e_hub
    rows = labelled_attacks(corpus)
    times = sorted(float(r["ts"]) for r in rows)
    middle = times[len(times) // 2]
    first = [r for r in rows if float(r["ts"]) < middle]
    second = [r for r in rows if float(r["ts"]) >= middle]
    hub.clock.now = times[-1] + 60.0

    home_a = hub.tenant("home-a", "household")
    home_b = hub.tenant("home-b", "household")
    maker = hub.tenant("D-Link Corporation", "manufacturer", vendors=["D-Link"])
    other_maker = hub.tenant("Belkin", "manufacturer", vendors=["Belkin"])
    regulator = hub.tenant("Regulator", "regulator")
    gw_a = hub.enrol(home_a, "gateway-a", "gateway")
    agent_a = hub.enrol(home_a, "camera-agent-a", "agent")
    gw_b = hub.enrol(home_b, "gateway-b", "gateway")
    maker_user = hub.enrol(maker, "analyst", "user")
    other_maker_user = hub.enrol(other_maker, "analyst", "user")
    regulator_user = hub.enrol(regulator, "inspector", "user")

    devices = sentinel_devices(corpus)
    devices_a = [d for i, d in enumerate(devices) if i % 2 == 0]
    devices_b = [d for i, d in enumerate(devices) if i % 2 == 1]
    siren = next(d for d in devices_b if d.model == "D-LinkHomeHub")

    def device_events(devs: list[Any], net: str) -> list[dict[str, Any]]:
        out = []
        for n, d in enumerate(devs):
            payload = {**d.to_dict(), "ips": [f"{net}.{20 + n}"],
                       "evidence": {"firmware": "1.0.4" if n % 3 else "2.1.0"}}
            out.append(event("device", payload, event_id_for("device", payload)))
        return out

    dev_a, dev_b = device_events(devices_a, "192.168.1"), device_events(devices_b, "192.168.7")
    siren_ip = next(e["payload"]["ips"][0] for e in dev_b if e["payload"]["mac"] == siren.mac)
    daycam_ip = dev_a[0]["payload"]["ips"][0]
    default_pw = Finding(check_id="auth.default-password", device=daycam_ip,
                         severity=Severity.CRITICAL, title="admin account uses a default password",
                         evidence={"user": "admin"}, fix_household="Change the password.",
                         standards={"etsi_en_303_645": ["5.1-1"], "owasp_iot_2018": ["I1"]})
    no_vdp = Finding(check_id="vendor.no-disclosure-policy", device=siren_ip,
                     severity=Severity.MEDIUM, title="no vulnerability disclosure policy",
                     standards={"etsi_en_303_645": ["5.2-1"]})
    outbound = outbound_scan_alert(corpus, siren_ip)
    alerts_a, alerts_b = inbound_alerts(first), inbound_alerts(second)
    attacker = alerts_a[0].peers[0]
    block = Decision(action=DecisionAction.BLOCK, scope="ip", value=attacker, duration_s=3600,
                     reason="inbound scan", alert_id=alerts_a[0].id, created=times[-1])

    sent_a = _send(hub, gw_a, dev_a + [event("alert", a.to_dict(), a.id) for a in alerts_a]
                   + [event("finding", default_pw.to_dict(), "f-a-1"),
                      event("decision", block.to_dict(), "d-a-1")])
    assert sent_a["accepted"] == len(dev_a) + len(alerts_a) + 2
    # The camera's own agent reports the same attackers: a second reporter, same tenant.
    agent_alerts = [a.to_dict() | {"detector": "agent.inbound"} for a in alerts_a]
    _send(hub, agent_a, [event("alert", a, event_id_for("alert", {**a, "id": None}))
                         for a in agent_alerts])
    listed = hub.client.get("/v1/blocklist.txt", headers=gw_a).text.split()
    assert listed == [], "one tenant (two reporters) must not list anything"

    _send(hub, gw_b, dev_b + [event("alert", a.to_dict(), a.id) for a in alerts_b]
          + [event("alert", outbound.to_dict(), outbound.id),
             event("finding", no_vdp.to_dict(), "f-b-1")])
    # A retried batch changes nothing.
    again = _send(hub, gw_b, [event("alert", a.to_dict(), a.id) for a in alerts_b[:50]])
    assert again == {"accepted": 0, "duplicates": 50, "sightings": 0}

    # Consensus = attackers both households saw (ground truth from the labelled log).
    expected = sorted({r["id.orig_h"] for r in first} & {r["id.orig_h"] for r in second})
    expected = [a for a in expected if listable(a, [])]
    assert len(expected) >= 10
    blocklist = hub.client.get("/v1/blocklist", headers=agent_a).json()
    assert [e["address"] for e in blocklist["entries"]] == sorted(expected)
    assert all(e["tenants"] == 2 and e["reporters"] >= 2 for e in blocklist["entries"])
    assert hub.client.get("/v1/blocklist.txt", headers=gw_b).text.split() == sorted(expected)
    stix = hub.client.get("/v1/blocklist.stix", headers=gw_b).json()
    patterns = {o["pattern"] for o in stix["objects"] if o["type"] == "indicator"}
    assert patterns == {f"[ipv4-addr:value = '{a}']" for a in expected}

    # Household A: its own devices, risks, alerts, actions — and nothing of B.
    report_a = hub.client.get(f"/v1/reports/household/{home_a}", headers=gw_a).json()
    assert {d["mac"] for d in report_a["devices"]} == {d.mac for d in devices_a}
    assert [r["check_id"] for r in report_a["risks"]] == ["auth.default-password"]
    counts = {(c["direction"], c["kind"]): c["count"] for c in report_a["alerts"]["counts"]}
    assert counts == {("inbound", "scan"): 2 * len(alerts_a)}
    assert report_a["actions"][0]["value"] == attacker
    text_a = json.dumps(report_a)
    assert str(siren.mac) not in text_a and siren_ip not in text_a
    assert hub.client.get(f"/v1/reports/household/{home_b}", headers=gw_a).status_code == 404
    assert hub.client.get(f"/v1/tenants/{home_b}/devices", headers=gw_a).status_code == 404
    assert hub.client.get("/v1/reports/regulator", headers=gw_a).status_code == 403
    assert hub.client.get(f"/v1/reports/manufacturer/{maker}", headers=gw_a).status_code == 403

    # Manufacturer: aggregates of its own models only, no household identity or address.
    made = hub.client.get(f"/v1/reports/manufacturer/{maker}", headers=maker_user).json()
    models = {m["model"]: m for m in made["models"]}
    assert set(models) == {d.model for d in devices if d.vendor == "D-Link"}
    assert sum(m["seen"] for m in made["models"]) == made["devices"] == 4
    assert models["D-LinkHomeHub"]["compromised"] == 1
    assert models["D-LinkHomeHub"]["failing_etsi"] == {"5.2-1": 1}
    assert models["D-LinkHomeHub"]["failing_psti"] == {"psti-2": 1}
    assert models["D-LinkDayCam"]["failing_psti"] == {"psti-1": 1}
    text_m = json.dumps(made)
    for secret in ["home-a", "home-b", siren_ip, daycam_ip, *(str(d.mac) for d in devices)]:
        assert secret not in text_m
    assert "tenant" not in text_m
    assert hub.client.get(f"/v1/reports/manufacturer/{maker}",
                          headers=other_maker_user).status_code == 404
    assert hub.client.get(f"/v1/reports/household/{home_a}",
                          headers=maker_user).status_code == 403
    assert hub.client.get("/v1/reports/regulator", headers=maker_user).status_code == 403
    belkin = hub.client.get(f"/v1/reports/manufacturer/{other_maker}",
                            headers=other_maker_user).json()
    assert {m["vendor"] for m in belkin["models"]} == {"Belkin"}

    # Regulator: anonymised market aggregates.
    market = hub.client.get("/v1/reports/regulator", headers=regulator_user).json()
    assert market["population"] == {"participants": 2, "devices": len(devices)}
    psti = {p["requirement"]: p for p in market["uk_psti"]}
    assert psti["psti-1"]["failing_devices"] == 1
    assert psti["psti-1"]["compliance"] == pytest.approx(1 - 1 / len(devices), abs=1e-4)
    inbound = 2 * len(alerts_a) + len(alerts_b)
    assert market["attacks"]["inbound"] == inbound
    assert market["attacks"]["outbound"] == 1
    assert market["attacks"]["outbound_to_inbound"] == pytest.approx(1 / inbound, abs=1e-4)
    assert market["attacks"]["compromised_devices"] == 1
    assert sum(t["inbound_alerts"] for t in market["trends"]) == inbound
    assert sum(t["newly_blocklisted"] for t in market["trends"]) == len(expected)
    text_r = json.dumps(market)
    macs = [str(d.mac) for d in devices]
    for secret in ["home-a", "home-b", "D-Link", "Belkin", siren_ip, *macs]:
        assert secret not in text_r
    assert hub.client.get(f"/v1/reports/household/{home_a}",
                          headers=regulator_user).status_code == 403
