"""Each built-in rule folder's test cases (real corpus excerpts, loopback replays) pass."""

from __future__ import annotations

import pytest

from hedgerow.detect.ruleload import builtin_rules_dir, load_rules
from hedgerow.detect.ruletest import CaseDir, find_cases, load_case, run_case
from hedgerow.flows.source import iter_flows

CASES = find_cases(builtin_rules_dir())


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_case(case: CaseDir) -> None:
    result = run_case(case, [], lambda p, seen: iter_flows([p], packet_observers=seen))
    assert result.error is None, result.error
    assert not result.missing, result.missing
    assert not result.unexpected, result.unexpected


def test_cases_carry_their_licence_and_cover_every_family() -> None:
    families = {c.path.parent.parent.name for c in CASES}
    assert {"scan", "bruteforce", "dos", "c2", "mining", "exploit", "intel"} <= families
    for case in CASES:
        spec = load_case(case)
        assert (case.path / spec.input).stat().st_size < 300_000
        assert spec.source.strip()
        notices = [
            p for p in case.path.iterdir() if p.name.startswith(("LICENSE", "COPYING", "README"))
        ]
        assert notices or "Hedgerow authors" in spec.source, case.path


def test_every_family_with_rules_has_a_case() -> None:
    rules = load_rules([builtin_rules_dir()])
    with_case = {r.detector for c in CASES for r in load_case(c).expect}
    assert len(with_case) >= 12
    assert {r.id.split(".")[0] for r in rules} <= {d.split(".")[0] for d in with_case} | {"intel"}
