"""The resolution record: DNS answers seen in packets, judged against later flows."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from hedgerow.cli.scaninput import FileRead, read_flows, rebatch
from hedgerow.flows.resolved import MAX_LIFETIME, MIN_LIFETIME, ResolutionRecord
from hedgerow.flows.schema import RESP_RESOLVED

DEVICE, MAC = "192.168.1.4", "02:00:00:00:00:04"


def _flows(rows: list[tuple[float, str, str]], mac: str | None = None) -> pl.DataFrame:
    return pl.DataFrame(
        {"ts": [r[0] for r in rows], "id.orig_h": [r[1] for r in rows],
         "id.resp_h": [r[2] for r in rows], "orig_l2_addr": [mac] * len(rows)},
        schema={"ts": pl.Float64, "id.orig_h": pl.String, "id.resp_h": pl.String,
                "orig_l2_addr": pl.String},
    )


def _judge(record: ResolutionRecord, ts: float, resp: str = "203.0.113.5") -> bool | None:
    value: bool | None = record.judge(_flows([(ts, DEVICE, resp)]))[RESP_RESOLVED].item()
    return value


def test_an_answer_lives_its_ttl_clamped_to_the_bounds() -> None:
    short, long = ResolutionRecord(), ResolutionRecord()
    short.add(DEVICE, "203.0.113.5", at=100.0, ttl=0)
    long.add(DEVICE, "203.0.113.5", at=100.0, ttl=10**7)
    assert _judge(short, 100.0 + MIN_LIFETIME) is True
    assert _judge(short, 100.0 + MIN_LIFETIME + 1) is False
    assert _judge(long, 100.0 + MAX_LIFETIME) is True
    assert _judge(long, 100.0 + MAX_LIFETIME + 1) is False


def test_judging_forgets_answers_ended_before_the_batch() -> None:
    record = ResolutionRecord(slack=100.0)
    record.add(DEVICE, "203.0.113.5", at=100.0, ttl=600)
    record.add(DEVICE, "203.0.113.6", at=100.0, ttl=6000)
    assert _judge(record, 50.0) is None  # before the device's first answer: unknown
    record.judge(_flows([(800.0, DEVICE, "203.0.113.9")]))
    assert len(record) == 2  # 700 is not before 800 - 100
    record.judge(_flows([(1000.0, DEVICE, "203.0.113.9")]))
    assert len(record) == 1
    assert _judge(record, 1000.0, "203.0.113.6") is True


def test_answers_for_one_pair_merge_into_one_span() -> None:
    record = ResolutionRecord()
    record.add(DEVICE, "203.0.113.5", at=1000.0, ttl=300)
    record.add(DEVICE, "203.0.113.5", at=100.0, ttl=300)
    assert len(record) == 1
    assert [_judge(record, t) for t in (99.0, 100.0, 700.0, 1300.0, 1301.0)] == [
        None, True, True, True, False]


def test_the_cap_drops_the_least_recently_answered_pair() -> None:
    record = ResolutionRecord(cap=2)
    record.add(DEVICE, "203.0.113.1", at=100.0, ttl=300)
    record.add(DEVICE, "203.0.113.2", at=101.0, ttl=300)
    record.add(DEVICE, "203.0.113.1", at=102.0, ttl=300)  # answered again: now the newest
    record.add(DEVICE, "203.0.113.3", at=103.0, ttl=300)
    assert len(record) == 2
    got = [_judge(record, 110.0, f"203.0.113.{i}") for i in (1, 2, 3)]
    assert got == [True, False, True]


def test_a_mac_that_was_answered_counts_for_all_its_addresses() -> None:
    record = ResolutionRecord()
    record.add("10.10.10.144", "203.0.113.5", at=100.0, ttl=300)
    record.add(MAC, "203.0.113.5", at=100.0, ttl=300)
    flows = _flows([(110.0, "10.22.22.138", "203.0.113.5"), (110.0, "10.22.22.138", "203.0.113.7")],
                   mac=MAC)
    assert record.judge(flows)[RESP_RESOLVED].to_list() == [True, False]
    assert record.judge(flows.with_columns(pl.lit(None, pl.String).alias("orig_l2_addr")))[
        RESP_RESOLVED].to_list() == [None, None]


def _judged(path: Path) -> pl.DataFrame:
    record = ResolutionRecord()
    pieces = read_flows(path, FileRead(path), None, [record.observe])
    return pl.concat([record.judge(b) for b in rebatch(pieces)], how="vertical_relaxed")


def test_a_device_retrying_its_cloud_hosts_had_resolved_every_one(corpus: Path) -> None:
    """IoT Sentinel's WeMoLink retries 23 hosts on 443 (its answers came to its other address,
    10.10.10.144, on the same MAC)."""
    flows = _judged(corpus / "iot-sentinel/WeMoLink/Setup-A-12-STA.pcap")
    retried = flows.filter((pl.col("id.orig_h") == "10.22.22.138") & (pl.col("id.resp_p") == 443)
                           & (pl.col("conn_state") == "S0") & (pl.col("orig_pkts") >= 2))
    assert retried["id.resp_h"].n_unique() == 23
    assert retried[RESP_RESOLVED].to_list() == [True] * retried.height


def test_a_worms_targets_were_never_resolved(corpus: Path) -> None:
    flows = _judged(corpus / "slips/dataset/test7-malicious.pcap")
    scan = flows.filter((pl.col("id.orig_h") == "192.168.2.16") & (pl.col("id.resp_p") == 8080))
    assert scan.height >= 40
    assert scan[RESP_RESOLVED].to_list() == [False] * scan.height


@pytest.mark.parametrize("log", ["stratosphere/002-zeek-scenario-port-scanning/conn.log"])
def test_a_conn_log_leaves_the_column_unknown(corpus: Path, log: str) -> None:
    flows = _judged(corpus / log)
    assert flows.height and flows[RESP_RESOLVED].null_count() == flows.height
