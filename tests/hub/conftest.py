"""Hub fixtures: a database on SQLite and on a real PostgreSQL server, and a ready hub.

The PostgreSQL server is started once per session by the fixture itself (initdb + pg_ctl on a
unix socket, as the ``postgres`` user when root); every test gets a fresh database in it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

import psycopg
import pytest
from fastapi.testclient import TestClient

from hedgerow.hub.app import create_app
from hedgerow.hub.config import HubSettings
from hedgerow.hub.migrate import upgrade
from hedgerow.hub.pgcluster import PostgresUnavailable, TempPostgres
from hedgerow.hub.state import HubState
from hedgerow.hub.tenants import create_tenant, issue_credential
from hedgerow.signing import SigningKey

_db_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def postgres() -> Iterator[TempPostgres]:
    try:
        cluster = TempPostgres(dbname="postgres_admin")
        cluster.start()
    except PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL server not available: {exc}")
    try:
        yield cluster
    finally:
        cluster.stop()


def fresh_pg_database(cluster: TempPostgres) -> str:
    name = f"hub_{next(_db_numbers)}"
    with psycopg.connect(host=str(cluster.sock), port=cluster.port, user="postgres",
                         dbname=cluster.dbname, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"postgresql+psycopg://postgres@/{name}?host={cluster.sock}&port={cluster.port}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated, empty database URL on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('hub')}/hub.db"
    else:
        url = fresh_pg_database(request.getfixturevalue("postgres"))
    upgrade(url)
    return url


@dataclass
class Clock:
    """The hub's wall clock, moved by the test."""

    now: float = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Hub:
    """A hub app with an administrator, and helpers to add tenants and credentials."""

    client: TestClient
    admin: dict[str, str]
    clock: Clock
    key: SigningKey
    tenants: dict[str, int] = field(default_factory=dict)

    @property
    def state(self) -> HubState:
        state: HubState = self.client.app.state.hub  # type: ignore[attr-defined]
        return state

    def tenant(self, name: str, role: str, vendors: list[str] | None = None) -> int:
        reply = self.client.post("/v1/admin/tenants", headers=self.admin,
                                 json={"name": name, "role": role, "vendors": vendors or []})
        assert reply.status_code == 201, reply.text
        self.tenants[name] = int(reply.json()["id"])
        return self.tenants[name]

    def enrol(self, tenant_id: int, name: str, kind: str = "agent") -> dict[str, str]:
        """Enrol through the API; returns Authorization headers for the new credential."""
        token = self.client.post(f"/v1/admin/tenants/{tenant_id}/enrolment-tokens",
                                 headers=self.admin, json={"ttl_s": 3600}).json()["token"]
        reply = self.client.post("/v1/enrol", json={"name": name, "kind": kind},
                                 headers={"Authorization": f"Bearer {token}"})
        assert reply.status_code == 201, reply.text
        return {"Authorization": f"Bearer {reply.json()['token']}"}


def build_hub(url: str, **settings: object) -> Hub:
    clock = Clock()
    key = SigningKey.generate()
    settings.setdefault("consensus_interval_s", 0.0)  # consensus inside each request
    config = HubSettings.from_env(database_url=url, **settings)
    app = create_app(config, signing_key=key, clock=clock)
    with app.state.hub.sessions() as session:
        admins = create_tenant(session, "administrators", "admin", clock())
        _, secret = issue_credential(session, admins.id, "root", "user", clock())
    return Hub(TestClient(app), {"Authorization": f"Bearer {secret}"}, clock, key)


@pytest.fixture
def hub(db_url: str) -> Iterator[Hub]:
    made = build_hub(db_url, min_reporters=3, min_tenants=2)
    try:
        yield made
    finally:
        made.state.engine.dispose()


@pytest.fixture
def sqlite_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """A hub on SQLite only, for checks that do not depend on the database."""
    url = f"sqlite:///{tmp_path_factory.mktemp('hub')}/hub.db"
    upgrade(url)
    made = build_hub(url, min_reporters=3, min_tenants=2)
    try:
        yield made
    finally:
        made.state.engine.dispose()
