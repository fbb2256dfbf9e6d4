"""Types of the compiled text builders (``_text.pyx``)."""

import numpy as np
import numpy.typing as npt

def format_ipv4(
    lo: npt.NDArray[np.uint64],
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int32]]: ...
def pack_rows(
    chars: npt.NDArray[np.uint8], lengths: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int32]]: ...
def format_macs(mac: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint8]: ...
def format_uids(
    h1: npt.NDArray[np.uint64], h2: npt.NDArray[np.uint64]
) -> npt.NDArray[np.uint8]: ...
