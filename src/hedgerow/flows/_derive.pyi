"""Types of the compiled per-flow derivations (``_derive.pyx``)."""

import numpy as np
import numpy.typing as npt

def sizes_and_states(
    proto: npt.NDArray[np.int32], *columns: npt.NDArray[np.generic]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int8]]: ...
def uid_hashes(
    *columns: npt.NDArray[np.generic],
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]: ...
def pack_payloads(
    pool: npt.NDArray[np.uint8],
    pl_slot: npt.NDArray[np.int32],
    d: int,
    lengths: npt.NDArray[np.int64],
    total: int,
) -> npt.NDArray[np.uint8]: ...
