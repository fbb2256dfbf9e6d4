"""Types of the compiled service classifier (``_service.pyx``)."""

import numpy as np
import numpy.typing as npt

def classify(
    pool: npt.NDArray[np.uint8],
    pl_slot: npt.NDArray[np.int32],
    lengths: npt.NDArray[np.int32],
    proto: npt.NDArray[np.int32],
    orig_p: npt.NDArray[np.int32],
    resp_p: npt.NDArray[np.int32],
    rules: npt.NDArray[np.int32],
    blob: npt.NDArray[np.uint8],
    tcp_ports: npt.NDArray[np.int16],
    udp_ports: npt.NDArray[np.int16],
    telnet: int,
    candidates: npt.NDArray[np.uint64],
) -> npt.NDArray[np.int16]: ...
