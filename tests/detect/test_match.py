"""The rule match language: every operator, nulls, binary payload columns, validation."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl
import pytest
from pydantic import ValidationError

from hedgerow.detect.match import (
    Condition,
    compile_filter,
    content_filter,
    literal_prefixes,
    required_content,
)
from hedgerow.detect.ruleload import builtin_rules_dir, load_rules
from hedgerow.detect.ruleschema import ThresholdRule
from hedgerow.flows.schema import FLOW_SCHEMA
from hedgerow.flows.source import iter_flows

FRAME = pl.DataFrame(
    {
        "id.resp_p": [23, 2323, 80, None],
        "conn_state": ["S0", "SF", "REJ", None],
        "duration": [0.5, 10.0, None, 3.0],
        "orig_payload": [b"NICK bot\r\n", b"GET /shell?cd+/tmp", None, b"\x16\x03\x01"],
    }
)
BINARY = frozenset({"orig_payload"})


def rows(*conds: Mapping[str, object]) -> list[int]:
    parsed = [Condition.model_validate(c) for c in conds]
    mask = FRAME.select(compile_filter(parsed, BINARY).alias("m"))["m"]
    return [i for i, hit in enumerate(mask.to_list()) if hit]


def test_scalar_and_list_operators() -> None:
    assert rows({"field": "id.resp_p", "eq": 23}) == [0]
    assert rows({"field": "id.resp_p", "ne": 23}) == [1, 2]
    assert rows({"field": "id.resp_p", "in": [23, 2323]}) == [0, 1]
    assert rows({"field": "conn_state", "not_in": ["S0"]}) == [1, 2]
    assert rows({"field": "duration", "ge": 3.0}) == [1, 3]
    assert rows({"field": "duration", "lt": 3.0}) == [0]
    assert rows({"field": "conn_state", "regex": "^(S0|REJ)$"}) == [0, 2]


def test_nulls_never_match_value_tests_and_is_null_finds_them() -> None:
    assert rows({"field": "duration", "gt": -1}) == [0, 1, 3]
    assert rows({"field": "duration", "is_null": True}) == [2]
    assert rows({"field": "orig_payload", "is_null": False}) == [0, 1, 3]


def test_binary_payload_literals() -> None:
    assert rows({"field": "orig_payload", "startswith_any": ["NICK ", "USER "]}) == [0]
    assert rows({"field": "orig_payload", "contains_any": ["/shell?cd"]}) == [1]
    assert rows({"field": "orig_payload", "startswith_any": ["\x16\x03"]}) == [3]


def test_groups_and_conjunction() -> None:
    either = {"any": [{"field": "id.resp_p", "eq": 80}, {"field": "conn_state", "eq": "SF"}]}
    assert rows(either) == [1, 2]
    assert rows({"none": [{"field": "id.resp_p", "in": [23, 2323]}]}) == [2, 3]
    assert rows(either, {"field": "duration", "gt": 1}) == [1]


@pytest.mark.parametrize(
    "bad",
    [
        {"field": "id.resp_p"},
        {"field": "id.resp_p", "eq": 1, "ne": 2},
        {"eq": 1},
        {"field": "id.resp_p", "any": [{"field": "x", "eq": 1}]},
        {"field": "id.resp_p", "equals": 1},
    ],
)
def test_malformed_conditions_are_rejected(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Condition.model_validate(bad)


def test_required_content_follows_the_logic() -> None:
    def required(*conds: Mapping[str, object]) -> set[str]:
        return required_content([Condition.model_validate(c) for c in conds])

    payload = {"field": "orig_payload", "contains_any": ["NICK "]}
    assert required({"field": "id.resp_p", "eq": 23}, payload) == {"orig_payload"}
    assert required({"any": [payload, {"field": "orig_payload", "startswith_any": ["GET"]}]}) == {
        "orig_payload"
    }
    assert required({"any": [payload, {"field": "id.resp_p", "eq": 23}]}) == set()
    assert required({"none": [payload]}) == set()
    assert required({"field": "orig_payload", "contains_any": ["", "x"]}) == set()
    assert required({"all": [payload, {"field": "conn_state", "startswith_any": ["S"]}]}) == {
        "orig_payload",
        "conn_state",
    }


def test_content_prefilter_keeps_every_match_of_the_builtin_rules() -> None:
    """Dropping rows without the required content first selects exactly the same flows."""
    cases = [
        "mining/cases/ndpi-stratum",  # nDPI's stratum capture
        "bruteforce/cases/zeek-sshguess",  # Zeek's SSH guessing trace
        "bruteforce/cases/zeek-ftp",
        "exploit/cases/loopback-iot-exploits",
        "c2/cases/loopback-irc",
    ]
    paths = sorted(p for c in cases for p in (builtin_rules_dir() / c).glob("*.pcap*"))
    flows = pl.concat([b for p in paths for b in iter_flows([p])])
    binary = frozenset(c for c, t in FLOW_SCHEMA.items() if t == pl.Binary())
    checked = 0
    for rule in load_rules([builtin_rules_dir()]):
        if not isinstance(rule, ThresholdRule):
            continue
        needed = required_content(rule.filter)
        if not needed:
            continue
        whole = flows.filter(compile_filter(rule.filter, binary))
        narrowed = flows.filter(content_filter(needed, binary)).filter(
            compile_filter(rule.filter, binary)
        )
        assert narrowed.equals(whole), rule.id
        checked += whole.height
    assert checked > 0


def test_prefix_regexes_match_as_the_regex_engine_does() -> None:
    """The builtin rules' anchored history regexes, tested as prefixes, select the same flows
    of a real flood capture and a real scan log as the regex itself; other regexes stay
    regexes."""
    paths = [
        builtin_rules_dir() / "dos/cases/stopddos-synack-reflection/synack-first2500.pcap",
        builtin_rules_dir() / "scan/cases/slips-vertical/conn.log",
        builtin_rules_dir() / "bruteforce/cases/zeek-sshguess/sshguess.pcap",
    ]
    flows = pl.concat([b for p in paths for b in iter_flows([p])], how="vertical_relaxed")
    history = flows["history"]
    patterns = {
        c.regex
        for rule in load_rules([builtin_rules_dir()])
        for c in getattr(rule, "filter", [])
        if c.regex is not None
    }
    assert patterns and all(literal_prefixes(p) is not None for p in patterns)
    hits = 0
    for pattern in [*sorted(patterns), "^", "^S[Aa]", "^\\^d"]:
        cond = Condition.model_validate({"field": "history", "regex": pattern})
        prefixed = flows.select(compile_filter([cond]).alias("m"))["m"]
        engine = history.str.contains(pattern).fill_null(False)
        assert prefixed.equals(engine.alias("m")), pattern
        hits += 0 < prefixed.sum() < flows.height
    assert hits >= 4
    for other in ["S", "^S.", "^[a-z]", "^[^S]", "^(S|A)", "^\\d", "^a{2}", "^[]"]:
        assert literal_prefixes(other) is None, other
