"""The bounded hash tables: lookup, insertion, idle and LRU eviction keep memory fixed."""

from __future__ import annotations

import numpy as np

from hedgerow.anomaly.table import find_or_insert, new_table, set_add


def test_insert_find_and_bounded_growth() -> None:
    keys, touch, state, count = new_table(64, 3)
    slots = {}
    for k in range(1, 20):
        slot, fresh = find_or_insert(keys, touch, state, count, np.uint64(k * 7919), float(k), 1e9)
        assert fresh
        state[slot, 0] = k
        slots[k] = slot
    for k in range(1, 20):
        slot, fresh = find_or_insert(keys, touch, state, count, np.uint64(k * 7919), 30.0, 1e9)
        assert not fresh and state[slot, 0] == k
    # 1,000 more keys into 64 slots: never more than half full, the most recent survive.
    for k in range(100, 1100):
        find_or_insert(keys, touch, state, count, np.uint64(k), 100.0 + k, 1e9)
        assert count[0] <= 32
    assert np.count_nonzero(keys) == count[0]
    slot, fresh = find_or_insert(keys, touch, state, count, np.uint64(1099), 2000.0, 1e9)
    assert not fresh


def test_idle_entries_are_evicted_first() -> None:
    keys, touch, state, count = new_table(16, 1)
    for k in range(1, 9):  # 8 = half of 16 slots
        find_or_insert(keys, touch, state, count, np.uint64(k), 0.0, 10.0)
    assert count[0] == 8
    find_or_insert(keys, touch, state, count, np.uint64(99), 100.0, 10.0)  # triggers eviction
    assert count[0] == 1 and np.uint64(99) in keys


def test_key_set_grows_only_when_asked() -> None:
    keys = np.zeros(8, dtype=np.uint64)
    count = np.zeros(1, dtype=np.int64)
    assert not set_add(keys, count, np.uint64(5), False)
    assert not set_add(keys, count, np.uint64(5), True)
    assert set_add(keys, count, np.uint64(5), False)
    for k in range(10, 20):
        set_add(keys, count, np.uint64(k), True)
    assert count[0] == 4  # half of 8 slots, then it stops growing
