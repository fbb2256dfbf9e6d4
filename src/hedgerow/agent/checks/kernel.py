"""Kernel hardening sysctls read from ``<proc>/sys`` against ``data/kernel_hardening.yaml``.

Example:
    >>> "kernel.randomize_va_space" in load_baseline()
    True
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from hedgerow.agent.config import AgentConfig
from hedgerow.assess.standards import make_finding
from hedgerow.model import Finding


@lru_cache(maxsize=1)
def load_baseline() -> dict[str, dict[str, Any]]:
    text = (resources.files("hedgerow.agent") / "data" / "kernel_hardening.yaml").read_text(
        encoding="utf-8")
    doc = yaml.safe_load(text)
    return {str(k): dict(v) for k, v in doc["sysctls"].items()}


def check_kernel(cfg: AgentConfig) -> list[Finding]:
    weak: list[dict[str, Any]] = []
    checked = 0
    for name, spec in load_baseline().items():
        path = cfg.proc_path("sys/" + name.replace(".", "/"))
        try:
            value = int(path.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
        checked += 1
        if value not in spec["want"]:
            weak.append({"sysctl": name, "value": value, "want": spec["want"],
                         "why": spec["why"]})
    if not weak:
        return []
    return [make_finding("kernel.weak-sysctl", cfg.device,
                         {"settings": weak, "checked": checked},
                         title=f"{len(weak)} kernel hardening setting(s) off: "
                               f"{', '.join(w['sysctl'] for w in weak[:4])}")]
