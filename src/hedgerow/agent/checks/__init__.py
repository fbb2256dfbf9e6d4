"""The device's own risk assessment: each check reads the device tree and returns Findings.

A check is a function ``(AgentConfig) -> list[Finding]``; :data:`BUILTIN_CHECKS` lists the
built-in ones by name, and makers add their own with :meth:`hedgerow.agent.Agent.add_check`.
"""

from __future__ import annotations

from collections.abc import Callable

from hedgerow.agent.checks.accounts import check_accounts
from hedgerow.agent.checks.filesystem import check_path, check_setuid
from hedgerow.agent.checks.kernel import check_kernel
from hedgerow.agent.checks.services import check_services
from hedgerow.agent.checks.software import check_software
from hedgerow.agent.checks.ssh import check_ssh
from hedgerow.agent.config import AgentConfig
from hedgerow.model import Finding

Check = Callable[[AgentConfig], list[Finding]]

BUILTIN_CHECKS: dict[str, Check] = {
    "accounts": check_accounts,
    "services": check_services,
    "ssh": check_ssh,
    "path": check_path,
    "setuid": check_setuid,
    "kernel": check_kernel,
    "software": check_software,
}

__all__ = ["BUILTIN_CHECKS", "Check"]
