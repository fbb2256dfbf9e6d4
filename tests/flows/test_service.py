"""The first-byte candidate filter of the payload rules changes no service guess."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

from hedgerow.flows import service as sv

_NEEDLES = sorted({rule[3] for rule in sv.PAYLOAD_RULES} | {b"MQTT", b"EHLO", b"USER "})


def _unfiltered(
    pool: npt.NDArray[np.uint8],
    slots: npt.NDArray[np.int32],
    lengths: npt.NDArray[np.int32],
    proto: npt.NDArray[np.int32],
    orig_p: npt.NDArray[np.int32],
    resp_p: npt.NDArray[np.int32],
) -> npt.NDArray[np.int16]:
    """Every rule tried in order (no candidate filter)."""
    every = np.full(513, np.iinfo(np.uint64).max, np.uint64)
    return sv._classify(
        pool, slots, lengths, proto, orig_p, resp_p, sv._RULES, sv._BLOB, sv._TCP_PORTS,
        sv._UDP_PORTS, sv._TELNET, every,
    )  # fmt: skip


_PAYLOAD = st.one_of(
    st.binary(max_size=40),
    st.sampled_from(_NEEDLES),
    st.tuples(st.sampled_from(_NEEDLES), st.binary(max_size=8), st.sampled_from(_NEEDLES)).map(
        b"".join
    ),
)
"""Random bytes, rule needles, and needles joined (rules with a second condition)."""


@settings(max_examples=200, deadline=None)
@given(
    flows=st.lists(
        st.tuples(
            _PAYLOAD,
            _PAYLOAD,
            st.sampled_from([6, 17, 1]),
            st.sampled_from([80, 1883, 23, 40000, 53]),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_candidate_filter_matches_every_rule_in_order(
    flows: list[tuple[bytes, bytes, int, int]],
) -> None:
    n = len(flows)
    pool = np.zeros((n, 2, 128), np.uint8)
    lengths = np.zeros((n, 2), np.int32)
    for f, (orig, resp, _, _) in enumerate(flows):
        for d, data in enumerate((orig, resp)):
            pool[f, d, : len(data)] = np.frombuffer(data, np.uint8)
            lengths[f, d] = len(data)
    slots = np.where(lengths.sum(axis=1) > 0, np.arange(n), -1).astype(np.int32)
    proto = np.array([f[2] for f in flows], np.int32)
    resp_p = np.array([f[3] for f in flows], np.int32)
    orig_p = np.full(n, 50000, np.int32)
    fast = sv.service_codes(pool, slots, lengths, proto, orig_p, resp_p)
    assert fast.tolist() == _unfiltered(pool, slots, lengths, proto, orig_p, resp_p).tolist()
