"""Reading a capture a batch ahead in a background thread changes nothing the consumer sees."""

from __future__ import annotations

from pathlib import Path

import pytest

from hedgerow.capture.batch import PacketBatch
from hedgerow.flows.meter import frame_of
from hedgerow.flows.source import FlowSource


def _read(path: Path, read_ahead: bool) -> tuple[list[int], list[list[str]], FlowSource]:
    seen: list[int] = []

    def observe(batch: PacketBatch) -> None:
        seen.append(len(batch))

    source = FlowSource([path], batch_size=128, strict=False, packet_observers=[observe],
                        read_ahead=read_ahead)
    uids = [frame_of(chunks)["uid"].to_list() for chunks in source.iter_chunks()
            if isinstance(chunks, list) and chunks]
    return seen, uids, source


def test_read_ahead_gives_the_same_batches_flows_and_counts(corpus: Path) -> None:
    path = corpus / "slips/dataset/test7-malicious.pcap"
    seen, uids, source = _read(path, read_ahead=True)
    assert len(seen) > 10 and sum(map(len, uids)) > 100
    assert (seen, uids) == _read(path, read_ahead=False)[:2]
    assert source.packets == sum(seen) and source.readable == 1


def test_read_ahead_reports_a_truncated_capture_after_its_good_packets(
    corpus: Path, tmp_path: Path
) -> None:
    whole = (corpus / "slips/dataset/test7-malicious.pcap").read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(whole[: len(whole) // 2 + 7])
    ahead, behind = _read(cut, read_ahead=True), _read(cut, read_ahead=False)
    assert ahead[:2] == behind[:2] and sum(ahead[0]) > 0
    assert ahead[2].warnings == behind[2].warnings and ahead[2].errors == behind[2].errors
    assert ahead[2].warnings or ahead[2].errors


@pytest.mark.parametrize("read_ahead", [True, False])
def test_stopping_early_leaves_no_reader_thread(corpus: Path, read_ahead: bool) -> None:
    import threading

    source = FlowSource([corpus / "slips/dataset/test7-malicious.pcap"], batch_size=256,
                        read_ahead=read_ahead)
    chunks = source.iter_chunks()
    next(chunks)
    chunks.close()  # type: ignore[attr-defined]
    assert not any(t.name == "hedgerow-prefetch" for t in threading.enumerate())
