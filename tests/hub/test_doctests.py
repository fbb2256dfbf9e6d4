"""The examples in the hub's, signing's and client's docstrings run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "hedgerow.hub.app", "hedgerow.hub.auth", "hedgerow.hub.bundles", "hedgerow.hub.config",
    "hedgerow.hub.consensus", "hedgerow.hub.db", "hedgerow.hub.ingest", "hedgerow.hub.models",
    "hedgerow.hub.ratelimit", "hedgerow.hub.reports", "hedgerow.hub.schemas",
    "hedgerow.hub.sqlutil", "hedgerow.hub.standards", "hedgerow.hub.stix",
    "hedgerow.hub.tenants", "hedgerow.signing.bundle", "hedgerow.telemetry.client",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
