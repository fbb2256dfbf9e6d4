"""Types of the compiled TPACKET_V3 block walk (``_ring.pyx``)."""

import numpy as np
import numpy.typing as npt

def drain_blocks(
    ring: npt.NDArray[np.uint8],
    block_size: int,
    block_nr: int,
    block: int,
    snaplen: int,
    out: npt.NDArray[np.uint8],
    used: int,
    n: int,
    max_packets: int,
    rec_off: npt.NDArray[np.int64],
    cap_len: npt.NDArray[np.uint32],
    wire_len: npt.NDArray[np.uint32],
    ts_ns: npt.NDArray[np.int64],
    vlan: npt.NDArray[np.uint16],
) -> tuple[int, int, int, int, bool]: ...
