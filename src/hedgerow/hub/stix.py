"""The blocklist as a STIX 2.1 bundle: the feed's identity, one indicator and one sighting per
address. Identifiers are UUIDv5 of stable names, so repeated exports name the same objects.

Example:
    >>> bundle = blocklist_bundle([("198.51.100.7", 10.0, 20.0, 30.0, 3, ["bruteforce"])], 25.0)
    >>> [o["type"] for o in bundle["objects"]]
    ['identity', 'indicator', 'sighting']
    >>> bundle["objects"][1]["pattern"]
    "[ipv4-addr:value = '198.51.100.7']"
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

NAMESPACE = uuid.UUID("6f1c3a52-3b8e-5c1e-9d0a-4e1d7c0b9a11")
FEED_NAME = "Hedgerow community blocklist"
FEED_CREATED = 1735689600.0  # 2025-01-01T00:00:00Z: when the feed's identity was defined

# (address, first_listed, last_confirmed, expires, reporters, kinds)
Entry = tuple[str, float, float, float, int, list[str]]


def stix_time(ts: float) -> str:
    """STIX timestamp: UTC, millisecond precision, ``Z`` suffix."""
    moment = datetime.fromtimestamp(ts, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _id(kind: str, name: str) -> str:
    return f"{kind}--{uuid.uuid5(NAMESPACE, f'{kind}:{name}')}"


def identity(created: float) -> dict[str, Any]:
    return {"type": "identity", "spec_version": "2.1", "id": _id("identity", FEED_NAME),
            "created": stix_time(created), "modified": stix_time(created),
            "name": FEED_NAME, "identity_class": "system",
            "description": "Addresses reported by distinct participants of distinct tenants "
                           "of a Hedgerow protection network (consensus)."}


def blocklist_bundle(entries: Iterable[Entry], generated: float,
                     feed_created: float = FEED_CREATED) -> dict[str, Any]:
    """Build the bundle for ``entries`` at time ``generated``."""
    feed = identity(feed_created)
    objects: list[dict[str, Any]] = [feed]
    for address, first, last, expires, reporters, kinds in entries:
        version = ipaddress.ip_address(address).version
        indicator_id = _id("indicator", address)
        objects.append({
            "type": "indicator", "spec_version": "2.1", "id": indicator_id,
            "created": stix_time(first), "modified": stix_time(last),
            "created_by_ref": feed["id"],
            "name": f"Attacker {address}",
            "description": f"Reported for {', '.join(kinds) or 'attacks'} by "
                           f"{reporters} participants.",
            "indicator_types": ["malicious-activity"],
            "pattern": f"[ipv{version}-addr:value = '{address}']",
            "pattern_type": "stix", "pattern_version": "2.1",
            "valid_from": stix_time(first), "valid_until": stix_time(expires),
            "labels": sorted(kinds),
        })
        objects.append({
            "type": "sighting", "spec_version": "2.1", "id": _id("sighting", address),
            "created": stix_time(first), "modified": stix_time(last),
            "created_by_ref": feed["id"],
            "first_seen": stix_time(first), "last_seen": stix_time(last),
            "count": reporters, "sighting_of_ref": indicator_id,
            "where_sighted_refs": [feed["id"]],
        })
    return {"type": "bundle", "id": _id("bundle", f"{FEED_NAME}@{generated!r}"),
            "objects": objects}
