"""Reading real Zeek conn.logs: TSV, JSON, IoT-23 labelled, gzip; bad lines; fuzzing."""

from __future__ import annotations

import gzip
import json
import warnings
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hedgerow.flows.schema import FLOW_SCHEMA
from hedgerow.flows.zeek_log import ConnLogError, read_conn_log

LABELED = "stratosphere/008-zeek-mixed/data/conn.log.labeled"
JSON_LOG = "stratosphere/002-zeek-scenario-port-scanning/conn.log"
TSV_LOG = "slips/dataset/port-scans/horizontal/conn.log"


def _read(path: Path) -> pl.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        batches = list(read_conn_log(path))
    return pl.concat(batches) if batches else pl.DataFrame(schema=FLOW_SCHEMA)


def _data_lines(path: Path) -> list[str]:
    return [ln for ln in path.read_text().splitlines() if ln and not ln.startswith("#")]


def test_tsv_every_row_typed(corpus: Path) -> None:
    path = corpus / TSV_LOG
    flows = _read(path)
    assert flows.schema == pl.Schema(FLOW_SCHEMA)
    assert flows.height == len(_data_lines(path))
    first = _data_lines(path)[0].split("\t")
    row = flows.row(0, named=True)
    assert row["uid"] == first[1]
    assert row["id.orig_h"] == first[2] and row["id.resp_p"] == int(first[5])
    assert row["history"] == first[15] and row["orig_ip_bytes"] == int(first[17])
    assert flows["ts"].null_count() == 0


def test_labeled_tab_variant_keeps_labels(corpus: Path) -> None:
    flows = _read(corpus / LABELED)
    assert flows.height == 5663
    labels = set(flows["label"].unique().to_list())
    assert {"Benign", "Malicious"} <= labels
    attack = flows.filter(pl.col("detailed_label") == "External-Attack-to-Device")
    assert attack.height > 100
    assert attack["conn_state"].value_counts().sort("count")["conn_state"][-1] == "S0"
    # (empty) in a bool/set column, T/F booleans
    assert flows["local_orig"].dtype == pl.Boolean and flows["local_orig"].null_count() == 0


def test_iot23_space_separated_tail(corpus: Path, tmp_path: Path) -> None:
    """IoT-23 writes `tunnel_parents   label   detailed-label` inside the last tab field."""
    lines = (corpus / LABELED).read_text().splitlines()
    spaced = []
    for line in lines:
        if line.startswith(("#fields", "#types")) or not line.startswith("#"):
            head, *tail = line.rsplit("\t", 2)
            line = head + "\t" + "   ".join(tail)
            line = line.replace("detailedlabel", "detailed-label")
        spaced.append(line)
    out = tmp_path / "conn.log.labeled"
    out.write_text("\n".join(spaced) + "\n")
    flows = _read(out)
    reference = _read(corpus / LABELED)
    assert flows.height == reference.height
    assert flows["detailed_label"].to_list() == reference["detailed_label"].to_list()
    assert flows["history"].to_list() == reference["history"].to_list()


def test_json_log_and_gzip(corpus: Path, tmp_path: Path) -> None:
    path = corpus / JSON_LOG
    flows = _read(path)
    assert flows.height == len(_data_lines(path))
    gz = tmp_path / "conn.log.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    assert _read(gz).equals(flows)
    first = json.loads(_data_lines(path)[0])
    row = flows.row(0, named=True)
    assert row["ts"] == pytest.approx(first["ts"])
    assert row["conn_state"] == first["conn_state"] and row["orig_pkts"] == first["orig_pkts"]


def test_json_iso_timestamps(corpus: Path, tmp_path: Path) -> None:
    records = [json.loads(x) for x in _data_lines(corpus / JSON_LOG)[:50]]
    for rec in records:
        rec["ts"] = "2022-09-29T14:40:56.755299Z"
    out = tmp_path / "iso.log"
    out.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    flows = _read(out)
    assert flows.height == 50
    assert flows["ts"][0] == pytest.approx(1664462456.755299)


def test_bad_lines_skipped_counted_and_named(corpus: Path, tmp_path: Path) -> None:
    lines = (corpus / TSV_LOG).read_text().splitlines()
    header = [ln for ln in lines if ln.startswith("#")]
    data = _data_lines(corpus / TSV_LOG)
    broken = [*header[:8], data[0], "garbage\twith\tfew\tfields", data[1], data[2][:30], *data[3:]]
    out = tmp_path / "conn.log"
    out.write_text("\n".join(broken) + "\n")
    reader = read_conn_log(out)
    with pytest.warns(UserWarning, match=r"conn.log: line 10: skipped 2 unparsable lines"):
        flows = pl.concat(list(reader))
    assert reader.bad_lines == 2
    assert flows.height == len(data) - 1
    assert flows["uid"].to_list() == [d.split("\t")[1] for d in data if d != data[2]]


def test_json_bad_lines(corpus: Path, tmp_path: Path) -> None:
    data = _data_lines(corpus / JSON_LOG)[:20]
    out = tmp_path / "conn.json"
    out.write_text("\n".join([*data[:5], '{"ts": 1, "uid": ', *data[5:], "not json"]) + "\n")
    reader = read_conn_log(out)
    with pytest.warns(UserWarning, match="line 6"):
        flows = pl.concat(list(reader))
    assert reader.bad_lines == 2 and flows.height == 20


def test_not_a_conn_log(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    path.write_bytes(b"\x00\x01garbage")
    with pytest.raises(ConnLogError, match=r"x\.log: not a Zeek conn\.log"):
        read_conn_log(path)


def test_small_blocks_same_result(corpus: Path) -> None:
    path = corpus / LABELED
    whole = _read(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pieces = pl.concat(list(read_conn_log(path, block_bytes=4096)))
    assert pieces.equals(whole)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cut=st.integers(min_value=0, max_value=10_000))
def test_fuzz_truncated_file_keeps_every_complete_line(
    corpus: Path, tmp_path: Path, cut: int
) -> None:
    source = (corpus / TSV_LOG).read_bytes()
    cut = min(cut, len(source))
    out = tmp_path / "cut.log"
    out.write_bytes(source[:cut])
    complete = [ln for ln in source[:cut].split(b"\n")[:-1] if ln and not ln.startswith(b"#")]
    try:
        reader = read_conn_log(out)
    except ConnLogError as exc:  # cut inside the header: nothing identifies a conn.log yet
        assert "cut.log" in str(exc) and not complete
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            rows = sum(batch.height for batch in reader)
        except ConnLogError as exc:
            assert "cut.log" in str(exc) and not complete
            return
    assert len(complete) <= rows <= len(complete) + 1
    assert rows + reader.bad_lines >= len(complete)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    junk=st.lists(
        st.text(alphabet=st.sampled_from('ab1.-\t #{}:"\x00é'), max_size=120), max_size=8
    ),
    where=st.integers(min_value=0, max_value=40),
    as_json=st.booleans(),
)
def test_fuzz_random_lines_never_lose_good_rows(
    corpus: Path, tmp_path: Path, junk: list[str], where: int, as_json: bool
) -> None:
    path = corpus / (JSON_LOG if as_json else TSV_LOG)
    lines = path.read_text().splitlines()
    header = [] if as_json else [ln for ln in lines if ln.startswith("#")][:8]
    data = [ln for ln in lines if ln and not ln.startswith("#")][:40]
    junk = [j for j in junk if j.strip() and not j.startswith("#")]
    where = min(where, len(data))
    out = tmp_path / "junk.log"
    out.write_text("\n".join([*header, *data[:where], *junk, *data[where:]]) + "\n")
    reader = read_conn_log(out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        flows = pl.concat(list(reader))
    expected = [json.loads(d)["uid"] if as_json else d.split("\t")[1] for d in data]
    assert [u for u in flows["uid"].to_list() if u in expected] == expected
    assert flows.height + reader.bad_lines == len(data) + len(junk)
