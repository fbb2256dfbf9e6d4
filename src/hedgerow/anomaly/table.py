"""Bounded open-addressing hash tables for per-host/channel/socket state, in numba.

A table is three arrays: ``keys`` (``uint64``, 0 = empty slot), ``touch`` (``float64``, event time
of the entry's last update) and ``state`` (``float64`` rows, one per slot), plus a one-element
``count`` array. Capacity is a power of two and never grows: when the table is half full, entries
idle for longer than ``horizon`` seconds are dropped, and if it is still too full the least
recently touched entries go too (LRU), so memory depends on the capacity chosen, not on the
length of the capture.

Example:
    >>> import numpy as np
    >>> keys, touch, state, count = new_table(8, 2)
    >>> slot, fresh = find_or_insert(keys, touch, state, count, np.uint64(42), 1.0, 60.0)
    >>> bool(fresh), int(count[0])
    (True, 1)
    >>> find_or_insert(keys, touch, state, count, np.uint64(42), 2.0, 60.0) == (slot, False)
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
) -> tuple[
    npt.NDArray[np.uint64], npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.int64]
]:
    """Empty table arrays for ``capacity`` slots (a power of two) of ``width`` floats each."""
    if capacity < 4 or capacity & (capacity - 1):
        raise ValueError(f"table capacity must be a power of two >= 4, got {capacity}")
    return (
        np.zeros(capacity, dtype=np.uint64),
        np.zeros(capacity, dtype=np.float64),
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
def _evict(
    keys: npt.NDArray[np.uint64],
    touch: npt.NDArray[np.float64],
    state: npt.NDArray[np.float64],
    count: npt.NDArray[np.int64],
    now: float,
    horizon: float,
) -> None:  # pragma: no cover - compiled
    """Drop idle entries (then the least recently used) and re-insert the survivors."""
    cap = keys.shape[0]
    live = np.flatnonzero(keys)
    keep_max = int(cap * AFTER_EVICT_LOAD)
    fresh = live[touch[live] >= now - horizon]
    if fresh.shape[0] > keep_max:
        order = np.argsort(-touch[fresh], kind="mergesort")
        fresh = fresh[order[:keep_max]]
    old_keys = keys[fresh].copy()
    old_touch = touch[fresh].copy()
    old_state = state[fresh].copy()
    keys[:] = 0
    touch[:] = 0.0
    state[:] = 0.0
    for j in range(fresh.shape[0]):
        i = _place(keys, old_keys[j])
        keys[i] = old_keys[j]
        touch[i] = old_touch[j]
        state[i, :] = old_state[j, :]
    count[0] = fresh.shape[0]


@njit(cache=True)
def find_or_insert(
    keys: npt.NDArray[np.uint64],
    touch: npt.NDArray[np.float64],
    state: npt.NDArray[np.float64],
    count: npt.NDArray[np.int64],
    key: np.uint64,
    now: float,
    horizon: float,
) -> tuple[np.int64, bool]:  # pragma: no cover - compiled
    """Slot of ``key``, inserting a zeroed row if absent; returns ``(slot, inserted)``."""
    i = _place(keys, key)
    if keys[i] == key:
        return i, False
    if count[0] + 1 > int(keys.shape[0] * MAX_LOAD):
        _evict(keys, touch, state, count, now, horizon)
        i = _place(keys, key)
    keys[i] = key
    touch[i] = now
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
