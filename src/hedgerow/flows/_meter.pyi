"""Types of the compiled flow meter (``_meter.pyx``): batch columns, state, then the table's."""

import numpy as np
import numpy.typing as npt

def rebuild_index(
    index: npt.NDArray[np.int32], n: int, *keys: npt.NDArray[np.generic]
) -> None: ...
def meter_packets(start: int, sel: npt.NDArray[np.int64], *columns: object) -> int: ...
def sweep(
    n: int,
    now: int,
    proto: npt.NDArray[np.int32],
    first_ns: npt.NDArray[np.int64],
    last_ns: npt.NDArray[np.int64],
    end_ns: npt.NDArray[np.int64],
    done: npt.NDArray[np.int8],
    timeouts_ns: npt.NDArray[np.int64],
    active_ns: int,
    close_ns: int,
) -> int: ...
