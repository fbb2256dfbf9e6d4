"""Bounded open-addressing hash tables for per-host/channel/socket state, in numba.

A table is two arrays: ``keys`` (``uint64``, 0 = empty slot) and ``state`` (``float64`` rows, one
per slot; column 0 is the event time of the entry's last update, which the caller keeps — eviction
reads it), plus a one-element ``count`` array. Keeping the time in the row rather than in an array
of its own saves a random memory access per lookup. Capacity is a power of two and never grows:
when the table is half full, entries idle for longer than ``horizon`` seconds are dropped, and if
it is still too full the least recently touched entries go too (LRU), so memory depends on the
capacity chosen, not on the length of the capture.

Example:
    >>> import numpy as np
    >>> keys, state, count = new_table(8, 2)
    >>> slot, fresh = find_or_insert(keys, state, count, np.uint64(42), 1.0, 60.0)
    >>> bool(fresh), int(count[0])
    (True, 1)
    >>> state[slot, 0] = 1.0  # the caller records the update time
    >>> find_or_insert(keys, state, count, np.uint64(42), 2.0, 60.0) == (slot, False)
    True
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

MAX_LOAD = 0.5
AFTER_EVICT_LOAD = 0.25

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def new_table(
    capacity: int, width: int
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Empty table arrays for ``capacity`` slots (a power of two) of ``width`` floats each
    (``width >= 1``: column 0 is the last-update time)."""
    if capacity < 4 or capacity & (capacity - 1):
        raise ValueError(f"table capacity must be a power of two >= 4, got {capacity}")
    if width < 1:
        raise ValueError(f"table rows need at least the time column, got width {width}")
    return (
        np.zeros(capacity, dtype=np.uint64),
        np.zeros((capacity, width), dtype=np.float64),
        np.zeros(1, dtype=np.int64),
    )


@njit(cache=True, inline="always")
def mix(a: np.uint64, b: np.uint64) -> np.uint64:  # pragma: no cover - compiled
    """splitmix64-style combination of two 64-bit words (never returns 0)."""
    z = a ^ (b + _GOLDEN + (a << np.uint64(6)) + (a >> np.uint64(2)))
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    z = z ^ (z >> np.uint64(31))
    if z == np.uint64(0):
        z = np.uint64(1)
    return z


@njit(cache=True)
def _place(keys: npt.NDArray[np.uint64], key: np.uint64) -> np.int64:  # pragma: no cover - compiled
    mask = keys.shape[0] - 1
    i = np.int64(key & np.uint64(mask))
    while keys[i] != np.uint64(0) and keys[i] != key:
        i = (i + 1) & mask
    return i


@njit(cache=True)
def _delete(
    keys: npt.NDArray[np.uint64],
    state: npt.NDArray[np.float64],
    i: np.int64,
) -> None:  # pragma: no cover - compiled
    """Empty slot ``i`` by backward shift: later entries of its probe run move up into the hole
    when their home slot allows, so lookups never need tombstones."""
    mask = keys.shape[0] - 1
    j = i
    while True:
        j = (j + 1) & mask
        if keys[j] == np.uint64(0):
            break
        home = np.int64(keys[j] & np.uint64(mask))
        stays = (i < home <= j) if i <= j else (home > i or home <= j)
        if not stays:
            keys[i] = keys[j]
            state[i, :] = state[j, :]
            i = j
    keys[i] = 0


@njit(cache=True)
def _evict(
    keys: npt.NDArray[np.uint64],
    state: npt.NDArray[np.float64],
    count: npt.NDArray[np.int64],
    now: float,
    horizon: float,
) -> None:  # pragma: no cover - compiled
    """Drop idle entries, then the least recently used, in place.

    Survivors: the entries touched within ``horizon``, at most ``AFTER_EVICT_LOAD`` of the
    capacity, the most recent first (ties at the cut in slot order). The others are deleted one
    by one (:func:`_delete`); survivors' rows move only when a deletion opens their probe run.
    """
    cap = keys.shape[0]
    live = np.flatnonzero(keys)
    keep_max = int(cap * AFTER_EVICT_LOAD)
    tl = state[live, 0]
    keep = tl >= now - horizon
    n_fresh = int(keep.sum())
    if n_fresh > keep_max:
        tf = tl[keep]
        cut = np.partition(tf, n_fresh - keep_max)[n_fresh - keep_max]  # keep_max-th latest
        ties = keep_max - int((tf > cut).sum())
        for j in range(live.shape[0]):
            if keep[j] and tl[j] <= cut:
                keep[j] = tl[j] == cut and ties > 0
                if keep[j]:
                    ties -= 1
    doomed = keys[live[~keep]].copy()
    for key in doomed:
        _delete(keys, state, _place(keys, key))
    count[0] = live.shape[0] - doomed.shape[0]


@njit(cache=True)
def find_or_insert(
    keys: npt.NDArray[np.uint64],
    state: npt.NDArray[np.float64],
    count: npt.NDArray[np.int64],
    key: np.uint64,
    now: float,
    horizon: float,
) -> tuple[np.int64, bool]:  # pragma: no cover - compiled
    """Slot of ``key``, inserting a zeroed row if absent; returns ``(slot, inserted)``.

    ``now`` is the event time used to tell idle entries when the table must evict; the caller
    writes the entry's update time into column 0 of its row. An entry idle for longer than
    ``horizon`` counts as absent (its row is zeroed, ``inserted`` is true) whether or not the
    table has evicted it yet, so the state never depends on how full the table happens to be.
    """
    i = _place(keys, key)
    if keys[i] == key:
        if now - state[i, 0] > horizon:
            state[i, :] = 0.0
            return i, True
        return i, False
    if count[0] + 1 > int(keys.shape[0] * MAX_LOAD):
        _evict(keys, state, count, now, horizon)
        i = _place(keys, key)
    keys[i] = key
    state[i, :] = 0.0
    count[0] += 1
    return i, True


@njit(cache=True)
def set_add(
    keys: npt.NDArray[np.uint64], count: npt.NDArray[np.int64], key: np.uint64, grow: bool
) -> bool:  # pragma: no cover - compiled
    """Whether ``key`` is in the key set; when ``grow``, add it (while under half full)."""
    i = _place(keys, key)
    if keys[i] == key:
        return True
    if grow and count[0] + 1 <= int(keys.shape[0] * MAX_LOAD):
        keys[i] = key
        count[0] += 1
    return False
