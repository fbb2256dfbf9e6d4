"""The runnable examples in the agent's, spool's and enforcement's docstrings stay true."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import hedgerow.agent

MODULES = sorted(
    {m.name for m in pkgutil.walk_packages(hedgerow.agent.__path__, "hedgerow.agent.")
     if not m.name.endswith("__main__")}
    | {"hedgerow.agent", "hedgerow.respond.nft_json", "hedgerow.respond.nftables",
       "hedgerow.respond.actionlog", "hedgerow.telemetry.spool", "hedgerow.assess.standards"})


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{name}: {result.failed} failing example(s)"
