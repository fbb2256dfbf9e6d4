"""Inputs of ``hedgerow scan`` and ``hedgerow eval``: expand folders, read each file as flows.

Each file is read on its own (a corrupt one is reported and the others still analysed), through
:class:`hedgerow.flows.source.FlowSource`, which reads captures through the flow meter (packet
observers see the same PacketBatches) and Zeek conn.logs directly.

Example:
    >>> from pathlib import Path
    >>> files = expand_inputs([Path("/work/shared/corpus/slips/dataset/port-scans")])
    >>> [f.parent.name for f in files]
    ['horizontal', 'vertical']
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from hedgerow.capture.batch import PacketBatch
from hedgerow.flows.rows import FlowRows
from hedgerow.flows.schema import FlowBatch
from hedgerow.inventory.addresses import in_networks
from hedgerow.model import LocalNetworks

if TYPE_CHECKING:
    from hedgerow.flows.build import FlowArrays

REBATCH_ROWS = 100_000
CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz")


def expand_inputs(paths: Iterable[Path]) -> list[Path]:
    """Files given, plus the captures and conn.logs under folders (sorted)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*") if p.is_file() and _is_data(p)))
        else:
            out.append(path)
    return out


def _is_data(path: Path) -> bool:
    """Captures by suffix, Zeek connection logs by name (``conn*.log``, ``conn.log.labeled``)."""
    if any(part.startswith(".") for part in path.parts[-3:]):
        return False
    name = path.name.lower()
    return name.endswith(CAPTURE_SUFFIXES) or name.startswith("conn")


@dataclass
class FileRead:
    """The outcome of reading one file: flow count, warnings, or the error that stopped it.

    ``kind`` is ``"capture"`` or ``"conn.log"`` once the file was recognised;
    ``reader_warnings`` are the capture or conn.log reader's own (truncated records...).
    """

    path: Path
    flows: int = 0
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    kind: str | None = None
    reader_warnings: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.error is not None:
            return "error" if self.flows == 0 else "partial"
        return "partial" if self.warnings else "ok"


FlowPiece = FlowBatch | list[FlowRows]
"""What :func:`read_flows` yields: a conn.log's FlowBatch, or the flow-table row chunks that
ended with one packet batch of a capture (not yet built into a frame)."""


def read_flows(
    path: Path,
    outcome: FileRead,
    on_batch: Callable[[FlowBatch], None] | None = None,
    packet_observers: Sequence[Callable[[PacketBatch], None]] = (),
) -> Iterator[FlowPiece]:
    """Yield the file's flows as :data:`FlowPiece` s (join them with :func:`rebatch`); errors
    and warnings land in ``outcome``, never raise.

    ``on_batch`` sees each FlowBatch of a conn.log as read, ``packet_observers`` each
    PacketBatch of a capture.
    """
    from hedgerow.flows.source import FlowSource, sniff

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            outcome.kind = sniff(path)
            source = FlowSource([path], packet_observers=packet_observers, read_ahead=True)
            for piece in source.iter_chunks():
                outcome.flows = source.flows  # counted by the source as it yields
                if on_batch is not None and not isinstance(piece, list):
                    on_batch(piece)
                yield piece
            outcome.reader_warnings.extend(source.warnings)
        except (OSError, ValueError, RuntimeError, EOFError) as exc:
            outcome.error = _one_line(str(exc), path)
        except Exception as exc:
            outcome.error = _one_line(f"{type(exc).__name__}: {exc}", path)
    outcome.warnings.extend(_one_line(str(w.message), path) for w in caught)


def rebatch(
    pieces: Iterable[FlowPiece],
    min_rows: int = REBATCH_ROWS,
    networks: LocalNetworks | None = None,
) -> Iterator[FlowBatch]:
    """Join consecutive pieces until each batch holds ``min_rows`` flows (fewer fixed costs per
    detector call; the flows keep their order), each in one contiguous chunk per column (the
    ~40 rules' filters and group-bys would otherwise each gather the pieces again). A capture's
    row chunks are turned into numpy columns as they come
    (:func:`~hedgerow.flows.build.flow_arrays`, smaller than the rows) and built into
    one frame per batch, not into a frame each and then joined. Empty pieces are dropped; no
    batch is empty.

    With ``networks``, a capture's batches also carry the locality columns of
    :func:`hedgerow.detect.locality.with_locality`, computed on the numeric addresses (the same
    answers as on their texts, without parsing them back); a conn.log's are left to it."""
    from hedgerow.flows.build import flow_arrays, join_arrays

    pending: list[FlowBatch | FlowArrays] = []
    rows = 0
    for piece in pieces:
        if isinstance(piece, list):
            if not piece:
                continue
            item: FlowBatch | FlowArrays = join_arrays(
                [flow_arrays(chunk.table, chunk.pool) for chunk in piece])
            height = int(item["first_ns"].shape[0])
        else:
            item, height = piece, piece.height
        if height == 0:
            continue
        pending.append(item)
        rows += height
        if rows >= min_rows:
            yield _joined(pending, networks)
            rows = 0
    if pending:
        yield _joined(pending, networks)


def _joined(pieces: list[FlowBatch | FlowArrays], networks: LocalNetworks | None) -> FlowBatch:
    """One frame of consecutive pieces, emptying ``pieces`` (each run of numpy columns is
    freed once joined, before its frame is built): runs of numpy columns are built together,
    then frames concatenated (a capture gives only numpy columns, a conn.log only frames).
    A frame made of numpy columns only gets the locality columns (with ``networks``)."""
    from hedgerow.detect.locality import ORIG_LOCAL, RESP_LOCAL
    from hedgerow.flows.build import flows_frame, join_arrays

    frames: list[FlowBatch] = []
    run: list[FlowArrays] = []
    locality: list[pl.Series] = []
    pieces.reverse()
    while pieces:
        piece = pieces.pop()
        if not isinstance(piece, dict):
            frames.append(piece)
            continue
        run.append(piece)
        if not pieces or not isinstance(pieces[-1], dict):
            arrays = join_arrays(run)
            run.clear()
            frames.append(flows_frame(arrays))
            if networks is not None:
                locality = [
                    pl.Series(name, in_networks(arrays[f"{side}_hi"], arrays[f"{side}_lo"],
                                                networks))
                    for name, side in ((ORIG_LOCAL, "orig"), (RESP_LOCAL, "resp"))
                ]
            del arrays
    if len(frames) > 1:
        return pl.concat(frames, how="vertical_relaxed", rechunk=True)
    frame = frames[0].rechunk() if frames[0].n_chunks() > 1 else frames[0]
    return frame.with_columns(locality) if locality else frame


def _one_line(text: str, path: Path) -> str:
    first = text.strip().splitlines()[0] if text.strip() else "unreadable"
    return first if str(path) in first else f"{path}: {first}"
