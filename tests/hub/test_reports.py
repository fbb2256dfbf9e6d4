"""Manufacturer and regulator reports counted in SQL, with small-cell suppression, on SQLite
and PostgreSQL: a hand-computed fleet's figures, then each suppression rule at its edge."""

from __future__ import annotations

import pytest

from hedgerow.hub.config import HubSettings
from hedgerow.hub.reports import manufacturer_report, regulator_report

from .conftest import build_hub
from .fleet import Fleet, at, fleet_session


def build_small_fleet(f: Fleet) -> None:
    """Three households; every figure below is counted by hand from these rows."""
    h1, h2, h3 = f.home("h1"), f.home("h2"), f.home("h3")
    f.device(h1, "aa:01", ["10.1.0.2"], "Acme", "cam", "1.0")           # d1
    f.device(h1, "aa:02", ["10.1.0.3"], "Acme", "cam", "2.0")           # d2
    f.device(h1, "10.1.0.9", ["10.1.0.9"], "Globex", "plug", None)      # d3, keyed by address
    f.device(h2, "aa:04", ["10.2.0.2"], "Acme", "cam", "1.0")           # d4
    f.device(h2, "aa:05", ["10.2.0.2"], "ACME", "cam", "1.0")           # d5, same address (d4 wins)
    f.device(h3, "aa:06", [], None, None, None)                         # d6
    f.finding(h1, "10.1.0.2", "auth.default-password", etsi_en_303_645=["5.1-1"])   # d1
    f.finding(h1, "aa:01", "auth.default-password", etsi_en_303_645=["5.1-1"])      # d1 again
    f.finding(h1, "10.1.0.3", "vendor.no-vdp", etsi_en_303_645=["5.2-1"])           # d2
    f.finding(h1, "10.1.0.9", "tls.plain", etsi_en_303_645=["5.5-1"])               # d3
    f.finding(h1, "10.1.0.77", "auth.default-password", etsi_en_303_645=["5.1-1"])  # unmatched
    f.finding(h2, "10.2.0.2", "psti.stated", uk_psti=["Schedule 1 paragraph 3"])    # d4
    f.finding(h2, "aa:05", "auth.shared", etsi_en_303_645=["5.1-2"])                # d5
    f.finding(h3, "aa:06", "tls.weak", etsi_en_303_645=["5.5-1", "5.5-5"])          # d6
    f.alert(h1, "10.1.0.2", "scan", "outbound", at(0))       # d1 compromised
    f.alert(h1, "10.1.0.3", "anomaly", "outbound", at(0))    # not an attack kind
    f.alert(h1, "10.1.0.2", "scan", "inbound", at(0))
    f.alert(h1, "10.1.0.2", "bruteforce", "inbound", at(1))
    f.alert(h2, "10.2.0.2", "c2", "outbound", at(1))         # d4 compromised
    f.alert(h2, "10.2.0.2", "scan", "inbound", at(1))
    f.alert(h2, "aa:05", "anomaly", "internal", at(2))
    f.alert(h3, "10.3.0.50", "dos", "outbound", at(2))       # an unmatched device
    f.listed("45.0.0.1", at(1))
    f.listed("45.0.0.2", at(3))
    f.session.commit()


def test_small_fleet_figures_counted_by_hand(db_url: str) -> None:
    with fleet_session(db_url) as (session, f):
        build_small_fleet(f)
        maker = manufacturer_report(session, ["acme"], min_participants=1)
        market = regulator_report(session, min_participants=1)
    assert maker == {
        "vendors": ["acme"], "devices": 4, "suppression": {"min_participants": 1},
        "models": [
            {"vendor": "ACME", "model": "cam", "firmware": "1.0", "seen": 1, "compromised": 0,
             "findings": {"auth.shared": 1}, "failing_etsi": {"5.1-2": 1},
             "failing_psti": {"psti-1": 1}},
            {"vendor": "Acme", "model": "cam", "firmware": "1.0", "seen": 2, "compromised": 2,
             "findings": {"auth.default-password": 2, "psti.stated": 1},
             "failing_etsi": {"5.1-1": 1}, "failing_psti": {"psti-1": 1, "psti-3": 1}},
            {"vendor": "Acme", "model": "cam", "firmware": "2.0", "seen": 1, "compromised": 0,
             "findings": {"vendor.no-vdp": 1}, "failing_etsi": {"5.2-1": 1},
             "failing_psti": {"psti-2": 1}}]}
    population = 7  # six devices and the finding's unmatched address
    assert market["population"] == {"participants": 3, "devices": population}
    assert [(e["provision"], e["failing_devices"], e["compliance"])
            for e in market["etsi_en_303_645"]] == [
        ("5.1-1", 2, round(1 - 2 / population, 4)), ("5.1-2", 1, round(1 - 1 / population, 4)),
        ("5.2-1", 1, round(1 - 1 / population, 4)), ("5.5-1", 2, round(1 - 2 / population, 4)),
        ("5.5-5", 1, round(1 - 1 / population, 4))]
    assert [(p["requirement"], p["failing_devices"]) for p in market["uk_psti"]] == [
        ("psti-1", 3), ("psti-2", 1), ("psti-3", 1)]
    assert market["attacks"] == {"inbound": 3, "outbound": 4, "outbound_to_inbound": 1.3333,
                                 "compromised_devices": 3}
    assert market["trends"] == [
        {"day": "2027-01-15", "inbound_alerts": 1, "outbound_alerts": 2, "newly_blocklisted": 0},
        {"day": "2027-01-16", "inbound_alerts": 2, "outbound_alerts": 1, "newly_blocklisted": 1},
        {"day": "2027-01-17", "inbound_alerts": 0, "outbound_alerts": 1, "newly_blocklisted": 0},
        {"day": "2027-01-18", "inbound_alerts": 0, "outbound_alerts": 0, "newly_blocklisted": 1}]
    assert market["suppression"] == {"min_participants": 1}


def test_small_fleet_at_the_default_k_publishes_no_small_count(db_url: str) -> None:
    k = HubSettings().report_min_participants
    assert k == 5
    with fleet_session(db_url) as (session, f):
        build_small_fleet(f)
        maker = manufacturer_report(session, ["acme"], min_participants=k)
        market = regulator_report(session, min_participants=k)
    assert maker == {"vendors": ["acme"], "devices": None, "models": [],
                     "suppression": {"min_participants": 5}}
    assert market["population"] == {"participants": 3, "devices": None}
    assert all(e["failing_devices"] is None and e["compliance"] is None
               for e in market["etsi_en_303_645"] + market["uk_psti"])
    assert market["attacks"] == {"inbound": None, "outbound": None, "outbound_to_inbound": None,
                                 "compromised_devices": None}
    assert {t["inbound_alerts"] for t in market["trends"]} == {None, 0}
    assert [t["newly_blocklisted"] for t in market["trends"]] == [0, 1, 0, 1]


def test_cell_of_k_minus_1_households_is_withheld_k_is_published(db_url: str) -> None:
    k = 3
    with fleet_session(db_url) as (session, f):
        homes = f.homes_with(6)
        for home, key in homes[:k - 1]:
            f.finding(home, key, "auth.default-password", etsi_en_303_645=["5.1-1"])
            f.alert(home, key, "scan", "outbound", at(0))
        session.commit()
        market = regulator_report(session, min_participants=k)
        row = manufacturer_report(session, ["acme"], min_participants=k)["models"][0]
        assert market["etsi_en_303_645"][0] == {
            "provision": "5.1-1", "category": "5.1 No universal default passwords",
            "failing_devices": None, "compliance": None}
        assert market["attacks"]["compromised_devices"] is None
        assert (row["seen"], row["compromised"], row["failing_etsi"]) == (6, None, {"5.1-1": None})
        home, key = homes[k - 1]
        f.finding(home, key, "auth.default-password", etsi_en_303_645=["5.1-1"])
        f.alert(home, key, "scan", "outbound", at(0))
        session.commit()
        market = regulator_report(session, min_participants=k)
        row = manufacturer_report(session, ["acme"], min_participants=k)["models"][0]
    assert market["etsi_en_303_645"][0]["failing_devices"] == k
    assert market["etsi_en_303_645"][0]["compliance"] == 0.5
    assert market["attacks"]["compromised_devices"] == k
    assert (row["compromised"], row["findings"], row["failing_psti"]) == (
        k, {"auth.default-password": k}, {"psti-1": k})


def test_daily_alerts_secondary_suppression(db_url: str) -> None:
    """A day from one household is withheld, and so is the smallest other day: the total
    minus the published days then covers more than one household."""
    k = 3
    with fleet_session(db_url) as (session, f):
        homes = f.homes_with(8)
        plan = {0: homes[:5], 1: homes[:4], 2: homes[7:8] * 3, 3: homes[2:8]}
        for day, who in plan.items():
            for home, key in who:
                f.alert(home, key, "scan", "inbound", at(day))
        session.commit()
        market = regulator_report(session, min_participants=k)
    daily = [t["inbound_alerts"] for t in market["trends"]]
    assert daily == [5, None, None, 6]
    assert market["attacks"]["inbound"] == 18
    assert market["attacks"]["inbound"] - sum(n for n in daily if n) == 4 + 3


def test_rest_of_a_row_from_too_few_households_withholds_the_part(db_url: str) -> None:
    """seen minus failing must not single out the few households whose devices pass."""
    k = 3
    with fleet_session(db_url) as (session, f):
        homes = f.homes_with(6)
        f.device(homes[5][0], "aa:ff", [])  # the sixth household has a second camera
        for i, (home, key) in enumerate(homes):
            if i < 3:
                f.finding(home, key, "auth.default-password", etsi_en_303_645=["5.1-1"])
            if i < 4:
                f.finding(home, key, "tls.plain", etsi_en_303_645=["5.5-1"])
            f.finding(home, key, "vendor.no-vdp", etsi_en_303_645=["5.2-1"])
        session.commit()
        row = manufacturer_report(session, ["acme"], min_participants=k)["models"][0]
        market = regulator_report(session, min_participants=k)
    assert row["seen"] == 7
    # 5.1-1: 3 fail, 3 pass. 5.5-1: the rest is 2 households. 5.2-1: one device of every
    # household fails, and the sixth household's second camera is the rest (1 household).
    assert row["failing_etsi"] == {"5.1-1": 3, "5.2-1": None, "5.5-1": None}
    assert {e["provision"]: e["failing_devices"] for e in market["etsi_en_303_645"]} == {
        "5.1-1": 3, "5.2-1": None, "5.5-1": None}


def test_nested_psti_requirement_withholds_a_provision(db_url: str) -> None:
    """psti-1 (5.1-1 or 5.1-2) and 5.1-1 published side by side would give away the one
    household failing 5.1-2 alone."""
    k = 3
    with fleet_session(db_url) as (session, f):
        homes = f.homes_with(8)
        for home, key in homes[:4]:
            f.finding(home, key, "auth.default-password", etsi_en_303_645=["5.1-1"])
        home, key = homes[4]
        f.finding(home, key, "auth.shared", etsi_en_303_645=["5.1-2"])
        session.commit()
        market = regulator_report(session, min_participants=k)
        alone = regulator_report(session, min_participants=1)
    assert {e["provision"]: e["failing_devices"] for e in market["etsi_en_303_645"]} == {
        "5.1-1": None, "5.1-2": None}
    assert market["uk_psti"][0]["failing_devices"] == 5
    assert {e["provision"]: e["failing_devices"] for e in alone["etsi_en_303_645"]} == {
        "5.1-1": 4, "5.1-2": 1}


def test_rare_rows_are_pooled_and_the_remainder_takes_the_smallest_row(db_url: str) -> None:
    k = 3
    with fleet_session(db_url) as (session, f):
        f.homes_with(4, firmware="1.0")
        f.homes_with(1, firmware="1.1")
        f.homes_with(2, firmware="1.2")
        f.homes_with(2, model="plug")
        f.homes_with(7, vendor="Globex")
        session.commit()
        shown = manufacturer_report(session, ["acme"], min_participants=k)
        f.homes_with(1, model="plug")
        session.commit()
        more = manufacturer_report(session, ["acme"], min_participants=k)
    # cam 1.1 + 1.2: 3 households, one row. The plugs (2 households) are too few even for
    # the vendor; they join the smallest listed row, the pooled cameras, in one row for all.
    assert [(m["vendor"], m["model"], m["firmware"], m["seen"]) for m in shown["models"]] == [
        ("Acme", "cam", "1.0", 4), (None, None, None, 5)]
    assert shown["devices"] == 9 == sum(m["seen"] for m in shown["models"])
    assert [(m["vendor"], m["model"], m["firmware"], m["seen"]) for m in more["models"]] == [
        ("Acme", "cam", "1.0", 4), ("Acme", "cam", None, 3), ("Acme", "plug", "1.0", 3)]


def test_vendor_below_k_publishes_nothing(db_url: str) -> None:
    with fleet_session(db_url) as (session, f):
        for home, key in f.homes_with(2):
            f.finding(home, key, "auth.default-password", etsi_en_303_645=["5.1-1"])
        session.commit()
        assert manufacturer_report(session, ["acme"], min_participants=3) == {
            "vendors": ["acme"], "devices": None, "models": [],
            "suppression": {"min_participants": 3}}
        assert manufacturer_report(session, ["nobody"], min_participants=3)["devices"] == 0
        assert manufacturer_report(session, ["acme"], min_participants=2)["devices"] == 2


def test_households_not_devices_are_counted(db_url: str) -> None:
    """Ten cameras of one household are one participant."""
    with fleet_session(db_url) as (session, f):
        home = f.home()
        for i in range(10):
            f.device(home, f"aa:{i:02x}", [f"10.0.0.{i}"])
            f.finding(home, f"10.0.0.{i}", "auth.default-password", etsi_en_303_645=["5.1-1"])
        session.commit()
        market = regulator_report(session, min_participants=2)
    assert market["population"]["devices"] is None
    assert market["etsi_en_303_645"][0]["failing_devices"] is None


@pytest.mark.parametrize("raw, expected", [("3", 3), ("1", 1)])
def test_setting_from_environment(monkeypatch: pytest.MonkeyPatch, raw: str,
                                  expected: int) -> None:
    monkeypatch.setenv("HEDGEROW_HUB_REPORT_MIN_PARTICIPANTS", raw)
    assert HubSettings.from_env().report_min_participants == expected


def test_setting_below_one_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEDGEROW_HUB_REPORT_MIN_PARTICIPANTS", "0")
    with pytest.raises(ValueError, match="report_min_participants=0: must be at least 1"):
        HubSettings.from_env()


def test_reports_over_the_api_use_the_configured_k(db_url: str) -> None:
    hub = build_hub(db_url, report_min_participants=3)
    try:
        maker = hub.tenant("Acme Ltd", "manufacturer", ["Acme"])
        maker_user = hub.enrol(maker, "analyst", "user")
        inspector = hub.enrol(hub.tenant("Regulator", "regulator"), "inspector", "user")
        for i in range(3):
            agent = hub.enrol(hub.tenant(f"home-{i}", "household"), "agent")
            events = [
                {"id": f"d{i}", "kind": "device", "payload": {
                    "mac": f"02:00:00:00:00:{i:02x}", "ips": ["192.168.1.10"], "vendor": "Acme",
                    "model": "cam", "evidence": {"firmware": "1.0"}}},
                {"id": f"g{i}", "kind": "device", "payload": {
                    "mac": f"02:00:00:00:01:{i:02x}", "ips": ["192.168.1.11"],
                    "vendor": "Globex", "model": "plug"}}]
            if i < 2:
                events.append({"id": f"f{i}", "kind": "finding", "payload": {
                    "check_id": "auth.default-password", "device": "192.168.1.10",
                    "severity": "critical", "title": "default password",
                    "standards": {"etsi_en_303_645": ["5.1-1"]}}})
            sent = hub.client.post("/v1/telemetry", headers=agent, json={"events": events})
            assert sent.status_code == 200, sent.text
        made = hub.client.get(f"/v1/reports/manufacturer/{maker}", headers=maker_user).json()
        market = hub.client.get("/v1/reports/regulator", headers=inspector).json()
        refused = hub.client.get("/v1/reports/regulator", headers=agent)
    finally:
        hub.state.engine.dispose()
    assert made == {"vendors": ["acme"], "devices": 3, "suppression": {"min_participants": 3},
                    "models": [{"vendor": "Acme", "model": "cam", "firmware": "1.0", "seen": 3,
                                "compromised": 0, "findings": {"auth.default-password": None},
                                "failing_etsi": {"5.1-1": None},
                                "failing_psti": {"psti-1": None}}]}
    assert market["population"] == {"participants": 3, "devices": 6}
    assert market["etsi_en_303_645"][0]["failing_devices"] is None
    assert market["suppression"] == {"min_participants": 3}
    assert refused.status_code == 403
