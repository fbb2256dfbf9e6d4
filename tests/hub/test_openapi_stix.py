"""The published API description and the STIX 2.1 export."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import stix2
from click.testing import CliRunner

from hedgerow.cli.main import main
from hedgerow.hub.app import openapi_spec
from hedgerow.hub.stix import blocklist_bundle

from .conftest import Hub

REPO = Path(__file__).resolve().parents[2]
STIX_ID = re.compile(r"^[a-z0-9-]+--[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                     r"[0-9a-f]{12}$")
STIX_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def test_checked_in_openapi_is_current() -> None:
    """docs/hub-openapi.json is what `hedgerow hub openapi -o docs/hub-openapi.json` writes."""
    checked_in = json.loads((REPO / "docs" / "hub-openapi.json").read_text())
    assert checked_in == json.loads(json.dumps(openapi_spec())), \
        "regenerate with: hedgerow hub openapi -o docs/hub-openapi.json"


def test_openapi_is_served_and_names_bearer_auth(sqlite_hub: Hub) -> None:
    served = sqlite_hub.client.get("/openapi.json").json()
    assert served["info"]["title"] == "Hedgerow hub"
    assert served["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    cli = CliRunner().invoke(main, ["hub", "openapi"])
    assert json.loads(cli.output)["paths"].keys() == served["paths"].keys()


ENTRIES = [("45.95.147.10", 1_800_000_000.0, 1_800_000_500.0, 1_800_604_800.0, 3,
            ["bruteforce", "scan"]),
           ("2a03:2880:f10c:83:face:b00c:0:25de", 1_800_000_100.0, 1_800_000_100.0,
            1_800_604_900.0, 4, ["c2"])]


def _check_common(obj: dict[str, Any]) -> None:
    assert obj["spec_version"] == "2.1"
    assert STIX_ID.match(obj["id"]) and obj["id"].startswith(obj["type"] + "--")
    assert STIX_TIME.match(obj["created"]) and STIX_TIME.match(obj["modified"])
    assert obj["modified"] >= obj["created"]


def test_stix_bundle_structure_follows_the_spec() -> None:
    bundle = blocklist_bundle(ENTRIES, 1_800_001_000.0)
    assert bundle["type"] == "bundle" and STIX_ID.match(bundle["id"])
    assert "spec_version" not in bundle  # STIX 2.1 bundles carry no spec_version
    objects = {o["id"]: o for o in bundle["objects"]}
    identity = next(o for o in objects.values() if o["type"] == "identity")
    indicators = [o for o in objects.values() if o["type"] == "indicator"]
    sightings = [o for o in objects.values() if o["type"] == "sighting"]
    assert len(indicators) == len(sightings) == 2
    for obj in objects.values():
        _check_common(obj)
    assert identity["identity_class"] == "system"
    assert [i["pattern"] for i in indicators] == [
        "[ipv4-addr:value = '45.95.147.10']",
        "[ipv6-addr:value = '2a03:2880:f10c:83:face:b00c:0:25de']"]
    for ind in indicators:
        assert ind["pattern_type"] == "stix" and ind["created_by_ref"] == identity["id"]
        assert ind["valid_until"] > ind["valid_from"]
    for s in sightings:
        assert objects[s["sighting_of_ref"]]["type"] == "indicator"
        assert s["where_sighted_refs"] == [identity["id"]]
        assert s["count"] >= 1 and s["last_seen"] >= s["first_seen"]
    # Stable identifiers: the same listing exports the same objects.
    again = blocklist_bundle(ENTRIES, 1_800_001_000.0)
    assert [o["id"] for o in again["objects"]] == list(objects)


def test_stix_bundle_parses_with_the_oasis_library() -> None:
    bundle = blocklist_bundle(ENTRIES, 1_800_001_000.0)
    parsed = stix2.parse(json.dumps(bundle), allow_custom=False)
    kinds = [type(o).__name__ for o in parsed.objects]
    assert kinds == ["Identity", "Indicator", "Sighting", "Indicator", "Sighting"]
    assert parsed.objects[1].pattern == "[ipv4-addr:value = '45.95.147.10']"
    assert parsed.objects[2].sighting_of_ref == parsed.objects[1].id


def test_a_broken_pattern_would_be_caught() -> None:
    bundle = blocklist_bundle(ENTRIES[:1], 1_800_001_000.0)
    bundle["objects"][1]["pattern"] = "[ipv4-addr:value = 45.95.147.10"
    with pytest.raises(stix2.exceptions.InvalidValueError):
        stix2.parse(json.dumps(bundle), allow_custom=False)
