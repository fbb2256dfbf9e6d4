"""Network-side risk assessment: passive checks on traffic, and the opt-in active probe.

Example:
    >>> from hedgerow.assess.network import assess_network, default_credentials
    >>> ("admin", "admin") in default_credentials()
    True
"""

from hedgerow.assess.network.config import (
    NetworkChecks,
    NetworkChecksError,
    default_credentials,
    load_network_checks,
)
from hedgerow.assess.network.passive import assess_network
from hedgerow.assess.network.telnet import LoginAttempt, TelnetSession, TelnetSessions

__all__ = [
    "LoginAttempt",
    "NetworkChecks",
    "NetworkChecksError",
    "TelnetSession",
    "TelnetSessions",
    "assess_network",
    "default_credentials",
    "load_network_checks",
]
