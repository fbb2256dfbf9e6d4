"""Ed25519 bundles: the hub signs, agents verify and refuse unsigned or tampered bundles."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from hedgerow.cli.main import main
from hedgerow.hub import bundles
from hedgerow.hub.db import make_engine, session_factory
from hedgerow.hub.models import BundleRow
from hedgerow.signing import BundleError, SigningKey, sign_bundle, verify_bundle

from .conftest import Hub

Signed = tuple[SigningKey, dict[str, Any]]
Mutation = Callable[[dict[str, Any]], object]

RULES = {"rules": [{"id": "telnet-bruteforce", "groupby": "id.orig_h", "capacity": 20}]}


@pytest.fixture
def signed() -> Signed:
    key = SigningKey.generate()
    return key, sign_bundle(key, "rules", 4, copy.deepcopy(RULES), created=1.0)


def test_valid_bundle_verifies(signed: Signed) -> None:
    key, bundle = signed
    assert verify_bundle(bundle, [key.public_pem()]) == RULES


@pytest.mark.parametrize("tamper", [
    lambda b: b["content"]["rules"][0].update(capacity=2000),
    lambda b: b.update(version=5),
    lambda b: b.update(kind="baseline"),
    lambda b: b.update(created=2.0),
    lambda b: b["content"].update(extra=True),
])
def test_tampered_bundle_is_refused(signed: Signed, tamper: Mutation) -> None:
    key, bundle = signed
    tamper(bundle)
    with pytest.raises(BundleError, match="does not match"):
        verify_bundle(bundle, [key.public_pem()])


@pytest.mark.parametrize("mutate, message", [
    (lambda b: b.pop("signature"), "unsigned"),
    (lambda b: b.update(signature={"alg": "ed25519", "key_id": "x", "value": ""}), "unsigned"),
    (lambda b: b["signature"].update(alg="rsa"), "algorithm"),
    (lambda b: b["signature"].update(value="!!!"), "not base64"),
    (lambda b: b["signature"].update(value="AAAA"), "does not match"),
    (lambda b: b.pop("content"), "missing field 'content'"),
    (lambda b: b.update(format="other/1"), "unknown format"),
])
def test_unsigned_or_broken_bundle_is_refused(signed: Signed, mutate: Mutation,
                                              message: str) -> None:
    key, bundle = signed
    mutate(bundle)
    with pytest.raises(BundleError, match=message):
        verify_bundle(bundle, [key.public_pem()])


def test_untrusted_key_is_refused(signed: Signed) -> None:
    _, bundle = signed
    with pytest.raises(BundleError, match="untrusted key"):
        verify_bundle(bundle, [SigningKey.generate().public_pem()])
    with pytest.raises(BundleError, match="not a JSON object"):
        verify_bundle([bundle], [])


def test_key_file_roundtrip(tmp_path: Path) -> None:
    path = tmp_path / "hub.pem"
    key = SigningKey.load_or_create(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert SigningKey.load_or_create(path).key_id == key.key_id
    path.write_text("garbage")
    with pytest.raises(BundleError, match="cannot read signing key"):
        SigningKey.load(path)


def test_hub_publishes_and_agent_refuses_tampering(sqlite_hub: Hub) -> None:
    hub = sqlite_hub
    home = hub.enrol(hub.tenant("home", "household"), "agent")
    published = hub.client.post("/v1/admin/bundles/rules", headers=hub.admin,
                                json={"content": RULES})
    assert published.status_code == 201
    pem = hub.client.get("/v1/signing-key", headers=home).json()["public_key_pem"]
    fetched = hub.client.get("/v1/bundles/rules/latest", headers=home).json()
    assert fetched["version"] == 1
    assert verify_bundle(fetched, [pem]) == RULES
    # Someone with database access changes the published rules: agents refuse them.
    state = hub.state
    forged = copy.deepcopy(fetched)
    forged["content"]["rules"][0]["capacity"] = 10**9
    with state.sessions() as session:
        session.execute(update(BundleRow).values(document=forged))
        session.commit()
    served = hub.client.get("/v1/bundles/rules/latest", headers=home).json()
    with pytest.raises(BundleError, match="does not match"):
        verify_bundle(served, [pem])


def test_cli_publish_and_verify(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/hub.db"
    key = tmp_path / "hub.pem"
    content = tmp_path / "rules.yaml"
    content.write_text("rules:\n  - id: telnet-bruteforce\n    capacity: 20\n")
    runner = CliRunner()
    assert runner.invoke(main, ["hub", "migrate", "--db", db]).exit_code == 0
    pub = runner.invoke(main, ["hub", "keygen", "--key", str(key)])
    (tmp_path / "hub.pub").write_text(pub.output)
    done = runner.invoke(main, ["hub", "publish", "--db", db, "--key", str(key), "rules",
                                str(content)])
    assert done.exit_code == 0, done.output
    assert "published rules v1" in done.output
    with session_factory(make_engine(db))() as session:
        document = bundles.latest(session, "rules")
    bundle_file = tmp_path / "rules.bundle.json"
    bundle_file.write_text(json.dumps(document))
    ok = runner.invoke(main, ["hub", "verify", str(bundle_file), "--public-key",
                              str(tmp_path / "hub.pub")])
    assert ok.exit_code == 0 and "valid rules v1" in ok.output
    assert document is not None
    document["content"]["rules"][0]["capacity"] = 1
    bundle_file.write_text(json.dumps(document))
    bad = runner.invoke(main, ["hub", "verify", str(bundle_file), "--public-key",
                               str(tmp_path / "hub.pub")])
    assert bad.exit_code == 1
    assert "refused" in bad.output and "does not match" in bad.output
