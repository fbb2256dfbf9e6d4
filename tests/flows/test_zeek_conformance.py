"""Our flows against the conn.logs Zeek itself wrote for the same traces (corpus zeek-conn/)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from hedgerow.capture import open_capture
from hedgerow.flows.meter import FlowMeter

KEY = ["id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto"]
MUST_AGREE = [
    "conn_state",
    "history",
    "orig_pkts",
    "resp_pkts",
    "orig_ip_bytes",
    "resp_ip_bytes",
    "orig_bytes",
    "resp_bytes",
]
TRACES = [
    "core.history-flip",
    "core.pcapng-pktsrc",
    "core.q-in-q",
    "core.tcp.miss-end-data",
    "scripts.base.protocols.dhcp.dhcp-all-msg-types",
    "scripts.base.protocols.ftp.ftp-ipv6",
    "scripts.base.protocols.irc.starttls",
    "scripts.base.protocols.modbus.modbus_and_non_modbus_on_port_502",
    "scripts.base.protocols.pop3.basic",
    "scripts.base.protocols.rdp.rdpeudp-handshake-success",
    "scripts.base.protocols.ssh.http-port-22",
]
# Traces whose baseline is a zeek-cut extract (only some columns, no addresses).
PARTIAL = {
    "scripts.base.protocols.http.query-method": ["history"],
    "scripts.base.protocols.syslog.tcp-framing": ["history", "orig_pkts", "resp_pkts"],
}


def zeek_log(path: Path) -> pl.DataFrame:
    """Zeek's btest baseline: TSV with a #fields header, or a zeek-cut table."""
    lines = [ln for ln in path.read_text().splitlines() if not ln.startswith("###")]
    fields = next((ln.split("\t")[1:] for ln in lines if ln.startswith("#fields")), None)
    rows = [ln.split("\t") for ln in lines if ln and not ln.startswith("#")]
    if fields is None:
        fields, rows = rows[0], rows[1:]
    frame = pl.DataFrame(rows, schema=fields, orient="row")
    casts = {c: pl.Int64 for c in [*MUST_AGREE[2:], "id.orig_p", "id.resp_p"] if c in fields}
    return frame.with_columns(
        [
            pl.when(pl.col(c) == "-").then(None).otherwise(pl.col(c)).cast(t).alias(c)
            for c, t in casts.items()
        ]
    )


def our_flows(pcap: Path) -> pl.DataFrame:
    meter = FlowMeter()
    with open_capture(pcap) as capture:
        parts = [meter.add(batch) for batch in capture]
    parts.append(meter.flush())
    # ARP exchanges are a Hedgerow extension; Zeek's conn.log has none.
    return pl.concat(parts).filter(pl.col("proto") != "arp")


def _trace(corpus: Path, name: str) -> tuple[Path, Path]:
    folder = corpus / "zeek-conn" / name
    pcap = next(p for p in folder.iterdir() if p.name != "conn.log")
    return pcap, folder / "conn.log"


@pytest.mark.parametrize("name", TRACES)
def test_every_connection_agrees_with_zeek(corpus: Path, name: str) -> None:
    pcap, log = _trace(corpus, name)
    zeek = zeek_log(log)
    columns = KEY + MUST_AGREE + [c for c in ("orig_l2_addr", "resp_l2_addr") if c in zeek.columns]
    theirs = zeek.select(columns)
    ours = our_flows(pcap).select(columns)
    # Zeek leaves orig_bytes/resp_bytes unset for zero-duration connections; so do we.
    order = [*KEY, "orig_pkts", "orig_ip_bytes", "history"]
    theirs = theirs.sort(order, nulls_last=True)
    ours = ours.sort(order, nulls_last=True)
    assert ours.height == theirs.height, (ours, theirs)
    assert ours.to_dicts() == theirs.to_dicts()
    # duration: Zeek prints 6 decimals; unset ("-") for zero-duration connections, as ours.
    zeek_durations = zeek.with_columns(
        pl.when(pl.col("duration") == "-")
        .then(None)
        .otherwise(pl.col("duration"))
        .cast(pl.Float64)
        .alias("duration")
    )
    by = [*order, "duration"]
    expected = zeek_durations.sort(by, nulls_last=True)["duration"].to_list()
    got = our_flows(pcap).sort(by, nulls_last=True)["duration"].to_list()
    assert [d is None for d in got] == [d is None for d in expected]
    assert [d or 0.0 for d in got] == pytest.approx([d or 0.0 for d in expected], abs=2e-6)


@pytest.mark.parametrize("name", sorted(PARTIAL))
def test_partial_baselines(corpus: Path, name: str) -> None:
    pcap, log = _trace(corpus, name)
    columns = PARTIAL[name]
    theirs = zeek_log(log).select(columns)
    ours = our_flows(pcap).select(columns)
    assert ours.to_dicts() == theirs.to_dicts()
