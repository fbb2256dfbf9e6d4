"""Shared test fixtures: the real-traffic corpus, and skips for missing root or tools."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def corpus_root() -> Path:
    """``$HEDGEROW_CORPUS``, else ``../shared/corpus`` beside the repository."""
    return Path(os.environ.get("HEDGEROW_CORPUS", REPO.parent / "shared" / "corpus"))


@pytest.fixture(scope="session")
def corpus() -> Path:
    root = corpus_root()
    if not root.is_dir():
        pytest.skip(f"real-traffic corpus not found at {root} (set HEDGEROW_CORPUS)")
    return root


def require_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces / nftables); .ci/run runs as root")


def require_tool(*names: str) -> None:
    for name in names:
        if shutil.which(name) is None:
            pytest.skip(f"needs `{name}` (Debian package; .ci/run installs it)")
