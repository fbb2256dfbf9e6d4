"""ETSI EN 303 645 provision categories and the UK PSTI security requirements.

The UK PSTI regulations (2023, Schedule 1) have three requirements; each corresponds to
provisions of ETSI EN 303 645 (the regulations name them as the equivalent route to
compliance).

Example:
    >>> etsi_category("5.1-1")
    '5.1 No universal default passwords'
    >>> psti_requirements({"etsi_en_303_645": ["5.1-1"]})
    ['psti-1']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

ETSI_KEY = "etsi_en_303_645"
PSTI_KEY = "uk_psti"

ETSI_CATEGORIES = {
    "5.1": "No universal default passwords",
    "5.2": "Implement a means to manage reports of vulnerabilities",
    "5.3": "Keep software updated",
    "5.4": "Securely store sensitive security parameters",
    "5.5": "Communicate securely",
    "5.6": "Minimize exposed attack surfaces",
    "5.7": "Ensure software integrity",
    "5.8": "Ensure that personal data is secure",
    "5.9": "Make systems resilient to outages",
    "5.10": "Examine system telemetry data",
    "5.11": "Make it easy for users to delete user data",
    "5.12": "Make installation and maintenance of devices easy",
    "5.13": "Validate input data",
    "6": "Data protection provisions for consumer IoT",
}

PSTI_REQUIREMENTS = {
    "psti-1": ("Passwords (Schedule 1, paragraph 1)", ("5.1-1", "5.1-2")),
    "psti-2": ("Information on how to report security issues (Schedule 1, paragraph 2)",
               ("5.2-1",)),
    "psti-3": ("Information on minimum security update periods (Schedule 1, paragraph 3)",
               ("5.3-13",)),
}


def etsi_category(provision: str) -> str:
    """``'5.1-1'`` -> ``'5.1 No universal default passwords'`` (unknown ones unchanged)."""
    head = provision.split("-", 1)[0]
    title = ETSI_CATEGORIES.get(head) or ETSI_CATEGORIES.get(head.split(".", 1)[0])
    return f"{head} {title}" if title else provision


def psti_markers(requirement: str) -> tuple[str, str]:
    """Texts that state ``requirement`` in a finding's ``uk_psti`` clauses.

    >>> psti_markers("psti-2")
    ('psti-2', 'paragraph 2')
    """
    return requirement, f"paragraph {requirement.rsplit('-', 1)[1]}"


def psti_requirements(standards: Mapping[str, Sequence[str]]) -> list[str]:
    """PSTI requirements a finding with these ``standards`` clauses breaches: those whose
    ETSI provisions it lists, and those one of its ``uk_psti`` clauses states (names the
    requirement or its Schedule 1 paragraph)."""
    etsi = set(standards.get(ETSI_KEY, ()))
    stated = standards.get(PSTI_KEY, ())
    out = []
    for key, (_title, provisions) in PSTI_REQUIREMENTS.items():
        markers = psti_markers(key)
        if etsi.intersection(provisions) or any(m in clause for clause in stated
                                                for m in markers):
            out.append(key)
    return out
