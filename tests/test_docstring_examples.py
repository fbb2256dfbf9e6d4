"""Every runnable example in every module's docstrings stays true (the house style's promise)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import hedgerow

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(hedgerow.__path__, "hedgerow.")
    if not m.name.endswith("__main__")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"
