"""Every endpoint: 401 without/with a bad token, 403/404 for another tenant or the wrong role,
422 for a malformed request, 413 for an oversized body. The route table below must list every
route the app serves, so a new endpoint cannot ship untested."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hedgerow.hub.migrate import upgrade

from .conftest import Hub, build_hub


@dataclass(frozen=True)
class Case:
    """How to call one route: as whom, with which path/body, and what a stranger gets."""

    method: str
    path: str  # may contain {home_a}, {home_b}, {maker_a}, {maker_b}, {cred}
    caller: str  # credential that may use it
    body: dict[str, Any] | None = None
    stranger: str | None = None  # credential of another tenant / wrong role
    stranger_status: int | None = None
    malformed_path: str | None = None
    malformed_body: Any = None
    shared: bool = False  # same answer for every participant: no tenant data to leak


CASES = {
    ("POST", "/v1/enrol"): Case(
        "POST", "/v1/enrol", "enrolment", {"name": "cam", "kind": "agent"},
        stranger="used_enrolment", stranger_status=401, malformed_body={"name": ""}),
    ("POST", "/v1/telemetry"): Case(
        "POST", "/v1/telemetry", "home_a", {"events": []},
        stranger="maker_a", stranger_status=403,
        malformed_body={"events": [{"id": "x", "kind": "alert", "payload": {"kind": "x"}}]}),
    ("GET", "/v1/blocklist"): Case("GET", "/v1/blocklist", "home_a", shared=True),
    ("GET", "/v1/blocklist.txt"): Case("GET", "/v1/blocklist.txt", "home_a", shared=True),
    ("GET", "/v1/blocklist.stix"): Case("GET", "/v1/blocklist.stix", "home_a", shared=True),
    ("GET", "/v1/bundles/{kind}/latest"): Case(
        "GET", "/v1/bundles/rules/latest", "home_a", shared=True),
    ("GET", "/v1/signing-key"): Case("GET", "/v1/signing-key", "home_a", shared=True),
    ("GET", "/v1/me"): Case("GET", "/v1/me", "home_a", shared=True),
    ("GET", "/v1/tenants/{tenant_id}/devices"): Case(
        "GET", "/v1/tenants/{home_a}/devices", "home_a", stranger="home_b",
        stranger_status=404, malformed_path="/v1/tenants/abc/devices"),
    ("GET", "/v1/tenants/{tenant_id}/alerts"): Case(
        "GET", "/v1/tenants/{home_a}/alerts", "home_a", stranger="home_b",
        stranger_status=404, malformed_path="/v1/tenants/{home_a}/alerts?limit=0"),
    ("GET", "/v1/reports/household/{tenant_id}"): Case(
        "GET", "/v1/reports/household/{home_a}", "home_a", stranger="home_b",
        stranger_status=404, malformed_path="/v1/reports/household/abc"),
    ("GET", "/v1/reports/manufacturer/{tenant_id}"): Case(
        "GET", "/v1/reports/manufacturer/{maker_a}", "maker_a", stranger="maker_b",
        stranger_status=404, malformed_path="/v1/reports/manufacturer/abc"),
    ("GET", "/v1/reports/regulator"): Case(
        "GET", "/v1/reports/regulator", "regulator", stranger="home_a", stranger_status=403),
    ("POST", "/v1/admin/tenants"): Case(
        "POST", "/v1/admin/tenants", "admin", {"name": "home-c", "role": "household"},
        stranger="home_a", stranger_status=403, malformed_body={"name": "x", "role": "king"}),
    ("GET", "/v1/admin/tenants"): Case(
        "GET", "/v1/admin/tenants", "admin", stranger="home_a", stranger_status=403),
    ("POST", "/v1/admin/tenants/{tenant_id}/enrolment-tokens"): Case(
        "POST", "/v1/admin/tenants/{home_a}/enrolment-tokens", "admin", {"ttl_s": 60},
        stranger="home_a", stranger_status=403, malformed_body={"ttl_s": -1}),
    ("POST", "/v1/admin/credentials/{credential_id}/revoke"): Case(
        "POST", "/v1/admin/credentials/{spare}/revoke", "admin",
        stranger="home_a", stranger_status=403,
        malformed_path="/v1/admin/credentials/abc/revoke"),
    ("POST", "/v1/admin/allowlist"): Case(
        "POST", "/v1/admin/allowlist", "admin", {"network": "192.0.2.0/24"},
        stranger="home_a", stranger_status=403, malformed_body={"network": "not-a-network"}),
    ("GET", "/v1/admin/allowlist"): Case(
        "GET", "/v1/admin/allowlist", "admin", stranger="home_a", stranger_status=403),
    ("POST", "/v1/admin/bundles/{kind}"): Case(
        "POST", "/v1/admin/bundles/rules", "admin", {"content": {"rules": []}},
        stranger="home_a", stranger_status=403, malformed_body={"content": "not-a-mapping"}),
}


@dataclass
class World:
    hub: Hub
    ids: dict[str, int]
    tokens: dict[str, dict[str, str]]

    def path(self, template: str) -> str:
        return template.format(**self.ids)

    def call(self, method: str, path: str, who: str | None, body: Any = None,
             content: bytes | None = None) -> Any:
        headers = dict(self.tokens[who]) if who else {}
        if content is not None:
            headers["Content-Type"] = "application/json"
            return self.hub.client.request(method, self.path(path), headers=headers,
                                           content=content)
        return self.hub.client.request(method, self.path(path), headers=headers, json=body)

    def fresh_enrolment(self) -> dict[str, str]:
        reply = self.hub.client.post(f"/v1/admin/tenants/{self.ids['home_a']}/enrolment-tokens",
                                     headers=self.hub.admin, json={"ttl_s": 60})
        return {"Authorization": f"Bearer {reply.json()['token']}"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    url = f"sqlite:///{tmp_path_factory.mktemp('contract')}/hub.db"
    upgrade(url)
    hub = build_hub(url, max_body_bytes=65536)
    ids = {"home_a": hub.tenant("home-a", "household"),
           "home_b": hub.tenant("home-b", "household"),
           "maker_a": hub.tenant("maker-a", "manufacturer", ["Acme"]),
           "maker_b": hub.tenant("maker-b", "manufacturer", ["Globex"]),
           "regulator": hub.tenant("regulator", "regulator")}
    tokens = {name: hub.enrol(tid, f"{name}-cred", "user" if "maker" in name or
                              name == "regulator" else "agent") for name, tid in ids.items()}
    tokens["admin"] = hub.admin
    spare = hub.enrol(ids["home_b"], "spare")
    ids["spare"] = hub.client.get("/v1/me", headers=spare).json()["credential_id"]
    used = World(hub, ids, tokens).fresh_enrolment()
    hub.client.post("/v1/enrol", headers=used, json={"name": "first"})
    tokens["used_enrolment"] = used
    hub.client.post("/v1/admin/bundles/rules", headers=hub.admin, json={"content": {"r": 1}})
    yield World(hub, ids, tokens)
    hub.state.engine.dispose()


def _token(world: World, case: Case) -> str | None:
    if case.caller == "enrolment":
        world.tokens["enrolment"] = world.fresh_enrolment()
    return case.caller


def test_route_table_covers_every_route(world: World) -> None:
    spec = world.hub.client.get("/openapi.json").json()
    served = {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}
    assert served == set(CASES)


@pytest.mark.parametrize("key", sorted(CASES), ids=lambda k: f"{k[0]} {k[1]}")
def test_allowed_caller_succeeds(world: World, key: tuple[str, str]) -> None:
    case = CASES[key]
    reply = world.call(case.method, case.path, _token(world, case), case.body)
    assert reply.status_code in (200, 201), reply.text


@pytest.mark.parametrize("key", sorted(CASES), ids=lambda k: f"{k[0]} {k[1]}")
def test_no_token_or_bad_token_is_401(world: World, key: tuple[str, str]) -> None:
    case = CASES[key]
    assert world.call(case.method, case.path, None, case.body).status_code == 401
    world.tokens["forged"] = {"Authorization": "Bearer hr_forged-token-never-issued"}
    reply = world.call(case.method, case.path, "forged", case.body)
    assert reply.status_code == 401
    assert reply.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("key", sorted(CASES), ids=lambda k: f"{k[0]} {k[1]}")
def test_other_tenant_or_wrong_role_is_refused(world: World, key: tuple[str, str]) -> None:
    case = CASES[key]
    if case.shared:
        # Same content for everyone: check two tenants of different roles get identical data.
        first = world.call(case.method, case.path, "home_b", case.body)
        second = world.call(case.method, case.path, "maker_b", case.body)
        assert first.status_code == second.status_code == 200
        if case.path != "/v1/me":
            assert first.content == second.content
        else:
            assert first.json()["tenant_id"] != second.json()["tenant_id"]
        return
    reply = world.call(case.method, case.path, case.stranger, case.body)
    assert reply.status_code == case.stranger_status, reply.text


@pytest.mark.parametrize("key", sorted(k for k, c in CASES.items()
                                       if c.malformed_path or c.malformed_body is not None),
                         ids=lambda k: f"{k[0]} {k[1]}")
def test_malformed_request_is_422(world: World, key: tuple[str, str]) -> None:
    case = CASES[key]
    who = _token(world, case)
    if case.malformed_path:
        reply = world.call(case.method, case.malformed_path, who, case.body)
    else:
        reply = world.call(case.method, case.path, who, case.malformed_body)
    assert reply.status_code == 422, reply.text
    if case.body is not None:
        broken = world.call(case.method, case.path, _token(world, case), content=b'{"events": [')
        assert broken.status_code == 422


def test_endpoints_without_inputs_are_listed() -> None:
    """Routes with neither body nor parameters have nothing to malform; keep that list exact."""
    nothing = sorted(k for k, c in CASES.items()
                     if not c.malformed_path and c.malformed_body is None)
    assert nothing == [("GET", "/v1/admin/allowlist"), ("GET", "/v1/admin/tenants"),
                       ("GET", "/v1/blocklist"), ("GET", "/v1/blocklist.stix"),
                       ("GET", "/v1/blocklist.txt"), ("GET", "/v1/bundles/{kind}/latest"),
                       ("GET", "/v1/me"), ("GET", "/v1/reports/regulator"),
                       ("GET", "/v1/signing-key")]


@pytest.mark.parametrize("key", sorted(CASES), ids=lambda k: f"{k[0]} {k[1]}")
def test_oversized_body_is_413(world: World, key: tuple[str, str]) -> None:
    case = CASES[key]
    big = b'{"pad": "' + b"x" * 70_000 + b'"}'
    reply = world.call(case.method, case.path, _token(world, case), content=big)
    assert reply.status_code == 413


def test_too_many_events_is_413(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/hub.db"
    upgrade(url)
    hub = build_hub(url, max_batch_events=10)
    home = hub.enrol(hub.tenant("home", "household"), "gw", "gateway")
    events = [{"id": f"d{i}", "kind": "device", "payload": {"mac": None, "ips": [f"10.0.0.{i}"]}}
              for i in range(11)]
    reply = hub.client.post("/v1/telemetry", headers=home, json={"events": events})
    assert reply.status_code == 413
    assert "at most 10" in reply.json()["detail"]
    ok = hub.client.post("/v1/telemetry", headers=home, json={"events": events[:10]})
    assert ok.json()["accepted"] == 10
