"""Intel matched against DNS answers, and connections attributed to the listed names a device
resolved, on real captures: CNAME targets, late answers, TTL expiry, the cap, batching."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from hedgerow.detect.base import DetectContext
from hedgerow.detect.intelmatch import IntelDetector
from hedgerow.detect.ruleload import builtin_rules_dir, load_rules
from hedgerow.detect.ruleschema import IntelRule
from hedgerow.flows.source import iter_flows
from hedgerow.intel import IndicatorSet
from hedgerow.model import Alert

NEST = "ndpi/pcap/nest_log_sink.pcap"  # resolves weave-logsink.nest.com, then raw TCP/11095
ALEXA = "ndpi/pcap/alexa-app.pcapng"  # CNAME chains into cloudfront.net
LOGSINK = "35.188.154.186"


def _rule(**knobs: object) -> IntelRule:
    base = next(r for r in load_rules([builtin_rules_dir()]) if r.id == "intel.match")
    return IntelRule.model_validate({**base.model_dump(), **knobs})


def _flows(corpus: Path, name: str) -> pl.DataFrame:
    return pl.concat(list(iter_flows([corpus / name]))).sort("ts")


def _run(rule: IntelRule, batches: list[pl.DataFrame], *listed: str) -> list[Alert]:
    intel = IndicatorSet()
    for value in listed:
        intel.add(value, category="c2", source="test")
    det, ctx = IntelDetector(rule), DetectContext(indicators=intel)
    out = [a for b in batches for a in det.process(b, ctx)]
    return out + det.finish(ctx)


def _logsink_tcp(flows: pl.DataFrame) -> pl.DataFrame:
    return flows.filter((pl.col("id.resp_h") == LOGSINK) & (pl.col("id.resp_p") == 11095))


def test_raw_tcp_to_a_resolved_listed_name_is_contact_with_it(corpus: Path) -> None:
    flows = _flows(corpus, NEST)
    (alert,) = _run(_rule(), [flows], "nest.com")
    tcp = _logsink_tcp(flows)
    assert tcp.height == 7 and tcp["orig_payload"].is_not_null().all()
    assert alert.device == "192.168.242.15" and alert.direction == "outbound"
    assert LOGSINK in alert.peers and alert.kind.value == "c2"
    assert "nest.com (weave-logsink.nest.com)" in alert.summary
    assert "resolved weave-logsink.nest.com" in alert.evidence["matched"]
    assert set(tcp["uid"]) <= set(alert.evidence["uids"])
    assert alert.evidence["flows"] == 7 + 4  # the connections and the four lookups


def test_an_answer_reported_after_the_connections_still_explains_them(corpus: Path) -> None:
    flows = _flows(corpus, NEST)
    dns = flows.filter(pl.col("id.resp_p") == 53)
    first_lookup = dns.head(1)
    rest = flows.filter(pl.col("uid") != first_lookup["uid"][0])
    early = rest.filter(pl.col("ts") < 1536714700.0)  # the connections right after the answer
    late = rest.filter(pl.col("ts") >= 1536714700.0)
    in_order = _run(_rule(), [flows], "nest.com")
    reordered = _run(_rule(), [early, first_lookup, late], "nest.com")
    assert early.filter(pl.col("id.resp_h") == LOGSINK).height == 2
    assert [a.evidence["flows"] for a in reordered] == [a.evidence["flows"] for a in in_order]
    assert sorted(reordered[0].evidence["uids"]) == sorted(in_order[0].evidence["uids"])


def test_no_late_answer_flows_kept_means_only_later_connections(corpus: Path) -> None:
    flows = _flows(corpus, NEST)
    first_lookup = flows.filter(pl.col("id.resp_p") == 53).head(1)
    rest = flows.filter(pl.col("uid") != first_lookup["uid"][0])
    (alert,) = _run(_rule(late_answer_flows=0), [rest, first_lookup], "nest.com")
    # the two connections reported before the answer are not seen again: 11 flows less two
    assert alert.evidence["flows"] == 11 - 2


def test_attribution_ends_with_the_ttl(corpus: Path) -> None:
    flows = _flows(corpus, NEST)
    (alert,) = _run(_rule(resolution_min_ttl=0, resolution_max_ttl=1), [flows], "nest.com")
    # each of the 4 answers (TTL 120) is followed by a connection within 0.1 s and one 5-7 s
    # later: trusted for 1 s, the answers explain the first ones only
    assert alert.evidence["flows"] == 4 + 4
    assert _logsink_tcp(flows).height == 7


def test_cap_zero_turns_attribution_off_and_the_lookups_still_alert(corpus: Path) -> None:
    (alert,) = _run(_rule(resolution_cap=0), [_flows(corpus, NEST)], "nest.com")
    assert alert.peers == ("192.168.242.1",) and alert.evidence["flows"] == 4
    assert _run(_rule(match_dns_answers=False, match_payload_names=False),
                [_flows(corpus, NEST)], "nest.com") == []


def test_cname_target_listed_and_its_addresses_attributed(corpus: Path) -> None:
    flows = _flows(corpus, ALEXA)
    (alert,) = _run(_rule(match_payload_names=False), [flows], "cloudfront.net")
    matched = set(alert.evidence["matched"])
    assert "dns-answer d3ag4hukkh62yn.cloudfront.net" in matched
    assert "resolved d3ag4hukkh62yn.cloudfront.net" in matched
    # the TLS connections name www.amazon.com: only the resolution ties them to cloudfront.net
    assert any(p.startswith("52.85.209.") for p in alert.peers)
    assert alert.device == "172.16.42.216" and alert.direction == "outbound"


def test_listed_address_in_an_answer_alerts_the_device_that_asked(corpus: Path) -> None:
    flows = _flows(corpus, ALEXA)
    dns_only = flows.filter(pl.col("id.resp_p") == 53)
    (alert,) = _run(_rule(), [dns_only], "52.94.232.134")
    assert alert.device == "172.16.42.216" and alert.peers == ("172.16.42.1",)
    assert alert.evidence["matched"] == ["dns-answer 52.94.232.134"]


@pytest.mark.parametrize("size", [1, 7, 50])
def test_same_alerts_whatever_the_batching(corpus: Path, size: int) -> None:
    flows = _flows(corpus, ALEXA)
    whole = _run(_rule(), [flows], "cloudfront.net")
    parts = [flows.slice(i, size) for i in range(0, flows.height, size)]
    split = _run(_rule(), parts, "cloudfront.net")
    assert [(a.device, a.peers, a.evidence["flows"]) for a in split] == [
        (a.device, a.peers, a.evidence["flows"]) for a in whole
    ]


def test_schema_checks_the_knobs() -> None:
    with pytest.raises(ValueError, match="resolution_min_ttl"):
        _rule(resolution_min_ttl=100, resolution_max_ttl=10)
    with pytest.raises(ValueError, match="resolution_size"):
        _rule(resolution_size=10)
