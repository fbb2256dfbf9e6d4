"""Types of the compiled record walkers (``_walk.pyx``)."""

import numpy as np
import numpy.typing as npt

STOP_END: int
STOP_FULL: int
STOP_BLOCK: int
STOP_BADLEN: int
STOP_BADBLOCK: int
STOP_BADIFACE: int
MAX_CAPLEN: int
MAX_BLOCK: int

_I64 = npt.NDArray[np.int64]

def walk_pcap(
    buf: npt.NDArray[np.uint8],
    pos: int,
    end: int,
    swapped: bool,
    nano: bool,
    limit: int,
    max_n: int,
    rec_off: _I64,
    ts_ns: _I64,
    cap_len: _I64,
    wire_len: _I64,
) -> tuple[int, int, int]: ...
def walk_pcapng(
    buf: npt.NDArray[np.uint8],
    pos: int,
    end: int,
    swapped: bool,
    iface_table: _I64,
    n_iface: int,
    last_ts: int,
    max_n: int,
    rec_off: _I64,
    ts_ns: _I64,
    cap_len: _I64,
    wire_len: _I64,
    iface: _I64,
) -> tuple[int, int, int]: ...
